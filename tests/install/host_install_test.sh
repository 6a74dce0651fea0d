#!/usr/bin/env bash
# What an operator installs, as the operator finds it:
#
#   host_install_test.sh BUILD_DIR SOURCE_DIR
#
# `cmake --install BUILD_DIR --prefix P` (the whole install) must put taohost
# and the tools (tao-enclave and tao-guest-image among them) in P/bin, the unit in
# P/lib/systemd/system with ExecStart naming P/bin/taohost, the example
# config and the docs in P/share/doc/tao,
# a man page per tool (made from its --help, naming no build path) and bash
# completion per tool. `systemd-analyze verify` passes on the installed unit
# (man pages found under P/share/man), the installed tools run, and the
# completion completes taoctl's commands and flags.
# Prints "N passed, N failed"; exits non-zero on any failure.
set -u
build=$(cd "$1" && pwd) || exit 2
src=$(cd "$2" && pwd) || exit 2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tao-host-install.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
p=$tmp/prefix

passed=0
failed=0
check() {  # description, command...
  local what=$1; shift
  if "$@" >"$tmp/check.out" 2>&1; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $what"; sed 's/^/    | /' "$tmp/check.out" | tail -20; fi
}

check "cmake --install --prefix" cmake --install "$build" --prefix "$p"
for f in bin/taohost bin/taoctl bin/tao-domain bin/tao-attest bin/tao-soft bin/tao-enclave bin/tao-guest-image \
    libexec/tao/tao-guest-relay; do
  check "installed: $f (executable)" test -x "$p/$f"
done
unit=$p/lib/systemd/system/taohost.service
for f in lib/systemd/system/taohost.service share/doc/tao/taohost.conf.example \
    share/doc/tao/taohost.md share/doc/tao/exit-codes.md share/doc/tao/README.md \
    share/man/man8/taohost.8 share/man/man1/taoctl.1 share/man/man1/tao-domain.1 \
    share/man/man1/tao-attest.1 share/man/man1/tao-soft.1 share/man/man1/tao-enclave.1 \
    share/man/man1/tao-guest-image.1 share/doc/tao/enclave-manifest.md \
    share/doc/tao/vm.md \
    share/bash-completion/completions/taohost share/bash-completion/completions/taoctl \
    share/bash-completion/completions/tao-domain share/bash-completion/completions/tao-attest \
    share/bash-completion/completions/tao-soft share/bash-completion/completions/tao-enclave \
    share/bash-completion/completions/tao-guest-image; do
  check "installed: $f" test -s "$p/$f"
done

# The unit: the install's own paths, Type=notify, verified by systemd.
check "the unit names the installed taohost" grep -qx "ExecStart=$p/bin/taohost --config=/etc/tao/taohost.conf" "$unit"
check "the unit is Type=notify" grep -qx "Type=notify" "$unit"
check "the unit has no @placeholders@ left" bash -c "! grep -q '@' '$unit'"
check "the unit has StateDirectory, RuntimeDirectory, LimitNOFILE" \
  bash -c "grep -q '^StateDirectory=tao' '$unit' && grep -q '^RuntimeDirectory=tao' '$unit' && grep -q '^LimitNOFILE=' '$unit'"
MANPATH=$p/share/man systemd-analyze verify "$unit" >"$tmp/verify.out" 2>&1
rc=$?
check "systemd-analyze verify of the installed unit: exit 0, no complaint (got $rc)" \
  bash -c "[ $rc -eq 0 ] && [ ! -s '$tmp/verify.out' ] || { cat '$tmp/verify.out'; false; }"

