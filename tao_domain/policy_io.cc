#include "tao_domain/policy_io.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "seal_policy/codec.h"
#include "tao/crypto.h"
#include "tao/encoding.h"
#include "tao/file_util.h"
#include "tao/principal.h"
#include "tao/status_macros.h"
#include "tao/text_proto.h"

namespace tao {
namespace {

constexpr absl::string_view kOperations[] = {
    "Execute",          "Seal",         "Unseal",       "Attest",
    "GetSharedSecret",  "Admin:Start",  "Admin:Stop",   "Admin:Kill",
    "Admin:List",       "Admin:Wait",   "Admin:Logs",   "Admin:Events",
    "Admin:GetTaoName", "Admin:Info",   "Admin:Reload", "Admin:Shutdown",
    "Admin:Pause",      "Admin:Resume", "Admin:*"};

absl::Status RuleError(int index, const Rule& rule, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      "domain policy rule #", index + 1,
      rule.id().empty() ? "" : absl::StrCat(" '", rule.id(), "'"), ": ", why));
}

absl::Status CheckMeasurement(absl::string_view m) {
  // The same rules as a Program(...) argument.
  return Subprincipal::Create("Program", m).status();
}

absl::Status CheckKeyPrincipal(absl::string_view text) {
  TAO_ASSIGN_OR_RETURN(Principal p, Principal::Parse(text));
  if (!p.subprincipals().empty()) {
    return absl::InvalidArgumentError("must be a bare key principal");
  }
  return absl::OkStatus();
}

absl::Status CheckMatcher(const Matcher& m) {
  switch (m.kind_case()) {
    case Matcher::kExactName:
      return Principal::Parse(m.exact_name()).status();
    case Matcher::kMeasurement:
      return CheckMeasurement(m.measurement());
    case Matcher::kSigner: {
      TAO_RETURN_IF_ERROR(CheckKeyPrincipal(m.signer().signer()));
      // The same rules as the product of a Publisher(...) name, so that a
      // product that could never match is refused here.
      return Subprincipal::Create(
                 "Publisher",
                 absl::StrCat(
                     "ecdsa-p256:",
                     Base64UrlEncode(
                         Principal::Parse(m.signer().signer())->key_spki()),
                     ",", m.signer().product(), ",0"))
          .status();
    }
    case Matcher::kNamePrefix:
      return Principal::Parse(m.name_prefix()).status();
    case Matcher::kUid:
    case Matcher::kGid:
      return absl::OkStatus();
    case Matcher::KIND_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("a matcher has no kind set");
}

// True if `message` or any message inside it carries fields this build does
// not know: a policy from a newer format must not be half understood.
bool HasUnknownFields(const google::protobuf::Message& message) {
  const google::protobuf::Reflection* reflection = message.GetReflection();
  if (!reflection->GetUnknownFields(message).empty()) return true;
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const auto* field : fields) {
    if (field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE)
      continue;
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
        if (HasUnknownFields(
                reflection->GetRepeatedMessage(message, field, i))) {
          return true;
        }
      }
    } else if (HasUnknownFields(reflection->GetMessage(message, field))) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool IsKnownOperation(absl::string_view operation) {
  for (absl::string_view known : kOperations) {
    if (operation == known) return true;
  }
  return false;
}

absl::StatusOr<DomainPolicy> ParseDomainPolicyText(absl::string_view text) {
  if (text.size() > kMaxDomainPolicySize) {
    return absl::InvalidArgumentError("domain policy text exceeds 4 MiB");
  }
  DomainPolicy policy;
  absl::Status parsed = ParseTextProto("domain policy text", text, &policy);
  if (!parsed.ok()) return parsed;
  TAO_RETURN_IF_ERROR(ValidateDomainPolicy(policy));
  return policy;
}

