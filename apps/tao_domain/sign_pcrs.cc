#include "apps/tao_domain/sign_pcrs.h"

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tao/crypto.h"
#include "tao/status_macros.h"
#include "tao/tpm2_quote.h"

namespace tao {

absl::StatusOr<Tpm2PcrAuthorization> SignPcrSet(
    const SigningKey& policy_key, const std::vector<std::string>& pcr_args) {
  if (pcr_args.empty()) {
    return absl::InvalidArgumentError("sign-pcrs needs INDEX=HEX arguments");
  }
  PcrValues values;
  for (const std::string& arg : pcr_args) {
    const size_t eq = arg.find('=');
    uint32_t index = 0;
    const std::string hex = eq == std::string::npos ? "" : arg.substr(eq + 1);
    if (eq == std::string::npos ||
        !absl::SimpleAtoi(arg.substr(0, eq), &index) || index > kTpm2MaxPcr ||
        hex.size() != 2 * kSha256Size ||
        hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", arg, "': expected INDEX=HEX (PCR 0-23, 64 hex digits)"));
    }
    if (values.count(index) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("PCR ", index, " twice"));
    }
    values[index] = absl::HexStringToBytes(hex);
  }
  TAO_ASSIGN_OR_RETURN(std::string approved, PolicyPcrDigest(values));
  TAO_ASSIGN_OR_RETURN(
      std::string signature,
      policy_key.SignForeignFormat(PolicyAuthorizationMessage(approved)));
  Tpm2PcrAuthorization out;
  for (const auto& [index, value] : values) {
    Tpm2Pcr* pcr = out.add_pcrs();
    pcr->set_index(index);
    pcr->set_value(value);
  }
  out.set_signature(std::move(signature));
  return out;
}

}  // namespace tao
