/* The passes of the Objective over its training points, each a visitor of the block loop with
   its own workspace: the loss (also for every line-search candidate), the residuals and
   Jacobian rows, and the gradient. Partial sums go chunk by chunk into double-double. */
#include <engd/private/objectiveimpl.h>

/* Loss: the blocks' shares summed per term piece, the pieces per chunk (this grouping is part
   of the result's bits). */
static PetscErrorCode LossBlock(void *ctx, const ObjectiveBlock *blk)
{
  Pass *p = (Pass *)ctx;

  PetscFunctionBegin;
  PetscCall(ObjectiveBlockEvaluate(p->o, blk, p->theta, PETSC_FALSE, PETSC_FALSE, &p->work));
  p->piece += p->work.part;
  PetscFunctionReturn(0);
}

static PetscErrorCode LossEndPiece(void *ctx, PetscInt chunk, PetscInt term)
{
  Pass *p = (Pass *)ctx;

  PetscFunctionBegin;
  p->chunk += p->piece;
  p->piece = 0.0;
  PetscFunctionReturn(0);
}

/* Every pass that sums a loss: the chunk's share into the double-double accumulator. */
static PetscErrorCode LossEndChunk(void *ctx, PetscInt chunk)
{
  Pass *p = (Pass *)ctx;

  PetscFunctionBegin;
  DDAdd(p->acc, p->chunk);
  p->chunk = 0.0;
  PetscFunctionReturn(0);
}

/* acc += this rank's loss at theta, block by block with `block` (LossBlock or CandidateBlock). */
static PetscErrorCode AccumulateLoss(Pass *p, const PetscReal *theta, PetscErrorCode (*block)(void *, const ObjectiveBlock *), DDReal *acc)
{
  const ObjectiveVisitor v = {p, NULL, block, LossEndPiece, LossEndChunk};

  PetscFunctionBegin;
  p->theta = theta;
  p->acc   = acc;
  p->piece = p->chunk = 0.0;
  PetscCall(ObjectiveVisit(p->o, OBJECTIVE_TRAINING, OBJECTIVE_ALL_TERMS, &v));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveLoss(Objective o, const PetscReal *theta, PetscReal *loss)
{
  DDReal acc = {0.0, 0.0};

  PetscFunctionBegin;
  PetscCall(AccumulateLoss(&o->loss, theta, LossBlock, &acc));
  PetscCall(DDAllreduce(o->comm, 1, &acc));
  *loss = DDRound(acc);
  PetscFunctionReturn(0);
}

/* Candidates: the first layer is affine in the parameters (ModelFirstLayer), so its
   pre-activations at theta and of dir are formed once per call for all its candidates ... */
static PetscErrorCode FirstLayerBlock(void *ctx, const ObjectiveBlock *blk)
{
  Pass          *p   = (Pass *)ctx;
  const PetscInt off = (p->o->first_offset[blk->term] + blk->point) * p->o->model_width1;

  PetscFunctionBegin;
  PetscCall(ModelFirstLayer(p->o->model, p->theta, blk->n, blk->x, p->o->first_a + off));
  PetscCall(ModelFirstLayer(p->o->model, p->dir, blk->n, blk->x, p->o->first_b + off));
  PetscFunctionReturn(0);
}

/* ... and each candidate's pass starts from a - eta b. */
static PetscErrorCode CandidateBlock(void *ctx, const ObjectiveBlock *blk)
{
  Pass          *p   = (Pass *)ctx;
  const PetscInt off = (p->o->first_offset[blk->term] + blk->point) * p->o->model_width1;

  PetscFunctionBegin;
  p->work.first_a   = p->o->first_a + off;
  p->work.first_b   = p->o->first_b + off;
  p->work.first_eta = p->eta;
  PetscCall(LossBlock(ctx, blk));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveLossCandidates(Objective o, const PetscReal *theta, const PetscReal *dir, PetscInt K, const PetscReal *eta, PetscReal *loss)
{
  Pass                  *p = &o->candidates;
  const ObjectiveVisitor first = {p, NULL, FirstLayerBlock, NULL, NULL};

  PetscFunctionBegin;
  if (K > o->n_dd) { /* more candidates than ever before: grow once */
    PetscCall(PetscFree(o->dd_candidates));
    PetscCall(PetscMalloc1(K, &o->dd_candidates));
    o->n_dd = K;
  }
  DDZero(K, o->dd_candidates);
  p->theta = theta;
  p->dir   = dir;
  PetscCall(ObjectiveVisit(o, OBJECTIVE_TRAINING, OBJECTIVE_ALL_TERMS, &first));
  for (PetscInt k = 0; k < K; k++) {
    for (PetscInt i = 0; i < o->n_params; i++) o->theta_trial[i] = theta[i] - eta[k] * dir[i];
    p->eta = eta[k];
    PetscCall(AccumulateLoss(p, o->theta_trial, CandidateBlock, &o->dd_candidates[k]));
  }
  PetscCall(PetscLogFlops(2.0 * K * o->n_params));
  PetscCall(DDAllreduce(o->comm, K, o->dd_candidates));
  DDRoundArray(K, o->dd_candidates, loss);
  PetscFunctionReturn(0);
}

/* Rows: every row group of the block through one reverse pass into its place in jac_t. */
static PetscErrorCode RowsBlock(void *ctx, const ObjectiveBlock *blk)
{
  Pass          *p = (Pass *)ctx;
  const PetscInt P = p->o->n_params;

  PetscFunctionBegin;
  PetscCall(ObjectiveBlockEvaluate(p->o, blk, p->theta, PETSC_TRUE, PETSC_TRUE, &p->work));
  for (PetscInt g = 0; g < blk->rows_per_point; g++) {
    const PetscInt   row  = blk->row + g * blk->n;
    ModelRowsContext rows = {p->jac_t + row * P, P};
    PetscCall(ObjectiveBlockRowGroup(p->o, blk, &p->work, g, p->res + row));
    PetscCall(ModelReverse(p->o->model, p->work.tape, p->theta, p->work.cot, ModelLayerVisitRows, &rows));
  }
  p->chunk += p->work.part;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveResidualRows(Objective o, const PetscReal *theta, PetscReal *res, PetscReal *jac_t, PetscReal *loss)
{
  Pass                  *p   = &o->rows;
  DDReal                 acc = {0.0, 0.0};
  const ObjectiveVisitor v   = {p, NULL, RowsBlock, NULL, LossEndChunk};

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(OBJECTIVE_Rows, 0, 0, 0, 0));
  p->theta = theta;
  p->res   = res;
  p->jac_t = jac_t;
  p->acc   = &acc;
  p->chunk = 0.0;
  PetscCall(ObjectiveVisit(o, OBJECTIVE_TRAINING, OBJECTIVE_ALL_TERMS, &v));
  PetscCall(DDAllreduce(o->comm, 1, &acc));
  *loss = DDRound(acc);
  PetscCall(PetscLogEventEnd(OBJECTIVE_Rows, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

/* Gradient: the blocks' reverse passes summed into the chunk's gradient. */
static PetscErrorCode GradientBeginChunk(void *ctx, PetscInt chunk)
{
  Pass *p = (Pass *)ctx;

  PetscFunctionBegin;
  PetscCall(PetscArrayzero(p->chunk_grad, p->o->n_params));
  p->chunk = 0.0;
  PetscFunctionReturn(0);
}

static PetscErrorCode GradientBlock(void *ctx, const ObjectiveBlock *blk)
{
  Pass *p = (Pass *)ctx;

  PetscFunctionBegin;
  PetscCall(ObjectiveBlockEvaluate(p->o, blk, p->theta, PETSC_TRUE, PETSC_TRUE, &p->work));
  PetscCall(ObjectiveBlockLossCotangents(p->o, blk, &p->work));
  PetscCall(ModelReverse(p->o->model, p->work.tape, p->theta, p->work.cot, ModelLayerVisitGradient, p->chunk_grad));
  p->chunk += p->work.part;
  PetscFunctionReturn(0);
}

static PetscErrorCode GradientEndChunk(void *ctx, PetscInt chunk)
{
  Pass          *p = (Pass *)ctx;
  const PetscInt P = p->o->n_params;

  PetscFunctionBegin;
  DDAddArray(P, p->chunk_grad, p->acc);
  DDAdd(&p->acc[P], p->chunk);
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveGradient(Objective o, const PetscReal *theta, PetscReal *grad, PetscReal *loss)
{
  const PetscInt         P = o->n_params;
  Pass                  *p = &o->gradient;
  const ObjectiveVisitor v = {p, GradientBeginChunk, GradientBlock, NULL, GradientEndChunk};

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(OBJECTIVE_Gradient, 0, 0, 0, 0));
  p->theta = theta;
  p->acc   = o->dd_gradient;
  DDZero(P + 1, p->acc);
  PetscCall(ObjectiveVisit(o, OBJECTIVE_TRAINING, OBJECTIVE_ALL_TERMS, &v));
  PetscCall(DDAllreduce(o->comm, P + 1, p->acc));
  DDRoundArray(P, p->acc, grad);
  *loss = DDRound(p->acc[P]);
  PetscCall(PetscLogEventEnd(OBJECTIVE_Gradient, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

static PetscErrorCode PassCreate(Objective o, Pass *p)
{
  PetscFunctionBegin;
  PetscCall(PetscMemzero(p, sizeof(*p)));
  p->o = o;
  PetscCall(ObjectiveBlockWorkCreate(o, &p->work));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveSetUpPasses(Objective o)
{
  const PetscInt  d = o->dim, n = o->block_size;
  const PetscInt *widths;
  PetscInt        n_layers;

  PetscFunctionBegin;
  PetscCall(ModelGetWidths(o->model, &n_layers, &widths));
  o->model_width1 = widths[1];
  PetscCall(PassCreate(o, &o->loss));
  PetscCall(PassCreate(o, &o->candidates));
  PetscCall(PassCreate(o, &o->rows));
  PetscCall(PassCreate(o, &o->gradient));
  PetscCall(PassCreate(o, &o->errors));
  PetscCall(PetscMalloc1(o->n_params, &o->gradient.chunk_grad));
  PetscCall(PetscMalloc2(n, &o->errors.u_exact, d * n, &o->errors.grad_exact));
  o->n_dd = 64;
  PetscCall(PetscMalloc1(o->n_dd, &o->dd_candidates));
  PetscCall(PetscMalloc1(o->training.n_terms + 1, &o->first_offset));
  o->first_offset[0] = 0;
  for (PetscInt t = 0; t < o->training.n_terms; t++) o->first_offset[t + 1] = o->first_offset[t] + o->training.terms[t].n_local;
  PetscCall(PetscMalloc2((size_t)o->model_width1 * o->first_offset[o->training.n_terms], &o->first_a, (size_t)o->model_width1 * o->first_offset[o->training.n_terms], &o->first_b));
  PetscCall(PetscMalloc3(o->n_params, &o->theta_trial, o->n_params + 1, &o->dd_gradient, o->n_params, &o->dd_rows_gradient));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveDestroyPasses(Objective o)
{
  Pass *passes[] = {&o->loss, &o->candidates, &o->rows, &o->gradient, &o->errors};

  PetscFunctionBegin;
  for (size_t k = 0; k < sizeof(passes) / sizeof(passes[0]); k++) PetscCall(ObjectiveBlockWorkDestroy(&passes[k]->work));
  PetscCall(PetscFree(o->gradient.chunk_grad));
  PetscCall(PetscFree2(o->errors.u_exact, o->errors.grad_exact));
  PetscCall(PetscFree(o->dd_candidates));
  PetscCall(PetscFree(o->first_offset));
  PetscCall(PetscFree2(o->first_a, o->first_b));
  PetscCall(PetscFree3(o->theta_trial, o->dd_gradient, o->dd_rows_gradient));
  PetscCall(ObjectiveDestroyHessian(o));
  PetscFunctionReturn(0);
}
