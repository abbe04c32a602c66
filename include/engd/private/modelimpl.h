#ifndef ENGD_MODELIMPL_H
#define ENGD_MODELIMPL_H

#include <engd/model.h>

/* Element-wise activation with the derivatives Taylor mode needs: for i < n,
   s0 = sigma(y), s1 = sigma'(y), s2 = sigma''(y), s3 = sigma'''(y); a NULL output is skipped. */
PetscErrorCode ActivationEvaluate(ModelActivation, PetscInt n, const PetscReal *y, PetscReal *s0, PetscReal *s1, PetscReal *s2, PetscReal *s3);

struct _p_Model {
  MPI_Comm        comm;
  PetscInt        dim;
  PetscInt        n_layers;   /* linear layers L */
  PetscInt       *widths;     /* n_0 = dim, ..., n_L = 1 */
  PetscInt       *w_offset, *b_offset;
  PetscInt        n_params;
  PetscInt        max_width;  /* max(n_0, ..., n_L) */
  ModelActivation activation;
  PetscInt        seed;
  PetscInt        block_size;
  PetscReal      *theta;
  PetscBool       setup_called;
  PetscReal      *ones;         /* block_size ones (read-only: the gradient's bias sums) */
  ModelTape       default_tape; /* the tape of ModelForward and ModelBackward* */
};

/* What one forward pass on a block keeps for its reverse pass and its tangent pass (hidden
   layers l = 1..L-1 and the output). Buffers are sized for the Model's block size and the
   largest channel count (order 2), allocated by ModelTapeCreate. */
struct _p_ModelTape {
  Model      model;
  PetscInt   nb, order, n_channels;
  PetscBool  valid;
  PetscReal *trace_weights;   /* dim: the pass's trace weights (ones for NULL) */
  PetscReal **pre, **post;    /* per layer: n_l x (nb*S) before/after activation */
  PetscReal **d1, **d2, **d3; /* per hidden layer: sigma', sigma'', sigma''' on the value channel */
  PetscReal  *x_block;        /* dim x nb input of the taped block */
  PetscReal  *bar_a, *bar_b;  /* reverse/tangent scratch, max width x (nb*S) */
  PetscReal  *work;           /* 2 x max width: per-neuron sums of the first layer */
  PetscReal  *input_explicit; /* dim x (block_size*S): the first layer's input channels (x, e_i, 0), on request */
  PetscInt    input_explicit_nb; /* the block size its constant channels were written for (-1: none) */
  /* the Hessian passes (hvp.c), allocated by the first of them */
  PetscReal **ydot, **zdot;   /* per hidden layer: pre-/post-activation tangents, max width x (nb*S) */
  PetscReal  *hess_work;      /* ybar, ybar_dot, zbar, zbar_dot, y and ydot of layer 1, s1..s4 */
  PetscBool   hessian_valid;  /* ModelHessianTangent ran after the tape's forward pass */
};

#endif
