/* A symmetric matrix in a 2-D block-cyclic ScaLAPACK layout and its regularised solve
   (blockcyclic.h): pdsyevd with the spectral filter, or a shifted pdpotrf/pdpotrs with the
   eigen solve as fallback. The right-hand side and the solution are replicated vectors: the
   products with the eigenvectors are local, summed with one MPI_Allreduce each. */
#include <engd/private/blockcyclic.h>
#include <engd/private/lapack.h>

#define SCALAPACK_CHECK(call_name, info) PetscCheck((info) == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "%s failed: info %d", call_name, (int)(info))

PetscErrorCode BlockCyclicMatrixCreate(MPI_Comm comm, PetscInt n_global, PetscInt block_size, BlockCyclicMatrix *bc)
{
  int         n, R, nb, zero = 0, one = 1, info;
  int         lwork_query_i, minus_one = -1;
  PetscReal   lwork_query;
  PetscMPIInt size;

  PetscFunctionBegin;
  PetscCall(PetscMemzero(bc, sizeof(*bc)));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  bc->comm = comm;
  bc->size = size;
  R        = size;
  PetscCall(PetscMPIIntCast(n_global, &n));
  PetscCall(PetscMPIIntCast(PetscMin(block_size, n_global), &nb));
  bc->n  = n;
  bc->nb = nb;
  /* the most nearly square grid with nprow <= npcol */
  bc->nprow = 1;
  for (int p = 1; p * p <= R; p++)
    if (R % p == 0) bc->nprow = p;
  bc->npcol = R / bc->nprow;

  bc->blacs_handle = Csys2blacs_handle(comm);
  bc->ctx          = bc->blacs_handle;
  Cblacs_gridinit(&bc->ctx, "R", bc->nprow, bc->npcol);
  Cblacs_gridinfo(bc->ctx, &bc->nprow, &bc->npcol, &bc->myrow, &bc->mycol);
  PetscCall(PetscMalloc2(R, &bc->proc_row, R, &bc->proc_col));
  for (int p = 0; p < R; p++) Cblacs_pcoord(bc->ctx, p, &bc->proc_row[p], &bc->proc_col[p]);

  bc->rows = numroc_(&n, &nb, &bc->myrow, &zero, &bc->nprow);
  bc->cols = numroc_(&n, &nb, &bc->mycol, &zero, &bc->npcol);
  bc->lld  = PetscMax(1, bc->rows);
  descinit_(bc->desc, &n, &n, &nb, &nb, &zero, &zero, &bc->ctx, &bc->lld, &info);
  SCALAPACK_CHECK("descinit (matrix)", info);
  descinit_(bc->desc_b, &n, &one, &nb, &nb, &zero, &zero, &bc->ctx, &bc->lld, &info);
  SCALAPACK_CHECK("descinit (right-hand side)", info);

  PetscCall(PetscCalloc3((size_t)bc->lld * PetscMax(1, bc->cols), &bc->matrix, (size_t)bc->lld * PetscMax(1, bc->cols), &bc->work_matrix, (size_t)bc->lld * PetscMax(1, bc->cols), &bc->eigvec));
  PetscCall(PetscMalloc4(n, &bc->lambda, n, &bc->filter, n, &bc->vec_a, n, &bc->vec_b));

  pdsyevd_("V", "U", &n, bc->work_matrix, &one, &one, bc->desc, bc->lambda, bc->eigvec, &one, &one, bc->desc, &lwork_query, &minus_one, &lwork_query_i, &minus_one, &info);
  SCALAPACK_CHECK("pdsyevd workspace query", info);
  { /* pdsyevd's query undercounts what PDORMTR and PDLASRT (inside PDSTEDC) need when the
       block is large next to the local part of the matrix (ScaLAPACK issue #74): add their needs. */
    const int np = bc->rows, nq = bc->cols;
    const int ormtr = PetscMax(nb * (nb - 1) / 2, (np + nq) * nb) + nb * nb, lasrt = np * (nb + nq);
    bc->lwork = PetscMax((int)lwork_query, 2 * n + ormtr + lasrt) + 1;
  }
  bc->liwork = PetscMax(lwork_query_i, 7 * n + 8 * bc->npcol + 2);
  PetscCall(PetscMalloc2(bc->lwork, &bc->work, bc->liwork, &bc->iwork));
  PetscFunctionReturn(0);
}

