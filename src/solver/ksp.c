/* Krylov curvature solver (-engd_gram cg): (G + damping I) d = g by PETSc's KSP (CG by default,
   MINRES or CR) on a MATSHELL that applies G v = J~^T (J~ v), either from the stored rows (a
   CURVATURE_ROWS operator: per chunk a dgemv pair, the chunks' products added in double-double
   and summed over ranks as the gradient is) or matrix-free (a CURVATURE_SHELL operator: the
   Objective's forward tangent and reverse passes, objective.h). G is never formed.

   The P-vectors are replicated, so the KSP, its vectors and the MATSHELL live on
   PETSC_COMM_SELF: every rank runs the same Krylov iteration on the same bits (every sum over
   points, hence every reduction across ranks, happens inside the products, whose results are
   rank-count independent), takes the same branches and calls the collective products the same
   number of times. The direction is therefore the same on every rank and on any rank count.

   Options (prefix engd_, so -engd_ksp_monitor, -engd_ksp_converged_reason, ... work as in
   PETSc): -engd_ksp_type cg|minres|cr, -engd_ksp_rtol, -engd_ksp_atol, -engd_ksp_max_it,
   -engd_pc_type none|jacobi|nystrom|kfac (Jacobi: PCJACOBI on diag G + damping, MATOP_GET_DIAGONAL;
   Nystrom: nystrom.c; kfac: a PCSHELL applying the inverse of KFAC's Kronecker sums that the
   method sets, CurvatureSolverSetKronecker), -engd_nystrom_rank. The eigenvalue cut-off rcond
   does not apply. */
#include <engd/private/curvatureimpl.h>
#include <engd/ddsum.h>
#include <petscblaslapack.h>

typedef enum { KSP_PC_NONE, KSP_PC_JACOBI, KSP_PC_NYSTROM, KSP_PC_KFAC } KSPPCKind;
static const char *const KSPPCKinds[] = {"none", "jacobi", "nystrom", "kfac", "KSPPCKind", "KSP_PC_", NULL};

typedef struct {
  KSP        ksp;
  Mat        A;
  Vec        x, b;
  char       ksp_type[32];
  PetscReal  rtol, atol, damping;
  PetscInt   max_it, pc_kind, nystrom_rank;
  PetscReal *row_values; /* J~ v of this rank's rows (n_rows_max) */
  PetscReal *chunk_y;    /* P */
  DDReal    *acc;        /* P */
} Solver_KSP;

/* G v without the damping, rank-count independent (see above). */
static PetscErrorCode GramMult(CurvatureSolver g, const PetscReal *v, PetscReal *Gv)
{
  Solver_KSP              *k  = (Solver_KSP *)g->data;
  const CurvatureOperator *op = g->op;
  const PetscInt           P  = g->n_params;
  PetscBLASInt             n, m, one_i = 1;
  const PetscReal          one = 1.0, zero = 0.0;

  PetscFunctionBegin;
  if (op->type == CURVATURE_SHELL) {
    if (op->mult_gram) PetscCall((*op->mult_gram)(op->ctx, v, Gv));
    else {
      PetscCall((*op->mult)(op->ctx, v, k->row_values));
      PetscCall((*op->mult_transpose)(op->ctx, k->row_values, Gv));
    }
    PetscFunctionReturn(0);
  }
  PetscCall(PetscBLASIntCast(P, &n));
  DDZero(P, k->acc);
  for (PetscInt c = 0; c < op->n_chunks; c++) {
    const PetscReal *rows = op->jac_t + op->chunk_row[c] * P;
    PetscCall(PetscBLASIntCast(op->chunk_row[c + 1] - op->chunk_row[c], &m));
    if (m == 0) continue;
    PetscCallBLAS("BLASgemv", BLASgemv_("T", &n, &m, &one, rows, &n, v, &one_i, &zero, k->row_values, &one_i));
    PetscCallBLAS("BLASgemv", BLASgemv_("N", &n, &m, &one, rows, &n, k->row_values, &one_i, &zero, k->chunk_y, &one_i));
    DDAddArray(P, k->chunk_y, k->acc);
  }
  PetscCall(PetscLogFlops(4.0 * P * op->chunk_row[op->n_chunks]));
  PetscCall(DDAllreduce(g->comm, P, k->acc));
  DDRoundArray(P, k->acc, Gv);
  PetscFunctionReturn(0);
}

static PetscErrorCode GramMultContext(void *ctx, const PetscReal *v, PetscReal *Gv) { return GramMult((CurvatureSolver)ctx, v, Gv); }

