#!/usr/bin/env bash
# Stacked hosts against their raw baselines, all in one run (README.md):
#   1. Seal 32 B from a grandchild through a stacked host vs from a child of
#      the root host (the baseline): stacked-probe seal-loop, the median of
#      5 rounds inside each run, the median of 3 runs here.
#   2. Start to admin ready of a stacked host (taoctl start on the root until
#      its admin socket answers) vs a soft-root taohost (exec until its
#      socket answers; the baseline); restarts (keys exist), median of 3.
# Usage: stacked_bench.sh BUILD_DIR [SEALS_PER_ROUND]
# Pin it with taskset (e.g. taskset -c 1 bash stacked_bench.sh build); the
# script says whether it runs pinned.
set -uo pipefail
build=$(cd "${1:?usage: stacked_bench.sh BUILD_DIR [SEALS]}" && pwd)
seals=${2:-2000}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../tests/admin/admin_test_lib.sh
. "$here/../../tests/admin/admin_test_lib.sh" "$build/apps/taohost/taohost" \
  "$build/apps/taoctl/taoctl" "$build/apps/tao_domain/tao-domain" \
  "$build/apps/tao_attest/tao-attest" "$build/apps/demo_secret/demo-secret" \
  "$build/apps/demo_attest/demo-attest"
probe_bin="$build/tests/stacked/stacked-probe"
[ -x "$probe_bin" ] || { echo "build the stacked-probe target first"; exit 2; }
allowed=$(awk '/Cpus_allowed_list/ {print $2}' /proc/self/status)
if [ "$allowed" = "0-$(($(nproc --all) - 1))" ]; then pinned="not pinned"; else pinned="pinned to CPUs $allowed"; fi

m_host=$(measure "$taohost_bin")
m_probe=$(measure "$probe_bin")
uid_rule() {
  extra_rules="
rules { id: \"stacked-hosts\" operations: [\"Execute\", \"Seal\", \"Unseal\", \"Attest\"]
  principals { measurement: \"$m_host\" } }
rules { id: \"probe\" operations: [\"Execute\", \"Seal\"]
  principals { measurement: \"$m_probe\" } ${1:+run_as_uids: $1} }"
  write_policy "$work/dom" && cp "$work/dom/policy.signed" "$work/sdom/" &&
    chmod 0644 "$work/sdom/policy.signed"
}
make_domain "$work/dom"
mkdir -m 0755 "$work/sdom"
cp "$work/dom/policy_name" "$work/sdom/" && chmod 0644 "$work/sdom/policy_name"
uid_rule ""
root_sock="$work/root.sock"
cat >"$work/root.conf" <<CONF
keys_dir: "$work/keys"
domain_dir: "$work/dom"
policy_key_file: "$work/dom/policy_name"
runtime_dir: "$work/run"
admin_socket: "$root_sock"
state_dir: "$work/hoststate"
audit_rate_per_program: 0
CONF
cat >"$work/stacked.conf" <<CONF
root: "stacked"
domain_dir: "$work/sdom"
policy_key_file: "$work/sdom/policy_name"
audit_rate_per_program: 0
CONF
chmod 0644 "$work/stacked.conf"
rctl() { "$taoctl_bin" --socket="$root_sock" "$@"; }
ssock="$work/hoststate/programs/S/run/admin.sock"
sctl() { "$taoctl_bin" --socket="$ssock" "$@"; }
ms_since() { echo $(( $(now_ms) - $1 )); }
median3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
# wait_answer SOCKET: until taoctl name answers on SOCKET (20 s).
wait_answer() {
  local deadline=$((SECONDS + 20))
  until "$taoctl_bin" --socket="$1" name >/dev/null 2>&1; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.005
  done
}

# --- Start to admin ready: the soft root (the baseline) -------------------------
start_host first --config="$work/root.conf" || exit 1
rctl shutdown >/dev/null 2>&1; host_exit "$host_pid" 15
soft=()
for i in 1 2 3; do
  t0=$(now_ms)
  "$taohost_bin" --config="$work/root.conf" >"$work/root$i.out" 2>&1 &
  host_pid=$!; host_pids+=("$host_pid")
  wait_answer "$root_sock" || { echo "root did not start"; exit 1; }
  soft+=("$(ms_since "$t0")")
  [ "$i" = 3 ] || { rctl shutdown >/dev/null 2>&1; host_exit "$host_pid" 15; }
done

# --- Start to admin ready: the stacked host ------------------------------------
start_stacked() {
  rctl --json start --state_dir=S "$taohost_bin" --config="$work/stacked.conf" >"$work/s.json" || return 1
  sid=$(json_eval "$work/s.json" "objs[0]['id']")
  wait_answer "$ssock"
}
start_stacked || { echo "stacked host did not start"; exit 1; }  # first start
stacked=()
for i in 1 2 3; do
  rctl stop "$sid" >/dev/null 2>&1; rctl --timeout_ms=20000 wait "$sid" >/dev/null 2>&1
  t0=$(now_ms)
  start_stacked || { echo "stacked host did not restart"; exit 1; }
  stacked+=("$(ms_since "$t0")")
done
suid=$(rctl --json list | json_eval /dev/stdin "[o for o in objs if str(o.get('id')) == '$sid'][0]['uid']")
uid_rule "$suid"; sctl reload >/dev/null 2>&1; rctl reload >/dev/null 2>&1

# --- Seal 32 B ---------------------------------------------------------------------
seal_run() {  # CTL-FUNCTION [--uid=U]: one seal-loop run; prints ns per call
  local ctlf=$1 id; shift
  id=$($ctlf "$@" start "$probe_bin" seal-loop "$seals" 2>/dev/null) || return 1
  $ctlf --timeout_ms=120000 wait "$id" >/dev/null
  $ctlf logs "$id" | sed -n 's/^seal_ns_per_call //p'
}
child=(); grand=()
for i in 1 2 3; do
  child+=("$(seal_run rctl)")
  grand+=("$(seal_run sctl --uid="$suid")")
done

c=$(median3 "${child[@]}"); g=$(median3 "${grand[@]}")
s0=$(median3 "${soft[@]}"); s1=$(median3 "${stacked[@]}")
echo "stacked hosts, $(date -u +%FT%TZ), $pinned, medians of 3"
printf '%-46s %12s %12s %8s\n' "row" "baseline" "stacked" "ratio"
printf '%-46s %10.0f ns %10.0f ns %7.2fx\n' "Seal 32 B: root's child vs grandchild" "$c" "$g" \
  "$(echo "$g / $c" | bc -l)"
printf '%-46s %10d ms %10d ms %7.2fx\n' "start to admin ready: soft root vs stacked" "$s0" "$s1" \
  "$(echo "$s1 / $s0" | bc -l)"
echo "runs: child ${child[*]} / grandchild ${grand[*]} ns; soft ${soft[*]} / stacked ${stacked[*]} ms"
rctl shutdown >/dev/null 2>&1; host_exit "$host_pid" 15
