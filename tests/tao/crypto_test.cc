#include "tao/crypto.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tao/encoding.h"
#include "tests/testing/status_matchers.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::IsOkAndHolds;
using ::tao::test::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

std::string Hex(absl::string_view hex) { return absl::HexStringToBytes(hex); }

// --- Randomness -------------------------------------------------------------

TEST(RandomBytesTest, ReturnsTheSizeAsked) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{16}, size_t{32}, size_t{1000},
                   size_t{1} << 20}) {
    EXPECT_THAT(RandomBytes(n), IsOkAndHolds(SizeIs(n))) << n;
  }
}

TEST(RandomBytesTest, RefusesMoreThanOneMiB) {
  EXPECT_THAT(RandomBytes((size_t{1} << 20) + 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1 MiB")));
  EXPECT_THAT(RandomBytes(size_t{1} << 40),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(RandomBytesTest, CallsDiffer) {
  auto a = RandomBytes(32);
  auto b = RandomBytes(32);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_NE(*a, *b);
  EXPECT_NE(*a, std::string(32, '\0'));
}

TEST(FillRandomTest, FillsTheWholeBuffer) {
  std::string buf(4096, '\0');
  ASSERT_THAT(FillRandom(buf.data(), buf.size()), IsOk());
  // 4096 zero bytes from a DRBG would be a broken DRBG.
  EXPECT_NE(buf.find_first_not_of('\0'), std::string::npos);
  // The tail is written too.
  EXPECT_NE(buf.substr(4000).find_first_not_of('\0'), std::string::npos);
}

// --- SHA-256 ----------------------------------------------------------------

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(HexEncode(Sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256HasherTest, SplitInputEqualsOneShot) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data += static_cast<char>(i * 7);
  for (size_t split : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{65},
                       size_t{500}, data.size()}) {
    Sha256Hasher hasher;
    hasher.Update(absl::string_view(data).substr(0, split));
    hasher.Update(absl::string_view(data).substr(split));
    EXPECT_EQ(hasher.Finish(), Sha256(data)) << "split at " << split;
  }
  Sha256Hasher bytewise;
  for (char c : data) bytewise.Update(absl::string_view(&c, 1));
  EXPECT_EQ(bytewise.Finish(), Sha256(data));
  Sha256Hasher empty;
  EXPECT_EQ(empty.Finish(), Sha256(""));
}

// --- HKDF-SHA256 (RFC 5869, appendix A) --------------------------------------

TEST(HkdfSha256Test, Rfc5869TestCase1) {
  const std::string ikm(22, '\x0b');
  auto okm = HkdfSha256(ikm, Hex("000102030405060708090a0b0c"),
                        Hex("f0f1f2f3f4f5f6f7f8f9"), 42);
  ASSERT_THAT(okm, IsOk());
  EXPECT_EQ(HexEncode(okm->view()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
            "34007208d5b887185865");
}

TEST(HkdfSha256Test, Rfc5869TestCase2LongInputs) {
  std::string ikm, salt, info;
  for (int i = 0x00; i <= 0x4f; ++i) ikm += static_cast<char>(i);
  for (int i = 0x60; i <= 0xaf; ++i) salt += static_cast<char>(i);
  for (int i = 0xb0; i <= 0xff; ++i) info += static_cast<char>(i);
  auto okm = HkdfSha256(ikm, salt, info, 82);
  ASSERT_THAT(okm, IsOk());
  EXPECT_EQ(HexEncode(okm->view()),
            "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
            "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
            "cc30c58179ec3e87c14c01d5c1f3434f1d87");
}

TEST(HkdfSha256Test, Rfc5869TestCase3EmptySaltAndInfo) {
  const std::string ikm(22, '\x0b');
  const std::string expected =
      "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
      "9d201395faa4b61a96c8";
  auto okm = HkdfSha256(ikm, "", "", 42);
  ASSERT_THAT(okm, IsOk());
  EXPECT_EQ(HexEncode(okm->view()), expected);
  // A default (null) string_view is the same empty salt and info.
  auto okm_null = HkdfSha256(ikm, absl::string_view(), absl::string_view(), 42);
  ASSERT_THAT(okm_null, IsOk());
  EXPECT_EQ(HexEncode(okm_null->view()), expected);
  // An explicit salt of HashLen zero bytes is, by RFC 5869, the same as none.
  auto okm_zeros = HkdfSha256(ikm, std::string(32, '\0'), "", 42);
  ASSERT_THAT(okm_zeros, IsOk());
  EXPECT_EQ(HexEncode(okm_zeros->view()), expected);
}

// OpenSSL's own HKDF, the reference the fast path is checked against.
std::string OpenSslHkdf(absl::string_view secret, absl::string_view salt,
                        absl::string_view info, size_t length) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  char digest[] = "SHA256";
  OSSL_PARAM params[5];
  size_t i = 0;
  params[i++] =
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[i++] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_KEY, const_cast<char*>(secret.data()), secret.size());
  if (!salt.empty()) {
    params[i++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()), salt.size());
  }
  params[i++] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()), info.size());
  params[i] = OSSL_PARAM_construct_end();
  std::string out(length, '\0');
  int ok = EVP_KDF_derive(ctx, reinterpret_cast<unsigned char*>(out.data()),
                          length, params);
  EVP_KDF_CTX_free(ctx);
  EVP_KDF_free(kdf);
  return ok == 1 ? out : "derive failed";
}

