#!/bin/sh
# engd's benchmarks (make bench). They print figures; they assert nothing about them.
#
#   bench/run.sh [SECTIONS] [OPTIONS...]
#
# SECTIONS: all (default), or one or more of speed, accuracy, seeds, gram, channels, comma-separated:
#   speed     seconds per ENGD iteration of the default job (configs/poisson2d.opts) on 2 ranks
#             and on 1 rank (SUMMARY s_per_it, best of $REPEAT runs), with the -log_view stage
#             breakdown per iteration (EngdRows, EngdGram, EngdSolve, EngdLineSearch, ...)
#   accuracy  iterations and time to reach relative L2 <= $TARGET on the default job, 2 ranks
#   seeds     the default job for seeds 0..$((NSEEDS-1)): iterations, final error, reached or not
#   gram      build/bench/bench_gram (Gram stage flop rate vs dgemm, memory) on 1 and 2 ranks
# OPTIONS are passed to every bin/engd run of the sections (e.g. bench/run.sh seeds
# -engd_damping 0, to compare safeguard settings); when the only section is gram they go to
# bench_gram instead (e.g. bench/run.sh gram -bench_params 2000,4000). $GRAM_OPTS always goes
# to bench_gram.
#
# Environment: NP (ranks of the 2-rank runs, default 2), REPEAT (speed runs per rank count,
# default 3), MAX_IT (iteration cap of accuracy and seeds, default 1000), TARGET (default 1e-6),
# NSEEDS (default 10), GRAM_OPTS, PYTHON (a Python with numpy and h5py).
cd "$(dirname "$0")/.." || exit 1
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
NP=${NP:-2}
REPEAT=${REPEAT:-3}
MAX_IT=${MAX_IT:-1000}
TARGET=${TARGET:-1e-6}
NSEEDS=${NSEEDS:-10}
PYTHON=${PYTHON:-$(scripts/find-python.sh)}
ENGD=bin/engd
CONFIG=configs/poisson2d.opts
MPIRUN=scripts/mpirun.sh

sections=all
case "${1:-}" in
  -* | "") ;;
  *) sections=$1; shift ;;
esac
sections=$(echo "$sections" | tr ',' ' ')
for s in $sections; do
  case "$s" in
    all | speed | accuracy | seeds | gram | channels) ;;
    *) echo "bench/run.sh: unknown section '$s' (use speed, accuracy, seeds, gram, channels or all)" >&2; exit 2 ;;
  esac
done
[ "$sections" = all ] && sections="speed accuracy seeds gram channels"
# the pass-through options go to bin/engd, unless gram is the only section
if [ "$sections" = gram ]; then GRAM_EXTRA="$*"; ENGD_EXTRA=""; else GRAM_EXTRA=""; ENGD_EXTRA="$*"; fi

for f in "$ENGD" build/bench/bench_gram build/bench/bench_channels; do
  [ -x "$f" ] || { echo "bench/run.sh: $f is missing: run make first" >&2; exit 1; }
done
TMP=$(mktemp -d /tmp/engd-bench.XXXXXX) || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# field NAME of the SUMMARY line of file $1
summary_field() { sed -n 's/^SUMMARY.*[ ]'"$2"'=\([^ ]*\).*/\1/p' "$1" | tail -n 1; }
# run bin/engd on $1 ranks with the default job and the rest of the arguments; output in $OUT
run_engd() {
  n=$1; shift
  # shellcheck disable=SC2086
  timeout 3600 $MPIRUN -n "$n" $ENGD -options_file $CONFIG "$@" $ENGD_EXTRA >"$OUT" 2>&1
}

echo "engd benchmarks: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
echo "machine: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc --all) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); OPENBLAS_NUM_THREADS=$OPENBLAS_NUM_THREADS"
echo "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine slows every figure below)"
[ -n "$ENGD_EXTRA" ] && echo "extra bin/engd options: $ENGD_EXTRA"
echo

