/* The PDE problems beyond 2-D Poisson (heat in 1+1, 2+1 and 4+1 D, Poisson bilinear in 10-D
   and norm_sq in 100-D, the nonlinear Poisson problem, Helmholtz), each on the full stack built
   as bin/engd builds it. The test carries its own formulas for every exact solution and its own
   copy of every differential operator, and differentiates only with finite differences, so none
   of the problem's analytic derivatives is trusted. Checks, for every case:
     (a) terms: names, orders, faces (heat: the spatial faces for the boundary, t = 0 for the
         initial term), trace weights (heat: 0 for time, kappa for space; else the Laplacian),
         and every face point lies on one of its term's faces;
     (b) ProblemExactSolution equals the test's formula of u* (e.g. exp(-pi^2 t/4) sin(pi x)) and
         its gradient equals central differences of u*;
     (c) the manufactured data: at the interior points the test's operator applied to u* by
         finite differences equals the source f the problem stores (f = 0 for heat), and the
         problem's residual of the finite-difference channels of u* vanishes; on the faces the
         data equal u*;
     (d) residual cotangents dr/d(channel) against central differences of ProblemResidual in
         each channel (for the nonlinear problem: the Gauss-Newton linearisation 3u^2, -1);
     (e) the Objective's residuals of a network u_theta equal the test's operator applied to
         u_theta by finite differences in x, minus f (interior), or u_theta - u* (faces): this
         checks the Taylor-mode channels used, including d_t u and the weighted trace for heat
         and the 102 channels of the 100-D case;
     (f) Jacobian rows against central differences of the residuals in theta. */
/* ranks: 1 3 */
#include "stack.h"

typedef struct Case Case;
struct Case {
  const char *name;
  const char *options[32]; /* name, value pairs, NULL-terminated */
  PetscReal   param;       /* heat: kappa; helmholtz: k */
  PetscReal   amplitude;   /* nonlinear, helmholtz: u* = amplitude prod_i sin(mode pi x_i) */
  PetscInt    mode;
  /* the test's own u* and differential operator L (applied to u, its gradient and d_ii u) */
  PetscReal (*exact)(const Case *, PetscInt dim, const PetscReal *x);
  PetscReal (*op)(const Case *, PetscInt dim, PetscReal u, const PetscReal *grad, const PetscReal *hess_diag);
  PetscBool heat;
};

static PetscReal ExactHeatSinProd(const Case *cs, PetscInt dim, const PetscReal *x)
{
  PetscReal u = PetscExpReal(-cs->param * (dim - 1) * PETSC_PI * PETSC_PI * x[0]);
  for (PetscInt i = 1; i < dim; i++) u *= PetscSinReal(PETSC_PI * x[i]);
  return u;
}
static PetscReal ExactHeatSinSum(const Case *cs, PetscInt dim, const PetscReal *x)
{
  PetscReal s = 0;
  for (PetscInt i = 1; i < dim; i++) s += PetscSinReal(2 * x[i]);
  return PetscExpReal(-4 * cs->param * x[0]) * s;
}
static PetscReal ExactBilinear(const Case *cs, PetscInt dim, const PetscReal *x)
{
  PetscReal u = 0;
  for (PetscInt k = 1; k <= dim / 2; k++) u += x[2 * k - 2] * x[2 * k - 1]; /* x_{2k-1} x_{2k}, 1-based */
  return u;
}
static PetscReal ExactNormSq(const Case *cs, PetscInt dim, const PetscReal *x)
{
  PetscReal u = 0;
  for (PetscInt i = 0; i < dim; i++) u += x[i] * x[i];
  return u;
}
static PetscReal ExactSinProd(const Case *cs, PetscInt dim, const PetscReal *x)
{
  PetscReal u = cs->amplitude;
  for (PetscInt i = 0; i < dim; i++) u *= PetscSinReal(cs->mode * PETSC_PI * x[i]);
  return u;
}

