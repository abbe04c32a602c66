#!/bin/sh
# KFAC and KFAC* (-optimizer kfac, kfac_star): prints its figures, asserts nothing.
#
#   bench/kfac.sh [SECTIONS]   SECTIONS: all (default: small, large, ranks, p100d) or any of
#                              those and the long ones, budget and seeds
#
#   small  P = 257 (configs/kfac_poisson2d.opts, configs/kfac_star_poisson2d.opts: the paper's
#          best hyper-parameters): $SMALL_TIME s of optimizer time each, s/it and the RMS error
#          (the official PyTorch code on the same 2 cores: KFAC 0.062, KFAC* 0.033 s/it,
#          RMS 3.1e-5, 2.5e-5 after 120 s)
#   large  P = 116,097 (configs/kfac*_poisson2d_116k.opts), $LARGE_IT iterations: s/it, peak
#          memory and where the time goes (-log_view: factor pass, gradient, line search or
#          Gram dots, KronFactor = this rank's layer decompositions, KronShare, KronApply)
#          (the PyTorch code: KFAC 3.1-3.3 s/it, KFAC* 1.23 s/it)
#   ranks  the same at 1 and 2 ranks: the speed-up, and KronFactor's share (layers spread
#          over the ranks: rank r decomposes layers r, r + R, ...)
#   p100d  P = 1,325,057 (configs/kfac_star_poisson100d.opts), $P100D_IT iterations: s/it and
#          peak memory per rank
#   budget P = 116,097, KFAC and KFAC*: the error after $BUDGET s of optimizer time on NP ranks
#          (about 2 x BUDGET of wall time)
#   seeds  heat (4+1)-D, P = 10,065 (configs/kfac_star_heat4d_10065.opts), KFAC* for seeds
#          $SEEDS: the error after $BUDGET s each, median and min-max (about 10 x BUDGET)
# budget and seeds run "what NP quiet ranks do in BUDGET seconds" iteration-bounded: they time
# $RATE_IT iterations on NP ranks, then run BUDGET / (s/it) iterations. engd's history is the
# same bits on any rank count and under any load, so the result does not depend on what else the
# machine does meanwhile (only the rate measurement does: run it on a quiet machine).
# NP ranks (default 2). Timings on a shared machine are noisy: say so with the figures.
cd "$(dirname "$0")/.." || exit 1
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
NP=${NP:-2}
SMALL_TIME=${SMALL_TIME:-120}
LARGE_IT=${LARGE_IT:-10}
P100D_IT=${P100D_IT:-3}
BUDGET=${BUDGET:-1800}
RATE_IT=${RATE_IT:-200}
SEEDS=${SEEDS:-0 1 2 3 4 5 6 7 8 9}
OUT=${OUT:-$(mktemp -d)}
sections=$(echo "${1:-all}" | tr ',' ' ')
[ "$sections" = all ] && sections="small large ranks p100d"
[ -x bin/engd ] || { echo "bench/kfac.sh: bin/engd is missing: run make first" >&2; exit 1; }
echo "bench/kfac.sh: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), load average $(cut -d' ' -f1-3 /proc/loadavg)"

field() { sed -n 's/^SUMMARY.*[ ]'"$2"'=\([^ ]*\).*/\1/p' "$1" | tail -n 1; }
# event LOG NAME: the event's largest time over the ranks (seconds) in a -log_view
event() { awk -v e="$2" '$1 == e { print $4; exit }' "$1"; }

# budget NAME [options...]: the s/it of NP ranks over RATE_IT iterations, then BUDGET / (s/it)
# iterations; prints the iterations, s/it and the errors at the end (RMS as the papers report it)
budget() {
  name=$1; shift
  scripts/mpirun.sh -n "$NP" bin/engd "$@" -max_it "$RATE_IT" -eval_every 1000000 -quiet >"$OUT/$name-rate.out" 2>&1 \
    || { echo "$name: rate run failed: $(tail -n 1 "$OUT/$name-rate.out")"; return 1; }
  rate=$(field "$OUT/$name-rate.out" s_per_it)
  its=$(awk -v b="$BUDGET" -v r="$rate" 'BEGIN { printf "%d", b / r }')
  scripts/mpirun.sh -n "$NP" bin/engd "$@" -max_it "$its" -max_time 0 -eval_every 100 -monitor_every 1000 -output "$OUT/$name.h5" >"$OUT/$name.out" 2>&1 \
    || { echo "$name: failed: $(tail -n 1 "$OUT/$name.out")"; return 1; }
  printf '%-22s %s s on %s ranks: %6s its at %s s/it  rel_l2 %-12s rms %s\n' "$name" "$BUDGET" "$NP" "$its" "$rate" \
    "$(field "$OUT/$name.out" rel_l2)" "$(grep -o 'RMS error [^ ]*' "$OUT/$name.out" | tail -n 1 | cut -d' ' -f3)"
}

