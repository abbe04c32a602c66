/* The forward tangent pass (J v), the tapes and the visitor API of the reverse pass.
   For networks of 1 to 4 hidden layers (the deepest with a layer of width 1), input dimensions
   1, 2, 5 and every activation:
     (a) ModelTangent against central differences of every output channel in theta along a
         random direction v, for orders 0, 1, 2, relative to the channel's largest entry;
     (b) the adjoint identity <cot, J v> = <J^T cot, v> with J^T cot from ModelReverse and
         ModelLayerVisitGradient;
     (c) two live tapes (forward on block A with tape 1, forward on block B with tape 2, a
         ModelForward without tape in between, then the reverse and tangent passes of 1 and 2)
         give bitwise the outputs, rows, gradients and tangents of one pass at a time, the rows
         and gradients those of ModelForward + ModelBackwardRows / ModelBackwardGradient;
     (d) a visitor that forms sum_s ybar_s z_s^T from ModelLayerGetInput's explicit blocks gives
         the rows of ModelLayerVisitRows (to rounding); the first layer's explicit input is
         (x, e_i, 0); layers come L, ..., 1 with the sizes and offsets of ModelGetLayout; at
         order 2 the first layer's trace-channel cotangent is sigma'(W_1 x + b_1) (W_2^T ybar_T);
     (e) the gradient equals sum_p sum_s cot_{s,p} J_{s,p} with the per-channel rows J_s
         (cotangent e_s);
   and (f) a reverse or tangent pass without a taped forward pass, or on a tape of another
   Model, is an error. */
/* ranks: 1 */
#include "networks.h"

#define NB_A 5
#define NB_B 3

typedef struct {
  PetscReal tangent_fd, adjoint, naive_rows, trace_cot, channel_sum;
} MaxErrors;

static void Track(PetscReal *max_err, PetscReal e)
{
  if (!(e <= *max_err)) *max_err = e; /* NaN sticks */
}

static PetscBool Same(PetscInt n, const PetscReal *a, const PetscReal *b) { return memcmp(a, b, (size_t)n * sizeof(PetscReal)) ? PETSC_FALSE : PETSC_TRUE; }

/* Largest |a - b| over the largest |a|, |b| (at least floor). */
static PetscReal ArrayRelDiff(PetscInt n, const PetscReal *a, const PetscReal *b, PetscReal floor)
{
  PetscReal err = 0.0, scale = floor;
  for (PetscInt k = 0; k < n; k++) {
    err   = PetscMax(err, PetscAbsReal(a[k] - b[k]));
    scale = PetscMax(scale, PetscMax(PetscAbsReal(a[k]), PetscAbsReal(b[k])));
  }
  return err / scale;
}

