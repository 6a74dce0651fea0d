// tao-soft: the soft root from the command line. Creates or loads a host's
// keys in a directory and seals, unseals and attests with them, each command
// in its own process: what one run seals, a later run unseals.
#include <gflags/gflags.h>

#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "apps/common/cli.h"
#include "apps/common/json.h"
#include "tao/attestation.h"
#include "tao/crypto.h"
#include "tao/soft_tao.h"

DEFINE_string(keys_dir, "", "Directory of the host's keys (required).");
DEFINE_string(passphrase_file, "",
              "File whose first line is the passphrase protecting the keys; "
              "if unset, the TAO_PASSPHRASE environment variable is used.");
DEFINE_uint64(
    scrypt_n, 1 << 15,
    "scrypt cost N for fresh keys (a power of two, 2^10..2^20 with r=8).");
DEFINE_string(policy, "",
              "seal: the policy bytes to record in the bundle. The core keeps "
              "them opaque; seal policies are evaluated by the host's loop.");
DEFINE_string(predicate, "hello",
              "attest: the predicate name of the statement.");
DEFINE_string(args, "", "attest: comma-separated predicate arguments.");
DEFINE_string(valid_for, "1h",
              "attest: validity from now, as a duration (e.g. 30m, 24h); "
              "empty for no expiry.");
DEFINE_string(extend, "",
              "Extend the name with these subprincipals first, e.g. "
              "'Ext(role:demo)' (several separated by '.').");

DEFINE_bool(json, false,
            "Print init's and name's results, and errors, as JSON (one "
            "object a line).");

namespace tao {
namespace {

constexpr absl::string_view kUsage =
    R"usage(the soft Tao root: keys at rest, seal, unseal, attest.

Usage:
  tao-soft --keys_dir=DIR init             create the keys (or load them) and print the name
  tao-soft --keys_dir=DIR name             print the host's name
  tao-soft --keys_dir=DIR seal IN OUT      seal file IN into bundle OUT
  tao-soft --keys_dir=DIR unseal IN OUT    unseal bundle IN into file OUT
  tao-soft --keys_dir=DIR attest OUT       sign "<name> says PREDICATE(ARGS)"

IN and OUT may be - for stdin and stdout. Files are written atomically with
mode 0600. The passphrase comes from --passphrase_file or TAO_PASSPHRASE.
Only init creates keys; every other command needs them to exist.

--json prints init's and name's results, and errors, as JSON.
A wrong passphrase or altered data is refused (exit 1).)usage";

// The table's code, with this tool's refinement: a malformed bundle or keys
// file is refused (1), as altered data is.
int SoftExitCode(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kInvalidArgument:
      return kExitRejected;
    default:
      return ExitCodeFor(status);
  }
}

// Prints a usage problem (exit 2) as text or JSON.
void Warn(const absl::Status& status) {
  ReportError("tao-soft", status, FLAGS_json, kExitUsage);
}

int Fail(const absl::Status& status) {
  return ReportError("tao-soft", status, FLAGS_json, SoftExitCode(status));
}

// Opens the soft root and applies --extend. On failure prints why, sets
// *exit_code (2 for what the user typed: the passphrase source, --extend)
// and returns null.
std::unique_ptr<SoftTao> OpenTao(bool create, int* exit_code) {
  auto passphrase = ReadPassphrase(FLAGS_passphrase_file);
  if (!passphrase.ok()) {
    Warn(passphrase.status());
    *exit_code = kExitUsage;
    return nullptr;
  }
  SoftTaoOptions options;
  options.keys_dir = FLAGS_keys_dir;
  options.passphrase = *passphrase;
  options.create_if_missing = create;
  options.scrypt.n = FLAGS_scrypt_n;
  absl::Status scrypt_ok = ValidateScryptParams(options.scrypt);
  if (!scrypt_ok.ok()) {
    Warn(absl::InvalidArgumentError(
        absl::StrCat("--scrypt_n: ", scrypt_ok.message())));
    *exit_code = kExitUsage;
    return nullptr;
  }
  auto tao = SoftTao::Create(options);
  if (!tao.ok()) {
    *exit_code = Fail(tao.status());
    return nullptr;
  }
  if (!FLAGS_extend.empty()) {
    for (absl::string_view part :
         absl::StrSplit(FLAGS_extend, ").", absl::SkipEmpty())) {
      std::string text(part);
      if (text.back() != ')') text += ")";
      auto sub = Subprincipal::Parse(text);
      absl::Status extended =
          sub.ok() ? (*tao)->ExtendTaoName(*sub) : sub.status();
      if (!extended.ok()) {
        Warn(absl::InvalidArgumentError(
            absl::StrCat("--extend: ", extended.message())));
        *exit_code = kExitUsage;
        return nullptr;
      }
    }
  }
  return std::move(tao).value();
}

