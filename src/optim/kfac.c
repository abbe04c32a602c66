/* KFAC and KFAC* for PINNs (Dangel, Mueller & Zeinhofer, NeurIPS 2024): the Gram matrix of
   every layer approximated by a sum of at most two Kronecker products (objective.h,
   ObjectiveKFACFactors: the interior's and the data's), averaged over the iterations,
       F <- beta F + (1 - beta) F_batch        (-kfac_ema beta; F starts at I or, -kfac_init zero, 0),
   every -kfac_update_every iterations, damped and inverted exactly per layer (kronecker.h), so
   Delta = (sum_k (A_k + lambda I) (x) (B_k + lambda I))^-1 grad L.
     kfac       d = Delta + mu d_prev (-kfac_momentum mu), theta <- theta - eta d with the line search;
     kfac_star  delta = alpha (-Delta) + mu delta_prev, theta <- theta + delta, (alpha, mu) minimising
                the quadratic model  g^T delta + 1/2 delta^T (G + lambda I) delta  with the exact
                Gram matrix G = J~^T J~ (Martens & Grosse 2015, sec. 7), from the forward tangents
                J~ Delta and J~ delta_prev of the matrix-free operator (ObjectiveShell*); the first
                step is alpha = -kfac_lr_init (1e-6, as the reference code), mu = 0.
   The averaged factors, the momentum (or previous update) and the step count are optimizer
   state, committed only after a finite step; a restart decomposes the saved factors again,
   which gives the same bits. */
#include <engd/private/optimizerimpl.h>
#include <engd/kronecker.h>

typedef enum { KFAC_INIT_IDENTITY, KFAC_INIT_ZERO } KFACInit;
static const char *const KFACInits[] = {"identity", "zero", "KFACInit", "KFAC_INIT_", NULL};

typedef struct {
  PetscBool                  star;
  ObjectiveKFACVariant       variant;
  KroneckerDamping           damping_type;
  KFACInit                   init;
  PetscReal                  damping, ema, momentum, lr_init;
  PetscInt                   update_every;
  const ObjectiveKFACLayout *layout;
  KroneckerSum               kron;
  PetscReal                 *factors, *trial, *batch; /* committed average, this step's average, the batch's */
  PetscBool                  refreshed;   /* this step averaged new factors into trial */
  PetscBool                  need_factor; /* the decomposition is not that of the committed factors */
  PetscReal                 *grad, *buffer, *step; /* buffer: kfac's momentum, kfac_star's previous update */
  PetscInt                   steps;
  CurvatureOperator          shell;       /* kfac_star: the Gram dots */
  const PetscReal           *theta;       /* the step's point (kfac_star's model) */
  PetscReal                  alpha, mu;
  PetscInt                   column_alpha, column_mu;
} Optimizer_KFAC;

static PetscErrorCode Update_KFACStar(Optimizer, PetscReal *, const PetscReal *, OptimizerStepInfo *);

