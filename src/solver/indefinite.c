/* Indefinite curvature solver: an assembled symmetric P x P matrix H (CURVATURE_MATRIX, the
   exact Hessian of Newton's methods), the same on every rank. SetOperator computes its
   eigendecomposition H = V diag(lambda) V^T (LAPACK dsyevd on one thread: the same bits on every
   rank), the solve applies the spectral filter set with CurvatureSolverSetFilter (curvature.h):
   d = V diag(f(lambda)) V^T g. The eigenvalues stay available for diagnostics. */
#include <engd/private/curvatureimpl.h>
#include <engd/private/lapack.h>

typedef struct {
  PetscReal    *vectors, *lambda, *filter, *tmp, *work;
  PetscBLASInt *iwork;
  PetscBLASInt  lwork, liwork;
  PetscBool     have;
} Solver_Indefinite;

static PetscErrorCode SetUp_Indefinite(CurvatureSolver g)
{
  Solver_Indefinite *s = (Solver_Indefinite *)g->data;
  const PetscInt     P = g->n_params;
  PetscBLASInt       n, info, liwork_query, minus_one = -1;
  PetscReal          lwork_query;

  PetscFunctionBegin;
  PetscCheck((PetscInt64)P * P <= PETSC_MAX_INT, g->comm, PETSC_ERR_ARG_OUTOFRANGE, "The indefinite solver's %" PetscInt_FMT " x %" PetscInt_FMT " matrix has more entries than a 32-bit PetscInt indexes", P, P);
  PetscCall(PetscMalloc4(P * P, &s->vectors, P, &s->lambda, P, &s->filter, P, &s->tmp));
  PetscCall(PetscBLASIntCast(P, &n));
  dsyevd_("V", "U", &n, s->vectors, &n, s->lambda, &lwork_query, &minus_one, &liwork_query, &minus_one, &info);
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dsyevd workspace query failed: info %d", (int)info);
  s->lwork  = (PetscBLASInt)lwork_query;
  s->liwork = liwork_query;
  PetscCall(PetscMalloc2(s->lwork, &s->work, s->liwork, &s->iwork));
  PetscFunctionReturn(0);
}

static PetscErrorCode SetOperator_Indefinite(CurvatureSolver g, const CurvatureOperator *op)
{
  Solver_Indefinite *s = (Solver_Indefinite *)g->data;
  const PetscInt     P = g->n_params;
  PetscBLASInt       n, info;

  PetscFunctionBegin;
  PetscCheck(op->type == CURVATURE_MATRIX && op->matrix, g->comm, PETSC_ERR_SUP, "The %s curvature solver needs an assembled matrix (a CURVATURE_MATRIX operator)", g->type);
  PetscCall(PetscBLASIntCast(P, &n));
  PetscCall(PetscArraycpy(s->vectors, op->matrix, P * P));
  PetscCall(PetscLogEventBegin(CURVATURESOLVER_Solve, 0, 0, 0, 0));
  dsyevd_("V", "U", &n, s->vectors, &n, s->lambda, s->work, &s->lwork, s->iwork, &s->liwork, &info);
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dsyevd failed on the indefinite matrix: info %d", (int)info);
  PetscCall(PetscLogFlops(9.0 * P * P * P));
  PetscCall(PetscLogEventEnd(CURVATURESOLVER_Solve, 0, 0, 0, 0));
  s->have = PETSC_TRUE;
  PetscFunctionReturn(0);
}

