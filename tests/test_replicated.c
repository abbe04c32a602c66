/* The replicated solver's options (src/solver/replicated.c).
   Moving average (-gram_ema beta, from 0 or from I with -gram_ema_identity): after two operators
   the solver's G is beta^2 G0 + beta (1 - beta) G1 + (1 - beta) G2 (G0 = 0 or I, G1, G2 the
   operators' Gram matrices, to rounding), GetState hands out that matrix and SetState puts it back.
   Corrected semi-normal refinement (-gram_refine) on ill-conditioned least-squares rows, J~ = A diag(s) with s from 1 down to 1e-6 (cond(G)
   ~ 1e13), against the QR solver's J~^+ r~ (which never forms G):
     - without refinement the Gram's eigen solve is off by ~ eps cond(G); each refinement step
       takes the error down, and 3 steps reach the QR direction to 1e-11 (measured 1e-15);
     - with damping, the refined direction is (G + lambda I)^-1 J~^T r~;
     - a well-conditioned case is left where it was (refinement changes it by < 1e-12);
     - the refined direction is the same bits on 1 .. R ranks (sums chunk by chunk in
       double-double), and refinement is off for losses that are not least squares. */
/* ranks: 1 2 3 */
#include "testing.h"
#include <engd/rng.h>
#include <engd/ddsum.h>

#define P        40
#define N_CHUNKS 12
#define CHUNK    10 /* rows per chunk: N = 120 */

typedef struct {
  PetscInt   n_local, n_max, n_chunks, chunk_row[N_CHUNKS + 1];
  PetscReal *jac_t, *res;
} Rows;

/* This rank's chunks [c0, c1) of the global rows; column i scaled by 10^(-decades i / (P-1)). */
static PetscErrorCode RowsCreate(MPI_Comm comm, PetscReal decades, Rows *rows)
{
  PetscMPIInt rank, size;
  PetscInt    c0, c1;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  c0             = rank * N_CHUNKS / size;
  c1             = (rank + 1) * N_CHUNKS / size;
  rows->n_chunks = c1 - c0;
  for (PetscInt c = 0; c <= rows->n_chunks; c++) rows->chunk_row[c] = c * CHUNK;
  rows->n_local = rows->n_chunks * CHUNK;
  PetscCall(MPIU_Allreduce(&rows->n_local, &rows->n_max, 1, MPIU_INT, MPI_MAX, comm));
  PetscCall(PetscCalloc2((size_t)P * rows->n_max, &rows->jac_t, rows->n_max, &rows->res));
  for (PetscInt p = 0; p < rows->n_local; p++) {
    const uint64_t row = (uint64_t)(c0 * CHUNK + p);
    for (PetscInt i = 0; i < P; i++) rows->jac_t[p * P + i] = (2 * RngUniform(11, 0, row * P + i) - 1) * PetscPowReal(10.0, -decades * i / (P - 1));
    rows->res[p] = 2 * RngUniform(12, 0, row) - 1;
  }
  PetscFunctionReturn(0);
}

/* A solver of the type with -gram_refine, -gram_ema and -gram_ema_identity as given, set up for
   n_max local rows; least_squares goes to CurvatureSolverSetLoss. */
static PetscErrorCode SolverCreate(MPI_Comm comm, const char *type, PetscInt n_max, PetscInt refine, const char *ema, PetscBool identity, PetscBool least_squares, CurvatureSolver *solver)
{
  char steps[16];

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(steps, sizeof(steps), "%" PetscInt_FMT, refine));
  PetscCall(PetscOptionsSetValue(NULL, "-engd_gram", type));
  if (strcmp(type, CURVATURESOLVERQR)) {
    PetscCall(PetscOptionsSetValue(NULL, "-gram_refine", steps));
    PetscCall(PetscOptionsSetValue(NULL, "-gram_ema", ema));
    PetscCall(PetscOptionsSetValue(NULL, "-gram_ema_identity", identity ? "1" : "0"));
  }
  PetscCall(CurvatureSolverCreate(comm, solver));
  PetscCall(CurvatureSolverSetSizes(*solver, P, n_max));
  PetscCall(CurvatureSolverSetLoss(*solver, N_CHUNKS * CHUNK, least_squares));
  PetscCall(CurvatureSolverSetFromOptions(*solver));
  PetscCall(CurvatureSolverSetUp(*solver));
  PetscCall(PetscOptionsClearValue(NULL, "-engd_gram"));
  PetscCall(PetscOptionsClearValue(NULL, "-gram_refine"));
  PetscCall(PetscOptionsClearValue(NULL, "-gram_ema"));
  PetscCall(PetscOptionsClearValue(NULL, "-gram_ema_identity"));
  PetscFunctionReturn(0);
}

