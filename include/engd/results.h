/* Results: the HDF5 file of a finished run, built in memory by rank 0, written to a temporary
   <path>-XXXXXX.tmp, fsynced and renamed into place only when complete, so a reader never sees
   a half-written file and a failed write (a full disk) leaves whatever was there. Layout:
     /history/{iteration,loss,rel_l2,rel_h1,rms,eta,damping,wall_s} and a dataset per further
              History column (h5history.c)
     /model/parameters, /model/widths   (attribute activation)
     /summary  attributes iterations, loss, rel_l2, rel_h1, rms, wall_s, s_per_it, params, points, ranks
     /options  attribute text: every option of the run, one per line */
#ifndef ENGD_RESULTS_H
#define ENGD_RESULTS_H

#include <engd/model.h>
#include <engd/history.h>

typedef struct {
  PetscInt  iterations, params, points, ranks;
  PetscReal loss, rel_l2, rel_h1, rms, wall_s, s_per_it;
} ResultsSummary;

/* Before training: fail if path cannot take the results (it exists and is not a regular file,
   e.g. a device, FIFO, directory or symbolic link; its directory is missing or read-only), and
   lock <path>.lock for the rest of the process (a second run writing the same file is refused,
   the error naming the holder; the lock file goes at the end). Creates no temporary. */
PetscErrorCode ResultsReserve(MPI_Comm, const char path[]);
PetscErrorCode ResultsWrite(MPI_Comm, const char path[], Model, const PetscReal *theta, History, const ResultsSummary *);
/* The same, but a failed write (a full disk, say) is no error: reason says why (empty: written),
   on every rank, and whatever was at path is left as it was. */
PetscErrorCode ResultsTryWrite(MPI_Comm, const char path[], Model, const PetscReal *theta, History, const ResultsSummary *, char reason[], size_t reason_size);

#endif
