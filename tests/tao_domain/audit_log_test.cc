#include "tao_domain/audit_log.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tao/clock.h"
#include "tao/crypto.h"
#include "tao/encoding.h"
#include "tao/file_util.h"
#include "tao/keys.h"
#include "tao/principal.h"
#include "tao_domain/policy_io.h"
#include "tao_domain/tao_domain.h"
#include "tests/testing/bytes.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

// Fault injection: this test binary's own fdatasync(2), which the audit log
// (linked statically into the binary) calls instead of libc's. It fails with
// EIO while g_fail_fdatasync is set, and otherwise makes the real call.
namespace {
std::atomic<bool> g_fail_fdatasync{false};
}  // namespace

extern "C" int fdatasync(int fd) {
  if (g_fail_fdatasync.load()) {
    errno = EIO;
    return -1;
  }
  return static_cast<int>(::syscall(SYS_fdatasync, fd));
}

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::Lines;
using ::tao::test::StatusIs;
using ::tao::test::TempDir;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const absl::Time kTime = absl::FromUnixSeconds(1700000000);

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) absl::StrAppend(&out, l, "\n");
  return out;
}

std::vector<std::string> Fields(absl::string_view line) {
  return absl::StrSplit(line, '\t');
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override { path_ = dir_.Join("audit.log"); }

  std::unique_ptr<AuditLog> Open() {
    auto log = AuditLog::Open(path_);
    EXPECT_THAT(log, IsOk());
    return log.ok() ? std::move(log).value() : nullptr;
  }

  static AuditRecord Record(int i, bool allowed = true) {
    return AuditRecord{kTime + absl::Seconds(i),
                       absl::StrCat("uid ", 1000 + i),
                       "Admin:List",
                       i % 2 ? "" : "label",
                       allowed,
                       absl::StrCat("reason number ", i)};
  }

  // A log of `n` records, closed again; returns its contents.
  std::string MakeLog(int n) {
    auto log = Open();
    if (log == nullptr) return "";
    for (int i = 1; i <= n; ++i)
      EXPECT_THAT(log->Append(Record(i, i % 3 != 0)), IsOk());
    EXPECT_EQ(log->records(), static_cast<uint64_t>(n));
    log.reset();
    return Read();
  }

  std::string Read() const {
    auto contents = ReadFileToString(path_);
    EXPECT_THAT(contents, IsOk());
    return contents.ok() ? *contents : "";
  }

  // Rewrites the log in place (no fsync: tampering need not be durable).
  void Write(absl::string_view contents) const {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    ASSERT_TRUE(out.good());
  }

  // Writes `tampered`, then checks that VerifyAuditLog and Open both refuse
  // it naming `line`, and that Open leaves the file as it was.
  void ExpectCaught(absl::string_view what, absl::string_view tampered,
                    int line, absl::string_view why = "",
                    bool open_repairs = false) {
    SCOPED_TRACE(what);
    Write(tampered);
    auto matcher =
        StatusIs(absl::StatusCode::kDataLoss,
                 AllOf(HasSubstr(absl::StrCat("audit log line ", line, ": ")),
                       HasSubstr(std::string(why))));
    EXPECT_THAT(VerifyAuditLog(path_), matcher);
    EXPECT_THAT(VerifyAuditLogContents(tampered), matcher);
    if (open_repairs) return;
    EXPECT_THAT(
        AuditLog::Open(path_),
        StatusIs(absl::StatusCode::kDataLoss, HasSubstr("refusing to extend")));
    EXPECT_EQ(Read(), tampered);
  }

  TempDir dir_;
  std::string path_;
};

