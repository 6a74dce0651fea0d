#!/usr/bin/env bash
# A tree of three real processes: a soft-root taohost, a stacked taohost as
# its hosted program (on a dynamic uid, its state in the state directory the
# parent gives it), and demo-secret / demo-attest / sleep under that.
#   - seal; restart the stacked host, unseal; restart the root, unseal;
#   - the same binary with other args (another name) cannot unseal the
#     keyset;
#   - the grandchild's attestation verifies against the root key only, and
#     fails against any other key, with any link tampered, or expired;
#   - killing the stacked host (admin kill or SIGKILL) takes its programs
#     with it: no orphans, no zombies;
#   - a program cannot get its host to sign for a name outside its own,
#     at either level;
#   - the delegation is renewed before its window ends.
# Usage: stacked_test.sh TAOHOST TAOCTL TAO_DOMAIN TAO_ATTEST DEMO_SECRET
#        DEMO_ATTEST STACKED_PROBE
probe_bin=${7:-}
# shellcheck source=../admin/admin_test_lib.sh
. "$(dirname "$0")/../admin/admin_test_lib.sh" "${@:1:6}"

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: needs root (the stacked host runs on a dynamic uid)"
  exit 0
fi

m_host=$(measure "$taohost_bin")
m_probe=$(measure "$probe_bin")
m_taoctl=$(measure "$taoctl_bin")
stacked_uid=""  # known once the stacked host runs
# The domain: the root may run taohost (and the probe); under the stacked
# host the demos, sleep and the probe run as the stacked host's own uid (an
# unprivileged host runs its programs as itself).
publish_policy() {
  extra_rules="
rules {
  id: \"stacked-hosts\"
  operations: [\"Execute\", \"Seal\", \"Unseal\", \"Attest\"]
  principals { measurement: \"$m_host\" }
}
rules {
  id: \"probe\"
  operations: [\"Execute\", \"Attest\", \"Seal\"]
  principals { measurement: \"$m_probe\" }
}"
  if [ -n "$stacked_uid" ]; then
    extra_rules+="
rules {
  id: \"under-stacked\"
  operations: [\"Execute\", \"Seal\", \"Unseal\", \"Attest\", \"GetSharedSecret\"]
  principals { measurement: \"$m_secret\" }
  principals { measurement: \"$m_attest\" }
  principals { measurement: \"$m_sleep\" }
  principals { measurement: \"$m_probe\" }
  principals { measurement: \"$m_sh\" }
  principals { measurement: \"$m_taoctl\" }
  run_as_uids: $stacked_uid
}"
  fi
  write_policy "$work/dom" &&
    cp "$work/dom/policy.signed" "$work/sdom/policy.signed" &&
    chmod 0644 "$work/sdom/policy.signed"
}
make_domain "$work/dom" || { echo "FAIL: could not make the domain"; exit 1; }
# The stacked host reads the same domain (the policy key pinned the same
# way) from a copy its uid may read.
mkdir -m 0755 "$work/sdom"
cp "$work/dom/policy_name" "$work/sdom/" && chmod 0644 "$work/sdom/policy_name"
publish_policy || { echo "FAIL: could not sign the policy"; exit 1; }

root_sock="$work/root.sock"
cat >"$work/root.conf" <<CONF
keys_dir: "$work/keys"
domain_dir: "$work/dom"
policy_key_file: "$work/dom/policy_name"
runtime_dir: "$work/run"
admin_socket: "$root_sock"
state_dir: "$work/hoststate"
shutdown_grace_ms: 3000
CONF
cat >"$work/stacked.conf" <<CONF
root: "stacked"
domain_dir: "$work/sdom"
policy_key_file: "$work/sdom/policy_name"
shutdown_grace_ms: 1000
CONF
chmod 0644 "$work/stacked.conf"
root_args=(--config="$work/root.conf" --scrypt_n=1024)

rctl() { "$taoctl_bin" --socket="$root_sock" "$@"; }
sdir() { echo "$work/hoststate/programs/$1"; }
sctl() { local n=$1; shift; "$taoctl_bin" --socket="$(sdir "$n")/run/admin.sock" "$@"; }

# start_stacked STATE_NAME [ARGS...]: starts a stacked taohost under the
# root; sets sid and spid; true once its admin socket answers (30 s: a
# sanitizer build is slow).
start_stacked() {
  local name=$1; shift
  rctl --json start --state_dir="$name" "$taohost_bin" \
    --config="$work/stacked.conf" "$@" >"$work/start.json" 2>"$work/start.err" || return 1
  sid=$(json_eval "$work/start.json" "objs[0]['id']")
  spid=$(json_eval "$work/start.json" "objs[0]['pid']")
  program_pids+=("$spid")
  local deadline=$((SECONDS + 30))
  until sctl "$name" name >/dev/null 2>&1; do
    alive "$spid" || return 1
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.05
  done
}
# uid_of ID: the uid the root runs program ID as.
uid_of() { rctl --json list | json_eval /dev/stdin "[o for o in objs if str(o.get('id')) == '$1'][0]['uid']"; }
# under NAME PROGRAM ARGS...: runs PROGRAM under stacked host NAME as its uid
# to its end; its log in $work/out. True if it exited 0.
under() {
  local name=$1 id; shift
  id=$(sctl "$name" --uid="$stacked_uid" start "$@" 2>"$work/err") || return 1
  local status
  status=$(sctl "$name" --timeout_ms=20000 wait "$id" 2>/dev/null)
  sctl "$name" logs "$id" >"$work/out" 2>/dev/null
  [ "$status" = "exit 0" ]
}
stop_stacked() { rctl stop "$sid" >/dev/null 2>&1; wait_gone "$spid" 10; }

# --- Choosing a root -----------------------------------------------------------
expect_exit 2 "an unknown root is a usage error" "$taohost_bin" --config="$work/root.conf" --root=tpm3
check "naming the roots there are" stderr_has "soft, stacked or tpm2"
expect_exit 2 "a stacked root needs a parent" \
  env -u TAO_CHANNEL TAO_STATE_DIRECTORY="$work/nostate" "$taohost_bin" --config="$work/stacked.conf"
check "saying so" stderr_has "root stacked: no parent host (TAO_CHANNEL)"
check "and writes nothing" test ! -e "$work/nostate"

# --- The tree ----------------------------------------------------------------
if ! start_host root "${root_args[@]}"; then failed=$((failed + 1)); finish; exit 1; fi
root_name=$(rctl name)
check "a stacked host starts under the root" start_stacked A
sed 's/^/  start: /' "$work/start.err" | head -5
stacked_name=$(sctl A name)
listed_name=$(rctl --json list | json_eval /dev/stdin "[o for o in objs if str(o.get('id')) == '$sid'][0]['name']")
check "its name is the one the root measured" test "$stacked_name" = "$listed_name"
check "under the root's name" test "${stacked_name#"$root_name".Program(}" != "$stacked_name"
stacked_uid=$(uid_of "$sid")
check "it runs on a dynamic uid, not root" test "${stacked_uid:-0}" -ne 0
keyset="$(sdir A)/keys/stacked_keyset"
check "its keyset is in its state directory, 0600, its own" \
  test "$(stat -c '%a %u' "$keyset" 2>/dev/null)" = "600 $stacked_uid"
check "the keyset is a sealed bundle, not the key in the clear" \
  sh -c "! grep -qa 'tao-stacked-keyset' '$keyset'"
check "no passphrase in its environment" \
  sh -c "! tr '\0' '\n' </proc/$spid/environ | grep -q TAO_PASSPHRASE"
publish_policy
expect_exit 0 "the stacked host reloads the policy" sctl A reload

check "demo-secret seals under the stacked host" under A "$secret_bin" "$work/gc.state"
digest=$(sed -n 's/^sealed a new secret: //p' "$work/out")
check "it sealed a secret" test -n "$digest"
check "the grandchild's name extends the stacked host's" \
  grep -qF "my name: $stacked_name.Program($m_secret)" "$work/out"

# --- Restart the stacked host, then the root ----------------------------------
keyset_sum=$(sha256sum <"$keyset")
stop_stacked
check "a restarted stacked host comes up" start_stacked A
check "with the same name" test "$(sctl A name)" = "$stacked_name"
check "and the keyset unchanged" test "$(sha256sum <"$keyset")" = "$keyset_sum"
new_uid=$(uid_of "$sid")
if [ "$new_uid" != "$stacked_uid" ]; then stacked_uid=$new_uid; publish_policy; sctl A reload >/dev/null; fi
check "demo-secret unseals after the stacked host's restart" under A "$secret_bin" "$work/gc.state"
check "the same secret" grep -qx "unsealed the secret: $digest" "$work/out"

expect_exit 0 "shut the root down" rctl shutdown
host_exit "$host_pid" 15
check "the root exits 0 (got $host_status)" test "$host_status" = 0
check "the stacked host went with it" wait_gone "$spid" 5
if ! start_host root2 "${root_args[@]}"; then failed=$((failed + 1)); finish; exit 1; fi
check "the root's name is unchanged" test "$(rctl name)" = "$root_name"
check "the stacked host comes up under the restarted root" start_stacked A
check "with the same name again" test "$(sctl A name)" = "$stacked_name"
new_uid=$(uid_of "$sid")
if [ "$new_uid" != "$stacked_uid" ]; then stacked_uid=$new_uid; publish_policy; sctl A reload >/dev/null; fi
check "demo-secret unseals after the root's restart" under A "$secret_bin" "$work/gc.state"
check "the same secret once more" grep -qx "unsealed the secret: $digest" "$work/out"

# --- The grandchild's attestation ---------------------------------------------
att="$work/gc.att"
check "demo-attest attests under the stacked host" under A "$demo_attest_bin" "$att"
check "and writes its attestation" test -s "$att"
expect_exit 0 "it verifies against the root key" "$attest_bin" verify --root="$work/keys/host_name" "$att"
check "through the stacked host's delegation (two links)" stdout_has "delegations: 2"
check "the speaker is under the stacked host" stdout_has "speaker:     $stacked_name.Program("
check "the root is the root host's key" stdout_has "root:        $root_name\$"
expect_exit 1 "not against the policy key" "$attest_bin" verify --root="$work/dom/policy_name" "$att"
check "untrusted-signer, naming the last link" output_has "untrusted-signer: delegation 2"
# The stacked host's own key is no root either.
"$attest_bin" show --full "$att" >"$work/show.txt"
# The tree is root first: the root's link at the top, then delegation 1
# (indented once), signed by the stacked host's key K.
check "show draws the chain root first" test "$(head -2 "$work/show.txt" | tail -1)" = "delegation 2"
check "delegation 1 under it" grep -qx '└── delegation 1' "$work/show.txt"
check "and the attestation at the bottom" test "$(tail -4 "$work/show.txt" | head -1)" = "    └── attestation"
stacked_key=$(sed -n 's/^    ├── signer: //p' "$work/show.txt" | head -1)
echo "$stacked_key" >"$work/stacked_key"
check "the chain shows the stacked host's key" grep -q '^key(' "$work/stacked_key"
expect_exit 1 "not against the stacked host's key" "$attest_bin" verify --root="$work/stacked_key" "$att"
check "untrusted-signer again" output_has "untrusted-signer"
for depth in 0 1 2; do
  for part in statement signature; do
    "$probe_bin" tamper "$att" "$work/t.att" "$depth" "$part"
    expect_exit 1 "link $depth's $part tampered is rejected" \
      "$attest_bin" verify --root="$work/keys/host_name" "$work/t.att"
    if [ "$depth" = 0 ]; then link=attestation; else link="delegation $depth"; fi
    check "the message names $link" output_has "$link"
  done
done
later=$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%SZ)
expect_exit 1 "expired once the stacked host's delegation ends" \
  "$attest_bin" verify --root="$work/keys/host_name" --at="$later" "$att"
check "expired, naming the stacked host's delegation" output_has "expired: delegation 2 (valid"
earlier=$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%SZ)
expect_exit 1 "not yet valid before it" \
  "$attest_bin" verify --root="$work/keys/host_name" --at="$earlier" "$att"
check "not-yet-valid, naming a link and its window" output_has "not-yet-valid: .* (valid"

# --- Names outside one's own ---------------------------------------------------
# stacked-probe plays a stacked host that asks for more than its due.
fails() { ! "$@"; }
other="$root_name.Program(sha256:$(printf '0%.0s' $(seq 64)))"
probe_root() {  # ARGS...: the probe under the root; its exit status
  local id
  id=$(rctl --json start "$probe_bin" "$@" | json_eval /dev/stdin "objs[0]['id']")
  [ "$(rctl wait "$id")" = "exit 0" ]
  local ok=$?
  rctl logs "$id" >"$work/out" 2>&1
  return $ok
}
check "the root vouches for a program's own name" probe_root attest-for "" self
check "the root refuses to vouch for a sibling's name" fails probe_root attest-for "" "$other"
check "saying why" grep -q "Attest refused" "$work/out"
check "nor lets it speak as another name" fails probe_root attest-for "$other" "$other"
check "nor for its parent's name" fails probe_root attest-for "" "$root_name"
check "under the stacked host: its own name" under A "$probe_bin" attest-for "" self
check "not the stacked host's name" fails under A "$probe_bin" attest-for "" "$stacked_name"
check "refused by the stacked host's domain" grep -q "Attest refused" "$work/out"
check "not the root's" fails under A "$probe_bin" attest-for "" "$root_name"

# --- A grandchild shares its host's uid, not its admin rights -------------------
check "a grandchild's admin call to its stacked host is refused" \
  fails under A "$taoctl_bin" --socket="$(sdir A)/run/admin.sock" list
check "by the domain" grep -q "PERMISSION_DENIED" "$work/out"
check "a grandchild cannot read its host's memory (non-dumpable)" \
  fails under A "$sh_path" -c "cat /proc/$spid/environ"

# --- Other args: another name, no keyset --------------------------------------
stop_stacked
rctl --json start --state_dir=A "$taohost_bin" --config="$work/stacked.conf" --v=0 >"$work/start.json" 2>&1
oid=$(json_eval "$work/start.json" "objs[0]['id']")
check "the binary with other args exits 6 (it cannot start)" test "$(rctl --timeout_ms=20000 wait "$oid")" = "exit 6"
rctl logs "$oid" >"$work/out" 2>&1
check "its parent did not unseal the first one's keyset" grep -q "did not unseal the keyset" "$work/out"
check "the keyset is untouched" test "$(sha256sum <"$keyset")" = "$keyset_sum"

# --- Killing the stacked host takes its programs with it -----------------------
# gone_all UID: no process of UID is left (running or zombie) within 5 s.
gone_all() {
  local deadline=$((SECONDS + 6))
  while [ -n "$(ps -o pid= -u "$1")" ]; do
    [ "$SECONDS" -ge "$deadline" ] && { ps -o pid,stat,cmd -u "$1"; return 1; }
    sleep 0.05
  done
}
for how in admin SIGKILL; do
  check "a stacked host for the $how kill" start_stacked A
  new_uid=$(uid_of "$sid")
  if [ "$new_uid" != "$stacked_uid" ]; then stacked_uid=$new_uid; publish_policy; sctl A reload >/dev/null; fi
  sctl A --json --uid="$stacked_uid" start /bin/sleep 300 >"$work/gc.json" 2>&1
  gpid=$(json_eval "$work/gc.json" "objs[0]['pid']")
  program_pids+=("$gpid")
  sctl A --json --uid="$stacked_uid" start "$sh_path" -c 'sleep 300 & wait' >"$work/gc.json" 2>&1
  shpid=$(json_eval "$work/gc.json" "objs[0]['pid']")
  program_pids+=("$shpid")
  check "its programs run ($how)" sh -c "kill -0 $gpid && kill -0 $shpid"
  if [ "$how" = admin ]; then
    # taoctl tree over both sockets: the stacked host under its program.
    asock="$(sdir A)/run/admin.sock"
    expect_exit 0 "taoctl tree over the root's and the stacked host's sockets" rctl tree "$asock"
    check "it draws the root host first" bash -c "head -1 '$work/out' | grep -q '^host key(ecdsa-p256:SHA256:[^ ]*)  $root_sock\$'"
    check "the stacked host's program on the root" grep -qE "^(├|└)── $sid running " "$work/out"
    check "the stacked host drawn under it, as that program" grep -qE "^(│| )   └── host \(program $sid\)  $asock\$" "$work/out"
    check "programs under a host show what they add to its name" grep -qE "^(├|└)── $sid running  \.Program\(sha256:" "$work/out"
    check "its two grandchildren under that" \
      test "$(grep -cE '^(│| )       (├|└)── [0-9]+ running ' "$work/out")" -ge 2
    expect_exit 0 "taoctl tree --json" rctl --json tree "$asock"
    check "the JSON nests the stacked host, by name, under program $sid, with its two running programs" \
      test "$(json_eval "$work/out" "[(h['name'], len([q for q in h['programs'] if q['state'] == 'running'])) for p in objs[0]['hosts'][0]['programs'] if p['id'] == $sid for h in p['hosts']]")" = \
      "[('$stacked_name', 2)]"
    expect_exit 4 "a socket that does not answer: 4, naming it" rctl tree "$work/nosuch.sock"
    check "the message names the socket" stderr_has "$work/nosuch.sock"
  fi
  if [ "$how" = admin ]; then rctl kill "$sid" >/dev/null 2>&1; else kill -KILL "$spid"; fi
  check "the stacked host is gone ($how)" wait_gone "$spid" 5
  check "its sleep is gone, not orphaned ($how)" wait_gone "$gpid" 5
  check "the shell and its child are gone ($how)" wait_gone "$shpid" 5
  check "no process of its uid is left, zombie or not ($how)" gone_all "$stacked_uid"
  check "no zombie among the root's children ($how)" \
    sh -c "! ps -o stat= --ppid $host_pid | grep -q Z"
done

# --- Renewal -------------------------------------------------------------------
sed 's/^shutdown_grace_ms.*/stacked_delegation_lifetime_s: 3/' "$work/stacked.conf" >"$work/short.conf"
chmod 0644 "$work/short.conf"
rctl --json start --state_dir=B "$taohost_bin" --config="$work/short.conf" >"$work/start.json" 2>&1
bid=$(json_eval "$work/start.json" "objs[0]['id']")
bpid=$(json_eval "$work/start.json" "objs[0]['pid']")
program_pids+=("$bpid")
renewed() {
  local deadline=$((SECONDS + 8))
  until rctl logs "$bid" 2>/dev/null | grep -q "renewed the host's delegation"; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.1
  done
}
check "a stacked host renews its 3 s delegation" renewed
rctl stop "$bid" >/dev/null 2>&1

expect_exit 0 "shut the root down" rctl shutdown
host_exit "$host_pid" 15
check "the root exits 0 (got $host_status)" test "$host_status" = 0
finish
