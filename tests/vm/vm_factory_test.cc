// The VM factory's pure parts and its measurement, without booting: the
// tagged encoding of VM(sha256:..), the sealed memfds QEMU will boot, the
// QEMU command line and the reading of a VM's end.
#include "program_factory/vm/vm_factory.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "program_factory/vm/qmp_client.h"
#include "program_factory/vm/vm_measurement.h"
#include "program_factory/vm/vm_program.h"
#include "tao/crypto.h"
#include "tao/encoding.h"
#include "tao/file_util.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace tao {
namespace {

using ::tao::test::IsOk;
using ::tao::test::IsOkAndHolds;
using ::tao::test::StatusIs;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

std::string Be64(uint64_t v) {
  std::string out;
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
  return out;
}

TEST(VmDigestTest, IsTheDocumentedTaggedEncoding) {
  const std::string k = "kernel bytes", i = "initrd", c = "console=ttyS0";
  std::string encoded("tao-vm-v1\0", 10);
  encoded += std::string(1, '\x01') + Be64(k.size()) + Sha256(k);
  encoded += std::string(1, '\x02') + Be64(i.size()) + Sha256(i);
  encoded += std::string(1, '\x03') + Be64(c.size()) + Sha256(c);
  EXPECT_EQ(
      VmDigest(k.size(), Sha256(k), i.size(), Sha256(i), c.size(), Sha256(c)),
      Sha256(encoded));
  // The parts cannot trade places: kernel and initrd swapped differ.
  EXPECT_NE(
      VmDigest(k.size(), Sha256(k), i.size(), Sha256(i), c.size(), Sha256(c)),
      VmDigest(i.size(), Sha256(i), k.size(), Sha256(k), c.size(), Sha256(c)));
}

class VmMeasureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spec_.kernel = dir_.path() + "/vmlinuz";
    spec_.initrd = dir_.path() + "/initrd";
    spec_.cmdline = "console=ttyS0 TAO_CHANNEL=virtio:tao";
    ASSERT_THAT(WriteFileAtomically(spec_.kernel, "K", 0644), IsOk());
    ASSERT_THAT(WriteFileAtomically(spec_.initrd, "II", 0644), IsOk());
  }
  test::TempDir dir_;
  VmSpec spec_;
};

TEST_F(VmMeasureTest, ReadsEachPartOnceIntoASealedMemfd) {
  ASSERT_OK_AND_ASSIGN(MeasuredVm vm, MeasureVm(spec_, 1 << 20));
  EXPECT_EQ(vm.digest, VmDigest(1, Sha256("K"), 2, Sha256("II"),
                                spec_.cmdline.size(), Sha256(spec_.cmdline)));
  for (const MeasuredExecutable* part : {&vm.kernel, &vm.initrd, &vm.cmdline}) {
    int seals = ::fcntl(part->memfd.get(), F_GET_SEALS);
    EXPECT_EQ(seals & (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK),
              F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK);
    EXPECT_EQ(::write(part->memfd.get(), "x", 1), -1);
  }
  // The files may change now: what QEMU boots is what was hashed.
  ASSERT_THAT(WriteFileAtomically(spec_.kernel, "other", 0644), IsOk());
  EXPECT_THAT(ReadSealed(vm.kernel, 16), IsOkAndHolds("K"));
  EXPECT_THAT(ReadSealed(vm.cmdline, 4096), IsOkAndHolds(spec_.cmdline));
}

TEST_F(VmMeasureTest, AnotherCommandLineIsAnotherName) {
  ASSERT_OK_AND_ASSIGN(MeasuredVm a, MeasureVm(spec_, 1 << 20));
  spec_.cmdline += " tao.variant=2";
  ASSERT_OK_AND_ASSIGN(MeasuredVm b, MeasureVm(spec_, 1 << 20));
  EXPECT_NE(a.digest, b.digest);
}

