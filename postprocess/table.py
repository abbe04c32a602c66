#!/usr/bin/env python3
"""Final figures of engd runs as a markdown table (and CSV).

usage: table.py [-o table.md] [--csv table.csv] RESULTS.h5|DIR [...]

One row per results file (directories are searched): file, optimizer, params, points, ranks,
iterations, loss, rel_l2, rel_h1, rms, wall_s, s_per_it, from /summary and /options. The
markdown (stdout unless -o) rounds to 4 significant digits; the CSV keeps full precision.
"""
import argparse
import csv
import sys

import engd_results

COLUMNS = ("file", "optimizer", "params", "points", "ranks", "iterations", "loss", "rel_l2", "rel_h1", "rms", "wall_s", "s_per_it")
INTEGERS = ("params", "points", "ranks", "iterations")


def rows(results):
    out = []
    for res in results:
        row = {"file": res.path, "optimizer": res.option("optimizer")}
        for key in COLUMNS[2:]:
            value = res.summary.get(key, float("nan"))
            row[key] = int(value) if key in INTEGERS else float(value)
        out.append(row)
    return out


def markdown(table):
    def cell(key, value):
        if isinstance(value, float):
            return "%.4g" % value if key in ("wall_s", "s_per_it") else "%.3e" % value
        return str(value)
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" if c in ("file", "optimizer") else "---:" for c in COLUMNS) + "|"]
    lines += ["| " + " | ".join(cell(c, row[c]) for c in COLUMNS) + " |" for row in table]
    return "\n".join(lines) + "\n"


def write_csv(table, path):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for row in table:
            writer.writerow({c: repr(row[c]) if isinstance(row[c], float) else row[c] for c in COLUMNS})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", help="markdown file (default: stdout)")
    parser.add_argument("--csv", help="also write a CSV file")
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    try:
        table = rows([engd_results.Results(p) for p in engd_results.find_results(args.paths)])
    except (OSError, KeyError, ValueError) as e:
        print("table.py: %s" % e, file=sys.stderr)
        return 1
    if not table:
        print("table.py: no results files in %s" % " ".join(args.paths), file=sys.stderr)
        return 1
    text = markdown(table)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
        print("table.py: %s (%d runs)" % (args.output, len(table)))
    else:
        sys.stdout.write(text)
    if args.csv:
        write_csv(table, args.csv)
        print("table.py: %s" % args.csv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
