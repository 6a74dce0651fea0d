#include "channels/shm_channel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "tao/status_macros.h"

namespace tao {
namespace {

void Signal(int fd) {
  const uint64_t one = 1;
  ssize_t n = ::write(fd, &one, sizeof(one));
  (void)n;
}

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

absl::StatusOr<std::unique_ptr<ShmStream>> ShmStream::Open(
    UniqueFd memfd, UniqueFd wait, UniqueFd signal, int spin,
    UniqueFd host_alive) {
  struct stat st;
  if (::fstat(memfd.get(), &st) != 0) {
    return absl::ErrnoToStatus(errno, "stat the shm channel");
  }
  const int seals = ::fcntl(memfd.get(), F_GET_SEALS);
  constexpr int kNeeded = F_SEAL_SHRINK | F_SEAL_GROW;
  if (seals < 0 || (seals & kNeeded) != kNeeded) {
    return absl::InvalidArgumentError(
        "the shm channel's memfd is not sealed against resizing");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size < kShmHeaderSize) {
    return absl::InvalidArgumentError("the shm channel is too small");
  }
  void* base =
      ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd.get(), 0);
  if (base == MAP_FAILED) return absl::ErrnoToStatus(errno, "map the channel");
  absl::StatusOr<ShmLayout> layout =
      ParseShmHeader(static_cast<char*>(base), size);
  if (!layout.ok()) {
    ::munmap(base, size);
    return layout.status();
  }
  // The mapping stays valid without the descriptor.
  return std::unique_ptr<ShmStream>(
      new ShmStream(static_cast<char*>(base), size, *layout, std::move(wait),
                    std::move(signal), std::move(host_alive), spin));
}

ShmStream::ShmStream(char* base, size_t size, const ShmLayout& layout,
                     UniqueFd wait, UniqueFd signal, UniqueFd host_alive,
                     int spin)
    : base_(base),
      size_(size),
      wait_(std::move(wait)),
      signal_(std::move(signal)),
      host_alive_(std::move(host_alive)),
      spin_(spin),
      down_(base + layout.ring_offset[kShmDown], layout.ring_size[kShmDown],
            ShmWord64(base, ShmControl(kShmDown, kShmCtlHead)),
            ShmWord64(base, ShmControl(kShmDown, kShmCtlTail))),
      up_(base + layout.ring_offset[kShmUp], layout.ring_size[kShmUp],
          ShmWord64(base, ShmControl(kShmUp, kShmCtlHead)),
          ShmWord64(base, ShmControl(kShmUp, kShmCtlTail))),
      read_wait_(ShmWord32(base, ShmControl(kShmDown, kShmCtlConsumerWaiting))),
      write_wait_(ShmWord32(base, ShmControl(kShmUp, kShmCtlProducerWaiting))),
      host_reads_(ShmWord32(base, ShmControl(kShmUp, kShmCtlConsumerWaiting))),
      host_writes_(
          ShmWord32(base, ShmControl(kShmDown, kShmCtlProducerWaiting))) {}

ShmStream::~ShmStream() {
  Close();
  ::munmap(base_, size_);
}

bool ShmStream::host_closed() const {
  return host_gone_ || __atomic_load_n(ShmWord32(base_, kShmOffHostClosed),
                                       __ATOMIC_ACQUIRE) != 0;
}

void ShmStream::Close() {
  if (closed_) return;
  closed_ = true;
  __atomic_store_n(ShmWord32(base_, kShmOffProgramClosed), 1u,
                   __ATOMIC_SEQ_CST);
  Signal(signal_.get());
}

absl::StatusOr<size_t> ShmStream::TryWrite(absl::string_view data) {
  absl::StatusOr<size_t> n = up_.Write(data);
  if (n.ok() && *n > 0 && host_reads_.ShouldWake()) Signal(signal_.get());
  return n;
}

absl::StatusOr<size_t> ShmStream::TryRead(absl::Span<char> buf) {
  absl::StatusOr<size_t> n = down_.Read(buf);
  if (n.ok() && *n > 0 && host_writes_.ShouldWake()) Signal(signal_.get());
  return n;
}

absl::StatusOr<bool> ShmStream::PrepareToSleep(bool for_read, bool for_write) {
  if (for_read) {
    read_wait_.Arm();
    TAO_ASSIGN_OR_RETURN(uint64_t available, down_.Available());
    if (available > 0) return true;
  }
  if (for_write) {
    write_wait_.Arm();
    TAO_ASSIGN_OR_RETURN(uint64_t room, up_.Free());
    if (room > 0) return true;
  }
  return host_closed();
}

void ShmStream::Woken() {
  uint64_t count;
  ssize_t n = ::read(wait_.get(), &count, sizeof(count));
  (void)n;
  Awake();
}

void ShmStream::Awake() {
  read_wait_.Disarm();
  write_wait_.Disarm();
}

absl::Status ShmStream::Sleep(bool for_read, bool for_write) {
  for (int i = 0; i < spin_; ++i) {
    CpuRelax();
    if (for_read) {
      TAO_ASSIGN_OR_RETURN(uint64_t available, down_.Available());
      if (available > 0) return absl::OkStatus();
    }
    if (for_write) {
      TAO_ASSIGN_OR_RETURN(uint64_t room, up_.Free());
      if (room > 0) return absl::OkStatus();
    }
  }
  TAO_ASSIGN_OR_RETURN(bool ready, PrepareToSleep(for_read, for_write));
  if (ready) {
    // A wake-up already sent stays in the eventfd: the next sleep returns
    // at once and looks again, which is harmless.
    Awake();
    return absl::OkStatus();
  }
  // The eventfd is non-blocking (the host's writes must never block), so
  // the program sleeps in poll(2), then consumes the wake-up. The liveness
  // pipe hangs up if the host dies without closing the channel.
  struct pollfd p[2] = {{wait_.get(), POLLIN, 0},
                        {host_alive_.get(), POLLIN, 0}};
  const nfds_t n = host_alive_.valid() ? 2 : 1;
  while (::poll(p, n, -1) < 0) {
    if (errno != EINTR) return absl::ErrnoToStatus(errno, "poll the channel");
  }
  if (n == 2 && p[1].revents != 0) HostGone();
  Woken();
  return absl::OkStatus();
}

absl::Status ShmStream::WriteAll(absl::Span<const absl::string_view> parts) {
  bool wrote = false;
  for (absl::string_view rest : parts) {
    while (!rest.empty()) {
      if (host_closed()) {
        return absl::UnavailableError("the host closed the channel");
      }
      TAO_ASSIGN_OR_RETURN(size_t n, up_.Write(rest));
      rest.remove_prefix(n);
      wrote = wrote || n > 0;
      if (rest.empty()) break;
      // Full: the host must read before more fits.
      if (wrote && host_reads_.ShouldWake()) Signal(signal_.get());
      TAO_RETURN_IF_ERROR(Sleep(false, true));
    }
  }
  if (wrote && host_reads_.ShouldWake()) Signal(signal_.get());
  return absl::OkStatus();
}

absl::StatusOr<size_t> ShmStream::ReadSome(absl::Span<char> buf) {
  if (buf.empty()) return 0;
  while (true) {
    TAO_ASSIGN_OR_RETURN(size_t n, TryRead(buf));
    if (n > 0) return n;
    if (host_closed()) {
      // What the host wrote before it closed comes first.
      TAO_ASSIGN_OR_RETURN(size_t last, TryRead(buf));
      return last;
    }
    TAO_RETURN_IF_ERROR(Sleep(true, false));
  }
}

// ---- ShmChannel -------------------------------------------------------------

ShmChannel::ShmChannel(std::unique_ptr<ShmStream> stream, size_t max_frame_size)
    : stream_(std::move(stream)),
      max_frame_size_(max_frame_size),
      reader_(max_frame_size) {}

absl::Status ShmChannel::Send(const google::protobuf::MessageLite& message) {
  out_.clear();
  TAO_RETURN_IF_ERROR(AppendFrame(message, max_frame_size_, &out_));
  absl::string_view parts[] = {out_};
  absl::Status sent = stream_->WriteAll(parts);
  if (out_.capacity() > (4u << 20)) std::string().swap(out_);
  return sent;
}

absl::Status ShmChannel::SendParts(absl::Span<const absl::string_view> parts) {
  return stream_->WriteAll(parts);
}

absl::Status ShmChannel::Receive(google::protobuf::MessageLite* message) {
  while (true) {
    absl::string_view frame;
    TAO_ASSIGN_OR_RETURN(bool ready, reader_.Next(&frame));
    if (ready) {
      if (!message->ParseFromArray(frame.data(),
                                   static_cast<int>(frame.size()))) {
        return absl::InvalidArgumentError(
            "a frame from the channel does not parse");
      }
      return absl::OkStatus();
    }
    size_t room = 0;
    char* dst = reader_.WritableSpace(
        std::max<size_t>(reader_.BytesWanted(), 64 * 1024), &room);
    TAO_ASSIGN_OR_RETURN(size_t n,
                         stream_->ReadSome(absl::MakeSpan(dst, room)));
    if (n == 0) {
      return reader_.mid_frame()
                 ? absl::DataLossError(
                       "the channel closed in the middle of a frame")
                 : absl::OutOfRangeError("the channel was closed");
    }
    reader_.Commit(n);
  }
}

}  // namespace tao
