#!/usr/bin/env bash
# The host's files, as an attacker with a foothold would try them: the
# passphrase in /proc/<host>/environ, a same-uid process reading the host's
# memory, world-writable key and domain directories, a FIFO or a symlink
# where a file is expected, an older signed policy replayed, program logs of
# an earlier run overwritten, temporaries left by a crash.
# shellcheck source=admin_test_lib.sh
. "$(dirname "$0")/admin_test_lib.sh"

make_domain "$work/dom" || { echo "FAIL: could not make the domain"; exit 1; }
run="$work/run"
sock="$run/admin.sock"
pin="$work/dom/policy_name"
host_args=(--keys_dir="$work/keys" --domain_dir="$work/dom" --policy_key_file="$pin"
           --runtime_dir="$run" --state_dir="$run.state" --scrypt_n=1024)

# --- Directories and the pinned key are checked before anything is read --------
mkdir -m 0777 "$work/keys-open"
chmod 0777 "$work/keys-open"
expect_exit 6 "a world-writable keys dir is refused" \
  "$taohost_bin" --keys_dir="$work/keys-open" --domain_dir="$work/dom" \
  --policy_key_file="$pin" --runtime_dir="$work/r1" --state_dir="$work/r1.state" --scrypt_n=1024
check "the refusal names the path and the fix" stderr_has "fix with: chmod 0700 $work/keys-open"
check "no keys were made in it" test ! -e "$work/keys-open/host_keys"
chmod 0750 "$work/keys-open"
expect_exit 6 "a group-readable keys dir is refused" \
  "$taohost_bin" --keys_dir="$work/keys-open" --domain_dir="$work/dom" \
  --policy_key_file="$pin" --runtime_dir="$work/r1" --state_dir="$work/r1.state" --scrypt_n=1024
check "again naming the fix" stderr_has "chmod 0700 $work/keys-open"

cp -a "$work/dom" "$work/dom-open"
chmod 0777 "$work/dom-open"
expect_exit 6 "a world-writable domain dir is refused" \
  "$taohost_bin" --keys_dir="$work/keys1" --domain_dir="$work/dom-open" \
  --policy_key_file="$work/dom-open/policy_name" --runtime_dir="$work/r1" --state_dir="$work/r1.state" --scrypt_n=1024
check "the refusal names the domain dir and the fix" stderr_has "chmod 0755 $work/dom-open"

mkdir -m 0755 "$work/etc"
cp "$pin" "$work/etc/policy_key"
chmod 0666 "$work/etc/policy_key"
expect_exit 6 "a world-writable pinned policy key is refused" \
  "$taohost_bin" --keys_dir="$work/keys1" --domain_dir="$work/dom" \
  --policy_key_file="$work/etc/policy_key" --runtime_dir="$work/r1" --state_dir="$work/r1.state" --scrypt_n=1024
check "the refusal names the key file" stderr_has "$work/etc/policy_key is writable by group or others"
chmod 0644 "$work/etc/policy_key"
chmod 0777 "$work/etc"
expect_exit 6 "a pinned key in a world-writable directory is refused" \
  "$taohost_bin" --keys_dir="$work/keys1" --domain_dir="$work/dom" \
  --policy_key_file="$work/etc/policy_key" --runtime_dir="$work/r1" --state_dir="$work/r1.state" --scrypt_n=1024
check "the refusal names that directory" stderr_has "chmod 0755 $work/etc"
chmod 0755 "$work/etc"
if [ ! -e /etc/tao/policy_key ]; then
  expect_exit 6 "without policy_key_file the pin is /etc/tao/policy_key, not the domain's" \
    "$taohost_bin" --keys_dir="$work/keys1" --domain_dir="$work/dom" \
    --runtime_dir="$work/r1" --state_dir="$work/r1.state" --scrypt_n=1024
  check "the message names /etc/tao/policy_key" stderr_has "/etc/tao/policy_key"
fi

# --- policy.signed must be a regular file -----------------------------------------
cp -a "$work/dom" "$work/dom-link"
mv "$work/dom-link/policy.signed" "$work/real.signed"
ln -s "$work/real.signed" "$work/dom-link/policy.signed"
expect_exit 6 "a symlink policy.signed is refused" \
  "$taohost_bin" --keys_dir="$work/keys1" --domain_dir="$work/dom-link" \
  --policy_key_file="$work/dom-link/policy_name" --runtime_dir="$work/r1" --state_dir="$work/r1.state" --scrypt_n=1024
