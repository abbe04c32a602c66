/* Package set-up, log events and small helpers shared by every module. */
#ifndef ENGD_SYS_H
#define ENGD_SYS_H

#include <petscsys.h>
#include <petscviewer.h>
#include <engd/options.h>

/* Every class registers its own log events (-log_view) with its first object: objective.h,
   curvature.h, linesearch.h, and the files' EngdOutput (results and checkpoint writes). */
PetscErrorCode EngdInitializePackage(void);

/* Parse a comma-separated list of positive integers ("64,64,48") into a new array. */
PetscErrorCode EngdParseIntList(MPI_Comm, const char *option, const char *text, PetscInt *n, PetscInt **values);

/* OpenBLAS reads its thread count when the library loads, before main can call anything: if
   the user did not choose (OPENBLAS_NUM_THREADS), set one thread per rank and restart the
   program image (two threads per rank on two cores made a 257 x 257 eigensolve 20x slower).
   Call first thing in main; returns only when nothing is to be done or exec failed. */
void EngdEnsureOneBlasThread(char **argv);

/* Wall-clock seconds (MPI_Wtime). */
static inline PetscLogDouble EngdTime(void) { return MPI_Wtime(); }

#endif