static PetscErrorCode Solve_Indefinite(CurvatureSolver g, const CurvatureRegularization *reg, const PetscReal *rhs, PetscReal *dir, CurvatureSolveInfo *info)
{
  Solver_Indefinite *s  = (Solver_Indefinite *)g->data;
  const PetscInt     P  = g->n_params;
  const PetscReal    mu = reg->damping;
  PetscReal          biggest = 0.0, cut;
  PetscBLASInt       n, one_i = 1;
  const PetscReal    one = 1.0, zero = 0.0;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(P, &n));
  for (PetscInt i = 0; i < P; i++) biggest = PetscMax(biggest, g->filter == CURVATURE_FILTER_SIGNED ? PetscAbsReal(s->lambda[i] + mu) : PetscAbsReal(s->lambda[i]));
  cut                   = reg->rcond * biggest;
  info->n_kept          = 0;
  info->lambda_max      = s->lambda[P - 1];
  info->lambda_min      = s->lambda[0];
  info->lambda_min_kept = biggest;
  info->n_negative      = 0;
  for (PetscInt i = 0; i < P; i++) {
    const PetscReal shifted = g->filter == CURVATURE_FILTER_SIGNED ? s->lambda[i] + mu : PetscAbsReal(s->lambda[i]) + mu;
    const PetscReal size    = g->filter == CURVATURE_FILTER_SIGNED ? PetscAbsReal(shifted) : PetscAbsReal(s->lambda[i]);
    if (s->lambda[i] < -cut) info->n_negative++;
    if (size > cut && size > 0) {
      s->filter[i] = 1.0 / shifted;
      info->n_kept++;
      info->lambda_min_kept = PetscMin(info->lambda_min_kept, size);
    } else s->filter[i] = 0.0;
  }
  PetscCallBLAS("BLASgemv", BLASgemv_("T", &n, &n, &one, s->vectors, &n, rhs, &one_i, &zero, s->tmp, &one_i));
  for (PetscInt i = 0; i < P; i++) s->tmp[i] *= s->filter[i];
  PetscCallBLAS("BLASgemv", BLASgemv_("N", &n, &n, &one, s->vectors, &n, s->tmp, &one_i, &zero, dir, &one_i));
  PetscCall(PetscLogFlops(4.0 * P * P));
  PetscFunctionReturn(0);
}

static PetscErrorCode GetEigenvalues_Indefinite(CurvatureSolver g, PetscInt *n, const PetscReal **lambda)
{
  Solver_Indefinite *s = (Solver_Indefinite *)g->data;

  PetscFunctionBegin;
  PetscCheck(s->have, g->comm, PETSC_ERR_ORDER, "Call CurvatureSolverSetOperator() before CurvatureSolverGetEigenvalues()");
  *n      = g->n_params;
  *lambda = s->lambda;
  PetscFunctionReturn(0);
}

static PetscErrorCode GetMatrix_Indefinite(CurvatureSolver g, PetscReal *matrix)
{
  PetscFunctionBegin;
  PetscCheck(g->op && g->op->matrix, g->comm, PETSC_ERR_ORDER, "Call CurvatureSolverSetOperator() first");
  PetscCall(PetscArraycpy(matrix, g->op->matrix, g->n_params * g->n_params));
  PetscFunctionReturn(0);
}

static PetscErrorCode Memory_Indefinite(CurvatureSolver g, PetscLogDouble *bytes)
{
  const PetscReal P = (PetscReal)g->n_params;

  PetscFunctionBegin;
  *bytes = 8.0 * (4.0 * P * P + 4.0 * P); /* H (the caller's), V, dsyevd's workspace ~ 2 P^2 */
  PetscFunctionReturn(0);
}

static PetscErrorCode Destroy_Indefinite(CurvatureSolver g)
{
  Solver_Indefinite *s = (Solver_Indefinite *)g->data;

  PetscFunctionBegin;
  if (s->vectors) PetscCall(PetscFree4(s->vectors, s->lambda, s->filter, s->tmp));
  if (s->work) PetscCall(PetscFree2(s->work, s->iwork));
  PetscCall(PetscFree(g->data));
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode CurvatureSolverCreate_Indefinite(CurvatureSolver g)
{
  Solver_Indefinite *s;

  PetscFunctionBegin;
  PetscCall(PetscNew(&s));
  g->data               = s;
  g->ops.setup          = SetUp_Indefinite;
  g->ops.setoperator    = SetOperator_Indefinite;
  g->ops.solve          = Solve_Indefinite;
  g->ops.getmatrix      = GetMatrix_Indefinite;
  g->ops.geteigenvalues = GetEigenvalues_Indefinite;
  g->ops.memory         = Memory_Indefinite;
  g->ops.destroy        = Destroy_Indefinite;
  PetscFunctionReturn(0);
}
