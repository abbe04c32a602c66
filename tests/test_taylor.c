/* Taylor-mode forward pass and its reverse passes against finite differences.
   For networks of 1, 2 and 3 hidden layers, input dimensions 1, 2, 5 and every activation:
     - the value channel agrees across orders 0, 1, 2 and the first-derivative channels across
       orders 1, 2;
     - d_i u against central differences of u in x_i;
     - sum_i c_i d_ii u (random positive c, and c = a unit vector, which has zero weights) against
       second-order central differences of u and central differences of the d_i u channels;
     - trace_weights NULL gives the same trace channel as all ones;
     - ModelBackwardRows against central differences in theta of sum_s cot_s out_s, and
       ModelBackwardGradient against the sum of the rows. */
/* ranks: 1 */
#include "networks.h"

#define NB 5 /* points per check */

typedef struct {
  PetscReal value_orders, deriv_orders, first_fd, trace_fd2, trace_fd1, unit_fd1, null_ones, rows_fd, grad_rows;
} MaxErrors;

/* |a - b| / max(|a|, |b|, floor), tracked as the largest seen */
static PetscReal Track(PetscReal *max_err, PetscReal a, PetscReal b, PetscReal floor)
{
  PetscReal e = RelDiff(a, b, floor);
  if (!(e <= *max_err)) *max_err = e; /* NaN sticks */
  return e;
}

