#!/usr/bin/env python3
"""The trained network, the exact solution and the pointwise error on a 2-D slice.

usage: plot_solution.py [-o solution.png] [--axes I,J] [--fix 0.5] [--n 101] RESULTS.h5

The network is evaluated in numpy from /model/parameters, /model/widths and the activation
attribute; the exact solution comes from the problem options in /options (Poisson sin_prod,
sin_sum, cos_sum in any dimension; other problems are refused). The slice varies coordinates I and
J (default 0,1) over [0,1]^2 and fixes the others at --fix; a 1-D problem is plotted as curves.
Also prints the relative L2 error on 20000 uniform points of [0,1]^d next to engd's rel_l2.
"""
import argparse
import sys

import numpy as np

import engd_results


def slice_points(dim, axes, fix, n):
    t = np.linspace(0.0, 1.0, n)
    a, b = np.meshgrid(t, t, indexing="xy")
    x = np.full((a.size, dim), fix)
    x[:, axes[0]] = a.ravel()
    x[:, axes[1]] = b.ravel()
    return x, a, b


def plot_solution(res, output, axes=(0, 1), fix=0.5, n=101):
    plt = engd_results.matplotlib_pyplot()
    d = res.dim
    title = "%s: %s, %s %dD, %s" % (res.name, res.option("optimizer"), res.option("solution"), d, "-".join(map(str, res.widths)))
    if d == 1:
        x = np.linspace(0.0, 1.0, 401)[:, None]
        u, u_star = res.u(x), res.exact(x)
        fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4))
        ax0.plot(x[:, 0], u_star, "k-", lw=3, alpha=0.35, label="exact $u^*$")
        ax0.plot(x[:, 0], u, "C0-", lw=1.2, label=r"network $u_\theta$")
        ax0.set_xlabel("$x$")
        ax0.legend()
        ax1.semilogy(x[:, 0], np.abs(u - u_star) + 1e-300, "C3-")
        ax1.set_xlabel("$x$")
        ax1.set_title(r"$|u_\theta - u^*|$")
    else:
        if len(axes) != 2 or not all(0 <= i < d for i in axes) or axes[0] == axes[1]:
            raise ValueError("--axes must name two different coordinates below %d" % d)
        x, a, b = slice_points(d, axes, fix, n)
        u = res.u(x).reshape(a.shape)
        u_star = res.exact(x).reshape(a.shape)
        err = np.abs(u - u_star)
        fig, panels = plt.subplots(1, 3, figsize=(15, 4.4))
        lo, hi = min(u.min(), u_star.min()), max(u.max(), u_star.max())
        for ax, field, name, kw in ((panels[0], u, r"network $u_\theta$", dict(vmin=lo, vmax=hi, cmap="viridis")),
                                    (panels[1], u_star, "exact $u^*$", dict(vmin=lo, vmax=hi, cmap="viridis")),
                                    (panels[2], err, r"$|u_\theta - u^*|$", dict(cmap="magma"))):
            mesh = ax.pcolormesh(a, b, field, shading="auto", **kw)
            fig.colorbar(mesh, ax=ax)
            ax.set_title(name)
            ax.set_xlabel("$x_{%d}$" % (axes[0] + 1))
            ax.set_ylabel("$x_{%d}$" % (axes[1] + 1))
            ax.set_aspect("equal")
        if d > 2:
            title += ", other coordinates = %g" % fix
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(output, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", default="solution.png")
    parser.add_argument("--axes", default="0,1", help="the two coordinates of the slice (0-based)")
    parser.add_argument("--fix", type=float, default=0.5, help="value of the other coordinates")
    parser.add_argument("--n", type=int, default=101, help="grid points per side")
    parser.add_argument("file")
    args = parser.parse_args(argv)
    try:
        res = engd_results.Results(args.file)
        axes = tuple(int(i) for i in args.axes.split(","))
        rel = engd_results.relative_l2(res)
        plot_solution(res, args.output, axes, args.fix, args.n)
    except (OSError, KeyError, ValueError) as e:
        print("plot_solution.py: %s: %s" % (args.file, e), file=sys.stderr)
        return 1
    print("plot_solution.py: %s: relative L2 error on 20000 uniform points %.3e (engd: rel_l2 %.3e)"
          % (args.output, rel, res.summary["rel_l2"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
