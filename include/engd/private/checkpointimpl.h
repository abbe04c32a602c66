/* What the three files of the Checkpoint share (layout in include/engd/checkpoint.h):
     src/io/checkpoint.c         the object and its directory: options, run ids and ownership,
                                 the lock, file names, listing and rotation; CheckpointWrite
     src/io/checkpointfile.c     the file format (version 2): the captured state, the image
                                 built from each object's group writer and parsed back
     src/io/checkpointrestart.c  -restart: read, verify and restore a checkpoint */
#ifndef ENGD_CHECKPOINTIMPL_H
#define ENGD_CHECKPOINTIMPL_H

#include <engd/checkpoint.h>
#include <engd/private/h5io.h>

#define CHECKPOINT_FORMAT "engd-checkpoint"
#define RUN_ID_LENGTH     16 /* hex digits */

struct _p_Checkpoint {
  MPI_Comm    comm;
  PetscMPIInt rank, size;
  char        dir[PETSC_MAX_PATH_LEN];
  char        restart[PETSC_MAX_PATH_LEN];
  PetscInt    keep;
  PetscBool   restart_set, dir_set, requested, overwrite;
  char        run_id[RUN_ID_LENGTH + 1]; /* this run's identity; a restart takes the file's */
  char      (*adopted)[RUN_ID_LENGTH + 1]; /* other runs' ids, treated as ours (-checkpoint_overwrite) */
  PetscInt    n_adopted;
  int         lock_fd; /* rank 0: the directory's lock, once taken */
};

/* checkpoint.c. <dir>/ckpt-<iteration>.h5<suffix>; the directory's length is checked by
   CheckpointSetFromOptions. */
void CheckpointFileName(const char *dir, PetscInt iteration, const char *suffix, char *path, size_t size);
/* Iterations of the checkpoint files in dir, newest first (rank 0; none if dir is missing). */
PetscErrorCode CheckpointList(const char *dir, PetscInt *n, PetscInt **iterations);

/* checkpointfile.c. What a checkpoint file holds, parsed. */
typedef struct {
  PetscInt       version, iteration, failures, n_layers, n_params, dim, ranks;
  PetscReal      step_time;
  PetscInt      *widths;
  PetscReal     *theta;
  OptimizerState optimizer;
  History        history; /* a column per dataset of /history */
  char           activation[32], problem[64], optimizer_type[64], sampler[32], run_id[64];
  PetscInt       seed, resample_every;
  char           description[4096];
} CheckpointLoaded;

typedef enum { LOAD_OK, LOAD_CORRUPT, LOAD_MISMATCH } CheckpointLoadStatus;

/* Rank 0: build the checkpoint of the state (history rows [0, state->n_history)) and put it at
   path atomically, its temporary tagged with the run id; reason says why not (empty: written). */
PetscErrorCode CheckpointFileWrite(Checkpoint, Objective, Optimizer, const CheckpointState *, History, const char *path, char reason[], size_t reason_size);
/* Parse a file image (every rank, identically): LOAD_CORRUPT for a damaged file, LOAD_MISMATCH
   for one that is not an engd checkpoint of this format version; reason says why. */
PetscErrorCode CheckpointFileParse(char *image, long long size, CheckpointLoaded *, CheckpointLoadStatus *, char reason[], size_t reason_size);
PetscErrorCode CheckpointLoadedDestroy(CheckpointLoaded *);

#endif
