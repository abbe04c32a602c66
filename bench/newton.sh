#!/bin/sh
# Exact Newton and why it fails (Rowan 2025, arXiv 2510.11987): every method on every case for
# SEEDS network initialisations, each run ending with the classification of the point reached
# (-classify: the exact Hessian's inertia, |grad L|, the trivial point's loss). Prints one table:
# per case and method, how many seeds succeed (final loss <= 1e-8 or relative L2 error <= 1e-4),
# how many end at a saddle (stationary, negative eigenvalues), at a trivial saddle (a saddle at
# the trivial point's loss), at a non-global minimum, or not stationary; and the median number of
# iterations of the successful seeds (the runs stop once the L2 error is <= 1e-4). A benchmark:
# it asserts nothing.
#
#   bench/newton.sh [-seeds N] [-only CASE,CASE] [-methods M,M] [-it N] [-np RANKS] [-hidden W]
#   bench/newton.sh -figure [CASE] [-seed S]
#
# -hidden W replaces every case's hidden layers (e.g. 5, 32, 64 or 16,16).
# -figure: instead, the figure's runs of one case (default pinn1d) and seed (1) for every method,
# with the diagnostics recorded per iteration (-hessian_diagnostics) and the final spectrum
# (-classify_spectrum), into $OUT/figure-CASE (make figures RESULTS=$OUT/figure-CASE draws it:
# postprocess/plot_newton.py).
#
# Cases: pinn1d (-u'' = pi^2 sin(pi x), 1-8-1 tanh), poisson2d (2-D Poisson, sin(pi x) sin(pi y),
# 2-16-1), reg1d (regression of sin(2 pi x), 1-16-1), reg2d (regression of sin(pi x) sin(pi y),
# 2-8-8-1). Methods: newton (exact, full step eta = 1), newton_ls (exact, grid line search),
# newton_saddlefree, newton_lm, engd, lbfgs, adam (10x the iterations). Results and logs stay
# in $OUT (default /tmp/engd-newton); $OUT/runs.txt has one line per run, $OUT/table.md the table
# (bench/newton.py formats it); the histories of seed 1 are the figure's input (make figures
# RESULTS=$OUT).
cd "$(dirname "$0")/.." || exit 1
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
SEEDS=10
ONLY="pinn1d poisson2d reg1d reg2d"
METHODS="newton newton_ls newton_saddlefree newton_lm engd lbfgs adam"
IT=300
NP=1
HIDDEN=""
FIGURE=""
FIGURE_SEED=1
while [ $# -gt 0 ]; do
  case "$1" in
    -figure) FIGURE=pinn1d; shift; case "${1:-}" in ""|-*) ;; *) FIGURE=$1; shift ;; esac ;;
    -seed) FIGURE_SEED=$2; shift 2 ;;
    -seeds) SEEDS=$2; shift 2 ;;
    -only) ONLY=$(echo "$2" | tr ',' ' '); shift 2 ;;
    -methods) METHODS=$(echo "$2" | tr ',' ' '); shift 2 ;;
    -it) IT=$2; shift 2 ;;
    -np) NP=$2; shift 2 ;;
    -hidden) HIDDEN="-net_hidden $2"; shift 2 ;;
    *) echo "bench/newton.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
OUT=${OUT:-/tmp/engd-newton}
mkdir -p "$OUT" || exit 1
[ -x bin/engd ] || { echo "bench/newton.sh: bin/engd is missing: run make first" >&2; exit 1; }
PYTHON=${PYTHON:-$(scripts/find-python.sh)}

# every case with the grid line search (-ls_type grid), as the table in README was measured
case_options() {
  echo "-ls_type grid $(case_options_of "$1")"
}
case_options_of() {
  case $1 in
    pinn1d) echo "-problem poisson -dim 1 -solution sin_prod -net_hidden 8 -n_interior 30 -n_boundary 2 -sampler grid -n_eval 1000" ;;
    poisson2d) echo "-problem poisson -dim 2 -solution sin_prod -net_hidden 16 -n_interior 100 -n_boundary 40 -sampler grid -n_eval 2500" ;;
    reg1d) echo "-problem regression -dim 1 -regression_target sin_sum -regression_frequency 2 -net_hidden 16 -n_data 50 -sampler grid -n_eval 1000" ;;
    reg2d) echo "-problem regression -dim 2 -regression_target sin_prod -net_hidden 8,8 -n_data 100 -sampler grid -n_eval 2500" ;;
    *) echo "bench/newton.sh: unknown case $1" >&2; exit 2 ;;
  esac
}
method_options() {
  case $1 in
    newton) echo "-optimizer newton -newton_full_step -max_it $IT" ;;
    newton_ls) echo "-optimizer newton -max_it $IT" ;;
    adam) echo "-optimizer adam -adam_lr 1e-3 -max_it $((10 * IT))" ;;
    *) echo "-optimizer $1 -max_it $IT" ;;
  esac
}

if [ -n "$FIGURE" ]; then
  dir="$OUT/figure-$FIGURE"
  mkdir -p "$dir" || exit 1
  echo "$FIGURE, seed $FIGURE_SEED: $(case_options "$FIGURE")" >"$dir/newton.txt"
  for m in $METHODS; do
    # shellcheck disable=SC2046
    scripts/mpirun.sh -n "$NP" bin/engd $(case_options "$FIGURE") $(method_options "$m") -seed "$FIGURE_SEED" -hessian_diagnostics -classify -classify_spectrum "$dir/$m.spectrum" -quiet -output "$dir/$m.h5" >"$dir/$m.log" 2>&1
    echo "$m: $(grep '^Point reached' "$dir/$m.log")"
  done
  exit 0
fi
: >"$OUT/runs.txt"
for c in $ONLY; do
  for m in $METHODS; do
    s=1
    while [ $s -le "$SEEDS" ]; do
      name="$c-$m-$s"
      # shellcheck disable=SC2046
      scripts/mpirun.sh -n "$NP" bin/engd $(case_options "$c") $HIDDEN $(method_options "$m") -seed "$s" -stop_rel_l2 1e-4 -eval_every 1 -classify -quiet -output "$OUT/$name.h5" >"$OUT/$name.log" 2>&1
      cls=$(sed -n 's/^CLASSIFY //p' "$OUT/$name.log")
      sum=$(sed -n 's/^SUMMARY //p' "$OUT/$name.log")
      echo "case=$c${HIDDEN:+@$(echo "$HIDDEN" | sed 's/-net_hidden //')} method=$m seed=$s $sum $cls" >>"$OUT/runs.txt"
      s=$((s + 1))
    done
    echo "done: $c $m" >&2
  done
done
"$PYTHON" bench/newton.py "$OUT/runs.txt" | tee "$OUT/table.md"
