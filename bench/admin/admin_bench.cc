// tao_admin_bench: the admin API of a real taohost, end to end. One run:
//
//  1. makes a temp domain in-process (a fresh policy key, policy_name and a
//     signed policy granting this uid Admin:* and the idle program Execute by
//     measurement);
//  2. measures the baselines: posix_spawn (and fork+execve) + exit + waitpid
//     of the idle program, N live idle children SIGTERMed and reaped, a bare
//     gRPC unary round trip (an in-process server with no policy and no audit
//     trail), and append+fdatasync on the disk and on tmpfs;
//  3. for each audit placement (the audit log on disk, then on tmpfs) starts
//     the real taohost binary twice. In the first it measures GetTaoName,
//     ListHostedPrograms with 0, 100 and N children, N StartHostedProgram calls
//     from one client thread, and Shutdown with N children. In the second, N
//     starts from T client threads (one connection each). After each it checks
//     that taohost exited 0 and that no child is left;
//  4. prints one table, metric | value | baseline | ratio, with a "limited
//     by:" line under each row.
//
// See bench/admin/README.md.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "admin/admin.grpc.pb.h"
#include "bench/common/bench_flags.h"
#include "bench/common/bench_process.h"
#include "bench/common/bench_util.h"
#include "gflags/gflags.h"
#include "grpcpp/create_channel_posix.h"
#include "grpcpp/grpcpp.h"
#include "tao/crypto.h"
#include "tao/encoding.h"
#include "tao/file_util.h"
#include "tao/keys.h"
#include "tao/principal.h"
#include "tao_domain/policy_io.h"

extern char** environ;

// Flags (gflags accepts each with dashes too: --list-calls, --rtt-calls,
// --shutdown-probe, --disk-dir, --tmpfs-dir, --runtime-dir, as before).
DEFINE_bool(quick, false,
            "200 starts per phase, 20 list calls per row, fewer baseline "
            "iterations.");
DEFINE_int32(n, 1000,
             "Starts per start phase, and the children of the last list row.");
DEFINE_int32(threads, 4, "Client threads in the concurrent start phase.");
DEFINE_int32(list_calls, 50, "Calls per list row.");
DEFINE_int32(rtt_calls, 500, "GetTaoName calls on a warm connection.");
DEFINE_int32(shutdown_probe, 0,
             "K > 0: only start taohost K times and time its exit after "
             "Shutdown.");
DEFINE_string(audit, "both", "Where the audit log is: disk, tmpfs or both.");
DEFINE_string(disk_dir, "", "The disk directory (default $TMPDIR, else /tmp).");
DEFINE_string(tmpfs_dir, "/dev/shm", "The tmpfs directory.");
DEFINE_string(runtime_dir, "",
              "Where the hosts' runtime dirs go (default: the disk "
              "directory).");
DEFINE_string(taohost, TAO_ADMIN_BENCH_TAOHOST, "The taohost binary.");
DEFINE_string(idle, TAO_ADMIN_BENCH_IDLE, "The idle hosted program.");
DEFINE_bool(keep, false,
            "Keep the temp directories (taohost logs, audit logs, domain).");

