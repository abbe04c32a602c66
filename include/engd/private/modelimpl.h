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
  ModelActivation activation;
  PetscInt        seed;
  PetscInt        block_size;
  PetscReal      *theta;
  PetscBool       setup_called;

  /* Tape of the last ModelForward on one block (hidden layers l = 1..L-1 and the output). */
  PetscInt   tape_nb, tape_order, tape_channels;
  PetscBool  tape_valid;
  PetscReal *tape_trace_weights; /* dim */
  PetscReal **pre, **post;       /* per layer: n_l x (nb*S) before/after activation */
  PetscReal **d1, **d2, **d3;    /* per hidden layer: sigma', sigma'', sigma''' on the value channel */
  PetscReal  *x_block;           /* dim x nb input of the taped block */
  PetscReal  *bar_a, *bar_b;     /* reverse-pass cotangents, max width x (nb*S) */
  PetscReal  *ones;              /* block_size ones */
};

#endif
