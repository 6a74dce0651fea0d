// tao-domain: create a domain, edit and sign its policy, dry-run decisions,
// verify the audit trail; and, for publishers, create a publisher key and
// sign programs so that hosts can name their publisher, product and version.
#include <gflags/gflags.h>

#include <algorithm>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "apps/common/cli.h"
#include "tao/crypto.h"
#include "tao/file_util.h"
#include "tao/key_store.h"
#include "tao/program_signature.h"
#include "tao/status_macros.h"
#include "tao_domain/audit_log.h"
#include "tao_domain/audit_verify.h"
#include "tao_domain/policy_io.h"
#include "tao_domain/tao_domain.h"

DEFINE_string(domain_dir, "",
              "The domain's directory (init, sign, show, check).");
DEFINE_string(name, "", "init: the domain's name.");
DEFINE_string(keys_dir, "",
              "new-publisher, sign-program: the publisher's key directory.");
DEFINE_string(passphrase_file, "",
              "File whose first line is the passphrase of the policy or "
              "publisher key; if unset, TAO_PASSPHRASE is used.");
DEFINE_uint64(
    scrypt_n, 1 << 15,
    "scrypt cost N for fresh keys (a power of two, 2^10..2^20 with r=8).");
DEFINE_uint64(serial, 0,
              "sign: the policy's serial (default: the serial of the "
              "domain's current policy.signed + 1, or 1).");
DEFINE_string(label, "", "check: the label of a Seal or Unseal request.");
DEFINE_int64(uid, -1, "check: ask as an admin client with this OS uid.");
DEFINE_string(gids, "", "check: comma-separated OS group ids of that client.");
DEFINE_int64(run_as_uid, -1,
             "check Execute: the program runs as this explicit uid (default: "
             "a dynamic uid of its own).");
DEFINE_string(product, "", "sign-program: the product name.");
DEFINE_uint64(product_version, 0, "sign-program: the product version.");
DEFINE_string(checkpoint, "",
              "audit-verify: also check the trail against this signed "
              "checkpoint (needs --key).");
DEFINE_string(key, "",
              "audit-verify: the host's name file (keys_dir/host_name), whose "
              "key signed the checkpoint.");
DEFINE_string(out, "",
              "sign-program: where to write (default PROGRAM.taosig).");

namespace tao {
namespace {

constexpr absl::string_view kUsage =
    R"usage(the domain: its policy key, its signed policy, its decisions.

Usage:
  tao-domain --domain_dir=D --name=NAME init    create the policy key (under a
                                                passphrase), a starter policy.txt
                                                and its signed form policy.signed
  tao-domain --domain_dir=D sign [POLICY_TXT]   check and sign POLICY_TXT (default
                                                D/policy.txt) into D/policy.signed,
                                                with serial --serial=N (default:
                                                the current policy.signed's + 1)
  tao-domain --domain_dir=D show [SIGNED]       verify and print the signed policy
  tao-domain --domain_dir=D check [NAME] OP     dry-run a decision and explain it
        (--label=L for Seal/Unseal labels; --uid=U --gids=G,.. for admin callers;
         --run_as_uid=U for Execute as an explicit uid)
  tao-domain audit-verify AUDIT_LOG             check the audit trail's hash chain
      [--checkpoint=F --key=HOST_NAME_FILE]     (every rotated file) and its checkpoint
  tao-domain --keys_dir=K new-publisher         create a publisher key
  tao-domain --keys_dir=K --product=P --product_version=N sign-program PROGRAM
                                                write PROGRAM.taosig
  tao-domain measure PROGRAM                    print the program's measurement and
                                                the publisher its signature names

The domain directory holds policy_keys (0600), policy_name (the policy key's
principal, which hosts pin), policy.txt (protobuf text, see
docs/domain-policy.md) and policy.signed. Passphrases come from
--passphrase_file or TAO_PASSPHRASE.

Exit codes: 0 success (check: allowed; audit-verify: intact), 1 refused
(check: denied; audit-verify: tampered; wrong passphrase; bad signature),
2 usage error, 3 other failure.)usage";

constexpr absl::string_view kStarterPolicy =
    R"policy(# Domain policy in protobuf text format: see docs/domain-policy.md.
# Rules are read in order; the first that matches grants. Nothing is granted
# without a rule. Edit, then run `tao-domain sign` and reload the host.
domain_name: "%NAME%"

# Administrators: root may make every admin call. (A hosted program that
# reaches the admin socket is that program, never its uid: this rule does not
# apply to it even if it runs as root.)
rules {
  id: "root-admin"
  operations: "Admin:*"
  principals { uid: 0 }
}

# Example: let one program run and seal, by measurement (see
# `tao-domain measure PROGRAM`). It runs as a dynamic uid of its own; to run
# it as an explicit user (root is uid 0), list the uids it may run as:
# rules {
#   id: "demo-exec"
#   operations: ["Execute", "Seal", "Unseal", "Attest", "GetSharedSecret"]
#   principals { measurement: "sha256:<64 hex digits>" }
#   # run_as_uids: 0
# }

# Example: an operator (uid 1000) may start that one program, and only as a
# dynamic uid or as uid 1000.
# rules {
#   id: "operator-start"
#   operations: "Admin:Start"
#   principals { uid: 1000 }
#   programs { measurement: "sha256:<64 hex digits>" }
#   run_as_uids: 1000
# }

# Example: every version >= 2 of a signed product may run.
# rules {
#   id: "signed-app"
#   operations: "Execute"
#   principals { signer { signer: "key(ecdsa-p256:...)" product: "app" min_version: 2 } }
# }

# Example: whoever holds label "db-creds" may unseal DomainRule(db-creds) data.
# rules {
#   id: "db-creds"
#   operations: "Unseal"
#   labels: "db-creds"
#   principals { name_prefix: "key(ecdsa-p256:...).Program(sha256:...)" }
# }
)policy";

int ExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kUnauthenticated:
      return kExitRejected;
    case absl::StatusCode::kInvalidArgument:
      return kExitUsage;
    default:
      return kExitFailure;
  }
}

