// State directories: <state root>/<name>, a directory of the program's own
// that survives its restarts (as systemd's StateDirectory=). The host makes
// it, hands it to the program's uid and gid with mode 0700 before each start,
// and never follows a link a program may have planted in it.
#ifndef TAO_PROGRAM_FACTORY_INTERNAL_STATE_DIRECTORY_H_
#define TAO_PROGRAM_FACTORY_INTERNAL_STATE_DIRECTORY_H_

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tao {
namespace internal {

// kInvalidArgument unless `name` is one path component of [A-Za-z0-9._-],
// 1 to 128 characters, not starting with '.'.
absl::Status ValidateStateDirectoryName(absl::string_view name);

// kFailedPrecondition if a directory on the way to `root` that exists
// cannot be entered by others (programs run as other uids and could never
// reach their state directories); kInvalidArgument for a relative root.
absl::Status CheckStateRootReachable(const std::string& root);

// Makes `root` (and its missing parents) root-owned 0755 and refuses a root
// that is not a directory owned by root, or is writable by group or others
// (kFailedPrecondition). Then makes <root>/<name> if missing and gives it to
// `uid`:`gid`, mode 0700. If its owner was another uid, everything in it that
// the old uid owned is handed over too (lchown semantics: links are changed,
// never followed; entries of other owners, e.g. hard links to files the
// program could not write, are left alone). Returns the directory's path.
absl::StatusOr<std::string> PrepareStateDirectory(const std::string& root,
                                                  absl::string_view name,
                                                  uid_t uid, gid_t gid);

}  // namespace internal
}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_INTERNAL_STATE_DIRECTORY_H_
