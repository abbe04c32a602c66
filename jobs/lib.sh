# shellcheck shell=bash
# Shared logic of the engd Slurm jobs (bash, sourced by jobs/*.sbatch after ENGD_HOME is set):
# site settings, the launcher, and a checkpointed run that forwards USR1/TERM to engd and
# requeues the job when engd exits with 75 ("checkpoint written, requeue me").
#
#   engd_abspath PATH               PATH made absolute (relative to the current directory)
#   engd_check_settings             refuse (engd-job: error:, exit 1) a bad numeric or choice setting
#   engd_job_start                  check the settings, load modules, check the binary, print a
#                                   header, and change to the checkout (engd's configs name each
#                                   other relative to it)
#   engd_claim_dir DIR              make DIR this job's directory, or refuse (exit 1) a directory
#                                   that holds another job's run (ENGD_CONTINUE=1: take it over)
#   engd_parse_line LINE            the words of a sweep line (shell-like quoting, nothing
#                                   expanded) into the array ENGD_WORDS
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
# engd_error MESSAGE: one line "engd-job: error: MESSAGE" on stderr; engd_die also exits with 1
engd_error() { echo "engd-job: error: $*" >&2; }
engd_die() { engd_error "$@"; exit 1; }

engd_abspath() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }

# _engd_uint NAME MIN: the variable NAME must be a whole number >= MIN (at most 9 digits); it is
# normalised to decimal (so 010 is 10, not octal 8, in $((...))).
_engd_uint() {
  local v=${!1}
  if ! [[ $v =~ ^[0-9]{1,9}$ ]] || [ "$((10#$v))" -lt "$2" ]; then
    engd_die "$1='$v' is not a whole number >= $2 (set it in the environment or jobs/site.sh)"
  fi
  printf -v "$1" '%d' "$((10#$v))"
}

# engd_check_settings: the numeric and choice settings of jobs/site.sh, as the environment may
# have changed them; the first bad one ends the job before anything runs.
engd_check_settings() {
  _engd_uint ENGD_MAX_REQUEUES 0
  _engd_uint ENGD_TIME_MARGIN 0
  _engd_uint ENGD_WEAK_INTERIOR 1
  _engd_uint ENGD_WEAK_BOUNDARY 1
  local r
  # shellcheck disable=SC2153 # ENGD_RANKS comes from the environment only
  for r in $ENGD_RANKS; do
    if ! [[ $r =~ ^[0-9]{1,6}$ ]] || [ "$((10#$r))" -lt 1 ]; then
      engd_die "ENGD_RANKS='$ENGD_RANKS': '$r' is not a rank count (want whole numbers >= 1, e.g. \"1 2 4 8\")"
    fi
  done
  case "$ENGD_LAUNCHER" in mpirun | srun) ;; *) engd_die "ENGD_LAUNCHER must be mpirun or srun, not '$ENGD_LAUNCHER'" ;; esac
  case "${ENGD_CONTINUE:-0}" in 0 | 1) ;; *) engd_die "ENGD_CONTINUE must be 0 or 1, not '$ENGD_CONTINUE'" ;; esac
}

engd_job_start() {
  engd_check_settings
  if [ -n "$ENGD_MODULES" ]; then
    command -v module >/dev/null 2>&1 || engd_die "ENGD_MODULES is set but there is no 'module' command"
    # shellcheck disable=SC2086
    module load $ENGD_MODULES || engd_die "module load $ENGD_MODULES failed"
  fi
  [ -x "$ENGD_BIN" ] || engd_die "$ENGD_BIN is not an executable (build with make, or set ENGD_BIN)"
  # relative directories are relative to where the job started (the submit directory), not the checkout
  ENGD_RUNS=$(engd_abspath "$ENGD_RUNS")
  [ -n "$ENGD_JOB_DIR" ] && ENGD_JOB_DIR=$(engd_abspath "$ENGD_JOB_DIR")
  # engd sets one BLAS thread per rank itself; keep OpenMP-threaded libraries from oversubscribing too
  export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
  cd "$ENGD_HOME" || engd_die "cannot change to $ENGD_HOME"
  engd_log "job ${SLURM_JOB_ID:-none}${SLURM_ARRAY_TASK_ID:+ (array task $SLURM_ARRAY_TASK_ID)} on ${SLURM_JOB_NODELIST:-$(hostname)}, ${SLURM_NTASKS:-1} tasks, start ${SLURM_RESTART_COUNT:-0} (restarts so far), launcher $ENGD_LAUNCHER, $ENGD_BIN"
}

