#include "tao/keys.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tao/p256_spki.h"

namespace tao {
namespace internal {
void PkeyDeleter::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
}  // namespace internal

namespace {

using internal::PkeyPtr;

std::string OpenSslError(absl::string_view what) {
  unsigned long code = ERR_get_error();  // NOLINT(runtime/int)
  char buf[256] = "unknown error";
  if (code != 0) ERR_error_string_n(code, buf, sizeof(buf));
  ERR_clear_error();
  return absl::StrCat(what, ": ", buf);
}

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};

absl::Status CheckP256(EVP_PKEY* key) {
  char group[64] = {0};
  size_t len = 0;
  if (!EVP_PKEY_is_a(key, "EC") ||
      EVP_PKEY_get_group_name(key, group, sizeof(group), &len) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("key is not an elliptic-curve key");
  }
  if (std::strcmp(group, "prime256v1") != 0 &&
      std::strcmp(group, "P-256") != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("key is on curve ", group, ", not P-256"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> EncodeSpki(EVP_PKEY* key) {
  unsigned char* buf = nullptr;
  int len = i2d_PUBKEY(key, &buf);
  if (len <= 0) return absl::InternalError(OpenSslError("encode public key"));
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(len));
  OPENSSL_free(buf);
  return out;
}

absl::Status SignatureContextOk(absl::string_view context) {
  if (context.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError("signature context contains a NUL byte");
  }
  return absl::OkStatus();
}

}  // namespace

namespace {

const EC_GROUP* P256Group() {
  static const EC_GROUP* group =
      EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  return group;
}

// True if `der` is a canonical P-256 SPKI whose point is on the curve.
bool IsCanonicalP256Spki(absl::string_view der) {
  if (der.size() != kP256SpkiSize ||
      std::memcmp(der.data(), kP256SpkiHeader, sizeof(kP256SpkiHeader)) != 0 ||
      P256Group() == nullptr) {
    return false;
  }
  EC_POINT* point = EC_POINT_new(P256Group());
  bool ok =
      point != nullptr &&
      EC_POINT_oct2point(
          P256Group(), point,
          reinterpret_cast<const unsigned char*>(der.data()) + kP256PointOffset,
          kP256PointSize, nullptr) == 1;
  EC_POINT_free(point);
  if (!ok) ERR_clear_error();
  return ok;
}

// An EVP_PKEY for a point that IsCanonicalP256Spki accepted.
EVP_PKEY* P256KeyFromPoint(absl::string_view der) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  if (ctx == nullptr) return nullptr;
  char group[] = "prime256v1";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(
          OSSL_PKEY_PARAM_PUB_KEY,
          const_cast<char*>(der.data() + kP256PointOffset), kP256PointSize),
      OSSL_PARAM_construct_end()};
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_fromdata_init(ctx) != 1 ||
      EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    key = nullptr;
    ERR_clear_error();
  }
  EVP_PKEY_CTX_free(ctx);
  return key;
}

// The DER signature over what `ctx` was given since its DigestSignInit.
absl::StatusOr<std::string> FinishSignature(EVP_MD_CTX* ctx) {
  size_t len = 0;
  if (EVP_DigestSignFinal(ctx, nullptr, &len) != 1) {
    return absl::InternalError(OpenSslError("ECDSA sign size"));
  }
  std::string sig(len, '\0');
  if (EVP_DigestSignFinal(ctx, reinterpret_cast<unsigned char*>(sig.data()),
                          &len) != 1) {
    return absl::InternalError(OpenSslError("ECDSA sign"));
  }
  sig.resize(len);
  return sig;
}

}  // namespace

absl::StatusOr<std::string> VerifyingKey::SpkiFromPoint(absl::string_view x,
                                                        absl::string_view y) {
  if (x.size() != 32 || y.size() != 32) {
    return absl::InvalidArgumentError("a P-256 coordinate is not 32 bytes");
  }
  std::string spki(reinterpret_cast<const char*>(kP256SpkiHeader),
                   sizeof(kP256SpkiHeader));
  absl::StrAppend(&spki, x, y);
  absl::Status ok = CheckSpki(spki);
  if (!ok.ok()) return absl::InvalidArgumentError(ok.message());
  return spki;
}

absl::Status VerifyingKey::CheckSpki(absl::string_view der) {
  if (IsCanonicalP256Spki(der)) return absl::OkStatus();
  return FromSpki(der).status();  // the slow path names the reason
}

absl::StatusOr<VerifyingKey> VerifyingKey::FromSpki(absl::string_view der) {
  if (IsCanonicalP256Spki(der)) {
    if (EVP_PKEY* fast = P256KeyFromPoint(der)) {
      return VerifyingKey(std::shared_ptr<EVP_PKEY>(fast, EVP_PKEY_free),
                          std::string(der));
    }
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  EVP_PKEY* raw =
      d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));  // NOLINT
  if (raw == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError("not a DER SubjectPublicKeyInfo");
  }
  std::shared_ptr<EVP_PKEY> key(raw, EVP_PKEY_free);
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return absl::InvalidArgumentError("trailing bytes after public key");
  }
  absl::Status curve = CheckP256(key.get());
  if (!curve.ok()) return curve;
  auto canonical = EncodeSpki(key.get());
  if (!canonical.ok()) return canonical.status();
  if (der.size() != kP256SpkiSize || der[kP256PointOffset] != 0x04 ||
      *canonical != der) {
    return absl::InvalidArgumentError(
        "public key is not in canonical uncompressed DER form");
  }
  return VerifyingKey(std::move(key), std::string(der));
}

