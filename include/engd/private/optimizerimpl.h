#ifndef ENGD_OPTIMIZERIMPL_H
#define ENGD_OPTIMIZERIMPL_H

#include <engd/optimizer.h>
#include <engd/diagnostics.h>

typedef struct {
  PetscErrorCode (*setfromoptions)(Optimizer, PetscOptionItems *);
  PetscErrorCode (*setup)(Optimizer);
  /* info->loss (L at theta) and the direction dir; may return before dir when the loss is not
     finite (the base rejects the step); may set info->damping and info->solve */
  PetscErrorCode (*direction)(Optimizer, const PetscReal *theta, PetscReal *dir, OptimizerStepInfo *);
  /* optional: the method's own step from the finite direction instead of the line search: set
     theta, info->eta and info->accepted, or flag info->nonfinite (then theta is restored) */
  PetscErrorCode (*update)(Optimizer, PetscReal *theta, const PetscReal *dir, OptimizerStepInfo *);
  /* optional: told the line search's outcome (ENGD lowers its cut-off after short steps) */
  PetscErrorCode (*poststep)(Optimizer, const OptimizerStepInfo *);
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
  LineSearch   ls;        /* used by the methods without ops.update */
  PetscReal   *dir;          /* the step's direction */
  PetscReal   *theta_before; /* theta before the current step, restored if the step fails */
  PetscBool    setup_called;
  History      history;                /* OptimizerSetHistory: NULL, or where steps are recorded */
  PetscInt     column_eta, column_damping, column_ls; /* column_ls: -1 without a line search */
  PetscInt     column_solve[6]; /* OptimizerAddSolveColumns: -1 until registered */
  HessianDiagnostics diag;      /* -hessian_diagnostics, -classify */
  /* what a method's direction computed at theta that the diagnostics reuse (NULL: none), valid
     during the step: the gradient, the assembled Hessian and its eigenvalues (ascending) */
  const PetscReal *step_grad, *step_hessian, *step_lambda;
};

/* For methods with a curvature solve (in ops.sethistory): register the columns of its
   CurvatureSolveInfo, "solve_kept", "solve_lambda_max", "solve_lambda_min_kept",
   "solve_iterations", "solve_reason", "solve_negative"; OptimizerStep then records them for
   every step whose info->solved is set (NaN otherwise). */
PetscErrorCode OptimizerAddSolveColumns(Optimizer, History);

/* The direction of first-order methods (GD, Adam): the gradient. */
PetscErrorCode OptimizerGradientDirection(Optimizer, const PetscReal *theta, PetscReal *dir, OptimizerStepInfo *);

/* For setstate implementations: the entry `name` of exactly `length` values, or an error that
   names the entry. */
PetscErrorCode OptimizerStateRequire(Optimizer, const OptimizerState *, const char name[], PetscInt length, const PetscReal **values);

PETSC_EXTERN PetscErrorCode OptimizerCreate_ENGD(Optimizer);
PETSC_EXTERN PetscErrorCode OptimizerCreate_Newton(Optimizer);
PETSC_EXTERN PetscErrorCode OptimizerCreate_NewtonSaddleFree(Optimizer);
PETSC_EXTERN PetscErrorCode OptimizerCreate_NewtonLM(Optimizer);
PETSC_EXTERN PetscErrorCode OptimizerCreate_LBFGS(Optimizer);
PETSC_EXTERN PetscErrorCode OptimizerCreate_Tao(Optimizer);
PETSC_EXTERN PetscErrorCode OptimizerCreate_HNGD(Optimizer);
PETSC_EXTERN PetscErrorCode OptimizerCreate_GD(Optimizer);
PETSC_EXTERN PetscErrorCode OptimizerCreate_Adam(Optimizer);
PETSC_EXTERN PetscErrorCode OptimizerCreate_SPRING(Optimizer);
PETSC_EXTERN PetscErrorCode OptimizerCreate_KFAC(Optimizer);
PETSC_EXTERN PetscErrorCode OptimizerCreate_KFACStar(Optimizer);

#endif
