#!/usr/bin/env bash
# Real QEMU guests under a real taohost (docs/vm.md), from the image
# vm_fixture.sh built:
#   - taoctl info says which accelerator; the guest's program seals; the VM
#     powers off cleanly on stop and boots again; its program unseals;
#   - its attestation verifies against the root host's key through the VM's
#     host, and against no other key;
#   - another command line is another name, whose host cannot unseal the
#     first one's keyset (its init fails: the record says guest panic);
#   - a guest that floods its port with garbage loses its channel and
#     nothing else: the host, a sibling process and a sibling VM go on;
#     pause and resume (QMP stop/cont); a QEMU that crashes is recorded as
#     such;
#   - the VM's admin port: a 0600 socket of root's through which taoctl
#     reaches the guest host (not QEMU's uid, not a sibling's); taoctl tree
#     on the root socket draws the guest's programs under the VM and gives
#     up, in bounded time, on the hostile VM whose admin port is garbage;
#   - every QEMU runs under a dynamic uid of its own (not root, not the
#     host's, not a sibling VM's or process's), with no groups and no new
#     privileges; the kernel lets that uid open none of the host's private
#     files (a 0600 file, the host's keys, the state disk); a state disk
#     others may read is refused; once the VM ends its uid is released;
#   - host shutdown powers every VM down cleanly and leaves no QEMU.
# Usage: vm_test.sh FIXTURE TAOHOST TAOCTL TAO_DOMAIN TAO_ATTEST DEMO_SECRET
#        DEMO_ATTEST
fixture=$1
shift
# shellcheck source=../admin/admin_test_lib.sh
. "$(dirname "$0")/../admin/admin_test_lib.sh" "$@"

if [ "$(id -u)" -ne 0 ]; then
  echo "FAIL: the VM tests need root (QEMU, the guest's state disk)"
  exit 1
fi
cp -r "$fixture/dom" "$work/dom"
sock="$work/run/admin.sock"
# TCG: on this project's CI machine (a nested VM) /dev/kvm answers but a
# KVM guest hangs at boot (docs/vm.md); auto would pick KVM there.
cat >"$work/root.conf" <<CONF
keys_dir: "$work/keys"
domain_dir: "$work/dom"
policy_key_file: "$work/dom/policy_name"
runtime_dir: "$work/run"
state_dir: "$work/state"
factories: ["process", "vm"]
vm_accel: "${TAO_TEST_VM_ACCEL:-tcg}"
shutdown_grace_ms: 30000
CONF
truncate -s 32M "$work/disk"
chmod 600 "$work/disk"
# A private file of the host's in a directory everyone may enter: only the
# mode keeps another uid out.
pub=$(mktemp -d /tmp/tao-vmuid.XXXXXX)
chmod 755 "$pub"
echo "the host's secret" >"$pub/secret"
chmod 600 "$pub/secret"
kernel="$fixture/vmlinuz"
# start_vm INITRD CMDLINE_FILE: boots a VM on $work/disk; sets vm_id.
start_vm() {
  # shellcheck disable=SC2046
  vm_id=$(ctl start --vm_memory_mib=512 --vm_initrd="$1" --vm_disk="$work/disk" "$kernel" \
    $(cat "$2") 2>"$work/err")
}
# wait_log ID PATTERN SECONDS: true once the program's log has PATTERN.
wait_log() {
  local deadline=$((SECONDS + $3))
  until ctl logs "$1" 2>/dev/null | grep -q -- "$2"; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.2
  done
}
# wait_exit ID SECONDS: true once the program has exited; its status in
# $work/status.
wait_exit() {
  local deadline=$((SECONDS + $2))
  while true; do
    ctl status "$1" >"$work/status" 2>/dev/null
    grep -q '^state:    exited' "$work/status" && return 0
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.2
  done
}
pid_of() { ctl --json status "$1" | json_eval /dev/stdin "objs[0]['pid']"; }
# field PID NAME: the values of NAME: in /proc/PID/status.
field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr -s ' \t' ' '; }
uid_of() { field "$1" Uid | cut -d' ' -f1; }
# as_uid UID CMD...: CMD under UID (its gid, no groups), as the kernel
# treats QEMU's identity.
as_uid() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --clear-groups "$@"; }
# cannot_read UID FILE: the kernel refuses UID to open FILE.
cannot_read() { ! as_uid "$1" dd if="$2" of=/dev/null count=1 status=none 2>/dev/null; }
# claimed UID: true while a host holds UID's machine-wide claim (its lock
# file exists and is locked; flock(1) would make a missing one).
claimed() { [ -e "/run/tao-dynamic-uids/$1" ] && ! flock -n "/run/tao-dynamic-uids/$1" true; }
released() { ! claimed "$1"; }
# refused_start DISK: taoctl cannot start VM A on DISK; its error in $work/err.
refused_start() {
  # shellcheck disable=SC2046
  ! ctl start --vm_initrd="$fixture/initrd" --vm_disk="$1" "$kernel" \
    $(cat "$fixture/cmd_a") >"$work/out" 2>"$work/err"
}
# confined_qemu PID: QEMU runs as one dynamic uid, no groups, no new privs.
confined_qemu() {
  local u
  u=$(uid_of "$1")
  [ "$(field "$1" Uid)" = "$u $u $u $u" ] && [ "$(field "$1" Gid)" = "$u $u $u $u" ] &&
    [ -z "$(field "$1" Groups)" ] && [ "$(field "$1" NoNewPrivs)" = 1 ] &&
    [ "$(field "$1" Seccomp)" = 2 ] && [ "$u" -ne 0 ] && [ "$u" -ne "$(id -u)" ]
}
ended() { grep -q "^ended:    $1\$" "$work/status"; }
# json_true FILE EXPR: EXPR (python, over objs: the file's JSON lines) is True.
json_true() { test "$(json_eval "$1" "$2")" = True; }

