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
#include "tao_domain/audit_log.h"
#include "tao_domain/audit_rate.h"
#include "tao_domain/compiled_policy.h"
#include "tao_domain/domain_policy.pb.h"

namespace tao {

// How TaoDomain uses its audit trail.
struct TaoDomainOptions {
  // Recorded decisions per caller (a program by its name without Ext(..)
  // extensions, an admin client by uid; root is never limited). Over the
  // limit a request is denied with a reason starting "rate limited" and
  // counted into one RateLimited record per caller per second.
  AuditRateOptions rate;
};

// Thread-safe. Reload swaps the policy atomically; decisions in flight see
// either the old or the new one.
class TaoDomain final : public DomainRuleChecker {
 public:
  // Verifies `signed_policy` against `policy_key` and holds it. `audit` (may
  // be null: no trail) and `clock` are not owned and must outlive the domain.
  // Fails like VerifySignedDomainPolicy.
  static absl::StatusOr<std::unique_ptr<TaoDomain>> Create(
      VerifyingKey policy_key, absl::string_view signed_policy, AuditLog* audit,
      const Clock& clock, TaoDomainOptions options = {});

  // Writes the RateLimited summaries still owed.
  ~TaoDomain() override;

  // Replaces the policy if `signed_policy` verifies and validates, and
  // records a Reload (by `by`, e.g. "SIGHUP" or an admin caller) with the
  // new policy's SHA-256 and serial; otherwise returns why and leaves the
  // old policy in force. A reload that cannot be recorded is not made.
  absl::Status Reload(absl::string_view signed_policy,
                      absl::string_view by = "host");

  // Decides, and appends the decision to the audit trail. If the trail
  // cannot be written the answer is deny (a decision that cannot be recorded
  // is not made), except root's Admin:Stop, Admin:Kill and Admin:Shutdown,
  // which proceed (the failure is logged, counted in unrecorded(), and the
  // record written once the trail can be written again). In sync mode it
  // waits until the record is durable, unless the calling thread holds its
  // answers itself (AuditLog::HoldAnswersOnThisThread: the listen loop).
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

  // The trail (null: none), for the listen loop's durability hand-off.
  AuditLog* audit() const { return audit_; }
  // Decisions made although they could not be recorded (root's last
  // resorts on a full disk), and of those, how many are still unwritten.
  uint64_t unrecorded() const;

  std::string domain_name() const;
  DomainPolicy policy() const;
  const VerifyingKey& policy_key() const { return policy_key_; }

 private:
  TaoDomain(VerifyingKey policy_key,
            std::shared_ptr<const CompiledDomainPolicy> policy, AuditLog* audit,
            const Clock& clock, TaoDomainOptions options)
      : policy_key_(std::move(policy_key)),
        audit_(audit),
        clock_(clock),
        rate_(options.rate),
        policy_(std::move(policy)) {}
  std::shared_ptr<const CompiledDomainPolicy> Current() const;
  // Writes due RateLimited summaries and records that could not be written
  // before.
  void WriteOwed(absl::Time now, bool all) const;

  const VerifyingKey policy_key_;
  AuditLog* const audit_;
  const Clock& clock_;
  mutable AuditRateLimiter rate_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const CompiledDomainPolicy> policy_ ABSL_GUARDED_BY(mu_);
  mutable absl::Mutex owed_mu_;
  mutable std::vector<AuditRecord> owed_ ABSL_GUARDED_BY(owed_mu_);
  mutable uint64_t unrecorded_ ABSL_GUARDED_BY(owed_mu_) = 0;
};

}  // namespace tao

#endif  // TAO_TAO_DOMAIN_TAO_DOMAIN_H_
