#!/bin/sh
# The Slurm jobs (jobs/) under a real one-node Slurm started here on localhost
# (/work/shared/notes/slurm-localhost.md): a private munged (own socket), and slurmctld + slurmd
# with a private slurm.conf (SLURM_CONF) on free ports, all state in the test's scratch directory.
#   1. requeue: jobs/run.sbatch trains the default job on 2 ranks; once the log shows progress
#      the test sends (a) `scancel --signal=USR1 --batch` (the batch shell only), (b) `scancel
#      --signal=TERM --full` (every process of the job: batch shell, mpirun and ranks, as on
#      preemption or the time limit; mpirun exits 1): the job must checkpoint, requeue itself,
#      resume from the checkpoint and finish (COMPLETED, Restarts=1) with the same /history and
#      parameters as an uninterrupted run, bit for bit (include/engd/checkpoint.h).
#   2. sweep: jobs/make_sweep.sh writes 3 lines (configs x seeds; one config path with blanks),
#      jobs/submit.sh submits jobs/sweep.sbatch as an array with ENGD_JOB_DIR set; every task
#      must complete with a results file in its own directory $ENGD_JOB_DIR/task-<i> whose
#      /options hold its line's seed and optimizer and whose summary is finite.
#   3. scaling: jobs/strong_scaling.sbatch and jobs/weak_scaling.sbatch on 2 tasks: results and
#      -log_view files for 1 and 2 ranks in one directory, points fixed (strong) or doubled (weak).
# Skips (77) when not root or Slurm/munge are missing or do not start. The daemons are stopped
# by their pids at exit (never by name); a system munged is left alone.
cd "$(dirname "$0")/.." || exit 1
REPO=$(pwd)
[ "$(id -u)" = 0 ] || { echo "skip: starting slurmctld and slurmd needs root"; exit 77; }
for tool in slurmctld slurmd sbatch squeue scontrol scancel munged munge unmunge; do
  command -v "$tool" >/dev/null 2>&1 || { echo "skip: $tool is not installed (Debian: slurm-wlm munge)"; exit 77; }
done
. tests/lib.sh
test_setup slurm h5py
[ -n "$ENGD_TEST_TMP" ] || scratch_owned=1

