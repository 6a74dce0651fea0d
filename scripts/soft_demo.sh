#!/usr/bin/env bash
# The soft-root demo (the Tao core on its own): installs what is missing,
# builds, creates a soft-root host in build/demo/, seals a secret in one
# process and unseals it in another, attests a statement and verifies it with
# tao-attest, and shows what a tampered attestation and a wrong passphrase get.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib.sh
. "$root/scripts/lib.sh"
"$root/scripts/setup.sh"
TARGETS="tao-soft tao-attest" "$root/scripts/build.sh"

bin=$root/build/apps
demo=$root/build/soft-demo
rm -rf "$demo"
mkdir -p "$demo"
# Demo only: a passphrase embedded here. Real hosts take it from a file.
printf 'demo passphrase, not for production\n' > "$demo/passphrase"
chmod 600 "$demo/passphrase"
soft() { "$bin/tao_soft/tao-soft" --keys_dir="$demo/keys" --passphrase_file="$demo/passphrase" "$@"; }
step() { printf '\n== %s\n' "$*"; }

step "1. Create a soft-root host (keys encrypted under the passphrase with scrypt)"
soft init
ls -l "$demo/keys"

step "2. Seal a secret (process A)"
printf 'the launch codes are 0000\n' > "$demo/secret.txt"
soft --policy=demo-policy seal "$demo/secret.txt" "$demo/secret.sealed"
echo "bundle starts with: $(head -c 4 "$demo/secret.sealed") ($(stat -c %s "$demo/secret.sealed") bytes)"

step "3. Unseal it in a new process (process B loads the same keys)"
soft unseal "$demo/secret.sealed" -

step "4. A bundle with one flipped bit is refused"
cp "$demo/secret.sealed" "$demo/tampered.sealed"
flip_bit "$demo/tampered.sealed" 120
if soft unseal "$demo/tampered.sealed" - ; then echo "UNEXPECTED: tampered bundle opened"; exit 1; fi

step "5. Attest a statement as a subprincipal of the host"
soft --extend='Ext(role:demo)' --predicate=ready --args=port=8443,build=1 attest "$demo/ready.att"

step "6. Verify it with tao-attest against the host's name as trusted root"
"$bin/tao_attest/tao-attest" verify --root="$demo/keys/host_name" "$demo/ready.att"
"$bin/tao_attest/tao-attest" show "$demo/ready.att"

step "7. A tampered attestation is rejected with the reason"
cp "$demo/ready.att" "$demo/tampered.att"
flip_bit "$demo/tampered.att" $(($(stat -c %s "$demo/tampered.att") - 3))
if "$bin/tao_attest/tao-attest" verify --root="$demo/keys/host_name" "$demo/tampered.att"; then
  echo "UNEXPECTED: tampered attestation verified"; exit 1
fi

step "8. A wrong passphrase is refused and changes nothing"
before=$(sha256sum "$demo/keys/host_keys")
if TAO_PASSPHRASE=wrong "$bin/tao_soft/tao-soft" --keys_dir="$demo/keys" name; then
  echo "UNEXPECTED: wrong passphrase accepted"; exit 1
fi
[ "$before" = "$(sha256sum "$demo/keys/host_keys")" ] && echo "keys file unchanged"

printf '\nDemo complete: files are in %s\n' "$demo"