# ---------------------------------------------------------------------------------------------
section_speed() {
  echo "== a. speed: seconds per ENGD iteration, default job ($CONFIG: P = 257, N = 1020), -max_it 100 =="
  echo "   s_per_it = SUMMARY s_per_it (optimizer-step time / iterations; error evaluation excluded);"
  echo "   best of $REPEAT runs; stage columns: -log_view event time (max over ranks) / iterations of that run, ms"
  printf '%5s  %10s  %-26s  %8s  %8s  %8s  %8s  %8s  %8s  %8s\n' ranks "s_per_it" "all runs' s_per_it" Rows Gram Solve LineSrch Gradient "sum" EvalErr
  for n in $NP 1; do
    best=""; all=""
    for r in $(seq 1 "$REPEAT"); do
      OUT="$TMP/speed_${n}_$r.log"
      if ! run_engd "$n" -max_it 100 -log_view -monitor_every 0; then
        echo "   run on $n ranks failed:"; tail -n 5 "$OUT" | sed 's/^/   | /'; continue
      fi
      spi=$(summary_field "$OUT" s_per_it)
      all="$all${all:+ }$spi"
      if [ -z "$best" ] || awk -v a="$spi" -v b="$best_spi" 'BEGIN { exit !(a < b) }'; then best=$OUT; best_spi=$spi; fi
    done
    [ -n "$best" ] || continue
    its=$(summary_field "$best" iterations)
    awk -v n="$n" -v spi="$best_spi" -v all="$all" -v its="$its" '
      $1 ~ /^Engd/ && NF > 5 { t[$1] = $4 }
      END {
        split("EngdRows EngdGram EngdSolve EngdLineSearch EngdGradient", ev, " ")
        printf "%5d  %10.6f  %-26s", n, spi, all
        sum = 0
        for (i = 1; i <= 5; i++) { v = 1000 * t[ev[i]] / its; sum += v; printf "  %8.3f", v }
        printf "  %8.3f  %8.3f\n", sum, 1000 * t["EngdEvalErrors"] / its
      }' "$best"
  done
  echo "   (EvalErr: error evaluation after every iteration, not part of s_per_it; sum: the five stages)"
  echo
}

# ---------------------------------------------------------------------------------------------
section_accuracy() {
  echo "== b. accuracy: time to relative L2 <= $TARGET, default job on $NP ranks (-max_it $MAX_IT -stop_rel_l2 $TARGET) =="
  OUT="$TMP/accuracy.log"
  h5="$TMP/accuracy.h5"
  t0=$(now)
  run_engd "$NP" -max_it "$MAX_IT" -stop_rel_l2 "$TARGET" -output "$h5" -monitor_every 0
  status=$?
  t1=$(now)
  echo "   command: $MPIRUN -n $NP $ENGD -options_file $CONFIG -max_it $MAX_IT -stop_rel_l2 $TARGET -output run.h5 $ENGD_EXTRA"
  echo "   exit status $status; total process wall time (mpirun start to end) $(elapsed "$t0" "$t1") s"
  grep '^SUMMARY' "$OUT" | sed 's/^/   /'
  if [ -f "$h5" ]; then
    "$PYTHON" - "$h5" "$TARGET" <<'EOF'
import sys
import h5py
import numpy as np
path, target = sys.argv[1], float(sys.argv[2])
with h5py.File(path, "r") as f:
    h = f["history"]
    it, rel, wall = h["iteration"][:], h["rel_l2"][:], h["wall_s"][:]
hit = np.flatnonzero(np.nan_to_num(rel, nan=np.inf) <= target)
if hit.size:
    k = hit[0]
    print(f"   reached rel_l2 <= {target:g}: yes, at iteration {int(it[k])}, rel_l2 {rel[k]:.3e}, "
          f"optimizer-step time wall_s {wall[k]:.3f} s ({wall[k] / max(int(it[k]), 1):.4f} s per iteration)")
else:
    finite = np.isfinite(rel)
    k = int(np.argmin(np.where(finite, rel, np.inf))) if finite.any() else len(rel) - 1
    print(f"   reached rel_l2 <= {target:g}: NO within {int(it[-1])} iterations "
          f"(optimizer-step time {wall[-1]:.3f} s); best rel_l2 {rel[k]:.3e} at iteration {int(it[k])}")
EOF
  else
    echo "   no results file: the run failed"; tail -n 5 "$OUT" | sed 's/^/   | /'
  fi
  echo
}