namespace {

namespace admin = tao::admin;
using tao::bench::Check;
using tao::bench::ClockNs;
using tao::bench::Die;
using tao::bench::Dist;
using tao::bench::HighFd;
using tao::bench::LoadMeter;
using tao::bench::Median;
using tao::bench::MonoNs;
using tao::bench::RaiseNofile;
using tao::bench::ReadFile;
using tao::bench::RemoveAll;
using tao::bench::StatusField;
using tao::bench::WaitPid;

// ---- Small utilities --------------------------------------------------------

std::string Ms(double ns) {
  double ms = ns / 1e6;
  if (ms >= 100) return absl::StrFormat("%.0f ms", ms);
  if (ms >= 10) return absl::StrFormat("%.1f ms", ms);
  return absl::StrFormat("%.3f ms", ms);
}

std::string MsP99(const Dist& d) {
  return absl::StrCat(Ms(d.median()), " (p99 ", Ms(d.p99()), ")");
}

std::string X(double ratio) {
  if (!std::isfinite(ratio) || ratio <= 0) return "-";
  return ratio >= 100 ? absl::StrFormat("%.0fx", ratio)
                      : absl::StrFormat("%.2fx", ratio);
}

// utime + stime of every thread of `pid`, living and exited, in ns (the
// kernel samples them per tick, so sum over many calls).
int64_t ProcCpuNs(pid_t pid) {
  std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  size_t close_paren = stat.rfind(')');
  if (close_paren == std::string::npos) return -1;
  std::vector<std::string> f =
      absl::StrSplit(stat.substr(close_paren + 2), ' ', absl::SkipEmpty());
  // After "pid (comm) ": state is f[0]; utime is field 14, i.e. f[11].
  int64_t utime = 0, stime = 0;
  if (f.size() < 13 || !absl::SimpleAtoi(f[11], &utime) ||
      !absl::SimpleAtoi(f[12], &stime)) {
    return -1;
  }
  return (utime + stime) * (1000000000 / sysconf(_SC_CLK_TCK));
}

// A task's /proc/.../schedstat: time on a CPU and time waiting on a run
// queue for one (both exact, in ns).
struct Sched {
  int64_t cpu_ns = 0, wait_ns = 0;
};

std::optional<Sched> ReadSched(const std::string& path) {
  std::vector<std::string> f =
      absl::StrSplit(ReadFile(path), ' ', absl::SkipEmpty());
  Sched s;
  if (f.size() < 2 || !absl::SimpleAtoi(f[0], &s.cpu_ns) ||
      !absl::SimpleAtoi(f[1], &s.wait_ns)) {
    return std::nullopt;
  }
  return s;
}

// Every thread of `pid`, by thread id.
std::vector<std::pair<pid_t, Sched>> ThreadSched(pid_t pid) {
  std::vector<std::pair<pid_t, Sched>> out;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(
           absl::StrCat("/proc/", pid, "/task"), ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    pid_t tid = 0;
    if (!absl::SimpleAtoi(it->path().filename().string(), &tid)) continue;
    std::optional<Sched> sched =
        ReadSched(absl::StrCat(it->path().string(), "/schedstat"));
    if (sched.has_value()) out.emplace_back(tid, *sched);
  }
  return out;
}

// taohost's CPU and run-queue wait between two snapshots, summed over the
// threads alive at the end (a thread that ended in between is lost; the
// tick-sampled CPU total in /proc/<pid>/stat keeps it, so the larger of the
// two is used for CPU).
struct HostCpu {
  std::vector<std::pair<pid_t, Sched>> threads;
  int64_t ticks_ns = 0;
  static HostCpu Take(pid_t pid) {
    return HostCpu{ThreadSched(pid), ProcCpuNs(pid)};
  }
  static Sched Delta(const HostCpu& a, const HostCpu& b) {
    Sched sum;
    for (const auto& [tid, now] : b.threads) {
      Sched before;
      for (const auto& [t0, then] : a.threads) {
        if (t0 == tid) before = then;
      }
      sum.cpu_ns += now.cpu_ns - before.cpu_ns;
      sum.wait_ns += now.wait_ns - before.wait_ns;
    }
    return sum;
  }
  static int64_t Between(const HostCpu& a, const HostCpu& b) {
    const int64_t sum = Delta(a, b).cpu_ns;
    const int64_t ticks = b.ticks_ns - a.ticks_ns;
    // Sampled ticks are +-1 tick per thread; trust them only when larger by
    // more than that.
    return ticks > sum + 20000000 ? ticks : sum;
  }
};

int CountFds(pid_t pid) {
  int n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(
           absl::StrCat("/proc/", pid, "/fd"), ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

std::string AffinityText() {
  cpu_set_t set;
  CPU_ZERO(&set);
  sched_getaffinity(0, sizeof(set), &set);
  std::vector<int> cpus;
  for (int i = 0; i < CPU_SETSIZE; ++i) {
    if (CPU_ISSET(i, &set)) cpus.push_back(i);
  }
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  if (static_cast<long>(cpus.size()) >= online) {
    return absl::StrCat(cpus.size(), " of ", online, " CPUs (not pinned)");
  }
  return absl::StrCat("pinned to CPU ", absl::StrJoin(cpus, ","), " (",
                      cpus.size(), " of ", online, " online CPUs)");
}

std::string FsType(const std::string& dir) {
  struct statfs st;
  if (statfs(dir.c_str(), &st) != 0) return "?";
  switch (static_cast<unsigned long>(st.f_type)) {
    case 0xEF53:
      return "ext4";
    case 0x01021994:
      return "tmpfs";
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x794C7630:
      return "overlayfs";
    default:
      return absl::StrFormat("fs 0x%lx", static_cast<unsigned long>(st.f_type));
  }
}

bool IsTmpfs(const std::string& dir) { return FsType(dir) == "tmpfs"; }

std::string MakeTempDir(const std::string& base) {
  return tao::bench::MakeTempDir(base, "tao_admin_bench");
}

// ---- Processes --------------------------------------------------------------

// posix_spawn of `path` with `remap` (parent fd -> child fd); stdout and
// stderr to `out` (or /dev/null). Returns the pid.
pid_t Spawn(const std::string& path, const std::vector<std::string>& args,
            const std::vector<std::pair<int, int>>& remap,
            const std::string& out = "") {
  tao::bench::SpawnOptions options;
  if (!out.empty()) options.output = out;
  options.stderr_too = true;
  return tao::bench::Spawn(path, args, remap, options);
}

std::string DescribeStatus(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exit ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("signal ", WTERMSIG(status));
  return absl::StrCat("status ", status);
}

// Is `pid` still one of our idle programs? (kill(0) alone could see a
// recycled pid.)
bool IdleStillRunning(pid_t pid, const std::string& idle_path) {
  if (kill(pid, 0) != 0) return false;
  std::string cmdline = ReadFile(absl::StrCat("/proc/", pid, "/cmdline"));
  std::string argv0 = cmdline.substr(0, cmdline.find('\0'));
  std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  size_t paren = stat.rfind(')');
  const bool zombie = paren != std::string::npos && paren + 2 < stat.size() &&
                      stat[paren + 2] == 'Z';
  return argv0 == idle_path && !zombie;
}

// ---- Settings ---------------------------------------------------------------

struct Settings {
  int n = 1000;           // starts per start phase
  int threads = 4;        // client threads in the concurrent start phase
  int list_calls = 50;    // per list row
  int rtt_calls = 500;    // GetTaoName on a warm connection
  int bare_calls = 2000;  // bare gRPC round trips
  int fresh_calls = 50;   // GetTaoName each on a new connection
  int spawns = 1000;      // posix_spawn / fork baseline iterations
  int syncs = 200;        // append+fdatasync baseline iterations
  int list_mid = 100;     // the intermediate list row
  int shutdown_probe =
      0;  // >0: only time taohost's exit after Shutdown, K times
  bool disk = true, tmpfs = true;
  bool keep = false;
  std::string taohost = TAO_ADMIN_BENCH_TAOHOST;
  std::string idle = TAO_ADMIN_BENCH_IDLE;
  std::string disk_base;  // $TMPDIR or /tmp
  std::string tmpfs_base = "/dev/shm";
  // Where the hosts' runtime dirs (socket, per-program logs) go; empty: in
  // the disk directory. The audit log's place is chosen separately.
  std::string runtime_base;
};

Settings ParseArgs(int argc, char** argv) {
  tao::bench::ParseBenchFlags(
      "the admin API of a real taohost, end to end.\n"
      "Usage: tao_admin_bench [flags]; see bench/admin/README.md.",
      "bench/admin/", &argc, &argv);
  Settings s;
  const char* tmpdir = getenv("TMPDIR");
  s.disk_base = tmpdir != nullptr && *tmpdir ? tmpdir : "/tmp";
  if (FLAGS_quick) {
    s.n = 200;
    s.list_calls = 20;
    s.rtt_calls = 100;
    s.bare_calls = 500;
    s.fresh_calls = 20;
    s.spawns = 200;
    s.syncs = 50;
  }
  s.keep = FLAGS_keep;
  // Given explicitly, these win over --quick, wherever they stand.
  auto int_flag = [](const char* name, int32_t value, int* out) {
    if (!tao::bench::FlagWasSet(name)) return;
    if (value < 0) Die(absl::StrCat("bad value in --", name, "=", value));
    *out = value;
  };
  int_flag("n", FLAGS_n, &s.n);
  int_flag("threads", FLAGS_threads, &s.threads);
  int_flag("list_calls", FLAGS_list_calls, &s.list_calls);
  int_flag("rtt_calls", FLAGS_rtt_calls, &s.rtt_calls);
  int_flag("shutdown_probe", FLAGS_shutdown_probe, &s.shutdown_probe);
  s.disk = FLAGS_audit == "disk" || FLAGS_audit == "both";
  s.tmpfs = FLAGS_audit == "tmpfs" || FLAGS_audit == "both";
  if (!s.disk && !s.tmpfs) Die("--audit= takes disk, tmpfs or both");
  if (tao::bench::FlagWasSet("disk_dir")) s.disk_base = FLAGS_disk_dir;
  s.tmpfs_base = FLAGS_tmpfs_dir;
  s.runtime_base = FLAGS_runtime_dir;
  s.taohost = FLAGS_taohost;
  s.idle = FLAGS_idle;
  if (s.n < 1 || s.threads < 1 || s.list_calls < 1 || s.rtt_calls < 1) {
    Die("--n, --threads, --list-calls and --rtt-calls must be at least 1");
  }
  s.list_mid = std::min(s.list_mid, s.n);
  return s;
}

// ---- The domain -------------------------------------------------------------

// domain/policy_name (the policy key's principal) and domain/policy.signed:
// uid `admin_uid` may make every admin call; the idle program, by
// measurement, may run. The policy key lives only in this process.
std::string MakeDomain(const std::string& dir, const std::string& idle_path,
                       uid_t admin_uid) {
  Check(tao::EnsureDirectory(dir, 0700), "domain dir");
  tao::SigningKey key = Check(tao::SigningKey::Generate(), "policy key");
  const std::string key_name =
      tao::Principal::ForKey(key.verifying_key()).text();
  Check(tao::WriteFileAtomically(absl::StrCat(dir, "/policy_name"),
                                 key_name + "\n", 0644),
        "write policy_name");
  std::string bytes = ReadFile(idle_path);
  if (bytes.empty())
    Die(absl::StrCat("cannot read the idle program ", idle_path));
  tao::DomainPolicy policy;
  policy.set_domain_name("admin-bench");
  tao::Rule* admin_rule = policy.add_rules();
  admin_rule->set_id("bench-admin");
  admin_rule->add_operations("Admin:*");
  admin_rule->add_principals()->set_uid(admin_uid);
  tao::Rule* idle_rule = policy.add_rules();
  idle_rule->set_id("idle-program");
  idle_rule->add_operations("Execute");
  idle_rule->add_principals()->set_measurement(
      absl::StrCat("sha256:", tao::HexEncode(tao::Sha256(bytes))));
  std::string signed_policy =
      Check(tao::SignDomainPolicy(policy, key), "sign the policy");
  Check(tao::WriteFileAtomically(absl::StrCat(dir, "/policy.signed"),
                                 signed_policy, 0644),
        "write policy.signed");
  return key_name;
}

// ---- gRPC -------------------------------------------------------------------

// A client connection to an admin socket. It is made here (socket, connect)
// and handed to gRPC, so that Close() can end it the way a taoctl process's
// exit does: a sync-API gRPC client with no call in flight never reads the
// server's GOAWAY, and destroying the channel alone leaves the socket open.
class Conn {
 public:
  static std::unique_ptr<Conn> Open(const std::string& socket) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) Die(absl::StrCat("socket: ", strerror(errno)));
    struct sockaddr_un addr;
    std::memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    if (socket.size() >= sizeof(addr.sun_path))
      Die(absl::StrCat("socket path too long: ", socket));
    std::memcpy(addr.sun_path, socket.c_str(), socket.size());
    if (::connect(fd, reinterpret_cast<struct sockaddr*>(&addr),
                  sizeof(addr)) != 0) {
      Die(absl::StrCat("connect ", socket, ": ", strerror(errno)));
    }
    auto conn = std::unique_ptr<Conn>(new Conn);
    conn->fd_ = fcntl(fd, F_DUPFD_CLOEXEC, 0);  // ours, to shut the socket down
    if (conn->fd_ < 0) Die("F_DUPFD_CLOEXEC");
    // gRPC owns `fd` from here on.
    auto channel =
        grpc::CreateInsecureChannelFromFd(absl::StrCat("unix:", socket), fd);
    conn->stub_ = admin::AdminService::NewStub(channel);
    return conn;
  }
  admin::AdminService::Stub& stub() { return *stub_; }
  // Drops the channel and shuts the socket down: the host sees EOF at once.
  void Close() {
    stub_.reset();
    if (fd_ >= 0) {
      ::shutdown(fd_, SHUT_RDWR);
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~Conn() { Close(); }

 private:
  Conn() = default;
  std::unique_ptr<admin::AdminService::Stub> stub_;
  int fd_ = -1;
};

void SetDeadline(grpc::ClientContext* context, int seconds = 60) {
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(seconds));
}

void CheckRpc(const grpc::Status& status, const std::string& what) {
  if (!status.ok()) {
    Die(absl::StrCat(what, ": gRPC ", status.error_code(), ": ",
                     status.error_message()));
  }
}

// `calls` GetTaoName round trips on `stub`; per-call ns.
std::vector<int64_t> TimeGetTaoName(admin::AdminService::Stub& stub,
                                    int calls) {
  std::vector<int64_t> ns;
  ns.reserve(calls);
  for (int i = 0; i < calls; ++i) {
    grpc::ClientContext context;
    SetDeadline(&context);
    admin::GetTaoNameRequest request;
    admin::GetTaoNameResponse response;
    const int64_t t0 = MonoNs();
    grpc::Status status = stub.GetTaoName(&context, request, &response);
    ns.push_back(MonoNs() - t0);
    CheckRpc(status, "GetTaoName");
  }
  return ns;
}

// The bare baseline: the same service's GetTaoName, answered by a server in
// this process that checks no policy and writes no audit record.
class BareService final : public admin::AdminService::Service {
 public:
  explicit BareService(std::string name) : name_(std::move(name)) {}
  grpc::Status GetTaoName(grpc::ServerContext*, const admin::GetTaoNameRequest*,
                          admin::GetTaoNameResponse* response) override {
    response->set_name(name_);
    return grpc::Status::OK;
  }

 private:
  const std::string name_;
};

struct ListSample {
  std::vector<int64_t> ns;
  size_t bytes = 0;
  size_t name_bytes = 0;  // of which the programs' name fields
  int programs = 0;
  int64_t host_cpu_ns = 0;    // taohost's CPU over the calls
  int64_t client_cpu_ns = 0;  // this process's CPU over the calls
  std::string error;          // a failed call: its status
};

ListSample TimeList(admin::AdminService::Stub& stub, int calls, pid_t host) {
  ListSample s;
  const HostCpu host0 = HostCpu::Take(host);
  const int64_t cpu0 = ClockNs(CLOCK_PROCESS_CPUTIME_ID);
  for (int i = 0; i < calls; ++i) {
    grpc::ClientContext context;
    SetDeadline(&context);
    admin::ListHostedProgramsRequest request;
    admin::ListHostedProgramsResponse response;
    const int64_t t0 = MonoNs();
    grpc::Status status = stub.ListHostedPrograms(&context, request, &response);
    s.ns.push_back(MonoNs() - t0);
    if (!status.ok()) {
      s.error = absl::StrCat("gRPC ", status.error_code(), ": ",
                             status.error_message());
      break;
    }
    s.bytes = response.ByteSizeLong();
    s.programs = response.programs_size();
    s.name_bytes = 0;
    for (const admin::HostedProgram& program : response.programs()) {
      s.name_bytes += program.name().size();
    }
  }
  s.client_cpu_ns = ClockNs(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
  s.host_cpu_ns = HostCpu::Between(host0, HostCpu::Take(host));
  return s;
}

// ---- taohost ----------------------------------------------------------------

struct Host {
  pid_t pid = -1;
  int stdout_fd = -1;
  std::string socket, audit, log, runtime_dir;
};

Host StartHost(const Settings& s, const std::string& root,
               const std::string& tag, const std::string& audit_path) {
  Host h;
  h.runtime_dir = absl::StrCat(s.runtime_base.empty() ? root : s.runtime_base,
                               "/run-", tag);
  h.socket = absl::StrCat(h.runtime_dir, "/admin.sock");
  h.audit = audit_path;
  h.log = absl::StrCat(root, "/taohost-", tag, ".log");
  const std::string config = absl::StrCat(root, "/taohost-", tag, ".conf");
  // Only the audit trail's place is set here; the flags give the rest.
  Check(tao::WriteFileAtomically(
            config,
            absl::StrCat("audit_log: \"", audit_path, "\"\nstate_dir: \"", root,
                         "/state-", tag, "\"\n"),
            0644),
        "write the taohost config");
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) Die("pipe2");
  out[0] = HighFd(out[0]);
  out[1] = HighFd(out[1]);
  h.pid =
      Spawn(s.taohost,
            {"taohost", "--config=" + config, "--keys_dir=" + root + "/keys",
             "--domain_dir=" + root + "/domain",
             "--policy_key_file=" + root + "/domain/policy_name",
             "--runtime_dir=" + h.runtime_dir, "--scrypt_n=1024"},
            {{out[1], 1}}, h.log);
  close(out[1]);
  h.stdout_fd = out[0];
  std::string seen;
  const int64_t deadline = MonoNs() + int64_t{30} * 1000000000;
  while (seen.find("admin socket ready") == std::string::npos) {
    const int64_t left_ms = (deadline - MonoNs()) / 1000000;
    struct pollfd p = {h.stdout_fd, POLLIN, 0};
    int n = left_ms > 0 ? poll(&p, 1, static_cast<int>(left_ms)) : 0;
    char buf[512];
    ssize_t got = n > 0 ? read(h.stdout_fd, buf, sizeof(buf)) : -1;
    if (got <= 0) {
      std::string log = ReadFile(h.log);
      Die(absl::StrCat(
          "taohost (", tag, ") did not report its admin socket ready",
          n == 0 ? " within 30 s" : "", "; its log ", h.log, " ends:\n",
          log.substr(log.size() > 2000 ? log.size() - 2000 : 0)));
    }
    seen.append(buf, static_cast<size_t>(got));
  }
  return h;
}

struct HostStats {
  int fds = 0;
  int64_t rss_kb = 0, hwm_kb = 0, pte_kb = 0, threads = 0;
};

HostStats StatsOf(pid_t pid) {
  HostStats st;
  st.fds = CountFds(pid);
  st.rss_kb = StatusField(pid, "VmRSS");
  st.hwm_kb = StatusField(pid, "VmHWM");
  st.pte_kb = StatusField(pid, "VmPTE");
  st.threads = StatusField(pid, "Threads");
  return st;
}

int64_t CountLines(const std::string& path) {
  std::string text = ReadFile(path);
  return std::count(text.begin(), text.end(), '\n');
}

struct ShutdownResult {
  int64_t rpc_ns = 0;   // the Shutdown call
  int64_t exit_ns = 0;  // from the call to taohost's exit
  std::string exit_status;
  bool clean = false;
  int leftover = 0;  // idle programs still running afterwards
  // CPU of taohost over its whole life plus that of every child it reaped
  // (each hosted program's fork-to-exec work, its loader, its exit).
  int64_t tree_cpu_ns = 0;
};

// Shutdown over the API; taohost must exit 0 and leave no child behind.
// With close_connection the connection is closed as soon as the call returns,
// as a taoctl process's exit would; otherwise it stays open until taohost
// has exited.
ShutdownResult ShutdownHost(std::unique_ptr<Conn> conn, Host& h,
                            const std::vector<pid_t>& children,
                            const std::string& idle, bool close_connection) {
  ShutdownResult r;
  grpc::ClientContext context;
  SetDeadline(&context, 120);
  admin::ShutdownRequest request;
  request.set_grace_ms(10000);
  admin::ShutdownResponse response;
  const int64_t t0 = MonoNs();
  grpc::Status status = conn->stub().Shutdown(&context, request, &response);
  r.rpc_ns = MonoNs() - t0;
  CheckRpc(status, "Shutdown");
  if (close_connection) conn->Close();
  int wstatus = 0;
  const int64_t deadline = t0 + int64_t{60} * 1000000000;
  while (true) {
    struct rusage ru;
    pid_t got = wait4(h.pid, &wstatus, WNOHANG, &ru);
    if (got == h.pid) {
      r.tree_cpu_ns =
          (int64_t{ru.ru_utime.tv_sec} + ru.ru_stime.tv_sec) * 1000000000 +
          (int64_t{ru.ru_utime.tv_usec} + ru.ru_stime.tv_usec) * 1000;
    }
    if (got == h.pid) break;
    if (got < 0 && errno != EINTR) Die("waitpid taohost");
    if (MonoNs() > deadline) {
      kill(h.pid, SIGKILL);
      WaitPid(h.pid);
      Die(absl::StrCat("taohost did not exit within 60 s of Shutdown; log: ",
                       h.log));
    }
    usleep(200);
  }
  r.exit_ns = MonoNs() - t0;
  r.exit_status = DescribeStatus(wstatus);
  r.clean = WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0;
  close(h.stdout_fd);
  for (pid_t pid : children) {
    if (IdleStillRunning(pid, idle)) {
      ++r.leftover;
      kill(pid, SIGKILL);
    }
  }
  return r;
}

// ---- Start phases -----------------------------------------------------------

struct StartPhase {
  std::vector<int64_t> ns;    // per call, in call order (1 thread)
  int64_t wall_ns = 0;        // the starts only (pauses for List excluded)
  int64_t host_cpu_ns = 0;    // taohost CPU over the starts
  int64_t host_wait_ns = 0;   // taohost threads' run-queue wait over the starts
  int64_t audit_records = 0;  // audit records written during the starts
  std::vector<pid_t> pids;
  // Each child's own schedstat after the phase: its CPU (fork to exec, the
  // loader, its first read) and its wait for a CPU over the same span.
  std::vector<int64_t> child_cpu_ns, child_wait_ns;
  void ReadChildren() {
    child_cpu_ns.clear();
    child_wait_ns.clear();
    for (pid_t pid : pids) {
      std::optional<Sched> sched =
          ReadSched(absl::StrCat("/proc/", pid, "/schedstat"));
      if (!sched.has_value()) continue;
      child_cpu_ns.push_back(sched->cpu_ns);
      child_wait_ns.push_back(sched->wait_ns);
    }
  }
  double rate() const { return wall_ns > 0 ? ns.size() * 1e9 / wall_ns : 0; }
};

grpc::Status StartOne(admin::AdminService::Stub& stub, const std::string& idle,
                      int64_t* ns, pid_t* pid) {
  grpc::ClientContext context;
  SetDeadline(&context);
  admin::StartHostedProgramRequest request;
  request.set_path(idle);
  admin::HostedProgram response;
  const int64_t t0 = MonoNs();
  grpc::Status status = stub.StartHostedProgram(&context, request, &response);
  *ns = MonoNs() - t0;
  *pid = response.pid();
  return status;
}

// `count` starts from this thread, appended to `phase`.
void StartSerial(admin::AdminService::Stub& stub, const Settings& s,
                 const Host& h, int count, StartPhase* phase) {
  const HostCpu cpu0 = HostCpu::Take(h.pid);
  const int64_t audit0 = CountLines(h.audit);
  const int64_t t0 = MonoNs();
  for (int i = 0; i < count; ++i) {
    int64_t ns = 0;
    pid_t pid = -1;
    grpc::Status status = StartOne(stub, s.idle, &ns, &pid);
    CheckRpc(status,
             absl::StrCat("StartHostedProgram #", phase->ns.size() + 1));
    phase->ns.push_back(ns);
    phase->pids.push_back(pid);
  }
  phase->wall_ns += MonoNs() - t0;
  const HostCpu cpu1 = HostCpu::Take(h.pid);
  phase->host_cpu_ns += HostCpu::Between(cpu0, cpu1);
  phase->host_wait_ns += HostCpu::Delta(cpu0, cpu1).wait_ns;
  phase->audit_records += CountLines(h.audit) - audit0;
}

// s.n starts from s.threads threads, each on its own connection, released
// together.
StartPhase StartConcurrent(const Settings& s, const Host& h) {
  const int t = s.threads;
  std::vector<std::unique_ptr<Conn>> conns;
  for (int i = 0; i < t; ++i) {
    conns.push_back(Conn::Open(h.socket));
    TimeGetTaoName(conns.back()->stub(), 5);  // warm the connection
  }
  std::vector<std::vector<int64_t>> ns(t);
  std::vector<std::vector<pid_t>> pids(t);
  std::vector<std::string> errors(t);
  std::vector<int64_t> ends(t, 0);
  std::mutex mu;
  std::condition_variable cv;
  bool go = false;
  int64_t start = 0;
  std::vector<std::thread> workers;
  for (int w = 0; w < t; ++w) {
    const int count = s.n / t + (w < s.n % t ? 1 : 0);
    workers.emplace_back([&, w, count] {
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return go; });
      }
      for (int i = 0; i < count; ++i) {
        int64_t one = 0;
        pid_t pid = -1;
        grpc::Status status = StartOne(conns[w]->stub(), s.idle, &one, &pid);
        if (!status.ok()) {
          errors[w] = absl::StrCat("gRPC ", status.error_code(), ": ",
                                   status.error_message());
          break;
        }
        ns[w].push_back(one);
        pids[w].push_back(pid);
      }
      ends[w] = MonoNs();
    });
  }
  const HostCpu cpu0 = HostCpu::Take(h.pid);
  const int64_t audit0 = CountLines(h.audit);
  {
    std::lock_guard<std::mutex> lock(mu);
    start = MonoNs();
    go = true;
  }
  cv.notify_all();
  for (std::thread& w : workers) w.join();
  StartPhase phase;
  phase.wall_ns = *std::max_element(ends.begin(), ends.end()) - start;
  const HostCpu cpu1 = HostCpu::Take(h.pid);
  phase.host_cpu_ns = HostCpu::Between(cpu0, cpu1);
  phase.host_wait_ns = HostCpu::Delta(cpu0, cpu1).wait_ns;
  phase.audit_records = CountLines(h.audit) - audit0;
  for (int w = 0; w < t; ++w) {
    if (!errors[w].empty())
      Die(absl::StrCat("StartHostedProgram (thread ", w, "): ", errors[w]));
    phase.ns.insert(phase.ns.end(), ns[w].begin(), ns[w].end());
    phase.pids.insert(phase.pids.end(), pids[w].begin(), pids[w].end());
  }
  return phase;
}

