// The admin service with no child process: a real in-process gRPC server
// whose connections are real socketpairs, each registered in the
// PeerCredentialRegistry with the credentials the test gives it (what the
// admin socket's acceptor would have read with SO_PEERCRED), a real
// TaoDomain with a policy built in code, and a FakeProgramHost. Every call
// is shown allowed for a caller the policy admits and denied, with the
// domain's reason, for one it does not; a hosted program's pid is
// authorized as that program, never as its uid.
#include "admin/admin_service.h"

#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "admin/admin.grpc.pb.h"
#include "admin/admin_authorizer.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel_posix.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/server_posix.h"
#include "gtest/gtest.h"
#include "tao/clock.h"
#include "tests/admin/fake_program_host.h"
#include "tests/testing/names.h"
#include "tests/testing/test_domain.h"

namespace tao {
namespace {

using ::tao::test::AddRule;
using ::tao::test::ExactName;
using ::tao::test::FakeProgramHost;
using ::tao::test::Gid;
using ::tao::test::Uid;
using ::testing::HasSubstr;

constexpr uid_t kOperator = 1000;     // granted every Admin operation
constexpr uid_t kStranger = 2000;     // granted none
constexpr gid_t kViewers = 3000;      // a group granted Admin:GetTaoName
constexpr pid_t kWatcherPid = 4242;   // a process of program "watcher"
constexpr pid_t kLeftoverPid = 4343;  // of the host's, but of none running

const std::vector<std::string>& AllOperations() {
  static const auto* operations = [] {
    auto* out = new std::vector<std::string>;
    for (const AdminMethodOperation& entry : AdminMethodOperations()) {
      out->emplace_back(entry.operation);
    }
    return out;
  }();
  return *operations;
}

PeerCredentials User(uid_t uid, std::vector<gid_t> groups = {}) {
  PeerCredentials credentials;
  credentials.pid = 0;  // no process of the host's programs
  credentials.uid = uid;
  credentials.gid = uid;
  credentials.groups = {uid};
  for (gid_t g : groups) credentials.groups.push_back(g);
  return credentials;
}

class AdminServiceTest : public ::testing::Test {
 protected:
  AdminServiceTest()
      : domain_policy_("admin-unit"),
        host_(test::NewTestHost()),
        watcher_(test::Program(host_->name(), 'w')) {
    programs_.Add(1, test::Program(host_->name(), 'a').text());
    programs_.Add(2, test::Program(host_->name(), 'b').text());
    programs_.Add(3, watcher_.text());
    programs_.SetPid(kWatcherPid, 3);
    programs_.SetPid(kLeftoverPid, std::nullopt);
    DomainPolicy& policy = domain_policy_.policy();
    AddRule(&policy, "root", AllOperations(), Uid(0));
    AddRule(&policy, "operator", AllOperations(), Uid(kOperator));
    AddRule(&policy, "viewers", {"Admin:GetTaoName"}, Gid(kViewers));
    AddRule(&policy, "watcher", {"Admin:List"}, ExactName(watcher_));
    domain_ = domain_policy_.Make(nullptr, clock_);
    AdminServiceOptions options;
    options.version = "9.9.9";
    options.load_policy = [this]() -> absl::StatusOr<std::string> {
      return domain_policy_.Signed();
    };
    options.request_shutdown = [this] { ++shutdowns_requested_; };
    service_ = std::make_unique<AdminServiceImpl>(
        programs_, *domain_, *host_, peers_, events_, std::move(options));
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
  }

  ~AdminServiceTest() override {
    events_.Close();
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(1));
  }

  // A client on a connection of its own; the registry says its peer has
  // `credentials` (none at all: an unknown peer).
  std::unique_ptr<admin::AdminService::Stub> Connect(
      std::optional<PeerCredentials> credentials) {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                           0, fds),
              0);
    if (credentials.has_value()) peers_.Register(fds[1], *credentials);
    grpc::AddInsecureChannelFromFd(server_.get(), fds[1]);
    return admin::AdminService::NewStub(
        grpc::CreateInsecureChannelFromFd("admin-unit", fds[0]));
  }

  test::TestDomain domain_policy_;
  std::unique_ptr<TaoHost> host_;
  Principal watcher_;
  RealClock clock_;
  std::unique_ptr<TaoDomain> domain_;
  FakeProgramHost programs_;
  PeerCredentialRegistry peers_;
  EventBus events_;
  int shutdowns_requested_ = 0;
  std::unique_ptr<AdminServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
};

// One call of the admin API, made by `stub`.
struct AdminCall {
  std::string method;  // the rpc, as admin.proto names it
  std::function<grpc::Status(admin::AdminService::Stub&)> call;
};

