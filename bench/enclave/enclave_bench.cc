// tao_enclave_bench: what an enclave costs (README.md). In one run, taking
// turns round by round:
//  1. start to exit of the same program, without a Tao channel: posix_spawn
//     (the raw floor), the process factory, the enclave factory, and
//     bubblewrap with new namespaces and the enclave's seccomp filter; for
//     tao_bench_client (~4.6 MB) and tao_bench_client_big (~15 MB), both
//     with their shared libraries;
//  2. start request to the first Tao reply through the listen loop: an
//     enclave over shm against a process over shm and over a pipe;
//  3. Seal of 32 bytes, per call, from inside an enclave over shm against a
//     process over shm and over a pipe;
//  4. the enclave's start-up by step (measure, namespaces, cgroup, root,
//     pivot, descriptors, Landlock, seccomp, exec).
// Medians of every sample; the spread is the range of the round medians.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "bench/common/bench_flags.h"
#include "bench/common/bench_process.h"
#include "bench/common/bench_util.h"
#include "channels/hosted_program_channel.h"
#include "gflags/gflags.h"
#include "program_factory/enclave/enclave_factory.h"
#include "program_factory/enclave/enclave_program.h"
#include "program_factory/enclave/seccomp_filter.h"
#include "program_factory/process_factory.h"
#include "tao/clock.h"
#include "tao_domain/policy_io.h"
#include "tao_domain/tao_domain.h"

DEFINE_int32(runs, 10, "samples of each row per round");
DEFINE_int32(rounds, 3, "rounds; the rows take turns within each round");
DEFINE_int32(seal_calls, 2000, "Seal calls per Seal sample");

namespace tao {
namespace bench {
namespace {

std::string Affinity() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return "unknown";
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  const int n = CPU_COUNT(&set);
  if (online > 0 && n < online) {
    return absl::StrFormat("pinned to %d of %d CPUs", n, online);
  }
  return absl::StrFormat("%d of %d CPUs (not pinned)", n, online);
}

std::map<std::string, std::string> ReadKv(const std::string& path) {
  std::map<std::string, std::string> kv;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    size_t eq = line.find('=');
    if (eq != std::string::npos) kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return kv;
}

int64_t KvInt(const std::map<std::string, std::string>& kv,
              const std::string& key) {
  auto it = kv.find(key);
  int64_t v = -1;
  if (it == kv.end() || !absl::SimpleAtoi(it->second, &v)) return -1;
  return v;
}

// One row: its samples in ns, and each round's median.
struct Row {
  Row(std::string l, std::function<int64_t()> s)
      : label(std::move(l)), sample(std::move(s)) {}
  std::string label;
  std::function<int64_t()> sample;
  std::vector<int64_t> all;
  std::vector<int64_t> rounds;
};

void RunRows(std::vector<Row>& rows) {
  for (Row& r : rows) r.sample();  // warm the page cache and the caches
  for (int round = 0; round < FLAGS_rounds; ++round) {
    for (Row& r : rows) {
      std::vector<int64_t> v;
      for (int i = 0; i < FLAGS_runs; ++i) v.push_back(r.sample());
      r.rounds.push_back(Median(v));
      r.all.insert(r.all.end(), v.begin(), v.end());
    }
  }
}

void PrintRows(const std::string& title, const std::vector<Row>& rows,
               double unit, const char* unit_name) {
  std::cout << "\n" << title << "\n";
  std::cout << absl::StrFormat("%-44s | %10s | %-22s | %s\n", "row",
                               absl::StrCat("median ", unit_name),
                               "round medians", "ratio to first");
  const double base = static_cast<double>(Median(rows[0].all));
  for (const Row& r : rows) {
    std::string rounds;
    for (int64_t m : r.rounds) {
      absl::StrAppend(&rounds, rounds.empty() ? "" : " ",
                      absl::StrFormat("%.2f", m / unit));
    }
    const double med = static_cast<double>(Median(r.all));
    std::cout << absl::StrFormat("%-44s | %10.3f | %-22s | %.2fx\n", r.label,
                                 med / unit, rounds, med / base);
  }
}

ProcessFactoryOptions CachedProcesses() {
  ProcessFactoryOptions options;
  options.measurement_cache_bytes = kRecommendedMeasurementCacheBytes;
  return options;
}

class Bench {
 public:
  Bench() {
    dir_ = MakeTempDir("/tmp", "tao-enclave-bench");
    ::chmod(dir_.c_str(), 0755);
    data_ = dir_ + "/data";
    ::mkdir(data_.c_str(), 01777);
    ::chmod(data_.c_str(), 01777);
    auto keys = Check(HostKeys::Generate(), "HostKeys::Generate");
    Principal name = Principal::ForKey(keys.signing_key.verifying_key());
    host_ =
        Check(TaoHost::Create(std::move(keys), name, std::nullopt), "TaoHost");
    policy_key_ = std::make_unique<SigningKey>(
        Check(SigningKey::Generate(), "policy key"));
    DomainPolicy policy;
    policy.set_domain_name("bench");
    Rule* rule = policy.add_rules();
    rule->set_id("all");
    for (const char* op : {"Execute", "Seal", "Unseal", "Attest"}) {
      rule->add_operations(op);
    }
    rule->add_principals()->set_name_prefix(host_->name().text());
    domain_ = Check(
        TaoDomain::Create(policy_key_->verifying_key(),
                          Check(SignDomainPolicy(policy, *policy_key_), "sign"),
                          nullptr, clock_),
        "TaoDomain");
    EnclaveFactoryOptions options;
    options.run_dir = dir_ + "/run";
    options.crash_root = dir_ + "/crash";
    enclaves_cold_ = Check(EnclaveFactory::Create(options), "EnclaveFactory");
    // As taohost runs them: with its default measurement cache (256 MiB).
    options.measurement_cache_bytes = kRecommendedMeasurementCacheBytes;
    enclaves_ = Check(EnclaveFactory::Create(options), "EnclaveFactory");
    HostedProgramChannelOptions loop_options;
    loop_options.log_dir = dir_;
    loop_ = Check(
        HostedProgramChannel::Create(*host_, *domain_,
                                     {{"process", &processes_, {"pipe", "shm"}},
                                      {"enclave", enclaves_.get(), {"shm"}}},
                                     loop_options),
        "loop");
  }
  ~Bench() {
    loop_.reset();
    RemoveAll(dir_);
  }

