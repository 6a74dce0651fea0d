// tao-domain's publisher commands: `new-publisher` creates (or loads) a
// publisher key, `sign-program` signs a program's measurement with it as a
// product and version, and `measure` prints a program's measurement and
// the publisher its signature names (docs/program-signature.md). Each
// returns the tool's exit code. Single-threaded, like the tool.
#ifndef TAO_APPS_TAO_DOMAIN_PUBLISHER_H_
#define TAO_APPS_TAO_DOMAIN_PUBLISHER_H_

#include <string>
#include <vector>

namespace tao {
namespace domain_tool {

// new-publisher: the publisher key in --keys_dir, created if missing; prints
// its name.
int NewPublisher();

// sign-program PROGRAM (`args`, the command first): writes the signature
// of PROGRAM's measurement as --product, --product_version with the key in
// --keys_dir to --out (default PROGRAM.taosig). Usage error (2) without
// exactly one PROGRAM or without --product.
int SignProgramCommand(const std::vector<std::string>& args);

// measure PROGRAM: prints PROGRAM's measurement and, if PROGRAM.taosig is
// there, verifies it and prints the publisher it names (a signature that
// does not verify: refused, 1).
int Measure(const std::vector<std::string>& args);

}  // namespace domain_tool
}  // namespace tao

#endif  // TAO_APPS_TAO_DOMAIN_PUBLISHER_H_
