#!/bin/sh
# Checkpoints and restarts (include/engd/checkpoint.h, README "Checkpoint and restart"):
#   - -checkpoint_every 4 -checkpoint_keep 2: only the newest two files remain, no .tmp;
#   - restart from an intermediate checkpoint on the same rank count continues BITWISE like the
#     uninterrupted run (history loss, rel_l2, rel_h1, eta and final parameters), ENGD with its
#     cut-off continuation and Adam on resampled uniform points (moments, step count, epoch);
#   - CG (-engd_gram cg with adaptive damping, warm start and the Nystrom preconditioner)
#     restarted from a checkpoint continues bitwise on 2 ranks, and matrix-free on 3 ranks
#     (damping, Krylov iterations and reasons too); its damping does change;
#   - restart on 3 ranks (well-conditioned ENGD) and 1 rank (Adam) from 2-rank checkpoints
#     agrees to 1e-10;
#   - -restart latest skips a corrupt newest file with a warning and never picks a .tmp
#     (starting fresh in an empty directory: tests/test_interrupt.sh);
#   - refused with one "engd: error:" line naming the file, exit 1: random bytes, a truncated
#     file, another network, another optimizer, a wrong format version, a results file, a
#     missing file.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
test_setup checkpoint h5py

# A small, fast job (2-16-1, 140 points) that still moves in every iteration.
SMALL="-options_file configs/poisson2d.opts -n_interior 100 -n_boundary 40 -net_hidden 16 -n_eval 400 -quiet"
# compare LABEL TOL FILES...: the histories (loss, rel_l2, rel_h1, eta) and the parameters agree
compare() {
  label=$1; tol=$2; shift 2
  compare_histories "$label" "$tol" --fields loss,rel_l2,rel_h1,eta --params "$@"
}

echo "== -checkpoint_every 4 -checkpoint_keep 2, 12 iterations: ckpt-8 and ckpt-12 remain"
# shellcheck disable=SC2086
engd_plain 2 engd_full $SMALL -max_it 12 -checkpoint_every 4 -checkpoint_dir "$T/engd" -output "$T/engd_full.h5"
files=$(cd "$T/engd" 2>/dev/null && ls -a | grep -v '^\.*$' | grep -v '^\.engd-lock$' | tr '\n' ' ')
check_cmd "checkpoint directory holds '$files'" [ "$files" = "ckpt-00000008.h5 ckpt-00000012.h5 " ]
check_cmd "checkpoint layout" "$PYTHON" - "$T/engd/ckpt-00000008.h5" "$T/engd_full.h5" <<'EOF'
import sys, h5py, numpy as np
c, r = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
a = c.attrs
errors = []
def check(cond, what):
    if not cond: errors.append(what)
check(a["format"] in (b"engd-checkpoint", "engd-checkpoint") and int(a["format_version"]) == 2 and len(a["run_id"]) == 16, "format attributes %r" % dict(a))
check(int(a["iteration"]) == 8 and int(a["failures"]) == 0 and float(a["step_time"]) > 0, "iteration/failures/step_time %r" % dict(a))
check(list(c["history/iteration"][()]) == list(range(9)), "history rows")
for name in ("loss", "rel_l2", "eta", "wall_s"):
    check(np.array_equal(c["history/" + name][()], r["history/" + name][:9]), "history/%s differs from the run's first 9 rows" % name)
check(list(c["model/widths"][()]) == [2, 16, 1] and c["model/parameters"].shape == (65,), "model")
check(c["optimizer"].attrs["type"] in (b"engd", "engd") and c["optimizer/rcond"].shape == (1,) and c["optimizer/iteration"][0] == 8, "optimizer state")
check(c["problem"].attrs["type"] in (b"poisson", "poisson") and int(c["problem"].attrs["dim"]) == 2, "problem")
check("-checkpoint_every 4" in c["options"].attrs["text"].decode(), "options text")
check(all(k in c["sampler"].attrs for k in ("type", "seed", "resample_every", "epoch")), "sampler attributes")
check(c["model/parameters"].fletcher32 and c["history/loss"].fletcher32, "Fletcher-32 checksums on the datasets")
check(b"term interior" in bytes(c["problem"].attrs["description"]), "problem description")
print("  ckpt-8: rcond %.1e, %d history rows, groups %s" % (c["optimizer/rcond"][0], c["history/iteration"].size, sorted(c.keys())))
for e in errors: print("  FAIL: " + e)
sys.exit(1 if errors else 0)
EOF