static PetscReal OpHeat(const Case *cs, PetscInt dim, PetscReal u, const PetscReal *g, const PetscReal *h)
{
  PetscReal lap = 0;
  for (PetscInt i = 1; i < dim; i++) lap += h[i];
  return g[0] - cs->param * lap;
}
static PetscReal OpPoisson(const Case *cs, PetscInt dim, PetscReal u, const PetscReal *g, const PetscReal *h)
{
  PetscReal lap = 0;
  for (PetscInt i = 0; i < dim; i++) lap += h[i];
  return -lap;
}
static PetscReal OpNonlinear(const Case *cs, PetscInt dim, PetscReal u, const PetscReal *g, const PetscReal *h) { return OpPoisson(cs, dim, u, g, h) + u * u * u; }
static PetscReal OpHelmholtz(const Case *cs, PetscInt dim, PetscReal u, const PetscReal *g, const PetscReal *h) { return OpPoisson(cs, dim, u, g, h) - cs->param * cs->param * u; }

/* A scalar function of n points (dim x n): u* through the Problem, or the network. */
typedef struct {
  Problem          problem;
  Model            model;
  const PetscReal *theta;
  PetscReal       *buf;
} Scalar;

static PetscErrorCode ScalarEval(Scalar *f, PetscInt dim, PetscInt n, const PetscReal *x, PetscReal *u)
{
  PetscFunctionBeginUser;
  if (f->problem) {
    PetscCall(ProblemExactSolution(f->problem, n, x, u, NULL));
  } else {
    PetscInt bs;
    PetscCall(ModelGetBlockSize(f->model, &bs));
    for (PetscInt b = 0; b < n; b += bs) {
      const PetscInt nb = PetscMin(bs, n - b);
      PetscCall(ModelForward(f->model, f->theta, nb, x + b * dim, 0, NULL, PETSC_FALSE, f->buf));
      PetscCall(PetscArraycpy(u + b, f->buf, nb));
    }
  }
  PetscFunctionReturn(0);
}

/* u, central differences of the gradient (step h1) and second differences of d_ii u (step h2),
   grad[q*dim + i], hess[q*dim + i]. */
static PetscErrorCode FiniteDifferences(Scalar *f, PetscInt dim, PetscInt n, const PetscReal *x, PetscReal *u, PetscReal *grad, PetscReal *hess)
{
  const PetscReal h1 = 1e-5, h2 = 1e-4;
  PetscReal      *xs, *up, *um;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc3(dim * n, &xs, n, &up, n, &um));
  PetscCall(ScalarEval(f, dim, n, x, u));
  for (PetscInt i = 0; i < dim; i++) {
    PetscCall(PetscArraycpy(xs, x, dim * n));
    for (PetscInt q = 0; q < n; q++) xs[q * dim + i] = x[q * dim + i] + h1;
    PetscCall(ScalarEval(f, dim, n, xs, up));
    for (PetscInt q = 0; q < n; q++) xs[q * dim + i] = x[q * dim + i] - h1;
    PetscCall(ScalarEval(f, dim, n, xs, um));
    for (PetscInt q = 0; q < n; q++) grad[q * dim + i] = (up[q] - um[q]) / (2 * h1);
    for (PetscInt q = 0; q < n; q++) xs[q * dim + i] = x[q * dim + i] + h2;
    PetscCall(ScalarEval(f, dim, n, xs, up));
    for (PetscInt q = 0; q < n; q++) xs[q * dim + i] = x[q * dim + i] - h2;
    PetscCall(ScalarEval(f, dim, n, xs, um));
    for (PetscInt q = 0; q < n; q++) hess[q * dim + i] = (up[q] - 2 * u[q] + um[q]) / (h2 * h2);
  }
  PetscCall(PetscFree3(xs, up, um));
  PetscFunctionReturn(0);
}