PetscErrorCode BlockCyclicMatrixDestroy(BlockCyclicMatrix *bc)
{
  PetscFunctionBegin;
  if (!bc->matrix) PetscFunctionReturn(0);
  PetscCall(PetscFree3(bc->matrix, bc->work_matrix, bc->eigvec));
  PetscCall(PetscFree2(bc->proc_row, bc->proc_col));
  PetscCall(PetscFree4(bc->lambda, bc->filter, bc->vec_a, bc->vec_b));
  PetscCall(PetscFree2(bc->work, bc->iwork));
  Cblacs_gridexit(bc->ctx);
  Cfree_blacs_system_handle(bc->blacs_handle);
  PetscCall(PetscMemzero(bc, sizeof(*bc)));
  PetscFunctionReturn(0);
}

/* vec_out = sum over ranks of the local part of op(A) vec_in, for a distributed n x n A. */
static PetscErrorCode DistributedMatVec(BlockCyclicMatrix *bc, const PetscReal *A, PetscBool transpose, const PetscReal *vec_in, PetscReal *vec_out)
{
  const int nb = bc->nb, lld = bc->lld;

  PetscFunctionBegin;
  PetscCall(PetscArrayzero(vec_out, bc->n));
  for (int jl = 0; jl < bc->cols; jl++) {
    const PetscInt   j   = BlockCyclicGlobal(jl, nb, bc->mycol, bc->npcol);
    const PetscReal *col = A + (size_t)jl * lld;
    if (transpose) {
      PetscReal sum = 0.0;
      for (int il = 0; il < bc->rows; il++) sum += col[il] * vec_in[BlockCyclicGlobal(il, nb, bc->myrow, bc->nprow)];
      vec_out[j] = sum;
    } else {
      const PetscReal v = vec_in[j];
      for (int il = 0; il < bc->rows; il++) vec_out[BlockCyclicGlobal(il, nb, bc->myrow, bc->nprow)] += col[il] * v;
    }
  }
  PetscCall(PetscLogFlops(2.0 * bc->rows * bc->cols));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, vec_out, bc->n, MPIU_REAL, MPIU_SUM, bc->comm));
  PetscFunctionReturn(0);
}

static PetscErrorCode SolveEigen(BlockCyclicMatrix *bc, const CurvatureRegularization *reg, const PetscReal *rhs, PetscReal *x, CurvatureSolveInfo *info)
{
  int n = bc->n, one = 1, lapack_info;

  PetscFunctionBegin;
  PetscCall(PetscArraycpy(bc->work_matrix, bc->matrix, (size_t)bc->lld * PetscMax(1, bc->cols)));
  pdsyevd_("V", "U", &n, bc->work_matrix, &one, &one, bc->desc, bc->lambda, bc->eigvec, &one, &one, bc->desc, bc->work, &bc->lwork, bc->iwork, &bc->liwork, &lapack_info);
  SCALAPACK_CHECK("pdsyevd", lapack_info);
  /* ranks owning no block of the matrix may get unsorted eigenvalues back: use rank 0's everywhere */
  PetscCallMPI(MPI_Bcast(bc->lambda, n, MPIU_REAL, 0, bc->comm));
  PetscCall(PetscLogFlops(9.0 * n * (PetscLogDouble)n * n / bc->size));
  PetscCall(CurvatureSpectralFilter(n, bc->lambda, reg->rcond, reg->damping, bc->filter, info));
  PetscCall(DistributedMatVec(bc, bc->eigvec, PETSC_TRUE, rhs, bc->vec_a));
  for (PetscInt i = 0; i < n; i++) bc->vec_a[i] *= bc->filter[i];
  PetscCall(DistributedMatVec(bc, bc->eigvec, PETSC_FALSE, bc->vec_a, x));
  PetscFunctionReturn(0);
}

