#!/usr/bin/env bash
# The tpm2 root against a real swtpm that this test starts (one swtpm for
# the whole script, on a unix socket in its temp dir) and always stops:
#   - a clear error for no TPM and a wrong TCTI;
#   - the host starts with the tpm2 root; its name is tpm2(<AK>);
#   - a hosted program's secret survives host restarts (the keys come back
#     from the TPM; no passphrase is set);
#   - the program's attestation chain verifies against the AK's public key
#     and fails against any other, and a tampered quote is a bad-quote;
#   - extending a PCR: the host refuses to start (exit 6) and names the PCR;
#     a domain-signed new PCR set lets it start again, sealed to the new
#     state, with the same key;
#   - SameHostState data does not unseal after the state changed, while
#     SameProgram data does;
#   - tpm2_getcap shows no transient object or session left behind.
# Usage: tpm2_test.sh TAOHOST TAOCTL TAO_DOMAIN TAO_ATTEST DEMO_SECRET
#        DEMO_ATTEST
# shellcheck source=../admin/admin_test_lib.sh
. "$(dirname "$0")/../admin/admin_test_lib.sh" "$@"

for tool in swtpm tpm2_getcap tpm2_pcrextend tpm2_pcrread; do
  command -v "$tool" >/dev/null || {
    echo "FAIL: $tool is missing (scripts/setup.sh installs swtpm and tpm2-tools)"
    exit 1
  }
done

# --- The swtpm ----------------------------------------------------------------
mkdir -m 0700 "$work/swtpm"
tpm_sock="$work/swtpm/sock"
swtpm socket --tpm2 --tpmstate dir="$work/swtpm" \
  --server type=unixio,path="$tpm_sock" --ctrl type=unixio,path="$tpm_sock.ctrl" \
  --flags not-need-init,startup-clear --pid file="$work/swtpm/pid" \
  >"$work/swtpm/log" 2>&1 &
swtpm_pid=$!
stop_swtpm() { kill -TERM "$swtpm_pid" 2>/dev/null; wait "$swtpm_pid" 2>/dev/null; }
trap 'stop_swtpm; cleanup 2>/dev/null' EXIT
for _ in $(seq 100); do [ -S "$tpm_sock" ] && break; sleep 0.05; done
tcti="swtpm:path=$tpm_sock"
export TPM2TOOLS_TCTI="$tcti"
tpm2_getcap properties-fixed >/dev/null 2>&1 || { echo "FAIL: swtpm did not come up"; cat "$work/swtpm/log"; exit 1; }

make_domain "$work/dom" || { echo "FAIL: could not make the domain"; exit 1; }
domain_passphrase=$TAO_PASSPHRASE
unset TAO_PASSPHRASE  # the hosts run without one: the TPM keeps their keys
pcrs="16,23"
sock="$work/admin.sock"
host_args=(--root=tpm2 --tpm2_tcti="$tcti" --tpm2_pcrs="$pcrs"
  --keys_dir="$work/keys" --domain_dir="$work/dom"
  --policy_key_file="$work/dom/policy_name" --runtime_dir="$work/run"
  --admin_socket="$sock" --state_dir="$work/hoststate")
stop_host() { kill -TERM "$host_pid"; host_exit "$host_pid" 10; }
no_transients() {
  [ -z "$(tpm2_getcap handles-transient)" ] &&
    [ -z "$(tpm2_getcap handles-loaded-session)" ] &&
    [ -z "$(tpm2_getcap handles-saved-session)" ]
}
# run_program PROGRAM ARGS...: runs a hosted program to its end; its log in
# $work/out; true if it exited 0.
run_program() {
  local id status
  id=$(ctl start "$@" 2>"$work/err") || { verbose "  start $1: $(cat "$work/err")"; return 1; }
  status=$(ctl --timeout_ms=20000 wait "$id" 2>/dev/null)
  ctl logs "$id" >"$work/out" 2>/dev/null
  [ "$status" = "exit 0" ] && return 0
  verbose "  $1 ended with '$status':"; verbose "$(cat "$work/out" "$work/err")"
  return 1
}

