/* Grid line search (ENGD paper, Sec. 4): every candidate eta_k = 2^-k is evaluated in one
   pass over the points and one reduction; the smallest loss wins if it beats the current one.
   All ranks hold identical reduced losses, so they take the same decision without a broadcast. */
#include <engd/optimizer.h>

PetscErrorCode LineSearchCreate(PetscInt n_steps, LineSearch *ls)
{
  PetscFunctionBegin;
  ls->n_steps = n_steps;
  PetscCall(PetscMalloc2(n_steps, &ls->eta, n_steps, &ls->loss));
  for (PetscInt k = 0; k < n_steps; k++) ls->eta[k] = PetscPowReal(2.0, -(PetscReal)k);
  PetscFunctionReturn(0);
}

PetscErrorCode LineSearchDestroy(LineSearch *ls)
{
  PetscFunctionBegin;
  if (ls->eta) PetscCall(PetscFree2(ls->eta, ls->loss));
  ls->n_steps = 0;
  PetscFunctionReturn(0);
}

PetscErrorCode LineSearchApply(LineSearch *ls, Objective objective, PetscReal *theta, const PetscReal *dir, PetscReal loss, PetscReal *eta, PetscReal *loss_new)
{
  PetscInt best = -1;
  Model    model;
  PetscInt P;

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(ENGD_LineSearch, 0, 0, 0, 0));
  PetscCall(ObjectiveLossCandidates(objective, theta, dir, ls->n_steps, ls->eta, ls->loss));
  for (PetscInt k = 0; k < ls->n_steps; k++)
    if (PetscIsNormalReal(ls->loss[k]) || ls->loss[k] == 0.0)
      if (best < 0 || ls->loss[k] < ls->loss[best]) best = k;
  *eta      = 0.0;
  *loss_new = loss;
  if (best >= 0 && ls->loss[best] < loss) {
    PetscCall(ObjectiveGetModel(objective, &model));
    PetscCall(ModelGetNumParameters(model, &P));
    *eta      = ls->eta[best];
    *loss_new = ls->loss[best];
    for (PetscInt i = 0; i < P; i++) theta[i] -= *eta * dir[i];
  }
  PetscCall(PetscLogEventEnd(ENGD_LineSearch, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}
