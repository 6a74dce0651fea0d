#include "seal_policy/codec.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tao/principal.h"
#include "tao/tpm2_quote.h"

namespace tao {
namespace {

absl::Status CheckProduct(absl::string_view product) {
  if (IsValidProductName(product)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "SameSigner product '", absl::CHexEscape(product.substr(0, 40)),
      "' must be 1-128 characters of [A-Za-z0-9._-]"));
}

absl::Status CheckLabel(absl::string_view label) {
  if (IsValidDomainRuleLabel(label)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("DomainRule label '", absl::CHexEscape(label.substr(0, 40)),
                   "' must be 1-128 characters of [A-Za-z0-9._:/-]"));
}

absl::Status CheckState(absl::string_view state) {
  if (IsValidPlatformStateText(state)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "SameHostState state '", absl::CHexEscape(state.substr(0, 40)),
      "' must be sha256:<PCRs in increasing order, joined by +>:<64 "
      "lowercase hex digits>"));
}

absl::Status CheckSigner(absl::string_view signer) {
  auto principal = Principal::Parse(signer);
  if (!principal.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("SameSigner signer: ", principal.status().message()));
  }
  if (!principal->subprincipals().empty()) {
    return absl::InvalidArgumentError(
        "SameSigner signer must be a bare key principal");
  }
  return absl::OkStatus();
}

absl::Status Encode(const SealPolicy& policy, int depth, int* leaves,
                    std::string* out) {
  if (depth > kMaxSealPolicyDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat("seal policy nests deeper than ", kMaxSealPolicyDepth));
  }
  if (policy.kind_case() != SealPolicy::kAllOf &&
      policy.kind_case() != SealPolicy::kAnyOf &&
      ++*leaves > kMaxSealPolicyLeaves) {
    return absl::InvalidArgumentError(absl::StrCat(
        "seal policy has more than ", kMaxSealPolicyLeaves, " leaves"));
  }
  switch (policy.kind_case()) {
    case SealPolicy::kSameProgram:
      out->append("SameProgram");
      return absl::OkStatus();
    case SealPolicy::kSameMeasurement:
      out->append("SameMeasurement");
      return absl::OkStatus();
    case SealPolicy::kSameHost:
      out->append("SameHost");
      return absl::OkStatus();
    case SealPolicy::kSameSigner: {
      const SameSigner& s = policy.same_signer();
      absl::Status ok = CheckSigner(s.signer());
      if (ok.ok()) ok = CheckProduct(s.product());
      if (!ok.ok()) return ok;
      absl::StrAppend(out, "SameSigner(", s.signer(), ",", s.product(), ",",
                      s.min_version(), ")");
      return absl::OkStatus();
    }
    case SealPolicy::kDomainRule: {
      absl::Status ok = CheckLabel(policy.domain_rule().label());
      if (!ok.ok()) return ok;
      absl::StrAppend(out, "DomainRule(", policy.domain_rule().label(), ")");
      return absl::OkStatus();
    }
    case SealPolicy::kSameHostState: {
      absl::Status ok = CheckState(policy.same_host_state().state());
      if (!ok.ok()) return ok;
      absl::StrAppend(out, "SameHostState(", policy.same_host_state().state(),
                      ")");
      return absl::OkStatus();
    }
    case SealPolicy::kAllOf:
    case SealPolicy::kAnyOf: {
      bool all = policy.kind_case() == SealPolicy::kAllOf;
      const auto& children =
          all ? policy.all_of().policies() : policy.any_of().policies();
      if (children.empty() || children.size() > kMaxSealPolicyChildren) {
        return absl::InvalidArgumentError(
            absl::StrCat(all ? "AllOf" : "AnyOf", " needs 1 to ",
                         kMaxSealPolicyChildren, " policies"));
      }
      out->append(all ? "AllOf(" : "AnyOf(");
      for (int i = 0; i < children.size(); ++i) {
        if (i > 0) out->push_back(',');
        absl::Status ok = Encode(children[i], depth + 1, leaves, out);
        if (!ok.ok()) return ok;
      }
      out->push_back(')');
      return absl::OkStatus();
    }
    case SealPolicy::KIND_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("seal policy has no kind set");
}

