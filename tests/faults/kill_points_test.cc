// A host killed (SIGKILL) at any point while it writes keys, sealed state,
// policy or the audit trail leaves the old or the new file, never a torn
// one. crash-writer writes each kind of file forever with the project's own
// functions, alternating two known values; each test here starts it, kills
// it, and checks what is on disk, at kKillPoints (150) moments spread over the
// writer's start-up and its write cycle:
//
//  - a quarter are "early": killed a fixed delay after fork, from 0 (before
//    exec) up to the start-up time plus two write cycles;
//  - the rest are "in-loop": killed once the writer reports it is in its
//    loop, after a delay stepping through three write cycles (with jitter),
//    so kills land in every phase of a write (temporary created, written,
//    fsynced, renamed, directory fsynced).
//
// The cycle is measured by a first, calibration run. Each test prints its
// figures (kill points, outcomes, stray temporaries) and records them as
// test properties.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tao/file_util.h"
#include "tao/key_store.h"
#include "tao/principal.h"
#include "tao/tao_host.h"
#include "tao_domain/audit_log.h"
#include "tao_domain/policy_io.h"
#include "tests/faults/crash_values.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace tao {
namespace faults {
namespace {

using ::tao::test::IsOk;

constexpr int kKillPoints = 150;        // per mode
constexpr int kControlKillPoints = 40;  // for the negative control

// What one kill found.
struct Kill {
  int point = 0;
  bool early = false;
  bool exited_by_itself = false;  // it ended before the kill arrived
  int wait_status = 0;
  AckBlock ack = {};
};

class KillPointsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    aux_ = dir_.Join("aux");
    data_ = dir_.Join("data");
    ASSERT_EQ(::mkdir(aux_.c_str(), 0700), 0);
    ASSERT_EQ(::mkdir(data_.c_str(), 0700), 0);
    ack_path_ = aux_ + "/ack";
    log_path_ = aux_ + "/writer.log";
    int fd = ::open(ack_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, sizeof(AckBlock)), 0);
    void* mem = ::mmap(nullptr, sizeof(AckBlock), PROT_READ | PROT_WRITE,
                       MAP_SHARED, fd, 0);
    ::close(fd);
    ASSERT_NE(mem, MAP_FAILED);
    ack_ = static_cast<AckBlock*>(mem);
  }

  void TearDown() override {
    if (ack_ != nullptr) ::munmap(ack_, sizeof(AckBlock));
  }

  std::string WriterLog() {
    return ReadFileToString(log_path_).value_or("(no log)");
  }

  // fork + exec crash-writer `args`, output appended to the log.
  pid_t Spawn(const std::vector<std::string>& args) {
    __atomic_store_n(&ack_->ready, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&ack_->completed, 0, __ATOMIC_SEQ_CST);
    std::vector<std::string> all = {CRASH_WRITER};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string ack_env = "CRASH_WRITER_ACK=" + ack_path_;
    char* envp[] = {ack_env.data(), nullptr};
    int log = ::open(log_path_.c_str(),
                     O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    pid_t pid = ::fork();
    if (pid < 0) {
      // Never go on with pid -1: kill(-1, SIGKILL) would kill everything.
      std::perror("fork");
      std::abort();
    }
    if (pid == 0) {
      ::dup2(log, 1);
      ::dup2(log, 2);
      ::execve(argv[0], argv.data(), envp);
      ::_exit(127);
    }
    ::close(log);
    return pid;
  }

  // Runs crash-writer `args` to the end; its exit code (-1 if signaled).
  int RunToEnd(const std::vector<std::string>& args) {
    pid_t pid = Spawn(args);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  bool WaitReady(pid_t pid, absl::Duration timeout = absl::Seconds(10)) {
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (__atomic_load_n(&ack_->ready, __ATOMIC_SEQ_CST) != 0) return true;
      siginfo_t info = {};  // peek only: KillNow reaps it
      if (::waitid(P_PID, static_cast<id_t>(pid), &info,
                   WEXITED | WNOHANG | WNOWAIT) == 0 &&
          info.si_pid == pid) {
        ADD_FAILURE() << "crash-writer ended before it was ready: "
                      << WriterLog();
        return false;
      }
      ::usleep(100);
    }
    ADD_FAILURE() << "crash-writer was not ready in time";
    return false;
  }

  // SIGKILLs `pid` (unless it already ended) and reaps it.
  Kill KillNow(pid_t pid) {
    if (pid <= 0) std::abort();
    Kill kill;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      kill.exited_by_itself = true;
    } else {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      kill.exited_by_itself =
          !(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    }
    kill.wait_status = status;
    kill.ack.ready = __atomic_load_n(&ack_->ready, __ATOMIC_SEQ_CST);
    kill.ack.completed = __atomic_load_n(&ack_->completed, __ATOMIC_SEQ_CST);
    return kill;
  }

  // Removes and counts the temporaries (*.tmp.*) under `dir` (one level of
  // subdirectories too).
  int SweepTemporaries(const std::string& dir) {
    int found = 0;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return 0;
    std::vector<std::string> subdirs;
    while (struct dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      std::string path = dir + "/" + name;
      if (absl::StrContains(name, ".tmp.")) {
        ++found;
        ::unlink(path.c_str());
      } else if (e->d_type == DT_DIR) {
        subdirs.push_back(path);
      }
    }
    ::closedir(d);
    for (const std::string& sub : subdirs) found += SweepTemporaries(sub);
    return found;
  }

  // Calibrates, then kills the loop `args` points_ times, calling
  // `check` after each kill. `prepare` (may be empty) runs before each spawn.
  void KillRepeatedly(const std::vector<std::string>& args,
                      const std::function<void(const Kill&)>& check,
                      const std::function<void(int)>& prepare = nullptr) {
    // Calibration: start-up time and one write cycle. For a loop it is kill
    // point 0; a one-shot writer (allow_exit_) is run to its end instead.
    const bool one_shot = allow_exit_;
    if (prepare) prepare(0);
    absl::Time t0 = absl::Now();
    pid_t pid = Spawn(args);
    if (!WaitReady(pid)) {
      KillNow(pid);  // never leave a writer running
      return;
    }
    absl::Time ready_at = absl::Now();
    startup_ = ready_at - t0;
    if (one_shot) {
      int status = 0;
      ::waitpid(pid, &status, 0);
      cycle_ = absl::Now() - ready_at;
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << WriterLog();
    } else {
      absl::SleepFor(absl::Milliseconds(200));
      uint64_t before = __atomic_load_n(&ack_->completed, __ATOMIC_SEQ_CST);
      absl::SleepFor(absl::Milliseconds(300));
      uint64_t cycles =
          __atomic_load_n(&ack_->completed, __ATOMIC_SEQ_CST) - before;
      cycle_ = cycles == 0 ? absl::Milliseconds(300)
                           : absl::Milliseconds(300) / cycles;
      Kill first = KillNow(pid);
      ASSERT_FALSE(first.exited_by_itself) << WriterLog();
      check(first);
      ++tried_;
      ++in_loop_;
    }
    stray_ += SweepTemporaries(data_);
    std::cout << "calibration: start-up " << startup_ << ", one write "
              << cycle_ << "\n";

    std::mt19937 rng(12345);
    // A loop: kills over three write cycles. One shot: over its whole work
    // (as timed by the calibration run; some runs finish first).
    const int first = one_shot ? 0 : 1;
    const int early_points = points_ / 4;
    const int loop_points = points_ - first - early_points;
    const absl::Duration early_step = (startup_ + 2 * cycle_) / early_points;
    const absl::Duration loop_step =
        (one_shot ? 1.0 : 3.0) * cycle_ / loop_points;
    int e = 0, l = 0;
    for (int i = first; i < points_ && !HasFatalFailure(); ++i) {
      bool early = i % 4 == 0 && e < early_points;
      if (prepare) prepare(i);
      absl::Duration delay;
      pid = Spawn(args);
      if (early) {
        delay = early_step * e++;
      } else {
        if (!WaitReady(pid)) {
          KillNow(pid);
          return;
        }
        std::uniform_int_distribution<int64_t> jitter(
            0, std::max<int64_t>(1, absl::ToInt64Microseconds(loop_step)));
        delay = loop_step * l++ + absl::Microseconds(jitter(rng));
      }
      if (delay > absl::ZeroDuration()) {
        ::usleep(static_cast<useconds_t>(absl::ToInt64Microseconds(delay)));
      }
      Kill kill = KillNow(pid);
      kill.point = i;
      kill.early = early;
      ++tried_;
      (early ? early_ : in_loop_)++;
      if (kill.exited_by_itself) {
        ++exited_by_itself_;
        if (!allow_exit_) {
          ADD_FAILURE() << "kill point " << i
                        << ": crash-writer ended by itself (status "
                        << kill.wait_status << "): " << WriterLog();
        }
      }
      check(kill);
      stray_ += SweepTemporaries(data_);
    }
  }

  void Outcome(const std::string& what) { ++outcomes_[what]; }

  void Report(const std::string& mode) {
    std::vector<std::string> parts;
    for (const auto& [what, n] : outcomes_)
      parts.push_back(absl::StrCat(what, " ", n));
    std::cout << "[kill-points] mode " << mode << ": tried " << tried_
              << " (early " << early_ << ", in-loop " << in_loop_ << "), torn "
              << torn_ << ", lost " << lost_ << ", stray temporaries " << stray_
              << (allow_exit_ ? absl::StrCat(", finished before the kill ",
                                             exited_by_itself_)
                              : "")
              << "; outcomes: " << absl::StrJoin(parts, ", ") << "; start-up "
              << startup_ << ", one write " << cycle_ << "\n";
    RecordProperty("kill_points", tried_);
    RecordProperty("torn", torn_);
    RecordProperty("lost", lost_);
    RecordProperty("stray_temporaries", stray_);
    EXPECT_EQ(tried_, points_);
    EXPECT_EQ(torn_, 0);
    EXPECT_EQ(lost_, 0);
  }

  // Fails and counts a torn file.
  void Torn(const Kill& kill, const std::string& why) {
    ++torn_;
    if (expect_torn_) return Outcome("torn");
    ADD_FAILURE() << "kill point " << kill.point
                  << (kill.early ? " (early)" : " (in-loop)") << " after "
                  << kill.ack.completed << " writes: " << why;
  }

  static mode_t ModeOf(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
  }

  test::TempDir dir_;
  std::string aux_, data_, ack_path_, log_path_;
  AckBlock* ack_ = nullptr;
  absl::Duration startup_, cycle_;
  int tried_ = 0, early_ = 0, in_loop_ = 0, torn_ = 0, lost_ = 0, stray_ = 0;
  int exited_by_itself_ = 0;
  bool allow_exit_ = false;
  bool expect_torn_ = false;  // the negative control
  int points_ = kKillPoints;
  std::map<std::string, int> outcomes_;
};

