/* For implementations of CurvatureSolver (curvature.h). */
#ifndef ENGD_CURVATUREIMPL_H
#define ENGD_CURVATUREIMPL_H

#include <engd/curvature.h>

typedef struct {
  PetscErrorCode (*setfromoptions)(CurvatureSolver); /* optional: the type's own options */
  PetscErrorCode (*setup)(CurvatureSolver);
  PetscErrorCode (*setoperator)(CurvatureSolver, const CurvatureOperator *);
  PetscErrorCode (*solve)(CurvatureSolver, const CurvatureRegularization *, const PetscReal *, PetscReal *, CurvatureSolveInfo *);
  PetscErrorCode (*solveresidual)(CurvatureSolver, const CurvatureRegularization *, PetscReal *, CurvatureSolveInfo *); /* optional */
  PetscErrorCode (*getmatrix)(CurvatureSolver, PetscReal *);
  PetscErrorCode (*geteigenvalues)(CurvatureSolver, PetscInt *, const PetscReal **); /* optional */
  PetscErrorCode (*memory)(CurvatureSolver, PetscLogDouble *);
  PetscErrorCode (*view)(CurvatureSolver, PetscViewer);
  PetscErrorCode (*destroy)(CurvatureSolver);
  PetscErrorCode (*getksp)(CurvatureSolver, KSP *);                          /* optional */
  PetscErrorCode (*multgram)(CurvatureSolver, const PetscReal *, PetscReal *); /* optional */
  PetscErrorCode (*wantskronecker)(CurvatureSolver, PetscBool *);              /* optional */
  PetscErrorCode (*getstate)(CurvatureSolver, PetscInt *, const PetscReal **); /* optional */
  PetscErrorCode (*setstate)(CurvatureSolver, PetscInt, const PetscReal *);    /* optional */
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
  char               auto_why[256];    /* the auto choice's reason */
  PetscReal          rcond_floor;  /* the smallest relative cut-off above the solver's rounding noise */
  PetscBool          matrix_free; /* cg on the Objective's products: auto chose it, or the rows do not fit (CurvatureRowsFit) */
  PetscInt           n_rows_global;    /* CurvatureSolverSetLoss: N (0: not told) */
  PetscBool          residual_form;    /* and whether the loss is least squares */
  PetscBool          setup_called;
  PetscBool          solve_needs_damping; /* CurvatureSolverSolve needs damping > 0 (kernel) */
  const CurvatureOperator *op; /* of the current iteration */
  char               created[64];   /* the type whose implementation exists ("": none yet) */
  PetscBool          guess_nonzero; /* iterative solvers: start from d's contents */
  PetscInt           sketch_seed, sketch_iteration;
  CurvatureFilter          filter; /* the indefinite solver's */
  KroneckerSum             kron;   /* CurvatureSolverSetKronecker: the caller's, decomposed */
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
PetscBool      CurvatureRowsFit(PetscInt n_params, PetscInt n_rows_max, PetscReal node_mb);

PETSC_EXTERN PetscErrorCode CurvatureSolverCreate_Replicated(CurvatureSolver);
PETSC_EXTERN PetscErrorCode CurvatureSolverCreate_ScaLAPACK(CurvatureSolver);
PETSC_EXTERN PetscErrorCode CurvatureSolverCreate_Kernel(CurvatureSolver);
PETSC_EXTERN PetscErrorCode CurvatureSolverCreate_QR(CurvatureSolver);
PETSC_EXTERN PetscErrorCode CurvatureSolverCreate_KSP(CurvatureSolver);

/* Randomized Nystrom preconditioner (nystrom.c; Frangella, Tropp, Udell 2023, "Randomized
   Nystrom preconditioning", Alg. 2.1 and eq. (5.3)): pc becomes a PCSHELL that, at every
   PCSetUp, sketches Y = G Omega with rank columns through gram(ctx, v, Gv) (Omega the
   orthonormalised Gaussian test matrix of CurvatureNystromTestMatrix for the solver's sketch
   key), forms the stable Nystrom approximation U diag(Lambda) U^T of G and applies
     P^-1 = (Lambda_rank + mu) U (Lambda + mu I)^-1 U^T + (I - U U^T),   mu = the damping. */
PetscErrorCode CurvatureNystromSetUpPC(PC, CurvatureSolver, PetscInt rank, PetscErrorCode (*gram)(void *, const PetscReal *, PetscReal *), void *ctx);
PetscErrorCode CurvatureNystromSetShift(PC, PetscReal mu);
/* Omega: P x rank Gaussian entries, a pure function of (seed, iteration) (before the QR). */
PetscErrorCode CurvatureNystromTestMatrix(PetscInt seed, PetscInt iteration, PetscInt P, PetscInt rank, PetscReal *omega);
PETSC_EXTERN PetscErrorCode CurvatureSolverCreate_Indefinite(CurvatureSolver);

#endif
