// Command-line flags of the benchmark harnesses, on gflags (as the apps'
// flags are): `--help` lists the harness's own flags, and a stray argument
// is a usage error. Not thread-safe: call once, first thing in main().
#ifndef TAO_BENCH_COMMON_BENCH_FLAGS_H_
#define TAO_BENCH_COMMON_BENCH_FLAGS_H_

#include <string>
#include <vector>

namespace tao {
namespace bench {

// Parses the gflags of this process from argv. `usage` is the text --help
// prints before the flags; `flags_file` limits that list to flags defined
// in files whose path contains it ("bench/e2e/"). --help, -help and -h
// print it and exit 0; an unknown flag exits 1 (gflags' own message); a
// positional argument prints the usage and exits 2. gflags accepts every
// flag with dashes or underscores (--big-client and --big_client).
void ParseBenchFlags(const std::string& usage, const std::string& flags_file,
                     int* argc, char*** argv);

// True if the flag `name` was given on the command line.
bool FlagWasSet(const char* name);

// Every value given to the string flag `name` (as --name=V or --name V; with
// dashes or underscores), in order: for flags that may be repeated, where
// gflags keeps only the last. Call before ParseBenchFlags.
std::vector<std::string> RepeatedFlag(int argc, char** argv,
                                      const std::string& name);

}  // namespace bench
}  // namespace tao

#endif  // TAO_BENCH_COMMON_BENCH_FLAGS_H_
