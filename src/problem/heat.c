/* The heat equation  d_t u - kappa Laplace_x u = 0  on (t, x) in (0,1) x (0,1)^d.

   Time is coordinate 0 and -dim is the dimension of the whole space-time box, 1 + d (the network's
   input dimension): -dim 2 is the (1+1)-D case, -dim 5 the (4+1)-D one. The interior residual
   needs d_t u, which is the gradient channel d_0 u, and kappa Laplace_x u, which is the
   second-order channel sum_i c_i d_ii u with trace weights c = (0, kappa, ..., kappa).

   Exact solutions (-heat_solution), both with zero source:
     sin_prod  u* = exp(-kappa d pi^2 t) prod_{i>=1} sin(pi x_i)   zero on the spatial faces;
               with d = 1, kappa = 1/4: exp(-pi^2 t/4) sin(pi x), the ENGD paper's (1+1)-D case
     sin_sum   u* = exp(-4 kappa t) sum_{i>=1} sin(2 x_i)
               with d = 4, kappa = 1/4: exp(-t) sum sin(2 x_i), the KFAC paper's (4+1)-D case
   Terms (each with -n_<term>, -<term>_weight):
     interior  r = d_t u - kappa Laplace_x u                    (0,1)^(1+d)
     boundary  r = u - u*  on the spatial faces x_i in {0, 1}, i >= 1, at times t in (0,1)
     initial   r = u - u*  on the face t = 0
   Default points: 900 interior, 80 boundary (40 per face in 1+1 D), 40 initial: the same density
   on all three edges of the (1+1)-D parabolic boundary. */
#include <engd/private/problemimpl.h>

typedef enum { HEAT_SIN_PROD, HEAT_SIN_SUM } HeatSolution;
static const char *const HeatSolutions[] = {"sin_prod", "sin_sum", "HeatSolution", "HEAT_", NULL};

typedef struct {
  HeatSolution solution;
  PetscReal    kappa;
} Heat;

/* u* and, if grad != NULL, its gradient (time first) grad[i*stride] at one point. */
static void HeatExactPoint(const Heat *ctx, PetscInt dim, const PetscReal *x, PetscReal *u, PetscReal *grad, PetscInt stride)
{
  const PetscReal pi = PETSC_PI, t = x[0];
  const PetscInt  d  = dim - 1;

  if (ctx->solution == HEAT_SIN_PROD) {
    const PetscReal rate = ctx->kappa * (PetscReal)d * pi * pi, decay = PetscExpReal(-rate * t);
    PetscReal       prod;
    ProblemSineProduct(d, x + 1, 1.0, pi, decay * pi, &prod, grad ? grad + stride : NULL, stride, NULL);
    *u = decay * prod;
    if (grad) grad[0] = -rate * *u;
  } else {
    const PetscReal rate = 4.0 * ctx->kappa, decay = PetscExpReal(-rate * t);
    PetscReal       sum = 0.0;
    for (PetscInt i = 1; i < dim; i++) sum += PetscSinReal(2.0 * x[i]);
    *u = decay * sum;
    if (!grad) return;
    grad[0] = -rate * *u;
    for (PetscInt i = 1; i < dim; i++) grad[i * stride] = 2.0 * decay * PetscCosReal(2.0 * x[i]);
  }
}

/* boundary and initial terms: g = u* (the interior term has no data: the source is zero) */
static PetscErrorCode PointData_Heat(Problem p, PetscInt t, PetscInt n, const PetscReal *x, PetscReal *data)
{
  const Heat *ctx = (const Heat *)p->data;

  PetscFunctionBegin;
  for (PetscInt q = 0; q < n; q++) HeatExactPoint(ctx, p->dim, x + q * p->dim, &data[q], NULL, 0);
  PetscFunctionReturn(0);
}

static PetscErrorCode Residual_Heat(Problem p, PetscInt t, PetscInt n, const PetscReal *x, const PetscReal *data, const PetscReal *out, PetscReal *r, PetscReal *cot)
{
  PetscFunctionBegin;
  if (t == 0) { /* interior: channels u, d_t u, d_x u, kappa Laplace_x u */
    const PetscInt S = p->dim + 2;
    for (PetscInt q = 0; q < n; q++) r[q] = out[n + q] - out[(S - 1) * n + q];
    if (cot) {
      PetscCall(PetscArrayzero(cot, S * n));
      for (PetscInt q = 0; q < n; q++) {
        cot[n + q]           = 1.0;
        cot[(S - 1) * n + q] = -1.0;
      }
    }
  } else ProblemDataResidual(n, data, out, r, cot); /* boundary or initial: channel u */
  PetscFunctionReturn(0);
}

