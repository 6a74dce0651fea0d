// ParseEnclaveManifest (manifest.h): the directives, line by line, with
// every bound and every "given twice" check; the words of a line come from
// the lexer (manifest_lexer.h), the canonical text from manifest_format.cc.
#include "program_factory/enclave/manifest.h"

#include <map>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "program_factory/enclave/manifest_lexer.h"
#include "tao/status_macros.h"

namespace tao {

bool IsNormalAbsolutePath(absl::string_view path) {
  if (path.empty() || path[0] != '/') return false;
  for (char c : path) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  if (path == "/") return true;
  if (path.back() == '/') return false;
  for (absl::string_view part : absl::StrSplit(path.substr(1), '/')) {
    if (part.empty() || part == "." || part == "..") return false;
  }
  return true;
}

bool PathIsWithin(absl::string_view path, absl::string_view prefix) {
  if (prefix == "/") return true;
  if (!absl::StartsWith(path, prefix)) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

namespace {

// The lexer's words and errors (manifest_lexer.h), by short names.
using Token = internal::ManifestToken;
constexpr auto& ErrorAt = internal::ManifestErrorAt;

// The state of a parse: the manifest so far and where each once-only
// directive and each path was first given, for "given twice" errors.
class Parser {
 public:
  Parser(const ManifestLimits& limits) : limits_(limits) {}

  absl::Status Line(size_t line_no, size_t line_len,
                    const std::vector<Token>& t);
  absl::StatusOr<EnclaveManifest> Finish(size_t last_line);

 private:
  absl::Status Arity(size_t line_no, size_t line_len,
                     const std::vector<Token>& t, size_t min, size_t max,
                     absl::string_view usage);
  absl::Status Once(const Token& directive, size_t line_no);
  absl::StatusOr<std::string> FilePath(const Token& t, size_t line_no,
                                       absl::string_view what);
  absl::StatusOr<std::string> EnclavePath(const Token& t, size_t line_no);
  absl::StatusOr<uint32_t> Number(const Token& t, size_t line_no, uint32_t max);
  absl::Status Mount(size_t line_no, size_t line_len,
                     const std::vector<Token>& t);
  absl::Status Env(size_t line_no, const Token& t);

  const ManifestLimits& limits_;
  EnclaveManifest m_;
  std::map<std::string, size_t> once_;       // directive -> first line
  std::map<std::string, size_t> files_;      // EXEC/MODULE path -> line
  std::map<std::string, size_t> targets_;    // mount enclave path -> line
  std::map<std::string, size_t> env_names_;  // ENV name -> line
};

absl::Status Parser::Arity(size_t line_no, size_t line_len,
                           const std::vector<Token>& t, size_t min, size_t max,
                           absl::string_view usage) {
  if (t.size() - 1 < min) {
    return ErrorAt(line_no, line_len + 1,
                   absl::StrCat("missing argument; usage: ", usage));
  }
  if (t.size() - 1 > max) {
    return ErrorAt(
        line_no, t[max + 1].column,
        absl::StrCat("unexpected '", t[max + 1].value, "'; usage: ", usage));
  }
  return absl::OkStatus();
}

absl::Status Parser::Once(const Token& directive, size_t line_no) {
  auto [it, inserted] = once_.emplace(directive.value, line_no);
  if (!inserted) {
    return ErrorAt(line_no, directive.column,
                   absl::StrCat(directive.value, " given twice (first on line ",
                                it->second, ")"));
  }
  return absl::OkStatus();
}

// Checks what every path in a manifest must be; `what` names the field.
absl::Status CheckPath(absl::string_view path, size_t line_no, size_t column,
                       absl::string_view what) {
  if (path.empty()) return ErrorAt(line_no, column, "empty path");
  if (path[0] != '/') {
    return ErrorAt(
        line_no, column,
        absl::StrCat(what, " '", path, "' must be an absolute path"));
  }
  for (absl::string_view part : absl::StrSplit(path.substr(1), '/')) {
    if (part == "..") {
      return ErrorAt(
          line_no, column,
          absl::StrCat(what, " '", path, "': '..' is not allowed in paths"));
    }
  }
  if (!IsNormalAbsolutePath(path)) {
    return ErrorAt(line_no, column,
                   absl::StrCat(what, " '", path,
                                "' is not a normal path (no '.', empty "
                                "components, trailing '/' or control "
                                "characters)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Parser::FilePath(const Token& t, size_t line_no,
                                             absl::string_view what) {
  absl::string_view v = t.value;
  // Phoenix writes host files as URIs (file:/usr/bin/python); any other
  // scheme names something this host cannot read.
  if (absl::ConsumePrefix(&v, "file:")) {
  } else if (!v.empty() && v[0] != '/') {
    size_t colon = v.find(':');
    size_t slash = v.find('/');
    if (colon != absl::string_view::npos && colon < slash) {
      return ErrorAt(line_no, t.column,
                     absl::StrCat("URI scheme '", v.substr(0, colon + 1),
                                  "' is not supported: only local files (a "
                                  "path or file:<path>)"));
    }
  }
  TAO_RETURN_IF_ERROR(CheckPath(v, line_no, t.column, what));
  if (v == "/") {
    return ErrorAt(line_no, t.column, absl::StrCat(what, " must be a file"));
  }
  return std::string(v);
}

// Paths inside the enclave that the sandbox itself provides.
constexpr absl::string_view kReservedEnclavePaths[] = {"/proc", "/sys", "/dev"};

absl::StatusOr<std::string> Parser::EnclavePath(const Token& t,
                                                size_t line_no) {
  TAO_RETURN_IF_ERROR(CheckPath(t.value, line_no, t.column, "enclave path"));
  if (t.value == "/") {
    return ErrorAt(line_no, t.column,
                   "cannot mount over the enclave's root '/'");
  }
  for (absl::string_view reserved : kReservedEnclavePaths) {
    if (PathIsWithin(t.value, reserved)) {
      return ErrorAt(line_no, t.column,
                     absl::StrCat("enclave path '", t.value, "' is inside ",
                                  reserved, ", which the sandbox provides"));
    }
  }
  return t.value;
}

absl::StatusOr<uint32_t> Parser::Number(const Token& t, size_t line_no,
                                        uint32_t max) {
  if (t.value.empty() || t.value.size() > 10) {
    return ErrorAt(
        line_no, t.column,
        absl::StrCat("'", t.value, "' is not a number from 1 to ", max));
  }
  uint64_t v = 0;
  for (char c : t.value) {
    if (c < '0' || c > '9') {
      return ErrorAt(line_no, t.column,
                     absl::StrCat("'", t.value, "' is not a decimal number"));
    }
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v == 0 || v > max) {
    return ErrorAt(line_no, t.column,
                   absl::StrCat(v, " is out of range (1 to ", max, ")"));
  }
  return static_cast<uint32_t>(v);
}

// The host paths a bind mount may never expose: the whole host, and the
// kernel's interfaces, which give a program far more than files.
constexpr absl::string_view kForbiddenHostPaths[] = {"/proc", "/sys", "/dev"};

absl::Status Parser::Mount(size_t line_no, size_t line_len,
                           const std::vector<Token>& t) {
  constexpr absl::string_view kUsage =
      "MOUNT <host path> <enclave path> ro|rw, or MOUNT tmpfs <enclave path>";
  if (m_.mounts.size() >= limits_.max_mounts) {
    return ErrorAt(line_no, t[0].column,
                   absl::StrCat("more than ", limits_.max_mounts, " mounts"));
  }
  EnclaveMount mount;
  const Token* target = nullptr;
  if (t.size() >= 2 && t[1].value == "tmpfs") {
    TAO_RETURN_IF_ERROR(Arity(line_no, line_len, t, 2, 2, kUsage));
    mount.kind = EnclaveMount::Kind::kTmpfs;
    target = &t[2];
  } else {
    TAO_RETURN_IF_ERROR(Arity(line_no, line_len, t, 3, 4, kUsage));
    // Phoenix's types: chroot (a host directory; "chroot ro|rw" is the same
    // as "ro|rw" here) and four encrypted or remote file systems served by
    // its own file servers, which this host cannot provide.
    const Token& type = t[3];
    const Token* mode = &t[3];
    if (type.value == "nextfs" || type.value == "smdish" ||
        type.value == "smuf" || type.value == "smc") {
      return ErrorAt(line_no, type.column,
                     absl::StrCat("mount type '", type.value,
                                  "' (a Phoenix encrypted or remote file "
                                  "system) cannot be honoured by this host; "
                                  "use ro, rw or tmpfs"));
    }
    if (type.value == "chroot") {
      if (t.size() != 5) {
        return ErrorAt(line_no, t.size() < 5 ? line_len + 1 : t[5].column,
                       "usage: MOUNT <host path> <enclave path> chroot ro|rw");
      }
      mode = &t[4];
    } else if (t.size() != 4) {
      return ErrorAt(
          line_no, t[4].column,
          absl::StrCat("unexpected '", t[4].value, "'; usage: ", kUsage));
    }
    if (mode->value == "ro") {
      mount.kind = EnclaveMount::Kind::kBindReadOnly;
    } else if (mode->value == "rw") {
      mount.kind = EnclaveMount::Kind::kBindReadWrite;
    } else {
      return ErrorAt(
          line_no, mode->column,
          absl::StrCat("mount mode '", mode->value, "' is not ro or rw"));
    }
    TAO_ASSIGN_OR_RETURN(mount.host_path, FilePath(t[1], line_no, "host path"));
    for (absl::string_view forbidden : kForbiddenHostPaths) {
      if (PathIsWithin(mount.host_path, forbidden)) {
        return ErrorAt(line_no, t[1].column,
                       absl::StrCat("host path '", mount.host_path,
                                    "' is inside ", forbidden,
                                    ", which is never mounted into an "
                                    "enclave"));
      }
    }
    target = &t[2];
  }
  TAO_ASSIGN_OR_RETURN(mount.enclave_path, EnclavePath(*target, line_no));
  auto [it, inserted] = targets_.emplace(mount.enclave_path, line_no);
  if (!inserted) {
    return ErrorAt(line_no, target->column,
                   absl::StrCat("enclave path '", mount.enclave_path,
                                "' is already mounted on line ", it->second));
  }
  m_.mounts.push_back(std::move(mount));
  return absl::OkStatus();
}

absl::Status Parser::Env(size_t line_no, const Token& t) {
  if (m_.env.size() >= limits_.max_env) {
    return ErrorAt(line_no, t.column,
                   absl::StrCat("more than ", limits_.max_env, " ENV lines"));
  }
  size_t eq = t.value.find('=');
  std::string name = t.value.substr(0, eq);
  bool valid = eq != std::string::npos && !name.empty() &&
               !absl::ascii_isdigit(static_cast<unsigned char>(name[0]));
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') {
      valid = false;
    }
  }
  if (!valid) {
    return ErrorAt(line_no, t.column,
                   "usage: ENV NAME=VALUE (NAME: letters, digits and _, not "
                   "starting with a digit)");
  }
  if (name == "TAO_CHANNEL") {
    return ErrorAt(line_no, t.column,
                   "TAO_CHANNEL is set by the host, never by a manifest");
  }
  if (absl::StartsWith(name, "LD_")) {
    return ErrorAt(line_no, t.column,
                   absl::StrCat(name,
                                " would make the loader load files the "
                                "launch plan does not measure; list them as "
                                "MODULE instead"));
  }
  auto [it, inserted] = env_names_.emplace(name, line_no);
  if (!inserted) {
    return ErrorAt(line_no, t.column,
                   absl::StrCat("ENV ", name, " given twice (first on line ",
                                it->second, ")"));
  }
  m_.env.emplace_back(name, t.value.substr(eq + 1));
  return absl::OkStatus();
}

absl::Status Parser::Line(size_t line_no, size_t line_len,
                          const std::vector<Token>& t) {
  const Token& d = t[0];
  const std::string& name = d.value;
  if (name == "EXEC") {
    TAO_RETURN_IF_ERROR(Arity(line_no, line_len, t, 1, 1, "EXEC <path>"));
    TAO_RETURN_IF_ERROR(Once(d, line_no));
    TAO_ASSIGN_OR_RETURN(m_.exec, FilePath(t[1], line_no, "EXEC path"));
    auto [it, inserted] = files_.emplace(m_.exec, line_no);
    if (!inserted) {
      return ErrorAt(line_no, t[1].column,
                     absl::StrCat("'", m_.exec, "' is already a MODULE (line ",
                                  it->second, ")"));
    }
  } else if (name == "MODULE") {
    TAO_RETURN_IF_ERROR(Arity(line_no, line_len, t, 1, 1, "MODULE <path>"));
    if (m_.modules.size() >= limits_.max_modules) {
      return ErrorAt(
          line_no, d.column,
          absl::StrCat("more than ", limits_.max_modules, " modules"));
    }
    TAO_ASSIGN_OR_RETURN(std::string path,
                         FilePath(t[1], line_no, "MODULE path"));
    auto [it, inserted] = files_.emplace(path, line_no);
    if (!inserted) {
      return ErrorAt(
          line_no, t[1].column,
          absl::StrCat("'", path, "' is already listed on line ", it->second));
    }
    m_.modules.push_back(std::move(path));
  } else if (name == "MOUNT") {
    return Mount(line_no, line_len, t);
  } else if (name == "THREADS") {
    TAO_RETURN_IF_ERROR(Arity(line_no, line_len, t, 1, 2, "THREADS <number>"));
    if (t.size() == 3) {
      return ErrorAt(line_no, t[2].column,
                     t[2].value == "exitless"
                         ? "THREADS ... exitless (SGX exitless system calls) "
                           "cannot be honoured by this host"
                         : absl::StrCat("unexpected '", t[2].value,
                                        "'; usage: THREADS <number>"));
    }
    TAO_RETURN_IF_ERROR(Once(d, line_no));
    TAO_ASSIGN_OR_RETURN(m_.threads,
                         Number(t[1], line_no, limits_.max_threads));
  } else if (name == "ENCLAVE_SIZE") {
    TAO_RETURN_IF_ERROR(Arity(line_no, line_len, t, 1, 1,
                              "ENCLAVE_SIZE <MiB, a power of two>"));
    TAO_RETURN_IF_ERROR(Once(d, line_no));
    TAO_ASSIGN_OR_RETURN(m_.enclave_size_mib,
                         Number(t[1], line_no, limits_.max_enclave_size_mib));
    if ((m_.enclave_size_mib & (m_.enclave_size_mib - 1)) != 0) {
      return ErrorAt(
          line_no, t[1].column,
          absl::StrCat(m_.enclave_size_mib, " MiB is not a power of two"));
    }
  } else if (name == "DEBUG") {
    TAO_RETURN_IF_ERROR(Arity(line_no, line_len, t, 1, 1, "DEBUG on|off"));
    TAO_RETURN_IF_ERROR(Once(d, line_no));
    if (t[1].value != "on" && t[1].value != "off") {
      return ErrorAt(line_no, t[1].column,
                     absl::StrCat("'", t[1].value, "' is not on or off"));
    }
    m_.debug = t[1].value == "on";
  } else if (name == "ARG") {
    TAO_RETURN_IF_ERROR(Arity(line_no, line_len, t, 1, 1, "ARG <value>"));
    if (m_.args.size() >= limits_.max_args) {
      return ErrorAt(
          line_no, d.column,
          absl::StrCat("more than ", limits_.max_args, " ARG lines"));
    }
    m_.args.push_back(t[1].value);
  } else if (name == "ENV") {
    TAO_RETURN_IF_ERROR(Arity(line_no, line_len, t, 1, 1, "ENV NAME=VALUE"));
    return Env(line_no, t[1]);
  } else if (name == "CAFILE") {
    return ErrorAt(line_no, d.column,
                   "CAFILE (Phoenix's CA for its encrypted mounts) cannot be "
                   "honoured by this host");
  } else if (name == "TIMESERVER") {
    return ErrorAt(line_no, d.column,
                   "TIMESERVER (time system calls proxied to a remote "
                   "server) cannot be honoured by this host: an enclave "
                   "reads the host's clock");
  } else {
    return ErrorAt(line_no, d.column,
                   absl::StrCat("unknown directive '", name,
                                "' (known: EXEC, MODULE, MOUNT, THREADS, "
                                "ENCLAVE_SIZE, DEBUG, ARG, ENV)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<EnclaveManifest> Parser::Finish(size_t last_line) {
  if (m_.exec.empty()) {
    return ErrorAt(last_line, 1, "no EXEC line: a manifest names its program");
  }
  return std::move(m_);
}

}  // namespace

absl::StatusOr<EnclaveManifest> ParseEnclaveManifest(
    absl::string_view text, const ManifestLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the manifest is ", text.size(),
                     " bytes, more than the limit of ", limits.max_bytes));
  }
  Parser parser(limits);
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    if (line_no > limits.max_lines) {
      return ErrorAt(line_no, 1,
                     absl::StrCat("more than ", limits.max_lines, " lines"));
    }
    size_t nl = text.find('\n');
    absl::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == absl::string_view::npos ? text.size() : nl + 1);
    if (absl::EndsWith(line, "\r")) line.remove_suffix(1);
    if (line.size() > limits.max_line_bytes) {
      return ErrorAt(
          line_no, limits.max_line_bytes + 1,
          absl::StrCat("line longer than ", limits.max_line_bytes, " bytes"));
    }
    TAO_ASSIGN_OR_RETURN(std::vector<Token> tokens,
                         internal::TokenizeManifestLine(line, line_no));
    if (tokens.empty()) continue;
    TAO_RETURN_IF_ERROR(parser.Line(line_no, line.size(), tokens));
  }
  return parser.Finish(line_no == 0 ? 1 : line_no);
}

}  // namespace tao
