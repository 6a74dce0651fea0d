// Decision: allow or deny, always with a reason a person can act on.
//
// Only the two folders that decide can make one: the seal-policy evaluator
// (EvaluateSealPolicy) and the domain (TaoDomain, CompiledDomainPolicy). Its
// constructor and factories are private and those are its only friends, and
// its fields are const, so code elsewhere (the listen loop, admin, tools) can
// read a Decision it received, copy it and pass it on, but cannot construct
// an allow, nor turn a deny into one. tests/compile_fail/ shows it: a file
// that calls Decision::Allow from outside does not compile.
#ifndef TAO_SEAL_POLICY_DECISION_H_
#define TAO_SEAL_POLICY_DECISION_H_

#include <string>
#include <utility>

namespace tao {

class CompiledDomainPolicy;
class Decision;
class SealPolicy;
struct SealPolicyContext;
class TaoDomain;

Decision EvaluateSealPolicy(const SealPolicy& policy,
                            const SealPolicyContext& context);

// Immutable; copyable, not assignable. Thread-compatible.
class Decision {
 public:
  Decision(const Decision&) = default;
  Decision(Decision&&) = default;

  const bool allowed;
  // The whole explanation, for the operator: the audit trail, the host's
  // log, `tao-domain check` and administrators. A denial by the domain also
  // names the rules that nearly matched (their ids, labels and grantees).
  const std::string reason;

  // What a refused caller (a hosted program, an admin client refused at the
  // door) may be told: what was refused to whom, and which seal-policy
  // clause failed, without the domain's other rules. The same as `reason`
  // when nothing in it need be held back.
  const std::string& ForCaller() const {
    return for_caller_.empty() ? reason : for_caller_;
  }

 private:
  friend class CompiledDomainPolicy;
  friend class TaoDomain;
  friend Decision EvaluateSealPolicy(const SealPolicy& policy,
                                     const SealPolicyContext& context);

  Decision(bool allowed_in, std::string reason_in,
           std::string for_caller_in = "")
      : allowed(allowed_in),
        reason(std::move(reason_in)),
        for_caller_(std::move(for_caller_in)) {}

  static Decision Allow(std::string reason) {
    return Decision(true, std::move(reason));
  }
  // `for_caller`: the part of `reason` a refused caller may be told; empty:
  // all of it.
  static Decision Deny(std::string reason, std::string for_caller = "") {
    return Decision(false, std::move(reason), std::move(for_caller));
  }

  const std::string for_caller_;
};

}  // namespace tao

#endif  // TAO_SEAL_POLICY_DECISION_H_
