// The enclave's system-call allow-list, built with libseccomp: what a
// program linked with glibc needs to compute, map memory, use files in its
// root and mounts, keep time, run threads, and talk over descriptors it was
// given. Anything else kills the whole process (SIGSYS), except socket(),
// which fails with EACCES (no network), and clone3(), which fails with
// ENOSYS so that glibc falls back to clone(), whose flags are checked.
// Compiled to BPF in the parent; installed in the child with two system
// calls (no_new_privs, then the filter), the last layer before exec.
#ifndef TAO_PROGRAM_FACTORY_ENCLAVE_SECCOMP_FILTER_H_
#define TAO_PROGRAM_FACTORY_ENCLAVE_SECCOMP_FILTER_H_

#include <linux/filter.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tao {

// A compiled filter. Copyable plain data; thread-compatible.
class SeccompFilter {
 public:
  // The allow-list for this machine's architecture. An errno status or
  // kInternal if libseccomp refuses a rule.
  static absl::StatusOr<SeccompFilter> BuildEnclaveAllowList();

  // Sets no_new_privs and installs the filter on the calling thread (and,
  // with TSYNC, on its other threads). System calls only: safe between
  // clone() and exec. Returns 0 or the errno of the step that failed; on
  // failure the caller must not exec (fail closed).
  int Install() const;

  // The same filter with every kill turned into SECCOMP_RET_USER_NOTIF: a
  // call outside the list blocks and is reported on a listener instead,
  // for a supervisor that then kills the caller and records the call
  // (the enclave's init). Everything else is unchanged.
  SeccompFilter WithNotify() const;

  // Like Install, for a WithNotify filter on a single-threaded caller (no
  // TSYNC): stores the listener descriptor (O_CLOEXEC) in `*listener`.
  // System calls only. 0 or the errno; on failure, do not exec.
  int InstallWithListener(int* listener) const;

  // The BPF program's length in instructions (for tests and the record).
  size_t size() const { return program_.size(); }
  // The BPF program itself (bench/enclave hands it to bubblewrap).
  const std::vector<struct sock_filter>& program() const { return program_; }

  // The names the filter allows (for docs and tests).
  static const std::vector<std::string>& AllowedNames();

 private:
  SeccompFilter() = default;
  std::vector<struct sock_filter> program_;
};

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_ENCLAVE_SECCOMP_FILTER_H_
