/* Objective: point sets of every term on this rank, and the loss, residuals, Jacobian rows,
   gradient and errors computed block by block with the Model's batched passes. */
#include <engd/objective.h>
#include <petscblaslapack.h>

/* Evaluation points are the same for every run (fixed key), so errors compare across seeds. */
#define EVAL_SEED   20230601ULL
#define EVAL_STREAM 0xE7A1ULL

typedef struct {
  const ProblemTerm *term;
  PetscInt           start, n_local, row_offset;
  PetscReal          scale; /* sqrt(w_t / N_t) */
  PetscReal         *x;     /* dim x n_local */
  PetscReal         *data;  /* n_data x n_local, from ProblemPointData */
} TermPoints;

struct _p_Objective {
  MPI_Comm    comm;
  PetscMPIInt rank, size;
  Model       model;
  Problem     problem;
  PetscInt    dim, n_params, block_size, n_terms, seed;
  SamplerType sampler;
  PetscInt    resample_every, epoch;
  TermPoints *terms;
  PetscInt    n_rows_local, n_rows_max, n_rows_global;
  PetscInt    n_eval, n_eval_local;
  PetscReal  *x_eval;
  ProblemTerm eval_term; /* interior of the box */
  /* workspace for one block */
  PetscReal *out, *res, *cot, *u_exact, *grad_exact, *theta_trial, *reduce_buf;
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
  PetscCall(PetscOptionsEList("-sampler", "Point sets: grid (cell centres) or uniform (counter-based random)", "ObjectiveSetFromOptions", SamplerTypes, 2, SamplerTypes[sampler], &sampler, NULL));
  PetscCall(PetscOptionsInt("-resample_every", "Draw new uniform points every k iterations (0: never)", "ObjectiveResample", o->resample_every, &o->resample_every, NULL));
  PetscCall(PetscOptionsInt("-n_eval", "Number of evaluation points for the errors", "ObjectiveComputeErrors", o->n_eval, &o->n_eval, NULL));
  PetscOptionsEnd();
  o->sampler = (SamplerType)sampler;
  PetscCheck(o->resample_every >= 0, o->comm, PETSC_ERR_ARG_OUTOFRANGE, "-resample_every must be non-negative, got %" PetscInt_FMT, o->resample_every);
  PetscCheck(o->resample_every == 0 || o->sampler == SAMPLER_UNIFORM, o->comm, PETSC_ERR_ARG_INCOMP, "-resample_every needs -sampler uniform (a grid is always the same)");
  PetscCheck(o->n_eval >= 1, o->comm, PETSC_ERR_ARG_OUTOFRANGE, "-n_eval must be positive, got %" PetscInt_FMT, o->n_eval);
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
  o->n_rows_local = o->n_rows_global = 0;
  for (PetscInt t = 0; t < o->n_terms; t++) {
    TermPoints *tp = &o->terms[t];
    PetscCall(ProblemGetTerm(o->problem, t, &tp->term));
    PetscCall(SamplerCheckCount(o->comm, o->sampler, o->dim, tp->term));
    PetscCheck(tp->term->n_points >= o->size, o->comm, PETSC_ERR_ARG_INCOMP, "More ranks (%d) than %s points (%" PetscInt_FMT "): every rank needs at least one point of each term", o->size, tp->term->name, tp->term->n_points);
    SamplerPartition(tp->term->n_points, o->rank, o->size, &tp->start, &tp->n_local);
    tp->scale      = PetscSqrtReal(tp->term->weight / (PetscReal)tp->term->n_points);
    tp->row_offset = o->n_rows_local;
    o->n_rows_local += tp->n_local;
    o->n_rows_global += tp->term->n_points;
    PetscCall(PetscMalloc1(o->dim * tp->n_local, &tp->x));
    PetscCall(PetscMalloc1(PetscMax(1, tp->term->n_data * tp->n_local), &tp->data));
  }
  PetscCall(MPIU_Allreduce(&o->n_rows_local, &o->n_rows_max, 1, MPIU_INT, MPI_MAX, o->comm));
  PetscCall(GeneratePoints(o));

  /* evaluation points: uniform in the box, a fixed key */
  PetscCheck(o->n_eval >= o->size, o->comm, PETSC_ERR_ARG_INCOMP, "More ranks (%d) than evaluation points (-n_eval %" PetscInt_FMT ")", o->size, o->n_eval);
  PetscCall(ProblemGetDomain(o->problem, &lower, &upper));
  PetscCall(PetscStrncpy(o->eval_term.name, "eval", sizeof(o->eval_term.name)));
  o->eval_term.n_points = o->n_eval;
  {
    PetscInt start;
    SamplerPartition(o->n_eval, o->rank, o->size, &start, &o->n_eval_local);
    PetscCall(PetscMalloc1(o->dim * o->n_eval_local, &o->x_eval));
    PetscCall(SamplerGenerate(SAMPLER_UNIFORM, o->dim, lower, upper, &o->eval_term, EVAL_SEED, EVAL_STREAM, start, o->n_eval_local, o->x_eval));
  }

