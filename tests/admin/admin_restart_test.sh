#!/usr/bin/env bash
# Restart policies through the admin API, observed with `taoctl events
# --json`: on-failure restarts a failing program with doubling back-off
# (100, 200, 400 ms) and gives up after --max_restarts; always restarts a
# program that exits 0; never does not restart; a program stopped on purpose
# is not restarted whatever its policy; a denied start is an event too.
# shellcheck source=admin_test_lib.sh
. "$(dirname "$0")/admin_test_lib.sh"

make_domain "$work/dom" || { echo "FAIL: could not make the domain"; exit 1; }
run="$work/run"
sock="$run/admin.sock"
if ! start_host host --keys_dir="$work/keys" --domain_dir="$work/dom" --policy_key_file="$work/dom/policy_name" \
    --runtime_dir="$run" --audit_log="$run/audit.log" --state_dir="$run.state" --scrypt_n=1024; then
  failed=$((failed + 1)); finish; exit 1
fi

# The watcher runs in the background until every expected exit has been seen
# (not for a fixed time: on a loaded machine the chains take longer); a
# policy-reloaded event tells us it is subscribed before anything happens.
"$taoctl_bin" --socket="$sock" --json --timeout_ms=60000 events >"$work/events.json" 2>"$work/events.err" &
watcher=$!
deadline=$((SECONDS + 5))
until grep -q '"policy-reloaded"' "$work/events.json" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; do
  ctl reload >/dev/null 2>&1
  sleep 0.1
done
check "the events watcher is subscribed (saw policy-reloaded)" grep -q '"policy-reloaded"' "$work/events.json"

# demo-secret without arguments exits 2 at once: a failing program.
expect_exit 0 "start a failing program with on-failure, back-off 100 ms, at most 3 restarts" \
  ctl --restart=on-failure --backoff_ms=100 --max_restarts=3 start "$secret_bin"
id_fail=$(cat "$work/out")
# Its bundle lives in its state directory: each run may get another dynamic
# uid (another host's program can hold the last one), and the host hands the
# state directory to whichever uid the run has; a file elsewhere, mode 0600,
# would be the first uid's only.
expect_exit 0 "start a succeeding program with always, at most 2 restarts" \
  ctl --state_dir=always-secret --restart=always --backoff_ms=100 --max_restarts=2 \
  start "$secret_bin" "$run.state/programs/always-secret/secret.sealed"
id_always=$(cat "$work/out")
expect_exit 0 "start a failing program with never" ctl --restart=never start "$secret_bin"
id_never=$(cat "$work/out")
expect_exit 0 "start a sleep with always, then stop it" ctl --restart=always --backoff_ms=100 start /bin/sleep 300
id_stopped=$(cat "$work/out")
expect_exit 0 "stop the always-restarting sleep" ctl stop "$id_stopped"
expect_exit 1 "a denied start" ctl --restart=always start /bin/true

# Nine exits in all: 4 on-failure runs, 3 always runs, never's and the
# stopped sleep's.
exits() { grep -c '"kind":"exited"' "$work/events.json" 2>/dev/null || true; }
deadline=$((SECONDS + 45))
until [ "$(exits)" -ge 9 ] || [ "$SECONDS" -ge "$deadline" ]; do sleep 0.2; done
sleep 0.5  # a tenth exit, were there one, would show now
check "the watcher saw the nine exits ($(exits))" test "$(exits)" -eq 9
kill "$watcher" 2>/dev/null
wait "$watcher" 2>/dev/null
expect_exit 5 "events ends with its deadline: exit 5" ctl --timeout_ms=300 events
check "every line is JSON" python3 -c '
import json, sys
for line in open(sys.argv[1]):
    json.loads(line)' "$work/events.json"

# chain FIRST_ID: a line "id:ms-after-the-previous-exit:exit-status-of-the-previous"
# for each run restarted from FIRST_ID, in order, then "end:<exit status of the last>".
chain() {
  python3 - "$work/events.json" "$1" <<'EOF'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
exited = {int(e["id"]): e for e in events if e["kind"] == "exited"}
restarted = {int(e.get("previous_id", 0)): e for e in events if e["kind"] == "restarted"}
cur, out = int(sys.argv[2]), []
while cur in restarted:
    nxt = restarted[cur]
    gap = int(nxt["time_unix_ms"]) - int(exited[cur]["time_unix_ms"])
    out.append("%s:%d:%s" % (nxt["id"], gap, exited[cur]["detail"]))
    cur = int(nxt["id"])
out.append("end:%s" % (exited[cur]["detail"] if cur in exited else "running"))
print("\n".join(out))
EOF
}

