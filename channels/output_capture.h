// OutputCapture: each hosted program's stdout and stderr. The loop thread
// drains a program's output pipe into <log_dir>/<id>.log, rotated once to
// <id>.log.1 whenever it reaches max_log_bytes, so a program's log on disk
// never exceeds twice the cap. Any thread can read what was captured from an
// offset, and block for more until the program's output ends (Read): admin's
// GetLogs follows a program with it, and never reads the files itself.
//
// An offset counts every byte the program wrote since it started; what a
// rotation dropped is skipped (the chunk says where its data starts).
#ifndef TAO_CHANNELS_OUTPUT_CAPTURE_H_
#define TAO_CHANNELS_OUTPUT_CAPTURE_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "channels/event_dispatcher.h"
#include "tao/unique_fd.h"

namespace tao {

struct OutputCaptureOptions {
  // Where the logs go. Empty: output is read and dropped.
  std::string log_dir;
  // A log file is rotated when it reaches this size (positive).
  size_t max_log_bytes = 1 << 20;
};

// Thread-safe. Open, Drain, Finish and Forget are the loop thread's (its
// dispatcher watches the output pipes); Read may be called from any thread.
// One lock (the capture's own, never held while calling out) guards every
// program's capture, its files and its offsets. The dispatcher must outlive
// the capture.
class OutputCapture {
 public:
  OutputCapture(EventDispatcher& dispatcher, OutputCaptureOptions options);
  ~OutputCapture();

  // Starts capturing program `id`'s output from `output` (which may be
  // invalid: the program has no output to capture), watched by the
  // dispatcher under `tag`. Returns the log file's path ("" without a log
  // directory; a file that cannot be opened is logged and stays empty).
  std::string Open(uint64_t id, UniqueFd output, uint64_t tag);

  // The output pipe of `id` is readable: copies a bounded amount of it to
  // the log (a full disk loses log lines, never the program).
  void Drain(uint64_t id);

  // The program exited: drains what is left, closes its pipe and log, and
  // wakes every reader (its output has ended).
  void Finish(uint64_t id);

  // Forgets `id` (the program table forgot it); its files stay on disk.
  void Forget(uint64_t id);

  // A piece of a program's output.
  struct Chunk {
    std::string data;
    uint64_t offset = 0;  // of data's first byte
    // The output has ended and data reaches its end: nothing more comes.
    bool end = false;
  };

  // Up to `max_bytes` of program `id`'s output from `offset` on. If there is
  // nothing there yet, waits until there is, until the output ends, or until
  // `deadline` (absl::InfinitePast(): does not wait); an empty chunk with
  // end false means the deadline passed. kNotFound for a program it does not
  // know, kFailedPrecondition without a log directory, errno statuses if a
  // log file cannot be read.
  absl::StatusOr<Chunk> Read(uint64_t id, uint64_t offset, size_t max_bytes,
                             absl::Time deadline) const;

  // The size of what program `id` wrote so far (0 if unknown).
  uint64_t written(uint64_t id) const;

 private:
  struct Program {
    UniqueFd output;
    UniqueFd log;
    std::string path;
    uint64_t file_start = 0;      // offset of <id>.log's first byte
    uint64_t previous_start = 0;  // of <id>.log.1's, if rotated
    bool rotated = false;
    uint64_t written = 0;  // offset one past the last byte logged
    bool ended = false;
  };
  void DrainLocked(Program& program) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Append(Program& program, const char* data, size_t size)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  EventDispatcher& dispatcher_;
  const OutputCaptureOptions options_;
  mutable absl::Mutex mu_;
  mutable absl::CondVar grown_;  // a program's output grew or ended
  std::map<uint64_t, Program> programs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tao

#endif  // TAO_CHANNELS_OUTPUT_CAPTURE_H_
