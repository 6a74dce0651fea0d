#include "channels/shm_transport.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "channels/shm_ring.h"
#include "tao/status_macros.h"

namespace tao {
namespace {

constexpr unsigned kSeals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;

void Signal(int fd) {
  const uint64_t one = 1;
  // EAGAIN (a counter the program never drains, at 2^64 - 2) is harmless:
  // the eventfd is readable anyway.
  ssize_t n = ::write(fd, &one, sizeof(one));
  (void)n;
}

void Drain(int fd) {
  uint64_t count;
  ssize_t n = ::read(fd, &count, sizeof(count));
  (void)n;
}

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// The mapping of one channel's memfd; unmaps it.
struct Mapping {
  char* base = nullptr;
  size_t size = 0;
  Mapping(char* b, size_t s) : base(b), size(s) {}
  ~Mapping() {
    if (base != nullptr) ::munmap(base, size);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
};

class ShmTransport final : public HostTransport {
 public:
  // `in`: the eventfd the program signals (the host waits on it); `out`: the
  // one the host signals; `alive`: the write end of a pipe whose read end
  // the program polls beside its eventfd, held (never written) so that the
  // host's death, which sets no flag, still ends the program's wait.
  ShmTransport(std::unique_ptr<Mapping> mapping, const ShmLayout& layout,
               UniqueFd in, UniqueFd out, UniqueFd alive, int spin)
      : mapping_(std::move(mapping)),
        in_(std::move(in)),
        out_(std::move(out)),
        alive_(std::move(alive)),
        spin_(spin) {
    char* base = mapping_->base;
    up_ = ShmRingReader(base + layout.ring_offset[kShmUp],
                        layout.ring_size[kShmUp],
                        ShmWord64(base, ShmControl(kShmUp, kShmCtlHead)),
                        ShmWord64(base, ShmControl(kShmUp, kShmCtlTail)));
    down_ = ShmRingWriter(base + layout.ring_offset[kShmDown],
                          layout.ring_size[kShmDown],
                          ShmWord64(base, ShmControl(kShmDown, kShmCtlHead)),
                          ShmWord64(base, ShmControl(kShmDown, kShmCtlTail)));
    up_wait_ =
        ShmWaiter(ShmWord32(base, ShmControl(kShmUp, kShmCtlConsumerWaiting)));
    down_wait_ = ShmWaiter(
        ShmWord32(base, ShmControl(kShmDown, kShmCtlProducerWaiting)));
    program_reads_ =
        ShmWaker(ShmWord32(base, ShmControl(kShmDown, kShmCtlConsumerWaiting)));
    program_writes_ =
        ShmWaker(ShmWord32(base, ShmControl(kShmUp, kShmCtlProducerWaiting)));
    program_closed_ = ShmWord32(base, kShmOffProgramClosed);
  }

  ~ShmTransport() override {
    // A program blocked on its eventfd wakes, sees this and gets EOF.
    __atomic_store_n(ShmWord32(mapping_->base, kShmOffHostClosed), 1u,
                     __ATOMIC_SEQ_CST);
    Signal(out_.get());
  }

  // Also arms the host's wake-ups for what the loop will wait for (the loop
  // calls this just before it waits again), and makes the host's own eventfd
  // readable if the program got ahead of the arming, so nothing is missed.
  std::vector<TransportWait> Waits(bool want_read,
                                   bool want_write) const override {
    bool wake_self = false;
    if (want_read) {
      up_wait_.Arm();
      absl::StatusOr<uint64_t> available = up_.Available();
      // An error is reported by the Read this wake-up brings.
      wake_self = !available.ok() || *available > 0 ||
                  __atomic_load_n(program_closed_, __ATOMIC_ACQUIRE) != 0;
    } else {
      up_wait_.Disarm();
    }
    if (want_write) {
      down_wait_.Arm();
      absl::StatusOr<uint64_t> room = down_.Free();
      wake_self = wake_self || !room.ok() || *room > 0;
    } else {
      down_wait_.Disarm();
    }
    if (wake_self) Signal(in_.get());
    const uint32_t events = want_read || want_write ? uint32_t{EPOLLIN} : 0u;
    return {{in_.get(), events}};
  }

  absl::StatusOr<size_t> Read(absl::Span<char> buf) override {
    Woken();
    for (int spun = 0;; ++spun) {
      absl::StatusOr<size_t> n = up_.Read(buf);
      if (!n.ok()) return n.status();
      if (*n > 0 || buf.empty()) {
        // A program waiting for room gets it now, while the host goes on.
        if (*n > 0 && program_writes_.ShouldWake()) Signal(out_.get());
        return n;
      }
      if (spun >= spin_) break;
      CpuRelax();
    }
    if (__atomic_load_n(program_closed_, __ATOMIC_ACQUIRE) != 0) {
      // What it wrote before it closed has been read by now.
      absl::StatusOr<uint64_t> left = up_.Available();
      if (!left.ok()) return left.status();
      if (*left == 0) return absl::UnavailableError("the program closed it");
      return Read(buf);
    }
    return 0;
  }