// Where the first byte of `got` differs from `want`, for a failure message.
std::string Diff(const std::string& got, const std::string& want) {
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  return absl::StrCat(got.size(), " bytes, first differs from the ",
                      want.size(), "-byte value at offset ", i);
}

TEST_F(KillPointsTest, WriteFileAtomicallyLeavesTheOldOrTheNewFile) {
  const std::string path = data_ + "/state";
  ASSERT_EQ(RunToEnd({"setup", "file", path}), 0) << WriterLog();
  KillRepeatedly({"file", path}, [&](const Kill& kill) {
    auto contents = ReadFileToString(path);
    if (!contents.ok()) return Torn(kill, contents.status().ToString());
    if (*contents == ValueA()) return Outcome("A");
    if (*contents == ValueB()) return Outcome("B");
    Torn(kill,
         absl::StrCat("neither A nor B: ",
                      Diff(*contents,
                           contents->size() <= kSizeA ? ValueA() : ValueB())));
  });
  EXPECT_EQ(ModeOf(path), 0600u);
  Report("file");
}

// The negative control: the same check against a writer that rewrites the
// file in place catches torn files, so a zero above means something.
TEST_F(KillPointsTest, TheCheckCatchesAWriterThatIsNotAtomic) {
  const std::string path = data_ + "/state";
  ASSERT_EQ(RunToEnd({"setup", "file-unsafe", path}), 0) << WriterLog();
  expect_torn_ = true;
  points_ = kControlKillPoints;
  KillRepeatedly({"file-unsafe", path}, [&](const Kill& kill) {
    auto contents = ReadFileToString(path);
    if (contents.ok() && *contents == ValueA()) return Outcome("A");
    if (contents.ok() && *contents == ValueB()) return Outcome("B");
    Torn(kill, "torn");
  });
  std::cout << "[kill-points] negative control (in-place rewrite): tried "
            << tried_ << ", torn " << torn_ << "\n";
  RecordProperty("control_torn", torn_);
  EXPECT_EQ(tried_, kControlKillPoints);
  EXPECT_GT(torn_, 0) << "the check did not catch a non-atomic writer";
}