echo "== ENGD (default settings) restarted from ckpt-8 on the same 2 ranks: bitwise"
# shellcheck disable=SC2086
engd_plain 2 engd_restart $SMALL -max_it 12 -checkpoint_dir "$T/engd_re" -restart "$T/engd/ckpt-00000008.h5" -output "$T/engd_restart.h5" &&
  compare "ENGD restart, 2 ranks" 0 "$T/engd_full.h5" "$T/engd_restart.h5"

ADAM="-optimizer adam -adam_lr 1e-2 -sampler uniform -resample_every 3"
echo "== Adam on uniform points resampled every 3 iterations, restarted from ckpt-7 (2 ranks): bitwise"
# shellcheck disable=SC2086
if engd_plain 2 adam_full $SMALL $ADAM -max_it 12 -checkpoint_every 7 -checkpoint_dir "$T/adam" -output "$T/adam_full.h5"; then
  engd_plain 2 adam_restart $SMALL $ADAM -max_it 12 -checkpoint_dir "$T/adam_re" -restart "$T/adam/ckpt-00000007.h5" -output "$T/adam_restart.h5" &&
    compare "Adam restart, 2 ranks" 0 "$T/adam_full.h5" "$T/adam_restart.h5"
  engd_plain 1 adam_restart_n1 $SMALL $ADAM -max_it 12 -checkpoint_dir "$T/adam_re1" -restart "$T/adam/ckpt-00000007.h5" -output "$T/adam_restart_n1.h5" &&
    compare "Adam restart on 1 rank" 1e-10 "$T/adam_full.h5" "$T/adam_restart_n1.h5"
fi

# Sums are rank-count independent (src/sys/ddsum.c), so even the default settings (cut-off
# 1e-13 with continuation, which amplifies any last-bit difference) restart on another rank count.
echo "== ENGD (default settings) restarted on 3 ranks from a 2-rank checkpoint: 1e-10"
# shellcheck disable=SC2086
if engd_plain 2 other_full $SMALL -max_it 12 -checkpoint_every 6 -checkpoint_dir "$T/other" -output "$T/other_full.h5"; then
  engd_plain 3 other_restart_n3 $SMALL -max_it 12 -checkpoint_dir "$T/other_re3" -restart "$T/other/ckpt-00000006.h5" -output "$T/other_restart_n3.h5" &&
    compare "ENGD restart on 3 ranks" 1e-10 "$T/other_full.h5" "$T/other_restart_n3.h5"
fi

# The Krylov solver's state (adapted damping, the previous direction of the warm start) is
# optimizer state; its products are rank-count independent, so even 3 ranks continue bitwise.
CG="-engd_gram cg -engd_damping 1e-4 -engd_damping_adapt -engd_ksp_max_it 40 -engd_pc_type nystrom -engd_nystrom_rank 8"
echo "== CG (adaptive damping, warm start, Nystrom) restarted from ckpt-5: bitwise on 2 ranks, matrix-free on 3"
# shellcheck disable=SC2086
if engd_plain 2 cg_full $SMALL $CG -max_it 10 -checkpoint_every 5 -checkpoint_dir "$T/cg" -output "$T/cg_full.h5"; then
  engd_plain 2 cg_restart $SMALL $CG -max_it 10 -checkpoint_dir "$T/cg_re" -restart "$T/cg/ckpt-00000005.h5" -output "$T/cg_restart.h5" &&
    compare_histories "CG restart, 2 ranks" 0 --fields loss,rel_l2,eta,damping,solve_iterations,solve_reason --params "$T/cg_full.h5" "$T/cg_restart.h5"
  check_cmd "CG: the damping did not adapt" "$PYTHON" -c 'import sys, h5py, numpy as np; d = h5py.File(sys.argv[1], "r")["history/damping"][1:]; print("  CG damping %s" % " ".join("%.2g" % x for x in d)); sys.exit(0 if len(set(d)) > 1 else 1)' "$T/cg_full.h5"
fi

