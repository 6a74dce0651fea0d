// tao-domain's shared reporting, printing and key opening (tool.h).
#include "apps/tao_domain/tool.h"

#include <iostream>

#include "apps/common/cli.h"

namespace tao {
namespace domain_tool {
namespace {

int DomainExitCode(const absl::Status& status) {
  return status.code() == absl::StatusCode::kDataLoss ? kExitRejected
                                                      : ExitCodeFor(status);
}

}  // namespace

int Fail(const absl::Status& status) {
  return ReportError("tao-domain", status, FLAGS_json, DomainExitCode(status));
}

int FailVerification(const absl::Status& status) {
  return ReportError("tao-domain", status, FLAGS_json,
                     status.code() == absl::StatusCode::kInvalidArgument ||
                             status.code() == absl::StatusCode::kUnauthenticated
                         ? kExitRejected
                         : DomainExitCode(status));
}

void Print(const JsonObject& json, absl::string_view text) {
  if (FLAGS_json) {
    std::cout << json.ToString() << "\n";
  } else {
    std::cout << text;
  }
}

absl::StatusOr<HostKeys> OpenKeys(const std::string& dir,
                                  absl::string_view basename, bool create,
                                  bool* created) {
  auto passphrase = ReadPassphrase(FLAGS_passphrase_file);
  if (!passphrase.ok()) return passphrase.status();
  KeyDirectoryOptions options;
  options.dir = dir;
  options.basename = std::string(basename);
  options.passphrase = *passphrase;
  options.create_if_missing = create;
  options.scrypt.n = FLAGS_scrypt_n;
  return LoadOrCreateKeyDirectory(options, created);
}

}  // namespace domain_tool
}  // namespace tao
