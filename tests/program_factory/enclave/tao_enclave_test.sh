#!/usr/bin/env bash
# End-to-end test of tao-enclave as a separate process: check, plan and
# measure real manifests; refusals with the file, line and column and exit 1;
# usage errors exit 2; the measurement is stable, follows every measured
# change, and an Execute rule written from it admits the enclave's name
# (tao-domain check) while the DEBUG twin is denied.
set -uo pipefail
enclave_bin=$1
domain_bin=$2
program=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/tao-enclave-cli.XXXXXX")
trap 'rm -rf "$work"' EXIT
# shellcheck source=../../testing/checks.sh
. "$(dirname "$0")/../../testing/checks.sh"

cp "$program" "$work/prog"
mkdir "$work/data"
{
  echo "# a demo enclave"
  echo "EXEC $work/prog"
  echo "MOUNT $work/data /data ro"
  echo "MOUNT tmpfs /scratch"
  echo "THREADS 8"
  echo "ENCLAVE_SIZE 128"
  echo "DEBUG off"
  echo "ARG --verbose"
  echo 'ENV GREETING="hello world"'
} >"$work/m"
sed 's/^DEBUG off$/DEBUG on/' "$work/m" >"$work/m.debug"
sed 's/^ARG --verbose$/ARG --quiet/' "$work/m" >"$work/m.args"

expect_exit 0 "--help" "$enclave_bin" --help
check "--help lists the commands" output_has "tao-enclave measure MANIFEST"
check "--help lists the exit codes" output_has "Exit codes"
expect_exit 2 "no command" "$enclave_bin"
expect_exit 2 "unknown command" "$enclave_bin" frob "$work/m"
check "unknown command named" output_has "unknown command 'frob'"
expect_exit 2 "missing manifest argument" "$enclave_bin" check

expect_exit 0 "check a good manifest" "$enclave_bin" check "$work/m"
check "check says ok" output_has "^ok: .* trusted files .* 2 mounts"

expect_exit 0 "plan" "$enclave_bin" plan "$work/m"
check "plan lists the entry" output_has "^file entry sha256:[0-9a-f]\{64\} [0-9]* $work/prog$"
check "plan lists the loader" output_has "^file interpreter sha256:.* /lib64/ld-linux-x86-64.so.2$"
check "plan lists libc" output_has "^file library sha256:.* /lib/x86_64-linux-gnu/libc.so.6$"
check "plan lists the mounts" output_has "^mount ro /data from $work/data$"
check "plan lists the limits" output_has "^threads 8$"
check "plan lists the size" output_has "^enclave_size 128 MiB$"
check "plan lists argv" output_has '^argv\[1\] "--verbose"$'
check "plan lists env" output_has '^env GREETING="hello world"$'

expect_exit 0 "measure" "$enclave_bin" measure "$work/m"
cp "$work/out" "$work/measure1"
check "measure prints Enclave then Args" \
  test "$(sed -n '1s/^Enclave(sha256:[0-9a-f]\{64\})$/ok/p;2s/^Args(sha256:[0-9a-f]\{64\})$/ok/p' "$work/measure1" | tr -d '\n')" = okok
expect_exit 0 "measure from stdin" "$enclave_bin" measure - <"$work/m"
check "stdin gives the same measurement" cmp -s "$work/out" "$work/measure1"
expect_exit 0 "measure again" "$enclave_bin" measure "$work/m"
check "the measurement is stable" cmp -s "$work/out" "$work/measure1"

# --json: one object per command, errors as JSON on stderr.
json_ok() { python3 -c "import json,sys; o=json.load(open(sys.argv[1])); $1" "$work/out"; }
expect_exit 0 "check --json" "$enclave_bin" --json check "$work/m"
check "check --json has the counts" json_ok 'assert o["ok"] is True and o["mounts"] == 2 and o["trusted_files"] >= 3 and o["libraries"] >= 1, o'
expect_exit 0 "plan --json" "$enclave_bin" --json plan "$work/m"
check "plan --json has the plan's lines" json_ok 'assert "threads 8" in o["plan"], o'
expect_exit 0 "measure --json" "$enclave_bin" --json measure "$work/m"
enclave_sub=$(head -1 "$work/measure1")
check "measure --json: the subprincipals and the rule's measurement" \
  json_ok "assert o['subprincipals'][0] == '$enclave_sub' and 'Enclave(' + o['measurement'] + ')' == '$enclave_sub', o"
