#include "program_factory/enclave/enclave_program.h"

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tao/file_util.h"
#include "tao/status_macros.h"

namespace tao {
namespace {

std::atomic<uint64_t> next_enclave{1};

// A system call's name on this architecture ("#<n>" if unknown).
std::string SyscallName(int number) {
  char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, number);
  std::string out =
      name != nullptr ? std::string(name) : absl::StrCat("#", number);
  ::free(name);
  return out;
}

}  // namespace

EnclaveProgram::EnclaveProgram(LaunchPlan plan, LandlockPolicy landlock,
                               SeccompFilter seccomp, ProgramIdentity identity,
                               const EnclaveFactoryOptions& options,
                               std::shared_ptr<PreparedRootCache> roots)
    : plan_(std::move(plan)),
      landlock_(std::move(landlock)),
      seccomp_(seccomp.WithNotify()),
      identity_(std::move(identity)),
      options_(options),
      roots_(std::move(roots)) {}

EnclaveProgram::~EnclaveProgram() {
  if (child_.running()) (void)Kill();
  child_ = EnclaveProcess();  // kills and reaps the init
  Release();
}

std::string EnclaveProgram::Layers() const {
  const LaunchPlanFields& f = plan_.fields();
  std::vector<std::string> layers = {
      "namespaces user,pid,mount,net(lo),ipc,uts,cgroup",
      "init pid 1",
      "private root ro",
      "no_new_privs",
      absl::StrCat("landlock abi ", landlock_.abi()),
      absl::StrCat("seccomp ", seccomp_.size(), " insns, kill by the init")};
  if (f.enclave_size_mib != 0) {
    layers.push_back(absl::StrCat("memory ", f.enclave_size_mib, " MiB"));
  }
  if (f.threads != 0) layers.push_back(absl::StrCat("tasks ", f.threads));
  layers.push_back("freezer");
  layers.push_back(f.debug ? absl::StrCat("DEBUG: core dumps into ", crash_dir_)
                           : "no core dumps");
  return absl::StrJoin(layers, "; ");
}

absl::Status EnclaveProgram::Start(ChildEndpoint endpoint) {
  if (started_) {
    return absl::FailedPreconditionError("the enclave was already started");
  }
  started_ = true;
  struct Guard {
    EnclaveProgram* p;
    bool armed = true;
    ~Guard() {
      if (armed) {
        p->child_ = EnclaveProcess();
        p->Release();
      }
    }
  } guard{this};
  const uint64_t serial = next_enclave++;
  const std::string name = absl::StrCat("e", ::getpid(), "-", serial);
  // The limits, and a freezer; the init does not count against THREADS.
  EnclaveLimits limits;
  limits.memory_bytes = uint64_t{plan_.fields().enclave_size_mib} << 20;
  limits.max_tasks =
      plan_.fields().threads == 0 ? 0 : plan_.fields().threads + 1;
  limits.freezer = true;
  TAO_ASSIGN_OR_RETURN(cgroups_,
                       EnclaveCgroups::Create(name, limits, options_.cgroups));
  confinement_.cgroup = absl::StrJoin(cgroups_->paths(), ",");
  confinement_.uid = options_.outside_uid;
  confinement_.gid = options_.outside_gid;

  if (::mkdir(options_.run_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::ErrnoToStatus(errno, "mkdir " + options_.run_dir);
  }
  std::string dir = absl::StrCat(options_.run_dir, "/", name);
  if (::mkdir(dir.c_str(), 0755) != 0) {
    return absl::ErrnoToStatus(errno, "mkdir " + dir);
  }
  root_dir_ = dir;
  std::vector<EnclaveMount> extra;
  if (plan_.fields().debug) {
    // Only a DEBUG enclave may dump core, and only into a directory of
    // its own.
    if (::mkdir(options_.crash_root.c_str(), 0755) != 0 && errno != EEXIST) {
      return absl::ErrnoToStatus(errno, "mkdir " + options_.crash_root);
    }
    crash_dir_ = absl::StrCat(options_.crash_root, "/", name);
    if (::mkdir(crash_dir_.c_str(), 0700) != 0 ||
        ::chown(crash_dir_.c_str(), options_.outside_uid,
                options_.outside_gid) != 0) {
      return absl::ErrnoToStatus(errno,
                                 "make the crash directory " + crash_dir_);
    }
    extra.push_back(EnclaveMount{EnclaveMount::Kind::kBindReadWrite, crash_dir_,
                                 kEnclaveCrashPath});
  }
  // The hashed bytes, built into a read-only root once per plan; held
  // until the init has bound it into its own namespace.
  TAO_ASSIGN_OR_RETURN(std::shared_ptr<const PreparedRoot> prepared,
                       roots_->Get(plan_, extra));
  TAO_ASSIGN_OR_RETURN(
      PrivateRootLayout root,
      PrivateRootLayout::CreateOver(plan_, root_dir_, prepared->dir(), extra));

  UniqueFd dev_null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!dev_null.valid()) return absl::ErrnoToStatus(errno, "open /dev/null");
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return absl::ErrnoToStatus(errno, "pipe2");
  UniqueFd out_read(out[0]), out_write(out[1]);

  const TrustedFile* entry = plan_.Find(plan_.fields().entry);
  if (entry == nullptr) return absl::InternalError("the plan has no entry");
  EnclaveLaunchOptions launch;
  launch.root = &root;
  launch.root_dir = root_dir_;
  launch.landlock = &landlock_;
  launch.seccomp = &seccomp_;
  launch.cgroups = cgroups_.get();
  launch.exec_fd = entry->memfd.get();
  launch.argv = plan_.argv();
  for (const auto& [n, v] : plan_.env()) {
    launch.envp.push_back(absl::StrCat(n, "=", v));
  }
  launch.envp.push_back(absl::StrCat("TAO_CHANNEL=", endpoint.channel_env));
  launch.fds_to_remap = {
      {dev_null.get(), 0}, {out_write.get(), 1}, {out_write.get(), 2}};
  for (const ChildEndpoint::Fd& fd : endpoint.fds) {
    launch.fds_to_remap.push_back({fd.fd.get(), fd.child_number});
  }
  launch.outside_uid = options_.outside_uid;
  launch.outside_gid = options_.outside_gid;
  launch.allow_core_dump = plan_.fields().debug;
  if (plan_.fields().debug) launch.working_dir = kEnclaveCrashPath;
  TAO_ASSIGN_OR_RETURN(child_, LaunchEnclave(launch, &times_));
  if (::fcntl(out_read.get(), F_SETFL, O_NONBLOCK) != 0) {
    return absl::ErrnoToStatus(errno, "make the output pipe non-blocking");
  }
  output_ = std::move(out_read);
  guard.armed = false;
  return absl::OkStatus();
}

