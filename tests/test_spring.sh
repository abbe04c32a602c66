#!/bin/sh
# SPRING (-optimizer spring, src/optim/spring.c) and ENGD with the kernel solver (-engd_gram kernel):
#   - SPRING with -spring_momentum 0 is kernel ENGD with the same damping and fixed cut-off:
#     the same history (loss, rel_l2, rel_h1, eta) and parameters, bitwise (2 ranks);
#   - with momentum (the default 0.99, bias-corrected), restarted from an intermediate
#     checkpoint on the same 2 ranks, SPRING continues bitwise (phi and its step count are
#     optimizer state), under the line search and under the fixed capped step;
#   - SPRING's default lowers the loss of the small job 100-fold in 30 iterations;
#   - kernel ENGD agrees with dense (replicated) ENGD on the first iterations of a job with
#     fewer rows than parameters (fixed cut-off 1e-8, damping: 1e-8 relative);
#   - deep Ritz (energy terms, configs/ritz_poisson2d.opts on 100 + 40 points, damping 1e-3):
#     the kernel's push-through solve follows the dense damped Cholesky run (rcond 0) to 1e-8
#     over 5 iterations.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
test_setup spring h5py

# 2-64-1 (P = 257) on 100 + 40 grid points: N = 140 < P
SMALL="-options_file configs/poisson2d.opts -n_interior 100 -n_boundary 40 -n_eval 400 -quiet"
FIXED="-engd_adaptive_rcond 0"
FIELDS="--fields loss,rel_l2,rel_h1,eta --params"

echo "== SPRING with momentum 0 = kernel ENGD, bitwise"
# shellcheck disable=SC2086
if engd_ranks 2 kernel_engd $SMALL -max_it 20 -engd_gram kernel -engd_damping 1e-6 -engd_rcond 1e-10 $FIXED &&
  engd_ranks 2 spring_mu0 $SMALL -max_it 20 -optimizer spring -spring_momentum 0 -spring_damping 1e-6 -spring_rcond 1e-10; then
  compare_histories "SPRING mu = 0 vs kernel ENGD" 0 $FIELDS "$T/kernel_engd.h5" "$T/spring_mu0.h5"
fi

echo "== kernel ENGD = dense ENGD (first 3 iterations, 1e-8)"
# shellcheck disable=SC2086
if engd_ranks 2 dense_engd $SMALL -max_it 3 -engd_gram replicated -engd_damping 1e-4 -engd_rcond 1e-8 $FIXED &&
  engd_ranks 2 kernel_short $SMALL -max_it 3 -engd_gram kernel -engd_damping 1e-4 -engd_rcond 1e-8 $FIXED; then
  compare_histories "kernel vs dense ENGD" 1e-8 $FIELDS "$T/dense_engd.h5" "$T/kernel_short.h5"
fi

echo "== deep Ritz: kernel push-through = dense damped Cholesky (5 iterations, 1e-8)"
RITZ="-options_file configs/ritz_poisson2d.opts -n_interior 100 -n_boundary 40 -max_it 5 -n_eval 400 -engd_solve cholesky -engd_rcond 0"
# shellcheck disable=SC2086
if engd_ranks 2 ritz_dense $RITZ -engd_gram replicated && engd_ranks 2 ritz_kernel $RITZ -engd_gram kernel; then
  compare_histories "deep Ritz, kernel vs dense" 1e-8 $FIELDS "$T/ritz_dense.h5" "$T/ritz_kernel.h5"
fi

echo "== SPRING (defaults) lowers the loss 100-fold in 30 iterations"
# shellcheck disable=SC2086
if engd_ranks 2 spring_default $SMALL -max_it 30 -optimizer spring; then
  check_cmd "SPRING: 100-fold lower loss" "$PYTHON" - "$T/spring_default.h5" <<'PY'
import sys, h5py
loss = h5py.File(sys.argv[1], "r")["history/loss"][()]
print("SPRING loss %.3g -> %.3g" % (loss[0], loss[-1]))
sys.exit(0 if loss[-1] <= 1e-2 * loss[0] else 1)
PY
fi

for step in linesearch fixed; do
  echo "== SPRING (momentum 0.99, -spring_step $step) restarted from ckpt-6 on 2 ranks: bitwise"
  # shellcheck disable=SC2086
  if engd_plain 2 spring_${step}_full $SMALL -max_it 12 -optimizer spring -spring_step $step -checkpoint_every 6 -checkpoint_dir "$T/ck_$step" -output "$T/spring_${step}_full.h5"; then
    engd_plain 2 spring_${step}_restart $SMALL -max_it 12 -optimizer spring -spring_step $step -checkpoint_dir "$T/ck_${step}_re" -restart "$T/ck_$step/ckpt-00000006.h5" -output "$T/spring_${step}_restart.h5" &&
      compare_histories "SPRING ($step) restart" 0 $FIELDS "$T/spring_${step}_full.h5" "$T/spring_${step}_restart.h5"
    check_cmd "SPRING ($step) checkpoint holds phi and step" "$PYTHON" - "$T/ck_$step/ckpt-00000006.h5" <<'PY'
import sys, h5py
o = h5py.File(sys.argv[1], "r")["optimizer"]
ok = o["phi"].shape == (257,) and o["step"][0] == 6 and abs(o["phi"][()]).max() > 0
print("  ckpt-6: |phi|_max %.3g, step %d" % (abs(o["phi"][()]).max(), o["step"][0]))
sys.exit(0 if ok else 1)
PY
  fi
done

test_finish
