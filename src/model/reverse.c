/* Reverse pass of the Taylor-mode forward pass, with a visitor at every linear layer.

   The reverse of a hidden layer's activation (bars are cotangents, c the trace weights):
     ybar_T = sigma' zbar_T
     ybar_i = sigma' zbar_i + 2 c_i sigma'' y_i zbar_T
     ybar_v = sigma' zbar_v + sigma'' sum_i y_i zbar_i + (sigma'' y_T + sigma''' sum_i c_i y_i^2) zbar_T
   and of a linear layer zbar = W^T ybar on every channel. */
#include "taylor.h"
#include <petscblaslapack.h>

/* zbar (cotangent of layer l's output channels) -> ybar (cotangent of its pre-activation), one
   pass over the block per input coordinate i. In the first layer y_i = w_i (column i of W_1) for
   every point and y_T = 0 (see FirstLayerForward in forward.c). */
static PetscErrorCode ActivationBackward(Model m, ModelTape tape, const PetscReal *theta, PetscInt l, const PetscReal *zbar, PetscReal *ybar)
{
  const PetscInt   n = m->widths[l], d = m->dim, nb = tape->nb, order = tape->order, len = n * nb;
  const PetscReal *y = tape->pre[l], *s1 = tape->d1[l], *s2 = tape->d2[l], *s3 = tape->d3[l], *c = tape->trace_weights;
  const PetscReal *W1 = theta + m->w_offset[1], *zbarT = zbar + (1 + d) * len;
  const PetscBool  first = l == 1 ? PETSC_TRUE : PETSC_FALSE;

  PetscFunctionBegin;
  for (PetscInt k = 0; k < len; k++) ybar[k] = s1[k] * zbar[k];
  if (order == 2 && !first) {
    const PetscReal *yT    = y + (1 + d) * len;
    PetscReal       *ybarT = ybar + (1 + d) * len;
    for (PetscInt k = 0; k < len; k++) {
      ybarT[k] = s1[k] * zbarT[k];
      ybar[k] += s2[k] * yT[k] * zbarT[k];
    }
  } else if (order == 2) { /* y_T = 0: only ybar_T, which the first layer's visitors may read */
    PetscReal *ybarT = ybar + (1 + d) * len;
    for (PetscInt k = 0; k < len; k++) ybarT[k] = s1[k] * zbarT[k];
  }
  for (PetscInt i = 0; order >= 1 && i < d; i++) {
    const PetscReal *zbari = zbar + (1 + i) * len;
    const PetscReal  ci    = order == 2 ? c[i] : 0.0;
    PetscReal       *ybari = ybar + (1 + i) * len;
    if (first) {
      const PetscReal *w = W1 + i * n;
      for (PetscInt p = 0; p < nb; p++) {
        PetscReal       *yb = ybar + p * n, *ybi = ybari + p * n;
        const PetscReal *t1 = s1 + p * n, *t2 = s2 + p * n, *t3 = s3 + p * n, *zbi = zbari + p * n, *zbT = zbarT + p * n;
        if (ci == 0.0)
          for (PetscInt k = 0; k < n; k++) {
            yb[k] += t2[k] * w[k] * zbi[k];
            ybi[k] = t1[k] * zbi[k];
          }
        else
          for (PetscInt k = 0; k < n; k++) {
            yb[k] += t2[k] * w[k] * zbi[k] + ci * t3[k] * w[k] * w[k] * zbT[k];
            ybi[k] = t1[k] * zbi[k] + 2.0 * ci * t2[k] * w[k] * zbT[k];
          }
      }
    } else {
      const PetscReal *yi = y + (1 + i) * len;
      if (ci == 0.0)
        for (PetscInt k = 0; k < len; k++) {
          ybar[k] += s2[k] * yi[k] * zbari[k];
          ybari[k] = s1[k] * zbari[k];
        }
      else
        for (PetscInt k = 0; k < len; k++) {
          ybar[k] += s2[k] * yi[k] * zbari[k] + ci * s3[k] * yi[k] * yi[k] * zbarT[k];
          ybari[k] = s1[k] * zbari[k] + 2.0 * ci * s2[k] * yi[k] * zbarT[k];
        }
    }
  }
  PetscCall(PetscLogFlops(6.0 * (d + 1) * len));
  PetscFunctionReturn(0);
}

