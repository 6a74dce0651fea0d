#!/usr/bin/env bash
# The demo of the main job, on embedded defaults: installs what is missing,
# builds, creates a demo domain and its signed policy, starts taohost, runs
# demo-secret through taoctl (it seals a secret, then unseals it after the
# program restarts and after the host restarts), shows taoctl list and the
# logs, verifies demo-attest's attestation with tao-attest, shows a denied
# start with the domain's reason, and shuts everything down cleanly.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
TARGETS="taohost taoctl tao-domain tao-attest demo-secret demo-attest" \
  "$root/scripts/build.sh"

apps=$root/build/apps
demo=$root/build/demo
rm -rf "$demo"
mkdir -p "$demo"
# Demo only: a passphrase embedded here. Real hosts read it from a file.
export TAO_PASSPHRASE='demo passphrase, not for production'
domain() { "$apps/tao_domain/tao-domain" "$@"; }
taoctl() { "$apps/taoctl/taoctl" --socket="$demo/run/admin.sock" "$@"; }
step() { printf '\n== %s\n' "$*"; }
host_pid=""
cleanup() { [ -n "$host_pid" ] && kill "$host_pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

start_host() {
  "$apps/taohost/taohost" --keys_dir="$demo/keys" --domain_dir="$demo/domain" \
    --runtime_dir="$demo/run" --state_dir="$demo/state" >"$demo/taohost.out" 2>>"$demo/taohost.log" &
  host_pid=$!
  for _ in $(seq 100); do
    grep -q "admin socket ready" "$demo/taohost.out" 2>/dev/null && break
    sleep 0.1
  done
  cat "$demo/taohost.out"
}

step "1. Create the demo domain: a policy key (under a passphrase) and a signed policy"
domain --domain_dir="$demo/domain" --name=demo init
secret_m=$(domain measure "$apps/demo_secret/demo-secret" | sed -n 's/^Program(\(.*\))$/\1/p')
attest_m=$(domain measure "$apps/demo_attest/demo-attest" | sed -n 's/^Program(\(.*\))$/\1/p')
cat >"$demo/domain/policy.txt" <<POLICY
domain_name: "demo"
# root administers the host.
rules { id: "root-admin" operations: "Admin:*" principals { uid: 0 } }
# demo-secret and demo-attest, by measurement, may run and use the Tao.
rules {
  id: "demo-programs"
  operations: ["Execute", "Seal", "Unseal", "Attest", "GetSharedSecret"]
  principals { measurement: "$secret_m" }
  principals { measurement: "$attest_m" }
}
POLICY
domain --domain_dir="$demo/domain" sign
domain --domain_dir="$demo/domain" check --uid=0 Admin:Start

step "2. Start taohost (keys created on first start, policy verified, admin socket)"
start_host

step "3. demo-secret seals a fresh secret"
taoctl start --wait "$apps/demo_secret/demo-secret" "$demo/secret.sealed" | grep -E "state|name"
taoctl logs 1

step "4. demo-secret runs again (a new process) and unseals it"
taoctl start --wait "$apps/demo_secret/demo-secret" "$demo/secret.sealed" >/dev/null
taoctl logs 2

step "5. taoctl list"
taoctl list

step "6. Restart the host: same keys, same policy"
taoctl shutdown
wait "$host_pid" && echo "taohost exited cleanly"
host_pid=""
start_host
taoctl start --wait "$apps/demo_secret/demo-secret" "$demo/secret.sealed" >/dev/null
taoctl logs 1

step "7. demo-attest has its key attested; tao-attest verifies the chain"
taoctl start --wait "$apps/demo_attest/demo-attest" "$demo/demo-attest.att" >/dev/null
taoctl logs 2
"$apps/tao_attest/tao-attest" verify --root="$demo/keys/host_name" "$demo/demo-attest.att"

step "8. A program the policy does not name is never started"
if taoctl start "$apps/tao_attest/tao-attest" show /dev/null; then
  echo "UNEXPECTED: an unlisted program started"; exit 1
fi

step "9. Shut down: every program stopped, the audit trail intact"
taoctl info
taoctl shutdown
wait "$host_pid" && echo "taohost exited cleanly"
host_pid=""
domain audit-verify "$demo/state/audit/audit.log" \
  --checkpoint="$demo/state/audit/audit.log.checkpoint" --key="$demo/keys/host_name"

printf '\nDemo complete. Files are in %s (taohost.log has the host log).\n' "$demo"
