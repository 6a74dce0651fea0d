// TaoDomain: the one place decisions are made. It holds a domain policy that
// its policy key signed, answers "may this caller do this operation" with
// allow or deny and the reason, writes every decision to the audit trail, and
// decides DomainRule seal policies. Nothing else in the host decides.
#ifndef TAO_TAO_DOMAIN_TAO_DOMAIN_H_
#define TAO_TAO_DOMAIN_TAO_DOMAIN_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "seal_policy/decision.h"
#include "seal_policy/evaluator.h"
#include "tao/clock.h"
#include "tao/keys.h"
#include "tao/principal.h"
#include "tao/run_as.h"
#include "tao_domain/audit_log.h"
#include "tao_domain/compiled_policy.h"
#include "tao_domain/domain_policy.pb.h"

namespace tao {

// Thread-safe. Reload swaps the policy atomically; decisions in flight see
// either the old or the new one.
class TaoDomain final : public DomainRuleChecker {
 public:
  // Verifies `signed_policy` against `policy_key` and holds it. `audit` (may
  // be null: no trail) and `clock` are not owned and must outlive the domain.
  // Fails like VerifySignedDomainPolicy.
  static absl::StatusOr<std::unique_ptr<TaoDomain>> Create(
      VerifyingKey policy_key, absl::string_view signed_policy, AuditLog* audit,
      const Clock& clock);

  // Replaces the policy if `signed_policy` verifies and validates; otherwise
  // returns why and leaves the old policy in force.
  absl::Status Reload(absl::string_view signed_policy);

  // Decides, and appends the decision to the audit trail. If the trail
  // cannot be written the answer is deny (a decision that cannot be recorded
  // is not made).
  Decision Authorize(const Caller& caller, absl::string_view operation,
                     absl::string_view label = "") const;

  // Decides without recording: a dry run for `tao-domain check`.
  Decision Explain(const Caller& caller, absl::string_view operation,
                   absl::string_view label = "") const;

  // Appends a decision made elsewhere on the domain's behalf (a seal policy
  // evaluated by the listen loop) to the audit trail. Returns `decision`, or
  // a deny if it cannot be recorded.
  Decision Record(const Caller& caller, absl::string_view operation,
                  absl::string_view label, Decision decision) const;

  // DomainRuleChecker: Authorize(program caller, "Unseal", label).
  Decision CheckUnsealLabel(const Principal& caller,
                            absl::string_view label) const override;

  std::string domain_name() const;
  DomainPolicy policy() const;
  const VerifyingKey& policy_key() const { return policy_key_; }

  // ---- Run-as questions: who runs as whom, and who may start what ----
  // Each decides with the current policy and records the decision (a
  // decision that cannot be recorded is a deny).

  // May program `name` run as `run_as`? Execute, and for an explicit uid
  // (root included) a matching rule's run_as_uids must list it.
  Decision AuthorizeExecute(const Principal& name, const RunAs& run_as) const;
  // May `admin` start program `name` (as measured) as `run_as`? Admin:Start,
  // within the matching rule's `programs` and `run_as_uids`.
  Decision AuthorizeStart(const Caller& admin, const Principal& name,
                          const RunAs& run_as) const;

 private:
  TaoDomain(VerifyingKey policy_key,
            std::shared_ptr<const CompiledDomainPolicy> policy, AuditLog* audit,
            const Clock& clock)
      : policy_key_(std::move(policy_key)),
        audit_(audit),
        clock_(clock),
        policy_(std::move(policy)) {}
  std::shared_ptr<const CompiledDomainPolicy> Current() const;

  const VerifyingKey policy_key_;
  AuditLog* const audit_;
  const Clock& clock_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const CompiledDomainPolicy> policy_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tao

#endif  // TAO_TAO_DOMAIN_TAO_DOMAIN_H_
