#include "tests/testing/temp_dir.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace tao {
namespace test {
namespace {

int RemoveEntry(const char* path, const struct stat* /*st*/, int /*type*/,
                struct FTW* /*ftw*/) {
  if (::remove(path) != 0) {
    ADD_FAILURE() << "cannot remove " << path << ": " << ::strerror(errno);
  }
  return 0;  // keep going
}

}  // namespace

TempDir::TempDir() {
  const char* base = ::getenv("TEST_TMPDIR");
  if (base == nullptr || base[0] == '\0') base = "/tmp";
  std::string tmpl = absl::StrCat(base, "/tao_test.XXXXXX");
  if (::mkdtemp(tmpl.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << tmpl << ": " << ::strerror(errno);
    return;
  }
  path_ = std::move(tmpl);
}

TempDir::~TempDir() { Remove(); }

TempDir::TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) {
  other.path_.clear();
}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    Remove();
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

std::string TempDir::Join(absl::string_view name) const {
  return absl::StrCat(path_, "/", name);
}

void TempDir::Remove() {
  if (path_.empty()) return;
  if (::nftw(path_.c_str(), &RemoveEntry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
    ADD_FAILURE() << "cannot walk " << path_ << ": " << ::strerror(errno);
  }
  path_.clear();
}

std::vector<std::string> ListDirectory(const std::string& path) {
  std::vector<std::string> names;
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) {
    ADD_FAILURE() << "opendir " << path << ": " << ::strerror(errno);
    return names;
  }
  while (struct dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

}  // namespace test
}  // namespace tao
