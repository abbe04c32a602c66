/* Saddle diagnostics (diagnostics.h): the exact Hessian's inertia by LAPACK or SLEPc's Lanczos,
   the trivial point's loss, the features' alignment with the residual, the class of a point. */
#include <engd/diagnostics.h>
#include <engd/options.h>
#include <engd/rng.h>
#include <slepceps.h>
#include <math.h>

const char *const HessianSpectrumTypes[] = {"auto", "full", "lanczos", "HessianSpectrumType", "HESSIAN_SPECTRUM_", NULL};
const char *const PointClasses[]         = {"minimum", "saddle", "trivial_saddle", "not_stationary", "PointClass", "POINT_", NULL};

#define N_COLUMNS 9
static const char *const Columns[N_COLUMNS] = {"grad_norm", "hess_negative", "hess_zero", "hess_positive", "hess_lambda_min", "hess_lambda_max", "descent", "loss_trivial", "alignment"};

struct _p_HessianDiagnostics {
  MPI_Comm            comm;
  Objective           objective;
  Model               model;
  PetscInt            n_params;
  PetscBool           record, monitor, classify;
  PetscInt            every;
  HessianSpectrumType spectrum;
  PetscInt            max_params, lanczos_nev;
  PetscReal           zero_tol, classify_gtol, classify_trivial_tol, classify_loss;
  char                spectrum_file[PETSC_MAX_PATH_LEN];
  History             history;
  PetscInt            column[N_COLUMNS];
  CurvatureSolver     solver; /* the full spectrum (indefinite solver), on first use */
  PetscReal          *H, *grad, *work, *hv;
};

PetscErrorCode HessianDiagnosticsCreate(Objective objective, HessianDiagnostics *diag)
{
  HessianDiagnostics d;

  PetscFunctionBegin;
  PetscCall(PetscNew(&d));
  d->objective            = objective;
  d->every                = 1;
  d->max_params           = 4096;
  d->lanczos_nev          = 5;
  d->zero_tol             = 1e-9;
  d->classify_gtol        = 1e-6;
  d->classify_trivial_tol = 1e-2;
  d->classify_loss        = 1e-8;
  d->history              = NULL;
  for (PetscInt k = 0; k < N_COLUMNS; k++) d->column[k] = -1;
  PetscCall(ObjectiveGetComm(objective, &d->comm));
  PetscCall(ObjectiveGetModel(objective, &d->model));
  *diag = d;
  PetscFunctionReturn(0);
}

