#include "tao/soft_tao.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tao/attestation.h"
#include "tao/byte_reader.h"
#include "tao/clock.h"
#include "tao/crypto.h"
#include "tao/file_util.h"
#include "tao/key_store.h"
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
using ::tao::test::ModeOf;
using ::tao::test::StatusIs;
using ::tao::test::TempDir;
using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr absl::string_view kPassphrase = "soft tao passphrase";

// What the test can observe of one file without changing it.
struct FileState {
  std::string contents;
  mode_t mode;
  ino_t inode;
  int64_t mtime_ns;
  bool operator==(const FileState& o) const {
    return contents == o.contents && mode == o.mode && inode == o.inode &&
           mtime_ns == o.mtime_ns;
  }
};

void PrintTo(const FileState& s, std::ostream* os) {
  *os << "{" << s.contents.size() << " bytes, mode " << std::oct << s.mode
      << std::dec << ", inode " << s.inode << ", mtime " << s.mtime_ns << "ns}";
}

// Every entry of `dir` with its state.
std::map<std::string, FileState> Snapshot(const std::string& dir) {
  std::map<std::string, FileState> out;
  for (const std::string& name : ListDirectory(dir)) {
    const std::string path = absl::StrCat(dir, "/", name);
    struct stat st;
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    auto contents = ReadFileToString(path);
    EXPECT_THAT(contents, IsOk());
    out[name] =
        FileState{contents.ok() ? *contents : "", st.st_mode & 07777, st.st_ino,
                  int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec};
  }
  return out;
}

// Sets the mtime of every file in `dir` to a fixed time long ago, so that
// any later write shows up even on a coarse clock.
void AgeFiles(const std::string& dir) {
  for (const std::string& name : ListDirectory(dir)) {
    const std::string path = absl::StrCat(dir, "/", name);
    struct timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
    EXPECT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
  }
}

class SoftTaoTest : public ::testing::Test {
 protected:
  SoftTaoOptions Options() const {
    SoftTaoOptions options;
    options.keys_dir = keys_dir_;
    options.passphrase = std::string(kPassphrase);
    options.scrypt = kFastScrypt;
    return options;
  }
  absl::StatusOr<std::unique_ptr<SoftTao>> Create() const {
    return SoftTao::Create(Options());
  }
  absl::StatusOr<std::unique_ptr<SoftTao>> CreateWith(
      absl::string_view passphrase) const {
    SoftTaoOptions options = Options();
    options.passphrase = std::string(passphrase);
    return SoftTao::Create(options);
  }
  std::string KeysFile() const {
    return KeysFilePath(keys_dir_, kHostKeyBasename);
  }
  std::string NameFile() const {
    return NameFilePath(keys_dir_, kHostKeyBasename);
  }

  TempDir tmp_;
  // Not created yet: SoftTao makes it.
  const std::string keys_dir_ = tmp_.Join("keys");
};

TEST_F(SoftTaoTest, CreatesKeysDirectoryAndFiles) {
  ASSERT_OK_AND_ASSIGN(auto tao, Create());
  EXPECT_TRUE(tao->created_keys());
  EXPECT_THAT(ListDirectory(keys_dir_), ElementsAre("host_keys", "host_name"));
  EXPECT_EQ(ModeOf(keys_dir_), 0700u);
  EXPECT_EQ(ModeOf(KeysFile()), 0600u);
  ASSERT_OK_AND_ASSIGN(Principal name, tao->GetTaoName());
  EXPECT_TRUE(name.subprincipals().empty());
  EXPECT_EQ(name, Principal::ForKey(tao->host().signing_public_key()));
}

