#!/bin/sh
# The error over seeds (issue 13, point 6): for poisson2d, heat1d and poisson5d, each config run
# for -seed 0..NSEEDS-1 (network initialisation and, for uniform points, the points), and one
# line per config: the final relative L2 and RMS errors' median and min-max over the seeds,
# beside the paper's figure (the config's "# paper:" line). A benchmark: it asserts nothing.
#
#   bench/seeds.sh [-seeds N] [-np RANKS] [-only NAME,NAME] [OPTIONS...]
#
# -seeds: how many (default 10); -np: ranks (default 2); OPTIONS go to every bin/engd run (e.g.
# -max_it 300, -max_time 60). Logs stay in $OUT (default /tmp/engd-seeds).
cd "$(dirname "$0")/.." || exit 1
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
NSEEDS=10
NP=2
ONLY="poisson2d heat1d poisson5d"
while [ $# -gt 0 ]; do
  case "$1" in
    -seeds) NSEEDS=$2; shift 2 ;;
    -np) NP=$2; shift 2 ;;
    -only) ONLY=$(echo "$2" | tr ',' ' '); shift 2 ;;
    *) break ;;
  esac
done
OUT=${OUT:-/tmp/engd-seeds}
mkdir -p "$OUT" || exit 1
[ -x bin/engd ] || { echo "bench/seeds.sh: bin/engd is missing: run make first" >&2; exit 1; }

# stats: "median min max" of the numbers on stdin
stats() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "- - -"; exit } m = NR % 2 ? v[(NR + 1) / 2] : 0.5 * (v[NR / 2] + v[NR / 2 + 1]); printf "%.2e %.2e %.2e\n", m, v[1], v[NR] }'; }

echo "engd error over seeds 0..$((NSEEDS - 1)): $(date -u '+%Y-%m-%d %H:%M UTC'), $NP ranks, load average $(cut -d' ' -f1-3 /proc/loadavg)${*:+, options: $*}"
printf '%-10s %6s  %-28s %-28s %s\n' experiment seeds "rel. L2 median (min-max)" "RMS median (min-max)" paper
for name in $ONLY; do
  config=configs/$name.opts
  [ -f "$config" ] || { echo "bench/seeds.sh: no $config" >&2; continue; }
  : >"$OUT/$name.errors"
  for seed in $(seq 0 $((NSEEDS - 1))); do
    log="$OUT/$name-seed$seed.log"
    scripts/mpirun.sh -n "$NP" bin/engd -options_file "$config" -seed "$seed" "$@" >"$log" 2>&1 || continue
    awk '/^Final:/ { for (i = 1; i <= NF; i++) { if ($i == "L2") rel = $(i + 2); if ($i == "RMS") rms = $(i + 2) } gsub(",", "", rel); print rel, rms }' "$log" >>"$OUT/$name.errors"
  done
  n=$(wc -l <"$OUT/$name.errors")
  rel=$(cut -d' ' -f1 "$OUT/$name.errors" | stats | awk '{ printf "%s (%s-%s)", $1, $2, $3 }')
  rms=$(cut -d' ' -f2 "$OUT/$name.errors" | stats | awk '{ printf "%s (%s-%s)", $1, $2, $3 }')
  paper=$(sed -n 's/^# paper: //p' "$config" | head -n 1)
  printf '%-10s %6s  %-28s %-28s %s\n' "$name" "$n" "$rel" "$rms" "$paper"
done
