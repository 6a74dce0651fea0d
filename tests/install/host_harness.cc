// install-test-host: the smallest real Tao host, for tests/install. It runs
// one program under the listen loop (HostedProgramChannel) exactly as a host
// would: an ephemeral host with fresh keys in memory, a signed domain policy
// granting every program operation to whatever this host runs, the process
// factory and a pipe channel. It waits for the program, prints what the
// program wrote, and exits with the program's exit code.
//
//   install-test-host PROGRAM [ARGS...]
//
// Exit codes: the program's own; 128+N if signal N ended it; 125 if the
// harness itself failed (the reason on stderr).
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "channels/hosted_program_channel.h"
#include "glog/logging.h"
#include "program_factory/process_factory.h"
#include "tao/clock.h"
#include "tao/file_util.h"
#include "tao/key_store.h"
#include "tao/keys.h"
#include "tao/principal.h"
#include "tao/tao_host.h"
#include "tao_domain/policy_io.h"
#include "tao_domain/tao_domain.h"

namespace {

constexpr int kHarnessFailed = 125;

int Fail(const std::string& what, const absl::Status& status) {
  std::cerr << "install-test-host: " << what << ": " << status << std::endl;
  return kHarnessFailed;
}

// A private directory for the program's output log, removed on exit.
class LogDir {
 public:
  LogDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
        "/install-test-host.XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~LogDir() {
    if (path_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

int Run(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: install-test-host PROGRAM [ARGS...]" << std::endl;
    return kHarnessFailed;
  }
  std::error_code ec;
  std::filesystem::path program = std::filesystem::absolute(argv[1], ec);
  if (ec) return Fail("program path", absl::InvalidArgumentError(ec.message()));

  auto keys = tao::HostKeys::Generate();
  if (!keys.ok()) return Fail("host keys", keys.status());
  tao::Principal host_name =
      tao::Principal::ForKey(keys->signing_key.verifying_key());
  auto host = tao::TaoHost::Create(*std::move(keys), host_name, std::nullopt);
  if (!host.ok()) return Fail("host", host.status());

  tao::DomainPolicy policy;
  policy.set_domain_name("install-test");
  tao::Rule* rule = policy.add_rules();
  rule->set_id("everything-this-host-runs");
  for (const char* op :
       {"Execute", "Seal", "Unseal", "Attest", "GetSharedSecret"}) {
    rule->add_operations(op);
  }
  rule->add_principals()->set_name_prefix(host_name.text());
  auto policy_key = tao::SigningKey::Generate();
  if (!policy_key.ok()) return Fail("policy key", policy_key.status());
  auto signed_policy = tao::SignDomainPolicy(policy, *policy_key);
  if (!signed_policy.ok()) return Fail("sign policy", signed_policy.status());
  static const tao::RealClock clock;
  auto domain =
      tao::TaoDomain::Create(policy_key->verifying_key(), *signed_policy,
                             /*audit=*/nullptr, clock);
  if (!domain.ok()) return Fail("domain", domain.status());

  LogDir logs;
  if (logs.path().empty())
    return Fail("log dir", absl::InternalError("mkdtemp failed"));
  tao::ProcessFactory factory;
  tao::HostedProgramChannelOptions options;
  options.log_dir = logs.path();
  auto loop = tao::HostedProgramChannel::Create(
      **host, **domain, {{"process", &factory, {"pipe"}}}, options);
  if (!loop.ok()) return Fail("listen loop", loop.status());

  tao::StartRequest request;
  request.channel = "pipe";
  request.process().path = program.string();
  for (int i = 2; i < argc; ++i) request.process().args.push_back(argv[i]);
  auto started = (*loop)->StartHostedProgram(request);
  if (!started.ok())
    return Fail("start " + request.process().path, started.status());

  auto done = (*loop)->WaitHostedProgram(started->id, absl::Seconds(60));
  if (!done.ok()) return Fail("wait", done.status());
  (*loop)->Shutdown(absl::Seconds(5));
  auto log = tao::ReadFileToString(done->log_path);
  if (log.ok()) std::cout << *log << std::flush;
  if (!done->exit.has_value())
    return Fail("wait", absl::InternalError("no exit status"));
  std::cerr << "install-test-host: program " << done->name
            << " ended: " << done->exit->ToString() << " (" << done->calls
            << " calls, " << done->denials << " denied)" << std::endl;
  return done->exit->signaled ? 128 + done->exit->code : done->exit->code;
}

}  // namespace

int main(int argc, char** argv) {
  // The loop logs (glog) to stderr: starts, exits, lost channels.
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);
  return Run(argc, argv);
}
