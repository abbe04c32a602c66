#!/bin/sh
# KFAC and KFAC* (-optimizer kfac, kfac_star; src/optim/kfac.c):
#   - 1, 2 and 3 ranks give bitwise identical histories and parameters: KFAC with momentum on
#     the Poisson 2-D job, KFAC-reduce with the pi-corrected damping and -kfac_update_every 2 on
#     heat (1+1)-D, KFAC* on both, and KFAC* on deep Ritz (ritz_poisson, energy rows);
#   - a restart from an intermediate checkpoint (ckpt-5: KFAC then decomposes the saved factors
#     again, its next refresh is at 6) continues bitwise (the averaged factors, the
#     momentum or previous update and the step count are optimizer state), for KFAC (with
#     momentum, factors recomputed every 2nd iteration) and KFAC*, and the checkpoint holds them;
#   - ENGD's CG preconditioned by KFAC's inverse (-engd_gram cg -engd_pc_type kfac) is bitwise the
#     same on 1, 2, 3 ranks and every solve converges;
#   - convergence with stated errors after 200 iterations (2 ranks, the default damping 1e-3):
#     KFAC rel_l2 <= 0.1 and KFAC* <= 1.5e-2 on configs/poisson2d.opts; KFAC <= 5e-2 and
#     KFAC* <= 1e-2 on configs/heat1d.opts.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
test_setup kfac h5py

FIELDS="--fields loss,rel_l2,rel_h1,eta --params"
POISSON="-options_file configs/poisson2d.opts -n_interior 196 -n_boundary 56 -n_eval 400 -max_it 12"
HEAT="-options_file configs/heat1d.opts -n_interior 196 -n_boundary 40 -n_initial 20 -n_eval 400 -max_it 12"
RITZ="-problem ritz_poisson -dim 2 -n_interior 196 -n_boundary 56 -net_hidden 16 -n_eval 400 -max_it 12"

bitwise() {
  label=$1; shift
  # shellcheck disable=SC2086
  if engd_ranks 1 "${label}_1" "$@" && engd_ranks 2 "${label}_2" "$@" && engd_ranks 3 "${label}_3" "$@"; then
    compare_histories "$label: 1 = 2 = 3 ranks" 0 $FIELDS "$T/${label}_1.h5" "$T/${label}_2.h5" "$T/${label}_3.h5"
  fi
}

echo "== 1, 2, 3 ranks: bitwise"
# shellcheck disable=SC2086
{
bitwise kfac_poisson $POISSON -optimizer kfac -kfac_momentum 0.5
bitwise kfac_heat_reduce $HEAT -optimizer kfac -kfac_variant reduce -kfac_damping_split pi -kfac_update_every 2
bitwise star_poisson $POISSON -optimizer kfac_star
bitwise star_heat $HEAT -optimizer kfac_star -kfac_init zero -kfac_ema 0.5
bitwise star_ritz $RITZ -optimizer kfac_star
bitwise cg_pc_kfac $POISSON -max_it 5 -engd_gram cg -engd_damping 1e-3 -engd_ksp_rtol 1e-4 -engd_ksp_max_it 2000 -engd_pc_type kfac
}
check_cmd "ENGD with KFAC-preconditioned CG: every solve converged" "$PYTHON" - "$T/cg_pc_kfac_2.h5" <<'PY'
import sys, h5py, numpy as np
h = h5py.File(sys.argv[1], "r")["history"]
reason, its = h["solve_reason"][1:], h["solve_iterations"][1:]
print("  KFAC-preconditioned CG: reasons %s, %.0f iterations per solve" % (sorted(set(reason.tolist())), its.mean()))
sys.exit(0 if (reason > 0).all() else 1)
PY

for method in "kfac -kfac_momentum 0.5 -kfac_update_every 2" "kfac_star"; do
  m=$(echo "$method" | cut -d' ' -f1)
  echo "== $m restarted from ckpt-5 on 2 ranks: bitwise"
  # shellcheck disable=SC2086
  if engd_plain 2 ${m}_full $POISSON -optimizer $method -checkpoint_every 5 -checkpoint_dir "$T/ck_$m" -output "$T/${m}_full.h5"; then
    engd_plain 2 ${m}_restart $POISSON -optimizer $method -checkpoint_dir "$T/ck_${m}_re" -restart "$T/ck_$m/ckpt-00000005.h5" -output "$T/${m}_restart.h5" &&
      compare_histories "$m restart" 0 $FIELDS "$T/${m}_full.h5" "$T/${m}_restart.h5"
    check_cmd "$m checkpoint holds the factors, momentum and step" "$PYTHON" - "$T/ck_$m/ckpt-00000005.h5" "$m" <<'PY'
import sys, h5py
o = h5py.File(sys.argv[1], "r")["optimizer"]
buf = "previous_update" if sys.argv[2] == "kfac_star" else "momentum"
f = o["kfac_factors"][()]
ok = o[buf].shape == (257,) and o["step"][0] == 5 and abs(o[buf][()]).max() > 0 and f.size > 257 and abs(f).max() > 0
print("  ckpt-5: %d factor entries, |%s|_max %.3g, step %d" % (f.size, buf, abs(o[buf][()]).max(), o["step"][0]))
sys.exit(0 if ok else 1)
PY
  fi
done

echo "== convergence (200 iterations, 2 ranks)"
converge() {
  name=$1; limit=$2; shift 2
  if engd_ranks 2 "$name" "$@" -max_it 200; then check_le "$name rel_l2" "$(summary_field rel_l2)" "$limit"; fi
}
converge kfac_poisson2d 0.1 -options_file configs/poisson2d.opts -optimizer kfac
converge star_poisson2d 1.5e-2 -options_file configs/poisson2d.opts -optimizer kfac_star
converge kfac_heat1d 5e-2 -options_file configs/heat1d.opts -optimizer kfac
converge star_heat1d 1e-2 -options_file configs/heat1d.opts -optimizer kfac_star

test_finish
