#include "program_factory/internal/identity.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <fstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "program_factory/internal/cgroup.h"
#include "tao/crypto.h"

namespace tao {
namespace {

// The first entry of a passwd/group file whose third field is in `range`.
absl::Status CheckIdFile(const UidRange& range, const std::string& path,
                         absl::string_view what) {
  auto text = internal::ReadSmallFile(path, 64 << 20);
  if (absl::IsNotFound(text.status())) return absl::OkStatus();
  if (!text.ok()) return text.status();
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ':');
    uint32_t id = 0;
    if (fields.size() < 3 || !absl::SimpleAtoi(fields[2], &id)) continue;
    if (range.Contains(id)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "dynamic_uid_range ", range.ToString(), " collides with ", what, " '",
          fields[0], "' (id ", id, ") in ", path,
          "; choose a range no user or group of the machine uses"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string UidRange::ToString() const {
  return absl::StrCat(first, "-", last);
}

absl::StatusOr<UidRange> ParseUidRange(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '-');
  UidRange range;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &range.first) ||
      !absl::SimpleAtoi(parts[1], &range.last) || range.first == 0 ||
      range.first > range.last || range.last == UINT32_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dynamic_uid_range '", text,
        "' is not FIRST-LAST with 0 < FIRST <= LAST < 4294967295"));
  }
  return range;
}

absl::Status CheckRangeIsUnused(const UidRange& range,
                                const std::string& passwd_path,
                                const std::string& group_path) {
  absl::Status users = CheckIdFile(range, passwd_path, "user");
  if (!users.ok()) return users;
  return CheckIdFile(range, group_path, "group");
}

namespace internal {

absl::StatusOr<uint32_t> UidAllocator::Allocate(absl::string_view hint) {
  std::string digest = Sha256(absl::StrCat(salt_.size(), ":", salt_, hint));
  uint64_t h = 0;
  for (int i = 0; i < 8; ++i) h = (h << 8) | static_cast<uint8_t>(digest[i]);
  const uint64_t size = range_.size();
  absl::MutexLock lock(&mu_);
  if (used_.size() >= size) {
    return absl::ResourceExhaustedError(
        absl::StrCat("every dynamic uid of ", range_.ToString(),
                     " is in use by a running program"));
  }
  uint64_t start = h % size;
  for (uint64_t i = 0; i < size; ++i) {
    uint32_t uid = static_cast<uint32_t>(range_.first + (start + i) % size);
    if (used_.count(uid) != 0 || !ClaimOnMachine(uid)) continue;
    used_.insert(uid);
    return uid;
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      "no dynamic uid of ", range_.ToString(), " is free on this machine"));
}

bool UidAllocator::ClaimOnMachine(uint32_t uid) {
  if (!lock_dir_ready_) {
    // Made root-owned and private; an existing one must be a real
    // directory (never a link another user planted).
    if (::mkdir(lock_dir_.c_str(), 0700) != 0 && errno != EEXIST) return true;
    struct stat st;
    if (::lstat(lock_dir_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return true;
    }
    lock_dir_ready_ = true;
  }
  const std::string path = absl::StrCat(lock_dir_, "/", uid);
  UniqueFd fd(::open(path.c_str(),
                     O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
                     0600));
  if (!fd.valid()) return false;
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return false;
  locks_[uid] = std::move(fd);
  return true;
}

void UidAllocator::Release(uint32_t uid) {
  absl::MutexLock lock(&mu_);
  used_.erase(uid);
  locks_.erase(uid);  // closing the descriptor drops the claim
}

size_t UidAllocator::in_use() const {
  absl::MutexLock lock(&mu_);
  return used_.size();
}

}  // namespace internal
}  // namespace tao
