// The launch spec's kinds (program_factory.h).
#include <string>
#include <variant>

#include "absl/strings/str_cat.h"
#include "program_factory/program_factory.h"

namespace tao {
namespace {

struct KindOf {
  std::string operator()(const ProcessSpec&) const { return "process"; }
  std::string operator()(const EnclaveSpec&) const { return "enclave"; }
  std::string operator()(const VmSpec&) const { return "vm"; }
  std::string operator()(const OtherSpec& s) const { return s.kind; }
};

struct TargetOf {
  std::string operator()(const ProcessSpec& s) const { return s.path; }
  std::string operator()(const EnclaveSpec& s) const { return s.manifest_path; }
  std::string operator()(const VmSpec& s) const { return s.kernel; }
  std::string operator()(const OtherSpec& s) const {
    return absl::StrCat(s.kind, ":", s.parameters);
  }
};

}  // namespace

std::string LaunchKind(const ProgramSpec& spec) {
  return std::visit(KindOf(), spec);
}

std::string LaunchTarget(const ProgramSpec& spec) {
  return std::visit(TargetOf(), spec);
}

absl::StatusOr<const ProcessSpec*> ProcessSpecOf(const ProgramSpec& spec,
                                                 absl::string_view factory) {
  if (const ProcessSpec* process = std::get_if<ProcessSpec>(&spec)) {
    return process;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "factory '", factory, "' runs processes, not a spec of kind '",
      LaunchKind(spec), "'"));
}

}  // namespace tao
