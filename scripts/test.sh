#!/usr/bin/env bash
# Installs what is missing, checks the sources' format, builds everything and
# runs every test: first the normal build (build/), then the ASan+UBSan build of
# the tests (build-asan/, all but the packaging tests).
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
BUILD_DIR=$root/build-asan "$root/scripts/build.sh" -DTAO_SANITIZE=ON \
  -DTAO_BUILD_TESTS=ON -DTAO_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug
# Every test but the packaging ones (label "install": cmake --install, the
# .debs, the installed client library), which check artefacts nobody ships
# from a sanitized Debug tree and run alone for 1.5 minutes; the normal
# build above runs them on what ships.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$root/build-asan" -j "$jobs" --output-on-failure -LE install

echo "== fuzz every target briefly (clang, ASan+UBSan, libFuzzer)"
JOBS=$jobs bash "$root/scripts/fuzz.sh" "${FUZZ_SECONDS:-15}"
