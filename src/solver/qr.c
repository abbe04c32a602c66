/* QR curvature solver (-engd_gram qr): the pseudo-inverse from the rows themselves, never from
   G = J~^T J~. Forming G squares the rows' condition: its eigenvalues below about 1e-15 lambda_max
   are rounding noise, and where ENGD needs the components of those eigenvalues (a crawl on a
   plateau, bench/gram_floor.py) the dense solvers cannot give them. A QR of the rows resolves
   singular values sigma down to about 1e-16 sigma_max, that is eigenvalues sigma^2 down to
   1e-32 lambda_max.

   The rows augmented by their residuals, [J~ | r~] (N x (P+1)), are reduced by a TSQR tree over
   the global chunk indices (node i of level l covers chunks [i 2^l, (i+1) 2^l)). The leaves are
   the largest groups of 2^l chunks with at most P+1 rows each: one dgeqrf of their stacked rows.
   Each node above stacks the R of its two children and reduces them again (dgeqrf, or dtpqrt once
   the pair has P+1 rows). A node lives on the rank of its first chunk; rows or an R of another
   rank come in one message. The tree is fixed by the chunks, which are fixed global
   ranges (objective.h), so the root R is the same bits on any rank count. The root's owner
   broadcasts it; every rank takes the SVD R_J = U Sigma V^T of its first P columns (square R_J,
   N >= P: through its bidiagonal form, dgebrd + dbdsdc, with Q and P applied to the vectors by
   dormbr; else dgesdd) and R^T R = [J~ r~]^T [J~ r~] gives
       residual form:  d = J~^+ r~ = V diag(sigma / (sigma^2 + lambda)) U^T c,  c = R's last column,
       general g:      d = V diag(1 / (sigma^2 + lambda)) V^T g,
   with ENGD's cut-off on sigma^2 (kept when sigma^2 > rcond sigma_max^2) and damping lambda.
   Cost per iteration: about 2 N P^2 flops for the leaves, 2 P^3 per combine near the root, then an
   SVD of P x P: several times the dense Gram's dsyrk and dsyevd (README, "-engd_gram qr"). */
#include <engd/private/curvatureimpl.h>
#include <engd/private/lapack.h>

#define QR_NB 32 /* dtpqrt's block */

typedef struct {
  PetscInt      m;                       /* P + 1 */
  PetscInt      n_chunks, first_chunk;   /* global chunks; this rank's first */
  PetscInt      n_local_chunks;
  PetscInt      leaf_level;              /* groups of 2^leaf_level chunks with at most m rows are the leaves */
  MPI_Request  *requests;                /* one per local chunk */
  PetscInt     *chunk_rows;              /* every global chunk's rows */
  PetscMPIInt  *chunk_rank;              /* and its rank */
  PetscReal   **slot;                    /* the R of the node whose first chunk is local chunk s */
  PetscInt     *slot_rows;               /* its rows (<= m) */
  PetscReal    *slot_memory, *stack, *recv, *tau, *work, *t_block; /* t_block: dtpqrt's T (QR_NB x m) */
  PetscBLASInt  lwork;
  PetscInt      root_rows;               /* k = min(N, m) */
  PetscReal    *root;                    /* k x m, leading dimension k, on every rank */
  PetscReal    *a, *sigma, *u, *vt, *filter, *lambda, *tmp;
  PetscReal    *offdiag, *tauq, *taup;  /* square R: its bidiagonal form R = Q B P^T (dgebrd) */
  PetscBool     square;                 /* N >= P: the SVD through B, Q and P applied to vectors only */
  PetscBLASInt *iwork;
} QR;

/* Rows of the R of tree node (level, index): min(m, rows of its chunks). */
static PetscInt NodeRows(const QR *q, PetscInt level, PetscInt index)
{
  const PetscInt first = index << level, last = PetscMin(q->n_chunks, (index + 1) << level);
  PetscInt       rows  = 0;
  for (PetscInt c = first; c < last; c++) rows += q->chunk_rows[c];
  return PetscMin(rows, q->m);
}

