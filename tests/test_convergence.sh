#!/bin/sh
# Convergence of the driver on 2 ranks:
#   - ENGD on the default job reaches rel_l2 <= 3e-7 in its 200 iterations (measured 5.5e-8 with
#     the default solve, dsytrd + dstedc and two refinement steps; dsyevd alone ended at 2.1e-6,
#     crawling near 2e-6 until iteration 307 with OpenBLAS's SkylakeX kernels) and <= 1e-6
#     within 1000 (-stop_rel_l2; seed 0 needs 49 iterations);
#   - Gauss-Newton CG (-engd_gram cg, Nystrom preconditioner) reaches rel_l2 <= 2e-5 in 100
#     iterations; matrix-free on 1 and 3 ranks it gives the same history bit for bit;
#   - Adam (lr 1e-3, same 100 iterations) is far behind: rel_l2 at least 100x ENGD's;
#   - GD with the line search decreases /history/loss monotonically over 30 iterations;
#   - 1-D Poisson (30 + 2 points, 1-16-1 network) reaches rel_l2 < 1e-5 in the same 50 iterations;
#   - 5-D cos_sum on resampled uniform points (500 + 200) runs 20 iterations with finite values
#     and decreases the loss (final < 0.9 x initial; resampling makes it non-monotone).
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
test_setup convergence h5py

NP=2

echo "== ENGD, default job (configs/poisson2d.opts), $NP ranks"
engd_short=""
if engd_ranks $NP engd200 -options_file configs/poisson2d.opts; then
  check_le "ENGD rel_l2 after the default job's 200 iterations" "$(summary_field rel_l2)" 3e-7
fi
if engd_ranks $NP engd100 -options_file configs/poisson2d.opts -max_it 100; then
  engd_short=$(summary_field rel_l2)
  check_le "ENGD rel_l2 after 100 iterations" "$engd_short" 1e-5
fi
if engd_ranks $NP engd_full -options_file configs/poisson2d.opts -max_it 1000 -stop_rel_l2 1e-6 -eval_every 10; then
  check_le "ENGD rel_l2 within 1000 iterations (stopped at $(summary_field iterations))" "$(summary_field rel_l2)" 1e-6
fi

# Matrix-free-capable Gauss-Newton CG with a fixed small damping and the Nystrom preconditioner
# (rank 60): seed 0 reaches 9.1e-6 at 100 iterations (1e-5 first at 98); the Krylov products
# are rank-count independent, so 1 and 3 ranks give the same history bit for bit.
CG="-engd_gram cg -engd_damping 1e-10 -engd_ksp_max_it 300 -engd_pc_type nystrom -engd_nystrom_rank 60"
echo "== CG ($CG), default job, 100 iterations"
# shellcheck disable=SC2086
if engd_ranks $NP cg100 -options_file configs/poisson2d.opts -max_it 100 $CG; then
  check_le "CG rel_l2 after 100 iterations" "$(summary_field rel_l2)" 2e-5
fi
# shellcheck disable=SC2086
if engd_ranks 1 cg_n1 -options_file configs/poisson2d.opts -max_it 25 $CG -engd_matrix_free && engd_ranks 3 cg_n3 -options_file configs/poisson2d.opts -max_it 25 $CG -engd_matrix_free; then
  compare_histories "CG matrix-free, 1 vs 3 ranks" 0 --fields loss,rel_l2,eta,solve_iterations,solve_reason --params "$T/cg_n1.h5" "$T/cg_n3.h5"
fi

echo "== Adam, lr 1e-3, 100 iterations"
if [ -f configs/poisson2d_adam.opts ]; then adam_opts="-options_file configs/poisson2d_adam.opts -max_it 100"
else adam_opts="-options_file configs/poisson2d.opts -optimizer adam -adam_lr 1e-3 -max_it 100"; fi
# shellcheck disable=SC2086
if engd_ranks $NP adam100 $adam_opts && [ -n "$engd_short" ]; then
  adam=$(summary_field rel_l2)
  ratio=$("$PYTHON" -c 'import sys; print("%.3g" % (float(sys.argv[1]) / float(sys.argv[2])))' "$adam" "$engd_short")
  bound=$("$PYTHON" -c 'import sys; print("%.6e" % (100 * float(sys.argv[1])))' "$engd_short")
  if float_le "$bound" "$adam"; then ok "Adam rel_l2 $adam is ${ratio}x ENGD's $engd_short (>= 100x)"
  else FAILED "Adam rel_l2 $adam is only ${ratio}x ENGD's $engd_short (want >= 100x)"; fi
