#include "program_factory/enclave/landlock_policy.h"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "program_factory/internal/clone_child.h"

// Rights newer than Debian 12's kernel headers (ABI 3 and 5).
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif

namespace tao {
namespace {

// The ruleset attribute as ABI 1 knows it: only the file-system rights
// (the kernel accepts the shorter struct from older callers).
struct RulesetAttr {
  uint64_t handled_access_fs;
};

struct __attribute__((packed)) PathBeneathAttr {
  uint64_t allowed_access;
  int32_t parent_fd;
};

int KernelAbi() {
  long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0,
                       LANDLOCK_CREATE_RULESET_VERSION);
  return abi < 0 ? -errno : static_cast<int>(abi);
}

}  // namespace

absl::StatusOr<LandlockPolicy> LandlockPolicy::Create(
    std::vector<LandlockRule> rules, int minimum_abi) {
  for (const LandlockRule& rule : rules) {
    if (rule.path.empty() || rule.path[0] != '/') {
      return absl::InvalidArgumentError(absl::StrCat(
          "Landlock rule path '", rule.path, "' must be absolute"));
    }
  }
  int abi = KernelAbi();
  if (abi < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("this kernel offers no Landlock (", std::strerror(-abi),
                     "); an enclave needs it"));
  }
  if (abi < minimum_abi) {
    return absl::FailedPreconditionError(
        absl::StrCat("this kernel's Landlock ABI is ", abi, ", older than the ",
                     minimum_abi, " required"));
  }
  LandlockPolicy policy;
  policy.rules_ = std::move(rules);
  policy.abi_ = abi;
  policy.handled_ = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;  // ABI 1
  if (abi >= 2) policy.handled_ |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3) policy.handled_ |= LANDLOCK_ACCESS_FS_TRUNCATE;
  if (abi >= 5) policy.handled_ |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
  policy.read_execute_ = LANDLOCK_ACCESS_FS_EXECUTE |
                         LANDLOCK_ACCESS_FS_READ_FILE |
                         LANDLOCK_ACCESS_FS_READ_DIR;
  policy.read_write_ =
      LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
      LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
      LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR |
      LANDLOCK_ACCESS_FS_MAKE_REG |
      (policy.handled_ &
       (LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE));
  return policy;
}

// Runs in the enclave's program before its exec (enclave_init.cc): raw
// system calls, no sanitizer instrumentation.
TAO_CLONE_CHILD LandlockFailure LandlockPolicy::Apply() const {
  RulesetAttr attr = {handled_};
  int ruleset = static_cast<int>(
      ::syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0));
  if (ruleset < 0) return LandlockFailure{-1, errno};
  for (size_t i = 0; i < rules_.size(); ++i) {
    int fd = static_cast<int>(::syscall(
        SYS_openat, AT_FDCWD, rules_[i].path.c_str(), O_PATH | O_CLOEXEC));
    if (fd < 0) {
      int err = errno;
      ::syscall(SYS_close, ruleset);
      return LandlockFailure{static_cast<int>(i), err};
    }
    PathBeneathAttr beneath = {rules_[i].writable ? read_write_ : read_execute_,
                               fd};
    long rc = ::syscall(SYS_landlock_add_rule, ruleset,
                        LANDLOCK_RULE_PATH_BENEATH, &beneath, 0);
    int err = errno;
    ::syscall(SYS_close, fd);
    if (rc != 0) {
      ::syscall(SYS_close, ruleset);
      return LandlockFailure{static_cast<int>(i), err};
    }
  }
  if (::syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      ::syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) {
    int err = errno;
    ::syscall(SYS_close, ruleset);
    return LandlockFailure{-1, err};
  }
  ::syscall(SYS_close, ruleset);
  return LandlockFailure{-1, 0};
}

std::string LandlockPolicy::Describe(const LandlockFailure& failure) const {
  if (failure.error == 0) return "ok";
  std::string what =
      failure.rule >= 0 && static_cast<size_t>(failure.rule) < rules_.size()
          ? absl::StrCat("Landlock rule for ", rules_[failure.rule].path)
          : std::string("Landlock ruleset");
  return absl::StrCat(what, ": ", std::strerror(failure.error));
}

}  // namespace tao