# run RANKS NAME [options...]: bin/engd under GNU time with -log_view; one line of figures
run() {
  n=$1; name=$2; shift 2
  log="$OUT/$name.out"
  # shellcheck disable=SC2086
  if ! scripts/mpirun.sh -n "$n" /usr/bin/time -f "peak_kb %M" bin/engd -log_view -eval_every 1000000 "$@" >"$log" 2>"$OUT/$name.err"; then
    echo "$name: failed"; tail -n 3 "$OUT/$name.err"; return 1
  fi
  its=$(field "$log" iterations)
  peak=$(sed -n 's/^peak_kb //p' "$OUT/$name.err" | sort -n | tail -n 1)
  per() { t=$(event "$log" "$1"); [ -n "$t" ] && awk -v t="$t" -v n="$its" 'BEGIN { printf "%.3f", t / n }' || echo "-"; }
  printf '%-22s ranks %s  its %6s  s/it %-9s rel_l2 %-12s rms %-12s peak %5.0f MB/rank | per it: factors %s grad %s ls %s dots %s KronFactor %s KronShare %s KronApply %s\n' \
    "$name" "$n" "$its" "$(field "$log" s_per_it)" "$(field "$log" rel_l2)" "$(grep -o 'RMS error [^ ]*' "$log" | tail -n 1 | cut -d' ' -f3)" "$((peak / 1024))" \
    "$(per EngdKFACFactors)" "$(per EngdGradient)" "$(per EngdLineSearch)" "$(per EngdShellDots)" "$(per KronFactor)" "$(per KronShare)" "$(per KronApply)"
}

for s in $sections; do
  case $s in
    small)
      echo "== P = 257, $SMALL_TIME s of optimizer time each, $NP ranks"
      run "$NP" kfac_257 -options_file configs/kfac_poisson2d.opts -max_time "$SMALL_TIME"
      run "$NP" kfac_star_257 -options_file configs/kfac_star_poisson2d.opts -max_time "$SMALL_TIME" ;;
    large)
      echo "== P = 116,097, $LARGE_IT iterations, $NP ranks"
      run "$NP" kfac_116k -options_file configs/kfac_poisson2d_116k.opts -max_it "$LARGE_IT"
      run "$NP" kfac_116k_bracket -options_file configs/kfac_poisson2d_116k.opts -max_it "$LARGE_IT" -ls_type bracket
      run "$NP" kfac_star_116k -options_file configs/kfac_star_poisson2d_116k.opts -max_it "$LARGE_IT" ;;
    ranks)
      echo "== P = 116,097, $LARGE_IT iterations: 1 and 2 ranks"
      for n in 1 2; do
        run "$n" "kfac_star_116k_r$n" -options_file configs/kfac_star_poisson2d_116k.opts -max_it "$LARGE_IT"
      done ;;
    p100d)
      echo "== P = 1,325,057, $P100D_IT iterations, $NP ranks"
      run "$NP" kfac_star_p100d -options_file configs/kfac_star_poisson100d.opts -max_it "$P100D_IT" ;;
    budget)
      echo "== P = 116,097, what $NP ranks reach in $BUDGET s of optimizer time"
      budget kfac_116k -options_file configs/kfac_poisson2d_116k.opts
      budget kfac_star_116k -options_file configs/kfac_star_poisson2d_116k.opts ;;
    seeds)
      echo "== heat (4+1)-D, P = 10,065, KFAC*, seeds $SEEDS: what $NP ranks reach in $BUDGET s each"
      : >"$OUT/seeds.rms"
      for seed in $SEEDS; do
        budget "kfac_star_heat4d_10065_seed$seed" -options_file configs/kfac_star_heat4d_10065.opts -seed "$seed" &&
          grep -o 'RMS error [^ ]*' "$OUT/kfac_star_heat4d_10065_seed$seed.out" | tail -n 1 | cut -d' ' -f3 >>"$OUT/seeds.rms"
      done
      sort -g "$OUT/seeds.rms" | awk '{ v[NR] = $1 } END { if (NR) printf "RMS over %d seeds: median %.2e, min %.2e, max %.2e (the paper: KFAC* median 1.3e-5 [9.0e-6, 2.4e-5] in 3000 s on a GPU)\n", NR, NR % 2 ? v[(NR + 1) / 2] : 0.5 * (v[NR / 2] + v[NR / 2 + 1]), v[1], v[NR] }' ;;
    *) echo "bench/kfac.sh: unknown section $s (small, large, ranks, p100d, budget, seeds)" >&2; exit 1 ;;
  esac
done
