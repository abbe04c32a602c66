/* The kernel (Woodbury) curvature solver (src/solver/kernel.c) and the QR one (src/solver/qr.c)
   against the dense replicated solver, on random rows that are a function of the global row index, in fixed global chunks of
   uneven sizes (ranks own contiguous ranges of whole chunks, as the Objective's do), with
   garbage in jac_t's padding columns. Checks:
     - N < P, cut-off 1e-8: J^T (K)^+ r (CurvatureSolverSolveResidual) = the replicated G^+ J^T r
       to 1e-8, the same kept count, lambda_max; also damped (eigen), and the Cholesky solve with
       rcond 0 (then both are (G + lambda I)^-1 J^T r);
     - N > P (more rows than parameters): the same direction (the kernel is correct, only dearer);
     - push-through, a general g with damping > 0 (eigen and Cholesky): = the replicated
       (G + lambda I)^-1 g (Cholesky, rcond 0) to 1e-8;
     - damping 0 with a general g is refused (CurvatureSolverSolve and
       CurvatureSolverCheckRegularization), the residual form is not; HasResidualForm says
       kernel yes, replicated no;
     - assembling twice (other rows first) and after a change of the chunk layout;
     - rank counts: on sub-communicators of 1 .. R ranks of this run, the kernel direction agrees
       with the 1-rank one to 1e-10 (pdsyevd's result depends on the process grid, so not
       bitwise), and every rank holds the same direction;
     - qr: the residual form J~^+ r~ (cut-off 1e-8, undamped and damped) and a general g (damped)
       = the replicated direction to 1e-8, N < P and N > P, after a change of chunk layout, and
       the same bits on every sub-communicator of 1 .. R ranks (the TSQR tree is fixed by the
       chunks). */
/* ranks: 1 2 3 */
#include "testing.h"
#include <engd/rng.h>

#define PADDING 1e8

typedef struct {
  const char *name;
  PetscInt    P, n_chunks, chunk_base; /* chunk c has chunk_base + (3 c) % 5 rows */
} Scenario;

/* The rows of this rank of comm: global chunks [R0, R1) with R_k = k C / size. */
typedef struct {
  PetscInt   n_local, n_max, n_chunks, chunk_row[64], n_global;
  PetscReal *jac_t, *res;
} Rows;

static PetscErrorCode RowsCreate(MPI_Comm comm, const Scenario *sc, PetscReal scale, Rows *rows)
{
  PetscMPIInt rank, size;
  PetscInt    c0, c1, row0 = 0;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  c0 = rank * sc->n_chunks / size;
  c1 = (rank + 1) * sc->n_chunks / size;
  rows->n_global = 0;
  for (PetscInt c = 0; c < sc->n_chunks; c++) {
    if (c == c0) row0 = rows->n_global;
    rows->n_global += sc->chunk_base + (3 * c) % 5;
  }
  rows->n_chunks     = c1 - c0;
  rows->chunk_row[0] = 0;
  for (PetscInt c = c0; c < c1; c++) rows->chunk_row[c - c0 + 1] = rows->chunk_row[c - c0] + sc->chunk_base + (3 * c) % 5;
  rows->n_local = rows->chunk_row[rows->n_chunks];
  PetscCall(MPIU_Allreduce(&rows->n_local, &rows->n_max, 1, MPIU_INT, MPI_MAX, comm));
  rows->n_max += 2;
  PetscCall(PetscMalloc2((size_t)sc->P * rows->n_max, &rows->jac_t, rows->n_max, &rows->res));
  for (PetscInt p = 0; p < rows->n_max; p++) {
    for (PetscInt i = 0; i < sc->P; i++) rows->jac_t[p * sc->P + i] = p < rows->n_local ? scale * (2 * RngUniform(7, 0, (uint64_t)((row0 + p) * sc->P + i)) - 1) : PADDING;
    rows->res[p] = p < rows->n_local ? 2 * RngUniform(8, 0, (uint64_t)(row0 + p)) - 1 : PADDING;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode RowsDestroy(Rows *rows)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree2(rows->jac_t, rows->res));
  PetscFunctionReturn(0);
}

