#!/usr/bin/env python3
"""Every figure of a results directory (make figures RESULTS=dir), into DIR/figures/:

    history.png          loss and rel_l2 against iteration and wall time, all runs (plot_history.py)
    solution-NAME.png    network, exact solution and error on a 2-D slice, per run (plot_solution.py)
    scaling.png          speed-up and efficiency of the scaling studies (plot_scaling.py): the
                         directories holding a scaling.txt (jobs/*_scaling.sbatch)
    newton-NAME.png      loss, negative eigenvalues of H and the final spectrum per method
                         (plot_newton.py): the directories holding a newton.txt (bench/newton.sh)
    table.md, table.csv  final figures per run (table.py)

usage: figures.py DIR

Results files are found recursively; runs of scaling studies appear only in scaling.png and the
table. NAME is the file's path below DIR with '/' turned into '_'. A run whose problem
plot_solution.py cannot evaluate is reported and skipped.
"""
import os
import sys

import engd_results
import plot_history
import plot_newton
import plot_scaling
import plot_solution
import table


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0].startswith("-"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    root = argv[0]
    if not os.path.isdir(root):
        print("figures.py: %s is not a directory (make figures RESULTS=dir)" % root, file=sys.stderr)
        return 1
    out = os.path.join(root, "figures")
    files = engd_results.find_results([root])
    files = [f for f in files if os.path.commonpath([os.path.abspath(f), os.path.abspath(out)]) != os.path.abspath(out)]
    if not files:
        print("figures.py: no engd results files in %s" % root, file=sys.stderr)
        return 1
    os.makedirs(out, exist_ok=True)
    scaling_dirs = sorted({os.path.dirname(f) for f in files if os.path.exists(os.path.join(os.path.dirname(f), "scaling.txt"))})
    newton_dirs = sorted({os.path.dirname(f) for f in files if os.path.exists(os.path.join(os.path.dirname(f), "newton.txt"))})
    runs = [f for f in files if os.path.dirname(f) not in scaling_dirs and os.path.dirname(f) not in newton_dirs]
    status = 0
    if runs:
        status |= plot_history.main(["-o", os.path.join(out, "history.png")] + runs)
        for f in runs:
            name = os.path.splitext(os.path.relpath(f, root))[0].replace(os.sep, "_")
            if plot_solution.main(["-o", os.path.join(out, "solution-%s.png" % name), f]) != 0:
                print("figures.py: no solution plot for %s" % f)
    for d in newton_dirs:
        name = os.path.relpath(d, root).replace(os.sep, "_")
        status |= plot_newton.main(["-o", os.path.join(out, "newton-%s.png" % ("root" if name == "." else name)), d])
    if scaling_dirs:
        status |= plot_scaling.main(["-o", os.path.join(out, "scaling.png")] + scaling_dirs)
    status |= table.main(["-o", os.path.join(out, "table.md"), "--csv", os.path.join(out, "table.csv")] + files)
    return status


if __name__ == "__main__":
    sys.exit(main())
