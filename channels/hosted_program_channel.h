// HostedProgramChannel: the listen loop. It owns the table of hosted
// programs and every policy check: a program starts only after TaoDomain
// allows Execute for the name its factory measured, and every Tao call a
// program makes is checked before the host's mechanism (TaoHost) acts.
//
// It is a facade over parts with one job each:
//  - EventDispatcher (event_dispatcher.h): the loop thread, epoll, timers
//    and the cross-thread wake-up;
//  - ProgramConnection (program_connection.h): one program's channel over a
//    HostTransport: framing, budgets, backpressure, held answers, wiping;
//  - ProgramTable (program_table.h): ids, snapshots, retention;
//  - Supervisor (supervisor.h): restarts and their back-off, stop deadlines,
//    orphan reaping;
//  - OutputCapture (output_capture.h): log files, rotation, read/follow;
//  - EventBus (event_bus.h): ProgramEvents for every watcher.
// When a program exits, what is left of its process group (or cgroup) is
// killed. All I/O with programs is non-blocking and bounded per program, so
// a slow or hostile program stalls only itself; a program that breaks the
// protocol loses its channel and nothing else.
//
// Locking: one lock, the loop's (mu_), guards the program table, every
// entry and its connection, and the loop's own flags; the loop thread takes
// it per event, so admin calls get in between programs. The capture, the
// bus, the supervisor's restart queue and the dispatcher's timers each have
// a lock of their own, always taken after the loop's (or alone) and never
// held while calling out.
#ifndef TAO_CHANNELS_HOSTED_PROGRAM_CHANNEL_H_
#define TAO_CHANNELS_HOSTED_PROGRAM_CHANNEL_H_

#include <cstdint>
#include <functional>
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
#include "channels/event_bus.h"
#include "channels/event_dispatcher.h"
#include "channels/framing.h"
#include "channels/loop_types.h"
#include "channels/output_capture.h"
#include "channels/program_table.h"
#include "channels/supervisor.h"
#include "channels/tao_request_handler.h"
#include "program_factory/program_factory.h"
#include "tao/tao_host.h"
#include "tao/unique_fd.h"
#include "tao_domain/tao_domain.h"

namespace tao {

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
  // loop's lock held; it must return promptly. May be empty. (The bus, not
  // this, keeps each program's events in order.)
  std::function<void(const ProgramEvent&)> on_event;
  // The bus every ProgramEvent is published on (not owned; outlives the
  // loop). Null: the loop has a bus of its own (events()).
  EventBus* events = nullptr;
};

// A factory and the channel kinds the loop may pair it with.
struct FactoryRegistration {
  std::string name;                        // e.g. "process"
  ProgramFactory* factory;                 // not owned; outlives the loop
  std::vector<std::string> channel_kinds;  // names (channel_kinds.h)
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

  // The program's polite stop now (HostedProgram::Stop: SIGTERM for a
  // process), its Kill after `grace` if it is still running. kNotFound
  // for an unknown id, kFailedPrecondition if it already exited.
  absl::Status StopHostedProgram(uint64_t id, absl::Duration grace);
  // HostedProgram::Kill now (SIGKILL to a process's whole tree).
  absl::Status KillHostedProgram(uint64_t id);

  // Suspends / resumes every process of a running program (its kind's
  // Freeze and Thaw: the cgroup2 freezer for a process). kNotFound for an
  // unknown id, kFailedPrecondition if it exited or cannot be frozen here,
  // kUnimplemented if its kind cannot.
  absl::Status FreezeHostedProgram(uint64_t id);
  absl::Status ThawHostedProgram(uint64_t id);

  std::vector<ChildInfo> ListHostedPrograms() const;
  absl::StatusOr<ChildInfo> GetHostedProgram(uint64_t id) const;

  // Blocks until the program exits or `timeout` passes
  // (kDeadlineExceeded). kNotFound for an unknown id.
  absl::StatusOr<ChildInfo> WaitHostedProgram(uint64_t id,
                                              absl::Duration timeout);

  // Stops every program (Stop, then Kill after `grace`), waits for
  // them, and stops the loop. Later starts fail with kFailedPrecondition.
  void Shutdown(absl::Duration grace);

  // Programs currently running (not yet exited).
  size_t running() const;

