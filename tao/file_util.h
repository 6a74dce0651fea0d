// Whole-file reads and crash-safe writes for keys, sealed state and policy.
#ifndef TAO_TAO_FILE_UTIL_H_
#define TAO_TAO_FILE_UTIL_H_

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tao/unique_fd.h"

namespace tao {

// Replaces `path` with `contents` atomically: writes a temporary file
// `<path>.tmp.XXXXXX` in the same directory with `mode` (holding a shared
// flock on the directory meanwhile, see SweepTemporaries), fsyncs it, renames
// it over `path` and fsyncs the directory. A crash at any point leaves either
// the old or the new file. Returns an errno-derived status on failure, after
// removing the temporary; if only the final directory fsync fails, the new file
// is already in place.
absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view contents,
                                 mode_t mode = 0600);

// Like WriteFileAtomically, but never replaces: if `path` exists (or another
// writer creates it first) returns kAlreadyExists and leaves it untouched.
absl::Status CreateFileAtomically(const std::string& path,
                                  absl::string_view contents,
                                  mode_t mode = 0600);

// Reads all of `path`, which must be a regular file: it is opened with
// O_NONBLOCK, O_NOFOLLOW, O_NOCTTY and O_CLOEXEC and fstat'ed, so a FIFO, a
// device or a socket planted there is refused at once instead of blocking
// the reader. Returns kNotFound if it does not exist, kInvalidArgument if it
// is a symbolic link or not a regular file, kFailedPrecondition if it is a
// directory or larger than `max_size` bytes.
absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             size_t max_size = 64 << 20);

// Creates directory `path` with `mode` if it is missing (one level only).
// Returns kFailedPrecondition if `path` exists and is not a directory.
absl::Status EnsureDirectory(const std::string& path, mode_t mode = 0700);

// Takes an exclusive flock on directory `dir` and returns its descriptor
// (the lock lasts as long as the descriptor). Atomic writers above hold a
// shared one while their temporary exists. Blocks until granted.
absl::StatusOr<UniqueFd> LockDirectory(const std::string& dir);

// True for a name WriteFileAtomically gives its temporaries
// ("<name>.tmp.XXXXXX", six letters or digits).
bool IsAtomicWriteTemporary(absl::string_view name);

// Removes the temporaries that a crash in the middle of an atomic write left
// in `dir` (regular files named as IsAtomicWriteTemporary says), under the
// directory's exclusive lock, so a writer at work is never swept. Returns
// how many it removed, or an errno status.
absl::StatusOr<int> SweepTemporaries(const std::string& dir);

// Checks that `dir` is a directory (not a link) owned by root or `owner` and
// that its mode has none of the bits in `forbidden` (e.g. 0022: no group or
// other write; 0077: no group or other access). kFailedPrecondition naming
// the path and the command that fixes it (chmod/chown), or an errno status.
absl::Status CheckDirectoryAccess(const std::string& dir, uid_t owner,
                                  mode_t forbidden);

// Checks that `path` is a regular file (not a link) owned by root or
// `owner`, not writable by group or others, in a directory that passes
// CheckDirectoryAccess(dir, owner, 0022). Statuses as above; kInvalidArgument
// if it is not a regular file.
absl::Status CheckFileAccess(const std::string& path, uid_t owner);

// True if `path` exists (any type). Errors other than ENOENT count as present.
bool PathExists(const std::string& path);

}  // namespace tao

#endif  // TAO_TAO_FILE_UTIL_H_
