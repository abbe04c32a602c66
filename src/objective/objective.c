/* Objective: point sets of every term on this rank, and the loss, residuals, Jacobian rows,
   gradient and errors computed block by block with the Model's batched passes. */
#include <engd/objective.h>
#include <engd/ddsum.h>
#include <petscblaslapack.h>

/* Evaluation points are the same for every run (fixed key), so errors compare across seeds. */
#define EVAL_SEED   20230601ULL
#define EVAL_STREAM 0xE7A1ULL

typedef struct {
  const ProblemTerm *term;
  PetscInt           start, n_local; /* the rank's points of the term: [start, start + n_local) */
  PetscReal          scale; /* sqrt(w_t / N_t) (least-squares terms) */
  PetscInt           rows_per_point; /* 1, or the S channels of an energy term */
  PetscReal         *x;     /* dim x n_local */
  PetscReal         *data;  /* n_data x n_local, from ProblemPointData */
} TermPoints;

/* The points of chunk c (global) are, for every term t, [floor(c N_t/K), floor((c+1) N_t/K)) of
   its N_t points. Ranks own whole chunks, and the rank's rows are stored chunk by chunk, the
   terms' pieces in order within a chunk, so that every chunk is a contiguous block of rows. */
typedef struct {
  PetscInt point; /* first point in the term's local arrays */
  PetscInt n;
  PetscInt row;   /* first local row */
} ChunkPiece;

struct _p_Objective {
  MPI_Comm    comm;
  PetscMPIInt rank, size;
  Model       model;
  Problem     problem;
  PetscInt    dim, n_params, block_size, n_terms, seed;
  SamplerType sampler;
  PetscInt    resample_every, epoch;
  TermPoints *terms;
  PetscInt    n_rows_local, n_rows_max, n_rows_global, n_points_global;
  PetscBool   has_energy;
  PetscInt    chunk_rows;                 /* -chunk_rows (0: automatic) */
  PetscInt    n_chunks, chunk_lo, chunk_hi; /* K global chunks; this rank owns [lo, hi) */
  ChunkPiece *pieces;                     /* (chunk_hi - chunk_lo) x n_terms */
  PetscInt   *chunk_row;                  /* first local row of each owned chunk, and the end */
  PetscInt    h1_term;                    /* the interior term (Hilbert NGD's quadrature points) */
  PetscInt   *h1_chunk_row, n_h1_rows_max; /* the same for the (1 + d) H1 rows per interior point */
  PetscInt    n_eval, n_eval_local;
  PetscReal  *x_eval;
  ProblemTerm eval_term; /* interior of the box */
  /* workspace for one block */
  PetscReal *out, *res, *cot, *u_exact, *grad_exact, *theta_trial, *chunk_grad;
  PetscReal *energy, *denergy, *d2energy; /* e, De, diag D^2e of an energy block */
  DDReal    *dd;         /* double-double accumulators: max(n_params + 1, line-search candidates) */
  PetscInt   n_dd;
  PetscBool  setup_called;
};

