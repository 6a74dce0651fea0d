// tao-guest-image: builds a VM guest's initramfs (docs/vm.md, "The guest
// image") from an unpacked Debian kernel package, busybox-static, a
// taohost binary with the shared libraries it needs (found by reading the
// ELF files, never by running them), the guest host's config and its
// programs' files.
#include <dirent.h>
#include <gflags/gflags.h>
#include <sys/stat.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "apps/common/cli.h"
#include "apps/common/json.h"
#include "apps/tao_guest_image/cpio_writer.h"
#include "apps/tao_guest_image/guest_init.h"
#include "program_factory/enclave/library_search.h"
#include "program_factory/vm/vm_measurement.h"
#include "tao/file_util.h"
#include "tao/status_macros.h"

DEFINE_string(kernel_dir, "",
              "The unpacked kernel package (dpkg-deb -x linux-image-*.deb): "
              "its boot/vmlinuz-* and lib/modules/<version>/.");
DEFINE_string(modules, std::string(tao::kDefaultGuestModules),
              "Kernel modules to load at boot, comma-separated (their "
              "dependencies are added first, from each module's depends=).");
DEFINE_string(busybox, "/bin/busybox", "A static busybox.");
DEFINE_string(taohost, "", "The taohost binary: the guest's init.");
DEFINE_string(config, "",
              "The guest taohost's config (/etc/tao/taohost.conf).");
DEFINE_string(files, "",
              "More files, SRC:DST comma-separated (DST absolute in the "
              "guest); ELF executables among them get their libraries too.");
DEFINE_string(output, "", "Where to write the initramfs (cpio newc).");
DEFINE_string(init, "",
              "Instead of taohost: this file is /init (a baseline or test "
              "guest; --taohost and --config are then optional).");
DEFINE_string(kernel_out, "", "Optional: where to copy the kernel (bzImage).");
DEFINE_string(relay, "",
              "Optional: the tao-guest-relay binary. The image's init starts "
              "it, so the host reaches the guest host's admin API through "
              "the VM's admin port (taoctl tree draws the VM's programs).");
DEFINE_string(relay_socket, "/run/tao/admin.sock",
              "With --relay: the guest host's admin socket (its config's "
              "admin_socket).");
DEFINE_bool(json, false,
            "Print the result (the image's size and modules, or --measure's "
            "name) as one JSON object, and errors as JSON on stderr.");
DEFINE_bool(measure, false,
            "Build nothing: print the VM(sha256:..) that --kernel_file, "
            "--initrd_file and --cmdline give (as the VM factory measures).");
DEFINE_string(kernel_file, "", "--measure: the kernel.");
DEFINE_string(initrd_file, "", "--measure: the initrd.");
DEFINE_string(cmdline, "", "--measure: the kernel command line.");

namespace tao {
namespace {

constexpr char kUsage[] =
    R"(build a VM guest's initramfs: taohost as init, its config and programs.

Usage:
  tao-guest-image --kernel_dir=DIR --taohost=FILE --config=FILE
                  --output=FILE [--files=SRC:DST,...] [--modules=a,b]
                  [--busybox=FILE] [--kernel_out=FILE] [--relay=FILE]
                  [--relay_socket=PATH] [--json]
  tao-guest-image --kernel_dir=DIR --init=FILE --output=FILE [...]
  tao-guest-image --measure --kernel_file=FILE --initrd_file=FILE
                  --cmdline=TEXT [--json]

The image is an uncompressed cpio (newc): /init (busybox sh) mounts, loads
the modules, mounts the state disk (/dev/vda on /state) and execs
/bin/taohost --config=/etc/tao/taohost.conf, which is then pid 1. taohost
and every ELF given with --files bring their interpreter and shared
libraries, found by reading the ELF files (nothing is run). The same inputs
give the same bytes (so the same VM name). --init replaces /init (a test or
baseline guest). --relay adds tao-guest-relay, which the init starts: it
joins the VM's admin port to the guest host's admin socket, so that the
host's root can reach it (taoctl tree). --measure builds nothing and prints VM(sha256:..): what the
VM factory adds to its host's name for a VM booted from that kernel, initrd
and command line, so that a domain policy can grant the VM before it first
runs. docs/vm.md.

Examples:
  tao-guest-image --kernel_dir=/var/cache/tao/guest-kernel \
      --taohost=/usr/bin/taohost --config=guest.conf --output=initrd \
      --kernel_out=vmlinuz --files=demo-secret:/bin/demo-secret \
      --relay=/usr/libexec/tao/tao-guest-relay
  tao-guest-image --measure --kernel_file=vmlinuz --initrd_file=initrd \
      --cmdline='console=ttyS0 quiet panic=-1 TAO_CHANNEL=virtio:tao'

It exits 0 when the image (or the name) is written; 2 for a bad flag or an
input it cannot use (a module that depends on itself, a --files entry that
is not SRC:/DST); 3 when a file, the kernel or a module is not found; 6 for
anything else (I/O).)";

constexpr size_t kMaxFile = size_t{512} << 20;

// The one directory lib/modules/<version>/ of the package.
absl::StatusOr<std::string> ModulesDir(const std::string& kernel_dir) {
  std::string base = absl::StrCat(kernel_dir, "/lib/modules");
  DIR* dir = ::opendir(base.c_str());
  if (dir == nullptr) {
    return absl::NotFoundError(absl::StrCat("no ", base));
  }
  std::vector<std::string> versions;
  while (struct dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') versions.push_back(e->d_name);
  }
  ::closedir(dir);
  if (versions.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(base, " must hold exactly one kernel version"));
  }
  return absl::StrCat(base, "/", versions[0]);
}

