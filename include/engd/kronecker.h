/* KroneckerSum: the exact inverse of a block-diagonal matrix whose blocks are sums of one or two
   Kronecker products (KFAC's curvature, Martens & Grosse 2015, app. B):
       M_b = A_{b,1} (x) B_{b,1} [+ A_{b,2} (x) B_{b,2}],   A: a_b x a_b,  B: m_b x m_b,
   acting on the column-major m_b x a_b matrix X_b of block b (vec X_b is the block's piece of
   the vector, blocks one after another) as  X -> B_1 X A_1 [+ B_2 X A_2].
   Factoring damps every factor (A + lambda I, B + lambda I; or the pi-corrected split
   A + pi sqrt(lambda) I, B + sqrt(lambda)/pi I with pi^2 = (tr A / a) / (tr B / m)) and computes,
   with two products, the generalized eigenbases A_1 K_A = A_2 K_A diag(s_A), K_A^T A_2 K_A = I
   (LAPACK dsygvd, and the same for B), with one product the eigenbases (dsyevd); then
       M^-1 vec Y = vec( K_B [ (K_B^T Y K_A) ./ (s_B s_A^T + c) ] K_A^T ),   c = 1 (two) or 0 (one),
   four dgemms per block. Blocks are independent: each is decomposed by one rank (the largest
   blocks first, each to the least loaded rank) and broadcast from it (MPI_Bcast), so the result is the same bits on any rank count. -log_view:
   KronFactor (this rank's decompositions), KronShare (the broadcasts), KronApply. */
#ifndef ENGD_KRONECKER_H
#define ENGD_KRONECKER_H

#include <engd/sys.h>

typedef struct _p_KroneckerSum *KroneckerSum;

typedef enum { KRONECKER_DAMPING_ALL, KRONECKER_DAMPING_PI } KroneckerDamping;
extern const char *const KroneckerDampings[];

/* n_blocks blocks of a_size[b] x m_size[b] factors, n_products (1 or 2) products per block. */
PetscErrorCode KroneckerSumCreate(MPI_Comm, PetscInt n_blocks, const PetscInt a_size[], const PetscInt m_size[], PetscInt n_products, KroneckerSum *);
PetscErrorCode KroneckerSumDestroy(KroneckerSum *);
/* Decompose the damped factors: A_{b,k} at factors + offset[b n_products + k] (a_b x a_b,
   column-major, symmetric), B_{b,k} right after it (m_b x m_b). Collective. */
PetscErrorCode KroneckerSumFactor(KroneckerSum, const PetscReal *factors, const PetscInt offset[], PetscReal damping, KroneckerDamping);
/* y = M^-1 x (replicated; x and y may not alias). */
PetscErrorCode KroneckerSumApply(KroneckerSum, const PetscReal *x, PetscReal *y);

#endif
