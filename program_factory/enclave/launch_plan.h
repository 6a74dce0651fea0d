// The canonical launch plan of an enclave, compiled from its manifest: the
// entry binary and every trusted file with its SHA-256 (and the bytes that
// were hashed), the mounts, the limits and the DEBUG bit. Its canonical
// encoding (docs/enclave-manifest.md, byte by byte) is what the enclave's
// name measures: `Enclave(sha256:<SHA-256 of the encoding>)`, followed by
// `Args(sha256:...)` for its arguments and environment.
#ifndef TAO_PROGRAM_FACTORY_ENCLAVE_LAUNCH_PLAN_H_
#define TAO_PROGRAM_FACTORY_ENCLAVE_LAUNCH_PLAN_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "program_factory/enclave/library_search.h"
#include "program_factory/enclave/manifest.h"
#include "program_factory/enclave/trusted_file.h"
#include "tao/principal.h"

namespace tao {

// What the encoding says of one trusted file. Plain data.
struct PlanFile {
  TrustedFileRole role = TrustedFileRole::kLibrary;
  std::string path;
  uint64_t size = 0;
  std::string digest;  // 32 raw bytes
};

// Everything the plan's measurement covers. Plain data.
struct LaunchPlanFields {
  std::string entry;                 // the EXEC path
  std::vector<PlanFile> files;       // any order; encoded sorted by path
  std::vector<EnclaveMount> mounts;  // any order; sorted by enclave path
  uint32_t threads = 0;              // 0: no task limit asked for
  uint32_t enclave_size_mib = 0;     // 0: no memory limit asked for
  bool debug = false;
};

// The "tao-enclave-plan-v1" encoding of `fields` (docs/enclave-manifest.md).
// Two field sets that differ in anything measured encode differently; the
// order of files and mounts given does not matter. Thread-safe (pure).
std::string EncodeLaunchPlan(const LaunchPlanFields& fields);

// Compiles manifests; only the library search is configurable.
struct LaunchPlanOptions {
  LibrarySearchOptions search;
};

// A compiled plan. Owns the sealed memfds of its trusted files, so later
// stages run the bytes that were hashed, whatever happens to the files on
// disk. Move-only; thread-compatible (const methods may be called from
// several threads).
class LaunchPlan {
 public:
  // Reads and hashes every trusted file of `manifest` (CollectTrustedFiles)
  // and checks the plan as a whole: no mount may cover or lie inside a
  // trusted file's path, and every bind mount's host path must exist.
  // kInvalidArgument or kNotFound with the reason; errno statuses for I/O.
  static absl::StatusOr<LaunchPlan> Compile(
      const EnclaveManifest& manifest,
      const LaunchPlanOptions& options = LaunchPlanOptions());

  LaunchPlan(LaunchPlan&&) = default;
  LaunchPlan& operator=(LaunchPlan&&) = default;

  const LaunchPlanFields& fields() const { return fields_; }
  // Trusted files, sorted by path, each with its sealed memfd.
  const std::vector<TrustedFile>& files() const { return files_; }
  // The file at `path` in the enclave, or nullptr.
  const TrustedFile* Find(absl::string_view path) const;
  // argv (argv[0] is the EXEC path, then each ARG) and ENV, as measured
  // into Args(...).
  const std::vector<std::string>& argv() const { return argv_; }
  const std::vector<std::pair<std::string, std::string>>& env() const {
    return env_;
  }

  // The canonical encoding, its SHA-256 (32 raw bytes) and the Args digest
  // ("tao-args-v2", docs/program-measurement.md; 32 raw bytes).
  const std::string& encoding() const { return encoding_; }
  const std::string& digest() const { return digest_; }
  const std::string& args_digest() const { return args_digest_; }
  // Enclave(sha256:<digest>) and Args(sha256:<args digest>), in that order:
  // what the host appends to its own name.
  const std::vector<Subprincipal>& subprincipals() const {
    return subprincipals_;
  }

  // The plan as text for people (the tool's `plan` command): one line per
  // field, trusted files with role, digest and size.
  std::string Describe() const;

 private:
  LaunchPlan() = default;

  LaunchPlanFields fields_;
  std::vector<TrustedFile> files_;
  std::vector<std::string> argv_;
  std::vector<std::pair<std::string, std::string>> env_;
  std::string encoding_;
  std::string digest_;
  std::string args_digest_;
  std::vector<Subprincipal> subprincipals_;
};

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_ENCLAVE_LAUNCH_PLAN_H_
