/* PETSc TAO's methods as engd optimizers, one TAO iteration per engd iteration, on a sequential
   copy of theta on every rank (every rank runs the same arithmetic on the same replicated data;
   the loss, gradient and Hessian-vector products are the Objective's rank-independent sums, so
   the iterates do not depend on the rank count).
     lbfgs  L-BFGS from TAO's parts, as TAOLMVM combines them: the L-BFGS matrix MATLMVMBFGS
            (MatLMVMUpdate with every iterate and its gradient, MatSolve for the direction; a
            reset to the scaled gradient when that is not a descent direction) and TAO's line
            search (TaoLineSearchApply, More-Thuente by default, -lbfgs_ls_type). engd drives
            them rather than TaoSolve so that the state is in its hands: the initial scaling is
            the scalar one (MatLMVMSymBroydenSetScaleType), so the matrix is a function of the
            points fed since its last reset; those that still matter are the optimizer state
            and are fed again on a restart (bitwise). -lbfgs_memory pairs (5); the matrix and
            the line search read their options under the prefix lbfgs_.
     tao    a TAO solver (-tao_method ntr, nls, lmvm, bqnls, cg, nm), one TaoSolve
            iteration per engd iteration, with the exact Hessian as a MATSHELL of Hessian-vector
            products (ObjectiveHessianVector) for the Newton types: ntr is TAO's Newton trust
            region, its subproblem by KSP (Steihaug-Toint CG, KSPSTCG, no preconditioner), i.e.
            Newton without assembling H. Its trust radius carries over between iterations
            (state "trust_radius"); other internal state of a TAO solver (a quasi-Newton
            history) restarts each iteration. TAO's options under the prefix tao_ (e.g.
            -tao_tao_ntr_init_type). */
#include <engd/private/optimizerimpl.h>
#include <petsctao.h>

static const char *const TaoMethods[] = {TAONTR, TAONLS, TAOLMVM, TAOBQNLS, TAOCG, TAONM, NULL};

typedef struct {
  PetscBool     lbfgs;
  char          method[64];  /* tao: -tao_method */
  char          ls_type[64]; /* lbfgs: -lbfgs_ls_type */
  PetscInt      memory;      /* lbfgs: -lbfgs_memory pairs */
  Tao           tao;         /* tao */
  TaoLineSearch ls;          /* lbfgs */
  Mat           M;           /* lbfgs: MATLMVMBFGS */
  Mat           H;           /* tao: the shell Hessian */
  Vec           x, g, d;     /* sequential copies of theta, the gradient, the direction */
  PetscReal    *hessian_at;  /* tao: the point of the current Hessian */
  PetscReal     loss_start;  /* tao: the loss at the solve's starting point (its first evaluation) */
  PetscInt      n_evals;
  PetscReal     trust;
  /* lbfgs: the points fed to the matrix since its last reset that still matter */
  PetscInt      n_fed, cap_fed, n_updates_seen;
  PetscReal    *fed_x, *fed_g, *fed_accepted;
} Optimizer_Tao;

static PetscErrorCode FormFunctionGradient(Optimizer opt, Vec X, PetscReal *f, Vec G)
{
  Optimizer_Tao   *t = (Optimizer_Tao *)opt->data;
  const PetscReal *x;
  PetscReal       *g;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(VecGetArray(G, &g));
  PetscCall(ObjectiveGradient(opt->objective, x, g, f));
  PetscCall(VecRestoreArray(G, &g));
  PetscCall(VecRestoreArrayRead(X, &x));
  if (t->n_evals++ == 0) t->loss_start = *f;
  /* TAO stops with an error on non-finite values: +inf its line searches reject */
  if (PetscIsInfOrNanReal(*f)) *f = PETSC_INFINITY;
  PetscFunctionReturn(0);
}

static PetscErrorCode TaoFunctionGradient(Tao tao, Vec X, PetscReal *f, Vec G, void *ctx)
{
  PetscFunctionBegin;
  PetscCall(FormFunctionGradient((Optimizer)ctx, X, f, G));
  PetscFunctionReturn(0);
}

