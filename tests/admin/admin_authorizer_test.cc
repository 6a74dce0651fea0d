// The admin API's method-to-operation table: every rpc of admin.proto's
// AdminService has exactly one operation, and a method the table does not
// name is refused (fail closed).
#include "admin/admin_authorizer.h"

#include <set>
#include <string>

#include "absl/strings/match.h"
#include "admin/admin.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace tao {
namespace {

using ::tao::test::IsOkAndHolds;
using ::tao::test::StatusIs;
using ::testing::HasSubstr;

const google::protobuf::ServiceDescriptor& AdminServiceDescriptor() {
  const google::protobuf::ServiceDescriptor* service =
      admin::StartHostedProgramRequest::descriptor()->file()->FindServiceByName(
          "AdminService");
  EXPECT_NE(service, nullptr);
  return *service;
}

TEST(AdminAuthorizerTest, EveryRpcOfTheServiceHasAnOperation) {
  const google::protobuf::ServiceDescriptor& service = AdminServiceDescriptor();
  ASSERT_GT(service.method_count(), 0);
  for (int i = 0; i < service.method_count(); ++i) {
    const std::string& method = service.method(i)->name();
    absl::StatusOr<absl::string_view> operation = AdminOperationOf(method);
    ASSERT_TRUE(operation.ok())
        << "rpc " << method << " has no entry in the table";
    EXPECT_TRUE(absl::StartsWith(*operation, "Admin:")) << *operation;
  }
}

TEST(AdminAuthorizerTest, TheTableNamesOnlyRpcsOfTheServiceEachOnce) {
  const google::protobuf::ServiceDescriptor& service = AdminServiceDescriptor();
  std::set<std::string> methods;
  std::set<std::string> operations;
  for (const AdminMethodOperation& entry : AdminMethodOperations()) {
    EXPECT_NE(service.FindMethodByName(std::string(entry.method)), nullptr)
        << entry.method << " is not an rpc of AdminService";
    EXPECT_TRUE(methods.insert(std::string(entry.method)).second)
        << entry.method << " is in the table twice";
    EXPECT_TRUE(operations.insert(std::string(entry.operation)).second)
        << entry.operation << " serves two rpcs";
  }
  EXPECT_EQ(methods.size(), static_cast<size_t>(service.method_count()));
}

TEST(AdminAuthorizerTest, TheOperationsAreTheOnesPoliciesName) {
  EXPECT_THAT(AdminOperationOf("StartHostedProgram"),
              IsOkAndHolds("Admin:Start"));
  EXPECT_THAT(AdminOperationOf("StopHostedProgram"),
              IsOkAndHolds("Admin:Stop"));
  EXPECT_THAT(AdminOperationOf("KillHostedProgram"),
              IsOkAndHolds("Admin:Kill"));
  EXPECT_THAT(AdminOperationOf("ListHostedPrograms"),
              IsOkAndHolds("Admin:List"));
  EXPECT_THAT(AdminOperationOf("WaitHostedProgram"),
              IsOkAndHolds("Admin:Wait"));
  EXPECT_THAT(AdminOperationOf("GetLogs"), IsOkAndHolds("Admin:Logs"));
  EXPECT_THAT(AdminOperationOf("WatchEvents"), IsOkAndHolds("Admin:Events"));
  EXPECT_THAT(AdminOperationOf("GetTaoName"), IsOkAndHolds("Admin:GetTaoName"));
  EXPECT_THAT(AdminOperationOf("GetHostInfo"), IsOkAndHolds("Admin:Info"));
  EXPECT_THAT(AdminOperationOf("ReloadPolicy"), IsOkAndHolds("Admin:Reload"));
  EXPECT_THAT(AdminOperationOf("Shutdown"), IsOkAndHolds("Admin:Shutdown"));
}

TEST(AdminAuthorizerTest, AMethodMissingFromTheTableIsRefused) {
  for (const char* method :
       {"", "NewRpcNobodyAddedToTheTable", "Admin:Start", "startHostedProgram",
        "/tao.admin.AdminService/StartHostedProgram"}) {
    EXPECT_THAT(AdminOperationOf(method),
                StatusIs(absl::StatusCode::kPermissionDenied,
                         HasSubstr("has no operation in the host's table")))
        << method;
  }
}

}  // namespace
}  // namespace tao