/* Network channels (u, d_i u, sum_i c_i d_ii u) of order 2 from finite differences. */
static void ChannelsFromDifferences(PetscInt dim, PetscInt n, const PetscReal *c, const PetscReal *u, const PetscReal *grad, const PetscReal *hess, PetscReal *out)
{
  const PetscInt S = dim + 2;
  for (PetscInt q = 0; q < n; q++) {
    out[q]               = u[q];
    out[(S - 1) * n + q] = 0;
    for (PetscInt i = 0; i < dim; i++) {
      out[(1 + i) * n + q] = grad[q * dim + i];
      out[(S - 1) * n + q] += (c ? c[i] : 1.0) * hess[q * dim + i];
    }
  }
}

/* (a) */
static PetscErrorCode CheckTerms(const Case *cs, Problem problem, Objective objective)
{
  PetscInt         dim, n_terms;
  const PetscReal *c, *lower, *upper;
  PetscReal        off_face = 0;

  PetscFunctionBeginUser;
  PetscCall(ProblemGetDimension(problem, &dim));
  PetscCall(ProblemGetNumTerms(problem, &n_terms));
  PetscCall(ProblemGetTraceWeights(problem, &c));
  PetscCall(ProblemGetDomain(problem, &lower, &upper));
  CHECK(n_terms == (cs->heat ? 3 : 2), "%s: %" PetscInt_FMT " terms", cs->name, n_terms);
  for (PetscInt i = 0; i < dim; i++) {
    const PetscReal want = cs->heat ? (i == 0 ? 0.0 : cs->param) : 1.0;
    CHECK((c ? c[i] : 1.0) == want, "%s: trace weight %" PetscInt_FMT " is %g, expected %g", cs->name, i, (double)(c ? c[i] : 1.0), (double)want);
    CHECK(lower[i] == 0.0 && upper[i] == 1.0, "%s: the domain is not the unit box in coordinate %" PetscInt_FMT, cs->name, i);
  }
  for (PetscInt t = 0; t < n_terms; t++) {
    const ProblemTerm *term;
    const PetscReal   *x;
    PetscInt           n;
    PetscCall(ProblemGetTerm(problem, t, &term));
    PetscCall(ObjectiveGetTermPoints(objective, t, &n, &x));
    if (t == 0) {
      CHECK(!strcmp(term->name, "interior") && term->order == 2 && term->n_faces == 0, "%s: term 0 is %s of order %" PetscInt_FMT " with %" PetscInt_FMT " faces", cs->name, term->name, term->order, term->n_faces);
      continue;
    }
    CHECK(term->order == 0 && term->n_data == 1, "%s: term %s has order %" PetscInt_FMT ", %" PetscInt_FMT " data", cs->name, term->name, term->order, term->n_data);
    if (t == 1) {
      const PetscInt first = cs->heat ? 1 : 0; /* heat: spatial faces only */
      CHECK(!strcmp(term->name, "boundary") && term->n_faces == 2 * (dim - first), "%s: term 1 is %s with %" PetscInt_FMT " faces", cs->name, term->name, term->n_faces);
      for (PetscInt k = 0; k < term->n_faces; k++) CHECK(term->face_coord[k] >= first, "%s: boundary face on coordinate %" PetscInt_FMT, cs->name, term->face_coord[k]);
    } else {
      CHECK(!strcmp(term->name, "initial") && term->n_faces == 1 && term->face_coord[0] == 0 && term->face_side[0] == 0, "%s: term 2 is %s, not the face t = 0", cs->name, term->name);
    }
    for (PetscInt q = 0; q < n; q++) {
      PetscReal dist = PETSC_MAX_REAL;
      for (PetscInt k = 0; k < term->n_faces; k++) {
        const PetscInt i = term->face_coord[k];
        dist             = PetscMin(dist, PetscAbsReal(x[q * dim + i] - (term->face_side[k] ? upper[i] : lower[i])));
      }
      off_face = PetscMax(off_face, dist);
    }
  }
  CHECK(off_face == 0, "%s: a face point is %.1e off its term's faces", cs->name, (double)off_face);
  PetscFunctionReturn(0);
}

