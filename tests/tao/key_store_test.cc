#include "tao/key_store.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tao/byte_reader.h"
#include "tao/crypto.h"
#include "tao/file_util.h"
#include "tao/principal.h"
#include "tests/testing/bytes.h"
#include "tests/testing/names.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/tao_printers.h"
#include "tests/testing/temp_dir.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::IsOkAndHolds;
using ::tao::test::kFastScrypt;
using ::tao::test::ListDirectory;
using ::tao::test::SetU32;
using ::tao::test::StatusIs;
using ::tao::test::TempDir;
using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr absl::string_view kPassphrase = "correct horse battery staple";

// Offsets in the keys file (docs/keys-at-rest.md).
constexpr size_t kVersionAt = 4;
constexpr size_t kFlagsAt = 6;
constexpr size_t kNAt = 8;
constexpr size_t kRAt = 16;
constexpr size_t kPAt = 20;
constexpr size_t kSaltAt = 24;
constexpr size_t kCheckAt = 40;
constexpr size_t kIvAt = 72;
constexpr size_t kCtLenAt = 84;
constexpr size_t kHeaderSize = 88;

void SetU64(std::string* file, size_t offset, uint64_t v) {
  std::string enc;
  AppendU64(v, &enc);
  file->replace(offset, 8, enc);
}

class KeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(keys_, HostKeys::Generate());
    ASSERT_OK_AND_ASSIGN(file_,
                         EncryptHostKeys(*keys_, kPassphrase, kFastScrypt));
  }

  std::optional<HostKeys> keys_;
  std::string file_;
};

TEST(HostKeysTest, GenerateMakesFreshKeys) {
  ASSERT_OK_AND_ASSIGN(HostKeys a, HostKeys::Generate());
  ASSERT_OK_AND_ASSIGN(HostKeys b, HostKeys::Generate());
  EXPECT_EQ(a.sealing_secret.size(), kSealingSecretSize);
  EXPECT_NE(a.sealing_secret.view(), b.sealing_secret.view());
  EXPECT_NE(a.signing_key.verifying_key(), b.signing_key.verifying_key());
}

TEST_F(KeyStoreTest, RoundTrip) {
  ASSERT_OK_AND_ASSIGN(HostKeys loaded, DecryptHostKeys(file_, kPassphrase));
  EXPECT_EQ(loaded.signing_key.verifying_key(),
            keys_->signing_key.verifying_key());
  EXPECT_EQ(loaded.sealing_secret.view(), keys_->sealing_secret.view());
  // The loaded private key is the same key.
  ASSERT_OK_AND_ASSIGN(std::string sig, loaded.signing_key.Sign("ctx", "data"));
  EXPECT_THAT(keys_->signing_key.verifying_key().Verify("ctx", "data", sig),
              IsOk());
}

TEST_F(KeyStoreTest, FileHasTheDocumentedHeaderAndNoSecretsInClear) {
  EXPECT_EQ(file_.substr(0, 4), "TAOK");
  EXPECT_EQ(file_.substr(kVersionAt, 4), std::string("\0\x01\0\0", 4));
  std::string params;
  AppendU64(kFastScrypt.n, &params);
  AppendU32(kFastScrypt.r, &params);
  AppendU32(kFastScrypt.p, &params);
  EXPECT_EQ(file_.substr(kNAt, 16), params);
  ASSERT_GT(file_.size(), kHeaderSize + kAesGcmTagSize);
  std::string ct_len;
  AppendU32(static_cast<uint32_t>(file_.size() - kHeaderSize - kAesGcmTagSize),
            &ct_len);
  EXPECT_EQ(file_.substr(kCtLenAt, 4), ct_len);

  EXPECT_EQ(file_.find(keys_->sealing_secret.Copy()), std::string::npos);
  ASSERT_OK_AND_ASSIGN(SecretString pkcs8, keys_->signing_key.ToPkcs8());
  EXPECT_EQ(file_.find(std::string(pkcs8.view().substr(pkcs8.size() - 40))),
            std::string::npos);
  EXPECT_EQ(file_.find(std::string(kPassphrase)), std::string::npos);
}

