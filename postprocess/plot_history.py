#!/usr/bin/env python3
"""Loss and relative L2 error of engd runs against iteration and against wall time.

usage: plot_history.py [-o history.png] [--title TEXT] RESULTS.h5|DIR [...]

One figure, 2 x 2 panels (loss, rel_l2) x (iteration, optimizer wall time /history/wall_s), one
line per results file: an optimizer comparison. Directories are searched for results files.
Legend: the run's optimizer (from /options), with the file name where optimizers repeat.
Errors are only plotted where they were evaluated (-eval_every leaves NaN elsewhere).
"""
import argparse
import sys

import numpy as np

import engd_results


def plot_history(results, output, title=None):
    plt = engd_results.matplotlib_pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(11, 8), sharey="row")
    for res, label in zip(results, engd_results.labels(results)):
        h = res.history
        for row, field in enumerate(("loss", "rel_l2")):
            y = np.asarray(h[field], dtype=float)
            keep = np.isfinite(y) & (y > 0)  # log axes; NaN where not evaluated
            for col, x in enumerate((h["iteration"], h["wall_s"])):
                axes[row, col].plot(np.asarray(x)[keep], y[keep], label=label, lw=1.4)
    for row, name in enumerate(("loss", "relative $L^2$ error")):
        axes[row, 0].set_ylabel(name)
        for col, xname in enumerate(("iteration", "wall time (s)")):
            ax = axes[row, col]
            ax.set_yscale("log")
            ax.grid(True, which="major", alpha=0.3)
            if row == 1:
                ax.set_xlabel(xname)
    axes[0, 0].legend(fontsize="small")
    fig.suptitle(title or "training history: %d run%s" % (len(results), "s" if len(results) > 1 else ""))
    fig.tight_layout()
    fig.savefig(output, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", default="history.png")
    parser.add_argument("--title")
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    try:
        results = [engd_results.Results(p) for p in engd_results.find_results(args.paths)]
    except (OSError, KeyError, ValueError) as e:
        print("plot_history.py: %s" % e, file=sys.stderr)
        return 1
    if not results:
        print("plot_history.py: no results files in %s" % " ".join(args.paths), file=sys.stderr)
        return 1
    plot_history(results, args.output, args.title)
    print("plot_history.py: %s (%d run%s)" % (args.output, len(results), "" if len(results) == 1 else "s"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