TEST_F(SoftTaoTest, HostNameFileHoldsThePrincipalText) {
  ASSERT_OK_AND_ASSIGN(auto tao, Create());
  ASSERT_OK_AND_ASSIGN(Principal name, tao->GetTaoName());
  ASSERT_OK_AND_ASSIGN(std::string text, ReadFileToString(NameFile()));
  EXPECT_THAT(text, AnyOf(Eq(name.text()), Eq(name.text() + "\n")));
  if (!text.empty() && text.back() == '\n') text.pop_back();
  EXPECT_THAT(Principal::Parse(text), IsOkAndHolds(name));
  // It is a usable trust anchor: the attestations verify against it.
  ASSERT_OK_AND_ASSIGN(Principal anchor, Principal::Parse(text));
  ASSERT_OK_AND_ASSIGN(VerifyingKey root,
                       VerifyingKey::FromSpki(anchor.key_spki()));
  Statement s;
  s.mutable_predicate()->set_name("booted");
  ASSERT_OK_AND_ASSIGN(Attestation a, tao->Attest(s));
  FixedClock clock(absl::FromUnixSeconds(1700000000));
  ASSERT_OK_AND_ASSIGN(VerifiedStatement v,
                       AttestationVerifier({root}, clock).Verify(a));
  EXPECT_EQ(v.speaker, name);
}

TEST_F(SoftTaoTest, ReloadHasTheSameNameAndUnsealsWhatTheFirstSealed) {
  std::string sealed;
  std::string name_text;
  {
    ASSERT_OK_AND_ASSIGN(auto first, Create());
    ASSERT_OK_AND_ASSIGN(Principal name, first->GetTaoName());
    name_text = name.text();
    ASSERT_OK_AND_ASSIGN(sealed,
                         first->Seal("across restarts", "policy-bytes"));
  }
  ASSERT_OK_AND_ASSIGN(auto second, Create());
  EXPECT_FALSE(second->created_keys());
  ASSERT_OK_AND_ASSIGN(Principal name, second->GetTaoName());
  EXPECT_EQ(name.text(), name_text);
  ASSERT_OK_AND_ASSIGN(Unsealed unsealed, second->Unseal(sealed));
  EXPECT_EQ(unsealed.data.view(), "across restarts");
  EXPECT_EQ(unsealed.policy, "policy-bytes");
  EXPECT_EQ(unsealed.sealer.text(), name_text);
}

TEST_F(SoftTaoTest, ReloadWritesNothing) {
  { ASSERT_THAT(Create(), IsOk()); }
  AgeFiles(keys_dir_);
  const auto before = Snapshot(keys_dir_);
  ASSERT_THAT(Create(), IsOk());
  EXPECT_EQ(Snapshot(keys_dir_), before);
}

TEST_F(SoftTaoTest, WrongPassphraseIsPermissionDeniedAndChangesNothing) {
  { ASSERT_THAT(Create(), IsOk()); }
  AgeFiles(keys_dir_);
  const auto before = Snapshot(keys_dir_);
  ASSERT_THAT(before, SizeIs(2));

  EXPECT_THAT(
      CreateWith("not the passphrase"),
      StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("passphrase")));
  EXPECT_THAT(CreateWith(std::string(kPassphrase) + " "),
              StatusIs(absl::StatusCode::kPermissionDenied));

  // Byte for byte, mode, inode and mtime; and no temporary files left.
  EXPECT_EQ(Snapshot(keys_dir_), before);
  EXPECT_THAT(ListDirectory(keys_dir_), ElementsAre("host_keys", "host_name"));
  EXPECT_EQ(ModeOf(keys_dir_), 0700u);
  // The right passphrase still works afterwards.
  EXPECT_THAT(Create(), IsOk());
}

TEST_F(SoftTaoTest, AlteredCiphertextIsDataLoss) {
  { ASSERT_THAT(Create(), IsOk()); }
  ASSERT_OK_AND_ASSIGN(std::string file, ReadFileToString(KeysFile()));
  file[file.size() - 30] ^= 0x01;  // inside the ciphertext
  ASSERT_THAT(WriteFileAtomically(KeysFile(), file, 0600), IsOk());
  AgeFiles(keys_dir_);
  const auto before = Snapshot(keys_dir_);
  EXPECT_THAT(Create(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr(KeysFile())));
  EXPECT_EQ(Snapshot(keys_dir_), before)
      << "a failed load must not rewrite the keys";
}

