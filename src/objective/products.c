/* The Objective's Jacobian as a matrix-free curvature operator (objective.h, ObjectiveShell*):
   J~ v (this rank's rows), J~^T w and G v = J~^T (J~ v) summed over ranks, and the diagonal of
   G, each a visitor of the block loop with its own workspace and tape. No row is stored: a
   block's forward pass is redone for every product, so memory is O(P + block S width) (the
   diagonal also holds one layer's rows of a block). Every sum over points goes chunk by chunk
   into double-double, so J~^T w, G v and diag G are the same bits on any rank count. */
#include <engd/private/objectiveimpl.h>

typedef struct {
  Objective          o;
  ObjectiveBlockWork work;
  PetscReal         *theta;      /* the point of the products (a copy) */
  const PetscReal   *v, *w;      /* the product's input: P values, or this rank's rows */
  PetscReal         *Jv;         /* J~ v: this rank's rows (or a block's for G v) */
  PetscReal         *dout;       /* S x nb tangent channels */
  PetscReal         *cot_w;      /* S x nb: sum over the row groups of w_row d r~_row / d out */
  PetscReal         *block_rows; /* scratch residuals (S x nb), then G v's J~ v of a block */
  PetscReal         *chunk_sum;  /* P: the chunk's partial sum */
  DDReal            *acc;        /* P */
  PetscReal         *layer_rows; /* diag: one layer's rows of a block (nb x layer parameters) */
  PetscInt           layer_size; /* the most parameters of a layer */
  const PetscReal   *u2;         /* Gram dots: the second direction */
  PetscReal         *dout2;      /* Gram dots: its tangent channels (S x nb) */
  PetscReal          dots_chunk[3];
  DDReal             dots_acc[3];
} Products;

/* The tangent channels of the block at theta (forward pass on the tape, then J v per channel). */
static PetscErrorCode BlockTangent(Products *p, const ObjectiveBlock *blk, const PetscReal *v)
{
  PetscFunctionBegin;
  PetscCall(ObjectiveBlockEvaluate(p->o, blk, p->theta, PETSC_TRUE, PETSC_TRUE, &p->work));
  PetscCall(ModelTangent(p->o->model, p->work.tape, p->theta, v, p->dout));
  PetscFunctionReturn(0);
}

/* A block's rows applied to v: row (g, q) is sum_s cot_s dout_s with the row group's
   cotangents. */
static PetscErrorCode BlockRowsTimes(Products *p, const ObjectiveBlock *blk, PetscReal *Jv)
{
  const PetscInt S = ModelNumChannels(p->o->dim, blk->info->order), nb = blk->n;

  PetscFunctionBegin;
  for (PetscInt g = 0; g < blk->rows_per_point; g++) {
    PetscCall(ObjectiveBlockRowGroup(p->o, blk, &p->work, g, p->block_rows));
    for (PetscInt q = 0; q < nb; q++) {
      PetscReal s = 0.0;
      for (PetscInt c = 0; c < S; c++) s += p->work.cot[c * nb + q] * p->dout[c * nb + q];
      Jv[g * nb + q] = s;
    }
  }
  PetscFunctionReturn(0);
}

/* chunk_sum += the block's rows weighted by w (rows_per_point x nb): one reverse pass with the
   row groups' cotangents scaled by their weights (an energy term's groups live on different
   channels, so their sum loses nothing). After ObjectiveBlockEvaluate with the tape. */
static PetscErrorCode BlockRowsTransposeTimes(Products *p, const ObjectiveBlock *blk, const PetscReal *w)
{
  const PetscInt S = ModelNumChannels(p->o->dim, blk->info->order), nb = blk->n;

  PetscFunctionBegin;
  PetscCall(PetscArrayzero(p->cot_w, S * nb));
  for (PetscInt g = 0; g < blk->rows_per_point; g++) {
    PetscCall(ObjectiveBlockRowGroup(p->o, blk, &p->work, g, p->block_rows));
    for (PetscInt c = 0; c < S; c++)
      for (PetscInt q = 0; q < nb; q++) p->cot_w[c * nb + q] += w[g * nb + q] * p->work.cot[c * nb + q];
  }
  PetscCall(ModelReverse(p->o->model, p->work.tape, p->theta, p->cot_w, ModelLayerVisitGradient, p->chunk_sum));
  PetscFunctionReturn(0);
}