static PetscErrorCode LineSearchFunctionGradient(TaoLineSearch ls, Vec X, PetscReal *f, Vec G, void *ctx)
{
  PetscFunctionBegin;
  PetscCall(FormFunctionGradient((Optimizer)ctx, X, f, G));
  PetscFunctionReturn(0);
}

static PetscErrorCode HessianMult(Mat A, Vec v, Vec y)
{
  Optimizer        opt;
  Optimizer_Tao   *t;
  const PetscReal *va;
  PetscReal       *ya;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(A, &opt));
  t = (Optimizer_Tao *)opt->data;
  PetscCall(VecGetArrayRead(v, &va));
  PetscCall(VecGetArray(y, &ya));
  PetscCall(ObjectiveHessianVector(opt->objective, t->hessian_at, va, PETSC_FALSE, ya));
  PetscCall(VecRestoreArray(y, &ya));
  PetscCall(VecRestoreArrayRead(v, &va));
  PetscFunctionReturn(0);
}

static PetscErrorCode FormHessian(Tao tao, Vec X, Mat H, Mat Hpre, void *ctx)
{
  Optimizer        opt = (Optimizer)ctx;
  Optimizer_Tao   *t   = (Optimizer_Tao *)opt->data;
  const PetscReal *x;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(PetscArraycpy(t->hessian_at, x, opt->n_params));
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscFunctionReturn(0);
}

static PetscErrorCode CreateObjects(Optimizer);

