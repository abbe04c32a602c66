/* Optimizer object: registry, common options, and the step every method shares: the method's
   direction, the finite checks, the line search (or the method's own update) and acceptance. */
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
  PetscCall(OptimizerRegister(OPTIMIZERSPRING, OptimizerCreate_SPRING));
  PetscCall(OptimizerRegister(OPTIMIZERNEWTON, OptimizerCreate_Newton));
  PetscCall(OptimizerRegister(OPTIMIZERNEWTONSADDLEFREE, OptimizerCreate_NewtonSaddleFree));
  PetscCall(OptimizerRegister(OPTIMIZERNEWTONLM, OptimizerCreate_NewtonLM));
  PetscCall(OptimizerRegister(OPTIMIZERLBFGS, OptimizerCreate_LBFGS));
  PetscCall(OptimizerRegister(OPTIMIZERTAO, OptimizerCreate_Tao));
  PetscCall(OptimizerRegister(OPTIMIZERKFAC, OptimizerCreate_KFAC));
  PetscCall(OptimizerRegister(OPTIMIZERKFACSTAR, OptimizerCreate_KFACStar));
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
  for (PetscInt k = 0; k < 6; k++) opt->column_solve[k] = -1;
  opt->column_ls = -1;
  PetscCall(LineSearchCreate(opt->comm, &opt->ls));
  PetscCall(HessianDiagnosticsCreate(objective, &opt->diag));
  *optimizer = opt;
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
  if (!opt->type[0] || strcmp(type, opt->type)) PetscCall(OptimizerSetType(opt, type));
  if (opt->ops.setfromoptions) PetscCall((*opt->ops.setfromoptions)(opt, PetscOptionsObject));
  PetscCall(HessianDiagnosticsSetFromOptions(opt->diag, PetscOptionsObject));
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
  PetscCall(LineSearchSetFromOptions(opt->ls));
  PetscFunctionReturn(0);
}

PetscErrorCode OptimizerSetUp(Optimizer opt)
{
  PetscFunctionBegin;
  if (opt->setup_called) PetscFunctionReturn(0);
  if (!opt->type[0]) PetscCall(OptimizerSetType(opt, OPTIMIZERENGD));
  PetscCall(ObjectiveSetUp(opt->objective));
  PetscCall(ModelGetNumParameters(opt->model, &opt->n_params));
  PetscCall(LineSearchSetUp(opt->ls));
  PetscCall(PetscCalloc2(opt->n_params, &opt->theta_before, opt->n_params, &opt->dir));
  if (opt->ops.setup) PetscCall((*opt->ops.setup)(opt));
  opt->setup_called = PETSC_TRUE;
  PetscFunctionReturn(0);
}

static PetscBool AllFinite(PetscInt n, const PetscReal *v)
{
  for (PetscInt i = 0; i < n; i++)
    if (PetscIsInfOrNanReal(v[i])) return PETSC_FALSE;
  return PETSC_TRUE;
}

static const char *const SolveColumns[6] = {"solve_kept", "solve_lambda_max", "solve_lambda_min_kept", "solve_iterations", "solve_reason", "solve_negative"};

PetscErrorCode OptimizerAddSolveColumns(Optimizer opt, History history)
{
  PetscFunctionBegin;
  for (PetscInt k = 0; k < 6; k++) PetscCall(HistoryAddColumn(history, SolveColumns[k], &opt->column_solve[k]));
  PetscFunctionReturn(0);
}

