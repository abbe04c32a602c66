/* KFAC (ObjectiveKFACFactors, KroneckerSum, -optimizer kfac_star):
     (a) the factors, expand and reduce, against naive per-point, per-channel sums of outer
         products (plain loops over a block size of 1, plain MPI sums) on the Poisson 2-D, heat,
         nonlinear Poisson, Helmholtz, deep Ritz 1-D and 2-D losses, 1 and 2 hidden layers;
     (b) for one hidden layer and one channel (order 0: regression, and the Poisson problem's
         boundary rows), the output layer's A (x) B is the exact Gram block of those rows (its
         cotangent sqrt(w/N) is the same for every point, the case where KFAC is exact);
     (c) the Kronecker-sum inverse against a dense LU solve of (A1 (x) B1 + A2 (x) B2) x = g (and
         of one product, and the pi-corrected damping), with blocks spread over the ranks; and
         with a data factor B2 of rank 1 and scale 1e6 under damping 1e-13, whose Cholesky fails
         on rounding: the decomposition raises B2's shift to its rounding level instead of
         stopping the run, and the inverse still solves the dense system;
     (d) KFAC*'s second step: (alpha, mu) is the minimiser of the quadratic model with the
         assembled Gauss-Newton matrix (its gradient vanishes, and a grid around it is not lower).
   Everything must also agree across the ranks. */
/* ranks: 1 2 3 */
#include "stack.h"
#include <engd/rng.h>
#include <engd/kronecker.h>
#include <petscblaslapack.h>

typedef struct {
  const char *name;
  const char *options[16];
} Case;

/* The naive sums: per layer and group, plain loops over the points of a block of one. */
typedef struct {
  Objective                  o;
  const ObjectiveKFACLayout *layout;
  ObjectiveKFACVariant       variant;
  ObjectiveBlockWork         work;
  const PetscReal           *theta;
  PetscReal                 *F, *res;
  PetscInt                   group;
  PetscBool                  first;
} Naive;