static PetscErrorCode SetFromOptions_Tao(Optimizer opt, PetscOptionItems *PetscOptionsObject)
{
  Optimizer_Tao *t     = (Optimizer_Tao *)opt->data;
  PetscBool      known = PETSC_FALSE;

  PetscFunctionBegin;
  if (t->lbfgs) {
    PetscOptionsHeadBegin(PetscOptionsObject, "L-BFGS options (PETSc's MATLMVMBFGS and TAO's line search; their own options under the prefix lbfgs_)");
    PetscCall(EngdOptionsInt("-lbfgs_memory", "The number of stored pairs (s, y)", "OptimizerCreate_LBFGS", t->memory, &t->memory, NULL));
    PetscCall(EngdOptionsString("-lbfgs_ls_type", "TAO line search: more-thuente, armijo, unit, ...", "OptimizerCreate_LBFGS", t->ls_type, t->ls_type, sizeof(t->ls_type), NULL));
    PetscOptionsHeadEnd();
    PetscCheck(t->memory >= 1, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-lbfgs_memory must be at least 1, got %" PetscInt_FMT, t->memory);
    PetscCall(CreateObjects(opt));
    PetscFunctionReturn(0);
  }
  PetscOptionsHeadBegin(PetscOptionsObject, "TAO options (TAO's own under the prefix tao_)");
  PetscCall(EngdOptionsString("-tao_method", "TAO solver: ntr (Newton trust region), nls (Newton line search), lmvm, bqnls, cg, nm", "OptimizerCreate_Tao", t->method, t->method, sizeof(t->method), NULL));
  PetscOptionsHeadEnd();
  for (PetscInt k = 0; TaoMethods[k]; k++)
    if (!strcmp(t->method, TaoMethods[k])) known = PETSC_TRUE;
  PetscCheck(known, opt->comm, PETSC_ERR_ARG_UNKNOWN_TYPE, "-tao_method %s is not a TAO type engd runs: use one of ntr, nls, lmvm, bqnls, cg, nm", t->method);
  PetscCall(CreateObjects(opt));
  PetscFunctionReturn(0);
}

/* The TAO objects and their options (read here, with engd's, so that a misspelt one is caught). */
static PetscErrorCode CreateObjects(Optimizer opt)
{
  Optimizer_Tao *t = (Optimizer_Tao *)opt->data;

  PetscFunctionBegin;
  if (t->lbfgs && !t->M) {
    PetscCall(KSPInitializePackage()); /* registers the LMVM matrices */
    PetscCall(MatCreate(PETSC_COMM_SELF, &t->M));
    PetscCall(MatSetType(t->M, MATLMVMBFGS));
    PetscCall(MatSetOptionsPrefix(t->M, "lbfgs_"));
    PetscCall(MatSetFromOptions(t->M));
    PetscCall(TaoLineSearchCreate(PETSC_COMM_SELF, &t->ls));
    PetscCall(TaoLineSearchSetType(t->ls, t->ls_type));
    PetscCall(TaoLineSearchSetOptionsPrefix(t->ls, "lbfgs_"));
    PetscCall(TaoLineSearchSetFromOptions(t->ls));
  } else if (!t->lbfgs && !t->tao) {
    KSP ksp;
    PetscCall(TaoCreate(PETSC_COMM_SELF, &t->tao));
    PetscCall(TaoSetOptionsPrefix(t->tao, "tao_"));
    PetscCall(TaoSetType(t->tao, t->method));
    PetscCall(TaoGetKSP(t->tao, &ksp));
    if (ksp) {
      PC pc;
      PetscCall(KSPSetType(ksp, KSPSTCG));
      PetscCall(KSPGetPC(ksp, &pc));
      PetscCall(PCSetType(pc, PCNONE));
    }
    PetscCall(TaoSetTolerances(t->tao, 0.0, 0.0, 0.0));
    PetscCall(TaoSetMaximumFunctionEvaluations(t->tao, PETSC_MAX_INT));
    if (!strcmp(t->method, TAONTR)) { /* the radius carries over from the last iteration: start from it, not from an interpolation */
      PetscBool set;
      PetscCall(PetscOptionsHasName(NULL, NULL, "-tao_tao_ntr_init_type", &set));
      if (!set) PetscCall(PetscOptionsSetValue(NULL, "-tao_tao_ntr_init_type", "constant"));
    }
    PetscCall(TaoSetFromOptions(t->tao));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode SetUp_Tao(Optimizer opt)
{
  Optimizer_Tao *t = (Optimizer_Tao *)opt->data;
  const PetscInt P = opt->n_params;

  PetscFunctionBegin;
  PetscCall(CreateObjects(opt));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, P, &t->x));
  PetscCall(VecDuplicate(t->x, &t->g));
  PetscCall(VecDuplicate(t->x, &t->d));
  if (t->lbfgs) {
    PetscCall(MatSetSizes(t->M, P, P, P, P));
    PetscCall(MatLMVMSetHistorySize(t->M, t->memory));
    PetscCall(MatLMVMSymBroydenSetScaleType(t->M, MAT_LMVM_SYMBROYDEN_SCALE_SCALAR));
    PetscCall(MatLMVMAllocate(t->M, t->x, t->g));
    PetscCall(TaoLineSearchSetObjectiveAndGradientRoutine(t->ls, LineSearchFunctionGradient, opt));
    t->cap_fed = 4 * (t->memory + 1);
    PetscCall(PetscCalloc3(t->cap_fed * P, &t->fed_x, t->cap_fed * P, &t->fed_g, t->cap_fed, &t->fed_accepted));
    PetscFunctionReturn(0);
  }
  PetscCall(TaoSetSolution(t->tao, t->x));
  PetscCall(TaoSetObjectiveAndGradient(t->tao, NULL, TaoFunctionGradient, opt));
  if (!strcmp(t->method, TAONTR) || !strcmp(t->method, TAONLS)) {
    PetscCall(PetscMalloc1(P, &t->hessian_at));
    PetscCall(MatCreateShell(PETSC_COMM_SELF, P, P, P, P, opt, &t->H));
    PetscCall(MatShellSetOperation(t->H, MATOP_MULT, (void (*)(void))HessianMult));
    PetscCall(MatSetOption(t->H, MAT_SYMMETRIC, PETSC_TRUE));
    PetscCall(TaoSetHessian(t->tao, t->H, t->H, FormHessian, opt));
  }
  PetscCall(TaoSetUp(t->tao));
  PetscFunctionReturn(0);
}

/* lbfgs: a point fed to the matrix (after a reset: the first); whether its pair with the previous
   one was accepted. The oldest point is dropped while it is not needed: when its pair with the
   next was rejected (the matrix never held it), or when m accepted pairs follow that one. The
   points are kept in a fixed room of 4 (m + 1) (a checkpoint's state has fixed lengths); only an
   unusual run of rejected pairs overflows it, and then the restart is not bitwise. */
static PetscErrorCode RecordFed(Optimizer opt, PetscBool reset, const PetscReal *x, const PetscReal *g)
{
  Optimizer_Tao *t = (Optimizer_Tao *)opt->data;
  const PetscInt P = opt->n_params;
  PetscInt       n_updates;

  PetscFunctionBegin;
  PetscCall(MatLMVMGetUpdateCount(t->M, &n_updates));
  if (reset) t->n_fed = 0;
  if (t->n_fed == t->cap_fed) t->n_fed--; /* overflow: lose the oldest */
  PetscCall(PetscArraycpy(t->fed_x + t->n_fed * P, x, P));
  PetscCall(PetscArraycpy(t->fed_g + t->n_fed * P, g, P));
  t->fed_accepted[t->n_fed] = t->n_fed > 0 && n_updates > t->n_updates_seen ? 1.0 : 0.0;
  t->n_updates_seen         = n_updates;
  t->n_fed++;
  for (;;) {
    PetscInt newer = 0;
    for (PetscInt k = 2; k < t->n_fed; k++) newer += t->fed_accepted[k] > 0 ? 1 : 0;
    if (t->n_fed < 2 || (t->fed_accepted[1] > 0 && newer < t->memory)) break;
    PetscCall(PetscArraymove(t->fed_x, t->fed_x + P, (t->n_fed - 1) * P));
    PetscCall(PetscArraymove(t->fed_g, t->fed_g + P, (t->n_fed - 1) * P));
    PetscCall(PetscArraymove(t->fed_accepted, t->fed_accepted + 1, t->n_fed - 1));
    t->n_fed--;
    t->fed_accepted[0] = 0.0;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode CopyIn(Vec v, const PetscReal *a, PetscInt n)
{
  PetscReal *va;

  PetscFunctionBegin;
  PetscCall(VecGetArray(v, &va));
  PetscCall(PetscArraycpy(va, a, n));
  PetscCall(VecRestoreArray(v, &va));
  PetscFunctionReturn(0);
}

static PetscErrorCode CopyOut(Vec v, PetscReal *a, PetscInt n)
{
  const PetscReal *va;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(v, &va));
  PetscCall(PetscArraycpy(a, va, n));
  PetscCall(VecRestoreArrayRead(v, &va));
  PetscFunctionReturn(0);
}

/* lbfgs: d = B^{-1} g after feeding (theta, g), the scaled gradient after a reset when d does not
   descend. tao: one TaoSolve iteration from theta, d = theta - TAO's new point. */
static PetscErrorCode Direction_Tao(Optimizer opt, const PetscReal *theta, PetscReal *dir, OptimizerStepInfo *info)
{
  Optimizer_Tao *t = (Optimizer_Tao *)opt->data;
  const PetscInt P = opt->n_params;

  PetscFunctionBegin;
  PetscCall(CopyIn(t->x, theta, P));
  if (t->lbfgs) {
    PetscReal *g, gd;
    PetscCall(VecGetArray(t->g, &g));
    PetscCall(ObjectiveGradient(opt->objective, theta, g, &info->loss));
    opt->step_grad = g;
    PetscCall(VecRestoreArray(t->g, &g));
    if (PetscIsInfOrNanReal(info->loss)) PetscFunctionReturn(0);
    PetscCall(MatLMVMUpdate(t->M, t->x, t->g));
    PetscCall(RecordFed(opt, PETSC_FALSE, theta, opt->step_grad));
    PetscCall(MatSolve(t->M, t->g, t->d));
    PetscCall(VecDot(t->d, t->g, &gd));
    if (!(gd > 0)) {
      PetscCall(MatLMVMReset(t->M, PETSC_FALSE));
      PetscCall(MatLMVMUpdate(t->M, t->x, t->g));
      PetscCall(RecordFed(opt, PETSC_TRUE, theta, opt->step_grad));
      PetscCall(MatSolve(t->M, t->g, t->d));
    }
    PetscCall(CopyOut(t->d, dir, P));
    PetscFunctionReturn(0);
  }
  PetscCall(TaoSetIterationNumber(t->tao, 0));
  PetscCall(TaoSetMaximumIterations(t->tao, 1));
  if (t->trust > 0) PetscCall(TaoSetInitialTrustRegionRadius(t->tao, t->trust));
  t->n_evals = 0;
  PetscCall(TaoSolve(t->tao));
  info->loss = t->loss_start;
  if (t->H) {
    PetscCall(TaoGetCurrentTrustRegionRadius(t->tao, &t->trust));
    info->damping = t->trust;
  }
  PetscCall(CopyOut(t->x, dir, P));
  for (PetscInt i = 0; i < P; i++) dir[i] = theta[i] - dir[i];
  PetscFunctionReturn(0);
}

/* lbfgs: TAO's line search along -d from theta; tao: the step TAO took. */
static PetscErrorCode Update_Tao(Optimizer opt, PetscReal *theta, const PetscReal *dir, OptimizerStepInfo *info)
{
  Optimizer_Tao *t = (Optimizer_Tao *)opt->data;
  const PetscInt P = opt->n_params;

  PetscFunctionBegin;
  if (t->lbfgs) {
    PetscReal                    f = info->loss, step = 1.0;
    TaoLineSearchConvergedReason reason;
    PetscCall(CopyIn(t->d, dir, P));
    PetscCall(VecScale(t->d, -1.0));
    PetscCall(TaoLineSearchApply(t->ls, t->x, &f, t->g, t->d, &step, &reason));
    if ((reason == TAOLINESEARCH_SUCCESS || reason == TAOLINESEARCH_SUCCESS_USER) && f < info->loss) {
      PetscCall(CopyOut(t->x, theta, P));
      info->eta      = step;
      info->loss_new = f;
      info->accepted = PETSC_TRUE;
    } else {
      info->eta      = 0.0;
      info->accepted = PETSC_FALSE;
    }
    PetscFunctionReturn(0);
  }
  for (PetscInt i = 0; i < P; i++) theta[i] -= dir[i];
  info->accepted = PETSC_FALSE;
  for (PetscInt i = 0; i < P; i++)
    if (dir[i] != 0) info->accepted = PETSC_TRUE;
  info->eta = info->accepted ? 1.0 : 0.0;
  if (info->accepted) PetscCall(ObjectiveLoss(opt->objective, theta, &info->loss_new));
  PetscFunctionReturn(0);
}

static PetscErrorCode GetState_Tao(Optimizer opt, OptimizerState *state)
{
  Optimizer_Tao  *t = (Optimizer_Tao *)opt->data;
  const PetscReal n_fed = (PetscReal)t->n_fed;

  PetscFunctionBegin;
  if (!t->lbfgs) {
    PetscCall(OptimizerStateSet(state, "trust_radius", 1, &t->trust));
    PetscFunctionReturn(0);
  }
  PetscCall(OptimizerStateSet(state, "lbfgs_points", 1, &n_fed));
  PetscCall(OptimizerStateSet(state, "lbfgs_x", t->cap_fed * opt->n_params, t->fed_x));
  PetscCall(OptimizerStateSet(state, "lbfgs_g", t->cap_fed * opt->n_params, t->fed_g));
  PetscFunctionReturn(0);
}

/* lbfgs: a fresh matrix fed the kept points again, in order: the same pairs, the same bits. */
static PetscErrorCode SetState_Tao(Optimizer opt, const OptimizerState *state)
{
  Optimizer_Tao   *t = (Optimizer_Tao *)opt->data;
  const PetscInt   P = opt->n_params;
  const PetscReal *values, *xs, *gs;
  PetscInt         n;

  PetscFunctionBegin;
  if (!t->lbfgs) {
    PetscCall(OptimizerStateRequire(opt, state, "trust_radius", 1, &values));
    PetscCheck(values[0] >= 0, opt->comm, PETSC_ERR_FILE_UNEXPECTED, "the tao optimizer state has trust radius %g", (double)values[0]);
    t->trust = values[0];
    PetscFunctionReturn(0);
  }
  PetscCall(OptimizerStateRequire(opt, state, "lbfgs_points", 1, &values));
  n = (PetscInt)values[0];
  PetscCheck(n >= 0 && n <= t->cap_fed && (PetscReal)n == values[0], opt->comm, PETSC_ERR_FILE_UNEXPECTED, "the lbfgs optimizer state has %g points, not 0 to %" PetscInt_FMT " (-lbfgs_memory must be that of the checkpointed run)", (double)values[0], t->cap_fed);
  PetscCall(OptimizerStateRequire(opt, state, "lbfgs_x", t->cap_fed * P, &xs));
  PetscCall(OptimizerStateRequire(opt, state, "lbfgs_g", t->cap_fed * P, &gs));
  PetscCall(MatLMVMReset(t->M, PETSC_FALSE));
  t->n_updates_seen = 0;
  for (PetscInt k = 0; k < n; k++) {
    PetscCall(CopyIn(t->x, xs + k * P, P));
    PetscCall(CopyIn(t->g, gs + k * P, P));
    PetscCall(MatLMVMUpdate(t->M, t->x, t->g));
    PetscCall(RecordFed(opt, k == 0 ? PETSC_TRUE : PETSC_FALSE, xs + k * P, gs + k * P));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode View_Tao(Optimizer opt, PetscViewer viewer)
{
  Optimizer_Tao *t = (Optimizer_Tao *)opt->data;

  PetscFunctionBegin;
  if (t->lbfgs) PetscCall(PetscViewerASCIIPrintf(viewer, ": L-BFGS, PETSc's MATLMVMBFGS (%" PetscInt_FMT " pairs, scalar initial scaling) with TAO's %s line search\n", t->memory, t->ls_type));
  else PetscCall(PetscViewerASCIIPrintf(viewer, ": PETSc TAO's %s%s, one TAO iteration per iteration\n", t->method, t->H ? " on the exact Hessian as a MATSHELL (KSPSTCG)" : ""));
  PetscFunctionReturn(0);
}

static PetscErrorCode Destroy_Tao(Optimizer opt)
{
  Optimizer_Tao *t = (Optimizer_Tao *)opt->data;

  PetscFunctionBegin;
  PetscCall(TaoDestroy(&t->tao));
  PetscCall(TaoLineSearchDestroy(&t->ls));
  PetscCall(MatDestroy(&t->M));
  PetscCall(MatDestroy(&t->H));
  PetscCall(VecDestroy(&t->x));
  PetscCall(VecDestroy(&t->g));
  PetscCall(VecDestroy(&t->d));
  PetscCall(PetscFree(t->hessian_at));
  PetscCall(PetscFree3(t->fed_x, t->fed_g, t->fed_accepted));
  PetscCall(PetscFree(opt->data));
  PetscFunctionReturn(0);
}

static PetscErrorCode CreateTao(Optimizer opt, PetscBool lbfgs)
{
  Optimizer_Tao *t;

  PetscFunctionBegin;
  PetscCall(PetscNew(&t));
  t->lbfgs  = lbfgs;
  t->memory = 5;
  PetscCall(PetscStrncpy(t->method, TAONTR, sizeof(t->method)));
  PetscCall(PetscStrncpy(t->ls_type, TAOLINESEARCHMT, sizeof(t->ls_type)));
  opt->data               = t;
  opt->ops.setfromoptions = SetFromOptions_Tao;
  opt->ops.setup          = SetUp_Tao;
  opt->ops.direction      = Direction_Tao;
  opt->ops.update         = Update_Tao;
  opt->ops.getstate       = GetState_Tao;
  opt->ops.setstate       = SetState_Tao;
  opt->ops.view           = View_Tao;
  opt->ops.destroy        = Destroy_Tao;
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode OptimizerCreate_LBFGS(Optimizer opt)
{
  PetscFunctionBegin;
  PetscCall(CreateTao(opt, PETSC_TRUE));
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode OptimizerCreate_Tao(Optimizer opt)
{
  PetscFunctionBegin;
  PetscCall(CreateTao(opt, PETSC_FALSE));
  PetscFunctionReturn(0);
}
