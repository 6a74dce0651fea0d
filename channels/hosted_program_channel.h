// HostedProgramChannel: the listen loop. It owns the table of hosted
// programs and every policy check: a program starts only after TaoDomain
// allows Execute for the name its factory measured, and every Tao call a
// program makes is checked here before the host's mechanism (TaoHost) acts.
//
// One thread runs an epoll loop over every program's channel, its exit
// notification (a pidfd), its output pipe and a wake-up eventfd. When a
// program exits, what is left of its process group is killed; if this
// process is PID 1 or a child subreaper, the loop also reaps the orphans
// reparented to it. All I/O with
// programs is non-blocking and bounded per program, so a slow or hostile
// program stalls only itself; a program that breaks the protocol loses its
// channel and nothing else.
#ifndef TAO_CHANNELS_HOSTED_PROGRAM_CHANNEL_H_
#define TAO_CHANNELS_HOSTED_PROGRAM_CHANNEL_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "channels/framing.h"
#include "channels/tao_request_handler.h"
#include "program_factory/program_factory.h"
#include "tao/tao_host.h"
#include "tao/unique_fd.h"
#include "tao_domain/tao_domain.h"

namespace tao {

// What happens when a program exits.
struct RestartPolicy {
  enum Mode { kNever, kOnFailure, kAlways };
  Mode mode = kNever;
  // Delay before the first restart, doubled after each one up to
  // max_backoff; reset once a run lasts longer than max_backoff.
  absl::Duration initial_backoff = absl::Milliseconds(500);
  absl::Duration max_backoff = absl::Seconds(30);
  // Most restarts in a row (0: no limit).
  int max_restarts = 0;
};

absl::string_view RestartModeName(RestartPolicy::Mode mode);

struct StartRequest {
  std::string factory = "process";
  ChannelKind channel = ChannelKind::kPipe;
  ProgramSpec spec;
  RestartPolicy restart;
};

// Something that happened to a hosted program, for watchers.
struct ProgramEvent {
  enum Kind { kStarted, kExited, kDenied, kRestarted };
  Kind kind;
  uint64_t id = 0;           // the program (0 for a denied start)
  uint64_t previous_id = 0;  // for kRestarted: the run it replaces
  std::string name;          // the program's name, or its path if denied
  std::string detail;        // exit status, denial reason, ...
  absl::Time time;
};

absl::string_view ProgramEventKindName(ProgramEvent::Kind kind);

struct HostedProgramChannelOptions {
  // Largest frame a program may send.
  size_t max_frame_size = kDefaultMaxFrameSize;
  // (A response that would exceed it is answered RESOURCE_EXHAUSTED.)
  // Responses buffered for a program that does not read them; past this the
  // loop stops reading its requests until it catches up.
  size_t max_buffered_output = 64 << 20;
  // Where each program's stdout and stderr go, as <id>.log (rotated once to
  // <id>.log.1 at max_log_bytes). Empty: output is read and dropped.
  std::string log_dir;
  size_t max_log_bytes = 1 << 20;
  // Exited programs remembered for List and Wait (oldest forgotten first).
  size_t max_exited_programs = 1024;
  // Called for every ProgramEvent, from the loop's threads, never with the
  // loop's lock held; it must return promptly. May be empty.
  std::function<void(const ProgramEvent&)> on_event;
};

// A factory and the channel kinds the loop may pair it with.
struct FactoryRegistration {
  std::string name;         // e.g. "process"
  ProgramFactory* factory;  // not owned; outlives the loop
  std::vector<ChannelKind> channel_kinds;
};

enum class ProgramState { kRunning, kStopping, kExited };
absl::string_view ProgramStateName(ProgramState state);

// A snapshot of one hosted program.
struct ChildInfo {
  uint64_t id = 0;
  std::string name;  // current name text (with extensions)
  pid_t pid = -1;
  std::string factory;
  ChannelKind channel = ChannelKind::kPipe;
  ProgramState state = ProgramState::kRunning;
  absl::Time started;
  std::optional<ExitStatus> exit;
  uint64_t calls = 0;    // Tao calls answered
  uint64_t denials = 0;  // of which denied by policy
  std::string log_path;
  std::string path;  // the executable
  RestartPolicy::Mode restart = RestartPolicy::kNever;
  int restarts = 0;          // how many runs came before this one
  uint64_t previous_id = 0;  // the run this one restarted, if any
  // Its identity, cgroup and state directory (kept in the exit record).
  Confinement confinement;
};

// A process that belongs to the host's programs (ProgramOfPid).
struct HostedProcess {
  // The running program it belongs to; nullopt if it belongs to none that
  // runs now (a leftover of one that ended).
  std::optional<uint64_t> id;
  std::string name;  // that program's name text
};

// Thread-safe. The loop runs on its own thread from Create until Shutdown or
// destruction; every public method may be called from any other thread.
class HostedProgramChannel {
 public:
  // Checks every registration (a factory paired with a kind it cannot serve
  // is refused here, at configuration time) and starts the loop thread.
  // `host` and `domain` must outlive the loop.
  static absl::StatusOr<std::unique_ptr<HostedProgramChannel>> Create(
      const TaoHost& host, TaoDomain& domain,
      std::vector<FactoryRegistration> factories,
      HostedProgramChannelOptions options);

  // Kills every program still running, reaps it and stops the loop.
  ~HostedProgramChannel();