typedef struct {
  const char *type;
  PetscInt    refine;
  PetscReal   rcond, damping;
  PetscBool   least_squares; /* CurvatureSolverSetLoss's residual_form */
} Request;

/* d for rq on comm's rows: qr's SolveResidual, or the replicated Solve(J~^T r~). */
static PetscErrorCode Direction(MPI_Comm comm, PetscReal decades, const Request *rq, PetscReal *d)
{
  Rows                          rows;
  CurvatureSolver               solver;
  const CurvatureRegularization reg = {rq->rcond, rq->damping};
  PetscReal                     rhs[P];
  CurvatureOperator             op;

  PetscFunctionBeginUser;
  PetscCall(RowsCreate(comm, decades, &rows));
  PetscCall(SolverCreate(comm, rq->type, rows.n_max, rq->refine, "0", PETSC_FALSE, rq->least_squares, &solver));
  op = CurvatureRowsOperator(P, rows.jac_t, rows.res, rows.n_chunks, rows.chunk_row, rows.n_max);
  PetscCall(CurvatureSolverSetOperator(solver, &op)); /* the solver keeps &op until the solve */
  if (!strcmp(rq->type, CURVATURESOLVERQR)) PetscCall(CurvatureSolverSolveResidual(solver, &reg, d, NULL));
  else {
    DDReal sum[P]; /* J~^T r~ chunk by chunk in double-double, as engd forms it */
    DDZero(P, sum);
    for (PetscInt c = 0; c < rows.n_chunks; c++) {
      for (PetscInt i = 0; i < P; i++) {
        rhs[i] = 0;
        for (PetscInt p = rows.chunk_row[c]; p < rows.chunk_row[c + 1]; p++) rhs[i] += rows.jac_t[p * P + i] * rows.res[p];
      }
      DDAddArray(P, rhs, sum);
    }
    PetscCall(DDAllreduce(comm, P, sum));
    DDRoundArray(P, sum, rhs);
    PetscCall(CurvatureSolverSolve(solver, &reg, rhs, d, NULL));
  }
  PetscCall(CurvatureSolverDestroy(&solver));
  PetscCall(PetscFree2(rows.jac_t, rows.res));
  PetscFunctionReturn(0);
}

