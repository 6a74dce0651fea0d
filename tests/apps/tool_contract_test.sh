#!/usr/bin/env bash
# The contract every tool keeps (docs/exit-codes.md): a mistyped flag, a flag
# without its value or with a bad one exits 2 in taohost, taoctl,
# tao-domain, tao-attest, tao-soft, tao-enclave, tao-guest-image and tao-guest-relay; --help exits 0, shows the tool's own
# flags as --flag, the exit-code table, and never a source path of the build
# machine; and the codes of the table for refused (1), not found (3),
# unreachable (4) and timed out (5), as text and as JSON errors on stderr.
#   tool_contract_test.sh TAOHOST TAOCTL TAO_DOMAIN TAO_ATTEST DEMO_SECRET \
#     DEMO_ATTEST TAO_SOFT SOURCE_DIR TAO_ENCLAVE TAO_GUEST_IMAGE TAO_GUEST_RELAY
soft_bin=$7
src_dir=$8
enclave_bin=$9
guest_image_bin=${10}
guest_relay_bin=${11}
set -- "${@:1:6}"
# shellcheck source=../admin/admin_test_lib.sh
. "$(dirname "$0")/../admin/admin_test_lib.sh"

# json_error EXIT CODE: stderr ($work/err) is one JSON error object with
# this exit code and status code name.
json_error() {
  python3 - "$work/err" "$1" "$2" <<'PY'
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
assert len(lines) == 1, lines
e = json.loads(lines[0])["error"]
assert set(e) == {"code", "message", "exit_code"}, e
assert e["exit_code"] == int(sys.argv[2]), e
assert e["code"] == sys.argv[3], e
assert isinstance(e["message"], str) and e["message"], e
PY
}

# --- Flags: every tool ---------------------------------------------------------
declare -A own_flag=([taohost]=keys_dir [taoctl]=socket [tao-domain]=domain_dir
                     [tao-attest]=root [tao-soft]=keys_dir
                     [tao-enclave]=ld_so_conf [tao-guest-image]=kernel_dir
                     [tao-guest-relay]=socket)
declare -A int_flag=([taohost]=scrypt_n [taoctl]=timeout_ms [tao-domain]=serial
                     [tao-attest]=at [tao-soft]=scrypt_n)
for tool in taohost taoctl tao-domain tao-attest tao-soft tao-enclave tao-guest-image \
    tao-guest-relay; do
  case $tool in
    taohost) bin=$taohost_bin ;; taoctl) bin=$taoctl_bin ;;
    tao-domain) bin=$domain_bin ;; tao-attest) bin=$attest_bin ;;
    tao-soft) bin=$soft_bin ;; tao-enclave) bin=$enclave_bin ;;
    tao-guest-image) bin=$guest_image_bin ;; tao-guest-relay) bin=$guest_relay_bin ;;
  esac
  expect_exit 2 "$tool: a mistyped flag exits 2" "$bin" --no_such_flag=1 show
  check "$tool: the message names the flag" stderr_has "unknown flag --no_such_flag"
  expect_exit 2 "$tool: a mistyped bool flag exits 2" "$bin" --jsn show
  expect_exit 2 "$tool: a single-dash mistyped flag exits 2" "$bin" -frobnicate
  # (--at is text: any value parses; tao-enclave, tao-guest-image and
  # tao-guest-relay have no number flags.)
  if [ -n "${int_flag[$tool]:-}" ] && [ "$tool" != tao-attest ]; then
    expect_exit 2 "$tool: a bad value exits 2" "$bin" --"${int_flag[$tool]}"=many show
    check "$tool: the message names flag and value" stderr_has "--${int_flag[$tool]}: 'many'"
  fi
  expect_exit 2 "$tool: a flag without its value exits 2" "$bin" --"${own_flag[$tool]}"
  expect_exit 0 "$tool --help exits 0" "$bin" --help
  check "$tool --help shows its flags as --flag" stdout_has "^  --${own_flag[$tool]}="
  check "$tool --help shows the exit-code table" stdout_has "^  3  not found"
  check "$tool --help shows 6 other" stdout_has "^  6  any other failure"
  check "$tool --help names no source file" bash -c "! grep -qE '\\.cc|Flags from|$src_dir' '$work/out'"
  expect_exit 0 "$tool --helpfull is the same help" "$bin" --helpfull
  check "$tool --helpfull names no source file" bash -c "! grep -qE '\\.cc|Flags from|$src_dir' '$work/out'"
  expect_exit 0 "$tool --version exits 0" "$bin" --version
done

