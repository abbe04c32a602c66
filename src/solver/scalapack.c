/* ScaLAPACK curvature solver: memory per rank ~ P^2/R.

   G lives in a 2-D block-cyclic layout on a pr x pc grid. It is assembled one panel of pc block
   columns at a time: every rank multiplies its own rows into the panel's upper part with one
   dgemm (J~_r^T J~_r restricted to the panel), and one MPI_Reduce_scatter sums the ranks'
   products and delivers each block to its owner. The rows never move, and the flops are
   those of a local dsyrk, at dgemm speed. pdsyevd (or a damped pdpotrf) then solves; the
   direction is assembled from local products and one P-vector MPI_Allreduce. */
#include <engd/private/curvatureimpl.h>
#include <engd/private/lapack.h>

typedef struct {
  int        blacs_handle, ctx_2d;
  int        nprow, npcol, myrow, mycol;
  int        desc_g[9], desc_b[9];
  int        g_rows, g_cols;       /* local size of G */
  int       *proc_row, *proc_col;  /* grid coordinates of every rank */
  PetscMPIInt *counts;             /* per rank, for the panel reductions */
  PetscReal *panel, *packed;       /* P x (pc * nb) each: a panel's product, and it packed by owner */
  PetscReal *gram, *work_matrix, *eigvec, *lambda, *filter, *vec_a, *vec_b, *work;
  int       *iwork;
  int        lwork, liwork;
} Gram_ScaLAPACK;

#define SCALAPACK_CHECK(call_name, info) PetscCheck((info) == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "%s failed: info %d", call_name, (int)(info))

/* Global index of local index l in a block-cyclic dimension. */
static inline PetscInt LocalToGlobal(int l, int nb, int proc, int nprocs) { return (PetscInt)(l / nb) * nprocs * nb + (PetscInt)proc * nb + l % nb; }

static PetscErrorCode SetUp_ScaLAPACK(CurvatureSolver g)
{
  Gram_ScaLAPACK *s = (Gram_ScaLAPACK *)g->data;
  int             P, R = g->size, nb, zero = 0, one = 1, info, lld;
  int             lwork_query_i, minus_one = -1;
  PetscReal       lwork_query;

  PetscFunctionBegin;
  PetscCall(PetscMPIIntCast(g->n_params, &P));
  PetscCall(PetscMPIIntCast(PetscMin(g->block_size, g->n_params), &nb));
  /* the most nearly square grid with nprow <= npcol */
  s->nprow = 1;
  for (int p = 1; p * p <= R; p++)
    if (R % p == 0) s->nprow = p;
  s->npcol = R / s->nprow;

  s->blacs_handle = Csys2blacs_handle(g->comm);
  s->ctx_2d       = s->blacs_handle;
  Cblacs_gridinit(&s->ctx_2d, "R", s->nprow, s->npcol);
  Cblacs_gridinfo(s->ctx_2d, &s->nprow, &s->npcol, &s->myrow, &s->mycol);
  PetscCall(PetscMalloc3(R, &s->proc_row, R, &s->proc_col, R, &s->counts));
  for (int p = 0; p < R; p++) Cblacs_pcoord(s->ctx_2d, p, &s->proc_row[p], &s->proc_col[p]);
  PetscCall(PetscMalloc2((size_t)P * s->npcol * nb, &s->panel, (size_t)P * s->npcol * nb, &s->packed));

  s->g_rows = numroc_(&P, &nb, &s->myrow, &zero, &s->nprow);
  s->g_cols = numroc_(&P, &nb, &s->mycol, &zero, &s->npcol);
  lld       = PetscMax(1, s->g_rows);
  descinit_(s->desc_g, &P, &P, &nb, &nb, &zero, &zero, &s->ctx_2d, &lld, &info);
  SCALAPACK_CHECK("descinit (Gram)", info);
  descinit_(s->desc_b, &P, &one, &nb, &nb, &zero, &zero, &s->ctx_2d, &lld, &info);
  SCALAPACK_CHECK("descinit (right-hand side)", info);

  PetscCall(PetscCalloc3((size_t)lld * PetscMax(1, s->g_cols), &s->gram, (size_t)lld * PetscMax(1, s->g_cols), &s->work_matrix, (size_t)lld * PetscMax(1, s->g_cols), &s->eigvec));
  PetscCall(PetscMalloc4(P, &s->lambda, P, &s->filter, P, &s->vec_a, P, &s->vec_b));

  pdsyevd_("V", "U", &P, s->work_matrix, &one, &one, s->desc_g, s->lambda, s->eigvec, &one, &one, s->desc_g, &lwork_query, &minus_one, &lwork_query_i, &minus_one, &info);
  SCALAPACK_CHECK("pdsyevd workspace query", info);
  { /* pdsyevd's query undercounts what PDORMTR and PDLASRT (inside PDSTEDC) need when the
       block is large next to the local part of G (ScaLAPACK issue #74): add their needs. */
    const int np = s->g_rows, nq = s->g_cols;
    const int ormtr = PetscMax(nb * (nb - 1) / 2, (np + nq) * nb) + nb * nb, lasrt = np * (nb + nq);
    s->lwork = PetscMax((int)lwork_query, 2 * P + ormtr + lasrt) + 1;
  }
  s->liwork = PetscMax(lwork_query_i, 7 * P + 8 * s->npcol + 2);
  PetscCall(PetscMalloc2(s->lwork, &s->work, s->liwork, &s->iwork));
  PetscFunctionReturn(0);
}