TEST_F(KeyStoreTest, EncryptingTwiceGivesDifferentFiles) {
  ASSERT_OK_AND_ASSIGN(std::string again,
                       EncryptHostKeys(*keys_, kPassphrase, kFastScrypt));
  EXPECT_NE(again, file_);
  EXPECT_NE(again.substr(kSaltAt, 16), file_.substr(kSaltAt, 16));
  EXPECT_THAT(DecryptHostKeys(again, kPassphrase), IsOk());
}

TEST_F(KeyStoreTest, WrongPassphraseIsPermissionDenied) {
  for (absl::string_view wrong :
       {absl::string_view("correct horse battery stapl"),
        absl::string_view("correct horse battery staple "),
        absl::string_view("Correct horse battery staple"),
        absl::string_view("x")}) {
    EXPECT_THAT(
        DecryptHostKeys(file_, wrong),
        StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("passphrase")))
        << wrong;
  }
}

TEST_F(KeyStoreTest, EmptyPassphraseIsInvalidArgument) {
  EXPECT_THAT(EncryptHostKeys(*keys_, "", kFastScrypt),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecryptHostKeys(file_, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(KeyStoreTest, EncryptRefusesBadParams) {
  for (const ScryptParams& bad :
       {ScryptParams{1 << 9, 8, 1}, ScryptParams{1000, 8, 1},
        ScryptParams{1 << 10, 0, 1}, ScryptParams{1 << 10, 8, 0},
        ScryptParams{1 << 10, 8, 17}}) {
    EXPECT_THAT(EncryptHostKeys(*keys_, kPassphrase, bad),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
}

TEST_F(KeyStoreTest, AlteredCiphertextOrTagIsDataLoss) {
  for (size_t at :
       {kHeaderSize, kHeaderSize + 50, file_.size() - kAesGcmTagSize - 1,
        file_.size() - kAesGcmTagSize, file_.size() - 1}) {
    std::string altered = file_;
    altered[at] ^= 0x01;
    EXPECT_THAT(DecryptHostKeys(altered, kPassphrase),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("altered")))
        << at;
  }
  // The IV is not covered by the check value, only by the tag.
  std::string iv = file_;
  iv[kIvAt] ^= 0x01;
  EXPECT_THAT(DecryptHostKeys(iv, kPassphrase),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(KeyStoreTest, AlteredSaltOrCheckValueLooksLikeAWrongPassphrase) {
  for (size_t at : {kSaltAt, kSaltAt + 15, kCheckAt, kCheckAt + 31}) {
    std::string altered = file_;
    altered[at] ^= 0x01;
    EXPECT_THAT(DecryptHostKeys(altered, kPassphrase),
                StatusIs(absl::StatusCode::kPermissionDenied))
        << at;
  }
}

TEST_F(KeyStoreTest, MalformedHeaderIsInvalidArgument) {
  std::string magic = file_;
  magic[0] = 'X';
  EXPECT_THAT(DecryptHostKeys(magic, kPassphrase),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("magic")));
  std::string version = file_;
  version[kVersionAt + 1] = 2;
  EXPECT_THAT(
      DecryptHostKeys(version, kPassphrase),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("version")));
  std::string flags = file_;
  flags[kFlagsAt] = 1;
  EXPECT_THAT(DecryptHostKeys(flags, kPassphrase),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("flags")));
  std::string ct_len = file_;
  SetU32(&ct_len, kCtLenAt, static_cast<uint32_t>(file_.size()));
  EXPECT_THAT(
      DecryptHostKeys(ct_len, kPassphrase),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("length")));
  EXPECT_THAT(DecryptHostKeys("", kPassphrase),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecryptHostKeys(file_ + "x", kPassphrase),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(KeyStoreTest,
       OutOfBoundsScryptParamsAreInvalidArgumentWithoutRunningScrypt) {
  struct Case {
    size_t offset;
    uint64_t value;
    bool wide;
    absl::string_view field;
  };
  for (const Case& c :
       {Case{kNAt, uint64_t{1} << 30, true, "N="},
        Case{kNAt, uint64_t{1} << 62, true, "N="}, Case{kNAt, 0, true, "N="},
        Case{kNAt, 1000, true, "N="}, Case{kRAt, 0, false, "r="},
        Case{kRAt, 0xffffffff, false, "r="}, Case{kPAt, 0, false, "p="},
        Case{kPAt, 1000000, false, "p="}}) {
    std::string file = file_;
    if (c.wide) {
      SetU64(&file, c.offset, c.value);
    } else {
      SetU32(&file, c.offset, static_cast<uint32_t>(c.value));
    }
    EXPECT_THAT(
        DecryptHostKeys(file, kPassphrase),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.field)))
        << c.field << c.value;
  }
}

// DecryptHostKeys promises kInvalidArgument for out-of-bounds parameters, so
// a file's parameters must never reach scrypt only to fail there (kInternal).
// N = 2^16, r = 1 passes ValidateScryptParams, but OpenSSL's scrypt needs
// N < 2^(16 r).
TEST_F(KeyStoreTest, ParamsScryptCannotRunAreRefusedAsInvalid) {
  std::string file = file_;
  SetU64(&file, kNAt, uint64_t{1} << 16);
  SetU32(&file, kRAt, 1);
  EXPECT_THAT(DecryptHostKeys(file, kPassphrase),
              StatusIs(AnyOf(absl::StatusCode::kInvalidArgument,
                             absl::StatusCode::kPermissionDenied)));
  EXPECT_THAT(EncryptHostKeys(*keys_, kPassphrase, ScryptParams{1 << 16, 1, 1}),
              Not(StatusIs(absl::StatusCode::kInternal)));
}

TEST_F(KeyStoreTest, EveryTruncationIsInvalidArgument) {
  for (size_t len = 0; len < file_.size(); ++len) {
    ASSERT_THAT(
        DecryptHostKeys(absl::string_view(file_).substr(0, len), kPassphrase),
        StatusIs(absl::StatusCode::kInvalidArgument))
        << len;
  }
}

TEST_F(KeyStoreTest, EveryAlteredByteIsRefused) {
  for (size_t i = 0; i < file_.size(); ++i) {
    std::string altered = file_;
    altered[i] ^= static_cast<char>(1 << (i % 8));
    ASSERT_THAT(DecryptHostKeys(altered, kPassphrase),
                StatusIs(AnyOf(absl::StatusCode::kInvalidArgument,
                               absl::StatusCode::kPermissionDenied,
                               absl::StatusCode::kDataLoss)))
        << "byte " << i;
  }
}

TEST_F(KeyStoreTest, KeepsTheScryptParamsItWasMadeWith) {
  ASSERT_OK_AND_ASSIGN(
      std::string file,
      EncryptHostKeys(*keys_, kPassphrase, ScryptParams{1 << 11, 4, 2}));
  std::string params;
  AppendU64(1 << 11, &params);
  AppendU32(4, &params);
  AppendU32(2, &params);
  EXPECT_EQ(file.substr(kNAt, 16), params);
  EXPECT_THAT(DecryptHostKeys(file, kPassphrase), IsOk());
}

// --- Key directories ---------------------------------------------------------

class KeyDirectoryTest : public ::testing::Test {
 protected:
  KeyDirectoryOptions Options(absl::string_view basename = "policy") const {
    KeyDirectoryOptions options;
    options.dir = dir_;
    options.basename = std::string(basename);
    options.passphrase = std::string(kPassphrase);
    options.scrypt = kFastScrypt;
    return options;
  }

  TempDir tmp_;
  const std::string dir_ = tmp_.Join("keys");
};

TEST_F(KeyDirectoryTest, PathsUseTheBasename) {
  EXPECT_EQ(KeysFilePath("/d", "host"), "/d/host_keys");
  EXPECT_EQ(NameFilePath("/d", "host"), "/d/host_name");
  EXPECT_EQ(KeysFilePath("/d", "publisher"), "/d/publisher_keys");
}

TEST_F(KeyDirectoryTest, CreatesThenLoadsTheSameKeys) {
  bool created = false;
  ASSERT_OK_AND_ASSIGN(HostKeys made,
                       LoadOrCreateKeyDirectory(Options(), &created));
  EXPECT_TRUE(created);
  EXPECT_THAT(ListDirectory(dir_), ElementsAre("policy_keys", "policy_name"));
  const std::string name =
      Principal::ForKey(made.signing_key.verifying_key()).text();
  EXPECT_THAT(ReadFileToString(NameFilePath(dir_, "policy")),
              IsOkAndHolds(name + "\n"));

  created = true;
  ASSERT_OK_AND_ASSIGN(HostKeys loaded,
                       LoadOrCreateKeyDirectory(Options(), &created));
  EXPECT_FALSE(created);
  EXPECT_EQ(loaded.signing_key.verifying_key(),
            made.signing_key.verifying_key());
  EXPECT_EQ(loaded.sealing_secret.view(), made.sealing_secret.view());

  // Another basename in the same directory is another set of keys.
  ASSERT_OK_AND_ASSIGN(
      HostKeys other, LoadOrCreateKeyDirectory(Options("publisher"), &created));
  EXPECT_TRUE(created);
  EXPECT_NE(other.signing_key.verifying_key(),
            made.signing_key.verifying_key());
  EXPECT_THAT(ListDirectory(dir_),
              ElementsAre("policy_keys", "policy_name", "publisher_keys",
                          "publisher_name"));
}

TEST_F(KeyDirectoryTest, NeverReplacesKeysItCannotOpen) {
  bool created = false;
  ASSERT_THAT(LoadOrCreateKeyDirectory(Options(), &created), IsOk());
  ASSERT_OK_AND_ASSIGN(std::string before,
                       ReadFileToString(KeysFilePath(dir_, "policy")));
  KeyDirectoryOptions wrong = Options();
  wrong.passphrase = "wrong";
  EXPECT_THAT(LoadOrCreateKeyDirectory(wrong, &created),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(ReadFileToString(KeysFilePath(dir_, "policy")),
              IsOkAndHolds(before));
}

TEST_F(KeyDirectoryTest, RefusesBadOptions) {
  bool created = false;
  KeyDirectoryOptions no_dir = Options();
  no_dir.dir = "";
  EXPECT_THAT(LoadOrCreateKeyDirectory(no_dir, &created),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(LoadOrCreateKeyDirectory(Options(""), &created),
              StatusIs(absl::StatusCode::kInvalidArgument));
  KeyDirectoryOptions no_passphrase = Options();
  no_passphrase.passphrase = "";
  EXPECT_THAT(LoadOrCreateKeyDirectory(no_passphrase, &created),
              StatusIs(absl::StatusCode::kInvalidArgument));
  KeyDirectoryOptions bad_scrypt = Options();
  bad_scrypt.scrypt = ScryptParams{1 << 10, 0, 1};
  EXPECT_THAT(LoadOrCreateKeyDirectory(bad_scrypt, &created),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ListDirectory(tmp_.path()), IsEmpty());
}

TEST_F(KeyDirectoryTest, NotFoundWithoutCreation) {
  bool created = false;
  KeyDirectoryOptions options = Options();
  options.create_if_missing = false;
  EXPECT_THAT(LoadOrCreateKeyDirectory(options, &created),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ListDirectory(tmp_.path()), IsEmpty());
}

}  // namespace
}  // namespace tao
