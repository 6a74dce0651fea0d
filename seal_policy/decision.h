// Decision: allow or deny, always with a reason a person can act on.
#ifndef TAO_SEAL_POLICY_DECISION_H_
#define TAO_SEAL_POLICY_DECISION_H_

#include <string>
#include <utility>

namespace tao {

struct Decision {
  bool allowed = false;
  std::string reason;

  static Decision Allow(std::string reason) {
    return {true, std::move(reason)};
  }
  static Decision Deny(std::string reason) {
    return {false, std::move(reason)};
  }
};

}  // namespace tao

#endif  // TAO_SEAL_POLICY_DECISION_H_