S="$T/slurm"
rm -rf "$S" "$T/runs" "$T"/*.log && mkdir -p "$S/state" "$S/spool" "$T/runs" || exit 1
MUNGED_PID=""
SLURMCTLD_PID=""
SLURMD_PID=""
JOBS=""
cleanup() {
  for job in $JOBS; do scancel "$job" 2>/dev/null; done
  if [ -n "$JOBS" ] && [ -n "$SLURMCTLD_PID" ]; then # let slurmd end the jobs' processes
    i=0; while [ $i -lt 30 ] && [ -n "$(squeue -h -o %i 2>/dev/null)" ]; do sleep 0.5; i=$((i + 1)); done
  fi
  for pid in $SLURMD_PID $SLURMCTLD_PID $MUNGED_PID; do kill "$pid" 2>/dev/null; done
  for pid in $SLURMD_PID $SLURMCTLD_PID $MUNGED_PID; do
    i=0; while [ $i -lt 20 ] && kill -0 "$pid" 2>/dev/null; do sleep 0.25; i=$((i + 1)); done
    kill -9 "$pid" 2>/dev/null
  done
  [ -n "$scratch_owned" ] && rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

skip() { echo "skip: $*"; for f in "$S"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 5 "$f"; }; done; exit 77; }
now() { date +%s; }

# munge: a private munged on its own socket (slurm.conf AuthInfo), so that the test neither
# depends on nor disturbs a system munged or another test's; it uses the system's key.
[ -r /etc/munge/munge.key ] || skip "no /etc/munge/munge.key (install munge, or create one with mungekey)"
munged --foreground --force --socket="$S/munge.socket" --key-file=/etc/munge/munge.key --log-file="$S/munged.log" \
  --pid-file="$S/munged.pid" --seed-file="$S/munged.seed" >"$S/munged.out" 2>&1 &
MUNGED_PID=$!
i=0; while [ $i -lt 40 ] && ! munge -S "$S/munge.socket" -n 2>/dev/null | unmunge -S "$S/munge.socket" >/dev/null 2>&1; do sleep 0.25; i=$((i + 1)); done
munge -S "$S/munge.socket" -n 2>/dev/null | unmunge -S "$S/munge.socket" >/dev/null 2>&1 || skip "munged did not start: $(cat "$S/munged.out")"

ports=$("$PYTHON" -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))')
set -- $ports
host=$(hostname)
export SLURM_CONF="$S/slurm.conf"
cat >"$SLURM_CONF" <<EOF
ClusterName=enggtest
SlurmctldHost=$host
SlurmctldPort=$1
SlurmdPort=$2
AuthType=auth/munge
AuthInfo=socket=$S/munge.socket
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SlurmUser=root
SchedulerParameters=sched_interval=1
NodeName=$host CPUs=2 RealMemory=2000 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
slurmctld -D -c -f "$SLURM_CONF" >"$S/slurmctld.out" 2>&1 &
SLURMCTLD_PID=$!
slurmd -D -f "$SLURM_CONF" >"$S/slurmd.out" 2>&1 &
SLURMD_PID=$!
i=0
while [ $i -lt 60 ]; do
  state=$(sinfo -h -n "$host" -o %t 2>/dev/null)
  case "$state" in idle | mix | alloc) break ;; esac
  kill -0 "$SLURMCTLD_PID" 2>/dev/null && kill -0 "$SLURMD_PID" 2>/dev/null || skip "slurmctld or slurmd exited at start"
  sleep 0.5; i=$((i + 1))
done
case "$state" in idle | mix | alloc) ;; *) skip "the Slurm node did not become idle in 30 s (state '$state')" ;; esac
echo "Slurm $(sinfo -V | cut -d' ' -f2) up: controller pid $SLURMCTLD_PID port $1, slurmd pid $SLURMD_PID port $2, node $host $state"

export ENGD_RUNS="$T/runs"
unset ENGD_HOME # the jobs must find the checkout themselves (they are submitted from $T)

# wait_job ID SECONDS: until the job has left the queue's active states; prints its final state
job_state() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -n 1; }
wait_job() {
  end=$(($(now) + $2))
  while [ "$(now)" -lt "$end" ]; do
    case "$(job_state "$1")" in PENDING | RUNNING | REQUEUED | CONFIGURING | COMPLETING | SUSPENDED | "") sleep 0.5 ;; *) break ;; esac
  done
  job_state "$1"
}
job_field() { scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }

# ---------------------------------------------------------------------------------------------
MAX_IT=300
RUN_OPTS="-max_it $MAX_IT -monitor_every 10"
echo "== 1. requeue: jobs/run.sbatch, default job, -max_it $MAX_IT, 2 ranks, interrupted once training is under way"
start=$(now)
# shellcheck disable=SC2086
scripts/mpirun.sh -n 2 bin/engd -options_file configs/poisson2d.opts $RUN_OPTS -quiet -output "$T/reference.h5" >"$T/reference.out" 2>&1 \
  && check_passed || FAILED "the uninterrupted reference run failed: $(tail -n 3 "$T/reference.out")"
echo "reference run (no Slurm): $(tail -n 1 "$T/reference.out" | sed 's/ rel_h1=.*s_per_it=/ s_per_it=/; s/ params=.*//') ($(($(now) - start)) s)"

