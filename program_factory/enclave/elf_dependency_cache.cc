#include "program_factory/enclave/elf_dependency_cache.h"

namespace tao {

ElfDependencyCache::ElfDependencyCache(size_t max_entries)
    : max_entries_(max_entries) {}

std::optional<ElfDependencies> ElfDependencyCache::Lookup(
    absl::string_view digest) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(std::string(digest));
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

void ElfDependencyCache::Insert(absl::string_view digest,
                                const ElfDependencies& deps) {
  if (max_entries_ == 0) return;
  absl::MutexLock lock(&mu_);
  if (entries_.size() >= max_entries_ &&
      entries_.count(std::string(digest)) == 0) {
    entries_.clear();
  }
  entries_.insert_or_assign(std::string(digest), deps);
}

size_t ElfDependencyCache::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace tao