TEST_F(AuditLogTest, RecordFormat) {
  std::string contents = MakeLog(2);
  std::vector<std::string> lines = Lines(contents);
  ASSERT_EQ(lines.size(), 2u);
  std::vector<std::string> first = Fields(lines[0]);
  ASSERT_EQ(first.size(), 9u);
  EXPECT_EQ(first[0], "1");
  EXPECT_EQ(first[1], "2023-11-14T22:13:21.000000Z");
  EXPECT_EQ(first[2], "uid 1001");
  EXPECT_EQ(first[3], "Admin:List");
  EXPECT_EQ(first[4], "");
  EXPECT_EQ(first[5], "allow");
  EXPECT_EQ(first[6], "reason number 1");
  EXPECT_EQ(first[7], std::string(64, '0'));
  // hash = SHA-256(prev bytes || the line through the tab before the hash).
  std::string hashed = lines[0].substr(0, lines[0].size() - 64);
  EXPECT_EQ(first[8],
            HexEncode(Sha256(absl::StrCat(std::string(32, '\0'), hashed))));
  std::vector<std::string> second = Fields(lines[1]);
  ASSERT_EQ(second.size(), 9u);
  EXPECT_EQ(second[0], "2");
  EXPECT_EQ(second[4], "label");
  EXPECT_EQ(second[7], first[8]);
}

