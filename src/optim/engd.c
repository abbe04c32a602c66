/* Energy natural gradient descent (Mueller & Zeinhofer, ICML 2023): with the scaled residuals
   r~ and rows J~ of the PINN loss, grad L = J~^T r~ and the energy Gram matrix is G = J~^T J~,
   so the direction d = G^+ grad L is the Gauss-Newton step in function space. The step size
   comes from the grid line search.

   Hilbert NGD (-optimizer hngd), the comparison the ENGD paper makes, is the same iteration
   with the Gram matrix of the solution space's inner product instead of the energy's: the
   H1(Omega) products of the tangent functions d u_theta / d theta_i, by quadrature on the
   interior points (h1metric.h).

   Deep Ritz (energy terms, objective.h): the rows are the weighted rows of the quadrature of
   the energy density's Hessian, G = sum_q c_q J_q^T D^2e_q J_q, and grad L is no longer
   J~^T r~: it comes from ObjectiveGradient (chunked double-double sums as well). */
#include <engd/private/optimizerimpl.h>
#include <engd/private/h1metric.h>
#include <petscblaslapack.h>
#include <engd/ddsum.h>

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
  PetscBool  hilbert;    /* hngd: the H1 Gram matrix instead of the energy's */
  PetscBool  energy;     /* the objective has energy terms: gradient from ObjectiveGradient */
  H1Metric   h1;         /* hngd only */
  PetscReal *h1_rows_t;  /* P x (H1 rows), hngd only */
  Gram       gram;
  PetscReal  damping;
  CutoffControl adapt;
  PetscReal *jac_t, *res, *grad, *dir;
  DDReal    *grad_sum;
  PetscInt   n_rows_local, n_rows_max;
  GramSolveInfo last_solve;
} Optimizer_ENGD;