static PetscErrorCode SetFromOptions_KFAC(Optimizer opt, PetscOptionItems *PetscOptionsObject)
{
  Optimizer_KFAC *k       = (Optimizer_KFAC *)opt->data;
  PetscInt        variant = (PetscInt)k->variant, damping_type = (PetscInt)k->damping_type, init = (PetscInt)k->init;

  PetscFunctionBegin;
  PetscOptionsHeadBegin(PetscOptionsObject, k->star ? "KFAC* options" : "KFAC options");
  PetscCall(EngdOptionsReal("-kfac_damping", "Damping lambda added to every Kronecker factor", "OptimizerCreate_KFAC", k->damping, &k->damping, NULL));
  PetscCall(EngdOptionsEList("-kfac_damping_split", "How the damping goes onto a product's two factors: all (lambda on both) or pi (the pi-corrected split)", "OptimizerCreate_KFAC", KroneckerDampings, 2, KroneckerDampings[damping_type], &damping_type, NULL));
  PetscCall(EngdOptionsReal("-kfac_ema", "Exponential moving average beta of the factors, in [0, 1)", "OptimizerCreate_KFAC", k->ema, &k->ema, NULL));
  PetscCall(EngdOptionsEList("-kfac_init", "Initial factors of the average: identity or zero", "OptimizerCreate_KFAC", KFACInits, 2, KFACInits[init], &init, NULL));
  PetscCall(EngdOptionsEList("-kfac_variant", "KFAC for weight sharing over the Taylor channels: expand or reduce", "OptimizerCreate_KFAC", ObjectiveKFACVariants, 2, ObjectiveKFACVariants[variant], &variant, NULL));
  PetscCall(EngdOptionsInt("-kfac_update_every", "Recompute the factors and their inverse every k iterations", "OptimizerCreate_KFAC", k->update_every, &k->update_every, NULL));
  if (!k->star) PetscCall(EngdOptionsReal("-kfac_momentum", "Momentum mu on the direction (kfac), in [0, 1)", "OptimizerCreate_KFAC", k->momentum, &k->momentum, NULL));
  else PetscCall(EngdOptionsReal("-kfac_lr_init", "Step size alpha of KFAC*'s first step", "OptimizerCreate_KFAC", k->lr_init, &k->lr_init, NULL));
  PetscOptionsHeadEnd();
  k->variant      = (ObjectiveKFACVariant)variant;
  k->damping_type = (KroneckerDamping)damping_type;
  k->init         = (KFACInit)init;
  PetscCheck(k->damping >= 0, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-kfac_damping must be non-negative, got %g", (double)k->damping);
  PetscCheck(k->ema >= 0 && k->ema < 1, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-kfac_ema must be in [0, 1), got %g", (double)k->ema);
  PetscCheck(k->momentum >= 0 && k->momentum < 1, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-kfac_momentum must be in [0, 1), got %g", (double)k->momentum);
  PetscCheck(k->update_every >= 1, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-kfac_update_every must be at least 1, got %" PetscInt_FMT, k->update_every);
  PetscCheck(k->lr_init > 0, opt->comm, PETSC_ERR_ARG_OUTOFRANGE, "-kfac_lr_init must be positive, got %g", (double)k->lr_init);
  PetscFunctionReturn(0);
}

/* The average's starting value: the identity in every factor, or zero. */
static void InitialFactors(const ObjectiveKFACLayout *layout, KFACInit init, PetscReal *F)
{
  for (PetscInt i = 0; i < layout->length; i++) F[i] = 0;
  if (init == KFAC_INIT_ZERO) return;
  for (PetscInt l = 0; l < layout->n_layers; l++)
    for (PetscInt g = 0; g < layout->n_groups; g++) {
      const PetscInt a = layout->a_size[l], b = layout->b_size[l];
      PetscReal     *A = F + layout->offset[l * layout->n_groups + g], *B = A + a * a;
      for (PetscInt i = 0; i < a; i++) A[i * a + i] = 1;
      for (PetscInt i = 0; i < b; i++) B[i * b + i] = 1;
    }
}

static PetscErrorCode SetUp_KFAC(Optimizer opt)
{
  Optimizer_KFAC *k = (Optimizer_KFAC *)opt->data;
  PetscInt        length;

  PetscFunctionBegin;
  PetscCall(ObjectiveKFACGetLayout(opt->objective, &k->layout));
  length = k->layout->length;
  PetscCall(KroneckerSumCreate(opt->comm, k->layout->n_layers, k->layout->a_size, k->layout->b_size, k->layout->n_groups, &k->kron));
  PetscCall(PetscMalloc1(length, &k->factors)); /* separate: Commit swaps factors and trial */
  PetscCall(PetscMalloc1(length, &k->trial));
  PetscCall(PetscMalloc1(length, &k->batch));
  PetscCall(PetscCalloc3(opt->n_params, &k->grad, opt->n_params, &k->buffer, opt->n_params, &k->step));
  InitialFactors(k->layout, k->init, k->factors);
  k->need_factor = PETSC_TRUE;
  if (k->star) PetscCall(ObjectiveShellCreate(opt->objective, &k->shell));
  PetscFunctionReturn(0);
}

/* dir = Delta (+ mu d_prev for kfac): not committed until the step is taken. */
static PetscErrorCode Direction_KFAC(Optimizer opt, const PetscReal *theta, PetscReal *dir, OptimizerStepInfo *info)
{
  Optimizer_KFAC *k      = (Optimizer_KFAC *)opt->data;
  const PetscInt  length = k->layout->length;

  PetscFunctionBegin;
  k->refreshed  = (PetscBool)(k->steps % k->update_every == 0);
  info->damping = k->damping;
  k->theta      = theta;
  /* the factors' pass gives the gradient too (ObjectiveGradient's bits) */
  if (k->refreshed) PetscCall(ObjectiveKFACFactors(opt->objective, theta, k->variant, k->batch, k->grad, &info->loss));
  else PetscCall(ObjectiveGradient(opt->objective, theta, k->grad, &info->loss));
  if (PetscIsInfOrNanReal(info->loss)) {
    k->refreshed = PETSC_FALSE;
    PetscFunctionReturn(0);
  }
  if (k->refreshed) {
    for (PetscInt i = 0; i < length; i++) k->trial[i] = k->ema * k->factors[i] + (1 - k->ema) * k->batch[i];
    PetscCall(KroneckerSumFactor(k->kron, k->trial, k->layout->offset, k->damping, k->damping_type));
    k->need_factor = PETSC_TRUE; /* until the step commits trial */
  } else if (k->need_factor) {
    PetscCall(KroneckerSumFactor(k->kron, k->factors, k->layout->offset, k->damping, k->damping_type));
    k->need_factor = PETSC_FALSE;
  }
  PetscCall(KroneckerSumApply(k->kron, k->grad, dir));
  if (!k->star && k->momentum != 0)
    for (PetscInt i = 0; i < opt->n_params; i++) dir[i] += k->momentum * k->buffer[i];
  PetscFunctionReturn(0);
}

/* After a finite step: the new average and the momentum (kfac: d; kfac_star: delta) become state. */
static PetscErrorCode Commit(Optimizer opt, const PetscReal *buffer)
{
  Optimizer_KFAC *k = (Optimizer_KFAC *)opt->data;

  PetscFunctionBegin;
  if (k->refreshed) {
    PetscReal *swap = k->factors;
    k->factors      = k->trial;
    k->trial        = swap;
    k->need_factor  = PETSC_FALSE;
  }
  PetscCall(PetscArraycpy(k->buffer, buffer, opt->n_params));
  k->steps++;
  PetscFunctionReturn(0);
}

static PetscErrorCode PostStep_KFAC(Optimizer opt, const OptimizerStepInfo *info)
{
  PetscFunctionBegin;
  PetscCall(Commit(opt, opt->dir));
  PetscFunctionReturn(0);
}

/* (alpha, mu) minimising g^T delta + 1/2 delta^T (G + lambda I) delta over delta = alpha D + mu p,
   D = -dir the KFAC step, p the previous update (replicated sums, and the Gram dots of J~ D, J~ p). */
static PetscErrorCode QuadraticModel(Optimizer opt, const PetscReal *D, const PetscReal *p, PetscReal *alpha, PetscReal *mu)
{
  Optimizer_KFAC *k   = (Optimizer_KFAC *)opt->data;
  const PetscReal lam = k->damping;
  PetscReal       DD = 0, dd = 0, dD = 0, gD = 0, gd = 0, G[3], m11, m12, m22, det;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < opt->n_params; i++) {
    DD += D[i] * D[i];
    dd += p[i] * p[i];
    dD += p[i] * D[i];
    gD += k->grad[i] * D[i];
    gd += k->grad[i] * p[i];
  }
  PetscCall(ObjectiveShellGramDots(opt->objective, k->theta, &k->shell, D, p, G));
  m11 = G[0] + lam * DD;
  m12 = G[1] + lam * dD;
  m22 = G[2] + lam * dd;
  det = m11 * m22 - m12 * m12;
  if (det > 0 && !PetscIsInfOrNanReal(det) && det > 1e-14 * m11 * m22) { /* [m11 m12; m12 m22] (alpha, mu) = -(gD, gd) */
    *alpha = -(m22 * gD - m12 * gd) / det;
    *mu    = -(m11 * gd - m12 * gD) / det;
  } else { /* p (nearly) parallel to D, or zero: the model along D alone */
    *alpha = m11 > 0 ? -gD / m11 : 0;
    *mu    = 0;
  }
  PetscFunctionReturn(0);
}

/* kfac_star: theta += delta = alpha (-dir) + mu delta_prev, committed when theta stays finite. */
static PetscErrorCode Update_KFACStar(Optimizer opt, PetscReal *theta, const PetscReal *dir, OptimizerStepInfo *info)
{
  Optimizer_KFAC *k = (Optimizer_KFAC *)opt->data;
  const PetscInt  P = opt->n_params;
  PetscReal      *D = k->step; /* -dir, then delta */

  PetscFunctionBegin;
  for (PetscInt i = 0; i < P; i++) D[i] = -dir[i];
  if (k->steps == 0) {
    k->alpha = k->lr_init;
    k->mu    = 0;
  } else PetscCall(QuadraticModel(opt, D, k->buffer, &k->alpha, &k->mu));
  for (PetscInt i = 0; i < P; i++) {
    D[i] = k->alpha * D[i] + k->mu * k->buffer[i];
    if (PetscIsInfOrNanReal(D[i]) || PetscIsInfOrNanReal(theta[i] + D[i])) info->nonfinite = PETSC_TRUE;
  }
  if (opt->history) {
    PetscCall(HistorySetValue(opt->history, k->column_alpha, k->alpha));
    PetscCall(HistorySetValue(opt->history, k->column_mu, k->mu));
  }
  if (info->nonfinite) PetscFunctionReturn(0);
  for (PetscInt i = 0; i < P; i++) theta[i] += D[i];
  PetscCall(ObjectiveLoss(opt->objective, theta, &info->loss_new));
  PetscCall(Commit(opt, D));
  info->eta      = k->alpha;
  info->accepted = PETSC_TRUE;
  PetscFunctionReturn(0);
}

static PetscErrorCode SetHistory_KFAC(Optimizer opt, History history)
{
  Optimizer_KFAC *k = (Optimizer_KFAC *)opt->data;

  PetscFunctionBegin;
  if (k->star) {
    PetscCall(HistoryAddColumn(history, "kfac_alpha", &k->column_alpha));
    PetscCall(HistoryAddColumn(history, "kfac_mu", &k->column_mu));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode GetState_KFAC(Optimizer opt, OptimizerState *state)
{
  Optimizer_KFAC *k     = (Optimizer_KFAC *)opt->data;
  const PetscReal steps = (PetscReal)k->steps;

  PetscFunctionBegin;
  PetscCall(OptimizerStateSet(state, "kfac_factors", k->layout->length, k->factors));
  PetscCall(OptimizerStateSet(state, k->star ? "previous_update" : "momentum", opt->n_params, k->buffer));
  PetscCall(OptimizerStateSet(state, "step", 1, &steps));
  PetscFunctionReturn(0);
}

static PetscErrorCode SetState_KFAC(Optimizer opt, const OptimizerState *state)
{
  Optimizer_KFAC  *k = (Optimizer_KFAC *)opt->data;
  const PetscReal *factors, *buffer, *steps;

  PetscFunctionBegin;
  PetscCall(OptimizerStateRequire(opt, state, "kfac_factors", k->layout->length, &factors));
  PetscCall(OptimizerStateRequire(opt, state, k->star ? "previous_update" : "momentum", opt->n_params, &buffer));
  PetscCall(OptimizerStateRequire(opt, state, "step", 1, &steps));
  PetscCheck(steps[0] >= 0 && steps[0] == PetscFloorReal(steps[0]), opt->comm, PETSC_ERR_FILE_UNEXPECTED, "the %s optimizer state has step %g, not a count", opt->type, (double)steps[0]);
  for (PetscInt i = 0; i < k->layout->length; i++) PetscCheck(!PetscIsInfOrNanReal(factors[i]), opt->comm, PETSC_ERR_FILE_UNEXPECTED, "the %s optimizer state has non-finite factors", opt->type);
  PetscCall(PetscArraycpy(k->factors, factors, k->layout->length));
  PetscCall(PetscArraycpy(k->buffer, buffer, opt->n_params));
  k->steps       = (PetscInt)steps[0];
  k->need_factor = PETSC_TRUE;
  PetscFunctionReturn(0);
}

static PetscErrorCode View_KFAC(Optimizer opt, PetscViewer viewer)
{
  Optimizer_KFAC *k = (Optimizer_KFAC *)opt->data;

  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, ", %s, damping %g (%s), EMA %g from %s, update every %" PetscInt_FMT ", ", ObjectiveKFACVariants[k->variant], (double)k->damping, KroneckerDampings[k->damping_type], (double)k->ema, KFACInits[k->init], k->update_every));
  if (k->star) PetscCall(PetscViewerASCIIPrintf(viewer, "step and momentum from the exact Gauss-Newton quadratic model (first step %g)", (double)k->lr_init));
  else {
    PetscCall(PetscViewerASCIIPrintf(viewer, "momentum %g, ", (double)k->momentum));
    PetscCall(LineSearchView(opt->ls, viewer));
  }
  if (k->layout) PetscCall(PetscViewerASCIIPrintf(viewer, ", %" PetscInt_FMT " Kronecker product(s) per layer", k->layout->n_groups));
  PetscFunctionReturn(0);
}

static PetscErrorCode Destroy_KFAC(Optimizer opt)
{
  Optimizer_KFAC *k = (Optimizer_KFAC *)opt->data;

  PetscFunctionBegin;
  PetscCall(KroneckerSumDestroy(&k->kron));
  PetscCall(PetscFree(k->factors));
  PetscCall(PetscFree(k->trial));
  PetscCall(PetscFree(k->batch));
  if (k->grad) PetscCall(PetscFree3(k->grad, k->buffer, k->step));
  PetscCall(ObjectiveShellDestroy(&k->shell));
  PetscCall(PetscFree(opt->data));
  PetscFunctionReturn(0);
}

static PetscErrorCode Create(Optimizer opt, PetscBool star)
{
  Optimizer_KFAC *k;

  PetscFunctionBegin;
  PetscCall(PetscNew(&k));
  k->star                 = star;
  k->variant              = OBJECTIVE_KFAC_EXPAND;
  k->damping_type         = KRONECKER_DAMPING_ALL;
  k->init                 = KFAC_INIT_IDENTITY;
  k->damping              = 1e-3;
  k->ema                  = 0.95;
  k->lr_init              = 1e-6;
  k->update_every         = 1;
  opt->data               = k;
  opt->ops.setfromoptions = SetFromOptions_KFAC;
  opt->ops.setup          = SetUp_KFAC;
  opt->ops.direction      = Direction_KFAC;
  opt->ops.update         = star ? Update_KFACStar : NULL;
  opt->ops.poststep       = star ? NULL : PostStep_KFAC;
  opt->ops.sethistory     = SetHistory_KFAC;
  opt->ops.view           = View_KFAC;
  opt->ops.destroy        = Destroy_KFAC;
  opt->ops.getstate       = GetState_KFAC;
  opt->ops.setstate       = SetState_KFAC;
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode OptimizerCreate_KFAC(Optimizer opt)
{
  PetscFunctionBegin;
  PetscCall(Create(opt, PETSC_FALSE));
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode OptimizerCreate_KFACStar(Optimizer opt)
{
  PetscFunctionBegin;
  PetscCall(Create(opt, PETSC_TRUE));
  PetscFunctionReturn(0);
}
