// What a domain denial says to the operator beyond "no rule grants": what
// each nearly matching rule's matchers want, and the `tao-domain allow`
// command that would admit the caller. Only the whole reason carries these
// (Decision::reason); a refused caller is never told them. Pure functions,
// thread-safe.
#ifndef TAO_TAO_DOMAIN_DENIAL_EXPLANATION_H_
#define TAO_TAO_DOMAIN_DENIAL_EXPLANATION_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "tao_domain/compiled_policy.h"
#include "tao_domain/domain_policy.pb.h"

namespace tao {

// What the matchers of one rule admit, for people: "measurement
// sha256:<12 hex>...", "uid 0", "names under key(ecdsa-p256:SHA256:...)",
// joined by ", or "; past three, ", and N more". "no one" if there are none.
std::string DescribeMatchers(
    const google::protobuf::RepeatedPtrField<Matcher>& matchers);

// The command that would admit `caller` to `operation` (with `label`, and as
// `run_as_uid` for Execute): "tao-domain --domain_dir=DIR allow <operation>
// --measurement=sha256:<hex>" for a program with a measurement, "--uid=<uid>"
// for an OS client. Empty when no single matcher would do (a program name
// with no measurement, an anonymous caller).
std::string AdmitCommand(const Caller& caller, absl::string_view operation,
                         absl::string_view label,
                         std::optional<uint32_t> run_as_uid);

}  // namespace tao

#endif  // TAO_TAO_DOMAIN_DENIAL_EXPLANATION_H_
