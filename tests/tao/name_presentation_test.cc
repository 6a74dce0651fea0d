#include "tao/name_presentation.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tao/encoding.h"
#include "tao/keys.h"
#include "tao/principal.h"
#include "tests/testing/names.h"
#include "tests/testing/status_matchers.h"

namespace tao {
namespace {

using ::tao::test::Digest;
using ::tao::test::IsOk;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// A fresh P-256 key made with OpenSSL alone, as DER SPKI.
std::string OpenSslSpki() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (key == nullptr) return "";
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key, &der);
  std::string spki(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  EVP_PKEY_free(key);
  return spki;
}

// "SHA256:" + unpadded base64 of SHA-256(bytes), computed with OpenSSL's
// EVP digest and EVP_EncodeBlock: independent of tao/crypto.
std::string OpenSslFingerprint(const std::string& bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &md_len, EVP_sha256(), nullptr);
  unsigned char b64[128];
  int n = EVP_EncodeBlock(b64, md, static_cast<int>(md_len));
  std::string text(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
  while (!text.empty() && text.back() == '=') text.pop_back();
  return "SHA256:" + text;
}

std::string Hex(char c) { return HexEncode(Digest(c)); }

class NamePresentationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = SigningKey::Generate();
    ASSERT_THAT(key, IsOk());
    spki_ = key->verifying_key().spki();
    key_ = Principal::ForKey(key->verifying_key());
    auto publisher = SigningKey::Generate();
    ASSERT_THAT(publisher, IsOk());
    publisher_ = publisher->verifying_key();
  }

  static Principal Extend(Principal p, const Subprincipal& sub) {
    auto extended = p.Extend(sub);
    EXPECT_THAT(extended, IsOk());
    return extended.ok() ? *extended : p;
  }
  static Subprincipal Sub(absl::StatusOr<Subprincipal> sub) {
    EXPECT_THAT(sub, IsOk());
    return *sub;
  }
  static Subprincipal Ext(absl::string_view label, absl::string_view value) {
    return Sub(Subprincipal::Ext(label, value));
  }
  static Subprincipal Program(char c) {
    return Sub(Subprincipal::Program(Digest(c)));
  }

  std::string spki_;
  std::optional<Principal> key_;
  std::optional<VerifyingKey> publisher_;
};

TEST_F(NamePresentationTest, FingerprintOfKnownBytes) {
  // SHA-256 of the empty string, in base64 without its one '='.
  EXPECT_EQ(KeyFingerprint(""),
            "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU");
}

TEST_F(NamePresentationTest, FingerprintIsSha256OfTheDerSpkiInBase64) {
  for (int i = 0; i < 8; ++i) {
    std::string spki = OpenSslSpki();
    ASSERT_FALSE(spki.empty());
    ASSERT_THAT(VerifyingKey::FromSpki(spki), IsOk());
    std::string fingerprint = KeyFingerprint(spki);
    EXPECT_EQ(fingerprint, OpenSslFingerprint(spki));
    EXPECT_EQ(fingerprint.size(), 50u);
    EXPECT_THAT(fingerprint, Not(HasSubstr("=")));
  }
}

TEST_F(NamePresentationTest, SameKeySameFingerprintOtherKeyAnother) {
  auto again = VerifyingKey::FromSpki(spki_);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(KeyFingerprint(again->spki()), KeyFingerprint(spki_));
  auto parsed = Principal::Parse(key_->text());
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(ShortName(*parsed), ShortName(*key_));
  EXPECT_NE(KeyFingerprint(publisher_->spki()), KeyFingerprint(spki_));
  EXPECT_NE(ShortName(Principal::ForKey(*publisher_)), ShortName(*key_));
}

TEST_F(NamePresentationTest, ShortKeyName) {
  std::string shown = ShortName(*key_);
  EXPECT_EQ(shown,
            absl::StrCat("key(ecdsa-p256:", OpenSslFingerprint(spki_), ")"));
  EXPECT_EQ(shown, ShortKeyName(spki_));
  EXPECT_EQ(shown.size(), 66u);
  // A short form is never taken for a name.
  EXPECT_FALSE(Principal::Parse(shown).ok());
}

TEST_F(NamePresentationTest, LastMeasurementWholeOtherDigestsCut) {
  Principal name = Extend(*key_, Sub(Subprincipal::Vm(Digest('\x11'))));
  name = Extend(name, Program('\x22'));
  name = Extend(name, Sub(Subprincipal::Args(Digest('\x33'))));
  EXPECT_EQ(ShortName(name),
            absl::StrCat(ShortKeyName(spki_), ".VM(sha256:111111111111...)",
                         ".Program(sha256:", Hex('\x22'), ")",
                         ".Args(sha256:33333333...)"));
  // The canonical text is untouched by presenting it.
  auto parsed = Principal::Parse(name.text());
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(*parsed, name);
}