static PetscInt Levels(PetscInt n_chunks)
{
  PetscInt levels = 0;
  while (((PetscInt)1 << levels) < n_chunks) levels++;
  return levels;
}

/* The global chunk layout (once, at the first operator) and every buffer sized from it. */
static PetscErrorCode SetUpLayout(CurvatureSolver g, const CurvatureOperator *op)
{
  QR            *q = (QR *)g->data;
  const PetscInt m = q->m, P = g->n_params;
  PetscMPIInt    n_local, *counts, *displs;
  PetscInt      *local_rows, capacity = 0, k_svd;
  PetscBLASInt   mm, nn, kk, info, lwork_geqrf, lwork_svd;
  PetscReal      query;

  PetscFunctionBegin;
  PetscCall(PetscMPIIntCast(op->n_chunks, &n_local));
  PetscCall(PetscMalloc3(g->size, &counts, g->size + 1, &displs, op->n_chunks, &local_rows));
  PetscCallMPI(MPI_Allgather(&n_local, 1, MPI_INT, counts, 1, MPI_INT, g->comm));
  displs[0] = 0;
  for (PetscMPIInt p = 0; p < g->size; p++) displs[p + 1] = displs[p] + counts[p];
  q->n_chunks       = displs[g->size];
  q->first_chunk    = displs[g->rank];
  q->n_local_chunks = op->n_chunks;
  PetscCall(PetscMalloc2(q->n_chunks, &q->chunk_rows, q->n_chunks, &q->chunk_rank));
  for (PetscInt c = 0; c < op->n_chunks; c++) local_rows[c] = op->chunk_row[c + 1] - op->chunk_row[c];
  PetscCallMPI(MPI_Allgatherv(local_rows, n_local, MPIU_INT, q->chunk_rows, counts, displs, MPIU_INT, g->comm));
  for (PetscMPIInt p = 0; p < g->size; p++)
    for (PetscInt c = displs[p]; c < displs[p + 1]; c++) q->chunk_rank[c] = p;
  PetscCall(PetscFree3(counts, displs, local_rows));

  /* the leaves: the largest groups of 2^l chunks that have at most m rows each (one QR of their
     stacked rows costs less than a tree over them), single chunks if a chunk alone has more */
  q->leaf_level = 0;
  while (q->leaf_level < Levels(q->n_chunks)) {
    const PetscInt next = q->leaf_level + 1;
    PetscBool      fits = PETSC_TRUE;
    for (PetscInt i = 0; ((i << next) < q->n_chunks) && fits; i++) {
      PetscInt rows = 0;
      for (PetscInt c = i << next; c < PetscMin(q->n_chunks, (i + 1) << next); c++) rows += q->chunk_rows[c];
      fits = rows <= m ? PETSC_TRUE : PETSC_FALSE;
    }
    if (!fits) break;
    q->leaf_level = next;
  }
  PetscCall(PetscMalloc1(q->n_local_chunks, &q->requests));
  /* a slot holds, level after level, the R of the nodes whose first chunk it is */
  PetscCall(PetscMalloc2(q->n_local_chunks, &q->slot, q->n_local_chunks, &q->slot_rows));
  for (PetscInt s = 0; s < q->n_local_chunks; s++) {
    const PetscInt chunk = q->first_chunk + s;
    PetscInt       rows  = 0;
    for (PetscInt l = 0; l <= Levels(q->n_chunks) && (chunk % ((PetscInt)1 << l)) == 0; l++) rows = PetscMax(rows, NodeRows(q, l, chunk >> l));
    q->slot_rows[s] = rows; /* capacity for now */
    capacity += rows * m;
  }
  PetscCall(PetscMalloc1(capacity, &q->slot_memory));
  for (PetscInt s = 0, offset = 0; s < q->n_local_chunks; s++) {
    q->slot[s] = q->slot_memory + offset;
    offset += q->slot_rows[s] * m;
  }
  q->root_rows = NodeRows(q, Levels(q->n_chunks), 0);
  k_svd        = PetscMin(q->root_rows, P);
  {
    PetscInt max_chunk = 0;
    for (PetscInt c = 0; c < q->n_chunks; c++) max_chunk = PetscMax(max_chunk, q->chunk_rows[c]);
    PetscCall(PetscMalloc4((size_t)PetscMax(2 * m, max_chunk) * m, &q->stack, (size_t)m * m, &q->recv, m, &q->tau, (size_t)QR_NB * m, &q->t_block));
    PetscCall(PetscBLASIntCast(PetscMax(2 * m, max_chunk), &mm));
  }
  PetscCall(PetscBLASIntCast(m, &nn));
  dgeqrf_(&mm, &nn, q->stack, &mm, q->tau, &query, &(PetscBLASInt){-1}, &info);
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dgeqrf workspace query failed: info %d", (int)info);
  lwork_geqrf = (PetscBLASInt)query;
  PetscCall(PetscMalloc4((size_t)q->root_rows * m, &q->root, (size_t)k_svd * P, &q->a, k_svd, &q->sigma, (size_t)k_svd * k_svd, &q->u));
  PetscCall(PetscMalloc5((size_t)k_svd * P, &q->vt, k_svd, &q->filter, k_svd, &q->lambda, PetscMax(k_svd, P), &q->tmp, 8 * k_svd, &q->iwork));
  PetscCall(PetscBLASIntCast(k_svd, &kk));
  PetscCall(PetscBLASIntCast(P, &nn));
  dgesdd_("S", &kk, &nn, q->a, &kk, q->sigma, q->u, &kk, q->vt, &kk, &query, &(PetscBLASInt){-1}, q->iwork, &info);
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dgesdd workspace query failed: info %d", (int)info);
  lwork_svd = (PetscBLASInt)query;
  q->square = k_svd == P ? PETSC_TRUE : PETSC_FALSE;
  PetscCall(PetscMalloc3(P, &q->offdiag, P, &q->tauq, P, &q->taup));
  if (q->square) {
    dgebrd_(&nn, &nn, q->a, &nn, q->sigma, q->offdiag, q->tauq, q->taup, &query, &(PetscBLASInt){-1}, &info);
    PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dgebrd workspace query failed: info %d", (int)info);
    lwork_svd = PetscMax((PetscBLASInt)query, 3 * nn * nn + 4 * nn); /* dbdsdc with singular vectors: 3 n^2 + 4 n */
  }
  q->lwork  = PetscMax(PetscMax(lwork_geqrf, lwork_svd), QR_NB * m); /* dtpqrt: QR_NB x m */
  PetscCall(PetscMalloc1(q->lwork, &q->work));
  PetscFunctionReturn(0);
}

