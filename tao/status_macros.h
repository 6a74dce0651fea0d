// Status propagation macros shaped like asylo/util/status_macros.h. Debian's
// Abseil 20220623 ships none of its own.
#ifndef TAO_TAO_STATUS_MACROS_H_
#define TAO_TAO_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Evaluates `expr` (an absl::Status); returns it from the enclosing function
// if it is not OK.
#define TAO_RETURN_IF_ERROR(expr)                    \
  do {                                               \
    ::absl::Status tao_status_macro_value_ = (expr); \
    if (!tao_status_macro_value_.ok()) {             \
      return tao_status_macro_value_;                \
    }                                                \
  } while (false)

#define TAO_STATUS_MACROS_CONCAT_INNER_(x, y) x##y
#define TAO_STATUS_MACROS_CONCAT_(x, y) TAO_STATUS_MACROS_CONCAT_INNER_(x, y)

// Evaluates `rexpr` (an absl::StatusOr<T>); returns its status from the
// enclosing function if it is not OK, otherwise moves its value into `lhs`,
// which may be a declaration (`auto x`) or an existing variable.
#define TAO_ASSIGN_OR_RETURN(lhs, rexpr) \
  TAO_ASSIGN_OR_RETURN_IMPL_(            \
      TAO_STATUS_MACROS_CONCAT_(tao_statusor_, __LINE__), lhs, rexpr)

#define TAO_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                               \
  if (!statusor.ok()) {                                  \
    return std::move(statusor).status();                 \
  }                                                      \
  lhs = std::move(statusor).value()

#endif  // TAO_TAO_STATUS_MACROS_H_