// Every *.ko under `dir`, by module name ("-" and "_" are the same).
void FindModules(const std::string& dir,
                 std::map<std::string, std::string>* out) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string path = absl::StrCat(dir, "/", name);
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      FindModules(path, out);
    } else if (absl::EndsWith(name, ".ko")) {
      std::string module =
          absl::StrReplaceAll(absl::StripSuffix(name, ".ko"), {{"-", "_"}});
      out->emplace(module, path);
    }
  }
  ::closedir(d);
}

// The module's depends= (from its .modinfo strings).
std::vector<std::string> Depends(absl::string_view ko) {
  constexpr absl::string_view kKey{"\0depends=", 9};
  size_t at = ko.find(kKey);
  if (at == absl::string_view::npos) return {};
  absl::string_view rest = ko.substr(at + kKey.size());
  rest = rest.substr(0, rest.find('\0'));
  std::vector<std::string> out;
  for (absl::string_view d : absl::StrSplit(rest, ',', absl::SkipEmpty())) {
    out.push_back(absl::StrReplaceAll(d, {{"-", "_"}}));
  }
  return out;
}

struct ModulePlan {
  std::vector<std::string> order;              // load order
  std::map<std::string, std::string> content;  // name -> bytes
};

absl::Status AddModule(const std::string& name,
                       const std::map<std::string, std::string>& found,
                       std::set<std::string>* visiting, ModulePlan* plan) {
  if (plan->content.count(name) > 0) return absl::OkStatus();
  if (!visiting->insert(name).second) {
    return absl::InvalidArgumentError(
        absl::StrCat("module ", name, " depends on itself"));
  }
  auto it = found.find(name);
  if (it == found.end()) {
    return absl::NotFoundError(absl::StrCat("no module ", name));
  }
  TAO_ASSIGN_OR_RETURN(std::string bytes,
                       ReadFileToString(it->second, kMaxFile));
  for (const std::string& dep : Depends(bytes)) {
    TAO_RETURN_IF_ERROR(AddModule(dep, found, visiting, plan));
  }
  plan->order.push_back(name);
  plan->content.emplace(name, std::move(bytes));
  return absl::OkStatus();
}

absl::StatusOr<std::string> FindKernel(const std::string& kernel_dir) {
  std::string boot = absl::StrCat(kernel_dir, "/boot");
  DIR* dir = ::opendir(boot.c_str());
  if (dir == nullptr) return absl::NotFoundError(absl::StrCat("no ", boot));
  std::string found;
  while (struct dirent* e = ::readdir(dir)) {
    if (absl::StartsWith(e->d_name, "vmlinuz-")) found = e->d_name;
  }
  ::closedir(dir);
  if (found.empty()) {
    return absl::NotFoundError(absl::StrCat("no vmlinuz-* in ", boot));
  }
  return absl::StrCat(boot, "/", found);
}