  // The factories and the channel kinds each is paired with.
  const std::vector<FactoryRegistration>& factories() const {
    return factories_;
  }

  // The bus the loop publishes its events on (options.events, or its own).
  EventBus& events() const { return *events_; }

  // Up to `max_bytes` of program `id`'s captured output from `offset`,
  // waiting until `deadline` for more (OutputCapture::Read). kNotFound,
  // kFailedPrecondition without a log directory.
  absl::StatusOr<OutputCapture::Chunk> ReadOutput(uint64_t id, uint64_t offset,
                                                  size_t max_bytes,
                                                  absl::Time deadline) const {
    return capture_->Read(id, offset, max_bytes, deadline);
  }

 private:
  class Events;  // the dispatcher's Handler
  HostedProgramChannel(const TaoHost& host, TaoDomain& domain,
                       std::vector<FactoryRegistration> factories,
                       HostedProgramChannelOptions options,
                       std::unique_ptr<EventDispatcher> dispatcher);

  // Dispatcher tags: (id << 2) | kind; the audit trail has one of its own
  // (hosted_program_channel.cc).
  enum TagKind : uint64_t {
    kTagChannel = 0,
    kTagDeadline = 1,
    kTagExit = 2,
    kTagOutput = 3
  };
  static uint64_t Tag(uint64_t id, TagKind kind) { return (id << 2) | kind; }
  // The trail whose records must be on the disk before the answers they
  // record are sent (sync durability), or null: answers go at once.
  static AuditLog* SyncTrail(const TaoDomain& domain);

  // The loop thread's handlers (under mu_ unless said otherwise).
  void OnReady(uint64_t tag) ABSL_LOCKS_EXCLUDED(mu_);
  void OnTimer(uint64_t tag) ABSL_LOCKS_EXCLUDED(mu_);
  bool OnTurnEnd(absl::Duration* max_wait) ABSL_LOCKS_EXCLUDED(mu_);
  void ServeChannel(ProgramEntry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FlushHeld() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandleExit(ProgramEntry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Stops the program (its kind's polite stop, `grace` given) or, without
  // a grace, kills it.
  absl::Status Signal(uint64_t id, std::optional<absl::Duration> grace);
  // Freezes or thaws it.
  absl::Status SetFrozen(uint64_t id, bool frozen);
  // Starts `request`; `restart_of` is the run it replaces (0: none). The
  // start path, hosted_program_start.cc.
  absl::StatusOr<ChildInfo> Launch(const StartRequest& request,
                                   const std::optional<Caller>& admin,
                                   uint64_t restart_of, int restarts,
                                   int streak);
  // Publishes on the bus and calls on_event; never under mu_ (events of a
  // program that runs are published under mu_ instead, in order).
  void Emit(const ProgramEvent& event) ABSL_LOCKS_EXCLUDED(mu_);

  const TaoHost& host_;
  TaoDomain& domain_;
  const TaoRequestHandler handler_;
  const std::vector<FactoryRegistration> factories_;
  const HostedProgramChannelOptions options_;
  // Declared first among the parts: destroyed last, the others use it.
  const std::unique_ptr<EventDispatcher> dispatcher_;
  std::unique_ptr<EventBus> own_events_;
  EventBus* const events_;
  const std::unique_ptr<OutputCapture> capture_;
  const std::unique_ptr<Events> events_handler_;

  mutable absl::Mutex mu_;
  absl::CondVar exited_cv_;
  ProgramTable table_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  bool joined_ ABSL_GUARDED_BY(mu_) = false;
  // A program exited since the last turn (the supervisor asks again whether
  // orphans come to us).
  bool program_exited_ ABSL_GUARDED_BY(mu_) = false;
  // The ids of programs with answers held until the audit trail is durable.
  std::set<uint64_t> held_ ABSL_GUARDED_BY(mu_);
  // Events for on_event, called at the end of the loop's turn, unlocked.
  std::vector<ProgramEvent> pending_events_ ABSL_GUARDED_BY(mu_);
  // Last among the parts: its restart thread calls Launch, so it is
  // destroyed (and joined) first.
  std::unique_ptr<Supervisor> supervisor_;
  std::thread thread_;
};

}  // namespace tao

#endif  // TAO_CHANNELS_HOSTED_PROGRAM_CHANNEL_H_
