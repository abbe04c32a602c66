#!/bin/sh
# The papers' experiments (ENGD: Mueller & Zeinhofer 2023; KFAC for PINNs: Dangel, Mueller,
# Zeinhofer 2024, with KFAC and KFAC* from P = 257 to 1,325,057 in configs/kfac_*.opts), one
# config each, run with a per-experiment time budget; prints one table:
# experiment, P, engd's error (relative L2 and the RMS error the KFAC paper's logs report), the
# paper's figure, wall time, iterations, seconds per iteration. A benchmark: it asserts nothing.
#
#   bench/papers.sh [-budget SECONDS] [-np RANKS] [-only NAME,NAME] [-lift] [OPTIONS...]
#
# -budget: optimizer seconds per experiment (-max_time; default 60) on top of each config's own
# -max_it; with -lift the configs' -max_it is lifted so that the budget alone decides (deep Ritz
# with a penalty then over-fits its quadrature points: keep its 100 iterations). -np: ranks (default 2). -only: a subset by experiment name. OPTIONS go to
# every bin/engd run. The paper's figures come from each config's header line "# paper: ...".
# Results files stay in $OUT (default /tmp/engd-papers) for postprocess/ (make figures
# RESULTS=$OUT).
cd "$(dirname "$0")/.." || exit 1
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
BUDGET=60
NP=2
ONLY=""
LIFT=""
while [ $# -gt 0 ]; do
  case "$1" in
    -budget) BUDGET=$2; shift 2 ;;
    -np) NP=$2; shift 2 ;;
    -only) ONLY=$(echo "$2" | tr ',' ' '); shift 2 ;;
    -lift) LIFT="-max_it 100000000"; shift ;;
    *) break ;;
  esac
done
OUT=${OUT:-/tmp/engd-papers}
mkdir -p "$OUT" || exit 1
[ -x bin/engd ] || { echo "bench/papers.sh: bin/engd is missing: run make first" >&2; exit 1; }

# name  config  (the experiments of both papers that engd has a config for)
EXPERIMENTS="
poisson2d        configs/poisson2d.opts
poisson2d_qr     configs/poisson2d_qr.opts
poisson2d_adam   configs/poisson2d_adam.opts
poisson2d_hngd   configs/poisson2d_hngd.opts
poisson5d        configs/poisson5d.opts
poisson5d_ema    configs/poisson5d_ema.opts
heat1d           configs/heat1d.opts
heat1d_qr        configs/heat1d_qr.opts
heat1d_adam      configs/heat1d_adam.opts
heat4d           configs/heat4d.opts
heat4d_ema       configs/heat4d_ema.opts
poisson10d       configs/poisson10d.opts
poisson100d      configs/poisson100d.opts
poisson100d_wide configs/poisson100d_wide.opts
nonlinear2d      configs/nonlinear2d.opts
helmholtz2d      configs/helmholtz2d.opts
ritz1d           configs/ritz1d.opts
ritz_poisson2d   configs/ritz_poisson2d.opts
kfac_poisson2d           configs/kfac_poisson2d.opts
kfac_star_poisson2d      configs/kfac_star_poisson2d.opts
kfac_poisson2d_9873      configs/kfac_poisson2d_9873.opts
kfac_star_poisson2d_9873 configs/kfac_star_poisson2d_9873.opts
kfac_poisson2d_116k      configs/kfac_poisson2d_116k.opts
kfac_star_poisson2d_116k configs/kfac_star_poisson2d_116k.opts
kfac_poisson5d           configs/kfac_poisson5d.opts
kfac_star_poisson5d      configs/kfac_star_poisson5d.opts
kfac_poisson5d_10065     configs/kfac_poisson5d_10065.opts
kfac_star_poisson5d_10065 configs/kfac_star_poisson5d_10065.opts
kfac_poisson5d_116k      configs/kfac_poisson5d_116k.opts
kfac_star_poisson5d_116k configs/kfac_star_poisson5d_116k.opts
kfac_heat1d              configs/kfac_heat1d.opts
kfac_star_heat1d         configs/kfac_star_heat1d.opts
kfac_heat1d_9873         configs/kfac_heat1d_9873.opts
kfac_star_heat1d_9873    configs/kfac_star_heat1d_9873.opts
kfac_heat1d_116k         configs/kfac_heat1d_116k.opts
kfac_star_heat1d_116k    configs/kfac_star_heat1d_116k.opts
kfac_heat4d              configs/kfac_heat4d.opts
kfac_star_heat4d         configs/kfac_star_heat4d.opts
kfac_heat4d_10065        configs/kfac_heat4d_10065.opts
kfac_star_heat4d_10065   configs/kfac_star_heat4d_10065.opts
kfac_heat4d_116k         configs/kfac_heat4d_116k.opts
kfac_star_heat4d_116k    configs/kfac_star_heat4d_116k.opts
kfac_poisson10d          configs/kfac_poisson10d.opts
kfac_star_poisson10d     configs/kfac_star_poisson10d.opts
kfac_poisson100d         configs/kfac_poisson100d.opts
kfac_star_poisson100d    configs/kfac_star_poisson100d.opts
"