static PetscErrorCode MatMult_Damped(Mat A, Vec x, Vec y)
{
  CurvatureSolver  g;
  Solver_KSP      *k;
  const PetscReal *xa;
  PetscReal       *ya;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(A, &g));
  k = (Solver_KSP *)g->data;
  PetscCall(VecGetArrayRead(x, &xa));
  PetscCall(VecGetArrayWrite(y, &ya));
  PetscCall(GramMult(g, xa, ya));
  for (PetscInt i = 0; i < g->n_params; i++) ya[i] += k->damping * xa[i];
  PetscCall(VecRestoreArrayWrite(y, &ya));
  PetscCall(VecRestoreArrayRead(x, &xa));
  PetscFunctionReturn(0);
}

/* diag G + damping: the squares of the stored rows per chunk in double-double, or the shell's
   diagonal pass. */
static PetscErrorCode MatGetDiagonal_Damped(Mat A, Vec d)
{
  CurvatureSolver          g;
  Solver_KSP              *k;
  const CurvatureOperator *op;
  PetscInt                 P;
  PetscReal               *da;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(A, &g));
  k  = (Solver_KSP *)g->data;
  op = g->op;
  P  = g->n_params;
  PetscCall(VecGetArrayWrite(d, &da));
  if (op->type == CURVATURE_SHELL) {
    PetscCheck(op->diagonal, g->comm, PETSC_ERR_SUP, "-engd_pc_type jacobi needs the diagonal of G, which this matrix-free operator does not give");
    PetscCall((*op->diagonal)(op->ctx, da));
  } else {
    DDZero(P, k->acc);
    for (PetscInt c = 0; c < op->n_chunks; c++) {
      PetscCall(PetscArrayzero(k->chunk_y, P));
      for (PetscInt r = op->chunk_row[c]; r < op->chunk_row[c + 1]; r++)
        for (PetscInt i = 0; i < P; i++) k->chunk_y[i] += op->jac_t[r * P + i] * op->jac_t[r * P + i];
      DDAddArray(P, k->chunk_y, k->acc);
    }
    PetscCall(DDAllreduce(g->comm, P, k->acc));
    DDRoundArray(P, k->acc, da);
  }
  for (PetscInt i = 0; i < P; i++) da[i] += k->damping;
  PetscCall(VecRestoreArrayWrite(d, &da));
  PetscFunctionReturn(0);
}

