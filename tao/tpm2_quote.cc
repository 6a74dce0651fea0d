#include "tao/tpm2_quote.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tao/byte_reader.h"
#include "tao/crypto.h"
#include "tao/encoding.h"
#include "tao/keys.h"

namespace tao {
namespace {

constexpr uint16_t kAlgSha256 = 0x000b;
constexpr uint32_t kCcPolicyPcr = 0x0000017f;
constexpr uint32_t kCcPolicyAuthorize = 0x0000016a;
constexpr uint32_t kCcPolicyOr = 0x00000171;
constexpr size_t kPcrSelectBytes = 3;
// Bounds on what a quote may hold (the TPM's own limits are smaller).
constexpr uint32_t kMaxSelections = 16;
constexpr size_t kMaxSized = 1024;

std::string ZeroDigest() { return std::string(kSha256Size, '\0'); }

std::string Extend(absl::string_view digest, uint32_t cc,
                   absl::string_view rest) {
  std::string in(digest);
  AppendU32(cc, &in);
  in.append(rest.data(), rest.size());
  return Sha256(in);
}

bool ReadSized(ByteReader& r, absl::string_view* out) {
  uint16_t size = 0;
  return r.ReadU16(&size) && size <= kMaxSized && r.Take(size, out);
}

std::string PadLeft(absl::string_view v, size_t n) {
  return std::string(n - std::min(n, v.size()), '\0') + std::string(v);
}

absl::Status Unauthenticated(absl::string_view check,
                             absl::string_view detail) {
  return absl::UnauthenticatedError(absl::StrCat(check, ": ", detail));
}

}  // namespace

absl::StatusOr<std::vector<uint32_t>> ParsePcrList(absl::string_view text) {
  std::vector<uint32_t> pcrs;
  if (text.empty()) return absl::InvalidArgumentError("empty PCR list");
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    uint32_t pcr = 0;
    if (part.empty() || part.size() > 2 || !absl::SimpleAtoi(part, &pcr) ||
        pcr > kTpm2MaxPcr || (part.size() == 2 && part[0] == '0')) {
      return absl::InvalidArgumentError(
          absl::StrCat("PCR list '", text, "': each PCR is a number from 0 to ",
                       kTpm2MaxPcr));
    }
    if (std::find(pcrs.begin(), pcrs.end(), pcr) != pcrs.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("PCR list '", text, "': PCR ", pcr, " twice"));
    }
    pcrs.push_back(pcr);
  }
  std::sort(pcrs.begin(), pcrs.end());
  return pcrs;
}

std::string PcrListText(const std::vector<uint32_t>& pcrs) {
  return absl::StrJoin(pcrs, ",");
}

std::string MarshalPcrSelection(const std::vector<uint32_t>& pcrs) {
  std::string out;
  AppendU32(1, &out);
  AppendU16(kAlgSha256, &out);
  out.push_back(static_cast<char>(kPcrSelectBytes));
  char select[kPcrSelectBytes] = {0, 0, 0};
  for (uint32_t pcr : pcrs) {
    if (pcr <= kTpm2MaxPcr)
      select[pcr / 8] |= static_cast<char>(1 << (pcr % 8));
  }
  out.append(select, kPcrSelectBytes);
  return out;
}

std::string PcrCompositeDigest(const PcrValues& values) {
  std::string all;
  for (const auto& [index, value] : values) all += value;
  return Sha256(all);
}

absl::StatusOr<std::string> PolicyPcrDigest(const PcrValues& values) {
  std::vector<uint32_t> pcrs;
  for (const auto& [index, value] : values) {
    if (index > kTpm2MaxPcr || value.size() != kSha256Size) {
      return absl::InvalidArgumentError(
          absl::StrCat("PCR ", index, ": an index up to ", kTpm2MaxPcr,
                       " with a 32-byte SHA-256 value"));
    }
    pcrs.push_back(index);
  }
  if (pcrs.empty()) return absl::InvalidArgumentError("no PCRs");
  return Extend(ZeroDigest(), kCcPolicyPcr,
                MarshalPcrSelection(pcrs) + PcrCompositeDigest(values));
}

std::string PolicyAuthorizeDigest(absl::string_view key_name) {
  std::string first = Extend(ZeroDigest(), kCcPolicyAuthorize, key_name);
  return Sha256(first + std::string(kTpm2PolicyRef));
}

absl::StatusOr<std::string> PolicyOrDigest(
    const std::vector<std::string>& branches) {
  if (branches.size() < 2 || branches.size() > 8) {
    return absl::InvalidArgumentError("PolicyOR takes 2 to 8 branches");
  }
  std::string all;
  for (const std::string& b : branches) {
    if (b.size() != kSha256Size) {
      return absl::InvalidArgumentError("a PolicyOR branch is not 32 bytes");
    }
    all += b;
  }
  return Extend(ZeroDigest(), kCcPolicyOr, all);
}

