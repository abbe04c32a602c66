/* The matrix-free curvature operator (ObjectiveShell*) and the Krylov curvature solver
   (-engd_gram cg) on a 2-D Poisson problem (two hidden layers), nonlinear Poisson and the 2-D
   deep Ritz problem (energy rows: S rows per point), each also built on PETSC_COMM_SELF (the
   one-rank layout of the same chunks). Checks:
     (a) the shell's J~ v = the stored rows times v; J~^T w = the rows' transpose times w summed
         over ranks; G v (mult_gram) = J~^T (J~ v) bit for bit; diag G = the rows' squares; the
         shell's gradient = ObjectiveRowsGradient; J~ v = central differences of the residuals
         in the direction v (least-squares cases);
     (b) the cg solver's MATSHELL product (G + damping I) v, from the stored rows and from the
         shell, = the assembled G of a replicated solver (CurvatureSolverGetMatrix) times v;
     (c) CG, MINRES and CR with a tight tolerance, preconditioners none, jacobi and nystrom, on
         rows and shell, = the dense damped solve (G + mu I)^-1 g (Cholesky) to 1e-8;
     (d) the Nystrom preconditioner's P^-1 v = its dense formula built here from G and the
         same test matrix (QR, shift, Cholesky, SVD);
     (e) rank-count independence: G v, diag G and the CG direction on the world communicator
         are the bits of the PETSC_COMM_SELF build (the 1-rank result). */
/* ranks: 1 2 3 */
#include "stack.h"
#include <engd/private/curvatureimpl.h>
#include <petscblaslapack.h>

#define RANK 6 /* Nystrom sketch columns */

typedef struct {
  const char *name;
  PetscBool   least_squares;
  const char *options[24];
} Case;

static PetscBool Same(PetscInt n, const PetscReal *a, const PetscReal *b)
{
  for (PetscInt i = 0; i < n; i++)
    if (a[i] != b[i]) return PETSC_FALSE;
  return PETSC_TRUE;
}

/* A solver of the type and options given (name, value pairs, NULL-terminated), set up. */
static PetscErrorCode MakeSolver(MPI_Comm comm, PetscInt P, PetscInt n_max, const char *const *options, CurvatureSolver *g)
{
  PetscFunctionBeginUser;
  PetscCall(TestSetOptions(options, PETSC_TRUE));
  PetscCall(CurvatureSolverCreate(comm, g));
  PetscCall(CurvatureSolverSetSizes(*g, P, n_max));
  PetscCall(CurvatureSolverSetFromOptions(*g));
  PetscCall(CurvatureSolverSetUp(*g));
  PetscCall(TestSetOptions(options, PETSC_FALSE));
  PetscFunctionReturn(0);
}

/* y = A v (MatMult) or y = P^-1 v (PCApply, when pc is given) on arrays of P values */
static PetscErrorCode ApplyArrays(Mat A, PC pc, PetscInt P, const PetscReal *v, PetscReal *y)
{
  Vec        x, b;
  PetscReal *a;

  PetscFunctionBeginUser;
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, P, &x));
  PetscCall(VecDuplicate(x, &b));
  PetscCall(VecGetArray(x, &a));
  PetscCall(PetscArraycpy(a, v, P));
  PetscCall(VecRestoreArray(x, &a));
  if (pc) PetscCall(PCApply(pc, x, b));
  else PetscCall(MatMult(A, x, b));
  PetscCall(VecGetArray(b, &a));
  PetscCall(PetscArraycpy(y, a, P));
  PetscCall(VecRestoreArray(b, &a));
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&b));
  PetscFunctionReturn(0);
}

/* y = (G + mu I) v through the cg solver's KSP operator */
static PetscErrorCode ApplyOperator(CurvatureSolver g, PetscInt P, const PetscReal *v, PetscReal *y)
{
  KSP ksp;
  Mat A;

  PetscFunctionBeginUser;
  PetscCall(CurvatureSolverGetKSP(g, &ksp));
  PetscCall(KSPGetOperators(ksp, &A, NULL));
  PetscCall(ApplyArrays(A, NULL, P, v, y));
  PetscFunctionReturn(0);
}

