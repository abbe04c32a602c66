/* Replicated curvature solver: each rank forms J~_c^T J~_c of each of its chunks with dsyrk and
   adds them in double-double, one MPI_Allreduce sums the packed upper triangles, and every rank
   solves the same small problem with LAPACK. Every rank then holds the same G whatever the
   rank count, and LAPACK on one thread turns the same G into the same direction.

   The pseudo-inverse needs d = V f(Lambda) V^T g only, not V: the default (-gram_eigensolver
   tridiagonal) reduces G = Q T Q^T (dsytrd), decomposes T = Z Lambda Z^T (dstedc) and applies Q
   to the vectors, d = Q Z f(Lambda) Z^T Q^T g, which saves dsyevd's n^3 back-transformation
   (V = Q Z); Q's block factors are formed once per reduction (tridiagonalq.c: dormtr's bits, a
   fifth of its time per vector). -gram_eigensolver syevd forms V.

   -gram_refine n corrects the direction of a least-squares loss n times from the stored rows
   (corrected semi-normal equations): the Gram's eigen solve is then only the approximate inverse,
   and the direction sees J~'s condition number instead of G's. The default is 2 steps (0 with
   -gram_ema): the tridiagonal solve alone left one of the default job's 30 seeds on a plateau,
   with the two steps all 30 converge in about dsyevd's iterations, at 0.8 ms an iteration less
   (README, "Solve").

   -gram_ema beta solves with the moving average G <- beta G + (1 - beta) G_batch over iterations
   (the KFAC paper's tuned ENGD on resampled points), started from 0 or, with -gram_ema_identity,
   from I. The average is the solver's state (CurvatureSolverGetState: checkpoints). */
#include <engd/private/curvatureimpl.h>
#include <engd/private/lapack.h>
#include <engd/private/tridiagonalq.h>
#include <engd/ddsum.h>
#include <unistd.h>

typedef enum { EIGEN_SYEVD, EIGEN_TRIDIAGONAL } ReplicatedEigensolver;
static const char *const ReplicatedEigensolvers[] = {"syevd", "tridiagonal", "ReplicatedEigensolver", "EIGEN_", NULL};

typedef struct {
  ReplicatedEigensolver eigensolver;
  PetscInt      refine;  /* -gram_refine: corrected semi-normal steps from the rows */
  PetscReal    *row_res, *correction; /* a chunk's residuals; the step's correction */
  DDReal       *dd_vec;  /* J~^T s in double-double */
  PetscReal     ema;     /* -gram_ema: weight of the previous average (0: G of this iteration) */
  PetscBool     ema_identity; /* -gram_ema_identity: the average starts from I instead of 0 */
  PetscReal    *z, *offdiag, *tau; /* tridiagonal: T's eigenvectors, T's off-diagonal, the reflectors' scalars */
  TridiagonalQ  q;       /* tridiagonal: Q of G = Q T Q^T, applied to vectors */
  PetscReal    *gram;    /* P x P, upper triangle valid */
  PetscReal    *factor;  /* P x P: eigenvectors or Cholesky factor; a chunk's product while assembling */
  DDReal       *packed;  /* P(P+1)/2: the upper triangle of G in double-double */
  PetscReal    *lambda, *filter, *tmp;
  PetscReal    *work;
  PetscBLASInt *iwork;
  PetscBLASInt  lwork, liwork;
} Gram_Replicated;