  absl::StatusOr<size_t> Write(absl::string_view data) override {
    Woken();
    absl::StatusOr<size_t> n = down_.Write(data);
    if (!n.ok()) return n.status();
    if (*n > 0) wrote_ = true;
    if (*n < data.size()) {
      // Full: the program must drain it before anything more goes.
      SignalReader();
    }
    return n;
  }

  void EndOfTurn() override { SignalReader(); }

 private:
  // The loop was woken (or is serving anyway): the armed wake-ups are spent.
  void Woken() {
    if (!up_wait_.armed() && !down_wait_.armed()) return;
    up_wait_.Disarm();
    down_wait_.Disarm();
    Drain(in_.get());
  }

  // Writes the program's eventfd if the host wrote since the last time and
  // the program sleeps waiting for it.
  void SignalReader() {
    if (!wrote_) return;
    wrote_ = false;
    if (program_reads_.ShouldWake()) Signal(out_.get());
  }

  std::unique_ptr<Mapping> mapping_;
  UniqueFd in_;
  UniqueFd out_;
  UniqueFd alive_;
  const int spin_;
  // Waits is const to the loop but arms the waiters, and its re-checks load
  // (and check) the program's indices.
  mutable ShmRingReader up_;
  mutable ShmRingWriter down_;
  mutable ShmWaiter up_wait_;
  mutable ShmWaiter down_wait_;
  ShmWaker program_reads_;
  ShmWaker program_writes_;
  const uint32_t* program_closed_ = nullptr;
  bool wrote_ = false;
};

}  // namespace

absl::Status CheckShmTransportOptions(const ShmTransportOptions& options) {
  absl::StatusOr<ShmLayout> layout =
      MakeShmLayout(options.ring_size, options.ring_size);
  if (!layout.ok()) return layout.status();
  if (options.spin < 0 || options.spin > kShmMaxSpin) {
    return absl::InvalidArgumentError(
        absl::StrCat("the shm spin count must be in [0, ", kShmMaxSpin,
                     "], not ", options.spin));
  }
  return absl::OkStatus();
}

absl::StatusOr<TransportPair> MakeShmTransport(
    const ShmTransportOptions& options) {
  TAO_RETURN_IF_ERROR(CheckShmTransportOptions(options));
  TAO_ASSIGN_OR_RETURN(ShmLayout layout,
                       MakeShmLayout(options.ring_size, options.ring_size));
  UniqueFd memfd(::memfd_create("tao-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!memfd.valid()) return absl::ErrnoToStatus(errno, "memfd_create");
  const size_t total = static_cast<size_t>(layout.total());
  if (::ftruncate(memfd.get(), static_cast<off_t>(total)) != 0) {
    return absl::ErrnoToStatus(errno, "size the shm memfd");
  }
  // Sealed before anyone maps it: its size never changes, so no access to
  // the mapping can fault, whatever the program does with its descriptor.
  if (::fcntl(memfd.get(), F_ADD_SEALS, kSeals) != 0) {
    return absl::ErrnoToStatus(errno, "seal the shm memfd");
  }
  const int seals = ::fcntl(memfd.get(), F_GET_SEALS);
  if (seals < 0 || (static_cast<unsigned>(seals) & kSeals) != kSeals) {
    return absl::InternalError("the shm memfd's seals did not hold");
  }
  void* base = ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED,
                      memfd.get(), 0);
  if (base == MAP_FAILED) return absl::ErrnoToStatus(errno, "map the memfd");
  auto mapping = std::make_unique<Mapping>(static_cast<char*>(base), total);
  WriteShmHeader(mapping->base, layout);

  UniqueFd to_host(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  // Non-blocking too, though only the host writes it: the program holds the
  // same open file and could raise its count to 2^64 - 2, where a blocking
  // write would stall the host.
  UniqueFd to_program(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!to_host.valid() || !to_program.valid()) {
    return absl::ErrnoToStatus(errno, "eventfd");
  }
  UniqueFd host_in(::fcntl(to_host.get(), F_DUPFD_CLOEXEC, 0));
  UniqueFd host_out(::fcntl(to_program.get(), F_DUPFD_CLOEXEC, 0));
  if (!host_in.valid() || !host_out.valid()) {
    return absl::ErrnoToStatus(errno, "dup an eventfd");
  }
  // Only the host holds the write end (close-on-exec: no program inherits
  // it), so the read end reports POLLHUP once the host is gone, however it
  // went.
  int alive[2];
  if (::pipe2(alive, O_CLOEXEC) != 0) {
    return absl::ErrnoToStatus(errno, "make the shm channel's liveness pipe");
  }
  UniqueFd alive_read(alive[0]);
  UniqueFd alive_write(alive[1]);
  TransportPair pair;
  pair.host = std::make_unique<ShmTransport>(
      std::move(mapping), layout, std::move(host_in), std::move(host_out),
      std::move(alive_write), options.spin);
  pair.child.fds.push_back({std::move(memfd), 3});
  pair.child.fds.push_back({std::move(to_program), 4});
  pair.child.fds.push_back({std::move(to_host), 5});
  pair.child.fds.push_back({std::move(alive_read), 6});
  pair.child.channel_env = "shm:3,4,5,6";
  return pair;
}

}  // namespace tao