int Fail(const absl::Status& status) {
  PrintError("tao-domain", status);
  return ExitCodeFor(status);
}

// A signed policy that does not verify is refused (exit 1), whatever the
// reason; a missing file or an I/O error is a failure (exit 3).
int FailVerification(const absl::Status& status) {
  PrintError("tao-domain", status);
  return status.code() == absl::StatusCode::kInvalidArgument ||
                 status.code() == absl::StatusCode::kUnauthenticated
             ? kExitRejected
             : kExitFailure;
}

std::string DomainFile(absl::string_view file) {
  return absl::StrCat(FLAGS_domain_dir, "/", file);
}

absl::StatusOr<HostKeys> OpenKeys(const std::string& dir,
                                  absl::string_view basename, bool create,
                                  bool* created) {
  auto passphrase = ReadPassphrase(FLAGS_passphrase_file);
  if (!passphrase.ok()) return passphrase.status();
  KeyDirectoryOptions options;
  options.dir = dir;
  options.basename = std::string(basename);
  options.passphrase = *passphrase;
  options.create_if_missing = create;
  options.scrypt.n = FLAGS_scrypt_n;
  return LoadOrCreateKeyDirectory(options, created);
}

absl::StatusOr<VerifyingKey> LoadPinnedKey(const std::string& path) {
  auto text = ReadFileToString(path, 1 << 16);
  if (!text.ok()) return text.status();
  auto principal = Principal::Parse(absl::StripAsciiWhitespace(*text));
  if (!principal.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", principal.status().message()));
  }
  if (!principal->subprincipals().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": a policy key is a bare key principal"));
  }
  return VerifyingKey::FromSpki(principal->key_spki());
}