/* (b), (c), (d) on this rank's points of every term */
static PetscErrorCode CheckProblemData(const Case *cs, Problem problem, Objective objective)
{
  PetscInt         dim, n_terms;
  const PetscReal *c;
  PetscReal        err_exact = 0, err_grad = 0, err_f = 0, err_res = 0, err_g = 0, err_cot = 0;
  Scalar           fexact = {problem, NULL, NULL, NULL};
  MPI_Comm         comm;

  PetscFunctionBeginUser;
  PetscCall(ObjectiveGetComm(objective, &comm));
  PetscCall(ProblemGetDimension(problem, &dim));
  PetscCall(ProblemGetTraceWeights(problem, &c));
  PetscCall(ProblemGetNumTerms(problem, &n_terms));
  for (PetscInt t = 0; t < n_terms; t++) {
    const ProblemTerm *term;
    const PetscReal   *x;
    PetscInt           n, S;
    PetscReal         *data, *u, *grad_exact, *u_fd, *grad_fd, *hess_fd, *out, *r, *rp, *rm, *cot;

    PetscCall(ProblemGetTerm(problem, t, &term));
    PetscCall(ObjectiveGetTermPoints(objective, t, &n, &x));
    S = ModelNumChannels(dim, 2); /* all channels, whatever the term's order */
    PetscCall(PetscMalloc6(PetscMax(1, term->n_data) * n, &data, n, &u, dim * n, &grad_exact, n, &u_fd, dim * n, &grad_fd, dim * n, &hess_fd));
    PetscCall(PetscMalloc5(S * n, &out, n, &r, n, &rp, n, &rm, S * n, &cot));
    PetscCall(ProblemPointData(problem, t, n, x, data));
    PetscCall(ProblemExactSolution(problem, n, x, u, grad_exact));
    PetscCall(FiniteDifferences(&fexact, dim, n, x, u_fd, grad_fd, hess_fd));
    for (PetscInt q = 0; q < n; q++) {
      err_exact = PetscMax(err_exact, RelDiff(u[q], cs->exact(cs, dim, x + q * dim), 1.0));
      for (PetscInt i = 0; i < dim; i++) err_grad = PetscMax(err_grad, RelDiff(grad_exact[i * n + q], grad_fd[q * dim + i], 1.0));
    }
    ChannelsFromDifferences(dim, n, c, u_fd, grad_fd, hess_fd, out);
    PetscCall(ProblemResidual(problem, t, n, x, data, out, r, cot));
    for (PetscInt q = 0; q < n; q++) {
      if (t == 0) {
        const PetscReal Lu = cs->op(cs, dim, u_fd[q], grad_fd + q * dim, hess_fd + q * dim);
        const PetscReal f  = term->n_data ? data[q] : 0.0;
        err_f              = PetscMax(err_f, PetscAbsReal(Lu - f) / PetscMax(1.0, PetscAbsReal(f)));
        err_res            = PetscMax(err_res, PetscAbsReal(r[q]) / PetscMax(1.0, PetscAbsReal(f)));
      } else {
        err_g   = PetscMax(err_g, RelDiff(data[q], cs->exact(cs, dim, x + q * dim), 1e-300));
        err_res = PetscMax(err_res, PetscAbsReal(r[q]));
      }
    }
    /* (d) cotangents by central differences in each channel the term uses */
    for (PetscInt s = 0; s < ModelNumChannels(dim, term->order); s++) {
      const PetscReal h = 1e-4;
      for (PetscInt q = 0; q < n; q++) out[s * n + q] += h;
      PetscCall(ProblemResidual(problem, t, n, x, data, out, rp, NULL));
      for (PetscInt q = 0; q < n; q++) out[s * n + q] -= 2 * h;
      PetscCall(ProblemResidual(problem, t, n, x, data, out, rm, NULL));
      for (PetscInt q = 0; q < n; q++) {
        out[s * n + q] += h;
        err_cot = PetscMax(err_cot, RelDiff(cot[s * n + q], (rp[q] - rm[q]) / (2 * h), 1.0));
      }
    }
    PetscCall(PetscFree6(data, u, grad_exact, u_fd, grad_fd, hess_fd));
    PetscCall(PetscFree5(out, r, rp, rm, cot));
  }
  CHECK(err_exact < 1e-13, "%s: ProblemExactSolution differs from the formula: %.1e", cs->name, (double)err_exact);
  CHECK(err_grad < 1e-7, "%s: exact gradient vs central differences: %.1e", cs->name, (double)err_grad);
  CHECK(err_f < 1e-5, "%s: source f vs the operator applied to u* by differences: %.1e", cs->name, (double)err_f);
  CHECK(err_res < 1e-5, "%s: residual of u*'s difference channels: %.1e", cs->name, (double)err_res);
  CHECK(err_g < 1e-14, "%s: face data differ from u*: %.1e", cs->name, (double)err_g);
  CHECK(err_cot < 1e-7, "%s: residual cotangents vs differences: %.1e", cs->name, (double)err_cot);
  PetscCall(ReportMax(comm, "(b) u* vs the test's formula", err_exact, 1e-13));
  PetscCall(ReportMax(comm, "(b) exact gradient vs differences (h 1e-5)", err_grad, 1e-7));
  PetscCall(ReportMax(comm, "(c) f vs L(u*) by differences (h 1e-4), rel. max(|f|, 1)", err_f, 1e-5));
  PetscCall(ReportMax(comm, "(c) residual of u* (difference channels); face data vs u*", PetscMax(err_res, err_g), 1e-5));
  PetscCall(ReportMax(comm, "(d) cotangents dr/d out vs central differences (h 1e-4)", err_cot, 1e-7));
  PetscFunctionReturn(0);
}