/* G of a solver after rows of decades 0 then 3 under -gram_ema 0.25 against the formula. */
static PetscErrorCode CheckMovingAverage(MPI_Comm comm, PetscBool identity)
{
  const PetscReal   beta = 0.25;
  Rows              rows[2];
  CurvatureSolver   solver, plain;
  CurvatureOperator op[2];
  PetscReal        *G, *G1, *G2, err = 0, scale = 0;
  PetscInt          n;
  const PetscReal  *state;

  PetscFunctionBeginUser;
  PetscCall(RowsCreate(comm, 0.0, &rows[0]));
  PetscCall(RowsCreate(comm, 3.0, &rows[1]));
  PetscCall(PetscMalloc3(P * P, &G, P * P, &G1, P * P, &G2));
  PetscCall(SolverCreate(comm, CURVATURESOLVERREPLICATED, rows[0].n_max, 0, "0", PETSC_FALSE, PETSC_FALSE, &plain));
  PetscCall(SolverCreate(comm, CURVATURESOLVERREPLICATED, rows[0].n_max, 0, "0.25", identity, PETSC_FALSE, &solver));
  for (PetscInt k = 0; k < 2; k++) {
    op[k] = CurvatureRowsOperator(P, rows[k].jac_t, rows[k].res, rows[k].n_chunks, rows[k].chunk_row, rows[k].n_max);
    PetscCall(CurvatureSolverSetOperator(plain, &op[k]));
    PetscCall(CurvatureSolverGetMatrix(plain, k == 0 ? G1 : G2));
    PetscCall(CurvatureSolverSetOperator(solver, &op[k]));
  }
  PetscCall(CurvatureSolverGetMatrix(solver, G));
  for (PetscInt j = 0; j < P; j++)
    for (PetscInt i = 0; i <= j; i++) {
      const PetscReal expect = (identity && i == j ? beta * beta : 0.0) + beta * (1 - beta) * G1[i + j * P] + (1 - beta) * G2[i + j * P];
      err   = PetscMax(err, PetscAbsReal(G[i + j * P] - expect));
      scale = PetscMax(scale, PetscAbsReal(expect));
    }
  PetscCall(PetscPrintf(comm, "moving average from %s: G off the formula by %.1e relative\n", identity ? "I" : "0", (double)(err / scale)));
  CHECK(err <= 1e-14 * scale, "moving average from %s: G is off the formula by %.1e relative", identity ? "I" : "0", (double)(err / scale));
  PetscCall(CurvatureSolverGetState(solver, &n, &state));
  CHECK(n == P * P && state, "the moving average's state has %" PetscInt_FMT " values, expected %d", n, P * P);
  { /* SetState puts it back: a fresh solver with the state solves like the first */
    CurvatureSolver               copy;
    const CurvatureRegularization reg = {1e-12, 0.0};
    PetscReal                     g[P], d1[P], d2[P];
    for (PetscInt i = 0; i < P; i++) g[i] = 1.0 + i;
    PetscCall(SolverCreate(comm, CURVATURESOLVERREPLICATED, rows[0].n_max, 0, "0.25", PETSC_FALSE, PETSC_FALSE, &copy));
    PetscCall(CurvatureSolverSetState(copy, n, state));
    PetscCall(CurvatureSolverSetOperator(copy, &op[0]));  /* both see one more operator */
    PetscCall(CurvatureSolverSetOperator(solver, &op[0]));
    PetscCall(CurvatureSolverSolve(copy, &reg, g, d1, NULL));
    PetscCall(CurvatureSolverSolve(solver, &reg, g, d2, NULL));
    CHECK(!memcmp(d1, d2, sizeof(d1)), "a solver given the state solves differently (by %.1e)", (double)TestRelDist(P, d1, d2));
    PetscCall(CurvatureSolverDestroy(&copy));
  }
  PetscCall(CurvatureSolverDestroy(&solver));
  PetscCall(CurvatureSolverDestroy(&plain));
  PetscCall(PetscFree3(G, G1, G2));
  for (PetscInt k = 0; k < 2; k++) PetscCall(PetscFree2(rows[k].jac_t, rows[k].res));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  MPI_Comm    comm;
  PetscMPIInt size;
  PetscReal   d_qr[P], d[P], err[4];

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  TestSetWatchdog(120);
  comm = PETSC_COMM_WORLD;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(CheckMovingAverage(comm, PETSC_FALSE));
  PetscCall(CheckMovingAverage(comm, PETSC_TRUE));

  { /* ill-conditioned, undamped: each step closer to the QR direction */
    const Request qr = {CURVATURESOLVERQR, 0, 1e-16, 0.0, PETSC_TRUE};
    PetscCall(Direction(comm, 6.0, &qr, d_qr));
    for (PetscInt k = 0; k < 4; k++) {
      const Request rq = {CURVATURESOLVERREPLICATED, k, 1e-16, 0.0, PETSC_TRUE};
      PetscCall(Direction(comm, 6.0, &rq, d));
      err[k] = TestRelDist(P, d, d_qr);
    }
    PetscCall(PetscPrintf(comm, "ill-conditioned (cond(G) ~ 1e13): refine 0, 1, 2, 3: %.1e %.1e %.1e %.1e from the QR direction\n", (double)err[0], (double)err[1], (double)err[2], (double)err[3]));
    CHECK(err[0] > 1e-6, "without refinement the Gram's direction should be visibly off here (%.1e): the test lost its point", (double)err[0]);
    CHECK(err[1] < 0.1 * err[0] && err[2] < 0.1 * err[1], "refinement does not converge: %.1e %.1e %.1e", (double)err[0], (double)err[1], (double)err[2]);
    CHECK(err[3] < 1e-11, "3 refinement steps end %.1e from the QR direction", (double)err[3]);
  }
  { /* damped: the refined direction solves (G + lambda I) d = J~^T r~ */
    const Request qr = {CURVATURESOLVERQR, 0, 1e-16, 1e-9, PETSC_TRUE}, rq = {CURVATURESOLVERREPLICATED, 3, 1e-16, 1e-9, PETSC_TRUE};
    PetscCall(Direction(comm, 6.0, &qr, d_qr));
    PetscCall(Direction(comm, 6.0, &rq, d));
    PetscCall(PetscPrintf(comm, "damped (1e-9): refine 3: %.1e from the QR direction\n", (double)TestRelDist(P, d, d_qr)));
    CHECK(TestRelDist(P, d, d_qr) < 1e-11, "damped: 3 refinement steps end %.1e from the QR direction", (double)TestRelDist(P, d, d_qr));
  }
  { /* well-conditioned: nothing to correct */
    const Request r0 = {CURVATURESOLVERREPLICATED, 0, 1e-14, 0.0, PETSC_TRUE}, r2 = {CURVATURESOLVERREPLICATED, 2, 1e-14, 0.0, PETSC_TRUE};
    PetscCall(Direction(comm, 0.0, &r0, d_qr));
    PetscCall(Direction(comm, 0.0, &r2, d));
    CHECK(TestRelDist(P, d, d_qr) < 1e-12, "well-conditioned: refinement moved the direction by %.1e", (double)TestRelDist(P, d, d_qr));
  }
  { /* not least squares: -gram_refine is ignored */
    const Request r0 = {CURVATURESOLVERREPLICATED, 0, 1e-16, 0.0, PETSC_FALSE}, r3 = {CURVATURESOLVERREPLICATED, 3, 1e-16, 0.0, PETSC_FALSE};
    PetscCall(Direction(comm, 6.0, &r0, d_qr));
    PetscCall(Direction(comm, 6.0, &r3, d));
    CHECK(TestRelDist(P, d, d_qr) == 0, "a loss that is not least squares was refined (moved by %.1e)", (double)TestRelDist(P, d, d_qr));
  }
  for (PetscMPIInt k = 1; k <= size; k++) { /* the same bits on 1 .. R ranks */
    const Request rq = {CURVATURESOLVERREPLICATED, 2, 1e-16, 0.0, PETSC_TRUE};
    MPI_Comm      sub;
    PetscMPIInt   rank;
    PetscCallMPI(MPI_Comm_rank(comm, &rank));
    PetscCallMPI(MPI_Comm_split(comm, rank < k ? 0 : MPI_UNDEFINED, rank, &sub));
    if (sub != MPI_COMM_NULL) {
      PetscCall(Direction(sub, 6.0, &rq, k == 1 ? d_qr : d));
      if (k > 1) CHECK(!memcmp(d, d_qr, sizeof(d)), "the refined direction on %d ranks differs from 1 rank's by %.1e", k, (double)TestRelDist(P, d, d_qr));
      PetscCallMPI(MPI_Comm_free(&sub));
    }
    if (k == 1) PetscCallMPI(MPI_Bcast(d_qr, P, MPIU_REAL, 0, comm));
  }
  return TestFinish();
}
