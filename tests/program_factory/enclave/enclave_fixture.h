// A listen loop with a process factory and an enclave factory, and helpers
// to write manifests and run enclave-probe in real enclaves to the end.
#ifndef TAO_TESTS_PROGRAM_FACTORY_ENCLAVE_ENCLAVE_FIXTURE_H_
#define TAO_TESTS_PROGRAM_FACTORY_ENCLAVE_ENCLAVE_FIXTURE_H_

#include <sys/stat.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "program_factory/enclave/enclave_factory.h"
#include "tests/channels/loop_fixture.h"

namespace tao {
namespace test {

class EnclaveFixture : public LoopFixture {
 protected:
  void SetUp() override {
    MakeEphemeralHost();
    MakeDomain(AllowEverything());
    MakeEnclaveFactory();
    StartEnclaveLoop();
  }

  void MakeEnclaveFactory() {
    EnclaveFactoryOptions options;
    options.run_dir = dir_.Join("run");
    options.crash_root = dir_.Join("crash");
    auto factory = EnclaveFactory::Create(options);
    ASSERT_THAT(factory, IsOk());
    enclaves_ = *std::move(factory);
    // The enclave's writable mount: its root is nobody outside.
    data_ = dir_.Join("data");
    ::mkdir(data_.c_str(), 01777);
    ::chmod(data_.c_str(), 01777);
  }

  void StartEnclaveLoop(HostedProgramChannelOptions options = {}) {
    loop_.reset();
    if (options.log_dir.empty()) options.log_dir = dir_.path();
    auto loop = HostedProgramChannel::Create(
        host(), *domain_,
        {{"process", &factory_, {"pipe", "shm", "socketpair"}},
         {"enclave", enclaves_.get(), {"shm"}}},
        options);
    ASSERT_THAT(loop, IsOk());
    loop_ = *std::move(loop);
  }

  // A manifest running enclave-probe with `args`, its data directory
  // mounted rw at /data, and `extra` lines; written to <dir>/<file>.
  std::string Manifest(const std::string& file,
                       const std::vector<std::string>& args,
                       const std::string& extra = "") {
    std::string text = absl::StrCat("EXEC ", ENCLAVE_PROBE, "\n", "MOUNT ",
                                    data_, " /data rw\n", extra);
    for (const std::string& arg : args)
      absl::StrAppend(&text, "ARG ", arg, "\n");
    std::string path = dir_.Join(file);
    std::ofstream(path) << text;
    return path;
  }

  absl::StatusOr<ChildInfo> StartEnclave(const std::string& manifest) {
    StartRequest request;
    request.channel = "shm";
    request.factory = "enclave";
    request.spec = EnclaveSpec{manifest};
    return loop_->StartHostedProgram(request);
  }

  // Runs the enclave of `manifest` to its end; the final info (or an empty
  // one after a failure already reported).
  ChildInfo RunEnclave(const std::string& manifest,
                       absl::Duration timeout = absl::Seconds(30)) {
    auto started = StartEnclave(manifest);
    EXPECT_THAT(started, IsOk());
    if (!started.ok()) return ChildInfo();
    auto done = loop_->WaitHostedProgram(started->id, timeout);
    EXPECT_THAT(done, IsOk());
    if (!done.ok()) return ChildInfo();
    EXPECT_TRUE(done->exit.has_value());
    return *done;
  }

  // The log of a run that must have exited with `code`.
  std::string ExitedWith(const ChildInfo& info, int code) {
    std::string log = LogOf(info);
    EXPECT_TRUE(info.exit.has_value()) << log;
    if (info.exit.has_value()) {
      EXPECT_FALSE(info.exit->signaled) << log << info.exit_detail;
      EXPECT_EQ(info.exit->code, code) << log << info.exit_detail;
    }
    return log;
  }

  std::unique_ptr<EnclaveFactory> enclaves_;
  std::string data_;
};

}  // namespace test
}  // namespace tao

#endif  // TAO_TESTS_PROGRAM_FACTORY_ENCLAVE_ENCLAVE_FIXTURE_H_
