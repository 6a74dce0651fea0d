#include "tao/program_signature.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "tao/crypto.h"
#include "tao/encoding.h"
#include "tao/status_macros.h"

namespace tao {

absl::StatusOr<std::string> SignProgram(const SigningKey& publisher,
                                        absl::string_view measurement,
                                        absl::string_view product,
                                        uint64_t version) {
  if (measurement.size() != kSha256Size) {
    return absl::InvalidArgumentError(
        "a measurement is a 32-byte SHA-256 digest");
  }
  // Validates the product name with the same rules as the name will.
  TAO_RETURN_IF_ERROR(
      Subprincipal::Publisher(publisher.verifying_key(), product, version)
          .status());
  ProgramClaim claim;
  claim.set_measurement(std::string(measurement));
  claim.set_product(std::string(product));
  claim.set_version(version);
  ProgramSignature out;
  claim.SerializeToString(out.mutable_serialized_claim());
  TAO_ASSIGN_OR_RETURN(
      std::string signature,
      publisher.Sign(kProgramSignatureContext, out.serialized_claim()));
  out.set_publisher_key(publisher.verifying_key().spki());
  out.set_signature(std::move(signature));
  return out.SerializeAsString();
}

absl::StatusOr<PublisherClaim> VerifyProgramSignature(
    absl::string_view signature, absl::string_view measurement) {
  if (signature.size() > kMaxProgramSignatureSize) {
    return absl::InvalidArgumentError("program signature file is too large");
  }
  ProgramSignature parsed;
  if (!parsed.ParseFromArray(signature.data(),
                             static_cast<int>(signature.size()))) {
    return absl::InvalidArgumentError("program signature does not parse");
  }
  auto key = VerifyingKey::FromSpki(parsed.publisher_key());
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("program signature key: ", key.status().message()));
  }
  if (!key->Verify(kProgramSignatureContext, parsed.serialized_claim(),
                   parsed.signature())
           .ok()) {
    return absl::UnauthenticatedError(
        "program signature does not verify under its publisher key");
  }
  ProgramClaim claim;
  if (!claim.ParseFromString(parsed.serialized_claim())) {
    return absl::InvalidArgumentError("signed program claim does not parse");
  }
  if (claim.measurement() != measurement) {
    return absl::UnauthenticatedError(absl::StrCat(
        "program signature is for sha256:", HexEncode(claim.measurement()),
        ", but the program measures sha256:", HexEncode(measurement)));
  }
  PublisherClaim out{key->spki(), claim.product(), claim.version()};
  // Checks the product name against the naming rules.
  TAO_RETURN_IF_ERROR(PublisherSubprincipal(out).status());
  return out;
}

absl::StatusOr<Subprincipal> PublisherSubprincipal(
    const PublisherClaim& claim) {
  TAO_ASSIGN_OR_RETURN(VerifyingKey key,
                       VerifyingKey::FromSpki(claim.publisher_spki));
  return Subprincipal::Publisher(key, claim.product, claim.version);
}

}  // namespace tao
