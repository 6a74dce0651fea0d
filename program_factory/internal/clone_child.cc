#include "program_factory/internal/clone_child.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace tao {

TAO_CLONE_CHILD void ResetSignalsInCloneChild() {
  // An all-zero kernel sigaction is SIG_DFL with no flags and no mask,
  // whatever the architecture's layout.
  const unsigned long dfl[8] = {};
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) {
      ::syscall(SYS_rt_sigaction, sig, dfl, nullptr, NSIG / 8);
    }
  }
  const unsigned long empty[2] = {};
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, empty, nullptr, NSIG / 8);
}

}  // namespace tao
