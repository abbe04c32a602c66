/* Q of dsytrd's reduction G = Q T Q^T (uplo "U"), applied to one vector at a time with the same
   bits as LAPACK's dormtr, but with the block reflectors' triangular factors formed once per
   reduction instead of on every call (src/solver/tridiagonalq.c). */
#ifndef ENGD_TRIDIAGONALQ_H
#define ENGD_TRIDIAGONALQ_H

#include <petscsys.h>
#include <petscblaslapack.h>

typedef struct {
  PetscBLASInt n;        /* order of G */
  PetscBLASInt nb;       /* dormql's block size for these sizes; 0: dormql's unblocked path */
  PetscBLASInt n_blocks; /* blocks of reflectors, of nb each (the last may be shorter) */
  PetscReal   *t;        /* n_blocks triangular factors, nb x nb each */
  PetscReal   *work;     /* nb */
} TridiagonalQ;

/* lwork: the workspace dormtr would be given (its block size depends on it). */
PetscErrorCode TridiagonalQCreate(PetscBLASInt n, PetscBLASInt lwork, TridiagonalQ *q);
/* The factors of the reflectors dsytrd left in a (n x n, lda n) and tau. */
PetscErrorCode TridiagonalQFactor(TridiagonalQ *q, const PetscReal *a, const PetscReal *tau);
/* v <- Q v ("N") or Q^T v ("T"), bitwise as dormtr("L", "U", trans, n, 1, a, n, tau, v, n, ...). */
PetscErrorCode TridiagonalQApply(const TridiagonalQ *q, char trans, const PetscReal *a, const PetscReal *tau, PetscReal *v);
PetscErrorCode TridiagonalQDestroy(TridiagonalQ *q);

#endif
