/* Kernel (Woodbury) curvature solver: with the N x P rows J~ of all ranks, K = J~ J~^T (N x N)
   has the non-zero spectrum of G = J~^T J~, and
       (G + lambda I)^+ J~^T r~ = J~^T (K + lambda I)^+ r~
   with the same cut-off (eigenvalues above rcond * lambda_max) and damping, so for N < P the
   direction of the dense solvers costs N^2 P + N^3 instead of N P^2 + P^3 (ARCHITECTURE.md 7).

   K is assembled in a 2-D block-cyclic layout (blockcyclic.h) without gathering the rows: its
   upper triangle is cut into tiles K_{c c'} = J~_c J~_{c'}^T of the global point chunks c <= c'
   (objective.h). Each rank computes the tiles of its own chunk pairs, and of the pairs with
   the ranks k = 1 .. R/2 places further round a ring, whose rows it receives in step k
   (one rank's rows, P x N_r; those of step 1 arrive while the own tiles are computed); at k = R/2 (R even) the two partners split the
   tiles. So every tile is computed once, the flops are balanced, and a rank holds its rows,
   one partner's rows and its share of K: memory ~ N^2/R + 2 N_r P. One MPI_Alltoallv then
   moves the tiles' entries to their owners in the block-cyclic layout; the receivers know
   where each entry goes from the same tile schedule, so only values travel.
   Why this and not pdsyrk on J~ redistributed by pdgemr2d: a tile is one dgemm (dsyrk on the
   diagonal) of two chunks, whose sizes are fixed global ranges, so every entry of K is the
   same bits on any rank count (pdsyrk's sums over P would depend on the process grid); the
   rows are sent once per iteration (N P / 2 values per rank for R = 2; O(N P) in general,
   against O(N P / sqrt(R)) for a 2-D pdsyrk, which matters only on many nodes).

   Solves: pdsyevd with the spectral filter, or the shifted Cholesky (-engd_solve), through
   BlockCyclicMatrixSolve; the residuals r~ are gathered (N values) and the direction is
   J~^T y from one dgemv per chunk, summed in double-double (ddsum.h) and reduced once. The
   eigensolver's result depends on the process grid, so the direction agrees across rank
   counts to round-off, not bitwise (K and the chunk sums are rank-count independent).

   A general right-hand side g (deep Ritz energy terms, Hilbert NGD) uses the push-through
   identity (G + lambda I)^-1 g = (g - J~^T (K + lambda I)^-1 J~ g) / lambda, which needs
   lambda > 0; with the cut-off, eigenvalues below it count as zero. */
#include <engd/private/blockcyclic.h>
#include <engd/private/lapack.h>
#include <engd/ddsum.h>

typedef struct {
  PetscInt    c0, c1; /* global chunks, c0 <= c1: rows of c0, columns of c1 */
  PetscMPIInt rank;   /* the rank that computes it */
  PetscInt    step;   /* ring step in which it does */
} KernelTile;

typedef struct {
  BlockCyclicMatrix bc; /* K; bc.matrix NULL until the first operator */
  PetscInt          n_rows, n_chunks, max_chunk_rows, max_rank_rows;
  PetscInt         *chunk_start;        /* n_chunks + 1 global row offsets */
  PetscMPIInt      *chunk_rank;         /* owner of each chunk */
  PetscMPIInt      *rank_rows, *rank_row0, *rank_chunks;
  KernelTile       *tiles;              /* every rank's tiles, grouped by rank, by step */
  PetscInt          n_tiles, *rank_tile0; /* rank p's tiles: [rank_tile0[p], rank_tile0[p+1]) */
  PetscInt         *tile_offset;        /* n_tiles x R: where tile t's entries owned by q start in the segment its rank sends q */
  PetscMPIInt      *send_counts, *send_displs, *recv_counts, *recv_displs;
  PetscReal        *send, *recv, *panel, *tile;
  PetscReal        *vec_n, *y, *local, *grad;
  DDReal           *dd;
  PetscBool         announced_wide; /* N > P noted */
  /* the layout check of every operator, without allocating in the iteration loop */
  PetscMPIInt      *chunk_displs;                     /* R + 1 */
  PetscInt         *sizes_local, *chunk_sizes, capacity_local, capacity_all;
} Kernel;