/* (e): the Objective's residuals at theta against the operator applied to u_theta by
   differences. */
static PetscErrorCode CheckNetworkResiduals(const Case *cs, Problem problem, Model model, Objective objective, const PetscReal *theta, const PetscReal *res)
{
  PetscInt  dim, n_terms, bs;
  PetscReal err = 0;
  Scalar    fnet = {NULL, model, theta, NULL}, fexact = {problem, NULL, NULL, NULL};
  MPI_Comm  comm;

  PetscFunctionBeginUser;
  PetscCall(ObjectiveGetComm(objective, &comm));
  PetscCall(ProblemGetDimension(problem, &dim));
  PetscCall(ProblemGetNumTerms(problem, &n_terms));
  PetscCall(ModelGetBlockSize(model, &bs));
  PetscCall(PetscMalloc1(bs, &fnet.buf));
  for (PetscInt t = 0; t < n_terms; t++) {
    const ProblemTerm *term;
    const PetscReal   *x;
    PetscInt           n;
    PetscReal         *u, *g, *h, *us, *gs, *hs, scale;

    PetscCall(ProblemGetTerm(problem, t, &term));
    PetscCall(ObjectiveGetTermPoints(objective, t, &n, &x));
    scale = PetscSqrtReal(term->weight / (PetscReal)term->n_points);
    PetscCall(PetscMalloc6(n, &u, dim * n, &g, dim * n, &h, n, &us, dim * n, &gs, dim * n, &hs));
    PetscCall(FiniteDifferences(&fnet, dim, n, x, u, g, h));
    PetscCall(FiniteDifferences(&fexact, dim, n, x, us, gs, hs));
    for (PetscInt q = 0; q < n; q++) {
      PetscReal want, size;
      if (t == 0) {
        const PetscReal Lu = cs->op(cs, dim, u[q], g + q * dim, h + q * dim), f = cs->op(cs, dim, us[q], gs + q * dim, hs + q * dim);
        want               = Lu - f;
        size               = PetscMax(1.0, PetscMax(PetscAbsReal(Lu), PetscAbsReal(f)));
      } else {
        want = u[q] - us[q];
        size = PetscMax(1.0, PetscAbsReal(u[q]));
      }
      PetscInt row;
      PetscCall(ObjectiveGetTermRow(objective, t, q, &row));
      err = PetscMax(err, PetscAbsReal(res[row] / scale - want) / size);
    }
    PetscCall(PetscFree6(u, g, h, us, gs, hs));
  }
  PetscCall(PetscFree(fnet.buf));
  CHECK(err < 1e-5, "%s: network residuals vs the operator applied by differences: %.1e", cs->name, (double)err);
  PetscCall(ReportMax(comm, "(e) network residuals vs L(u_theta) - L(u*) by differences", err, 1e-5));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckCase(const Case *cs)
{
  Problem   problem;
  Model     model;
  Objective objective;
  MPI_Comm  comm = PETSC_COMM_WORLD;
  PetscInt  P, n_local, n_max, dim;
  PetscReal *theta, *res, *jac_t, loss;
  const PetscReal h = 1e-5;

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(comm, "  %s\n", cs->name));
  PetscCall(TestSetOptions(cs->options, PETSC_TRUE));
  PetscCall(ProblemCreate(comm, &problem));
  PetscCall(ProblemSetFromOptions(problem));
  PetscCall(ModelCreate(comm, &model));
  PetscCall(ProblemGetDimension(problem, &dim));
  PetscCall(ModelSetDimension(model, dim));
  PetscCall(ModelSetFromOptions(model));
  PetscCall(ObjectiveCreate(model, problem, &objective));
  PetscCall(ObjectiveSetFromOptions(objective));
  PetscCall(ObjectiveSetUp(objective));
  PetscCall(TestSetOptions(cs->options, PETSC_FALSE));

  PetscCall(CheckTerms(cs, problem, objective));
  PetscCall(CheckProblemData(cs, problem, objective));

  PetscCall(ModelGetNumParameters(model, &P));
  PetscCall(ObjectiveGetLocalRows(objective, &n_local, &n_max));
  PetscCall(PetscMalloc3(P, &theta, n_max, &res, (size_t)P * n_max, &jac_t));
  {
    PetscReal *t0;
    PetscCall(ModelGetParameters(model, &t0));
    for (PetscInt k = 0; k < P; k++) theta[k] = 1.5 * t0[k]; /* into the activations' nonlinear range */
  }
  PetscCall(ObjectiveResidualRows(objective, theta, res, jac_t, &loss));
  PetscCall(CheckNetworkResiduals(cs, problem, model, objective, theta, res));

  /* (f) rows against central differences of the residual vector */
  {
    PetscReal worst = 0.0;
    PetscCall(RowsVsDifferences(objective, theta, jac_t, h, &worst));
    CHECK(worst < 1e-6, "%s: Jacobian rows differ from central differences: %.1e", cs->name, (double)worst);
    PetscCall(ReportMax(comm, "(f) rows vs differences in theta (h 1e-5), rel. to the row", worst, 1e-6));
  }
  PetscCall(PetscPrintf(comm, "    (P = %" PetscInt_FMT ", %" PetscInt_FMT " channels)\n", P, ModelNumChannels(dim, 2)));

  PetscCall(PetscFree3(theta, res, jac_t));
  PetscCall(ObjectiveDestroy(&objective));
  PetscCall(ModelDestroy(&model));
  PetscCall(ProblemDestroy(&problem));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  const Case cases[] = {
    {"heat (1+1)-D sin_prod (the ENGD paper's case), grid, tanh 6,5",
     {"-problem", "heat", "-dim", "2", "-net_hidden", "6,5", "-n_interior", "36", "-n_boundary", "8", "-n_initial", "4", "-net_block_size", "16", "-seed", "3", "-n_eval", "20", NULL},
     0.25, 1, 1, ExactHeatSinProd, OpHeat, PETSC_TRUE},
    {"heat (2+1)-D sin_prod, kappa 0.1, uniform, weights, sin 7",
     {"-problem", "heat", "-dim", "3", "-heat_kappa", "0.1", "-sampler", "uniform", "-net_hidden", "7", "-net_activation", "sin", "-n_interior", "30", "-n_boundary", "24", "-n_initial", "10", "-boundary_weight", "3", "-initial_weight", "0.5", "-seed", "4", "-n_eval", "20", NULL},
     0.1, 1, 1, ExactHeatSinProd, OpHeat, PETSC_TRUE},
    {"heat (4+1)-D sin_sum (the KFAC paper's case), uniform, tanh 8",
     {"-problem", "heat", "-dim", "5", "-heat_solution", "sin_sum", "-sampler", "uniform", "-net_hidden", "8", "-n_interior", "30", "-n_boundary", "16", "-n_initial", "10", "-seed", "5", "-n_eval", "20", NULL},
     0.25, 1, 1, ExactHeatSinSum, OpHeat, PETSC_TRUE},
    {"Poisson 10-D bilinear, uniform, sigmoid 8,4",
     {"-problem", "poisson", "-dim", "10", "-solution", "bilinear", "-sampler", "uniform", "-net_hidden", "8,4", "-net_activation", "sigmoid", "-n_interior", "30", "-n_boundary", "40", "-seed", "6", "-n_eval", "20", NULL},
     0, 1, 1, ExactBilinear, OpPoisson, PETSC_FALSE},
    {"Poisson 100-D norm_sq (102 channels), uniform, tanh 8,6",
     {"-problem", "poisson", "-dim", "100", "-solution", "norm_sq", "-sampler", "uniform", "-net_hidden", "8,6", "-n_interior", "20", "-n_boundary", "30", "-net_block_size", "16", "-seed", "7", "-n_eval", "20", NULL},
     0, 1, 1, ExactNormSq, OpPoisson, PETSC_FALSE},
    {"nonlinear Poisson 2-D, amplitude 1, grid, tanh 6,5",
     {"-problem", "nonlinear_poisson", "-dim", "2", "-net_hidden", "6,5", "-n_interior", "36", "-n_boundary", "16", "-seed", "8", "-n_eval", "20", NULL},
     0, 1, 1, ExactSinProd, OpNonlinear, PETSC_FALSE},
    {"nonlinear Poisson 3-D, amplitude 3, uniform, tanh 7",
     {"-problem", "nonlinear_poisson", "-dim", "3", "-nonlinear_amplitude", "3", "-sampler", "uniform", "-net_hidden", "7", "-n_interior", "30", "-n_boundary", "18", "-seed", "9", "-n_eval", "20", NULL},
     0, 3, 1, ExactSinProd, OpNonlinear, PETSC_FALSE},
    {"Helmholtz 2-D, k 6, mode 2, grid, tanh 6,5",
     {"-problem", "helmholtz", "-dim", "2", "-helmholtz_k", "6", "-helmholtz_mode", "2", "-net_hidden", "6,5", "-n_interior", "36", "-n_boundary", "16", "-seed", "10", "-n_eval", "20", NULL},
     6, 1, 2, ExactSinProd, OpHelmholtz, PETSC_FALSE},
    {"Helmholtz 3-D, k 2.5, mode 1, uniform, sin 7",
     {"-problem", "helmholtz", "-dim", "3", "-helmholtz_k", "2.5", "-helmholtz_mode", "1", "-sampler", "uniform", "-net_hidden", "7", "-net_activation", "sin", "-n_interior", "30", "-n_boundary", "18", "-seed", "11", "-n_eval", "20", NULL},
     2.5, 1, 1, ExactSinProd, OpHelmholtz, PETSC_FALSE},
  };

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  TestSetWatchdog(300);
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) PetscCall(CheckCase(&cases[k]));
  return TestFinish();
}
