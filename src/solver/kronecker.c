/* The exact inverse of sums of one or two Kronecker products per block (kronecker.h). */
#include <engd/kronecker.h>
#include <engd/private/lapack.h>

const char *const KroneckerDampings[] = {"all", "pi", "KroneckerDamping", "KRONECKER_DAMPING_", NULL};

/* -log_view: the decompositions (this rank's blocks, then the broadcasts) and the applications */
static PetscClassId  KRONECKER_CLASSID = 0;
static PetscLogEvent KRONECKER_Factor, KRONECKER_Share, KRONECKER_Apply;

struct _p_KroneckerSum {
  MPI_Comm       comm;
  PetscMPIInt    rank, size;
  PetscInt       n_blocks, n_products, length;
  PetscInt      *a_size, *m_size;
  PetscInt      *basis_offset; /* block b: K_A (a^2), s_A (a), K_B (m^2), s_B (m) */
  PetscInt      *x_offset;     /* block b's piece of the vector */
  PetscMPIInt   *owner;        /* the rank that decomposes block b */
  PetscReal     *basis;
  PetscReal     *work_a, *work_b, *lapack_work, *tmp;
  PetscBLASInt  *lapack_iwork;
  PetscBLASInt   lwork, liwork;
};

/* Owners by longest processing time first: the blocks by decreasing cost a^3 + m^3 (ties: lower
   index), each to the least loaded rank (ties: lower rank). Only the layout depends on the rank
   count: a block's decomposition is the same computation on whichever rank does it. */
static PetscErrorCode AssignOwners(KroneckerSum k)
{
  PetscReal *load;
  PetscBool *done;

  PetscFunctionBegin;
  PetscCall(PetscCalloc2(k->size, &load, k->n_blocks, &done));
  for (PetscInt it = 0; it < k->n_blocks; it++) {
    PetscInt    best = -1;
    PetscMPIInt r_min = 0;
    PetscReal   cost = -1;
    for (PetscInt b = 0; b < k->n_blocks; b++) {
      const PetscReal c = (PetscReal)k->a_size[b] * k->a_size[b] * k->a_size[b] + (PetscReal)k->m_size[b] * k->m_size[b] * k->m_size[b];
      if (!done[b] && c > cost) {
        cost = c;
        best = b;
      }
    }
    for (PetscMPIInt r = 1; r < k->size; r++)
      if (load[r] < load[r_min]) r_min = r;
    k->owner[best] = r_min;
    load[r_min] += cost;
    done[best] = PETSC_TRUE;
  }
  PetscCall(PetscFree2(load, done));
  PetscFunctionReturn(0);
}

PetscErrorCode KroneckerSumCreate(MPI_Comm comm, PetscInt n_blocks, const PetscInt a_size[], const PetscInt m_size[], PetscInt n_products, KroneckerSum *kron)
{
  KroneckerSum k;
  PetscInt     n_max = 1, basis = 0, vector = 0, block_max = 1;

  PetscFunctionBegin;
  PetscCheck(n_products == 1 || n_products == 2, comm, PETSC_ERR_ARG_OUTOFRANGE, "A Kronecker sum has 1 or 2 products per block, not %" PetscInt_FMT, n_products);
  if (!KRONECKER_CLASSID) {
    PetscCall(PetscClassIdRegister("KroneckerSum", &KRONECKER_CLASSID));
    PetscCall(PetscLogEventRegister("KronFactor", KRONECKER_CLASSID, &KRONECKER_Factor));
    PetscCall(PetscLogEventRegister("KronShare", KRONECKER_CLASSID, &KRONECKER_Share));
    PetscCall(PetscLogEventRegister("KronApply", KRONECKER_CLASSID, &KRONECKER_Apply));
  }
  PetscCall(PetscNew(&k));
  k->comm       = comm;
  k->n_blocks   = n_blocks;
  k->n_products = n_products;
  PetscCallMPI(MPI_Comm_rank(comm, &k->rank));
  PetscCallMPI(MPI_Comm_size(comm, &k->size));
  PetscCall(PetscMalloc5(n_blocks, &k->a_size, n_blocks, &k->m_size, n_blocks + 1, &k->basis_offset, n_blocks + 1, &k->x_offset, n_blocks, &k->owner));
  for (PetscInt b = 0; b < n_blocks; b++) {
    const PetscInt a = a_size[b], m = m_size[b];
    k->a_size[b]       = a;
    k->m_size[b]       = m;
    k->basis_offset[b] = basis;
    k->x_offset[b]     = vector;
    basis += a * a + a + m * m + m;
    vector += a * m;
    n_max     = PetscMax(n_max, PetscMax(a, m));
    block_max = PetscMax(block_max, a * m);
  }
  PetscCall(AssignOwners(k));
  k->basis_offset[n_blocks] = basis;
  k->x_offset[n_blocks]     = vector;
  k->length                 = vector;
  /* workspace of dsygvd/dsyevd for the largest factor (jobz V: 1 + 6n + 2n^2 reals, 3 + 5n ints) */
  PetscCall(PetscBLASIntCast(1 + 6 * n_max + 2 * n_max * n_max, &k->lwork));
  PetscCall(PetscBLASIntCast(3 + 5 * n_max, &k->liwork));
  PetscCall(PetscMalloc6(basis, &k->basis, n_max * n_max, &k->work_a, n_max * n_max, &k->work_b, k->lwork, &k->lapack_work, k->liwork, &k->lapack_iwork, 2 * block_max, &k->tmp));
  *kron = k;
  PetscFunctionReturn(0);
}

