#!/usr/bin/env bash
# The audit trail as the host's state, end to end with a real taohost: it
# lives in <state_dir>/audit with a checkpoint signed by the host's key,
# survives restarts, a trail deleted between runs stops the next start
# (naming the checkpoint), and only --audit_accept_new_chain starts a new
# chain, whose first record names the old checkpoint. SIGHUP reloads are
# recorded with the policy's hash.
# shellcheck source=admin_test_lib.sh
. "$(dirname "$0")/admin_test_lib.sh"

make_domain "$work/dom" || { echo "FAIL: could not make the domain"; exit 1; }
run="$work/run"
state="$work/state"
sock="$run/admin.sock"
trail="$state/audit/audit.log"
host_args=(--keys_dir="$work/keys" --domain_dir="$work/dom" --policy_key_file="$work/dom/policy_name" --runtime_dir="$run"
           --state_dir="$state" --scrypt_n=1024)
verify() {
  "$domain_bin" audit-verify "$trail" --checkpoint="$trail.checkpoint" \
    --key="$work/keys/host_name"
}
stop_host() {
  expect_exit 0 "$1: shutdown" ctl shutdown
  host_exit "$host_pid" 10
  check "$1: taohost exits 0 (got $host_status)" test "$host_status" = 0
}

if ! start_host host1 "${host_args[@]}"; then failed=$((failed + 1)); finish; exit 1; fi
check "the trail is in the state dir" test -f "$trail"
check "the state dir is private" test "$(stat -c %a "$state/audit")" = 700
expect_exit 0 "a decision to record" ctl list
kill -HUP "$host_pid"
deadline=$((SECONDS + 5))
until grep -q "	Reload	" "$trail" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; do sleep 0.05; done
policy_hash=$(sha256sum "$work/dom/policy.signed" | cut -d' ' -f1)
check "SIGHUP's reload is recorded with the policy's hash" \
  grep -q "SIGHUP	Reload		note	policy sha256:$policy_hash policy_serial [1-9][0-9]* domain " "$trail"
stop_host host1
check "a checkpoint was written" test -f "$trail.checkpoint"
expect_exit 0 "the trail matches its checkpoint" verify
check "audit-verify says so" stdout_has "matches its checkpoint"
records1=$(wc -l <"$trail")

if ! start_host host2 "${host_args[@]}"; then failed=$((failed + 1)); finish; exit 1; fi
expect_exit 0 "another decision" ctl list
stop_host host2
check "the trail survived the restart and grew" test "$(wc -l <"$trail")" -gt "$records1"
expect_exit 0 "the trail still matches its checkpoint" verify

# Deleted between runs: the next start refuses, naming the checkpoint.
rm "$trail"
expect_exit 6 "a host whose trail was deleted refuses to start" \
  "$taohost_bin" "${host_args[@]}"
check "it says the trail is missing" stderr_has "audit trail $trail is missing"
check "it names the checkpoint" stderr_has "$trail.checkpoint remembers"
check "it names the way out" stderr_has "audit_accept_new_chain"
old_cp=$(sha256sum "$trail.checkpoint" | cut -d' ' -f1)

if ! start_host host3 "${host_args[@]}" --audit_accept_new_chain; then
  failed=$((failed + 1)); finish; exit 1
fi
stop_host host3
check "the new chain's first record names the old checkpoint" \
  bash -c "head -1 '$trail' | grep -q '^1	.*	host	NewChain		note	.*checkpoint sha256:$old_cp'"
expect_exit 0 "the new chain matches its new checkpoint" verify

finish
