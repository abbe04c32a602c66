/* Forward tangent of the Taylor-mode forward pass in parameter space: with theta -> theta + t v
   (V_l, vb_l the parts of v at W_l, b_l), dots are d/dt at t = 0. A linear layer gives
     ydot = W zdot + V z (+ vb on the value channel),
   a hidden layer's activation (sigma^(k) at y_v, c the trace weights)
     zdot_v = sigma' ydot_v
     zdot_i = sigma'' ydot_v y_i + sigma' ydot_i
     zdot_T = sigma'' ydot_v y_T + sigma' ydot_T + sigma''' ydot_v sum_i c_i y_i^2 + 2 sigma'' sum_i c_i y_i ydot_i,
   and the input channels (x, e_i, 0) do not depend on theta, so in the first layer
   y_i = w_i, ydot_i = v_i (columns i of W_1 and V_1) and y_T = ydot_T = 0. */
#include "taylor.h"
#include <petscblaslapack.h>

/* ydot = W zdot + V z (+ vb on the value channel) on the nb*S columns. */
static PetscErrorCode LinearTangent(PetscInt n_out, PetscInt n_in, PetscInt nb, PetscInt S, const PetscReal *W, const PetscReal *V, const PetscReal *vb, const PetscReal *z, const PetscReal *zdot, PetscReal *ydot)
{
  PetscBLASInt    m, n, k;
  const PetscReal one = 1.0;

  PetscFunctionBegin;
  PetscCall(ModelLinearForward_Private(n_out, n_in, nb, S, V, vb, z, ydot));
  PetscCall(PetscBLASIntCast(n_out, &m));
  PetscCall(PetscBLASIntCast(nb * S, &n));
  PetscCall(PetscBLASIntCast(n_in, &k));
  if (n_out == 1) {
    const PetscBLASInt one_i = 1;
    PetscCallBLAS("BLASgemv", BLASgemv_("T", &k, &n, &one, zdot, &k, W, &one_i, &one, ydot, &one_i));
  } else PetscCallBLAS("BLASgemm", BLASgemm_("N", "N", &m, &n, &k, &one, W, &m, zdot, &k, &one, ydot, &m));
  PetscCall(PetscLogFlops(2.0 * n_out * n_in * nb * S));
  PetscFunctionReturn(0);
}

/* The first hidden layer, from ydot_v = V_1 x + vb_1 (n x nb): with q = sum_i c_i w_i^2 and
   r = sum_i c_i w_i v_i per neuron, zdot_i = sigma'' ydot_v w_i + sigma' v_i and
   zdot_T = sigma''' ydot_v q + 2 sigma'' r. */
static PetscErrorCode FirstActivationTangent(Model m, ModelTape tape, const PetscReal *theta, const PetscReal *v, const PetscReal *ydot, PetscReal *zdot)
{
  const PetscInt   n = m->widths[1], d = m->dim, nb = tape->nb, order = tape->order, len = n * nb;
  const PetscReal *W = theta + m->w_offset[1], *V = v + m->w_offset[1], *c = tape->trace_weights;
  const PetscReal *s1 = tape->d1[1], *s2 = tape->d2[1], *s3 = tape->d3[1];
  PetscReal       *q = tape->work, *r = tape->work + n;

  PetscFunctionBegin;
  for (PetscInt k = 0; k < len; k++) zdot[k] = s1[k] * ydot[k];
  for (PetscInt i = 0; order >= 1 && i < d; i++) {
    const PetscReal *w = W + i * n, *vi = V + i * n;
    PetscReal       *zi = zdot + (1 + i) * len;
    for (PetscInt p = 0; p < nb; p++)
      for (PetscInt k = 0; k < n; k++) zi[p * n + k] = s2[p * n + k] * ydot[p * n + k] * w[k] + s1[p * n + k] * vi[k];
  }
  if (order == 2) {
    PetscReal *zT = zdot + (1 + d) * len;
    for (PetscInt k = 0; k < n; k++) q[k] = r[k] = 0.0;
    for (PetscInt i = 0; i < d; i++)
      for (PetscInt k = 0; k < n; k++) {
        q[k] += c[i] * W[i * n + k] * W[i * n + k];
        r[k] += c[i] * W[i * n + k] * V[i * n + k];
      }
    for (PetscInt p = 0; p < nb; p++)
      for (PetscInt k = 0; k < n; k++) zT[p * n + k] = s3[p * n + k] * ydot[p * n + k] * q[k] + 2.0 * s2[p * n + k] * r[k];
  }
  PetscCall(PetscLogFlops((1.0 + (order >= 1 ? 4.0 * d : 0.0) + (order == 2 ? 6.0 : 0.0)) * len));
  PetscFunctionReturn(0);
}

