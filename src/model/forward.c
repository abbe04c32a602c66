/* Batched Taylor-mode forward pass.

   Per hidden layer, with y the pre-activation channels and c the trace weights:
     value  z = sigma(y_v)
     first  z_i = sigma'(y_v) y_i
     trace  z_T = sigma'(y_v) y_T + sigma''(y_v) sum_i c_i y_i^2 */
#include "taylor.h"
#include <petscblaslapack.h>

PetscErrorCode ModelLinearForward_Private(PetscInt n_out, PetscInt n_in, PetscInt nb, PetscInt S, const PetscReal *W, const PetscReal *b, const PetscReal *z, PetscReal *y)
{
  PetscBLASInt    m, n, k;
  const PetscReal one = 1.0, zero = 0.0;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(n_out, &m));
  PetscCall(PetscBLASIntCast(nb * S, &n));
  PetscCall(PetscBLASIntCast(n_in, &k));
  if (n_out == 1) { /* the scalar output layer: a dgemv is much faster than a 1-row dgemm */
    const PetscBLASInt one_i = 1;
    PetscCallBLAS("BLASgemv", BLASgemv_("T", &k, &n, &one, z, &k, W, &one_i, &zero, y, &one_i));
    for (PetscInt p = 0; p < nb; p++) y[p] += b[0];
  } else {
    PetscCallBLAS("BLASgemm", BLASgemm_("N", "N", &m, &n, &k, &one, W, &m, z, &k, &zero, y, &m));
    for (PetscInt p = 0; p < nb; p++)
      for (PetscInt i = 0; i < n_out; i++) y[p * n_out + i] += b[i];
  }
  PetscCall(PetscLogFlops(2.0 * n_out * n_in * nb * S));
  PetscFunctionReturn(0);
}

/* First layer: the input channels are x, the unit vectors e_i and 0, so only the value channel
   needs a product; its derivative channels are the columns w_i of W_1 for every point and its
   trace channel is 0, which the activation's forward, reverse and tangent passes use directly
   (they are never stored: at d = 100 they would be 100 copies of W_1 per point). */
static PetscErrorCode FirstLayerForward(Model m, const PetscReal *theta, PetscInt nb, const PetscReal *x, PetscReal *y)
{
  const PetscInt   n1 = m->widths[1], d = m->dim;
  const PetscReal *W = theta + m->w_offset[1], *b = theta + m->b_offset[1];

  PetscFunctionBegin;
  PetscCall(ModelLinearForward_Private(n1, d, nb, 1, W, b, x, y));
  PetscFunctionReturn(0);
}

/* In the first layer the derivative channels of y are the columns w_i of W_1 for every point and
   the trace channel is 0, so z_i = sigma' w_i and z_T = sigma'' sum_i c_i w_i^2 need no y. */
static PetscErrorCode FirstActivationForward(Model m, ModelTape tape, const PetscReal *theta, PetscInt nb, PetscInt order, const PetscReal *c)
{
  const PetscInt   n = m->widths[1], d = m->dim, len = n * nb;
  const PetscReal *W = theta + m->w_offset[1], *s1 = tape->d1[1], *s2 = tape->d2[1];
  PetscReal       *z = tape->post[1], *q = tape->bar_a;

  PetscFunctionBegin;
  for (PetscInt i = 0; i < d; i++) {
    const PetscReal *w = W + i * n;
    PetscReal       *zi = z + (1 + i) * len;
    for (PetscInt p = 0; p < nb; p++)
      for (PetscInt k = 0; k < n; k++) zi[p * n + k] = s1[p * n + k] * w[k];
  }
  if (order == 2) {
    PetscReal *zT = z + (1 + d) * len;
    for (PetscInt k = 0; k < n; k++) q[k] = 0.0;
    for (PetscInt i = 0; i < d; i++)
      for (PetscInt k = 0; k < n; k++) q[k] += TraceWeight(c, i) * W[i * n + k] * W[i * n + k];
    for (PetscInt p = 0; p < nb; p++)
      for (PetscInt k = 0; k < n; k++) zT[p * n + k] = s2[p * n + k] * q[k];
  }
  PetscCall(PetscLogFlops((order == 2 ? 2.0 + d : 1.0 * d) * len));
  PetscFunctionReturn(0);
}

