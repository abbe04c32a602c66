/* A symmetric n x n matrix in a 2-D block-cyclic ScaLAPACK layout and its regularised solve
   with a replicated right-hand side, shared by the curvature solvers that form such a matrix:
   the dense Gram G (scalapack.c, n = P) and the kernel K = J~ J~^T (kernel.c, n = N).
   The caller fills the upper triangle of `matrix` (local part, leading dimension lld); the
   solve is pdsyevd with the spectral filter (CurvatureSpectralFilter) or a shifted pdpotrf /
   pdpotrs that falls back to the eigen solve. */
#ifndef ENGD_BLOCKCYCLIC_H
#define ENGD_BLOCKCYCLIC_H

#include <engd/private/curvatureimpl.h>

typedef struct {
  MPI_Comm   comm;
  PetscMPIInt size;
  int        blacs_handle, ctx;
  int        nprow, npcol, myrow, mycol;
  int        n, nb, lld;
  int        desc[9], desc_b[9];
  int        rows, cols;          /* local size of the matrix */
  int       *proc_row, *proc_col; /* grid coordinates of every rank */
  PetscReal *matrix, *work_matrix, *eigvec, *lambda, *filter, *vec_a, *vec_b, *work;
  int       *iwork;
  int        lwork, liwork;
} BlockCyclicMatrix;

/* Global index of local index l in a block-cyclic dimension. */
static inline PetscInt BlockCyclicGlobal(int l, int nb, int proc, int nprocs) { return (PetscInt)(l / nb) * nprocs * nb + (PetscInt)proc * nb + l % nb; }
/* Local index of global index i on the process row (or column) that owns it. */
static inline PetscInt BlockCyclicLocal(PetscInt i, int nb, int nprocs) { return (i / ((PetscInt)nb * nprocs)) * nb + i % nb; }

/* The most nearly square pr x pc grid (pr <= pc) over comm, block nb (at most n), the matrix and
   the solve's workspace. */
PetscErrorCode BlockCyclicMatrixCreate(MPI_Comm, PetscInt n, PetscInt nb, BlockCyclicMatrix *);
PetscErrorCode BlockCyclicMatrixDestroy(BlockCyclicMatrix *);
/* x = (A + damping I)^+ rhs with the cut-off (eigen) or (A + shift I)^-1 rhs with the Cholesky
   shift (CurvatureCholeskyShift); rhs and x replicated (n), may alias. *shift_used: the shift
   of the Cholesky solve, or the damping (eigen, also after a fallback). */
PetscErrorCode BlockCyclicMatrixSolve(BlockCyclicMatrix *, CurvatureSolveType, const CurvatureRegularization *, const PetscReal *rhs, PetscReal *x, CurvatureSolveInfo *, PetscReal *shift_used);
/* The whole matrix (upper triangle as stored) replicated on every rank, n x n column-major. */
PetscErrorCode BlockCyclicMatrixGather(BlockCyclicMatrix *, PetscReal *full);
/* Bytes per rank of the matrix, its copies and the workspace (an estimate before creation). */
PetscLogDouble BlockCyclicMatrixBytes(const BlockCyclicMatrix *, PetscInt n, PetscInt nb, PetscMPIInt size);

#endif
