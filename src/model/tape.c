/* ModelTape: the buffers of one forward pass and of its reverse and tangent passes. */
#include "taylor.h"

PetscErrorCode ModelTapeCreate(Model m, ModelTape *tape)
{
  const PetscInt L = m->n_layers, S = ModelNumChannels(m->dim, 2), nb = m->block_size, w = m->max_width;
  ModelTape      t;

  PetscFunctionBegin;
  PetscCheck(m->setup_called, m->comm, PETSC_ERR_ORDER, "Call ModelSetUp() before ModelTapeCreate()");
  PetscCall(PetscNew(&t));
  t->model             = m;
  t->input_explicit_nb = -1;
  PetscCall(PetscCalloc5(L + 1, &t->pre, L + 1, &t->post, L + 1, &t->d1, L + 1, &t->d2, L + 1, &t->d3));
  for (PetscInt l = 1; l <= L; l++) {
    PetscCall(PetscMalloc1(m->widths[l] * nb * S, &t->pre[l]));
    if (l < L) {
      PetscCall(PetscMalloc1(m->widths[l] * nb * S, &t->post[l]));
      PetscCall(PetscMalloc3(m->widths[l] * nb, &t->d1[l], m->widths[l] * nb, &t->d2[l], m->widths[l] * nb, &t->d3[l]));
    }
  }
  PetscCall(PetscMalloc5(m->dim * nb, &t->x_block, w * nb * S, &t->bar_a, w * nb * S, &t->bar_b, 2 * w, &t->work, m->dim, &t->trace_weights));
  *tape = t;
  PetscFunctionReturn(0);
}

PetscErrorCode ModelTapeDestroy(ModelTape *tape)
{
  ModelTape t = *tape;

  PetscFunctionBegin;
  if (!t) PetscFunctionReturn(0);
  for (PetscInt l = 1; l <= t->model->n_layers; l++) {
    PetscCall(PetscFree(t->pre[l]));
    PetscCall(PetscFree(t->post[l]));
    if (l < t->model->n_layers) PetscCall(PetscFree3(t->d1[l], t->d2[l], t->d3[l]));
  }
  PetscCall(PetscFree5(t->pre, t->post, t->d1, t->d2, t->d3));
  PetscCall(PetscFree5(t->x_block, t->bar_a, t->bar_b, t->work, t->trace_weights));
  PetscCall(PetscFree(t->input_explicit));
  PetscCall(ModelTapeHessianDestroy_Private(t));
  PetscCall(PetscFree(t));
  *tape = NULL;
  PetscFunctionReturn(0);
}

PetscErrorCode ModelTapeCheck_Private(Model m, ModelTape tape, PetscBool need_pass, const char *pass)
{
  PetscFunctionBegin;
  PetscCheck(tape, m->comm, PETSC_ERR_ORDER, "The %s pass needs a tape: call ModelSetUp() first, or ModelTapeCreate()", pass);
  PetscCheck(tape->model == m, m->comm, PETSC_ERR_ARG_WRONG, "The %s pass got a tape of another Model", pass);
  PetscCheck(!need_pass || tape->valid, m->comm, PETSC_ERR_ORDER, "The %s pass needs a preceding ModelForwardTape (or ModelForward with keep_tape) on its tape", pass);
  PetscFunctionReturn(0);
}
