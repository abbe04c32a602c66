/* Results: the HDF5 file of a finished run, written by rank 0 to <path>.tmp and renamed into
   place only when complete, so a reader never sees a half-written file. Layout:
     /history/{iteration,loss,rel_l2,rel_h1,rms,eta,damping,wall_s}
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

/* Fail early, before training, if path cannot be written (tries to create <path>.tmp). */
PetscErrorCode ResultsCheckWritable(MPI_Comm, const char path[]);
PetscErrorCode ResultsWrite(MPI_Comm, const char path[], Model, const PetscReal *theta, History *, const ResultsSummary *);

#endif
