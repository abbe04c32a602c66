/* Deep Ritz problems (E & Yu 2018; the ENGD paper, Mueller & Zeinhofer, ICML 2023, Sec. 4):
   the loss is a quadrature of an energy density e(x, v, grad v) (an energy term, problem.h),
   plus least-squares boundary penalties.

   ritz1d        E(v) = int_{-1}^{1} 1/2 |v'|^2 + 1/4 v^4 - f v dx,  f = pi^2 cos(pi x) + cos^3(pi x),
                 minimiser u* = cos(pi x) (Euler-Lagrange: -v'' + v^3 = f, natural Neumann
                 boundary v'(+-1) = 0 = u*'(+-1), so no boundary term). Composite trapezoid rule
                 on the grid of nodes with both ends (-sampler grid): weights h, h/2 at the ends.
                 Channels (v, v'): De = (v^3 - f, v'), D^2e = diag(3 v^2, 1).
   ritz_poisson  E(v) = int_{[0,1]^d} 1/2 |grad v|^2 - f v dx + lambda/(2 N_b) sum_b (v - g)^2,
                 u* = prod_i sin(pi x_i), f = d pi^2 u*, g = u*; the interior quadrature has
                 weights |Omega|/N (grid cell centres or uniform points), the boundary penalty
                 is an ordinary least-squares term with weight lambda = -boundary_weight.
                 Channels (v, grad v): De = (-f, grad v), D^2e = diag(0, 1, ..., 1).
   Point data of the energy terms: (quadrature weight, f). */
#include <engd/private/problemimpl.h>

typedef enum { RITZ_1D, RITZ_POISSON } RitzType;

typedef struct {
  RitzType type;
} Ritz;

/* u*(x) at one point and, if grad != NULL, its gradient grad[i*stride]; if f != NULL, *f is the
   source. */
static void RitzExactPoint(RitzType type, PetscInt d, const PetscReal *x, PetscReal *u, PetscReal *grad, PetscInt stride, PetscReal *f)
{
  const PetscReal pi = PETSC_PI;
  PetscReal       lap;

  if (type == RITZ_1D) {
    const PetscReal c = PetscCosReal(pi * x[0]);
    *u = c;
    if (grad) grad[0] = -pi * PetscSinReal(pi * x[0]);
    if (f) *f = pi * pi * c + c * c * c;
    return;
  }
  ProblemSineProduct(d, x, 1.0, pi, pi, u, grad, stride, f ? &lap : NULL);
  /* f = -Laplace(u*) = d pi^2 u*, the same bits: rounding commutes with the sign */
  if (f) *f = -lap;
}

