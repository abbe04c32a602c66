/* The product of sines u* = a prod_i sin(w x_i): the manufactured solution of poisson (sin_prod),
   heat (sin_prod, in space), helmholtz, nonlinear_poisson and ritz_poisson. */
#include <engd/private/problemimpl.h>

void ProblemSineProduct(PetscInt d, const PetscReal *x, PetscReal a, PetscReal w, PetscReal g, PetscReal *u, PetscReal *grad, PetscInt stride, PetscReal *lap)
{
  PetscReal value = a;

  for (PetscInt i = 0; i < d; i++) value *= PetscSinReal(w * x[i]);
  for (PetscInt i = 0; grad && i < d; i++) {
    PetscReal others = a;
    for (PetscInt j = 0; j < d; j++)
      if (j != i) others *= PetscSinReal(w * x[j]);
    grad[i * stride] = g * PetscCosReal(w * x[i]) * others;
  }
  *u = value;
  /* an eigenfunction of the Laplacian: Laplace(u*) = -d w^2 u* */
  if (lap) *lap = -(PetscReal)d * w * w * value;
}
