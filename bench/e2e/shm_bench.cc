// tao_shm_bench: the shared-memory channel ("shm") against the pipe, with
// real hosted processes, and the raw floors of both in the same run:
//
//  raw pipe      a 32 B frame ping-ponged over a pipe pair between a forked
//                child and this process (one read and one write per side);
//  raw eventfd   32 B copied through a shared mapping, one eventfd each way
//                (one write and one blocking read per side): the floor of
//                any eventfd + shared-memory channel;
//  GetRandomBytes 32 B over pipe and shm; Seal 32 B over pipe and shm;
//  Seal and Unseal 1 MiB over pipe and shm (GB/s); N programs sealing at
//  once over pipe and over shm (aggregate seals/s).
//
// Each figure is the median of 3 runs (each run's own figure is the median
// of its iterations), unpinned and pinned (the whole process, the loop and
// every child on one CPU). Usage: tao_shm_bench [--children=N] [--quick];
// --profile-random=N runs only GetRandomBytes 32 B over shm N times (for a
// profiler).
#include <fcntl.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "bench/common/bench_process.h"
#include "bench/common/bench_util.h"
#include "channels/hosted_program_channel.h"
#include "glog/logging.h"
#include "program_factory/process_factory.h"
#include "tao/clock.h"
#include "tao/keys.h"
#include "tao/tao_host.h"
#include "tao_domain/policy_io.h"
#include "tao_domain/tao_domain.h"

namespace {

using tao::bench::Check;
using tao::bench::Die;
using tao::bench::MonoNs;

struct Options {
  int children = 1000;
  int storm_seals = 20;
  int64_t small = 5000;
  int64_t big = 100;
};

int64_t MedianOf(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// ---- Raw floors
// --------------------------------------------------------------

// Times `iterations` round trips made by a forked child with `client`, the
// parent serving with `server` until it returns false. The child's samples
// go through a shared mapping; the child does no allocation after fork.
template <typename Client, typename Server>
int64_t RawPingPong(int64_t iterations, Client client, Server server) {
  const size_t bytes = sizeof(int64_t) * static_cast<size_t>(iterations);
  void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) Die("mmap");
  auto* ns = static_cast<int64_t*>(m);
  pid_t pid = fork();
  if (pid < 0) Die("fork");
  if (pid == 0) {
    for (int64_t i = 0; i < 100; ++i) client();  // warm-up
    int64_t last = MonoNs();
    for (int64_t i = 0; i < iterations; ++i) {
      client();
      const int64_t now = MonoNs();
      ns[i] = now - last;
      last = now;
    }
    _exit(0);
  }
  for (int64_t i = 0; i < iterations + 100; ++i) server();
  int status = tao::bench::WaitPid(pid);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) Die("raw child failed");
  std::vector<int64_t> v(ns, ns + iterations);
  munmap(m, bytes);
  return MedianOf(std::move(v));
}

void ReadN(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t k = read(fd, p, n);
    if (k <= 0) _exit(3);
    p += k;
    n -= static_cast<size_t>(k);
  }
}

void WriteN(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k <= 0) _exit(3);
    p += k;
    n -= static_cast<size_t>(k);
  }
}

int64_t RawPipe32(int64_t iterations) {
  int a[2], b[2];
  if (pipe2(a, O_CLOEXEC) != 0 || pipe2(b, O_CLOEXEC) != 0) Die("pipe2");
  char frame[36] = {0, 0, 0, 32};
  int64_t median = RawPingPong(
      iterations,
      [&] {
        WriteN(a[1], frame, sizeof(frame));
        ReadN(b[0], frame, sizeof(frame));
      },
      [&] {
        char buf[36];
        ReadN(a[0], buf, sizeof(buf));
        WriteN(b[1], buf, sizeof(buf));
      });
  for (int fd : {a[0], a[1], b[0], b[1]}) close(fd);
  return median;
}