if ! start_host root --config="$work/root.conf" --scrypt_n=1024; then
  failed=$((failed + 1)); finish; exit 1
fi
root_name=$(ctl name)
ctl info >"$work/out"
check "taoctl info says the VM factory's accelerator" \
  stdout_has "factory:   vm (channels: virtio-serial) accel ${TAO_TEST_VM_ACCEL:-tcg}"
sibling=$(ctl start /bin/sleep 600)
check "a sibling process runs beside the VMs" test -n "$sibling"

# --- Seal, stop, boot again, unseal -------------------------------------------
t0=$SECONDS
check "VM A starts" start_vm "$fixture/initrd" "$fixture/cmd_a"
check "its name is the one its bytes give" \
  sh -c "'$taoctl_bin' --socket='$sock' --json status $vm_id | grep -qF '$(cat "$fixture/name_a")'"
check "its guest program runs to its end" wait_log "$vm_id" "probe: end" 120
echo "  (boot to the probe's end: $((SECONDS - t0)) s)"
ctl logs "$vm_id" >"$work/out"
digest=$(sed -n 's/^sealed a new secret: //p' "$work/out" | tr -d '\r')
check "the guest program sealed a secret" test -n "$digest"
check "its name extends the VM's under the root" \
  sh -c "grep '^my name: key(' '$work/out' | grep -qF '.$(cat "$fixture/name_a").Program('"
sed -n 's/^probe: attestation //p' "$work/out" | tr -d '\r' | base64 -d >"$work/guest.att"
check "it wrote an attestation" test -s "$work/guest.att"
expect_exit 0 "the guest's attestation verifies against the root host's key" \
  "$attest_bin" verify --root="$work/keys/host_name" "$work/guest.att"
check "through the VM's host (two links)" stdout_has "delegations: 2"
check "rooted at the root host" stdout_has "root:        $root_name\$"
expect_exit 1 "and not against another key" \
  "$attest_bin" verify --root="$work/dom/policy_name" "$work/guest.att"
qemu_pid=$(pid_of "$vm_id")
qemu_uid=$(uid_of "$qemu_pid")
sibling_uid=$(uid_of "$(pid_of "$sibling")")
echo "  (QEMU $qemu_pid: uid $qemu_uid; the sibling process: uid $sibling_uid)"
check "QEMU runs as a dynamic uid of its own, no groups, no new privileges" \
  confined_qemu "$qemu_pid"
check "not the sibling process's uid" test "$qemu_uid" != "$sibling_uid"
check "the status says so" \
  sh -c "'$taoctl_bin' --socket='$sock' status $vm_id | grep -q '$qemu_uid.*(dynamic)'"
check "the uid is claimed machine-wide" claimed "$qemu_uid"
check "root can read the host's private file (the check below means something)" \
  grep -q "the host's secret" "$pub/secret"
