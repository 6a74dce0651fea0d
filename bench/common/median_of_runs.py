#!/usr/bin/env python3
"""Runs a benchmark harness several times and prints the median of every row.

  bench/common/median_of_runs.py [--runs N] [--quiet-below PCT] [--keep DIR]
                                 [--against DIR] BENCH [bench flags...]
  bench/common/median_of_runs.py --from DIR [--against DIR]

For any harness whose table is `|`-separated with a header line starting with
"metric" (tao_loop_bench: metric | value | baseline | ratio | goal | met?;
tao_admin_bench: metric | value | baseline | ratio). Rows are the lines after
the header with as many cells as it; indented lines ("limited by: ...") are
not rows. Each column keeps its harness's meaning:

  - a cell that is the same in every run (a goal, "-") is printed as it is;
  - a cell of yes/NO words (the met? column) becomes "K/N" runs that said yes;
  - any other cell keeps its text, and each of its numbers becomes the median
    over the runs of the number at that place ("12.6 us (p99 51.3 us)",
    "1995 MB/s (525.6 us)", "2.45x"), written as the middle run wrote it.

A last column gives the spread (min..max) of the first number of the value
column. Each run's full output is kept (in --keep DIR, or a temp dir that is
printed); --from DIR summarizes the run-*.txt of an earlier --keep without
running anything. --against DIR (also run-*.txt files) adds the medians of
those runs and the change of the value in percent, marked "worse" when it is
more than 5% worse (for a rate, a unit ending in "/s", lower is worse; for
anything else, higher is).

Before each run it waits (up to 10 minutes) until the machine's CPUs are less
than --quiet-below percent busy over 3 seconds (0, the default: do not
wait), so that a shared machine's build jobs land in as few runs as possible;
each run's own "background:" line says how much still did.
"""
import argparse
import glob
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

NUM = re.compile(r"[-+]?\d+(?:\.\d+)?")
WORDS = {"yes", "no", "NO", "n/a"}


def busy_fraction(seconds=3.0):
    """Fraction of all CPUs busy over `seconds` (this script is idle then)."""

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
            print(f"  still {busy:.0f}% busy after {limit} s; running anyway",
                  file=sys.stderr)
            return
        print(f"  waiting for a quiet machine: {busy:.0f}% busy", file=sys.stderr)
        time.sleep(5)


def cells_of(line):
    return [c.strip() for c in line.split("|")]


def parse_table(text):
    """(header cells, [metric...], {metric: [cells after the metric]},
    background line) from one run's output."""
    header, order, rows, background = None, [], {}, ""
    for line in text.splitlines():
        if line.startswith("background:"):
            background = line
            continue
        if "|" not in line or line.startswith(" "):
            continue
        cells = cells_of(line)
        if header is None:
            if cells[0] == "metric":
                header = cells
            continue
        if len(cells) != len(header) or cells[0] in rows:
            continue
        order.append(cells[0])
        rows[cells[0]] = cells[1:]
    if header is None:
        sys.exit("no table (a header line starting with 'metric |') in the output")
    return header, order, rows, background


def template(cell):
    return NUM.sub("#", cell)


def decimals(number_text):
    return len(number_text.split(".")[1]) if "." in number_text else 0


def first_number(cell):
    m = NUM.search(cell)
    return float(m.group(0)) if m else None


def fmt(x, places):
    return f"{x:.{places}f}"


def median_cell(cells):
    """One cell from the same cell of every run (see the module's doc)."""
    if all(c in WORDS for c in cells):
        return f"{sum(1 for c in cells if c == 'yes')}/{len(cells)}"
    if all(c == cells[0] for c in cells):
        return cells[0]
    shapes = {template(c) for c in cells}
    if len(shapes) != 1:
        # The runs disagree on the cell's shape (e.g. "-" in one): the median
        # of the first number of those that have one, in the first's text.
        with_numbers = [c for c in cells if first_number(c) is not None]
        if not with_numbers:
            return cells[0]
        m = median_text([NUM.search(c).group(0) for c in with_numbers])
        first = NUM.search(with_numbers[0])
        return with_numbers[0][:first.start()] + m + with_numbers[0][first.end():]
    numbers = [NUM.findall(c) for c in cells]
    parts = NUM.split(cells[0])
    out = parts[0]
    for i in range(len(numbers[0])):
        out += median_text([n[i] for n in numbers]) + parts[i + 1]
    return out