std::string PolicyAuthorizationMessage(absl::string_view approved_policy) {
  return absl::StrCat(approved_policy, kTpm2PolicyRef);
}

std::string PlatformStateText(const PcrValues& values) {
  std::vector<uint32_t> pcrs;
  for (const auto& [index, value] : values) pcrs.push_back(index);
  return absl::StrCat("sha256:", absl::StrJoin(pcrs, "+"), ":",
                      HexEncode(PcrCompositeDigest(values)));
}

bool IsValidPlatformStateText(absl::string_view text) {
  if (text.size() > 128 || !absl::StartsWith(text, "sha256:")) return false;
  text.remove_prefix(7);
  const size_t colon = text.find(':');
  if (colon == absl::string_view::npos) return false;
  std::string list(text.substr(0, colon));
  std::replace(list.begin(), list.end(), '+', ',');
  auto pcrs = ParsePcrList(list);
  if (!pcrs.ok() || PcrListText(*pcrs) != list) return false;
  absl::string_view hex = text.substr(colon + 1);
  return hex.size() == 2 * kSha256Size &&
         std::all_of(hex.begin(), hex.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string DifferingPcrs(const PcrValues& expected, const PcrValues& actual) {
  std::vector<uint32_t> differ;
  for (const auto& [index, value] : expected) {
    auto it = actual.find(index);
    if (it == actual.end() || it->second != value) differ.push_back(index);
  }
  for (const auto& [index, value] : actual) {
    if (expected.count(index) == 0) differ.push_back(index);
  }
  std::sort(differ.begin(), differ.end());
  return absl::StrJoin(differ, ", ");
}

absl::StatusOr<ParsedQuote> ParseTpm2Quote(absl::string_view attest) {
  auto bad = [](absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("quote: the TPMS_ATTEST ", what));
  };
  if (attest.size() > 4 * kMaxSized) return bad("is too long");
  ByteReader r(attest);
  ParsedQuote q;
  absl::string_view signer, extra, digest;
  uint8_t safe = 0;
  absl::string_view safe_byte;
  if (!r.ReadU32(&q.magic) || !r.ReadU16(&q.type) || !ReadSized(r, &signer) ||
      !ReadSized(r, &extra) || !r.ReadU64(&q.clock) ||
      !r.ReadU32(&q.reset_count) || !r.ReadU32(&q.restart_count) ||
      !r.Take(1, &safe_byte) || !r.ReadU64(&q.firmware_version)) {
    return bad("header is truncated");
  }
  safe = static_cast<uint8_t>(safe_byte[0]);
  if (safe > 1) return bad("clock's safe flag is not 0 or 1");
  q.safe = safe == 1;
  q.qualified_signer = std::string(signer);
  q.extra_data = std::string(extra);
  if (q.type != kTpm2StAttestQuote) {
    // Other attest bodies are not parsed; the type check reports it.
    return q;
  }
  uint32_t count = 0;
  if (!r.ReadU32(&count) || count > kMaxSelections) {
    return bad("PCR selection count is truncated or too large");
  }
  for (uint32_t i = 0; i < count; ++i) {
    uint16_t hash = 0;
    absl::string_view size_byte, select;
    if (!r.ReadU16(&hash) || !r.Take(1, &size_byte) ||
        !r.Take(static_cast<uint8_t>(size_byte[0]), &select)) {
      return bad("PCR selection is truncated");
    }
    if (hash != kAlgSha256) {
      for (char c : select) q.other_banks |= c != 0;
      continue;
    }
    for (size_t byte = 0; byte < select.size(); ++byte) {
      for (int bit = 0; bit < 8; ++bit) {
        if ((static_cast<uint8_t>(select[byte]) >> bit) & 1) {
          const uint32_t pcr = static_cast<uint32_t>(byte * 8 + bit);
          if (std::find(q.pcrs.begin(), q.pcrs.end(), pcr) == q.pcrs.end()) {
            q.pcrs.push_back(pcr);
          }
        }
      }
    }
  }
  std::sort(q.pcrs.begin(), q.pcrs.end());
  if (!ReadSized(r, &digest)) return bad("PCR digest is truncated");
  q.pcr_digest = std::string(digest);
  if (r.remaining() != 0) return bad("has trailing bytes");
  return q;
}

absl::Status VerifyRawEcdsaSha256(absl::string_view spki,
                                  absl::string_view message,
                                  absl::string_view signature) {
  absl::Status key_ok = VerifyingKey::CheckSpki(spki);
  if (!key_ok.ok()) return absl::InvalidArgumentError(key_ok.message());
  const unsigned char* p = reinterpret_cast<const unsigned char*>(spki.data());
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())), &EVP_PKEY_free);
  if (key == nullptr) return absl::InvalidArgumentError("key does not parse");
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                              &EVP_MD_CTX_free);
  if (ctx == nullptr || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(),
                                             nullptr, key.get()) != 1) {
    return absl::InternalError("OpenSSL: cannot verify");
  }
  const int ok = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
      signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
      message.size());
  if (ok != 1) {
    return absl::UnauthenticatedError("the signature does not verify");
  }
  return absl::OkStatus();
}

