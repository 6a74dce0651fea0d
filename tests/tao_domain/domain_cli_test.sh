#!/usr/bin/env bash
# End-to-end test of tao-domain as separate processes: init a domain, sign and
# show its policy, dry-run decisions by measurement, by signer and by uid;
# a tampered or foreign policy.signed is refused and a bad policy.txt leaves
# the signed policy as it was; a publisher signs real binaries and `measure`
# names it; audit-verify accepts an intact trail and refuses a broken one.
set -uo pipefail
# shellcheck source=../../scripts/lib.sh
. "$(dirname "$0")/../../scripts/lib.sh"
domain_bin=$1
v1_bin=$2
v2_bin=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/tao-domain-cli.XXXXXX")
trap 'rm -rf "$work"' EXIT
# shellcheck source=../testing/checks.sh
. "$(dirname "$0")/../testing/checks.sh"
stdout_is() { [ "$(cat "$work/out")" = "$1" ]; }

export TAO_PASSPHRASE='correct horse'
dom() { "$domain_bin" --domain_dir="$work/dom" --scrypt_n=1024 "$@"; }

# --- A new domain ---------------------------------------------------------
expect_exit 0 "init creates a domain" dom --name=corp init
check "init prints the policy key" output_has '^policy key: key(ecdsa-p256:'
check "policy_name holds the key" test "$(cat "$work/dom/policy_name")" = \
  "$(sed -n 's/^policy key: //p' "$work/out")"
check "policy_keys is mode 0600" test "$(stat -c %a "$work/dom/policy_keys")" = 600
check "policy.txt written" grep -q '^domain_name: "corp"' "$work/dom/policy.txt"
check "policy.signed written" test -s "$work/dom/policy.signed"
expect_exit 0 "show verifies the starter policy" dom show
check "show says verified" output_has '^# verified: signed by the domain'
check "show prints the starter rule" output_has 'id: "root-admin"'
policy_key=$(cat "$work/dom/policy_name")
expect_exit 0 "init again loads the same key" dom --name=corp init
check "same policy key after a second init" test "$(cat "$work/dom/policy_name")" = "$policy_key"
expect_exit 2 "init without --name" dom init
expect_exit 2 "a command without --domain_dir" "$domain_bin" show

# --- Programs, a publisher, signatures --------------------------------------
cp "$v1_bin" "$work/app-v1"
cp "$v2_bin" "$work/app-v2"
expect_exit 0 "measure v1" "$domain_bin" measure "$work/app-v1"
m1=$(sed -n 's/^Program(\(sha256:[0-9a-f]\{64\}\))$/\1/p' "$work/out")
check "measure prints Program(sha256:<64 hex>)" test "${#m1}" -eq 71
check "measure says there is no signature yet" output_has "(no signature at $work/app-v1.taosig)"
check "the measurement is the file's SHA-256" \
  test "$m1" = "sha256:$(sha256sum "$work/app-v1" | cut -c1-64)"
expect_exit 0 "measure v2" "$domain_bin" measure "$work/app-v2"
m2=$(sed -n 's/^Program(\(sha256:[0-9a-f]\{64\}\))$/\1/p' "$work/out")
check "v1 and v2 measure differently" test -n "$m2" -a "$m1" != "$m2"

pub() { "$domain_bin" --keys_dir="$work/pub" --scrypt_n=1024 "$@"; }
expect_exit 0 "new-publisher" pub new-publisher
publisher=$(cat "$work/out")
check "new-publisher prints a key principal" grep -q '^key(ecdsa-p256:[A-Za-z0-9_-]*)$' "$work/out"
check "publisher_keys is mode 0600" test "$(stat -c %a "$work/pub/publisher_keys")" = 600
publisher_b64=${publisher#key(ecdsa-p256:}
publisher_b64=${publisher_b64%)}
expect_exit 0 "sign-program v1 as version 1" pub --product=demo --product_version=1 sign-program "$work/app-v1"
check "sign-program reports what it signed" output_has "signed $m1 as 'demo' version 1"
check "the .taosig is written beside the program" test -s "$work/app-v1.taosig"
expect_exit 0 "sign-program v2 as version 2" pub --product=demo --product_version=2 sign-program "$work/app-v2"
expect_exit 0 "measure a signed program" "$domain_bin" measure "$work/app-v2"
pub_v2="Publisher(ecdsa-p256:$publisher_b64,demo,2)"
check "measure prints the Publisher line" stdout_is "Program($m2)
$pub_v2"
expect_exit 0 "measure v1 names version 1" "$domain_bin" measure "$work/app-v1"
check "v1's Publisher line" output_has "^Publisher(ecdsa-p256:$publisher_b64,demo,1)\$"
expect_exit 2 "sign-program without --product" pub sign-program "$work/app-v1"
expect_exit 2 "sign-program without --keys_dir" "$domain_bin" --product=demo sign-program "$work/app-v1"
expect_exit 2 "sign-program with a bad product" pub --product='de mo' sign-program "$work/app-v1"
expect_exit 1 "sign-program with a wrong passphrase" \
  env TAO_PASSPHRASE=wrong "$domain_bin" --keys_dir="$work/pub" --product=demo sign-program "$work/app-v1"

