// The TPM 2.0 formats the Tao core reads without a TPM stack: PCR
// selections and policy digests (what a sealed object's policy and a
// domain-signed PCR set are computed from) and quotes (TPMS_ATTEST, checked
// with OpenSSL alone). docs/tpm2-root.md describes how they are used.
// Every byte string here may come from an untrusted TPM or a peer: parsers
// are bounded and never crash. Only the SHA-256 PCR bank is supported.
#ifndef TAO_TAO_TPM2_QUOTE_H_
#define TAO_TAO_TPM2_QUOTE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tao {

// PCR indices a selection may hold (the 24 of a PC client TPM).
inline constexpr uint32_t kTpm2MaxPcr = 23;
// policyRef of the PolicyAuthorize branch: a domain's signature over a PCR
// set covers SHA-256(approvedPolicy || kTpm2PolicyRef).
inline constexpr absl::string_view kTpm2PolicyRef = "tao-tpm2-pcrs-v1";
// TPM_GENERATED_VALUE and TPM_ST_ATTEST_QUOTE.
inline constexpr uint32_t kTpm2GeneratedValue = 0xff544347;
inline constexpr uint16_t kTpm2StAttestQuote = 0x8018;

// SHA-256 PCR values by index: a platform state. Every value is 32 bytes.
using PcrValues = std::map<uint32_t, std::string>;

// Parses "0,2,16" (decimal indices, each at most kTpm2MaxPcr, no
// duplicates) into sorted indices. kInvalidArgument otherwise.
absl::StatusOr<std::vector<uint32_t>> ParsePcrList(absl::string_view text);
// "0,2,16".
std::string PcrListText(const std::vector<uint32_t>& pcrs);

// TPML_PCR_SELECTION with one SHA-256 bank holding `pcrs` (3 select bytes).
std::string MarshalPcrSelection(const std::vector<uint32_t>& pcrs);
// The PCR composite digest a quote and PolicyPCR use: SHA-256 of the
// values concatenated in increasing index order.
std::string PcrCompositeDigest(const PcrValues& values);
// The policy digest of PolicyPCR(selection of `values`, their composite)
// from an empty policy: what a sealed object's PCR branch is, and what a
// domain signs as approvedPolicy. kInvalidArgument for a value that is not
// 32 bytes or an index out of range.
absl::StatusOr<std::string> PolicyPcrDigest(const PcrValues& values);
// PolicyAuthorize(keySign = `key_name`, policyRef = kTpm2PolicyRef) from an
// empty policy.
std::string PolicyAuthorizeDigest(absl::string_view key_name);
// PolicyOR of `branches` (2 to 8 digests of 32 bytes) from an empty policy.
absl::StatusOr<std::string> PolicyOrDigest(
    const std::vector<std::string>& branches);
// The message whose SHA-256 a domain signs to approve `approved_policy`:
// approved_policy || kTpm2PolicyRef.
std::string PolicyAuthorizationMessage(absl::string_view approved_policy);
// The platform state's text: "sha256:<pcr list with '+'>:<hex composite>",
// e.g. "sha256:16+23:ab..". Names it in SameHostState policies and logs.
std::string PlatformStateText(const PcrValues& values);
// True for canonical PlatformStateText: "sha256:", PCR indices (0-23) in
// increasing order joined by '+', ':', 64 lowercase hex digits.
bool IsValidPlatformStateText(absl::string_view text);
// The indices whose values differ between `expected` and `actual` (or are
// missing from either), as "16, 23".
std::string DifferingPcrs(const PcrValues& expected, const PcrValues& actual);

// The fields of a TPMS_ATTEST that a verifier uses.
struct ParsedQuote {
  uint32_t magic = 0;
  uint16_t type = 0;
  std::string qualified_signer;  // TPM2B_NAME contents
  std::string extra_data;        // the qualifying data
  uint64_t clock = 0;
  uint32_t reset_count = 0;
  uint32_t restart_count = 0;
  bool safe = false;
  uint64_t firmware_version = 0;
  std::vector<uint32_t> pcrs;  // the SHA-256 bank's selection
  bool other_banks = false;    // a selection of another bank was present
  std::string pcr_digest;
};

// Parses TPMS_ATTEST bytes of a quote. Does not check magic or type (so a
// verifier can say which check failed). kInvalidArgument for bytes that do
// not parse, trailing bytes, or another attest type's body.
absl::StatusOr<ParsedQuote> ParseTpm2Quote(absl::string_view attest);

// Verifies a quote made by the attestation key `ak_spki` (DER SPKI of a
// P-256 key): magic, type, qualifying data == `expected_extra_data`, the
// selection and PCR digest equal to those of `pcrs`, and the ECDSA-SHA256
// signature (DER) over the TPMS_ATTEST bytes, in that order. Returns
// kInvalidArgument ("quote: ...") for bytes that do not parse and
// kUnauthenticated naming the failed check ("quote magic", "quote type",
// "quote qualifying data", "quote PCR selection", "quote PCR digest",
// "quote signature") otherwise.
absl::Status VerifyTpm2Quote(absl::string_view ak_spki,
                             absl::string_view attest,
                             absl::string_view signature,
                             absl::string_view expected_extra_data,
                             const PcrValues& pcrs);

// Verifies a DER ECDSA-SHA256 signature by a P-256 `spki` over `message`
// with no context (the TPM's formats carry their own). kUnauthenticated if
// it does not verify, kInvalidArgument for a key that does not parse.
absl::Status VerifyRawEcdsaSha256(absl::string_view spki,
                                  absl::string_view message,
                                  absl::string_view signature);

// The DER SPKI of the P-256 point (x, y), each 1 to 32 big-endian bytes
// (left-padded). kInvalidArgument for a point off the curve.
absl::StatusOr<std::string> P256SpkiFromPoint(absl::string_view x,
                                              absl::string_view y);

// Converts between DER ECDSA signatures and (r, s) as 32-byte big-endian
// values (the TPM's TPMS_SIGNATURE_ECDSA). kInvalidArgument if malformed.
absl::StatusOr<std::string> EcdsaDerFromRs(absl::string_view r,
                                           absl::string_view s);
absl::Status EcdsaRsFromDer(absl::string_view der, std::string* r,
                            std::string* s);

}  // namespace tao

#endif  // TAO_TAO_TPM2_QUOTE_H_