  S     = ModelNumChannels(o->dim, 2);
  n_max = o->block_size;
  PetscCall(PetscMalloc6(S * n_max, &o->out, n_max, &o->res, S * n_max, &o->cot, n_max, &o->u_exact, o->dim * n_max, &o->grad_exact, o->n_params, &o->theta_trial));
  PetscCall(PetscMalloc1(o->n_params + 64, &o->reduce_buf));
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
  PetscCall(PetscViewerASCIIPrintf(viewer, "Points: %" PetscInt_FMT " rows over %d ranks (at most %" PetscInt_FMT " per rank), sampler %s", o->n_rows_global, o->size, o->n_rows_max, SamplerTypes[o->sampler]));
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
    PetscCall(PetscFree(o->reduce_buf));
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

/* Local (unreduced) loss at theta. */
static PetscErrorCode LocalLoss(Objective o, const PetscReal *theta, PetscReal *loss)
{
  PetscFunctionBegin;
  *loss = 0.0;
  for (PetscInt t = 0; t < o->n_terms; t++) {
    const TermPoints *tp = &o->terms[t];
    for (PetscInt b = 0; b < tp->n_local; b += o->block_size) {
      const PetscInt nb = PetscMin(o->block_size, tp->n_local - b);
      PetscReal      part = 0.0;
      PetscCall(BlockResidual(o, t, theta, b, nb, PETSC_FALSE, o->res, NULL, &part));
      *loss += part;
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveLoss(Objective o, const PetscReal *theta, PetscReal *loss)
{
  PetscReal local;

  PetscFunctionBegin;
  PetscCall(LocalLoss(o, theta, &local));
  PetscCall(MPIU_Allreduce(&local, loss, 1, MPIU_REAL, MPIU_SUM, o->comm));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveLossCandidates(Objective o, const PetscReal *theta, const PetscReal *dir, PetscInt K, const PetscReal *eta, PetscReal *loss)
{
  PetscReal *local = o->reduce_buf;

  PetscFunctionBegin;
  PetscCheck(K <= o->n_params + 64, o->comm, PETSC_ERR_ARG_OUTOFRANGE, "Too many line-search candidates: %" PetscInt_FMT, K);
  for (PetscInt k = 0; k < K; k++) {
    for (PetscInt i = 0; i < o->n_params; i++) o->theta_trial[i] = theta[i] - eta[k] * dir[i];
    PetscCall(LocalLoss(o, o->theta_trial, &local[k]));
  }
  PetscCall(PetscLogFlops(2.0 * K * o->n_params));
  PetscCall(MPIU_Allreduce(local, loss, K, MPIU_REAL, MPIU_SUM, o->comm));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveResidualRows(Objective o, const PetscReal *theta, PetscReal *res, PetscReal *jac_t, PetscReal *loss)
{
  PetscReal local = 0.0;

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(ENGD_Rows, 0, 0, 0, 0));
  for (PetscInt t = 0; t < o->n_terms; t++) {
    const TermPoints *tp = &o->terms[t];
    for (PetscInt b = 0; b < tp->n_local; b += o->block_size) {
      const PetscInt nb = PetscMin(o->block_size, tp->n_local - b), row = tp->row_offset + b;
      PetscReal      part = 0.0;
      PetscCall(BlockResidual(o, t, theta, b, nb, PETSC_TRUE, res + row, o->cot, &part));
      PetscCall(ModelBackwardRows(o->model, theta, o->cot, jac_t + row * o->n_params, o->n_params));
      local += part;
    }
  }
  PetscCall(MPIU_Allreduce(&local, loss, 1, MPIU_REAL, MPIU_SUM, o->comm));
  PetscCall(PetscLogEventEnd(ENGD_Rows, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveGradient(Objective o, const PetscReal *theta, PetscReal *grad, PetscReal *loss)
{
  PetscReal *local = o->reduce_buf;
  PetscInt   P     = o->n_params;

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(ENGD_Gradient, 0, 0, 0, 0));
  PetscCall(PetscArrayzero(local, P + 1));
  for (PetscInt t = 0; t < o->n_terms; t++) {
    const TermPoints *tp = &o->terms[t];
    const PetscInt    S  = ModelNumChannels(o->dim, tp->term->order);
    for (PetscInt b = 0; b < tp->n_local; b += o->block_size) {
      const PetscInt nb = PetscMin(o->block_size, tp->n_local - b);
      PetscReal      part = 0.0;
      PetscCall(BlockResidual(o, t, theta, b, nb, PETSC_TRUE, o->res, o->cot, &part));
      /* d(1/2 r~^2)/d theta = r~ dr~/d theta: weight each point's cotangents by its residual */
      for (PetscInt s = 0; s < S; s++)
        for (PetscInt q = 0; q < nb; q++) o->cot[s * nb + q] *= o->res[q];
      PetscCall(ModelBackwardGradient(o->model, theta, o->cot, local));
      local[P] += part;
    }
  }
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, local, P + 1, MPIU_REAL, MPIU_SUM, o->comm));
  PetscCall(PetscArraycpy(grad, local, P));
  *loss = local[P];
  PetscCall(PetscLogEventEnd(ENGD_Gradient, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveComputeErrors(Objective o, const PetscReal *theta, ObjectiveErrors *errors)
{
  PetscReal sums[4] = {0, 0, 0, 0}, global[4]; /* |e|^2, |u*|^2, |grad e|^2, |grad u*|^2 */
  PetscInt  d       = o->dim;

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(ENGD_Eval, 0, 0, 0, 0));
  for (PetscInt b = 0; b < o->n_eval_local; b += o->block_size) {
    const PetscInt   nb = PetscMin(o->block_size, o->n_eval_local - b);
    const PetscReal *x  = o->x_eval + b * d;
    PetscCall(ModelForward(o->model, theta, nb, x, 1, NULL, PETSC_FALSE, o->out));
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
  }
  PetscCall(MPIU_Allreduce(sums, global, 4, MPIU_REAL, MPIU_SUM, o->comm));
  errors->rel_l2 = PetscSqrtReal(global[0] / global[1]);
  errors->rel_h1 = PetscSqrtReal((global[0] + global[2]) / (global[1] + global[3]));
  errors->rms    = PetscSqrtReal(global[0] / (PetscReal)o->n_eval);
  PetscCall(PetscLogEventEnd(ENGD_Eval, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}