static PetscErrorCode SolverCreate(MPI_Comm comm, const char *type, const char *solve, PetscInt P, PetscInt n_max, CurvatureSolver *solver)
{
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsSetValue(NULL, "-engd_gram", type));
  PetscCall(PetscOptionsSetValue(NULL, "-engd_solve", solve));
  PetscCall(PetscOptionsSetValue(NULL, "-gram_block_size", "8"));
  PetscCall(CurvatureSolverCreate(comm, solver));
  PetscCall(CurvatureSolverSetSizes(*solver, P, n_max));
  PetscCall(CurvatureSolverSetFromOptions(*solver));
  PetscCall(CurvatureSolverSetUp(*solver));
  PetscCall(PetscOptionsClearValue(NULL, "-engd_gram"));
  PetscCall(PetscOptionsClearValue(NULL, "-engd_solve"));
  PetscCall(PetscOptionsClearValue(NULL, "-gram_block_size"));
  PetscFunctionReturn(0);
}

/* What one solve is asked: the residual form (g NULL) or a general g. */
typedef struct {
  const char *type, *solve;
  PetscReal   rcond, damping;
  PetscBool   residual; /* kernel: SolveResidual; replicated: Solve(J^T r) */
} Request;

/* d for the request on comm's rows; g = J^T r is formed here for the replicated residual case */
static PetscErrorCode Direction(MPI_Comm comm, const Scenario *sc, const Request *rq, const PetscReal *g, PetscReal *d, CurvatureSolveInfo *info)
{
  Rows                          rows;
  CurvatureSolver               solver;
  const CurvatureRegularization reg = {rq->rcond, rq->damping};
  PetscReal                    *rhs;

  PetscFunctionBeginUser;
  PetscCall(RowsCreate(comm, sc, 3.0, &rows));
  PetscCall(SolverCreate(comm, rq->type, rq->solve, sc->P, rows.n_max, &solver));
  PetscReal *d3 = NULL; /* qr, undamped residual form: the direction at the first operator (rows 3 J~) */
  if (!strcmp(rq->type, CURVATURESOLVERQR) && rq->residual && !g && rq->damping == 0) {
    const CurvatureRegularization first = {rq->rcond, 0.0};
    const CurvatureOperator       op    = CurvatureRowsOperator(sc->P, rows.jac_t, rows.res, rows.n_chunks, rows.chunk_row, rows.n_max);
    PetscCall(PetscMalloc1(sc->P, &d3));
    PetscCall(CurvatureSolverSetOperator(solver, &op));
    PetscCall(CurvatureSolverSolveResidual(solver, &first, d3, NULL));
  }
  { /* first other rows (3 J), then J */
    const CurvatureOperator op = CurvatureRowsOperator(sc->P, rows.jac_t, rows.res, rows.n_chunks, rows.chunk_row, rows.n_max);
    PetscCall(CurvatureSolverSetOperator(solver, &op));
  }
  for (PetscInt k = 0; k < sc->P * rows.n_local; k++) rows.jac_t[k] /= 3.0;
  PetscCall(PetscMalloc1(sc->P, &rhs));
  {
    const CurvatureOperator op = CurvatureRowsOperator(sc->P, rows.jac_t, rows.res, rows.n_chunks, rows.chunk_row, rows.n_max);
    PetscCall(CurvatureSolverSetOperator(solver, &op));
    if (g) PetscCall(CurvatureSolverSolve(solver, &reg, g, d, info));
    else if (!strcmp(rq->type, CURVATURESOLVERKERNEL) || !strcmp(rq->type, CURVATURESOLVERQR)) PetscCall(CurvatureSolverSolveResidual(solver, &reg, d, info));
    else {
      for (PetscInt i = 0; i < sc->P; i++) {
        rhs[i] = 0;
        for (PetscInt p = 0; p < rows.n_local; p++) rhs[i] += rows.jac_t[p * sc->P + i] * rows.res[p];
      }
      PetscCall(MPIU_Allreduce(MPI_IN_PLACE, rhs, sc->P, MPIU_REAL, MPIU_SUM, comm));
      PetscCall(CurvatureSolverSolve(solver, &reg, rhs, d, info));
    }
  }
  if (d3) { /* (3 J~)^+ r~ = J~^+ r~ / 3: the first operator (which sets the layout up) is solved right too */
    for (PetscInt i = 0; i < sc->P; i++) d3[i] *= 3.0;
    CHECK(TestRelDist(sc->P, d3, d) < 1e-10, "%s: qr: the first operator's direction is off by %.1e", sc->name, (double)TestRelDist(sc->P, d3, d));
    PetscCall(PetscFree(d3));
  }
  { /* every rank of comm holds the same direction */
    PetscReal s = 0, lo, hi;
    for (PetscInt i = 0; i < sc->P; i++) s += d[i] * (PetscReal)(i + 1);
    PetscCall(MPIU_Allreduce(&s, &lo, 1, MPIU_REAL, MPIU_MIN, comm));
    PetscCall(MPIU_Allreduce(&s, &hi, 1, MPIU_REAL, MPIU_MAX, comm));
    CHECK(lo == hi, "%s: %s/%s: the direction differs between ranks", sc->name, rq->type, rq->solve);
  }
  PetscCall(PetscFree(rhs));
  PetscCall(CurvatureSolverDestroy(&solver));
  PetscCall(RowsDestroy(&rows));
  PetscFunctionReturn(0);
}

