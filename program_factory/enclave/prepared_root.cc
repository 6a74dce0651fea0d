#include "program_factory/enclave/prepared_root.h"

#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <utility>

#include "absl/strings/str_cat.h"
#include "program_factory/enclave/private_root.h"
#include "tao/status_macros.h"

namespace tao {
namespace {

// Every cache of the process numbers its roots from here: two factories
// may share a run directory.
std::atomic<uint64_t> next_root{1};

}  // namespace

PreparedRoot::~PreparedRoot() {
  ::umount2(dir_.c_str(), MNT_DETACH);
  ::rmdir(dir_.c_str());
}

PreparedRootCache::PreparedRootCache(std::string run_dir, size_t max_roots,
                                     uint64_t max_bytes, uid_t owner_uid,
                                     gid_t owner_gid)
    : run_dir_(std::move(run_dir)),
      max_roots_(max_roots),
      max_bytes_(max_bytes),
      owner_uid_(owner_uid),
      owner_gid_(owner_gid) {}

PreparedRootCache::~PreparedRootCache() { Clear(); }

absl::StatusOr<std::shared_ptr<const PreparedRoot>> PreparedRootCache::Build(
    const std::string& dir, const PrivateRootLayout& content) {
  if (::mkdir(dir.c_str(), 0755) != 0) {
    return absl::ErrnoToStatus(errno, "mkdir " + dir);
  }
  // Owned from here on: a failure below unmounts and removes it.
  std::shared_ptr<const PreparedRoot> root(
      new PreparedRoot(dir, content.bytes()));
  RootFailure failure = content.Apply();
  if (failure.step >= 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "prepare the enclave's root: ", content.Describe(failure)));
  }
  return root;
}

absl::StatusOr<std::shared_ptr<const PreparedRoot>> PreparedRootCache::Get(
    const LaunchPlan& plan, const std::vector<EnclaveMount>& extra_mounts) {
  absl::MutexLock lock(&mu_);
  // A number of its own for each Get (a hit leaves a gap): unique in the
  // process whatever the cache, as two factories may share a run directory.
  const std::string dir =
      absl::StrCat(run_dir_, "/r", ::getpid(), "-", next_root++);
  TAO_ASSIGN_OR_RETURN(PrivateRootLayout content,
                       PrivateRootLayout::CreateContent(
                           plan, dir, extra_mounts, owner_uid_, owner_gid_));
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->key == content.content_key()) {
      entries_.splice(entries_.begin(), entries_, it);
      return entries_.front().root;
    }
  }
  // Built under the lock: two starts of one plan build it once.
  TAO_ASSIGN_OR_RETURN(std::shared_ptr<const PreparedRoot> root,
                       Build(dir, content));
  if (closed_ || max_roots_ == 0 || root->bytes() > max_bytes_) return root;
  while (!entries_.empty() && (entries_.size() + 1 > max_roots_ ||
                               bytes_ + root->bytes() > max_bytes_)) {
    bytes_ -= entries_.back().root->bytes();
    entries_.pop_back();  // unmounted once no start holds it
  }
  entries_.push_front(Entry{content.content_key(), root});
  bytes_ += root->bytes();
  return root;
}

void PreparedRootCache::Clear() {
  std::list<Entry> dropped;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    dropped.swap(entries_);
    bytes_ = 0;
  }
  // `dropped` goes here, outside the lock: each root is unmounted.
}

size_t PreparedRootCache::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

uint64_t PreparedRootCache::bytes() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

}  // namespace tao