  // A manifest for `program` with `args`, /data writable.
  std::string Manifest(const std::string& program,
                       const std::vector<std::string>& args) {
    std::string path = absl::StrCat(dir_, "/m", ++manifests_);
    std::ofstream out(path);
    out << "EXEC " << program << "\nMOUNT " << data_ << " /data rw\n";
    for (const std::string& a : args) out << "ARG " << a << "\n";
    return path;
  }

  // Start to exit through a factory, no channel.
  int64_t FactoryStartToExit(ProgramFactory& factory, const ProgramSpec& spec,
                             EnclaveLaunchTimes* times = nullptr,
                             int64_t* measure_ns = nullptr) {
    const int64_t t0 = MonoNs();
    auto program = Check(factory.NewHostedProgram(spec), "NewHostedProgram");
    const int64_t t1 = MonoNs();
    Check(program->Start(ChildEndpoint()), "Start");
    struct pollfd p = {program->exit_fd(), POLLIN, 0};
    ::poll(&p, 1, 30000);
    while (!program->Reap().ok()) ::usleep(100);
    const int64_t t2 = MonoNs();
    if (times != nullptr) {
      *times = static_cast<EnclaveProgram*>(program.get())->launch_times();
    }
    if (measure_ns != nullptr) *measure_ns = t1 - t0;
    return t2 - t0;
  }

  int64_t RawStartToExit(const std::string& program) {
    const int64_t t0 = MonoNs();
    WaitPid(Spawn(program, {program, "first-reply", data_ + "/raw"}, {}));
    return MonoNs() - t0;
  }

  // bubblewrap: new user, pid, mount, net, ipc, uts and cgroup namespaces,
  // the system's /usr read-only, /data, and the enclave's seccomp filter.
  int64_t BwrapStartToExit(const std::string& program) {
    int bpf = ::memfd_create("bwrap-seccomp", 0);
    const auto& insns = filter_.program();
    (void)!::write(bpf, insns.data(), insns.size() * sizeof(insns[0]));
    ::lseek(bpf, 0, SEEK_SET);
    bpf = HighFd(bpf);
    const int64_t t0 = MonoNs();
    pid_t pid = Spawn("/usr/bin/bwrap",
                      {"bwrap",         "--unshare-all", "--die-with-parent",
                       "--new-session", "--ro-bind",     "/usr",
                       "/usr",          "--symlink",     "usr/lib",
                       "/lib",          "--symlink",     "usr/lib64",
                       "/lib64",        "--ro-bind",     program,
                       program,         "--bind",        data_,
                       "/data",         "--seccomp",     "9",
                       program,         "first-reply",   "/data/bwrap"},
                      {{bpf, 9}});
    WaitPid(pid);
    const int64_t elapsed = MonoNs() - t0;
    ::close(bpf);
    return elapsed;
  }