bool IsElf(absl::string_view bytes) {
  return absl::StartsWith(bytes,
                          "\x7f"
                          "ELF");
}

// Adds `src` at `dst`, and, for an ELF, its interpreter and libraries at
// their own paths.
absl::Status AddProgramFile(const std::string& src, const std::string& dst,
                            uint32_t mode, CpioWriter* image) {
  TAO_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(src, kMaxFile));
  const bool elf = IsElf(bytes);
  TAO_RETURN_IF_ERROR(
      image->AddFile(absl::StripPrefix(dst, "/"), bytes, elf ? 0755 : mode));
  if (!elf) return absl::OkStatus();
  auto files = CollectTrustedFiles(src, {});
  if (!files.ok()) {
    // A static executable has no interpreter and no libraries.
    if (absl::IsInvalidArgument(files.status()) ||
        absl::IsNotFound(files.status())) {
      return absl::Status(files.status().code(),
                          absl::StrCat(src, ": ", files.status().message()));
    }
    return files.status();
  }
  for (const TrustedFile& f : *files) {
    if (f.role == TrustedFileRole::kEntry) continue;
    std::string path(absl::StripPrefix(f.path, "/"));
    if (image->Has(path)) continue;
    TAO_ASSIGN_OR_RETURN(SealedBytes lib, SealedBytes::Map(f));
    TAO_RETURN_IF_ERROR(image->AddFile(path, lib.view(), 0755));
  }
  return absl::OkStatus();
}

absl::Status Measure() {
  VmSpec spec;
  spec.kernel = FLAGS_kernel_file;
  spec.initrd = FLAGS_initrd_file;
  spec.cmdline = FLAGS_cmdline;
  TAO_ASSIGN_OR_RETURN(MeasuredVm vm, MeasureVm(spec, size_t{1} << 30));
  TAO_ASSIGN_OR_RETURN(Subprincipal name, Subprincipal::Vm(vm.digest));
  if (FLAGS_json) {
    std::cout << JsonObject()
                     .Add("name", name.ToString())
                     .Add("measurement", name.argument())
                     .ToString()
              << "\n";
  } else {
    std::cout << name.ToString() << "\n";
  }
  return absl::OkStatus();
}