std::vector<AdminCall> EveryCall() {
  using Stub = admin::AdminService::Stub;
  return {
      {"StartHostedProgram",
       [](Stub& stub) {
         grpc::ClientContext context;
         admin::StartHostedProgramRequest request;
         request.set_path("/bin/true");
         admin::HostedProgram response;
         return stub.StartHostedProgram(&context, request, &response);
       }},
      {"StopHostedProgram",
       [](Stub& stub) {
         grpc::ClientContext context;
         admin::StopHostedProgramRequest request;
         request.set_id(1);
         admin::HostedProgram response;
         return stub.StopHostedProgram(&context, request, &response);
       }},
      {"KillHostedProgram",
       [](Stub& stub) {
         grpc::ClientContext context;
         admin::KillHostedProgramRequest request;
         request.set_id(2);
         admin::HostedProgram response;
         return stub.KillHostedProgram(&context, request, &response);
       }},
      {"PauseHostedProgram",
       [](Stub& stub) {
         grpc::ClientContext context;
         admin::PauseHostedProgramRequest request;
         request.set_id(1);
         admin::HostedProgram response;
         return stub.PauseHostedProgram(&context, request, &response);
       }},
      {"ResumeHostedProgram",
       [](Stub& stub) {
         grpc::ClientContext context;
         admin::ResumeHostedProgramRequest request;
         request.set_id(1);
         admin::HostedProgram response;
         return stub.ResumeHostedProgram(&context, request, &response);
       }},
      {"ListHostedPrograms",
       [](Stub& stub) {
         grpc::ClientContext context;
         admin::ListHostedProgramsResponse response;
         return stub.ListHostedPrograms(&context, {}, &response);
       }},
      {"WaitHostedProgram",
       [](Stub& stub) {
         grpc::ClientContext context;
         admin::WaitHostedProgramRequest request;
         request.set_id(1);
         request.set_timeout_ms(50);
         admin::HostedProgram response;
         return stub.WaitHostedProgram(&context, request, &response);
       }},
      {"GetLogs",
       [](Stub& stub) {
         grpc::ClientContext context;
         admin::GetLogsRequest request;
         request.set_id(1);
         auto reader = stub.GetLogs(&context, request);
         admin::LogChunk chunk;
         while (reader->Read(&chunk)) {
         }
         return reader->Finish();
       }},
      {"WatchEvents",
       [](Stub& stub) {
         grpc::ClientContext context;
         context.set_deadline(std::chrono::system_clock::now() +
                              std::chrono::seconds(5));
         auto reader = stub.WatchEvents(&context, {});
         admin::Event event;
         while (reader->Read(&event)) {
         }
         return reader->Finish();
       }},
      {"GetTaoName",
       [](Stub& stub) {
         grpc::ClientContext context;
         admin::GetTaoNameResponse response;
         return stub.GetTaoName(&context, {}, &response);
       }},
      {"GetHostInfo",
       [](Stub& stub) {
         grpc::ClientContext context;
         admin::HostInfo response;
         return stub.GetHostInfo(&context, {}, &response);
       }},
      {"ReloadPolicy",
       [](Stub& stub) {
         grpc::ClientContext context;
         admin::ReloadPolicyResponse response;
         return stub.ReloadPolicy(&context, {}, &response);
       }},
      {"Shutdown",
       [](Stub& stub) {
         grpc::ClientContext context;
         admin::ShutdownResponse response;
         return stub.Shutdown(&context, {}, &response);
       }},
  };
}

std::string OperationOf(const std::string& method) {
  absl::StatusOr<absl::string_view> operation = AdminOperationOf(method);
  EXPECT_TRUE(operation.ok()) << operation.status();
  return std::string(operation.value_or(""));
}

TEST_F(AdminServiceTest, TheTestsCoverEveryRpcOfTheService) {
  EXPECT_EQ(EveryCall().size(), AdminMethodOperations().size());
}

TEST_F(AdminServiceTest, EveryCallIsDeniedToAStrangerWithTheDomainsReason) {
  auto stub = Connect(User(kStranger));
  for (const AdminCall& call : EveryCall()) {
    const std::string operation = OperationOf(call.method);
    const int before = programs_.calls();
    grpc::Status status = call.call(*stub);
    EXPECT_EQ(status.error_code(), grpc::PERMISSION_DENIED) << call.method;
    // The reason up to its first "; " (the near misses stay in the log);
    // Admin:Info, which describes the host, says nothing more.
    const std::string expected =
        operation == "Admin:Info"
            ? "permission denied"
            : absl::StrCat("domain 'admin-unit': no rule grants ", operation,
                           " to uid 2000 (gids 2000) (the host's log has the "
                           "details)");
    EXPECT_EQ(status.error_message(), expected) << call.method;
    EXPECT_EQ(programs_.calls(), before)
        << call.method << " reached the host though denied";
  }
  EXPECT_FALSE(programs_.shut_down());
  EXPECT_EQ(shutdowns_requested_, 0);
}

