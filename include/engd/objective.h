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
#include <engd/curvature.h>

typedef struct _p_Objective *Objective;

/* Log events (-log_view), registered with the first Objective: the rows pass (and the H1
   metric's rows), the gradient, the errors, the Hessian-vector products. */
extern PetscClassId  OBJECTIVE_CLASSID;
extern PetscLogEvent OBJECTIVE_Rows, OBJECTIVE_Gradient, OBJECTIVE_Errors, OBJECTIVE_Hessian;

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
/* The local row of local point `point` of term t (rows are stored chunk by chunk). */
PetscErrorCode ObjectiveGetTermRow(Objective, PetscInt term, PetscInt point, PetscInt *row);
/* This rank's chunks: chunk c is local rows [chunk_row[c], chunk_row[c+1]), c < n_chunks_local. */
PetscErrorCode ObjectiveGetChunks(Objective, PetscInt *n_chunks_local, const PetscInt **chunk_row);
/* Draw new points if the iteration starts a new resampling epoch (uniform sampler only). The
   epoch is iteration / resample_every, so calling this with the last iteration done restores
   the point set of any iteration (a restart does). */
PetscErrorCode ObjectiveResample(Objective, PetscInt iteration);
/* Points of term t on this rank: coordinates (dim x n, column-major). */
PetscErrorCode ObjectiveGetTermPoints(Objective, PetscInt term, PetscInt *n_local, const PetscReal **x);

/* The block loop. Every pass over the points (loss, line-search candidates, rows, gradient,
   errors; later J v, J^T w, KFAC's factor sums, Hessian-vector products) is a visitor of one
   loop (visit.c): for every chunk, for every term, block by block (at most the Model's block
   size points, never straddling a chunk), the visitor's `block` is called; `end_piece` after
   the blocks of one term in a chunk, `begin_chunk`/`end_chunk` around a chunk (where a visitor
   adds its chunk's partial sums into double-double accumulators, ddsum.h, so that results do
   not depend on the rank count). The loop computes nothing itself: a visitor evaluates what it
   needs (ObjectiveBlockEvaluate) in its own workspace, so two passes can be live at once. */
typedef enum { OBJECTIVE_TRAINING, OBJECTIVE_EVALUATION } ObjectivePoints;
#define OBJECTIVE_ALL_TERMS (-1)

typedef struct {
  PetscInt           chunk, term; /* the rank's chunk (0-based) and the term */
  const ProblemTerm *info;
  PetscInt           point, n;    /* the term's local points [point, point + n) */
  PetscInt           row;         /* first local row: rows_per_point groups of n rows (an energy
                                     term has one group per output channel, channel-major) */
  PetscInt           rows_per_point;
  PetscReal          scale;       /* sqrt(w_t / N_t): least-squares residuals are scaled by it */
  const PetscReal   *x, *data;    /* dim x n coordinates, n_data x n point data */
} ObjectiveBlock;

typedef struct {
  void *ctx;
  PetscErrorCode (*begin_chunk)(void *ctx, PetscInt chunk);
  PetscErrorCode (*block)(void *ctx, const ObjectiveBlock *);
  PetscErrorCode (*end_piece)(void *ctx, PetscInt chunk, PetscInt term);
  PetscErrorCode (*end_chunk)(void *ctx, PetscInt chunk);
} ObjectiveVisitor;

/* Run the visitor over the training or the evaluation points (these have one term, the box's
   interior, and a chunk per block), over all terms or only `term`. Callbacks may be NULL. */
PetscErrorCode ObjectiveVisit(Objective, ObjectivePoints, PetscInt term, const ObjectiveVisitor *);
/* The first interior term (no faces): the quadrature points of integrals over the domain, as
   Hilbert NGD's H1 metric needs (-1: the problem has none). */
PetscErrorCode ObjectiveGetInteriorTerm(Objective, PetscInt *term);

/* A visitor's workspace for one block, sized for the Model's block size and the most channels. */
typedef struct {
  PetscReal *out;      /* S x nb output channels */
  PetscReal *res;      /* nb: scaled residuals (least squares) or weights c_q = w_t w_q (energy) */
  PetscReal *cot;      /* S x nb cotangents */
  PetscReal *energy, *denergy, *d2energy; /* energy: e (nb), De and diag D^2e (S x nb) */
  PetscReal  part;     /* the block's share of the loss */
  ModelTape  tape;     /* of the block's taped forward pass, for the visitor's reverse passes */
  const PetscReal *first_a, *first_b; /* NULL, or the block's first-layer value pre-activations
                                         a - first_eta b (n_1 x nb each): a pass without a tape
                                         starts from them (ModelForwardFromFirstLayer) */
  PetscReal        first_eta;
} ObjectiveBlockWork;
PetscErrorCode ObjectiveBlockWorkCreate(Objective, ObjectiveBlockWork *);
PetscErrorCode ObjectiveBlockWorkDestroy(ObjectiveBlockWork *);

