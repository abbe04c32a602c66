# shellcheck shell=bash
# Shared logic of the engd Slurm jobs (bash, sourced by jobs/*.sbatch after ENGD_HOME is set):
# site settings, the launcher, and a checkpointed run that forwards USR1/TERM to engd and
# requeues the job when engd exits with 75 ("checkpoint written, requeue me").
#
#   engd_abspath PATH               PATH made absolute (relative to the current directory)
#   engd_job_start                  load modules, check the binary, print a header, and change to
#                                   the checkout (engd's configs name each other relative to it)
#   engd_launch R ARGS...           run ARGS (engd and its options) on R ranks, in the foreground
#   engd_launcher R                 the launcher's command for R ranks, in the array ENGD_LAUNCH
#   engd_checkpointed DIR R ARGS... a restartable run in DIR (checkpoints in DIR/checkpoints,
#                                   results DIR/run.h5); returns engd's exit code
#   engd_job_exit RC                finish the job by engd's exit code: 0 done, 75 requeue, other
#                                   codes are passed on (1 error, 3 diverged)
#   engd_scaling KIND DIR ARGS...   strong/weak scaling runs over rank counts, results into DIR

# shellcheck source=jobs/site.sh
. "$ENGD_HOME/jobs/site.sh"

ENGD_EXIT_REQUEUE=75

engd_log() { echo "engd-job: $(date '+%F %T') $*"; }

engd_abspath() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }

engd_job_start() {
  if [ -n "$ENGD_MODULES" ]; then
    command -v module >/dev/null 2>&1 || { engd_log "error: ENGD_MODULES is set but there is no 'module' command"; exit 1; }
    # shellcheck disable=SC2086
    module load $ENGD_MODULES || { engd_log "error: module load $ENGD_MODULES failed"; exit 1; }
  fi
  [ -x "$ENGD_BIN" ] || { engd_log "error: $ENGD_BIN is not an executable (build with make, or set ENGD_BIN)"; exit 1; }
  # engd sets one BLAS thread per rank itself; keep OpenMP-threaded libraries from oversubscribing too
  export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
  cd "$ENGD_HOME" || { engd_log "error: cannot change to $ENGD_HOME"; exit 1; }
  engd_log "job ${SLURM_JOB_ID:-none}${SLURM_ARRAY_TASK_ID:+ (array task $SLURM_ARRAY_TASK_ID)} on ${SLURM_JOB_NODELIST:-$(hostname)}, ${SLURM_NTASKS:-1} tasks, start ${SLURM_RESTART_COUNT:-0} (restarts so far), launcher $ENGD_LAUNCHER, $ENGD_BIN"
}

# engd_launcher RANKS: the site's launcher command for RANKS ranks, into the array ENGD_LAUNCH.
# shellcheck disable=SC2206 # ENGD_MPIRUN and ENGD_SRUN_FLAGS are word lists
engd_launcher() {
  case "$ENGD_LAUNCHER" in
    mpirun) ENGD_LAUNCH=($ENGD_MPIRUN -n "$1") ;;
    srun) ENGD_LAUNCH=(srun $ENGD_SRUN_FLAGS -n "$1") ;;
    *) engd_log "error: ENGD_LAUNCHER must be mpirun or srun, not '$ENGD_LAUNCHER'"; return 1 ;;
  esac
}

# engd_launch RANKS COMMAND...: run COMMAND on RANKS ranks with the site's launcher.
engd_launch() {
  engd_launcher "$1" || return 1
  shift
  "${ENGD_LAUNCH[@]}" "$@"
}

# Seconds the job has left (squeue %L: [days-]hours:minutes:seconds), empty when unlimited/unknown.
engd_time_left() {
  squeue -h -j "$SLURM_JOB_ID" -o %L 2>/dev/null | awk '/^[0-9]/ {
    days = 0; t = $0
    if (t ~ /-/) { split(t, p, "-"); days = p[1]; t = p[2] }
    n = split(t, a, ":"); s = 0
    for (i = 1; i <= n; i++) s = s * 60 + a[i]
    print days * 86400 + s }'
}

ENGD_PID=""
ENGD_SIGNALLED=0
# Signals of the batch shell (--signal=B:USR1@s, scancel --signal=USR1 --batch, or SIGTERM) are
# handed to engd as USR1: the launcher passes USR1 on to every rank, and engd answers it by
# writing a checkpoint and exiting with 75.
_engd_forward() {
  ENGD_SIGNALLED=1
  engd_log "received SIG$1: asking engd to checkpoint and stop (USR1 to pid ${ENGD_PID:-none})"
  [ -n "$ENGD_PID" ] && kill -USR1 "$ENGD_PID" 2>/dev/null
}

