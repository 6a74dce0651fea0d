// The enclave manifest's lexer: splits one line into words and words into
// their values (bare bytes and "quoted" parts with \\ \" \n \t \xHH escapes,
// "#" comments), and makes the "line L, column C: " errors every manifest
// message starts with. The directives' parser (manifest.cc) is its only
// user. Pure functions; thread-safe.
#ifndef TAO_PROGRAM_FACTORY_ENCLAVE_MANIFEST_LEXER_H_
#define TAO_PROGRAM_FACTORY_ENCLAVE_MANIFEST_LEXER_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tao {
namespace internal {

// One word of a line: bare (no space, no quote) or "quoted" with escapes.
struct ManifestToken {
  std::string value;
  size_t column = 0;  // 1-based byte column of its first byte
};

// kInvalidArgument "line L, column C: <what>": every manifest error.
absl::Status ManifestErrorAt(size_t line, size_t column,
                             absl::string_view what);

// Splits one line (without its newline) into tokens; "#" at the start of a
// token starts a comment that runs to the end of the line. An empty result
// for a blank or comment line. kInvalidArgument (ManifestErrorAt) for a NUL
// or control byte (tab aside), an unterminated quote, an unknown escape or
// an escaped NUL.
absl::StatusOr<std::vector<ManifestToken>> TokenizeManifestLine(
    absl::string_view line, size_t line_no);

}  // namespace internal
}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_ENCLAVE_MANIFEST_LEXER_H_
