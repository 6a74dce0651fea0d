// gMock matchers for absl::Status and absl::StatusOr<T>, shaped like the ones
// upstream Abseil added in 2024 (absl/status/status_matchers.h) and Asylo's
// asylo/test/util/status_matchers.h. Debian's Abseil 20220623 has none.
//
//   EXPECT_THAT(DoIt(), IsOk());
//   EXPECT_THAT(Parse(""), StatusIs(absl::StatusCode::kInvalidArgument));
//   EXPECT_THAT(Parse(""), StatusIs(absl::StatusCode::kInvalidArgument,
//                                   HasSubstr("offset 0")));
//   EXPECT_THAT(Seal(x), StatusIs(AnyOf(absl::StatusCode::kInvalidArgument,
//                                       absl::StatusCode::kDataLoss)));
//   EXPECT_THAT(RandomBytes(4), IsOkAndHolds(SizeIs(4)));
//   ASSERT_OK_AND_ASSIGN(auto key, SigningKey::Generate());
//
// Every matcher works on both absl::Status and absl::StatusOr<T>.
#ifndef TAO_TESTS_TESTING_STATUS_MATCHERS_H_
#define TAO_TESTS_TESTING_STATUS_MATCHERS_H_

#include <ostream>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/base/config.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

// Debian's Abseil 20220623 gives StatusOr no printer, so gtest would show
// failing values as raw bytes. Only for the versions known to lack one (newer
// Abseil declares its own).
#if defined(ABSL_LTS_RELEASE_VERSION) && ABSL_LTS_RELEASE_VERSION <= 20220623
namespace absl {
ABSL_NAMESPACE_BEGIN
template <typename T>
void PrintTo(const StatusOr<T>& status_or, std::ostream* os) {
  if (status_or.ok()) {
    *os << "OK: " << ::testing::PrintToString(*status_or);
  } else {
    *os << status_or.status();
  }
}
ABSL_NAMESPACE_END
}  // namespace absl
#endif

namespace tao {
namespace test {
namespace internal_status {

inline const absl::Status& GetStatus(const absl::Status& status) {
  return status;
}

template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

// IsOk() for one concrete argument type.
template <typename T>
class MonoIsOkMatcherImpl : public ::testing::MatcherInterface<T> {
 public:
  void DescribeTo(std::ostream* os) const override { *os << "is OK"; }
  void DescribeNegationTo(std::ostream* os) const override {
    *os << "is not OK";
  }
  bool MatchAndExplain(
      T actual, ::testing::MatchResultListener* listener) const override {
    const absl::Status& status = GetStatus(actual);
    if (!status.ok()) *listener << "which has status " << status;
    return status.ok();
  }
};

class IsOkMatcher {
 public:
  template <typename T>
  operator ::testing::Matcher<T>()
      const {  // NOLINT(google-explicit-constructor)
    return ::testing::Matcher<T>(new MonoIsOkMatcherImpl<T>());
  }
};

// The code and message checks shared by every argument type of StatusIs().
class StatusIsMatcherCommon {
 public:
  StatusIsMatcherCommon(::testing::Matcher<absl::StatusCode> code_matcher,
                        ::testing::Matcher<const std::string&> message_matcher)
      : code_matcher_(std::move(code_matcher)),
        message_matcher_(std::move(message_matcher)) {}

  void DescribeTo(std::ostream* os) const {
    *os << "has a status code that ";
    code_matcher_.DescribeTo(os);
    *os << ", and has an error message that ";
    message_matcher_.DescribeTo(os);
  }

  void DescribeNegationTo(std::ostream* os) const {
    *os << "either has a status code that ";
    code_matcher_.DescribeNegationTo(os);
    *os << ", or has an error message that ";
    message_matcher_.DescribeNegationTo(os);
  }

  bool MatchAndExplain(const absl::Status& status,
                       ::testing::MatchResultListener* listener) const {
    ::testing::StringMatchResultListener inner;
    if (!code_matcher_.MatchAndExplain(status.code(), &inner)) {
      *listener << "whose code " << status.code() << " is wrong";
      if (!inner.str().empty()) *listener << " (" << inner.str() << ")";
      return false;
    }
    const std::string message(status.message());
    if (!message_matcher_.MatchAndExplain(message, &inner)) {
      *listener << "whose message is wrong";
      if (!inner.str().empty()) *listener << " (" << inner.str() << ")";
      return false;
    }
    return true;
  }

 private:
  const ::testing::Matcher<absl::StatusCode> code_matcher_;
  const ::testing::Matcher<const std::string&> message_matcher_;
};

template <typename T>
class MonoStatusIsMatcherImpl : public ::testing::MatcherInterface<T> {
 public:
  explicit MonoStatusIsMatcherImpl(StatusIsMatcherCommon common)
      : common_(std::move(common)) {}
  void DescribeTo(std::ostream* os) const override { common_.DescribeTo(os); }
  void DescribeNegationTo(std::ostream* os) const override {
    common_.DescribeNegationTo(os);
  }
  bool MatchAndExplain(
      T actual, ::testing::MatchResultListener* listener) const override {
    return common_.MatchAndExplain(GetStatus(actual), listener);
  }

