/* Energy natural gradient descent (Mueller & Zeinhofer, ICML 2023): with the scaled residuals
   r~ and rows J~ of the PINN loss, grad L = J~^T r~ and the energy Gram matrix is G = J~^T J~,
   so the direction d = G^+ grad L is the Gauss-Newton step in function space. The step size
   comes from the line search over eta = 2^-k (linesearch.h).

   Hilbert NGD (-optimizer hngd), the comparison the ENGD paper makes, is the same iteration
   with the Gram matrix of the solution space's inner product instead of the energy's: the
   H1(Omega) products of the tangent functions d u_theta / d theta_i, by quadrature on the
   interior points (h1metric.h).

   Deep Ritz (energy terms, objective.h): the rows are the weighted rows of the quadrature of
   the energy density's Hessian, G = sum_q c_q J_q^T D^2e_q J_q, and grad L is no longer
   J~^T r~: it comes from ObjectiveGradient (chunked double-double sums as well).

   With -engd_gram cg the direction comes from a Krylov solve (curvature.h); -engd_matrix_free
   then gives the solver the Objective's matrix-free products (ObjectiveShellCreate) instead of
   stored rows (also chosen when the rows would not fit: more entries than a 32-bit PetscInt
   indexes or more than a quarter of the node's memory), and the loss and gradient come from
   ObjectiveGradient. The Krylov solve starts
   from the previous direction (-engd_warm_start) and may adapt the damping (KrylovControl).

   The method knows neither chunks nor back-ends: the Objective gives the rows as a curvature
   operator and the gradient (ObjectiveRowsGradient), a CurvatureSolver (curvature.h) gives the
   direction under the regularisation (cut-off, damping) that ENGD drives. */
#include <engd/private/optimizerimpl.h>
#include <engd/private/h1metric.h>

/* Cut-off continuation (the safeguard): the pseudo-inverse starts with the relative cut-off
   -engd_rcond and lowers it tenfold, down to a floor (-engd_rcond_min), whenever the line search
   takes a short step (eta <= 2^-5) or none. Short steps mean the direction lacks components the
   cut-off removed; a lower cut-off resolves them. The floor is the solver's
   (CurvatureSolverGetCutoffFloor): 1e-14 stays above the rounding noise of a double-precision G,
   about 1e-15 lambda_max, below which the direction picks up noise; qr, which never forms G,
   goes to 1e-20.
   Far from the solution the opposite can hold: the components of the small eigenvalues point
   nowhere useful and the line search finds only tiny steps (eta ~ 2^-15) for as long as the
   cut-off sits at the floor (heat (4+1)-D, Poisson 10-D, Helmholtz). After -engd_rcond_raise_after
   such steps in a row (eta <= 2^-12, or none) the floor goes up 100-fold and the cut-off to 100
   times the new floor (1e-14 -> 1e-12 and 1e-10), from where the continuation goes down again;
   never above a cut-off of 1e-6. Once the steps are long again (eta >= 1/2) the raised floor and
   the cut-off come down tenfold per such step, the floor back to -engd_rcond_min: near the
   solution the low cut-off is what reaches the small errors. The default job's steps are never
   that short for that long (at most 9 in a row over seeds 0..29), so it never raises there. */
typedef struct {
  PetscBool adaptive;
  PetscReal rcond_min;   /* the floor now */
  PetscReal rcond_floor; /* -engd_rcond_min (default the solver's floor): the floor when not raised */
  PetscBool rcond_min_set; /* else the solver's floor (CurvatureSolverGetCutoffFloor) */
  PetscInt  raise_after; /* 0: never raise */
  PetscInt  stalled;     /* tiny steps in a row */
} CutoffControl;

/* The Krylov solver's controls (-engd_gram cg). Adaptive damping is the Levenberg-Marquardt
   rule of Martens 2010 (Deep learning via Hessian-free optimization, sec. 4.1): with the step
   s = -eta d and the model's predicted decrease q = eta g^T d - eta^2/2 d^T (G + lambda I) d,
   rho = (L(theta) - L(theta + s)) / q; rho < 1/4: lambda *= 3/2, rho > 3/4: lambda *= 2/3
   (Martens's constants), lambda kept within [-engd_damping_min, 1e10]. A step the line search
   refused (eta = 0) counts as rho < 1/4. Damping and the previous direction are optimizer state. */