TEST(HkdfSha256Test, AgreesWithOpenSslHkdfOnEveryShape) {
  // Salts shorter than, equal to and longer than SHA-256's 64-byte block
  // (HMAC hashes a longer key first); outputs across block boundaries.
  for (size_t salt_size : {size_t{0}, size_t{1}, size_t{32}, size_t{63},
                           size_t{64}, size_t{65}, size_t{200}}) {
    for (size_t length :
         {size_t{1}, size_t{31}, size_t{32}, size_t{33}, size_t{44}, size_t{64},
          size_t{65}, size_t{1000}, size_t{255 * 32}}) {
      std::string secret = *RandomBytes(1 + (salt_size * 7 + length) % 90);
      std::string salt = *RandomBytes(salt_size);
      std::string info = *RandomBytes(length % 40);
      auto ours = HkdfSha256(secret, salt, info, length);
      ASSERT_THAT(ours, IsOk());
      EXPECT_EQ(HexEncode(ours->view()),
                HexEncode(OpenSslHkdf(secret, salt, info, length)))
          << "salt " << salt_size << " length " << length;
    }
  }
}

TEST(HkdfSha256Test, LengthBounds) {
  EXPECT_THAT(HkdfSha256("secret", "salt", "info", 0),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(HkdfSha256("secret", "salt", "info", 1), IsOkAndHolds(SizeIs(1)));
  EXPECT_THAT(HkdfSha256("secret", "salt", "info", 255 * 32),
              IsOkAndHolds(SizeIs(8160)));
  EXPECT_THAT(HkdfSha256("secret", "salt", "info", 255 * 32 + 1),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(HkdfSha256Test, ShorterOutputIsAPrefix) {
  auto long_okm = HkdfSha256("secret", "salt", "info", 100);
  auto short_okm = HkdfSha256("secret", "salt", "info", 10);
  ASSERT_THAT(long_okm, IsOk());
  ASSERT_THAT(short_okm, IsOk());
  EXPECT_EQ(long_okm->view().substr(0, 10), short_okm->view());
  auto other_info = HkdfSha256("secret", "salt", "info2", 10);
  ASSERT_THAT(other_info, IsOk());
  EXPECT_NE(other_info->view(), short_okm->view());
}

// --- AES-256-GCM -------------------------------------------------------------

class AesGcmTest : public ::testing::Test {
 protected:
  const std::string key_ = std::string(32, '\x42');
  const std::string iv_ = std::string(12, '\x24');
  const std::string aad_ = "header bytes";
  const std::string plaintext_ = "attack at dawn, bring snacks";

  // Encrypts plaintext_; returns ciphertext || tag.
  std::string Encrypt() {
    std::string out(plaintext_.size() + kAesGcmTagSize, '\0');
    EXPECT_THAT(
        AesGcmEncrypt(key_, iv_, aad_, plaintext_.data(), plaintext_.size(),
                      out.data(), out.data() + plaintext_.size()),
        IsOk());
    return out;
  }

  absl::Status Decrypt(absl::string_view key, absl::string_view aad,
                       absl::string_view sealed, std::string* plaintext) {
    size_t len = sealed.size() - kAesGcmTagSize;
    plaintext->assign(len, '\x5a');
    return AesGcmDecrypt(key, iv_, aad, sealed.data(), len, sealed.substr(len),
                         plaintext->data());
  }
};

TEST_F(AesGcmTest, NistVectorAes256TestCase16) {
  // The GCM specification's test case 16 (AES-256, 60 bytes, 20 bytes AAD).
  const std::string key =
      Hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  const std::string iv = Hex("cafebabefacedbaddecaf888");
  const std::string pt =
      Hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
          "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
  const std::string aad = Hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  std::string ct(pt.size(), '\0');
  std::string tag(kAesGcmTagSize, '\0');
  ASSERT_THAT(
      AesGcmEncrypt(key, iv, aad, pt.data(), pt.size(), ct.data(), tag.data()),
      IsOk());
  EXPECT_EQ(HexEncode(ct),
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
            "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662");
  EXPECT_EQ(HexEncode(tag), "76fc6ece0f4e1768cddf8853bb2d551b");
  std::string back(pt.size(), '\0');
  ASSERT_THAT(
      AesGcmDecrypt(key, iv, aad, ct.data(), ct.size(), tag, back.data()),
      IsOk());
  EXPECT_EQ(back, pt);
}

TEST_F(AesGcmTest, RoundTrip) {
  std::string sealed = Encrypt();
  EXPECT_NE(sealed.substr(0, plaintext_.size()), plaintext_);
  std::string back;
  ASSERT_THAT(Decrypt(key_, aad_, sealed, &back), IsOk());
  EXPECT_EQ(back, plaintext_);
}

TEST_F(AesGcmTest, RoundTripInPlace) {
  std::string buf = plaintext_;
  std::string tag(kAesGcmTagSize, '\0');
  ASSERT_THAT(AesGcmEncrypt(key_, iv_, aad_, buf.data(), buf.size(), buf.data(),
                            tag.data()),
              IsOk());
  EXPECT_EQ(buf + tag, Encrypt());  // in place gives the same bytes
  ASSERT_THAT(
      AesGcmDecrypt(key_, iv_, aad_, buf.data(), buf.size(), tag, buf.data()),
      IsOk());
  EXPECT_EQ(buf, plaintext_);
}

TEST_F(AesGcmTest, EmptyPlaintextStillAuthenticatesAad) {
  std::string tag(kAesGcmTagSize, '\0');
  ASSERT_THAT(AesGcmEncrypt(key_, iv_, aad_, nullptr, 0, nullptr, tag.data()),
              IsOk());
  EXPECT_THAT(AesGcmDecrypt(key_, iv_, aad_, nullptr, 0, tag, nullptr), IsOk());
  EXPECT_THAT(AesGcmDecrypt(key_, iv_, "other aad", nullptr, 0, tag, nullptr),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(AesGcmTest, EveryFlippedBitIsDataLossAndWipesPlaintext) {
  const std::string sealed = Encrypt();
  const std::string wiped(plaintext_.size(), '\0');
  // Every bit of the ciphertext and of the tag.
  for (size_t i = 0; i < sealed.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string altered = sealed;
      altered[i] ^= static_cast<char>(1 << bit);
      std::string out;
      ASSERT_THAT(Decrypt(key_, aad_, altered, &out),
                  StatusIs(absl::StatusCode::kDataLoss))
          << "byte " << i << " bit " << bit;
      ASSERT_EQ(out, wiped) << "byte " << i << " bit " << bit;
    }
  }
  // Every bit of the associated data.
  for (size_t i = 0; i < aad_.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string aad = aad_;
      aad[i] ^= static_cast<char>(1 << bit);
      std::string out;
      ASSERT_THAT(Decrypt(key_, aad, sealed, &out),
                  StatusIs(absl::StatusCode::kDataLoss))
          << "aad byte " << i << " bit " << bit;
      ASSERT_EQ(out, wiped);
    }
  }
  // Missing or extra associated data.
  std::string out;
  EXPECT_THAT(Decrypt(key_, "", sealed, &out),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(Decrypt(key_, aad_ + "x", sealed, &out),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(AesGcmTest, WrongKeyIsDataLoss) {
  std::string other_key = key_;
  other_key[31] ^= 1;
  std::string out;
  EXPECT_THAT(Decrypt(other_key, aad_, Encrypt(), &out),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_EQ(out, std::string(plaintext_.size(), '\0'));
}

TEST_F(AesGcmTest, BadSizesAreInvalidArgument) {
  char buf[16] = {0};
  char tag[kAesGcmTagSize] = {0};
  for (const std::string& bad_key : {std::string(16, 'k'), std::string(31, 'k'),
                                     std::string(33, 'k'), std::string()}) {
    EXPECT_THAT(AesGcmEncrypt(bad_key, iv_, "", buf, sizeof(buf), buf, tag),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("key")));
    EXPECT_THAT(AesGcmDecrypt(bad_key, iv_, "", buf, sizeof(buf),
                              absl::string_view(tag, sizeof(tag)), buf),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("key")));
  }
  for (const std::string& bad_iv :
       {std::string(11, 'i'), std::string(16, 'i'), std::string()}) {
    EXPECT_THAT(AesGcmEncrypt(key_, bad_iv, "", buf, sizeof(buf), buf, tag),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("IV")));
    EXPECT_THAT(AesGcmDecrypt(key_, bad_iv, "", buf, sizeof(buf),
                              absl::string_view(tag, sizeof(tag)), buf),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("IV")));
  }
  EXPECT_THAT(AesGcmDecrypt(key_, iv_, "", buf, sizeof(buf),
                            absl::string_view(tag, 12), buf),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tag")));
}

// --- scrypt ------------------------------------------------------------------

TEST(ScryptTest, DefaultAndTestParamsAreValid) {
  EXPECT_THAT(ValidateScryptParams(ScryptParams{}), IsOk());
  EXPECT_THAT(ValidateScryptParams(ScryptParams{1 << 10, 8, 1}), IsOk());
}

TEST(ScryptTest, MemoryBoundHoldsForEveryAcceptedSet) {
  // Whatever the validator accepts needs at most kMaxScryptMemory.
  for (int log_n = 10; log_n <= 22; ++log_n) {
    for (uint32_t r : {1u, 2u, 4u, 8u, 16u, 32u}) {
      const ScryptParams params{uint64_t{1} << log_n, r, 1};
      if (ValidateScryptParams(params).ok()) {
        EXPECT_LE(128 * uint64_t{r} * params.n, kMaxScryptMemory)
            << "N=2^" << log_n << " r=" << r;
      }
    }
  }
}

TEST(ScryptTest, ValidationBounds) {
  struct Case {
    ScryptParams params;
    bool valid;
    absl::string_view field;
  };
  const Case cases[] = {
      {{uint64_t{1} << 10, 8, 1}, true, ""},
      {{uint64_t{1} << 20, 8, 1}, true, ""},      // 1 GiB: at the memory limit
      {{uint64_t{1} << 22, 2, 1}, true, ""},      // 1 GiB: at the memory limit
      {{uint64_t{1} << 21, 8, 1}, false, "MiB"},  // 2 GiB
      {{uint64_t{1} << 22, 8, 1}, false, "MiB"},  // 4 GiB
      {{uint64_t{1} << 22, 32, 16}, false, "MiB"},  // 16 GiB
      {{uint64_t{1} << 9, 8, 1}, false, "N="},
      {{uint64_t{1} << 23, 8, 1}, false, "N="},
      {{0, 8, 1}, false, "N="},
      {{1, 8, 1}, false, "N="},
      {{3 << 10, 8, 1}, false, "N="},        // not a power of two
      {{(1 << 10) + 1, 8, 1}, false, "N="},  // not a power of two
      {{uint64_t{1} << 63, 8, 1}, false, "N="},
      {{~uint64_t{0}, 8, 1}, false, "N="},
      {{1 << 15, 0, 1}, false, "r="},
      {{1 << 15, 1, 1}, true, ""},
      {{1 << 15, 32, 1}, true, ""},  // 128 MiB
      {{1 << 15, 33, 1}, false, "r="},
      {{1 << 15, 0xffffffff, 1}, false, "r="},
      {{1 << 15, 8, 0}, false, "p="},
      {{1 << 15, 8, 16}, true, ""},
      {{1 << 15, 8, 17}, false, "p="},
      {{1 << 15, 8, 0xffffffff}, false, "p="},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(
        absl::StrCat("N=", c.params.n, " r=", c.params.r, " p=", c.params.p));
    if (c.valid) {
      EXPECT_THAT(ValidateScryptParams(c.params), IsOk());
    } else {
      EXPECT_THAT(
          ValidateScryptParams(c.params),
          StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.field)));
    }
  }
}

TEST(ScryptTest, Rfc7914TestVector2) {
  auto key = ScryptDerive("password", "NaCl", ScryptParams{1024, 8, 16}, 64);
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(HexEncode(key->view()),
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
            "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
}

TEST(ScryptTest, DeriveRejectsInvalidParams) {
  EXPECT_THAT(ScryptDerive("pw", "salt", ScryptParams{1 << 9, 8, 1}, 32),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ScryptDerive("pw", "salt", ScryptParams{1 << 10, 0, 1}, 32),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// ValidateScryptParams exists so that parameters read from an untrusted file
// are safe to hand to scrypt: whatever it accepts, ScryptDerive must run
// (and whatever scrypt cannot run, it must reject as kInvalidArgument). With
// r = 1, OpenSSL's scrypt requires N < 2^(16 r) = 2^16.
TEST(ScryptTest, EveryValidatedParameterSetDerives) {
  const ScryptParams params{uint64_t{1} << 16, 1, 1};  // 8 MiB of work memory
  absl::Status valid = ValidateScryptParams(params);
  if (valid.ok()) {
    EXPECT_THAT(ScryptDerive("pw", "salt", params, 32),
                IsOkAndHolds(SizeIs(32)))
        << "ValidateScryptParams accepted N=2^16 r=1 p=1, but scrypt cannot "
           "run it";
  } else {
    EXPECT_THAT(valid,
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("r=")));
  }
}

TEST(ScryptTest, DeterministicAndSaltSensitive) {
  const ScryptParams params{1 << 10, 8, 1};
  auto a = ScryptDerive("pw", "salt", params, 32);
  auto b = ScryptDerive("pw", "salt", params, 32);
  auto c = ScryptDerive("pw", "salT", params, 32);
  auto d = ScryptDerive("pW", "salt", params, 32);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT(d, IsOk());
  EXPECT_EQ(a->view(), b->view());
  EXPECT_NE(a->view(), c->view());
  EXPECT_NE(a->view(), d->view());
}

// --- Comparisons and encodings -----------------------------------------------

TEST(ConstantTimeEqualsTest, ComparesContentsAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_TRUE(
      ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "bbc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals("ab", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_FALSE(
      ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST(HexEncodeTest, Lowercase) {
  EXPECT_EQ(HexEncode(""), "");
  EXPECT_EQ(HexEncode(std::string("\x00\x01\xab\xff", 4)), "0001abff");
}

TEST(Base64UrlTest, Rfc4648Vectors) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_THAT(Base64UrlDecode("Zm9vYmE"), IsOkAndHolds(std::string("fooba")));
  EXPECT_THAT(Base64UrlDecode("-_8"), IsOkAndHolds(std::string("\xfb\xff")));
  EXPECT_THAT(Base64UrlDecode(""), IsOkAndHolds(std::string()));
}

TEST(Base64UrlTest, RoundTripsEveryLength) {
  for (size_t n = 0; n <= 100; ++n) {
    auto bytes = RandomBytes(n);
    ASSERT_THAT(bytes, IsOk());
    std::string text = Base64UrlEncode(*bytes);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos) << text;
    EXPECT_THAT(Base64UrlDecode(text), IsOkAndHolds(*bytes)) << n;
  }
}

TEST(Base64UrlTest, DecodeIsStrict) {
  const auto invalid = StatusIs(absl::StatusCode::kInvalidArgument);
  // Padding.
  EXPECT_THAT(Base64UrlDecode("Zg=="), invalid);
  EXPECT_THAT(Base64UrlDecode("Zm8="), invalid);
  EXPECT_THAT(Base64UrlDecode("Zg="), invalid);
  EXPECT_THAT(Base64UrlDecode("="), invalid);
  // The standard alphabet's '+' and '/'.
  EXPECT_THAT(Base64UrlDecode("+/8"), invalid);
  EXPECT_THAT(Base64UrlDecode("-/8"), invalid);
  EXPECT_THAT(Base64UrlDecode("+_8"), invalid);
  // Whitespace and other characters.
  EXPECT_THAT(Base64UrlDecode("Zm9v Yg"), invalid);
  EXPECT_THAT(Base64UrlDecode("Zm9v\nYg"), invalid);
  EXPECT_THAT(Base64UrlDecode(" Zg"), invalid);
  EXPECT_THAT(Base64UrlDecode(std::string("Zg\0", 3)), invalid);
  EXPECT_THAT(Base64UrlDecode("Zg."), invalid);
  // Impossible lengths.
  EXPECT_THAT(Base64UrlDecode("Z"), invalid);
  EXPECT_THAT(Base64UrlDecode("Zm9vY"), invalid);
  // Non-canonical trailing bits: "Zh" and "Zm9" + 'w' decode to the same
  // bytes as "Zg" and "Zm8" under a lax decoder.
  EXPECT_THAT(Base64UrlDecode("Zh"), invalid);
  EXPECT_THAT(Base64UrlDecode("Zv"), invalid);
  EXPECT_THAT(Base64UrlDecode("Zm9"), invalid);
  EXPECT_THAT(Base64UrlDecode("AB"), invalid);
  EXPECT_THAT(Base64UrlDecode("AAB"), invalid);
  EXPECT_THAT(Base64UrlDecode("AA"), IsOkAndHolds(std::string(1, '\0')));
  EXPECT_THAT(Base64UrlDecode("AAA"), IsOkAndHolds(std::string(2, '\0')));
}

TEST(Base64UrlTest, ErrorSaysWhere) {
  EXPECT_THAT(Base64UrlDecode("Zm9v+g"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("'+'"), HasSubstr("offset 4"))));
}

TEST(Base64UrlTest, EveryDecodableTextIsTheEncodingOfItsBytes) {
  // Exhaustive over all 2- and 3-character texts of a reduced alphabet that
  // includes every kind of character the decoder treats differently.
  const std::string alphabet = "AQgw_-9+/=Z";
  for (char a : alphabet) {
    for (char b : alphabet) {
      for (const std::string& text : {std::string{a, b}, std::string{a, b, 'A'},
                                      std::string{a, 'A', b}}) {
        auto decoded = Base64UrlDecode(text);
        if (decoded.ok()) {
          EXPECT_EQ(Base64UrlEncode(*decoded), text);
        } else {
          EXPECT_THAT(decoded, StatusIs(absl::StatusCode::kInvalidArgument))
              << text;
        }
      }
    }
  }
}

}  // namespace
}  // namespace tao
