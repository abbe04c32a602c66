#!/bin/sh
# The kernel (Woodbury) solver on the KFAC paper's medium 5-D Poisson (configs/poisson5d_medium.opts:
# 5-64-64-48-48-1, P = 10,065, 3000 + 500 points). A benchmark: it prints figures, asserts nothing.
#
#   bench/kernel.sh [-it N] [-dense] [-budget SECONDS] [-np RANKS] [OPTIONS...]
#   bench/kernel.sh p100d [-it N] [OPTIONS...]
#   bench/kernel.sh spring [-it N] [OPTIONS...]
#
# p100d:    instead, the KFAC paper's 100-D Poisson (norm_sq) 100-768-768-512-512-1 (P = 1,325,057)
#           with 100 + 50 points, kernel with the Cholesky solve, N iterations (default 3): s/it,
#           the events, and the peak resident set per rank (needs about 4 GB)
# spring:   instead, kernel ENGD (the config) against SPRING (-optimizer spring, grid/bracket line
#           search) at several momenta mu and dampings lambda, N iterations each (default 40) on
#           the same resampled points: RMS and rel. L2 after N iterations. Iterations, not
#           seconds, so that other load on the machine does not change the comparison
#
# speed:    seconds per iteration (SUMMARY s_per_it, N iterations, default 5) of kernel ENGD with
#           the Cholesky and the eigen solve, and the -log_view events per iteration (EngdRows,
#           EngdGram = forming K, EngdSolve, EngdLineSearch); -dense adds the dense ScaLAPACK
#           Gram (P x P, about 125 s per iteration on 2 ranks: 2 iterations only)
# accuracy: with -budget S, the config trained for S seconds of optimizer time: iterations,
#           s/it, RMS and relative L2 error on the config's evaluation points (needs h5py)
# OPTIONS go to every bin/engd run (e.g. -gram_block_size 128, -engd_damping 1e-10).
cd "$(dirname "$0")/.." || exit 1
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
IT=5; DENSE=0; BUDGET=0; NP=2; P100D=0; SPRING=0
[ "${1:-}" = p100d ] && { P100D=1; IT=3; shift; }
[ "${1:-}" = spring ] && { SPRING=1; IT=40; shift; }
while [ $# -gt 0 ]; do
  case "$1" in
    -it) IT=$2; shift 2 ;;
    -dense) DENSE=1; shift ;;
    -budget) BUDGET=$2; shift 2 ;;
    -np) NP=$2; shift 2 ;;
    *) break ;;
  esac
done
PYTHON=${PYTHON:-$(scripts/find-python.sh)}
CONFIG=configs/poisson5d_medium.opts
[ -x bin/engd ] || { echo "bench/kernel.sh: bin/engd is missing: run make first" >&2; exit 1; }
TMP=$(mktemp -d /tmp/engd-kernel-bench.XXXXXX) || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

field() { sed -n 's/^SUMMARY.*[ ]'"$2"'=\([^ ]*\).*/\1/p' "$1" | tail -n 1; }
# per-iteration seconds of a -log_view event (column 4 is the max time over ranks)
event() { awk -v e="$2" -v n="$3" '$1 == e { t = $4 } END { if (t != "") printf "%.3f", t / n; else printf "-" }' "$1"; }
# errors NAME FILE: iterations, RMS and rel. L2 at the last evaluated iteration
errors() {
  "$PYTHON" - "$1" <<'PY' 2>/dev/null || echo "(needs h5py)"
import sys, h5py, numpy as np
h = h5py.File(sys.argv[1], "r")["history"]
ok = np.where(np.isfinite(h["rms"][()]))[0]
k = ok[-1]
print("iteration %d: RMS %.2e, rel. L2 %.2e" % (h["iteration"][k], h["rms"][k], h["rel_l2"][k]))
PY
}