/* Move the entries of tile t that grid process (pr, pc) owns, column by column in contiguous
   row segments: pack (tile -> buf), unpack (buf -> the local K) or only count them. */
typedef enum { TILE_COUNT, TILE_PACK, TILE_UNPACK } TileMode;

static PetscInt TileMove(Kernel *kr, const KernelTile *t, int pr, int pc, TileMode mode, const PetscReal *tile, PetscReal *buf)
{
  const BlockCyclicMatrix *bc = &kr->bc;
  const PetscInt           nb = bc->nb, a0 = kr->chunk_start[t->c0], a1 = kr->chunk_start[t->c0 + 1], b0 = kr->chunk_start[t->c1], b1 = kr->chunk_start[t->c1 + 1];
  const PetscBool          diagonal = t->c0 == t->c1 ? PETSC_TRUE : PETSC_FALSE;
  PetscInt                 count = 0;

  for (PetscInt j = b0; j < b1;) {
    const PetscInt bj = j / nb;
    if (bj % bc->npcol != pc) { /* to the next column block of grid column pc */
      j = (bj + ((pc - bj % bc->npcol) + bc->npcol) % bc->npcol) * nb;
      continue;
    }
    for (const PetscInt j_end = PetscMin(b1, (bj + 1) * nb); j < j_end; j++) {
      const PetscInt i_end = diagonal ? PetscMin(a1, j + 1) : a1;
      for (PetscInt i = a0; i < i_end;) {
        const PetscInt bi = i / nb;
        PetscInt       seg_end;
        if (bi % bc->nprow != pr) {
          i = (bi + ((pr - bi % bc->nprow) + bc->nprow) % bc->nprow) * nb;
          continue;
        }
        seg_end = PetscMin(i_end, (bi + 1) * nb);
        if (mode == TILE_PACK) memcpy(buf + count, tile + (i - a0) + (j - b0) * (a1 - a0), (size_t)(seg_end - i) * sizeof(PetscReal));
        else if (mode == TILE_UNPACK) memcpy(bc->matrix + BlockCyclicLocal(i, nb, bc->nprow) + BlockCyclicLocal(j, nb, bc->npcol) * bc->lld, buf + count, (size_t)(seg_end - i) * sizeof(PetscReal));
        count += seg_end - i;
        i = seg_end;
      }
    }
  }
  return count;
}

static PetscErrorCode FreeLayout(Kernel *kr)
{
  PetscFunctionBegin;
  PetscCall(PetscFree3(kr->chunk_start, kr->chunk_rank, kr->tiles));
  PetscCall(PetscFree2(kr->rank_tile0, kr->tile_offset));
  PetscCall(PetscFree4(kr->send, kr->recv, kr->panel, kr->tile));
  PetscCall(PetscFree5(kr->vec_n, kr->y, kr->local, kr->grad, kr->dd));
  PetscFunctionReturn(0);
}

/* The tile schedule, the exchange's counts and the buffers for this operator's chunks; done
   again only when the chunk layout changes. */
