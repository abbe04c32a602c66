/* Energy natural gradient descent (Mueller & Zeinhofer, ICML 2023): with the scaled residuals
   r~ and rows J~ of the PINN loss, grad L = J~^T r~ and the energy Gram matrix is G = J~^T J~,
   so the direction d = G^+ grad L is the Gauss-Newton step in function space. The step size
   comes from the line search over eta = 2^-k (linesearch.h).

   Hilbert NGD (-optimizer hngd), the comparison the ENGD paper makes, is the same iteration
   with the Gram matrix of the solution space's inner product instead of the energy's: the
   H1(Omega) products of the tangent functions d u_theta / d theta_i, by quadrature on the
   interior points (h1metric.h).

   Deep Ritz (energy terms, objective.h): the rows are the weighted rows of the quadrature of
   the energy density's Hessian, G = sum_q c_q J_q^T D^2e_q J_q, and grad L is no longer
   J~^T r~: it comes from ObjectiveGradient (chunked double-double sums as well).

   The method knows neither chunks nor back-ends: the Objective gives the rows as a curvature
   operator and the gradient (ObjectiveRowsGradient), a CurvatureSolver (curvature.h) gives the
   direction under the regularisation (cut-off, damping) that ENGD drives. */
#include <engd/private/optimizerimpl.h>
#include <engd/private/h1metric.h>

/* Cut-off continuation (the safeguard): the pseudo-inverse starts with the relative cut-off
   -engd_rcond and lowers it tenfold, down to -engd_rcond_min, whenever the line search takes
   a short step (eta <= 2^-5) or none. Short steps mean the direction lacks components the
   cut-off removed; a lower cut-off resolves them. Starting high keeps the early, far-from-
   solution steps well conditioned. The floor (1e-14) stays above the rounding noise of a
   double-precision G, about 1e-15 lambda_max: below it the direction picks up noise. */
typedef struct {
  PetscBool adaptive;
  PetscReal rcond_min;
} CutoffControl;

typedef struct {
  PetscBool               hilbert; /* hngd: the H1 Gram matrix instead of the energy's */
  H1Metric                h1;      /* hngd only */
  CurvatureOperator       rows;    /* the Jacobian rows of the loss */
  CurvatureSolver         solver;
  CurvatureRegularization reg;
  CutoffControl           adapt;
  PetscReal              *grad;
} Optimizer_ENGD;

