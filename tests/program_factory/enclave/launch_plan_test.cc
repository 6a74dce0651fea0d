// The launch plan: its encoding byte by byte (as docs/enclave-manifest.md
// spells it), a stable measurement, a new one for every change that is
// measured, and bytes kept that a change on disk cannot touch.
#include "program_factory/enclave/launch_plan.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tao/crypto.h"
#include "tao/encoding.h"
#include "tao/status_macros.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::StatusIs;
using ::testing::HasSubstr;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteAll(const std::string& path, absl::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST(LaunchPlanEncodingTest, IsTheDocumentedBytes) {
  LaunchPlanFields f;
  f.entry = "/e";
  // Given out of order: the encoding sorts files by path, mounts by
  // enclave path.
  f.files.push_back(
      PlanFile{TrustedFileRole::kLibrary, "/l", 2, std::string(32, '\x22')});
  f.files.push_back(
      PlanFile{TrustedFileRole::kEntry, "/e", 1, std::string(32, '\x11')});
  f.mounts.push_back({EnclaveMount::Kind::kTmpfs, "", "/t"});
  f.mounts.push_back({EnclaveMount::Kind::kBindReadOnly, "/h", "/d"});
  f.threads = 4;
  f.enclave_size_mib = 256;
  f.debug = true;
  std::string expected = "tao-enclave-plan-v1";
  expected += std::string("\0\0\0\x02/e", 6);                   // entry
  expected += std::string("\0\0\0\x02", 4);                     // two files
  expected += std::string("\x01\0\0\0\x02/e", 7);               // role 1, "/e"
  expected += std::string("\0\0\0\0\0\0\0\x01", 8);             // size 1
  expected += std::string(32, '\x11');                          // SHA-256
  expected += std::string("\x04\0\0\0\x02/l", 7);               // role 4, "/l"
  expected += std::string("\0\0\0\0\0\0\0\x02", 8);             // size 2
  expected += std::string(32, '\x22');                          // SHA-256
  expected += std::string("\0\0\0\x02", 4);                     // two mounts
  expected += std::string("\x01\0\0\0\x02/d\0\0\0\x02/h", 13);  // ro
  expected += std::string("\x03\0\0\0\x02/t\0\0\0\0", 11);      // tmpfs
  expected += std::string("\0\0\0\x04", 4);                     // threads
  expected += std::string("\0\0\x01\0", 4);                     // 256 MiB
  expected += std::string("\x01", 1);                           // debug on
  EXPECT_EQ(HexEncode(EncodeLaunchPlan(f)), HexEncode(expected));
}

// A copy of /bin/ls and of a module in a temp dir, and manifests over them.
class LaunchPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    exec_ = dir_.Join("ls");
    WriteAll(exec_, ReadAll("/bin/ls"));
    module_ = dir_.Join("libnss_dns.so.2");
    WriteAll(module_, ReadAll("/lib/x86_64-linux-gnu/libnss_dns.so.2"));
    ASSERT_EQ(::mkdir(dir_.Join("data").c_str(), 0700), 0);
  }

  std::string Base() const {
    return absl::StrCat("EXEC ", exec_, "\nMOUNT ", dir_.Join("data"),
                        " /data ro\nMOUNT tmpfs /scratch\nTHREADS 4\n"
                        "ENCLAVE_SIZE 64\nDEBUG off\nARG -l\nENV A=1\n");
  }

  absl::StatusOr<LaunchPlan> Compile(absl::string_view text) {
    TAO_ASSIGN_OR_RETURN(EnclaveManifest m, ParseEnclaveManifest(text));
    return LaunchPlan::Compile(m);
  }

  std::string Digest(absl::string_view text) {
    auto plan = Compile(text);
    EXPECT_THAT(plan, IsOk()) << text;
    return plan.ok() ? plan->digest() : "";
  }

  test::TempDir dir_;
  std::string exec_;
  std::string module_;
};

TEST_F(LaunchPlanTest, SameManifestSameMeasurement) {
  auto a = Compile(Base());
  auto b = Compile(Base());
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(a->encoding(), b->encoding());
  EXPECT_EQ(a->digest(), b->digest());
  EXPECT_EQ(a->digest(), Sha256(a->encoding()));
  EXPECT_EQ(a->args_digest(), b->args_digest());
  // The order of MOUNT lines is not measured: mounts are sorted.
  std::string reordered = absl::StrCat(
      "EXEC ", exec_, "\nMOUNT tmpfs /scratch\nMOUNT ", dir_.Join("data"),
      " /data ro\nTHREADS 4\nENCLAVE_SIZE 64\nDEBUG off\n"
      "ARG -l\nENV A=1\n");
  EXPECT_EQ(Digest(reordered), a->digest());
}

