#!/usr/bin/env bash
# --json everywhere a tool prints data, parsed by python3's json: taoctl's
# start, list, status, wait, stop, info, name, reload, events; tao-domain's
# init, sign, show, check, measure, new-publisher, sign-program,
# audit-verify; tao-attest's verify and show; tao-soft's init and name. Every
# field is present (zero values too), ids and counters are numbers, times are
# RFC 3339 UTC. Also taoctl's table: a header, one line per program, ages,
# --wide and --full; and list in pages (--page_size).
#   tool_json_test.sh TAOHOST TAOCTL TAO_DOMAIN TAO_ATTEST DEMO_SECRET \
#     DEMO_ATTEST TAO_SOFT
soft_bin=$7
set -- "${@:1:6}"
# shellcheck source=../admin/admin_test_lib.sh
. "$(dirname "$0")/../admin/admin_test_lib.sh"

# fields FILE SPEC [MESSAGE]: every line of FILE is a JSON object with the
# keys of SPEC ("name:type,..."; type int, str, bool, list, dict, time (RFC
# 3339 UTC or null), any), each of that type. With MESSAGE (a message of
# admin/admin.proto), the keys are exactly that message's fields (plus X for
# each time X_unix_ms), read from the .proto, so every field is present.
proto="$(dirname "$0")/../../admin/admin.proto"
fields() {
  python3 - "$1" "$2" "${3:-}" "$proto" <<'PY'
import json, re, sys
spec = dict(f.split(":") for f in sys.argv[2].split(","))
types = {"int": int, "str": str, "bool": bool, "list": list, "dict": dict}
want = set(spec)
if sys.argv[3]:
    text = open(sys.argv[4]).read()
    body = re.search(r"\nmessage %s \{(.*?)\n\}" % sys.argv[3], text, re.S).group(1)
    body = re.sub(r"//[^\n]*", "", body)
    names = re.findall(r"^\s*(?:repeated\s+|optional\s+)?[\w.]+\s+(\w+)\s*=\s*\d+\s*;", body, re.M)
    want = set(names) | {n[:-len("_unix_ms")] for n in names if n.endswith("_unix_ms")}
    assert set(spec) <= want, sorted(set(spec) - want)
lines = [l for l in open(sys.argv[1]) if l.strip()]
assert lines, "no output"
for line in lines:
    o = json.loads(line)
    assert set(o) == want, (sorted(set(o) ^ want), o)
    for k, t in spec.items():
        v = o[k]
        if t == "time":
            assert v is None or re.fullmatch(
                r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", v), (k, v)
        elif t == "int":
            assert isinstance(v, int) and not isinstance(v, bool), (k, v)
        elif t != "any":
            assert isinstance(v, types[t]), (k, v)
PY
}
# jq_py FILE EXPR: EXPR over the first JSON object of FILE, bound to `o`.
jq_py() {
  python3 -c 'import json,sys; o=json.loads(open(sys.argv[1]).readline()); print(eval(sys.argv[2]))' "$1" "$2"
}

program_spec="id:int,name:str,pid:int,state:str,factory:str,channel:str,start_time_unix_ms:int,start_time:time,exited:bool,signaled:bool,exit_code:int,exit_status:str,calls:int,denials:int,path:str,restart:str,restarts:int,previous_id:int,uid:int,gid:int,dynamic_uid:bool,cgroup:str,state_directory:str,service:str,run:int"

make_domain "$work/dom" || { echo "FAIL: could not make the domain"; exit 1; }
run="$work/run"
sock="$run/admin.sock"
host_args=(--keys_dir="$work/keys" --domain_dir="$work/dom" --policy_key_file="$work/dom/policy_name" --runtime_dir="$run" --audit_log="$run/audit.log" --state_dir="$run.state" --scrypt_n=1024)
if ! start_host host "${host_args[@]}"; then failed=$((failed + 1)); finish; exit 1; fi
host_name=$(cat "$work/keys/host_name")

# --- taoctl --------------------------------------------------------------------
expect_exit 0 "start --json" ctl --json start "$secret_bin" "$work/state1"
check "start: every field of a program" fields "$work/out" "$program_spec" HostedProgram
id1=$(jq_py "$work/out" "o['id']")
expect_exit 0 "wait --json" ctl --json wait "$id1"
check "wait: every field" fields "$work/out" "$program_spec" HostedProgram
check "wait: exited 0, counters as numbers, start time in UTC" test \
  "$(jq_py "$work/out" "(o['exited'], o['exit_code'], o['calls'] > 0, o['denials'], o['start_time'].endswith('Z'))")" = \
  "(True, 0, True, 0, True)"
check "wait: the RFC 3339 time is the millisecond time" python3 -c '
import json, sys, datetime
o = json.loads(open(sys.argv[1]).readline())
t = datetime.datetime.strptime(o["start_time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
assert int(t.timestamp() * 1000) == o["start_time_unix_ms"], o' "$work/out"
expect_exit 0 "start a sleep" ctl --json start /bin/sleep 30
id2=$(jq_py "$work/out" "o['id']")
check "a running program: zero values are present (exit_code 0, exited false)" test \
  "$(jq_py "$work/out" "(o['exited'], o['exit_code'], o['exit_status'], o['previous_id'], o['restarts'])")" = \
  "(False, 0, '', 0, 0)"
expect_exit 0 "list --json" ctl --json list
check "list: one line each, every field" fields "$work/out" "$program_spec" HostedProgram
check "list: two programs" test "$(wc -l <"$work/out")" -eq 2
expect_exit 0 "status --json" ctl --json status "$id2"
check "status: every field" fields "$work/out" "$program_spec" HostedProgram
check "status: the sleep, running" test "$(jq_py "$work/out" "(o['id'], o['state'])")" = "($id2, 'running')"
expect_exit 0 "info --json" ctl --json info
check "info: every field" fields "$work/out" "version:str,uptime_ms:int,tao_name:str,domain_name:str,factories:list,running:int,known:int,pid:int,root:str,platform_state:str" HostInfo
check "info: counts as numbers" test "$(jq_py "$work/out" "(o['running'], o['known'])")" = "(1, 2)"
expect_exit 0 "name --json" ctl --json name
check "name: the whole name" test "$(jq_py "$work/out" "o['name']")" = "$host_name"
expect_exit 0 "reload --json" ctl --json reload
check "reload: every field" fields "$work/out" "domain_name:str,rules:int" ReloadPolicyResponse
"$taoctl_bin" --socket="$sock" --json --timeout_ms=1500 events >"$work/events.json" 2>/dev/null &
watcher=$!
sleep 0.3
ctl reload >/dev/null 2>&1
wait "$watcher"
check "events: every field, times in RFC 3339 too" fields "$work/events.json" "kind:str,id:int,previous_id:int,name:str,detail:str,time_unix_ms:int,time:time" Event

# The table: a header, one line per program, ages; --wide; --full.
expect_exit 0 "list" ctl list
check "list: a header and one line per program" test "$(wc -l <"$work/out")" -eq 3
check "list: the header" stdout_has "^ID  *STATE  *PID  *AGE  *EXIT  *CALLS  *RESTART  *PATH  *NAME$"
check "list: the sleep's line has an age and its short name" \
  stdout_has "^$id2  *running  *[0-9]*  *[0-9]*[smhd]  *-  .*/sleep  *key(ecdsa-p256:SHA256:"
expect_exit 0 "list --wide" ctl --wide list
check "list --wide: more columns" stdout_has "^ID  *STATE  *PID  *AGE  *EXIT  *CALLS  *DENIED  *RESTARTS  *RESTART  *UID  *CHANNEL  *SERVICE  *PATH  *NAME$"
expect_exit 0 "list --full" ctl --full list
check "list --full: whole names" stdout_has "  $host_name\\.Program("
expect_exit 0 "stop --json" ctl --json stop "$id2"
check "stop: every field" fields "$work/out" "$program_spec" HostedProgram

# Pages: a list longer than one page comes whole, in id order.
for i in 1 2 3; do ctl start /bin/sleep 30 >/dev/null 2>&1; done
expect_exit 0 "list --json in one call" ctl --json list
cp "$work/out" "$work/whole.json"
expect_exit 0 "list --json a program a page" ctl --json --page_size=1 list
check "paged: the same programs, in id order, each once" python3 -c '
import json, sys
whole = [json.loads(l)["id"] for l in open(sys.argv[1])]
paged = [json.loads(l)["id"] for l in open(sys.argv[2])]
assert len(whole) == 5, whole
assert paged == sorted(whole) and len(set(paged)) == len(paged), (whole, paged)
' "$work/whole.json" "$work/out"
expect_exit 0 "list (table) two programs a page" ctl --page_size=2 list
check "paged table: a header and five lines" test "$(wc -l <"$work/out")" -eq 6
expect_exit 0 "status by id across pages" ctl --json --page_size=1 status "$id2"
check "status across pages finds it" test "$(jq_py "$work/out" "o['id']")" = "$id2"

# --- tao-domain ------------------------------------------------------------------
dom() { "$domain_bin" --json --scrypt_n=1024 "$@"; }
expect_exit 0 "tao-domain init --json" dom --domain_dir="$work/d2" --name=jsontest init
check "init: every field" fields "$work/out" "domain_name:str,rules:int,serial:int,file:str,policy_key:str,created_key:bool"
check "init: serial 1, a new key" test "$(jq_py "$work/out" "(o['serial'], o['created_key'], o['domain_name'])")" = "(1, True, 'jsontest')"
expect_exit 0 "tao-domain sign --json" dom --domain_dir="$work/d2" sign
check "sign: every field, serial 2" fields "$work/out" "domain_name:str,rules:int,serial:int,file:str"
check "sign: serial 2" test "$(jq_py "$work/out" "o['serial']")" = 2
expect_exit 0 "tao-domain show --json" dom --domain_dir="$work/d2" show
check "show: every field" fields "$work/out" "verified:bool,serial:int,domain_name:str,rules:int,policy:dict"
check "show: the policy's serial is a number" test "$(jq_py "$work/out" "(o['policy']['serial'], o['policy']['domain_name'])")" = "(2, 'jsontest')"
expect_exit 0 "tao-domain check --json (allowed)" dom --domain_dir="$work/d2" --uid=0 check Admin:List
check "check: every field" fields "$work/out" "allowed:bool,operation:str,label:str,reason:str"
expect_exit 1 "tao-domain check --json (denied): 1" dom --domain_dir="$work/d2" --uid=1000 check Admin:List
check "check denied: allowed false, a reason" test "$(jq_py "$work/out" "(o['allowed'], len(o['reason']) > 0)")" = "(False, True)"
expect_exit 0 "tao-domain measure --json" dom measure /bin/sleep
check "measure: every field" fields "$work/out" "measurement:str,program:str,signature_file:str,signed:bool,publisher:str"
expect_exit 0 "tao-domain new-publisher --json" dom --keys_dir="$work/pub" new-publisher
check "new-publisher: every field" fields "$work/out" "publisher:str,created_key:bool"
cp /bin/sleep "$work/app"
expect_exit 0 "tao-domain sign-program --json" dom --keys_dir="$work/pub" --product=app --product_version=3 sign-program "$work/app"
check "sign-program: every field" fields "$work/out" "measurement:str,product:str,product_version:int,file:str"
expect_exit 0 "tao-domain measure --json of a signed program" dom measure "$work/app"
check "measure: signed, with its publisher" test "$(jq_py "$work/out" "(o['signed'], o['publisher'].startswith('Publisher('))")" = "(True, True)"
expect_exit 0 "tao-domain audit-verify --json" dom audit-verify "$run/audit.log"
check "audit-verify: every field" fields "$work/out" "intact:bool,records:int,first_seq:int,last_seq:int,files:int,last_hash:str,checkpoint_checked:bool"

# --- tao-soft and tao-attest -------------------------------------------------------
printf 'pw\n' >"$work/pw"
soft() { "$soft_bin" --json --keys_dir="$work/soft" --passphrase_file="$work/pw" --scrypt_n=1024 "$@"; }
expect_exit 0 "tao-soft init --json" soft init
check "tao-soft init: every field" fields "$work/out" "name:str,created_keys:bool"
expect_exit 0 "tao-soft name --json" soft name
check "tao-soft name: not created" test "$(jq_py "$work/out" "o['created_keys']")" = False
soft attest "$work/att" >/dev/null 2>&1
expect_exit 0 "tao-attest verify --json" "$attest_bin" --json --root="$work/soft/host_name" verify "$work/att"
check "verify: every field" fields "$work/out" "verified:bool,statement:str,speaker:str,root:str,delegations:int,not_before:time,not_after:time"
expect_exit 1 "tao-attest verify --json, expired: 1" "$attest_bin" --json --root="$work/soft/host_name" --at=2999-01-01T00:00:00Z verify "$work/att"
check "verify rejected: every field" fields "$work/out" "verified:bool,failure:str,reason:str"
check "verify rejected: names the failure" test "$(jq_py "$work/out" "o['failure']")" = expired
expect_exit 0 "tao-attest show --json" "$attest_bin" --json show "$work/att"
check "show: a links array" fields "$work/out" "links:list"
check "show: each link has every field" python3 -c '
import json, sys
links = json.loads(open(sys.argv[1]).readline())["links"]
assert len(links) == 1, links
want = {"depth", "kind", "statement", "statement_bytes", "signer", "signer_valid", "signature_bytes", "signature_sha256"}
assert set(links[0]) == want, links[0]
assert links[0]["depth"] == 0 and links[0]["signature_bytes"] > 0, links[0]' "$work/out"

finish
