static const char help[] = "bench_eigen: the replicated ENGD solve d = V f(Lambda) V^T g of a real Gram matrix, two ways:\n"
                           "  syevd  dsyevd with eigenvectors, then two dgemv (-gram_eigensolver syevd)\n"
                           "  trid   dsytrd, dstedc on the tridiagonal T = Z Lambda Z^T, and Q applied to two vectors (the default)\n"
                           "         (dormtr): d = Q Z f(Lambda) Z^T Q^T g, without forming V = Q Z (saves the n^3 back-transformation)\n\n"
                           "  build/bench/bench_eigen -options_file configs/poisson2d.opts [-bench_its 10] [-bench_reps 20] [-bench_dump FILE]\n"
                           "  -bench_dump FILE writes the rows and residuals (int32 P, int32 N, N x P rows, N residuals; one\n"
                           "  rank) for bench/gram_floor.py, which compares the Gram's eigensolve with an SVD of the rows\n\n";

/* A benchmark, not a test: it prints figures and asserts nothing. The Gram matrix is the one
   ENGD builds on iteration -bench_its of the job given by the options (the default job's rows,
   replicated back-end); the cut-off is -engd_rcond (1e-13). Run it on one rank. */
#include <engd.h>
#include <engd/private/curvatureimpl.h>
#include <engd/private/lapack.h>

