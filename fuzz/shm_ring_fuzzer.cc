// The host's side of a shm channel's rings against a hostile program: the
// input is the initial contents of the rings followed by a sequence of
// moves, each either the program's (set its head or tail to any value,
// scribble over ring bytes) or the host's (read a chunk into its frame
// reader, write a chunk of answers, look at what is available or free).
// Nothing reads or writes outside the rings (ASan guards them), a refused
// index is kDataLoss and consumes nothing, what the host reads is exactly
// the bytes the ring held at that moment, its own indices never move
// backwards, and the frame reader above refuses any length over its cap.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "channels/framing.h"
#include "channels/shm_ring.h"

namespace {

constexpr size_t kCap = 64 * 1024;

// Reads a little-endian integer of `n` bytes from the input, or 0s.
uint64_t Take(const uint8_t*& data, size_t& size, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n && size > 0; ++i, ++data, --size) {
    v |= uint64_t{*data} << (8 * i);
  }
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const uint64_t ring_size = tao::kShmMinRing << (Take(data, size, 1) % 3);
  // Each ring in an allocation of its own exact size, so ASan sees any
  // access outside it.
  std::vector<char> up(ring_size), down(ring_size);
  const size_t fill = std::min<size_t>(size, ring_size);
  std::memcpy(up.data(), data, fill);
  data += fill;
  size -= fill;
  uint64_t up_head = 0, up_tail = 0, down_head = 0, down_tail = 0;
  tao::ShmRingReader reader(up.data(), ring_size, &up_head, &up_tail);
  tao::ShmRingWriter writer(down.data(), ring_size, &down_head, &down_tail);
  tao::FrameReader frames(kCap);
  bool frames_broken = false;
  std::string chunk;
  for (int step = 0; step < 256 && size > 0; ++step) {
    const uint8_t op = static_cast<uint8_t>(Take(data, size, 1));
    const uint64_t value = Take(data, size, 8);
    switch (op % 9) {
      case 0:  // the program sets its head anywhere
        up_head = value;
        break;
      case 1:  // the program moves its head by a little, either way
        up_head += (value % (4 * ring_size)) - 2 * ring_size;
        break;
      case 2: {  // the program scribbles over ring bytes
        const size_t at = value % ring_size;
        const size_t n = std::min<size_t>({size, ring_size - at, 64});
        std::memcpy(up.data() + at, data, n);
        data += n;
        size -= n;
        break;
      }
      case 3: {  // the host reads a chunk into its frame reader
        const uint64_t before = reader.consumed();
        const uint64_t head_seen = up_head;
        chunk.assign(value % (3 * ring_size), '\0');
        // What the ring holds now, to compare with what the host copies.
        std::string expect;
        for (uint64_t i = before; i < head_seen && i - before < chunk.size() &&
                                  head_seen - before <= ring_size;
             ++i) {
          expect.push_back(up[i & (ring_size - 1)]);
        }
        auto n = reader.Read(absl::MakeSpan(chunk));
        if (!n.ok()) {
          if (!absl::IsDataLoss(n.status())) std::abort();
          if (reader.consumed() != before) std::abort();
          break;
        }
        if (*n > chunk.size() || reader.consumed() != before + *n ||
            up_tail != reader.consumed()) {
          std::abort();
        }
        if (std::string(chunk.data(), *n) != expect.substr(0, *n)) std::abort();
        if (frames_broken) break;
        frames.Append(absl::string_view(chunk.data(), *n));
        for (int f = 0; f < 16; ++f) {
          absl::string_view frame;
          auto ready = frames.Next(&frame);
          if (!ready.ok()) {
            frames_broken = true;  // over the cap: the host closes
            break;
          }
          if (!*ready) break;
          if (frame.size() > kCap) std::abort();
        }
        break;
      }
      case 4:  // the program sets its tail (of the host's ring) anywhere
        down_tail = value;
        break;
      case 5:  // the program consumes some, or moves back
        down_tail += (value % (4 * ring_size)) - 2 * ring_size;
        break;
      case 6: {  // the host writes a chunk of answers
        const uint64_t before = writer.produced();
        chunk.assign(value % (3 * ring_size), static_cast<char>(value));
        auto n = writer.Write(chunk);
        if (!n.ok()) {
          if (!absl::IsDataLoss(n.status())) std::abort();
          if (writer.produced() != before) std::abort();
          break;
        }
        if (*n > chunk.size() || writer.produced() != before + *n ||
            down_head != writer.produced()) {
          std::abort();
        }
        break;
      }
      case 7: {
        auto available = reader.Available();
        if (available.ok() && *available > ring_size) std::abort();
        break;
      }
      case 8: {
        auto free = writer.Free();
        if (free.ok() && *free > ring_size) std::abort();
        break;
      }
    }
  }
  return 0;
}
