// The ELF reader on real binaries of this machine and on hand-made files:
// every malformed or foreign file is refused by name, never read past its
// end (every truncation of a valid file is tried).
#include "program_factory/enclave/elf_reader.h"

#include <elf.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::StatusIs;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A minimal shared object: one PT_LOAD over the whole file, a PT_INTERP, a
// PT_DYNAMIC with DT_NEEDED x2, DT_RUNPATH, DT_SONAME, DT_STRTAB, DT_STRSZ.
struct Layout {
  static constexpr uint64_t kPhoff = sizeof(Elf64_Ehdr);
  static constexpr int kPhnum = 3;
  static constexpr uint64_t kInterp = kPhoff + kPhnum * sizeof(Elf64_Phdr);
  static constexpr char kInterpText[] = "/lib64/ld-test.so.2";
  static constexpr uint64_t kDyn = 256;
  static constexpr int kDynCount = 7;
  static constexpr uint64_t kStr = kDyn + kDynCount * sizeof(Elf64_Dyn);
  static constexpr char kStrings[] =
      "\0libone.so.1\0libtwo.so\0$ORIGIN/lib:/opt/x\0libself.so.3";
  static constexpr uint64_t kVaddr = 0x400000;
};

std::string MakeElf() {
  std::string f(Layout::kStr + sizeof(Layout::kStrings), '\0');
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_DYN;
  eh.e_machine = EM_X86_64;
  eh.e_version = EV_CURRENT;
  eh.e_phoff = Layout::kPhoff;
  eh.e_ehsize = sizeof(Elf64_Ehdr);
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = Layout::kPhnum;
  std::memcpy(&f[0], &eh, sizeof(eh));
  Elf64_Phdr ph[Layout::kPhnum]{};
  ph[0].p_type = PT_LOAD;
  ph[0].p_offset = 0;
  ph[0].p_vaddr = Layout::kVaddr;
  ph[0].p_filesz = ph[0].p_memsz = f.size();
  ph[1].p_type = PT_INTERP;
  ph[1].p_offset = Layout::kInterp;
  ph[1].p_filesz = sizeof(Layout::kInterpText);
  ph[2].p_type = PT_DYNAMIC;
  ph[2].p_offset = Layout::kDyn;
  ph[2].p_filesz = Layout::kDynCount * sizeof(Elf64_Dyn);
  std::memcpy(&f[Layout::kPhoff], ph, sizeof(ph));
  std::memcpy(&f[Layout::kInterp], Layout::kInterpText,
              sizeof(Layout::kInterpText));
  Elf64_Dyn dyn[Layout::kDynCount] = {
      {DT_NEEDED, {1}},
      {DT_NEEDED, {13}},
      {DT_RUNPATH, {23}},
      {DT_SONAME, {42}},
      {DT_STRTAB, {Layout::kVaddr + Layout::kStr}},
      {DT_STRSZ, {sizeof(Layout::kStrings)}},
      {DT_NULL, {0}},
  };
  std::memcpy(&f[Layout::kDyn], dyn, sizeof(dyn));
  std::memcpy(&f[Layout::kStr], Layout::kStrings, sizeof(Layout::kStrings));
  return f;
}

template <typename T>
void Poke(std::string* f, uint64_t offset, T value) {
  std::memcpy(&(*f)[offset], &value, sizeof(value));
}

// Offset of field `member` of program header `i`.
uint64_t PhField(int i, size_t member_offset) {
  return Layout::kPhoff + i * sizeof(Elf64_Phdr) + member_offset;
}

uint64_t DynVal(int i) {
  return Layout::kDyn + i * sizeof(Elf64_Dyn) + offsetof(Elf64_Dyn, d_un);
}

TEST(ElfReaderTest, ReadsAHandMadeSharedObject) {
  auto deps = ReadElfDependencies(MakeElf());
  ASSERT_THAT(deps, IsOk());
  EXPECT_EQ(deps->type, ET_DYN);
  EXPECT_EQ(deps->interpreter, "/lib64/ld-test.so.2");
  EXPECT_TRUE(deps->has_dynamic);
  EXPECT_THAT(deps->needed, ElementsAre("libone.so.1", "libtwo.so"));
  EXPECT_THAT(deps->runpath, ElementsAre("$ORIGIN/lib", "/opt/x"));
  EXPECT_TRUE(deps->rpath.empty());
  EXPECT_EQ(deps->soname, "libself.so.3");
}

TEST(ElfReaderTest, EveryTruncationIsRefusedWithoutReadingPastTheEnd) {
  const std::string f = MakeElf();
  for (size_t n = 0; n < f.size(); ++n) {
    // A copy of exactly n bytes, so ASan sees any read past it.
    std::unique_ptr<char[]> copy(new char[n == 0 ? 1 : n]);
    std::memcpy(copy.get(), f.data(), n);
    auto deps = ReadElfDependencies(absl::string_view(copy.get(), n));
    EXPECT_FALSE(deps.ok()) << "accepted " << n << " of " << f.size();
  }
}