TEST_F(AuditLogTest, VerifyCountsRecordsAndReportsTheLastHash) {
  auto empty = VerifyAuditLogContents("");
  ASSERT_THAT(empty, IsOk());
  EXPECT_EQ(empty->records, 0u);
  EXPECT_EQ(empty->last_hash_hex, std::string(64, '0'));

  std::string contents = MakeLog(5);
  auto summary = VerifyAuditLog(path_);
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->records, 5u);
  EXPECT_EQ(summary->last_hash_hex, Fields(Lines(contents).back())[8]);
  EXPECT_THAT(VerifyAuditLog(dir_.Join("missing")),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(AuditLogTest, FileIsPrivate) {
  auto log = Open();
  ASSERT_NE(log, nullptr);
  ASSERT_THAT(log->Append(Record(1)), IsOk());
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(AuditLogTest, ChangingOneCharacterIsCaught) {
  std::string contents = MakeLog(5);
  std::vector<std::string> lines = Lines(contents);
  // The reason of record 3.
  std::vector<std::string> changed = lines;
  changed[2].replace(changed[2].find("number 3"), 8, "number 9");
  ExpectCaught("reason", JoinLines(changed), 3, "hash does not match");
  // allow -> deny on record 1.
  changed = lines;
  changed[0].replace(changed[0].find("\tallow\t"), 7, "\tdeny\t");
  ExpectCaught("verdict", JoinLines(changed), 1, "hash does not match");
  // Every single byte of record 3, whatever it is.
  for (size_t i = 0; i < lines[2].size(); ++i) {
    changed = lines;
    changed[2][i] = changed[2][i] == 'x' ? 'y' : 'x';
    ExpectCaught(absl::StrCat("byte ", i), JoinLines(changed), 3);
  }
  // The link and the hash fields in particular.
  changed = lines;
  changed[3].replace(changed[3].size() - 129, 1,
                     changed[3][changed[3].size() - 129] == 'a' ? "b" : "a");
  ExpectCaught("prev", JoinLines(changed), 4, "does not link");
  changed = lines;
  changed[4].back() = changed[4].back() == 'a' ? 'b' : 'a';
  ExpectCaught("hash", JoinLines(changed), 5, "hash does not match");
}

TEST_F(AuditLogTest, DeletingAMiddleLineIsCaught) {
  std::vector<std::string> lines = Lines(MakeLog(5));
  std::vector<std::string> deleted = lines;
  deleted.erase(deleted.begin() + 2);
  ExpectCaught("deleted", JoinLines(deleted), 3,
               "sequence number '4' is not 3");
  // Renumbering does not help: the chain breaks.
  std::vector<std::string> renumbered = deleted;
  for (size_t i = 2; i < renumbered.size(); ++i) {
    renumbered[i].replace(0, 1, absl::StrCat(i + 1));
  }
  ExpectCaught("renumbered", JoinLines(renumbered), 3, "does not link");
  // Nor does deleting the first line.
  std::vector<std::string> first = lines;
  first.erase(first.begin());
  ExpectCaught("first deleted", JoinLines(first), 1, "sequence number");
}

TEST_F(AuditLogTest, SwappingTwoLinesIsCaught) {
  std::vector<std::string> lines = Lines(MakeLog(5));
  std::vector<std::string> swapped = lines;
  std::swap(swapped[1], swapped[2]);
  ExpectCaught("swapped", JoinLines(swapped), 2,
               "sequence number '3' is not 2");
  // Swapped and renumbered.
  swapped[1].replace(0, 1, "2");
  swapped[2].replace(0, 1, "3");
  ExpectCaught("swapped and renumbered", JoinLines(swapped), 2);
}

TEST_F(AuditLogTest, TruncationIsCaught) {
  std::string contents = MakeLog(5);
  auto intact = VerifyAuditLogContents(contents);
  ASSERT_THAT(intact, IsOk());
  // Mid-line: the last record is incomplete.
  std::vector<std::string> lines = Lines(contents);
  size_t last_start = contents.size() - lines[4].size() - 1;
  ExpectCaught("mid-line", contents.substr(0, last_start + 20), 5, "incomplete",
               /*open_repairs=*/true);
  ExpectCaught("newline only", contents.substr(0, contents.size() - 1), 5,
               "incomplete",
               /*open_repairs=*/true);
  ExpectCaught("mid-line of an earlier record",
               absl::StrCat(contents.substr(0, last_start - 30), "\n"), 4);
  // At a line boundary the chain is whole, but the last hash differs from the
  // one recorded elsewhere.
  auto shorter = VerifyAuditLogContents(contents.substr(0, last_start));
  ASSERT_THAT(shorter, IsOk());
  EXPECT_EQ(shorter->records, 4u);
  EXPECT_NE(shorter->last_hash_hex, intact->last_hash_hex);
}

TEST_F(AuditLogTest, OpenCutsOffAnIncompleteFinalRecordAndContinues) {
  std::string contents = MakeLog(5);
  std::vector<std::string> lines = Lines(contents);
  size_t last_start = contents.size() - lines[4].size() - 1;
  Write(contents.substr(0, last_start + 20));  // a crash mid-append
  auto log = AuditLog::Open(path_);
  ASSERT_THAT(log, IsOk());
  EXPECT_EQ((*log)->records(), 4u);
  EXPECT_EQ(Read(), contents.substr(0, last_start));
  ASSERT_THAT(
      (*log)->Append(AuditRecord{absl::Now(), "c", "Execute", "", true, "r"}),
      IsOk());
  auto verified = VerifyAuditLog(path_);
  ASSERT_THAT(verified, IsOk());
  EXPECT_EQ(verified->records, 5u);
}

TEST_F(AuditLogTest, AnIncompleteFinalRecordAfterTamperingIsStillRefused) {
  std::string contents = MakeLog(3);
  contents[contents.find('\t') + 3] ^= 1;  // alter the first record
  std::string torn = absl::StrCat(contents, "4\t2026");
  Write(torn);
  EXPECT_THAT(AuditLog::Open(path_), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_EQ(Read(), torn);
}

TEST_F(AuditLogTest, GarbageIsCaught) {
  std::string contents = MakeLog(3);
  ExpectCaught("garbage line", absl::StrCat(contents, "garbage\n"), 4,
               "fields");
  ExpectCaught("empty line", absl::StrCat(contents, "\n"), 4, "fields");
  ExpectCaught("garbage only", "not an audit log\n", 1);
  ExpectCaught("nine fields", "1\t2\t3\t4\t5\t6\t7\t8\t9\n", 1,
               "does not link");
  ExpectCaught("bad sequence", "x\t2\t3\t4\t5\t6\t7\t8\t9\n", 1,
               "sequence number");
}

TEST_F(AuditLogTest, ReopeningContinuesTheChain) {
  MakeLog(3);
  auto log = Open();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->records(), 3u);
  ASSERT_THAT(log->Append(Record(4)), IsOk());
  ASSERT_THAT(log->Append(Record(5)), IsOk());
  EXPECT_EQ(log->records(), 5u);
  auto summary = VerifyAuditLog(path_);
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->records, 5u);
  std::vector<std::string> lines = Lines(Read());
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(Fields(lines[3])[0], "4");
  EXPECT_EQ(Fields(lines[3])[7], Fields(lines[2])[8]);
  // A second reopen of the longer log too.
  log.reset();
  log = Open();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->records(), 5u);
}

