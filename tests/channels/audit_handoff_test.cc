// The listen loop never waits on the audit trail: under sync durability an
// answer that recorded a decision is held (not the loop) until its record
// is on the disk, while programs whose answers need no record are served at
// once. The disk is made slow with the trail's syncer hook; everything else
// is real (processes, files, fdatasync).
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tao_domain/audit_log.h"
#include "tests/channels/loop_fixture.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::testing::HasSubstr;

std::atomic<bool> g_slow_disk{false};
constexpr absl::Duration kSlowSync = absl::Seconds(3);

class AuditHandoffTest : public test::LoopFixture {
 protected:
  void SetUp() override {
    MakeEphemeralHost();
    AuditLogOptions options;
    options.durability = AuditDurability::kSync;
    options.syncer = [](int fd) {
      if (g_slow_disk) absl::SleepFor(kSlowSync);
      return ::fdatasync(fd);
    };
    auto log = AuditLog::Open(dir_.Join("audit.log"), options);
    ASSERT_THAT(log, IsOk());
    log_ = *std::move(log);
    auto key = SigningKey::Generate();
    ASSERT_THAT(key, IsOk());
    policy_key_ = std::make_unique<SigningKey>(*std::move(key));
    auto domain =
        TaoDomain::Create(policy_key_->verifying_key(),
                          SignedPolicy(AllowEverything()), log_.get(), clock_);
    ASSERT_THAT(domain, IsOk());
    domain_ = *std::move(domain);
    StartLoop();
  }

  void TearDown() override {
    g_slow_disk = false;
    loop_.reset();
    domain_.reset();
    log_.reset();
  }

  std::unique_ptr<AuditLog> log_;
};

TEST_F(AuditHandoffTest, ASiblingIsAnsweredWhileSealsWaitForTheDisk) {
  // A floods Seals half a second after it starts; B asks for random bytes
  // (no decision, no record) a second after.
  auto a =
      Start("/bin/sh", {"-c", absl::StrCat("sleep 0.5; exec ", HOSTILE_CHILD,
                                           " flood seal 20 32")});
  ASSERT_THAT(a, IsOk());
  auto b = Start("/bin/sh",
                 {"-c", absl::StrCat("sleep 1; exec ", TOOL, " random 16")});
  ASSERT_THAT(b, IsOk());
  g_slow_disk = true;
  const absl::Time start = absl::Now();
  ChildInfo b_done = Finish(b->id, 0);
  const absl::Duration b_took = absl::Now() - start;
  EXPECT_THAT(LogOf(b_done), HasSubstr("random: 16 bytes"));
  EXPECT_LT(b_took, absl::Seconds(2.5))
      << "the sibling waited for the other program's records";
  auto a_now = loop_->GetHostedProgram(a->id);
  ASSERT_THAT(a_now, IsOk());
  EXPECT_NE(a_now->state, ProgramState::kExited)
      << "the Seals were answered before their records were on the disk";
  ChildInfo a_done = Finish(a->id, 0);
  const absl::Duration a_took = absl::Now() - start;
  EXPECT_GE(a_took, kSlowSync - absl::Milliseconds(500));
  EXPECT_THAT(LogOf(a_done), HasSubstr("received 20 replies"));
  // Every answer A got was recorded, and durable, first.
  EXPECT_GE(log_->durable_seq(), 20u);
  std::cout << "sibling answered in " << b_took << "; the Seals waited "
            << a_took << " for a disk that takes " << kSlowSync
            << " per sync\n";
}

// A program that floods the domain with decisions gets "rate limited"
// answers past its burst, and they cost no record each: the trail stays
// small, and a sibling's decisions are answered and recorded as usual.
TEST_F(AuditHandoffTest, AFloodOfDecisionsIsRateLimitedAndASiblingIsServed) {
  const uint64_t before = log_->records();
  auto a = Start(HOSTILE_CHILD, {"flood", "attest-limited", "100000"});
  ASSERT_THAT(a, IsOk());
  auto b = Start("/bin/sh",
                 {"-c", absl::StrCat("sleep 0.3; exec ", TOOL, " attest")});
  ASSERT_THAT(b, IsOk());
  ChildInfo b_done = Finish(b->id, 0);
  EXPECT_THAT(LogOf(b_done), HasSubstr("attested"));
  ChildInfo a_done = Finish(a->id, 0, absl::Seconds(60));
  const std::string log = LogOf(a_done);
  EXPECT_THAT(log, HasSubstr("received 100000 replies"));
  size_t at = log.find("rate limited ");
  ASSERT_NE(at, std::string::npos) << log;
  const long limited = std::atol(log.c_str() + at + 13);
  EXPECT_GE(limited, 100000 - 2000);
  // The burst (2000), the two Executes and the sibling's Attest; no record
  // per denial.
  const uint64_t records = log_->records() - before;
  std::cout << "100000 Attests from one program: " << limited
            << " rate limited, " << records << " records\n";
  EXPECT_LE(records, 2000u + 10u);
}

}  // namespace
}  // namespace tao
