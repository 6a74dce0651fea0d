#include "tao/crypto.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"

namespace tao {
namespace {

// The last OpenSSL error as text, for kInternal statuses.
std::string OpenSslError(absl::string_view what) {
  unsigned long code = ERR_get_error();  // NOLINT(runtime/int)
  char buf[256] = "unknown error";
  if (code != 0) ERR_error_string_n(code, buf, sizeof(buf));
  ERR_clear_error();
  return absl::StrCat(what, ": ", buf);
}

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

// Fetched once: implicit fetches on every EVP_EncryptInit cost measurable time.
const EVP_CIPHER* Aes256Gcm() {
  static const EVP_CIPHER* cipher =
      EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

const EVP_MD* Sha256Md() {
  static const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

// HMAC-SHA256 (RFC 2104) over two digest contexts, reused for every message
// a caller MACs. Wipes its key pads and inner digest when destroyed.
class HmacSha256 {
 public:
  HmacSha256() : inner_(EVP_MD_CTX_new()), outer_(EVP_MD_CTX_new()) {}
  ~HmacSha256() {
    EVP_MD_CTX_free(inner_);
    EVP_MD_CTX_free(outer_);
    OPENSSL_cleanse(pad_, sizeof(pad_));
  }
  HmacSha256(const HmacSha256&) = delete;
  HmacSha256& operator=(const HmacSha256&) = delete;

  // Starts a MAC under `key` (any length: longer than a block is hashed).
  bool Init(absl::string_view key) {
    if (inner_ == nullptr || outer_ == nullptr || Sha256Md() == nullptr) {
      return false;
    }
    unsigned char hashed[kSha256Size];
    if (key.size() > kBlock) {
      unsigned int len = 0;
      if (EVP_Digest(key.data(), key.size(), hashed, &len, Sha256Md(),
                     nullptr) != 1) {
        return false;
      }
      key = absl::string_view(reinterpret_cast<const char*>(hashed), len);
    }
    std::memset(pad_, 0x36, kBlock);
    for (size_t i = 0; i < key.size(); ++i)
      pad_[i] ^= static_cast<unsigned char>(key[i]);
    bool ok = EVP_DigestInit_ex2(inner_, Sha256Md(), nullptr) == 1 &&
              EVP_DigestUpdate(inner_, pad_, kBlock) == 1;
    // Keep the outer pad for Final: ipad ^ opad = 0x36 ^ 0x5c = 0x6a.
    for (size_t i = 0; i < kBlock; ++i) pad_[i] ^= 0x6a;
    OPENSSL_cleanse(hashed, sizeof(hashed));
    return ok;
  }
  bool Update(absl::string_view data) {
    return data.empty() ||
           EVP_DigestUpdate(inner_, data.data(), data.size()) == 1;
  }
  // Writes the 32-byte tag.
  bool Final(unsigned char* tag) {
    unsigned char inner[kSha256Size];
    unsigned int len = 0;
    bool ok = EVP_DigestFinal_ex(inner_, inner, &len) == 1 &&
              EVP_DigestInit_ex2(outer_, Sha256Md(), nullptr) == 1 &&
              EVP_DigestUpdate(outer_, pad_, kBlock) == 1 &&
              EVP_DigestUpdate(outer_, inner, sizeof(inner)) == 1 &&
              EVP_DigestFinal_ex(outer_, tag, &len) == 1;
    OPENSSL_cleanse(inner, sizeof(inner));
    return ok;
  }

 private:
  static constexpr size_t kBlock = 64;  // SHA-256's block size
  EVP_MD_CTX* inner_;
  EVP_MD_CTX* outer_;
  unsigned char pad_[kBlock];
};

constexpr size_t kMaxChunk = size_t{1} << 30;  // EVP_*Update takes an int

// Feeds `len` bytes to EVP_EncryptUpdate or EVP_DecryptUpdate in pieces an
// int can count; `out` is null for associated data.
bool GcmUpdate(EVP_CIPHER_CTX* ctx, bool encrypt, const char* in, size_t len,
               char* out) {
  for (size_t off = 0; off < len; off += kMaxChunk) {
    int n = static_cast<int>(std::min(kMaxChunk, len - off));
    int outl = 0;
    auto* dst =
        out == nullptr ? nullptr : reinterpret_cast<unsigned char*>(out + off);
    auto* src = reinterpret_cast<const unsigned char*>(in + off);
    int ok = encrypt ? EVP_EncryptUpdate(ctx, dst, &outl, src, n)
                     : EVP_DecryptUpdate(ctx, dst, &outl, src, n);
    if (ok != 1) return false;
  }
  return true;
}

absl::Status CheckGcmSizes(absl::string_view key, absl::string_view iv) {
  if (key.size() != kAesGcmKeySize) {
    return absl::InvalidArgumentError("AES-256-GCM key must be 32 bytes");
  }
  if (iv.size() != kAesGcmIvSize) {
    return absl::InvalidArgumentError("AES-256-GCM IV must be 12 bytes");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status FillRandom(char* out, size_t n) {
  while (n > 0) {
    int chunk = static_cast<int>(n > kMaxChunk ? kMaxChunk : n);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out), chunk) != 1) {
      return absl::InternalError(OpenSslError("RAND_bytes"));
    }
    out += chunk;
    n -= static_cast<size_t>(chunk);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RandomBytes(size_t n) {
  if (n > (size_t{1} << 20)) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most 1 MiB of random bytes per call, asked for ", n));
  }
  std::string out(n, '\0');
  absl::Status status = FillRandom(out.data(), n);
  if (!status.ok()) return status;
  return out;
}

std::string Sha256(absl::string_view data) {
  std::string out(kSha256Size, '\0');
  unsigned int len = 0;
  // Sha256Md(), not EVP_sha256(): an implicit fetch per call cost more
  // than hashing an audit record (each record's hash chain link).
  EVP_Digest(data.data(), data.size(),
             reinterpret_cast<unsigned char*>(out.data()), &len, Sha256Md(),
             nullptr);
  return out;
}

struct Sha256Hasher::Impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
};

Sha256Hasher::Sha256Hasher() : impl_(new Impl) {
  EVP_DigestInit_ex(impl_->ctx, Sha256Md(), nullptr);
}

Sha256Hasher::~Sha256Hasher() {
  EVP_MD_CTX_free(impl_->ctx);
  delete impl_;
}

void Sha256Hasher::Update(absl::string_view data) {
  EVP_DigestUpdate(impl_->ctx, data.data(), data.size());
}

std::string Sha256Hasher::Finish() {
  std::string out(kSha256Size, '\0');
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, reinterpret_cast<unsigned char*>(out.data()),
                     &len);
  return out;
}

absl::StatusOr<SecretString> HkdfSha256(absl::string_view secret,
                                        absl::string_view salt,
                                        absl::string_view info, size_t length) {
  if (length == 0 || length > 255 * kSha256Size) {
    return absl::InvalidArgumentError(
        absl::StrCat("HKDF-SHA256 output length ", length, " out of range"));
  }
  // RFC 5869 over HMAC-SHA256 (HmacSha256 below). OpenSSL's own HKDF costs
  // ~2.3 us per call in 3.0 (provider and parameter set-up), more than the
  // hashing itself; this is ~0.7 us. Tests check it against OpenSSL's HKDF.
  HmacSha256 mac;
  unsigned char prk[kSha256Size];
  // An absent salt is HashLen zero bytes, which HMAC treats like no key.
  if (!mac.Init(salt) || !mac.Update(secret) || !mac.Final(prk)) {
    return absl::InternalError(OpenSslError("HKDF-SHA256 extract"));
  }
  absl::string_view prk_view(reinterpret_cast<const char*>(prk), sizeof(prk));
  SecretString out(length);
  unsigned char block[kSha256Size];
  size_t done = 0;
  for (unsigned counter = 1; done < length; ++counter) {
    const unsigned char c = static_cast<unsigned char>(counter);
    bool ok =
        mac.Init(prk_view) &&
        (counter == 1 ||
         mac.Update(absl::string_view(reinterpret_cast<const char*>(block),
                                      sizeof(block)))) &&
        mac.Update(info) &&
        mac.Update(absl::string_view(reinterpret_cast<const char*>(&c), 1)) &&
        mac.Final(block);
    if (!ok) {
      OPENSSL_cleanse(prk, sizeof(prk));
      return absl::InternalError(OpenSslError("HKDF-SHA256 expand"));
    }
    size_t n = std::min(sizeof(block), length - done);
    std::memcpy(out.data() + done, block, n);
    done += n;
  }
  OPENSSL_cleanse(prk, sizeof(prk));
  OPENSSL_cleanse(block, sizeof(block));
  return out;
}

absl::Status AesGcmEncrypt(absl::string_view key, absl::string_view iv,
                           absl::string_view aad, const char* plaintext,
                           size_t len, char* ciphertext, char* tag) {
  absl::Status sizes = CheckGcmSizes(key, iv);
  if (!sizes.ok()) return sizes;
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int outl = 0;
  if (!ctx || Aes256Gcm() == nullptr ||
      EVP_EncryptInit_ex2(ctx.get(), Aes256Gcm(),
                          reinterpret_cast<const unsigned char*>(key.data()),
                          reinterpret_cast<const unsigned char*>(iv.data()),
                          nullptr) != 1) {
    return absl::InternalError(OpenSslError("AES-256-GCM init"));
  }
  if (!GcmUpdate(ctx.get(), /*encrypt=*/true, aad.data(), aad.size(),
                 nullptr)) {
    return absl::InternalError(OpenSslError("AES-256-GCM aad"));
  }
  if (!GcmUpdate(ctx.get(), /*encrypt=*/true, plaintext, len, ciphertext)) {
    return absl::InternalError(OpenSslError("AES-256-GCM encrypt"));
  }
  unsigned char final_block[16];
  if (EVP_EncryptFinal_ex(ctx.get(), final_block, &outl) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG,
                          static_cast<int>(kAesGcmTagSize), tag) != 1) {
    return absl::InternalError(OpenSslError("AES-256-GCM final"));
  }
  return absl::OkStatus();
}

absl::Status AesGcmDecrypt(absl::string_view key, absl::string_view iv,
                           absl::string_view aad, const char* ciphertext,
                           size_t len, absl::string_view tag, char* plaintext) {
  absl::Status sizes = CheckGcmSizes(key, iv);
  if (!sizes.ok()) return sizes;
  if (tag.size() != kAesGcmTagSize) {
    return absl::InvalidArgumentError("AES-256-GCM tag must be 16 bytes");
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int outl = 0;
  if (!ctx || Aes256Gcm() == nullptr ||
      EVP_DecryptInit_ex2(ctx.get(), Aes256Gcm(),
                          reinterpret_cast<const unsigned char*>(key.data()),
                          reinterpret_cast<const unsigned char*>(iv.data()),
                          nullptr) != 1) {
    return absl::InternalError(OpenSslError("AES-256-GCM init"));
  }
  if (!GcmUpdate(ctx.get(), /*encrypt=*/false, aad.data(), aad.size(),
                 nullptr)) {
    return absl::InternalError(OpenSslError("AES-256-GCM aad"));
  }
  if (!GcmUpdate(ctx.get(), /*encrypt=*/false, ciphertext, len, plaintext)) {
    return absl::InternalError(OpenSslError("AES-256-GCM decrypt"));
  }
  unsigned char final_block[16];
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG,
                          static_cast<int>(kAesGcmTagSize),
                          const_cast<char*>(tag.data())) != 1) {
    return absl::InternalError(OpenSslError("AES-256-GCM set tag"));
  }
  if (EVP_DecryptFinal_ex(ctx.get(), final_block, &outl) != 1) {
    ERR_clear_error();
    OPENSSL_cleanse(plaintext, len);
    return absl::DataLossError(
        "authentication failed: the key is wrong or the bytes were altered");
  }
  return absl::OkStatus();
}

