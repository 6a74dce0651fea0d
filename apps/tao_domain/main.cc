// tao-domain: create a domain, edit and sign its policy, dry-run decisions,
// verify the audit trail; and, for publishers, create a publisher key and
// sign programs so that hosts can name their publisher, product and version
// (those commands are publisher.cc's; what the files share is tool.h).
#include <gflags/gflags.h>

#include <algorithm>
#include <iostream>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "apps/common/cli.h"
#include "apps/common/json.h"
#include "apps/tao_domain/allow.h"
#include "apps/tao_domain/policy_files.h"
#include "apps/tao_domain/publisher.h"
#include "apps/tao_domain/sign_pcrs.h"
#include "apps/tao_domain/texts.h"
#include "apps/tao_domain/tool.h"
#include "tao/file_util.h"
#include "tao/key_store.h"
#include "tao/status_macros.h"
#include "tao/tpm2_quote.h"
#include "tao_domain/audit_log.h"
#include "tao_domain/audit_verify.h"
#include "tao_domain/policy_io.h"
#include "tao_domain/tao_domain.h"

DEFINE_string(domain_dir, "",
              "The domain's directory (init, sign, show, check, allow).");
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
DEFINE_string(label, "",
              "check: the label of a Seal or Unseal request; allow: the "
              "label the rule grants.");
DEFINE_int64(uid, -1,
             "check: ask as an admin client with this OS uid; allow: grant "
             "to it.");
DEFINE_string(gids, "", "check: comma-separated OS group ids of that client.");
DEFINE_int64(run_as_uid, -1,
             "check Execute: the program runs as this explicit uid (default: "
             "a dynamic uid of its own); allow Execute: the rule lets it.");
DEFINE_string(measurement, "",
              "allow: grant to the program with this measurement "
              "(sha256:<64 hex>, as `measure` prints it).");
DEFINE_string(id, "",
              "allow: the new rule's id (default: made from the "
              "operation and the grantee).");
DEFINE_string(product, "", "sign-program: the product name.");
DEFINE_uint64(product_version, 0, "sign-program: the product version.");
DEFINE_string(checkpoint, "",
              "audit-verify: also check the trail against this signed "
              "checkpoint (needs --key).");
DEFINE_string(key, "",
              "audit-verify: the host's name file (keys_dir/host_name), whose "
              "key signed the checkpoint.");
DEFINE_bool(json, false,
            "Print results as JSON (one object a line) and errors as JSON on "
            "stderr.");
DEFINE_string(out, "",
              "sign-program: where to write (default PROGRAM.taosig); "
              "sign-pcrs: (default D/tpm2_pcr_authorization).");