TEST_F(NamePresentationTest, EnclaveAndVmAreMeasurementsToo) {
  Principal vm = Extend(*key_, Sub(Subprincipal::Vm(Digest('\x44'))));
  EXPECT_THAT(ShortName(vm),
              EndsWith(absl::StrCat(".VM(sha256:", Hex('\x44'), ")")));
  Principal enclave = Extend(vm, Sub(Subprincipal::Enclave(Digest('\x55'))));
  EXPECT_THAT(ShortName(enclave),
              EndsWith(absl::StrCat(".VM(sha256:444444444444...).Enclave(",
                                    "sha256:", Hex('\x55'), ")")));
}

TEST_F(NamePresentationTest, PublisherByFingerprintExtCut) {
  Principal name = Extend(*key_, Program('\x01'));
  name =
      Extend(name, Sub(Subprincipal::Publisher(*publisher_, "web-server", 12)));
  name = Extend(name, Ext("role", "web"));
  name = Extend(name, Ext("config", std::string(100, 'x')));
  EXPECT_EQ(ShortName(name),
            absl::StrCat(ShortKeyName(spki_), ".Program(sha256:", Hex('\x01'),
                         ")", ".Publisher(", KeyFingerprint(publisher_->spki()),
                         ",web-server,12)", ".Ext(role:web)",
                         ".Ext(config:", std::string(25, 'x'), "...)"));
  Principal long_product = Extend(
      *key_,
      Sub(Subprincipal::Publisher(*publisher_, std::string(100, 'p'), 7)));
  EXPECT_THAT(ShortName(long_product),
              HasSubstr(absl::StrCat(",", std::string(32, 'p'), "...,7)")));
}

TEST_F(NamePresentationTest, LongNameKeepsKeyAndLastMeasurement) {
  Principal name = *key_;
  for (int i = 0; i < 60; ++i) {
    name = Extend(name, Ext(absl::StrCat("head", i), std::string(30, 'h')));
  }
  name = Extend(name, Program('\x7f'));
  name = Extend(name, Sub(Subprincipal::Publisher(*publisher_, "vault", 3)));
  for (int i = 0; i < 60; ++i) {
    name = Extend(name, Ext(absl::StrCat("tail", i), std::string(30, 't')));
  }
  const std::string measurement =
      absl::StrCat(".Program(sha256:", Hex('\x7f'), ")");
  EXPECT_LE(ShortName(name).size(), kShortNameMaxLength);
  EXPECT_THAT(ShortName(name), HasSubstr(measurement));
  std::string shown = ShortName(name, 400);
  EXPECT_LE(shown.size(), 400u);
  EXPECT_THAT(shown, StartsWith(ShortKeyName(spki_) + ".Ext(head0:"));
  EXPECT_THAT(shown, HasSubstr(measurement + ".Publisher("));
  EXPECT_THAT(
      shown, EndsWith(absl::StrCat(".Ext(tail59:", std::string(30, 't'), ")")));
  // Every elided subprincipal is counted, and every shown one has its kind.
  size_t elided = 0;
  for (absl::string_view part : absl::StrSplit(shown, ".[+")) {
    size_t count = 0;
    size_t end = part.find(" more]");
    if (end != absl::string_view::npos &&
        absl::SimpleAtoi(part.substr(0, end), &count)) {
      elided += count;
    }
  }
  size_t shown_subs = 0;
  for (const char* kind : {".Ext(", ".Program(", ".Publisher("}) {
    for (size_t at = shown.find(kind); at != std::string::npos;
         at = shown.find(kind, at + 1)) {
      ++shown_subs;
    }
  }
  EXPECT_GT(elided, 0u);
  EXPECT_EQ(elided + shown_subs, name.subprincipals().size());
}

TEST_F(NamePresentationTest, EveryBoundKeepsTheMeasurement) {
  Principal name = *key_;
  for (int i = 0; i < 20; ++i) {
    name = Extend(name, Sub(Subprincipal::Vm(Digest(static_cast<char>(i)))));
  }
  name = Extend(name, Program('\x66'));
  for (int i = 0; i < 20; ++i) name = Extend(name, Ext("n", "v"));
  const std::string measurement =
      absl::StrCat(".Program(sha256:", Hex('\x66'), ")");
  for (size_t bound = 0; bound < 900; bound += 7) {
    std::string shown = ShortName(name, bound);
    EXPECT_LE(shown.size(), std::max<size_t>(bound, 171)) << bound;
    EXPECT_THAT(shown, StartsWith(ShortKeyName(spki_))) << bound;
    EXPECT_THAT(shown, HasSubstr(measurement)) << bound;
  }
  // Only the last of the measurements keeps its whole digest.
  EXPECT_THAT(ShortName(name, 100000),
              HasSubstr(".VM(sha256:131313131313...).Program("));
}

