// The audit trail as durable, bounded state: its signed checkpoint (a
// missing, truncated, replaced trail or a forged checkpoint is refused;
// only the operator starts a new chain), bounded records, rotation, opening
// in bounded memory, and the writer's durability modes. Real files, real
// fdatasync.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tao/clock.h"
#include "tao/crypto.h"
#include "tao/encoding.h"
#include "tao/file_util.h"
#include "tao/keys.h"
#include "tao/principal.h"
#include "tao_domain/audit_log.h"
#include "tao_domain/audit_verify.h"
#include "tao_domain/policy_io.h"
#include "tao_domain/tao_domain.h"
#include "tests/testing/bytes.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::Lines;
using ::tao::test::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

std::vector<std::string> Fields(absl::string_view line) {
  return absl::StrSplit(line, '\t');
}

AuditRecord Rec(int i, std::string caller = "") {
  return AuditRecord{
      absl::Now(),  caller.empty() ? absl::StrCat("uid ", 1000 + i) : caller,
      "Admin:List", "",
      true,         absl::StrCat("reason ", i)};
}

// A number from /proc/self/<file>'s line starting with `key`.
uint64_t ProcValue(const std::string& file, absl::string_view key) {
  std::ifstream in("/proc/self/" + file);
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, key)) {
      std::vector<std::string> parts =
          absl::StrSplit(line.substr(key.size()), ' ', absl::SkipEmpty());
      uint64_t v = 0;
      if (!parts.empty() && absl::SimpleAtoi(parts[0], &v)) return v;
    }
  }
  return 0;
}

class AuditTrailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = SigningKey::Generate();
    ASSERT_THAT(key, IsOk());
    key_.emplace(*std::move(key));
    path_ = dir_.Join("audit.log");
  }

  AuditLogOptions Options() {
    AuditLogOptions o;
    o.checkpoint_key = &*key_;
    return o;
  }

  // Opens with the key, appends `n` records, closes (a clean close writes
  // the checkpoint).
  void Run(int n, AuditLogOptions o) {
    auto log = AuditLog::Open(path_, o);
    ASSERT_THAT(log, IsOk());
    for (int i = 0; i < n; ++i) ASSERT_THAT((*log)->Append(Rec(i)), IsOk());
  }
  void Run(int n) { Run(n, Options()); }

  std::string Read(const std::string& path) {
    return ReadFileToString(path, size_t{1} << 30).value_or("");
  }
  void Write(const std::string& path, absl::string_view contents) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  }

  test::TempDir dir_;
  std::optional<SigningKey> key_;
  std::string path_;
};

TEST_F(AuditTrailTest, TheTrailAndItsCheckpointSurviveARestart) {
  Run(5);
  ASSERT_TRUE(PathExists(path_ + ".checkpoint"));
  auto cp =
      VerifyAuditCheckpoint(Read(path_ + ".checkpoint"), key_->verifying_key());
  ASSERT_THAT(cp, IsOk());
  EXPECT_EQ(cp->records, 5u);
  Run(3);
  auto summary =
      VerifyAuditTrail(path_, path_ + ".checkpoint", &key_->verifying_key());
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->last_seq, 8u);
  EXPECT_TRUE(summary->checkpoint_checked);
}

