#include "apps/common/cli.h"

#include <gflags/gflags.h>
#include <glog/logging.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <iterator>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tao/file_util.h"

namespace tao {

std::vector<std::string> InitApp(absl::string_view usage,
                                 absl::string_view flags_file, int* argc,
                                 char*** argv) {
  gflags::SetUsageMessage(std::string(usage));
  gflags::SetVersionString("0.1.0");
  for (int i = 1; i < *argc; ++i) {
    const char* arg = (*argv)[i];
    if (std::strcmp(arg, "--help") == 0 || std::strcmp(arg, "-help") == 0 ||
        std::strcmp(arg, "-h") == 0 ||
        (i == 1 && std::strcmp(arg, "help") == 0)) {
      gflags::ShowUsageWithFlagsRestrict((*argv)[0],
                                         std::string(flags_file).c_str());
      std::exit(kExitOk);
    }
  }
  gflags::ParseCommandLineFlags(argc, argv, /*remove_flags=*/true);
  FLAGS_logtostderr = true;
  google::InitGoogleLogging((*argv)[0]);
  return std::vector<std::string>(*argv + 1, *argv + *argc);
}

absl::StatusOr<std::string> ReadInput(const std::string& path) {
  if (path != "-") return ReadFileToString(path);
  std::string data((std::istreambuf_iterator<char>(std::cin)),
                   std::istreambuf_iterator<char>());
  if (std::cin.bad())
    return absl::DataLossError("error reading standard input");
  return data;
}

absl::Status WriteOutput(const std::string& path, absl::string_view data,
                         int mode) {
  if (path != "-") {
    return WriteFileAtomically(path, data, static_cast<mode_t>(mode));
  }
  if (std::fwrite(data.data(), 1, data.size(), stdout) != data.size() ||
      std::fflush(stdout) != 0) {
    return absl::DataLossError("error writing standard output");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadPassphrase(const std::string& passphrase_file) {
  std::string passphrase;
  if (!passphrase_file.empty()) {
    auto contents = ReadFileToString(passphrase_file, 4096);
    if (!contents.ok()) return contents.status();
    passphrase = contents->substr(0, contents->find('\n'));
    OPENSSL_cleanse(contents->data(), contents->size());
  } else if (const char* env = std::getenv("TAO_PASSPHRASE")) {
    passphrase = env;
  }
  if (passphrase.empty()) {
    return absl::InvalidArgumentError(
        "no passphrase: set --passphrase_file or the TAO_PASSPHRASE variable");
  }
  return passphrase;
}

void ScrubPassphraseFromEnvironment() {
  constexpr absl::string_view kName = "TAO_PASSPHRASE=";
  std::vector<char*> entries;
  for (char** e = environ; *e != nullptr; ++e) {
    if (absl::string_view(*e).substr(0, kName.size()) == kName) {
      entries.push_back(*e);
    }
  }
  ::unsetenv("TAO_PASSPHRASE");
  // The entries still point into the memory the kernel shows as
  // /proc/<pid>/environ (or into copies setenv made): wipe them in place.
  for (char* entry : entries) OPENSSL_cleanse(entry, std::strlen(entry));
}

void PrintError(absl::string_view program, const absl::Status& status) {
  std::cerr << program << ": " << absl::StatusCodeToString(status.code())
            << ": " << status.message() << std::endl;
}

}  // namespace tao
