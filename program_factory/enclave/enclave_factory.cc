#include "program_factory/enclave/enclave_factory.h"

#include <errno.h>
#include <sys/stat.h>

#include <memory>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "program_factory/enclave/enclave_program.h"
#include "program_factory/enclave/landlock_policy.h"
#include "program_factory/enclave/seccomp_filter.h"
#include "tao/file_util.h"
#include "tao/status_macros.h"

namespace tao {
namespace {

// What the factory keeps of trusted files' declarations: a few hundred
// bytes a file, so some ten thousand files, far more than a host's
// libraries.
constexpr size_t kElfDependencyBytes = 4 << 20;
// And of whole searches: an entry for a program with the usual libraries
// is some 10 KiB.
constexpr size_t kLibrarySearchBytes = 4 << 20;

// Landlock for a plan, in the enclave's own view (after pivot_root): read
// and execute beneath its root, read and write beneath its rw and tmpfs
// mounts (those are mounted noexec too, so nothing written there runs).
std::vector<LandlockRule> RulesFor(const LaunchPlan& plan) {
  std::vector<LandlockRule> rules = {{"/", false}};
  if (plan.fields().debug) rules.push_back({kEnclaveCrashPath, true});
  for (const EnclaveMount& m : plan.fields().mounts) {
    if (m.kind != EnclaveMount::Kind::kBindReadOnly) {
      rules.push_back({m.enclave_path, true});
    }
  }
  return rules;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EnclaveFactory>> EnclaveFactory::Create(
    EnclaveFactoryOptions options) {
  if (options.outside_uid == 0 || options.outside_gid == 0) {
    return absl::InvalidArgumentError(
        "an enclave's root may not be the host's root outside (uid/gid 0)");
  }
  if (options.run_dir.empty() || options.run_dir[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        "the enclave run directory '", options.run_dir, "' must be absolute"));
  }
  auto landlock = LandlockPolicy::Create({{"/", false}});
  if (!landlock.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("enclaves need Landlock: ", landlock.status().message()));
  }
  auto seccomp = SeccompFilter::BuildEnclaveAllowList();
  if (!seccomp.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "enclaves need a seccomp filter: ", seccomp.status().message()));
  }
  auto max_ns = ReadFileToString("/proc/sys/user/max_user_namespaces", 64);
  if (max_ns.ok() && (max_ns->empty() || (*max_ns)[0] == '0')) {
    return absl::FailedPreconditionError(
        "enclaves need user namespaces (/proc/sys/user/max_user_namespaces "
        "is 0)");
  }
  if (::mkdir(options.run_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::ErrnoToStatus(errno, "mkdir " + options.run_dir);
  }
  // The enclave's init (the outside uid) walks to its mount point there.
  for (std::string dir = options.run_dir; !dir.empty();
       dir = dir.substr(0, dir.rfind('/'))) {
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0) {
      return absl::ErrnoToStatus(errno, "stat " + dir);
    }
    if ((st.st_mode & S_IXOTH) == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "enclaves cannot reach their run directory ", options.run_dir, ": ",
          dir, " is not searchable by others (mode ",
          absl::StrCat(absl::Hex(st.st_mode & 07777)), ")"));
    }
  }
  return std::unique_ptr<EnclaveFactory>(
      new EnclaveFactory(std::move(options), *std::move(seccomp)));
}

EnclaveFactory::EnclaveFactory(EnclaveFactoryOptions options,
                               SeccompFilter seccomp)
    : options_(std::move(options)),
      seccomp_(std::move(seccomp)),
      roots_(std::make_shared<PreparedRootCache>(
          options_.run_dir, options_.prepared_roots,
          options_.prepared_root_bytes, options_.outside_uid,
          options_.outside_gid)) {
  if (options_.measurement_cache_bytes > 0) {
    cache_ =
        std::make_unique<MeasurementCache>(options_.measurement_cache_bytes);
    elf_cache_ = std::make_unique<ElfDependencyCache>(kElfDependencyBytes);
    search_cache_ = std::make_unique<LibrarySearchCache>(kLibrarySearchBytes);
  }
}

EnclaveFactory::~EnclaveFactory() { roots_->Clear(); }

absl::StatusOr<LaunchPlan> EnclaveFactory::Plan(
    const std::string& manifest_path) const {
  TAO_ASSIGN_OR_RETURN(
      std::string text,
      ReadFileToString(manifest_path, options_.manifest.max_bytes));
  auto manifest = ParseEnclaveManifest(text, options_.manifest);
  if (!manifest.ok()) {
    return absl::Status(
        manifest.status().code(),
        absl::StrCat(manifest_path, ": ", manifest.status().message()));
  }
  LaunchPlanOptions plan = options_.plan;
  if (cache_ != nullptr) plan.search.cache = cache_.get();
  plan.search.elf_cache = elf_cache_.get();
  plan.search.search_cache = search_cache_.get();
  return LaunchPlan::Compile(*manifest, plan);
}

absl::StatusOr<std::unique_ptr<HostedProgram>> EnclaveFactory::NewHostedProgram(
    const ProgramSpec& spec) {
  const EnclaveSpec* enclave = std::get_if<EnclaveSpec>(&spec);
  if (enclave == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("factory 'enclave' runs enclaves, not a spec of kind '",
                     LaunchKind(spec), "'"));
  }
  if (enclave->manifest_path.empty() || enclave->manifest_path[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        "manifest path '", enclave->manifest_path, "' must be absolute"));
  }
  TAO_ASSIGN_OR_RETURN(LaunchPlan plan, Plan(enclave->manifest_path));
  if (plan.fields().debug) {
    for (const EnclaveMount& m : plan.fields().mounts) {
      if (PathIsWithin(m.enclave_path, kEnclaveCrashPath) ||
          PathIsWithin(kEnclaveCrashPath, m.enclave_path)) {
        return absl::InvalidArgumentError(
            absl::StrCat(enclave->manifest_path, ": MOUNT ", m.enclave_path,
                         ": a DEBUG enclave keeps ", kEnclaveCrashPath,
                         " for its core dumps"));
      }
    }
  }
  TAO_ASSIGN_OR_RETURN(LandlockPolicy landlock,
                       LandlockPolicy::Create(RulesFor(plan)));
  ProgramIdentity identity;
  identity.measurement = plan.digest();
  identity.args_digest = plan.args_digest();
  identity.subprincipals = plan.subprincipals();
  return std::unique_ptr<HostedProgram>(
      new EnclaveProgram(std::move(plan), std::move(landlock), seccomp_,
                         std::move(identity), options_, roots_));
}

}  // namespace tao