// A recursive-descent parser over the canonical text.
class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  absl::StatusOr<SealPolicy> ParseTop() {
    SealPolicy policy;
    absl::Status ok = ParsePolicy(0, &policy);
    if (!ok.ok()) return ok;
    if (pos_ != text_.size())
      return Error("trailing characters after the policy");
    return policy;
  }

 private:
  absl::Status Error(absl::string_view why) const {
    return absl::InvalidArgumentError(
        absl::StrCat("seal policy at offset ", pos_, ": ", why));
  }

  bool Consume(absl::string_view token) {
    if (!absl::StartsWith(text_.substr(pos_), token)) return false;
    pos_ += token.size();
    return true;
  }

  absl::Status Expect(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return absl::OkStatus();
    }
    return Error(absl::StrCat("expected '", std::string(1, c), "'"));
  }

  // Reads characters until one of `stops` (not consumed).
  absl::string_view ReadUntil(absl::string_view stops) {
    size_t start = pos_;
    while (pos_ < text_.size() &&
           stops.find(text_[pos_]) == absl::string_view::npos) {
      ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }

  absl::Status ParsePolicy(int depth, SealPolicy* out) {
    if (depth > kMaxSealPolicyDepth) {
      return Error(
          absl::StrCat("policy nests deeper than ", kMaxSealPolicyDepth));
    }
    size_t start = pos_;
    absl::string_view kind = ReadUntil("(),");
    if (kind != "AllOf" && kind != "AnyOf" &&
        ++leaves_ > kMaxSealPolicyLeaves) {
      pos_ = start;
      return Error(absl::StrCat("more than ", kMaxSealPolicyLeaves,
                                " leaves in the policy"));
    }
    if (kind == "SameProgram") {
      out->mutable_same_program();
      return absl::OkStatus();
    }
    if (kind == "SameMeasurement") {
      out->mutable_same_measurement();
      return absl::OkStatus();
    }
    if (kind == "SameHost") {
      out->mutable_same_host();
      return absl::OkStatus();
    }
    if (kind == "SameSigner")
      return ParseSameSigner(out->mutable_same_signer());
    if (kind == "SameHostState") {
      absl::Status ok = Expect('(');
      if (!ok.ok()) return ok;
      size_t state_at = pos_;
      absl::string_view state = ReadUntil("(),");
      ok = CheckState(state);
      if (!ok.ok()) {
        pos_ = state_at;
        return Error(ok.message());
      }
      out->mutable_same_host_state()->set_state(std::string(state));
      return Expect(')');
    }
    if (kind == "DomainRule") {
      absl::Status ok = Expect('(');
      if (!ok.ok()) return ok;
      size_t label_at = pos_;
      absl::string_view label = ReadUntil("(),");
      ok = CheckLabel(label);
      if (!ok.ok()) {
        pos_ = label_at;
        return Error(ok.message());
      }
      out->mutable_domain_rule()->set_label(std::string(label));
      return Expect(')');
    }
    if (kind == "AllOf" || kind == "AnyOf") {
      auto* children = kind == "AllOf"
                           ? out->mutable_all_of()->mutable_policies()
                           : out->mutable_any_of()->mutable_policies();
      absl::Status ok = Expect('(');
      if (!ok.ok()) return ok;
      while (true) {
        if (children->size() >= kMaxSealPolicyChildren) {
          return Error(absl::StrCat("more than ", kMaxSealPolicyChildren,
                                    " policies in ", kind));
        }
        ok = ParsePolicy(depth + 1, children->Add());
        if (!ok.ok()) return ok;
        if (pos_ < text_.size() && text_[pos_] == ',') {
          ++pos_;
          continue;
        }
        return Expect(')');
      }
    }
    pos_ = start;
    return Error(absl::StrCat(
        "unknown policy kind '", absl::CHexEscape(kind.substr(0, 40)),
        "' (known: SameProgram, SameMeasurement, SameSigner, SameHost, "
        "SameHostState, DomainRule, AllOf, AnyOf)"));
  }

  absl::Status ParseSameSigner(SameSigner* out) {
    absl::Status ok = Expect('(');
    if (!ok.ok()) return ok;
    size_t signer_at = pos_;
    if (!Consume("key("))
      return Error("SameSigner needs a key(ecdsa-p256:...) signer");
    ReadUntil("(),");
    ok = Expect(')');
    if (!ok.ok()) return ok;
    absl::string_view signer = text_.substr(signer_at, pos_ - signer_at);
    ok = CheckSigner(signer);
    if (!ok.ok()) {
      pos_ = signer_at;
      return Error(ok.message());
    }
    ok = Expect(',');
    if (!ok.ok()) return ok;
    size_t product_at = pos_;
    absl::string_view product = ReadUntil("(),");
    ok = CheckProduct(product);
    if (!ok.ok()) {
      pos_ = product_at;
      return Error(ok.message());
    }
    ok = Expect(',');
    if (!ok.ok()) return ok;
    size_t version_at = pos_;
    absl::string_view version = ReadUntil("(),");
    uint64_t min_version = 0;
    if (!ParseCanonicalDecimal(version, &min_version)) {
      pos_ = version_at;
      return Error(
          "min_version must be a decimal integer without leading zeros");
    }
    out->set_signer(std::string(signer));
    out->set_product(std::string(product));
    out->set_min_version(min_version);
    return Expect(')');
  }

  absl::string_view text_;
  size_t pos_ = 0;
  int leaves_ = 0;  // policies parsed so far that are not AllOf or AnyOf
};

}  // namespace