TEST_F(KillPointsTest, KeysAtRestAreTheOldOrTheNewKeys) {
  ASSERT_EQ(RunToEnd({"setup", "keys", data_}), 0) << WriterLog();
  auto a = DecryptHostKeys(
      ReadFileToString(data_ + "/" + std::string(kRefA)).value_or(""),
      kPassphrase);
  auto b = DecryptHostKeys(
      ReadFileToString(data_ + "/" + std::string(kRefB)).value_or(""),
      kPassphrase);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  const std::string path = KeysFilePath(data_, kHostBasename);
  auto same = [](const HostKeys& x, const HostKeys& y) {
    return x.signing_key.verifying_key() == y.signing_key.verifying_key() &&
           x.sealing_secret.view() == y.sealing_secret.view();
  };
  KillRepeatedly({"keys", data_}, [&](const Kill& kill) {
    auto file = ReadFileToString(path);
    if (!file.ok()) return Torn(kill, file.status().ToString());
    auto keys = DecryptHostKeys(*file, kPassphrase);
    if (!keys.ok()) return Torn(kill, keys.status().ToString());
    if (same(*keys, *a)) return Outcome("keys A");
    if (same(*keys, *b)) return Outcome("keys B");
    Torn(kill, "decrypts to keys that are neither A nor B");
  });
  EXPECT_EQ(ModeOf(path), 0600u);
  Report("keys");
}