// Two writers would each chain to the hash they last saw, forking the trail.
// While one AuditLog has the file open, a second (in this process or in
// another) is refused, and the first's chain stays whole.
TEST_F(AuditLogTest, ASecondWriterIsRefusedWhileTheFirstIsOpen) {
  auto first = Open();
  ASSERT_NE(first, nullptr);
  ASSERT_THAT(first->Append(Record(1)), IsOk());
  EXPECT_THAT(AuditLog::Open(path_),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("already open for writing")));
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto second = AuditLog::Open(path_);
    ::_exit(second.status().code() == absl::StatusCode::kFailedPrecondition
                ? 0
                : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "another process opened the trail while this one had it: " << status;
  ASSERT_THAT(first->Append(Record(2)), IsOk());
  first.reset();
  // Once the first is closed, the next writer continues its chain.
  auto next = Open();
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(next->records(), 2u);
  EXPECT_THAT(VerifyAuditLog(path_), IsOk());
}

TEST_F(AuditLogTest, FieldsAreEscapedOntoOneLine) {
  auto log = Open();
  ASSERT_NE(log, nullptr);
  AuditRecord r = Record(1);
  r.caller = "program\tkey(x)\nsecond line";
  r.reason = "tab\there, newline\nthere, backslash \\ and caf\xc3\xa9";
  r.label = "a\tb";
  ASSERT_THAT(log->Append(r), IsOk());
  ASSERT_THAT(log->Append(Record(2)), IsOk());
  std::vector<std::string> lines = Lines(Read());
  ASSERT_EQ(lines.size(), 2u);
  std::vector<std::string> fields = Fields(lines[0]);
  ASSERT_EQ(fields.size(), 9u);
  EXPECT_EQ(fields[2], "program\\tkey(x)\\nsecond line");
  EXPECT_EQ(fields[4], "a\\tb");
  EXPECT_THAT(fields[6],
              StartsWith("tab\\there, newline\\nthere, backslash \\\\ and"));
  EXPECT_THAT(VerifyAuditLog(path_), IsOk());
}

TEST_F(AuditLogTest, ConcurrentAppendsKeepTheChain) {
  auto log = Open();
  ASSERT_NE(log, nullptr);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&log, t] {
      for (int i = 0; i < 25; ++i) {
        EXPECT_THAT(log->Append(Record(t * 100 + i)), IsOk());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(log->records(), 100u);
  auto summary = VerifyAuditLog(path_);
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->records, 100u);
}

// Sets RLIMIT_FSIZE (so writes past `limit` fail with EFBIG instead of
// raising SIGXFSZ) for the life of the object.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t limit) {
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    ok_ = ::getrlimit(RLIMIT_FSIZE, &old_) == 0;
    struct rlimit now = old_;
    now.rlim_cur = limit;
    ok_ = ok_ && ::setrlimit(RLIMIT_FSIZE, &now) == 0;
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    ::signal(SIGXFSZ, old_handler_);
  }
  bool ok() const { return ok_; }

 private:
  struct rlimit old_;
  void (*old_handler_)(int);
  bool ok_ = false;
};

TEST_F(AuditLogTest, AFailedAppendLeavesNoPartialRecord) {
  std::string contents = MakeLog(2);
  auto log = Open();
  ASSERT_NE(log, nullptr);
  {
    // Room for 10 more bytes: the write stops part way, then fails.
    FileSizeLimit limit(contents.size() + 10);
    ASSERT_TRUE(limit.ok());
    EXPECT_FALSE(log->Append(Record(3)).ok());
  }
  EXPECT_EQ(Read(), contents);
  EXPECT_EQ(log->records(), 2u);
  // The chain continues as if the failed append had not happened.
  ASSERT_THAT(log->Append(Record(4)), IsOk());
  auto summary = VerifyAuditLog(path_);
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->records, 3u);
}

