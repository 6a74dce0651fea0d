// The library search against this machine's real binaries, with `ldd` as
// the oracle (ldd runs only here, in the test; the search never runs
// anything): the same set of files, compared by their real paths.
#include "program_factory/enclave/library_search.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "program_factory/enclave/elf_dependency_cache.h"
#include "program_factory/enclave/elf_reader.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::StatusIs;
using ::testing::HasSubstr;

std::string RealPath(const std::string& path) {
  char* real = ::realpath(path.c_str(), nullptr);
  if (real == nullptr) return "unresolvable:" + path;
  std::string out(real);
  ::free(real);
  return out;
}

// The files `ldd binary` says the loader maps (without the vDSO), as real
// paths.
std::set<std::string> LddFiles(const std::string& binary) {
  std::set<std::string> out;
  FILE* p = ::popen(("ldd " + binary + " 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  char line[4096];
  while (::fgets(line, sizeof(line), p) != nullptr) {
    absl::string_view l = absl::StripAsciiWhitespace(line);
    size_t arrow = l.find(" => ");
    absl::string_view path =
        arrow == absl::string_view::npos ? l : l.substr(arrow + 4);
    path = path.substr(0, path.find(" ("));
    if (path.empty() || path[0] != '/') continue;  // linux-vdso.so.1
    out.insert(RealPath(std::string(path)));
  }
  ::pclose(p);
  return out;
}

std::set<std::string> RealPaths(const std::vector<TrustedFile>& files) {
  std::set<std::string> out;
  for (const TrustedFile& f : files) out.insert(RealPath(f.path));
  return out;
}

std::map<std::string, TrustedFileRole> Roles(
    const std::vector<TrustedFile>& files) {
  std::map<std::string, TrustedFileRole> out;
  for (const TrustedFile& f : files) out[f.path] = f.role;
  return out;
}

void ExpectSameAsLdd(const std::string& binary) {
  auto files = CollectTrustedFiles(binary, {});
  ASSERT_THAT(files, IsOk()) << binary;
  std::set<std::string> expected = LddFiles(binary);
  expected.insert(RealPath(binary));  // ldd does not list the program itself
  EXPECT_EQ(RealPaths(*files), expected) << binary;
  EXPECT_EQ((*files)[0].path, binary);
  EXPECT_EQ((*files)[0].role, TrustedFileRole::kEntry);
}

TEST(LibrarySearchTest, SystemDirectoriesFollowLdSoConfThenDefaults) {
  auto dirs = SystemLibraryDirs();
  ASSERT_THAT(dirs, IsOk());
  std::vector<std::string> defaults = DefaultLibraryDirs();
  ASSERT_GE(dirs->size(), defaults.size());
  for (const std::string& d : defaults) {
    EXPECT_NE(std::find(dirs->begin(), dirs->end(), d), dirs->end()) << d;
  }
  std::set<std::string> unique(dirs->begin(), dirs->end());
  EXPECT_EQ(unique.size(), dirs->size());
}

TEST(LibrarySearchTest, ReadsIncludesRelativeToTheFile) {
  test::TempDir dir;
  ASSERT_EQ(::mkdir(dir.Join("conf.d").c_str(), 0700), 0);
  std::ofstream(dir.Join("ld.so.conf"))
      << "# comment\n/opt/first\ninclude conf.d/*.conf\nhwcap 1 nosegneg\n";
  std::ofstream(dir.Join("conf.d/b.conf")) << "/opt/b1,/opt/b2 /opt/first\n";
  std::ofstream(dir.Join("conf.d/a.conf"))
      << "/opt/a/  # /opt/commented\nrel/dir\n";
  auto dirs = SystemLibraryDirs(dir.Join("ld.so.conf"));
  ASSERT_THAT(dirs, IsOk());
  std::vector<std::string> expected = {"/opt/first", "/opt/a", "/opt/b1",
                                       "/opt/b2"};
  for (const std::string& d : DefaultLibraryDirs()) expected.push_back(d);
  EXPECT_EQ(*dirs, expected);
}

TEST(LibrarySearchTest, RefusesIncludeLoops) {
  test::TempDir dir;
  std::ofstream(dir.Join("ld.so.conf")) << "include ld.so.conf\n";
  EXPECT_THAT(SystemLibraryDirs(dir.Join("ld.so.conf")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("nested more than 8")));
}

TEST(LibrarySearchTest, BoundsHowManyFilesIncludesRead) {
  // Levels of includes that each include every file of the next level
  // grow exponentially without any loop; the bound on the files read in
  // all stops them. Here: one level of 300 files.
  test::TempDir dir;
  for (int i = 0; i < 300; ++i) {
    std::ofstream(dir.Join(absl::StrCat("c", i, ".conf"))) << "/opt/x\n";
  }
  std::ofstream(dir.Join("ld.so.conf")) << "include c*.conf\n";
  EXPECT_THAT(SystemLibraryDirs(dir.Join("ld.so.conf")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("more than 256 files included")));
}

TEST(LibrarySearchTest, LsAsLddSeesIt) { ExpectSameAsLdd("/bin/ls"); }

TEST(LibrarySearchTest, DemoSecretAsLddSeesIt) { ExpectSameAsLdd(DEMO_SECRET); }

TEST(LibrarySearchTest, OriginInRunpathAsLddSeesIt) {
  ExpectSameAsLdd(ORIGIN_RUNPATH);
  auto files = CollectTrustedFiles(ORIGIN_RUNPATH, {});
  ASSERT_THAT(files, IsOk());
  auto deps = ReadElfDependencies(
      std::string(SealedBytes::Map((*files)[0]).value().view()));
  ASSERT_THAT(deps, IsOk());
  EXPECT_EQ(deps->runpath, std::vector<std::string>{"$ORIGIN/probe_libs"});
  EXPECT_EQ(Roles(*files)[PROBE_LIB], TrustedFileRole::kLibrary);
}

TEST(LibrarySearchTest, OriginInRpathAsLddSeesIt) {
  ExpectSameAsLdd(ORIGIN_RPATH);
  auto files = CollectTrustedFiles(ORIGIN_RPATH, {});
  ASSERT_THAT(files, IsOk());
  auto deps = ReadElfDependencies(
      std::string(SealedBytes::Map((*files)[0]).value().view()));
  ASSERT_THAT(deps, IsOk());
  EXPECT_TRUE(deps->runpath.empty());
  EXPECT_EQ(deps->rpath, std::vector<std::string>{"$ORIGIN/probe_libs"});
  EXPECT_EQ(Roles(*files)[PROBE_LIB], TrustedFileRole::kLibrary);
}

TEST(LibrarySearchTest, ModulesAndTheirDependenciesAreTrusted) {
  auto files =
      CollectTrustedFiles("/bin/ls", {"/lib/x86_64-linux-gnu/libnss_dns.so.2"});
  ASSERT_THAT(files, IsOk());
  auto roles = Roles(*files);
  EXPECT_EQ(roles["/bin/ls"], TrustedFileRole::kEntry);
  EXPECT_EQ(roles["/lib64/ld-linux-x86-64.so.2"],
            TrustedFileRole::kInterpreter);
  EXPECT_EQ(roles["/lib/x86_64-linux-gnu/libnss_dns.so.2"],
            TrustedFileRole::kModule);
  EXPECT_EQ(roles["/lib/x86_64-linux-gnu/libc.so.6"],
            TrustedFileRole::kLibrary);
  // libc's DT_NEEDED ld-linux-x86-64.so.2 is the interpreter (by soname),
  // not a second copy found in the library directories.
  EXPECT_EQ(roles.count("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"), 0u);
  for (const TrustedFile& f : *files) {
    EXPECT_EQ(f.digest.size(), 32u);
    EXPECT_GT(f.size, 0u);
    EXPECT_TRUE(f.memfd.valid());
  }
}

void CopyFile(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  std::ofstream out(to, std::ios::binary | std::ios::trunc);
  out << in.rdbuf();
  out.close();
  ASSERT_TRUE(in.good() && out.good()) << from << " -> " << to;
  ASSERT_EQ(::chmod(to.c_str(), 0755), 0) << to;
}

TEST(LibrarySearchTest, WithTheElfCacheTheSearchFindsTheSameFiles) {
  ElfDependencyCache cache(1 << 20);
  LibrarySearchOptions options;
  options.elf_cache = &cache;
  auto first = CollectTrustedFiles("/bin/ls", {}, options);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(cache.size(), first->size());
  auto again = CollectTrustedFiles("/bin/ls", {}, options);
  ASSERT_THAT(again, IsOk());
  ASSERT_EQ(again->size(), first->size());
  for (size_t i = 0; i < first->size(); ++i) {
    EXPECT_EQ((*again)[i].path, (*first)[i].path);
    EXPECT_EQ((*again)[i].role, (*first)[i].role);
    EXPECT_EQ((*again)[i].digest, (*first)[i].digest);
  }
  EXPECT_EQ(cache.size(), first->size());
  EXPECT_EQ(RealPaths(*again), RealPaths(*CollectTrustedFiles("/bin/ls", {})));
}

// A hit is used as it is, and only for the same bytes: ls's entry, made to
// declare a library that does not exist, is followed for a copy of ls
// elsewhere; other bytes written at that copy's path are read afresh.
TEST(LibrarySearchTest, TheElfCacheKnowsAFileByItsBytesNotItsPath) {
  ElfDependencyCache cache(1 << 20);
  LibrarySearchOptions options;
  options.elf_cache = &cache;
  auto ls = CollectTrustedFiles("/bin/ls", {}, options);
  ASSERT_THAT(ls, IsOk());
  std::optional<ElfDependencies> declared = cache.Lookup((*ls)[0].digest);
  ASSERT_TRUE(declared.has_value());
  EXPECT_FALSE(declared->needed.empty());
  ElfDependencies lie = *declared;
  lie.needed = {"libtao-not-there.so.1"};
  cache.Insert((*ls)[0].digest, lie);

  test::TempDir dir;
  const std::string copy = dir.Join("program");
  CopyFile("/bin/ls", copy);
  EXPECT_THAT(CollectTrustedFiles(copy, {}, options),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("libtao-not-there.so.1")));
  CopyFile("/bin/cat", copy);
  auto cat = CollectTrustedFiles(copy, {}, options);
  ASSERT_THAT(cat, IsOk());
  EXPECT_NE((*cat)[0].digest, (*ls)[0].digest);
  EXPECT_EQ(RealPaths(*cat), RealPaths(*CollectTrustedFiles(copy, {})));
}

TEST(ElfDependencyCacheTest, HoldsAtMostItsBytes) {
  ElfDependencies deps;
  deps.needed = {"libc.so.6"};
  const size_t cost = ElfDependencyCache::EntryBytes(deps) + 1;  // digest "a"
  ElfDependencyCache cache(2 * cost);
  cache.Insert("a", deps);
  cache.Insert("b", deps);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.bytes(), 2 * cost);
  cache.Insert("b", deps);  // the same digest again: replaced, no room needed
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.bytes(), 2 * cost);
  cache.Insert("c", deps);  // full: emptied, then c
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.bytes(), cost);
  ASSERT_TRUE(cache.Lookup("c").has_value());
  EXPECT_EQ(cache.Lookup("c")->needed, deps.needed);
  EXPECT_FALSE(cache.Lookup("a").has_value());

  ElfDependencyCache off(0);
  off.Insert("a", deps);
  EXPECT_EQ(off.size(), 0u);
  EXPECT_FALSE(off.Lookup("a").has_value());
}