int main(int argc, char **argv)
{
  Problem            problem;
  Model              model;
  Objective          objective;
  Optimizer          opt;
  OptimizerStepInfo  step;
  CurvatureOperator  rows;
  CurvatureSolver    solver;
  CurvatureSolveInfo info;
  PetscInt           P, dim, its = 10, reps = 20;
  PetscReal         *theta, *grad, *gram, *a, *lambda, *e, *tau, *z, *filter, *tmp, *d_syevd, *d_trid, *work, loss, rcond = 1e-13;
  PetscReal          best[2] = {PETSC_MAX_REAL, PETSC_MAX_REAL}, diff = 0, norm = 0;
  PetscBLASInt       n, one_i = 1, lwork, liwork, lapack_info, *iwork;
  const PetscReal    one = 1.0, zero = 0.0;

  EngdEnsureBlasSettings(argv); /* engd's BLAS settings: one thread, the CPU's kernels */
  PetscCall(PetscInitialize(&argc, &argv, NULL, help));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-bench_its", &its, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-bench_reps", &reps, NULL));
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-engd_rcond", &rcond, NULL));
  PetscCall(ProblemCreate(PETSC_COMM_WORLD, &problem));
  PetscCall(ProblemSetFromOptions(problem));
  PetscCall(ModelCreate(PETSC_COMM_WORLD, &model));
  PetscCall(ProblemGetDimension(problem, &dim));
  PetscCall(ModelSetDimension(model, dim));
  PetscCall(ModelSetFromOptions(model));
  PetscCall(ObjectiveCreate(model, problem, &objective));
  PetscCall(ObjectiveSetFromOptions(objective));
  PetscCall(ObjectiveSetUp(objective));
  PetscCall(OptimizerCreate(objective, &opt));
  PetscCall(OptimizerSetFromOptions(opt));
  PetscCall(OptimizerSetUp(opt));
  for (PetscInt k = 0; k < its; k++) PetscCall(OptimizerStep(opt, &step));
  PetscCall(ModelGetNumParameters(model, &P));
  PetscCall(ModelGetParameters(model, &theta));
  PetscCall(ObjectiveRowsCreate(objective, &rows));
  PetscCall(ObjectiveRowsCompute(objective, theta, &rows, &loss));
  PetscCall(PetscMalloc5(P, &grad, P * P, &gram, P * P, &a, P * P, &z, P, &lambda));
  PetscCall(PetscMalloc6(P, &e, P, &tau, P, &filter, P, &tmp, P, &d_syevd, P, &d_trid));
  {
    char      dump[PETSC_MAX_PATH_LEN];
    PetscBool set;
    PetscCall(PetscOptionsGetString(NULL, NULL, "-bench_dump", dump, sizeof(dump), &set));
    if (set) {
      const int   sizes[2] = {(int)P, (int)rows.chunk_row[rows.n_chunks]};
      FILE       *f;
      PetscMPIInt size;
      PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
      PetscCheck(size == 1, PETSC_COMM_WORLD, PETSC_ERR_ARG_WRONG, "-bench_dump needs one rank");
      PetscCall(PetscFOpen(PETSC_COMM_SELF, dump, "wb", &f));
      PetscCheck(fwrite(sizes, sizeof(int), 2, f) == 2 && fwrite(rows.jac_t, sizeof(PetscReal), (size_t)sizes[0] * sizes[1], f) == (size_t)sizes[0] * sizes[1] && fwrite(rows.res, sizeof(PetscReal), (size_t)sizes[1], f) == (size_t)sizes[1], PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "-bench_dump: cannot write %s", dump);
      PetscCall(PetscFClose(PETSC_COMM_SELF, f));
    }
  }
  PetscCall(ObjectiveRowsGradient(objective, &rows, theta, grad));
  PetscCall(CurvatureSolverCreate(PETSC_COMM_WORLD, &solver));
  PetscCall(CurvatureSolverSetType(solver, "replicated"));
  PetscCall(CurvatureSolverSetSizes(solver, P, rows.n_rows_max));
  PetscCall(CurvatureSolverSetUp(solver));
  PetscCall(CurvatureSolverSetOperator(solver, &rows));
  PetscCall(CurvatureSolverGetMatrix(solver, gram));
  PetscCall(PetscBLASIntCast(P, &n));
  lwork  = 1 + 6 * n + 2 * n * n + 64 * n;
  liwork = 3 + 5 * n;
  PetscCall(PetscMalloc1(lwork, &work));
  PetscCall(PetscMalloc1(liwork, &iwork));
  for (PetscInt r = 0; r < reps; r++) {
    PetscLogDouble t0, t1, t2;
    PetscCall(PetscTime(&t0));
    PetscCall(PetscArraycpy(a, gram, P * P));
    dsyevd_("V", "U", &n, a, &n, lambda, work, &lwork, iwork, &liwork, &lapack_info);
    PetscCheck(lapack_info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dsyevd: info %d", (int)lapack_info);
    PetscCall(CurvatureSpectralFilter(P, lambda, rcond, 0.0, filter, &info));
    PetscCallBLAS("BLASgemv", BLASgemv_("T", &n, &n, &one, a, &n, grad, &one_i, &zero, tmp, &one_i));
    for (PetscInt i = 0; i < P; i++) tmp[i] *= filter[i];
    PetscCallBLAS("BLASgemv", BLASgemv_("N", &n, &n, &one, a, &n, tmp, &one_i, &zero, d_syevd, &one_i));
    PetscCall(PetscTime(&t1));
    PetscCall(PetscArraycpy(a, gram, P * P));
    dsytrd_("U", &n, a, &n, lambda, e, tau, work, &lwork, &lapack_info);
    PetscCheck(lapack_info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dsytrd: info %d", (int)lapack_info);
    dstedc_("I", &n, lambda, e, z, &n, work, &lwork, iwork, &liwork, &lapack_info);
    PetscCheck(lapack_info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dstedc: info %d", (int)lapack_info);
    PetscCall(CurvatureSpectralFilter(P, lambda, rcond, 0.0, filter, &info));
    PetscCall(PetscArraycpy(d_trid, grad, P));
    dormtr_("L", "U", "T", &n, &one_i, a, &n, tau, d_trid, &n, work, &lwork, &lapack_info); /* Q^T g */
    PetscCallBLAS("BLASgemv", BLASgemv_("T", &n, &n, &one, z, &n, d_trid, &one_i, &zero, tmp, &one_i));
    for (PetscInt i = 0; i < P; i++) tmp[i] *= filter[i];
    PetscCallBLAS("BLASgemv", BLASgemv_("N", &n, &n, &one, z, &n, tmp, &one_i, &zero, d_trid, &one_i));
    dormtr_("L", "U", "N", &n, &one_i, a, &n, tau, d_trid, &n, work, &lwork, &lapack_info); /* Q (...) */
    PetscCall(PetscTime(&t2));
    best[0] = PetscMin(best[0], t1 - t0);
    best[1] = PetscMin(best[1], t2 - t1);
  }
  for (PetscInt i = 0; i < P; i++) {
    diff = PetscMax(diff, PetscAbsReal(d_syevd[i] - d_trid[i]));
    norm = PetscMax(norm, PetscAbsReal(d_syevd[i]));
  }
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "P = %" PetscInt_FMT ", Gram of iteration %" PetscInt_FMT ", rcond %g (%" PetscInt_FMT " eigenvalues kept), best of %" PetscInt_FMT ":\n", P, its, (double)rcond, info.n_kept, reps));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  syevd  %8.3f ms\n  trid   %8.3f ms   (%.2fx)   max |d_trid - d_syevd| / max |d_syevd| = %.1e\n", 1e3 * best[0], 1e3 * best[1], best[0] / best[1], (double)(diff / norm)));
  PetscCall(PetscFree(work));
  PetscCall(PetscFree(iwork));
  PetscCall(PetscFree5(grad, gram, a, z, lambda));
  PetscCall(PetscFree6(e, tau, filter, tmp, d_syevd, d_trid));
  PetscCall(CurvatureSolverDestroy(&solver));
  PetscCall(ObjectiveRowsDestroy(&rows));
  PetscCall(OptimizerDestroy(&opt));
  PetscCall(ObjectiveDestroy(&objective));
  PetscCall(ModelDestroy(&model));
  PetscCall(ProblemDestroy(&problem));
  PetscCall(PetscFinalize());
  return 0;
}