# shellcheck disable=SC2086
if engd_plain 2 cg_mf_full $SMALL $CG -engd_matrix_free -max_it 10 -checkpoint_every 5 -checkpoint_dir "$T/cg_mf" -output "$T/cg_mf_full.h5"; then
  engd_plain 3 cg_mf_restart $SMALL $CG -engd_matrix_free -max_it 10 -checkpoint_dir "$T/cg_mf_re" -restart "$T/cg_mf/ckpt-00000005.h5" -output "$T/cg_mf_restart.h5" &&
    compare_histories "CG restart, matrix-free, 2 -> 3 ranks" 0 --fields loss,rel_l2,eta,damping,solve_iterations,solve_reason --params "$T/cg_mf_full.h5" "$T/cg_mf_restart.h5"
fi

echo "== -restart latest: a corrupt newest file is skipped, a .tmp is never used"
mkdir -p "$T/latest"
cp "$T/engd/ckpt-00000008.h5" "$T/latest/"
head -c 6000 /dev/urandom >"$T/latest/ckpt-00000010.h5"            # corrupt newest file
cp "$T/engd/ckpt-00000012.h5" "$T/latest/ckpt-00000011.h5.tmp"     # a complete file, but a .tmp
# shellcheck disable=SC2086
if engd_plain 2 latest $SMALL -max_it 12 -checkpoint_dir "$T/latest" -restart latest -output "$T/latest.h5"; then
  check_cmd "no warning about the corrupt ckpt-00000010.h5" grep -q "engd: warning: .*ckpt-00000010.h5" "$T/latest.err"
  check_cmd "want exactly one warning line" [ "$(grep -c 'engd: warning' "$T/latest.err")" = 1 ]
  check_cmd "did not continue from ckpt-00000008.h5" grep -q "^Restart: continuing from '$T/latest/ckpt-00000008.h5' at iteration 8" "$T/latest.out"
  compare "restart latest (skipping the corrupt newest file)" 0 "$T/engd_full.h5" "$T/latest.h5"
fi

echo "== refused checkpoints: one error line naming the file, exit 1"
head -c 4096 /dev/urandom >"$T/random.h5"
size=$(wc -c <"$T/engd/ckpt-00000012.h5")
head -c $((size / 2)) "$T/engd/ckpt-00000012.h5" >"$T/truncated.h5"
cp "$T/engd/ckpt-00000012.h5" "$T/version.h5"
"$PYTHON" -c 'import sys, h5py; h5py.File(sys.argv[1], "r+").attrs["format_version"] = 99' "$T/version.h5"
# refused RANKS FILE PATTERN [options...]
refused() {
  n=$1; file=$2; pattern=$3; shift 3
  # shellcheck disable=SC2086
  engd_exec "$n" $SMALL -max_it 25 -checkpoint_dir "$T/refused" -restart "$file" "$@" >"$T/refused.out" 2>"$T/refused.err"
  rc=$?
  line=$(grep 'engd: error:' "$T/refused.err" | head -n 1)
  problems=""
  [ $rc = 1 ] || problems="$problems exit status $rc;"
  [ "$(grep -c 'engd: error:' "$T/refused.err")" = 1 ] || problems="$problems not one error line;"
  echo "$line" | grep -qF "$file" || problems="$problems the line does not name $file;"
  echo "$line" | grep -Eiq -- "$pattern" || problems="$problems the line does not match /$pattern/;"
  grep -q 'PETSC ERROR' "$T/refused.err" && problems="$problems PETSc traceback;"
  grep -q '^SUMMARY' "$T/refused.out" && problems="$problems it trained;"
  if [ -z "$problems" ]; then echo "ok   $(basename "$file") $*: $line"; check_passed
  else echo "FAIL $(basename "$file") $*:$problems"; sed 's/^/       | /' "$T/refused.err" | head -n 4; check_failed; fi
}
# shellcheck disable=SC2086
{
refused 0 "$T/random.h5" 'not an HDF5 file'
refused 0 "$T/truncated.h5" 'truncated'
refused 0 "$T/version.h5" 'version 99'
refused 2 "$T/engd/ckpt-00000012.h5" 'network 2-16-1 tanh in the file, 2-8-1 tanh' -net_hidden 8
refused 0 "$T/engd/ckpt-00000012.h5" "optimizer 'engd' in the file, 'adam'" -optimizer adam
refused 0 "$T/engd_full.h5" 'not an engd checkpoint'
refused 0 "$T/no_such_checkpoint.h5" 'no such file'
}
check_cmd "a refused restart created the checkpoint directory" [ ! -e "$T/refused" ]

test_finish