TEST_F(AdminServiceTest, EveryCallIsAllowedToTheOperator) {
  auto stub = Connect(User(kOperator));
  events_.Close();  // WatchEvents ends at once, with what it had: nothing
  for (const AdminCall& call : EveryCall()) {
    grpc::Status status = call.call(*stub);
    // Allowed: whatever the host answered, it was asked.
    EXPECT_NE(status.error_code(), grpc::PERMISSION_DENIED)
        << call.method << ": " << status.error_message();
    EXPECT_NE(status.error_code(), grpc::UNAUTHENTICATED) << call.method;
  }
  EXPECT_TRUE(programs_.shut_down());
  EXPECT_EQ(shutdowns_requested_, 1);
}

TEST_F(AdminServiceTest, StartPassesTheRequestAndWhoAsked) {
  auto stub = Connect(User(kOperator));
  grpc::ClientContext context;
  admin::StartHostedProgramRequest request;
  request.set_path("/bin/true");
  request.add_args("-x");
  request.set_channel("socketpair");
  admin::HostedProgram response;
  grpc::Status status = stub->StartHostedProgram(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.name(), "started:/bin/true");
  EXPECT_EQ(response.channel(), "socketpair");
  ASSERT_TRUE(programs_.last_start().has_value());
  EXPECT_EQ(std::get<ProcessSpec>(programs_.last_start()->spec).path,
            "/bin/true");
  EXPECT_EQ(std::get<ProcessSpec>(programs_.last_start()->spec).args,
            std::vector<std::string>({"-x"}));
  ASSERT_TRUE(programs_.last_admin().has_value());
  EXPECT_EQ(programs_.last_admin()->uid, kOperator);
  EXPECT_FALSE(programs_.last_admin()->program.has_value());
}

TEST_F(AdminServiceTest, StopKillListWaitAnswerFromTheHost) {
  auto stub = Connect(User(kOperator));
  {
    grpc::ClientContext context;
    admin::StopHostedProgramRequest request;
    request.set_id(1);
    admin::HostedProgram response;
    ASSERT_TRUE(stub->StopHostedProgram(&context, request, &response).ok());
    EXPECT_EQ(response.id(), 1u);
    EXPECT_TRUE(response.exited());
    EXPECT_EQ(response.exit_status(), "signal 15 (Terminated)");
  }
  {
    grpc::ClientContext context;
    admin::KillHostedProgramRequest request;
    request.set_id(99);
    admin::HostedProgram response;
    EXPECT_EQ(
        stub->KillHostedProgram(&context, request, &response).error_code(),
        grpc::NOT_FOUND);
  }
  {
    grpc::ClientContext context;
    admin::ListHostedProgramsResponse response;
    ASSERT_TRUE(stub->ListHostedPrograms(&context, {}, &response).ok());
    ASSERT_EQ(response.programs_size(), 3);
    EXPECT_EQ(response.programs(2).name(), watcher_.text());
  }
  {
    programs_.Exit(2, 3);
    grpc::ClientContext context;
    admin::WaitHostedProgramRequest request;
    request.set_id(2);
    admin::HostedProgram response;
    ASSERT_TRUE(stub->WaitHostedProgram(&context, request, &response).ok());
    EXPECT_EQ(response.exit_code(), 3);
  }
  {
    grpc::ClientContext context;
    admin::WaitHostedProgramRequest request;
    request.set_id(3);
    request.set_timeout_ms(20);
    admin::HostedProgram response;
    EXPECT_EQ(
        stub->WaitHostedProgram(&context, request, &response).error_code(),
        grpc::DEADLINE_EXCEEDED);
  }
}

TEST_F(AdminServiceTest, GetLogsStreamsWhatTheHostKept) {
  programs_.SetOutput(1, "hello\n");
  auto stub = Connect(User(kOperator));
  grpc::ClientContext context;
  admin::GetLogsRequest request;
  request.set_id(1);
  auto reader = stub->GetLogs(&context, request);
  std::string got;
  admin::LogChunk chunk;
  while (reader->Read(&chunk)) got += chunk.data();
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(got, "hello\n");
}

