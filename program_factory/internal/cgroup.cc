#include "program_factory/internal/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tao {
namespace internal {
namespace {

bool IsCgroup2(const std::string& path) {
  struct statfs fs;
  return ::statfs(path.c_str(), &fs) == 0 &&
         static_cast<unsigned long>(fs.f_type) == CGROUP2_SUPER_MAGIC;
}

absl::Status WriteControl(const std::string& path, absl::string_view value) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid())
    return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  ssize_t n;
  do {
    n = ::write(fd.get(), value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return absl::ErrnoToStatus(errno, absl::StrCat("write ", path));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ReadSmallFile(const std::string& path,
                                          size_t max_size) {
  UniqueFd fd(
      ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd.valid())
    return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  std::string out;
  char buf[4096];
  while (out.size() < max_size) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::ErrnoToStatus(errno, absl::StrCat("read ", path));
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

namespace {

std::string ReadControl(const std::string& path) {
  return ReadSmallFile(path, 1 << 20).value_or("");
}

// The value of `key` in a "key value" per line file, or -1.
long KeyValue(const std::string& text, absl::string_view key) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::ConsumePrefix(&line, key) && absl::ConsumePrefix(&line, " ")) {
      long v = -1;
      if (absl::SimpleAtoi(line, &v)) return v;
    }
  }
  return -1;
}

// Kills a cgroup's processes, child cgroups first, and removes them all.
void KillAndRemoveTree(const std::string& path) {
  if (DIR* dir = ::opendir(path.c_str())) {
    std::vector<std::string> children;
    while (struct dirent* e = ::readdir(dir)) {
      if (e->d_type == DT_DIR && e->d_name[0] != '.') {
        children.push_back(absl::StrCat(path, "/", e->d_name));
      }
    }
    ::closedir(dir);
    for (const std::string& child : children) KillAndRemoveTree(child);
  }
  ProgramCgroup cgroup(path, "", UniqueFd());
  // The destructor kills, waits and removes.
}

}  // namespace

absl::StatusOr<std::string> FindCgroup2Root(const std::string& configured) {
  if (configured == "none") {
    return absl::NotFoundError("cgroups are turned off (cgroup_root: none)");
  }
  if (!configured.empty()) {
    if (!IsCgroup2(configured)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cgroup_root '", configured, "' is not a cgroup2 mount"));
    }
    return configured;
  }
  for (const char* candidate : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    if (IsCgroup2(candidate)) return std::string(candidate);
  }
  return absl::NotFoundError(
      "no cgroup2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified");
}

ProgramCgroup::~ProgramCgroup() {
  if (removed_) return;
  auto killed = Kill();
  (void)killed;
  WaitEmpty(absl::Seconds(1));
  auto removed = Remove();
  (void)removed;
}

absl::Status ProgramCgroup::Kill() {
  absl::Status direct = WriteControl(path_ + "/cgroup.kill", "1");
  if (direct.ok()) return direct;
  // No cgroup.kill (before Linux 5.14): freeze, so nothing forks while we
  // read the list, kill every pid, thaw so the signals are taken.
  absl::Status frozen = WriteControl(path_ + "/cgroup.freeze", "1");
  for (int round = 0; round < 100; ++round) {
    std::string procs = ReadControl(path_ + "/cgroup.procs");
    bool any = false;
    for (absl::string_view line : absl::StrSplit(procs, '\n')) {
      pid_t pid = 0;
      if (absl::SimpleAtoi(line, &pid) && pid > 0) {
        any = true;
        ::kill(pid, SIGKILL);
      }
    }
    if (!any) break;
    if (!frozen.ok()) continue;
    ::usleep(1000);
  }
  if (frozen.ok()) return WriteControl(path_ + "/cgroup.freeze", "0");
  return absl::OkStatus();
}

absl::Status ProgramCgroup::SetFrozen(bool frozen, absl::Duration timeout) {
  absl::Status written =
      WriteControl(path_ + "/cgroup.freeze", frozen ? "1" : "0");
  if (!written.ok()) return written;
  absl::Time deadline = absl::Now() + timeout;
  while (Frozen() != frozen) {
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "cgroup ", path_, " did not ", frozen ? "freeze" : "thaw", " within ",
          absl::FormatDuration(timeout)));
    }
    ::usleep(200);
  }
  return absl::OkStatus();
}