# refused PROGRAM ARGS...: the program ran and exited 1 (the host refused).
refused() {
  local id status
  id=$(ctl start "$@" 2>"$work/err") || return 1
  status=$(ctl --timeout_ms=20000 wait "$id" 2>/dev/null)
  ctl logs "$id" >"$work/out" 2>/dev/null
  [ "$status" = "exit 1" ]
}

# --- Clear errors at start -----------------------------------------------------
expect_exit 6 "no TPM at the TCTI: refused" "$taohost_bin" "${host_args[@]}" \
  --tpm2_tcti="swtpm:path=$work/nothing-here"
check "  and it says it cannot reach a TPM" stderr_has "cannot reach a TPM through TCTI"
expect_exit 6 "a wrong TCTI: refused" "$taohost_bin" "${host_args[@]}" --tpm2_tcti="no-such-tcti"
check "  and it names the TCTI" stderr_has "TCTI 'no-such-tcti'"
check "nothing was written for a TPM it never reached" test ! -e "$work/keys/tpm2_sealed"
expect_exit 2 "a bad PCR list is a usage error" "$taohost_bin" "${host_args[@]}" --tpm2_pcrs=16,99

# --- First start ---------------------------------------------------------------
check "the host starts with the tpm2 root" start_host h1 "${host_args[@]}"
check "  its name is a tpm2(...) principal" grep -q "host name (tpm2 root): tpm2(ecdsa-p256:" "$work/h1.err"
check "  it made its keys" grep -q "made the host's keys, sealed to sha256:16+23:" "$work/h1.err"
check "  the AK's public key is written" grep -q "BEGIN PUBLIC KEY" "$work/keys/tpm2_ak.pem"
check "  no passphrase anywhere: no soft keys file" test ! -e "$work/keys/host_keys"
check "no transient object or session left while it runs" no_transients
state1=$(cat "$work/keys/tpm2_platform_state")
check "the platform state names the PCRs" test "${state1%%:*}:${state1#*:}" = "$state1" -a "${state1:0:13}" = "sha256:16+23:"
expect_exit 0 "taoctl info" ctl info
check "  names the root" stdout_has "^root:      tpm2\$"
check "  and the platform state SameHostState binds to" stdout_has "^state:     $state1 "
check "a program seals (SameProgram)" run_program "$secret_bin" "$work/same.state"
digest_same=$(sed -n 's/^sealed a new secret: //p' "$work/out")
check "a program seals (SameHostState)" run_program "$secret_bin" "$work/hs.state" "SameHostState($state1)"
digest_hs=$(sed -n 's/^sealed a new secret: //p' "$work/out")
att="$work/program.att"
check "a program attests" run_program "$demo_attest_bin" "$att"
expect_exit 0 "its chain verifies against the AK's public key" "$attest_bin" verify --root="$work/keys/tpm2_ak.pem" "$att"
expect_exit 1 "not against the domain's policy key" "$attest_bin" verify --root="$work/dom/policy_name" "$att"
check "  (untrusted-signer)" output_has "untrusted-signer"
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl ec -pubout >"$work/other.pem" 2>/dev/null
expect_exit 1 "not against another P-256 key" "$attest_bin" verify --root="$work/other.pem" "$att"
# Flip one byte inside the quote's TPMS_ATTEST (found by its magic).
python3 - "$att" "$work/tampered.att" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
i = b.find(b'\xffTCG')
b[i + 40] ^= 1
open(sys.argv[2], 'wb').write(bytes(b))
PY
expect_exit 1 "a tampered quote is rejected" "$attest_bin" verify --root="$work/keys/tpm2_ak.pem" "$work/tampered.att"
check "  as bad-quote" output_has "bad-quote"
stop_host
check "the host stops cleanly" test "$host_status" = 0

