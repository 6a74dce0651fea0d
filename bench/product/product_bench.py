#!/usr/bin/env python3
"""The product-path benchmark: what a user of the Tao host actually runs.

  bench/product/product_bench.py [--build DIR] [--quick] [--trail-dir DIR]
                                 [--keep DIR] [--cpu N]

Unlike bench/e2e (the listen loop in the harness's own process, no audit
trail, no admin path), every figure here goes through the shipped parts:

  1. the client library is installed (`cmake --install --component client`)
     into a scratch prefix and the hosted program (product_client.cc) is
     compiled against it with pkg-config, as a user's program would be;
  2. a domain is created with `tao-domain init` / `sign`;
  3. a real `taohost` is started from a config file, with its audit trail in
     --trail-dir (default: a directory under the build tree, i.e. a real
     disk; check with `df` that it is not tmpfs);
  4. every hosted program is started with `taoctl start` and its result read
     back with `taoctl logs`.

It runs each trail mode (tmpfs: batch with the trail in /dev/shm, the
nearest to no trail the host allows, since it always keeps one; batch and
sync with the trail on --trail-dir) pinned (taohost and its programs
on one CPU, `taskset -c N`) and unpinned, with one program (Seal 32 B,
Unseal 32 B, Attest) and with 100 concurrent programs (aggregate Seal 32 B
rate), and in the same run the baselines the goals compare against: one
`write`+`fdatasync` of a record-sized line on the trail's disk, and the
in-process harness (`tao_loop_bench`) for the same calls.

Prints one table; every time is the median over a program's calls (the
100-program rows: total calls / wall time). Use
`bench/common/median_of_runs.py --runs 3 bench/product/product_bench.py` for
medians of several runs.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

PASSPHRASE = "product bench passphrase, not a secret"


def run(cmd, check=True, capture=True, env=None, timeout=600):
    p = subprocess.run(cmd, check=False, capture_output=capture, text=True,
                       env=env, timeout=timeout)
    if check and p.returncode != 0:
        sys.exit(f"product_bench: {' '.join(cmd)} failed ({p.returncode}):\n"
                 f"{p.stdout}\n{p.stderr}")
    return p


def affinity_note(cpu):
    online = os.cpu_count()
    return (f"pinned: taohost and its programs on CPU {cpu} of {online}; "
            f"unpinned: all {online} CPUs")


def build_client(build, work):
    prefix = os.path.join(work, "prefix")
    run(["cmake", "--install", build, "--prefix", prefix, "--component",
         "client"])
    pc_dirs = [os.path.dirname(p) for p in
               subprocess.run(["find", prefix, "-name", "tao-client.pc"],
                              capture_output=True, text=True).stdout.split()]
    if not pc_dirs:
        sys.exit("product_bench: the install has no tao-client.pc")
    env = dict(os.environ, PKG_CONFIG_PATH=":".join(pc_dirs))
    flags = run(["pkg-config", "--cflags", "--libs", "tao-client"],
                env=env).stdout.split()
    out = os.path.join(work, "bin", "product-client")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    os.chmod(os.path.dirname(out), 0o755)
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "product_client.cc")
    run(["c++", "-std=c++17", "-O2", src, "-o", out] + flags)
    return out


class Host:
    """One taohost with its own runtime dir, config and trail."""

    def __init__(self, apps, work, domain_dir, policy_key, trail_dir, mode,
                 cpu):
        self.apps = apps
        self.dir = os.path.join(work, f"host-{mode}-{cpu if cpu is not None else 'any'}")
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o711)
        self.run_dir = os.path.join(self.dir, "run")
        self.socket = os.path.join(self.run_dir, "admin.sock")
        # "tmpfs": the trail in /dev/shm (batch), the nearest to no trail
        # that the host allows: it always keeps one.
        base = "/dev/shm" if mode == "tmpfs" else trail_dir
        trail = os.path.join(base, "tao-product-bench-" + os.path.basename(self.dir))
        self.trail = trail
        shutil.rmtree(trail, ignore_errors=True)
        config = os.path.join(self.dir, "taohost.conf")
        lines = [
            f'keys_dir: "{os.path.join(self.dir, "keys")}"',
            f'state_dir: "{os.path.join(self.dir, "state")}"',
            f'domain_dir: "{domain_dir}"',
            f'policy_key_file: "{policy_key}"',
            f'runtime_dir: "{self.run_dir}"',
            f'audit_log: "{os.path.join(trail, "audit.log")}"',
            f'audit_durability: "{"batch" if mode == "tmpfs" else mode}"',
            "measurement_cache_mib: 64",
            # A single row makes ~3,000 calls at ~40,000 a second, past the
            # default limit (1,000 a second, bursts of 2,000): raised, not
            # turned off, so every decision still pays for its bucket.
            "audit_rate_per_program: 1000000",
        ]
        with open(config, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.makedirs(trail, mode=0o700, exist_ok=True)
        cmd = [os.path.join(apps, "taohost", "taohost"), f"--config={config}"]
        if cpu is not None:
            cmd = ["taskset", "-c", str(cpu)] + cmd
        env = dict(os.environ, TAO_PASSPHRASE=PASSPHRASE)
        self.log = open(os.path.join(self.dir, "taohost.log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, env=env)
        line = self.proc.stdout.readline()
        if "admin socket ready" not in line:
            self.proc.kill()
            with open(os.path.join(self.dir, "taohost.log")) as f:
                sys.exit(f"product_bench: taohost did not start ({mode}):\n"
                         f"{line}{f.read()[-3000:]}")

    def taoctl(self, *args, check=True):
        return run([os.path.join(self.apps, "taoctl", "taoctl"),
                    f"--socket={self.socket}"] + list(args), check=check)

    def start(self, client, *args):
        out = self.taoctl("start", client, *args).stdout
        m = re.search(r"\b(\d+)\b", out)
        if not m:
            sys.exit(f"product_bench: no program id in: {out}")
        return m.group(1)

    def result(self, pid):
        w = self.taoctl("wait", pid)
        logs = self.taoctl("logs", pid).stdout
        m = re.search(r"^result (.*)$", logs, re.M)
        if not m:
            sys.exit(f"product_bench: program {pid} gave no result:\n"
                     f"{w.stdout}\n{logs}")
        return {k: v for k, v in (kv.split("=", 1) for kv in m.group(1).split())}

    def stop(self):
        self.taoctl("shutdown", check=False)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        shutil.rmtree(self.trail, ignore_errors=True)


def fdatasync_median_us(trail_dir, n):
    path = os.path.join(trail_dir, "fdatasync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    line = b"x" * 180 + b"\n"
    times = []
    try:
        for _ in range(n):
            t0 = time.perf_counter_ns()
            os.write(fd, line)
            os.fdatasync(fd)
            times.append(time.perf_counter_ns() - t0)
    finally:
        os.close(fd)
        os.unlink(path)
    return statistics.median(times) / 1000.0


def in_process_us(build, phase, iterations):
    """Seal/Unseal/Attest 32 B medians from tao_loop_bench, in us."""
    bench = os.path.join(build, "bench", "e2e", "tao_loop_bench")
    if not os.path.exists(bench):
        return {}
    out = run([bench, f"--only={phase},seal32,unseal32,attest",
               f"--iterations={iterations}", "--no-storm"], check=False).stdout
    got = {}
    for key, label in (("seal", "Seal 32 B"), ("unseal", "Unseal 32 B"),
                       ("attest", "Attest")):
        m = re.search(re.escape(label) + r" \[" + phase + r"\][^|]*\|\s*([\d.]+)\s*us",
                      out)
        if m:
            got[key] = float(m.group(1))
    return got


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--trail-dir", default="")
    ap.add_argument("--keep", default="")
    ap.add_argument("--quick", action="store_true",
                    help="fewer calls and 20 programs instead of 100")
    ap.add_argument("--cpu", type=int, default=(os.cpu_count() or 1) - 1)
    ap.add_argument("--modes", default="tmpfs,batch,sync")
    args = ap.parse_args()

    build = os.path.abspath(args.build)
    apps = os.path.join(build, "apps")
    work = args.keep or tempfile.mkdtemp(prefix="tao-product-bench-",
                                         dir=build)
    os.makedirs(work, exist_ok=True)
    os.chmod(work, 0o755)
    trail_dir = os.path.abspath(args.trail_dir or os.path.join(work, "trails"))
    os.makedirs(trail_dir, mode=0o700, exist_ok=True)
    iters = 500 if args.quick else 3000
    programs = 20 if args.quick else 100
    per_program = 100 if args.quick else 300

    client = build_client(build, work)
    domain_dir = os.path.join(work, "domain")
    env = dict(os.environ, TAO_PASSPHRASE=PASSPHRASE)
    domain = os.path.join(apps, "tao_domain", "tao-domain")
    shutil.rmtree(domain_dir, ignore_errors=True)
    run([domain, f"--domain_dir={domain_dir}", "--name=bench", "init"],
        env=env)
    m = run([domain, "measure", client]).stdout
    measurement = re.search(r"Program\((sha256:[0-9a-f]+)\)", m).group(1)
    with open(os.path.join(domain_dir, "policy.txt"), "w") as f:
        f.write(f'''domain_name: "bench"
rules {{ id: "root-admin" operations: "Admin:*" principals {{ uid: 0 }} }}
rules {{
  id: "bench-client"
  operations: ["Execute", "Seal", "Unseal", "Attest"]
  principals {{ measurement: "{measurement}" }}
}}
''')
    run([domain, f"--domain_dir={domain_dir}", "sign"], env=env)
    policy_key = os.path.join(domain_dir, "policy_name")

    fsync_us = fdatasync_median_us(trail_dir, 200 if args.quick else 1000)
    rows = []
    for phase, cpu in (("pinned", args.cpu), ("unpinned", None)):
        inproc = in_process_us(build, phase, iters)
        single = {}
        storm = {}
        for mode in args.modes.split(","):
            host = Host(apps, work, domain_dir, policy_key, trail_dir, mode,
                        cpu)
            try:
                for op in ("seal", "unseal", "attest"):
                    r = host.result(host.start(client, op, "32", str(iters)))
                    single[(mode, op)] = int(r["median_ns"]) / 1000.0
                # Many programs at once: each waits for a common instant.
                start_at = time.time_ns() + int(
                    (1.5 + 0.05 * programs) * 1e9)
                ids = [host.start(client, "seal", "32", str(per_program),
                                  str(start_at)) for _ in range(programs)]
                if time.time_ns() > start_at:
                    print("warning: the programs started late; the storm "
                          "window includes start-up", file=sys.stderr)
                results = [host.result(i) for i in ids]
                begin = min(int(r["begin_unix_ns"]) for r in results)
                end = max(int(r["end_unix_ns"]) for r in results)
                total = sum(int(r["n"]) for r in results)
                storm[mode] = total / ((end - begin) / 1e9)
            finally:
                host.stop()
        rows.append((phase, single, storm, inproc))

    print(f"# product path: taohost + installed client library + taoctl")
    print(f"# {affinity_note(args.cpu)}; {programs} programs x {per_program} "
          f"Seals for the aggregate rows; {iters} calls per single row")
    print(f"# trail dir {trail_dir}: write+fdatasync of one record "
          f"{fsync_us:.1f} us (median)")
    print("metric | value | baseline | ratio | goal | met?")
    for phase, single, storm, inproc in rows:
        for op, label in (("seal", "Seal 32 B"), ("unseal", "Unseal 32 B"),
                          ("attest", "Attest")):
            off = single.get(("tmpfs", op))
            for mode in ("tmpfs", "batch", "sync"):
                v = single.get((mode, op))
                if v is None:
                    continue
                if mode == "tmpfs":
                    base = inproc.get(op)
                    goal = "<= 1.3x in-process" if op == "seal" else "-"
                    ratio = v / base if base else None
                    met = "-" if ratio is None or goal == "-" else (
                        "met" if ratio <= 1.3 else "MISSED")
                    bl = f"{base:.1f} us in-process" if base else "n/a"
                elif mode == "batch":
                    ratio = v / off if off else None
                    goal, bl = "<= 1.5x tmpfs trail", f"{off:.1f} us tmpfs trail"
                    met = "met" if ratio and ratio <= 1.5 else "MISSED"
                else:
                    floor = (off or 0) + fsync_us
                    ratio = v / floor if floor else None
                    goal = "<= 1 fdatasync + tmpfs trail"
                    bl = f"{floor:.1f} us"
                    met = "met" if ratio and ratio <= 1.0 else "MISSED"
                r = f"{ratio:.2f}x" if ratio else "n/a"
                print(f"{label} [{phase}, trail {mode}] | {v:.1f} us | {bl} | "
                      f"{r} | {goal} | {met}")
        one_sync_rate = 1e6 / fsync_us
        for mode in ("tmpfs", "batch", "sync"):
            if mode not in storm:
                continue
            v = storm[mode]
            if mode == "sync":
                ratio = v / one_sync_rate
                print(f"{programs} programs Seal 32 B [{phase}, trail sync] | "
                      f"{v:,.0f}/s | {one_sync_rate:,.0f}/s (one fdatasync per "
                      f"record) | {ratio:.1f}x | >= 20x | "
                      f"{'met' if ratio >= 20 else 'MISSED'}")
            else:
                base = storm.get("tmpfs")
                ratio = v / base if base else None
                print(f"{programs} programs Seal 32 B [{phase}, trail {mode}] | "
                      f"{v:,.0f}/s | {base:,.0f}/s tmpfs trail | "
                      f"{ratio:.2f}x | - | -")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
