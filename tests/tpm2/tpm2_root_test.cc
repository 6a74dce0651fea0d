// Tpm2Root against a real swtpm, for what the host-level script
// (tpm2_test.sh) cannot reach: renewal of the delegation (by hand and by the
// root's own thread), its refusal once the PCRs changed, a changed PCR
// selection, a TPM that was never started and one in lockout. One swtpm serves
// the whole binary (it is one ctest, label tpm); the never-started and the
// locked-out cases have one each of their own. Each case has its own state
// directory and, where it extends a PCR, a PCR of its own.
#include "tao/tpm2/tpm2_root.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tao/attestation.h"
#include "tao/clock.h"
#include "tao/file_util.h"
#include "tests/testing/names.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::StatusIs;
using ::testing::HasSubstr;

// One swtpm on a unix socket in `dir`, stopped by the destructor.
class Swtpm {
 public:
  // `started`: TPM2_Startup done for us (swtpm's startup-clear flag).
  Swtpm(const std::string& dir, bool started) : sock_(dir + "/sock") {
    ::mkdir(dir.c_str(), 0700);
    const std::string state = absl::StrCat("dir=", dir);
    const std::string server = absl::StrCat("type=unixio,path=", sock_);
    const std::string ctrl = absl::StrCat("type=unixio,path=", sock_, ".ctrl");
    const std::string flags =
        started ? "not-need-init,startup-clear" : "not-need-init";
    const std::string log = dir + "/log";
    pid_ = ::fork();
    if (pid_ == 0) {
      std::freopen(log.c_str(), "w", stdout);
      std::freopen(log.c_str(), "a", stderr);
      ::execlp("swtpm", "swtpm", "socket", "--tpm2", "--tpmstate",
               state.c_str(), "--server", server.c_str(), "--ctrl",
               ctrl.c_str(), "--flags", flags.c_str(),
               static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 200 && !PathExists(sock_); ++i) {
      absl::SleepFor(absl::Milliseconds(25));
    }
  }
  ~Swtpm() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool up() const { return pid_ > 0 && PathExists(sock_); }
  std::string tcti() const { return absl::StrCat("swtpm:path=", sock_); }

 private:
  std::string sock_;
  pid_t pid_ = -1;
};

class Tpm2RootTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    tpm_ = new Swtpm(dir_->Join("swtpm"), /*started=*/true);
  }
  static void TearDownTestSuite() {
    delete tpm_;
    delete dir_;
  }
  void SetUp() override { ASSERT_TRUE(tpm_->up()) << "swtpm did not start"; }

  Tpm2RootOptions Options(const std::string& name, std::vector<uint32_t> pcrs) {
    Tpm2RootOptions options;
    options.tcti = tpm_->tcti();
    options.pcrs = std::move(pcrs);
    options.dir = dir_->Join(name);
    options.policy_key = policy_.verifying_key();
    options.delegation_lifetime = absl::Hours(1);
    return options;
  }

  // Extends SHA-256 PCR `index` through tpm2-tools, as a boot would.
  void ExtendPcr(int index) {
    const std::string command = absl::StrCat(
        "TPM2TOOLS_TCTI='", tpm_->tcti(), "' tpm2_pcrextend ", index,
        ":sha256=", std::string(64, 'a'), " >/dev/null 2>&1");
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }

  // An attestation by a program of `root`'s host.
  Attestation Attest(const Tpm2Root& root) {
    Statement s;
    s.mutable_predicate()->set_name("ready");
    auto a = root.host().Attest(test::Program(root.host().name(), 'p'), s);
    EXPECT_THAT(a, IsOk());
    return a.value_or(Attestation());
  }

  static test::TempDir* dir_;
  static Swtpm* tpm_;
  SigningKey policy_ = test::NewKey();
};

test::TempDir* Tpm2RootTest::dir_ = nullptr;
Swtpm* Tpm2RootTest::tpm_ = nullptr;

TEST_F(Tpm2RootTest, RenewalInstallsAFreshQuoteAndChainsStillVerify) {
  Tpm2Root root(Options("renew", {16}));
  ASSERT_THAT(root.Open(), IsOk());
  const std::string first = root.host().delegation()->SerializeAsString();
  const Attestation before = Attest(root);
  ASSERT_THAT(root.Renew(), IsOk());
  const std::string second = root.host().delegation()->SerializeAsString();
  EXPECT_NE(first, second) << "a renewal is a new quote";
  const Attestation after = Attest(root);
  RealClock clock;
  AttestationVerifier verifier({root.attestation_key()}, clock);
  auto verified = verifier.Verify(after);
  ASSERT_THAT(verified, IsOk());
  EXPECT_EQ(verified->root, Principal::ForTpm2(root.attestation_key()));
  // What was attested under the first quote still verifies: that quote's
  // window is still open.
  EXPECT_THAT(verifier.Verify(before), IsOk());
}

TEST_F(Tpm2RootTest, TheRootsThreadRenewsWhenAThirdOfTheWindowIsLeft) {
  Tpm2RootOptions options = Options("thread", {16});
  options.delegation_lifetime = absl::Seconds(3);
  absl::Mutex mu;
  std::vector<absl::Status> renewals;
  options.on_renewal = [&](const absl::Status& status) {
    absl::MutexLock lock(&mu);
    renewals.push_back(status);
  };
  Tpm2Root root(std::move(options));
  ASSERT_THAT(root.Open(), IsOk());
  const std::string first = root.host().delegation()->SerializeAsString();
  absl::MutexLock lock(&mu);
  EXPECT_TRUE(mu.AwaitWithTimeout(
      absl::Condition(
          +[](std::vector<absl::Status>* r) { return !r->empty(); }, &renewals),
      absl::Seconds(10)))
      << "no renewal within 10 s of a 3 s window";
  ASSERT_FALSE(renewals.empty());
  EXPECT_THAT(renewals[0], IsOk());
  EXPECT_NE(root.host().delegation()->SerializeAsString(), first);
}

