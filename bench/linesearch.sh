#!/bin/sh
# Line searches on the default job (README, "Line search"). Prints figures, asserts nothing.
#
#   bench/linesearch.sh speed            grid vs bracket, 2 ranks (NP), -max_it 200 (the default
#                                        job): s_per_it (best of REPEAT), the -log_view stages per
#                                        iteration, candidates per iteration, final rel. L2
#   bench/linesearch.sh seeds            bench/run.sh seeds for -ls_type grid and bracket
#                                        (NSEEDS, default 30; MAX_IT 1000; TARGET 1e-6)
#   bench/linesearch.sh rounding BIN [OPTIONS]
#                                        every config, 25 iterations (-eval_every 5) with BIN (an
#                                        engd built before the first-layer reuse, e.g. from
#                                        c6446fe) and with bin/engd OPTIONS (e.g. -ls_type grid):
#                                        how far the loss columns differ and whether eta, rel_l2
#                                        and the final parameters are the same bits
# Environment: NP (2), REPEAT (3), PYTHON (a Python with numpy and h5py).
cd "$(dirname "$0")/.." || exit 1
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
NP=${NP:-2}
REPEAT=${REPEAT:-3}
PYTHON=${PYTHON:-$(scripts/find-python.sh)}
TMP=$(mktemp -d /tmp/engd-lsbench.XXXXXX) || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM
[ -x bin/engd ] || { echo "bench/linesearch.sh: bin/engd is missing: run make first" >&2; exit 1; }
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine slows every figure)"

speed() {
  printf '%-8s %10s  %-26s %7s %7s %7s %7s %7s %9s %12s\n' type s_per_it "all runs" Rows Gram Solve LineSrch Gradnt "cand/it" "final rel_l2"
  for type in grid bracket; do
    best=""; all=""
    for r in $(seq 1 "$REPEAT"); do
      out="$TMP/$type-$r"
      scripts/mpirun.sh -n "$NP" bin/engd -options_file configs/poisson2d.opts -ls_type "$type" -log_view -monitor_every 0 -output "$out.h5" >"$out.log" 2>&1 || { echo "$type run failed"; tail -n 3 "$out.log"; continue; }
      spi=$(sed -n 's/^SUMMARY.* s_per_it=\([^ ]*\).*/\1/p' "$out.log")
      all="$all${all:+ }$spi"
      if [ -z "$best" ] || awk -v a="$spi" -v b="$best_spi" 'BEGIN { exit !(a < b) }'; then best=$out; best_spi=$spi; fi
    done
    [ -n "$best" ] || continue
    cand=$("$PYTHON" -c 'import sys, h5py; h = h5py.File(sys.argv[1], "r")["history"]; print("%.1f %.3e" % (h["ls_candidates"][1:].mean(), h["rel_l2"][-1]))' "$best.h5")
    awk -v type="$type" -v spi="$best_spi" -v all="$all" -v cand="$cand" '
      /^SUMMARY/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } }
      $1 ~ /^Engd/ && NF > 5 { t[$1] = $4 }
      END {
        its = f["iterations"]; split(cand, c, " ")
        printf "%-8s %10.6f  %-26s", type, spi, all
        split("EngdRows EngdGram EngdSolve EngdLineSearch EngdGradient", ev, " ")
        for (i = 1; i <= 5; i++) printf " %7.3f", 1000 * t[ev[i]] / its
        printf " %9s %12s\n", c[1], c[2]
      }' "$best.log"
  done
  echo "(stages: -log_view time, max over ranks, per iteration, ms)"
}

seeds() {
  for type in grid bracket; do NSEEDS=${NSEEDS:-30} sh bench/run.sh seeds -ls_type "$type"; done
}

rounding() {
  ref=${1:?usage: bench/linesearch.sh rounding REFERENCE_ENGD [OPTIONS]}
  shift
  echo "reference $ref; bin/engd $*"
  for c in configs/*.opts; do
    name=$(basename "$c" .opts)
    for side in ref new; do
      if [ $side = ref ]; then bin=$ref; extra=""; else bin=bin/engd; extra="$*"; fi
      # shellcheck disable=SC2086
      timeout 600 scripts/mpirun.sh -n "$NP" "$bin" -options_file "$c" -max_it 25 -eval_every 5 -quiet $extra -output "$TMP/$side-$name.h5" >/dev/null 2>&1 || echo "$name: $side run failed"
    done
    "$PYTHON" - "$name" "$TMP/ref-$name.h5" "$TMP/new-$name.h5" <<'EOF'
import sys, h5py, numpy as np
name, a, b = sys.argv[1], h5py.File(sys.argv[2], "r"), h5py.File(sys.argv[3], "r")
same = lambda k: np.array_equal(a["history/" + k][()], b["history/" + k][()], equal_nan=True)
la, lb = a["history/loss"][()], b["history/loss"][()]
rel = np.max(np.abs(la - lb) / np.maximum(np.abs(la), 1e-300))
theta = np.array_equal(a["model/parameters"][()], b["model/parameters"][()])
print("%-16s loss: %2d of %2d rows differ, max rel %.1e; eta %s; rel_l2 %s; parameters %s" % (name, int(np.sum(la != lb)), len(la), rel,
      "same" if same("eta") else "DIFFER", "same" if same("rel_l2") else "DIFFER", "same" if theta else "DIFFER"))
EOF
  done
}

case "${1:-}" in
  speed) speed ;;
  seeds) seeds ;;
  rounding) shift; rounding "$@" ;;
  *) echo "usage: bench/linesearch.sh speed|seeds|rounding REFERENCE_ENGD [OPTIONS]" >&2; exit 2 ;;
esac
