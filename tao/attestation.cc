#include "tao/attestation.h"

#include <algorithm>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tao {
namespace {

constexpr absl::string_view kFailurePayloadUrl = "tao/attestation-failure";

absl::Status Fail(AttestationFailure failure, absl::string_view detail) {
  std::string message =
      absl::StrCat(AttestationFailureName(failure), ": ", detail);
  absl::Status status = failure == AttestationFailure::kMalformed
                            ? absl::InvalidArgumentError(message)
                            : absl::UnauthenticatedError(message);
  status.SetPayload(kFailurePayloadUrl,
                    absl::Cord(AttestationFailureName(failure)));
  return status;
}

std::string TimeText(absl::Time t) {
  if (t == absl::InfinitePast()) return "-inf";
  if (t == absl::InfiniteFuture()) return "+inf";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

}  // namespace

absl::string_view AttestationFailureName(AttestationFailure failure) {
  switch (failure) {
    case AttestationFailure::kMalformed:
      return "malformed";
    case AttestationFailure::kBadSignature:
      return "bad-signature";
    case AttestationFailure::kUntrustedSigner:
      return "untrusted-signer";
    case AttestationFailure::kSpeakerNotSigner:
      return "speaker-not-signer";
    case AttestationFailure::kBadDelegation:
      return "bad-delegation";
    case AttestationFailure::kExpired:
      return "expired";
    case AttestationFailure::kNotYetValid:
      return "not-yet-valid";
    case AttestationFailure::kChainTooDeep:
      return "chain-too-deep";
  }
  return "unknown";
}

std::optional<AttestationFailure> GetAttestationFailure(
    const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kFailurePayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  for (int i = 0; i <= static_cast<int>(AttestationFailure::kChainTooDeep);
       ++i) {
    auto failure = static_cast<AttestationFailure>(i);
    if (*payload == AttestationFailureName(failure)) return failure;
  }
  return std::nullopt;
}

absl::StatusOr<Attestation> SignStatement(const Statement& statement,
                                          const SigningKey& key,
                                          const Attestation* delegation) {
  auto speaker = Principal::Parse(statement.speaker());
  if (!speaker.ok()) return speaker.status();
  Attestation attestation;
  if (!statement.SerializeToString(
          attestation.mutable_serialized_statement())) {
    return absl::InternalError("cannot serialize statement");
  }
  auto signature =
      key.Sign(kAttestationContext, attestation.serialized_statement());
  if (!signature.ok()) return signature.status();
  attestation.set_signer_key(key.verifying_key().spki());
  attestation.set_signature(std::move(signature).value());
  if (delegation != nullptr) *attestation.mutable_delegation() = *delegation;
  return attestation;
}

AttestationVerifier::AttestationVerifier(
    std::vector<VerifyingKey> trusted_roots, const Clock& clock)
    : roots_(std::move(trusted_roots)), clock_(clock) {}

bool AttestationVerifier::IsTrusted(const std::string& spki) const {
  for (const VerifyingKey& root : roots_) {
    if (root.spki() == spki) return true;
  }
  return false;
}

absl::StatusOr<VerifiedStatement> AttestationVerifier::VerifyLink(
    const Attestation& attestation, int depth) const {
  if (depth > kMaxDelegationDepth) {
    return Fail(
        AttestationFailure::kChainTooDeep,
        absl::StrCat("more than ", kMaxDelegationDepth, " delegations"));
  }
  std::string where =
      depth == 0 ? "attestation" : absl::StrCat("delegation ", depth);
  Statement statement;
  if (!statement.ParseFromString(attestation.serialized_statement())) {
    return Fail(AttestationFailure::kMalformed,
                absl::StrCat(where, ": statement bytes do not parse"));
  }
  // A signer that is a trusted root needs no decoding: reuse the root's key.
  const VerifyingKey* root_key = nullptr;
  for (const VerifyingKey& root : roots_) {
    if (root.spki() == attestation.signer_key()) root_key = &root;
  }
  absl::StatusOr<VerifyingKey> signer =
      root_key != nullptr ? absl::StatusOr<VerifyingKey>(*root_key)
                          : VerifyingKey::FromSpki(attestation.signer_key());
  if (!signer.ok()) {
    return Fail(
        AttestationFailure::kMalformed,
        absl::StrCat(where, ": signer key: ", signer.status().message()));
  }
  if (!signer
           ->Verify(kAttestationContext, attestation.serialized_statement(),
                    attestation.signature())
           .ok()) {
    return Fail(AttestationFailure::kBadSignature,
                absl::StrCat(where,
                             ": the signature does not verify over the "
                             "statement bytes under the signer key"));
  }
  auto speaker = Principal::Parse(statement.speaker());
  if (!speaker.ok()) {
    return Fail(AttestationFailure::kMalformed,
                absl::StrCat(where, ": speaker: ", speaker.status().message()));
  }
  absl::Time not_before = statement.has_not_before()
                              ? absl::FromUnixSeconds(statement.not_before())
                              : absl::InfinitePast();
  absl::Time not_after = statement.has_not_after()
                             ? absl::FromUnixSeconds(statement.not_after())
                             : absl::InfiniteFuture();
  if (not_before > not_after) {
    return Fail(AttestationFailure::kMalformed,
                absl::StrCat(where, ": not_before is after not_after"));
  }
  if (statement.has_delegation()) {
    auto delegate = Principal::Parse(statement.delegation().delegate());
    auto delegator = Principal::Parse(statement.delegation().delegator());
    if (!delegate.ok() || !delegator.ok()) {
      return Fail(AttestationFailure::kMalformed,
                  absl::StrCat(where, ": delegation names do not parse"));
    }
    if (!delegate->subprincipals().empty()) {
      return Fail(AttestationFailure::kMalformed,
                  absl::StrCat(where, ": the delegate must be a bare key"));
    }
    if (!delegator->IsSelfOrSubprincipalOf(*speaker)) {
      return Fail(AttestationFailure::kBadDelegation,
                  absl::StrCat(where, ": ", speaker->text(),
                               " cannot delegate for ", delegator->text(),
                               ", which is not itself or its subprincipal"));
    }
  }

  Principal signer_name = Principal::ForKey(*signer);
  if (attestation.has_delegation()) {
    auto parent = VerifyLink(attestation.delegation(), depth + 1);
    if (!parent.ok()) return parent.status();
    if (!parent->statement.has_delegation()) {
      return Fail(AttestationFailure::kBadDelegation,
                  absl::StrCat("delegation ", depth + 1,
                               ": its statement is not a delegation"));
    }
    // Parsed and checked above, when the parent link was verified.
    Principal delegate =
        *Principal::Parse(parent->statement.delegation().delegate());
    Principal delegator =
        *Principal::Parse(parent->statement.delegation().delegator());
    if (delegate != signer_name) {
      return Fail(AttestationFailure::kBadDelegation,
                  absl::StrCat("delegation ", depth + 1, " delegates to ",
                               delegate.text(), ", but ", where,
                               " is signed by ", signer_name.text()));
    }
    if (!speaker->IsSelfOrSubprincipalOf(delegator)) {
      return Fail(
          AttestationFailure::kBadDelegation,
          absl::StrCat(where, ": speaker ", speaker->text(),
                       " is not under the delegator ", delegator.text()));
    }
    return VerifiedStatement{std::move(statement),
                             *std::move(speaker),
                             std::max(not_before, parent->not_before),
                             std::min(not_after, parent->not_after),
                             parent->root,
                             parent->delegations + 1};
  }
  if (!speaker->IsSelfOrSubprincipalOf(signer_name)) {
    return Fail(
        AttestationFailure::kSpeakerNotSigner,
        absl::StrCat(where, ": speaker ", speaker->text(),
                     " is not the signer ", signer_name.text(),
                     " nor its subprincipal, and no delegation is attached"));
  }
  if (!IsTrusted(signer->spki())) {
    return Fail(AttestationFailure::kUntrustedSigner,
                absl::StrCat(where, ": signer ", signer_name.text(),
                             " is not a trusted root"));
  }
  return VerifiedStatement{std::move(statement),
                           *std::move(speaker),
                           not_before,
                           not_after,
                           std::move(signer_name),
                           0};
}

absl::StatusOr<VerifiedStatement> AttestationVerifier::Verify(
    const Attestation& attestation) const {
  auto verified = VerifyLink(attestation, 0);
  if (!verified.ok()) return verified;
  // Bounds are whole seconds and inclusive: not_after = T is valid until
  // T + 1s.
  absl::Time now = absl::FromUnixSeconds(absl::ToUnixSeconds(clock_.Now()));
  if (now < verified->not_before) {
    return Fail(AttestationFailure::kNotYetValid,
                absl::StrCat("valid from ", TimeText(verified->not_before),
                             ", now is ", TimeText(now)));
  }
  if (now > verified->not_after) {
    return Fail(AttestationFailure::kExpired,
                absl::StrCat("valid until ", TimeText(verified->not_after),
                             ", now is ", TimeText(now)));
  }
  return verified;
}

absl::StatusOr<VerifiedStatement> AttestationVerifier::VerifySerialized(
    absl::string_view bytes) const {
  if (bytes.size() > kMaxAttestationSize) {
    return Fail(
        AttestationFailure::kMalformed,
        absl::StrCat("attestation is ", bytes.size(),
                     " bytes, over the limit of ", kMaxAttestationSize));
  }
  Attestation attestation;
  if (!attestation.ParseFromArray(bytes.data(),
                                  static_cast<int>(bytes.size()))) {
    return Fail(AttestationFailure::kMalformed,
                "attestation bytes do not parse");
  }
  return Verify(attestation);
}

std::string DescribeStatement(const Statement& statement) {
  std::string window =
      absl::StrCat("[",
                   statement.has_not_before()
                       ? TimeText(absl::FromUnixSeconds(statement.not_before()))
                       : "-inf",
                   ", ",
                   statement.has_not_after()
                       ? TimeText(absl::FromUnixSeconds(statement.not_after()))
                       : "+inf",
                   "]");
  std::string message;
  if (statement.has_delegation()) {
    message = absl::StrCat(
        absl::CHexEscape(statement.delegation().delegate()), " speaksfor ",
        absl::CHexEscape(statement.delegation().delegator()));
  } else if (statement.has_predicate()) {
    std::vector<std::string> args;
    for (const std::string& arg : statement.predicate().args()) {
      args.push_back(absl::StrCat("\"", absl::CHexEscape(arg), "\""));
    }
    message = absl::StrCat(absl::CHexEscape(statement.predicate().name()), "(",
                           absl::StrJoin(args, ", "), ")");
  } else {
    message = "(empty message)";
  }
  return absl::StrCat(absl::CHexEscape(statement.speaker()), " says ", message,
                      " valid ", window);
}

}  // namespace tao
