// The program's end of the shared-memory channel kind "shm" (the host's is
// shm_transport.h; the layout is in docs/channel-protocol.md): ShmStream
// moves bytes through the two rings, ShmChannel frames messages over it for
// RpcTao like FdChannel does over a pipe.
#ifndef TAO_CHANNELS_SHM_CHANNEL_H_
#define TAO_CHANNELS_SHM_CHANNEL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "channels/client_channel.h"
#include "channels/framing.h"
#include "channels/shm_ring.h"
#include "tao/unique_fd.h"

namespace tao {

// The program's byte stream over a shm channel. Not thread-safe: one thread
// at a time (the eventfd it waits on serves both directions). Owns the
// mapping and the descriptors; destroying it tells the host it closed.
class ShmStream {
 public:
  // Maps `memfd` and checks its header and seals; `wait` is the eventfd the
  // host signals, `signal` the one the host waits on. `spin`: times an empty
  // (or full) ring is re-checked before sleeping (0: never spin).
  // `host_alive`: the read end of the pipe only the host holds open; its
  // hang-up ends every wait as the host's close does (invalid: none, and a
  // host that dies without closing leaves the program waiting).
  // kInvalidArgument for a descriptor that is not such a channel; errno
  // statuses if it cannot be mapped.
  static absl::StatusOr<std::unique_ptr<ShmStream>> Open(
      UniqueFd memfd, UniqueFd wait, UniqueFd signal, int spin = 0,
      UniqueFd host_alive = UniqueFd());
  ~ShmStream();
  ShmStream(const ShmStream&) = delete;
  ShmStream& operator=(const ShmStream&) = delete;

  // Writes all of `parts`, blocking while the ring is full. kUnavailable if
  // the host closed the channel; kDataLoss if the ring is inconsistent.
  absl::Status WriteAll(absl::Span<const absl::string_view> parts);

  // Reads at least one byte into `buf` (blocking until some come). 0: the
  // host closed the channel. kDataLoss if the ring is inconsistent.
  absl::StatusOr<size_t> ReadSome(absl::Span<char> buf);

  // Non-blocking steps, for a caller with its own poll loop (a test's
  // bridge): what fits or what is there now (0: none), with the host woken
  // as needed.
  absl::StatusOr<size_t> TryWrite(absl::string_view data);
  absl::StatusOr<size_t> TryRead(absl::Span<char> buf);
  // Before sleeping on wait_fd() for data (`for_read`) and/or room
  // (`for_write`): true if that is already there (then do not sleep).
  absl::StatusOr<bool> PrepareToSleep(bool for_read, bool for_write);
  // After waking on wait_fd() (poll said readable): consumes the wake-up.
  void Woken();
  // After PrepareToSleep returned true: awake again, without sleeping.
  void Awake();
  // The eventfd to poll for POLLIN; owned.
  int wait_fd() const { return wait_.get(); }
  // The liveness pipe to poll beside it (-1: none); owned. Readable or hung
  // up: the host is gone (call HostGone()).
  int host_alive_fd() const { return host_alive_.get(); }
  // After polling host_alive_fd() readable or hung up.
  void HostGone() { host_gone_ = true; }
  // True once the host has closed the channel, or is gone.
  bool host_closed() const;
  // Says the program closed its end (also done by the destructor).
  void Close();

 private:
  ShmStream(char* base, size_t size, const ShmLayout& layout, UniqueFd wait,
            UniqueFd signal, UniqueFd host_alive, int spin);
  absl::Status Sleep(bool for_read, bool for_write);

  char* base_;
  size_t size_;
  UniqueFd wait_;
  UniqueFd signal_;
  UniqueFd host_alive_;
  const int spin_;
  ShmRingReader down_;
  ShmRingWriter up_;
  ShmWaiter read_wait_;
  ShmWaiter write_wait_;
  ShmWaker host_reads_;
  ShmWaker host_writes_;
  bool closed_ = false;
  bool host_gone_ = false;
};

// Framed messages over a ShmStream (see ClientChannel). Thread-compatible.
class ShmChannel final : public ClientChannel {
 public:
  explicit ShmChannel(std::unique_ptr<ShmStream> stream,
                      size_t max_frame_size = kDefaultMaxFrameSize);

  absl::Status Send(const google::protobuf::MessageLite& message) override;
  absl::Status SendParts(absl::Span<const absl::string_view> parts) override;
  absl::Status Receive(google::protobuf::MessageLite* message) override;
  size_t max_frame_size() const override { return max_frame_size_; }

 private:
  std::unique_ptr<ShmStream> stream_;
  size_t max_frame_size_;
  FrameReader reader_;
  std::string out_;
};

}  // namespace tao

#endif  // TAO_CHANNELS_SHM_CHANNEL_H_
