// A scripted fake factory and program of a made-up kind ("fake") with a
// made-up channel kind ("fake-ring", a socketpair under another name), for
// tests that drive the real loop (HostedProgramChannel) with a kind of
// program and channel the loop's code has never heard of.
//
// The program runs nothing: its script (the OtherSpec's parameters) says
// how it answers the loop's calls, and the test plays its side of the
// channel through the FakePeer it left behind (a real socket: frames the
// peer writes reach the loop's real connection and get real answers).
#ifndef TAO_TESTS_TESTING_FAKE_FACTORY_H_
#define TAO_TESTS_TESTING_FAKE_FACTORY_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "channels/tao_rpc.pb.h"
#include "program_factory/program_factory.h"
#include "tao/unique_fd.h"

namespace tao {
namespace test {

// The made-up kinds.
inline constexpr char kFakeKind[] = "fake";
inline constexpr char kFakeRingChannel[] = "fake-ring";

// Registers the "fake-ring" channel kind (idempotent; thread-safe): a
// socketpair whose child end is "fake-ring:<fd>".
absl::Status RegisterFakeRingChannel();

// What a fake program does, parsed from "key=value;..." parameters:
//   stop=<code>|ignore  ends with exit <code> when asked to Stop (default
//                       0), or ignores the request (the loop kills it);
//   freeze=yes|no       whether Freeze/Thaw work (default yes; no:
//                       kUnimplemented, as for a kind that cannot);
//   output=<text>       written to its output when it starts.
struct FakeScript {
  std::optional<int> stop_code = 0;  // nullopt: ignore Stop
  bool can_freeze = true;
  std::string output;
};
absl::StatusOr<FakeScript> ParseFakeScript(const std::string& parameters);

// The test's side of one fake program: its end of the channel and what the
// loop asked the program to do. Thread-safe; outlives the program.
class FakePeer {
 public:
  // The calls the program got, in order: "start", "freeze", "thaw",
  // "stop", "kill", "reap".
  std::vector<std::string> calls() const;
  // The TAO_CHANNEL value the program was given.
  std::string channel_env() const;
  // Sends `request` as one frame on the program's end and reads the
  // answer. kFailedPrecondition before Start.
  absl::StatusOr<TaoResponse> Call(const TaoRequest& request);
  // Ends the program on its own (as a process that exits `code`).
  void Exit(int code);

 private:
  friend class FakeProgram;
  void Record(const std::string& call);
  mutable absl::Mutex mu_;
  std::vector<std::string> calls_ ABSL_GUARDED_BY(mu_);
  std::string channel_env_ ABSL_GUARDED_BY(mu_);
  UniqueFd fd_ ABSL_GUARDED_BY(mu_);
  // Set by Exit; the program's end reads it.
  std::function<void(int)> exit_ ABSL_GUARDED_BY(mu_);
};

// Makes fake programs from an OtherSpec of kind "fake" (any other spec is
// refused with kInvalidArgument), paired with "fake-ring" only. Its
// identity: Program(SHA-256 of "fake:" + parameters), Args(SHA-256 of the
// parameters), a dynamic run-as. Thread-safe.
class FakeFactory final : public ProgramFactory {
 public:
  std::string kind() const override { return kFakeKind; }
  std::vector<std::string> channel_kinds() const override {
    return {kFakeRingChannel};
  }
  absl::StatusOr<std::unique_ptr<HostedProgram>> NewHostedProgram(
      const ProgramSpec& spec) override;

  // The peer of the last program made (null before the first).
  std::shared_ptr<FakePeer> last_peer() const;

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<FakePeer> last_ ABSL_GUARDED_BY(mu_);
};

}  // namespace test
}  // namespace tao

#endif  // TAO_TESTS_TESTING_FAKE_FACTORY_H_
