// A disk that fills up while the host writes: each test mounts a 256 KiB
// tmpfs (mount(2); the tests run as root and FAIL, not skip, if they cannot
// mount), fills it, and checks that the write fails with a clear errno status
// (ENOSPC: "No space left on device") and that nothing already written is
// lost: the old file is intact, no temporary is left, the audit trail still
// verifies and reopens, key creation leaves no keys or keys that load.
//
// tmpfs hands out space in 4 KiB pages, and a directory costs none; the
// tests compute free space with statvfs(2).
#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tao/clock.h"
#include "tao/file_util.h"
#include "tao/key_store.h"
#include "tao/soft_tao.h"
#include "tao_domain/audit_log.h"
#include "tao_domain/policy_io.h"
#include "tao_domain/tao_domain.h"
#include "tests/faults/crash_values.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr size_t kPage = 4096;
constexpr char kNoSpace[] = "No space left on device";

class DiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mnt_ = dir_.Join("small-disk");
    ASSERT_EQ(::mkdir(mnt_.c_str(), 0700), 0) << strerror(errno);
    if (::mount("tmpfs", mnt_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
                "size=256k,mode=0700") != 0) {
      int err = errno;
      FAIL() << "cannot mount a 256 KiB tmpfs at " << mnt_ << ": "
             << strerror(err)
             << ". The disk-full tests need root (CAP_SYS_ADMIN) to mount one; "
                "they "
                "fail rather than skip so that a run without it is noticed.";
    }
    mounted_ = true;
  }

  void TearDown() override {
    if (mounted_) {
      EXPECT_EQ(::umount2(mnt_.c_str(), MNT_DETACH), 0) << strerror(errno);
    }
  }

  std::string OnDisk(absl::string_view name) const {
    return absl::StrCat(mnt_, "/", name);
  }

  uint64_t FreeBytes() const {
    struct statvfs st;
    if (::statvfs(mnt_.c_str(), &st) != 0) return 0;
    return uint64_t{st.f_bavail} * st.f_frsize;
  }

  // Writes a filler file that leaves exactly `leave` bytes free (a multiple
  // of the page size).
  void FillLeaving(uint64_t leave, const std::string& name = "filler") {
    uint64_t free_bytes = FreeBytes();
    ASSERT_GE(free_bytes, leave);
    std::string path = OnDisk(name);
    int fd =
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0) << strerror(errno);
    std::string chunk(kPage, 'f');
    for (uint64_t left = free_bytes - leave; left > 0; left -= kPage) {
      ASSERT_EQ(::write(fd, chunk.data(), kPage), static_cast<ssize_t>(kPage))
          << strerror(errno);
    }
    ::close(fd);
    ASSERT_EQ(FreeBytes(), leave);
  }

  // The temporaries (*.tmp.*) in `dir`.
  std::vector<std::string> Temporaries(const std::string& dir) const {
    std::vector<std::string> out;
    for (const std::string& name : test::ListDirectory(dir)) {
      if (absl::StrContains(name, ".tmp.")) out.push_back(name);
    }
    return out;
  }

  static mode_t ModeOf(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
  }

  test::TempDir dir_;
  std::string mnt_;
  bool mounted_ = false;
};

// ---- WriteFileAtomically ----------------------------------------------------

TEST_F(DiskFullTest, AWriteBiggerThanTheSpaceLeftFailsAndKeepsTheOldFile) {
  const std::string path = OnDisk("state");
  const std::string old_contents = faults::Pattern('o', 40 * 1024);
  ASSERT_THAT(WriteFileAtomically(path, old_contents), IsOk());
  FillLeaving(64 * 1024);

  absl::Status written =
      WriteFileAtomically(path, faults::Pattern('n', 100 * 1024));
  EXPECT_THAT(written, StatusIs(absl::StatusCode::kResourceExhausted,
                                AllOf(HasSubstr(kNoSpace), HasSubstr(path))));
  std::cout << "WriteFileAtomically on a full disk: " << written << "\n";
  EXPECT_EQ(ReadFileToString(path).value_or(""), old_contents);
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_THAT(Temporaries(mnt_), IsEmpty());
  EXPECT_EQ(FreeBytes(), 64u * 1024)
      << "the temporary's space was not given back";

  // What fits still goes in.
  const std::string fits = faults::Pattern('f', 32 * 1024);
  EXPECT_THAT(WriteFileAtomically(path, fits), IsOk());
  EXPECT_EQ(ReadFileToString(path).value_or(""), fits);
}

