// Enclave manifests (from whoever may start programs): parsing never
// crashes; every refusal names where it is ("line L, column C: ..." or the
// manifest's size); what parses is what the format allows (an EXEC, normal
// absolute paths, limits in range) and prints as canonical text that parses
// back to the same manifest. The same input also runs under tight limits,
// so the bounds are reached.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "program_factory/enclave/manifest.h"

namespace {

void CheckRefusal(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kInvalidArgument) std::abort();
  if (!absl::StartsWith(status.message(), "line ") &&
      !absl::StartsWith(status.message(), "the manifest is ")) {
    std::abort();
  }
}

void CheckAccepted(const tao::EnclaveManifest& m,
                   const tao::ManifestLimits& limits) {
  if (!tao::IsNormalAbsolutePath(m.exec) || m.exec == "/") std::abort();
  for (const std::string& module : m.modules) {
    if (!tao::IsNormalAbsolutePath(module)) std::abort();
  }
  for (const tao::EnclaveMount& mount : m.mounts) {
    if (!tao::IsNormalAbsolutePath(mount.enclave_path) ||
        mount.enclave_path == "/") {
      std::abort();
    }
    bool tmpfs = mount.kind == tao::EnclaveMount::Kind::kTmpfs;
    if (tmpfs != mount.host_path.empty()) std::abort();
    if (!tmpfs && !tao::IsNormalAbsolutePath(mount.host_path)) std::abort();
  }
  if (m.threads > limits.max_threads) std::abort();
  if (m.enclave_size_mib > limits.max_enclave_size_mib ||
      (m.enclave_size_mib & (m.enclave_size_mib - 1)) != 0) {
    std::abort();
  }
  if (m.modules.size() > limits.max_modules ||
      m.mounts.size() > limits.max_mounts || m.args.size() > limits.max_args ||
      m.env.size() > limits.max_env) {
    std::abort();
  }
  for (const std::string& arg : m.args) {
    if (arg.find('\0') != std::string::npos) std::abort();
  }
  for (const auto& [name, value] : m.env) {
    if (name.empty() || absl::StartsWith(name, "LD_") ||
        value.find('\0') != std::string::npos) {
      std::abort();
    }
  }
  // Canonical text parses back to the same manifest (quoting can make a
  // line up to four times longer, so the re-parse allows that).
  tao::ManifestLimits roomy = limits;
  roomy.max_line_bytes = 4 * limits.max_line_bytes + 64;
  roomy.max_bytes = 8 * limits.max_bytes + 4096;
  std::string text = tao::FormatEnclaveManifest(m);
  auto again = tao::ParseEnclaveManifest(text, roomy);
  if (!again.ok() || !(*again == m)) std::abort();
  if (tao::FormatEnclaveManifest(*again) != text) std::abort();
}

void Run(const std::string& text, const tao::ManifestLimits& limits) {
  auto parsed = tao::ParseEnclaveManifest(text, limits);
  if (!parsed.ok()) {
    CheckRefusal(parsed.status());
    return;
  }
  CheckAccepted(*parsed, limits);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (64 << 10)) return 0;
  std::string text(reinterpret_cast<const char*>(data), size);
  Run(text, tao::ManifestLimits());
  tao::ManifestLimits tight;
  tight.max_bytes = 4096;
  tight.max_line_bytes = 64;
  tight.max_lines = 16;
  tight.max_modules = 2;
  tight.max_mounts = 2;
  tight.max_args = 2;
  tight.max_env = 2;
  tight.max_threads = 8;
  tight.max_enclave_size_mib = 64;
  Run(text, tight);
  return 0;
}
