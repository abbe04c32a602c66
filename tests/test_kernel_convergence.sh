#!/bin/sh
# Convergence with the kernel solver (-engd_gram kernel): a small 5-D Poisson (configs/poisson5d.opts
# with 300 + 100 uniform points resampled every iteration, 5-64-1, P = 449 > N = 400), 200 ENGD
# iterations, reaches the dense (replicated) run's error: rel_l2 at most twice the dense run's
# and <= 2e-2 (measured: dense 1.0e-2; kernel 1.1e-4 on 1 rank, 1.7e-3 on 2 ranks; the runs are
# chaotic, so they agree in the error level, not in the digits), on 1 and 2 ranks; SPRING (the
# defaults) on the same job reaches <= 5e-2 (measured 3.9e-3).
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
test_setup kernel_convergence

# the cut-off the config set before the continuation's raise replaced it (this test compares solvers)
JOB="-options_file configs/poisson5d.opts -n_interior 300 -n_boundary 100 -max_it 200 -n_eval 2000 -engd_rcond 1e-10 -engd_rcond_min 1e-12"
# the same job without ENGD's options (the config's cut-offs), for SPRING
SPRING_JOB="-problem poisson -dim 5 -solution cos_sum -net_hidden 64 -sampler uniform -resample_every 1 -n_interior 300 -n_boundary 100 -max_it 200 -n_eval 2000"
# shellcheck disable=SC2086
# The dense reference is the kernel's own pseudo-inverse, unrefined (-gram_refine 0; dsyevd, as the
# figures above were measured): refined from the rows it reaches 1.9e-4 here, a different method.
if engd_ranks 2 dense $JOB -engd_gram replicated -gram_eigensolver syevd -gram_refine 0; then
  dense=$(summary_field rel_l2)
  bound=$("$PYTHON" -c 'import sys; print("%.3e" % min(2e-2, 2 * float(sys.argv[1])))' "$dense")
  for n in 1 2; do
    # shellcheck disable=SC2086
    engd_ranks $n kernel_n$n $JOB -engd_gram kernel && check_le "kernel ENGD on $n ranks: rel_l2 vs 2 x dense ($dense)" "$(summary_field rel_l2)" "$bound"
  done
  # shellcheck disable=SC2086
  engd_ranks 2 spring $SPRING_JOB -optimizer spring && check_le "SPRING on 2 ranks: rel_l2" "$(summary_field rel_l2)" 5e-2
fi
test_finish
