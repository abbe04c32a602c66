/* Deep Ritz (energy terms) on the full stack, for ritz1d and ritz_poisson (2-D grid, 3-D
   uniform points), each with a small network. Checks:
     (a) row bookkeeping: an energy point gives S rows (u and its d derivatives), a
         least-squares point one; the energy rows' residuals are 0;
     (b) the losses of ObjectiveResidualRows, ObjectiveLoss and ObjectiveGradient agree, and
         equal a naive quadrature sum_q w_t w_q e_q + w_b/(2N_b) sum (u - g)^2;
     (c) ObjectiveGradient against central differences of ObjectiveLoss in theta;
     (d) the Gram matrix from the weighted rows (sum over ranks of rows rows^T, and CurvatureSolverSetOperator
         + CurvatureSolverGetMatrix) against the naive quadrature sum_q c_q J_q^T D^2e_q J_q (+ the
         boundary's (w_b/N_b) J_b^T J_b), J_q from central differences of the channels in theta;
     (e) the energy density's De and diag D^2e against differences in the channels, and D^2e
         diagonal (De_r does not change with channel s != r);
     (f) the manufactured data: -v'' + v^3 = f (ritz1d) or -Laplace(u*) = f (ritz_poisson) by
         second differences of u*, u*'(+-1) = 0 (natural boundary of ritz1d), and the
         quadrature weights sum to |Omega|;
     (g) the loss and gradient equal those of the same problem on one rank. */
/* ranks: 1 2 3 */
#include "stack.h"

typedef struct {
  const char *name;
  const char *options[32];
} Case;

