// AdminService: a thin gRPC adapter over the listen loop. It identifies each
// caller by the OS credentials of its connection, asks TaoDomain to authorize
// every call as Admin:<Call>, and converts statuses in exactly one place
// (ToGrpcStatus). It decides nothing itself.
#ifndef TAO_ADMIN_ADMIN_SERVICE_H_
#define TAO_ADMIN_ADMIN_SERVICE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "admin/admin.grpc.pb.h"
#include "admin/admin_authorizer.h"
#include "admin/peer_credentials.h"
#include "admin/program_host.h"
#include "admin/service_book.h"
#include "channels/event_bus.h"
#include "channels/hosted_program_channel.h"
#include "grpcpp/grpcpp.h"
#include "tao/tao_host.h"
#include "tao_domain/tao_domain.h"

namespace tao {

// absl::Status -> grpc::Status: the codes are the same numbers.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The event of the admin API for a loop event.
admin::Event ToAdminEvent(const ProgramEvent& event);

struct AdminServiceOptions {
  std::string version = "0.1.0";
  absl::Time started = absl::Now();
  // What GetHostInfo says of the host's root (HostRoot::kind and
  // platform_state); empty: not said.
  std::string root;
  std::string platform_state;
  // Reads the signed domain policy again, for ReloadPolicy.
  std::function<absl::StatusOr<std::string>()> load_policy;
  // Called (once) after Shutdown has stopped every program, to end the host.
  std::function<void()> request_shutdown;
};

// Thread-safe: gRPC calls it from its own threads.
class AdminServiceImpl final : public admin::AdminService::Service {
 public:
  // Not owned; all must outlive the service. `loop` is the hosted programs
  // (LoopProgramHost over the listen loop, or a fake in unit tests).
  AdminServiceImpl(ProgramHost& loop, TaoDomain& domain, const TaoHost& host,
                   const PeerCredentialRegistry& peers, EventBus& events,
                   AdminServiceOptions options);

  grpc::Status StartHostedProgram(
      grpc::ServerContext* context,
      const admin::StartHostedProgramRequest* request,
      admin::HostedProgram* response) override;
  grpc::Status StopHostedProgram(grpc::ServerContext* context,
                                 const admin::StopHostedProgramRequest* request,
                                 admin::HostedProgram* response) override;
  grpc::Status KillHostedProgram(grpc::ServerContext* context,
                                 const admin::KillHostedProgramRequest* request,
                                 admin::HostedProgram* response) override;
  // Admin:Pause / Admin:Resume: the loop's Freeze and Thaw.
  grpc::Status PauseHostedProgram(
      grpc::ServerContext* context,
      const admin::PauseHostedProgramRequest* request,
      admin::HostedProgram* response) override;
  grpc::Status ResumeHostedProgram(
      grpc::ServerContext* context,
      const admin::ResumeHostedProgramRequest* request,
      admin::HostedProgram* response) override;
  grpc::Status ListHostedPrograms(
      grpc::ServerContext* context,
      const admin::ListHostedProgramsRequest* request,
      admin::ListHostedProgramsResponse* response) override;
  grpc::Status WaitHostedProgram(grpc::ServerContext* context,
                                 const admin::WaitHostedProgramRequest* request,
                                 admin::HostedProgram* response) override;
  grpc::Status GetLogs(grpc::ServerContext* context,
                       const admin::GetLogsRequest* request,
                       grpc::ServerWriter<admin::LogChunk>* writer) override;
  grpc::Status WatchEvents(grpc::ServerContext* context,
                           const admin::WatchEventsRequest* request,
                           grpc::ServerWriter<admin::Event>* writer) override;
  grpc::Status GetTaoName(grpc::ServerContext* context,
                          const admin::GetTaoNameRequest* request,
                          admin::GetTaoNameResponse* response) override;
  grpc::Status GetHostInfo(grpc::ServerContext* context,
                           const admin::GetHostInfoRequest* request,
                           admin::HostInfo* response) override;
  grpc::Status ReloadPolicy(grpc::ServerContext* context,
                            const admin::ReloadPolicyRequest* request,
                            admin::ReloadPolicyResponse* response) override;
  grpc::Status Shutdown(grpc::ServerContext* context,
                        const admin::ShutdownRequest* request,
                        admin::ShutdownResponse* response) override;

  // The service names of the programs it started (and of the host's
  // configured programs, which taohost records here). Thread-safe.
  ServiceBook& services() { return services_; }

 private:
  // Authorizes the call of rpc `method` in one place, AdminAuthorizer and
  // its method-to-operation table (admin/admin_authorizer.h); each handler
  // passes its own name (__func__), which is the rpc's. OK, UNAUTHENTICATED
  // or PERMISSION_DENIED with the domain's reason. `caller_out`, if set,
  // receives who the caller is.
  absl::Status Authorize(grpc::ServerContext* context, absl::string_view method,
                         Caller* caller_out = nullptr);

  ProgramHost& loop_;
  TaoDomain& domain_;
  const TaoHost& host_;
  EventBus& events_;  // WatchEvents subscribes here
  const AdminServiceOptions options_;
  absl::Mutex shutdown_mu_;
  bool shutting_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
  const AdminAuthorizer authorizer_;
  ServiceBook services_;  // service names (issue 17)
};

}  // namespace tao

#endif  // TAO_ADMIN_ADMIN_SERVICE_H_