absl::Status SignPolicyFile(const SigningKey& key,
                            const std::string& text_path) {
  auto text = ReadFileToString(text_path, kMaxDomainPolicySize);
  if (!text.ok()) return text.status();
  auto policy = ParseDomainPolicyText(*text);
  if (!policy.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(text_path, ": ", policy.status().message()));
  }
  // The serial: --serial, else one in the text, else the current signed
  // policy's + 1 (hosts refuse a serial lower than one they accepted).
  uint64_t previous = 0;
  auto current =
      ReadFileToString(DomainFile("policy.signed"), kMaxDomainPolicySize);
  if (current.ok()) {
    auto serial = PeekDomainPolicySerial(*current);
    if (serial.ok()) previous = *serial;
  } else if (!absl::IsNotFound(current.status())) {
    return current.status();
  }
  // policy.serial remembers the last serial signed here, should
  // policy.signed be removed or replaced by an older copy.
  auto last = ReadFileToString(DomainFile("policy.serial"), 64);
  uint64_t last_serial = 0;
  if (last.ok() &&
      absl::SimpleAtoi(absl::StripAsciiWhitespace(*last), &last_serial)) {
    previous = std::max(previous, last_serial);
  }
  if (FLAGS_serial != 0) {
    policy->set_serial(FLAGS_serial);
  } else if (policy->serial() == 0) {
    policy->set_serial(previous + 1);
  }
  if (policy->serial() <= previous) {
    std::cerr << "tao-domain: warning: serial " << policy->serial()
              << " is not above the current policy's " << previous
              << "; hosts that accepted that one will refuse this one\n";
  }
  auto signed_policy = SignDomainPolicy(*policy, key);
  if (!signed_policy.ok()) return signed_policy.status();
  absl::Status written =
      WriteFileAtomically(DomainFile("policy.signed"), *signed_policy, 0644);
  if (!written.ok()) return written;
  if (policy->serial() > previous) {
    TAO_RETURN_IF_ERROR(
        WriteFileAtomically(DomainFile("policy.serial"),
                            absl::StrCat(policy->serial(), "\n"), 0644));
  }
  std::cout << "signed " << policy->rules_size() << " rules of domain '"
            << policy->domain_name() << "' (serial " << policy->serial()
            << ") into " << DomainFile("policy.signed") << "\n";
  return absl::OkStatus();
}

int Init() {
  if (FLAGS_name.empty()) {
    std::cerr << "tao-domain: init needs --name\n";
    return kExitUsage;
  }
  bool created = false;
  auto keys = OpenKeys(FLAGS_domain_dir, "policy", true, &created);
  if (!keys.ok()) return Fail(keys.status());
  std::cerr << (created ? "created the policy key in "
                        : "loaded the policy key from ")
            << FLAGS_domain_dir << "\n";
  std::string text_path = DomainFile("policy.txt");
  if (!PathExists(text_path)) {
    std::string text(kStarterPolicy);
    text.replace(text.find("%NAME%"), 6, absl::CEscape(FLAGS_name));
    absl::Status written = WriteFileAtomically(text_path, text, 0644);
    if (!written.ok()) return Fail(written);
    std::cerr << "wrote a starter policy to " << text_path << "\n";
  }
  absl::Status signed_ok = SignPolicyFile(keys->signing_key, text_path);
  if (!signed_ok.ok()) return Fail(signed_ok);
  std::cout << "policy key: "
            << Principal::ForKey(keys->signing_key.verifying_key()).text()
            << "\n";
  return kExitOk;
}

int Sign(const std::vector<std::string>& args) {
  if (args.size() > 2) {
    std::cerr << "usage: tao-domain --domain_dir=D sign [POLICY_TXT]\n";
    return kExitUsage;
  }
  bool created = false;
  auto keys = OpenKeys(FLAGS_domain_dir, "policy", false, &created);
  if (!keys.ok()) return Fail(keys.status());
  absl::Status ok = SignPolicyFile(
      keys->signing_key, args.size() == 2 ? args[1] : DomainFile("policy.txt"));
  return ok.ok() ? kExitOk : Fail(ok);
}

absl::StatusOr<DomainPolicy> LoadSignedPolicy(const std::string& path) {
  auto key = LoadPinnedKey(DomainFile("policy_name"));
  if (!key.ok()) return key.status();
  auto bytes = ReadFileToString(path, kMaxDomainPolicySize);
  if (!bytes.ok()) return bytes.status();
  auto policy = VerifySignedDomainPolicy(*bytes, *key);
  if (!policy.ok()) {
    return absl::Status(policy.status().code(),
                        absl::StrCat(path, ": ", policy.status().message()));
  }
  return policy;
}

int Show(const std::vector<std::string>& args) {
  if (args.size() > 2) {
    std::cerr << "usage: tao-domain --domain_dir=D show [SIGNED]\n";
    return kExitUsage;
  }
  auto policy = LoadSignedPolicy(
      args.size() == 2 ? args[1] : DomainFile("policy.signed"));
  if (!policy.ok()) return FailVerification(policy.status());
  std::cout << "# verified: signed by the domain's policy key\n"
            << "# serial: " << policy->serial() << "\n"
            << DomainPolicyToText(*policy);
  return kExitOk;
}

