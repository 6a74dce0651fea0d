#!/usr/bin/env bash
# End-to-end test of tao-soft and tao-attest as separate processes: what one
# process seals another unseals; attestations verify against the host's name
# and are rejected with the right reason when tampered, expired, not yet
# valid or checked against the wrong root; a wrong passphrase changes nothing.
set -uo pipefail
# shellcheck source=../../scripts/lib.sh
. "$(dirname "$0")/../../scripts/lib.sh"
soft_bin=$1
attest_bin=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/tao-soft-cli.XXXXXX")
trap 'rm -rf "$work"' EXIT
# shellcheck source=../testing/checks.sh
. "$(dirname "$0")/../testing/checks.sh"

printf 'correct horse\n' > "$work/pass"
printf 'another host\n' > "$work/pass2"
soft() { "$soft_bin" --keys_dir="$work/keys" --passphrase_file="$work/pass" --scrypt_n=1024 "$@"; }

expect_exit 3 "name before init fails with not-found" soft name
check "no keys dir created by a failed name" test ! -e "$work/keys/host_keys"
expect_exit 0 "init creates keys" soft init
name1=$(cat "$work/out")
check "init prints a key principal" grep -q '^key(ecdsa-p256:' "$work/out"
check "host_name holds the name" test "$(cat "$work/keys/host_name")" = "$name1"
check "host_keys is mode 0600" test "$(stat -c %a "$work/keys/host_keys")" = 600
check "keys dir is mode 0700" test "$(stat -c %a "$work/keys")" = 700
expect_exit 0 "init again loads the same keys" soft init
check "same name after reload" test "$(cat "$work/out")" = "$name1"

head -c 100000 /dev/urandom > "$work/plain"
expect_exit 0 "seal in one process" soft --policy=p1 seal "$work/plain" "$work/bundle"
check "bundle is mode 0600" test "$(stat -c %a "$work/bundle")" = 600
expect_exit 0 "unseal in another process" soft unseal "$work/bundle" "$work/plain.out"
check "unsealed bytes equal the sealed bytes" cmp -s "$work/plain" "$work/plain.out"
check "unseal reports the sealer" output_has "sealed by $name1"

cp "$work/bundle" "$work/bundle.bad"
flip_bit "$work/bundle.bad" 5000
expect_exit 1 "a flipped bit is refused" soft unseal "$work/bundle.bad" "$work/never"
check "nothing written for a refused unseal" test ! -e "$work/never"

"$soft_bin" --keys_dir="$work/keys2" --passphrase_file="$work/pass2" --scrypt_n=1024 init >/dev/null 2>&1
expect_exit 1 "another host cannot unseal" \
  "$soft_bin" --keys_dir="$work/keys2" --passphrase_file="$work/pass2" unseal "$work/bundle" "$work/never"

before=$(sha256sum "$work/keys/host_keys" "$work/keys/host_name"; stat -c %Y "$work/keys/host_keys")
expect_exit 1 "wrong passphrase is refused" \
  env TAO_PASSPHRASE=wrong "$soft_bin" --keys_dir="$work/keys" name
check "wrong passphrase is named" output_has "wrong passphrase"
after=$(sha256sum "$work/keys/host_keys" "$work/keys/host_name"; stat -c %Y "$work/keys/host_keys")
check "wrong passphrase leaves the files unchanged" test "$before" = "$after"
check "no temporary files left" test "$(ls "$work/keys" | wc -l)" = 2

expect_exit 0 "attest" soft --extend='Ext(role:test)' --predicate=ready --args=a,b --valid_for=1h attest "$work/att"
expect_exit 0 "verify against the host's name" "$attest_bin" verify --root="$work/keys/host_name" "$work/att"
check "verify prints the speaker" output_has "speaker:     $name1.Ext(role:test)"
expect_exit 0 "show" "$attest_bin" show "$work/att"
name1_fp=$(python3 -c 'import base64, hashlib, sys
b = sys.argv[1][len("key(ecdsa-p256:"):-1]
der = base64.urlsafe_b64decode(b + "=" * (-len(b) % 4))
print("SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode().rstrip("="))' "$name1")
check "show prints the signer as its key's fingerprint" grep -qxF "├── signer: key(ecdsa-p256:$name1_fp)" "$work/out"
check "show draws the one link as a tree" grep -qx "└── signature: 7[0-2] bytes, sha256 [0-9a-f]\{16\}\.\.\." "$work/out"
check "show says the chain's length and order" grep -qxF "chain of 1 link, root first (the top link's signer must be a trusted root):" "$work/out"
check "show prints the speaker short, with its Ext" \
  grep -qF "statement: key(ecdsa-p256:$name1_fp).Ext(role:test) says ready" "$work/out"
check "show prints no whole key" bash -c "! grep -qF 'key(ecdsa-p256:MFkw' '$work/out'"
expect_exit 0 "show --full" "$attest_bin" show --full "$work/att"
check "show --full prints the whole signer" grep -qxF "├── signer: $name1" "$work/out"
check "show --full prints the whole speaker" grep -qF "statement: $name1.Ext(role:test) says" "$work/out"
expect_exit 1 "wrong root is rejected" "$attest_bin" verify --root="$work/keys2/host_name" "$work/att"
check "reason: untrusted-signer" output_has "rejected: untrusted-signer"
expect_exit 1 "expired" "$attest_bin" verify --root="$work/keys/host_name" --at=2999-01-01T00:00:00Z "$work/att"
check "reason: expired" output_has "rejected: expired"
expect_exit 1 "not yet valid" "$attest_bin" verify --root="$work/keys/host_name" --at=2000-01-01T00:00:00Z "$work/att"
check "reason: not-yet-valid" output_has "rejected: not-yet-valid"
cp "$work/att" "$work/att.bad"
flip_bit "$work/att.bad" $(($(stat -c %s "$work/att.bad") - 2))
expect_exit 1 "tampered signature" "$attest_bin" verify --root="$work/keys/host_name" "$work/att.bad"
check "reason: bad-signature" output_has "rejected: bad-signature"
printf 'not an attestation\377\377' > "$work/garbage"
expect_exit 1 "garbage is not an attestation" "$attest_bin" verify --root="$work/keys/host_name" "$work/garbage"
check "reason: malformed" output_has "rejected: malformed"
printf 'junk' > "$work/bundle.junk"
expect_exit 1 "a malformed bundle is refused" soft unseal "$work/bundle.junk" "$work/never"
expect_exit 2 "a bad --extend is a usage error" soft --extend='Program(x)' name
rm "$work/keys/host_name"
expect_exit 0 "a missing host_name is repaired on load" soft name
check "host_name rewritten" test "$(cat "$work/keys/host_name")" = "$name1"
expect_exit 2 "verify without --root is a usage error" "$attest_bin" verify "$work/att"
expect_exit 0 "--help exits 0" "$attest_bin" --help
expect_exit 2 "unknown command" "$soft_bin" --keys_dir="$work/keys" frobnicate

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
