#ifndef ENGD_OPTIMIZERIMPL_H
#define ENGD_OPTIMIZERIMPL_H

#include <engd/optimizer.h>

typedef struct {
  PetscErrorCode (*setfromoptions)(Optimizer, PetscOptionItems *);
  PetscErrorCode (*setup)(Optimizer);
  PetscErrorCode (*step)(Optimizer, OptimizerStepInfo *);
  PetscErrorCode (*view)(Optimizer, PetscViewer);
  PetscErrorCode (*destroy)(Optimizer);
  PetscErrorCode (*getstate)(Optimizer, OptimizerState *);       /* add the method's entries */
  PetscErrorCode (*setstate)(Optimizer, const OptimizerState *); /* read them back */
  PetscErrorCode (*sethistory)(Optimizer, History);             /* register the method's columns; set them (HistorySetValue) in step */
} OptimizerOps;

struct _p_Optimizer {
  MPI_Comm     comm;
  char         type[64];
  OptimizerOps ops;
  void        *data;
  Objective    objective;
  Model        model;
  PetscInt     n_params;
  PetscInt     iteration;
  LineSearch   ls;        /* used by the methods with a grid line search */
  PetscInt     ls_steps;
  PetscReal   *theta_before; /* theta before the current step, restored if the step fails */
  PetscBool    setup_called;
  History      history;                /* OptimizerSetHistory: NULL, or where steps are recorded */
  PetscInt     column_eta, column_damping;
};

/* For setstate implementations: the entry `name` of exactly `length` values, or an error that
   names the entry. */
PetscErrorCode OptimizerStateRequire(Optimizer, const OptimizerState *, const char name[], PetscInt length, const PetscReal **values);

PETSC_EXTERN PetscErrorCode OptimizerCreate_ENGD(Optimizer);
PETSC_EXTERN PetscErrorCode OptimizerCreate_HNGD(Optimizer);
PETSC_EXTERN PetscErrorCode OptimizerCreate_GD(Optimizer);
PETSC_EXTERN PetscErrorCode OptimizerCreate_Adam(Optimizer);

#endif
