#include "apps/taohost/root.h"

#include <glog/logging.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "apps/common/cli.h"
#include "apps/taohost/host_files.h"
#include "channels/rpc_tao.h"
#include "seal_policy/codec.h"
#include "tao/soft_root.h"
#include "tao/stacked_root.h"
#include "tao/status_macros.h"
#include "tao/tpm2/tpm2_root.h"

namespace tao {
namespace {

constexpr absl::string_view kStateDirectoryEnv = "TAO_STATE_DIRECTORY";

absl::StatusOr<std::unique_ptr<HostRoot>> MakeSoftRoot(
    const TaohostConfig& config, uint64_t scrypt_n) {
  auto passphrase = ReadPassphrase(config.passphrase_file());
  ScrubPassphraseFromEnvironment();
  TAO_RETURN_IF_ERROR(passphrase.status());
  SoftTaoOptions options;
  options.keys_dir = config.keys_dir();
  options.passphrase = *passphrase;
  OPENSSL_cleanse(passphrase->data(), passphrase->size());
  options.scrypt.n = scrypt_n;
  return std::make_unique<SoftRoot>(std::move(options));
}

// The keyset's policy: SameProgram, or SameSigner for the publisher the
// parent verified (the last Publisher(...) of the host's name).
absl::StatusOr<std::string> KeysetPolicy(const TaohostConfig& config,
                                         Tao& parent) {
  if (config.stacked_seal() != "same-signer") {
    return EncodeSealPolicy(SameProgramPolicy());
  }
  TAO_ASSIGN_OR_RETURN(Principal name, parent.GetTaoName());
  const auto& subs = name.subprincipals();
  for (auto sub = subs.rbegin(); sub != subs.rend(); ++sub) {
    if (sub->kind() != "Publisher") continue;
    TAO_ASSIGN_OR_RETURN(PublisherClaim claim, ParsePublisher(*sub));
    TAO_ASSIGN_OR_RETURN(VerifyingKey publisher,
                         VerifyingKey::FromSpki(claim.publisher_spki));
    return EncodeSealPolicy(SameSignerPolicy(
        Principal::ForKey(publisher).text(), claim.product, claim.version));
  }
  return absl::FailedPreconditionError(
      "stacked_seal same-signer: the parent names this host without a "
      "Publisher(...): its binary carries no verified signature");
}

absl::StatusOr<std::unique_ptr<HostRoot>> MakeStackedRoot(
    const TaohostConfig& config) {
  // No passphrase belongs in a stacked host's environment.
  ScrubPassphraseFromEnvironment();
  auto parent = TaoFromEnvironment();
  if (!parent.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("root stacked: no parent host (", kTaoChannelEnv,
                     "): ", parent.status().message()));
  }
  ::unsetenv(std::string(kTaoChannelEnv).c_str());
  // Like a soft host's state_dir (0711): the host's programs pass through
  // it to their own state directories.
  const char* state = ::getenv(std::string(kStateDirectoryEnv).c_str());
  if (state != nullptr && *state != '\0' && ::chmod(state, 0711) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("chmod 0711 ", state));
  }
  StackedRootOptions options;
  TAO_ASSIGN_OR_RETURN(options.seal_policy, KeysetPolicy(config, **parent));
  if (config.stacked_seal() == "same-signer") {
    // An earlier version's keyset (same publisher and product, a lower or
    // equal min_version) is this host's; it is then sealed again under
    // this version, so the earlier one cannot take it back.
    auto mine = DecodeSealPolicy(options.seal_policy);
    if (!mine.ok()) return mine.status();
    options.accept_policy =
        [mine = mine->same_signer()](absl::string_view sealed) {
          auto theirs = DecodeSealPolicy(sealed);
          return theirs.ok() && theirs->has_same_signer() &&
                 theirs->same_signer().signer() == mine.signer() &&
                 theirs->same_signer().product() == mine.product() &&
                 theirs->same_signer().min_version() <= mine.min_version();
        };
  }
  options.parent = *std::move(parent);
  options.keyset_file =
      config.stacked_keyset_file().empty()
          ? absl::StrCat(config.keys_dir(), "/", kStackedKeysetBasename)
          : config.stacked_keyset_file();
  options.delegation_lifetime =
      absl::Seconds(config.stacked_delegation_lifetime_s() > 0
                        ? config.stacked_delegation_lifetime_s()
                        : 3600);
  options.on_renewal = [](const absl::Status& status) {
    if (status.ok()) {
      LOG(INFO) << "renewed the host's delegation";
    } else {
      LOG(WARNING) << "could not renew the host's delegation: " << status;
    }
  };
  return std::make_unique<StackedRoot>(std::move(options));
}

