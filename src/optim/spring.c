/* SPRING (Goldshlager, Abrahamsen & Lin 2024; for PINNs: Guzman-Cordero et al. 2025, "Improving
   energy natural gradient descent through Woodbury, momentum, and randomization"): ENGD in the
   kernel form with momentum,
       phi_k = mu_k phi_{k-1} + J~^T (K + lambda I)^-1 (r~ - mu_k J~ phi_{k-1}),   K = J~ J~^T,
   i.e. phi_k minimises |J~ phi - r~|^2 + lambda |phi - mu_k phi_{k-1}|^2: the old direction is
   kept where the rows do not determine phi. theta <- theta - eta phi_k, eta from the line
   search (-spring_step linesearch, the default) or fixed, eta = min(-spring_lr, sqrt(C)/|phi_k|)
   (-spring_step fixed, C = -spring_norm_cap).

   Bias correction (-spring_bias_correction, on): phi starts at 0, so in the first steps the
   momentum term holds a sum of fewer past directions than later. As Adam corrects its average
   by 1/(1 - mu^k), the momentum of step k is that of the corrected average,
       mu_k = mu (1 - mu^(k-1)) / (1 - mu^k)         (mu_1 = 0, mu_2 = mu/(1 + mu), mu_k -> mu),
   so the first step is the damped kernel ENGD step and mu = 0 gives kernel ENGD every step.
   (The public rla-pinns code uses mu_k = mu throughout; its later variant adapts mu.)

   The solve is the kernel solver's residual form (-engd_gram kernel, curvature.h) on the rows
   with the right-hand side r~ - mu_k J~ phi in this optimizer's own buffer; J~ phi is a local
   product with the stored rows. phi and the step count are optimizer state (checkpointed), and
   are committed only after a finite step. Deep Ritz energy terms (grad L != J~^T r~) are refused. */
#include <engd/private/optimizerimpl.h>

typedef enum { SPRING_STEP_LINESEARCH, SPRING_STEP_FIXED } SpringStepType;
static const char *const SpringStepTypes[] = {"linesearch", "fixed", "SpringStepType", "SPRING_STEP_", NULL};

typedef struct {
  CurvatureOperator       rows;    /* the Jacobian rows and residuals of the loss */
  CurvatureSolver         solver;  /* kernel */
  CurvatureRegularization reg;     /* cut-off and damping lambda */
  PetscReal               momentum, norm_cap, lr;
  PetscBool               bias_correction;
  SpringStepType          step_type;
  PetscReal              *phi, *rhs, *jphi;
  PetscInt                steps; /* updates of phi so far */
} Optimizer_SPRING;

/* The momentum of the next update (see the bias correction above). */
static PetscReal Momentum(const Optimizer_SPRING *sp)
{
  const PetscReal k = (PetscReal)(sp->steps + 1);

  if (!sp->bias_correction || sp->momentum == 0) return sp->momentum;
  return sp->momentum * (1.0 - PetscPowReal(sp->momentum, k - 1)) / (1.0 - PetscPowReal(sp->momentum, k));
}

static PetscErrorCode Update_SPRING(Optimizer, PetscReal *, const PetscReal *, OptimizerStepInfo *);

