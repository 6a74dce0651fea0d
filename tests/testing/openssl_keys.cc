#include "tests/testing/openssl_keys.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

#include "gtest/gtest.h"

namespace tao {
namespace test {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Pkey GenerateEc(const char* curve) {
  Pkey key(EVP_EC_gen(curve));
  EXPECT_NE(key, nullptr) << "EVP_EC_gen " << curve;
  return key;
}

std::string Spki(EVP_PKEY* key) {
  if (key == nullptr) return "";
  unsigned char* buf = nullptr;
  int len = i2d_PUBKEY(key, &buf);
  EXPECT_GT(len, 0) << "i2d_PUBKEY";
  if (len <= 0) return "";
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(len));
  OPENSSL_free(buf);
  return out;
}

}  // namespace

std::string CompressedP256Spki() {
  Pkey key = GenerateEc("P-256");
  if (key == nullptr) return "";
  EXPECT_EQ(EVP_PKEY_set_utf8_string_param(
                key.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED),
            1);
  return Spki(key.get());
}

std::string P384Spki() { return Spki(GenerateEc("P-384").get()); }

std::string P384Pem() {
  Pkey key = GenerateEc("P-384");
  if (key == nullptr) return "";
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()),
                                                &BIO_free);
  EXPECT_EQ(PEM_write_bio_PUBKEY(bio.get(), key.get()), 1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);  // NOLINT(runtime/int)
  return std::string(data, static_cast<size_t>(len));
}

std::string P384Pkcs8() {
  Pkey key = GenerateEc("P-384");
  if (key == nullptr) return "";
  PKCS8_PRIV_KEY_INFO* p8 = EVP_PKEY2PKCS8(key.get());
  EXPECT_NE(p8, nullptr);
  if (p8 == nullptr) return "";
  unsigned char* buf = nullptr;
  int len = i2d_PKCS8_PRIV_KEY_INFO(p8, &buf);
  PKCS8_PRIV_KEY_INFO_free(p8);
  EXPECT_GT(len, 0);
  if (len <= 0) return "";
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(len));
  OPENSSL_clear_free(buf, static_cast<size_t>(len));
  return out;
}

std::string Ed25519Spki() {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  EXPECT_NE(key, nullptr);
  return Spki(key.get());
}

}  // namespace test
}  // namespace tao
