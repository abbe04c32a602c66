# shellcheck shell=bash
# Site settings of the engd Slurm jobs: the one place to adapt them to a cluster. Sourced by
# jobs/lib.sh inside every job and by jobs/submit.sh before sbatch. Each value can also be
# given in the environment of sbatch / jobs/submit.sh (sbatch exports it into the job), which
# wins over the default here.

# Partition and account: passed to sbatch by jobs/submit.sh (-p / -A); empty = site default.
: "${ENGD_PARTITION:=}"
: "${ENGD_ACCOUNT:=}"
# Environment modules loaded in the job before anything runs (e.g. "openmpi/4.1 petsc/3.18").
: "${ENGD_MODULES:=}"
# The engd binary.
: "${ENGD_BIN:=$ENGD_HOME/bin/engd}"
# How ranks are started: mpirun (ENGD_MPIRUN -n R ...) or srun (srun ENGD_SRUN_FLAGS -n R ...).
# scripts/mpirun.sh is mpirun --oversubscribe plus what root needs on the project's machines; a
# cluster usually wants plain "mpirun" or ENGD_LAUNCHER=srun with its PMI flavour.
: "${ENGD_LAUNCHER:=mpirun}"
: "${ENGD_MPIRUN:=$ENGD_HOME/scripts/mpirun.sh}"
: "${ENGD_SRUN_FLAGS:=--mpi=pmix}"
# Where job directories go: $ENGD_RUNS/<job name>-<job id>/ (checkpoints, results, -log_view).
: "${ENGD_RUNS:=${SLURM_SUBMIT_DIR:-$PWD}/runs}"
# engd gets -time_limit <time left - ENGD_TIME_MARGIN> (s) so that it checkpoints by itself even if
# the USR1 of --signal never arrives; 0 disables it.
: "${ENGD_TIME_MARGIN:=120}"
# A job that keeps exiting 75 is requeued at most this many times. The numbers here must be
# whole numbers (the jobs refuse anything else before they run).
: "${ENGD_MAX_REQUEUES:=20}"
# Extra options for every engd run (e.g. "-checkpoint_every 100").
: "${ENGD_EXTRA_OPTIONS:=}"
# Weak scaling (jobs/weak_scaling.sbatch): interior and boundary points per rank (the default
# job's 900 + 120 on one rank).
: "${ENGD_WEAK_INTERIOR:=900}"
: "${ENGD_WEAK_BOUNDARY:=120}"