static PetscErrorCode SetUp_Replicated(CurvatureSolver g)
{
  Gram_Replicated *r = (Gram_Replicated *)g->data;
  const PetscInt   P = g->n_params;
  PetscBLASInt     n, info, liwork_query, minus_one = -1;
  PetscReal        lwork_query;

  PetscFunctionBegin;
  PetscCheck((PetscInt64)P * P <= PETSC_MAX_INT, g->comm, PETSC_ERR_ARG_OUTOFRANGE, "The replicated Gram matrix of %" PetscInt_FMT " parameters has %" PetscInt64_FMT " entries, more than a 32-bit PetscInt indexes (at most 46340 parameters); it would need %.0f MB per rank: use fewer parameters (-net_hidden) or -engd_gram scalapack over several ranks", P, (PetscInt64)P * P, 32.0 * (double)P * (double)P / 1048576.0);
  {
    const double need = 24.0 * (double)P * (double)P, have = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGE_SIZE);
    PetscCheck(have <= 0 || need <= have, g->comm, PETSC_ERR_ARG_OUTOFRANGE, "The replicated Gram matrix of %" PetscInt_FMT " parameters needs %.0f MB per rank, more than this node's %.0f MB: use fewer parameters (-net_hidden) or -engd_gram scalapack over several nodes", P, need / 1048576.0, have / 1048576.0);
  }
  PetscCall(PetscMalloc6(P * P, &r->gram, P * P, &r->factor, P, &r->lambda, P, &r->filter, P, &r->tmp, P * (P + 1) / 2, &r->packed));
  PetscCall(PetscArrayzero(r->gram, P * P)); /* the lower triangle stays 0: a checkpointed average has no stray bits */
  if (r->ema_identity) for (PetscInt i = 0; i < P; i++) r->gram[i + i * P] = 1.0;
  PetscCall(PetscBLASIntCast(P, &n));
  dsyevd_("V", "U", &n, r->factor, &n, r->lambda, &lwork_query, &minus_one, &liwork_query, &minus_one, &info);
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dsyevd workspace query failed: info %d", (int)info);
  PetscCheck(lwork_query < (PetscReal)PETSC_MAX_INT, g->comm, PETSC_ERR_ARG_OUTOFRANGE, "The replicated Gram matrix of %" PetscInt_FMT " parameters needs a LAPACK workspace of %.4g entries, more than 32-bit LAPACK indexes: use fewer parameters (-net_hidden) or -engd_gram scalapack over several ranks", P, (double)lwork_query);
  r->lwork  = (PetscBLASInt)lwork_query;
  r->liwork = liwork_query;
  if (r->eigensolver == EIGEN_TRIDIAGONAL) { /* dstedc needs less than dsyevd; dsytrd's and dormtr's blocked workspace on top */
    r->lwork = PetscMax(r->lwork, 64 * n);
    PetscCall(PetscMalloc3(P * P, &r->z, P, &r->offdiag, P, &r->tau));
    PetscCall(TridiagonalQCreate(n, r->lwork, &r->q));
  }
  PetscCall(PetscMalloc2(r->lwork, &r->work, r->liwork, &r->iwork));
  if (r->refine > 0) PetscCall(PetscMalloc3(g->n_rows_max, &r->row_res, P, &r->correction, P, &r->dd_vec));
  PetscFunctionReturn(0);
}

static PetscErrorCode SetFromOptions_Replicated(CurvatureSolver g)
{
  Gram_Replicated *r = (Gram_Replicated *)g->data;
  PetscInt         choice = (PetscInt)r->eigensolver;
  PetscBool        refine_set = PETSC_FALSE;

  PetscFunctionBegin;
  PetscOptionsBegin(g->comm, NULL, "Replicated Gram solver options", "CurvatureSolver");
  PetscCall(EngdOptionsEList("-gram_eigensolver", "Replicated eigen solve: syevd (eigenvectors formed) or tridiagonal (Q applied to the two vectors only)", "CurvatureSolverSolve", ReplicatedEigensolvers, 2, ReplicatedEigensolvers[choice], &choice, NULL));
  PetscCall(EngdOptionsReal("-gram_ema", "Solve with the moving average G <- beta G + (1 - beta) G_batch over iterations; 0: this iteration's G", "CurvatureSolverSetOperator", r->ema, &r->ema, NULL));
  PetscCall(EngdOptionsBool("-gram_ema_identity", "With -gram_ema: start the average from the identity instead of 0", "CurvatureSolverSetOperator", r->ema_identity, &r->ema_identity, NULL));
  PetscCall(EngdOptionsInt("-gram_refine", "Corrected semi-normal steps d += G^+ (J~^T (r~ - J~ d) - damping d) from the stored rows (least-squares losses; default 2, 0 with -gram_ema)", "CurvatureSolverSolve", r->refine, &r->refine, &refine_set));
  PetscOptionsEnd();
  if (!refine_set && r->ema > 0) r->refine = 0; /* the average's direction is not this iteration's rows' */
  PetscCheck(r->ema >= 0 && r->ema < 1, g->comm, PETSC_ERR_ARG_OUTOFRANGE, "-gram_ema %g: the average's weight must be in [0, 1)", (double)r->ema);
  PetscCheck(r->refine >= 0, g->comm, PETSC_ERR_ARG_OUTOFRANGE, "-gram_refine %" PetscInt_FMT ": the number of refinement steps must be 0 or more", r->refine);
  PetscCheck(r->refine == 0 || r->ema == 0, g->comm, PETSC_ERR_ARG_INCOMP, "-gram_refine corrects towards this iteration's rows, -gram_ema %g averages G over iterations: use one of them", (double)r->ema);
  r->eigensolver = (ReplicatedEigensolver)choice;
  PetscFunctionReturn(0);
}