  // Start request to the program's first reply, through the loop.
  int64_t FirstReply(const std::string& factory, const std::string& channel,
                     const std::string& program) {
    StartRequest request;
    request.factory = factory;
    request.channel = channel;
    std::string result;
    if (factory == "enclave") {
      result = data_ + "/first-enclave";
      request.spec = EnclaveSpec{
          Manifest(program, {"first-reply", "/data/first-enclave"})};
    } else {
      result = absl::StrCat(data_, "/first-", channel);
      request.process().path = program;
      request.process().args = {"first-reply", result};
    }
    ::unlink(result.c_str());
    const int64_t t0 = MonoNs();
    auto info = Check(loop_->StartHostedProgram(request), "start");
    Check(loop_->WaitHostedProgram(info.id, absl::Seconds(30)), "wait");
    const int64_t reply = KvInt(ReadKv(result), "first_reply_ns");
    if (reply < 0) Die("no first reply from " + factory + "/" + channel);
    return reply - t0;
  }

  // The median of one Seal sample (FLAGS_seal_calls calls of 32 bytes).
  int64_t Seal(const std::string& factory, const std::string& channel) {
    StartRequest request;
    request.factory = factory;
    request.channel = channel;
    const std::string calls = absl::StrCat(FLAGS_seal_calls);
    std::string result;
    if (factory == "enclave") {
      result = data_ + "/seal-enclave";
      request.spec =
          EnclaveSpec{Manifest(TAO_BENCH_CLIENT, {"rpc", "seal", "32", calls,
                                                  "/data/seal-enclave"})};
    } else {
      result = absl::StrCat(data_, "/seal-", channel);
      request.process().path = TAO_BENCH_CLIENT;
      request.process().args = {"rpc", "seal", "32", calls, result};
    }
    ::unlink(result.c_str());
    auto info = Check(loop_->StartHostedProgram(request), "start");
    Check(loop_->WaitHostedProgram(info.id, absl::Seconds(120)), "wait");
    const int64_t median = KvInt(ReadKv(result), "median_ns");
    if (median < 0) Die("no seal result from " + factory + "/" + channel);
    return median;
  }

