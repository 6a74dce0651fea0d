// The enclave manifest: a line-oriented description of what an enclave runs
// (EXEC, MODULE), what it sees (MOUNT), its limits (THREADS, ENCLAVE_SIZE),
// whether it is a debug enclave (DEBUG) and its arguments and environment
// (ARG, ENV). The format is docs/enclave-manifest.md; the parser is strict
// and bounded, because a manifest comes from whoever may start programs.
#ifndef TAO_PROGRAM_FACTORY_ENCLAVE_MANIFEST_H_
#define TAO_PROGRAM_FACTORY_ENCLAVE_MANIFEST_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tao {

// One MOUNT line. A bind mount of a host path (read-only or read-write) or
// an empty tmpfs. Plain data.
struct EnclaveMount {
  enum class Kind { kBindReadOnly, kBindReadWrite, kTmpfs };
  Kind kind = Kind::kBindReadOnly;
  std::string host_path;     // absolute and normal; empty for kTmpfs
  std::string enclave_path;  // absolute and normal, never "/"
  bool operator==(const EnclaveMount& o) const {
    return kind == o.kind && host_path == o.host_path &&
           enclave_path == o.enclave_path;
  }
};

// A parsed manifest, before any file is read. Plain data; every path is
// absolute, normal (no ".", "..", "//" or trailing "/") and free of control
// characters.
struct EnclaveManifest {
  std::string exec;                  // EXEC: the entry binary (host path)
  std::vector<std::string> modules;  // MODULE: extra shared objects, in order
  std::vector<EnclaveMount> mounts;  // MOUNT, in order
  uint32_t threads = 0;              // THREADS; 0: not given (no task limit)
  uint32_t enclave_size_mib = 0;     // ENCLAVE_SIZE; 0: not given
  bool debug = false;                // DEBUG on|off; off unless given
  std::vector<std::string> args;     // ARG, in order (argv[1..])
  std::vector<std::pair<std::string, std::string>> env;  // ENV, in order

  bool operator==(const EnclaveManifest& o) const {
    return exec == o.exec && modules == o.modules && mounts == o.mounts &&
           threads == o.threads && enclave_size_mib == o.enclave_size_mib &&
           debug == o.debug && args == o.args && env == o.env;
  }
};

// Bounds on what a manifest may hold; every one is checked, and a manifest
// past one is refused with the line it went past on.
struct ManifestLimits {
  size_t max_bytes = size_t{1} << 20;  // the whole manifest
  size_t max_line_bytes = 4096;        // one line, without its newline
  size_t max_lines = 10000;
  size_t max_modules = 256;
  size_t max_mounts = 64;
  size_t max_args = 256;
  size_t max_env = 256;
  uint32_t max_threads = 4096;
  uint32_t max_enclave_size_mib = uint32_t{1} << 16;  // 64 GiB
};

// Parses `text`. kInvalidArgument with "line L, column C: <what>" for every
// error (columns count bytes from 1), including directives the seeds' hosts
// define that this host cannot honour (CAFILE, TIMESERVER, Phoenix's
// encrypted mount types, exitless THREADS): those are refused, never
// ignored. Thread-safe (pure).
absl::StatusOr<EnclaveManifest> ParseEnclaveManifest(
    absl::string_view text, const ManifestLimits& limits = ManifestLimits());

// The manifest as canonical text that parses back to `m` (every word
// quoted, one directive per line, in the order EXEC, MODULE, MOUNT,
// THREADS, ENCLAVE_SIZE, DEBUG, ARG, ENV). `m` must be what
// ParseEnclaveManifest returns (no NUL in any value). Thread-safe (pure).
std::string FormatEnclaveManifest(const EnclaveManifest& m);

// True if `path` is absolute and normal: starts with "/", has no empty, "."
// or ".." component, no trailing "/" (unless it is "/"), and no byte below
// 0x20 or 0x7f. Exposed for the launch plan and its tests.
bool IsNormalAbsolutePath(absl::string_view path);

// True if `path` is `prefix` or lies below it (both normal absolute paths).
bool PathIsWithin(absl::string_view path, absl::string_view prefix);

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_ENCLAVE_MANIFEST_H_