# engd_checkpointed DIR RANKS ENGD_OPTIONS...: a restartable run in DIR. The options the job
# supplies come first, so ENGD_OPTIONS (an -options_file, extra options) can override them:
#   [-time_limit s] -checkpoint_dir DIR/checkpoints -restart latest -output DIR/run.h5
engd_checkpointed() {
  dir=$1; ranks=$2; shift 2
  mkdir -p "$dir/checkpoints" || { engd_log "error: cannot create $dir/checkpoints"; return 1; }
  set -- -checkpoint_dir "$dir/checkpoints" -restart latest -output "$dir/run.h5" "$@"
  left=$(engd_time_left)
  if [ -n "$left" ] && [ "$ENGD_TIME_MARGIN" -gt 0 ] && [ "$left" -gt "$ENGD_TIME_MARGIN" ]; then
    set -- -time_limit $((left - ENGD_TIME_MARGIN)) "$@"
  fi
  # shellcheck disable=SC2086
  set -- "$ENGD_BIN" "$@" $ENGD_EXTRA_OPTIONS
  engd_log "run in $dir: $*"
  trap '_engd_forward USR1' USR1
  trap '_engd_forward TERM' TERM
  engd_launcher "$ranks" || return 1
  # the launcher itself in the background (not a subshell), so that USR1 reaches it
  "${ENGD_LAUNCH[@]}" "$@" &
  ENGD_PID=$!
  # wait returns early (> 128) when a trapped signal arrives; then wait again for engd's own code
  while :; do
    ENGD_SIGNALLED=0
    wait "$ENGD_PID"
    rc=$?
    [ "$ENGD_SIGNALLED" = 1 ] && [ "$rc" -gt 128 ] || break
  done
  trap - USR1 TERM
  ENGD_PID=""
  engd_log "engd exited with code $rc"
  return "$rc"
}

# engd_job_exit RC: 75 requeues this job (same job id, so the next start finds the checkpoints
# of this one), at most ENGD_MAX_REQUEUES times; every other code ends the job with that code.
# Slurm holds a requeued job for about two minutes (Reason=BeginTime) before it can start again.
engd_job_exit() {
  rc=$1
  case "$rc" in
    0) engd_log "finished" ;;
    "$ENGD_EXIT_REQUEUE")
      restarts=${SLURM_RESTART_COUNT:-0}
      if [ "$restarts" -ge "$ENGD_MAX_REQUEUES" ]; then
        engd_log "checkpointed, but the job was already requeued $restarts times (ENGD_MAX_REQUEUES): not requeueing"
      else
        # logged first: the requeue ends this shell (Slurm signals the job's processes)
        engd_log "checkpointed: requeueing job $SLURM_JOB_ID (restart $((restarts + 1)))"
        scontrol requeue "$SLURM_JOB_ID" || engd_log "scontrol requeue $SLURM_JOB_ID failed: resubmit this job to resume"
      fi ;;
    1) engd_log "engd failed (exit 1): see the error above" ;;
    3) engd_log "training diverged (exit 3): not requeueing" ;;
    *) engd_log "engd ended with code $rc" ;;
  esac
  exit "$rc"
}

# engd_scaling KIND DIR ENGD_OPTIONS...: the same problem once on each rank count of ENGD_RANKS
# (default 1, 2, 4, ... below the job's task count, and the task count itself), all results in
# DIR: ranks-R.h5 (results), ranks-R.log_view (-log_view), ranks-R.out (stdout and stderr), and
# scaling.txt (kind, rank counts, options). KIND strong keeps the problem as ENGD_OPTIONS give it;
# weak gives R ranks R x ENGD_WEAK_INTERIOR interior and R x ENGD_WEAK_BOUNDARY boundary points,
# uniformly sampled (grids need perfect powers). Returns 1 when any run failed.
engd_scaling() {
  kind=$1; dir=$2; shift 2
  max=${SLURM_NTASKS:-1}
  ranks=${ENGD_RANKS:-$(r=1; while [ "$r" -lt "$max" ]; do printf '%s ' "$r"; r=$((r * 2)); done; echo "$max")}
  mkdir -p "$dir" || { engd_log "error: cannot create $dir"; return 1; }
  printf 'kind=%s\nranks=%s\noptions=%s\n' "$kind" "$ranks" "$*" >"$dir/scaling.txt"
  engd_log "$kind scaling over ranks $ranks in $dir"
  failed=0
  for r in $ranks; do
    if [ "$r" -gt "$max" ]; then engd_log "skip $r ranks: the job has $max tasks"; continue; fi
    points=()
    [ "$kind" = weak ] && points=(-sampler uniform -n_interior $((ENGD_WEAK_INTERIOR * r)) -n_boundary $((ENGD_WEAK_BOUNDARY * r)))
    # shellcheck disable=SC2086
    engd_launch "$r" "$ENGD_BIN" "$@" "${points[@]}" -output "$dir/ranks-$r.h5" -log_view ":$dir/ranks-$r.log_view" \
      $ENGD_EXTRA_OPTIONS >"$dir/ranks-$r.out" 2>&1
    rc=$?
    if [ "$rc" = 0 ]; then engd_log "$r ranks: $(grep '^SUMMARY' "$dir/ranks-$r.out" | tail -n 1)"
    else engd_log "$r ranks: engd exited with code $rc: $(tail -n 3 "$dir/ranks-$r.out" | tr '\n' ' ')"; failed=1; fi
  done
  [ "$failed" = 0 ]
}