TEST_F(AuditTrailTest, ADeletedTrailIsRefusedNamingTheCheckpoint) {
  Run(5);
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  EXPECT_THAT(
      AuditLog::Open(path_, Options()),
      StatusIs(absl::StatusCode::kDataLoss,
               AllOf(HasSubstr("is missing"), HasSubstr(path_ + ".checkpoint"),
                     HasSubstr("remembers 5 records"))));
  // Nothing was created in its place.
  EXPECT_FALSE(PathExists(path_) && !Read(path_).empty());
  EXPECT_THAT(
      VerifyAuditTrail(path_, path_ + ".checkpoint", &key_->verifying_key()),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing")));
}

TEST_F(AuditTrailTest, ATruncatedTrailIsRefused) {
  Run(5);
  std::vector<std::string> lines = Lines(Read(path_));
  lines.pop_back();  // a whole record: the chain itself still verifies
  Write(path_, absl::StrCat(absl::StrJoin(lines, "\n"), "\n"));
  ASSERT_THAT(VerifyAuditLog(path_), IsOk());
  EXPECT_THAT(AuditLog::Open(path_, Options()),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr("checkpoint"),
                             HasSubstr("refusing to start over"))));
  EXPECT_THAT(
      VerifyAuditTrail(path_, path_ + ".checkpoint", &key_->verifying_key()),
      StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(AuditTrailTest, AReplacedTrailIsRefused) {
  Run(5);
  const std::string good = Read(path_);
  // A fresh chain, longer than the old one, in its place.
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  {
    auto fresh = AuditLog::Open(path_);  // no key: no checkpoint written
    ASSERT_THAT(fresh, IsOk());
    for (int i = 0; i < 9; ++i)
      ASSERT_THAT((*fresh)->Append(Rec(i, "forger")), IsOk());
  }
  ASSERT_THAT(VerifyAuditLog(path_), IsOk());
  EXPECT_THAT(AuditLog::Open(path_, Options()),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr("checkpoint"),
                             HasSubstr("refusing to start over"))));
  EXPECT_THAT(
      VerifyAuditTrail(path_, path_ + ".checkpoint", &key_->verifying_key()),
      StatusIs(absl::StatusCode::kDataLoss));
  // The real one is still accepted.
  Write(path_, good);
  EXPECT_THAT(AuditLog::Open(path_, Options()), IsOk());
}

TEST_F(AuditTrailTest, ACheckpointThatDoesNotVerifyIsRefused) {
  Run(5);
  const std::string cp_path = path_ + ".checkpoint";
  std::string cp = Read(cp_path);
  // Claim fewer records (to hide a truncation): the signature breaks.
  std::string altered = cp;
  altered.replace(altered.find("records 5"), 9, "records 4");
  Write(cp_path, altered);
  EXPECT_THAT(AuditLog::Open(path_, Options()),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("signature does not verify")));
  // Signed by another key.
  auto other = SigningKey::Generate();
  ASSERT_THAT(other, IsOk());
  auto parsed = VerifyAuditCheckpoint(cp, key_->verifying_key());
  ASSERT_THAT(parsed, IsOk());
  auto forged = SignAuditCheckpoint(*parsed, *other);
  ASSERT_THAT(forged, IsOk());
  Write(cp_path, *forged);
  EXPECT_THAT(AuditLog::Open(path_, Options()),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("signature does not verify")));
  EXPECT_THAT(VerifyAuditTrail(path_, cp_path, &key_->verifying_key()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("signature")));
}

TEST_F(AuditTrailTest, AcceptingANewChainRecordsTheOldCheckpoint) {
  Run(5);
  const std::string old_cp = Read(path_ + ".checkpoint");
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  AuditLogOptions o = Options();
  o.accept_new_chain = true;
  {
    auto log = AuditLog::Open(path_, o);
    ASSERT_THAT(log, IsOk());
    ASSERT_THAT((*log)->Append(Rec(1)), IsOk());
  }
  std::vector<std::string> lines = Lines(Read(path_));
  ASSERT_EQ(lines.size(), 2u);
  std::vector<std::string> first = Fields(lines[0]);
  ASSERT_EQ(first.size(), 9u);
  EXPECT_EQ(first[0], "1");
  EXPECT_EQ(first[3], "NewChain");
  EXPECT_EQ(first[5], "note");
  EXPECT_THAT(first[6], AllOf(HasSubstr(HexEncode(Sha256(old_cp))),
                              HasSubstr("records 5"), HasSubstr("missing")));
  // The new chain has its own checkpoint, and the next start accepts it
  // without the flag.
  EXPECT_THAT(AuditLog::Open(path_, Options()), IsOk());
  EXPECT_THAT(
      VerifyAuditTrail(path_, path_ + ".checkpoint", &key_->verifying_key()),
      IsOk());
}

TEST_F(AuditTrailTest, AReplacedTrailIsMovedAsideWhenANewChainIsAccepted) {
  Run(5);
  std::string contents = Read(path_);
  // Tampered at the checkpointed record (Open verifies from there on;
  // audit-verify checks the older records).
  contents[contents.rfind("reason 4")] = 'R';
  Write(path_, contents);
  AuditLogOptions o = Options();
  o.accept_new_chain = true;
  ASSERT_THAT(AuditLog::Open(path_, o), IsOk());
  bool kept = false;
  for (const std::string& name : test::ListDirectory(dir_.path())) {
    if (absl::StartsWith(name, "audit.log.rejected-")) {
      kept = Read(dir_.Join(name)) == contents;
    }
  }
  EXPECT_TRUE(kept) << "the tampered trail was not kept aside";
}