PetscErrorCode KroneckerSumDestroy(KroneckerSum *kron)
{
  KroneckerSum k = *kron;

  PetscFunctionBegin;
  if (!k) PetscFunctionReturn(0);
  PetscCall(PetscFree5(k->a_size, k->m_size, k->basis_offset, k->x_offset, k->owner));
  PetscCall(PetscFree6(k->basis, k->work_a, k->work_b, k->lapack_work, k->lapack_iwork, k->tmp));
  PetscCall(PetscFree(k));
  *kron = NULL;
  PetscFunctionReturn(0);
}

static PetscReal MeanDiagonal(PetscInt n, const PetscReal *F)
{
  PetscReal t = 0;

  for (PetscInt i = 0; i < n; i++) t += F[i * n + i];
  return t / (PetscReal)n;
}

/* F + shift I into out (n x n). */
static void Shifted(PetscInt n, const PetscReal *F, PetscReal shift, PetscReal *out)
{
  for (PetscInt i = 0; i < n * n; i++) out[i] = F[i];
  for (PetscInt i = 0; i < n; i++) out[i * n + i] += shift;
}

/* The eigenbasis of G1 + d1 I (one product) or the generalized one of (G1 + d1 I, G2 + d2 I),
   into K (n x n) and s. dsygvd needs G2 + d2 I numerically positive definite. A factor of rank
   below its order (the boundary term's B: 120 points for 256 outputs) is so only through the
   damping, and once its scale times n eps passes the damping its Cholesky fails on rounding (the
   KFAC paper's P = 116,097 run, damping 1.7e-13, after 2,300 iterations). Then the second shift
   is raised to that rounding level, n eps max diag G2, doubling until the factorization
   succeeds; the first time on a rank it says so on stderr. */
static PetscErrorCode Decompose(KroneckerSum k, PetscInt n, const PetscReal *G1, PetscReal d1, const PetscReal *G2, PetscReal d2, PetscReal *K, PetscReal *s, PetscInt block, const char *what)
{
  static PetscBool warned = PETSC_FALSE;
  PetscBLASInt     nb, info, itype = 1;
  PetscReal        shift2 = d2, max_diag = 0;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(n, &nb));
  Shifted(n, G1, d1, k->work_a);
  if (!G2) {
    dsyevd_("V", "U", &nb, k->work_a, &nb, s, k->lapack_work, &k->lwork, k->lapack_iwork, &k->liwork, &info);
    PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dsyevd of the damped KFAC factor %s of layer %" PetscInt_FMT " (%" PetscInt_FMT " x %" PetscInt_FMT ") failed: info %d", what, block, n, n, (int)info);
    PetscCall(PetscArraycpy(K, k->work_a, n * n));
    PetscFunctionReturn(0);
  }
  for (PetscInt i = 0; i < n; i++) max_diag = PetscMax(max_diag, PetscAbsReal(G2[i * n + i]));
  for (int attempt = 0;; attempt++) {
    Shifted(n, G2, shift2, k->work_b);
    dsygvd_(&itype, "V", "U", &nb, k->work_a, &nb, k->work_b, &nb, s, k->lapack_work, &k->lwork, k->lapack_iwork, &k->liwork, &info);
    if (info <= n || max_diag == 0 || attempt == 40) break;
    shift2 = PetscMax(2 * shift2, n * PETSC_MACHINE_EPSILON * max_diag);
    Shifted(n, G1, d1, k->work_a); /* dsygvd returned after the failed Cholesky; start afresh */
  }
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dsygvd of the damped KFAC factor %s of layer %" PetscInt_FMT " (%" PetscInt_FMT " x %" PetscInt_FMT ") failed: info %d%s", what, block, n, n, (int)info, info > n ? " (the second factor is not positive definite: raise -kfac_damping)" : "");
  if (shift2 != d2 && !warned) {
    warned = PETSC_TRUE;
    fprintf(stderr, "engd: warning: KFAC: the boundary/data factor %s of layer %" PetscInt_FMT " (%" PetscInt_FMT " x %" PetscInt_FMT ") plus the damping %g is not numerically positive definite: its shift raised to %.2g, its rounding level (said once)\n", what, block, n, n, (double)d2, (double)shift2);
  }
  PetscCall(PetscArraycpy(K, k->work_a, n * n));
  PetscFunctionReturn(0);
}

/* The damping of the pair (A, B) of one product: lambda on both, or the pi-corrected split. */
static void PairDamping(PetscInt a, const PetscReal *A, PetscInt m, const PetscReal *B, PetscReal damping, KroneckerDamping type, PetscReal *da, PetscReal *dm)
{
  *da = *dm = damping;
  if (type == KRONECKER_DAMPING_PI) {
    const PetscReal ta = MeanDiagonal(a, A), tm = MeanDiagonal(m, B);
    const PetscReal pi = ta > 0 && tm > 0 ? PetscSqrtReal(ta / tm) : 1.0;
    *da = PetscSqrtReal(damping) * pi;
    *dm = PetscSqrtReal(damping) / pi;
  }
}

