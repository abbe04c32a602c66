/* Poisson's equation  -Laplace(u) = f  on [0,1]^d with Dirichlet data from the exact solution
     sin_prod  u* = prod_i sin(pi x_i)   (the ENGD paper's 2-D case)
     sin_sum   u* = sum_i sin(pi x_i)
     cos_sum   u* = sum_i cos(pi x_i)    (the KFAC paper's 5-D case)
     bilinear  u* = sum_{k=1}^{d/2} x_{2k-1} x_{2k}, f = 0, d even   (the KFAC paper's 10-D case)
     norm_sq   u* = |x|^2, f = -2d                                   (the KFAC paper's 100-D case)
   (the last two are E and Yu's deep Ritz examples, arXiv:1710.00211).
   Terms: interior  r = -Laplace(u) - f,   boundary  r = u - g. */
#include <engd/private/problemimpl.h>

typedef enum { POISSON_SIN_PROD, POISSON_SIN_SUM, POISSON_COS_SUM, POISSON_BILINEAR, POISSON_NORM_SQ } PoissonSolution;
static const char *const PoissonSolutions[] = {"sin_prod", "sin_sum", "cos_sum", "bilinear", "norm_sq", "PoissonSolution", "POISSON_", NULL};

typedef struct {
  PoissonSolution solution;
} Poisson;

/* u*, its gradient (grad[i*stride]) and Laplacian at one point; grad and lap may be NULL. */
static void PoissonExactPoint(PoissonSolution sol, PetscInt d, const PetscReal *x, PetscReal *u, PetscReal *grad, PetscInt stride, PetscReal *lap)
{
  const PetscReal pi    = PETSC_PI;
  PetscReal       value = 0.0;

  if (sol == POISSON_SIN_PROD) {
    ProblemSineProduct(d, x, 1.0, pi, pi, u, grad, stride, lap);
    return;
  }
  if (sol == POISSON_BILINEAR) { /* harmonic: pairs (x_{2k-1}, x_{2k}) in 1-based numbering */
    for (PetscInt k = 0; k + 1 < d; k += 2) {
      value += x[k] * x[k + 1];
      if (grad) {
        grad[k * stride]       = x[k + 1];
        grad[(k + 1) * stride] = x[k];
      }
    }
    *u = value;
    if (lap) *lap = 0.0;
    return;
  }
  if (sol == POISSON_NORM_SQ) {
    for (PetscInt i = 0; i < d; i++) {
      value += x[i] * x[i];
      if (grad) grad[i * stride] = 2.0 * x[i];
    }
    *u = value;
    if (lap) *lap = 2.0 * (PetscReal)d;
    return;
  }
  for (PetscInt i = 0; i < d; i++) value += sol == POISSON_SIN_SUM ? PetscSinReal(pi * x[i]) : PetscCosReal(pi * x[i]);
  for (PetscInt i = 0; grad && i < d; i++) grad[i * stride] = sol == POISSON_SIN_SUM ? pi * PetscCosReal(pi * x[i]) : -pi * PetscSinReal(pi * x[i]);
  *u = value;
  /* the sums are eigenfunctions too: Laplace(u*) = -pi^2 u* */
  if (lap) *lap = -pi * pi * value;
}

/* interior: f = -Laplace(u*); boundary: g = u* */
static PetscErrorCode PointData_Poisson(Problem p, PetscInt t, PetscInt n, const PetscReal *x, PetscReal *data)
{
  Poisson *ctx = (Poisson *)p->data;

  PetscFunctionBegin;
  for (PetscInt q = 0; q < n; q++) {
    PetscReal u, lap;
    PoissonExactPoint(ctx->solution, p->dim, x + q * p->dim, &u, NULL, 0, &lap);
    data[q] = t == 0 ? -lap : u;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode Residual_Poisson(Problem p, PetscInt t, PetscInt n, const PetscReal *x, const PetscReal *data, const PetscReal *out, PetscReal *r, PetscReal *cot)
{
  const PetscInt d = p->dim;

  PetscFunctionBegin;
  if (t == 0) { /* interior: channels u, grad u, Laplace u; r = -Laplace(u) - f */
    const PetscInt S = d + 2;
    for (PetscInt q = 0; q < n; q++) r[q] = -out[(S - 1) * n + q] - data[q];
    if (cot) {
      PetscCall(PetscArrayzero(cot, S * n));
      for (PetscInt q = 0; q < n; q++) cot[(S - 1) * n + q] = -1.0;
    }
  } else ProblemDataResidual(n, data, out, r, cot); /* boundary: channel u; r = u - g */
  PetscFunctionReturn(0);
}

static PetscErrorCode Exact_Poisson(Problem p, PetscInt n, const PetscReal *x, PetscReal *u, PetscReal *grad)
{
  Poisson *ctx = (Poisson *)p->data;

  PetscFunctionBegin;
  for (PetscInt q = 0; q < n; q++) PoissonExactPoint(ctx->solution, p->dim, x + q * p->dim, &u[q], grad ? grad + q : NULL, n, NULL);
  PetscFunctionReturn(0);
}

static PetscErrorCode SetFromOptions_Poisson(Problem p, PetscOptionItems *PetscOptionsObject)
{
  Poisson  *ctx = (Poisson *)p->data;
  PetscInt  sol = (PetscInt)ctx->solution;

  PetscFunctionBegin;
  PetscOptionsHeadBegin(PetscOptionsObject, "Poisson options");
  PetscCall(EngdOptionsEList("-solution", "Exact solution", "ProblemCreate_Poisson", PoissonSolutions, 5, PoissonSolutions[sol], &sol, NULL));
  PetscOptionsHeadEnd();
  ctx->solution = (PoissonSolution)sol;
  PetscCheck(ctx->solution != POISSON_BILINEAR || p->dim % 2 == 0, p->comm, PETSC_ERR_ARG_INCOMP, "-solution bilinear needs an even -dim, got %" PetscInt_FMT, p->dim);
  if (p->n_terms == 0) {
    PetscCall(ProblemSetBox(p, 0.0, 1.0));
    PetscCall(ProblemAddTerm(p, "interior", 2, 1, 900, 1.0, 0, NULL, -1, NULL));
    PetscCall(ProblemAddBoundaryTerm(p, 120, 1.0, NULL));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode View_Poisson(Problem p, PetscViewer viewer)
{
  Poisson *ctx = (Poisson *)p->data;

  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, ", exact solution %s", PoissonSolutions[ctx->solution]));
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode ProblemCreate_Poisson(Problem p)
{
  Poisson *ctx;

  PetscFunctionBegin;
  PetscCall(PetscNew(&ctx));
  ctx->solution          = POISSON_SIN_PROD;
  p->data                = ctx;
  p->ops.setfromoptions  = SetFromOptions_Poisson;
  p->ops.view            = View_Poisson;
  p->ops.destroy         = ProblemDestroyDefault;
  p->ops.pointdata       = PointData_Poisson;
  p->ops.residual        = Residual_Poisson;
  p->linear_residual = PETSC_TRUE;
  p->ops.exact           = Exact_Poisson;
  PetscFunctionReturn(0);
}