static PetscErrorCode NaiveLayer(const ModelLayer *layer, void *ctx)
{
  Naive           *nv = (Naive *)ctx;
  const PetscInt   l = layer->layer, n_in = layer->n_in, n_out = layer->n_out, S = layer->n_channels, a = n_in + 1;
  PetscReal       *A = nv->F + nv->layout->offset[(l - 1) * nv->layout->n_groups + nv->group], *B = A + a * a;
  const PetscReal *Z;
  PetscReal        z[64], g[64];

  PetscFunctionBeginUser;
  PetscCheck(layer->n_points == 1 && a <= 64 && n_out <= 64, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "naive sums: one point, small layers");
  PetscCall(ModelLayerGetInput(layer, &Z));
  if (nv->variant == OBJECTIVE_KFAC_EXPAND) {
    for (PetscInt s = 0; s < S; s++) {
      for (PetscInt j = 0; j < n_in; j++) z[j] = Z[s * n_in + j];
      z[n_in] = s == 0 ? 1.0 : 0.0;
      for (PetscInt i = 0; i < a && nv->first; i++)
        for (PetscInt j = 0; j < a; j++) A[j * a + i] += z[i] * z[j];
      for (PetscInt i = 0; i < n_out; i++)
        for (PetscInt j = 0; j < n_out; j++) B[j * n_out + i] += layer->cot[s * n_out + i] * layer->cot[s * n_out + j];
    }
  } else {
    for (PetscInt j = 0; j < a; j++) z[j] = 0;
    for (PetscInt i = 0; i < n_out; i++) g[i] = 0;
    for (PetscInt s = 0; s < S; s++) {
      for (PetscInt j = 0; j < n_in; j++) z[j] += Z[s * n_in + j] / S;
      if (s == 0) z[n_in] = 1.0 / S;
      for (PetscInt i = 0; i < n_out; i++) g[i] += layer->cot[s * n_out + i];
    }
    for (PetscInt i = 0; i < a && nv->first; i++)
      for (PetscInt j = 0; j < a; j++) A[j * a + i] += z[i] * z[j];
    for (PetscInt i = 0; i < n_out; i++)
      for (PetscInt j = 0; j < n_out; j++) B[j * n_out + i] += g[i] * g[j];
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode NaiveBlock(void *ctx, const ObjectiveBlock *blk)
{
  Naive *nv = (Naive *)ctx;
  Model  model;

  PetscFunctionBeginUser;
  PetscCall(ObjectiveGetModel(nv->o, &model));
  PetscCall(ObjectiveBlockEvaluate(nv->o, blk, nv->theta, PETSC_TRUE, PETSC_TRUE, &nv->work));
  nv->group = nv->layout->term_group[blk->term];
  for (PetscInt g = 0; g < blk->rows_per_point; g++) {
    PetscCall(ObjectiveBlockRowGroup(nv->o, blk, &nv->work, g, nv->res));
    nv->first = (PetscBool)(g == 0);
    PetscCall(ModelReverse(model, nv->work.tape, nv->theta, nv->work.cot, NaiveLayer, nv));
  }
  PetscFunctionReturn(0);
}

/* The naive factors, normalised as objective.h says. */
static PetscErrorCode NaiveFactors(Objective o, const PetscReal *theta, ObjectiveKFACVariant variant, PetscReal *F)
{
  Naive            nv;
  ObjectiveVisitor v = {NULL, NULL, NaiveBlock, NULL, NULL};
  Problem          problem;
  PetscInt         n_terms, dim;
  PetscReal        count[2] = {0, 0};

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(&nv, sizeof(nv)));
  nv.o       = o;
  nv.theta   = theta;
  nv.variant = variant;
  nv.F       = F;
  v.ctx      = &nv;
  PetscCall(ObjectiveKFACGetLayout(o, &nv.layout));
  PetscCall(ObjectiveBlockWorkCreate(o, &nv.work));
  PetscCall(PetscMalloc1(64, &nv.res));
  PetscCall(PetscArrayzero(F, nv.layout->length));
  PetscCall(ObjectiveVisit(o, OBJECTIVE_TRAINING, OBJECTIVE_ALL_TERMS, &v));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, F, nv.layout->length, MPIU_REAL, MPIU_SUM, PETSC_COMM_WORLD));
  PetscCall(ObjectiveGetProblem(o, &problem));
  PetscCall(ProblemGetNumTerms(problem, &n_terms));
  PetscCall(ProblemGetDimension(problem, &dim));
  for (PetscInt t = 0; t < n_terms; t++) {
    const ProblemTerm *term;
    PetscCall(ProblemGetTerm(problem, t, &term));
    count[nv.layout->term_group[t]] += term->n_points * (variant == OBJECTIVE_KFAC_EXPAND ? ModelNumChannels(dim, term->order) : 1);
  }
  for (PetscInt l = 0; l < nv.layout->n_layers; l++)
    for (PetscInt g = 0; g < nv.layout->n_groups; g++) {
      const PetscInt a = nv.layout->a_size[l];
      PetscReal     *A = F + nv.layout->offset[l * nv.layout->n_groups + g];
      for (PetscInt i = 0; i < a * a; i++) A[i] /= count[g];
    }
  PetscCall(PetscFree(nv.res));
  PetscCall(ObjectiveBlockWorkDestroy(&nv.work));
  PetscFunctionReturn(0);
}

/* The largest difference of the ranks' copies of v from rank 0's (0 when all agree). */
static PetscErrorCode RankSpread(PetscInt n, const PetscReal *v, PetscReal *spread)
{
  PetscReal *root, local = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(n, &root));
  PetscCall(PetscArraycpy(root, v, n));
  PetscCallMPI(MPI_Bcast(root, (PetscMPIInt)n, MPIU_REAL, 0, PETSC_COMM_WORLD));
  for (PetscInt i = 0; i < n; i++) local = PetscMax(local, PetscAbsReal(root[i] - v[i]));
  PetscCall(MPIU_Allreduce(&local, spread, 1, MPIU_REAL, MPIU_MAX, PETSC_COMM_WORLD));
  PetscCall(PetscFree(root));
  PetscFunctionReturn(0);
}