// ---- Baselines --------------------------------------------------------------

struct SpawnBaseline {
  std::vector<int64_t> spawn_ns;  // posix_spawn + exit + waitpid
  int64_t spawn_wall_ns = 0;
  std::vector<int64_t> fork_ns;  // fork + execve + exit + waitpid
  int64_t n_live = 0;            // live children for the stop baseline
  int64_t live_start_ns = 0;     // posix_spawn of them, one after another
  int64_t live_stop_ns = 0;      // SIGTERM to each, then reap each
  double spawn_rate() const {
    return spawn_wall_ns > 0 ? spawn_ns.size() * 1e9 / spawn_wall_ns : 0;
  }
};

SpawnBaseline MeasureSpawn(const Settings& s) {
  SpawnBaseline b;
  const int dev_null = HighFd(open("/dev/null", O_RDONLY | O_CLOEXEC));
  // The idle program reads fd 3: /dev/null gives it EOF at once, so it exits 0.
  const std::vector<std::pair<int, int>> remap = {{dev_null, 3}};
  for (int i = 0; i < 20; ++i)
    WaitPid(Spawn(s.idle, {s.idle}, remap));  // warm up
  const int64_t w0 = MonoNs();
  for (int i = 0; i < s.spawns; ++i) {
    const int64_t t0 = MonoNs();
    int status = WaitPid(Spawn(s.idle, {s.idle}, remap));
    b.spawn_ns.push_back(MonoNs() - t0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      Die(absl::StrCat("the idle program ended with ", DescribeStatus(status)));
    }
  }
  b.spawn_wall_ns = MonoNs() - w0;
  // fork() + execve, as the host's Launch does (fork, not vfork).
  std::string path = s.idle;
  char* argv[] = {path.data(), nullptr};
  for (int i = 0; i < s.spawns / 2; ++i) {
    const int64_t t0 = MonoNs();
    pid_t pid = fork();
    if (pid < 0) Die("fork");
    if (pid == 0) {
      dup2(dev_null, 3);
      execve(path.c_str(), argv, environ);
      _exit(127);
    }
    WaitPid(pid);
    b.fork_ns.push_back(MonoNs() - t0);
  }
  close(dev_null);
  // N live children on one shared pipe (so this process's fd table stays
  // small), then SIGTERM all and reap all: the floor for a Shutdown.
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) Die("pipe2");
  pipefd[0] = HighFd(pipefd[0]);
  pipefd[1] = HighFd(pipefd[1]);
  std::vector<pid_t> live;
  const int64_t l0 = MonoNs();
  for (int i = 0; i < s.n; ++i)
    live.push_back(Spawn(s.idle, {s.idle}, {{pipefd[0], 3}}));
  b.live_start_ns = MonoNs() - l0;
  b.n_live = static_cast<int64_t>(live.size());
  usleep(200 * 1000);  // let every child reach its read()
  const int64_t k0 = MonoNs();
  for (pid_t pid : live) kill(pid, SIGTERM);
  for (pid_t pid : live) WaitPid(pid);
  b.live_stop_ns = MonoNs() - k0;
  close(pipefd[0]);
  close(pipefd[1]);
  return b;
}