PetscErrorCode BlockCyclicMatrixSolve(BlockCyclicMatrix *bc, CurvatureSolveType solve_type, const CurvatureRegularization *reg, const PetscReal *rhs, PetscReal *x, CurvatureSolveInfo *info, PetscReal *shift_used)
{
  const int nb = bc->nb, lld = bc->lld;
  int       n = bc->n, one = 1, lapack_info, failed;
  PetscReal max_diag = 0.0, shift;

  PetscFunctionBegin;
  if (shift_used) *shift_used = reg->damping;
  if (solve_type == CURVATURE_SOLVE_EIGEN) {
    PetscCall(SolveEigen(bc, reg, rhs, x, info));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscArraycpy(bc->work_matrix, bc->matrix, (size_t)lld * PetscMax(1, bc->cols)));
  for (int jl = 0; jl < bc->cols; jl++)
    for (int il = 0; il < bc->rows; il++)
      if (BlockCyclicGlobal(il, nb, bc->myrow, bc->nprow) == BlockCyclicGlobal(jl, nb, bc->mycol, bc->npcol)) max_diag = PetscMax(max_diag, bc->matrix[il + (size_t)jl * lld]);
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, &max_diag, 1, MPIU_REAL, MPIU_MAX, bc->comm));
  shift = CurvatureCholeskyShift(reg, max_diag);
  for (int jl = 0; jl < bc->cols; jl++)
    for (int il = 0; il < bc->rows; il++)
      if (BlockCyclicGlobal(il, nb, bc->myrow, bc->nprow) == BlockCyclicGlobal(jl, nb, bc->mycol, bc->npcol)) bc->work_matrix[il + (size_t)jl * lld] += shift;
  pdpotrf_("U", &n, bc->work_matrix, &one, &one, bc->desc, &lapack_info);
  PetscCall(PetscLogFlops(n * (PetscLogDouble)n * n / 3.0 / bc->size));
  failed = lapack_info != 0;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, bc->comm));
  if (failed) {
    PetscCall(SolveEigen(bc, reg, rhs, x, info));
    info->used_fallback = PETSC_TRUE;
    PetscFunctionReturn(0);
  }
  /* right-hand side: column 0 of the grid holds the block rows of the n x 1 vector */
  for (int il = 0; il < bc->rows && bc->mycol == 0; il++) bc->vec_b[il] = rhs[BlockCyclicGlobal(il, nb, bc->myrow, bc->nprow)];
  pdpotrs_("U", &n, &one, bc->work_matrix, &one, &one, bc->desc, bc->vec_b, &one, &one, bc->desc_b, &lapack_info);
  SCALAPACK_CHECK("pdpotrs", lapack_info);
  PetscCall(PetscArrayzero(x, n));
  for (int il = 0; il < bc->rows && bc->mycol == 0; il++) x[BlockCyclicGlobal(il, nb, bc->myrow, bc->nprow)] = bc->vec_b[il];
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, x, n, MPIU_REAL, MPIU_SUM, bc->comm));
  info->n_kept     = n;
  info->lambda_max = max_diag;
  if (shift_used) *shift_used = shift;
  PetscFunctionReturn(0);
}

PetscErrorCode BlockCyclicMatrixGather(BlockCyclicMatrix *bc, PetscReal *full)
{
  const int      nb = bc->nb, lld = bc->lld;
  const PetscInt n  = bc->n;
  PetscMPIInt    count;

  PetscFunctionBegin;
  PetscCall(PetscArrayzero(full, n * n));
  for (int jl = 0; jl < bc->cols; jl++)
    for (int il = 0; il < bc->rows; il++) full[BlockCyclicGlobal(il, nb, bc->myrow, bc->nprow) + BlockCyclicGlobal(jl, nb, bc->mycol, bc->npcol) * n] = bc->matrix[il + (size_t)jl * lld];
  PetscCall(PetscMPIIntCast(n * n, &count));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, full, count, MPIU_REAL, MPIU_SUM, bc->comm));
  PetscFunctionReturn(0);
}

PetscLogDouble BlockCyclicMatrixBytes(const BlockCyclicMatrix *bc, PetscInt n, PetscInt nb, PetscMPIInt size)
{
  if (bc && bc->lwork) return 8.0 * ((PetscReal)PetscMax(1, bc->rows) * 3.0 * bc->cols + bc->lwork + 4.0 * bc->n) + 4.0 * bc->liwork;
  return 8.0 * 4.0 * (PetscReal)n * (PetscReal)n / size; /* before creation: the matrix, its copy, eigenvectors, workspace */
}