# requeue_case NAME HOW: run.sbatch as job NAME; once the log shows iteration >= 50, interrupt it
# HOW: usr1 = scancel --signal=USR1 --batch (the batch shell only, as --signal=B:USR1@s does);
# term = scancel --signal=TERM --full (every process of the job at once: batch shell, mpirun and
# the ranks, as on preemption or the time limit; mpirun then exits 1 although engd checkpointed).
# The job must requeue itself, resume and end with the uninterrupted run's history, bit for bit.
requeue_case() {
  name=$1; how=$2
  log="$T/$name.log"
  # shellcheck disable=SC2086
  job=$(cd "$T" && sbatch --parsable -n 2 -t 10 -J "$name" -o "$log" "$REPO/jobs/run.sbatch" "$REPO/configs/poisson2d.opts" $RUN_OPTS)
  [ -n "$job" ] || { FAILED "sbatch jobs/run.sbatch failed"; return; }
  JOBS="$JOBS $job"
  dir="$T/runs/$name-$job"
  # wait for iteration >= 50 in the log (progress lines: "   <it>  <loss> ..."), then signal
  signalled=0
  end=$(($(now) + 60))
  while [ "$(now)" -lt "$end" ]; do
    it=$(sed -n 's/^ *\([0-9][0-9]*\) .*/\1/p' "$log" 2>/dev/null | tail -n 1)
    if [ -n "$it" ] && [ "$it" -ge 50 ]; then
      case $how in
        usr1) scancel --signal=USR1 --batch "$job" && signalled=1; sent="USR1 to the batch shell" ;;
        term) scancel --signal=TERM --full "$job" && signalled=1; sent="TERM to all the job's processes (--full)" ;;
      esac
      echo "job $job: progress at iteration $it, sent $sent ($(($(now) - start)) s)"
      break
    fi
    case "$(job_state "$job")" in PENDING | RUNNING | CONFIGURING | "") sleep 0.2 ;; *) break ;; esac
  done
  [ $signalled = 1 ] && check_passed || FAILED "job $job: never saw iteration 50 in the log (state $(job_state "$job"))"
  # Slurm holds a requeued batch job for ~2 minutes (Reason=BeginTime): once it is held and the
  # node is idle again, release it. Not within the second of the requeue: slurmd refuses a launch
  # whose credential is not newer (in whole seconds) than the killed instance's revocation.
  end=$(($(now) + 60))
  while [ $signalled = 1 ] && [ "$(now)" -lt "$end" ]; do
    case "$(job_state "$job") $(job_field "$job" Reason) $(sinfo -h -n "$host" -o %t)" in
      "PENDING BeginTime idle")
        sleep 2
        scontrol update JobId="$job" StartTime=now && echo "job $job: requeued and held (BeginTime): released it ($(($(now) - start)) s)"
        break ;;
      PENDING* | RUNNING* | REQUEUED* | COMPLETING* | CONFIGURING* | " "*) sleep 0.2 ;;
      *) break ;;
    esac
  done
  state=$(wait_job "$job" 120)
  echo "job $job: $state, Restarts=$(job_field "$job" Restarts), ExitCode=$(job_field "$job" ExitCode) ($(($(now) - start)) s)"
  grep -E '^engd-job|^SUMMARY|^Stopped|^Restart|^ +[0-9]*00 ' "$log" | cut -c1-150 | sed 's/^/  log| /' | head -n 30
  [ "$state" = COMPLETED ] && check_passed || FAILED "job $job ended $state, want COMPLETED"
  [ "$(job_field "$job" Restarts)" = 1 ] && check_passed || FAILED "job $job: Restarts=$(job_field "$job" Restarts), want 1"
  case $how in
    usr1)
      grep -q 'engd exited with code 75' "$log" && check_passed || FAILED "the log does not show engd exiting with 75 after USR1"
      grep -q 'Stopped by SIGUSR1' "$log" && check_passed || FAILED "engd did not report stopping at SIGUSR1" ;;
    term)
      grep -q 'received SIGTERM' "$log" && check_passed || FAILED "the log does not show the batch shell receiving SIGTERM"
      # (engd's own "Stopped by SIGTERM" line may be lost: mpirun tears the job down at TERM)
      if grep -q 'taking it as code 75' "$log"; then echo "  the launcher exited with $(sed -n 's/.*the launcher exited with \([0-9]*\).*/\1/p' "$log" | head -n 1) after engd checkpointed: taken as 75 (the TERM path)"
      else grep -q 'engd exited with code 75' "$log" && check_passed || FAILED "the log shows neither exit 75 nor a signalled exit taken as 75"; fi ;;
  esac
  grep -q 'requeueing job' "$log" && check_passed || FAILED "the log does not show the job requeueing itself"
  ls "$dir/checkpoints"/ckpt-*.h5 >/dev/null 2>&1 && check_passed || FAILED "no checkpoint in $dir/checkpoints"
  echo "checkpoints: $(cd "$dir/checkpoints" 2>/dev/null && ls | tr '\n' ' ')"
  # the second start resumed: its first progress line is past iteration 0
  resumed_at=$(sed -n '/start 1 (restarts so far)/,$p' "$log" | sed -n 's/^ *\([0-9][0-9]*\) .*/\1/p' | head -n 1)
  [ -n "$resumed_at" ] && [ "$resumed_at" -gt 0 ] && check_passed || FAILED "the requeued start did not resume (first progress line after the restart: '${resumed_at:-none}')"
  grep '^SUMMARY' "$log" | tail -n 1 | grep -q " iterations=$MAX_IT " && check_passed || FAILED "the last SUMMARY in the log is not that of all $MAX_IT iterations"
  if [ -s "$dir/run.h5" ]; then
    "$PYTHON" tests/compare_history.py --tol 0 --params --fields loss,rel_l2,rel_h1,eta \
      "$T/reference.h5" "$dir/run.h5" && check_passed || FAILED "the requeued run's history differs from the uninterrupted run's"
  else FAILED "no results file $dir/run.h5"; fi
}
echo "-- 1a. USR1 to the batch shell"
requeue_case requeue usr1
echo "-- 1b. TERM to every process of the job"
requeue_case requeue_term term

