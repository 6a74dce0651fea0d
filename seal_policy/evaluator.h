// Pure evaluation of a seal policy against the caller who asks to unseal.
// No I/O and no state: the listen loop supplies the names, and the domain
// (for DomainRule) arrives as an injected checker, in the manner of Asylo's
// EvaluateIdentityAcl(identities, acl, matcher).
//
// How a name is read (structured, never by string matching):
//   host . <measurement> [. Publisher(...)] [. Args(...)] [. Ext(...)]...
// where <measurement> is the last Program, VM or Enclave subprincipal. Only a
// Publisher immediately after the measurement counts: the factory that
// measured the program put it there. (Hosts accept only Ext subprincipals
// through ExtendTaoName, so a program cannot forge either.)
#ifndef TAO_SEAL_POLICY_EVALUATOR_H_
#define TAO_SEAL_POLICY_EVALUATOR_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "seal_policy/decision.h"
#include "seal_policy/seal_policy.pb.h"
#include "tao/principal.h"

namespace tao {

// A DomainRuleChecker's answer for one DomainRule leaf. It is an input to an
// evaluation, not a Decision: EvaluateSealPolicy makes the Decision.
struct DomainRuleAnswer {
  bool allowed = false;
  std::string reason;      // the whole explanation (Decision::reason)
  std::string for_caller;  // what the caller may be told (Decision::ForCaller)
};

// Decides DomainRule{label}. TaoDomain implements it. Implementations must
// be thread-safe.
class DomainRuleChecker {
 public:
  virtual ~DomainRuleChecker() = default;
  // May `caller` unseal data sealed under DomainRule{label}?
  virtual DomainRuleAnswer CheckUnsealLabel(const Principal& caller,
                                            absl::string_view label) const = 0;
};

// Everything an evaluation may look at. Pointers are not owned; `domain` may
// be null, and then every DomainRule denies.
struct SealPolicyContext {
  const Principal& caller;  // who asks to unseal
  const Principal& sealer;  // who sealed (from the authenticated bundle)
  const Principal& host;    // the host that evaluates
  const DomainRuleChecker* domain = nullptr;
  // The host's platform state (PlatformStateText, tao/tpm2_quote.h), empty
  // for a host that has none; SameHostState compares it.
  absl::string_view host_state = {};
};

// Evaluates `policy`. Thread-safe; never fails: a policy it cannot satisfy
// denies, with the reason. The only maker of Decisions outside tao_domain/
// (seal_policy/decision.h). The listen loop never calls it: it asks
// TaoDomain, whose typed questions evaluate and record.
Decision EvaluateSealPolicy(const SealPolicy& policy,
                            const SealPolicyContext& context);

// Decodes canonical policy bytes (seal_policy/codec.h) and evaluates them.
// Returns kInvalidArgument if the bytes do not decode.
absl::StatusOr<Decision> EvaluateSealPolicyBytes(
    absl::string_view policy, const SealPolicyContext& context);

// The index of the last measurement subprincipal (Program, VM, Enclave) of
// `name`, or -1 if it has none.
int LastMeasurementIndex(const Principal& name);

}  // namespace tao

#endif  // TAO_SEAL_POLICY_EVALUATOR_H_
