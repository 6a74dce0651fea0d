#!/usr/bin/env bash
# Configures and builds the project with ninja into BUILD_DIR (default:
# build/). Arguments go to cmake's configure step; TARGETS (space-separated)
# limits what is built.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build_dir" -G Ninja "$@" >/dev/null
if [ -n "${TARGETS:-}" ]; then
  # shellcheck disable=SC2086
  cmake --build "$build_dir" -j "$(nproc)" --target $TARGETS
else
  cmake --build "$build_dir" -j "$(nproc)"
fi
