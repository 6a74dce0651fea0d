// tao_client_start_bench: how long a minimal hosted program takes to start
// and exit without a host, without the client library and with each of its
// two forms (README.md). Each program is started --runs times per round,
// the programs taking turns round by round, and the table shows the median
// of every start, the spread of the round medians, the ratio to the program
// without the library, and the shared libraries each one loads.
#include <sched.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "bench/common/bench_flags.h"
#include "bench/common/bench_process.h"
#include "bench/common/bench_util.h"
#include "gflags/gflags.h"

DEFINE_int32(runs, 200, "starts of each program per round");
DEFINE_int32(rounds, 5, "rounds; the programs take turns within each round");
DEFINE_int32(warmup, 20, "starts of each program before the first round");
DEFINE_double(goal, 1.5,
              "the goal: the last program's median over the first's");
DEFINE_string(program, "",
              "LABEL=PATH of a program to time instead of the built ones; "
              "repeat it, the first is the baseline");

namespace tao {
namespace bench {
namespace {

struct Program {
  std::string label;
  std::string path;
  std::vector<int64_t> samples;       // every start, ns
  std::vector<int64_t> round_median;  // one per round, ns
};

std::string Affinity() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) {
    return std::string("unknown (sched_getaffinity: ") + std::strerror(errno) +
           ")";
  }
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  std::vector<int> cpus;
  for (int i = 0; i < CPU_SETSIZE; ++i) {
    if (CPU_ISSET(i, &set)) cpus.push_back(i);
  }
  const std::string of = absl::StrFormat("%d of %d", cpus.size(), online);
  if (online > 0 && static_cast<long>(cpus.size()) < online) {
    std::string list;
    for (int c : cpus) list += (list.empty() ? "" : ",") + std::to_string(c);
    return "pinned to CPU " + list + " (" + of + " online CPUs)";
  }
  return of + " CPUs (not pinned)";
}

// One start and exit; the wall time in ns. Dies unless the program exited 2,
// its answer to a missing TAO_CHANNEL (so every sample did the same work).
int64_t TimeOneStart(const Program& p, const SpawnOptions& options) {
  const int64_t start = MonoNs();
  const int status = WaitPid(Spawn(p.path, {p.path}, {}, options));
  const int64_t elapsed = MonoNs() - start;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 2) {
    Die(absl::StrFormat("%s: wait status %d, expected exit 2 (no TAO_CHANNEL)",
                        p.path, status));
  }
  return elapsed;
}

// What the dynamic loader maps for `path`, as `ldd` lists it (ld.so itself
// and the vDSO included): LD_TRACE_LOADED_OBJECTS=1 makes ld.so print the
// list and exit without running the program.
std::vector<std::string> LoadedObjects(const std::string& path,
                                       const std::string& tmp) {
  const std::string out = tmp + "/ldd.txt";
  unlink(out.c_str());
  setenv("LD_TRACE_LOADED_OBJECTS", "1", 1);
  SpawnOptions options;
  options.output = out;
  const int status = WaitPid(Spawn(path, {path}, {}, options));
  unsetenv("LD_TRACE_LOADED_OBJECTS");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    Die(path + ": LD_TRACE_LOADED_OBJECTS run failed");
  }
  std::vector<std::string> objects;
  for (absl::string_view line : absl::StrSplit(ReadFile(out), '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty()) objects.emplace_back(line);
  }
  return objects;
}

int CountMatching(const std::vector<std::string>& objects,
                  const std::vector<const char*>& names) {
  int n = 0;
  for (const std::string& o : objects) {
    for (const char* name : names) {
      if (o.find(name) != std::string::npos) {
        ++n;
        break;
      }
    }
  }
  return n;
}