check "QEMU's uid cannot open it" cannot_read "$qemu_uid" "$pub/secret"
for key in "$work"/keys/*; do
  check "nor the host's key file $(basename "$key")" cannot_read "$qemu_uid" "$key"
done
check "nor the state disk by its path" cannot_read "$qemu_uid" "$work/disk"
expect_exit 0 "stop powers the VM down" ctl stop "$vm_id"
check "within its grace" wait_exit "$vm_id" 60
check "the record says clean power-off" ended "clean power-off"
check "its QEMU is gone" wait_gone "$qemu_pid" 5
check "its uid is released" released "$qemu_uid"
check "no process runs as it" sh -c "test -z \"\$(ps -o pid= -u $qemu_uid)\""
check "the state disk is still the host's alone" \
  test "$(stat -c %u:%a "$work/disk")" = "$(id -u):600"
truncate -s 1M "$work/open.disk"
chmod 644 "$work/open.disk"
check "a state disk others may read is refused" refused_start "$work/open.disk"
check "with the reason" stderr_has "must be the host's alone"

check "VM A boots again" start_vm "$fixture/initrd" "$fixture/cmd_a"
check "its program runs again" wait_log "$vm_id" "probe: end" 120
ctl logs "$vm_id" >"$work/out"
check "and unseals the same secret" grep -q "^unsealed the secret: $digest" "$work/out"
ctl stop "$vm_id" >/dev/null
check "it powers down again" wait_exit "$vm_id" 60
check "cleanly" ended "clean power-off"

# --- Another command line: another name ----------------------------------------
check "VM B (another command line) starts" start_vm "$fixture/initrd" "$fixture/cmd_b"
check "with another name" \
  sh -c "'$taoctl_bin' --socket='$sock' --json status $vm_id | grep -qF '$(cat "$fixture/name_b")'"
check "its host ends" wait_exit "$vm_id" 120
ctl logs "$vm_id" >"$work/out"
check "the parent did not unseal A's keyset for it" \
  stdout_has "the parent did not unseal the keyset"
check "its program never ran" sh -c "! grep -q '^probe: begin' '$work/out'"
check "the record says guest panic (its init failed)" ended "guest panic"

# --- A hostile guest beside a good one ----------------------------------------
check "VM A boots a third time" start_vm "$fixture/initrd" "$fixture/cmd_a"
good=$vm_id
echo "console=ttyS0 quiet" >"$work/cmd_hostile"
hostile_disk_vm() {
  vm_id=$(ctl start --vm_initrd="$fixture/hostile.initrd" "$kernel" \
    console=ttyS0 quiet 2>"$work/err")
}
check "a hostile VM starts beside it" hostile_disk_vm
hostile=$vm_id
check "it floods its port" wait_log "$hostile" "hostile: flooding /dev/vport" 60
check "the host closes that channel" \
  sh -c "for i in \$(seq 300); do grep -q 'program $hostile lost its channel' '$work/root.err' && exit 0; sleep 0.2; done; exit 1"
grep "program $hostile " "$work/root.err" | cut -c1-200 | sed 's/^/  root: /'
check "the host still answers" sh -c "'$taoctl_bin' --socket='$sock' list >/dev/null"
check "the sibling process still runs" \
  sh -c "'$taoctl_bin' --socket='$sock' status $sibling | grep -q '^state:    running'"
good_uid=$(uid_of "$(pid_of "$good")")
hostile_uid=$(uid_of "$(pid_of "$hostile")")
echo "  (the good VM's QEMU: uid $good_uid; the hostile one's: uid $hostile_uid)"
check "two VMs' QEMUs have two uids" test "$good_uid" != "$hostile_uid"
check "neither is the sibling process's" \
  sh -c "test $good_uid != $sibling_uid && test $hostile_uid != $sibling_uid"
check "the hostile VM's QEMU is confined too" confined_qemu "$(pid_of "$hostile")"
check "the good VM's program runs to its end" wait_log "$good" "probe: end" 120

# --- The VM's admin port: the guest host's admin API, for root alone --------
ctl status "$good" >"$work/status"
vm_admin=$(sed -n 's/^admin:    \([^ ]*\) .*/\1/p' "$work/status")
check "the VM's status names its admin socket" test -n "$vm_admin"
check "in the host's runtime directory" test "$(dirname "$vm_admin")" = "$work/run/vm"
check "a socket of root's alone: 0600 in a 0700 directory" \
  test "$(stat -c %F:%U:%a "$vm_admin") $(stat -c %U:%a "$work/run/vm")" = "socket:root:600 root:700"
"$taoctl_bin" --socket="$vm_admin" --json list >"$work/out" 2>"$work/err"
check "taoctl reaches the guest host through it: the guest's probe is listed" \
  json_true "$work/out" "any(o['path'] == '/bin/sh' for o in objs)"