/* (a) */
static PetscErrorCode CheckFactors(const Case *cs, const char *hidden)
{
  const char                *blocks[] = {"-net_block_size", "1", NULL};
  Problem                    problem;
  Model                      model;
  Objective                  objective;
  const ObjectiveKFACLayout *layout;
  PetscReal                 *theta, *F, *naive, spread;

  PetscFunctionBeginUser;
  for (PetscInt variant = 0; variant < 2; variant++) {
    PetscReal err = 0, scale = 0;
    PetscInt  length;
    const char *common[] = {"-net_hidden", hidden, "-net_activation", "tanh", NULL};
    PetscCall(TestSetOptions(cs->options, PETSC_TRUE));
    PetscCall(TestSetOptions(common, PETSC_TRUE));
    PetscCall(BuildStack(PETSC_COMM_WORLD, &problem, &model, &objective));
    PetscCall(ModelGetParameters(model, &theta));
    PetscCall(ObjectiveKFACGetLayout(objective, &layout));
    length = layout->length;
    PetscCall(PetscMalloc2(length, &F, length, &naive));
    PetscCall(ObjectiveKFACFactors(objective, theta, (ObjectiveKFACVariant)variant, F, NULL, NULL));
    { /* with the gradient: the same factors, ObjectiveGradient's loss and (to rounding) gradient */
      PetscReal *F2, *g1, *g2, l1, l2, gerr;
      PetscInt   P, n_differ = 0;
      PetscCall(ModelGetNumParameters(model, &P));
      PetscCall(PetscMalloc3(length, &F2, P, &g1, P, &g2));
      PetscCall(ObjectiveKFACFactors(objective, theta, (ObjectiveKFACVariant)variant, F2, g1, &l1));
      PetscCall(ObjectiveGradient(objective, theta, g2, &l2));
      for (PetscInt i = 0; i < length; i++) n_differ += F2[i] != F[i];
      gerr = TestRelDist(P, g1, g2);
      CHECK(n_differ == 0 && l1 == l2 && gerr <= 1e-13, "%s %s: the factor pass with the gradient: %" PetscInt_FMT " factors differ, loss %g vs %g, gradient off by %.2e", cs->name, hidden, n_differ, (double)l1, (double)l2, (double)gerr);
      PetscCall(RankSpread(P, g1, &gerr));
      CHECK(gerr == 0, "%s %s: the fused gradient differs between ranks by %.2e", cs->name, hidden, (double)gerr);
      PetscCall(PetscFree3(F2, g1, g2));
    }
    PetscCall(RankSpread(length, F, &spread));
    CHECK(spread == 0, "%s %s: the factors differ between ranks by %.2e", cs->name, hidden, (double)spread);
    PetscCall(DestroyStack(&problem, &model, &objective));
    /* the naive sums over blocks of one point */
    PetscCall(TestSetOptions(blocks, PETSC_TRUE));
    PetscCall(BuildStack(PETSC_COMM_WORLD, &problem, &model, &objective));
    PetscCall(ModelGetParameters(model, &theta));
    PetscCall(ObjectiveKFACGetLayout(objective, &layout));
    PetscCall(NaiveFactors(objective, theta, (ObjectiveKFACVariant)variant, naive));
    for (PetscInt l = 0; l < layout->n_layers; l++)
      for (PetscInt g = 0; g < layout->n_groups; g++) {
        const PetscInt a = layout->a_size[l], b = layout->b_size[l], off = layout->offset[l * layout->n_groups + g];
        PetscReal      ea = 0, sa = 0, eb = 0, sb = 0;
        for (PetscInt i = 0; i < a * a; i++) {
          ea = PetscMax(ea, PetscAbsReal(F[off + i] - naive[off + i]));
          sa = PetscMax(sa, PetscAbsReal(naive[off + i]));
        }
        for (PetscInt i = a * a; i < a * a + b * b; i++) {
          eb = PetscMax(eb, PetscAbsReal(F[off + i] - naive[off + i]));
          sb = PetscMax(sb, PetscAbsReal(naive[off + i]));
        }
        CHECK(ea <= 1e-12 * sa && sa > 0, "%s %s %s: layer %" PetscInt_FMT " group %" PetscInt_FMT ": A differs from the naive sum by %.2e (max %.2e)", cs->name, hidden, ObjectiveKFACVariants[variant], l + 1, g, (double)ea, (double)sa);
        CHECK(eb <= 1e-12 * sb, "%s %s %s: layer %" PetscInt_FMT " group %" PetscInt_FMT ": B differs from the naive sum by %.2e (max %.2e)", cs->name, hidden, ObjectiveKFACVariants[variant], l + 1, g, (double)eb, (double)sb);
        err   = PetscMax(err, PetscMax(ea / PetscMax(sa, 1e-300), eb / PetscMax(sb, 1e-300)));
        scale = PetscMax(scale, sb);
      }
    PetscCall(ReportMax(PETSC_COMM_WORLD, "factors vs naive sums (relative)", err, 1e-12));
    PetscCall(PetscFree2(F, naive));
    PetscCall(DestroyStack(&problem, &model, &objective));
    PetscCall(TestSetOptions(blocks, PETSC_FALSE));
    PetscCall(TestSetOptions(common, PETSC_FALSE));
    PetscCall(TestSetOptions(cs->options, PETSC_FALSE));
  }
  PetscFunctionReturn(0);
}

