// The enclave manifest parser: every directive, every refusal with its line
// and column, and hostile manifests (huge, NULs, odd paths, duplicates).
#include "program_factory/enclave/manifest.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

absl::Status ParseError(absl::string_view text) {
  auto parsed = ParseEnclaveManifest(text);
  EXPECT_FALSE(parsed.ok()) << "accepted:\n" << text;
  return parsed.ok() ? absl::OkStatus() : parsed.status();
}

// The error for `text` must be kInvalidArgument and contain `where` and
// `what`.
void ExpectError(absl::string_view text, absl::string_view where,
                 absl::string_view what) {
  absl::Status status = ParseError(text);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(where)) << text;
  EXPECT_THAT(std::string(status.message()), HasSubstr(what)) << text;
}

TEST(ManifestTest, ParsesEveryDirective) {
  auto m = ParseEnclaveManifest(
      "# a comment line\n"
      "EXEC file:/usr/bin/demo   # trailing comment\n"
      "MODULE /lib/x86_64-linux-gnu/libnss_dns.so.2\n"
      "MOUNT /srv/data /data ro\n"
      "MOUNT /srv/out /out chroot rw\n"
      "MOUNT tmpfs /tmp\n"
      "\tTHREADS 4\r\n"
      "ENCLAVE_SIZE 256\n"
      "DEBUG on\n"
      "ARG --mode\n"
      "ARG \"two words \\\"quoted\\\" \\x41\\t\\n\\\\\"\n"
      "ENV GREETING=hello=world\n"
      "ENV EMPTY=\n"
      "ENV SPACED=\"two words\"\n"
      "ARG pre\"mid dle\"post\n"
      "\n");
  ASSERT_THAT(m, IsOk());
  EXPECT_EQ(m->exec, "/usr/bin/demo");
  EXPECT_THAT(m->modules, ElementsAre("/lib/x86_64-linux-gnu/libnss_dns.so.2"));
  ASSERT_EQ(m->mounts.size(), 3u);
  EXPECT_EQ(m->mounts[0].kind, EnclaveMount::Kind::kBindReadOnly);
  EXPECT_EQ(m->mounts[0].host_path, "/srv/data");
  EXPECT_EQ(m->mounts[0].enclave_path, "/data");
  EXPECT_EQ(m->mounts[1].kind, EnclaveMount::Kind::kBindReadWrite);
  EXPECT_EQ(m->mounts[2].kind, EnclaveMount::Kind::kTmpfs);
  EXPECT_EQ(m->mounts[2].host_path, "");
  EXPECT_EQ(m->threads, 4u);
  EXPECT_EQ(m->enclave_size_mib, 256u);
  EXPECT_TRUE(m->debug);
  EXPECT_THAT(m->args, ElementsAre("--mode", "two words \"quoted\" A\t\n\\",
                                   "premid dlepost"));
  EXPECT_THAT(m->env,
              ElementsAre(Pair("GREETING", "hello=world"), Pair("EMPTY", ""),
                          Pair("SPACED", "two words")));
}

TEST(ManifestTest, DefaultsWhenOnlyExecIsGiven) {
  auto m = ParseEnclaveManifest("EXEC /bin/true");
  ASSERT_THAT(m, IsOk());
  EXPECT_EQ(m->threads, 0u);
  EXPECT_EQ(m->enclave_size_mib, 0u);
  EXPECT_FALSE(m->debug);
  EXPECT_TRUE(m->mounts.empty());
}

TEST(ManifestTest, ErrorsNameLineAndColumn) {
  ExpectError("EXEC /bin/true\n  FROB x\n", "line 2, column 3",
              "unknown directive 'FROB'");
  ExpectError("EXEC /bin/true\nTHREADS\n", "line 2, column 8",
              "missing argument");
  ExpectError("EXEC /bin/true\nDEBUG on off\n", "line 2, column 10",
              "unexpected 'off'");
  ExpectError("EXEC /bin/true\nDEBUG maybe\n", "line 2, column 7",
              "not on or off");
  ExpectError("# nothing\n", "line 1, column 1", "no EXEC line");
  ExpectError("", "line 1", "no EXEC line");
}

TEST(ManifestTest, RefusesWhatThisHostCannotHonour) {
  ExpectError("EXEC /bin/true\nMOUNT /srv /s nextfs\n", "line 2, column 15",
              "cannot be honoured");
  for (const char* type : {"smdish", "smuf", "smc"}) {
    ExpectError(absl::StrCat("EXEC /bin/true\nMOUNT /srv /s ", type, "\n"),
                "line 2", "Phoenix encrypted");
  }
  ExpectError("EXEC /bin/true\nTIMESERVER udp:127.0.0.1:1 /k.pem 1\n",
              "line 2, column 1", "TIMESERVER");
  ExpectError("EXEC /bin/true\nCAFILE /root.crt\n", "line 2, column 1",
              "CAFILE");
  ExpectError("EXEC /bin/true\nTHREADS 2 exitless\n", "line 2, column 11",
              "exitless");
  ExpectError("EXEC udp:127.0.0.1:9\n", "line 1, column 6",
              "URI scheme 'udp:'");
}