static PetscErrorCode SetUpLayout(CurvatureSolver g, const CurvatureOperator *op)
{
  Kernel        *kr = (Kernel *)g->data;
  const PetscInt P = g->n_params;
  PetscMPIInt    R = g->size, n_chunks_local, n_rows_local;
  PetscInt       n_send = 0, n_recv = 0, *cursor, *sizes_local, *chunk_sizes;
  PetscBool      same = kr->chunk_start ? PETSC_TRUE : PETSC_FALSE;
  PetscMPIInt   *chunk_displs = kr->chunk_displs;

  PetscFunctionBegin;
  PetscCall(PetscMPIIntCast(op->n_chunks, &n_chunks_local));
  PetscCall(PetscMPIIntCast(op->chunk_row[op->n_chunks], &n_rows_local));
  PetscCallMPI(MPI_Allgather(&n_chunks_local, 1, MPI_INT, kr->rank_chunks, 1, MPI_INT, g->comm));
  PetscCallMPI(MPI_Allgather(&n_rows_local, 1, MPI_INT, kr->rank_rows, 1, MPI_INT, g->comm));
  chunk_displs[0] = 0;
  for (PetscMPIInt p = 0; p < R; p++) chunk_displs[p + 1] = chunk_displs[p] + kr->rank_chunks[p];
  if (op->n_chunks + 1 > kr->capacity_local) {
    PetscCall(PetscFree(kr->sizes_local));
    kr->capacity_local = op->n_chunks + 1;
    PetscCall(PetscMalloc1(kr->capacity_local, &kr->sizes_local));
  }
  if (chunk_displs[R] + 1 > kr->capacity_all) {
    PetscCall(PetscFree(kr->chunk_sizes));
    kr->capacity_all = chunk_displs[R] + 1;
    PetscCall(PetscMalloc1(kr->capacity_all, &kr->chunk_sizes));
  }
  sizes_local = kr->sizes_local;
  chunk_sizes = kr->chunk_sizes;
  for (PetscInt c = 0; c < op->n_chunks; c++) sizes_local[c] = op->chunk_row[c + 1] - op->chunk_row[c];
  PetscCallMPI(MPI_Allgatherv(sizes_local, n_chunks_local, MPIU_INT, chunk_sizes, kr->rank_chunks, chunk_displs, MPIU_INT, g->comm));
  /* the same chunks on the same ranks as before: keep the layout */
  if (same && kr->n_chunks == chunk_displs[R]) {
    for (PetscMPIInt p = 0; p < R; p++)
      for (PetscInt c = chunk_displs[p]; c < chunk_displs[p + 1]; c++)
        if (kr->chunk_rank[c] != p || kr->chunk_start[c + 1] - kr->chunk_start[c] != chunk_sizes[c]) same = PETSC_FALSE;
  } else same = PETSC_FALSE;
  if (same) {
    PetscFunctionReturn(0);
  }

  PetscCall(FreeLayout(kr));
  kr->n_chunks = chunk_displs[R];
  PetscCall(PetscMalloc3(kr->n_chunks + 1, &kr->chunk_start, kr->n_chunks, &kr->chunk_rank, kr->n_chunks * (kr->n_chunks + 1) / 2, &kr->tiles));
  kr->chunk_start[0] = 0;
  kr->max_chunk_rows = 0;
  for (PetscMPIInt p = 0; p < R; p++)
    for (PetscInt c = chunk_displs[p]; c < chunk_displs[p + 1]; c++) {
      kr->chunk_rank[c]      = p;
      kr->chunk_start[c + 1] = kr->chunk_start[c] + chunk_sizes[c];
      kr->max_chunk_rows     = PetscMax(kr->max_chunk_rows, chunk_sizes[c]);
    }
  kr->n_rows        = kr->chunk_start[kr->n_chunks];
  kr->max_rank_rows = 0;
  kr->rank_row0[0]  = 0;
  for (PetscMPIInt p = 0; p < R; p++) {
    kr->max_rank_rows = PetscMax(kr->max_rank_rows, kr->rank_rows[p]);
    if (p + 1 < R) kr->rank_row0[p + 1] = kr->rank_row0[p] + kr->rank_rows[p];
  }
  PetscCheck(kr->n_rows > 0, g->comm, PETSC_ERR_ARG_OUTOFRANGE, "The kernel solver needs at least one row");
  PetscCheck((PetscInt64)kr->n_rows * kr->n_rows <= PETSC_MAX_INT, g->comm, PETSC_ERR_ARG_OUTOFRANGE, "The kernel matrix of %" PetscInt_FMT " rows (points x rows per point) has %" PetscInt64_FMT " entries, more than a 32-bit PetscInt indexes (at most 46340 rows): use fewer points or another -engd_gram", kr->n_rows, (PetscInt64)kr->n_rows * kr->n_rows);

  /* the schedule: pair {a, b} (a < b) goes to a in ring step b - a or to b in step R - (b - a),
     whichever is smaller; on a tie (R even, step R/2) the tiles alternate between them */
  PetscCall(PetscMalloc2(R + 1, &kr->rank_tile0, (kr->n_chunks * (kr->n_chunks + 1) / 2) * (PetscInt)R, &kr->tile_offset));
  kr->n_tiles = 0;
  for (PetscMPIInt q = 0; q < R; q++) {
    kr->rank_tile0[q] = kr->n_tiles;
    for (PetscInt step = 0; step <= R / 2; step++)
      for (PetscInt c0 = 0; c0 < kr->n_chunks; c0++)
        for (PetscInt c1 = c0; c1 < kr->n_chunks; c1++) {
          const PetscMPIInt a = kr->chunk_rank[c0], b = kr->chunk_rank[c1];
          const PetscInt    fwd = b - a, bwd = R - fwd;
          PetscMPIInt       who;
          PetscInt          when;
          if (a == b) {
            who  = a;
            when = 0;
          } else if (fwd < bwd) {
            who  = a;
            when = fwd;
          } else if (bwd < fwd) {
            who  = b;
            when = bwd;
          } else {
            who  = (c0 + c1) % 2 ? b : a;
            when = fwd;
          }
          if (who != q || when != step) continue;
          kr->tiles[kr->n_tiles].c0   = c0;
          kr->tiles[kr->n_tiles].c1   = c1;
          kr->tiles[kr->n_tiles].rank = q;
          kr->tiles[kr->n_tiles].step = step;
          kr->n_tiles++;
        }
  }
  kr->rank_tile0[R] = kr->n_tiles;
  PetscCall(BlockCyclicMatrixDestroy(&kr->bc));
  PetscCall(BlockCyclicMatrixCreate(g->comm, kr->n_rows, g->block_size, &kr->bc));

  /* offsets of every tile's entries in the segments its rank sends each owner */
  PetscCall(PetscCalloc1((size_t)R * R, &cursor));
  for (PetscMPIInt p = 0; p < R; p++)
    for (PetscInt t = kr->rank_tile0[p]; t < kr->rank_tile0[p + 1]; t++)
      for (PetscMPIInt q = 0; q < R; q++) {
        kr->tile_offset[t * R + q] = cursor[p * R + q];
        cursor[p * R + q] += TileMove(kr, &kr->tiles[t], kr->bc.proc_row[q], kr->bc.proc_col[q], TILE_COUNT, NULL, NULL);
      }
  for (PetscMPIInt q = 0; q < R; q++) {
    PetscCall(PetscMPIIntCast(cursor[g->rank * R + q], &kr->send_counts[q]));
    PetscCall(PetscMPIIntCast(cursor[q * R + g->rank], &kr->recv_counts[q]));
    PetscCall(PetscMPIIntCast(n_send, &kr->send_displs[q]));
    PetscCall(PetscMPIIntCast(n_recv, &kr->recv_displs[q]));
    n_send += kr->send_counts[q];
    n_recv += kr->recv_counts[q];
  }
  PetscCall(PetscFree(cursor));
  PetscCall(PetscMalloc4(PetscMax(1, n_send), &kr->send, PetscMax(1, n_recv), &kr->recv, R > 1 ? (size_t)P * kr->max_rank_rows : 1, &kr->panel, (size_t)kr->max_chunk_rows * kr->max_chunk_rows, &kr->tile));
  PetscCall(PetscMalloc5(kr->n_rows, &kr->vec_n, kr->n_rows, &kr->y, PetscMax(1, g->n_rows_max), &kr->local, P, &kr->grad, P, &kr->dd));
  if (kr->n_rows > P && !kr->announced_wide) {
    PetscCall(PetscInfo(NULL, "Kernel solver with N = %" PetscInt_FMT " rows > P = %" PetscInt_FMT " parameters: the same direction as a dense Gram solver, at a higher cost\n", kr->n_rows, P));
    kr->announced_wide = PETSC_TRUE;
  }
  PetscFunctionReturn(0);
}

