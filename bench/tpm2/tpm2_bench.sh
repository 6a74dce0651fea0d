#!/usr/bin/env bash
# Start to admin ready of a tpm2-root taohost (against a swtpm this script
# starts on a unix socket) vs a soft-root taohost (the baseline: keys under
# a passphrase, scrypt N=2^15 as shipped), with the TPM's own command time
# (every ESYS call, as the root logs it) broken out. Restarts only (the
# keys exist); the median of RUNS runs (default 7) of each.
# Usage: tpm2_bench.sh BUILD_DIR [RUNS]
# Pin it with taskset (e.g. taskset -c 1 bash tpm2_bench.sh build); the
# script says whether it ran pinned. swtpm is stopped on exit.
set -uo pipefail
build=$(cd "${1:?usage: tpm2_bench.sh BUILD_DIR [RUNS]}" && pwd)
runs=${2:-7}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../tests/admin/admin_test_lib.sh
. "$here/../../tests/admin/admin_test_lib.sh" "$build/apps/taohost/taohost" \
  "$build/apps/taoctl/taoctl" "$build/apps/tao_domain/tao-domain" \
  "$build/apps/tao_attest/tao-attest" "$build/apps/demo_secret/demo-secret" \
  "$build/apps/demo_attest/demo-attest"
allowed=$(awk '/Cpus_allowed_list/ {print $2}' /proc/self/status)
if [ "$allowed" = "0-$(($(nproc --all) - 1))" ]; then pinned="not pinned"; else pinned="pinned to CPUs $allowed"; fi

mkdir -m 0700 "$work/swtpm"
tpm_sock="$work/swtpm/sock"
swtpm socket --tpm2 --tpmstate dir="$work/swtpm" \
  --server type=unixio,path="$tpm_sock" --ctrl type=unixio,path="$tpm_sock.ctrl" \
  --flags not-need-init,startup-clear >"$work/swtpm/log" 2>&1 &
swtpm_pid=$!
trap 'kill -TERM $swtpm_pid 2>/dev/null; wait $swtpm_pid 2>/dev/null; cleanup 2>/dev/null' EXIT
for _ in $(seq 100); do [ -S "$tpm_sock" ] && break; sleep 0.05; done
make_domain "$work/dom"

common=(--domain_dir="$work/dom" --policy_key_file="$work/dom/policy_name"
  --runtime_dir="$work/run" --admin_socket="$work/admin.sock"
  --state_dir="$work/hoststate")
tpm_args=(--root=tpm2 --tpm2_tcti="swtpm:path=$tpm_sock" --tpm2_pcrs=0,2,4,7
  --keys_dir="$work/tkeys" "${common[@]}")
soft_args=(--keys_dir="$work/skeys" "${common[@]}")

# once LABEL ARGS...: one start to "admin socket ready" (ms) and the TPM
# time the root logged (ms, 0 for soft), then a clean stop.
once() {
  local label=$1; shift
  local t0 t1
  t0=$(date +%s%N)
  start_host "$label" "$@" >/dev/null || { echo "start failed" >&2; return 1; }
  t1=$(date +%s%N)
  local tpm open
  tpm=$(sed -n 's/.*tpm2: [0-9]* TPM commands took \([0-9.]*\) ms.*/\1/p' "$work/$label.err")
  open=$(sed -n 's/.*root opened in \([0-9.]*\) ms.*/\1/p' "$work/$label.err")
  kill -TERM "$host_pid"; host_exit "$host_pid" 10
  echo "$(( (t1 - t0) / 1000 )) ${tpm:-0} ${open:-0}"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

once first-tpm "${tpm_args[@]}" >/dev/null
once first-soft "${soft_args[@]}" >/dev/null
: >"$work/tpm.txt"; : >"$work/soft.txt"
for i in $(seq "$runs"); do
  once "tpm$i" "${tpm_args[@]}" >>"$work/tpm.txt"
  once "soft$i" "${soft_args[@]}" >>"$work/soft.txt"
done
tpm_total=$(awk '{print $1/1000}' "$work/tpm.txt" | median)
tpm_cmd=$(awk '{print $2}' "$work/tpm.txt" | median)
tpm_own=$(awk '{print $1/1000 - $2}' "$work/tpm.txt" | median)
soft_total=$(awk '{print $1/1000}' "$work/soft.txt" | median)
tpm_open=$(awk '{print $3}' "$work/tpm.txt" | median)
tpm_open_own=$(awk '{print $3 - $2}' "$work/tpm.txt" | median)
soft_open=$(awk '{print $3}' "$work/soft.txt" | median)
cmds=$(sed -n 's/.*tpm2: \([0-9]*\) TPM commands took.*/\1/p' "$work/tpm1.err")
echo "start to admin ready, median of $runs restarts, $pinned"
echo "(start: exec until the admin socket answers, polled every 50 ms;"
echo " root Open: as taohost logs it; TPM: every ESYS call, as the root logs it)"
printf '| %-34s | %12s | %12s |\n' "" "start (ms)" "root Open (ms)"
printf '| %-34s | %12s | %12s |\n' "soft root (scrypt N=2^15)" "$soft_total" "$soft_open"
printf '| %-34s | %12s | %12s |\n' "tpm2 root (swtpm)" "$tpm_total" "$tpm_open"
printf '| %-34s | %12s | %12s |\n' "  of which TPM commands ($cmds)" "$tpm_cmd" "$tpm_cmd"
printf '| %-34s | %12s | %12s |\n' "  our own time (minus TPM)" "$tpm_own" "$tpm_open_own"
