/* The Objective's point sets: every term's training points, split into chunks that ranks own
   whole, their resampling epochs, and the evaluation points of the errors. */
#include <engd/private/objectiveimpl.h>

/* Evaluation points are the same for every run (fixed key), so errors compare across seeds. */
#define EVAL_SEED   20230601ULL
#define EVAL_STREAM 0xE7A1ULL

PetscErrorCode ObjectiveGeneratePoints(Objective o)
{
  const PetscReal *lower, *upper;

  PetscFunctionBegin;
  PetscCall(ProblemGetDomain(o->problem, &lower, &upper));
  for (PetscInt t = 0; t < o->n_terms; t++) {
    TermPoints *tp = &o->training.terms[t];
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
  PointSet      *set  = &o->training;
  PetscInt       n_owned, row = 0;

  PetscFunctionBegin;
  o->n_chunks = o->chunk_rows ? PetscMax(1, (o->n_rows_global + rows / 2) / rows) : PetscMax((o->n_rows_global + rows / 2) / rows, PetscMin(o->n_rows_global, 16));
  PetscCheck(o->n_chunks >= o->size, o->comm, PETSC_ERR_ARG_INCOMP, "%d ranks but the %" PetscInt_FMT " points form only %" PetscInt_FMT " chunk%s of about %" PetscInt_FMT " rows, and every rank needs one: use at most %" PetscInt_FMT " ranks or a smaller -chunk_rows", o->size, o->n_rows_global, o->n_chunks, o->n_chunks > 1 ? "s" : "", rows, o->n_chunks);
  SamplerPartition(o->n_chunks, o->rank, o->size, &o->chunk_lo, &n_owned);
  o->chunk_hi = o->chunk_lo + n_owned;
  for (PetscInt t = 0; t < o->n_terms; t++) {
    TermPoints   *tp = &set->terms[t];
    const int64_t N = tp->term->n_points, K = o->n_chunks;
    tp->start   = (PetscInt)(o->chunk_lo * N / K);
    tp->n_local = (PetscInt)(o->chunk_hi * N / K) - tp->start;
  }
  set->n_chunks_local = n_owned;
  PetscCall(PetscMalloc2(n_owned * o->n_terms, &set->pieces, n_owned + 1, &set->chunk_row));
  for (PetscInt c = 0; c < n_owned; c++) {
    set->chunk_row[c] = row;
    for (PetscInt t = 0; t < o->n_terms; t++) {
      const int64_t N = set->terms[t].term->n_points, K = o->n_chunks, g = o->chunk_lo + c;
      ChunkPiece   *pc = &set->pieces[c * o->n_terms + t];
      pc->point = (PetscInt)(g * N / K) - set->terms[t].start;
      pc->n     = (PetscInt)((g + 1) * N / K - g * N / K);
      pc->row   = row;
      row += pc->n * set->terms[t].rows_per_point;
    }
  }
  set->chunk_row[n_owned] = row;
  o->n_rows_local         = row;
  PetscFunctionReturn(0);
}

/* Evaluation points: uniform in the box, a fixed key; ranks own whole blocks, and every block
   is a chunk of its own. */
static PetscErrorCode SetUpEvaluation(Objective o)
{
  const PetscInt   bs = o->block_size, n_blocks = (o->n_eval + bs - 1) / bs;
  PointSet        *set = &o->evaluation;
  TermPoints      *tp;
  const PetscReal *lower, *upper;
  PetscInt         first, n_owned, start;

  PetscFunctionBegin;
  PetscCheck((PetscInt64)o->n_eval * o->dim <= PETSC_MAX_INT, o->comm, PETSC_ERR_ARG_OUTOFRANGE, "-n_eval %" PetscInt_FMT ": the points' %" PetscInt64_FMT " coordinates are more than a 32-bit PetscInt counts (%" PetscInt_FMT ")", o->n_eval, (PetscInt64)o->n_eval * o->dim, (PetscInt)PETSC_MAX_INT);
  PetscCheck(o->n_eval >= o->size, o->comm, PETSC_ERR_ARG_INCOMP, "More ranks (%d) than evaluation points (-n_eval %" PetscInt_FMT ")", o->size, o->n_eval);
  PetscCall(ProblemGetDomain(o->problem, &lower, &upper));
  PetscCall(PetscStrncpy(o->eval_term.name, "eval", sizeof(o->eval_term.name)));
  o->eval_term.n_points = o->n_eval;
  o->eval_term.order    = 1;
  SamplerPartition(n_blocks, o->rank, o->size, &first, &n_owned);
  start           = first * bs;
  o->n_eval_local = PetscMin((first + n_owned) * bs, o->n_eval) - start;
  set->n_terms    = 1;
  PetscCall(PetscCalloc1(1, &set->terms));
  tp                 = &set->terms[0];
  tp->term           = &o->eval_term;
  tp->start          = start;
  tp->n_local        = o->n_eval_local;
  tp->scale          = 1.0;
  tp->rows_per_point = 1;
  PetscCall(PetscMalloc1(PetscMax(1, o->dim * o->n_eval_local), &tp->x));
  PetscCall(SamplerGenerate(SAMPLER_UNIFORM, o->dim, lower, upper, &o->eval_term, EVAL_SEED, EVAL_STREAM, start, o->n_eval_local, tp->x));
  set->n_chunks_local = n_owned;
  PetscCall(PetscMalloc2(PetscMax(1, n_owned), &set->pieces, n_owned + 1, &set->chunk_row));
  for (PetscInt c = 0; c < n_owned; c++) {
    set->pieces[c].point = c * bs;
    set->pieces[c].n     = PetscMin(bs, o->n_eval_local - c * bs);
    set->pieces[c].row   = c * bs;
    set->chunk_row[c]    = c * bs;
  }
  set->chunk_row[n_owned] = o->n_eval_local;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveSetUpPoints(Objective o)
{
  PetscFunctionBegin;
  o->training.n_terms = o->n_terms;
  PetscCall(PetscCalloc1(o->n_terms, &o->training.terms));
  o->n_rows_global   = 0;
  o->n_points_global = 0;
  for (PetscInt t = 0; t < o->n_terms; t++) {
    TermPoints *tp = &o->training.terms[t];
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
    TermPoints *tp = &o->training.terms[t];
    PetscCall(PetscMalloc1(PetscMax(1, o->dim * tp->n_local), &tp->x));
    PetscCall(PetscMalloc1(PetscMax(1, tp->term->n_data * tp->n_local), &tp->data));
  }
  PetscCall(MPIU_Allreduce(&o->n_rows_local, &o->n_rows_max, 1, MPIU_INT, MPI_MAX, o->comm));
  PetscCall(ObjectiveGeneratePoints(o));
  o->interior_term = -1;
  for (PetscInt t = o->n_terms - 1; t >= 0; t--)
    if (o->training.terms[t].term->n_faces == 0) o->interior_term = t;
  PetscCall(SetUpEvaluation(o));
  PetscFunctionReturn(0);
}

static PetscErrorCode PointSetDestroy(PointSet *set)
{
  PetscFunctionBegin;
  for (PetscInt t = 0; t < set->n_terms; t++) {
    PetscCall(PetscFree(set->terms[t].x));
    PetscCall(PetscFree(set->terms[t].data));
  }
  PetscCall(PetscFree(set->terms));
  if (set->pieces) PetscCall(PetscFree2(set->pieces, set->chunk_row));
  set->n_terms = 0;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveDestroyPoints(Objective o)
{
  PetscFunctionBegin;
  PetscCall(PointSetDestroy(&o->training));
  PetscCall(PointSetDestroy(&o->evaluation));
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
  PetscCall(ObjectiveGeneratePoints(o));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveGetTermPoints(Objective o, PetscInt t, PetscInt *n_local, const PetscReal **x)
{
  PetscFunctionBegin;
  PetscCheck(t >= 0 && t < o->n_terms, o->comm, PETSC_ERR_ARG_OUTOFRANGE, "Term %" PetscInt_FMT " does not exist", t);
  *n_local = o->training.terms[t].n_local;
  *x       = o->training.terms[t].x;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveGetChunks(Objective o, PetscInt *n_chunks_local, const PetscInt **chunk_row)
{
  PetscFunctionBegin;
  *n_chunks_local = o->training.n_chunks_local;
  *chunk_row      = o->training.chunk_row;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveGetTermRow(Objective o, PetscInt t, PetscInt point, PetscInt *row)
{
  const PointSet *set = &o->training;

  PetscFunctionBegin;
  PetscCheck(t >= 0 && t < o->n_terms && point >= 0 && point < set->terms[t].n_local, o->comm, PETSC_ERR_ARG_OUTOFRANGE, "Term %" PetscInt_FMT " has no local point %" PetscInt_FMT, t, point);
  for (PetscInt c = 0; c < set->n_chunks_local; c++) {
    const ChunkPiece *pc = &set->pieces[c * o->n_terms + t];
    if (point >= pc->point && point < pc->point + pc->n) {
      *row = pc->row + point - pc->point;
      PetscFunctionReturn(0);
    }
  }
  SETERRQ(o->comm, PETSC_ERR_PLIB, "Point %" PetscInt_FMT " of term %" PetscInt_FMT " is in no chunk", point, t);
}

PetscErrorCode ObjectiveGetInteriorTerm(Objective o, PetscInt *term)
{
  PetscFunctionBegin;
  *term = o->interior_term;
  PetscFunctionReturn(0);
}