# ---------------------------------------------------------------------------------------------
echo "== 2. sweep: jobs/make_sweep.sh (first 3 lines of 2 configs x seeds 0-1, and a comment) -> jobs/sweep.sbatch array"
echo "   (the second config's path has blanks; ENGD_JOB_DIR, with a blank too, holds the task directories)"
start=$(now)
mkdir -p "$T/my configs" && cp configs/poisson2d_adam.opts "$T/my configs/poisson2d adam.opts" || FAILED "cannot copy a config"
jobs/make_sweep.sh -s 0-1 -x "-max_it 15 -monitor_every 5 -net_hidden 16" configs/poisson2d.opts "$T/my configs/poisson2d adam.opts" 2>"$T/make_sweep.err" | head -n 3 >"$T/sweep.txt"
{ echo "# configs x seeds"; cat "$T/sweep.txt"; } >"$T/sweep_commented.txt"
cat "$T/sweep.txt" | sed 's/^/  line| /'
sweep_dir="$T/sweep dir"
array=$(cd "$T" && ENGD_JOB_DIR="$sweep_dir" "$REPO/jobs/submit.sh" --parsable -J sweep -o "$T/sweep-%a.log" "$REPO/jobs/sweep.sbatch" "$T/sweep_commented.txt")
[ -n "$array" ] && check_passed || FAILED "jobs/submit.sh jobs/sweep.sbatch failed"
JOBS="$JOBS $array"
for task in 1 2 3; do
  state=$(wait_job "${array}_$task" 120)
  line=$(sed -n "${task}p" "$T/sweep.txt")
  seed=$(echo "$line" | sed -n 's/.*-seed \([0-9]*\).*/\1/p')
  out="$sweep_dir/task-$task"
  echo "task $task: $state ($(($(now) - start)) s): $(grep '^SUMMARY' "$T/sweep-$task.log" | sed 's/ rel_h1=.*//')"
  [ "$state" = COMPLETED ] || { FAILED "array task $task ended '$state'"; tail -n 5 "$T/sweep-$task.log"; continue; }
  [ "$(cat "$out/options.txt" 2>/dev/null)" = "$line" ] && check_passed || FAILED "task $task: $out/options.txt is not line $task of the sweep file"
  "$PYTHON" - "$out/run.h5" "$seed" "$line" <<'EOF' && check_passed || FAILED "task $task: results file $out/run.h5"
