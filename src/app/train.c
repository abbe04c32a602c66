/* The training run of the engd driver: the objects from the options, the Trainer (the loop,
   restarts and checkpoints: trainer.h) with a monitor that prints the progress table, and the
   results file, the summary and the exit code. */
#include "train.h"
#include <engd/private/atomicfile.h>

typedef struct {
  char      output[PETSC_MAX_PATH_LEN];
  PetscInt  monitor_every;
  PetscBool output_set, quiet;
} RunOptions;

/* The objects of a run. */
typedef struct {
  RunOptions opt;
  Problem    problem;
  Model      model;
  Objective  objective;
  Optimizer  optimizer;
  Checkpoint checkpoint;
  RunControl control;
  Trainer    trainer;
} Run;

static PetscErrorCode ReadRunOptions(RunOptions *run)
{
  PetscFunctionBegin;
  PetscCall(PetscMemzero(run, sizeof(*run)));
  run->monitor_every = 10;
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "Run options", "engd");
  PetscCall(EngdOptionsInt("-monitor_every", "Print a progress line every k iterations (0: never)", "main", run->monitor_every, &run->monitor_every, NULL));
  PetscCall(EngdOptionsString("-output", "HDF5 results file (written when the run ends, not when it is interrupted)", "ResultsWrite", run->output, run->output, sizeof(run->output), &run->output_set));
  PetscCall(EngdOptionsBool("-quiet", "Print only the SUMMARY line (and events: restarts, rejected steps, stops)", "main", run->quiet, &run->quiet, NULL));
  PetscOptionsEnd();
  PetscCheck(run->monitor_every >= 0, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-monitor_every must be non-negative, got %" PetscInt_FMT, run->monitor_every);
  PetscCheck(!run->output_set || run->output[0], PETSC_COMM_WORLD, PETSC_ERR_ARG_WRONG, "-output needs a file name");
  PetscFunctionReturn(0);
}

/* A misspelled option would otherwise be ignored for a whole run: refuse it up front. */
static PetscErrorCode CheckUnusedOptions(void)
{
  PetscInt  n;
  char    **names, **values;
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

/* -log_view :file[:format] is written by PETSc at the very end: refuse a target that cannot
   take it now, not after the training. */
static PetscErrorCode CheckLogViewTarget(void)
{
  char      value[PETSC_MAX_PATH_LEN] = "", reason[1024] = "";
  PetscBool set;

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetString(NULL, NULL, "-log_view", value, sizeof(value), &set));
  if (!set || value[0] != ':' || !value[1]) PetscFunctionReturn(0);
  value[1 + strcspn(value + 1, ":")] = '\0';
  if (EngdCheckTarget(value + 1, reason, sizeof(reason)) != 0) SETERRQ(PETSC_COMM_WORLD, PETSC_ERR_FILE_OPEN, "-log_view: cannot write '%s': %s", value + 1, reason);
  PetscFunctionReturn(0);
}

/* Create every object from the options and refuse options no object read. */
static PetscErrorCode RunCreate(Run *run)
{
  PetscInt dim;

  PetscFunctionBegin;
  PetscCall(PetscMemzero(run, sizeof(*run)));
  PetscCall(ReadRunOptions(&run->opt));
  PetscCall(ProblemCreate(PETSC_COMM_WORLD, &run->problem));
  PetscCall(ProblemSetFromOptions(run->problem));
  PetscCall(ModelCreate(PETSC_COMM_WORLD, &run->model));
  PetscCall(ProblemGetDimension(run->problem, &dim));
  PetscCall(ModelSetDimension(run->model, dim));
  PetscCall(ModelSetFromOptions(run->model));
  PetscCall(ObjectiveCreate(run->model, run->problem, &run->objective));
  PetscCall(ObjectiveSetFromOptions(run->objective));
  PetscCall(OptimizerCreate(run->objective, &run->optimizer));
  PetscCall(OptimizerSetFromOptions(run->optimizer));
  PetscCall(CheckpointCreate(PETSC_COMM_WORLD, &run->checkpoint));
  PetscCall(CheckpointSetFromOptions(run->checkpoint));
  PetscCall(RunControlCreate(PETSC_COMM_WORLD, &run->control));
  PetscCall(RunControlSetFromOptions(run->control));
  PetscCall(TrainerCreate(run->optimizer, run->checkpoint, run->control, &run->trainer));
  PetscCall(TrainerSetFromOptions(run->trainer));
  PetscCall(CheckUnusedOptions());
  PetscCall(CheckLogViewTarget());
  PetscFunctionReturn(0);
}

