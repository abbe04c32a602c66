/* Curvature solvers (replicated; scalapack with block sizes 8 and the default 64) and solve types
   (eigen, cholesky), chosen through CurvatureSolverSetFromOptions, on random rows with uneven counts per
   rank (one scenario leaves a rank empty, and n_rows_max may exceed the largest count) and
   garbage in jac_t's padding columns. Every result is compared with a reference computed naively
   (sum over ranks of the local J^T J, LAPACK dsyev). Checks:
     - CurvatureSolverGetMatrix = the naive G, also after assembling twice;
     - full-rank G, damping 0 and damping > 0: (G + s I) d = rhs with s the damping (eigen) or the
       damping plus rcond * max diag G (cholesky's documented shift), d equal to the reference
       and to the replicated back-end's direction (1e-9);
     - rank-deficient G (more parameters than rows; duplicated parameters), eigen: d = G^+ rhs
       with the cut-off, no null-space component (duplicated parameters get equal entries), G d =
       the projection of rhs; cholesky with damping 0 and rhs = J^T r: G d = rhs and only a
       small null-space part; damped solves with rhs in the range for both solve types;
     - CurvatureSolveInfo: kept count = rank of G, lambda_max, no Cholesky fallback on a full-rank G;
     - every rank holds the same direction.
   The default ScaLAPACK block size (64, larger than or close to P here) runs last, after every
   other configuration, since a failure there can leave the ranks hung; a watchdog turns a hang
   into a failure. Rank 4 gives a 2 x 2 process grid (smaller counts use 1 x R). */
/* ranks: 1 2 3 4 */
#include "testing.h"
#include <engd/rng.h>
#include <petscblaslapack.h>

#define RCOND   1e-12
#define PADDING 1e8 /* garbage in jac_t's columns past the local rows */

typedef struct {
  const char *name;
  PetscInt    P, base, step; /* rank r has base + step*r rows */
  PetscInt    zero_rank;     /* this rank has no rows (-1: none) */
  PetscInt    extra_max;     /* n_rows_max = largest count + extra_max */
  PetscInt    n_dup;         /* parameters n_dup..2 n_dup-1 copy 0..n_dup-1 (0: none) */
  PetscBool   full_rank;
} Scenario;

typedef struct {
  const char *type, *solve, *block;
} Config;

/* |(A + shift I) x - b| / |b| for a P x P column-major A */
static PetscReal Residual(PetscInt P, const PetscReal *A, PetscReal shift, const PetscReal *x, const PetscReal *b)
{
  PetscReal s = 0;
  for (PetscInt i = 0; i < P; i++) {
    PetscReal y = shift * x[i] - b[i];
    for (PetscInt j = 0; j < P; j++) y += A[i + j * P] * x[j];
    s += y * y;
  }
  return PetscSqrtReal(s) / TestNorm(P, b);
}

static PetscBool Kept(PetscInt P, const PetscReal *lambda, PetscInt i) { return lambda[i] > RCOND * lambda[P - 1] && lambda[i] > 0 ? PETSC_TRUE : PETSC_FALSE; }

/* Reference directions from the eigenpairs (V, lambda ascending) of the naive G:
   cut = PETSC_TRUE:  sum over kept i of v_i v_i^T rhs / (lambda_i + shift)   (CurvatureSolverSolve's formula)
   cut = PETSC_FALSE: (G + shift I)^-1 rhs                                    (Tikhonov) */
static void Reference(PetscInt P, const PetscReal *V, const PetscReal *lambda, PetscBool cut, PetscReal shift, const PetscReal *rhs, PetscReal *d)
{
  for (PetscInt k = 0; k < P; k++) d[k] = 0;
  for (PetscInt i = 0; i < P; i++) {
    PetscReal c = 0;
    if (cut && !Kept(P, lambda, i)) continue;
    for (PetscInt k = 0; k < P; k++) c += V[k + i * P] * rhs[k];
    c /= lambda[i] + shift;
    for (PetscInt k = 0; k < P; k++) d[k] += c * V[k + i * P];
  }
}

/* |component of d in the null space (eigenvalues under the cut-off)| / |d| */
static PetscReal NullPart(PetscInt P, const PetscReal *V, const PetscReal *lambda, const PetscReal *d)
{
  PetscReal s = 0;
  for (PetscInt i = 0; i < P; i++) {
    PetscReal c = 0;
    if (Kept(P, lambda, i)) continue;
    for (PetscInt k = 0; k < P; k++) c += V[k + i * P] * d[k];
    s += c * c;
  }
  return PetscSqrtReal(s) / PetscMax(TestNorm(P, d), 1e-300);
}

