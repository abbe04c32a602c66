/* Checkpoint: HDF5 files from which a run continues exactly where it stopped: the same history,
   bit for bit, on the same rank count as a run that was never interrupted.

   Files are <dir>/ckpt-<iteration, 8 digits>.h5 in -checkpoint_dir. All state is replicated,
   so rank 0 builds the file in memory and puts it in place atomically (atomicfile.h: a
   temporary ckpt-<k>.h5.<run id>-XXXXXX.tmp, fsync, rename, fsync of the directory). Every run
   has an id (16 hex digits; a restart continues its checkpoint's) and holds the lock
   <dir>/.engd-lock; after a write only this run's files are rotated: older ones beyond
   -checkpoint_keep, and its files of LATER iterations (left before a restart from an earlier
   checkpoint), and its stale temporaries. Other runs' files are never removed or replaced.
   Layout (format_version 2; every non-empty dataset with HDF5's Fletcher-32 checksum):
     /                     attributes format = "engd-checkpoint", format_version, run_id,
                           iteration, failures (consecutive rejected steps), step_time
                           (optimizer seconds so far), ranks (of the writer, for information)
     /model/parameters     P values; /model/widths n_0 = d, ..., n_L = 1 (attributes activation, seed)
     /problem              attributes type, dim, description (ProblemView's text)
     /optimizer            attribute type; one dataset per OptimizerState entry (Adam:
                           iteration, moment1, moment2, step; ENGD: iteration, rcond)
     /sampler              attributes type, seed, resample_every, epoch (of the last iteration)
     /history/{iteration,loss,rel_l2,rel_h1,rms,eta,damping,wall_s}   rows 0..iteration, and a
                           dataset per further History column the run registered
     /options              attribute text: the options of the run that wrote it, one per line

   On load the file (a regular file) is read by rank 0, broadcast, and opened from memory on
   every rank (so all ranks reach the same verdict); it must be an HDF5 file of this format and
   version whose checksums match, whose parameters and optimizer state are finite, and whose
   problem description, sampler, seed, network (dim, widths, activation), parameter count and
   optimizer type match the current run, and which holds every History column the run
   registered (columns it does not register are ignored).

   The code: checkpoint.c (the object and its directory: names, run ids and ownership, lock,
   rotation), checkpointfile.c (the file format: build and parse the image), checkpointrestart.c
   (load, verify, restore), each group's writer and reader in h5<group>.c. */
#ifndef ENGD_CHECKPOINT_H
#define ENGD_CHECKPOINT_H

#include <engd/optimizer.h>
#include <engd/history.h>

#define CHECKPOINT_FORMAT_VERSION 2

typedef struct _p_Checkpoint *Checkpoint;

/* The state of a run after `iteration` iterations, beyond its options: what a checkpoint holds
   and a restart restores. Zero-initialise; buffers are reused by repeated captures. */
typedef struct {
  PetscInt       iteration; /* iterations done */
  PetscInt       failures;  /* consecutive rejected (non-finite) steps at that point */
  PetscReal      step_time; /* optimizer time over all iterations so far, s */
  PetscInt       n_history; /* the run's History rows [0, n_history) belong to this state */
  PetscInt       epoch;     /* the resampling epoch of the point set (ObjectiveGetSampling) */
  PetscInt       n_params;
  PetscReal     *theta;
  OptimizerState optimizer;
} CheckpointState;

/* Copy the current parameters (of the objective's model), the optimizer state and the
   objective's resampling epoch (cheap: O(P)); the History's rows so far belong to the state. */
PetscErrorCode CheckpointStateCapture(CheckpointState *, Objective, Optimizer, PetscInt iteration, PetscInt failures, PetscReal step_time, History);
PetscErrorCode CheckpointStateDestroy(CheckpointState *);

PetscErrorCode CheckpointCreate(MPI_Comm, Checkpoint *);
/* Options: -checkpoint_dir dir (checkpoints)  -checkpoint_keep n (2)  -restart file|latest */
PetscErrorCode CheckpointSetFromOptions(Checkpoint);
/* One-line error if the directory cannot be written, and this run's identity (a random id,
   replaced by the checkpoint's on a restart). requested: the run asked for checkpoints
   (-checkpoint_every, -time_limit; -checkpoint_dir and -restart count too): then the directory
   is created now and its lock <dir>/.engd-lock taken for the whole run (a second writer is
   refused with a line naming the holder); otherwise both wait for the first write (a signal). */
PetscErrorCode CheckpointSetUp(Checkpoint, PetscBool requested);
/* After CheckpointRestart: refuse a directory that holds checkpoints of another run (another
   run id), unless -checkpoint_overwrite. Collective. */
PetscErrorCode CheckpointClaimDirectory(Checkpoint);
/* Whether the run asked for checkpoints (see CheckpointSetUp): only then is a divergence's
   last good state written. */
PetscErrorCode CheckpointIsRequested(Checkpoint, PetscBool *);
PetscErrorCode CheckpointDestroy(Checkpoint *);
PetscErrorCode CheckpointGetDirectory(Checkpoint, const char **dir);

/* Write the state as <dir>/ckpt-<iteration>.h5 (collective; rank 0 writes). path receives the
   file's name. history rows [0, state->n_history) are written. */
PetscErrorCode CheckpointWrite(Checkpoint, Objective, Optimizer, const CheckpointState *, History, char path[], size_t path_size);

/* -restart: with a file, load it (any problem is an error naming the file); with "latest", the
   newest checkpoint of -checkpoint_dir that reads back (unreadable ones are skipped with a
   warning; none at all: *restarted = false and a line saying the run starts fresh). The
   parameters, optimizer state and point set are restored, history (its columns registered, no
   rows yet) receives the rows so far in every column, and state the iteration count, failures
   and step time. Collective. */
PetscErrorCode CheckpointRestart(Checkpoint, Objective, Optimizer, History, CheckpointState *, PetscBool *restarted, char path[], size_t path_size);

#endif
