/* Optimizer object: registry, common options, dispatch. */
#include <engd/private/optimizerimpl.h>
#include <engd/registry.h>

static EngdRegistry Optimizers = ENGD_REGISTRY("-optimizer", "optimizer", NULL);

PetscErrorCode OptimizerRegister(const char name[], PetscErrorCode (*create)(Optimizer))
{
  PetscFunctionBegin;
  PetscCall(EngdRegistryAdd(&Optimizers, name, create));
  PetscFunctionReturn(0);
}

static PetscErrorCode OptimizerRegisterAll(void)
{
  PetscFunctionBegin;
  if (EngdRegistryFilled(&Optimizers)) PetscFunctionReturn(0);
  PetscCall(OptimizerRegister(OPTIMIZERENGD, OptimizerCreate_ENGD));
  PetscCall(OptimizerRegister(OPTIMIZERHNGD, OptimizerCreate_HNGD));
  PetscCall(OptimizerRegister(OPTIMIZERGD, OptimizerCreate_GD));
  PetscCall(OptimizerRegister(OPTIMIZERADAM, OptimizerCreate_Adam));
  PetscFunctionReturn(0);
}

PetscErrorCode OptimizerCreate(Objective objective, Optimizer *optimizer)
{
  Optimizer opt;

  PetscFunctionBegin;
  PetscCall(EngdInitializePackage());
  PetscCall(OptimizerRegisterAll());
  PetscCall(PetscNew(&opt));
  PetscCall(ObjectiveGetComm(objective, &opt->comm));
  PetscCall(ObjectiveGetModel(objective, &opt->model));
  opt->objective = objective;
  opt->ls_steps  = 31;
  *optimizer     = opt;
  PetscFunctionReturn(0);
}

PetscErrorCode OptimizerSetType(Optimizer opt, const char type[])
{
  PetscErrorCode (*create)(Optimizer);

  PetscFunctionBegin;
  PetscCall(EngdRegistryFind(&Optimizers, opt->comm, type, &create));
  PetscCheck(!opt->setup_called, opt->comm, PETSC_ERR_ORDER, "Set the optimizer type before OptimizerSetUp()");
  if (opt->ops.destroy) PetscCall((*opt->ops.destroy)(opt));
  PetscCall(PetscMemzero(&opt->ops, sizeof(opt->ops)));
  opt->data = NULL;
  PetscCall(PetscStrncpy(opt->type, type, sizeof(opt->type)));
  PetscCall((*create)(opt));
  PetscFunctionReturn(0);
}

