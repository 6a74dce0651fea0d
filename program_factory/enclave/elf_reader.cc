#include "program_factory/enclave/elf_reader.h"

#include <elf.h>

#include <cstring>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tao {
namespace {

#if defined(__x86_64__)
constexpr uint16_t kHostMachine = EM_X86_64;
constexpr absl::string_view kHostMachineName = "x86-64";
#elif defined(__aarch64__)
constexpr uint16_t kHostMachine = EM_AARCH64;
constexpr absl::string_view kHostMachineName = "aarch64";
#else
#error "the ELF reader knows x86-64 and aarch64 only"
#endif

absl::Status Malformed(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("malformed ELF: ", why));
}

// True if [offset, offset + size) lies inside a buffer of `total` bytes,
// without overflow.
bool InBounds(uint64_t offset, uint64_t size, uint64_t total) {
  return offset <= total && size <= total - offset;
}

// Copies a T from `bytes` at `offset` (no alignment assumed). The caller has
// checked the bounds.
template <typename T>
T Load(absl::string_view bytes, uint64_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

// The file offset of virtual address [addr, addr + size) through the PT_LOAD
// segment that holds it in its file-backed part.
std::optional<uint64_t> VaddrToOffset(const std::vector<Elf64_Phdr>& phdrs,
                                      uint64_t addr, uint64_t size) {
  for (const Elf64_Phdr& ph : phdrs) {
    if (ph.p_type != PT_LOAD) continue;
    if (addr < ph.p_vaddr) continue;
    uint64_t delta = addr - ph.p_vaddr;
    if (!InBounds(delta, size, ph.p_filesz)) continue;
    return ph.p_offset + delta;
  }
  return std::nullopt;
}

// The string at `index` in the string table [table, table + table_size) of
// `bytes`; it must end with a NUL inside the table.
absl::StatusOr<std::string> TableString(absl::string_view bytes, uint64_t table,
                                        uint64_t table_size, uint64_t index,
                                        absl::string_view tag) {
  if (index >= table_size) {
    return Malformed(absl::StrCat(tag, " points past the string table"));
  }
  absl::string_view rest = bytes.substr(table + index, table_size - index);
  size_t nul = rest.find('\0');
  if (nul == absl::string_view::npos) {
    return Malformed(absl::StrCat(tag, " is not NUL-terminated"));
  }
  if (nul > kMaxElfString) {
    return Malformed(absl::StrCat(tag, " is longer than ", kMaxElfString));
  }
  return std::string(rest.substr(0, nul));
}

std::vector<std::string> SplitPath(absl::string_view list) {
  std::vector<std::string> out;
  for (absl::string_view dir : absl::StrSplit(list, ':')) {
    out.emplace_back(dir);
  }
  return out;
}

}  // namespace