static PetscErrorCode ActivationForward(Model m, ModelTape tape, const PetscReal *theta, PetscInt l, PetscInt nb, PetscInt order, const PetscReal *c, PetscBool keep_tape)
{
  const PetscInt   n = m->widths[l], d = m->dim, len = n * nb;
  const PetscReal *y = tape->pre[l];
  PetscReal       *z = tape->post[l], *s1 = tape->d1[l], *s2 = tape->d2[l], *s3 = tape->d3[l];

  PetscFunctionBegin;
  PetscCall(ActivationEvaluate(m->activation, len, y, z, order >= 1 || keep_tape ? s1 : NULL, order == 2 || (keep_tape && order == 1) ? s2 : NULL, keep_tape && order == 2 ? s3 : NULL));
  if (order == 0) PetscFunctionReturn(0);
  if (l == 1) {
    PetscCall(FirstActivationForward(m, tape, theta, nb, order, c));
    PetscFunctionReturn(0);
  }
  if (order == 2) {
    const PetscReal *yT = y + (1 + d) * len;
    PetscReal       *zT = z + (1 + d) * len;
    for (PetscInt k = 0; k < len; k++) zT[k] = s1[k] * yT[k];
  }
  for (PetscInt i = 0; i < d; i++) { /* one pass per coordinate: z_i and its trace term */
    const PetscReal *yi = y + (1 + i) * len, ci = order == 2 ? TraceWeight(c, i) : 0.0;
    PetscReal       *zi = z + (1 + i) * len, *zT = z + (1 + d) * len;
    if (ci == 0.0)
      for (PetscInt k = 0; k < len; k++) zi[k] = s1[k] * yi[k];
    else
      for (PetscInt k = 0; k < len; k++) {
        zi[k] = s1[k] * yi[k];
        zT[k] += ci * s2[k] * yi[k] * yi[k];
      }
  }
  PetscCall(PetscLogFlops((order == 2 ? 4.0 * d + 2 : 1.0 * d) * len));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckBlock(Model m, PetscInt nb, PetscInt order)
{
  PetscFunctionBegin;
  PetscCheck(nb >= 0 && nb <= m->block_size, m->comm, PETSC_ERR_ARG_OUTOFRANGE, "Block of %" PetscInt_FMT " points exceeds the block size %" PetscInt_FMT, nb, m->block_size);
  PetscCheck(order >= 0 && order <= 2, m->comm, PETSC_ERR_ARG_OUTOFRANGE, "Derivative order %" PetscInt_FMT " not in 0..2", order);
  PetscFunctionReturn(0);
}

/* Layers 1..L from the first layer's value pre-activations in tape->pre[1]. */
static PetscErrorCode ForwardLayers(Model m, ModelTape tape, const PetscReal *theta, PetscInt nb, PetscInt order, const PetscReal *trace_weights, PetscBool keep_tape, PetscReal *out)
{
  const PetscInt L = m->n_layers, S = ModelNumChannels(m->dim, order);

  PetscFunctionBegin;
  for (PetscInt l = 1; l < L; l++) {
    PetscCall(ActivationForward(m, tape, theta, l, nb, order, trace_weights, keep_tape));
    PetscCall(ModelLinearForward_Private(m->widths[l + 1], m->widths[l], nb, S, theta + m->w_offset[l + 1], theta + m->b_offset[l + 1], tape->post[l], tape->pre[l + 1]));
  }
  PetscCall(PetscArraycpy(out, tape->pre[L], nb * S));
  PetscFunctionReturn(0);
}

/* The pass on tape; without keep_tape only what the outputs need (no sigma'', sigma''' beyond
   the order, no copy of x) and the tape is left invalid. */
static PetscErrorCode Forward(Model m, ModelTape tape, const PetscReal *theta, PetscInt nb, const PetscReal *x, PetscInt order, const PetscReal *trace_weights, PetscBool keep_tape, PetscReal *out)
{
  const PetscInt S = ModelNumChannels(m->dim, order);

  PetscFunctionBegin;
  PetscCall(ModelTapeCheck_Private(m, tape, PETSC_FALSE, "forward"));
  PetscCall(CheckBlock(m, nb, order));
  tape->valid         = PETSC_FALSE;
  tape->hessian_valid = PETSC_FALSE;
  if (nb == 0) PetscFunctionReturn(0);
  PetscCall(FirstLayerForward(m, theta, nb, x, tape->pre[1]));
  PetscCall(ForwardLayers(m, tape, theta, nb, order, trace_weights, keep_tape, out));
  if (keep_tape) {
    tape->valid      = PETSC_TRUE;
    tape->nb         = nb;
    tape->order      = order;
    tape->n_channels = S;
    PetscCall(PetscArraycpy(tape->x_block, x, m->dim * nb));
    for (PetscInt i = 0; i < m->dim; i++) tape->trace_weights[i] = TraceWeight(trace_weights, i);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode ModelForwardTape(Model m, ModelTape tape, const PetscReal *theta, PetscInt nb, const PetscReal *x, PetscInt order, const PetscReal *trace_weights, PetscReal *out)
{
  PetscFunctionBegin;
  PetscCall(Forward(m, tape, theta, nb, x, order, trace_weights, PETSC_TRUE, out));
  PetscFunctionReturn(0);
}

PetscErrorCode ModelForward(Model m, const PetscReal *theta, PetscInt nb, const PetscReal *x, PetscInt order, const PetscReal *trace_weights, PetscBool keep_tape, PetscReal *out)
{
  PetscFunctionBegin;
  PetscCall(Forward(m, m->default_tape, theta, nb, x, order, trace_weights, keep_tape, out));
  PetscFunctionReturn(0);
}

PetscErrorCode ModelFirstLayer(Model m, const PetscReal *theta, PetscInt nb, const PetscReal *x, PetscReal *y)
{
  PetscFunctionBegin;
  PetscCall(CheckBlock(m, nb, 0));
  if (nb > 0) PetscCall(FirstLayerForward(m, theta, nb, x, y));
  PetscFunctionReturn(0);
}

PetscErrorCode ModelForwardFromFirstLayer(Model m, const PetscReal *theta, PetscInt nb, const PetscReal *a, const PetscReal *b, PetscReal eta, PetscInt order, const PetscReal *trace_weights, PetscReal *out)
{
  ModelTape      tape = m->default_tape;
  const PetscInt len  = m->widths[1] * nb;

  PetscFunctionBegin;
  PetscCall(ModelTapeCheck_Private(m, tape, PETSC_FALSE, "forward"));
  PetscCall(CheckBlock(m, nb, order));
  tape->valid         = PETSC_FALSE;
  tape->hessian_valid = PETSC_FALSE;
  if (nb == 0) PetscFunctionReturn(0);
  if (b) {
    PetscReal *y = tape->pre[1];
    for (PetscInt i = 0; i < len; i++) y[i] = a[i] - eta * b[i];
    PetscCall(PetscLogFlops(2.0 * len));
  } else PetscCall(PetscArraycpy(tape->pre[1], a, len));
  PetscCall(ForwardLayers(m, tape, theta, nb, order, trace_weights, PETSC_FALSE, out));
  PetscFunctionReturn(0);
}
