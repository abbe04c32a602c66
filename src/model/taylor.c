/* Batched Taylor-mode forward pass and the reverse passes (Jacobian rows, gradient).

   Per hidden layer, with y the pre-activation channels and c the trace weights:
     value  z = sigma(y_v)
     first  z_i = sigma'(y_v) y_i
     trace  z_T = sigma'(y_v) y_T + sigma''(y_v) sum_i c_i y_i^2
   and the reverse pass of that map (bars are cotangents):
     ybar_T = sigma' zbar_T
     ybar_i = sigma' zbar_i + 2 c_i sigma'' y_i zbar_T
     ybar_v = sigma' zbar_v + sigma'' sum_i y_i zbar_i + (sigma'' y_T + sigma''' sum_i c_i y_i^2) zbar_T */
#include <engd/private/modelimpl.h>
#include <petscblaslapack.h>

static inline PetscReal TraceWeight(const PetscReal *c, PetscInt i) { return c ? c[i] : 1.0; }

/* y = W z (+ b on the value channel): one dgemm over all nb*S columns. */
static PetscErrorCode LinearForward(PetscInt n_out, PetscInt n_in, PetscInt nb, PetscInt S, const PetscReal *W, const PetscReal *b, const PetscReal *z, PetscReal *y)
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
   trace channel is 0, which the activation's forward and reverse passes use directly (they are
   never stored: at d = 100 they would be 100 copies of W_1 per point). */
static PetscErrorCode FirstLayerForward(Model m, const PetscReal *theta, PetscInt nb, const PetscReal *x, PetscReal *y)
{
  const PetscInt   n1 = m->widths[1], d = m->dim;
  const PetscReal *W = theta + m->w_offset[1], *b = theta + m->b_offset[1];

  PetscFunctionBegin;
  PetscCall(LinearForward(n1, d, nb, 1, W, b, x, y));
  PetscFunctionReturn(0);
}

/* In the first layer the derivative channels of y are the columns w_i of W_1 for every point and
   the trace channel is 0, so z_i = sigma' w_i and z_T = sigma'' sum_i c_i w_i^2 need no y. */
