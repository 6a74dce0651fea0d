#!/usr/bin/env bash
# The host's life cycle with real state: what demo-secret seals under one
# taohost it unseals under the next one started with the same keys and
# passphrase (a wrong passphrase starts nothing and changes nothing); SIGTERM
# while programs run, demo-secret runs come and go and admin streams are open
# ends the host with exit 0 within the grace period, leaves none of its
# programs behind (a program that ignores SIGTERM is killed when the grace
# runs out), loses no sealed state, and leaves an audit trail that verifies.
# shellcheck source=admin_test_lib.sh
. "$(dirname "$0")/admin_test_lib.sh"

make_domain "$work/dom" || { echo "FAIL: could not make the domain"; exit 1; }
run="$work/run"
sock="$run/admin.sock"
grace_ms=1500
cat >"$work/taohost.conf" <<EOF
keys_dir: "$work/keys"
domain_dir: "$work/dom"
policy_key_file: "$work/dom/policy_name"
runtime_dir: "$run"
audit_log: "$run/audit.log"
shutdown_grace_ms: $grace_ms
EOF
host_args=(--config="$work/taohost.conf" --scrypt_n=1024)

# seal_run STATE: runs demo-secret STATE to its end; prints its log.
secret_run() {
  local id
  id=$(ctl start "$secret_bin" "$1" 2>/dev/null) || return 1
  [ "$(ctl --timeout_ms=20000 wait "$id" 2>/dev/null)" = "exit 0" ] || return 1
  ctl logs "$id"
}

# --- A host restart keeps sealed data ------------------------------------------
if ! start_host host1 "${host_args[@]}"; then failed=$((failed + 1)); finish; exit 1; fi
name1=$(ctl name)
secret_run "$work/state" >"$work/run1.log"
check "first host: demo-secret sealed a secret" grep -q '^sealed a new secret: sha256:' "$work/run1.log"
digest=$(sed -n 's/^sealed a new secret: //p' "$work/run1.log")
state_sum=$(sha256sum <"$work/state")
expect_exit 0 "shut the first host down" ctl shutdown
host_exit "$host_pid" 10
check "the first host exits 0 (got $host_status)" test "$host_status" = 0

