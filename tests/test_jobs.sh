#!/bin/sh
# The Slurm job scripts (jobs/) without Slurm: each script runs under bash as a job would, with
# fake SLURM_* variables, a fake engd (records its arguments, then exits or acts on signals as
# told by FAKE_MODE), a fake launcher, and fake scontrol/squeue/sbatch on PATH that only log.
# Everything happens in a scratch directory; nothing of the checkout or the machine is written.
#   1. settings: a non-numeric ENGD_MAX_REQUEUES (and the other numeric and choice settings) is
#      refused with one "engd-job: error:" line before engd runs, also by jobs/submit.sh;
#      ENGD_MAX_REQUEUES bounds the requeues.
#   2. signals: TERM to every process of the job (the launcher exits 1, as Open MPI's mpirun does,
#      after the "ranks" wrote a checkpoint) requeues the job; TERM without a new checkpoint, and
#      exit 1 after a checkpoint without a signal, are failures.
#   3. make_sweep.sh: an empty or descending seed range is refused (exit 2, nothing written); a
#      config path with blanks and a quote reaches engd as one argument through sweep.sbatch.
#   4. job directories: sweep.sbatch puts task i in $ENGD_JOB_DIR/task-<i>; an exported
#      ENGD_JOB_DIR cannot make a second job share a directory (refused unless it is the same
#      job's requeue; ENGD_CONTINUE=1 takes over only from a job that has ended); a relative
#      ENGD_JOB_DIR is relative to the submit directory.
cd "$(dirname "$0")/.." || exit 1
REPO=$(pwd)
J="$REPO/jobs"
for tool in bash xargs setsid; do
  command -v "$tool" >/dev/null 2>&1 || { echo "skip: $tool is not installed"; exit 77; }
done
. tests/lib.sh
test_setup jobs fresh no_engd
mkdir -p "$T/bin" "$T/submit" "$T/fake" || exit 1

# --- fakes -------------------------------------------------------------------------------------
cat >"$T/bin/engd" <<'EOF'
#!/bin/sh
# fake engd: its arguments one a line into $FAKE_DIR/args, then as FAKE_MODE says
printf '%s\n' "$@" >"$FAKE_DIR/args"
ck=""; prev=""
for a in "$@"; do [ "$prev" = -checkpoint_dir ] && ck=$a; prev=$a; done
case $FAKE_MODE in
  done) exit 0 ;;
  requeue) exit 75 ;;
  checkpoint-then-fail) : >"$ck/ckpt-00000010.h5"; exit 1 ;;
  term | term-no-checkpoint) # like mpirun and its ranks: at TERM the ranks checkpoint, mpirun exits 1
    trap 'echo USR1 >>"$FAKE_DIR/signals"' USR1
    trap 'echo TERM >>"$FAKE_DIR/signals"; [ "$FAKE_MODE" = term ] && : >"$ck/ckpt-00000020.h5"; exit 1' TERM
    : >"$FAKE_DIR/ready"
    i=0; while [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    exit 0 ;;
  *) echo "fake engd: FAKE_MODE '$FAKE_MODE'?" >&2; exit 99 ;;
esac
EOF
cat >"$T/bin/mpirun" <<'EOF'
#!/bin/sh
# fake launcher: mpirun -n R COMMAND... runs COMMAND (in place, so signals reach it)
shift 2
exec "$@"
EOF
for tool in scontrol sbatch; do
  printf '#!/bin/sh\necho "$*" >>"$FAKE_DIR/%s"\n' "$tool" >"$T/bin/$tool"