TEST_F(VmMeasureTest, RefusesWhatCannotBeBooted) {
  VmSpec bad = spec_;
  bad.kernel = "vmlinuz";
  EXPECT_THAT(MeasureVm(bad, 1 << 20),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("must be absolute")));
  bad = spec_;
  bad.initrd = dir_.path() + "/missing";
  EXPECT_THAT(MeasureVm(bad, 1 << 20), StatusIs(absl::StatusCode::kNotFound));
  bad = spec_;
  bad.cmdline = "a\nb";
  EXPECT_THAT(MeasureVm(bad, 1 << 20),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("NUL or a newline")));
  bad.cmdline = std::string(5000, 'x');
  EXPECT_THAT(MeasureVm(bad, 1 << 20),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MeasureVm(spec_, 1), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("larger than")));
}

TEST_F(VmMeasureTest, TheFactoryNamesTheVmAndRefusesOtherKinds) {
  VmFactoryOptions options;
  options.accel = "tcg";
  options.qemu = "/bin/true";  // never run here
  ASSERT_OK_AND_ASSIGN(auto factory, VmFactory::Create(options));
  EXPECT_EQ(factory->kind(), "vm");
  EXPECT_EQ(factory->channel_kinds(),
            std::vector<std::string>{"virtio-serial"});
  EXPECT_EQ(factory->description(), "accel tcg");
  ASSERT_OK_AND_ASSIGN(auto program, factory->NewHostedProgram(spec_));
  ASSERT_OK_AND_ASSIGN(MeasuredVm vm, MeasureVm(spec_, 1 << 20));
  ASSERT_EQ(program->identity().subprincipals.size(), 1u);
  EXPECT_EQ(program->identity().subprincipals[0].ToString(),
            absl::StrCat("VM(sha256:", HexEncode(vm.digest), ")"));
  EXPECT_THAT(factory->NewHostedProgram(ProcessSpec{}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a spec of kind 'process'")));
  VmSpec big = spec_;
  big.memory_mib = 1 << 20;
  EXPECT_THAT(
      factory->NewHostedProgram(big),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("VM memory")));
  // A program that never started refuses the life cycle's calls.
  EXPECT_THAT(program->Stop(absl::Seconds(1)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(program->Reap().status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // Only a virtio-serial endpoint will do.
  ChildEndpoint pipe;
  pipe.channel_env = "pipe:3,4";
  EXPECT_THAT(
      program->Start(std::move(pipe)),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("virtio-serial")));
}

// A virtio-serial endpoint as the loop makes it (one end of a socketpair).
ChildEndpoint VirtioEndpoint() {
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  ::close(sv[1]);
  ChildEndpoint endpoint;
  endpoint.fds.push_back({UniqueFd(sv[0]), 5});
  endpoint.channel_env = "virtio:tao";
  return endpoint;
}

TEST_F(VmMeasureTest, AStateDiskOthersMayReadIsRefusedBeforeAnyUidIsTaken) {
  ASSERT_EQ(::geteuid(), 0u) << "the VM tests run as root";
  VmFactoryOptions options;
  options.accel = "tcg";
  options.qemu = "/bin/true";  // never run: the disk is refused first
  ASSERT_OK_AND_ASSIGN(auto factory, VmFactory::Create(options));
  spec_.state_disk = dir_.path() + "/disk";
  ASSERT_THAT(WriteFileAtomically(spec_.state_disk, "", 0644), IsOk());
  ASSERT_OK_AND_ASSIGN(auto program, factory->NewHostedProgram(spec_));
  EXPECT_THAT(program->Start(VirtioEndpoint()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("must be the host's alone")));
  EXPECT_EQ(factory->dynamic_uids_in_use(), 0u);
}

TEST_F(VmMeasureTest, AHostThatIsNotRootStartsNoVm) {
  VmFactoryOptions options;
  options.accel = "tcg";
  options.qemu = "/bin/true";
  ASSERT_OK_AND_ASSIGN(auto factory, VmFactory::Create(options));
  ASSERT_OK_AND_ASSIGN(auto program, factory->NewHostedProgram(spec_));
  // The same program in a child that is no longer root: refused, as the
  // process factory refuses a dynamic identity there.
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(report[0]);
    int code = -1;
    if (::setresuid(65534, 65534, 65534) == 0) {
      absl::Status started = program->Start(VirtioEndpoint());
      code = absl::IsFailedPrecondition(started) &&
                     absl::StrContains(started.message(),
                                       "needs a host running as root")
                 ? 0
                 : 1;
    }
    (void)!::write(report[1], &code, sizeof(code));
    ::_exit(0);
  }
  ::close(report[1]);
  int code = -2;
  ASSERT_EQ(::read(report[0], &code, sizeof(code)),
            static_cast<ssize_t>(sizeof(code)));
  ::close(report[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_EQ(code, 0);
}

TEST(VmFactoryOptionsTest, RefusesARangeThatHoldsAMachineUser) {
  test::TempDir dir;
  const std::string passwd = dir.path() + "/passwd";
  ASSERT_THAT(WriteFileAtomically(passwd, "qemu:x:1509949500:1:::\n", 0644),
              IsOk());
  VmFactoryOptions options;
  options.accel = "tcg";
  options.qemu = "/bin/true";
  options.passwd_file = passwd;
  EXPECT_THAT(VmFactory::Create(options),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("collides with user 'qemu'")));
  options.dynamic_uids = UidRange{0, 10};
  EXPECT_THAT(VmFactory::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(VmFactoryOptionsTest, RefusesAnUnknownAccelAndAMissingQemu) {
  VmFactoryOptions options;
  options.accel = "xen";
  EXPECT_THAT(VmFactory::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("auto, kvm or tcg")));
  options.accel = "tcg";
  options.qemu = "/nonexistent/qemu";
  EXPECT_THAT(VmFactory::Create(options),
              StatusIs(absl::StatusCode::kNotFound));
  options.accel = "auto";
  options.qemu = "/bin/true";
  ASSERT_OK_AND_ASSIGN(auto factory, VmFactory::Create(options));
  EXPECT_EQ(factory->accel(), KvmUsable() ? "kvm" : "tcg");
}

// The admin port's sockets live in a directory of the host's alone: made
// 0700 when missing, refused when others may enter it or when its sockets'
// paths would not fit a unix socket address.
TEST(VmFactoryOptionsTest, TheAdminSocketDirectoryIsTheHostsAlone) {
  test::TempDir dir;
  VmFactoryOptions options;
  options.accel = "tcg";
  options.qemu = "/bin/true";
  options.admin_socket_dir = dir.path() + "/vm";
  ASSERT_THAT(VmFactory::Create(options).status(), IsOk());
  struct stat st;
  ASSERT_EQ(::stat(options.admin_socket_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::chmod(options.admin_socket_dir.c_str(), 0755), 0);
  EXPECT_THAT(VmFactory::Create(options),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr(options.admin_socket_dir)));
  options.admin_socket_dir = dir.path() + "/" + std::string(100, 'd');
  EXPECT_THAT(VmFactory::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("too long for a unix socket")));
}

// TCG settings and a 256 MiB, one-vCPU spec: what the QemuArgv tests vary.
struct ArgvInputs {
  internal::VmLaunchSettings settings;
  VmSpec spec;
  ArgvInputs() {
    settings.qemu = "/usr/bin/qemu-system-x86_64";
    settings.accel = "tcg";
    spec.memory_mib = 256;
    spec.vcpus = 1;
  }
};

TEST(QemuArgvTest, TheAdminPortIsTheHostsLinkOnItsOwnPort) {
  ArgvInputs in;
  internal::VmLaunchSettings& settings = in.settings;
  const VmSpec& spec = in.spec;
  std::vector<std::string> argv = internal::QemuArgv(settings, spec, "tao", "");
  EXPECT_THAT(argv, Not(Contains(HasSubstr("org.tao.admin"))));
  settings.admin_socket = "/run/tao/vm/vm-1.sock";
  argv = internal::QemuArgv(settings, spec, "tao", "");
  // A connected socket (the host's bridge holds the other end): QEMU
  // itself listens on nothing.
  EXPECT_THAT(argv, Contains("socket,id=admin,fd=9"));
  EXPECT_THAT(argv, Not(Contains(HasSubstr("server=on"))));
  EXPECT_THAT(argv, Contains("virtserialport,bus=vserial.0,chardev=admin,"
                             "name=org.tao.admin"));
  // QEMU gets the host's descriptor, never the path: its uid may not
  // create or open anything there.
  EXPECT_THAT(argv, Not(Contains(HasSubstr("/run/tao/vm"))));
}

TEST(QemuArgvTest, NoDefaultsNoNetworkTheMeasuredPartsByDescriptor) {
  ArgvInputs in;
  const internal::VmLaunchSettings& settings = in.settings;
  VmSpec& spec = in.spec;
  std::vector<std::string> argv =
      internal::QemuArgv(settings, spec, "tao", "console=ttyS0 a=b");
  EXPECT_EQ(argv[0], settings.qemu);
  EXPECT_THAT(argv, Contains("-nodefaults"));
  EXPECT_THAT(argv, Contains("/dev/fd/3"));
  EXPECT_THAT(argv, Contains("/dev/fd/4"));
  EXPECT_THAT(argv, Contains("console=ttyS0 a=b"));
  EXPECT_THAT(argv, Contains("q35,accel=tcg"));
  EXPECT_THAT(argv,
              Contains("virtserialport,bus=vserial.0,chardev=tao,name=tao"));
  EXPECT_THAT(argv, Contains("panic=exit-failure"));
  EXPECT_THAT(argv, Not(Contains("-nic")));
  EXPECT_THAT(argv, Not(Contains("-drive")));
  spec.network = true;
  spec.state_disk = "/var/lib/vm.img";
  argv = internal::QemuArgv(settings, spec, "tao", "");
  EXPECT_THAT(argv, Contains("-nic"));
  // The disk by the host's descriptors (QEMU's uid may not reopen it).
  EXPECT_THAT(argv, Contains("fd=7,set=1"));
  EXPECT_THAT(argv, Contains("fd=8,set=1"));
  EXPECT_THAT(argv, Contains(HasSubstr("file=/dev/fdset/1,format=raw")));
  EXPECT_THAT(argv, Not(Contains(HasSubstr("/dev/fd/7"))));
  // The disk's path itself never reaches QEMU.
  EXPECT_THAT(argv, Not(Contains(HasSubstr("/var/lib/vm.img"))));
}

// A monitor whose events are `lines`, already closed by its QEMU.
std::unique_ptr<QmpClient> MonitorThatSaid(const std::string& lines) {
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  auto client = std::make_unique<QmpClient>(UniqueFd(sv[0]));
  std::string all = "{\"QMP\": {\"version\": {}}}\r\n" + lines;
  EXPECT_EQ(::write(sv[1], all.data(), all.size()),
            static_cast<ssize_t>(all.size()));
  ::close(sv[1]);
  EXPECT_THAT(client->Drain(), IsOk());
  return client;
}

TEST(ClassifyVmExitTest, TellsPanicFromCrashFromPowerOff) {
  ExitStatus clean{false, 0};
  ExitStatus failed{false, 1};
  ExitStatus segv{true, SIGSEGV};
  ExitStatus killed{true, SIGKILL};
  auto off = MonitorThatSaid(
      "{\"event\": \"SHUTDOWN\", \"data\": {\"reason\": "
      "\"guest-shutdown\"}}\r\n");
  EXPECT_EQ(internal::ClassifyVmExit(clean, off.get(), false),
            "clean power-off");
  auto panic = MonitorThatSaid(
      "{\"event\": \"GUEST_PANICKED\", \"data\": {\"action\": "
      "\"exit-failure\"}}\r\n");
  EXPECT_EQ(internal::ClassifyVmExit(failed, panic.get(), false),
            "guest panic");
  auto nothing = MonitorThatSaid("");
  EXPECT_EQ(internal::ClassifyVmExit(segv, nothing.get(), false),
            "QEMU crashed (signal 11 (Segmentation fault))");
  EXPECT_EQ(internal::ClassifyVmExit(failed, nothing.get(), false),
            "QEMU failed (exit 1)");
  EXPECT_EQ(internal::ClassifyVmExit(killed, nothing.get(), true),
            "killed by the host");
  EXPECT_EQ(internal::ClassifyVmExit(killed, nullptr, false),
            "QEMU crashed (signal 9 (Killed))");
}

}  // namespace
}  // namespace tao
