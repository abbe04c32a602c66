/* Model: a multilayer perceptron u_theta : R^d -> R with smooth activations, evaluated with a
   batched Taylor-mode forward pass (value, first derivatives, a weighted second-order trace),
   a reverse pass that hands every layer's inputs and output cotangents to a visitor (Jacobian
   rows and the summed gradient are two visitors), and a forward tangent pass (J v).

   Channels of a block of nb points are stored channel-major: channel s of point p is column
   s*nb + p, so every linear layer is one dgemm over all points and channels. With `order`
     0: channels {u}                      (S = 1)
     1: channels {u, d_1 u, ..., d_d u}   (S = 1 + d)
     2: channels {u, d_i u, sum_i c_i d_ii u}  (S = 2 + d; c = trace weights, e.g. Laplacian)
   Parameters theta are laid out layer by layer: W_l (n_l x n_{l-1}, column-major) then b_l
   (see ModelLayout). A pass keeps what its reverse and tangent passes need in a ModelTape, so
   several passes can be live at once; ModelForward and ModelBackward* use the Model's own
   tape. */
#ifndef ENGD_MODEL_H
#define ENGD_MODEL_H

#include <engd/sys.h>

typedef struct _p_Model     *Model;
typedef struct _p_ModelTape *ModelTape;

typedef enum { MODEL_ACT_TANH, MODEL_ACT_SIN, MODEL_ACT_SIGMOID } ModelActivation;
extern const char *const ModelActivations[];

PetscErrorCode ModelCreate(MPI_Comm, Model *);
PetscErrorCode ModelSetDimension(Model, PetscInt dim);
/* Options: -net_hidden 64,64  -net_activation tanh|sin|sigmoid  -seed  -net_block_size */
PetscErrorCode ModelSetFromOptions(Model);
PetscErrorCode ModelSetHidden(Model, PetscInt n_hidden_layers, const PetscInt widths[]);
PetscErrorCode ModelSetUp(Model);
PetscErrorCode ModelView(Model, PetscViewer);
PetscErrorCode ModelDestroy(Model *);

PetscErrorCode ModelGetNumParameters(Model, PetscInt *n_params);
PetscErrorCode ModelGetDimension(Model, PetscInt *dim);
PetscErrorCode ModelGetComm(Model, MPI_Comm *);
PetscErrorCode ModelGetBlockSize(Model, PetscInt *block_size);
/* Layer widths n_0 = d, ..., n_L = 1 (borrowed array of n_layers + 1 entries). */
PetscErrorCode ModelGetWidths(Model, PetscInt *n_layers, const PetscInt **widths);
PetscErrorCode ModelGetActivation(Model, ModelActivation *);
PetscErrorCode ModelGetSeed(Model, PetscInt *);
/* The model's current parameters (replicated on every rank). */
PetscErrorCode ModelGetParameters(Model, PetscReal **theta);
/* Initialise theta as a pure function of the seed: PyTorch's default uniform(+-1/sqrt(fan_in)). */
PetscErrorCode ModelInitializeParameters(Model, PetscInt seed, PetscReal *theta);

static inline PetscInt ModelNumChannels(PetscInt dim, PetscInt order) { return order == 0 ? 1 : (order == 1 ? 1 + dim : 2 + dim); }

/* The parameter layout (after ModelSetUp; the arrays are borrowed, n_layers + 1 entries each,
   index 0 unused in the offsets): linear layer l = 1..L maps n_{l-1} inputs to n_l outputs,
       y = W_l z + b_l,   W_l = theta[w_offset[l] ...] (n_l x n_{l-1}, column-major, so entry
       (i, j) is theta[w_offset[l] + j*n_l + i]),   b_l = theta[b_offset[l] ...] (n_l),
   with n_0 = d, n_L = 1, b_offset[l] = w_offset[l] + n_l n_{l-1}, and n_params in all. */
typedef struct {
  PetscInt        n_layers; /* L: the hidden layers and the output layer */
  const PetscInt *widths;   /* n_0 = d, ..., n_L = 1 */
  const PetscInt *w_offset; /* W_l at theta + w_offset[l] */
  const PetscInt *b_offset; /* b_l at theta + b_offset[l] */
  PetscInt        n_params;
} ModelLayout;

PetscErrorCode ModelGetLayout(Model, ModelLayout *);

/* A tape for one block of up to the Model's block size points (after ModelSetUp; destroy it
   before the Model). It owns all buffers of a pass: the forward, reverse and tangent passes
   allocate nothing (ModelLayerGetInput allocates once). Any number of reverse and tangent passes
   may follow one forward pass, one at a time on a tape (they share its scratch: a visitor must
   not start another pass on its own tape); tapes do not share anything. */
PetscErrorCode ModelTapeCreate(Model, ModelTape *);
PetscErrorCode ModelTapeDestroy(ModelTape *);

/* Forward pass on nb <= block size points x (dim x nb, column-major) with parameters theta;
   out receives the S channels of u (out[s*nb + p]). trace_weights (dim entries, or NULL for all
   ones) define the second-order channel. The tape keeps the layer values for ModelReverse and
   ModelTangent, which must get the same theta. */
PetscErrorCode ModelForwardTape(Model, ModelTape, const PetscReal *theta, PetscInt nb, const PetscReal *x, PetscInt order, const PetscReal *trace_weights, PetscReal *out);

