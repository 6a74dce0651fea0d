// Start-up shared by the command-line apps: gflags parsing that refuses an
// unknown flag or a bad value with the usage exit code, a --help that shows
// only the app's own flags (as --flag, never a source path) and the exit-code
// table, glog to stderr, errors as text or JSON, and small I/O helpers.
#ifndef TAO_APPS_COMMON_CLI_H_
#define TAO_APPS_COMMON_CLI_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tao {

// The exit codes of every tool (taohost, taoctl, tao-domain, tao-attest,
// tao-soft): docs/exit-codes.md, and the end of each tool's --help.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRejected = 1;     // a policy or verification said no
inline constexpr int kExitUsage = 2;        // bad flags, arguments or request
inline constexpr int kExitNotFound = 3;     // no such program, file or key
inline constexpr int kExitUnreachable = 4;  // the host is not reachable
inline constexpr int kExitTimeout = 5;      // a deadline passed
inline constexpr int kExitOther = 6;        // anything else (I/O, crypto)
// The old name of kExitOther, kept so that callers read as before.
inline constexpr int kExitFailure = kExitOther;

// The table above as --help prints it (ends with a newline).
extern const char kExitCodeHelp[];

// The exit code for `code`, the one mapping of the table: kPermissionDenied
// and kUnauthenticated 1, kInvalidArgument 2, kNotFound 3, kUnavailable 4,
// kDeadlineExceeded 5, every other error 6. gRPC's codes have the same
// numbers, so a grpc::StatusCode converts with a static_cast.
int ExitCodeFor(absl::StatusCode code);
inline int ExitCodeFor(const absl::Status& status) {
  return ExitCodeFor(status.code());
}

// Parses flags, handles --help / -h / help (prints `usage`, the flags defined
// in files whose path contains `flags_file`, and the exit codes, then exits
// 0) and --version, and sends glog to stderr. An unknown flag, a flag
// without its value or a value that does not parse prints why and exits 2.
// Returns the positional arguments after the program name. Call once, from
// main, before any thread starts.
std::vector<std::string> InitApp(absl::string_view usage,
                                 absl::string_view flags_file, int* argc,
                                 char*** argv);

// Checks argv[1..argc) against the flags gflags knows, as InitApp does
// before parsing; the first problem as kInvalidArgument ("unknown flag
// --x"). Stops at "--". Sets the values it checks.
absl::Status CheckFlags(int argc, char** argv);

// The --help text InitApp prints, for `program` (exposed for tests).
std::string HelpText(absl::string_view program, absl::string_view usage,
                     absl::string_view flags_file);

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

// Prints `status` to stderr as text (PrintError) or, when `json`, as one
// line {"error": {"code": "NOT_FOUND", "message": "...", "exit_code": 3}};
// returns `exit_code`, or ExitCodeFor(status) when it is negative.
int ReportError(absl::string_view program, const absl::Status& status,
                bool json, int exit_code = -1);

// Prints a usage problem, `line` (e.g. "usage: tool CMD FILE"), to stderr
// as it is or, when `json`, as a JSON error (INVALID_ARGUMENT, exit_code
// 2); returns kExitUsage.
int UsageError(absl::string_view line, bool json);

}  // namespace tao

#endif  // TAO_APPS_COMMON_CLI_H_