static PetscErrorCode RunDestroy(Run *run)
{
  PetscFunctionBegin;
  PetscCall(TrainerDestroy(&run->trainer));
  PetscCall(RunControlDestroy(&run->control));
  PetscCall(CheckpointDestroy(&run->checkpoint));
  PetscCall(OptimizerDestroy(&run->optimizer));
  PetscCall(ObjectiveDestroy(&run->objective));
  PetscCall(ModelDestroy(&run->model));
  PetscCall(ProblemDestroy(&run->problem));
  PetscFunctionReturn(0);
}

/* The line that says why an interrupted run stopped and where its checkpoint is. */
static PetscErrorCode PrintStop(Run *run)
{
  RunDecision decision;
  const char *path;
  PetscInt    done;
  PetscReal   limit;

  PetscFunctionBegin;
  PetscCall(TrainerGetCheckpoint(run->trainer, &path, &decision));
  PetscCall(TrainerGetIterations(run->trainer, &done, NULL, NULL));
  if (decision.stop == RUN_STOP_SIGNAL) {
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "Stopped by %s after iteration %" PetscInt_FMT ": checkpoint %s written; exit code %d, continue with -restart latest\n", RunControlSignalName(decision.signal), done, path, EXIT_INTERRUPTED));
  } else {
    PetscCall(RunControlGetTimeLimit(run->control, &limit));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "Stopped before the time limit (-time_limit %.1f s, %.1f s used) after iteration %" PetscInt_FMT ": checkpoint %s written; exit code %d, continue with -restart latest\n", (double)limit, (double)RunControlElapsed(), done, path, EXIT_INTERRUPTED));
  }
  PetscFunctionReturn(0);
}

/* The progress table: a header, the start's row (a fresh run) and a row every -monitor_every
   iterations and at the last. */
static PetscErrorCode MonitorTable(Trainer trainer, const TrainerProgress *p, void *ctx)
{
  Run            *run = (Run *)ctx;
  ObjectiveErrors errors = p->errors;
  PetscReal      *theta;

  PetscFunctionBegin;
  if (run->opt.quiet || !run->opt.monitor_every) PetscFunctionReturn(0);
  if (p->start) {
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%6s  %-10s  %-9s  %-9s  %-8s  %s\n", "it", "loss", "rel_l2", "rel_h1", "eta", "s/it"));
    if (!p->restarted) PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%6d  %.4e  %.3e  %.3e  %-8s  %s\n", 0, (double)p->loss, (double)errors.rel_l2, (double)errors.rel_h1, "-", "-"));
    PetscFunctionReturn(0);
  }
  if (p->iteration % run->opt.monitor_every && !p->last) PetscFunctionReturn(0);
  if (!p->evaluated) {
    PetscCall(ModelGetParameters(run->model, &theta));
    PetscCall(ObjectiveComputeErrors(run->objective, theta, &errors));
  }
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%6" PetscInt_FMT "  %.4e  %.3e  %.3e  %.2e  %.2e\n", p->iteration, (double)p->loss, (double)errors.rel_l2, (double)errors.rel_h1, (double)p->step.eta, p->step_time / p->iteration));
  PetscFunctionReturn(0);
}

