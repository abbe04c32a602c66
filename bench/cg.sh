#!/bin/sh
# Matrix-free Gauss-Newton CG (-engd_gram cg): prints its figures, asserts nothing.
#
#   bench/cg.sh [SECTIONS]      SECTIONS: all (default) or any of default, p2d, p100d (comma-separated)
#
#   default  the default job (configs/poisson2d.opts, P = 257) with -engd_gram cg and each
#            preconditioner none, jacobi, nystrom: iterations, final rel. L2, mean KSP
#            iterations, s/it ($CG_DEFAULT, $DEFAULT_IT iterations)
#   p2d      2-D Poisson 2-256-256-128-128-1 (P = 116,097), 900 + 120 points, matrix-free CG
#            ($P2D_KSP Krylov iterations per step at most): s/it and peak memory per rank
#   p100d    100-D Poisson (norm_sq) 100-768-768-512-512-1 (P = 1,325,057), $P100D_POINTS
#            points, matrix-free CG, $P100D_IT iterations: s/it and peak memory per rank. Needs
#            several GB: it refuses to start with less than 12 GB available.
# Peak memory is each rank's maximum resident set (GNU time's %M). NP ranks (default 2).
cd "$(dirname "$0")/.." || exit 1
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
NP=${NP:-2}
PYTHON=${PYTHON:-$(scripts/find-python.sh)}
DEFAULT_IT=${DEFAULT_IT:-100}
CG_DEFAULT=${CG_DEFAULT:-"-engd_damping 1e-10 -engd_ksp_max_it 300 -engd_nystrom_rank 60"}
P2D_KSP=${P2D_KSP:-10}
P100D_IT=${P100D_IT:-2}
P100D_POINTS=${P100D_POINTS:-"-n_interior 100 -n_boundary 50"}
OUT=${OUT:-$(mktemp -d)}
sections=$(echo "${1:-all}" | tr ',' ' ')
[ "$sections" = all ] && sections="default p2d p100d"

# run NAME [options...]: bin/engd on NP ranks under GNU time; prints the SUMMARY's figures and
# the largest peak resident set over the ranks
run() {
  name=$1; shift
  # shellcheck disable=SC2086
  scripts/mpirun.sh -n "$NP" /usr/bin/time -f "peak_kb %M" bin/engd -quiet -output "$OUT/$name.h5" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" || { echo "$name: failed"; tail -n 3 "$OUT/$name.err"; return 1; }
  peak=$(sed -n 's/^peak_kb //p' "$OUT/$name.err" | sort -n | tail -n 1)
  "$PYTHON" - "$OUT/$name.h5" "$name" "$peak" "$(tail -n 1 "$OUT/$name.out")" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r"); h = f["history"]
summary = dict(kv.split("=") for kv in sys.argv[4].split()[1:])
r, its = h["rel_l2"][()], h["solve_iterations"][()][1:]
print("%-16s iterations %s  rel_l2 %.2e  rms %.2e  KSP its/step %.0f (max %.0f)  s/it %.3g  peak %.0f MB/rank"
      % (sys.argv[2], summary["iterations"], r[np.isfinite(r)][-1], h["rms"][()][np.isfinite(r)][-1], np.mean(its), np.max(its),
         float(summary["s_per_it"]), float(sys.argv[3]) / 1024))
PY
}

for s in $sections; do
  case $s in
    default)
      echo "== default job, -engd_gram cg $CG_DEFAULT, $DEFAULT_IT iterations, $NP ranks"
      for pc in none jacobi nystrom; do
        # shellcheck disable=SC2086
        run "default_$pc" -options_file configs/poisson2d.opts -max_it "$DEFAULT_IT" -engd_gram cg $CG_DEFAULT -engd_pc_type $pc
      done ;;
    p2d)
      echo "== 2-D Poisson 2-256-256-128-128-1 (P = 116,097), 900 + 120 points, matrix-free, -engd_ksp_max_it $P2D_KSP"
      run p2d -options_file configs/poisson2d.opts -net_hidden 256,256,128,128 -engd_gram cg -engd_matrix_free -engd_damping 1e-6 -engd_ksp_max_it "$P2D_KSP" -max_it 5 -eval_every 5 -n_eval 1000 ;;
    p100d)
      avail=$(awk '/MemAvailable/ {print int($2 / 1048576)}' /proc/meminfo)
      if [ "$avail" -lt 12 ]; then echo "p100d: only $avail GB available, not started"; continue; fi
      echo "== 100-D Poisson 100-768-768-512-512-1 (P = 1,325,057), $P100D_POINTS, matrix-free, block 16, $P100D_IT iterations"
      # shellcheck disable=SC2086
      run p100d -problem poisson -dim 100 -solution norm_sq $P100D_POINTS -sampler uniform -net_hidden 768,768,512,512 -net_block_size 16 -engd_gram cg -engd_matrix_free -engd_damping 1e-6 -engd_ksp_max_it 5 -max_it "$P100D_IT" -eval_every "$P100D_IT" -n_eval 200 ;;
    *) echo "bench/cg.sh: unknown section '$s' (default, p2d, p100d)"; exit 1 ;;
  esac
done
