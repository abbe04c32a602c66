/* Forward-over-reverse through the Taylor channels: the tangent, along a parameter direction v,
   of the reverse pass. With cotangents cot(t) = cot + t cot_dot of the output channels,
     hv += d/dt [ J(theta + t v)^T cot(t) ]_{t=0},   J = d out / d theta (all channels),
   which for cot = dl/d out of a loss l(out) and cot_dot = D^2 l . (J v) is the Hessian-vector
   product of l(out(theta)). Dots are d/dt, bars cotangents, sigma^(k) at the value channel y_v.

   The reverse pass of a hidden layer's activation (reverse.c),
     ybar_T = s1 zbar_T
     ybar_i = s1 zbar_i + 2 c_i s2 y_i zbar_T
     ybar_v = s1 zbar_v + s2 sum_i y_i zbar_i + (s2 y_T + s3 sum_i c_i y_i^2) zbar_T,
   is differentiated term by term with s_k' = s_{k+1} ydot_v, so the trace channel needs
   sigma''''. A linear layer gives zbar_dot = W^T ybar_dot + V^T ybar, and its parameters'
   part  d/dt sum_s ybar_s z_s^T = sum_s (ybar_dot_s z_s^T + ybar_s zdot_s^T)  (the bias:
   ybar_dot_v). The forward tangents zdot, ydot of every layer come from the tangent pass
   (tangent.c), kept on the tape. */
#include "taylor.h"
#include <petscblaslapack.h>

enum { HW_YBAR, HW_YBAR_DOT, HW_ZBAR, HW_ZBAR_DOT, HW_Y1, HW_YDOT1, HW_BIG };

static PetscErrorCode HessianAllocate(Model m, ModelTape tape)
{
  const PetscInt L = m->n_layers, B = m->block_size, S = ModelNumChannels(m->dim, 2), big = m->max_width * B * S, small = m->max_width * B;

  PetscFunctionBegin;
  if (tape->hess_work) PetscFunctionReturn(0);
  PetscCall(PetscCalloc2(L + 1, &tape->ydot, L + 1, &tape->zdot));
  for (PetscInt l = 1; l < L; l++) PetscCall(PetscMalloc2(m->widths[l] * B * S, &tape->ydot[l], m->widths[l] * B * S, &tape->zdot[l]));
  PetscCall(PetscMalloc1(HW_BIG * big + 5 * small, &tape->hess_work));
  PetscFunctionReturn(0);
}

PetscErrorCode ModelTapeHessianDestroy_Private(ModelTape tape)
{
  PetscFunctionBegin;
  if (!tape->hess_work) PetscFunctionReturn(0);
  for (PetscInt l = 1; l < tape->model->n_layers; l++) PetscCall(PetscFree2(tape->ydot[l], tape->zdot[l]));
  PetscCall(PetscFree2(tape->ydot, tape->zdot));
  PetscCall(PetscFree(tape->hess_work));
  PetscFunctionReturn(0);
}

PetscErrorCode ModelHessianTangent(Model m, ModelTape tape, const PetscReal *theta, const PetscReal *v, PetscReal *dout)
{
  PetscFunctionBegin;
  PetscCall(ModelTapeCheck_Private(m, tape, PETSC_TRUE, "Hessian tangent"));
  PetscCall(HessianAllocate(m, tape));
  PetscCall(ModelTangent_Private(m, tape, theta, v, dout, tape->ydot, tape->zdot));
  tape->hessian_valid = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* sigma .. sigma'''' at the value channel y (n entries); s0 is scratch. */
static PetscErrorCode ActivationDerivatives(ModelActivation act, PetscInt n, const PetscReal *y, PetscReal *s0, PetscReal *s1, PetscReal *s2, PetscReal *s3, PetscReal *s4)
{
  PetscFunctionBegin;
  PetscCall(ActivationEvaluate(act, n, y, s0, s1, s2, s3));
  for (PetscInt k = 0; k < n; k++) {
    const PetscReal t = s0[k];
    switch (act) {
    case MODEL_ACT_TANH: /* tanh'''' = 8 t (1 - t^2)(2 - 3 t^2) */
      s4[k] = 8.0 * t * s1[k] * (2.0 - 3.0 * t * t);
      break;
    case MODEL_ACT_SIN:
      s4[k] = t;
      break;
    case MODEL_ACT_SIGMOID: /* s'''' = s'''(1 - 2s) - 6 s' s'' */
      s4[k] = s3[k] * (1.0 - 2.0 * t) - 6.0 * s1[k] * s2[k];
      break;
    }
  }
  PetscFunctionReturn(0);
}

