/* Two visitors of the reverse pass, per-point Jacobian rows and the summed gradient, and the
   old entry points that run them on the Model's own tape. */
#include "taylor.h"
#include <petscblaslapack.h>

/* Rows of layer l for every point: W part sum_s ybar[:, s, p] z[:, s, p]^T, bias part ybar_v.
   Channel s of point p is a contiguous column of n values at (s*nb + p)*n, so point p's channels
   form an n x S matrix with leading dimension nb*n: for l > 1 the W part is the product
   Ybar_p Z_p^T of two such matrices, one dgemm per point (faster than loops even for S = 4;
   a loop over channels innermost strides by nb*n doubles per access, which defeats the caches
   once S is large). For the scalar output layer it is sum_s ybar_s z_s, axpys on contiguous z_s. */
PetscErrorCode ModelLayerVisitRows(const ModelLayer *layer, void *ctx)
{
  const ModelRowsContext *rows = (const ModelRowsContext *)ctx;
  const PetscInt          l = layer->layer, n_out = layer->n_out, n_in = layer->n_in, nb = layer->n_points, S = layer->n_channels, ld = rows->ld;
  const PetscReal        *ybar = layer->cot, *z = layer->input;
  const PetscBool         use_gemm = (l > 1 && n_out > 1) ? PETSC_TRUE : PETSC_FALSE;
  PetscBLASInt            M = 0, N = 0, K = 0, lda = 0, ldb = 0;
  const PetscReal         one = 1.0, zero = 0.0;

  PetscFunctionBegin;
  if (use_gemm) {
    PetscCall(PetscBLASIntCast(n_out, &M));
    PetscCall(PetscBLASIntCast(n_in, &N));
    PetscCall(PetscBLASIntCast(S, &K));
    PetscCall(PetscBLASIntCast(nb * n_out, &lda));
    PetscCall(PetscBLASIntCast(nb * n_in, &ldb));
  }
  for (PetscInt p = 0; p < nb; p++) {
    PetscReal *row_W = rows->jac_t + p * ld + layer->w_offset, *row_b = rows->jac_t + p * ld + layer->b_offset;
    const PetscReal *ybar_v = ybar + p * n_out;
    PetscCall(PetscArraycpy(row_b, ybar_v, n_out));
    if (l == 1) { /* input channels: x_j on the value channel, 1 on channel e_j, 0 elsewhere */
      for (PetscInt j = 0; j < n_in; j++) {
        PetscReal       *col    = row_W + j * n_out;
        const PetscReal  xj     = z[p * n_in + j];
        const PetscReal *ybar_j = ybar + ((1 + j) * nb + p) * n_out;
        if (S > 1)
          for (PetscInt i = 0; i < n_out; i++) col[i] = ybar_v[i] * xj + ybar_j[i];
        else
          for (PetscInt i = 0; i < n_out; i++) col[i] = ybar_v[i] * xj;
      }
    } else if (use_gemm) {
      PetscCallBLAS("BLASgemm", BLASgemm_("N", "T", &M, &N, &K, &one, ybar_v, &lda, z + p * n_in, &ldb, &zero, row_W, &M));
    } else { /* the scalar output layer */
      for (PetscInt s = 0; s < S; s++) {
        const PetscReal *z_s = z + (s * nb + p) * n_in, ys = ybar[s * nb + p];
        if (s == 0)
          for (PetscInt j = 0; j < n_in; j++) row_W[j] = ys * z_s[j];
        else
          for (PetscInt j = 0; j < n_in; j++) row_W[j] += ys * z_s[j];
      }
    }
  }
  PetscCall(PetscLogFlops(2.0 * nb * n_out * n_in * (l == 1 ? PetscMin(S, 2) : S)));
  PetscFunctionReturn(0);
}

/* Gradient of layer l summed over points: gW += ybar z^T (one dgemm), gb += ybar_v 1. */
PetscErrorCode ModelLayerVisitGradient(const ModelLayer *layer, void *ctx)
{
  const PetscInt   n_out = layer->n_out, n_in = layer->n_in, nb = layer->n_points, S = layer->n_channels;
  const PetscReal *ybar = layer->cot, *z = layer->input, *ones = layer->model->ones;
  PetscReal       *grad = (PetscReal *)ctx, *gW = grad + layer->w_offset, *gb = grad + layer->b_offset;
  PetscBLASInt     M, N, K, one_i = 1;
  const PetscReal  one = 1.0;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(n_out, &M));
  PetscCall(PetscBLASIntCast(n_in, &N));
  PetscCall(PetscBLASIntCast(nb, &K));
  PetscCallBLAS("BLASgemv", BLASgemv_("N", &M, &K, &one, ybar, &M, ones, &one_i, &one, gb, &one_i));
  if (layer->layer == 1) {
    PetscCallBLAS("BLASgemm", BLASgemm_("N", "T", &M, &N, &K, &one, ybar, &M, z, &N, &one, gW, &M));
    for (PetscInt j = 0; S > 1 && j < n_in; j++) PetscCallBLAS("BLASgemv", BLASgemv_("N", &M, &K, &one, ybar + (1 + j) * nb * n_out, &M, ones, &one_i, &one, gW + j * n_out, &one_i));
  } else {
    PetscCall(PetscBLASIntCast(nb * S, &K));
    PetscCallBLAS("BLASgemm", BLASgemm_("N", "T", &M, &N, &K, &one, ybar, &M, z, &N, &one, gW, &M));
  }
  PetscCall(PetscLogFlops(2.0 * n_out * n_in * nb * S));
  PetscFunctionReturn(0);
}

PetscErrorCode ModelBackwardRows(Model m, const PetscReal *theta, const PetscReal *cot, PetscReal *jac_t, PetscInt ld)
{
  ModelRowsContext rows = {jac_t, ld};

  PetscFunctionBegin;
  PetscCall(ModelReverse(m, m->default_tape, theta, cot, ModelLayerVisitRows, &rows));
  PetscFunctionReturn(0);
}

PetscErrorCode ModelBackwardGradient(Model m, const PetscReal *theta, const PetscReal *cot, PetscReal *grad)
{
  PetscFunctionBegin;
  PetscCall(ModelReverse(m, m->default_tape, theta, cot, ModelLayerVisitGradient, grad));
  PetscFunctionReturn(0);
}