# --- Restart: the keys come back from the TPM -----------------------------------
key1=$(grep -o "host name (tpm2 root): [^;]*" "$work/h1.err")
check "the host starts again" start_host h2 "${host_args[@]}"
check "  with the same name" grep -qF "$key1" "$work/h2.err"
check "  and loads its keys (does not make new ones)" bash -c "! grep -q \"made the host's keys\" '$work/h2.err'"
check "SameProgram data unseals after the restart" run_program "$secret_bin" "$work/same.state"
check "  the same secret" stdout_has "unsealed the secret: $digest_same"
check "SameHostState data unseals in the same state" run_program "$secret_bin" "$work/hs.state"
check "  the same secret" stdout_has "unsealed the secret: $digest_hs"
stop_host

# --- A PCR changes ------------------------------------------------------------
tpm2_pcrextend 23:sha256=$(printf 'update' | sha256sum | cut -d' ' -f1) >/dev/null
expect_exit 6 "after PCR 23 is extended the host refuses to start" "$taohost_bin" "${host_args[@]}"
check "  and names PCR 23" stderr_has "PCR 23 differs"
check "  and says how to approve a new state" stderr_has "tao-domain sign-pcrs"
check "no transient object or session left after the refusal" no_transients
pcr_hex() { tpm2_pcrread "sha256:$1" | sed -n "s/^ *$1 *: 0x//p" | tr 'A-F' 'a-f'; }
# A set signed for some other state does not open it.
expect_exit 0 "the domain signs a PCR set that is not the current one" \
  env TAO_PASSPHRASE="$domain_passphrase" "$domain_bin" --domain_dir="$work/dom" --out="$work/wrong.auth" sign-pcrs \
  16="$(pcr_hex 16)" 23="$(printf '%064d' 7)"
expect_exit 6 "  the host refuses it" "$taohost_bin" "${host_args[@]}" --tpm2_pcr_authorization="$work/wrong.auth"
check "  naming the PCR that does not match" stderr_has "does not match either: PCR 23 differs"
# A set signed by another key does not open it either.
TAO_PASSPHRASE=$domain_passphrase "$domain_bin" --domain_dir="$work/dom2" --name=other --scrypt_n=1024 init >/dev/null 2>&1
TAO_PASSPHRASE=$domain_passphrase "$domain_bin" --domain_dir="$work/dom2" --out="$work/forged.auth" \
  sign-pcrs 16="$(pcr_hex 16)" 23="$(pcr_hex 23)" >/dev/null
expect_exit 6 "a set signed by another domain is refused" "$taohost_bin" "${host_args[@]}" --tpm2_pcr_authorization="$work/forged.auth"
check "  as not signed by the policy key" stderr_has "not signed by the domain's policy key"
expect_exit 0 "the domain signs the new PCR set" env TAO_PASSPHRASE="$domain_passphrase" \
  "$domain_bin" --domain_dir="$work/dom" sign-pcrs 16="$(pcr_hex 16)" 23="$(pcr_hex 23)"
check "with it the host starts again" start_host h3 "${host_args[@]}" --tpm2_pcr_authorization="$work/dom/tpm2_pcr_authorization"
check "  having unsealed under the signed set and sealed again" grep -q "sealed again to" "$work/h3.err"
check "  with the same name (the AK does not depend on PCRs)" grep -qF "$key1" "$work/h3.err"
state2=$(cat "$work/keys/tpm2_platform_state")
check "  in a new platform state" test "$state2" != "$state1"
check "SameProgram data still unseals" run_program "$secret_bin" "$work/same.state"
check "  the same secret" stdout_has "unsealed the secret: $digest_same"
check "SameHostState data does not unseal in the new state" refused "$secret_bin" "$work/hs.state"
check "  the host says why" grep -q "SameHostState: the host's platform state is" "$work/err" "$work/out"
att2="$work/program2.att"
check "a program attests in the new state" run_program "$demo_attest_bin" "$att2"
expect_exit 0 "  its chain verifies against the AK" "$attest_bin" verify --root="$work/keys/tpm2_ak.pem" "$att2"
stop_host
check "the next start needs no signed set (the new state is the baseline)" start_host h4 "${host_args[@]}" --tpm2_pcr_authorization="$work/none"
stop_host
check "no transient object or session left at the end" no_transients
stop_swtpm
check "swtpm is gone" bash -c "! kill -0 $swtpm_pid 2>/dev/null"
finish