/* (e), (f): the energy density and the manufactured data on this rank's points. */
static PetscErrorCode CheckProblemData(const char *name, Problem problem, Objective objective)
{
  const char      *type;
  PetscInt         dim, n_terms;
  const PetscReal *lower, *upper;
  PetscReal        err_de = 0, err_d2e = 0, off_diag = 0, err_f = 0, err_bc = 0, wsum = 0, volume = 1;
  const PetscReal  h2 = 1e-4, h1 = 1e-6;
  MPI_Comm         comm;
  PetscBool        is1d;

  PetscFunctionBeginUser;
  PetscCall(ObjectiveGetComm(objective, &comm));
  PetscCall(ProblemGetType(problem, &type));
  PetscCall(PetscStrcmp(type, "ritz1d", &is1d));
  PetscCall(ProblemGetDimension(problem, &dim));
  PetscCall(ProblemGetDomain(problem, &lower, &upper));
  PetscCall(ProblemGetNumTerms(problem, &n_terms));
  for (PetscInt i = 0; i < dim; i++) volume *= upper[i] - lower[i];
  for (PetscInt t = 0; t < n_terms; t++) {
    const ProblemTerm *term;
    const PetscReal   *x;
    PetscInt           n, S;
    PetscReal         *data, *u, *up, *um, *xs, *lap, *out, *e, *de, *d2e, *ep, *em, *dep, *dem;

    PetscCall(ProblemGetTerm(problem, t, &term));
    if (term->kind != PROBLEM_TERM_ENERGY) continue;
    PetscCall(ObjectiveGetTermPoints(objective, t, &n, &x));
    S = ModelNumChannels(dim, term->order);
    CHECK(term->order == 1 && term->n_data == 2, "%s: energy term of order %" PetscInt_FMT " with %" PetscInt_FMT " data", name, term->order, term->n_data);
    PetscCall(PetscMalloc6(2 * n + 1, &data, n + 1, &u, n + 1, &up, n + 1, &um, dim * n + 1, &xs, n + 1, &lap));
    PetscCall(PetscMalloc6(S * n + 1, &out, n + 1, &e, S * n + 1, &de, S * n + 1, &d2e, n + 1, &ep, n + 1, &em));
    PetscCall(PetscMalloc2(S * n + 1, &dep, S * n + 1, &dem));
    PetscCall(ProblemPointData(problem, t, n, x, data));
    PetscCall(ProblemExactSolution(problem, n, x, u, NULL));
    for (PetscInt q = 0; q < n; q++) wsum += data[2 * q];
    /* (f) second differences of u*: -Laplace(u*) (+ u*^3 for ritz1d) = f */
    PetscCall(PetscArrayzero(lap, n));
    for (PetscInt i = 0; i < dim; i++) {
      PetscCall(PetscArraycpy(xs, x, dim * n));
      for (PetscInt q = 0; q < n; q++) xs[q * dim + i] += h2;
      PetscCall(ProblemExactSolution(problem, n, xs, up, NULL));
      for (PetscInt q = 0; q < n; q++) xs[q * dim + i] = x[q * dim + i] - h2;
      PetscCall(ProblemExactSolution(problem, n, xs, um, NULL));
      for (PetscInt q = 0; q < n; q++) lap[q] += (up[q] - 2 * u[q] + um[q]) / (h2 * h2);
    }
    for (PetscInt q = 0; q < n; q++) {
      const PetscReal f = data[2 * q + 1], lhs = -lap[q] + (is1d ? u[q] * u[q] * u[q] : 0.0);
      err_f = PetscMax(err_f, PetscAbsReal(lhs - f) / PetscMax(1.0, PetscAbsReal(f)));
    }
    /* (e) derivatives of the density at made-up channel values */
    for (PetscInt s = 0; s < S; s++)
      for (PetscInt q = 0; q < n; q++) out[s * n + q] = 1.3 * PetscSinReal(0.7 * (PetscReal)(q + 1) + 1.9 * (PetscReal)s) + 0.2;
    PetscCall(ProblemEnergy(problem, t, n, x, data, out, e, de, d2e));
    for (PetscInt s = 0; s < S; s++) {
      for (PetscInt q = 0; q < n; q++) out[s * n + q] += h1;
      PetscCall(ProblemEnergy(problem, t, n, x, data, out, ep, dep, NULL));
      for (PetscInt q = 0; q < n; q++) out[s * n + q] -= 2 * h1;
      PetscCall(ProblemEnergy(problem, t, n, x, data, out, em, dem, NULL));
      for (PetscInt q = 0; q < n; q++) out[s * n + q] += h1;
      for (PetscInt q = 0; q < n; q++) {
        const PetscReal scale = PetscMax(1.0, PetscAbsReal(de[s * n + q]));
        err_de  = PetscMax(err_de, PetscAbsReal((ep[q] - em[q]) / (2 * h1) - de[s * n + q]) / scale);
        err_d2e = PetscMax(err_d2e, PetscAbsReal((dep[s * n + q] - dem[s * n + q]) / (2 * h1) - d2e[s * n + q]) / PetscMax(1.0, PetscAbsReal(d2e[s * n + q])));
        for (PetscInt r = 0; r < S; r++)
          if (r != s) off_diag = PetscMax(off_diag, PetscAbsReal((dep[r * n + q] - dem[r * n + q]) / (2 * h1)));
      }
    }
    PetscCall(PetscFree6(data, u, up, um, xs, lap));
    PetscCall(PetscFree6(out, e, de, d2e, ep, em));
    PetscCall(PetscFree2(dep, dem));
  }
  if (is1d) { /* natural boundary condition of u* */
    PetscReal ends[2] = {lower[0], upper[0]}, uu[2], g[2];
    PetscCall(ProblemExactSolution(problem, 2, ends, uu, g));
    err_bc = PetscMax(PetscAbsReal(g[0]), PetscAbsReal(g[1]));
  }
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, &wsum, 1, MPIU_REAL, MPIU_SUM, comm));
  CHECK(err_f < 1e-5, "%s: f vs the Euler-Lagrange operator of u* by differences: %.1e", name, (double)err_f);
  CHECK(err_de < 1e-8, "%s: De vs differences: %.1e", name, (double)err_de);
  CHECK(err_d2e < 1e-8, "%s: D^2e vs differences: %.1e", name, (double)err_d2e);
  CHECK(off_diag < 1e-8, "%s: D^2e is not diagonal: %.1e", name, (double)off_diag);
  CHECK(err_bc < 1e-12, "%s: u*' at the ends: %.1e", name, (double)err_bc);
  CHECK(RelDiff(wsum, volume, 1.0) < 1e-13, "%s: quadrature weights sum to %.16g, |Omega| = %g", name, (double)wsum, (double)volume);
  PetscCall(ReportMax(comm, "(f) Euler-Lagrange(u*) - f by second differences (h 1e-4)", err_f, 1e-5));
  PetscCall(ReportMax(comm, "(f) u*' at the ends (ritz1d: natural boundary)", err_bc, 1e-12));
  PetscCall(ReportMax(comm, "(f) sum of quadrature weights - |Omega|", PetscAbsReal(wsum - volume), 1e-13));
  PetscCall(ReportMax(comm, "(e) De vs differences in the channels (h 1e-6)", err_de, 1e-8));
  PetscCall(ReportMax(comm, "(e) diag D^2e vs differences of De", err_d2e, 1e-8));
  PetscCall(ReportMax(comm, "(e) off-diagonal D^2e by differences", off_diag, 1e-8));
  PetscFunctionReturn(0);
}

