/* The Objective's block loop and its visitors against the naive sums they replace, computed
   here point by point (one-point forward and reverse passes, no chunks, no blocks), for a 2-D
   Poisson problem in many small chunks, the (1+1)-D heat equation (three terms) and the 1-D
   deep Ritz energy. Checks:
     (a) ObjectiveVisit: every local point of every term exactly once, blocks of at most the
         block size inside one chunk, rows contiguous in chunk order and equal to
         ObjectiveGetTermRow, begin/end callbacks paired, a term filter visits that term only,
         and the evaluation points number -n_eval over the ranks;
     (b) ObjectiveLoss and every ObjectiveLossCandidates value = the naive sum of the terms'
         shares (1/2 (w/N) r^2, or w w_q e) at the same parameters;
     (c) ObjectiveResidualRows: residuals and rows of every least-squares point = the one-point
         residual and reverse pass;
     (d) ObjectiveGradient = the naive sum of the one-point gradients;
     (e) ObjectiveComputeErrors = the errors summed naively over the evaluation points;
     (f) two passes live at once: a visitor whose every block, between its taped forward pass
         and its reverse passes, runs whole ObjectiveLoss and ObjectiveGradient passes, gets
         the rows of ObjectiveResidualRows bit for bit, and the nested passes return the loss
         and gradient of the same passes run alone. */
/* ranks: 1 2 3 */
#include "stack.h"

/* -n_eval of every case: the evaluation points a rank can hold at most */
#define N_EVAL 300

typedef struct {
  const char *name;
  const char *options[32];
} Case;

/* (a): the loop's bookkeeping, recorded by a visitor */
typedef struct {
  Objective  o;
  PetscInt   block_size, n_terms, term_only;
  PetscInt  *seen[8];      /* per term: times each local point was visited */
  PetscInt   chunk, open;  /* the chunk begun last; whether it is open */
  PetscInt   next_row, pieces, bad;
  const PetscInt *chunk_row;
} Coverage;

static PetscErrorCode CoverBegin(void *ctx, PetscInt chunk)
{
  Coverage *c = (Coverage *)ctx;

  PetscFunctionBeginUser;
  if (c->open || chunk != c->chunk + 1) c->bad++;
  c->chunk = chunk;
  c->open  = 1;
  if (c->term_only < 0 && c->next_row != c->chunk_row[chunk]) c->bad++;
  PetscFunctionReturn(0);
}

static PetscErrorCode CoverBlock(void *ctx, const ObjectiveBlock *blk)
{
  Coverage *c = (Coverage *)ctx;
  PetscInt  row;

  PetscFunctionBeginUser;
  if (!c->open || blk->chunk != c->chunk || blk->n < 1 || blk->n > c->block_size) c->bad++;
  if (c->term_only >= 0 && blk->term != c->term_only) c->bad++;
  for (PetscInt q = 0; q < blk->n; q++) c->seen[blk->term][blk->point + q]++;
  PetscCall(ObjectiveGetTermRow(c->o, blk->term, blk->point, &row));
  if (blk->rows_per_point == 1 && row != blk->row) c->bad++;
  if (c->term_only < 0 && blk->row != c->next_row) c->bad++;
  c->next_row = blk->row + blk->rows_per_point * blk->n;
  PetscFunctionReturn(0);
}

static PetscErrorCode CoverPiece(void *ctx, PetscInt chunk, PetscInt term)
{
  Coverage *c = (Coverage *)ctx;

  PetscFunctionBeginUser;
  if (chunk != c->chunk || !c->open) c->bad++;
  c->pieces++;
  PetscFunctionReturn(0);
}

static PetscErrorCode CoverEnd(void *ctx, PetscInt chunk)
{
  Coverage *c = (Coverage *)ctx;

  PetscFunctionBeginUser;
  if (chunk != c->chunk || !c->open) c->bad++;
  c->open = 0;
  PetscFunctionReturn(0);
}

/* (e): the evaluation points, collected */
typedef struct {
  PetscInt   dim, n;
  PetscReal *x;
} Collect;

