#!/usr/bin/env python3
"""Exact Newton and why it fails (bench/newton.sh's figure runs): one case, every method.

usage: plot_newton.py [-o newton.png] DIR

DIR holds newton.txt (its first line names the case), METHOD.h5 (runs with
-hessian_diagnostics: the history columns loss and hess_negative) and METHOD.spectrum (the
eigenvalues of the exact Hessian at the final point, -classify_spectrum). Three panels: the loss
and the number of negative eigenvalues of H against the iteration, and the final spectrum of H
(sorted, symmetric-log scale). Prints one line per method: final loss, negative eigenvalues,
lambda_min.
"""
import argparse
import glob
import os
import sys

import numpy as np

import engd_results


def load(directory):
    runs = []
    for path in sorted(glob.glob(os.path.join(directory, "*.h5"))):
        method = os.path.splitext(os.path.basename(path))[0]
        res = engd_results.Results(path)
        spectrum_path = os.path.join(directory, method + ".spectrum")
        spectrum = np.loadtxt(spectrum_path) if os.path.exists(spectrum_path) else None
        runs.append((method, res, spectrum))
    return runs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("-o", "--output", default="newton.png")
    parser.add_argument("directory")
    args = parser.parse_args(argv)
    runs = load(args.directory)
    if not runs:
        print("plot_newton.py: no results files in %s" % args.directory, file=sys.stderr)
        return 1
    title = ""
    marker = os.path.join(args.directory, "newton.txt")
    if os.path.exists(marker):
        with open(marker) as f:
            title = f.readline().strip()
    plt = engd_results.matplotlib_pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for method, res, spectrum in runs:
        it = res.history["iteration"]
        axes[0].loglog(it + 1, np.maximum(res.history["loss"], 1e-300), label=method)
        if "hess_negative" in res.history:
            axes[1].semilogx(it + 1, res.history["hess_negative"], label=method)
        if spectrum is not None:
            axes[2].plot(np.arange(spectrum.size), np.sort(spectrum), ".", markersize=3, label=method)
        n_neg = int(np.sum(spectrum < -1e-9 * np.max(np.abs(spectrum)))) if spectrum is not None else -1
        print("%-20s final loss %.3e, %d negative eigenvalues, lambda_min %.3e" % (method, res.history["loss"][-1], n_neg, np.min(spectrum) if spectrum is not None else float("nan")))
    axes[0].set_xlabel("iteration + 1")
    axes[0].set_ylabel("loss")
    axes[1].set_xlabel("iteration + 1")
    axes[1].set_ylabel("negative eigenvalues of H")
    axes[2].set_xlabel("index (sorted)")
    axes[2].set_ylabel("eigenvalue of H at the final point")
    axes[2].set_yscale("symlog", linthresh=1e-6)
    for ax in axes:
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    print("plot_newton.py: wrote %s" % args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
