// The shared-memory channel's layout ("shm", docs/channel-protocol.md) and
// the pieces both ends use over it: a reader and a writer of one
// single-producer single-consumer byte ring, and the "waiting" words with
// which a side says it sleeps on its eventfd.
//
// The memory is shared with a peer that may be hostile (for the host: the
// hosted program), so the reader and the writer keep their own index in
// private memory, read the peer's index once per call into a local, check it
// against the ring before using it, and copy bytes out of (or into) the ring
// exactly once. A peer index that is impossible (beyond the ring, or running
// backwards) fails the call with kDataLoss; the caller closes the channel.
// Nothing here ever reads the shared header back after writing it.
#ifndef TAO_CHANNELS_SHM_RING_H_
#define TAO_CHANNELS_SHM_RING_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace tao {

// Byte offsets in the memfd (native byte order: the host and its programs
// share a machine). See docs/channel-protocol.md for the table.
inline constexpr uint32_t kShmMagic = 0x4d485354;  // "TSHM" in memory order
inline constexpr uint32_t kShmVersion = 1;
inline constexpr size_t kShmOffMagic = 0x000;       // u32
inline constexpr size_t kShmOffVersion = 0x004;     // u32
inline constexpr size_t kShmOffHeaderSize = 0x008;  // u32: 4096
inline constexpr size_t kShmOffRingInfo = 0x010;    // u64 offset, u64 size each
inline constexpr size_t kShmOffControl = 0x040;     // one block per ring
inline constexpr size_t kShmControlStride = 0x100;
inline constexpr size_t kShmCtlHead = 0x00;             // u64, producer's
inline constexpr size_t kShmCtlTail = 0x40;             // u64, consumer's
inline constexpr size_t kShmCtlConsumerWaiting = 0x80;  // u32, consumer's
inline constexpr size_t kShmCtlProducerWaiting = 0xc0;  // u32, producer's
inline constexpr size_t kShmOffHostClosed = 0x240;      // u32, host's
inline constexpr size_t kShmOffProgramClosed = 0x280;   // u32, program's
inline constexpr size_t kShmHeaderSize = 0x1000;  // the rings' data follow

// The two rings: host to program ("down") and program to host ("up").
inline constexpr int kShmDown = 0;
inline constexpr int kShmUp = 1;

// Ring sizes a channel may have: powers of two in [4 KiB, 64 MiB].
inline constexpr uint64_t kShmMinRing = 4096;
inline constexpr uint64_t kShmMaxRing = uint64_t{64} << 20;

// Where the rings lie in one mapping.
struct ShmLayout {
  uint64_t ring_offset[2] = {0, 0};
  uint64_t ring_size[2] = {0, 0};
  // Bytes of the whole memfd.
  uint64_t total() const;
};

// The layout of a channel with two rings of `down` and `up` bytes.
// kInvalidArgument unless both are allowed ring sizes.
absl::StatusOr<ShmLayout> MakeShmLayout(uint64_t down, uint64_t up);

// Writes the header of `layout` at `base` (zeroing the control blocks).
void WriteShmHeader(char* base, const ShmLayout& layout);

// Reads and checks the header of a mapping of `mapped` bytes (the program's
// side: it trusts its host, but a wrong descriptor must not crash it).
// kInvalidArgument for a bad magic, version, size or offset.
absl::StatusOr<ShmLayout> ParseShmHeader(const char* base, uint64_t mapped);

// A shared u64 or u32 at `base + offset`.
inline uint64_t* ShmWord64(char* base, size_t offset) {
  return reinterpret_cast<uint64_t*>(base + offset);
}
inline uint32_t* ShmWord32(char* base, size_t offset) {
  return reinterpret_cast<uint32_t*>(base + offset);
}
// The control word `field` of ring `ring`.
inline size_t ShmControl(int ring, size_t field) {
  return kShmOffControl + kShmControlStride * static_cast<size_t>(ring) + field;
}

// The consumer's end of one ring. Not thread-safe. Does not own the memory,
// which must outlive it. Keeps its tail privately and publishes it; reads
// the producer's head once per call.
class ShmRingReader {
 public:
  ShmRingReader() = default;
  // `data`: the ring's `size` bytes (a power of two); `head` and `tail`:
  // its control words.
  ShmRingReader(const char* data, uint64_t size, const uint64_t* head,
                uint64_t* tail);

  // Copies up to `out.size()` bytes out of the ring into `out` (private
  // memory) and frees their room. Returns how many (0: empty). kDataLoss if
  // the producer's head is beyond the ring or ran backwards.
  absl::StatusOr<size_t> Read(absl::Span<char> out);

  // Bytes waiting, from one fresh read of the head. kDataLoss as Read.
  absl::StatusOr<uint64_t> Available();

  // Bytes consumed so far.
  uint64_t consumed() const { return tail_; }

 private:
  absl::StatusOr<uint64_t> LoadHead();

  const char* data_ = nullptr;
  uint64_t size_ = 0;
  const uint64_t* head_ = nullptr;
  uint64_t* tail_word_ = nullptr;
  uint64_t tail_ = 0;       // ours, private
  uint64_t last_head_ = 0;  // the largest head seen
};

// The producer's end of one ring. Not thread-safe. Does not own the memory.
// Keeps its head privately and publishes it; reads the consumer's tail once
// per call.
class ShmRingWriter {
 public:
  ShmRingWriter() = default;
  ShmRingWriter(char* data, uint64_t size, uint64_t* head,
                const uint64_t* tail);

  // Copies a prefix of `data` into the ring and publishes it. Returns how
  // much (0: full). kDataLoss if the consumer's tail is ahead of what was
  // written or ran backwards.
  absl::StatusOr<size_t> Write(absl::string_view data);

  // Room now, from one fresh read of the tail. kDataLoss as Write.
  absl::StatusOr<uint64_t> Free();

  uint64_t produced() const { return head_; }
  uint64_t size() const { return size_; }

 private:
  absl::StatusOr<uint64_t> LoadTail();

  char* data_ = nullptr;
  uint64_t size_ = 0;
  uint64_t* head_word_ = nullptr;
  const uint64_t* tail_ = nullptr;
  uint64_t head_ = 0;       // ours, private
  uint64_t last_tail_ = 0;  // the largest tail seen
};

// A side's own "waiting" word: odd while it sleeps (or is about to) on its
// eventfd for this ring, a new odd value each time. Only its owner writes
// it; the owner keeps the value privately and never reads it back. Not
// thread-safe.
class ShmWaiter {
 public:
  ShmWaiter() = default;
  explicit ShmWaiter(uint32_t* word) : word_(word) {}
  // Says "I sleep now", then a full fence: the caller re-checks its ring
  // after this and sleeps only if nothing changed.
  void Arm();
  // Says "I am awake" (the peer need not signal).
  void Disarm();
  bool armed() const { return (seq_ & 1) != 0; }

 private:
  uint32_t* word_ = nullptr;
  uint32_t seq_ = 0;
};

// The other side's view of a peer's waiting word. Not thread-safe.
class ShmWaker {
 public:
  ShmWaker() = default;
  explicit ShmWaker(const uint32_t* word) : word_(word) {}
  // After publishing an index: a full fence, then one read of the peer's
  // word. True (once per sleep) if the peer sleeps and was not signalled
  // for this sleep yet: then the caller writes the peer's eventfd.
  bool ShouldWake();

 private:
  const uint32_t* word_ = nullptr;
  uint32_t last_woken_ = 0;
};

}  // namespace tao

#endif  // TAO_CHANNELS_SHM_RING_H_
