#include "admin/service_book.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace tao {

absl::Status ValidateServiceName(absl::string_view name) {
  if (name.empty() || name.size() > 64) {
    return absl::InvalidArgumentError("a service name has 1 to 64 characters");
  }
  bool all_digits = true;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '_' && c != '-') {
      return absl::InvalidArgumentError(absl::StrCat(
          "service name '", name, "' has a character outside [A-Za-z0-9._-]"));
    }
    all_digits =
        all_digits && absl::ascii_isdigit(static_cast<unsigned char>(c));
  }
  if (all_digits) {
    return absl::InvalidArgumentError(absl::StrCat(
        "service name '", name, "' is all digits (that is an id)"));
  }
  return absl::OkStatus();
}

void ServiceBook::RecordLocked(absl::string_view service, uint64_t id) {
  if (runs_.size() >= kMaxRuns) {
    // Forget the oldest run (ids grow): rare, and bounded.
    auto oldest = std::min_element(
        runs_.begin(), runs_.end(),
        [](const auto& a, const auto& b) { return a.first < b.first; });
    runs_.erase(oldest);
  }
  uint32_t& last = last_run_[std::string(service)];
  runs_[id] = Run{std::string(service), ++last};
}

void ServiceBook::Record(absl::string_view service, uint64_t id) {
  if (service.empty()) return;
  absl::MutexLock lock(&mu_);
  RecordLocked(service, id);
}

void ServiceBook::Fill(admin::HostedProgram* out) {
  absl::MutexLock lock(&mu_);
  auto it = runs_.find(out->id());
  if (it == runs_.end() && out->previous_id() != 0) {
    auto previous = runs_.find(out->previous_id());
    if (previous != runs_.end()) {
      std::string service = previous->second.service;
      RecordLocked(service, out->id());
      it = runs_.find(out->id());
    }
  }
  if (it == runs_.end()) return;
  out->set_service(it->second.service);
  out->set_run(it->second.run);
}

}  // namespace tao
