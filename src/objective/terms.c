/* The term kinds of the loss, block by block: least squares  w/(2N) sum r^2  and energy
   w sum_q w_q e_q  (deep Ritz): the forward pass and the share of the loss, the cotangents of
   that share (its gradient), and the cotangents of the Gram rows (objective.h). */
#include <engd/private/objectiveimpl.h>

PetscErrorCode ObjectiveBlockWorkCreate(Objective o, ObjectiveBlockWork *w)
{
  const PetscInt S = ModelNumChannels(o->dim, 2), n = o->block_size;

  PetscFunctionBegin;
  PetscCall(PetscMemzero(w, sizeof(*w)));
  PetscCall(PetscMalloc6(S * n, &w->out, n, &w->res, S * n, &w->cot, n, &w->energy, S * n, &w->denergy, S * n, &w->d2energy));
  PetscCall(ModelTapeCreate(o->model, &w->tape));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveBlockWorkDestroy(ObjectiveBlockWork *w)
{
  PetscFunctionBegin;
  if (w->out) PetscCall(PetscFree6(w->out, w->res, w->cot, w->energy, w->denergy, w->d2energy));
  PetscCall(ModelTapeDestroy(&w->tape));
  PetscFunctionReturn(0);
}

/* The block's forward pass into w->out: taped, from w->first_a - first_eta w->first_b, or plain. */
static PetscErrorCode BlockForward(Objective o, const ObjectiveBlock *blk, const PetscReal *theta, const PetscReal *trace_weights, PetscBool keep_tape, ObjectiveBlockWork *w)
{
  PetscFunctionBegin;
  if (keep_tape) PetscCall(ModelForwardTape(o->model, w->tape, theta, blk->n, blk->x, blk->info->order, trace_weights, w->out));
  else if (w->first_a) PetscCall(ModelForwardFromFirstLayer(o->model, theta, blk->n, w->first_a, w->first_b, w->first_eta, blk->info->order, trace_weights, w->out));
  else PetscCall(ModelForward(o->model, theta, blk->n, blk->x, blk->info->order, trace_weights, PETSC_FALSE, w->out));
  PetscFunctionReturn(0);
}

/* Scaled residuals r~ = scale r (and their cotangents with derivs); part = 1/2 sum r~^2. */
static PetscErrorCode EvaluateLeastSquares(Objective o, const ObjectiveBlock *blk, const PetscReal *theta, PetscBool keep_tape, PetscBool derivs, ObjectiveBlockWork *w)
{
  const PetscInt   nb = blk->n;
  const PetscReal *trace_weights;
  PetscReal        sum = 0.0;

  PetscFunctionBegin;
  PetscCall(ProblemGetTraceWeights(o->problem, &trace_weights));
  PetscCall(BlockForward(o, blk, theta, trace_weights, keep_tape, w));
  PetscCall(ProblemResidual(o->problem, blk->term, nb, blk->x, blk->data, w->out, w->res, derivs ? w->cot : NULL));
  for (PetscInt q = 0; q < nb; q++) {
    w->res[q] *= blk->scale;
    sum += w->res[q] * w->res[q];
  }
  if (derivs)
    for (PetscInt k = 0; k < nb * ModelNumChannels(o->dim, blk->info->order); k++) w->cot[k] *= blk->scale;
  w->part = 0.5 * sum;
  PetscFunctionReturn(0);
}

/* The quadrature  sum_q c_q e_q  with c_q = w_t w_q (w_q the quadrature weight, the first
   point-data value), the weights c_q in w->res and, with derivs, De and diag D^2e. */
static PetscErrorCode EvaluateEnergy(Objective o, const ObjectiveBlock *blk, const PetscReal *theta, PetscBool keep_tape, PetscBool derivs, ObjectiveBlockWork *w)
{
  const PetscInt n_data = blk->info->n_data;
  PetscReal      total  = 0.0;

  PetscFunctionBegin;
  PetscCall(BlockForward(o, blk, theta, NULL, keep_tape, w));
  PetscCall(ProblemEnergy(o->problem, blk->term, blk->n, blk->x, blk->data, w->out, w->energy, derivs ? w->denergy : NULL, derivs ? w->d2energy : NULL));
  for (PetscInt q = 0; q < blk->n; q++) {
    w->res[q] = blk->info->weight * blk->data[q * n_data];
    total += w->res[q] * w->energy[q];
  }
  w->part = total;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveBlockEvaluate(Objective o, const ObjectiveBlock *blk, const PetscReal *theta, PetscBool keep_tape, PetscBool derivs, ObjectiveBlockWork *w)
{
  PetscFunctionBegin;
  if (blk->info->kind == PROBLEM_TERM_ENERGY) PetscCall(EvaluateEnergy(o, blk, theta, keep_tape, derivs, w));
  else PetscCall(EvaluateLeastSquares(o, blk, theta, keep_tape, derivs, w));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveBlockLossCotangents(Objective o, const ObjectiveBlock *blk, ObjectiveBlockWork *w)
{
  const PetscInt S = ModelNumChannels(o->dim, blk->info->order), nb = blk->n;

  PetscFunctionBegin;
  if (blk->info->kind == PROBLEM_TERM_ENERGY) { /* d(sum_q c_q e_q)/d out = c_q De_q */
    for (PetscInt s = 0; s < S; s++)
      for (PetscInt q = 0; q < nb; q++) w->cot[s * nb + q] = w->res[q] * w->denergy[s * nb + q];
  } else { /* d(1/2 r~^2)/d out = r~ dr~/d out: weight each point's cotangents by its residual */
    for (PetscInt s = 0; s < S; s++)
      for (PetscInt q = 0; q < nb; q++) w->cot[s * nb + q] *= w->res[q];
  }
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveBlockRowGroup(Objective o, const ObjectiveBlock *blk, ObjectiveBlockWork *w, PetscInt g, PetscReal *res)
{
  const PetscInt nb = blk->n;

  PetscFunctionBegin;
  PetscCheck(g >= 0 && g < blk->rows_per_point, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Row group %" PetscInt_FMT " of a term with %" PetscInt_FMT " rows per point", g, blk->rows_per_point);
  if (blk->info->kind == PROBLEM_TERM_ENERGY) {
    /* D^2e_q = diag(d_s) = L L^T with L = diag(sqrt(d_s)): row s of point q is
       sqrt(c_q d_s) d out_s / d theta (zero where d_s = 0), residual 0 */
    PetscCall(PetscArrayzero(w->cot, blk->rows_per_point * nb));
    for (PetscInt q = 0; q < nb; q++) {
      const PetscReal d = w->d2energy[g * nb + q];
      PetscCheck(!(d < 0) && !(w->res[q] < 0), PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "Energy term %s: the Gram rows need a non-negative Hessian diagonal and quadrature weights, got d2e %g, weight %g", blk->info->name, (double)d, (double)w->res[q]);
      w->cot[g * nb + q] = PetscSqrtReal(w->res[q] * d);
      res[q]             = 0.0;
    }
  } else PetscCall(PetscArraycpy(res, w->res, nb));
  PetscFunctionReturn(0);
}
