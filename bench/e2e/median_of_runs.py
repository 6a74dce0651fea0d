#!/usr/bin/env python3
"""Runs tao_loop_bench several times and prints the median of every row.

  bench/e2e/median_of_runs.py [--runs N] [--quiet-below PCT] [--keep DIR]
                              BENCH [bench flags...]

Each run's full output is kept (in --keep DIR, or a temp dir that is printed).
Before each run it waits (up to 10 minutes) until the other processes on the
machine use less than --quiet-below percent of its CPUs over 3 seconds (0: do
not wait), so that a shared machine's build jobs land in as few runs as
possible; each run's own "background:" line says how much still did.

The median table has, per row: the median value, baseline and ratio over the
runs (the first number in each cell, with the cell's unit), how many runs met
the goal, and the spread (min..max) of the value.
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


def busy_other_fraction(seconds=3.0):
    """Fraction of all CPUs busy over `seconds` (this script is idle then)."""

    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        busy = v[0] + v[1] + v[2] + v[5] + v[6]
        return busy, sum(v)

    b0, t0 = snap()
    time.sleep(seconds)
    b1, t1 = snap()
    return (b1 - b0) / max(1, t1 - t0)


def wait_quiet(pct, limit=600):
    if pct <= 0:
        return
    start = time.time()
    while True:
        busy = busy_other_fraction() * 100
        if busy < pct:
            print(f"  machine quiet: {busy:.0f}% busy", file=sys.stderr)
            return
        if time.time() - start > limit:
            print(f"  still {busy:.0f}% busy after {limit} s; running anyway",
                  file=sys.stderr)
            return
        print(f"  waiting for a quiet machine: {busy:.0f}% busy", file=sys.stderr)
        time.sleep(5)


def parse_table(text):
    """{metric: (value, baseline, ratio, goal, met)} from the bench's table."""
    rows = {}
    order = []
    for line in text.splitlines():
        if " | " not in line or line.startswith("metric ") or line.startswith("    "):
            continue
        cells = [c.strip() for c in line.split(" | ")]
        if len(cells) != 6:
            continue
        metric = cells[0]
        rows[metric] = cells[1:]
        order.append(metric)
    background = ""
    for line in text.splitlines():
        if line.startswith("background:"):
            background = line
    return order, rows, background


def first_number(cell):
    m = NUM.search(cell)
    return float(m.group(0)) if m else None


def unit_of(cell):
    m = NUM.search(cell)
    if not m:
        return cell
    rest = cell[m.end():].strip()
    return rest.split("(")[0].strip()


def fmt(x):
    if x is None:
        return "-"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quiet-below", type=float, default=0)
    ap.add_argument("--keep")
    ap.add_argument("bench", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    if not args.bench:
        ap.error("give the tao_loop_bench path and its flags")
    out_dir = args.keep or tempfile.mkdtemp(prefix="tao_loop_bench_runs.")
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
    widths = [max(len(m) for m in order), 12, 14, 8, 14, 5, 20]
    header = ["metric", "median value", "median baseline", "ratio", "goal", "met",
              "value min..max"]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("-" * (sum(widths) + 3 * (len(widths) - 1)))
    for metric in order:
        cells = [r[1].get(metric) for r in runs if metric in r[1]]
        if not cells:
            continue
        vals = [first_number(c[0]) for c in cells if first_number(c[0]) is not None]
        bases = [first_number(c[1]) for c in cells if first_number(c[1]) is not None]
        ratios = [first_number(c[2]) for c in cells if first_number(c[2]) is not None]
        met = [c[4] for c in cells]
        goal = cells[0][3]
        unit = unit_of(cells[0][0])
        bunit = unit_of(cells[0][1]) if bases else ""
        value = f"{fmt(statistics.median(vals))} {unit}" if vals else cells[0][0]
        base = f"{fmt(statistics.median(bases))} {bunit}" if bases else "-"
        ratio = f"{fmt(statistics.median(ratios))}x" if ratios else "-"
        if goal == "-":
            met_text = "-"
        else:
            met_text = f"{sum(1 for m in met if m == 'yes')}/{len(met)}"
        spread = f"{fmt(min(vals))}..{fmt(max(vals))}" if vals else "-"
        row = [metric, value, base, ratio, goal, met_text, spread]
        print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    print()
    for i, r in enumerate(runs):
        print(f"run {i + 1}: {r[2]}")
    print(f"full outputs: {out_dir}")


if __name__ == "__main__":
    main()
