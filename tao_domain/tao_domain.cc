#include "tao_domain/tao_domain.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "tao/crypto.h"
#include "tao/encoding.h"
#include "tao/status_macros.h"
#include "tao_domain/policy_io.h"

namespace tao {
namespace {

// Root's ways to stop what runs: never refused because the trail cannot be
// written (a full disk must not keep the host from being stopped).
bool IsLastResort(const Caller& caller, absl::string_view operation) {
  return !caller.program.has_value() && caller.uid.has_value() &&
         *caller.uid == 0 &&
         (operation == "Admin:Stop" || operation == "Admin:Kill" ||
          operation == "Admin:Shutdown");
}

// Whose bucket a decision draws on: a program by its measured name (its
// Ext(..) extensions are its own to choose, so they do not make a new
// caller), anyone else as described.
std::string RateKey(const Caller& caller) {
  if (caller.program.has_value()) {
    const std::string& text = caller.program->text();
    return text.substr(0, text.find(".Ext("));
  }
  return caller.Describe();
}

// Root's last resorts that could not be recorded, kept to be written once
// the trail can be written again: at most this many (the rest are counted).
constexpr size_t kMaxOwed = 1024;

}  // namespace

absl::StatusOr<std::unique_ptr<TaoDomain>> TaoDomain::Create(
    VerifyingKey policy_key, absl::string_view signed_policy, AuditLog* audit,
    const Clock& clock, TaoDomainOptions options) {
  TAO_ASSIGN_OR_RETURN(DomainPolicy policy,
                       VerifySignedDomainPolicy(signed_policy, policy_key));
  return std::unique_ptr<TaoDomain>(new TaoDomain(
      std::move(policy_key),
      std::make_shared<const CompiledDomainPolicy>(std::move(policy)), audit,
      clock, options));
}

TaoDomain::~TaoDomain() {
  if (audit_ != nullptr) WriteOwed(clock_.Now(), /*all=*/true);
}

absl::Status TaoDomain::Reload(absl::string_view signed_policy,
                               absl::string_view by) {
  auto policy = VerifySignedDomainPolicy(signed_policy, policy_key_);
  if (!policy.ok()) {
    return absl::Status(
        policy.status().code(),
        absl::StrCat("policy not reloaded, the old one stays in force: ",
                     policy.status().message()));
  }
  auto fresh = std::make_shared<const CompiledDomainPolicy>(*std::move(policy));
  if (audit_ != nullptr) {
    auto ticket = audit_->AppendNote(
        by, "Reload", "",
        absl::StrCat("policy sha256:", HexEncode(Sha256(signed_policy)),
                     " policy_serial ", fresh->policy().serial(), " domain ",
                     fresh->policy().domain_name(), " rules ",
                     fresh->policy().rules_size()),
        clock_.Now());
    absl::Status logged = ticket.status();
    if (logged.ok() && audit_->durability() == AuditDurability::kSync &&
        !AuditLog::ThisThreadHoldsAnswers()) {
      logged = audit_->WaitDurable(*ticket);
    }
    if (!logged.ok()) {
      return absl::Status(
          logged.code(),
          absl::StrCat("policy not reloaded, the old one stays in force: the "
                       "reload could not be recorded in the audit trail: ",
                       logged.message()));
    }
  }
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
  if (audit_ == nullptr) return decision;
  const absl::Time now = clock_.Now();
  WriteOwed(now, /*all=*/false);
  const bool last_resort = IsLastResort(caller, operation);
  const bool root =
      !caller.program.has_value() && caller.uid.has_value() && *caller.uid == 0;
  if (!root && !rate_.Admit(RateKey(caller), now)) {
    return Decision::Deny(
        absl::StrCat("rate limited: more than ", rate_.options().per_second,
                     " decisions a second (burst ", rate_.options().burst,
                     ") for ", RateKey(caller), "; ", operation,
                     " denied, counted in a RateLimited record"));
  }
  AuditRecord record{now,
                     caller.Describe(),
                     std::string(operation),
                     std::string(label),
                     decision.allowed,
                     decision.reason};
  auto ticket = audit_->AppendNoWait(record);
  absl::Status logged = ticket.status();
  if (logged.ok() && audit_->durability() == AuditDurability::kSync &&
      !AuditLog::ThisThreadHoldsAnswers()) {
    logged = audit_->WaitDurable(*ticket);
  }
  if (logged.ok()) return decision;
  if (last_resort) {
    LOG(ERROR) << operation << " by root proceeds although the audit trail "
               << "cannot record it: " << logged;
    absl::MutexLock lock(&owed_mu_);
    ++unrecorded_;
    if (!ticket.ok() && owed_.size() < kMaxOwed) {
      record.reason = absl::StrCat(
          "recorded late (the trail could not be written at ",
          absl::FormatTime(now), ": ", logged.message(), "): ", record.reason);
      owed_.push_back(std::move(record));
    }
    return decision;
  }
  return Decision::Deny(absl::StrCat(
      "domain '", Current()->policy().domain_name(), "': ", operation,
      " denied because the decision could not be recorded in the audit "
      "trail: ",
      logged.message()));
}

void TaoDomain::WriteOwed(absl::Time now, bool all) const {
  for (const AuditRateLimiter::Suppressed& s : rate_.TakeDue(now, all)) {
    auto noted = audit_->AppendNote(
        s.key, "RateLimited", "",
        absl::StrCat(s.count,
                     " decisions denied without a record of each "
                     "since ",
                     absl::FormatTime(s.since, absl::UTCTimeZone())),
        now);
    if (!noted.ok()) break;
  }
  absl::MutexLock lock(&owed_mu_);
  while (!owed_.empty()) {
    if (!audit_->AppendNoWait(owed_.front()).ok()) break;
    owed_.erase(owed_.begin());
  }
}

uint64_t TaoDomain::unrecorded() const {
  absl::MutexLock lock(&owed_mu_);
  return unrecorded_;
}

DomainRuleAnswer TaoDomain::CheckUnsealLabel(const Principal& caller,
                                             absl::string_view label) const {
  Decision d = Authorize(Caller::Program(caller), "Unseal", label);
  return DomainRuleAnswer{d.allowed, d.reason, d.ForCaller()};
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
