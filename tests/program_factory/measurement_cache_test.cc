// MeasurementCache and MeasureExecutable/ProcessFactory through it: a hit
// runs the cached sealed bytes, a changed file is measured again, a file that
// changed too recently (the racy-timestamp rule) is never cached, the budget
// bounds it (LRU) and 0 turns it off, and several threads may use it at once.
#include "program_factory/measurement_cache.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "program_factory/process_factory.h"
#include "tao/crypto.h"
#include "tao/file_util.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::testing::HasSubstr;

constexpr absl::Duration kShortMinAge = absl::Milliseconds(20);

std::string ReadAll(const std::string& path) {
  auto bytes = ReadFileToString(path, 256 << 20);
  EXPECT_THAT(bytes, IsOk());
  return bytes.value_or("");
}

// Writes `bytes` to `path` in place (same inode when it exists).
void Overwrite(const std::string& path, const std::string& bytes) {
  UniqueFd f(
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755));
  ASSERT_TRUE(f.valid());
  ASSERT_EQ(::write(f.get(), bytes.data(), bytes.size()),
            static_cast<ssize_t>(bytes.size()));
}

// ctime cannot be set into the past (futimens sets mtime and atime, and
// stamps ctime with now), so a file becomes cacheable only by waiting out the
// cache's min_age. Sets mtime into the past too, then waits `age` plus a
// margin for the coarse clock the kernel stamps ctime with.
void AgeFile(const std::string& path, absl::Duration age) {
  UniqueFd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(f.valid());
  struct timespec times[2];
  ::clock_gettime(CLOCK_REALTIME, &times[0]);
  times[0].tv_sec -= 3600;
  times[1] = times[0];
  ASSERT_EQ(::futimens(f.get(), times), 0);
  absl::SleepFor(age + absl::Milliseconds(30));
}

// Waits until `path` is old enough for the default min_age (a freshly built
// probe-child may have been linked just before the test started).
void WaitUntilSettled(const std::string& path) {
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  absl::Time changed = std::max(absl::TimeFromTimespec(st.st_ctim),
                                absl::TimeFromTimespec(st.st_mtim));
  absl::Time ready =
      changed + MeasurementCache::kDefaultMinAge + absl::Milliseconds(50);
  absl::Time now = absl::Now();
  if (ready > now) absl::SleepFor(ready - now);
}

ino_t InodeOf(int fd) {
  struct stat st;
  EXPECT_EQ(::fstat(fd, &st), 0);
  return st.st_ino;
}