int64_t FileSize(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

int Run(std::vector<Program> programs) {
  // The programs must see no host: the measured path is "no TAO_CHANNEL".
  unsetenv("TAO_CHANNEL");
  const std::string tmp = MakeTempDir("/tmp", "tao-client-start");
  SpawnOptions quiet;
  quiet.stderr_too = true;

  // Each program first says why it cannot run, as a hosted program must.
  for (const Program& p : programs) {
    const std::string out = tmp + "/first.txt";
    unlink(out.c_str());
    SpawnOptions capture;
    capture.output = out;
    capture.stderr_too = true;
    TimeOneStart(p, capture);
    if (ReadFile(out).find("TAO_CHANNEL is not set") == std::string::npos) {
      Die(p.path + " did not say \"TAO_CHANNEL is not set\": " + ReadFile(out));
    }
  }
  for (const Program& p : programs) {
    for (int i = 0; i < FLAGS_warmup; ++i) TimeOneStart(p, quiet);
  }
  const LoadMeter::Snap before = LoadMeter::Take();
  for (int round = 0; round < FLAGS_rounds; ++round) {
    for (Program& p : programs) {
      std::vector<int64_t> samples;
      samples.reserve(FLAGS_runs);
      for (int i = 0; i < FLAGS_runs; ++i) {
        samples.push_back(TimeOneStart(p, quiet));
      }
      p.round_median.push_back(Median(samples));
      p.samples.insert(p.samples.end(), samples.begin(), samples.end());
    }
  }
  const LoadMeter::Snap after = LoadMeter::Take();

  std::cout << "client start: a minimal hosted program started and exited "
               "with no host (no TAO_CHANNEL)\n"
            << "CPU affinity: " << Affinity() << "\n"
            << absl::StrFormat(
                   "%d rounds x %d starts of each program, taking turns; %d "
                   "warm-up starts each\n",
                   FLAGS_rounds, FLAGS_runs, FLAGS_warmup)
            << "background: " << LoadMeter::Describe(before, after) << "\n\n";
  std::cout << "program | shared libraries (ldd) | of them absl/protobuf/"
               "crypto | size KiB | median ms | round medians ms | p99 ms | "
               "ratio | goal\n";
  const double base = static_cast<double>(Median(programs[0].samples));
  for (size_t i = 0; i < programs.size(); ++i) {
    const Program& p = programs[i];
    const std::vector<std::string> objects = LoadedObjects(p.path, tmp);
    const Dist dist(p.samples);
    const Dist rounds(p.round_median);
    const double ratio = dist.median() / base;
    std::string goal = "-";
    if (i + 1 == programs.size() && i > 0) {
      goal = absl::StrFormat("<= %.1fx (%s)", FLAGS_goal,
                             ratio <= FLAGS_goal ? "met" : "MISSED");
    }
    std::cout << absl::StrFormat(
        "%s | %d | %d | %d | %.3f | %.3f-%.3f | %.3f | %.2fx | %s\n", p.label,
        objects.size(),
        CountMatching(objects, {"libabsl_", "libprotobuf", "libcrypto"}),
        FileSize(p.path) / 1024, dist.median() / 1e6, rounds.v.front() / 1e6,
        rounds.v.back() / 1e6, dist.p99() / 1e6, ratio, goal);
  }
  RemoveAll(tmp);
  return 0;
}

}  // namespace
}  // namespace bench
}  // namespace tao

int main(int argc, char** argv) {
  std::vector<std::string> given =
      tao::bench::RepeatedFlag(argc, argv, "program");
  tao::bench::ParseBenchFlags(
      "tao_client_start_bench [--runs=N] [--rounds=N] [--warmup=N] "
      "[--program=LABEL=PATH ...]\n"
      "Times the start and exit of a minimal hosted program without a host: "
      "without the client library, with its shared-deps form, with its "
      "one-archive form.",
      "bench/client_start/", &argc, &argv);
  if (FLAGS_runs < 1 || FLAGS_rounds < 1 || FLAGS_warmup < 0) {
    std::cerr << "tao_client_start_bench: --runs and --rounds must be >= 1, "
                 "--warmup >= 0\n";
    return 2;
  }
  std::vector<tao::bench::Program> programs;
  for (const std::string& g : given) {
    const size_t eq = g.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == g.size()) {
      std::cerr << "tao_client_start_bench: --program=LABEL=PATH, got '" << g
                << "'\n";
      return 2;
    }
    programs.push_back({g.substr(0, eq), g.substr(eq + 1), {}, {}});
  }
  if (programs.empty()) {
    programs = {{"no client library", CLIENT_START_NONE, {}, {}},
                {"shared-deps form (before)", CLIENT_START_SHARED_DEPS, {}, {}},
                {"libtao-client.a (now)", CLIENT_START_BUNDLED, {}, {}}};
  }
  return tao::bench::Run(std::move(programs));
}