/* (b): the output layer's block of the Gram matrix of the rows of `term` (all: -1) against
   A (x) B of the group of order 0. */
static PetscErrorCode CheckExactBlock(const Case *cs, PetscInt term)
{
  const char                *common[] = {"-net_hidden", "6", "-net_activation", "tanh", NULL};
  Problem                    problem;
  Model                      model;
  Objective                  objective;
  const ObjectiveKFACLayout *layout;
  ModelLayout                ml;
  PetscInt                   P, n_local, n_max, n_terms, g0;
  PetscReal                 *theta, *F, *res, *jac_t, *G, loss, err = 0, scale = 0;

  PetscFunctionBeginUser;
  PetscCall(TestSetOptions(cs->options, PETSC_TRUE));
  PetscCall(TestSetOptions(common, PETSC_TRUE));
  PetscCall(BuildStack(PETSC_COMM_WORLD, &problem, &model, &objective));
  PetscCall(ModelGetParameters(model, &theta));
  PetscCall(ModelGetNumParameters(model, &P));
  PetscCall(ModelGetLayout(model, &ml));
  PetscCall(ObjectiveKFACGetLayout(objective, &layout));
  PetscCall(ObjectiveGetLocalRows(objective, &n_local, &n_max));
  PetscCall(ProblemGetNumTerms(problem, &n_terms));
  PetscCall(PetscMalloc3(layout->length, &F, n_max, &res, (size_t)P * n_max, &jac_t));
  PetscCall(ObjectiveKFACFactors(objective, theta, OBJECTIVE_KFAC_EXPAND, F, NULL, NULL));
  PetscCall(ObjectiveResidualRows(objective, theta, res, jac_t, &loss));
  {
    const PetscInt L = ml.n_layers, a = layout->a_size[L - 1], off = ml.w_offset[L];
    PetscCall(PetscCalloc1(a * a, &G));
    for (PetscInt t = 0; t < n_terms; t++) {
      PetscInt n_t;
      const PetscReal *x;
      if (term >= 0 && t != term) continue;
      PetscCall(ObjectiveGetTermPoints(objective, t, &n_t, &x));
      for (PetscInt p = 0; p < n_t; p++) {
        PetscInt row;
        PetscCall(ObjectiveGetTermRow(objective, t, p, &row));
        for (PetscInt i = 0; i < a; i++)
          for (PetscInt j = 0; j < a; j++) G[j * a + i] += jac_t[row * P + off + i] * jac_t[row * P + off + j];
      }
    }
    PetscCall(MPIU_Allreduce(MPI_IN_PLACE, G, a * a, MPIU_REAL, MPIU_SUM, PETSC_COMM_WORLD));
    g0 = layout->n_groups - 1; /* the order-0 group is the last */
    {
      const PetscReal *A = F + layout->offset[(L - 1) * layout->n_groups + g0], B = A[a * a];
      for (PetscInt i = 0; i < a * a; i++) {
        err   = PetscMax(err, PetscAbsReal(A[i] * B - G[i]));
        scale = PetscMax(scale, PetscAbsReal(G[i]));
      }
    }
    PetscCall(PetscFree(G));
  }
  CHECK(err <= 1e-12 * scale && scale > 0, "%s: the output layer's A (x) B differs from the exact Gram block by %.2e (max %.2e)", cs->name, (double)err, (double)scale);
  PetscCall(ReportMax(PETSC_COMM_WORLD, "one channel, output layer: A (x) B vs exact Gram block", err / scale, 1e-12));
  PetscCall(PetscFree3(F, res, jac_t));
  PetscCall(DestroyStack(&problem, &model, &objective));
  PetscCall(TestSetOptions(common, PETSC_FALSE));
  PetscCall(TestSetOptions(cs->options, PETSC_FALSE));
  PetscFunctionReturn(0);
}

