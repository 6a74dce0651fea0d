// Reads what the dynamic loader would read from an ELF file's bytes: its
// interpreter (PT_INTERP) and its dynamic section (DT_NEEDED, DT_RUNPATH,
// DT_RPATH, DT_SONAME). It never runs the program; every offset and size is
// checked against the bytes before use. Only 64-bit little-endian ELF for
// this host's machine is read; others are refused by name.
#ifndef TAO_PROGRAM_FACTORY_ENCLAVE_ELF_READER_H_
#define TAO_PROGRAM_FACTORY_ENCLAVE_ELF_READER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tao {

// What an ELF file asks of the loader. Plain data.
struct ElfDependencies {
  uint16_t type = 0;                 // ET_EXEC or ET_DYN
  std::string interpreter;           // PT_INTERP; empty if there is none
  bool has_dynamic = false;          // there is a PT_DYNAMIC segment
  std::vector<std::string> needed;   // DT_NEEDED, in order
  std::vector<std::string> runpath;  // DT_RUNPATH, split at ':'
  std::vector<std::string> rpath;    // DT_RPATH, split at ':'
  std::string soname;                // DT_SONAME; empty if there is none
};

// Bounds on what one file may declare.
inline constexpr size_t kMaxElfProgramHeaders = 4096;
inline constexpr size_t kMaxElfNeeded = 1024;
inline constexpr size_t kMaxElfString = 4096;

// Parses `bytes` (the whole file). kFailedPrecondition for a well-formed
// ELF header of another class, byte order or machine (the loader skips such
// a file while it searches, and so does the library search);
// kInvalidArgument for anything else that is not a well-formed 64-bit
// little-endian ELF executable or shared object of this host's machine,
// with the reason. Thread-safe (pure).
absl::StatusOr<ElfDependencies> ReadElfDependencies(absl::string_view bytes);

}  // namespace tao

#endif  // TAO_PROGRAM_FACTORY_ENCLAVE_ELF_READER_H_
