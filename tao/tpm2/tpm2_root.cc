#include "tao/tpm2/tpm2_root.h"

#include <glog/logging.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tao/attestation.h"
#include "tao/crypto.h"
#include "tao/file_util.h"
#include "tao/status_macros.h"
#include "tao/tpm2/esys.h"
#include "tao/tpm2/tpm2_files.h"
#include "tao/tpm2/tpm2_ops.h"

namespace tao {
namespace {

std::string PathIn(const std::string& dir, absl::string_view base) {
  return absl::StrCat(dir, "/", base);
}

void AddPcrs(const PcrValues& values, Tpm2Quote* quote) {
  for (const auto& [index, value] : values) {
    Tpm2Pcr* pcr = quote->add_pcrs();
    pcr->set_index(index);
    pcr->set_value(value);
  }
}

// The quote that makes `key` the host's: "tpm2(AK) says key speaksfor
// tpm2(AK)", signed by the TPM. The PCRs are read before the quote; if they
// change in between (the local check fails), it tries once more.
absl::StatusOr<Attestation> QuoteDelegation(EsysContext& ctx,
                                            const Tpm2RootOptions& options,
                                            const VerifyingKey& key,
                                            absl::Time* not_after,
                                            PcrValues* quoted) {
  // The AK's principal names the speaker, so it is made first.
  TAO_ASSIGN_OR_RETURN(Tpm2AttestationKey ak_handle, CreateAttestationKey(ctx));
  TAO_ASSIGN_OR_RETURN(VerifyingKey ak, VerifyingKey::FromSpki(ak_handle.spki));
  const Principal name = Principal::ForTpm2(ak);
  absl::Status last;
  for (int attempt = 0; attempt < 2; ++attempt) {
    TAO_ASSIGN_OR_RETURN(PcrValues pcrs, ReadPcrs(ctx, options.pcrs));
    const absl::Time now = absl::Now();
    Statement statement;
    statement.set_speaker(name.text());
    statement.set_not_before(absl::ToUnixSeconds(now - options.clock_skew));
    *not_after = now + options.delegation_lifetime;
    statement.set_not_after(absl::ToUnixSeconds(*not_after));
    statement.mutable_delegation()->set_delegate(Principal::ForKey(key).text());
    statement.mutable_delegation()->set_delegator(name.text());
    Attestation attestation;
    if (!statement.SerializeToString(
            attestation.mutable_serialized_statement())) {
      return absl::InternalError("cannot serialize the delegation");
    }
    TAO_ASSIGN_OR_RETURN(Tpm2QuoteResult quote,
                         Quote(ctx, ak_handle, options.pcrs,
                               Sha256(attestation.serialized_statement())));
    attestation.set_signer_key(ak_handle.spki);
    attestation.mutable_tpm2_quote()->set_attest(quote.attest);
    attestation.mutable_tpm2_quote()->set_signature(quote.signature);
    AddPcrs(pcrs, attestation.mutable_tpm2_quote());
    // The TPM's reply is untrusted: check it as any verifier will.
    last = VerifyTpm2Quote(ak_handle.spki, quote.attest, quote.signature,
                           Sha256(attestation.serialized_statement()), pcrs);
    if (last.ok()) {
      *quoted = std::move(pcrs);
      return attestation;
    }
  }
  return absl::FailedPreconditionError(
      absl::StrCat("tpm2: the TPM's quote does not verify: ", last.message()));
}

}  // namespace

Tpm2Root::Tpm2Root(Tpm2RootOptions options) : options_(std::move(options)) {}

Tpm2Root::~Tpm2Root() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

absl::Status Tpm2Root::RunOnTpmThread(std::function<absl::Status()> job) {
  absl::MutexLock run(&run_mu_);
  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::CancelledError("tpm2: the root is stopping");
  job_ = std::move(job);
  job_done_ = false;
  mu_.Await(absl::Condition(&job_done_));
  return job_status_;
}

void Tpm2Root::TpmThread() {
  absl::MutexLock lock(&mu_);
  while (true) {
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || job_ != nullptr;
    };
    const absl::Duration wait =
        std::max(renew_at_ - absl::Now(), absl::ZeroDuration());
    mu_.AwaitWithTimeout(absl::Condition(&ready), wait);
    if (stopping_) {
      if (job_ != nullptr) {
        job_ = nullptr;
        job_status_ = absl::CancelledError("tpm2: the root is stopping");
        job_done_ = true;
      }
      return;
    }
    std::function<absl::Status()> job = std::move(job_);
    job_ = nullptr;
    const bool renew = job == nullptr && absl::Now() >= renew_at_;
    if (job == nullptr && !renew) continue;
    mu_.Unlock();
    absl::Status status = renew ? RenewOnTpmThread() : job();
    if (renew && options_.on_renewal) options_.on_renewal(status);
    mu_.Lock();
    if (renew) {
      // Retry a failure soon; a success set renew_at_ itself.
      if (!status.ok()) {
        renew_at_ = absl::Now() + std::clamp(options_.delegation_lifetime / 30,
                                             absl::Milliseconds(100),
                                             absl::Seconds(30));
      }
    } else {
      job_status_ = std::move(status);
      job_done_ = true;
    }
  }
}

