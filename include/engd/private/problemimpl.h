#ifndef ENGD_PROBLEMIMPL_H
#define ENGD_PROBLEMIMPL_H

#include <engd/problem.h>

typedef struct {
  PetscErrorCode (*setfromoptions)(Problem, PetscOptionItems *);
  PetscErrorCode (*view)(Problem, PetscViewer);
  PetscErrorCode (*destroy)(Problem);
  ProblemPointDataFn pointdata;
  ProblemResidualFn  residual;
  ProblemEnergyFn    energy; /* energy terms (deep Ritz) */
  ProblemResidualCurvatureFn residualcurvature; /* residuals nonlinear in the channels (exact Hessian) */
  PetscErrorCode (*exact)(Problem, PetscInt n, const PetscReal *x, PetscReal *u, PetscReal *grad);
} ProblemOps;

struct _p_Problem {
  MPI_Comm    comm;
  char        type[64];
  ProblemOps  ops;
  void       *data;
  PetscInt    dim;
  PetscReal  *lower, *upper;  /* box domain, dim entries each */
  PetscReal  *trace_weights;  /* NULL: Laplacian */
  PetscInt    n_terms;
  ProblemTerm terms[8];
  PetscBool   linear_residual; /* every residual is affine in the channels: no residual curvature */
};

/* For implementations: size the box to [lo, hi]^dim (allocates lower/upper). */
PetscErrorCode ProblemSetBox(Problem, PetscReal lo, PetscReal hi);
/* Add a term: n_faces = 0 for the interior; otherwise faces of the given coordinates
   (both sides if side < 0, else only that side). Returns the term's index. */
PetscErrorCode ProblemAddTerm(Problem, const char name[], PetscInt order, PetscInt n_data, PetscInt n_points, PetscReal weight, PetscInt n_coords, const PetscInt coords[], PetscInt side, PetscInt *term);
/* The Dirichlet term "boundary" on every face of the box: channel u, one data value g. */
PetscErrorCode ProblemAddBoundaryTerm(Problem, PetscInt n_points, PetscReal weight, PetscInt *term);
/* Residual of a data term, r = u - g with g = data, and its cotangent dr/du = 1 (channel u). */
void ProblemDataResidual(PetscInt n, const PetscReal *data, const PetscReal *out, PetscReal *r, PetscReal *cot);
/* ops.destroy of a type whose data is one PetscNew'd struct: frees p->data. */
PetscErrorCode ProblemDestroyDefault(Problem);
/* The product of sines at one point x in d dimensions (src/problem/sines.c):
     *u = a prod_{i<d} sin(w x_i)                                   (multiplied left to right from a)
     grad[i*stride] = g cos(w x_i) a prod_{j!=i} sin(w x_j)          if grad != NULL
     *lap = -d w^2 *u                                                if lap != NULL
   With g = w, grad is the gradient of u; with g = b w it is that of b u (heat: b = exp(-rate t)).
   Every problem with this solution computes it here, in this order of operations (the histories
   of the configs depend on its last bits). */
void ProblemSineProduct(PetscInt d, const PetscReal *x, PetscReal a, PetscReal w, PetscReal g, PetscReal *u, PetscReal *grad, PetscInt stride, PetscReal *lap);

#endif
