#include "admin/admin_service.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "admin/start_request.h"
#include "glog/logging.h"
#include "tao/status_macros.h"

namespace tao {
namespace {

// A streaming call waits at most this long for more before it checks
// whether its client went away (more output or an event ends the wait at
// once).
constexpr absl::Duration kCancelCheck = absl::Milliseconds(500);
constexpr size_t kLogChunkBytes = 64 * 1024;

void FillProgram(const ChildInfo& info, admin::HostedProgram* out) {
  out->set_id(info.id);
  out->set_name(info.name);
  out->set_pid(info.pid);
  out->set_state(std::string(ProgramStateName(info.state)));
  out->set_factory(info.factory);
  out->set_channel(info.channel);
  out->set_frozen(info.frozen);
  out->set_start_time_unix_ms(absl::ToUnixMillis(info.started));
  out->set_exited(info.exit.has_value());
  if (info.exit.has_value()) {
    out->set_signaled(info.exit->signaled);
    out->set_exit_code(info.exit->code);
    out->set_exit_status(info.exit->ToString());
    out->set_exit_detail(info.exit_detail);
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
  out->set_admin_socket(info.confinement.admin_socket);
  out->set_state_directory(info.confinement.state_directory);
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
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

AdminServiceImpl::AdminServiceImpl(ProgramHost& loop, TaoDomain& domain,
                                   const TaoHost& host,
                                   const PeerCredentialRegistry& peers,
                                   EventBus& events,
                                   AdminServiceOptions options)
    : loop_(loop),
      domain_(domain),
      host_(host),
      events_(events),
      options_(std::move(options)),
      authorizer_(domain, peers, loop) {}

absl::Status AdminServiceImpl::Authorize(grpc::ServerContext* context,
                                         absl::string_view method,
                                         Caller* caller_out) {
  absl::StatusOr<Caller> caller =
      authorizer_.Authorize(context->peer(), method);
  if (!caller.ok()) return caller.status();
  if (caller_out != nullptr) *caller_out = *std::move(caller);
  return absl::OkStatus();
}

grpc::Status AdminServiceImpl::StartHostedProgram(
    grpc::ServerContext* context,
    const admin::StartHostedProgramRequest* request,
    admin::HostedProgram* response) {
  Caller caller;
  absl::Status allowed = Authorize(context, __func__, &caller);
  if (!allowed.ok()) return ToGrpcStatus(allowed);
  auto start = StartRequestFromProto(*request);
  if (!start.ok()) return ToGrpcStatus(start.status());
  if (!request->service().empty()) {
    absl::Status named = ValidateServiceName(request->service());
    if (!named.ok()) return ToGrpcStatus(named);
  }
  // The loop asks again once the program is measured: may this caller
  // start this program as this identity (Admin:Start's programs and
  // run_as_uids)?
  auto info = loop_.StartHostedProgram(*start, caller);
  if (!info.ok()) return ToGrpcStatus(info.status());
  services_.Record(request->service(), info->id);
  FillProgram(*info, response);
  services_.Fill(response);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::StopHostedProgram(
    grpc::ServerContext* context,
    const admin::StopHostedProgramRequest* request,
    admin::HostedProgram* response) {
  absl::Status allowed = Authorize(context, __func__);
  if (!allowed.ok()) return ToGrpcStatus(allowed);
  absl::Duration grace = request->grace_ms() > 0
                             ? absl::Milliseconds(request->grace_ms())
                             : absl::Seconds(10);
  absl::Status stopped = loop_.StopHostedProgram(request->id(), grace);
  if (!stopped.ok()) return ToGrpcStatus(stopped);
  auto info = loop_.GetHostedProgram(request->id());
  if (!info.ok()) return ToGrpcStatus(info.status());
  FillProgram(*info, response);
  services_.Fill(response);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::KillHostedProgram(
    grpc::ServerContext* context,
    const admin::KillHostedProgramRequest* request,
    admin::HostedProgram* response) {
  absl::Status allowed = Authorize(context, __func__);
  if (!allowed.ok()) return ToGrpcStatus(allowed);
  absl::Status killed = loop_.KillHostedProgram(request->id());
  if (!killed.ok()) return ToGrpcStatus(killed);
  auto info = loop_.GetHostedProgram(request->id());
  if (!info.ok()) return ToGrpcStatus(info.status());
  FillProgram(*info, response);
  services_.Fill(response);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::PauseHostedProgram(
    grpc::ServerContext* context,
    const admin::PauseHostedProgramRequest* request,
    admin::HostedProgram* response) {
  absl::Status allowed = Authorize(context, __func__);
  if (!allowed.ok()) return ToGrpcStatus(allowed);
  absl::Status frozen = loop_.FreezeHostedProgram(request->id());
  if (!frozen.ok()) return ToGrpcStatus(frozen);
  auto info = loop_.GetHostedProgram(request->id());
  if (!info.ok()) return ToGrpcStatus(info.status());
  FillProgram(*info, response);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ResumeHostedProgram(
    grpc::ServerContext* context,
    const admin::ResumeHostedProgramRequest* request,
    admin::HostedProgram* response) {
  absl::Status allowed = Authorize(context, __func__);
  if (!allowed.ok()) return ToGrpcStatus(allowed);
  absl::Status thawed = loop_.ThawHostedProgram(request->id());
  if (!thawed.ok()) return ToGrpcStatus(thawed);
  auto info = loop_.GetHostedProgram(request->id());
  if (!info.ok()) return ToGrpcStatus(info.status());
  FillProgram(*info, response);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ListHostedPrograms(
    grpc::ServerContext* context,
    const admin::ListHostedProgramsRequest* request,
    admin::ListHostedProgramsResponse* response) {
  absl::Status allowed = Authorize(context, __func__);
  if (!allowed.ok()) return ToGrpcStatus(allowed);
  // Pages in id order, each within a byte budget far below gRPC's 4 MiB.
  constexpr size_t kPageBytes = 1 << 20;
  std::vector<ChildInfo> programs = loop_.ListHostedPrograms();
  std::sort(programs.begin(), programs.end(),
            [](const ChildInfo& a, const ChildInfo& b) { return a.id < b.id; });
  const size_t limit =
      request->page_size() > 0 ? request->page_size() : programs.size();
  size_t bytes = 0;
  for (const ChildInfo& info : programs) {
    if (info.id <= request->after_id()) continue;
    admin::HostedProgram program;
    FillProgram(info, &program);
    services_.Fill(&program);
    size_t size = program.ByteSizeLong() + 8;
    if (response->programs_size() > 0 &&
        (static_cast<size_t>(response->programs_size()) >= limit ||
         bytes + size > kPageBytes)) {
      response->set_more(true);
      break;
    }
    bytes += size;
    response->set_next_after_id(info.id);
    *response->add_programs() = std::move(program);
  }
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::WaitHostedProgram(
    grpc::ServerContext* context,
    const admin::WaitHostedProgramRequest* request,
    admin::HostedProgram* response) {
  absl::Status allowed = Authorize(context, __func__);
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
      services_.Fill(response);
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
  absl::Status allowed = Authorize(context, __func__);
  if (!allowed.ok()) return ToGrpcStatus(allowed);
  auto info = loop_.GetHostedProgram(request->id());
  if (!info.ok()) return ToGrpcStatus(info.status());
  // Everything the loop's capture kept, from its oldest byte; with follow,
  // the capture wakes this stream as soon as more is written, until the
  // program's output ends. No log directory: FAILED_PRECONDITION.
  uint64_t offset = 0;
  while (!context->IsCancelled()) {
    auto chunk = loop_.ReadOutput(
        request->id(), offset, kLogChunkBytes,
        request->follow() ? absl::Now() + kCancelCheck : absl::InfinitePast());
    if (!chunk.ok()) return ToGrpcStatus(chunk.status());
    if (!chunk->data.empty()) {
      admin::LogChunk out;
      offset = chunk->offset + chunk->data.size();
      out.set_data(std::move(chunk->data));
      if (!writer->Write(out)) {
        return grpc::Status(grpc::CANCELLED, "client went away");
      }
      continue;
    }
    if (chunk->end || !request->follow()) return grpc::Status::OK;
  }
  return grpc::Status(grpc::CANCELLED, "cancelled");
}

grpc::Status AdminServiceImpl::WatchEvents(
    grpc::ServerContext* context, const admin::WatchEventsRequest*,
    grpc::ServerWriter<admin::Event>* writer) {
  absl::Status allowed = Authorize(context, __func__);
  if (!allowed.ok()) return ToGrpcStatus(allowed);
  // The bus queues this stream's events (bounded: a slow client loses the
  // oldest) and wakes it when one comes; it ends when the bus closes.
  std::unique_ptr<EventBus::Subscription> subscription = events_.Subscribe();
  std::vector<ProgramEvent> batch;
  while (!context->IsCancelled()) {
    batch.clear();
    const bool open = subscription->Next(absl::Now() + kCancelCheck, &batch);
    for (const ProgramEvent& event : batch) {
      if (!writer->Write(ToAdminEvent(event))) {
        return grpc::Status(grpc::CANCELLED, "cancelled");
      }
    }
    if (!open) return grpc::Status::OK;
  }
  return grpc::Status(grpc::CANCELLED, "cancelled");
}

grpc::Status AdminServiceImpl::GetTaoName(grpc::ServerContext* context,
                                          const admin::GetTaoNameRequest*,
                                          admin::GetTaoNameResponse* response) {
  absl::Status allowed = Authorize(context, __func__);
  if (!allowed.ok()) return ToGrpcStatus(allowed);
  response->set_name(host_.name().text());
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::GetHostInfo(grpc::ServerContext* context,
                                           const admin::GetHostInfoRequest*,
                                           admin::HostInfo* response) {
  absl::Status allowed = Authorize(context, __func__);
  if (!allowed.ok()) return ToGrpcStatus(allowed);
  response->set_version(options_.version);
  response->set_uptime_ms(
      absl::ToInt64Milliseconds(absl::Now() - options_.started));
  response->set_tao_name(host_.name().text());
  response->set_domain_name(domain_.domain_name());
  for (const FactoryRegistration& reg : loop_.factories()) {
    admin::FactoryInfo* factory = response->add_factories();
    factory->set_name(reg.name);
    if (reg.factory != nullptr) factory->set_detail(reg.factory->description());
    for (const std::string& kind : reg.channel_kinds) {
      factory->add_channels(kind);
    }
  }
  std::vector<ChildInfo> programs = loop_.ListHostedPrograms();
  response->set_known(static_cast<uint32_t>(programs.size()));
  response->set_running(static_cast<uint32_t>(loop_.running()));
  response->set_pid(static_cast<int32_t>(::getpid()));
  response->set_root(options_.root);
  response->set_platform_state(options_.platform_state);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ReloadPolicy(
    grpc::ServerContext* context, const admin::ReloadPolicyRequest*,
    admin::ReloadPolicyResponse* response) {
  absl::Status allowed = Authorize(context, __func__);
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
  events_.Publish(
      ProgramEvent{ProgramEvent::kPolicyReloaded, 0, 0, policy.domain_name(),
                   absl::StrCat(policy.rules_size(), " rules"), absl::Now()});
  LOG(INFO) << "reloaded the policy of domain '" << policy.domain_name()
            << "' (" << policy.rules_size() << " rules)";
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::Shutdown(grpc::ServerContext* context,
                                        const admin::ShutdownRequest* request,
                                        admin::ShutdownResponse*) {
  absl::Status allowed = Authorize(context, __func__);
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
