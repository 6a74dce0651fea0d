// tao-domain's publisher commands (publisher.h): new-publisher,
// sign-program and measure.
#include "apps/tao_domain/publisher.h"

#include <iostream>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "apps/common/cli.h"
#include "apps/common/json.h"
#include "apps/tao_domain/tool.h"
#include "tao/crypto.h"
#include "tao/encoding.h"
#include "tao/file_util.h"
#include "tao/principal.h"
#include "tao/program_signature.h"

namespace tao {
namespace domain_tool {
namespace {

// The SHA-256 of the whole file at `path` (at most 4 GiB).
absl::StatusOr<std::string> MeasureFile(const std::string& path) {
  auto bytes = ReadFileToString(path, size_t{4} << 30);
  if (!bytes.ok()) return bytes.status();
  return Sha256(*bytes);
}

}  // namespace

int NewPublisher() {
  bool created = false;
  auto keys = OpenKeys(FLAGS_keys_dir, "publisher", true, &created);
  if (!keys.ok()) return Fail(keys.status());
  std::cerr << (created ? "created a publisher key in "
                        : "loaded the publisher key from ")
            << FLAGS_keys_dir << "\n";
  std::string name =
      Principal::ForKey(keys->signing_key.verifying_key()).text();
  Print(JsonObject().Add("publisher", name).Add("created_key", created),
        absl::StrCat(name, "\n"));
  return kExitOk;
}

int SignProgramCommand(const std::vector<std::string>& args) {
  if (args.size() != 2 || FLAGS_product.empty()) {
    return UsageError(
        "usage: tao-domain --keys_dir=K --product=P --product_version=N "
        "sign-program PROGRAM",
        FLAGS_json);
  }
  bool created = false;
  auto keys = OpenKeys(FLAGS_keys_dir, "publisher", false, &created);
  if (!keys.ok()) return Fail(keys.status());
  auto measurement = MeasureFile(args[1]);
  if (!measurement.ok()) return Fail(measurement.status());
  auto signature = SignProgram(keys->signing_key, *measurement, FLAGS_product,
                               FLAGS_product_version);
  if (!signature.ok()) return Fail(signature.status());
  std::string out = FLAGS_out.empty()
                        ? absl::StrCat(args[1], kProgramSignatureSuffix)
                        : FLAGS_out;
  absl::Status written = WriteFileAtomically(out, *signature, 0644);
  if (!written.ok()) return Fail(written);
  Print(
      JsonObject()
          .Add("measurement", absl::StrCat("sha256:", HexEncode(*measurement)))
          .Add("product", FLAGS_product)
          .Add("product_version", static_cast<uint64_t>(FLAGS_product_version))
          .Add("file", out),
      absl::StrCat("signed sha256:", HexEncode(*measurement), " as '",
                   FLAGS_product, "' version ", FLAGS_product_version, " into ",
                   out, "\n"));
  return kExitOk;
}

int Measure(const std::vector<std::string>& args) {
  if (args.size() != 2) {
    return UsageError("usage: tao-domain measure PROGRAM", FLAGS_json);
  }
  auto measurement = MeasureFile(args[1]);
  if (!measurement.ok()) return Fail(measurement.status());
  std::string program =
      absl::StrCat("Program(sha256:", HexEncode(*measurement), ")");
  std::string sig_path = absl::StrCat(args[1], kProgramSignatureSuffix);
  JsonObject json;
  json.Add("measurement", absl::StrCat("sha256:", HexEncode(*measurement)))
      .Add("program", program)
      .Add("signature_file", sig_path);
  auto signature = ReadFileToString(sig_path, kMaxProgramSignatureSize);
  if (absl::IsNotFound(signature.status())) {
    Print(json.Add("signed", false).Add("publisher", ""),
          absl::StrCat(program, "\n(no signature at ", sig_path, ")\n"));
    return kExitOk;
  }
  if (!signature.ok()) return Fail(signature.status());
  auto claim = VerifyProgramSignature(*signature, *measurement);
  if (!claim.ok()) return FailVerification(claim.status());
  auto sub = PublisherSubprincipal(*claim);
  if (!sub.ok()) return Fail(sub.status());
  Print(json.Add("signed", true).Add("publisher", sub->ToString()),
        absl::StrCat(program, "\n", sub->ToString(), "\n"));
  return kExitOk;
}

}  // namespace domain_tool
}  // namespace tao