absl::Status ValidateScryptParams(const ScryptParams& params) {
  if (params.n < (1u << 10) || params.n > (1u << 22) ||
      (params.n & (params.n - 1)) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "scrypt N=", params.n, " must be a power of two in [2^10, 2^22]"));
  }
  if (params.r < 1 || params.r > 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("scrypt r=", params.r, " must be in [1, 32]"));
  }
  if (params.p < 1 || params.p > 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("scrypt p=", params.p, " must be in [1, 16]"));
  }
  // RFC 7914: N must be less than 2^(128 * r / 8) = 2^(16 r); OpenSSL
  // refuses anything else at derivation time.
  if (params.r < 4 && params.n >= (uint64_t{1} << (16 * params.r))) {
    return absl::InvalidArgumentError(
        absl::StrCat("scrypt N=", params.n, " must be below 2^", 16 * params.r,
                     " for r=", params.r));
  }
  if (128 * uint64_t{params.r} * params.n > kMaxScryptMemory) {
    return absl::InvalidArgumentError(absl::StrCat(
        "scrypt N=", params.n, ", r=", params.r, " needs ",
        (128 * uint64_t{params.r} * params.n) >> 20, " MiB, over the limit of ",
        kMaxScryptMemory >> 20, " MiB"));
  }
  return absl::OkStatus();
}

absl::StatusOr<SecretString> ScryptDerive(absl::string_view passphrase,
                                          absl::string_view salt,
                                          const ScryptParams& params,
                                          size_t length) {
  absl::Status valid = ValidateScryptParams(params);
  if (!valid.ok()) return valid;
  SecretString out(length);
  // 128 * r * N bytes of scratch, plus slack.
  uint64_t max_mem = 130ull * params.r * params.n + (1u << 20);
  if (EVP_PBE_scrypt(passphrase.data(), passphrase.size(),
                     reinterpret_cast<const unsigned char*>(salt.data()),
                     salt.size(), params.n, params.r, params.p, max_mem,
                     reinterpret_cast<unsigned char*>(out.data()),
                     length) != 1) {
    return absl::InternalError(OpenSslError("scrypt"));
  }
  return out;
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() &&
         CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace tao
