#!/usr/bin/env bash
# Who may drive a taohost: taoctl run as another user (nobody, uid 65534).
# With the default socket mode 0660 root:root, nobody cannot even connect
# (exit 4). With admin_socket_mode 0666 (from a config file) nobody connects
# and the domain refuses every call with its reason (exit 1); a rule for uid
# 65534 granting Admin:List, applied with `taoctl reload`, lets nobody list
# but still not start; another rule applied with SIGHUP lets nobody read the
# host's name; a bad policy.signed leaves the old policy in force, whether it
# comes by reload or by SIGHUP.
# shellcheck source=admin_test_lib.sh
. "$(dirname "$0")/admin_test_lib.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null || ! id nobody >/dev/null 2>&1; then
  echo "SKIP: needs root, setpriv and a user nobody to run taoctl as another user"
  exit 0
fi
if ! setpriv --reuid=nobody --regid=nogroup --clear-groups test -x "$taoctl_bin"; then
  echo "SKIP: nobody cannot run $taoctl_bin (a directory on its path is closed)"
  exit 0
fi

make_domain "$work/dom" || { echo "FAIL: could not make the domain"; exit 1; }
# The socket lives in a directory everyone may traverse, so that only the
# socket's own mode decides who connects.
mkdir -m 0755 "$work/pub"
check "nobody runs as uid 65534" test "$(as_nobody id -u)" = 65534

# --- (a) the default mode: nobody cannot connect ---------------------------------
sock="$work/pub/a.sock"
if ! start_host host-a --keys_dir="$work/keys" --domain_dir="$work/dom" --policy_key_file="$work/dom/policy_name" \
    --runtime_dir="$work/run-a" --audit_log="$work/run-a/audit.log" --state_dir="$work/run-a.state" \
    --admin_socket="$sock" --scrypt_n=1024; then
  failed=$((failed + 1)); finish; exit 1
fi
check "the default socket mode is 0660" test "$(stat -c %a "$sock")" = 660
check "owned by root:root" test "$(stat -c %U:%G "$sock")" = root:root
expect_exit 0 "root may list" ctl list
expect_exit 4 "nobody cannot connect to a 0660 root socket" as_nobody "$taoctl_bin" --socket="$sock" list
expect_exit 4 "nor start a program" as_nobody "$taoctl_bin" --socket="$sock" start "$secret_bin" /tmp/x
expect_exit 0 "shut host a down" ctl shutdown
host_exit "$host_pid" 10
check "host a exits 0 (got $host_status)" test "$host_status" = 0

# --- (b) mode 0666 from a config file: the domain decides ---------------------------
sock="$work/pub/b.sock"
cat >"$work/taohost.conf" <<EOF
# taohost configuration for the access test
keys_dir: "$work/keys"
domain_dir: "$work/dom"
policy_key_file: "$work/dom/policy_name"
runtime_dir: "$work/run-b"
audit_log: "$work/run-b/audit.log"
admin_socket: "$sock"
admin_socket_mode: 0666
shutdown_grace_ms: 2000
EOF
if ! start_host host-b --config="$work/taohost.conf" --scrypt_n=1024; then
  failed=$((failed + 1)); finish; exit 1
fi
check "admin_socket_mode 0666 from the config file" test "$(stat -c %a "$sock")" = 666
nctl() { as_nobody "$taoctl_bin" --socket="$sock" "$@"; }
expect_exit 1 "nobody connects, but the domain refuses list" nctl list
check "the refusal carries the domain's reason" \
  stderr_has "PERMISSION_DENIED: domain 'admintest': no rule grants Admin:List to uid 65534"
expect_exit 1 "nobody may not start a program" nctl start "$secret_bin" /tmp/never
check "start refused with the reason" stderr_has "no rule grants Admin:Start to uid 65534"
expect_exit 1 "nobody may not shut the host down" nctl shutdown
expect_exit 1 "nobody may not reload" nctl reload
expect_exit 1 "nobody may not read the name" nctl name
expect_exit 1 "nobody may not watch events" nctl --timeout_ms=2000 events
expect_exit 0 "root still may list" ctl list
check "the host survived nobody's attempts" alive "$host_pid"
check "nothing was started for nobody" test "$(ctl --json list | wc -l)" -eq 0

