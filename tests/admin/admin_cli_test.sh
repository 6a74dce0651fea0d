#!/usr/bin/env bash
# End-to-end test of taohost and taoctl over the real admin socket: start,
# list (table and JSON), logs (and logs -f while the program runs), wait,
# stop (SIGTERM, then SIGKILL after the grace), kill, the documented exit
# codes (refused 1, usage 2, no such program 3, unreachable 4, timed out 5),
# a denied start with the domain's reason, name and info, demo-attest's
# attestation verified by tao-attest, taohost's start-up errors (missing
# domain, bad config, a second host on the same audit trail or socket), and
# shutdown.
# shellcheck source=admin_test_lib.sh
. "$(dirname "$0")/admin_test_lib.sh"

make_domain "$work/dom" || { echo "FAIL: could not make the domain"; exit 1; }
run="$work/run"
sock="$run/admin.sock"
host_args=(--keys_dir="$work/keys" --domain_dir="$work/dom" --policy_key_file="$work/dom/policy_name" --runtime_dir="$run" --audit_log="$run/audit.log" --state_dir="$run.state" --scrypt_n=1024)

# --- --help and start-up errors ----------------------------------------------
expect_exit 0 "taohost --help exits 0" "$taohost_bin" --help
check "taohost --help documents the exit codes" output_has "Exit codes"
expect_exit 0 "taoctl --help exits 0" "$taoctl_bin" --help
check "taoctl --help documents the exit codes" output_has "4  the host is not reachable"

expect_exit 2 "taohost without keys_dir or domain_dir" "$taohost_bin" --runtime_dir="$work/r0"
check "names the missing settings" stderr_has "keys_dir and domain_dir are required"
expect_exit 6 "taohost with a missing domain" \
  "$taohost_bin" --keys_dir="$work/keys0" --domain_dir="$work/no-such-domain" --policy_key_file="$work/no-such-domain/policy_name" \
  --runtime_dir="$work/r1" --audit_log="$work/r1/audit.log" --state_dir="$work/r1.state" --scrypt_n=1024
check "missing domain: the message names the policy file" stderr_has "$work/no-such-domain/policy_name"
check "missing domain: no socket left behind" test ! -e "$work/r1/admin.sock"
printf 'keys_dir: "%s"\nthis is not a config\n' "$work/keys0" >"$work/bad.conf"
expect_exit 2 "taohost with a bad config file" "$taohost_bin" --config="$work/bad.conf"
check "bad config: the message names the file and the line" \
  stderr_has "$work/bad.conf: taohost config: line 2"
printf 'keys_dir: "relative/keys"\ndomain_dir: "%s"\n' "$work/dom" >"$work/rel.conf"
expect_exit 2 "taohost with a relative path in its config" "$taohost_bin" --config="$work/rel.conf"
check "relative path: the message says it must be absolute" stderr_has "must be absolute"
expect_exit 2 "taohost with a missing config file" "$taohost_bin" --config="$work/none.conf"
check "missing config: the message names the file" stderr_has "$work/none.conf"
expect_exit 2 "taohost with a stray argument" "$taohost_bin" "${host_args[@]}" extra
cp -r "$work/dom" "$work/dom-bad"
flip_bit "$work/dom-bad/policy.signed" $(($(stat -c %s "$work/dom-bad/policy.signed") - 3))
expect_exit 6 "taohost with a tampered policy.signed" \
  "$taohost_bin" --keys_dir="$work/keys0" --domain_dir="$work/dom-bad" --policy_key_file="$work/dom-bad/policy_name" \
  --runtime_dir="$work/r2" --audit_log="$work/r2/audit.log" --state_dir="$work/r2.state" --scrypt_n=1024
check "tampered policy: the message names policy.signed" stderr_has "$work/dom-bad/policy.signed"

expect_exit 4 "taoctl with no host on the socket" ctl list
check "unreachable: taoctl says so" stderr_has "is taohost running"

# --- A host -------------------------------------------------------------------
if ! start_host host "${host_args[@]}"; then failed=$((failed + 1)); finish; exit 1; fi
passed=$((passed + 1))
host_name=$(cat "$work/keys/host_name")
check "the admin socket exists" test -S "$sock"
check "the admin socket is mode 0660" test "$(stat -c %a "$sock")" = 660
check "the ready line names the socket" grep -q "admin socket ready at $sock" "$work/host.out"

expect_exit 6 "a second taohost on the same runtime dir refuses to start" \
  "$taohost_bin" --keys_dir="$work/keys" --domain_dir="$work/dom" --policy_key_file="$work/dom/policy_name" --runtime_dir="$run" --audit_log="$run/audit.log" --state_dir="$run.state" --scrypt_n=1024