/* The dense Nystrom formula: y = P^-1 v from G (P x P) and the solver's test matrix. */
static PetscErrorCode DenseNystrom(PetscInt P, const PetscReal *G, PetscInt seed, PetscInt iteration, PetscReal mu, const PetscReal *v, PetscReal *y)
{
  const PetscInt l = RANK;
  PetscReal      Om[4096], Y[4096], C[RANK * RANK], tau[RANK], sigma[RANK], work[8192], U[4096], t[RANK], nu = 0;
  PetscBLASInt   n, m, lwork = 8192, info, one_i = 1;
  const PetscReal one = 1.0;

  PetscFunctionBeginUser;
  PetscCheck(P * l <= 4096, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "test buffers too small");
  PetscCall(PetscBLASIntCast(P, &n));
  PetscCall(PetscBLASIntCast(l, &m));
  PetscCall(CurvatureNystromTestMatrix(seed, iteration, P, l, Om));
  LAPACKgeqrf_(&n, &m, Om, &n, tau, work, &lwork, &info);
  LAPACKorgqr_(&n, &m, &m, Om, &n, tau, work, &lwork, &info);
  for (PetscInt j = 0; j < l; j++)
    for (PetscInt i = 0; i < P; i++) {
      PetscReal s = 0;
      for (PetscInt k = 0; k < P; k++) s += G[i + k * P] * Om[k + j * P];
      Y[i + j * P] = s;
      nu += s * s;
    }
  nu = PetscSqrtReal((PetscReal)P) * PETSC_MACHINE_EPSILON * PetscSqrtReal(nu);
  for (PetscInt k = 0; k < P * l; k++) Y[k] += nu * Om[k];
  for (PetscInt i = 0; i < l; i++)
    for (PetscInt j = 0; j < l; j++) {
      PetscReal s = 0;
      for (PetscInt k = 0; k < P; k++) s += Om[k + i * P] * Y[k + j * P];
      C[i + j * l] = s;
    }
  for (PetscInt i = 0; i < l; i++)
    for (PetscInt j = i + 1; j < l; j++) C[i + j * l] = C[j + i * l] = 0.5 * (C[i + j * l] + C[j + i * l]);
  LAPACKpotrf_("U", &m, C, &m, &info);
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "test: dpotrf %d", (int)info);
  BLAStrsm_("R", "U", "N", "N", &n, &m, &one, C, &m, Y, &n);
  LAPACKgesvd_("S", "N", &n, &m, Y, &n, sigma, U, &n, NULL, &one_i, work, &lwork, &info);
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "test: dgesvd %d", (int)info);
  for (PetscInt i = 0; i < l; i++) sigma[i] = PetscMax(0.0, sigma[i] * sigma[i] - nu); /* Lambda */
  /* P^-1 v = (Lambda_l + mu) U (Lambda + mu)^-1 U^T v + v - U U^T v */
  for (PetscInt i = 0; i < l; i++) {
    PetscReal s = 0;
    for (PetscInt k = 0; k < P; k++) s += U[k + i * P] * v[k];
    t[i] = s * ((sigma[l - 1] + mu) / (sigma[i] + mu) - 1.0);
  }
  for (PetscInt k = 0; k < P; k++) {
    y[k] = v[k];
    for (PetscInt i = 0; i < l; i++) y[k] += U[k + i * P] * t[i];
  }
  PetscFunctionReturn(0);
}

/* The world and self stacks of one case: rows, shell, solvers. */
typedef struct {
  Problem           problem;
  Model             model;
  Objective         o;
  CurvatureOperator rows, shell;
  PetscInt          P, n_local, n_max;
  PetscReal        *theta, *grad, loss;
} Stack;

