# shellcheck shell=bash disable=SC2034,SC2154  # variables shared with the test scripts
# Shared by the admin integration tests: a real taohost, the real admin
# socket, taoctl as a separate process. Source it with the binaries' paths:
#   . admin_test_lib.sh TAOHOST TAOCTL TAO_DOMAIN TAO_ATTEST DEMO_SECRET DEMO_ATTEST
# It makes $work (a fresh temp dir, traversable by other users so that the
# tests can run taoctl as nobody), counts checks, and on exit kills every
# taohost it started and every program those hosts started.
set -uo pipefail
# shellcheck source=../../scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

if [ $# -ne 6 ]; then
  echo "usage: $0 TAOHOST TAOCTL TAO_DOMAIN TAO_ATTEST DEMO_SECRET DEMO_ATTEST" >&2
  exit 2
fi
taohost_bin=$1
taoctl_bin=$2
domain_bin=$3
attest_bin=$4
secret_bin=$5
demo_attest_bin=$6

work=$(mktemp -d "${TMPDIR:-/tmp}/tao-admin.XXXXXX")
# Hosted programs run as dynamic uids of their own (not root): like /tmp,
# they may create files here, each its own (sticky).
chmod 01777 "$work"
export TAO_PASSPHRASE='admin test passphrase'

host_pids=()     # every taohost this script started
program_pids=()  # every hosted program pid seen (killed on exit if still there)
cleanup() {
  local pid child
  for pid in "${host_pids[@]}"; do
    if alive "$pid"; then
      for child in $(pgrep -P "$pid"); do kill -KILL "$child" 2>/dev/null; done
      kill -KILL "$pid" 2>/dev/null
    fi
  done
  for pid in "${program_pids[@]}"; do
    if alive "$pid"; then kill -KILL "$pid" 2>/dev/null; fi
  done
  for pid in $(jobs -p); do kill -KILL "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap 'cleanup 2>/dev/null' EXIT

passed=0
failed=0
# TAO_TEST_VERBOSE=1 prints every check that passes, too.
verbose() { if [ "${TAO_TEST_VERBOSE:-0}" = 1 ]; then echo "$@"; fi; }
check() {  # description, then a command that must succeed
  local what=$1; shift
  if "$@"; then passed=$((passed + 1)); verbose "ok: $what"; else
    failed=$((failed + 1)); echo "FAIL: $what"; fi
}
expect_exit() {  # expected code, description, command...
  local want=$1 what=$2; shift 2
  "$@" >"$work/out" 2>"$work/err"
  local got=$?
  if [ "$got" -eq "$want" ]; then passed=$((passed + 1)); verbose "ok: $what (exit $got)"; else
    failed=$((failed + 1)); echo "FAIL: $what: exit $got, expected $want"
    sed 's/^/  out: /' "$work/out"; sed 's/^/  err: /' "$work/err"; fi
}
output_has() { grep -q -- "$1" "$work/out" "$work/err"; }
stdout_has() { grep -q -- "$1" "$work/out"; }
stderr_has() { grep -q -- "$1" "$work/err"; }
stdout_is() { [ "$(cat "$work/out")" = "$1" ]; }
finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

# alive PID: the process exists and is not a zombie.
alive() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

# wait_gone PID SECONDS: true once PID is gone (or a zombie) within SECONDS.
wait_gone() {
  local pid=$1 deadline=$((SECONDS + $2 + 1))
  while alive "$pid"; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.05
  done
  return 0
}

# now_ms: milliseconds since the epoch.
now_ms() { date +%s%3N; }

# --- A domain ----------------------------------------------------------------
# make_domain DIR: a fresh domain named admintest whose policy lets root make
# every admin call and lets the demo programs, /bin/sleep and /bin/sh run
# (granted by measurement). Anything else (e.g. /bin/true) is denied.
# Extra rules in $extra_rules are appended.
sh_path=$(readlink -f /bin/sh)
measure() { "$domain_bin" measure "$1" | sed -n 's/^Program(\(sha256:[0-9a-f]\{64\}\))$/\1/p'; }
m_secret=$(measure "$secret_bin")
m_attest=$(measure "$demo_attest_bin")
m_sleep=$(measure /bin/sleep)
m_sh=$(measure "$sh_path")
extra_rules=""
write_policy() {  # DIR
  cat >"$1/policy.txt" <<EOF
domain_name: "admintest"
rules {
  id: "root-admin"
  operations: "Admin:*"
  principals { uid: 0 }
}
rules {
  id: "demos"
  operations: ["Execute", "Seal", "Unseal", "Attest", "GetSharedSecret"]
  principals { measurement: "$m_secret" }
  principals { measurement: "$m_attest" }
}
rules {
  id: "tools"
  operations: "Execute"
  principals { measurement: "$m_sleep" }
  principals { measurement: "$m_sh" }
}
$extra_rules
EOF
  "$domain_bin" --domain_dir="$1" --scrypt_n=1024 sign >/dev/null
}
make_domain() {  # DIR
  "$domain_bin" --domain_dir="$1" --name=admintest --scrypt_n=1024 init >/dev/null 2>&1 &&
    write_policy "$1"
}

# --- A host ------------------------------------------------------------------
# start_host LABEL ARGS...: runs taohost ARGS in the background (stdout and
# stderr in $work/LABEL.out, .err), waits for "admin socket ready". Sets
# host_pid. Fails (printing its output) if it does not come up in 10 s.
start_host() {
  local label=$1; shift
  "$taohost_bin" "$@" >"$work/$label.out" 2>"$work/$label.err" &
  host_pid=$!
  host_pids+=("$host_pid")
  local deadline=$((SECONDS + 10))
  while [ "$SECONDS" -lt "$deadline" ]; do
    grep -q 'admin socket ready' "$work/$label.out" 2>/dev/null && return 0
    alive "$host_pid" || break
    sleep 0.05
  done
  echo "taohost ($label) did not come up:"
  sed 's/^/  /' "$work/$label.out" "$work/$label.err"
  return 1
}

# host_exit PID SECONDS: waits for a taohost this shell started; sets
# host_status to its exit code, or "timeout" if it is still running.
host_exit() {
  if wait_gone "$1" "$2"; then
    wait "$1" 2>/dev/null
    host_status=$?
  else
    host_status=timeout
  fi
}

# ctl ARGS...: taoctl on $sock.
ctl() { "$taoctl_bin" --socket="$sock" "$@"; }
# as_nobody COMMAND...: runs COMMAND as uid 65534 with no groups.
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }

# json_eval FILE EXPR: evaluates python EXPR over the JSON objects of FILE
# (one a line, as taoctl --json prints them) bound to `objs`; prints it.
json_eval() {
  python3 -c '
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(eval(sys.argv[2]))' "$1" "$2"
}
