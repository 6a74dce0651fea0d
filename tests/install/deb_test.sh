#!/usr/bin/env bash
# The Debian packages, as an operator and a hosted program's author get them:
#
#   deb_test.sh BUILD_DIR SOURCE_DIR
#
# Builds them with CPack from BUILD_DIR (already built) into a scratch
# directory, checks their control fields, unpacks both (dpkg-deb -x) into a
# scratch root and checks what each holds (tao-host: the host, the tools
# with tao-enclave and tao-guest-image, the unit, man pages, completion, docs and no
# library; libtao-client-dev: the
# client library, its headers, CMake package and pkg-config file and no
# binary), runs `systemd-analyze verify --root` on the unpacked unit (the
# root gets the base system's targets and /bin/sh, which the package expects
# from the system), runs the unpacked taoctl, and builds
# examples/hosted_program against the unpacked -dev package with CMake and
# with pkg-config. Prints "N passed, N failed".
set -u
build=$(cd "$1" && pwd) || exit 2
src=$(cd "$2" && pwd) || exit 2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tao-deb.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root

passed=0
failed=0
check() {  # description, command...
  local what=$1; shift
  if "$@" >"$tmp/check.out" 2>&1; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $what"; sed 's/^/    | /' "$tmp/check.out" | tail -20; fi
}

check "cpack -G DEB" cpack --config "$build/CPackConfig.cmake" -B "$tmp/pkg"
host_deb=$(ls "$tmp"/pkg/tao-host_*.deb 2>/dev/null | head -1)
dev_deb=$(ls "$tmp"/pkg/libtao-client-dev_*.deb 2>/dev/null | head -1)
check "two packages: tao-host and libtao-client-dev" test -f "$host_deb" -a -f "$dev_deb"
if [ ! -f "$host_deb" ] || [ ! -f "$dev_deb" ]; then
  echo "$passed passed, $failed failed"; exit 1
fi
field() { dpkg-deb -f "$1" "$2"; }
check "tao-host: its name and version" test "$(field "$host_deb" Package) $(field "$host_deb" Version)" = "tao-host 0.1.0"
check "tao-host: depends on the libraries it links (grpc++, systemd)" \
  bash -c "dpkg-deb -f '$host_deb' Depends | grep -q 'libgrpc++' && dpkg-deb -f '$host_deb' Depends | grep -q libsystemd0"
check "libtao-client-dev: depends on the -dev packages its headers include" \
  bash -c "dpkg-deb -f '$dev_deb' Depends | grep -q libabsl-dev && dpkg-deb -f '$dev_deb' Depends | grep -q libprotobuf-dev"
absl_upstream=$(dpkg-query -W -f='${Version}' libabsl-dev | sed 's/[.-].*//')
protobuf_upstream=$(dpkg-query -W -f='${Version}' libprotobuf-dev | sed 's/-.*//')
check "the -dev package pins the Abseil its archive was built with ($absl_upstream)" \
  bash -c "dpkg-deb -f '$dev_deb' Depends | grep -qF 'libabsl-dev (>= $absl_upstream~), libabsl-dev (<< $((absl_upstream + 1))~)'"
check "and the protobuf ($protobuf_upstream)" \
  bash -c "dpkg-deb -f '$dev_deb' Depends | grep -qF 'libprotobuf-dev (>= $protobuf_upstream~)'"

dpkg-deb -c "$host_deb" | awk '{print $6}' | sed 's|^\./|/|' >"$tmp/host.list"
dpkg-deb -c "$dev_deb" | awk '{print $6}' | sed 's|^\./|/|' >"$tmp/dev.list"
for f in /usr/bin/taohost /usr/bin/taoctl /usr/bin/tao-domain /usr/bin/tao-attest /usr/bin/tao-soft \
    /usr/bin/tao-guest-image /usr/share/man/man1/tao-guest-image.1 /usr/libexec/tao/tao-guest-relay \
    /usr/bin/tao-enclave /usr/share/man/man1/tao-enclave.1 /usr/share/bash-completion/completions/tao-enclave \
    /usr/share/bash-completion/completions/tao-guest-image \
    /usr/lib/systemd/system/taohost.service /usr/share/man/man8/taohost.8 /usr/share/man/man1/taoctl.1 \
    /usr/share/bash-completion/completions/taoctl /usr/share/doc/tao/taohost.conf.example \
    /usr/share/doc/tao/taohost.md /usr/share/doc/tao/exit-codes.md; do
  check "tao-host holds $f" grep -qx "$f" "$tmp/host.list"
