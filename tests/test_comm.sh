#!/bin/sh
# Communication counters (include/engd/commcount.h) against the model (bench/commmodel.py): the
# bytes rank 0 sends in each step, recorded in the history's comm_bytes column, must equal the
# model's count for every back-end whose traffic is all engd's own, on 1 to 8 ranks (more ranks
# than cores: oversubscribed). ScaLAPACK's BLACS sends come on top of engd's own collectives:
# there the count must be at least engd's own and within 35 % of the model with the library's
# traffic (a fit, bench/commmodel.py library_traffic).
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
test_setup comm h5py

# steps_bytes FILE: the comm_bytes of every step after the start, one per line
steps_bytes() {
  "$PYTHON" -c 'import sys, h5py; print("\n".join("%.17g" % v for v in h5py.File(sys.argv[1], "r")["history/comm_bytes"][1:]))' "$1"
}

# check_model BACKEND RANKS exact|atleast
check_model() {
  backend=$1; n=$2; how=$3
  engd_ranks "$n" "${backend}_n$n" -max_it 3 -engd_gram "$backend" -engd_rcond 1e-4 || return
  want=$(bench/commmodel.py bytes "$backend" 257 1020 "$n")
  steps_bytes "$T/${backend}_n$n.h5" >"$T/${backend}_n$n.bytes"
  check_cmd "$backend on $n ranks: 3 steps counted" [ "$(wc -l <"$T/${backend}_n$n.bytes")" = 3 ]
  while read -r got; do
    if [ "$how" = exact ]; then
      check_cmd "$backend on $n ranks: $got bytes per step, the model says $want" "$PYTHON" -c 'import sys; g, w = map(float, sys.argv[1:]); sys.exit(abs(g - w) > 1e-9 * max(w, 1))' "$got" "$want"
    else
      total=$(bench/commmodel.py total "$backend" 257 1020 "$n")
      check_cmd "$backend on $n ranks: $got bytes per step, below engd's own $want" float_le "$want" "$got"
      check_cmd "$backend on $n ranks: $got bytes per step, the model with ScaLAPACK's says $total" "$PYTHON" -c 'import sys; g, w = map(float, sys.argv[1:]); sys.exit(abs(g - w) > 0.35 * w)' "$got" "$total"
    fi
  done <"$T/${backend}_n$n.bytes"
}

echo "== replicated Gram: engd's collectives only, exact"
for n in 1 2 3 4 5 8; do check_model replicated $n exact; done
echo "== ScaLAPACK Gram: engd's collectives plus BLACS"
for n in 2 3 4 8; do check_model scalapack $n atleast; done

echo "== the summary's Communication line"
engd_run 2 summary_line -max_it 2
check_cmd "no Communication line in the output" grep -q '^Communication per iteration (most on any rank): [0-9.]* KiB sent' "$T/summary_line.out"
test_finish