TEST_F(AdminServiceTest, NameInfoReloadAndShutdown) {
  auto stub = Connect(User(kOperator));
  {
    grpc::ClientContext context;
    admin::GetTaoNameResponse response;
    ASSERT_TRUE(stub->GetTaoName(&context, {}, &response).ok());
    EXPECT_EQ(response.name(), host_->name().text());
  }
  {
    grpc::ClientContext context;
    admin::HostInfo response;
    ASSERT_TRUE(stub->GetHostInfo(&context, {}, &response).ok());
    EXPECT_EQ(response.version(), "9.9.9");
    EXPECT_EQ(response.domain_name(), "admin-unit");
    EXPECT_EQ(response.tao_name(), host_->name().text());
    EXPECT_EQ(response.known(), 3u);
    EXPECT_EQ(response.running(), 3u);
    ASSERT_EQ(response.factories_size(), 1);
    EXPECT_EQ(response.factories(0).name(), "process");
    EXPECT_EQ(response.factories(0).channels_size(), 2);
  }
  {
    grpc::ClientContext context;
    admin::ReloadPolicyResponse response;
    ASSERT_TRUE(stub->ReloadPolicy(&context, {}, &response).ok());
    EXPECT_EQ(response.domain_name(), "admin-unit");
    EXPECT_EQ(response.rules(), 4u);
  }
  {
    grpc::ClientContext context;
    admin::ShutdownResponse response;
    ASSERT_TRUE(stub->Shutdown(&context, {}, &response).ok());
    EXPECT_TRUE(programs_.shut_down());
    EXPECT_EQ(shutdowns_requested_, 1);
    // A second Shutdown is answered and does nothing more.
    grpc::ClientContext again;
    ASSERT_TRUE(stub->Shutdown(&again, {}, &response).ok());
    EXPECT_EQ(shutdowns_requested_, 1);
  }
}

TEST_F(AdminServiceTest, AnUnknownPeerIsUnauthenticated) {
  auto stub = Connect(std::nullopt);
  for (const AdminCall& call : EveryCall()) {
    const int before = programs_.calls();
    grpc::Status status = call.call(*stub);
    EXPECT_EQ(status.error_code(), grpc::UNAUTHENTICATED) << call.method;
    EXPECT_THAT(status.error_message(),
                HasSubstr(absl::StrCat("cannot identify the caller of ",
                                       OperationOf(call.method), " (peer ")))
        << call.method;
    EXPECT_EQ(programs_.calls(), before) << call.method;
  }
}

TEST_F(AdminServiceTest, AGroupTheCallerIsInCounts) {
  auto stub = Connect(User(kStranger, {kViewers}));
  grpc::ClientContext context;
  admin::GetTaoNameResponse response;
  EXPECT_TRUE(stub->GetTaoName(&context, {}, &response).ok());
  grpc::ClientContext list_context;
  admin::ListHostedProgramsResponse list;
  EXPECT_EQ(stub->ListHostedPrograms(&list_context, {}, &list).error_code(),
            grpc::PERMISSION_DENIED);
}

// A hosted program that reaches the admin socket is authorized as that
// program: uid 0 does not lend it root's rules.
TEST_F(AdminServiceTest, AHostedProgramsPidIsThatProgramNotItsUid) {
  PeerCredentials credentials = User(0);
  credentials.pid = kWatcherPid;
  auto stub = Connect(credentials);
  {
    grpc::ClientContext context;
    admin::ListHostedProgramsResponse response;
    grpc::Status status = stub->ListHostedPrograms(&context, {}, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
  for (const AdminCall& call : EveryCall()) {
    if (call.method == "ListHostedPrograms") continue;
    grpc::Status status = call.call(*stub);
    EXPECT_EQ(status.error_code(), grpc::PERMISSION_DENIED) << call.method;
    if (call.method != "GetHostInfo") {
      EXPECT_THAT(
          status.error_message(),
          HasSubstr(absl::StrCat("no rule grants ", OperationOf(call.method),
                                 " to program ")))
          << call.method;
    }
  }
  EXPECT_FALSE(programs_.shut_down());
  // The same uid from a process that is not the host's: root's rules.
  auto root = Connect(User(0));
  grpc::ClientContext context;
  admin::StopHostedProgramRequest request;
  request.set_id(1);
  admin::HostedProgram response;
  EXPECT_TRUE(root->StopHostedProgram(&context, request, &response).ok());
}

TEST_F(AdminServiceTest, ALeftoverOfTheHostsProgramsIsNobody) {
  PeerCredentials credentials = User(0);
  credentials.pid = kLeftoverPid;
  auto stub = Connect(credentials);
  grpc::ClientContext context;
  admin::ListHostedProgramsResponse response;
  grpc::Status status = stub->ListHostedPrograms(&context, {}, &response);
  EXPECT_EQ(status.error_code(), grpc::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(),
            "cannot identify the caller of Admin:List: pid 4343 belongs to "
            "the host's programs but to none that runs");
}

}  // namespace
}  // namespace tao