TEST_F(NamePresentationTest, WorstCaseMinimumIs171) {
  // The most subprincipals a name can have, around its measurement: with no
  // room at all, the key, the measurement and two marks remain.
  Principal name = *key_;
  for (int i = 0; i < 63; ++i) name = Extend(name, Ext("a", "b"));
  name = Extend(name, Program('\x01'));
  for (int i = 0; i < 64; ++i) name = Extend(name, Ext("c", "d"));
  std::string shown = ShortName(name, 0);
  EXPECT_EQ(shown,
            absl::StrCat(ShortKeyName(spki_), ".[+63 more]",
                         ".Program(sha256:", Hex('\x01'), ")", ".[+64 more]"));
  EXPECT_LE(shown.size(), 171u);
}

TEST_F(NamePresentationTest, ShortenNamesInReplacesEveryName) {
  Principal program = Extend(*key_, Program('\x0a'));
  program = Extend(program, Ext("role", "db"));
  std::string text =
      absl::StrCat("domain 'd': no rule grants Execute to program ",
                   program.text(), ", uid 0; host ", key_->text(), ".");
  EXPECT_EQ(ShortenNamesIn(text),
            absl::StrCat("domain 'd': no rule grants Execute to program ",
                         ShortName(program), ", uid 0; host ", ShortName(*key_),
                         "."));
  // Idempotent, and text without names is unchanged.
  EXPECT_EQ(ShortenNamesIn(ShortenNamesIn(text)), ShortenNamesIn(text));
  EXPECT_EQ(ShortenNamesIn("exit 0 (no names here)"), "exit 0 (no names here)");
  EXPECT_EQ(ShortenNamesIn(""), "");
}

TEST_F(NamePresentationTest, ShortenNamesInStopsAtTheNamesEnd) {
  Principal program = Extend(*key_, Program('\x0b'));
  // An invalid subprincipal after the name is not part of it.
  std::string text = absl::StrCat(program.text(), ".Program(sha256:abc) x");
  EXPECT_EQ(ShortenNamesIn(text),
            absl::StrCat(ShortName(program), ".Program(sha256:abc) x"));
  // A broken key is left as it is.
  std::string broken = "key(ecdsa-p256:MFkwEw) and key(ecdsa-p256:";
  EXPECT_EQ(ShortenNamesIn(broken), broken);
  // Back to back, and inside quotes.
  std::string two = absl::StrCat("\"", key_->text(), "\"", program.text());
  EXPECT_EQ(ShortenNamesIn(two),
            absl::StrCat("\"", ShortName(*key_), "\"", ShortName(program)));
}

TEST_F(NamePresentationTest, ShortenNamesInIsLinearOnHostileText) {
  // Unclosed prefixes, valid keys followed by unclosed or invalid
  // subprincipals, and a longest-possible Ext: megabytes of it finish at once
  // (an unbounded search for ')' from every prefix took minutes).
  std::string hostile;
  while (hostile.size() < (8u << 20)) hostile += "key(ecdsa-p256:";
  std::string mixed;
  while (mixed.size() < (2u << 20)) {
    absl::StrAppend(&mixed, key_->text(), ".Ext(a:", std::string(1024, 'v'),
                    ").A", std::string(2000, 'x'));
  }
  absl::Time start = absl::Now();
  EXPECT_EQ(ShortenNamesIn(hostile), hostile);
  std::string shortened = ShortenNamesIn(mixed);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_THAT(shortened, StartsWith(ShortKeyName(spki_) + ".Ext(a:vvvv"));
  EXPECT_LT(shortened.size(), mixed.size());
}

TEST_F(NamePresentationTest, ShortenNamesInTakesTheLongestSubprincipals) {
  // The longest Ext (64-character label, 1024-character value) and a
  // Publisher are part of the name.
  Principal name = Extend(*key_, Program('\x0c'));
  name = Extend(name, Sub(Subprincipal::Publisher(*publisher_, "p", 1)));
  name = Extend(name, Ext(std::string(64, 'l'), std::string(1024, 'v')));
  EXPECT_EQ(ShortenNamesIn(absl::StrCat("[", name.text(), "]")),
            absl::StrCat("[", ShortName(name), "]"));
}

}  // namespace
}  // namespace tao
