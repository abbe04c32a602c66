/* The Objective's data, shared by its files: the point sets (pointset.c), the block loop
   (visit.c), the term kinds (terms.c), the passes (passes.c) and the error norms (errors.c). */
#ifndef ENGD_OBJECTIVEIMPL_H
#define ENGD_OBJECTIVEIMPL_H

#include <engd/objective.h>
#include <engd/ddsum.h>

/* The rank's points of one term. */
typedef struct {
  const ProblemTerm *term;
  PetscInt           start, n_local; /* the rank's points of the term: [start, start + n_local) */
  PetscReal          scale;          /* sqrt(w_t / N_t) (least-squares terms) */
  PetscInt           rows_per_point; /* 1, or the S channels of an energy term */
  PetscReal         *x;              /* dim x n_local */
  PetscReal         *data;           /* n_data x n_local, from ProblemPointData (NULL: none) */
} TermPoints;

/* The points of term t in one chunk: local points [point, point + n), rows from `row` on. */
typedef struct {
  PetscInt point;
  PetscInt n;
  PetscInt row;
} ChunkPiece;

/* Points in chunks: the training points (chunk c holds, for every term t, points
   [floor(c N_t/K), floor((c+1) N_t/K)) of its N_t; ranks own whole chunks; rows are stored
   chunk by chunk, the terms' pieces in order within a chunk, so every chunk is a contiguous
   block of rows) or the evaluation points (one term, a chunk per block). */
typedef struct {
  PetscInt    n_terms;
  TermPoints *terms;
  PetscInt    n_chunks_local;
  ChunkPiece *pieces;    /* n_chunks_local x n_terms */
  PetscInt   *chunk_row; /* first local row of each chunk, and the end (n_chunks_local + 1) */
} PointSet;

/* A pass's accumulators: one double-double loss per candidate parameter vector, or the
   gradient and the loss; the sums of the chunk in progress. */
typedef struct {
  Objective          o;
  ObjectiveBlockWork work;
  DDReal            *acc;
  PetscReal          piece, chunk;
  PetscReal         *res, *jac_t;      /* rows pass: where rows and residuals go */
  PetscReal         *chunk_grad;       /* gradient pass: P values */
  const PetscReal   *theta;
  const PetscReal   *dir;              /* candidates pass: the direction */
  PetscReal          eta;              /* candidates pass: the candidate in progress */
  PetscReal          sums[4];          /* errors pass */
  PetscReal         *u_exact, *grad_exact;
  const PetscReal   *v;                /* Hessian pass: the directions (P x n_dirs; NULL: the unit vectors) */
  PetscInt           n_dirs;
  PetscBool          gauss_newton;     /* Hessian pass: only J~^T J~ v (and the energy's) */
  PetscReal         *dout, *cot_dot, *d2r, *lin_cot; /* Hessian pass: S x nb each */
  PetscReal         *unit, *chunk_hv;  /* Hessian pass: a unit vector (P); the chunk's products (P x n_dirs) */
} Pass;

struct _p_Objective {
  MPI_Comm    comm;
  PetscMPIInt rank, size;
  Model       model;
  Problem     problem;
  PetscInt    dim, n_params, block_size, n_terms, seed;
  PetscInt    model_width1; /* n_1, the first layer's width */
  SamplerType sampler;
  PetscInt    resample_every, epoch;
  PointSet    training, evaluation;
  PetscInt    n_rows_local, n_rows_max, n_rows_global, n_points_global;
  PetscBool   has_energy;
  PetscInt    chunk_rows;                   /* -chunk_rows (0: automatic) */
  PetscInt    n_chunks, chunk_lo, chunk_hi; /* K global chunks; this rank owns [lo, hi) */
  PetscInt    interior_term;                /* the first interior term (-1: none) */
  PetscInt    n_eval, n_eval_local;
  ProblemTerm eval_term; /* interior of the box */
  /* every pass has its own workspace, so that passes do not share scratch */
  Pass       loss, candidates, rows, gradient, errors;
  Pass       hessian;      /* set up by the first Hessian-vector product (hessian.c) */
  DDReal    *dd_hessian;   /* n_params (the first Hessian-vector product allocates it) */
  PetscReal *chunk_hessian; /* n_params */
  PetscReal *theta_trial;  /* candidates: theta - eta_k dir */
  DDReal    *dd_gradient;  /* gradient and loss: n_params + 1 */
  DDReal    *dd_rows_gradient; /* J~^T r~ of the rows operator (rows.c): n_params */
  DDReal    *dd_candidates; /* a loss per line-search candidate: n_dd, grown on demand */
  PetscInt   n_dd;
  /* candidates: the first layer's pre-activations at theta (a) and of the direction (b) for
     every local training point, n_1 per point, term t's from point first_offset[t] on */
  PetscReal *first_a, *first_b;
  PetscInt  *first_offset;
  struct _n_KFACPass *kfac; /* KFAC's factor pass (kfac.c), set up by its first use */
  PetscBool  setup_called;
};

/* pointset.c */
PetscErrorCode ObjectiveSetUpPoints(Objective);
PetscErrorCode ObjectiveGeneratePoints(Objective);
PetscErrorCode ObjectiveDestroyPoints(Objective);

/* passes.c and errors.c: their workspaces */
PetscErrorCode ObjectiveSetUpPasses(Objective);
PetscErrorCode ObjectiveDestroyPasses(Objective);
/* hessian.c */
PetscErrorCode ObjectiveDestroyHessian(Objective);
/* kfac.c */
PetscErrorCode ObjectiveDestroyKFAC(Objective);

#endif
