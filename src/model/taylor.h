/* Helpers shared by the Taylor-mode passes (forward.c, reverse.c, tangent.c, visitors.c). */
#ifndef ENGD_MODEL_TAYLOR_H
#define ENGD_MODEL_TAYLOR_H

#include <engd/private/modelimpl.h>

/* Weight c_i of the trace channel; NULL weights are all ones. */
static inline PetscReal TraceWeight(const PetscReal *c, PetscInt i) { return c ? c[i] : 1.0; }

/* y = W z (+ b on the value channel, the first nb columns) on the nb*S columns of z. */
PETSC_INTERN PetscErrorCode ModelLinearForward_Private(PetscInt n_out, PetscInt n_in, PetscInt nb, PetscInt S, const PetscReal *W, const PetscReal *b, const PetscReal *z, PetscReal *y);

/* Refuse a tape of another Model, or one without a taped forward pass before a reverse or
   tangent pass (caller names the pass). */
PETSC_INTERN PetscErrorCode ModelTapeCheck_Private(Model, ModelTape, PetscBool need_pass, const char *pass);

#endif
