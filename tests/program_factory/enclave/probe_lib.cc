// A shared library found only through its user's DT_RUNPATH or DT_RPATH
// ($ORIGIN/probe_libs): the library search must find it as the loader does.
extern "C" int EnclaveProbeValue() { return 42; }
