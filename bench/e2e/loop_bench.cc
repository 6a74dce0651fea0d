// tao_loop_bench: the end-to-end harness of the listen loop with real hosted
// processes. One run measures, next to each other:
//
//  1. a raw pipe ping-pong (the same framing, 32 B and 1 MiB) between a
//     spawned tao_bench_client and an echo thread in this process;
//  2. GetTaoName, GetRandomBytes, Seal, Unseal (32 B and 1 MiB) and Attest
//     from tao_bench_client as a hosted program of the loop (pipe; one row over
//     a socketpair; one Seal row with an audit trail, i.e. with fdatasync);
//  3. the ratios to the raw baseline and the 1 MiB throughputs;
//  4. 1-3 unpinned and pinned to one CPU (the affinity is set on the main
//     thread before the loop is created, so the loop thread, the echo thread
//     and every child inherit it);
//  5. launch latency (just before StartHostedProgram to the child's first
//     reply) for a small and a ~10 MB binary, against posix_spawn of the same
//     binaries to their first raw reply; MeasureExecutable on the 10 MB binary
//     against `openssl dgst -sha256`;
//  6. denied launches (a policy that grants Execute to nobody);
//  7. 1,000 concurrent children sealing, in a fresh host process (this binary
//     again, --phase=storm), for the aggregate rate and the host's peak RSS.
//
// and prints one table with the goals of the performance issue. See
// bench/e2e/README.md.
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "bench/common/bench_flags.h"
#include "bench/common/bench_process.h"
#include "bench/common/bench_util.h"
#include "channels/hosted_program_channel.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "program_factory/process_factory.h"
#include "tao/clock.h"
#include "tao/crypto.h"
#include "tao/file_util.h"
#include "tao/key_store.h"
#include "tao/keys.h"
#include "tao/principal.h"
#include "tao/tao_host.h"
#include "tao_domain/audit_log.h"
#include "tao_domain/policy_io.h"
#include "tao_domain/tao_domain.h"

// Flags (gflags accepts each with dashes too: --no-storm, --big-client,
// --child-env, --loop-nice, --loop-sched, --iterations-1mib, as before).
DEFINE_bool(quick, false,
            "Fewer iterations (2,000 small calls, 30 of 1 MiB, 8 launches) and "
            "a storm of 100 children x 20 Seals.");
DEFINE_bool(no_storm, false, "Skip the storm.");
DEFINE_int32(children, 1000, "Storm: the number of children.");
DEFINE_int32(seals, 50, "Storm: Seals per child.");
DEFINE_int32(cpu, -1,
             "The CPU of the pinned phase (-1: the last in the harness's "
             "affinity mask).");
DEFINE_string(client, TAO_BENCH_CLIENT, "The hosted client binary.");
DEFINE_string(big_client, TAO_BENCH_CLIENT_BIG,
              "The ~10 MB client binary of the launch rows.");
DEFINE_string(only, "",
              "Comma-separated row keys to run (raw32 raw1m raw1m_bigpipe "
              "name random32 seal32 unseal32 seal1m unseal1m attest "
              "seal32_socket seal32_audit launch denied storm), plus unpinned "
              "or pinned for one phase; empty: all.");
DEFINE_string(child_env, "",
              "NAME=VALUE for the hosted clients' environment; may be given "
              "more than once.");
DEFINE_int32(loop_nice, 0, "Storm: renice the loop's threads (needs root).");
DEFINE_string(loop_sched, "",
              "Storm: fifo (SCHED_FIFO loop threads) or split (loop threads "
              "on the last CPU, children on the others).");
DEFINE_int64(iterations, 20000, "Iterations of the small rows.");
DEFINE_int64(iterations_1mib, 300, "Iterations of the 1 MiB rows.");
DEFINE_string(phase, "", "Internal: storm runs the storm host process.");
DEFINE_string(out, "", "Internal: the storm process's result file.");

namespace {

using tao::ChildInfo;
using tao::HostedProgramChannel;
using tao::bench::Check;
using tao::bench::ClockNs;
using tao::bench::Die;
using tao::bench::HighFd;
using tao::bench::LoadMeter;
using tao::bench::MakeTempDir;
using tao::bench::Median;
using tao::bench::MonoNs;
using tao::bench::RaiseNofile;
using tao::bench::ReadFile;
using tao::bench::RemoveAll;
using tao::bench::Spawn;
using tao::bench::StatusField;
using tao::bench::WaitPid;

// ---- Small utilities --------------------------------------------------------

// key=value lines.
std::map<std::string, std::string> ReadKv(const std::string& path) {
  std::map<std::string, std::string> kv;
  for (absl::string_view line : absl::StrSplit(ReadFile(path), '\n')) {
    size_t eq = line.find('=');
    if (eq == absl::string_view::npos) continue;
    kv[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  return kv;
}

int64_t KvInt(const std::map<std::string, std::string>& kv,
              const std::string& key) {
  auto it = kv.find(key);
  int64_t v = 0;
  if (it == kv.end() || !absl::SimpleAtoi(it->second, &v)) return -1;
  return v;
}

// "VmHWM" or "VmRSS" of this process, in KiB.
int64_t StatusKb(const char* field) { return StatusField(getpid(), field); }

std::set<pid_t> TaskIds() {
  std::set<pid_t> ids;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/self/task")) {
    ids.insert(static_cast<pid_t>(std::stol(entry.path().filename().string())));
  }
  return ids;
}

// CPU time (ns) and voluntary context switches of one thread of this process.
struct ThreadUsage {
  int64_t cpu_ns = 0;
  int64_t voluntary_switches = 0;
  int64_t involuntary_switches = 0;
};

ThreadUsage UsageOf(pid_t tid) {
  ThreadUsage u;
  // The thread's CPU clock, as pthread_getcpuclockid builds it from a tid
  // (CPUCLOCK_PERTHREAD | CPUCLOCK_SCHED): exact, unlike the tick-sampled
  // utime/stime in /proc.
  const clockid_t clock =
      static_cast<clockid_t>((~static_cast<unsigned>(tid)) << 3) | 4 | 2;
  struct timespec ts;
  if (clock_gettime(clock, &ts) == 0) {
    u.cpu_ns = int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
  }
  std::ifstream in(absl::StrCat("/proc/self/task/", tid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "voluntary_ctxt_switches:")) {
      (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(24)),
                             &u.voluntary_switches);
    } else if (absl::StartsWith(line, "nonvoluntary_ctxt_switches:")) {
      (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(27)),
                             &u.involuntary_switches);
    }
  }
  return u;
}

std::string AffinityText(const cpu_set_t& set) {
  std::vector<std::string> cpus;
  for (int i = 0; i < CPU_SETSIZE; ++i) {
    if (CPU_ISSET(i, &set)) cpus.push_back(absl::StrCat(i));
  }
  return absl::StrCat("CPUs {", absl::StrJoin(cpus, ","), "} (", cpus.size(),
                      " of ", sysconf(_SC_NPROCESSORS_ONLN), " online)");
}

std::string CurrentAffinity() {
  cpu_set_t set;
  CPU_ZERO(&set);
  sched_getaffinity(0, sizeof(set), &set);
  return AffinityText(set);
}

class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    path_ =
        MakeTempDir(base != nullptr && *base ? base : "/tmp", "tao_loop_bench");
  }
  ~TempDir() { RemoveAll(path_); }
  std::string Join(const std::string& name) const {
    return absl::StrCat(path_, "/", name);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void WriteFull(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t put = write(fd, p, n);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) return;
    p += put;
    n -= static_cast<size_t>(put);
  }
}

// The raw baseline's echo: reads whole frames (4-byte big-endian length +
// body) with large reads, and writes each back in one write. The floor for a
// request/response exchange over a pipe pair: one read and one write per
// side per round trip.
void EchoLoop(int rfd, int wfd, int64_t* cpu_ns) {
  std::string buf(256 * 1024, '\0');
  size_t have = 0;
  const int64_t cpu0 = ClockNs(CLOCK_THREAD_CPUTIME_ID);
  auto fill = [&](size_t need) {
    while (have < need) {
      ssize_t n = read(rfd, buf.data() + have, buf.size() - have);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      have += static_cast<size_t>(n);
    }
    return true;
  };
  while (fill(4)) {
    const auto* h = reinterpret_cast<const unsigned char*>(buf.data());
    size_t len = (size_t{h[0]} << 24) | (size_t{h[1]} << 16) |
                 (size_t{h[2]} << 8) | h[3];
    size_t need = 4 + len;
    if (buf.size() < need) buf.resize(need);
    if (!fill(need)) break;
    WriteFull(wfd, buf.data(), need);
    std::memmove(buf.data(), buf.data() + need, have - need);
    have -= need;
  }
  *cpu_ns = ClockNs(CLOCK_THREAD_CPUTIME_ID) - cpu0;
}