absl::Status VerifyTpm2Quote(absl::string_view ak_spki,
                             absl::string_view attest,
                             absl::string_view signature,
                             absl::string_view expected_extra_data,
                             const PcrValues& pcrs) {
  auto quote = ParseTpm2Quote(attest);
  if (!quote.ok()) return quote.status();
  if (quote->magic != kTpm2GeneratedValue) {
    return Unauthenticated(
        "quote magic",
        absl::StrCat("0x", absl::Hex(quote->magic),
                     " is not TPM_GENERATED_VALUE (0xff544347): the TPM did "
                     "not make these bytes"));
  }
  if (quote->type != kTpm2StAttestQuote) {
    return Unauthenticated(
        "quote type", absl::StrCat("0x", absl::Hex(quote->type),
                                   " is not TPM_ST_ATTEST_QUOTE (0x8018)"));
  }
  if (quote->extra_data != expected_extra_data) {
    return Unauthenticated("quote qualifying data",
                           "it is not the hash of the delegation statement");
  }
  std::vector<uint32_t> listed;
  for (const auto& [index, value] : pcrs) listed.push_back(index);
  if (quote->other_banks || quote->pcrs != listed) {
    return Unauthenticated(
        "quote PCR selection",
        absl::StrCat("the TPM quoted sha256:", PcrListText(quote->pcrs),
                     ", the attestation lists ", PcrListText(listed)));
  }
  for (const auto& [index, value] : pcrs) {
    if (value.size() != kSha256Size) {
      return absl::InvalidArgumentError(
          absl::StrCat("quote: PCR ", index, " is not 32 bytes"));
    }
  }
  if (quote->pcr_digest != PcrCompositeDigest(pcrs)) {
    return Unauthenticated(
        "quote PCR digest",
        "the PCR values listed are not the ones the TPM quoted");
  }
  absl::Status signed_ok = VerifyRawEcdsaSha256(ak_spki, attest, signature);
  if (absl::IsUnauthenticated(signed_ok)) {
    return Unauthenticated(
        "quote signature",
        "it does not verify over the TPMS_ATTEST under the attestation key");
  }
  return signed_ok;
}

absl::StatusOr<std::string> P256SpkiFromPoint(absl::string_view x,
                                              absl::string_view y) {
  if (x.empty() || y.empty() || x.size() > 32 || y.size() > 32) {
    return absl::InvalidArgumentError("a P-256 coordinate is not 1-32 bytes");
  }
  return VerifyingKey::SpkiFromPoint(PadLeft(x, 32), PadLeft(y, 32));
}

absl::StatusOr<std::string> EcdsaDerFromRs(absl::string_view r,
                                           absl::string_view s) {
  if (r.empty() || s.empty() || r.size() > 32 || s.size() > 32) {
    return absl::InvalidArgumentError("an ECDSA r or s is not 1-32 bytes");
  }
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* br = BN_bin2bn(reinterpret_cast<const unsigned char*>(r.data()),
                         static_cast<int>(r.size()), nullptr);
  BIGNUM* bs = BN_bin2bn(reinterpret_cast<const unsigned char*>(s.data()),
                         static_cast<int>(s.size()), nullptr);
  if (sig == nullptr || br == nullptr || bs == nullptr ||
      ECDSA_SIG_set0(sig, br, bs) != 1) {
    BN_free(br);
    BN_free(bs);
    ECDSA_SIG_free(sig);
    return absl::InternalError("OpenSSL: cannot build a signature");
  }
  unsigned char* der = nullptr;
  const int n = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (n <= 0) return absl::InternalError("OpenSSL: cannot encode a signature");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

absl::Status EcdsaRsFromDer(absl::string_view der, std::string* r,
                            std::string* s) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (sig == nullptr) {
    return absl::InvalidArgumentError("the signature is not DER ECDSA");
  }
  const BIGNUM* br = nullptr;
  const BIGNUM* bs = nullptr;
  ECDSA_SIG_get0(sig, &br, &bs);
  unsigned char rb[32], sb[32];
  const bool ok =
      BN_bn2binpad(br, rb, 32) == 32 && BN_bn2binpad(bs, sb, 32) == 32;
  ECDSA_SIG_free(sig);
  if (!ok) return absl::InvalidArgumentError("ECDSA r or s is too large");
  r->assign(reinterpret_cast<char*>(rb), 32);
  s->assign(reinterpret_cast<char*>(sb), 32);
  return absl::OkStatus();
}

}  // namespace tao