/* Run BODY for the entries (i, j) of panel columns [j0, j1) that rank p owns in the upper block
   triangle (block rows up to the column's block), column by column, k counting them: the order
   in which a panel is packed for and unpacked by its owner. */
#define FOR_OWNED_PANEL_ENTRIES(s, nb, j0, j1, p, BODY) \
  do { \
    PetscInt k_ = 0; \
    for (PetscInt j = (j0); j < (j1); j++) { \
      const PetscInt bj_ = j / (nb); \
      if (bj_ % (s)->npcol != (s)->proc_col[p]) continue; \
      for (PetscInt bi_ = (s)->proc_row[p]; bi_ <= bj_; bi_ += (s)->nprow) \
        for (PetscInt i = bi_ * (nb); i < PetscMin((bi_ + 1) * (nb), (j1)); i++, k_++) { \
          const PetscInt k = k_; \
          BODY; \
        } \
    } \
  } while (0)

/* The chunks do not matter here: pdsyevd's result depends on the process grid anyway, so this
   back-end is not rank-count independent (replicated.c is). */
static PetscErrorCode SetOperator_ScaLAPACK(CurvatureSolver g, const CurvatureOperator *op)
{
  PetscReal      *jac_t = op->jac_t;
  const PetscInt  n_chunks = op->n_chunks, *chunk_row = op->chunk_row;
  Gram_ScaLAPACK *s  = (Gram_ScaLAPACK *)g->data;
  const PetscInt  P  = g->n_params, nb = s->desc_g[4], lld = s->desc_g[8], width = (PetscInt)s->npcol * nb;
  const PetscReal one = 1.0, zero = 0.0;
  PetscBLASInt    m, n, n_rows, ld;

  PetscFunctionBegin;
  PetscCheck(op->type == CURVATURE_ROWS, g->comm, PETSC_ERR_SUP, "The %s Gram solver needs stored rows (a CURVATURE_ROWS operator)", g->type);
  PetscCall(PetscBLASIntCast(chunk_row[n_chunks], &n_rows));
  PetscCall(PetscBLASIntCast(P, &ld));
  for (PetscInt j0 = 0; j0 < P; j0 += width) {
    const PetscInt j1 = PetscMin(P, j0 + width);
    PetscInt       offset = 0;
    /* this rank's rows times the panel's columns: rows [0, j1) of J~^T J~ (the upper part) */
    PetscCall(PetscBLASIntCast(j1, &m));
    PetscCall(PetscBLASIntCast(j1 - j0, &n));
    if (n_rows > 0) PetscCallBLAS("BLASgemm", BLASgemm_("N", "T", &m, &n, &n_rows, &one, jac_t, &ld, jac_t + j0, &ld, &zero, s->panel, &m));
    else PetscCall(PetscArrayzero(s->panel, j1 * (j1 - j0)));
    for (PetscMPIInt p = 0; p < g->size; p++) { /* pack by owner, in rank order */
      PetscReal *dst = s->packed + offset;
      PetscInt   count = 0;
      FOR_OWNED_PANEL_ENTRIES(s, nb, j0, j1, p, (dst[k] = s->panel[i + (j - j0) * j1], count = k + 1));
      PetscCall(PetscMPIIntCast(count, &s->counts[p]));
      offset += count;
    }
    PetscCallMPI(MPI_Reduce_scatter(MPI_IN_PLACE, s->packed, s->counts, MPIU_REAL, MPIU_SUM, g->comm));
    FOR_OWNED_PANEL_ENTRIES(s, nb, j0, j1, g->rank, (s->gram[(i / (nb * s->nprow)) * nb + i % nb + ((j / (nb * s->npcol)) * nb + j % nb) * lld] = s->packed[k]));
  }
  PetscFunctionReturn(0);
}