// A crafted file's declarations (1024 names of 4 KiB: what the ELF reader
// allows) are not kept, however large the budget.
TEST(ElfDependencyCacheTest, DoesNotKeepACraftedFilesHugeDeclarations) {
  ElfDependencies huge;
  huge.needed.assign(kMaxElfNeeded, std::string(kMaxElfString, 'x'));
  ASSERT_GT(ElfDependencyCache::EntryBytes(huge),
            ElfDependencyCache::kMaxEntryBytes);
  ElfDependencyCache cache(size_t{1} << 30);
  cache.Insert("a", huge);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
  EXPECT_FALSE(cache.Lookup("a").has_value());
}

TEST(LibrarySearchTest, SkipsLibrariesForAnotherClass) {
  // /lib32 holds 32-bit libraries of the same names: the loader skips
  // them, and so must the search.
  if (::access("/lib32/libc.so.6", R_OK) != 0) GTEST_SKIP() << "no /lib32";
  LibrarySearchOptions options;
  options.system_dirs = {"/lib32"};
  for (const std::string& d : DefaultLibraryDirs()) {
    options.system_dirs.push_back(d);
  }
  auto files = CollectTrustedFiles("/bin/ls", {}, options);
  ASSERT_THAT(files, IsOk());
  auto roles = Roles(*files);
  EXPECT_EQ(roles.count("/lib32/libc.so.6"), 0u);
  EXPECT_EQ(roles.count("/lib/x86_64-linux-gnu/libc.so.6"), 1u);
}

