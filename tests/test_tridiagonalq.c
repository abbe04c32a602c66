/* Q of dsytrd's G = Q T Q^T with the triangular factors kept (src/solver/tridiagonalq.c): Q v
   and Q^T v must be the same bits as LAPACK's dormtr on the same reduction, for orders on both
   sides of dormql's switch to its unblocked path (n - 1 <= 32 reflectors: dorm2l) and over
   several blocks with a shorter last one, and with a workspace too small for dormql's blocks. */
/* ranks: 1 */
#include "testing.h"
#include <engd/rng.h>
#include <engd/private/lapack.h>
#include <engd/private/tridiagonalq.h>

static PetscErrorCode CheckOrder(PetscBLASInt n, PetscBLASInt lwork)
{
  PetscReal   *a, *tau, *d, *e, *work, *v_lapack, *v_kept;
  PetscBLASInt info, one = 1;
  TridiagonalQ q;

  PetscFunctionBegin;
  PetscCall(PetscMalloc7(n * n, &a, n, &tau, n, &d, n, &e, PetscMax(lwork, 64 * n), &work, n, &v_lapack, n, &v_kept));
  for (PetscBLASInt j = 0; j < n; j++) /* a symmetric matrix with a spread of scales */
    for (PetscBLASInt i = 0; i <= j; i++) a[i + j * n] = a[j + i * n] = (RngUniform(7, (uint64_t)n, (uint64_t)(i + j * n)) - 0.5) * PetscPowReal(10.0, -8.0 * i / n);
  {
    const PetscBLASInt lw = 64 * n;
    dsytrd_("U", &n, a, &n, d, e, tau, work, &lw, &info);
    PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dsytrd failed: info %d", (int)info);
  }
  PetscCall(TridiagonalQCreate(n, lwork, &q));
  PetscCall(TridiagonalQFactor(&q, a, tau));
  for (int t = 0; t < 2; t++) {
    const char trans[2] = {t ? 'T' : 'N', '\0'};
    for (PetscBLASInt i = 0; i < n; i++) v_lapack[i] = v_kept[i] = RngUniform(11, (uint64_t)n, (uint64_t)i) - 0.5;
    dormtr_("L", "U", trans, &n, &one, a, &n, tau, v_lapack, &n, work, &lwork, &info);
    PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dormtr failed: info %d", (int)info);
    PetscCall(TridiagonalQApply(&q, trans[0], a, tau, v_kept));
    PetscCall(TridiagonalQApply(&q, trans[0], a, tau, v_kept + 0)); /* twice: the factors are not used up */
    PetscCall(TridiagonalQApply(&q, trans[0] == 'N' ? 'T' : 'N', a, tau, v_kept)); /* Q^T Q = I, to rounding */
    CHECK(TestRelDist(n, v_kept, v_lapack) < 1e-13, "n %d: Q then its transpose does not give back Q v (%.1e)", (int)n, (double)TestRelDist(n, v_kept, v_lapack));
    for (PetscBLASInt i = 0; i < n; i++) v_kept[i] = RngUniform(11, (uint64_t)n, (uint64_t)i) - 0.5;
    PetscCall(TridiagonalQApply(&q, trans[0], a, tau, v_kept));
    CHECK(!memcmp(v_kept, v_lapack, sizeof(PetscReal) * n), "n %d, lwork %d, %s: not the bits of dormtr (blocks of %d; %.1e apart)", (int)n, (int)lwork, trans, (int)q.nb, (double)TestRelDist(n, v_kept, v_lapack));
  }
  PetscCall(TridiagonalQDestroy(&q));
  PetscCall(PetscFree7(a, tau, d, e, work, v_lapack, v_kept));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  const PetscBLASInt orders[] = {1, 2, 3, 32, 33, 34, 65, 66, 100, 257, 449};

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  TestSetWatchdog(60);
  for (size_t k = 0; k < sizeof(orders) / sizeof(orders[0]); k++) PetscCall(CheckOrder(orders[k], 64 * orders[k] + 4160));
  PetscCall(CheckOrder(257, 4160 + 10)); /* dormql shrinks its blocks to the workspace: 10 */
  PetscCall(CheckOrder(257, 4160 + 1));  /* below its minimum block: unblocked */
  return TestFinish();
}
