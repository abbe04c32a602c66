/* Gradient descent with the line search: the first-order baseline. Its direction is the
   gradient; the base class (optimizer.c) does the checks and the line search. */
#include <engd/private/optimizerimpl.h>

PETSC_EXTERN PetscErrorCode OptimizerCreate_GD(Optimizer opt)
{
  PetscFunctionBegin;
  opt->ops.direction = OptimizerGradientDirection;
  PetscFunctionReturn(0);
}