/* The rows of global chunk c, from this rank's rows or from the partner's in the panel. */
static const PetscReal *ChunkRows(const Kernel *kr, const CurvatureOperator *op, PetscMPIInt rank, PetscInt c)
{
  const PetscMPIInt owner = kr->chunk_rank[c];
  const PetscReal  *base  = owner == rank ? op->jac_t : kr->panel;
  return base + (size_t)(kr->chunk_start[c] - kr->rank_row0[owner]) * op->n_params;
}

static PetscErrorCode ComputeTile(CurvatureSolver g, const CurvatureOperator *op, const KernelTile *t)
{
  Kernel          *kr = (Kernel *)g->data;
  const PetscReal *A = ChunkRows(kr, op, g->rank, t->c0), *B = ChunkRows(kr, op, g->rank, t->c1);
  const PetscReal  one = 1.0, zero = 0.0;
  PetscBLASInt     m, n, k;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(kr->chunk_start[t->c0 + 1] - kr->chunk_start[t->c0], &m));
  PetscCall(PetscBLASIntCast(kr->chunk_start[t->c1 + 1] - kr->chunk_start[t->c1], &n));
  PetscCall(PetscBLASIntCast(op->n_params, &k));
  if (m == 0 || n == 0) PetscFunctionReturn(0);
  if (t->c0 == t->c1) PetscCallBLAS("BLASsyrk", BLASsyrk_("U", "T", &m, &k, &one, A, &k, &zero, kr->tile, &m));
  else PetscCallBLAS("BLASgemm", BLASgemm_("T", "N", &m, &n, &k, &one, A, &k, B, &k, &zero, kr->tile, &m));
  PetscCall(PetscLogFlops(t->c0 == t->c1 ? (PetscLogDouble)m * (m + 1) * k : 2.0 * m * n * k));
  for (PetscMPIInt q = 0; q < g->size; q++) (void)TileMove(kr, t, kr->bc.proc_row[q], kr->bc.proc_col[q], TILE_PACK, kr->tile, kr->send + kr->send_displs[q] + kr->tile_offset[(t - kr->tiles) * g->size + q]);
  PetscFunctionReturn(0);
}