int64_t RawEventfd32(int64_t iterations) {
  void* m = mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) Die("mmap");
  char* shared = static_cast<char*>(m);
  const int to_server = eventfd(0, EFD_CLOEXEC);
  const int to_client = eventfd(0, EFD_CLOEXEC);
  if (to_server < 0 || to_client < 0) Die("eventfd");
  const uint64_t one = 1;
  int64_t median = RawPingPong(
      iterations,
      [&] {
        char frame[36] = {0, 0, 0, 32};
        std::memcpy(shared, frame, sizeof(frame));
        WriteN(to_server, reinterpret_cast<const char*>(&one), 8);
        uint64_t v;
        ReadN(to_client, reinterpret_cast<char*>(&v), 8);
        std::memcpy(frame, shared + 64, sizeof(frame));
      },
      [&] {
        uint64_t v;
        ReadN(to_server, reinterpret_cast<char*>(&v), 8);
        char buf[36];
        std::memcpy(buf, shared, sizeof(buf));
        std::memcpy(shared + 64, buf, sizeof(buf));
        WriteN(to_client, reinterpret_cast<const char*>(&one), 8);
      });
  close(to_server);
  close(to_client);
  munmap(m, 4096);
  return median;
}

// ---- The loop
// ----------------------------------------------------------------

struct Host {
  std::unique_ptr<tao::TaoHost> host;
  std::unique_ptr<tao::SigningKey> policy_key;
  tao::RealClock clock;
  std::unique_ptr<tao::TaoDomain> domain;
  tao::ProcessFactory factory{[] {
    tao::ProcessFactoryOptions options;
    options.measurement_cache_bytes = tao::kRecommendedMeasurementCacheBytes;
    return options;
  }()};

  Host() {
    auto keys = Check(tao::HostKeys::Generate(), "HostKeys::Generate");
    tao::Principal name =
        tao::Principal::ForKey(keys.signing_key.verifying_key());
    host = Check(tao::TaoHost::Create(std::move(keys), name, std::nullopt),
                 "TaoHost");
    policy_key = std::make_unique<tao::SigningKey>(
        Check(tao::SigningKey::Generate(), "policy key"));
    tao::DomainPolicy policy;
    policy.set_domain_name("bench");
    tao::Rule* rule = policy.add_rules();
    rule->set_id("all-programs");
    for (const char* op : {"Execute", "Seal", "Unseal"}) {
      rule->add_operations(op);
    }
    rule->add_principals()->set_name_prefix(host->name().text());
    domain =
        Check(tao::TaoDomain::Create(
                  policy_key->verifying_key(),
                  Check(tao::SignDomainPolicy(policy, *policy_key), "sign"),
                  nullptr, clock),
              "TaoDomain");
  }
};

std::map<std::string, std::string> ReadKv(const std::string& path) {
  std::map<std::string, std::string> kv;
  for (absl::string_view line :
       absl::StrSplit(tao::bench::ReadFile(path), '\n')) {
    std::pair<std::string, std::string> p = absl::StrSplit(line, '=');
    if (!p.first.empty()) kv[p.first] = p.second;
  }
  return kv;
}

int64_t Int(const std::map<std::string, std::string>& kv,
            const std::string& key) {
  int64_t v = 0;
  auto it = kv.find(key);
  if (it == kv.end() || !absl::SimpleAtoi(it->second, &v)) {
    Die("result without " + key);
  }
  return v;
}

class Bench {
 public:
  Bench(Host& h, const std::string& dir) : h_(h), dir_(dir) {
    loop_ = Check(
        tao::HostedProgramChannel::Create(
            *h.host, *h.domain, {{"process", &h.factory, {"pipe", "shm"}}},
            tao::HostedProgramChannelOptions{}),
        "loop");
  }

  // The median time of one `op` of `size` bytes over `kind`.
  int64_t Rpc(const std::string& kind, const std::string& op, size_t size,
              int64_t iterations) {
    const std::string result = absl::StrCat(dir_, "/rpc-", ++n_);
    tao::StartRequest request;
    request.channel = kind;
    request.process().path = TAO_BENCH_CLIENT;
    request.process().args = {"rpc", op, absl::StrCat(size),
                              absl::StrCat(iterations), result};
    auto info = Check(loop_->StartHostedProgram(request), "start");
    auto done =
        Check(loop_->WaitHostedProgram(info.id, absl::Seconds(600)), "wait");
    if (!done.exit.has_value() || !done.exit->success()) {
      Die("client failed: " + tao::bench::ReadFile(result));
    }
    return Int(ReadKv(result), "median_ns");
  }

