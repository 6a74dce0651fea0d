// Process helpers shared by the end-to-end benchmark harnesses (bench/e2e and
// bench/admin): spawning with a descriptor remap, reaping, descriptor and
// RLIMIT_NOFILE handling, /proc/<pid>/status fields, and sample medians. Not
// for production code: failures Die. Thread-safe (no state of their own).
#ifndef TAO_BENCH_COMMON_BENCH_PROCESS_H_
#define TAO_BENCH_COMMON_BENCH_PROCESS_H_

#include <sys/resource.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tao {
namespace bench {

// How Spawn wires the child's standard output.
struct SpawnOptions {
  // The child's stdout (unless `remap` gives it fd 1), appended to and
  // created 0644 if missing.
  std::string output = "/dev/null";
  // Also send the child's stderr to `output` (else it is inherited).
  bool stderr_too = false;
  // Look `path` up on $PATH (posix_spawnp).
  bool search_path = false;
};

// posix_spawn of `path` with `args` (argv, [0] included) in this process's
// environment, after dup2 of every `remap` pair (parent fd -> child fd).
// Returns the pid; Dies if the spawn fails.
pid_t Spawn(const std::string& path, const std::vector<std::string>& args,
            const std::vector<std::pair<int, int>>& remap,
            const SpawnOptions& options = {});

// waitpid(pid), retried on EINTR; the wait status. Dies on another error.
int WaitPid(pid_t pid);

// Moves `fd` to a number >= 10, close-on-exec, so that it is never one of a
// child's targets (a dup2 onto itself would keep FD_CLOEXEC). Dies if `fd`
// is negative (the failed call that made it) or the move fails.
int HighFd(int fd);

// Raises the RLIMIT_NOFILE soft limit to `want`, capped at the hard limit;
// returns the soft limit in force afterwards.
rlim_t RaiseNofile(rlim_t want);

// A /proc/<pid>/status field: VmRSS, VmHWM, VmPTE in KiB, Threads as a
// count. -1 if the process or the field is gone.
int64_t StatusField(pid_t pid, const char* field);

// Sorted samples: the median is the middle element (v[n / 2]), the p99 the
// element at ceil(0.99 n) - 1 (of 50 samples: the largest).
struct Dist {
  std::vector<int64_t> v;
  explicit Dist(std::vector<int64_t> samples);
  int64_t median() const { return v.empty() ? 0 : v[v.size() / 2]; }
  int64_t p99() const;
  size_t n() const { return v.size(); }
};

// The median as Dist defines it; 0 for no samples.
int64_t Median(std::vector<int64_t> v);
double Median(std::vector<double> v);

// A fresh directory `<base>/<prefix>.XXXXXX` (mkdtemp); Dies if it cannot be
// made. RemoveAll deletes a tree and ignores errors.
std::string MakeTempDir(const std::string& base, const std::string& prefix);
void RemoveAll(const std::string& path);

}  // namespace bench
}  // namespace tao

#endif  // TAO_BENCH_COMMON_BENCH_PROCESS_H_