int Run(const std::vector<std::string>& args) {
  const std::string& command = args[0];
  auto expect_args = [&](size_t n, absl::string_view usage) {
    if (args.size() == n) return true;
    UsageError(absl::StrCat("usage: tao-soft --keys_dir=DIR ", usage),
               FLAGS_json);
    return false;
  };
  if (command == "init" || command == "name") {
    if (!expect_args(1, command)) return kExitUsage;
    int exit_code = kExitOk;
    auto tao = OpenTao(/*create=*/command == "init", &exit_code);
    if (tao == nullptr) return exit_code;
    if (command == "init") {
      std::cerr << (tao->created_keys() ? "created new host keys in "
                                        : "loaded existing host keys from ")
                << FLAGS_keys_dir << "\n";
    }
    if (FLAGS_json) {
      std::cout << JsonObject()
                       .Add("name", tao->GetTaoName()->text())
                       .Add("created_keys", tao->created_keys())
                       .ToString()
                << "\n";
    } else {
      std::cout << tao->GetTaoName()->text() << "\n";
    }
    return kExitOk;
  }
  if (command == "seal") {
    if (!expect_args(3, "seal IN OUT")) return kExitUsage;
    int exit_code = kExitOk;
    auto tao = OpenTao(false, &exit_code);
    if (tao == nullptr) return exit_code;
    auto data = ReadInput(args[1]);
    if (!data.ok()) return Fail(data.status());
    SecretString plaintext(std::move(data).value());
    auto sealed = tao->Seal(plaintext.view(), FLAGS_policy);
    if (!sealed.ok()) return Fail(sealed.status());
    absl::Status written = WriteOutput(args[2], *sealed);
    if (!written.ok()) return Fail(written);
    std::cerr << "sealed " << plaintext.size() << " bytes into "
              << sealed->size() << "-byte bundle " << args[2] << "\n";
    return kExitOk;
  }
  if (command == "unseal") {
    if (!expect_args(3, "unseal IN OUT")) return kExitUsage;
    int exit_code = kExitOk;
    auto tao = OpenTao(false, &exit_code);
    if (tao == nullptr) return exit_code;
    auto bundle = ReadInput(args[1]);
    if (!bundle.ok()) return Fail(bundle.status());
    auto unsealed = tao->Unseal(*bundle);
    if (!unsealed.ok()) return Fail(unsealed.status());
    absl::Status written = WriteOutput(args[2], unsealed->data.view());
    if (!written.ok()) return Fail(written);
    std::cerr << "unsealed " << unsealed->data.size() << " bytes sealed by "
              << unsealed->sealer.text() << " under a "
              << unsealed->policy.size() << "-byte policy\n";
    return kExitOk;
  }
  if (command == "attest") {
    if (!expect_args(2, "attest OUT")) return kExitUsage;
    int exit_code = kExitOk;
    auto tao = OpenTao(false, &exit_code);
    if (tao == nullptr) return exit_code;
    Statement statement;
    statement.mutable_predicate()->set_name(FLAGS_predicate);
    for (absl::string_view arg :
         absl::StrSplit(FLAGS_args, ',', absl::SkipEmpty())) {
      statement.mutable_predicate()->add_args(std::string(arg));
    }
    absl::Time now = absl::Now();
    statement.set_not_before(absl::ToUnixSeconds(now));
    if (!FLAGS_valid_for.empty()) {
      absl::Duration valid_for;
      if (!absl::ParseDuration(FLAGS_valid_for, &valid_for) ||
          valid_for <= absl::ZeroDuration()) {
        return UsageError(
            absl::StrCat("tao-soft: --valid_for: '", FLAGS_valid_for,
                         "' is not a positive duration"),
            FLAGS_json);
      }
      statement.set_not_after(absl::ToUnixSeconds(now + valid_for));
    }
    auto attestation = tao->Attest(statement);
    if (!attestation.ok()) return Fail(attestation.status());
    absl::Status written =
        WriteOutput(args[1], attestation->SerializeAsString(), 0644);
    if (!written.ok()) return Fail(written);
    Statement signed_statement;
    signed_statement.ParseFromString(attestation->serialized_statement());
    std::cerr << "attested: " << DescribeStatement(signed_statement) << "\n";
    return kExitOk;
  }
  return UsageError(
      absl::StrCat("tao-soft: unknown command '", command, "'; see --help"),
      FLAGS_json);
}

}  // namespace
}  // namespace tao

int main(int argc, char** argv) {
  std::vector<std::string> args =
      tao::InitApp(tao::kUsage, "apps/tao_soft/", &argc, &argv);
  if (args.empty()) {
    return tao::UsageError("tao-soft: missing command; see --help", FLAGS_json);
  }
  if (FLAGS_keys_dir.empty()) {
    return tao::UsageError("tao-soft: --keys_dir is required; see --help",
                           FLAGS_json);
  }
  return tao::Run(args);
}
