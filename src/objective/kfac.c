/* KFAC's Kronecker factors (objective.h): a visitor of the block loop that runs, per block, the
   taped forward pass and a reverse pass per row group whose layer visitor adds the block's
   augmented-input and cotangent outer products (dsyrk) into the chunk's sums; the chunks' sums go
   into double-double accumulators, all-reduced once. */
#include <engd/private/objectiveimpl.h>
#include <petscblaslapack.h>

const char *const ObjectiveKFACVariants[] = {"expand", "reduce", "ObjectiveKFACVariant", "OBJECTIVE_KFAC_", NULL};

static PetscLogEvent OBJECTIVE_KFAC = 0;

struct _n_KFACPass {
  ObjectiveKFACLayout  layout;
  PetscInt            *a_size, *b_size, *offset, *term_group;
  ObjectiveBlockWork   work;
  PetscReal           *chunk;   /* the chunk's partial sums: the factors (layout.length), then the
                                   gradient (P) and the loss */
  DDReal              *acc;     /* layout.length + P + 1 */
  PetscReal           *reduced; /* reduce: a block's channel means or sums (widest layer x block) */
  PetscReal           *res;     /* scratch residuals of a row group */
  /* the pass in progress */
  Objective            o;
  const PetscReal     *theta;
  ObjectiveKFACVariant variant;
  PetscInt             group;
  PetscBool            first_group; /* the block's first row group adds A (the inputs do not change) */
  PetscBool            gradient;    /* also the gradient and the loss */
  PetscBool            fused;       /* least squares: the gradient from the rows' reverse pass */
  PetscReal           *scaled;      /* fused: a layer's cotangents times the points' residuals */
};
typedef struct _n_KFACPass KFACPass;

