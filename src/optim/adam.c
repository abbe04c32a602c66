/* Adam (Kingma & Ba 2015) with bias correction: the usual PINN baseline. A step is computed
   into trial arrays and committed only when the moments and the new parameters are all finite,
   so a rejected step leaves theta, the moments and the step count as they were. */
#include <engd/private/optimizerimpl.h>

typedef struct {
  PetscReal  lr, beta1, beta2, epsilon;
  PetscReal *moment1, *moment2;
  PetscReal *trial1, *trial2, *theta_trial; /* the step's moments and parameters until committed */
  PetscInt   t;
} Optimizer_Adam;

static PetscErrorCode SetFromOptions_Adam(Optimizer opt, PetscOptionItems *PetscOptionsObject)
{
  Optimizer_Adam *adam = (Optimizer_Adam *)opt->data;

  PetscFunctionBegin;
  PetscOptionsHeadBegin(PetscOptionsObject, "Adam options");
  PetscCall(EngdOptionsReal("-adam_lr", "Learning rate", "OptimizerCreate_Adam", adam->lr, &adam->lr, NULL));
  PetscCall(EngdOptionsReal("-adam_beta1", "Decay of the first moment", "OptimizerCreate_Adam", adam->beta1, &adam->beta1, NULL));
  PetscCall(EngdOptionsReal("-adam_beta2", "Decay of the second moment", "OptimizerCreate_Adam", adam->beta2, &adam->beta2, NULL));
  PetscCall(EngdOptionsReal("-adam_epsilon", "Denominator offset", "OptimizerCreate_Adam", adam->epsilon, &adam->epsilon, NULL));
  PetscOptionsHeadEnd();
  PetscCheck(adam->lr > 0, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-adam_lr must be positive, got %g", (double)adam->lr);
  PetscCheck(adam->beta1 >= 0 && adam->beta1 < 1 && adam->beta2 >= 0 && adam->beta2 < 1, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-adam_beta1 and -adam_beta2 must be in [0, 1)");
  PetscCheck(adam->epsilon > 0, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-adam_epsilon must be positive, got %g", (double)adam->epsilon);
  PetscFunctionReturn(0);
}

static PetscErrorCode SetUp_Adam(Optimizer opt)
{
  Optimizer_Adam *adam = (Optimizer_Adam *)opt->data;

  PetscFunctionBegin;
  PetscCall(PetscCalloc2(opt->n_params, &adam->moment1, opt->n_params, &adam->moment2));
  PetscCall(PetscCalloc3(opt->n_params, &adam->trial1, opt->n_params, &adam->trial2, opt->n_params, &adam->theta_trial));
  PetscFunctionReturn(0);
}

/* The direction is the gradient (OptimizerGradientDirection); Adam takes its own step. */
static PetscErrorCode Update_Adam(Optimizer opt, PetscReal *theta, const PetscReal *grad, OptimizerStepInfo *info)
{
  Optimizer_Adam *adam = (Optimizer_Adam *)opt->data;
  PetscReal       correction1, correction2;

  PetscFunctionBegin;
  correction1 = 1.0 - PetscPowReal(adam->beta1, (PetscReal)(adam->t + 1));
  correction2 = 1.0 - PetscPowReal(adam->beta2, (PetscReal)(adam->t + 1));
  for (PetscInt i = 0; i < opt->n_params; i++) {
    const PetscReal g    = grad[i];
    const PetscReal m    = adam->beta1 * adam->moment1[i] + (1 - adam->beta1) * g;
    const PetscReal v    = adam->beta2 * adam->moment2[i] + (1 - adam->beta2) * g * g;
    adam->trial1[i]      = m;
    adam->trial2[i]      = v;
    adam->theta_trial[i] = theta[i] - adam->lr * (m / correction1) / (PetscSqrtReal(v / correction2) + adam->epsilon);
    if (PetscIsInfOrNanReal(m) || PetscIsInfOrNanReal(v) || PetscIsInfOrNanReal(adam->theta_trial[i])) info->nonfinite = PETSC_TRUE;
  }
  if (info->nonfinite) PetscFunctionReturn(0);
  PetscCall(PetscArraycpy(adam->moment1, adam->trial1, opt->n_params));
  PetscCall(PetscArraycpy(adam->moment2, adam->trial2, opt->n_params));
  PetscCall(PetscArraycpy(theta, adam->theta_trial, opt->n_params));
  adam->t++;
  info->eta      = adam->lr;
  info->accepted = PETSC_TRUE;
  PetscFunctionReturn(0);
}

static PetscErrorCode GetState_Adam(Optimizer opt, OptimizerState *state)
{
  Optimizer_Adam *adam = (Optimizer_Adam *)opt->data;
  const PetscReal step = (PetscReal)adam->t;

  PetscFunctionBegin;
  PetscCall(OptimizerStateSet(state, "moment1", opt->n_params, adam->moment1));
  PetscCall(OptimizerStateSet(state, "moment2", opt->n_params, adam->moment2));
  PetscCall(OptimizerStateSet(state, "step", 1, &step));
  PetscFunctionReturn(0);
}

static PetscErrorCode SetState_Adam(Optimizer opt, const OptimizerState *state)
{
  Optimizer_Adam  *adam = (Optimizer_Adam *)opt->data;
  const PetscReal *moment1, *moment2, *step;

  PetscFunctionBegin;
  PetscCall(OptimizerStateRequire(opt, state, "moment1", opt->n_params, &moment1));
  PetscCall(OptimizerStateRequire(opt, state, "moment2", opt->n_params, &moment2));
  PetscCall(OptimizerStateRequire(opt, state, "step", 1, &step));
  PetscCheck(step[0] >= 0 && step[0] == PetscFloorReal(step[0]), opt->comm, PETSC_ERR_FILE_UNEXPECTED, "the adam optimizer state has step %g, not a count", (double)step[0]);
  PetscCall(PetscArraycpy(adam->moment1, moment1, opt->n_params));
  PetscCall(PetscArraycpy(adam->moment2, moment2, opt->n_params));
  adam->t = (PetscInt)step[0];
  PetscFunctionReturn(0);
}

static PetscErrorCode View_Adam(Optimizer opt, PetscViewer viewer)
{
  Optimizer_Adam *adam = (Optimizer_Adam *)opt->data;

  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, ", lr %g, betas (%g, %g)", (double)adam->lr, (double)adam->beta1, (double)adam->beta2));
  PetscFunctionReturn(0);
}

static PetscErrorCode Destroy_Adam(Optimizer opt)
{
  Optimizer_Adam *adam = (Optimizer_Adam *)opt->data;

  PetscFunctionBegin;
  if (adam->moment1) PetscCall(PetscFree2(adam->moment1, adam->moment2));
  if (adam->trial1) PetscCall(PetscFree3(adam->trial1, adam->trial2, adam->theta_trial));
  PetscCall(PetscFree(opt->data));
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode OptimizerCreate_Adam(Optimizer opt)
{
  Optimizer_Adam *adam;

  PetscFunctionBegin;
  PetscCall(PetscNew(&adam));
  adam->lr                = 1e-3;
  adam->beta1             = 0.9;
  adam->beta2             = 0.999;
  adam->epsilon           = 1e-8;
  opt->data               = adam;
  opt->ops.setfromoptions = SetFromOptions_Adam;
  opt->ops.setup          = SetUp_Adam;
  opt->ops.direction      = OptimizerGradientDirection;
  opt->ops.update         = Update_Adam;
  opt->ops.view           = View_Adam;
  opt->ops.destroy        = Destroy_Adam;
  opt->ops.getstate       = GetState_Adam;
  opt->ops.setstate       = SetState_Adam;
  PetscFunctionReturn(0);
}
