// TempDir: a fresh directory for one test, removed with all it holds when the
// TempDir is destroyed. Tests never share one, so they stay hermetic.
#ifndef TAO_TESTS_TESTING_TEMP_DIR_H_
#define TAO_TESTS_TESTING_TEMP_DIR_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace tao {
namespace test {

// Move-only. Not thread-safe.
class TempDir {
 public:
  // Creates the directory with mkdtemp (mode 0700) under $TEST_TMPDIR if set,
  // else /tmp. On failure the current test fails (ADD_FAILURE) and path() is
  // empty.
  TempDir();
  // Removes the directory recursively (without following symlinks).
  ~TempDir();

  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // The directory's absolute path, without a trailing slash.
  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string Join(absl::string_view name) const;

 private:
  void Remove();

  std::string path_;
};

// The names in directory `path` (without "." and ".."), sorted. Fails the
// current test and returns nothing if it cannot be read.
std::vector<std::string> ListDirectory(const std::string& path);

// The permission bits (07777) of `path`; fails the current test if it
// cannot be stat'ed.
mode_t ModeOf(const std::string& path);

}  // namespace test
}  // namespace tao

#endif  // TAO_TESTS_TESTING_TEMP_DIR_H_
