#include "bench/common/bench_flags.h"

#include <gflags/gflags.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace tao {
namespace bench {

void ParseBenchFlags(const std::string& usage, const std::string& flags_file,
                     int* argc, char*** argv) {
  gflags::SetUsageMessage(usage);
  for (int i = 1; i < *argc; ++i) {
    const char* arg = (*argv)[i];
    if (std::strcmp(arg, "--help") == 0 || std::strcmp(arg, "-help") == 0 ||
        std::strcmp(arg, "-h") == 0) {
      gflags::ShowUsageWithFlagsRestrict((*argv)[0], flags_file.c_str());
      std::exit(0);
    }
  }
  gflags::ParseCommandLineFlags(argc, argv, /*remove_flags=*/true);
  if (*argc > 1) {
    std::fprintf(stderr, "%s: unexpected argument '%s'\n%s\n", (*argv)[0],
                 (*argv)[1], usage.c_str());
    std::exit(2);
  }
}

bool FlagWasSet(const char* name) {
  gflags::CommandLineFlagInfo info;
  return gflags::GetCommandLineFlagInfo(name, &info) && !info.is_default;
}

std::vector<std::string> RepeatedFlag(int argc, char** argv,
                                      const std::string& name) {
  auto spellings = [&](std::string n, char from, char to) {
    std::replace(n.begin(), n.end(), from, to);
    return "--" + n;
  };
  const std::string dashes = spellings(name, '_', '-');
  const std::string underscores = spellings(name, '-', '_');
  std::vector<std::string> values;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") break;
    for (const std::string& flag : {dashes, underscores}) {
      if (arg.compare(0, flag.size() + 1, flag + "=") == 0) {
        values.push_back(arg.substr(flag.size() + 1));
        break;
      }
      if (arg == flag && i + 1 < argc) {
        values.push_back(argv[++i]);
        break;
      }
    }
  }
  return values;
}

}  // namespace bench
}  // namespace tao