/* R of the stacked rows in q->stack (rows x m, leading dimension rows) into dst (min(rows, m) x m). */
static PetscErrorCode ReduceStack(QR *q, PetscInt rows, PetscReal *dst, PetscInt *dst_rows)
{
  const PetscInt m = q->m, k = PetscMin(rows, m);
  PetscBLASInt   r, n, info;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(rows, &r));
  PetscCall(PetscBLASIntCast(m, &n));
  dgeqrf_(&r, &n, q->stack, &r, q->tau, q->work, &q->lwork, &info);
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dgeqrf failed: info %d", (int)info);
  PetscCall(PetscLogFlops(2.0 * (PetscLogDouble)k * k * (m - k / 3.0) + 2.0 * (PetscLogDouble)k * (rows - k) * m));
  for (PetscInt j = 0; j < m; j++)
    for (PetscInt i = 0; i < k; i++) dst[i + j * k] = i <= j ? q->stack[i + j * rows] : 0.0;
  *dst_rows = k;
  PetscFunctionReturn(0);
}

/* Local chunk s's rows augmented by their residuals, [J~_c | r~_c], into rows [offset, offset + n_c)
   of dst (leading dimension ld). */
static void RawRows(const QR *q, const CurvatureOperator *op, PetscInt s, PetscReal *dst, PetscInt ld, PetscInt offset)
{
  const PetscInt P = q->m - 1, rows = op->chunk_row[s + 1] - op->chunk_row[s];
  for (PetscInt i = 0; i < rows; i++) {
    const PetscReal *row = op->jac_t + (size_t)(op->chunk_row[s] + i) * P;
    for (PetscInt j = 0; j < P; j++) dst[offset + i + j * ld] = row[j];
    dst[offset + i + P * ld] = op->res ? op->res[op->chunk_row[s] + i] : 0.0; /* without residuals only the general solve applies */
  }
}