/* vec_out = sum over ranks of the local part of op(A) vec_in, for a distributed P x P A. */
static PetscErrorCode DistributedMatVec(CurvatureSolver g, const PetscReal *A, PetscBool transpose, const PetscReal *vec_in, PetscReal *vec_out)
{
  Gram_ScaLAPACK *s  = (Gram_ScaLAPACK *)g->data;
  const int       nb = s->desc_g[4], lld = s->desc_g[8];
  PetscMPIInt     count;

  PetscFunctionBegin;
  PetscCall(PetscArrayzero(vec_out, g->n_params));
  for (int jl = 0; jl < s->g_cols; jl++) {
    const PetscInt   j   = LocalToGlobal(jl, nb, s->mycol, s->npcol);
    const PetscReal *col = A + (size_t)jl * lld;
    if (transpose) {
      PetscReal sum = 0.0;
      for (int il = 0; il < s->g_rows; il++) sum += col[il] * vec_in[LocalToGlobal(il, nb, s->myrow, s->nprow)];
      vec_out[j] = sum;
    } else {
      const PetscReal v = vec_in[j];
      for (int il = 0; il < s->g_rows; il++) vec_out[LocalToGlobal(il, nb, s->myrow, s->nprow)] += col[il] * v;
    }
  }
  PetscCall(PetscLogFlops(2.0 * s->g_rows * s->g_cols));
  PetscCall(PetscMPIIntCast(g->n_params, &count));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, vec_out, count, MPIU_REAL, MPIU_SUM, g->comm));
  PetscFunctionReturn(0);
}

