#!/usr/bin/env bash
# Service names: a program started under a name (taoctl start --service, or
# `service:` of a config program) keeps it across its restarts and across
# later starts under the same name, each run numbered; `taoctl status NAME`
# shows the latest run, `taoctl logs NAME` its output and `--previous` the
# run before; a malformed name is a usage error (2), an unknown one not
# found (3).
#   service_name_test.sh TAOHOST TAOCTL TAO_DOMAIN TAO_ATTEST DEMO_SECRET DEMO_ATTEST
# shellcheck source=../admin/admin_test_lib.sh
. "$(dirname "$0")/../admin/admin_test_lib.sh"

make_domain "$work/dom" || { echo "FAIL: could not make the domain"; exit 1; }
run="$work/run"
sock="$run/admin.sock"
printf '%s\n' 'programs {' '  service: "boot"' '  path: "/bin/sleep"' '  args: "60"' '}' \
  'programs {' '  service: "12345"' '  path: "/bin/sleep"' '  args: "61"' '}' >"$work/host.conf"
host_args=(--config="$work/host.conf" --keys_dir="$work/keys" --domain_dir="$work/dom" --policy_key_file="$work/dom/policy_name" --runtime_dir="$run" --audit_log="$run/audit.log" --state_dir="$run.state" --scrypt_n=1024)
if ! start_host host "${host_args[@]}"; then failed=$((failed + 1)); finish; exit 1; fi
jq_py() { python3 -c 'import json,sys; o=json.loads(open(sys.argv[1]).readline()); print(eval(sys.argv[2]))' "$1" "$2"; }

# A configured program's name.
deadline=$((SECONDS + 5))
until ctl status boot >/dev/null 2>&1 || [ "$SECONDS" -ge "$deadline" ]; do sleep 0.05; done
expect_exit 0 "status boot (a configured program)" ctl --json status boot
check "boot: run 1 of service boot, the sleep" test \
  "$(jq_py "$work/out" "(o['service'], o['run'], o['path'], o['state'])")" = "('boot', 1, '/bin/sleep', 'running')"
check "a configured program with an all-digit name is not started" test \
  "$(ctl --json list | grep -c '"12345"')" -eq 0
check "and the host says why" grep -q "is all digits" "$work/host.err"

# Two starts under one name: runs 1 and 2.
expect_exit 0 "start web, run 1" ctl --service=web --wait start "$secret_bin" "$work/state1"
id1=$(sed -n 's/^id: *//p' "$work/out")
check "start --wait shows the service and its run" stdout_has "^service:  web (run 1)"
expect_exit 0 "start web, run 2" ctl --json --service=web --wait start "$secret_bin" "$work/state1"
id2=$(jq_py "$work/out" "o['id']")
check "the second start is run 2" test "$(jq_py "$work/out" "(o['service'], o['run'])")" = "('web', 2)"
expect_exit 0 "status web" ctl --json status web
check "status web: the latest run" test "$(jq_py "$work/out" "(o['id'], o['run'])")" = "($id2, 2)"
expect_exit 0 "status web --previous" ctl --json --previous status web
check "status web --previous: run 1" test "$(jq_py "$work/out" "(o['id'], o['run'])")" = "($id1, 1)"
expect_exit 0 "logs web" ctl logs web
check "logs web: the latest run's output (it unsealed)" stdout_has "^unsealed the secret: "
expect_exit 0 "logs web --previous" ctl --previous logs web
check "logs web --previous: run 1's output (it sealed)" stdout_has "^sealed a new secret: "
expect_exit 0 "logs by id still work" ctl logs "$id1"
check "logs ID: that run's output" stdout_has "^sealed a new secret: "

# Restarts keep the name and count on.
expect_exit 0 "start flaky (fails, restarted twice)" \
  ctl --service=flaky --restart=on-failure --max_restarts=2 --backoff_ms=50 start "$sh_path" -c 'exit 3'
deadline=$((SECONDS + 10))
until [ "$(ctl --json list | grep -c '"service":"flaky"')" -ge 3 ] || [ "$SECONDS" -ge "$deadline" ]; do sleep 0.1; done
ctl --json list >"$work/list.json"
check "flaky: three runs, numbered 1, 2, 3, each restarting the one before" python3 -c '
import json, sys
runs = sorted((o for o in map(json.loads, open(sys.argv[1])) if o["service"] == "flaky"), key=lambda o: o["run"])
assert [o["run"] for o in runs] == [1, 2, 3], runs
assert runs[1]["previous_id"] == runs[0]["id"] and runs[2]["previous_id"] == runs[1]["id"], runs
' "$work/list.json"
expect_exit 0 "a start without a name" ctl --json start /bin/sleep 30
check "no name: empty service, run 0" test "$(jq_py "$work/out" "(o['service'], o['run'])")" = "('', 0)"
expect_exit 0 "list --wide shows the service column" ctl --wide list
check "list --wide: web#2" stdout_has "^$id2 .* web#2 "

# Errors.
expect_exit 2 "a malformed service name: 2" ctl --service='a b' start /bin/sleep 1
check "says which character" stderr_has "outside \[A-Za-z0-9._-\]"
expect_exit 2 "an all-digit service name: 2" ctl --service=42 start /bin/sleep 1
expect_exit 3 "status of an unknown name: 3" ctl status nosuchservice
expect_exit 3 "logs --previous of a name with one run: 3" ctl --previous logs boot
finish
