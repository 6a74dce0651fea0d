#include "channels/shm_ring.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace tao {
namespace {

bool ValidRingSize(uint64_t size) {
  return size >= kShmMinRing && size <= kShmMaxRing && (size & (size - 1)) == 0;
}

uint64_t LoadAcquire(const uint64_t* word) {
  return __atomic_load_n(word, __ATOMIC_ACQUIRE);
}

void StoreRelease(uint64_t* word, uint64_t value) {
  __atomic_store_n(word, value, __ATOMIC_RELEASE);
}

}  // namespace

uint64_t ShmLayout::total() const {
  return std::max(ring_offset[0] + ring_size[0], ring_offset[1] + ring_size[1]);
}

absl::StatusOr<ShmLayout> MakeShmLayout(uint64_t down, uint64_t up) {
  if (!ValidRingSize(down) || !ValidRingSize(up)) {
    return absl::InvalidArgumentError(
        absl::StrCat("shm ring sizes must be powers of two in [", kShmMinRing,
                     ", ", kShmMaxRing, "]: ", down, ", ", up));
  }
  ShmLayout layout;
  layout.ring_offset[kShmDown] = kShmHeaderSize;
  layout.ring_size[kShmDown] = down;
  layout.ring_offset[kShmUp] = kShmHeaderSize + down;
  layout.ring_size[kShmUp] = up;
  return layout;
}

void WriteShmHeader(char* base, const ShmLayout& layout) {
  std::memset(base, 0, kShmHeaderSize);
  *ShmWord32(base, kShmOffMagic) = kShmMagic;
  *ShmWord32(base, kShmOffVersion) = kShmVersion;
  *ShmWord32(base, kShmOffHeaderSize) = static_cast<uint32_t>(kShmHeaderSize);
  for (int r = 0; r < 2; ++r) {
    *ShmWord64(base, kShmOffRingInfo + 16 * r) = layout.ring_offset[r];
    *ShmWord64(base, kShmOffRingInfo + 16 * r + 8) = layout.ring_size[r];
  }
}

absl::StatusOr<ShmLayout> ParseShmHeader(const char* base, uint64_t mapped) {
  if (mapped < kShmHeaderSize) {
    return absl::InvalidArgumentError(
        "the shm channel is smaller than its header");
  }
  char* b = const_cast<char*>(base);
  if (*ShmWord32(b, kShmOffMagic) != kShmMagic ||
      *ShmWord32(b, kShmOffVersion) != kShmVersion ||
      *ShmWord32(b, kShmOffHeaderSize) != kShmHeaderSize) {
    return absl::InvalidArgumentError(
        "the shm channel's header has a wrong magic, version or size");
  }
  ShmLayout layout;
  for (int r = 0; r < 2; ++r) {
    layout.ring_offset[r] = *ShmWord64(b, kShmOffRingInfo + 16 * r);
    layout.ring_size[r] = *ShmWord64(b, kShmOffRingInfo + 16 * r + 8);
    if (!ValidRingSize(layout.ring_size[r]) ||
        layout.ring_offset[r] < kShmHeaderSize ||
        layout.ring_offset[r] > mapped ||
        mapped - layout.ring_offset[r] < layout.ring_size[r]) {
      return absl::InvalidArgumentError(
          absl::StrCat("the shm channel's ring ", r, " lies outside it"));
    }
  }
  const uint64_t d = layout.ring_offset[0], u = layout.ring_offset[1];
  if (d < u ? d + layout.ring_size[0] > u : u + layout.ring_size[1] > d) {
    return absl::InvalidArgumentError("the shm channel's rings overlap");
  }
  return layout;
}

// ---- Reader -----------------------------------------------------------------

ShmRingReader::ShmRingReader(const char* data, uint64_t size,
                             const uint64_t* head, uint64_t* tail)
    : data_(data), size_(size), head_(head), tail_word_(tail) {}