TEST_F(SoftTaoTest, AlteredMagicIsInvalidArgument) {
  { ASSERT_THAT(Create(), IsOk()); }
  ASSERT_OK_AND_ASSIGN(std::string file, ReadFileToString(KeysFile()));
  file[0] = 'X';
  ASSERT_THAT(WriteFileAtomically(KeysFile(), file, 0600), IsOk());
  AgeFiles(keys_dir_);
  const auto before = Snapshot(keys_dir_);
  EXPECT_THAT(Create(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("magic")));
  EXPECT_EQ(Snapshot(keys_dir_), before);
}

TEST_F(SoftTaoTest, BadScryptParamsAreInvalidArgument) {
  { ASSERT_THAT(Create(), IsOk()); }
  ASSERT_OK_AND_ASSIGN(std::string file, ReadFileToString(KeysFile()));
  std::string huge_n;
  AppendU64(uint64_t{1} << 40, &huge_n);
  file.replace(8, 8, huge_n);  // N, right after magic, version and flags
  ASSERT_THAT(WriteFileAtomically(KeysFile(), file, 0600), IsOk());
  EXPECT_THAT(Create(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("N=")));
}

TEST_F(SoftTaoTest, CreateIfMissingFalseOnEmptyDirectoryIsNotFound) {
  ASSERT_THAT(EnsureDirectory(keys_dir_, 0700), IsOk());
  SoftTaoOptions options = Options();
  options.create_if_missing = false;
  EXPECT_THAT(SoftTao::Create(options), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ListDirectory(keys_dir_), IsEmpty());
}