/* A random symmetric positive semi-definite n x n matrix of rank r: V V^T. */
static void RandomFactor(PetscInt n, PetscInt r, uint64_t key, PetscReal *F)
{
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt j = 0; j < n; j++) {
      PetscReal s = 0;
      for (PetscInt k = 0; k < r; k++) s += (RngUniform(key, 1, (uint64_t)(i * r + k)) - 0.5) * (RngUniform(key, 1, (uint64_t)(j * r + k)) - 0.5);
      F[j * n + i] = s;
    }
}

/* (c) */
static PetscErrorCode CheckKroneckerSum(PetscInt n_products, KroneckerDamping type, PetscBool deficient_data)
{
  const PetscInt  n_blocks = 4, a_size[4] = {3, 5, 1, 4}, m_size[4] = {2, 4, 3, 1};
  const PetscReal lambda   = deficient_data ? 1e-13 : 1e-2, tol = deficient_data ? 1e-7 : 1e-10; /* the raised shift, ~1e-10, against eigenvalues of M ~1e-2 */
  PetscInt        offset[8], length = 0, n = 0, x_off[5];
  PetscReal      *factors, *x, *y, err = 0, spread;
  KroneckerSum    kron;

  PetscFunctionBeginUser;
  for (PetscInt b = 0; b < n_blocks; b++) {
    x_off[b] = n;
    n += a_size[b] * m_size[b];
    for (PetscInt k = 0; k < n_products; k++) {
      offset[b * n_products + k] = length;
      length += a_size[b] * a_size[b] + m_size[b] * m_size[b];
    }
  }
  x_off[n_blocks] = n;
  PetscCall(PetscMalloc3(length, &factors, n, &x, n, &y));
  for (PetscInt b = 0; b < n_blocks; b++)
    for (PetscInt k = 0; k < n_products; k++) {
      PetscReal *A = factors + offset[b * n_products + k], *B = A + a_size[b] * a_size[b];
      if (deficient_data) { /* full-rank interior factors, a data B of rank 1 far above the damping */
        RandomFactor(a_size[b], a_size[b] + 2, 100 + 10 * b + k, A);
        RandomFactor(m_size[b], k == 0 ? m_size[b] + 2 : 1, 200 + 10 * b + k, B);
        for (PetscInt i = 0; i < m_size[b] * m_size[b]; i++) B[i] *= k == 0 ? 1.0 : 1e6;
        continue;
      }
      RandomFactor(a_size[b], 2, 100 + 10 * b + k, A); /* rank-deficient: the damping matters */
      RandomFactor(m_size[b], 3, 200 + 10 * b + k, B);
      for (PetscInt i = 0; i < m_size[b] * m_size[b]; i++) B[i] *= 7.0; /* unequal traces for the pi split */
    }
  for (PetscInt i = 0; i < n; i++) x[i] = RngUniform(300, 1, (uint64_t)i) - 0.5;
  PetscCall(KroneckerSumCreate(PETSC_COMM_WORLD, n_blocks, a_size, m_size, n_products, &kron));
  PetscCall(KroneckerSumFactor(kron, factors, offset, lambda, type));
  PetscCall(KroneckerSumApply(kron, x, y));
  PetscCall(RankSpread(n, y, &spread));
  CHECK(spread == 0, "Kronecker sum: the ranks' results differ by %.2e", (double)spread);
  for (PetscInt b = 0; b < n_blocks; b++) { /* dense M = sum_k (A_k + da I) (x) (B_k + dm I), LU solve */
    const PetscInt a = a_size[b], m = m_size[b], N = a * m;
    PetscReal     *M, *rhs;
    PetscBLASInt   nN, one = 1, info, *piv;
    PetscCall(PetscCalloc2(N * N, &M, N, &rhs));
    PetscCall(PetscMalloc1(N, &piv));
    for (PetscInt k = 0; k < n_products; k++) {
      const PetscReal *A = factors + offset[b * n_products + k], *B = A + a * a;
      PetscReal        da = lambda, dm = lambda;
      if (type == KRONECKER_DAMPING_PI) {
        PetscReal ta = 0, tm = 0, pi;
        for (PetscInt i = 0; i < a; i++) ta += A[i * a + i] / a;
        for (PetscInt i = 0; i < m; i++) tm += B[i * m + i] / m;
        pi = PetscSqrtReal(ta / tm);
        da = PetscSqrtReal(lambda) * pi;
        dm = PetscSqrtReal(lambda) / pi;
      }
      for (PetscInt j = 0; j < a; j++)
        for (PetscInt l = 0; l < a; l++)
          for (PetscInt i = 0; i < m; i++)
            for (PetscInt q = 0; q < m; q++) M[(l * m + q) * N + (j * m + i)] += (A[l * a + j] + (j == l ? da : 0)) * (B[q * m + i] + (i == q ? dm : 0));
    }
    for (PetscInt i = 0; i < N; i++) rhs[i] = x[x_off[b] + i];
    PetscCall(PetscBLASIntCast(N, &nN));
    PetscCallBLAS("LAPACKgesv", LAPACKgesv_(&nN, &one, M, &nN, piv, rhs, &nN, &info));
    CHECK(info == 0, "dense solve failed: info %d", (int)info);
    err = PetscMax(err, TestRelDist(N, y + x_off[b], rhs));
    PetscCall(PetscFree2(M, rhs));
    PetscCall(PetscFree(piv));
  }
  CHECK(err <= tol, "Kronecker sum (%" PetscInt_FMT " products, damping %s%s): the inverse differs from the dense solve by %.2e", n_products, KroneckerDampings[type], deficient_data ? ", rank-1 data factor" : "", (double)err);
  PetscCall(ReportMax(PETSC_COMM_WORLD, deficient_data ? "two products, rank-1 data B at 1e6, damping 1e-13: inverse vs dense LU" : n_products == 2 ? (type == KRONECKER_DAMPING_PI ? "two products (pi split): inverse vs dense LU" : "two products: inverse vs dense LU") : "one product: inverse vs dense LU", err, tol));
  PetscCall(KroneckerSumDestroy(&kron));
  PetscCall(PetscFree3(factors, x, y));
  PetscFunctionReturn(0);
}

