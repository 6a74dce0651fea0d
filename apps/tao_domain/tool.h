// What tao-domain's command files share (main.cc, publisher.cc): the flags
// more than one of them reads (defined in main.cc), how a command reports
// a failure and prints its result (text, or JSON with --json), and how it
// opens a key directory under the passphrase. Single-threaded, like the
// tool.
#ifndef TAO_APPS_TAO_DOMAIN_TOOL_H_
#define TAO_APPS_TAO_DOMAIN_TOOL_H_

#include <gflags/gflags.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "apps/common/json.h"
#include "tao/key_store.h"

DECLARE_string(keys_dir);
DECLARE_string(passphrase_file);
DECLARE_uint64(scrypt_n);
DECLARE_string(product);
DECLARE_uint64(product_version);
DECLARE_bool(json);
DECLARE_string(out);

namespace tao {
namespace domain_tool {

// Reports `status` (JSON on stderr with --json) and returns its exit code:
// the table's (apps/common/cli.h), with this tool's refinement that a
// tampered trail (kDataLoss) is refused (1).
int Fail(const absl::Status& status);

// As Fail, for a signature or signed policy that did not verify: refused
// (1) whatever the reason (kInvalidArgument, kUnauthenticated); a missing
// file is not found (3), an I/O error other (6).
int FailVerification(const absl::Status& status);

// Prints `json` (with --json) or `text` on stdout.
void Print(const JsonObject& json, absl::string_view text);

// Loads the key pair `basename` in `dir` (creating it if `create` and it is
// missing, then `*created` says so) under --passphrase_file or
// TAO_PASSPHRASE, fresh keys with --scrypt_n. kInvalidArgument without a
// passphrase; LoadOrCreateKeyDirectory's errors (kNotFound: no keys and
// `create` false; kPermissionDenied: a wrong passphrase) as they come.
absl::StatusOr<HostKeys> OpenKeys(const std::string& dir,
                                  absl::string_view basename, bool create,
                                  bool* created);

}  // namespace domain_tool
}  // namespace tao

#endif  // TAO_APPS_TAO_DOMAIN_TOOL_H_
