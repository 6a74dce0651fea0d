// The child side of LaunchEnclave (enclave_launch.h): the enclave's init and
// the program it forks. Internal to program_factory_enclave; only
// enclave_launch.cc calls it.
#ifndef TAO_PROGRAM_FACTORY_ENCLAVE_ENCLAVE_INIT_H_
#define TAO_PROGRAM_FACTORY_ENCLAVE_ENCLAVE_INIT_H_

#include <sched.h>

#include <cstddef>
#include <cstdint>
#include <utility>

#include "program_factory/enclave/enclave_launch.h"

namespace tao {

// The namespaces every enclave's init is cloned into.
inline constexpr int kEnclaveNamespaces = CLONE_NEWUSER | CLONE_NEWPID |
                                          CLONE_NEWNS | CLONE_NEWNET |
                                          CLONE_NEWIPC | CLONE_NEWUTS;

// Everything the init reads, laid out by the host before clone(); the init
// only reads it (its own copy: clone() without CLONE_VM).
struct EnclaveInitArgs {
  const EnclaveLaunchOptions* o;
  int go_fd;      // read end: 'g' once the maps are set, 'c' once the
                  // cgroups are joined
  int report_fd;  // write end
  char* const* argv;
  char* const* envp;
  const std::pair<int, int>* remap;
  size_t remap_count;
  int max_target;  // the highest descriptor the program gets
};

// CLOCK_MONOTONIC in nanoseconds, by a raw system call (safe in the init).
int64_t EnclaveClockNanos();

// Clones the init into kEnclaveNamespaces with a pidfd (*pidfd). With
// `cgroup_fd` (a cgroup v2 directory) it is born in that cgroup (clone3,
// CLONE_INTO_CGROUP) and *born_in is set; where the kernel has no clone3 or
// refuses it, plain clone. Returns the init's pid, or -1 with errno. Call
// with every signal blocked: the init resets the handlers, then unblocks.
int CloneEnclaveInit(const EnclaveInitArgs& a, int cgroup_fd, int* pidfd,
                     bool* born_in);

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_ENCLAVE_ENCLAVE_INIT_H_