check "it is not read through" stderr_has "not a regular file"
cp -a "$work/dom" "$work/dom-fifo"
rm "$work/dom-fifo/policy.signed"
mkfifo "$work/dom-fifo/policy.signed"
t0=$(now_ms)
expect_exit 6 "a FIFO policy.signed is refused" \
  timeout 10 "$taohost_bin" --keys_dir="$work/keys1" --domain_dir="$work/dom-fifo" \
  --policy_key_file="$work/dom-fifo/policy_name" --runtime_dir="$work/r1" --state_dir="$work/r1.state" --scrypt_n=1024
check "at once (took $(($(now_ms) - t0)) ms)" test $(($(now_ms) - t0)) -lt 5000
check "saying it is not a regular file" stderr_has "not a regular file"

# --- A host: its passphrase is gone from its environment ---------------------------
if ! start_host host "${host_args[@]}"; then failed=$((failed + 1)); finish; exit 1; fi
passed=$((passed + 1))
check "/proc/<host>/environ does not hold the passphrase" \
  bash -c "! grep -qaF '$TAO_PASSPHRASE' /proc/$host_pid/environ"
check "nor a TAO_PASSPHRASE variable" \
  bash -c "! tr '\\0' '\\n' </proc/$host_pid/environ | grep -q '^TAO_PASSPHRASE='"
check "the keys dir is 0700" test "$(stat -c %a "$work/keys")" = 700
check "the host keys are 0600" test "$(stat -c %a "$work/keys/host_keys")" = 600
check "the log dir is 0700" test "$(stat -c %a "$run/logs")" = 700

# A FIFO <program>.taosig: the start is refused at once, the host serves on.
mkdir -m 0755 "$work/bin"
cp /bin/sleep "$work/bin/sleep"
mkfifo "$work/bin/sleep.taosig"
t0=$(now_ms)
timeout 10 "$taoctl_bin" --socket="$sock" start "$work/bin/sleep" 30 >"$work/out" 2>"$work/err"
fifo_status=$?
elapsed=$(($(now_ms) - t0))
check "a start with a FIFO .taosig fails (exit $fifo_status)" test "$fifo_status" -ne 0 -a "$fifo_status" -ne 124
check "within a second (took $elapsed ms)" test "$elapsed" -lt 1000
check "saying the signature is not a regular file" stderr_has "sleep.taosig is not a regular file"
expect_exit 0 "the host still serves" ctl list
rm "$work/bin/sleep.taosig"
ln -s /dev/null "$work/bin/sleep.taosig"
expect_exit 2 "a symlink .taosig is refused too" ctl start "$work/bin/sleep" 30

# Program logs: this run's go in a directory of its own.
id_a=$(ctl start "$sh_path" -c 'echo from-run-A') || id_a=""
check "run A started a program" test -n "$id_a"
expect_exit 0 "run A's program ended" ctl --timeout_ms=10000 wait "$id_a"
expect_exit 0 "logs of run A" ctl logs "$id_a"
check "they hold its output" stdout_has "from-run-A"

# --- Policy serials: an older signed policy is refused ------------------------------
expect_exit 0 "tao-domain show" "$domain_bin" --domain_dir="$work/dom" show
check "show prints the serial" stdout_has "^# serial: 2$"
cp "$work/dom/policy.signed" "$work/serial2.signed"
extra_rules='
rules {
  id: "nobody-lists"
  operations: "Admin:List"
  principals { uid: 65534 }
}'
write_policy "$work/dom"
expect_exit 0 "the next signature gets serial 3" "$domain_bin" --domain_dir="$work/dom" show
check "show says so" stdout_has "^# serial: 3$"
expect_exit 0 "reload serial 3" ctl reload
check "the serial mark is 0600 in the keys dir" test "$(stat -c %a "$work/keys/policy_serial")" = 600
cp "$work/dom/policy.signed" "$work/serial3.signed"
cp "$work/serial2.signed" "$work/dom/policy.signed"
expect_exit 6 "reloading the older policy (serial 2) is refused" ctl reload
check "with the reason" stderr_has "policy serial 2 is older than 3, the highest this host accepted"
kill -HUP "$host_pid"
sleep 0.5
check "SIGHUP refuses it too" grep -q "policy serial 2 is older than 3" "$work/host.err"
check "the host survived" alive "$host_pid"
cp "$work/serial3.signed" "$work/dom/policy.signed"
expect_exit 0 "the same serial again is fine" ctl reload
expect_exit 0 "shut down" ctl shutdown
host_exit "$host_pid" 10
check "run A exits 0 (got $host_status)" test "$host_status" = 0

