// The audit line's own formatters against the general ones they stand in
// for: every byte of a record must be what the slower path wrote.
#include "tao_domain/audit_format.h"

#include <cstdint>
#include <random>
#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace tao {
namespace {

std::string Reference(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
}

absl::Time Civil(int64_t y, int m, int d, int hh, int mm, int ss) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss),
                         absl::UTCTimeZone());
}

TEST(FormatAuditTimeTest, MatchesFormatTimeAtCalendarEdges) {
  const absl::Time edges[] = {
      absl::UnixEpoch(),
      Civil(1970, 12, 31, 23, 59, 59),
      Civil(1972, 2, 29, 12, 0, 0),     // leap day
      Civil(1999, 12, 31, 23, 59, 59),  // before a 400-year leap year
      Civil(2000, 2, 29, 0, 0, 0),
      Civil(2000, 3, 1, 0, 0, 0),
      Civil(2100, 2, 28, 23, 59, 59),  // 2100 is no leap year
      Civil(2100, 3, 1, 0, 0, 0),
      Civil(2026, 12, 3, 0, 13, 1),
      Civil(9999, 12, 31, 23, 59, 59),
  };
  for (absl::Time t : edges) {
    for (absl::Duration d :
         {absl::ZeroDuration(), absl::Nanoseconds(1), absl::Microseconds(1),
          absl::Nanoseconds(999999999), absl::Microseconds(123456),
          absl::Nanoseconds(1999)}) {
      EXPECT_EQ(internal::FormatAuditTime(t + d), Reference(t + d))
          << Reference(t + d);
    }
  }
}

TEST(FormatAuditTimeTest, MatchesFormatTimeOverTheWholeFastRange) {
  std::mt19937_64 rng(20261203);
  // In microseconds: the year 9999 in nanoseconds does not fit an int64.
  const int64_t end_us =
      absl::ToUnixMicros(Civil(9999, 12, 31, 23, 59, 59)) + 999999;
  std::uniform_int_distribution<int64_t> any(0, end_us);
  std::uniform_int_distribution<int64_t> sub_us(0, 999);
  for (int i = 0; i < 200000; ++i) {
    const absl::Time t =
        absl::FromUnixMicros(any(rng)) + absl::Nanoseconds(sub_us(rng));
    ASSERT_EQ(internal::FormatAuditTime(t), Reference(t)) << Reference(t);
  }
}

TEST(FormatAuditTimeTest, OutsideTheFastRangeIsFormatTimeItself) {
  for (absl::Time t :
       {absl::UnixEpoch() - absl::Nanoseconds(1),
        Civil(1969, 7, 20, 20, 17, 40), Civil(10000, 1, 1, 0, 0, 0),
        Civil(12345, 6, 7, 8, 9, 10), absl::InfiniteFuture(),
        absl::InfinitePast()}) {
    EXPECT_EQ(internal::FormatAuditTime(t), Reference(t)) << Reference(t);
  }
  EXPECT_EQ(internal::FormatAuditTime(absl::UnixEpoch() - absl::Nanoseconds(1)),
            "1969-12-31T23:59:59.999999Z");
}

}  // namespace
}  // namespace tao