absl::Status Tpm2Root::Open() {
  if (host_ != nullptr || thread_.joinable()) {
    return absl::FailedPreconditionError("the tpm2 root is already open");
  }
  if (options_.dir.empty() || options_.pcrs.empty() ||
      !options_.policy_key.has_value()) {
    return absl::InvalidArgumentError(
        "a tpm2 root needs its directory, its PCRs and the domain's policy "
        "key");
  }
  thread_ = std::thread([this] { TpmThread(); });
  return RunOnTpmThread([this] { return OpenOnTpmThread(); });
}

absl::Status Tpm2Root::Renew() {
  if (host_ == nullptr) {
    return absl::FailedPreconditionError("the tpm2 root is not open");
  }
  return RunOnTpmThread([this] { return RenewOnTpmThread(); });
}

absl::Status Tpm2Root::RenewOnTpmThread() {
  TAO_ASSIGN_OR_RETURN(std::unique_ptr<EsysContext> ctx,
                       EsysContext::Open(options_.tcti));
  absl::Time not_after;
  PcrValues quoted;
  TAO_ASSIGN_OR_RETURN(
      Attestation delegation,
      QuoteDelegation(*ctx, options_, host_->signing_public_key(), &not_after,
                      &quoted));
  if (PlatformStateText(quoted) != platform_state_) {
    // The name and the seal decisions rest on the state at start.
    return absl::FailedPreconditionError(absl::StrCat(
        "tpm2: the PCRs changed since the host started (PCR ",
        DifferingPcrs(PcrsFromProto(host_->delegation()->tpm2_quote().pcrs()),
                      quoted),
        "); the delegation is not renewed"));
  }
  TAO_RETURN_IF_ERROR(host_->ReplaceDelegation(std::move(delegation)));
  absl::MutexLock lock(&mu_);
  renew_at_ = not_after - options_.delegation_lifetime / 3;
  return absl::OkStatus();
}