TEST_F(Tpm2RootTest, NoRenewalOnceThePcrsChanged) {
  Tpm2Root root(Options("changed", {23}));
  ASSERT_THAT(root.Open(), IsOk());
  const std::string first = root.host().delegation()->SerializeAsString();
  ExtendPcr(23);  // (17-22 take locality 4; 23 is for anyone)
  absl::Status renewed = root.Renew();
  EXPECT_THAT(renewed, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(renewed.message(), HasSubstr("the PCRs changed since the host "
                                           "started (PCR 23"));
  // The host keeps the delegation it had: what it attests still verifies
  // until that window ends.
  EXPECT_EQ(root.host().delegation()->SerializeAsString(), first);
  RealClock clock;
  AttestationVerifier verifier({root.attestation_key()}, clock);
  EXPECT_THAT(verifier.Verify(Attest(root)), IsOk());
}

TEST_F(Tpm2RootTest, AnotherPcrSelectionIsRefusedAndLeavesTheKeys) {
  {
    Tpm2Root root(Options("selection", {16}));
    ASSERT_THAT(root.Open(), IsOk());
  }
  const std::string sealed =
      dir_->Join(absl::StrCat("selection/", kTpm2SealedBasename));
  auto before = ReadFileToString(sealed);
  ASSERT_THAT(before, IsOk());
  Tpm2Root other(Options("selection", {16, 22}));
  absl::Status opened = other.Open();
  EXPECT_THAT(opened, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(opened.message(),
              HasSubstr("the keys are sealed to PCRs 16, but tpm2_pcrs is "
                        "16,22"));
  EXPECT_THAT(opened.message(), HasSubstr("--tpm2_pcrs=16"));
  auto after = ReadFileToString(sealed);
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(*after, *before) << "a refused start rewrites nothing";
  // The old selection still opens them.
  Tpm2Root again(Options("selection", {16}));
  EXPECT_THAT(again.Open(), IsOk());
  EXPECT_FALSE(again.created_keys());
}

TEST_F(Tpm2RootTest, ATpmThatWasNotStartedIsAClearError) {
  Swtpm cold(dir_->Join("cold-swtpm"), /*started=*/false);
  ASSERT_TRUE(cold.up());
  Tpm2RootOptions options = Options("cold", {16});
  options.tcti = cold.tcti();
  Tpm2Root root(std::move(options));
  absl::Status opened = root.Open();
  EXPECT_THAT(opened, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(opened.message(), HasSubstr("was not started (TPM2_Startup)"));
  EXPECT_FALSE(
      PathExists(dir_->Join(absl::StrCat("cold/", kTpm2SealedBasename))))
      << "nothing is written for a TPM that cannot be used";
}

// Dictionary-attack lockout, made the way a guesser makes it: one try
// allowed, one wrong password on a DA-protected object. The host refuses
// to start and says how to recover; nothing is written.
TEST_F(Tpm2RootTest, ATpmInLockoutIsAClearError) {
  Swtpm locked(dir_->Join("locked-swtpm"), /*started=*/true);
  ASSERT_TRUE(locked.up());
  const std::string work = dir_->Join("locked-work");
  ASSERT_EQ(::mkdir(work.c_str(), 0700), 0);
  const std::string script = absl::StrCat(
      "set -e; cd '", work, "'; export TPM2TOOLS_TCTI='", locked.tcti(),
      "'; tpm2_dictionarylockout -s -n 1 -t 1000 -l 1000; "
      "tpm2_createprimary -C o -c p.ctx; "
      "echo secret | tpm2_create -C p.ctx -p right "
      "-a 'fixedtpm|fixedparent|userwithauth' -i- -u s.pub -r s.priv; "
      "tpm2_flushcontext -t; tpm2_createprimary -C o -c p.ctx; "
      "tpm2_load -C p.ctx -u s.pub -r s.priv -c s.ctx; "
      "! tpm2_unseal -c s.ctx -p wrong; tpm2_flushcontext -t; "
      "! tpm2_unseal -c s.ctx -p wrong; tpm2_flushcontext -t; "
      "tpm2_getcap properties-variable | grep -q 'inLockout: *1'");
  ASSERT_EQ(
      std::system(
          absl::StrCat("bash -c \"", script, "\" >/dev/null 2>&1").c_str()),
      0)
      << "could not put the swtpm into lockout: " << script;
  Tpm2RootOptions options = Options("locked", {16});
  options.tcti = locked.tcti();
  Tpm2Root root(std::move(options));
  absl::Status opened = root.Open();
  EXPECT_THAT(opened, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(opened.message(), HasSubstr("dictionary-attack lockout"));
  EXPECT_THAT(opened.message(), HasSubstr("--clear-lockout"));
  EXPECT_FALSE(
      PathExists(dir_->Join(absl::StrCat("locked/", kTpm2SealedBasename))));
}

}  // namespace
}  // namespace tao