// Append writes the whole record, then fdatasyncs. If only the sync fails,
// the record is already in the file: it stays and the chain continues from
// it, but the error is returned. (Before this was fixed, the next append
// reused its sequence number and link, and the trail broke itself, after
// which Open refused to extend it.)
TEST_F(AuditLogTest, AFailedSyncDoesNotBreakTheChain) {
  MakeLog(2);
  auto log = Open();
  ASSERT_NE(log, nullptr);
  g_fail_fdatasync = true;
  absl::Status failed = log->Append(Record(3));
  g_fail_fdatasync = false;
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(log->records(), 3u);
  ASSERT_THAT(log->Append(Record(4)), IsOk());
  EXPECT_EQ(log->records(), 4u);
  auto summary = VerifyAuditLog(path_);
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->records, 4u);
  std::vector<std::string> lines = Lines(Read());
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(Fields(lines[2])[6], "reason number 3");
  log.reset();
  EXPECT_THAT(AuditLog::Open(path_), IsOk());
}

class AuditedDomainTest : public AuditLogTest {
 protected:
  void SetUp() override {
    AuditLogTest::SetUp();
    for (auto* slot : {&policy_key_, &host_key_}) {
      auto key = SigningKey::Generate();
      ASSERT_THAT(key, IsOk());
      slot->emplace(std::move(key).value());
    }
    host_ = Principal::ForKey(host_key_->verifying_key());
    auto program =
        host_->Extend(*Subprincipal::Program(std::string(kSha256Size, 'a')));
    ASSERT_THAT(program, IsOk());
    program_ = *program;
    auto policy = ParseDomainPolicyText(absl::StrCat(
        "domain_name: \"audited\"\n"
        "rules { id: \"exec\" operations: \"Execute\" principals { "
        "name_prefix: \"",
        host_->text(),
        "\" } }\n"
        "rules { id: \"db\" operations: \"Unseal\" labels: \"db\" principals { "
        "name_prefix: \"",
        host_->text(), "\" } }\n"));
    ASSERT_THAT(policy, IsOk());
    auto signed_policy = SignDomainPolicy(*policy, *policy_key_);
    ASSERT_THAT(signed_policy, IsOk());
    log_ = Open();
    ASSERT_NE(log_, nullptr);
    auto domain = TaoDomain::Create(policy_key_->verifying_key(),
                                    *signed_policy, log_.get(), clock_);
    ASSERT_THAT(domain, IsOk());
    domain_ = std::move(domain).value();
  }

  FixedClock clock_{kTime};
  std::optional<SigningKey> policy_key_, host_key_;
  std::optional<Principal> host_, program_;
  std::unique_ptr<AuditLog> log_;
  std::unique_ptr<TaoDomain> domain_;
};

TEST_F(AuditedDomainTest, OneRecordPerAuthorizeNoneForExplain) {
  Decision allow = domain_->Authorize(Caller::Program(*program_), "Execute");
  EXPECT_TRUE(allow.allowed);
  Decision deny = domain_->Authorize(Caller::User(1000, {27}), "Admin:Stop");
  EXPECT_FALSE(deny.allowed);
  domain_->Explain(Caller::Program(*program_), "Execute");
  domain_->Explain(Caller::User(0), "Admin:Stop");
  DomainRuleAnswer unseal = domain_->CheckUnsealLabel(*program_, "db");
  EXPECT_TRUE(unseal.allowed);
  EXPECT_EQ(log_->records(), 3u);

  auto summary = VerifyAuditLog(path_);
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->records, 3u);
  std::vector<std::string> lines = Lines(Read());
  ASSERT_EQ(lines.size(), 3u);
  std::vector<std::string> a = Fields(lines[0]), d = Fields(lines[1]),
                           u = Fields(lines[2]);
  ASSERT_EQ(a.size(), 9u);
  ASSERT_EQ(d.size(), 9u);
  ASSERT_EQ(u.size(), 9u);
  EXPECT_EQ(a[1], "2023-11-14T22:13:20.000000Z");
  EXPECT_EQ(a[2], absl::StrCat("program ", program_->text()));
  EXPECT_EQ(a[3], "Execute");
  EXPECT_EQ(a[5], "allow");
  // Text fields are C-escaped (quotes too).
  EXPECT_EQ(a[6], absl::CEscape(allow.reason));
  EXPECT_EQ(d[2], "uid 1000 (gids 27)");
  EXPECT_EQ(d[3], "Admin:Stop");
  EXPECT_EQ(d[5], "deny");
  EXPECT_EQ(d[6], absl::CEscape(deny.reason));
  EXPECT_EQ(u[3], "Unseal");
  EXPECT_EQ(u[4], "db");
  EXPECT_EQ(u[5], "allow");
}