absl::StatusOr<ElfDependencies> ReadElfDependencies(absl::string_view bytes) {
  if (bytes.size() < EI_NIDENT ||
      std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0) {
    return absl::InvalidArgumentError("not an ELF file (no \\x7fELF magic)");
  }
  const unsigned char* ident =
      reinterpret_cast<const unsigned char*>(bytes.data());
  if (ident[EI_CLASS] != ELFCLASS64) {
    return absl::FailedPreconditionError(absl::StrCat(
        ident[EI_CLASS] == ELFCLASS32 ? "a 32-bit ELF file (ELFCLASS32)"
                                      : "an ELF file of unknown class",
        ": only 64-bit little-endian ELF is supported"));
  }
  if (ident[EI_DATA] != ELFDATA2LSB) {
    return absl::FailedPreconditionError(absl::StrCat(
        ident[EI_DATA] == ELFDATA2MSB ? "a big-endian ELF file (ELFDATA2MSB)"
                                      : "an ELF file of unknown byte order",
        ": only 64-bit little-endian ELF is supported"));
  }
  if (bytes.size() < sizeof(Elf64_Ehdr)) {
    return Malformed("shorter than its header");
  }
  const Elf64_Ehdr eh = Load<Elf64_Ehdr>(bytes, 0);
  if (ident[EI_VERSION] != EV_CURRENT || eh.e_version != EV_CURRENT) {
    return Malformed("unknown ELF version");
  }
  if (eh.e_machine != kHostMachine) {
    return absl::FailedPreconditionError(
        absl::StrCat("an ELF file for machine ", eh.e_machine,
                     ", not this host's (", kHostMachineName, ")"));
  }
  if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) {
    return absl::InvalidArgumentError(
        absl::StrCat("ELF type ", eh.e_type,
                     " is neither an executable nor a shared "
                     "object"));
  }
  ElfDependencies out;
  out.type = eh.e_type;
  if (eh.e_phnum == PN_XNUM || eh.e_phnum > kMaxElfProgramHeaders) {
    return Malformed(
        absl::StrCat("too many program headers (", eh.e_phnum, ")"));
  }
  if (eh.e_phnum > 0 && eh.e_phentsize != sizeof(Elf64_Phdr)) {
    return Malformed(absl::StrCat("program header size ", eh.e_phentsize));
  }
  uint64_t ph_bytes = uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr);
  if (!InBounds(eh.e_phoff, ph_bytes, bytes.size())) {
    return Malformed("program headers lie past the end of the file");
  }
  std::vector<Elf64_Phdr> phdrs;
  phdrs.reserve(eh.e_phnum);
  for (size_t i = 0; i < eh.e_phnum; ++i) {
    phdrs.push_back(
        Load<Elf64_Phdr>(bytes, eh.e_phoff + i * sizeof(Elf64_Phdr)));
  }
  const Elf64_Phdr* dynamic = nullptr;
  bool seen_interp = false;
  for (const Elf64_Phdr& ph : phdrs) {
    if (ph.p_type == PT_LOAD || ph.p_type == PT_INTERP ||
        ph.p_type == PT_DYNAMIC) {
      if (!InBounds(ph.p_offset, ph.p_filesz, bytes.size())) {
        return Malformed("a segment lies past the end of the file");
      }
    }
    if (ph.p_type == PT_INTERP) {
      if (seen_interp) return Malformed("two PT_INTERP segments");
      seen_interp = true;
      absl::string_view interp = bytes.substr(ph.p_offset, ph.p_filesz);
      if (interp.empty() || interp.back() != '\0' ||
          interp.find('\0') != interp.size() - 1 ||
          interp.size() > kMaxElfString) {
        return Malformed("PT_INTERP is not one NUL-terminated path");
      }
      out.interpreter = std::string(interp.substr(0, interp.size() - 1));
      if (out.interpreter.empty()) return Malformed("empty PT_INTERP");
    } else if (ph.p_type == PT_DYNAMIC) {
      if (dynamic != nullptr) return Malformed("two PT_DYNAMIC segments");
      dynamic = &ph;
    }
  }
  if (dynamic == nullptr) return out;
  out.has_dynamic = true;

  // The dynamic section: entries up to DT_NULL (or the segment's end).
  std::vector<uint64_t> needed;
  std::optional<uint64_t> strtab, strsz, runpath, rpath, soname;
  size_t count = dynamic->p_filesz / sizeof(Elf64_Dyn);
  for (size_t i = 0; i < count; ++i) {
    Elf64_Dyn d =
        Load<Elf64_Dyn>(bytes, dynamic->p_offset + i * sizeof(Elf64_Dyn));
    if (d.d_tag == DT_NULL) break;
    auto set_once = [&](std::optional<uint64_t>* field,
                        absl::string_view tag) -> absl::Status {
      if (field->has_value()) return Malformed(absl::StrCat("two ", tag));
      *field = d.d_un.d_val;
      return absl::OkStatus();
    };
    absl::Status status;
    switch (d.d_tag) {
      case DT_NEEDED:
        if (needed.size() >= kMaxElfNeeded) {
          return Malformed(
              absl::StrCat("more than ", kMaxElfNeeded, " DT_NEEDED entries"));
        }
        needed.push_back(d.d_un.d_val);
        break;
      case DT_STRTAB:
        status = set_once(&strtab, "DT_STRTAB");
        break;
      case DT_STRSZ:
        status = set_once(&strsz, "DT_STRSZ");
        break;
      case DT_RUNPATH:
        status = set_once(&runpath, "DT_RUNPATH");
        break;
      case DT_RPATH:
        status = set_once(&rpath, "DT_RPATH");
        break;
      case DT_SONAME:
        status = set_once(&soname, "DT_SONAME");
        break;
      default:
        break;
    }
    if (!status.ok()) return status;
  }
  bool uses_strings = !needed.empty() || runpath || rpath || soname;
  if (!uses_strings) return out;
  if (!strtab || !strsz) {
    return Malformed("dynamic strings without DT_STRTAB and DT_STRSZ");
  }
  std::optional<uint64_t> table = VaddrToOffset(phdrs, *strtab, *strsz);
  if (!table) {
    return Malformed("DT_STRTAB lies outside the file's loaded segments");
  }
  for (uint64_t index : needed) {
    auto name = TableString(bytes, *table, *strsz, index, "DT_NEEDED");
    if (!name.ok()) return name.status();
    if (name->empty()) return Malformed("empty DT_NEEDED");
    out.needed.push_back(*std::move(name));
  }
  if (runpath) {
    auto s = TableString(bytes, *table, *strsz, *runpath, "DT_RUNPATH");
    if (!s.ok()) return s.status();
    out.runpath = SplitPath(*s);
  }
  if (rpath) {
    auto s = TableString(bytes, *table, *strsz, *rpath, "DT_RPATH");
    if (!s.ok()) return s.status();
    out.rpath = SplitPath(*s);
  }
  if (soname) {
    auto s = TableString(bytes, *table, *strsz, *soname, "DT_SONAME");
    if (!s.ok()) return s.status();
    out.soname = *std::move(s);
  }
  return out;
}

}  // namespace tao