TEST_F(AuditTrailTest, ALongCallerIsRecordedByDigestAfterOneNameRecord) {
  const std::string huge = "program " + std::string(100 * 1024, 'n');
  {
    auto log = AuditLog::Open(path_, Options());
    ASSERT_THAT(log, IsOk());
    for (int i = 0; i < 3; ++i)
      ASSERT_THAT((*log)->Append(Rec(i, huge)), IsOk());
    AuditRecord long_reason = Rec(9);
    long_reason.reason = std::string(50000, 'r');
    long_reason.label = std::string(600, 'l');
    ASSERT_THAT((*log)->Append(long_reason), IsOk());
  }
  std::vector<std::string> lines = Lines(Read(path_));
  // name, 3 decisions, name (label), decision.
  ASSERT_EQ(lines.size(), 6u);
  const std::string digest = absl::StrCat("sha256:", HexEncode(Sha256(huge)));
  std::vector<std::string> name = Fields(lines[0]);
  EXPECT_EQ(name[2], digest);
  EXPECT_EQ(name[3], "name");
  EXPECT_EQ(name[5], "note");
  EXPECT_EQ(name[6], huge);  // the full text, once
  for (int i = 1; i <= 3; ++i) {
    EXPECT_LE(lines[i].size(), kAuditMaxRecordLine);
    EXPECT_EQ(Fields(lines[i])[2], digest);
  }
  std::vector<std::string> last = Fields(lines[5]);
  EXPECT_LE(lines[5].size(), kAuditMaxRecordLine);
  EXPECT_TRUE(absl::StartsWith(last[4], "sha256:"));
  EXPECT_LE(last[6].size(), kAuditMaxReasonBytes);
  EXPECT_THAT(last[6], HasSubstr("...[cut "));
  EXPECT_THAT(VerifyAuditLog(path_), IsOk());
}

TEST_F(AuditTrailTest, RotationKeepsTheChainAndBoundsTheTotalSize) {
  AuditLogOptions o = Options();
  o.max_bytes = 2 * kAuditMaxLine;
  o.keep_files = 2;
  o.checkpoint_interval = absl::Milliseconds(1);
  const std::string reason(900, 'x');
  uint64_t written = 0;
  {
    auto log = AuditLog::Open(path_, o);
    ASSERT_THAT(log, IsOk());
    // About 6 files' worth of records.
    while (written < 6 * o.max_bytes) {
      AuditRecord r = Rec(static_cast<int>(written));
      r.reason = reason;
      auto t = (*log)->AppendNoWait(r);
      ASSERT_THAT(t, IsOk());
      written += 1000;
    }
    EXPECT_GE((*log)->stats().rotations, 4u);
  }
  uint64_t total = 0;
  int files = 0;
  for (const std::string& name : test::ListDirectory(dir_.path())) {
    if (!absl::StartsWith(name, "audit.log") ||
        absl::EndsWith(name, ".checkpoint")) {
      continue;
    }
    struct stat st;
    ASSERT_EQ(::stat(dir_.Join(name).c_str(), &st), 0);
    total += static_cast<uint64_t>(st.st_size);
    ++files;
  }
  EXPECT_LE(files, o.keep_files + 2);
  EXPECT_LE(total, (o.keep_files + 2) * (o.max_bytes + kAuditMaxLine));
  auto summary =
      VerifyAuditTrail(path_, path_ + ".checkpoint", &key_->verifying_key());
  ASSERT_THAT(summary, IsOk());
  EXPECT_GT(summary->files, 1);
  EXPECT_GT(summary->first_seq, 1u);  // the oldest files were pruned
  // The new file's first record continues the old file's chain.
  std::vector<std::string> first = Fields(Lines(Read(path_))[0]);
  EXPECT_EQ(first[3], "Rotate");
  std::vector<std::string> old = Lines(Read(path_ + ".1"));
  EXPECT_EQ(first[7], Fields(old.back())[8]);
  // Reopening continues across the rotation.
  auto again = AuditLog::Open(path_, o);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ((*again)->records(), summary->last_seq);
  // An altered rotated file is caught by the verifier.
  std::string one = Read(path_ + ".1");
  one[one.size() / 2] ^= 1;
  Write(path_ + ".1", one);
  EXPECT_THAT(VerifyAuditTrail(path_), StatusIs(absl::StatusCode::kDataLoss));
}

