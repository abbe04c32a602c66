#!/usr/bin/env python3
"""Speed-up and parallel efficiency of engd scaling runs (jobs/strong_scaling.sbatch,
jobs/weak_scaling.sbatch).

usage: plot_scaling.py [-o scaling.png] DIR|RESULTS.h5 [...]

Each directory is one study: its results files (ranks-R.h5) give s_per_it and ranks from
/summary. The kind comes from DIR/scaling.txt (kind=strong|weak), else from the points: the same
in every run is strong scaling, points growing with the ranks weak. Files given directly form one
study. With R0 the smallest rank count and T(R) the seconds per iteration:
    strong: speed-up S = T(R0)/T(R) (ideal R/R0), efficiency E = S R0/R
    weak:   efficiency E = T(R0)/T(R) (ideal 1), scaled speed-up S = E R/R0
Three panels: T(R), S and E against R; one line per study. Prints the table of figures.
"""
import argparse
import os
import sys

import numpy as np

import engd_results


class Study:
    def __init__(self, name, results, kind=None):
        by_ranks = {}
        for res in results:  # several runs per rank count: keep the fastest
            r = int(res.summary["ranks"])
            if r not in by_ranks or res.summary["s_per_it"] < by_ranks[r].summary["s_per_it"]:
                by_ranks[r] = res
        self.name = name
        self.ranks = np.array(sorted(by_ranks), dtype=int)
        self.runs = [by_ranks[r] for r in self.ranks]
        self.time = np.array([float(res.summary["s_per_it"]) for res in self.runs])
        self.points = np.array([int(res.summary["points"]) for res in self.runs])
        self.kind = kind or ("strong" if np.all(self.points == self.points[0]) else "weak")
        ratio = self.ranks / self.ranks[0]
        if self.kind == "strong":
            self.speedup = self.time[0] / self.time
            self.efficiency = self.speedup / ratio
        else:
            self.efficiency = self.time[0] / self.time
            self.speedup = self.efficiency * ratio


def read_kind(directory):
    try:
        with open(os.path.join(directory, "scaling.txt")) as f:
            for line in f:
                if line.startswith("kind="):
                    return line.strip().split("=", 1)[1]
    except OSError:
        pass
    return None


def load_studies(paths):
    studies, loose = [], []
    for path in paths:
        if os.path.isdir(path):
            results = [engd_results.Results(p) for p in engd_results.find_results([path])]
            if results:
                studies.append(Study(os.path.basename(os.path.normpath(path)), results, read_kind(path)))
        else:
            loose.append(engd_results.Results(path))
    if loose:
        studies.append(Study("files", loose))
    return studies


def plot_scaling(studies, output):
    plt = engd_results.matplotlib_pyplot()
    from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter
    fig, (ax_t, ax_s, ax_e) = plt.subplots(1, 3, figsize=(15, 4.4))
    all_ranks = np.unique(np.concatenate([s.ranks for s in studies]))
    for i, s in enumerate(studies):
        label = "%s (%s)" % (s.name, s.kind)
        ax_t.loglog(s.ranks, s.time, "o-", color="C%d" % i, label=label)
        ax_s.loglog(s.ranks, s.speedup, "o-", color="C%d" % i, label=label)
        ax_e.semilogx(s.ranks, s.efficiency, "o-", color="C%d" % i, label=label)
    r0 = all_ranks[0]
    ax_s.loglog(all_ranks, all_ranks / r0, "k--", lw=1, label="ideal")
    ax_e.axhline(1.0, color="k", ls="--", lw=1, label="ideal")
    ax_s.yaxis.set_major_formatter(ScalarFormatter())
    ax_s.yaxis.set_minor_formatter(ScalarFormatter())
    ax_t.set_ylabel("seconds per iteration")
    ax_s.set_ylabel("speed-up (weak: scaled)")
    ax_e.set_ylabel("parallel efficiency")
    ax_e.set_ylim(0, max(1.1, max(float(np.max(s.efficiency)) for s in studies) * 1.05))
    for ax in (ax_t, ax_s, ax_e):
        ax.set_xlabel("ranks")
        ax.xaxis.set_major_locator(FixedLocator(all_ranks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle("engd scaling")
    fig.tight_layout()
    fig.savefig(output, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", default="scaling.png")
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    try:
        studies = load_studies(args.paths)
    except (OSError, KeyError, ValueError) as e:
        print("plot_scaling.py: %s" % e, file=sys.stderr)
        return 1
    if not studies:
        print("plot_scaling.py: no results files in %s" % " ".join(args.paths), file=sys.stderr)
        return 1
    for s in studies:
        print("%s (%s scaling)" % (s.name, s.kind))
        print("  %6s %8s %12s %9s %10s" % ("ranks", "points", "s_per_it", "speed-up", "efficiency"))
        for r, p, t, sp, e in zip(s.ranks, s.points, s.time, s.speedup, s.efficiency):
            print("  %6d %8d %12.6f %9.2f %10.2f" % (r, p, t, sp, e))
    plot_scaling(studies, args.output)
    print("plot_scaling.py: %s" % args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