// ---- The host ---------------------------------------------------------------

struct Host {
  std::unique_ptr<tao::TaoHost> host;
  std::unique_ptr<tao::SigningKey> policy_key;
  tao::RealClock clock;
  std::unique_ptr<tao::TaoDomain> domain;        // allow-all, no audit trail
  std::unique_ptr<tao::AuditLog> audit;          // for the audited domain
  std::unique_ptr<tao::TaoDomain> audit_domain;  // allow-all, audit trail
  tao::ProcessFactory factory;  // no measurement cache: every start measures
  // taohost's default: unchanged programs are not measured again.
  tao::ProcessFactory cached_factory{[] {
    tao::ProcessFactoryOptions options;
    options.measurement_cache_bytes = tao::kRecommendedMeasurementCacheBytes;
    return options;
  }()};

  tao::DomainPolicy AllowAll() const {
    tao::DomainPolicy policy;
    policy.set_domain_name("bench");
    tao::Rule* rule = policy.add_rules();
    rule->set_id("all-programs");
    for (const char* op :
         {"Execute", "Seal", "Unseal", "Attest", "GetSharedSecret"}) {
      rule->add_operations(op);
    }
    rule->add_principals()->set_name_prefix(host->name().text());
    return policy;
  }

  // Grants everything but Execute: every launch is denied.
  tao::DomainPolicy ExecuteToNobody() const {
    tao::DomainPolicy policy = AllowAll();
    tao::Rule* rule = policy.mutable_rules(0);
    rule->set_id("no-execute");
    rule->clear_operations();
    for (const char* op : {"Seal", "Unseal", "Attest", "GetSharedSecret"}) {
      rule->add_operations(op);
    }
    return policy;
  }

  std::string Signed(const tao::DomainPolicy& policy) const {
    return Check(tao::SignDomainPolicy(policy, *policy_key), "sign policy");
  }

  void Make(const std::string& audit_path) {
    auto keys = Check(tao::HostKeys::Generate(), "HostKeys::Generate");
    tao::Principal name =
        tao::Principal::ForKey(keys.signing_key.verifying_key());
    host = Check(tao::TaoHost::Create(std::move(keys), name, std::nullopt),
                 "TaoHost");
    policy_key = std::make_unique<tao::SigningKey>(
        Check(tao::SigningKey::Generate(), "policy key"));
    domain = Check(tao::TaoDomain::Create(policy_key->verifying_key(),
                                          Signed(AllowAll()), nullptr, clock),
                   "TaoDomain");
    if (!audit_path.empty()) {
      audit = Check(tao::AuditLog::Open(audit_path), "AuditLog::Open");
      audit_domain =
          Check(tao::TaoDomain::Create(policy_key->verifying_key(),
                                       Signed(AllowAll()), audit.get(), clock),
                "audited TaoDomain");
    }
  }
};

// A loop, and the ids of the threads it started (found by diffing
// /proc/self/task): its epoll thread and any helpers. Their CPU is the host's
// CPU for the calls a row makes (nothing else runs in this process then).
struct Loop {
  std::unique_ptr<HostedProgramChannel> loop;
  std::vector<pid_t> tids;
};

ThreadUsage UsageOf(const std::vector<pid_t>& tids) {
  ThreadUsage sum;
  for (pid_t tid : tids) {
    ThreadUsage u = UsageOf(tid);
    sum.cpu_ns += u.cpu_ns;
    sum.voluntary_switches += u.voluntary_switches;
    sum.involuntary_switches += u.involuntary_switches;
  }
  return sum;
}

Loop MakeLoop(Host& h, tao::TaoDomain& domain,
              tao::ProcessFactory* factory = nullptr) {
  std::set<pid_t> before = TaskIds();
  Loop l;
  l.loop = Check(
      HostedProgramChannel::Create(*h.host, domain,
                                   {{"process",
                                     factory != nullptr ? factory : &h.factory,
                                     {"pipe", "socketpair"}}},
                                   tao::HostedProgramChannelOptions{}),
      "HostedProgramChannel::Create");
  for (pid_t t : TaskIds()) {
    if (!before.count(t)) l.tids.push_back(t);
  }
  return l;
}

// ---- Measurements -----------------------------------------------------------

struct Settings {
  bool quick = false;
  std::string client = TAO_BENCH_CLIENT;
  std::string big_client = TAO_BENCH_CLIENT_BIG;
  int children = 1000;
  int storm_seals = 50;
  int cpu = -1;  // pinned phase's CPU; -1: the last allowed one
  int64_t iters_small = 20000;
  int64_t iters_attest = 3000;
  int64_t iters_big = 300;
  int64_t iters_audit = 500;
  int launches = 30;
  int hashes = 15;
  bool storm = true;
  int storm_compare = 100;  // a second, smaller storm for scaling (0: none)
  // Comma-separated row keys to run (empty: all), for profiling one row:
  // raw32 raw1m raw1m_bigpipe name random32 seal32 unseal32 seal1m unseal1m
  // attest seal32_socket seal32_audit launch denied storm; plus "unpinned" or
  // "pinned" to run one phase only.
  std::set<std::string> only;
  // Environment for the hosted clients (e.g. GLIBC_TUNABLES for an
  // experiment); measured into their Args like any other.
  std::vector<std::pair<std::string, std::string>> child_env;
  // Storm experiments: does the loop thread lose its CPU to the clients it
  // wakes? loop_nice renices the loop's threads; loop_sched "fifo" makes them
  // SCHED_FIFO (priority 1), "split" pins them to the last CPU and the
  // children (forked from the main thread) to the others.
  std::optional<int> loop_nice;
  std::string loop_sched;
  bool Want(const std::string& key) const {
    return only.empty() || only.count(key) > 0;
  }
  bool WantPhase(const std::string& phase) const {
    if (only.count("unpinned") || only.count("pinned"))
      return only.count(phase) > 0;
    return true;
  }
};

// One timed series from a client.
struct Series {
  int64_t median_ns = 0, p99_ns = 0, min_ns = 0, mean_ns = 0, total_ns = 0,
          iterations = 0;
  int64_t client_cpu_ns = 0;  // the client's own CPU over the timed loop
  int64_t server_cpu_ns = 0;  // the loop thread's (or echo thread's) CPU
  int64_t server_switches = 0;
  double other_pct = 0;  // other processes' share of the machine during the row
  double client_cpu_per_op_us() const {
    return iterations ? client_cpu_ns / 1e3 / iterations : 0;
  }
  double server_cpu_per_op_us() const {
    return iterations ? server_cpu_ns / 1e3 / iterations : 0;
  }
};

Series SeriesFrom(const std::map<std::string, std::string>& kv) {
  Series s;
  s.median_ns = KvInt(kv, "median_ns");
  s.p99_ns = KvInt(kv, "p99_ns");
  s.min_ns = KvInt(kv, "min_ns");
  s.mean_ns = KvInt(kv, "mean_ns");
  s.total_ns = KvInt(kv, "total_ns");
  s.iterations = KvInt(kv, "iterations");
  s.client_cpu_ns = KvInt(kv, "cpu_ns");
  return s;
}

class Bench {
 public:
  Bench(Settings settings, TempDir& dir) : s_(std::move(settings)), dir_(dir) {}

  std::string NextResult(const std::string& what) {
    return dir_.Join(absl::StrCat(what, "-", ++counter_, ".txt"));
  }