static PetscErrorCode CollectBlock(void *ctx, const ObjectiveBlock *blk)
{
  Collect *c = (Collect *)ctx;

  PetscFunctionBeginUser;
  PetscCall(PetscArraycpy(c->x + c->n * c->dim, blk->x, blk->n * c->dim));
  c->n += blk->n;
  PetscFunctionReturn(0);
}

/* (f): rows by a visitor of its own with whole passes nested in every block */
typedef struct {
  Objective          o;
  ObjectiveBlockWork work;
  const PetscReal   *theta;
  PetscReal         *jac_t, *res, *grad, loss, nested_loss, *nested_grad;
  PetscInt           P, nested_bad, blocks;
} Nested;

static PetscErrorCode NestedBlock(void *ctx, const ObjectiveBlock *blk)
{
  Nested   *c = (Nested *)ctx;
  Model     model;
  PetscReal loss, loss_grad;

  PetscFunctionBeginUser;
  PetscCall(ObjectiveGetModel(c->o, &model));
  PetscCall(ObjectiveBlockEvaluate(c->o, blk, c->theta, PETSC_TRUE, PETSC_TRUE, &c->work));
  if (c->blocks++ == 0) { /* whole (collective) passes while this one is live: once per rank */
    PetscCall(ObjectiveLoss(c->o, c->theta, &loss));
    PetscCall(ObjectiveGradient(c->o, c->theta, c->nested_grad, &loss_grad));
    if (loss != c->loss || loss_grad != c->nested_loss) c->nested_bad++;
    for (PetscInt i = 0; i < c->P; i++)
      if (c->nested_grad[i] != c->grad[i]) c->nested_bad++;
  }
  for (PetscInt g = 0; g < blk->rows_per_point; g++) {
    const PetscInt   row  = blk->row + g * blk->n;
    ModelRowsContext rows = {c->jac_t + (size_t)row * c->P, c->P};
    PetscCall(ObjectiveBlockRowGroup(c->o, blk, &c->work, g, c->res + row));
    PetscCall(ModelReverse(model, c->work.tape, c->theta, c->work.cot, ModelLayerVisitRows, &rows));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckNested(const char *name, Objective o, const PetscReal *theta, const PetscReal *res, const PetscReal *jac_t, const PetscReal *grad, PetscReal loss_grad)
{
  Nested   c;
  PetscInt n_local, n_max, bad = 0;
  MPI_Comm comm;

  PetscFunctionBeginUser;
  PetscCall(ObjectiveGetComm(o, &comm));
  PetscCall(PetscMemzero(&c, sizeof(c)));
  c.o = o, c.theta = theta, c.nested_loss = loss_grad;
  PetscCall(ObjectiveLoss(o, theta, &c.loss));
  c.grad = (PetscReal *)grad;
  {
    Model model;
    PetscCall(ObjectiveGetModel(o, &model));
    PetscCall(ModelGetNumParameters(model, &c.P));
  }
  PetscCall(ObjectiveGetLocalRows(o, &n_local, &n_max));
  PetscCall(PetscCalloc3((size_t)c.P * n_max, &c.jac_t, n_max, &c.res, c.P, &c.nested_grad));
  PetscCall(ObjectiveBlockWorkCreate(o, &c.work));
  {
    const ObjectiveVisitor v = {&c, NULL, NestedBlock, NULL, NULL};
    PetscCall(ObjectiveVisit(o, OBJECTIVE_TRAINING, OBJECTIVE_ALL_TERMS, &v));
  }
  for (PetscInt r = 0; r < n_local; r++) {
    if (c.res[r] != res[r]) bad++;
    for (PetscInt i = 0; i < c.P; i++)
      if (c.jac_t[(size_t)r * c.P + i] != jac_t[(size_t)r * c.P + i]) bad++;
  }
  CHECK(bad == 0 && c.nested_bad == 0, "%s: with passes nested, %" PetscInt_FMT " row entries and %" PetscInt_FMT " nested results differ", name, bad, c.nested_bad);
  PetscCall(ReportMax(comm, "(f) entries that differ with whole passes nested in a live one", (PetscReal)(bad + c.nested_bad), 0));
  PetscCall(ObjectiveBlockWorkDestroy(&c.work));
  PetscCall(PetscFree3(c.jac_t, c.res, c.nested_grad));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckCoverage(const char *name, Objective o, PetscInt n_terms, PetscInt block_size, PetscInt dim)
{
  Coverage        c;
  PetscInt        n_chunks, bad = 0, n_eval_local, n_eval;
  const PetscInt *chunk_row;
  MPI_Comm        comm;

  PetscFunctionBeginUser;
  PetscCall(ObjectiveGetComm(o, &comm));
  PetscCall(ObjectiveGetChunks(o, &n_chunks, &chunk_row));
  for (PetscInt pass = -1; pass < n_terms; pass++) { /* all terms, then each term alone */
    const ObjectiveVisitor v = {&c, CoverBegin, CoverBlock, CoverPiece, CoverEnd};
    PetscCall(PetscMemzero(&c, sizeof(c)));
    c.o = o, c.block_size = block_size, c.n_terms = n_terms, c.term_only = pass, c.chunk = -1, c.chunk_row = chunk_row;
    for (PetscInt t = 0; t < n_terms; t++) {
      PetscInt         n;
      const PetscReal *x;
      PetscCall(ObjectiveGetTermPoints(o, t, &n, &x));
      PetscCall(PetscCalloc1(n + 1, &c.seen[t]));
    }
    PetscCall(ObjectiveVisit(o, OBJECTIVE_TRAINING, pass < 0 ? OBJECTIVE_ALL_TERMS : pass, &v));
    if (c.open || c.chunk != n_chunks - 1) c.bad++;
    if (c.pieces != n_chunks * (pass < 0 ? n_terms : 1)) c.bad++;
    if (pass < 0 && c.next_row != chunk_row[n_chunks]) c.bad++;
    for (PetscInt t = 0; t < n_terms; t++) {
      PetscInt         n;
      const PetscReal *x;
      PetscCall(ObjectiveGetTermPoints(o, t, &n, &x));
      for (PetscInt q = 0; q < n; q++)
        if (c.seen[t][q] != (pass < 0 || pass == t ? 1 : 0)) c.bad++;
      PetscCall(PetscFree(c.seen[t]));
    }
    bad += c.bad;
  }
  CHECK(bad == 0, "%s: %" PetscInt_FMT " faults in the block loop's coverage", name, bad);
  { /* evaluation points: a count of blocks */
    Collect                col = {dim, 0, NULL};
    const ObjectiveVisitor v   = {&col, NULL, CollectBlock, NULL, NULL};
    PetscCall(PetscMalloc1(dim * N_EVAL, &col.x));
    PetscCall(ObjectiveVisit(o, OBJECTIVE_EVALUATION, OBJECTIVE_ALL_TERMS, &v));
    n_eval_local = col.n;
    PetscCall(PetscFree(col.x));
  }
  PetscCall(MPIU_Allreduce(&n_eval_local, &n_eval, 1, MPIU_INT, MPI_SUM, comm));
  CHECK(n_eval == N_EVAL, "%s: %" PetscInt_FMT " evaluation points over the ranks, expected %d", name, n_eval, N_EVAL);
  PetscCall(ReportMax(comm, "(a) faults in the loop's coverage, rows and callbacks", (PetscReal)bad, 0));
  PetscFunctionReturn(0);
}

/* One point's loss share, and (with grad) its gradient added to grad and (with row, for a
   least-squares term) its scaled residual and Jacobian row. */
static PetscErrorCode OnePoint(Objective o, PetscInt t, const PetscReal *x, const PetscReal *data, const PetscReal *theta, PetscReal *share, PetscReal *grad, PetscReal *res, PetscReal *row)
{
  Model              model;
  Problem            problem;
  const ProblemTerm *term;
  const PetscReal   *c;
  PetscInt           dim, S;
  PetscReal          out[16], cot[16], r, e, de[16], d2e[16], weight;

  PetscFunctionBeginUser;
  PetscCall(ObjectiveGetModel(o, &model));
  PetscCall(ObjectiveGetProblem(o, &problem));
  PetscCall(ProblemGetTerm(problem, t, &term));
  PetscCall(ProblemGetDimension(problem, &dim));
  PetscCall(ProblemGetTraceWeights(problem, &c));
  S = ModelNumChannels(dim, term->order);
  if (term->kind == PROBLEM_TERM_ENERGY) {
    PetscCall(ModelForward(model, theta, 1, x, term->order, NULL, PETSC_TRUE, out));
    PetscCall(ProblemEnergy(problem, t, 1, x, data, out, &e, de, d2e));
    weight = term->weight * data[0];
    *share = weight * e;
    for (PetscInt s = 0; s < S; s++) cot[s] = weight * de[s];
  } else {
    const PetscReal scale = PetscSqrtReal(term->weight / (PetscReal)term->n_points);
    PetscCall(ModelForward(model, theta, 1, x, term->order, c, PETSC_TRUE, out));
    PetscCall(ProblemResidual(problem, t, 1, x, data, out, &r, cot));
    *share = 0.5 * scale * scale * r * r;
    for (PetscInt s = 0; s < S; s++) cot[s] *= scale;
    if (res) *res = scale * r;
    if (row) PetscCall(ModelBackwardRows(model, theta, cot, row, 1));
    for (PetscInt s = 0; s < S; s++) cot[s] *= scale * r;
  }
  if (grad) PetscCall(ModelBackwardGradient(model, theta, cot, grad));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckCase(const Case *cs)
{
  Problem    problem;
  Model      model;
  Objective  o;
  MPI_Comm   comm = PETSC_COMM_WORLD;
  PetscInt   P, dim, n_terms, bs, n_local, n_max, K = 5;
  PetscReal *theta, *thetas, *res, *jac_t, *grad, *grad_naive, *grad_abs, *row, *dir, *point_grad;
  PetscReal  loss, loss_grad, naive, cand[5], eta[5], err_loss = 0, err_rows = 0, err_grad = 0;
  PetscBool  has_energy;

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(comm, "  %s\n", cs->name));
  PetscCall(TestSetOptions(cs->options, PETSC_TRUE));
  PetscCall(BuildStack(comm, &problem, &model, &o));
  PetscCall(TestSetOptions(cs->options, PETSC_FALSE));
  PetscCall(ModelGetNumParameters(model, &P));
  PetscCall(ModelGetBlockSize(model, &bs));
  PetscCall(ProblemGetDimension(problem, &dim));
  PetscCall(ProblemGetNumTerms(problem, &n_terms));
  PetscCall(ObjectiveGetLocalRows(o, &n_local, &n_max));
  PetscCall(ObjectiveHasEnergyTerms(o, &has_energy));
  PetscCall(CheckCoverage(cs->name, o, n_terms, bs, dim));

  PetscCall(PetscMalloc6(P, &theta, P, &thetas, n_max, &res, (size_t)P * n_max, &jac_t, P, &grad, P, &grad_naive));
  PetscCall(PetscMalloc4(P, &grad_abs, P, &row, P, &dir, P, &point_grad));
  PetscCall(ModelInitializeParameters(model, 7, theta));
  for (PetscInt i = 0; i < P; i++) dir[i] = 0.05 * PetscCosReal((PetscReal)(3 * i + 1));
  for (PetscInt k = 0; k < K; k++) eta[k] = PetscPowReal(2.0, -(PetscReal)k);

  /* (b) loss and candidates */
  PetscCall(ObjectiveLoss(o, theta, &loss));
  PetscCall(ObjectiveLossCandidates(o, theta, dir, K, eta, cand));
  for (PetscInt k = -1; k < K; k++) {
    PetscReal sum = 0, sum_abs = 0;
    for (PetscInt i = 0; i < P; i++) thetas[i] = k < 0 ? theta[i] : theta[i] - eta[k] * dir[i];
    for (PetscInt t = 0; t < n_terms; t++) {
      const ProblemTerm *term;
      const PetscReal   *x;
      PetscReal         *data, share = 0;
      PetscInt           n;
      PetscCall(ProblemGetTerm(problem, t, &term));
      PetscCall(ObjectiveGetTermPoints(o, t, &n, &x));
      PetscCall(PetscMalloc1(PetscMax(1, term->n_data * n), &data));
      PetscCall(ProblemPointData(problem, t, n, x, data));
      for (PetscInt q = 0; q < n; q++) {
        PetscCall(OnePoint(o, t, x + q * dim, data + q * term->n_data, thetas, &share, NULL, NULL, NULL));
        sum += share;
        sum_abs += PetscAbsReal(share);
      }
      PetscCall(PetscFree(data));
    }
    PetscCall(MPIU_Allreduce(MPI_IN_PLACE, &sum, 1, MPIU_REAL, MPIU_SUM, comm));
    PetscCall(MPIU_Allreduce(MPI_IN_PLACE, &sum_abs, 1, MPIU_REAL, MPIU_SUM, comm));
    naive = k < 0 ? loss : cand[k];
    err_loss = PetscMax(err_loss, PetscAbsReal(naive - sum) / sum_abs);
    CHECK(PetscAbsReal(naive - sum) <= 1e-12 * sum_abs, "%s: %s %.16e, naive sum %.16e", cs->name, k < 0 ? "ObjectiveLoss" : "candidate", (double)naive, (double)sum);
  }
  PetscCall(ReportMax(comm, "(b) loss and candidates vs naive sums, rel. to sum of |shares|", err_loss, 1e-12));

  /* (c), (d) rows and gradient */
  PetscCall(ObjectiveResidualRows(o, theta, res, jac_t, &loss));
  PetscCall(ObjectiveGradient(o, theta, grad, &loss_grad));
  PetscCall(PetscArrayzero(grad_naive, P));
  PetscCall(PetscArrayzero(grad_abs, P));
  for (PetscInt t = 0; t < n_terms; t++) {
    const ProblemTerm *term;
    const PetscReal   *x;
    PetscReal         *data, share = 0, r = 0;
    PetscInt           n, at;
    PetscCall(ProblemGetTerm(problem, t, &term));
    PetscCall(ObjectiveGetTermPoints(o, t, &n, &x));
    PetscCall(PetscMalloc1(PetscMax(1, term->n_data * n), &data));
    PetscCall(ProblemPointData(problem, t, n, x, data));
    for (PetscInt q = 0; q < n; q++) {
      const PetscBool ls = term->kind == PROBLEM_TERM_LEAST_SQUARES ? PETSC_TRUE : PETSC_FALSE;
      PetscCall(PetscArrayzero(point_grad, P));
      PetscCall(OnePoint(o, t, x + q * dim, data + q * term->n_data, theta, &share, point_grad, ls ? &r : NULL, ls ? row : NULL));
      for (PetscInt i = 0; i < P; i++) {
        grad_naive[i] += point_grad[i];
        grad_abs[i] += PetscAbsReal(point_grad[i]);
      }
      if (!ls) continue;
      PetscCall(ObjectiveGetTermRow(o, t, q, &at));
      err_rows = PetscMax(err_rows, RelDiff(res[at], r, 1e-300));
      for (PetscInt i = 0; i < P; i++) err_rows = PetscMax(err_rows, PetscAbsReal(jac_t[(size_t)at * P + i] - row[i]) / PetscMax(PetscAbsReal(row[i]), 1e-8));
    }
    PetscCall(PetscFree(data));
  }
  CHECK(err_rows < 1e-12, "%s: rows or residuals differ from one-point passes: %.1e", cs->name, (double)err_rows);
  PetscCall(ReportMax(comm, "(c) residuals and rows vs one-point passes", err_rows, 1e-12));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, grad_naive, P, MPIU_REAL, MPIU_SUM, comm));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, grad_abs, P, MPIU_REAL, MPIU_SUM, comm));
  for (PetscInt i = 0; i < P; i++) err_grad = PetscMax(err_grad, PetscAbsReal(grad[i] - grad_naive[i]) / PetscMax(grad_abs[i], 1e-300));
  CHECK(err_grad < 1e-12, "%s: ObjectiveGradient differs from the naive sum: %.1e", cs->name, (double)err_grad);
  CHECK(RelDiff(loss, loss_grad, 1e-300) < 1e-14, "%s: the rows' loss %.16e and the gradient's %.16e differ", cs->name, (double)loss, (double)loss_grad);
  PetscCall(ReportMax(comm, "(d) gradient vs naive sum of one-point gradients", err_grad, 1e-12));
  PetscCall(CheckNested(cs->name, o, theta, res, jac_t, grad, loss_grad));

  /* (e) errors over the evaluation points */
  {
    Collect                col = {dim, 0, NULL};
    const ObjectiveVisitor v   = {&col, NULL, CollectBlock, NULL, NULL};
    ObjectiveErrors        errors;
    PetscReal              sums[4] = {0, 0, 0, 0}, out[16], u, g[8], rel_l2, rel_h1, err;
    PetscCall(PetscMalloc1(dim * N_EVAL, &col.x));
    PetscCall(ObjectiveVisit(o, OBJECTIVE_EVALUATION, OBJECTIVE_ALL_TERMS, &v));
    for (PetscInt q = 0; q < col.n; q++) {
      PetscCall(ModelForward(model, theta, 1, col.x + q * dim, 1, NULL, PETSC_FALSE, out));
      PetscCall(ProblemExactSolution(problem, 1, col.x + q * dim, &u, g));
      sums[0] += (out[0] - u) * (out[0] - u);
      sums[1] += u * u;
      for (PetscInt i = 0; i < dim; i++) {
        sums[2] += (out[1 + i] - g[i]) * (out[1 + i] - g[i]);
        sums[3] += g[i] * g[i];
      }
    }
    PetscCall(PetscFree(col.x));
    PetscCall(MPIU_Allreduce(MPI_IN_PLACE, sums, 4, MPIU_REAL, MPIU_SUM, comm));
    rel_l2 = PetscSqrtReal(sums[0] / sums[1]);
    rel_h1 = PetscSqrtReal((sums[0] + sums[2]) / (sums[1] + sums[3]));
    PetscCall(ObjectiveComputeErrors(o, theta, &errors));
    err = PetscMax(RelDiff(errors.rel_l2, rel_l2, 1e-300), RelDiff(errors.rel_h1, rel_h1, 1e-300));
    CHECK(err < 1e-12, "%s: errors rel_l2 %.16e rel_h1 %.16e, naive %.16e %.16e", cs->name, (double)errors.rel_l2, (double)errors.rel_h1, (double)rel_l2, (double)rel_h1);
    PetscCall(ReportMax(comm, "(e) relative L2 and H1 errors vs naive sums", err, 1e-12));
  }

  PetscCall(PetscFree6(theta, thetas, res, jac_t, grad, grad_naive));
  PetscCall(PetscFree4(grad_abs, row, dir, point_grad));
  PetscCall(DestroyStack(&problem, &model, &o));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  const Case cases[] = {
    {"2-D Poisson, grid, tanh 6,5, block 8, chunks of 16 rows",
     {"-dim", "2", "-net_hidden", "6,5", "-n_interior", "100", "-n_boundary", "40", "-net_block_size", "8", "-chunk_rows", "16", "-seed", "3", "-n_eval", "300", NULL}},
    {"(1+1)-D heat, uniform, sin 7, block 5",
     {"-problem", "heat", "-sampler", "uniform", "-net_hidden", "7", "-net_activation", "sin", "-n_interior", "60", "-n_boundary", "20", "-n_initial", "15", "-net_block_size", "5", "-seed", "4", "-n_eval", "300", NULL}},
    {"1-D deep Ritz energy, grid nodes, tanh 8, block 6",
     {"-problem", "ritz1d", "-net_hidden", "8", "-n_interior", "50", "-net_block_size", "6", "-seed", "2", "-n_eval", "300", NULL}},
  };

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  TestSetWatchdog(300);
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) PetscCall(CheckCase(&cases[k]));
  return TestFinish();
}