echo "kernel benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $NP ranks, $([ $P100D = 1 ] && echo "100-D Poisson, P = 1,325,057, 100 + 50 points" || echo "$CONFIG") $*"
printf '%-22s %8s %8s %8s %8s %8s %8s\n' run "s/it" rows K_or_G solve ls its
run() {
  name=$1; its=$2; shift 2
  # shellcheck disable=SC2086
  scripts/mpirun.sh -n "$NP" /usr/bin/time -f "peak_kb %M" bin/engd ${CONFIG:+-options_file "$CONFIG"} -max_it "$its" -n_eval 1000 -quiet -log_view "$@" >"$TMP/$name.log" 2>&1 ||
    { echo "$name: bin/engd failed:"; tail -n 5 "$TMP/$name.log"; return; }
  printf '%-22s %8s %8s %8s %8s %8s %8s\n' "$name" "$(field "$TMP/$name.log" s_per_it)" "$(event "$TMP/$name.log" EngdRows "$its")" \
    "$(event "$TMP/$name.log" EngdGram "$its")" "$(event "$TMP/$name.log" EngdSolve "$its")" "$(event "$TMP/$name.log" EngdLineSearch "$its")" "$its"
}
if [ $P100D = 1 ]; then
  # shellcheck disable=SC2086
  CONFIG= run p100d_kernel "$IT" -problem poisson -dim 100 -solution norm_sq -n_interior 100 -n_boundary 50 -sampler uniform \
    -net_hidden 768,768,512,512 -net_block_size 16 -engd_gram kernel -engd_solve cholesky -engd_damping 1e-8 -eval_every "$IT" -n_eval 200 "$@"
  echo "peak resident set per rank: $(sed -n 's/^peak_kb //p' "$TMP/p100d_kernel.log" | sort -n | tail -n 1 | awk '{printf "%.0f MB", $1 / 1024}')"
  exit 0
fi
if [ $SPRING = 1 ]; then
  echo "kernel ENGD against SPRING, $IT iterations each (RMS and rel. L2 at the last one)"
  # SPRING has its own damping and cut-off: the config without ENGD's
  grep -v -e '^-engd_damping' -e '^-engd_rcond' "$CONFIG" >"$TMP/spring.opts"
  spring_run() {
    name=$1; config=$2; shift 2
    # shellcheck disable=SC2086
    scripts/mpirun.sh -n "$NP" bin/engd -options_file "$config" -max_it "$IT" -eval_every "$IT" -n_eval 1000 -quiet -output "$TMP/$name.h5" "$@" >"$TMP/$name.log" 2>&1 ||
      { echo "$name: bin/engd failed:"; tail -n 3 "$TMP/$name.log"; return; }
    printf '%-36s %8s s/it  %s\n' "$name" "$(field "$TMP/$name.log" s_per_it)" "$(errors "$TMP/$name.h5")"
  }
  spring_run "kernel ENGD (config)" "$CONFIG" "$@"
  for mu in 0.9 0.99; do
    for lambda in 1e-3 1e-8; do spring_run "SPRING mu $mu lambda $lambda" "$TMP/spring.opts" -optimizer spring -spring_momentum $mu -spring_damping $lambda "$@"; done
  done
  exit 0
fi
run kernel_cholesky "$IT" -engd_solve cholesky "$@"
run kernel_eigen "$IT" -engd_solve eigen "$@"
[ $DENSE = 1 ] && run dense_scalapack 2 -engd_gram scalapack -engd_solve eigen -gram_block_size 64 "$@"
echo "(seconds per iteration: SUMMARY s_per_it and the -log_view events' max time over ranks / iterations)"

if [ "$BUDGET" != 0 ]; then
  echo "accuracy: $CONFIG for $BUDGET s of optimizer time"
  # shellcheck disable=SC2086
  scripts/mpirun.sh -n "$NP" bin/engd -options_file "$CONFIG" -max_time "$BUDGET" -eval_every 10 -quiet -output "$TMP/budget.h5" "$@" >"$TMP/budget.log" 2>&1 ||
    { echo "budget run failed:"; tail -n 5 "$TMP/budget.log"; exit 0; }
  echo "  $(field "$TMP/budget.log" iterations) iterations, $(field "$TMP/budget.log" s_per_it) s/it; $(errors "$TMP/budget.h5")"
fi
