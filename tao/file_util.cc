#include "tao/file_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "tao/status_macros.h"
#include "tao/unique_fd.h"

namespace tao {
namespace {

std::string DirName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::Status WriteAll(int fd, absl::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, absl::StrCat("write ", what));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// Writes `contents` to a fresh temporary beside `path`, then publishes it:
// rename(2) over `path`, or link(2) to `path` when `replace` is false (which
// fails with EEXIST rather than replace).
absl::Status PublishFile(const std::string& path, absl::string_view contents,
                         mode_t mode, bool replace) {
  // A shared lock on the directory for the temporary's whole life, so that
  // SweepTemporaries (which takes it exclusively) never removes ours.
  const std::string dir = DirName(path);
  UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid()) {
    return absl::ErrnoToStatus(errno, absl::StrCat("open directory ", dir));
  }
  while (::flock(dir_fd.get(), LOCK_SH) != 0) {
    if (errno != EINTR) {
      return absl::ErrnoToStatus(errno, absl::StrCat("lock directory ", dir));
    }
  }
  std::string tmpl = path + ".tmp.XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  UniqueFd fd(::mkostemp(name.data(), O_CLOEXEC));
  if (!fd.valid()) {
    return absl::ErrnoToStatus(errno,
                               absl::StrCat("create temporary for ", path));
  }
  std::string tmp_path(name.data());
  absl::Cleanup remove_tmp = [&tmp_path] { ::unlink(tmp_path.c_str()); };
  if (::fchmod(fd.get(), mode) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("chmod ", tmp_path));
  }
  absl::Status written = WriteAll(fd.get(), contents, tmp_path);
  if (!written.ok()) return written;
  if (::fsync(fd.get()) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("fsync ", tmp_path));
  }
  if (::close(fd.Release()) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("close ", tmp_path));
  }
  if (replace) {
    if (::rename(tmp_path.c_str(), path.c_str()) != 0) {
      return absl::ErrnoToStatus(
          errno, absl::StrCat("rename ", tmp_path, " to ", path));
    }
    std::move(remove_tmp).Cancel();
  } else if (::link(tmp_path.c_str(), path.c_str()) != 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(absl::StrCat(path, " already exists"));
    }
    return absl::ErrnoToStatus(errno,
                               absl::StrCat("link ", tmp_path, " to ", path));
  }
  if (::fsync(dir_fd.get()) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("fsync directory ", dir));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view contents, mode_t mode) {
  return PublishFile(path, contents, mode, /*replace=*/true);
}

absl::Status CreateFileAtomically(const std::string& path,
                                  absl::string_view contents, mode_t mode) {
  return PublishFile(path, contents, mode, /*replace=*/false);
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             size_t max_size) {
  // Never blocks (a FIFO or a device opens at once and is refused below),
  // never follows a link in the last component, never becomes our tty.
  UniqueFd fd(::open(
      path.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) {
    if (errno == ELOOP) {
      return absl::InvalidArgumentError(absl::StrCat(
          path,
          " is a symbolic link, not a regular file; refusing to read "
          "through it"));
    }
    return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("stat ", path));
  }
  if (S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is a directory, not a regular file"));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path,
        " is not a regular file (a FIFO, socket or device); refusing "
        "to read it"));
  }
  std::string out;
  if (st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, absl::StrCat("read ", path));
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_size) {
      return absl::FailedPreconditionError(absl::StrCat(
          path, " is larger than the limit of ", max_size, " bytes"));
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

absl::Status EnsureDirectory(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0) return absl::OkStatus();
  if (errno != EEXIST) {
    return absl::ErrnoToStatus(errno, absl::StrCat("mkdir ", path));
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("stat ", path));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " exists and is not a directory"));
  }
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> LockDirectory(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    return absl::ErrnoToStatus(errno, absl::StrCat("open directory ", dir));
  }
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) {
      return absl::ErrnoToStatus(errno, absl::StrCat("lock directory ", dir));
    }
  }
  return fd;
}

bool IsAtomicWriteTemporary(absl::string_view name) {
  // <name>.tmp.XXXXXX, as mkostemp makes them.
  size_t at = name.rfind(".tmp.");
  if (at == absl::string_view::npos || at == 0) return false;
  absl::string_view suffix = name.substr(at + 5);
  if (suffix.size() != 6) return false;
  for (char c : suffix) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9'))) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<int> SweepTemporaries(const std::string& dir) {
  TAO_ASSIGN_OR_RETURN(UniqueFd lock, LockDirectory(dir));
  DIR* d = ::fdopendir(::dup(lock.get()));
  if (d == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("list ", dir));
  }
  absl::Cleanup close_dir = [d] { ::closedir(d); };
  ::rewinddir(d);
  int removed = 0;
  while (struct dirent* entry = ::readdir(d)) {
    if (!IsAtomicWriteTemporary(entry->d_name)) continue;
    struct stat st;
    if (::fstatat(lock.get(), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode)) {
      continue;
    }
    if (::unlinkat(lock.get(), entry->d_name, 0) != 0) {
      return absl::ErrnoToStatus(
          errno, absl::StrCat("remove ", dir, "/", entry->d_name));
    }
    ++removed;
  }
  return removed;
}

absl::Status CheckDirectoryAccess(const std::string& dir, uid_t owner,
                                  mode_t forbidden) {
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("stat ", dir));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir, " is not a directory (a symbolic link?)"));
  }
  if (st.st_uid != 0 && st.st_uid != owner) {
    return absl::FailedPreconditionError(absl::StrCat(
        dir, " is owned by uid ", st.st_uid, ", not by root or uid ", owner,
        " (this host); fix with: chown ", owner, " ", dir));
  }
  mode_t mode = st.st_mode & 07777;
  if ((mode & forbidden) != 0) {
    char have[8], want[8];
    std::snprintf(have, sizeof(have), "%04o", mode);
    std::snprintf(want, sizeof(want), "%04o", mode & ~forbidden & 07777);
    return absl::FailedPreconditionError(
        absl::StrCat(dir, " has mode ", have, ", which lets ",
                     (forbidden & 0077) == 0077 ? "group or others reach it"
                                                : "group or others write to it",
                     "; fix with: chmod ", want, " ", dir));
  }
  return absl::OkStatus();
}

absl::Status CheckFileAccess(const std::string& path, uid_t owner) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("stat ", path));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a regular file"));
  }
  if (st.st_uid != 0 && st.st_uid != owner) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " is owned by uid ", st.st_uid, ", not by root or uid ", owner,
        " (this host); fix with: chown ", owner, " ", path));
  }
  if ((st.st_mode & 0022) != 0) {
    char want[8];
    std::snprintf(want, sizeof(want), "%04o", st.st_mode & 07755);
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is writable by group or others; fix with: chmod ",
                     want, " ", path));
  }
  return CheckDirectoryAccess(DirName(path), owner, 0022);
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 || errno != ENOENT;
}

}  // namespace tao