static PetscErrorCode SetFromOptions_ENGD(Optimizer opt, PetscOptionItems *PetscOptionsObject)
{
  Optimizer_ENGD *engd = (Optimizer_ENGD *)opt->data;

  PetscFunctionBegin;
  PetscOptionsHeadBegin(PetscOptionsObject, "ENGD options");
  PetscCall(EngdOptionsReal("-engd_rcond", "Relative eigenvalue cut-off of the pseudo-inverse", "OptimizerCreate_ENGD", engd->reg.rcond, &engd->reg.rcond, NULL));
  PetscCall(EngdOptionsReal("-engd_damping", "Fixed damping lambda added to the Gram matrix's kept eigenvalues", "OptimizerCreate_ENGD", engd->reg.damping, &engd->reg.damping, NULL));
  PetscCall(EngdOptionsBool("-engd_adaptive_rcond", "Lower the cut-off tenfold after each short or rejected step", "OptimizerCreate_ENGD", engd->adapt.adaptive, &engd->adapt.adaptive, NULL));
  PetscCall(EngdOptionsReal("-engd_rcond_min", "Smallest cut-off the adaptive rule goes to", "OptimizerCreate_ENGD", engd->adapt.rcond_min, &engd->adapt.rcond_min, NULL));
  PetscOptionsHeadEnd();
  PetscCheck(engd->reg.damping >= 0, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-engd_damping must be non-negative, got %g", (double)engd->reg.damping);
  PetscCheck(engd->adapt.rcond_min >= 0 && engd->adapt.rcond_min < 1, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-engd_rcond_min must be in [0, 1), got %g", (double)engd->adapt.rcond_min);
  PetscCheck(engd->reg.rcond >= 0 && engd->reg.rcond < 1, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-engd_rcond must be in [0, 1), got %g", (double)engd->reg.rcond);
  PetscCall(CurvatureSolverSetFromOptions(engd->solver));
  PetscFunctionReturn(0);
}

static PetscErrorCode SetUp_ENGD(Optimizer opt)
{
  Optimizer_ENGD *engd = (Optimizer_ENGD *)opt->data;
  PetscInt        n_rows_max;

  PetscFunctionBegin;
  PetscCall(ObjectiveRowsCreate(opt->objective, &engd->rows));
  n_rows_max = engd->rows.n_rows_max;
  if (engd->hilbert) {
    PetscCall(H1MetricCreate(opt->objective, &engd->h1));
    PetscCall(H1MetricGetMaxRows(engd->h1, &n_rows_max));
  }
  PetscCall(CurvatureSolverSetSizes(engd->solver, opt->n_params, n_rows_max));
  PetscCall(CurvatureSolverSetUp(engd->solver));
  PetscCall(PetscCalloc1(opt->n_params, &engd->grad));
  PetscFunctionReturn(0);
}

/* d = (G + damping I)^+ grad L, G the Gram matrix of the energy (or of H1 for hngd). */
static PetscErrorCode Direction_ENGD(Optimizer opt, const PetscReal *theta, PetscReal *dir, OptimizerStepInfo *info)
{
  Optimizer_ENGD          *engd = (Optimizer_ENGD *)opt->data;
  const CurvatureOperator *op   = &engd->rows;

  PetscFunctionBegin;
  PetscCall(ObjectiveRowsCompute(opt->objective, theta, &engd->rows, &info->loss));
  info->damping = engd->reg.damping;
  if (PetscIsInfOrNanReal(info->loss)) PetscFunctionReturn(0);
  PetscCall(ObjectiveRowsGradient(opt->objective, &engd->rows, theta, engd->grad));
  if (engd->hilbert) PetscCall(H1MetricOperator(engd->h1, theta, &op));
  PetscCall(CurvatureSolverSetOperator(engd->solver, op));
  PetscCall(CurvatureSolverSolve(engd->solver, &engd->reg, engd->grad, dir, &info->solve));
  info->solved = PETSC_TRUE;
  PetscFunctionReturn(0);
}

static PetscErrorCode PostStep_ENGD(Optimizer opt, const OptimizerStepInfo *info)
{
  Optimizer_ENGD *engd = (Optimizer_ENGD *)opt->data;

  PetscFunctionBegin;
  if (engd->adapt.adaptive && info->eta <= 1.0 / 32.0) engd->reg.rcond = PetscMax(engd->adapt.rcond_min, 0.1 * engd->reg.rcond);
  PetscFunctionReturn(0);
}

/* What every solve found goes into the history (curvature.h, CurvatureSolveInfo). */
static PetscErrorCode SetHistory_ENGD(Optimizer opt, History history)
{
  PetscFunctionBegin;
  PetscCall(OptimizerAddSolveColumns(opt, history));
  PetscFunctionReturn(0);
}

/* The cut-off is ENGD's only state across iterations: the continuation lowers it. */
static PetscErrorCode GetState_ENGD(Optimizer opt, OptimizerState *state)
{
  Optimizer_ENGD *engd = (Optimizer_ENGD *)opt->data;

  PetscFunctionBegin;
  PetscCall(OptimizerStateSet(state, "rcond", 1, &engd->reg.rcond));
  PetscFunctionReturn(0);
}

static PetscErrorCode SetState_ENGD(Optimizer opt, const OptimizerState *state)
{
  Optimizer_ENGD  *engd = (Optimizer_ENGD *)opt->data;
  const PetscReal *rcond;

  PetscFunctionBegin;
  PetscCall(OptimizerStateRequire(opt, state, "rcond", 1, &rcond));
  PetscCheck(rcond[0] >= 0 && rcond[0] < 1, opt->comm, PETSC_ERR_FILE_UNEXPECTED, "the engd optimizer state has rcond %g, outside [0, 1)", (double)rcond[0]);
  engd->reg.rcond = rcond[0];
  PetscFunctionReturn(0);
}

static PetscErrorCode View_ENGD(Optimizer opt, PetscViewer viewer)
{
  Optimizer_ENGD *engd = (Optimizer_ENGD *)opt->data;

  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, "%s, damping %g, rcond %g", engd->hilbert ? ", Gram of the H1 inner product (Hilbert NGD)" : "", (double)engd->reg.damping, (double)engd->reg.rcond));
  if (engd->adapt.adaptive) PetscCall(PetscViewerASCIIPrintf(viewer, ", cut-off lowered after short steps down to %g", (double)engd->adapt.rcond_min));
  PetscCall(PetscViewerASCIIPrintf(viewer, ", "));
  PetscCall(LineSearchView(opt->ls, viewer));
  PetscCall(PetscViewerASCIIPrintf(viewer, "\n"));
  PetscCall(PetscViewerASCIIUseTabs(viewer, PETSC_TRUE));
  PetscCall(CurvatureSolverView(engd->solver, viewer));
  PetscCall(PetscViewerASCIIUseTabs(viewer, PETSC_FALSE));
  PetscFunctionReturn(0);
}

static PetscErrorCode Destroy_ENGD(Optimizer opt)
{
  Optimizer_ENGD *engd = (Optimizer_ENGD *)opt->data;

  PetscFunctionBegin;
  PetscCall(CurvatureSolverDestroy(&engd->solver));
  PetscCall(ObjectiveRowsDestroy(&engd->rows));
  PetscCall(H1MetricDestroy(&engd->h1));
  PetscCall(PetscFree(engd->grad));
  PetscCall(PetscFree(opt->data));
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode OptimizerCreate_ENGD(Optimizer opt)
{
  Optimizer_ENGD *engd;

  PetscFunctionBegin;
  PetscCall(PetscNew(&engd));
  PetscCall(CurvatureSolverCreate(opt->comm, &engd->solver));
  engd->reg.rcond         = 1e-13;
  engd->adapt.adaptive    = PETSC_TRUE;
  engd->adapt.rcond_min   = 1e-14;
  opt->data               = engd;
  opt->ops.setfromoptions = SetFromOptions_ENGD;
  opt->ops.setup          = SetUp_ENGD;
  opt->ops.direction      = Direction_ENGD;
  opt->ops.poststep       = PostStep_ENGD;
  opt->ops.sethistory     = SetHistory_ENGD;
  opt->ops.view           = View_ENGD;
  opt->ops.destroy        = Destroy_ENGD;
  opt->ops.getstate       = GetState_ENGD;
  opt->ops.setstate       = SetState_ENGD;
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode OptimizerCreate_HNGD(Optimizer opt)
{
  PetscFunctionBegin;
  PetscCall(OptimizerCreate_ENGD(opt));
  ((Optimizer_ENGD *)opt->data)->hilbert = PETSC_TRUE;
  PetscFunctionReturn(0);
}