static PetscErrorCode SolveEigen(CurvatureSolver g, const CurvatureRegularization *reg, const PetscReal *rhs, PetscReal *dir, CurvatureSolveInfo *info)
{
  Gram_ScaLAPACK *s = (Gram_ScaLAPACK *)g->data;
  int             P = (int)g->n_params, one = 1, lapack_info;

  PetscFunctionBegin;
  PetscCall(PetscArraycpy(s->work_matrix, s->gram, (size_t)s->desc_g[8] * PetscMax(1, s->g_cols)));
  pdsyevd_("V", "U", &P, s->work_matrix, &one, &one, s->desc_g, s->lambda, s->eigvec, &one, &one, s->desc_g, s->work, &s->lwork, s->iwork, &s->liwork, &lapack_info);
  SCALAPACK_CHECK("pdsyevd on the Gram matrix", lapack_info);
  /* ranks owning no block of G may get unsorted eigenvalues back: use rank 0's everywhere */
  PetscCallMPI(MPI_Bcast(s->lambda, P, MPIU_REAL, 0, g->comm));
  PetscCall(PetscLogFlops(9.0 * P * (PetscLogDouble)P * P / g->size));
  PetscCall(CurvatureSpectralFilter(P, s->lambda, reg->rcond, reg->damping, s->filter, info));
  PetscCall(DistributedMatVec(g, s->eigvec, PETSC_TRUE, rhs, s->vec_a));
  for (PetscInt i = 0; i < P; i++) s->vec_a[i] *= s->filter[i];
  PetscCall(DistributedMatVec(g, s->eigvec, PETSC_FALSE, s->vec_a, dir));
  PetscFunctionReturn(0);
}

static PetscErrorCode Solve_ScaLAPACK(CurvatureSolver g, const CurvatureRegularization *reg, const PetscReal *rhs, PetscReal *dir, CurvatureSolveInfo *info)
{
  Gram_ScaLAPACK *s  = (Gram_ScaLAPACK *)g->data;
  const int       nb = s->desc_g[4], lld = s->desc_g[8];
  int             P = (int)g->n_params, one = 1, lapack_info, failed;
  PetscReal       max_diag = 0.0, shift;
  PetscMPIInt     count;

  PetscFunctionBegin;
  if (g->solve_type == CURVATURE_SOLVE_EIGEN) {
    PetscCall(SolveEigen(g, reg, rhs, dir, info));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscArraycpy(s->work_matrix, s->gram, (size_t)lld * PetscMax(1, s->g_cols)));
  for (int jl = 0; jl < s->g_cols; jl++)
    for (int il = 0; il < s->g_rows; il++)
      if (LocalToGlobal(il, nb, s->myrow, s->nprow) == LocalToGlobal(jl, nb, s->mycol, s->npcol)) max_diag = PetscMax(max_diag, s->gram[il + (size_t)jl * lld]);
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, &max_diag, 1, MPIU_REAL, MPIU_MAX, g->comm));
  shift = CurvatureCholeskyShift(reg, max_diag);
  for (int jl = 0; jl < s->g_cols; jl++)
    for (int il = 0; il < s->g_rows; il++)
      if (LocalToGlobal(il, nb, s->myrow, s->nprow) == LocalToGlobal(jl, nb, s->mycol, s->npcol)) s->work_matrix[il + (size_t)jl * lld] += shift;
  pdpotrf_("U", &P, s->work_matrix, &one, &one, s->desc_g, &lapack_info);
  PetscCall(PetscLogFlops(P * (PetscLogDouble)P * P / 3.0 / g->size));
  failed = lapack_info != 0;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, g->comm));
  if (failed) {
    PetscCall(SolveEigen(g, reg, rhs, dir, info));
    info->used_fallback = PETSC_TRUE;
    PetscFunctionReturn(0);
  }
  /* right-hand side: column 0 of the grid holds the block rows of the P x 1 vector */
  for (int il = 0; il < s->g_rows && s->mycol == 0; il++) s->vec_b[il] = rhs[LocalToGlobal(il, nb, s->myrow, s->nprow)];
  pdpotrs_("U", &P, &one, s->work_matrix, &one, &one, s->desc_g, s->vec_b, &one, &one, s->desc_b, &lapack_info);
  SCALAPACK_CHECK("pdpotrs", lapack_info);
  PetscCall(PetscArrayzero(dir, P));
  for (int il = 0; il < s->g_rows && s->mycol == 0; il++) dir[LocalToGlobal(il, nb, s->myrow, s->nprow)] = s->vec_b[il];
  PetscCall(PetscMPIIntCast(P, &count));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, dir, count, MPIU_REAL, MPIU_SUM, g->comm));
  info->n_kept     = P;
  info->lambda_max = max_diag;
  PetscFunctionReturn(0);
}