def median_text(texts):
    """The median of numbers written as `texts`, written as the harness wrote
    it: the middle run's own text for an odd count, else the mean of the two
    middle ones with as many decimals as they had."""
    ordered = sorted(texts, key=float)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    lo, hi = ordered[mid - 1], ordered[mid]
    return fmt((float(lo) + float(hi)) / 2, max(decimals(lo), decimals(hi)))


def summarize(runs):
    """(header, [row cells...]) of the medians over `runs` (parse_table's)."""
    header = runs[0][0]
    value_col = 1 if len(header) > 1 else None
    out = []
    for metric in runs[0][1]:
        per_run = [r[2][metric] for r in runs if metric in r[2]]
        row = [metric] + [median_cell([c[i] for c in per_run])
                          for i in range(len(header) - 1)]
        values = [first_number(c[0]) for c in per_run if value_col]
        values = [v for v in values if v is not None]
        row.append(f"{min(values):g}..{max(values):g}" if values else "-")
        out.append(row)
    return header + ["value min..max"], out


def rate(cell):
    m = NUM.search(cell)
    return m is not None and cell[m.end():].strip().split(" ")[0].endswith("/s")


def change_of(after, before):
    a, b = first_number(after), first_number(before)
    if a is None or b is None or b == 0:
        return "-"
    pct = (a / b - 1) * 100
    worse = -pct if rate(after) else pct
    return f"{pct:+.1f}%" + (" worse" if worse > 5 else "")


def print_table(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows)
              for i in range(len(header))]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("-" * (sum(widths) + 3 * (len(widths) - 1)))
    for row in rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths)))


def load_dir(path):
    files = sorted(glob.glob(os.path.join(path, "run-*.txt")),
                   key=lambda f: int(re.findall(r"\d+", os.path.basename(f))[0]))
    if not files:
        sys.exit(f"no run-*.txt in {path}")
    runs = []
    for f in files:
        with open(f) as fh:
            runs.append(parse_table(fh.read()))
    return runs


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quiet-below", type=float, default=0)
    ap.add_argument("--keep", help="keep each run's output here (run-N.txt)")
    ap.add_argument("--from", dest="from_dir",
                    help="summarize the run-*.txt here instead of running")
    ap.add_argument("--against", help="run-*.txt of the runs to compare with")
    ap.add_argument("bench", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    if args.from_dir:
        runs = load_dir(args.from_dir)
        out_dir = args.from_dir
    else:
        if not args.bench:
            ap.error("give the harness's path and its flags (or --from DIR)")
        out_dir = args.keep or tempfile.mkdtemp(
            prefix=os.path.basename(args.bench[0]) + "_runs.")
        os.makedirs(out_dir, exist_ok=True)
        runs = []
        for i in range(args.runs):
            wait_quiet(args.quiet_below)
            print(f"run {i + 1}/{args.runs}: {' '.join(args.bench)}",
                  file=sys.stderr)
            done = subprocess.run(args.bench, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
            path = os.path.join(out_dir, f"run-{i + 1}.txt")
            with open(path, "w") as f:
                f.write(done.stdout)
            if done.returncode != 0:
                print(done.stdout[-3000:], file=sys.stderr)
                sys.exit(f"run {i + 1} failed (exit {done.returncode}); "
                         f"output in {path}")
            runs.append(parse_table(done.stdout))
    header, rows = summarize(runs)
    if args.against:
        before_runs = load_dir(args.against)
        _, before_rows = summarize(before_runs)
        before = {r[0]: r for r in before_rows}
        header = header[:2] + ["before", "change"] + header[2:]
        rows = [r[:2] + ([before[r[0]][1], change_of(r[1], before[r[0]][1])]
                         if r[0] in before else ["-", "-"]) + r[2:]
                for r in rows]
    print_table(header, rows)
    print()
    for i, r in enumerate(runs):
        print(f"run {i + 1}: {r[3]}")
    if args.against:
        for i, r in enumerate(before_runs):
            print(f"before, run {i + 1}: {r[3]}")
    print(f"full outputs: {out_dir}")


if __name__ == "__main__":
    main()