// Replacing atomically needs room for the new copy beside the old one: a new
// file smaller than the old can still fail on a nearly full disk. It fails
// cleanly.
TEST_F(DiskFullTest, ReplacingNeedsRoomForBothCopies) {
  const std::string path = OnDisk("state");
  const std::string old_contents = faults::Pattern('o', 100 * 1024);
  ASSERT_THAT(WriteFileAtomically(path, old_contents), IsOk());
  FillLeaving(64 * 1024);
  EXPECT_THAT(
      WriteFileAtomically(path, faults::Pattern('n', 80 * 1024)),
      StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr(kNoSpace)));
  EXPECT_EQ(ReadFileToString(path).value_or(""), old_contents);
  EXPECT_THAT(Temporaries(mnt_), IsEmpty());
}

TEST_F(DiskFullTest, AWriteToACompletelyFullDiskFails) {
  const std::string path = OnDisk("state");
  ASSERT_THAT(WriteFileAtomically(path, "old"), IsOk());
  FillLeaving(0);
  EXPECT_THAT(
      WriteFileAtomically(path, "new"),
      StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr(kNoSpace)));
  EXPECT_THAT(
      CreateFileAtomically(OnDisk("other"), "new"),
      StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr(kNoSpace)));
  EXPECT_EQ(ReadFileToString(path).value_or(""), "old");
  EXPECT_FALSE(PathExists(OnDisk("other")));
  EXPECT_THAT(Temporaries(mnt_), IsEmpty());
}

// ---- The audit trail --------------------------------------------------------

AuditRecord Record(int n) {
  AuditRecord record;
  record.time = absl::Now();
  record.caller = absl::StrCat("key(ecdsa-p256:disk).Program(sha256:", n, ")");
  record.operation = "Seal";
  record.label = "full";
  record.allowed = n % 2 == 0;
  record.reason = absl::StrCat("record ", n, " ", std::string(100, 'r'));
  return record;
}

TEST_F(DiskFullTest, AnAuditAppendOnAFullDiskFailsAndTheTrailStillVerifies) {
  const std::string path = OnDisk("audit.log");
  auto log = AuditLog::Open(path);
  ASSERT_THAT(log, IsOk());
  int acknowledged = 0;
  for (int i = 0; i < 10; ++i, ++acknowledged)
    ASSERT_THAT((*log)->Append(Record(i)), IsOk());
  FillLeaving(0);
  // The log's last page still has room for a few records; then it fails.
  absl::Status failed;
  for (int i = 0; i < 200 && failed.ok(); ++i) {
    failed = (*log)->Append(Record(acknowledged));
    if (failed.ok()) ++acknowledged;
  }
  ASSERT_FALSE(failed.ok()) << "200 appends fitted on a full disk";
  std::cout << "AuditLog::Append on a full disk (after " << acknowledged
            << " records): " << failed << "\n";
  EXPECT_THAT(failed, StatusIs(absl::StatusCode::kResourceExhausted,
                               HasSubstr(kNoSpace)));
  EXPECT_EQ((*log)->records(), static_cast<uint64_t>(acknowledged));

  // No partial record: the trail verifies, with every acknowledged record.
  auto contents = ReadFileToString(path);
  ASSERT_THAT(contents, IsOk());
  EXPECT_EQ(contents->back(), '\n');
  auto verified = VerifyAuditLog(path);
  ASSERT_THAT(verified, IsOk());
  EXPECT_EQ(verified->records, static_cast<uint64_t>(acknowledged));

  // Still full: it fails again, the same way, and changes nothing.
  EXPECT_THAT(
      (*log)->Append(Record(acknowledged)),
      StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr(kNoSpace)));
  EXPECT_EQ(ReadFileToString(path).value_or(""), *contents);

  // A restart while the disk is full reopens it.
  log->reset();
  log = AuditLog::Open(path);
  ASSERT_THAT(log, IsOk());
  EXPECT_EQ((*log)->records(), static_cast<uint64_t>(acknowledged));

  // Room again: the chain goes on from the last acknowledged record.
  ASSERT_EQ(::unlink(OnDisk("filler").c_str()), 0);
  EXPECT_THAT((*log)->Append(Record(acknowledged)), IsOk());
  verified = VerifyAuditLog(path);
  ASSERT_THAT(verified, IsOk());
  EXPECT_EQ(verified->records, static_cast<uint64_t>(acknowledged) + 1);
}