TEST_F(KillPointsTest, SignedPolicyIsTheOldOrTheNewPolicy) {
  ASSERT_EQ(RunToEnd({"setup", "policy", data_}), 0) << WriterLog();
  auto pkcs8 = ReadFileToString(data_ + "/" + std::string(kPolicyKey));
  ASSERT_THAT(pkcs8, IsOk());
  auto key = SigningKey::FromPkcs8(*pkcs8);
  ASSERT_THAT(key, IsOk());
  const std::string path = data_ + "/" + std::string(kPolicyFile);
  KillRepeatedly({"policy", data_}, [&](const Kill& kill) {
    auto file = ReadFileToString(path);
    if (!file.ok()) return Torn(kill, file.status().ToString());
    auto policy = VerifySignedDomainPolicy(*file, key->verifying_key());
    if (!policy.ok()) return Torn(kill, policy.status().ToString());
    if (policy->domain_name() == kDomainA && policy->rules_size() == kRulesA) {
      return Outcome("policy A");
    }
    if (policy->domain_name() == kDomainB && policy->rules_size() == kRulesB) {
      return Outcome("policy B");
    }
    Torn(kill, absl::StrCat("a verified policy that is neither: ",
                            policy->domain_name()));
  });
  Report("policy");
}

TEST_F(KillPointsTest, SealedStateIsTheOldOrTheNewBundle) {
  const std::string path = data_ + "/state.sealed";
  ASSERT_EQ(RunToEnd({"setup", "sealed", path}), 0) << WriterLog();
  KeyDirectoryOptions options;
  options.dir = data_;
  options.basename = std::string(kHostBasename);
  options.passphrase = std::string(kPassphrase);
  options.create_if_missing = false;
  bool created = true;
  auto keys = LoadOrCreateKeyDirectory(options, &created);
  ASSERT_THAT(keys, IsOk());
  Principal name = Principal::ForKey(keys->signing_key.verifying_key());
  auto host = TaoHost::Create(*std::move(keys), name, std::nullopt);
  ASSERT_THAT(host, IsOk());
  KillRepeatedly({"sealed", path}, [&](const Kill& kill) {
    auto bundle = ReadFileToString(path);
    if (!bundle.ok()) return Torn(kill, bundle.status().ToString());
    auto opened = (*host)->Decrypt(*bundle);
    if (!opened.ok()) return Torn(kill, opened.status().ToString());
    if (opened->sealer != name) return Torn(kill, "sealed by someone else");
    if (opened->data.view() == ValueA() && opened->policy == kSealPolicyA) {
      return Outcome("bundle A");
    }
    if (opened->data.view() == ValueB() && opened->policy == kSealPolicyB) {
      return Outcome("bundle B");
    }
    Torn(kill, "opens to data that is neither A nor B");
  });
  Report("sealed");
}

