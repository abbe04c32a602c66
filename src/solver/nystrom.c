/* Randomized Nystrom preconditioner for (G + mu I) x = b as a PCSHELL (curvatureimpl.h), after
   Frangella, Tropp, Udell, "Randomized Nystrom preconditioning", SIAM J. Matrix Anal. Appl. 44
   (2023), Algorithm 2.1 (the stable Nystrom approximation of Tropp et al. 2017, Alg. 3) and
   eq. (5.3):
     Omega = qr(Gaussian P x l),  Y = G Omega,  nu = sqrt(P) eps |Y|_F,  Y_nu = Y + nu Omega,
     C = chol(Omega^T Y_nu),  B = Y_nu C^-1,  B = U Sigma V^T,  Lambda = max(0, Sigma^2 - nu),
     P^-1 = (Lambda_l + mu) U (Lambda + mu I)^-1 U^T + (I - U U^T).
   The sketch costs l products with G (matrix-free: l passes over the points) per operator;
   everything after Y is LAPACK on replicated data, so every rank builds the same U, Lambda.
   The Gaussian test matrix is a pure function of the solver's sketch key (seed, iteration), so
   a restarted run draws the same one. */
#include <engd/private/curvatureimpl.h>
#include <engd/rng.h>
#include <petscblaslapack.h>

typedef struct {
  CurvatureSolver g;
  PetscInt        P, rank;
  PetscErrorCode (*gram)(void *, const PetscReal *, PetscReal *);
  void      *ctx;
  PetscReal  mu;
  PetscReal *omega, *U, *lambda; /* P x l, P x l, l */
  PetscReal *small, *sigma, *work, *t;
  PetscBLASInt lwork;
} Nystrom;

PetscErrorCode CurvatureNystromTestMatrix(PetscInt seed, PetscInt iteration, PetscInt P, PetscInt rank, PetscReal *omega)
{
  PetscFunctionBegin;
  /* Box-Muller on pairs of counter-based uniforms: entry k from the counters 2k, 2k + 1 */
  for (PetscInt k = 0; k < P * rank; k++) {
    const PetscReal u1 = RngUniform((uint64_t)seed, 0x4e7973ULL + (uint64_t)iteration, 2 * (uint64_t)k), u2 = RngUniform((uint64_t)seed, 0x4e7973ULL + (uint64_t)iteration, 2 * (uint64_t)k + 1);
    omega[k] = PetscSqrtReal(-2.0 * PetscLogReal(1.0 - u1)) * PetscCosReal(2.0 * PETSC_PI * u2);
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode SetUp_Nystrom(PC pc)
{
  Nystrom        *ny;
  PetscInt        P, l;
  PetscBLASInt    n, m, info;
  PetscReal       nu = 0.0;
  const PetscReal one = 1.0;

  PetscFunctionBegin;
  PetscCall(PCShellGetContext(pc, &ny));
  P = ny->P;
  l = ny->rank;
  PetscCall(PetscBLASIntCast(P, &n));
  PetscCall(PetscBLASIntCast(l, &m));
  PetscCall(CurvatureNystromTestMatrix(ny->g->sketch_seed, ny->g->sketch_iteration, P, l, ny->omega));
  LAPACKgeqrf_(&n, &m, ny->omega, &n, ny->t, ny->work, &ny->lwork, &info);
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "Nystrom sketch: dgeqrf failed: info %d", (int)info);
  LAPACKorgqr_(&n, &m, &m, ny->omega, &n, ny->t, ny->work, &ny->lwork, &info);
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "Nystrom sketch: dorgqr failed: info %d", (int)info);
  for (PetscInt j = 0; j < l; j++) PetscCall((*ny->gram)(ny->ctx, ny->omega + j * P, ny->U + j * P)); /* Y in U */
  for (PetscInt k = 0; k < P * l; k++) nu += ny->U[k] * ny->U[k];
  nu = PetscSqrtReal((PetscReal)P) * PETSC_MACHINE_EPSILON * PetscSqrtReal(nu);
  for (PetscInt k = 0; k < P * l; k++) ny->U[k] += nu * ny->omega[k];
  /* Omega^T Y_nu, symmetrised (it is symmetric up to rounding) */
  for (PetscInt i = 0; i < l; i++)
    for (PetscInt j = 0; j < l; j++) {
      PetscReal s = 0.0;
      for (PetscInt k = 0; k < P; k++) s += ny->omega[i * P + k] * ny->U[j * P + k];
      ny->small[i + j * l] = s;
    }
  for (PetscInt i = 0; i < l; i++)
    for (PetscInt j = i + 1; j < l; j++) ny->small[i + j * l] = ny->small[j + i * l] = 0.5 * (ny->small[i + j * l] + ny->small[j + i * l]);
  LAPACKpotrf_("U", &m, ny->small, &m, &info);
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "Nystrom sketch: Omega^T (G + nu I) Omega is not positive definite (dpotrf info %d): G has a negative eigenvalue", (int)info);
  BLAStrsm_("R", "U", "N", "N", &n, &m, &one, ny->small, &m, ny->U, &n); /* B = Y_nu C^-1 */
  {
    PetscBLASInt one_i = 1;
    LAPACKgesvd_("O", "N", &n, &m, ny->U, &n, ny->sigma, NULL, &one_i, NULL, &one_i, ny->work, &ny->lwork, &info);
  }
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "Nystrom sketch: dgesvd failed: info %d", (int)info);
  for (PetscInt i = 0; i < l; i++) ny->lambda[i] = PetscMax(0.0, ny->sigma[i] * ny->sigma[i] - nu);
  PetscCall(PetscLogFlops(2.0 * P * l * l * 4.0));
  PetscFunctionReturn(0);
}

