"""Reading engd results files (HDF5, layout in include/engd/results.h) for the plot scripts.

    /history/{iteration,loss,rel_l2,rel_h1,rms,eta,damping,wall_s}
    /model/parameters, /model/widths (attribute activation)
    /summary attributes iterations, loss, rel_l2, rel_h1, rms, wall_s, s_per_it, params, points, ranks
    /options attribute text: every option of the run, one per line ("-name value")

Besides loading, this module evaluates the trained network in numpy (mlp) and the exact
solutions of the Poisson problems (exact_solution), so a solution can be plotted without engd.
"""
import os

import h5py
import numpy as np

SUMMARY_KEYS = ("iterations", "loss", "rel_l2", "rel_h1", "rms", "wall_s", "s_per_it", "params", "points", "ranks")
# engd's defaults for the options the scripts read (README: option table)
DEFAULTS = {"problem": "poisson", "dim": "2", "solution": "sin_prod", "optimizer": "engd", "net_activation": "tanh"}


def _text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def parse_options(text):
    """'-name value' lines -> {name: value} (value '' for a flag; later lines win, as in PETSc)."""
    options = {}
    for line in text.splitlines():
        words = line.split(None, 1)
        if words and words[0].startswith("-"):
            options[words[0][1:]] = words[1].strip() if len(words) > 1 else ""
    return options


class Results:
    """One results file: .path, .name, .history {field: array}, .summary {key: number},
    .options {name: value}, .parameters, .widths, .activation."""

    def __init__(self, path):
        self.path = path
        self.name = os.path.splitext(os.path.basename(path))[0]
        with h5py.File(path, "r") as f:
            if _text(f.attrs.get("format", b"")) != "engd-results":
                raise ValueError("%s is not an engd results file (no format=engd-results attribute)" % path)
            self.history = {key: np.asarray(f["history"][key][()]) for key in f["history"]}
            self.summary = {key: f["summary"].attrs[key].item() for key in f["summary"].attrs}
            self.options = parse_options(_text(f["options"].attrs["text"]))
            self.parameters = np.asarray(f["model/parameters"][()], dtype=float)
            self.widths = [int(w) for w in f["model/widths"][()]]
            self.activation = _text(f["model"].attrs.get("activation", self.option("net_activation")))

    def option(self, name, default=None):
        """The run's value of -name: as stored, else engd's default (DEFAULTS), else default."""
        return self.options.get(name, DEFAULTS.get(name, default))

    @property
    def dim(self):
        return self.widths[0]

    def u(self, x):
        """The trained network at points x (n x d)."""
        return mlp(self.parameters, self.widths, self.activation, x)

    def exact(self, x):
        """The exact solution at points x (n x d); ValueError for a problem this module lacks."""
        return exact_solution(self.option("problem"), self.option("solution"), x)


def is_results_file(path):
    try:
        with h5py.File(path, "r") as f:
            return _text(f.attrs.get("format", b"")) == "engd-results"
    except OSError:
        return False


def find_results(paths):
    """Results files among paths: files as given, directories searched recursively (sorted;
    checkpoints and other HDF5 files are left out)."""
    found = []
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs.sort()
                found += [os.path.join(root, f) for f in sorted(files) if f.endswith(".h5") and is_results_file(os.path.join(root, f))]
        else:
            found.append(path)
    return found


def labels(results):
    """Legend labels: the optimizer, plus the file's path below the files' common directory
    where two runs share an optimizer."""
    base = [r.option("optimizer") for r in results]
    paths = [os.path.abspath(r.path) for r in results]
    common = os.path.commonpath([os.path.dirname(p) for p in paths]) if paths else ""
    short = [os.path.splitext(os.path.relpath(p, common))[0] for p in paths]
    return [b if base.count(b) == 1 else "%s (%s)" % (b, s) for b, s in zip(base, short)]


ACTIVATIONS = {
    "tanh": np.tanh,
    "sin": np.sin,
    "sigmoid": lambda y: 1.0 / (1.0 + np.exp(-y)),
}


def mlp(theta, widths, activation, x):
    """u_theta(x) for points x (n x d) of the MLP with layer widths n_0 = d, ..., n_L = 1.
    Layout (include/engd/model.h): layer by layer W_l (n_l x n_{l-1}, column-major), then b_l;
    the activation follows every layer but the last."""
    if activation not in ACTIVATIONS:
        raise ValueError("unknown activation %r (known: %s)" % (activation, ", ".join(ACTIVATIONS)))
    theta = np.asarray(theta, dtype=float)
    expected = sum(widths[l] * widths[l - 1] + widths[l] for l in range(1, len(widths)))
    if theta.size != expected:
        raise ValueError("%d parameters, widths %s need %d" % (theta.size, widths, expected))
    z = np.asarray(x, dtype=float).T  # n_0 x n
    offset = 0
    for l in range(1, len(widths)):
        n_out, n_in = widths[l], widths[l - 1]
        weights = theta[offset:offset + n_out * n_in].reshape((n_out, n_in), order="F")
        offset += n_out * n_in
        bias = theta[offset:offset + n_out]
        offset += n_out
        z = weights @ z + bias[:, None]
        if l < len(widths) - 1:
            z = ACTIVATIONS[activation](z)
    return z[0]


POISSON_SOLUTIONS = ("sin_prod", "sin_sum", "cos_sum")


def exact_solution(problem, solution, x):
    """u* of engd's problems at points x (n x d), for any d (src/problem/poisson.c):
    poisson sin_prod: prod_i sin(pi x_i), sin_sum: sum_i sin(pi x_i), cos_sum: sum_i cos(pi x_i)."""
    if problem != "poisson":
        raise ValueError("problem %r: only poisson (%s) is implemented here" % (problem, ", ".join(POISSON_SOLUTIONS)))
    x = np.asarray(x, dtype=float)
    if solution == "sin_prod":
        return np.prod(np.sin(np.pi * x), axis=1)
    if solution == "sin_sum":
        return np.sum(np.sin(np.pi * x), axis=1)
    if solution == "cos_sum":
        return np.sum(np.cos(np.pi * x), axis=1)
    raise ValueError("poisson solution %r is unknown here (known: %s)" % (solution, ", ".join(POISSON_SOLUTIONS)))


def relative_l2(results, n_points=20000, seed=1):
    """||u_theta - u*|| / ||u*|| on n_points uniform random points of [0,1]^d (a Monte Carlo
    estimate of what engd reports as rel_l2 on its own 10000 uniform points)."""
    x = np.random.default_rng(seed).random((n_points, results.dim))
    u, u_star = results.u(x), results.exact(x)
    return float(np.linalg.norm(u - u_star) / np.linalg.norm(u_star))


def matplotlib_pyplot():
    """pyplot with the Agg backend (files only, no display needed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt
