/* The exact Hessian of the loss as a pass of the block loop (objective.h): H v by forward-over-
   reverse (model.h, ModelHessianTangent/ModelHessianReverse), summed chunk by chunk in
   double-double like the gradient, so that H v does not depend on the rank count.

   Least-squares terms, l = 1/2 r~^2 per point with r~ = scale r(out):
     cot = r~ dr~/dout,   cot_dot = (dr~/dout . J v) dr~/dout + r~ scale diag(d^2r/dout^2) J v,
   which gives H v = J~^T J~ v + sum_i r~_i (d^2 r~_i) v. Energy terms, l = c_q e(out):
     cot = c_q De,   cot_dot = c_q D^2e J v.
   The Gauss-Newton part alone (gauss_newton) is the plain reverse pass of the cot_dot terms
   that do not carry r~: J~^T J~ v, and for energies sum_q c_q J_q^T D^2e_q J_q v (ENGD's G v). */
#include <engd/private/objectiveimpl.h>

static PetscErrorCode HessianSetUp(Objective o)
{
  Pass          *p = &o->hessian;
  const PetscInt S = ModelNumChannels(o->dim, 2), n = o->block_size;

  PetscFunctionBegin;
  if (p->o) PetscFunctionReturn(0);
  PetscCall(PetscMemzero(p, sizeof(*p)));
  p->o = o;
  PetscCall(ObjectiveBlockWorkCreate(o, &p->work));
  PetscCall(PetscMalloc4(o->n_params, &p->chunk_grad, S * n, &p->dout, S * n, &p->cot_dot, S * n, &p->d2r));
  PetscCall(PetscMalloc1(o->n_params, &o->dd_hessian));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveDestroyHessian(Objective o)
{
  Pass *p = &o->hessian;

  PetscFunctionBegin;
  if (!p->o) PetscFunctionReturn(0);
  PetscCall(ObjectiveBlockWorkDestroy(&p->work));
  PetscCall(PetscFree4(p->chunk_grad, p->dout, p->cot_dot, p->d2r));
  PetscCall(PetscFree(o->dd_hessian));
  p->o = NULL;
  PetscFunctionReturn(0);
}

static PetscErrorCode HessianBeginChunk(void *ctx, PetscInt chunk)
{
  Pass *p = (Pass *)ctx;

  PetscFunctionBegin;
  PetscCall(PetscArrayzero(p->chunk_grad, p->o->n_params));
  PetscFunctionReturn(0);
}

static PetscErrorCode HessianBlock(void *ctx, const ObjectiveBlock *blk)
{
  Pass              *p = (Pass *)ctx;
  Objective          o = p->o;
  ObjectiveBlockWork *w = &p->work;
  const PetscInt     S = ModelNumChannels(o->dim, blk->info->order), nb = blk->n;

  PetscFunctionBegin;
  PetscCall(ObjectiveBlockEvaluate(o, blk, p->theta, PETSC_TRUE, PETSC_TRUE, w));
  if (p->gauss_newton) PetscCall(ModelTangent(o->model, w->tape, p->theta, p->v, p->dout));
  else PetscCall(ModelHessianTangent(o->model, w->tape, p->theta, p->v, p->dout));
  if (blk->info->kind == PROBLEM_TERM_ENERGY) {
    for (PetscInt k = 0; k < S * nb; k++) p->cot_dot[k] = w->res[k % nb] * w->d2energy[k] * p->dout[k];
  } else {
    PetscCall(ProblemResidualCurvature(o->problem, blk->term, nb, blk->x, blk->data, w->out, p->d2r));
    for (PetscInt q = 0; q < nb; q++) {
      PetscReal jv = 0.0;
      for (PetscInt s = 0; s < S; s++) jv += w->cot[s * nb + q] * p->dout[s * nb + q];
      for (PetscInt s = 0; s < S; s++) {
        p->cot_dot[s * nb + q] = jv * w->cot[s * nb + q];
        if (!p->gauss_newton) p->cot_dot[s * nb + q] += w->res[q] * blk->scale * p->d2r[s * nb + q] * p->dout[s * nb + q];
      }
    }
  }
  if (p->gauss_newton) PetscCall(ModelReverse(o->model, w->tape, p->theta, p->cot_dot, ModelLayerVisitGradient, p->chunk_grad));
  else {
    PetscCall(ObjectiveBlockLossCotangents(o, blk, w));
    PetscCall(ModelHessianReverse(o->model, w->tape, p->theta, p->v, w->cot, p->cot_dot, p->chunk_grad));
  }
  PetscCall(PetscLogFlops(4.0 * S * nb));
  PetscFunctionReturn(0);
}

static PetscErrorCode HessianEndChunk(void *ctx, PetscInt chunk)
{
  Pass *p = (Pass *)ctx;

  PetscFunctionBegin;
  DDAddArray(p->o->n_params, p->chunk_grad, p->acc);
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveHessianVector(Objective o, const PetscReal *theta, const PetscReal *v, PetscBool gauss_newton, PetscReal *hv)
{
  const PetscInt         P = o->n_params;
  Pass                  *p = &o->hessian;
  const ObjectiveVisitor visitor = {p, HessianBeginChunk, HessianBlock, NULL, HessianEndChunk};

  PetscFunctionBegin;
  PetscCheck(o->setup_called, o->comm, PETSC_ERR_ORDER, "Call ObjectiveSetUp() before ObjectiveHessianVector()");
  PetscCall(HessianSetUp(o));
  PetscCall(PetscLogEventBegin(OBJECTIVE_Hessian, 0, 0, 0, 0));
  p->theta        = theta;
  p->v            = v;
  p->gauss_newton = gauss_newton;
  p->acc          = o->dd_hessian;
  DDZero(P, p->acc);
  PetscCall(ObjectiveVisit(o, OBJECTIVE_TRAINING, OBJECTIVE_ALL_TERMS, &visitor));
  PetscCall(DDAllreduce(o->comm, P, p->acc));
  DDRoundArray(P, p->acc, hv);
  PetscCall(PetscLogEventEnd(OBJECTIVE_Hessian, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveHessianAssemble(Objective o, const PetscReal *theta, PetscBool gauss_newton, PetscReal *H)
{
  const PetscInt P = o->n_params;
  PetscReal     *e;

  PetscFunctionBegin;
  PetscCall(PetscCalloc1(P, &e));
  for (PetscInt j = 0; j < P; j++) {
    e[j] = 1.0;
    PetscCall(ObjectiveHessianVector(o, theta, e, gauss_newton, H + j * P));
    e[j] = 0.0;
  }
  PetscCall(PetscFree(e));
  for (PetscInt j = 0; j < P; j++)
    for (PetscInt i = 0; i < j; i++) H[i + j * P] = H[j + i * P] = 0.5 * (H[i + j * P] + H[j + i * P]);
  PetscFunctionReturn(0);
}
