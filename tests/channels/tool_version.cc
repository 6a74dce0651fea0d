// The one part of tao-client-tool that differs between its builds, so that
// each build has its own measurement.
#ifndef TOOL_VERSION
#define TOOL_VERSION "dev"
#endif
extern const char kToolVersion[];
const char kToolVersion[] = "tao-client-tool " TOOL_VERSION;
