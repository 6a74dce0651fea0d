// Whole-file reads and crash-safe writes for keys, sealed state and policy.
#ifndef TAO_TAO_FILE_UTIL_H_
#define TAO_TAO_FILE_UTIL_H_

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tao {

// Replaces `path` with `contents` atomically: writes a temporary file in the
// same directory with `mode`, fsyncs it, renames it over `path` and fsyncs the
// directory. A crash at any point leaves either the old or the new file.
// Returns an errno-derived status on failure, after removing the temporary;
// if only the final directory fsync fails, the new file is already in place.
absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view contents,
                                 mode_t mode = 0600);

// Like WriteFileAtomically, but never replaces: if `path` exists (or another
// writer creates it first) returns kAlreadyExists and leaves it untouched.
absl::Status CreateFileAtomically(const std::string& path,
                                  absl::string_view contents,
                                  mode_t mode = 0600);

// Reads all of `path`. Returns kNotFound if it does not exist and
// kFailedPrecondition if it is larger than `max_size` bytes.
absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             size_t max_size = 64 << 20);

// Creates directory `path` with `mode` if it is missing (one level only).
// Returns kFailedPrecondition if `path` exists and is not a directory.
absl::Status EnsureDirectory(const std::string& path, mode_t mode = 0700);

// True if `path` exists (any type). Errors other than ENOENT count as present.
bool PathExists(const std::string& path);

}  // namespace tao

#endif  // TAO_TAO_FILE_UTIL_H_