TEST(ManifestTest, RefusesOddPaths) {
  ExpectError("EXEC bin/true\n", "line 1, column 6", "absolute path");
  ExpectError("EXEC /usr/../etc/shadow\n", "line 1, column 6", "'..'");
  ExpectError("EXEC /usr//bin/true\n", "line 1, column 6", "not a normal");
  ExpectError("EXEC /usr/./bin/true\n", "line 1", "not a normal");
  ExpectError("EXEC /usr/bin/\n", "line 1", "not a normal");
  ExpectError("EXEC /\n", "line 1", "must be a file");
  ExpectError("EXEC \"/bin/x\\ty\"\n", "line 1", "not a normal");
  ExpectError("EXEC /bin/true\nMOUNT /srv / ro\n", "line 2, column 12",
              "root '/'");
  ExpectError("EXEC /bin/true\nMOUNT /srv data ro\n", "line 2, column 12",
              "absolute");
  ExpectError("EXEC /bin/true\nMOUNT /srv/../etc /data ro\n", "line 2", "'..'");
  ExpectError("EXEC /bin/true\nMOUNT tmpfs /data/../x\n", "line 2", "'..'");
  ExpectError("EXEC /bin/true\nMOUNT / /host rw\n", "line 2, column 7",
              "must be a file");
  ExpectError("EXEC /bin/true\nMOUNT /proc/1 /p ro\n", "line 2",
              "inside /proc");
  ExpectError("EXEC /bin/true\nMOUNT /dev /d rw\n", "line 2", "inside /dev");
  ExpectError("EXEC /bin/true\nMOUNT /srv /proc/self ro\n", "line 2",
              "which the sandbox provides");
  ExpectError("EXEC /bin/true\nMOUNT /srv /data rx\n", "line 2, column 18",
              "not ro or rw");
}

TEST(ManifestTest, RefusesDuplicates) {
  ExpectError("EXEC /bin/true\nEXEC /bin/false\n", "line 2, column 1",
              "EXEC given twice (first on line 1)");
  ExpectError("EXEC /bin/true\nMODULE /lib/a.so\nMODULE file:/lib/a.so\n",
              "line 3, column 8", "already listed on line 2");
  ExpectError("MODULE /bin/true\nEXEC /bin/true\n", "line 2, column 6",
              "already a MODULE (line 1)");
  ExpectError("EXEC /bin/true\nMOUNT /a /x ro\nMOUNT tmpfs /x\n",
              "line 3, column 13", "already mounted on line 2");
  ExpectError("EXEC /bin/true\nTHREADS 1\nTHREADS 2\n", "line 3",
              "THREADS given twice");
  ExpectError("EXEC /bin/true\nDEBUG off\nDEBUG on\n", "line 3",
              "DEBUG given twice");
  ExpectError("EXEC /bin/true\nENCLAVE_SIZE 8\nENCLAVE_SIZE 8\n", "line 3",
              "given twice");
  ExpectError("EXEC /bin/true\nENV A=1\nENV A=2\n", "line 3, column 5",
              "ENV A given twice (first on line 2)");
}

TEST(ManifestTest, RefusesBadNumbers) {
  ExpectError("EXEC /bin/true\nENCLAVE_SIZE 24\n", "line 2, column 14",
              "not a power of two");
  ExpectError("EXEC /bin/true\nENCLAVE_SIZE 0\n", "line 2", "out of range");
  ExpectError("EXEC /bin/true\nENCLAVE_SIZE 131072\n", "line 2",
              "out of range");
  ExpectError("EXEC /bin/true\nTHREADS -1\n", "line 2", "not a decimal");
  ExpectError("EXEC /bin/true\nTHREADS 0x10\n", "line 2", "not a decimal");
  ExpectError("EXEC /bin/true\nTHREADS 99999999999999999999\n", "line 2",
              "not a number");
  ExpectError("EXEC /bin/true\nTHREADS 4294967297\n", "line 2", "out of range");
}

TEST(ManifestTest, RefusesEnvironmentTheLoaderWouldObey) {
  ExpectError("EXEC /bin/true\nENV LD_PRELOAD=/x.so\n", "line 2, column 5",
              "MODULE");
  ExpectError("EXEC /bin/true\nENV LD_LIBRARY_PATH=/data\n", "line 2",
              "loader");
  ExpectError("EXEC /bin/true\nENV TAO_CHANNEL=pipe:3,4\n", "line 2",
              "set by the host");
  ExpectError("EXEC /bin/true\nENV =x\n", "line 2", "usage: ENV");
  ExpectError("EXEC /bin/true\nENV 1A=x\n", "line 2", "usage: ENV");
  ExpectError("EXEC /bin/true\nENV NOEQUALS\n", "line 2", "usage: ENV");
  ExpectError("EXEC /bin/true\nENV A-B=x\n", "line 2", "usage: ENV");
}