keys_before=$(cd "$work/keys" && sha256sum ./*)
TAO_PASSPHRASE=wrong expect_exit 6 "a host with the wrong passphrase does not start" \
  "$taohost_bin" "${host_args[@]}"
check "it says the passphrase is wrong" stderr_has "wrong passphrase"
check "it serves nothing" test ! -e "$sock"
check "and changes no key file" test "$(cd "$work/keys" && sha256sum ./*)" = "$keys_before"

if ! start_host host2 "${host_args[@]}"; then failed=$((failed + 1)); finish; exit 1; fi
check "the second host has the same name" test "$(ctl name)" = "$name1"
secret_run "$work/state" >"$work/run2.log"
check "second host: demo-secret unsealed the same secret" \
  grep -qx "unsealed the secret: $digest" "$work/run2.log"

# --- SIGTERM during activity -----------------------------------------------------
sleep_pids=()
for i in 1 2 3; do
  if ctl --json start /bin/sleep 300 >"$work/out" 2>"$work/err"; then
    pid=$(json_eval "$work/out" "objs[0]['pid']")
    sleep_pids+=("$pid")
    program_pids+=("$pid")
  fi
done
check "three sleeps started" test "${#sleep_pids[@]}" -eq 3
# One that ignores SIGTERM (the shell execs /bin/sleep with TERM ignored).
ctl --json start "$sh_path" -c 'trap "" TERM; exec /bin/sleep 300' >"$work/out" 2>"$work/err"
stubborn=$(json_eval "$work/out" "objs[0]['pid']" 2>/dev/null)
program_pids+=("${stubborn:-0}")
check "a SIGTERM-ignoring sleep started" test -n "$stubborn"
# Admin streams open across the shutdown.
"$taoctl_bin" --socket="$sock" --json events >"$work/events.json" 2>"$work/events.err" &
events_pid=$!
"$taoctl_bin" --socket="$sock" logs -f "$(ctl --json list | json_eval /dev/stdin "objs[0]['id']")" \
  >/dev/null 2>"$work/follow.err" &
follow_pid=$!
# demo-secret runs, one after another, each with its own state file.
(
  for i in $(seq 1 30); do
    "$taoctl_bin" --socket="$sock" start "$secret_bin" "$work/bg-state-$i" >/dev/null 2>&1 || break
    sleep 0.05
  done
) &
starter=$!
deadline=$((SECONDS + 10))
until [ -e "$work/bg-state-3" ] || [ "$SECONDS" -ge "$deadline" ]; do sleep 0.05; done
check "demo-secret runs are under way" test -e "$work/bg-state-3"
sleep 0.3  # let the stubborn shell reach its exec
children=$(pgrep -P "$host_pid" | tr '\n' ' ')
check "the host has its programs as children ($children)" test "$(echo "$children" | wc -w)" -ge 4

t0=$(now_ms)
kill -TERM "$host_pid"
host_exit "$host_pid" 15
t1=$(now_ms)
check "SIGTERM: taohost exits 0 (got $host_status)" test "$host_status" = 0
check "it waited out the grace for the program that ignores SIGTERM ($((t1 - t0)) ms)" \
  test $((t1 - t0)) -ge $((grace_ms - 100))
# The open events stream must not hold the host up: it ends when the host
# stops, rather than when gRPC's shutdown deadline (2 s) cancels it.
check "it exits within the grace + 1 s, events stream open or not ($((t1 - t0)) ms, grace $grace_ms ms)" \
  test $((t1 - t0)) -lt $((grace_ms + 1000))
# shellcheck disable=SC2086  # $children is a list
for pid in $(printf '%s\n' $children "${sleep_pids[@]}" "$stubborn" | sort -un); do
  check "no program is left behind: pid $pid is gone" bash -c "! [ -e /proc/$pid ]"
done
check "the socket file is gone" test ! -e "$sock"
wait "$starter" 2>/dev/null
check "the events stream ended with the host" wait_gone "$events_pid" 5
check "logs -f ended with the host" wait_gone "$follow_pid" 5
check "the events stream saw the programs exit" grep -q '"kind":"exited"' "$work/events.json"
check "the state sealed before is intact" test "$(sha256sum <"$work/state")" = "$state_sum"
expect_exit 0 "the audit trail verifies" "$domain_bin" audit-verify "$run/audit.log"
check "audit-verify says intact" stdout_has "^intact: [0-9]* records"

# --- And the next host unseals everything that was written -----------------------
if ! start_host host3 "${host_args[@]}"; then failed=$((failed + 1)); finish; exit 1; fi
secret_run "$work/state" >"$work/run3.log"
check "after SIGTERM: the old state unseals to the same secret" \
  grep -qx "unsealed the secret: $digest" "$work/run3.log"
bg_files=0
bg_ok=0
# (A run stopped in the middle of its write may leave bg-state-N.tmp.XXXXXX,
# never a torn bg-state-N: only the real names count.)
for f in "$work"/bg-state-[0-9] "$work"/bg-state-[0-9][0-9]; do
  [ -e "$f" ] || continue
  bg_files=$((bg_files + 1))
  if secret_run "$f" | grep -q '^unsealed the secret: sha256:'; then bg_ok=$((bg_ok + 1)); fi
done
check "every state file written during the activity unseals ($bg_ok of $bg_files)" \
  test "$bg_ok" -eq "$bg_files" -a "$bg_files" -ge 3
expect_exit 0 "shutdown" ctl shutdown
host_exit "$host_pid" 10
check "the last host exits 0 (got $host_status)" test "$host_status" = 0
expect_exit 0 "the audit trail still verifies after three hosts" "$domain_bin" audit-verify "$run/audit.log"

# --- SIGTERM while `taoctl shutdown` is already stopping the programs -----------
# Two stop requests at once: the host must still exit, promptly, and the
# shorter grace (the shutdown call's 500 ms, not SIGTERM's default 10 s) wins.
# (First a host killed with SIGKILL: its socket file stays, stale, and the
# next host replaces it.)
if ! start_host host4 "${host_args[@]}"; then failed=$((failed + 1)); finish; exit 1; fi
{ kill -KILL "$host_pid"; host_exit "$host_pid" 5; } 2>/dev/null
check "a SIGKILLed host leaves its socket file behind" test -S "$sock"
expect_exit 4 "nobody answers on it" ctl list
if ! start_host host5 --keys_dir="$work/keys" --domain_dir="$work/dom" --policy_key_file="$work/dom/policy_name" --runtime_dir="$run" --audit_log="$run/audit.log" --state_dir="$run.state" \
    --scrypt_n=1024; then failed=$((failed + 1)); finish; exit 1; fi
passed=$((passed + 1))
verbose "ok: the next host replaces the stale socket"
expect_exit 0 "and serves on it" ctl list
ctl --json start "$sh_path" -c 'trap "" TERM; exec /bin/sleep 300' >"$work/out" 2>"$work/err"
stubborn=$(json_eval "$work/out" "objs[0]['pid']" 2>/dev/null)
program_pids+=("${stubborn:-0}")
ctl start /bin/sleep 300 >/dev/null 2>&1
sleep 0.3
t0=$(now_ms)
"$taoctl_bin" --socket="$sock" --grace_ms=500 shutdown >"$work/sd.out" 2>"$work/sd.err" &
shutdown_pid=$!
sleep 0.2
kill -TERM "$host_pid"
host_exit "$host_pid" 4
t1=$(now_ms)
check "SIGTERM during a shutdown call: taohost still exits 0 (got $host_status after $((t1 - t0)) ms)" \
  test "$host_status" = 0
check "and within the shutdown call's 500 ms grace + 1 s ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 1500
check "the program that ignored SIGTERM is gone" wait_gone "${stubborn:-0}" 1
wait_gone "$shutdown_pid" 3
expect_exit 0 "the audit trail verifies after all that (a SIGKILLed host too)" \
  "$domain_bin" audit-verify "$run/audit.log"

finish
