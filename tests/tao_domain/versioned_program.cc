// A tiny program built three times with a different PROGRAM_VERSION, so the
// three binaries have different bytes (and so different measurements). The
// upgrade-story tests sign each as a version of one product.
#include <cstdio>

#define TAO_STRINGIFY_INNER(x) #x
#define TAO_STRINGIFY(x) TAO_STRINGIFY_INNER(x)

#ifndef PROGRAM_VERSION
#error "build with -DPROGRAM_VERSION=<n>"
#endif

namespace {
// Kept in the binary as data, so each build differs in more than one immediate.
const char kBanner[] =
    "versioned_program version " TAO_STRINGIFY(PROGRAM_VERSION);
}  // namespace

int main() {
  std::printf("%s\n", kBanner);
  return 0;
}