import sys, h5py, numpy as np
path, seed, line = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    f = h5py.File(path, "r")
    text = f["options"].attrs["text"]
    text = text.decode() if isinstance(text, bytes) else text
    s = f["summary"].attrs
    ok = int(s["iterations"]) == 15 and np.isfinite(s["loss"]) and np.isfinite(s["rel_l2"]) and int(s["params"]) == 65
    optimizer = "adam" if "adam" in line else "engd"
    for want in ("-seed %s" % seed, "-optimizer %s" % optimizer, "-max_it 15"):
        if want not in text.splitlines():
            print("  /options lacks %r" % want); ok = False
    print("  %s: %d iterations, loss %.3e, rel_l2 %.3e, seed %s, %s" % ("/".join(path.split("/")[-3:]), s["iterations"], s["loss"], s["rel_l2"], seed, optimizer))
    sys.exit(0 if ok else 1)
except (OSError, KeyError) as e:
    print("  cannot read: %s" % e); sys.exit(1)
EOF
done
[ "$(ls -d "$sweep_dir"/task-* 2>/dev/null | wc -l)" = 3 ] && check_passed || FAILED "want 3 task directories in $sweep_dir"
[ ! -e "$T/runs/sweep-$array" ] && check_passed || FAILED "the sweep wrote into $T/runs/sweep-$array although ENGD_JOB_DIR was set"

# ---------------------------------------------------------------------------------------------
echo "== 3. scaling: jobs/strong_scaling.sbatch and jobs/weak_scaling.sbatch, 2 tasks (1 and 2 ranks)"
start=$(now)
for kind in strong weak; do
  job=$(cd "$T" && sbatch --parsable -n 2 -J "$kind" -o "$T/$kind.log" "$REPO/jobs/${kind}_scaling.sbatch" \
    "$REPO/configs/poisson2d.opts" -max_it 5 -monitor_every 0 -net_hidden 16)
  [ -n "$job" ] || { FAILED "sbatch jobs/${kind}_scaling.sbatch failed"; continue; }
  JOBS="$JOBS $job"
  state=$(wait_job "$job" 120)
  echo "$kind scaling job $job: $state ($(($(now) - start)) s)"
  [ "$state" = COMPLETED ] || { FAILED "$kind scaling job ended '$state'"; tail -n 5 "$T/$kind.log"; continue; }
  "$PYTHON" - "$T/runs/$kind-$job" "$kind" <<'EOF' && check_passed || FAILED "$kind scaling: results in $T/runs/$kind-$job"
import os, sys, h5py
d, kind = sys.argv[1], sys.argv[2]
ok = open(os.path.join(d, "scaling.txt")).read().startswith("kind=%s\n" % kind)
points = {}
for r in (1, 2):
    with h5py.File(os.path.join(d, "ranks-%d.h5" % r), "r") as f:
        s = f["summary"].attrs
        points[r] = int(s["points"])
        ok &= int(s["ranks"]) == r and s["s_per_it"] > 0
    ok &= "EngdGram" in open(os.path.join(d, "ranks-%d.log_view" % r)).read()
want = {1: 1020, 2: 1020} if kind == "strong" else {1: 1020, 2: 2040}
print("  %s: points per rank count %s (want %s), scaling.txt, -log_view files: %s" % (kind, points, want, "ok" if ok else "missing or wrong"))
sys.exit(0 if ok and points == want else 1)
EOF
done

test_finish