// A sealed memfd holding `bytes`.
UniqueFd SealedMemfd(const std::string& bytes) {
  UniqueFd fd(::memfd_create("test", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  EXPECT_TRUE(fd.valid());
  EXPECT_EQ(::write(fd.get(), bytes.data(), bytes.size()),
            static_cast<ssize_t>(bytes.size()));
  EXPECT_EQ(::fcntl(fd.get(), F_ADD_SEALS,
                    F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL),
            0);
  return fd;
}

std::shared_ptr<const MeasuredExecutable> Entry(const std::string& bytes) {
  auto entry = std::make_shared<MeasuredExecutable>();
  entry->memfd = SealedMemfd(bytes);
  entry->digest = Sha256(bytes);
  entry->size = bytes.size();
  return entry;
}

FileIdentity Id(ino_t ino, time_t changed_sec) {
  FileIdentity id;
  id.dev = 1;
  id.ino = ino;
  id.size = 100;
  id.mtime = {changed_sec, 0};
  id.ctime = {changed_sec, 0};
  return id;
}

// ---- MeasurementCache alone -------------------------------------------------

TEST(MeasurementCacheTest, OnlyFilesOlderThanMinAgeAreSettled) {
  MeasurementCache cache(1 << 20, absl::Seconds(2));
  const struct timespec start = {1000, 500};
  FileIdentity id = Id(1, 997);
  EXPECT_TRUE(cache.Settled(id, start));
  id.ctime = {998, 500};  // exactly min_age before: may share a tick
  EXPECT_FALSE(cache.Settled(id, start));
  id.ctime = {998, 499};
  EXPECT_TRUE(cache.Settled(id, start));
  id.mtime = {999, 0};  // a recent mtime alone also keeps it out
  EXPECT_FALSE(cache.Settled(id, start));
  id.mtime = {997, 0};
  id.ctime = {1000, 600};  // changed after the measurement started
  EXPECT_FALSE(cache.Settled(id, start));
  // A racy file is refused by Insert too.
  EXPECT_FALSE(cache.Insert(Id(2, 999), start, Entry(std::string(100, 'a'))));
  EXPECT_EQ(cache.Lookup(Id(2, 999)), nullptr);
  EXPECT_EQ(cache.stats().entries, 0u);
}

TEST(MeasurementCacheTest, LookupFindsTheExactIdentityOnly) {
  MeasurementCache cache(1 << 20, absl::Seconds(2));
  const struct timespec start = {1000, 0};
  auto entry = Entry(std::string(100, 'a'));
  ASSERT_TRUE(cache.Insert(Id(1, 900), start, entry));
  EXPECT_EQ(cache.Lookup(Id(1, 900)), entry);
  for (int field = 0; field < 6; ++field) {
    FileIdentity other = Id(1, 900);
    switch (field) {
      case 0:
        other.dev = 2;
        break;
      case 1:
        other.ino = 2;
        break;
      case 2:
        other.size = 101;
        break;
      case 3:
        other.mtime.tv_nsec = 1;
        break;
      case 4:
        other.ctime.tv_nsec = 1;
        break;
      case 5:
        other.ctime.tv_sec = 901;
        break;
    }
    EXPECT_EQ(cache.Lookup(other), nullptr) << field;
  }
  // A second measurement of the same file does not replace the first.
  EXPECT_FALSE(cache.Insert(Id(1, 900), start, Entry(std::string(100, 'b'))));
  EXPECT_EQ(cache.Lookup(Id(1, 900)), entry);
  MeasurementCache::Stats stats = cache.stats();
  EXPECT_EQ(stats.hits, 2u);
  EXPECT_EQ(stats.misses, 6u);
  EXPECT_EQ(stats.entries, 1u);
  EXPECT_EQ(stats.bytes, 100u);
}

TEST(MeasurementCacheTest, EvictsTheLeastRecentlyUsedToStayInTheBudget) {
  MeasurementCache cache(250, absl::Seconds(2));
  const struct timespec start = {1000, 0};
  auto a = Entry(std::string(100, 'a'));
  ASSERT_TRUE(cache.Insert(Id(1, 900), start, a));
  ASSERT_TRUE(cache.Insert(Id(2, 900), start, Entry(std::string(100, 'b'))));
  ASSERT_NE(cache.Lookup(Id(1, 900)), nullptr);  // a is now the most recent
  ASSERT_TRUE(cache.Insert(Id(3, 900), start, Entry(std::string(100, 'c'))));
  EXPECT_NE(cache.Lookup(Id(1, 900)), nullptr);
  EXPECT_EQ(cache.Lookup(Id(2, 900)), nullptr);  // evicted
  EXPECT_NE(cache.Lookup(Id(3, 900)), nullptr);
  MeasurementCache::Stats stats = cache.stats();
  EXPECT_EQ(stats.entries, 2u);
  EXPECT_EQ(stats.bytes, 200u);
  EXPECT_EQ(stats.evictions, 1u);
  // Larger than the whole budget: never kept, and evicts nothing.
  EXPECT_FALSE(cache.Insert(Id(4, 900), start, Entry(std::string(251, 'd'))));
  EXPECT_EQ(cache.stats().entries, 2u);
  // An evicted entry stays valid for whoever still holds it.
  ASSERT_TRUE(cache.Insert(Id(5, 900), start, Entry(std::string(200, 'e'))));
  EXPECT_EQ(cache.Lookup(Id(1, 900)), nullptr);
  EXPECT_EQ(::fcntl(a->memfd.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  EXPECT_EQ(cache.stats().entries, 1u);
}

TEST(MeasurementCacheTest, AZeroBudgetKeepsNothing) {
  MeasurementCache cache(0, absl::Seconds(2));
  EXPECT_FALSE(cache.Insert(Id(1, 900), {1000, 0}, Entry("x")));
  EXPECT_EQ(cache.Lookup(Id(1, 900)), nullptr);
  EXPECT_EQ(cache.stats().entries, 0u);
}

// ---- MeasureExecutable through the cache ------------------------------------

TEST(MeasureExecutableCacheTest, AHitReturnsTheSameSealedMemfdAndDigest) {
  test::TempDir dir;
  std::string path = dir.Join("program");
  std::string bytes = ReadAll(PROBE_CHILD);
  Overwrite(path, bytes);
  AgeFile(path, kShortMinAge);
  MeasurementCache cache(64 << 20, kShortMinAge);
  auto first = MeasureExecutable(path, 1 << 30, &cache);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(cache.stats().entries, 1u);
  auto second = MeasureExecutable(path, 1 << 30, &cache);
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(cache.stats().hits, 1u);
  EXPECT_EQ(second->digest, Sha256(bytes));
  EXPECT_EQ(second->digest, first->digest);
  EXPECT_EQ(second->size, bytes.size());
  // The same memfd (one inode), through a descriptor of its own.
  EXPECT_NE(second->memfd.get(), first->memfd.get());
  EXPECT_EQ(InodeOf(second->memfd.get()), InodeOf(first->memfd.get()));
  EXPECT_EQ(::fcntl(second->memfd.get(), F_GET_SEALS) & F_SEAL_WRITE,
            F_SEAL_WRITE);
  EXPECT_EQ(::fcntl(second->memfd.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  // Without the cache: the same digest, another copy.
  auto uncached = MeasureExecutable(path, 1 << 30);
  ASSERT_THAT(uncached, IsOk());
  EXPECT_EQ(uncached->digest, first->digest);
  EXPECT_NE(InodeOf(uncached->memfd.get()), InodeOf(first->memfd.get()));
}

// What a hit returns comes from the cache, never from the file: if the file
// differed without its stat showing it, the cached (measured) bytes are what
// is named and what runs. Simulated by caching other bytes under the file's
// identity.
TEST(MeasureExecutableCacheTest, AHitNamesAndHoldsTheCachedBytesNotTheFile) {
  test::TempDir dir;
  std::string path = dir.Join("program");
  Overwrite(path, ReadAll(PROBE_CHILD));
  AgeFile(path, kShortMinAge);
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  std::string other = ReadAll(PROBE_CHILD_OTHER);
  MeasurementCache cache(64 << 20, kShortMinAge);
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  ASSERT_TRUE(cache.Insert(FileIdentity::FromStat(st), now, Entry(other)));
  auto measured = MeasureExecutable(path, 1 << 30, &cache);
  ASSERT_THAT(measured, IsOk());
  EXPECT_EQ(measured->digest, Sha256(other));
  std::string copy(measured->size, '\0');
  ASSERT_EQ(::pread(measured->memfd.get(), copy.data(), copy.size(), 0),
            static_cast<ssize_t>(copy.size()));
  EXPECT_TRUE(copy == other);
}

TEST(MeasureExecutableCacheTest, ARewrittenFileIsMeasuredAgain) {
  test::TempDir dir;
  std::string path = dir.Join("program");
  Overwrite(path, ReadAll(PROBE_CHILD));
  AgeFile(path, kShortMinAge);
  MeasurementCache cache(64 << 20, kShortMinAge);
  auto first = MeasureExecutable(path, 1 << 30, &cache);
  ASSERT_THAT(first, IsOk());
  ASSERT_EQ(cache.stats().entries, 1u);
  // In place: same inode; its ctime (and mtime) change.
  std::string other = ReadAll(PROBE_CHILD_OTHER);
  Overwrite(path, other);
  auto second = MeasureExecutable(path, 1 << 30, &cache);
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(cache.stats().hits, 0u);
  EXPECT_EQ(second->digest, Sha256(other));
  EXPECT_NE(second->digest, first->digest);
  EXPECT_NE(InodeOf(second->memfd.get()), InodeOf(first->memfd.get()));
  // Even with mtime put back where it was, ctime still differs.
  UniqueFd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct timespec times[2] = {{0, UTIME_OMIT}, {0, 0}};
  struct stat st;
  ASSERT_EQ(::fstat(f.get(), &st), 0);
  times[1] = st.st_mtim;
  times[1].tv_sec -= 7200;
  ASSERT_EQ(::futimens(f.get(), times), 0);
  auto third = MeasureExecutable(path, 1 << 30, &cache);
  ASSERT_THAT(third, IsOk());
  EXPECT_EQ(third->digest, Sha256(other));
  EXPECT_EQ(cache.stats().hits, 0u);
}

// The racy-timestamp rule: a file that changed within min_age of the
// measurement is measured every time, never cached.
TEST(MeasureExecutableCacheTest, AFileChangedRecentlyIsMeasuredEveryTime) {
  test::TempDir dir;
  std::string path = dir.Join("program");
  std::string bytes = ReadAll(PROBE_CHILD);
  Overwrite(path, bytes);
  MeasurementCache cache(64 << 20);  // the default min_age of 2 s
  for (int i = 0; i < 3; ++i) {
    auto measured = MeasureExecutable(path, 1 << 30, &cache);
    ASSERT_THAT(measured, IsOk());
    EXPECT_EQ(measured->digest, Sha256(bytes));
  }
  MeasurementCache::Stats stats = cache.stats();
  EXPECT_EQ(stats.entries, 0u);
  EXPECT_EQ(stats.hits, 0u);
  EXPECT_EQ(stats.misses, 3u);
  // An mtime set far into the past does not make it settled: ctime is now.
  UniqueFd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct timespec past[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(::futimens(f.get(), past), 0);
  ASSERT_THAT(MeasureExecutable(path, 1 << 30, &cache), IsOk());
  EXPECT_EQ(cache.stats().entries, 0u);
}

TEST(MeasureExecutableCacheTest, ErrorsAreTheSameWithTheCache) {
  test::TempDir dir;
  MeasurementCache cache(64 << 20, kShortMinAge);
  EXPECT_THAT(MeasureExecutable(dir.Join("missing"), 1 << 20, &cache),
              test::StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(MeasureExecutable(dir.path(), 1 << 20, &cache),
              test::StatusIs(absl::StatusCode::kInvalidArgument));
  std::string path = dir.Join("program");
  Overwrite(path, ReadAll(PROBE_CHILD));
  AgeFile(path, kShortMinAge);
  ASSERT_THAT(MeasureExecutable(path, 1 << 30, &cache), IsOk());
  // A cached program is still checked against the caller's size limit.
  EXPECT_THAT(
      MeasureExecutable(path, 100, &cache),
      test::StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit")));
}

// ---- ProcessFactory ---------------------------------------------------------

std::string RunToOutput(HostedProgram& program) {
  int a[2], b[2];
  EXPECT_EQ(::pipe2(a, O_CLOEXEC), 0);
  EXPECT_EQ(::pipe2(b, O_CLOEXEC), 0);
  UniqueFd to_child(a[1]), from_child(b[0]);
  ChildEndpoint endpoint;
  endpoint.fds.push_back({UniqueFd(a[0]), 3});
  endpoint.fds.push_back({UniqueFd(b[1]), 4});
  endpoint.channel_env = "pipe:3,4";
  EXPECT_THAT(program.Start(std::move(endpoint)), IsOk());
  UniqueFd output = program.TakeOutput();
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (output.valid() && std::chrono::steady_clock::now() < deadline) {
    struct pollfd p = {output.get(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(output.get(), buf, sizeof(buf));
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EAGAIN) {
      output.Reset();
    }
  }
  struct pollfd p = {program.exit_fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 10000), 1);
  EXPECT_THAT(program.Reap(), IsOk());
  return out;
}

TEST(ProcessFactoryCacheTest, ASecondStartIsAHitAndRunsTheCachedProgram) {
  WaitUntilSettled(PROBE_CHILD);
  ProcessFactoryOptions options;
  options.measurement_cache_bytes = kRecommendedMeasurementCacheBytes;
  ProcessFactory factory(options);
  ASSERT_NE(factory.measurement_cache(), nullptr);
  EXPECT_EQ(factory.measurement_cache()->byte_budget(), size_t{256} << 20);
  ProcessSpec spec;
  spec.path = PROBE_CHILD;
  spec.args = {"marker"};
  auto first = factory.NewHostedProgram(spec);
  ASSERT_THAT(first, IsOk());
  auto second = factory.NewHostedProgram(spec);
  ASSERT_THAT(second, IsOk());
  MeasurementCache::Stats stats = factory.measurement_cache()->stats();
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ((*second)->identity().measurement, Sha256(ReadAll(PROBE_CHILD)));
  EXPECT_EQ((*second)->identity().measurement,
            (*first)->identity().measurement);
  EXPECT_THAT(RunToOutput(**second), HasSubstr("probe: probe-child\n"));
  EXPECT_THAT(RunToOutput(**first), HasSubstr("probe: probe-child\n"));
}

TEST(ProcessFactoryCacheTest, AZeroBudgetDisablesTheCache) {
  WaitUntilSettled(PROBE_CHILD);
  EXPECT_EQ(ProcessFactory().measurement_cache(), nullptr);  // the default
  ProcessFactoryOptions options;
  options.measurement_cache_bytes = 0;
  ProcessFactory factory(options);
  EXPECT_EQ(factory.measurement_cache(), nullptr);
  ProcessSpec spec;
  spec.path = PROBE_CHILD;
  spec.args = {"marker"};
  for (int i = 0; i < 2; ++i) {
    auto program = factory.NewHostedProgram(spec);
    ASSERT_THAT(program, IsOk());
    EXPECT_EQ((*program)->identity().measurement, Sha256(ReadAll(PROBE_CHILD)));
    EXPECT_THAT(RunToOutput(**program), HasSubstr("probe: probe-child\n"));
  }
}

TEST(ProcessFactoryCacheTest, ABudgetSmallerThanTheProgramKeepsNothing) {
  WaitUntilSettled(PROBE_CHILD);
  ProcessFactoryOptions options;
  options.measurement_cache_bytes = 1000;
  ProcessFactory factory(options);
  ProcessSpec spec;
  spec.path = PROBE_CHILD;
  ASSERT_THAT(factory.NewHostedProgram(spec), IsOk());
  ASSERT_THAT(factory.NewHostedProgram(spec), IsOk());
  EXPECT_EQ(factory.measurement_cache()->stats().entries, 0u);
  EXPECT_EQ(factory.measurement_cache()->stats().hits, 0u);
}

TEST(ProcessFactoryCacheTest, TwoProgramsInABudgetForOneEvictTheOlder) {
  WaitUntilSettled(PROBE_CHILD);
  WaitUntilSettled(PROBE_CHILD_OTHER);
  struct stat a, b;
  ASSERT_EQ(::stat(PROBE_CHILD, &a), 0);
  ASSERT_EQ(::stat(PROBE_CHILD_OTHER, &b), 0);
  ProcessFactoryOptions options;
  options.measurement_cache_bytes =
      static_cast<size_t>(std::max(a.st_size, b.st_size)) + 1;
  ProcessFactory factory(options);
  ProcessSpec spec;
  spec.path = PROBE_CHILD;
  ASSERT_THAT(factory.NewHostedProgram(spec), IsOk());
  spec.path = PROBE_CHILD_OTHER;
  ASSERT_THAT(factory.NewHostedProgram(spec), IsOk());
  MeasurementCache::Stats stats = factory.measurement_cache()->stats();
  EXPECT_EQ(stats.entries, 1u);
  EXPECT_EQ(stats.evictions, 1u);
  ASSERT_THAT(factory.NewHostedProgram(spec), IsOk());  // the other: a hit
  EXPECT_EQ(factory.measurement_cache()->stats().hits, 1u);
  spec.path = PROBE_CHILD;
  auto again = factory.NewHostedProgram(spec);  // evicted: measured again
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(factory.measurement_cache()->stats().hits, 1u);
  EXPECT_THAT(RunToOutput(**again), HasSubstr("probe: probe-child\n"));
}

TEST(ProcessFactoryCacheTest, ConcurrentStartsShareTheCache) {
  WaitUntilSettled(PROBE_CHILD);
  WaitUntilSettled(PROBE_CHILD_OTHER);
  const std::string child_digest = Sha256(ReadAll(PROBE_CHILD));
  const std::string other_digest = Sha256(ReadAll(PROBE_CHILD_OTHER));
  ProcessFactoryOptions options;
  options.measurement_cache_bytes = kRecommendedMeasurementCacheBytes;
  ProcessFactory factory(options);
  constexpr int kThreads = 4;
  constexpr int kEach = 25;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  std::vector<std::unique_ptr<HostedProgram>> last(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        ProcessSpec spec;
        bool other = (i + t) % 2 == 1;
        spec.path = other ? PROBE_CHILD_OTHER : PROBE_CHILD;
        spec.args = {"marker"};
        auto program = factory.NewHostedProgram(spec);
        if (!program.ok() || (*program)->identity().measurement !=
                                 (other ? other_digest : child_digest)) {
          ++failures[t];
          continue;
        }
        last[t] = *std::move(program);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << t;
  MeasurementCache::Stats stats = factory.measurement_cache()->stats();
  EXPECT_EQ(stats.hits + stats.misses, uint64_t{kThreads * kEach});
  EXPECT_EQ(stats.entries, 2u);
  EXPECT_GE(stats.hits, uint64_t{kThreads * kEach - 2 * kThreads});
  for (auto& program : last) {
    ASSERT_NE(program, nullptr);
    EXPECT_THAT(RunToOutput(*program), HasSubstr("probe: "));
  }
}

}  // namespace
}  // namespace tao