static PetscErrorCode SetOperator_Kernel(CurvatureSolver g, const CurvatureOperator *op)
{
  Kernel        *kr = (Kernel *)g->data;
  const PetscInt P  = g->n_params;
  PetscMPIInt    R = g->size, count = 0;
  MPI_Request    requests[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};

  PetscFunctionBegin;
  PetscCheck(op->type == CURVATURE_ROWS, g->comm, PETSC_ERR_SUP, "The kernel solver needs stored rows (a CURVATURE_ROWS operator)");
  PetscCall(SetUpLayout(g, op));
  for (PetscInt step = 0; step <= R / 2; step++) {
    /* the rows of the rank `step` places on, ours to the rank `step` places back; those of
       step 1 travel while the own tiles of step 0 are computed (MPI_Testall between tiles
       drives the transfer) */
    if (step == 0 && R > 1) {
      const PetscMPIInt from = (g->rank + 1) % R, to = (g->rank - 1 + R) % R;
      PetscMPIInt       n_in;
      PetscCall(PetscMPIIntCast((PetscInt64)P * kr->rank_rows[g->rank], &count));
      PetscCall(PetscMPIIntCast((PetscInt64)P * kr->rank_rows[from], &n_in));
      PetscCallMPI(MPI_Irecv(kr->panel, n_in, MPIU_REAL, from, 0, g->comm, &requests[0]));
      PetscCallMPI(MPI_Isend(op->jac_t, count, MPIU_REAL, to, 0, g->comm, &requests[1]));
    }
    if (step == 1) PetscCallMPI(MPI_Waitall(2, requests, MPI_STATUSES_IGNORE));
    else if (step > 1) {
      const PetscMPIInt from = (g->rank + (PetscMPIInt)step) % R, to = (g->rank - (PetscMPIInt)step + R) % R;
      PetscMPIInt       n_in;
      PetscCall(PetscMPIIntCast((PetscInt64)P * kr->rank_rows[from], &n_in));
      PetscCallMPI(MPI_Sendrecv(op->jac_t, count, MPIU_REAL, to, 0, kr->panel, n_in, MPIU_REAL, from, 0, g->comm, MPI_STATUS_IGNORE));
    }
    for (PetscInt t = kr->rank_tile0[g->rank]; t < kr->rank_tile0[g->rank + 1]; t++)
      if (kr->tiles[t].step == step) {
        PetscCall(ComputeTile(g, op, &kr->tiles[t]));
        if (step == 0 && R > 1) {
          int done;
          PetscCallMPI(MPI_Testall(2, requests, &done, MPI_STATUSES_IGNORE));
        }
      }
  }
  PetscCallMPI(MPI_Alltoallv(kr->send, kr->send_counts, kr->send_displs, MPIU_REAL, kr->recv, kr->recv_counts, kr->recv_displs, MPIU_REAL, g->comm));
  for (PetscMPIInt p = 0; p < R; p++)
    for (PetscInt t = kr->rank_tile0[p]; t < kr->rank_tile0[p + 1]; t++) (void)TileMove(kr, &kr->tiles[t], kr->bc.myrow, kr->bc.mycol, TILE_UNPACK, NULL, kr->recv + kr->recv_displs[p] + kr->tile_offset[t * R + g->rank]);
  PetscFunctionReturn(0);
}