PetscErrorCode KroneckerSumFactor(KroneckerSum k, const PetscReal *factors, const PetscInt offset[], PetscReal damping, KroneckerDamping type)
{
  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(KRONECKER_Factor, 0, 0, 0, 0));
  for (PetscInt b = 0; b < k->n_blocks; b++) {
    const PetscInt   a = k->a_size[b], m = k->m_size[b];
    PetscReal       *KA = k->basis + k->basis_offset[b], *sA = KA + a * a, *KB = sA + a, *sB = KB + m * m;
    const PetscReal *A1 = factors + offset[b * k->n_products], *B1 = A1 + a * a;
    PetscReal        da1, dm1;

    if (k->owner[b] != k->rank) continue;
    PairDamping(a, A1, m, B1, damping, type, &da1, &dm1);
    if (k->n_products == 2) {
      const PetscReal *A2 = factors + offset[b * k->n_products + 1], *B2 = A2 + a * a;
      PetscReal        da2, dm2;
      PairDamping(a, A2, m, B2, damping, type, &da2, &dm2);
      PetscCall(Decompose(k, a, A1, da1, A2, da2, KA, sA, b + 1, "A"));
      PetscCall(Decompose(k, m, B1, dm1, B2, dm2, KB, sB, b + 1, "B"));
    } else {
      PetscCall(Decompose(k, a, A1, da1, NULL, 0, KA, sA, b + 1, "A"));
      PetscCall(Decompose(k, m, B1, dm1, NULL, 0, KB, sB, b + 1, "B"));
    }
  }
  PetscCall(PetscLogEventEnd(KRONECKER_Factor, 0, 0, 0, 0));
  PetscCall(PetscLogEventBegin(KRONECKER_Share, 0, 0, 0, 0));
  /* share: every block from its owner (a failed decomposition above has already raised) */
  for (PetscInt b = 0; b < k->n_blocks && k->size > 1; b++) {
    PetscMPIInt count;
    PetscCall(PetscMPIIntCast(k->basis_offset[b + 1] - k->basis_offset[b], &count));
    PetscCallMPI(MPI_Bcast(k->basis + k->basis_offset[b], count, MPIU_REAL, k->owner[b], k->comm));
  }
  PetscCall(PetscLogEventEnd(KRONECKER_Share, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

static PetscErrorCode Gemm(const char *ta, const char *tb, PetscInt m, PetscInt n, PetscInt kk, const PetscReal *A, PetscInt lda, const PetscReal *B, PetscInt ldb, PetscReal *C, PetscInt ldc)
{
  PetscBLASInt    M, N, K, LDA, LDB, LDC;
  const PetscReal one = 1.0, zero = 0.0;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(m, &M));
  PetscCall(PetscBLASIntCast(n, &N));
  PetscCall(PetscBLASIntCast(kk, &K));
  PetscCall(PetscBLASIntCast(lda, &LDA));
  PetscCall(PetscBLASIntCast(ldb, &LDB));
  PetscCall(PetscBLASIntCast(ldc, &LDC));
  PetscCallBLAS("BLASgemm", BLASgemm_(ta, tb, &M, &N, &K, &one, A, &LDA, B, &LDB, &zero, C, &LDC));
  PetscFunctionReturn(0);
}

PetscErrorCode KroneckerSumApply(KroneckerSum k, const PetscReal *x, PetscReal *y)
{
  const PetscReal c = k->n_products == 2 ? 1.0 : 0.0;

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(KRONECKER_Apply, 0, 0, 0, 0));
  for (PetscInt b = 0; b < k->n_blocks; b++) {
    const PetscInt   a = k->a_size[b], m = k->m_size[b];
    const PetscReal *KA = k->basis + k->basis_offset[b], *sA = KA + a * a, *KB = sA + a, *sB = KB + m * m;
    const PetscReal *X = x + k->x_offset[b];
    PetscReal       *Y = y + k->x_offset[b], *T1 = k->tmp, *T2 = k->tmp + a * m;

    PetscCall(Gemm("T", "N", m, a, m, KB, m, X, m, T1, m));  /* K_B^T X */
    PetscCall(Gemm("N", "N", m, a, a, T1, m, KA, a, T2, m)); /* (K_B^T X) K_A */
    for (PetscInt j = 0; j < a; j++)
      for (PetscInt i = 0; i < m; i++) T2[j * m + i] /= sB[i] * sA[j] + c;
    PetscCall(Gemm("N", "N", m, a, m, KB, m, T2, m, T1, m)); /* K_B T */
    PetscCall(Gemm("N", "T", m, a, a, T1, m, KA, a, Y, m));  /* (K_B T) K_A^T */
    PetscCall(PetscLogFlops(4.0 * a * m * (a + m)));
  }
  PetscCall(PetscLogEventEnd(KRONECKER_Apply, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}