/* The base's History columns in the current row (the solve's when there was one). */
static PetscErrorCode Record(Optimizer opt, PetscReal eta, PetscReal damping, const OptimizerStepInfo *info)
{
  PetscFunctionBegin;
  PetscCall(HistorySetValue(opt->history, opt->column_eta, eta));
  PetscCall(HistorySetValue(opt->history, opt->column_damping, damping));
  if (opt->column_ls >= 0) PetscCall(HistorySetValue(opt->history, opt->column_ls, info ? (PetscReal)info->ls_candidates : 0.0));
  if (info && info->solved && opt->column_solve[0] >= 0) {
    const CurvatureSolveInfo *s         = &info->solve;
    const PetscReal           values[6] = {(PetscReal)s->n_kept, s->lambda_max, s->lambda_min_kept, (PetscReal)s->iterations, (PetscReal)s->reason, (PetscReal)s->n_negative};
    for (PetscInt k = 0; k < 6; k++) PetscCall(HistorySetValue(opt->history, opt->column_solve[k], values[k]));
  }
  PetscFunctionReturn(0);
}

/* A step whose loss or direction is not finite is rejected; the copy of theta is a safety net
   for a finite direction that still overflows theta, so that a rejected step never leaves
   non-finite parameters behind (the checkpoint of the last good state relies on it). */
PetscErrorCode OptimizerStep(Optimizer opt, OptimizerStepInfo *info)
{
  const PetscInt P = opt->n_params;
  PetscReal     *theta;

  PetscFunctionBegin;
  PetscCall(OptimizerSetUp(opt));
  PetscCall(PetscMemzero(info, sizeof(*info)));
  PetscCall(ModelGetParameters(opt->model, &theta));
  PetscCall(PetscArraycpy(opt->theta_before, theta, P));
  opt->step_grad = opt->step_hessian = opt->step_lambda = NULL;
  PetscCall((*opt->ops.direction)(opt, theta, opt->dir, info));
  info->loss_new = info->loss;
  if (PetscIsInfOrNanReal(info->loss) || !AllFinite(P, opt->dir)) info->nonfinite = PETSC_TRUE;
  else {
    /* the diagnostics of the point the direction was computed at, before the step */
    if (opt->history) PetscCall(HessianDiagnosticsRecord(opt->diag, opt->iteration, theta, info->loss, opt->step_grad, opt->step_hessian, opt->step_lambda, opt->dir));
    if (opt->ops.update) PetscCall((*opt->ops.update)(opt, theta, opt->dir, info));
    else {
      PetscCall(LineSearchApply(opt->ls, opt->objective, theta, opt->dir, info->loss, &info->eta, &info->loss_new));
      info->accepted = info->eta > 0 ? PETSC_TRUE : PETSC_FALSE;
      PetscCall(LineSearchGetNumEvaluated(opt->ls, &info->ls_candidates));
      if (opt->ops.poststep) PetscCall((*opt->ops.poststep)(opt, info));
    }
  }
  if (!info->nonfinite && !AllFinite(P, theta)) info->nonfinite = PETSC_TRUE;
  if (info->nonfinite) {
    PetscCall(PetscArraycpy(theta, opt->theta_before, P));
    info->accepted = PETSC_FALSE;
    info->eta      = 0.0;
  }
  opt->iteration++;
  if (opt->history) PetscCall(Record(opt, info->eta, info->damping, info));
  PetscFunctionReturn(0);
}

PetscErrorCode OptimizerSetHistory(Optimizer opt, History history)
{
  PetscFunctionBegin;
  PetscCall(OptimizerSetUp(opt));
  PetscCall(HistoryAddColumn(history, "eta", &opt->column_eta));
  PetscCall(HistoryAddColumn(history, "damping", &opt->column_damping));
  if (!opt->ops.update) PetscCall(HistoryAddColumn(history, "ls_candidates", &opt->column_ls));
  opt->history = history;
  if (opt->ops.sethistory) PetscCall((*opt->ops.sethistory)(opt, history));
  PetscCall(HessianDiagnosticsSetHistory(opt->diag, history));
  PetscFunctionReturn(0);
}

