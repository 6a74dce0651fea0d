// The private root, built for real in a child's own mount namespace: it
// holds exactly the hashed bytes (also when the file on disk changed after
// measuring), it is read-only, its declared mounts behave as declared, and
// it refuses to be built in the host's mount namespace.
#include "program_factory/enclave/private_root.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "program_factory/enclave/prepared_root.h"
#include "tao/crypto.h"
#include "tao/status_macros.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::testing::HasSubstr;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteAll(const std::string& path, absl::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Runs `body` in a child in a new, private mount namespace; the child's
// failures come back as text through a pipe. Returns "" on success.
std::string InChild(const std::function<std::string()>& body,
                    bool new_namespace = true) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return "pipe";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    std::string error;
    if (new_namespace &&
        (::unshare(CLONE_NEWNS) != 0 ||
         ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)) {
      error = absl::StrCat("unshare: ", std::strerror(errno));
    } else {
      error = body();
    }
    if (::write(fds[1], error.data(), error.size()) < 0) _exit(3);
    _exit(error.empty() ? 0 : 1);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) out.append(buf, n);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status)) return "child died";
  if (WEXITSTATUS(status) != 0 && out.empty()) return "child failed";
  return out;
}

class PrivateRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    exec_ = dir_.Join("prog");
    WriteAll(exec_, ReadAll("/bin/ls"));
    ASSERT_EQ(::mkdir(dir_.Join("ro").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(dir_.Join("rw").c_str(), 0755), 0);
    WriteAll(dir_.Join("ro/data"), "read-only data");
    WriteAll(dir_.Join("one-file"), "a single file");
    ASSERT_EQ(::mkdir(dir_.Join("root").c_str(), 0755), 0);
  }

  absl::StatusOr<LaunchPlan> Plan(const std::string& more = "") {
    std::string text = absl::StrCat(
        "EXEC ", exec_, "\nMOUNT ", dir_.Join("ro"), " /data ro\nMOUNT ",
        dir_.Join("rw"), " /out rw\nMOUNT ", dir_.Join("one-file"),
        " /etc/one ro\nMOUNT tmpfs /scratch\nENCLAVE_SIZE 8\n", more);
    TAO_ASSIGN_OR_RETURN(EnclaveManifest m, ParseEnclaveManifest(text));
    return LaunchPlan::Compile(m);
  }

  test::TempDir dir_;
  std::string exec_;
};

TEST_F(PrivateRootTest, HoldsTheHashedBytesReadOnlyWithItsMounts) {
  auto plan = Plan();
  ASSERT_THAT(plan, IsOk());
  const std::string root = dir_.Join("root");
  auto layout = PrivateRootLayout::Create(*plan, root);
  ASSERT_THAT(layout, IsOk());
  // The program on disk changes after measuring: the root still gets the
  // measured bytes.
  WriteAll(exec_, "#!/bin/sh\necho replaced\n");
  std::string error = InChild([&]() -> std::string {
    RootFailure failure = layout->Apply();
    if (failure.step >= 0) return layout->Describe(failure);
    for (const TrustedFile& f : plan->files()) {
      std::string bytes = ReadAll(root + f.path);
      if (Sha256(bytes) != f.digest) return "wrong bytes at " + f.path;
      struct stat st;
      if (::stat((root + f.path).c_str(), &st) != 0 ||
          (st.st_mode & 07777) != 0555) {
        return "wrong mode at " + f.path;
      }
    }
    // The root is read-only: no new file, no change to a trusted one.
    if (::open((root + "/new").c_str(), O_WRONLY | O_CREAT, 0600) >= 0 ||
        errno != EROFS) {
      return "created a file in the root";
    }
    if (::open((root + exec_).c_str(), O_WRONLY) >= 0 || errno != EROFS) {
      return "opened the entry for writing";
    }
    if (::mkdir((root + "/tmp/x").c_str(), 0700) == 0 || errno != EROFS) {
      return "made a directory in the root";
    }
    if (ReadAll(root + "/data/data") != "read-only data") return "ro data";
    if (::open((root + "/data/new").c_str(), O_WRONLY | O_CREAT, 0600) >= 0 ||
        errno != EROFS) {
      return "wrote into the read-only mount";
    }
    if (ReadAll(root + "/etc/one") != "a single file") return "file mount";
    int fd = ::open((root + "/out/result").c_str(), O_WRONLY | O_CREAT, 0600);
    if (fd < 0) return absl::StrCat("rw mount: ", std::strerror(errno));
    ::close(fd);
    fd = ::open((root + "/scratch/tmp").c_str(), O_WRONLY | O_CREAT, 0600);
    if (fd < 0) return absl::StrCat("tmpfs: ", std::strerror(errno));
    ::close(fd);
    return "";
  });
  EXPECT_EQ(error, "");
  // What the enclave wrote to its rw mount is on the host; the root and its
  // tmpfs vanished with the child's namespace.
  EXPECT_EQ(::access(dir_.Join("rw/result").c_str(), F_OK), 0);
  EXPECT_EQ(::access(dir_.Join("root/new").c_str(), F_OK), -1);
  EXPECT_EQ(::access((dir_.Join("root") + exec_).c_str(), F_OK), -1);
}