absl::StatusOr<std::string> EncodeSealPolicy(const SealPolicy& policy) {
  std::string out;
  int leaves = 0;
  absl::Status ok = Encode(policy, 0, &leaves, &out);
  if (!ok.ok()) return ok;
  if (out.size() > kMaxSealPolicyTextSize) {
    return absl::InvalidArgumentError("encoded seal policy exceeds 64 KiB");
  }
  return out;
}

absl::StatusOr<SealPolicy> DecodeSealPolicy(absl::string_view bytes) {
  if (bytes.empty()) {
    return absl::InvalidArgumentError(
        "seal policy at offset 0: the policy is empty");
  }
  if (bytes.size() > kMaxSealPolicyTextSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "seal policy at offset ", kMaxSealPolicyTextSize, ": exceeds 64 KiB"));
  }
  return Parser(bytes).ParseTop();
}

bool IsValidDomainRuleLabel(absl::string_view label) {
  return !label.empty() && label.size() <= 128 &&
         std::all_of(label.begin(), label.end(), [](char c) {
           return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                  c == '.' || c == '_' || c == '-' || c == ':' || c == '/';
         });
}

SealPolicy SameProgramPolicy() {
  SealPolicy p;
  p.mutable_same_program();
  return p;
}

SealPolicy SameMeasurementPolicy() {
  SealPolicy p;
  p.mutable_same_measurement();
  return p;
}

SealPolicy SameHostPolicy() {
  SealPolicy p;
  p.mutable_same_host();
  return p;
}

SealPolicy SameHostStatePolicy(absl::string_view state) {
  SealPolicy p;
  p.mutable_same_host_state()->set_state(std::string(state));
  return p;
}

SealPolicy DomainRulePolicy(absl::string_view label) {
  SealPolicy p;
  p.mutable_domain_rule()->set_label(std::string(label));
  return p;
}

SealPolicy SameSignerPolicy(absl::string_view signer, absl::string_view product,
                            uint64_t min_version) {
  SealPolicy p;
  p.mutable_same_signer()->set_signer(std::string(signer));
  p.mutable_same_signer()->set_product(std::string(product));
  p.mutable_same_signer()->set_min_version(min_version);
  return p;
}

}  // namespace tao
