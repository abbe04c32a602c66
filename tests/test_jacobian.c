/* The Objective's residuals, Jacobian rows, loss and gradient against finite differences and
   against each other, on the full stack built as bin/engd builds it, for three small Poisson
   problems (2-D grid, 1-D uniform, 5-D uniform cos_sum with term weights). Checks:
     (a) ObjectiveResidualRows rows against central differences of the residuals in theta;
     (b) the loss of ObjectiveResidualRows = ObjectiveLoss = ObjectiveGradient's = 1/2 |r~|^2;
     (c) ObjectiveGradient = sum over ranks of J~^T r~;
     (d) ObjectiveLossCandidates = ObjectiveLoss at theta - eta_k dir;
     (e) ObjectiveGradient against central differences of ObjectiveLoss;
     (f) row counts, and the loss and gradient equal those of the same problem on one rank
         (point sets do not depend on the number of ranks);
     (g) Problem data: f = -Laplace(u*) by second differences of ProblemExactSolution, g = u*
         on the boundary points (which lie on faces), the exact gradient by differences, and
         ProblemResidual of the exact solution ~0 with cotangents equal to dr/d out;
     (h) Hilbert NGD's H1 rows: sum over ranks of rows rows^T equals the H1 Gram matrix
         (1/N) sum_x [du/dtheta du/dtheta^T + sum_i d(d_i u)/dtheta ...^T] built from central
         differences of the network's value and gradient at the interior points. */
/* ranks: 1 2 3 */
#include "stack.h"
#include <engd/private/h1metric.h>

typedef struct {
  const char *name;
  const char *options[32]; /* name, value pairs, NULL-terminated */
} Case;