static PetscErrorCode Exact_Heat(Problem p, PetscInt n, const PetscReal *x, PetscReal *u, PetscReal *grad)
{
  const Heat *ctx = (const Heat *)p->data;

  PetscFunctionBegin;
  for (PetscInt q = 0; q < n; q++) HeatExactPoint(ctx, p->dim, x + q * p->dim, &u[q], grad ? grad + q : NULL, n);
  PetscFunctionReturn(0);
}

static PetscErrorCode SetFromOptions_Heat(Problem p, PetscOptionItems *PetscOptionsObject)
{
  Heat    *ctx = (Heat *)p->data;
  PetscInt sol = (PetscInt)ctx->solution;

  PetscFunctionBegin;
  PetscOptionsHeadBegin(PetscOptionsObject, "Heat equation options (-dim is 1 + the spatial dimension)");
  PetscCall(EngdOptionsEList("-heat_solution", "Exact solution", "ProblemCreate_Heat", HeatSolutions, 2, HeatSolutions[sol], &sol, NULL));
  PetscCall(EngdOptionsReal("-heat_kappa", "Heat conductivity kappa", "ProblemCreate_Heat", ctx->kappa, &ctx->kappa, NULL));
  PetscOptionsHeadEnd();
  ctx->solution = (HeatSolution)sol;
  PetscCheck(p->dim >= 2, p->comm, PETSC_ERR_ARG_OUTOFRANGE, "-problem heat needs -dim >= 2 (time plus at least one space dimension), got %" PetscInt_FMT, p->dim);
  PetscCheck(ctx->kappa > 0, p->comm, PETSC_ERR_ARG_OUTOFRANGE, "-heat_kappa must be positive, got %g", (double)ctx->kappa);
  PetscCall(PetscFree(p->trace_weights));
  PetscCall(PetscMalloc1(p->dim, &p->trace_weights));
  p->trace_weights[0] = 0.0;
  for (PetscInt i = 1; i < p->dim; i++) p->trace_weights[i] = ctx->kappa;
  if (p->n_terms == 0) {
    PetscInt *space, time = 0;
    PetscCall(ProblemSetBox(p, 0.0, 1.0));
    PetscCall(ProblemAddTerm(p, "interior", 2, 0, 900, 1.0, 0, NULL, -1, NULL));
    PetscCall(PetscMalloc1(p->dim - 1, &space));
    for (PetscInt i = 1; i < p->dim; i++) space[i - 1] = i;
    PetscCall(ProblemAddTerm(p, "boundary", 0, 1, 80, 1.0, p->dim - 1, space, -1, NULL));
    PetscCall(PetscFree(space));
    PetscCall(ProblemAddTerm(p, "initial", 0, 1, 40, 1.0, 1, &time, 0, NULL));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode View_Heat(Problem p, PetscViewer viewer)
{
  const Heat *ctx = (const Heat *)p->data;

  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, " = (1+%" PetscInt_FMT ")-D space-time (coordinate 0 is t), kappa %g, exact solution %s", p->dim - 1, (double)ctx->kappa, HeatSolutions[ctx->solution]));
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode ProblemCreate_Heat(Problem p)
{
  Heat *ctx;

  PetscFunctionBegin;
  PetscCall(PetscNew(&ctx));
  ctx->solution         = HEAT_SIN_PROD;
  ctx->kappa            = 0.25;
  p->data               = ctx;
  p->ops.setfromoptions = SetFromOptions_Heat;
  p->ops.view           = View_Heat;
  p->ops.destroy        = ProblemDestroyDefault;
  p->ops.pointdata      = PointData_Heat;
  p->ops.residual       = Residual_Heat;
  p->linear_residual = PETSC_TRUE;
  p->ops.exact          = Exact_Heat;
  PetscFunctionReturn(0);
}
