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

# Programs run as dynamic uids of their own, not as root: each keeps its files
# in a state directory the host gives it (<state_dir>/programs/<name>, mode 0700).
start_host() {
  "$apps/taohost/taohost" --keys_dir="$demo/keys" --domain_dir="$demo/domain" \
    --policy_key_file="$demo/etc/policy_key" --runtime_dir="$demo/run" \
    --state_dir="$demo/state" >"$demo/taohost.out" 2>>"$demo/taohost.log" &
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
# root administers the host (a hosted program on the admin socket is that
# program, never root, whatever uid it runs as).
rules { id: "root-admin" operations: "Admin:*" principals { uid: 0 } }
# demo-secret and demo-attest, by measurement, may run and use the Tao, each
# as a dynamic uid of its own (no run_as_uids: never as root).
rules {
  id: "demo-programs"
  operations: ["Execute", "Seal", "Unseal", "Attest", "GetSharedSecret"]
  principals { measurement: "$secret_m" }
  principals { measurement: "$attest_m" }
}
POLICY
domain --domain_dir="$demo/domain" sign
domain --domain_dir="$demo/domain" check --uid=0 Admin:Start
# The host pins the policy key from a file only root may change, away from
# the policy it pins (on a real host: /etc/tao/policy_key).
mkdir -m 0755 "$demo/etc"
install -m 0644 "$demo/domain/policy_name" "$demo/etc/policy_key"

step "2. Start taohost (keys created on first start, policy verified, admin socket)"
start_host

secret_state="$demo/state/programs/demo-secret/secret.sealed"
step "3. demo-secret seals a fresh secret (in its state directory, as a dynamic uid)"
taoctl --state_dir=demo-secret start --wait "$apps/demo_secret/demo-secret" "$secret_state" |
  grep -E "state|name|runs as|cgroup"
taoctl logs 1

step "4. demo-secret runs again (a new process) and unseals it"
taoctl --state_dir=demo-secret start --wait "$apps/demo_secret/demo-secret" "$secret_state" >/dev/null
taoctl logs 2

step "5. taoctl list"
taoctl list

step "6. Restart the host: same keys, same policy"
taoctl shutdown
wait "$host_pid" && echo "taohost exited cleanly"
host_pid=""
start_host
taoctl --state_dir=demo-secret start --wait "$apps/demo_secret/demo-secret" "$secret_state" >/dev/null
taoctl logs 1

step "7. demo-attest has its key attested; tao-attest verifies the chain"
attestation="$demo/state/programs/demo-attest/demo-attest.att"
taoctl --state_dir=demo-attest start --wait "$apps/demo_attest/demo-attest" "$attestation" >/dev/null
taoctl logs 2
"$apps/tao_attest/tao-attest" verify --root="$demo/keys/host_name" "$attestation"

step "8. A program the policy does not name is never started, nor demo-secret as root"
if taoctl start "$apps/tao_attest/tao-attest" show /dev/null; then
  echo "UNEXPECTED: an unlisted program started"; exit 1
fi
if taoctl --uid=0 start "$apps/demo_secret/demo-secret" /dev/null; then
  echo "UNEXPECTED: demo-secret started as root without a run_as_uids grant"; exit 1
fi

step "9. Shut down: every program stopped, the audit trail intact"
taoctl info
taoctl shutdown
wait "$host_pid" && echo "taohost exited cleanly"
host_pid=""
domain audit-verify "$demo/state/audit/audit.log" \
  --checkpoint="$demo/state/audit/audit.log.checkpoint" --key="$demo/keys/host_name"

printf '\nDemo complete. Files are in %s (taohost.log has the host log).\n' "$demo"