// Without a checkpoint key the oldest files are still deleted.
TEST_F(AuditTrailTest, RotationWithoutACheckpointStillBoundsTheFiles) {
  AuditLogOptions o;
  o.max_bytes = 2 * kAuditMaxLine;
  o.keep_files = 1;
  {
    auto log = AuditLog::Open(path_, o);
    ASSERT_THAT(log, IsOk());
    AuditRecord r = Rec(0);
    r.reason = std::string(900, 'y');
    for (uint64_t written = 0; written < 5 * o.max_bytes; written += 1000)
      ASSERT_THAT((*log)->AppendNoWait(r), IsOk());
    EXPECT_GE((*log)->stats().rotations, 3u);
  }
  int files = 0;
  for (const std::string& name : test::ListDirectory(dir_.path())) {
    if (absl::StartsWith(name, "audit.log")) ++files;
  }
  EXPECT_LE(files, o.keep_files + 2);
  EXPECT_FALSE(PathExists(path_ + ".checkpoint"));
  EXPECT_THAT(VerifyAuditTrail(path_), IsOk());
}

// A disk whose syncs fail is retried every 100 ms, not spun on, and the
// records become durable once it recovers.
TEST_F(AuditTrailTest, AFailingSyncIsRetriedNotSpunOn) {
  std::atomic<int> calls{0};
  std::atomic<bool> failing{false};
  AuditLogOptions o = Options();
  o.checkpoint_interval = absl::Milliseconds(1);
  o.syncer = [&](int fd) {
    ++calls;
    if (failing) {
      errno = EIO;
      return -1;
    }
    return ::fdatasync(fd);
  };
  auto log = AuditLog::Open(path_, o);
  ASSERT_THAT(log, IsOk());
  ASSERT_THAT((*log)->Append(Rec(0)), IsOk());
  failing = true;
  calls = 0;
  auto ticket = (*log)->AppendNoWait(Rec(1));
  ASSERT_THAT(ticket, IsOk());
  EXPECT_FALSE((*log)->WaitDurable(*ticket).ok());
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_LE(calls.load(), 10);
  EXPECT_LT((*log)->durable_seq(), *ticket);
  failing = false;
  absl::SleepFor(absl::Milliseconds(400));
  EXPECT_GE((*log)->durable_seq(), *ticket);
}

// Open verifies from the checkpoint forward: a 200 MB trail opens without
// reading it, in bounded memory.
TEST_F(AuditTrailTest, OpeningALargeTrailWithACheckpointReadsLittle) {
  constexpr uint64_t kTarget = 200ull << 20;
  std::string prev(kSha256Size, '\0'), hash, chain;
  uint64_t seq = 0, offset = 0, last_offset = 0;
  {
    std::ofstream out(path_, std::ios::binary);
    std::string chunk;
    const std::string reason(150, 'z');
    while (offset < kTarget) {
      ++seq;
      std::string line = internal::FormatAuditLine(
          seq, absl::UnixEpoch(), "uid 1", "Admin:List", "", "allow", reason,
          prev, &hash);
      if (seq == 1) chain = hash;
      last_offset = offset;
      offset += line.size();
      chunk += line;
      prev = hash;
      if (chunk.size() > (1 << 20)) {
        out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        chunk.clear();
      }
    }
    out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
  }
  AuditCheckpoint cp;
  cp.records = seq;
  cp.last_hash = hash;
  cp.chain = chain;
  cp.file_first_seq = 1;
  cp.offset = last_offset;
  cp.time = absl::Now();
  auto signed_cp = SignAuditCheckpoint(cp, *key_);
  ASSERT_THAT(signed_cp, IsOk());
  ASSERT_THAT(WriteFileAtomically(path_ + ".checkpoint", *signed_cp), IsOk());

  AuditLogOptions o = Options();
  o.max_bytes = uint64_t{1} << 30;
  const uint64_t rss_before = ProcValue("status", "VmHWM:");
  const uint64_t read_before = ProcValue("io", "rchar:");
  absl::Time start = absl::Now();
  auto log = AuditLog::Open(path_, o);
  absl::Duration took = absl::Now() - start;
  ASSERT_THAT(log, IsOk());
  const uint64_t read = ProcValue("io", "rchar:") - read_before;
  const uint64_t rss_growth = ProcValue("status", "VmHWM:") - rss_before;
  std::cout << "opened a " << (offset >> 20) << " MiB trail in " << took
            << ", reading " << read << " bytes; peak RSS grew by " << rss_growth
            << " kB\n";
  EXPECT_EQ((*log)->records(), seq);
  EXPECT_LT(read, 8u << 20);
  EXPECT_LT(rss_growth, 16u * 1024);
  EXPECT_LT(took, absl::Seconds(2));
  ASSERT_THAT((*log)->Append(Rec(1)), IsOk());
}

