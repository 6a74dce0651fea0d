// tao-enclave: checks an enclave manifest, prints its launch plan and its
// measurement, so that an administrator can write the Execute rule before
// the enclave first starts (docs/enclave-manifest.md).
#include <gflags/gflags.h>

#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "apps/common/cli.h"
#include "apps/common/json.h"
#include "program_factory/enclave/launch_plan.h"
#include "program_factory/enclave/manifest.h"
#include "tao/file_util.h"
#include "tao/status_macros.h"

DEFINE_string(ld_so_conf, "/etc/ld.so.conf",
              "The loader's configuration whose directories are searched "
              "for shared libraries (after DT_RPATH and DT_RUNPATH).");
DEFINE_bool(json, false,
            "Print the result as one JSON object (check: counts; plan: its "
            "lines; measure: the subprincipals and the measurement an "
            "Execute rule names), and errors as JSON on stderr.");

namespace tao {
namespace {

constexpr char kUsage[] =
    R"(check an enclave manifest and print its plan and measurement.

Usage:
  tao-enclave check MANIFEST     parse the manifest, find and hash every
                                 trusted file; print "ok" and what it found
  tao-enclave plan MANIFEST      print the launch plan, one field a line
  tao-enclave measure MANIFEST   print the name's subprincipals:
                                   Enclave(sha256:<plan digest>)
                                   Args(sha256:<args digest>)
MANIFEST may be "-" for standard input. The format and the plan's encoding
are in docs/enclave-manifest.md. An Execute rule for the enclave uses the
hex of its Enclave(...) as its measurement ("sha256:<hex>"). --json prints
each result as one JSON object.

Exit codes: 0 success; 1 the manifest, or a file it names, was refused
(the message names the line and column, or the file and why); 2 usage;
3 the manifest, a file it names or a library the entry needs is missing;
6 anything else (I/O).
)";

int Fail(const absl::Status& status) {
  int code = kExitFailure;
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
      code = kExitRejected;
      break;
    case absl::StatusCode::kNotFound:
      code = kExitNotFound;  // as in every tool: a missing file is 3
      break;
    default:
      break;
  }
  return ReportError("tao-enclave", status, FLAGS_json, code);
}

// A JSON array of strings.
std::string JsonStrings(const std::vector<std::string>& items) {
  std::vector<std::string> quoted;
  quoted.reserve(items.size());
  for (const std::string& item : items) {
    // JsonObject escapes; take its value back out of {"v":...}.
    const std::string one = JsonObject().Add("v", item).ToString();
    quoted.push_back(one.substr(5, one.size() - 6));
  }
  return absl::StrCat("[", absl::StrJoin(quoted, ","), "]");
}

absl::StatusOr<std::string> ReadManifest(const std::string& path) {
  const size_t limit = ManifestLimits().max_bytes;
  if (path == "-") {
    std::string data;
    char buf[65536];
    while (std::cin.read(buf, sizeof(buf)) || std::cin.gcount() > 0) {
      data.append(buf, static_cast<size_t>(std::cin.gcount()));
      if (data.size() > limit) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the manifest on standard input is longer than ", limit, " bytes"));
      }
    }
    if (std::cin.bad()) {
      return absl::DataLossError("error reading standard input");
    }
    return data;
  }
  absl::StatusOr<std::string> data = ReadFileToString(path, limit);
  if (!data.ok()) {
    return absl::Status(data.status().code(),
                        absl::StrCat("manifest ", data.status().message()));
  }
  return data;
}

absl::StatusOr<LaunchPlan> CompileManifest(const std::string& path) {
  TAO_ASSIGN_OR_RETURN(std::string text, ReadManifest(path));
  absl::StatusOr<EnclaveManifest> manifest = ParseEnclaveManifest(text);
  if (!manifest.ok()) {
    // Name the file, as compilers do: "<file>: line L, column C: ...".
    return absl::Status(manifest.status().code(),
                        absl::StrCat(path == "-" ? "<stdin>" : path, ": ",
                                     manifest.status().message()));
  }
  LaunchPlanOptions options;
  TAO_ASSIGN_OR_RETURN(options.search.system_dirs,
                       SystemLibraryDirs(FLAGS_ld_so_conf));
  return LaunchPlan::Compile(*manifest, options);
}

int Run(const std::vector<std::string>& args) {
  if (args.size() != 2) {
    return UsageError(
        "usage: tao-enclave check|plan|measure MANIFEST (see --help)",
        FLAGS_json);
  }
  const std::string& command = args[0];
  if (command != "check" && command != "plan" && command != "measure") {
    return UsageError(absl::StrCat("tao-enclave: unknown command '", command,
                                   "'; see --help"),
                      FLAGS_json);
  }
  absl::StatusOr<LaunchPlan> plan = CompileManifest(args[1]);
  if (!plan.ok()) return Fail(plan.status());
  if (command == "check") {
    size_t libraries = 0;
    for (const TrustedFile& f : plan->files()) {
      if (f.role == TrustedFileRole::kLibrary) ++libraries;
    }
    if (FLAGS_json) {
      std::cout << JsonObject()
                       .Add("ok", true)
                       .Add("trusted_files",
                            static_cast<uint64_t>(plan->files().size()))
                       .Add("libraries", static_cast<uint64_t>(libraries))
                       .Add("mounts",
                            static_cast<uint64_t>(plan->fields().mounts.size()))
                       .ToString()
                << "\n";
    } else {
      std::cout << "ok: " << plan->files().size() << " trusted files ("
                << libraries << " libraries found through DT_NEEDED), "
                << plan->fields().mounts.size() << " mounts\n";
    }
  } else if (command == "plan") {
    if (FLAGS_json) {
      std::vector<std::string> lines =
          absl::StrSplit(plan->Describe(), '\n', absl::SkipEmpty());
      std::cout << JsonObject().AddRaw("plan", JsonStrings(lines)).ToString()
                << "\n";
    } else {
      std::cout << plan->Describe();
    }
  } else {
    std::vector<std::string> subs;
    std::string measurement;
    for (const Subprincipal& sub : plan->subprincipals()) {
      subs.push_back(sub.ToString());
      if (sub.kind() == "Enclave") measurement = sub.argument();
    }
    if (FLAGS_json) {
      std::cout << JsonObject()
                       .AddRaw("subprincipals", JsonStrings(subs))
                       .Add("measurement", measurement)
                       .ToString()
                << "\n";
    } else {
      for (const std::string& sub : subs) std::cout << sub << "\n";
    }
  }
  return kExitOk;
}

}  // namespace
}  // namespace tao

int main(int argc, char** argv) {
  std::vector<std::string> args =
      tao::InitApp(tao::kUsage, "apps/tao_enclave/", &argc, &argv);
  return tao::Run(args);
}
