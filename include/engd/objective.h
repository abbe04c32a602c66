/* Objective: the discrete loss of a Problem for a Model on this rank's points.

   Every term's N_t global points are a pure function of (seed, term, index[, epoch]). The
   points are grouped into K chunks (chunk c holds points [c N_t/K, (c+1) N_t/K) of every term;
   K depends on the sizes only, -chunk_rows) and each rank owns a contiguous range of whole
   chunks. Its rows are stored chunk by chunk, so every chunk is a contiguous block of rows.
   Sums over points are formed per chunk and combined in double-double (ddsum.h): results do
   not depend on the number of ranks, to the last bit. Rows are scaled by sqrt(w_t/N_t) so
   that L = 1/2 |r~|^2, grad L = J~^T r~ and the Gram matrix is G = J~^T J~ summed over ranks.

   Energy terms (deep Ritz, ProblemTermKind) add  w_t sum_q w_q e(x_q, u(x_q), grad u(x_q))  to
   L. Their Gram matrix is the quadrature of the Hessian D^2e in the S channels (u, grad u),
   sum_q c_q J_q^T D^2e_q J_q with c_q = w_t w_q and J_q = d(channels)/d theta; D^2e_q is
   diagonal and non-negative, so it enters as S rows per point, sqrt(c_q D^2e_q,ss) dout_s/dtheta,
   with residual 0 (zero rows where D^2e_q,ss = 0, so row counts stay fixed). Then
   grad L != J~^T r~: use ObjectiveGradient when ObjectiveHasEnergyTerms. */
#ifndef ENGD_OBJECTIVE_H
#define ENGD_OBJECTIVE_H

#include <engd/model.h>
#include <engd/problem.h>
#include <engd/sampler.h>

typedef struct _p_Objective *Objective;

PetscErrorCode ObjectiveCreate(Model, Problem, Objective *);
/* Options: -sampler grid|uniform -resample_every k -n_eval n -chunk_rows r (uniform sets are keyed by -seed) */
PetscErrorCode ObjectiveSetFromOptions(Objective);
PetscErrorCode ObjectiveSetUp(Objective);
PetscErrorCode ObjectiveView(Objective, PetscViewer);
PetscErrorCode ObjectiveDestroy(Objective *);

PetscErrorCode ObjectiveGetModel(Objective, Model *);
PetscErrorCode ObjectiveGetComm(Objective, MPI_Comm *);
PetscErrorCode ObjectiveGetProblem(Objective, Problem *);
/* The sampler, its resampling period (0: never) and the current resampling epoch. */
PetscErrorCode ObjectiveGetSampling(Objective, SamplerType *, PetscInt *resample_every, PetscInt *epoch);
/* Rows on this rank and the largest count on any rank. */
PetscErrorCode ObjectiveGetLocalRows(Objective, PetscInt *n_rows_local, PetscInt *n_rows_max);
PetscErrorCode ObjectiveGetGlobalRows(Objective, PetscInt *n_rows);
/* Points of all terms (equal to the rows unless there are energy terms). */
PetscErrorCode ObjectiveGetGlobalPoints(Objective, PetscInt *n_points);
/* Whether any term is an energy (deep Ritz) term: then the gradient is not J~^T r~. */
PetscErrorCode ObjectiveHasEnergyTerms(Objective, PetscBool *has_energy);
/* This rank's chunks: chunk c is local rows [chunk_row[c], chunk_row[c+1]), c < n_chunks_local. */
/* The local row of local point `point` of term t (rows are stored chunk by chunk). */
PetscErrorCode ObjectiveGetTermRow(Objective, PetscInt term, PetscInt point, PetscInt *row);
PetscErrorCode ObjectiveGetChunks(Objective, PetscInt *n_chunks_local, const PetscInt **chunk_row);
/* Draw new points if the iteration starts a new resampling epoch (uniform sampler only). The
   epoch is iteration / resample_every, so calling this with the last iteration done restores
   the point set of any iteration (a restart does). */
PetscErrorCode ObjectiveResample(Objective, PetscInt iteration);
/* Points of term t on this rank: coordinates (dim x n, column-major). */
PetscErrorCode ObjectiveGetTermPoints(Objective, PetscInt term, PetscInt *n_local, const PetscReal **x);

/* Global loss L(theta). */
PetscErrorCode ObjectiveLoss(Objective, const PetscReal *theta, PetscReal *loss);
/* Global losses L(theta - eta_k dir) for k < n_candidates, with one reduction. */
PetscErrorCode ObjectiveLossCandidates(Objective, const PetscReal *theta, const PetscReal *dir, PetscInt n_candidates, const PetscReal *eta, PetscReal *loss);
/* Local scaled residuals r~ (n_rows_local) and Jacobian rows J~ stored transposed (P x n_rows,
   leading dimension P); returns the global loss. An energy term's points give S rows each
   (block by block, channel-major within a block): the weighted rows of its Gram matrix, with
   residual 0 (see above). */
PetscErrorCode ObjectiveResidualRows(Objective, const PetscReal *theta, PetscReal *res, PetscReal *jac_t, PetscReal *loss);
/* Rows of the H1(Omega) Gram matrix for Hilbert NGD: at every point x of the interior term,
   the rows d u(x)/d theta and d (d_i u)(x)/d theta, scaled by sqrt(|Omega|/N), so that the sum
   of rows^T rows over ranks is the quadrature of (u_theta_i, u_theta_j)_{H1}. rows_t is P x
   n_rows, chunked like the residual rows (chunk c: rows [chunk_row[c], chunk_row[c+1])). */
PetscErrorCode ObjectiveGetH1Rows(Objective, PetscInt *n_chunks_local, const PetscInt **chunk_row, PetscInt *n_rows_max);
PetscErrorCode ObjectiveH1Rows(Objective, const PetscReal *theta, PetscReal *rows_t);
/* Global gradient of the loss (replicated) and the loss. */
PetscErrorCode ObjectiveGradient(Objective, const PetscReal *theta, PetscReal *grad, PetscReal *loss);

typedef struct {
  PetscReal rel_l2, rel_h1, rms;
} ObjectiveErrors;
/* Errors against the exact solution on the -n_eval evaluation points. */
PetscErrorCode ObjectiveComputeErrors(Objective, const PetscReal *theta, ObjectiveErrors *);

#endif