static PetscErrorCode JvBlock(void *ctx, const ObjectiveBlock *blk)
{
  Products *p = (Products *)ctx;

  PetscFunctionBegin;
  PetscCall(BlockTangent(p, blk, p->v));
  PetscCall(BlockRowsTimes(p, blk, p->Jv + blk->row));
  PetscFunctionReturn(0);
}

static PetscErrorCode SumBeginChunk(void *ctx, PetscInt chunk)
{
  Products *p = (Products *)ctx;

  PetscFunctionBegin;
  PetscCall(PetscArrayzero(p->chunk_sum, p->o->n_params));
  PetscFunctionReturn(0);
}

static PetscErrorCode SumEndChunk(void *ctx, PetscInt chunk)
{
  Products *p = (Products *)ctx;

  PetscFunctionBegin;
  DDAddArray(p->o->n_params, p->chunk_sum, p->acc);
  PetscFunctionReturn(0);
}

static PetscErrorCode JTwBlock(void *ctx, const ObjectiveBlock *blk)
{
  Products *p = (Products *)ctx;

  PetscFunctionBegin;
  PetscCall(ObjectiveBlockEvaluate(p->o, blk, p->theta, PETSC_TRUE, PETSC_TRUE, &p->work));
  PetscCall(BlockRowsTransposeTimes(p, blk, p->w + blk->row));
  PetscFunctionReturn(0);
}

/* G v block by block: the block's J~ v, then its rows weighted by it (the same arithmetic as
   J~^T (J~ v) through the two products, in one forward pass). */
static PetscErrorCode GvBlock(void *ctx, const ObjectiveBlock *blk)
{
  Products *p = (Products *)ctx;

  PetscFunctionBegin;
  PetscCall(BlockTangent(p, blk, p->v));
  PetscCall(BlockRowsTimes(p, blk, p->Jv));
  PetscCall(BlockRowsTransposeTimes(p, blk, p->Jv));
  PetscFunctionReturn(0);
}

/* diag G: a layer's rows of the block (ModelLayerVisitRows into a buffer of that layer's
   parameters: W_l then b_l, as in theta), squared into the chunk's sum. */
static PetscErrorCode DiagonalLayer(const ModelLayer *layer, void *ctx)
{
  Products        *p     = (Products *)ctx;
  ModelLayer       local = *layer;
  const PetscInt   n     = layer->n_out * (layer->n_in + 1);
  ModelRowsContext rows  = {p->layer_rows, n};
  PetscReal       *sum   = p->chunk_sum + layer->w_offset;

  PetscFunctionBegin;
  local.w_offset = 0;
  local.b_offset = layer->b_offset - layer->w_offset;
  PetscCall(ModelLayerVisitRows(&local, &rows));
  for (PetscInt q = 0; q < layer->n_points; q++)
    for (PetscInt i = 0; i < n; i++) sum[i] += p->layer_rows[q * n + i] * p->layer_rows[q * n + i];
  PetscFunctionReturn(0);
}

static PetscErrorCode DiagonalBlock(void *ctx, const ObjectiveBlock *blk)
{
  Products *p = (Products *)ctx;

  PetscFunctionBegin;
  PetscCall(ObjectiveBlockEvaluate(p->o, blk, p->theta, PETSC_TRUE, PETSC_TRUE, &p->work));
  for (PetscInt g = 0; g < blk->rows_per_point; g++) {
    PetscCall(ObjectiveBlockRowGroup(p->o, blk, &p->work, g, p->block_rows));
    PetscCall(ModelReverse(p->o->model, p->work.tape, p->theta, p->work.cot, DiagonalLayer, p));
  }
  PetscFunctionReturn(0);
}

