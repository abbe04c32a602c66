/* Gradient descent with the grid line search: the first-order baseline. */
#include <engd/private/optimizerimpl.h>

typedef struct {
  PetscReal *grad;
} Optimizer_GD;

static PetscErrorCode SetUp_GD(Optimizer opt)
{
  Optimizer_GD *gd = (Optimizer_GD *)opt->data;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(opt->n_params, &gd->grad));
  PetscFunctionReturn(0);
}

static PetscErrorCode Step_GD(Optimizer opt, OptimizerStepInfo *info)
{
  Optimizer_GD *gd = (Optimizer_GD *)opt->data;
  PetscReal    *theta;

  PetscFunctionBegin;
  PetscCall(ModelGetParameters(opt->model, &theta));
  PetscCall(ObjectiveGradient(opt->objective, theta, gd->grad, &info->loss));
  info->loss_new = info->loss;
  for (PetscInt i = 0; i < opt->n_params; i++)
    if (PetscIsInfOrNanReal(gd->grad[i])) info->nonfinite = PETSC_TRUE;
  if (info->nonfinite || PetscIsInfOrNanReal(info->loss)) {
    info->nonfinite = PETSC_TRUE;
    PetscFunctionReturn(0);
  }
  PetscCall(LineSearchApply(&opt->ls, opt->objective, theta, gd->grad, info->loss, &info->eta, &info->loss_new));
  info->accepted = info->eta > 0 ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

static PetscErrorCode Destroy_GD(Optimizer opt)
{
  Optimizer_GD *gd = (Optimizer_GD *)opt->data;

  PetscFunctionBegin;
  PetscCall(PetscFree(gd->grad));
  PetscCall(PetscFree(opt->data));
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode OptimizerCreate_GD(Optimizer opt)
{
  Optimizer_GD *gd;

  PetscFunctionBegin;
  PetscCall(PetscNew(&gd));
  opt->data        = gd;
  opt->ops.setup   = SetUp_GD;
  opt->ops.step    = Step_GD;
  opt->ops.destroy = Destroy_GD;
  PetscFunctionReturn(0);
}
