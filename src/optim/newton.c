/* Exact Newton and its safeguarded variants on the exact Hessian H of the loss (objective.h,
   ObjectiveHessianAssemble: P Hessian-vector products by forward-over-reverse), solved through
   its eigendecomposition by the indefinite curvature solver (curvature.h):
     newton             d = H^+ grad L, the pseudo-inverse with ENGD's relative cut-off on |lambda|
                        (-newton_rcond); the grid line search, or with -newton_full_step the pure
                        Newton step eta = 1 whatever it does to the loss. Newton's iteration is
                        attracted to every stationary point, saddles included (Rowan 2025).
     newton_saddlefree  d = |H|^+ grad L: the eigenvalues' absolute values (Dauphin et al., NeurIPS
                        2014), so negative curvature is followed downhill; grid line search.
     newton_lm          d = (H + mu I)^+ grad L, eta = 1, with mu adapted from the ratio
                        rho = (L(theta) - L(theta - d)) / (g^T d - d^T H d / 2) of actual to
                        predicted decrease (Levenberg-Marquardt): the step is taken when rho > 0,
                        mu grows by -newton_lm_increase when rho < 1/4 and shrinks by
                        -newton_lm_decrease when rho > 3/4, within [-newton_lm_damping_min,
                        -newton_lm_damping_max].
   H is assembled for P up to -hessian_max_params (diagnostics.h); the methods hand H, its
   eigenvalues and the gradient to the saddle diagnostics. */
#include <engd/private/optimizerimpl.h>
#include <petscblaslapack.h>

typedef enum { NEWTON_PLAIN, NEWTON_SADDLEFREE, NEWTON_LM } NewtonKind;

typedef struct {
  NewtonKind              kind;
  CurvatureSolver         solver;
  CurvatureRegularization reg;
  PetscBool               full_step;
  PetscReal               mu, mu_min, mu_max, mu_increase, mu_decrease;
  PetscReal              *H, *grad, *hd, *trial;
} Optimizer_Newton;

static PetscErrorCode Update_Newton(Optimizer, PetscReal *, const PetscReal *, OptimizerStepInfo *);