TEST_F(AuditedDomainTest, ConcurrentAuthorizeIsRecordedInOrder) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([this] {
      for (int i = 0; i < 20; ++i) {
        EXPECT_TRUE(
            domain_->Authorize(Caller::Program(*program_), "Execute").allowed);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  auto summary = VerifyAuditLog(path_);
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->records, 60u);
}

TEST_F(AuditedDomainTest, ADecisionThatCannotBeRecordedIsADenial) {
  ASSERT_TRUE(
      domain_->Authorize(Caller::Program(*program_), "Execute").allowed);
  std::string contents = Read();
  std::optional<Decision> d;
  {
    FileSizeLimit limit(contents.size());
    ASSERT_TRUE(limit.ok());
    d.emplace(domain_->Authorize(Caller::Program(*program_), "Execute"));
  }
  EXPECT_FALSE(d->allowed);
  EXPECT_THAT(d->reason, HasSubstr("could not be recorded in the audit trail"));
  EXPECT_EQ(Read(), contents);
  // Once the trail can be written again, decisions resume.
  EXPECT_TRUE(
      domain_->Authorize(Caller::Program(*program_), "Execute").allowed);
  auto summary = VerifyAuditLog(path_);
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->records, 2u);
}

// Record is private: nothing outside the domain can hand it a decision. The
// decisions it records for the typed questions are the ones the domain made
// (here the seal-policy evaluation of an Unseal): an allow and a deny are
// recorded as answered, and an allow that cannot be recorded becomes a deny.
TEST_F(AuditedDomainTest, RecordAppendsADecisionMadeElsewhere) {
  auto other =
      host_->Extend(*Subprincipal::Program(std::string(kSha256Size, 'b')));
  ASSERT_THAT(other, IsOk());
  auto allowed =
      domain_->AuthorizeUnseal(*program_, "SameMeasurement", *program_, *host_);
  ASSERT_THAT(allowed, IsOk());
  const Decision& got = *allowed;
  EXPECT_TRUE(got.allowed);
  EXPECT_THAT(got.reason, HasSubstr("SameMeasurement"));
  auto denied =
      domain_->AuthorizeUnseal(*other, "SameProgram", *program_, *host_);
  ASSERT_THAT(denied, IsOk());
  EXPECT_FALSE(denied->allowed);
  EXPECT_THAT(denied->reason, HasSubstr("is not the sealer"));
  std::vector<std::string> lines = Lines(Read());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(Fields(lines[0])[5], "allow");
  EXPECT_EQ(Fields(lines[0])[6], absl::CEscape(got.reason));
  EXPECT_EQ(Fields(lines[1])[5], "deny");
  EXPECT_EQ(Fields(lines[1])[6], absl::CEscape(denied->reason));
  EXPECT_THAT(VerifyAuditLog(path_), IsOk());
  // An allow that cannot be recorded becomes a deny.
  std::string contents = Read();
  std::optional<absl::StatusOr<Decision>> unrecorded;
  {
    FileSizeLimit limit(contents.size());
    ASSERT_TRUE(limit.ok());
    unrecorded.emplace(domain_->AuthorizeUnseal(*program_, "SameMeasurement",
                                                *program_, *host_));
  }
  ASSERT_THAT(*unrecorded, IsOk());
  EXPECT_FALSE((*unrecorded)->allowed);
  EXPECT_THAT((*unrecorded)->reason, HasSubstr("could not be recorded"));
  EXPECT_EQ(Read(), contents);
}

TEST_F(AuditedDomainTest, ATamperedTrailIsNotExtended) {
  domain_->Authorize(Caller::Program(*program_), "Execute");
  domain_->Authorize(Caller::User(5), "Admin:List");
  log_.reset();  // (the domain is not used after this)
  std::string contents = Read();
  contents[contents.find("Admin:List")] = 'a';
  Write(contents);
  EXPECT_THAT(AuditLog::Open(path_), StatusIs(absl::StatusCode::kDataLoss,
                                              HasSubstr("audit log line 2")));
  EXPECT_EQ(Read(), contents);
}

}  // namespace
}  // namespace tao
