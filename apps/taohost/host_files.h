// taohost's start-up hygiene and the files it trusts: no core dumps and no
// same-uid ptrace, the passphrase out of the environment, the owner and mode
// of its directories, the temporaries a crash left, the pinned policy key,
// the policy file with its serial high-water mark, a log directory per run.
// docs/taohost.md ("Files and directories") says what is checked.
#ifndef TAO_APPS_TAOHOST_HOST_FILES_H_
#define TAO_APPS_TAOHOST_HOST_FILES_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "apps/taohost/taohost_config.pb.h"
#include "tao/keys.h"
#include "tao/tao_host.h"
#include "tao_domain/policy_io.h"

namespace tao {

// Makes the process non-dumpable (prctl PR_SET_DUMPABLE 0: no core dump,
// no ptrace and no /proc/<pid>/mem or environ for other processes of its
// uid) and raises its soft descriptor limit to the hard one. Call before
// reading any secret. An errno status if prctl fails.
absl::Status HardenHostProcess();

// Creates the host's directories that are missing (keys_dir 0700,
// runtime_dir 0750, log_dir 0700) and checks them and domain_dir: owned by
// root or this uid; keys_dir and log_dir with no group or other access,
// runtime_dir and domain_dir not group or other writable. Then removes the
// temporaries of interrupted atomic writes in keys_dir (logging how many).
// kFailedPrecondition naming the path and the fix, or an errno status.
absl::Status PrepareHostDirectories(const TaohostConfig& config);

// The pinned policy key from `path`: a regular file owned by root or this
// uid, not group or other writable, in a directory likewise. Statuses of
// CheckFileAccess (prefixed "policy_key_file: "), kInvalidArgument if it
// does not hold a bare key principal.
absl::StatusOr<VerifyingKey> LoadPinnedPolicyKey(const std::string& path);

// Makes <log_dir>/<UTC start time>-<pid> (mode 0700), a directory of this
// host run for the programs' logs, so that a restarted host (whose ids
// start at 1 again) never overwrites an earlier run's. Returns its path.
absl::StatusOr<std::string> MakeRunLogDirectory(const std::string& log_dir);

// domain_dir/policy.signed as the host loads it, at start, on SIGHUP and on
// the admin Reload. Thread-safe.
class PolicyFile {
 public:
  // Opens the serial mark keys_dir/policy_serial, MACed with a key that
  // `host` derives. Statuses of PolicySerialMark::Open.
  static absl::StatusOr<std::unique_ptr<PolicyFile>> Open(
      const TaohostConfig& config, const TaoHost& host, VerifyingKey key);

  // Reads the file (a regular file, never blocking), verifies it against
  // the pinned key and refuses a serial lower than the highest this host
  // accepted, raising the mark when it is higher. Returns the bytes for
  // TaoDomain::Create or Reload. Statuses of ReadFileToString,
  // VerifySignedDomainPolicy and PolicySerialMark::Accept, prefixed with
  // the path.
  absl::StatusOr<std::string> Load() const;

  const std::string& path() const { return path_; }

 private:
  PolicyFile(std::string path, VerifyingKey key,
             std::unique_ptr<PolicySerialMark> mark)
      : path_(std::move(path)), key_(std::move(key)), mark_(std::move(mark)) {}

  const std::string path_;
  const VerifyingKey key_;
  const std::unique_ptr<PolicySerialMark> mark_;
};

}  // namespace tao

#endif  // TAO_APPS_TAOHOST_HOST_FILES_H_
