// Dynamic identities: the range of uids a ProcessFactory hands out, one per
// running program (as systemd's DynamicUser does), and the checks that keep
// that range clear of the machine's own users.
#ifndef TAO_PROGRAM_FACTORY_INTERNAL_IDENTITY_H_
#define TAO_PROGRAM_FACTORY_INTERNAL_IDENTITY_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "tao/unique_fd.h"

namespace tao {

// An inclusive range of uids (and the gids of the same numbers).
struct UidRange {
  uint32_t first = 0;
  uint32_t last = 0;
  bool Contains(uint32_t id) const { return id >= first && id <= last; }
  uint64_t size() const { return uint64_t{last} - first + 1; }
  // "FIRST-LAST".
  std::string ToString() const;
};

// The default dynamic range: 0x5A000000-0x5A00FFFF (1509949440-1510014975),
// 65536 ids far above normal users (1000..), nobody (65534), systemd's own
// DynamicUser range (61184-65519) and the usual /etc/subuid blocks
// (100000.. in steps of 65536).
inline constexpr UidRange kDefaultDynamicUidRange{0x5A000000u, 0x5A00FFFFu};

// Parses "FIRST-LAST" (decimal). kInvalidArgument unless 0 < FIRST <= LAST
// < 2^32-1 (uid -1 means "no change" to the kernel).
absl::StatusOr<UidRange> ParseUidRange(absl::string_view text);

// kFailedPrecondition naming the first user in `passwd_path` (or group in
// `group_path`) whose id falls into `range`; an errno status if a file
// exists but cannot be read. A missing file has no entries.
absl::Status CheckRangeIsUnused(const UidRange& range,
                                const std::string& passwd_path = "/etc/passwd",
                                const std::string& group_path = "/etc/group");

namespace internal {

// Where hosts claim dynamic uids machine-wide: one lock file per uid.
inline constexpr absl::string_view kDefaultUidLockDir = "/run/tao-dynamic-uids";

// Hands out the uids of a range, each to one holder at a time, on the whole
// machine: besides its own table it holds an exclusive flock on
// `<lock_dir>/<uid>` while a uid is out, so two hosts (or two factories)
// with overlapping ranges never give one uid to two programs, which could
// then signal or ptrace each other. A lock dies with its holder. Where the
// lock directory cannot be made (no privilege), only the table is used.
// Thread-safe.
class UidAllocator {
 public:
  // `salt` is hashed with every hint, so that two hosts on one machine do
  // not prefer the same uids (a host passes its own name, which keeps its
  // preferences across its restarts).
  explicit UidAllocator(UidRange range,
                        std::string lock_dir = std::string(kDefaultUidLockDir),
                        std::string salt = "")
      : range_(range), lock_dir_(std::move(lock_dir)), salt_(std::move(salt)) {}
  // A free uid: the one `hint` (with the salt) hashes to if it is free (so
  // that a program with the same hint, e.g. its state directory, usually
  // gets the same uid back and its files need no chown), else the next free
  // one. A uid another holder on the machine has claimed is not free.
  // kResourceExhausted if every uid is taken.
  absl::StatusOr<uint32_t> Allocate(absl::string_view hint);
  // Returns `uid` to the range. Only once its last process is gone.
  void Release(uint32_t uid);
  size_t in_use() const;
  const UidRange& range() const { return range_; }

 private:
  // Claims `uid` machine-wide; false if another holder has it.
  bool ClaimOnMachine(uint32_t uid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const UidRange range_;
  const std::string lock_dir_;
  const std::string salt_;
  mutable absl::Mutex mu_;
  std::set<uint32_t> used_ ABSL_GUARDED_BY(mu_);
  std::map<uint32_t, UniqueFd> locks_ ABSL_GUARDED_BY(mu_);
  bool lock_dir_ready_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace internal
}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_INTERNAL_IDENTITY_H_
