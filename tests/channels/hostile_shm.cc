// hostile-shm: a hosted program that attacks the shared memory of its shm
// channel directly (the layout of channels/shm_ring.h), one way per mode,
// to show that the host closes that one channel, or ignores the noise, and
// keeps serving the program's siblings.
//
//   hostile-shm beyond        publishes a head beyond the ring; expects the
//                             host to close the channel
//   hostile-shm backwards     publishes part of a frame, waits for the host
//                             to take it, then moves its head backwards;
//                             expects the close
//   hostile-shm over-cap      a frame header announcing 16 MiB + 1 bytes;
//                             expects the close
//   hostile-shm flip          publishes a request, then rewrites its body in a
//                             tight loop (two valid requests and garbage)
//                             while the host copies; expects one answer,
//                             to whatever one copy says, or the close:
//                             never silence, never a crash
//   hostile-shm shrink        tries to shrink, grow and re-seal the memfd
//                             (each must fail with EPERM), then makes a call
//   hostile-shm flood SECONDS writes the host's eventfd in a tight loop, then
//                             makes a call
//   hostile-shm never-signal  publishes a whole request and never signals;
//                             says "ready", sleeps until killed
//   hostile-shm half-kill     streams half of a 1 MiB Seal request, says
//                             "ready", sleeps until killed
//
// Exit codes: 0 the host behaved as expected, 1 it did not (why on stdout),
// 2 usage.
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "channels/framing.h"
#include "channels/rpc_tao.h"
#include "channels/shm_channel.h"
#include "channels/shm_ring.h"
#include "channels/tao_rpc.pb.h"
#include "tests/testing/raw_channel.h"

namespace {

using ::tao::test::Bad;
using ::tao::test::Say;

int memfd = -1, wait_fd = -1, signal_fd = -1;
char* base = nullptr;
tao::ShmLayout layout;

bool Open() {
  const char* spec = std::getenv("TAO_CHANNEL");
  if (spec == nullptr) return false;
  absl::string_view s = spec;
  if (!absl::ConsumePrefix(&s, "shm:")) return false;
  std::vector<std::string> parts = absl::StrSplit(s, ',');
  if (parts.size() < 3 || !absl::SimpleAtoi(parts[0], &memfd) ||
      !absl::SimpleAtoi(parts[1], &wait_fd) ||
      !absl::SimpleAtoi(parts[2], &signal_fd)) {
    return false;
  }
  struct stat st;
  if (::fstat(memfd, &st) != 0) return false;
  void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size),
                   PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
  if (p == MAP_FAILED) return false;
  base = static_cast<char*>(p);
  auto parsed = tao::ParseShmHeader(base, static_cast<uint64_t>(st.st_size));
  if (!parsed.ok()) return false;
  layout = *parsed;
  return true;
}

volatile uint64_t* Word64(size_t offset) {
  return reinterpret_cast<volatile uint64_t*>(base + offset);
}
volatile uint64_t* UpHead() {
  return Word64(tao::ShmControl(tao::kShmUp, tao::kShmCtlHead));
}
volatile uint64_t* UpTail() {
  return Word64(tao::ShmControl(tao::kShmUp, tao::kShmCtlTail));
}
char* UpData() { return base + layout.ring_offset[tao::kShmUp]; }

void SignalHost() {
  const uint64_t one = 1;
  ssize_t n = ::write(signal_fd, &one, sizeof(one));
  (void)n;
}

bool HostClosed() {
  return __atomic_load_n(
             reinterpret_cast<uint32_t*>(base + tao::kShmOffHostClosed),
             __ATOMIC_ACQUIRE) != 0;
}

// True if the host closes the channel within `ms`.
bool ExpectClose(int ms) {
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (HostClosed()) return true;
    ::usleep(1000);
  }
  return false;
}

