#include "tests/testing/status_matchers.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::IsOkAndHolds;
using ::tao::test::StatusIs;
using ::testing::AnyOf;
using ::testing::DescribeMatcher;
using ::testing::Eq;
using ::testing::ExplainMatchResult;
using ::testing::HasSubstr;
using ::testing::Matcher;
using ::testing::Not;
using ::testing::Pointee;
using ::testing::SizeIs;
using ::testing::StringMatchResultListener;

TEST(IsOkTest, MatchesOkStatusAndStatusOr) {
  EXPECT_THAT(absl::OkStatus(), IsOk());
  EXPECT_THAT(absl::StatusOr<int>(3), IsOk());
  EXPECT_THAT(absl::InternalError("x"), Not(IsOk()));
  EXPECT_THAT(absl::StatusOr<int>(absl::NotFoundError("x")), Not(IsOk()));
}

TEST(IsOkTest, ExplainsTheStatus) {
  StringMatchResultListener listener;
  Matcher<const absl::Status&> m = IsOk();
  EXPECT_FALSE(m.MatchAndExplain(absl::DataLossError("torn"), &listener));
  EXPECT_THAT(listener.str(), HasSubstr("torn"));
  EXPECT_EQ(DescribeMatcher<absl::Status>(IsOk()), "is OK");
}

TEST(StatusIsTest, MatchesCode) {
  EXPECT_THAT(absl::InvalidArgumentError("bad"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(absl::InvalidArgumentError("bad"),
              Not(StatusIs(absl::StatusCode::kDataLoss)));
  EXPECT_THAT(absl::OkStatus(), StatusIs(absl::StatusCode::kOk));
  EXPECT_THAT(absl::StatusOr<std::string>(absl::NotFoundError("gone")),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(absl::StatusOr<std::string>("value"),
              Not(StatusIs(absl::StatusCode::kNotFound)));
}

TEST(StatusIsTest, MatchesCodeAndMessage) {
  absl::Status status = absl::PermissionDeniedError("wrong passphrase");
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kPermissionDenied,
                               "wrong passphrase"));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kPermissionDenied,
                               HasSubstr("passphrase")));
  EXPECT_THAT(status, Not(StatusIs(absl::StatusCode::kPermissionDenied,
                                   HasSubstr("offset"))));
  EXPECT_THAT(status, Not(StatusIs(absl::StatusCode::kDataLoss,
                                   HasSubstr("passphrase"))));
}

TEST(StatusIsTest, AcceptsACodeMatcher) {
  auto either = StatusIs(
      AnyOf(absl::StatusCode::kInvalidArgument, absl::StatusCode::kDataLoss));
  EXPECT_THAT(absl::InvalidArgumentError("a"), either);
  EXPECT_THAT(absl::DataLossError("b"), either);
  EXPECT_THAT(absl::OkStatus(), Not(either));
  EXPECT_THAT(absl::StatusOr<int>(1), Not(either));
}

TEST(StatusIsTest, ExplainsMismatch) {
  StringMatchResultListener listener;
  Matcher<const absl::Status&> m =
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("needle"));
  EXPECT_FALSE(m.MatchAndExplain(absl::NotFoundError("haystack"), &listener));
  EXPECT_THAT(listener.str(), HasSubstr("message is wrong"));
  EXPECT_THAT(
      DescribeMatcher<absl::Status>(StatusIs(absl::StatusCode::kNotFound)),
      HasSubstr("NOT_FOUND"));
}

TEST(IsOkAndHoldsTest, MatchesValue) {
  EXPECT_THAT(absl::StatusOr<int>(7), IsOkAndHolds(7));
  EXPECT_THAT(absl::StatusOr<int>(7), IsOkAndHolds(Eq(7)));
  EXPECT_THAT(absl::StatusOr<int>(7), Not(IsOkAndHolds(8)));
  EXPECT_THAT(absl::StatusOr<int>(absl::InternalError("x")),
              Not(IsOkAndHolds(7)));
  EXPECT_THAT(absl::StatusOr<std::string>("abcd"), IsOkAndHolds(SizeIs(4)));
  EXPECT_THAT(absl::StatusOr<std::unique_ptr<int>>(std::make_unique<int>(5)),
              IsOkAndHolds(Pointee(5)));
}

TEST(IsOkAndHoldsTest, ExplainsError) {
  StringMatchResultListener listener;
  EXPECT_FALSE(ExplainMatchResult(
      IsOkAndHolds(1), absl::StatusOr<int>(absl::AbortedError("boom")),
      &listener));
  EXPECT_THAT(listener.str(), HasSubstr("boom"));
}

TEST(AssertOkAndAssignTest, AssignsValue) {
  ASSERT_OK_AND_ASSIGN(std::string s, absl::StatusOr<std::string>("moved"));
  EXPECT_EQ(s, "moved");
  int n = 0;
  ASSERT_OK_AND_ASSIGN(n, absl::StatusOr<int>(42));
  EXPECT_EQ(n, 42);
  EXPECT_OK(absl::OkStatus());
  ASSERT_OK(absl::StatusOr<int>(1));
}

}  // namespace
}  // namespace tao
