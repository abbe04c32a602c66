/* Optimizer object: registry, common options, dispatch. */
#include <engd/private/optimizerimpl.h>

static PetscFunctionList OptimizerList = NULL;
static char              OptimizerNames[16][64];
static PetscInt          OptimizerCount = 0;

PetscErrorCode OptimizerRegister(const char name[], PetscErrorCode (*create)(Optimizer))
{
  PetscFunctionBegin;
  PetscCall(PetscFunctionListAdd(&OptimizerList, name, create));
  if (OptimizerCount < 16) PetscCall(PetscStrncpy(OptimizerNames[OptimizerCount++], name, 64));
  PetscFunctionReturn(0);
}

static PetscErrorCode OptimizerRegisterAll(void)
{
  PetscFunctionBegin;
  if (OptimizerList) PetscFunctionReturn(0);
  PetscCall(OptimizerRegister("engd", OptimizerCreate_ENGD));
  PetscCall(OptimizerRegister("hngd", OptimizerCreate_HNGD));
  PetscCall(OptimizerRegister("gd", OptimizerCreate_GD));
  PetscCall(OptimizerRegister("adam", OptimizerCreate_Adam));
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
  PetscCall(PetscFunctionListFind(OptimizerList, type, &create));
  PetscCheck(create, opt->comm, PETSC_ERR_ARG_UNKNOWN_TYPE, "-optimizer: unknown optimizer '%s' (use engd, hngd, gd or adam)", type);
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
  char type[64] = "engd";

  PetscFunctionBegin;
  if (opt->type[0]) PetscCall(PetscStrncpy(type, opt->type, sizeof(type)));
  PetscOptionsBegin(opt->comm, NULL, "Optimizer options", "Optimizer");
  PetscCall(PetscOptionsFList("-optimizer", "Training method", "OptimizerSetType", OptimizerList, type, type, sizeof(type), NULL));
  PetscCall(PetscOptionsInt("-ls_steps", "Grid line search: candidates eta = 2^-k, k < ls_steps", "LineSearchApply", opt->ls_steps, &opt->ls_steps, NULL));
  PetscCheck(opt->ls_steps >= 1 && opt->ls_steps <= 60, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-ls_steps must be in 1..60, got %" PetscInt_FMT, opt->ls_steps);
  if (!opt->type[0] || strcmp(type, opt->type)) PetscCall(OptimizerSetType(opt, type));
  if (opt->ops.setfromoptions) PetscCall((*opt->ops.setfromoptions)(opt, PetscOptionsObject));
  if (PetscOptionsObject->printhelp) { /* -help lists the options of every optimizer, not only the chosen one */
    for (PetscInt k = 0; k < OptimizerCount; k++) {
      Optimizer other;
      if (!strcmp(OptimizerNames[k], opt->type)) continue;
      PetscCall(OptimizerCreate(opt->objective, &other));
      PetscCall(OptimizerSetType(other, OptimizerNames[k]));
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
  if (!opt->type[0]) PetscCall(OptimizerSetType(opt, "engd"));
  PetscCall(ObjectiveSetUp(opt->objective));
  PetscCall(ModelGetNumParameters(opt->model, &opt->n_params));
  PetscCall(LineSearchCreate(opt->ls_steps, &opt->ls));
  if (opt->ops.setup) PetscCall((*opt->ops.setup)(opt));
  opt->setup_called = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode OptimizerStep(Optimizer opt, OptimizerStepInfo *info)
{
  PetscFunctionBegin;
  PetscCall(OptimizerSetUp(opt));
  PetscCall(PetscMemzero(info, sizeof(*info)));
  PetscCall((*opt->ops.step)(opt, info));
  opt->iteration++;
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