static PetscErrorCode SetFromOptions_KSP(CurvatureSolver g)
{
  Solver_KSP *k    = (Solver_KSP *)g->data;
  PetscInt    kind = k->pc_kind;
  PetscBool   known;

  PetscFunctionBegin;
  PetscOptionsBegin(g->comm, NULL, "Krylov curvature solver (-engd_gram cg)", "CurvatureSolver");
  PetscCall(EngdOptionsString("-engd_ksp_type", "Krylov method: cg, minres or cr", "CurvatureSolverCreate_KSP", k->ksp_type, k->ksp_type, sizeof(k->ksp_type), NULL));
  PetscCall(EngdOptionsReal("-engd_ksp_rtol", "Relative tolerance of the Krylov solve (positive)", "KSPSetTolerances", k->rtol, &k->rtol, NULL));
  PetscCall(EngdOptionsReal("-engd_ksp_atol", "Absolute tolerance of the Krylov solve (positive)", "KSPSetTolerances", k->atol, &k->atol, NULL));
  PetscCall(EngdOptionsInt("-engd_ksp_max_it", "Most Krylov iterations per solve (positive)", "KSPSetTolerances", k->max_it, &k->max_it, NULL));
  PetscCall(EngdOptionsEList("-engd_pc_type", "Preconditioner: none, jacobi (diag G + damping), nystrom (randomized low rank) or kfac (KFAC's inverse)", "CurvatureSolverCreate_KSP", KSPPCKinds, 4, KSPPCKinds[kind], &kind, NULL));
  PetscCall(EngdOptionsInt("-engd_nystrom_rank", "Columns of the Nystrom sketch of G", "CurvatureNystromSetUpPC", k->nystrom_rank, &k->nystrom_rank, NULL));
  PetscOptionsEnd();
  known = (PetscBool)(!strcmp(k->ksp_type, KSPCG) || !strcmp(k->ksp_type, KSPMINRES) || !strcmp(k->ksp_type, KSPCR));
  PetscCheck(known, g->comm, PETSC_ERR_ARG_UNKNOWN_TYPE, "-engd_ksp_type must be cg, minres or cr (methods for a symmetric positive semi-definite G + damping I), got %s", k->ksp_type);
  PetscCheck(k->rtol > 0 && k->rtol < 1, g->comm, PETSC_ERR_ARG_OUTOFRANGE, "-engd_ksp_rtol must be in (0, 1), got %g", (double)k->rtol);
  PetscCheck(k->atol > 0, g->comm, PETSC_ERR_ARG_OUTOFRANGE, "-engd_ksp_atol must be positive, got %g", (double)k->atol);
  PetscCheck(k->max_it > 0, g->comm, PETSC_ERR_ARG_OUTOFRANGE, "-engd_ksp_max_it must be positive, got %" PetscInt_FMT, k->max_it);
  PetscCheck(k->nystrom_rank > 0, g->comm, PETSC_ERR_ARG_OUTOFRANGE, "-engd_nystrom_rank must be positive, got %" PetscInt_FMT, k->nystrom_rank);
  k->pc_kind = kind;
  PetscCall(KSPSetType(k->ksp, k->ksp_type));
  /* CG tests the true residual of (G + damping I) d = g, the same criterion for every
     preconditioner (its default, the preconditioned residual, stops Jacobi early); MINRES and
     CR only have the preconditioned one */
  if (!strcmp(k->ksp_type, KSPCG)) PetscCall(KSPSetNormType(k->ksp, KSP_NORM_UNPRECONDITIONED));
  PetscCall(KSPSetTolerances(k->ksp, k->rtol, k->atol, PETSC_DEFAULT, k->max_it));
  PetscCall(KSPSetSkipPCSetFromOptions(k->ksp, PETSC_TRUE)); /* -engd_pc_type is ours, not PETSc's */
  PetscCall(KSPSetFromOptions(k->ksp));
  { /* read by KSPSolve, not by KSPSetFromOptions: mark them known for the unused-options check */
    const char *const at_solve[] = {"-ksp_converged_reason", "-ksp_view", "-ksp_view_final_residual"};
    for (size_t i = 0; i < sizeof(at_solve) / sizeof(at_solve[0]); i++) {
      PetscBool set;
      PetscCall(PetscOptionsHasName(NULL, "engd_", at_solve[i], &set));
    }
  }
  PetscFunctionReturn(0);
}

/* -engd_pc_type kfac: y = M^-1 x with the method's decomposed Kronecker sums. */
static PetscErrorCode PCApply_KFAC(PC pc, Vec x, Vec y)
{
  CurvatureSolver  g;
  const PetscReal *xa;
  PetscReal       *ya;

  PetscFunctionBegin;
  PetscCall(PCShellGetContext(pc, &g));
  PetscCheck(g->kron, g->comm, PETSC_ERR_ORDER, "-engd_pc_type kfac: the method set no Kronecker factors (CurvatureSolverSetKronecker)");
  PetscCall(VecGetArrayRead(x, &xa));
  PetscCall(VecGetArrayWrite(y, &ya));
  PetscCall(KroneckerSumApply(g->kron, xa, ya));
  PetscCall(VecRestoreArrayWrite(y, &ya));
  PetscCall(VecRestoreArrayRead(x, &xa));
  PetscFunctionReturn(0);
}

static PetscErrorCode WantsKronecker_KSP(CurvatureSolver g, PetscBool *wants)
{
  PetscFunctionBegin;
  *wants = (PetscBool)(((Solver_KSP *)g->data)->pc_kind == KSP_PC_KFAC);
  PetscFunctionReturn(0);
}