PetscErrorCode OptimizerSetFromOptions(Optimizer opt)
{
  char type[64] = OPTIMIZERENGD;

  PetscFunctionBegin;
  if (opt->type[0]) PetscCall(PetscStrncpy(type, opt->type, sizeof(type)));
  PetscOptionsBegin(opt->comm, NULL, "Optimizer options", "Optimizer");
  PetscCall(EngdOptionsFList("-optimizer", "Training method", "OptimizerSetType", Optimizers.list, type, type, sizeof(type), NULL));
  PetscCall(EngdOptionsInt("-ls_steps", "Grid line search: candidates eta = 2^-k, k < ls_steps", "LineSearchApply", opt->ls_steps, &opt->ls_steps, NULL));
  PetscCheck(opt->ls_steps >= 1 && opt->ls_steps <= 60, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-ls_steps must be in 1..60, got %" PetscInt_FMT, opt->ls_steps);
  if (!opt->type[0] || strcmp(type, opt->type)) PetscCall(OptimizerSetType(opt, type));
  if (opt->ops.setfromoptions) PetscCall((*opt->ops.setfromoptions)(opt, PetscOptionsObject));
  if (PetscOptionsObject->printhelp) { /* -help lists the options of every optimizer, not only the chosen one */
    for (PetscInt k = 0; k < Optimizers.n; k++) {
      Optimizer other;
      if (!strcmp(Optimizers.names[k], opt->type)) continue;
      PetscCall(OptimizerCreate(opt->objective, &other));
      PetscCall(OptimizerSetType(other, Optimizers.names[k]));
      if (other->ops.setfromoptions) PetscCall((*other->ops.setfromoptions)(other, PetscOptionsObject));
      PetscCall(OptimizerDestroy(&other));
    }
  }
  PetscOptionsEnd();
  PetscFunctionReturn(0);
}

PetscErrorCode OptimizerSetUp(Optimizer opt)
{
  PetscFunctionBegin;
  if (opt->setup_called) PetscFunctionReturn(0);
  if (!opt->type[0]) PetscCall(OptimizerSetType(opt, OPTIMIZERENGD));
  PetscCall(ObjectiveSetUp(opt->objective));
  PetscCall(ModelGetNumParameters(opt->model, &opt->n_params));
  PetscCall(LineSearchCreate(opt->ls_steps, &opt->ls));
  PetscCall(PetscMalloc1(opt->n_params, &opt->theta_before));
  if (opt->ops.setup) PetscCall((*opt->ops.setup)(opt));
  opt->setup_called = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* The base's History columns in the current row. */
static PetscErrorCode Record(Optimizer opt, PetscReal eta, PetscReal damping)
{
  PetscFunctionBegin;
  PetscCall(HistorySetValue(opt->history, opt->column_eta, eta));
  PetscCall(HistorySetValue(opt->history, opt->column_damping, damping));
  PetscFunctionReturn(0);
}

/* The methods reject a step whose loss or direction is not finite; the copy of theta is a
   safety net for a finite direction that still overflows theta, so that a rejected step never
   leaves non-finite parameters behind (the checkpoint of the last good state relies on it). */
PetscErrorCode OptimizerStep(Optimizer opt, OptimizerStepInfo *info)
{
  PetscReal *theta;

  PetscFunctionBegin;
  PetscCall(OptimizerSetUp(opt));
  PetscCall(PetscMemzero(info, sizeof(*info)));
  PetscCall(ModelGetParameters(opt->model, &theta));
  PetscCall(PetscArraycpy(opt->theta_before, theta, opt->n_params));
  PetscCall((*opt->ops.step)(opt, info));
  if (!info->nonfinite)
    for (PetscInt i = 0; i < opt->n_params; i++)
      if (PetscIsInfOrNanReal(theta[i])) {
        info->nonfinite = PETSC_TRUE;
        break;
      }
  if (info->nonfinite) {
    PetscCall(PetscArraycpy(theta, opt->theta_before, opt->n_params));
    info->accepted = PETSC_FALSE;
    info->eta      = 0.0;
  }
  opt->iteration++;
  if (opt->history) PetscCall(Record(opt, info->eta, info->damping));
  PetscFunctionReturn(0);
}

PetscErrorCode OptimizerSetHistory(Optimizer opt, History history)
{
  PetscFunctionBegin;
  PetscCall(OptimizerSetUp(opt));
  PetscCall(HistoryAddColumn(history, "eta", &opt->column_eta));
  PetscCall(HistoryAddColumn(history, "damping", &opt->column_damping));
  opt->history = history;
  if (opt->ops.sethistory) PetscCall((*opt->ops.sethistory)(opt, history));
  PetscFunctionReturn(0);
}

PetscErrorCode OptimizerRecordStart(Optimizer opt)
{
  PetscFunctionBegin;
  PetscCheck(opt->history, opt->comm, PETSC_ERR_ORDER, "Call OptimizerSetHistory() before OptimizerRecordStart()");
  PetscCall(Record(opt, 0.0, 0.0));
  PetscFunctionReturn(0);
}

PetscErrorCode OptimizerStateSet(OptimizerState *state, const char name[], PetscInt length, const PetscReal values[])
{
  OptimizerStateEntry *e = NULL;

  PetscFunctionBegin;
  PetscCheck(length >= 0 && strlen(name) < sizeof(e->name), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Optimizer state entry '%s': bad name or length", name);
  for (PetscInt k = 0; k < state->n; k++)
    if (!strcmp(state->entry[k].name, name)) e = &state->entry[k];
  if (!e) {
    if (state->n == state->capacity) {
      OptimizerStateEntry *bigger;
      state->capacity = PetscMax(8, 2 * state->capacity);
      PetscCall(PetscCalloc1(state->capacity, &bigger));
      if (state->n) PetscCall(PetscArraycpy(bigger, state->entry, state->n));
      PetscCall(PetscFree(state->entry));
      state->entry = bigger;
    }
    e = &state->entry[state->n++];
    PetscCall(PetscStrncpy(e->name, name, sizeof(e->name)));
  }
  if (e->length != length || !e->values) {
    PetscCall(PetscFree(e->values));
    PetscCall(PetscMalloc1(PetscMax(length, 1), &e->values));
    e->length = length;
  }
  if (length) PetscCall(PetscArraycpy(e->values, values, length));
  PetscFunctionReturn(0);
}

PetscErrorCode OptimizerStateFind(const OptimizerState *state, const char name[], PetscInt *length, const PetscReal **values)
{
  PetscFunctionBegin;
  *values = NULL;
  *length = 0;
  for (PetscInt k = 0; k < state->n; k++)
    if (!strcmp(state->entry[k].name, name)) {
      *values = state->entry[k].values;
      *length = state->entry[k].length;
    }
  PetscFunctionReturn(0);
}

PetscErrorCode OptimizerStateCopy(const OptimizerState *from, OptimizerState *to)
{
  PetscFunctionBegin;
  for (PetscInt k = 0; k < from->n; k++) PetscCall(OptimizerStateSet(to, from->entry[k].name, from->entry[k].length, from->entry[k].values));
  PetscFunctionReturn(0);
}

PetscErrorCode OptimizerStateDestroy(OptimizerState *state)
{
  PetscFunctionBegin;
  for (PetscInt k = 0; k < state->n; k++) PetscCall(PetscFree(state->entry[k].values));
  PetscCall(PetscFree(state->entry));
  state->n = state->capacity = 0;
  PetscFunctionReturn(0);
}

PetscErrorCode OptimizerStateRequire(Optimizer opt, const OptimizerState *state, const char name[], PetscInt length, const PetscReal **values)
{
  PetscInt n;

  PetscFunctionBegin;
  PetscCall(OptimizerStateFind(state, name, &n, values));
  PetscCheck(*values, opt->comm, PETSC_ERR_FILE_UNEXPECTED, "the %s optimizer state lacks the entry '%s'", opt->type, name);
  PetscCheck(n == length, opt->comm, PETSC_ERR_FILE_UNEXPECTED, "the %s optimizer state entry '%s' has %" PetscInt_FMT " values, this run needs %" PetscInt_FMT, opt->type, name, n, length);
  PetscFunctionReturn(0);
}

PetscErrorCode OptimizerGetState(Optimizer opt, OptimizerState *state)
{
  const PetscReal iteration = (PetscReal)opt->iteration;

  PetscFunctionBegin;
  PetscCheck(opt->setup_called, opt->comm, PETSC_ERR_ORDER, "Call OptimizerSetUp() before OptimizerGetState()");
  PetscCall(OptimizerStateSet(state, "iteration", 1, &iteration));
  if (opt->ops.getstate) PetscCall((*opt->ops.getstate)(opt, state));
  PetscFunctionReturn(0);
}

PetscErrorCode OptimizerSetState(Optimizer opt, const OptimizerState *state)
{
  const PetscReal *iteration;

  PetscFunctionBegin;
  PetscCall(OptimizerSetUp(opt));
  PetscCall(OptimizerStateRequire(opt, state, "iteration", 1, &iteration));
  PetscCheck(iteration[0] >= 0 && iteration[0] == PetscFloorReal(iteration[0]), opt->comm, PETSC_ERR_FILE_UNEXPECTED, "optimizer state: iteration %g is not a count", (double)iteration[0]);
  opt->iteration = (PetscInt)iteration[0];
  if (opt->ops.setstate) PetscCall((*opt->ops.setstate)(opt, state));
  PetscFunctionReturn(0);
}

PetscErrorCode OptimizerView(Optimizer opt, PetscViewer viewer)
{
  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, "Optimizer: %s", opt->type));
  PetscCall(PetscViewerASCIIUseTabs(viewer, PETSC_FALSE));
  if (opt->ops.view) PetscCall((*opt->ops.view)(opt, viewer));
  PetscCall(PetscViewerASCIIPrintf(viewer, "\n"));
  PetscCall(PetscViewerASCIIUseTabs(viewer, PETSC_TRUE));
  PetscFunctionReturn(0);
}

PetscErrorCode OptimizerDestroy(Optimizer *optimizer)
{
  Optimizer opt = *optimizer;

  PetscFunctionBegin;
  if (!opt) PetscFunctionReturn(0);
  if (opt->ops.destroy) PetscCall((*opt->ops.destroy)(opt));
  PetscCall(LineSearchDestroy(&opt->ls));
  PetscCall(PetscFree(opt->theta_before));
  PetscCall(PetscFree(opt));
  *optimizer = NULL;
  PetscFunctionReturn(0);
}

PetscErrorCode OptimizerGetType(Optimizer opt, const char **type)
{
  PetscFunctionBegin;
  *type = opt->type;
  PetscFunctionReturn(0);
}