# engd_launcher RANKS: the site's launcher command for RANKS ranks, into the array ENGD_LAUNCH.
# shellcheck disable=SC2206 # ENGD_MPIRUN and ENGD_SRUN_FLAGS are word lists
engd_launcher() {
  case "$ENGD_LAUNCHER" in
    mpirun) ENGD_LAUNCH=($ENGD_MPIRUN -n "$1") ;;
    srun) ENGD_LAUNCH=(srun $ENGD_SRUN_FLAGS -n "$1") ;;
    *) engd_error "ENGD_LAUNCHER must be mpirun or srun, not '$ENGD_LAUNCHER'"; return 1 ;;
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

# A job directory belongs to the job that first used it: DIR/job-id holds its id (SLURM_JOB_ID,
# which a requeue keeps; without Slurm local:<host>:<pid>). Another job, e.g. a second job with
# the same exported ENGD_JOB_DIR, is refused, so that no two jobs share checkpoints or results;
# ENGD_CONTINUE=1 lets a job take over the directory of a job that has ended (to go on with a
# run that stopped at ENGD_MAX_REQUEUES, say).
_engd_self() { if [ -n "$SLURM_JOB_ID" ]; then echo "$SLURM_JOB_ID"; else echo "local:$(hostname):$$"; fi; }
# _engd_active ID: is the job ID still queued, running or ending?
_engd_active() {
  local host pid
  case "$1" in
    local:*:*) host=${1#local:}; pid=${host##*:}; host=${host%:*}
      [ "$host" = "$(hostname)" ] && kill -0 "$pid" 2>/dev/null ;;
    *) case "$(squeue -h -j "$1" -o %T 2>/dev/null | head -n 1)" in
         PENDING | RUNNING | SUSPENDED | COMPLETING | CONFIGURING | REQUEUE* | RESIZING | SIGNALING | STAGE_OUT) return 0 ;;
         *) return 1 ;;
       esac ;;
  esac
}
engd_claim_dir() {
  local dir=$1 self owner
  self=$(_engd_self)
  mkdir -p "$dir" || engd_die "cannot create $dir"
  # an empty directory is claimed by creating job-id exclusively (noclobber): of two jobs
  # starting at once in the same directory one wins, the other finds the winner's id below
  if [ ! -e "$dir/job-id" ] && [ -z "$(ls -A "$dir")" ] && (set -C; echo "$self" >"$dir/job-id") 2>/dev/null; then
    return 0
  fi
  owner=$(head -n 1 "$dir/job-id" 2>/dev/null)
  [ "$owner" = "$self" ] && return 0 # this job, requeued
  if [ "${ENGD_CONTINUE:-0}" = 1 ]; then
    if [ -n "$owner" ] && _engd_active "$owner"; then
      engd_die "$dir belongs to job $owner, which has not ended: ENGD_CONTINUE=1 continues a run only once its job has ended"
    fi
    { echo "$self" >"$dir/job-id.$$" && mv -f "$dir/job-id.$$" "$dir/job-id"; } || engd_die "cannot write $dir/job-id"
    engd_log "ENGD_CONTINUE=1: continuing the run of job ${owner:-unknown} in $dir"
    return 0
  fi
  if [ -n "$owner" ]; then
    engd_die "$dir holds the run of job $owner ($dir/job-id), not of this job ($self): set ENGD_JOB_DIR to a new directory (or unset it), or ENGD_CONTINUE=1 to continue that run once job $owner has ended"
  fi
  engd_die "$dir is not empty and has no job-id (not a job directory, or one from before job-id files): set ENGD_JOB_DIR to a new directory (or unset it), or ENGD_CONTINUE=1 to continue the run in it"
}

# engd_parse_line LINE: the words of LINE into the array ENGD_WORDS: split at blanks, a word may
# be quoted as xargs reads it ('...' or "..." literally, a backslash outside quotes escapes the
# next character); nothing is expanded or run. Returns 1 on an unbalanced quote.
engd_parse_line() {
  local words
  words=$(printf '%s\n' "$1" | xargs printf '%s\n' 2>/dev/null) || return 1
  # shellcheck disable=SC2034 # ENGD_WORDS is for the job scripts
  mapfile -t ENGD_WORDS <<<"$words"
}

# engd_newest_checkpoint DIR: the name of the newest of engd's checkpoints DIR/ckpt-<8 digits>.h5
# (engd writes them atomically: a name that exists is a complete file), empty when there is none.
engd_newest_checkpoint() {
  local f newest=""
  for f in "$1"/ckpt-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9].h5; do [ -e "$f" ] && newest=${f##*/}; done
  echo "$newest"
}

