/* The error norms against the exact solution on the evaluation points: relative L2 and H1
   errors and the RMS error, a visitor of the block loop (a chunk per block). */
#include <engd/private/objectiveimpl.h>

/* sums: |e|^2, |u*|^2, |grad e|^2, |grad u*|^2 of the chunk (= block) */
static PetscErrorCode ErrorsBeginChunk(void *ctx, PetscInt chunk)
{
  Pass *p = (Pass *)ctx;

  PetscFunctionBegin;
  for (PetscInt k = 0; k < 4; k++) p->sums[k] = 0.0;
  PetscFunctionReturn(0);
}

static PetscErrorCode ErrorsBlock(void *ctx, const ObjectiveBlock *blk)
{
  Pass            *p   = (Pass *)ctx;
  Objective        o   = p->o;
  const PetscInt   nb  = blk->n, d = o->dim;
  const PetscReal *out = p->work.out;

  PetscFunctionBegin;
  PetscCall(ModelForward(o->model, p->theta, nb, blk->x, 1, NULL, PETSC_FALSE, p->work.out));
  PetscCall(ProblemExactSolution(o->problem, nb, blk->x, p->u_exact, p->grad_exact));
  for (PetscInt q = 0; q < nb; q++) {
    const PetscReal e = out[q] - p->u_exact[q];
    p->sums[0] += e * e;
    p->sums[1] += p->u_exact[q] * p->u_exact[q];
    for (PetscInt i = 0; i < d; i++) {
      const PetscReal g = p->grad_exact[i * nb + q], ge = out[(1 + i) * nb + q] - g;
      p->sums[2] += ge * ge;
      p->sums[3] += g * g;
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode ErrorsEndChunk(void *ctx, PetscInt chunk)
{
  Pass *p = (Pass *)ctx;

  PetscFunctionBegin;
  DDAddArray(4, p->sums, p->acc);
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveComputeErrors(Objective o, const PetscReal *theta, ObjectiveErrors *errors)
{
  Pass                  *p = &o->errors;
  DDReal                 acc[4];
  PetscReal              global[4];
  const ObjectiveVisitor v = {p, ErrorsBeginChunk, ErrorsBlock, NULL, ErrorsEndChunk};

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(OBJECTIVE_Errors, 0, 0, 0, 0));
  DDZero(4, acc);
  p->theta = theta;
  p->acc   = acc;
  PetscCall(ObjectiveVisit(o, OBJECTIVE_EVALUATION, OBJECTIVE_ALL_TERMS, &v));
  PetscCall(DDAllreduce(o->comm, 4, acc));
  DDRoundArray(4, acc, global);
  errors->rel_l2 = PetscSqrtReal(global[0] / global[1]);
  errors->rel_h1 = PetscSqrtReal((global[0] + global[2]) / (global[1] + global[3]));
  errors->rms    = PetscSqrtReal(global[0] / (PetscReal)o->n_eval);
  PetscCall(PetscLogEventEnd(OBJECTIVE_Errors, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}