// Append a 600-byte line (an audit record's size) and fdatasync, `n` times,
// in `dir`, back to back. Per-iteration ns.
std::vector<int64_t> MeasureFdatasync(const std::string& dir, int n) {
  const std::string path = absl::StrCat(dir, "/fdatasync-probe");
  int fd = open(path.c_str(),
                O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) Die(absl::StrCat("open ", path));
  std::string line(599, 'x');
  line.push_back('\n');
  std::vector<int64_t> ns;
  for (int i = 0; i < n; ++i) {
    const int64_t t0 = MonoNs();
    if (write(fd, line.data(), line.size()) !=
            static_cast<ssize_t>(line.size()) ||
        fdatasync(fd) != 0) {
      Die(absl::StrCat("append+fdatasync ", path, ": ", strerror(errno)));
    }
    ns.push_back(MonoNs() - t0);
  }
  close(fd);
  unlink(path.c_str());
  return ns;
}

// ---- One audit placement ----------------------------------------------------

struct Placement {
  std::string label;  // "disk" or "tmpfs"
  std::string dir;    // where the audit log is
  // Host run 1 (one client thread).
  std::vector<int64_t> rtt0, rtt_n, fresh;
  ListSample list0, list_mid, list_n;
  StartPhase serial;
  HostStats stats0, stats_n;
  ShutdownResult shutdown1;
  // Host run 2 (threads).
  StartPhase concurrent;
  ShutdownResult shutdown2;
};

