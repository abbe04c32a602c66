/* Grid line search (ENGD paper, Sec. 4; linesearch.h): every candidate eta_k = 2^-k in one pass
   over the points and one reduction; the smallest loss wins if it beats the current one. */
#include <engd/private/linesearchimpl.h>

typedef struct {
  PetscReal *eta, *loss; /* n_steps each */
} LineSearch_Grid;

static PetscErrorCode SetUp_Grid(LineSearch ls)
{
  LineSearch_Grid *grid = (LineSearch_Grid *)ls->data;

  PetscFunctionBegin;
  PetscCall(PetscMalloc2(ls->n_steps, &grid->eta, ls->n_steps, &grid->loss));
  for (PetscInt k = 0; k < ls->n_steps; k++) grid->eta[k] = PetscPowReal(2.0, -(PetscReal)k);
  PetscFunctionReturn(0);
}

static PetscErrorCode Apply_Grid(LineSearch ls, Objective objective, PetscReal *theta, const PetscReal *dir, PetscReal loss, PetscReal *eta, PetscReal *loss_new)
{
  LineSearch_Grid *grid = (LineSearch_Grid *)ls->data;
  PetscInt         best = -1, P;
  Model            model;

  PetscFunctionBegin;
  PetscCall(ObjectiveLossCandidates(objective, theta, dir, ls->n_steps, grid->eta, grid->loss));
  for (PetscInt k = 0; k < ls->n_steps; k++)
    if (PetscIsNormalReal(grid->loss[k]) || grid->loss[k] == 0.0)
      if (best < 0 || grid->loss[k] < grid->loss[best]) best = k;
  *eta      = 0.0;
  *loss_new = loss;
  if (best >= 0 && grid->loss[best] < loss) {
    PetscCall(ObjectiveGetModel(objective, &model));
    PetscCall(ModelGetNumParameters(model, &P));
    *eta      = grid->eta[best];
    *loss_new = grid->loss[best];
    for (PetscInt i = 0; i < P; i++) theta[i] -= *eta * dir[i];
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode View_Grid(LineSearch ls, PetscViewer viewer)
{
  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, "line search over %" PetscInt_FMT " steps", ls->n_steps));
  PetscFunctionReturn(0);
}

static PetscErrorCode Destroy_Grid(LineSearch ls)
{
  LineSearch_Grid *grid = (LineSearch_Grid *)ls->data;

  PetscFunctionBegin;
  if (grid->eta) PetscCall(PetscFree2(grid->eta, grid->loss));
  PetscCall(PetscFree(ls->data));
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode LineSearchCreate_Grid(LineSearch ls)
{
  LineSearch_Grid *grid;

  PetscFunctionBegin;
  PetscCall(PetscNew(&grid));
  ls->data        = grid;
  ls->ops.setup   = SetUp_Grid;
  ls->ops.apply   = Apply_Grid;
  ls->ops.view    = View_Grid;
  ls->ops.destroy = Destroy_Grid;
  PetscFunctionReturn(0);
}