/* zbar = W^T ybar on every channel. */
PetscErrorCode ModelLinearBackward_Private(PetscInt n_out, PetscInt n_in, PetscInt cols, const PetscReal *W, const PetscReal *ybar, PetscReal *zbar)
{
  PetscBLASInt    m, n, k;
  const PetscReal one = 1.0, zero = 0.0;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(n_in, &m));
  PetscCall(PetscBLASIntCast(cols, &n));
  PetscCall(PetscBLASIntCast(n_out, &k));
  if (n_out == 1) { /* zbar = w ybar^T: a rank-one update */
    for (PetscInt c = 0; c < cols; c++)
      for (PetscInt j = 0; j < n_in; j++) zbar[c * n_in + j] = W[j] * ybar[c];
  } else PetscCallBLAS("BLASgemm", BLASgemm_("T", "N", &m, &n, &k, &one, W, &k, ybar, &k, &zero, zbar, &m));
  PetscCall(PetscLogFlops(2.0 * n_out * n_in * cols));
  PetscFunctionReturn(0);
}

PetscErrorCode ModelReverse(Model m, ModelTape tape, const PetscReal *theta, const PetscReal *cot, ModelLayerVisitor visit, void *ctx)
{
  PetscReal *ybar, *zbar;
  PetscInt   nb, S;
  ModelLayer layer;

  PetscFunctionBegin;
  PetscCall(ModelTapeCheck_Private(m, tape, PETSC_TRUE, "reverse"));
  nb   = tape->nb;
  S    = tape->n_channels;
  ybar = tape->bar_a;
  zbar = tape->bar_b;
  layer.model      = m;
  layer.tape       = tape;
  layer.n_points   = nb;
  layer.n_channels = S;
  layer.order      = tape->order;
  layer.cot        = ybar;
  PetscCall(PetscArraycpy(ybar, cot, nb * S));
  for (PetscInt l = m->n_layers; l >= 1; l--) {
    layer.layer    = l;
    layer.n_in     = m->widths[l - 1];
    layer.n_out    = m->widths[l];
    layer.w_offset = m->w_offset[l];
    layer.b_offset = m->b_offset[l];
    layer.input    = l == 1 ? tape->x_block : tape->post[l - 1];
    PetscCall(visit(&layer, ctx));
    if (l == 1) break;
    PetscCall(ModelLinearBackward_Private(m->widths[l], m->widths[l - 1], nb * S, theta + m->w_offset[l], ybar, zbar));
    PetscCall(ActivationBackward(m, tape, theta, l - 1, zbar, ybar));
  }
  PetscFunctionReturn(0);
}

/* The first layer's input block (x, e_i, 0): its constant channels 1..d+1 (those of order 2,
   which include order 1's) are written once per block size, the value channel every call. */
PetscErrorCode ModelLayerGetInput(const ModelLayer *layer, const PetscReal **input)
{
  ModelTape      tape = layer->tape;
  const PetscInt d = layer->n_in, nb = layer->n_points;

  PetscFunctionBegin;
  if (layer->layer > 1 || layer->n_channels == 1) {
    *input = layer->input;
    PetscFunctionReturn(0);
  }
  if (!tape->input_explicit) PetscCall(PetscMalloc1(d * layer->model->block_size * ModelNumChannels(d, 2), &tape->input_explicit));
  if (tape->input_explicit_nb != nb) {
    PetscReal *constant = tape->input_explicit + d * nb;
    PetscCall(PetscArrayzero(constant, d * nb * (1 + d)));
    for (PetscInt i = 0; i < d; i++)
      for (PetscInt p = 0; p < nb; p++) constant[(i * nb + p) * d + i] = 1.0;
    tape->input_explicit_nb = nb;
  }
  PetscCall(PetscArraycpy(tape->input_explicit, layer->input, d * nb));
  *input = tape->input_explicit;
  PetscFunctionReturn(0);
}