  // The raw baseline: the client spawned directly with a pipe pair, and the
  // echo on a thread of this process.
  Series Raw(size_t size, int64_t iterations, int pipe_size = 0,
             const std::string* binary = nullptr,
             int64_t* spawn_to_reply_ns = nullptr,
             int64_t* spawn_to_main_ns = nullptr) {
    int to_child[2], from_child[2];
    if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0) {
      Die("pipe2 failed");
    }
    for (int* fd :
         {&to_child[0], &to_child[1], &from_child[0], &from_child[1]}) {
      *fd = HighFd(*fd);
    }
    if (pipe_size > 0) {
      if (fcntl(to_child[1], F_SETPIPE_SZ, pipe_size) < 0 ||
          fcntl(from_child[1], F_SETPIPE_SZ, pipe_size) < 0) {
        Die("F_SETPIPE_SZ failed");
      }
    }
    std::string result = NextResult("raw");
    int64_t cpu = 0;
    const LoadMeter::Snap l0 = LoadMeter::Take();
    const int64_t t0 = MonoNs();
    pid_t pid = Spawn(binary ? *binary : s_.client,
                      {"tao_bench_client", "raw", absl::StrCat(size),
                       absl::StrCat(iterations), "3", "4", result},
                      {{to_child[0], 3}, {from_child[1], 4}});
    close(to_child[0]);
    close(from_child[1]);
    std::thread echo(EchoLoop, from_child[0], to_child[1], &cpu);
    int status = WaitPid(pid);
    close(to_child[1]);  // the echo sees EOF on from_child once the child exits
    echo.join();
    close(from_child[0]);
    auto kv = ReadKv(result);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || kv.count("error")) {
      Die(absl::StrCat("raw client failed: ", kv["error"]));
    }
    Series out = SeriesFrom(kv);
    out.server_cpu_ns = cpu;
    out.other_pct = LoadMeter::OtherPct(l0, LoadMeter::Take());
    if (spawn_to_reply_ns != nullptr)
      *spawn_to_reply_ns = KvInt(kv, "first_reply_ns") - t0;
    if (spawn_to_main_ns != nullptr)
      *spawn_to_main_ns = KvInt(kv, "main_ns") - t0;
    return out;
  }

  // A client as a hosted program of `loop`, running `op` `iterations` times.
  Series Rpc(Loop& loop, const std::string& op, size_t size, int64_t iterations,
             std::string kind = "pipe") {
    std::string result = NextResult(absl::StrCat("rpc-", op));
    tao::StartRequest request;
    request.channel = kind;
    request.process().path = s_.client;
    request.process().args = {"rpc", op, absl::StrCat(size),
                              absl::StrCat(iterations), result};
    request.process().env = s_.child_env;
    const LoadMeter::Snap l0 = LoadMeter::Take();
    ThreadUsage u0 = UsageOf(loop.tids);
    ChildInfo info =
        Check(loop.loop->StartHostedProgram(request), "start rpc client");
    ChildInfo done =
        Check(loop.loop->WaitHostedProgram(info.id, absl::Seconds(300)),
              "wait rpc client");
    ThreadUsage u1 = UsageOf(loop.tids);
    auto kv = ReadKv(result);
    if (!done.exit.has_value() || !done.exit->success() || kv.count("error")) {
      Die(absl::StrCat("rpc client ", op, " failed (",
                       done.exit ? done.exit->ToString() : "?",
                       "): ", kv["error"]));
    }
    Series out = SeriesFrom(kv);
    out.server_cpu_ns = u1.cpu_ns - u0.cpu_ns;
    out.server_switches = u1.voluntary_switches - u0.voluntary_switches;
    out.other_pct = LoadMeter::OtherPct(l0, LoadMeter::Take());
    return out;
  }

  struct Launch {
    int64_t first_reply_ns;  // start request -> first reply in the child
    int64_t start_call_ns;   // StartHostedProgram's own duration
    int64_t to_main_ns;      // start request -> the child's main()
  };

  Launch LaunchOnce(Loop& loop, const std::string& binary) {
    std::string result = NextResult("launch");
    tao::StartRequest request;
    request.process().path = binary;
    request.process().args = {"first-reply", result};
    const int64_t t0 = MonoNs();
    ChildInfo info =
        Check(loop.loop->StartHostedProgram(request), "start first-reply");
    const int64_t t1 = MonoNs();
    ChildInfo done =
        Check(loop.loop->WaitHostedProgram(info.id, absl::Seconds(60)),
              "wait first-reply");
    auto kv = ReadKv(result);
    if (!done.exit.has_value() || !done.exit->success() || kv.count("error")) {
      Die(absl::StrCat("first-reply client failed: ", kv["error"]));
    }
    return Launch{KvInt(kv, "first_reply_ns") - t0, t1 - t0,
                  KvInt(kv, "main_ns") - t0};
  }

  const Settings& settings() const { return s_; }

 private:
  Settings s_;
  TempDir& dir_;
  int counter_ = 0;
};

// In-process costs of the host's work per call, without the loop: what the
// loop thread must spend on each request before any I/O.
struct HostWork {
  double parse_name_us = 0;  // Principal::Parse of a hosted program's name
  double authorize_us = 0;   // TaoDomain::Authorize(Seal), allow-all, no audit
  double encrypt32_us = 0;   // TaoHost::Encrypt, 32 B
  double decrypt32_us = 0;   // TaoHost::Decrypt, 32 B
  double encrypt1m_us = 0;   // TaoHost::Encrypt, 1 MiB
  double decrypt1m_us = 0;   // TaoHost::Decrypt, 1 MiB
  double attest_us = 0;      // TaoHost::Attest
  double random32_us = 0;    // TaoHost::GetRandomBytes(32)
};

template <typename F>
double MedianUs(int batches, int per_batch, F&& f) {
  std::vector<double> us;
  for (int b = 0; b < batches; ++b) {
    int64_t t0 = MonoNs();
    for (int i = 0; i < per_batch; ++i) f();
    us.push_back((MonoNs() - t0) / 1e3 / per_batch);
  }
  return Median(us);
}

HostWork MeasureHostWork(Host& h, bool quick) {
  HostWork w;
  const int batches = quick ? 3 : 9;
  // A hosted program's name as the loop sees it: host + Program + Args.
  tao::Principal name = h.host->name();
  name = Check(
      name.Extend(Check(tao::Subprincipal::Program(tao::Sha256("program")),
                        "Program sub")),
      "extend");
  name = Check(name.Extend(Check(tao::Subprincipal::Args(tao::Sha256("args")),
                                 "Args sub")),
               "extend");
  const std::string text = name.text();
  const tao::Caller caller = tao::Caller::Program(name);
  const std::string small(32, 'd'), big(1 << 20, 'd');
  const std::string sealed_small =
      Check(h.host->Encrypt(small, "SameProgram", name), "enc");
  const std::string sealed_big =
      Check(h.host->Encrypt(big, "SameProgram", name), "enc");
  tao::Statement statement;
  statement.mutable_predicate()->set_name("bench");
  w.parse_name_us = MedianUs(batches, 200, [&] {
    if (!tao::Principal::Parse(text).ok()) Die("parse");
  });
  w.authorize_us = MedianUs(batches, 200, [&] {
    if (!h.domain->Authorize(caller, "Seal").allowed) Die("authorize");
  });
  w.encrypt32_us = MedianUs(batches, 500, [&] {
    if (!h.host->Encrypt(small, "SameProgram", name).ok()) Die("encrypt");
  });
  w.decrypt32_us = MedianUs(batches, 200, [&] {
    if (!h.host->Decrypt(sealed_small).ok()) Die("decrypt");
  });
  w.encrypt1m_us = MedianUs(batches, quick ? 5 : 20, [&] {
    if (!h.host->Encrypt(big, "SameProgram", name).ok()) Die("encrypt");
  });
  w.decrypt1m_us = MedianUs(batches, quick ? 5 : 20, [&] {
    if (!h.host->Decrypt(sealed_big).ok()) Die("decrypt");
  });
  w.attest_us = MedianUs(batches, 100, [&] {
    if (!h.host->Attest(name, statement).ok()) Die("attest");
  });
  w.random32_us = MedianUs(batches, 500, [&] {
    if (!h.host->GetRandomBytes(32).ok()) Die("random");
  });
  return w;
}

// Where MeasureExecutable's time goes, step by step on the same file, and
// what a single pass would cost: for the proposals in the launch rows.
struct MeasureSteps {
  double copy_ms = 0;  // memfd_create + sendfile of the file into it
  double hash_mmap_ms =
      0;  // mmap of the memfd + SHA-256 (what MeasureExecutable does)
  double hash_populate_ms = 0;  // the same with MAP_POPULATE
  double fused_ms = 0;  // one pass: read 1 MiB chunks, hash, write into a memfd
};

