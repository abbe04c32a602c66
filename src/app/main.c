static const char help[] = "engd: trains PINNs with energy natural gradient descent (ENGD) over MPI.\n\n"
                           "  mpirun -n 2 bin/engd -options_file configs/poisson2d.opts -output run.h5\n\n"
                           "Every option is listed below under its object; the last line printed is a SUMMARY.\n\n";

#include <engd.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <errno.h>

/* Exit codes a job script can act on (README, "Exit codes"). */
#define EXIT_DIVERGED 3

typedef struct {
  char      output[PETSC_MAX_PATH_LEN];
  PetscInt  max_it, monitor_every, eval_every, max_failures;
  PetscReal stop_rel_l2;
  PetscBool output_set, quiet;
} RunOptions;

/* OpenBLAS reads its thread count when the library loads, before main can call anything: if
   the user did not choose, set one thread per rank and restart the program image. */
static void EnsureOneBlasThread(char **argv)
{
  if (getenv("OPENBLAS_NUM_THREADS") || getenv("ENGD_BLAS_REEXEC")) return;
  setenv("OPENBLAS_NUM_THREADS", "1", 1);
  if (!getenv("OMP_NUM_THREADS")) setenv("OMP_NUM_THREADS", "1", 1);
  setenv("ENGD_BLAS_REEXEC", "1", 1);
  execv("/proc/self/exe", argv); /* on failure, go on with whatever threads we have */
}

/* Errors print as one line, "engd: error: <message>", from the first rank that raised them. */
static PetscBool error_was_local = PETSC_FALSE;
/* While options are read every rank sees the same input and raises the same error, even when
   PETSc raises it on PETSC_COMM_SELF: print it once and return, never abort. */
static PetscBool reading_options = PETSC_TRUE;
static PetscErrorCode OneLineErrorHandler(MPI_Comm comm, int line, const char *func, const char *file, PetscErrorCode n, PetscErrorType p, const char *mess, void *ctx)
{
  PetscMPIInt rank = 0, size = 1, world_size = 1;

  if (p != PETSC_ERROR_INITIAL) return n;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  MPI_Comm_size(PETSC_COMM_WORLD, &world_size);
  error_was_local = (size < world_size && !reading_options) ? PETSC_TRUE : PETSC_FALSE;
  if (reading_options) MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  if (rank == 0) {
    if (mess && mess[0]) fprintf(stderr, "engd: error: %s\n", mess);
    else {
      const char *text;
      PetscErrorMessage(n, &text, NULL);
      fprintf(stderr, "engd: error: %s (in %s, %s:%d)\n", text ? text : "unknown error", func, file, line);
    }
    fflush(stderr);
  }
  return n;
}