// The mounts of /proc/self/mountinfo at `dir`.
int MountsAt(const std::string& dir) {
  std::istringstream lines(ReadAll("/proc/self/mountinfo"));
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    if (line.find(" " + dir + " ") != std::string::npos) ++n;
  }
  return n;
}

// What an enclave sees of its root, checked in its own namespace.
std::string CheckRoot(const LaunchPlan& plan, const std::string& root,
                      const std::string& exec) {
  for (const TrustedFile& f : plan.files()) {
    std::string bytes = ReadAll(root + f.path);
    if (Sha256(bytes) != f.digest) return "wrong bytes at " + f.path;
    struct stat st;
    if (::stat((root + f.path).c_str(), &st) != 0 ||
        (st.st_mode & 07777) != 0555) {
      return "wrong mode at " + f.path;
    }
  }
  if (::open((root + "/new").c_str(), O_WRONLY | O_CREAT, 0600) >= 0 ||
      errno != EROFS) {
    return "created a file in the root";
  }
  if (::open((root + exec).c_str(), O_WRONLY) >= 0 || errno != EROFS) {
    return "opened the entry for writing";
  }
  if (::mkdir((root + "/tmp/x").c_str(), 0700) == 0 || errno != EROFS) {
    return "made a directory in the root";
  }
  if (ReadAll(root + "/data/data") != "read-only data") return "ro data";
  if (ReadAll(root + "/etc/one") != "a single file") return "file mount";
  int fd = ::open((root + "/out/result").c_str(), O_WRONLY | O_CREAT, 0600);
  if (fd < 0) return absl::StrCat("rw mount: ", std::strerror(errno));
  ::close(fd);
  fd = ::open((root + "/scratch/tmp").c_str(), O_WRONLY | O_CREAT, 0600);
  if (fd < 0) return absl::StrCat("tmpfs: ", std::strerror(errno));
  ::close(fd);
  // A read-only bind cannot be made writable again.
  if (::mount(nullptr, root.c_str(), nullptr, MS_REMOUNT | MS_BIND, nullptr) ==
          0 &&
      ::open((root + "/new").c_str(), O_WRONLY | O_CREAT, 0600) >= 0) {
    return "the root became writable";
  }
  return "";
}

