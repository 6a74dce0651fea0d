// The enclave's private root: a tmpfs filled from the hashed bytes of the
// launch plan's trusted files (never from the files on disk), its declared
// mounts, and then remounted read-only. Laid out in the parent (which may
// allocate and fail with a message), applied in the child with system calls
// only (async-signal-safe, so it may run between clone() and exec), inside
// a mount namespace of the child's own: applying it in the parent's mount
// namespace is refused.
#ifndef TAO_PROGRAM_FACTORY_ENCLAVE_PRIVATE_ROOT_H_
#define TAO_PROGRAM_FACTORY_ENCLAVE_PRIVATE_ROOT_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "program_factory/enclave/launch_plan.h"

namespace tao {

// One step of building the root; plain data, prepared before the child
// exists.
struct RootStep {
  enum class Kind {
    kCheckNamespace,  // refuse to run in the parent's mount namespace
    kMountRootTmpfs,  // a tmpfs at the root directory
    kMkdir,           // a directory (0755)
    kWriteFile,       // a trusted file (0555) from its sealed memfd
    kMountPointFile,  // an empty file to bind a host file onto
    kBind,            // bind a host path, then remount with its flags
    kTmpfs,           // a declared tmpfs (mode 1777)
    kRemountRootReadOnly,
    kBindPreparedRoot,     // bind a PreparedRoot's directory (not recursive)
    kRemountBindReadOnly,  // that bind, read-only (nosuid, nodev)
  };
  Kind kind;
  std::string path;        // absolute, under the root directory
  std::string source;      // kBind: the host path; kBindPreparedRoot: its dir
  std::string data;        // tmpfs options
  int fd = -1;             // kWriteFile: the memfd (owned by the plan)
  uint64_t size = 0;       // kWriteFile: bytes to copy
  bool read_only = false;  // kBind
};

// Where Apply stopped: the step's index and the errno. Plain data.
struct RootFailure {
  int step = -1;  // -1: success
  int error = 0;
};

// A root laid out for one plan at one directory. Borrows the plan's memfds:
// the plan must outlive it. Thread-compatible.
class PrivateRootLayout {
 public:
  // Lays out the root of `plan` at `root_dir` (an existing empty directory;
  // absolute and normal), with the plan's mounts and `extra_mounts` (the
  // host's own, e.g. a DEBUG enclave's crash directory; the caller keeps
  // them clear of the plan's). Stats each bind mount's host path to make a
  // directory or a file mount point. kInvalidArgument or an errno status.
  static absl::StatusOr<PrivateRootLayout> Create(
      const LaunchPlan& plan, const std::string& root_dir,
      const std::vector<EnclaveMount>& extra_mounts = {});

  // Lays out only the root's own content at `dir` (a tmpfs, its
  // directories, the trusted files from their memfds, file mount points,
  // then the tmpfs remounted read-only: its superblock), without the
  // mounts and without the namespace check: the host applies it once in
  // its own namespace to make a PreparedRoot (prepared_root.h). The
  // tmpfs' top directory is mode 0700 and `owner_uid`'s (the enclave's
  // outside uid, its root inside): no other user of the host walks in.
  static absl::StatusOr<PrivateRootLayout> CreateContent(
      const LaunchPlan& plan, const std::string& dir,
      const std::vector<EnclaveMount>& extra_mounts, uid_t owner_uid,
      gid_t owner_gid);

  // Lays out the root as a bind of `prepared_dir` (a CreateContent layout
  // of the same plan and mounts, applied) at `root_dir`, the mounts on top
  // of it, and the bind remounted read-only. Applied like Create's.
  static absl::StatusOr<PrivateRootLayout> CreateOver(
      const LaunchPlan& plan, const std::string& root_dir,
      const std::string& prepared_dir,
      const std::vector<EnclaveMount>& extra_mounts = {});

  // What a content layout holds, whatever its directory: the plan's digest
  // (every trusted file's path and bytes), the directories and the file
  // mount points. Two layouts with the same key fill the same root.
  const std::string& content_key() const { return content_key_; }
  // The trusted files' bytes a content (or Create) layout copies.
  uint64_t bytes() const { return bytes_; }

  // Builds the root: system calls only, no allocation. Run it in the child,
  // after unshare(CLONE_NEWNS) and making "/" private (MS_REC|MS_PRIVATE);
  // in the namespace Create ran in, it refuses (step 0, EPERM). On the
  // first failure it stops and says where; the caller must then not exec
  // (fail closed). Mounts already made vanish with the namespace.
  RootFailure Apply() const;

  // The steps, and a message for a failure ("<what> <path>: <strerror>").
  const std::vector<RootStep>& steps() const { return steps_; }
  std::string Describe(const RootFailure& failure) const;

 private:
  enum class Mode { kFull, kContent, kOver };
  PrivateRootLayout() = default;
  static absl::StatusOr<PrivateRootLayout> Build(
      const LaunchPlan& plan, const std::string& root_dir,
      const std::vector<EnclaveMount>& extra_mounts, Mode mode,
      const std::string& prepared_dir, const std::string& owner = "");

  std::vector<RootStep> steps_;
  dev_t namespace_dev_ = 0;  // of /proc/self/ns/mnt when Create ran
  ino_t namespace_ino_ = 0;
  std::string content_key_;
  uint64_t bytes_ = 0;
};

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_ENCLAVE_PRIVATE_ROOT_H_
