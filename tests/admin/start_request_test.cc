// The one conversion of an admin start request into the loop's: the launch
// spec by kind (and its proto round trip), the flat process fields of older
// clients and configs, enclave specs (over shm by default), VM specs refused
// until their factory exists, and channel kinds parsed through the registry.
#include "admin/start_request.h"

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <variant>

#include "tests/testing/status_matchers.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

admin::StartHostedProgramRequest Text(const std::string& text) {
  admin::StartHostedProgramRequest out;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &out))
      << text;
  return out;
}

TEST(StartRequestTest, TheFlatFieldsOfOlderClientsStillStartAProcess) {
  auto request = StartRequestFromProto(
      Text("path: '/bin/prog' args: 'a' args: 'b' "
           "env { name: 'X' value: '1' } working_dir: '/tmp' uid: 7 gid: 8 "
           "state_directory: 'prog' channel: 'socketpair' "
           "restart: RESTART_ON_FAILURE max_restarts: 3 "
           "initial_backoff_ms: 20 max_backoff_ms: 400"));
  ASSERT_THAT(request, IsOk());
  EXPECT_EQ(request->factory, "process");
  EXPECT_EQ(request->channel, "socketpair");
  ASSERT_TRUE(std::holds_alternative<ProcessSpec>(request->spec));
  const ProcessSpec& spec = std::get<ProcessSpec>(request->spec);
  EXPECT_EQ(spec.path, "/bin/prog");
  EXPECT_THAT(spec.args, ElementsAre("a", "b"));
  EXPECT_THAT(spec.env, ElementsAre(Pair("X", "1")));
  EXPECT_EQ(spec.working_dir, "/tmp");
  EXPECT_EQ(spec.uid, 7u);
  EXPECT_EQ(spec.gid, 8u);
  EXPECT_EQ(spec.state_directory, "prog");
  EXPECT_EQ(request->restart.mode, RestartPolicy::kOnFailure);
  EXPECT_EQ(request->restart.max_restarts, 3);
  EXPECT_EQ(request->restart.initial_backoff, absl::Milliseconds(20));
  EXPECT_EQ(request->restart.max_backoff, absl::Milliseconds(400));
}

TEST(StartRequestTest, TheProcessSpecSaysTheSameAndRoundTrips) {
  auto old_style = StartRequestFromProto(
      Text("path: '/bin/prog' args: 'a' env { name: 'X' value: '1' } "
           "working_dir: '/tmp' uid: 7 gid: 8 state_directory: 'prog'"));
  auto new_style = StartRequestFromProto(
      Text("process { path: '/bin/prog' args: 'a' env { name: 'X' value: '1' } "
           "working_dir: '/tmp' uid: 7 gid: 8 state_directory: 'prog' }"));
  ASSERT_THAT(old_style, IsOk());
  ASSERT_THAT(new_style, IsOk());
  admin::StartHostedProgramRequest proto = StartRequestToProto(*new_style);
  EXPECT_TRUE(proto.has_process());
  EXPECT_TRUE(proto.path().empty());  // never the flat fields
  EXPECT_EQ(StartRequestToProto(*old_style).SerializeAsString(),
            proto.SerializeAsString());
  // And back: the same request.
  auto again = StartRequestFromProto(proto);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(StartRequestToProto(*again).SerializeAsString(),
            proto.SerializeAsString());
  const ProcessSpec& spec = std::get<ProcessSpec>(again->spec);
  EXPECT_EQ(spec.path, "/bin/prog");
  EXPECT_EQ(spec.uid, 7u);
  EXPECT_EQ(again->channel, "pipe");
  EXPECT_EQ(again->factory, "process");
}

TEST(StartRequestTest, ASpecAndFlatFieldsTogetherAreRefused) {
  EXPECT_THAT(
      StartRequestFromProto(Text("path: '/bin/a' process { path: '/bin/b' }")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not both")));
  EXPECT_THAT(StartRequestFromProto(
                  Text("state_directory: 'x' process { path: '/bin/b' }")),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(StartRequestTest, EnclaveSpecsAreServedOverShmByDefault) {
  auto request = StartRequestFromProto(Text("enclave { manifest: '/m' }"));
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->factory, "enclave");
  EXPECT_EQ(request->channel, "shm");
  ASSERT_TRUE(std::holds_alternative<EnclaveSpec>(request->spec));
  EXPECT_EQ(std::get<EnclaveSpec>(request->spec).manifest_path, "/m");
  EXPECT_EQ(StartRequestToProto(*request).enclave().manifest(), "/m");
  // A channel given is kept (the loop refuses one the factory cannot serve).
  EXPECT_EQ(
      StartRequestFromProto(Text("enclave { manifest: '/m' } channel: 'pipe'"))
          ->channel,
      "pipe");
}

TEST(StartRequestTest, VmSpecsConvertBothWays) {
  auto request = StartRequestFromProto(
      Text("vm { kernel: '/k' initrd: '/i' cmdline: 'quiet' state_disk: "
           "'/d' memory_mib: 512 vcpus: 2 network: true }"));
  ASSERT_THAT(request, IsOk());
  EXPECT_EQ(request->factory, "vm");
  EXPECT_EQ(request->channel, "virtio-serial");  // its kind's default
  const VmSpec* vm = std::get_if<VmSpec>(&request->spec);
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ(vm->kernel, "/k");
  EXPECT_EQ(vm->initrd, "/i");
  EXPECT_EQ(vm->cmdline, "quiet");
  EXPECT_EQ(vm->state_disk, "/d");
  EXPECT_EQ(vm->memory_mib, 512u);
  EXPECT_EQ(vm->vcpus, 2u);
  EXPECT_TRUE(vm->network);
  admin::StartHostedProgramRequest back = StartRequestToProto(*request);
  EXPECT_EQ(back.vm().cmdline(), "quiet");
  EXPECT_EQ(back.vm().memory_mib(), 512u);
  EXPECT_TRUE(back.vm().network());
}

TEST(StartRequestTest, ChannelKindsAreParsedByTheRegistry) {
  EXPECT_EQ(StartRequestFromProto(Text("path: '/bin/a'"))->channel, "pipe");
  EXPECT_THAT(
      StartRequestFromProto(Text("path: '/bin/a' channel: 'carrier-pigeon'")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("unknown channel 'carrier-pigeon' (pipe, shm or "
                         "socketpair)")));
}

}  // namespace
}  // namespace tao