static PetscErrorCode SetUp_KSP(CurvatureSolver g)
{
  Solver_KSP    *k = (Solver_KSP *)g->data;
  const PetscInt P = g->n_params;
  PC             pc;

  PetscFunctionBegin;
  PetscCheck(k->pc_kind != KSP_PC_NYSTROM || k->nystrom_rank <= P, g->comm, PETSC_ERR_ARG_OUTOFRANGE, "-engd_nystrom_rank %" PetscInt_FMT " exceeds the %" PetscInt_FMT " parameters", k->nystrom_rank, P);
  PetscCall(PetscMalloc3(g->n_rows_max, &k->row_values, P, &k->chunk_y, P, &k->acc));
  PetscCall(MatCreateShell(PETSC_COMM_SELF, P, P, P, P, g, &k->A));
  PetscCall(MatShellSetOperation(k->A, MATOP_MULT, (void (*)(void))MatMult_Damped));
  PetscCall(MatShellSetOperation(k->A, MATOP_GET_DIAGONAL, (void (*)(void))MatGetDiagonal_Damped));
  PetscCall(MatSetOption(k->A, MAT_SYMMETRIC, PETSC_TRUE));
  PetscCall(MatSetOption(k->A, MAT_SPD, PETSC_TRUE));
  PetscCall(MatCreateVecs(k->A, &k->x, &k->b));
  PetscCall(KSPSetOperators(k->ksp, k->A, k->A));
  PetscCall(KSPGetPC(k->ksp, &pc));
  if (k->pc_kind == KSP_PC_NONE) PetscCall(PCSetType(pc, PCNONE));
  else if (k->pc_kind == KSP_PC_JACOBI) PetscCall(PCSetType(pc, PCJACOBI));
  else if (k->pc_kind == KSP_PC_KFAC) {
    PetscCall(PCSetType(pc, PCSHELL));
    PetscCall(PCShellSetContext(pc, g));
    PetscCall(PCShellSetApply(pc, PCApply_KFAC));
    PetscCall(PCShellSetName(pc, "KFAC"));
  } else PetscCall(CurvatureNystromSetUpPC(pc, g, k->nystrom_rank, GramMultContext, g));
  PetscFunctionReturn(0);
}

/* The operator changed: a new assembly state makes KSPSolve set the preconditioner up again. */
static PetscErrorCode MarkChanged(Solver_KSP *k)
{
  PetscFunctionBegin;
  PetscCall(MatAssemblyBegin(k->A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(k->A, MAT_FINAL_ASSEMBLY));
  PetscFunctionReturn(0);
}

static PetscErrorCode SetOperator_KSP(CurvatureSolver g, const CurvatureOperator *op)
{
  Solver_KSP *k = (Solver_KSP *)g->data;

  PetscFunctionBegin;
  PetscCheck(op->type == CURVATURE_ROWS || (op->type == CURVATURE_SHELL && op->mult && op->mult_transpose), g->comm, PETSC_ERR_SUP, "The cg curvature solver needs stored rows or the products J v and J^T w");
  PetscCall(MarkChanged(k)); /* a new G */
  PetscFunctionReturn(0);
}

/* A warm start that is worse than none (|b - A x0| >= |b|, e.g. the direction of a step the
   line search barely took) starts from zero instead: one product more per solve. */
static PetscErrorCode CheckGuess(Solver_KSP *k)
{
  Vec       r;
  PetscReal r_norm, b_norm;

  PetscFunctionBegin;
  PetscCall(VecDuplicate(k->b, &r));
  PetscCall(MatMult(k->A, k->x, r));
  PetscCall(VecAYPX(r, -1.0, k->b));
  PetscCall(VecNorm(r, NORM_2, &r_norm));
  PetscCall(VecNorm(k->b, NORM_2, &b_norm));
  PetscCall(VecDestroy(&r));
  if (!(r_norm < b_norm)) PetscCall(VecZeroEntries(k->x));
  PetscCall(KSPSetInitialGuessNonzero(k->ksp, (PetscBool)(r_norm < b_norm)));
  PetscFunctionReturn(0);
}

static PetscErrorCode Solve_KSP(CurvatureSolver g, const CurvatureRegularization *reg, const PetscReal *rhs, PetscReal *dir, CurvatureSolveInfo *info)
{
  Solver_KSP        *k = (Solver_KSP *)g->data;
  const PetscInt     P = g->n_params;
  PetscReal         *a;
  PetscInt           its;
  KSPConvergedReason reason;
  PC                 pc;

  PetscFunctionBegin;
  if (reg->damping != k->damping) PetscCall(MarkChanged(k)); /* Jacobi's diagonal holds it */
  k->damping = reg->damping;
  PetscCall(VecGetArrayWrite(k->b, &a));
  PetscCall(PetscArraycpy(a, rhs, P));
  PetscCall(VecRestoreArrayWrite(k->b, &a));
  PetscCall(VecGetArrayWrite(k->x, &a));
  if (g->guess_nonzero) PetscCall(PetscArraycpy(a, dir, P));
  else PetscCall(PetscArrayzero(a, P));
  PetscCall(VecRestoreArrayWrite(k->x, &a));
  if (g->guess_nonzero) PetscCall(CheckGuess(k));
  else PetscCall(KSPSetInitialGuessNonzero(k->ksp, PETSC_FALSE));
  PetscCall(KSPGetPC(k->ksp, &pc));
  if (k->pc_kind == KSP_PC_NYSTROM) PetscCall(CurvatureNystromSetShift(pc, reg->damping));
  PetscCall(KSPSolve(k->ksp, k->b, k->x));
  PetscCall(KSPGetIterationNumber(k->ksp, &its));
  PetscCall(KSPGetConvergedReason(k->ksp, &reason));
  PetscCall(VecGetArrayRead(k->x, (const PetscReal **)&a));
  PetscCall(PetscArraycpy(dir, a, P));
  PetscCall(VecRestoreArrayRead(k->x, (const PetscReal **)&a));
  info->iterations      = its;
  info->reason          = (PetscInt)reason;
  info->n_kept          = 0;
  info->lambda_max      = (PetscReal)NAN;
  info->lambda_min_kept = (PetscReal)NAN;
  PetscFunctionReturn(0);
}

static PetscErrorCode MultGram_KSP(CurvatureSolver g, const PetscReal *v, PetscReal *Gv)
{
  PetscFunctionBegin;
  PetscCall(GramMult(g, v, Gv));
  PetscFunctionReturn(0);
}

static PetscErrorCode GetKSP_KSP(CurvatureSolver g, KSP *ksp)
{
  PetscFunctionBegin;
  *ksp = ((Solver_KSP *)g->data)->ksp;
  PetscFunctionReturn(0);
}

static PetscErrorCode Memory_KSP(CurvatureSolver g, PetscLogDouble *bytes)
{
  Solver_KSP     *k = (Solver_KSP *)g->data;
  const PetscReal P = (PetscReal)g->n_params;

  PetscFunctionBegin;
  /* x, b, the Krylov work vectors (at most 8), the sums; Nystrom's sketch, test matrix and U */
  *bytes = 8.0 * (12.0 * P + g->n_rows_max + (k->pc_kind == KSP_PC_NYSTROM ? 3.0 * P * k->nystrom_rank : 0.0));
  PetscFunctionReturn(0);
}

static PetscErrorCode View_KSP(CurvatureSolver g, PetscViewer viewer)
{
  Solver_KSP *k = (Solver_KSP *)g->data;

  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, ", KSP %s, rtol %g, max_it %" PetscInt_FMT ", preconditioner %s", k->ksp_type, (double)k->rtol, k->max_it, KSPPCKinds[k->pc_kind]));
  if (k->pc_kind == KSP_PC_NYSTROM) PetscCall(PetscViewerASCIIPrintf(viewer, " (rank %" PetscInt_FMT ")", k->nystrom_rank));
  PetscFunctionReturn(0);
}

