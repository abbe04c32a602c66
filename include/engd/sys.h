/* Package set-up, log events and small helpers shared by every module. */
#ifndef ENGD_SYS_H
#define ENGD_SYS_H

#include <petscsys.h>
#include <petscviewer.h>
#include <engd/options.h>

/* Log events of the stages of an iteration (shown by -log_view). */
extern PetscLogEvent ENGD_Rows, ENGD_Gram, ENGD_Solve, ENGD_LineSearch, ENGD_Gradient, ENGD_Eval,
  ENGD_Output;

PetscErrorCode EngdInitializePackage(void);

/* Parse a comma-separated list of positive integers ("64,64,48") into a new array. */
PetscErrorCode EngdParseIntList(MPI_Comm, const char *option, const char *text, PetscInt *n, PetscInt **values);

/* Wall-clock seconds (MPI_Wtime). */
static inline PetscLogDouble EngdTime(void) { return MPI_Wtime(); }

#endif
