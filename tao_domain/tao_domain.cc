#include "tao_domain/tao_domain.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "tao/status_macros.h"
#include "tao_domain/policy_io.h"

namespace tao {

absl::StatusOr<std::unique_ptr<TaoDomain>> TaoDomain::Create(
    VerifyingKey policy_key, absl::string_view signed_policy, AuditLog* audit,
    const Clock& clock) {
  TAO_ASSIGN_OR_RETURN(DomainPolicy policy,
                       VerifySignedDomainPolicy(signed_policy, policy_key));
  return std::unique_ptr<TaoDomain>(new TaoDomain(
      std::move(policy_key),
      std::make_shared<const CompiledDomainPolicy>(std::move(policy)), audit,
      clock));
}

absl::Status TaoDomain::Reload(absl::string_view signed_policy) {
  auto policy = VerifySignedDomainPolicy(signed_policy, policy_key_);
  if (!policy.ok()) {
    return absl::Status(
        policy.status().code(),
        absl::StrCat("policy not reloaded, the old one stays in force: ",
                     policy.status().message()));
  }
  auto fresh = std::make_shared<const CompiledDomainPolicy>(*std::move(policy));
  absl::MutexLock lock(&mu_);
  policy_ = std::move(fresh);
  return absl::OkStatus();
}

std::shared_ptr<const CompiledDomainPolicy> TaoDomain::Current() const {
  absl::MutexLock lock(&mu_);
  return policy_;
}

Decision TaoDomain::Explain(const Caller& caller, absl::string_view operation,
                            absl::string_view label) const {
  return Current()->Decide(caller, operation, label);
}

Decision TaoDomain::Authorize(const Caller& caller, absl::string_view operation,
                              absl::string_view label) const {
  return Record(caller, operation, label, Explain(caller, operation, label));
}

Decision TaoDomain::Record(const Caller& caller, absl::string_view operation,
                           absl::string_view label, Decision decision) const {
  if (audit_ != nullptr) {
    absl::Status logged = audit_->Append(
        AuditRecord{clock_.Now(), caller.Describe(), std::string(operation),
                    std::string(label), decision.allowed, decision.reason});
    if (!logged.ok()) {
      return Decision::Deny(absl::StrCat(
          "domain '", Current()->policy().domain_name(), "': ", operation,
          " denied because the decision could not be recorded in the audit "
          "trail: ",
          logged.message()));
    }
  }
  return decision;
}

DomainRuleAnswer TaoDomain::CheckUnsealLabel(const Principal& caller,
                                             absl::string_view label) const {
  Decision d = Authorize(Caller::Program(caller), "Unseal", label);
  return DomainRuleAnswer{d.allowed, d.reason};
}

std::string TaoDomain::domain_name() const {
  return Current()->policy().domain_name();
}

DomainPolicy TaoDomain::policy() const { return Current()->policy(); }

Decision TaoDomain::AuthorizeExecute(const Principal& name,
                                     const RunAs& run_as) const {
  return Record(Caller::Program(name), "Execute", "",
                Current()->DecideExecute(name, run_as));
}

Decision TaoDomain::AuthorizeStart(const Caller& admin, const Principal& name,
                                   const RunAs& run_as) const {
  return Record(admin, "Admin:Start", "",
                Current()->DecideStart(admin, name, run_as));
}

}  // namespace tao
