#include "apps/tao_guest_image/cpio_writer.h"

#include <sys/stat.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace tao {
namespace {

absl::Status CheckPath(absl::string_view path) {
  if (path.empty() || path[0] == '/' || absl::EndsWith(path, "/")) {
    return absl::InvalidArgumentError(
        absl::StrCat("image path '", path, "' must be relative"));
  }
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty() || part == "." || part == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("image path '", path, "' is not normal"));
    }
  }
  return absl::OkStatus();
}

void Pad4(std::string* out) {
  while (out->size() % 4 != 0) out->push_back('\0');
}

}  // namespace

void CpioWriter::Entry(absl::string_view path, uint32_t mode,
                       absl::string_view data) {
  // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor,
  // rdevmajor, rdevminor, namesize, check: 8 hex digits each.
  absl::StrAppendFormat(&out_,
                        "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X"
                        "%08X%08X",
                        next_ino_++, mode, 0, 0, S_ISDIR(mode) ? 2 : 1, 0,
                        data.size(), 0, 0, 0, 0, path.size() + 1, 0);
  out_.append(path.data(), path.size());
  out_.push_back('\0');
  Pad4(&out_);
  out_.append(data.data(), data.size());
  Pad4(&out_);
  added_.insert(std::string(path));
}

absl::Status CpioWriter::AddParents(absl::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == absl::string_view::npos) return absl::OkStatus();
  absl::string_view parent = path.substr(0, slash);
  if (Has(parent)) return absl::OkStatus();
  return AddDirectory(parent);
}

absl::Status CpioWriter::AddDirectory(absl::string_view path, uint32_t mode) {
  if (absl::Status ok = CheckPath(path); !ok.ok()) return ok;
  if (Has(path)) return absl::OkStatus();
  if (absl::Status ok = AddParents(path); !ok.ok()) return ok;
  Entry(path, S_IFDIR | (mode & 07777), "");
  return absl::OkStatus();
}

absl::Status CpioWriter::AddFile(absl::string_view path,
                                 absl::string_view bytes, uint32_t mode) {
  if (absl::Status ok = CheckPath(path); !ok.ok()) return ok;
  if (Has(path)) {
    return absl::AlreadyExistsError(absl::StrCat(path, " is in the image"));
  }
  if (absl::Status ok = AddParents(path); !ok.ok()) return ok;
  Entry(path, S_IFREG | (mode & 07777), bytes);
  return absl::OkStatus();
}

absl::Status CpioWriter::AddSymlink(absl::string_view path,
                                    absl::string_view target) {
  if (absl::Status ok = CheckPath(path); !ok.ok()) return ok;
  if (Has(path)) return absl::OkStatus();
  if (absl::Status ok = AddParents(path); !ok.ok()) return ok;
  Entry(path, S_IFLNK | 0777, target);
  return absl::OkStatus();
}

std::string CpioWriter::Finish() {
  Entry("TRAILER!!!", 0, "");
  return std::move(out_);
}

}  // namespace tao
