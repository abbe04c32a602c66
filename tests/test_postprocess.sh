#!/bin/sh
# postprocess/ and `make figures`: short runs (the default job, Adam, 3-D cos_sum with sigmoid,
# 1-D sin_sum with sigmoid (trained to ~1e-10) and with sin, and a strong-scaling study on 1 and 2
# ranks run by jobs/strong_scaling.sbatch without Slurm) into one results directory, then
#   - `make figures RESULTS=dir` writes history.png, scaling.png, a solution-*.png per run,
#     table.md and table.csv; every PNG is larger than 10 kB and not a flat image;
#   - the table's numbers equal the files' /summary (CSV exactly, markdown to its rounding);
#   - the numpy network of postprocess/engd_results.py reproduces engd: its relative L2 error on
#     20000 random points is within 10% of each run's rel_l2 (a wrong parameter layout or
#     activation is off by orders of magnitude);
#   - plot_solution.py refuses a problem it cannot evaluate with a clear message.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
test_setup postprocess h5py
"$PYTHON" -c 'import matplotlib' 2>/dev/null || { echo "skip: $PYTHON cannot import matplotlib"; exit 77; }

R="$T/results"
rm -rf "$R" && mkdir -p "$R" || exit 1
engd_output_dir=$R
engd_ranks 2 default -options_file configs/poisson2d.opts -max_it 40
engd_ranks 2 adam -options_file configs/poisson2d_adam.opts -max_it 200
engd_ranks 1 cos3d -options_file configs/poisson2d.opts -dim 3 -solution cos_sum -sampler uniform -n_interior 400 -n_boundary 150 -net_hidden 16 -net_activation sigmoid -max_it 30
ONE_D="-options_file configs/poisson2d.opts -dim 1 -n_interior 30 -n_boundary 2 -net_hidden 16 -solution sin_sum"
# shellcheck disable=SC2086
engd_ranks 1 sig1d $ONE_D -net_activation sigmoid -max_it 50
# shellcheck disable=SC2086
engd_ranks 1 sin1d $ONE_D -net_activation sin -max_it 20
echo "== strong scaling study (jobs/strong_scaling.sbatch without Slurm, 1 and 2 ranks)"
if ENGD_HOME=$(pwd) SLURM_NTASKS=2 ENGD_JOB_DIR="$R/strong" bash jobs/strong_scaling.sbatch configs/poisson2d.opts -max_it 10 -monitor_every 0 >"$T/strong.out" 2>&1; then check_passed
else FAILED "jobs/strong_scaling.sbatch without Slurm failed"; tail -n 5 "$T/strong.out"; fi
grep 'ranks: SUMMARY' "$T/strong.out" | sed 's/.*engd-job: [^ ]* [^ ]* //; s/ rel_l2=.*s_per_it=/ s_per_it=/; s/ params=.*//'

echo "== make figures RESULTS=$R"
if make --no-print-directory figures RESULTS="$R" PYTHON="$PYTHON" >"$T/figures.out" 2>&1; then check_passed; else FAILED "make figures exited non-zero"; fi
sed 's/^/  | /' "$T/figures.out" | grep -v '^  |  ' | head -n 20

echo "== figures, table, and the numpy network against engd"
check_cmd "figures, table, numpy network" "$PYTHON" - "$R" <<'PY'
import csv, os, sys
import numpy as np
sys.path.insert(0, "postprocess")
import engd_results
import matplotlib.image

root = sys.argv[1]
out = os.path.join(root, "figures")
errors = []
def check(cond, what):
    if not cond:
        errors.append(what)