absl::StatusOr<VerifyingKey> VerifyingKey::FromPem(absl::string_view pem) {
  std::unique_ptr<BIO, BioDeleter> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return absl::InternalError(OpenSslError("BIO_new_mem_buf"));
  EVP_PKEY* raw = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (raw == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError("no PEM PUBLIC KEY block found");
  }
  PkeyPtr key(raw);
  auto der = EncodeSpki(key.get());
  if (!der.ok()) return der.status();
  return FromSpki(*der);
}

std::string VerifyingKey::ToPem() const {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), key_.get());
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);  // NOLINT(runtime/int)
  return std::string(data, static_cast<size_t>(len));
}

absl::Status VerifyingKey::Verify(absl::string_view context,
                                  absl::string_view data,
                                  absl::string_view signature) const {
  absl::Status context_ok = SignatureContextOk(context);
  if (!context_ok.ok()) return context_ok;
  MdCtx ctx(EVP_MD_CTX_new());
  const char zero = '\0';
  if (!ctx ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr,
                           key_.get()) != 1 ||
      EVP_DigestVerifyUpdate(ctx.get(), context.data(), context.size()) != 1 ||
      EVP_DigestVerifyUpdate(ctx.get(), &zero, 1) != 1 ||
      EVP_DigestVerifyUpdate(ctx.get(), data.data(), data.size()) != 1) {
    return absl::InternalError(OpenSslError("ECDSA verify init"));
  }
  int ok = EVP_DigestVerifyFinal(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
      signature.size());
  ERR_clear_error();
  if (ok != 1) {
    return absl::UnauthenticatedError("ECDSA signature does not verify");
  }
  return absl::OkStatus();
}

absl::StatusOr<SigningKey> SigningKey::FromPkey(PkeyPtr key) {
  absl::Status curve = CheckP256(key.get());
  if (!curve.ok()) return curve;
  auto spki = EncodeSpki(key.get());
  if (!spki.ok()) return spki.status();
  // The public half shares nothing mutable with the private key: re-parse it.
  auto public_key = VerifyingKey::FromSpki(*spki);
  if (!public_key.ok()) return public_key.status();
  return SigningKey(std::move(key), std::move(public_key).value());
}

absl::StatusOr<SigningKey> SigningKey::Generate() {
  EVP_PKEY* raw = EVP_EC_gen("P-256");
  if (raw == nullptr) return absl::InternalError(OpenSslError("EVP_EC_gen"));
  return FromPkey(PkeyPtr(raw));
}

absl::StatusOr<SigningKey> SigningKey::FromPkcs8(absl::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  PKCS8_PRIV_KEY_INFO* p8 = d2i_PKCS8_PRIV_KEY_INFO(
      nullptr, &p, static_cast<long>(der.size()));  // NOLINT
  if (p8 == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError("not a DER PKCS#8 private key");
  }
  EVP_PKEY* raw = EVP_PKCS82PKEY(p8);
  PKCS8_PRIV_KEY_INFO_free(p8);
  if (raw == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError("PKCS#8 does not hold a usable key");
  }
  return FromPkey(PkeyPtr(raw));
}

absl::StatusOr<SecretString> SigningKey::ToPkcs8() const {
  PKCS8_PRIV_KEY_INFO* p8 = EVP_PKEY2PKCS8(key_.get());
  if (p8 == nullptr) return absl::InternalError(OpenSslError("EVP_PKEY2PKCS8"));
  unsigned char* buf = nullptr;
  int len = i2d_PKCS8_PRIV_KEY_INFO(p8, &buf);
  PKCS8_PRIV_KEY_INFO_free(p8);
  if (len <= 0) return absl::InternalError(OpenSslError("encode PKCS#8"));
  SecretString out(
      std::string(reinterpret_cast<char*>(buf), static_cast<size_t>(len)));
  OPENSSL_clear_free(buf, static_cast<size_t>(len));
  return out;
}

absl::StatusOr<std::string> SigningKey::Sign(absl::string_view context,
                                             absl::string_view data) const {
  absl::Status context_ok = SignatureContextOk(context);
  if (!context_ok.ok()) return context_ok;
  MdCtx ctx(EVP_MD_CTX_new());
  const char zero = '\0';
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr,
                         key_.get()) != 1 ||
      EVP_DigestSignUpdate(ctx.get(), context.data(), context.size()) != 1 ||
      EVP_DigestSignUpdate(ctx.get(), &zero, 1) != 1 ||
      EVP_DigestSignUpdate(ctx.get(), data.data(), data.size()) != 1) {
    return absl::InternalError(OpenSslError("ECDSA sign init"));
  }
  return FinishSignature(ctx.get());
}

absl::StatusOr<std::string> SigningKey::SignForeignFormat(
    absl::string_view message) const {
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr,
                         key_.get()) != 1 ||
      EVP_DigestSignUpdate(ctx.get(), message.data(), message.size()) != 1) {
    return absl::InternalError(OpenSslError("ECDSA sign init"));
  }
  return FinishSignature(ctx.get());
}

}  // namespace tao
