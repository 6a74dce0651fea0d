// taohost's configuration: parsing and the defaults it fills in.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "apps/taohost/config.h"
#include "program_factory/process_factory.h"
#include "tests/testing/status_matchers.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::StatusIs;

TEST(TaohostConfigTest, DefaultsFillWhatIsUnset) {
  auto config = ParseTaohostConfig("keys_dir: \"/k\"\ndomain_dir: \"/d\"\n");
  ASSERT_THAT(config, IsOk());
  ApplyTaohostDefaults(&*config);
  EXPECT_EQ(config->runtime_dir(), "/run/tao");
  EXPECT_EQ(config->admin_socket(), "/run/tao/admin.sock");
  EXPECT_EQ(config->max_frame_size(), 16u << 20);
  EXPECT_EQ(config->shutdown_grace_ms(), 10000u);
  EXPECT_EQ(size_t{config->measurement_cache_mib()} << 20,
            kRecommendedMeasurementCacheBytes);
}

// The pinned policy key is not read from beside the policy by default.
TEST(TaohostConfigTest, ThePinnedKeyAndConnectionLimitsHaveDefaults) {
  auto config = ParseTaohostConfig("keys_dir: \"/k\"\ndomain_dir: \"/d\"\n");
  ASSERT_THAT(config, IsOk());
  ApplyTaohostDefaults(&*config);
  EXPECT_EQ(config->policy_key_file(), "/etc/tao/policy_key");
  EXPECT_EQ(config->admin_max_connections_per_uid(), 64u);
  EXPECT_EQ(config->admin_max_connections(), 1024u);
  EXPECT_EQ(config->admin_root_reserved_connections(), 64u);
  config = ParseTaohostConfig("policy_key_file: \"/d/policy_name\"\n");
  ASSERT_THAT(config, IsOk());
  ApplyTaohostDefaults(&*config);
  EXPECT_EQ(config->policy_key_file(), "/d/policy_name");
  EXPECT_THAT(ParseTaohostConfig("policy_key_file: \"relative\"\n"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(TaohostConfigTest, AMeasurementCacheOfZeroStaysOff) {
  auto config = ParseTaohostConfig("measurement_cache_mib: 0\n");
  ASSERT_THAT(config, IsOk());
  ApplyTaohostDefaults(&*config);
  EXPECT_TRUE(config->has_measurement_cache_mib());
  EXPECT_EQ(config->measurement_cache_mib(), 0u);
  config = ParseTaohostConfig("measurement_cache_mib: 64\n");
  ASSERT_THAT(config, IsOk());
  ApplyTaohostDefaults(&*config);
  EXPECT_EQ(config->measurement_cache_mib(), 64u);
}

TEST(TaohostConfigTest, UnknownFieldsAreRefused) {
  EXPECT_THAT(ParseTaohostConfig("measurement_cache: 1\n"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace tao
