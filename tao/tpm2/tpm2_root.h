// Tpm2Root: the root of a host whose platform is vouched for by a TPM 2.0
// (docs/tpm2-root.md). The host still signs with a software key (Attest
// stays fast) and seals with a software secret; the TPM keeps them at
// rest and vouches for the key:
//  - the keyset (signing key and sealing secret) is encrypted under a
//    32-byte root secret that only the TPM can unseal: a sealed object
//    under PolicyOR(PolicyPCR(the PCRs at sealing), PolicyAuthorize(the
//    domain's policy key)), so a domain-signed PCR set (tao-domain
//    sign-pcrs) opens it after an update, and it is then sealed again to
//    the new PCRs;
//  - at start (and when a third of the delegation's window is left) the
//    TPM's attestation key quotes the PCRs with qualifying data =
//    SHA-256 of the statement "tpm2(AK) says key(K) speaksfor tpm2(AK)":
//    that quote is the host's delegation, and tpm2(AK) its name.
// One thread (started by Open) owns every ESYS context; each batch of
// commands opens a context, flushes what it made, and closes it, so the
// TPM is free between batches.
#ifndef TAO_TAO_TPM2_TPM2_ROOT_H_
#define TAO_TAO_TPM2_TPM2_ROOT_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tao/host_root.h"
#include "tao/keys.h"
#include "tao/tpm2_quote.h"

namespace tao {

// The files of a tpm2 root in its directory.
inline constexpr absl::string_view kTpm2SealedBasename = "tpm2_sealed";
inline constexpr absl::string_view kTpm2KeysetBasename = "tpm2_keyset";
inline constexpr absl::string_view kTpm2AkBasename = "tpm2_ak.pem";
inline constexpr absl::string_view kTpm2StateBasename = "tpm2_platform_state";

struct Tpm2RootOptions {
  // The TCTI configuration: "device:/dev/tpmrm0", "swtpm:path=...".
  std::string tcti = "device:/dev/tpmrm0";
  // The SHA-256 PCRs quoted and sealed to (sorted, ParsePcrList).
  std::vector<uint32_t> pcrs;
  // Where the root's files live (created 0700 if missing). Required.
  std::string dir;
  // The domain's policy key: the key whose signed PCR sets open the
  // sealed object after an update. Required.
  std::optional<VerifyingKey> policy_key;
  // A domain-signed PCR set (Tpm2PcrAuthorization, binary), tried when
  // the PCRs differ from the sealed ones; empty: none.
  std::string pcr_authorization_file;
  // Each delegation's window; renewed when a third is left.
  absl::Duration delegation_lifetime = absl::Hours(24);
  absl::Duration clock_skew = absl::Minutes(1);
  // Called after each renewal attempt, from the root's TPM thread.
  std::function<void(const absl::Status&)> on_renewal;
};

// Thread-safe after Open.
class Tpm2Root final : public HostRoot {
 public:
  explicit Tpm2Root(Tpm2RootOptions options);
  // Stops the TPM thread.
  ~Tpm2Root() override;

  absl::string_view kind() const override { return "tpm2"; }
  // Statuses: kUnavailable when no TPM answers at the TCTI (no TPM, a
  // wrong TCTI); kFailedPrecondition for a TPM that was not started or is
  // in lockout, for PCRs that differ from the sealed ones (the message
  // names them) with no valid domain-signed set, and for a domain-signed
  // set that does not match the PCRs; kInvalidArgument for missing
  // options; kDataLoss for state files that do not parse or authenticate;
  // errno statuses of the files.
  absl::Status Open() override;
  const TaoHost& host() const override { return *host_; }
  bool created_keys() const override { return created_keys_; }
  std::string platform_state() const override { return platform_state_; }

  // The TPM's attestation key (what verifiers trust), after Open.
  const VerifyingKey& attestation_key() const { return *ak_; }
  // Time spent in TPM commands during Open, and how many there were.
  absl::Duration open_tpm_time() const { return open_tpm_time_; }
  int open_tpm_commands() const { return open_tpm_commands_; }

  // Re-quotes and installs a fresh delegation (the TPM thread calls this
  // when a third of the window is left; tests may too, from any thread).
  absl::Status Renew();

 private:
  struct Job;
  absl::Status RunOnTpmThread(std::function<absl::Status()> job);
  void TpmThread();
  absl::Status OpenOnTpmThread();
  absl::Status RenewOnTpmThread();

  Tpm2RootOptions options_;
  std::unique_ptr<TaoHost> host_;
  std::optional<VerifyingKey> ak_;
  std::string platform_state_;
  bool created_keys_ = false;
  absl::Duration open_tpm_time_ = absl::ZeroDuration();
  int open_tpm_commands_ = 0;

  absl::Mutex mu_;
  std::function<absl::Status()> job_ ABSL_GUARDED_BY(mu_);
  bool job_done_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status job_status_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time renew_at_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  absl::Mutex run_mu_;  // one RunOnTpmThread at a time
  std::thread thread_;
};

}  // namespace tao

#endif  // TAO_TAO_TPM2_TPM2_ROOT_H_
