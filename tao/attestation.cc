#include "tao/attestation.h"

#include <algorithm>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tao/crypto.h"

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

// "attestation" for the leaf (depth 0), "delegation N" for the Nth link.
std::string LinkName(int depth) {
  return depth == 0 ? "attestation" : absl::StrCat("delegation ", depth);
}

// The link of the chain whose own window excludes `now` by the tightest
// bound (the one that ends first, or begins last; on a tie, the one nearer
// the root), named as in LinkName, with its window; "" if none does.
std::string LinkOutsideWindow(const Attestation& attestation, absl::Time now) {
  const Attestation* link = &attestation;
  std::string blamed;
  absl::Time tightest;
  for (int depth = 0; depth <= kMaxDelegationDepth; ++depth) {
    Statement statement;
    if (statement.ParseFromString(link->serialized_statement())) {
      absl::Time from = statement.has_not_before()
                            ? absl::FromUnixSeconds(statement.not_before())
                            : absl::InfinitePast();
      absl::Time until = statement.has_not_after()
                             ? absl::FromUnixSeconds(statement.not_after())
                             : absl::InfiniteFuture();
      // Bounds are whole seconds, so links made in the same second tie; a
      // tie goes to the link nearer the root, which bounds those below it.
      const bool early = now < from && (blamed.empty() || from >= tightest);
      const bool late = now > until && (blamed.empty() || until <= tightest);
      if (early || late) {
        tightest = early ? from : until;
        blamed = absl::StrCat(LinkName(depth), " (valid ", TimeText(from),
                              " to ", TimeText(until), ")");
      }
    }
    if (!link->has_delegation()) break;
    link = &link->delegation();
  }
  return blamed;
}

// Checks a link's TPM quote and returns its PCRs in `pcrs`.
// kInvalidArgument for a malformed one, kUnauthenticated naming the check.
absl::Status VerifyQuoteLink(const Attestation& attestation, PcrValues* pcrs) {
  const Tpm2Quote& quote = attestation.tpm2_quote();
  if (!attestation.signature().empty()) {
    return absl::InvalidArgumentError(
        "a link with a TPM quote carries no other signature");
  }
  if (quote.pcrs().empty() ||
      quote.pcrs().size() > static_cast<int>(kTpm2MaxPcr) + 1) {
    return absl::InvalidArgumentError("quote: 1 to 24 PCRs are listed");
  }
  int64_t last = -1;
  for (const Tpm2Pcr& pcr : quote.pcrs()) {
    if (pcr.index() > kTpm2MaxPcr ||
        static_cast<int64_t>(pcr.index()) <= last ||
        pcr.value().size() != kSha256Size) {
      return absl::InvalidArgumentError(
          "quote: PCRs must be listed in increasing order, each up to 23 with "
          "a 32-byte value");
    }
    last = pcr.index();
    (*pcrs)[pcr.index()] = pcr.value();
  }
  return VerifyTpm2Quote(attestation.signer_key(), quote.attest(),
                         quote.signature(),
                         Sha256(attestation.serialized_statement()), *pcrs);
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
    case AttestationFailure::kBadQuote:
      return "bad-quote";
  }
  return "unknown";
}

std::optional<AttestationFailure> GetAttestationFailure(
    const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kFailurePayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  for (int i = 0; i <= static_cast<int>(AttestationFailure::kBadQuote); ++i) {
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
  std::string where = LinkName(depth);
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
  PcrValues quoted_pcrs;
  if (attestation.has_tpm2_quote()) {
    absl::Status quote = VerifyQuoteLink(attestation, &quoted_pcrs);
    if (!quote.ok()) {
      return Fail(absl::IsInvalidArgument(quote)
                      ? AttestationFailure::kMalformed
                      : AttestationFailure::kBadQuote,
                  absl::StrCat(where, ": ", quote.message()));
    }
  } else if (!signer
                  ->Verify(kAttestationContext,
                           attestation.serialized_statement(),
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

  Principal signer_name = attestation.has_tpm2_quote()
                              ? Principal::ForTpm2(*signer)
                              : Principal::ForKey(*signer);
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
                             parent->delegations + 1,
                             parent->platform_pcrs};
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
                           signer_name.RootKey(),
                           0,
                           std::move(quoted_pcrs)};
}

absl::StatusOr<VerifiedStatement> AttestationVerifier::Verify(
    const Attestation& attestation) const {
  auto verified = VerifyLink(attestation, 0);
  if (!verified.ok()) return verified;
  // Bounds are whole seconds and inclusive: not_after = T is valid until
  // T + 1s.
  absl::Time now = absl::FromUnixSeconds(absl::ToUnixSeconds(clock_.Now()));
  // Name the link whose window is to blame (the chain's window is the
  // intersection of all of them).
  if (now < verified->not_before) {
    return Fail(AttestationFailure::kNotYetValid,
                absl::StrCat(LinkOutsideWindow(attestation, now),
                             ": the chain is valid from ",
                             TimeText(verified->not_before), ", now is ",
                             TimeText(now)));
  }
  if (now > verified->not_after) {
    return Fail(AttestationFailure::kExpired,
                absl::StrCat(LinkOutsideWindow(attestation, now),
                             ": the chain is valid until ",
                             TimeText(verified->not_after), ", now is ",
                             TimeText(now)));
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
