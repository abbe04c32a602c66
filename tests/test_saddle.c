/* Saddle diagnostics (diagnostics.h):
     (a) a constructed trivial stationary point of the 1-D regression of sin(2 pi x): first-layer
         weights and output weights zero (constant features tanh(b_i)), the output bias the mean
         of the target, so the residual has zero mean and is orthogonal to the features. The
         gradient vanishes, H has negative eigenvalues (the output weight w_i and the first-layer
         weight of neuron i couple through sum_p r_p x_p != 0 while the w_i diagonal block of
         the first layer is zero), and the classifier says "trivial saddle";
     (b) SLEPc's extreme eigenvalues (-hessian_spectrum lanczos) against the full spectrum (LAPACK)
         at a generic point of the 2-D Poisson PINN (P = 25), to 1e-8 of max |lambda|, and the
         negative ones counted among the 5 smallest. */
/* ranks: 1 2 3 */
#include "stack.h"

static PetscErrorCode Diagnostics(Objective objective, const char *spectrum, HessianDiagnostics *d)
{
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsSetValue(NULL, "-hessian_spectrum", spectrum));
  PetscCall(HessianDiagnosticsCreate(objective, d));
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "test", "test");
  PetscCall(HessianDiagnosticsSetFromOptions(*d, PetscOptionsObject));
  PetscOptionsEnd();
  PetscCall(PetscOptionsClearValue(NULL, "-hessian_spectrum"));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckTrivialSaddle(void)
{
  const char *const        options[] = {"-problem", "regression", "-dim", "1", "-regression_target", "sin_sum", "-regression_frequency", "2", "-n_data", "40", "-sampler", "grid", "-net_hidden", "4", NULL};
  Problem                  problem;
  Model                    model;
  Objective                objective;
  ModelLayout              layout;
  HessianDiagnostics       diag;
  HessianDiagnosticsValues val;
  PointClass               cls;
  PetscInt                 P, b_out;
  PetscReal               *theta, *grad, *e, *hv, loss, gnorm = 0.0;

  PetscFunctionBeginUser;
  PetscCall(TestSetOptions(options, PETSC_TRUE));
  PetscCall(BuildStack(PETSC_COMM_WORLD, &problem, &model, &objective));
  PetscCall(ModelGetNumParameters(model, &P));
  PetscCall(ModelGetParameters(model, &theta));
  PetscCall(ModelGetLayout(model, &layout));
  PetscCall(PetscCalloc3(P, &grad, P, &e, P, &hv));
  PetscCall(PetscArrayzero(theta, P));
  for (PetscInt i = 0; i < layout.widths[1]; i++) theta[layout.b_offset[1] + i] = 0.4 * (PetscReal)i - 0.5;
  /* the best constant: one Newton step in the output bias (the loss is quadratic in it) */
  b_out = layout.b_offset[layout.n_layers];
  PetscCall(ObjectiveGradient(objective, theta, grad, &loss));
  e[b_out] = 1.0;
  PetscCall(ObjectiveHessianVector(objective, theta, e, PETSC_FALSE, hv));
  theta[b_out] -= grad[b_out] / hv[b_out];
  PetscCall(ObjectiveGradient(objective, theta, grad, &loss));
  for (PetscInt k = 0; k < P; k++) gnorm = PetscMax(gnorm, PetscAbsReal(grad[k]));
  CHECK(gnorm < 1e-14, "the trivial point's gradient is not zero: max |dL/dtheta| %.2e", (double)gnorm);
  PetscCall(Diagnostics(objective, "full", &diag));
  PetscCall(HessianDiagnosticsClassify(diag, theta, &cls, &val, NULL));
  CHECK(val.n_negative >= 1, "H at the trivial point has no negative eigenvalue (lambda_min %.3e)", (double)val.lambda_min);
  CHECK(cls == POINT_TRIVIAL_SADDLE, "the classifier says %s at the trivial point", PointClasses[cls]);
  CHECK(PetscAbsReal(val.loss - val.loss_trivial) <= 1e-12 * val.loss, "loss %.15e but the trivial point's %.15e", (double)val.loss, (double)val.loss_trivial);
  CHECK(val.alignment < 1e-12, "the features are not orthogonal to the residual: alignment %.2e", (double)val.alignment);
  PetscCall(HessianDiagnosticsDestroy(&diag));
  PetscCall(PetscFree3(grad, e, hv));
  PetscCall(DestroyStack(&problem, &model, &objective));
  PetscCall(TestSetOptions(options, PETSC_FALSE));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckLanczos(void)
{
  const char *const        options[] = {"-problem", "poisson", "-dim", "2", "-n_interior", "36", "-n_boundary", "20", "-sampler", "grid", "-net_hidden", "6", "-seed", "5", NULL};
  Problem                  problem;
  Model                    model;
  Objective                objective;
  HessianDiagnostics       full, lanczos;
  HessianDiagnosticsValues vf, vl;
  PetscReal               *theta, scale;

  PetscFunctionBeginUser;
  PetscCall(TestSetOptions(options, PETSC_TRUE));
  PetscCall(BuildStack(PETSC_COMM_WORLD, &problem, &model, &objective));
  PetscCall(ModelGetParameters(model, &theta));
  PetscCall(Diagnostics(objective, "full", &full));
  PetscCall(Diagnostics(objective, "lanczos", &lanczos));
  PetscCall(HessianDiagnosticsClassify(full, theta, NULL, &vf, NULL));
  PetscCall(HessianDiagnosticsClassify(lanczos, theta, NULL, &vl, NULL));
  scale = PetscMax(PetscAbsReal(vf.lambda_min), PetscAbsReal(vf.lambda_max));
  CHECK(PetscAbsReal(vf.lambda_min - vl.lambda_min) <= 1e-8 * scale, "Lanczos lambda_min %.10e, the full spectrum's %.10e", (double)vl.lambda_min, (double)vf.lambda_min);
  CHECK(PetscAbsReal(vf.lambda_max - vl.lambda_max) <= 1e-8 * scale, "Lanczos lambda_max %.10e, the full spectrum's %.10e", (double)vl.lambda_max, (double)vf.lambda_max);
  CHECK(vl.n_negative == PetscMin(vf.n_negative, 5), "Lanczos counts %g negative eigenvalues among the 5 smallest, the full spectrum has %g", (double)vl.n_negative, (double)vf.n_negative);
  CHECK(vf.n_negative > 0, "the generic point has no negative curvature (a weak test point)");
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "    lambda_min %.6e / %.6e, lambda_max %.6e / %.6e (full / Lanczos), %g negative\n", (double)vf.lambda_min, (double)vl.lambda_min, (double)vf.lambda_max, (double)vl.lambda_max, (double)vf.n_negative));
  PetscCall(HessianDiagnosticsDestroy(&full));
  PetscCall(HessianDiagnosticsDestroy(&lanczos));
  PetscCall(DestroyStack(&problem, &model, &objective));
  PetscCall(TestSetOptions(options, PETSC_FALSE));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  TestSetWatchdog(300);
  PetscCall(CheckTrivialSaddle());
  PetscCall(CheckLanczos());
  return TestFinish();
}
