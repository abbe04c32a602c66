#!/usr/bin/env python3
"""Compare the /history arrays of engd results files (HDF5) against the first one.

usage: compare_history.py [--tol T] [--fields loss,rel_l2] [--first N] [--params] [--label TEXT]
                          REF.h5 OTHER.h5 [...]

For every field, every OTHER file must have an array of the same length as REF's, with the same
/history/iteration, and agree to T relative: |a - b| <= T * max(|a|, |b|) elementwise (entries
that are NaN in both count as equal). Prints the largest relative difference of each file and
field; exits 0 when all agree, 1 when some do not, 2 on unreadable input. --first N compares only
the first N entries (the lengths must still match); --params also compares /model/parameters,
normwise: max|a - b| <= T * max|a|.
"""
import argparse
import sys

import h5py
import numpy as np


def relative_difference(a, b):
    both_nan = np.isnan(a) & np.isnan(b)
    scale = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(scale > 0, np.abs(a - b) / np.where(scale > 0, scale, 1.0), 0.0)
    rel = np.where(both_nan, 0.0, rel)
    rel = np.where(np.isnan(rel), np.inf, rel)  # NaN on one side only, or inf - inf
    return rel


def read(path, fields, with_params):
    with h5py.File(path, "r") as f:
        out = {"iteration": f["history/iteration"][()]}
        if with_params:
            out["parameters"] = np.asarray(f["model/parameters"][()], dtype=float)
        for name in fields:
            out[name] = np.asarray(f["history/" + name][()], dtype=float)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tol", type=float, default=1e-10)
    parser.add_argument("--fields", default="loss,rel_l2")
    parser.add_argument("--label", default="")
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--params", action="store_true")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    fields = [x for x in args.fields.split(",") if x]
    if len(args.files) < 2:
        print("compare_history.py: need a reference and at least one other file")
        return 2
    try:
        histories = [read(p, fields, args.params) for p in args.files]
    except (OSError, KeyError) as e:
        print("compare_history.py: cannot read the results: %s" % e)
        return 2

    ref = histories[0]
    ok = True
    prefix = (args.label + ": ") if args.label else ""
    for path, h in zip(args.files[1:], histories[1:]):
        if len(h["iteration"]) != len(ref["iteration"]):
            print("%s%s: %d history entries, reference %s has %d" % (prefix, path, len(h["iteration"]), args.files[0], len(ref["iteration"])))
            ok = False
            continue
        if not np.array_equal(h["iteration"], ref["iteration"]):
            print("%s%s: /history/iteration differs from the reference" % (prefix, path))
            ok = False
            continue
        parts = []
        file_ok = True
        n = args.first if args.first > 0 else len(ref["iteration"])
        for name in fields:
            rel = relative_difference(ref[name][:n], h[name][:n])
            worst = float(np.max(rel)) if rel.size else 0.0
            at = int(ref["iteration"][int(np.argmax(rel))]) if rel.size else 0
            parts.append("%s max rel diff %.1e (it %d)" % (name, worst, at))
            if not worst <= args.tol:
                file_ok = ok = False
        if args.params:
            a, b = ref["parameters"], h["parameters"]
            if a.shape != b.shape:
                parts.append("parameters: %d entries vs %d" % (b.size, a.size))
                file_ok = ok = False
            else:
                scale = float(np.max(np.abs(a))) if a.size else 0.0
                worst = float(np.max(np.abs(a - b))) / scale if scale > 0 else float(np.max(np.abs(a - b), initial=0.0))
                if np.isnan(worst):
                    worst = np.inf
                parts.append("parameters max rel diff %.1e" % worst)
                if not worst <= args.tol:
                    file_ok = ok = False
        print("%s%s vs %s: %d entries, %s%s" % (prefix, path.rsplit("/", 1)[-1], args.files[0].rsplit("/", 1)[-1], len(h["iteration"]), "; ".join(parts), "" if file_ok else "  FAILED [tolerance %.0e]" % args.tol))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
