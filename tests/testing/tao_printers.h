// gtest printers for the core's value types, so that a failing EXPECT_EQ or
// IsOkAndHolds shows a name's text rather than raw object bytes. gtest finds
// them by argument-dependent lookup, so they live in namespace tao.
#ifndef TAO_TESTS_TESTING_TAO_PRINTERS_H_
#define TAO_TESTS_TESTING_TAO_PRINTERS_H_

#include <ostream>

#include "tao/attestation.h"
#include "tao/keys.h"
#include "tao/principal.h"

namespace tao {

void PrintTo(const Principal& principal, std::ostream* os);
void PrintTo(const Subprincipal& subprincipal, std::ostream* os);
void PrintTo(const VerifyingKey& key, std::ostream* os);
void PrintTo(AttestationFailure failure, std::ostream* os);

}  // namespace tao

#endif  // TAO_TESTS_TESTING_TAO_PRINTERS_H_
