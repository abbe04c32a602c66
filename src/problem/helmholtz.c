/* The Helmholtz equation  -Laplace(u) - k^2 u = f  on [0,1]^d with Dirichlet data, from the
   manufactured solution
     u* = prod_i sin(m pi x_i),   f = (d m^2 pi^2 - k^2) u*,   g = u* = 0 on the boundary
   (k = -helmholtz_k, m = -helmholtz_mode). For k^2 above the smallest Dirichlet eigenvalue
   d pi^2 the operator is indefinite; k^2 equal to an eigenvalue pi^2 (m_1^2 + ... + m_d^2) leaves
   the solution non-unique and is refused.
   Terms: interior  r = -Laplace(u) - k^2 u - f,   boundary  r = u - g.

   This file is the worked example of README's "Adding your own PDE". */
#include <engd/private/problemimpl.h>

typedef struct {
  PetscReal k;    /* wave number */
  PetscInt  mode; /* m */
} Helmholtz;

/* u* and, if grad != NULL, its gradient grad[i*stride] at one point. */
static PetscReal HelmholtzExact(const Helmholtz *ctx, PetscInt d, const PetscReal *x, PetscReal *grad, PetscInt stride)
{
  const PetscReal w = ctx->mode * PETSC_PI;
  PetscReal       u;

  ProblemSineProduct(d, x, 1.0, w, w, &u, grad, stride, NULL);
  return u;
}

/* Whether k^2 is a Dirichlet eigenvalue of -Laplace on the unit box: k^2 = pi^2 n with n a sum of
   d squares of positive integers. */
static PetscErrorCode HelmholtzResonant(PetscReal k, PetscInt d, PetscBool *resonant)
{
  const PetscReal ratio = k * k / (PETSC_PI * PETSC_PI);
  const PetscInt  n     = (PetscInt)PetscFloorReal(ratio + 0.5);
  PetscBool      *ways, *next;

  PetscFunctionBegin;
  *resonant = PETSC_FALSE;
  if (PetscAbsReal(ratio - n) > 1e-8 * PetscMax(1.0, ratio) || n < d || n > 100000) PetscFunctionReturn(0);
  PetscCall(PetscMalloc2(n + 1, &ways, n + 1, &next));
  for (PetscInt v = 0; v <= n; v++) ways[v] = v == 0 ? PETSC_TRUE : PETSC_FALSE; /* sums of 0 squares */
  for (PetscInt j = 0; j < d; j++) { /* sums of j + 1 squares */
    for (PetscInt v = 0; v <= n; v++) {
      next[v] = PETSC_FALSE;
      for (PetscInt m = 1; m * m <= v && !next[v]; m++) next[v] = ways[v - m * m];
    }
    PetscCall(PetscArraycpy(ways, next, n + 1));
  }
  *resonant = ways[n];
  PetscCall(PetscFree2(ways, next));
  PetscFunctionReturn(0);
}

/* Data that do not depend on the network, once per point set: f (interior, term 0), g (boundary). */
static PetscErrorCode PointData_Helmholtz(Problem p, PetscInt t, PetscInt n, const PetscReal *x, PetscReal *data)
{
  const Helmholtz *ctx = (const Helmholtz *)p->data;
  const PetscReal  w = ctx->mode * PETSC_PI, lambda = p->dim * w * w - ctx->k * ctx->k;

  PetscFunctionBegin;
  for (PetscInt q = 0; q < n; q++) {
    const PetscReal u = HelmholtzExact(ctx, p->dim, x + q * p->dim, NULL, 0);
    data[q]           = t == 0 ? lambda * u : u;
  }
  PetscFunctionReturn(0);
}

/* Residuals from the network's channels out[s*n + q] (interior: u, d_1 u, ..., d_d u, Laplace u;
   boundary: u) and, if asked, their derivatives cot[s*n + q] = dr_q / d out_s. */
