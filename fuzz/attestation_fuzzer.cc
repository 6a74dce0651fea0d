// Attestations from peers: verification never crashes, always names a
// reason on failure, and anything that verifies really is rooted in the
// fixed host key with a speaker under a verified chain.
#include <cstdint>
#include <cstdlib>

#include "fuzz/fuzz_support.h"
#include "tao/attestation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tao::fuzz::QuietProtobufLogs();
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  static tao::FixedClock* clock =
      new tao::FixedClock(absl::FromUnixSeconds(1800000000));
  static tao::AttestationVerifier* verifier = new tao::AttestationVerifier(
      {tao::fuzz::HostKey().verifying_key()}, *clock);
  auto verified = verifier->VerifySerialized(bytes);
  if (verified.ok()) {
    if (verified->root !=
        tao::Principal::ForKey(tao::fuzz::HostKey().verifying_key())) {
      std::abort();
    }
    if (verified->not_before > verified->not_after) std::abort();
    (void)tao::DescribeStatement(verified->statement);
  } else if (!tao::GetAttestationFailure(verified.status()).has_value()) {
    std::abort();
  }
  return 0;
}
