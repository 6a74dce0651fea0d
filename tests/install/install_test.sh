#!/usr/bin/env bash
# The installed client library, as a hosted program's author sees it.
#
#   install_test.sh BUILD_DIR SOURCE_DIR [HOST]
#
# BUILD_DIR is an already configured and built tree (this script configures
# nothing of it). The script installs the "client" component into a temporary
# prefix, checks what was installed (and that nothing of the host was),
# compiles every installed header on its own, builds examples/hosted_program
# against the prefix in the one-archive form (libtao-client.a) twice (CMake
# find_package + Tao::tao_client, then plain g++ with pkg-config tao-client)
# and checks that neither loads a shared Abseil, protobuf or libcrypto, builds
# it in the shared-deps form (Tao::tao_client_shared_deps, pkg-config
# tao-client-shared-deps) and checks that it does, and runs
# the builds: without TAO_CHANNEL they must fail with the clear message; with
# HOST (tests/install/host_harness.cc, a real listen loop) the CMake build
# must print its name and seal and unseal for real.
# Prints "N passed, N failed"; exits non-zero on any failure.
set -u

if [[ $# -lt 2 || $# -gt 3 ]]; then
  echo "usage: $0 BUILD_DIR SOURCE_DIR [HOST]" >&2
  exit 2
fi
build=$(cd "$1" && pwd) || exit 2
src=$(cd "$2" && pwd) || exit 2
host=${3:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tao-install-test.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
example=$src/examples/hosted_program

passed=0
failed=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() {
  echo "FAIL: $1"
  if [[ -n ${2:-} && -f $2 ]]; then sed 's/^/    | /' "$2" | tail -n 40; fi
  failed=$((failed + 1))
}
finish() {
  echo "$passed passed, $failed failed"
  [[ $failed -eq 0 ]]
  exit $?
}

# The compiler the tree was built with, for both example builds.
cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null)
[[ -n $cxx ]] || cxx=c++
generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi

# --- 1. Install the client component. -------------------------------------
if cmake --install "$build" --prefix "$prefix" --component client \
    >"$tmp/install.log" 2>&1; then
  pass "cmake --install --component client"
else
  fail "cmake --install --component client" "$tmp/install.log"
  finish
fi

# --- 2. Exactly the client library was installed. --------------------------
pc=$(find "$prefix" -name tao-client.pc -print -quit)
config=$(find "$prefix" -name TaoClientConfig.cmake -print -quit)
libdir=$(dirname "$(find "$prefix" -name libtao-client.a -print -quit)")
missing=()
for f in "$libdir/libtao-client.a" "$libdir/libtao.a" "$libdir/libtao_client.a" \
    "$libdir/pkgconfig/tao-client.pc" "$libdir/pkgconfig/tao-client-shared-deps.pc" \
    "$libdir/cmake/TaoClient/TaoClientConfig.cmake" \
    "$libdir/cmake/TaoClient/TaoClientConfigVersion.cmake" \
    "$libdir/cmake/TaoClient/TaoClientTargets.cmake" \
    "$prefix/include/channels/rpc_tao.h" "$prefix/include/channels/fd_channel.h" \
    "$prefix/include/channels/framing.h" "$prefix/include/channels/tao_rpc.pb.h" \
    "$prefix/include/tao/tao.h" "$prefix/include/tao/attestation.pb.h"; do
  [[ -f $f ]] || missing+=("${f#"$prefix"/}")
done
if [[ ${#missing[@]} -eq 0 && -n $pc && -n $config ]]; then
  pass "package files installed (libtao-client.a, libtao.a, libtao_client.a, headers, TaoClient, tao-client.pc, tao-client-shared-deps.pc)"
else
  fail "missing from the install: ${missing[*]:-tao-client.pc or TaoClientConfig.cmake}"
fi

# Nothing of the host, in the component and in a whole install alike.
host_parts='(libchannels|libprogram_factory|libtao_domain|libseal_policy)\.|/hosted_program_channel\.h$|/include/(program_factory|tao_domain|seal_policy)/|/include/tao/(soft_tao|tao_host|key_store)\.h$'
if cmake --install "$build" --prefix "$tmp/whole" >"$tmp/whole.log" 2>&1; then
  leaked=$( (cd "$tmp" && find prefix whole -type f) | grep -E "$host_parts")
  if [[ -z $leaked ]]; then
    pass "no host library or header installed (component and whole install)"
  else
    echo "$leaked" >"$tmp/leaked.txt"
    fail "host parts installed" "$tmp/leaked.txt"
  fi
else
  fail "whole cmake --install" "$tmp/whole.log"
fi

PKG_CONFIG_PATH="$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export PKG_CONFIG_PATH

# --- 3. Every installed header compiles on its own against the prefix. ----
header_failures=0
: >"$tmp/headers.log"
cflags=$(pkg-config --cflags tao-client 2>>"$tmp/headers.log")
while IFS= read -r header; do
  rel=${header#"$prefix/include/"}
  # shellcheck disable=SC2086  # cflags is a list of flags
  if ! (cd "$tmp" && printf '#include "%s"\n' "$rel" |
        "$cxx" -std=c++17 -fsyntax-only $cflags -x c++ - ) >>"$tmp/headers.log" 2>&1; then
    echo "  ^ $rel" >>"$tmp/headers.log"
    header_failures=$((header_failures + 1))
  fi
done < <(find "$prefix/include" -name '*.h' | sort)
if [[ $header_failures -eq 0 ]]; then
  pass "every installed header is self-contained"
else
  fail "$header_failures installed header(s) do not compile alone" "$tmp/headers.log"
fi

# --- 4. The example, built with CMake against the installed package. ------
cmake_build=$tmp/cmake-build
if cmake -S "$example" -B "$cmake_build" "${generator[@]}" \
      -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >"$tmp/cmake.log" 2>&1 &&
    cmake --build "$cmake_build" >>"$tmp/cmake.log" 2>&1 &&
    [[ -x $cmake_build/hosted-hello ]]; then
  pass "example builds with find_package(TaoClient) + Tao::tao_client"
else
  fail "example CMake build" "$tmp/cmake.log"
fi
# The same, in the shared-deps form (Tao::tao_client_shared_deps).
cmake_shared=$tmp/cmake-shared-build
if cmake -S "$example" -B "$cmake_shared" "${generator[@]}" \
      -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DHOSTED_HELLO_SHARED_DEPS=ON \
      >"$tmp/cmake-shared.log" 2>&1 &&
    cmake --build "$cmake_shared" >>"$tmp/cmake-shared.log" 2>&1 &&
    [[ -x $cmake_shared/hosted-hello ]]; then
  pass "example builds with find_package(TaoClient) + Tao::tao_client_shared_deps"
else
  fail "example CMake build, shared-deps form" "$tmp/cmake-shared.log"
fi
found_dir=$(sed -n 's/^TaoClient_DIR:[A-Z]*=//p' "$cmake_build/CMakeCache.txt" 2>/dev/null)
if [[ $found_dir == "$(dirname "$config")" ]] &&
    ! grep -rqsF -e "$build" -e "-I$src" -e "-isystem $src" \
      "$cmake_build/build.ninja" "$cmake_build/CMakeFiles" 2>/dev/null; then
  pass "example used the installed package only (TaoClient_DIR=${found_dir#"$tmp"/})"
else
  echo "TaoClient_DIR=$found_dir" >"$tmp/found.txt"
  grep -rlsF -e "$build" -e "-I$src" "$cmake_build" >>"$tmp/found.txt" 2>/dev/null
  fail "example did not build against the installed package alone" "$tmp/found.txt"
fi

# --- 5. The example, built with plain g++ and pkg-config. -----------------
mkdir -p "$tmp/pc-build"
# shellcheck disable=SC2046  # pkg-config output is a list of flags
if (cd "$tmp/pc-build" &&
    "$cxx" -std=c++17 -o hosted-hello "$example/main.cc" \
      $(pkg-config --cflags --libs tao-client)) >"$tmp/pc.log" 2>&1; then
  pass "example builds with g++ \$(pkg-config --cflags --libs tao-client)"
else
  fail "example pkg-config build" "$tmp/pc.log"
fi
# shellcheck disable=SC2046  # pkg-config output is a list of flags
if (mkdir -p "$tmp/shared-build" && cd "$tmp/shared-build" &&
    "$cxx" -std=c++17 -o hosted-hello "$example/main.cc" \
      $(pkg-config --cflags --libs tao-client-shared-deps)) >"$tmp/shared.log" 2>&1; then
  pass "example builds with g++ \$(pkg-config --cflags --libs tao-client-shared-deps)"
else
  fail "example pkg-config build, shared-deps form" "$tmp/shared.log"
fi

# --- 5b. What each form loads at start (ldd's list, from ld.so itself). ---
# The one-archive builds: no shared Abseil, protobuf or libcrypto at all;
# the shared-deps build: those of the system, as before.
deps_re='lib(absl_|protobuf|crypto)'
for binary in "$cmake_build/hosted-hello" "$tmp/pc-build/hosted-hello"; do
  which=${binary#"$tmp"/}
  [[ -x $binary ]] || continue
  LD_TRACE_LOADED_OBJECTS=1 "$binary" >"$tmp/ldd.out" 2>&1
  if [[ $? -eq 0 && -s $tmp/ldd.out ]] && ! grep -qE "$deps_re" "$tmp/ldd.out"; then
    pass "$which loads $(grep -c . "$tmp/ldd.out") shared objects, none of Abseil, protobuf or libcrypto"
  else
    fail "$which loads shared Abseil, protobuf or libcrypto" "$tmp/ldd.out"
  fi
done
# Nor is OpenSSL linked into them: the client parses what its host sends
# with Principal::ParseFromOwnHost, and every relocated page of libcrypto's
# tables would be paid at each start (bench/client_start/README.md).
for binary in "$cmake_build/hosted-hello" "$tmp/pc-build/hosted-hello"; do
  which=${binary#"$tmp"/}
  [[ -x $binary ]] || continue
  nm "$binary" >"$tmp/nm.out" 2>&1
  openssl_symbols=$(grep -cE ' [TtDdRr] (EVP_|EC_|BN_|OSSL_|OPENSSL_init)' "$tmp/nm.out")
  if [[ -s $tmp/nm.out && $openssl_symbols -eq 0 ]] && grep -q 'TaoFromEnvironment' "$tmp/nm.out"; then
    pass "$which links no OpenSSL code (nm: no EVP_, EC_, BN_, OSSL_ or OPENSSL_init symbol)"
  else
    grep -E ' [TtDdRr] (EVP_|EC_|BN_|OSSL_|OPENSSL_init)' "$tmp/nm.out" | head -20 >>"$tmp/nm.out"
    fail "$which links OpenSSL ($openssl_symbols symbols)" "$tmp/nm.out"
  fi
done
for binary in "$cmake_shared/hosted-hello" "$tmp/shared-build/hosted-hello"; do
  which=${binary#"$tmp"/}
  [[ -x $binary ]] || continue
  LD_TRACE_LOADED_OBJECTS=1 "$binary" >"$tmp/ldd.out" 2>&1
  if grep -q 'libabsl_status\.so' "$tmp/ldd.out" && grep -q 'libprotobuf\.so' "$tmp/ldd.out"; then
    pass "$which loads the system's libabsl_status and libprotobuf"
  else
    fail "$which does not link the shared dependencies" "$tmp/ldd.out"
  fi
done

# --- 6. Run it without a host: a clear refusal, not a crash. --------------
for binary in "$cmake_build/hosted-hello" "$tmp/pc-build/hosted-hello" \
    "$cmake_shared/hosted-hello" "$tmp/shared-build/hosted-hello"; do
  which=${binary#"$tmp"/}
  if [[ ! -x $binary ]]; then
    fail "$which: not built"
    continue
  fi
  env -u TAO_CHANNEL timeout 30 "$binary" >"$tmp/run.out" 2>&1
  rc=$?
  if [[ $rc -ne 0 && $rc -lt 124 ]] &&
      grep -q "TAO_CHANNEL is not set" "$tmp/run.out"; then
    pass "$which without TAO_CHANNEL: exit $rc, \"TAO_CHANNEL is not set\""
  else
    echo "exit $rc" >>"$tmp/run.out"
    fail "$which without TAO_CHANNEL" "$tmp/run.out"
  fi
done
if [[ -x $cmake_build/hosted-hello ]]; then
  # Descriptors that are surely not open: refused by name, not a hang.
  TAO_CHANNEL=pipe:1021,1022 timeout 30 "$cmake_build/hosted-hello" >"$tmp/run.out" 2>&1
  rc=$?
  if [[ $rc -ne 0 && $rc -lt 124 ]] && grep -q "descriptor 1021 is not open" "$tmp/run.out"; then
    pass "TAO_CHANNEL=pipe:1021,1022 (closed fds): exit $rc, \"descriptor 1021 is not open\""
  else
    echo "exit $rc" >>"$tmp/run.out"
    fail "TAO_CHANNEL naming closed descriptors" "$tmp/run.out"
  fi
fi

# --- 7. Run it hosted for real: name, seal, unseal over the pipe channel. -
if [[ -z $host ]]; then
  echo "SKIP: hosted run (no host harness given)"
elif [[ ! -x $host ]]; then
  fail "host harness $host is not an executable"
elif [[ ! -x $cmake_build/hosted-hello ]]; then
  fail "hosted run: the CMake-built example is missing"
else
  timeout 120 "$host" "$cmake_build/hosted-hello" "sealed by the install test" \
    >"$tmp/hosted.out" 2>&1
  rc=$?
  if [[ $rc -eq 0 ]] &&
      grep -q '^my name: key(ecdsa-p256:.*)\.Program(sha256:[0-9a-f]\{64\})' "$tmp/hosted.out" &&
      grep -qx 'unsealed: sealed by the install test' "$tmp/hosted.out"; then
    pass "hosted by a real listen loop: GetTaoName, Seal, Unseal"
  else
    echo "exit $rc" >>"$tmp/hosted.out"
    fail "hosted run under $(basename "$host")" "$tmp/hosted.out"
  fi
fi

finish
