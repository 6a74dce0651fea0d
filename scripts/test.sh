#!/usr/bin/env bash
# Installs what is missing, checks the sources' format, builds everything and
# runs every test: first the normal build (build/, GCC), then the ASan+UBSan
# build of the tests (build-asan/, clang, all but the packaging tests).
# Exits non-zero if any step or test fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
"$root/scripts/setup.sh"

echo "== format (.clang-format, Google style)"
"$root/scripts/check_format.sh"

echo "== build (RelWithDebInfo) and test"
BUILD_DIR=$root/build "$root/scripts/build.sh" -DTAO_SANITIZE=OFF \
  -DTAO_BUILD_TESTS=ON -DTAO_BUILD_BENCH=ON
ctest --test-dir "$root/build" -j "$jobs" --output-on-failure

echo "== build with AddressSanitizer + UndefinedBehaviorSanitizer and test"
# With clang, line tables only (-g1: enough for sanitizer reports) and lld:
# the sanitized build takes half the time it takes with GCC (each compiler
# builds the project warning-free; the normal build above is GCC's).
# (The compilers as cache variables: an old GCC build-asan/ is reconfigured.)
BUILD_DIR=$root/build-asan "$root/scripts/build.sh" \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DTAO_SANITIZE=ON -DTAO_BUILD_TESTS=ON -DTAO_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 \
  -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld -DCMAKE_SHARED_LINKER_FLAGS=-fuse-ld=lld
# Every test but the packaging ones (label "install": cmake --install, the
# .debs, the installed client library), which check artefacts nobody ships
# from a sanitized Debug tree and run alone for 1.5 minutes; the normal
# build above runs them on what ships.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$root/build-asan" -j "$jobs" --output-on-failure -LE install

echo "== fuzz every target briefly (clang, ASan+UBSan, libFuzzer)"
JOBS=$jobs bash "$root/scripts/fuzz.sh" "${FUZZ_SECONDS:-15}"
