/* A semilinear Poisson problem  -Laplace(u) + u^3 = f  on [0,1]^d with Dirichlet data, from the
   manufactured solution
     u* = A prod_i sin(pi x_i),   f = d pi^2 u* + u*^3,   g = u* = 0 on the boundary
   (A = -nonlinear_amplitude, default 1; with A = 1 the cubic term is at most 1/(d pi^2) of the
   linear one, with A = 5 in 2-D they are of the same size).
   Terms: interior  r = -Laplace(u) + u^3 - f,   boundary  r = u - g.
   The interior residual is nonlinear in the channels; its cotangents are the Gauss-Newton
   linearisation dr/d(u, d_i u, Laplace u) = (3u^2, 0, ..., 0, -1), so that the Jacobian rows are
   those of the linearised operator -Laplace(v) + 3u^2 v applied to d u/d theta. */
#include <engd/private/problemimpl.h>

typedef struct {
  PetscReal amplitude;
} Nonlinear;

/* interior: f = -Laplace(u*) + u*^3; boundary: g = u* */
static PetscErrorCode PointData_Nonlinear(Problem p, PetscInt t, PetscInt n, const PetscReal *x, PetscReal *data)
{
  const Nonlinear *ctx = (const Nonlinear *)p->data;

  PetscFunctionBegin;
  for (PetscInt q = 0; q < n; q++) {
    PetscReal u, lap;
    ProblemSineProduct(p->dim, x + q * p->dim, ctx->amplitude, PETSC_PI, PETSC_PI, &u, NULL, 0, &lap);
    data[q] = t == 0 ? -lap + u * u * u : u;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode Residual_Nonlinear(Problem p, PetscInt t, PetscInt n, const PetscReal *x, const PetscReal *data, const PetscReal *out, PetscReal *r, PetscReal *cot)
{
  PetscFunctionBegin;
  if (t == 0) { /* interior: channels u, grad u, Laplace u */
    const PetscInt S = p->dim + 2;
    for (PetscInt q = 0; q < n; q++) {
      const PetscReal u = out[q];
      r[q]              = -out[(S - 1) * n + q] + u * u * u - data[q];
    }
    if (cot) {
      PetscCall(PetscArrayzero(cot, S * n));
      for (PetscInt q = 0; q < n; q++) {
        cot[q]               = 3.0 * out[q] * out[q];
        cot[(S - 1) * n + q] = -1.0;
      }
    }
  } else ProblemDataResidual(n, data, out, r, cot); /* boundary: channel u */
  PetscFunctionReturn(0);
}

/* d^2 r / d u^2 = 6 u in the interior (u^3), affine elsewhere */
static PetscErrorCode ResidualCurvature_Nonlinear(Problem p, PetscInt t, PetscInt n, const PetscReal *x, const PetscReal *data, const PetscReal *out, PetscReal *d2r)
{
  const PetscInt S = t == 0 ? p->dim + 2 : 1;

  PetscFunctionBegin;
  PetscCall(PetscArrayzero(d2r, S * n));
  for (PetscInt q = 0; t == 0 && q < n; q++) d2r[q] = 6.0 * out[q];
  PetscFunctionReturn(0);
}

static PetscErrorCode Exact_Nonlinear(Problem p, PetscInt n, const PetscReal *x, PetscReal *u, PetscReal *grad)
{
  const Nonlinear *ctx = (const Nonlinear *)p->data;

  PetscFunctionBegin;
  for (PetscInt q = 0; q < n; q++) ProblemSineProduct(p->dim, x + q * p->dim, ctx->amplitude, PETSC_PI, PETSC_PI, &u[q], grad ? grad + q : NULL, n, NULL);
  PetscFunctionReturn(0);
}

static PetscErrorCode SetFromOptions_Nonlinear(Problem p, PetscOptionItems *PetscOptionsObject)
{
  Nonlinear *ctx = (Nonlinear *)p->data;

  PetscFunctionBegin;
  PetscOptionsHeadBegin(PetscOptionsObject, "Nonlinear Poisson options");
  PetscCall(EngdOptionsReal("-nonlinear_amplitude", "Amplitude A of the exact solution A prod_i sin(pi x_i)", "ProblemCreate_Nonlinear", ctx->amplitude, &ctx->amplitude, NULL));
  PetscOptionsHeadEnd();
  PetscCheck(ctx->amplitude != 0, p->comm, PETSC_ERR_ARG_OUTOFRANGE, "-nonlinear_amplitude must be nonzero (the errors are relative to u*)");
  if (p->n_terms == 0) {
    PetscCall(ProblemSetBox(p, 0.0, 1.0));
    PetscCall(ProblemAddTerm(p, "interior", 2, 1, 900, 1.0, 0, NULL, -1, NULL));
    PetscCall(ProblemAddBoundaryTerm(p, 120, 1.0, NULL));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode View_Nonlinear(Problem p, PetscViewer viewer)
{
  const Nonlinear *ctx = (const Nonlinear *)p->data;

  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, ", -Laplace(u) + u^3 = f, exact solution %g prod_i sin(pi x_i)", (double)ctx->amplitude));
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode ProblemCreate_Nonlinear(Problem p)
{
  Nonlinear *ctx;

  PetscFunctionBegin;
  PetscCall(PetscNew(&ctx));
  ctx->amplitude        = 1.0;
  p->data               = ctx;
  p->ops.setfromoptions = SetFromOptions_Nonlinear;
  p->ops.view           = View_Nonlinear;
  p->ops.destroy        = ProblemDestroyDefault;
  p->ops.pointdata      = PointData_Nonlinear;
  p->ops.residual       = Residual_Nonlinear;
  p->ops.residualcurvature = ResidualCurvature_Nonlinear;
  p->ops.exact          = Exact_Nonlinear;
  PetscFunctionReturn(0);
}
