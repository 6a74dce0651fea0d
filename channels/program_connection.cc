#include "channels/program_connection.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <utility>

#include "glog/logging.h"

namespace tao {
namespace {

constexpr size_t kReadChunk = 256 * 1024;
constexpr size_t kMinReadChunk = 4 * 1024;
// Buffers larger than this are released once a channel is idle again; up to
// it they are kept, so back-to-back large requests do not reallocate.
constexpr size_t kKeptBuffer = 2 << 20;
// Per program per wake-up, so one busy program cannot starve the others.
constexpr size_t kReadBudgetBytes = 4 << 20;
// Requests answered per program per turn, so one program cannot hold the
// loop while its siblings wait.
constexpr int kMaxRequestsPerTurn = 16;

}  // namespace

ProgramConnection::ProgramConnection(std::unique_ptr<HostTransport> transport,
                                     Answerer answer,
                                     EventDispatcher& dispatcher, uint64_t tag,
                                     ConnectionOptions options)
    : transport_(std::move(transport)),
      answer_(std::move(answer)),
      dispatcher_(dispatcher),
      tag_(tag),
      options_(options),
      reader_(options.max_frame_size) {
  UpdateInterest();
}

ProgramConnection::~ProgramConnection() { WipeOutput(); }

void ProgramConnection::WipeOutput() {
  if (out_has_secret_) OPENSSL_cleanse(out_.data(), out_.size());
  out_has_secret_ = false;
}

void ProgramConnection::Close(absl::string_view why) {
  if (!open_) return;
  LOG(INFO) << "program " << options_.id << " lost its channel: " << why;
  open_ = false;
  // Closing removes the descriptors from the epoll set.
  transport_.reset();
  masks_.clear();
  held_.clear();
  more_ready_ = false;
  reader_ = FrameReader(options_.max_frame_size);
  WipeOutput();
  std::string().swap(out_);
  out_pos_ = 0;
}

bool ProgramConnection::Serve() {
  Flush();
  ReadRequests();
  Flush();
  if (transport_ != nullptr) transport_->EndOfTurn();
  reader_.ShrinkIfIdle(kKeptBuffer);
  UpdateInterest();
  // Frames left buffered (by the per-turn cap, or by backpressure that the
  // flush just relieved) get no new epoll event.
  return open_ && pending() < options_.max_buffered_output &&
         (more_ready_ || reader_.HasFrame());
}

bool ProgramConnection::FlushHeld() {
  Flush();
  UpdateInterest();
  return has_held();
}

void ProgramConnection::UpdateInterest() {
  if (transport_ == nullptr) return;
  bool want_in = open_ && pending() < options_.max_buffered_output;
  bool want_out = open_ && sendable() > 0;
  std::vector<TransportWait> waits = transport_->Waits(want_in, want_out);
  masks_.resize(waits.size(), 0);
  for (size_t i = 0; i < waits.size(); ++i) {
    if (masks_[i] == waits[i].events) continue;
    absl::Status done =
        masks_[i] == 0 ? dispatcher_.Watch(waits[i].fd, waits[i].events, tag_)
        : waits[i].events == 0
            ? dispatcher_.Unwatch(waits[i].fd)
            : dispatcher_.Rewatch(waits[i].fd, waits[i].events, tag_);
    if (done.ok()) masks_[i] = waits[i].events;
  }
}

void ProgramConnection::ReadRequests() {
  // Answer the complete frames already buffered (left by backpressure), then
  // read at most a budget of new bytes, answering as frames complete.
  size_t budget = kReadBudgetBytes;
  int answered = 0;
  // A short read leaves the channel empty for now; epoll (level-triggered)
  // reports it again when more comes, so no read is spent on EAGAIN.
  bool drained = false;
  more_ready_ = false;
  AuditLog* const trail = options_.sync_trail;
  while (open_) {
    while (open_ && pending() < options_.max_buffered_output) {
      if (answered == kMaxRequestsPerTurn) {
        more_ready_ = true;  // come back after the others had their turn
        return;
      }
      absl::string_view frame;
      absl::StatusOr<bool> ready = reader_.Next(&frame);
      if (!ready.ok()) {
        Close(ready.status().message());
        return;
      }
      if (!*ready) break;
      const uint64_t before = trail != nullptr ? trail->appended_seq() : 0;
      const size_t start = out_.size();
      Dispatch(frame);
      // An answer that recorded a decision waits for the record's sync.
      if (trail != nullptr && out_.size() > start &&
          trail->appended_seq() > before) {
        held_.emplace_back(start, trail->appended_seq());
      }
      ++answered;
    }
    if (drained || budget == 0 || pending() >= options_.max_buffered_output) {
      return;
    }
    // Read what the frame in progress still needs (small requests keep a
    // small buffer: a thousand idle programs must not hold 256 KiB each),
    // between kMinReadChunk and kReadChunk at a time.
    size_t want = std::clamp(reader_.BytesWanted(), kMinReadChunk, kReadChunk);
    size_t room = 0;
    char* dst = reader_.WritableSpace(want, &room);
    room = std::min({room, budget, kReadChunk});
    absl::StatusOr<size_t> n = transport_->Read(absl::MakeSpan(dst, room));
    if (!n.ok()) {
      if (absl::IsUnavailable(n.status()) && reader_.mid_frame()) {
        Close("closed in the middle of a frame");
      } else {
        Close(n.status().message());
      }
      return;
    }
    if (*n == 0) return;
    reader_.Commit(*n);
    budget -= *n;
    drained = *n < room;
  }
}

void ProgramConnection::Flush() {
  // Answers whose records are durable now may go.
  if (!held_.empty()) {
    const uint64_t durable = options_.sync_trail->durable_seq();
    while (!held_.empty() && held_.front().second <= durable) {
      held_.pop_front();
    }
  }
  while (open_ && sendable() > 0) {
    absl::StatusOr<size_t> n = transport_->Write(
        absl::string_view(out_.data() + out_pos_, sendable()));
    if (!n.ok()) {
      Close(n.status().message());
      return;
    }
    if (*n == 0) break;
    out_pos_ += *n;
  }
  if (pending() == 0) {
    WipeOutput();
    out_pos_ = 0;
    if (out_.capacity() > kKeptBuffer) {
      std::string().swap(out_);
    } else {
      out_.clear();
    }
  }
}

bool ProgramConnection::Answer(absl::string_view frame, std::string* out) {
  auto answered = answer_(frame, out);
  if (!answered.ok()) {
    Close(answered.status().message());
    return false;
  }
  ++calls_;
  if (answered->code == absl::StatusCode::kPermissionDenied) ++denials_;
  // A Seal's plaintext does not outlive its answer in the frame reader.
  if (answered->request_held_secret) reader_.Wipe(frame);
  return answered->response_holds_secret;
}

void ProgramConnection::Dispatch(absl::string_view frame) {
  if (!out_has_secret_) {
    out_has_secret_ = Answer(frame, &out_);
    return;
  }
  // out_ still holds unsealed plaintext that is not sent yet, and growing
  // it in place would free that copy unwiped. Answer into a staging buffer,
  // then move both to a larger buffer by hand, wiping what is left behind.
  std::string staged;
  const bool staged_secret = Answer(frame, &staged);
  if (open_) {
    if (out_.capacity() - out_.size() >= staged.size()) {
      out_.append(staged);
    } else {
      std::string grown;
      grown.reserve(std::max(2 * out_.capacity(), out_.size() + staged.size()));
      grown.append(out_).append(staged);
      OPENSSL_cleanse(out_.data(), out_.size());
      out_.swap(grown);
    }
  }
  if (staged_secret) OPENSSL_cleanse(staged.data(), staged.size());
}

}  // namespace tao
