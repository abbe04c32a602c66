/* ScaLAPACK curvature solver: memory per rank ~ P^2/R.

   G lives in a 2-D block-cyclic layout on a pr x pc grid. It is assembled one panel of pc block
   columns at a time: every rank multiplies its own rows into the panel's upper part with one
   dgemm (J~_r^T J~_r restricted to the panel), and one MPI_Reduce_scatter sums the ranks'
   products and delivers each block to its owner. The rows never move, and the flops are
   those of a local dsyrk, at dgemm speed. pdsyevd (or a damped pdpotrf) then solves; the
   direction is assembled from local products and one P-vector MPI_Allreduce. */
#include <engd/private/blockcyclic.h>
#include <engd/private/lapack.h>

typedef struct {
  BlockCyclicMatrix bc;           /* G */
  PetscMPIInt      *counts;       /* per rank, for the panel reductions */
  PetscReal        *panel, *packed; /* P x (pc * nb) each: a panel's product, and it packed by owner */
} Gram_ScaLAPACK;

static PetscErrorCode SetUp_ScaLAPACK(CurvatureSolver g)
{
  Gram_ScaLAPACK *s = (Gram_ScaLAPACK *)g->data;

  PetscFunctionBegin;
  PetscCall(BlockCyclicMatrixCreate(g->comm, g->n_params, g->block_size, &s->bc));
  PetscCall(PetscMalloc1(g->size, &s->counts));
  PetscCall(PetscMalloc2((size_t)g->n_params * s->bc.npcol * s->bc.nb, &s->panel, (size_t)g->n_params * s->bc.npcol * s->bc.nb, &s->packed));
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
      if (bj_ % (s)->bc.npcol != (s)->bc.proc_col[p]) continue; \
      for (PetscInt bi_ = (s)->bc.proc_row[p]; bi_ <= bj_; bi_ += (s)->bc.nprow) \
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
  const PetscInt  P  = g->n_params, nb = s->bc.nb, lld = s->bc.lld, width = (PetscInt)s->bc.npcol * nb;
  const PetscReal one = 1.0, zero = 0.0;
  PetscBLASInt    m, n, n_rows, ld;

  PetscFunctionBegin;
  PetscCheck(op->type == CURVATURE_ROWS, g->comm, PETSC_ERR_SUP, "The %s Gram solver needs stored rows (a CURVATURE_ROWS operator)", g->type);
  PetscCall(PetscBLASIntCast(chunk_row[n_chunks], &n_rows));
  PetscCall(PetscBLASIntCast(P, &ld));
  PetscCall(PetscLogFlops((PetscLogDouble)chunk_row[n_chunks] * P * (P + 1)));
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
    FOR_OWNED_PANEL_ENTRIES(s, nb, j0, j1, g->rank, (s->bc.matrix[BlockCyclicLocal(i, nb, s->bc.nprow) + BlockCyclicLocal(j, nb, s->bc.npcol) * lld] = s->packed[k]));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode Solve_ScaLAPACK(CurvatureSolver g, const CurvatureRegularization *reg, const PetscReal *rhs, PetscReal *dir, CurvatureSolveInfo *info)
{
  Gram_ScaLAPACK *s = (Gram_ScaLAPACK *)g->data;

  PetscFunctionBegin;
  PetscCall(BlockCyclicMatrixSolve(&s->bc, g->solve_type, reg, rhs, dir, info, NULL));
  PetscFunctionReturn(0);
}

static PetscErrorCode GetMatrix_ScaLAPACK(CurvatureSolver g, PetscReal *gram)
{
  Gram_ScaLAPACK *s = (Gram_ScaLAPACK *)g->data;

  PetscFunctionBegin;
  PetscCall(BlockCyclicMatrixGather(&s->bc, gram));
  PetscFunctionReturn(0);
}

static PetscErrorCode Memory_ScaLAPACK(CurvatureSolver g, PetscLogDouble *bytes)
{
  Gram_ScaLAPACK *s = (Gram_ScaLAPACK *)g->data;
  const PetscReal P = (PetscReal)g->n_params;

  PetscFunctionBegin;
  /* the panel and its packed copy, P x (pc nb) each */
  const PetscReal panels = 2.0 * P * (PetscReal)g->block_size * PetscSqrtReal((PetscReal)g->size);
  *bytes = BlockCyclicMatrixBytes(s ? &s->bc : NULL, g->n_params, g->block_size, g->size) + 8.0 * panels;
  PetscFunctionReturn(0);
}

static PetscErrorCode View_ScaLAPACK(CurvatureSolver g, PetscViewer viewer)
{
  Gram_ScaLAPACK *s = (Gram_ScaLAPACK *)g->data;

  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, ", %d x %d process grid, block %d", s->bc.nprow, s->bc.npcol, s->bc.nb));
  PetscFunctionReturn(0);
}

static PetscErrorCode Destroy_ScaLAPACK(CurvatureSolver g)
{
  Gram_ScaLAPACK *s = (Gram_ScaLAPACK *)g->data;

  PetscFunctionBegin;
  if (s->bc.matrix) {
    PetscCall(PetscFree(s->counts));
    PetscCall(PetscFree2(s->panel, s->packed));
  }
  PetscCall(BlockCyclicMatrixDestroy(&s->bc));
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