/* This rank's part of a global N-vector. */
static inline const PetscReal *LocalPart(const Kernel *kr, PetscMPIInt rank, const PetscReal *v) { return v + kr->rank_row0[rank]; }

/* out = J~^T w summed over ranks (replicated), one dgemv per chunk added in double-double. */
static PetscErrorCode RowsMultTranspose(CurvatureSolver g, const CurvatureOperator *op, const PetscReal *w_local, PetscReal *out)
{
  Kernel         *kr = (Kernel *)g->data;
  const PetscInt  P  = g->n_params;
  PetscBLASInt    n, k, one_i = 1;
  const PetscReal one = 1.0, zero = 0.0;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(P, &n));
  DDZero(P, kr->dd);
  for (PetscInt c = 0; c < op->n_chunks; c++) {
    PetscCall(PetscBLASIntCast(op->chunk_row[c + 1] - op->chunk_row[c], &k));
    if (k == 0) continue;
    PetscCallBLAS("BLASgemv", BLASgemv_("N", &n, &k, &one, op->jac_t + (size_t)op->chunk_row[c] * P, &n, w_local + op->chunk_row[c], &one_i, &zero, out, &one_i));
    DDAddArray(P, out, kr->dd);
  }
  PetscCall(DDAllreduce(g->comm, P, kr->dd));
  DDRoundArray(P, kr->dd, out);
  PetscCall(PetscLogFlops(2.0 * P * op->chunk_row[op->n_chunks]));
  PetscFunctionReturn(0);
}

