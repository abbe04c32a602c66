/* -engd_gram auto's choice (src/solver/auto.c) for a table of sizes, ranks and memory: the
   papers' networks from P = 257 to 1.3 million, least-squares losses (kernel allowed) and
   losses without a residual form (deep Ritz, Hilbert NGD), 1 and 2 ranks, budgets that fit or
   not. Each row states the solver the cost and memory model must pick and why; the reason
   string must be non-empty. */
/* ranks: 1 */
#include "testing.h"
#include <engd/private/curvatureimpl.h>

typedef struct {
  const char *label;
  PetscInt    P, N;
  PetscMPIInt ranks;
  PetscReal   budget_mb, node_mb;
  PetscBool   residual_form;
  const char *type;
  PetscBool   matrix_free;
} AutoCase;

int main(int argc, char **argv)
{
  /* the machine's figures: 24 GiB and 2 ranks give 12 GiB per rank, a quarter of it the budget */
  const AutoCase cases[] = {
    {"default job (P = 257, N = 1020), 2 ranks", 257, 1020, 2, 3072, 12288, PETSC_TRUE, CURVATURESOLVERREPLICATED, PETSC_FALSE},
    {"default job on 1 rank", 257, 1020, 1, 6144, 24576, PETSC_TRUE, CURVATURESOLVERREPLICATED, PETSC_FALSE},
    {"P = 449 against N = 3500 (heat (4+1)-D)", 449, 3500, 2, 3072, 12288, PETSC_TRUE, CURVATURESOLVERREPLICATED, PETSC_FALSE},
    {"5-D medium: P = 10,065 > N = 3500", 10065, 3500, 2, 3072, 12288, PETSC_TRUE, CURVATURESOLVERKERNEL, PETSC_FALSE},
    {"5-D medium, no residual form: replicated G (3.1 GB) over budget", 10065, 3500, 2, 3072, 12288, PETSC_FALSE, CURVATURESOLVERSCALAPACK, PETSC_FALSE},
    {"5-D medium, no residual form, large budget", 10065, 3500, 2, 4096, 12288, PETSC_FALSE, CURVATURESOLVERREPLICATED, PETSC_FALSE},
    {"2-D large: P = 116,097, N = 1020", 116097, 1020, 2, 3072, 12288, PETSC_TRUE, CURVATURESOLVERKERNEL, PETSC_FALSE},
    {"2-D large, no residual form: CG on the rows", 116097, 1020, 2, 3072, 12288, PETSC_FALSE, CURVATURESOLVERCG, PETSC_FALSE},
    {"100-D: P = 1,325,057, N = 1000", 1325057, 1000, 2, 3072, 12288, PETSC_TRUE, CURVATURESOLVERKERNEL, PETSC_FALSE},
    {"100-D, N = 100,000: neither kernel nor rows fit", 1325057, 100000, 2, 3072, 12288, PETSC_TRUE, CURVATURESOLVERCG, PETSC_TRUE},
    {"1 rank, P = 30,000 > memory, N = 50,000 > P", 30000, 50000, 1, 6144, 24576, PETSC_TRUE, CURVATURESOLVERCG, PETSC_FALSE},
    {"64 ranks, P = 116,097, N = 1,000,000: CG", 116097, 1000000, 64, 1024, 4096, PETSC_TRUE, CURVATURESOLVERCG, PETSC_TRUE},
  };

  PetscFunctionBeginUser;
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    const AutoCase     *t  = &cases[c];
    CurvatureAutoInput  in = {t->P, t->N, (t->N + t->ranks - 1) / t->ranks, t->ranks, t->budget_mb, t->node_mb, t->residual_form};
    CurvatureAutoChoice out;
    PetscBool           same;
    PetscCall(CurvatureSolverChooseAuto(&in, &out));
    PetscCall(PetscStrcmp(out.type, t->type, &same));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%-66s -> %s%s: %s\n", t->label, out.type, out.matrix_free ? " (matrix-free)" : "", out.why));
    CHECK(same, "%s: chose %s, want %s", t->label, out.type, t->type);
    CHECK(out.matrix_free == t->matrix_free, "%s: matrix_free %d, want %d", t->label, (int)out.matrix_free, (int)t->matrix_free);
    CHECK(out.why[0], "%s: no reason given", t->label);
  }
  /* the one "rows fit" rule (auto's and an explicit -engd_gram cg's): half the node's memory
     per rank, and 32-bit indices */
  CHECK(CurvatureRowsFit(1325057, 75, 12288.0), "1.3 M parameters x 75 rows (758 MB) should fit 12 GB per rank");
  CHECK(!CurvatureRowsFit(1325057, 750, 12288.0), "1.3 M parameters x 750 rows (7.6 GB) should not fit half of 12 GB");
  CHECK(!CurvatureRowsFit(1325057, 2000, 1e9), "2.6e9 entries should not fit 32-bit indices whatever the memory");
  return TestFinish();
}