runs = ["default", "adam", "cos3d", "sig1d", "sin1d"]
pngs = ["history.png", "scaling.png"] + ["solution-%s.png" % r for r in runs]
for name in pngs:
    path = os.path.join(out, name)
    if not os.path.exists(path):
        check(False, "%s was not written" % name); continue
    size = os.path.getsize(path)
    image = matplotlib.image.imread(path)[..., :3]
    colours = len(np.unique((image.reshape(-1, 3) * 255).astype(np.uint8), axis=0))
    print("  %-24s %7d bytes, %5d colours" % (name, size, colours))
    check(size > 10000, "%s is only %d bytes" % (name, size))
    check(colours > 50, "%s has only %d colours: a flat image" % (name, colours))
check(not [f for f in os.listdir(out) if f.startswith("solution-strong")], "scaling runs got solution plots")

# the table against /summary
files = engd_results.find_results([root])
results = {os.path.abspath(f): engd_results.Results(f) for f in files}
with open(os.path.join(out, "table.csv")) as f:
    rows = list(csv.DictReader(f))
check(len(rows) == len(results) == 7, "table.csv has %d rows for %d results files (want 7)" % (len(rows), len(results)))
md = [l for l in open(os.path.join(out, "table.md")).read().splitlines() if l.startswith("|")][2:]
check(len(md) == len(rows), "table.md has %d rows, table.csv %d" % (len(md), len(rows)))
numeric = ("params", "points", "ranks", "iterations", "loss", "rel_l2", "rel_h1", "rms", "wall_s", "s_per_it")
header = [c.strip() for c in open(os.path.join(out, "table.md")).readline().strip("|\n").split("|")]
compared = 0
for row, line in zip(rows, md):
    res = results.get(os.path.abspath(row["file"]))
    if res is None:
        check(False, "table row for unknown file %s" % row["file"]); continue
    cells = dict(zip(header, [c.strip() for c in line.strip("|").split("|")]))
    check(row["optimizer"] == res.option("optimizer") == cells["optimizer"], "%s: optimizer %s/%s, file says %s" % (row["file"], row["optimizer"], cells["optimizer"], res.option("optimizer")))
    for key in numeric:
        want = float(res.summary[key])
        check(float(row[key]) == want, "%s: table.csv %s %s != /summary %r" % (row["file"], key, row[key], want))
        check(abs(float(cells[key]) - want) <= 5e-4 * abs(want), "%s: table.md %s %s != /summary %r" % (row["file"], key, cells[key], want))
        compared += 2
print("  table: %d rows, %d numbers compared with /summary" % (len(rows), compared))
check(sorted(r["optimizer"] for r in rows).count("adam") == 1, "want exactly one adam row")

# the numpy network: relative L2 error on random points against engd's rel_l2
for name in runs:
    res = engd_results.Results(os.path.join(root, name + ".h5"))
    mine, engd = engd_results.relative_l2(res, 20000), res.summary["rel_l2"]
    ratio = mine / engd
    print("  %-8s %dD %-8s %-7s: rel_l2 numpy %.4e, engd %.4e (ratio %.3f)" % (name, res.dim, res.option("solution"), res.activation, mine, engd, ratio))
    check(abs(ratio - 1) < 0.1, "%s: the numpy network's relative L2 error %.4e is not within 10%% of engd's %.4e" % (name, mine, engd))
for e in errors:
    print("FAIL: " + e)
sys.exit(1 if errors else 0)
PY

echo "== plot_solution.py refuses what it cannot evaluate"
"$PYTHON" - "$R/default.h5" "$T/heat.h5" <<'PY'
import shutil, sys, h5py
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "r+") as f:
    f["options"].attrs["text"] = "-problem heat\n-dim 2"
PY
"$PYTHON" postprocess/plot_solution.py -o "$T/heat.png" "$T/heat.h5" >"$T/heat.out" 2>&1
rc=$?
echo "  exit $rc: $(cat "$T/heat.out")"
if [ $rc = 1 ] && grep -q "problem 'heat': only poisson" "$T/heat.out" && [ ! -e "$T/heat.png" ]; then check_passed
else FAILED "plot_solution.py on -problem heat: want exit 1, a message naming the problem, no PNG"; fi

test_finish
