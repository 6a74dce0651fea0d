// Landlock for an enclave: read and execute only inside its root, read and
// write (never execute) in its writable mounts, nothing anywhere else, so a
// file it wrote can never run and the host's files stay out of reach even
// through a descriptor path the mounts missed. Laid out in the parent
// (where the kernel's Landlock ABI is checked: no Landlock, no enclave);
// applied in the child with system calls only, after the private root is
// mounted (the rules name its inodes) and before seccomp.
#ifndef TAO_PROGRAM_FACTORY_ENCLAVE_LANDLOCK_POLICY_H_
#define TAO_PROGRAM_FACTORY_ENCLAVE_LANDLOCK_POLICY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tao {

// One path and what may be done beneath it.
struct LandlockRule {
  std::string path;       // absolute; opened (O_PATH) when applied
  bool writable = false;  // false: read and execute; true: read and write
};

// Where Apply stopped: the rule's index (-1: creating or enforcing the
// ruleset) and the errno; error 0 is success.
struct LandlockFailure {
  int rule = -1;
  int error = 0;
};

// A Landlock policy ready to apply. Copyable plain data.
class LandlockPolicy {
 public:
  // Checks that the kernel has Landlock at ABI `minimum_abi` or later and
  // computes the access masks. kFailedPrecondition if it has not (the
  // message gives the kernel's ABI or the reason), kInvalidArgument for a
  // relative path.
  static absl::StatusOr<LandlockPolicy> Create(std::vector<LandlockRule> rules,
                                               int minimum_abi = 1);

  // Creates the ruleset, adds each rule, sets no_new_privs and restricts
  // the calling thread (and what it execs) for good. System calls only. On
  // failure the caller must not exec (fail closed).
  LandlockFailure Apply() const;

  // The kernel's Landlock ABI, and the rights it handles (all others are
  // denied everywhere).
  int abi() const { return abi_; }
  uint64_t handled() const { return handled_; }
  const std::vector<LandlockRule>& rules() const { return rules_; }

  // "<what>: <strerror>" for a failure.
  std::string Describe(const LandlockFailure& failure) const;

 private:
  LandlockPolicy() = default;

  std::vector<LandlockRule> rules_;
  int abi_ = 0;
  uint64_t handled_ = 0;
  uint64_t read_execute_ = 0;
  uint64_t read_write_ = 0;
};

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_ENCLAVE_LANDLOCK_POLICY_H_
