#!/usr/bin/env python3
"""Runs tao_admin_bench several times and prints the median of every row.

  bench/admin/median_of_runs.py [--runs N] [--quiet-below PCT] [--keep DIR]
                                BENCH [bench flags...]

Each run's full output is kept (in --keep DIR, or a temp dir that is printed).
With --quiet-below PCT it waits before each run (up to 10 minutes) until the
machine's CPUs are less than PCT percent busy over 3 seconds.

For every row of the table (metric | value | baseline | ratio) it prints the
median over the runs of the first number in the value, baseline and ratio
cells (with the cell's unit), and the spread (min..max) of the value. The p99
in a value cell is the median of the runs' p99s.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

NUM = re.compile(r"[-+]?\d+(?:\.\d+)?")
P99 = re.compile(r"p99 ([-+]?\d+(?:\.\d+)?)")


def busy_fraction(seconds=3.0):
    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        return v[0] + v[1] + v[2] + v[5] + v[6], sum(v)

    b0, t0 = snap()
    time.sleep(seconds)
    b1, t1 = snap()
    return (b1 - b0) / max(1, t1 - t0)


def wait_quiet(pct, limit=600):
    if pct <= 0:
        return
    start = time.time()
    while True:
        busy = busy_fraction() * 100
        if busy < pct:
            print(f"  machine quiet: {busy:.0f}% busy", file=sys.stderr)
            return
        if time.time() - start > limit:
            print(f"  still {busy:.0f}% busy after {limit} s; running anyway", file=sys.stderr)
            return
        print(f"  waiting for a quiet machine: {busy:.0f}% busy", file=sys.stderr)
        time.sleep(5)


def parse_table(text):
    """([metric...], {metric: [value, baseline, ratio]}, background line)."""
    rows, order, in_table = {}, [], False
    background = ""
    for line in text.splitlines():
        if line.startswith("metric ") and " | " in line:
            in_table = True
            continue
        if line.startswith("background:"):
            background = line
        if not in_table or line.startswith("    ") or " | " not in line:
            continue
        cells = [c.strip() for c in line.split(" | ")]
        if len(cells) != 4:
            continue
        rows[cells[0]] = cells[1:]
        order.append(cells[0])
    return order, rows, background


def first_number(cell):
    m = NUM.search(cell)
    return float(m.group(0)) if m else None


def unit_of(cell):
    m = NUM.search(cell)
    if not m:
        return ""
    return cell[m.end():].strip().split("(")[0].strip()


def fmt(x):
    if x is None:
        return "-"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3f}" if abs(x) < 1 else f"{x:.2f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quiet-below", type=float, default=0)
    ap.add_argument("--keep")
    ap.add_argument("bench", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    if not args.bench:
        ap.error("give the tao_admin_bench path and its flags")
    out_dir = args.keep or tempfile.mkdtemp(prefix="tao_admin_bench_runs.")
    os.makedirs(out_dir, exist_ok=True)
    runs = []
    for i in range(args.runs):
        wait_quiet(args.quiet_below)
        print(f"run {i + 1}/{args.runs}: {' '.join(args.bench)}", file=sys.stderr)
        done = subprocess.run(args.bench, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
        path = os.path.join(out_dir, f"run-{i + 1}.txt")
        with open(path, "w") as f:
            f.write(done.stdout)
        if done.returncode != 0:
            print(done.stdout[-3000:], file=sys.stderr)
            sys.exit(f"run {i + 1} failed (exit {done.returncode}); output in {path}")
        runs.append(parse_table(done.stdout))
    order = runs[0][0]
    widths = [max(len(m) for m in order), 24, 24, 8, 16]
    header = ["metric", "median value", "median baseline", "ratio", "value min..max"]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("-" * (sum(widths) + 3 * (len(widths) - 1)))
    for metric in order:
        cells = [r[1][metric] for r in runs if metric in r[1]]
        vals = [v for v in (first_number(c[0]) for c in cells) if v is not None]
        p99s = [float(m.group(1)) for m in (P99.search(c[0]) for c in cells) if m]
        bases = [v for v in (first_number(c[1]) for c in cells) if v is not None]
        ratios = [v for v in (first_number(c[2]) for c in cells) if v is not None]
        unit = unit_of(cells[0][0])
        value = f"{fmt(statistics.median(vals))} {unit}" if vals else cells[0][0]
        if p99s:
            value += f" (p99 {fmt(statistics.median(p99s))})"
        base = (f"{fmt(statistics.median(bases))} {unit_of(cells[0][1])}" if bases else "-")
        ratio = f"{fmt(statistics.median(ratios))}x" if ratios else "-"
        spread = f"{fmt(min(vals))}..{fmt(max(vals))}" if vals else "-"
        row = [metric, value, base, ratio, spread]
        print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    print()
    for i, r in enumerate(runs):
        print(f"run {i + 1}: {r[2]}")
    print(f"full outputs: {out_dir}")


if __name__ == "__main__":
    main()