/* filtered = Z diag(filter) Z^T v with the n x n eigenvectors Z (two dgemv). */
static PetscErrorCode ApplyFiltered(PetscBLASInt n, const PetscReal *Z, const PetscReal *filter, const PetscReal *v, PetscReal *tmp, PetscReal *filtered)
{
  PetscBLASInt    one_i = 1;
  const PetscReal one = 1.0, zero = 0.0;

  PetscFunctionBegin;
  PetscCallBLAS("BLASgemv", BLASgemv_("T", &n, &n, &one, Z, &n, v, &one_i, &zero, tmp, &one_i));
  for (PetscBLASInt i = 0; i < n; i++) tmp[i] *= filter[i];
  PetscCallBLAS("BLASgemv", BLASgemv_("N", &n, &n, &one, Z, &n, tmp, &one_i, &zero, filtered, &one_i));
  PetscFunctionReturn(0);
}

/* out = Q Z diag(filter) Z^T Q^T v with G = Q T Q^T and T = Z Lambda Z^T (tridiagonal), or
   V diag(filter) V^T v with G's eigenvectors V (syevd). out may be v. */
static PetscErrorCode ApplyPseudoInverse(CurvatureSolver g, const PetscReal *v, PetscReal *out)
{
  Gram_Replicated *r = (Gram_Replicated *)g->data;
  PetscBLASInt     n;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(g->n_params, &n));
  if (r->eigensolver == EIGEN_SYEVD) {
    PetscCall(ApplyFiltered(n, r->factor, r->filter, v, r->tmp, out));
    PetscFunctionReturn(0);
  }
  if (out != v) PetscCall(PetscArraycpy(out, v, g->n_params));
  PetscCall(TridiagonalQApply(&r->q, 'T', r->factor, r->tau, out));
  PetscCall(ApplyFiltered(n, r->z, r->filter, out, r->tmp, out));
  PetscCall(TridiagonalQApply(&r->q, 'N', r->factor, r->tau, out));
  PetscFunctionReturn(0);
}

/* G's eigenvalues into lambda and what ApplyPseudoInverse needs: V (syevd), or Q's reflectors and
   T's eigenvectors Z (tridiagonal). */
