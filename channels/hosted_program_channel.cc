// HostedProgramChannel (hosted_program_channel.h), all but its start path
// (hosted_program_start.cc): creation, the loop thread's handlers, stop,
// kill, freeze, the queries and shutdown.
#include "channels/hosted_program_channel.h"

#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "channels/channel_kinds.h"
#include "glog/logging.h"
#include "tao/status_macros.h"

namespace tao {
namespace {

// The audit trail's writer signals this after every sync.
constexpr uint64_t kAuditTag = EventDispatcher::kReservedTag;

}  // namespace

AuditLog* HostedProgramChannel::SyncTrail(const TaoDomain& domain) {
  AuditLog* trail = domain.audit();
  return trail != nullptr && trail->durability() == AuditDurability::kSync
             ? trail
             : nullptr;
}

class HostedProgramChannel::Events final : public EventDispatcher::Handler {
 public:
  explicit Events(HostedProgramChannel& loop) : loop_(loop) {}
  void OnReady(uint64_t tag, uint32_t) override { loop_.OnReady(tag); }
  void OnTimer(uint64_t tag) override { loop_.OnTimer(tag); }
  bool OnTurnEnd(absl::Duration* max_wait) override {
    return loop_.OnTurnEnd(max_wait);
  }

 private:
  HostedProgramChannel& loop_;
};

absl::StatusOr<std::unique_ptr<HostedProgramChannel>>
HostedProgramChannel::Create(const TaoHost& host, TaoDomain& domain,
                             std::vector<FactoryRegistration> factories,
                             HostedProgramChannelOptions options) {
  for (const FactoryRegistration& reg : factories) {
    if (reg.factory == nullptr || reg.name.empty()) {
      return absl::InvalidArgumentError(
          "a factory registration needs a name and a factory");
    }
    TAO_RETURN_IF_ERROR(CheckChannelPairing(reg.name, reg.channel_kinds,
                                            reg.factory->channel_kinds()));
  }
  if (options.max_log_bytes == 0 || options.max_frame_size < 64 ||
      options.max_buffered_output == 0) {
    return absl::InvalidArgumentError(
        "max_log_bytes and max_buffered_output must be positive, "
        "max_frame_size "
        "at least 64");
  }
  TAO_ASSIGN_OR_RETURN(std::unique_ptr<EventDispatcher> dispatcher,
                       EventDispatcher::Create());
  if (SyncTrail(domain) != nullptr) {
    TAO_RETURN_IF_ERROR(
        dispatcher->Watch(domain.audit()->wake_fd(), EPOLLIN, kAuditTag));
  }
  std::unique_ptr<HostedProgramChannel> loop(
      new HostedProgramChannel(host, domain, std::move(factories),
                               std::move(options), std::move(dispatcher)));
  loop->thread_ = std::thread([raw = loop.get()] {
    // Writes to a vanished program's pipe must not kill the host: block
    // SIGPIPE on this thread (writes then fail with EPIPE).
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
    // Decisions made here never wait for the disk; their answers are held
    // by their connection instead.
    AuditLog::HoldAnswersOnThisThread();
    raw->dispatcher_->Run(*raw->events_handler_);
  });
  return loop;
}

HostedProgramChannel::HostedProgramChannel(
    const TaoHost& host, TaoDomain& domain,
    std::vector<FactoryRegistration> factories,
    HostedProgramChannelOptions options,
    std::unique_ptr<EventDispatcher> dispatcher)
    : host_(host),
      domain_(domain),
      handler_(host, domain),
      factories_(std::move(factories)),
      options_(std::move(options)),
      dispatcher_(std::move(dispatcher)),
      own_events_(options_.events == nullptr ? std::make_unique<EventBus>()
                                             : nullptr),
      events_(options_.events != nullptr ? options_.events : own_events_.get()),
      capture_(std::make_unique<OutputCapture>(
          *dispatcher_,
          OutputCaptureOptions{options_.log_dir, options_.max_log_bytes})),
      events_handler_(std::make_unique<Events>(*this)),
      table_(options_.max_exited_programs) {
  supervisor_ = std::make_unique<Supervisor>(
      *dispatcher_,
      [this](PendingRestart due) {
        auto started = Launch(due.request, due.admin, due.previous_id,
                              due.restarts, due.streak);
        if (!started.ok()) {
          LOG(WARNING) << "could not restart program " << due.previous_id
                       << ": " << started.status();
        }
      },
      [](uint64_t id) { return Tag(id, kTagDeadline); });
}

HostedProgramChannel::~HostedProgramChannel() {
  Shutdown(absl::ZeroDuration());
}

void HostedProgramChannel::Emit(const ProgramEvent& event) {
  events_->Publish(event);
  if (options_.on_event) options_.on_event(event);
}

std::optional<HostedProcess> HostedProgramChannel::ProgramOfPid(
    pid_t pid) const {
  absl::StatusOr<ProcessFacts> facts = ReadProcessFacts(pid);
  // A caller whose process cannot be read is not known to be none of ours.
  if (!facts.ok()) return HostedProcess{std::nullopt, ""};
  absl::MutexLock lock(&mu_);
  for (const auto& [id, entry] : table_.entries()) {
    if (entry->program != nullptr && entry->program->Owns(*facts)) {
      return HostedProcess{id, entry->name.text()};
    }
  }
  for (const FactoryRegistration& reg : factories_) {
    if (reg.factory->Hosts(*facts)) return HostedProcess{std::nullopt, ""};
  }
  return std::nullopt;
}

void HostedProgramChannel::OnReady(uint64_t tag) {
  if (tag == kAuditTag) {
    uint64_t count;
    ssize_t r = ::read(domain_.audit()->wake_fd(), &count, sizeof(count));
    (void)r;
    absl::MutexLock lock(&mu_);
    FlushHeld();
    return;
  }
  const uint64_t id = tag >> 2;
  const TagKind kind = static_cast<TagKind>(tag & 3);
  if (kind == kTagOutput) {
    capture_->Drain(id);  // the capture's lock only
    return;
  }
  absl::MutexLock lock(&mu_);
  ProgramEntry* entry = table_.Find(id);
  if (entry == nullptr) return;
  if (kind == kTagChannel) {
    // Level-triggered: whatever woke us, make what progress a turn allows.
    ServeChannel(*entry);
  } else if (kind == kTagExit) {
    HandleExit(*entry);
  }
}

void HostedProgramChannel::OnTimer(uint64_t tag) {
  absl::MutexLock lock(&mu_);
  ProgramEntry* entry = table_.Find(tag >> 2);
  if (entry != nullptr && (tag & 3) == kTagDeadline) {
    supervisor_->ExpireStop(*entry);
  }
}

bool HostedProgramChannel::OnTurnEnd(absl::Duration* max_wait) {
  std::vector<ProgramEvent> to_emit;
  bool stop;
  {
    absl::MutexLock lock(&mu_);
    *max_wait = supervisor_->AfterTurn(table_, program_exited_);
    program_exited_ = false;
    to_emit.swap(pending_events_);
    stop = shut_down_;
  }
  for (const ProgramEvent& event : to_emit) options_.on_event(event);
  return !stop;
}

void HostedProgramChannel::ServeChannel(ProgramEntry& c) {
  ProgramConnection* connection = c.connection.get();
  if (connection == nullptr || !connection->open()) return;
  // Requests left buffered get no new epoll event: serve them next turn.
  if (connection->Serve()) dispatcher_->Again(Tag(c.id, kTagChannel));
  if (connection->has_held()) {
    held_.insert(c.id);
  } else if (!held_.empty()) {
    held_.erase(c.id);
  }
}

void HostedProgramChannel::FlushHeld() {
  // The trail made more records durable: send the answers that waited.
  for (auto it = held_.begin(); it != held_.end();) {
    ProgramEntry* entry = table_.Find(*it);
    if (entry == nullptr || entry->connection == nullptr ||
        !entry->connection->FlushHeld()) {
      it = held_.erase(it);
    } else {
      ++it;
    }
  }
}

void HostedProgramChannel::HandleExit(ProgramEntry& c) {
  if (c.program == nullptr) return;
  // The pidfd is readable: the program has exited and is a zombie, so its
  // pid (and process group id) cannot be reused yet. What it left behind
  // goes with it (its cgroup, else its process group): a hosted program's
  // children do not outlive it.
  auto killed = c.program->Kill();
  (void)killed;
  absl::StatusOr<ExitStatus> status = c.program->Reap();
  if (!status.ok()) return;  // spurious: not exited yet
  capture_->Finish(c.id);
  if (c.connection != nullptr) c.connection->Close("the program exited");
  held_.erase(c.id);
  c.exit = *status;
  if (std::optional<ExitRecord> record = c.program->exit_record()) {
    c.exit_detail = record->detail;
  }
  c.kill_deadline.reset();
  program_exited_ = true;
  c.program.reset();  // closes its pidfd, which leaves the epoll set
  LOG(INFO) << "program " << c.id << " (pid " << c.pid
            << ") ended: " << status->ToString()
            << (c.exit_detail.empty() ? "" : " (") << c.exit_detail
            << (c.exit_detail.empty() ? "" : ")");
  ProgramEvent exited{
      ProgramEvent::kExited,
      c.id,
      c.previous_id,
      c.name.text(),
      c.exit_detail.empty()
          ? status->ToString()
          : absl::StrCat(status->ToString(), " (", c.exit_detail, ")"),
      absl::Now()};
  events_->Publish(exited);  // under the lock: after its start, in order
  if (options_.on_event) pending_events_.push_back(std::move(exited));
  supervisor_->OnExit(c, *status, stopping_);
  // Last: the table may forget `c` itself.
  for (uint64_t forgotten : table_.MarkExited(c)) {
    capture_->Forget(forgotten);
    held_.erase(forgotten);
  }
  exited_cv_.SignalAll();
}

absl::Status HostedProgramChannel::Signal(uint64_t id,
                                          std::optional<absl::Duration> grace) {
  absl::MutexLock lock(&mu_);
  ProgramEntry* c = table_.Find(id);
  if (c == nullptr) {
    return absl::NotFoundError(absl::StrCat("no hosted program ", id));
  }
  if (c->program == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "program ", id, " already exited (", c->exit->ToString(), ")"));
  }
  TAO_RETURN_IF_ERROR(grace.has_value() ? c->program->Stop(*grace)
                                        : c->program->Kill());
  c->no_restart = true;
  if (grace.has_value()) {
    c->state = ProgramState::kStopping;
    supervisor_->StopBy(*c, absl::Now() + *grace);
  }
  return absl::OkStatus();
}

