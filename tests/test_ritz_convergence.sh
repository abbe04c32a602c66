#!/bin/sh
# Deep Ritz with ENGD (energy terms, the energy Gram matrix as weighted rows):
#   - ritz1d (configs/ritz1d.opts: 20,000 trapezoid nodes, 1-32-1 network) on 2 ranks reaches
#     rel_l2 <= 1e-7 in the config's 30 iterations (measured 6.5e-9 from iteration 18 on);
#   - ritz_poisson 2-D (configs/ritz_poisson2d.opts) on 2 ranks lowers rel_l2 at least 100-fold
#     to <= 5e-3 in 100 iterations (measured 1.15 -> 2.4e-3, the penalty/sampling limit);
#   - over 1,000 iterations of it (stratified points drawn anew each iteration) the error, every
#     10 iterations from iteration 100 on, never exceeds 4x its best so far, and ends <= 5e-3
#     (measured: a band of 1.4e-3..3.0e-3 without trend, the sampling noise of the steps: best
#     1.37e-3, at most 2.95x the best so far, last 1.83e-3; on the fixed grid it grows, 2.1 by
#     iteration 3,362);
#   - both give bitwise the same history and parameters on 1 and 3 ranks (double-double sums
#     over fixed chunks; ritz1d 20 iterations, ritz_poisson 30).
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
test_setup ritz_convergence h5py

echo "== ritz1d (configs/ritz1d.opts), 2 ranks"
if engd_ranks 2 ritz1d -options_file configs/ritz1d.opts; then
  check_le "ritz1d rel_l2 after $(summary_field iterations) iterations" "$(summary_field rel_l2)" 1e-7
fi

echo "== ritz_poisson 2-D (configs/ritz_poisson2d.opts), 2 ranks"
if engd_ranks 2 ritz_poisson -options_file configs/ritz_poisson2d.opts; then
  check_le "ritz_poisson rel_l2 after $(summary_field iterations) iterations" "$(summary_field rel_l2)" 5e-3
  check_cmd "ritz_poisson: 100-fold lower rel_l2" "$PYTHON" - "$T/ritz_poisson.h5" <<'PY'
import sys, h5py
rel = h5py.File(sys.argv[1], "r")["history/rel_l2"][()]
print("ritz_poisson rel_l2 %.3g -> %.3g" % (rel[0], rel[-1]))
if not rel[-1] <= 1e-2 * rel[0]:
    print("FAIL: ritz_poisson did not lower rel_l2 100-fold"); sys.exit(1)
print("ok: ritz_poisson rel_l2 lowered %.0f-fold" % (rel[0] / rel[-1]))
PY
fi

echo "== ritz_poisson 2-D over 1,000 iterations: no over-fitting, 2 ranks"
engd_timeout=900
if engd_ranks 2 ritz_long -options_file configs/ritz_poisson2d.opts -max_it 1000 -eval_every 10 -monitor_every 100; then
  check_le "ritz_poisson rel_l2 after 1000 iterations" "$(summary_field rel_l2)" 5e-3
  check_cmd "ritz_poisson: error within 4x its best from iteration 100 on" "$PYTHON" - "$T/ritz_long.h5" <<'PY'
import sys, h5py, math
h = h5py.File(sys.argv[1], "r")["history"]
it, rel = h["iteration"][()], h["rel_l2"][()]
pairs = [(i, r) for i, r in zip(it, rel) if i >= 100 and not math.isnan(r)]
best, worst = float("inf"), 0.0
for i, r in pairs:
    best = min(best, r)
    worst = max(worst, r / best)
print("ritz_poisson over %d evaluations from iteration 100: best %.3g, at most %.2fx the best so far, last %.3g" % (len(pairs), best, worst, pairs[-1][1]))
if len(pairs) < 90 or not worst <= 4.0:
    print("FAIL: ritz_poisson's error grew past 4x its best"); sys.exit(1)
print("ok: ritz_poisson's error stays within 4x its best")
PY
fi
engd_timeout=60

echo "== 1 vs 3 ranks, bitwise"
for n in 1 3; do
  engd_ranks $n ritz1d_n$n -options_file configs/ritz1d.opts -max_it 20 -engd_gram replicated
  engd_ranks $n poisson_n$n -options_file configs/ritz_poisson2d.opts -max_it 30 -engd_gram replicated
done
if [ $fail = 0 ]; then
  compare_histories "ritz1d 1 vs 3 ranks" 0 --params "$T/ritz1d_n1.h5" "$T/ritz1d_n3.h5"
  compare_histories "ritz_poisson 1 vs 3 ranks" 0 --params "$T/poisson_n1.h5" "$T/poisson_n3.h5"
fi

test_finish
