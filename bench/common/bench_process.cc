#include "bench/common/bench_process.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/common/bench_util.h"

extern char** environ;

namespace tao {
namespace bench {

pid_t Spawn(const std::string& path, const std::vector<std::string>& args,
            const std::vector<std::pair<int, int>>& remap,
            const SpawnOptions& options) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (const auto& [from, to] : remap)
    posix_spawn_file_actions_adddup2(&actions, from, to);
  const bool stdout_remapped = std::any_of(
      remap.begin(), remap.end(), [](const auto& r) { return r.second == 1; });
  if (!stdout_remapped) {
    posix_spawn_file_actions_addopen(&actions, 1, options.output.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
  }
  if (options.stderr_too) {
    posix_spawn_file_actions_addopen(&actions, 2, options.output.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
  }
  std::vector<char*> argv;
  for (const std::string& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = options.search_path ? posix_spawnp(&pid, path.c_str(), &actions,
                                              nullptr, argv.data(), environ)
                               : posix_spawn(&pid, path.c_str(), &actions,
                                             nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) Die(absl::StrCat("posix_spawn ", path, ": ", strerror(rc)));
  return pid;
}

int WaitPid(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      Die(absl::StrCat("waitpid ", pid, ": ", strerror(errno)));
  }
  return status;
}

int HighFd(int fd) {
  if (fd < 0) Die(absl::StrCat("descriptor: ", strerror(errno)));
  int high = fcntl(fd, F_DUPFD_CLOEXEC, 10);
  if (high < 0) Die("F_DUPFD_CLOEXEC failed");
  close(fd);
  return high;
}

rlim_t RaiseNofile(rlim_t want) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < want) {
    rl.rlim_cur = std::min(want, rl.rlim_max);
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

int64_t StatusField(pid_t pid, const char* field) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  const std::string prefix = absl::StrCat(field, ":");
  while (std::getline(in, line)) {
    if (!absl::StartsWith(line, prefix)) continue;
    std::string rest = line.substr(prefix.size());
    absl::string_view digits = absl::StripAsciiWhitespace(rest);
    digits = digits.substr(0, digits.find(' '));
    int64_t v = 0;
    if (absl::SimpleAtoi(digits, &v)) return v;
  }
  return -1;
}

Dist::Dist(std::vector<int64_t> samples) : v(std::move(samples)) {
  std::sort(v.begin(), v.end());
}

int64_t Dist::p99() const {
  if (v.empty()) return 0;
  size_t i = static_cast<size_t>(std::ceil(0.99 * v.size()));
  return v[std::min(v.size(), std::max<size_t>(i, 1)) - 1];
}

int64_t Median(std::vector<int64_t> v) { return Dist(std::move(v)).median(); }

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string MakeTempDir(const std::string& base, const std::string& prefix) {
  std::string tmpl = absl::StrCat(base, "/", prefix, ".XXXXXX");
  if (mkdtemp(tmpl.data()) == nullptr) {
    Die(absl::StrCat("mkdtemp in ", base, ": ", strerror(errno)));
  }
  // Hosted programs run as dynamic uids of their own and write their
  // results here: sticky and world-writable, like /tmp.
  chmod(tmpl.c_str(), 01777);
  return tmpl;
}

void RemoveAll(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

}  // namespace bench
}  // namespace tao