// The audit trail is appended to, not replaced: a kill mid-append leaves part
// of a record, which the next Open cuts off. Every record the writer was told
// was written (Append returned OK) must still be there; at most one more (the
// kill landed after Append wrote it but before the writer noted it).
TEST_F(KillPointsTest, AuditTrailKeepsEveryAcknowledgedRecord) {
  const std::string path = data_ + "/audit.log";
  uint64_t records = 0;
  int segment = 0;
  std::string current = path;
  KillRepeatedly(
      {"audit", path},
      [&](const Kill& kill) {
        auto raw = ReadFileToString(current, size_t{1} << 32);
        if (!raw.ok()) {
          if (absl::IsNotFound(raw.status()) && records == 0)
            return Outcome("no log yet");
          return Torn(kill, raw.status().ToString());
        }
        bool partial = !raw->empty() && raw->back() != '\n';
        auto log = AuditLog::Open(current);
        if (!log.ok()) return Torn(kill, log.status().ToString());
        uint64_t now = (*log)->records();
        log->reset();
        auto verified = VerifyAuditLog(current);
        if (!verified.ok()) return Torn(kill, verified.status().ToString());
        if (verified->records != now)
          return Torn(kill, "Open and Verify disagree");
        uint64_t floor = std::max(records, kill.ack.completed);
        if (now < floor) {
          ++lost_;
          ADD_FAILURE() << "kill point " << kill.point << ": " << now
                        << " records, but " << floor << " were acknowledged";
        } else if (now > floor + 1) {
          Torn(kill, absl::StrCat(now, " records, more than ", floor,
                                  " acknowledged + 1"));
        }
        records = now;
        Outcome(partial ? "partial record cut by Open"
                        : "ended on a whole record");
        if (now == floor + 1) Outcome("one record unacknowledged but kept");
      },
      [&](int point) {
        // A fresh trail every 50 kill points keeps the files (and the
        // verification each Open does) small; the check is the same.
        if (point > 0 && point % 50 == 0) {
          ::rename(current.c_str(), absl::StrCat(path, ".", ++segment).c_str());
          records = 0;
        }
      });
  RecordProperty("last_segment_records", static_cast<int>(records));
  Report("audit");
}

// Key creation itself killed: the directory holds no keys (and the next
// LoadOrCreate makes them), or keys that load, with a name file that matches
// once loaded. Even points start from an empty directory, odd ones from none.
TEST_F(KillPointsTest, KeyCreationLeavesNoKeysOrKeysThatLoad) {
  allow_exit_ = true;  // creation is quick: some runs finish before the kill
  std::string dir;
  int runs = 0;
  KillRepeatedly(
      {"create", data_ + "/keys"},
      [&](const Kill& kill) {
        const std::string keys_path = KeysFilePath(dir, kHostBasename);
        const std::string name_path = NameFilePath(dir, kHostBasename);
        bool had_keys = PathExists(keys_path);
        bool had_name = PathExists(name_path);
        if (!had_keys && had_name) Outcome("name file without keys (!)");
        KeyDirectoryOptions options;
        options.dir = dir;
        options.basename = std::string(kHostBasename);
        options.passphrase = std::string(kPassphrase);
        options.create_if_missing = !had_keys;
        options.scrypt = CheapScrypt();
        bool created = false;
        auto keys = LoadOrCreateKeyDirectory(options, &created);
        if (!keys.ok()) return Torn(kill, keys.status().ToString());
        if (created == had_keys) {
          return Torn(kill, absl::StrCat("created ", created,
                                         " with keys present ", had_keys));
        }
        std::string want =
            Principal::ForKey(keys->signing_key.verifying_key()).text() + "\n";
        auto name = ReadFileToString(name_path);
        if (!name.ok() || *name != want)
          return Torn(kill, "the name file does not match");
        if (ModeOf(keys_path) != 0600 || ModeOf(name_path) != 0644) {
          return Torn(kill, "wrong file modes");
        }
        if (kill.exited_by_itself) return Outcome("finished before the kill");
        if (!had_keys) return Outcome("no keys (created on the next load)");
        Outcome(had_name ? "keys and name"
                         : "keys without name (repaired by the load)");
      },
      [&](int point) {
        dir = absl::StrCat(data_, "/keys");
        if (PathExists(dir)) {
          ::rename(dir.c_str(), absl::StrCat(data_, "/done-", ++runs).c_str());
        }
        if (point % 2 == 0) ::mkdir(dir.c_str(), 0700);
      });
  Report("create");
}

}  // namespace
}  // namespace faults
}  // namespace tao