bool ProgramCgroup::Frozen() const {
  return KeyValue(ReadControl(path_ + "/cgroup.events"), "frozen") == 1;
}

bool ProgramCgroup::WaitEmpty(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    std::string events = ReadControl(path_ + "/cgroup.events");
    if (events.empty() || KeyValue(events, "populated") == 0) return true;
    if (absl::Now() >= deadline) return false;
    ::usleep(500);
  }
}

absl::Status ProgramCgroup::Remove() {
  if (removed_) return absl::OkStatus();
  procs_.Reset();
  if (::rmdir(path_.c_str()) != 0 && errno != ENOENT) {
    if (errno == EBUSY) {
      return absl::FailedPreconditionError(
          absl::StrCat("cgroup ", path_, " still has processes"));
    }
    return absl::ErrnoToStatus(errno, absl::StrCat("rmdir ", path_));
  }
  removed_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<CgroupTree>> CgroupTree::Create(
    const std::string& root, const std::string& instance) {
  if (instance.empty() || instance.find('/') != std::string::npos ||
      instance[0] == '.') {
    return absl::InvalidArgumentError(
        absl::StrCat("cgroup instance '", instance, "' is not a name"));
  }
  std::string tao = absl::StrCat(root, "/tao");
  if (::mkdir(tao.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::ErrnoToStatus(errno, absl::StrCat("mkdir ", tao));
  }
  // Instances of hosts that died without cleaning up: what they left runs
  // unsupervised; kill it and take the directories away.
  if (DIR* dir = ::opendir(tao.c_str())) {
    std::vector<std::string> stale;
    while (struct dirent* e = ::readdir(dir)) {
      absl::string_view name = e->d_name;
      pid_t pid = 0;
      if (e->d_type == DT_DIR && absl::ConsumePrefix(&name, "host-") &&
          absl::SimpleAtoi(name, &pid) && pid > 0 && pid != ::getpid() &&
          ::kill(pid, 0) != 0 && errno == ESRCH) {
        stale.push_back(absl::StrCat(tao, "/", e->d_name));
      }
    }
    ::closedir(dir);
    for (const std::string& path : stale) KillAndRemoveTree(path);
  }
  std::string path = absl::StrCat(tao, "/", instance);
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::ErrnoToStatus(errno, absl::StrCat("mkdir ", path));
  }
  return std::unique_ptr<CgroupTree>(
      new CgroupTree(path, absl::StrCat("/tao/", instance)));
}

// Only the directory: each program removes its own cgroup, and another
// factory of this process may still have programs in the instance.
CgroupTree::~CgroupTree() { ::rmdir(path_.c_str()); }

absl::StatusOr<std::unique_ptr<ProgramCgroup>> CgroupTree::NewProgram(
    const std::string& name) const {
  std::string path = absl::StrCat(path_, "/", name);
  if (::mkdir(path.c_str(), 0755) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("mkdir ", path));
  }
  std::string procs_path = path + "/cgroup.procs";
  UniqueFd procs(::open(procs_path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!procs.valid()) {
    absl::Status status =
        absl::ErrnoToStatus(errno, absl::StrCat("open ", procs_path));
    ::rmdir(path.c_str());
    return status;
  }
  return std::make_unique<ProgramCgroup>(
      path, absl::StrCat(relative_, "/", name), std::move(procs));
}

absl::StatusOr<std::string> CgroupOfProcess(pid_t pid) {
  auto text = ReadSmallFile(absl::StrCat("/proc/", pid, "/cgroup"), 1 << 16);
  if (!text.ok()) return text.status();
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    if (absl::ConsumePrefix(&line, "0::")) return std::string(line);
  }
  return absl::NotFoundError(absl::StrCat("process ", pid, " has no cgroup2"));
}

}  // namespace internal
}  // namespace tao