TEST(ManifestTest, RefusesHostileBytes) {
  ExpectError(std::string("EXEC /bin/true\nARG a\0b\n", 22), "line 2, column 6",
              "NUL byte");
  ExpectError("EXEC /bin/true\nARG \"a\\x00b\"\n", "line 2, column 7",
              "NUL cannot be part");
  ExpectError("EXEC /bin/true\nARG a\x1b[2J\n", "line 2, column 6",
              "control character 0x1b");
  ExpectError("EXEC /bin/true\nARG \"open\n", "line 2, column 5",
              "unterminated quote");
  ExpectError("EXEC /bin/true\nARG a\"b\n", "line 2, column 6",
              "unterminated quote");
  ExpectError("EXEC /bin/true\nARG \"\\q\"\n", "line 2, column 6",
              "unknown escape");
  ExpectError("EXEC /bin/true\nARG \"\\x4\"\n", "line 2", "unknown escape");
}

TEST(ManifestTest, IsBounded) {
  ManifestLimits limits;
  std::string huge_line = "EXEC /bin/true\nARG " + std::string(5000, 'a');
  absl::Status status = ParseEnclaveManifest(huge_line).status();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("line 2, column 4097: line longer")));

  std::string many_lines = "EXEC /bin/true\n" + std::string(20000, '\n');
  EXPECT_THAT(ParseEnclaveManifest(many_lines),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("line 10001, column 1: more than 10000")));

  std::string huge(limits.max_bytes + 1, '#');
  EXPECT_THAT(ParseEnclaveManifest(huge),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("more than the limit")));

  std::string modules = "EXEC /bin/true\n";
  for (int i = 0; i <= 256; ++i)
    absl::StrAppend(&modules, "MODULE /m", i, "\n");
  EXPECT_THAT(ParseEnclaveManifest(modules),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("line 258, column 1: more than 256 modules")));

  std::string mounts = "EXEC /bin/true\n";
  for (int i = 0; i <= 64; ++i)
    absl::StrAppend(&mounts, "MOUNT tmpfs /t", i, "\n");
  EXPECT_THAT(ParseEnclaveManifest(mounts),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("more than 64 mounts")));

  std::string args = "EXEC /bin/true\n";
  for (int i = 0; i <= 256; ++i) absl::StrAppend(&args, "ARG a\n");
  EXPECT_THAT(ParseEnclaveManifest(args),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("more than 256 ARG lines")));

  std::string env = "EXEC /bin/true\n";
  for (int i = 0; i <= 256; ++i) absl::StrAppend(&env, "ENV V", i, "=1\n");
  EXPECT_THAT(ParseEnclaveManifest(env),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("more than 256 ENV lines")));
}

TEST(ManifestTest, PathHelpers) {
  EXPECT_TRUE(IsNormalAbsolutePath("/"));
  EXPECT_TRUE(IsNormalAbsolutePath("/a/b.c/..d"));
  EXPECT_FALSE(IsNormalAbsolutePath("a"));
  EXPECT_FALSE(IsNormalAbsolutePath("/a/"));
  EXPECT_FALSE(IsNormalAbsolutePath("/a/../b"));
  EXPECT_TRUE(PathIsWithin("/a/b", "/a"));
  EXPECT_TRUE(PathIsWithin("/a", "/a"));
  EXPECT_FALSE(PathIsWithin("/ab", "/a"));
  EXPECT_TRUE(PathIsWithin("/x", "/"));
}

}  // namespace
}  // namespace tao

namespace tao {
namespace {

TEST(ManifestFormatTest, FormatsToTextThatParsesBack) {
  auto m = ParseEnclaveManifest(
      "EXEC file:/usr/bin/demo\nMODULE /lib/a.so\nMOUNT /srv/d /data ro\n"
      "MOUNT /srv/o \"/out dir\" rw\nMOUNT tmpfs /scratch\nTHREADS 3\n"
      "ENCLAVE_SIZE 16\nDEBUG on\nARG \"q\\\"\\\\ \\x01\\t#\"\n"
      "ENV A=\"x y\"\n");
  ASSERT_THAT(m, test::IsOk());
  std::string text = FormatEnclaveManifest(*m);
  EXPECT_EQ(text,
            "EXEC \"/usr/bin/demo\"\nMODULE \"/lib/a.so\"\n"
            "MOUNT \"/srv/d\" \"/data\" ro\nMOUNT \"/srv/o\" \"/out dir\" rw\n"
            "MOUNT tmpfs \"/scratch\"\nTHREADS 3\nENCLAVE_SIZE 16\nDEBUG on\n"
            "ARG \"q\\\"\\\\ \\x01\\x09#\"\nENV \"A=x y\"\n");
  auto again = ParseEnclaveManifest(text);
  ASSERT_THAT(again, test::IsOk());
  EXPECT_TRUE(*again == *m);
}

}  // namespace
}  // namespace tao