done
check "tao-host holds no library or header" bash -c "! grep -E '\\.(a|h)\$|/include/' '$tmp/host.list'"
for f in /usr/lib/libtao-client.a /usr/lib/libtao_client.a /usr/lib/libtao.a \
    /usr/include/tao/tao.h /usr/include/channels/rpc_tao.h \
    /usr/lib/cmake/TaoClient/TaoClientConfig.cmake /usr/lib/pkgconfig/tao-client.pc \
    /usr/lib/pkgconfig/tao-client-shared-deps.pc; do
  check "libtao-client-dev holds $f" grep -qx "$f" "$tmp/dev.list"
done
check "libtao-client-dev holds no binary and nothing of the host" \
  bash -c "! grep -E '/bin/|systemd|libchannels|libprogram_factory|libtao_domain|hosted_program_channel' '$tmp/dev.list'"

mkdir -p "$root"
check "dpkg-deb -x tao-host" dpkg-deb -x "$host_deb" "$root"
check "dpkg-deb -x libtao-client-dev" dpkg-deb -x "$dev_deb" "$root"
unit=$root/usr/lib/systemd/system/taohost.service
check "the unit names /usr/bin/taohost" grep -qx "ExecStart=/usr/bin/taohost --config=/etc/tao/taohost.conf" "$unit"
check "the binaries are stripped (no debug info)" bash -c "! file '$root/usr/bin/taohost' | grep -q 'with debug_info'"
# What the package expects from the system: the base targets and /bin/sh.
mkdir -p "$root/lib/systemd/system" "$root/bin"
cp /lib/systemd/system/*.target "$root/lib/systemd/system/"
cp /bin/sh "$root/bin/sh"
MANPATH=$root/usr/share/man systemd-analyze verify --root="$root" /usr/lib/systemd/system/taohost.service >"$tmp/verify.out" 2>&1
rc=$?
check "systemd-analyze verify of the unpacked unit: exit 0, no complaint (got $rc)" \
  bash -c "[ $rc -eq 0 ] && [ ! -s '$tmp/verify.out' ] || { cat '$tmp/verify.out'; false; }"
check "the unpacked taoctl runs (--help)" "$root/usr/bin/taoctl" --help
check "the unpacked taoctl's help names no build path" \
  bash -c "! '$root/usr/bin/taoctl' --help | grep -qF -e '$build' -e '$src'"
check "the unpacked tao-guest-image runs (--help)" "$root/usr/bin/tao-guest-image" --help
check "the unpacked tao-enclave runs (--help)" "$root/usr/bin/tao-enclave" --help
check "the unpacked tao-guest-relay runs (--help)" "$root/usr/libexec/tao/tao-guest-relay" --help

# A hosted program built against the unpacked -dev package.
cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null)
[[ -n $cxx ]] || cxx=c++
generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
check "examples/hosted_program builds with find_package(TaoClient) from the package" \
  bash -c "cmake -S '$src/examples/hosted_program' -B '$tmp/ex' ${generator[*]} -DCMAKE_CXX_COMPILER='$cxx' \
             -DCMAKE_PREFIX_PATH='$root/usr' -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF &&
           cmake --build '$tmp/ex' && test -x '$tmp/ex/hosted-hello'"
check "it used the package's TaoClient" \
  test "$(sed -n 's/^TaoClient_DIR:[A-Z]*=//p' "$tmp/ex/CMakeCache.txt" 2>/dev/null)" = "$root/usr/lib/cmake/TaoClient"
check "without a host it refuses clearly" \
  bash -c "env -u TAO_CHANNEL '$tmp/ex/hosted-hello' 2>&1 | grep -q 'TAO_CHANNEL is not set'"
check "it links the package's libtao-client.a: no shared Abseil, protobuf or libcrypto" \
  bash -c "LD_TRACE_LOADED_OBJECTS=1 '$tmp/ex/hosted-hello' >'$tmp/ldd.out' &&
           grep -q libc.so '$tmp/ldd.out' && ! grep -E 'lib(absl_|protobuf|crypto)' '$tmp/ldd.out'"
check "examples/hosted_program builds with pkg-config from the package" \
  bash -c "mkdir -p '$tmp/pc' && cd '$tmp/pc' && PKG_CONFIG_PATH='$root/usr/lib/pkgconfig' \
           '$cxx' -std=c++17 -o hosted-hello '$src/examples/hosted_program/main.cc' \
             \$(PKG_CONFIG_PATH='$root/usr/lib/pkgconfig' pkg-config --cflags --libs tao-client)"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