/* y = (K + damping I)^+ v for the global N-vector v built from every rank's n_rows_local values. */
static PetscErrorCode KernelSolve(CurvatureSolver g, const CurvatureRegularization *reg, const PetscReal *v_local, PetscReal *y, CurvatureSolveInfo *info, PetscReal *shift)
{
  Kernel     *kr = (Kernel *)g->data;
  PetscMPIInt n_local = kr->rank_rows[g->rank];

  PetscFunctionBegin;
  PetscCallMPI(MPI_Allgatherv(v_local, n_local, MPIU_REAL, kr->vec_n, kr->rank_rows, kr->rank_row0, MPIU_REAL, g->comm));
  PetscCall(BlockCyclicMatrixSolve(&kr->bc, g->solve_type, reg, kr->vec_n, y, info, shift));
  PetscFunctionReturn(0);
}

static PetscErrorCode SolveResidual_Kernel(CurvatureSolver g, const CurvatureRegularization *reg, PetscReal *dir, CurvatureSolveInfo *info)
{
  Kernel                  *kr = (Kernel *)g->data;
  const CurvatureOperator *op = g->op;

  PetscFunctionBegin;
  PetscCall(KernelSolve(g, reg, op->res, kr->y, info, NULL));
  PetscCall(RowsMultTranspose(g, op, LocalPart(kr, g->rank, kr->y), dir));
  PetscFunctionReturn(0);
}

/* Push-through: (G + s I)^-1 g = (g - J~^T (K + s I)^-1 J~ g) / s, s the damping (eigen) or the
   Cholesky shift. J~ g is one dgemv per chunk, so its entries are rank-count independent. */
static PetscErrorCode Solve_Kernel(CurvatureSolver g, const CurvatureRegularization *reg, const PetscReal *rhs, PetscReal *dir, CurvatureSolveInfo *info)
{
  Kernel                  *kr = (Kernel *)g->data;
  const CurvatureOperator *op = g->op;
  const PetscInt           P  = g->n_params;
  PetscReal                shift;

  PetscFunctionBegin;
  PetscCall(CurvatureSolverCheckRegularization(g, reg));
  PetscCall(CurvatureRowsMult(op, rhs, kr->local));
  PetscCall(KernelSolve(g, reg, kr->local, kr->y, info, &shift));
  PetscCall(RowsMultTranspose(g, op, LocalPart(kr, g->rank, kr->y), kr->grad));
  for (PetscInt i = 0; i < P; i++) dir[i] = (rhs[i] - kr->grad[i]) / shift;
  PetscFunctionReturn(0);
}

static PetscErrorCode GetMatrix_Kernel(CurvatureSolver g, PetscReal *gram)
{
  Kernel          *kr = (Kernel *)g->data;
  const PetscInt   P  = g->n_params;
  PetscReal       *column;

  PetscFunctionBegin;
  /* G = J~^T J~ column by column, J~^T (J~ e_j), for tests: slow but independent of K */
  PetscCheck(g->op, g->comm, PETSC_ERR_ORDER, "Call CurvatureSolverSetOperator() first");
  PetscCall(PetscCalloc1(P, &column));
  for (PetscInt j = 0; j < P; j++) {
    const CurvatureOperator *op = g->op;
    for (PetscInt r = 0; r < op->chunk_row[op->n_chunks]; r++) kr->local[r] = op->jac_t[(size_t)r * P + j];
    PetscCall(RowsMultTranspose(g, op, kr->local, column));
    PetscCall(PetscArraycpy(gram + j * P, column, P));
  }
  PetscCall(PetscFree(column));
  PetscFunctionReturn(0);
}