// Publishes `bytes` at the start of an empty up ring.
void Publish(const std::string& bytes) {
  std::memcpy(UpData(), bytes.data(), bytes.size());
  __atomic_store_n(const_cast<uint64_t*>(UpHead()), bytes.size(),
                   __ATOMIC_RELEASE);
  SignalHost();
}

std::string Frame(const tao::TaoRequest& request) {
  std::string out;
  if (!tao::AppendFrame(request, tao::kDefaultMaxFrameSize, &out).ok()) {
    std::abort();
  }
  return out;
}

std::string RandomRequest(uint64_t id, uint32_t size) {
  tao::TaoRequest request;
  request.set_id(id);
  request.mutable_get_random_bytes()->set_size(size);
  return Frame(request);
}

// A call through the client library over the same channel: the channel
// still works. Only for modes that left the rings consistent.
int NameStillWorks() {
  auto stream = tao::ShmStream::Open(tao::UniqueFd(::dup(memfd)),
                                     tao::UniqueFd(::dup(wait_fd)),
                                     tao::UniqueFd(::dup(signal_fd)));
  if (!stream.ok()) return Bad(stream.status().ToString());
  tao::RpcTao tao(std::make_unique<tao::ShmChannel>(*std::move(stream)));
  auto name = tao.GetTaoName();
  if (!name.ok()) return Bad(name.status().ToString());
  Say("name still works");
  return 0;
}

int Flip() {
  // Two requests of the same length that differ in id and size, and
  // garbage: every bit of the body flipped. The length stays, so whatever
  // the host copies is one whole frame.
  const std::string a = RandomRequest(1, 16);
  const std::string b = RandomRequest(2, 17);
  std::string garbage = a;
  for (size_t i = 4; i < garbage.size(); ++i)
    garbage[i] = static_cast<char>(~a[i]);
  if (a.size() != b.size()) return Bad("the two requests differ in length");
  Publish(a);
  volatile char* ring = UpData();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  const std::string* versions[] = {&a, &garbage, &b, &garbage};
  uint64_t round = 0;
  // Until the host has taken the bytes (tail moved) or closed.
  while (*UpTail() == 0 && !HostClosed() &&
         std::chrono::steady_clock::now() < deadline) {
    const std::string& v = *versions[round++ % 4];
    for (size_t i = 0; i < v.size(); ++i) ring[i] = v[i];
  }
  // Then an answer (or the close).
  tao::ShmRingReader down(
      base + layout.ring_offset[tao::kShmDown], layout.ring_size[tao::kShmDown],
      reinterpret_cast<uint64_t*>(
          base + tao::ShmControl(tao::kShmDown, tao::kShmCtlHead)),
      reinterpret_cast<uint64_t*>(
          base + tao::ShmControl(tao::kShmDown, tao::kShmCtlTail)));
  tao::FrameReader reader;
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    char buf[4096];
    auto n = down.Read(absl::MakeSpan(buf));
    if (!n.ok()) return Bad(n.status().ToString());
    reader.Append(absl::string_view(buf, *n));
    absl::string_view frame;
    auto ready = reader.Next(&frame);
    if (!ready.ok()) return Bad(ready.status().ToString());
    if (*ready) {
      tao::TaoResponse response;
      if (!response.ParseFromArray(frame.data(),
                                   static_cast<int>(frame.size()))) {
        return Bad("the answer does not parse");
      }
      // What the host parsed was one copy of the bytes: a random-bytes
      // answer has as many bytes as that copy asked for.
      if (response.code() == 0 && response.data().size() != 16 &&
          response.data().size() != 17) {
        return Bad(absl::StrCat("answered id ", response.id(), " with ",
                                response.data().size(), " bytes"));
      }
      Say(absl::StrCat("answered id ", response.id(), " code ", response.code(),
                       " after ", round, " rewrites"));
      return 0;
    }
    if (HostClosed()) {
      Say(absl::StrCat("closed after ", round, " rewrites"));
      return 0;
    }
    ::usleep(1000);
  }
  return Bad("neither an answer nor the close");
}