/* (zbar, zbar_dot) of a hidden layer's outputs -> (ybar, ybar_dot) of its pre-activations, with
   every channel of y and ydot explicit (n x nb per channel) and sk = sigma^(k)(y_v). */
static void ActivationReverseTangent(PetscInt n, PetscInt nb, PetscInt d, PetscInt order, const PetscReal *c, const PetscReal *y, const PetscReal *yd, const PetscReal *const s[5], const PetscReal *zb, const PetscReal *zbd, PetscReal *yb, PetscReal *ybd)
{
  const PetscInt   len = n * nb, T = (1 + d) * len;
  const PetscReal *s1 = s[1], *s2 = s[2], *s3 = s[3], *s4 = s[4];

  for (PetscInt k = 0; k < len; k++) {
    yb[k]  = s1[k] * zb[k];
    ybd[k] = s2[k] * yd[k] * zb[k] + s1[k] * zbd[k];
  }
  if (order == 2)
    for (PetscInt k = 0; k < len; k++) {
      yb[T + k]  = s1[k] * zb[T + k];
      ybd[T + k] = s2[k] * yd[k] * zb[T + k] + s1[k] * zbd[T + k];
      yb[k] += s2[k] * y[T + k] * zb[T + k];
      ybd[k] += (s3[k] * yd[k] * y[T + k] + s2[k] * yd[T + k]) * zb[T + k] + s2[k] * y[T + k] * zbd[T + k];
    }
  for (PetscInt i = 0; order >= 1 && i < d; i++) {
    const PetscInt  o  = (1 + i) * len;
    const PetscReal ci = order == 2 ? c[i] : 0.0;
    for (PetscInt k = 0; k < len; k++) {
      const PetscReal yi = y[o + k], ydi = yd[o + k], zbi = zb[o + k], zbdi = zbd[o + k];
      yb[o + k]  = s1[k] * zbi;
      ybd[o + k] = s2[k] * yd[k] * zbi + s1[k] * zbdi;
      yb[k] += s2[k] * yi * zbi;
      ybd[k] += s3[k] * yd[k] * yi * zbi + s2[k] * ydi * zbi + s2[k] * yi * zbdi;
      if (ci != 0.0) {
        const PetscReal zbT = zb[T + k], zbdT = zbd[T + k];
        yb[o + k] += 2.0 * ci * s2[k] * yi * zbT;
        ybd[o + k] += 2.0 * ci * (s3[k] * yd[k] * yi * zbT + s2[k] * ydi * zbT + s2[k] * yi * zbdT);
        yb[k] += ci * s3[k] * yi * yi * zbT;
        ybd[k] += ci * (s4[k] * yd[k] * yi * yi + 2.0 * s3[k] * yi * ydi) * zbT + ci * s3[k] * yi * yi * zbdT;
      }
    }
  }
}

/* The first layer's pre-activation channels and their tangents written out: y_i = w_i,
   ydot_i = v_i (columns of W_1, V_1) for every point, y_T = ydot_T = 0. */
static void FirstLayerExplicit(Model m, ModelTape tape, const PetscReal *theta, const PetscReal *v, PetscReal *y, PetscReal *yd)
{
  const PetscInt   n = m->widths[1], nb = tape->nb, d = m->dim, len = n * nb, S = tape->n_channels;
  const PetscReal *W = theta + m->w_offset[1], *V = v + m->w_offset[1];

  for (PetscInt k = 0; k < len; k++) {
    y[k]  = tape->pre[1][k];
    yd[k] = tape->ydot[1][k];
  }
  for (PetscInt i = 0; S > 1 && i < d; i++)
    for (PetscInt p = 0; p < nb; p++)
      for (PetscInt k = 0; k < n; k++) {
        y[(1 + i) * len + p * n + k]  = W[i * n + k];
        yd[(1 + i) * len + p * n + k] = V[i * n + k];
      }
  if (S == d + 2)
    for (PetscInt k = 0; k < len; k++) y[(1 + d) * len + k] = yd[(1 + d) * len + k] = 0.0;
}