int Check(const std::vector<std::string>& args) {
  Caller caller;
  std::string operation;
  if (args.size() == 3) {
    auto name = Principal::Parse(args[1]);
    if (!name.ok()) return Fail(name.status());
    caller.program = *name;
    operation = args[2];
  } else if (args.size() == 2) {
    operation = args[1];
  } else {
    std::cerr << "usage: tao-domain --domain_dir=D check [NAME] OP\n";
    return kExitUsage;
  }
  if (FLAGS_uid > static_cast<int64_t>(UINT32_MAX)) {
    std::cerr << "tao-domain: --uid=" << FLAGS_uid << " is not a user id\n";
    return kExitUsage;
  }
  if (FLAGS_uid >= 0) {
    caller.uid = static_cast<uint32_t>(FLAGS_uid);
    for (absl::string_view g :
         absl::StrSplit(FLAGS_gids, ',', absl::SkipEmpty())) {
      uint32_t gid = 0;
      if (!absl::SimpleAtoi(g, &gid)) {
        std::cerr << "tao-domain: --gids: '" << g << "' is not a group id\n";
        return kExitUsage;
      }
      caller.gids.push_back(gid);
    }
  }
  if (!caller.program.has_value() && !caller.uid.has_value()) {
    std::cerr << "tao-domain: check needs a NAME or --uid\n";
    return kExitUsage;
  }
  if (!IsKnownOperation(operation) || operation == "Admin:*") {
    std::cerr
        << "tao-domain: unknown operation '" << operation
        << "' (Execute, Seal, Unseal, Attest, GetSharedSecret, Admin:<Call>)\n";
    return kExitUsage;
  }
  if (FLAGS_run_as_uid > static_cast<int64_t>(UINT32_MAX) ||
      (FLAGS_run_as_uid >= 0 &&
       (operation != "Execute" || !caller.program.has_value()))) {
    std::cerr << "tao-domain: --run_as_uid needs a NAME, Execute and a uid\n";
    return kExitUsage;
  }
  auto policy = LoadSignedPolicy(DomainFile("policy.signed"));
  if (!policy.ok()) return FailVerification(policy.status());
  Decision d = FLAGS_run_as_uid >= 0
                   ? DecideExecuteWithPolicy(
                         *policy, *caller.program,
                         RunAs::User(static_cast<uint32_t>(FLAGS_run_as_uid)))
                   : DecideWithPolicy(*policy, caller, operation, FLAGS_label);
  std::cout << (d.allowed ? "ALLOW: " : "DENY: ") << d.reason << "\n";
  return d.allowed ? kExitOk : kExitRejected;
}

int AuditVerify(const std::vector<std::string>& args) {
  if (args.size() != 2 || FLAGS_checkpoint.empty() != FLAGS_key.empty()) {
    std::cerr << "usage: tao-domain audit-verify AUDIT_LOG "
                 "[--checkpoint=F --key=HOST_NAME_FILE]\n";
    return kExitUsage;
  }
  std::optional<VerifyingKey> key;
  if (!FLAGS_key.empty()) {
    auto text = ReadFileToString(FLAGS_key, 1 << 16);
    if (!text.ok()) return Fail(text.status());
    auto name = Principal::Parse(absl::StripAsciiWhitespace(*text));
    if (!name.ok()) return Fail(name.status());
    auto parsed = VerifyingKey::FromSpki(name->key_spki());
    if (!parsed.ok()) return Fail(parsed.status());
    key = *std::move(parsed);
  }
  auto summary = VerifyAuditTrail(args[1], FLAGS_checkpoint,
                                  key.has_value() ? &*key : nullptr);
  if (!summary.ok()) return Fail(summary.status());
  std::cout << "intact: " << summary->last_seq << " records, last hash "
            << summary->last_hash_hex;
  if (summary->files > 1 || summary->first_seq > 1) {
    std::cout << " (" << summary->files << " files, records "
              << summary->first_seq << " to " << summary->last_seq << ")";
  }
  if (summary->checkpoint_checked) std::cout << "; matches its checkpoint";
  std::cout << "\n";
  return kExitOk;
}