check "second host: says the audit trail has a writer already" \
  stderr_has "$run/audit.log is already open for writing"
expect_exit 6 "a second taohost on another runtime dir but the same socket refuses to start" \
  "$taohost_bin" --keys_dir="$work/keys" --domain_dir="$work/dom" --policy_key_file="$work/dom/policy_name" --runtime_dir="$work/run2" --audit_log="$work/run2/audit.log" --state_dir="$work/run2.state" \
  --admin_socket="$sock" --scrypt_n=1024
check "second host: says another host is already serving" stderr_has "already serving"
check "the first host still serves after that" ctl list >/dev/null 2>&1
check "the socket is still there" test -S "$sock"

# --- name, info ---------------------------------------------------------------
expect_exit 0 "name" ctl name
check "taoctl name equals keys/host_name" stdout_is "$host_name"
expect_exit 0 "info --json" ctl --json info
cp "$work/out" "$work/info.json"
check "info: one factory, process, with channels pipe, shm and socketpair" test \
  "$(json_eval "$work/info.json" "[(f['name'], sorted(f['channels'])) for f in objs[0]['factories']]")" = \
  "[('process', ['pipe', 'shm', 'socketpair'])]"
check "info: tao_name is the host's name" \
  test "$(json_eval "$work/info.json" "objs[0]['tao_name']")" = "$host_name"
check "info: pid is taohost's" test "$(json_eval "$work/info.json" "objs[0]['pid']")" = "$host_pid"
check "info: domain admintest" test "$(json_eval "$work/info.json" "objs[0]['domain_name']")" = admintest
expect_exit 0 "info as a table" ctl info
check "info table lists the factory" stdout_has "factory:   process (channels: pipe shm socketpair)"

# --- start, wait, logs, list ---------------------------------------------------
expect_exit 0 "start demo-secret" ctl start "$secret_bin" "$work/state1"
id1=$(cat "$work/out")
check "start prints the program's id" grep -qx '[0-9][0-9]*' "$work/out"
expect_exit 0 "wait for demo-secret" ctl --timeout_ms=20000 wait "$id1"
check "wait prints 'exit 0'" stdout_is "exit 0"
expect_exit 0 "logs of demo-secret" ctl logs "$id1"
check "logs show demo-secret's name: the host's name extended by its measurement" \
  stdout_has "^my name: $host_name.Program($m_secret)"
check "logs show that demo-secret sealed a secret" stdout_has "^sealed a new secret: sha256:[0-9a-f]\{64\}$"
digest1=$(sed -n 's/^sealed a new secret: //p' "$work/out")
check "the sealed state file exists, mode 0600" test "$(stat -c %a "$work/state1" 2>/dev/null)" = 600

expect_exit 0 "start --wait demo-secret again (unseals)" ctl --wait start "$secret_bin" "$work/state1"
check "start --wait prints the exit status" stdout_has "^state:    exited (exit 0)"
id2=$(sed -n 's/^id: *//p' "$work/out")
expect_exit 0 "logs of the second run" ctl logs "$id2"
check "the second run unsealed the same secret" stdout_has "^unsealed the secret: $digest1$"
check "and names the sealer" stdout_has "^sealed by: $host_name.Program($m_secret)"

expect_exit 0 "start demo-secret over a socketpair" ctl --channel=socketpair --wait start "$secret_bin" "$work/state1"
id3=$(sed -n 's/^id: *//p' "$work/out")
expect_exit 0 "logs of the socketpair run" ctl logs "$id3"
check "the socketpair run unsealed the same secret" stdout_has "^unsealed the secret: $digest1$"

expect_exit 0 "list" ctl list
check "list prints a header" stdout_has "^ID  *STATE  *PID  *AGE  *EXIT  *CALLS  *RESTART  *PATH  *NAME$"
check "list shows demo-secret's first run, exited with exit 0" \
  grep -q "^$id1  *exited  *[0-9]*  *[0-9]*[smhd]  *exit 0  *[0-9]*  *never  *$secret_bin  *key(ecdsa-p256:SHA256:.*)\.Program(" "$work/out"
expect_exit 0 "list --json" ctl --json list
cp "$work/out" "$work/list.json"
check "list --json: one JSON object a line, one for each run" \
  test "$(json_eval "$work/list.json" "sorted(int(o['id']) for o in objs)")" = "[$id1, $id2, $id3]"
check "list --json: the first run's fields" test "$(json_eval "$work/list.json" \
  "[(o['state'], o['exit_status'], o['path'], o['channel'], o['restart'], int(o['calls']) > 0) for o in objs if o['id'] == $id1]")" = \
  "[('exited', 'exit 0', '$secret_bin', 'pipe', 'never', True)]"