PetscErrorCode HessianDiagnosticsSetFromOptions(HessianDiagnostics d, PetscOptionItems *PetscOptionsObject)
{
  PetscInt spectrum = (PetscInt)d->spectrum;

  PetscFunctionBegin;
  PetscOptionsHeadBegin(PetscOptionsObject, "Hessian (saddle) diagnostics");
  PetscCall(EngdOptionsBool("-hessian_diagnostics", "Record the exact Hessian's inertia, |grad L|, descent, trivial loss and alignment per iteration", "HessianDiagnosticsRecord", d->record, &d->record, NULL));
  PetscCall(EngdOptionsInt("-hessian_diagnostics_every", "Record them every k iterations", "HessianDiagnosticsRecord", d->every, &d->every, NULL));
  PetscCall(EngdOptionsBool("-hessian_monitor", "Print a line of diagnostics per recorded iteration", "HessianDiagnosticsRecord", d->monitor, &d->monitor, NULL));
  PetscCall(EngdOptionsEList("-hessian_spectrum", "Spectrum of H: full (LAPACK), lanczos (SLEPc, extreme eigenvalues), auto (full up to -hessian_max_params)", "HessianDiagnosticsRecord", HessianSpectrumTypes, 3, HessianSpectrumTypes[spectrum], &spectrum, NULL));
  PetscCall(EngdOptionsInt("-hessian_max_params", "Largest P whose P x P Hessian is assembled (full spectrum, Newton's methods)", "HessianDiagnosticsCheckSize", d->max_params, &d->max_params, NULL));
  PetscCall(EngdOptionsInt("-hessian_lanczos_nev", "Lanczos: the number of smallest eigenvalues computed (negative ones counted among them)", "HessianDiagnosticsRecord", d->lanczos_nev, &d->lanczos_nev, NULL));
  PetscCall(EngdOptionsReal("-hessian_zero_tol", "Eigenvalues with |lambda| <= tol max|lambda| count as zero", "HessianDiagnosticsRecord", d->zero_tol, &d->zero_tol, NULL));
  PetscCall(EngdOptionsBool("-classify", "Classify the final point: minimum, saddle (index), trivial saddle", "HessianDiagnosticsClassify", d->classify, &d->classify, NULL));
  PetscCall(EngdOptionsReal("-classify_gtol", "A point is stationary when |grad L| is at most this", "HessianDiagnosticsClassify", d->classify_gtol, &d->classify_gtol, NULL));
  PetscCall(EngdOptionsReal("-classify_trivial_tol", "A saddle is trivial when its loss is within this relative distance of the trivial point's", "HessianDiagnosticsClassify", d->classify_trivial_tol, &d->classify_trivial_tol, NULL));
  PetscCall(EngdOptionsString("-classify_spectrum", "Write the final point's eigenvalues of H to this text file (one per line)", "HessianDiagnosticsClassify", d->spectrum_file, d->spectrum_file, sizeof(d->spectrum_file), NULL));
  PetscCall(EngdOptionsReal("-classify_loss", "A point with a loss at most this is a minimum", "HessianDiagnosticsClassify", d->classify_loss, &d->classify_loss, NULL));
  PetscOptionsHeadEnd();
  d->spectrum = (HessianSpectrumType)spectrum;
  PetscCheck(d->every >= 1, d->comm, PETSC_ERR_ARG_OUTOFRANGE, "-hessian_diagnostics_every must be at least 1, got %" PetscInt_FMT, d->every);
  PetscCheck(d->max_params >= 1, d->comm, PETSC_ERR_ARG_OUTOFRANGE, "-hessian_max_params must be at least 1, got %" PetscInt_FMT, d->max_params);
  PetscCheck(d->lanczos_nev >= 1, d->comm, PETSC_ERR_ARG_OUTOFRANGE, "-hessian_lanczos_nev must be at least 1, got %" PetscInt_FMT, d->lanczos_nev);
  PetscCheck(d->zero_tol >= 0 && d->zero_tol < 1, d->comm, PETSC_ERR_ARG_OUTOFRANGE, "-hessian_zero_tol must be in [0, 1), got %g", (double)d->zero_tol);
  PetscCheck(d->classify_gtol >= 0, d->comm, PETSC_ERR_ARG_OUTOFRANGE, "-classify_gtol must be non-negative, got %g", (double)d->classify_gtol);
  if (d->monitor) d->record = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode HessianDiagnosticsDestroy(HessianDiagnostics *diag)
{
  HessianDiagnostics d = *diag;

  PetscFunctionBegin;
  if (!d) PetscFunctionReturn(0);
  PetscCall(CurvatureSolverDestroy(&d->solver));
  PetscCall(PetscFree(d->H));
  PetscCall(PetscFree3(d->grad, d->work, d->hv));
  PetscCall(PetscFree(d));
  *diag = NULL;
  PetscFunctionReturn(0);
}

PetscErrorCode HessianDiagnosticsEnabled(HessianDiagnostics d, PetscBool *record, PetscBool *classify)
{
  PetscFunctionBegin;
  if (record) *record = d->record;
  if (classify) *classify = d->classify;
  PetscFunctionReturn(0);
}

static PetscBool UseFull(HessianDiagnostics d, PetscInt P) { return d->spectrum == HESSIAN_SPECTRUM_FULL || (d->spectrum == HESSIAN_SPECTRUM_AUTO && P <= d->max_params) ? PETSC_TRUE : PETSC_FALSE; }

PetscErrorCode HessianDiagnosticsCheckSize(HessianDiagnostics d, PetscInt P, const char *who)
{
  PetscFunctionBegin;
  PetscCheck(P <= d->max_params, d->comm, PETSC_ERR_ARG_OUTOFRANGE, "%s assembles the %" PetscInt_FMT " x %" PetscInt_FMT " exact Hessian (%.0f MB per rank), beyond -hessian_max_params %" PetscInt_FMT ": raise the limit, use fewer parameters (-net_hidden), or take the extreme eigenvalues by Lanczos (-hessian_spectrum lanczos, SLEPc) with a method that does not assemble H (-optimizer engd, lbfgs, or tao with -tao_method ntr)", who, P, P, 24.0 * (double)P * (double)P / 1048576.0, d->max_params);
  PetscFunctionReturn(0);
}

static PetscErrorCode Allocate(HessianDiagnostics d)
{
  PetscFunctionBegin;
  if (d->grad) PetscFunctionReturn(0);
  PetscCall(ModelGetNumParameters(d->model, &d->n_params));
  PetscCall(PetscMalloc3(d->n_params, &d->grad, d->n_params, &d->work, d->n_params, &d->hv));
  PetscFunctionReturn(0);
}

PetscErrorCode HessianDiagnosticsSetHistory(HessianDiagnostics d, History history)
{
  PetscFunctionBegin;
  if (!d->record) PetscFunctionReturn(0);
  for (PetscInt k = 0; k < N_COLUMNS; k++) PetscCall(HistoryAddColumn(history, Columns[k], &d->column[k]));
  d->history = history;
  PetscFunctionReturn(0);
}

/* The loss of the trivial point: output weights zero, the output bias b the best constant.
   L(b) is quadratic for affine residuals: three losses give its minimiser, whose loss is then
   evaluated (for energies with u^4 terms the minimum of the fit, taken if it is lower). */
static PetscErrorCode TrivialLoss(HessianDiagnostics d, const PetscReal *theta, PetscReal *loss)
{
  ModelLayout     layout;
  PetscReal       l_minus, l_zero, l_plus, a, b;
  PetscReal      *t = d->work;

  PetscFunctionBegin;
  PetscCall(ModelGetLayout(d->model, &layout));
  PetscCall(PetscArraycpy(t, theta, d->n_params));
  PetscCall(PetscArrayzero(t + layout.w_offset[layout.n_layers], layout.widths[layout.n_layers - 1]));
  t[layout.b_offset[layout.n_layers]] = -1.0;
  PetscCall(ObjectiveLoss(d->objective, t, &l_minus));
  t[layout.b_offset[layout.n_layers]] = 0.0;
  PetscCall(ObjectiveLoss(d->objective, t, &l_zero));
  t[layout.b_offset[layout.n_layers]] = 1.0;
  PetscCall(ObjectiveLoss(d->objective, t, &l_plus));
  a     = 0.5 * (l_plus + l_minus) - l_zero;
  b     = 0.5 * (l_plus - l_minus);
  *loss = l_zero;
  if (a > 0) {
    PetscReal l_best;
    t[layout.b_offset[layout.n_layers]] = -b / (2.0 * a);
    PetscCall(ObjectiveLoss(d->objective, t, &l_best));
    *loss = PetscMin(*loss, l_best);
  }
  PetscFunctionReturn(0);
}

/* max_i |dL/dw_i| / sqrt(H_ii 2 L) over the output weights (least-squares losses only). */
static PetscErrorCode Alignment(HessianDiagnostics d, const PetscReal *theta, PetscReal loss, const PetscReal *grad, const PetscReal *H, PetscReal *alignment)
{
  ModelLayout layout;
  PetscBool   energy;
  PetscInt    w0, n;
  PetscReal   best = 0.0;

  PetscFunctionBegin;
  PetscCall(ObjectiveHasEnergyTerms(d->objective, &energy));
  *alignment = NAN;
  if (energy || !(loss > 0)) PetscFunctionReturn(0);
  PetscCall(ModelGetLayout(d->model, &layout));
  w0 = layout.w_offset[layout.n_layers];
  n  = layout.widths[layout.n_layers - 1];
  for (PetscInt i = 0; i < n; i++) {
    PetscReal h_ii;
    if (H) h_ii = H[(w0 + i) * (d->n_params + 1)];
    else { /* the column norm of J~ from one Gauss-Newton product (u is linear in w_i: H_ii = G_ii) */
      PetscCall(PetscArrayzero(d->work, d->n_params));
      d->work[w0 + i] = 1.0;
      PetscCall(ObjectiveHessianVector(d->objective, theta, d->work, PETSC_TRUE, d->hv));
      h_ii = d->hv[w0 + i];
    }
    if (h_ii > 0) best = PetscMax(best, PetscAbsReal(grad[w0 + i]) / PetscSqrtReal(h_ii * 2.0 * loss));
  }
  *alignment = best;
  PetscFunctionReturn(0);
}

/* The Lanczos shell: H v by ObjectiveHessianVector on the replicated v. */
typedef struct {
  HessianDiagnostics d;
  const PetscReal   *theta;
  VecScatter         to_all;
  Vec                all;
} Shell;

static PetscErrorCode ShellMult(Mat A, Vec x, Vec y)
{
  Shell            *s;
  const PetscReal  *v;
  PetscReal        *ya;
  PetscInt          lo, hi;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(A, &s));
  PetscCall(VecScatterBegin(s->to_all, x, s->all, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(s->to_all, x, s->all, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecGetArrayRead(s->all, &v));
  PetscCall(ObjectiveHessianVector(s->d->objective, s->theta, v, PETSC_FALSE, s->d->hv));
  PetscCall(VecRestoreArrayRead(s->all, &v));
  PetscCall(VecGetOwnershipRange(y, &lo, &hi));
  PetscCall(VecGetArray(y, &ya));
  for (PetscInt i = lo; i < hi; i++) ya[i - lo] = s->d->hv[i];
  PetscCall(VecRestoreArray(y, &ya));
  PetscFunctionReturn(0);
}

/* Extreme eigenvalues by SLEPc (symmetric: Krylov-Schur is thick-restart Lanczos) from a fixed
   start vector; the negative ones counted among the nev smallest. Options prefix hessian_. */
static PetscErrorCode LanczosSpectrum(HessianDiagnostics d, const PetscReal *theta, HessianDiagnosticsValues *val)
{
  const PetscInt P = d->n_params;
  Shell          shell = {d, theta, NULL, NULL};
  Mat            A;
  Vec            start;
  EPS            eps;
  PetscInt       n_conv, lo, hi;
  PetscReal      lambda_min = PETSC_MAX_REAL, lambda_max = -PETSC_MAX_REAL;
  PetscScalar    kr, ki;
  PetscReal     *sa;
  PetscInt       n_negative = 0;
  PetscReal      found[64];
  PetscInt       n_found = 0;

  PetscFunctionBegin;
  if (!SlepcInitializeCalled) PetscCall(SlepcInitializeNoArguments()); /* after PetscInitialize: SLEPc's classes only */
  PetscCall(MatCreateShell(d->comm, PETSC_DECIDE, PETSC_DECIDE, P, P, &shell, &A));
  PetscCall(MatShellSetOperation(A, MATOP_MULT, (void (*)(void))ShellMult));
  PetscCall(MatSetOption(A, MAT_SYMMETRIC, PETSC_TRUE));
  PetscCall(MatCreateVecs(A, &start, NULL));
  PetscCall(VecScatterCreateToAll(start, &shell.to_all, &shell.all));
  PetscCall(VecGetOwnershipRange(start, &lo, &hi));
  PetscCall(VecGetArray(start, &sa));
  for (PetscInt i = lo; i < hi; i++) sa[i - lo] = RngUniform(11, 5, (uint64_t)i) - 0.5;
  PetscCall(VecRestoreArray(start, &sa));
  PetscCall(EPSCreate(d->comm, &eps));
  PetscCall(EPSSetOperators(eps, A, NULL));
  PetscCall(EPSSetProblemType(eps, EPS_HEP));
  PetscCall(EPSSetTolerances(eps, 1e-10, 2000));
  PetscCall(EPSSetOptionsPrefix(eps, "hessian_"));
  for (PetscInt pass = 0; pass < 2; pass++) {
    PetscCall(EPSSetWhichEigenpairs(eps, pass == 0 ? EPS_SMALLEST_REAL : EPS_LARGEST_REAL));
    PetscCall(EPSSetDimensions(eps, pass == 0 ? PetscMin(d->lanczos_nev, 64) : 1, PETSC_DEFAULT, PETSC_DEFAULT));
    PetscCall(EPSSetInitialSpace(eps, 1, &start));
    PetscCall(EPSSetFromOptions(eps));
    PetscCall(EPSSolve(eps));
    PetscCall(EPSGetConverged(eps, &n_conv));
    for (PetscInt i = 0; i < n_conv; i++) {
      PetscCall(EPSGetEigenvalue(eps, i, &kr, &ki));
      lambda_min = PetscMin(lambda_min, PetscRealPart(kr));
      lambda_max = PetscMax(lambda_max, PetscRealPart(kr));
      if (pass == 0 && n_found < 64) found[n_found++] = PetscRealPart(kr);
    }
  }
  PetscCall(PetscSortReal(n_found, found));
  for (PetscInt i = 0; i < PetscMin(n_found, d->lanczos_nev); i++)
    if (found[i] < -d->zero_tol * PetscMax(PetscAbsReal(lambda_min), PetscAbsReal(lambda_max))) n_negative++;
  val->lambda_min = lambda_min;
  val->lambda_max = lambda_max;
  val->n_negative = (PetscReal)n_negative;
  PetscCall(EPSDestroy(&eps));
  PetscCall(VecScatterDestroy(&shell.to_all));
  PetscCall(VecDestroy(&shell.all));
  PetscCall(VecDestroy(&start));
  PetscCall(MatDestroy(&A));
  PetscFunctionReturn(0);
}

/* Counts of the full spectrum (ascending). */
static void CountSpectrum(HessianDiagnostics d, PetscInt P, const PetscReal *lambda, HessianDiagnosticsValues *val)
{
  const PetscReal biggest = PetscMax(PetscAbsReal(lambda[0]), PetscAbsReal(lambda[P - 1])), tol = d->zero_tol * biggest;

  val->n_negative = val->n_zero = val->n_positive = 0;
  for (PetscInt i = 0; i < P; i++) {
    if (lambda[i] < -tol) val->n_negative += 1;
    else if (lambda[i] > tol) val->n_positive += 1;
    else val->n_zero += 1;
  }
  val->lambda_min = lambda[0];
  val->lambda_max = lambda[P - 1];
}

/* Everything at theta; H and lambda may come from the method (NULL: computed here). */
static PetscErrorCode Measure(HessianDiagnostics d, const PetscReal *theta, PetscReal loss, const PetscReal *grad, const PetscReal *H, const PetscReal *lambda, const PetscReal *dir, HessianDiagnosticsValues *val, const PetscReal **lambda_used)
{
  const PetscInt P = d->n_params;
  PetscReal      g2 = 0.0, d2 = 0.0, gd = 0.0;

  PetscFunctionBegin;
  val->n_negative = val->n_zero = val->n_positive = val->lambda_min = val->lambda_max = val->descent = NAN;
  if (!grad) {
    PetscCall(ObjectiveGradient(d->objective, theta, d->grad, &loss));
    grad = d->grad;
  }
  val->loss = loss;
  for (PetscInt i = 0; i < P; i++) {
    g2 += grad[i] * grad[i];
    if (dir) {
      d2 += dir[i] * dir[i];
      gd += grad[i] * dir[i];
    }
  }
  val->grad_norm = PetscSqrtReal(g2);
  if (dir && g2 > 0 && d2 > 0) val->descent = gd / PetscSqrtReal(g2 * d2);
  if (lambda_used) *lambda_used = NULL;
  if (UseFull(d, P)) {
    if (!lambda) {
      CurvatureOperator op;
      PetscInt          n;
      PetscCall(HessianDiagnosticsCheckSize(d, P, "-hessian_spectrum full"));
      if (!H) {
        if (!d->H) PetscCall(PetscMalloc1(P * P, &d->H));
        PetscCall(ObjectiveHessianAssemble(d->objective, theta, PETSC_FALSE, d->H));
        H = d->H;
      }
      if (!d->solver) {
        PetscCall(CurvatureSolverCreate(d->comm, &d->solver));
        PetscCall(CurvatureSolverSetType(d->solver, CURVATURESOLVERINDEFINITE));
        PetscCall(CurvatureSolverSetSizes(d->solver, P, 1));
        PetscCall(CurvatureSolverSetUp(d->solver));
      }
      PetscCall(PetscMemzero(&op, sizeof(op)));
      op.type     = CURVATURE_MATRIX;
      op.n_params = P;
      op.matrix   = H;
      PetscCall(CurvatureSolverSetOperator(d->solver, &op));
      PetscCall(CurvatureSolverGetEigenvalues(d->solver, &n, &lambda));
    }
    CountSpectrum(d, P, lambda, val);
    if (lambda_used) *lambda_used = lambda;
  } else PetscCall(LanczosSpectrum(d, theta, val));
  PetscCall(TrivialLoss(d, theta, &val->loss_trivial));
  PetscCall(Alignment(d, theta, loss, grad, H, &val->alignment));
  PetscFunctionReturn(0);
}

PetscErrorCode HessianDiagnosticsRecord(HessianDiagnostics d, PetscInt iteration, const PetscReal *theta, PetscReal loss, const PetscReal *grad, const PetscReal *H, const PetscReal *lambda, const PetscReal *dir)
{
  HessianDiagnosticsValues val;

  PetscFunctionBegin;
  if (!d->record || !d->history || iteration % d->every) PetscFunctionReturn(0);
  PetscCall(Allocate(d));
  PetscCall(Measure(d, theta, loss, grad, H, lambda, dir, &val, NULL));
  {
    const PetscReal values[N_COLUMNS] = {val.grad_norm, val.n_negative, val.n_zero, val.n_positive, val.lambda_min, val.lambda_max, val.descent, val.loss_trivial, val.alignment};
    for (PetscInt k = 0; k < N_COLUMNS; k++) PetscCall(HistorySetValue(d->history, d->column[k], values[k]));
  }
  if (d->monitor)
    PetscCall(PetscPrintf(d->comm, "  hessian it %" PetscInt_FMT ": |grad L| %.3e, eigenvalues -/0/+ %.0f/%.0f/%.0f in [%.3e, %.3e], descent cos %.3f, loss/trivial %.3e, alignment %.3e\n", iteration, (double)val.grad_norm, (double)val.n_negative, (double)val.n_zero, (double)val.n_positive, (double)val.lambda_min, (double)val.lambda_max, (double)val.descent, (double)(loss / val.loss_trivial), (double)val.alignment));
  PetscFunctionReturn(0);
}

PetscErrorCode HessianDiagnosticsClassify(HessianDiagnostics d, const PetscReal *theta, PointClass *cls, HessianDiagnosticsValues *out, PetscReal *lambda_out)
{
  HessianDiagnosticsValues val;
  const PetscReal         *lambda;
  PointClass               c;
  char                     index[64] = "";
  PetscBool                energy;

  PetscFunctionBegin;
  PetscCall(Allocate(d));
  PetscCall(Measure(d, theta, NAN, NULL, NULL, NULL, NULL, &val, &lambda));
  PetscCall(ObjectiveHasEnergyTerms(d->objective, &energy));
  if (!energy && val.loss <= d->classify_loss) c = POINT_MINIMUM; /* an energy's minimum is not 0 */
  else if (!(val.grad_norm <= d->classify_gtol)) c = POINT_NOT_STATIONARY;
  else if (PetscAbsReal(val.loss - val.loss_trivial) <= d->classify_trivial_tol * PetscAbsReal(val.loss_trivial)) c = POINT_TRIVIAL_SADDLE; /* also when degenerate (no negative eigenvalue): adding a feature lowers the loss */
  else if (!(val.n_negative > 0)) c = POINT_MINIMUM;
  else c = POINT_SADDLE;
  if (c == POINT_SADDLE || c == POINT_TRIVIAL_SADDLE) PetscCall(PetscSNPrintf(index, sizeof(index), " of index %.0f", (double)val.n_negative));
  PetscCall(PetscPrintf(d->comm, "Point reached: %s%s: loss %.4e (trivial point %.4e), |grad L| %.3e, eigenvalues -/0/+ %.0f/%.0f/%.0f in [%.4e, %.4e], alignment %.3e\n", c == POINT_TRIVIAL_SADDLE ? "trivial saddle" : PointClasses[c], index, (double)val.loss, (double)val.loss_trivial, (double)val.grad_norm, (double)val.n_negative,
                        (double)val.n_zero, (double)val.n_positive, (double)val.lambda_min, (double)val.lambda_max, (double)val.alignment));
  PetscCall(PetscPrintf(d->comm, "CLASSIFY class=%s index=%.0f loss=%.6e loss_trivial=%.6e grad_norm=%.6e lambda_min=%.6e lambda_max=%.6e alignment=%.6e\n", PointClasses[c], (double)val.n_negative, (double)val.loss, (double)val.loss_trivial, (double)val.grad_norm, (double)val.lambda_min, (double)val.lambda_max, (double)val.alignment));
  if (d->spectrum_file[0] && lambda) {
    FILE *f;
    PetscCall(PetscFOpen(d->comm, d->spectrum_file, "w", &f));
    for (PetscInt i = 0; i < d->n_params; i++) PetscCall(PetscFPrintf(d->comm, f, "%.17g\n", (double)lambda[i]));
    PetscCall(PetscFClose(d->comm, f));
  }
  if (lambda_out) {
    for (PetscInt i = 0; i < d->n_params; i++) lambda_out[i] = lambda ? lambda[i] : NAN;
  }
  if (cls) *cls = c;
  if (out) *out = val;
  PetscFunctionReturn(0);
}
