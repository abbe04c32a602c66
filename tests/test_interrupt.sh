#!/bin/sh
# Interrupted runs (README "Exit codes", "Checkpoint and restart"):
#   - SIGUSR1 to mpirun (which forwards it to every rank) once progress lines appear: exit 75,
#     a line naming the signal, the checkpoint and the iteration, SUMMARY last, no results
#     file; -restart latest then gives exactly (bitwise, same rank count) the history of an
#     uninterrupted run;
#   - SIGTERM to ONE rank only (the ranks agree through their per-iteration reduction): the same;
#   - -time_limit (with -restart latest in an empty directory: starts fresh, one line): exit 75
#     with a checkpoint, and the run continues from it;
#   - kill -9 of the writing rank during a -checkpoint_every 1 loop: -restart latest continues
#     from the newest complete checkpoint, never from a .tmp;
#   - divergence (Adam, -adam_lr 1e300): exit 3, the checkpoint holds the last state with a
#     finite loss (finite parameters), superseding later checkpoints, and a run continues from
#     it with a sane learning rate.
# The signals are sent when the run has shown progress, so the iteration they stop at varies;
# the comparisons use the iteration the run reports.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
test_setup interrupt h5py

SMALL="-options_file configs/poisson2d.opts -n_interior 100 -n_boundary 40 -net_hidden 16 -n_eval 400"
pid=""
# start NAME RANKS [options...]: a background run writing $T/NAME.{out,err}; sets pid (mpirun's)
start() {
  name=$1; n=$2; shift 2
  scripts/mpirun.sh -n "$n" bin/engd "$@" >"$T/$name.out" 2>"$T/$name.err" &
  pid=$!
}
# progress NAME K: wait (60 s at most) until the run has printed the progress line of an
# iteration >= K
progress() {
  i=0
  while [ $i -lt 600 ]; do
    last=$(awk 'NF == 6 && $1 ~ /^[0-9]+$/ { it = $1 } END { print it + 0 }' "$T/$1.out")
    [ "$last" -ge "$2" ] && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
    i=$((i + 1))
  done
  return 1
}
# finish: wait for the background run (60 s at most, then kill it); sets rc
finish() {
  i=0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    FAILED "the run did not end; killing it"
    for p in $(pgrep -P "$pid"); do kill -9 "$p"; done
    kill -9 "$pid"
  fi
  wait "$pid"
  rc=$?
}
# rank_pid RANK: the process of that rank among mpirun's children
rank_pid() {
  for p in $(pgrep -P "$pid"); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1" && { echo "$p"; return; }
  done
}
# stopped NAME SIGNAL-TEXT: checks of a run stopped at a signal or the time limit; sets k
stopped() {
  name=$1; what=$2
  line=$(grep '^Stopped' "$T/$name.out")
  k=$(echo "$line" | sed -n 's/.* after iteration \([0-9]*\): checkpoint .*/\1/p')
  echo "$name: exit $rc; $line"
  [ "$rc" = 75 ] && check_passed || FAILED "$name: exit status $rc, want 75"
  echo "$line" | grep -q "$what" && check_passed || FAILED "$name: no 'Stopped ...' line naming $what"
  [ -n "$k" ] || { FAILED "$name: no iteration in the stop line"; k=0; return 1; }
  ckpt=$(printf '%s/ckpt-%08d.h5' "$3" "$k")
  echo "$line" | grep -qF "checkpoint $ckpt written" && check_passed || FAILED "$name: the stop line does not name $ckpt"
  [ -s "$ckpt" ] && check_passed || FAILED "$name: $ckpt missing"
  case "$(tail -n 1 "$T/$name.out")" in SUMMARY\ iterations=$k\ *) check_passed ;; *) FAILED "$name: the last line is not 'SUMMARY iterations=$k ...'" ;; esac
  [ -e "$T/$name.h5" ] && FAILED "$name: an interrupted run wrote its results file" || check_passed
  grep -q 'engd: error' "$T/$name.err" && FAILED "$name: error line on stderr" || check_passed
  return 0
}

echo "== SIGUSR1 to mpirun"
start usr1 2 $SMALL -max_it 100000 -monitor_every 1 -checkpoint_dir "$T/usr1" -output "$T/usr1.h5"
progress usr1 3 && check_passed || FAILED "usr1: no progress lines"
kill -USR1 "$pid"
finish
stopped usr1 'by SIGUSR1' "$T/usr1"
k_usr1=$k

echo "== SIGTERM to rank 1 only"
start term 2 $SMALL -max_it 100000 -monitor_every 1 -checkpoint_dir "$T/term" -output "$T/term.h5"
progress term 3 && check_passed || FAILED "term: no progress lines"
rank1=$(rank_pid 1)
[ -n "$rank1" ] && kill -TERM "$rank1"
finish
stopped term 'by SIGTERM' "$T/term"
k_term=$k

K=$(( (k_usr1 > k_term ? k_usr1 : k_term) + 4 ))
echo "== both continued with -restart latest to iteration $K, against an uninterrupted run: bitwise"
engd_plain 2 reference $SMALL -quiet -max_it $K -checkpoint_dir "$T/reference" -output "$T/reference.h5"
for run in usr1 term; do
  engd_plain 2 "${run}_re" $SMALL -quiet -max_it $K -checkpoint_dir "$T/$run" -restart latest -output "$T/${run}_re.h5" &&
    compare_histories "$run, continued" 0 --fields loss,rel_l2,rel_h1,eta --params "$T/reference.h5" "$T/${run}_re.h5"