static PetscErrorCode StackCreate(MPI_Comm comm, const Case *cs, Stack *s)
{
  PetscReal *model_theta;

  PetscFunctionBeginUser;
  PetscCall(TestSetOptions(cs->options, PETSC_TRUE));
  PetscCall(BuildStack(comm, &s->problem, &s->model, &s->o));
  PetscCall(TestSetOptions(cs->options, PETSC_FALSE));
  PetscCall(ModelGetNumParameters(s->model, &s->P));
  PetscCall(ObjectiveGetLocalRows(s->o, &s->n_local, &s->n_max));
  PetscCall(PetscMalloc2(s->P, &s->theta, s->P, &s->grad));
  PetscCall(ModelGetParameters(s->model, &model_theta));
  PetscCall(ModelInitializeParameters(s->model, 5, s->theta));
  PetscCall(ObjectiveRowsCreate(s->o, &s->rows));
  PetscCall(ObjectiveRowsCompute(s->o, s->theta, &s->rows, &s->loss));
  PetscCall(ObjectiveShellCreate(s->o, &s->shell));
  PetscCall(ObjectiveShellCompute(s->o, s->theta, &s->shell, s->grad, &s->loss));
  PetscFunctionReturn(0);
}

static PetscErrorCode StackDestroy(Stack *s)
{
  PetscFunctionBeginUser;
  PetscCall(ObjectiveRowsDestroy(&s->rows));
  PetscCall(ObjectiveShellDestroy(&s->shell));
  PetscCall(PetscFree2(s->theta, s->grad));
  PetscCall(DestroyStack(&s->problem, &s->model, &s->o));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckCase(const Case *cs)
{
  MPI_Comm   comm = PETSC_COMM_WORLD;
  Stack      W, S1;
  PetscInt   P, n_local, n_max;
  PetscReal *v, *Jv, *Jv_ref, *w, *JTw, *JTw_ref, *Gv, *Gv2, *diag, *diag_ref, *G, *y, *y_ref, *grad_rows, *d_dense, *d, *d_self, *res_p, *res_m, *jac_s, *thetas;
  PetscReal  err, scale, mu, lmax = 0, loss;
  CurvatureSolver repl;

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(comm, "  %s\n", cs->name));
  PetscCall(StackCreate(comm, cs, &W));
  PetscCall(StackCreate(PETSC_COMM_SELF, cs, &S1));
  P       = W.P;
  n_local = W.n_local;
  n_max   = W.n_max;
  PetscCall(PetscMalloc6(P, &v, n_max, &Jv, n_max, &Jv_ref, n_max, &w, P, &JTw, P, &JTw_ref));
  PetscCall(PetscMalloc6(P, &Gv, P, &Gv2, P, &diag, P, &diag_ref, P * P, &G, P, &y));
  PetscCall(PetscMalloc6(P, &y_ref, P, &grad_rows, P, &d_dense, P, &d, P, &d_self, P, &thetas));
  PetscCall(PetscMalloc3(n_max, &res_p, n_max, &res_m, (size_t)P * n_max, &jac_s));
  for (PetscInt i = 0; i < P; i++) v[i] = PetscSinReal((PetscReal)(7 * i + 3));
  for (PetscInt r = 0; r < n_local; r++) w[r] = PetscCosReal((PetscReal)(5 * r + 1));

  /* (a) products against the rows */
  PetscCall((*W.shell.mult)(W.shell.ctx, v, Jv));
  err = scale = 0;
  for (PetscInt r = 0; r < n_local; r++) {
    PetscReal s = 0;
    for (PetscInt i = 0; i < P; i++) s += W.rows.jac_t[r * P + i] * v[i];
    Jv_ref[r] = s;
    err       = PetscMax(err, PetscAbsReal(Jv[r] - s));
    scale     = PetscMax(scale, PetscAbsReal(s));
  }
  PetscCall(ReportMax(comm, "J v: shell vs rows (relative to max |J v|)", err / PetscMax(scale, 1e-300), 1e-12));
  CHECK(err <= 1e-12 * scale, "%s: J v differs from the rows by %.1e (scale %.1e)", cs->name, (double)err, (double)scale);
  PetscCall((*W.shell.mult_transpose)(W.shell.ctx, w, JTw));
  for (PetscInt i = 0; i < P; i++) {
    PetscReal s = 0;
    for (PetscInt r = 0; r < n_local; r++) s += W.rows.jac_t[r * P + i] * w[r];
    JTw_ref[i] = s;
  }
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, JTw_ref, P, MPIU_REAL, MPIU_SUM, comm));
  err = TestRelDist(P, JTw, JTw_ref);
  PetscCall(ReportMax(comm, "J^T w: shell vs rows", err, 1e-12));
  CHECK(err < 1e-12, "%s: J^T w differs from the rows by %.1e", cs->name, (double)err);
  PetscCall((*W.shell.mult_gram)(W.shell.ctx, v, Gv));
  PetscCall((*W.shell.mult_transpose)(W.shell.ctx, Jv, Gv2));
  CHECK(Same(P, Gv, Gv2), "%s: G v in one pass is not J^T (J v) bit for bit (%.1e)", cs->name, (double)TestRelDist(P, Gv, Gv2));
  PetscCall((*W.shell.diagonal)(W.shell.ctx, diag));
  for (PetscInt i = 0; i < P; i++) {
    PetscReal s = 0;
    for (PetscInt r = 0; r < n_local; r++) s += W.rows.jac_t[r * P + i] * W.rows.jac_t[r * P + i];
    diag_ref[i] = s;
  }
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, diag_ref, P, MPIU_REAL, MPIU_SUM, comm));
  err = TestRelDist(P, diag, diag_ref);
  PetscCall(ReportMax(comm, "diag G: shell vs rows", err, 1e-12));
  CHECK(err < 1e-12, "%s: diag G differs from the rows by %.1e", cs->name, (double)err);
  PetscCall(ObjectiveRowsGradient(W.o, &W.rows, W.theta, grad_rows));
  err = TestRelDist(P, W.grad, grad_rows);
  PetscCall(ReportMax(comm, "shell gradient vs ObjectiveRowsGradient", err, 1e-12));
  CHECK(err < 1e-12, "%s: the shell's gradient differs from the rows' by %.1e", cs->name, (double)err);
  if (cs->least_squares) { /* J v = d r / d t (theta + t v) by central differences */
    const PetscReal h = 1e-5;
    for (PetscInt i = 0; i < P; i++) thetas[i] = W.theta[i] + h * v[i];
    PetscCall(ObjectiveResidualRows(W.o, thetas, res_p, jac_s, &loss));
    for (PetscInt i = 0; i < P; i++) thetas[i] = W.theta[i] - h * v[i];
    PetscCall(ObjectiveResidualRows(W.o, thetas, res_m, jac_s, &loss));
    err = 0;
    for (PetscInt r = 0; r < n_local; r++) err = PetscMax(err, PetscAbsReal(Jv[r] - (res_p[r] - res_m[r]) / (2 * h)));
    PetscCall(ReportMax(comm, "J v vs central differences of the residuals (rel. to max |J v|)", err / PetscMax(scale, 1e-300), 1e-6));
    CHECK(err <= 1e-6 * scale, "%s: J v differs from the differences by %.1e (scale %.1e)", cs->name, (double)err, (double)scale);
  }

  /* (e) the one-rank layout gives the same bits */
  {
    PetscReal Gv_self[4096], diag_self[4096];
    PetscCheck(P <= 4096, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "test buffers too small");
    PetscCall((*S1.shell.mult_gram)(S1.shell.ctx, v, Gv_self));
    PetscCall((*S1.shell.diagonal)(S1.shell.ctx, diag_self));
    CHECK(Same(P, Gv, Gv_self), "%s: G v differs from the 1-rank layout's (%.1e)", cs->name, (double)TestRelDist(P, Gv, Gv_self));
    CHECK(Same(P, diag, diag_self), "%s: diag G differs from the 1-rank layout's (%.1e)", cs->name, (double)TestRelDist(P, diag, diag_self));
  }

  /* (b) the MATSHELL against the assembled G */
  {
    const char *const opts[] = {"-engd_gram", "replicated", NULL};
    PetscCall(MakeSolver(comm, P, n_max, opts, &repl));
    PetscCall(CurvatureSolverSetOperator(repl, &W.rows));
    PetscCall(CurvatureSolverGetMatrix(repl, G));
  }
  for (PetscInt i = 0; i < P; i++) lmax = PetscMax(lmax, G[i + i * P]);
  mu = 1e-3 * lmax;
  for (PetscInt i = 0; i < P; i++) {
    PetscReal s = mu * v[i];
    for (PetscInt k = 0; k < P; k++) s += G[i + k * P] * v[k];
    y_ref[i] = s;
  }
  { /* the dense damped solve (G + mu I) d = g by Cholesky */
    PetscReal   *A;
    PetscBLASInt n, one_i = 1, info;
    PetscCall(PetscMalloc1(P * P, &A));
    for (PetscInt k = 0; k < P * P; k++) A[k] = G[k];
    for (PetscInt i = 0; i < P; i++) A[i + i * P] += mu;
    PetscCall(PetscArraycpy(d_dense, W.grad, P));
    PetscCall(PetscBLASIntCast(P, &n));
    LAPACKpotrf_("U", &n, A, &n, &info);
    PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "test: dpotrf %d", (int)info);
    LAPACKpotrs_("U", &n, &one_i, A, &n, d_dense, &n, &info);
    PetscCall(PetscFree(A));
  }
  for (PetscInt src = 0; src < 2; src++) {
    const CurvatureOperator *op = src ? &W.shell : &W.rows;
    const char *const        opts[] = {"-engd_gram", "cg", NULL};
    CurvatureSolver          cg;
    const CurvatureRegularization reg = {0.0, mu};
    PetscCall(MakeSolver(comm, P, n_max, opts, &cg));
    PetscCall(CurvatureSolverSetOperator(cg, op));
    PetscCall(CurvatureSolverSolve(cg, &reg, W.grad, d, NULL)); /* sets the damping of the MATSHELL */
    PetscCall(ApplyOperator(cg, P, v, y));
    err = TestRelDist(P, y, y_ref);
    PetscCall(ReportMax(comm, src ? "(G + mu I) v: MATSHELL (shell) vs assembled G" : "(G + mu I) v: MATSHELL (rows) vs assembled G", err, 1e-12));
    CHECK(err < 1e-12, "%s: the MATSHELL on the %s differs from the assembled G by %.1e", cs->name, src ? "shell" : "rows", (double)err);
    PetscCall(CurvatureSolverDestroy(&cg));
  }

  /* (c) tight Krylov solves = the dense damped solve; (d) Nystrom; (e) the 1-rank direction */
  {
    const char *ksps[] = {"cg", "minres", "cr"}, *pcs[] = {"none", "jacobi", "nystrom"};
    for (PetscInt kt = 0; kt < 3; kt++)
      for (PetscInt pt = 0; pt < 3; pt++)
        for (PetscInt src = 0; src < 2; src++) {
          const char *const opts[] = {"-engd_gram", "cg", "-engd_ksp_type", ksps[kt], "-engd_pc_type", pcs[pt], "-engd_ksp_rtol", "1e-13", "-engd_ksp_max_it", "2000", "-engd_nystrom_rank", "6", NULL};
          const CurvatureRegularization reg = {0.0, mu};
          CurvatureSolver    cg, cg_self;
          CurvatureSolveInfo info;
          char               what[128];
          PetscCall(MakeSolver(comm, P, n_max, opts, &cg));
          PetscCall(CurvatureSolverSetSketchKey(cg, 11, 4));
          PetscCall(CurvatureSolverSetOperator(cg, src ? &W.shell : &W.rows));
          PetscCall(CurvatureSolverSolve(cg, &reg, W.grad, d, &info));
          err = TestRelDist(P, d, d_dense);
          PetscCall(PetscSNPrintf(what, sizeof(what), "%s/%s on the %s: vs dense damped solve (%" PetscInt_FMT " its, reason %" PetscInt_FMT ")", ksps[kt], pcs[pt], src ? "shell" : "rows", info.iterations, info.reason));
          PetscCall(ReportMax(comm, what, err, 1e-8));
          CHECK(err < 1e-8 && info.reason > 0 && info.iterations > 0, "%s: %s differs by %.1e", cs->name, what, (double)err);
          if (pt == 2 && kt == 0) { /* (d) */
            KSP ksp;
            PC  pc;
            PetscCall(CurvatureSolverGetKSP(cg, &ksp));
            PetscCall(KSPGetPC(ksp, &pc));
            PetscCall(ApplyArrays(NULL, pc, P, v, y));
            PetscCall(DenseNystrom(P, G, 11, 4, mu, v, y_ref));
            err = TestRelDist(P, y, y_ref);
            PetscCall(ReportMax(comm, src ? "Nystrom P^-1 v (shell) vs its dense formula" : "Nystrom P^-1 v (rows) vs its dense formula", err, 1e-8));
            CHECK(err < 1e-8, "%s: Nystrom P^-1 v differs from the dense formula by %.1e", cs->name, (double)err);
          }
          if (src == 1) { /* (e) */
            PetscCall(MakeSolver(PETSC_COMM_SELF, P, S1.n_max, opts, &cg_self));
            PetscCall(CurvatureSolverSetSketchKey(cg_self, 11, 4));
            PetscCall(CurvatureSolverSetOperator(cg_self, &S1.shell));
            PetscCall(CurvatureSolverSolve(cg_self, &reg, S1.grad, d_self, NULL));
            CHECK(Same(P, d, d_self), "%s: %s/%s: the direction differs from the 1-rank layout's (%.1e)", cs->name, ksps[kt], pcs[pt], (double)TestRelDist(P, d, d_self));
            PetscCall(CurvatureSolverDestroy(&cg_self));
          }
          PetscCall(CurvatureSolverDestroy(&cg));
        }
  }
  PetscCall(CurvatureSolverDestroy(&repl));
  PetscCall(PetscFree6(v, Jv, Jv_ref, w, JTw, JTw_ref));
  PetscCall(PetscFree6(Gv, Gv2, diag, diag_ref, G, y));
  PetscCall(PetscFree6(y_ref, grad_rows, d_dense, d, d_self, thetas));
  PetscCall(PetscFree3(res_p, res_m, jac_s));
  PetscCall(StackDestroy(&S1));
  PetscCall(StackDestroy(&W));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  const Case cases[] = {
    {"2-D Poisson, tanh 8,6, block 8, chunks of 16 rows", PETSC_TRUE, {"-dim", "2", "-net_hidden", "8,6", "-n_interior", "64", "-n_boundary", "20", "-net_block_size", "8", "-chunk_rows", "16", "-seed", "3", NULL}},
    {"nonlinear Poisson, sin 10, block 5", PETSC_TRUE, {"-problem", "nonlinear_poisson", "-net_hidden", "10", "-net_activation", "sin", "-n_interior", "49", "-n_boundary", "16", "-net_block_size", "5", NULL}},
    {"deep Ritz 2-D Poisson (energy rows), tanh 7", PETSC_FALSE, {"-problem", "ritz_poisson", "-net_hidden", "7", "-n_interior", "36", "-n_boundary", "16", "-net_block_size", "6", NULL}},
  };

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  TestSetWatchdog(300);
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) PetscCall(CheckCase(&cases[k]));
  return TestFinish();
}
