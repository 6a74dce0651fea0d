#include "bench/common/bench_util.h"

#include <errno.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace tao {
namespace bench {

int64_t ClockNs(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

void Die(const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, what.c_str());
  std::fflush(stderr);
  std::_Exit(1);
}

void Check(const absl::Status& s, const char* what) {
  if (!s.ok()) Die(absl::StrCat(what, ": ", s.ToString()));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

LoadMeter::Snap LoadMeter::Take() {
  Snap s;
  std::ifstream in("/proc/stat");
  std::string cpu;
  int64_t v[10] = {0};
  in >> cpu;
  for (int64_t& x : v) in >> x;
  // user nice system idle iowait irq softirq steal guest guest_nice
  s.busy_ticks = v[0] + v[1] + v[2] + v[5] + v[6];
  s.nice_ticks = v[1];
  s.steal_ticks = v[7];
  s.total_ticks = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
  for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    struct rusage ru;
    getrusage(who, &ru);
    s.own_ns +=
        (int64_t{ru.ru_utime.tv_sec} + ru.ru_stime.tv_sec) * 1000000000 +
        (int64_t{ru.ru_utime.tv_usec} + ru.ru_stime.tv_usec) * 1000;
  }
  s.mono_ns = MonoNs();
  return s;
}

std::string LoadMeter::LoadAvg() {
  std::vector<std::string> f = absl::StrSplit(ReadFile("/proc/loadavg"), ' ');
  return f.size() >= 3 ? absl::StrCat(f[0], " ", f[1], " ", f[2]) : "?";
}

namespace {

struct Usage {
  double wall_s, cpus, own_s, other_s;
};

Usage Between(const LoadMeter::Snap& a, const LoadMeter::Snap& b) {
  const double tick = 1.0 / sysconf(_SC_CLK_TCK);
  Usage u;
  u.wall_s = (b.mono_ns - a.mono_ns) / 1e9;
  u.cpus = static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN));
  u.own_s = (b.own_ns - a.own_ns) / 1e9;
  u.other_s = std::max(0.0, (b.busy_ticks - a.busy_ticks) * tick - u.own_s);
  return u;
}

}  // namespace

double LoadMeter::OtherPct(const Snap& a, const Snap& b) {
  const Usage u = Between(a, b);
  return u.wall_s > 0 ? 100 * u.other_s / (u.wall_s * u.cpus) : 0;
}

std::string LoadMeter::Describe(const Snap& a, const Snap& b) {
  const double tick = 1.0 / sysconf(_SC_CLK_TCK);
  const Usage u = Between(a, b);
  const double total = std::max(1e-9, (b.total_ticks - a.total_ticks) * tick);
  return absl::StrFormat(
      "other processes used %.1f CPU-s of the %.1f available (%.0f%% of the "
      "machine; %.1f CPU-s of it niced); steal %.1f%%; this run used %.1f "
      "CPU-s; loadavg now %s",
      u.other_s, u.wall_s * u.cpus, OtherPct(a, b),
      (b.nice_ticks - a.nice_ticks) * tick,
      100.0 * (b.steal_ticks - a.steal_ticks) * tick / total, u.own_s,
      LoadAvg());
}

}  // namespace bench
}  // namespace tao