absl::Status HostedProgramChannel::StopHostedProgram(uint64_t id,
                                                     absl::Duration grace) {
  return Signal(id, grace);
}

absl::Status HostedProgramChannel::KillHostedProgram(uint64_t id) {
  return Signal(id, std::nullopt);
}

absl::Status HostedProgramChannel::SetFrozen(uint64_t id, bool frozen) {
  absl::MutexLock lock(&mu_);
  ProgramEntry* c = table_.Find(id);
  if (c == nullptr) {
    return absl::NotFoundError(absl::StrCat("no hosted program ", id));
  }
  if (c->program == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "program ", id, " already exited (", c->exit->ToString(), ")"));
  }
  return frozen ? c->program->Freeze() : c->program->Thaw();
}

absl::Status HostedProgramChannel::FreezeHostedProgram(uint64_t id) {
  return SetFrozen(id, true);
}

absl::Status HostedProgramChannel::ThawHostedProgram(uint64_t id) {
  return SetFrozen(id, false);
}

std::vector<ChildInfo> HostedProgramChannel::ListHostedPrograms() const {
  absl::MutexLock lock(&mu_);
  return table_.List();
}

absl::StatusOr<ChildInfo> HostedProgramChannel::GetHostedProgram(
    uint64_t id) const {
  absl::MutexLock lock(&mu_);
  const ProgramEntry* entry = table_.Find(id);
  if (entry == nullptr) {
    return absl::NotFoundError(absl::StrCat("no hosted program ", id));
  }
  return ProgramTable::InfoOf(*entry);
}

