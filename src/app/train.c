/* The training run of the engd driver: objects from the options, an optional restart, the
   iterations with their progress lines, checkpoints (periodic, at a signal, before the time
   limit, and of the last good state when steps keep failing), and the summary. */
#include "train.h"
#include <engd/private/atomicfile.h>

typedef struct {
  char      output[PETSC_MAX_PATH_LEN];
  PetscInt  max_it, monitor_every, eval_every, max_failures;
  PetscReal stop_rel_l2, max_time;
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
} Run;

static PetscErrorCode ReadRunOptions(RunOptions *run)
{
  PetscFunctionBegin;
  PetscCall(PetscMemzero(run, sizeof(*run)));
  run->max_it        = 100;
  run->monitor_every = 10;
  run->eval_every    = 1;
  run->max_failures  = 5;
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "Run options", "engd");
  PetscCall(EngdOptionsInt("-max_it", "Number of iterations", "main", run->max_it, &run->max_it, NULL));
  PetscCall(EngdOptionsInt("-monitor_every", "Print a progress line every k iterations (0: never)", "main", run->monitor_every, &run->monitor_every, NULL));
  PetscCall(EngdOptionsInt("-eval_every", "Evaluate the errors every k iterations (and at the end)", "main", run->eval_every, &run->eval_every, NULL));
  PetscCall(EngdOptionsReal("-stop_rel_l2", "Stop once the relative L2 error is at most this (0: never)", "main", run->stop_rel_l2, &run->stop_rel_l2, NULL));
  PetscCall(EngdOptionsReal("-max_time", "Training budget: finish normally once this many seconds of optimizer time are spent (0: none)", "main", run->max_time, &run->max_time, NULL));
  PetscCall(EngdOptionsInt("-max_failures", "Stop (exit code 3) after this many consecutive non-finite steps", "main", run->max_failures, &run->max_failures, NULL));
  PetscCall(EngdOptionsString("-output", "HDF5 results file (written when the run ends, not when it is interrupted)", "ResultsWrite", run->output, run->output, sizeof(run->output), &run->output_set));
  PetscCall(EngdOptionsBool("-quiet", "Print only the SUMMARY line (and events: restarts, rejected steps, stops)", "main", run->quiet, &run->quiet, NULL));
  PetscOptionsEnd();
  PetscCheck(run->max_it >= 0, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-max_it must be non-negative, got %" PetscInt_FMT, run->max_it);
  PetscCheck(run->monitor_every >= 0, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-monitor_every must be non-negative, got %" PetscInt_FMT, run->monitor_every);
  PetscCheck(run->eval_every >= 1, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-eval_every must be positive, got %" PetscInt_FMT, run->eval_every);
  PetscCheck(run->max_failures >= 1, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-max_failures must be positive, got %" PetscInt_FMT, run->max_failures);
  PetscCheck(run->stop_rel_l2 >= 0, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-stop_rel_l2 must be non-negative, got %g", (double)run->stop_rel_l2);
  PetscCheck(run->max_time >= 0, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-max_time must be non-negative, got %g", (double)run->max_time);
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
  PetscCall(CheckUnusedOptions());
  PetscCall(CheckLogViewTarget());
  PetscFunctionReturn(0);
}

static PetscErrorCode RunDestroy(Run *run)
{
  PetscFunctionBegin;
  PetscCall(RunControlDestroy(&run->control));
  PetscCall(CheckpointDestroy(&run->checkpoint));
  PetscCall(OptimizerDestroy(&run->optimizer));
  PetscCall(ObjectiveDestroy(&run->objective));
  PetscCall(ModelDestroy(&run->model));
  PetscCall(ProblemDestroy(&run->problem));
  PetscFunctionReturn(0);
}

/* The line that says why an interrupted run stopped and where its checkpoint is. */
static PetscErrorCode PrintStop(Run *run, const RunDecision *decision, PetscInt done, const char *ckpt_path)
{
  PetscReal limit;

  PetscFunctionBegin;
  if (decision->stop == RUN_STOP_SIGNAL) {
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "Stopped by %s after iteration %" PetscInt_FMT ": checkpoint %s written; exit code %d, continue with -restart latest\n", RunControlSignalName(decision->signal), done, ckpt_path, EXIT_INTERRUPTED));
  } else {
    PetscCall(RunControlGetTimeLimit(run->control, &limit));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "Stopped before the time limit (-time_limit %.1f s, %.1f s used) after iteration %" PetscInt_FMT ": checkpoint %s written; exit code %d, continue with -restart latest\n", (double)limit, (double)RunControlElapsed(), done, ckpt_path,
                          EXIT_INTERRUPTED));
  }
  PetscFunctionReturn(0);
}

/* The training loop's History columns; the optimizer's (eta, damping) come between rms and
   wall_s, the order of the datasets in the files. */
typedef struct {
  PetscInt loss, rel_l2, rel_h1, rms, wall_s;
} TrainColumns;

static PetscErrorCode TrainColumnsRegister(History history, Optimizer optimizer, TrainColumns *column)
{
  PetscFunctionBegin;
  PetscCall(HistoryAddColumn(history, "loss", &column->loss));
  PetscCall(HistoryAddColumn(history, "rel_l2", &column->rel_l2));
  PetscCall(HistoryAddColumn(history, "rel_h1", &column->rel_h1));
  PetscCall(HistoryAddColumn(history, "rms", &column->rms));
  PetscCall(OptimizerSetHistory(optimizer, history));
  PetscCall(HistoryAddColumn(history, "wall_s", &column->wall_s));
  PetscFunctionReturn(0);
}

/* The loop's values in the current row; errors NULL: not evaluated (NaN). */
static PetscErrorCode TrainColumnsRecord(History history, const TrainColumns *column, PetscReal loss, const ObjectiveErrors *errors, PetscReal wall_s)
{
  PetscFunctionBegin;
  PetscCall(HistorySetValue(history, column->loss, loss));
  if (errors) {
    PetscCall(HistorySetValue(history, column->rel_l2, errors->rel_l2));
    PetscCall(HistorySetValue(history, column->rel_h1, errors->rel_h1));
    PetscCall(HistorySetValue(history, column->rms, errors->rms));
  }
  PetscCall(HistorySetValue(history, column->wall_s, wall_s));
  PetscFunctionReturn(0);
}

static void SwapStates(CheckpointState *a, CheckpointState *b)
{
  CheckpointState t = *a;
  *a                = *b;
  *b                = t;
}

PetscErrorCode Train(PetscBool *reading_options, int *exit_code)
{
  Run               run;
  RunDecision       decision = {PETSC_FALSE, RUN_CONTINUE, 0};
  History           history;
  TrainColumns      column;
  ObjectiveErrors   errors = {NAN, NAN, NAN};
  OptimizerStepInfo step;
  ResultsSummary    summary;
  CheckpointState   restored = {0}, before_step = {0}, last_good = {0};
  PetscReal        *theta, loss, step_time = 0.0;
  PetscLogDouble    t_start;
  PetscInt          it, it_start = 0, done, failures = 0, n_points;
  PetscMPIInt       size;
  PetscViewer       out = PETSC_VIEWER_STDOUT_WORLD;
  PetscBool         help, restarted, diverged = PETSC_FALSE, interrupted = PETSC_FALSE, good_verified = PETSC_FALSE, ckpt_requested;
  char              ckpt_path[PETSC_MAX_PATH_LEN] = "", restart_path[PETSC_MAX_PATH_LEN], results_failed[1024] = "";

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
  {
    PetscInt  every;
    PetscReal limit;
    PetscCall(RunControlGetCheckpointEvery(run.control, &every));
    PetscCall(RunControlGetTimeLimit(run.control, &limit));
    PetscCall(CheckpointSetUp(run.checkpoint, every > 0 || limit > 0 ? PETSC_TRUE : PETSC_FALSE));
  }
  PetscCall(OptimizerSetUp(run.optimizer));
  *reading_options = PETSC_FALSE;
  PetscCall(ObjectiveGetGlobalPoints(run.objective, &n_points));
  PetscCall(ModelGetParameters(run.model, &theta));

  if (!run.opt.quiet) {
    PetscCall(ProblemView(run.problem, out));
    PetscCall(ModelView(run.model, out));
    PetscCall(ObjectiveView(run.objective, out));
    PetscCall(OptimizerView(run.optimizer, out));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "Ranks: %d\n", size));
  }

  PetscCall(HistoryCreate(PETSC_COMM_WORLD, &history));
  PetscCall(TrainColumnsRegister(history, run.optimizer, &column));
  PetscCall(CheckpointRestart(run.checkpoint, run.objective, run.optimizer, history, &restored, &restarted, restart_path, sizeof(restart_path)));
  PetscCall(CheckpointClaimDirectory(run.checkpoint));
  if (restarted) {
    it_start  = restored.iteration;
    failures  = restored.failures;
    step_time = restored.step_time;
    {
      const PetscReal *losses;
      PetscInt         n_rows;
      PetscCall(HistoryGetColumn(history, "loss", &n_rows, &losses));
      loss = losses[n_rows - 1];
    }
  } else {
    PetscCall(ObjectiveLoss(run.objective, theta, &loss));
    PetscCheck(!PetscIsInfOrNanReal(loss), PETSC_COMM_WORLD, PETSC_ERR_ARG_WRONG, "the initial loss is %g: check the term weights and the problem's options (a term too large for double precision?)", (double)loss);
    PetscCall(ObjectiveComputeErrors(run.objective, theta, &errors));
    PetscCall(HistoryBeginRow(history, 0));
    PetscCall(TrainColumnsRecord(history, &column, loss, &errors, 0.0));
    PetscCall(OptimizerRecordStart(run.optimizer));
  }
  if (!run.opt.quiet && run.opt.monitor_every) PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%6s  %-10s  %-9s  %-9s  %-8s  %s\n", "it", "loss", "rel_l2", "rel_h1", "eta", "s/it"));
  if (!run.opt.quiet && run.opt.monitor_every && !restarted) PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%6d  %.4e  %.3e  %.3e  %-8s  %s\n", 0, (double)loss, (double)errors.rel_l2, (double)errors.rel_h1, "-", "-"));

  /* The last good state, checkpointed if steps keep failing: the latest state from which a step
     computed a finite loss, before the current run of failures (so not one from which Adam
     stepped to parameters whose loss is not finite). Until a step confirms one, the start. */
  PetscCall(CheckpointStateCapture(&last_good, run.objective, run.optimizer, it_start, failures, step_time, history));

  t_start = EngdTime();
  done    = it_start;
  for (it = it_start + 1; it <= run.opt.max_it; it++) {
    PetscLogDouble t0 = EngdTime(), t_step;
    PetscBool      evaluate, reached = PETSC_FALSE, finished;
    const PetscInt failures_before = failures;

    if (failures_before == 0) PetscCall(CheckpointStateCapture(&before_step, run.objective, run.optimizer, it - 1, failures, step_time, history));
    PetscCall(ObjectiveResample(run.objective, it - 1));
    PetscCall(HistoryBeginRow(history, it)); /* the optimizer records its columns in it */
    t_step = EngdTime();
    PetscCall(OptimizerStep(run.optimizer, &step));
    step_time += EngdTime() - t_step;
    if (failures_before == 0 && !PetscIsInfOrNanReal(step.loss)) {
      SwapStates(&before_step, &last_good);
      good_verified = PETSC_TRUE;
    }
    loss = step.loss_new;
    if (step.nonfinite) {
      failures++;
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "iteration %" PetscInt_FMT ": non-finite loss or direction, step rejected (%" PetscInt_FMT " of at most %" PetscInt_FMT " in a row)\n", it, failures, run.opt.max_failures));
      if (failures >= run.opt.max_failures) {
        diverged = PETSC_TRUE;
        PetscCall(HistoryTruncate(history, it)); /* the history ends with the last iteration done */
        break;
      }
    } else failures = 0;

    evaluate = (it % run.opt.eval_every == 0 || it == run.opt.max_it) ? PETSC_TRUE : PETSC_FALSE;
    if (evaluate) PetscCall(ObjectiveComputeErrors(run.objective, theta, &errors));
    PetscCall(TrainColumnsRecord(history, &column, loss, evaluate ? &errors : NULL, step_time));
    done = it;
    if (evaluate && run.opt.stop_rel_l2 > 0 && errors.rel_l2 <= run.opt.stop_rel_l2) reached = PETSC_TRUE;
    if (run.opt.max_time > 0) { /* rank 0's clock decides, so that all ranks stop together */
      PetscMPIInt over = step_time >= run.opt.max_time;
      PetscCallMPI(MPI_Bcast(&over, 1, MPI_INT, 0, PETSC_COMM_WORLD));
      if (over) reached = PETSC_TRUE;
    }
    if (!run.opt.quiet && run.opt.monitor_every && (it % run.opt.monitor_every == 0 || it == run.opt.max_it || reached)) {
      if (!evaluate) PetscCall(ObjectiveComputeErrors(run.objective, theta, &errors));
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%6" PetscInt_FMT "  %.4e  %.3e  %.3e  %.2e  %.2e\n", it, (double)loss, (double)errors.rel_l2, (double)errors.rel_h1, (double)step.eta, step_time / it));
    }

    /* One reduction: periodic checkpoint, signal, time limit. A run that has just finished
       ignores a stop request (it has nothing left to do); a periodic write still happens. */
    finished = (it == run.opt.max_it || reached) ? PETSC_TRUE : PETSC_FALSE;
    PetscCall(RunControlDecide(run.control, it, EngdTime() - t0, &decision));
    interrupted = (!finished && decision.stop != RUN_CONTINUE) ? PETSC_TRUE : PETSC_FALSE;
    if (decision.periodic || interrupted) {
      PetscLogDouble t_write = EngdTime();
      PetscCall(CheckpointStateCapture(&before_step, run.objective, run.optimizer, it, failures, step_time, history));
      PetscCall(CheckpointWrite(run.checkpoint, run.objective, run.optimizer, &before_step, history, ckpt_path, sizeof(ckpt_path)));
      PetscCall(RunControlRecordWrite(run.control, EngdTime() - t_write));
    }
    if (interrupted || reached) break;
  }

  PetscCall(CheckpointIsRequested(run.checkpoint, &ckpt_requested));
  if (diverged && ckpt_requested) PetscCall(CheckpointWrite(run.checkpoint, run.objective, run.optimizer, &last_good, history, ckpt_path, sizeof(ckpt_path)));
  PetscCall(ObjectiveLoss(run.objective, theta, &loss));
  PetscCall(ObjectiveComputeErrors(run.objective, theta, &errors));
  summary.iterations = done;
  summary.loss       = loss;
  summary.rel_l2     = errors.rel_l2;
  summary.rel_h1     = errors.rel_h1;
  summary.rms        = errors.rms;
  summary.wall_s     = EngdTime() - t_start;
  summary.s_per_it   = done > 0 ? step_time / done : 0.0;
  PetscCall(ModelGetNumParameters(run.model, &summary.params));
  summary.points = n_points;
  summary.ranks  = size;
  if (interrupted) { /* no results file: the run goes on after a restart */
    PetscCall(PrintStop(&run, &decision, done, ckpt_path));
    *exit_code = EXIT_INTERRUPTED;
  } else {
    if (run.opt.output_set) PetscCall(ResultsTryWrite(PETSC_COMM_WORLD, run.opt.output, run.model, theta, history, &summary, results_failed, sizeof(results_failed)));
    if (results_failed[0]) { /* keep the run's end as a checkpoint before reporting */
      PetscCall(CheckpointStateCapture(&before_step, run.objective, run.optimizer, done, failures, step_time, history));
      PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
      if (CheckpointWrite(run.checkpoint, run.objective, run.optimizer, &before_step, history, ckpt_path, sizeof(ckpt_path))) ckpt_path[0] = '\0';
      PetscCall(PetscPopErrorHandler());
    }
    if (!run.opt.quiet && !results_failed[0]) {
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "Final: loss %.4e, relative L2 error %.3e, relative H1 error %.3e, RMS error %.3e\n", (double)loss, (double)errors.rel_l2, (double)errors.rel_h1, (double)errors.rms));
      if (run.opt.output_set) PetscCall(PetscPrintf(PETSC_COMM_WORLD, "Results: %s\n", run.opt.output));
    }
  }
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "SUMMARY iterations=%" PetscInt_FMT " loss=%.6e rel_l2=%.6e rel_h1=%.6e wall_s=%.4f s_per_it=%.6f params=%" PetscInt_FMT " points=%" PetscInt_FMT " ranks=%d\n", done, (double)loss,
                        (double)errors.rel_l2, (double)errors.rel_h1, (double)summary.wall_s, (double)summary.s_per_it, summary.params, n_points, size));

  PetscCall(CheckpointStateDestroy(&restored));
  PetscCall(CheckpointStateDestroy(&before_step));
  PetscCall(HistoryDestroy(&history));
  if (results_failed[0]) {
    PetscCall(CheckpointStateDestroy(&last_good));
    PetscCall(RunDestroy(&run));
    SETERRQ(PETSC_COMM_WORLD, PETSC_ERR_FILE_WRITE, "could not write the results file '%s': %s; %s%s%s", run.opt.output, results_failed, ckpt_path[0] ? "the run's final state is in the checkpoint '" : "no checkpoint could be written either: nothing was saved", ckpt_path, ckpt_path[0] ? "' (write the results from it with -restart and -max_it unchanged)" : "");
  }
  if (diverged) {
    const PetscInt good_it = last_good.iteration, max_failures = run.opt.max_failures;
    PetscCall(CheckpointStateDestroy(&last_good));
    PetscCall(RunDestroy(&run));
    if (!ckpt_requested)
      SETERRQ(PETSC_COMM_WORLD, PETSC_ERR_NOT_CONVERGED, "training diverged: %" PetscInt_FMT " consecutive non-finite steps (iterations %" PetscInt_FMT "-%" PetscInt_FMT ", rejected); no checkpoints were asked for, so %s%s%s", max_failures, it - max_failures + 1, it, run.opt.output_set ? "the results file '" : "nothing was saved (no -output)", run.opt.output_set ? run.opt.output : "",
              run.opt.output_set ? "' holds the last parameters (those before the rejected steps) and the history" : "");
    SETERRQ(PETSC_COMM_WORLD, PETSC_ERR_NOT_CONVERGED, "training diverged: %" PetscInt_FMT " consecutive non-finite steps (iterations %" PetscInt_FMT "-%" PetscInt_FMT ", rejected); checkpoint %s holds iteration %" PetscInt_FMT ", %s", max_failures, it - max_failures + 1, it, ckpt_path, good_it,
            good_verified ? "the last state with a finite loss" : "where this run started (no step from it had a finite loss)");
  }
  PetscCall(CheckpointStateDestroy(&last_good));
  PetscCall(RunDestroy(&run));
  PetscFunctionReturn(0);
}