  // `children` programs each sealing 32 B `seals` times from the same
  // moment: the aggregate seals per second.
  double Storm(const std::string& kind, int children, int seals) {
    const int64_t start_at =
        MonoNs() + 2000000000 + int64_t{children} * 8000000;
    std::vector<uint64_t> ids;
    std::vector<std::string> results;
    for (int i = 0; i < children; ++i) {
      results.push_back(absl::StrCat(dir_, "/storm-", ++n_));
      tao::StartRequest request;
      request.channel = kind;
      request.process().path = TAO_BENCH_CLIENT;
      request.process().args = {"seal-storm", absl::StrCat(start_at),
                                absl::StrCat(seals), results.back()};
      ids.push_back(Check(loop_->StartHostedProgram(request), "start").id);
    }
    int64_t begin = INT64_MAX, finish = 0, late = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      auto done =
          Check(loop_->WaitHostedProgram(ids[i], absl::Seconds(600)), "wait");
      if (!done.exit.has_value() || !done.exit->success()) {
        Die(absl::StrCat("storm child over ", kind, " failed (",
                         done.exit ? done.exit->ToString() : "?",
                         "): ", tao::bench::ReadFile(results[i])));
      }
      auto kv = ReadKv(results[i]);
      begin = std::min(begin, Int(kv, "begin_ns"));
      finish = std::max(finish, Int(kv, "finish_ns"));
      if (Int(kv, "connected_ns") > start_at) ++late;
    }
    if (late > 0) {
      std::fprintf(stderr, "storm %s: %lld children connected late\n",
                   kind.c_str(), static_cast<long long>(late));
    }
    return static_cast<double>(children) * seals * 1e9 /
           static_cast<double>(finish - begin);
  }

 private:
  Host& h_;
  std::string dir_;
  std::unique_ptr<tao::HostedProgramChannel> loop_;
  int n_ = 0;
};

struct Phase {
  int64_t raw_pipe = 0, raw_eventfd = 0;
  int64_t random_pipe = 0, random_shm = 0, seal_pipe = 0, seal_shm = 0;
  int64_t seal1m_pipe = 0, seal1m_shm = 0, unseal1m_pipe = 0, unseal1m_shm = 0;
  double storm_pipe = 0, storm_shm = 0;
};

template <typename F>
int64_t Median3(F&& f) {
  return MedianOf({f(), f(), f()});
}

Phase RunPhase(Host& h, const Options& o, const std::string& dir) {
  Phase p;
  p.raw_pipe = Median3([&] { return RawPipe32(o.small); });
  p.raw_eventfd = Median3([&] { return RawEventfd32(o.small); });
  Bench b(h, dir);
  p.random_pipe = Median3([&] { return b.Rpc("pipe", "random", 32, o.small); });
  p.random_shm = Median3([&] { return b.Rpc("shm", "random", 32, o.small); });
  p.seal_pipe = Median3([&] { return b.Rpc("pipe", "seal", 32, o.small); });
  p.seal_shm = Median3([&] { return b.Rpc("shm", "seal", 32, o.small); });
  p.seal1m_pipe =
      Median3([&] { return b.Rpc("pipe", "seal", 1 << 20, o.big); });
  p.seal1m_shm = Median3([&] { return b.Rpc("shm", "seal", 1 << 20, o.big); });
  p.unseal1m_pipe =
      Median3([&] { return b.Rpc("pipe", "unseal", 1 << 20, o.big); });
  p.unseal1m_shm =
      Median3([&] { return b.Rpc("shm", "unseal", 1 << 20, o.big); });
  if (o.children > 0) {
    std::vector<double> pipe, shm;
    for (int i = 0; i < 3; ++i) {
      pipe.push_back(b.Storm("pipe", o.children, o.storm_seals));
      shm.push_back(b.Storm("shm", o.children, o.storm_seals));
    }
    std::sort(pipe.begin(), pipe.end());
    std::sort(shm.begin(), shm.end());
    p.storm_pipe = pipe[1];
    p.storm_shm = shm[1];
  }
  return p;
}