absl::StatusOr<uint64_t> ShmRingReader::LoadHead() {
  // One read of the peer's index, then only the local copy is used.
  const uint64_t head = LoadAcquire(head_);
  if (head < last_head_) {
    return absl::DataLossError(absl::StrCat("the ring's head ran backwards (",
                                            head, " after ", last_head_, ")"));
  }
  if (head - tail_ > size_) {
    return absl::DataLossError(absl::StrCat("the ring's head ", head,
                                            " is beyond the ring (tail ", tail_,
                                            ", size ", size_, ")"));
  }
  last_head_ = head;
  return head;
}

absl::StatusOr<uint64_t> ShmRingReader::Available() {
  absl::StatusOr<uint64_t> head = LoadHead();
  if (!head.ok()) return head.status();
  return *head - tail_;
}

absl::StatusOr<size_t> ShmRingReader::Read(absl::Span<char> out) {
  absl::StatusOr<uint64_t> available = Available();
  if (!available.ok()) return available.status();
  const size_t n = static_cast<size_t>(
      std::min<uint64_t>(*available, static_cast<uint64_t>(out.size())));
  if (n == 0) return 0;
  const size_t at = static_cast<size_t>(tail_ & (size_ - 1));
  const size_t first = std::min(n, static_cast<size_t>(size_) - at);
  // Each byte is read from shared memory exactly once, into private memory.
  std::memcpy(out.data(), data_ + at, first);
  std::memcpy(out.data() + first, data_, n - first);
  tail_ += n;
  StoreRelease(tail_word_, tail_);
  return n;
}

// ---- Writer -----------------------------------------------------------------

ShmRingWriter::ShmRingWriter(char* data, uint64_t size, uint64_t* head,
                             const uint64_t* tail)
    : data_(data), size_(size), head_word_(head), tail_(tail) {}

absl::StatusOr<uint64_t> ShmRingWriter::LoadTail() {
  const uint64_t tail = LoadAcquire(tail_);
  if (tail < last_tail_) {
    return absl::DataLossError(absl::StrCat("the ring's tail ran backwards (",
                                            tail, " after ", last_tail_, ")"));
  }
  if (tail > head_ || head_ - tail > size_) {
    return absl::DataLossError(absl::StrCat("the ring's tail ", tail,
                                            " is beyond the ring (head ", head_,
                                            ", size ", size_, ")"));
  }
  last_tail_ = tail;
  return tail;
}

absl::StatusOr<uint64_t> ShmRingWriter::Free() {
  absl::StatusOr<uint64_t> tail = LoadTail();
  if (!tail.ok()) return tail.status();
  return size_ - (head_ - *tail);
}

absl::StatusOr<size_t> ShmRingWriter::Write(absl::string_view data) {
  absl::StatusOr<uint64_t> room = Free();
  if (!room.ok()) return room.status();
  const size_t n = static_cast<size_t>(
      std::min<uint64_t>(*room, static_cast<uint64_t>(data.size())));
  if (n == 0) return 0;
  const size_t at = static_cast<size_t>(head_ & (size_ - 1));
  const size_t first = std::min(n, static_cast<size_t>(size_) - at);
  std::memcpy(data_ + at, data.data(), first);
  std::memcpy(data_, data.data() + first, n - first);
  head_ += n;
  StoreRelease(head_word_, head_);
  return n;
}

// ---- Waiting words ----------------------------------------------------------

void ShmWaiter::Arm() {
  if (!armed()) {
    ++seq_;
    __atomic_store_n(word_, seq_, __ATOMIC_RELAXED);
  }
  // Orders the store before the caller's re-check of its ring (and pairs
  // with the fence in ShmWaker::ShouldWake): no wake-up is lost.
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void ShmWaiter::Disarm() {
  if (!armed()) return;
  ++seq_;
  __atomic_store_n(word_, seq_, __ATOMIC_RELAXED);
}

bool ShmWaker::ShouldWake() {
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  const uint32_t seen = __atomic_load_n(word_, __ATOMIC_RELAXED);
  if ((seen & 1) == 0 || seen == last_woken_) return false;
  last_woken_ = seen;
  return true;
}

}  // namespace tao