MeasureSteps MeasureMeasurement(const std::string& path, int rounds) {
  std::vector<double> copy, mmap_hash, populate_hash, fused;
  for (int i = 0; i < rounds; ++i) {
    int file = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (file < 0) Die("open " + path);
    int64_t t0 = MonoNs();
    int memfd = memfd_create("bench-copy", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    size_t size = 0;
    while (true) {
      ssize_t n = sendfile(memfd, file, nullptr, 1 << 30);
      if (n <= 0) break;
      size += static_cast<size_t>(n);
    }
    copy.push_back((MonoNs() - t0) / 1e6);
    for (bool populate : {false, true}) {
      t0 = MonoNs();
      void* map = mmap(nullptr, size, PROT_READ,
                       MAP_SHARED | (populate ? MAP_POPULATE : 0), memfd, 0);
      if (map == MAP_FAILED) Die("mmap");
      std::string d =
          tao::Sha256(absl::string_view(static_cast<const char*>(map), size));
      munmap(map, size);
      (populate ? populate_hash : mmap_hash).push_back((MonoNs() - t0) / 1e6);
    }
    close(memfd);
    lseek(file, 0, SEEK_SET);
    t0 = MonoNs();
    memfd = memfd_create("bench-fused", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    static std::string buf(1 << 20, '\0');
    tao::Sha256Hasher hasher;
    while (true) {
      ssize_t n = read(file, buf.data(), buf.size());
      if (n <= 0) break;
      hasher.Update(absl::string_view(buf.data(), static_cast<size_t>(n)));
      WriteFull(memfd, buf.data(), static_cast<size_t>(n));
    }
    std::string d = hasher.Finish();
    fused.push_back((MonoNs() - t0) / 1e6);
    close(memfd);
    close(file);
  }
  return MeasureSteps{Median(copy), Median(mmap_hash), Median(populate_hash),
                      Median(fused)};
}

// ---- The table --------------------------------------------------------------

struct Row {
  std::string metric, value, baseline, ratio, goal, met, limit;
};

std::string Us(int64_t ns) { return absl::StrFormat("%.1f us", ns / 1e3); }
std::string Ms(double ms) { return absl::StrFormat("%.2f ms", ms); }
std::string X(double r) { return absl::StrFormat("%.2fx", r); }
double MBps(int64_t bytes, int64_t ns) { return ns > 0 ? bytes * 1e3 / ns : 0; }
std::string MBs(double v) { return absl::StrFormat("%.0f MB/s", v); }

void PrintTable(const std::vector<Row>& rows) {
  size_t w[6] = {6, 5, 8, 5, 4, 4};
  for (const Row& r : rows) {
    w[0] = std::max(w[0], r.metric.size());
    w[1] = std::max(w[1], r.value.size());
    w[2] = std::max(w[2], r.baseline.size());
    w[3] = std::max(w[3], r.ratio.size());
    w[4] = std::max(w[4], r.goal.size());
    w[5] = std::max(w[5], r.met.size());
  }
  auto line = [&](const std::string& a, const std::string& b,
                  const std::string& c, const std::string& d,
                  const std::string& e, const std::string& f) {
    std::printf("%-*s | %*s | %*s | %*s | %-*s | %s\n", static_cast<int>(w[0]),
                a.c_str(), static_cast<int>(w[1]), b.c_str(),
                static_cast<int>(w[2]), c.c_str(), static_cast<int>(w[3]),
                d.c_str(), static_cast<int>(w[4]), e.c_str(), f.c_str());
  };
  line("metric", "value", "baseline", "ratio", "goal", "met?");
  std::printf(
      "%s\n",
      std::string(w[0] + w[1] + w[2] + w[3] + w[4] + w[5] + 15, '-').c_str());
  for (const Row& r : rows) {
    if (r.metric.empty()) {
      std::printf("\n");
      continue;
    }
    line(r.metric, r.value, r.baseline, r.ratio, r.goal, r.met);
    if (!r.limit.empty()) std::printf("    limited by: %s\n", r.limit.c_str());
  }
}

// One phase (unpinned or pinned) of rows 1-3.
struct PhaseResult {
  Series raw32, raw1m, raw1m_bigpipe, name, random32, seal32, unseal32, seal1m,
      unseal1m, attest, seal32_socket, seal32_audit;
};

PhaseResult RunPhase(Bench& bench, Host& h) {
  const Settings& s = bench.settings();
  PhaseResult p;
  if (s.Want("raw32")) p.raw32 = bench.Raw(32, s.iters_small);
  if (s.Want("raw1m")) p.raw1m = bench.Raw(1 << 20, s.iters_big);
  if (s.Want("raw1m_bigpipe"))
    p.raw1m_bigpipe = bench.Raw(1 << 20, s.iters_big, 1 << 20);
  {
    Loop loop = MakeLoop(h, *h.domain);
    if (s.Want("name")) p.name = bench.Rpc(loop, "name", 0, s.iters_small);
    if (s.Want("random32"))
      p.random32 = bench.Rpc(loop, "random", 32, s.iters_small);
    if (s.Want("seal32")) p.seal32 = bench.Rpc(loop, "seal", 32, s.iters_small);
    if (s.Want("unseal32"))
      p.unseal32 = bench.Rpc(loop, "unseal", 32, s.iters_small);
    if (s.Want("seal1m"))
      p.seal1m = bench.Rpc(loop, "seal", 1 << 20, s.iters_big);
    if (s.Want("unseal1m"))
      p.unseal1m = bench.Rpc(loop, "unseal", 1 << 20, s.iters_big);
    if (s.Want("attest"))
      p.attest = bench.Rpc(loop, "attest", 0, s.iters_attest);
    if (s.Want("seal32_socket")) {
      p.seal32_socket =
          bench.Rpc(loop, "seal", 32, s.iters_small, "socketpair");
    }
  }
  if (s.Want("seal32_audit")) {
    Loop loop = MakeLoop(h, *h.audit_domain);
    p.seal32_audit = bench.Rpc(loop, "seal", 32, s.iters_audit);
  }
  return p;
}

std::string Cpu(const Series& x, const char* server) {
  std::string out = absl::StrFormat(
      "%s CPU %.1f us/op + client CPU %.1f us/op (unaccounted: %.1f us)",
      server, x.server_cpu_per_op_us(), x.client_cpu_per_op_us(),
      std::max(0.0, x.median_ns / 1e3 - x.server_cpu_per_op_us() -
                        x.client_cpu_per_op_us()));
  if (x.other_pct >= 5) {
    absl::StrAppend(
        &out, absl::StrFormat(" [other processes used %.0f%% of the machine "
                              "during this row]",
                              x.other_pct));
  }
  return out;
}

bool Ran(const Series& x) { return x.iterations > 0; }

void AddPhaseRows(const PhaseResult& p, const HostWork& w,
                  const std::string& tag, double seal_goal,
                  std::vector<Row>* rows) {
  const bool have_raw = Ran(p.raw32);
  auto vs_raw = [&](const std::string& metric, const Series& x,
                    std::string goal, double goal_ratio, std::string limit) {
    if (!Ran(x)) return;
    double r =
        have_raw ? static_cast<double>(x.median_ns) / p.raw32.median_ns : 0;
    rows->push_back(
        {metric + " " + tag, Us(x.median_ns) + " (p99 " + Us(x.p99_ns) + ")",
         have_raw ? Us(p.raw32.median_ns) + " raw" : "-", have_raw ? X(r) : "-",
         goal,
         goal_ratio > 0 && have_raw ? (r <= goal_ratio ? "yes" : "NO") : "-",
         std::move(limit)});
  };
  if (have_raw) {
    rows->push_back(
        {"raw pipe RTT 32 B " + tag,
         Us(p.raw32.median_ns) + " (p99 " + Us(p.raw32.p99_ns) + ")", "-", "-",
         "-", "-",
         Cpu(p.raw32, "echo thread") +
             "; 1 write + 1 read per side, 2 context switches per round trip"});
  }
  // The channel's own loop CPU per call: GetRandomBytes' minus RAND_bytes.
  const double channel_us =
      Ran(p.random32)
          ? std::max(0.0, p.random32.server_cpu_per_op_us() - w.random32_us)
          : 0;
  const double raw_us = have_raw ? p.raw32.median_ns / 1e3 : 0;
  vs_raw("GetTaoName RTT", p.name, "-", 0,
         Cpu(p.name, "loop") +
             absl::StrFormat(
                 "; no crypto in the host; the client's RpcTao::GetTaoName "
                 "parses the name it gets (Principal::Parse %.1f us)",
                 w.parse_name_us));
  vs_raw(
      "GetRandomBytes 32 B", p.random32, "-", 0,
      Cpu(p.random32, "loop") +
          absl::StrFormat(
              "; RAND_bytes %.1f us, so this is the channel's own cost: 8 "
              "syscalls per call against raw's 4 (loop: epoll_wait, read, "
              "write; client: rt_sigpending, 2 rt_sigprocmask around the pipe "
              "write, read), protobuf, and the loop's lock per event",
              w.random32_us));
  vs_raw(
      "Seal 32 B", p.seal32, absl::StrFormat("<= %.1fx", seal_goal), seal_goal,
      Cpu(p.seal32, "loop") +
          absl::StrFormat(
              "; in the loop: Authorize(Seal) %.1f us (rule matchers parsed at "
              "policy "
              "load) + Encrypt %.1f us (nonce, HKDF, AES-GCM) + the channel's "
              "~%.1f us. "
              "A loop with no overhead at all would still be (raw + Authorize "
              "+ "
              "Encrypt) / raw = %.1fx",
              w.authorize_us, w.encrypt32_us, channel_us,
              raw_us > 0 ? (raw_us + w.authorize_us + w.encrypt32_us) / raw_us
                         : 0));
  vs_raw("Unseal 32 B", p.unseal32, "-", 0,
         Cpu(p.unseal32, "loop") +
             absl::StrFormat(
                 "; in the loop: Decrypt %.1f us (HKDF, AES-GCM, "
                 "Principal::Parse of the sealer) + the SameProgram check + "
                 "the channel; the client's RpcTao::Unseal parses the sealer "
                 "again",
                 w.decrypt32_us));
  vs_raw(
      "Attest", p.attest, "-", 0,
      Cpu(p.attest, "loop") +
          absl::StrFormat("; in the loop: TaoHost::Attest %.1f us (ECDSA P-256 "
                          "signing) + Authorize(Attest) %.1f us + the channel",
                          w.attest_us, w.authorize_us));
  vs_raw(
      "Seal 32 B socketpair", p.seal32_socket, "-", 0,
      Cpu(p.seal32_socket, "loop") + "; the same work over an AF_UNIX socket");
  if (Ran(p.seal32_audit)) {
    double r = Ran(p.seal32) ? static_cast<double>(p.seal32_audit.median_ns) /
                                   p.seal32.median_ns
                             : 0;
    rows->push_back({"Seal 32 B + audit trail " + tag,
                     Us(p.seal32_audit.median_ns) + " (p99 " +
                         Us(p.seal32_audit.p99_ns) + ")",
                     Ran(p.seal32) ? Us(p.seal32.median_ns) + " no audit" : "-",
                     Ran(p.seal32) ? X(r) : "-", "-", "-",
                     Cpu(p.seal32_audit, "loop") +
                         "; AuditLog::Append = write + fdatasync per decision, "
                         "on the loop thread: "
                         "the disk's flush latency, and every other program "
                         "waits behind it"});
  }
  auto mb_row = [&](const std::string& metric, const Series& x,
                    const Series& base, double goal, std::string limit) {
    if (!Ran(x)) return;
    double v = MBps(1 << 20, x.median_ns), b = MBps(1 << 20, base.median_ns);
    rows->push_back(
        {metric + " " + tag, MBs(v) + " (" + Us(x.median_ns) + ")",
         Ran(base) ? MBs(b) + " raw" : "-", Ran(base) ? X(v / b) : "-",
         goal > 0 ? absl::StrFormat(">= %.0f MB/s", goal) : "-",
         goal > 0 ? (v >= goal ? "yes" : "NO") : "-", std::move(limit)});
  };
  if (Ran(p.raw1m)) {
    rows->push_back(
        {"raw pipe 1 MiB RTT " + tag,
         MBs(MBps(1 << 20, p.raw1m.median_ns)) + " (" + Us(p.raw1m.median_ns) +
             ")",
         "-", "-", "-", "-",
         Cpu(p.raw1m, "echo thread") +
             "; 4 copies of 1 MiB through the kernel, 64 KiB pipe buffers"});
  }
  mb_row("raw pipe 1 MiB RTT, 1 MiB pipe buffers", p.raw1m_bigpipe, p.raw1m, 0,
         Cpu(p.raw1m_bigpipe, "echo thread") +
             "; F_SETPIPE_SZ(1 MiB): fewer wake-ups, but no faster: the copies "
             "dominate");
  mb_row(
      "Seal 1 MiB", p.seal1m, p.raw1m, 1000,
      Cpu(p.seal1m, "loop") +
          absl::StrFormat(
              "; of the loop's CPU, Encrypt is %.0f us (AES-GCM, sealed "
              "straight into the response frame); the other %.0f us are 2 "
              "MiB through the pipes and the frame's zero-fill; the client "
              "sends the caller's bytes with one writev and copies the "
              "bundle once out of its read buffer",
              w.encrypt1m_us,
              std::max(0.0, p.seal1m.server_cpu_per_op_us() - w.encrypt1m_us)));
  mb_row(
      "Unseal 1 MiB", p.unseal1m, p.raw1m, 1000,
      Cpu(p.unseal1m, "loop") +
          absl::StrFormat(
              "; of the loop's CPU, Decrypt is %.0f us (in-process "
              "TaoHost::Decrypt into a zero-filled SecretString; the loop "
              "decrypts straight into the response frame); the other %.0f us "
              "are 2 MiB through the pipes and the wipe of the sent "
              "plaintext",
              w.decrypt1m_us,
              std::max(0.0,
                       p.unseal1m.server_cpu_per_op_us() - w.decrypt1m_us)));
}

// ---- The storm (phase 7), in a fresh host process ---------------------------

int RunStormPhase(const Settings& s, const std::string& out) {
  RaiseNofile(static_cast<rlim_t>(s.children) * 8 + 256);
  TempDir dir;
  Host h;
  h.Make("");
  // As taohost runs by default: with the measurement cache.
  Loop loop = MakeLoop(h, *h.domain, &h.cached_factory);
  if (s.loop_nice.has_value()) {
    for (pid_t tid : loop.tids) {
      if (setpriority(PRIO_PROCESS, static_cast<id_t>(tid), *s.loop_nice) !=
          0) {
        Die("setpriority on the loop's thread failed");
      }
    }
  }
  if (s.loop_sched == "fifo") {
    struct sched_param param = {};
    param.sched_priority = 1;
    for (pid_t tid : loop.tids) {
      if (sched_setscheduler(tid, SCHED_FIFO, &param) != 0)
        Die("SCHED_FIFO failed");
    }
  } else if (s.loop_sched == "split") {
    cpu_set_t all, last, rest;
    CPU_ZERO(&all);
    sched_getaffinity(0, sizeof(all), &all);
    int last_cpu = -1;
    for (int i = 0; i < CPU_SETSIZE; ++i) {
      if (CPU_ISSET(i, &all)) last_cpu = i;
    }
    if (CPU_COUNT(&all) < 2) Die("--loop-sched=split needs 2 CPUs");
    CPU_ZERO(&last);
    CPU_SET(last_cpu, &last);
    rest = all;
    CPU_CLR(last_cpu, &rest);
    for (pid_t tid : loop.tids) {
      if (sched_setaffinity(tid, sizeof(last), &last) != 0)
        Die("affinity failed");
    }
    if (sched_setaffinity(0, sizeof(rest), &rest) != 0) Die("affinity failed");
  } else if (!s.loop_sched.empty()) {
    Die("--loop-sched=fifo|split");
  }
  const int64_t hwm_idle_kb = StatusKb("VmHWM");
  // The clients block reading start_at from this FIFO; it is written once
  // every child is started and connected, so no start lands in the sealing
  // window however long the starts take. Held open read-write here, so the
  // clients' opens never block and the FIFO never sees EOF. The clients run
  // as dynamic uids of their own, so it is readable by all (0644, set
  // past the umask) and writable only by this harness.
  const std::string go = dir.Join("go");
  if (mkfifo(go.c_str(), 0600) != 0) Die("mkfifo failed");
  if (chmod(go.c_str(), 0644) != 0) Die("chmod the start FIFO");
  const int go_fd = open(go.c_str(), O_RDWR | O_CLOEXEC);
  if (go_fd < 0) Die("open the start FIFO");
  std::vector<uint64_t> ids;
  std::vector<std::string> results;
  std::vector<int64_t> per_start;
  std::string error;
  const int64_t t_begin = MonoNs();
  for (int i = 0; i < s.children; ++i) {
    tao::StartRequest request;
    request.process().path = s.client;
    results.push_back(dir.Join(absl::StrCat("storm-", i, ".txt")));
    request.process().args = {"seal-storm", "@" + go,
                              absl::StrCat(s.storm_seals), results.back()};
    const int64_t t0 = MonoNs();
    auto info = loop.loop->StartHostedProgram(request);
    per_start.push_back(MonoNs() - t0);
    if (!info.ok()) {
      error = absl::StrCat("start child ", i, ": ", info.status().ToString());
      break;
    }
    ids.push_back(info->id);
  }
  const int64_t t_started = MonoNs();
  const int64_t hwm_started_kb = StatusKb("VmHWM");
  // Every child has made its first call (GetTaoName) once its count is >= 1.
  const std::set<uint64_t> ours(ids.begin(), ids.end());
  while (MonoNs() - t_started < int64_t{120} * 1000000000) {
    size_t connected = 0;
    for (const ChildInfo& c : loop.loop->ListHostedPrograms()) {
      if (ours.count(c.id) &&
          (c.calls >= 1 || c.state == tao::ProgramState::kExited)) {
        ++connected;
      }
    }
    if (connected == ids.size()) break;
    usleep(2000);
  }
  const int64_t t_connected = MonoNs();
  const int64_t start_at = t_connected + 100 * 1000000;
  {
    // One 21-byte record per child (atomic: below PIPE_BUF); each client
    // reads exactly one. The pipe holds 64 KiB, about 3,100 records; a larger
    // storm is written by this blocking write as the clients drain it.
    const std::string record = absl::StrFormat("%020d\n", start_at);
    std::string all;
    for (size_t i = 0; i < ids.size(); ++i) all += record;
    WriteFull(go_fd, all.data(), all.size());
  }
  while (MonoNs() < start_at) {
    struct timespec at = {static_cast<time_t>(start_at / 1000000000),
                          static_cast<long>(start_at % 1000000000)};  // NOLINT
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr);
  }
  const ThreadUsage u0 = UsageOf(loop.tids);
  int failed = 0;
  std::string first_failure;
  for (uint64_t id : ids) {
    auto done = loop.loop->WaitHostedProgram(id, absl::Seconds(300));
    if (!done.ok() || !done->exit.has_value() || !done->exit->success()) {
      ++failed;
      if (first_failure.empty()) {
        first_failure = done.ok()
                            ? (done->exit ? done->exit->ToString() : "no exit")
                            : done.status().ToString();
      }
    }
  }
  const ThreadUsage u1 = UsageOf(loop.tids);
  int64_t seals = 0, latest_finish = 0, earliest_begin = INT64_MAX;
  int bad_results = 0;
  std::string first_error;
  for (const std::string& r : results) {
    auto kv = ReadKv(r);
    if (kv.count("error") || KvInt(kv, "finish_ns") <= 0) {
      ++bad_results;
      if (first_error.empty())
        first_error = kv.count("error") ? kv["error"] : "no result";
      continue;
    }
    seals += std::max<int64_t>(0, KvInt(kv, "seals"));
    latest_finish = std::max(latest_finish, KvInt(kv, "finish_ns"));
    earliest_begin = std::min(earliest_begin, KvInt(kv, "begin_ns"));
  }
  loop.loop.reset();
  close(go_fd);
  const int64_t hwm_kb = StatusKb("VmHWM");
  // Per-start cost early and late: it grows with the number of children.
  const size_t tenth = std::max<size_t>(1, per_start.size() / 10);
  std::vector<int64_t> first(
      per_start.begin(), per_start.begin() + std::min(tenth, per_start.size()));
  std::vector<int64_t> last(per_start.end() - std::min(tenth, per_start.size()),
                            per_start.end());
  failed = std::max(failed, bad_results);
  if (!first_error.empty()) first_failure = first_error;
  std::ofstream o(out);
  o << "children=" << s.children << "\nstarted=" << ids.size()
    << "\nfailed=" << failed << "\nfirst_failure=" << first_failure
    << "\nstart_error=" << error << "\nseals=" << seals
    << "\nstart_all_ns=" << (t_started - t_begin)
    << "\nconnect_wait_ns=" << (t_connected - t_started)
    << "\nstart_first_tenth_ns=" << Median(first)
    << "\nstart_last_tenth_ns=" << Median(last)
    << "\nwindow_ns=" << (latest_finish - start_at)
    << "\nbegin_skew_ns=" << (earliest_begin - start_at)
    << "\nloop_cpu_ns=" << (u1.cpu_ns - u0.cpu_ns)
    << "\nloop_switches=" << (u1.voluntary_switches - u0.voluntary_switches)
    << "\nloop_preemptions="
    << (u1.involuntary_switches - u0.involuntary_switches)
    << "\nhwm_idle_kb=" << hwm_idle_kb << "\nhwm_started_kb=" << hwm_started_kb
    << "\nhwm_kb=" << hwm_kb << "\n";
  return 0;
}

struct Storm {
  std::map<std::string, std::string> kv;
  int64_t Get(const std::string& k) const { return KvInt(kv, k); }
  double seals_per_s() const {
    return Get("window_ns") > 0 ? Get("seals") * 1e9 / Get("window_ns") : 0;
  }
};

Storm RunStorm(const Settings& s, int children, TempDir& dir) {
  std::string out = dir.Join(absl::StrCat("storm-", children, ".txt"));
  std::vector<std::string> args = {"tao_loop_bench",
                                   "--phase=storm",
                                   absl::StrCat("--children=", children),
                                   absl::StrCat("--seals=", s.storm_seals),
                                   "--client=" + s.client,
                                   "--out=" + out};
  if (s.loop_nice.has_value())
    args.push_back(absl::StrCat("--loop-nice=", *s.loop_nice));
  if (!s.loop_sched.empty()) args.push_back("--loop-sched=" + s.loop_sched);
  pid_t pid = Spawn("/proc/self/exe", args, {});
  int status = WaitPid(pid);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    Die("the storm process failed");
  Storm st;
  st.kv = ReadKv(out);
  return st;
}

// ---- Main -------------------------------------------------------------------

std::string Header(const Settings& s) {
  struct utsname u;
  uname(&u);
  std::string cpu_model = "?";
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "model name")) {
      cpu_model = line.substr(line.find(':') + 2);
      break;
    }
  }
  struct stat small, big;
  stat(s.client.c_str(), &small);
  stat(s.big_client.c_str(), &big);
  return absl::StrFormat(
      "tao_loop_bench (%s run)\n"
      "  kernel %s %s, %s, %ld online CPUs, clocksource %s\n"
      "  CPU affinity at start: %s\n"
      "  client %s (%.1f MB), big client %s (%.1f MB)\n"
      "  iterations: %d small, %d attest, %d 1 MiB, %d audited; %d launches; "
      "storm %d "
      "children x %d Seals\n",
      s.quick ? "quick" : "full", u.sysname, u.release, cpu_model,
      sysconf(_SC_NPROCESSORS_ONLN),
      absl::StripAsciiWhitespace(ReadFile(
          "/sys/devices/system/clocksource/clocksource0/current_clocksource")),
      CurrentAffinity(), s.client, small.st_size / 1e6, s.big_client,
      big.st_size / 1e6, s.iters_small, s.iters_attest, s.iters_big,
      s.iters_audit, s.launches, s.children, s.storm_seals);
}