/* The chunk layout changes between two operators: the solver of this type rebuilds what depends
   on it, and the second operator's direction is the replicated one. */
static PetscErrorCode CheckLayoutChange(const Scenario *sc, const char *type, PetscReal *d, PetscReal *d_ref)
{
  MPI_Comm                      comm  = PETSC_COMM_WORLD;
  Scenario                      other = *sc;
  CurvatureSolver               solver;
  Rows                          rows, rows_other;
  CurvatureSolveInfo            info, info_ref;
  PetscReal                     err;
  const Request                 ref = {CURVATURESOLVERREPLICATED, "eigen", 1e-8, 0.0, PETSC_TRUE};
  const CurvatureRegularization reg = {1e-8, 0.0};

  PetscFunctionBeginUser;
  other.chunk_base++;
  PetscCall(RowsCreate(comm, &other, 1.0, &rows_other));
  PetscCall(RowsCreate(comm, sc, 1.0, &rows));
  PetscCall(SolverCreate(comm, type, "eigen", sc->P, PetscMax(rows.n_max, rows_other.n_max), &solver));
  {
    const CurvatureOperator op = CurvatureRowsOperator(sc->P, rows_other.jac_t, rows_other.res, rows_other.n_chunks, rows_other.chunk_row, rows_other.n_max);
    PetscCall(CurvatureSolverSetOperator(solver, &op));
    PetscCall(CurvatureSolverSolveResidual(solver, &reg, d, &info));
  }
  {
    const CurvatureOperator op = CurvatureRowsOperator(sc->P, rows.jac_t, rows.res, rows.n_chunks, rows.chunk_row, rows.n_max);
    PetscCall(CurvatureSolverSetOperator(solver, &op));
    PetscCall(CurvatureSolverSolveResidual(solver, &reg, d, &info));
  }
  PetscCall(Direction(comm, sc, &ref, NULL, d_ref, &info_ref));
  err = TestRelDist(sc->P, d, d_ref);
  CHECK(err < 1e-8, "%s: after a change of chunk layout the %s direction differs by %.1e", sc->name, type, (double)err);
  PetscCall(CurvatureSolverDestroy(&solver));
  PetscCall(RowsDestroy(&rows));
  PetscCall(RowsDestroy(&rows_other));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckScenario(const Scenario *sc)
{
  MPI_Comm           comm = PETSC_COMM_WORLD;
  const PetscInt     P    = sc->P;
  PetscReal         *d_ref, *d, *g, *d_one, lambda_max;
  CurvatureSolveInfo info_ref, info;
  Rows               rows;
  PetscMPIInt        size, rank;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(RowsCreate(comm, sc, 1.0, &rows));
  PetscCall(PetscPrintf(comm, "%s: P = %" PetscInt_FMT ", N = %" PetscInt_FMT " rows in %" PetscInt_FMT " chunks\n", sc->name, P, rows.n_global, sc->n_chunks));
  PetscCall(RowsDestroy(&rows));
  PetscCall(PetscMalloc4(P, &d_ref, P, &d, P, &g, P, &d_one));
  for (PetscInt i = 0; i < P; i++) g[i] = 2 * RngUniform(9, 0, (uint64_t)i) - 1;

  { /* residual form, cut-off 1e-8, undamped and damped (eigen) */
    const Request ref = {CURVATURESOLVERREPLICATED, "eigen", 1e-8, 0.0, PETSC_TRUE}, ker = {CURVATURESOLVERKERNEL, "eigen", 1e-8, 0.0, PETSC_TRUE};
    PetscReal     err;
    PetscCall(Direction(comm, sc, &ref, NULL, d_ref, &info_ref));
    PetscCall(Direction(comm, sc, &ker, NULL, d, &info));
    err = TestRelDist(P, d, d_ref);
    CHECK(err < 1e-8, "%s: kernel J^T K^+ r differs from the replicated G^+ J^T r by %.1e", sc->name, (double)err);
    CHECK(info.n_kept == info_ref.n_kept, "%s: kernel keeps %" PetscInt_FMT " eigenvalues, replicated %" PetscInt_FMT, sc->name, info.n_kept, info_ref.n_kept);
    CHECK(RelDiff(info.lambda_max, info_ref.lambda_max, 1e-300) < 1e-10, "%s: lambda_max %g, replicated %g", sc->name, (double)info.lambda_max, (double)info_ref.lambda_max);
    CHECK(RelDiff(info.lambda_min_kept, info_ref.lambda_min_kept, 1e-300) < 1e-6, "%s: lambda_min_kept %g, replicated %g", sc->name, (double)info.lambda_min_kept, (double)info_ref.lambda_min_kept);
    PetscCall(PetscPrintf(comm, "  residual form, cut-off 1e-8: vs replicated %.1e, kept %" PetscInt_FMT " (replicated %" PetscInt_FMT "), lambda_max %.3e\n", (double)err, info.n_kept, info_ref.n_kept, (double)info.lambda_max));
    lambda_max = info_ref.lambda_max;
  }
  {
    const Request ref = {CURVATURESOLVERREPLICATED, "eigen", 1e-8, 1e-3 * lambda_max, PETSC_TRUE}, ker = {CURVATURESOLVERKERNEL, "eigen", 1e-8, 1e-3 * lambda_max, PETSC_TRUE};
    const Request ref_c = {CURVATURESOLVERREPLICATED, "cholesky", 0.0, 1e-3 * lambda_max, PETSC_TRUE}, ker_c = {CURVATURESOLVERKERNEL, "cholesky", 0.0, 1e-3 * lambda_max, PETSC_TRUE};
    PetscReal     err, err_c;
    PetscCall(Direction(comm, sc, &ref, NULL, d_ref, &info_ref));
    PetscCall(Direction(comm, sc, &ker, NULL, d, &info));
    err = TestRelDist(P, d, d_ref);
    CHECK(err < 1e-8, "%s: damped kernel direction differs from the replicated one by %.1e", sc->name, (double)err);
    PetscCall(Direction(comm, sc, &ref_c, NULL, d_ref, &info_ref));
    PetscCall(Direction(comm, sc, &ker_c, NULL, d, &info));
    err_c = TestRelDist(P, d, d_ref);
    CHECK(err_c < 1e-8, "%s: kernel Cholesky direction differs from the replicated Cholesky one by %.1e", sc->name, (double)err_c);
    CHECK(!info.used_fallback, "%s: the kernel's damped Cholesky fell back to eigen", sc->name);
    PetscCall(PetscPrintf(comm, "  residual form, damping 1e-3 lambda_max: eigen vs replicated %.1e, cholesky (rcond 0) %.1e\n", (double)err, (double)err_c));
  }
  { /* push-through with a general g */
    const Request ref = {CURVATURESOLVERREPLICATED, "cholesky", 0.0, 1e-2 * lambda_max, PETSC_FALSE};
    const Request ker[2] = {{CURVATURESOLVERKERNEL, "eigen", 0.0, 1e-2 * lambda_max, PETSC_FALSE}, {CURVATURESOLVERKERNEL, "cholesky", 0.0, 1e-2 * lambda_max, PETSC_FALSE}};
    PetscCall(Direction(comm, sc, &ref, g, d_ref, &info_ref));
    for (PetscInt k = 0; k < 2; k++) {
      PetscReal err;
      PetscCall(Direction(comm, sc, &ker[k], g, d, &info));
      err = TestRelDist(P, d, d_ref);
      CHECK(err < 1e-8, "%s: push-through (%s) differs from the replicated (G + lambda I)^-1 g by %.1e", sc->name, ker[k].solve, (double)err);
      PetscCall(PetscPrintf(comm, "  push-through, general g, damping 1e-2 lambda_max, %s: vs replicated Cholesky %.1e\n", ker[k].solve, (double)err));
    }
  }
  { /* damping 0 with a general g: refused */
    CurvatureSolver               solver;
    const CurvatureRegularization reg0 = {1e-8, 0.0};
    PetscErrorCode                ierr_solve, ierr_check;
    PetscBool                     has_kernel, has_replicated;
    PetscCall(RowsCreate(comm, sc, 1.0, &rows));
    PetscCall(SolverCreate(comm, CURVATURESOLVERKERNEL, "eigen", P, rows.n_max, &solver));
    PetscCall(CurvatureSolverHasResidualForm(solver, &has_kernel));
    {
      const CurvatureOperator op = CurvatureRowsOperator(P, rows.jac_t, rows.res, rows.n_chunks, rows.chunk_row, rows.n_max);
      PetscCall(CurvatureSolverSetOperator(solver, &op));
      PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
      ierr_check = CurvatureSolverCheckRegularization(solver, &reg0);
      ierr_solve = CurvatureSolverSolve(solver, &reg0, g, d, &info);
      PetscCall(PetscPopErrorHandler());
      CHECK(ierr_check == PETSC_ERR_ARG_OUTOFRANGE, "%s: CurvatureSolverCheckRegularization with damping 0 returned %d", sc->name, (int)ierr_check);
      CHECK(ierr_solve == PETSC_ERR_ARG_OUTOFRANGE, "%s: the kernel's general solve with damping 0 returned %d, not refused", sc->name, (int)ierr_solve);
      PetscCall(CurvatureSolverSolveResidual(solver, &reg0, d, &info)); /* the residual form needs no damping */
    }
    PetscCall(CurvatureSolverDestroy(&solver));
    PetscCall(SolverCreate(comm, CURVATURESOLVERREPLICATED, "eigen", P, rows.n_max, &solver));
    PetscCall(CurvatureSolverHasResidualForm(solver, &has_replicated));
    PetscCall(CurvatureSolverCheckRegularization(solver, &reg0));
    PetscCall(CurvatureSolverDestroy(&solver));
    PetscCall(RowsDestroy(&rows));
    CHECK(has_kernel && !has_replicated, "%s: HasResidualForm: kernel %d, replicated %d", sc->name, (int)has_kernel, (int)has_replicated);
    PetscCall(PetscPrintf(comm, "  damping 0 with a general g: refused (error %d)\n", (int)ierr_solve));
  }
  PetscCall(CheckLayoutChange(sc, CURVATURESOLVERKERNEL, d, d_ref));
  /* rank counts: sub-communicators of the first k ranks */
  for (PetscMPIInt k = 1; k <= size; k++) {
    MPI_Comm      sub;
    const Request ker = {CURVATURESOLVERKERNEL, "eigen", 1e-8, 0.0, PETSC_TRUE};
    PetscCallMPI(MPI_Comm_split(comm, rank < k ? 0 : MPI_UNDEFINED, rank, &sub));
    if (sub != MPI_COMM_NULL) {
      PetscCall(Direction(sub, sc, &ker, NULL, k == 1 ? d_one : d, &info));
      if (k > 1 && rank == 0) {
        const PetscReal err = TestRelDist(P, d, d_one);
        CHECK(err < 1e-10, "%s: the kernel direction on %d ranks differs from 1 rank's by %.1e", sc->name, k, (double)err);
        PetscCall(PetscPrintf(PETSC_COMM_SELF, "  kernel direction on %d ranks vs 1 rank: %.1e%s\n", k, (double)err, err == 0 ? " (bitwise)" : ""));
      }
      PetscCallMPI(MPI_Comm_free(&sub));
    }
  }
  { /* qr: residual form (undamped, damped), general g, against the replicated solver */
    const Request rq[3][2] = {
      {{CURVATURESOLVERREPLICATED, "eigen", 1e-8, 0.0, PETSC_TRUE}, {CURVATURESOLVERQR, "eigen", 1e-8, 0.0, PETSC_TRUE}},
      {{CURVATURESOLVERREPLICATED, "eigen", 1e-8, 1e-3 * lambda_max, PETSC_TRUE}, {CURVATURESOLVERQR, "eigen", 1e-8, 1e-3 * lambda_max, PETSC_TRUE}},
      {{CURVATURESOLVERREPLICATED, "eigen", 1e-8, 1e-2 * lambda_max, PETSC_FALSE}, {CURVATURESOLVERQR, "eigen", 1e-8, 1e-2 * lambda_max, PETSC_FALSE}},
    };
    const char *what[3] = {"residual form, cut-off 1e-8", "residual form, damping 1e-3 lambda_max", "general g, damping 1e-2 lambda_max"};
    for (PetscInt k = 0; k < 3; k++) {
      PetscReal err;
      PetscCall(Direction(comm, sc, &rq[k][0], rq[k][0].residual ? NULL : g, d_ref, &info_ref));
      PetscCall(Direction(comm, sc, &rq[k][1], rq[k][1].residual ? NULL : g, d, &info));
      err = TestRelDist(P, d, d_ref);
      CHECK(err < 1e-8, "%s: qr, %s: differs from the replicated direction by %.1e", sc->name, what[k], (double)err);
      CHECK(info.n_kept == info_ref.n_kept, "%s: qr, %s: keeps %" PetscInt_FMT " eigenvalues, replicated %" PetscInt_FMT, sc->name, what[k], info.n_kept, info_ref.n_kept);
      PetscCall(PetscPrintf(comm, "  qr, %s: vs replicated %.1e, kept %" PetscInt_FMT "\n", what[k], (double)err, info.n_kept));
    }
  }
  PetscCall(CheckLayoutChange(sc, CURVATURESOLVERQR, d, d_ref));
  for (PetscMPIInt k = 1; k <= size; k++) { /* qr: the same bits on 1 .. R ranks */
    MPI_Comm      sub;
    const Request qr = {CURVATURESOLVERQR, "eigen", 1e-8, 0.0, PETSC_TRUE};
    PetscCallMPI(MPI_Comm_split(comm, rank < k ? 0 : MPI_UNDEFINED, rank, &sub));
    if (sub != MPI_COMM_NULL) {
      PetscCall(Direction(sub, sc, &qr, NULL, k == 1 ? d_one : d, &info));
      if (k > 1 && rank == 0) {
        PetscBool same = PETSC_TRUE;
        for (PetscInt i = 0; i < P; i++) same = same && d[i] == d_one[i];
        CHECK(same, "%s: the qr direction on %d ranks differs from 1 rank's (by %.1e): it should be the same bits", sc->name, k, (double)TestRelDist(P, d, d_one));
      }
      PetscCallMPI(MPI_Comm_free(&sub));
    }
  }
  PetscCall(PetscFree4(d_ref, d, g, d_one));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  const Scenario scenarios[] = {
    {"N < P", 120, 9, 5},
    {"N > P", 30, 9, 5},
    {"N < P, chunks larger than the block", 150, 5, 17},
  };

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  TestSetWatchdog(240);
  for (PetscInt s = 0; s < 3; s++) PetscCall(CheckScenario(&scenarios[s]));
  return TestFinish();
}
