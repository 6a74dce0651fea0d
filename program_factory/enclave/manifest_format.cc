// FormatEnclaveManifest (manifest.h): a parsed manifest back to canonical
// text, every word quoted so that the lexer (manifest_lexer.h) reads it
// back to the same values.
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "program_factory/enclave/manifest.h"

namespace tao {

namespace {

// `value` as one quoted word: quote and backslash escaped, bytes below 0x20
// and 0x7f as \xHH, everything else as it is.
std::string Quote(absl::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20 || u == 0x7f) {
      absl::StrAppendFormat(&out, "\\x%02x", u);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace

std::string FormatEnclaveManifest(const EnclaveManifest& m) {
  std::string out = absl::StrCat("EXEC ", Quote(m.exec), "\n");
  for (const std::string& module : m.modules) {
    absl::StrAppend(&out, "MODULE ", Quote(module), "\n");
  }
  for (const EnclaveMount& mount : m.mounts) {
    switch (mount.kind) {
      case EnclaveMount::Kind::kTmpfs:
        absl::StrAppend(&out, "MOUNT tmpfs ", Quote(mount.enclave_path), "\n");
        break;
      case EnclaveMount::Kind::kBindReadOnly:
      case EnclaveMount::Kind::kBindReadWrite:
        absl::StrAppend(&out, "MOUNT ", Quote(mount.host_path), " ",
                        Quote(mount.enclave_path),
                        mount.kind == EnclaveMount::Kind::kBindReadOnly
                            ? " ro\n"
                            : " rw\n");
        break;
    }
  }
  if (m.threads != 0) absl::StrAppend(&out, "THREADS ", m.threads, "\n");
  if (m.enclave_size_mib != 0) {
    absl::StrAppend(&out, "ENCLAVE_SIZE ", m.enclave_size_mib, "\n");
  }
  absl::StrAppend(&out, "DEBUG ", m.debug ? "on" : "off", "\n");
  for (const std::string& arg : m.args) {
    absl::StrAppend(&out, "ARG ", Quote(arg), "\n");
  }
  for (const auto& [name, value] : m.env) {
    absl::StrAppend(&out, "ENV ", Quote(absl::StrCat(name, "=", value)), "\n");
  }
  return out;
}

}  // namespace tao
