// Service names: the optional name a program is started under
// (StartHostedProgramRequest.service, or a config program's), kept by its
// restarts and by later starts under the same name, with each run numbered
// 1, 2, ... under its name. The admin service records each start and fills
// HostedProgram.service and .run from here; taoctl resolves NAME to the
// latest run. Thread-safe.
#ifndef TAO_ADMIN_SERVICE_BOOK_H_
#define TAO_ADMIN_SERVICE_BOOK_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "admin/admin.pb.h"

namespace tao {

// OK for a name of 1 to 64 characters of [A-Za-z0-9._-] that is not all
// digits; kInvalidArgument saying why otherwise.
absl::Status ValidateServiceName(absl::string_view name);

class ServiceBook {
 public:
  // The most runs remembered; past it the oldest are forgotten (their
  // programs then show no name).
  static constexpr size_t kMaxRuns = 1 << 16;

  // Records that program `id` was started under `service` (a valid name, or
  // empty for none) as that name's next run.
  void Record(absl::string_view service, uint64_t id);

  // Sets out->service and out->run for the program `out` describes. A
  // restart (out->previous_id recorded under a name) is that name's next run
  // the first time it is seen.
  void Fill(admin::HostedProgram* out);

 private:
  struct Run {
    std::string service;
    uint32_t run = 0;
  };
  void RecordLocked(absl::string_view service, uint64_t id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, Run> runs_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint32_t> last_run_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tao

#endif  // TAO_ADMIN_SERVICE_BOOK_H_
