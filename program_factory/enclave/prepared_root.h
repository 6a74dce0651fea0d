// Prepared roots: an enclave's read-only root built once by the host, from
// the plan's hashed bytes, and bind-mounted read-only into each enclave of
// that plan (instead of copying the bytes into a fresh tmpfs per start).
// The host mounts the tmpfs at <run_dir>/r<host pid>-<n>, fills it from the
// trusted files' sealed memfds, and remounts its superblock read-only: no
// enclave (nor the host, short of remounting it) can write it, and a file
// changed on disk after measuring changes nothing in it. A small bounded
// cache keeps the roots of recent plans; it unmounts and removes every one
// when it is destroyed or cleared.
#ifndef TAO_PROGRAM_FACTORY_ENCLAVE_PREPARED_ROOT_H_
#define TAO_PROGRAM_FACTORY_ENCLAVE_PREPARED_ROOT_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "program_factory/enclave/launch_plan.h"
#include "program_factory/enclave/manifest.h"

namespace tao {

// One built root: a read-only tmpfs mounted in the host's mount namespace.
// The destructor unmounts it (MNT_DETACH: enclaves that bound it keep their
// own mount of it) and removes its directory. Immutable; thread-safe.
class PreparedRoot {
 public:
  ~PreparedRoot();
  PreparedRoot(const PreparedRoot&) = delete;
  PreparedRoot& operator=(const PreparedRoot&) = delete;

  // The mount point (absolute), for PrivateRootLayout::CreateOver.
  const std::string& dir() const { return dir_; }
  // The trusted files' bytes it holds.
  uint64_t bytes() const { return bytes_; }

 private:
  friend class PreparedRootCache;
  PreparedRoot(std::string dir, uint64_t bytes)
      : dir_(std::move(dir)), bytes_(bytes) {}
  std::string dir_;
  uint64_t bytes_;
};

// The roots of recent plans, least recently used dropped first. Thread-safe.
class PreparedRootCache {
 public:
  // Roots are made in `run_dir` (an existing directory every parent of
  // which others can search: the enclave's init walks there). At most
  // `max_roots` roots and `max_bytes` of their trusted files' bytes are
  // kept; 0 roots keeps none (every Get builds a root for one start).
  // Each root's top directory is `owner_uid`'s (the enclaves' outside uid)
  // and mode 0700.
  PreparedRootCache(std::string run_dir, size_t max_roots, uint64_t max_bytes,
                    uid_t owner_uid, gid_t owner_gid);
  // Clear().
  ~PreparedRootCache();
  PreparedRootCache(const PreparedRootCache&) = delete;
  PreparedRootCache& operator=(const PreparedRootCache&) = delete;

  // The root of `plan` with `extra_mounts` (their mount points are part of
  // it), built on a miss. The caller holds it until its enclave has bound
  // it; a root dropped from the cache meanwhile goes when the caller lets
  // go. Errno statuses (mkdir, mount) and kFailedPrecondition with the
  // step that failed ("write the trusted file ...: No space left").
  absl::StatusOr<std::shared_ptr<const PreparedRoot>> Get(
      const LaunchPlan& plan, const std::vector<EnclaveMount>& extra_mounts);

  // Drops every root (unmounted and removed once no Get caller holds it);
  // from then on, Get builds roots for one start only and keeps none.
  void Clear();

  // How many roots the cache keeps now, and their trusted files' bytes.
  size_t size() const;
  uint64_t bytes() const;

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const PreparedRoot> root;
  };
  absl::StatusOr<std::shared_ptr<const PreparedRoot>> Build(
      const std::string& dir, const class PrivateRootLayout& content);

  const std::string run_dir_;
  const size_t max_roots_;
  const uint64_t max_bytes_;
  const uid_t owner_uid_;
  const gid_t owner_gid_;
  mutable absl::Mutex mu_;
  std::list<Entry> entries_ ABSL_GUARDED_BY(mu_);  // most recent first
  uint64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_ENCLAVE_PREPARED_ROOT_H_
