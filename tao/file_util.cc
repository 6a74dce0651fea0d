#include "tao/file_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
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
  std::string dir = DirName(path);
  UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid() || ::fsync(dir_fd.get()) != 0) {
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
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid())
    return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("stat ", path));
  }
  if (S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(path, " is a directory"));
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

bool PathExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 || errno != ENOENT;
}

}  // namespace tao