expect_exit 2 "--json usage error" "$enclave_bin" --json frob "$work/m"
check "  as a JSON error on stderr" python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["error"]; assert e["exit_code"] == 2, e' "$work/err"
expect_exit 0 "measure the debug twin" "$enclave_bin" measure "$work/m.debug"
check "DEBUG on changes Enclave(...)" test "$(head -1 "$work/out")" != "$(head -1 "$work/measure1")"
expect_exit 0 "measure other args" "$enclave_bin" measure "$work/m.args"
check "ARG leaves Enclave(...) alone" test "$(head -1 "$work/out")" = "$(head -1 "$work/measure1")"
check "ARG changes Args(...)" test "$(sed -n 2p "$work/out")" != "$(sed -n 2p "$work/measure1")"
printf 'x' >>"$work/prog"
expect_exit 0 "measure after the program changed" "$enclave_bin" measure "$work/m"
check "other bytes, another Enclave(...)" test "$(head -1 "$work/out")" != "$(head -1 "$work/measure1")"
cp "$program" "$work/prog"

# Refusals: file, line and column; exit 1.
printf 'EXEC %s\nMOUNT /srv /s nextfs\n' "$work/prog" >"$work/bad1"
expect_exit 1 "an encrypted mount is refused" "$enclave_bin" check "$work/bad1"
check "refusal names file, line and column" output_has "$work/bad1: line 2, column 15: mount type 'nextfs'"
printf 'EXEC %s\nTIMESERVER udp:127.0.0.1:1 /k.pem 1\n' "$work/prog" >"$work/bad2"
expect_exit 1 "TIMESERVER is refused" "$enclave_bin" check "$work/bad2"
check "TIMESERVER named" output_has "line 2, column 1: TIMESERVER"
printf 'EXEC %s/../etc/passwd\n' "$work" >"$work/bad3"
expect_exit 1 "'..' is refused" "$enclave_bin" check "$work/bad3"
printf 'EXEC /etc/passwd\n' >"$work/bad4"
expect_exit 1 "a non-ELF EXEC is refused" "$enclave_bin" check "$work/bad4"
check "non-ELF named" output_has "is not an ELF executable"
printf 'EXEC %s\nMOUNT tmpfs /lib64\n' "$work/prog" >"$work/bad5"
expect_exit 1 "a mount hiding the loader is refused" "$enclave_bin" check "$work/bad5"
check "the hidden file is named" output_has "would hide the trusted file /lib64/ld-linux-x86-64.so.2"
expect_exit 3 "a missing manifest" "$enclave_bin" check "$work/absent"
printf 'EXEC %s\n' "$work/absent-program" >"$work/noexec"
expect_exit 3 "a missing EXEC file" "$enclave_bin" check "$work/noexec"
check "the missing file is named" output_has "$work/absent-program"
head -c 2000000 /dev/zero | tr '\0' '#' >"$work/huge"
expect_exit 1 "a huge manifest is refused" "$enclave_bin" check "$work/huge"
expect_exit 1 "a huge manifest on stdin is refused" "$enclave_bin" check - <"$work/huge"
check "stdin bound named" output_has "longer than 1048576 bytes"
printf 'EXEC %s\nARG a\0b\n' "$work/prog" >"$work/nul"
expect_exit 1 "a NUL is refused" "$enclave_bin" check "$work/nul"
check "NUL named" output_has "line 2, column 6: NUL byte"

# The Execute rule written from the measurement admits the enclave's name,
# and not the DEBUG twin's.
export TAO_PASSPHRASE='enclave test'
"$domain_bin" --domain_dir="$work/dom" --name=enc --scrypt_n=1024 init >/dev/null 2>&1
host=$(cat "$work/dom/policy_name")
measurement=$(sed -n 's/^Enclave(\(sha256:[0-9a-f]\{64\}\))$/\1/p' "$work/measure1")
{
  echo 'domain_name: "enc"'
  echo 'rules {'
  echo '  id: "root-admin"'
  echo '  operations: "Admin:*"'
  echo '  principals { uid: 0 }'
  echo '}'
  echo 'rules {'
  echo '  id: "demo-enclave"'
  echo '  operations: "Execute"'
  echo "  principals { measurement: \"$measurement\" }"
  echo '}'
} >"$work/dom/policy.txt"
expect_exit 0 "sign the policy" "$domain_bin" --domain_dir="$work/dom" sign
name="$host.$(sed -n 1p "$work/measure1").$(sed -n 2p "$work/measure1")"
expect_exit 0 "the rule admits the enclave" "$domain_bin" --domain_dir="$work/dom" check "$name" Execute
check "ALLOW by the measurement rule" output_has "rule 'demo-enclave' grants Execute (matched by measurement"
"$enclave_bin" measure "$work/m.debug" >"$work/measure.debug"
name_debug="$host.$(sed -n 1p "$work/measure.debug").$(sed -n 2p "$work/measure.debug")"
expect_exit 1 "the rule denies the debug twin" "$domain_bin" --domain_dir="$work/dom" check "$name_debug" Execute

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -ge 50 ]
