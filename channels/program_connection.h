// ProgramConnection: the host's end of one hosted program's channel, above
// its HostTransport. It owns the framing (a FrameReader under the frame
// cap), the per-turn budgets that keep one busy program from starving the
// others, backpressure (it stops reading requests while too many answers
// wait to be sent), the answers held until the audit trail has made their
// records durable (sync durability), and the wiping of plaintext: a Seal's
// request bytes once answered, and unsealed data or a shared secret once
// sent. What a frame means is not its business: an Answerer turns each
// request frame into a response frame.
//
// A frame over the cap, or a transport error, closes this one channel; the
// program keeps running and nothing else is touched.
#ifndef TAO_CHANNELS_PROGRAM_CONNECTION_H_
#define TAO_CHANNELS_PROGRAM_CONNECTION_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "channels/event_dispatcher.h"
#include "channels/framing.h"
#include "channels/host_transport.h"
#include "channels/tao_request_handler.h"
#include "tao_domain/audit_log.h"

namespace tao {

struct ConnectionOptions {
  // Largest frame the program may send.
  size_t max_frame_size = kDefaultMaxFrameSize;
  // Answers buffered for a program that does not read them; past this the
  // connection stops reading its requests until it catches up.
  size_t max_buffered_output = 64 << 20;
  // The trail whose records must be durable before the answers that
  // recorded them are sent (sync durability); null: answers go at once.
  // Not owned; outlives the connection.
  AuditLog* sync_trail = nullptr;
  // For log lines only.
  uint64_t id = 0;
};

// Not thread-safe (thread-compatible): the loop calls it on its thread under
// the loop's lock, and reads its counters under that same lock. Owns its
// transport; registers the transport's descriptors with `dispatcher` under
// `tag` (the dispatcher must outlive it).
class ProgramConnection {
 public:
  // Appends the response to `frame` to `out`. An error means the frame
  // does not parse: the channel is closed (with the error's message).
  using Answerer = std::function<absl::StatusOr<TaoRequestHandler::Answered>(
      absl::string_view frame, std::string* out)>;

  ProgramConnection(std::unique_ptr<HostTransport> transport, Answerer answer,
                    EventDispatcher& dispatcher, uint64_t tag,
                    ConnectionOptions options);
  // Wipes any plaintext still buffered; closes the transport.
  ~ProgramConnection();
  ProgramConnection(const ProgramConnection&) = delete;
  ProgramConnection& operator=(const ProgramConnection&) = delete;

  // One turn for this program: sends what may be sent, reads at most a
  // budget of bytes and answers at most a turn's worth of requests, sends
  // again, then updates what the dispatcher waits for. Returns true if
  // complete requests are left buffered that no event will announce (the
  // caller serves it again next turn: EventDispatcher::Again).
  bool Serve();

  // Sends the answers whose audit records are durable now (the trail's
  // descriptor fired). Returns has_held().
  bool FlushHeld();

  // Closes the channel (the transport and its descriptors), wiping and
  // releasing every buffer. Idempotent.
  void Close(absl::string_view why);

  bool open() const { return open_; }
  // Answers waiting for the audit trail.
  bool has_held() const { return !held_.empty(); }
  // Requests answered, and of those, answered PERMISSION_DENIED.
  uint64_t calls() const { return calls_; }
  uint64_t denials() const { return denials_; }
  // Bytes of answers not yet sent.
  size_t pending() const { return out_.size() - out_pos_; }

 private:
  void ReadRequests();
  void Flush();
  void UpdateInterest();
  // Answers `frame`, appending to out_ without leaving plaintext unwiped.
  void Dispatch(absl::string_view frame);
  bool Answer(absl::string_view frame, std::string* out);
  // What may be sent now: up to the first held answer.
  size_t sendable() const {
    return (held_.empty() ? out_.size() : held_.front().first) - out_pos_;
  }
  void WipeOutput();

  std::unique_ptr<HostTransport> transport_;
  const Answerer answer_;
  EventDispatcher& dispatcher_;
  const uint64_t tag_;
  const ConnectionOptions options_;

  bool open_ = true;
  bool more_ready_ = false;  // the per-turn cap left requests unanswered
  FrameReader reader_;
  std::string out_;
  size_t out_pos_ = 0;
  // out_ holds unsealed plaintext: wipe it once it is sent.
  bool out_has_secret_ = false;
  // Answers held until the trail is durable: (offset in out_ where they
  // start, the record they wait for), in order.
  std::deque<std::pair<size_t, uint64_t>> held_;
  // Events registered for each of the transport's descriptors (0: not
  // registered), in the order of its Waits.
  std::vector<uint32_t> masks_;
  uint64_t calls_ = 0;
  uint64_t denials_ = 0;
};

}  // namespace tao

#endif  // TAO_CHANNELS_PROGRAM_CONNECTION_H_
