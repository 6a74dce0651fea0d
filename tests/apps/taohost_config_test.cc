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

// The trail is state: it survives a stop (the shipped unit deletes
// /run/tao on every stop), so it does not default to the runtime dir.
TEST(TaohostConfigTest, TheAuditTrailDefaultsToTheStateDir) {
  auto config = ParseTaohostConfig("keys_dir: \"/k\"\ndomain_dir: \"/d\"\n");
  ASSERT_THAT(config, IsOk());
  ApplyTaohostDefaults(&*config);
  EXPECT_EQ(config->state_dir(), "/var/lib/tao");
  EXPECT_EQ(config->audit_log(), "/var/lib/tao/audit/audit.log");
  EXPECT_EQ(config->audit_durability(), "batch");
  EXPECT_EQ(config->audit_batch_window_ms(), 10u);
  EXPECT_EQ(config->audit_max_bytes(), uint64_t{64} << 20);
  EXPECT_EQ(config->audit_keep_files(), 8u);
  EXPECT_EQ(config->audit_rate_per_program(), 1000u);
  EXPECT_EQ(config->audit_rate_burst(), 2000u);
  config = ParseTaohostConfig(
      "state_dir: \"/srv/tao\"\naudit_durability: \"sync\"\n"
      "audit_rate_per_program: 0\n");
  ASSERT_THAT(config, IsOk());
  ApplyTaohostDefaults(&*config);
  EXPECT_EQ(config->audit_log(), "/srv/tao/audit/audit.log");
  EXPECT_EQ(config->audit_durability(), "sync");
  EXPECT_EQ(config->audit_rate_per_program(), 0u);
}

TEST(TaohostConfigTest, BadAuditSettingsAreRefused) {
  EXPECT_THAT(ParseTaohostConfig("audit_durability: \"sometimes\"\n"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseTaohostConfig("audit_max_bytes: 1000\n"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseTaohostConfig("audit_keep_files: 0\n"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseTaohostConfig("state_dir: \"relative\"\n"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// Boot programs: the process launch spec or the flat fields of older
// configs; channel kinds and other kinds' specs checked when it is loaded.
TEST(TaohostConfigTest, BootProgramsTakeALaunchSpecOrTheFlatFields) {
  EXPECT_THAT(ParseTaohostConfig("programs { path: \"/bin/true\" }\n"), IsOk());
  EXPECT_THAT(ParseTaohostConfig("programs { process { path: \"/bin/true\" } "
                                 "channel: \"socketpair\" }\n"),
              IsOk());
  EXPECT_THAT(
      ParseTaohostConfig("programs { process { path: \"relative\" } }\n"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               testing::HasSubstr("must be absolute")));
  EXPECT_THAT(ParseTaohostConfig("programs { path: \"/bin/true\" "
                                 "channel: \"carrier-pigeon\" }\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       testing::HasSubstr("programs #1: unknown channel "
                                          "'carrier-pigeon'")));
  EXPECT_THAT(ParseTaohostConfig("programs { enclave { manifest: \"/m\" } }\n"),
              IsOk());
  EXPECT_THAT(ParseTaohostConfig("programs { enclave { manifest: \"m\" } }\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       testing::HasSubstr("manifest 'm' must be absolute")));
  EXPECT_THAT(
      ParseTaohostConfig("programs { vm { kernel: \"/k\" } }\n"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               testing::HasSubstr("a vm program needs the vm factory")));
  EXPECT_THAT(ParseTaohostConfig("factories: [\"process\", \"vm\"]\n"
                                 "programs { vm { kernel: \"/k\" } }\n"),
              IsOk());
  EXPECT_THAT(ParseTaohostConfig("programs { path: \"/bin/a\" "
                                 "process { path: \"/bin/b\" } }\n"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(TaohostConfigTest, TheShmRingAndSpinAreCheckedAndDefaulted) {
  auto config = ParseTaohostConfig("keys_dir: \"/k\"\n");
  ASSERT_THAT(config, IsOk());
  ApplyTaohostDefaults(&*config);
  EXPECT_EQ(config->shm_ring_bytes(), 256u * 1024);
  EXPECT_EQ(ShmOptionsOf(*config).spin, 0);
  config = ParseTaohostConfig("shm_ring_bytes: 4096\nshm_spin: 500\n");
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(ShmOptionsOf(*config).ring_size, 4096u);
  EXPECT_EQ(ShmOptionsOf(*config).spin, 500);
  EXPECT_THAT(
      ParseTaohostConfig("shm_ring_bytes: 3000\n"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               testing::HasSubstr("shm_ring_bytes/shm_spin: shm ring sizes "
                                  "must be powers of two")));
  EXPECT_THAT(ParseTaohostConfig("shm_ring_bytes: 134217728\n"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // A spin past int's range stays refused, not wrapped into a valid one.
  EXPECT_THAT(
      ParseTaohostConfig("shm_spin: 4294967295\n"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               testing::HasSubstr("spin count must be in [0, 100000]")));
  EXPECT_THAT(ParseTaohostConfig("shm_spin: 100000\n"), IsOk());
}

TEST(TaohostConfigTest, UnknownFieldsAreRefused) {
  EXPECT_THAT(ParseTaohostConfig("measurement_cache: 1\n"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace tao