static PetscErrorCode Residual_Helmholtz(Problem p, PetscInt t, PetscInt n, const PetscReal *x, const PetscReal *data, const PetscReal *out, PetscReal *r, PetscReal *cot)
{
  const Helmholtz *ctx = (const Helmholtz *)p->data;
  const PetscReal  k2  = ctx->k * ctx->k;
  const PetscInt   S   = p->dim + 2;

  PetscFunctionBegin;
  if (t == 0) {
    for (PetscInt q = 0; q < n; q++) r[q] = -out[(S - 1) * n + q] - k2 * out[q] - data[q];
    if (cot) {
      PetscCall(PetscArrayzero(cot, S * n));
      for (PetscInt q = 0; q < n; q++) {
        cot[q]               = -k2;
        cot[(S - 1) * n + q] = -1.0;
      }
    }
  } else ProblemDataResidual(n, data, out, r, cot);
  PetscFunctionReturn(0);
}

/* u*(x) and its gradient grad[i*n + q] at the error-evaluation points. */
static PetscErrorCode Exact_Helmholtz(Problem p, PetscInt n, const PetscReal *x, PetscReal *u, PetscReal *grad)
{
  const Helmholtz *ctx = (const Helmholtz *)p->data;

  PetscFunctionBegin;
  for (PetscInt q = 0; q < n; q++) u[q] = HelmholtzExact(ctx, p->dim, x + q * p->dim, grad ? grad + q : NULL, n);
  PetscFunctionReturn(0);
}

/* Options, then the domain and the loss terms (once: SetFromOptions may run again). */
static PetscErrorCode SetFromOptions_Helmholtz(Problem p, PetscOptionItems *PetscOptionsObject)
{
  Helmholtz *ctx = (Helmholtz *)p->data;
  PetscBool  resonant;

  PetscFunctionBegin;
  PetscOptionsHeadBegin(PetscOptionsObject, "Helmholtz options");
  PetscCall(EngdOptionsReal("-helmholtz_k", "Wave number k", "ProblemCreate_Helmholtz", ctx->k, &ctx->k, NULL));
  PetscCall(EngdOptionsInt("-helmholtz_mode", "Frequency m of the exact solution prod_i sin(m pi x_i)", "ProblemCreate_Helmholtz", ctx->mode, &ctx->mode, NULL));
  PetscOptionsHeadEnd();
  PetscCheck(ctx->mode >= 1, p->comm, PETSC_ERR_ARG_OUTOFRANGE, "-helmholtz_mode must be positive, got %" PetscInt_FMT, ctx->mode);
  PetscCall(HelmholtzResonant(ctx->k, p->dim, &resonant));
  PetscCheck(!resonant, p->comm, PETSC_ERR_ARG_OUTOFRANGE, "-helmholtz_k %g: k^2 is a Dirichlet eigenvalue of -Laplace on the unit box (no unique solution)", (double)ctx->k);
  if (p->n_terms == 0) {
    PetscCall(ProblemSetBox(p, 0.0, 1.0));
    /* name, derivative order of the channels, data per point, default points and weight, faces
       (none: the interior); then u = g on every face */
    PetscCall(ProblemAddTerm(p, "interior", 2, 1, 900, 1.0, 0, NULL, -1, NULL));
    PetscCall(ProblemAddBoundaryTerm(p, 120, 1.0, NULL));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode View_Helmholtz(Problem p, PetscViewer viewer)
{
  const Helmholtz *ctx = (const Helmholtz *)p->data;

  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, ", k = %g, exact solution prod_i sin(%" PetscInt_FMT " pi x_i)", (double)ctx->k, ctx->mode));
  PetscFunctionReturn(0);
}

static PetscErrorCode Destroy_Helmholtz(Problem p)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(p->data));
  PetscFunctionReturn(0);
}

/* The constructor registered as "helmholtz" in problem.c. */
PETSC_EXTERN PetscErrorCode ProblemCreate_Helmholtz(Problem p)
{
  Helmholtz *ctx;

  PetscFunctionBegin;
  PetscCall(PetscNew(&ctx));
  ctx->k                = 6.0;
  ctx->mode             = 1;
  p->data               = ctx;
  p->ops.setfromoptions = SetFromOptions_Helmholtz;
  p->ops.view           = View_Helmholtz;
  p->ops.destroy        = Destroy_Helmholtz;
  p->ops.pointdata      = PointData_Helmholtz;
  p->ops.residual       = Residual_Helmholtz;
  p->linear_residual = PETSC_TRUE;
  p->ops.exact          = Exact_Helmholtz;
  PetscFunctionReturn(0);
}
