#!/usr/bin/env bash
# A real taohost with --factories=process,enclave and taoctl: info lists the
# enclave factory over shm; `taoctl start --enclave MANIFEST` runs
# enclave-probe in an enclave admitted by an Execute rule written from
# `tao-enclave measure`; it seals, and a second run unseals; list shows it;
# pause, resume and stop work on it; a host without the factory refuses.
# Arguments: the six of admin_test_lib.sh, then TAO_ENCLAVE ENCLAVE_PROBE.
enclave_bin=$7
probe_bin=$8
# shellcheck source=../../admin/admin_test_lib.sh
. "$(dirname "$0")/../../admin/admin_test_lib.sh" "$1" "$2" "$3" "$4" "$5" "$6"

mkdir -m 01777 "$work/data"
manifest() {  # FILE ARG...: enclave-probe with ARGs, /data writable
  local file=$1; shift
  { echo "EXEC $probe_bin"; echo "MOUNT $work/data /data rw"
    for a in "$@"; do echo "ARG $a"; done; } >"$file"
}
manifest "$work/keep.m" keep /data/b
manifest "$work/hold.m" hold
m_keep=$("$enclave_bin" measure "$work/keep.m" | sed -n 's/^Enclave(\(sha256:[0-9a-f]\{64\}\))$/\1/p')
m_hold=$("$enclave_bin" measure "$work/hold.m" | sed -n 's/^Enclave(\(sha256:[0-9a-f]\{64\}\))$/\1/p')
check "tao-enclave measures both manifests" test -n "$m_keep" -a -n "$m_hold"
extra_rules="rules {
  id: \"enclaves\"
  operations: [\"Execute\", \"Seal\", \"Unseal\"]
  principals { measurement: \"$m_keep\" }
  principals { measurement: \"$m_hold\" }
}"
make_domain "$work/dom" || { echo "FAIL: could not make the domain"; exit 1; }
run="$work/run"
sock="$run/admin.sock"
host_args=(--keys_dir="$work/keys" --domain_dir="$work/dom" --policy_key_file="$work/dom/policy_name"
  --runtime_dir="$run" --audit_log="$run/audit.log" --state_dir="$run.state" --scrypt_n=1024)
if ! start_host host "${host_args[@]}" --factories=process,enclave; then
  failed=$((failed + 1)); finish; exit 1
fi

expect_exit 0 "info" ctl info
check "info lists the enclave factory over shm" grep -q "enclave.*shm" "$work/out"

expect_exit 0 "start the enclave (seal)" ctl start --enclave --wait "$work/keep.m"
check "it exited 0" stdout_has "exit 0"
expect_exit 0 "start it again (unseal)" ctl start --enclave "$work/keep.m"
id=$(cat "$work/out")
expect_exit 0 "wait for it" ctl wait "$id"
expect_exit 0 "its log" ctl logs "$id"
check "the second run unsealed the first one's data" stdout_has "data: enclave-probe sealed data"

expect_exit 0 "start a holding enclave" ctl start --enclave "$work/hold.m"
hold=$(cat "$work/out")
expect_exit 0 "list" ctl --wide list
check "list shows the enclave's manifest" stdout_has "hold.m"
check "list shows its shm channel" stdout_has "shm"
expect_exit 0 "pause it" ctl pause "$hold"
expect_exit 0 "list it" ctl list
check "list shows it paused" stdout_has "paused"
expect_exit 0 "resume it" ctl resume "$hold"
expect_exit 0 "stop it" ctl --grace_ms=5000 stop "$hold"
expect_exit 0 "wait for it" ctl wait "$hold"
check "it ended by SIGTERM" stdout_has "signal 15"
expect_exit 0 "shut the host down" ctl shutdown
host_exit "$host_pid" 10

# Off by default: a host without the factory refuses an enclave.
if ! start_host plain "${host_args[@]}"; then
  failed=$((failed + 1)); finish; exit 1
fi
expect_exit 0 "info of a plain host" ctl info
check "no enclave factory there" bash -c "! grep -q enclave '$work/out'"
ctl start --enclave "$work/keep.m" >"$work/out" 2>"$work/err"
check "a plain host refuses an enclave" test $? -ne 0
check "it says there is no enclave factory" grep -qi "enclave" "$work/err"
expect_exit 0 "shut the plain host down" ctl shutdown
host_exit "$host_pid" 10
finish
