// AdminService: a thin gRPC adapter over the listen loop. It identifies each
// caller by the OS credentials of its connection, asks TaoDomain to authorize
// every call as Admin:<Call>, and converts statuses in exactly one place
// (ToGrpcStatus). It decides nothing itself.
#ifndef TAO_ADMIN_ADMIN_SERVICE_H_
#define TAO_ADMIN_ADMIN_SERVICE_H_

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "admin/admin.grpc.pb.h"
#include "admin/peer_credentials.h"
#include "channels/hosted_program_channel.h"
#include "grpcpp/grpcpp.h"
#include "tao/tao_host.h"
#include "tao_domain/tao_domain.h"

namespace tao {

// absl::Status -> grpc::Status: the codes are the same numbers.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Fans events out to WatchEvents streams. Thread-safe. Each subscriber keeps
// at most 10,000 unread events; older ones are dropped (and counted).
class EventHub {
 public:
  struct Subscription {
    absl::Mutex mu;
    absl::CondVar cv;
    std::deque<admin::Event> queue ABSL_GUARDED_BY(mu);
    uint64_t dropped ABSL_GUARDED_BY(mu) = 0;
    bool closed ABSL_GUARDED_BY(mu) = false;
  };
  std::shared_ptr<Subscription> Subscribe();
  void Unsubscribe(const std::shared_ptr<Subscription>& subscription);
  void Publish(const admin::Event& event);
  // Ends every stream (after what it has queued) and every later one.
  void Close();

 private:
  absl::Mutex mu_;
  std::vector<std::shared_ptr<Subscription>> subscribers_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

// The event of the admin API for a loop event.
admin::Event ToAdminEvent(const ProgramEvent& event);

struct AdminServiceOptions {
  std::string version = "0.1.0";
  absl::Time started = absl::Now();
  // Reads the signed domain policy again, for ReloadPolicy.
  std::function<absl::StatusOr<std::string>()> load_policy;
  // Called (once) after Shutdown has stopped every program, to end the host.
  std::function<void()> request_shutdown;
};

// Thread-safe: gRPC calls it from its own threads.
class AdminServiceImpl final : public admin::AdminService::Service {
 public:
  // Not owned; all must outlive the service.
  AdminServiceImpl(HostedProgramChannel& loop, TaoDomain& domain,
                   const TaoHost& host, const PeerCredentialRegistry& peers,
                   EventHub& events, AdminServiceOptions options);

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

 private:
  // Identifies the caller and asks the domain; OK, UNAUTHENTICATED or
  // PERMISSION_DENIED with the domain's reason. A caller that is one of the
  // host's own hosted programs (or a descendant) is that program, never its
  // uid. `caller_out`, if set, receives who the caller is.
  absl::Status Authorize(grpc::ServerContext* context,
                         absl::string_view operation,
                         Caller* caller_out = nullptr);

  HostedProgramChannel& loop_;
  TaoDomain& domain_;
  const TaoHost& host_;
  const PeerCredentialRegistry& peers_;
  EventHub& events_;
  const AdminServiceOptions options_;
  absl::Mutex shutdown_mu_;
  bool shutting_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace tao

#endif  // TAO_ADMIN_ADMIN_SERVICE_H_