# on-failure: three restarts, 100, 200, 400 ms after each exit, then none.
mapfile -t runs < <(chain "$id_fail")
echo "on-failure chain: ${runs[*]}"  # for the log
check "on-failure: restarted exactly 3 times" test "${#runs[@]}" -eq 4
check "on-failure: every run exited 2, the last too" test "${runs[3]:-}" = "end:exit 2"
gaps=()
for i in 0 1 2; do gaps+=("$(echo "${runs[$i]:-x:0:x}" | cut -d: -f2)"); done
check "on-failure: 1st restart >= 100 ms after the exit (${gaps[0]} ms)" test "${gaps[0]}" -ge 100
check "on-failure: 2nd restart >= 200 ms after the exit (${gaps[1]} ms)" test "${gaps[1]}" -ge 200
check "on-failure: 3rd restart >= 400 ms after the exit (${gaps[2]} ms)" test "${gaps[2]}" -ge 400
check "on-failure: the gaps grow (${gaps[*]})" test "${gaps[0]}" -lt "${gaps[1]}" -a "${gaps[1]}" -lt "${gaps[2]}"
check "on-failure: no gap far beyond its back-off (${gaps[*]})" \
  test "${gaps[0]}" -lt 1000 -a "${gaps[1]}" -lt 1100 -a "${gaps[2]}" -lt 1300
last_fail=$(echo "${runs[2]:-0}" | cut -d: -f1)
expect_exit 0 "list --json" ctl --json list
cp "$work/out" "$work/list.json"
check "list: the last on-failure run counts 3 restarts and names its predecessor" test \
  "$(json_eval "$work/list.json" "[(o['state'], o['restart'], o['restarts'], o['exit_status']) for o in objs if o['id'] == $last_fail]")" = \
  "[('exited', 'on-failure', 3, 'exit 2')]"
check "list: four on-failure runs are listed" test \
  "$(json_eval "$work/list.json" "sum(1 for o in objs if o['path'] == '$secret_bin' and o['restart'] == 'on-failure')")" = 4

# always: a program that exits 0 is restarted (twice, its limit).
mapfile -t runs < <(chain "$id_always")
echo "always chain: ${runs[*]}"
check "always: a program that exits 0 is restarted, twice" test "${#runs[@]}" -eq 3
check "always: its runs exited 0" test "$(echo "${runs[0]:-x:0:x}" | cut -d: -f3-)" = "exit 0"
check "always: the last run exited 0 too" test "${runs[2]:-}" = "end:exit 0"

# never: no restart.
mapfile -t runs < <(chain "$id_never")
check "never: not restarted (${runs[*]})" test "${runs[*]}" = "end:exit 2"

# stopped on purpose: not restarted even with always.
mapfile -t runs < <(chain "$id_stopped")
check "always, but stopped: not restarted (${runs[*]})" test "${runs[*]}" = "end:signal 15 (Terminated)"

check "a denied start is an event with the domain's reason" python3 -c '
import json, sys
events = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
denied = [e for e in events if e["kind"] == "denied"]
assert len(denied) == 1, denied
assert "no rule grants Execute" in denied[0]["detail"], denied[0]
' "$work/events.json"
check "started events for each program started" python3 -c '
import json, sys
events = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
started = sorted(int(e["id"]) for e in events if e["kind"] == "started")
assert started == sorted(int(i) for i in sys.argv[2:]), started
' "$work/events.json" "$id_fail" "$id_always" "$id_never" "$id_stopped"

# The text form of events.
"$taoctl_bin" --socket="$sock" --timeout_ms=60000 events >"$work/events.txt" 2>/dev/null &
watcher=$!
deadline=$((SECONDS + 5))
until grep -q 'policy-reloaded' "$work/events.txt" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; do
  ctl reload >/dev/null 2>&1
  sleep 0.1
done
ctl --restart=on-failure --backoff_ms=100 --max_restarts=1 start "$secret_bin" >/dev/null 2>&1
deadline=$((SECONDS + 30))
until grep -q ' restarted ' "$work/events.txt" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; do sleep 0.2; done
kill "$watcher" 2>/dev/null
wait "$watcher" 2>/dev/null
check "events as text: restarted, with the run it replaces" \
  grep -q '^[0-9:]* restarted [0-9]* (after [0-9]*) '"$secret_bin"'$' "$work/events.txt"

expect_exit 0 "shutdown" ctl shutdown
host_exit "$host_pid" 10
check "taohost exits 0 (got $host_status)" test "$host_status" = 0

finish