/* The term kinds (terms.c). The block's forward pass (keep_tape: on w->tape, for the
   visitor's reverse or tangent passes; otherwise a pass that keeps nothing) and its share of the loss, w->part: least squares 1/2 sum r~^2 with w->res = r~ (with
   derivs also w->cot = d r~/d out); energy sum_q c_q e_q with w->res = c_q (with derivs also
   De, D^2e). */
PetscErrorCode ObjectiveBlockEvaluate(Objective, const ObjectiveBlock *, const PetscReal *theta, PetscBool keep_tape, PetscBool derivs, ObjectiveBlockWork *);
/* After ObjectiveBlockEvaluate(..., derivs): w->cot = d(part)/d out; its reverse pass gives
   the block's gradient. */
PetscErrorCode ObjectiveBlockLossCotangents(Objective, const ObjectiveBlock *, ObjectiveBlockWork *);
/* After ObjectiveBlockEvaluate(..., derivs): row group g < rows_per_point: w->cot whose reverse
   pass gives the rows [row + g n, row + (g+1) n), and their residuals in res (n values). */
PetscErrorCode ObjectiveBlockRowGroup(Objective, const ObjectiveBlock *, ObjectiveBlockWork *, PetscInt g, PetscReal *res);

/* The passes (passes.c), visitors of the block loop: */
/* Global loss L(theta). */
PetscErrorCode ObjectiveLoss(Objective, const PetscReal *theta, PetscReal *loss);
/* Global losses L(theta - eta_k dir) for k < n_candidates, with one reduction. */
PetscErrorCode ObjectiveLossCandidates(Objective, const PetscReal *theta, const PetscReal *dir, PetscInt n_candidates, const PetscReal *eta, PetscReal *loss);
/* Local scaled residuals r~ (n_rows_local) and Jacobian rows J~ stored transposed (P x n_rows,
   leading dimension P); returns the global loss. An energy term's points give S rows each
   (block by block, channel-major within a block): the weighted rows of its Gram matrix, with
   residual 0 (see above). */
PetscErrorCode ObjectiveResidualRows(Objective, const PetscReal *theta, PetscReal *res, PetscReal *jac_t, PetscReal *loss);
/* Global gradient of the loss (replicated) and the loss. */
PetscErrorCode ObjectiveGradient(Objective, const PetscReal *theta, PetscReal *grad, PetscReal *loss);

/* The Jacobian rows as the operator of a curvature solver (rows.c): a CURVATURE_ROWS operator
   with storage for this rank's rows and residuals in the Objective's chunk layout (refused
   with a line giving the memory when P x rows exceeds a 32-bit PetscInt). */
PetscErrorCode ObjectiveRowsCreate(Objective, CurvatureOperator *);
PetscErrorCode ObjectiveRowsDestroy(CurvatureOperator *);
/* The rows and residuals at theta (ObjectiveResidualRows) and the loss. */
PetscErrorCode ObjectiveRowsCompute(Objective, const PetscReal *theta, CurvatureOperator *, PetscReal *loss);
/* After ObjectiveRowsCompute at theta: the gradient of the loss, J~^T r~ summed chunk by chunk
   in double-double, or for energy terms (where it is not J~^T r~) the gradient pass. */
PetscErrorCode ObjectiveRowsGradient(Objective, const CurvatureOperator *, const PetscReal *theta, PetscReal *grad);

/* The Jacobian as a matrix-free curvature operator (products.c): a CURVATURE_SHELL operator
   whose mult is this rank's J~ v (n_rows_local values, in the rows' order), mult_transpose
   J~^T w, mult_gram G v = J~^T (J~ v) and diagonal diag G, the last three summed over ranks
   chunk by chunk in double-double (the same bits on any rank count). Each product redoes the
   blocks' forward passes: memory O(P + block S width) per rank (diag G also holds a block's
   rows of one layer, block x the largest layer's parameters), no rows are stored. */