"$taoctl_bin" --socket="$vm_admin" name >"$work/out" 2>"$work/err"
check "the guest host is the VM (its name is the VM program's)" \
  sh -c "grep -qF '$(cat "$fixture/name_a")' '$work/out'"
check "and it serves one connection after another" \
  sh -c "'$taoctl_bin' --socket='$vm_admin' list >/dev/null && '$taoctl_bin' --socket='$vm_admin' list >/dev/null"
# Sessions back to back and at once: the race the framed link exists for
# (a guest that reads late must never hand one session's bytes to the next).
check "twenty sessions back to back, each answered" \
  sh -c "for i in \$(seq 20); do '$taoctl_bin' --socket='$vm_admin' name | grep -qF '$(cat "$fixture/name_a")' || exit 1; done"
check "three clients at once, each answered in its turn" \
  bash -c "for i in 1 2 3; do '$taoctl_bin' --socket='$vm_admin' list >/dev/null & done; for i in 1 2 3; do wait -n || exit 1; done"
expect_exit 4 "QEMU's own uid cannot connect to it" \
  as_uid "$good_uid" "$taoctl_bin" --socket="$vm_admin" list
expect_exit 4 "nor the sibling process's uid" \
  as_uid "$sibling_uid" "$taoctl_bin" --socket="$vm_admin" list
t_tree=$SECONDS
ctl tree >"$work/out" 2>"$work/err"
tree_rc=$?
sed 's/^/  tree: /' "$work/out" "$work/err" | cut -c1-400
check "taoctl tree on the root socket alone exits 0 (got $tree_rc)" test "$tree_rc" = 0
check "it draws the guest host under the VM" stdout_has "host (program $good)"
check "and the guest's program under that" \
  sh -c "grep -A3 'host (program $good)' '$work/out' | grep -q 'exited\|running'"
check "the hostile VM's garbage admin port is said and left out" \
  stderr_has "program $hostile's host"
check "its first bad frame closed that admin port, and its log says why" \
  sh -c "'$taoctl_bin' --socket='$sock' logs $hostile | grep -q 'admin port is closed: the guest sent a bad admin-link frame'"
expect_exit 4 "its socket now refuses connections at once" \
  "$taoctl_bin" --socket="$(ctl status "$hostile" | sed -n 's/^admin:    \([^ ]*\) .*/\1/p')" list
check "within the follow deadline (took $((SECONDS - t_tree)) s)" test $((SECONDS - t_tree)) -le 15
ctl --json tree >"$work/out" 2>/dev/null
check "taoctl --json tree has the guest host" \
  json_true "$work/out" "any(h['socket'] == '$vm_admin' for r in objs[0]['hosts'] for p in r['programs'] for h in p['hosts'])"
check "the host still answers after the hostile admin port" \
  sh -c "'$taoctl_bin' --socket='$sock' list >/dev/null"
hostile_admin=$(ctl status "$hostile" | sed -n 's/^admin:    \([^ ]*\) .*/\1/p')
expect_exit 0 "the good VM pauses (QMP stop)" ctl pause "$good"
check "and says so" sh -c "'$taoctl_bin' --socket='$sock' status $good | grep -q '(paused)'"
expect_exit 0 "and resumes (QMP cont)" ctl resume "$good"
check "running again" sh -c "! '$taoctl_bin' --socket='$sock' status $good | grep -q '(paused)'"
ctl logs "$good" >"$work/out"
check "and unseals as before" grep -q "^unsealed the secret: $digest" "$work/out"
hostile_pid=$(pid_of "$hostile")
check "the hostile VM's QEMU crashes (SIGSEGV from outside)" kill -SEGV "$hostile_pid"
check "it ends" wait_exit "$hostile" 10
check "its admin socket is removed" test -n "$hostile_admin" -a ! -e "$hostile_admin"
check "the record says QEMU crashed, not the guest" \
  ended "QEMU crashed (signal 11 (Segmentation fault))"

# --- Host shutdown --------------------------------------------------------------
good_pid=$(pid_of "$good")
expect_exit 0 "shut the root host down" ctl shutdown
host_exit "$host_pid" 60
check "the root host exits 0 (got $host_status)" test "$host_status" = 0
check "the VM was powered down cleanly" \
  grep -q "program $good (pid $good_pid) ended: exit 0 (clean power-off)" "$work/root.err"
check "no QEMU is left" wait_gone "$good_pid" 5
check "the good VM's uid is released" released "$good_uid"
check "and the hostile one's" released "$hostile_uid"
check "no VM admin socket is left" sh -c "test -z \"\$(ls -A '$work/run/vm')\""
rm -rf "$pub"
finish
