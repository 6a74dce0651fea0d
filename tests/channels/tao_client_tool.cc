// tao-client-tool: a hosted program for the listen loop's tests. It links the
// client library only and drives one Tao call (or a short sequence) per run:
//
//   tao-client-tool seal FILE [POLICY]   seal fixed data, write the bundle
//   tao-client-tool unseal FILE          print the data and the sealer
//   tao-client-tool name                 print the name
//   tao-client-tool extend SUB [CMD...]  ExtendTaoName(SUB), print the new
//                                        name, then run CMD... under it
//   tao-client-tool extend-from FILE [CMD...]  the same, SUB read from FILE
//   tao-client-tool keep FILE [POLICY]   seal if FILE is missing, else unseal
//   tao-client-tool attest               have a statement attested
//   tao-client-tool secret POLICY [...]  print GetSharedSecret(32, POLICY)
//   tao-client-tool random N             print the size of GetRandomBytes(N)
//   tao-client-tool seal-big N FILE      seal N bytes, then GetTaoName (exit 4
//                                        if the seal was refused cleanly)
//
// Extra arguments after the required ones are ignored (they change the
// program's Args(...) but not what it does). Every run prints
// "version: <TOOL_VERSION>" first; the tool is built several times with
// different versions so that the builds differ in bytes.
//
// Exit codes: 0 success, 1 PERMISSION_DENIED (reason on stdout), 2 usage,
// 3 any other error (the status on stdout).
#include <iostream>
#include <string>

#include "absl/strings/numbers.h"
#include "channels/rpc_tao.h"
#include "tao/crypto.h"
#include "tao/encoding.h"
#include "tao/file_util.h"

extern const char kToolVersion[];

namespace {

constexpr char kSealedData[] = "tao-client-tool sealed data";

int Fail(const absl::Status& status) {
  std::cout << "error: " << status << std::endl;
  return status.code() == absl::StatusCode::kPermissionDenied ? 1 : 3;
}

int Usage() {
  std::cout << "usage: tao-client-tool "
               "seal|unseal|name|extend|attest|secret|random ..."
            << std::endl;
  return 2;
}

// Runs the command in argv[0..argc).
int Command(tao::Tao& tao, int argc, char** argv) {
  if (argc < 1) return Usage();
  const std::string command = argv[0];
  if (command == "name") {
    auto name = tao.GetTaoName();
    if (!name.ok()) return Fail(name.status());
    std::cout << "name: " << name->text() << std::endl;
    return 0;
  }
  if (command == "seal" && argc >= 2) {
    auto bundle = tao.Seal(kSealedData, argc >= 3 ? argv[2] : "");
    if (!bundle.ok()) return Fail(bundle.status());
    absl::Status written = tao::WriteFileAtomically(argv[1], *bundle, 0600);
    if (!written.ok()) return Fail(written);
    std::cout << "sealed " << bundle->size() << " bytes" << std::endl;
    return 0;
  }
  if (command == "seal-big" && argc >= 3) {
    // Seals N bytes, then checks that the channel still answers.
    size_t n = 0;
    if (!absl::SimpleAtoi(argv[1], &n)) return Usage();
    auto bundle = tao.Seal(std::string(n, 'x'), "");
    if (bundle.ok()) {
      absl::Status written = tao::WriteFileAtomically(argv[2], *bundle, 0600);
      if (!written.ok()) return Fail(written);
      std::cout << "sealed " << bundle->size() << " bytes" << std::endl;
    } else {
      std::cout << "seal refused: " << bundle.status() << std::endl;
    }
    auto name = tao.GetTaoName();
    if (!name.ok()) return Fail(name.status());
    std::cout << "name after: " << name->text() << std::endl;
    return bundle.ok() ? 0 : 4;
  }
  if (command == "unseal" && argc >= 2) {
    auto bundle = tao::ReadFileToString(argv[1]);
    if (!bundle.ok()) return Fail(bundle.status());
    auto unsealed = tao.Unseal(*bundle);
    if (!unsealed.ok()) return Fail(unsealed.status());
    std::cout << "data: " << std::string(unsealed->data.view()) << std::endl
              << "policy: " << unsealed->policy << std::endl
              << "sealer: " << unsealed->sealer.text() << std::endl;
    return 0;
  }
  if (command == "keep" && argc >= 2) {
    // Like demo-secret: seal the first time, unseal every later time, with
    // the same args each time.
    if (tao::PathExists(argv[1])) {
      char unseal[] = "unseal";
      char* args[] = {unseal, argv[1]};
      return Command(tao, 2, args);
    }
    char seal[] = "seal";
    char* args[] = {seal, argv[1], argc >= 3 ? argv[2] : nullptr};
    return Command(tao, argc >= 3 ? 3 : 2, args);
  }
  if ((command == "extend" || command == "extend-from") && argc >= 2) {
    std::string text = argv[1];
    if (command == "extend-from") {
      auto contents = tao::ReadFileToString(argv[1]);
      if (!contents.ok()) return Fail(contents.status());
      text = *contents;
    }
    auto sub = tao::Subprincipal::Parse(text);
    if (!sub.ok()) return Fail(sub.status());
    absl::Status extended = tao.ExtendTaoName(*sub);
    if (!extended.ok()) return Fail(extended);
    auto name = tao.GetTaoName();
    if (!name.ok()) return Fail(name.status());
    std::cout << "name: " << name->text() << std::endl;
    // Then whatever follows, under the longer name.
    return argc > 2 ? Command(tao, argc - 2, argv + 2) : 0;
  }
  if (command == "attest") {
    tao::Statement statement;
    statement.mutable_predicate()->set_name("hello");
    statement.mutable_predicate()->add_args("tao-client-tool");
    auto attestation = tao.Attest(statement);
    if (!attestation.ok()) return Fail(attestation.status());
    std::cout << "attested " << attestation->serialized_statement().size()
              << " statement bytes" << std::endl;
    return 0;
  }
  if (command == "secret" && argc >= 2) {
    auto secret = tao.GetSharedSecret(32, argv[1]);
    if (!secret.ok()) return Fail(secret.status());
    std::cout << "secret: " << tao::HexEncode(secret->view()) << std::endl;
    return 0;
  }
  if (command == "random" && argc >= 2) {
    size_t n = 0;
    if (!absl::SimpleAtoi(argv[1], &n)) return Usage();
    auto bytes = tao.GetRandomBytes(n);
    if (!bytes.ok()) return Fail(bytes.status());
    std::cout << "random: " << bytes->size() << " bytes" << std::endl;
    return 0;
  }
  return Usage();
}

int Run(int argc, char** argv) {
  std::cout << "version: " << kToolVersion << std::endl;
  if (argc < 2) return Usage();
  auto tao = tao::TaoFromEnvironment();
  if (!tao.ok()) return Fail(tao.status());
  return Command(**tao, argc - 1, argv + 1);
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