done

echo "== -time_limit 2 with -restart latest in an empty directory"
start limit 2 $SMALL -quiet -max_it 1000000 -time_limit 2 -checkpoint_dir "$T/limit" -restart latest
finish
grep -q "^Restart: no checkpoint in '$T/limit', starting from iteration 0\$" "$T/limit.out" && check_passed || FAILED "limit: no 'starting from iteration 0' line"
stopped limit 'before the time limit' "$T/limit" &&
  engd_plain 2 limit_re $SMALL -quiet -max_it $((k + 2)) -checkpoint_dir "$T/limit" -restart latest &&
  check_cmd "limit: did not continue from iteration $k" grep -q "^Restart: continuing from '$T/limit/ckpt-$(printf %08d "$k").h5' at iteration $k " "$T/limit_re.out"

echo "== kill -9 of rank 0 (the writer) during a -checkpoint_every 1 loop (P = 41001, Adam)"
BIG="$SMALL -quiet -net_hidden 200,200 -optimizer adam"
start crash 2 $BIG -max_it 100000 -checkpoint_every 1 -checkpoint_dir "$T/crash"
rank0=""
i=0
while [ -z "$rank0" ] && [ $i -lt 100 ]; do rank0=$(rank_pid 0); i=$((i + 1)); sleep 0.1; done
# Once a complete checkpoint exists and the next one is being written (its .tmp is there),
# freeze rank 0 (SIGSTOP); if the .tmp is still there, rank 0 is inside the write: kill -9.
# Otherwise let it go on (SIGCONT) and try again.
i=0
mid_write=0
while [ -n "$rank0" ] && [ $i -lt 3000 ] && kill -0 "$pid" 2>/dev/null; do
  if ls "$T/crash" 2>/dev/null | grep -q '\.h5$' && ls "$T/crash" 2>/dev/null | grep -q '\.tmp$'; then
    kill -STOP "$rank0"
    if ls "$T/crash" | grep -q '\.tmp$'; then mid_write=1; break; fi
    kill -CONT "$rank0"
  fi
  sleep 0.01
  i=$((i + 1))
done
if [ -n "$rank0" ]; then kill -9 "$rank0"; else FAILED "crash: rank 0 not found"; fi
finish
left=$(ls "$T/crash" | tr '\n' ' ')
echo "crash: mpirun exit $rc; left behind: $left"
[ $mid_write = 1 ] && check_passed || FAILED "crash: could not catch rank 0 inside a checkpoint write"
case "$left" in *.tmp*) check_passed ;; *) FAILED "crash: killed inside a write, yet no .tmp is left" ;; esac
newest=$(ls "$T/crash" | grep '^ckpt-[0-9]*\.h5$' | sort | tail -n 1)
if [ -z "$newest" ]; then FAILED "crash: no complete checkpoint"
else
  kn=$(echo "$newest" | sed 's/ckpt-0*\([0-9][0-9]*\)\.h5/\1/')
  cp "$T/crash/$newest" "$T/crash/ckpt-99999999.h5.tmp" # a .tmp newer than any checkpoint
  if engd_plain 2 crash_re $BIG -max_it $((kn + 1)) -checkpoint_dir "$T/crash" -restart latest; then
    grep -q "^Restart: continuing from '$T/crash/$newest' at iteration $kn " "$T/crash_re.out" && check_passed || FAILED "crash: did not continue from $newest"
  fi
fi

echo "== divergence: Adam with -adam_lr 1e300, -max_failures 3, -checkpoint_every 1"
timeout 120 scripts/mpirun.sh -n 2 bin/engd $SMALL -quiet -max_it 30 -optimizer adam -adam_lr 1e300 -max_failures 3 -checkpoint_every 1 -checkpoint_dir "$T/div" >"$T/div.out" 2>"$T/div.err"
rc=$?
line=$(grep 'engd: error:' "$T/div.err")
echo "div: exit $rc; $line; left: $(ls "$T/div" | tr '\n' ' ')"
[ $rc = 3 ] && check_passed || FAILED "div: exit status $rc, want 3"
echo "$line" | grep -q "3 consecutive non-finite steps (iterations 2-4, rejected); checkpoint $T/div/ckpt-00000000.h5 holds iteration 0, the last state with a finite loss" && check_passed ||
  FAILED "div: the error line does not say which checkpoint holds which state"
[ "$(ls "$T/div")" = "ckpt-00000000.h5" ] && check_passed || FAILED "div: want only ckpt-00000000.h5 (later ones superseded)"
check_cmd "div: checkpoint content" "$PYTHON" - "$T/div/ckpt-00000000.h5" <<'EOF'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
theta, loss = f["model/parameters"][()], f["history/loss"][()]
print("  ckpt-0: %d parameters, all finite: %s, max |theta| %.2g, loss %s, Adam step %d" % (theta.size, np.all(np.isfinite(theta)), np.max(np.abs(theta)), loss, f["optimizer/step"][0]))
sys.exit(0 if np.all(np.isfinite(theta)) and np.max(np.abs(theta)) < 10 and np.all(np.isfinite(loss)) and int(f.attrs["iteration"]) == 0 else 1)
EOF
engd_plain 2 div_re $SMALL -quiet -max_it 3 -optimizer adam -adam_lr 1e-3 -checkpoint_dir "$T/div" -restart latest -output "$T/div_re.h5"

test_finish
