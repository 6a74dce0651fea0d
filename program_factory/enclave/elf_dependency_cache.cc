#include "program_factory/enclave/elf_dependency_cache.h"

namespace tao {
namespace {

// A string's bytes and the allocation around them; the rest of an entry.
constexpr size_t kStringOverhead = 32;
constexpr size_t kEntryOverhead = 256;

size_t StringsBytes(const std::vector<std::string>& list) {
  size_t total = 0;
  for (const std::string& s : list) total += s.size() + kStringOverhead;
  return total;
}

}  // namespace

ElfDependencyCache::ElfDependencyCache(size_t max_bytes)
    : max_bytes_(max_bytes) {}

size_t ElfDependencyCache::EntryBytes(const ElfDependencies& deps) {
  return kEntryOverhead + deps.interpreter.size() + deps.soname.size() +
         StringsBytes(deps.needed) + StringsBytes(deps.runpath) +
         StringsBytes(deps.rpath);
}

std::optional<ElfDependencies> ElfDependencyCache::Lookup(
    absl::string_view digest) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(std::string(digest));
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

void ElfDependencyCache::Insert(absl::string_view digest,
                                const ElfDependencies& deps) {
  const size_t cost = EntryBytes(deps) + digest.size();
  if (cost > kMaxEntryBytes || cost > max_bytes_) return;
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(std::string(digest));
  if (it != entries_.end()) {
    bytes_ -= EntryBytes(it->second) + digest.size();
    entries_.erase(it);
  }
  if (bytes_ + cost > max_bytes_) {
    entries_.clear();
    bytes_ = 0;
  }
  entries_.emplace(std::string(digest), deps);
  bytes_ += cost;
}

size_t ElfDependencyCache::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

size_t ElfDependencyCache::bytes() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

}  // namespace tao