static PetscErrorCode GetMatrix_ScaLAPACK(CurvatureSolver g, PetscReal *gram)
{
  Gram_ScaLAPACK *s  = (Gram_ScaLAPACK *)g->data;
  const int       nb = s->desc_g[4], lld = s->desc_g[8];
  const PetscInt  P  = g->n_params;
  PetscMPIInt     count;

  PetscFunctionBegin;
  PetscCall(PetscArrayzero(gram, P * P));
  for (int jl = 0; jl < s->g_cols; jl++)
    for (int il = 0; il < s->g_rows; il++) gram[LocalToGlobal(il, nb, s->myrow, s->nprow) + LocalToGlobal(jl, nb, s->mycol, s->npcol) * P] = s->gram[il + (size_t)jl * lld];
  PetscCall(PetscMPIIntCast(P * P, &count));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, gram, count, MPIU_REAL, MPIU_SUM, g->comm));
  PetscFunctionReturn(0);
}

static PetscErrorCode Memory_ScaLAPACK(CurvatureSolver g, PetscLogDouble *bytes)
{
  Gram_ScaLAPACK *s = (Gram_ScaLAPACK *)g->data;
  const PetscReal P = (PetscReal)g->n_params, R = (PetscReal)g->size;

  PetscFunctionBegin;
  /* the panel and its packed copy, P x (pc nb) each */
  const PetscReal panels = 2.0 * P * (PetscReal)g->block_size * PetscSqrtReal(R);
  if (s && s->lwork) *bytes = 8.0 * ((PetscReal)PetscMax(1, s->g_rows) * 3.0 * s->g_cols + s->lwork + 4.0 * P + panels) + 4.0 * s->liwork;
  else *bytes = 8.0 * (4.0 * P * P / R + panels); /* before set-up: G, copy, eigenvectors, workspace */
  PetscFunctionReturn(0);
}

static PetscErrorCode View_ScaLAPACK(CurvatureSolver g, PetscViewer viewer)
{
  Gram_ScaLAPACK *s = (Gram_ScaLAPACK *)g->data;

  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, ", %d x %d process grid, block %d", s->nprow, s->npcol, s->desc_g[4]));
  PetscFunctionReturn(0);
}

static PetscErrorCode Destroy_ScaLAPACK(CurvatureSolver g)
{
  Gram_ScaLAPACK *s = (Gram_ScaLAPACK *)g->data;

  PetscFunctionBegin;
  if (s->gram) {
    PetscCall(PetscFree3(s->gram, s->work_matrix, s->eigvec));
    PetscCall(PetscFree3(s->proc_row, s->proc_col, s->counts));
    PetscCall(PetscFree2(s->panel, s->packed));
    PetscCall(PetscFree4(s->lambda, s->filter, s->vec_a, s->vec_b));
    PetscCall(PetscFree2(s->work, s->iwork));
    Cblacs_gridexit(s->ctx_2d);
    Cfree_blacs_system_handle(s->blacs_handle);
  }
  PetscCall(PetscFree(g->data));
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode CurvatureSolverCreate_ScaLAPACK(CurvatureSolver g)
{
  Gram_ScaLAPACK *s;

  PetscFunctionBegin;
  PetscCall(PetscNew(&s));
  g->data          = s;
  g->ops.setup     = SetUp_ScaLAPACK;
  g->ops.setoperator = SetOperator_ScaLAPACK;
  g->ops.solve     = Solve_ScaLAPACK;
  g->ops.getmatrix = GetMatrix_ScaLAPACK;
  g->ops.memory    = Memory_ScaLAPACK;
  g->ops.view      = View_ScaLAPACK;
  g->ops.destroy   = Destroy_ScaLAPACK;
  PetscFunctionReturn(0);
}