absl::StatusOr<std::unique_ptr<HostRoot>> MakeTpm2Root(
    const TaohostConfig& config) {
  // No passphrase: the TPM keeps the keys.
  ScrubPassphraseFromEnvironment();
  Tpm2RootOptions options;
  options.tcti =
      config.tpm2_tcti().empty() ? "device:/dev/tpmrm0" : config.tpm2_tcti();
  auto pcrs =
      ParsePcrList(config.tpm2_pcrs().empty() ? "0,2,4,7" : config.tpm2_pcrs());
  if (!pcrs.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tpm2_pcrs: ", pcrs.status().message()));
  }
  options.pcrs = *std::move(pcrs);
  options.dir = config.keys_dir();
  auto policy_key = LoadPinnedPolicyKey(config.policy_key_file());
  if (!policy_key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("root tpm2 needs the domain's policy key: ",
                     policy_key.status().message()));
  }
  options.policy_key = *std::move(policy_key);
  options.pcr_authorization_file =
      config.tpm2_pcr_authorization().empty()
          ? absl::StrCat(config.keys_dir(), "/tpm2_pcr_authorization")
          : config.tpm2_pcr_authorization();
  if (config.tpm2_delegation_lifetime_s() > 0) {
    options.delegation_lifetime =
        absl::Seconds(config.tpm2_delegation_lifetime_s());
  }
  options.on_renewal = [](const absl::Status& status) {
    if (status.ok()) {
      LOG(INFO) << "tpm2: renewed the host's delegation (a fresh quote)";
    } else {
      LOG(WARNING) << "tpm2: could not renew the host's delegation: " << status;
    }
  };
  return std::make_unique<Tpm2Root>(std::move(options));
}

}  // namespace

absl::Status ApplyRootDefaults(TaohostConfig* config) {
  if (config->root().empty()) config->set_root("soft");
  if (config->root() != "soft" && config->root() != "stacked" &&
      config->root() != "tpm2") {
    return absl::InvalidArgumentError(
        absl::StrCat("root '", config->root(), "': soft, stacked or tpm2"));
  }
  if (!config->stacked_seal().empty() &&
      config->stacked_seal() != "same-program" &&
      config->stacked_seal() != "same-signer") {
    return absl::InvalidArgumentError(
        "stacked_seal: same-program or same-signer");
  }
  if (config->root() != "stacked") return absl::OkStatus();
  const char* state = ::getenv(std::string(kStateDirectoryEnv).c_str());
  if (state == nullptr || *state == '\0') {
    if (config->keys_dir().empty()) {
      return absl::InvalidArgumentError(
          "root stacked: keys_dir is required when the parent gives no "
          "state directory (TAO_STATE_DIRECTORY)");
    }
    return absl::OkStatus();
  }
  const std::string s = state;
  if (config->keys_dir().empty()) config->set_keys_dir(s + "/keys");
  if (config->state_dir().empty()) config->set_state_dir(s + "/state");
  if (config->runtime_dir().empty()) config->set_runtime_dir(s + "/run");
  if (config->cgroup_root().empty() && ::geteuid() != 0) {
    config->set_cgroup_root("none");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<HostRoot>> MakeHostRoot(
    const TaohostConfig& config, uint64_t scrypt_n) {
  if (config.root() == "stacked") return MakeStackedRoot(config);
  if (config.root() == "tpm2") return MakeTpm2Root(config);
  return MakeSoftRoot(config, scrypt_n);
}

}  // namespace tao