PetscErrorCode ModelHessianReverse(Model m, ModelTape tape, const PetscReal *theta, const PetscReal *v, const PetscReal *cot, const PetscReal *cot_dot, PetscReal *hv)
{
  const PetscInt   B = m->block_size, big = m->max_width * B * ModelNumChannels(m->dim, 2), small = m->max_width * B;
  PetscInt         nb, S;
  PetscReal       *buf, *ybar, *ybd, *zbar, *zbd;
  const PetscReal *sk[5];
  ModelLayer       layer;
  PetscBLASInt     M, N, K;
  const PetscReal  one = 1.0;

  PetscFunctionBegin;
  PetscCall(ModelTapeCheck_Private(m, tape, PETSC_TRUE, "Hessian reverse"));
  PetscCheck(tape->hessian_valid, m->comm, PETSC_ERR_ORDER, "The Hessian reverse pass needs a preceding ModelHessianTangent on its tape");
  nb   = tape->nb;
  S    = tape->n_channels;
  buf  = tape->hess_work;
  ybar = buf + HW_YBAR * big;
  ybd  = buf + HW_YBAR_DOT * big;
  zbar = buf + HW_ZBAR * big;
  zbd  = buf + HW_ZBAR_DOT * big;
  for (PetscInt k = 0; k < 5; k++) sk[k] = buf + HW_BIG * big + k * small;
  PetscCall(PetscMemzero(&layer, sizeof(layer)));
  layer.model      = m;
  layer.tape       = tape;
  layer.n_points   = nb;
  layer.n_channels = S;
  layer.order      = tape->order;
  layer.cot        = ybd;
  PetscCall(PetscArraycpy(ybar, cot, nb * S));
  PetscCall(PetscArraycpy(ybd, cot_dot, nb * S));
  for (PetscInt l = m->n_layers; l >= 1; l--) {
    const PetscInt n_out = m->widths[l], n_in = m->widths[l - 1], h = l - 1;
    layer.layer    = l;
    layer.n_in     = n_in;
    layer.n_out    = n_out;
    layer.w_offset = m->w_offset[l];
    layer.b_offset = m->b_offset[l];
    layer.input    = l == 1 ? tape->x_block : tape->post[h];
    /* ybar_dot z^T (with the first layer's constant input channels) and the bias */
    PetscCall(ModelLayerVisitGradient(&layer, hv));
    if (l == 1) break;
    /* + ybar zdot^T */
    PetscCall(PetscBLASIntCast(n_out, &M));
    PetscCall(PetscBLASIntCast(n_in, &N));
    PetscCall(PetscBLASIntCast(nb * S, &K));
    PetscCallBLAS("BLASgemm", BLASgemm_("N", "T", &M, &N, &K, &one, ybar, &M, tape->zdot[h], &N, &one, hv + m->w_offset[l], &M));
    PetscCall(PetscLogFlops(2.0 * n_out * n_in * nb * S));
    PetscCall(ModelLinearBackward_Private(n_out, n_in, nb * S, theta + m->w_offset[l], ybar, zbar));
    PetscCall(ModelLinearBackward_Private(n_out, n_in, nb * S, theta + m->w_offset[l], ybd, zbd));
    PetscCall(ModelLinearBackward_Private(n_out, n_in, nb * S, v + m->w_offset[l], ybar, ybd));
    for (PetscInt k = 0; k < n_in * nb * S; k++) zbd[k] += ybd[k];
    {
      const PetscReal *y = tape->pre[h], *yd = tape->ydot[h];
      if (h == 1) {
        FirstLayerExplicit(m, tape, theta, v, buf + HW_Y1 * big, buf + HW_YDOT1 * big);
        y  = buf + HW_Y1 * big;
        yd = buf + HW_YDOT1 * big;
      }
      PetscCall(ActivationDerivatives(m->activation, n_in * nb, tape->pre[h], (PetscReal *)sk[0], (PetscReal *)sk[1], (PetscReal *)sk[2], (PetscReal *)sk[3], (PetscReal *)sk[4]));
      ActivationReverseTangent(n_in, nb, m->dim, tape->order, tape->trace_weights, y, yd, sk, zbar, zbd, ybar, ybd);
      PetscCall(PetscLogFlops(30.0 * (1 + m->dim) * n_in * nb));
    }
  }
  PetscFunctionReturn(0);
}
