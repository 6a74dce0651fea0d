// For the code a child made by clone() runs before it executes a program:
// it shares the host's memory, so it makes system calls only and touches
// nothing but its own stack (async-signal-safe). The process factory's child
// (subprocess.cc) and the enclave's init (enclave/enclave_init.cc) use it.
#ifndef TAO_PROGRAM_FACTORY_INTERNAL_CLONE_CHILD_H_
#define TAO_PROGRAM_FACTORY_INTERNAL_CLONE_CHILD_H_

// Marks a function of such a child: never inlined into an instrumented
// caller, and no sanitizer instrumentation (whose shadow memory and reports
// the child must not touch).
#define TAO_CLONE_CHILD \
  __attribute__((noinline, no_sanitize("address", "undefined")))

namespace tao {

// Resets every signal's disposition to SIG_DFL (the child's own table: no
// CLONE_SIGHAND), then unblocks every signal. First thing in a child whose
// parent blocked every signal around clone(), so that no handler of the
// host's can ever run on the shared memory. System calls only; cannot fail
// in a way that matters (SIGKILL and SIGSTOP are left as they are).
TAO_CLONE_CHILD void ResetSignalsInCloneChild();

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_INTERNAL_CLONE_CHILD_H_
