// Domain policies: the human text format and the signed binary form. Neither
// parser crashes; a signed policy verifies only if its bytes are the fixed
// fuzzing policy key's signature; decisions on anything that loads never
// crash and always carry a reason.
#include <cstdint>
#include <cstdlib>

#include "fuzz/fuzz_support.h"
#include "tao_domain/policy_io.h"
#include "tao_domain/tao_domain.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tao::fuzz::QuietProtobufLogs();
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto text_policy = tao::ParseDomainPolicyText(bytes);
  auto signed_policy = tao::VerifySignedDomainPolicy(
      bytes, tao::fuzz::PolicyKey().verifying_key());
  for (const auto* policy : {&text_policy, &signed_policy}) {
    if (!policy->ok()) continue;
    for (const char* op : {"Execute", "Unseal", "Admin:Start", "Bogus"}) {
      tao::Decision d = tao::DecideWithPolicy(
          **policy, tao::Caller::Program(tao::fuzz::ProgramName()), op, "");
      if (d.reason.empty()) std::abort();
      tao::Decision user = tao::DecideWithPolicy(
          **policy, tao::Caller::User(1000, {1000}), op, "x");
      if (user.reason.empty()) std::abort();
    }
    // Printing and re-parsing the text form gives an equivalent policy.
    auto again = tao::ParseDomainPolicyText(tao::DomainPolicyToText(**policy));
    if (!again.ok()) std::abort();
  }
  return 0;
}