TEST_F(PrivateRootTest, APreparedRootHoldsTheHashedBytesAndIsBoundReadOnly) {
  auto plan = Plan();
  ASSERT_THAT(plan, IsOk());
  const std::string run = dir_.Join("run");
  ASSERT_EQ(::mkdir(run.c_str(), 0755), 0);
  PreparedRootCache cache(run, 2, uint64_t{1} << 30, 65534, 65534);
  auto prepared = cache.Get(*plan, {});
  ASSERT_THAT(prepared, IsOk());
  const std::string pdir = (*prepared)->dir();
  EXPECT_EQ(MountsAt(pdir), 1);
  // Only the enclaves' outside uid walks in (the bytes may be root's own).
  struct stat top;
  ASSERT_EQ(::stat(pdir.c_str(), &top), 0);
  EXPECT_EQ(top.st_mode & 07777, 0700u);
  EXPECT_EQ(top.st_uid, 65534u);
  // Changed on disk after measuring: nothing changes in the root.
  WriteAll(exec_, "#!/bin/sh\necho replaced\n");
  EXPECT_EQ(Sha256(ReadAll(pdir + exec_)), plan->Find(exec_)->digest);
  // Not even the host writes it: its superblock is read-only.
  EXPECT_EQ(::open((pdir + exec_).c_str(), O_WRONLY), -1);
  EXPECT_EQ(errno, EROFS);
  EXPECT_EQ(::open((pdir + "/new").c_str(), O_WRONLY | O_CREAT, 0600), -1);
  EXPECT_EQ(errno, EROFS);

  const std::string root = dir_.Join("root");
  auto layout = PrivateRootLayout::CreateOver(*plan, root, pdir);
  ASSERT_THAT(layout, IsOk());
  std::string error = InChild([&]() -> std::string {
    RootFailure failure = layout->Apply();
    if (failure.step >= 0) return layout->Describe(failure);
    return CheckRoot(*plan, root, exec_);
  });
  EXPECT_EQ(error, "");
  EXPECT_EQ(::access(dir_.Join("rw/result").c_str(), F_OK), 0);
  // The enclave's mounts stayed in its namespace: nothing of them on the
  // prepared root or at the mount point.
  EXPECT_EQ(MountsAt(pdir), 1);
  EXPECT_EQ(MountsAt(root), 0);
  EXPECT_EQ(::access((pdir + "/out/result").c_str(), F_OK), -1);
  EXPECT_EQ(::access((pdir + "/scratch/tmp").c_str(), F_OK), -1);
}

TEST_F(PrivateRootTest, AnOverLayoutRefusesTheHostsNamespace) {
  auto plan = Plan();
  ASSERT_THAT(plan, IsOk());
  const std::string run = dir_.Join("run");
  ASSERT_EQ(::mkdir(run.c_str(), 0755), 0);
  PreparedRootCache cache(run, 1, uint64_t{1} << 30, 65534, 65534);
  auto prepared = cache.Get(*plan, {});
  ASSERT_THAT(prepared, IsOk());
  auto layout = PrivateRootLayout::CreateOver(*plan, dir_.Join("root"),
                                              (*prepared)->dir());
  ASSERT_THAT(layout, IsOk());
  std::string error = InChild(
      [&]() -> std::string {
        RootFailure failure = layout->Apply();
        return failure.step < 0 ? "" : layout->Describe(failure);
      },
      /*new_namespace=*/false);
  EXPECT_THAT(error, HasSubstr("refused to build the private root in the "
                               "host's own mount namespace"));
  EXPECT_EQ(MountsAt(dir_.Join("root")), 0);
}

