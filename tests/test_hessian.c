/* The exact Hessian of the loss (ObjectiveHessianVector, forward-over-reverse):
     (a) H v against central differences of the gradient along v (relative to |H v|), for
         networks of 1 to 3 hidden layers, d = 1 and 2, on the PINN (poisson, heat, the
         nonlinear Poisson with its residual curvature), regression and deep Ritz (ritz1d,
         ritz_poisson) losses, tanh, sin and sigmoid;
     (b) the Gauss-Newton part (gauss_newton) equals J~^T (J~ v) formed from the stored rows,
         and for deep Ritz the Gram matrix's G v;
     (c) the assembled H from P products is symmetric before symmetrisation (to 1e-10 of its
         largest entry), ObjectiveHessianAssemble (one pass) is bitwise the symmetrised products,
         and H - G is what the Gauss-Newton part leaves out: non-zero;
     (d) the products are bitwise the same on any rank count: a checksum of H v over all cases
         is printed by rank 0 (the 1-D Poisson case only up to 2 ranks: it has 2 boundary
         points), which tests/test_newton.sh compares between 1 and 3 ranks. */
/* ranks: 1 2 3 */
#include "stack.h"
#include <engd/rng.h>

typedef struct {
  const char *name;
  const char *options[16];
} Case;

static PetscErrorCode CheckCase(const Case *cs, const char *hidden, const char *act, PetscReal *checksum)
{
  Problem    problem;
  Model      model;
  Objective  objective;
  CurvatureOperator rows;
  PetscInt   P, n_local, n_max;
  PetscReal *theta, *v, *hv, *gv, *gp, *gm, *tp, *jv, *jtjv, *H, loss, h = 1e-5;
  PetscReal  err = 0.0, scale = 0.0, err_gn = 0.0, scale_gn = 0.0, asym = 0.0, hmax = 0.0, diff_gn = 0.0;
  PetscBool  energy;
  const char *common[] = {"-net_hidden", hidden, "-net_activation", act, NULL};

  PetscFunctionBeginUser;
  PetscCall(TestSetOptions(cs->options, PETSC_TRUE));
  PetscCall(TestSetOptions(common, PETSC_TRUE));
  PetscCall(BuildStack(PETSC_COMM_WORLD, &problem, &model, &objective));
  PetscCall(ModelGetNumParameters(model, &P));
  PetscCall(ModelGetParameters(model, &theta));
  PetscCall(ObjectiveHasEnergyTerms(objective, &energy));
  PetscCall(PetscMalloc6(P, &v, P, &hv, P, &gv, P, &gp, P, &gm, P, &tp));
  for (PetscInt k = 0; k < P; k++) v[k] = 2.0 * RngUniform(7, 3, (uint64_t)k) - 1.0;
  PetscCall(ObjectiveHessianVector(objective, theta, v, PETSC_FALSE, hv));
  for (PetscInt k = 0; k < P; k++) tp[k] = theta[k] + h * v[k];
  PetscCall(ObjectiveGradient(objective, tp, gp, &loss));
  for (PetscInt k = 0; k < P; k++) tp[k] = theta[k] - h * v[k];
  PetscCall(ObjectiveGradient(objective, tp, gm, &loss));
  for (PetscInt k = 0; k < P; k++) {
    err   = PetscMax(err, PetscAbsReal(hv[k] - (gp[k] - gm[k]) / (2 * h)));
    scale = PetscMax(scale, PetscAbsReal(hv[k]));
    *checksum += hv[k] * (PetscReal)(k + 1);
  }
  CHECK(err <= 1e-6 * scale, "%s %s %s: H v differs from differences of the gradient by %.2e (|H v| %.2e)", cs->name, hidden, act, (double)err, (double)scale);

  /* (b) Gauss-Newton part against the rows */
  PetscCall(ObjectiveHessianVector(objective, theta, v, PETSC_TRUE, gv));
  PetscCall(ObjectiveRowsCreate(objective, &rows));
  PetscCall(ObjectiveRowsCompute(objective, theta, &rows, &loss));
  PetscCall(ObjectiveGetLocalRows(objective, &n_local, &n_max));
  PetscCall(PetscCalloc2(n_max, &jv, P, &jtjv));
  for (PetscInt r = 0; r < n_local; r++)
    for (PetscInt k = 0; k < P; k++) jv[r] += rows.jac_t[r * P + k] * v[k];
  for (PetscInt r = 0; r < n_local; r++)
    for (PetscInt k = 0; k < P; k++) jtjv[k] += rows.jac_t[r * P + k] * jv[r];
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, jtjv, P, MPIU_REAL, MPIU_SUM, PETSC_COMM_WORLD));
  for (PetscInt k = 0; k < P; k++) {
    err_gn   = PetscMax(err_gn, PetscAbsReal(gv[k] - jtjv[k]));
    scale_gn = PetscMax(scale_gn, PetscAbsReal(jtjv[k]));
  }
  CHECK(err_gn <= 1e-11 * scale_gn, "%s %s %s: the Gauss-Newton part differs from J~^T J~ v by %.2e (|J~^T J~ v| %.2e)", cs->name, hidden, act, (double)err_gn, (double)scale_gn);
  PetscCall(PetscFree2(jv, jtjv));
  PetscCall(ObjectiveRowsDestroy(&rows));

  /* (c) assembled, before symmetrisation */
  PetscCall(PetscMalloc1(P * P, &H));
  for (PetscInt j = 0; j < P; j++) {
    for (PetscInt k = 0; k < P; k++) v[k] = k == j ? 1.0 : 0.0;
    PetscCall(ObjectiveHessianVector(objective, theta, v, PETSC_FALSE, H + j * P));
    PetscCall(ObjectiveHessianVector(objective, theta, v, PETSC_TRUE, gv));
    for (PetscInt k = 0; k < P; k++) diff_gn = PetscMax(diff_gn, PetscAbsReal(H[k + j * P] - gv[k]));
  }
  for (PetscInt j = 0; j < P; j++)
    for (PetscInt i = 0; i < P; i++) {
      asym = PetscMax(asym, PetscAbsReal(H[i + j * P] - H[j + i * P]));
      hmax = PetscMax(hmax, PetscAbsReal(H[i + j * P]));
    }
  CHECK(asym <= 1e-10 * hmax, "%s %s %s: the assembled Hessian is not symmetric: %.2e of %.2e", cs->name, hidden, act, (double)asym, (double)hmax);
  CHECK(diff_gn > 1e-8 * hmax, "%s %s %s: H equals its Gauss-Newton part (%.2e): the residual curvature is missing", cs->name, hidden, act, (double)diff_gn);
  { /* the one-pass assembly: bitwise the symmetrised columns */
    PetscReal *Ha;
    PetscInt   n_differ = 0;
    PetscCall(PetscMalloc1(P * P, &Ha));
    PetscCall(ObjectiveHessianAssemble(objective, theta, PETSC_FALSE, Ha));
    for (PetscInt j = 0; j < P; j++)
      for (PetscInt i = 0; i < P; i++) {
        const PetscReal sym = i == j ? H[i + j * P] : 0.5 * (H[PetscMin(i, j) + PetscMax(i, j) * P] + H[PetscMax(i, j) + PetscMin(i, j) * P]);
        if (Ha[i + j * P] != sym) n_differ++;
      }
    CHECK(n_differ == 0, "%s %s %s: ObjectiveHessianAssemble differs from the symmetrised products in %" PetscInt_FMT " entries", cs->name, hidden, act, n_differ);
    PetscCall(PetscFree(Ha));
  }
  PetscCall(PetscFree(H));
  PetscCall(PetscFree6(v, hv, gv, gp, gm, tp));
  PetscCall(DestroyStack(&problem, &model, &objective));
  PetscCall(TestSetOptions(common, PETSC_FALSE));
  PetscCall(TestSetOptions(cs->options, PETSC_FALSE));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  const Case cases[] = {
    {"poisson 1-D", {"-problem", "poisson", "-dim", "1", "-n_interior", "23", "-n_boundary", "2", "-seed", "3", "-sampler", "uniform", NULL}},
    {"poisson 2-D", {"-problem", "poisson", "-dim", "2", "-n_interior", "30", "-n_boundary", "12", "-seed", "4", "-sampler", "uniform", NULL}},
    {"heat 1+1-D", {"-problem", "heat", "-dim", "2", "-seed", "5", "-sampler", "uniform", NULL}},
    {"nonlinear 2-D", {"-problem", "nonlinear_poisson", "-dim", "2", "-n_interior", "25", "-n_boundary", "12", "-seed", "6", "-sampler", "uniform", NULL}},
    {"regression 1-D", {"-problem", "regression", "-dim", "1", "-n_data", "31", "-seed", "7", "-sampler", "uniform", NULL}},
    {"regression 2-D", {"-problem", "regression", "-dim", "2", "-n_data", "40", "-regression_target", "sin_sum", "-seed", "8", "-sampler", "uniform", NULL}},
    {"ritz1d", {"-problem", "ritz1d", "-seed", "9", NULL}},
    {"ritz_poisson 2-D", {"-problem", "ritz_poisson", "-dim", "2", "-seed", "10", NULL}},
  };
  const char *hidden[] = {"5", "4,3", "3,4,3"};
  const char *acts[]   = {"tanh", "sin", "sigmoid"};
  PetscReal   checksum = 0.0;
  PetscMPIInt size;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  TestSetWatchdog(600);
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
    if (c > 0 || size <= 2) /* the 1-D Poisson problem has 2 boundary points: at most 2 ranks */
    for (PetscInt depth = 0; depth < 3; depth++) PetscCall(CheckCase(&cases[c], hidden[depth], acts[(c + depth) % 3], &checksum));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "H v checksum %.17g\n", (double)checksum));
  return TestFinish();
}