TEST(ElfReaderTest, RefusesForeignFilesByName) {
  std::string f = MakeElf();
  f[EI_CLASS] = ELFCLASS32;
  EXPECT_THAT(ReadElfDependencies(f),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("32-bit ELF file (ELFCLASS32)")));
  f = MakeElf();
  f[EI_DATA] = ELFDATA2MSB;
  EXPECT_THAT(
      ReadElfDependencies(f),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("big-endian")));
  f = MakeElf();
  Poke<uint16_t>(&f, offsetof(Elf64_Ehdr, e_machine), EM_AARCH64 + 1);
  EXPECT_THAT(ReadElfDependencies(f),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not this host's")));
  EXPECT_THAT(ReadElfDependencies("#!/bin/sh\necho hi\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not an ELF file")));
  f = MakeElf();
  Poke<uint16_t>(&f, offsetof(Elf64_Ehdr, e_type), ET_REL);
  EXPECT_THAT(ReadElfDependencies(f),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("neither an executable")));
}

TEST(ElfReaderTest, RefusesOutOfBoundsOffsets) {
  struct Case {
    const char* what;
    void (*mutate)(std::string*);
    const char* error;
  };
  const Case cases[] = {
      {"phoff past end",
       [](std::string* f) {
         Poke<uint64_t>(f, offsetof(Elf64_Ehdr, e_phoff), ~uint64_t{0} - 8);
       },
       "program headers lie past"},
      {"phnum huge",
       [](std::string* f) {
         Poke<uint16_t>(f, offsetof(Elf64_Ehdr, e_phnum), PN_XNUM);
       },
       "too many program headers"},
      {"phentsize odd",
       [](std::string* f) {
         Poke<uint16_t>(f, offsetof(Elf64_Ehdr, e_phentsize), 32);
       },
       "program header size"},
      {"dynamic past end",
       [](std::string* f) {
         Poke<uint64_t>(f, PhField(2, offsetof(Elf64_Phdr, p_offset)),
                        ~uint64_t{0});
       },
       "segment lies past"},
      {"interp without NUL",
       [](std::string* f) {
         Poke<uint64_t>(f, PhField(1, offsetof(Elf64_Phdr, p_filesz)), 4);
       },
       "PT_INTERP"},
      {"needed past strtab",
       [](std::string* f) { Poke<uint64_t>(f, DynVal(0), 1u << 20); },
       "points past the string table"},
      {"strsz past end",
       [](std::string* f) { Poke<uint64_t>(f, DynVal(5), ~uint64_t{0}); },
       "outside the file's loaded segments"},
      {"strtab unmapped",
       [](std::string* f) { Poke<uint64_t>(f, DynVal(4), 0x10); },
       "outside the file's loaded segments"},
      {"string unterminated",
       [](std::string* f) {
         Poke<uint64_t>(f, DynVal(5), sizeof(Layout::kStrings) - 1);
       },
       "not NUL-terminated"},
      {"two sonames",
       [](std::string* f) {
         Elf64_Dyn d{DT_SONAME, {1}};
         Poke(f, Layout::kDyn + 5 * sizeof(Elf64_Dyn), d);
       },
       "two DT_SONAME"},
      {"no strtab",
       [](std::string* f) {
         Elf64_Dyn d{DT_NULL, {0}};
         Poke(f, Layout::kDyn + 4 * sizeof(Elf64_Dyn), d);
       },
       "without DT_STRTAB"},
  };
  for (const Case& c : cases) {
    std::string f = MakeElf();
    c.mutate(&f);
    EXPECT_THAT(ReadElfDependencies(f),
                StatusIs(testing::_, HasSubstr(c.error)))
        << c.what;
  }
}

TEST(ElfReaderTest, ReadsThisMachinesLs) {
  auto deps = ReadElfDependencies(ReadAll("/bin/ls"));
  ASSERT_THAT(deps, IsOk());
  EXPECT_EQ(deps->interpreter, "/lib64/ld-linux-x86-64.so.2");
  EXPECT_THAT(deps->needed, Contains("libc.so.6"));
}

TEST(ElfReaderTest, ReadsThisMachinesLoaderAndLibc) {
  auto loader = ReadElfDependencies(ReadAll("/lib64/ld-linux-x86-64.so.2"));
  ASSERT_THAT(loader, IsOk());
  EXPECT_EQ(loader->interpreter, "");
  EXPECT_EQ(loader->soname, "ld-linux-x86-64.so.2");
  auto libc = ReadElfDependencies(ReadAll("/lib/x86_64-linux-gnu/libc.so.6"));
  ASSERT_THAT(libc, IsOk());
  EXPECT_EQ(libc->soname, "libc.so.6");
  EXPECT_THAT(libc->needed, Contains("ld-linux-x86-64.so.2"));
}

}  // namespace
}  // namespace tao