/* (a), (b) on one block of NB_A points. */
static PetscErrorCode CheckTangent(Model model, const PetscReal *theta, const PetscReal *x, const PetscReal *c, PetscInt order, uint64_t seed, const char *desc, MaxErrors *me)
{
  const PetscReal h = 1e-5;
  PetscInt        P, d, S;
  PetscReal      *v, *theta_s, *out, *dout, *op, *om, *cot, *grad, lhs = 0.0, rhs = 0.0, size = 0.0, e;
  ModelTape       tape;

  PetscFunctionBeginUser;
  PetscCall(ModelGetNumParameters(model, &P));
  PetscCall(ModelGetDimension(model, &d));
  S = ModelNumChannels(d, order);
  PetscCall(PetscMalloc4(P, &v, P, &theta_s, P, &grad, S * NB_A, &cot));
  PetscCall(PetscMalloc4(S * NB_A, &out, S * NB_A, &dout, S * NB_A, &op, S * NB_A, &om));
  for (PetscInt k = 0; k < P; k++) v[k] = TestUniform(seed, 20 + order, (uint64_t)k, -1.0, 1.0);
  for (PetscInt k = 0; k < S * NB_A; k++) cot[k] = TestUniform(seed, 30 + order, (uint64_t)k, -1.0, 1.0);
  PetscCall(ModelTapeCreate(model, &tape));
  PetscCall(ModelForwardTape(model, tape, theta, NB_A, x, order, c, out));
  PetscCall(ModelTangent(model, tape, theta, v, dout));
  for (PetscInt k = 0; k < P; k++) theta_s[k] = theta[k] + h * v[k];
  PetscCall(ModelForward(model, theta_s, NB_A, x, order, c, PETSC_FALSE, op));
  for (PetscInt k = 0; k < P; k++) theta_s[k] = theta[k] - h * v[k];
  PetscCall(ModelForward(model, theta_s, NB_A, x, order, c, PETSC_FALSE, om));
  for (PetscInt s = 0; s < S; s++) {
    PetscReal fd[NB_A];
    for (PetscInt p = 0; p < NB_A; p++) fd[p] = (op[s * NB_A + p] - om[s * NB_A + p]) / (2 * h);
    e = ArrayRelDiff(NB_A, dout + s * NB_A, fd, 1e-3);
    Track(&me->tangent_fd, e);
    CHECK(e < 1e-6, "%s order %" PetscInt_FMT " channel %" PetscInt_FMT ": J v differs from central differences: %.1e", desc, order, s, (double)e);
  }

  PetscCall(PetscArrayzero(grad, P));
  PetscCall(ModelReverse(model, tape, theta, cot, ModelLayerVisitGradient, grad));
  for (PetscInt k = 0; k < S * NB_A; k++) {
    lhs += cot[k] * dout[k];
    size += PetscAbsReal(cot[k] * dout[k]);
  }
  for (PetscInt k = 0; k < P; k++) {
    rhs += grad[k] * v[k];
    size += PetscAbsReal(grad[k] * v[k]);
  }
  e = PetscAbsReal(lhs - rhs) / PetscMax(size, 1e-300);
  Track(&me->adjoint, e);
  CHECK(e < 1e-13, "%s order %" PetscInt_FMT ": <cot, J v> = %g but <J^T cot, v> = %g: %.1e", desc, order, (double)lhs, (double)rhs, (double)e);
  PetscCall(ModelTapeDestroy(&tape));
  PetscCall(PetscFree4(v, theta_s, grad, cot));
  PetscCall(PetscFree4(out, dout, op, om));
  PetscFunctionReturn(0);
}

/* (c): one block's results, computed with or without other live tapes. */
typedef struct {
  PetscInt   P, nb, n; /* parameters, points, values per channel block (S nb) */
  PetscReal *out, *rows, *grad, *dout;
} BlockResults;

static PetscErrorCode BlockResultsCreate(PetscInt P, PetscInt nb, PetscInt n, BlockResults *r)
{
  PetscFunctionBeginUser;
  r->P  = P;
  r->nb = nb;
  r->n  = n;
  PetscCall(PetscMalloc4(n, &r->out, P * nb, &r->rows, P, &r->grad, n, &r->dout));
  PetscCall(PetscArrayzero(r->grad, P));
  PetscFunctionReturn(0);
}

static PetscErrorCode BlockResultsDestroy(BlockResults *r)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree4(r->out, r->rows, r->grad, r->dout));
  PetscFunctionReturn(0);
}

static PetscErrorCode BlockResultsCompare(const BlockResults *a, const BlockResults *b, const char *desc, const char *block)
{
  PetscFunctionBeginUser;
  CHECK(Same(a->n, a->out, b->out), "%s block %s: outputs differ", desc, block);
  CHECK(Same(a->P * a->nb, a->rows, b->rows), "%s block %s: rows differ", desc, block);
  CHECK(Same(a->P, a->grad, b->grad), "%s block %s: gradients differ", desc, block);
  CHECK(Same(a->n, a->dout, b->dout), "%s block %s: tangents differ", desc, block);
  PetscFunctionReturn(0);
}

