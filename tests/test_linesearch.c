/* The line searches and the candidates' first-layer reuse, for a 2-D Poisson problem in small
   chunks, the (1+1)-D heat equation (trace weights, three terms) and the 1-D deep Ritz energy:
     (a) ModelForwardFromFirstLayer from ModelFirstLayer(theta) = ModelForward, bit for bit, for
         every order; ModelFirstLayer is affine: y(theta - eta d) = y(theta) - eta y(d) to
         round-off; and the pass from y(theta) - eta y(d) = ModelForward at theta - eta d to 1e-13;
     (b) ObjectiveLossCandidates (which forms each candidate's first layer as a - eta b) = the
         plain ObjectiveLoss at theta - eta_k d, to 1e-14 relative (the energy's, whose
         quadrature cancels, 1e-13), for all 31 candidates;
     (c) the bracket search against the grid along the gradient: the grid's losses over all 31
         steps fall and then rise (checked: the case is one where the answer is known), so from
         every start k, for widths 2, 3 and 5, with and without the longer steps
         (-ls_bracket_longer), the bracket takes the grid's step, loss and
         parameters bit for bit and keeps the grid's k as its state; centred on the grid's k it
         needs one pass of width candidates (two for an even width), not 31;
     (d) an ascent direction: both searches take no step and leave theta as it was; the
         bracket has then tried every step;
     (e) LineSearchSetState refuses a step index outside 0..ls_steps-1. */
/* ranks: 1 2 3 */
#include "stack.h"

#define K 31

typedef struct {
  const char *name;
  PetscReal   tol_b; /* (b): relative; an energy's quadrature cancels (its loss may be near 0) */
  const char *options[32];
} Case;

static PetscErrorCode CheckModel(const Case *cs, Model model, const PetscReal *theta, const PetscReal *dir)
{
  PetscInt         P, dim, bs, n_layers, n1;
  const PetscInt  *widths;
  PetscReal       *x, *y, *ya, *yb, *out, *out_from, err = 0, scale = 0;
  const PetscReal  eta = 0.375, c[3] = {0.5, 2.0, 1.25};
  const PetscInt   nb = 7;

  PetscFunctionBeginUser;
  PetscCall(ModelGetNumParameters(model, &P));
  PetscCall(ModelGetDimension(model, &dim));
  PetscCall(ModelGetBlockSize(model, &bs));
  PetscCall(ModelGetWidths(model, &n_layers, &widths));
  n1 = widths[1];
  PetscCall(PetscMalloc6(dim * bs, &x, n1 * bs, &y, n1 * bs, &ya, n1 * bs, &yb, (dim + 2) * bs, &out, (dim + 2) * bs, &out_from));
  for (PetscInt i = 0; i < dim * bs; i++) x[i] = 0.5 + 0.45 * PetscSinReal(1.7 * i + 0.3);
  PetscCall(ModelFirstLayer(model, theta, PetscMin(nb, bs), x, y));
  for (PetscInt order = 0; order <= 2; order++) {
    const PetscReal *cw = order == 2 && dim <= 3 ? c : NULL;
    PetscCall(ModelForward(model, theta, PetscMin(nb, bs), x, order, cw, PETSC_FALSE, out));
    PetscCall(ModelForwardFromFirstLayer(model, theta, PetscMin(nb, bs), y, NULL, 0.0, order, cw, out_from));
    CHECK(!memcmp(out, out_from, sizeof(PetscReal) * PetscMin(nb, bs) * ModelNumChannels(dim, order)), "%s: order %" PetscInt_FMT ": ModelForwardFromFirstLayer(ModelFirstLayer) differs from ModelForward", cs->name, order);
  }
  { /* affine in the parameters */
    PetscReal *thetas;
    PetscCall(PetscMalloc1(P, &thetas));
    for (PetscInt i = 0; i < P; i++) thetas[i] = theta[i] - eta * dir[i];
    PetscCall(ModelFirstLayer(model, thetas, PetscMin(nb, bs), x, ya));
    PetscCall(ModelFirstLayer(model, dir, PetscMin(nb, bs), x, yb));
    for (PetscInt i = 0; i < n1 * PetscMin(nb, bs); i++) {
      err   = PetscMax(err, PetscAbsReal(ya[i] - (y[i] - eta * yb[i])));
      scale = PetscMax(scale, PetscAbsReal(y[i]) + eta * PetscAbsReal(yb[i]));
    }
    CHECK(err <= 1e-14 * scale, "%s: ModelFirstLayer is not affine: %.1e (scale %.1e)", cs->name, (double)err, (double)scale);
    /* the pass from a - eta b at theta - eta d is ModelForward's there, up to the rounding of a - eta b */
    PetscCall(ModelForward(model, thetas, PetscMin(nb, bs), x, 2, NULL, PETSC_FALSE, out));
    PetscCall(ModelForwardFromFirstLayer(model, thetas, PetscMin(nb, bs), y, yb, eta, 2, NULL, out_from));
    err = scale = 0;
    for (PetscInt i = 0; i < PetscMin(nb, bs) * (dim + 2); i++) {
      err   = PetscMax(err, PetscAbsReal(out[i] - out_from[i]));
      scale = PetscMax(scale, PetscAbsReal(out[i]));
    }
    CHECK(err <= 1e-13 * scale, "%s: ModelForwardFromFirstLayer(a, b, eta) vs ModelForward at theta - eta d: %.1e (scale %.1e)", cs->name, (double)err, (double)scale);
    PetscCall(PetscFree(thetas));
  }
  PetscCall(PetscFree6(x, y, ya, yb, out, out_from));
  PetscFunctionReturn(0);
}

