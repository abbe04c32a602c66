/* Grid, uniform and stratified point sets on the box domain and its faces. Stratified (jittered)
   points are the grid's cells with a uniform point in each instead of the centre: an unbiased
   quadrature of error O(N^(-1/2-1/d)) against uniform points' O(N^(-1/2)), and, drawn anew each
   epoch, nothing a network can fit between fixed points (deep Ritz, README). */
#include <engd/sampler.h>
#include <engd/rng.h>
#include <math.h>

const char *const SamplerTypes[] = {"grid", "uniform", "stratified", "SamplerType", "SAMPLER_", NULL};

void SamplerPartition(PetscInt N, PetscMPIInt rank, PetscMPIInt size, PetscInt *start, PetscInt *n)
{
  const PetscInt base = N / size, extra = N % size;

  *n     = base + (rank < extra ? 1 : 0);
  *start = rank * base + PetscMin((PetscInt)rank, extra);
}

/* m with m^k == n, or -1 if there is none. */
static PetscInt IntegerRoot(PetscInt n, PetscInt k)
{
  PetscInt m, power = 1;

  if (k == 0) return n == 1 ? 1 : -1;
  m = (PetscInt)round(PetscPowReal((PetscReal)n, 1.0 / (PetscReal)k));
  for (PetscInt i = 0; i < k; i++) power *= m;
  return power == n ? m : -1;
}

PetscErrorCode SamplerCheckCount(MPI_Comm comm, SamplerType type, PetscInt dim, const ProblemTerm *term)
{
  PetscFunctionBegin;
  if (type == SAMPLER_UNIFORM) PetscFunctionReturn(0);
  if (term->n_faces == 0) {
    PetscCheck(!term->grid_nodes || IntegerRoot(term->n_points, dim) != 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "-n_%s must be at least 2^%" PetscInt_FMT " for a grid of nodes with both ends, got %" PetscInt_FMT, term->name, dim, term->n_points);
    PetscCheck(IntegerRoot(term->n_points, dim) > 0, comm, PETSC_ERR_ARG_INCOMP, "-n_%s %" PetscInt_FMT " is not a perfect %" PetscInt_FMT "-th power, as -sampler %s needs (or use -sampler uniform)", term->name, term->n_points, dim, SamplerTypes[type]);
  } else {
    const PetscInt per_face = term->n_points / term->n_faces;
    PetscCheck(term->n_points % term->n_faces == 0 && IntegerRoot(per_face, dim - 1) > 0, comm, PETSC_ERR_ARG_INCOMP,
               "-n_%s %" PetscInt_FMT " must be %" PetscInt_FMT " faces times a perfect %" PetscInt_FMT "-th power for -sampler %s (or use -sampler uniform)", term->name, term->n_points, term->n_faces, dim - 1, SamplerTypes[type]);
  }
  PetscFunctionReturn(0);
}

/* Coordinates of cell-centre grid point `index` of m^k points in the listed coordinates; with
   nodes, of the grid of nodes lower + i (upper - lower)/(m - 1), which includes both ends. With
   jitter (stratified), the cell's point is at uniform draws in [0, 1) of the cell instead of its
   centre, the draws of the uniform sampler's point `index` (counters g dim + i). */
static void GridPoint(PetscInt index, PetscInt m, PetscBool nodes, PetscInt dim, PetscInt skip, const PetscReal *lower, const PetscReal *upper, PetscBool jitter, uint64_t seed, uint64_t stream, PetscInt g, PetscReal *x)
{
  for (PetscInt i = 0; i < dim; i++) {
    if (i == skip) continue;
    if (nodes) x[i] = index % m == m - 1 ? upper[i] : lower[i] + (upper[i] - lower[i]) * (PetscReal)(index % m) / (PetscReal)(m - 1);
    else x[i] = lower[i] + (upper[i] - lower[i]) * ((PetscReal)(index % m) + (jitter ? RngUniform(seed, stream, (uint64_t)(g * dim + i)) : 0.5)) / (PetscReal)m;
    index /= m;
  }
}

PetscErrorCode SamplerGenerate(SamplerType type, PetscInt dim, const PetscReal *lower, const PetscReal *upper, const ProblemTerm *term, uint64_t seed, uint64_t stream, PetscInt start, PetscInt n, PetscReal *x)
{
  const PetscInt F = term->n_faces;

  PetscFunctionBegin;
  for (PetscInt q = 0; q < n; q++) {
    const PetscInt g  = start + q;
    PetscReal     *xq = x + q * dim;
    PetscInt       face = -1;
    const PetscBool jitter = type == SAMPLER_STRATIFIED ? PETSC_TRUE : PETSC_FALSE;
    if (F == 0) {
      if (type == SAMPLER_UNIFORM)
        for (PetscInt i = 0; i < dim; i++) xq[i] = lower[i] + (upper[i] - lower[i]) * RngUniform(seed, stream, (uint64_t)(g * dim + i));
      else GridPoint(g, IntegerRoot(term->n_points, dim), term->grid_nodes, dim, -1, lower, upper, jitter, seed, stream, g, xq);
      continue;
    }
    if (type == SAMPLER_UNIFORM) {
      face = g % F;
      for (PetscInt i = 0; i < dim; i++) xq[i] = lower[i] + (upper[i] - lower[i]) * RngUniform(seed, stream, (uint64_t)(g * dim + i));
    } else {
      const PetscInt per_face = term->n_points / F;
      face                    = g / per_face;
      GridPoint(g % per_face, IntegerRoot(per_face, dim - 1), term->grid_nodes, dim, term->face_coord[face], lower, upper, jitter, seed, stream, g, xq);
    }
    xq[term->face_coord[face]] = term->face_side[face] ? upper[term->face_coord[face]] : lower[term->face_coord[face]];
  }
  PetscFunctionReturn(0);
}
