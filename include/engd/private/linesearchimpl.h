/* For implementations of LineSearch (linesearch.h). */
#ifndef ENGD_LINESEARCHIMPL_H
#define ENGD_LINESEARCHIMPL_H

#include <engd/linesearch.h>

typedef struct {
  PetscErrorCode (*setup)(LineSearch);
  PetscErrorCode (*apply)(LineSearch, Objective, PetscReal *theta, const PetscReal *dir, PetscReal loss, PetscReal *eta, PetscReal *loss_new);
  PetscErrorCode (*view)(LineSearch, PetscViewer);
  PetscErrorCode (*destroy)(LineSearch);
} LineSearchOps;

struct _p_LineSearch {
  MPI_Comm      comm;
  char          type[64];
  LineSearchOps ops;
  void         *data;
  PetscInt      n_steps; /* -ls_steps: candidates a type may try */
  PetscBool     setup_called;
};

PETSC_EXTERN PetscErrorCode LineSearchCreate_Grid(LineSearch);

#endif