static PetscErrorCode SearchCreate(MPI_Comm comm, const char *type, const char *width, const char *longer, LineSearch *ls)
{
  PetscFunctionBeginUser;
  if (width) PetscCall(PetscOptionsSetValue(NULL, "-ls_bracket_width", width));
  if (width) PetscCall(PetscOptionsSetValue(NULL, "-ls_bracket_longer", longer));
  PetscCall(LineSearchCreate(comm, ls));
  PetscCall(LineSearchSetType(*ls, type));
  PetscCall(LineSearchSetFromOptions(*ls));
  PetscCall(LineSearchSetUp(*ls));
  if (width) PetscCall(PetscOptionsClearValue(NULL, "-ls_bracket_width"));
  if (width) PetscCall(PetscOptionsClearValue(NULL, "-ls_bracket_longer"));
  PetscFunctionReturn(0);
}

/* One search from theta along dir (the bracket centred on start when start >= 0). */
static PetscErrorCode Search(LineSearch ls, Objective o, PetscInt P, const PetscReal *theta, const PetscReal *dir, PetscReal loss, PetscInt start, PetscReal *theta_new, PetscReal *eta, PetscReal *loss_new, PetscInt *n_eval)
{
  PetscFunctionBeginUser;
  if (start >= 0) {
    const PetscReal s = (PetscReal)start;
    PetscCall(LineSearchSetState(ls, 1, &s));
  }
  PetscCall(PetscArraycpy(theta_new, theta, P));
  PetscCall(LineSearchApply(ls, o, theta_new, dir, loss, eta, loss_new));
  PetscCall(LineSearchGetNumEvaluated(ls, n_eval));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckCase(const Case *cs)
{
  MPI_Comm   comm = PETSC_COMM_WORLD;
  Problem    problem;
  Model      model;
  Objective  o;
  LineSearch grid, bracket;
  PetscInt   P, k_grid = -1, n_eval, n_state;
  PetscReal *theta, *thetas, *dir, *theta_grid, *theta_br, eta[K], cand[K], loss, err = 0, eta_g, loss_g, eta_b, loss_b, state[LINESEARCH_MAX_STATE];
  PetscBool  unimodal = PETSC_TRUE, rising = PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(comm, "== %s\n", cs->name));
  PetscCall(TestSetOptions(cs->options, PETSC_TRUE));
  PetscCall(BuildStack(comm, &problem, &model, &o));
  PetscCall(ModelGetNumParameters(model, &P));
  PetscCall(PetscMalloc5(P, &theta, P, &thetas, P, &dir, P, &theta_grid, P, &theta_br));
  PetscCall(ModelInitializeParameters(model, 5, theta));
  PetscCall(ObjectiveGradient(o, theta, dir, &loss));

  /* (a) */
  PetscCall(CheckModel(cs, model, theta, dir));

  /* (b) */
  for (PetscInt k = 0; k < K; k++) eta[k] = PetscPowReal(2.0, -(PetscReal)k);
  PetscCall(ObjectiveLossCandidates(o, theta, dir, K, eta, cand));
  for (PetscInt k = 0; k < K; k++) {
    PetscReal l;
    for (PetscInt i = 0; i < P; i++) thetas[i] = theta[i] - eta[k] * dir[i];
    PetscCall(ObjectiveLoss(o, thetas, &l));
    err = PetscMax(err, RelDiff(cand[k], l, 1e-300));
  }
  CHECK(err <= cs->tol_b, "%s: candidates (first layer reused) vs ObjectiveLoss: %.1e", cs->name, (double)err);
  PetscCall(ReportMax(comm, "(b) candidates with the first layer reused vs ObjectiveLoss", err, cs->tol_b));

  /* (c) the grid's profile falls, then rises: a known answer for the bracket */
  for (PetscInt k = 0; k < K; k++)
    if (k_grid < 0 || cand[k] < cand[k_grid]) k_grid = k;
  for (PetscInt k = 1; k < K; k++) {
    if (cand[k] > cand[k - 1]) rising = PETSC_TRUE;
    else if (rising && cand[k] < cand[k - 1]) unimodal = PETSC_FALSE;
  }
  CHECK(unimodal && k_grid > 0 && k_grid < K - 1 && cand[k_grid] < loss, "%s: the test case needs a loss profile that falls then rises with an interior minimum (grid k %" PetscInt_FMT ")", cs->name, k_grid);
  PetscCall(SearchCreate(comm, LINESEARCHGRID, NULL, NULL, &grid));
  PetscCall(Search(grid, o, P, theta, dir, loss, -1, theta_grid, &eta_g, &loss_g, &n_eval));
  CHECK(eta_g == eta[k_grid] && loss_g == cand[k_grid] && n_eval == K, "%s: grid search took eta %g (loss %.17g, %" PetscInt_FMT " candidates), want 2^-%" PetscInt_FMT " (%.17g, %d)", cs->name, (double)eta_g, (double)loss_g, n_eval, k_grid, (double)cand[k_grid], K);
  PetscCall(LineSearchGetState(grid, &n_state, state));
  CHECK(n_state == 0, "%s: the grid search has a state of %" PetscInt_FMT " values", cs->name, n_state);
  PetscCall(PetscPrintf(comm, "    grid: k = %" PetscInt_FMT ", loss %.6e -> %.6e\n", k_grid, (double)loss, (double)loss_g));
  {
    const char *widths[] = {"2", "3", "5", "2", "3", "5"};
    PetscInt    bad = 0, max_eval = 0;
    for (size_t w = 0; w < sizeof(widths) / sizeof(widths[0]); w++) {
      const PetscBool longer = w >= 3;
      PetscCall(SearchCreate(comm, LINESEARCHBRACKET, widths[w], longer ? "1" : "0", &bracket));
      for (PetscInt start = 0; start < K; start++) {
        PetscCall(Search(bracket, o, P, theta, dir, loss, start, theta_br, &eta_b, &loss_b, &n_eval));
        PetscCall(LineSearchGetState(bracket, &n_state, state));
        max_eval = PetscMax(max_eval, n_eval);
        if (eta_b != eta_g || loss_b != loss_g || memcmp(theta_br, theta_grid, sizeof(PetscReal) * P) || n_state != 1 || state[0] != (PetscReal)k_grid) {
          bad++;
          CHECK(PETSC_FALSE, "%s: bracket width %s (longer steps %d) from k = %" PetscInt_FMT ": eta %g loss %.17g state %g, grid eta %g loss %.17g k %" PetscInt_FMT, cs->name, widths[w], (int)longer, start, (double)eta_b, (double)loss_b, (double)state[0], (double)eta_g, (double)loss_g, k_grid);
        }
      }
      PetscCall(Search(bracket, o, P, theta, dir, loss, k_grid, theta_br, &eta_b, &loss_b, &n_eval));
      { /* an odd bracket centred on the minimiser needs one pass, an even one (the minimiser at
           an end) two; with the longer steps the first pass starts at k = 0 */
        const PetscInt width = atoi(widths[w]), lo = PetscMin(PetscMax(k_grid - (width - 1) / 2, 0), K - width), hi = lo + width - 1;
        const PetscInt one_pass = longer ? hi + 1 : width;
        CHECK(width % 2 ? n_eval == one_pass : n_eval <= one_pass + width, "%s: bracket width %s (longer steps %d) centred on the grid's k evaluated %" PetscInt_FMT " candidates, want %" PetscInt_FMT, cs->name, widths[w], (int)longer, n_eval, one_pass);
      }
      PetscCall(LineSearchDestroy(&bracket));
    }
    PetscCall(PetscPrintf(comm, "    (c) bracket (widths 2, 3, 5, with and without the longer steps, every start) = grid: %" PetscInt_FMT " of %d differ; at most %" PetscInt_FMT " candidates\n", bad, 6 * K, max_eval));
  }

  /* (d) ascent: no step */
  for (PetscInt i = 0; i < P; i++) dir[i] = -dir[i];
  PetscCall(Search(grid, o, P, theta, dir, loss, -1, theta_grid, &eta_g, &loss_g, &n_eval));
  PetscCall(SearchCreate(comm, LINESEARCHBRACKET, "3", "1", &bracket));
  PetscCall(Search(bracket, o, P, theta, dir, loss, 4, theta_br, &eta_b, &loss_b, &n_eval));
  CHECK(eta_g == 0 && eta_b == 0 && loss_g == loss && loss_b == loss && !memcmp(theta_grid, theta, sizeof(PetscReal) * P) && !memcmp(theta_br, theta, sizeof(PetscReal) * P), "%s: an ascent direction: grid eta %g, bracket eta %g", cs->name, (double)eta_g, (double)eta_b);
  CHECK(n_eval == K, "%s: an ascent direction from k = 4, width 3: the bracket evaluated %" PetscInt_FMT " candidates, want k = 0..30 (%d)", cs->name, n_eval, K);
  PetscCall(LineSearchGetState(bracket, &n_state, state));
  CHECK(state[0] == 4, "%s: a rejected step moved the bracket's centre to %g", cs->name, (double)state[0]);

  /* (e) */
  {
    const PetscReal bad_states[] = {-1.0, (PetscReal)K, 2.5};
    for (size_t b = 0; b < sizeof(bad_states) / sizeof(bad_states[0]); b++) {
      PetscErrorCode ierr;
      PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
      ierr = LineSearchSetState(bracket, 1, &bad_states[b]);
      PetscCall(PetscPopErrorHandler());
      CHECK(ierr != 0, "%s: LineSearchSetState accepted the step index %g", cs->name, (double)bad_states[b]);
    }
  }
  PetscCall(LineSearchDestroy(&bracket));
  PetscCall(LineSearchDestroy(&grid));
  PetscCall(PetscFree5(theta, thetas, dir, theta_grid, theta_br));
  PetscCall(DestroyStack(&problem, &model, &o));
  PetscCall(TestSetOptions(cs->options, PETSC_FALSE));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  const Case cases[] = {
    {"2-D Poisson, grid, tanh 6,5, block 8, chunks of 16 rows", 1e-14,
     {"-dim", "2", "-net_hidden", "6,5", "-n_interior", "100", "-n_boundary", "40", "-net_block_size", "8", "-chunk_rows", "16", "-seed", "3", NULL}},
    {"(1+1)-D heat, uniform, sin 7, block 5", 1e-14,
     {"-problem", "heat", "-sampler", "uniform", "-net_hidden", "7", "-net_activation", "sin", "-n_interior", "60", "-n_boundary", "20", "-n_initial", "15", "-net_block_size", "5", "-seed", "4", NULL}},
    {"1-D deep Ritz energy, grid nodes, tanh 8, block 6", 1e-13,
     {"-problem", "ritz1d", "-net_hidden", "8", "-n_interior", "50", "-net_block_size", "6", "-seed", "2", NULL}},
  };

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  TestSetWatchdog(300);
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) PetscCall(CheckCase(&cases[k]));
  return TestFinish();
}
