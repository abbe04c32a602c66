/* Model: a multilayer perceptron u_theta : R^d -> R with smooth activations, evaluated with a
   batched Taylor-mode forward pass (value, first derivatives, a weighted second-order trace)
   and a reverse pass that gives per-point Jacobian rows or the summed gradient.

   Channels of a block of nb points are stored channel-major: channel s of point p is column
   s*nb + p, so every linear layer is one dgemm over all points and channels. With `order`
     0: channels {u}                      (S = 1)
     1: channels {u, d_1 u, ..., d_d u}   (S = 1 + d)
     2: channels {u, d_i u, sum_i c_i d_ii u}  (S = 2 + d; c = trace weights, e.g. Laplacian)
   Parameters theta are laid out layer by layer: W_l (n_l x n_{l-1}, column-major) then b_l. */
#ifndef ENGD_MODEL_H
#define ENGD_MODEL_H

#include <engd/sys.h>

typedef struct _p_Model *Model;

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

/* Forward pass on nb <= block size points x (dim x nb, column-major) with parameters theta;
   out receives the S channels of u (out[s*nb + p]). trace_weights (dim entries, or NULL for all
   ones) define the second-order channel. With keep_tape the layer values are kept for a
   following ModelBackward* call. */
PetscErrorCode ModelForward(Model, const PetscReal *theta, PetscInt nb, const PetscReal *x, PetscInt order,
                            const PetscReal *trace_weights, PetscBool keep_tape, PetscReal *out);

/* After ModelForward(..., keep_tape): given cotangents cot[s*nb + p] of each point's scalar
   with respect to the output channels, write the rows d(sum_s cot_s out_s)/d theta of every
   point: row p at jac_t + p*ld (jac_t is P x nb column-major, i.e. J transposed). */
PetscErrorCode ModelBackwardRows(Model, const PetscReal *theta, const PetscReal *cot, PetscReal *jac_t, PetscInt ld);

/* After ModelForward(..., keep_tape): grad += sum_p d(sum_s cot_s out_s)/d theta (BLAS-3). */
PetscErrorCode ModelBackwardGradient(Model, const PetscReal *theta, const PetscReal *cot, PetscReal *grad);

#endif
