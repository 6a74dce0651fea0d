// VmAdminBridge: one VM's admin socket on the host, and the thread that
// serves it.
//
// It owns the listening socket (VmProgram makes it 0600 in a 0700
// directory: only the host's uid may connect) and the host's end of the
// admin link, a socketpair whose other end is QEMU's chardev for the virtio
// port "org.tao.admin". Its thread accepts one host client at a time (the
// next waits in the listen backlog) and carries that client's bytes to the
// guest and back in frames of the client's session (admin_frame.h). Frames
// the guest sends for any other session (an earlier one it answers late)
// are dropped, so no byte of one session reaches another. A session whose
// client ends before a byte of it reached the link (a guest that reads
// late) is taken back whole: the guest never sees it.
//
// Everything the guest sends is untrusted. A bad frame, or the link's end
// (QEMU gone), stops the bridge: the listening socket is closed, so clients
// are refused at once; for a bad frame one line saying why goes to the
// notice descriptor (the VM's console log, never blocking). A client that
// shuts down its sending side ends its session (as gRPC never does). Memory is
// bounded by Limits: a client that does not read stops the bridge reading the
// link, a guest that does not read stops it reading the client and accepting
// the next one; a client's own deadline ends such a session.
//
// Thread-safe: Start and the destructor run on the owner's thread; the
// destructor stops and joins the bridge's thread and closes everything.
#ifndef TAO_PROGRAM_FACTORY_VM_ADMIN_PORT_ADMIN_BRIDGE_H_
#define TAO_PROGRAM_FACTORY_VM_ADMIN_PORT_ADMIN_BRIDGE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "tao/unique_fd.h"

namespace tao {

class VmAdminBridge {
 public:
  struct Limits {
    // Bytes queued for the guest before the bridge stops reading the client
    // (and accepting the next one).
    size_t link_out = 256 << 10;
    // Bytes queued for the client before the bridge stops reading the link.
    size_t client_out = 1 << 20;
  };

  // Serves `listening` (a listening unix socket) over `link`. `notice`: a
  // descriptor of a pipe or file the stop line is written to without
  // blocking (it is reopened non-blocking through /proc/self/fd, so the
  // caller's flags are untouched; its read end must stay open while the
  // bridge lives); -1: none. kInternal when the
  // thread's wake-up eventfd cannot be made; the errno status when the
  // notice descriptor cannot be reopened.
  static absl::StatusOr<std::unique_ptr<VmAdminBridge>> Start(
      UniqueFd listening, UniqueFd link, int notice, Limits limits);

  // Stops the thread and closes every descriptor it holds.
  ~VmAdminBridge();

  VmAdminBridge(const VmAdminBridge&) = delete;
  VmAdminBridge& operator=(const VmAdminBridge&) = delete;

  // OK while it serves; otherwise why it stopped: kInvalidArgument for a bad
  // frame from the guest, kUnavailable when the link ended or failed.
  absl::Status status() const ABSL_LOCKS_EXCLUDED(mu_);

  // How many sessions (host clients) it has begun.
  uint32_t sessions() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  VmAdminBridge(UniqueFd listening, UniqueFd link, UniqueFd notice,
                UniqueFd wake, Limits limits);
  void Run();
  // Records why it stopped, closes the listening socket and writes the
  // notice line.
  void Stop(absl::Status why) ABSL_LOCKS_EXCLUDED(mu_);

  UniqueFd listening_;
  UniqueFd link_;
  UniqueFd notice_;
  UniqueFd wake_;  // an eventfd: the destructor's stop signal
  const Limits limits_;
  mutable absl::Mutex mu_;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  uint32_t sessions_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_VM_ADMIN_PORT_ADMIN_BRIDGE_H_