/* Run a summing visitor and round its double-double sum into out (replicated). */
static PetscErrorCode VisitSum(Products *p, PetscErrorCode (*block)(void *, const ObjectiveBlock *), PetscReal *out)
{
  const ObjectiveVisitor v = {p, SumBeginChunk, block, NULL, SumEndChunk};

  PetscFunctionBegin;
  DDZero(p->o->n_params, p->acc);
  PetscCall(ObjectiveVisit(p->o, OBJECTIVE_TRAINING, OBJECTIVE_ALL_TERMS, &v));
  PetscCall(DDAllreduce(p->o->comm, p->o->n_params, p->acc));
  DDRoundArray(p->o->n_params, p->acc, out);
  PetscFunctionReturn(0);
}

static PetscErrorCode Mult_Shell(void *ctx, const PetscReal *v, PetscReal *Jv)
{
  Products              *p   = (Products *)ctx;
  const ObjectiveVisitor vis = {p, NULL, JvBlock, NULL, NULL};

  PetscFunctionBegin;
  p->v  = v;
  p->Jv = Jv;
  PetscCall(ObjectiveVisit(p->o, OBJECTIVE_TRAINING, OBJECTIVE_ALL_TERMS, &vis));
  PetscFunctionReturn(0);
}

static PetscErrorCode MultTranspose_Shell(void *ctx, const PetscReal *w, PetscReal *JTw)
{
  Products *p = (Products *)ctx;

  PetscFunctionBegin;
  p->w = w;
  PetscCall(VisitSum(p, JTwBlock, JTw));
  PetscFunctionReturn(0);
}

static PetscErrorCode MultGram_Shell(void *ctx, const PetscReal *v, PetscReal *Gv)
{
  Products *p = (Products *)ctx;

  PetscFunctionBegin;
  p->v  = v;
  p->Jv = p->block_rows + p->o->block_size * ModelNumChannels(p->o->dim, 2);
  PetscCall(VisitSum(p, GvBlock, Gv));
  PetscFunctionReturn(0);
}

static PetscErrorCode Diagonal_Shell(void *ctx, PetscReal *diag)
{
  Products *p = (Products *)ctx;

  PetscFunctionBegin;
  if (!p->layer_rows) PetscCall(PetscMalloc1((size_t)p->o->block_size * p->layer_size, &p->layer_rows));
  PetscCall(VisitSum(p, DiagonalBlock, diag));
  PetscFunctionReturn(0);
}