/* stack = [A (a x m, ld a); B (b x m, ld b)] */
static void Stack(QR *q, const PetscReal *A, PetscInt a, const PetscReal *B, PetscInt b)
{
  const PetscInt rows = a + b;
  for (PetscInt j = 0; j < q->m; j++) {
    for (PetscInt i = 0; i < a; i++) q->stack[i + j * rows] = A[i + j * a];
    for (PetscInt i = 0; i < b; i++) q->stack[a + i + j * rows] = B[i + j * b];
  }
}

/* The R of [A; B] into A's slot: A the left child (a x m), B the right one (b x m, upper
   trapezoidal, destroyed). When the pair has at least m rows, A is made an m x m triangle (zero
   rows below its a rows: R^T R is unchanged) and dtpqrt reduces the triangle-on-trapezoid pair at
   about 2 b m^2 flops instead of dgeqrf's 2 m^2 (a + b) - (2/3) m^3 on the dense stack. */
static PetscErrorCode Combine(QR *q, PetscInt s, PetscReal *B, PetscInt b)
{
  const PetscInt m = q->m, a = q->slot_rows[s];
  PetscReal     *A = q->slot[s];
  PetscBLASInt   mb, nn, lb, nb, info;

  PetscFunctionBegin;
  if (a + b < m) {
    Stack(q, A, a, B, b);
    PetscCall(ReduceStack(q, a + b, A, &q->slot_rows[s]));
    PetscFunctionReturn(0);
  }
  if (a < m) { /* leading dimension a -> m, from the last column back so nothing is overwritten unread */
    for (PetscInt j = m - 1; j >= 0; j--) {
      for (PetscInt i = m - 1; i >= a; i--) A[i + j * m] = 0.0;
      for (PetscInt i = a - 1; i >= 0; i--) A[i + j * m] = A[i + j * a];
    }
    q->slot_rows[s] = m;
  }
  PetscCall(PetscBLASIntCast(b, &mb));
  PetscCall(PetscBLASIntCast(m, &nn));
  lb = mb;
  nb = (PetscBLASInt)PetscMin(QR_NB, m);
  dtpqrt_(&mb, &nn, &lb, &nb, q->slot[s], &nn, B, &mb, q->t_block, &nb, q->work, &info);
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dtpqrt failed: info %d", (int)info);
  PetscCall(PetscLogFlops(2.0 * (PetscLogDouble)b * m * m - (2.0 / 3.0) * (PetscLogDouble)b * b * b));
  PetscFunctionReturn(0);
}

static PetscErrorCode FreeLayout(QR *q)
{
  PetscFunctionBegin;
  if (!q->chunk_rows) PetscFunctionReturn(0);
  PetscCall(PetscFree2(q->chunk_rows, q->chunk_rank));
  PetscCall(PetscFree2(q->slot, q->slot_rows));
  PetscCall(PetscFree(q->slot_memory));
  PetscCall(PetscFree(q->requests));
  PetscCall(PetscFree4(q->stack, q->recv, q->tau, q->t_block));
  PetscCall(PetscFree4(q->root, q->a, q->sigma, q->u));
  PetscCall(PetscFree5(q->vt, q->filter, q->lambda, q->tmp, q->iwork));
  PetscCall(PetscFree(q->work));
  PetscCall(PetscFree3(q->offdiag, q->tauq, q->taup));
  PetscFunctionReturn(0);
}

