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

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "apps/common/json.h"
#include "tao/file_util.h"

namespace tao {
namespace {

// The flags that ask for help; gflags' own (--helpfull and friends) would
// print every library's flags under the build machine's source paths.
bool IsHelpFlag(absl::string_view arg, bool first) {
  if (first && arg == "help") return true;
  if (arg == "-h") return true;
  absl::string_view name = arg;
  if (!absl::ConsumePrefix(&name, "--")) {
    if (!absl::ConsumePrefix(&name, "-")) return false;
  }
  name = name.substr(0, name.find('='));
  return name == "help" || name == "helpfull" || name == "helpshort" ||
         name == "helpxml" || name == "helpon" || name == "helpmatch" ||
         name == "helppackage";
}

bool IsVersionFlag(absl::string_view arg) {
  return arg == "--version" || arg == "-version";
}

absl::string_view BaseName(absl::string_view path) {
  size_t slash = path.rfind('/');
  return slash == absl::string_view::npos ? path : path.substr(slash + 1);
}

// "--name=VALUE  description (default: D)", wrapped for a terminal.
std::string DescribeFlag(const gflags::CommandLineFlagInfo& flag) {
  std::string head;
  if (flag.type == "bool") {
    head = absl::StrCat("  --", flag.name, ", --no", flag.name);
  } else {
    std::string value = flag.type == "string"   ? "TEXT"
                        : flag.type == "double" ? "NUMBER"
                                                : "N";
    head = absl::StrCat("  --", flag.name, "=", value);
  }
  std::string text = flag.description;
  if (flag.type == "string") {
    absl::StrAppend(&text, " (default: ",
                    flag.default_value.empty()
                        ? "none"
                        : absl::StrCat("'", flag.default_value, "'"),
                    ")");
  } else {
    absl::StrAppend(&text, " (default: ", flag.default_value, ")");
  }
  std::string out = head + "\n";
  std::string line = "      ";
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (line.size() > 6 && line.size() + 1 + word.size() > 79) {
      absl::StrAppend(&out, line, "\n");
      line = "      ";
    }
    absl::StrAppend(&line, line.size() > 6 ? " " : "", word);
  }
  return absl::StrCat(out, line, "\n");
}

}  // namespace

const char kExitCodeHelp[] =
    "Exit codes (the same in every Tao tool; docs/exit-codes.md):\n"
    "  0  success\n"
    "  1  refused by policy or verification (the reason is printed)\n"
    "  2  usage error: a bad flag, argument or request\n"
    "  3  not found: no such program, file or key\n"
    "  4  the host is not reachable (its admin socket)\n"
    "  5  timed out\n"
    "  6  any other failure (the message says what)\n";

int ExitCodeFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      return kExitRejected;
    case absl::StatusCode::kInvalidArgument:
      return kExitUsage;
    case absl::StatusCode::kNotFound:
      return kExitNotFound;
    case absl::StatusCode::kUnavailable:
      return kExitUnreachable;
    case absl::StatusCode::kDeadlineExceeded:
      return kExitTimeout;
    default:
      return kExitOther;
  }
}

std::string HelpText(absl::string_view program, absl::string_view usage,
                     absl::string_view flags_file) {
  std::string out = absl::StrCat(program, ": ", usage, "\n\nFlags:\n");
  std::vector<gflags::CommandLineFlagInfo> flags;
  gflags::GetAllFlags(&flags);  // sorted by name
  for (const gflags::CommandLineFlagInfo& flag : flags) {
    if (!absl::StrContains(flag.filename, flags_file)) continue;
    absl::StrAppend(&out, DescribeFlag(flag));
  }
  absl::StrAppend(&out,
                  "  --help\n      Print this help and exit 0.\n"
                  "  --version\n      Print the version and exit 0.\n\n",
                  kExitCodeHelp);
  return out;
}

absl::Status CheckFlags(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;
    absl::string_view body = arg.substr(arg[1] == '-' ? 2 : 1);
    size_t eq = body.find('=');
    const bool has_value = eq != absl::string_view::npos;
    std::string name(body.substr(0, eq));
    std::string value(has_value ? body.substr(eq + 1) : "");
    gflags::CommandLineFlagInfo info;
    if (!gflags::GetCommandLineFlagInfo(name.c_str(), &info)) {
      if (!has_value && absl::StartsWith(name, "no") &&
          gflags::GetCommandLineFlagInfo(name.c_str() + 2, &info) &&
          info.type == "bool") {
        continue;
      }
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, "; see --help"));
    }
    if (info.type == "bool" && !has_value) continue;
    if (!has_value) {
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", name, " needs a value"));
      }
      value = argv[++i];
    }
    if (gflags::SetCommandLineOption(name.c_str(), value.c_str()).empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "flag --", name, ": '", value, "' is not a valid ", info.type));
    }
  }
  return absl::OkStatus();
}

std::vector<std::string> InitApp(absl::string_view usage,
                                 absl::string_view flags_file, int* argc,
                                 char*** argv) {
  gflags::SetUsageMessage(std::string(usage));
  gflags::SetVersionString("0.1.0");
  std::string program(BaseName((*argv)[0]));
  for (int i = 1; i < *argc; ++i) {
    absl::string_view arg = (*argv)[i];
    if (arg == "--") break;
    if (IsHelpFlag(arg, i == 1)) {
      std::cout << HelpText(program, usage, flags_file);
      std::cout.flush();
      std::exit(kExitOk);
    }
    if (IsVersionFlag(arg)) {
      std::cout << program << " 0.1.0\n";
      std::cout.flush();
      std::exit(kExitOk);
    }
  }
  absl::Status flags = CheckFlags(*argc, *argv);
  if (!flags.ok()) {
    std::cerr << program << ": " << flags.message() << "\n";
    std::exit(kExitUsage);
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

int ReportError(absl::string_view program, const absl::Status& status,
                bool json, int exit_code) {
  if (exit_code < 0) exit_code = ExitCodeFor(status);
  if (!json) {
    PrintError(program, status);
    return exit_code;
  }
  JsonObject error;
  error.Add("code", absl::StatusCodeToString(status.code()))
      .Add("message", status.message())
      .Add("exit_code", exit_code);
  std::cerr << JsonObject().AddRaw("error", error.ToString()).ToString()
            << std::endl;
  return exit_code;
}

int UsageError(absl::string_view line, bool json) {
  if (!json) {
    std::cerr << line << std::endl;
    return kExitUsage;
  }
  return ReportError("", absl::InvalidArgumentError(line), true, kExitUsage);
}

}  // namespace tao
