#!/usr/bin/env bash
# Who hosted programs run as, through a real taohost and taoctl: without
# --uid a program is a dynamic uid of its own with no groups; --uid=0 needs a
# run_as_uids grant; a root program's own admin calls are that program's,
# never root's; Admin:Start for another user is limited by `programs`; a
# state directory belongs to the program, survives a restart and is never
# shared; a descendant that calls setsid() is gone once its program ends.
# shellcheck source=admin_test_lib.sh
. "$(dirname "$0")/admin_test_lib.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null || ! id nobody >/dev/null 2>&1; then
  echo "SKIP: needs root, setpriv and a user nobody"
  exit 0
fi

m_taoctl=$(measure "$taoctl_bin")
extra_rules="
rules {
  id: \"taoctl-as-root\"
  operations: \"Execute\"
  principals { measurement: \"$m_taoctl\" }
  run_as_uids: 0
}
rules {
  id: \"nobody-starts-sleep\"
  operations: \"Admin:Start\"
  principals { uid: 65534 }
  programs { measurement: \"$m_sleep\" }
}"
make_domain "$work/dom" || { echo "FAIL: make_domain"; exit 1; }
sock="$work/admin.sock"
cat >"$work/taohost.conf" <<CONF
keys_dir: "$work/keys"
domain_dir: "$work/dom"
policy_key_file: "$work/dom/policy_name"
runtime_dir: "$work/run"
admin_socket: "$sock"
admin_socket_mode: 0666
state_dir: "$work/hoststate"
state_root: "$work/state"
shutdown_grace_ms: 2000
CONF
if ! start_host host --config="$work/taohost.conf" --scrypt_n=1024; then
  failed=$((failed + 1)); finish; exit 1
fi
PATHS=--env=PATH=/usr/bin:/bin

# --- the default identity ------------------------------------------------------
expect_exit 0 "a program without --uid" ctl $PATHS --wait start "$sh_path" -c 'grep -E "^(Uid|Gid|Groups):" /proc/self/status'
check "runs as a dynamic uid" stdout_has "^runs as:  uid [0-9]* gid [0-9]* (dynamic)"
check "in a cgroup of its own" stdout_has "^cgroup:   /tao/host-"
id1=$(sed -n 's/^id: *//p' "$work/out")
expect_exit 0 "its logs" ctl logs "$id1"
check "not uid 0" sh -c "! grep -q '^Uid:[[:space:]]*0[[:space:]]' '$work/out'"
check "not gid 0" sh -c "! grep -q '^Gid:[[:space:]]*0[[:space:]]' '$work/out'"
check "no supplementary groups" grep -qE '^Groups:[[:space:]]*$' "$work/out"

# --- root only by a grant ---------------------------------------------------------
expect_exit 1 "/bin/sleep as uid 0 is refused" ctl --uid=0 start /bin/sleep 1
check "the reason names the uid" stderr_has "not as uid 0"

# --- a root program on the admin socket is that program --------------------------
expect_exit 0 "taoctl as a hosted program, as uid 0 (granted)" \
  ctl --uid=0 --wait start "$taoctl_bin" --socket="$sock" list
check "it ran as uid 0" stdout_has "^runs as:  uid 0 gid 0$"
check "it was refused (exit 1)" stdout_has "exited (exit 1)"
id2=$(sed -n 's/^id: *//p' "$work/out")
expect_exit 0 "its logs" ctl logs "$id2"
check "refused as the program, not as uid 0" stdout_has "no rule grants Admin:List to program key(ecdsa-p256:"

# --- Admin:Start limited by programs ---------------------------------------------
nctl() { as_nobody "$taoctl_bin" --socket="$sock" "$@"; }
expect_exit 0 "nobody may start /bin/sleep" nctl start /bin/sleep 0.1
expect_exit 1 "but not /bin/sh" nctl start "$sh_path" -c true
check "the reason names the programs matchers" stderr_has "no matcher of its programs matches"

# --- state directories ------------------------------------------------------------
expect_exit 0 "a state directory" ctl $PATHS --state_dir=demo --wait start "$sh_path" -c 'echo "$TAO_STATE_DIRECTORY"; echo kept > "$TAO_STATE_DIRECTORY/f"'
check "taoctl shows it" stdout_has "^state dir: $work/state/demo$"
uid=$(sed -n 's/^runs as:  uid \([0-9]*\) .*/\1/p' "$work/out")
check "owned by the program's uid" test "$(stat -c %u "$work/state/demo")" = "$uid"
check "mode 0700" test "$(stat -c %a "$work/state/demo")" = 700
expect_exit 0 "a second run" ctl $PATHS --state_dir=demo --wait start "$sh_path" -c 'cat "$TAO_STATE_DIRECTORY/f"'
id3=$(sed -n 's/^id: *//p' "$work/out")
expect_exit 0 "its logs" ctl logs "$id3"
check "finds what the first left" stdout_has "^kept$"
expect_exit 0 "a program holding a state directory" ctl --state_dir=held start /bin/sleep 30
held=$(cat "$work/out")
expect_exit 6 "a second program on the same state directory is refused" ctl --state_dir=held start /bin/sleep 1
check "the reason" stderr_has "still running"
expect_exit 0 "kill the holder" ctl kill "$held"

# --- setsid does not outlive the program ---------------------------------------------
expect_exit 0 "a program that leaves a setsid child" ctl $PATHS --wait start "$sh_path" -c 'setsid sleep 300 & echo "child $!"'
id4=$(sed -n 's/^id: *//p' "$work/out")
expect_exit 0 "its logs" ctl logs "$id4"
child=$(sed -n 's/^child //p' "$work/out")
check "the child's pid was printed" test -n "$child"
if [ -n "$child" ]; then program_pids+=("$child"); fi
check "the setsid child is gone" wait_gone "${child:-1}" 3

expect_exit 0 "shut down" ctl shutdown
host_exit "$host_pid" 10
check "taohost exits 0 (got $host_status)" test "$host_status" = 0
finish