/* Bytes sent per step by the busiest rank, by kind of call (commcount.h for the model). */
static PetscErrorCode PrintCommunication(Trainer trainer)
{
  EngdCommCounts counts, busiest;
  PetscInt       steps;
  char           parts[512] = "";
  size_t         used       = 0;
  const double   KiB        = 1024.0;

  PetscFunctionBegin;
  PetscCall(TrainerGetCommunication(trainer, &steps, &counts));
  if (steps == 0) PetscFunctionReturn(0);
  PetscCallMPI(MPI_Allreduce(&counts, &busiest, (int)(sizeof(counts) / sizeof(double)), MPI_DOUBLE, MPI_MAX, PETSC_COMM_WORLD));
  for (int k = 0; k < ENGD_COMM_N_KINDS; k++)
    if (busiest.calls[k] > 0 && used < sizeof(parts)) used += (size_t)snprintf(parts + used, sizeof(parts) - used, "%s%s %.4g KiB in %.3g calls", used ? ", " : "", EngdCommKinds[k], busiest.sent[k] / steps / KiB, busiest.calls[k] / steps);
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "Communication per iteration (most on any rank): %.4g KiB sent, %.3g latency steps: %s\n", EngdCommSent(&busiest) / steps / KiB, EngdCommSteps(&busiest) / steps, used ? parts : "none"));
  PetscFunctionReturn(0);
}