  void Run() {
    std::cout << "tao_enclave_bench: " << Affinity() << "; " << FLAGS_rounds
              << " rounds of " << FLAGS_runs << " samples per row\n";
    std::vector<Row> start;
    for (const auto& [label, program] :
         std::vector<std::pair<std::string, std::string>>{
             {"small", TAO_BENCH_CLIENT}, {"big", TAO_BENCH_CLIENT_BIG}}) {
      ProcessSpec process;
      process.path = program;
      process.args = {"first-reply", data_ + "/p"};
      EnclaveSpec enclave{Manifest(program, {"first-reply", "/data/e"})};
      std::string p = program;
      start.push_back({label + " posix_spawn (floor)",
                       [this, p] { return RawStartToExit(p); }});
      start.push_back({label + " process factory", [this, process] {
                         return FactoryStartToExit(processes_, process);
                       }});
      start.push_back({label + " bubblewrap (namespaces + seccomp)",
                       [this, p] { return BwrapStartToExit(p); }});
      start.push_back(
          {label + " enclave factory (all layers)", [this, enclave] {
             return FactoryStartToExit(*enclaves_, enclave);
           }});
      start.push_back({label + " enclave factory, no cache", [this, enclave] {
                         return FactoryStartToExit(*enclaves_cold_, enclave);
                       }});
    }
    RunRows(start);
    PrintRows(
        "1. start to exit, no Tao channel (factories with the 256 MiB "
        "measurement cache taohost gives them, unless 'no cache')",
        start, 1e6, "ms");

    std::vector<Row> reply = {
        {"process over pipe",
         [this] { return FirstReply("process", "pipe", TAO_BENCH_CLIENT); }},
        {"process over shm",
         [this] { return FirstReply("process", "shm", TAO_BENCH_CLIENT); }},
        {"enclave over shm",
         [this] { return FirstReply("enclave", "shm", TAO_BENCH_CLIENT); }},
        {"big: process over shm",
         [this] { return FirstReply("process", "shm", TAO_BENCH_CLIENT_BIG); }},
        {"big: enclave over shm",
         [this] { return FirstReply("enclave", "shm", TAO_BENCH_CLIENT_BIG); }},
    };
    RunRows(reply);
    PrintRows("2. start request to the first Tao reply (the loop)", reply, 1e6,
              "ms");

    const int runs = FLAGS_runs;
    FLAGS_runs = std::max(1, runs / 5);
    std::vector<Row> seal = {
        {"process over pipe", [this] { return Seal("process", "pipe"); }},
        {"process over shm", [this] { return Seal("process", "shm"); }},
        {"enclave over shm", [this] { return Seal("enclave", "shm"); }},
    };
    RunRows(seal);
    PrintRows(absl::StrCat("3. Seal 32 B, per call (median of ",
                           FLAGS_seal_calls, " calls a sample)"),
              seal, 1e3, "us");
    FLAGS_runs = runs;

    // 4. The enclave's start-up by step, small program, with the cache.
    std::map<std::string, std::vector<int64_t>> steps;
    EnclaveSpec enclave{Manifest(TAO_BENCH_CLIENT, {"first-reply", "/data/e"})};
    for (int i = 0; i < FLAGS_runs * FLAGS_rounds; ++i) {
      EnclaveLaunchTimes t;
      int64_t measure = 0;
      int64_t total = FactoryStartToExit(*enclaves_, enclave, &t, &measure);
      steps["0 total start to exit"].push_back(total);
      steps["1 measure (manifest, plan, hashes)"].push_back(measure);
      steps["2 namespaces (clone, uid/gid maps)"].push_back(
          absl::ToInt64Nanoseconds(t.clone));
      steps["3 cgroup (join)"].push_back(absl::ToInt64Nanoseconds(t.cgroup));
      steps["4 root (tmpfs, files, mounts, ro)"].push_back(
          absl::ToInt64Nanoseconds(t.root));
      steps["5 pivot_root, loopback"].push_back(
          absl::ToInt64Nanoseconds(t.pivot));
      steps["6 descriptors"].push_back(absl::ToInt64Nanoseconds(t.descriptors));
      steps["7 vfork + Landlock"].push_back(
          absl::ToInt64Nanoseconds(t.landlock));
      steps["8 seccomp"].push_back(absl::ToInt64Nanoseconds(t.seccomp));
      steps["9 exec"].push_back(absl::ToInt64Nanoseconds(t.exec));
    }
    std::cout << "\n4. enclave start-up by step (small program, "
              << FLAGS_runs * FLAGS_rounds << " starts; the rest of the "
              << "total is cgroup creation, the run, the exit and cleanup)\n";
    for (auto& [step, v] : steps) {
      std::cout << absl::StrFormat("%-40s | %9.3f ms\n", step.substr(2),
                                   Median(v) / 1e6);
    }
  }

 private:
  std::string dir_;
  std::string data_;
  int manifests_ = 0;
  FixedClock clock_{absl::Now()};
  std::unique_ptr<TaoHost> host_;
  std::unique_ptr<SigningKey> policy_key_;
  std::unique_ptr<TaoDomain> domain_;
  ProcessFactory processes_{CachedProcesses()};
  std::unique_ptr<EnclaveFactory> enclaves_;
  std::unique_ptr<EnclaveFactory> enclaves_cold_;
  std::unique_ptr<HostedProgramChannel> loop_;
  SeccompFilter filter_ = Check(SeccompFilter::BuildEnclaveAllowList(), "f");
};

}  // namespace
}  // namespace bench
}  // namespace tao

int main(int argc, char** argv) {
  tao::bench::ParseBenchFlags(
      "the enclave factory's start-up and calls against the process factory "
      "and bubblewrap (bench/enclave/README.md)",
      "bench/enclave/", &argc, &argv);
  tao::bench::Bench bench;
  bench.Run();
  return 0;
}