std::string Us(int64_t ns) { return absl::StrFormat("%.1f us", ns / 1e3); }
std::string GBs(int64_t ns) {
  return absl::StrFormat("%.2f GB/s",
                         ns > 0 ? (1 << 20) / (ns / 1e9) / 1e9 : 0);
}

void Print(const char* name, const Phase& p) {
  auto x = [](double a, double b) {
    return absl::StrFormat("%.2fx", b > 0 ? a / b : 0);
  };
  std::printf("\n%s (medians of 3)\n", name);
  std::printf("  %-44s %s\n", "raw pipe ping-pong 32 B",
              Us(p.raw_pipe).c_str());
  std::printf("  %-44s %s\n", "raw eventfd+shm ping-pong 32 B",
              Us(p.raw_eventfd).c_str());
  std::printf("  %-44s pipe %s, shm %s; shm/raw eventfd %s, pipe/raw pipe %s\n",
              "GetRandomBytes 32 B", Us(p.random_pipe).c_str(),
              Us(p.random_shm).c_str(), x(p.random_shm, p.raw_eventfd).c_str(),
              x(p.random_pipe, p.raw_pipe).c_str());
  std::printf("  %-44s pipe %s, shm %s; shm/pipe %s\n", "Seal 32 B",
              Us(p.seal_pipe).c_str(), Us(p.seal_shm).c_str(),
              x(p.seal_shm, p.seal_pipe).c_str());
  std::printf("  %-44s pipe %s, shm %s\n", "Seal 1 MiB",
              GBs(p.seal1m_pipe).c_str(), GBs(p.seal1m_shm).c_str());
  std::printf("  %-44s pipe %s, shm %s\n", "Unseal 1 MiB",
              GBs(p.unseal1m_pipe).c_str(), GBs(p.unseal1m_shm).c_str());
  if (p.storm_pipe > 0) {
    std::printf("  %-44s pipe %.0f/s, shm %.0f/s; shm/pipe %s\n",
                "programs sealing at once (aggregate)", p.storm_pipe,
                p.storm_shm, x(p.storm_shm, p.storm_pipe).c_str());
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = 1;  // the loop's per-program lines would drown the table
  google::InitGoogleLogging(argv[0]);
  Options o;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (absl::ConsumePrefix(&arg, "--children=")) {
      if (!absl::SimpleAtoi(arg, &o.children)) Die("bad --children");
    } else if (absl::ConsumePrefix(&arg, "--profile-random=")) {
      // Only GetRandomBytes 32 B over shm, pinned, for a profiler.
      int64_t n = 0;
      if (!absl::SimpleAtoi(arg, &n)) Die("bad --profile-random");
      const std::string dir = tao::bench::MakeTempDir("/tmp", "tao-shm-bench");
      ::chmod(dir.c_str(), 01777);
      Host h;
      Bench b(h, dir);
      std::printf("GetRandomBytes 32 B over shm: %s\n",
                  Us(b.Rpc("shm", "random", 32, n)).c_str());
      tao::bench::RemoveAll(dir);
      return 0;
    } else if (arg == "--quick") {
      o.small = 1000;
      o.big = 20;
      o.children = std::min(o.children, 50);
    } else {
      Die("usage: tao_shm_bench [--children=N] [--quick]");
    }
  }
  tao::bench::RaiseNofile(1 << 16);
  const std::string dir = tao::bench::MakeTempDir("/tmp", "tao-shm-bench");
  ::chmod(dir.c_str(), 01777);
  Host h;
  cpu_set_t all;
  sched_getaffinity(0, sizeof(all), &all);
  Print("unpinned", RunPhase(h, o, dir));
  int last = -1;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &all)) last = c;
  }
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(last, &one);
  if (sched_setaffinity(0, sizeof(one), &one) != 0) Die("sched_setaffinity");
  Print(absl::StrCat("pinned to CPU ", last).c_str(), RunPhase(h, o, dir));
  sched_setaffinity(0, sizeof(all), &all);
  tao::bench::RemoveAll(dir);
  return 0;
}
