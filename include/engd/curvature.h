/* CurvatureSolver: the linear algebra of a preconditioned step. A method (ENGD, Hilbert NGD;
   later kernel, SPRING, Gauss-Newton CG, KFAC, Newton) hands it a curvature operator and asks
   for a direction under a regularisation the method drives:
     normal equations  d = (G + damping I)^+ g,        G = J~^T J~ (summed over ranks), g = grad L
     residual form     d = J~^T (J~ J~^T + damping I)^+ r~       (the kernel solver; the Gram
                       solvers refuse it)
   where ^+ keeps the eigenvalues above rcond * lambda_max (the cut-off). What the solve found
   (eigenvalues kept, lambda_max, iterations, why it stopped, negative eigenvalues) comes back
   as CurvatureSolveInfo, which the method records in the history.

   Implementations (-engd_gram), of the Gram matrix G or the kernel K formed from stored rows,
   and a Krylov solver:
     replicated  a dsyrk per chunk summed in double-double, MPI_Allreduce of the packed G, every
                 rank solves the P x P problem (LAPACK): the same G on any rank count;
     scalapack   G in a 2-D block-cyclic layout, built panel by panel from local dgemms and
                 MPI_Reduce_scatter, pdsyevd: ~P^2/R memory;
     kernel      K = J~ J~^T (N x N) block-cyclic, built from the ranks' rows passed round a ring,
                 pdsyevd or pdpotrf: the residual form, and a general g by push-through
                 (damping > 0): ~N^2/R + N_r P memory, the choice when N < P;
     cg          Krylov (PETSc KSP: CG, MINRES, CR) on a MATSHELL applying G + damping I from
                 the stored rows or matrix-free (CURVATURE_SHELL); preconditioner none, Jacobi
                 or randomized Nystrom; ignores rcond (ksp.c, nystrom.c);
     auto        chosen by a cost and memory model (auto.c).
   and of an assembled symmetric, possibly indefinite matrix H (CURVATURE_MATRIX, Newton):
     indefinite  every rank holds the same H and computes its eigendecomposition (LAPACK
                 dsyevd), the direction under the filter of CurvatureRegularization.
   A new solver is one file with CurvatureSolverCreate_<Name> (the ops of curvatureimpl.h) and
   one CurvatureSolverRegister line in solver.c. */
#ifndef ENGD_CURVATURE_H
#define ENGD_CURVATURE_H

#include <engd/sys.h>
#include <engd/kronecker.h>
#include <petscksp.h>

/* What a solver is given. */
typedef enum {
  CURVATURE_ROWS,   /* stored rows J~ of this rank (and their residuals r~) */
  CURVATURE_SHELL,  /* products v -> J~ v and w -> J~^T w (matrix-free; the large-P work) */
  CURVATURE_MATRIX  /* an assembled symmetric P x P matrix, possibly indefinite (exact Newton) */
} CurvatureOperatorType;

typedef struct {
  CurvatureOperatorType type;
  PetscInt              n_params;
  /* CURVATURE_ROWS: jac_t is P x n_rows_local (leading dimension P, room for n_rows_max columns:
     a solver may zero the columns past n_rows_local to use them as padding), in n_chunks chunks,
     chunk c the rows [chunk_row[c], chunk_row[c+1]), n_rows_local = chunk_row[n_chunks]. Sums
     go chunk by chunk in double-double, so G does not depend on the rank count when the chunks
     are fixed global ranges (objective.h). res: the rows' residuals r~ (n_rows_local). */
  PetscReal      *jac_t, *res;
  PetscInt        n_chunks, n_rows_max;
  const PetscInt *chunk_row;
  /* CURVATURE_SHELL: mult gives this rank's J~ v (its rows), mult_transpose J~^T w summed over
     ranks (replicated) */
  PetscErrorCode (*mult)(void *ctx, const PetscReal *v, PetscReal *Jv);
  PetscErrorCode (*mult_transpose)(void *ctx, const PetscReal *w, PetscReal *JTw);
  void *ctx;
  /* CURVATURE_MATRIX: P x P, column-major, replicated */
  const PetscReal *matrix;
  /* CURVATURE_SHELL, optional: G v = J~^T (J~ v) in one pass, and diag G (both replicated,
     summed over ranks) */
  PetscErrorCode (*mult_gram)(void *ctx, const PetscReal *v, PetscReal *Gv);
  PetscErrorCode (*diagonal)(void *ctx, PetscReal *diag);
} CurvatureOperator;

/* A rows operator over the given storage (see above). */
static inline CurvatureOperator CurvatureRowsOperator(PetscInt n_params, PetscReal *jac_t, PetscReal *res, PetscInt n_chunks, const PetscInt chunk_row[], PetscInt n_rows_max)
{
  CurvatureOperator op = {CURVATURE_ROWS, n_params, jac_t, res, n_chunks, n_rows_max, chunk_row, NULL, NULL, NULL, NULL, NULL, NULL};
  return op;
}

