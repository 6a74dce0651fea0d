// Small helpers shared by the end-to-end benchmark harnesses (bench/e2e and
// bench/admin): clocks, fatal errors, whole-file reads, and a meter of what
// else ran on the machine during a run. Not for production code: Die and
// Check end the process.
#ifndef TAO_BENCH_COMMON_BENCH_UTIL_H_
#define TAO_BENCH_COMMON_BENCH_UTIL_H_

#include <time.h>

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tao {
namespace bench {

// `clock` (CLOCK_MONOTONIC, CLOCK_THREAD_CPUTIME_ID, ...) in nanoseconds.
int64_t ClockNs(clockid_t clock);
inline int64_t MonoNs() { return ClockNs(CLOCK_MONOTONIC); }

// Prints "<program>: <what>" to stderr and exits 1 at once (no destructors).
[[noreturn]] void Die(const std::string& what);

// Dies with `what` and the status unless `s` is OK.
void Check(const absl::Status& s, const char* what);
template <typename T>
T Check(absl::StatusOr<T> v, const char* what) {
  Check(v.status(), what);
  return *std::move(v);
}

// The whole file, or "" if it cannot be read.
std::string ReadFile(const std::string& path);

// What else ran on the machine: the busy time of all CPUs (/proc/stat) minus
// this process and its reaped descendants (getrusage). Take a Snap before and
// after; stateless otherwise, so thread-safe.
struct LoadMeter {
  struct Snap {
    int64_t busy_ticks = 0, nice_ticks = 0, steal_ticks = 0, total_ticks = 0;
    int64_t own_ns = 0, mono_ns = 0;
  };
  static Snap Take();
  // The three load averages of /proc/loadavg, "?" if unreadable.
  static std::string LoadAvg();
  // Percent of the machine's CPU time that other processes used from a to b.
  static double OtherPct(const Snap& a, const Snap& b);
  // One line: other processes' CPU-seconds (and how much of it niced), steal,
  // this run's own CPU-seconds, and the load averages now.
  static std::string Describe(const Snap& a, const Snap& b);
};

}  // namespace bench
}  // namespace tao

#endif  // TAO_BENCH_COMMON_BENCH_UTIL_H_
