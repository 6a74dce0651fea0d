// QmpClient: the host's side of a QEMU's QMP monitor, over a stream socket.
// Everything QEMU says is untrusted: lines are bounded, each is parsed as
// strict JSON (protobuf's JSON parser into a google.protobuf.Struct, never a
// hand-rolled parser), and the number of events kept is bounded. Anything
// that does not fit the protocol breaks the client (every later call fails
// with kDataLoss) and nothing else. A command QEMU does not answer in time
// breaks it too, since a late reply could be taken for the next command's:
// every later call fails with that kDeadlineExceeded. Not thread-safe: the VM
// program that owns it calls it from the loop's thread.
#ifndef TAO_PROGRAM_FACTORY_VM_QMP_CLIENT_H_
#define TAO_PROGRAM_FACTORY_VM_QMP_CLIENT_H_

#include <cstddef>
#include <deque>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "tao/unique_fd.h"

namespace tao {

// One asynchronous event QEMU reported ("SHUTDOWN", "GUEST_PANICKED", ...)
// with the "reason" or "action" of its data where it had one.
struct QmpEvent {
  std::string name;    // at most 64 bytes of [A-Z0-9_]
  std::string detail;  // data.reason or data.action; at most 64 bytes
};

struct QmpClientOptions {
  size_t max_line = 64 << 10;  // longest line QEMU may send
  size_t max_events = 256;     // events kept; older ones are dropped
  size_t max_drain = 1 << 20;  // bytes read per Drain call at most
};

class QmpClient {
 public:
  // Takes `socket` (a connected stream socket; made non-blocking here).
  explicit QmpClient(UniqueFd socket, QmpClientOptions options = {});

  // Reads QEMU's greeting ({"QMP": {...}}) and enters command mode
  // (qmp_capabilities), within `timeout`. kDeadlineExceeded, kDataLoss for
  // anything but the protocol, kUnavailable if QEMU closed the monitor,
  // kFailedPrecondition if QEMU refused qmp_capabilities.
  absl::Status Handshake(absl::Duration timeout);

  // Runs `command` (no arguments) and waits up to `timeout` for its answer:
  // the "return" value, or QEMU's "error" as kFailedPrecondition with its
  // description (the client stays usable). Events read meanwhile are kept.
  // Other errors as Handshake, and each of them breaks the client for good.
  absl::StatusOr<google::protobuf::Value> Execute(absl::string_view command,
                                                  absl::Duration timeout);

  // Reads whatever QEMU has sent without waiting (until nothing is left,
  // the monitor closed or max_drain bytes), keeping the events. A reply
  // with no command pending is a protocol error. kDataLoss as above.
  absl::Status Drain();

  // The events kept so far, oldest first.
  const std::deque<QmpEvent>& events() const { return events_; }
  // Whether an event `name` was seen.
  bool Saw(absl::string_view name) const;
  // Whether the monitor is closed (QEMU exited) or broken.
  bool closed() const { return closed_; }
  // OK, or why the client is broken.
  const absl::Status& broken() const { return broken_; }

 private:
  // Reads once (non-blocking); false if nothing was there. Parses every
  // complete line, putting replies in reply_.
  absl::StatusOr<bool> ReadSome();
  absl::Status HandleLine(absl::string_view line);
  absl::Status Fail(absl::Status status);
  // Waits for the socket to be readable until `deadline`.
  absl::Status WaitReadable(absl::Time deadline);
  absl::Status SendLine(absl::string_view json);
  absl::StatusOr<google::protobuf::Struct> AwaitReply(absl::Time deadline);

  UniqueFd socket_;
  QmpClientOptions options_;
  std::string pending_;  // bytes of an incomplete line
  std::deque<QmpEvent> events_;
  bool have_greeting_ = false;
  bool waiting_ = false;  // a command is outstanding
  bool have_reply_ = false;
  google::protobuf::Struct reply_;
  bool closed_ = false;
  absl::Status broken_;
};

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_VM_QMP_CLIENT_H_
