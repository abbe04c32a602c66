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
  PetscCall(PetscMalloc4(S * n, &p->dout, S * n, &p->cot_dot, S * n, &p->d2r, S * n, &p->lin_cot));
  PetscCall(PetscCalloc1(o->n_params, &p->unit));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveDestroyHessian(Objective o)
{
  Pass *p = &o->hessian;

  PetscFunctionBegin;
  PetscCall(PetscFree2(o->dd_hessian, o->chunk_hessian));
  if (!p->o) PetscFunctionReturn(0);
  PetscCall(ObjectiveBlockWorkDestroy(&p->work));
  PetscCall(PetscFree4(p->dout, p->cot_dot, p->d2r, p->lin_cot));
  PetscCall(PetscFree(p->unit));
  p->o = NULL;
  PetscFunctionReturn(0);
}

static PetscErrorCode HessianBeginChunk(void *ctx, PetscInt chunk)
{
  Pass *p = (Pass *)ctx;

  PetscFunctionBegin;
  PetscCall(PetscArrayzero(p->chunk_hv, p->o->n_params * p->n_dirs));
  PetscFunctionReturn(0);
}

/* One forward pass of the block, then a tangent and a reverse pass per direction. */
static PetscErrorCode HessianBlock(void *ctx, const ObjectiveBlock *blk)
{
  Pass               *p = (Pass *)ctx;
  Objective           o = p->o;
  ObjectiveBlockWork *w = &p->work;
  const PetscInt      S = ModelNumChannels(o->dim, blk->info->order), nb = blk->n, P = o->n_params;
  const PetscBool     energy = blk->info->kind == PROBLEM_TERM_ENERGY ? PETSC_TRUE : PETSC_FALSE;

  PetscFunctionBegin;
  PetscCall(ObjectiveBlockEvaluate(o, blk, p->theta, PETSC_TRUE, PETSC_TRUE, w));
  if (!energy) {
    PetscCall(ProblemResidualCurvature(o->problem, blk->term, nb, blk->x, blk->data, w->out, p->d2r));
    PetscCall(PetscArraycpy(p->lin_cot, w->cot, S * nb));
  }
  if (!p->gauss_newton) PetscCall(ObjectiveBlockLossCotangents(o, blk, w));
  for (PetscInt j = 0; j < p->n_dirs; j++) {
    const PetscReal *v  = p->v ? p->v + j * P : p->unit;
    PetscReal       *hv = p->chunk_hv + j * P;
    if (!p->v) p->unit[j] = 1.0;
    if (p->gauss_newton) PetscCall(ModelTangent(o->model, w->tape, p->theta, v, p->dout));
    else PetscCall(ModelHessianTangent(o->model, w->tape, p->theta, v, p->dout));
    if (energy) {
      for (PetscInt k = 0; k < S * nb; k++) p->cot_dot[k] = w->res[k % nb] * w->d2energy[k] * p->dout[k];
    } else {
      for (PetscInt q = 0; q < nb; q++) {
        PetscReal jv = 0.0;
        for (PetscInt s = 0; s < S; s++) jv += p->lin_cot[s * nb + q] * p->dout[s * nb + q];
        for (PetscInt s = 0; s < S; s++) {
          p->cot_dot[s * nb + q] = jv * p->lin_cot[s * nb + q];
          if (!p->gauss_newton) p->cot_dot[s * nb + q] += w->res[q] * blk->scale * p->d2r[s * nb + q] * p->dout[s * nb + q];
        }
      }
    }
    if (p->gauss_newton) PetscCall(ModelReverse(o->model, w->tape, p->theta, p->cot_dot, ModelLayerVisitGradient, hv));
    else PetscCall(ModelHessianReverse(o->model, w->tape, p->theta, v, w->cot, p->cot_dot, hv));
    if (!p->v) p->unit[j] = 0.0;
    PetscCall(PetscLogFlops(4.0 * S * nb));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode HessianEndChunk(void *ctx, PetscInt chunk)
{
  Pass *p = (Pass *)ctx;

  PetscFunctionBegin;
  DDAddArray(p->o->n_params * p->n_dirs, p->chunk_hv, p->acc);
  PetscFunctionReturn(0);
}

/* hv (P x n_dirs) = H times the directions v (NULL: the n_dirs = P unit vectors). */
static PetscErrorCode HessianProducts(Objective o, const PetscReal *theta, const PetscReal *v, PetscInt n_dirs, PetscBool gauss_newton, DDReal *acc, PetscReal *chunk_hv, PetscReal *hv)
{
  const PetscInt         n = o->n_params * n_dirs;
  Pass                  *p = &o->hessian;
  const ObjectiveVisitor visitor = {p, HessianBeginChunk, HessianBlock, NULL, HessianEndChunk};

  PetscFunctionBegin;
  PetscCheck(o->setup_called, o->comm, PETSC_ERR_ORDER, "Call ObjectiveSetUp() before the Hessian's products");
  PetscCall(HessianSetUp(o));
  PetscCall(PetscLogEventBegin(OBJECTIVE_Hessian, 0, 0, 0, 0));
  p->theta        = theta;
  p->v            = v;
  p->n_dirs       = n_dirs;
  p->gauss_newton = gauss_newton;
  p->acc          = acc;
  p->chunk_hv     = chunk_hv;
  DDZero(n, acc);
  PetscCall(ObjectiveVisit(o, OBJECTIVE_TRAINING, OBJECTIVE_ALL_TERMS, &visitor));
  PetscCall(DDAllreduce(o->comm, n, acc));
  DDRoundArray(n, acc, hv);
  PetscCall(PetscLogEventEnd(OBJECTIVE_Hessian, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveHessianVector(Objective o, const PetscReal *theta, const PetscReal *v, PetscBool gauss_newton, PetscReal *hv)
{
  PetscFunctionBegin;
  if (!o->dd_hessian) PetscCall(PetscMalloc2(o->n_params, &o->dd_hessian, o->n_params, &o->chunk_hessian));
  PetscCall(HessianProducts(o, theta, v, 1, gauss_newton, o->dd_hessian, o->chunk_hessian, hv));
  PetscFunctionReturn(0);
}

/* All P unit directions in one pass over the points (one forward pass per block); column j has
   the bits of ObjectiveHessianVector(e_j): the same sums in the same order. */
PetscErrorCode ObjectiveHessianAssemble(Objective o, const PetscReal *theta, PetscBool gauss_newton, PetscReal *H)
{
  const PetscInt P = o->n_params;
  DDReal        *acc;
  PetscReal     *chunk_hv;

  PetscFunctionBegin;
  PetscCall(PetscMalloc2(P * P, &acc, P * P, &chunk_hv));
  PetscCall(HessianProducts(o, theta, NULL, P, gauss_newton, acc, chunk_hv, H));
  PetscCall(PetscFree2(acc, chunk_hv));
  for (PetscInt j = 0; j < P; j++)
    for (PetscInt i = 0; i < j; i++) H[i + j * P] = H[j + i * P] = 0.5 * (H[i + j * P] + H[j + i * P]);
  PetscFunctionReturn(0);
}