TEST_F(PrivateRootTest, TheCacheIsBoundedAndLeavesNothing) {
  const std::string run = dir_.Join("run");
  ASSERT_EQ(::mkdir(run.c_str(), 0755), 0);
  auto a = Plan();
  auto b = Plan("THREADS 3\n");
  auto c = Plan("THREADS 5\n");
  auto a_again = Plan();  // measured again: the same content
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT(a_again, IsOk());
  auto cache = std::make_unique<PreparedRootCache>(run, 2, uint64_t{1} << 30,
                                                   65534, 65534);
  auto ra = cache->Get(*a, {});
  ASSERT_THAT(ra, IsOk());
  auto ra2 = cache->Get(*a_again, {});
  ASSERT_THAT(ra2, IsOk());
  EXPECT_EQ(ra->get(), ra2->get());
  EXPECT_EQ(cache->size(), 1u);
  EXPECT_EQ(cache->bytes(), (*ra)->bytes());
  // Another mount point (a file, not a directory) is another root.
  auto rx = cache->Get(*a, {EnclaveMount{EnclaveMount::Kind::kBindReadOnly,
                                         dir_.Join("one-file"), "/x"}});
  ASSERT_THAT(rx, IsOk());
  EXPECT_NE(rx->get(), ra->get());
  EXPECT_EQ(cache->size(), 2u);
  const std::string adir = (*ra)->dir(), xdir = (*rx)->dir();
  ra->reset();
  ra2->reset();
  rx->reset();
  auto rb = cache->Get(*b, {});
  ASSERT_THAT(rb, IsOk());
  // Two at most: the least recently used (a) went, unmounted and removed.
  EXPECT_EQ(cache->size(), 2u);
  EXPECT_EQ(MountsAt(adir), 0);
  EXPECT_EQ(::access(adir.c_str(), F_OK), -1);
  EXPECT_EQ(MountsAt(xdir), 1);
  // One still held when dropped stays until let go.
  auto rc = cache->Get(*c, {});
  ASSERT_THAT(rc, IsOk());
  EXPECT_EQ(MountsAt(xdir), 0);
  auto rb_again = cache->Get(*b, {});  // b is now the most recent
  ASSERT_THAT(rb_again, IsOk());
  EXPECT_EQ(rb_again->get(), rb->get());
  const std::string bdir = (*rb)->dir(), cdir = (*rc)->dir();
  cache->Clear();
  EXPECT_EQ(cache->size(), 0u);
  EXPECT_EQ(cache->bytes(), 0u);
  EXPECT_EQ(MountsAt(bdir), 1);  // held here
  rb->reset();
  rb_again->reset();
  rc->reset();
  EXPECT_EQ(MountsAt(bdir), 0);
  EXPECT_EQ(MountsAt(cdir), 0);
  // Cleared: a root for one start, kept by nobody.
  auto once = cache->Get(*a, {});
  ASSERT_THAT(once, IsOk());
  EXPECT_EQ(cache->size(), 0u);
  const std::string odir = (*once)->dir();
  EXPECT_EQ(MountsAt(odir), 1);
  once->reset();
  EXPECT_EQ(MountsAt(odir), 0);
  cache.reset();
  EXPECT_EQ(::rmdir(run.c_str()), 0) << "the run directory is not empty";
}

TEST_F(PrivateRootTest, RefusesTheHostsMountNamespace) {
  auto plan = Plan();
  ASSERT_THAT(plan, IsOk());
  auto layout = PrivateRootLayout::Create(*plan, dir_.Join("root"));
  ASSERT_THAT(layout, IsOk());
  std::string error = InChild(
      [&]() -> std::string {
        RootFailure failure = layout->Apply();
        return failure.step < 0 ? "" : layout->Describe(failure);
      },
      /*new_namespace=*/false);
  EXPECT_THAT(error, HasSubstr("refused to build the private root in the "
                               "host's own mount namespace"));
  EXPECT_EQ(::access((dir_.Join("root") + exec_).c_str(), F_OK), -1);
}

TEST_F(PrivateRootTest, FailsClosedWhenAMountSourceVanishes) {
  auto plan = Plan();
  ASSERT_THAT(plan, IsOk());
  auto layout = PrivateRootLayout::Create(*plan, dir_.Join("root"));
  ASSERT_THAT(layout, IsOk());
  ASSERT_EQ(::rename(dir_.Join("rw").c_str(), dir_.Join("gone").c_str()), 0);
  std::string error = InChild([&]() -> std::string {
    RootFailure failure = layout->Apply();
    return failure.step < 0 ? "" : layout->Describe(failure);
  });
  EXPECT_THAT(error, HasSubstr("bind mount " + dir_.Join("rw") + " at"));
  EXPECT_THAT(error, HasSubstr("No such file or directory"));
}

TEST_F(PrivateRootTest, RefusesARootThatIsNotANormalPath) {
  auto plan = Plan();
  ASSERT_THAT(plan, IsOk());
  EXPECT_FALSE(PrivateRootLayout::Create(*plan, "/").ok());
  EXPECT_FALSE(PrivateRootLayout::Create(*plan, "relative").ok());
  EXPECT_FALSE(PrivateRootLayout::Create(*plan, dir_.path() + "/../x").ok());
}

}  // namespace
}  // namespace tao