TEST_F(SoftTaoTest, CreateIfMissingFalseOnMissingDirectoryCreatesNothing) {
  SoftTaoOptions options = Options();
  options.create_if_missing = false;
  EXPECT_THAT(SoftTao::Create(options), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(PathExists(keys_dir_));
  EXPECT_THAT(ListDirectory(tmp_.path()), IsEmpty());
}

TEST_F(SoftTaoTest, CreateIfMissingFalseLoadsExistingKeys) {
  ASSERT_OK_AND_ASSIGN(auto first, Create());
  ASSERT_OK_AND_ASSIGN(Principal name, first->GetTaoName());
  SoftTaoOptions options = Options();
  options.create_if_missing = false;
  ASSERT_OK_AND_ASSIGN(auto second, SoftTao::Create(options));
  EXPECT_THAT(second->GetTaoName(), IsOkAndHolds(name));
}

TEST_F(SoftTaoTest, FailedCreationWritesNothing) {
  SoftTaoOptions options = Options();
  options.scrypt = ScryptParams{1 << 5, 8, 1};  // out of bounds
  EXPECT_THAT(SoftTao::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_FALSE(PathExists(keys_dir_));
}

TEST_F(SoftTaoTest, RequiresDirectoryAndPassphrase) {
  SoftTaoOptions no_dir = Options();
  no_dir.keys_dir = "";
  EXPECT_THAT(SoftTao::Create(no_dir),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CreateWith(""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_FALSE(PathExists(keys_dir_));
}

TEST_F(SoftTaoTest, SharedSecretIsStableAcrossReloads) {
  std::string secret;
  {
    ASSERT_OK_AND_ASSIGN(auto first, Create());
    ASSERT_OK_AND_ASSIGN(SecretString s,
                         first->GetSharedSecret(32, "policy-a"));
    EXPECT_EQ(s.size(), 32u);
    secret = s.Copy();
    ASSERT_OK_AND_ASSIGN(SecretString again,
                         first->GetSharedSecret(32, "policy-a"));
    EXPECT_EQ(again.view(), secret);
  }
  ASSERT_OK_AND_ASSIGN(auto second, Create());
  ASSERT_OK_AND_ASSIGN(SecretString reloaded,
                       second->GetSharedSecret(32, "policy-a"));
  EXPECT_EQ(reloaded.view(), secret);
}

TEST_F(SoftTaoTest, SharedSecretDiffersPerPolicyNameAndHost) {
  ASSERT_OK_AND_ASSIGN(auto tao, Create());
  ASSERT_OK_AND_ASSIGN(SecretString a, tao->GetSharedSecret(32, "policy-a"));
  ASSERT_OK_AND_ASSIGN(SecretString b, tao->GetSharedSecret(32, "policy-b"));
  ASSERT_OK_AND_ASSIGN(SecretString empty, tao->GetSharedSecret(32, ""));
  EXPECT_NE(a.view(), b.view());
  EXPECT_NE(a.view(), empty.view());

  auto sub = Subprincipal::Ext("role", "x");
  ASSERT_THAT(sub, IsOk());
  ASSERT_THAT(tao->ExtendTaoName(*sub), IsOk());
  ASSERT_OK_AND_ASSIGN(SecretString extended,
                       tao->GetSharedSecret(32, "policy-a"));
  EXPECT_NE(extended.view(), a.view());

  TempDir other_dir;
  SoftTaoOptions options = Options();
  options.keys_dir = other_dir.path();
  ASSERT_OK_AND_ASSIGN(auto other, SoftTao::Create(options));
  ASSERT_OK_AND_ASSIGN(SecretString other_host,
                       other->GetSharedSecret(32, "policy-a"));
  EXPECT_NE(other_host.view(), a.view());
}

TEST_F(SoftTaoTest, SharedSecretLengths) {
  ASSERT_OK_AND_ASSIGN(auto tao, Create());
  EXPECT_THAT(tao->GetSharedSecret(0, "p"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(tao->GetSharedSecret(1, "p"), IsOkAndHolds(SizeIs(1)));
  EXPECT_THAT(tao->GetSharedSecret(64, "p"), IsOkAndHolds(SizeIs(64)));
}

TEST_F(SoftTaoTest, ExtendTaoNameChangesNameAttestationsAndSealer) {
  ASSERT_OK_AND_ASSIGN(auto tao, Create());
  ASSERT_OK_AND_ASSIGN(Principal base, tao->GetTaoName());
  ASSERT_OK_AND_ASSIGN(Subprincipal sub, Subprincipal::Ext("config", "v2"));
  ASSERT_THAT(tao->ExtendTaoName(sub), IsOk());
  ASSERT_OK_AND_ASSIGN(Principal extended, base.Extend(sub));
  EXPECT_THAT(tao->GetTaoName(), IsOkAndHolds(extended));

  // Attestations speak as the extended name; a speaker outside it is refused.
  Statement s;
  s.mutable_predicate()->set_name("ready");
  ASSERT_OK_AND_ASSIGN(Attestation a, tao->Attest(s));
  FixedClock clock(absl::FromUnixSeconds(1700000000));
  AttestationVerifier verifier({tao->host().signing_public_key()}, clock);
  ASSERT_OK_AND_ASSIGN(VerifiedStatement v, verifier.Verify(a));
  EXPECT_EQ(v.speaker, extended);
  s.set_speaker(base.text());
  EXPECT_THAT(tao->Attest(s), StatusIs(absl::StatusCode::kPermissionDenied));

  ASSERT_OK_AND_ASSIGN(std::string sealed, tao->Seal("d", "p"));
  ASSERT_OK_AND_ASSIGN(Unsealed unsealed, tao->Unseal(sealed));
  EXPECT_EQ(unsealed.sealer, extended);

  // The extension is not persisted: a reload starts from the key's name.
  ASSERT_OK_AND_ASSIGN(auto reloaded, Create());
  EXPECT_THAT(reloaded->GetTaoName(), IsOkAndHolds(base));
}

TEST_F(SoftTaoTest, ExtendTaoNameTakesOnlyExt) {
  ASSERT_OK_AND_ASSIGN(auto tao, Create());
  ASSERT_OK_AND_ASSIGN(Principal base, tao->GetTaoName());
  ASSERT_OK_AND_ASSIGN(SigningKey publisher, SigningKey::Generate());
  const std::string digest(kSha256Size, '\x07');
  for (const absl::StatusOr<Subprincipal>& sub :
       {Subprincipal::Program(digest), Subprincipal::Args(digest),
        Subprincipal::Vm(digest), Subprincipal::Enclave(digest),
        Subprincipal::Publisher(publisher.verifying_key(), "prod", 1)}) {
    ASSERT_THAT(sub, IsOk());
    EXPECT_THAT(
        tao->ExtendTaoName(*sub),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(sub->kind())));
  }
  EXPECT_THAT(tao->GetTaoName(), IsOkAndHolds(base));
}

TEST_F(SoftTaoTest, ExtendTaoNameStopsAtTheSubprincipalLimit) {
  ASSERT_OK_AND_ASSIGN(auto tao, Create());
  ASSERT_OK_AND_ASSIGN(Subprincipal sub, Subprincipal::Ext("n", "1"));
  for (size_t i = 0; i < kMaxSubprincipals; ++i)
    ASSERT_THAT(tao->ExtendTaoName(sub), IsOk());
  ASSERT_OK_AND_ASSIGN(Principal full, tao->GetTaoName());
  EXPECT_THAT(tao->ExtendTaoName(sub),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(tao->GetTaoName(), IsOkAndHolds(full));
}

TEST_F(SoftTaoTest, LoadRepairsAMissingOrStaleNameFile) {
  std::string name_text;
  {
    ASSERT_OK_AND_ASSIGN(auto tao, Create());
    ASSERT_OK_AND_ASSIGN(Principal name, tao->GetTaoName());
    name_text = name.text() + "\n";
  }
  ASSERT_EQ(::unlink(NameFile().c_str()), 0);
  ASSERT_THAT(Create(), IsOk());
  EXPECT_THAT(ReadFileToString(NameFile()), IsOkAndHolds(name_text));
  EXPECT_EQ(ModeOf(NameFile()), 0644u);

  ASSERT_OK_AND_ASSIGN(SigningKey other, SigningKey::Generate());
  ASSERT_THAT(WriteFileAtomically(
                  NameFile(),
                  Principal::ForKey(other.verifying_key()).text() + "\n", 0644),
              IsOk());
  ASSERT_THAT(Create(), IsOk());
  EXPECT_THAT(ReadFileToString(NameFile()), IsOkAndHolds(name_text));
  EXPECT_THAT(ListDirectory(keys_dir_), ElementsAre("host_keys", "host_name"));
}

TEST_F(SoftTaoTest, WrongPassphraseDoesNotRepairTheNameFile) {
  { ASSERT_THAT(Create(), IsOk()); }
  ASSERT_THAT(WriteFileAtomically(NameFile(), "stale\n", 0644), IsOk());
  AgeFiles(keys_dir_);
  const auto before = Snapshot(keys_dir_);
  EXPECT_THAT(CreateWith("wrong"),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(Snapshot(keys_dir_), before);
}

TEST_F(SoftTaoTest, AttestRefusesAForeignSpeaker) {
  ASSERT_OK_AND_ASSIGN(auto tao, Create());
  ASSERT_OK_AND_ASSIGN(SigningKey other, SigningKey::Generate());
  Statement s;
  s.set_speaker(Principal::ForKey(other.verifying_key()).text());
  EXPECT_THAT(tao->Attest(s), StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(SoftTaoTest, UnsealRefusesAnotherHostsBundle) {
  ASSERT_OK_AND_ASSIGN(auto tao, Create());
  TempDir other_dir;
  SoftTaoOptions options = Options();
  options.keys_dir = other_dir.path();
  ASSERT_OK_AND_ASSIGN(auto other, SoftTao::Create(options));
  ASSERT_OK_AND_ASSIGN(std::string sealed, other->Seal("theirs", "p"));
  EXPECT_THAT(tao->Unseal(sealed), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(tao->Unseal("garbage"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(SoftTaoTest, GetRandomBytes) {
  ASSERT_OK_AND_ASSIGN(auto tao, Create());
  EXPECT_THAT(tao->GetRandomBytes(48), IsOkAndHolds(SizeIs(48)));
  EXPECT_THAT(tao->GetRandomBytes((size_t{1} << 20) + 1),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace tao