# Man pages: they render, say what --help says, name no build path.
for page in "$p"/share/man/man*/*; do
  name=$(basename "$page"); name=${name%.*}
  MANPAGER=cat MANWIDTH=100 man -l "$page" >"$tmp/page.txt" 2>/dev/null
  check "man $name renders with its NAME and the exit codes" \
    bash -c "grep -q '^NAME' '$tmp/page.txt' && grep -q '3  not found' '$tmp/page.txt'"
  check "man $name names no build or source path" \
    bash -c "! grep -qF -e '$build' -e '$src' -e '.cc' '$page'"
done

# tao-guest-image's page is useful on its own: the summary, every flag, the
# examples and what its exit codes mean.
page=$p/share/man/man1/tao-guest-image.1
MANPAGER=cat MANWIDTH=100 man -l "$page" >"$tmp/guest.txt" 2>/dev/null
check "man tao-guest-image: NAME says what it builds" \
  grep -q "tao-guest-image - build a VM guest's initramfs" "$tmp/guest.txt"
for flag in kernel_dir taohost config output files modules busybox init kernel_out \
    measure kernel_file initrd_file cmdline json help version; do
  check "man tao-guest-image: --$flag" grep -q -- "^ *--$flag" "$tmp/guest.txt"
done
check "man tao-guest-image: the examples, whole" \
  bash -c "grep -q '^ *Examples:' '$tmp/guest.txt' &&
           grep -qF -- '--kernel_dir=/var/cache/tao/guest-kernel \\' '$tmp/guest.txt' &&
           grep -qF -- \"--cmdline='console=ttyS0 quiet panic=-1 TAO_CHANNEL=virtio:tao'\" '$tmp/guest.txt'"
check "man tao-guest-image: its own exit codes" grep -q "It exits 0 when the image" "$tmp/guest.txt"

# The installed tools run from the prefix.
check "installed taoctl --help" "$p/bin/taoctl" --help
check "installed taohost --version" "$p/bin/taohost" --version
check "installed tao-domain measure" "$p/bin/tao-domain" measure "$p/bin/taoctl"
# The installed tao-guest-image names a VM (here booted from two small files).
printf 'kernel' >"$tmp/vmlinuz"
printf 'initrd' >"$tmp/initrd"
check "installed tao-guest-image --measure prints a VM name" \
  bash -c "'$p/bin/tao-guest-image' --measure --kernel_file='$tmp/vmlinuz' \
             --initrd_file='$tmp/initrd' --cmdline=quiet | grep -qxE 'VM\\(sha256:[0-9a-f]{64}\\)'"
# The installed tao-enclave measures a manifest, so an administrator can
# write the Execute rule before the first start; a missing entry exits 3.
printf 'EXEC %s\n' "$p/bin/taoctl" >"$tmp/enclave.manifest"
check "installed tao-enclave measure prints Enclave(...) and Args(...)" \
  bash -c "'$p/bin/tao-enclave' measure '$tmp/enclave.manifest' >'$tmp/enclave.out' &&
           sed -n 1p '$tmp/enclave.out' | grep -qxE 'Enclave\\(sha256:[0-9a-f]{64}\\)' &&
           sed -n 2p '$tmp/enclave.out' | grep -qxE 'Args\\(sha256:[0-9a-f]{64}\\)'"
printf 'EXEC %s\n' "$tmp/none" >"$tmp/missing.manifest"
check "installed tao-enclave: a manifest naming a missing entry exits 3" \
  bash -c "'$p/bin/tao-enclave' check '$tmp/missing.manifest'; [ \$? -eq 3 ]"
check "installed tao-guest-image: a missing kernel exits 3" \
  bash -c "'$p/bin/tao-guest-image' --measure --kernel_file='$tmp/none' \
             --initrd_file='$tmp/initrd' --cmdline=quiet; [ \$? -eq 3 ]"

# Bash completion: commands, flags, for the installed taoctl.
completes() {  # expected word, then the words typed
  local want=$1; shift
  PATH=$p/bin:$PATH bash -c '
    . "$1"; shift; want=$1; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _tao
    printf "%s\n" "${COMPREPLY[@]}" | grep -qx -- "$want"' _ \
    "$p/share/bash-completion/completions/taoctl" "$want" "$@"
}
check "completion: taoctl st -> status" completes status taoctl st
check "completion: taoctl --so -> --socket=" completes --socket= taoctl --so
check "completion: tao-domain audit -> audit-verify" completes audit-verify tao-domain audit
check "completion: tao-guest-image --kernel_d -> --kernel_dir=" completes --kernel_dir= tao-guest-image --kernel_d
check "completion: tao-enclave me -> measure" completes measure tao-enclave me

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
