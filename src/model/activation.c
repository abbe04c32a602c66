/* Element-wise activations and their first three derivatives. This file alone is compiled with
   -ffast-math -fopenmp-simd so that GCC calls glibc's vector tanh/sin/exp (libmvec): the
   scalar tanh dominated the line search. Nothing here tests for NaN (fast-math forbids it). */
#include <engd/private/modelimpl.h>
#include <math.h>

const char *const ModelActivations[] = {"tanh", "sin", "sigmoid", "ModelActivation", "MODEL_ACT_", NULL};

/* tanh(y) = E/(E + 2) with E = expm1(2y): accurate to a few ulp (also near 0, where expm1 keeps
   the relative accuracy) and about twice as fast as libmvec's vector tanh on AVX-512. Beyond
   |y| = 20, tanh(y) rounds to +-1, so clamping avoids overflow without changing the result. */
static void Tanh(PetscInt n, const PetscReal *restrict y, PetscReal *restrict s0, PetscReal *restrict s1, PetscReal *restrict s2, PetscReal *restrict s3)
{
#pragma omp simd
  for (PetscInt i = 0; i < n; i++) {
    const PetscReal e = expm1(fmin(fmax(2.0 * y[i], -40.0), 40.0));
    s0[i]             = e / (e + 2.0);
  }
  /* tanh' = 1 - t^2, tanh'' = -2 t (1 - t^2), tanh''' = -2 (1 - t^2)(1 - 3 t^2) */
  if (s1) {
#pragma omp simd
    for (PetscInt i = 0; i < n; i++) s1[i] = 1.0 - s0[i] * s0[i];
  }
  if (s2) {
#pragma omp simd
    for (PetscInt i = 0; i < n; i++) s2[i] = -2.0 * s0[i] * (1.0 - s0[i] * s0[i]);
  }
  if (s3) {
#pragma omp simd
    for (PetscInt i = 0; i < n; i++) s3[i] = -2.0 * (1.0 - s0[i] * s0[i]) * (1.0 - 3.0 * s0[i] * s0[i]);
  }
}

static void Sin(PetscInt n, const PetscReal *restrict y, PetscReal *restrict s0, PetscReal *restrict s1, PetscReal *restrict s2, PetscReal *restrict s3)
{
#pragma omp simd
  for (PetscInt i = 0; i < n; i++) s0[i] = sin(y[i]);
  if (s1 || s3) {
    PetscReal *c = s1 ? s1 : s3;
#pragma omp simd
    for (PetscInt i = 0; i < n; i++) c[i] = cos(y[i]);
    if (s3) {
#pragma omp simd
      for (PetscInt i = 0; i < n; i++) s3[i] = -c[i];
    }
  }
  if (s2) {
#pragma omp simd
    for (PetscInt i = 0; i < n; i++) s2[i] = -s0[i];
  }
}

static void Sigmoid(PetscInt n, const PetscReal *restrict y, PetscReal *restrict s0, PetscReal *restrict s1, PetscReal *restrict s2, PetscReal *restrict s3)
{
#pragma omp simd
  for (PetscInt i = 0; i < n; i++) s0[i] = 1.0 / (1.0 + exp(-y[i]));
  /* with s = sigma: s' = s(1-s), s'' = s'(1-2s), s''' = s''(1-2s) - 2 s'^2 */
  for (PetscInt i = 0; i < n && (s1 || s2 || s3); i++) {
    const PetscReal s = s0[i], d1 = s * (1 - s), d2 = d1 * (1 - 2 * s);
    if (s1) s1[i] = d1;
    if (s2) s2[i] = d2;
    if (s3) s3[i] = d2 * (1 - 2 * s) - 2 * d1 * d1;
  }
}

PetscErrorCode ActivationEvaluate(ModelActivation act, PetscInt n, const PetscReal *y, PetscReal *s0, PetscReal *s1, PetscReal *s2, PetscReal *s3)
{
  PetscFunctionBegin;
  switch (act) {
  case MODEL_ACT_TANH:
    Tanh(n, y, s0, s1, s2, s3);
    break;
  case MODEL_ACT_SIN:
    Sin(n, y, s0, s1, s2, s3);
    break;
  case MODEL_ACT_SIGMOID:
    Sigmoid(n, y, s0, s1, s2, s3);
    break;
  }
  PetscCall(PetscLogFlops(10.0 * n));
  PetscFunctionReturn(0);
}