check "list --json: the third run used the socketpair" \
  test "$(json_eval "$work/list.json" "[o['channel'] for o in objs if o['id'] == $id3]")" = "['socketpair']"
check "list --json: the name is the host's name extended by the measurement" \
  test "$(json_eval "$work/list.json" "[o['name'].startswith('$host_name.Program($m_secret)') for o in objs]")" = \
  "[True, True, True]"

# --- names as people read them (docs/names.md) ----------------------------------
# The host key's fingerprint, computed here: SHA-256 of the DER SPKI, base64.
host_fp=$(python3 -c 'import base64, hashlib, sys
b = sys.argv[1][len("key(ecdsa-p256:"):-1]
der = base64.urlsafe_b64decode(b + "=" * (-len(b) % 4))
print("SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode().rstrip("="))' "$host_name")
expect_exit 0 "list (short names)" ctl list
check "list shows the key as its fingerprint and the whole measurement" \
  grep -qF "key(ecdsa-p256:$host_fp).Program($m_secret)" "$work/out"
check "list shows no whole key" bash -c "! grep -qF 'key(ecdsa-p256:MFkw' '$work/out'"
expect_exit 0 "list --full" ctl --full list
check "list --full shows the whole name" grep -qF "$host_name.Program($m_secret)" "$work/out"
expect_exit 0 "info (short names)" ctl info
check "info shows the host's name as its fingerprint" stdout_has "^name:      key(ecdsa-p256:$host_fp)$"
expect_exit 0 "info --full" ctl --full info
check "info --full shows the whole name" grep -qxF "name:      $host_name" "$work/out"

# --- logs -f streams while the program runs -------------------------------------
expect_exit 0 "start a program that prints over a second" \
  ctl --env=PATH=/usr/bin:/bin start "$sh_path" -c 'echo tick 1; sleep 0.6; echo tick 2; sleep 0.6; echo tick 3'
idf=$(cat "$work/out")
"$taoctl_bin" --socket="$sock" --timeout_ms=20000 logs "$idf" -f >"$work/follow.out" 2>"$work/follow.err" &
follow_pid=$!
deadline=$((SECONDS + 10))
while ! grep -q "tick 1" "$work/follow.out" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.05; done
check "logs -f prints output as it comes" grep -q "tick 1" "$work/follow.out"
check "logs -f has not yet seen the end" bash -c "! grep -q 'tick 3' '$work/follow.out'"
check "logs -f is still following while the program runs" alive "$follow_pid"
wait "$follow_pid"
follow_status=$?
check "logs -f exits 0 once the program exits" test "$follow_status" -eq 0
check "logs -f printed all of the output, in order" \
  test "$(cat "$work/follow.out")" = "$(printf 'tick 1\ntick 2\ntick 3')"
expect_exit 0 "the printing program exited 0" ctl --timeout_ms=5000 wait "$idf"
check "its status is exit 0" stdout_is "exit 0"

# --- stop, kill, a grace that runs out ---------------------------------------------
expect_exit 0 "start /bin/sleep (granted by measurement)" ctl --json start /bin/sleep 300
ids=$(json_eval "$work/out" "objs[0]['id']")
pids=$(json_eval "$work/out" "objs[0]['pid']")
program_pids+=("$pids")
check "the sleep runs" alive "$pids"
expect_exit 0 "list shows it running" ctl --json list
check "list: the sleep is running with its pid" test \
  "$(json_eval "$work/out" "[(o['state'], o['pid']) for o in objs if o['id'] == $ids]")" = "[('running', $pids)]"
expect_exit 5 "wait with a timeout on a running program" ctl --timeout_ms=300 wait "$ids"
check "a timed-out wait says the deadline passed" stderr_has "DEADLINE_EXCEEDED"
expect_exit 0 "stop the sleep" ctl stop "$ids"
expect_exit 0 "wait for the stopped sleep" ctl --timeout_ms=10000 wait "$ids"
check "stop ends it with SIGTERM" stdout_is "signal 15 (Terminated)"
check "the stopped sleep is gone" wait_gone "$pids" 5

expect_exit 0 "start another sleep" ctl --json start /bin/sleep 300
idk=$(json_eval "$work/out" "objs[0]['id']")
pidk=$(json_eval "$work/out" "objs[0]['pid']")
program_pids+=("$pidk")
expect_exit 0 "kill it" ctl kill "$idk"
expect_exit 0 "wait for the killed sleep" ctl --timeout_ms=10000 wait "$idk"
check "kill ends it with SIGKILL" stdout_is "signal 9 (Killed)"
check "the killed sleep is gone" wait_gone "$pidk" 5

# A program that ignores SIGTERM: stop's grace runs out and SIGKILL follows.
expect_exit 0 "start a sleep that ignores SIGTERM" \
  ctl --json start "$sh_path" -c 'trap "" TERM; exec /bin/sleep 300'
idt=$(json_eval "$work/out" "objs[0]['id']")
pidt=$(json_eval "$work/out" "objs[0]['pid']")
program_pids+=("$pidt")
sleep 0.2  # let the shell set up its trap and exec
t0=$(now_ms)
expect_exit 0 "stop it with a 700 ms grace" ctl --grace_ms=700 stop "$idt"
expect_exit 0 "wait for it" ctl --timeout_ms=10000 wait "$idt"
t1=$(now_ms)
check "after the grace it was killed" stdout_is "signal 9 (Killed)"
check "not before the grace ran out ($((t1 - t0)) ms)" test $((t1 - t0)) -ge 650
check "nor much after it ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 5000

expect_exit 6 "stop a program that already exited" ctl stop "$ids"
check "says it already exited" stderr_has "already exited"

# --- exit codes for unknown programs, usage errors, denials ------------------------
expect_exit 3 "stop an unknown id" ctl stop 999999
check "unknown id: the message names it" stderr_has "no hosted program 999999"
expect_exit 3 "kill an unknown id" ctl kill 999999
expect_exit 3 "wait for an unknown id" ctl --timeout_ms=2000 wait 999999
expect_exit 3 "logs of an unknown id" ctl logs 999999
expect_exit 2 "stop without an id" ctl stop
expect_exit 2 "stop with a non-numeric id" ctl stop abc
expect_exit 2 "an unknown command" ctl frobnicate
expect_exit 2 "no command" ctl
expect_exit 2 "start without a path" ctl start
expect_exit 2 "a bad --restart" ctl --restart=sometimes start "$secret_bin" "$work/x"
expect_exit 2 "a channel the host does not know" ctl --channel=carrier-pigeon start "$secret_bin" "$work/x"
check "the host says which channels exist" stderr_has "pipe, shm or socketpair"

expect_exit 1 "start a program the policy does not grant (/bin/true)" ctl start /bin/true
check "a denied start prints the domain's reason" \
  stderr_has "PERMISSION_DENIED: domain 'admintest': no rule grants Execute to"
check "the reason names the rules that did not match" stderr_has "rule 'tools' grants Execute to others"
check "and what their matchers want" stderr_has "rule 'tools' grants Execute to others (measurement sha256:"
check "and the command that would admit the program" \
  stderr_has "to admit it: tao-domain --domain_dir=DIR allow Execute --measurement=sha256:$(sha256sum /bin/true | cut -c1-64)"
expect_exit 0 "list after the denial" ctl --json list
check "a denied program never ran (not listed)" \
  test "$(json_eval "$work/out" "[o for o in objs if o['path'] == '/bin/true']")" = "[]"
expect_exit 3 "start a program that does not exist" ctl start /no/such/program
check "a missing executable: the message names it" stderr_has "/no/such/program"

# --- demo-attest, verified by tao-attest --------------------------------------------
expect_exit 0 "start --wait demo-attest" ctl --wait start "$demo_attest_bin" "$work/att"
check "demo-attest exited 0" stdout_has "^state:    exited (exit 0)"
ida=$(sed -n 's/^id: *//p' "$work/out")
expect_exit 0 "logs of demo-attest" ctl logs "$ida"
check "demo-attest verified its own chain" stdout_has "^verified: "
expect_exit 0 "tao-attest verify against the host's name" \
  "$attest_bin" verify --root="$work/keys/host_name" "$work/att"
check "tao-attest prints verified:" stdout_has "verified:"
check "the speaker is demo-attest's name under the host" output_has "$host_name.Program($m_attest)"
printf '%s\n' "$(cat "$work/dom/policy_name")" >"$work/wrong_root"
expect_exit 1 "tao-attest rejects it against another root" \
  "$attest_bin" verify --root="$work/wrong_root" "$work/att"

# --- shutdown -----------------------------------------------------------------------
expect_exit 0 "start a sleep to be stopped by shutdown" ctl --json start /bin/sleep 300
pid_last=$(json_eval "$work/out" "objs[0]['pid']")
program_pids+=("$pid_last")
expect_exit 0 "shutdown" ctl --grace_ms=3000 shutdown
host_exit "$host_pid" 10
check "taohost exits 0 after shutdown (got $host_status)" test "$host_status" = 0
check "the socket file is gone" test ! -e "$sock"
check "the sleep it ran is gone" wait_gone "$pid_last" 2
expect_exit 4 "taoctl after shutdown: unreachable" ctl list
expect_exit 0 "the audit trail verifies" "$domain_bin" audit-verify "$run/audit.log"
check "the audit trail recorded the denied Execute" grep -q "no rule grants Execute" "$run/audit.log"

finish