static PetscErrorCode KFACSetUp(Objective o)
{
  KFACPass   *k;
  ModelLayout ml;
  PetscInt    orders[3], n_orders = 0, length = 0, width = 1;

  PetscFunctionBegin;
  if (o->kfac) PetscFunctionReturn(0);
  PetscCheck(o->setup_called, o->comm, PETSC_ERR_ORDER, "Call ObjectiveSetUp() before the KFAC factors");
  /* the groups: the distinct channel orders, highest first */
  for (PetscInt t = 0; t < o->training.n_terms; t++) {
    const PetscInt order = o->training.terms[t].term->order;
    PetscBool      seen  = PETSC_FALSE;
    for (PetscInt g = 0; g < n_orders; g++) seen = (PetscBool)(seen || orders[g] == order);
    if (!seen) {
      PetscCheck(n_orders < 2, o->comm, PETSC_ERR_SUP, "KFAC inverts at most two Kronecker products per layer: this problem's terms have more than two channel orders");
      orders[n_orders++] = order;
    }
  }
  if (n_orders == 2 && orders[1] > orders[0]) {
    const PetscInt swap = orders[0];
    orders[0]           = orders[1];
    orders[1]           = swap;
  }
  if (!OBJECTIVE_KFAC) PetscCall(PetscLogEventRegister("EngdKFACFactors", OBJECTIVE_CLASSID, &OBJECTIVE_KFAC));
  PetscCall(PetscNew(&k));
  PetscCall(ModelGetLayout(o->model, &ml));
  PetscCall(PetscMalloc4(ml.n_layers, &k->a_size, ml.n_layers, &k->b_size, ml.n_layers * n_orders, &k->offset, o->training.n_terms, &k->term_group));
  for (PetscInt t = 0; t < o->training.n_terms; t++) k->term_group[t] = o->training.terms[t].term->order == orders[0] ? 0 : 1;
  for (PetscInt l = 1; l <= ml.n_layers; l++) {
    const PetscInt a = ml.widths[l - 1] + 1, b = ml.widths[l];
    k->a_size[l - 1] = a;
    k->b_size[l - 1] = b;
    for (PetscInt g = 0; g < n_orders; g++) {
      k->offset[(l - 1) * n_orders + g] = length;
      length += a * a + b * b;
    }
    width = PetscMax(width, PetscMax(a, b));
  }
  k->layout.n_layers   = ml.n_layers;
  k->layout.n_groups   = n_orders;
  k->layout.group_order[0] = orders[0];
  k->layout.group_order[1] = n_orders > 1 ? orders[1] : -1;
  k->layout.a_size     = k->a_size;
  k->layout.b_size     = k->b_size;
  k->layout.offset     = k->offset;
  k->layout.length     = length;
  k->layout.term_group = k->term_group;
  PetscCall(ObjectiveBlockWorkCreate(o, &k->work));
  PetscCall(PetscMalloc5(length + o->n_params + 1, &k->chunk, length + o->n_params + 1, &k->acc, width * o->block_size, &k->reduced, ModelNumChannels(o->dim, 2) * o->block_size, &k->res, width * o->block_size * ModelNumChannels(o->dim, 2), &k->scaled));
  o->kfac = k;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveDestroyKFAC(Objective o)
{
  KFACPass *k = o->kfac;

  PetscFunctionBegin;
  if (!k) PetscFunctionReturn(0);
  PetscCall(ObjectiveBlockWorkDestroy(&k->work));
  PetscCall(PetscFree4(k->a_size, k->b_size, k->offset, k->term_group));
  PetscCall(PetscFree5(k->chunk, k->acc, k->reduced, k->res, k->scaled));
  PetscCall(PetscFree(o->kfac));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveKFACGetLayout(Objective o, const ObjectiveKFACLayout **layout)
{
  PetscFunctionBegin;
  PetscCall(KFACSetUp(o));
  *layout = &o->kfac->layout;
  PetscFunctionReturn(0);
}

/* C (upper triangle, n x n, leading dimension ldc) += V V^T, V n x k with leading dimension n. */
static PetscErrorCode SyrkAdd(PetscInt n, PetscInt kk, const PetscReal *V, PetscReal *C, PetscInt ldc)
{
  PetscBLASInt    N, K, LDC;
  const PetscReal one = 1.0;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(n, &N));
  PetscCall(PetscBLASIntCast(kk, &K));
  PetscCall(PetscBLASIntCast(ldc, &LDC));
  PetscCallBLAS("BLASsyrk", BLASsyrk_("U", "N", &N, &K, &one, V, &N, &one, C, &LDC));
  PetscCall(PetscLogFlops(1.0 * n * (n + 1) * kk));
  PetscFunctionReturn(0);
}

/* means[:, p] = scale sum_s V[:, s nb + p]: the channel sum (scale 1) or mean (1/S) of n x (nb S). */
static void ChannelCombine(PetscInt n, PetscInt nb, PetscInt S, const PetscReal *V, PetscReal scale, PetscReal *out)
{
  for (PetscInt k = 0; k < n * nb; k++) out[k] = V[k];
  for (PetscInt s = 1; s < S; s++)
    for (PetscInt k = 0; k < n * nb; k++) out[k] += V[s * n * nb + k];
  for (PetscInt k = 0; k < n * nb; k++) out[k] *= scale;
}

/* The layer's A (augmented inputs, once per block) and B (this row group's cotangents). */
static PetscErrorCode KFACLayer(const ModelLayer *layer, void *ctx)
{
  KFACPass        *k = (KFACPass *)ctx;
  const PetscInt   l = layer->layer, n_in = layer->n_in, n_out = layer->n_out, nb = layer->n_points, S = layer->n_channels;
  const PetscInt   a = n_in + 1, base = k->offset[(l - 1) * k->layout.n_groups + k->group];
  PetscReal       *A = k->chunk + base, *B = A + a * a;
  const PetscBool  reduce = (PetscBool)(k->variant == OBJECTIVE_KFAC_REDUCE && S > 1);

  PetscFunctionBegin;
  if (k->first_group) {
    const PetscReal *Z;
    const PetscReal  one_weight = reduce ? 1.0 / (PetscReal)S : 1.0; /* the augmented 1's channel mean */
    PetscCall(ModelLayerGetInput(layer, &Z));
    if (reduce) {
      ChannelCombine(n_in, nb, S, Z, 1.0 / (PetscReal)S, k->reduced);
      Z = k->reduced;
    }
    PetscCall(SyrkAdd(n_in, reduce ? nb : nb * S, Z, A, a));
    /* the bias column: the value channel's 1 against every input (the others have 0 there) */
    for (PetscInt p = 0; p < nb; p++)
      for (PetscInt j = 0; j < n_in; j++) A[n_in * a + j] += one_weight * Z[p * n_in + j];
    A[n_in * a + n_in] += one_weight * one_weight * (PetscReal)nb;
  }
  if (reduce) {
    ChannelCombine(n_out, nb, S, layer->cot, 1.0, k->reduced);
    PetscCall(SyrkAdd(n_out, nb, k->reduced, B, n_out));
  } else PetscCall(SyrkAdd(n_out, nb * S, layer->cot, B, n_out));
  if (k->fused) { /* the reverse pass is linear: the loss's cotangents are the row's times r~ */
    ModelLayer scaled = *layer;
    for (PetscInt s = 0; s < S; s++)
      for (PetscInt p = 0; p < nb; p++)
        for (PetscInt i = 0; i < n_out; i++) k->scaled[(s * nb + p) * n_out + i] = k->work.res[p] * layer->cot[(s * nb + p) * n_out + i];
    scaled.cot = k->scaled;
    PetscCall(ModelLayerVisitGradient(&scaled, k->chunk + k->layout.length));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode KFACBlock(void *ctx, const ObjectiveBlock *blk)
{
  KFACPass *k = (KFACPass *)ctx;
  Objective o = k->o;

  PetscFunctionBegin;
  PetscCall(ObjectiveBlockEvaluate(o, blk, k->theta, PETSC_TRUE, PETSC_TRUE, &k->work));
  k->group = k->term_group[blk->term];
  k->fused = (PetscBool)(k->gradient && blk->info->kind != PROBLEM_TERM_ENERGY);
  for (PetscInt g = 0; g < blk->rows_per_point; g++) {
    PetscCall(ObjectiveBlockRowGroup(o, blk, &k->work, g, k->res));
    k->first_group = (PetscBool)(g == 0);
    PetscCall(ModelReverse(o->model, k->work.tape, k->theta, k->work.cot, KFACLayer, k));
  }
  if (k->gradient) { /* energy terms: the gradient pass's reverse on the same forward pass */
    PetscReal *chunk_grad = k->chunk + k->layout.length;
    if (!k->fused) {
      PetscCall(ObjectiveBlockLossCotangents(o, blk, &k->work));
      PetscCall(ModelReverse(o->model, k->work.tape, k->theta, k->work.cot, ModelLayerVisitGradient, chunk_grad));
    }
    chunk_grad[o->n_params] += k->work.part;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode KFACBeginChunk(void *ctx, PetscInt chunk)
{
  KFACPass *k = (KFACPass *)ctx;

  PetscFunctionBegin;
  PetscCall(PetscArrayzero(k->chunk, k->layout.length + (k->gradient ? k->o->n_params + 1 : 0)));
  PetscFunctionReturn(0);
}

static PetscErrorCode KFACEndChunk(void *ctx, PetscInt chunk)
{
  KFACPass *k = (KFACPass *)ctx;

  PetscFunctionBegin;
  DDAddArray(k->layout.length + (k->gradient ? k->o->n_params + 1 : 0), k->chunk, k->acc);
  PetscFunctionReturn(0);
}

/* Mirror the upper triangle and scale (n x n). */
static void Finish(PetscInt n, PetscReal scale, PetscReal *F)
{
  for (PetscInt j = 0; j < n; j++)
    for (PetscInt i = 0; i <= j; i++) F[i * n + j] = F[j * n + i] = scale * F[j * n + i];
}

PetscErrorCode ObjectiveKFACFactors(Objective o, const PetscReal *theta, ObjectiveKFACVariant variant, PetscReal *factors, PetscReal *grad, PetscReal *loss)
{
  KFACPass              *k;
  const ObjectiveVisitor v = {NULL, KFACBeginChunk, KFACBlock, NULL, KFACEndChunk};
  ObjectiveVisitor       visitor = v;
  PetscReal              a_scale[2] = {0, 0};
  PetscInt               n_sums;

  PetscFunctionBegin;
  PetscCall(KFACSetUp(o));
  k          = o->kfac;
  k->o       = o;
  k->theta   = theta;
  k->variant  = variant;
  k->gradient = grad ? PETSC_TRUE : PETSC_FALSE;
  visitor.ctx = k;
  n_sums      = k->layout.length + (grad ? o->n_params + 1 : 0);
  PetscCall(PetscLogEventBegin(OBJECTIVE_KFAC, 0, 0, 0, 0));
  DDZero(n_sums, k->acc);
  PetscCall(ObjectiveVisit(o, OBJECTIVE_TRAINING, OBJECTIVE_ALL_TERMS, &visitor));
  PetscCall(DDAllreduce(o->comm, n_sums, k->acc));
  DDRoundArray(k->layout.length, k->acc, factors);
  if (grad) {
    DDRoundArray(o->n_params, k->acc + k->layout.length, grad);
    *loss = DDRound(k->acc[k->layout.length + o->n_params]);
  }
  PetscCall(PetscLogEventEnd(OBJECTIVE_KFAC, 0, 0, 0, 0));
  /* A is a mean over the group's points (and, expand, channels) */
  for (PetscInt t = 0; t < o->training.n_terms; t++) {
    const ProblemTerm *term = o->training.terms[t].term;
    const PetscInt     S    = ModelNumChannels(o->dim, term->order);
    a_scale[k->term_group[t]] += (PetscReal)term->n_points * (variant == OBJECTIVE_KFAC_EXPAND ? (PetscReal)S : 1.0);
  }
  for (PetscInt l = 1; l <= k->layout.n_layers; l++)
    for (PetscInt g = 0; g < k->layout.n_groups; g++) {
      const PetscInt a = k->a_size[l - 1], b = k->b_size[l - 1];
      PetscReal     *A = factors + k->offset[(l - 1) * k->layout.n_groups + g];
      Finish(a, 1.0 / a_scale[g], A);
      Finish(b, 1.0, A + a * a);
    }
  PetscFunctionReturn(0);
}