static PetscErrorCode SetFromOptions_Newton(Optimizer opt, PetscOptionItems *PetscOptionsObject)
{
  Optimizer_Newton *nt = (Optimizer_Newton *)opt->data;

  PetscFunctionBegin;
  PetscOptionsHeadBegin(PetscOptionsObject, "Newton options (newton, newton_saddlefree, newton_lm)");
  PetscCall(EngdOptionsReal("-newton_rcond", "Relative cut-off on |lambda| of the pseudo-inverse of H (or |H|, H + mu I)", "OptimizerCreate_Newton", nt->reg.rcond, &nt->reg.rcond, NULL));
  PetscCall(EngdOptionsBool("-newton_full_step", "newton: take the full step eta = 1 instead of the grid line search", "OptimizerCreate_Newton", nt->full_step, &nt->full_step, NULL));
  PetscCall(EngdOptionsReal("-newton_lm_damping", "newton_lm: the initial damping mu of H + mu I", "OptimizerCreate_NewtonLM", nt->mu, &nt->mu, NULL));
  PetscCall(EngdOptionsReal("-newton_lm_damping_min", "newton_lm: the smallest damping", "OptimizerCreate_NewtonLM", nt->mu_min, &nt->mu_min, NULL));
  PetscCall(EngdOptionsReal("-newton_lm_damping_max", "newton_lm: the largest damping", "OptimizerCreate_NewtonLM", nt->mu_max, &nt->mu_max, NULL));
  PetscCall(EngdOptionsReal("-newton_lm_increase", "newton_lm: factor on mu after a poor step (rho < 1/4)", "OptimizerCreate_NewtonLM", nt->mu_increase, &nt->mu_increase, NULL));
  PetscCall(EngdOptionsReal("-newton_lm_decrease", "newton_lm: factor on mu after a good step (rho > 3/4)", "OptimizerCreate_NewtonLM", nt->mu_decrease, &nt->mu_decrease, NULL));
  PetscOptionsHeadEnd();
  PetscCheck(nt->reg.rcond >= 0 && nt->reg.rcond < 1, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-newton_rcond must be in [0, 1), got %g", (double)nt->reg.rcond);
  PetscCheck(nt->mu >= 0, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-newton_lm_damping must be non-negative, got %g", (double)nt->mu);
  PetscCheck(nt->mu_min >= 0 && nt->mu_min <= nt->mu_max, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-newton_lm_damping_min must be non-negative and at most -newton_lm_damping_max, got %g and %g", (double)nt->mu_min, (double)nt->mu_max);
  PetscCheck(nt->mu_increase > 1 && nt->mu_decrease > 0 && nt->mu_decrease < 1, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-newton_lm_increase must exceed 1 and -newton_lm_decrease be in (0, 1), got %g and %g", (double)nt->mu_increase, (double)nt->mu_decrease);
  if (nt->kind == NEWTON_LM) nt->mu = PetscMin(PetscMax(nt->mu, nt->mu_min), nt->mu_max);
  opt->ops.update = nt->kind == NEWTON_LM || (nt->kind == NEWTON_PLAIN && nt->full_step) ? Update_Newton : NULL;
  PetscFunctionReturn(0);
}

static PetscErrorCode SetUp_Newton(Optimizer opt)
{
  Optimizer_Newton *nt = (Optimizer_Newton *)opt->data;
  const PetscInt    P  = opt->n_params;

  PetscFunctionBegin;
  PetscCall(HessianDiagnosticsCheckSize(opt->diag, P, "-optimizer newton"));
  PetscCall(CurvatureSolverSetType(nt->solver, CURVATURESOLVERINDEFINITE));
  PetscCall(CurvatureSolverSetFilter(nt->solver, nt->kind == NEWTON_SADDLEFREE ? CURVATURE_FILTER_ABSOLUTE : CURVATURE_FILTER_SIGNED));
  PetscCall(CurvatureSolverSetSizes(nt->solver, P, 1));
  PetscCall(CurvatureSolverSetUp(nt->solver));
  PetscCall(PetscMalloc1(P * P, &nt->H));
  PetscCall(PetscMalloc3(P, &nt->grad, P, &nt->hd, P, &nt->trial));
  PetscFunctionReturn(0);
}

static PetscErrorCode Direction_Newton(Optimizer opt, const PetscReal *theta, PetscReal *dir, OptimizerStepInfo *info)
{
  Optimizer_Newton *nt = (Optimizer_Newton *)opt->data;
  CurvatureOperator op;
  PetscInt          n;

  PetscFunctionBegin;
  PetscCall(ObjectiveGradient(opt->objective, theta, nt->grad, &info->loss));
  if (PetscIsInfOrNanReal(info->loss)) PetscFunctionReturn(0);
  PetscCall(ObjectiveHessianAssemble(opt->objective, theta, PETSC_FALSE, nt->H));
  PetscCall(PetscMemzero(&op, sizeof(op)));
  op.type        = CURVATURE_MATRIX;
  op.n_params    = opt->n_params;
  op.matrix      = nt->H;
  nt->reg.damping = nt->kind == NEWTON_LM ? nt->mu : 0.0;
  info->damping   = nt->reg.damping;
  PetscCall(CurvatureSolverSetOperator(nt->solver, &op));
  PetscCall(CurvatureSolverSolve(nt->solver, &nt->reg, nt->grad, dir, &info->solve));
  info->solved = PETSC_TRUE;
  opt->step_grad    = nt->grad;
  opt->step_hessian = nt->H;
  PetscCall(CurvatureSolverGetEigenvalues(nt->solver, &n, &opt->step_lambda));
  PetscFunctionReturn(0);
}

/* The full step theta - d (newton -newton_full_step), or LM's step accepted by its ratio. */
static PetscErrorCode Update_Newton(Optimizer opt, PetscReal *theta, const PetscReal *dir, OptimizerStepInfo *info)
{
  Optimizer_Newton *nt = (Optimizer_Newton *)opt->data;
  const PetscInt    P  = opt->n_params;
  PetscReal         loss_new, gd = 0.0, dhd = 0.0, predicted, rho;
  PetscBLASInt      n, one_i = 1;
  const PetscReal   one = 1.0, zero = 0.0;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < P; i++) nt->trial[i] = theta[i] - dir[i];
  PetscCall(ObjectiveLoss(opt->objective, nt->trial, &loss_new));
  if (nt->kind != NEWTON_LM) {
    if (PetscIsInfOrNanReal(loss_new)) {
      info->nonfinite = PETSC_TRUE;
      PetscFunctionReturn(0);
    }
    PetscCall(PetscArraycpy(theta, nt->trial, P));
    info->eta      = 1.0;
    info->loss_new = loss_new;
    info->accepted = PETSC_TRUE;
    PetscFunctionReturn(0);
  }
  /* the quadratic model m(theta - d) = L - g^T d + d^T H d / 2 predicts g^T d - d^T H d / 2 */
  PetscCall(PetscBLASIntCast(P, &n));
  PetscCallBLAS("BLASgemv", BLASgemv_("N", &n, &n, &one, nt->H, &n, dir, &one_i, &zero, nt->hd, &one_i));
  for (PetscInt i = 0; i < P; i++) {
    gd += nt->grad[i] * dir[i];
    dhd += dir[i] * nt->hd[i];
  }
  predicted = gd - 0.5 * dhd;
  rho       = predicted > 0 && !PetscIsInfOrNanReal(loss_new) ? (info->loss - loss_new) / predicted : -1.0;
  if (rho > 0 && loss_new < info->loss) {
    PetscCall(PetscArraycpy(theta, nt->trial, P));
    info->eta      = 1.0;
    info->loss_new = loss_new;
    info->accepted = PETSC_TRUE;
  } else {
    info->eta      = 0.0;
    info->loss_new = info->loss;
    info->accepted = PETSC_FALSE;
  }
  if (rho < 0.25) nt->mu = PetscMin(nt->mu_max, PetscMax(nt->mu, nt->mu_min > 0 ? nt->mu_min : PETSC_SMALL) * nt->mu_increase);
  else if (rho > 0.75) nt->mu = PetscMax(nt->mu_min, nt->mu * nt->mu_decrease);
  PetscFunctionReturn(0);
}

static PetscErrorCode SetHistory_Newton(Optimizer opt, History history)
{
  PetscFunctionBegin;
  PetscCall(OptimizerAddSolveColumns(opt, history));
  PetscFunctionReturn(0);
}

/* LM's damping is the only state that carries over (newton and newton_saddlefree have none). */
static PetscErrorCode GetState_Newton(Optimizer opt, OptimizerState *state)
{
  Optimizer_Newton *nt = (Optimizer_Newton *)opt->data;

  PetscFunctionBegin;
  if (nt->kind == NEWTON_LM) PetscCall(OptimizerStateSet(state, "lm_damping", 1, &nt->mu));
  PetscFunctionReturn(0);
}

static PetscErrorCode SetState_Newton(Optimizer opt, const OptimizerState *state)
{
  Optimizer_Newton *nt = (Optimizer_Newton *)opt->data;
  const PetscReal  *mu;

  PetscFunctionBegin;
  if (nt->kind != NEWTON_LM) PetscFunctionReturn(0);
  PetscCall(OptimizerStateRequire(opt, state, "lm_damping", 1, &mu));
  PetscCheck(mu[0] >= 0, opt->comm, PETSC_ERR_FILE_UNEXPECTED, "the newton_lm optimizer state has damping %g, below zero", (double)mu[0]);
  nt->mu = mu[0];
  PetscFunctionReturn(0);
}

static PetscErrorCode View_Newton(Optimizer opt, PetscViewer viewer)
{
  Optimizer_Newton *nt = (Optimizer_Newton *)opt->data;

  PetscFunctionBegin;
  if (nt->kind == NEWTON_PLAIN) PetscCall(PetscViewerASCIIPrintf(viewer, ": exact Hessian, H^+ grad L (cut-off %g on |lambda|), ", (double)nt->reg.rcond));
  else if (nt->kind == NEWTON_SADDLEFREE) PetscCall(PetscViewerASCIIPrintf(viewer, ": exact Hessian, |H|^+ grad L (cut-off %g), ", (double)nt->reg.rcond));
  else PetscCall(PetscViewerASCIIPrintf(viewer, ": exact Hessian, (H + mu I)^+ grad L, mu %g adapted in [%g, %g] by the decrease ratio, full steps\n", (double)nt->mu, (double)nt->mu_min, (double)nt->mu_max));
  if (nt->kind != NEWTON_LM) {
    if (opt->ops.update) PetscCall(PetscViewerASCIIPrintf(viewer, "full step eta = 1"));
    else PetscCall(LineSearchView(opt->ls, viewer));
    PetscCall(PetscViewerASCIIPrintf(viewer, "\n"));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode Destroy_Newton(Optimizer opt)
{
  Optimizer_Newton *nt = (Optimizer_Newton *)opt->data;

  PetscFunctionBegin;
  PetscCall(CurvatureSolverDestroy(&nt->solver));
  PetscCall(PetscFree(nt->H));
  if (nt->grad) PetscCall(PetscFree3(nt->grad, nt->hd, nt->trial));
  PetscCall(PetscFree(opt->data));
  PetscFunctionReturn(0);
}

static PetscErrorCode CreateNewton(Optimizer opt, NewtonKind kind)
{
  Optimizer_Newton *nt;

  PetscFunctionBegin;
  PetscCall(PetscNew(&nt));
  PetscCall(CurvatureSolverCreate(opt->comm, &nt->solver));
  nt->kind                = kind;
  nt->reg.rcond           = 1e-12;
  nt->mu                  = 1e-3;
  nt->mu_min              = 1e-12;
  nt->mu_max              = 1e12;
  nt->mu_increase         = 4.0;
  nt->mu_decrease         = 1.0 / 3.0;
  opt->data               = nt;
  opt->ops.setfromoptions = SetFromOptions_Newton;
  opt->ops.setup          = SetUp_Newton;
  opt->ops.direction      = Direction_Newton;
  opt->ops.update         = kind == NEWTON_LM ? Update_Newton : NULL;
  opt->ops.sethistory     = SetHistory_Newton;
  opt->ops.getstate       = GetState_Newton;
  opt->ops.setstate       = SetState_Newton;
  opt->ops.view           = View_Newton;
  opt->ops.destroy        = Destroy_Newton;
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode OptimizerCreate_Newton(Optimizer opt)
{
  PetscFunctionBegin;
  PetscCall(CreateNewton(opt, NEWTON_PLAIN));
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode OptimizerCreate_NewtonSaddleFree(Optimizer opt)
{
  PetscFunctionBegin;
  PetscCall(CreateNewton(opt, NEWTON_SADDLEFREE));
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode OptimizerCreate_NewtonLM(Optimizer opt)
{
  PetscFunctionBegin;
  PetscCall(CreateNewton(opt, NEWTON_LM));
  PetscFunctionReturn(0);
}