/* (g): the Problem's point data and exact solution on this rank's points of every term. */
static PetscErrorCode CheckProblemData(const char *name, Problem problem, Objective objective)
{
  PetscInt         dim, n_terms;
  const PetscReal *c, *lower, *upper;
  PetscReal        err_f = 0, err_g = 0, err_grad = 0, err_res = 0, err_cot = 0, off_face = 0;
  const PetscReal  h2 = 1e-4, h1 = 1e-6;
  MPI_Comm         comm;

  PetscFunctionBeginUser;
  PetscCall(ObjectiveGetComm(objective, &comm));
  PetscCall(ProblemGetDimension(problem, &dim));
  PetscCall(ProblemGetTraceWeights(problem, &c));
  PetscCall(ProblemGetDomain(problem, &lower, &upper));
  PetscCall(ProblemGetNumTerms(problem, &n_terms));
  CHECK(n_terms == 2, "%s: Poisson has %" PetscInt_FMT " terms, expected 2", name, n_terms);
  for (PetscInt t = 0; t < n_terms; t++) {
    const ProblemTerm *term;
    const PetscReal   *x;
    PetscInt           n, S;
    PetscReal         *data, *u, *grad, *up, *um, *xs, *lap, *out, *r, *r2, *cot;

    PetscCall(ProblemGetTerm(problem, t, &term));
    PetscCall(ObjectiveGetTermPoints(objective, t, &n, &x));
    S = ModelNumChannels(dim, term->order);
    PetscCall(PetscMalloc6(PetscMax(1, term->n_data) * n, &data, n, &u, dim * n, &grad, n, &up, n, &um, dim * n, &xs));
    PetscCall(PetscMalloc5(n, &lap, S * n, &out, n, &r, n, &r2, S * n, &cot));
    PetscCall(ProblemPointData(problem, t, n, x, data));
    PetscCall(ProblemExactSolution(problem, n, x, u, grad));
    /* Laplacian (trace) and gradient of u* by central differences */
    PetscCall(PetscArrayzero(lap, n));
    for (PetscInt i = 0; i < dim; i++) {
      const PetscReal ci = c ? c[i] : 1.0;
      PetscCall(PetscArraycpy(xs, x, dim * n));
      for (PetscInt q = 0; q < n; q++) xs[q * dim + i] += h2;
      PetscCall(ProblemExactSolution(problem, n, xs, up, NULL));
      for (PetscInt q = 0; q < n; q++) xs[q * dim + i] = x[q * dim + i] - h2;
      PetscCall(ProblemExactSolution(problem, n, xs, um, NULL));
      for (PetscInt q = 0; q < n; q++) lap[q] += ci * (up[q] - 2 * u[q] + um[q]) / (h2 * h2);
      for (PetscInt q = 0; q < n; q++) xs[q * dim + i] = x[q * dim + i] + h1;
      PetscCall(ProblemExactSolution(problem, n, xs, up, NULL));
      for (PetscInt q = 0; q < n; q++) xs[q * dim + i] = x[q * dim + i] - h1;
      PetscCall(ProblemExactSolution(problem, n, xs, um, NULL));
      for (PetscInt q = 0; q < n; q++) err_grad = PetscMax(err_grad, RelDiff(grad[i * n + q], (up[q] - um[q]) / (2 * h1), 1.0));
    }
    /* the network channels of the exact solution, and its residual */
    for (PetscInt q = 0; q < n; q++) {
      out[q] = u[q];
      for (PetscInt s = 1; s < S; s++) out[s * n + q] = s <= dim ? grad[(s - 1) * n + q] : lap[q];
    }
    PetscCall(ProblemResidual(problem, t, n, x, data, out, r, cot));
    if (term->n_faces == 0) {
      CHECK(term->order == 2 && term->n_data == 1, "%s: interior term has order %" PetscInt_FMT " and %" PetscInt_FMT " data", name, term->order, term->n_data);
      for (PetscInt q = 0; q < n; q++) {
        err_f   = PetscMax(err_f, RelDiff(data[q], -lap[q], 1.0));
        err_res = PetscMax(err_res, PetscAbsReal(r[q]) / PetscMax(PetscAbsReal(data[q]), 1.0));
      }
    } else {
      for (PetscInt q = 0; q < n; q++) {
        PetscReal dist = PETSC_MAX_REAL;
        err_g   = PetscMax(err_g, RelDiff(data[q], u[q], 1e-300));
        err_res = PetscMax(err_res, PetscAbsReal(r[q]) / PetscMax(PetscAbsReal(data[q]), 1.0));
        for (PetscInt i = 0; i < dim; i++) dist = PetscMin(dist, PetscMin(PetscAbsReal(x[q * dim + i] - lower[i]), PetscAbsReal(x[q * dim + i] - upper[i])));
        off_face = PetscMax(off_face, dist);
      }
    }
    /* cotangents: the residuals are affine in the channels, so one-sided differences are exact
       up to rounding */
    for (PetscInt s = 0; s < S; s++) {
      for (PetscInt q = 0; q < n; q++) out[s * n + q] += 0.5;
      PetscCall(ProblemResidual(problem, t, n, x, data, out, r2, NULL));
      for (PetscInt q = 0; q < n; q++) {
        err_cot = PetscMax(err_cot, PetscAbsReal((r2[q] - r[q]) / 0.5 - cot[s * n + q]) / PetscMax(1.0, PetscAbsReal(data[q])));
        out[s * n + q] -= 0.5;
      }
    }
    PetscCall(PetscFree6(data, u, grad, up, um, xs));
    PetscCall(PetscFree5(lap, out, r, r2, cot));
  }
  CHECK(err_f < 1e-6, "%s: interior source vs -Laplace(u*) by second differences: %.1e", name, (double)err_f);
  CHECK(err_res < 1e-6, "%s: residual of the exact solution: %.1e", name, (double)err_res);
  CHECK(err_g == 0, "%s: boundary data differs from u*: %.1e", name, (double)err_g);
  CHECK(off_face == 0, "%s: a boundary point is %.1e off the faces", name, (double)off_face);
  CHECK(err_grad < 1e-7, "%s: exact gradient vs central differences: %.1e", name, (double)err_grad);
  CHECK(err_cot < 1e-12, "%s: residual cotangents vs differences: %.1e", name, (double)err_cot);
  PetscCall(ReportMax(comm, "f = -Laplace(u*) by second differences (h 1e-4)", err_f, 1e-6));
  PetscCall(ReportMax(comm, "residual of u* (its Laplacian by differences)", err_res, 1e-6));
  PetscCall(ReportMax(comm, "exact gradient vs differences (h 1e-6)", err_grad, 1e-7));
  PetscCall(ReportMax(comm, "cotangents dr/d out vs differences", err_cot, 1e-12));
  PetscFunctionReturn(0);
}

