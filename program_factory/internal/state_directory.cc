#include "program_factory/internal/state_directory.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "tao/unique_fd.h"

namespace tao {
namespace internal {
namespace {

// Depth bound for the hand-over walk: deeper trees are left as they are.
constexpr int kMaxDepth = 64;

// Hands what `old_uid` owns below the directory `dir` (owned fd) to
// uid:gid, without following any link: directories are opened with
// O_NOFOLLOW relative to their parent's descriptor, everything else is
// changed with AT_SYMLINK_NOFOLLOW.
absl::Status HandOver(int dir, uid_t old_uid, uid_t uid, gid_t gid, int depth) {
  if (depth > kMaxDepth) return absl::OkStatus();
  int copy = ::fcntl(dir, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return absl::ErrnoToStatus(errno, "dup a state directory");
  DIR* listing = ::fdopendir(copy);
  if (listing == nullptr) {
    ::close(copy);
    return absl::ErrnoToStatus(errno, "list a state directory");
  }
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(listing)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  ::closedir(listing);
  for (const std::string& name : names) {
    struct stat st;
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (st.st_uid != old_uid) continue;
    if (S_ISDIR(st.st_mode)) {
      UniqueFd sub(::openat(dir, name.c_str(),
                            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub.valid()) continue;  // replaced meanwhile: not ours to follow
      struct stat again;
      if (::fstat(sub.get(), &again) != 0 || again.st_ino != st.st_ino ||
          again.st_dev != st.st_dev) {
        continue;
      }
      if (::fchown(sub.get(), uid, gid) != 0) {
        return absl::ErrnoToStatus(errno, absl::StrCat("chown ", name));
      }
      absl::Status deeper = HandOver(sub.get(), old_uid, uid, gid, depth + 1);
      if (!deeper.ok()) return deeper;
    } else if (::fchownat(dir, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) !=
               0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("chown ", name));
    }
  }
  return absl::OkStatus();
}

absl::Status EnsureRoot(const std::string& root) {
  if (root.empty() || root[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("state_root '", root, "' must be absolute"));
  }
  // Make the missing parents, each root-owned 0755.
  for (size_t at = 1; at != std::string::npos;) {
    at = root.find('/', at + 1);
    std::string prefix = root.substr(0, at);
    if (::mkdir(prefix.c_str(), 0755) == 0) {
      // Whatever the host's umask (the systemd unit's is 0077).
      if (::chmod(prefix.c_str(), 0755) != 0) {
        return absl::ErrnoToStatus(errno, absl::StrCat("chmod ", prefix));
      }
    } else if (errno != EEXIST) {
      return absl::ErrnoToStatus(errno, absl::StrCat("mkdir ", prefix));
    }
  }
  struct stat st;
  if (::lstat(root.c_str(), &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("stat ", root));
  }
  if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "state_root ", root,
        " must be a directory owned by root and writable only by root"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckStateRootReachable(const std::string& root) {
  if (root.empty() || root[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("state_root '", root, "' must be absolute"));
  }
  for (size_t at = 0; at != std::string::npos;) {
    at = root.find('/', at + 1);
    std::string prefix = root.substr(0, at);
    struct stat st;
    if (::stat(prefix.c_str(), &st) != 0) {
      if (errno == ENOENT) return absl::OkStatus();  // made at first use
      return absl::ErrnoToStatus(errno, absl::StrCat("stat ", prefix));
    }
    if (!S_ISDIR(st.st_mode) || (st.st_mode & S_IXOTH) == 0) {
      char mode[16];
      std::snprintf(mode, sizeof(mode), "%04o",
                    static_cast<unsigned>(st.st_mode & 07777));
      return absl::FailedPreconditionError(absl::StrCat(
          "programs could not reach their state directories under ", root, ": ",
          prefix, " is not a directory others may enter (mode ", mode,
          "); make it 0711 or 0755, or choose another state_root"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateStateDirectoryName(absl::string_view name) {
  bool ok = !name.empty() && name.size() <= 128 && name[0] != '.';
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '_' && c != '-') {
      ok = false;
    }
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "state directory '", name,
        "' must be one path component of letters, digits, '.', '_' and '-' "
        "(1 to 128, not starting with '.')"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> PrepareStateDirectory(const std::string& root,
                                                  absl::string_view name,
                                                  uid_t uid, gid_t gid) {
  absl::Status valid = ValidateStateDirectoryName(name);
  if (!valid.ok()) return valid;
  absl::Status rooted = EnsureRoot(root);
  if (!rooted.ok()) return rooted;
  UniqueFd root_fd(
      ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root_fd.valid()) {
    return absl::ErrnoToStatus(errno, absl::StrCat("open ", root));
  }
  std::string path = absl::StrCat(root, "/", name);
  const std::string n(name);
  if (::mkdirat(root_fd.get(), n.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::ErrnoToStatus(errno, absl::StrCat("mkdir ", path));
  }
  // O_NOFOLLOW: a link planted in place of the directory is refused.
  UniqueFd dir(::openat(root_fd.get(), n.c_str(),
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid()) {
    return absl::ErrnoToStatus(
        errno, absl::StrCat("open ", path, " (a directory, not a link)"));
  }
  struct stat st;
  if (::fstat(dir.get(), &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("stat ", path));
  }
  if (st.st_uid != uid) {
    absl::Status handed = HandOver(dir.get(), st.st_uid, uid, gid, 0);
    if (!handed.ok()) return handed;
  }
  if (::fchown(dir.get(), uid, gid) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("chown ", path));
  }
  if (::fchmod(dir.get(), 0700) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("chmod ", path));
  }
  return path;
}

}  // namespace internal
}  // namespace tao