static PetscErrorCode Destroy_KSP(CurvatureSolver g)
{
  Solver_KSP *k = (Solver_KSP *)g->data;

  PetscFunctionBegin;
  PetscCall(KSPDestroy(&k->ksp));
  PetscCall(MatDestroy(&k->A));
  PetscCall(VecDestroy(&k->x));
  PetscCall(VecDestroy(&k->b));
  if (k->row_values) PetscCall(PetscFree3(k->row_values, k->chunk_y, k->acc));
  PetscCall(PetscFree(g->data));
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode CurvatureSolverCreate_KSP(CurvatureSolver g)
{
  Solver_KSP *k;

  PetscFunctionBegin;
  PetscCall(PetscNew(&k));
  PetscCall(PetscStrncpy(k->ksp_type, KSPCG, sizeof(k->ksp_type)));
  k->rtol         = 1e-10;
  k->atol         = 1e-50;
  k->max_it       = 200;
  k->pc_kind      = KSP_PC_NONE;
  k->nystrom_rank = 20;
  PetscCall(KSPCreate(PETSC_COMM_SELF, &k->ksp));
  PetscCall(KSPSetOptionsPrefix(k->ksp, "engd_"));
  PetscCall(KSPSetType(k->ksp, KSPCG));
  PetscCall(KSPSetTolerances(k->ksp, k->rtol, k->atol, PETSC_DEFAULT, k->max_it));
  g->data               = k;
  g->ops.setfromoptions = SetFromOptions_KSP;
  g->ops.setup          = SetUp_KSP;
  g->ops.setoperator    = SetOperator_KSP;
  g->ops.solve          = Solve_KSP;
  g->ops.multgram       = MultGram_KSP;
  g->ops.getksp         = GetKSP_KSP;
  g->ops.wantskronecker = WantsKronecker_KSP;
  g->ops.memory         = Memory_KSP;
  g->ops.view           = View_KSP;
  g->ops.destroy        = Destroy_KSP;
  PetscFunctionReturn(0);
}
