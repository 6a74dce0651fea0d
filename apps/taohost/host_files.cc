#include "apps/taohost/host_files.h"

#include <errno.h>
#include <glog/logging.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tao/file_util.h"
#include "tao/principal.h"

namespace tao {

absl::Status HardenHostProcess() {
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return absl::ErrnoToStatus(errno, "prctl(PR_SET_DUMPABLE)");
  }
  struct rlimit nofile;
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 &&
      nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  return absl::OkStatus();
}

absl::Status PrepareHostDirectories(const TaohostConfig& config) {
  const uid_t self = ::geteuid();
  for (const auto& [dir, mode, forbidden] :
       std::vector<std::tuple<std::string, mode_t, mode_t>>{
           {config.keys_dir(), 0700, 0077},
           {config.runtime_dir(), 0750, 0022},
           {config.log_dir(), 0700, 0077}}) {
    absl::Status ok = EnsureDirectory(dir, mode);
    if (ok.ok()) ok = CheckDirectoryAccess(dir, self, forbidden);
    if (!ok.ok()) return ok;
  }
  // A missing domain is reported by the policy's own read, which names it.
  absl::Status domain = CheckDirectoryAccess(config.domain_dir(), self, 0022);
  if (!domain.ok() && !absl::IsNotFound(domain)) return domain;
  auto swept = SweepTemporaries(config.keys_dir());
  if (!swept.ok()) return swept.status();
  if (*swept > 0) {
    LOG(INFO) << "removed " << *swept << " temporaries left in "
              << config.keys_dir() << " by an interrupted write";
  }
  return absl::OkStatus();
}

absl::StatusOr<VerifyingKey> LoadPinnedPolicyKey(const std::string& path) {
  absl::Status safe = CheckFileAccess(path, ::geteuid());
  if (!safe.ok()) {
    return absl::Status(
        safe.code(),
        absl::StrCat("policy_key_file: ", safe.message(),
                     absl::IsNotFound(safe)
                         ? " (install the domain's policy_name there, e.g. "
                           "install -m 0644 D/policy_name /etc/tao/policy_key)"
                         : ""));
  }
  auto text = ReadFileToString(path, 1 << 16);
  if (!text.ok()) return text.status();
  auto name = Principal::Parse(absl::StripAsciiWhitespace(*text));
  if (!name.ok() || !name->subprincipals().empty() || name->is_tpm2()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a key principal"));
  }
  return VerifyingKey::FromSpki(name->key_spki());
}

absl::StatusOr<std::string> MakeRunLogDirectory(const std::string& log_dir) {
  std::string base = absl::StrCat(
      log_dir, "/",
      absl::FormatTime("%Y%m%dT%H%M%SZ", absl::Now(), absl::UTCTimeZone()), "-",
      ::getpid());
  for (int n = 0; n < 100; ++n) {
    std::string dir = n == 0 ? base : absl::StrCat(base, ".", n);
    if (::mkdir(dir.c_str(), 0700) == 0) return dir;
    if (errno != EEXIST) {
      return absl::ErrnoToStatus(errno, absl::StrCat("mkdir ", dir));
    }
  }
  return absl::AlreadyExistsError(
      absl::StrCat("cannot make a fresh log directory like ", base));
}

absl::StatusOr<std::unique_ptr<PolicyFile>> PolicyFile::Open(
    const TaohostConfig& config, const TaoHost& host, VerifyingKey key) {
  auto mark_key = host.DeriveSecret("tao-policy-serial-mark-v1", 32);
  if (!mark_key.ok()) return mark_key.status();
  auto mark = PolicySerialMark::Open(
      absl::StrCat(config.keys_dir(), "/policy_serial"), *std::move(mark_key));
  if (!mark.ok()) return mark.status();
  return std::unique_ptr<PolicyFile>(
      new PolicyFile(absl::StrCat(config.domain_dir(), "/policy.signed"),
                     std::move(key), *std::move(mark)));
}

absl::StatusOr<std::string> PolicyFile::Load() const {
  auto bytes = ReadFileToString(path_, kMaxDomainPolicySize);
  if (!bytes.ok()) return bytes.status();
  auto policy = VerifySignedDomainPolicy(*bytes, key_);
  if (!policy.ok()) {
    return absl::Status(policy.status().code(),
                        absl::StrCat(path_, ": ", policy.status().message()));
  }
  absl::Status fresh = mark_->Accept(policy->serial());
  if (!fresh.ok()) {
    return absl::Status(fresh.code(),
                        absl::StrCat(path_, ": ", fresh.message()));
  }
  return bytes;
}

}  // namespace tao