static PetscErrorCode Memory_Kernel(CurvatureSolver g, PetscLogDouble *bytes)
{
  Kernel        *kr = (Kernel *)g->data;
  const PetscReal P = (PetscReal)g->n_params, R = (PetscReal)g->size;

  PetscFunctionBegin;
  if (kr->bc.matrix) {
    const PetscReal exchange = (PetscReal)kr->send_displs[g->size - 1] + kr->send_counts[g->size - 1] + kr->recv_displs[g->size - 1] + kr->recv_counts[g->size - 1];
    *bytes = BlockCyclicMatrixBytes(&kr->bc, kr->n_rows, g->block_size, g->size) + 8.0 * (exchange + (R > 1 ? P * kr->max_rank_rows : 0) + (PetscReal)kr->max_chunk_rows * kr->max_chunk_rows + 2.0 * kr->n_rows + g->n_rows_max + 3.0 * P);
  } else { /* before the first operator: N at most R n_rows_max */
    const PetscReal N = R * g->n_rows_max;
    *bytes = BlockCyclicMatrixBytes(NULL, (PetscInt)N, g->block_size, g->size) + 8.0 * (N * N / R + (R > 1 ? P * g->n_rows_max : 0) + 2.0 * N + 3.0 * P);
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode View_Kernel(CurvatureSolver g, PetscViewer viewer)
{
  Kernel *kr = (Kernel *)g->data;

  PetscFunctionBegin;
  if (kr->bc.matrix) PetscCall(PetscViewerASCIIPrintf(viewer, ", K of %" PetscInt_FMT " rows on a %d x %d process grid, block %d%s", kr->n_rows, kr->bc.nprow, kr->bc.npcol, kr->bc.nb, kr->n_rows > g->n_params ? " (more rows than parameters: a dense Gram solver is cheaper)" : ""));
  else PetscCall(PetscViewerASCIIPrintf(viewer, ", K = J J^T (N x N) formed at the first iteration, block %" PetscInt_FMT, g->block_size));
  PetscFunctionReturn(0);
}

static PetscErrorCode Destroy_Kernel(CurvatureSolver g)
{
  Kernel *kr = (Kernel *)g->data;

  PetscFunctionBegin;
  PetscCall(FreeLayout(kr));
  PetscCall(BlockCyclicMatrixDestroy(&kr->bc));
  PetscCall(PetscFree3(kr->rank_rows, kr->rank_row0, kr->rank_chunks));
  PetscCall(PetscFree(kr->chunk_displs));
  PetscCall(PetscFree(kr->sizes_local));
  PetscCall(PetscFree(kr->chunk_sizes));
  PetscCall(PetscFree4(kr->send_counts, kr->send_displs, kr->recv_counts, kr->recv_displs));
  PetscCall(PetscFree(g->data));
  PetscFunctionReturn(0);
}

static PetscErrorCode SetUp_Kernel(CurvatureSolver g)
{
  Kernel     *kr = (Kernel *)g->data;
  PetscMPIInt R  = g->size;

  PetscFunctionBegin;
  PetscCall(PetscMalloc3(R, &kr->rank_rows, R, &kr->rank_row0, R, &kr->rank_chunks));
  PetscCall(PetscMalloc1(R + 1, &kr->chunk_displs));
  PetscCall(PetscMalloc4(R, &kr->send_counts, R, &kr->send_displs, R, &kr->recv_counts, R, &kr->recv_displs));
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode CurvatureSolverCreate_Kernel(CurvatureSolver g)
{
  Kernel *kr;

  PetscFunctionBegin;
  PetscCall(PetscNew(&kr));
  g->data                = kr;
  g->solve_needs_damping = PETSC_TRUE;
  g->ops.setup           = SetUp_Kernel;
  g->ops.setoperator     = SetOperator_Kernel;
  g->ops.solve           = Solve_Kernel;
  g->ops.solveresidual   = SolveResidual_Kernel;
  g->ops.getmatrix       = GetMatrix_Kernel;
  g->ops.memory          = Memory_Kernel;
  g->ops.view            = View_Kernel;
  g->ops.destroy         = Destroy_Kernel;
  PetscFunctionReturn(0);
}