# A signature is for one binary: v1's signature beside v2 is refused.
cp "$work/app-v2" "$work/app-x"
cp "$work/app-v1.taosig" "$work/app-x.taosig"
expect_exit 1 "v1's signature does not name v2" "$domain_bin" measure "$work/app-x"
check "the refusal names the mismatch" output_has "program signature is for $m1"
# A tampered signature file is refused (the last byte is in the ECDSA signature).
cp "$work/app-v2" "$work/app-t"
cp "$work/app-v2.taosig" "$work/app-t.taosig"
flip_bit "$work/app-t.taosig" $(($(stat -c %s "$work/app-t.taosig") - 1))
expect_exit 1 "a tampered .taosig is refused" "$domain_bin" measure "$work/app-t"
# A malformed signature file is a bad signature: refused (exit 1), as `show`
# refuses a malformed policy.signed.
printf 'not a signature' > "$work/app-t.taosig"
expect_exit 1 "a malformed .taosig is refused" "$domain_bin" measure "$work/app-t"

# --- A policy by measurement and by signer -----------------------------------
expect_exit 0 "a stand-in host key" "$domain_bin" --keys_dir="$work/host" --scrypt_n=1024 new-publisher
host=$(cat "$work/out")
cat > "$work/dom/policy.txt" <<EOF
# Written by domain_cli_test.sh.
domain_name: "corp"
rules {
  id: "root-admin"
  operations: "Admin:*"
  principals { uid: 0 }
}
rules {
  id: "ops"
  operations: ["Admin:List", "Admin:Logs"]
  principals { gid: 27 }
}
rules {
  id: "v1-exec"
  operations: "Execute"
  principals { measurement: "$m1" }
  run_as_uids: 1000
}
rules {
  id: "signed-exec"
  operations: "Execute"
  principals { signer { signer: "$publisher" product: "demo" min_version: 2 } }
}
EOF
expect_exit 0 "sign the new policy" dom sign
check "sign reports the rules" output_has "signed 4 rules of domain 'corp'"
expect_exit 0 "show the new policy" dom show
check "show prints the signer rule" output_has 'id: "signed-exec"'

name_v1="$host.Program($m1)"
name_v2="$host.Program($m2).$pub_v2"
expect_exit 0 "check allows v1 by measurement" dom check "$name_v1" Execute
check "ALLOW names the measurement rule" output_has "^ALLOW: domain 'corp': rule 'v1-exec' grants Execute (matched by measurement"
expect_exit 0 "check allows v1 with args" dom check "$name_v1.Args($m2)" Execute
expect_exit 0 "check allows signed v2" dom check "$name_v2" Execute
check "ALLOW names the signer rule" output_has "rule 'signed-exec' grants Execute (matched by signer of 'demo' version 2 >= 2)"
expect_exit 1 "check denies unsigned v2" dom check "$host.Program($m2)" Execute
check "DENY with a reason" output_has "^DENY: domain 'corp': no rule grants Execute to program key(ecdsa-p256:"
check "DENY lists the near misses" output_has "rule 'signed-exec' grants Execute to others"
# Execute as an explicit uid: only with run_as_uids (none here).
expect_exit 1 "check --run_as_uid=0 denies v1 as root" dom check --run_as_uid=0 "$name_v1" Execute
check "DENY says why not as root" output_has "^DENY: domain 'corp': no rule grants Execute as uid 0 to program"
check "the near miss names the uid" output_has "rule 'v1-exec' grants Execute (matched by measurement .*) but not as uid 0 (it lists run_as_uids \[1000\])"
expect_exit 0 "check --run_as_uid=1000 allows v1 as uid 1000" dom check --run_as_uid=1000 "$name_v1" Execute
check "ALLOW names the uid" output_has "^ALLOW: domain 'corp': rule 'v1-exec' grants Execute as uid 1000 (matched by measurement"
expect_exit 2 "--run_as_uid needs Execute" dom check --run_as_uid=0 "$name_v1" Seal
expect_exit 1 "check denies v2 signed as version 1" \
  dom check "$host.Program($m2).Publisher(ecdsa-p256:$publisher_b64,demo,1)" Execute