static PetscErrorCode Decompose(CurvatureSolver g)
{
  Gram_Replicated *r = (Gram_Replicated *)g->data;
  const PetscInt   P = g->n_params;
  PetscBLASInt     n, lapack_info;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(P, &n));
  PetscCall(PetscArraycpy(r->factor, r->gram, P * P));
  if (r->eigensolver == EIGEN_SYEVD) {
    dsyevd_("V", "U", &n, r->factor, &n, r->lambda, r->work, &r->lwork, r->iwork, &r->liwork, &lapack_info);
    PetscCheck(lapack_info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dsyevd failed on the Gram matrix: info %d", (int)lapack_info);
    PetscCall(PetscLogFlops(9.0 * P * P * P));
    PetscFunctionReturn(0);
  }
  dsytrd_("U", &n, r->factor, &n, r->lambda, r->offdiag, r->tau, r->work, &r->lwork, &lapack_info);
  PetscCheck(lapack_info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dsytrd failed on the Gram matrix: info %d", (int)lapack_info);
  dstedc_("I", &n, r->lambda, r->offdiag, r->z, &n, r->work, &r->lwork, r->iwork, &r->liwork, &lapack_info);
  PetscCheck(lapack_info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dstedc failed on the tridiagonal Gram matrix: info %d", (int)lapack_info);
  PetscCall(TridiagonalQFactor(&r->q, r->factor, r->tau));
  PetscCall(PetscLogFlops(7.0 * P * P * P));
  PetscFunctionReturn(0);
}

static PetscErrorCode SetOperator_Replicated(CurvatureSolver g, const CurvatureOperator *op)
{
  PetscReal      *jac_t = op->jac_t;
  const PetscInt  n_chunks = op->n_chunks, *chunk_row = op->chunk_row;
  Gram_Replicated *r = (Gram_Replicated *)g->data;
  const PetscInt   P = g->n_params;
  PetscBLASInt     n, k;
  const PetscReal  one = 1.0, zero = 0.0;

  PetscFunctionBegin;
  PetscCheck(op->type == CURVATURE_ROWS, g->comm, PETSC_ERR_SUP, "The %s Gram solver needs stored rows (a CURVATURE_ROWS operator)", g->type);
  PetscCall(PetscBLASIntCast(P, &n));
  DDZero(P * (P + 1) / 2, r->packed);
  for (PetscInt c = 0; c < n_chunks; c++) {
    PetscCall(PetscBLASIntCast(chunk_row[c + 1] - chunk_row[c], &k));
    if (k == 0) continue;
    PetscCallBLAS("BLASsyrk", BLASsyrk_("U", "N", &n, &k, &one, jac_t + chunk_row[c] * P, &n, &zero, r->factor, &n));
    DDAddUpperPacked(P, r->factor, P, r->packed);
  }
  PetscCall(PetscLogFlops((PetscLogDouble)chunk_row[n_chunks] * P * (P + 1)));
  PetscCall(DDAllreduce(g->comm, P * (P + 1) / 2, r->packed));
  if (r->ema == 0) {
    for (PetscInt j = 0; j < P; j++) DDRoundArray(j + 1, r->packed + j * (j + 1) / 2, r->gram + j * P);
    PetscFunctionReturn(0);
  }
  for (PetscInt j = 0; j < P; j++) { /* G <- beta G + (1 - beta) G_batch, upper triangle */
    DDRoundArray(j + 1, r->packed + j * (j + 1) / 2, r->factor + j * P);
    for (PetscInt i = 0; i <= j; i++) r->gram[i + j * P] = r->ema * r->gram[i + j * P] + (1.0 - r->ema) * r->factor[i + j * P];
  }
  PetscFunctionReturn(0);
}

/* Corrected semi-normal equations (Bjorck 1987): with s = r~ - J~ d from the stored rows,
   d += (G + damping I)^+ (J~^T s - damping d). The residual is formed from J~, not from G, so the
   correction sees J~'s condition number, not G's squared one; the filtered eigen solve is the
   approximate inverse. J~^T s is summed chunk by chunk in double-double like G. */
static PetscErrorCode RefineDirection(CurvatureSolver g, const CurvatureRegularization *reg, PetscReal *dir)
{
  Gram_Replicated         *r  = (Gram_Replicated *)g->data;
  const CurvatureOperator *op = g->op;
  const PetscInt           P  = g->n_params;
  PetscBLASInt             n, k, one_i = 1;
  const PetscReal          one = 1.0, minus_one = -1.0, zero = 0.0;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(P, &n));
  for (PetscInt step = 0; step < r->refine; step++) {
    DDZero(P, r->dd_vec);
    for (PetscInt c = 0; c < op->n_chunks; c++) {
      const PetscReal *jc = op->jac_t + op->chunk_row[c] * P;
      PetscCall(PetscBLASIntCast(op->chunk_row[c + 1] - op->chunk_row[c], &k));
      if (k == 0) continue;
      PetscCall(PetscArraycpy(r->row_res, op->res + op->chunk_row[c], k));
      PetscCallBLAS("BLASgemv", BLASgemv_("T", &n, &k, &minus_one, jc, &n, dir, &one_i, &one, r->row_res, &one_i));
      PetscCallBLAS("BLASgemv", BLASgemv_("N", &n, &k, &one, jc, &n, r->row_res, &one_i, &zero, r->correction, &one_i));
      DDAddArray(P, r->correction, r->dd_vec);
    }
    PetscCall(PetscLogFlops(4.0 * op->chunk_row[op->n_chunks] * P));
    PetscCall(DDAllreduce(g->comm, P, r->dd_vec));
    DDRoundArray(P, r->dd_vec, r->correction);
    for (PetscInt i = 0; i < P; i++) r->correction[i] -= reg->damping * dir[i];
    PetscCall(ApplyPseudoInverse(g, r->correction, r->correction));
    for (PetscInt i = 0; i < P; i++) dir[i] += r->correction[i];
  }
  PetscFunctionReturn(0);
}

/* dir = (G + damping I)^+ rhs over the eigenvalues the cut-off keeps, refined from the rows. */
static PetscErrorCode SolveEigen(CurvatureSolver g, const CurvatureRegularization *reg, const PetscReal *rhs, PetscReal *dir, CurvatureSolveInfo *info)
{
  Gram_Replicated *r = (Gram_Replicated *)g->data;

  PetscFunctionBegin;
  PetscCall(Decompose(g));
  PetscCall(CurvatureSpectralFilter(g->n_params, r->lambda, reg->rcond, reg->damping, r->filter, info));
  PetscCall(ApplyPseudoInverse(g, rhs, dir));
  if (r->refine > 0 && g->residual_form && g->op && g->op->type == CURVATURE_ROWS && g->op->res) PetscCall(RefineDirection(g, reg, dir));
  PetscFunctionReturn(0);
}

static PetscErrorCode Solve_Replicated(CurvatureSolver g, const CurvatureRegularization *reg, const PetscReal *rhs, PetscReal *dir, CurvatureSolveInfo *info)
{
  Gram_Replicated *r = (Gram_Replicated *)g->data;
  const PetscInt   P = g->n_params;
  PetscBLASInt     n, one_i = 1, lapack_info;
  PetscReal        max_diag = 0.0, shift;

  PetscFunctionBegin;
  if (g->solve_type == CURVATURE_SOLVE_EIGEN) {
    PetscCall(SolveEigen(g, reg, rhs, dir, info));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscBLASIntCast(P, &n));
  PetscCall(PetscArraycpy(r->factor, r->gram, P * P));
  for (PetscInt i = 0; i < P; i++) max_diag = PetscMax(max_diag, r->gram[i + i * P]);
  shift = CurvatureCholeskyShift(reg, max_diag);
  for (PetscInt i = 0; i < P; i++) r->factor[i + i * P] += shift;
  PetscCallBLAS("LAPACKpotrf", LAPACKpotrf_("U", &n, r->factor, &n, &lapack_info));
  PetscCall(PetscLogFlops(P * P * P / 3.0));
  if (lapack_info != 0) { /* not numerically positive definite: fall back to the pseudo-inverse */
    PetscCall(SolveEigen(g, reg, rhs, dir, info));
    info->used_fallback = PETSC_TRUE;
    PetscFunctionReturn(0);
  }
  PetscCall(PetscArraycpy(dir, rhs, P));
  PetscCallBLAS("LAPACKpotrs", LAPACKpotrs_("U", &n, &one_i, r->factor, &n, dir, &n, &lapack_info));
  PetscCheck(lapack_info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dpotrs failed: info %d", (int)lapack_info);
  info->n_kept     = P;
  info->lambda_max = max_diag;
  PetscFunctionReturn(0);
}

static PetscErrorCode GetMatrix_Replicated(CurvatureSolver g, PetscReal *gram)
{
  Gram_Replicated *r = (Gram_Replicated *)g->data;

  PetscFunctionBegin;
  PetscCall(PetscArraycpy(gram, r->gram, g->n_params * g->n_params));
  PetscFunctionReturn(0);
}

static PetscErrorCode GetState_Replicated(CurvatureSolver g, PetscInt *length, const PetscReal **values)
{
  Gram_Replicated *r = (Gram_Replicated *)g->data;

  PetscFunctionBegin;
  *length = r->ema > 0 ? g->n_params * g->n_params : 0;
  *values = r->ema > 0 ? r->gram : NULL;
  PetscFunctionReturn(0);
}

static PetscErrorCode SetState_Replicated(CurvatureSolver g, PetscInt length, const PetscReal *values)
{
  Gram_Replicated *r = (Gram_Replicated *)g->data;

  PetscFunctionBegin;
  for (PetscInt k = 0; k < length; k++) PetscCheck(!PetscIsInfOrNanReal(values[k]), g->comm, PETSC_ERR_FILE_UNEXPECTED, "the saved moving average of the Gram matrix has a non-finite entry");
  PetscCall(PetscArraycpy(r->gram, values, length));
  PetscFunctionReturn(0);
}

static PetscErrorCode View_Replicated(CurvatureSolver g, PetscViewer viewer)
{
  Gram_Replicated *r = (Gram_Replicated *)g->data;

  PetscFunctionBegin;
  if (g->solve_type == CURVATURE_SOLVE_EIGEN) PetscCall(PetscViewerASCIIPrintf(viewer, ", eigenvalues by %s", r->eigensolver == EIGEN_SYEVD ? "dsyevd" : "dsytrd + dstedc"));
  if (r->ema > 0) PetscCall(PetscViewerASCIIPrintf(viewer, ", moving average of G over iterations (beta %g, from %s)", (double)r->ema, r->ema_identity ? "I" : "0"));
  if (r->refine > 0) PetscCall(PetscViewerASCIIPrintf(viewer, ", %" PetscInt_FMT " refinement steps from the rows", r->refine));
  PetscFunctionReturn(0);
}

static PetscErrorCode Memory_Replicated(CurvatureSolver g, PetscLogDouble *bytes)
{
  Gram_Replicated *r = (Gram_Replicated *)g->data;
  const PetscReal  P = (PetscReal)g->n_params;

  PetscFunctionBegin;
  /* G, eigenvectors, packed double-double G (P^2) and the same again that the MPI_Allreduce
     of it uses for itself */
  *bytes = 8.0 * (4.0 * P * P + 5.0 * P + (r->lwork > 0 ? r->lwork : 2.0 * P * P)) + 4.0 * r->liwork;
  PetscFunctionReturn(0);
}

static PetscErrorCode Destroy_Replicated(CurvatureSolver g)
{
  Gram_Replicated *r = (Gram_Replicated *)g->data;

  PetscFunctionBegin;
  if (r->gram) PetscCall(PetscFree6(r->gram, r->factor, r->lambda, r->filter, r->tmp, r->packed));
  if (r->work) PetscCall(PetscFree2(r->work, r->iwork));
  if (r->z) {
    PetscCall(PetscFree3(r->z, r->offdiag, r->tau));
    PetscCall(TridiagonalQDestroy(&r->q));
  }
  if (r->row_res) PetscCall(PetscFree3(r->row_res, r->correction, r->dd_vec));
  PetscCall(PetscFree(g->data));
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode CurvatureSolverCreate_Replicated(CurvatureSolver g)
{
  Gram_Replicated *r;

  PetscFunctionBegin;
  PetscCall(PetscNew(&r));
  r->eigensolver   = EIGEN_TRIDIAGONAL;
  r->refine        = 2;
  g->data          = r;
  g->ops.setup     = SetUp_Replicated;
  g->ops.setfromoptions = SetFromOptions_Replicated;
  g->ops.setoperator = SetOperator_Replicated;
  g->ops.solve     = Solve_Replicated;
  g->ops.getmatrix = GetMatrix_Replicated;
  g->ops.memory    = Memory_Replicated;
  g->ops.getstate  = GetState_Replicated;
  g->ops.setstate  = SetState_Replicated;
  g->ops.view      = View_Replicated;
  g->ops.destroy   = Destroy_Replicated;
  PetscFunctionReturn(0);
}
