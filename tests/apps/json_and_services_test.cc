// Unit tests of the tools' JSON (apps/common/json.h), the exit-code table
// (apps/common/cli.h) and the admin service's service names
// (admin/service_book.h).
#include <gtest/gtest.h>

#include "admin/admin.pb.h"
#include "admin/service_book.h"
#include "apps/common/cli.h"
#include "apps/common/json.h"
#include "tao/attestation.pb.h"

namespace tao {
namespace {

TEST(JsonQuoteTest, EscapesWhatJsonNeedsAndKeepsUtf8) {
  EXPECT_EQ(JsonQuote("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(JsonQuote("l1\nl2\t\r"), R"("l1\nl2\t\r")");
  EXPECT_EQ(JsonQuote(std::string("\x01\x1f\x7f", 3)),
            R"("\u0001\u001f\u007f")");
  EXPECT_EQ(JsonQuote("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
}

TEST(JsonQuoteTest, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  EXPECT_EQ(JsonQuote("a\xff"
                      "b\xc3"),
            R"("a\ufffdb\ufffd")");
  EXPECT_EQ(JsonQuote("\xe2\x82"), R"("\ufffd\ufffd")");
}

TEST(JsonTimeTest, Rfc3339UtcWithMillisecondsOrNull) {
  EXPECT_EQ(JsonTime(absl::FromUnixMillis(1767323045678)),
            R"("2026-01-02T03:04:05.678Z")");
  EXPECT_EQ(JsonTime(absl::UnixEpoch()), "null");
  EXPECT_EQ(JsonTime(absl::InfiniteFuture()), "null");
}

TEST(ProtoToJsonTest, EveryFieldWithNumbersAsNumbers) {
  admin::HostedProgram p;
  p.set_id(18446744073709551615u);  // past what a double holds exactly
  p.set_calls(7);
  p.set_start_time_unix_ms(1767323045678);
  std::string json = ProtoToJson(p);
  EXPECT_NE(json.find(R"("id":18446744073709551615)"), std::string::npos);
  EXPECT_NE(json.find(R"("calls":7)"), std::string::npos);
  EXPECT_NE(json.find(R"("denials":0)"), std::string::npos);  // zero values
  EXPECT_NE(json.find(R"("exited":false)"), std::string::npos);
  EXPECT_NE(json.find(R"("cgroup":"")"), std::string::npos);
  EXPECT_NE(json.find(R"("start_time_unix_ms":1767323045678,)"
                      R"("start_time":"2026-01-02T03:04:05.678Z")"),
            std::string::npos);
}

TEST(ProtoToJsonTest, RepeatedMessagesEnumsAndBytes) {
  admin::HostInfo info;
  admin::FactoryInfo* f = info.add_factories();
  f->set_name("process");
  f->add_channels("pipe");
  EXPECT_NE(ProtoToJson(info).find(
                R"("factories":[{"name":"process","channels":["pipe"],)"
                R"("detail":""}])"),
            std::string::npos);
  admin::StartHostedProgramRequest start;
  start.set_restart(admin::RESTART_ALWAYS);
  EXPECT_NE(ProtoToJson(start).find(R"("restart":"RESTART_ALWAYS")"),
            std::string::npos);
  Attestation attestation;
  attestation.set_signature("\xff\x00", 2);
  EXPECT_NE(ProtoToJson(attestation).find(R"("signature":"/wA=")"),
            std::string::npos);
}

TEST(ExitCodeTest, OneTableForEveryTool) {
  EXPECT_EQ(ExitCodeFor(absl::OkStatus()), 0);
  EXPECT_EQ(ExitCodeFor(absl::PermissionDeniedError("")), 1);
  EXPECT_EQ(ExitCodeFor(absl::UnauthenticatedError("")), 1);
  EXPECT_EQ(ExitCodeFor(absl::InvalidArgumentError("")), 2);
  EXPECT_EQ(ExitCodeFor(absl::NotFoundError("")), 3);
  EXPECT_EQ(ExitCodeFor(absl::UnavailableError("")), 4);
  EXPECT_EQ(ExitCodeFor(absl::DeadlineExceededError("")), 5);
  EXPECT_EQ(ExitCodeFor(absl::ResourceExhaustedError("")), 6);
  EXPECT_EQ(ExitCodeFor(absl::InternalError("")), 6);
  EXPECT_EQ(ExitCodeFor(absl::FailedPreconditionError("")), 6);
}

TEST(ServiceNameTest, ValidNamesAndWhyOthersAreNot) {
  EXPECT_TRUE(ValidateServiceName("web").ok());
  EXPECT_TRUE(ValidateServiceName("db-1.replica_2").ok());
  EXPECT_TRUE(ValidateServiceName(std::string(64, 'a')).ok());
  EXPECT_EQ(ValidateServiceName("").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateServiceName(std::string(65, 'a')).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateServiceName("a b").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateServiceName("../x/").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateServiceName("a\nb").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateServiceName("42").code(),
            absl::StatusCode::kInvalidArgument);
}

admin::HostedProgram Program(uint64_t id, uint64_t previous_id = 0) {
  admin::HostedProgram p;
  p.set_id(id);
  p.set_previous_id(previous_id);
  return p;
}

TEST(ServiceBookTest, RunsAreNumberedPerNameAndRestartsInherit) {
  ServiceBook book;
  book.Record("web", 10);
  book.Record("db", 11);
  book.Record("web", 12);
  book.Record("", 13);
  admin::HostedProgram p = Program(12);
  book.Fill(&p);
  EXPECT_EQ(p.service(), "web");
  EXPECT_EQ(p.run(), 2u);
  p = Program(11);
  book.Fill(&p);
  EXPECT_EQ(p.service(), "db");
  EXPECT_EQ(p.run(), 1u);
  // A restart of run 2 is run 3, and stays run 3 when seen again.
  p = Program(20, 12);
  book.Fill(&p);
  EXPECT_EQ(p.run(), 3u);
  p = Program(20, 12);
  book.Fill(&p);
  EXPECT_EQ(p.run(), 3u);
  // No name: nothing filled.
  p = Program(13);
  book.Fill(&p);
  EXPECT_EQ(p.service(), "");
  EXPECT_EQ(p.run(), 0u);
  p = Program(99, 13);
  book.Fill(&p);
  EXPECT_EQ(p.service(), "");
}

TEST(ServiceBookTest, BoundedByForgettingTheOldestRuns) {
  ServiceBook book;
  for (uint64_t id = 1; id <= ServiceBook::kMaxRuns + 10; ++id) {
    book.Record("s", id);
  }
  admin::HostedProgram oldest = Program(1);
  book.Fill(&oldest);
  EXPECT_EQ(oldest.service(), "");
  admin::HostedProgram newest = Program(ServiceBook::kMaxRuns + 10);
  book.Fill(&newest);
  EXPECT_EQ(newest.run(), ServiceBook::kMaxRuns + 10);
}

}  // namespace
}  // namespace tao