PetscErrorCode ObjectiveCreate(Model model, Problem problem, Objective *objective)
{
  Objective o;

  PetscFunctionBegin;
  PetscCall(PetscNew(&o));
  PetscCall(ModelGetComm(model, &o->comm));
  o->model   = model;
  o->problem = problem;
  o->sampler = SAMPLER_GRID;
  o->n_eval  = 10000;
  PetscCallMPI(MPI_Comm_rank(o->comm, &o->rank));
  PetscCallMPI(MPI_Comm_size(o->comm, &o->size));
  *objective = o;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveSetFromOptions(Objective o)
{
  PetscInt sampler = (PetscInt)o->sampler;

  PetscFunctionBegin;
  PetscOptionsBegin(o->comm, NULL, "Point set options", "Objective");
  PetscCall(EngdOptionsEList("-sampler", "Point sets: grid (cell centres) or uniform (counter-based random)", "ObjectiveSetFromOptions", SamplerTypes, 2, SamplerTypes[sampler], &sampler, NULL));
  PetscCall(EngdOptionsInt("-resample_every", "Draw new uniform points every k iterations (0: never)", "ObjectiveResample", o->resample_every, &o->resample_every, NULL));
  PetscCall(EngdOptionsInt("-chunk_rows", "Rows per point chunk: ranks own whole chunks and sums go chunk by chunk, so results do not depend on the rank count (0: automatic, P/2 within [128, 1024])", "ObjectiveSetUp", o->chunk_rows, &o->chunk_rows, NULL));
  PetscCall(EngdOptionsInt("-n_eval", "Number of evaluation points for the errors", "ObjectiveComputeErrors", o->n_eval, &o->n_eval, NULL));
  PetscOptionsEnd();
  o->sampler = (SamplerType)sampler;
  PetscCheck(o->resample_every >= 0, o->comm, PETSC_ERR_ARG_OUTOFRANGE, "-resample_every must be non-negative, got %" PetscInt_FMT, o->resample_every);
  PetscCheck(o->resample_every == 0 || o->sampler == SAMPLER_UNIFORM, o->comm, PETSC_ERR_ARG_INCOMP, "-resample_every needs -sampler uniform (a grid is always the same)");
  PetscCheck(o->n_eval >= 1, o->comm, PETSC_ERR_ARG_OUTOFRANGE, "-n_eval must be positive, got %" PetscInt_FMT, o->n_eval);
  PetscCheck(o->chunk_rows >= 0, o->comm, PETSC_ERR_ARG_OUTOFRANGE, "-chunk_rows must be non-negative, got %" PetscInt_FMT, o->chunk_rows);
  PetscFunctionReturn(0);
}

static PetscErrorCode GeneratePoints(Objective o)
{
  const PetscReal *lower, *upper;

  PetscFunctionBegin;
  PetscCall(ProblemGetDomain(o->problem, &lower, &upper));
  for (PetscInt t = 0; t < o->n_terms; t++) {
    TermPoints *tp = &o->terms[t];
    PetscCall(SamplerGenerate(o->sampler, o->dim, lower, upper, tp->term, (uint64_t)o->seed, ((uint64_t)t << 32) | (uint64_t)o->epoch, tp->start, tp->n_local, tp->x));
    PetscCall(ProblemPointData(o->problem, t, tp->n_local, tp->x, tp->data));
  }
  PetscFunctionReturn(0);
}

/* Split the points into K chunks, K a function of the global sizes only, and give each rank a
   contiguous range of whole chunks. Chunks of P/2 rows (within [128, 1024]) keep the per-chunk
   double-double addition of a P x P product cheap next to the product itself; small point sets
   still get 16 chunks so that they spread over up to 16 ranks. */
static PetscErrorCode SetUpChunks(Objective o)
{
  const PetscInt rows = o->chunk_rows ? o->chunk_rows : PetscMin(1024, PetscMax(128, o->n_params / 2));
  PetscInt       n_owned, row = 0;

  PetscFunctionBegin;
  o->n_chunks = o->chunk_rows ? PetscMax(1, (o->n_rows_global + rows / 2) / rows) : PetscMax((o->n_rows_global + rows / 2) / rows, PetscMin(o->n_rows_global, 16));
  PetscCheck(o->n_chunks >= o->size, o->comm, PETSC_ERR_ARG_INCOMP, "%d ranks but the %" PetscInt_FMT " points form only %" PetscInt_FMT " chunk%s of about %" PetscInt_FMT " rows, and every rank needs one: use at most %" PetscInt_FMT " ranks or a smaller -chunk_rows", o->size, o->n_rows_global, o->n_chunks, o->n_chunks > 1 ? "s" : "", rows, o->n_chunks);
  SamplerPartition(o->n_chunks, o->rank, o->size, &o->chunk_lo, &n_owned);
  o->chunk_hi = o->chunk_lo + n_owned;
  for (PetscInt t = 0; t < o->n_terms; t++) {
    TermPoints *tp = &o->terms[t];
    const int64_t N = tp->term->n_points, K = o->n_chunks;
    tp->start   = (PetscInt)(o->chunk_lo * N / K);
    tp->n_local = (PetscInt)(o->chunk_hi * N / K) - tp->start;
  }
  PetscCall(PetscMalloc2(n_owned * o->n_terms, &o->pieces, n_owned + 1, &o->chunk_row));
  for (PetscInt c = 0; c < n_owned; c++) {
    o->chunk_row[c] = row;
    for (PetscInt t = 0; t < o->n_terms; t++) {
      const int64_t N = o->terms[t].term->n_points, K = o->n_chunks, g = o->chunk_lo + c;
      ChunkPiece   *pc = &o->pieces[c * o->n_terms + t];
      pc->point = (PetscInt)(g * N / K) - o->terms[t].start;
      pc->n     = (PetscInt)((g + 1) * N / K - g * N / K);
      pc->row   = row;
      row += pc->n * o->terms[t].rows_per_point;
    }
  }
  o->chunk_row[n_owned] = row;
  o->n_rows_local       = row;

  o->h1_term = -1;
  for (PetscInt t = o->n_terms - 1; t >= 0; t--)
    if (o->terms[t].term->n_faces == 0) o->h1_term = t;
  PetscCall(PetscMalloc1(n_owned + 1, &o->h1_chunk_row));
  o->h1_chunk_row[0] = 0;
  for (PetscInt c = 0; c < n_owned; c++) o->h1_chunk_row[c + 1] = o->h1_chunk_row[c] + (o->h1_term < 0 ? 0 : (1 + o->dim) * o->pieces[c * o->n_terms + o->h1_term].n);
  PetscCall(MPIU_Allreduce(&o->h1_chunk_row[n_owned], &o->n_h1_rows_max, 1, MPIU_INT, MPI_MAX, o->comm));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveSetUp(Objective o)
{
  const PetscReal *lower, *upper;
  PetscInt         S, n_max;

  PetscFunctionBegin;
  if (o->setup_called) PetscFunctionReturn(0);
  PetscCall(ProblemGetDimension(o->problem, &o->dim));
  PetscCall(ModelSetDimension(o->model, o->dim));
  PetscCall(ModelSetUp(o->model));
  PetscCall(ModelGetNumParameters(o->model, &o->n_params));
  PetscCall(ModelGetBlockSize(o->model, &o->block_size));
  PetscCall(ModelGetSeed(o->model, &o->seed));
  PetscCall(ProblemGetNumTerms(o->problem, &o->n_terms));
  PetscCall(PetscCalloc1(o->n_terms, &o->terms));
  o->n_rows_global   = 0;
  o->n_points_global = 0;
  for (PetscInt t = 0; t < o->n_terms; t++) {
    TermPoints *tp = &o->terms[t];
    PetscCall(ProblemGetTerm(o->problem, t, &tp->term));
    PetscCall(SamplerCheckCount(o->comm, o->sampler, o->dim, tp->term));
    PetscCheck(tp->term->n_points >= o->size, o->comm, PETSC_ERR_ARG_INCOMP, "More ranks (%d) than %s points (%" PetscInt_FMT ")", o->size, tp->term->name, tp->term->n_points);
    tp->scale          = PetscSqrtReal(tp->term->weight / (PetscReal)tp->term->n_points);
    tp->rows_per_point = 1;
    if (tp->term->kind == PROBLEM_TERM_ENERGY) {
      PetscCheck(tp->term->n_data >= 1, o->comm, PETSC_ERR_ARG_WRONG, "Energy term %s needs its quadrature weights as first point-data value", tp->term->name);
      PetscCheck(!tp->term->grid_nodes || o->sampler == SAMPLER_GRID, o->comm, PETSC_ERR_ARG_INCOMP, "The %s term's quadrature (trapezoid rule on grid nodes) needs -sampler grid, got -sampler %s", tp->term->name, SamplerTypes[o->sampler]);
      tp->rows_per_point = ModelNumChannels(o->dim, tp->term->order);
      o->has_energy      = PETSC_TRUE;
    }
    PetscCheck((PetscInt64)o->n_rows_global + (PetscInt64)tp->term->n_points * tp->rows_per_point <= PETSC_MAX_INT && (PetscInt64)tp->term->n_points * o->dim <= PETSC_MAX_INT, o->comm, PETSC_ERR_ARG_OUTOFRANGE, "-n_%s %" PetscInt_FMT ": %" PetscInt64_FMT " points x %" PetscInt_FMT " channels (or coordinates) in all, more than a 32-bit PetscInt counts (%" PetscInt_FMT ")", tp->term->name, tp->term->n_points, (PetscInt64)tp->term->n_points, PetscMax(tp->rows_per_point, o->dim), (PetscInt)PETSC_MAX_INT);
    o->n_rows_global += tp->term->n_points * tp->rows_per_point;
    o->n_points_global += tp->term->n_points;
  }
  PetscCall(SetUpChunks(o));
  for (PetscInt t = 0; t < o->n_terms; t++) {
    TermPoints *tp = &o->terms[t];
    PetscCall(PetscMalloc1(PetscMax(1, o->dim * tp->n_local), &tp->x));
    PetscCall(PetscMalloc1(PetscMax(1, tp->term->n_data * tp->n_local), &tp->data));
  }
  PetscCall(MPIU_Allreduce(&o->n_rows_local, &o->n_rows_max, 1, MPIU_INT, MPI_MAX, o->comm));
  PetscCall(GeneratePoints(o));

  /* evaluation points: uniform in the box, a fixed key, chunks of one block */
  PetscCheck((PetscInt64)o->n_eval * o->dim <= PETSC_MAX_INT, o->comm, PETSC_ERR_ARG_OUTOFRANGE, "-n_eval %" PetscInt_FMT ": the points' %" PetscInt64_FMT " coordinates are more than a 32-bit PetscInt counts (%" PetscInt_FMT ")", o->n_eval, (PetscInt64)o->n_eval * o->dim, (PetscInt)PETSC_MAX_INT);
  PetscCheck(o->n_eval >= o->size, o->comm, PETSC_ERR_ARG_INCOMP, "More ranks (%d) than evaluation points (-n_eval %" PetscInt_FMT ")", o->size, o->n_eval);
  PetscCall(ProblemGetDomain(o->problem, &lower, &upper));
  PetscCall(PetscStrncpy(o->eval_term.name, "eval", sizeof(o->eval_term.name)));
  o->eval_term.n_points = o->n_eval;
  {
    const PetscInt n_chunks = (o->n_eval + o->block_size - 1) / o->block_size;
    PetscInt       first, n_owned, start;
    SamplerPartition(n_chunks, o->rank, o->size, &first, &n_owned);
    start           = first * o->block_size;
    o->n_eval_local = PetscMin((first + n_owned) * o->block_size, o->n_eval) - start;
    PetscCall(PetscMalloc1(PetscMax(1, o->dim * o->n_eval_local), &o->x_eval));
    PetscCall(SamplerGenerate(SAMPLER_UNIFORM, o->dim, lower, upper, &o->eval_term, EVAL_SEED, EVAL_STREAM, start, o->n_eval_local, o->x_eval));
  }

  S       = ModelNumChannels(o->dim, 2);
  n_max   = o->block_size;
  o->n_dd = o->n_params + 64;
  PetscCall(PetscMalloc6(S * n_max, &o->out, n_max, &o->res, S * n_max, &o->cot, n_max, &o->u_exact, o->dim * n_max, &o->grad_exact, o->n_params, &o->theta_trial));
  PetscCall(PetscMalloc2(o->n_params, &o->chunk_grad, o->n_dd, &o->dd));
  PetscCall(PetscMalloc3(n_max, &o->energy, S * n_max, &o->denergy, S * n_max, &o->d2energy));
  o->setup_called = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveResample(Objective o, PetscInt iteration)
{
  PetscInt epoch;

  PetscFunctionBegin;
  if (o->resample_every <= 0) PetscFunctionReturn(0);
  epoch = iteration / o->resample_every;
  if (epoch == o->epoch) PetscFunctionReturn(0);
  o->epoch = epoch;
  PetscCall(GeneratePoints(o));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveView(Objective o, PetscViewer viewer)
{
  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, "Points: %" PetscInt_FMT " rows in %" PetscInt_FMT " chunks over %d ranks (at most %" PetscInt_FMT " per rank), sampler %s", o->n_rows_global, o->n_chunks, o->size, o->n_rows_max, SamplerTypes[o->sampler]));
  PetscCall(PetscViewerASCIIUseTabs(viewer, PETSC_FALSE));
  if (o->resample_every) PetscCall(PetscViewerASCIIPrintf(viewer, ", resampled every %" PetscInt_FMT " iterations", o->resample_every));
  PetscCall(PetscViewerASCIIPrintf(viewer, "; %" PetscInt_FMT " evaluation points\n", o->n_eval));
  PetscCall(PetscViewerASCIIUseTabs(viewer, PETSC_TRUE));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveDestroy(Objective *objective)
{
  Objective o = *objective;

  PetscFunctionBegin;
  if (!o) PetscFunctionReturn(0);
  if (o->setup_called) {
    for (PetscInt t = 0; t < o->n_terms; t++) {
      PetscCall(PetscFree(o->terms[t].x));
      PetscCall(PetscFree(o->terms[t].data));
    }
    PetscCall(PetscFree(o->terms));
    PetscCall(PetscFree(o->x_eval));
    PetscCall(PetscFree6(o->out, o->res, o->cot, o->u_exact, o->grad_exact, o->theta_trial));
    PetscCall(PetscFree2(o->chunk_grad, o->dd));
    PetscCall(PetscFree3(o->energy, o->denergy, o->d2energy));
    PetscCall(PetscFree2(o->pieces, o->chunk_row));
    PetscCall(PetscFree(o->h1_chunk_row));
  }
  PetscCall(PetscFree(o));
  *objective = NULL;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveGetModel(Objective o, Model *model)
{
  PetscFunctionBegin;
  *model = o->model;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveGetComm(Objective o, MPI_Comm *comm)
{
  PetscFunctionBegin;
  *comm = o->comm;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveGetProblem(Objective o, Problem *problem)
{
  PetscFunctionBegin;
  *problem = o->problem;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveGetSampling(Objective o, SamplerType *sampler, PetscInt *resample_every, PetscInt *epoch)
{
  PetscFunctionBegin;
  if (sampler) *sampler = o->sampler;
  if (resample_every) *resample_every = o->resample_every;
  if (epoch) *epoch = o->epoch;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveGetLocalRows(Objective o, PetscInt *n_local, PetscInt *n_max)
{
  PetscFunctionBegin;
  if (n_local) *n_local = o->n_rows_local;
  if (n_max) *n_max = o->n_rows_max;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveGetGlobalRows(Objective o, PetscInt *n_rows)
{
  PetscFunctionBegin;
  *n_rows = o->n_rows_global;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveGetGlobalPoints(Objective o, PetscInt *n_points)
{
  PetscFunctionBegin;
  *n_points = o->n_points_global;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveHasEnergyTerms(Objective o, PetscBool *has_energy)
{
  PetscFunctionBegin;
  *has_energy = o->has_energy;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveGetTermPoints(Objective o, PetscInt t, PetscInt *n_local, const PetscReal **x)
{
  PetscFunctionBegin;
  PetscCheck(t >= 0 && t < o->n_terms, o->comm, PETSC_ERR_ARG_OUTOFRANGE, "Term %" PetscInt_FMT " does not exist", t);
  *n_local = o->terms[t].n_local;
  *x       = o->terms[t].x;
  PetscFunctionReturn(0);
}

/* Scaled residuals of one block (and their cotangents if cot != NULL); returns 1/2 sum r~^2. */
static PetscErrorCode BlockResidual(Objective o, PetscInt t, const PetscReal *theta, PetscInt b, PetscInt nb, PetscBool keep_tape, PetscReal *res, PetscReal *cot, PetscReal *half_sq)
{
  const ProblemTerm *term  = o->terms[t].term;
  const PetscReal    scale = o->terms[t].scale;
  const PetscReal   *x = o->terms[t].x + b * o->dim, *data = o->terms[t].data + b * term->n_data;
  const PetscReal   *trace_weights;
  PetscReal          sum = 0.0;

  PetscFunctionBegin;
  PetscCall(ProblemGetTraceWeights(o->problem, &trace_weights));
  PetscCall(ModelForward(o->model, theta, nb, x, term->order, trace_weights, keep_tape, o->out));
  PetscCall(ProblemResidual(o->problem, t, nb, x, data, o->out, res, cot));
  for (PetscInt q = 0; q < nb; q++) {
    res[q] *= scale;
    sum += res[q] * res[q];
  }
  if (cot)
    for (PetscInt k = 0; k < nb * ModelNumChannels(o->dim, term->order); k++) cot[k] *= scale;
  *half_sq = 0.5 * sum;
  PetscFunctionReturn(0);
}

/* Energy term t on one block: the quadrature  sum_q c_q e_q  with c_q = w_t w_q (w_q the
   quadrature weight, the first point-data value) in *sum, the weights c_q in o->res and, with
   derivs, De and diag D^2e in o->denergy, o->d2energy (channel-major, s*nb + q). */
static PetscErrorCode BlockEnergy(Objective o, PetscInt t, const PetscReal *theta, PetscInt b, PetscInt nb, PetscBool keep_tape, PetscBool derivs, PetscReal *sum)
{
  const ProblemTerm *term = o->terms[t].term;
  const PetscReal   *x = o->terms[t].x + b * o->dim, *data = o->terms[t].data + b * term->n_data;
  PetscReal          total = 0.0;

  PetscFunctionBegin;
  PetscCall(ModelForward(o->model, theta, nb, x, term->order, NULL, keep_tape, o->out));
  PetscCall(ProblemEnergy(o->problem, t, nb, x, data, o->out, o->energy, derivs ? o->denergy : NULL, derivs ? o->d2energy : NULL));
  for (PetscInt q = 0; q < nb; q++) {
    o->res[q] = term->weight * data[q * term->n_data];
    total += o->res[q] * o->energy[q];
  }
  *sum = total;
  PetscFunctionReturn(0);
}

/* The loss of one chunk piece of term t, block by block: half the sum of squared scaled
   residuals, or the energy quadrature. */
static PetscErrorCode PieceLoss(Objective o, PetscInt t, const ChunkPiece *pc, const PetscReal *theta, PetscReal *half_sq)
{
  PetscFunctionBegin;
  *half_sq = 0.0;
  for (PetscInt b = 0; b < pc->n; b += o->block_size) {
    const PetscInt nb = PetscMin(o->block_size, pc->n - b);
    PetscReal      part = 0.0;
    if (o->terms[t].term->kind == PROBLEM_TERM_ENERGY) PetscCall(BlockEnergy(o, t, theta, pc->point + b, nb, PETSC_FALSE, PETSC_FALSE, &part));
    else PetscCall(BlockResidual(o, t, theta, pc->point + b, nb, PETSC_FALSE, o->res, NULL, &part));
    *half_sq += part;
  }
  PetscFunctionReturn(0);
}

/* acc += this rank's loss at theta, added chunk by chunk. */
static PetscErrorCode AccumulateLoss(Objective o, const PetscReal *theta, DDReal *acc)
{
  PetscFunctionBegin;
  for (PetscInt c = 0; c < o->chunk_hi - o->chunk_lo; c++) {
    PetscReal chunk = 0.0;
    for (PetscInt t = 0; t < o->n_terms; t++) {
      PetscReal part = 0.0;
      PetscCall(PieceLoss(o, t, &o->pieces[c * o->n_terms + t], theta, &part));
      chunk += part;
    }
    DDAdd(acc, chunk);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveLoss(Objective o, const PetscReal *theta, PetscReal *loss)
{
  DDReal acc = {0.0, 0.0};

  PetscFunctionBegin;
  PetscCall(AccumulateLoss(o, theta, &acc));
  PetscCall(DDAllreduce(o->comm, 1, &acc));
  *loss = DDRound(acc);
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveLossCandidates(Objective o, const PetscReal *theta, const PetscReal *dir, PetscInt K, const PetscReal *eta, PetscReal *loss)
{
  PetscFunctionBegin;
  PetscCheck(K <= o->n_dd, o->comm, PETSC_ERR_ARG_OUTOFRANGE, "Too many line-search candidates: %" PetscInt_FMT, K);
  DDZero(K, o->dd);
  for (PetscInt k = 0; k < K; k++) {
    for (PetscInt i = 0; i < o->n_params; i++) o->theta_trial[i] = theta[i] - eta[k] * dir[i];
    PetscCall(AccumulateLoss(o, o->theta_trial, &o->dd[k]));
  }
  PetscCall(PetscLogFlops(2.0 * K * o->n_params));
  PetscCall(DDAllreduce(o->comm, K, o->dd));
  DDRoundArray(K, o->dd, loss);
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveGetChunks(Objective o, PetscInt *n_chunks_local, const PetscInt **chunk_row)
{
  PetscFunctionBegin;
  *n_chunks_local = o->chunk_hi - o->chunk_lo;
  *chunk_row      = o->chunk_row;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveGetTermRow(Objective o, PetscInt t, PetscInt point, PetscInt *row)
{
  PetscFunctionBegin;
  PetscCheck(t >= 0 && t < o->n_terms && point >= 0 && point < o->terms[t].n_local, o->comm, PETSC_ERR_ARG_OUTOFRANGE, "Term %" PetscInt_FMT " has no local point %" PetscInt_FMT, t, point);
  for (PetscInt c = 0; c < o->chunk_hi - o->chunk_lo; c++) {
    const ChunkPiece *pc = &o->pieces[c * o->n_terms + t];
    if (point >= pc->point && point < pc->point + pc->n) {
      *row = pc->row + point - pc->point;
      PetscFunctionReturn(0);
    }
  }
  SETERRQ(o->comm, PETSC_ERR_PLIB, "Point %" PetscInt_FMT " of term %" PetscInt_FMT " is in no chunk", point, t);
}

PetscErrorCode ObjectiveResidualRows(Objective o, const PetscReal *theta, PetscReal *res, PetscReal *jac_t, PetscReal *loss)
{
  DDReal acc = {0.0, 0.0};

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(ENGD_Rows, 0, 0, 0, 0));
  for (PetscInt c = 0; c < o->chunk_hi - o->chunk_lo; c++) {
    PetscReal chunk = 0.0;
    for (PetscInt t = 0; t < o->n_terms; t++) {
      const ChunkPiece *pc = &o->pieces[c * o->n_terms + t];
      const PetscInt    S  = o->terms[t].rows_per_point;
      for (PetscInt b = 0; b < pc->n; b += o->block_size) {
        const PetscInt nb = PetscMin(o->block_size, pc->n - b), row = pc->row + S * b;
        PetscReal      part = 0.0;
        if (o->terms[t].term->kind == PROBLEM_TERM_ENERGY) {
          /* D^2e_q = diag(d_s) = L L^T with L = diag(sqrt(d_s)): row s of point q is
             sqrt(c_q d_s) d out_s / d theta (zero where d_s = 0), residual 0 */
          PetscCall(BlockEnergy(o, t, theta, pc->point + b, nb, PETSC_TRUE, PETSC_TRUE, &part));
          for (PetscInt s = 0; s < S; s++) {
            PetscCall(PetscArrayzero(o->cot, S * nb));
            for (PetscInt q = 0; q < nb; q++) {
              const PetscReal d = o->d2energy[s * nb + q];
              PetscCheck(!(d < 0) && !(o->res[q] < 0), PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "Energy term %s: the Gram rows need a non-negative Hessian diagonal and quadrature weights, got d2e %g, weight %g", o->terms[t].term->name, (double)d, (double)o->res[q]);
              o->cot[s * nb + q] = PetscSqrtReal(o->res[q] * d);
              res[row + s * nb + q] = 0.0;
            }
            PetscCall(ModelBackwardRows(o->model, theta, o->cot, jac_t + (row + s * nb) * o->n_params, o->n_params));
          }
        } else {
          PetscCall(BlockResidual(o, t, theta, pc->point + b, nb, PETSC_TRUE, res + row, o->cot, &part));
          PetscCall(ModelBackwardRows(o->model, theta, o->cot, jac_t + row * o->n_params, o->n_params));
        }
        chunk += part;
      }
    }
    DDAdd(&acc, chunk);
  }
  PetscCall(DDAllreduce(o->comm, 1, &acc));
  *loss = DDRound(acc);
  PetscCall(PetscLogEventEnd(ENGD_Rows, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveGetH1Rows(Objective o, PetscInt *n_chunks_local, const PetscInt **chunk_row, PetscInt *n_rows_max)
{
  PetscFunctionBegin;
  PetscCheck(o->h1_term >= 0, o->comm, PETSC_ERR_ARG_WRONG, "The problem has no interior term to measure the H1 norm on");
  if (n_chunks_local) *n_chunks_local = o->chunk_hi - o->chunk_lo;
  if (chunk_row) *chunk_row = o->h1_chunk_row;
  if (n_rows_max) *n_rows_max = o->n_h1_rows_max;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveH1Rows(Objective o, const PetscReal *theta, PetscReal *rows_t)
{
  const PetscInt    t = o->h1_term, S = 1 + o->dim, P = o->n_params;
  const PetscReal  *lower, *upper;
  PetscReal         volume = 1.0, scale;

  PetscFunctionBegin;
  PetscCheck(t >= 0, o->comm, PETSC_ERR_ARG_WRONG, "The problem has no interior term to measure the H1 norm on");
  PetscCall(PetscLogEventBegin(ENGD_Rows, 0, 0, 0, 0));
  PetscCall(ProblemGetDomain(o->problem, &lower, &upper));
  for (PetscInt i = 0; i < o->dim; i++) volume *= upper[i] - lower[i];
  scale = PetscSqrtReal(volume / (PetscReal)o->terms[t].term->n_points); /* quadrature weight */
  for (PetscInt c = 0; c < o->chunk_hi - o->chunk_lo; c++) {
    const ChunkPiece *pc  = &o->pieces[c * o->n_terms + t];
    PetscInt          row = o->h1_chunk_row[c];
    for (PetscInt b = 0; b < pc->n; b += o->block_size) {
      const PetscInt nb = PetscMin(o->block_size, pc->n - b);
      PetscCall(ModelForward(o->model, theta, nb, o->terms[t].x + (pc->point + b) * o->dim, 1, NULL, PETSC_TRUE, o->out));
      for (PetscInt s = 0; s < S; s++, row += nb) { /* rows of channel s: cotangent e_s */
        PetscCall(PetscArrayzero(o->cot, S * nb));
        for (PetscInt q = 0; q < nb; q++) o->cot[s * nb + q] = scale;
        PetscCall(ModelBackwardRows(o->model, theta, o->cot, rows_t + row * P, P));
      }
    }
  }
  PetscCall(PetscLogEventEnd(ENGD_Rows, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveGradient(Objective o, const PetscReal *theta, PetscReal *grad, PetscReal *loss)
{
  const PetscInt P = o->n_params;

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(ENGD_Gradient, 0, 0, 0, 0));
  DDZero(P + 1, o->dd);
  for (PetscInt c = 0; c < o->chunk_hi - o->chunk_lo; c++) {
    PetscReal chunk = 0.0;
    PetscCall(PetscArrayzero(o->chunk_grad, P));
    for (PetscInt t = 0; t < o->n_terms; t++) {
      const ChunkPiece *pc = &o->pieces[c * o->n_terms + t];
      const PetscInt    S  = ModelNumChannels(o->dim, o->terms[t].term->order);
      for (PetscInt b = 0; b < pc->n; b += o->block_size) {
        const PetscInt nb = PetscMin(o->block_size, pc->n - b);
        PetscReal      part = 0.0;
        if (o->terms[t].term->kind == PROBLEM_TERM_ENERGY) {
          /* d(sum_q c_q e_q)/d theta = sum_q c_q De_q . d out_q/d theta */
          PetscCall(BlockEnergy(o, t, theta, pc->point + b, nb, PETSC_TRUE, PETSC_TRUE, &part));
          for (PetscInt s = 0; s < S; s++)
            for (PetscInt q = 0; q < nb; q++) o->cot[s * nb + q] = o->res[q] * o->denergy[s * nb + q];
        } else {
          PetscCall(BlockResidual(o, t, theta, pc->point + b, nb, PETSC_TRUE, o->res, o->cot, &part));
          /* d(1/2 r~^2)/d theta = r~ dr~/d theta: weight each point's cotangents by its residual */
          for (PetscInt s = 0; s < S; s++)
            for (PetscInt q = 0; q < nb; q++) o->cot[s * nb + q] *= o->res[q];
        }
        PetscCall(ModelBackwardGradient(o->model, theta, o->cot, o->chunk_grad));
        chunk += part;
      }
    }
    DDAddArray(P, o->chunk_grad, o->dd);
    DDAdd(&o->dd[P], chunk);
  }
  PetscCall(DDAllreduce(o->comm, P + 1, o->dd));
  DDRoundArray(P, o->dd, grad);
  *loss = DDRound(o->dd[P]);
  PetscCall(PetscLogEventEnd(ENGD_Gradient, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveComputeErrors(Objective o, const PetscReal *theta, ObjectiveErrors *errors)
{
  DDReal   acc[4]; /* |e|^2, |u*|^2, |grad e|^2, |grad u*|^2, summed chunk (= block) by chunk */
  PetscReal global[4];
  PetscInt  d = o->dim;

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(ENGD_Eval, 0, 0, 0, 0));
  DDZero(4, acc);
  for (PetscInt b = 0; b < o->n_eval_local; b += o->block_size) {
    const PetscInt   nb = PetscMin(o->block_size, o->n_eval_local - b);
    const PetscReal *x  = o->x_eval + b * d;
    PetscCall(ModelForward(o->model, theta, nb, x, 1, NULL, PETSC_FALSE, o->out));
    PetscReal        sums[4] = {0, 0, 0, 0};
    PetscCall(ProblemExactSolution(o->problem, nb, x, o->u_exact, o->grad_exact));
    for (PetscInt q = 0; q < nb; q++) {
      const PetscReal e = o->out[q] - o->u_exact[q];
      sums[0] += e * e;
      sums[1] += o->u_exact[q] * o->u_exact[q];
      for (PetscInt i = 0; i < d; i++) {
        const PetscReal g = o->grad_exact[i * nb + q], ge = o->out[(1 + i) * nb + q] - g;
        sums[2] += ge * ge;
        sums[3] += g * g;
      }
    }
    DDAddArray(4, sums, acc);
  }
  PetscCall(DDAllreduce(o->comm, 4, acc));
  DDRoundArray(4, acc, global);
  errors->rel_l2 = PetscSqrtReal(global[0] / global[1]);
  errors->rel_h1 = PetscSqrtReal((global[0] + global[2]) / (global[1] + global[3]));
  errors->rms    = PetscSqrtReal(global[0] / (PetscReal)o->n_eval);
  PetscCall(PetscLogEventEnd(ENGD_Eval, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}