Placement RunPlacement(const Settings& s, const std::string& root,
                       const std::string& label, const std::string& audit_dir) {
  Placement p;
  p.label = label;
  p.dir = audit_dir;
  std::fprintf(
      stderr,
      "[audit on %s] host 1: GetTaoName, List, %d serial starts, Shutdown\n",
      label.c_str(), s.n);
  {
    Host h = StartHost(s, root, label + "-1",
                       absl::StrCat(audit_dir, "/audit-", label, "-1.log"));
    auto conn = Conn::Open(h.socket);
    admin::AdminService::Stub& stub = conn->stub();
    TimeGetTaoName(stub, 20);  // warm up
    p.rtt0 = TimeGetTaoName(stub, s.rtt_calls);
    // A new connection per call, as each taoctl invocation makes: the
    // connect and handshake are in the time. Five untimed first.
    for (int i = 0; i < s.fresh_calls + 5; ++i) {
      const int64_t t0 = MonoNs();
      auto fresh = Conn::Open(h.socket);
      TimeGetTaoName(fresh->stub(), 1);
      if (i >= 5) p.fresh.push_back(MonoNs() - t0);
    }
    p.stats0 = StatsOf(h.pid);
    p.list0 = TimeList(stub, s.list_calls, h.pid);
    StartSerial(stub, s, h, s.list_mid, &p.serial);
    if (s.list_mid < s.n) {
      p.list_mid = TimeList(stub, s.list_calls, h.pid);
      StartSerial(stub, s, h, s.n - s.list_mid, &p.serial);
    }
    p.serial.ReadChildren();
    p.list_n = TimeList(stub, s.list_calls, h.pid);
    p.rtt_n = TimeGetTaoName(stub, std::max(50, s.rtt_calls / 2));
    p.stats_n = StatsOf(h.pid);
    p.shutdown1 = ShutdownHost(std::move(conn), h, p.serial.pids, s.idle, true);
  }
  std::fprintf(
      stderr,
      "[audit on %s] host 2: %d starts from %d client threads, Shutdown\n",
      label.c_str(), s.n, s.threads);
  {
    Host h = StartHost(s, root, label + "-2",
                       absl::StrCat(audit_dir, "/audit-", label, "-2.log"));
    auto conn = Conn::Open(h.socket);
    TimeGetTaoName(conn->stub(), 20);
    p.concurrent = StartConcurrent(s, h);
    p.concurrent.ReadChildren();
    p.shutdown2 =
        ShutdownHost(std::move(conn), h, p.concurrent.pids, s.idle, false);
  }
  return p;
}