typedef struct {
  PetscBool  matrix_free, warm_start, adapt;
  PetscReal  damping_min;
  PetscReal *previous;            /* the last direction (P), the next solve's initial guess */
  PetscReal *Gd;                  /* P: G d for the damping rule */
  PetscBool  have_previous;
  PetscReal  g_dot_d, d_curv_d;   /* g^T d and d^T (G + lambda I) d of the current direction */
} KrylovControl;

typedef struct {
  PetscBool               hilbert; /* hngd: the H1 Gram matrix instead of the energy's */
  H1Metric                h1;      /* hngd only */
  CurvatureOperator       rows;    /* the Jacobian rows of the loss */
  CurvatureSolver         solver;
  CurvatureRegularization reg;
  CutoffControl           adapt;
  PetscReal              *grad;
  PetscBool               krylov; /* -engd_gram cg */
  KrylovControl           kc;
  CurvatureOperator       shell;  /* -engd_matrix_free: the products instead of the rows */
  PetscBool               residual_form; /* d = J~^T (K + damping I)^+ r~: a least-squares loss and a kernel solver */
  KroneckerSum            kron;          /* -engd_pc_type kfac: KFAC's inverse, new every iteration */
  const ObjectiveKFACLayout *kfac_layout;
  PetscReal              *kfac_factors;
  PetscReal               kfac_pc_damping;
} Optimizer_ENGD;

