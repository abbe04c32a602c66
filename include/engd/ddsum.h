/* Double-double sums: reductions whose result does not depend on the number of ranks.

   A sum over points is formed chunk by chunk, where a chunk is a fixed range of global point
   indices that one rank owns whole; a chunk's partial sum is therefore the same bits on any
   rank count. The partial sums are added in double-double arithmetic (a value hi + lo with
   |lo| <= ulp(hi)/2), locally and across ranks, and rounded to double once at the end. The
   result is the correctly rounded sum of the chunk sums unless that sum lies within about
   1e-30 (relative) of a rounding boundary, so neither the grouping of chunks on ranks nor the
   order in which MPI combines them changes it. The ENGD pseudo-inverse with a tiny cut-off
   turns last-bit differences into different iterates; these sums remove them. */
#ifndef ENGD_DDSUM_H
#define ENGD_DDSUM_H

#include <engd/sys.h>

typedef struct {
  PetscReal hi, lo;
} DDReal;

/* a += x, with the rounding error of hi + x carried in lo (Knuth's TwoSum). */
static inline void DDAdd(DDReal *a, PetscReal x)
{
  const PetscReal s = a->hi + x, xb = s - a->hi, err = (a->hi - (s - xb)) + (x - xb);

  a->hi = s;
  a->lo += err;
}

static inline PetscReal DDRound(DDReal a) { return a.hi + a.lo; }

void DDZero(PetscInt n, DDReal *a);
/* a[i] += x[i] */
void DDAddArray(PetscInt n, const PetscReal *x, DDReal *a);
/* a[k] += A[i + j*lda] over the upper triangle i <= j of the P x P matrix A, k counting
   column by column (packed storage, P(P+1)/2 entries). */
void DDAddUpperPacked(PetscInt P, const PetscReal *A, PetscInt lda, DDReal *a);
/* x[i] = a[i] rounded */
void DDRoundArray(PetscInt n, const DDReal *a, PetscReal *x);
/* Sum a over the ranks of comm, in place, in double-double. */
PetscErrorCode DDAllreduce(MPI_Comm, PetscInt n, DDReal *a);

#endif