/* What the reverse pass shows a visitor at linear layer l (y = W_l z + b_l on the value channel,
   W_l z on the others), all n_channels = S channels of the n_points = nb points, channel-major
   (column s*nb + p), pointers into the tape, valid during the call only:
     input  n_in x (nb*S): the layer's input channels z (for l > 1 the previous layer's output
            channels). For l = 1 only the value channel, the points x (the first nb columns),
            is stored: the other input channels are the constants e_i (first-derivative channel
            i) and 0 (the trace channel); ModelLayerGetInput gives the whole block explicitly.
     cot    n_out x (nb*S): the cotangents ybar of the layer's output channels y, so that the
            layer's part of the row of point p is  dW_l = sum_s ybar_{s,p} z_{s,p}^T,
            db_l = ybar_{0,p}  (the bias acts on the value channel only).
   w_offset, b_offset locate W_l and b_l in theta (ModelLayout). */
typedef struct {
  Model            model;
  ModelTape        tape;
  PetscInt         layer; /* l = L (the output layer) down to 1 */
  PetscInt         n_in, n_out, n_points, n_channels, order;
  PetscInt         w_offset, b_offset;
  const PetscReal *input;
  const PetscReal *cot;
} ModelLayer;

typedef PetscErrorCode (*ModelLayerVisitor)(const ModelLayer *layer, void *ctx);

/* In a visitor: the layer's input channels as one n_in x (nb*S) block for every layer; for l = 1
   the tape writes (x, e_i, 0) out (its constant channels once per block size). */
PetscErrorCode ModelLayerGetInput(const ModelLayer *, const PetscReal **input);

/* Reverse pass of the tape's forward pass: given cotangents cot[s*nb + p] of each point's
   scalar with respect to the output channels, carry them back through the layers and call
   visit(layer, ctx) for l = L, L-1, ..., 1. */
PetscErrorCode ModelReverse(Model, ModelTape, const PetscReal *theta, const PetscReal *cot, ModelLayerVisitor visit, void *ctx);

/* Visitors. ModelLayerVisitRows, ctx a ModelRowsContext: writes each point's row
   d(sum_s cot_s out_s)/d theta, row p at jac_t + p*ld (jac_t is P x nb column-major, i.e. J
   transposed). ModelLayerVisitGradient, ctx a PetscReal grad[P]: grad += the sum of the rows
   over the points (BLAS-3). */
typedef struct {
  PetscReal *jac_t;
  PetscInt   ld;
} ModelRowsContext;

PetscErrorCode ModelLayerVisitRows(const ModelLayer *, void *ctx);
PetscErrorCode ModelLayerVisitGradient(const ModelLayer *, void *ctx);

/* Forward tangent of the tape's forward pass (same theta): the directional derivative
   dout = d/dt out(theta + t v) at t = 0 of all S output channels of the nb points
   (dout[s*nb + p]), i.e. J v for every channel. */
PetscErrorCode ModelTangent(Model, ModelTape, const PetscReal *theta, const PetscReal *v, PetscReal *dout);

/* Hessian-vector products by forward-over-reverse (hvp.c). After a taped forward pass,
   ModelHessianTangent is ModelTangent (dout = J v on every channel) keeping each layer's
   tangents on the tape; then, with cotangents cot of the output channels and their derivative
   cot_dot along v, ModelHessianReverse adds
       hv += d/dt [ J(theta + t v)^T (cot + t cot_dot) ]_{t=0}
   (same theta and v). For cot = dl/dout of a per-point loss l(out) and cot_dot = D^2 l (J v)
   that is the Hessian of l(out(theta)) times v. */
PetscErrorCode ModelHessianTangent(Model, ModelTape, const PetscReal *theta, const PetscReal *v, PetscReal *dout);
PetscErrorCode ModelHessianReverse(Model, ModelTape, const PetscReal *theta, const PetscReal *v, const PetscReal *cot, const PetscReal *cot_dot, PetscReal *hv);

/* The same passes on the Model's own tape. ModelForward with keep_tape is ModelForwardTape;
   without it the pass computes only what the outputs need (the line search) and leaves no tape. */
PetscErrorCode ModelForward(Model, const PetscReal *theta, PetscInt nb, const PetscReal *x, PetscInt order,
                            const PetscReal *trace_weights, PetscBool keep_tape, PetscReal *out);

/* The first layer's value pre-activations y = W_1 x + b_1 of nb points (n_1 x nb, column p for
   point p). They are affine in theta, so along a line theta - eta d they are
       y(theta - eta d) = y(theta) - eta y'(d),   y'(d) = dW_1 x + db_1 = ModelFirstLayer(d),
   the same function applied to d: a line search computes both once per block and forms every
   candidate's with an axpy instead of a product with x (ObjectiveLossCandidates). */
PetscErrorCode ModelFirstLayer(Model, const PetscReal *theta, PetscInt nb, const PetscReal *x, PetscReal *y);

/* ModelForward without a tape, starting from given first-layer value pre-activations
   y = a - eta b (n_1 x nb; b = NULL: y = a) instead of the points: layer 1's derivative channels
   (the columns of W_1) and the later layers use theta. With a = ModelFirstLayer(theta, x) and
   b = NULL the outputs are ModelForward's bit for bit; with a = ModelFirstLayer(theta0, x),
   b = ModelFirstLayer(d, x) and theta = theta0 - eta d they are ModelForward's at theta up to the
   rounding of y. */
PetscErrorCode ModelForwardFromFirstLayer(Model, const PetscReal *theta, PetscInt nb, const PetscReal *a, const PetscReal *b, PetscReal eta, PetscInt order, const PetscReal *trace_weights, PetscReal *out);

/* After ModelForward(..., keep_tape): ModelReverse with ModelLayerVisitRows. */
PetscErrorCode ModelBackwardRows(Model, const PetscReal *theta, const PetscReal *cot, PetscReal *jac_t, PetscInt ld);

/* After ModelForward(..., keep_tape): ModelReverse with ModelLayerVisitGradient. */
PetscErrorCode ModelBackwardGradient(Model, const PetscReal *theta, const PetscReal *cot, PetscReal *grad);

#endif
