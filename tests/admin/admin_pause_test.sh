#!/usr/bin/env bash
# taoctl pause|resume ID through a real taohost: a paused busy program's
# cgroup reports frozen and its CPU time stops advancing; resumed it runs
# again; list shows it paused; a paused program still stops; unknown ids and
# exited programs are refused.
# shellcheck source=admin_test_lib.sh
. "$(dirname "$0")/admin_test_lib.sh"

make_domain "$work/dom" || { echo "FAIL: could not make the domain"; exit 1; }
run="$work/run"
sock="$run/admin.sock"
if ! start_host host --keys_dir="$work/keys" --domain_dir="$work/dom" --policy_key_file="$work/dom/policy_name" \
    --runtime_dir="$run" --audit_log="$run/audit.log" --state_dir="$run.state" --scrypt_n=1024; then
  failed=$((failed + 1)); finish; exit 1
fi

# cpu_ticks PID: utime + stime.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

expect_exit 0 "start a busy shell" ctl start "$sh_path" -c 'while :; do :; done'
id=$(cat "$work/out")
ctl --json list >"$work/list.json" 2>/dev/null
pid=$(json_eval "$work/list.json" "[p for p in objs if int(p['id']) == $id][0]['pid']" 2>/dev/null)
cgroup=$(json_eval "$work/list.json" "[p for p in objs if int(p['id']) == $id][0]['cgroup']" 2>/dev/null)
check "the program has a pid ($pid) and a cgroup ($cgroup)" test -n "$pid" -a -n "$cgroup"
root=/sys/fs/cgroup
[ -e "$root/cgroup.controllers" ] || root=/sys/fs/cgroup/unified

expect_exit 0 "pause it" ctl pause "$id"
check "taoctl says it paused it" stderr_has "paused program $id"
check "its cgroup reports frozen" grep -q "frozen 1" "$root$cgroup/cgroup.events"
before=$(cpu_ticks "$pid"); sleep 0.4; after=$(cpu_ticks "$pid")
check "its CPU time stood still while paused ($before, $after)" test "$before" -eq "$after"
expect_exit 0 "list it" ctl list
check "list shows it paused" stdout_has "paused"

expect_exit 0 "resume it" ctl resume "$id"
check "its cgroup no longer reports frozen" grep -q "frozen 0" "$root$cgroup/cgroup.events"
sleep 0.4; resumed=$(cpu_ticks "$pid")
check "its CPU time advances again ($after, $resumed)" test "$resumed" -gt "$after"

expect_exit 3 "pausing an unknown id" ctl pause 9999

expect_exit 0 "pause it again" ctl pause "$id"
expect_exit 0 "a paused program still stops" ctl --grace_ms=5000 stop "$id"
expect_exit 0 "wait for it" ctl wait "$id"
check "it ended by SIGTERM" stdout_has "signal 15"
expect_exit 6 "resuming an exited program" ctl resume "$id"
check "the host says it exited" stderr_has "already exited"

expect_exit 0 "shut the host down" ctl shutdown
host_exit "$host_pid" 10
finish
