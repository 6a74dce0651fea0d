// LibrarySearchCache with real files: a replay gives exactly what a fresh
// search gives, and every change a witness covers (a library added earlier
// in the order, one replaced or removed, an ld.so.conf include added, a
// dangling link that starts to resolve, an evicted measurement) makes the
// next plan search again and find what the loader would find.
#include "program_factory/enclave/library_search_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "program_factory/enclave/library_search.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace tao {
namespace {

using ::tao::test::IsOk;

// Short enough for a test, long enough against the coarse clock that
// stamps mtime and ctime (a few ms).
constexpr absl::Duration kMinAge = absl::Milliseconds(60);

void CopyFile(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  std::ofstream out(to + ".new", std::ios::binary | std::ios::trunc);
  out << in.rdbuf();
  out.close();
  ASSERT_TRUE(in.good() && out.good()) << from << " -> " << to;
  ASSERT_EQ(::chmod((to + ".new").c_str(), 0755), 0);
  ASSERT_EQ(::rename((to + ".new").c_str(), to.c_str()), 0) << to;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

// What a search found, comparable: path, role and digest of each file, in
// the order found.
std::vector<std::string> Describe(const std::vector<TrustedFile>& files) {
  std::vector<std::string> out;
  for (const TrustedFile& f : files) {
    out.push_back(f.path + " " + std::string(TrustedFileRoleName(f.role)) +
                  " " + std::to_string(f.size) + " " +
                  std::to_string(std::hash<std::string>()(f.digest)));
  }
  return out;
}

// /bin/ls (libselinux.so.1, libc.so.6) planned through an ld.so.conf of
// the test's: it lists `early`, then `late`, then includes conf.d/*.conf.
// `late` holds a copy of libselinux.so.1; `early` starts empty.
class LibrarySearchCacheTest : public ::testing::Test {
 protected:
  LibrarySearchCacheTest()
      : measurements_(size_t{1} << 30, kMinAge), searches_(1 << 20) {
    early_ = dir_.Join("early");
    late_ = dir_.Join("late");
    conf_d_ = dir_.Join("conf.d");
    for (const std::string& d : {early_, late_, conf_d_}) {
      ::mkdir(d.c_str(), 0755);
    }
    CopyFile("/lib/x86_64-linux-gnu/libselinux.so.1",
             late_ + "/libselinux.so.1");
    WriteFile(dir_.Join("ld.so.conf"),
              early_ + "\n" + late_ + "\ninclude conf.d/*.conf\n");
    options_.ld_so_conf = dir_.Join("ld.so.conf");
    options_.cache = &measurements_;
    options_.search_cache = &searches_;
    Settle();
  }

  // Waits until everything made so far is older than the minimum age.
  void Settle() { absl::SleepFor(kMinAge + absl::Milliseconds(40)); }

  // A search with the caches, checked against one without any.
  std::vector<std::string> Plan() {
    auto cached = CollectTrustedFiles("/bin/ls", {}, options_);
    EXPECT_THAT(cached, IsOk());
    if (!cached.ok()) return {};
    LibrarySearchOptions fresh;
    fresh.ld_so_conf = options_.ld_so_conf;
    auto expected = CollectTrustedFiles("/bin/ls", {}, fresh);
    EXPECT_THAT(expected, IsOk());
    if (expected.ok()) {
      EXPECT_EQ(Describe(*cached), Describe(*expected));
    }
    for (const TrustedFile& f : *cached) EXPECT_TRUE(f.memfd.valid());
    return Describe(*cached);
  }

  std::string Found(const std::vector<std::string>& plan,
                    const std::string& name) {
    for (const std::string& line : plan) {
      std::string path = line.substr(0, line.find(' '));
      if (path.size() > name.size() &&
          path.compare(path.size() - name.size(), name.size(), name) == 0) {
        return path;
      }
    }
    return "";
  }

  test::TempDir dir_;
  std::string early_, late_, conf_d_;
  MeasurementCache measurements_;
  LibrarySearchCache searches_;
  LibrarySearchOptions options_;
};

TEST_F(LibrarySearchCacheTest, ReplaysAnUnchangedSearch) {
  std::vector<std::string> first = Plan();
  EXPECT_EQ(Found(first, "/libselinux.so.1"), late_ + "/libselinux.so.1");
  EXPECT_EQ(searches_.stats().entries, 1u);
  EXPECT_EQ(searches_.stats().hits, 0u);
  EXPECT_EQ(Plan(), first);
  EXPECT_EQ(Plan(), first);
  EXPECT_EQ(searches_.stats().hits, 2u);
}

TEST_F(LibrarySearchCacheTest, FindsALibraryAddedEarlierInTheOrder) {
  std::vector<std::string> first = Plan();
  CopyFile("/lib/x86_64-linux-gnu/libselinux.so.1",
           early_ + "/libselinux.so.1");
  std::vector<std::string> second = Plan();
  EXPECT_EQ(Found(second, "/libselinux.so.1"), early_ + "/libselinux.so.1");
  EXPECT_EQ(searches_.stats().hits, 0u);
  Settle();
  EXPECT_EQ(Plan(), second);  // searched and kept again
  EXPECT_EQ(Plan(), second);
  EXPECT_EQ(searches_.stats().hits, 1u);
}

TEST_F(LibrarySearchCacheTest, MeasuresAReplacedLibraryAgain) {
  std::vector<std::string> first = Plan();
  // Other bytes under the same name: libc's, which declares other needs.
  CopyFile("/lib/x86_64-linux-gnu/libc.so.6", late_ + "/libselinux.so.1");
  std::vector<std::string> second = Plan();
  EXPECT_NE(second, first);
  EXPECT_EQ(Found(second, "/libselinux.so.1"), late_ + "/libselinux.so.1");
  EXPECT_EQ(searches_.stats().hits, 0u);
}

TEST_F(LibrarySearchCacheTest, FallsBackWhenALibraryIsRemoved) {
  Plan();
  ASSERT_EQ(::unlink((late_ + "/libselinux.so.1").c_str()), 0);
  std::vector<std::string> second = Plan();
  EXPECT_EQ(Found(second, "/libselinux.so.1"),
            "/lib/x86_64-linux-gnu/libselinux.so.1");
  EXPECT_EQ(searches_.stats().hits, 0u);
}

TEST_F(LibrarySearchCacheTest, SeesAnIncludeAddedToLdSoConf) {
  Plan();
  const std::string extra = dir_.Join("extra");
  ::mkdir(extra.c_str(), 0755);
  CopyFile("/lib/x86_64-linux-gnu/libc.so.6", extra + "/libc.so.6");
  WriteFile(conf_d_ + "/extra.conf", extra + "\n");
  std::vector<std::string> second = Plan();
  EXPECT_EQ(Found(second, "/libc.so.6"), extra + "/libc.so.6");
  EXPECT_EQ(searches_.stats().hits, 0u);
}

TEST_F(LibrarySearchCacheTest, DoesNotKeepASearchThatMetADanglingLink) {
  const std::string target = dir_.Join("elsewhere.so");
  ASSERT_EQ(::symlink(target.c_str(), (early_ + "/libselinux.so.1").c_str()),
            0);
  Settle();
  std::vector<std::string> first = Plan();
  EXPECT_EQ(Found(first, "/libselinux.so.1"), late_ + "/libselinux.so.1");
  EXPECT_EQ(searches_.stats().entries, 0u);
  // The link starts to resolve; its directory does not change.
  CopyFile("/lib/x86_64-linux-gnu/libselinux.so.1", target);
  std::vector<std::string> second = Plan();
  EXPECT_EQ(Found(second, "/libselinux.so.1"), early_ + "/libselinux.so.1");
}

TEST_F(LibrarySearchCacheTest, DoesNotKeepWhatChangedJustBefore) {
  MeasurementCache strict(size_t{1} << 30);  // the default 2 s
  options_.cache = &strict;
  Plan();
  Plan();
  EXPECT_EQ(searches_.stats().entries, 0u);
  EXPECT_EQ(searches_.stats().hits, 0u);
}

TEST_F(LibrarySearchCacheTest, SearchesAgainWhenAMeasurementIsEvicted) {
  std::vector<std::string> first = Plan();
  ASSERT_EQ(searches_.stats().entries, 1u);
  // A measurement cache that holds nothing: the entry stays, but its files'
  // bytes are not there to replay.
  MeasurementCache empty(0, kMinAge);
  options_.cache = &empty;
  EXPECT_EQ(Plan(), first);
  EXPECT_EQ(searches_.stats().hits, 0u);
}

TEST_F(LibrarySearchCacheTest, HoldsAtMostItsBytes) {
  LibrarySearchCache tiny(512);
  options_.search_cache = &tiny;
  Plan();
  EXPECT_EQ(tiny.stats().entries, 0u);
  EXPECT_LE(tiny.stats().bytes, 512u);
  Plan();
  EXPECT_EQ(tiny.stats().hits, 0u);
}

}  // namespace
}  // namespace tao