/* (b), (d): naive loss and Gram matrix by quadrature, the channel Jacobians J_q from central
   differences in theta. */
static PetscErrorCode NaiveLossGram(Problem problem, Model model, Objective objective, const PetscReal *theta, PetscReal *loss, PetscReal *G)
{
  PetscInt   P, dim, n_terms, bs;
  PetscReal *thetas;
  MPI_Comm   comm;
  const PetscReal h = 1e-5;

  PetscFunctionBeginUser;
  PetscCall(ObjectiveGetComm(objective, &comm));
  PetscCall(ModelGetNumParameters(model, &P));
  PetscCall(ModelGetBlockSize(model, &bs));
  PetscCall(ProblemGetDimension(problem, &dim));
  PetscCall(ProblemGetNumTerms(problem, &n_terms));
  PetscCall(PetscMalloc1(P, &thetas));
  PetscCall(PetscArrayzero(G, P * P));
  *loss = 0;
  for (PetscInt t = 0; t < n_terms; t++) {
    const ProblemTerm *term;
    const PetscReal   *x;
    PetscInt           n, S;
    PetscReal         *data, *out, *out_p, *out_m, *e, *d2e, *r, *D, *c;

    PetscCall(ProblemGetTerm(problem, t, &term));
    PetscCall(ObjectiveGetTermPoints(objective, t, &n, &x));
    S = ModelNumChannels(dim, term->order);
    PetscCall(PetscMalloc6(term->n_data * n + 1, &data, S * bs, &out, S * bs, &out_p, S * bs, &out_m, n + 1, &e, S * n + 1, &d2e));
    PetscCall(PetscMalloc3(n + 1, &r, (size_t)P * S * n + 1, &D, S * n + 1, &c));
    PetscCall(ProblemPointData(problem, t, n, x, data));
    for (PetscInt b = 0; b < n; b += bs) {
      const PetscInt nb = PetscMin(bs, n - b);
      PetscCall(ModelForward(model, theta, nb, x + b * dim, term->order, NULL, PETSC_FALSE, out));
      if (term->kind == PROBLEM_TERM_ENERGY) {
        PetscReal *eb, *d2b;
        PetscCall(PetscMalloc2(nb, &eb, S * nb, &d2b));
        PetscCall(ProblemEnergy(problem, t, nb, x + b * dim, data + b * term->n_data, out, eb, NULL, d2b));
        for (PetscInt q = 0; q < nb; q++) {
          const PetscReal cq = term->weight * data[(b + q) * term->n_data];
          *loss += cq * eb[q];
          for (PetscInt s = 0; s < S; s++) c[s * n + b + q] = cq * d2b[s * nb + q];
        }
        PetscCall(PetscFree2(eb, d2b));
      } else {
        PetscCall(ProblemResidual(problem, t, nb, x + b * dim, data + b * term->n_data, out, r, NULL));
        for (PetscInt q = 0; q < nb; q++) {
          *loss += term->weight / (2.0 * term->n_points) * r[q] * r[q];
          for (PetscInt s = 0; s < S; s++) c[s * n + b + q] = s == 0 ? term->weight / term->n_points : 0.0; /* r = u - g */
        }
      }
      for (PetscInt k = 0; k < P; k++) {
        PetscCall(PetscArraycpy(thetas, theta, P));
        thetas[k] = theta[k] + h;
        PetscCall(ModelForward(model, thetas, nb, x + b * dim, term->order, NULL, PETSC_FALSE, out_p));
        thetas[k] = theta[k] - h;
        PetscCall(ModelForward(model, thetas, nb, x + b * dim, term->order, NULL, PETSC_FALSE, out_m));
        for (PetscInt s = 0; s < S; s++)
          for (PetscInt q = 0; q < nb; q++) D[k + (size_t)P * (s * n + b + q)] = (out_p[s * nb + q] - out_m[s * nb + q]) / (2 * h);
      }
    }
    for (PetscInt i = 0; i < P; i++)
      for (PetscInt j = 0; j < P; j++) {
        PetscReal a = 0;
        for (PetscInt m = 0; m < S * n; m++) a += c[m] * D[i + (size_t)P * m] * D[j + (size_t)P * m];
        G[i + j * P] += a;
      }
    PetscCall(PetscFree6(data, out, out_p, out_m, e, d2e));
    PetscCall(PetscFree3(r, D, c));
  }
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, loss, 1, MPIU_REAL, MPIU_SUM, comm));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, G, P * P, MPIU_REAL, MPIU_SUM, comm));
  PetscCall(PetscFree(thetas));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckCase(const Case *cs, PetscInt n_rows_expected)
{
  Problem      problem, problem1;
  Model        model, model1;
  Objective    objective, objective1;
  CurvatureSolver         gram;
  MPI_Comm     comm = PETSC_COMM_WORLD;
  PetscInt     P, n_local, n_max, n_global, n_chunks, sum_local;
  const PetscInt *chunk_row;
  PetscReal   *theta, *thetas, *res, *jac_t, *grad, *grad1, *G_rows, *G_gram, *G_naive;
  PetscReal    loss_rows, loss, loss_grad, loss_naive, loss1, loss_grad1, err, gmax = 0, gerr = 0, gerr2 = 0, res_max = 0;
  PetscBool    has_energy;

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(comm, "  %s\n", cs->name));
  PetscCall(TestSetOptions(cs->options, PETSC_TRUE));
  PetscCall(BuildStack(comm, &problem, &model, &objective));
  PetscCall(BuildStack(PETSC_COMM_SELF, &problem1, &model1, &objective1));
  PetscCall(TestSetOptions(cs->options, PETSC_FALSE));
  PetscCall(ObjectiveHasEnergyTerms(objective, &has_energy));
  CHECK(has_energy, "%s: no energy terms", cs->name);

  PetscCall(ModelGetNumParameters(model, &P));
  PetscCall(ObjectiveGetLocalRows(objective, &n_local, &n_max));
  PetscCall(ObjectiveGetGlobalRows(objective, &n_global));
  PetscCall(ObjectiveGetChunks(objective, &n_chunks, &chunk_row));
  PetscCall(MPIU_Allreduce(&n_local, &sum_local, 1, MPIU_INT, MPI_SUM, comm));
  CHECK(n_global == n_rows_expected && sum_local == n_global && chunk_row[n_chunks] == n_local, "%s: rows: global %" PetscInt_FMT " (expected %" PetscInt_FMT "), sum of local %" PetscInt_FMT ", last chunk row %" PetscInt_FMT " of %" PetscInt_FMT, cs->name, n_global, n_rows_expected, sum_local, chunk_row[n_chunks], n_local);

  PetscCall(PetscMalloc6(P, &theta, P, &thetas, n_max + 1, &res, (size_t)P * n_max + 1, &jac_t, P, &grad, P, &grad1));
  PetscCall(PetscMalloc3(P * P, &G_rows, P * P, &G_gram, P * P, &G_naive));
  {
    PetscReal *t;
    PetscCall(ModelGetParameters(model, &t));
    for (PetscInt k = 0; k < P; k++) theta[k] = 1.5 * t[k];
  }

  /* (a), (b) */
  PetscCall(ObjectiveResidualRows(objective, theta, res, jac_t, &loss_rows));
  PetscCall(ObjectiveLoss(objective, theta, &loss));
  PetscCall(ObjectiveGradient(objective, theta, grad, &loss_grad));
  PetscCall(NaiveLossGram(problem, model, objective, theta, &loss_naive, G_naive));
  CHECK(loss_rows == loss && loss_grad == loss, "%s: losses differ: rows %.17g, ObjectiveLoss %.17g, gradient %.17g", cs->name, (double)loss_rows, (double)loss, (double)loss_grad);
  err = RelDiff(loss, loss_naive, 1e-300);
  CHECK(err < 1e-12, "%s: loss %.16e, naive quadrature %.16e", cs->name, (double)loss, (double)loss_naive);
  PetscCall(ReportMax(comm, "(b) loss vs naive quadrature (rows = loss = gradient's: bitwise)", err, 1e-12));
  /* (d) Gram from the rows, two ways, against the naive quadrature */
  for (PetscInt i = 0; i < P; i++)
    for (PetscInt j = 0; j < P; j++) {
      PetscReal a = 0;
      for (PetscInt r = 0; r < n_local; r++) a += jac_t[i + (size_t)r * P] * jac_t[j + (size_t)r * P];
      G_rows[i + j * P] = a;
    }
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, G_rows, P * P, MPIU_REAL, MPIU_SUM, comm));
  PetscCall(CurvatureSolverCreate(comm, &gram));
  PetscCall(CurvatureSolverSetType(gram, "replicated"));
  PetscCall(CurvatureSolverSetSizes(gram, P, n_max));
  PetscCall(CurvatureSolverSetUp(gram));
  {
      const CurvatureOperator op = CurvatureRowsOperator(P, jac_t, NULL, n_chunks, chunk_row, n_max);
      PetscCall(CurvatureSolverSetOperator(gram, &op));
    }
  PetscCall(CurvatureSolverGetMatrix(gram, G_gram));
  PetscCall(CurvatureSolverDestroy(&gram));
  for (PetscInt k = 0; k < P * P; k++) {
    gmax  = PetscMax(gmax, PetscAbsReal(G_naive[k]));
    gerr  = PetscMax(gerr, PetscAbsReal(G_rows[k] - G_naive[k]));
    gerr2 = PetscMax(gerr2, PetscAbsReal(G_gram[k] - G_naive[k]));
  }
  CHECK(gmax > 0 && gerr <= 1e-7 * gmax && gerr2 <= 1e-7 * gmax, "%s: energy Gram from rows differs from the naive quadrature: %.1e / %.1e of %.1e", cs->name, (double)gerr, (double)gerr2, (double)gmax);
  PetscCall(ReportMax(comm, "(d) Gram: sum rows rows^T vs naive quadrature, rel. max", gerr / gmax, 1e-7));
  PetscCall(ReportMax(comm, "(d) Gram: CurvatureSolverSetOperator vs naive quadrature, rel. max", gerr2 / gmax, 1e-7));

  /* (a) energy rows have residual 0: the residual vector's non-zeros are the boundary rows */
  {
    PetscInt n_terms, n_ls_points = 0, nonzero = 0;
    PetscCall(ProblemGetNumTerms(problem, &n_terms));
    for (PetscInt t = 0; t < n_terms; t++) {
      const ProblemTerm *term;
      PetscInt           n;
      const PetscReal   *x;
      PetscCall(ProblemGetTerm(problem, t, &term));
      PetscCall(ObjectiveGetTermPoints(objective, t, &n, &x));
      if (term->kind == PROBLEM_TERM_LEAST_SQUARES) n_ls_points += n;
    }
    for (PetscInt p = 0; p < n_local; p++) nonzero += res[p] != 0.0;
    res_max = nonzero <= n_ls_points ? 0.0 : 1.0;
    CHECK(nonzero <= n_ls_points, "%s: %" PetscInt_FMT " non-zero residuals, but only %" PetscInt_FMT " least-squares rows", cs->name, nonzero, n_ls_points);
    PetscCall(ReportMax(comm, "(a) energy rows with a non-zero residual (0 or 1)", res_max, 0));
  }

  /* (c) gradient against central differences of the loss */
  {
    PetscReal gnorm = 0;
    const PetscReal hl = 1e-5;
    for (PetscInt i = 0; i < P; i++) gnorm = PetscMax(gnorm, PetscAbsReal(grad[i]));
    err = 0;
    for (PetscInt k = 0; k < P; k++) {
      PetscReal lp, lm;
      PetscCall(PetscArraycpy(thetas, theta, P));
      thetas[k] = theta[k] + hl;
      PetscCall(ObjectiveLoss(objective, thetas, &lp));
      thetas[k] = theta[k] - hl;
      PetscCall(ObjectiveLoss(objective, thetas, &lm));
      err = PetscMax(err, PetscAbsReal((lp - lm) / (2 * hl) - grad[k]) / gnorm);
    }
    CHECK(err < 1e-6, "%s: gradient vs central differences of the loss: %.1e", cs->name, (double)err);
    PetscCall(ReportMax(comm, "(c) gradient vs differences of the loss (h 1e-5), rel. max", err, 1e-6));
  }

  /* (g) one rank */
  PetscCall(ObjectiveLoss(objective1, theta, &loss1));
  PetscCall(ObjectiveGradient(objective1, theta, grad1, &loss_grad1));
  err = loss1 == loss ? 0.0 : 1.0;
  for (PetscInt i = 0; i < P; i++)
    if (grad1[i] != grad[i]) err = 1.0;
  CHECK(err == 0, "%s: loss %.17g / gradient on one rank differ from the distributed ones (loss %.17g)", cs->name, (double)loss1, (double)loss);
  PetscCall(ReportMax(comm, "(g) loss and gradient differ from one rank's (bitwise: 0 or 1)", err, 0));

  PetscCall(CheckProblemData(cs->name, problem, objective));

  PetscCall(PetscFree6(theta, thetas, res, jac_t, grad, grad1));
  PetscCall(PetscFree3(G_rows, G_gram, G_naive));
  PetscCall(DestroyStack(&problem1, &model1, &objective1));
  PetscCall(DestroyStack(&problem, &model, &objective));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  const Case cases[] = {
    {"ritz1d, trapezoid rule on 41 nodes, tanh 6, block size 8",
     {"-problem", "ritz1d", "-net_hidden", "6", "-n_interior", "41", "-net_block_size", "8", "-seed", "3", "-n_eval", "50", NULL}},
    {"ritz_poisson 2-D, grid 36 + 16, tanh 5,4, boundary weight 7, block size 7",
     {"-problem", "ritz_poisson", "-dim", "2", "-net_hidden", "5,4", "-n_interior", "36", "-n_boundary", "16", "-boundary_weight", "7", "-interior_weight", "1.5", "-net_block_size", "7", "-seed", "5", "-n_eval", "50", NULL}},
    {"ritz_poisson 3-D, uniform 40 + 18, sin 6",
     {"-problem", "ritz_poisson", "-dim", "3", "-sampler", "uniform", "-net_activation", "sin", "-net_hidden", "6", "-n_interior", "40", "-n_boundary", "18", "-seed", "7", "-n_eval", "50", NULL}},
  };
  const PetscInt rows[] = {2 * 41, 3 * 36 + 16, 4 * 40 + 18};

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  TestSetWatchdog(300);
  for (PetscInt k = 0; k < 3; k++) PetscCall(CheckCase(&cases[k], rows[k]));
  return TestFinish();
}