static PetscErrorCode SetFromOptions_SPRING(Optimizer opt, PetscOptionItems *PetscOptionsObject)
{
  Optimizer_SPRING *sp   = (Optimizer_SPRING *)opt->data;
  PetscInt          step = (PetscInt)sp->step_type;

  PetscFunctionBegin;
  PetscOptionsHeadBegin(PetscOptionsObject, "SPRING options");
  PetscCall(EngdOptionsReal("-spring_momentum", "Momentum mu of phi, in [0, 1)", "OptimizerCreate_SPRING", sp->momentum, &sp->momentum, NULL));
  PetscCall(EngdOptionsReal("-spring_damping", "Damping lambda of the kernel solve (K + lambda I)", "OptimizerCreate_SPRING", sp->reg.damping, &sp->reg.damping, NULL));
  PetscCall(EngdOptionsReal("-spring_rcond", "Relative eigenvalue cut-off of the kernel solve (eigen)", "OptimizerCreate_SPRING", sp->reg.rcond, &sp->reg.rcond, NULL));
  PetscCall(EngdOptionsBool("-spring_bias_correction", "Bias-corrected momentum mu_k = mu (1 - mu^(k-1)) / (1 - mu^k)", "OptimizerCreate_SPRING", sp->bias_correction, &sp->bias_correction, NULL));
  PetscCall(EngdOptionsEList("-spring_step", "Step size: linesearch (the -ls_type search) or fixed (min(-spring_lr, sqrt(C)/|phi|))", "OptimizerCreate_SPRING", SpringStepTypes, 2, SpringStepTypes[step], &step, NULL));
  PetscCall(EngdOptionsReal("-spring_lr", "Fixed step size eta (-spring_step fixed)", "OptimizerCreate_SPRING", sp->lr, &sp->lr, NULL));
  PetscCall(EngdOptionsReal("-spring_norm_cap", "Norm cap C of the fixed step: eta |phi| <= sqrt(C)", "OptimizerCreate_SPRING", sp->norm_cap, &sp->norm_cap, NULL));
  PetscOptionsHeadEnd();
  sp->step_type = (SpringStepType)step;
  PetscCheck(sp->momentum >= 0 && sp->momentum < 1, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-spring_momentum must be in [0, 1), got %g", (double)sp->momentum);
  PetscCheck(sp->reg.damping >= 0, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-spring_damping must be non-negative, got %g", (double)sp->reg.damping);
  PetscCheck(sp->reg.rcond >= 0 && sp->reg.rcond < 1, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-spring_rcond must be in [0, 1), got %g", (double)sp->reg.rcond);
  PetscCheck(sp->lr > 0, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-spring_lr must be positive, got %g", (double)sp->lr);
  PetscCheck(sp->norm_cap > 0, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-spring_norm_cap must be positive, got %g", (double)sp->norm_cap);
  opt->ops.update = sp->step_type == SPRING_STEP_FIXED ? Update_SPRING : NULL;
  PetscCall(CurvatureSolverSetFromOptions(sp->solver));
  PetscFunctionReturn(0);
}

static PetscErrorCode SetUp_SPRING(Optimizer opt)
{
  Optimizer_SPRING *sp = (Optimizer_SPRING *)opt->data;
  PetscBool         has_energy, has_residual_form;
  const char       *type;

  PetscFunctionBegin;
  PetscCall(ObjectiveHasEnergyTerms(opt->objective, &has_energy));
  PetscCheck(!has_energy, opt->comm, PETSC_ERR_SUP, "-optimizer spring needs a least-squares loss (grad L = J^T r); this problem has deep Ritz energy terms: use -optimizer engd");
  PetscCall(ObjectiveRowsCreate(opt->objective, &sp->rows));
  PetscCall(CurvatureSolverSetSizes(sp->solver, opt->n_params, sp->rows.n_rows_max));
  PetscCall(CurvatureSolverSetUp(sp->solver));
  PetscCall(CurvatureSolverHasResidualForm(sp->solver, &has_residual_form));
  PetscCall(CurvatureSolverGetType(sp->solver, &type));
  PetscCheck(has_residual_form, opt->comm, PETSC_ERR_ARG_INCOMP, "-optimizer spring solves with the kernel K = J J^T: use -engd_gram kernel, not %s", type);
  PetscCall(PetscCalloc3(opt->n_params, &sp->phi, sp->rows.n_rows_max, &sp->rhs, sp->rows.n_rows_max, &sp->jphi));
  PetscFunctionReturn(0);
}

/* dir = phi_k (not yet committed: see PostStep_SPRING and Update_SPRING). */
static PetscErrorCode Direction_SPRING(Optimizer opt, const PetscReal *theta, PetscReal *dir, OptimizerStepInfo *info)
{
  Optimizer_SPRING *sp = (Optimizer_SPRING *)opt->data;
  const PetscReal   mu = Momentum(sp);
  const PetscInt    n_local = sp->rows.chunk_row[sp->rows.n_chunks];
  CurvatureOperator op;

  PetscFunctionBegin;
  PetscCall(ObjectiveRowsCompute(opt->objective, theta, &sp->rows, &info->loss));
  info->damping = sp->reg.damping;
  if (PetscIsInfOrNanReal(info->loss)) PetscFunctionReturn(0);
  if (mu != 0) {
    PetscCall(CurvatureRowsMult(&sp->rows, sp->phi, sp->jphi));
    for (PetscInt i = 0; i < n_local; i++) sp->rhs[i] = sp->rows.res[i] - mu * sp->jphi[i];
  } else PetscCall(PetscArraycpy(sp->rhs, sp->rows.res, n_local));
  op     = sp->rows;
  op.res = sp->rhs;
  PetscCall(CurvatureSolverSetOperator(sp->solver, &op));
  PetscCall(CurvatureSolverSolveResidual(sp->solver, &sp->reg, dir, &info->solve));
  if (mu != 0)
    for (PetscInt i = 0; i < opt->n_params; i++) dir[i] += mu * sp->phi[i];
  info->solved = PETSC_TRUE;
  PetscFunctionReturn(0);
}

static PetscErrorCode Commit(Optimizer opt, const PetscReal *phi)
{
  Optimizer_SPRING *sp = (Optimizer_SPRING *)opt->data;

  PetscFunctionBegin;
  PetscCall(PetscArraycpy(sp->phi, phi, opt->n_params));
  sp->steps++;
  PetscFunctionReturn(0);
}

/* After the line search (finite direction, step taken or not): phi_k becomes the momentum. */
static PetscErrorCode PostStep_SPRING(Optimizer opt, const OptimizerStepInfo *info)
{
  PetscFunctionBegin;
  PetscCall(Commit(opt, opt->dir));
  PetscFunctionReturn(0);
}

/* -spring_step fixed: theta -= min(eta, sqrt(C)/|phi|) phi, committed when theta stays finite. */
static PetscErrorCode Update_SPRING(Optimizer opt, PetscReal *theta, const PetscReal *phi, OptimizerStepInfo *info)
{
  Optimizer_SPRING *sp   = (Optimizer_SPRING *)opt->data;
  PetscReal         norm = 0, eta;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < opt->n_params; i++) norm += phi[i] * phi[i];
  norm = PetscSqrtReal(norm);
  eta  = norm > 0 ? PetscMin(sp->lr, PetscSqrtReal(sp->norm_cap) / norm) : sp->lr;
  for (PetscInt i = 0; i < opt->n_params; i++)
    if (PetscIsInfOrNanReal(theta[i] - eta * phi[i])) info->nonfinite = PETSC_TRUE;
  if (info->nonfinite) PetscFunctionReturn(0);
  for (PetscInt i = 0; i < opt->n_params; i++) theta[i] -= eta * phi[i];
  PetscCall(Commit(opt, phi));
  info->eta      = eta;
  info->accepted = PETSC_TRUE;
  PetscFunctionReturn(0);
}

static PetscErrorCode SetHistory_SPRING(Optimizer opt, History history)
{
  PetscFunctionBegin;
  PetscCall(OptimizerAddSolveColumns(opt, history));
  PetscFunctionReturn(0);
}

static PetscErrorCode GetState_SPRING(Optimizer opt, OptimizerState *state)
{
  Optimizer_SPRING *sp    = (Optimizer_SPRING *)opt->data;
  const PetscReal   steps = (PetscReal)sp->steps;

  PetscFunctionBegin;
  PetscCall(OptimizerStateSet(state, "phi", opt->n_params, sp->phi));
  PetscCall(OptimizerStateSet(state, "step", 1, &steps));
  PetscFunctionReturn(0);
}

static PetscErrorCode SetState_SPRING(Optimizer opt, const OptimizerState *state)
{
  Optimizer_SPRING *sp = (Optimizer_SPRING *)opt->data;
  const PetscReal  *phi, *steps;

  PetscFunctionBegin;
  PetscCall(OptimizerStateRequire(opt, state, "phi", opt->n_params, &phi));
  PetscCall(OptimizerStateRequire(opt, state, "step", 1, &steps));
  PetscCheck(steps[0] >= 0 && steps[0] == PetscFloorReal(steps[0]), opt->comm, PETSC_ERR_FILE_UNEXPECTED, "the spring optimizer state has step %g, not a count", (double)steps[0]);
  for (PetscInt i = 0; i < opt->n_params; i++) PetscCheck(!PetscIsInfOrNanReal(phi[i]), opt->comm, PETSC_ERR_FILE_UNEXPECTED, "the spring optimizer state has a non-finite phi");
  PetscCall(PetscArraycpy(sp->phi, phi, opt->n_params));
  sp->steps = (PetscInt)steps[0];
  PetscFunctionReturn(0);
}

static PetscErrorCode View_SPRING(Optimizer opt, PetscViewer viewer)
{
  Optimizer_SPRING *sp = (Optimizer_SPRING *)opt->data;

  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, ", momentum %g%s, damping %g, rcond %g, ", (double)sp->momentum, sp->bias_correction ? " (bias-corrected)" : "", (double)sp->reg.damping, (double)sp->reg.rcond));
  if (sp->step_type == SPRING_STEP_FIXED) PetscCall(PetscViewerASCIIPrintf(viewer, "fixed step min(%g, sqrt(%g)/|phi|)", (double)sp->lr, (double)sp->norm_cap));
  else PetscCall(LineSearchView(opt->ls, viewer));
  PetscCall(PetscViewerASCIIPrintf(viewer, "\n"));
  PetscCall(PetscViewerASCIIUseTabs(viewer, PETSC_TRUE));
  PetscCall(CurvatureSolverView(sp->solver, viewer));
  PetscCall(PetscViewerASCIIUseTabs(viewer, PETSC_FALSE));
  PetscFunctionReturn(0);
}

static PetscErrorCode Destroy_SPRING(Optimizer opt)
{
  Optimizer_SPRING *sp = (Optimizer_SPRING *)opt->data;

  PetscFunctionBegin;
  PetscCall(CurvatureSolverDestroy(&sp->solver));
  PetscCall(ObjectiveRowsDestroy(&sp->rows));
  if (sp->phi) PetscCall(PetscFree3(sp->phi, sp->rhs, sp->jphi));
  PetscCall(PetscFree(opt->data));
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode OptimizerCreate_SPRING(Optimizer opt)
{
  Optimizer_SPRING *sp;

  PetscFunctionBegin;
  PetscCall(PetscNew(&sp));
  PetscCall(CurvatureSolverCreate(opt->comm, &sp->solver));
  PetscCall(CurvatureSolverSetType(sp->solver, CURVATURESOLVERKERNEL));
  sp->momentum            = 0.99;
  sp->reg.damping         = 1e-3;
  sp->reg.rcond           = 0.0;
  sp->bias_correction     = PETSC_TRUE;
  sp->step_type           = SPRING_STEP_LINESEARCH;
  sp->lr                  = 0.1;
  sp->norm_cap            = 1e-3;
  opt->data               = sp;
  opt->ops.setfromoptions = SetFromOptions_SPRING;
  opt->ops.setup          = SetUp_SPRING;
  opt->ops.direction      = Direction_SPRING;
  opt->ops.poststep       = PostStep_SPRING;
  opt->ops.sethistory     = SetHistory_SPRING;
  opt->ops.view           = View_SPRING;
  opt->ops.destroy        = Destroy_SPRING;
  opt->ops.getstate       = GetState_SPRING;
  opt->ops.setstate       = SetState_SPRING;
  PetscFunctionReturn(0);
}
