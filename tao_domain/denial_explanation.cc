#include "tao_domain/denial_explanation.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "seal_policy/evaluator.h"
#include "tao/name_presentation.h"

namespace tao {
namespace {

constexpr int kMaxDescribedMatchers = 3;

// "sha256:" and 12 hex digits, as the matched-by text shows measurements.
std::string ShortMeasurement(absl::string_view measurement) {
  constexpr size_t kShown = 7 + 12;
  if (measurement.size() <= kShown) return std::string(measurement);
  return absl::StrCat(measurement.substr(0, kShown), "...");
}

std::string DescribeMatcher(const Matcher& m) {
  switch (m.kind_case()) {
    case Matcher::kUid:
      return absl::StrCat("uid ", m.uid());
    case Matcher::kGid:
      return absl::StrCat("gid ", m.gid());
    case Matcher::kExactName:
      return "one exact name";
    case Matcher::kNamePrefix:
      return absl::StrCat("names under ", ShortenNamesIn(m.name_prefix()));
    case Matcher::kMeasurement:
      return absl::StrCat("measurement ", ShortMeasurement(m.measurement()));
    case Matcher::kSigner:
      return absl::StrCat("programs signed for '", m.signer().product(),
                          "' version >= ", m.signer().min_version());
    case Matcher::KIND_NOT_SET:
      break;
  }
  return "an empty matcher";
}

// The command is for an operator to paste into a shell, and a hosted program
// chose parts of what it is built from: only text that needs no quoting.
bool IsShellSafe(absl::string_view text) {
  for (char c : text) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '_' && c != '-' && c != ':' && c != '/') {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string DescribeMatchers(
    const google::protobuf::RepeatedPtrField<Matcher>& matchers) {
  if (matchers.empty()) return "no one";
  std::vector<std::string> parts;
  for (int k = 0; k < matchers.size() && k < kMaxDescribedMatchers; ++k) {
    parts.push_back(DescribeMatcher(matchers[k]));
  }
  std::string out = absl::StrJoin(parts, ", or ");
  if (matchers.size() > kMaxDescribedMatchers) {
    absl::StrAppend(&out, ", and ", matchers.size() - kMaxDescribedMatchers,
                    " more");
  }
  return out;
}

std::string AdmitCommand(const Caller& caller, absl::string_view operation,
                         absl::string_view label,
                         std::optional<uint32_t> run_as_uid) {
  std::string who;
  if (caller.program.has_value()) {
    const int mi = LastMeasurementIndex(*caller.program);
    if (mi < 0) return "";
    const std::string& measurement =
        caller.program->subprincipals()[mi].argument();
    if (!IsShellSafe(measurement)) return "";
    who = absl::StrCat("--measurement=", measurement);
  } else if (caller.uid.has_value()) {
    who = absl::StrCat("--uid=", *caller.uid);
  } else {
    return "";
  }
  if (!IsShellSafe(operation) || !IsShellSafe(label)) return "";
  std::string command =
      absl::StrCat("tao-domain --domain_dir=DIR allow ", operation, " ", who);
  if (!label.empty()) absl::StrAppend(&command, " --label=", label);
  if (run_as_uid.has_value()) {
    absl::StrAppend(&command, " --run_as_uid=", *run_as_uid);
  }
  return command;
}

}  // namespace tao