cp "$work/serial2.signed" "$work/dom/policy.signed"
expect_exit 6 "a host does not start on the older policy" "$taohost_bin" "${host_args[@]}"
check "and says why" stderr_has "policy serial 2 is older than 3"
cp "$work/dom/policy_serial" "$work/serial.saved" 2>/dev/null
sed -i 's/ 3 / 9 /' "$work/keys/policy_serial"
cp "$work/serial3.signed" "$work/dom/policy.signed"
expect_exit 6 "an edited serial mark is refused" "$taohost_bin" "${host_args[@]}"
check "as altered" stderr_has "policy serial mark was altered"
sed -i 's/ 9 / 3 /' "$work/keys/policy_serial"

# --- A crash's temporaries are swept; run B's logs do not replace run A's ------------
printf 'half' >"$work/keys/host_keys.tmp.AbC123"
printf 'half' >"$work/keys/policy_serial.tmp.Zz9Zz9"
if ! start_host host-b "${host_args[@]}"; then failed=$((failed + 1)); finish; exit 1; fi
passed=$((passed + 1))
check "the temporaries are gone" test ! -e "$work/keys/host_keys.tmp.AbC123" -a ! -e "$work/keys/policy_serial.tmp.Zz9Zz9"
check "the host says it removed them" grep -q "removed 2 temporaries" "$work/host-b.err"
check "the keys are still there" test -s "$work/keys/host_keys"
id_b=$(ctl start "$sh_path" -c 'echo from-run-B') || id_b=""
check "run B started a program (id $id_b, run A's was $id_a)" test -n "$id_b"
expect_exit 0 "run B's program ended" ctl --timeout_ms=10000 wait "$id_b"
expect_exit 0 "logs of run B" ctl logs "$id_b"
check "they hold run B's output" stdout_has "from-run-B"
check "and not run A's" bash -c "! grep -q from-run-A '$work/out'"
check "run A's log is still on disk" bash -c "grep -rqs from-run-A '$run/logs'"
check "two runs, two log directories" test "$(find "$run/logs" -mindepth 1 -maxdepth 1 -type d | wc -l)" -eq 2
expect_exit 0 "shut down run B" ctl shutdown
host_exit "$host_pid" 10

# --- Non-dumpable: a process of the host's own uid cannot read its memory -----------
# A host running as nobody, with its keys and runtime state owned by nobody.
mkdir -m 0700 "$work/nkeys" "$work/nrun"
chown nobody:nogroup "$work/nkeys" "$work/nrun"
chmod 0755 "$work/dom"
nsock="$work/nrun/admin.sock"
setpriv --reuid=nobody --regid=nogroup --clear-groups \
  "$taohost_bin" --keys_dir="$work/nkeys" --domain_dir="$work/dom" \
  --policy_key_file="$pin" --runtime_dir="$work/nrun" --state_dir="$work/nrun.state" --scrypt_n=1024 \
  >"$work/nobody-host.out" 2>"$work/nobody-host.err" &
npid=$!
host_pids+=("$npid")
for _ in $(seq 200); do
  grep -q 'admin socket ready' "$work/nobody-host.out" 2>/dev/null && break
  alive "$npid" || break
  sleep 0.05
done
if check "a host runs as nobody" grep -q 'admin socket ready' "$work/nobody-host.out"; then
  check "it runs as uid 65534" test "$(awk '/^Uid:/ {print $2}' "/proc/$npid/status")" = 65534
  check "/proc/<host>/status is root's: the host is not dumpable" \
    test "$(stat -c %u "/proc/$npid/status")" = 0
  check "a nobody process cannot read its environ" \
    bash -c "! setpriv --reuid=nobody --regid=nogroup --clear-groups cat /proc/$npid/environ >/dev/null 2>&1"
  check "nor its memory" \
    bash -c "! setpriv --reuid=nobody --regid=nogroup --clear-groups \
      python3 -c 'open(\"/proc/$npid/mem\", \"rb\")' 2>/dev/null"
  expect_exit 0 "root shuts it down" "$taoctl_bin" --socket="$nsock" shutdown
  host_exit "$npid" 10
else
  sed 's/^/  /' "$work/nobody-host.err"
fi

finish
