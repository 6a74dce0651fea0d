#include "admin/admin_service.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "tao/status_macros.h"
#include "tao/unique_fd.h"

namespace tao {
namespace {

constexpr size_t kMaxQueuedEvents = 10000;
constexpr absl::Duration kPollInterval = absl::Milliseconds(100);

void FillProgram(const ChildInfo& info, admin::HostedProgram* out) {
  out->set_id(info.id);
  out->set_name(info.name);
  out->set_pid(info.pid);
  out->set_state(std::string(ProgramStateName(info.state)));
  out->set_factory(info.factory);
  out->set_channel(std::string(ChannelKindName(info.channel)));
  out->set_start_time_unix_ms(absl::ToUnixMillis(info.started));
  out->set_exited(info.exit.has_value());
  if (info.exit.has_value()) {
    out->set_signaled(info.exit->signaled);
    out->set_exit_code(info.exit->code);
    out->set_exit_status(info.exit->ToString());
  }
  out->set_calls(info.calls);
  out->set_denials(info.denials);
  out->set_path(info.path);
  out->set_restart(std::string(RestartModeName(info.restart)));
  out->set_restarts(static_cast<uint32_t>(info.restarts));
  out->set_previous_id(info.previous_id);
  if (info.confinement.uid.has_value()) out->set_uid(*info.confinement.uid);
  if (info.confinement.gid.has_value()) out->set_gid(*info.confinement.gid);
  out->set_dynamic_uid(info.confinement.dynamic_uid);
  out->set_cgroup(info.confinement.cgroup);
  out->set_state_directory(info.confinement.state_directory);
}

absl::StatusOr<StartRequest> ToStartRequest(
    const admin::StartHostedProgramRequest& in) {
  StartRequest out;
  out.factory = in.factory().empty() ? "process" : in.factory();
  if (in.channel().empty() || in.channel() == "pipe") {
    out.channel = ChannelKind::kPipe;
  } else if (in.channel() == "socketpair") {
    out.channel = ChannelKind::kSocketpair;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown channel '", in.channel(), "' (pipe or socketpair)"));
  }
  out.spec.path = in.path();
  out.spec.args.assign(in.args().begin(), in.args().end());
  for (const admin::EnvVar& var : in.env())
    out.spec.env.emplace_back(var.name(), var.value());
  if (!in.working_dir().empty()) out.spec.working_dir = in.working_dir();
  if (in.has_uid()) out.spec.uid = in.uid();
  if (in.has_gid()) out.spec.gid = in.gid();
  out.spec.state_directory = in.state_directory();
  switch (in.restart()) {
    case admin::RESTART_ON_FAILURE:
      out.restart.mode = RestartPolicy::kOnFailure;
      break;
    case admin::RESTART_ALWAYS:
      out.restart.mode = RestartPolicy::kAlways;
      break;
    default:
      out.restart.mode = RestartPolicy::kNever;
      break;
  }
  out.restart.max_restarts = static_cast<int>(in.max_restarts());
  if (in.initial_backoff_ms() > 0) {
    out.restart.initial_backoff = absl::Milliseconds(in.initial_backoff_ms());
  }
  if (in.max_backoff_ms() > 0) {
    out.restart.max_backoff = absl::Milliseconds(in.max_backoff_ms());
  }
  return out;
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

std::shared_ptr<EventHub::Subscription> EventHub::Subscribe() {
  auto subscription = std::make_shared<Subscription>();
  absl::MutexLock lock(&mu_);
  if (closed_) {
    absl::MutexLock sub_lock(&subscription->mu);
    subscription->closed = true;
  }
  subscribers_.push_back(subscription);
  return subscription;
}

void EventHub::Unsubscribe(const std::shared_ptr<Subscription>& subscription) {
  absl::MutexLock lock(&mu_);
  subscribers_.erase(
      std::remove(subscribers_.begin(), subscribers_.end(), subscription),
      subscribers_.end());
}

void EventHub::Publish(const admin::Event& event) {
  absl::MutexLock lock(&mu_);
  for (const auto& subscriber : subscribers_) {
    absl::MutexLock sub_lock(&subscriber->mu);
    if (subscriber->queue.size() >= kMaxQueuedEvents) {
      subscriber->queue.pop_front();
      ++subscriber->dropped;
    }
    subscriber->queue.push_back(event);
    subscriber->cv.Signal();
  }
}

void EventHub::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  for (const auto& subscriber : subscribers_) {
    absl::MutexLock sub_lock(&subscriber->mu);
    subscriber->closed = true;
    subscriber->cv.SignalAll();
  }
}

admin::Event ToAdminEvent(const ProgramEvent& event) {
  admin::Event out;
  out.set_kind(std::string(ProgramEventKindName(event.kind)));
  out.set_id(event.id);
  out.set_previous_id(event.previous_id);
  out.set_name(event.name);
  out.set_detail(event.detail);
  out.set_time_unix_ms(absl::ToUnixMillis(event.time));
  return out;
}

AdminServiceImpl::AdminServiceImpl(HostedProgramChannel& loop,
                                   TaoDomain& domain, const TaoHost& host,
                                   const PeerCredentialRegistry& peers,
                                   EventHub& events,
                                   AdminServiceOptions options)
    : loop_(loop),
      domain_(domain),
      host_(host),
      peers_(peers),
      events_(events),
      options_(std::move(options)) {}

namespace {

// What a denied admin caller is told: that it was denied, and nothing of
// the policy (no near misses, no rule ids, no other rule's matchers); the
// host's log keeps the whole reason. Admin:Info, which describes the host,
// says only "permission denied".
std::string DenialForCaller(absl::string_view operation,
                            const Decision& decision) {
  if (operation == "Admin:Info") return "permission denied";
  absl::string_view reason = decision.reason;
  size_t cut = reason.find("; ");
  if (cut != absl::string_view::npos) reason = reason.substr(0, cut);
  return absl::StrCat(reason, " (the host's log has the details)");
}

}  // namespace

absl::Status AdminServiceImpl::Authorize(grpc::ServerContext* context,
                                         absl::string_view operation,
                                         Caller* caller_out) {
  std::optional<PeerCredentials> peer = peers_.Lookup(context->peer());
  if (!peer.has_value()) {
    return absl::UnauthenticatedError(
        absl::StrCat("cannot identify the caller of ", operation, " (peer ",
                     context->peer(), ")"));
  }
  Caller caller = Caller::User(peer->uid, peer->groups);
  // A hosted program on the admin socket is that program, not its uid: a
  // program granted uid 0 does not inherit root's admin rules.
  std::optional<HostedProcess> hosted;
  if (peer->pid > 0) hosted = loop_.ProgramOfPid(peer->pid);
  if (hosted.has_value()) {
    auto name = hosted->id.has_value()
                    ? Principal::Parse(hosted->name)
                    : absl::StatusOr<Principal>(absl::NotFoundError("none"));
    if (!name.ok()) {
      return absl::UnauthenticatedError(absl::StrCat(
          "cannot identify the caller of ", operation, ": pid ", peer->pid,
          " belongs to the host's programs but to none that runs"));
    }
    caller = Caller::Program(*std::move(name));
  }
  if (caller_out != nullptr) *caller_out = caller;
  Decision decision = domain_.Authorize(caller, operation);
  VLOG(1) << operation << " by uid " << peer->uid << ": "
          << (decision.allowed ? "allowed" : "denied");
  if (!decision.allowed) {
    LOG(INFO) << "denied " << operation << " to uid " << peer->uid << ": "
              << decision.reason;
    return absl::PermissionDeniedError(DenialForCaller(operation, decision));
  }
  return absl::OkStatus();
}

grpc::Status AdminServiceImpl::StartHostedProgram(
    grpc::ServerContext* context,
    const admin::StartHostedProgramRequest* request,
    admin::HostedProgram* response) {
  Caller caller;
  absl::Status allowed = Authorize(context, "Admin:Start", &caller);
  if (!allowed.ok()) return ToGrpcStatus(allowed);
  auto start = ToStartRequest(*request);
  if (!start.ok()) return ToGrpcStatus(start.status());
  // The loop asks again once the program is measured: may this caller
  // start this program as this identity (Admin:Start's programs and
  // run_as_uids)?
  auto info = loop_.StartHostedProgram(*start, caller);
  if (!info.ok()) return ToGrpcStatus(info.status());
  FillProgram(*info, response);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::StopHostedProgram(
    grpc::ServerContext* context,
    const admin::StopHostedProgramRequest* request,
    admin::HostedProgram* response) {
  absl::Status allowed = Authorize(context, "Admin:Stop");
  if (!allowed.ok()) return ToGrpcStatus(allowed);
  absl::Duration grace = request->grace_ms() > 0
                             ? absl::Milliseconds(request->grace_ms())
                             : absl::Seconds(10);
  absl::Status stopped = loop_.StopHostedProgram(request->id(), grace);
  if (!stopped.ok()) return ToGrpcStatus(stopped);
  auto info = loop_.GetHostedProgram(request->id());
  if (!info.ok()) return ToGrpcStatus(info.status());
  FillProgram(*info, response);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::KillHostedProgram(
    grpc::ServerContext* context,
    const admin::KillHostedProgramRequest* request,
    admin::HostedProgram* response) {
  absl::Status allowed = Authorize(context, "Admin:Kill");
  if (!allowed.ok()) return ToGrpcStatus(allowed);
  absl::Status killed = loop_.KillHostedProgram(request->id());
  if (!killed.ok()) return ToGrpcStatus(killed);
  auto info = loop_.GetHostedProgram(request->id());
  if (!info.ok()) return ToGrpcStatus(info.status());
  FillProgram(*info, response);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ListHostedPrograms(
    grpc::ServerContext* context, const admin::ListHostedProgramsRequest*,
    admin::ListHostedProgramsResponse* response) {
  absl::Status allowed = Authorize(context, "Admin:List");
  if (!allowed.ok()) return ToGrpcStatus(allowed);
  for (const ChildInfo& info : loop_.ListHostedPrograms()) {
    FillProgram(info, response->add_programs());
  }
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::WaitHostedProgram(
    grpc::ServerContext* context,
    const admin::WaitHostedProgramRequest* request,
    admin::HostedProgram* response) {
  absl::Status allowed = Authorize(context, "Admin:Wait");
  if (!allowed.ok()) return ToGrpcStatus(allowed);
  absl::Time deadline =
      request->timeout_ms() > 0
          ? absl::Now() + absl::Milliseconds(request->timeout_ms())
          : absl::InfiniteFuture();
  // Wait in slices so a cancelled call is noticed.
  while (true) {
    if (context->IsCancelled())
      return grpc::Status(grpc::CANCELLED, "cancelled");
    absl::Duration slice =
        std::min(absl::Milliseconds(500), deadline - absl::Now());
    auto info = loop_.WaitHostedProgram(request->id(), slice);
    if (info.ok()) {
      FillProgram(*info, response);
      return grpc::Status::OK;
    }
    if (!absl::IsDeadlineExceeded(info.status()) || absl::Now() >= deadline) {
      return ToGrpcStatus(info.status());
    }
  }
}

grpc::Status AdminServiceImpl::GetLogs(
    grpc::ServerContext* context, const admin::GetLogsRequest* request,
    grpc::ServerWriter<admin::LogChunk>* writer) {
  absl::Status allowed = Authorize(context, "Admin:Logs");
  if (!allowed.ok()) return ToGrpcStatus(allowed);
  auto info = loop_.GetHostedProgram(request->id());
  if (!info.ok()) return ToGrpcStatus(info.status());
  if (info->log_path.empty()) {
    return grpc::Status(
        grpc::FAILED_PRECONDITION,
        "this host does not keep program logs (no log directory)");
  }
  // Follows the file across the loop's single rotation (<id>.log -> .1).
  UniqueFd fd;
  ino_t inode = 0;
  char buf[64 * 1024];
  while (!context->IsCancelled()) {
    if (!fd.valid()) {
      fd.Reset(::open(info->log_path.c_str(), O_RDONLY | O_CLOEXEC));
      struct stat st;
      if (fd.valid() && ::fstat(fd.get(), &st) == 0) inode = st.st_ino;
    }
    bool got_any = false;
    while (fd.valid()) {
      ssize_t n = ::read(fd.get(), buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got_any = true;
      admin::LogChunk chunk;
      chunk.set_data(buf, static_cast<size_t>(n));
      if (!writer->Write(chunk))
        return grpc::Status(grpc::CANCELLED, "client went away");
    }
    if (!request->follow()) return grpc::Status::OK;
    auto now = loop_.GetHostedProgram(request->id());
    bool exited = !now.ok() || now->state == ProgramState::kExited;
    struct stat st;
    if (::stat(info->log_path.c_str(), &st) == 0 && st.st_ino != inode) {
      fd.Reset();  // rotated: the rest of the old file was read above
      continue;
    }
    if (exited && !got_any) return grpc::Status::OK;
    if (!got_any) absl::SleepFor(kPollInterval);
  }
  return grpc::Status(grpc::CANCELLED, "cancelled");
}

grpc::Status AdminServiceImpl::WatchEvents(
    grpc::ServerContext* context, const admin::WatchEventsRequest*,
    grpc::ServerWriter<admin::Event>* writer) {
  absl::Status allowed = Authorize(context, "Admin:Events");
  if (!allowed.ok()) return ToGrpcStatus(allowed);
  auto subscription = events_.Subscribe();
  grpc::Status result = grpc::Status(grpc::CANCELLED, "cancelled");
  while (!context->IsCancelled()) {
    std::deque<admin::Event> batch;
    bool closing = false;
    {
      absl::MutexLock lock(&subscription->mu);
      if (subscription->queue.empty() && !subscription->closed) {
        subscription->cv.WaitWithTimeout(&subscription->mu,
                                         absl::Milliseconds(200));
      }
      batch.swap(subscription->queue);
      closing = subscription->closed;
    }
    bool ok = true;
    for (const admin::Event& event : batch) {
      if (!writer->Write(event)) {
        ok = false;
        break;
      }
    }
    if (!ok) break;
    if (closing) {
      result = grpc::Status::OK;
      break;
    }
  }
  events_.Unsubscribe(subscription);
  return result;
}

grpc::Status AdminServiceImpl::GetTaoName(grpc::ServerContext* context,
                                          const admin::GetTaoNameRequest*,
                                          admin::GetTaoNameResponse* response) {
  absl::Status allowed = Authorize(context, "Admin:GetTaoName");
  if (!allowed.ok()) return ToGrpcStatus(allowed);
  response->set_name(host_.name().text());
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::GetHostInfo(grpc::ServerContext* context,
                                           const admin::GetHostInfoRequest*,
                                           admin::HostInfo* response) {
  absl::Status allowed = Authorize(context, "Admin:Info");
  if (!allowed.ok()) return ToGrpcStatus(allowed);
  response->set_version(options_.version);
  response->set_uptime_ms(
      absl::ToInt64Milliseconds(absl::Now() - options_.started));
  response->set_tao_name(host_.name().text());
  response->set_domain_name(domain_.domain_name());
  for (const FactoryRegistration& reg : loop_.factories()) {
    admin::FactoryInfo* factory = response->add_factories();
    factory->set_name(reg.name);
    for (ChannelKind kind : reg.channel_kinds) {
      factory->add_channels(std::string(ChannelKindName(kind)));
    }
  }
  std::vector<ChildInfo> programs = loop_.ListHostedPrograms();
  response->set_known(static_cast<uint32_t>(programs.size()));
  response->set_running(static_cast<uint32_t>(loop_.running()));
  response->set_pid(static_cast<int32_t>(::getpid()));
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ReloadPolicy(
    grpc::ServerContext* context, const admin::ReloadPolicyRequest*,
    admin::ReloadPolicyResponse* response) {
  absl::Status allowed = Authorize(context, "Admin:Reload");
  if (!allowed.ok()) return ToGrpcStatus(allowed);
  if (!options_.load_policy) {
    return grpc::Status(grpc::FAILED_PRECONDITION,
                        "this host has no policy file");
  }
  auto bytes = options_.load_policy();
  if (!bytes.ok()) {
    return ToGrpcStatus(absl::Status(
        bytes.status().code(),
        absl::StrCat("policy not reloaded, the old one stays in force: ",
                     bytes.status().message())));
  }
  absl::Status reloaded = domain_.Reload(*bytes, "admin ReloadPolicy");
  if (!reloaded.ok()) return ToGrpcStatus(reloaded);
  DomainPolicy policy = domain_.policy();
  response->set_domain_name(policy.domain_name());
  response->set_rules(static_cast<uint32_t>(policy.rules_size()));
  admin::Event event;
  event.set_kind("policy-reloaded");
  event.set_name(policy.domain_name());
  event.set_detail(absl::StrCat(policy.rules_size(), " rules"));
  event.set_time_unix_ms(absl::ToUnixMillis(absl::Now()));
  events_.Publish(event);
  LOG(INFO) << "reloaded the policy of domain '" << policy.domain_name()
            << "' (" << policy.rules_size() << " rules)";
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::Shutdown(grpc::ServerContext* context,
                                        const admin::ShutdownRequest* request,
                                        admin::ShutdownResponse*) {
  absl::Status allowed = Authorize(context, "Admin:Shutdown");
  if (!allowed.ok()) return ToGrpcStatus(allowed);
  {
    absl::MutexLock lock(&shutdown_mu_);
    if (shutting_down_) return grpc::Status::OK;
    shutting_down_ = true;
  }
  absl::Duration grace = request->grace_ms() > 0
                             ? absl::Milliseconds(request->grace_ms())
                             : absl::Seconds(10);
  LOG(INFO)
      << "shutdown requested over the admin API; stopping programs (grace "
      << grace << ")";
  loop_.Shutdown(grace);
  if (options_.request_shutdown) options_.request_shutdown();
  return grpc::Status::OK;
}

}  // namespace tao