absl::Status Build() {
  const bool custom_init = !FLAGS_init.empty();
  if (FLAGS_kernel_dir.empty() || FLAGS_output.empty() ||
      (!custom_init && (FLAGS_taohost.empty() || FLAGS_config.empty()))) {
    return absl::InvalidArgumentError(
        "--kernel_dir, --output and either --init or both --taohost and "
        "--config are needed");
  }
  TAO_ASSIGN_OR_RETURN(std::string modules_dir, ModulesDir(FLAGS_kernel_dir));
  std::map<std::string, std::string> found;
  FindModules(absl::StrCat(modules_dir, "/kernel"), &found);
  ModulePlan plan;
  for (absl::string_view m :
       absl::StrSplit(FLAGS_modules, ',', absl::SkipEmpty())) {
    std::set<std::string> visiting;
    TAO_RETURN_IF_ERROR(AddModule(absl::StrReplaceAll(m, {{"-", "_"}}), found,
                                  &visiting, &plan));
  }

  CpioWriter image;
  for (const char* dir : {"bin", "dev", "proc", "sys", "run", "tmp", "state",
                          "etc/tao", "lib/modules/tao"}) {
    TAO_RETURN_IF_ERROR(image.AddDirectory(dir));
  }
  if (custom_init) {
    TAO_ASSIGN_OR_RETURN(std::string init,
                         ReadFileToString(FLAGS_init, 1 << 20));
    TAO_RETURN_IF_ERROR(image.AddFile("init", init, 0755));
  } else {
    TAO_RETURN_IF_ERROR(image.AddFile("init", kGuestInit, 0755));
  }
  TAO_ASSIGN_OR_RETURN(std::string busybox,
                       ReadFileToString(FLAGS_busybox, kMaxFile));
  TAO_RETURN_IF_ERROR(image.AddFile("bin/busybox", busybox, 0755));
  TAO_RETURN_IF_ERROR(image.AddSymlink("bin/sh", "busybox"));
  TAO_RETURN_IF_ERROR(image.AddFile("etc/passwd", kGuestPasswd, 0644));
  TAO_RETURN_IF_ERROR(image.AddFile("etc/group", kGuestGroup, 0644));
  TAO_RETURN_IF_ERROR(
      image.AddFile("etc/acpi/PWRF/00000080", kPowerButtonAction, 0755));
  std::string list;
  for (const std::string& m : plan.order) {
    absl::StrAppend(&list, m, "\n");
    TAO_RETURN_IF_ERROR(image.AddFile(
        absl::StrCat("lib/modules/tao/", m, ".ko"), plan.content[m], 0644));
  }
  TAO_RETURN_IF_ERROR(image.AddFile("etc/tao/modules", list, 0644));
  if (!FLAGS_config.empty()) {
    TAO_ASSIGN_OR_RETURN(std::string config,
                         ReadFileToString(FLAGS_config, 1 << 20));
    TAO_RETURN_IF_ERROR(image.AddFile("etc/tao/taohost.conf", config, 0644));
  }
  if (!FLAGS_taohost.empty()) {
    TAO_RETURN_IF_ERROR(
        AddProgramFile(FLAGS_taohost, "/bin/taohost", 0755, &image));
  }
  if (!FLAGS_relay.empty()) {
    if (FLAGS_relay_socket.empty() || FLAGS_relay_socket[0] != '/' ||
        FLAGS_relay_socket.find_first_of(" \t\n'\"$`\\") != std::string::npos) {
      return absl::InvalidArgumentError(
          "--relay_socket wants an absolute path without spaces or quotes");
    }
    TAO_RETURN_IF_ERROR(
        AddProgramFile(FLAGS_relay, "/bin/tao-guest-relay", 0755, &image));
    TAO_RETURN_IF_ERROR(image.AddFile(
        "etc/tao/relay.args",
        absl::StrCat("--socket=", FLAGS_relay_socket, "\n"), 0644));
  }
  for (absl::string_view pair :
       absl::StrSplit(FLAGS_files, ',', absl::SkipEmpty())) {
    std::vector<std::string> sd = absl::StrSplit(pair, absl::MaxSplits(':', 1));
    if (sd.size() != 2 || sd[1].empty() || sd[1][0] != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("--files wants SRC:/DST, got '", pair, "'"));
    }
    TAO_RETURN_IF_ERROR(AddProgramFile(sd[0], sd[1], 0644, &image));
  }
  std::string bytes = image.Finish();
  TAO_RETURN_IF_ERROR(WriteFileAtomically(FLAGS_output, bytes, 0644));
  if (FLAGS_json) {
    std::cout << JsonObject()
                     .Add("image", FLAGS_output)
                     .Add("bytes", static_cast<uint64_t>(bytes.size()))
                     .Add("modules", static_cast<uint64_t>(plan.order.size()))
                     .Add("kernel", FLAGS_kernel_out)
                     .ToString()
              << "\n";
  } else {
    std::cout << "guest image " << FLAGS_output << ": " << bytes.size()
              << " bytes, " << plan.order.size() << " modules\n";
  }
  if (!FLAGS_kernel_out.empty()) {
    TAO_ASSIGN_OR_RETURN(std::string kernel_path, FindKernel(FLAGS_kernel_dir));
    TAO_ASSIGN_OR_RETURN(std::string kernel,
                         ReadFileToString(kernel_path, kMaxFile));
    TAO_RETURN_IF_ERROR(WriteFileAtomically(FLAGS_kernel_out, kernel, 0644));
    if (!FLAGS_json) {
      std::cout << "kernel " << FLAGS_kernel_out << " (from " << kernel_path
                << ")\n";
    }
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace tao

int main(int argc, char** argv) {
  std::vector<std::string> args =
      tao::InitApp(tao::kUsage, "apps/tao_guest_image/", &argc, &argv);
  if (!args.empty()) {
    return tao::UsageError(
        absl::StrCat("tao-guest-image: unexpected argument '", args[0],
                     "'; see --help"),
        FLAGS_json);
  }
  absl::Status built = FLAGS_measure ? tao::Measure() : tao::Build();
  if (!built.ok()) {
    return tao::ReportError("tao-guest-image", built, FLAGS_json,
                            absl::IsInvalidArgument(built) ? tao::kExitUsage
                            : absl::IsNotFound(built)      ? tao::kExitNotFound
                                                           : tao::kExitFailure);
  }
  return tao::kExitOk;
}
