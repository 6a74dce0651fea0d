// hosted-hello: the smallest hosted program, built only against the
// installed client library (CMake package TaoClient or pkg-config
// tao-client; docs/client-library.md shows both).
//
// Started by a Tao host, it prints its name, seals a string under the
// default policy (empty: SameProgram, so only this exact program with these
// arguments can unseal it), unseals the bundle and checks that the same
// bytes and its own name come back. Started by anything else, it says why it
// cannot run: TAO_CHANNEL is not set.
//
//   hosted-hello [TEXT]
//
// Exit codes: 0 success, 1 the host refused (PERMISSION_DENIED, reason on
// stderr), 2 no usable channel (not started by a Tao host), 3 any other
// failure.
#include <iostream>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "channels/rpc_tao.h"

namespace {

int Fail(const char* what, const absl::Status& status) {
  std::cerr << "hosted-hello: " << what << ": " << status << std::endl;
  return status.code() == absl::StatusCode::kPermissionDenied ? 1 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string text = argc > 1 ? argv[1] : "hello from a hosted program";

  // One environment variable (TAO_CHANNEL=pipe:R,W or socket:FD) names the
  // channel to the host; without it there is no Tao.
  absl::StatusOr<std::unique_ptr<tao::Tao>> tao = tao::TaoFromEnvironment();
  if (!tao.ok()) {
    std::cerr << "hosted-hello: " << tao.status() << std::endl;
    return 2;
  }

  absl::StatusOr<tao::Principal> name = (*tao)->GetTaoName();
  if (!name.ok()) return Fail("GetTaoName", name.status());
  std::cout << "my name: " << name->text() << std::endl;

  absl::StatusOr<std::string> bundle = (*tao)->Seal(text, /*policy=*/"");
  if (!bundle.ok()) return Fail("Seal", bundle.status());
  std::cout << "sealed " << text.size() << " bytes into a " << bundle->size()
            << "-byte bundle" << std::endl;

  absl::StatusOr<tao::Unsealed> unsealed = (*tao)->Unseal(*bundle);
  if (!unsealed.ok()) return Fail("Unseal", unsealed.status());
  if (unsealed->data.view() != text || unsealed->sealer != *name) {
    std::cerr << "hosted-hello: Unseal returned something else than was sealed"
              << std::endl;
    return 3;
  }
  std::cout << "unsealed: " << unsealed->data.view() << std::endl
            << "sealed by: " << unsealed->sealer.text() << std::endl;
  return 0;
}