int Main(int argc, char** argv) {
  // As taohost does (apps/taohost/main.cc): no lock-order bookkeeping on
  // every acquisition in the host.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const std::vector<std::string> child_env =
      tao::bench::RepeatedFlag(argc, argv, "child_env");
  tao::bench::ParseBenchFlags(
      "the listen loop with real hosted processes, against "
      "raw pipes.\nUsage: tao_loop_bench [flags]; see bench/e2e/README.md.",
      "bench/e2e/", &argc, &argv);
  auto non_negative = [](int64_t v, const char* flag) {
    if (v < 0) Die(absl::StrCat("bad number in --", flag, "=", v));
    return v;
  };
  Settings s;
  s.quick = FLAGS_quick;
  s.storm = !FLAGS_no_storm;
  s.children = static_cast<int>(non_negative(FLAGS_children, "children"));
  const bool children_set = tao::bench::FlagWasSet("children");
  s.storm_seals = static_cast<int>(non_negative(FLAGS_seals, "seals"));
  if (tao::bench::FlagWasSet("cpu"))
    s.cpu = static_cast<int>(non_negative(FLAGS_cpu, "cpu"));
  s.client = FLAGS_client;
  s.big_client = FLAGS_big_client;
  const std::string phase = FLAGS_phase, out = FLAGS_out;
  for (absl::string_view k : absl::StrSplit(FLAGS_only, ',', absl::SkipEmpty()))
    s.only.insert(std::string(k));
  for (const std::string& v : child_env) {
    size_t eq = v.find('=');
    if (eq == std::string::npos) Die("--child-env=NAME=VALUE");
    s.child_env.emplace_back(v.substr(0, eq), v.substr(eq + 1));
  }
  if (tao::bench::FlagWasSet("loop_nice")) s.loop_nice = FLAGS_loop_nice;
  s.loop_sched = FLAGS_loop_sched;
  s.iters_small = non_negative(FLAGS_iterations, "iterations");
  s.iters_big = non_negative(FLAGS_iterations_1mib, "iterations-1mib");
  // The loop logs every start and exit at INFO; keep the table readable.
  FLAGS_minloglevel = google::GLOG_WARNING;
  FLAGS_logtostderr = true;
  signal(SIGPIPE, SIG_IGN);

  if (phase == "storm") return RunStormPhase(s, out);
  if (!phase.empty()) Die("unknown --phase");

  if (s.quick) {
    s.iters_small = std::min<int64_t>(s.iters_small, 2000);
    s.iters_attest = 300;
    s.iters_big = std::min<int64_t>(s.iters_big, 30);
    s.iters_audit = 50;
    s.launches = 8;
    s.hashes = 5;
    if (!children_set) s.children = 100;
    s.storm_seals = std::min(s.storm_seals, 20);
    s.storm_compare = 0;
  }

  std::printf("%s  loadavg at start: %s\n\n", Header(s).c_str(),
              LoadMeter::LoadAvg().c_str());
  std::fflush(stdout);
  const LoadMeter::Snap load0 = LoadMeter::Take();
  const int64_t run_start = MonoNs();
  auto progress = [&](const std::string& what) {
    std::fprintf(stderr, "[%5.1fs] %s\n", (MonoNs() - run_start) / 1e9,
                 what.c_str());
  };
  TempDir dir;
  Host h;
  h.Make(dir.Join("audit.log"));
  Bench bench(s, dir);
  progress("host work in-process");
  HostWork work = MeasureHostWork(h, s.quick);

  cpu_set_t original;
  CPU_ZERO(&original);
  sched_getaffinity(0, sizeof(original), &original);
  int pin_cpu = s.cpu;
  if (pin_cpu < 0) {
    for (int i = 0; i < CPU_SETSIZE; ++i) {
      if (CPU_ISSET(i, &original)) pin_cpu = i;
    }
  }
  const bool started_pinned = CPU_COUNT(&original) == 1;

  // 1-3 unpinned.
  PhaseResult unpinned, pinned;
  if (s.WantPhase("unpinned")) {
    progress("unpinned phase, " + CurrentAffinity());
    unpinned = RunPhase(bench, h);
  }
  // 1-3 pinned: this thread first, so the new loop's threads, the echo
  // threads and every child inherit the mask.
  std::string pinned_affinity = "-";
  if (s.WantPhase("pinned")) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(pin_cpu, &one);
    if (sched_setaffinity(0, sizeof(one), &one) != 0)
      Die("sched_setaffinity failed");
    pinned_affinity = CurrentAffinity();
    progress("pinned phase, " + pinned_affinity);
    pinned = RunPhase(bench, h);
    if (sched_setaffinity(0, sizeof(original), &original) != 0)
      Die("restore affinity");
  }

  // 5. Launch latency, unpinned.
  std::vector<int64_t> small_reply, small_call, small_main, big_reply, big_call,
      big_main, spawn_small, spawn_big, spawn_small_main, spawn_big_main;
  std::vector<int64_t> cold_big_reply, cold_big_call, cold_small_reply;
  std::vector<int64_t> measure_big_hit;
  std::vector<int64_t> measure_big, measure_small, openssl_big, sha_mem;
  size_t big_size = 0;
  MeasureSteps steps;
  if (s.Want("launch")) {
    progress("launches");
    {
      // Cache off: every start copies and hashes the file.
      Loop cold = MakeLoop(h, *h.domain);
      bench.LaunchOnce(cold, s.client);  // warm the page cache and the loop
      bench.LaunchOnce(cold, s.big_client);
      for (int i = 0; i < s.launches; ++i) {
        cold_small_reply.push_back(
            bench.LaunchOnce(cold, s.client).first_reply_ns);
        auto b = bench.LaunchOnce(cold, s.big_client);
        cold_big_reply.push_back(b.first_reply_ns);
        cold_big_call.push_back(b.start_call_ns);
      }
    }
    // taohost's default, the measurement cache: the warm-up starts measure
    // (and cache) each binary once; the timed ones find it measured.
    Loop loop = MakeLoop(h, *h.domain, &h.cached_factory);
    bench.LaunchOnce(loop, s.client);
    bench.LaunchOnce(loop, s.big_client);
    for (int i = 0; i < s.launches; ++i) {
      auto a = bench.LaunchOnce(loop, s.client);
      small_reply.push_back(a.first_reply_ns);
      small_call.push_back(a.start_call_ns);
      small_main.push_back(a.to_main_ns);
      auto b = bench.LaunchOnce(loop, s.big_client);
      big_reply.push_back(b.first_reply_ns);
      big_call.push_back(b.start_call_ns);
      big_main.push_back(b.to_main_ns);
    }
    for (int i = 0; i < s.launches; ++i) {
      int64_t t = 0, m = 0;
      bench.Raw(32, 1, 0, &s.client, &t, &m);
      spawn_small.push_back(t);
      spawn_small_main.push_back(m);
      bench.Raw(32, 1, 0, &s.big_client, &t, &m);
      spawn_big.push_back(t);
      spawn_big_main.push_back(m);
    }
    // MeasureExecutable alone vs `openssl dgst -sha256` vs SHA-256 in memory.
    for (int i = 0; i < s.hashes; ++i) {
      int64_t t0 = MonoNs();
      auto m = Check(tao::MeasureExecutable(s.big_client, size_t{1} << 30),
                     "measure big");
      measure_big.push_back(MonoNs() - t0);
      big_size = m.size;
      tao::MeasurementCache cache(size_t{1} << 30);
      Check(tao::MeasureExecutable(s.big_client, size_t{1} << 30, &cache),
            "fill");
      t0 = MonoNs();
      Check(tao::MeasureExecutable(s.big_client, size_t{1} << 30, &cache),
            "hit");
      measure_big_hit.push_back(MonoNs() - t0);
      t0 = MonoNs();
      Check(tao::MeasureExecutable(s.client, size_t{1} << 30), "measure small");
      measure_small.push_back(MonoNs() - t0);
      t0 = MonoNs();
      tao::bench::SpawnOptions on_path;
      on_path.search_path = true;
      pid_t pid = Spawn("openssl", {"openssl", "dgst", "-sha256", s.big_client},
                        {}, on_path);
      int st = WaitPid(pid);
      openssl_big.push_back(MonoNs() - t0);
      if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) Die("openssl dgst failed");
    }
    steps = MeasureMeasurement(s.big_client, s.hashes);
    std::string bytes = ReadFile(s.big_client);
    for (int i = 0; i < s.hashes; ++i) {
      int64_t t0 = MonoNs();
      std::string d = tao::Sha256(bytes);
      sha_mem.push_back(MonoNs() - t0);
      if (d.size() != 32) Die("sha256");
    }
  }

  // 6. Denied launches.
  std::vector<int64_t> denied_small, denied_big;
  if (s.Want("denied")) {
    progress("denied launches");
    Loop loop = MakeLoop(h, *h.domain);
    Check(h.domain->Reload(h.Signed(h.ExecuteToNobody())),
          "reload deny policy");
    for (int i = 0; i < s.launches; ++i) {
      for (const std::string* binary : {&s.client, &s.big_client}) {
        tao::StartRequest request;
        request.process().path = *binary;
        request.process().args = {"first-reply", dir.Join("denied.txt")};
        int64_t t0 = MonoNs();
        auto started = loop.loop->StartHostedProgram(request);
        int64_t t = MonoNs() - t0;
        if (started.ok() || !absl::IsPermissionDenied(started.status())) {
          Die(absl::StrCat("a launch was not denied: ",
                           started.status().ToString()));
        }
        (binary == &s.client ? denied_small : denied_big).push_back(t);
      }
    }
    Check(h.domain->Reload(h.Signed(h.AllowAll())), "reload allow policy");
  }

  // 7. The storm, in a fresh host process (unpinned).
  Storm storm, storm_small;
  if (s.storm && s.Want("storm")) {
    progress(absl::StrFormat("storm: %d children x %d Seals", s.children,
                             s.storm_seals));
    storm = RunStorm(s, s.children, dir);
    if (s.storm_compare > 0 && s.storm_compare < s.children) {
      progress(absl::StrFormat("storm: %d children (scaling comparison)",
                               s.storm_compare));
      storm_small = RunStorm(s, s.storm_compare, dir);
    }
  }
  const LoadMeter::Snap load1 = LoadMeter::Take();

  // ---- The table ----
  std::vector<Row> rows;
  if (s.WantPhase("unpinned")) {
    AddPhaseRows(unpinned, work, "[unpinned]", 1.3, &rows);
    rows.push_back({});
  }
  if (s.WantPhase("pinned")) {
    AddPhaseRows(pinned, work, "[pinned]", 2.0, &rows);
    rows.push_back({});
  }
  const double big_mb = big_size / 1e6;
  if (!small_reply.empty()) {
    int64_t v = Median(small_reply), b = Median(spawn_small);
    rows.push_back(
        {"launch small -> first reply", Ms(v / 1e6),
         Ms(b / 1e6) + " posix_spawn", X(static_cast<double>(v) / b), "-", "-",
         absl::StrFormat(
             "measurement cache on (taohost's default); StartHostedProgram "
             "returns at %.2f ms (cache hit, then clone(CLONE_VM|CLONE_VFORK) "
             "and a wait for exec); the child's main() at %.2f ms "
             "(posix_spawn: %.2f ms; exec + ld.so of ~30 shared libraries); "
             "its first reply %.2f ms later (connect, one GetTaoName round "
             "trip, the client's first use of OpenSSL). Cache off: %.2f ms "
             "(MeasureExecutable %.2f ms)",
             Median(small_call) / 1e6, Median(small_main) / 1e6,
             Median(spawn_small_main) / 1e6, (v - Median(small_main)) / 1e6,
             Median(cold_small_reply) / 1e6, Median(measure_small) / 1e6)});
  }
  if (!big_reply.empty()) {
    int64_t v = Median(big_reply), b = Median(spawn_big);
    rows.push_back(
        {absl::StrFormat("launch %.1f MB -> first reply", big_mb), Ms(v / 1e6),
         Ms(b / 1e6) + " posix_spawn", X(static_cast<double>(v) / b),
         "<= 10 ms", v <= 10000000 ? "yes" : "NO",
         absl::StrFormat(
             "measurement cache on (taohost's default; the file was "
             "measured once, at the first start): StartHostedProgram "
             "returns at %.2f ms (a cache hit: %.3f ms); main() at %.2f ms "
             "(posix_spawn: %.2f ms)",
             Median(big_call) / 1e6, Median(measure_big_hit) / 1e6,
             Median(big_main) / 1e6, Median(spawn_big_main) / 1e6)});
    int64_t c = Median(cold_big_reply);
    rows.push_back(
        {absl::StrFormat("launch %.1f MB, cache off", big_mb), Ms(c / 1e6),
         Ms(b / 1e6) + " posix_spawn", X(static_cast<double>(c) / b),
         "<= 10 ms", c <= 10000000 ? "yes" : "NO",
         absl::StrFormat(
             "every start measures (the first start of a new or changed "
             "file): StartHostedProgram returns at %.2f ms, of which "
             "MeasureExecutable %.2f ms (one pass: read, SHA-256 and write "
             "into a sealed memfd, %.1f MB)",
             Median(cold_big_call) / 1e6, Median(measure_big) / 1e6, big_mb)});
  }
  if (!measure_big.empty()) {
    double ours = MBps(static_cast<int64_t>(big_size), Median(measure_big));
    double theirs = MBps(static_cast<int64_t>(big_size), Median(openssl_big));
    double mem = MBps(static_cast<int64_t>(big_size), Median(sha_mem));
    rows.push_back(
        {absl::StrFormat("MeasureExecutable %.1f MB", big_mb),
         MBs(ours) + " (" + Ms(Median(measure_big) / 1e6) + ")",
         MBs(theirs) + " openssl dgst (" + Ms(Median(openssl_big) / 1e6) + ")",
         X(ours / theirs), ">= 0.80x", ours / theirs >= 0.8 ? "yes" : "NO",
         absl::StrFormat(
             "no cache: one pass (read 256 KiB, hash, write into the memfd); "
             "SHA-256 "
             "of the bytes in memory alone %.2f ms (%.0f MB/s), so hashing is "
             "most "
             "of it. The harness's own variants: sendfile into a memfd %.2f "
             "ms, then "
             "mmap and SHA-256 %.2f ms (%.2f ms with MAP_POPULATE); fused 1 "
             "MiB "
             "pass %.2f ms. openssl's wall time includes its own start",
             Median(sha_mem) / 1e6, mem, steps.copy_ms, steps.hash_mmap_ms,
             steps.hash_populate_ms, steps.fused_ms)});
  }
  if (!denied_small.empty()) {
    rows.push_back(
        {"denied launch small", Ms(Median(denied_small) / 1e6), "-", "-", "-",
         "-",
         "MeasureExecutable (no cache) + Authorize(Execute) (the deny "
         "reason); nothing is started"});
    rows.push_back(
        {absl::StrFormat("denied launch %.1f MB", big_mb),
         Ms(Median(denied_big) / 1e6), "-", "-", "-", "-",
         "the same, dominated by measuring 10 MB: the loop measures before it "
         "asks the domain"});
  }
  if (!storm.kv.empty()) {
    rows.push_back({});
    auto storm_rows = [&](const Storm& st, bool goals) {
      const int64_t n = st.Get("children");
      const std::string tag = absl::StrCat(n, " children");
      if (st.Get("failed") != 0 || st.Get("started") != n) {
        rows.push_back(
            {"storm, " + tag, "FAILED", "-", "-", "-", "NO",
             absl::StrCat(st.Get("failed"), " failed, ", st.Get("started"),
                          " started: ", st.kv.at("first_failure"), " ",
                          st.kv.at("start_error"))});
        return;
      }
      rows.push_back(
          {"storm: start " + tag, Ms(st.Get("start_all_ns") / 1e6), "-", "-",
           "-", "-",
           absl::StrFormat(
               "serial StartHostedProgram calls: %.2f ms each for the first "
               "tenth, %.2f ms for the last (each one measures the client "
               "(the storm host has no measurement cache), clones and waits "
               "for "
               "its exec); then %.0f ms until every child had connected",
               st.Get("start_first_tenth_ns") / 1e6,
               st.Get("start_last_tenth_ns") / 1e6,
               st.Get("connect_wait_ns") / 1e6)});
      const double rate = st.seals_per_s();
      const double seals = std::max<int64_t>(1, st.Get("seals"));
      rows.push_back(
          {"storm: aggregate Seals/s, " + tag, absl::StrFormat("%.0f /s", rate),
           "-", "-", goals ? ">= 17000 /s" : "-",
           goals ? (rate >= 17000 ? "yes" : "NO") : "-",
           absl::StrFormat(
               "%ld Seals in %.2f s; the loop's threads used %.1f us CPU per "
               "Seal but ran only %.0f%% of the window: never idle (%ld "
               "voluntary switches), preempted %ld times by the clients they "
               "wake, on %ld CPUs shared with %ld clients (try "
               "--loop-sched=fifo)",
               static_cast<long>(st.Get("seals")), st.Get("window_ns") / 1e9,
               st.Get("loop_cpu_ns") / 1e3 / seals,
               100.0 * st.Get("loop_cpu_ns") /
                   std::max<int64_t>(1, st.Get("window_ns")),
               static_cast<long>(st.Get("loop_switches")),
               static_cast<long>(st.Get("loop_preemptions")),
               static_cast<long>(sysconf(_SC_NPROCESSORS_ONLN)),
               static_cast<long>(n))});
      const double hwm = st.Get("hwm_kb") / 1024.0;
      const double idle = st.Get("hwm_idle_kb") / 1024.0;
      rows.push_back(
          {"storm: host peak RSS, " + tag, absl::StrFormat("%.1f MiB", hwm),
           absl::StrFormat("%.1f MiB idle host", idle), X(hwm / idle),
           goals ? "< 57 MiB" : "-", goals ? (hwm < 57 ? "yes" : "NO") : "-",
           absl::StrFormat(
               "VmHWM of the host process: %.0f KiB per child above the idle "
               "host (%.1f MiB after the starts, before any Seal): the loop's "
               "per-child state, above all its read and write buffers",
               (st.Get("hwm_kb") - st.Get("hwm_idle_kb")) * 1.0 / n,
               st.Get("hwm_started_kb") / 1024.0)});
    };
    // The goals are for 1,000 children; a smaller storm (--quick) is shown
    // without them.
    storm_rows(storm, storm.Get("children") >= 1000);
    if (!storm_small.kv.empty()) storm_rows(storm_small, false);
  }

  std::printf("pinned phase: %s%s\n", pinned_affinity.c_str(),
              started_pinned ? "  (WARNING: the process started pinned, so the "
                               "'unpinned' rows are pinned too)"
                             : "");
  std::printf(
      "host work per call, in-process without the loop (median): "
      "Principal::Parse "
      "%.1f us, Authorize(Seal) %.1f us, Encrypt 32 B %.1f us, Decrypt 32 B "
      "%.1f us, "
      "Encrypt 1 MiB %.0f us, Decrypt 1 MiB %.0f us, Attest %.1f us, "
      "GetRandomBytes 32 B %.1f us\n\n",
      work.parse_name_us, work.authorize_us, work.encrypt32_us,
      work.decrypt32_us, work.encrypt1m_us, work.decrypt1m_us, work.attest_us,
      work.random32_us);
  PrintTable(rows);
  std::printf(
      "\nRTTs are medians of per-call times measured in the client (p99 in "
      "brackets); MB/s = 1 MiB / median RTT, 1 MB = 10^6 B. \"loop CPU\" is "
      "the "
      "CPU time of the loop's threads per call, \"client CPU\" the "
      "client's.\n");
  std::printf("background: %s\n", LoadMeter::Describe(load0, load1).c_str());
  std::printf("run took %.1f s\n", (MonoNs() - run_start) / 1e9);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