static PetscErrorCode CheckConfig(PetscInt n_hidden, const PetscInt widths[], PetscInt d, const char *act, uint64_t seed, void *ctx)
{
  MaxErrors *me = (MaxErrors *)ctx;
  Model      model;
  PetscInt   P, S2 = ModelNumChannels(d, 2), S1 = ModelNumChannels(d, 1);
  PetscReal *theta, *x, *xs, *c, *ones, *unit, *out0, *out1, *out2, *out2n, *out2u, *op, *om, *op1, *om1, *jac_t, *cot, *grad, *fd;
  const PetscReal h1 = 1e-5, h2 = 1e-4, ht = 1e-6;
  char       desc[128];

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(desc, sizeof(desc), "%s d=%" PetscInt_FMT " depth=%" PetscInt_FMT, act, d, n_hidden));
  PetscCall(TestCreateModel(d, n_hidden, widths, act, &model));
  {
    ModelActivation a;
    PetscCall(ModelGetActivation(model, &a));
    CHECK(!strcmp(ModelActivations[a], act), "%s: activation is %s", desc, ModelActivations[a]);
  }
  PetscCall(ModelGetNumParameters(model, &P));
  PetscCall(PetscMalloc6(P, &theta, d * NB, &x, d * NB, &xs, d, &c, d, &ones, d, &unit));
  PetscCall(PetscMalloc6(NB, &out0, S1 * NB, &out1, S2 * NB, &out2, S2 * NB, &out2n, S2 * NB, &out2u, S2 * NB, &op));
  PetscCall(PetscMalloc6(S2 * NB, &om, S1 * NB, &op1, S1 * NB, &om1, P * NB, &jac_t, S2 * NB, &cot, P, &grad));
  PetscCall(PetscMalloc1(P * NB, &fd));

  /* theta twice the default scale so that the activations work in their nonlinear range */
  PetscCall(ModelInitializeParameters(model, (PetscInt)seed, theta));
  for (PetscInt k = 0; k < P; k++) theta[k] *= 2.0;
  for (PetscInt k = 0; k < d * NB; k++) x[k] = TestUniform(seed, 1, (uint64_t)k, -1.0, 1.0);
  for (PetscInt i = 0; i < d; i++) {
    c[i]    = TestUniform(seed, 2, (uint64_t)i, 0.2, 2.0);
    ones[i] = 1.0;
    unit[i] = i == d - 1 ? 1.0 : 0.0;
  }

  PetscCall(ModelForward(model, theta, NB, x, 0, c, PETSC_FALSE, out0));
  PetscCall(ModelForward(model, theta, NB, x, 1, c, PETSC_FALSE, out1));
  PetscCall(ModelForward(model, theta, NB, x, 2, c, PETSC_FALSE, out2));
  PetscCall(ModelForward(model, theta, NB, x, 2, NULL, PETSC_FALSE, out2n));
  PetscCall(ModelForward(model, theta, NB, x, 2, ones, PETSC_FALSE, op));
  PetscCall(ModelForward(model, theta, NB, x, 2, unit, PETSC_FALSE, out2u));

  for (PetscInt p = 0; p < NB; p++) {
    PetscReal e;
    e = PetscMax(Track(&me->value_orders, out0[p], out1[p], 1.0), Track(&me->value_orders, out0[p], out2[p], 1.0));
    CHECK(e < 1e-13, "%s point %" PetscInt_FMT ": value differs across orders: %.1e", desc, p, (double)e);
    for (PetscInt i = 0; i < d; i++) {
      e = Track(&me->deriv_orders, out1[(1 + i) * NB + p], out2[(1 + i) * NB + p], 1.0);
      CHECK(e < 1e-13, "%s point %" PetscInt_FMT ": d_%" PetscInt_FMT " u differs between orders 1 and 2: %.1e", desc, p, i, (double)e);
    }
    for (PetscInt s = 0; s < S2; s++) {
      e = Track(&me->null_ones, out2n[s * NB + p], op[s * NB + p], 1e-300);
      CHECK(e < 1e-14, "%s point %" PetscInt_FMT " channel %" PetscInt_FMT ": trace_weights NULL differs from all ones: %.1e", desc, p, s, (double)e);
    }
  }

  /* derivatives in x: perturb coordinate i of every point */
  {
    PetscReal trace_fd2[NB] = {0}, trace_fd1[NB] = {0}, unit_fd1[NB] = {0};
    for (PetscInt i = 0; i < d; i++) {
      /* first derivatives and the d_i u channels, step h1 */
      PetscCall(PetscArraycpy(xs, x, d * NB));
      for (PetscInt p = 0; p < NB; p++) xs[p * d + i] = x[p * d + i] + h1;
      PetscCall(ModelForward(model, theta, NB, xs, 1, c, PETSC_FALSE, op1));
      for (PetscInt p = 0; p < NB; p++) xs[p * d + i] = x[p * d + i] - h1;
      PetscCall(ModelForward(model, theta, NB, xs, 1, c, PETSC_FALSE, om1));
      for (PetscInt p = 0; p < NB; p++) {
        const PetscReal du = (op1[p] - om1[p]) / (2 * h1), dii = (op1[(1 + i) * NB + p] - om1[(1 + i) * NB + p]) / (2 * h1);
        const PetscReal e  = Track(&me->first_fd, out1[(1 + i) * NB + p], du, 1e-3);
        CHECK(e < 1e-7, "%s point %" PetscInt_FMT ": d_%" PetscInt_FMT " u = %g, central difference %g: error %.1e", desc, p, i, (double)out1[(1 + i) * NB + p], (double)du, (double)e);
        trace_fd1[p] += c[i] * dii;
        unit_fd1[p] += unit[i] * dii;
      }
      /* second differences of u, step h2 */
      for (PetscInt p = 0; p < NB; p++) xs[p * d + i] = x[p * d + i] + h2;
      PetscCall(ModelForward(model, theta, NB, xs, 0, c, PETSC_FALSE, op));
      for (PetscInt p = 0; p < NB; p++) xs[p * d + i] = x[p * d + i] - h2;
      PetscCall(ModelForward(model, theta, NB, xs, 0, c, PETSC_FALSE, om));
      for (PetscInt p = 0; p < NB; p++) trace_fd2[p] += c[i] * (op[p] - 2 * out0[p] + om[p]) / (h2 * h2);
    }
    for (PetscInt p = 0; p < NB; p++) {
      const PetscReal T = out2[(S2 - 1) * NB + p], Tu = out2u[(S2 - 1) * NB + p];
      PetscReal       e;
      e = Track(&me->trace_fd2, T, trace_fd2[p], 1.0);
      CHECK(e < 1e-5, "%s point %" PetscInt_FMT ": trace %g, second differences %g: error %.1e", desc, p, (double)T, (double)trace_fd2[p], (double)e);
      e = Track(&me->trace_fd1, T, trace_fd1[p], 1e-3);
      CHECK(e < 1e-7, "%s point %" PetscInt_FMT ": trace %g, differences of d_i u %g: error %.1e", desc, p, (double)T, (double)trace_fd1[p], (double)e);
      e = Track(&me->unit_fd1, Tu, unit_fd1[p], 1e-3);
      CHECK(e < 1e-7, "%s point %" PetscInt_FMT ": trace with weights e_%" PetscInt_FMT " %g, differences %g: error %.1e", desc, p, d - 1, (double)Tu, (double)unit_fd1[p], (double)e);
    }
  }

  /* reverse passes: rows of sum_s cot_s out_s against central differences in theta */
  for (PetscInt order = 0; order <= 2; order++) {
    const PetscInt S = ModelNumChannels(d, order);
    PetscReal      gsum_abs = 0.0, gerr = 0.0;

    for (PetscInt k = 0; k < S * NB; k++) cot[k] = TestUniform(seed, 10 + order, (uint64_t)k, -1.0, 1.0);
    PetscCall(ModelForward(model, theta, NB, x, order, c, PETSC_TRUE, op));
    PetscCall(ModelBackwardRows(model, theta, cot, jac_t, P));
    PetscCall(PetscArrayzero(grad, P));
    PetscCall(ModelBackwardGradient(model, theta, cot, grad));
    for (PetscInt k = 0; k < P; k++) {
      PetscReal sum = 0.0, sum_abs = 0.0;
      for (PetscInt p = 0; p < NB; p++) {
        sum += jac_t[p * P + k];
        sum_abs += PetscAbsReal(jac_t[p * P + k]);
      }
      gerr     = PetscMax(gerr, PetscAbsReal(grad[k] - sum));
      gsum_abs = PetscMax(gsum_abs, sum_abs);
    }
    gerr /= PetscMax(gsum_abs, 1e-300);
    if (!(gerr <= me->grad_rows)) me->grad_rows = gerr;
    CHECK(gerr < 1e-13, "%s order %" PetscInt_FMT ": ModelBackwardGradient differs from the sum of the rows: %.1e", desc, order, (double)gerr);

    for (PetscInt k = 0; k < P; k++) {
      const PetscReal t0 = theta[k];
      theta[k]           = t0 + ht;
      PetscCall(ModelForward(model, theta, NB, x, order, c, PETSC_FALSE, op));
      theta[k] = t0 - ht;
      PetscCall(ModelForward(model, theta, NB, x, order, c, PETSC_FALSE, om));
      theta[k] = t0;
      for (PetscInt p = 0; p < NB; p++) {
        PetscReal fp = 0.0, fm = 0.0;
        for (PetscInt s = 0; s < S; s++) {
          fp += cot[s * NB + p] * op[s * NB + p];
          fm += cot[s * NB + p] * om[s * NB + p];
        }
        fd[p * P + k] = (fp - fm) / (2 * ht);
      }
    }
    for (PetscInt p = 0; p < NB; p++) {
      PetscReal row_norm = 0.0, err = 0.0;
      for (PetscInt k = 0; k < P; k++) {
        row_norm = PetscMax(row_norm, PetscAbsReal(jac_t[p * P + k]));
        err      = PetscMax(err, PetscAbsReal(jac_t[p * P + k] - fd[p * P + k]));
      }
      err /= PetscMax(row_norm, 1e-3);
      if (!(err <= me->rows_fd)) me->rows_fd = err;
      CHECK(err < 1e-6, "%s order %" PetscInt_FMT " point %" PetscInt_FMT ": Jacobian row differs from central differences in theta: %.1e", desc, order, p, (double)err);
    }
  }

  PetscCall(PetscFree6(theta, x, xs, c, ones, unit));
  PetscCall(PetscFree6(out0, out1, out2, out2n, out2u, op));
  PetscCall(PetscFree6(om, op1, om1, jac_t, cot, grad));
  PetscCall(PetscFree(fd));
  PetscCall(ModelDestroy(&model));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  MaxErrors me = {0};

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(TestForEachNetwork(3, CheckConfig, &me, NULL));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "27 networks (depth 1-3, d = 1, 2, 5, tanh/sin/sigmoid), largest errors:\n"));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  value across orders %.1e, d_i u across orders %.1e, NULL vs ones trace weights %.1e\n", (double)me.value_orders, (double)me.deriv_orders, (double)me.null_ones));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  d_i u vs central differences (h 1e-5) %.1e (tol 1e-7)\n", (double)me.first_fd));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  trace vs second differences (h 1e-4) %.1e (tol 1e-5), vs differences of d_i u %.1e (tol 1e-7), unit weights %.1e\n", (double)me.trace_fd2, (double)me.trace_fd1, (double)me.unit_fd1));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  Jacobian rows vs differences in theta (h 1e-6) %.1e (tol 1e-6), gradient vs summed rows %.1e (tol 1e-13)\n", (double)me.rows_fd, (double)me.grad_rows));
  return TestFinish();
}