/* energy term: (w_q, f); boundary term (ritz_poisson): g = u* */
static PetscErrorCode PointData_Ritz(Problem p, PetscInt t, PetscInt n, const PetscReal *x, PetscReal *data)
{
  Ritz              *ctx  = (Ritz *)p->data;
  const ProblemTerm *term = &p->terms[t];
  const PetscInt     d    = p->dim;
  PetscReal          volume = 1.0, h = 0.0;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < d; i++) volume *= p->upper[i] - p->lower[i];
  if (term->grid_nodes) h = (p->upper[0] - p->lower[0]) / (PetscReal)(term->n_points - 1);
  for (PetscInt q = 0; q < n; q++) {
    PetscReal u, f;
    RitzExactPoint(ctx->type, d, x + q * d, &u, NULL, 0, &f);
    if (term->kind != PROBLEM_TERM_ENERGY) {
      data[q] = u;
      continue;
    }
    if (term->grid_nodes) { /* composite trapezoid rule in 1-D */
      const PetscBool end = x[q * d] == p->lower[0] || x[q * d] == p->upper[0] ? PETSC_TRUE : PETSC_FALSE;
      data[2 * q] = end ? 0.5 * h : h;
    } else data[2 * q] = volume / (PetscReal)term->n_points;
    data[2 * q + 1] = f;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode Energy_Ritz(Problem p, PetscInt t, PetscInt n, const PetscReal *x, const PetscReal *data, const PetscReal *out, PetscReal *e, PetscReal *de, PetscReal *d2e)
{
  Ritz          *ctx = (Ritz *)p->data;
  const PetscInt d   = p->dim;

  PetscFunctionBegin;
  for (PetscInt q = 0; q < n; q++) {
    const PetscReal v = out[q], f = data[2 * q + 1];
    PetscReal       grad_sq = 0.0;
    for (PetscInt i = 0; i < d; i++) grad_sq += out[(1 + i) * n + q] * out[(1 + i) * n + q];
    e[q] = 0.5 * grad_sq - f * v + (ctx->type == RITZ_1D ? 0.25 * v * v * v * v : 0.0);
    if (de) {
      de[q] = (ctx->type == RITZ_1D ? v * v * v : 0.0) - f;
      for (PetscInt i = 0; i < d; i++) de[(1 + i) * n + q] = out[(1 + i) * n + q];
    }
    if (d2e) {
      d2e[q] = ctx->type == RITZ_1D ? 3.0 * v * v : 0.0;
      for (PetscInt i = 0; i < d; i++) d2e[(1 + i) * n + q] = 1.0;
    }
  }
  PetscFunctionReturn(0);
}

/* boundary penalty of ritz_poisson: r = u - g */
static PetscErrorCode Residual_Ritz(Problem p, PetscInt t, PetscInt n, const PetscReal *x, const PetscReal *data, const PetscReal *out, PetscReal *r, PetscReal *cot)
{
  PetscFunctionBegin;
  PetscCheck(p->terms[t].kind == PROBLEM_TERM_LEAST_SQUARES, p->comm, PETSC_ERR_ARG_WRONG, "Term %s is an energy term, it has no residual", p->terms[t].name);
  ProblemDataResidual(n, data, out, r, cot);
  PetscFunctionReturn(0);
}

static PetscErrorCode Exact_Ritz(Problem p, PetscInt n, const PetscReal *x, PetscReal *u, PetscReal *grad)
{
  Ritz *ctx = (Ritz *)p->data;

  PetscFunctionBegin;
  for (PetscInt q = 0; q < n; q++) RitzExactPoint(ctx->type, p->dim, x + q * p->dim, &u[q], grad ? grad + q : NULL, n, NULL);
  PetscFunctionReturn(0);
}

static PetscErrorCode SetFromOptions_Ritz(Problem p, PetscOptionItems *PetscOptionsObject)
{
  Ritz     *ctx = (Ritz *)p->data;
  PetscInt  term, dim;
  PetscBool set;

  PetscFunctionBegin;
  if (p->n_terms > 0) PetscFunctionReturn(0);
  if (ctx->type == RITZ_1D) {
    PetscCall(EngdOptionsGetInt(p->comm, NULL, "-dim", &dim, &set));
    PetscCheck(!set || dim == 1, p->comm, PETSC_ERR_ARG_INCOMP, "-problem ritz1d is one-dimensional: drop -dim or use -dim 1 (got %" PetscInt_FMT ")", dim);
    p->dim = 1;
    PetscCall(ProblemSetBox(p, -1.0, 1.0));
    PetscCall(ProblemAddTerm(p, "interior", 1, 2, 20000, 1.0, 0, NULL, -1, &term));
    p->terms[term].kind       = PROBLEM_TERM_ENERGY;
    p->terms[term].grid_nodes = PETSC_TRUE;
  } else {
    PetscCall(ProblemSetBox(p, 0.0, 1.0));
    PetscCall(ProblemAddTerm(p, "interior", 1, 2, 900, 1.0, 0, NULL, -1, &term));
    p->terms[term].kind = PROBLEM_TERM_ENERGY;
    PetscCall(ProblemAddBoundaryTerm(p, 120, 1e4, NULL));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode View_Ritz(Problem p, PetscViewer viewer)
{
  Ritz *ctx = (Ritz *)p->data;

  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, ctx->type == RITZ_1D ? ", deep Ritz: 1/2|v'|^2 + 1/4 v^4 - f v, u* = cos(pi x), trapezoid rule" : ", deep Ritz: 1/2|grad v|^2 - f v + boundary penalty, u* = prod sin(pi x_i)"));
  PetscFunctionReturn(0);
}

static PetscErrorCode ProblemCreate_Ritz(Problem p, RitzType type)
{
  Ritz *ctx;

  PetscFunctionBegin;
  PetscCall(PetscNew(&ctx));
  ctx->type              = type;
  p->data                = ctx;
  p->ops.setfromoptions  = SetFromOptions_Ritz;
  p->ops.view            = View_Ritz;
  p->ops.destroy         = ProblemDestroyDefault;
  p->ops.pointdata       = PointData_Ritz;
  p->ops.residual        = Residual_Ritz;
  p->linear_residual = PETSC_TRUE;
  p->ops.energy          = Energy_Ritz;
  p->ops.exact           = Exact_Ritz;
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode ProblemCreate_Ritz1d(Problem p)
{
  PetscFunctionBegin;
  PetscCall(ProblemCreate_Ritz(p, RITZ_1D));
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode ProblemCreate_RitzPoisson(Problem p)
{
  PetscFunctionBegin;
  PetscCall(ProblemCreate_Ritz(p, RITZ_POISSON));
  PetscFunctionReturn(0);
}
