#include "channels/output_capture.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace tao {
namespace {

constexpr size_t kDrainChunk = 64 * 1024;
// Reads of the pipe per wake-up, so one chatty program cannot hold the loop.
constexpr int kDrainRounds = 64;

// Reads up to `size` bytes of `path` at `at`, or fewer at its end.
absl::StatusOr<std::string> ReadAt(const std::string& path, uint64_t at,
                                   size_t size) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return absl::ErrnoToStatus(errno, "open " + path);
  std::string data(size, '\0');
  size_t got = 0;
  while (got < size) {
    ssize_t n = ::pread(fd.get(), data.data() + got, size - got,
                        static_cast<off_t>(at + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::ErrnoToStatus(errno, "read " + path);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  data.resize(got);
  return data;
}

}  // namespace

OutputCapture::OutputCapture(EventDispatcher& dispatcher,
                             OutputCaptureOptions options)
    : dispatcher_(dispatcher), options_(std::move(options)) {}

OutputCapture::~OutputCapture() = default;

std::string OutputCapture::Open(uint64_t id, UniqueFd output, uint64_t tag) {
  Program program;
  if (!options_.log_dir.empty()) {
    program.path = absl::StrCat(options_.log_dir, "/", id, ".log");
    program.log.Reset(
        ::open(program.path.c_str(),
               O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640));
    if (!program.log.valid()) PLOG(WARNING) << "open " << program.path;
  }
  if (output.valid() && dispatcher_.Watch(output.get(), EPOLLIN, tag).ok()) {
    program.output = std::move(output);
  } else {
    program.ended = true;
  }
  std::string path = program.path;
  absl::MutexLock lock(&mu_);
  programs_[id] = std::move(program);
  return path;
}

void OutputCapture::Drain(uint64_t id) {
  absl::MutexLock lock(&mu_);
  auto it = programs_.find(id);
  if (it != programs_.end()) DrainLocked(it->second);
}

void OutputCapture::DrainLocked(Program& p) {
  if (!p.output.valid()) return;
  char buf[kDrainChunk];
  const uint64_t before = p.written;
  for (int rounds = 0; rounds < kDrainRounds; ++rounds) {
    ssize_t n = ::read(p.output.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {
      p.output.Reset();  // closing it leaves the epoll set
      break;
    }
    Append(p, buf, static_cast<size_t>(n));
  }
  if (p.written != before) grown_.SignalAll();
}

void OutputCapture::Append(Program& p, const char* data, size_t left) {
  // Write in pieces that never take the file past the cap; rotate (once:
  // <id>.log -> <id>.log.1) whenever it is full.
  while (left > 0 && p.log.valid()) {
    const size_t in_file = p.written - p.file_start;
    if (in_file >= options_.max_log_bytes) {
      std::string old = absl::StrCat(p.path, ".1");
      ::rename(p.path.c_str(), old.c_str());
      p.log.Reset(::open(p.path.c_str(),
                         O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
                         0600));
      p.previous_start = p.file_start;
      p.file_start = p.written;
      p.rotated = true;
      continue;
    }
    size_t piece = std::min(left, options_.max_log_bytes - in_file);
    ssize_t w = ::write(p.log.get(), data, piece);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;  // a full disk loses log lines, never the program
    p.written += static_cast<uint64_t>(w);
    data += w;
    left -= static_cast<size_t>(w);
  }
}

void OutputCapture::Finish(uint64_t id) {
  absl::MutexLock lock(&mu_);
  auto it = programs_.find(id);
  if (it == programs_.end()) return;
  DrainLocked(it->second);
  it->second.output.Reset();
  it->second.log.Reset();
  it->second.ended = true;
  grown_.SignalAll();
}

void OutputCapture::Forget(uint64_t id) {
  absl::MutexLock lock(&mu_);
  programs_.erase(id);
  grown_.SignalAll();
}

uint64_t OutputCapture::written(uint64_t id) const {
  absl::MutexLock lock(&mu_);
  auto it = programs_.find(id);
  return it == programs_.end() ? 0 : it->second.written;
}

absl::StatusOr<OutputCapture::Chunk> OutputCapture::Read(
    uint64_t id, uint64_t offset, size_t max_bytes, absl::Time deadline) const {
  if (options_.log_dir.empty()) {
    return absl::FailedPreconditionError(
        "this host does not keep program logs (no log directory)");
  }
  absl::MutexLock lock(&mu_);
  auto it = programs_.find(id);
  while (it != programs_.end() && offset >= it->second.written &&
         !it->second.ended) {
    if (grown_.WaitWithDeadline(&mu_, deadline)) break;
    it = programs_.find(id);
  }
  if (it == programs_.end()) {
    return absl::NotFoundError(absl::StrCat("no output of program ", id));
  }
  const Program& p = it->second;
  Chunk chunk;
  // What a rotation dropped is gone: start at the oldest byte kept.
  const uint64_t oldest = p.rotated ? p.previous_start : p.file_start;
  chunk.offset = std::max(offset, oldest);
  if (chunk.offset < p.written && max_bytes > 0) {
    absl::StatusOr<std::string> data;
    if (chunk.offset < p.file_start) {
      data = ReadAt(absl::StrCat(p.path, ".1"), chunk.offset - p.previous_start,
                    std::min<uint64_t>(max_bytes, p.file_start - chunk.offset));
    } else {
      data = ReadAt(p.path, chunk.offset - p.file_start,
                    std::min<uint64_t>(max_bytes, p.written - chunk.offset));
    }
    if (!data.ok()) return data.status();
    chunk.data = *std::move(data);
  }
  chunk.end = p.ended && chunk.offset + chunk.data.size() >= p.written;
  return chunk;
}

}  // namespace tao
