/* Gram: the natural-gradient linear algebra. Assembles G = sum_ranks J~^T J~ from each rank's
   Jacobian rows and applies its damped pseudo-inverse,
       d = sum_{i: lambda_i > rcond lambda_max} v_i v_i^T rhs / (lambda_i + damping),
   returning d on every rank. Back-ends (-engd_gram):
     replicated  a dsyrk per chunk summed in double-double, MPI_Allreduce of the packed G, every
                 rank solves the P x P problem (LAPACK): the same G on any rank count;
     scalapack   G in a 2-D block-cyclic layout, built panel by panel from local dgemms and
                 MPI_Reduce_scatter, pdsyevd: ~P^2/R memory;
     auto        replicated while its copies of G fit the memory budget, else scalapack. */
#ifndef ENGD_GRAM_H
#define ENGD_GRAM_H

#include <engd/sys.h>

typedef struct _p_Gram *Gram;

/* -engd_solve: eigen = pseudo-inverse via eigendecomposition; cholesky = damped Cholesky that
   falls back to eigen when the factorisation fails. */
typedef enum { GRAM_SOLVE_EIGEN, GRAM_SOLVE_CHOLESKY } GramSolveType;
extern const char *const GramSolveTypes[];

typedef struct {
  PetscInt  n_kept;       /* eigenvalues kept by the cut-off (eigen solves) */
  PetscReal lambda_max, lambda_min_kept;
  PetscBool used_fallback; /* Cholesky failed, eigen used */
} GramSolveInfo;

/* The registered back-ends (-engd_gram), and auto: chosen by the memory model at set-up. */
#define GRAMREPLICATED "replicated"
#define GRAMSCALAPACK  "scalapack"
#define GRAMAUTO       "auto"

PetscErrorCode GramRegister(const char name[], PetscErrorCode (*create)(Gram));
PetscErrorCode GramCreate(MPI_Comm, Gram *);
PetscErrorCode GramSetType(Gram, const char type[]);
/* Sizes: P parameters, at most n_rows_max local rows on any rank. */
PetscErrorCode GramSetSizes(Gram, PetscInt n_params, PetscInt n_rows_max);
/* Options: -engd_gram replicated|scalapack|auto -engd_rcond -engd_solve -gram_memory_mb
   -gram_block_size -gram_memory_mb */
PetscErrorCode GramSetFromOptions(Gram);
PetscErrorCode GramSetUp(Gram);
PetscErrorCode GramView(Gram, PetscViewer);
PetscErrorCode GramDestroy(Gram *);
PetscErrorCode GramGetType(Gram, const char **);
PetscErrorCode GramSetRcond(Gram, PetscReal rcond);
PetscErrorCode GramGetRcond(Gram, PetscReal *rcond);

/* G = sum over ranks of J~^T J~ for this rank's rows (jac_t: P x n_rows_local, ld P), given as
   n_chunks chunks: chunk c is rows [chunk_row[c], chunk_row[c+1]) and n_rows_local =
   chunk_row[n_chunks]. The replicated back-end sums chunk by chunk in double-double, so G does
   not depend on the rank count when the chunks are fixed global ranges (objective.h). jac_t
   must have room for n_rows_max columns: a back-end may zero the columns past n_rows_local
   to use them as padding. */
PetscErrorCode GramAssemble(Gram, PetscReal *jac_t, PetscInt n_chunks, const PetscInt chunk_row[]);
/* dir = (G + damping I)^+ rhs with the relative cut-off; rhs and dir replicated. */
PetscErrorCode GramSolve(Gram, PetscReal damping, const PetscReal *rhs, PetscReal *dir, GramSolveInfo *);
/* Copy of the assembled G (P x P, replicated on every rank) for tests and diagnostics. */
PetscErrorCode GramGetMatrix(Gram, PetscReal *gram);
/* Bytes per rank this back-end needs, from its memory model. */
PetscErrorCode GramGetMemoryEstimate(Gram, PetscLogDouble *bytes_per_rank);

#endif
