#!/bin/sh
# Communication counters (include/engd/commcount.h) against the model (bench/commmodel.py): the
# bytes rank 0 sends in each step, recorded in the history's comm_bytes column, must equal the
# model's count for every back-end whose traffic is all engd's own (replicated, cg), on 1 to 8
# ranks (more ranks than cores: oversubscribed), given the step's line-search candidates and
# Krylov iterations from the history (and the replicated solver's refinement steps, -gram_refine,
# one P-vector reduction each). ScaLAPACK's BLACS messages come on top of engd's own in
# the scalapack and kernel back-ends: there the count must be at least engd's own and within
# 35 % of the model with the library's traffic (a fit, bench/commmodel.py library_traffic).
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
test_setup comm h5py

# steps FILE: per step after the start, "comm_bytes ls_candidates krylov_products" (cg tries
# the warm start, one more product, from the second step on)
steps() {
  "$PYTHON" - "$1" <<'EOF'
import sys, h5py, math
h = h5py.File(sys.argv[1], "r")["history"]
its = h["solve_iterations"][()]
for i in range(1, len(h["comm_bytes"])):
    k = 0 if math.isnan(its[i]) or its[i] == 0 else int(its[i]) + (1 if i > 1 else 0)
    print("%.17g %d %d" % (h["comm_bytes"][i], int(h["ls_candidates"][i]), k))
EOF
}

# check_model BACKEND RANKS exact|library P N [options...]
check_model() {
  backend=$1; n=$2; how=$3; P=$4; N=$5; shift 5
  name="${backend}_n$n${REFINE:+_refine$REFINE}"
  engd_ranks "$n" "$name" "$@" -max_it 3 -engd_gram "$backend" || return
  steps "$T/$name.h5" >"$T/$name.steps"
  check_cmd "$backend on $n ranks: 3 steps counted" [ "$(wc -l <"$T/$name.steps")" = 3 ]
  while read -r got ls products; do
    [ "$backend" = replicated ] && products=${REFINE:-0} # its refinement steps: one J~^T s each
    own=$(bench/commmodel.py bytes "$backend" "$P" "$N" "$n" "$ls" "$products")
    if [ "$how" = exact ]; then
      check_cmd "$backend on $n ranks: $got bytes per step, the model says $own" "$PYTHON" -c 'import sys; g, w = map(float, sys.argv[1:]); sys.exit(abs(g - w) > 1e-9 * max(w, 1))' "$got" "$own"
    else
      total=$(bench/commmodel.py total "$backend" "$P" "$N" "$n" "$ls" "$products")
      check_cmd "$backend on $n ranks: $got bytes per step, below engd's own $own" float_le "$own" "$got"
      check_cmd "$backend on $n ranks: $got bytes per step, the model with ScaLAPACK's says $total" "$PYTHON" -c 'import sys; g, w = map(float, sys.argv[1:]); sys.exit(abs(g - w) > 0.35 * w)' "$got" "$total"
    fi
  done <"$T/$name.steps"
}

DEFAULT="-engd_rcond 1e-4"                                        # P = 257, N = 1020
WIDE="-options_file configs/poisson100d.opts -n_interior 200 -n_boundary 200" # P = 817, N = 400
echo "== replicated Gram: engd's collectives only, exact (with 2 refinement steps, the default, and without)"
for n in 1 2 3 4 5 8; do REFINE=2 check_model replicated $n exact 257 1020 $DEFAULT -gram_refine 2; done
for n in 2 5; do REFINE=0 check_model replicated $n exact 257 1020 $DEFAULT -gram_refine 0; done
echo "== cg on the stored rows, and matrix-free: exact"
for n in 1 2 3 5; do check_model cg $n exact 257 1020 $DEFAULT -engd_damping 1e-8 -engd_ksp_max_it 40; done
check_model cg 3 exact 257 1020 $DEFAULT -engd_damping 1e-8 -engd_ksp_max_it 40 -engd_matrix_free
echo "== ScaLAPACK Gram and the kernel: engd's messages plus BLACS"
for n in 2 3 4 8; do check_model scalapack $n library 257 1020 $DEFAULT; done
for n in 2 3 4; do check_model kernel $n library 817 400 $WIDE; done

echo "== the summary's Communication line"
engd_run 2 summary_line -max_it 2
check_cmd "no Communication line in the output" grep -q '^Communication per iteration (most on any rank): [0-9.]* KiB sent' "$T/summary_line.out"
test_finish
