// Fixed objects for the fuzzers and their seed generator: keys, a host, a
// domain that allows everything. The keys are public test material, for
// fuzzing only: seeds signed with them verify, so the fuzzers reach past the
// signature checks.
#ifndef TAO_FUZZ_FUZZ_SUPPORT_H_
#define TAO_FUZZ_FUZZ_SUPPORT_H_

#include <memory>
#include <string>

#include "tao/keys.h"
#include "tao/principal.h"
#include "tao/tao_host.h"
#include "tao_domain/tao_domain.h"

namespace tao {
namespace fuzz {

// Silences protobuf's own error log (it logs every string field with bad
// UTF-8), which would flood the fuzzer's output. Call once; cheap after.
void QuietProtobufLogs();

// The fixed host signing key, domain policy key and publisher key.
const SigningKey& HostKey();
const SigningKey& PolicyKey();
const SigningKey& PublisherKey();

// A host built from HostKey() and a fixed sealing secret. Never null.
const TaoHost& Host();
// A domain whose signed policy (by PolicyKey()) grants every operation to
// every program of Host(); no audit trail.
TaoDomain& Domain();
// The signed policy Domain() was made from.
const std::string& SignedAllowAllPolicy();

// A program name under Host(): Program(sha256 of "fuzz").Args(...).
const Principal& ProgramName();
// The measurement program signatures are checked against.
const std::string& Measurement();

}  // namespace fuzz
}  // namespace tao

#endif  // TAO_FUZZ_FUZZ_SUPPORT_H_