/* Whether the operator's chunks are those of the layout, on every rank (no allocation). */
static PetscErrorCode LayoutMatches(CurvatureSolver g, const CurvatureOperator *op, PetscBool *same)
{
  QR *q = (QR *)g->data;
  int ok = q->chunk_rows && op->n_chunks == q->n_local_chunks;

  PetscFunctionBegin;
  for (PetscInt c = 0; ok && c < op->n_chunks; c++) ok = op->chunk_row[c + 1] - op->chunk_row[c] == q->chunk_rows[q->first_chunk + c];
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_LAND, g->comm));
  *same = ok ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

static PetscErrorCode SetOperator_QR(CurvatureSolver g, const CurvatureOperator *op)
{
  QR            *q = (QR *)g->data;
  const PetscInt m = q->m;
  PetscInt       n_requests, levels;

  PetscFunctionBegin;
  PetscCheck(op->type == CURVATURE_ROWS, g->comm, PETSC_ERR_SUP, "The qr solver needs stored rows (a CURVATURE_ROWS operator)");
  {
    PetscBool same = PETSC_FALSE;
    PetscCall(LayoutMatches(g, op, &same));
    if (!same) { /* the first operator, or other chunks: the tree's buffers for these */
      PetscCall(FreeLayout(q));
      PetscCall(SetUpLayout(g, op));
    }
  }
  levels = Levels(q->n_chunks);
  /* leaves: each group of 2^leaf_level chunks, its rows [J~_c | r~_c] stacked in chunk order and
     reduced on the group's first rank; a chunk of a group that starts on another rank goes there */
  {
    const PetscInt group = (PetscInt)1 << q->leaf_level;
    n_requests           = 0;
    for (PetscInt s = 0; s < q->n_local_chunks; s++) {
      const PetscInt chunk = q->first_chunk + s, first = chunk - chunk % group;
      if (q->chunk_rank[first] == g->rank) continue;
      RawRows(q, op, s, q->slot[s], q->chunk_rows[chunk], 0);
      PetscCallMPI(MPI_Isend(q->slot[s], (PetscMPIInt)(q->chunk_rows[chunk] * m), MPIU_REAL, q->chunk_rank[first], (PetscMPIInt)chunk, g->comm, &q->requests[n_requests++]));
    }
    for (PetscInt s = 0; s < q->n_local_chunks; s++) {
      const PetscInt chunk = q->first_chunk + s, last = PetscMin(q->n_chunks, chunk + group);
      PetscInt       rows  = 0, offset = 0;
      if (chunk % group) continue;
      for (PetscInt c = chunk; c < last; c++) rows += q->chunk_rows[c];
      for (PetscInt c = chunk; c < last; c++) {
        if (q->chunk_rank[c] == g->rank) RawRows(q, op, c - q->first_chunk, q->stack, rows, offset);
        else {
          PetscCallMPI(MPI_Recv(q->recv, (PetscMPIInt)(q->chunk_rows[c] * m), MPIU_REAL, q->chunk_rank[c], (PetscMPIInt)c, g->comm, MPI_STATUS_IGNORE));
          for (PetscInt j = 0; j < m; j++)
            for (PetscInt i = 0; i < q->chunk_rows[c]; i++) q->stack[offset + i + j * rows] = q->recv[i + j * q->chunk_rows[c]];
        }
        offset += q->chunk_rows[c];
      }
      PetscCall(ReduceStack(q, rows, q->slot[s], &q->slot_rows[s]));
    }
    PetscCallMPI(MPI_Waitall((PetscMPIInt)n_requests, q->requests, MPI_STATUSES_IGNORE));
  }
  /* the tree above the leaves, level by level; a right child on another rank is sent to the node's rank */
  for (PetscInt l = q->leaf_level + 1; l <= levels; l++) {
    const PetscInt half = (PetscInt)1 << (l - 1);
    n_requests = 0;
    for (PetscInt s = 0; s < q->n_local_chunks; s++) {
      const PetscInt chunk = q->first_chunk + s, left = chunk - half;
      if ((chunk % ((PetscInt)1 << l)) != half || q->chunk_rank[left] == g->rank) continue; /* not a right child, or its parent is here */
      PetscCallMPI(MPI_Isend(q->slot[s], (PetscMPIInt)(q->slot_rows[s] * m), MPIU_REAL, q->chunk_rank[left], (PetscMPIInt)chunk, g->comm, &q->requests[n_requests++]));
    }
    for (PetscInt s = 0; s < q->n_local_chunks; s++) {
      const PetscInt chunk = q->first_chunk + s, right = chunk + half;
      if ((chunk % ((PetscInt)1 << l)) != 0 || right >= q->n_chunks) continue; /* not a node of this level, or no right child */
      if (q->chunk_rank[right] == g->rank) PetscCall(Combine(q, s, q->slot[right - q->first_chunk], q->slot_rows[right - q->first_chunk]));
      else {
        const PetscInt b = NodeRows(q, l - 1, right >> (l - 1));
        PetscCallMPI(MPI_Recv(q->recv, (PetscMPIInt)(b * m), MPIU_REAL, q->chunk_rank[right], (PetscMPIInt)right, g->comm, MPI_STATUS_IGNORE));
        PetscCall(Combine(q, s, q->recv, b));
      }
    }
    PetscCallMPI(MPI_Waitall((PetscMPIInt)n_requests, q->requests, MPI_STATUSES_IGNORE));
  }
  if (g->rank == q->chunk_rank[0]) PetscCall(PetscArraycpy(q->root, q->slot[0], q->root_rows * m));
  PetscCallMPI(MPI_Bcast(q->root, (PetscMPIInt)(q->root_rows * m), MPIU_REAL, q->chunk_rank[0], g->comm));
  PetscFunctionReturn(0);
}