TEST_F(LaunchPlanTest, EveryMeasuredChangeChangesTheMeasurement) {
  const std::string base = Digest(Base());
  std::vector<std::pair<std::string, std::string>> variants = {
      {"another MODULE", Base() + "MODULE " + module_ + "\n"},
      {"another mount", Base() + "MOUNT tmpfs /scratch2\n"},
      {"ro to rw",
       absl::StrCat("EXEC ", exec_, "\nMOUNT ", dir_.Join("data"),
                    " /data rw\nMOUNT tmpfs /scratch\nTHREADS 4\n"
                    "ENCLAVE_SIZE 64\nDEBUG off\nARG -l\nENV A=1\n")},
      {"another host path",
       absl::StrCat("EXEC ", exec_, "\nMOUNT ", dir_.path(),
                    " /data ro\nMOUNT tmpfs /scratch\nTHREADS 4\n"
                    "ENCLAVE_SIZE 64\nDEBUG off\nARG -l\nENV A=1\n")},
      {"THREADS",
       absl::StrCat("EXEC ", exec_, "\nMOUNT ", dir_.Join("data"),
                    " /data ro\nMOUNT tmpfs /scratch\nTHREADS 5\n"
                    "ENCLAVE_SIZE 64\nDEBUG off\nARG -l\nENV A=1\n")},
      {"ENCLAVE_SIZE",
       absl::StrCat("EXEC ", exec_, "\nMOUNT ", dir_.Join("data"),
                    " /data ro\nMOUNT tmpfs /scratch\nTHREADS 4\n"
                    "ENCLAVE_SIZE 128\nDEBUG off\nARG -l\nENV A=1\n")},
      {"DEBUG on",
       absl::StrCat("EXEC ", exec_, "\nMOUNT ", dir_.Join("data"),
                    " /data ro\nMOUNT tmpfs /scratch\nTHREADS 4\n"
                    "ENCLAVE_SIZE 64\nDEBUG on\nARG -l\nENV A=1\n")},
      {"no limits",
       absl::StrCat("EXEC ", exec_, "\nMOUNT ", dir_.Join("data"),
                    " /data ro\nMOUNT tmpfs /scratch\nDEBUG off\nARG -l\n"
                    "ENV A=1\n")},
  };
  std::set<std::string> seen = {base};
  for (const auto& [what, text] : variants) {
    std::string d = Digest(text);
    EXPECT_NE(d, base) << what;
    EXPECT_TRUE(seen.insert(d).second) << what << " collides";
  }
  // The entry's bytes are measured too.
  std::string bytes = ReadAll(exec_);
  bytes[bytes.size() - 1] ^= 1;
  WriteAll(exec_, bytes);
  EXPECT_NE(Digest(Base()), base);
}

TEST_F(LaunchPlanTest, ArgsAndEnvAreMeasuredInArgsNotInThePlan) {
  auto a = Compile(Base());
  auto b = Compile(Base() + "ARG --more\n");
  auto c = Compile(Base() + "ENV B=2\n");
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(a->digest(), b->digest());
  EXPECT_EQ(a->digest(), c->digest());
  EXPECT_NE(a->args_digest(), b->args_digest());
  EXPECT_NE(a->args_digest(), c->args_digest());
  EXPECT_NE(b->args_digest(), c->args_digest());
  EXPECT_EQ(a->argv(), (std::vector<std::string>{exec_, "-l"}));
}

TEST_F(LaunchPlanTest, NameIsEnclaveThenArgs) {
  auto plan = Compile(Base());
  ASSERT_THAT(plan, IsOk());
  ASSERT_EQ(plan->subprincipals().size(), 2u);
  EXPECT_EQ(plan->subprincipals()[0].ToString(),
            absl::StrCat("Enclave(sha256:", HexEncode(plan->digest()), ")"));
  EXPECT_EQ(plan->subprincipals()[1].ToString(),
            absl::StrCat("Args(sha256:", HexEncode(plan->args_digest()), ")"));
  std::string text = plan->Describe();
  EXPECT_THAT(text, HasSubstr("file entry sha256:"));
  EXPECT_THAT(text, HasSubstr("file interpreter sha256:"));
  EXPECT_THAT(text, HasSubstr("/lib64/ld-linux-x86-64.so.2"));
  EXPECT_THAT(text, HasSubstr("mount tmpfs /scratch\n"));
  EXPECT_THAT(text, HasSubstr("threads 4\nenclave_size 64 MiB\ndebug off\n"));
}

TEST_F(LaunchPlanTest, KeepsTheBytesItHashedWhateverHappensOnDisk) {
  const std::string original = ReadAll(exec_);
  auto plan = Compile(Base() + "MODULE " + module_ + "\n");
  ASSERT_THAT(plan, IsOk());
  const TrustedFile* entry = plan->Find(exec_);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->role, TrustedFileRole::kEntry);
  // Replace the file's contents and truncate the module on disk.
  WriteAll(exec_, "#!/bin/sh\necho replaced\n");
  ASSERT_EQ(::truncate(module_.c_str(), 0), 0);
  auto kept = SealedBytes::Map(*entry);
  ASSERT_THAT(kept, IsOk());
  EXPECT_EQ(kept->view(), original);
  EXPECT_EQ(Sha256(kept->view()), entry->digest);
  const TrustedFile* module = plan->Find(module_);
  ASSERT_NE(module, nullptr);
  auto module_bytes = SealedBytes::Map(*module);
  ASSERT_THAT(module_bytes, IsOk());
  EXPECT_EQ(Sha256(module_bytes->view()), module->digest);
  // And the kept bytes cannot be changed through their memfd either.
  EXPECT_EQ(::pwrite(entry->memfd.get(), "x", 1, 0), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::ftruncate(entry->memfd.get(), 1), -1);
  EXPECT_EQ(::fcntl(entry->memfd.get(), F_ADD_SEALS, F_SEAL_FUTURE_WRITE), -1);
  // A fresh compile sees the new file (and refuses it: not ELF).
  EXPECT_THAT(Compile(Base()), StatusIs(absl::StatusCode::kInvalidArgument,
                                        HasSubstr("not an ELF executable")));
}

TEST_F(LaunchPlanTest, RefusesMountsThatHideTrustedFiles) {
  EXPECT_THAT(Compile(Base() + "MOUNT tmpfs /lib64\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("would hide the trusted file "
                                 "/lib64/ld-linux-x86-64.so.2")));
  EXPECT_THAT(
      Compile(Base() + "MOUNT tmpfs " + exec_ + "/x\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("would hide")));
  EXPECT_THAT(Compile(Base() + "MOUNT " + dir_.Join("absent") + " /y ro\n"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("absent")));
}

}  // namespace
}  // namespace tao
