/* Problem: a PDE posed as a sum of least-squares terms (interior residual, boundary data, ...),
   each with its own point set and weight, on a box domain; plus the exact solution used to
   measure errors. Implementations register by name (ProblemRegister) and are chosen with
   -problem <name>. */
#ifndef ENGD_PROBLEM_H
#define ENGD_PROBLEM_H

#include <engd/sys.h>

typedef struct _p_Problem *Problem;

/* Kind of a term: a least-squares residual, or (deep Ritz) a quadrature of an energy density. */
typedef enum { PROBLEM_TERM_LEAST_SQUARES, PROBLEM_TERM_ENERGY } ProblemTermKind;

/* One term of the loss  w/(2N) sum_{x in X} r(x)^2  (least squares), or of the energy
   w sum_{x in X} w_x e(x, u(x), grad u(x))  (kind PROBLEM_TERM_ENERGY, deep Ritz: the first
   point-data value of every point is its quadrature weight w_x). Its points live in the interior of the box
   (n_faces = 0) or on the listed faces: face k is {x : x_{face_coord[k]} = lower or upper},
   face_side[k] = 0 (lower) or 1 (upper). The residual needs the channels of `order`
   (see model.h) and its default point count and weight come from -n_<name>, -<name>_weight. */
typedef struct {
  char      name[32];
  PetscInt  order;
  PetscInt  n_data; /* values per point precomputed by ProblemPointData (source, boundary data) */
  PetscInt  n_points;
  PetscReal weight;
  PetscInt  n_faces;
  PetscInt *face_coord, *face_side;
  ProblemTermKind kind;       /* least squares unless the problem sets it after ProblemAddTerm */
  PetscBool       grid_nodes; /* -sampler grid: nodes including the ends (lower + i h, h = (upper - lower)/(m - 1)) instead of cell centres */
} ProblemTerm;

/* Data of a term at its points that do not depend on the network (source f, boundary values g):
   data[p*n_data + k], computed once per point set so the line search does not redo it. */
typedef PetscErrorCode (*ProblemPointDataFn)(Problem, PetscInt term, PetscInt n, const PetscReal *x, PetscReal *data);
/* r[p] = residual of point p; if cot != NULL also the linearisation: cot[s*n + p] = dr_p/d out_s
   (the Gauss-Newton linearisation for nonlinear operators). out holds the network channels. */
typedef PetscErrorCode (*ProblemResidualFn)(Problem, PetscInt term, PetscInt n, const PetscReal *x, const PetscReal *data, const PetscReal *out, PetscReal *r, PetscReal *cot);

/* Second derivatives of a residual in the channels, for the exact Hessian (Newton): the
   diagonal d2r[s*n + p] = d^2 r_p / d out_s^2 (residuals with mixed second derivatives are not
   supported). Problems whose residuals are affine in the channels need none. */
typedef PetscErrorCode (*ProblemResidualCurvatureFn)(Problem, PetscInt term, PetscInt n, const PetscReal *x, const PetscReal *data, const PetscReal *out, PetscReal *d2r);

/* Energy terms: at each point p the density e[p] and, if not NULL, its derivatives in the
   channels (u, d_1 u, ..., d_d u): de[s*n + p] = de_p/d out_s and the diagonal of the Hessian
   d2e[s*n + p] = d2e_p/d out_s^2. The Hessian must be diagonal and non-negative (the energy
   Gram matrix's rows are its square roots, see objective.h). */
typedef PetscErrorCode (*ProblemEnergyFn)(Problem, PetscInt term, PetscInt n, const PetscReal *x, const PetscReal *data, const PetscReal *out, PetscReal *e, PetscReal *de, PetscReal *d2e);

/* The registered types (-problem). */
#define PROBLEMPOISSON          "poisson"
#define PROBLEMHEAT             "heat"
#define PROBLEMNONLINEARPOISSON "nonlinear_poisson"
#define PROBLEMHELMHOLTZ        "helmholtz"
#define PROBLEMRITZ1D           "ritz1d"
#define PROBLEMRITZPOISSON      "ritz_poisson"
#define PROBLEMREGRESSION       "regression"

PetscErrorCode ProblemRegister(const char name[], PetscErrorCode (*create)(Problem));
PetscErrorCode ProblemCreate(MPI_Comm, Problem *);
PetscErrorCode ProblemSetType(Problem, const char type[]);
/* Options: -problem <type> -dim <d>, the type's own options, and -n_<term>, -<term>_weight. */
PetscErrorCode ProblemSetFromOptions(Problem);
PetscErrorCode ProblemView(Problem, PetscViewer);
PetscErrorCode ProblemDestroy(Problem *);

PetscErrorCode ProblemGetType(Problem, const char **type);
PetscErrorCode ProblemGetDimension(Problem, PetscInt *dim);
PetscErrorCode ProblemGetDomain(Problem, const PetscReal **lower, const PetscReal **upper);
/* Weights c_i of the second-order channel sum_i c_i d_ii u (NULL: the Laplacian). */
PetscErrorCode ProblemGetTraceWeights(Problem, const PetscReal **trace_weights);
PetscErrorCode ProblemGetNumTerms(Problem, PetscInt *n_terms);
PetscErrorCode ProblemGetTerm(Problem, PetscInt term, const ProblemTerm **);
PetscErrorCode ProblemPointData(Problem, PetscInt term, PetscInt n, const PetscReal *x, PetscReal *data);
PetscErrorCode ProblemResidual(Problem, PetscInt term, PetscInt n, const PetscReal *x, const PetscReal *data, const PetscReal *out, PetscReal *r, PetscReal *cot);
/* d2r of the residual of term t (zeros for affine residuals); an error naming the problem if
   it declares neither. */
PetscErrorCode ProblemResidualCurvature(Problem, PetscInt term, PetscInt n, const PetscReal *x, const PetscReal *data, const PetscReal *out, PetscReal *d2r);
PetscErrorCode ProblemEnergy(Problem, PetscInt term, PetscInt n, const PetscReal *x, const PetscReal *data, const PetscReal *out, PetscReal *e, PetscReal *de, PetscReal *d2e);
/* Exact solution u*(x) and, if grad != NULL, its gradient grad[i*n + p]. */
PetscErrorCode ProblemExactSolution(Problem, PetscInt n, const PetscReal *x, PetscReal *u, PetscReal *grad);

#endif
