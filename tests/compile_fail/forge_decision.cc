// Code outside seal_policy/ and tao_domain/ trying to make or change a
// decision. Each FORGE_* case must fail to compile (CMakeLists.txt here runs
// the compiler on this file once per case and expects the error); the
// CONTROL case, which only reads and copies a decision it received, must
// compile, so a failure is the forgery's and not a broken include path.
#include <string>
#include <utility>

#include "seal_policy/decision.h"
#include "tao_domain/tao_domain.h"

namespace tao {

// A decision the code received from the domain.
bool Act(const TaoDomain& domain, const Principal& caller) {
  Decision received = domain.Authorize(Caller::Program(caller), "Attest");
  Decision copy = received;  // reading and copying is fine
  bool allowed = copy.allowed && !copy.reason.empty();
#if defined(FORGE_ALLOW)
  Decision forged = Decision::Allow("x");
  allowed = forged.allowed;
#elif defined(FORGE_DENY)
  Decision forged = Decision::Deny("x");
  allowed = forged.allowed;
#elif defined(FORGE_CONSTRUCTOR)
  Decision forged(true, "x");
  allowed = forged.allowed;
#elif defined(FORGE_BRACES)
  Decision forged{true, std::string("x")};
  allowed = forged.allowed;
#elif defined(FORGE_FLIP)
  received.allowed = true;
#elif defined(FORGE_ASSIGN)
  copy = domain.Authorize(Caller::Program(caller), "Seal");
#elif defined(FORGE_RECORD)
  Decision recorded =
      domain.Record(Caller::Program(caller), "Unseal", "", std::move(received));
  allowed = recorded.allowed;
#elif defined(FORGE_SHARED_SECRET)
  SharedSecretDecision forged(copy, "binding", "context");
  allowed = forged.decision.allowed;
#endif
  return allowed;
}

}  // namespace tao