// A full disk denies every decision it cannot record, except root's ways
// to stop what runs: Admin:Stop, Admin:Kill and Admin:Shutdown proceed, are
// counted, and are written once there is room again.
TEST_F(DiskFullTest, AFullDiskNeverDeniesRootsStopKillOrShutdown) {
  const std::string path = OnDisk("audit.log");
  auto log = AuditLog::Open(path);
  ASSERT_THAT(log, IsOk());
  auto policy_key = SigningKey::Generate();
  ASSERT_THAT(policy_key, IsOk());
  auto policy = ParseDomainPolicyText(
      "domain_name: \"full\"\n"
      "rules { id: \"root\" operations: \"Admin:*\" principals { uid: 0 } }\n"
      "rules { id: \"ops\" operations: \"Admin:List\" principals { uid: 1000 "
      "} }\n");
  ASSERT_THAT(policy, IsOk());
  auto signed_policy = SignDomainPolicy(*policy, *policy_key);
  ASSERT_THAT(signed_policy, IsOk());
  RealClock clock;
  auto domain = TaoDomain::Create(policy_key->verifying_key(), *signed_policy,
                                  log->get(), clock);
  ASSERT_THAT(domain, IsOk());
  ASSERT_TRUE((*domain)->Authorize(Caller::User(1000), "Admin:List").allowed);

  FillLeaving(0);
  // Decisions cannot be assigned: keep the reason of the first deny.
  bool was_denied = false;
  std::string reason;
  for (int i = 0; i < 200 && !was_denied; ++i) {
    Decision d = (*domain)->Authorize(Caller::User(1000), "Admin:List");
    was_denied = !d.allowed;
    reason = d.reason;
  }
  ASSERT_TRUE(was_denied) << "200 records fitted on a full disk";
  EXPECT_THAT(reason, HasSubstr("could not be recorded"));
  EXPECT_THAT(reason, HasSubstr(kNoSpace));
  // Root's other calls are denied like anyone's...
  EXPECT_FALSE((*domain)->Authorize(Caller::User(0), "Admin:Start").allowed);
  // ...but never its last resorts.
  for (const char* op : {"Admin:Stop", "Admin:Kill", "Admin:Shutdown"}) {
    Decision d = (*domain)->Authorize(Caller::User(0), op);
    EXPECT_TRUE(d.allowed) << op << ": " << d.reason;
  }
  EXPECT_EQ((*domain)->unrecorded(), 3u);
  const std::string full = ReadFileToString(path).value_or("");

  // Room again: the next decision writes what was owed first.
  ASSERT_EQ(::unlink(OnDisk("filler").c_str()), 0);
  EXPECT_TRUE((*domain)->Authorize(Caller::User(1000), "Admin:List").allowed);
  const std::string after = ReadFileToString(path).value_or("");
  ASSERT_GT(after.size(), full.size());
  const std::string added = after.substr(full.size());
  for (const char* op : {"Admin:Stop", "Admin:Kill", "Admin:Shutdown"}) {
    EXPECT_THAT(added, HasSubstr(op));
  }
  EXPECT_THAT(added, HasSubstr("recorded late"));
  EXPECT_THAT(VerifyAuditLog(path), IsOk());
}

// ---- Key creation -----------------------------------------------------------

SoftTaoOptions SoftOptions(const std::string& dir, bool create = true) {
  SoftTaoOptions options;
  options.keys_dir = dir;
  options.passphrase = std::string(faults::kPassphrase);
  options.create_if_missing = create;
  options.scrypt = faults::CheapScrypt();
  return options;
}

TEST_F(DiskFullTest, CreatingKeysOnAFullDiskFailsAndLeavesNoKeys) {
  const std::string keys_dir = OnDisk("keys");
  FillLeaving(0);
  auto tao = SoftTao::Create(SoftOptions(keys_dir));
  EXPECT_THAT(
      tao, StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr(kNoSpace)));
  std::cout << "SoftTao::Create on a full disk: " << tao.status() << "\n";
  EXPECT_FALSE(PathExists(KeysFilePath(keys_dir, kHostKeyBasename)));
  EXPECT_FALSE(PathExists(NameFilePath(keys_dir, kHostKeyBasename)));
  if (PathExists(keys_dir)) {
    EXPECT_THAT(test::ListDirectory(keys_dir), IsEmpty());
  }

  ASSERT_EQ(::unlink(OnDisk("filler").c_str()), 0);
  auto again = SoftTao::Create(SoftOptions(keys_dir));
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE((*again)->created_keys());
}