TEST(LibrarySearchTest, MissingLibraryNamesWhoNeedsItAndWhere) {
  LibrarySearchOptions options;
  options.system_dirs = {"/nonexistent"};
  EXPECT_THAT(CollectTrustedFiles("/bin/ls", {}, options),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("(needed by /bin/ls) is not in "
                                 "/nonexistent")));
}

TEST(LibrarySearchTest, RefusesWhatIsNotAnElfExecutable) {
  test::TempDir dir;
  std::string script = dir.Join("run.sh");
  std::ofstream(script) << "#!/bin/sh\necho hi\n";
  EXPECT_THAT(CollectTrustedFiles(script, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is not an ELF executable")));
  EXPECT_THAT(CollectTrustedFiles("/bin/ls", {script}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("MODULE " + script)));
  EXPECT_THAT(CollectTrustedFiles(dir.Join("absent"), {}),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(CollectTrustedFiles(dir.path(), {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a regular file")));
  if (::access("/lib32/libc.so.6", R_OK) == 0) {
    EXPECT_THAT(
        CollectTrustedFiles("/lib32/libc.so.6", {}),
        StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("32-bit")));
  }
}

TEST(LibrarySearchTest, BoundsTheNumberAndSizeOfFiles) {
  LibrarySearchOptions options;
  options.max_files = 2;
  EXPECT_THAT(CollectTrustedFiles("/bin/ls", {}, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("more than 2 trusted files")));
  options = LibrarySearchOptions();
  options.max_total_bytes = 200000;
  EXPECT_THAT(CollectTrustedFiles("/bin/ls", {}, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("add up to more than")));
  options = LibrarySearchOptions();
  options.max_file_bytes = 1000;
  EXPECT_THAT(CollectTrustedFiles("/bin/ls", {}, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("larger than the limit")));
}

TEST(LibrarySearchTest, JoinsPathsLexically) {
  EXPECT_EQ(JoinNormalPath("/a/b", "../c"), "/a/c");
  EXPECT_EQ(JoinNormalPath("/a//b/.", "c"), "/a/b/c");
  EXPECT_EQ(JoinNormalPath("/", "../../x"), "/x");
  EXPECT_EQ(JoinNormalPath("/a", "."), "/a");
}

}  // namespace
}  // namespace tao
