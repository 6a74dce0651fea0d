// TaoDomain: the one place decisions are made. It holds a domain policy that
// its policy key signed, answers "may this caller do this operation" with
// allow or deny and the reason, writes every decision to the audit trail, and
// answers the typed question of each Tao call (Seal, Unseal, GetSharedSecret,
// Attest), seal policies and DomainRule labels included. Nothing else in the
// host decides: a Decision can be made only here and by the seal-policy
// evaluator (seal_policy/decision.h).
#ifndef TAO_TAO_DOMAIN_TAO_DOMAIN_H_
#define TAO_TAO_DOMAIN_TAO_DOMAIN_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "seal_policy/decision.h"
#include "seal_policy/evaluator.h"
#include "tao/attestation.pb.h"
#include "tao/clock.h"
#include "tao/keys.h"
#include "tao/principal.h"
#include "tao/run_as.h"
#include "tao_domain/audit_log.h"
#include "tao_domain/audit_rate.h"
#include "tao_domain/compiled_policy.h"
#include "tao_domain/domain_policy.pb.h"

namespace tao {

// ---- Typed questions of the Tao calls: answers that carry more ----------

// The answer to GetSharedSecret: the decision and, on allow, what the secret
// is derived from. Made only by TaoDomain; immutable.
class SharedSecretDecision {
 public:
  const Decision decision;
  // What the secret is bound to: the caller's exact name (SameProgram), its
  // measured prefix (SameMeasurement), or "" (the other kinds, whose callers
  // all share one secret per policy). Empty on deny.
  const std::string binding;
  // The HKDF context the host derives the secret from (policy bytes and
  // binding; TaoHost::DeriveSecret). Empty on deny.
  const std::string context;

 private:
  friend class TaoDomain;
  SharedSecretDecision(Decision decision_in, std::string binding_in,
                       std::string context_in)
      : decision(std::move(decision_in)),
        binding(std::move(binding_in)),
        context(std::move(context_in)) {}
};

// How TaoDomain uses its audit trail.
struct TaoDomainOptions {
  // Recorded decisions per caller (a program by its name without Ext(..)
  // extensions, an admin client by uid; root is never limited). Over the
  // limit a request is denied with a reason starting "rate limited" and
  // counted into one RateLimited record per caller per second.
  AuditRateOptions rate;
  // The host's platform state (a tpm2 root's quoted PCRs as
  // PlatformStateText), empty for roots without one; SameHostState seal
  // policies compare it.
  std::string host_state;
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

  // DomainRuleChecker: Authorize(program caller, "Unseal", label), recorded.
  // The listen loop does not use it (AuthorizeUnseal records one decision
  // for a whole policy); tools and tests evaluating a policy by hand do.
  DomainRuleAnswer CheckUnsealLabel(const Principal& caller,
                                    absl::string_view label) const override;

  // ---- Typed questions of the Tao calls ----------------------------------
  // Each answers one request of the hosted program named `caller` and writes
  // exactly one audit record with the reason, however many DomainRule leaves
  // the policy has (a decision that cannot be recorded is a deny). `policy`
  // is canonical seal-policy bytes (seal_policy/codec.h). A request that
  // cannot be asked (a policy that does not decode) is an error status and
  // is not recorded. Implemented in tao_call_questions.cc.

  // May `caller` seal under `policy`? Needs a Seal grant for every
  // DomainRule label the policy names (a grant without labels if it names
  // none). kInvalidArgument if `policy` does not decode.
  absl::StatusOr<Decision> AuthorizeSeal(const Principal& caller,
                                         absl::string_view policy) const;

  // May `caller` have what `sealer` sealed under `policy`, on the host
  // named `host` (for SameHost)? Evaluates the policy: SameProgram,
  // SameMeasurement, SameSigner, SameHost, AllOf/AnyOf, and DomainRule
  // leaves against the policy's Unseal grants (unrecorded: the one record is
  // the answer's). kDataLoss if `policy` does not decode.
  absl::StatusOr<Decision> AuthorizeUnseal(const Principal& caller,
                                           absl::string_view policy,
                                           const Principal& sealer,
                                           const Principal& host) const;

  // May `caller`, a program of `host`, have a shared secret under `policy`,
  // and what is it bound to? Needs a GetSharedSecret grant. Every caller
  // the policy admits derives the same secret, so the binding is what the
  // policy compares: SameProgram binds the exact name, SameMeasurement the
  // measured prefix; the other kinds bind nothing more and are evaluated
  // with the caller as its own sealer. kInvalidArgument for a policy that
  // does not decode or is AllOf/AnyOf (a compound policy has no one
  // binding).
  absl::StatusOr<SharedSecretDecision> AuthorizeSharedSecret(
      const Principal& caller, absl::string_view policy,
      const Principal& host) const;

  // May `caller` have `statement` signed by its host? Needs an Attest
  // grant, and the statement's speaker (empty: the caller) must be the
  // caller or the caller extended by Ext(...) subprincipals only, as
  // ExtendTaoName allows; so must a delegation's delegator. A program can
  // never speak as caller.Program(...), .Args(...) or .Publisher(...): those
  // are the host's to assign. kInvalidArgument if the speaker or the
  // delegator does not parse.
  absl::StatusOr<Decision> AuthorizeAttest(const Principal& caller,
                                           const Statement& statement) const;

  // The trail (null: none), for the listen loop's durability hand-off.
  AuditLog* audit() const { return audit_; }
  // Decisions made although they could not be recorded (root's last
  // resorts on a full disk), and of those, how many are still unwritten.
  uint64_t unrecorded() const;

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
            const Clock& clock, TaoDomainOptions options)
      : policy_key_(std::move(policy_key)),
        audit_(audit),
        clock_(clock),
        rate_(options.rate),
        host_state_(std::move(options.host_state)),
        policy_(std::move(policy)) {}
  std::shared_ptr<const CompiledDomainPolicy> Current() const;
  // Writes due RateLimited summaries and records that could not be written
  // before.
  void WriteOwed(absl::Time now, bool all) const;

  // Appends `decision`, made here on the domain's behalf, to the audit
  // trail. Returns `decision`, or a deny if it cannot be recorded.
  Decision Record(const Caller& caller, absl::string_view operation,
                  absl::string_view label, Decision decision) const;

  // The DomainRuleChecker the Unseal and GetSharedSecret questions evaluate
  // with: each DomainRule leaf answered from one policy snapshot, without
  // recording (tao_call_questions.cc).
  class UnrecordedLabels;

  const VerifyingKey policy_key_;
  AuditLog* const audit_;
  const Clock& clock_;
  mutable AuditRateLimiter rate_;
  const std::string host_state_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const CompiledDomainPolicy> policy_ ABSL_GUARDED_BY(mu_);
  mutable absl::Mutex owed_mu_;
  mutable std::vector<AuditRecord> owed_ ABSL_GUARDED_BY(owed_mu_);
  mutable uint64_t unrecorded_ ABSL_GUARDED_BY(owed_mu_) = 0;
};

}  // namespace tao

#endif  // TAO_TAO_DOMAIN_TAO_DOMAIN_H_
