static const char help[] = "bench_gram: flop rate of the Gram stage (CurvatureSolverSetOperator) of each back-end, as a fraction of a plain\n"
                           "dgemm on this machine, and the memory per rank against the back-ends' memory model.\n\n"
                           "  scripts/mpirun.sh -n 2 build/bench/bench_gram -bench_params 2000,4000 -bench_rows 3500\n\n";

/* A benchmark, not a test: it prints figures and asserts nothing about them.

   For every P of -bench_params, N = -bench_rows random Jacobian rows are split over the ranks in
   contiguous slices (SamplerPartition, as the Objective splits a term: uneven when R does not
   divide N); each rank holds its rows transposed (P x n_rows_max buffer, leading dimension P), as
   ObjectiveResidualRows leaves them. For every back-end of -bench_backends the CurvatureSolver object is
   built through its public interface and CurvatureSolverSetOperator is timed (best of -bench_repeat). The rate
   counts the N P (P+1) flops of the whole product (upper triangle, what dsyrk does) over the wall
   time (slowest rank). The reference is a plain dgemm, C = A A^T with A = P x k of the same rows,
   run on every rank at once so that each core is as loaded as during the Gram stage. */
#include <engd.h>
#include <petscblaslapack.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAX_SIZES    16
#define MAX_BACKENDS 4
#define MB           1048576.0

/* OpenBLAS reads its thread count when it loads: as bin/engd does, pin one thread per rank and
   restart the program image unless the user chose. */
/* A field of /proc/self/status in bytes ("VmRSS", "VmHWM"), or -1 if unavailable. */
static double StatusBytes(const char *key)
{
  FILE  *f = fopen("/proc/self/status", "r");
  char   line[256];
  size_t len = strlen(key);
  double kb  = -1.0;

  if (!f) return -1.0;
  while (fgets(line, sizeof(line), f))
    if (!strncmp(line, key, len) && line[len] == ':') {
      kb = atof(line + len + 1);
      break;
    }
  fclose(f);
  return kb < 0 ? -1.0 : kb * 1024.0;
}

/* Reset VmHWM to the current resident size (Linux >= 4.0); false if the kernel refused. */
static PetscBool ResetPeakRSS(void)
{
  FILE *f = fopen("/proc/self/clear_refs", "w");
  int   ok;

  if (!f) return PETSC_FALSE;
  ok = fputs("5", f) >= 0;
  ok = (fclose(f) == 0) && ok;
  return ok ? PETSC_TRUE : PETSC_FALSE;
}

/* Seconds of the slowest rank. */
static PetscErrorCode MaxOverRanks(double local, double *global)
{
  PetscFunctionBegin;
  PetscCallMPI(MPI_Allreduce(&local, global, 1, MPI_DOUBLE, MPI_MAX, PETSC_COMM_WORLD));
  PetscFunctionReturn(0);
}

typedef struct {
  PetscInt  P;
  char      backend[32];
  double    model, base, hwm_assemble, hwm_solve; /* bytes, max over ranks */
  double    t_solve;
  PetscInt  n_kept;
  PetscBool solved;
} MemoryRow;