/* (d) */
static PetscErrorCode CheckQuadraticModel(void)
{
  const char *options[] = {"-problem", "poisson", "-dim", "2", "-n_interior", "36", "-n_boundary", "16", "-net_hidden", "5", "-sampler", "grid", "-optimizer", "kfac_star", "-kfac_damping", "1e-4", NULL};
  const PetscReal lambda = 1e-4;
  Problem     problem;
  Model       model;
  Objective   objective;
  Optimizer   opt;
  History     history;
  OptimizerStepInfo info;
  PetscInt    P, n_rows;
  PetscReal  *theta, *theta0, *theta1, *d1, *d2, *D, *g, *G, *Gd2, loss, q0, grad_a = 0, grad_m = 0, gD = 0, worst = PETSC_MAX_REAL;
  const PetscReal *alpha, *mu;

  PetscFunctionBeginUser;
  PetscCall(TestSetOptions(options, PETSC_TRUE));
  PetscCall(BuildStack(PETSC_COMM_WORLD, &problem, &model, &objective));
  PetscCall(OptimizerCreate(objective, &opt));
  PetscCall(OptimizerSetFromOptions(opt));
  PetscCall(OptimizerSetUp(opt));
  PetscCall(HistoryCreate(PETSC_COMM_WORLD, &history));
  PetscCall(OptimizerSetHistory(opt, history));
  PetscCall(ModelGetNumParameters(model, &P));
  PetscCall(ModelGetParameters(model, &theta));
  PetscCall(PetscMalloc6(P, &theta0, P, &theta1, P, &d1, P, &d2, P, &D, P, &g));
  PetscCall(PetscMalloc2(P * P, &G, P, &Gd2));
  PetscCall(PetscArraycpy(theta0, theta, P));
  PetscCall(HistoryBeginRow(history, 1));
  PetscCall(OptimizerStep(opt, &info));
  PetscCall(PetscArraycpy(theta1, theta, P));
  PetscCall(HistoryBeginRow(history, 2));
  PetscCall(OptimizerStep(opt, &info));
  PetscCall(HistoryGetColumn(history, "kfac_alpha", &n_rows, &alpha));
  PetscCall(HistoryGetColumn(history, "kfac_mu", &n_rows, &mu));
  CHECK(n_rows == 2 && alpha[0] == 1e-6 && mu[0] == 0, "KFAC*'s first step: alpha %g, mu %g (want 1e-6, 0)", (double)alpha[0], (double)mu[0]);
  for (PetscInt i = 0; i < P; i++) {
    d1[i] = theta1[i] - theta0[i];
    d2[i] = theta[i] - theta1[i];
    D[i]  = (d2[i] - mu[1] * d1[i]) / alpha[1]; /* the step's KFAC direction Delta */
  }
  /* at theta1: q(a, m) = g^T s + 1/2 s^T (G + lambda I) s, s = a D + m d1; at the optimum s = d2 */
  PetscCall(ObjectiveGradient(objective, theta1, g, &loss));
  PetscCall(ObjectiveHessianAssemble(objective, theta1, PETSC_TRUE, G));
  for (PetscInt i = 0; i < P; i++) {
    Gd2[i] = lambda * d2[i];
    for (PetscInt j = 0; j < P; j++) Gd2[i] += G[j * P + i] * d2[j];
  }
  for (PetscInt i = 0; i < P; i++) {
    grad_a += D[i] * (g[i] + Gd2[i]);
    grad_m += d1[i] * (g[i] + Gd2[i]);
    gD += PetscAbsReal(D[i] * g[i]);
  }
  {
    PetscReal scale_m = 0;
    for (PetscInt i = 0; i < P; i++) scale_m += PetscAbsReal(d1[i] * g[i]);
    CHECK(PetscAbsReal(grad_a) <= 1e-8 * gD && PetscAbsReal(grad_m) <= 1e-8 * PetscMax(scale_m, 1e-300), "KFAC*: the model's gradient at (alpha, mu) = (%g, %g) is (%.2e, %.2e), scales %.2e, %.2e", (double)alpha[1], (double)mu[1], (double)grad_a, (double)grad_m, (double)gD, (double)scale_m);
    PetscCall(ReportMax(PETSC_COMM_WORLD, "KFAC* (alpha, mu): gradient of the assembled-G model (relative)", PetscMax(PetscAbsReal(grad_a) / gD, PetscAbsReal(grad_m) / scale_m), 1e-8));
  }
  /* brute force: no point of a grid around (alpha, mu) is lower */
  q0 = 0;
  for (PetscInt i = 0; i < P; i++) q0 += g[i] * d2[i] + 0.5 * d2[i] * Gd2[i];
  for (PetscInt ia = -2; ia <= 2; ia++)
    for (PetscInt im = -2; im <= 2; im++) {
      const PetscReal a = alpha[1] * (1 + 0.05 * ia), m = mu[1] + 0.05 * im * PetscMax(PetscAbsReal(mu[1]), 1e-3);
      PetscReal       q = 0;
      if (!ia && !im) continue;
      for (PetscInt i = 0; i < P; i++) {
        const PetscReal s = a * D[i] + m * d1[i];
        PetscReal       Gs = lambda * s;
        for (PetscInt j = 0; j < P; j++) Gs += G[j * P + i] * (a * D[j] + m * d1[j]);
        q += g[i] * s + 0.5 * s * Gs;
      }
      worst = PetscMin(worst, q - q0);
    }
  CHECK(worst >= -1e-12 * PetscAbsReal(q0) && q0 < 0, "KFAC*: a grid point of the model is lower than (alpha, mu) by %.2e (q %.3e)", (double)-worst, (double)q0);
  PetscCall(PetscFree6(theta0, theta1, d1, d2, D, g));
  PetscCall(PetscFree2(G, Gd2));
  PetscCall(HistoryDestroy(&history));
  PetscCall(OptimizerDestroy(&opt));
  PetscCall(DestroyStack(&problem, &model, &objective));
  PetscCall(TestSetOptions(options, PETSC_FALSE));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  const Case cases[] = {
    {"poisson 2-D", {"-problem", "poisson", "-dim", "2", "-n_interior", "30", "-n_boundary", "12", "-seed", "4", "-sampler", "uniform", NULL}},
    {"heat 1+1-D", {"-problem", "heat", "-dim", "2", "-n_interior", "30", "-n_boundary", "12", "-n_initial", "8", "-seed", "5", "-sampler", "uniform", NULL}},
    {"nonlinear 2-D", {"-problem", "nonlinear_poisson", "-dim", "2", "-n_interior", "25", "-n_boundary", "12", "-seed", "6", "-sampler", "uniform", NULL}},
    {"helmholtz 2-D", {"-problem", "helmholtz", "-dim", "2", "-n_interior", "25", "-n_boundary", "12", "-seed", "7", "-sampler", "uniform", NULL}},
    {"ritz1d", {"-problem", "ritz1d", "-seed", "9", NULL}},
    {"ritz_poisson 2-D", {"-problem", "ritz_poisson", "-dim", "2", "-seed", "10", NULL}},
  };
  const Case regression = {"regression 2-D", {"-problem", "regression", "-dim", "2", "-n_data", "40", "-regression_target", "sin_sum", "-seed", "8", "-sampler", "uniform", NULL}};
  const char *hidden[]  = {"5", "4,3"};

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  TestSetWatchdog(300);
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "(a) factors against naive sums\n"));
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
    for (PetscInt h = 0; h < 2; h++) PetscCall(CheckFactors(&cases[c], hidden[h]));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "(b) one channel: KFAC's output-layer block is exact\n"));
  PetscCall(CheckExactBlock(&regression, -1));
  PetscCall(CheckExactBlock(&cases[0], 1)); /* the Poisson problem's boundary rows */
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "(c) the Kronecker-sum inverse\n"));
  PetscCall(CheckKroneckerSum(2, KRONECKER_DAMPING_ALL, PETSC_FALSE));
  PetscCall(CheckKroneckerSum(2, KRONECKER_DAMPING_PI, PETSC_FALSE));
  PetscCall(CheckKroneckerSum(1, KRONECKER_DAMPING_ALL, PETSC_FALSE));
  PetscCall(CheckKroneckerSum(2, KRONECKER_DAMPING_ALL, PETSC_TRUE));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "(d) KFAC*'s quadratic model\n"));
  PetscCall(CheckQuadraticModel());
  return TestFinish();
}