int Run(int argc, char** argv) {
  if (argc < 2) return 2;
  const std::string mode = argv[1];
  if (!Open()) return Bad("TAO_CHANNEL is not a shm channel");
  if (mode == "beyond") {
    __atomic_store_n(const_cast<uint64_t*>(UpHead()),
                     layout.ring_size[tao::kShmUp] + 1, __ATOMIC_RELEASE);
    SignalHost();
    if (!ExpectClose(5000)) return Bad("the host kept the channel open");
    Say("closed");
    return 0;
  }
  if (mode == "backwards") {
    const std::string frame = RandomRequest(1, 16);
    Publish(frame.substr(0, 6));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (*UpTail() != 6 && std::chrono::steady_clock::now() < deadline) {
      ::usleep(1000);
    }
    if (*UpTail() != 6) return Bad("the host did not take the bytes");
    __atomic_store_n(const_cast<uint64_t*>(UpHead()), uint64_t{3},
                     __ATOMIC_RELEASE);
    SignalHost();
    if (!ExpectClose(5000)) return Bad("the host kept the channel open");
    Say("closed");
    return 0;
  }
  if (mode == "over-cap") {
    const uint32_t n = (16u << 20) + 1;
    const char header[4] = {static_cast<char>(n >> 24),
                            static_cast<char>(n >> 16),
                            static_cast<char>(n >> 8), static_cast<char>(n)};
    Publish(std::string(header, 4));
    if (!ExpectClose(5000)) return Bad("the host kept the channel open");
    Say("closed");
    return 0;
  }
  if (mode == "flip") return Flip();
  if (mode == "shrink") {
    const off_t size = static_cast<off_t>(layout.total());
    if (::ftruncate(memfd, 0) == 0 || errno != EPERM) {
      return Bad("the memfd could be shrunk");
    }
    if (::ftruncate(memfd, size / 2) == 0 || errno != EPERM) {
      return Bad("the memfd could be shrunk by half");
    }
    if (::ftruncate(memfd, size * 2) == 0 || errno != EPERM) {
      return Bad("the memfd could be grown");
    }
    if (::fcntl(memfd, F_ADD_SEALS, F_SEAL_WRITE) == 0 || errno != EPERM) {
      return Bad("the memfd could be sealed further");
    }
    Say("resizing and sealing refused: EPERM");
    return NameStillWorks();
  }
  if (mode == "flood" && argc >= 3) {
    int seconds = 0;
    if (!absl::SimpleAtoi(argv[2], &seconds)) return 2;
    Say("ready");
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    uint64_t writes = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      for (int i = 0; i < 1000; ++i, ++writes) SignalHost();
    }
    Say(absl::StrCat("flooded with ", writes, " signals"));
    return NameStillWorks();
  }
  if (mode == "never-signal") {
    const std::string frame = RandomRequest(1, 16);
    std::memcpy(UpData(), frame.data(), frame.size());
    __atomic_store_n(const_cast<uint64_t*>(UpHead()), frame.size(),
                     __ATOMIC_RELEASE);
    Say("ready");
    ::sleep(60);
    return 0;
  }
  if (mode == "half-kill") {
    tao::TaoRequest request;
    request.set_id(1);
    request.mutable_seal()->set_data(std::string(1 << 20, 's'));
    const std::string frame = Frame(request);
    auto stream = tao::ShmStream::Open(tao::UniqueFd(::dup(memfd)),
                                       tao::UniqueFd(::dup(wait_fd)),
                                       tao::UniqueFd(::dup(signal_fd)));
    if (!stream.ok()) return Bad(stream.status().ToString());
    absl::string_view half[] = {
        absl::string_view(frame).substr(0, frame.size() / 2)};
    if (!(*stream)->WriteAll(half).ok()) return Bad("write");
    Say("ready");
    ::sleep(60);
    return 0;
  }
  return 2;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