ENGD_PID=""
ENGD_SIGNALLED=0
ENGD_SIGNAL=""
# Signals of the batch shell (--signal=B:USR1@s, scancel --signal=USR1 --batch, or SIGTERM) are
# handed to engd as USR1: the launcher passes USR1 on to every rank, and engd answers it by
# writing a checkpoint and exiting with 75.
_engd_forward() {
  ENGD_SIGNALLED=1
  ENGD_SIGNAL=$1
  engd_log "received SIG$1: asking engd to checkpoint and stop (USR1 to pid ${ENGD_PID:-none})"
  [ -n "$ENGD_PID" ] && kill -USR1 "$ENGD_PID" 2>/dev/null
}

# engd_checkpointed DIR RANKS ENGD_OPTIONS...: a restartable run in DIR (claimed with
# engd_claim_dir). The options the job supplies come first, so ENGD_OPTIONS (an -options_file,
# extra options) can override them:
#   [-time_limit s] -checkpoint_dir DIR/checkpoints -restart latest -output DIR/run.h5
# Slurm's TERM to every process of the job (scancel --full, preemption, the time limit) reaches
# the launcher too, and Open MPI's mpirun then exits with 1 although the ranks wrote a checkpoint
# and exited with 75: a run stopped by a signal (trapped here, or the launcher killed by one)
# that wrote a new checkpoint counts as 75. Without a new checkpoint its code stays a failure.
engd_checkpointed() {
  local dir=$1 ranks=$2 before after left rc
  shift 2
  engd_claim_dir "$dir"
  mkdir -p "$dir/checkpoints" || engd_die "cannot create $dir/checkpoints"
  before=$(engd_newest_checkpoint "$dir/checkpoints")
  : >"$dir/.run-start" || engd_die "cannot write $dir/.run-start"
  set -- -checkpoint_dir "$dir/checkpoints" -restart latest -output "$dir/run.h5" "$@"
  left=$(engd_time_left)
  if [ -n "$left" ] && [ "$ENGD_TIME_MARGIN" -gt 0 ] && [ "$left" -gt "$ENGD_TIME_MARGIN" ]; then
    set -- -time_limit $((left - ENGD_TIME_MARGIN)) "$@"
  fi
  # shellcheck disable=SC2086
  set -- "$ENGD_BIN" "$@" $ENGD_EXTRA_OPTIONS
  engd_log "run in $dir: $*"
  ENGD_SIGNAL=""
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
  # bash can lose the status of a child that ends while a trap runs (the second wait then gives
  # -1, or 127 for an unknown pid): a failure, unless a new checkpoint below makes it a requeue
  if [ "$rc" -lt 0 ] || { [ "$rc" = 127 ] && [ -n "$ENGD_SIGNAL" ]; }; then
    engd_log "engd's exit code was lost (wait gave $rc): taking it as 1"
    rc=1
  fi
  trap - USR1 TERM
  ENGD_PID=""
  engd_log "engd exited with code $rc"
  case "$rc" in
    0 | "$ENGD_EXIT_REQUEUE" | 3) ;;
    *)
      if [ -n "$ENGD_SIGNAL" ] || [ "$rc" -gt 128 ]; then
        local by=${ENGD_SIGNAL:+SIG$ENGD_SIGNAL}
        by=${by:-a signal}
        after=$(engd_newest_checkpoint "$dir/checkpoints")
        if [ -n "$after" ] && { [ "$after" != "$before" ] || [ "$dir/checkpoints/$after" -nt "$dir/.run-start" ]; }; then
          engd_log "stopped by $by (the launcher exited with $rc) after writing $after: taking it as code $ENGD_EXIT_REQUEUE (checkpointed)"
          rc=$ENGD_EXIT_REQUEUE
        else
          engd_log "stopped by $by without writing a new checkpoint (newest: ${after:-none}): a failure"
        fi
      fi ;;
  esac
  rm -f "$dir/.run-start"
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
      [[ $restarts =~ ^[0-9]{1,9}$ ]] || restarts=0
      # a bad ENGD_MAX_REQUEUES never requeues (engd_job_start refuses it before the run)
      if ! [[ $ENGD_MAX_REQUEUES =~ ^[0-9]{1,9}$ ]] || [ "$restarts" -ge "$ENGD_MAX_REQUEUES" ]; then
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
  engd_claim_dir "$dir"
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