/* y = x + U t with t_i = ((Lambda_l + mu)/(Lambda_i + mu) - 1) (U^T x)_i. */
static PetscErrorCode Apply_Nystrom(PC pc, Vec x, Vec y)
{
  Nystrom         *ny;
  const PetscReal *xa;
  PetscReal       *ya;
  PetscBLASInt     n, m, one_i = 1;
  const PetscReal  one = 1.0, zero = 0.0;

  PetscFunctionBegin;
  PetscCall(PCShellGetContext(pc, &ny));
  PetscCall(PetscBLASIntCast(ny->P, &n));
  PetscCall(PetscBLASIntCast(ny->rank, &m));
  PetscCall(VecGetArrayRead(x, &xa));
  PetscCall(VecGetArrayWrite(y, &ya));
  PetscCallBLAS("BLASgemv", BLASgemv_("T", &n, &m, &one, ny->U, &n, xa, &one_i, &zero, ny->t, &one_i));
  for (PetscInt i = 0; i < ny->rank; i++) {
    const PetscReal den = ny->lambda[i] + ny->mu;
    ny->t[i] *= den > 0 ? (ny->lambda[ny->rank - 1] + ny->mu) / den - 1.0 : 0.0;
  }
  PetscCall(PetscArraycpy(ya, xa, ny->P));
  PetscCallBLAS("BLASgemv", BLASgemv_("N", &n, &m, &one, ny->U, &n, ny->t, &one_i, &one, ya, &one_i));
  PetscCall(PetscLogFlops(4.0 * ny->P * ny->rank));
  PetscCall(VecRestoreArrayWrite(y, &ya));
  PetscCall(VecRestoreArrayRead(x, &xa));
  PetscFunctionReturn(0);
}

static PetscErrorCode Destroy_Nystrom(PC pc)
{
  Nystrom *ny;

  PetscFunctionBegin;
  PetscCall(PCShellGetContext(pc, &ny));
  PetscCall(PetscFree4(ny->omega, ny->U, ny->lambda, ny->small));
  PetscCall(PetscFree3(ny->sigma, ny->work, ny->t));
  PetscCall(PetscFree(ny));
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureNystromSetUpPC(PC pc, CurvatureSolver g, PetscInt rank, PetscErrorCode (*gram)(void *, const PetscReal *, PetscReal *), void *ctx)
{
  Nystrom     *ny;
  PetscBLASInt n, m, info, minus_one = -1, one_i = 1;
  PetscReal    query[2];

  PetscFunctionBegin;
  PetscCall(PetscNew(&ny));
  ny->g    = g;
  ny->P    = g->n_params;
  ny->rank = rank;
  ny->gram = gram;
  ny->ctx  = ctx;
  PetscCall(PetscBLASIntCast(ny->P, &n));
  PetscCall(PetscBLASIntCast(rank, &m));
  LAPACKgeqrf_(&n, &m, NULL, &n, NULL, &query[0], &minus_one, &info);
  LAPACKgesvd_("O", "N", &n, &m, NULL, &n, NULL, NULL, &one_i, NULL, &one_i, &query[1], &minus_one, &info);
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "Nystrom: LAPACK workspace query failed: info %d", (int)info);
  ny->lwork = (PetscBLASInt)PetscMax(PetscMax(query[0], query[1]), (PetscReal)(n * m));
  PetscCall(PetscMalloc4(ny->P * rank, &ny->omega, ny->P * rank, &ny->U, rank, &ny->lambda, rank * rank, &ny->small));
  PetscCall(PetscMalloc3(rank, &ny->sigma, ny->lwork, &ny->work, rank, &ny->t));
  PetscCall(PCSetType(pc, PCSHELL));
  PetscCall(PCShellSetContext(pc, ny));
  PetscCall(PCShellSetName(pc, "Nystrom"));
  PetscCall(PCShellSetSetUp(pc, SetUp_Nystrom));
  PetscCall(PCShellSetApply(pc, Apply_Nystrom));
  PetscCall(PCShellSetDestroy(pc, Destroy_Nystrom));
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureNystromSetShift(PC pc, PetscReal mu)
{
  Nystrom *ny;

  PetscFunctionBegin;
  PetscCall(PCShellGetContext(pc, &ny));
  ny->mu = mu;
  PetscFunctionReturn(0);
}