/* The SVD of R's first P columns and the filter on sigma^2 (ascending for the filter). */
static PetscErrorCode Factor(CurvatureSolver g, const CurvatureRegularization *reg, CurvatureSolveInfo *info, PetscInt *k_out)
{
  QR            *q = (QR *)g->data;
  const PetscInt P = g->n_params, k = PetscMin(q->root_rows, P);
  PetscBLASInt   kk, nn, lapack_info;

  PetscFunctionBegin;
  for (PetscInt j = 0; j < P; j++)
    for (PetscInt i = 0; i < k; i++) q->a[i + j * k] = q->root[i + j * q->root_rows];
  PetscCall(PetscBLASIntCast(k, &kk));
  PetscCall(PetscBLASIntCast(P, &nn));
  if (q->square) { /* R = Q B P^T, B = U_B Sigma V_B^T: U_B, V_B^T of B only (no n^3 back-transformations) */
    dgebrd_(&nn, &nn, q->a, &nn, q->sigma, q->offdiag, q->tauq, q->taup, q->work, &q->lwork, &lapack_info);
    PetscCheck(lapack_info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dgebrd failed on the rows' R: info %d", (int)lapack_info);
    dbdsdc_("U", "I", &nn, q->sigma, q->offdiag, q->u, &nn, q->vt, &nn, NULL, NULL, q->work, q->iwork, &lapack_info);
    PetscCheck(lapack_info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dbdsdc failed on the bidiagonal R: info %d", (int)lapack_info);
    PetscCall(PetscLogFlops((8.0 / 3.0 + 4.0) * (PetscLogDouble)P * P * P));
  } else {
    dgesdd_("S", &kk, &nn, q->a, &kk, q->sigma, q->u, &kk, q->vt, &kk, q->work, &q->lwork, q->iwork, &lapack_info);
    PetscCheck(lapack_info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dgesdd failed on the rows' R: info %d", (int)lapack_info);
    PetscCall(PetscLogFlops(12.0 * (PetscLogDouble)k * k * P));
  }
  for (PetscInt i = 0; i < k; i++) q->lambda[i] = q->sigma[k - 1 - i] * q->sigma[k - 1 - i];
  PetscCall(CurvatureSpectralFilter(k, q->lambda, reg->rcond, reg->damping, q->filter, info));
  *k_out = k;
  PetscFunctionReturn(0);
}

/* v <- Q^T v, Q v, P^T v or P v with the square R's bidiagonal reflectors (dormbr). */
static PetscErrorCode ApplyReflectors(QR *q, const char *vect, const char *trans, PetscReal *v)
{
  PetscBLASInt n, one_i = 1, info;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(q->m - 1, &n));
  dormbr_(vect, "L", trans, &n, &one_i, &n, q->a, &n, vect[0] == 'Q' ? q->tauq : q->taup, v, &n, q->work, &q->lwork, &info);
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dormbr failed: info %d", (int)info);
  PetscFunctionReturn(0);
}

/* dir = V tmp (tmp: k coefficients in the right singular basis); square R: V = P V_B. */
static PetscErrorCode FromRightSingularBasis(QR *q, PetscInt k, PetscReal *dir)
{
  PetscBLASInt    kk, nn, one_i = 1;
  const PetscReal one = 1.0, zero = 0.0;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(k, &kk));
  PetscCall(PetscBLASIntCast(q->m - 1, &nn));
  PetscCallBLAS("BLASgemv", BLASgemv_("T", &kk, &nn, &one, q->vt, &kk, q->tmp, &one_i, &zero, dir, &one_i));
  if (q->square) PetscCall(ApplyReflectors(q, "P", "N", dir));
  PetscFunctionReturn(0);
}

static PetscErrorCode SolveResidual_QR(CurvatureSolver g, const CurvatureRegularization *reg, PetscReal *dir, CurvatureSolveInfo *info)
{
  QR             *q = (QR *)g->data;
  const PetscInt  P = g->n_params;
  PetscInt        k;
  PetscBLASInt    kk, one_i = 1;
  const PetscReal one = 1.0, zero = 0.0;

  PetscFunctionBegin;
  PetscCall(Factor(g, reg, info, &k));
  PetscCall(PetscBLASIntCast(k, &kk));
  /* d = V diag(sigma_i f(sigma_i^2)) U^T c; sigma descending, the filter ascending. Square R:
     U = Q U_B, V = P V_B */
  PetscCall(PetscArraycpy(dir, q->root + (size_t)P * q->root_rows, k));
  if (q->square) PetscCall(ApplyReflectors(q, "Q", "T", dir));
  PetscCallBLAS("BLASgemv", BLASgemv_("T", &kk, &kk, &one, q->u, &kk, dir, &one_i, &zero, q->tmp, &one_i));
  for (PetscInt i = 0; i < k; i++) q->tmp[i] *= q->sigma[i] * q->filter[k - 1 - i];
  PetscCall(FromRightSingularBasis(q, k, dir));
  PetscFunctionReturn(0);
}

static PetscErrorCode Solve_QR(CurvatureSolver g, const CurvatureRegularization *reg, const PetscReal *rhs, PetscReal *dir, CurvatureSolveInfo *info)
{
  QR             *q = (QR *)g->data;
  const PetscInt  P = g->n_params;
  PetscInt        k;
  PetscBLASInt    kk, nn, one_i = 1;
  const PetscReal one = 1.0, zero = 0.0;

  PetscFunctionBegin;
  PetscCall(Factor(g, reg, info, &k));
  PetscCall(PetscBLASIntCast(k, &kk));
  PetscCall(PetscBLASIntCast(P, &nn));
  PetscCall(PetscArraycpy(dir, rhs, P));
  if (q->square) PetscCall(ApplyReflectors(q, "P", "T", dir));
  PetscCallBLAS("BLASgemv", BLASgemv_("N", &kk, &nn, &one, q->vt, &kk, dir, &one_i, &zero, q->tmp, &one_i));
  for (PetscInt i = 0; i < k; i++) q->tmp[i] *= q->filter[k - 1 - i];
  PetscCall(FromRightSingularBasis(q, k, dir));
  PetscFunctionReturn(0);
}

/* G = R_J^T R_J, for tests. */
static PetscErrorCode GetMatrix_QR(CurvatureSolver g, PetscReal *gram)
{
  QR            *q = (QR *)g->data;
  const PetscInt P = g->n_params, k = q->root_rows;

  PetscFunctionBegin;
  PetscCheck(q->root, g->comm, PETSC_ERR_ORDER, "Call CurvatureSolverSetOperator() first");
  for (PetscInt j = 0; j < P; j++)
    for (PetscInt i = 0; i < P; i++) {
      PetscReal sum = 0.0;
      for (PetscInt r = 0; r < k; r++) sum += q->root[r + i * k] * q->root[r + j * k];
      gram[i + j * P] = sum;
    }
  PetscFunctionReturn(0);
}

static PetscErrorCode SetUp_QR(CurvatureSolver g)
{
  QR *q = (QR *)g->data;

  PetscFunctionBegin;
  PetscCheck(g->solve_type == CURVATURE_SOLVE_EIGEN, g->comm, PETSC_ERR_ARG_INCOMP, "-engd_gram qr solves by the SVD of the rows' R: use -engd_solve eigen (the default), not cholesky");
  q->m = g->n_params + 1;
  PetscFunctionReturn(0);
}

static PetscErrorCode Memory_QR(CurvatureSolver g, PetscLogDouble *bytes)
{
  const PetscReal m = (PetscReal)g->n_params + 1.0, rows = (PetscReal)g->n_rows_max;

  PetscFunctionBegin;
  /* the slots (at most the local rows, and m rows per tree level above them), the stack (2m x m),
     the root, the SVD's A, U, V^T and dgesdd's workspace (about 4 m^2) */
  *bytes = 8.0 * (rows * m + 2.0 * m * m + m * m + 3.0 * m * m + 4.0 * m * m);
  PetscFunctionReturn(0);
}

static PetscErrorCode View_QR(CurvatureSolver g, PetscViewer viewer)
{
  QR *q = (QR *)g->data;

  PetscFunctionBegin;
  if (q->chunk_rows) PetscCall(PetscViewerASCIIPrintf(viewer, ", R of the rows by a TSQR tree over %" PetscInt_FMT " chunks, SVD solve", q->n_chunks));
  else PetscCall(PetscViewerASCIIPrintf(viewer, ", R of the rows by a TSQR tree over the chunks, SVD solve"));
  PetscFunctionReturn(0);
}

static PetscErrorCode Destroy_QR(CurvatureSolver g)
{
  QR *q = (QR *)g->data;

  PetscFunctionBegin;
  PetscCall(FreeLayout(q));
  PetscCall(PetscFree(g->data));
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode CurvatureSolverCreate_QR(CurvatureSolver g)
{
  QR *q;

  PetscFunctionBegin;
  PetscCall(PetscNew(&q));
  g->data              = q;
  g->rcond_floor       = 1e-20; /* sigma resolved to ~1e-16 sigma_max; 1e-22 worked on the default job, 1e-24 not always */
  g->ops.setup         = SetUp_QR;
  g->ops.setoperator   = SetOperator_QR;
  g->ops.solve         = Solve_QR;
  g->ops.solveresidual = SolveResidual_QR;
  g->ops.getmatrix     = GetMatrix_QR;
  g->ops.memory        = Memory_QR;
  g->ops.view          = View_QR;
  g->ops.destroy       = Destroy_QR;
  PetscFunctionReturn(0);
}