# ---------------------------------------------------------------------------------------------
section_seeds() {
  last=$((NSEEDS - 1))
  echo "== c. robustness over seeds: default job, -seed 0..$last -max_it $MAX_IT -stop_rel_l2 $TARGET, $NP ranks${ENGD_EXTRA:+, extra: $ENGD_EXTRA} =="
  printf '%5s  %10s  %14s  %8s  %9s  %s\n' seed iterations "final rel_l2" reached "wall s" note
  reached=0
  for seed in $(seq 0 "$last"); do
    OUT="$TMP/seed_$seed.log"
    t0=$(now)
    run_engd "$NP" -seed "$seed" -max_it "$MAX_IT" -stop_rel_l2 "$TARGET" -quiet
    status=$?
    t1=$(now)
    its=$(summary_field "$OUT" iterations)
    rel=$(summary_field "$OUT" rel_l2)
    note=""
    [ "$status" -ne 0 ] && note="exit $status: $(grep -m 1 'error' "$OUT" | cut -c1-60)"
    yes=no
    case "$rel" in
      "" | *[nN][aA][nN]* | *[iI][nN][fF]*) ;;
      *) if awk -v r="$rel" -v t="$TARGET" 'BEGIN { exit !(r + 0 <= t + 0) }'; then yes=yes; reached=$((reached + 1)); fi ;;
    esac
    printf '%5d  %10s  %14s  %8s  %9s  %s\n' "$seed" "${its:--}" "${rel:--}" "$yes" "$(elapsed "$t0" "$t1")" "$note"
  done
  echo "   $reached of $NSEEDS seeds reach rel_l2 <= $TARGET (within $MAX_IT iterations)"
  echo
}

# ---------------------------------------------------------------------------------------------
section_gram() {
  echo "== d. Gram stage flop rate: build/bench/bench_gram on 1 and $NP ranks, back-ends replicated and scalapack =="
  for n in 1 "$NP"; do
    echo "-- $n rank(s): $MPIRUN -n $n build/bench/bench_gram $GRAM_OPTS $GRAM_EXTRA"
    t0=$(now)
    # shellcheck disable=SC2086
    timeout 1800 $MPIRUN -n "$n" build/bench/bench_gram $GRAM_OPTS $GRAM_EXTRA 2>&1
    echo "-- exit status $?, $(elapsed "$t0" "$(now)") s"
    echo
  done
}

# ---------------------------------------------------------------------------------------------
section_channels() {
  echo "== e. Taylor-mode channels: cost per point as S = d + 2 grows (build/bench/bench_channels, 1 rank) =="
  for hidden in 64 64,64; do
    for bs in 128 16; do
      echo "-- build/bench/bench_channels -bench_dims 2,10,100 -net_hidden $hidden -net_block_size $bs"
      timeout 600 build/bench/bench_channels -bench_dims 2,10,100 -net_hidden "$hidden" -net_block_size "$bs" 2>&1 | sed 's/^/   /'
    done
  done
  echo "-- ENGD per iteration on $NP ranks, -max_it 10: stage times (max over ranks) / iterations, ms"
  printf '   %-24s %5s %6s %6s  %8s  %8s  %8s  %8s  %9s\n' config d P N Rows LineSrch Gram Solve "s_per_it"
  for cfg in poisson2d poisson10d poisson100d; do
    OUT="$TMP/channels_$cfg.log"
    # shellcheck disable=SC2086
    if ! timeout 1800 $MPIRUN -n "$NP" $ENGD -options_file "configs/$cfg.opts" -max_it 10 -log_view -monitor_every 0 $ENGD_EXTRA >"$OUT" 2>&1; then
      echo "   $cfg failed:"; tail -n 5 "$OUT" | sed 's/^/   | /'; continue
    fi
    awk -v cfg="$cfg" -v d="$(sed -n 's/^-dim //p' "configs/$cfg.opts")" '
      /^SUMMARY/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } }
      $1 ~ /^Engd/ && NF > 5 { t[$1] = $4 }
      END {
        its = f["iterations"]
        printf "   %-24s %5d %6d %6d  %8.2f  %8.2f  %8.2f  %8.2f  %9.4f\n", cfg, d, f["params"], f["points"],
               1000 * t["EngdRows"] / its, 1000 * t["EngdLineSearch"] / its, 1000 * t["EngdGram"] / its, 1000 * t["EngdSolve"] / its, f["s_per_it"]
      }' "$OUT"
  done
  echo "   (Rows: residuals and Jacobian rows, S = d + 2 channels on interior points; LineSrch: 31 forward passes)"
  echo
}

for s in $sections; do
  start=$(now)
  "section_$s"
  echo "   ($s: $(elapsed "$start" "$(now)") s; load average now $(cut -d' ' -f1-3 /proc/loadavg))"
  echo
done
