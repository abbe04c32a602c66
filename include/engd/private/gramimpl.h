#ifndef ENGD_GRAMIMPL_H
#define ENGD_GRAMIMPL_H

#include <engd/gram.h>

typedef struct {
  PetscErrorCode (*setup)(Gram);
  PetscErrorCode (*assemble)(Gram, PetscReal *, PetscInt, const PetscInt *);
  PetscErrorCode (*solve)(Gram, PetscReal, const PetscReal *, PetscReal *, GramSolveInfo *);
  PetscErrorCode (*getmatrix)(Gram, PetscReal *);
  PetscErrorCode (*memory)(Gram, PetscLogDouble *);
  PetscErrorCode (*view)(Gram, PetscViewer);
  PetscErrorCode (*destroy)(Gram);
} GramOps;

struct _p_Gram {
  MPI_Comm      comm;
  PetscMPIInt   rank, size;
  char          type[64];
  GramOps       ops;
  void         *data;
  PetscInt      n_params, n_rows_max;
  PetscReal     rcond;
  GramSolveType solve_type;
  PetscInt      block_size; /* ScaLAPACK block size */
  PetscReal     memory_budget_mb;
  PetscBool     auto_chosen;
  PetscBool     setup_called;
};

/* Spectral filter of the damped pseudo-inverse: factor[i] = 1/(lambda_i + damping) for kept
   eigenvalues (lambda_i > rcond * lambda_max), 0 otherwise. Eigenvalues ascending. */
PetscErrorCode GramSpectralFilter(PetscInt n, const PetscReal *lambda, PetscReal rcond, PetscReal damping, PetscReal *factor, GramSolveInfo *);

PetscReal GramCholeskyShift(Gram, PetscReal damping, PetscReal max_diagonal);

PETSC_EXTERN PetscErrorCode GramCreate_Replicated(Gram);
PETSC_EXTERN PetscErrorCode GramCreate_ScaLAPACK(Gram);

#endif