static PetscErrorCode ReadRunOptions(RunOptions *run)
{
  PetscFunctionBegin;
  PetscCall(PetscMemzero(run, sizeof(*run)));
  run->max_it        = 100;
  run->monitor_every = 10;
  run->eval_every    = 1;
  run->max_failures  = 5;
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "Run options", "engd");
  PetscCall(PetscOptionsInt("-max_it", "Number of iterations", "main", run->max_it, &run->max_it, NULL));
  PetscCall(PetscOptionsInt("-monitor_every", "Print a progress line every k iterations (0: never)", "main", run->monitor_every, &run->monitor_every, NULL));
  PetscCall(PetscOptionsInt("-eval_every", "Evaluate the errors every k iterations (and at the end)", "main", run->eval_every, &run->eval_every, NULL));
  PetscCall(PetscOptionsReal("-stop_rel_l2", "Stop once the relative L2 error is at most this (0: never)", "main", run->stop_rel_l2, &run->stop_rel_l2, NULL));
  PetscCall(PetscOptionsInt("-max_failures", "Stop after this many consecutive non-finite steps", "main", run->max_failures, &run->max_failures, NULL));
  PetscCall(PetscOptionsString("-output", "HDF5 results file", "ResultsWrite", run->output, run->output, sizeof(run->output), &run->output_set));
  PetscCall(PetscOptionsBool("-quiet", "Print only the SUMMARY line", "main", run->quiet, &run->quiet, NULL));
  PetscOptionsEnd();
  PetscCheck(run->max_it >= 0, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-max_it must be non-negative, got %" PetscInt_FMT, run->max_it);
  PetscCheck(run->monitor_every >= 0, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-monitor_every must be non-negative, got %" PetscInt_FMT, run->monitor_every);
  PetscCheck(run->eval_every >= 1, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-eval_every must be positive, got %" PetscInt_FMT, run->eval_every);
  PetscCheck(run->max_failures >= 1, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-max_failures must be positive, got %" PetscInt_FMT, run->max_failures);
  PetscCheck(run->stop_rel_l2 >= 0, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-stop_rel_l2 must be non-negative, got %g", (double)run->stop_rel_l2);
  PetscCheck(!run->output_set || run->output[0], PETSC_COMM_WORLD, PETSC_ERR_ARG_WRONG, "-output needs a file name");
  PetscFunctionReturn(0);
}

/* A misspelled option would otherwise be ignored for a whole run: refuse it up front. */
static PetscErrorCode CheckUnusedOptions(void)
{
  PetscInt n;
  char   **names, **values;
  PetscBool flg;

  PetscFunctionBegin;
  PetscCall(PetscOptionsHasName(NULL, NULL, "-options_left", &flg)); /* read at PetscFinalize() */
  PetscCall(PetscOptionsLeftGet(NULL, &n, &names, &values));
  if (n > 0) {
    char list[1024] = "";
    for (PetscInt i = 0; i < n; i++) {
      PetscCall(PetscStrlcat(list, i ? ", -" : "-", sizeof(list)));
      PetscCall(PetscStrlcat(list, names[i], sizeof(list)));
    }
    PetscCall(PetscOptionsLeftRestore(NULL, &n, &names, &values));
    SETERRQ(PETSC_COMM_WORLD, PETSC_ERR_ARG_WRONG, "unknown option%s %s (see -help for the list)", n > 1 ? "s" : "", list);
  }
  PetscCall(PetscOptionsLeftRestore(NULL, &n, &names, &values));
  PetscFunctionReturn(0);
}

static PetscErrorCode Train(void)
{
  RunOptions        run;
  Model             model;
  Problem           problem;
  Objective         objective;
  Optimizer         optimizer;
  History           history;
  ObjectiveErrors   errors = {NAN, NAN, NAN};
  OptimizerStepInfo step;
  ResultsSummary    summary;
  PetscReal        *theta, loss;
  PetscLogDouble    t_start, step_time = 0.0;
  PetscInt          it, failures = 0, n_points;
  PetscMPIInt       size;
  PetscViewer       out = PETSC_VIEWER_STDOUT_WORLD;
  PetscBool         diverged = PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCall(ReadRunOptions(&run));
  PetscCall(ProblemCreate(PETSC_COMM_WORLD, &problem));
  PetscCall(ProblemSetFromOptions(problem));
  PetscCall(ModelCreate(PETSC_COMM_WORLD, &model));
  {
    PetscInt dim;
    PetscCall(ProblemGetDimension(problem, &dim));
    PetscCall(ModelSetDimension(model, dim));
  }
  PetscCall(ModelSetFromOptions(model));
  PetscCall(ObjectiveCreate(model, problem, &objective));
  PetscCall(ObjectiveSetFromOptions(objective));
  PetscCall(OptimizerCreate(objective, &optimizer));
  PetscCall(OptimizerSetFromOptions(optimizer));
  PetscCall(CheckUnusedOptions());
  {
    PetscBool help;
    PetscCall(PetscOptionsHasHelp(NULL, &help));
    if (help) { /* -help lists the options; nothing to train */
      PetscCall(OptimizerDestroy(&optimizer));
      PetscCall(ObjectiveDestroy(&objective));
      PetscCall(ModelDestroy(&model));
      PetscCall(ProblemDestroy(&problem));
      PetscFunctionReturn(0);
    }
  }
  if (run.output_set) PetscCall(ResultsCheckWritable(PETSC_COMM_WORLD, run.output));
  PetscCall(OptimizerSetUp(optimizer));
  reading_options = PETSC_FALSE;
  PetscCall(ObjectiveGetGlobalRows(objective, &n_points));
  PetscCall(ModelGetParameters(model, &theta));

  if (!run.quiet) {
    PetscCall(ProblemView(problem, out));
    PetscCall(ModelView(model, out));
    PetscCall(ObjectiveView(objective, out));
    PetscCall(OptimizerView(optimizer, out));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "Ranks: %d\n", size));
  }

  PetscCall(HistoryInit(&history));
  PetscCall(ObjectiveLoss(objective, theta, &loss));
  PetscCall(ObjectiveComputeErrors(objective, theta, &errors));
  PetscCall(HistoryAppend(&history, 0, loss, errors.rel_l2, errors.rel_h1, errors.rms, 0.0, 0.0, 0.0));
  if (!run.quiet && run.monitor_every) PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%6s  %-10s  %-9s  %-9s  %-8s  %s\n", "it", "loss", "rel_l2", "rel_h1", "eta", "s/it"));
  if (!run.quiet && run.monitor_every) PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%6d  %.4e  %.3e  %.3e  %-8s  %s\n", 0, (double)loss, (double)errors.rel_l2, (double)errors.rel_h1, "-", "-"));

  t_start = EngdTime();
  for (it = 1; it <= run.max_it; it++) {
    PetscLogDouble t0 = EngdTime();
    PetscBool      evaluate, stop = PETSC_FALSE;

    PetscCall(ObjectiveResample(objective, it - 1));
    PetscCall(OptimizerStep(optimizer, &step));
    step_time += EngdTime() - t0;
    loss = step.loss_new;
    if (step.nonfinite) {
      failures++;
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "iteration %" PetscInt_FMT ": non-finite loss or direction, step rejected (%" PetscInt_FMT " of at most %" PetscInt_FMT " in a row)\n", it, failures, run.max_failures));
      if (failures >= run.max_failures) {
        diverged = PETSC_TRUE;
        break;
      }
    } else failures = 0;

    evaluate = (it % run.eval_every == 0 || it == run.max_it) ? PETSC_TRUE : PETSC_FALSE;
    if (evaluate) PetscCall(ObjectiveComputeErrors(objective, theta, &errors));
    PetscCall(HistoryAppend(&history, it, loss, evaluate ? errors.rel_l2 : NAN, evaluate ? errors.rel_h1 : NAN, evaluate ? errors.rms : NAN, step.eta, step.damping, step_time));
    if (evaluate && run.stop_rel_l2 > 0 && errors.rel_l2 <= run.stop_rel_l2) stop = PETSC_TRUE;
    if (!run.quiet && run.monitor_every && (it % run.monitor_every == 0 || it == run.max_it || stop)) {
      if (!evaluate) PetscCall(ObjectiveComputeErrors(objective, theta, &errors));
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%6" PetscInt_FMT "  %.4e  %.3e  %.3e  %.2e  %.2e\n", it, (double)loss, (double)errors.rel_l2, (double)errors.rel_h1, (double)step.eta, step_time / it));
    }
    if (stop) {
      it++;
      break;
    }
  }
  it = PetscMin(it - 1, run.max_it);

  PetscCall(ObjectiveLoss(objective, theta, &loss));
  PetscCall(ObjectiveComputeErrors(objective, theta, &errors));
  summary.iterations = it;
  summary.loss       = loss;
  summary.rel_l2     = errors.rel_l2;
  summary.rel_h1     = errors.rel_h1;
  summary.rms        = errors.rms;
  summary.wall_s     = EngdTime() - t_start;
  summary.s_per_it   = it > 0 ? step_time / it : 0.0;
  PetscCall(ModelGetNumParameters(model, &summary.params));
  summary.points = n_points;
  summary.ranks  = size;
  if (run.output_set) PetscCall(ResultsWrite(PETSC_COMM_WORLD, run.output, model, theta, &history, &summary));
  if (!run.quiet) {
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "Final: loss %.4e, relative L2 error %.3e, relative H1 error %.3e, RMS error %.3e\n", (double)loss, (double)errors.rel_l2, (double)errors.rel_h1, (double)errors.rms));
    if (run.output_set) PetscCall(PetscPrintf(PETSC_COMM_WORLD, "Results: %s\n", run.output));
  }
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "SUMMARY iterations=%" PetscInt_FMT " loss=%.6e rel_l2=%.6e rel_h1=%.6e wall_s=%.4f s_per_it=%.6f params=%" PetscInt_FMT " points=%" PetscInt_FMT " ranks=%d\n", it, (double)loss,
                        (double)errors.rel_l2, (double)errors.rel_h1, (double)summary.wall_s, (double)summary.s_per_it, summary.params, n_points, size));

  PetscCall(HistoryDestroy(&history));
  PetscCall(OptimizerDestroy(&optimizer));
  PetscCall(ObjectiveDestroy(&objective));
  PetscCall(ModelDestroy(&model));
  PetscCall(ProblemDestroy(&problem));
  PetscCheck(!diverged, PETSC_COMM_WORLD, PETSC_ERR_NOT_CONVERGED, "training diverged: %" PetscInt_FMT " consecutive non-finite steps; the results hold the last finite state", run.max_failures);
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscErrorCode ierr;

  EnsureOneBlasThread(argv);
  for (int i = 1; i + 1 < argc; i++) /* PETSc reads these before any handler of ours is in place */
    if (!strcmp(argv[i], "-options_file") && access(argv[i + 1], R_OK) != 0) {
      const char *rank = getenv("OMPI_COMM_WORLD_RANK") ? getenv("OMPI_COMM_WORLD_RANK") : getenv("PMI_RANK");
      if (!rank || !strcmp(rank, "0")) fprintf(stderr, "engd: error: -options_file: cannot read '%s': %s\n", argv[i + 1], strerror(errno));
      return 1;
    }
  PetscCall(PetscInitialize(&argc, &argv, NULL, help));
  PetscCall(PetscPushErrorHandler(OneLineErrorHandler, NULL));
  ierr = Train();
  if (ierr) {
    if (error_was_local) MPI_Abort(PETSC_COMM_WORLD, ierr == PETSC_ERR_NOT_CONVERGED ? EXIT_DIVERGED : 1);
    PetscFinalize();
    return ierr == PETSC_ERR_NOT_CONVERGED ? EXIT_DIVERGED : 1;
  }
  PetscCall(PetscFinalize());
  return 0;
}