static PetscErrorCode ActivationTangent(Model m, ModelTape tape, PetscInt l, const PetscReal *ydot, PetscReal *zdot)
{
  const PetscInt   n = m->widths[l], d = m->dim, nb = tape->nb, order = tape->order, len = n * nb;
  const PetscReal *y = tape->pre[l], *s1 = tape->d1[l], *s2 = tape->d2[l], *s3 = tape->d3[l], *c = tape->trace_weights;
  const PetscReal *yT = y + (1 + d) * len, *ydotT = ydot + (1 + d) * len;
  PetscReal       *zT = zdot + (1 + d) * len;

  PetscFunctionBegin;
  for (PetscInt k = 0; k < len; k++) zdot[k] = s1[k] * ydot[k];
  if (order == 2)
    for (PetscInt k = 0; k < len; k++) zT[k] = s2[k] * ydot[k] * yT[k] + s1[k] * ydotT[k];
  for (PetscInt i = 0; order >= 1 && i < d; i++) {
    const PetscReal *yi = y + (1 + i) * len, *ydoti = ydot + (1 + i) * len, ci = order == 2 ? c[i] : 0.0;
    PetscReal       *zi = zdot + (1 + i) * len;
    for (PetscInt k = 0; k < len; k++) zi[k] = s2[k] * ydot[k] * yi[k] + s1[k] * ydoti[k];
    if (ci != 0.0)
      for (PetscInt k = 0; k < len; k++) zT[k] += ci * (s3[k] * ydot[k] * yi[k] + 2.0 * s2[k] * ydoti[k]) * yi[k];
  }
  PetscCall(PetscLogFlops((1.0 + (order >= 1 ? 4.0 * d : 0.0) + (order == 2 ? 5.0 + 7.0 * d : 0.0)) * len));
  PetscFunctionReturn(0);
}

PetscErrorCode ModelTangent_Private(Model m, ModelTape tape, const PetscReal *theta, const PetscReal *v, PetscReal *dout, PetscReal **ydot, PetscReal **zdot)
{
  const PetscInt L = m->n_layers;

  PetscFunctionBegin;
  PetscCall(ModelTapeCheck_Private(m, tape, PETSC_TRUE, "tangent"));
  /* ydot in bar_a, zdot in bar_b (or the layers' own buffers); the output layer's ydot is dout */
  PetscCall(ModelLinearForward_Private(m->widths[1], m->dim, tape->nb, 1, v + m->w_offset[1], v + m->b_offset[1], tape->x_block, ydot ? ydot[1] : tape->bar_a));
  for (PetscInt l = 1; l < L; l++) {
    PetscReal *y_in = ydot ? ydot[l] : tape->bar_a, *z_out = zdot ? zdot[l] : tape->bar_b;
    if (l == 1) PetscCall(FirstActivationTangent(m, tape, theta, v, y_in, z_out));
    else PetscCall(ActivationTangent(m, tape, l, y_in, z_out));
    PetscCall(LinearTangent(m->widths[l + 1], m->widths[l], tape->nb, tape->n_channels, theta + m->w_offset[l + 1], v + m->w_offset[l + 1], v + m->b_offset[l + 1], tape->post[l], z_out, l + 1 == L ? dout : (ydot ? ydot[l + 1] : tape->bar_a)));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode ModelTangent(Model m, ModelTape tape, const PetscReal *theta, const PetscReal *v, PetscReal *dout)
{
  PetscFunctionBegin;
  PetscCall(ModelTangent_Private(m, tape, theta, v, dout, NULL, NULL));
  PetscFunctionReturn(0);
}