PetscErrorCode Train(PetscBool *reading_options, int *exit_code)
{
  Run             run;
  TrainerReason   reason;
  History         history;
  ObjectiveErrors errors;
  ResultsSummary  summary;
  PetscReal      *theta, loss, step_time;
  PetscLogDouble  wall;
  PetscInt        done, n_points;
  PetscMPIInt     size;
  PetscViewer     out = PETSC_VIEWER_STDOUT_WORLD;
  PetscBool       help, ckpt_requested;
  const char     *ckpt_path = "";
  char            results_failed[1024] = "";

  PetscFunctionBeginUser;
  *exit_code = EXIT_FINISHED;
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCall(RunCreate(&run));
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help) { /* -help lists the options; nothing to train */
    PetscCall(RunDestroy(&run));
    PetscFunctionReturn(0);
  }
  if (run.opt.output_set) PetscCall(ResultsReserve(PETSC_COMM_WORLD, run.opt.output));
  PetscCall(TrainerSetUp(run.trainer));
  *reading_options = PETSC_FALSE;
  PetscCall(ObjectiveGetGlobalPoints(run.objective, &n_points));
  PetscCall(ModelGetParameters(run.model, &theta));

  if (!run.opt.quiet) {
    PetscCall(ProblemView(run.problem, out));
    PetscCall(ModelView(run.model, out));
    PetscCall(ObjectiveView(run.objective, out));
    PetscCall(OptimizerView(run.optimizer, out));
    char blas[256];
    EngdBlasDescribe(blas, sizeof(blas));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "Ranks: %d; BLAS: %s\n", size, blas));
  }

  PetscCall(TrainerMonitorSet(run.trainer, MonitorTable, &run));
  PetscCall(TrainerTrain(run.trainer));
  PetscCall(TrainerGetReason(run.trainer, &reason));
  PetscCall(TrainerGetHistory(run.trainer, &history));
  PetscCall(TrainerGetCheckpoint(run.trainer, &ckpt_path, NULL));

  PetscCall(ObjectiveLoss(run.objective, theta, &loss));
  PetscCall(ObjectiveComputeErrors(run.objective, theta, &errors));
  PetscCall(TrainerGetIterations(run.trainer, &done, &step_time, &wall));
  summary.iterations = done;
  summary.loss       = loss;
  summary.rel_l2     = errors.rel_l2;
  summary.rel_h1     = errors.rel_h1;
  summary.rms        = errors.rms;
  summary.wall_s     = wall;
  summary.s_per_it   = done > 0 ? step_time / done : 0.0;
  PetscCall(ModelGetNumParameters(run.model, &summary.params));
  summary.points = n_points;
  summary.ranks  = size;
  if (reason == TRAINER_INTERRUPTED) { /* no results file: the run goes on after a restart */
    PetscCall(PrintStop(&run));
    *exit_code = TrainerReasonExitCode(reason);
  } else {
    if (run.opt.output_set) PetscCall(ResultsTryWrite(PETSC_COMM_WORLD, run.opt.output, run.model, theta, history, &summary, results_failed, sizeof(results_failed)));
    if (results_failed[0]) { /* keep the run's end as a checkpoint before reporting */
      PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
      if (TrainerWriteCheckpoint(run.trainer, &ckpt_path)) ckpt_path = "";
      PetscCall(PetscPopErrorHandler());
    }
    if (!run.opt.quiet && !results_failed[0]) {
      PetscCall(PrintCommunication(run.trainer));
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "Final: loss %.4e, relative L2 error %.3e, relative H1 error %.3e, RMS error %.3e\n", (double)loss, (double)errors.rel_l2, (double)errors.rel_h1, (double)errors.rms));
      if (run.opt.output_set) PetscCall(PetscPrintf(PETSC_COMM_WORLD, "Results: %s\n", run.opt.output));
    }
  }
  if (reason != TRAINER_INTERRUPTED) PetscCall(OptimizerClassify(run.optimizer, NULL, NULL, NULL)); /* -classify */
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "SUMMARY iterations=%" PetscInt_FMT " loss=%.6e rel_l2=%.6e rel_h1=%.6e wall_s=%.4f s_per_it=%.6f params=%" PetscInt_FMT " points=%" PetscInt_FMT " ranks=%d\n", done, (double)loss,
                        (double)errors.rel_l2, (double)errors.rel_h1, (double)summary.wall_s, (double)summary.s_per_it, summary.params, n_points, size));

  if (results_failed[0]) {
    char path[PETSC_MAX_PATH_LEN];
    PetscCall(PetscStrncpy(path, ckpt_path, sizeof(path)));
    PetscCall(RunDestroy(&run));
    SETERRQ(PETSC_COMM_WORLD, PETSC_ERR_FILE_WRITE, "could not write the results file '%s': %s; %s%s%s", run.opt.output, results_failed, path[0] ? "the run's final state is in the checkpoint '" : "no checkpoint could be written either: nothing was saved", path, path[0] ? "' (write the results from it with -restart and -max_it unchanged)" : "");
  }
  if (reason == TRAINER_DIVERGED) {
    PetscInt  first, last, good_it;
    PetscBool good_verified;
    char      path[PETSC_MAX_PATH_LEN];
    PetscCall(TrainerGetDivergence(run.trainer, &first, &last, &good_it, &good_verified));
    PetscCall(CheckpointIsRequested(run.checkpoint, &ckpt_requested));
    PetscCall(PetscStrncpy(path, ckpt_path, sizeof(path)));
    PetscCall(RunDestroy(&run));
    if (!ckpt_requested)
      SETERRQ(PETSC_COMM_WORLD, PETSC_ERR_NOT_CONVERGED, "training diverged: %" PetscInt_FMT " consecutive non-finite steps (iterations %" PetscInt_FMT "-%" PetscInt_FMT ", rejected); no checkpoints were asked for, so %s%s%s", last - first + 1, first, last, run.opt.output_set ? "the results file '" : "nothing was saved (no -output)", run.opt.output_set ? run.opt.output : "",
              run.opt.output_set ? "' holds the last parameters (those before the rejected steps) and the history" : "");
    SETERRQ(PETSC_COMM_WORLD, PETSC_ERR_NOT_CONVERGED, "training diverged: %" PetscInt_FMT " consecutive non-finite steps (iterations %" PetscInt_FMT "-%" PetscInt_FMT ", rejected); checkpoint %s holds iteration %" PetscInt_FMT ", %s", last - first + 1, first, last, path, good_it,
            good_verified ? "the last state with a finite loss" : "where this run started (no step from it had a finite loss)");
  }
  PetscCall(RunDestroy(&run));
  PetscFunctionReturn(0);
}