absl::Status EnclaveProgram::Stop(absl::Duration grace) {
  (void)grace;  // the loop keeps the deadline and calls Kill after it
  if (!started_ || !child_.running()) {
    return absl::FailedPreconditionError("the enclave is not running");
  }
  if (frozen_) TAO_RETURN_IF_ERROR(SetFrozen(false));
  return child_.Signal(SIGTERM);
}

absl::Status EnclaveProgram::Kill() {
  if (!started_) {
    return absl::FailedPreconditionError("the enclave is not running");
  }
  if (!child_.running()) return absl::OkStatus();
  absl::Status killed = child_.Signal(SIGKILL);
  if (frozen_ && cgroups_ != nullptr) (void)cgroups_->Kill();  // thaws
  return killed;
}

absl::Status EnclaveProgram::Freeze() { return SetFrozen(true); }

absl::Status EnclaveProgram::Thaw() { return SetFrozen(false); }

absl::Status EnclaveProgram::SetFrozen(bool frozen) {
  if (!started_ || !child_.running() || cgroups_ == nullptr) {
    return absl::FailedPreconditionError("the enclave is not running");
  }
  TAO_RETURN_IF_ERROR(cgroups_->SetFrozen(frozen));
  frozen_ = frozen;
  return absl::OkStatus();
}

absl::StatusOr<ExitStatus> EnclaveProgram::Reap() {
  if (!started_) {
    return absl::FailedPreconditionError("the enclave was not started");
  }
  TAO_ASSIGN_OR_RETURN(EnclaveProcess::End end, child_.TryReap());
  const int status = end.wait_status;
  ExitStatus out;
  out.signaled = WIFSIGNALED(status);
  out.code = out.signaled ? WTERMSIG(status) : WEXITSTATUS(status);
  if (end.refused_syscall >= 0) {
    // What seccomp's kill would have said: the init killed it for the call.
    out.signaled = true;
    out.code = SIGSYS;
  }
  std::string detail = absl::StrCat("layers: ", Layers());
  if (cgroups_ != nullptr) {
    auto oom = cgroups_->OomKilled();
    if (oom.ok() && *oom) {
      absl::StrAppend(&detail, "; crash: killed at the memory limit (",
                      plan_.fields().enclave_size_mib, " MiB)");
    }
  }
  if (end.refused_syscall >= 0) {
    absl::StrAppend(&detail, "; crash: seccomp refused system call ",
                    SyscallName(end.refused_syscall));
  }
  if (WIFSIGNALED(status) && WCOREDUMP(status) && !crash_dir_.empty()) {
    absl::StrAppend(&detail, "; core dumped in ", crash_dir_);
  }
  Release();
  frozen_ = false;
  exit_record_ = ExitRecord{out, confinement_, detail};
  return out;
}

void EnclaveProgram::Release() {
  cgroups_.reset();  // kills what is left and removes the cgroups
  if (!root_dir_.empty()) {
    ::rmdir(root_dir_.c_str());
    root_dir_.clear();
  }
}

bool EnclaveProgram::Owns(const ProcessFacts& facts) const {
  return started_ && child_.running() && facts.pid == child_.pid();
}

}  // namespace tao
