/* The Objective's Jacobian rows as a curvature operator (objective.h), and the gradient
   J~^T r~ they give. */
#include <engd/private/objectiveimpl.h>
#include <petscblaslapack.h>

PetscErrorCode ObjectiveRowsCreate(Objective o, CurvatureOperator *op)
{
  const PetscInt P = o->n_params;

  PetscFunctionBegin;
  PetscCheck(o->setup_called, o->comm, PETSC_ERR_ORDER, "Call ObjectiveSetUp() before ObjectiveRowsCreate()");
  PetscCheck((PetscInt64)P * o->n_rows_max <= PETSC_MAX_INT, o->comm, PETSC_ERR_ARG_OUTOFRANGE, "The Jacobian of %" PetscInt_FMT " rows (points x channels) per rank by %" PetscInt_FMT " parameters has %" PetscInt64_FMT " entries, more than a 32-bit PetscInt indexes (%" PetscInt_FMT "); it would need %.0f MB per rank: use more ranks, fewer points or fewer parameters", o->n_rows_max, P, (PetscInt64)P * o->n_rows_max, (PetscInt)PETSC_MAX_INT, 8.0 * (double)P * (double)o->n_rows_max / 1048576.0);
  PetscCall(PetscMemzero(op, sizeof(*op)));
  op->type       = CURVATURE_ROWS;
  op->n_params   = P;
  op->n_chunks   = o->training.n_chunks_local;
  op->chunk_row  = o->training.chunk_row;
  op->n_rows_max = o->n_rows_max;
  PetscCall(PetscCalloc2((size_t)P * o->n_rows_max, &op->jac_t, o->n_rows_max, &op->res));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveRowsDestroy(CurvatureOperator *op)
{
  PetscFunctionBegin;
  if (op->jac_t) PetscCall(PetscFree2(op->jac_t, op->res));
  PetscCall(PetscMemzero(op, sizeof(*op)));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveRowsCompute(Objective o, const PetscReal *theta, CurvatureOperator *op, PetscReal *loss)
{
  PetscFunctionBegin;
  PetscCall(ObjectiveResidualRows(o, theta, op->res, op->jac_t, loss));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveRowsGradient(Objective o, const CurvatureOperator *op, const PetscReal *theta, PetscReal *grad)
{
  const PetscInt  P   = o->n_params;
  DDReal         *sum = o->dd_rows_gradient;
  PetscBLASInt    n, k, one_i = 1;
  const PetscReal one = 1.0, zero = 0.0;

  PetscFunctionBegin;
  if (o->has_energy) { /* deep Ritz: grad L = sum_q c_q De_q . J_q */
    PetscReal loss;
    PetscCall(ObjectiveGradient(o, theta, grad, &loss));
    PetscFunctionReturn(0);
  }
  /* grad L = sum over chunks of J~_c^T r~_c, in double-double (see ddsum.h) */
  PetscCall(PetscLogEventBegin(OBJECTIVE_Gradient, 0, 0, 0, 0));
  PetscCall(PetscBLASIntCast(P, &n));
  DDZero(P, sum);
  for (PetscInt c = 0; c < op->n_chunks; c++) {
    PetscCall(PetscBLASIntCast(op->chunk_row[c + 1] - op->chunk_row[c], &k));
    if (k == 0) continue;
    PetscCallBLAS("BLASgemv", BLASgemv_("N", &n, &k, &one, op->jac_t + op->chunk_row[c] * P, &n, op->res + op->chunk_row[c], &one_i, &zero, grad, &one_i));
    DDAddArray(P, grad, sum);
  }
  PetscCall(DDAllreduce(o->comm, P, sum));
  DDRoundArray(P, sum, grad);
  PetscCall(PetscLogEventEnd(OBJECTIVE_Gradient, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}