PetscErrorCode OptimizerRecordStart(Optimizer opt)
{
  PetscFunctionBegin;
  PetscCheck(opt->history, opt->comm, PETSC_ERR_ORDER, "Call OptimizerSetHistory() before OptimizerRecordStart()");
  PetscCall(Record(opt, 0.0, 0.0, NULL));
  PetscFunctionReturn(0);
}

PetscErrorCode OptimizerGradientDirection(Optimizer opt, const PetscReal *theta, PetscReal *dir, OptimizerStepInfo *info)
{
  PetscFunctionBegin;
  PetscCall(ObjectiveGradient(opt->objective, theta, dir, &info->loss));
  PetscFunctionReturn(0);
}

PetscErrorCode OptimizerClassify(Optimizer opt, PetscBool *classified, PointClass *cls, PetscReal *lambda)
{
  PetscBool  classify;
  PetscReal *theta;

  PetscFunctionBegin;
  PetscCall(HessianDiagnosticsEnabled(opt->diag, NULL, &classify));
  if (classified) *classified = classify;
  if (!classify) PetscFunctionReturn(0);
  PetscCall(ModelGetParameters(opt->model, &theta));
  PetscCall(HessianDiagnosticsClassify(opt->diag, theta, cls, NULL, lambda));
  PetscFunctionReturn(0);
}

PetscErrorCode OptimizerGetLineSearch(Optimizer opt, LineSearch *ls)
{
  PetscFunctionBegin;
  *ls = opt->ops.update ? NULL : opt->ls;
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
  PetscReal       ls_state[LINESEARCH_MAX_STATE];
  PetscInt        n_ls = 0;

  PetscFunctionBegin;
  PetscCheck(opt->setup_called, opt->comm, PETSC_ERR_ORDER, "Call OptimizerSetUp() before OptimizerGetState()");
  PetscCall(OptimizerStateSet(state, "iteration", 1, &iteration));
  if (!opt->ops.update) PetscCall(LineSearchGetState(opt->ls, &n_ls, ls_state));
  if (n_ls) PetscCall(OptimizerStateSet(state, "linesearch", n_ls, ls_state));
  if (opt->ops.getstate) PetscCall((*opt->ops.getstate)(opt, state));
  PetscFunctionReturn(0);
}

PetscErrorCode OptimizerSetState(Optimizer opt, const OptimizerState *state)
{
  const PetscReal *iteration, *ls_saved;
  PetscReal        ls_state[LINESEARCH_MAX_STATE];
  PetscInt         n_ls = 0;

  PetscFunctionBegin;
  PetscCall(OptimizerSetUp(opt));
  PetscCall(OptimizerStateRequire(opt, state, "iteration", 1, &iteration));
  PetscCheck(iteration[0] >= 0 && iteration[0] == PetscFloorReal(iteration[0]), opt->comm, PETSC_ERR_FILE_UNEXPECTED, "optimizer state: iteration %g is not a count", (double)iteration[0]);
  opt->iteration = (PetscInt)iteration[0];
  if (!opt->ops.update) PetscCall(LineSearchGetState(opt->ls, &n_ls, ls_state));
  if (n_ls) { /* the line search's state has this run's length: its type must match the file's */
    PetscCall(OptimizerStateRequire(opt, state, "linesearch", n_ls, &ls_saved));
    PetscCall(LineSearchSetState(opt->ls, n_ls, ls_saved));
  }
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
  PetscCall(HessianDiagnosticsDestroy(&opt->diag));
  PetscCall(PetscFree2(opt->theta_before, opt->dir));
  PetscCall(PetscFree(opt));
  *optimizer = NULL;
  PetscFunctionReturn(0);
}

PetscErrorCode OptimizerGetObjective(Optimizer opt, Objective *objective)
{
  PetscFunctionBegin;
  *objective = opt->objective;
  PetscFunctionReturn(0);
}

PetscErrorCode OptimizerGetType(Optimizer opt, const char **type)
{
  PetscFunctionBegin;
  *type = opt->type;
  PetscFunctionReturn(0);
}
