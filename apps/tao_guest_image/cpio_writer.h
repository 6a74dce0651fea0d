// CpioWriter: an initramfs in the "newc" cpio format (what the kernel
// unpacks, uncompressed), written entry by entry in the order given.
// Not thread-safe.
#ifndef TAO_APPS_TAO_GUEST_IMAGE_CPIO_WRITER_H_
#define TAO_APPS_TAO_GUEST_IMAGE_CPIO_WRITER_H_

#include <cstdint>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tao {

class CpioWriter {
 public:
  // Directories, files and symlinks; `path` is relative to the image's root
  // (no leading "/"), and a file's parent directories are added first if
  // missing (mode 0755). Entries carry uid 0, gid 0 and mtime 0, so the same
  // inputs make the same image byte for byte. kInvalidArgument for an empty
  // or absolute path or one with "..".
  absl::Status AddDirectory(absl::string_view path, uint32_t mode = 0755);
  absl::Status AddFile(absl::string_view path, absl::string_view bytes,
                       uint32_t mode);
  absl::Status AddSymlink(absl::string_view path, absl::string_view target);
  // Whether `path` was added.
  bool Has(absl::string_view path) const {
    return added_.count(std::string(path)) > 0;
  }
  // The trailer, then the image so far. Call once.
  std::string Finish();

 private:
  absl::Status AddParents(absl::string_view path);
  void Entry(absl::string_view path, uint32_t mode, absl::string_view data);

  std::string out_;
  std::set<std::string> added_;
  uint32_t next_ino_ = 1;
};

}  // namespace tao

#endif  // TAO_APPS_TAO_GUEST_IMAGE_CPIO_WRITER_H_
