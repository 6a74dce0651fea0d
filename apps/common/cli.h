// Start-up shared by the command-line apps: gflags parsing with a --help that
// shows only the app's own flags, glog to stderr, and small I/O helpers.
#ifndef TAO_APPS_COMMON_CLI_H_
#define TAO_APPS_COMMON_CLI_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tao {

// Exit codes shared by the apps (documented in each app's --help).
inline constexpr int kExitOk = 0;
inline constexpr int kExitRejected = 1;  // a verification or policy said no
inline constexpr int kExitUsage = 2;     // bad flags or arguments
inline constexpr int kExitFailure = 3;   // anything else (I/O, crypto)

// Parses flags, handles --help / -h / help (prints `usage` and the flags
// defined in `flags_file`, then exits 0), and sends glog to stderr. Returns
// the positional arguments after the program name.
std::vector<std::string> InitApp(absl::string_view usage,
                                 absl::string_view flags_file, int* argc,
                                 char*** argv);

// Reads a file, or standard input when `path` is "-".
absl::StatusOr<std::string> ReadInput(const std::string& path);

// Writes a file atomically with `mode`, or standard output when `path` is "-".
absl::Status WriteOutput(const std::string& path, absl::string_view data,
                         int mode = 0600);

// The passphrase from `passphrase_file` (its first line) if set, otherwise
// from the environment variable TAO_PASSPHRASE. kInvalidArgument if neither
// gives a non-empty passphrase.
absl::StatusOr<std::string> ReadPassphrase(const std::string& passphrase_file);

// Removes TAO_PASSPHRASE from the environment (unsetenv) and overwrites the
// original bytes of every such entry with zeros, so that neither getenv nor
// /proc/<pid>/environ shows it any more. Call it once the passphrase has
// been read, before starting any thread that reads the environment.
void ScrubPassphraseFromEnvironment();

// Prints "<program>: <status>" to stderr.
void PrintError(absl::string_view program, const absl::Status& status);

}  // namespace tao

#endif  // TAO_APPS_COMMON_CLI_H_