static PetscErrorCode SetFromOptions_ENGD(Optimizer opt, PetscOptionItems *PetscOptionsObject)
{
  Optimizer_ENGD *engd = (Optimizer_ENGD *)opt->data;

  PetscFunctionBegin;
  PetscOptionsHeadBegin(PetscOptionsObject, "ENGD options");
  PetscCall(EngdOptionsReal("-engd_rcond", "Relative eigenvalue cut-off of the pseudo-inverse", "OptimizerCreate_ENGD", engd->reg.rcond, &engd->reg.rcond, NULL));
  PetscCall(EngdOptionsReal("-engd_damping", "Fixed damping lambda added to the Gram matrix's kept eigenvalues", "OptimizerCreate_ENGD", engd->reg.damping, &engd->reg.damping, NULL));
  PetscCall(EngdOptionsBool("-engd_adaptive_rcond", "Lower the cut-off tenfold after each short or rejected step", "OptimizerCreate_ENGD", engd->adapt.adaptive, &engd->adapt.adaptive, NULL));
  PetscCall(EngdOptionsReal("-engd_rcond_min", "Smallest cut-off the adaptive rule goes to (default: the solver's floor, 1e-14; qr 1e-20)", "OptimizerCreate_ENGD", engd->adapt.rcond_min, &engd->adapt.rcond_min, &engd->adapt.rcond_min_set));
  PetscCall(EngdOptionsInt("-engd_rcond_raise_after", "Raise the cut-off and its floor after this many tiny steps (eta <= 2^-12) in a row; 0: never", "OptimizerCreate_ENGD", engd->adapt.raise_after, &engd->adapt.raise_after, NULL));
  PetscCall(EngdOptionsBool("-engd_matrix_free", "With -engd_gram cg: matrix-free products J v, J^T w instead of stored rows", "OptimizerCreate_ENGD", engd->kc.matrix_free, &engd->kc.matrix_free, NULL));
  PetscCall(EngdOptionsBool("-engd_warm_start", "With -engd_gram cg: start each Krylov solve from the previous direction", "OptimizerCreate_ENGD", engd->kc.warm_start, &engd->kc.warm_start, NULL));
  PetscCall(EngdOptionsBool("-engd_damping_adapt", "With -engd_gram cg: adapt the damping by the Levenberg-Marquardt rule (Martens 2010)", "OptimizerCreate_ENGD", engd->kc.adapt, &engd->kc.adapt, NULL));
  PetscCall(EngdOptionsReal("-engd_damping_min", "Smallest damping the adaptive rule goes to", "OptimizerCreate_ENGD", engd->kc.damping_min, &engd->kc.damping_min, NULL));
  PetscCall(EngdOptionsReal("-engd_pc_kfac_damping", "With -engd_pc_type kfac: damping added to every Kronecker factor of the preconditioner", "OptimizerCreate_ENGD", engd->kfac_pc_damping, &engd->kfac_pc_damping, NULL));
  PetscOptionsHeadEnd();
  PetscCheck(engd->reg.damping >= 0, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-engd_damping must be non-negative, got %g", (double)engd->reg.damping);
  PetscCheck(engd->adapt.rcond_min >= 0 && engd->adapt.rcond_min < 1, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-engd_rcond_min must be in [0, 1), got %g", (double)engd->adapt.rcond_min);
  engd->adapt.rcond_floor = engd->adapt.rcond_min;
  PetscCheck(engd->adapt.raise_after >= 0, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-engd_rcond_raise_after must be a non-negative number of steps (0: never raise), got %" PetscInt_FMT, engd->adapt.raise_after);
  PetscCheck(engd->reg.rcond >= 0 && engd->reg.rcond < 1, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-engd_rcond must be in [0, 1), got %g", (double)engd->reg.rcond);
  PetscCall(CurvatureSolverSetFromOptions(engd->solver));
  PetscCheck(!engd->kc.matrix_free || !engd->hilbert, opt->comm, PETSC_ERR_ARG_INCOMP, "-engd_matrix_free is for -optimizer engd (Hilbert NGD's metric needs its rows)");
  PetscCheck(!engd->kc.adapt || engd->reg.damping > 0, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-engd_damping_adapt needs a positive starting -engd_damping, got %g", (double)engd->reg.damping);
  PetscCheck(engd->kc.damping_min > 0, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-engd_damping_min must be positive, got %g", (double)engd->kc.damping_min);
  PetscCheck(engd->kfac_pc_damping > 0, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-engd_pc_kfac_damping must be positive, got %g", (double)engd->kfac_pc_damping);
  PetscFunctionReturn(0);
}

/* The solver first (-engd_gram auto chooses from the sizes and the kind of loss), then the
   operator it takes: stored rows, or the matrix-free products when the solver is cg and either
   -engd_matrix_free or the solver asks for them (auto's choice, or rows that do not fit:
   CurvatureRowsFit). */
static PetscErrorCode SetUp_ENGD(Optimizer opt)
{
  Optimizer_ENGD *engd = (Optimizer_ENGD *)opt->data;
  PetscInt        n_rows_max, n_rows;
  PetscBool       has_energy, has_residual_form, solver_matrix_free;
  const char     *type;

  PetscFunctionBegin;
  PetscCall(ObjectiveGetLocalRows(opt->objective, NULL, &n_rows_max));
  PetscCall(ObjectiveGetGlobalRows(opt->objective, &n_rows));
  PetscCall(ObjectiveHasEnergyTerms(opt->objective, &has_energy));
  if (engd->hilbert) {
    PetscCall(H1MetricCreate(opt->objective, &engd->h1));
    PetscCall(H1MetricGetMaxRows(engd->h1, &n_rows_max));
  }
  PetscCall(CurvatureSolverSetSizes(engd->solver, opt->n_params, n_rows_max));
  PetscCall(CurvatureSolverSetLoss(engd->solver, n_rows, !has_energy && !engd->hilbert ? PETSC_TRUE : PETSC_FALSE));
  PetscCall(CurvatureSolverSetUp(engd->solver));
  if (!engd->adapt.rcond_min_set) {
    PetscCall(CurvatureSolverGetCutoffFloor(engd->solver, &engd->adapt.rcond_min));
    engd->adapt.rcond_floor = engd->adapt.rcond_min;
  }
  PetscCall(CurvatureSolverGetType(engd->solver, &type));
  engd->krylov = (PetscBool)!strcmp(type, CURVATURESOLVERCG);
  PetscCheck(!engd->kc.matrix_free || engd->krylov, opt->comm, PETSC_ERR_ARG_INCOMP, "-engd_matrix_free needs -engd_gram cg (the %s solver needs stored rows)", type);
  PetscCheck(!engd->kc.adapt || engd->krylov, opt->comm, PETSC_ERR_ARG_INCOMP, "-engd_damping_adapt needs -engd_gram cg (the solver is %s)", type);
  PetscCall(CurvatureSolverGetMatrixFree(engd->solver, &solver_matrix_free));
  if (solver_matrix_free && !engd->hilbert) engd->kc.matrix_free = PETSC_TRUE;
  if (engd->kc.matrix_free) PetscCall(ObjectiveShellCreate(opt->objective, &engd->shell));
  else PetscCall(ObjectiveRowsCreate(opt->objective, &engd->rows));
  PetscCall(CurvatureSolverHasResidualForm(engd->solver, &has_residual_form));
  engd->residual_form = has_residual_form && !has_energy && !engd->hilbert ? PETSC_TRUE : PETSC_FALSE;
  if (!engd->residual_form) PetscCall(CurvatureSolverCheckRegularization(engd->solver, &engd->reg));
  PetscCall(PetscCalloc1(opt->n_params, &engd->grad));
  { /* -engd_pc_type kfac: the factors' layout and the inverse's storage */
    PetscBool wants;
    PetscCall(CurvatureSolverWantsKronecker(engd->solver, &wants));
    PetscCheck(!wants || !engd->hilbert, opt->comm, PETSC_ERR_ARG_INCOMP, "-engd_pc_type kfac is for -optimizer engd (KFAC approximates the energy's Gram matrix, not the H1 metric)");
    if (wants) {
      PetscCall(ObjectiveKFACGetLayout(opt->objective, &engd->kfac_layout));
      PetscCall(KroneckerSumCreate(opt->comm, engd->kfac_layout->n_layers, engd->kfac_layout->a_size, engd->kfac_layout->b_size, engd->kfac_layout->n_groups, &engd->kron));
      PetscCall(PetscMalloc1(engd->kfac_layout->length, &engd->kfac_factors));
    }
  }
  if (engd->krylov) PetscCall(PetscCalloc2(opt->n_params, &engd->kc.previous, opt->n_params, &engd->kc.Gd));
  PetscFunctionReturn(0);
}

/* Before a Krylov solve: the warm start's initial guess in dir, the sketch key of the iteration. */
static PetscErrorCode KrylovPrepare(Optimizer opt, Optimizer_ENGD *engd, PetscReal *dir)
{
  PetscInt  seed;
  PetscBool guess = (PetscBool)(engd->kc.warm_start && engd->kc.have_previous);

  PetscFunctionBegin;
  if (guess) PetscCall(PetscArraycpy(dir, engd->kc.previous, opt->n_params));
  PetscCall(CurvatureSolverSetInitialGuessNonzero(engd->solver, guess));
  PetscCall(ModelGetSeed(opt->model, &seed));
  PetscCall(CurvatureSolverSetSketchKey(engd->solver, seed, opt->iteration));
  PetscFunctionReturn(0);
}

/* After the solve: g^T d and d^T (G + lambda I) d (one more product) for the damping rule. The
   loops run on replicated data, so every rank gets the same bits. */
static PetscErrorCode KrylovModel(Optimizer opt, Optimizer_ENGD *engd, const PetscReal *dir)
{
  const PetscInt P = opt->n_params;
  PetscReal     *Gd = engd->kc.Gd;
  PetscReal      gd = 0.0, dGd = 0.0;

  PetscFunctionBegin;
  PetscCall(CurvatureSolverMultGram(engd->solver, dir, Gd));
  for (PetscInt i = 0; i < P; i++) {
    gd += engd->grad[i] * dir[i];
    dGd += dir[i] * (Gd[i] + engd->reg.damping * dir[i]);
  }
  engd->kc.g_dot_d  = gd;
  engd->kc.d_curv_d = dGd;
  PetscFunctionReturn(0);
}

/* d = (G + damping I)^+ grad L, G the Gram matrix of the energy (or of H1 for hngd); with a
   kernel solver and a least-squares loss the same d as J~^T (K + damping I)^+ r~. */
static PetscErrorCode Direction_ENGD(Optimizer opt, const PetscReal *theta, PetscReal *dir, OptimizerStepInfo *info)
{
  Optimizer_ENGD          *engd = (Optimizer_ENGD *)opt->data;
  const CurvatureOperator *op   = &engd->rows;

  PetscFunctionBegin;
  if (engd->kc.matrix_free) {
    op = &engd->shell;
    PetscCall(ObjectiveShellCompute(opt->objective, theta, &engd->shell, engd->grad, &info->loss));
  } else PetscCall(ObjectiveRowsCompute(opt->objective, theta, &engd->rows, &info->loss));
  info->damping = engd->reg.damping;
  if (PetscIsInfOrNanReal(info->loss)) PetscFunctionReturn(0);
  if (!engd->kc.matrix_free && !engd->residual_form) PetscCall(ObjectiveRowsGradient(opt->objective, &engd->rows, theta, engd->grad));
  if (engd->hilbert) PetscCall(H1MetricOperator(engd->h1, theta, &op));
  PetscCall(CurvatureSolverSetOperator(engd->solver, op));
  if (engd->krylov) PetscCall(KrylovPrepare(opt, engd, dir));
  if (engd->kron) { /* KFAC's inverse at theta as the preconditioner */
    PetscCall(ObjectiveKFACFactors(opt->objective, theta, OBJECTIVE_KFAC_EXPAND, engd->kfac_factors, NULL, NULL));
    PetscCall(KroneckerSumFactor(engd->kron, engd->kfac_factors, engd->kfac_layout->offset, engd->kfac_pc_damping, KRONECKER_DAMPING_ALL));
    PetscCall(CurvatureSolverSetKronecker(engd->solver, engd->kron));
  }
  if (engd->residual_form) PetscCall(CurvatureSolverSolveResidual(engd->solver, &engd->reg, dir, &info->solve));
  else PetscCall(CurvatureSolverSolve(engd->solver, &engd->reg, engd->grad, dir, &info->solve));
  info->solved = PETSC_TRUE;
  if (engd->kc.adapt) PetscCall(KrylovModel(opt, engd, dir));
  PetscFunctionReturn(0);
}

/* The continuation's step (see CutoffControl): down after a short step; floor and cut-off up
   after a stall; while the floor is raised, both down again after a long step (eta >= 1/2). */
static PetscErrorCode CutoffUpdate(CutoffControl *c, PetscReal eta, PetscReal *rcond)
{
  const PetscReal rcond_max = 1e-6;

  PetscFunctionBegin;
  if (eta >= 0.5 && c->rcond_min > c->rcond_floor) {
    c->rcond_min = PetscMax(c->rcond_floor, 0.1 * c->rcond_min);
    *rcond       = PetscMax(c->rcond_min, 0.1 * *rcond);
  }
  if (eta <= 1.0 / 32.0) *rcond = PetscMax(c->rcond_min, 0.1 * *rcond);
  c->stalled = eta <= 1.0 / 4096.0 ? c->stalled + 1 : 0;
  if (c->raise_after > 0 && c->stalled >= c->raise_after && 1e4 * c->rcond_min <= rcond_max) {
    c->rcond_min *= 100.0;
    *rcond     = 100.0 * c->rcond_min;
    c->stalled = 0;
    PetscCall(PetscInfo(NULL, "%" PetscInt_FMT " tiny steps in a row: cut-off raised to %g, its floor to %g\n", c->raise_after, (double)*rcond, (double)c->rcond_min));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode PostStep_ENGD(Optimizer opt, const OptimizerStepInfo *info)
{
  Optimizer_ENGD *engd = (Optimizer_ENGD *)opt->data;

  PetscFunctionBegin;
  if (engd->adapt.adaptive) PetscCall(CutoffUpdate(&engd->adapt, info->eta, &engd->reg.rcond));
  if (engd->kc.adapt) {
    const PetscReal eta = info->eta, predicted = eta * engd->kc.g_dot_d - 0.5 * eta * eta * engd->kc.d_curv_d;
    const PetscReal rho = eta > 0 && predicted > 0 ? (info->loss - info->loss_new) / predicted : -1.0;
    if (rho < 0.25) engd->reg.damping = PetscMin(1e10, 1.5 * engd->reg.damping);
    else if (rho > 0.75) engd->reg.damping = PetscMax(engd->kc.damping_min, engd->reg.damping / 1.5);
  }
  if (engd->krylov && info->eta > 0) { /* a refused direction is no guess for the next solve */
    PetscCall(PetscArraycpy(engd->kc.previous, opt->dir, opt->n_params));
    engd->kc.have_previous = PETSC_TRUE;
  }
  PetscFunctionReturn(0);
}

/* What every solve found goes into the history (curvature.h, CurvatureSolveInfo). */
static PetscErrorCode SetHistory_ENGD(Optimizer opt, History history)
{
  PetscFunctionBegin;
  PetscCall(OptimizerAddSolveColumns(opt, history));
  PetscFunctionReturn(0);
}

/* The cut-off is ENGD's state across iterations: the continuation moves it, its floor and the
   count of tiny steps in a row. */
static PetscErrorCode GetState_ENGD(Optimizer opt, OptimizerState *state)
{
  Optimizer_ENGD *engd    = (Optimizer_ENGD *)opt->data;
  const PetscReal stalled = (PetscReal)engd->adapt.stalled;

  PetscFunctionBegin;
  PetscCall(OptimizerStateSet(state, "rcond", 1, &engd->reg.rcond));
  PetscCall(OptimizerStateSet(state, "rcond_min", 1, &engd->adapt.rcond_min));
  PetscCall(OptimizerStateSet(state, "stalled_steps", 1, &stalled));
  { /* the solver's own (the moving average of G) */
    PetscInt         n;
    const PetscReal *values;
    PetscCall(CurvatureSolverGetState(engd->solver, &n, &values));
    if (n > 0) PetscCall(OptimizerStateSet(state, "solver", n, values));
  }
  if (engd->krylov) { /* the Krylov solve's: damping (adapted), warm start */
    const PetscReal have = engd->kc.have_previous ? 1.0 : 0.0;
    PetscCall(OptimizerStateSet(state, "damping", 1, &engd->reg.damping));
    PetscCall(OptimizerStateSet(state, "have_previous", 1, &have));
    PetscCall(OptimizerStateSet(state, "previous_direction", opt->n_params, engd->kc.previous));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode SetState_ENGD(Optimizer opt, const OptimizerState *state)
{
  Optimizer_ENGD  *engd = (Optimizer_ENGD *)opt->data;
  const PetscReal *rcond, *rmin, *stalled;
  PetscInt         n;

  PetscFunctionBegin;
  PetscCall(OptimizerStateRequire(opt, state, "rcond", 1, &rcond));
  PetscCheck(rcond[0] >= 0 && rcond[0] < 1, opt->comm, PETSC_ERR_FILE_UNEXPECTED, "the engd optimizer state has rcond %g, outside [0, 1)", (double)rcond[0]);
  engd->reg.rcond = rcond[0];
  PetscCall(OptimizerStateFind(state, "rcond_min", &n, &rmin)); /* absent in checkpoints before the raise */
  if (n == 1) {
    PetscCheck(rmin[0] >= 0 && rmin[0] < 1, opt->comm, PETSC_ERR_FILE_UNEXPECTED, "the engd optimizer state has rcond_min %g, outside [0, 1)", (double)rmin[0]);
    engd->adapt.rcond_min = rmin[0];
  }
  PetscCall(OptimizerStateFind(state, "stalled_steps", &n, &stalled));
  if (n == 1) engd->adapt.stalled = (PetscInt)stalled[0];
  {
    PetscInt         expected;
    const PetscReal *current, *saved;
    PetscCall(CurvatureSolverGetState(engd->solver, &expected, &current));
    if (expected > 0) {
      PetscCall(OptimizerStateRequire(opt, state, "solver", expected, &saved));
      PetscCall(CurvatureSolverSetState(engd->solver, expected, saved));
    }
  }
  if (engd->krylov) {
    const PetscReal *damping, *have, *previous;
    PetscCall(OptimizerStateRequire(opt, state, "damping", 1, &damping));
    PetscCall(OptimizerStateRequire(opt, state, "have_previous", 1, &have));
    PetscCall(OptimizerStateRequire(opt, state, "previous_direction", opt->n_params, &previous));
    PetscCheck(damping[0] >= 0 && !PetscIsInfOrNanReal(damping[0]), opt->comm, PETSC_ERR_FILE_UNEXPECTED, "the engd optimizer state has damping %g", (double)damping[0]);
    engd->reg.damping      = damping[0];
    engd->kc.have_previous = (PetscBool)(have[0] != 0);
    PetscCall(PetscArraycpy(engd->kc.previous, previous, opt->n_params));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode View_ENGD(Optimizer opt, PetscViewer viewer)
{
  Optimizer_ENGD *engd = (Optimizer_ENGD *)opt->data;

  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, "%s, damping %g, rcond %g", engd->hilbert ? ", Gram of the H1 inner product (Hilbert NGD)" : "", (double)engd->reg.damping, (double)engd->reg.rcond));
  if (engd->adapt.adaptive && !engd->krylov) {
    PetscCall(PetscViewerASCIIPrintf(viewer, ", cut-off lowered after short steps down to %g", (double)engd->adapt.rcond_min));
    if (engd->adapt.raise_after > 0) PetscCall(PetscViewerASCIIPrintf(viewer, ", raised after %" PetscInt_FMT " tiny steps", engd->adapt.raise_after));
  }
  if (engd->krylov) PetscCall(PetscViewerASCIIPrintf(viewer, ", %s, warm start %s, damping %s", engd->kc.matrix_free ? "matrix-free" : "stored rows", engd->kc.warm_start ? "on" : "off", engd->kc.adapt ? "adapted (Martens)" : "fixed"));
  PetscCall(PetscViewerASCIIPrintf(viewer, ", "));
  PetscCall(LineSearchView(opt->ls, viewer));
  PetscCall(PetscViewerASCIIPrintf(viewer, "\n"));
  PetscCall(PetscViewerASCIIUseTabs(viewer, PETSC_TRUE));
  PetscCall(CurvatureSolverView(engd->solver, viewer));
  PetscCall(PetscViewerASCIIUseTabs(viewer, PETSC_FALSE));
  PetscFunctionReturn(0);
}

static PetscErrorCode Destroy_ENGD(Optimizer opt)
{
  Optimizer_ENGD *engd = (Optimizer_ENGD *)opt->data;

  PetscFunctionBegin;
  PetscCall(CurvatureSolverDestroy(&engd->solver));
  PetscCall(ObjectiveRowsDestroy(&engd->rows));
  PetscCall(ObjectiveShellDestroy(&engd->shell));
  PetscCall(H1MetricDestroy(&engd->h1));
  PetscCall(PetscFree(engd->grad));
  PetscCall(KroneckerSumDestroy(&engd->kron));
  PetscCall(PetscFree(engd->kfac_factors));
  if (engd->kc.previous) PetscCall(PetscFree2(engd->kc.previous, engd->kc.Gd));
  PetscCall(PetscFree(opt->data));
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode OptimizerCreate_ENGD(Optimizer opt)
{
  Optimizer_ENGD *engd;

  PetscFunctionBegin;
  PetscCall(PetscNew(&engd));
  PetscCall(CurvatureSolverCreate(opt->comm, &engd->solver));
  engd->reg.rcond         = 1e-13;
  engd->adapt.adaptive    = PETSC_TRUE;
  engd->adapt.rcond_min   = 1e-14;
  engd->adapt.raise_after = 10;
  engd->kc.warm_start     = PETSC_TRUE;
  engd->kc.damping_min    = 1e-14;
  engd->kfac_pc_damping   = 1e-6;
  opt->data               = engd;
  opt->ops.setfromoptions = SetFromOptions_ENGD;
  opt->ops.setup          = SetUp_ENGD;
  opt->ops.direction      = Direction_ENGD;
  opt->ops.poststep       = PostStep_ENGD;
  opt->ops.sethistory     = SetHistory_ENGD;
  opt->ops.view           = View_ENGD;
  opt->ops.destroy        = Destroy_ENGD;
  opt->ops.getstate       = GetState_ENGD;
  opt->ops.setstate       = SetState_ENGD;
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode OptimizerCreate_HNGD(Optimizer opt)
{
  PetscFunctionBegin;
  PetscCall(OptimizerCreate_ENGD(opt));
  ((Optimizer_ENGD *)opt->data)->hilbert = PETSC_TRUE;
  PetscFunctionReturn(0);
}
