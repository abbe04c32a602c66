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
  PetscCall(LineSearchGridSteps_Private(ls, &grid->eta, &grid->loss));
  PetscFunctionReturn(0);
}

static PetscErrorCode Apply_Grid(LineSearch ls, Objective objective, PetscReal *theta, const PetscReal *dir, PetscReal loss, PetscReal *eta, PetscReal *loss_new)
{
  LineSearch_Grid *grid = (LineSearch_Grid *)ls->data;
  PetscInt         best;

  PetscFunctionBegin;
  PetscCall(ObjectiveLossCandidates(objective, theta, dir, ls->n_steps, grid->eta, grid->loss));
  ls->n_evaluated = ls->n_steps;
  PetscCall(LineSearchBest_Private(ls->n_steps, grid->loss, &best));
  PetscCall(LineSearchAccept_Private(objective, theta, dir, loss, best, grid->eta, grid->loss, eta, loss_new));
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