absl::Status ValidateDomainPolicy(const DomainPolicy& policy) {
  if (policy.domain_name().empty()) {
    return absl::InvalidArgumentError("domain policy needs a domain_name");
  }
  std::set<std::string> ids;
  for (int i = 0; i < policy.rules_size(); ++i) {
    const Rule& rule = policy.rules(i);
    if (rule.id().empty()) return RuleError(i, rule, "needs an id");
    if (!ids.insert(rule.id()).second)
      return RuleError(i, rule, "duplicate id");
    if (rule.operations().empty())
      return RuleError(i, rule, "grants no operation");
    bool seal_or_unseal = false;
    for (const std::string& op : rule.operations()) {
      if (!IsKnownOperation(op)) {
        return RuleError(i, rule, absl::StrCat("unknown operation '", op, "'"));
      }
      seal_or_unseal |= op == "Seal" || op == "Unseal";
    }
    if (!rule.labels().empty() && !seal_or_unseal) {
      return RuleError(i, rule, "labels apply only to Seal and Unseal");
    }
    for (const std::string& label : rule.labels()) {
      if (label != "*" && !IsValidDomainRuleLabel(label)) {
        return RuleError(i, rule,
                         absl::StrCat("label '", label,
                                      "' must be \"*\" or 1-128 characters "
                                      "of [A-Za-z0-9._:/-]"));
      }
    }
    if (rule.principals().empty())
      return RuleError(i, rule, "matches no principal");
    for (int j = 0; j < rule.principals_size(); ++j) {
      absl::Status ok = CheckMatcher(rule.principals(j));
      if (!ok.ok()) {
        return RuleError(
            i, rule, absl::StrCat("principals #", j + 1, ": ", ok.message()));
      }
    }
    // Run-as grants (run_as_uids, programs): docs/domain-policy.md.
    bool execute_or_start = false, start = false;
    for (const std::string& op : rule.operations()) {
      start |= op == "Admin:Start" || op == "Admin:*";
      execute_or_start |= op == "Execute" || start;
    }
    if (!rule.run_as_uids().empty() && !execute_or_start) {
      return RuleError(i, rule,
                       "run_as_uids apply only to Execute and "
                       "Admin:Start");
    }
    if (!rule.programs().empty() && !start) {
      return RuleError(i, rule, "programs apply only to Admin:Start");
    }
    for (int j = 0; j < rule.programs_size(); ++j) {
      absl::Status ok = CheckMatcher(rule.programs(j));
      if (!ok.ok()) {
        return RuleError(i, rule,
                         absl::StrCat("programs #", j + 1, ": ", ok.message()));
      }
    }
  }
  return absl::OkStatus();
}

std::string DomainPolicyToText(const DomainPolicy& policy) {
  std::string out;
  google::protobuf::TextFormat::PrintToString(policy, &out);
  return out;
}

absl::StatusOr<std::string> SignDomainPolicy(const DomainPolicy& policy,
                                             const SigningKey& policy_key) {
  TAO_RETURN_IF_ERROR(ValidateDomainPolicy(policy));
  SignedDomainPolicy signed_policy;
  if (!policy.SerializeToString(signed_policy.mutable_serialized_policy())) {
    return absl::InternalError("cannot serialize the domain policy");
  }
  TAO_ASSIGN_OR_RETURN(
      std::string signature,
      policy_key.Sign(kDomainPolicyContext, signed_policy.serialized_policy()));
  signed_policy.set_policy_key(policy_key.verifying_key().spki());
  signed_policy.set_signature(std::move(signature));
  return signed_policy.SerializeAsString();
}

absl::StatusOr<DomainPolicy> VerifySignedDomainPolicy(
    absl::string_view signed_bytes, const VerifyingKey& policy_key) {
  if (signed_bytes.size() > kMaxDomainPolicySize) {
    return absl::InvalidArgumentError("signed domain policy exceeds 4 MiB");
  }
  SignedDomainPolicy signed_policy;
  if (!signed_policy.ParseFromArray(signed_bytes.data(),
                                    static_cast<int>(signed_bytes.size()))) {
    return absl::InvalidArgumentError("signed domain policy does not parse");
  }
  if (HasUnknownFields(signed_policy)) {
    return absl::InvalidArgumentError(
        "signed domain policy carries fields this host does not understand");
  }
  if (signed_policy.signature().empty()) {
    return absl::UnauthenticatedError("domain policy is not signed");
  }
  if (signed_policy.policy_key() != policy_key.spki()) {
    return absl::UnauthenticatedError(
        "domain policy is signed by another key than the domain's policy key");
  }
  if (!policy_key
           .Verify(kDomainPolicyContext, signed_policy.serialized_policy(),
                   signed_policy.signature())
           .ok()) {
    return absl::UnauthenticatedError(
        "domain policy signature does not verify: the policy was altered or "
        "signed with another key");
  }
  DomainPolicy policy;
  if (!policy.ParseFromString(signed_policy.serialized_policy())) {
    return absl::InvalidArgumentError(
        "signed domain policy body does not parse");
  }
  if (HasUnknownFields(policy)) {
    return absl::InvalidArgumentError(
        "domain policy uses fields this host does not understand (a newer "
        "format?); refusing to apply it in part");
  }
  TAO_RETURN_IF_ERROR(ValidateDomainPolicy(policy));
  return policy;
}

