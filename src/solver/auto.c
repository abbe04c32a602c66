/* -engd_gram auto: the curvature solver chosen by a cost and memory model (curvature.h).

   Per rank, with N global rows, N_r = n_rows_max local rows, P parameters, R ranks:
     rows        8 N_r P bytes (every back-end but matrix-free CG stores them)
     replicated  32 P^2 bytes; flops N_r P^2 (the Gram) + 9 P^3 (the eigensolve, on every rank)
     scalapack   24 P^2 / R;   flops N_r P^2 + 9 P^3 / R
     kernel      24 N^2 / R + 8 N_r N (a panel of K); flops 2 N_r N P + 9 N^3 / R
     cg          rows, or O(P + block) matrix-free; flops 4 N_r P per Krylov iteration
   The budget B (-gram_memory_mb, default a quarter of the node's memory per rank) bounds what
   the solver itself stores; the rows must fit in the node's memory per rank. The rules:
     1. residual form allowed (a least-squares loss) and N < P: the kernel when its memory fits B
        and its flops are below the dense solver's;
     2. else the replicated Gram when it fits B (as before the kernel and CG existed) or the
        scalapack one when it fits B;
     3. else CG on the stored rows when they fit, and matrix-free CG when they do not.
   The reason is kept for the solver's view line. CurvatureRowsFit is the one rule for "the rows
   fit" (an explicit -engd_gram cg uses it too). */
#include <engd/private/curvatureimpl.h>

/* The stored rows (8 N_r P bytes per rank) fit when 32-bit indices reach them and they take at
   most half the node's memory per rank (the rest is for the solver, the tapes and the system). */
PetscBool CurvatureRowsFit(PetscInt n_params, PetscInt n_rows_max, PetscReal node_mb)
{
  const PetscReal bytes = 8.0 * (PetscReal)n_params * (PetscReal)n_rows_max;
  return (PetscInt64)n_params * n_rows_max <= PETSC_MAX_INT && (node_mb <= 0 || bytes <= 0.5 * node_mb * 1048576.0) ? PETSC_TRUE : PETSC_FALSE;
}

static PetscReal DenseFlops(const CurvatureAutoInput *in, PetscBool distributed)
{
  const PetscReal P = (PetscReal)in->n_params;
  return (PetscReal)in->n_rows_max * P * P + 9.0 * P * P * P / (distributed ? (PetscReal)in->ranks : 1.0);
}

static PetscReal KernelFlops(const CurvatureAutoInput *in)
{
  const PetscReal N = (PetscReal)in->n_rows;
  return 2.0 * (PetscReal)in->n_rows_max * N * (PetscReal)in->n_params + 9.0 * N * N * N / (PetscReal)in->ranks;
}

PetscErrorCode CurvatureSolverChooseAuto(const CurvatureAutoInput *in, CurvatureAutoChoice *out)
{
  const PetscReal MB = 1048576.0, P = (PetscReal)in->n_params, N = (PetscReal)in->n_rows, R = (PetscReal)in->ranks;
  const PetscReal budget = in->budget_mb * MB, rows = 8.0 * (PetscReal)in->n_rows_max * P;
  const PetscReal replicated = 32.0 * P * P, scalapack = 24.0 * P * P / R, kernel = 24.0 * N * N / R + 8.0 * (PetscReal)in->n_rows_max * N;
  const PetscBool rows_fit  = rows + PetscMin(replicated, scalapack) <= in->node_mb * MB ? PETSC_TRUE : PETSC_FALSE;
  const PetscReal dense_flops = DenseFlops(in, replicated <= budget ? PETSC_FALSE : PETSC_TRUE);

  PetscFunctionBegin;
  PetscCall(PetscMemzero(out, sizeof(*out)));
  if (in->residual_form && N < P && kernel <= budget && rows + kernel <= in->node_mb * MB && KernelFlops(in) < dense_flops) {
    PetscCall(PetscStrncpy(out->type, CURVATURESOLVERKERNEL, sizeof(out->type)));
    PetscCall(PetscSNPrintf(out->why, sizeof(out->why), "N = %.0f rows < P = %.0f: the kernel's %.3g Gflop and %.0f MB beat the dense Gram's %.3g Gflop", (double)N, (double)P, (double)(KernelFlops(in) / 1e9), (double)(kernel / MB), (double)(dense_flops / 1e9)));
  } else if (rows_fit && (replicated <= budget || (in->ranks == 1 && replicated + rows <= in->node_mb * MB))) {
    PetscCall(PetscStrncpy(out->type, CURVATURESOLVERREPLICATED, sizeof(out->type)));
    PetscCall(PetscSNPrintf(out->why, sizeof(out->why), "the replicated Gram's %.0f MB per rank fit the budget of %.0f MB", (double)(replicated / MB), (double)in->budget_mb));
  } else if (rows_fit && scalapack <= budget) {
    PetscCall(PetscStrncpy(out->type, CURVATURESOLVERSCALAPACK, sizeof(out->type)));
    PetscCall(PetscSNPrintf(out->why, sizeof(out->why), "a replicated Gram (%.0f MB per rank) exceeds the budget of %.0f MB; distributed it needs %.0f MB", (double)(replicated / MB), (double)in->budget_mb, (double)(scalapack / MB)));
  } else {
    PetscCall(PetscStrncpy(out->type, CURVATURESOLVERCG, sizeof(out->type)));
    out->matrix_free = CurvatureRowsFit(in->n_params, in->n_rows_max, in->node_mb) ? PETSC_FALSE : PETSC_TRUE;
    PetscCall(PetscSNPrintf(out->why, sizeof(out->why), "no dense Gram fits the budget of %.0f MB per rank (scalapack: %.0f MB)%s; %s", (double)in->budget_mb, (double)(scalapack / MB), in->residual_form ? (N < P ? ", nor the kernel" : "") : ", and the loss has no residual form for the kernel",
                            out->matrix_free ? "the rows do not fit either: matrix-free CG" : "CG on the stored rows"));
  }
  PetscFunctionReturn(0);
}
