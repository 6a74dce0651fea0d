#!/usr/bin/env python3
"""taohost's readiness over sd_notify, with a NOTIFY_SOCKET this test listens
on (no systemd needed): READY=1 with a STATUS= line arrives once the admin
socket accepts (taoctl answers right after it), SIGHUP gives RELOADING=1 with
a MONOTONIC_USEC= of now and then READY=1 again, SIGTERM gives STOPPING=1
before the host exits 0; every datagram comes from taohost's own pid.

  notify_test.py TAOHOST TAOCTL TAO_DOMAIN
Prints "N passed, N failed"; exits non-zero on any failure.
"""
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

taohost, taoctl, domain = sys.argv[1:4]
passed = failed = 0


def check(what, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL: %s %s" % (what, detail))


work = tempfile.mkdtemp(prefix="tao-notify.")
os.chmod(work, 0o1777)
env = dict(os.environ, TAO_PASSPHRASE="notify test passphrase")
host = None
try:
    dom = os.path.join(work, "dom")
    subprocess.run([domain, "--domain_dir=" + dom, "--name=notifytest",
                    "--scrypt_n=1024", "init"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    listen = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify_path = os.path.join(work, "notify.sock")
    listen.bind(notify_path)
    listen.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    run = os.path.join(work, "run")
    sock = os.path.join(run, "admin.sock")
    host = subprocess.Popen(
        [taohost, "--keys_dir=" + os.path.join(work, "keys"),
         "--domain_dir=" + dom,
         "--policy_key_file=" + os.path.join(dom, "policy_name"),
         "--runtime_dir=" + run, "--audit_log=" + os.path.join(run, "audit.log"),
         "--state_dir=" + os.path.join(work, "state"), "--scrypt_n=1024"],
        env=dict(env, NOTIFY_SOCKET=notify_path),
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "host.err"), "w"))

    def receive(timeout=15):
        """The next datagram as (fields dict, sender pid), or (None, 0)."""
        listen.settimeout(timeout)
        try:
            data, ancdata, _, _ = listen.recvmsg(4096, socket.CMSG_SPACE(12))
        except socket.timeout:
            return None, 0
        pid = 0
        for level, kind, cdata in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", cdata[:12])[0]
        fields = {}
        for line in data.decode().split("\n"):
            if "=" in line:
                k, v = line.split("=", 1)
                fields[k] = v
        return fields, pid

    def receive_until(key, timeout=15):
        """Datagrams until one has `key`; returns it and all seen."""
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fields, pid = receive(max(0.1, deadline - time.monotonic()))
            if fields is None:
                break
            seen.append((fields, pid))
            if key in fields:
                return fields, pid, seen
        return None, 0, seen

    ready, pid, _ = receive_until("READY")
    check("READY=1 arrives", ready is not None and ready.get("READY") == "1",
          open(os.path.join(work, "host.err")).read()[-2000:])
    if ready is not None:
        check("READY carries a STATUS line naming the socket",
              sock in ready.get("STATUS", ""), ready)
        check("READY comes from taohost's pid", pid == host.pid, (pid, host.pid))
        # The admin socket accepts at once: the first call after READY works.
        name = subprocess.run([taoctl, "--socket=" + sock, "--timeout_ms=5000",
                               "name"], capture_output=True, text=True)
        check("taoctl answers right after READY", name.returncode == 0 and
              name.stdout.startswith("key("), name)
    status, _, _ = receive_until("STATUS", 5)
    check("a STATUS line once the configured programs started",
          status is not None and "configured programs" in status["STATUS"],
          status)

    before = time.clock_gettime(time.CLOCK_MONOTONIC)
    host.send_signal(signal.SIGHUP)
    reloading, pid, _ = receive_until("RELOADING")
    after = time.clock_gettime(time.CLOCK_MONOTONIC)
    check("SIGHUP: RELOADING=1", reloading is not None and
          reloading.get("RELOADING") == "1", reloading)
    if reloading is not None:
        usec = int(reloading.get("MONOTONIC_USEC", "0"))
        check("RELOADING carries MONOTONIC_USEC of now",
              before * 1e6 - 1000 <= usec <= after * 1e6 + 1000,
              (before, usec, after))
        check("RELOADING has a STATUS", "reload" in reloading.get("STATUS", ""),
              reloading)
        check("RELOADING comes from taohost's pid", pid == host.pid)
    again, _, _ = receive_until("READY")
    check("after the reload: READY=1 again", again is not None and
          "reloaded" in again.get("STATUS", ""), again)

    host.send_signal(signal.SIGTERM)
    stopping, pid, _ = receive_until("STOPPING")
    check("SIGTERM: STOPPING=1", stopping is not None and
          stopping.get("STOPPING") == "1", stopping)
    check("STOPPING comes from taohost's pid", pid == host.pid)
    check("taohost exits 0", host.wait(timeout=30) == 0)
    host = None

    # Without NOTIFY_SOCKET the host runs as before (nothing to tell).
    run2 = os.path.join(work, "run2")
    plain = subprocess.Popen(
        [taohost, "--keys_dir=" + os.path.join(work, "keys"),
         "--domain_dir=" + dom,
         "--policy_key_file=" + os.path.join(dom, "policy_name"),
         "--runtime_dir=" + run2,
         "--audit_log=" + os.path.join(run, "audit.log"),
         "--state_dir=" + os.path.join(work, "state"), "--scrypt_n=1024"],
        env={k: v for k, v in env.items() if k != "NOTIFY_SOCKET"},
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = plain.stdout.readline()
    check("without NOTIFY_SOCKET: serves as before", "admin socket ready" in line,
          line)
    plain.send_signal(signal.SIGTERM)
    check("and exits 0", plain.wait(timeout=30) == 0)
finally:
    if host is not None and host.poll() is None:
        host.kill()
        host.wait()
    shutil.rmtree(work, ignore_errors=True)

print("%d passed, %d failed" % (passed, failed))
sys.exit(0 if failed == 0 else 1)