int NewPublisher() {
  bool created = false;
  auto keys = OpenKeys(FLAGS_keys_dir, "publisher", true, &created);
  if (!keys.ok()) return Fail(keys.status());
  std::cerr << (created ? "created a publisher key in "
                        : "loaded the publisher key from ")
            << FLAGS_keys_dir << "\n";
  std::cout << Principal::ForKey(keys->signing_key.verifying_key()).text()
            << "\n";
  return kExitOk;
}

absl::StatusOr<std::string> MeasureFile(const std::string& path) {
  auto bytes = ReadFileToString(path, size_t{4} << 30);
  if (!bytes.ok()) return bytes.status();
  return Sha256(*bytes);
}

int SignProgramCommand(const std::vector<std::string>& args) {
  if (args.size() != 2 || FLAGS_product.empty()) {
    std::cerr << "usage: tao-domain --keys_dir=K --product=P "
                 "--product_version=N sign-program PROGRAM\n";
    return kExitUsage;
  }
  bool created = false;
  auto keys = OpenKeys(FLAGS_keys_dir, "publisher", false, &created);
  if (!keys.ok()) return Fail(keys.status());
  auto measurement = MeasureFile(args[1]);
  if (!measurement.ok()) return Fail(measurement.status());
  auto signature = SignProgram(keys->signing_key, *measurement, FLAGS_product,
                               FLAGS_product_version);
  if (!signature.ok()) return Fail(signature.status());
  std::string out = FLAGS_out.empty()
                        ? absl::StrCat(args[1], kProgramSignatureSuffix)
                        : FLAGS_out;
  absl::Status written = WriteFileAtomically(out, *signature, 0644);
  if (!written.ok()) return Fail(written);
  std::cout << "signed sha256:" << HexEncode(*measurement) << " as '"
            << FLAGS_product << "' version " << FLAGS_product_version
            << " into " << out << "\n";
  return kExitOk;
}

int Measure(const std::vector<std::string>& args) {
  if (args.size() != 2) {
    std::cerr << "usage: tao-domain measure PROGRAM\n";
    return kExitUsage;
  }
  auto measurement = MeasureFile(args[1]);
  if (!measurement.ok()) return Fail(measurement.status());
  std::cout << "Program(sha256:" << HexEncode(*measurement) << ")\n";
  std::string sig_path = absl::StrCat(args[1], kProgramSignatureSuffix);
  auto signature = ReadFileToString(sig_path, kMaxProgramSignatureSize);
  if (absl::IsNotFound(signature.status())) {
    std::cout << "(no signature at " << sig_path << ")\n";
    return kExitOk;
  }
  if (!signature.ok()) return Fail(signature.status());
  auto claim = VerifyProgramSignature(*signature, *measurement);
  if (!claim.ok()) return FailVerification(claim.status());
  auto sub = PublisherSubprincipal(*claim);
  if (!sub.ok()) return Fail(sub.status());
  std::cout << sub->ToString() << "\n";
  return kExitOk;
}

}  // namespace
}  // namespace tao

int main(int argc, char** argv) {
  std::vector<std::string> args =
      tao::InitApp(tao::kUsage, "apps/tao_domain/", &argc, &argv);
  if (args.empty()) {
    std::cerr << "tao-domain: missing command; see --help\n";
    return tao::kExitUsage;
  }
  const std::string& command = args[0];
  if (command == "audit-verify") return tao::AuditVerify(args);
  if (command == "measure") return tao::Measure(args);
  if (command == "new-publisher" || command == "sign-program") {
    if (FLAGS_keys_dir.empty()) {
      std::cerr << "tao-domain: " << command << " needs --keys_dir\n";
      return tao::kExitUsage;
    }
    return command == "new-publisher" ? tao::NewPublisher()
                                      : tao::SignProgramCommand(args);
  }
  if (FLAGS_domain_dir.empty()) {
    std::cerr << "tao-domain: " << command
              << " needs --domain_dir; see --help\n";
    return tao::kExitUsage;
  }
  if (command == "init") return tao::Init();
  if (command == "sign") return tao::Sign(args);
  if (command == "show") return tao::Show(args);
  if (command == "check") return tao::Check(args);
  std::cerr << "tao-domain: unknown command '" << command << "'; see --help\n";
  return tao::kExitUsage;
}
