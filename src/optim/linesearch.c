/* LineSearch object: registry, options, dispatch (linesearch.h). */
#include <engd/private/linesearchimpl.h>
#include <engd/registry.h>

PetscClassId  LINESEARCH_CLASSID;
PetscLogEvent LINESEARCH_Apply;

static EngdRegistry LineSearches = ENGD_REGISTRY("-ls_type", "line search", NULL);

PetscErrorCode LineSearchRegister(const char name[], PetscErrorCode (*create)(LineSearch))
{
  PetscFunctionBegin;
  PetscCall(EngdRegistryAdd(&LineSearches, name, create));
  PetscFunctionReturn(0);
}

static PetscErrorCode LineSearchRegisterAll(void)
{
  PetscFunctionBegin;
  if (EngdRegistryFilled(&LineSearches)) PetscFunctionReturn(0);
  PetscCall(PetscClassIdRegister("LineSearch", &LINESEARCH_CLASSID));
  PetscCall(PetscLogEventRegister("EngdLineSearch", LINESEARCH_CLASSID, &LINESEARCH_Apply));
  PetscCall(LineSearchRegister(LINESEARCHGRID, LineSearchCreate_Grid));
  PetscCall(LineSearchRegister(LINESEARCHBRACKET, LineSearchCreate_Bracket));
  PetscFunctionReturn(0);
}

PetscErrorCode LineSearchCreate(MPI_Comm comm, LineSearch *linesearch)
{
  LineSearch ls;

  PetscFunctionBegin;
  PetscCall(EngdInitializePackage());
  PetscCall(LineSearchRegisterAll());
  PetscCall(PetscNew(&ls));
  ls->comm    = comm;
  ls->n_steps = 31;
  *linesearch = ls;
  PetscFunctionReturn(0);
}

PetscErrorCode LineSearchSetType(LineSearch ls, const char type[])
{
  PetscErrorCode (*create)(LineSearch);

  PetscFunctionBegin;
  PetscCall(EngdRegistryFind(&LineSearches, ls->comm, type, &create));
  PetscCheck(!ls->setup_called, ls->comm, PETSC_ERR_ORDER, "Set the line search type before LineSearchSetUp()");
  if (ls->ops.destroy) PetscCall((*ls->ops.destroy)(ls));
  PetscCall(PetscMemzero(&ls->ops, sizeof(ls->ops)));
  ls->data = NULL;
  PetscCall(PetscStrncpy(ls->type, type, sizeof(ls->type)));
  PetscCall((*create)(ls));
  PetscFunctionReturn(0);
}

PetscErrorCode LineSearchSetFromOptions(LineSearch ls)
{
  char type[64] = LINESEARCHDEFAULT;

  PetscFunctionBegin;
  if (ls->type[0]) PetscCall(PetscStrncpy(type, ls->type, sizeof(type)));
  PetscOptionsBegin(ls->comm, NULL, "Line search options", "LineSearch");
  PetscCall(EngdOptionsFList("-ls_type", "Line search", "LineSearchSetType", LineSearches.list, type, type, sizeof(type), NULL));
  PetscCall(EngdOptionsInt("-ls_steps", "Grid line search: candidates eta = 2^-k, k < ls_steps", "LineSearchApply", ls->n_steps, &ls->n_steps, NULL));
  PetscCheck(ls->n_steps >= 1 && ls->n_steps <= 60, ls->comm, PETSC_ERR_ARG_OUTOFRANGE, "-ls_steps must be in 1..60, got %" PetscInt_FMT, ls->n_steps);
  if (!ls->type[0] || strcmp(type, ls->type)) PetscCall(LineSearchSetType(ls, type));
  if (ls->ops.setfromoptions) PetscCall((*ls->ops.setfromoptions)(ls, PetscOptionsObject));
  if (PetscOptionsObject->printhelp) { /* -help lists the options of every type, not only the chosen one */
    for (PetscInt k = 0; k < LineSearches.n; k++) {
      LineSearch other;
      if (!strcmp(LineSearches.names[k], ls->type)) continue;
      PetscCall(LineSearchCreate(ls->comm, &other));
      other->n_steps = ls->n_steps;
      PetscCall(LineSearchSetType(other, LineSearches.names[k]));
      if (other->ops.setfromoptions) PetscCall((*other->ops.setfromoptions)(other, PetscOptionsObject));
      PetscCall(LineSearchDestroy(&other));
    }
  }
  PetscOptionsEnd();
  PetscFunctionReturn(0);
}

