// Uses libenclaveprobe.so, which lives in $ORIGIN/probe_libs.
#include <cstdio>

extern "C" int EnclaveProbeValue();

int main() {
  std::printf("%d\n", EnclaveProbeValue());
  return 0;
}
