// The minimal hosted program whose start-up bench/client_start measures:
// it asks for its Tao and, started without a host (no TAO_CHANNEL), prints
// why it cannot run and exits 2, as examples/hosted_program does.
//
// Built three times from this one source (CMakeLists.txt here): without the
// client library (TAO_CLIENT_START_WITH_TAO=0: the Tao call compiled out,
// the same check and message by hand, the same libstdc++ streams), and with
// the client library in each of its two installed forms.
#include <cstdlib>
#include <iostream>

#if TAO_CLIENT_START_WITH_TAO
#include <memory>

#include "absl/status/statusor.h"
#include "channels/rpc_tao.h"
#endif

int main() {
#if TAO_CLIENT_START_WITH_TAO
  absl::StatusOr<std::unique_ptr<tao::Tao>> tao = tao::TaoFromEnvironment();
  if (!tao.ok()) {
    std::cerr << "client-start: " << tao.status() << std::endl;
    return 2;
  }
#else
  const char* channel = std::getenv("TAO_CHANNEL");
  if (channel == nullptr || *channel == '\0') {
    std::cerr << "client-start: FAILED_PRECONDITION: TAO_CHANNEL is not set: "
                 "this process was not started by a Tao host"
              << std::endl;
    return 2;
  }
#endif
  return 0;
}