done
cat >"$T/bin/squeue" <<'EOF'
#!/bin/sh
# fake squeue: -o %T prints FAKE_SQUEUE_STATE (a job's state), -o %L nothing (no time limit)
case "$*" in *%T*) [ -n "$FAKE_SQUEUE_STATE" ] && echo "$FAKE_SQUEUE_STATE" ;; esac
exit 0
EOF
chmod +x "$T/bin"/*

# the environment of a job: only what is set here
for v in $(env | sed -n 's/^\(ENGD_[A-Za-z0-9_]*\)=.*/\1/p; s/^\(SLURM_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
export ENGD_HOME="$REPO" ENGD_BIN="$T/bin/engd" ENGD_MPIRUN="$T/bin/mpirun" ENGD_RUNS="$T/runs"
export SLURM_JOB_ID=101 SLURM_JOB_NAME=t SLURM_NTASKS=1 SLURM_SUBMIT_DIR="$T/submit"
export PATH="$T/bin:$PATH" FAKE_DIR="$T/fake" FAKE_MODE="done"

# job_failed MESSAGE: FAILED MESSAGE, then the end of the last job's output
job_failed() { FAILED "$*"; [ -n "$out" ] && [ -f "$out" ] && sed 's/^/    | /' "$out" | tail -n 8; }
# jobrun NAME [VAR=VALUE...] COMMAND...: run COMMAND in the submit directory with the fakes reset;
# its output in $out, its exit code in $rc
jobrun() {
  out="$T/$1.out"; shift
  rm -rf "$T/fake"; mkdir -p "$T/fake"
  (cd "$T/submit" && exec env "$@") >"$out" 2>&1
  rc=$?
}
ran() { [ -f "$T/fake/args" ]; }
# arg_after OPTION: the argument after OPTION in the fake engd's last command line
arg_after() { sed -n "/^$1\$/{n;p;}" "$T/fake/args" | tail -n 1; }
# refused NAME PATTERN: the last jobrun exited non-zero with exactly one error line, matching
# PATTERN, and engd never ran
refused() {
  n=$(grep -c '^engd-job: error:' "$out")
  if [ "$rc" != 0 ] && [ "$n" = 1 ] && grep '^engd-job: error:' "$out" | grep -q -- "$2" && ! ran; then
    ok "$1: refused (exit $rc): $(grep '^engd-job: error:' "$out" | cut -c1-120)"
  else job_failed "$1: want a refusal (non-zero exit, one 'engd-job: error:' line matching '$2', engd not run); exit $rc, $n error lines, engd ran: $(ran && echo yes || echo no)"; fi
}

# --- 1. settings --------------------------------------------------------------------------------
echo "== 1. settings"
for setting in ENGD_MAX_REQUEUES=abc ENGD_MAX_REQUEUES=-1 ENGD_MAX_REQUEUES=1e3 "ENGD_TIME_MARGIN=2 min" \
  ENGD_TIME_MARGIN=0x10 ENGD_WEAK_INTERIOR=lots ENGD_WEAK_BOUNDARY=0 "ENGD_RANKS=1 two" ENGD_LAUNCHER=ssh ENGD_CONTINUE=yes; do
  jobrun settings "$setting" bash "$J/run.sbatch" -max_it 5
  refused "run.sbatch with $setting" "${setting%%=*}"
done
jobrun settings_weak ENGD_WEAK_INTERIOR=9x bash "$J/weak_scaling.sbatch" -max_it 5
refused "weak_scaling.sbatch with ENGD_WEAK_INTERIOR=9x" ENGD_WEAK_INTERIOR
jobrun submit ENGD_MAX_REQUEUES=abc sh "$J/submit.sh" "$J/run.sbatch"
if [ "$rc" = 2 ] && [ ! -f "$T/fake/sbatch" ] && grep -q '^engd-job: error: ENGD_MAX_REQUEUES' "$out"; then ok "submit.sh refuses ENGD_MAX_REQUEUES=abc before sbatch (exit 2)"
else job_failed "submit.sh with ENGD_MAX_REQUEUES=abc: exit $rc, sbatch called: $(cat "$T/fake/sbatch" 2>/dev/null)"; fi
jobrun submit_ok sh "$J/submit.sh" -n 2 "$J/run.sbatch"
[ "$rc" = 0 ] && grep -q -- "-n 2 $J/run.sbatch" "$T/fake/sbatch" && ok "submit.sh with good settings calls sbatch" || job_failed "submit.sh with good settings: exit $rc"

# ENGD_MAX_REQUEUES bounds the requeues; 010 is ten (decimal, not octal)
jobrun bound FAKE_MODE=requeue ENGD_MAX_REQUEUES=2 SLURM_RESTART_COUNT=1 SLURM_JOB_ID=111 bash "$J/run.sbatch"
[ "$rc" = 75 ] && grep -q '^requeue 111$' "$T/fake/scontrol" 2>/dev/null && ok "exit 75 at restart 1 of ENGD_MAX_REQUEUES=2: requeued" || job_failed "exit 75 at restart 1 of 2: exit $rc, scontrol: $(cat "$T/fake/scontrol" 2>/dev/null)"
jobrun bound FAKE_MODE=requeue ENGD_MAX_REQUEUES=2 SLURM_RESTART_COUNT=2 SLURM_JOB_ID=111 bash "$J/run.sbatch"
[ "$rc" = 75 ] && ! grep -q requeue "$T/fake/scontrol" 2>/dev/null && grep -q 'not requeueing' "$out" && ok "exit 75 at restart 2 of ENGD_MAX_REQUEUES=2: not requeued" || job_failed "exit 75 at restart 2 of 2: exit $rc, scontrol: $(cat "$T/fake/scontrol" 2>/dev/null)"
jobrun bound FAKE_MODE=requeue ENGD_MAX_REQUEUES=010 SLURM_RESTART_COUNT=9 SLURM_JOB_ID=111 bash "$J/run.sbatch"
[ "$rc" = 75 ] && grep -q '^requeue 111$' "$T/fake/scontrol" 2>/dev/null && ok "ENGD_MAX_REQUEUES=010 is 10: restart 9 requeued" || job_failed "ENGD_MAX_REQUEUES=010 at restart 9: exit $rc"

# --- 2. signals ---------------------------------------------------------------------------------
echo "== 2. signals: TERM to every process of the job"
# term_all NAME JOBID MODE: run.sbatch in its own process group; once the fake engd runs, TERM to
# the whole group (batch shell, launcher, ranks: Slurm's scancel --full, preemption, time limit)
term_all() {
  out="$T/$1.out"
  rm -rf "$T/fake"; mkdir -p "$T/fake"
  (cd "$T/submit" && SLURM_JOB_ID=$2 FAKE_MODE=$3 SLURM_RESTART_COUNT=${4:-0} exec setsid bash "$J/run.sbatch" -max_it 5) >"$out" 2>&1 &
  pid=$!
  i=0; while [ $i -lt 100 ] && [ ! -f "$T/fake/ready" ]; do sleep 0.05; i=$((i + 1)); done
  if [ -f "$T/fake/ready" ]; then env kill -s TERM -- "-$pid" || job_failed "cannot signal the process group $pid"; fi
  wait "$pid"
  rc=$?
}
term_all term 201 term
ck="$T/runs/t-201/checkpoints"
if [ "$rc" = 75 ] && grep -q '^requeue 201$' "$T/fake/scontrol" 2>/dev/null && grep -q 'taking it as code 75' "$out"; then
  ok "TERM to all, launcher exit 1, new checkpoint: requeued (exit 75; signals seen by engd: $(tr '\n' ' ' <"$T/fake/signals"))"
else job_failed "TERM to all with a new checkpoint: want requeue and exit 75, got exit $rc, scontrol: $(cat "$T/fake/scontrol" 2>/dev/null)"; fi
# the same job requeued: the old checkpoint is there, but the second start writes none
term_all term2 201 term-no-checkpoint 1
if [ "$rc" = 1 ] && [ ! -f "$T/fake/scontrol" ] && grep -q 'without writing a new checkpoint (newest: ckpt-00000020.h5)' "$out"; then
  ok "TERM to all, launcher exit 1, only an older checkpoint: a failure (exit 1, not requeued)"
else job_failed "TERM to all without a new checkpoint: want exit 1 and no requeue, got exit $rc, scontrol: $(cat "$T/fake/scontrol" 2>/dev/null)"; fi
term_all term3 202 term-no-checkpoint
[ "$rc" = 1 ] && [ ! -f "$T/fake/scontrol" ] && ok "TERM to all, no checkpoint at all: a failure (exit 1)" || job_failed "TERM to all, no checkpoint: exit $rc"
jobrun nosignal FAKE_MODE=checkpoint-then-fail SLURM_JOB_ID=203 bash "$J/run.sbatch"
[ "$rc" = 1 ] && [ ! -f "$T/fake/scontrol" ] && ok "exit 1 after a new checkpoint, no signal: a failure (exit 1)" || job_failed "exit 1 after a checkpoint without a signal: exit $rc, scontrol: $(cat "$T/fake/scontrol" 2>/dev/null)"
[ -f "$ck/ckpt-00000020.h5" ] && [ "$(arg_after -checkpoint_dir)" = "$T/runs/t-203/checkpoints" ] || job_failed "checkpoint directories: $(ls "$T/runs"/*/checkpoints 2>&1 | tr '\n' ' ')"

# --- 3. make_sweep.sh ---------------------------------------------------------------------------
echo "== 3. make_sweep.sh"
cfgdir="$T/my configs/it's"
mkdir -p "$cfgdir" && cp configs/poisson2d.opts "$cfgdir/poisson 2d.opts" || exit 1
cfg="$cfgdir/poisson 2d.opts"
for seeds in 5-3 "" "," 1-a 3-; do
  jobrun sweep_bad sh "$J/make_sweep.sh" -s "$seeds" configs/poisson2d.opts
  stdout=$(cd "$T/submit" && sh "$J/make_sweep.sh" -s "$seeds" "$REPO/configs/poisson2d.opts" 2>/dev/null)
  if [ "$rc" = 2 ] && [ -z "$stdout" ] && [ "$(grep -c 'make_sweep.sh: bad seed list' "$out")" = 1 ]; then ok "make_sweep.sh -s '$seeds': exit 2, nothing written: $(cat "$out")"
  else job_failed "make_sweep.sh -s '$seeds': want exit 2, no lines and one message; exit $rc, lines: $stdout"; fi
done
(cd "$T/submit" && sh "$J/make_sweep.sh" -s 3-5 -x "-max_it 5" "$cfg" "$REPO/configs/poisson2d.opts") >"$T/sweep.txt" 2>"$T/sweep.err"
rc=$?
[ "$rc" = 0 ] && [ "$(wc -l <"$T/sweep.txt")" = 6 ] && grep -q '^-options_file /.*/poisson2d.opts -seed 5 -max_it 5$' "$T/sweep.txt" \
  && ok "make_sweep.sh -s 3-5 over 2 configs: 6 lines, plain paths unquoted" || job_failed "make_sweep.sh -s 3-5: exit $rc, $(wc -l <"$T/sweep.txt") lines"
sed 's/^/    line| /' "$T/sweep.txt" | sed -n '1p;4p'
# task 2: the config with blanks and a quote, seed 4
jobrun sweep_task SLURM_JOB_ID=302 SLURM_ARRAY_JOB_ID=300 SLURM_ARRAY_TASK_ID=2 SLURM_JOB_NAME=s bash "$J/sweep.sbatch" "$T/sweep.txt" -net_hidden 8
if [ "$rc" = 0 ] && [ "$(arg_after -options_file)" = "$cfg" ] && [ "$(arg_after -seed)" = 4 ] && [ "$(tail -n 1 "$T/fake/args")" = 8 ]; then
  ok "sweep.sbatch task 2: engd got -options_file '$cfg' as one argument, -seed 4, and the extra options last"
else job_failed "sweep.sbatch task 2: exit $rc, engd's arguments: $(tr '\n' '|' <"$T/fake/args" 2>/dev/null)"; fi
[ "$(cat "$T/runs/s-300/task-2/options.txt" 2>/dev/null)" = "$(sed -n 2p "$T/sweep.txt")" ] && ok "task-2/options.txt is the line" || job_failed "task-2/options.txt is not line 2"
printf '%s\n' "-options_file '$T/unbalanced -seed 1" >"$T/bad_sweep.txt"
jobrun sweep_quote SLURM_JOB_ID=303 SLURM_ARRAY_JOB_ID=300 SLURM_ARRAY_TASK_ID=1 bash "$J/sweep.sbatch" "$T/bad_sweep.txt"
refused "sweep.sbatch with an unbalanced quote in the line" "unbalanced quote"

# --- 4. job directories -------------------------------------------------------------------------
echo "== 4. job directories (ENGD_JOB_DIR)"
jd="$T/shared dir"
for task in 1 2; do
  jobrun jd_task ENGD_JOB_DIR="$jd" SLURM_JOB_ID=41$task SLURM_ARRAY_JOB_ID=410 SLURM_ARRAY_TASK_ID=$task bash "$J/sweep.sbatch" "$T/sweep.txt"
  [ "$rc" = 0 ] && [ "$(arg_after -output)" = "$jd/task-$task/run.h5" ] && [ "$(cat "$jd/task-$task/job-id")" = 41$task ] \
    && ok "sweep task $task with ENGD_JOB_DIR: runs in \$ENGD_JOB_DIR/task-$task, owned by its job 41$task" \
    || job_failed "sweep task $task with ENGD_JOB_DIR: exit $rc, -output $(arg_after -output)"
done
jobrun jd_other ENGD_JOB_DIR="$jd" SLURM_JOB_ID=421 SLURM_ARRAY_JOB_ID=420 SLURM_ARRAY_TASK_ID=1 bash "$J/sweep.sbatch" "$T/sweep.txt"
refused "a second sweep with the same exported ENGD_JOB_DIR" "holds the run of job 411"
jobrun jd_requeue ENGD_JOB_DIR="$jd" SLURM_JOB_ID=411 SLURM_ARRAY_JOB_ID=410 SLURM_ARRAY_TASK_ID=1 SLURM_RESTART_COUNT=1 bash "$J/sweep.sbatch" "$T/sweep.txt"
[ "$rc" = 0 ] && ran && ok "the same task requeued (job 411 again) runs in its directory" || job_failed "requeued task 1: exit $rc"
jobrun jd_active ENGD_CONTINUE=1 FAKE_SQUEUE_STATE=RUNNING ENGD_JOB_DIR="$jd" SLURM_JOB_ID=421 SLURM_ARRAY_JOB_ID=420 SLURM_ARRAY_TASK_ID=1 bash "$J/sweep.sbatch" "$T/sweep.txt"
refused "ENGD_CONTINUE=1 while the owning job 411 still runs" "has not ended"
jobrun jd_continue ENGD_CONTINUE=1 ENGD_JOB_DIR="$jd" SLURM_JOB_ID=421 SLURM_ARRAY_JOB_ID=420 SLURM_ARRAY_TASK_ID=1 bash "$J/sweep.sbatch" "$T/sweep.txt"
[ "$rc" = 0 ] && ran && [ "$(cat "$jd/task-1/job-id")" = 421 ] && grep -q 'continuing the run of job 411' "$out" \
  && ok "ENGD_CONTINUE=1 once job 411 has ended: job 421 takes task-1 over" || job_failed "ENGD_CONTINUE=1 after the owner ended: exit $rc"
sed '2s/-seed 4/-seed 40/' "$T/sweep.txt" >"$T/changed_sweep.txt"
jobrun jd_line ENGD_JOB_DIR="$jd" SLURM_JOB_ID=412 SLURM_ARRAY_JOB_ID=410 SLURM_ARRAY_TASK_ID=2 SLURM_RESTART_COUNT=1 bash "$J/sweep.sbatch" "$T/changed_sweep.txt"
refused "task 2 requeued after its sweep line changed" "sweep file changed"
# run.sbatch: one exported ENGD_JOB_DIR, two jobs
jobrun run_jd1 ENGD_JOB_DIR="$T/one" SLURM_JOB_ID=501 bash "$J/run.sbatch"
[ "$rc" = 0 ] && [ "$(arg_after -checkpoint_dir)" = "$T/one/checkpoints" ] && ok "run.sbatch job 501 with ENGD_JOB_DIR=$T/one" || job_failed "run.sbatch with ENGD_JOB_DIR: exit $rc"
jobrun run_jd2 ENGD_JOB_DIR="$T/one" SLURM_JOB_ID=502 bash "$J/run.sbatch"
refused "run.sbatch job 502 with the same ENGD_JOB_DIR" "holds the run of job 501"
mkdir -p "$T/notajob" && : >"$T/notajob/something"
jobrun run_foreign ENGD_JOB_DIR="$T/notajob" SLURM_JOB_ID=503 bash "$J/run.sbatch"
refused "run.sbatch with ENGD_JOB_DIR a non-empty directory of no job" "has no job-id"
jobrun run_rel ENGD_JOB_DIR=rel/dir SLURM_JOB_ID=504 bash "$J/run.sbatch"
[ "$rc" = 0 ] && [ "$(arg_after -output)" = "$T/submit/rel/dir/run.h5" ] && [ ! -e "$REPO/rel" ] \
  && ok "a relative ENGD_JOB_DIR is relative to the submit directory" || job_failed "relative ENGD_JOB_DIR: exit $rc, -output $(arg_after -output)"
jobrun scaling_jd ENGD_JOB_DIR="$T/one" SLURM_JOB_ID=505 bash "$J/strong_scaling.sbatch" -max_it 5
refused "strong_scaling.sbatch into another job's ENGD_JOB_DIR" "holds the run of job 501"

test_finish