TEST_F(AuditTrailTest, BatchAcknowledgesAtOnceAndSyncsWithinTheWindow) {
  AuditLogOptions o;
  o.durability = AuditDurability::kBatch;
  o.batch_window = absl::Milliseconds(200);
  auto log = AuditLog::Open(path_, o);
  ASSERT_THAT(log, IsOk());
  absl::Time start = absl::Now();
  for (int i = 0; i < 10; ++i)
    ASSERT_THAT((*log)->AppendNoWait(Rec(i)), IsOk());
  absl::Duration acked = absl::Now() - start;
  EXPECT_LT(acked, absl::Milliseconds(100));
  EXPECT_EQ((*log)->appended_seq(), 10u);
  EXPECT_LT((*log)->durable_seq(), 10u) << "synced before the window ended";
  const uint64_t syncs_before = (*log)->stats().syncs;
  absl::SleepFor(absl::Milliseconds(600));
  EXPECT_EQ((*log)->durable_seq(), 10u);
  // One sync for the whole batch.
  EXPECT_EQ((*log)->stats().syncs - syncs_before, 1u);
}

TEST_F(AuditTrailTest, SyncModeSharesOneFdatasyncAmongConcurrentCallers) {
  AuditLogOptions o;
  o.durability = AuditDurability::kSync;
  std::atomic<int> syncs{0};
  o.syncer = [&syncs](int fd) {
    ++syncs;
    return ::fdatasync(fd);
  };
  auto log = AuditLog::Open(path_, o);
  ASSERT_THAT(log, IsOk());
  constexpr int kThreads = 50, kEach = 20;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&log, t] {
      for (int i = 0; i < kEach; ++i) {
        auto ticket = (*log)->AppendNoWait(Rec(t * 100 + i));
        ASSERT_THAT(ticket, IsOk());
        ASSERT_THAT((*log)->WaitDurable(*ticket), IsOk());
        EXPECT_GE((*log)->durable_seq(), *ticket);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const int appends = kThreads * kEach;
  std::cout << appends << " appends in sync mode took " << syncs.load()
            << " fdatasyncs\n";
  EXPECT_LT(syncs.load(), appends / 5);
  EXPECT_THAT(VerifyAuditLog(path_), IsOk());
}

// A domain over a real trail: Execute for the host's programs, Admin:* for
// root.
class AuditedDomainFloodTest : public AuditTrailTest {
 protected:
  void SetUp() override {
    AuditTrailTest::SetUp();
    auto policy_key = SigningKey::Generate();
    ASSERT_THAT(policy_key, IsOk());
    policy_key_.emplace(*std::move(policy_key));
    host_ = Principal::ForKey(key_->verifying_key());
    for (char c : {'a', 'b'}) {
      auto p =
          host_->Extend(*Subprincipal::Program(std::string(kSha256Size, c)));
      ASSERT_THAT(p, IsOk());
      programs_.push_back(*p);
    }
    signed_policy_ = Sign("audited");
    auto log = AuditLog::Open(path_, Options());
    ASSERT_THAT(log, IsOk());
    log_ = *std::move(log);
    auto domain = TaoDomain::Create(policy_key_->verifying_key(),
                                    signed_policy_, log_.get(), clock_);
    ASSERT_THAT(domain, IsOk());
    domain_ = *std::move(domain);
  }

  std::string Sign(absl::string_view name) {
    auto policy = ParseDomainPolicyText(absl::StrCat(
        "domain_name: \"", name, "\"\n",
        "rules { id: \"exec\" operations: \"Execute\" principals { "
        "name_prefix: \"",
        host_->text(),
        "\" } }\n"
        "rules { id: \"root\" operations: \"Admin:*\" principals { uid: 0 "
        "} }\n"));
    EXPECT_THAT(policy, IsOk());
    auto signed_policy = SignDomainPolicy(*policy, *policy_key_);
    EXPECT_THAT(signed_policy, IsOk());
    return signed_policy.value_or("");
  }

  std::vector<std::vector<std::string>> Records() {
    std::vector<std::vector<std::string>> out;
    for (const std::string& line : Lines(Read(path_)))
      out.push_back(Fields(line));
    return out;
  }

  // The domain's clock: the flood below steps it, so what the bucket admits
  // does not depend on how fast a loaded machine runs the loop.
  FixedClock clock_{absl::Now()};
  std::optional<SigningKey> policy_key_;
  std::optional<Principal> host_;
  std::vector<Principal> programs_;
  std::string signed_policy_;
  std::unique_ptr<AuditLog> log_;
  std::unique_ptr<TaoDomain> domain_;
};

TEST_F(AuditedDomainFloodTest, AFloodIsRateLimitedIntoBoundedRecords) {
  const Caller flooder = Caller::Program(programs_[0]);
  // 100,000 decisions over one second of the domain's clock.
  const absl::Time start = clock_.Now();
  constexpr absl::Duration kStep = absl::Microseconds(10);
  int allowed = 0, limited = 0;
  for (int i = 0; i < 100000; ++i) {
    clock_.Set(clock_.Now() + kStep);
    Decision d = domain_->Authorize(flooder, "Execute");
    if (d.allowed) {
      ++allowed;
    } else {
      ASSERT_THAT(d.reason, HasSubstr("rate limited"));
      ++limited;
    }
  }
  const double seconds = absl::ToDoubleSeconds(clock_.Now() - start);
  // Extending its name does not make the program a new caller.
  auto extended = programs_[0].Extend(*Subprincipal::Parse("Ext(flood:fresh)"));
  ASSERT_THAT(extended, IsOk());
  EXPECT_FALSE(
      domain_->Authorize(Caller::Program(*extended), "Execute").allowed);
  // A sibling still gets answers, and root too.
  EXPECT_TRUE(
      domain_->Authorize(Caller::Program(programs_[1]), "Execute").allowed);
  EXPECT_TRUE(domain_->Authorize(Caller::User(0), "Admin:List").allowed);
  domain_.reset();  // writes the summaries still owed
  log_.reset();
  std::vector<std::vector<std::string>> records = Records();
  const double bound = 2000 + 1000 * (seconds + 1) + 10;
  std::cout << "100000 decisions in " << seconds << " s: " << allowed
            << " allowed, " << limited << " rate limited, " << records.size()
            << " records\n";
  EXPECT_LT(static_cast<double>(records.size()), bound);
  EXPECT_GT(limited, 90000);
  // The burst, then the rate over the clock's second.
  EXPECT_NEAR(allowed, 2000 + 1000 * seconds, 2);
  uint64_t summarized = 0;
  for (const auto& f : records) {
    if (f[3] != "RateLimited") continue;
    EXPECT_EQ(f[5], "note");
    uint64_t n = 0;
    ASSERT_TRUE(absl::SimpleAtoi(
        Fields(absl::StrReplaceAll(f[6], {{" ", "\t"}}))[0], &n));
    summarized += n;
  }
  EXPECT_EQ(summarized, static_cast<uint64_t>(limited) + 1);
  EXPECT_THAT(VerifyAuditLog(path_), IsOk());
}

TEST_F(AuditedDomainFloodTest, AReloadWritesOneRecordWithThePolicyHash) {
  const uint64_t before = log_->records();
  const std::string fresh = Sign("renamed");
  ASSERT_THAT(domain_->Reload(fresh, "SIGHUP"), IsOk());
  EXPECT_EQ(domain_->domain_name(), "renamed");
  EXPECT_EQ(log_->records(), before + 1);
  // A policy that does not verify is not recorded as a reload.
  EXPECT_FALSE(domain_->Reload("garbage").ok());
  EXPECT_EQ(log_->records(), before + 1);
  std::vector<std::string> f = Records().back();
  EXPECT_EQ(f[2], "SIGHUP");
  EXPECT_EQ(f[3], "Reload");
  EXPECT_EQ(f[5], "note");
  EXPECT_THAT(
      f[6],
      AllOf(HasSubstr(absl::StrCat("policy sha256:", HexEncode(Sha256(fresh)))),
            HasSubstr("policy_serial 0"), HasSubstr("domain renamed")));
}

}  // namespace
}  // namespace tao