/* The reverse passes (rows, gradient) and the tangent of a taped forward pass. */
static PetscErrorCode ReverseAndTangent(Model model, ModelTape tape, const PetscReal *theta, const PetscReal *cot, const PetscReal *v, BlockResults *r)
{
  ModelRowsContext rows = {r->rows, r->P};

  PetscFunctionBeginUser;
  PetscCall(ModelReverse(model, tape, theta, cot, ModelLayerVisitRows, &rows));
  PetscCall(ModelReverse(model, tape, theta, cot, ModelLayerVisitGradient, r->grad));
  PetscCall(ModelTangent(model, tape, theta, v, r->dout));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckLiveTapes(Model model, const PetscReal *theta, const PetscReal *x, const PetscReal *c, uint64_t seed, const char *desc)
{
  const PetscInt   order_a = 2, order_b = 1;
  PetscInt         P, d, n_a, n_b;
  PetscReal       *x_b, *cot_a, *cot_b, *v, *scratch;
  BlockResults     live_a, live_b, one_a, one_b, old_a, old_b;
  ModelTape        tape_1, tape_2;
  ModelRowsContext rows;

  PetscFunctionBeginUser;
  PetscCall(ModelGetNumParameters(model, &P));
  PetscCall(ModelGetDimension(model, &d));
  n_a = ModelNumChannels(d, order_a) * NB_A;
  n_b = ModelNumChannels(d, order_b) * NB_B;
  PetscCall(PetscMalloc5(d * NB_B, &x_b, n_a, &cot_a, n_b, &cot_b, P, &v, n_a, &scratch));
  for (PetscInt k = 0; k < d * NB_B; k++) x_b[k] = TestUniform(seed, 40, (uint64_t)k, -1.0, 1.0);
  for (PetscInt k = 0; k < n_a; k++) cot_a[k] = TestUniform(seed, 41, (uint64_t)k, -1.0, 1.0);
  for (PetscInt k = 0; k < n_b; k++) cot_b[k] = TestUniform(seed, 42, (uint64_t)k, -1.0, 1.0);
  for (PetscInt k = 0; k < P; k++) v[k] = TestUniform(seed, 43, (uint64_t)k, -1.0, 1.0);
  PetscCall(BlockResultsCreate(P, NB_A, n_a, &live_a));
  PetscCall(BlockResultsCreate(P, NB_B, n_b, &live_b));
  PetscCall(BlockResultsCreate(P, NB_A, n_a, &one_a));
  PetscCall(BlockResultsCreate(P, NB_B, n_b, &one_b));
  PetscCall(BlockResultsCreate(P, NB_A, n_a, &old_a));
  PetscCall(BlockResultsCreate(P, NB_B, n_b, &old_b));
  PetscCall(ModelTapeCreate(model, &tape_1));
  PetscCall(ModelTapeCreate(model, &tape_2));

  /* two live tapes, and the Model's own tape used in between */
  PetscCall(ModelForwardTape(model, tape_1, theta, NB_A, x, order_a, c, live_a.out));
  PetscCall(ModelForwardTape(model, tape_2, theta, NB_B, x_b, order_b, c, live_b.out));
  PetscCall(ModelForward(model, theta, NB_A, x, 2, NULL, PETSC_FALSE, scratch));
  PetscCall(ReverseAndTangent(model, tape_1, theta, cot_a, v, &live_a));
  PetscCall(ReverseAndTangent(model, tape_2, theta, cot_b, v, &live_b));

  /* one at a time on one tape */
  PetscCall(ModelForwardTape(model, tape_1, theta, NB_A, x, order_a, c, one_a.out));
  PetscCall(ReverseAndTangent(model, tape_1, theta, cot_a, v, &one_a));
  PetscCall(ModelForwardTape(model, tape_1, theta, NB_B, x_b, order_b, c, one_b.out));
  PetscCall(ReverseAndTangent(model, tape_1, theta, cot_b, v, &one_b));
  PetscCall(BlockResultsCompare(&live_a, &one_a, desc, "A, live tapes vs one at a time"));
  PetscCall(BlockResultsCompare(&live_b, &one_b, desc, "B, live tapes vs one at a time"));

  /* the old entry points on the Model's tape (and the tangent of one tape) */
  PetscCall(ModelForward(model, theta, NB_A, x, order_a, c, PETSC_TRUE, old_a.out));
  PetscCall(ModelBackwardRows(model, theta, cot_a, old_a.rows, P));
  PetscCall(ModelBackwardGradient(model, theta, cot_a, old_a.grad));
  PetscCall(PetscArraycpy(old_a.dout, one_a.dout, n_a));
  PetscCall(ModelForward(model, theta, NB_B, x_b, order_b, c, PETSC_TRUE, old_b.out));
  PetscCall(ModelBackwardRows(model, theta, cot_b, old_b.rows, P));
  PetscCall(ModelBackwardGradient(model, theta, cot_b, old_b.grad));
  PetscCall(PetscArraycpy(old_b.dout, one_b.dout, n_b));
  PetscCall(BlockResultsCompare(&live_a, &old_a, desc, "A, live tapes vs ModelBackward*"));
  PetscCall(BlockResultsCompare(&live_b, &old_b, desc, "B, live tapes vs ModelBackward*"));

  /* a reverse pass with an ld larger than P writes the same rows */
  {
    PetscReal *wide;
    PetscCall(PetscMalloc1((P + 3) * NB_A, &wide));
    rows.jac_t = wide;
    rows.ld    = P + 3;
    PetscCall(ModelForwardTape(model, tape_2, theta, NB_A, x, order_a, c, scratch));
    PetscCall(ModelReverse(model, tape_2, theta, cot_a, ModelLayerVisitRows, &rows));
    for (PetscInt p = 0; p < NB_A; p++) CHECK(Same(P, wide + p * (P + 3), live_a.rows + p * P), "%s: rows with ld = P + 3 differ at point %" PetscInt_FMT, desc, p);
    PetscCall(PetscFree(wide));
  }

  PetscCall(ModelTapeDestroy(&tape_1));
  PetscCall(ModelTapeDestroy(&tape_2));
  PetscCall(BlockResultsDestroy(&live_a));
  PetscCall(BlockResultsDestroy(&live_b));
  PetscCall(BlockResultsDestroy(&one_a));
  PetscCall(BlockResultsDestroy(&one_b));
  PetscCall(BlockResultsDestroy(&old_a));
  PetscCall(BlockResultsDestroy(&old_b));
  PetscCall(PetscFree5(x_b, cot_a, cot_b, v, scratch));
  PetscFunctionReturn(0);
}

/* (d): rows as sum_s ybar_s z_s^T over the explicit input blocks, and checks of what a visitor
   is shown. */
typedef struct {
  ModelLayout      layout;
  ModelActivation  activation;
  const PetscReal *theta, *x;
  PetscReal       *rows;
  PetscInt         next_layer, bad_layer, bad_input;
  PetscReal       *zbar_T;    /* n_1 x nb: W_2^T ybar_T of the second layer */
  PetscReal        trace_cot; /* largest error of the first layer's trace-channel cotangent */
} NaiveRows;

static PetscReal ActivationDerivative(ModelActivation act, PetscReal y)
{
  const PetscReal s = 1.0 / (1.0 + PetscExpReal(-y)), t = PetscTanhReal(y);
  return act == MODEL_ACT_TANH ? 1.0 - t * t : (act == MODEL_ACT_SIN ? PetscCosReal(y) : s * (1.0 - s));
}

/* At order 2: the trace channel's cotangent of layer 1 from that of layer 2 (kept at l = 2). */
static void CheckTraceCotangent(NaiveRows *naive, const ModelLayer *layer)
{
  const PetscInt   l = layer->layer, nb = layer->n_points, n1 = naive->layout.widths[1], n2 = naive->layout.widths[2], d = naive->layout.widths[0];
  const PetscReal *W1 = naive->theta + naive->layout.w_offset[1], *b1 = naive->theta + naive->layout.b_offset[1], *W2 = naive->theta + naive->layout.w_offset[2];
  const PetscReal *cot_T = layer->cot + (1 + d) * nb * layer->n_out;
  PetscReal        err = 0.0, scale = 1e-300;

  if (l == 2)
    for (PetscInt p = 0; p < nb; p++)
      for (PetscInt k = 0; k < n1; k++) {
        PetscReal sum = 0.0;
        for (PetscInt i = 0; i < n2; i++) sum += W2[k * n2 + i] * cot_T[p * n2 + i];
        naive->zbar_T[p * n1 + k] = sum;
      }
  if (l != 1) return;
  for (PetscInt p = 0; p < nb; p++)
    for (PetscInt k = 0; k < n1; k++) {
      PetscReal y = b1[k], expect;
      for (PetscInt j = 0; j < d; j++) y += W1[j * n1 + k] * naive->x[p * d + j];
      expect = ActivationDerivative(naive->activation, y) * naive->zbar_T[p * n1 + k];
      err    = PetscMax(err, PetscAbsReal(cot_T[p * n1 + k] - expect));
      scale  = PetscMax(scale, PetscAbsReal(expect));
    }
  naive->trace_cot = err / scale;
}

static PetscErrorCode VisitNaiveRows(const ModelLayer *layer, void *ctx)
{
  NaiveRows       *naive = (NaiveRows *)ctx;
  const PetscInt   l = layer->layer, n_in = layer->n_in, n_out = layer->n_out, nb = layer->n_points, S = layer->n_channels, P = naive->layout.n_params;
  const PetscReal *z;

  PetscFunctionBeginUser;
  if (l != naive->next_layer-- || n_in != naive->layout.widths[l - 1] || n_out != naive->layout.widths[l] || layer->w_offset != naive->layout.w_offset[l] || layer->b_offset != naive->layout.b_offset[l]) naive->bad_layer++;
  PetscCall(ModelLayerGetInput(layer, &z));
  if (layer->order == 2) CheckTraceCotangent(naive, layer);
  if (l == 1)
    for (PetscInt s = 0; s < S; s++)
      for (PetscInt p = 0; p < nb; p++)
        for (PetscInt j = 0; j < n_in; j++) {
          const PetscReal expect = s == 0 ? naive->x[p * n_in + j] : (s == 1 + j ? 1.0 : 0.0);
          if (z[(s * nb + p) * n_in + j] != expect) naive->bad_input++;
        }
  for (PetscInt p = 0; p < nb; p++) {
    PetscReal *row = naive->rows + p * P;
    for (PetscInt i = 0; i < n_out; i++) {
      row[layer->b_offset + i] = layer->cot[p * n_out + i];
      for (PetscInt j = 0; j < n_in; j++) {
        PetscReal sum = 0.0;
        for (PetscInt s = 0; s < S; s++) sum += layer->cot[(s * nb + p) * n_out + i] * z[(s * nb + p) * n_in + j];
        row[layer->w_offset + j * n_out + i] = sum;
      }
    }
  }
  PetscFunctionReturn(0);
}

/* (d) and (e) for one order. */
static PetscErrorCode CheckVisitors(Model model, const PetscReal *theta, const PetscReal *x, const PetscReal *c, PetscInt order, uint64_t seed, const char *desc, MaxErrors *me)
{
  PetscInt         P, d, S;
  PetscReal       *cot, *cot_s, *rows, *rows_s, *grad, *sum, *size, e = 0.0;
  ModelTape        tape;
  ModelRowsContext ctx;
  NaiveRows        naive;

  PetscFunctionBeginUser;
  PetscCall(ModelGetNumParameters(model, &P));
  PetscCall(ModelGetDimension(model, &d));
  S = ModelNumChannels(d, order);
  PetscCall(PetscMalloc4(S * NB_A, &cot, S * NB_A, &cot_s, P * NB_A, &rows, P * NB_A, &rows_s));
  PetscCall(PetscMalloc3(P, &grad, P, &sum, P, &size));
  for (PetscInt k = 0; k < S * NB_A; k++) cot[k] = TestUniform(seed, 50 + order, (uint64_t)k, -1.0, 1.0);
  PetscCall(ModelTapeCreate(model, &tape));
  PetscCall(ModelForwardTape(model, tape, theta, NB_A, x, order, c, cot_s));

  /* (d) */
  ctx.jac_t = rows;
  ctx.ld    = P;
  PetscCall(ModelReverse(model, tape, theta, cot, ModelLayerVisitRows, &ctx));
  PetscCall(ModelGetLayout(model, &naive.layout));
  PetscCall(ModelGetActivation(model, &naive.activation));
  naive.theta      = theta;
  naive.x          = x;
  naive.rows       = rows_s;
  naive.trace_cot  = 0.0;
  naive.next_layer = naive.layout.n_layers;
  naive.bad_layer  = naive.bad_input = 0;
  PetscCall(PetscMalloc1(naive.layout.widths[1] * NB_A, &naive.zbar_T));
  PetscCall(ModelReverse(model, tape, theta, cot, VisitNaiveRows, &naive));
  PetscCall(PetscFree(naive.zbar_T));
  Track(&me->trace_cot, naive.trace_cot);
  CHECK(naive.trace_cot < 1e-13, "%s order %" PetscInt_FMT ": the first layer's trace-channel cotangent is off by %.1e", desc, order, (double)naive.trace_cot);
  CHECK(naive.next_layer == 0 && naive.bad_layer == 0, "%s order %" PetscInt_FMT ": the visitor saw %" PetscInt_FMT " layers out of order or with wrong sizes (next %" PetscInt_FMT ")", desc, order, naive.bad_layer, naive.next_layer);
  CHECK(naive.bad_input == 0, "%s order %" PetscInt_FMT ": %" PetscInt_FMT " entries of the first layer's explicit input are not (x, e_i, 0)", desc, order, naive.bad_input);
  for (PetscInt p = 0; p < NB_A; p++) e = PetscMax(e, ArrayRelDiff(P, rows + p * P, rows_s + p * P, 1e-300));
  Track(&me->naive_rows, e);
  CHECK(e < 1e-14, "%s order %" PetscInt_FMT ": rows of sum_s ybar_s z_s^T differ from ModelLayerVisitRows: %.1e", desc, order, (double)e);

  /* (e) */
  PetscCall(PetscArrayzero(grad, P));
  PetscCall(ModelReverse(model, tape, theta, cot, ModelLayerVisitGradient, grad));
  PetscCall(PetscArrayzero(sum, P));
  PetscCall(PetscArrayzero(size, P));
  for (PetscInt s = 0; s < S; s++) {
    PetscCall(PetscArrayzero(cot_s, S * NB_A));
    for (PetscInt p = 0; p < NB_A; p++) cot_s[s * NB_A + p] = 1.0;
    ctx.jac_t = rows_s;
    PetscCall(ModelReverse(model, tape, theta, cot_s, ModelLayerVisitRows, &ctx));
    for (PetscInt p = 0; p < NB_A; p++)
      for (PetscInt k = 0; k < P; k++) {
        sum[k] += cot[s * NB_A + p] * rows_s[p * P + k];
        size[k] += PetscAbsReal(cot[s * NB_A + p] * rows_s[p * P + k]);
      }
  }
  e = 0.0;
  for (PetscInt k = 0; k < P; k++) e = PetscMax(e, PetscAbsReal(grad[k] - sum[k]) / PetscMax(size[k], 1e-300));
  Track(&me->channel_sum, e);
  CHECK(e < 1e-13, "%s order %" PetscInt_FMT ": the gradient differs from sum_s J_s^T cot_s: %.1e", desc, order, (double)e);

  PetscCall(ModelTapeDestroy(&tape));
  PetscCall(PetscFree4(cot, cot_s, rows, rows_s));
  PetscCall(PetscFree3(grad, sum, size));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckLayout(Model model, const char *desc)
{
  ModelLayout layout;
  PetscInt    P, next = 0;

  PetscFunctionBeginUser;
  PetscCall(ModelGetNumParameters(model, &P));
  PetscCall(ModelGetLayout(model, &layout));
  for (PetscInt l = 1; l <= layout.n_layers; l++) {
    CHECK(layout.w_offset[l] == next && layout.b_offset[l] == next + layout.widths[l] * layout.widths[l - 1], "%s: layer %" PetscInt_FMT " has W at %" PetscInt_FMT " and b at %" PetscInt_FMT ", expected %" PetscInt_FMT, desc, l, layout.w_offset[l], layout.b_offset[l], next);
    next = layout.b_offset[l] + layout.widths[l];
  }
  CHECK(layout.n_params == P && next == P && layout.widths[layout.n_layers] == 1, "%s: layout of %" PetscInt_FMT " parameters ends at %" PetscInt_FMT ", P = %" PetscInt_FMT, desc, layout.n_params, next, P);
  PetscFunctionReturn(0);
}

/* (f) */
static PetscErrorCode CheckErrors(void)
{
  const PetscInt widths[1] = {3};
  Model          model, other;
  ModelTape      tape, other_tape;
  PetscInt       P;
  PetscReal     *theta, x[2 * NB_A] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0}, out[4 * NB_A], cot[4 * NB_A] = {0}, *grad;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(TestCreateModel(2, 1, widths, "tanh", &model));
  PetscCall(TestCreateModel(2, 1, widths, "tanh", &other));
  PetscCall(ModelGetNumParameters(model, &P));
  PetscCall(ModelGetParameters(model, &theta));
  PetscCall(PetscCalloc1(P, &grad));
  PetscCall(ModelTapeCreate(model, &tape));
  PetscCall(ModelTapeCreate(other, &other_tape));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = ModelReverse(model, tape, theta, cot, ModelLayerVisitGradient, grad);
  CHECK(ierr == PETSC_ERR_ORDER, "ModelReverse on a fresh tape returned %d", (int)ierr);
  ierr = ModelTangent(model, tape, theta, grad, out);
  CHECK(ierr == PETSC_ERR_ORDER, "ModelTangent on a fresh tape returned %d", (int)ierr);
  ierr = ModelForwardTape(model, other_tape, theta, NB_A, x, 2, NULL, out);
  CHECK(ierr == PETSC_ERR_ARG_WRONG, "ModelForwardTape on another Model's tape returned %d", (int)ierr);
  ierr = ModelForward(model, theta, NB_A, x, 2, NULL, PETSC_FALSE, out);
  CHECK(ierr == 0, "ModelForward without tape returned %d", (int)ierr);
  ierr = ModelBackwardGradient(model, theta, cot, grad);
  CHECK(ierr == PETSC_ERR_ORDER, "ModelBackwardGradient after ModelForward without keep_tape returned %d", (int)ierr);
  PetscCall(PetscPopErrorHandler());
  PetscCall(ModelTapeDestroy(&tape));
  PetscCall(ModelTapeDestroy(&other_tape));
  PetscCall(PetscFree(grad));
  PetscCall(ModelDestroy(&model));
  PetscCall(ModelDestroy(&other));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckConfig(PetscInt n_hidden, const PetscInt widths[], PetscInt d, const char *act, uint64_t seed, void *ctx)
{
  MaxErrors *me = (MaxErrors *)ctx;
  Model      model;
  PetscInt   P;
  PetscReal *theta, *x, *c;
  char       desc[128];

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(desc, sizeof(desc), "%s d=%" PetscInt_FMT " depth=%" PetscInt_FMT, act, d, n_hidden));
  PetscCall(TestCreateModel(d, n_hidden, widths, act, &model));
  PetscCall(ModelGetNumParameters(model, &P));
  PetscCall(PetscMalloc3(P, &theta, d * NB_A, &x, d, &c));
  /* theta twice the default scale so that the activations work in their nonlinear range */
  PetscCall(ModelInitializeParameters(model, (PetscInt)seed, theta));
  for (PetscInt k = 0; k < P; k++) theta[k] *= 2.0;
  for (PetscInt k = 0; k < d * NB_A; k++) x[k] = TestUniform(seed, 1, (uint64_t)k, -1.0, 1.0);
  for (PetscInt i = 0; i < d; i++) c[i] = TestUniform(seed, 2, (uint64_t)i, 0.2, 2.0);
  PetscCall(CheckLayout(model, desc));
  for (PetscInt order = 0; order <= 2; order++) {
    PetscCall(CheckTangent(model, theta, x, c, order, seed, desc, me));
    PetscCall(CheckVisitors(model, theta, x, c, order, seed, desc, me));
  }
  PetscCall(CheckLiveTapes(model, theta, x, c, seed, desc));
  PetscCall(PetscFree3(theta, x, c));
  PetscCall(ModelDestroy(&model));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  MaxErrors me = {0};
  PetscInt  n_networks = 0;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(TestForEachNetwork(4, CheckConfig, &me, &n_networks));
  PetscCall(CheckErrors());
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%" PetscInt_FMT " networks (depth 1-4, d = 1, 2, 5, tanh/sin/sigmoid), orders 0-2, largest errors:\n", n_networks));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  J v vs central differences in theta (h 1e-5) %.1e (tol 1e-6), <cot, J v> vs <J^T cot, v> %.1e (tol 1e-13)\n", (double)me.tangent_fd, (double)me.adjoint));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  rows of sum_s ybar_s z_s^T vs ModelLayerVisitRows %.1e (tol 1e-14), first layer's trace cotangent %.1e (tol 1e-13)\n", (double)me.naive_rows, (double)me.trace_cot));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  gradient vs sum_s J_s^T cot_s %.1e (tol 1e-13)\n", (double)me.channel_sum));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  two live tapes vs one pass at a time vs ModelForward + ModelBackward*: compared bitwise\n"));
  return TestFinish();
}