static PetscErrorCode CheckScenario(const Scenario *sc, const Config *configs, PetscInt n_configs)
{
  MPI_Comm       comm = PETSC_COMM_WORLD;
  PetscMPIInt    rank, size;
  const PetscInt P = sc->P;
  PetscInt       n_local, n_max, total, rank_G, n_chunks, chunk_row[64];
  PetscReal     *rows, *jac_t, *G_naive, *G, *V, *lambda, *work, *r, *rhs_rand, *rhs_range, *d, *d_ref, *d_repl[2][2];
  PetscReal      damping, max_diag = 0;
  PetscBLASInt   n, lwork, info;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  n_local = rank == sc->zero_rank ? 0 : sc->base + sc->step * rank;
  /* the rows go to the back-ends in chunks of up to 7 (the last may be shorter, or none) */
  for (n_chunks = 0, chunk_row[0] = 0; chunk_row[n_chunks] < n_local; n_chunks++) chunk_row[n_chunks + 1] = PetscMin(n_local, chunk_row[n_chunks] + 7);
  PetscCall(MPIU_Allreduce(&n_local, &n_max, 1, MPIU_INT, MPI_MAX, comm));
  PetscCall(MPIU_Allreduce(&n_local, &total, 1, MPIU_INT, MPI_SUM, comm));
  n_max += sc->extra_max;
  rank_G = PetscMin(total, P - sc->n_dup);
  PetscCall(PetscPrintf(comm, "  %s: P = %" PetscInt_FMT ", %" PetscInt_FMT " rows in all (rank 0: %" PetscInt_FMT ", n_rows_max %" PetscInt_FMT "), rank of G %" PetscInt_FMT "\n", sc->name, P, total, n_local, n_max, rank_G));
  CHECK(sc->full_rank == (rank_G == P), "%s: scenario is not %s at %d ranks", sc->name, sc->full_rank ? "full rank" : "rank-deficient", size);

  PetscCall(PetscMalloc6((size_t)P * n_max, &rows, (size_t)P * n_max, &jac_t, P * P, &G_naive, P * P, &G, P * P, &V, P, &lambda));
  PetscCall(PetscMalloc6(10 * P, &work, PetscMax(1, n_local), &r, P, &rhs_rand, P, &rhs_range, P, &d, P, &d_ref));
  for (PetscInt k = 0; k < 2; k++)
    for (PetscInt j = 0; j < 2; j++) PetscCall(PetscMalloc1(P, &d_repl[k][j]));

  /* rows: uniform in [-1, 1], different on every rank; padding columns hold garbage */
  for (PetscInt p = 0; p < n_max; p++)
    for (PetscInt i = 0; i < P; i++) {
      const PetscInt src = i >= sc->n_dup && i < 2 * sc->n_dup ? i - sc->n_dup : i;
      rows[p * P + i]    = p < n_local ? 2 * RngUniform(7, 100 + (uint64_t)rank, (uint64_t)(p * P + src)) - 1 : PADDING;
    }
  for (PetscInt p = 0; p < n_local; p++) r[p] = 2 * RngUniform(8, 100 + (uint64_t)rank, (uint64_t)p) - 1;
  for (PetscInt i = 0; i < P; i++) rhs_rand[i] = 2 * RngUniform(9, 0, (uint64_t)i) - 1;
  /* naive G and rhs_range = J^T r, summed over ranks */
  for (PetscInt i = 0; i < P; i++) {
    rhs_range[i] = 0;
    for (PetscInt p = 0; p < n_local; p++) rhs_range[i] += rows[p * P + i] * r[p];
    for (PetscInt j = 0; j < P; j++) {
      PetscReal s = 0;
      for (PetscInt p = 0; p < n_local; p++) s += rows[p * P + i] * rows[p * P + j];
      G_naive[i + j * P] = s;
    }
  }
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, G_naive, P * P, MPIU_REAL, MPIU_SUM, comm));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, rhs_range, P, MPIU_REAL, MPIU_SUM, comm));
  for (PetscInt i = 0; i < P; i++) max_diag = PetscMax(max_diag, G_naive[i + i * P]);
  /* reference eigenpairs */
  PetscCall(PetscArraycpy(V, G_naive, P * P));
  PetscCall(PetscBLASIntCast(P, &n));
  PetscCall(PetscBLASIntCast(10 * P, &lwork));
  PetscCallBLAS("LAPACKsyev", LAPACKsyev_("V", "U", &n, V, &n, lambda, work, &lwork, &info));
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dsyev failed: %d", (int)info);
  damping = 0.05 * lambda[P - 1];
  {
    PetscInt kept = 0;
    for (PetscInt i = 0; i < P; i++) kept += Kept(P, lambda, i);
    CHECK(kept == rank_G, "%s: the reference keeps %" PetscInt_FMT " eigenvalues, the rank is %" PetscInt_FMT, sc->name, kept, rank_G);
    PetscCall(PetscPrintf(comm, "    eigenvalues of G: largest %.2e, smallest kept %.2e, largest dropped %.1e; damping %.2e\n", (double)lambda[P - 1], (double)lambda[P - rank_G], rank_G < P ? (double)lambda[P - rank_G - 1] : 0.0, (double)damping));
  }

  for (PetscInt c = 0; c < n_configs; c++) {
    const Config   *cf = &configs[c];
    CurvatureSolver            gram;
    const char     *type;
    CurvatureSolveInfo   si;
    char            desc[160], label[64];
    PetscReal       err, ref, nul, scale, shift0, shift1;
    const PetscBool is_chol = cf->solve[0] == 'c' ? PETSC_TRUE : PETSC_FALSE;
    PetscBool       is_repl;

    PetscCall(PetscSNPrintf(label, sizeof(label), "%s/%s block %s", cf->type, cf->solve, cf->block));
    PetscCall(PetscSNPrintf(desc, sizeof(desc), "%s, %s", sc->name, label));
    if (size > 1) { /* name the rank in messages of CHECKs that fail on some ranks only */
      char r[16];
      PetscCall(PetscSNPrintf(r, sizeof(r), " [rank %d]", rank));
      PetscCall(PetscStrlcat(desc, r, sizeof(desc)));
    }
    PetscCall(PetscStrcmp(cf->type, "replicated", &is_repl));
    /* the shift each solve type applies: eigen adds the damping to the kept eigenvalues,
       cholesky factors G + (damping + rcond max diag G) I */
    shift0 = is_chol ? RCOND * max_diag : 0.0;
    shift1 = damping + shift0;

    PetscCall(PetscOptionsSetValue(NULL, "-engd_gram", cf->type));
    PetscCall(PetscOptionsSetValue(NULL, "-engd_solve", cf->solve));
    PetscCall(PetscOptionsSetValue(NULL, "-gram_block_size", cf->block));
    PetscCall(CurvatureSolverCreate(comm, &gram));
    PetscCall(CurvatureSolverSetSizes(gram, P, n_max));
    PetscCall(CurvatureSolverSetFromOptions(gram));
    PetscCall(CurvatureSolverSetUp(gram));
    PetscCall(PetscOptionsClearValue(NULL, "-engd_gram"));
    PetscCall(PetscOptionsClearValue(NULL, "-engd_solve"));
    PetscCall(PetscOptionsClearValue(NULL, "-gram_block_size"));
    PetscCall(CurvatureSolverGetType(gram, &type));
    CHECK(!strcmp(type, cf->type), "%s: back-end is %s", desc, type);

    /* assemble twice: first other rows (3 J), then J; G must be that of J */
    for (PetscInt k = 0; k < P * n_max; k++) jac_t[k] = k < P * n_local ? 3 * rows[k] : PADDING;
    {
      const CurvatureOperator op = CurvatureRowsOperator(P, jac_t, NULL, n_chunks, chunk_row, n_max);
      PetscCall(CurvatureSolverSetOperator(gram, &op));
    }
    PetscCall(PetscArraycpy(jac_t, rows, (size_t)P * n_max));
    {
      const CurvatureOperator op = CurvatureRowsOperator(P, jac_t, NULL, n_chunks, chunk_row, n_max);
      PetscCall(CurvatureSolverSetOperator(gram, &op));
    }
    PetscCall(CurvatureSolverGetMatrix(gram, G));
    err   = 0;
    scale = 0;
    for (PetscInt k = 0; k < P * P; k++) {
      err   = PetscMax(err, PetscAbsReal(G[k] - G_naive[k]));
      scale = PetscMax(scale, PetscAbsReal(G_naive[k]));
    }
    err /= scale;
    CHECK(err < 1e-12, "%s: CurvatureSolverGetMatrix differs from the naive sum of J^T J: %.1e", desc, (double)err);
    PetscCall(PetscPrintf(comm, "    %-28s G %.1e", label, (double)err));

    if (sc->full_rank) {
      for (PetscInt k = 0; k < 2; k++) { /* k = 0: damping 0; k = 1: damping */
        const PetscReal mu = k ? damping : 0.0, shift = k ? shift1 : shift0;
        {
          const CurvatureRegularization reg = {RCOND, mu};
          PetscCall(CurvatureSolverSolve(gram, &reg, rhs_rand, d, &si));
        }
        err = Residual(P, G_naive, shift, d, rhs_rand);
        CHECK(err < 1e-10, "%s, damping %g: |(G + %g I) d - rhs| / |rhs| = %.1e", desc, (double)mu, (double)shift, (double)err);
        Reference(P, V, lambda, PetscNot(is_chol), shift, rhs_rand, d_ref);
        ref = TestRelDist(P, d, d_ref);
        CHECK(ref < 1e-9, "%s, damping %g: d differs from the reference: %.1e", desc, (double)mu, (double)ref);
        CHECK(si.n_kept == P, "%s, damping %g: %" PetscInt_FMT " of %" PetscInt_FMT " kept", desc, (double)mu, si.n_kept, P);
        CHECK(!si.used_fallback, "%s, damping %g: Cholesky fell back to eigen on a full-rank G", desc, (double)mu);
        if (!is_chol) CHECK(RelDiff(si.lambda_max, lambda[P - 1], 1e-300) < 1e-10, "%s: lambda_max %g, reference %g", desc, (double)si.lambda_max, (double)lambda[P - 1]);
        PetscCall(PetscPrintf(comm, "; %s: res %.1e, vs ref %.1e", k ? "damped" : "mu 0", (double)err, (double)ref));
        if (is_repl) PetscCall(PetscArraycpy(d_repl[k][is_chol], d, P));
        else {
          err = TestRelDist(P, d, d_repl[k][is_chol]);
          CHECK(err < 1e-9, "%s, damping %g: d differs from the replicated back-end's: %.1e", desc, (double)mu, (double)err);
          PetscCall(PetscPrintf(comm, ", vs repl %.1e", (double)err));
        }
      }
    } else {
      if (!is_chol) {
        /* pseudo-inverse of an arbitrary rhs */
        PetscReal dup = 0, dmax = 0;
        {
          const CurvatureRegularization reg = {RCOND, 0.0};
          PetscCall(CurvatureSolverSolve(gram, &reg, rhs_rand, d, &si));
        }
        Reference(P, V, lambda, PETSC_TRUE, 0.0, rhs_rand, d_ref);
        ref = TestRelDist(P, d, d_ref);
        CHECK(ref < 1e-9, "%s: d differs from the reference pseudo-inverse: %.1e", desc, (double)ref);
        nul = NullPart(P, V, lambda, d);
        CHECK(nul < 1e-10, "%s: d has a null-space component %.1e (relative)", desc, (double)nul);
        CHECK(si.n_kept == rank_G, "%s: %" PetscInt_FMT " eigenvalues kept, rank %" PetscInt_FMT, desc, si.n_kept, rank_G);
        CHECK(RelDiff(si.lambda_max, lambda[P - 1], 1e-300) < 1e-10, "%s: lambda_max %g, reference %g", desc, (double)si.lambda_max, (double)lambda[P - 1]);
        for (PetscInt i = 0; i < sc->n_dup; i++) dup = PetscMax(dup, PetscAbsReal(d[i] - d[i + sc->n_dup]));
        for (PetscInt i = 0; i < P; i++) dmax = PetscMax(dmax, PetscAbsReal(d[i]));
        dup /= dmax;
        CHECK(dup < 1e-10, "%s: duplicated parameters get different entries: %.1e", desc, (double)dup);
        /* G d = V_r V_r^T rhs */
        for (PetscInt i = 0; i < P; i++) {
          PetscReal s = 0;
          for (PetscInt k = 0; k < P; k++)
            if (Kept(P, lambda, k)) {
              PetscReal cc = 0;
              for (PetscInt j = 0; j < P; j++) cc += V[j + k * P] * rhs_rand[j];
              s += cc * V[i + k * P];
            }
          work[i] = s;
        }
        err = Residual(P, G_naive, 0.0, d, work);
        CHECK(err < 1e-10, "%s: G d differs from the projection of rhs onto the range: %.1e", desc, (double)err);
        PetscCall(PetscPrintf(comm, "; G^+ b: vs ref %.1e, null %.1e, dup %.1e, res %.1e", (double)ref, (double)nul, (double)dup, (double)err));
        if (is_repl) PetscCall(PetscArraycpy(d_repl[0][0], d, P));
        else {
          err = TestRelDist(P, d, d_repl[0][0]);
          CHECK(err < 1e-9, "%s: d differs from the replicated back-end's: %.1e", desc, (double)err);
          PetscCall(PetscPrintf(comm, ", vs repl %.1e", (double)err));
        }
      } else {
        /* damping 0, rhs = J^T r in the range: G d = rhs up to the tiny shift; the rounding of
           rhs's null-space part is amplified by 1/shift, so only a loose bound applies there */
        {
          const CurvatureRegularization reg = {RCOND, 0.0};
          PetscCall(CurvatureSolverSolve(gram, &reg, rhs_range, d, &si));
        }
        err = Residual(P, G_naive, 0.0, d, rhs_range);
        CHECK(err < 1e-9, "%s: |G d - rhs| / |rhs| = %.1e for rhs in the range", desc, (double)err);
        nul = NullPart(P, V, lambda, d);
        CHECK(nul < 1e-2, "%s: null-space component of d %.1e (relative)", desc, (double)nul);
        PetscCall(PetscPrintf(comm, "; mu 0, b in range: res %.1e, null %.1e%s", (double)err, (double)nul, si.used_fallback ? " (eigen fallback)" : ""));
      }
      /* damped, rhs in the range */
      {
          const CurvatureRegularization reg = {RCOND, damping};
          PetscCall(CurvatureSolverSolve(gram, &reg, rhs_range, d, &si));
        }
      err = Residual(P, G_naive, shift1, d, rhs_range);
      CHECK(err < 1e-10, "%s: |(G + %g I) d - rhs| / |rhs| = %.1e", desc, (double)shift1, (double)err);
      Reference(P, V, lambda, PETSC_TRUE, shift1, rhs_range, d_ref);
      ref = TestRelDist(P, d, d_ref);
      CHECK(ref < 1e-9, "%s: damped d differs from the reference: %.1e", desc, (double)ref);
      nul = NullPart(P, V, lambda, d);
      CHECK(nul < 1e-10, "%s: damped d has a null-space component %.1e (relative)", desc, (double)nul);
      PetscCall(PetscPrintf(comm, "; damped, b in range: res %.1e, vs ref %.1e, null %.1e", (double)err, (double)ref, (double)nul));
      if (is_repl) PetscCall(PetscArraycpy(d_repl[1][is_chol], d, P));
      else {
        err = TestRelDist(P, d, d_repl[1][is_chol]);
        CHECK(err < 1e-9, "%s: damped d differs from the replicated back-end's: %.1e", desc, (double)err);
        PetscCall(PetscPrintf(comm, ", vs repl %.1e", (double)err));
      }
    }
    PetscCall(PetscPrintf(comm, "\n"));
    { /* every rank holds the same direction */
      PetscReal s = 0, lo, hi;
      for (PetscInt i = 0; i < P; i++) s += d[i] * (PetscReal)(i + 1);
      PetscCall(MPIU_Allreduce(&s, &lo, 1, MPIU_REAL, MPIU_MIN, comm));
      PetscCall(MPIU_Allreduce(&s, &hi, 1, MPIU_REAL, MPIU_MAX, comm));
      CHECK(lo == hi, "%s: the direction differs between ranks", desc);
    }
    PetscCall(CurvatureSolverDestroy(&gram));
  }

  PetscCall(PetscFree6(rows, jac_t, G_naive, G, V, lambda));
  PetscCall(PetscFree6(work, r, rhs_rand, rhs_range, d, d_ref));
  for (PetscInt k = 0; k < 2; k++)
    for (PetscInt j = 0; j < 2; j++) PetscCall(PetscFree(d_repl[k][j]));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  /* replicated first in each list: the others compare with its directions */
  const Config configs[] = {
    {"replicated", "eigen", "64"},
    {"replicated", "cholesky", "64"},
    {"scalapack", "eigen", "8"},
    {"scalapack", "cholesky", "8"},
    {"scalapack", "cholesky", "64"},
  };
  const Config configs_default_block[] = {
    {"replicated", "eigen", "64"},
    {"scalapack", "eigen", "64"},
  };
  const Scenario scenarios[] = {
    {"full rank", 40, 50, 7, -1, 0, 0, PETSC_TRUE},
    {"full rank, rank 1 empty, n_rows_max + 3", 77, 90, 7, 1, 3, 0, PETSC_TRUE},
    {"more parameters than rows", 120, 20, 5, -1, 0, 0, PETSC_FALSE},
    {"10 duplicated parameters", 60, 70, 7, -1, 2, 10, PETSC_FALSE},
  };

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  TestSetWatchdog(120); /* a hang, not a slow oversubscribed machine (4 ranks on 2 busy cores took 16 s) */
  for (PetscInt s = 0; s < 4; s++) PetscCall(CheckScenario(&scenarios[s], configs, 5));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "ScaLAPACK eigen solves with the default block size 64:\n"));
  for (PetscInt s = 0; s < 4; s++) PetscCall(CheckScenario(&scenarios[s], configs_default_block, 2));
  return TestFinish();
}