absl::StatusOr<uint64_t> PeekDomainPolicySerial(
    absl::string_view signed_bytes) {
  SignedDomainPolicy signed_policy;
  DomainPolicy policy;
  if (signed_bytes.size() > kMaxDomainPolicySize ||
      !signed_policy.ParseFromArray(signed_bytes.data(),
                                    static_cast<int>(signed_bytes.size())) ||
      !policy.ParseFromString(signed_policy.serialized_policy())) {
    return absl::InvalidArgumentError("signed domain policy does not parse");
  }
  return policy.serial();
}

namespace {

constexpr absl::string_view kSerialMarkTag = "tao-policy-serial-v1";

absl::StatusOr<std::string> SerialMac(absl::string_view key, uint64_t serial) {
  // HKDF-Expand is HMAC-SHA256 keyed by the extracted key over the info.
  TAO_ASSIGN_OR_RETURN(
      SecretString mac,
      HkdfSha256(key, kSerialMarkTag, absl::StrCat(kSerialMarkTag, " ", serial),
                 32));
  return HexEncode(mac.view());
}

}  // namespace

absl::StatusOr<std::unique_ptr<PolicySerialMark>> PolicySerialMark::Open(
    std::string path, SecretString key) {
  if (key.size() < 32) {
    return absl::InvalidArgumentError("the serial mark needs a 32-byte key");
  }
  uint64_t highest = 0;
  auto text = ReadFileToString(path, 4096);
  if (text.ok()) {
    std::vector<absl::string_view> parts = absl::StrSplit(
        absl::StripTrailingAsciiWhitespace(*text), ' ', absl::SkipEmpty());
    uint64_t serial = 0;
    if (parts.size() != 3 || parts[0] != kSerialMarkTag ||
        !absl::SimpleAtoi(parts[1], &serial)) {
      return absl::DataLossError(absl::StrCat(
          path,
          ": not a policy serial mark; remove it only if this host "
          "should forget which policies it accepted"));
    }
    TAO_ASSIGN_OR_RETURN(std::string mac, SerialMac(key.view(), serial));
    if (!ConstantTimeEquals(mac, parts[2])) {
      return absl::DataLossError(
          absl::StrCat(path,
                       ": the policy serial mark was altered (its MAC does not "
                       "verify with this host's keys)"));
    }
    highest = serial;
  } else if (!absl::IsNotFound(text.status())) {
    return text.status();
  }
  return std::unique_ptr<PolicySerialMark>(
      new PolicySerialMark(std::move(path), std::move(key), highest));
}

uint64_t PolicySerialMark::highest() const {
  absl::MutexLock lock(&mu_);
  return highest_;
}

absl::Status PolicySerialMark::Accept(uint64_t serial) {
  absl::MutexLock lock(&mu_);
  if (serial < highest_) {
    return absl::FailedPreconditionError(
        absl::StrCat("policy serial ", serial, " is older than ", highest_,
                     ", the highest this host accepted"));
  }
  if (serial == highest_) return absl::OkStatus();
  TAO_ASSIGN_OR_RETURN(std::string mac, SerialMac(key_.view(), serial));
  TAO_RETURN_IF_ERROR(WriteFileAtomically(
      path_, absl::StrCat(kSerialMarkTag, " ", serial, " ", mac, "\n"), 0600));
  highest_ = serial;
  return absl::OkStatus();
}

}  // namespace tao
