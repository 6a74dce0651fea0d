// The loop's start path (HostedProgramChannel::StartHostedProgram and the
// restarts' Launch): find the factory and check the channel kind, let the
// factory measure, ask the domain (AuthorizeStart for the admin caller,
// then AuthorizeExecute) with nothing started yet, then connect, start and
// enter the program in the table under the loop's lock. A denied program
// never runs. The rest of the loop is hosted_program_channel.cc.
#include <sys/epoll.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "channels/channel_kinds.h"
#include "channels/hosted_program_channel.h"
#include "glog/logging.h"
#include "tao/name_presentation.h"
#include "tao/status_macros.h"

namespace tao {

absl::StatusOr<ChildInfo> HostedProgramChannel::StartHostedProgram(
    const StartRequest& request, std::optional<Caller> admin) {
  return Launch(request, admin, /*restart_of=*/0, /*restarts=*/0,
                /*streak=*/0);
}

absl::StatusOr<ChildInfo> HostedProgramChannel::Launch(
    const StartRequest& request, const std::optional<Caller>& admin,
    uint64_t restart_of, int restarts, int streak) {
  const FactoryRegistration* reg = nullptr;
  for (const FactoryRegistration& r : factories_) {
    if (r.name == request.factory) reg = &r;
  }
  if (reg == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("no factory named '", request.factory, "'"));
  }
  TAO_ASSIGN_OR_RETURN(const std::string channel,
                       ParseChannelKind(request.channel));
  if (std::find(reg->channel_kinds.begin(), reg->channel_kinds.end(),
                channel) == reg->channel_kinds.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("factory '", reg->name,
                     "' is not configured for channel kind ", channel));
  }
  {
    absl::MutexLock lock(&mu_);
    if (stopping_)
      return absl::FailedPreconditionError("the host is shutting down");
  }
  // Measure: the factory decides nothing.
  TAO_ASSIGN_OR_RETURN(std::unique_ptr<HostedProgram> program,
                       reg->factory->NewHostedProgram(request.spec));
  Principal name = host_.name();
  for (const Subprincipal& sub : program->identity().subprincipals) {
    TAO_ASSIGN_OR_RETURN(name, name.Extend(sub));
  }
  // Decide: a denied program never runs. Who asked may start it as it
  // asked, and it may run as it asked.
  const RunAs& run_as = program->identity().run_as;
  auto deny = [&](const Decision& decision) {
    LOG(INFO) << "denied the start of " << LaunchTarget(request.spec) << ": "
              << decision.reason;
    Emit(ProgramEvent{ProgramEvent::kDenied, 0, restart_of, name.text(),
                      decision.reason, absl::Now()});
    return absl::PermissionDeniedError(decision.reason);
  };
  if (admin.has_value()) {
    const Decision start = domain_.AuthorizeStart(*admin, name, run_as);
    if (!start.allowed) return deny(start);
  }
  const Decision execute = domain_.AuthorizeExecute(name, run_as);
  if (!execute.allowed) return deny(execute);
  // Connect and start.
  TAO_ASSIGN_OR_RETURN(TransportPair pair, MakeChannel(channel));
  TAO_RETURN_IF_ERROR(program->Start(std::move(pair.child)));

  ChildInfo info;
  ProgramEvent started;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      // Shutdown began while it was measured: it must not outlive the host.
      auto killed = program->Kill();
      (void)killed;
      return absl::FailedPreconditionError("the host is shutting down");
    }
    auto entry = std::make_unique<ProgramEntry>(std::move(name));
    ProgramEntry& c = *entry;
    c.id = table_.NextId();
    c.request = request;
    c.admin = admin;
    c.confinement = program->confinement();
    c.restarts = restarts;
    c.previous_id = restart_of;
    c.streak = streak;
    c.factory = reg->name;
    c.channel = channel;
    c.pid = program->pid();
    c.started = absl::Now();
    absl::Status watched =
        dispatcher_->Watch(program->exit_fd(), EPOLLIN, Tag(c.id, kTagExit));
    if (!watched.ok()) {
      // Without an exit notification the program cannot be managed: stop it.
      auto killed = program->Kill();
      (void)killed;
      return absl::Status(
          watched.code(),
          absl::StrCat("watch the program's exit: ", watched.message()));
    }
    c.log_path =
        capture_->Open(c.id, program->TakeOutput(), Tag(c.id, kTagOutput));
    ConnectionOptions connection;
    connection.max_frame_size = options_.max_frame_size;
    connection.max_buffered_output = options_.max_buffered_output;
    connection.sync_trail = SyncTrail(domain_);
    connection.id = c.id;
    // The handler parses, asks the domain and acts; the connection counts
    // and wipes. The entry outlives its connection.
    c.connection = std::make_unique<ProgramConnection>(
        std::move(pair.host),
        [this, &c](absl::string_view frame, std::string* out) {
          return handler_.AnswerFrame(frame, &c.name, options_.max_frame_size,
                                      out);
        },
        *dispatcher_, Tag(c.id, kTagChannel), connection);
    c.program = std::move(program);
    LOG(INFO) << "started program " << c.id << " (pid " << c.pid << ", uid "
              << c.confinement.uid.value_or(0)
              << (c.confinement.dynamic_uid ? " dynamic" : "") << ", cgroup "
              << (c.confinement.cgroup.empty() ? "none" : c.confinement.cgroup)
              << ") as " << ShortName(c.name);
    info = ProgramTable::InfoOf(c);
    table_.Add(std::move(entry));
    started = ProgramEvent{
        restart_of == 0 ? ProgramEvent::kStarted : ProgramEvent::kRestarted,
        info.id,
        restart_of,
        info.name,
        LaunchTarget(request.spec),
        absl::Now()};
    // On the bus under the loop's lock, so that no watcher sees this
    // program's exit before its start.
    events_->Publish(started);
  }
  if (options_.on_event) options_.on_event(started);
  return info;
}

}  // namespace tao
