/* Regression: a least-squares fit of a target function from its sampled values, no
   differential operator (Rowan 2025's regression case, beside the PINN case). One term "data"
   on the interior of [0,1]^d, r = u - g(x), with the target (-regression_target)
     sin_prod  g = prod_i sin(k pi x_i)    (src/problem/sines.c, k = -regression_frequency)
     sin_sum   g = sum_i sin(k pi x_i)
     gauss     g = exp(-|x - c|^2 / (2 s^2)), c = (1/2, ..., 1/2), s = 1/4
   The exact solution of the error norms is g itself. */
#include <engd/private/problemimpl.h>

typedef enum { REGRESSION_SIN_PROD, REGRESSION_SIN_SUM, REGRESSION_GAUSS } RegressionTarget;
static const char *const RegressionTargets[] = {"sin_prod", "sin_sum", "gauss", "RegressionTarget", "REGRESSION_", NULL};

typedef struct {
  RegressionTarget target;
  PetscReal        frequency;
} Regression;

/* g and its gradient (grad[i*stride], if grad) at one point. */
static void TargetPoint(const Regression *ctx, PetscInt d, const PetscReal *x, PetscReal *g, PetscReal *grad, PetscInt stride)
{
  const PetscReal w = ctx->frequency * PETSC_PI;

  switch (ctx->target) {
  case REGRESSION_SIN_PROD:
    ProblemSineProduct(d, x, 1.0, w, w, g, grad, stride, NULL);
    break;
  case REGRESSION_SIN_SUM:
    *g = 0.0;
    for (PetscInt i = 0; i < d; i++) {
      *g += PetscSinReal(w * x[i]);
      if (grad) grad[i * stride] = w * PetscCosReal(w * x[i]);
    }
    break;
  case REGRESSION_GAUSS: {
    const PetscReal s2 = 1.0 / 16.0;
    PetscReal       r2 = 0.0;
    for (PetscInt i = 0; i < d; i++) r2 += (x[i] - 0.5) * (x[i] - 0.5);
    *g = PetscExpReal(-0.5 * r2 / s2);
    for (PetscInt i = 0; grad && i < d; i++) grad[i * stride] = -(x[i] - 0.5) / s2 * *g;
  } break;
  }
}

static PetscErrorCode PointData_Regression(Problem p, PetscInt t, PetscInt n, const PetscReal *x, PetscReal *data)
{
  PetscFunctionBegin;
  for (PetscInt q = 0; q < n; q++) TargetPoint((Regression *)p->data, p->dim, x + q * p->dim, &data[q], NULL, 0);
  PetscFunctionReturn(0);
}

static PetscErrorCode Residual_Regression(Problem p, PetscInt t, PetscInt n, const PetscReal *x, const PetscReal *data, const PetscReal *out, PetscReal *r, PetscReal *cot)
{
  PetscFunctionBegin;
  ProblemDataResidual(n, data, out, r, cot);
  PetscFunctionReturn(0);
}

static PetscErrorCode Exact_Regression(Problem p, PetscInt n, const PetscReal *x, PetscReal *u, PetscReal *grad)
{
  PetscFunctionBegin;
  for (PetscInt q = 0; q < n; q++) TargetPoint((Regression *)p->data, p->dim, x + q * p->dim, &u[q], grad ? grad + q : NULL, n);
  PetscFunctionReturn(0);
}

static PetscErrorCode SetFromOptions_Regression(Problem p, PetscOptionItems *PetscOptionsObject)
{
  Regression *ctx    = (Regression *)p->data;
  PetscInt    target = (PetscInt)ctx->target;

  PetscFunctionBegin;
  PetscOptionsHeadBegin(PetscOptionsObject, "Regression options");
  PetscCall(EngdOptionsEList("-regression_target", "Target function", "ProblemCreate_Regression", RegressionTargets, 3, RegressionTargets[target], &target, NULL));
  PetscCall(EngdOptionsReal("-regression_frequency", "Frequency k of the sine targets (sin(k pi x))", "ProblemCreate_Regression", ctx->frequency, &ctx->frequency, NULL));
  PetscOptionsHeadEnd();
  ctx->target = (RegressionTarget)target;
  PetscCheck(ctx->frequency > 0, p->comm, PETSC_ERR_ARG_OUTOFRANGE, "-regression_frequency must be positive, got %g", (double)ctx->frequency);
  if (p->n_terms == 0) {
    PetscCall(ProblemSetBox(p, 0.0, 1.0));
    PetscCall(ProblemAddTerm(p, "data", 0, 1, 200, 1.0, 0, NULL, -1, NULL));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode View_Regression(Problem p, PetscViewer viewer)
{
  Regression *ctx = (Regression *)p->data;

  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, ", target %s (frequency %g)", RegressionTargets[ctx->target], (double)ctx->frequency));
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode ProblemCreate_Regression(Problem p)
{
  Regression *ctx;

  PetscFunctionBegin;
  PetscCall(PetscNew(&ctx));
  ctx->target           = REGRESSION_SIN_PROD;
  ctx->frequency        = 1.0;
  p->data               = ctx;
  p->ops.setfromoptions = SetFromOptions_Regression;
  p->ops.view           = View_Regression;
  p->ops.destroy        = ProblemDestroyDefault;
  p->ops.pointdata      = PointData_Regression;
  p->ops.residual       = Residual_Regression;
  p->ops.exact          = Exact_Regression;
  p->linear_residual    = PETSC_TRUE;
  PetscFunctionReturn(0);
}
