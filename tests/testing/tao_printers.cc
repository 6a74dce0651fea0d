#include "tests/testing/tao_printers.h"

#include "tao/encoding.h"

namespace tao {

void PrintTo(const Principal& principal, std::ostream* os) {
  *os << principal.text();
}

void PrintTo(const Subprincipal& subprincipal, std::ostream* os) {
  *os << subprincipal.ToString();
}

void PrintTo(const VerifyingKey& key, std::ostream* os) {
  *os << "VerifyingKey(" << Base64UrlEncode(key.spki()) << ")";
}

void PrintTo(AttestationFailure failure, std::ostream* os) {
  *os << AttestationFailureName(failure);
}

}  // namespace tao