/* Jv = J~ v on this rank's rows of a rows operator (n_rows_local values), one dgemv per chunk, so
   every entry is the same bits on any rank count. */
PetscErrorCode CurvatureRowsMult(const CurvatureOperator *, const PetscReal *v, PetscReal *Jv);
/* How the indefinite solver (CURVATURE_MATRIX; CurvatureSolverSetFilter) inverts the eigenvalues lambda_i of H, with
   mu = damping and the cut-off relative to the largest |.| of the filtered values:
     signed    1/(lambda_i + mu) where |lambda_i + mu| > rcond max_j |lambda_j + mu|  (Newton,
               LM-Newton: H^+ and (H + mu I)^+, the ENGD cut-off on |lambda|)
     absolute  1/(|lambda_i| + mu) where |lambda_i| > rcond max_j |lambda_j|   (saddle-free
               Newton, Dauphin et al. 2014: |H|^+)
   The Gram solvers ignore it (their G is semi-definite). */
typedef enum { CURVATURE_FILTER_SIGNED, CURVATURE_FILTER_ABSOLUTE } CurvatureFilter;

/* The regularisation the method drives: relative eigenvalue cut-off and damping. */
typedef struct {
  PetscReal rcond;   /* keep eigenvalues above rcond * lambda_max; cholesky adds rcond * max diag */
  PetscReal damping; /* lambda added to the kept eigenvalues (cholesky: to the diagonal) */
} CurvatureRegularization;

typedef struct {
  PetscInt  n_kept;          /* eigenvalues kept by the cut-off (eigen solves); P for Cholesky */
  PetscReal lambda_max, lambda_min_kept;
  PetscBool used_fallback;   /* Cholesky failed, eigen used */
  PetscInt  iterations;      /* iterative solvers: Krylov iterations (0: direct) */
  PetscInt  reason;          /* iterative solvers: a KSPConvergedReason (0: direct) */
  PetscInt  n_negative;      /* eigenvalues below zero (indefinite operators; 0 for a Gram) */
  PetscReal lambda_min;      /* indefinite operators: the smallest eigenvalue */
} CurvatureSolveInfo;

/* -engd_solve: eigen = pseudo-inverse via eigendecomposition; cholesky = damped Cholesky that
   falls back to eigen when the factorisation fails. */
typedef enum { CURVATURE_SOLVE_EIGEN, CURVATURE_SOLVE_CHOLESKY } CurvatureSolveType;
extern const char *const CurvatureSolveTypes[];

typedef struct _p_CurvatureSolver *CurvatureSolver;

/* Log events (-log_view), registered with the first solver: forming the operator's matrix
   (EngdGram) and the solve (EngdSolve). */
extern PetscClassId  CURVATURESOLVER_CLASSID;
extern PetscLogEvent CURVATURESOLVER_Gram, CURVATURESOLVER_Solve;

/* The registered solvers (-engd_gram), and auto: chosen by the memory model at set-up. */
#define CURVATURESOLVERREPLICATED "replicated"
#define CURVATURESOLVERSCALAPACK  "scalapack"
#define CURVATURESOLVERKERNEL     "kernel"
#define CURVATURESOLVERCG         "cg"
#define CURVATURESOLVERINDEFINITE "indefinite"
#define CURVATURESOLVERQR         "qr"
#define CURVATURESOLVERAUTO       "auto"

PetscErrorCode CurvatureSolverRegister(const char name[], PetscErrorCode (*create)(CurvatureSolver));
PetscErrorCode CurvatureSolverCreate(MPI_Comm, CurvatureSolver *);
PetscErrorCode CurvatureSolverSetType(CurvatureSolver, const char type[]);
/* Sizes: P parameters, at most n_rows_max local rows on any rank. */
PetscErrorCode CurvatureSolverSetSizes(CurvatureSolver, PetscInt n_params, PetscInt n_rows_max);
/* What -engd_gram auto weighs besides the sizes: the global row count N and whether the loss is
   a least-squares one (the kernel's residual form applies). */
PetscErrorCode CurvatureSolverSetLoss(CurvatureSolver, PetscInt n_rows, PetscBool residual_form);
/* After set-up: whether -engd_gram auto chose CG on matrix-free products (the rows do not fit);
   the method then gives the solver a CURVATURE_SHELL operator. */
PetscErrorCode CurvatureSolverGetMatrixFree(CurvatureSolver, PetscBool *matrix_free);
/* The smallest relative cut-off above the solver's rounding noise: 1e-14 for the solvers that form
   G or K in double precision (their eigenvalues below ~1e-15 lambda_max are noise), 1e-20 for qr.
   ENGD's cut-off continuation stops there unless -engd_rcond_min says otherwise. */