# Grant Admin:List to uid 65534, apply with taoctl reload.
extra_rules='rules {
  id: "nobody-lists"
  operations: "Admin:List"
  principals { uid: 65534 }
}'
write_policy "$work/dom"
expect_exit 1 "before the reload nobody still may not list" nctl list
expect_exit 0 "taoctl reload applies the new policy" ctl reload
check "reload reports the domain and its rules" stdout_is "reloaded the policy of domain 'admintest' (4 rules)"
expect_exit 0 "now nobody may list" nctl list
check "nobody sees the table" stdout_has "^ID  *STATE"
expect_exit 0 "and list --json" nctl --json list
expect_exit 1 "but still not start" nctl start "$secret_bin" /tmp/never
check "start refused: rule nobody-lists is a near miss at most" \
  stderr_has "no rule grants Admin:Start to uid 65534"
expect_exit 1 "nor stop" nctl stop 1
expect_exit 1 "nor read the name" nctl name

# Grant Admin:GetTaoName too, apply with SIGHUP.
extra_rules="$extra_rules"'
rules {
  id: "nobody-names"
  operations: "Admin:GetTaoName"
  principals { uid: 65534 }
}'
write_policy "$work/dom"
kill -HUP "$host_pid"
deadline=$((SECONDS + 10))
until nctl name >/dev/null 2>&1 || [ "$SECONDS" -ge "$deadline" ]; do sleep 0.1; done
expect_exit 0 "after SIGHUP nobody may read the name" nctl name
check "the name is the host's" stdout_is "$(cat "$work/keys/host_name")"
check "taohost survived SIGHUP" alive "$host_pid"
expect_exit 0 "nobody may still list" nctl list
expect_exit 1 "nobody may still not start" nctl start "$secret_bin" /tmp/never

# A bad policy.signed leaves the old policy in force.
cp "$work/dom/policy.signed" "$work/policy.signed.good"
flip_bit "$work/dom/policy.signed" $(($(stat -c %s "$work/dom/policy.signed") - 3))
ctl reload >"$work/out" 2>"$work/err"
reload_status=$?; verbose "reload exit $reload_status: $(cat "$work/err")"
check "reload of a tampered policy fails (exit $reload_status)" test "$reload_status" -ne 0
check "reload says the old policy stays in force" stderr_has "the old one stays in force"
expect_exit 0 "nobody may still list under the old policy" nctl list
expect_exit 0 "and read the name" nctl name
kill -HUP "$host_pid"
sleep 0.3
check "taohost survived SIGHUP with a bad policy" alive "$host_pid"
expect_exit 0 "nobody may still list after that SIGHUP" nctl list
check "taohost logged that the old policy stays" \
  grep -q "SIGHUP: policy not reloaded, the old one stays in force" "$work/host-b.err"
# A policy signed by another domain's key is refused just the same.
"$domain_bin" --domain_dir="$work/other" --name=admintest --scrypt_n=1024 init >/dev/null 2>&1
cp "$work/other/policy.signed" "$work/dom/policy.signed"
ctl reload >"$work/out" 2>"$work/err"
reload_status=$?; verbose "reload exit $reload_status: $(cat "$work/err")"
check "reload of a foreign policy fails (exit $reload_status)" test "$reload_status" -ne 0
expect_exit 0 "nobody may still list under the old policy" nctl list
rm "$work/dom/policy.signed"
ctl reload >"$work/out" 2>"$work/err"
reload_status=$?; verbose "reload exit $reload_status: $(cat "$work/err")"
check "reload with no policy file fails (exit $reload_status)" test "$reload_status" -ne 0
check "and says the old policy stays in force" stderr_has "the old one stays in force"
expect_exit 0 "nobody may still list" nctl list

# Revoking works too: the good policy without the nobody rules.
extra_rules=""
write_policy "$work/dom"
expect_exit 0 "reload a policy without the nobody rules" ctl reload
expect_exit 1 "nobody may no longer list" nctl list

expect_exit 0 "root shuts the host down" ctl shutdown
host_exit "$host_pid" 10
check "host b exits 0 (got $host_status)" test "$host_status" = 0
check "its socket is gone" test ! -e "$sock"
expect_exit 0 "the audit trail verifies" "$domain_bin" audit-verify "$work/run-b/audit.log"
check "the audit trail recorded nobody's refusals" grep -q "uid 65534" "$work/run-b/audit.log"

finish
