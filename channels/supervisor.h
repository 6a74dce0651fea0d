// Supervisor: what keeps the host's programs in line over time. It applies
// each program's restart policy when it exits (exponential back-off, a limit
// on restarts in a row) and runs the restarts on a thread of its own
// (measuring a program is slow: it never runs on the loop thread); it turns
// a stop into a kill when the stop's grace runs out (a dispatcher timer);
// and, when this process is PID 1 or a child subreaper, it reaps the
// orphans that programs' descendants leave behind.
#ifndef TAO_CHANNELS_SUPERVISOR_H_
#define TAO_CHANNELS_SUPERVISOR_H_

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <set>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "channels/event_dispatcher.h"
#include "channels/loop_types.h"
#include "channels/program_table.h"
#include "tao_domain/tao_domain.h"

namespace tao {

// A restart that is due at `at`.
struct PendingRestart {
  absl::Time at;
  uint64_t previous_id = 0;  // the run it replaces
  int restarts = 0;          // runs before the new one
  int streak = 0;            // restarts in a row without a long run
  StartRequest request;
  std::optional<Caller> admin;
};

// The delay before restart number `streak` in a row (1 for the first):
// initial_backoff doubled per restart, at most max_backoff.
absl::Duration RestartBackoff(const RestartPolicy& policy, int streak);

// Thread-safety: the methods that take a ProgramEntry (OnExit, Stop,
// ExpireStop) and AfterTurn are called under the loop's lock, which guards
// the entries; AfterTurn on the loop thread only. The restart queue has the
// supervisor's own lock, taken after the loop's, never held while calling
// out: `relaunch` runs on the restart thread with no lock held.
class Supervisor {
 public:
  // Starts the restart thread. `relaunch` starts a due restart (it may
  // fail: that is logged). `dispatcher` must outlive the supervisor;
  // `deadline_tag(id)` is the timer tag for program `id`'s stop deadline.
  Supervisor(EventDispatcher& dispatcher,
             std::function<void(PendingRestart)> relaunch,
             std::function<uint64_t(uint64_t)> deadline_tag);
  // Join().
  ~Supervisor();

  // `entry` has exited with `status` (and was reaped): queues its restart
  // if its policy wants one, it was not stopped on purpose and the host is
  // not `stopping`.
  void OnExit(const ProgramEntry& entry, const ExitStatus& status,
              bool stopping);

  // `entry` was asked to stop: kill it (with what it left behind) at
  // `deadline` if it still runs then. An earlier deadline wins.
  void StopBy(ProgramEntry& entry, absl::Time deadline);
  // The timer of `entry`'s stop fired: kills it if its deadline passed.
  void ExpireStop(ProgramEntry& entry);

  // End of a loop turn: reaps orphans if this process adopts them (asked
  // again after a program exited, and once a second). Returns how long the
  // loop may wait before calling again. The programs of `table` that are
  // not yet reaped are never reaped here.
  absl::Duration AfterTurn(const ProgramTable& table, bool program_exited);

  // Drops every queued restart, refuses later ones and ends the restart
  // thread (after a relaunch in progress). Idempotent.
  void Stop();
  // Stop(), then waits until the restart thread has ended (call with no
  // lock held: a relaunch in progress takes the loop's). Idempotent.
  void Join();

 private:
  void RestartLoop();

  EventDispatcher& dispatcher_;
  const std::function<void(PendingRestart)> relaunch_;
  const std::function<uint64_t(uint64_t)> deadline_tag_;

  absl::Mutex mu_;
  absl::CondVar cv_;
  // Restarts due, in time order.
  std::deque<PendingRestart> restarts_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Mutex join_mu_;  // one joiner at a time
  std::thread thread_ ABSL_GUARDED_BY(join_mu_);

  // Orphans: loop thread only.
  absl::Time last_orphan_scan_ = absl::InfinitePast();
  bool adopts_orphans_ = false;
  absl::Time last_adoption_check_ = absl::InfinitePast();
};

}  // namespace tao

#endif  // TAO_CHANNELS_SUPERVISOR_H_