expect_exit 1 "check denies v2 signed as another product" \
  dom check "$host.Program($m2).Publisher(ecdsa-p256:$publisher_b64,other,2)" Execute
expect_exit 1 "check denies Attest, granted to nobody" dom check "$name_v1" Attest
check "DENY says no rule grants Attest" output_has "no rule grants Attest at all"
expect_exit 0 "check --uid=0 Admin:Start allows" dom check --uid=0 Admin:Start
check "ALLOW by uid 0" output_has "^ALLOW: domain 'corp': rule 'root-admin' grants Admin:Start (matched by uid 0)"
expect_exit 1 "check --uid=1000 Admin:Start denies" dom check --uid=1000 Admin:Start
check "DENY names the uid" output_has "^DENY: domain 'corp': no rule grants Admin:Start to uid 1000"
expect_exit 0 "check by gid" dom check --uid=1000 --gids=5,27 Admin:List
expect_exit 1 "a gid grants only its calls" dom check --uid=1000 --gids=27 Admin:Stop
expect_exit 2 "check an unknown operation" dom check --uid=0 Admin:Frobnicate
expect_exit 2 "check Admin:* is not an operation" dom check --uid=0 'Admin:*'
expect_exit 2 "check without a caller" dom check Execute
expect_exit 2 "check a malformed name" dom check 'not-a-name' Execute
expect_exit 2 "check bad --gids" dom check --uid=1000 --gids=x Admin:List

# --- Tampered and foreign signed policies ------------------------------------
cp "$work/dom/policy.signed" "$work/good.signed"
size=$(stat -c %s "$work/good.signed")
for offset in 1 20 60 $((size / 2)) $((size - 2)); do
  cp "$work/good.signed" "$work/dom/policy.signed"
  flip_bit "$work/dom/policy.signed" "$offset"
  expect_exit 1 "show refuses a flipped bit at $offset" dom show
  expect_exit 1 "check refuses a flipped bit at $offset" dom check --uid=0 Admin:Start
done
cp "$work/good.signed" "$work/dom/policy.signed"
expect_exit 0 "the restored policy verifies" dom show

"$domain_bin" --domain_dir="$work/dom2" --scrypt_n=1024 --name=corp init >/dev/null 2>&1
check "a second domain" test -s "$work/dom2/policy.signed"
expect_exit 1 "show refuses another domain's policy by path" dom show "$work/dom2/policy.signed"
check "the refusal names the key" output_has "another key"
cp "$work/dom2/policy.signed" "$work/dom/policy.signed"
expect_exit 1 "show refuses another domain's policy copied in" dom show
expect_exit 1 "check refuses another domain's policy copied in" dom check --uid=0 Admin:Start
cp "$work/good.signed" "$work/dom/policy.signed"
expect_exit 3 "show of a missing file is a failure" dom show "$work/missing.signed"

# --- A bad policy.txt changes nothing ---------------------------------------
cp "$work/dom/policy.txt" "$work/good.txt"
printf 'domain_name: "corp"\nrules {\n  id: "x"\n  operationz: "Execute"\n}\n' > "$work/dom/policy.txt"
expect_exit 2 "sign refuses a policy that does not parse" dom sign
check "the error names the line" output_has "line 4"
check "policy.signed is unchanged" cmp -s "$work/dom/policy.signed" "$work/good.signed"
printf 'domain_name: "corp"\nrules { id: "a" operations: "Execute" principals { uid: 1 } }\nrules { id: "a" operations: "Attest" principals { uid: 1 } }\n' > "$work/bad.txt"
expect_exit 2 "sign refuses a duplicate rule id" dom sign "$work/bad.txt"
check "the error names the rule" output_has "rule #2 'a': duplicate id"
check "policy.signed is still unchanged" cmp -s "$work/dom/policy.signed" "$work/good.signed"
cp "$work/good.txt" "$work/dom/policy.txt"
expect_exit 1 "sign with a wrong passphrase" env TAO_PASSPHRASE=wrong "$domain_bin" --domain_dir="$work/dom" sign
check "policy.signed is unchanged after a wrong passphrase" cmp -s "$work/dom/policy.signed" "$work/good.signed"
expect_exit 0 "check still allows after the refused signs" dom check "$name_v2" Execute

# --- A denial names the command that admits; allow runs it ----------------
expect_exit 1 "check denies unsigned v2 again" dom check "$host.Program($m2)" Seal
check "the denial names the command that admits it" \
  output_has "to admit it: tao-domain --domain_dir=DIR allow Seal --measurement=$m2"
