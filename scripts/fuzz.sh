#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) in build-fuzz/ and runs
# each for SECONDS (default 30), JOBS at a time (default 1), starting from the
# seed corpus in fuzz/corpus/<target>. New inputs go to a scratch corpus
# (fuzz/corpus is left as it is); a crash, leak or timeout stops with its
# input saved under build-fuzz/artifacts/<target>/, to be added to
# fuzz/regressions/<target>/ once fixed.
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
#   JOBS=2 bash scripts/fuzz.sh 600
#
# Prints, per target: executions, coverage (cov/ft) and the result.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-30}
shift || true
build=$root/build-fuzz
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DTAO_FUZZ=ON \
  -DTAO_BUILD_TESTS=OFF -DTAO_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  targets=(admin_link attestation domain_policy frame principal program_signature qmp sealed_bundle
           seal_policy seal_policy_text shm_ring taohost_config)
  # The enclave manifest parser (program_factory/enclave/).
  targets+=(enclave_manifest)
fi
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}"

run_one() {
  local target=$1 work=$build/fuzz-work/$target
  rm -rf "$work" "$build/artifacts/$target"
  mkdir -p "$work/corpus" "$build/artifacts/$target"
  cp "$root/fuzz/corpus/$target/"* "$work/corpus/" 2>/dev/null || true
  local status=0
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$build/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/$target/" "$work/corpus" \
      >"$work/log" 2>&1 || status=$?
  local execs cov ft
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -1 | grep -o '[0-9]*' || echo "?")
  ft=$(grep -o 'ft: [0-9]*' "$work/log" | tail -1 | grep -o '[0-9]*' || echo "?")
  if [ "$status" -eq 0 ]; then
    printf '%-18s %12s execs  cov %6s  ft %6s  ok\n' "$target" "$execs" "$cov" "$ft"
  else
    printf '%-18s %12s execs  cov %6s  ft %6s  FAILED (exit %s): see %s\n' \
      "$target" "$execs" "$cov" "$ft" "$status" "$work/log"
    ls "$build/artifacts/$target/"
    return 1
  fi
}

failed=0
jobs=${JOBS:-1}
running=0
pids=()
for target in "${targets[@]}"; do
  run_one "$target" &
  pids+=($!)
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait "${pids[0]}" || failed=$((failed + 1))
    pids=("${pids[@]:1}")
    running=$((running - 1))
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done
passed=$(( ${#targets[@]} - failed ))
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
