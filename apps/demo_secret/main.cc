// demo-secret: a hosted program that keeps one secret across restarts. The
// first run draws a fresh secret from the host, seals it (SameProgram unless
// a policy is given) and stores the bundle; every later run unseals the
// bundle and prints the secret's digest, which stays the same.
//
//   demo-secret STATE_FILE [POLICY]
//
// Exit codes: 0 success, 1 the host refused (with its reason on stderr),
// 2 usage, 3 other failure.
#include <iostream>
#include <string>

#include "channels/rpc_tao.h"
#include "tao/crypto.h"
#include "tao/encoding.h"
#include "tao/file_util.h"

namespace {

int Run(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::cerr << "usage: demo-secret STATE_FILE [POLICY]\n";
    return 2;
  }
  const std::string state = argv[1];
  const std::string policy = argc == 3 ? argv[2] : "";
  auto tao = tao::TaoFromEnvironment();
  if (!tao.ok()) {
    std::cerr << "demo-secret: " << tao.status() << "\n";
    return 3;
  }
  auto name = (*tao)->GetTaoName();
  if (!name.ok()) {
    std::cerr << "demo-secret: " << name.status() << "\n";
    return 3;
  }
  std::cout << "my name: " << name->text() << "\n";
  auto existing = tao::ReadFileToString(state);
  if (existing.ok()) {
    auto unsealed = (*tao)->Unseal(*existing);
    if (!unsealed.ok()) {
      std::cerr << "demo-secret: unseal refused: " << unsealed.status() << "\n";
      return unsealed.status().code() == absl::StatusCode::kPermissionDenied
                 ? 1
                 : 3;
    }
    std::cout << "unsealed the secret: sha256:"
              << tao::HexEncode(tao::Sha256(unsealed->data.view())) << "\n"
              << "sealed by: " << unsealed->sealer.text() << "\n";
    return 0;
  }
  if (!absl::IsNotFound(existing.status())) {
    std::cerr << "demo-secret: " << existing.status() << "\n";
    return 3;
  }
  auto secret = (*tao)->GetRandomBytes(32);
  if (!secret.ok()) {
    std::cerr << "demo-secret: " << secret.status() << "\n";
    return 3;
  }
  tao::SecretString plaintext(*std::move(secret));
  auto bundle = (*tao)->Seal(plaintext.view(), policy);
  if (!bundle.ok()) {
    std::cerr << "demo-secret: seal refused: " << bundle.status() << "\n";
    return bundle.status().code() == absl::StatusCode::kPermissionDenied ? 1
                                                                         : 3;
  }
  absl::Status written = tao::WriteFileAtomically(state, *bundle, 0600);
  if (!written.ok()) {
    std::cerr << "demo-secret: " << written << "\n";
    return 3;
  }
  std::cout << "sealed a new secret: sha256:"
            << tao::HexEncode(tao::Sha256(plaintext.view())) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