# --- A config value out of range is a usage error (2) that gives the range --
printf 'shm_ring_bytes: 3000\n' >"$work/bad_shm.conf"
expect_exit 2 "taohost with shm_ring_bytes not a power of two: 2" "$taohost_bin" --config="$work/bad_shm.conf"
check "taohost: the message gives the ring sizes allowed" stderr_has "shm_ring_bytes/shm_spin: shm ring sizes must be powers of two in \[4096, 67108864\]"
printf 'shm_spin: 100001\n' >"$work/bad_shm.conf"
expect_exit 2 "taohost with shm_spin over 100000: 2" "$taohost_bin" --config="$work/bad_shm.conf"
check "taohost: the message gives the spin allowed" stderr_has "spin count must be in \[0, 100000\]"

# --- Unreachable (4), as text and as JSON ---------------------------------------
sock="$work/nowhere/admin.sock"
expect_exit 4 "taoctl with no host: 4" ctl list
expect_exit 4 "taoctl --json with no host: 4" ctl --json list
check "unreachable: a JSON error on stderr" json_error 4 UNAVAILABLE
expect_exit 2 "taoctl --json with a bad command: 2" ctl --json frobnicate
check "usage: a JSON error on stderr" json_error 2 INVALID_ARGUMENT
expect_exit 2 "tao-domain --json with a bad command: 2" "$domain_bin" --json --domain_dir="$work" frobnicate
check "tao-domain usage: a JSON error on stderr" json_error 2 INVALID_ARGUMENT
expect_exit 2 "tao-attest --json verify without --root: 2" "$attest_bin" --json verify "$work/x"
check "tao-attest usage: a JSON error on stderr" json_error 2 INVALID_ARGUMENT
expect_exit 2 "tao-soft --json seal without its files: 2" "$soft_bin" --json --keys_dir="$work/k" seal
check "tao-soft usage: a JSON error on stderr" json_error 2 INVALID_ARGUMENT

# --- A host: not found (3), refused (1), timed out (5) ---------------------------
make_domain "$work/dom" || { echo "FAIL: could not make the domain"; exit 1; }
run="$work/run"
sock="$run/admin.sock"
host_args=(--keys_dir="$work/keys" --domain_dir="$work/dom" --policy_key_file="$work/dom/policy_name" --runtime_dir="$run" --audit_log="$run/audit.log" --state_dir="$run.state" --scrypt_n=1024)
if ! start_host host "${host_args[@]}"; then failed=$((failed + 1)); finish; exit 1; fi
expect_exit 3 "status of an unknown id: 3" ctl status 999999
expect_exit 3 "status --json of an unknown id: 3" ctl --json status 999999
check "not found: a JSON error on stderr" json_error 3 NOT_FOUND
expect_exit 3 "stop of an unknown id: 3" ctl --json stop 999999
check "stop: a JSON error on stderr" json_error 3 NOT_FOUND
expect_exit 1 "a denied start: 1" ctl --json start /bin/true
check "denied: a JSON error on stderr" json_error 1 PERMISSION_DENIED
expect_exit 0 "start a sleep" ctl start /bin/sleep 30
sleep_id=$(cat "$work/out")
expect_exit 5 "wait past its deadline: 5" ctl --json --timeout_ms=300 wait "$sleep_id"
check "timeout: a JSON error on stderr" json_error 5 DEADLINE_EXCEEDED
expect_exit 0 "kill it" ctl kill "$sleep_id"
expect_exit 2 "status without an id: 2" ctl status

# --- The other tools: not found (3), refused (1) ---------------------------------
expect_exit 3 "tao-domain show of a missing file: 3" "$domain_bin" --domain_dir="$work/dom" show "$work/missing"
expect_exit 3 "tao-domain --json show of a missing file: 3" "$domain_bin" --json --domain_dir="$work/dom" show "$work/missing"
check "tao-domain: a JSON error on stderr" json_error 3 NOT_FOUND
expect_exit 1 "tao-domain check of a denied Execute: 1" "$domain_bin" --domain_dir="$work/dom" check "$(cat "$work/keys/host_name").Program(sha256:$(printf '0%.0s' {1..64}))" Execute
check "denied: says DENY" stdout_has "^DENY: "
expect_exit 3 "tao-attest show of a missing file: 3" "$attest_bin" show "$work/missing"
expect_exit 3 "tao-attest --json verify of a missing file: 3" "$attest_bin" --json --root="$work/keys/host_name" verify "$work/missing"
check "tao-attest: a JSON error on stderr" json_error 3 NOT_FOUND
head -c 64 /dev/urandom >"$work/garbage"
expect_exit 1 "tao-attest verify of garbage: 1 (refused)" "$attest_bin" --root="$work/keys/host_name" verify "$work/garbage"
expect_exit 3 "tao-soft name without keys: 3" "$soft_bin" --keys_dir="$work/nokeys" name
expect_exit 3 "tao-soft --json name without keys: 3" "$soft_bin" --json --keys_dir="$work/nokeys" name
check "tao-soft: a JSON error on stderr" json_error 3 NOT_FOUND

finish