// ---- The table --------------------------------------------------------------

struct Row {
  std::string metric, value, baseline, ratio, limit;
};

void PrintTable(const std::vector<Row>& rows) {
  size_t w[4] = {6, 5, 8, 5};
  for (const Row& r : rows) {
    w[0] = std::max(w[0], r.metric.size());
    w[1] = std::max(w[1], r.value.size());
    w[2] = std::max(w[2], r.baseline.size());
    w[3] = std::max(w[3], r.ratio.size());
  }
  auto line = [&](const std::string& a, const std::string& b,
                  const std::string& c, const std::string& d) {
    std::printf("%-*s | %-*s | %-*s | %s\n", static_cast<int>(w[0]), a.c_str(),
                static_cast<int>(w[1]), b.c_str(), static_cast<int>(w[2]),
                c.c_str(), d.c_str());
  };
  line("metric", "value", "baseline", "ratio");
  std::printf("%s\n", std::string(w[0] + w[1] + w[2] + w[3] + 9, '-').c_str());
  for (const Row& r : rows) {
    if (r.metric.empty()) {
      std::printf("\n");
      continue;
    }
    line(r.metric, r.value, r.baseline, r.ratio);
    if (!r.limit.empty()) std::printf("    limited by: %s\n", r.limit.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  Settings s = ParseArgs(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  const LoadMeter::Snap load0 = LoadMeter::Take();
  const int64_t run_start = MonoNs();
  setenv("TAO_PASSPHRASE", "tao_admin_bench: a throwaway host key passphrase",
         1);

  // The host keeps ~5 descriptors per child; it inherits our limit.
  const rlim_t want = static_cast<rlim_t>(s.n) * 6 + 1024;
  const rlim_t nofile = RaiseNofile(want);
  if (nofile < want) {
    std::fprintf(
        stderr,
        "tao_admin_bench: WARNING: RLIMIT_NOFILE is %llu (hard limit), "
        "%d children may need %llu\n",
        static_cast<unsigned long long>(nofile), s.n,
        static_cast<unsigned long long>(want));
  }

  struct stat idle_st;
  if (stat(s.idle.c_str(), &idle_st) != 0)
    Die(absl::StrCat("no idle program at ", s.idle));
  if (stat(s.taohost.c_str(), &idle_st) != 0 && errno == ENOENT) {
    Die(absl::StrCat("no taohost at ", s.taohost));
  }
  stat(s.idle.c_str(), &idle_st);
  const std::string root = MakeTempDir(s.disk_base);
  if (!s.runtime_base.empty()) s.runtime_base = MakeTempDir(s.runtime_base);
  std::string tmpfs_dir;
  if (s.tmpfs) {
    if (!IsTmpfs(s.tmpfs_base)) {
      std::fprintf(stderr, "tao_admin_bench: WARNING: %s is %s, not tmpfs\n",
                   s.tmpfs_base.c_str(), FsType(s.tmpfs_base).c_str());
    }
    tmpfs_dir = MakeTempDir(s.tmpfs_base);
  }
  if (s.disk && IsTmpfs(root)) {
    std::fprintf(stderr,
                 "tao_admin_bench: WARNING: the 'disk' directory %s is tmpfs; "
                 "set TMPDIR or --disk-dir to a disk\n",
                 root.c_str());
  }
  const std::string key_name = MakeDomain(root + "/domain", s.idle, getuid());

  if (s.shutdown_probe > 0) {
    // How long taohost takes to exit after answering Shutdown, with no
    // children, alternating a client that closes its connection at once and
    // one that keeps it open.
    for (int i = 0; i < s.shutdown_probe; ++i) {
      const bool close_connection = i % 2 == 0;
      Host h = StartHost(s, root, absl::StrCat("probe-", i),
                         root + "/audit-probe.log");
      auto conn = Conn::Open(h.socket);
      TimeGetTaoName(conn->stub(), 5);
      ShutdownResult r =
          ShutdownHost(std::move(conn), h, {}, s.idle, close_connection);
      std::printf(
          "shutdown probe %d: connection %s: Shutdown %s, exit (%s) %s after\n",
          i, close_connection ? "closed" : "open", Ms(r.rpc_ns).c_str(),
          r.exit_status.c_str(), Ms(r.exit_ns - r.rpc_ns).c_str());
      std::fflush(stdout);
    }
    if (!s.keep) RemoveAll(root);
    if (!tmpfs_dir.empty()) RemoveAll(tmpfs_dir);
    if (!s.runtime_base.empty()) RemoveAll(s.runtime_base);
    return 0;
  }

  std::fprintf(stderr, "baselines: spawn, fdatasync, bare gRPC\n");
  const SpawnBaseline spawn = MeasureSpawn(s);
  std::vector<int64_t> sync_disk, sync_tmpfs;
  sync_disk = MeasureFdatasync(root, s.syncs);
  if (s.tmpfs) sync_tmpfs = MeasureFdatasync(tmpfs_dir, s.syncs);
  std::vector<int64_t> bare;
  {
    BareService service(key_name);
    grpc::ServerBuilder builder;
    const std::string bare_socket = root + "/bare.sock";
    builder.AddListeningPort("unix:" + bare_socket,
                             grpc::InsecureServerCredentials());
    builder.RegisterService(&service);
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    if (server == nullptr) Die("the bare gRPC server did not start");
    auto conn = Conn::Open(bare_socket);
    TimeGetTaoName(conn->stub(), 100);
    bare = TimeGetTaoName(conn->stub(), s.bare_calls);
    conn->Close();
    server->Shutdown(std::chrono::system_clock::now() +
                     std::chrono::seconds(1));
  }

  std::vector<Placement> placements;
  if (s.disk) placements.push_back(RunPlacement(s, root, "disk", root));
  if (s.tmpfs) placements.push_back(RunPlacement(s, root, "tmpfs", tmpfs_dir));
  const LoadMeter::Snap load1 = LoadMeter::Take();

  // ---- Report ----
  const Dist spawn_d(spawn.spawn_ns), fork_d(spawn.fork_ns), bare_d(bare);
  const Dist sync_disk_d(sync_disk), sync_tmpfs_d(sync_tmpfs);
  const Placement* disk = nullptr;
  const Placement* tmpfs = nullptr;
  for (const Placement& p : placements) (p.label == "disk" ? disk : tmpfs) = &p;
  const double fdatasync_gap_ns =
      disk && tmpfs
          ? static_cast<double>(Median(disk->rtt0) - Median(tmpfs->rtt0))
          : -1;

  std::printf(
      "tao_admin_bench: the admin API of taohost over its unix socket, audit "
      "log "
      "on %s\n",
      absl::StrJoin(placements, " and ",
                    [&](std::string* out, const Placement& p) {
                      absl::StrAppend(out, p.label, " (", p.dir, ", ",
                                      FsType(p.dir), ")");
                    })
          .c_str());
  const std::string runtime_base =
      s.runtime_base.empty() ? root : s.runtime_base;
  std::printf(
      "taohost: %s\nidle program: %s (%lld bytes)\nruntime dirs (socket, "
      "per-program "
      "logs) in %s (%s)\n",
      s.taohost.c_str(), s.idle.c_str(),
      static_cast<long long>(idle_st.st_size), runtime_base.c_str(),
      FsType(runtime_base).c_str());
  std::printf(
      "N = %d starts per start phase, %d client threads in the concurrent "
      "phase, "
      "%d calls per List row, %d GetTaoName calls\n",
      s.n, s.threads, s.list_calls, s.rtt_calls);
  std::printf("CPU affinity: %s; nice %d; RLIMIT_NOFILE %llu\n",
              AffinityText().c_str(), getpriority(PRIO_PROCESS, 0),
              static_cast<unsigned long long>(nofile));
  std::printf(
      "baselines: posix_spawn+exit+waitpid of the idle program %s (p99 %s), "
      "%.0f /s; fork+execve+exit+waitpid %s; %ld live idle children: spawned "
      "in "
      "%s, SIGTERM+reap of all %s; bare gRPC GetTaoName RTT %s; append 600 B + "
      "fdatasync: %s %s%s\n\n",
      Ms(spawn_d.median()).c_str(), Ms(spawn_d.p99()).c_str(),
      spawn.spawn_rate(), Ms(fork_d.median()).c_str(),
      static_cast<long>(spawn.n_live), Ms(spawn.live_start_ns).c_str(),
      Ms(spawn.live_stop_ns).c_str(), MsP99(bare_d).c_str(),
      FsType(root).c_str(), MsP99(sync_disk_d).c_str(),
      s.tmpfs ? absl::StrCat(", tmpfs ", MsP99(sync_tmpfs_d)).c_str() : "");

  std::vector<Row> rows;
  for (const Placement& p : placements) {
    if (!rows.empty()) rows.push_back({});
    const std::string tag = absl::StrCat(" [audit ", p.label, "]");
    const Dist rtt0(p.rtt0), rttn(p.rtt_n), fresh(p.fresh);
    const Dist serial(p.serial.ns), conc(p.concurrent.ns);
    const double n = static_cast<double>(s.n);
    const int fds_per_child =
        static_cast<int>(std::lround((p.stats_n.fds - p.stats0.fds) / n));
    std::string sync_note;
    if (p.label == "disk" && fdatasync_gap_ns > 0) {
      sync_note = absl::StrFormat(
          "GetTaoName disk-tmpfs gap %s per audit record (fdatasync alone %s)",
          Ms(fdatasync_gap_ns), Ms(sync_disk_d.median()));
    } else if (p.label == "disk") {
      sync_note = absl::StrFormat(
          "fdatasync alone %s per record (run --audit=both for the "
          "gap to tmpfs)",
          Ms(sync_disk_d.median()));
    } else {
      sync_note =
          absl::StrFormat("fdatasync on tmpfs %s", Ms(sync_tmpfs_d.median()));
    }
    // First and last tenth of the serial starts: what grows with the children.
    const size_t tenth = std::max<size_t>(1, p.serial.ns.size() / 10);
    const int64_t first = Median(
        std::vector<int64_t>(p.serial.ns.begin(), p.serial.ns.begin() + tenth));
    const int64_t last = Median(
        std::vector<int64_t>(p.serial.ns.end() - tenth, p.serial.ns.end()));

    rows.push_back({"start rate, 1 client" + tag,
                    absl::StrFormat("%.0f starts/s", p.serial.rate()),
                    absl::StrFormat("%.0f spawns/s", spawn.spawn_rate()),
                    X(spawn.spawn_rate() / p.serial.rate()),
                    absl::StrFormat(
                        "%d serial StartHostedProgram calls in %.2f s. The "
                        "call does Authorize "
                        "(Admin:Start), measure (copy + SHA-256), Authorize "
                        "(Execute), fork + fexecve, "
                        "epoll registration: %.1f audit records per start "
                        "(%s). taohost CPU %.2f ms "
                        "per start. ratio = baseline rate / value",
                        s.n, p.serial.wall_ns / 1e9, p.serial.audit_records / n,
                        sync_note.c_str(), p.serial.host_cpu_ns / 1e6 / n)});
    rows.push_back(
        {"start latency, 1 client" + tag, MsP99(serial),
         Ms(spawn_d.median()) + " spawn+wait",
         X(1.0 * serial.median() / spawn_d.median()),
         absl::StrFormat(
             "median of the first tenth %s, of the last tenth %s. Per start: "
             "taohost "
             "CPU %s and run-queue wait %s (means, all its threads); the child "
             "(fork to "
             "exec, loader, first read) CPU %s and run-queue wait %s "
             "(medians). The host "
             "fork()s itself (RSS %.0f MiB, VmPTE %ld KiB: page-table copy, "
             "then "
             "copy-on-write faults and TLB shootdowns until the child execs), "
             "the child "
             "closes the %d inherited descriptors per running program and "
             "unmaps the "
             "host's memory in fexecve, and the host creates <id>.log in "
             "log_dir; "
             "fork+execve+wait from this small process %s; GetTaoName RTT %s "
             "is the API "
             "floor",
             Ms(first), Ms(last), Ms(p.serial.host_cpu_ns / n),
             Ms(p.serial.host_wait_ns / n), Ms(Median(p.serial.child_cpu_ns)),
             Ms(Median(p.serial.child_wait_ns)), p.stats_n.rss_kb / 1024.0,
             static_cast<long>(p.stats_n.pte_kb), fds_per_child,
             Ms(fork_d.median()), Ms(rtt0.median()))});
    rows.push_back({absl::StrFormat("start rate, %d clients", s.threads) + tag,
                    absl::StrFormat("%.0f starts/s", p.concurrent.rate()),
                    absl::StrFormat("%.0f starts/s 1 client", p.serial.rate()),
                    X(p.serial.rate() / p.concurrent.rate()),
                    absl::StrFormat("%d connections, %d starts in %.2f s; "
                                    "taohost CPU %.2f ms per start, and "
                                    "%.2f ms per start for taohost and its "
                                    "children together (each child's "
                                    "fork-to-exec, loader and exit; over the "
                                    "host's whole life); %.1f audit "
                                    "records per start. Audit appends hold one "
                                    "mutex across fdatasync (no group "
                                    "commit); forks of one process serialize "
                                    "on its mm. ratio = 1-client rate / "
                                    "value",
                                    s.threads, s.n, p.concurrent.wall_ns / 1e9,
                                    p.concurrent.host_cpu_ns / 1e6 / n,
                                    p.shutdown2.tree_cpu_ns / 1e6 / n,
                                    p.concurrent.audit_records / n)});
    rows.push_back(
        {absl::StrFormat("start latency, %d clients", s.threads) + tag,
         MsP99(conc), Ms(serial.median()) + " 1 client",
         X(1.0 * conc.median() / serial.median()),
         absl::StrFormat("per call, all threads together. Per start: taohost "
                         "run-queue wait %s; the child's CPU %s and run-queue "
                         "wait %s (medians)",
                         Ms(p.concurrent.host_wait_ns / n),
                         Ms(Median(p.concurrent.child_cpu_ns)),
                         Ms(Median(p.concurrent.child_wait_ns)))});
    auto list_row = [&](const std::string& what, const ListSample& l) {
      if (l.ns.empty()) return;
      const Dist d(l.ns);
      if (!l.error.empty()) {
        rows.push_back({what + tag, "FAILED", "-", "-", l.error});
        return;
      }
      const double per_entry = l.programs > 0 ? 1.0 * l.bytes / l.programs : 0;
      rows.push_back(
          {what + tag, MsP99(d), Ms(rtt0.median()) + " GetTaoName",
           X(1.0 * d.median() / rtt0.median()),
           absl::StrFormat(
               "%d programs, response %zu bytes%s; taohost CPU %s per call, "
               "client CPU %s "
               "per call (decode). Authorize(Admin:List) writes an audit "
               "record like every "
               "admin call",
               l.programs, l.bytes,
               per_entry > 0
                   ? absl::StrFormat(
                         " (%.0f per program, %.0f of it the name; gRPC's "
                         "default 4 MiB receive limit is reached at ~%.0f "
                         "programs)",
                         per_entry, 1.0 * l.name_bytes / l.programs,
                         4194304.0 / per_entry)
                         .c_str()
                   : "",
               Ms(1.0 * l.host_cpu_ns / l.ns.size()),
               Ms(1.0 * l.client_cpu_ns / l.ns.size()))});
    };
    list_row("list, 0 children", p.list0);
    list_row(absl::StrFormat("list, %d children", s.list_mid), p.list_mid);
    list_row(absl::StrFormat("list, %d children", s.n), p.list_n);
    rows.push_back(
        {"GetTaoName RTT, 0 children" + tag, MsP99(rtt0),
         Ms(bare_d.median()) + " bare gRPC",
         X(1.0 * rtt0.median() / bare_d.median()),
         absl::StrFormat(
             "the bare server checks no policy and writes no audit record; "
             "taohost's Authorize appends one audit record per call (%s)",
             sync_note.c_str())});
    rows.push_back(
        {absl::StrFormat("GetTaoName RTT, %d children", s.n) + tag, MsP99(rttn),
         Ms(rtt0.median()) + " 0 children",
         X(1.0 * rttn.median() / rtt0.median()),
         absl::StrFormat(
             "taohost RSS %.1f -> %.1f MiB, %ld -> %ld threads, %d -> %d fds",
             p.stats0.rss_kb / 1024.0, p.stats_n.rss_kb / 1024.0,
             static_cast<long>(p.stats0.threads),
             static_cast<long>(p.stats_n.threads), p.stats0.fds,
             p.stats_n.fds)});
    rows.push_back(
        {"GetTaoName, new connection" + tag, MsP99(fresh),
         Ms(rtt0.median()) + " warm", X(1.0 * fresh.median() / rtt0.median()),
         "connect + HTTP/2 handshake, SO_PEERCRED and SO_PEERGROUPS for the "
         "caller's groups, then the call (what each taoctl invocation pays)"});
    rows.push_back(
        {absl::StrFormat("Shutdown RPC, %d children", s.n) + tag,
         Ms(p.shutdown1.rpc_ns), Ms(spawn.live_stop_ns) + " kill+reap",
         X(1.0 * p.shutdown1.rpc_ns / spawn.live_stop_ns),
         absl::StrFormat(
             "SIGTERM to every child, then every exit seen on its pidfd by the "
             "one loop thread and reaped. taohost exited (%s) %s after the "
             "call "
             "returned (client connection closed at once), %d children left. "
             "After the %d-client run: Shutdown %s, exited (%s) %s after the "
             "call with the client connection left open, %d left",
             p.shutdown1.exit_status.c_str(),
             Ms(p.shutdown1.exit_ns - p.shutdown1.rpc_ns).c_str(),
             p.shutdown1.leftover, s.threads, Ms(p.shutdown2.rpc_ns).c_str(),
             p.shutdown2.exit_status.c_str(),
             Ms(p.shutdown2.exit_ns - p.shutdown2.rpc_ns).c_str(),
             p.shutdown2.leftover)});
  }
  PrintTable(rows);
  std::printf(
      "\nLatencies are medians of per-call wall times in this process (p99 in "
      "brackets: of 50 calls that is the largest). ratio = value / baseline as "
      "a "
      "cost (time per operation), so > 1 is slower than the baseline.\n");
  std::printf("background: %s\n", LoadMeter::Describe(load0, load1).c_str());
  std::printf("run took %.1f s\n", (MonoNs() - run_start) / 1e9);

  bool ok = true;
  for (const Placement& p : placements) {
    for (const ShutdownResult* r : {&p.shutdown1, &p.shutdown2}) {
      if (!r->clean || r->leftover != 0) ok = false;
    }
  }
  if (!ok)
    std::printf("FAILED: a taohost did not exit 0, or left children running\n");
  if (s.keep) {
    std::printf("kept: %s %s %s\n", root.c_str(), tmpfs_dir.c_str(),
                s.runtime_base.c_str());
  } else {
    RemoveAll(root);
    if (!tmpfs_dir.empty()) RemoveAll(tmpfs_dir);
    if (!s.runtime_base.empty()) RemoveAll(s.runtime_base);
  }
  return ok ? 0 : 1;
}
