/* Hilbert NGD's H1 metric rows (h1metric.h): a visitor of the Objective's block loop on the
   interior term. */
#include <engd/private/h1metric.h>

struct _p_H1Metric {
  Objective        objective;
  Model            model;
  PetscInt         term, dim, n_params, n_chunks;
  PetscInt        *chunk_row, n_rows_max;
  CurvatureOperator op;
  PetscReal        scale; /* sqrt(|Omega| / N): the quadrature weight's square root */
  PetscReal       *out, *cot;
  ModelTape        tape;
  /* the pass in progress */
  const PetscReal *theta;
  PetscInt         row;
};

static PetscErrorCode CountBlock(void *ctx, const ObjectiveBlock *blk)
{
  H1Metric m = (H1Metric)ctx;

  PetscFunctionBegin;
  m->chunk_row[blk->chunk + 1] += (1 + m->dim) * blk->n;
  PetscFunctionReturn(0);
}

PetscErrorCode H1MetricCreate(Objective objective, H1Metric *metric)
{
  H1Metric               m;
  const PetscReal       *lower, *upper;
  const PetscInt        *chunk_row;
  PetscReal              volume = 1.0;
  PetscInt               S, block_size;
  Problem                problem;
  const ProblemTerm     *info;
  MPI_Comm               comm;

  PetscFunctionBegin;
  PetscCall(ObjectiveGetComm(objective, &comm));
  PetscCall(PetscNew(&m));
  m->objective = objective;
  PetscCall(ObjectiveGetInteriorTerm(objective, &m->term));
  PetscCheck(m->term >= 0, comm, PETSC_ERR_ARG_WRONG, "The problem has no interior term to measure the H1 norm on");
  PetscCall(ObjectiveGetModel(objective, &m->model));
  PetscCall(ObjectiveGetProblem(objective, &problem));
  PetscCall(ModelGetDimension(m->model, &m->dim));
  PetscCall(ModelGetNumParameters(m->model, &m->n_params));
  PetscCall(ModelGetBlockSize(m->model, &block_size));
  PetscCall(ProblemGetDomain(problem, &lower, &upper));
  PetscCall(ProblemGetTerm(problem, m->term, &info));
  for (PetscInt i = 0; i < m->dim; i++) volume *= upper[i] - lower[i];
  m->scale = PetscSqrtReal(volume / (PetscReal)info->n_points);
  PetscCall(ObjectiveGetChunks(objective, &m->n_chunks, &chunk_row));
  PetscCall(PetscCalloc1(m->n_chunks + 1, &m->chunk_row));
  {
    const ObjectiveVisitor count = {m, NULL, CountBlock, NULL, NULL};
    PetscCall(ObjectiveVisit(objective, OBJECTIVE_TRAINING, m->term, &count));
  }
  for (PetscInt c = 0; c < m->n_chunks; c++) m->chunk_row[c + 1] += m->chunk_row[c];
  PetscCall(MPIU_Allreduce(&m->chunk_row[m->n_chunks], &m->n_rows_max, 1, MPIU_INT, MPI_MAX, comm));
  S = ModelNumChannels(m->dim, 1);
  PetscCall(PetscMalloc2(S * block_size, &m->out, S * block_size, &m->cot));
  PetscCall(ModelTapeCreate(m->model, &m->tape));
  m->op.type       = CURVATURE_ROWS;
  m->op.n_params   = m->n_params;
  m->op.n_chunks   = m->n_chunks;
  m->op.chunk_row  = m->chunk_row;
  m->op.n_rows_max = m->n_rows_max;
  PetscCall(PetscCalloc1((size_t)m->n_params * PetscMax(1, m->n_rows_max), &m->op.jac_t));
  *metric = m;
  PetscFunctionReturn(0);
}

PetscErrorCode H1MetricDestroy(H1Metric *metric)
{
  H1Metric m = *metric;

  PetscFunctionBegin;
  if (!m) PetscFunctionReturn(0);
  PetscCall(PetscFree(m->chunk_row));
  PetscCall(PetscFree2(m->out, m->cot));
  PetscCall(ModelTapeDestroy(&m->tape));
  PetscCall(PetscFree(m->op.jac_t));
  PetscCall(PetscFree(m));
  *metric = NULL;
  PetscFunctionReturn(0);
}

PetscErrorCode H1MetricGetMaxRows(H1Metric m, PetscInt *n_rows_max)
{
  PetscFunctionBegin;
  *n_rows_max = m->n_rows_max;
  PetscFunctionReturn(0);
}

static PetscErrorCode RowsBeginChunk(void *ctx, PetscInt chunk)
{
  H1Metric m = (H1Metric)ctx;

  PetscFunctionBegin;
  m->row = m->chunk_row[chunk];
  PetscFunctionReturn(0);
}

/* Rows of channel s (u, then d_i u): one reverse pass with the cotangent e_s per point. */
static PetscErrorCode RowsBlock(void *ctx, const ObjectiveBlock *blk)
{
  H1Metric       m  = (H1Metric)ctx;
  const PetscInt nb = blk->n, S = 1 + m->dim, P = m->n_params;

  PetscFunctionBegin;
  PetscCall(ModelForwardTape(m->model, m->tape, m->theta, nb, blk->x, 1, NULL, m->out));
  for (PetscInt s = 0; s < S; s++, m->row += nb) {
    ModelRowsContext rows = {m->op.jac_t + m->row * P, P};
    PetscCall(PetscArrayzero(m->cot, S * nb));
    for (PetscInt q = 0; q < nb; q++) m->cot[s * nb + q] = m->scale;
    PetscCall(ModelReverse(m->model, m->tape, m->theta, m->cot, ModelLayerVisitRows, &rows));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode H1MetricOperator(H1Metric m, const PetscReal *theta, const CurvatureOperator **op)
{
  const ObjectiveVisitor v = {m, RowsBeginChunk, RowsBlock, NULL, NULL};

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(OBJECTIVE_Rows, 0, 0, 0, 0));
  m->theta = theta;
  PetscCall(ObjectiveVisit(m->objective, OBJECTIVE_TRAINING, m->term, &v));
  PetscCall(PetscLogEventEnd(OBJECTIVE_Rows, 0, 0, 0, 0));
  *op = &m->op;
  PetscFunctionReturn(0);
}