fi

echo "== Hilbert NGD (configs/poisson2d_hngd.opts), 100 iterations: trains, but far behind ENGD"
if engd_ranks $NP hngd100 -options_file configs/poisson2d_hngd.opts -max_it 100 && [ -n "$engd_short" ]; then
  check_cmd "H-NGD trains, 1000x behind ENGD" "$PYTHON" - "$T/hngd100.h5" "$engd_short" <<'EOF'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
loss, rel = f["history/loss"][()], f["history/rel_l2"][()]
print("H-NGD loss %.4g -> %.4g, rel_l2 %.3g; ENGD's rel_l2 %s" % (loss[0], loss[-1], rel[-1], sys.argv[2]))
if not loss[-1] < 0.1 * loss[0]:
    print("FAIL: H-NGD did not lower the loss tenfold"); sys.exit(1)
if not rel[-1] > 1000 * float(sys.argv[2]):
    print("FAIL: H-NGD is not 1000x behind ENGD"); sys.exit(1)
print("ok: H-NGD trains and stays >= 1000x behind ENGD")
EOF
fi

echo "== GD with line search, 30 iterations: monotone loss"
if engd_ranks $NP gd30 -options_file configs/poisson2d.opts -optimizer gd -max_it 30; then
  check_cmd "GD loss non-increasing" "$PYTHON" - "$T/gd30.h5" <<'EOF'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
loss = f["history/loss"][()]
steps = np.diff(loss)
worst = int(np.argmax(steps))
print("GD loss %.4g -> %.4g over %d iterations, largest change %+.2e (iteration %d -> %d)"
      % (loss[0], loss[-1], len(loss) - 1, steps[worst], worst, worst + 1))
if len(loss) != 31:
    print("FAIL: expected 31 history entries, got %d" % len(loss)); sys.exit(1)
if not np.all(np.isfinite(loss)):
    print("FAIL: non-finite loss in the GD history"); sys.exit(1)
if np.any(steps > 0):
    bad = np.nonzero(steps > 0)[0]
    print("FAIL: the GD loss increased at iterations %s" % ", ".join("%d->%d" % (i, i + 1) for i in bad)); sys.exit(1)
if not loss[-1] < 0.5 * loss[0]:
    print("FAIL: GD did not make progress"); sys.exit(1)
print("ok: GD loss non-increasing")
EOF
fi

echo "== 1-D Poisson, 30 + 2 points, 1-16-1 network, 50 iterations (the short budget)"
if engd_ranks $NP d1 -options_file configs/poisson2d.opts -dim 1 -n_interior 30 -n_boundary 2 -net_hidden 16 -max_it 50; then
  check_le "1-D ENGD rel_l2 after 50 iterations" "$(summary_field rel_l2)" 1e-5
fi

# The check is about the 5-D, resampled code path; the start-up of ENGD there is not: from this
# initialisation the default cut-off (1e-13) only finds steps of 1e-6..1e-4 in 20 iterations,
# so the run uses a cut-off of 1e-6 (which reaches a loss of about 1e-4).
echo "== 5-D cos_sum, uniform points resampled every 5 iterations, 20 iterations, -engd_rcond 1e-6"
if engd_ranks $NP d5 -options_file configs/poisson2d.opts -dim 5 -sampler uniform -resample_every 5 -solution cos_sum -n_interior 500 -n_boundary 200 -max_it 20 -engd_rcond 1e-6; then
  check_cmd "5-D loss decreased" "$PYTHON" - "$T/d5.h5" <<'EOF'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
loss, rel = f["history/loss"][()], f["history/rel_l2"][()]
print("5-D loss %.4g -> %.4g, rel_l2 %.3g -> %.3g over %d iterations" % (loss[0], loss[-1], rel[0], rel[-1], len(loss) - 1))
if not (np.all(np.isfinite(loss)) and np.all(np.isfinite(rel))):
    print("FAIL: non-finite values in the 5-D history"); sys.exit(1)
if not loss[-1] < 0.9 * loss[0]:
    print("FAIL: the 5-D loss did not decrease (want final < 0.9 x initial)"); sys.exit(1)
print("ok: 5-D loss decreased")
EOF
fi

test_finish