PetscErrorCode ObjectiveShellCreate(Objective, CurvatureOperator *);
PetscErrorCode ObjectiveShellDestroy(CurvatureOperator *);
/* Put the operator at theta (the products use a copy of it) and give the gradient and the loss
   there (ObjectiveGradient). */
PetscErrorCode ObjectiveShellCompute(Objective, const PetscReal *theta, CurvatureOperator *, PetscReal *grad, PetscReal *loss);
/* (J~u).(J~u), (J~u).(J~w), (J~w).(J~w) at theta, i.e. u^T G u, u^T G w, w^T G w, from one forward
   pass and two tangents per block, summed chunk by chunk in double-double (KFAC*'s model). */
PetscErrorCode ObjectiveShellGramDots(Objective, const PetscReal *theta, CurvatureOperator *, const PetscReal *u, const PetscReal *w, PetscReal dots[3]);
/* The exact Hessian of the loss (hessian.c): hv = H v, H = J~^T J~ + sum_i r~_i D^2 r~_i (least
   squares) plus sum_q c_q (J_q^T D^2e_q J_q + De_q . D^2 out_q) (energy terms), by forward-over-
   reverse; with gauss_newton only the Gauss-Newton part G v (G = J~^T J~, ENGD's Gram matrix).
   Summed chunk by chunk in double-double: the same bits on any rank count. Residuals nonlinear
   in the network's channels need the problem's ProblemResidualCurvature. */
PetscErrorCode ObjectiveHessianVector(Objective, const PetscReal *theta, const PetscReal *v, PetscBool gauss_newton, PetscReal *hv);
/* H (or G) assembled from the P products with the unit vectors, symmetrised: P x P, column-
   major, replicated. One pass over the points (a forward pass per block, then P tangent and
   reverse passes; 24 P^2 bytes of sums): for P up to a few thousand. Column j has the bits of
   ObjectiveHessianVector with e_j. */
PetscErrorCode ObjectiveHessianAssemble(Objective, const PetscReal *theta, PetscBool gauss_newton, PetscReal *H);

typedef struct {
  PetscReal rel_l2, rel_h1, rms;
} ObjectiveErrors;
/* Errors against the exact solution on the -n_eval evaluation points (errors.c). */
PetscErrorCode ObjectiveComputeErrors(Objective, const PetscReal *theta, ObjectiveErrors *);

/* KFAC's Kronecker factors (kfac.c; Dangel, Mueller, Zeinhofer 2024). Terms of the same channel
   order form a group (at most two: the interior's and the data's, highest order first). For
   linear layer l with augmented inputs Z = [z; 1] on the value channel and [dz; 0] on the others
   and the output cotangents g of the group's scaled rows (least squares: of r~; energy terms:
   of every row group sqrt(c D^2e)), with N the group's points and S its channels:
     expand  A = 1/(N S) sum_{n,s} Z Z^T,          B = sum_{n,s} g g^T
     reduce  A = 1/N sum_n Zm Zm^T (Zm the channel mean), B = sum_n gs gs^T (gs the channel sum)
   so that the group's Gram block of layer l is about A (x) B on vec [W_l b_l] (theta's layout).
   Summed chunk by chunk in double-double: the same bits on any rank count. */
typedef enum { OBJECTIVE_KFAC_EXPAND, OBJECTIVE_KFAC_REDUCE } ObjectiveKFACVariant;
extern const char *const ObjectiveKFACVariants[];

typedef struct {
  PetscInt        n_layers, n_groups;
  PetscInt        group_order[2];
  const PetscInt *a_size, *b_size; /* layer l at index l - 1: n_{l-1} + 1 and n_l */
  const PetscInt *offset;          /* A of layer l, group g at offset[(l-1) n_groups + g], its B right after */
  PetscInt        length;          /* all factors */
  const PetscInt *term_group;      /* the group of every term */
} ObjectiveKFACLayout;

/* The layout (after ObjectiveSetUp; borrowed). Refused for problems with more than two orders. */
PetscErrorCode ObjectiveKFACGetLayout(Objective, const ObjectiveKFACLayout **);
/* All factors at theta (replicated, symmetric, layout above); with grad (else NULL) also the
   gradient and the loss from the same passes (ObjectiveGradient's loss bit for bit; the
   gradient of least-squares terms from the rows' reverse pass times r~ per layer, equal to
   ObjectiveGradient's to rounding, the same bits on any rank count). */
PetscErrorCode ObjectiveKFACFactors(Objective, const PetscReal *theta, ObjectiveKFACVariant, PetscReal *factors, PetscReal *grad, PetscReal *loss);

#endif