absl::Status Tpm2Root::OpenOnTpmThread() {
  TAO_ASSIGN_OR_RETURN(std::unique_ptr<EsysContext> ctx,
                       EsysContext::Open(options_.tcti));
  TAO_RETURN_IF_ERROR(ctx->CheckReady());
  TAO_RETURN_IF_ERROR(EnsureDirectory(options_.dir, 0700));
  const VerifyingKey& policy_key = *options_.policy_key;
  const std::string sealed_path = PathIn(options_.dir, kTpm2SealedBasename);
  const std::string keyset_path = PathIn(options_.dir, kTpm2KeysetBasename);
  const bool have_sealed = PathExists(sealed_path);
  const bool have_keyset = PathExists(keyset_path);
  std::optional<HostKeys> keys;
  if (!have_sealed && !have_keyset) {
    // First start: fresh keys under a fresh root secret sealed to the PCRs
    // as they are now.
    TAO_ASSIGN_OR_RETURN(HostKeys fresh, HostKeys::Generate());
    TAO_ASSIGN_OR_RETURN(std::string secret_bytes,
                         RandomBytes(kTpm2RootSecretSize));
    SecretString secret(std::move(secret_bytes));
    TAO_ASSIGN_OR_RETURN(PcrValues baseline, ReadPcrs(*ctx, options_.pcrs));
    TAO_ASSIGN_OR_RETURN(
        Tpm2SealedState state,
        CreateSealedObject(*ctx, secret.view(), baseline, policy_key));
    TAO_ASSIGN_OR_RETURN(std::string keyset,
                         EncryptTpm2Keyset(fresh, secret.view()));
    TAO_RETURN_IF_ERROR(
        CreateFileAtomically(sealed_path, state.SerializeAsString(), 0600));
    TAO_RETURN_IF_ERROR(CreateFileAtomically(keyset_path, keyset, 0600));
    created_keys_ = true;
    keys = std::move(fresh);
    LOG(INFO) << "tpm2: made the host's keys, sealed to "
              << PlatformStateText(baseline);
  } else if (!have_sealed || !have_keyset) {
    return absl::FailedPreconditionError(
        absl::StrCat("tpm2: ", have_sealed ? keyset_path : sealed_path,
                     " is missing (an interrupted first start?); remove ",
                     have_sealed ? sealed_path : keyset_path,
                     " too to make new keys (the host gets a new key)"));
  } else {
    TAO_ASSIGN_OR_RETURN(Tpm2SealedState state,
                         ReadTpm2SealedState(sealed_path));
    const PcrValues baseline = PcrsFromProto(state.pcrs());
    std::vector<uint32_t> sealed_pcrs;
    for (const auto& [index, value] : baseline) sealed_pcrs.push_back(index);
    if (sealed_pcrs != options_.pcrs) {
      // Sealing again to another selection needs the old one's values,
      // which only the old selection can be checked against: refuse, and
      // say both ways out.
      return absl::FailedPreconditionError(absl::StrCat(
          "tpm2: the keys are sealed to PCRs ", PcrListText(sealed_pcrs),
          ", but tpm2_pcrs is ", PcrListText(options_.pcrs),
          ": start with --tpm2_pcrs=", PcrListText(sealed_pcrs),
          " (tpm2_pcrs in the config), or move ", options_.dir,
          " aside to make new keys (what was sealed under the old ones is "
          "then lost)"));
    }
    if (state.policy_key() != Principal::ForKey(policy_key).text()) {
      return absl::FailedPreconditionError(
          "tpm2: the keys were sealed for another domain policy key");
    }
    auto secret = UnsealWithPcrs(*ctx, state);
    if (!secret.ok()) {
      TAO_ASSIGN_OR_RETURN(PcrValues now, ReadPcrs(*ctx, options_.pcrs));
      const std::string differ = DifferingPcrs(baseline, now);
      if (differ.empty()) return secret.status();
      const std::string changed = absl::StrCat(
          "tpm2: the platform state changed since the host's keys were "
          "sealed: PCR ",
          differ, " differs (sealed for ", PlatformStateText(baseline),
          ", now ", PlatformStateText(now), ")");
      if (options_.pcr_authorization_file.empty() ||
          !PathExists(options_.pcr_authorization_file)) {
        return absl::FailedPreconditionError(absl::StrCat(
            changed,
            "; if the change is expected, the domain approves the new state "
            "(tao-domain sign-pcrs) and the host is given it "
            "(tpm2_pcr_authorization)"));
      }
      TAO_ASSIGN_OR_RETURN(Tpm2PcrAuthorization approval,
                           ReadTpm2PcrAuthorization(
                               options_.pcr_authorization_file, policy_key));
      const PcrValues approved = PcrsFromProto(approval.pcrs());
      const std::string unapproved = DifferingPcrs(approved, now);
      if (!unapproved.empty()) {
        return absl::FailedPreconditionError(absl::StrCat(
            changed, "; the domain-signed set ",
            options_.pcr_authorization_file, " does not match either: PCR ",
            unapproved, " differs"));
      }
      secret = UnsealWithAuthorization(*ctx, state, approval, policy_key);
      if (!secret.ok()) {
        return absl::Status(
            secret.status().code(),
            absl::StrCat(changed, "; the TPM refused the domain-signed set: ",
                         secret.status().message()));
      }
      // Seal again to the approved state, so that it is the new baseline.
      TAO_ASSIGN_OR_RETURN(
          Tpm2SealedState resealed,
          CreateSealedObject(*ctx, secret->view(), now, policy_key));
      TAO_RETURN_IF_ERROR(
          WriteFileAtomically(sealed_path, resealed.SerializeAsString(), 0600));
      LOG(INFO) << "tpm2: unsealed under the domain-signed PCR set and "
                   "sealed again to "
                << PlatformStateText(now);
    }
    TAO_ASSIGN_OR_RETURN(std::string keyset,
                         ReadFileToString(keyset_path, 64 << 10));
    TAO_ASSIGN_OR_RETURN(HostKeys loaded,
                         DecryptTpm2Keyset(keyset, secret->view()));
    keys = std::move(loaded);
  }

  absl::Time not_after;
  PcrValues quoted;
  TAO_ASSIGN_OR_RETURN(
      Attestation delegation,
      QuoteDelegation(*ctx, options_, keys->signing_key.verifying_key(),
                      &not_after, &quoted));
  TAO_ASSIGN_OR_RETURN(VerifyingKey ak,
                       VerifyingKey::FromSpki(delegation.signer_key()));
  platform_state_ = PlatformStateText(quoted);
  TAO_ASSIGN_OR_RETURN(host_,
                       TaoHost::Create(*std::move(keys), Principal::ForTpm2(ak),
                                       std::move(delegation)));
  ak_ = ak;
  TAO_RETURN_IF_ERROR(WriteFileAtomically(PathIn(options_.dir, kTpm2AkBasename),
                                          ak.ToPem(), 0644));
  TAO_RETURN_IF_ERROR(WriteFileAtomically(
      PathIn(options_.dir, kTpm2StateBasename), platform_state_ + "\n", 0644));
  open_tpm_time_ = ctx->tpm_time();
  open_tpm_commands_ = ctx->commands();
  LOG(INFO) << "tpm2: " << open_tpm_commands_ << " TPM commands took "
            << absl::ToDoubleMilliseconds(open_tpm_time_) << " ms";
  {
    absl::MutexLock lock(&mu_);
    renew_at_ = not_after - options_.delegation_lifetime / 3;
  }
  return absl::OkStatus();
}

}  // namespace tao
