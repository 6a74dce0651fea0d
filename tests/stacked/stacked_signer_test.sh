#!/usr/bin/env bash
# stacked_seal: "same-signer": a stacked host whose binary is signed keeps
# its keyset across an upgrade to a later signed version (which seals it
# again under its own version), while older versions, the one upgraded
# from included, and an unsigned build are refused it.
# Usage: stacked_signer_test.sh TAOHOST TAOCTL TAO_DOMAIN TAO_ATTEST
#        DEMO_SECRET DEMO_ATTEST
# shellcheck source=../admin/admin_test_lib.sh
. "$(dirname "$0")/../admin/admin_test_lib.sh" "$@"

if [ "$(id -u)" -ne 0 ]; then echo "SKIP: needs root"; exit 0; fi

# Four builds of the host: versions 1, 2 and 0 signed, one unsigned.
bin="$work/bin"
mkdir -m 0755 "$bin"
publisher=$("$domain_bin" --keys_dir="$work/pub" --scrypt_n=1024 new-publisher 2>/dev/null)
for v in 1 2 0 9; do
  cp "$taohost_bin" "$bin/taohost-$v"
  printf '%s' "$v" >>"$bin/taohost-$v"   # different bytes, the same program
  chmod 0755 "$bin/taohost-$v"
  if [ "$v" != 9 ]; then
    "$domain_bin" --keys_dir="$work/pub" --product=taohost --product_version="$v" \
      sign-program "$bin/taohost-$v" >/dev/null 2>&1
  fi
done
check "the publisher exists" test -n "$publisher"
check "the builds are signed" test -s "$bin/taohost-1.taosig"

extra_rules="
rules {
  id: \"signed-hosts\"
  operations: [\"Execute\", \"Seal\", \"Unseal\", \"Attest\"]
  principals { signer { signer: \"$publisher\" product: \"taohost\" } }
}
rules {
  id: \"unsigned-host\"
  operations: [\"Execute\", \"Seal\", \"Unseal\", \"Attest\"]
  principals { measurement: \"$(measure "$bin/taohost-9")\" }
}"
make_domain "$work/dom" || { echo "FAIL: could not make the domain"; exit 1; }
mkdir -m 0755 "$work/sdom"
cp "$work/dom/policy_name" "$work/dom/policy.signed" "$work/sdom/"
chmod 0644 "$work/sdom/"*
root_sock="$work/root.sock"
cat >"$work/root.conf" <<CONF
keys_dir: "$work/keys"
domain_dir: "$work/dom"
policy_key_file: "$work/dom/policy_name"
runtime_dir: "$work/run"
admin_socket: "$root_sock"
state_dir: "$work/hoststate"
CONF
cat >"$work/stacked.conf" <<CONF
root: "stacked"
stacked_seal: "same-signer"
domain_dir: "$work/sdom"
policy_key_file: "$work/sdom/policy_name"
CONF
chmod 0644 "$work/stacked.conf"
rctl() { "$taoctl_bin" --socket="$root_sock" "$@"; }
ssock="$work/hoststate/programs/S/run/admin.sock"
# run_version V: starts build V with state directory S; true once its admin
# socket answers; sets sid and its log in $work/out either way.
run_version() {
  rctl --json start --state_dir=S "$bin/taohost-$1" --config="$work/stacked.conf" \
    >"$work/s.json" 2>/dev/null || return 1
  sid=$(json_eval "$work/s.json" "objs[0]['id']")
  local deadline=$((SECONDS + 30)) up=1
  until "$taoctl_bin" --socket="$ssock" name >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ] ||
      [ "$(rctl --json list | json_eval /dev/stdin "[o for o in objs if str(o.get('id')) == '$sid'][0]['state']")" = exited ]; then
      up=0; break
    fi
    sleep 0.05
  done
  rctl logs "$sid" >"$work/out" 2>&1
  [ "$up" = 1 ]
}
stop_version() { rctl stop "$sid" >/dev/null 2>&1; }
fails_to_run() { ! run_version "$1"; }

if ! start_host root --config="$work/root.conf" --scrypt_n=1024; then failed=$((failed + 1)); finish; exit 1; fi
check "version 1 starts and makes its keyset" run_version 1
keyset="$work/hoststate/programs/S/keys/stacked_keyset"
sum=$(sha256sum <"$keyset")
stop_version
check "version 2 starts with the same keyset (an upgrade)" run_version 2
check "which it sealed again under version 2" test "$(sha256sum <"$keyset")" != "$sum"
sum=$(sha256sum <"$keyset")
stop_version
check "version 2 again: the keyset unchanged" run_version 2
check "unchanged" test "$(sha256sum <"$keyset")" = "$sum"
stop_version
check "version 1 can no longer take it back (no rollback)" fails_to_run 1
check "the parent did not unseal it for version 1" grep -q "did not unseal the keyset" "$work/out"
check "version 0 (older) is refused the keyset" fails_to_run 0
check "the parent did not unseal it" grep -q "did not unseal the keyset" "$work/out"
check "an unsigned build is refused at start" fails_to_run 9
check "saying it has no Publisher" grep -q "without a Publisher" "$work/out"
check "the keyset is untouched" test "$(sha256sum <"$keyset")" = "$sum"
check "version 2 still starts" run_version 2
stop_version
expect_exit 0 "shut the root down" rctl shutdown
host_exit "$host_pid" 15
finish
