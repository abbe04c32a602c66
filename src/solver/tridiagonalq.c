/* Q of G = Q T Q^T applied as dormtr applies it, with the triangular factors kept.

   dormtr("L", "U", trans) on one vector is dormql on the reflectors in columns 2..n: for each
   block of nb reflectors it forms the block's triangular factor (dlarft, O(n nb^2)) and applies
   the block (dlarfb, O(n nb)). The factors depend on the reduction only, yet dormtr forms them
   anew on each of the six vectors an iteration applies Q or Q^T to (the solve and two refinement
   steps), which cost 0.15 ms of each 0.17 ms call at n = 257. Here they are formed once, and the
   blocks are applied with the same calls in the same order: the same bits as dormtr (tests/
   test_tridiagonalq.c), including dormql's choice of its unblocked path (dorm2l) for small n. */
#include <engd/private/tridiagonalq.h>

/* LAPACK's auxiliaries, Fortran calling convention with the strings' hidden lengths */
extern PetscBLASInt ilaenv_(const PetscBLASInt *ispec, const char *name, const char *opts, const PetscBLASInt *n1, const PetscBLASInt *n2, const PetscBLASInt *n3, const PetscBLASInt *n4, size_t name_len, size_t opts_len);
extern void dlarft_(const char *direct, const char *storev, const PetscBLASInt *n, const PetscBLASInt *k, const PetscReal *v, const PetscBLASInt *ldv, const PetscReal *tau, PetscReal *t, const PetscBLASInt *ldt, size_t, size_t);
extern void dlarfb_(const char *side, const char *trans, const char *direct, const char *storev, const PetscBLASInt *m, const PetscBLASInt *n, const PetscBLASInt *k, const PetscReal *v, const PetscBLASInt *ldv, const PetscReal *t, const PetscBLASInt *ldt, PetscReal *c, const PetscBLASInt *ldc, PetscReal *work, const PetscBLASInt *ldwork, size_t, size_t, size_t, size_t);
extern void dorm2l_(const char *side, const char *trans, const PetscBLASInt *m, const PetscBLASInt *n, const PetscBLASInt *k, const PetscReal *a, const PetscBLASInt *lda, const PetscReal *tau, PetscReal *c, const PetscBLASInt *ldc, PetscReal *work, PetscBLASInt *info, size_t, size_t);

/* dormql's block size for M = K = n - 1 reflectors and one column, and its rule for falling
   back to dorm2l (NBMAX 64, its factor's leading dimension 65). */
static PetscBLASInt DormqlBlockSize(PetscBLASInt n, PetscBLASInt lwork, const char *opts)
{
  const PetscBLASInt nbmax = 64, tsize = (nbmax + 1) * nbmax, k = n - 1, one = 1, minus_one = -1, spec_nb = 1, spec_nbmin = 2;
  PetscBLASInt       nb, nbmin = 2;

  nb = PetscMin(nbmax, ilaenv_(&spec_nb, "DORMQL", opts, &k, &one, &k, &minus_one, 6, 2));
  if (nb > 1 && nb < k && lwork < nb + tsize) { /* NW = 1: one column */
    nb    = lwork - tsize;
    nbmin = PetscMax(2, ilaenv_(&spec_nbmin, "DORMQL", opts, &k, &one, &k, &minus_one, 6, 2));
  }
  return (nb < nbmin || nb >= k) ? 0 : nb;
}

PetscErrorCode TridiagonalQCreate(PetscBLASInt n, PetscBLASInt lwork, TridiagonalQ *q)
{
  PetscFunctionBegin;
  PetscCall(PetscMemzero(q, sizeof(*q)));
  q->n = n;
  if (n > 1) {
    const PetscBLASInt nb_n = DormqlBlockSize(n, lwork, "LN"), nb_t = DormqlBlockSize(n, lwork, "LT");
    PetscCheck(nb_n == nb_t, PETSC_COMM_SELF, PETSC_ERR_LIB, "dormql's block sizes for Q and Q^T differ (%d, %d)", (int)nb_n, (int)nb_t);
    q->nb = nb_n;
  }
  if (q->nb > 0) {
    q->n_blocks = (n - 1 + q->nb - 1) / q->nb;
    PetscCall(PetscMalloc2((size_t)q->n_blocks * q->nb * q->nb, &q->t, q->nb, &q->work));
  } else PetscCall(PetscMalloc2(0, &q->t, PetscMax(n, 1), &q->work));
  PetscFunctionReturn(0);
}

/* Block b holds reflectors first .. first + ib - 1 (1-based, dormql's I = 1 + b nb) of the n - 1 in
   columns 2..n; it acts on rows 1 .. first + ib - 1. */
static void BlockRange(const TridiagonalQ *q, PetscBLASInt b, PetscBLASInt *first, PetscBLASInt *ib)
{
  *first  = 1 + b * q->nb;
  *ib = PetscMin(q->nb, q->n - 1 - *first + 1);
}

PetscErrorCode TridiagonalQFactor(TridiagonalQ *q, const PetscReal *a, const PetscReal *tau)
{
  PetscFunctionBegin;
  for (PetscBLASInt b = 0; b < q->n_blocks; b++) {
    PetscBLASInt first, ib, rows;
    BlockRange(q, b, &first, &ib);
    rows = first + ib - 1;
    dlarft_("B", "C", &rows, &ib, a + q->n + (size_t)(first - 1) * q->n, &q->n, tau + first - 1, q->t + (size_t)b * q->nb * q->nb, &q->nb, 1, 1);
  }
  PetscCall(PetscLogFlops((PetscLogDouble)q->n * q->n * q->nb));
  PetscFunctionReturn(0);
}

PetscErrorCode TridiagonalQApply(const TridiagonalQ *q, char trans, const PetscReal *a, const PetscReal *tau, PetscReal *v)
{
  const char         t[2] = {trans, '\0'};
  const PetscBLASInt m = q->n - 1, one = 1;

  PetscFunctionBegin;
  if (q->n <= 1) PetscFunctionReturn(0);
  if (q->nb == 0) {
    PetscBLASInt info;
    dorm2l_("L", t, &m, &one, &m, a + q->n, &q->n, tau, v, &q->n, q->work, &info, 1, 1);
    PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dorm2l failed: info %d", (int)info);
  } else
    for (PetscBLASInt s = 0; s < q->n_blocks; s++) { /* Q v: blocks in order; Q^T v: in reverse (dormql's I1, I2, I3) */
      const PetscBLASInt b = trans == 'N' ? s : q->n_blocks - 1 - s;
      PetscBLASInt       first, ib, rows;
      BlockRange(q, b, &first, &ib);
      rows = first + ib - 1;
      dlarfb_("L", t, "B", "C", &rows, &one, &ib, a + q->n + (size_t)(first - 1) * q->n, &q->n, q->t + (size_t)b * q->nb * q->nb, &q->nb, v, &q->n, q->work, &one, 1, 1, 1, 1);
    }
  PetscCall(PetscLogFlops(4.0 * q->n * q->n));
  PetscFunctionReturn(0);
}

PetscErrorCode TridiagonalQDestroy(TridiagonalQ *q)
{
  PetscFunctionBegin;
  PetscCall(PetscFree2(q->t, q->work));
  PetscCall(PetscMemzero(q, sizeof(*q)));
  PetscFunctionReturn(0);
}