 private:
  const StatusIsMatcherCommon common_;
};

class StatusIsMatcher {
 public:
  template <typename CodeMatcher, typename MessageMatcher>
  StatusIsMatcher(CodeMatcher&& code_matcher, MessageMatcher&& message_matcher)
      : common_(::testing::MatcherCast<absl::StatusCode>(
                    std::forward<CodeMatcher>(code_matcher)),
                ::testing::MatcherCast<const std::string&>(
                    std::forward<MessageMatcher>(message_matcher))) {}

  template <typename T>
  operator ::testing::Matcher<T>()
      const {  // NOLINT(google-explicit-constructor)
    return ::testing::Matcher<T>(new MonoStatusIsMatcherImpl<T>(common_));
  }

 private:
  const StatusIsMatcherCommon common_;
};

// IsOkAndHolds() for one StatusOr type.
template <typename StatusOrRef>
class IsOkAndHoldsMatcherImpl
    : public ::testing::MatcherInterface<StatusOrRef> {
 public:
  using value_type = typename std::decay_t<StatusOrRef>::value_type;

  template <typename InnerMatcher>
  explicit IsOkAndHoldsMatcherImpl(InnerMatcher&& inner)
      : inner_(::testing::SafeMatcherCast<const value_type&>(
            std::forward<InnerMatcher>(inner))) {}

  void DescribeTo(std::ostream* os) const override {
    *os << "is OK and has a value that ";
    inner_.DescribeTo(os);
  }
  void DescribeNegationTo(std::ostream* os) const override {
    *os << "isn't OK or has a value that ";
    inner_.DescribeNegationTo(os);
  }
  bool MatchAndExplain(
      StatusOrRef actual,
      ::testing::MatchResultListener* listener) const override {
    if (!actual.ok()) {
      *listener << "which has status " << actual.status();
      return false;
    }
    ::testing::StringMatchResultListener inner;
    const bool matches = inner_.MatchAndExplain(*actual, &inner);
    *listener << "which holds " << ::testing::PrintToString(*actual);
    if (!inner.str().empty()) *listener << ", " << inner.str();
    return matches;
  }

 private:
  const ::testing::Matcher<const value_type&> inner_;
};

template <typename InnerMatcher>
class IsOkAndHoldsMatcher {
 public:
  explicit IsOkAndHoldsMatcher(InnerMatcher inner) : inner_(std::move(inner)) {}

  template <typename StatusOrRef>
  operator ::testing::Matcher<StatusOrRef>()
      const {  // NOLINT(google-explicit-constructor)
    return ::testing::Matcher<StatusOrRef>(
        new IsOkAndHoldsMatcherImpl<const std::decay_t<StatusOrRef>&>(inner_));
  }

 private:
  const InnerMatcher inner_;
};

}  // namespace internal_status

// Matches an OK absl::Status or absl::StatusOr<T>.
inline internal_status::IsOkMatcher IsOk() { return {}; }

// Matches a status (or the status of a StatusOr) whose code matches `code`
// (an absl::StatusCode or a matcher of one) and whose message matches
// `message` (a string or a matcher of const std::string&).
template <typename CodeMatcher, typename MessageMatcher>
internal_status::StatusIsMatcher StatusIs(CodeMatcher&& code,
                                          MessageMatcher&& message) {
  return internal_status::StatusIsMatcher(
      std::forward<CodeMatcher>(code), std::forward<MessageMatcher>(message));
}
template <typename CodeMatcher>
internal_status::StatusIsMatcher StatusIs(CodeMatcher&& code) {
  return StatusIs(std::forward<CodeMatcher>(code), ::testing::_);
}

// Matches an OK absl::StatusOr<T> whose value matches `inner`.
template <typename InnerMatcher>
internal_status::IsOkAndHoldsMatcher<std::decay_t<InnerMatcher>> IsOkAndHolds(
    InnerMatcher&& inner) {
  return internal_status::IsOkAndHoldsMatcher<std::decay_t<InnerMatcher>>(
      std::forward<InnerMatcher>(inner));
}

}  // namespace test
}  // namespace tao

#define TAO_TESTING_CONCAT_INNER_(x, y) x##y
#define TAO_TESTING_CONCAT_(x, y) TAO_TESTING_CONCAT_INNER_(x, y)

// EXPECT_OK(expr) / ASSERT_OK(expr): `expr` (a Status or StatusOr) is OK.
#ifndef EXPECT_OK
#define EXPECT_OK(expr) EXPECT_THAT((expr), ::tao::test::IsOk())
#endif
#ifndef ASSERT_OK
#define ASSERT_OK(expr) ASSERT_THAT((expr), ::tao::test::IsOk())
#endif

// ASSERT_OK_AND_ASSIGN(lhs, rexpr): asserts that `rexpr` (a StatusOr) is OK
// and moves its value into `lhs`, which may be a declaration. Only in
// functions returning void (it uses ASSERT_*).
#ifndef ASSERT_OK_AND_ASSIGN
#define ASSERT_OK_AND_ASSIGN(lhs, rexpr)  \
  TAO_TESTING_ASSERT_OK_AND_ASSIGN_IMPL_( \
      TAO_TESTING_CONCAT_(tao_testing_statusor_, __LINE__), lhs, rexpr)
#define TAO_TESTING_ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                           \
  ASSERT_TRUE(statusor.ok()) << #rexpr << ": " << statusor.status(); \
  lhs = std::move(statusor).value()
#endif

#endif  // TAO_TESTS_TESTING_STATUS_MATCHERS_H_
