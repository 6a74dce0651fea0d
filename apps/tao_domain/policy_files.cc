#include "apps/tao_domain/policy_files.h"

#include <algorithm>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "tao/file_util.h"
#include "tao/status_macros.h"
#include "tao_domain/policy_io.h"

namespace tao {

JsonObject SignedJson(const SignedPolicyFile& f) {
  JsonObject json;
  json.Add("domain_name", f.domain_name)
      .Add("rules", f.rules)
      .Add("serial", f.serial)
      .Add("file", f.path);
  return json;
}

std::string SignedText(const SignedPolicyFile& f) {
  return absl::StrCat("signed ", f.rules, " rules of domain '", f.domain_name,
                      "' (serial ", f.serial, ") into ", f.path, "\n");
}

absl::StatusOr<SignedPolicyFile> SignPolicyFile(const SigningKey& key,
                                                const std::string& domain_dir,
                                                const std::string& text_path,
                                                uint64_t serial) {
  auto text = ReadFileToString(text_path, kMaxDomainPolicySize);
  if (!text.ok()) return text.status();
  auto policy = ParseDomainPolicyText(*text);
  if (!policy.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(text_path, ": ", policy.status().message()));
  }
  // The serial: --serial, else one in the text, else the current signed
  // policy's + 1 (hosts refuse a serial lower than one they accepted).
  uint64_t previous = 0;
  auto current = ReadFileToString(absl::StrCat(domain_dir, "/policy.signed"),
                                  kMaxDomainPolicySize);
  if (current.ok()) {
    auto serial = PeekDomainPolicySerial(*current);
    if (serial.ok()) previous = *serial;
  } else if (!absl::IsNotFound(current.status())) {
    return current.status();
  }
  // policy.serial remembers the last serial signed here, should
  // policy.signed be removed or replaced by an older copy.
  auto last = ReadFileToString(absl::StrCat(domain_dir, "/policy.serial"), 64);
  uint64_t last_serial = 0;
  if (last.ok() &&
      absl::SimpleAtoi(absl::StripAsciiWhitespace(*last), &last_serial)) {
    previous = std::max(previous, last_serial);
  }
  if (serial != 0) {
    policy->set_serial(serial);
  } else if (policy->serial() == 0) {
    policy->set_serial(previous + 1);
  }
  if (policy->serial() <= previous) {
    std::cerr << "tao-domain: warning: serial " << policy->serial()
              << " is not above the current policy's " << previous
              << "; hosts that accepted that one will refuse this one\n";
  }
  auto signed_policy = SignDomainPolicy(*policy, key);
  if (!signed_policy.ok()) return signed_policy.status();
  absl::Status written = WriteFileAtomically(
      absl::StrCat(domain_dir, "/policy.signed"), *signed_policy, 0644);
  if (!written.ok()) return written;
  if (policy->serial() > previous) {
    TAO_RETURN_IF_ERROR(
        WriteFileAtomically(absl::StrCat(domain_dir, "/policy.serial"),
                            absl::StrCat(policy->serial(), "\n"), 0644));
  }
  SignedPolicyFile result;
  result.domain_name = policy->domain_name();
  result.rules = policy->rules_size();
  result.serial = policy->serial();
  result.path = absl::StrCat(domain_dir, "/policy.signed");
  return result;
}

}  // namespace tao