absl::StatusOr<ChildInfo> HostedProgramChannel::WaitHostedProgram(
    uint64_t id, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  while (true) {
    const ProgramEntry* entry = table_.Find(id);
    if (entry == nullptr) {
      return absl::NotFoundError(absl::StrCat("no hosted program ", id));
    }
    if (entry->state == ProgramState::kExited) {
      return ProgramTable::InfoOf(*entry);
    }
    if (exited_cv_.WaitWithDeadline(&mu_, deadline)) {
      return absl::DeadlineExceededError(
          absl::StrCat("program ", id, " is still running"));
    }
  }
}

size_t HostedProgramChannel::running() const {
  absl::MutexLock lock(&mu_);
  return table_.running();
}

void HostedProgramChannel::Shutdown(absl::Duration grace) {
  bool first = false;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    first = !stopping_;
    stopping_ = true;
    supervisor_->Stop();
    absl::Time deadline = absl::Now() + grace;
    for (const auto& [id, entry] : table_.entries()) {
      if (entry->program == nullptr) continue;
      auto signaled = grace > absl::ZeroDuration() ? entry->program->Stop(grace)
                                                   : entry->program->Kill();
      (void)signaled;
      entry->state = ProgramState::kStopping;
      supervisor_->StopBy(*entry, deadline);
    }
  }
  dispatcher_->Wake();
  {
    absl::MutexLock lock(&mu_);
    while (table_.running() > 0) exited_cv_.Wait(&mu_);
    if (!first) {
      // Another caller tears the loop down; wait until it has.
      while (!joined_) exited_cv_.Wait(&mu_);
      return;
    }
    shut_down_ = true;
  }
  dispatcher_->Wake();
  if (thread_.joinable()) thread_.join();
  supervisor_->Join();
  absl::MutexLock lock(&mu_);
  joined_ = true;
  exited_cv_.SignalAll();
}

}  // namespace tao