static PetscErrorCode SetFromOptions_ENGD(Optimizer opt, PetscOptionItems *PetscOptionsObject)
{
  Optimizer_ENGD *engd = (Optimizer_ENGD *)opt->data;

  PetscFunctionBegin;
  PetscOptionsHeadBegin(PetscOptionsObject, "ENGD options");
  PetscCall(EngdOptionsReal("-engd_damping", "Fixed damping lambda added to the Gram matrix's kept eigenvalues", "OptimizerCreate_ENGD", engd->damping, &engd->damping, NULL));
  PetscCall(EngdOptionsBool("-engd_adaptive_rcond", "Lower the cut-off tenfold after each short or rejected step", "OptimizerCreate_ENGD", engd->adapt.adaptive, &engd->adapt.adaptive, NULL));
  PetscCall(EngdOptionsReal("-engd_rcond_min", "Smallest cut-off the adaptive rule goes to", "OptimizerCreate_ENGD", engd->adapt.rcond_min, &engd->adapt.rcond_min, NULL));
  PetscOptionsHeadEnd();
  PetscCheck(engd->damping >= 0, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-engd_damping must be non-negative, got %g", (double)engd->damping);
  PetscCheck(engd->adapt.rcond_min >= 0 && engd->adapt.rcond_min < 1, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-engd_rcond_min must be in [0, 1), got %g", (double)engd->adapt.rcond_min);
  PetscCall(GramSetFromOptions(engd->gram));
  PetscFunctionReturn(0);
}

static PetscErrorCode SetUp_ENGD(Optimizer opt)
{
  Optimizer_ENGD *engd = (Optimizer_ENGD *)opt->data;
  const PetscInt  P    = opt->n_params;

  PetscFunctionBegin;
  PetscCall(ObjectiveGetLocalRows(opt->objective, &engd->n_rows_local, &engd->n_rows_max));
  PetscCall(ObjectiveHasEnergyTerms(opt->objective, &engd->energy));
  PetscCheck((PetscInt64)P * engd->n_rows_max <= PETSC_MAX_INT, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "The Jacobian of %" PetscInt_FMT " rows (points x channels) per rank by %" PetscInt_FMT " parameters has %" PetscInt64_FMT " entries, more than a 32-bit PetscInt indexes (%" PetscInt_FMT "); it would need %.0f MB per rank: use more ranks, fewer points or fewer parameters", engd->n_rows_max, P, (PetscInt64)P * engd->n_rows_max, (PetscInt)PETSC_MAX_INT, 8.0 * (double)P * (double)engd->n_rows_max / 1048576.0);
  if (engd->hilbert) {
    PetscInt n_h1_max;
    PetscCall(H1MetricCreate(opt->objective, &engd->h1));
    PetscCall(H1MetricGetRows(engd->h1, NULL, NULL, &n_h1_max));
    PetscCall(PetscMalloc1((size_t)P * n_h1_max, &engd->h1_rows_t));
    PetscCall(GramSetSizes(engd->gram, P, n_h1_max));
  } else PetscCall(GramSetSizes(engd->gram, P, engd->n_rows_max));
  PetscCall(GramSetUp(engd->gram));
  PetscCall(PetscCalloc5((size_t)P * engd->n_rows_max, &engd->jac_t, engd->n_rows_max, &engd->res, P, &engd->grad, P, &engd->dir, P, &engd->grad_sum));
  PetscFunctionReturn(0);
}

static PetscBool AllFinite(PetscInt n, const PetscReal *v)
{
  for (PetscInt i = 0; i < n; i++)
    if (PetscIsInfOrNanReal(v[i])) return PETSC_FALSE;
  return PETSC_TRUE;
}

static PetscErrorCode CutoffUpdate(Gram gram, const CutoffControl *c, PetscReal eta)
{
  PetscReal rcond;

  PetscFunctionBegin;
  if (eta > 1.0 / 32.0) PetscFunctionReturn(0);
  PetscCall(GramGetRcond(gram, &rcond));
  PetscCall(GramSetRcond(gram, PetscMax(c->rcond_min, 0.1 * rcond)));
  PetscFunctionReturn(0);
}

static PetscErrorCode Step_ENGD(Optimizer opt, OptimizerStepInfo *info)
{
  Optimizer_ENGD *engd = (Optimizer_ENGD *)opt->data;
  const PetscInt  P    = opt->n_params;
  PetscReal      *theta;
  PetscBLASInt    n, k, one_i = 1;
  const PetscReal one = 1.0, zero = 0.0;
  PetscInt        n_chunks;
  const PetscInt *chunk_row;

  PetscFunctionBegin;
  PetscCall(ModelGetParameters(opt->model, &theta));
  PetscCall(ObjectiveResidualRows(opt->objective, theta, engd->res, engd->jac_t, &info->loss));
  info->loss_new = info->loss;
  info->damping  = engd->damping;
  if (PetscIsInfOrNanReal(info->loss)) {
    info->nonfinite = PETSC_TRUE;
    PetscFunctionReturn(0);
  }
  PetscCall(ObjectiveGetChunks(opt->objective, &n_chunks, &chunk_row));
  if (engd->energy) { /* deep Ritz: grad L = sum_q c_q De_q . J_q */
    PetscReal loss_grad;
    PetscCall(ObjectiveGradient(opt->objective, theta, engd->grad, &loss_grad));
  } else { /* grad L = sum over chunks of J~_c^T r~_c, in double-double (see ddsum.h) */
    PetscCall(PetscLogEventBegin(ENGD_Gradient, 0, 0, 0, 0));
    PetscCall(PetscBLASIntCast(P, &n));
    DDZero(P, engd->grad_sum);
    for (PetscInt c = 0; c < n_chunks; c++) {
      PetscCall(PetscBLASIntCast(chunk_row[c + 1] - chunk_row[c], &k));
      if (k == 0) continue;
      PetscCallBLAS("BLASgemv", BLASgemv_("N", &n, &k, &one, engd->jac_t + chunk_row[c] * P, &n, engd->res + chunk_row[c], &one_i, &zero, engd->grad, &one_i));
      DDAddArray(P, engd->grad, engd->grad_sum);
    }
    PetscCall(DDAllreduce(opt->comm, P, engd->grad_sum));
    DDRoundArray(P, engd->grad_sum, engd->grad);
    PetscCall(PetscLogEventEnd(ENGD_Gradient, 0, 0, 0, 0));
  }

  if (engd->hilbert) {
    PetscCall(H1MetricGetRows(engd->h1, &n_chunks, &chunk_row, NULL));
    PetscCall(H1MetricRows(engd->h1, theta, engd->h1_rows_t));
    PetscCall(GramAssemble(engd->gram, engd->h1_rows_t, n_chunks, chunk_row));
  } else PetscCall(GramAssemble(engd->gram, engd->jac_t, n_chunks, chunk_row));
  PetscCall(GramSolve(engd->gram, info->damping, engd->grad, engd->dir, &engd->last_solve));
  if (!AllFinite(P, engd->dir)) {
    info->nonfinite = PETSC_TRUE;
    PetscFunctionReturn(0);
  }
  PetscCall(LineSearchApply(&opt->ls, opt->objective, theta, engd->dir, info->loss, &info->eta, &info->loss_new));
  info->accepted = info->eta > 0 ? PETSC_TRUE : PETSC_FALSE;
  if (engd->adapt.adaptive) PetscCall(CutoffUpdate(engd->gram, &engd->adapt, info->eta));
  PetscFunctionReturn(0);
}

/* The cut-off is ENGD's only state across iterations: the continuation lowers it. */
static PetscErrorCode GetState_ENGD(Optimizer opt, OptimizerState *state)
{
  Optimizer_ENGD *engd = (Optimizer_ENGD *)opt->data;
  PetscReal       rcond;

  PetscFunctionBegin;
  PetscCall(GramGetRcond(engd->gram, &rcond));
  PetscCall(OptimizerStateSet(state, "rcond", 1, &rcond));
  PetscFunctionReturn(0);
}

static PetscErrorCode SetState_ENGD(Optimizer opt, const OptimizerState *state)
{
  Optimizer_ENGD  *engd = (Optimizer_ENGD *)opt->data;
  const PetscReal *rcond;

  PetscFunctionBegin;
  PetscCall(OptimizerStateRequire(opt, state, "rcond", 1, &rcond));
  PetscCheck(rcond[0] >= 0 && rcond[0] < 1, opt->comm, PETSC_ERR_FILE_UNEXPECTED, "the engd optimizer state has rcond %g, outside [0, 1)", (double)rcond[0]);
  PetscCall(GramSetRcond(engd->gram, rcond[0]));
  PetscFunctionReturn(0);
}

static PetscErrorCode View_ENGD(Optimizer opt, PetscViewer viewer)
{
  Optimizer_ENGD *engd = (Optimizer_ENGD *)opt->data;

  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, "%s, damping %g", engd->hilbert ? ", Gram of the H1 inner product (Hilbert NGD)" : "", (double)engd->damping));
  if (engd->adapt.adaptive) PetscCall(PetscViewerASCIIPrintf(viewer, ", cut-off lowered after short steps down to %g", (double)engd->adapt.rcond_min));
  PetscCall(PetscViewerASCIIPrintf(viewer, ", line search over %" PetscInt_FMT " steps\n", opt->ls_steps));
  PetscCall(PetscViewerASCIIUseTabs(viewer, PETSC_TRUE));
  PetscCall(GramView(engd->gram, viewer));
  PetscCall(PetscViewerASCIIUseTabs(viewer, PETSC_FALSE));
  PetscFunctionReturn(0);
}

static PetscErrorCode Destroy_ENGD(Optimizer opt)
{
  Optimizer_ENGD *engd = (Optimizer_ENGD *)opt->data;

  PetscFunctionBegin;
  PetscCall(GramDestroy(&engd->gram));
  if (engd->jac_t) PetscCall(PetscFree5(engd->jac_t, engd->res, engd->grad, engd->dir, engd->grad_sum));
  PetscCall(PetscFree(engd->h1_rows_t));
  PetscCall(H1MetricDestroy(&engd->h1));
  PetscCall(PetscFree(opt->data));
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode OptimizerCreate_ENGD(Optimizer opt)
{
  Optimizer_ENGD *engd;

  PetscFunctionBegin;
  PetscCall(PetscNew(&engd));
  PetscCall(GramCreate(opt->comm, &engd->gram));
  engd->adapt.adaptive  = PETSC_TRUE;
  engd->adapt.rcond_min = 1e-14;
  opt->data               = engd;
  opt->ops.setfromoptions = SetFromOptions_ENGD;
  opt->ops.setup          = SetUp_ENGD;
  opt->ops.step           = Step_ENGD;
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
