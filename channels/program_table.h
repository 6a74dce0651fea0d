// ProgramTable: the hosted programs the loop knows, running and exited, by
// id. It assigns ids, makes snapshots (ChildInfo) and forgets the oldest
// exited programs past a bound, so a host that runs programs for years holds
// a bounded table.
#ifndef TAO_CHANNELS_PROGRAM_TABLE_H_
#define TAO_CHANNELS_PROGRAM_TABLE_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "channels/loop_types.h"
#include "channels/program_connection.h"
#include "program_factory/program_factory.h"
#include "tao/principal.h"
#include "tao_domain/tao_domain.h"

namespace tao {

// One hosted program: what the facade, the supervisor and the table keep of
// it. Guarded by the loop's lock, like the table that owns it.
struct ProgramEntry {
  explicit ProgramEntry(Principal n) : name(std::move(n)) {}

  uint64_t id = 0;
  std::string factory;
  std::string channel;                     // its channel kind's name
  Principal name;                          // ExtendTaoName updates it
  std::unique_ptr<HostedProgram> program;  // released once reaped
  pid_t pid = -1;
  absl::Time started;
  ProgramState state = ProgramState::kRunning;
  std::optional<ExitStatus> exit;
  std::string exit_detail;      // ExitRecord::detail (a VM: how it ended)
  StartRequest request;         // kept to restart it
  std::optional<Caller> admin;  // who started it, asked again on restarts
  Confinement confinement;
  std::string log_path;
  // The supervisor's: restarts before this run, restarts in a row without
  // a long run, the run this one replaces, and whether it was stopped or
  // killed on purpose (no restart then).
  int restarts = 0;
  int streak = 0;
  uint64_t previous_id = 0;
  bool no_restart = false;
  // When a stop turns into a kill (the supervisor's).
  std::optional<absl::Time> kill_deadline;
  // Its channel; kept (closed) after exit for its counters.
  std::unique_ptr<ProgramConnection> connection;
};

// Not thread-safe (thread-compatible): the loop's facade calls it only under
// its lock, the one lock that guards every ProgramEntry.
class ProgramTable {
 public:
  // Keeps at most `max_exited` exited programs (oldest forgotten first).
  explicit ProgramTable(size_t max_exited) : max_exited_(max_exited) {}

  // The id the next Add gets.
  uint64_t NextId() { return next_id_++; }
  // Adds a running program (its id set from NextId).
  ProgramEntry& Add(std::unique_ptr<ProgramEntry> entry);
  // Null if `id` is unknown (never added, or forgotten).
  ProgramEntry* Find(uint64_t id);
  const ProgramEntry* Find(uint64_t id) const;

  // `entry` has exited and was reaped: sets its state to kExited and
  // forgets the oldest exited programs past the bound. Returns the ids it
  // forgot (their captured output goes with them).
  std::vector<uint64_t> MarkExited(ProgramEntry& entry);

  // Programs not yet exited.
  size_t running() const { return running_; }
  // The pids of the programs not yet reaped.
  std::set<pid_t> LivePids() const;

  // A snapshot of `entry`.
  static ChildInfo InfoOf(const ProgramEntry& entry);
  // Snapshots of every program, by id.
  std::vector<ChildInfo> List() const;

  // Every program, by id (for the facade's walks: shutdown, ownership).
  const std::map<uint64_t, std::unique_ptr<ProgramEntry>>& entries() const {
    return entries_;
  }

 private:
  const size_t max_exited_;
  uint64_t next_id_ = 1;
  size_t running_ = 0;
  std::map<uint64_t, std::unique_ptr<ProgramEntry>> entries_;
};

}  // namespace tao

#endif  // TAO_CHANNELS_PROGRAM_TABLE_H_
