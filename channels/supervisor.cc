#include "channels/supervisor.h"

#include <dirent.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace tao {
namespace {

constexpr absl::Duration kOrphanScanInterval = absl::Seconds(1);

// True if orphans are reparented to this process: it is PID 1, or a child
// subreaper.
bool AdoptsOrphans() {
  int subreaper = 0;
  return ::getpid() == 1 ||
         (::prctl(PR_GET_CHILD_SUBREAPER, &subreaper, 0, 0, 0) == 0 &&
          subreaper != 0);
}

// Reaps zombie children of this process that are not `ours`: descendants
// reparented to us (a program's process group is killed when it exits).
// Only zombies are reaped, each by its pid, so no program's status is ever
// taken from its pidfd handler.
void ReapOrphans(const std::set<pid_t>& ours) {
  DIR* tasks = ::opendir("/proc/self/task");
  if (tasks == nullptr) return;
  while (struct dirent* task = ::readdir(tasks)) {
    if (task->d_name[0] == '.') continue;
    std::ifstream children(
        absl::StrCat("/proc/self/task/", task->d_name, "/children"));
    pid_t pid;
    while (children >> pid) {
      if (ours.count(pid) != 0) continue;
      std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
      std::string line;
      std::getline(stat, line);
      size_t close = line.rfind(')');
      if (close == std::string::npos || close + 2 >= line.size() ||
          line[close + 2] != 'Z') {
        continue;
      }
      if (::waitpid(pid, nullptr, WNOHANG) == pid) {
        VLOG(1) << "reaped orphan " << pid;
      }
    }
  }
  ::closedir(tasks);
}

}  // namespace

absl::Duration RestartBackoff(const RestartPolicy& policy, int streak) {
  absl::Duration backoff = policy.initial_backoff;
  for (int i = 1; i < streak && backoff < policy.max_backoff; ++i) {
    backoff *= 2;
  }
  return std::min(backoff, policy.max_backoff);
}

Supervisor::Supervisor(EventDispatcher& dispatcher,
                       std::function<void(PendingRestart)> relaunch,
                       std::function<uint64_t(uint64_t)> deadline_tag)
    : dispatcher_(dispatcher),
      relaunch_(std::move(relaunch)),
      deadline_tag_(std::move(deadline_tag)) {
  absl::MutexLock lock(&join_mu_);
  thread_ = std::thread([this] { RestartLoop(); });
}

Supervisor::~Supervisor() { Join(); }

void Supervisor::Join() {
  Stop();
  absl::MutexLock lock(&join_mu_);
  if (thread_.joinable()) thread_.join();
}

void Supervisor::Stop() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  restarts_.clear();
  cv_.SignalAll();
}

void Supervisor::OnExit(const ProgramEntry& c, const ExitStatus& status,
                        bool stopping) {
  const RestartPolicy& policy = c.request.restart;
  bool wanted = policy.mode == RestartPolicy::kAlways ||
                (policy.mode == RestartPolicy::kOnFailure && !status.success());
  if (!wanted || c.no_restart || stopping) return;
  // A run longer than the longest back-off starts the back-off afresh.
  int streak = absl::Now() - c.started > policy.max_backoff ? 0 : c.streak + 1;
  if (policy.max_restarts > 0 && streak > policy.max_restarts) {
    LOG(INFO) << "program " << c.id << " failed " << streak - 1
              << " restarts in a row; giving up";
    return;
  }
  PendingRestart restart{absl::Now() + RestartBackoff(policy, streak),
                         c.id,
                         c.restarts + 1,
                         streak,
                         c.request,
                         c.admin};
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  auto at = std::upper_bound(
      restarts_.begin(), restarts_.end(), restart.at,
      [](absl::Time t, const PendingRestart& r) { return t < r.at; });
  restarts_.insert(at, std::move(restart));
  cv_.Signal();
}

void Supervisor::RestartLoop() {
  absl::MutexLock lock(&mu_);
  while (true) {
    while (!stopping_ &&
           (restarts_.empty() || restarts_.front().at > absl::Now())) {
      if (restarts_.empty()) {
        cv_.Wait(&mu_);
      } else {
        cv_.WaitWithDeadline(&mu_, restarts_.front().at);
      }
    }
    if (stopping_) return;
    PendingRestart due = std::move(restarts_.front());
    restarts_.pop_front();
    mu_.Unlock();
    relaunch_(std::move(due));
    mu_.Lock();
  }
}

void Supervisor::StopBy(ProgramEntry& c, absl::Time deadline) {
  if (c.kill_deadline.has_value() && *c.kill_deadline <= deadline) return;
  c.kill_deadline = deadline;
  dispatcher_.AddTimer(deadline, deadline_tag_(c.id));
}

void Supervisor::ExpireStop(ProgramEntry& c) {
  if (c.program == nullptr || !c.kill_deadline.has_value() ||
      *c.kill_deadline > absl::Now()) {
    return;  // exited already, or a later (or no) deadline holds now
  }
  LOG(INFO) << "program " << c.id << " did not stop in time; killing it";
  auto killed = c.program->Kill();
  (void)killed;
  c.kill_deadline.reset();
}

absl::Duration Supervisor::AfterTurn(const ProgramTable& table,
                                     bool program_exited) {
  // Whether we adopt orphans (PID 1, or a subreaper) is asked again when a
  // program has exited (what leaves orphans) and once a second, not with
  // two syscalls on every turn.
  const absl::Time now = absl::Now();
  if (program_exited || now - last_adoption_check_ >= kOrphanScanInterval) {
    adopts_orphans_ = AdoptsOrphans();
    last_adoption_check_ = now;
  }
  if (!adopts_orphans_) return absl::InfiniteDuration();
  // As PID 1 or a subreaper we inherit what programs leave behind: reap it
  // at least once a second.
  if (now - last_orphan_scan_ >= kOrphanScanInterval) {
    ReapOrphans(table.LivePids());
    last_orphan_scan_ = absl::Now();
  }
  return kOrphanScanInterval;
}

}  // namespace tao
