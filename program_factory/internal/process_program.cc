#include "program_factory/internal/process_program.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "program_factory/internal/state_directory.h"
#include "tao/status_macros.h"

namespace tao {
namespace internal {
namespace {

// How long a killed tree may take to empty before it is left lingering.
constexpr absl::Duration kEmptyTimeout = absl::Milliseconds(500);

// Program cgroups are numbered per host process, so two factories of one
// process never pick the same directory.
std::atomic<uint64_t> next_cgroup_serial{1};

}  // namespace

absl::Status ProgramResources::ClaimStateDirectory(const std::string& name) {
  absl::MutexLock lock(&mu_);
  if (!state_directories_.insert(name).second) {
    return absl::FailedPreconditionError(
        absl::StrCat("state directory '", name,
                     "' belongs to a program that is still running"));
  }
  return absl::OkStatus();
}

void ProgramResources::ReleaseStateDirectory(const std::string& name) {
  absl::MutexLock lock(&mu_);
  state_directories_.erase(name);
}

void ProgramResources::Linger(std::unique_ptr<ProgramCgroup> cgroup,
                              std::optional<uint32_t> uid,
                              std::string state_directory) {
  absl::MutexLock lock(&mu_);
  lingering_.push_back(
      Lingering{std::move(cgroup), uid, std::move(state_directory)});
}

void ProgramResources::RetryLingering() {
  std::vector<Lingering> done;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = lingering_.begin(); it != lingering_.end();) {
      bool gone;
      if (it->cgroup != nullptr) {
        auto killed = it->cgroup->Kill();
        (void)killed;
        gone = it->cgroup->WaitEmpty(absl::ZeroDuration()) &&
               it->cgroup->Remove().ok();
      } else {
        gone = it->uid.has_value() && KillEveryProcessOf(*it->uid).ok();
      }
      if (gone) {
        if (!it->state_directory.empty()) {
          state_directories_.erase(it->state_directory);
        }
        done.push_back(std::move(*it));
        it = lingering_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (Lingering& l : done) {
    if (l.uid.has_value()) uids_.Release(*l.uid);
  }
}

ProcessProgram::ProcessProgram(ProcessSpec spec, MeasuredExecutable executable,
                               ProgramIdentity identity,
                               std::shared_ptr<ProgramResources> resources)
    : spec_(std::move(spec)),
      executable_(std::move(executable)),
      identity_(std::move(identity)),
      resources_(std::move(resources)) {}

ProcessProgram::~ProcessProgram() {
  if (child_.running()) {
    auto killed = Kill();
    (void)killed;
    child_ = Subprocess();  // kills and reaps the leader
  }
  Release();
}

absl::Status ProcessProgram::Start(ChildEndpoint endpoint) {
  if (child_.running() || started_) {
    return absl::FailedPreconditionError("the program was already started");
  }
  started_ = true;
  released_ = false;
  // Whatever fails below gives back what was taken.
  struct Guard {
    ProcessProgram* p;
    bool armed = true;
    ~Guard() {
      if (armed) p->Release();
    }
  } guard{this};
  resources_->RetryLingering();

  // The identity.
  const bool root_host = ::geteuid() == 0;
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  if (identity_.run_as.dynamic()) {
    if (!root_host) {
      return absl::FailedPreconditionError(
          "a dynamic identity needs a host running as root; run the host as "
          "root or give the program an explicit uid the domain grants");
    }
    TAO_ASSIGN_OR_RETURN(uint32_t allocated, resources_->uids().Allocate(
                                                 spec_.state_directory.empty()
                                                     ? spec_.path
                                                     : spec_.state_directory));
    dynamic_uid_ = allocated;
    uid = allocated;
    gid = allocated;
    confinement_.dynamic_uid = true;
  } else {
    uid = *identity_.run_as.uid;
    gid = identity_.run_as.gid.value_or(*uid);
    if (!root_host && *uid == ::geteuid() && *gid == ::getegid()) {
      // An unprivileged host can only run programs as itself.
      uid.reset();
      gid.reset();
    }
  }
  confinement_.uid = uid.has_value() ? *uid : ::geteuid();
  confinement_.gid = gid.has_value() ? *gid : ::getegid();

  // The state directory.
  std::vector<std::string> extra_env;
  if (!spec_.state_directory.empty()) {
    TAO_RETURN_IF_ERROR(resources_->ClaimStateDirectory(spec_.state_directory));
    state_directory_claimed_ = true;
    TAO_ASSIGN_OR_RETURN(
        std::string path,
        PrepareStateDirectory(resources_->state_root(), spec_.state_directory,
                              *confinement_.uid, *confinement_.gid));
    confinement_.state_directory = path;
    extra_env.push_back(absl::StrCat("TAO_STATE_DIRECTORY=", path));
  }

  // The cgroup.
  if (const CgroupTree* tree = resources_->cgroups()) {
    TAO_ASSIGN_OR_RETURN(cgroup_,
                         tree->NewProgram(absl::StrCat(next_cgroup_serial++)));
    confinement_.cgroup = cgroup_->relative_path();
  }

  UniqueFd dev_null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!dev_null.valid()) return absl::ErrnoToStatus(errno, "open /dev/null");
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return absl::ErrnoToStatus(errno, "pipe2");
  UniqueFd out_read(out[0]);
  UniqueFd out_write(out[1]);

  LaunchOptions launch;
  launch.exec_fd = executable_.memfd.get();
  launch.argv.push_back(spec_.path);
  launch.argv.insert(launch.argv.end(), spec_.args.begin(), spec_.args.end());
  for (const auto& [name, value] : spec_.env) {
    launch.envp.push_back(absl::StrCat(name, "=", value));
  }
  for (std::string& e : extra_env) launch.envp.push_back(std::move(e));
  launch.envp.push_back(absl::StrCat("TAO_CHANNEL=", endpoint.channel_env));
  launch.fds_to_remap = {
      {dev_null.get(), 0}, {out_write.get(), 1}, {out_write.get(), 2}};
  for (const ChildEndpoint::Fd& fd : endpoint.fds) {
    launch.fds_to_remap.push_back({fd.fd.get(), fd.child_number});
  }
  launch.working_dir = spec_.working_dir.empty() ? "/" : spec_.working_dir;
  launch.uid = uid;
  launch.gid = gid;
  launch.cgroup_procs_fd = cgroup_ != nullptr ? cgroup_->procs_fd() : -1;
  TAO_ASSIGN_OR_RETURN(child_, Launch(launch));
  if (cgroup_ != nullptr) cgroup_->CloseProcsFd();
  // The child has its copies; ours close here (endpoint, out_write).
  if (::fcntl(out_read.get(), F_SETFL, O_NONBLOCK) != 0) {
    return absl::ErrnoToStatus(errno, "make the output pipe non-blocking");
  }
  output_ = std::move(out_read);
  executable_.memfd.Reset();
  guard.armed = false;
  return absl::OkStatus();
}

absl::Status ProcessProgram::Signal(int signal) {
  return child_.Signal(signal);
}

absl::Status ProcessProgram::Stop(absl::Duration grace) {
  (void)grace;  // the loop keeps the deadline and calls Kill after it
  if (!started_ || !child_.running()) {
    return absl::FailedPreconditionError("the program is not running");
  }
  if (frozen_) {
    // A frozen process takes no signal: let it run to take this one.
    TAO_RETURN_IF_ERROR(SetFrozen(false));
  }
  return child_.Signal(SIGTERM);
}

absl::Status ProcessProgram::Freeze() { return SetFrozen(true); }

absl::Status ProcessProgram::Thaw() { return SetFrozen(false); }

absl::Status ProcessProgram::SetFrozen(bool frozen) {
  if (!started_ || !child_.running()) {
    return absl::FailedPreconditionError("the program is not running");
  }
  if (cgroup_ == nullptr) {
    return absl::FailedPreconditionError(
        "the program has no cgroup to freeze (cgroups are off on this host)");
  }
  TAO_RETURN_IF_ERROR(cgroup_->SetFrozen(frozen, absl::Seconds(5)));
  frozen_ = frozen;
  return absl::OkStatus();
}

absl::Status ProcessProgram::Kill() {
  if (!started_) {
    return absl::FailedPreconditionError("the program is not running");
  }
  if (cgroup_ != nullptr) {
    absl::Status killed = cgroup_->Kill();
    // The leader, too, should the cgroup refuse.
    if (child_.running()) ::kill(child_.pid(), SIGKILL);
    return killed;
  }
  if (!child_.running()) return absl::OkStatus();
  return child_.Signal(SIGKILL);
}

absl::StatusOr<ExitStatus> ProcessProgram::Reap() {
  TAO_ASSIGN_OR_RETURN(auto status, child_.TryReap());
  Release();
  ExitStatus out;
  out.signaled = status.first;
  out.code = status.second;
  frozen_ = false;
  exit_record_ = ExitRecord{out, confinement_, ""};
  return out;
}

void ProcessProgram::Release() {
  if (released_) return;
  released_ = true;
  bool empty = true;
  if (cgroup_ != nullptr) {
    auto killed = cgroup_->Kill();
    (void)killed;
    empty = cgroup_->WaitEmpty(kEmptyTimeout) && cgroup_->Remove().ok();
  } else if (dynamic_uid_.has_value() && child_.pid() < 0) {
    // No cgroup: the uid is the program's alone, so every process that
    // still has it is one of its descendants, setsid() or not.
    empty = KillEveryProcessOf(*dynamic_uid_).ok();
  }
  if (!empty) {
    resources_->Linger(std::move(cgroup_), dynamic_uid_,
                       state_directory_claimed_ ? spec_.state_directory : "");
    return;
  }
  cgroup_.reset();
  if (dynamic_uid_.has_value()) resources_->uids().Release(*dynamic_uid_);
  if (state_directory_claimed_) {
    resources_->ReleaseStateDirectory(spec_.state_directory);
  }
}

bool ProcessProgram::Owns(const ProcessFacts& facts) const {
  if (!started_ || released_) return false;
  if (facts.pid == child_.pid()) return true;
  if (cgroup_ != nullptr && !facts.cgroup.empty()) {
    const std::string& mine = cgroup_->relative_path();
    if (facts.cgroup == mine || absl::StartsWith(facts.cgroup, mine + "/")) {
      return true;
    }
  }
  if (dynamic_uid_.has_value()) {
    for (uint32_t uid : facts.uids) {
      if (uid == *dynamic_uid_) return true;
    }
  }
  return false;
}

}  // namespace internal

absl::StatusOr<ProcessFacts> ReadProcessFacts(pid_t pid) {
  TAO_ASSIGN_OR_RETURN(
      std::string status,
      internal::ReadSmallFile(absl::StrCat("/proc/", pid, "/status"), 1 << 16));
  ProcessFacts facts;
  facts.pid = pid;
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (!absl::ConsumePrefix(&line, "Uid:")) continue;
    for (absl::string_view field :
         absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
      uint32_t uid = 0;
      if (absl::SimpleAtoi(field, &uid)) facts.uids.push_back(uid);
    }
  }
  if (facts.uids.empty()) {
    return absl::NotFoundError(absl::StrCat("process ", pid, " is gone"));
  }
  facts.cgroup = internal::CgroupOfProcess(pid).value_or("");
  return facts;
}

}  // namespace tao
