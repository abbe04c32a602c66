/* Replicated Gram back-end: each rank forms J~_r^T J~_r with dsyrk, one MPI_Allreduce sums
   the P x P matrices, and every rank solves the same small problem with LAPACK. */
#include <engd/private/gramimpl.h>
#include <engd/private/lapack.h>

typedef struct {
  PetscReal    *gram;    /* P x P, upper triangle valid */
  PetscReal    *factor;  /* P x P: eigenvectors or Cholesky factor */
  PetscReal    *lambda, *filter, *tmp;
  PetscReal    *work;
  PetscBLASInt *iwork;
  PetscBLASInt  lwork, liwork;
} Gram_Replicated;

static PetscErrorCode SetUp_Replicated(Gram g)
{
  Gram_Replicated *r = (Gram_Replicated *)g->data;
  const PetscInt   P = g->n_params;
  PetscBLASInt     n, info, liwork_query, minus_one = -1;
  PetscReal        lwork_query;

  PetscFunctionBegin;
  PetscCall(PetscMalloc5(P * P, &r->gram, P * P, &r->factor, P, &r->lambda, P, &r->filter, P, &r->tmp));
  PetscCall(PetscBLASIntCast(P, &n));
  dsyevd_("V", "U", &n, r->factor, &n, r->lambda, &lwork_query, &minus_one, &liwork_query, &minus_one, &info);
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dsyevd workspace query failed: info %d", (int)info);
  r->lwork  = (PetscBLASInt)lwork_query;
  r->liwork = liwork_query;
  PetscCall(PetscMalloc2(r->lwork, &r->work, r->liwork, &r->iwork));
  PetscFunctionReturn(0);
}

static PetscErrorCode Assemble_Replicated(Gram g, PetscReal *jac_t, PetscInt n_rows_local)
{
  Gram_Replicated *r = (Gram_Replicated *)g->data;
  PetscBLASInt     n, k;
  const PetscReal  one = 1.0, zero = 0.0;
  PetscMPIInt      count;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(g->n_params, &n));
  PetscCall(PetscBLASIntCast(n_rows_local, &k));
  if (k > 0) PetscCallBLAS("BLASsyrk", BLASsyrk_("U", "N", &n, &k, &one, jac_t, &n, &zero, r->gram, &n));
  else PetscCall(PetscArrayzero(r->gram, g->n_params * g->n_params));
  PetscCall(PetscMPIIntCast(g->n_params * g->n_params, &count));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, r->gram, count, MPIU_REAL, MPIU_SUM, g->comm));
  PetscFunctionReturn(0);
}

/* dir = V diag(filter) V^T rhs with the eigenpairs of G. */
static PetscErrorCode SolveEigen(Gram g, PetscReal damping, const PetscReal *rhs, PetscReal *dir, GramSolveInfo *info)
{
  Gram_Replicated *r = (Gram_Replicated *)g->data;
  const PetscInt   P = g->n_params;
  PetscBLASInt     n, one_i = 1, lapack_info;
  const PetscReal  one = 1.0, zero = 0.0;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(P, &n));
  PetscCall(PetscArraycpy(r->factor, r->gram, P * P));
  dsyevd_("V", "U", &n, r->factor, &n, r->lambda, r->work, &r->lwork, r->iwork, &r->liwork, &lapack_info);
  PetscCheck(lapack_info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dsyevd failed on the Gram matrix: info %d", (int)lapack_info);
  PetscCall(PetscLogFlops(9.0 * P * P * P));
  PetscCall(GramSpectralFilter(P, r->lambda, g->rcond, damping, r->filter, info));
  PetscCallBLAS("BLASgemv", BLASgemv_("T", &n, &n, &one, r->factor, &n, rhs, &one_i, &zero, r->tmp, &one_i));
  for (PetscInt i = 0; i < P; i++) r->tmp[i] *= r->filter[i];
  PetscCallBLAS("BLASgemv", BLASgemv_("N", &n, &n, &one, r->factor, &n, r->tmp, &one_i, &zero, dir, &one_i));
  PetscFunctionReturn(0);
}

static PetscErrorCode Solve_Replicated(Gram g, PetscReal damping, const PetscReal *rhs, PetscReal *dir, GramSolveInfo *info)
{
  Gram_Replicated *r = (Gram_Replicated *)g->data;
  const PetscInt   P = g->n_params;
  PetscBLASInt     n, one_i = 1, lapack_info;
  PetscReal        max_diag = 0.0, shift;

  PetscFunctionBegin;
  if (g->solve_type == GRAM_SOLVE_EIGEN) {
    PetscCall(SolveEigen(g, damping, rhs, dir, info));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscBLASIntCast(P, &n));
  PetscCall(PetscArraycpy(r->factor, r->gram, P * P));
  for (PetscInt i = 0; i < P; i++) max_diag = PetscMax(max_diag, r->gram[i + i * P]);
  shift = GramCholeskyShift(g, damping, max_diag);
  for (PetscInt i = 0; i < P; i++) r->factor[i + i * P] += shift;
  PetscCallBLAS("LAPACKpotrf", LAPACKpotrf_("U", &n, r->factor, &n, &lapack_info));
  PetscCall(PetscLogFlops(P * P * P / 3.0));
  if (lapack_info != 0) { /* not numerically positive definite: fall back to the pseudo-inverse */
    PetscCall(SolveEigen(g, damping, rhs, dir, info));
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

static PetscErrorCode GetMatrix_Replicated(Gram g, PetscReal *gram)
{
  Gram_Replicated *r = (Gram_Replicated *)g->data;

  PetscFunctionBegin;
  PetscCall(PetscArraycpy(gram, r->gram, g->n_params * g->n_params));
  PetscFunctionReturn(0);
}

static PetscErrorCode Memory_Replicated(Gram g, PetscLogDouble *bytes)
{
  Gram_Replicated *r = (Gram_Replicated *)g->data;
  const PetscReal  P = (PetscReal)g->n_params;

  PetscFunctionBegin;
  /* G, eigenvectors, and about P^2/2 the in-place MPI_Allreduce of G uses for itself */
  *bytes = 8.0 * (2.5 * P * P + 3.0 * P + (r->lwork > 0 ? r->lwork : 2.0 * P * P)) + 4.0 * r->liwork;
  PetscFunctionReturn(0);
}

static PetscErrorCode Destroy_Replicated(Gram g)
{
  Gram_Replicated *r = (Gram_Replicated *)g->data;

  PetscFunctionBegin;
  if (r->gram) PetscCall(PetscFree5(r->gram, r->factor, r->lambda, r->filter, r->tmp));
  if (r->work) PetscCall(PetscFree2(r->work, r->iwork));
  PetscCall(PetscFree(g->data));
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode GramCreate_Replicated(Gram g)
{
  Gram_Replicated *r;

  PetscFunctionBegin;
  PetscCall(PetscNew(&r));
  g->data          = r;
  g->ops.setup     = SetUp_Replicated;
  g->ops.assemble  = Assemble_Replicated;
  g->ops.solve     = Solve_Replicated;
  g->ops.getmatrix = GetMatrix_Replicated;
  g->ops.memory    = Memory_Replicated;
  g->ops.destroy   = Destroy_Replicated;
  PetscFunctionReturn(0);
}
