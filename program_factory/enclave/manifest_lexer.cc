// The enclave manifest's lexer (manifest_lexer.h): bytes of a line into
// words, quotes and escapes resolved, every position kept for the errors.
#include "program_factory/enclave/manifest_lexer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tao {
namespace internal {

absl::Status ManifestErrorAt(size_t line, size_t column,
                             absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("line ", line, ", column ", column, ": ", what));
}

namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads the quoted part that starts at line[*i] (a '"') into `value`,
// leaving *i just past its closing quote.
absl::Status ReadQuoted(absl::string_view line, size_t line_no, size_t* i,
                        std::string* value) {
  const size_t open = *i;
  size_t j = open + 1;
  while (j < line.size()) {
    char q = line[j];
    if (q == '"') {
      *i = j + 1;
      return absl::OkStatus();
    }
    if (q != '\\') {
      value->push_back(q);
      ++j;
      continue;
    }
    if (j + 1 >= line.size()) break;
    char e = line[j + 1];
    if (e == '\\' || e == '"') {
      value->push_back(e);
      j += 2;
    } else if (e == 'n') {
      value->push_back('\n');
      j += 2;
    } else if (e == 't') {
      value->push_back('\t');
      j += 2;
    } else if (e == 'x' && j + 3 < line.size() && HexDigit(line[j + 2]) >= 0 &&
               HexDigit(line[j + 3]) >= 0) {
      int v = HexDigit(line[j + 2]) * 16 + HexDigit(line[j + 3]);
      if (v == 0) {
        return ManifestErrorAt(line_no, j + 1,
                               "\\x00: a NUL cannot be part of a value");
      }
      value->push_back(static_cast<char>(v));
      j += 4;
    } else {
      return ManifestErrorAt(line_no, j + 1,
                             "unknown escape (known: \\\\ \\\" \\n \\t \\xHH)");
    }
  }
  return ManifestErrorAt(line_no, open + 1, "unterminated quote");
}

}  // namespace

// Splits one line (without its newline) into tokens; "#" at the start of a
// token starts a comment that runs to the end of the line.
absl::StatusOr<std::vector<ManifestToken>> TokenizeManifestLine(
    absl::string_view line, size_t line_no) {
  std::vector<ManifestToken> tokens;
  size_t i = 0;
  for (size_t j = 0; j < line.size(); ++j) {
    unsigned char u = static_cast<unsigned char>(line[j]);
    if (u == 0) return ManifestErrorAt(line_no, j + 1, "NUL byte");
    if ((u < 0x20 && u != '\t') || u == 0x7f) {
      return ManifestErrorAt(line_no, j + 1,
                             absl::StrFormat("control character 0x%02x", u));
    }
  }
  while (i < line.size()) {
    char c = line[i];
    if (c == ' ' || c == '\t') {
      ++i;
      continue;
    }
    if (c == '#') break;
    // A word runs to the next space or tab; it may mix bare bytes and
    // quoted parts, as in a shell: NAME="two words" is one word.
    ManifestToken token;
    token.column = i + 1;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') {
      if (line[i] != '"') {
        token.value.push_back(line[i]);
        ++i;
        continue;
      }
      absl::Status quoted = ReadQuoted(line, line_no, &i, &token.value);
      if (!quoted.ok()) return quoted;
    }
    tokens.push_back(std::move(token));
  }
  return tokens;
}

}  // namespace internal
}  // namespace tao