int main(int argc, char **argv)
{
  PetscInt    params[MAX_SIZES] = {2000, 4000, 8000}, n_params = 3, n_rows = 3500, repeat = 3, dgemm_k = 1000, solve_max = -1, n_backends = 2;
  char       *backends[MAX_BACKENDS] = {NULL};
  char        solve_type[32]         = "eigen";
  PetscReal   time_budget            = 4.0;
  PetscBool   do_syrk = PETSC_TRUE, peak_resettable;
  PetscMPIInt rank, size;
  MemoryRow   rows[MAX_SIZES * MAX_BACKENDS];
  PetscInt    n_mem = 0;
  const PetscReal one = 1.0, zero = 0.0;

  EngdEnsureBlasSettings(argv);
  PetscCall(PetscInitialize(&argc, &argv, NULL, help));
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCall(PetscStrallocpy("replicated", &backends[0]));
  PetscCall(PetscStrallocpy("scalapack", &backends[1]));
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "Gram benchmark options", "bench_gram");
  {
    PetscInt  n = MAX_SIZES, nb = MAX_BACKENDS;
    PetscBool set;
    char     *given[MAX_BACKENDS] = {NULL};
    PetscCall(PetscOptionsIntArray("-bench_params", "Numbers of parameters P, comma-separated", "bench_gram", params, &n, &set));
    if (set) n_params = n;
    PetscCall(PetscOptionsStringArray("-bench_backends", "Curvature solvers to time, comma-separated", "bench_gram", given, &nb, &set));
    if (set) {
      for (PetscInt b = 0; b < n_backends; b++) PetscCall(PetscFree(backends[b]));
      for (PetscInt b = 0; b < nb; b++) backends[b] = given[b];
      n_backends = nb;
    }
    PetscCall(PetscOptionsInt("-bench_rows", "Total number of Jacobian rows N over all ranks", "bench_gram", n_rows, &n_rows, NULL));
    PetscCall(PetscOptionsInt("-bench_repeat", "Timed CurvatureSolverSetOperator calls per case (the best is reported)", "bench_gram", repeat, &repeat, NULL));
    PetscCall(PetscOptionsReal("-bench_time_budget", "Stop repeating a case after two calls once it has taken this many seconds", "bench_gram", time_budget, &time_budget, NULL));
    PetscCall(PetscOptionsInt("-bench_dgemm_k", "Inner dimension k of the reference dgemm P x P x k (capped by the rows per rank)", "bench_gram", dgemm_k, &dgemm_k, NULL));
    PetscCall(PetscOptionsBool("-bench_syrk", "Also time a plain local dsyrk of the rank's rows", "bench_gram", do_syrk, &do_syrk, NULL));
    PetscCall(PetscOptionsInt("-bench_solve_max", "Time CurvatureSolverSolve for P up to this (default: the smallest P only; 0: never)", "bench_gram", solve_max, &solve_max, NULL));
  }
  PetscOptionsEnd();
  {
    PetscBool help_only;
    PetscCall(PetscOptionsHasHelp(NULL, &help_only));
    if (help_only) {
      for (PetscInt b = 0; b < n_backends; b++) PetscCall(PetscFree(backends[b]));
      PetscCall(PetscFinalize());
      return 0;
    }
  }
  PetscCheck(n_rows >= size, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-bench_rows %" PetscInt_FMT " is smaller than the number of ranks %d", n_rows, size);
  PetscCheck(repeat >= 1, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-bench_repeat must be positive");
  PetscCheck(dgemm_k >= 1, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-bench_dgemm_k must be positive");
  for (PetscInt i = 0; i < n_params; i++) PetscCheck(params[i] >= 1, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-bench_params: sizes must be positive");
  if (solve_max < 0) {
    solve_max = params[0];
    for (PetscInt i = 1; i < n_params; i++) solve_max = PetscMin(solve_max, params[i]);
  }
  PetscCall(PetscOptionsGetString(NULL, NULL, "-engd_solve", solve_type, sizeof(solve_type), NULL));
  /* Large blocks come from mmap and go back to the system when freed, so that the resident size
     before a CurvatureSolver is created does not hold freed pages its allocations would silently reuse. */
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  peak_resettable = ResetPeakRSS();

  {
    PetscInt start, n_local, n_min, n_max;
    SamplerPartition(n_rows, rank, size, &start, &n_local);
    PetscCallMPI(MPI_Allreduce(&n_local, &n_min, 1, MPIU_INT, MPI_MIN, PETSC_COMM_WORLD));
    PetscCallMPI(MPI_Allreduce(&n_local, &n_max, 1, MPIU_INT, MPI_MAX, PETSC_COMM_WORLD));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "== Gram stage flop rate (CurvatureSolverSetOperator: G = sum over ranks of J~_r^T J~_r) ==\n"));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "Shape the issue asks about: P ~ 2,000-10,000 parameters (e.g. 5-64-64-48-48-1: P = 10,065), N = 3,500 rows.\n"));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "This run: %d rank(s), BLAS threads per rank %s, N = %" PetscInt_FMT " rows in contiguous slices of %" PetscInt_FMT "..%" PetscInt_FMT " per rank, P in {", size, getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") : "(unset)", n_rows, n_min, n_max));
    for (PetscInt i = 0; i < n_params; i++) PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%s%" PetscInt_FMT, i ? ", " : "", params[i]));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "}, back-ends {"));
    for (PetscInt b = 0; b < n_backends; b++) PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%s%s", b ? ", " : "", backends[b]));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "}\n"));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  t_best/t_first: CurvatureSolverSetOperator wall seconds (slowest rank), best of up to %" PetscInt_FMT " calls (2 once they took %g s) / first call (first touch of G)\n", repeat, (double)time_budget));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  GF/s total = N P (P+1) / t_best (flops of the whole product, upper triangle); GF/s/rank = total / %d\n", size));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  dgemm/core: plain BLAS dgemm C = A A^T, A = P x k (k = min(rows on the rank, %" PetscInt_FMT ")), every rank at once, best of 2, 2 P^2 k / t\n", dgemm_k));
    if (do_syrk) PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  syrk/core:  plain local dsyrk of the rank's own rows (P x rows), every rank at once, rows P (P+1) / t\n"));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  vs dgemm = (GF/s/rank) / (dgemm/core)%s\n\n", do_syrk ? ";  vs syrk = (GF/s/rank) / (syrk/core): the cost of the reduction / redistribution" : ""));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%6s  %-10s  %9s  %9s  %9s  %10s  %9s  %10s  %9s  %8s  %7s\n", "P", "back-end", "rows/rank", "t_best s", "t_first s", "GF/s total", "GF/s/rank", "dgemm/core", do_syrk ? "syrk/core" : "", "vs dgemm", do_syrk ? "vs syrk" : ""));

    for (PetscInt ip = 0; ip < n_params; ip++) {
      const PetscInt P     = params[ip];
      const double   flops = (double)n_rows * (double)P * (double)(P + 1);
      PetscReal     *jac_t, *C;
      PetscBLASInt   bP, bk, bn;
      double         t, t_gemm = 1e300, t_syrk = 0.0, gemm_rate, syrk_rate = 0.0;
      PetscInt       k = PetscMin(n_local, dgemm_k), n_chunks = 0, *chunk_row;
      /* the rank's rows in chunks of the Objective's default size (-chunk_rows) */
      const PetscInt chunk_rows = PetscMin(1024, PetscMax(128, P / 2));

      PetscCall(PetscMalloc1((size_t)P * n_max, &jac_t));
      for (PetscInt j = 0; j < n_max; j++)
        for (PetscInt i = 0; i < P; i++) jac_t[i + (size_t)j * P] = j < n_local ? 2.0 * RngUniform(17, (uint64_t)P, (uint64_t)(start + j) * (uint64_t)P + (uint64_t)i) - 1.0 : 0.0;

      PetscCall(PetscMalloc1(n_local / chunk_rows + 2, &chunk_row));
      for (chunk_row[0] = 0; chunk_row[n_chunks] < n_local; n_chunks++) chunk_row[n_chunks + 1] = PetscMin(n_local, chunk_row[n_chunks] + chunk_rows);

      /* references: plain dgemm and dsyrk on every rank at once */
      PetscCall(PetscBLASIntCast(P, &bP));
      PetscCall(PetscBLASIntCast(k, &bk));
      PetscCall(PetscBLASIntCast(n_local, &bn));
      PetscCall(PetscMalloc1((size_t)P * P, &C));
      for (int r = 0; r < 2; r++) { /* best of 2: the first call also touches C's pages */
        double t0;
        PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
        t0 = MPI_Wtime();
        PetscCallBLAS("BLASgemm", BLASgemm_("N", "T", &bP, &bP, &bk, &one, jac_t, &bP, jac_t, &bP, &zero, C, &bP));
        PetscCall(MaxOverRanks(MPI_Wtime() - t0, &t));
        t_gemm = PetscMin(t_gemm, t);
      }
      gemm_rate = 2.0 * (double)P * (double)P * (double)k / t_gemm;
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &gemm_rate, 1, MPI_DOUBLE, MPI_MIN, PETSC_COMM_WORLD));
      if (do_syrk) {
        double t0;
        PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
        t0 = MPI_Wtime();
        PetscCallBLAS("BLASsyrk", BLASsyrk_("U", "N", &bP, &bn, &one, jac_t, &bP, &zero, C, &bP));
        t_syrk    = MPI_Wtime() - t0;
        syrk_rate = (double)n_local * (double)P * (double)(P + 1) / t_syrk;
        PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &syrk_rate, 1, MPI_DOUBLE, MPI_MIN, PETSC_COMM_WORLD));
      }
      PetscCall(PetscFree(C));

      for (PetscInt b = 0; b < n_backends; b++) {
        CurvatureSolver           gram;
        MemoryRow     *m = &rows[n_mem++];
        PetscLogDouble model;
        double         t_best = 1e300, t_first = 0.0, spent = 0.0, base, hwm, rate;

        malloc_trim(0);
        PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
        base = StatusBytes("VmRSS");
        if (peak_resettable) ResetPeakRSS();
        PetscCall(CurvatureSolverCreate(PETSC_COMM_WORLD, &gram));
        PetscCall(CurvatureSolverSetType(gram, backends[b]));
        PetscCall(CurvatureSolverSetSizes(gram, P, n_max));
        PetscCall(CurvatureSolverSetFromOptions(gram));
        PetscCall(CurvatureSolverSetUp(gram));
        PetscCall(CurvatureSolverGetMemoryEstimate(gram, &model));
        for (PetscInt r = 0; r < repeat; r++) {
          double t0;
          PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
          t0 = MPI_Wtime();
          {
      const CurvatureOperator op = CurvatureRowsOperator(P, jac_t, NULL, n_chunks, chunk_row, n_max);
      PetscCall(CurvatureSolverSetOperator(gram, &op));
    }
          PetscCall(MaxOverRanks(MPI_Wtime() - t0, &t));
          if (r == 0) t_first = t;
          t_best = PetscMin(t_best, t);
          spent += t;
          if (r >= 1 && spent > time_budget) break;
        }
        hwm = StatusBytes("VmHWM");
        PetscCall(PetscStrncpy(m->backend, backends[b], sizeof(m->backend)));
        m->P = P;
        PetscCallMPI(MPI_Allreduce(&model, &m->model, 1, MPI_DOUBLE, MPI_MAX, PETSC_COMM_WORLD));
        PetscCallMPI(MPI_Allreduce(&base, &m->base, 1, MPI_DOUBLE, MPI_MAX, PETSC_COMM_WORLD));
        {
          double d = hwm - base; /* growth over the resident size before CurvatureSolverCreate */
          PetscCallMPI(MPI_Allreduce(&d, &m->hwm_assemble, 1, MPI_DOUBLE, MPI_MAX, PETSC_COMM_WORLD));
        }
        m->solved = PETSC_FALSE;
        if (P <= solve_max) {
          PetscReal    *rhs, *dir;
          CurvatureSolveInfo info;
          double        t0, d;
          PetscCall(PetscMalloc2(P, &rhs, P, &dir));
          for (PetscInt i = 0; i < P; i++) rhs[i] = 2.0 * RngUniform(18, (uint64_t)P, (uint64_t)i) - 1.0;
          PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
          t0 = MPI_Wtime();
          {
          const CurvatureRegularization reg = {0.0, 0.0};
          PetscCall(CurvatureSolverSolve(gram, &reg, rhs, dir, &info));
        }
          PetscCall(MaxOverRanks(MPI_Wtime() - t0, &m->t_solve));
          d = StatusBytes("VmHWM") - base;
          PetscCallMPI(MPI_Allreduce(&d, &m->hwm_solve, 1, MPI_DOUBLE, MPI_MAX, PETSC_COMM_WORLD));
          m->n_kept = info.n_kept;
          m->solved = PETSC_TRUE;
          PetscCall(PetscFree2(rhs, dir));
        }
        PetscCall(CurvatureSolverDestroy(&gram));

        rate = flops / t_best;
        PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%6" PetscInt_FMT "  %-10s  %9" PetscInt_FMT "  %9.3f  %9.3f  %10.2f  %9.2f  %10.2f  ", P, backends[b], n_max, t_best, t_first, rate / 1e9, rate / size / 1e9, gemm_rate / 1e9));
        if (do_syrk) PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%9.2f  %8.3f  %7.3f\n", syrk_rate / 1e9, rate / size / gemm_rate, rate / size / syrk_rate));
        else PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%9s  %8.3f\n", "", rate / size / gemm_rate));
      }
      PetscCall(PetscFree(jac_t));
      PetscCall(PetscFree(chunk_row));
    }

    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "\n== Memory per rank (max over ranks), MB ==\n"));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  model: CurvatureSolverGetMemoryEstimate (the back-end's own storage; the caller's P x rows buffer is not in it)\n"));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  measured: VmHWM growth over VmRSS just before CurvatureSolverCreate%s\n", peak_resettable ? " (VmHWM reset through /proc/self/clear_refs)" : " (VmHWM could NOT be reset: cumulative peak, an upper bound)"));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  after assemble only the pages written so far count: the solve's eigenvectors and workspace are untouched\n"));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%6s  %-10s  %10s  %10s  %12s  %12s  %10s\n", "P", "back-end", "rows buf", "model", "meas. asm", "meas. solve", "RSS before"));
    for (PetscInt i = 0; i < n_mem; i++) {
      const MemoryRow *m = &rows[i];
      char             solve_text[32] = "-";
      if (m->solved) PetscCall(PetscSNPrintf(solve_text, sizeof(solve_text), "%.1f", m->hwm_solve / MB));
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%6" PetscInt_FMT "  %-10s  %10.1f  %10.1f  %12.1f  %12s  %10.1f\n", m->P, m->backend, 8.0 * (double)m->P * (double)n_max / MB, m->model / MB, m->hwm_assemble / MB, solve_text, m->base / MB));
    }
    {
      struct rusage ru;
      double        maxrss = 0.0;
      getrusage(RUSAGE_SELF, &ru);
      maxrss = (double)ru.ru_maxrss * 1024.0; /* kB on Linux */
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &maxrss, 1, MPI_DOUBLE, MPI_MAX, PETSC_COMM_WORLD));
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  whole-process peak (getrusage ru_maxrss, max over ranks): %.1f MB\n", maxrss / MB));
    }

    if (solve_max > 0) {
      PetscBool any = PETSC_FALSE;
      for (PetscInt i = 0; i < n_mem; i++) any = any || rows[i].solved;
      if (any) {
        PetscCall(PetscPrintf(PETSC_COMM_WORLD, "\n== CurvatureSolverSolve (-engd_solve %s, damping 0), one call ==\n", solve_type));
        PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%6s  %-10s  %9s  %8s  %s\n", "P", "back-end", "t_solve s", "n_kept", "GF/s nominal (9 P^3 for eigen, P^3/3 for cholesky)"));
        for (PetscInt i = 0; i < n_mem; i++) {
          const MemoryRow *m = &rows[i];
          const double     P = (double)m->P, nominal = (strcmp(solve_type, "cholesky") ? 9.0 : 1.0 / 3.0) * P * P * P;
          if (!m->solved) continue;
          PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%6" PetscInt_FMT "  %-10s  %9.3f  %8" PetscInt_FMT "  %.2f\n", m->P, m->backend, m->t_solve, m->n_kept, nominal / m->t_solve / 1e9));
        }
      }
    }
  }
  for (PetscInt b = 0; b < n_backends; b++) PetscCall(PetscFree(backends[b]));
  PetscCall(PetscFinalize());
  return 0;
}