static PetscErrorCode FirstActivationForward(Model m, const PetscReal *theta, PetscInt nb, PetscInt order, const PetscReal *c)
{
  const PetscInt   n = m->widths[1], d = m->dim, len = n * nb;
  const PetscReal *W = theta + m->w_offset[1], *s1 = m->d1[1], *s2 = m->d2[1];
  PetscReal       *z = m->post[1], *q = m->bar_a;

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

static PetscErrorCode ActivationForward(Model m, const PetscReal *theta, PetscInt l, PetscInt nb, PetscInt order, const PetscReal *c, PetscBool keep_tape)
{
  const PetscInt   n = m->widths[l], d = m->dim, len = n * nb;
  const PetscReal *y = m->pre[l];
  PetscReal       *z = m->post[l], *s1 = m->d1[l], *s2 = m->d2[l], *s3 = m->d3[l];

  PetscFunctionBegin;
  PetscCall(ActivationEvaluate(m->activation, len, y, z, order >= 1 || keep_tape ? s1 : NULL, order == 2 || (keep_tape && order == 1) ? s2 : NULL, keep_tape && order == 2 ? s3 : NULL));
  if (order == 0) PetscFunctionReturn(0);
  if (l == 1) {
    PetscCall(FirstActivationForward(m, theta, nb, order, c));
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

PetscErrorCode ModelForward(Model m, const PetscReal *theta, PetscInt nb, const PetscReal *x, PetscInt order, const PetscReal *trace_weights, PetscBool keep_tape, PetscReal *out)
{
  const PetscInt L = m->n_layers, S = ModelNumChannels(m->dim, order);

  PetscFunctionBegin;
  PetscCheck(nb >= 0 && nb <= m->block_size, m->comm, PETSC_ERR_ARG_OUTOFRANGE, "Block of %" PetscInt_FMT " points exceeds the block size %" PetscInt_FMT, nb, m->block_size);
  PetscCheck(order >= 0 && order <= 2, m->comm, PETSC_ERR_ARG_OUTOFRANGE, "Derivative order %" PetscInt_FMT " not in 0..2", order);
  m->tape_valid = PETSC_FALSE;
  if (nb == 0) PetscFunctionReturn(0);
  PetscCall(FirstLayerForward(m, theta, nb, x, m->pre[1]));
  for (PetscInt l = 1; l < L; l++) {
    PetscCall(ActivationForward(m, theta, l, nb, order, trace_weights, keep_tape));
    PetscCall(LinearForward(m->widths[l + 1], m->widths[l], nb, S, theta + m->w_offset[l + 1], theta + m->b_offset[l + 1], m->post[l], m->pre[l + 1]));
  }
  PetscCall(PetscArraycpy(out, m->pre[L], nb * S));
  if (keep_tape) {
    m->tape_valid    = PETSC_TRUE;
    m->tape_nb       = nb;
    m->tape_order    = order;
    m->tape_channels = S;
    PetscCall(PetscArraycpy(m->x_block, x, m->dim * nb));
    for (PetscInt i = 0; i < m->dim; i++) m->tape_trace_weights[i] = TraceWeight(trace_weights, i);
  }
  PetscFunctionReturn(0);
}

/* zbar (cotangent of layer l's output channels) -> ybar (cotangent of its pre-activation), one
   pass over the block per input coordinate i. In the first layer y_i = w_i (column i of W_1) for
   every point and y_T = 0 (see FirstLayerForward), and ybar_T is not computed: the first layer's
   rows and gradient use only ybar_v and the ybar_i. */
static PetscErrorCode ActivationBackward(Model m, const PetscReal *theta, PetscInt l, const PetscReal *zbar, PetscReal *ybar)
{
  const PetscInt   n = m->widths[l], d = m->dim, nb = m->tape_nb, order = m->tape_order, len = n * nb;
  const PetscReal *y = m->pre[l], *s1 = m->d1[l], *s2 = m->d2[l], *s3 = m->d3[l], *c = m->tape_trace_weights;
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
static PetscErrorCode LinearBackward(PetscInt n_out, PetscInt n_in, PetscInt cols, const PetscReal *W, const PetscReal *ybar, PetscReal *zbar)
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

/* Rows of layer l for every point: W part sum_s ybar[:, s, p] z[:, s, p]^T, bias part ybar_v.
   Channel s of point p is a contiguous column of n values at (s*nb + p)*n, so point p's channels
   form an n x S matrix with leading dimension nb*n: for l > 1 the W part is the product
   Ybar_p Z_p^T of two such matrices, one dgemm per point (faster than loops even for S = 4;
   a loop over channels innermost strides by nb*n doubles per access, which defeats the caches
   once S is large). For the scalar output layer it is sum_s ybar_s z_s, axpys on contiguous z_s. */
static PetscErrorCode LayerRows(Model m, PetscInt l, const PetscReal *ybar, PetscReal *jac_t, PetscInt ld)
{
  const PetscInt  n_out = m->widths[l], n_in = m->widths[l - 1], nb = m->tape_nb, S = m->tape_channels, d = m->dim;
  const PetscBool use_gemm = (l > 1 && n_out > 1) ? PETSC_TRUE : PETSC_FALSE;
  PetscBLASInt    M = 0, N = 0, K = 0, lda = 0, ldb = 0;
  const PetscReal one = 1.0, zero = 0.0;

  PetscFunctionBegin;
  if (use_gemm) {
    PetscCall(PetscBLASIntCast(n_out, &M));
    PetscCall(PetscBLASIntCast(n_in, &N));
    PetscCall(PetscBLASIntCast(S, &K));
    PetscCall(PetscBLASIntCast(nb * n_out, &lda));
    PetscCall(PetscBLASIntCast(nb * n_in, &ldb));
  }
  for (PetscInt p = 0; p < nb; p++) {
    PetscReal *row_W = jac_t + p * ld + m->w_offset[l], *row_b = jac_t + p * ld + m->b_offset[l];
    const PetscReal *ybar_v = ybar + p * n_out;
    PetscCall(PetscArraycpy(row_b, ybar_v, n_out));
    if (l == 1) { /* input channels: x_j on the value channel, 1 on channel e_j, 0 elsewhere */
      for (PetscInt j = 0; j < n_in; j++) {
        PetscReal       *col    = row_W + j * n_out;
        const PetscReal  xj     = m->x_block[p * d + j];
        const PetscReal *ybar_j = ybar + ((1 + j) * nb + p) * n_out;
        if (S > 1)
          for (PetscInt i = 0; i < n_out; i++) col[i] = ybar_v[i] * xj + ybar_j[i];
        else
          for (PetscInt i = 0; i < n_out; i++) col[i] = ybar_v[i] * xj;
      }
    } else if (use_gemm) {
      PetscCallBLAS("BLASgemm", BLASgemm_("N", "T", &M, &N, &K, &one, ybar_v, &lda, m->post[l - 1] + p * n_in, &ldb, &zero, row_W, &M));
    } else { /* the scalar output layer */
      for (PetscInt s = 0; s < S; s++) {
        const PetscReal *z_s = m->post[l - 1] + (s * nb + p) * n_in, ys = ybar[s * nb + p];
        if (s == 0)
          for (PetscInt j = 0; j < n_in; j++) row_W[j] = ys * z_s[j];
        else
          for (PetscInt j = 0; j < n_in; j++) row_W[j] += ys * z_s[j];
      }
    }
  }
  PetscCall(PetscLogFlops(2.0 * nb * n_out * n_in * (l == 1 ? PetscMin(S, 2) : S)));
  PetscFunctionReturn(0);
}

/* Gradient of layer l summed over points: gW += ybar z^T (one dgemm), gb += ybar_v 1. */
static PetscErrorCode LayerGradient(Model m, PetscInt l, const PetscReal *ybar, PetscReal *grad)
{
  const PetscInt   n_out = m->widths[l], n_in = m->widths[l - 1], nb = m->tape_nb, S = m->tape_channels;
  PetscReal       *gW = grad + m->w_offset[l], *gb = grad + m->b_offset[l];
  PetscBLASInt     M, N, K, one_i = 1;
  const PetscReal  one = 1.0;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(n_out, &M));
  PetscCall(PetscBLASIntCast(n_in, &N));
  PetscCall(PetscBLASIntCast(nb, &K));
  PetscCallBLAS("BLASgemv", BLASgemv_("N", &M, &K, &one, ybar, &M, m->ones, &one_i, &one, gb, &one_i));
  if (l == 1) {
    PetscCallBLAS("BLASgemm", BLASgemm_("N", "T", &M, &N, &K, &one, ybar, &M, m->x_block, &N, &one, gW, &M));
    for (PetscInt j = 0; S > 1 && j < n_in; j++) PetscCallBLAS("BLASgemv", BLASgemv_("N", &M, &K, &one, ybar + (1 + j) * nb * n_out, &M, m->ones, &one_i, &one, gW + j * n_out, &one_i));
  } else {
    PetscCall(PetscBLASIntCast(nb * S, &K));
    PetscCallBLAS("BLASgemm", BLASgemm_("N", "T", &M, &N, &K, &one, ybar, &M, m->post[l - 1], &N, &one, gW, &M));
  }
  PetscCall(PetscLogFlops(2.0 * n_out * n_in * nb * S));
  PetscFunctionReturn(0);
}

/* Shared reverse sweep: at each layer either write rows or accumulate the gradient. */
static PetscErrorCode Backward(Model m, const PetscReal *theta, const PetscReal *cot, PetscReal *jac_t, PetscInt ld, PetscReal *grad)
{
  const PetscInt L = m->n_layers, nb = m->tape_nb, S = m->tape_channels;
  PetscReal     *ybar = m->bar_a, *zbar = m->bar_b;

  PetscFunctionBegin;
  PetscCheck(m->tape_valid, m->comm, PETSC_ERR_ORDER, "The reverse pass needs a preceding ModelForward with keep_tape");
  PetscCall(PetscArraycpy(ybar, cot, nb * S));
  for (PetscInt l = L; l >= 1; l--) {
    if (jac_t) PetscCall(LayerRows(m, l, ybar, jac_t, ld));
    else PetscCall(LayerGradient(m, l, ybar, grad));
    if (l == 1) break;
    PetscCall(LinearBackward(m->widths[l], m->widths[l - 1], nb * S, theta + m->w_offset[l], ybar, zbar));
    PetscCall(ActivationBackward(m, theta, l - 1, zbar, ybar));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode ModelBackwardRows(Model m, const PetscReal *theta, const PetscReal *cot, PetscReal *jac_t, PetscInt ld)
{
  PetscFunctionBegin;
  PetscCall(Backward(m, theta, cot, jac_t, ld, NULL));
  PetscFunctionReturn(0);
}

PetscErrorCode ModelBackwardGradient(Model m, const PetscReal *theta, const PetscReal *cot, PetscReal *grad)
{
  PetscFunctionBegin;
  PetscCall(Backward(m, theta, cot, NULL, 0, grad));
  PetscFunctionReturn(0);
}