admit=$(sed -n 's/.*to admit it: tao-domain --domain_dir=DIR \(allow [^;]*\).*/\1/p' "$work/out")
cp "$work/dom/policy.txt" "$work/before-allow.txt"
# shellcheck disable=SC2086  # the command's words, as the denial printed them
expect_exit 0 "the named command adds and signs the rule" dom $admit
check "allow prints the rule it added" output_has "principals { measurement: \"$m2\" }"
check "allow keeps the operator's text" \
  test "$(head -c "$(stat -c %s "$work/before-allow.txt")" "$work/dom/policy.txt")" = "$(cat "$work/before-allow.txt")"
expect_exit 0 "the denied call is now allowed" dom check "$host.Program($m2)" Seal
expect_exit 0 "the signed policy still verifies" dom show
cp "$work/dom/policy.txt" "$work/before-refusals.txt"
expect_exit 2 "allow the same rule again (a duplicate id)" dom $admit
expect_exit 2 "allow without an operation" dom --measurement="$m2" allow
expect_exit 2 "allow to both a measurement and a uid" dom --measurement="$m2" --uid=5 allow Seal
expect_exit 2 "allow an unknown operation" dom --uid=5 allow Frobnicate
expect_exit 2 "allow a label on Execute" dom --measurement="$m2" --label=db --id=x allow Execute
check "refused allows leave policy.txt as it was" cmp -s "$work/before-refusals.txt" "$work/dom/policy.txt"
expect_exit 0 "allow an admin uid, with --json" dom --json --uid=1000 allow Admin:Start
check "allow --json names the rule and serial" output_has '"serial":[0-9]*,.*"rule":"rules {'
expect_exit 0 "uid 1000 may now start programs" dom check --uid=1000 Admin:Start

# --- audit-verify ---------------------------------------------------------
: > "$work/empty.log"
expect_exit 0 "audit-verify an empty trail" "$domain_bin" audit-verify "$work/empty.log"
check "intact: 0 records" output_has "^intact: 0 records"
# A trail built by hand from the documented format:
#   seq, time, caller, operation, label, verdict, reason, prev, hash
# with hash = SHA-256(prev bytes || the line up to the tab before the hash).
# shellcheck disable=SC2059
hex_bytes() { printf "$(printf '%s' "$1" | sed 's/../\\x&/g')"; }
zeros=$(printf '0%.0s' $(seq 64))
t=$'\t'
line1="1${t}2024-01-01T00:00:00.000000Z${t}uid 0${t}Admin:Start${t}${t}allow${t}ok${t}${zeros}${t}"
h1=$({ hex_bytes "$zeros"; printf '%s' "$line1"; } | sha256sum | cut -c1-64)
line2="2${t}2024-01-01T00:00:01.000000Z${t}uid 7${t}Admin:Stop${t}${t}deny${t}no${t}${h1}${t}"
h2=$({ hex_bytes "$h1"; printf '%s' "$line2"; } | sha256sum | cut -c1-64)
printf '%s%s\n%s%s\n' "$line1" "$h1" "$line2" "$h2" > "$work/audit.log"
expect_exit 0 "audit-verify a hand-made trail" "$domain_bin" audit-verify "$work/audit.log"
check "intact: 2 records and the last hash" output_has "^intact: 2 records, last hash $h2\$"
sed 's/Admin:Stop/Admin:Kill/' "$work/audit.log" > "$work/changed.log"
expect_exit 1 "audit-verify a changed record" "$domain_bin" audit-verify "$work/changed.log"
check "the broken line is named" output_has "audit log line 2"
sed '1d' "$work/audit.log" > "$work/deleted.log"
expect_exit 1 "audit-verify a trail without its first record" "$domain_bin" audit-verify "$work/deleted.log"
printf 'garbage\n' > "$work/garbage.log"
expect_exit 1 "audit-verify a garbage line" "$domain_bin" audit-verify "$work/garbage.log"
check "garbage: line 1 named" output_has "audit log line 1"
head -c 50 "$work/audit.log" > "$work/cut.log"
expect_exit 1 "audit-verify a trail cut mid-line" "$domain_bin" audit-verify "$work/cut.log"
check "cut: incomplete" output_has "incomplete"
expect_exit 3 "audit-verify a missing file" "$domain_bin" audit-verify "$work/missing.log"
expect_exit 2 "audit-verify without a file" "$domain_bin" audit-verify

expect_exit 0 "--help exits 0" "$domain_bin" --help
expect_exit 2 "unknown command" dom frobnicate
expect_exit 2 "no command" "$domain_bin"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
