/* Helpers shared by the Taylor-mode passes (forward.c, reverse.c, tangent.c, visitors.c). */
#ifndef ENGD_MODEL_TAYLOR_H
#define ENGD_MODEL_TAYLOR_H

#include <engd/private/modelimpl.h>

/* Weight c_i of the trace channel; NULL weights are all ones. */
static inline PetscReal TraceWeight(const PetscReal *c, PetscInt i) { return c ? c[i] : 1.0; }

/* y = W z (+ b on the value channel, the first nb columns) on the nb*S columns of z. */
PETSC_INTERN PetscErrorCode ModelLinearForward_Private(PetscInt n_out, PetscInt n_in, PetscInt nb, PetscInt S, const PetscReal *W, const PetscReal *b, const PetscReal *z, PetscReal *y);

/* zbar = W^T ybar on the cols columns (W is n_out x n_in). */
PETSC_INTERN PetscErrorCode ModelLinearBackward_Private(PetscInt n_out, PetscInt n_in, PetscInt cols, const PetscReal *W, const PetscReal *ybar, PetscReal *zbar);

/* The tangent pass (tangent.c); with ydot and zdot (per layer, NULL: the tape's scratch) it
   leaves every hidden layer's pre- and post-activation tangents there (layer 1's ydot: the
   value channel only) for the Hessian's reverse pass (hvp.c). */
PETSC_INTERN PetscErrorCode ModelTangent_Private(Model, ModelTape, const PetscReal *theta, const PetscReal *v, PetscReal *dout, PetscReal **ydot, PetscReal **zdot);

/* Frees what the Hessian passes added to a tape (hvp.c). */
PETSC_INTERN PetscErrorCode ModelTapeHessianDestroy_Private(ModelTape);

/* Refuse a tape of another Model, or one without a taped forward pass before a reverse or
   tangent pass (caller names the pass). */
PETSC_INTERN PetscErrorCode ModelTapeCheck_Private(Model, ModelTape, PetscBool need_pass, const char *pass);

#endif