PetscErrorCode LineSearchSetUp(LineSearch ls)
{
  PetscFunctionBegin;
  if (ls->setup_called) PetscFunctionReturn(0);
  if (!ls->type[0]) PetscCall(LineSearchSetType(ls, LINESEARCHDEFAULT));
  if (ls->ops.setup) PetscCall((*ls->ops.setup)(ls));
  ls->setup_called = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode LineSearchView(LineSearch ls, PetscViewer viewer)
{
  PetscFunctionBegin;
  if (ls->ops.view) PetscCall((*ls->ops.view)(ls, viewer));
  else PetscCall(PetscViewerASCIIPrintf(viewer, "%s line search", ls->type));
  PetscFunctionReturn(0);
}

PetscErrorCode LineSearchDestroy(LineSearch *linesearch)
{
  LineSearch ls = *linesearch;

  PetscFunctionBegin;
  if (!ls) PetscFunctionReturn(0);
  if (ls->ops.destroy) PetscCall((*ls->ops.destroy)(ls));
  PetscCall(PetscFree(ls));
  *linesearch = NULL;
  PetscFunctionReturn(0);
}

PetscErrorCode LineSearchApply(LineSearch ls, Objective objective, PetscReal *theta, const PetscReal *dir, PetscReal loss, PetscReal *eta, PetscReal *loss_new)
{
  PetscFunctionBegin;
  PetscCall(LineSearchSetUp(ls));
  PetscCall(PetscLogEventBegin(LINESEARCH_Apply, 0, 0, 0, 0));
  ls->n_evaluated = 0;
  PetscCall((*ls->ops.apply)(ls, objective, theta, dir, loss, eta, loss_new));
  PetscCall(PetscLogEventEnd(LINESEARCH_Apply, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode LineSearchGetNumEvaluated(LineSearch ls, PetscInt *n)
{
  PetscFunctionBegin;
  *n = ls->n_evaluated;
  PetscFunctionReturn(0);
}

PetscErrorCode LineSearchGetState(LineSearch ls, PetscInt *n, PetscReal values[])
{
  PetscFunctionBegin;
  PetscCall(LineSearchSetUp(ls));
  *n = 0;
  if (ls->ops.getstate) PetscCall((*ls->ops.getstate)(ls, n, values));
  PetscCheck(*n >= 0 && *n <= LINESEARCH_MAX_STATE, ls->comm, PETSC_ERR_PLIB, "Line search %s has a state of %" PetscInt_FMT " values, more than %d", ls->type, *n, LINESEARCH_MAX_STATE);
  PetscFunctionReturn(0);
}

PetscErrorCode LineSearchSetState(LineSearch ls, PetscInt n, const PetscReal values[])
{
  PetscFunctionBegin;
  PetscCall(LineSearchSetUp(ls));
  if (ls->ops.setstate) PetscCall((*ls->ops.setstate)(ls, n, values));
  PetscFunctionReturn(0);
}

PetscErrorCode LineSearchGridSteps_Private(LineSearch ls, PetscReal **eta, PetscReal **loss)
{
  PetscFunctionBegin;
  PetscCall(PetscMalloc2(ls->n_steps, eta, ls->n_steps, loss));
  for (PetscInt k = 0; k < ls->n_steps; k++) (*eta)[k] = PetscPowReal(2.0, -(PetscReal)k);
  PetscFunctionReturn(0);
}

PetscErrorCode LineSearchBest_Private(PetscInt n, const PetscReal loss[], PetscInt *best)
{
  PetscFunctionBegin;
  *best = -1;
  for (PetscInt k = 0; k < n; k++)
    if (PetscIsNormalReal(loss[k]) || loss[k] == 0.0)
      if (*best < 0 || loss[k] < loss[*best]) *best = k;
  PetscFunctionReturn(0);
}

PetscErrorCode LineSearchAccept_Private(Objective objective, PetscReal *theta, const PetscReal *dir, PetscReal loss, PetscInt best, const PetscReal eta[], const PetscReal losses[], PetscReal *eta_taken, PetscReal *loss_new)
{
  PetscInt P;
  Model    model;

  PetscFunctionBegin;
  *eta_taken = 0.0;
  *loss_new  = loss;
  if (best >= 0 && losses[best] < loss) {
    PetscCall(ObjectiveGetModel(objective, &model));
    PetscCall(ModelGetNumParameters(model, &P));
    *eta_taken = eta[best];
    *loss_new  = losses[best];
    for (PetscInt i = 0; i < P; i++) theta[i] -= *eta_taken * dir[i];
  }
  PetscFunctionReturn(0);
}