field() { sed -n 's/^SUMMARY.*[ ]'"$2"'=\([^ ]*\).*/\1/p' "$1" | tail -n 1; }
echo "engd papers' table: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $NP ranks, budget $BUDGET s of optimizer time per experiment${LIFT:+ (configs' -max_it lifted)}"
echo "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '\n| %-15s | %6s | %-9s | %-9s | %-34s | %8s | %6s | %8s |\n' experiment P rel_l2 rms "paper (RMS error, time)" "wall s" its "s/it"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' "-----------------" "--------" "-----------" "-----------" "------------------------------------" "----------" "--------" "----------"
echo "$EXPERIMENTS" | while read -r name config; do
  [ -n "$name" ] || continue
  if [ -n "$ONLY" ] && ! echo " $ONLY " | grep -q " $name "; then continue; fi
  paper=$(sed -n 's/^# paper: *//p' "$config" 2>/dev/null | head -n 1)
  if [ ! -f "$config" ]; then
    printf '| %-15s | %6s | %-9s | %-9s | %-34s | %8s | %6s | %8s |\n' "$name" - - - "(no config $config)" - - -
    continue
  fi
  log="$OUT/$name.out"
  # shellcheck disable=SC2086
  # errors every 50 iterations keep Adam's cheap steps from being dominated by error evaluation
  # shellcheck disable=SC2086
  if scripts/mpirun.sh -n "$NP" bin/engd -options_file "$config" $LIFT -eval_every 50 -max_time "$BUDGET" -quiet -output "$OUT/$name.h5" "$@" </dev/null >"$log" 2>"$OUT/$name.err"; then
    printf '| %-15s | %6s | %-9.2e | %-9.2e | %-34s | %8.1f | %6s | %8.4f |\n' "$name" "$(field "$log" params)" "$(field "$log" rel_l2)" \
      "$("${PYTHON:-$(scripts/find-python.sh)}" -c 'import h5py,sys; print(h5py.File(sys.argv[1],"r")["summary"].attrs["rms"])' "$OUT/$name.h5" 2>/dev/null || echo nan)" \
      "${paper:--}" "$(field "$log" wall_s)" "$(field "$log" iterations)" "$(field "$log" s_per_it)"
  else
    printf '| %-15s | %6s | %-9s | %-9s | %-34s | %8s | %6s | %8s |\n' "$name" - failed - "$(tail -n 1 "$OUT/$name.err" | cut -c1-34)" - - -
  fi
done
echo
echo "rel_l2 and rms on the -n_eval evaluation points; the paper's RMS errors are ENGD's (or the"
echo "named optimizer's) from the KFAC paper's published logs on one GPU, after the time shown."
