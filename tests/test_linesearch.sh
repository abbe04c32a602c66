#!/bin/sh
# The bracket line search in the driver (README, "Line search"):
#   - the default job with -ls_type bracket on 1, 2 and 3 ranks: bitwise equal histories (loss,
#     rel_l2, eta, ls_candidates) and parameters;
#   - restart bitwise: 30 iterations straight vs 10 + a restart from ckpt-10 (whose
#     /optimizer/linesearch holds the k of iteration 10's step); the candidates column shows the
#     restarted search starts from that k, not from -ls_bracket_start;
#   - a checkpoint of a grid run does not fit a bracket run: refused with one line naming
#     /optimizer/linesearch;
#   - the bracket takes the grid's steps on the default job (60 iterations: the same eta and
#     loss history) with fewer candidates.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
test_setup linesearch h5py fresh
JOB="-options_file configs/poisson2d.opts -monitor_every 0"
FIELDS="--fields loss,rel_l2,eta,ls_candidates --params"

echo "== bracket, default job, 60 iterations on 1, 2 and 3 ranks: bitwise"
ok=1
# shellcheck disable=SC2086
for n in 1 2 3; do engd_ranks $n bracket_n$n $JOB -max_it 60 -ls_type bracket || ok=0; done
# shellcheck disable=SC2086
[ $ok = 1 ] && compare_histories "bracket 1 vs 2, 3 ranks, bitwise" 0 $FIELDS "$T/bracket_n1.h5" "$T/bracket_n2.h5" "$T/bracket_n3.h5"

echo "== bracket restarted from ckpt-10 (2 ranks): bitwise"
# shellcheck disable=SC2086
if engd_plain 2 full $JOB -max_it 30 -ls_type bracket -checkpoint_every 10 -checkpoint_dir "$T/ck" -checkpoint_keep 3 -output "$T/full.h5" &&
  engd_plain 2 restart $JOB -max_it 30 -ls_type bracket -checkpoint_dir "$T/ck_re" -restart "$T/ck/ckpt-00000010.h5" -output "$T/restart.h5"; then
  compare_histories "bracket restart, 2 ranks, bitwise" 0 $FIELDS "$T/full.h5" "$T/restart.h5"
  check_cmd "ckpt-10's /optimizer/linesearch is not the k of iteration 10's step" "$PYTHON" - "$T/ck/ckpt-00000010.h5" "$T/full.h5" <<'EOF'
import sys, math, h5py
c, r = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
k = c["optimizer/linesearch"][()]
eta = r["history/eta"][10]
print("  ckpt-10: /optimizer/linesearch = %s, eta of iteration 10 = 2^-%g" % (list(k), -math.log2(eta)))
sys.exit(0 if len(k) == 1 and eta > 0 and k[0] == -math.log2(eta) and k[0] > 0 else 1)
EOF
fi

echo "== a grid checkpoint restarted with -ls_type bracket: refused"
# shellcheck disable=SC2086
if engd_plain 2 grid_ck $JOB -max_it 4 -ls_type grid -checkpoint_every 4 -checkpoint_dir "$T/gck" -output "$T/grid_ck.h5"; then
  # shellcheck disable=SC2086
  engd_refused grid_to_bracket 'optimizer/linesearch' 2 $JOB -max_it 8 -ls_type bracket -checkpoint_dir "$T/gck_re" -restart "$T/gck/ckpt-00000004.h5"
fi

echo "== bracket vs grid on the default job, 60 iterations: the same steps, fewer candidates"
# shellcheck disable=SC2086
if engd_ranks 2 grid $JOB -max_it 60 -ls_type grid; then
  compare_histories "bracket = grid (eta, loss), bitwise" 0 --fields loss,eta,rel_l2 --params "$T/grid.h5" "$T/bracket_n2.h5"
  check_cmd "the bracket did not evaluate fewer candidates than the grid" "$PYTHON" - "$T/grid.h5" "$T/bracket_n2.h5" <<'EOF'
import sys, h5py
g, b = (h5py.File(f, "r")["history/ls_candidates"][1:] for f in sys.argv[1:3])
print("  candidates per iteration: grid %.1f, bracket %.1f (at most %d)" % (g.mean(), b.mean(), b.max()))
sys.exit(0 if g.min() == 31 and b.mean() < 12 else 1)
EOF
fi

test_finish