/* Gram dots: both tangents of the block on one forward pass, their rows, the chunk's products. */
static PetscErrorCode DotsBlock(void *ctx, const ObjectiveBlock *blk)
{
  Products      *p = (Products *)ctx;
  const PetscInt S = ModelNumChannels(p->o->dim, blk->info->order), nb = blk->n;

  PetscFunctionBegin;
  PetscCall(BlockTangent(p, blk, p->v));
  PetscCall(ModelTangent(p->o->model, p->work.tape, p->theta, p->u2, p->dout2));
  for (PetscInt g = 0; g < blk->rows_per_point; g++) {
    PetscCall(ObjectiveBlockRowGroup(p->o, blk, &p->work, g, p->block_rows));
    for (PetscInt q = 0; q < nb; q++) {
      PetscReal ju = 0.0, jw = 0.0;
      for (PetscInt c = 0; c < S; c++) {
        ju += p->work.cot[c * nb + q] * p->dout[c * nb + q];
        jw += p->work.cot[c * nb + q] * p->dout2[c * nb + q];
      }
      p->dots_chunk[0] += ju * ju;
      p->dots_chunk[1] += ju * jw;
      p->dots_chunk[2] += jw * jw;
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode DotsBeginChunk(void *ctx, PetscInt chunk)
{
  Products *p = (Products *)ctx;

  PetscFunctionBegin;
  p->dots_chunk[0] = p->dots_chunk[1] = p->dots_chunk[2] = 0.0;
  PetscFunctionReturn(0);
}

static PetscErrorCode DotsEndChunk(void *ctx, PetscInt chunk)
{
  Products *p = (Products *)ctx;

  PetscFunctionBegin;
  DDAddArray(3, p->dots_chunk, p->dots_acc);
  PetscFunctionReturn(0);
}

static PetscLogEvent OBJECTIVE_Dots = 0;

PetscErrorCode ObjectiveShellGramDots(Objective o, const PetscReal *theta, CurvatureOperator *op, const PetscReal *u, const PetscReal *w, PetscReal dots[3])
{
  Products              *p = (Products *)op->ctx;
  const ObjectiveVisitor v = {p, DotsBeginChunk, DotsBlock, NULL, DotsEndChunk};

  PetscFunctionBegin;
  if (!OBJECTIVE_Dots) PetscCall(PetscLogEventRegister("EngdShellDots", OBJECTIVE_CLASSID, &OBJECTIVE_Dots));
  PetscCall(PetscLogEventBegin(OBJECTIVE_Dots, 0, 0, 0, 0));
  PetscCheck(op->type == CURVATURE_SHELL && p && p->o == o, o->comm, PETSC_ERR_ARG_WRONG, "ObjectiveShellGramDots() needs an operator from ObjectiveShellCreate() of this Objective");
  if (!p->dout2) PetscCall(PetscMalloc1(ModelNumChannels(o->dim, 2) * o->block_size, &p->dout2));
  PetscCall(PetscArraycpy(p->theta, theta, o->n_params));
  p->v  = u;
  p->u2 = w;
  DDZero(3, p->dots_acc);
  PetscCall(ObjectiveVisit(o, OBJECTIVE_TRAINING, OBJECTIVE_ALL_TERMS, &v));
  PetscCall(DDAllreduce(o->comm, 3, p->dots_acc));
  DDRoundArray(3, p->dots_acc, dots);
  PetscCall(PetscLogEventEnd(OBJECTIVE_Dots, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveShellCreate(Objective o, CurvatureOperator *op)
{
  Products      *p;
  ModelLayout    layout;
  const PetscInt S = ModelNumChannels(o->dim, 2), nb = o->block_size;

  PetscFunctionBegin;
  PetscCheck(o->setup_called, o->comm, PETSC_ERR_ORDER, "Call ObjectiveSetUp() before ObjectiveShellCreate()");
  PetscCall(PetscNew(&p));
  p->o = o;
  PetscCall(ObjectiveBlockWorkCreate(o, &p->work));
  PetscCall(ModelGetLayout(o->model, &layout));
  for (PetscInt l = 1; l <= layout.n_layers; l++) p->layer_size = PetscMax(p->layer_size, layout.widths[l] * (layout.widths[l - 1] + 1));
  PetscCall(PetscMalloc6(o->n_params, &p->theta, S * nb, &p->dout, S * nb, &p->cot_w, 2 * S * nb, &p->block_rows, o->n_params, &p->chunk_sum, o->n_params, &p->acc));
  PetscCall(PetscMemzero(op, sizeof(*op)));
  op->type           = CURVATURE_SHELL;
  op->n_params       = o->n_params;
  op->n_rows_max     = o->n_rows_max;
  op->mult           = Mult_Shell;
  op->mult_transpose = MultTranspose_Shell;
  op->mult_gram      = MultGram_Shell;
  op->diagonal       = Diagonal_Shell;
  op->ctx            = p;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveShellDestroy(CurvatureOperator *op)
{
  Products *p = (Products *)op->ctx;

  PetscFunctionBegin;
  if (p) {
    PetscCall(ObjectiveBlockWorkDestroy(&p->work));
    PetscCall(PetscFree6(p->theta, p->dout, p->cot_w, p->block_rows, p->chunk_sum, p->acc));
    PetscCall(PetscFree(p->layer_rows));
    PetscCall(PetscFree(p->dout2));
    PetscCall(PetscFree(p));
  }
  PetscCall(PetscMemzero(op, sizeof(*op)));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveShellCompute(Objective o, const PetscReal *theta, CurvatureOperator *op, PetscReal *grad, PetscReal *loss)
{
  Products *p = (Products *)op->ctx;

  PetscFunctionBegin;
  PetscCheck(op->type == CURVATURE_SHELL && p && p->o == o, o->comm, PETSC_ERR_ARG_WRONG, "ObjectiveShellCompute() needs an operator from ObjectiveShellCreate() of this Objective");
  PetscCall(PetscArraycpy(p->theta, theta, o->n_params));
  PetscCall(ObjectiveGradient(o, theta, grad, loss));
  PetscFunctionReturn(0);
}
