#!/usr/bin/env bash
# Installs the Debian 12 packages the project needs to build, test and benchmark.
# Idempotent: packages already present are skipped; apt-get runs only when something is missing.
# Run as root (or with sudo available) on a fresh Debian 12 machine.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libssl-dev openssl
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libgoogle-glog-dev libgflags-dev
  libgtest-dev libgmock-dev googletest
  libbenchmark-dev
  # The sanitized test build and the fuzzers: clang, its runtimes, lld, and
  # llvm-14 for llvm-symbolizer (clang's sanitizers name source lines with it).
  clang clang-format libclang-rt-14-dev lld llvm-14
  # The enclave sandbox's seccomp allow-list (program_factory/enclave/).
  libseccomp-dev
)

# operator: sd_notify readiness in taohost (libsystemd), the unit's
# `systemd-analyze verify` and man pages in tests/install, Debian packages
# (CPack's DEB generator and dpkg-shlibdeps).
packages+=(libsystemd-dev systemd man-db dpkg-dev)
# The tpm2 root (docs/tpm2-root.md): tpm2-tss ESYS to build, and swtpm and
# tpm2-tools for its tests (which start their own swtpm) and benchmark.
packages+=(libtss2-dev swtpm swtpm-tools tpm2-tools)
# bench/enclave: bubblewrap, the baseline an enclave's start is compared to.
packages+=(bubblewrap)

# The VM factory (docs/vm.md): QEMU and, for the guest image, a static
# busybox and binutils' objcopy (the tests strip debug sections).
packages+=(qemu-system-x86 busybox-static binutils)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
else
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The VM guests' kernel: Debian's cloud kernel package, downloaded and
# unpacked (never installed on this machine) where tests/vm and bench/vm
# look for it (TAO_GUEST_KERNEL_DIR).
guest_kernel_dir=${TAO_GUEST_KERNEL_DIR:-/var/cache/tao/guest-kernel}
if [ ! -d "$guest_kernel_dir/lib/modules" ]; then
  pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
    sed -n 's/^  Depends: \(linux-image-.*-cloud-amd64\(-unsigned\)\?\)$/\1/p' | head -n 1)
  if [ -z "$pkg" ]; then
    $SUDO apt-get update -qq
    pkg=$(apt-cache depends linux-image-cloud-amd64 |
      sed -n 's/^  Depends: \(linux-image-.*-cloud-amd64\(-unsigned\)\?\)$/\1/p' | head -n 1)
  fi
  echo "setup: unpacking $pkg into $guest_kernel_dir"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq "$pkg" 2>/dev/null)
  $SUDO mkdir -p "$guest_kernel_dir"
  $SUDO dpkg-deb -x "$tmp"/*.deb "$guest_kernel_dir"
  rm -rf "$tmp"
fi
echo "setup: done"
