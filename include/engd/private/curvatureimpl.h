/* For implementations of CurvatureSolver (curvature.h). */
#ifndef ENGD_CURVATUREIMPL_H
#define ENGD_CURVATUREIMPL_H

#include <engd/curvature.h>

typedef struct {
  PetscErrorCode (*setup)(CurvatureSolver);
  PetscErrorCode (*setoperator)(CurvatureSolver, const CurvatureOperator *);
  PetscErrorCode (*solve)(CurvatureSolver, const CurvatureRegularization *, const PetscReal *, PetscReal *, CurvatureSolveInfo *);
  PetscErrorCode (*solveresidual)(CurvatureSolver, const CurvatureRegularization *, PetscReal *, CurvatureSolveInfo *); /* optional */
  PetscErrorCode (*getmatrix)(CurvatureSolver, PetscReal *);
  PetscErrorCode (*geteigenvalues)(CurvatureSolver, PetscInt *, const PetscReal **); /* optional */
  PetscErrorCode (*memory)(CurvatureSolver, PetscLogDouble *);
  PetscErrorCode (*view)(CurvatureSolver, PetscViewer);
  PetscErrorCode (*destroy)(CurvatureSolver);
} CurvatureSolverOps;

struct _p_CurvatureSolver {
  MPI_Comm           comm;
  PetscMPIInt        rank, size;
  char               type[64];
  CurvatureSolverOps ops;
  void              *data;
  PetscInt           n_params, n_rows_max;
  CurvatureSolveType solve_type;
  PetscInt           block_size; /* ScaLAPACK block size */
  PetscReal          memory_budget_mb;
  PetscBool          auto_chosen;
  PetscBool          setup_called;
  const CurvatureOperator *op; /* of the current iteration */
  CurvatureFilter          filter; /* the indefinite solver's */
};

/* Spectral filter of the damped pseudo-inverse: factor[i] = 1/(lambda_i + damping) for kept
   eigenvalues (lambda_i > rcond * lambda_max), 0 otherwise. Eigenvalues ascending. */
PetscErrorCode CurvatureSpectralFilter(PetscInt n, const PetscReal *lambda, PetscReal rcond, PetscReal damping, PetscReal *factor, CurvatureSolveInfo *);

/* Effective shift of the Cholesky solve: the damping plus rcond times the largest diagonal
   entry, the Tikhonov counterpart of the eigenvalue cut-off. */
PetscReal CurvatureCholeskyShift(const CurvatureRegularization *, PetscReal max_diagonal);

/* The auto choice (auto.c): the sizes and budgets it weighs, and what it chose and why. */
typedef struct {
  PetscInt    n_params, n_rows, n_rows_max; /* P, N global rows, the most rows on a rank */
  PetscMPIInt ranks;
  PetscReal   budget_mb;     /* -gram_memory_mb: what the solver may store per rank */
  PetscReal   node_mb;       /* the node's memory per rank: the rows must fit in it */
  PetscBool   residual_form; /* a least-squares loss: the kernel's d = J~^T (K + lambda I)^+ r~ applies */
} CurvatureAutoInput;

typedef struct {
  char      type[64];
  PetscBool matrix_free; /* cg: the rows do not fit, use the Objective's J v and J^T w products */
  char      why[256];
} CurvatureAutoChoice;

PetscErrorCode CurvatureSolverChooseAuto(const CurvatureAutoInput *, CurvatureAutoChoice *);

PETSC_EXTERN PetscErrorCode CurvatureSolverCreate_Replicated(CurvatureSolver);
PETSC_EXTERN PetscErrorCode CurvatureSolverCreate_ScaLAPACK(CurvatureSolver);
PETSC_EXTERN PetscErrorCode CurvatureSolverCreate_Indefinite(CurvatureSolver);

#endif