  // Measures, authorizes, connects and starts a program. `admin` is the
  // admin caller who asked (none for the host's own boot programs): the
  // domain is asked AuthorizeStart(admin, name, run-as), then
  // AuthorizeExecute(name, run-as), after measuring and before anything
  // starts; restarts ask again. A denied program never runs:
  // kPermissionDenied with the domain's reason. kInvalidArgument for an
  // unknown factory or a kind it is not paired with; the factory's errors
  // pass through.
  absl::StatusOr<ChildInfo> StartHostedProgram(
      const StartRequest& request, std::optional<Caller> admin = std::nullopt);

  // Whether process `pid` belongs to the host's programs (their cgroups or
  // dynamic uids, descendants included), and to which running one. nullopt:
  // it does not. A process that is gone (or cannot be read) counts as one of
  // theirs with no id, so that it is never taken for its uid.
  std::optional<HostedProcess> ProgramOfPid(pid_t pid) const;

  // SIGTERM now, SIGKILL after `grace` if it is still running. kNotFound
  // for an unknown id, kFailedPrecondition if it already exited.
  absl::Status StopHostedProgram(uint64_t id, absl::Duration grace);
  // SIGKILL now.
  absl::Status KillHostedProgram(uint64_t id);

  std::vector<ChildInfo> ListHostedPrograms() const;
  absl::StatusOr<ChildInfo> GetHostedProgram(uint64_t id) const;

  // Blocks until the program exits or `timeout` passes
  // (kDeadlineExceeded). kNotFound for an unknown id.
  absl::StatusOr<ChildInfo> WaitHostedProgram(uint64_t id,
                                              absl::Duration timeout);

  // Stops every program (SIGTERM, then SIGKILL after `grace`), waits for
  // them, and stops the loop. Later starts fail with kFailedPrecondition.
  void Shutdown(absl::Duration grace);

  // Programs currently running (not yet exited).
  size_t running() const;

  // The factories and the channel kinds each is paired with.
  const std::vector<FactoryRegistration>& factories() const {
    return factories_;
  }

 private:
  struct Child;
  HostedProgramChannel(const TaoHost& host, TaoDomain& domain,
                       std::vector<FactoryRegistration> factories,
                       HostedProgramChannelOptions options, UniqueFd epoll_fd,
                       UniqueFd wake_fd);

  void Loop();
  void Wake();
  void HandleEvent(uint64_t tag, uint32_t events)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReadRequests(Child& child) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Flushes, answers up to a turn's worth of requests, and remembers the
  // program if buffered requests are left for the next turn.
  void ServeChannel(Child& child) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FlushResponses(Child& child) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UpdateInterest(Child& child) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CloseChannel(Child& child, absl::string_view why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DrainOutput(Child& child) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandleExit(Child& child) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ForgetOldExited() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Reaps zombie children that are not our programs (see Loop).
  void ReapOrphans() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Duration ExpireDeadlines() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ChildInfo InfoOf(const Child& child) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Signal(uint64_t id, int signal,
                      std::optional<absl::Duration> grace);

  // Starts `request`; `restart_of` is the run it replaces (0: none).
  absl::StatusOr<ChildInfo> Launch(const StartRequest& request,
                                   const std::optional<Caller>& admin,
                                   uint64_t restart_of, int restarts,
                                   int streak);
  void Emit(ProgramEvent event);
  void RestartLoop();

  // Answers one request from `child` (policy checks happen here), appending
  // the response to its output without leaving unwiped plaintext behind.
  void Dispatch(Child& child, absl::string_view frame)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Appends the answer to `frame` to `out`; true if it holds plaintext (an
  // unsealed bundle or a shared secret). Wipes `frame` if it carried
  // plaintext (a Seal). May close the child's channel (a frame that does not
  // parse).
  bool Answer(Child& child, absl::string_view frame, std::string* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const TaoHost& host_;
  TaoDomain& domain_;
  const TaoRequestHandler handler_;
  const std::vector<FactoryRegistration> factories_;
  const HostedProgramChannelOptions options_;
  const UniqueFd epoll_fd_;
  const UniqueFd wake_fd_;

  mutable absl::Mutex mu_;
  absl::CondVar exited_cv_;
  std::map<uint64_t, std::unique_ptr<Child>> children_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  size_t running_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  bool joined_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_orphan_scan_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Whether this process adopts orphans, as last asked; a program exited
  // since (ask again).
  bool adopts_orphans_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_adoption_check_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool program_exited_ ABSL_GUARDED_BY(mu_) = false;
  // The ids of programs with answers held until the audit trail is durable.
  std::set<uint64_t> held_ ABSL_GUARDED_BY(mu_);
  // The ids of programs with a kill deadline (being stopped).
  std::set<uint64_t> with_deadline_ ABSL_GUARDED_BY(mu_);
  // A write on the loop thread failed with EPIPE: a SIGPIPE is pending there.
  bool sigpipe_raised_ ABSL_GUARDED_BY(mu_) = false;
  // Restarts due, in time order, run by restart_thread_ (measuring is slow:
  // it never runs on the loop thread).
  struct PendingRestart {
    absl::Time at;
    uint64_t previous_id;
    int restarts;
    int streak;
    StartRequest request;
    std::optional<Caller> admin;
  };
  std::deque<PendingRestart> restarts_ ABSL_GUARDED_BY(mu_);
  std::vector<ProgramEvent> pending_events_ ABSL_GUARDED_BY(mu_);
  // Programs with requests buffered but unanswered (no epoll event will
  // announce them): served every turn until drained.
  std::set<uint64_t> ready_ ABSL_GUARDED_BY(mu_);
  absl::CondVar restart_cv_;
  std::thread thread_;
  std::thread restart_thread_;
};

}  // namespace tao

#endif  // TAO_CHANNELS_HOSTED_PROGRAM_CHANNEL_H_