PetscErrorCode CurvatureSolverGetCutoffFloor(CurvatureSolver, PetscReal *floor);
/* Options: -engd_gram replicated|scalapack|auto -engd_solve eigen|cholesky -gram_block_size
   -gram_memory_mb */
PetscErrorCode CurvatureSolverSetFromOptions(CurvatureSolver);
PetscErrorCode CurvatureSolverSetUp(CurvatureSolver);
PetscErrorCode CurvatureSolverView(CurvatureSolver, PetscViewer);
PetscErrorCode CurvatureSolverDestroy(CurvatureSolver *);
PetscErrorCode CurvatureSolverGetType(CurvatureSolver, const char **);

/* Give the solver the operator of this iteration (collective); the Gram solvers form G here.
   The operator's storage must stay valid until the next call. */
PetscErrorCode CurvatureSolverSetOperator(CurvatureSolver, const CurvatureOperator *);
/* d = (G + damping I)^+ g under the regularisation; g and d replicated. */
PetscErrorCode CurvatureSolverSolve(CurvatureSolver, const CurvatureRegularization *, const PetscReal *g, PetscReal *d, CurvatureSolveInfo *);
/* d = J~^T (J~ J~^T + damping I)^+ r~ with the operator's residuals (rows operators); d
   replicated. A solver without it raises PETSC_ERR_SUP. */
PetscErrorCode CurvatureSolverSolveResidual(CurvatureSolver, const CurvatureRegularization *, PetscReal *d, CurvatureSolveInfo *);
/* Whether the solver has the residual-form solve (after CurvatureSolverSetUp). */
PetscErrorCode CurvatureSolverHasResidualForm(CurvatureSolver, PetscBool *has_residual_form);
/* Refuse (one line naming -engd_damping) a regularisation that CurvatureSolverSolve cannot use:
   the kernel solver solves a general g by the push-through identity, which needs damping > 0. */
PetscErrorCode CurvatureSolverCheckRegularization(CurvatureSolver, const CurvatureRegularization *);
/* Copy of the assembled G (P x P, replicated on every rank) for tests and diagnostics. */
PetscErrorCode CurvatureSolverGetMatrix(CurvatureSolver, PetscReal *gram);
/* The indefinite solver's filter (default signed); the Gram solvers have none. */
PetscErrorCode CurvatureSolverSetFilter(CurvatureSolver, CurvatureFilter);
/* The eigenvalues of the operator (ascending, replicated, borrowed until the next
   CurvatureSolverSetOperator) of a solver that computes them (indefinite); PETSC_ERR_SUP else. */
PetscErrorCode CurvatureSolverGetEigenvalues(CurvatureSolver, PetscInt *n, const PetscReal **lambda);
/* What a solver carries from one iteration to the next (the replicated solver's moving average
   of G under -gram_ema), for checkpoints: length 0 when it carries nothing. SetState takes an
   array of the length GetState gives. */
PetscErrorCode CurvatureSolverGetState(CurvatureSolver, PetscInt *length, const PetscReal **values);
PetscErrorCode CurvatureSolverSetState(CurvatureSolver, PetscInt length, const PetscReal values[]);
/* Bytes per rank this solver needs, from its memory model. */
PetscErrorCode CurvatureSolverGetMemoryEstimate(CurvatureSolver, PetscLogDouble *bytes_per_rank);

/* Iterative solvers (cg, ksp.c): the KSP on PETSC_COMM_SELF that runs on every rank (tests,
   diagnostics; other solvers raise PETSC_ERR_SUP); with nonzero set, CurvatureSolverSolve starts
   from d's contents (warm start; direct solvers ignore it); G v with the current operator; the
   key of a randomized preconditioner's sketch (the Nystrom test matrix is a function of it). */
PetscErrorCode CurvatureSolverGetKSP(CurvatureSolver, KSP *);
PetscErrorCode CurvatureSolverSetInitialGuessNonzero(CurvatureSolver, PetscBool nonzero);
PetscErrorCode CurvatureSolverMultGram(CurvatureSolver, const PetscReal *v, PetscReal *Gv);
PetscErrorCode CurvatureSolverSetSketchKey(CurvatureSolver, PetscInt seed, PetscInt iteration);
/* -engd_pc_type kfac (cg): whether the solver preconditions with KFAC's inverse, which the
   method then decomposes every iteration (kronecker.h, layout of ObjectiveKFACFactors) and hands
   over (borrowed until the next call) before CurvatureSolverSolve. */
PetscErrorCode CurvatureSolverWantsKronecker(CurvatureSolver, PetscBool *wants);
PetscErrorCode CurvatureSolverSetKronecker(CurvatureSolver, KroneckerSum);

#endif