static PetscInt dim_of(Problem problem)
{
  PetscInt dim = 0;
  ProblemGetDimension(problem, &dim);
  return dim;
}

static PetscErrorCode CheckCase(const Case *cs, PetscInt n_interior, PetscInt n_boundary)
{
  Problem      problem, problem1;
  Model        model, model1;
  Objective    objective, objective1;
  MPI_Comm     comm = PETSC_COMM_WORLD;
  PetscInt     P, n_local, n_max, n_global, sums[2], maxs[1];
  PetscReal   *theta0, *theta, *thetas, *res, *jac_t, *grad, *grad_jr, *grad_abs, *dir, *grad1;
  PetscReal    loss_rows, loss, loss_grad, loss_half = 0, loss1, loss_grad1, err;
  const PetscReal h = 1e-5;
  const PetscInt  K = 7;
  PetscReal    eta[7], cand[7];

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(comm, "  %s\n", cs->name));
  PetscCall(TestSetOptions(cs->options, PETSC_TRUE));
  PetscCall(BuildStack(comm, &problem, &model, &objective));
  PetscCall(BuildStack(PETSC_COMM_SELF, &problem1, &model1, &objective1));
  PetscCall(TestSetOptions(cs->options, PETSC_FALSE));

  PetscCall(ModelGetNumParameters(model, &P));
  PetscCall(ObjectiveGetLocalRows(objective, &n_local, &n_max));
  PetscCall(ObjectiveGetGlobalRows(objective, &n_global));
  /* (f) row bookkeeping */
  sums[0] = n_local;
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, sums, 1, MPIU_INT, MPI_SUM, comm));
  PetscCall(MPIU_Allreduce(&n_local, maxs, 1, MPIU_INT, MPI_MAX, comm));
  CHECK(n_global == n_interior + n_boundary, "%s: %" PetscInt_FMT " global rows, expected %" PetscInt_FMT, cs->name, n_global, n_interior + n_boundary);
  CHECK(sums[0] == n_global, "%s: local rows sum to %" PetscInt_FMT ", not %" PetscInt_FMT, cs->name, sums[0], n_global);
  CHECK(maxs[0] == n_max, "%s: n_rows_max %" PetscInt_FMT ", largest local count %" PetscInt_FMT, cs->name, n_max, maxs[0]);

  PetscCall(PetscMalloc5(P, &theta0, P, &theta, P, &thetas, n_max, &res, (size_t)P * n_max, &jac_t));
  PetscCall(PetscMalloc4(P, &grad, P, &grad_jr, P, &grad_abs, P, &dir));
  PetscCall(PetscMalloc1(P, &grad1));
  {
    PetscReal *t;
    PetscCall(ModelGetParameters(model, &t));
    PetscCall(PetscArraycpy(theta0, t, P));
    for (PetscInt k = 0; k < P; k++) theta[k] = 1.5 * theta0[k];
  }

  PetscCall(ObjectiveResidualRows(objective, theta, res, jac_t, &loss_rows));

  /* (a) rows against central differences of the residual vector */
  {
    PetscReal worst = 0.0;
    PetscCall(RowsVsDifferences(objective, theta, jac_t, h, &worst));
    CHECK(worst < 1e-6, "%s: Jacobian rows differ from central differences: %.1e", cs->name, (double)worst);
    PetscCall(ReportMax(comm, "(a) rows vs differences in theta (h 1e-5), rel. to row", worst, 1e-6));
  }

  /* (h) H1 Gram from the H1 rows against one from differences of u and grad u in theta */
  {
    const PetscInt   S = 1 + dim_of(problem);
    PetscInt                 n_chunks, n_int, bs;
    const PetscInt          *chunk_row;
    const PetscReal         *x, *rows_t;
    PetscReal               *D, *out_p, *out_m, *G_rows, *G_fd, scale2, gmax = 0, gerr = 0;
    H1Metric                 h1;
    const CurvatureOperator *op;
    PetscCall(H1MetricCreate(objective, &h1));
    PetscCall(H1MetricOperator(h1, theta, &op));
    n_chunks  = op->n_chunks;
    chunk_row = op->chunk_row;
    rows_t    = op->jac_t;
    PetscCall(ObjectiveGetTermPoints(objective, 0, &n_int, &x));
    PetscCall(ModelGetBlockSize(model, &bs));
    CHECK(chunk_row[n_chunks] == S * n_int, "%s: %" PetscInt_FMT " H1 rows for %" PetscInt_FMT " interior points", cs->name, chunk_row[n_chunks], n_int);
    PetscCall(PetscMalloc5((size_t)P * S * PetscMax(1, n_int), &D, S * bs, &out_p, S * bs, &out_m, P * P, &G_rows, P * P, &G_fd));
    for (PetscInt k = 0; k < P; k++) {
      PetscCall(PetscArraycpy(thetas, theta, P));
      for (PetscInt b = 0; b < n_int; b += bs) {
        const PetscInt nb = PetscMin(bs, n_int - b);
        thetas[k] = theta[k] + h;
        PetscCall(ModelForward(model, thetas, nb, x + b * dim_of(problem), 1, NULL, PETSC_FALSE, out_p));
        thetas[k] = theta[k] - h;
        PetscCall(ModelForward(model, thetas, nb, x + b * dim_of(problem), 1, NULL, PETSC_FALSE, out_m));
        for (PetscInt s = 0; s < S; s++)
          for (PetscInt q = 0; q < nb; q++) D[k + (size_t)P * (s * n_int + b + q)] = (out_p[s * nb + q] - out_m[s * nb + q]) / (2 * h);
      }
    }
    scale2 = 1.0 / (PetscReal)n_interior; /* unit box: |Omega| = 1 */
    for (PetscInt i = 0; i < P; i++)
      for (PetscInt j = 0; j < P; j++) {
        PetscReal a = 0, c = 0;
        for (PetscInt r = 0; r < chunk_row[n_chunks]; r++) a += rows_t[i + (size_t)r * P] * rows_t[j + (size_t)r * P];
        for (PetscInt r = 0; r < S * n_int; r++) c += D[i + (size_t)r * P] * D[j + (size_t)r * P];
        G_rows[i + j * P] = a;
        G_fd[i + j * P]   = scale2 * c;
      }
    PetscCall(MPIU_Allreduce(MPI_IN_PLACE, G_rows, P * P, MPIU_REAL, MPIU_SUM, comm));
    PetscCall(MPIU_Allreduce(MPI_IN_PLACE, G_fd, P * P, MPIU_REAL, MPIU_SUM, comm));
    for (PetscInt k = 0; k < P * P; k++) {
      gmax = PetscMax(gmax, PetscAbsReal(G_fd[k]));
      gerr = PetscMax(gerr, PetscAbsReal(G_rows[k] - G_fd[k]));
    }
    CHECK(gmax > 0 && gerr <= 1e-7 * gmax, "%s: H1 Gram from rows differs from differences: %.1e of %.1e", cs->name, (double)gerr, (double)gmax);
    PetscCall(ReportMax(comm, "(h) H1 Gram: rows vs differences (h 1e-5), rel. to max entry", gerr / gmax, 1e-7));
    PetscCall(PetscFree5(D, out_p, out_m, G_rows, G_fd));
    PetscCall(H1MetricDestroy(&h1));
  }

  /* (b) losses */
  for (PetscInt p = 0; p < n_local; p++) loss_half += 0.5 * res[p] * res[p];
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, &loss_half, 1, MPIU_REAL, MPIU_SUM, comm));
  PetscCall(ObjectiveLoss(objective, theta, &loss));
  PetscCall(ObjectiveGradient(objective, theta, grad, &loss_grad));
  err = PetscMax(PetscMax(RelDiff(loss_rows, loss_half, 1e-300), RelDiff(loss, loss_half, 1e-300)), RelDiff(loss_grad, loss_half, 1e-300));
  CHECK(err < 1e-13, "%s: losses differ: rows %.16e, ObjectiveLoss %.16e, gradient %.16e, 1/2|r|^2 %.16e: %.1e", cs->name, (double)loss_rows, (double)loss, (double)loss_grad, (double)loss_half, (double)err);
  CHECK(loss > 0, "%s: loss %g is not positive", cs->name, (double)loss);
  PetscCall(ReportMax(comm, "(b) losses: rows, ObjectiveLoss, gradient vs 1/2|r|^2", err, 1e-13));

  /* (c) gradient = sum over ranks of J^T r, relative to sum |J_pi r_p| (the rounding scale) */
  for (PetscInt i = 0; i < P; i++) {
    grad_jr[i] = grad_abs[i] = 0;
    for (PetscInt p = 0; p < n_local; p++) {
      grad_jr[i] += jac_t[p * P + i] * res[p];
      grad_abs[i] += PetscAbsReal(jac_t[p * P + i] * res[p]);
    }
  }
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, grad_jr, P, MPIU_REAL, MPIU_SUM, comm));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, grad_abs, P, MPIU_REAL, MPIU_SUM, comm));
  err = 0;
  for (PetscInt i = 0; i < P; i++) err = PetscMax(err, PetscAbsReal(grad[i] - grad_jr[i]) / PetscMax(grad_abs[i], 1e-300));
  CHECK(err < 1e-12, "%s: ObjectiveGradient differs from J^T r: %.1e", cs->name, (double)err);
  PetscCall(ReportMax(comm, "(c) ObjectiveGradient vs sum of J^T r", err, 1e-12));

  /* (d) line-search candidates along a mix of the gradient and a fixed direction */
  for (PetscInt i = 0; i < P; i++) dir[i] = grad[i] + 0.1 * PetscSinReal((PetscReal)(i + 1));
  for (PetscInt k = 0; k < K; k++) eta[k] = k == K - 1 ? 0.0 : PetscPowReal(2.0, -(PetscReal)k);
  PetscCall(ObjectiveLossCandidates(objective, theta, dir, K, eta, cand));
  err = 0;
  for (PetscInt k = 0; k < K; k++) {
    PetscReal l;
    for (PetscInt i = 0; i < P; i++) thetas[i] = theta[i] - eta[k] * dir[i];
    PetscCall(ObjectiveLoss(objective, thetas, &l));
    err = PetscMax(err, RelDiff(cand[k], l, 1e-300));
    CHECK(RelDiff(cand[k], l, 1e-300) < 1e-13, "%s: candidate eta %g: loss %.16e, ObjectiveLoss %.16e", cs->name, (double)eta[k], (double)cand[k], (double)l);
  }
  CHECK(RelDiff(cand[K - 1], loss, 1e-300) < 1e-13, "%s: candidate eta 0 gives %.16e, loss %.16e", cs->name, (double)cand[K - 1], (double)loss);
  PetscCall(ReportMax(comm, "(d) ObjectiveLossCandidates vs ObjectiveLoss", err, 1e-13));

  /* (e) gradient against central differences of the loss for a few parameters */
  {
    PetscReal gmax = 0;
    const PetscReal hl = 1e-5;
    for (PetscInt i = 0; i < P; i++) gmax = PetscMax(gmax, PetscAbsReal(grad[i]));
    err = 0;
    for (PetscInt j = 0; j < 8; j++) {
      const PetscInt k = (j * (P - 1)) / 7;
      PetscReal      lp, lm, fd;
      PetscCall(PetscArraycpy(thetas, theta, P));
      thetas[k] = theta[k] + hl;
      PetscCall(ObjectiveLoss(objective, thetas, &lp));
      thetas[k] = theta[k] - hl;
      PetscCall(ObjectiveLoss(objective, thetas, &lm));
      fd  = (lp - lm) / (2 * hl);
      err = PetscMax(err, PetscAbsReal(fd - grad[k]) / gmax);
      CHECK(PetscAbsReal(fd - grad[k]) / gmax < 1e-6, "%s: gradient[%" PetscInt_FMT "] %g, central difference %g", cs->name, k, (double)grad[k], (double)fd);
    }
    PetscCall(ReportMax(comm, "(e) gradient vs differences of the loss (h 1e-5), rel. max", err, 1e-6));
  }

  /* (f) the same problem on one rank: same loss and gradient */
  PetscCall(ObjectiveLoss(objective1, theta, &loss1));
  PetscCall(ObjectiveGradient(objective1, theta, grad1, &loss_grad1));
  err = RelDiff(loss1, loss, 1e-300);
  for (PetscInt i = 0; i < P; i++) err = PetscMax(err, PetscAbsReal(grad1[i] - grad[i]) / PetscMax(grad_abs[i], 1e-300));
  CHECK(err < 1e-12, "%s: loss %.16e / gradient on one rank differ from the distributed ones (loss %.16e): %.1e", cs->name, (double)loss1, (double)loss, (double)err);
  PetscCall(ReportMax(comm, "(f) loss and gradient vs the same problem on one rank", err, 1e-12));

  /* (g) */
  PetscCall(CheckProblemData(cs->name, problem, objective));

  PetscCall(PetscFree5(theta0, theta, thetas, res, jac_t));
  PetscCall(PetscFree4(grad, grad_jr, grad_abs, dir));
  PetscCall(PetscFree(grad1));
  PetscCall(DestroyStack(&problem1, &model1, &objective1));
  PetscCall(DestroyStack(&problem, &model, &objective));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  const Case cases[] = {
    {"2-D sin_prod, grid, tanh 6,5, block size 8",
     {"-dim", "2", "-solution", "sin_prod", "-net_hidden", "6,5", "-n_interior", "36", "-n_boundary", "16", "-net_block_size", "8", "-seed", "3", "-n_eval", "50", NULL}},
    {"1-D sin_sum, uniform, sin 8",
     {"-dim", "1", "-sampler", "uniform", "-solution", "sin_sum", "-net_hidden", "8", "-net_activation", "sin", "-n_interior", "20", "-n_boundary", "4", "-seed", "5", "-n_eval", "50", NULL}},
    {"5-D cos_sum, uniform, sigmoid 6,4, weights 2.5 / 7, block size 7",
     {"-dim", "5", "-sampler", "uniform", "-solution", "cos_sum", "-net_hidden", "6,4", "-net_activation", "sigmoid", "-n_interior", "30", "-n_boundary", "20", "-interior_weight", "2.5", "-boundary_weight", "7", "-net_block_size", "7", "-seed", "11", "-n_eval", "50", NULL}},
  };
  const PetscInt counts[3][2] = {{36, 16}, {20, 4}, {30, 20}};

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  for (PetscInt k = 0; k < 3; k++) PetscCall(CheckCase(&cases[k], counts[k][0], counts[k][1]));
  return TestFinish();
}