// Room for the keys file (one page) but not the name file: Create fails, and
// the keys it wrote are the ones the next load uses (the name file is
// repaired then), as LoadOrCreateKeyDirectory documents for a crash between
// the two files.
TEST_F(DiskFullTest, RoomForTheKeysButNotTheNameFailsAndTheNextLoadRepairs) {
  const std::string keys_dir = OnDisk("keys");
  FillLeaving(kPage);
  auto tao = SoftTao::Create(SoftOptions(keys_dir));
  EXPECT_THAT(
      tao, StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr(kNoSpace)));
  std::cout << "SoftTao::Create with one page free: " << tao.status() << "\n";
  const std::string keys_path = KeysFilePath(keys_dir, kHostKeyBasename);
  const std::string name_path = NameFilePath(keys_dir, kHostKeyBasename);
  EXPECT_TRUE(PathExists(keys_path));
  EXPECT_FALSE(PathExists(name_path));
  EXPECT_THAT(Temporaries(keys_dir), IsEmpty());

  // Still full: loading needs to write the name file, and says so.
  EXPECT_THAT(
      SoftTao::Create(SoftOptions(keys_dir, false)),
      StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr(kNoSpace)));

  ASSERT_EQ(::unlink(OnDisk("filler").c_str()), 0);
  auto loaded = SoftTao::Create(SoftOptions(keys_dir, false));
  ASSERT_THAT(loaded, IsOk());
  EXPECT_FALSE((*loaded)->created_keys());
  auto name = (*loaded)->GetTaoName();
  ASSERT_THAT(name, IsOk());
  EXPECT_EQ(ReadFileToString(name_path).value_or(""), name->text() + "\n");
}

// ---- tao-soft seal, the real binary -----------------------------------------

struct Ran {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

Ran RunTaoSoft(const std::string& log, std::vector<std::string> args) {
  std::vector<std::string> all = {TAO_SOFT};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string pass = absl::StrCat("TAO_PASSPHRASE=", faults::kPassphrase);
  char* envp[] = {pass.data(), nullptr};
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  pid_t pid = ::fork();
  if (pid < 0) return Ran{-1, "fork failed"};
  if (pid == 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execve(argv[0], argv.data(), envp);
    ::_exit(127);
  }
  ::close(fd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  Ran ran;
  ran.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  ran.output = ReadFileToString(log).value_or("");
  return ran;
}

TEST_F(DiskFullTest, TaoSoftSealToAFullDiskFailsAndKeepsThePreviousBundle) {
  const std::string keys =
      "--keys_dir=" + dir_.Join("keys");  // on the big disk
  const std::string log = dir_.Join("tao-soft.out");
  Ran init = RunTaoSoft(log, {keys, "--scrypt_n=1024", "init"});
  ASSERT_EQ(init.exit_code, 0) << init.output;

  const std::string small = dir_.Join("small.in");
  const std::string big = dir_.Join("big.in");
  ASSERT_THAT(WriteFileAtomically(small, "the previous secret"), IsOk());
  ASSERT_THAT(WriteFileAtomically(big, faults::Pattern('b', 64 * 1024)),
              IsOk());
  const std::string bundle = OnDisk("secret.sealed");
  Ran sealed = RunTaoSoft(log, {keys, "seal", small, bundle});
  ASSERT_EQ(sealed.exit_code, 0) << sealed.output;
  auto previous = ReadFileToString(bundle);
  ASSERT_THAT(previous, IsOk());

  FillLeaving(8 * 1024);
  Ran full = RunTaoSoft(log, {keys, "seal", big, bundle});
  std::cout << "tao-soft seal to a full disk: exit " << full.exit_code << ": "
            << full.output;
  EXPECT_EQ(full.exit_code, 6) << full.output;  // kExitOther: I/O
  EXPECT_THAT(full.output, HasSubstr("RESOURCE_EXHAUSTED"));
  EXPECT_THAT(full.output, HasSubstr(kNoSpace));
  EXPECT_THAT(full.output, HasSubstr(bundle));
  EXPECT_EQ(ReadFileToString(bundle).value_or(""), *previous);
  EXPECT_THAT(Temporaries(mnt_), IsEmpty());

  // And it still unseals to the previous secret.
  const std::string out = dir_.Join("unsealed.out");
  Ran unsealed = RunTaoSoft(log, {keys, "unseal", bundle, out});
  ASSERT_EQ(unsealed.exit_code, 0) << unsealed.output;
  EXPECT_EQ(ReadFileToString(out).value_or(""), "the previous secret");
}

TEST_F(DiskFullTest, TaoSoftInitOnAFullDiskFailsAndLeavesNoKeys) {
  const std::string keys_dir = OnDisk("keys");
  FillLeaving(0);
  Ran init = RunTaoSoft(dir_.Join("tao-soft.out"),
                        {"--keys_dir=" + keys_dir, "--scrypt_n=1024", "init"});
  std::cout << "tao-soft init on a full disk: exit " << init.exit_code << ": "
            << init.output;
  EXPECT_EQ(init.exit_code, 6) << init.output;
  EXPECT_THAT(init.output, HasSubstr(kNoSpace));
  EXPECT_FALSE(PathExists(KeysFilePath(keys_dir, kHostKeyBasename)));
  if (PathExists(keys_dir)) {
    EXPECT_THAT(test::ListDirectory(keys_dir), IsEmpty());
  }
}

}  // namespace
}  // namespace tao
