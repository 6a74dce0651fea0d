// Signing the domain's policy text into policy.signed, for `init`, `sign`
// and `allow`. Not thread-safe (it writes the domain directory's files).
#ifndef TAO_APPS_TAO_DOMAIN_POLICY_FILES_H_
#define TAO_APPS_TAO_DOMAIN_POLICY_FILES_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "apps/common/json.h"
#include "tao/keys.h"

namespace tao {

// What a signing wrote.
struct SignedPolicyFile {
  std::string domain_name;
  int rules = 0;
  uint64_t serial = 0;
  std::string path;
};

// The result as --json prints it, and as a line of text.
JsonObject SignedJson(const SignedPolicyFile& f);
std::string SignedText(const SignedPolicyFile& f);

// Checks the policy text at `text_path` and signs it with `key` into
// <domain_dir>/policy.signed. The serial: `serial` if not 0, else the one
// in the text, else the current policy.signed's (or the last one signed
// here, policy.serial) + 1; a serial not above the current one is signed
// with a warning on stderr. kInvalidArgument naming the file when the text
// does not check; I/O errors as they come.
absl::StatusOr<SignedPolicyFile> SignPolicyFile(const SigningKey& key,
                                                const std::string& domain_dir,
                                                const std::string& text_path,
                                                uint64_t serial);

}  // namespace tao

#endif  // TAO_APPS_TAO_DOMAIN_POLICY_FILES_H_