namespace tao {
namespace {

using domain_tool::Fail;
using domain_tool::FailVerification;
using domain_tool::OpenKeys;
using domain_tool::Print;

// The PCR values an approval signs, as PlatformStateText prints them.
PcrValues PcrsFromApproval(const Tpm2PcrAuthorization& approval) {
  PcrValues out;
  for (const Tpm2Pcr& pcr : approval.pcrs()) out[pcr.index()] = pcr.value();
  return out;
}

std::string DomainFile(absl::string_view file) {
  return absl::StrCat(FLAGS_domain_dir, "/", file);
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

int Init() {
  if (FLAGS_name.empty()) {
    return UsageError("tao-domain: init needs --name", FLAGS_json);
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
  auto signed_file = SignPolicyFile(keys->signing_key, FLAGS_domain_dir,
                                    text_path, FLAGS_serial);
  if (!signed_file.ok()) return Fail(signed_file.status());
  std::string key_name =
      Principal::ForKey(keys->signing_key.verifying_key()).text();
  Print(SignedJson(*signed_file)
            .Add("policy_key", key_name)
            .Add("created_key", created),
        absl::StrCat(SignedText(*signed_file), "policy key: ", key_name, "\n"));
  return kExitOk;
}

int Sign(const std::vector<std::string>& args) {
  if (args.size() > 2) {
    return UsageError("usage: tao-domain --domain_dir=D sign [POLICY_TXT]",
                      FLAGS_json);
  }
  bool created = false;
  auto keys = OpenKeys(FLAGS_domain_dir, "policy", false, &created);
  if (!keys.ok()) return Fail(keys.status());
  auto signed_file = SignPolicyFile(
      keys->signing_key, FLAGS_domain_dir,
      args.size() == 2 ? args[1] : DomainFile("policy.txt"), FLAGS_serial);
  if (!signed_file.ok()) return Fail(signed_file.status());
  Print(SignedJson(*signed_file), SignedText(*signed_file));
  return kExitOk;
}

int SignPcrs(const std::vector<std::string>& args) {
  if (args.size() < 2) {
    return UsageError(
        "usage: tao-domain --domain_dir=D sign-pcrs INDEX=HEX... [--out=F]",
        FLAGS_json);
  }
  bool created = false;
  auto keys = OpenKeys(FLAGS_domain_dir, "policy", false, &created);
  if (!keys.ok()) return Fail(keys.status());
  auto approval =
      SignPcrSet(keys->signing_key,
                 std::vector<std::string>(args.begin() + 1, args.end()));
  if (!approval.ok()) {
    return UsageError(absl::StrCat("tao-domain: ", approval.status().message()),
                      FLAGS_json);
  }
  const std::string out =
      FLAGS_out.empty() ? DomainFile("tpm2_pcr_authorization") : FLAGS_out;
  absl::Status written =
      WriteFileAtomically(out, approval->SerializeAsString(), 0644);
  if (!written.ok()) return Fail(written);
  const std::string state = PlatformStateText(PcrsFromApproval(*approval));
  Print(JsonObject().Add("signed", true).Add("state", state).Add("file", out),
        absl::StrCat("signed the PCR set ", state, " into ", out, "\n"));
  return kExitOk;
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

// Appends one rule to policy.txt and signs the result, as `sign` does.
int Allow(const std::vector<std::string>& args) {
  AllowRequest request;
  request.operations.assign(args.begin() + 1, args.end());
  request.id = FLAGS_id;
  request.measurement = FLAGS_measurement;
  request.label = FLAGS_label;
  for (auto [flag, value, out] :
       {std::make_tuple("uid", FLAGS_uid, &request.uid),
        std::make_tuple("run_as_uid", FLAGS_run_as_uid, &request.run_as_uid)}) {
    if (value > static_cast<int64_t>(UINT32_MAX)) {
      return UsageError(
          absl::StrCat("tao-domain: --", flag, "=", value, " is not a user id"),
          FLAGS_json);
    }
    if (value >= 0) *out = static_cast<uint32_t>(value);
  }
  auto rule = AllowRuleText(request);
  if (!rule.ok()) return UsageError(rule.status().message(), FLAGS_json);
  const std::string text_path = DomainFile("policy.txt");
  auto text = ReadFileToString(text_path, kMaxDomainPolicySize);
  if (!text.ok()) return Fail(text.status());
  auto updated = AppendRule(*text, *rule);
  if (!updated.ok()) return Fail(updated.status());
  bool created = false;
  auto keys = OpenKeys(FLAGS_domain_dir, "policy", false, &created);
  if (!keys.ok()) return Fail(keys.status());
  absl::Status written = WriteFileAtomically(text_path, *updated, 0644);
  if (!written.ok()) return Fail(written);
  auto signed_file = SignPolicyFile(keys->signing_key, FLAGS_domain_dir,
                                    text_path, FLAGS_serial);
  if (!signed_file.ok()) return Fail(signed_file.status());
  Print(SignedJson(*signed_file).Add("rule", *rule),
        absl::StrCat("added to ", text_path, ":\n", *rule,
                     SignedText(*signed_file),
                     "hosts take it on `taoctl reload` (or SIGHUP)\n"));
  return kExitOk;
}

int Show(const std::vector<std::string>& args) {
  if (args.size() > 2) {
    return UsageError("usage: tao-domain --domain_dir=D show [SIGNED]",
                      FLAGS_json);
  }
  auto policy = LoadSignedPolicy(
      args.size() == 2 ? args[1] : DomainFile("policy.signed"));
  if (!policy.ok()) return FailVerification(policy.status());
  Print(JsonObject()
            .Add("verified", true)
            .Add("serial", policy->serial())
            .Add("domain_name", policy->domain_name())
            .Add("rules", policy->rules_size())
            .AddRaw("policy", ProtoToJson(*policy)),
        absl::StrCat("# verified: signed by the domain's policy key\n",
                     "# serial: ", policy->serial(), "\n",
                     DomainPolicyToText(*policy)));
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
    return UsageError("usage: tao-domain --domain_dir=D check [NAME] OP",
                      FLAGS_json);
  }
  if (FLAGS_uid > static_cast<int64_t>(UINT32_MAX)) {
    return UsageError(
        absl::StrCat("tao-domain: --uid=", FLAGS_uid, " is not a user id"),
        FLAGS_json);
  }
  if (FLAGS_uid >= 0) {
    caller.uid = static_cast<uint32_t>(FLAGS_uid);
    for (absl::string_view g :
         absl::StrSplit(FLAGS_gids, ',', absl::SkipEmpty())) {
      uint32_t gid = 0;
      if (!absl::SimpleAtoi(g, &gid)) {
        return UsageError(
            absl::StrCat("tao-domain: --gids: '", g, "' is not a group id"),
            FLAGS_json);
      }
      caller.gids.push_back(gid);
    }
  }
  if (!caller.program.has_value() && !caller.uid.has_value()) {
    return UsageError("tao-domain: check needs a NAME or --uid", FLAGS_json);
  }
  if (!IsKnownOperation(operation) || operation == "Admin:*") {
    return UsageError(
        absl::StrCat("tao-domain: unknown operation '", operation,
                     "' (Execute, Seal, Unseal, Attest, GetSharedSecret, "
                     "Admin:<Call>)"),
        FLAGS_json);
  }
  if (FLAGS_run_as_uid > static_cast<int64_t>(UINT32_MAX) ||
      (FLAGS_run_as_uid >= 0 &&
       (operation != "Execute" || !caller.program.has_value()))) {
    return UsageError(
        "tao-domain: --run_as_uid needs a NAME, Execute and a uid", FLAGS_json);
  }
  auto policy = LoadSignedPolicy(DomainFile("policy.signed"));
  if (!policy.ok()) return FailVerification(policy.status());
  Decision d = FLAGS_run_as_uid >= 0
                   ? DecideExecuteWithPolicy(
                         *policy, *caller.program,
                         RunAs::User(static_cast<uint32_t>(FLAGS_run_as_uid)))
                   : DecideWithPolicy(*policy, caller, operation, FLAGS_label);
  Print(JsonObject()
            .Add("allowed", d.allowed)
            .Add("operation", operation)
            .Add("label", FLAGS_label)
            .Add("reason", d.reason),
        absl::StrCat(d.allowed ? "ALLOW: " : "DENY: ", d.reason, "\n"));
  return d.allowed ? kExitOk : kExitRejected;
}

int AuditVerify(const std::vector<std::string>& args) {
  if (args.size() != 2 || FLAGS_checkpoint.empty() != FLAGS_key.empty()) {
    return UsageError(
        "usage: tao-domain audit-verify AUDIT_LOG [--checkpoint=F "
        "--key=HOST_NAME_FILE]",
        FLAGS_json);
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
  std::string text =
      absl::StrCat("intact: ", summary->last_seq, " records, last hash ",
                   summary->last_hash_hex);
  if (summary->files > 1 || summary->first_seq > 1) {
    absl::StrAppend(&text, " (", summary->files, " files, records ",
                    summary->first_seq, " to ", summary->last_seq, ")");
  }
  if (summary->checkpoint_checked) {
    absl::StrAppend(&text, "; matches its checkpoint");
  }
  Print(JsonObject()
            .Add("intact", true)
            .Add("records", static_cast<uint64_t>(summary->last_seq))
            .Add("first_seq", static_cast<uint64_t>(summary->first_seq))
            .Add("last_seq", static_cast<uint64_t>(summary->last_seq))
            .Add("files", static_cast<uint64_t>(summary->files))
            .Add("last_hash", summary->last_hash_hex)
            .Add("checkpoint_checked", summary->checkpoint_checked),
        absl::StrCat(text, "\n"));
  return kExitOk;
}

}  // namespace
}  // namespace tao

int main(int argc, char** argv) {
  std::vector<std::string> args =
      tao::InitApp(tao::kUsage, "apps/tao_domain/", &argc, &argv);
  if (args.empty()) {
    return tao::UsageError("tao-domain: missing command; see --help",
                           FLAGS_json);
  }
  const std::string& command = args[0];
  if (command == "audit-verify") return tao::AuditVerify(args);
  if (command == "measure") return tao::domain_tool::Measure(args);
  if (command == "new-publisher" || command == "sign-program") {
    if (FLAGS_keys_dir.empty()) {
      return tao::UsageError(
          absl::StrCat("tao-domain: ", command, " needs --keys_dir"),
          FLAGS_json);
    }
    return command == "new-publisher"
               ? tao::domain_tool::NewPublisher()
               : tao::domain_tool::SignProgramCommand(args);
  }
  if (FLAGS_domain_dir.empty()) {
    return tao::UsageError(absl::StrCat("tao-domain: ", command,
                                        " needs --domain_dir; see --help"),
                           FLAGS_json);
  }
  if (command == "init") return tao::Init();
  if (command == "sign") return tao::Sign(args);
  if (command == "sign-pcrs") return tao::SignPcrs(args);
  if (command == "show") return tao::Show(args);
  if (command == "check") return tao::Check(args);
  if (command == "allow") return tao::Allow(args);
  return tao::UsageError(
      absl::StrCat("tao-domain: unknown command '", command, "'; see --help"),
      FLAGS_json);
}
