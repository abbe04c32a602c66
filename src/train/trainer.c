/* Trainer: the training loop (trainer.h). */
#include <engd/trainer.h>
#include <engd/commcount.h>

const char *const TrainerReasons[] = {"iterating", "iterations", "error target", "budget", "diverged", "interrupted", "TrainerReason", "TRAINER_", NULL};

struct _p_Trainer {
  MPI_Comm   comm;
  Optimizer  optimizer;
  Objective  objective;
  Model      model;
  Checkpoint checkpoint;
  RunControl control;
  History    history;
  PetscInt   column_loss, column_rel_l2, column_rel_h1, column_rms, column_wall_s, column_comm_bytes;
  /* options */
  PetscInt  max_it, eval_every, max_failures;
  PetscReal stop_rel_l2, max_time;
  /* hooks */
  TrainerMonitorFn         monitor;
  void                    *monitor_ctx;
  TrainerConvergenceTestFn converged;
  void                    *converged_ctx;
  /* the run */
  TrainerReason   reason;
  PetscInt        done, failures, last_failed;
  PetscReal       step_time;
  PetscLogDouble  t_start;
  CheckpointState restored, before_step, last_good;
  PetscBool       good_verified;
  RunDecision     decision;
  char            checkpoint_path[PETSC_MAX_PATH_LEN];
  PetscLogStage   stage;
  EngdCommCounts  comm_counts;   /* communication of this process's steps, summed */
  PetscInt        comm_steps;    /* the steps it counts */
  PetscReal       step_comm_bytes; /* of the current step */
  PetscBool       setup_called;
};

int TrainerReasonExitCode(TrainerReason reason)
{
  switch (reason) {
  case TRAINER_DIVERGED:
    return TRAINER_EXIT_DIVERGED;
  case TRAINER_INTERRUPTED:
    return TRAINER_EXIT_INTERRUPTED;
  default:
    return TRAINER_EXIT_FINISHED;
  }
}

/* One log stage for every Trainer of the process. */
static PetscErrorCode TrainingStage(PetscLogStage *stage)
{
  static PetscLogStage training = -1;

  PetscFunctionBegin;
  if (training < 0) PetscCall(PetscLogStageRegister("Training", &training));
  *stage = training;
  PetscFunctionReturn(0);
}

PetscErrorCode TrainerCreate(Optimizer optimizer, Checkpoint checkpoint, RunControl control, Trainer *trainer)
{
  Trainer t;

  PetscFunctionBegin;
  PetscCall(PetscNew(&t));
  t->optimizer    = optimizer;
  t->checkpoint   = checkpoint;
  t->control      = control;
  t->max_it       = 100;
  t->eval_every   = 1;
  t->max_failures = 5;
  t->converged    = TrainerConvergedDefault;
  PetscCall(OptimizerGetObjective(optimizer, &t->objective));
  PetscCall(ObjectiveGetModel(t->objective, &t->model));
  PetscCall(ObjectiveGetComm(t->objective, &t->comm));
  PetscCall(TrainingStage(&t->stage));
  *trainer = t;
  PetscFunctionReturn(0);
}

PetscErrorCode TrainerSetFromOptions(Trainer t)
{
  PetscFunctionBegin;
  PetscOptionsBegin(t->comm, NULL, "Training loop options", "Trainer");
  PetscCall(EngdOptionsInt("-max_it", "Number of iterations", "TrainerTrain", t->max_it, &t->max_it, NULL));
  PetscCall(EngdOptionsInt("-eval_every", "Evaluate the errors every k iterations (and at the end)", "TrainerTrain", t->eval_every, &t->eval_every, NULL));
  PetscCall(EngdOptionsReal("-stop_rel_l2", "Stop once the relative L2 error is at most this (0: never)", "TrainerConvergedDefault", t->stop_rel_l2, &t->stop_rel_l2, NULL));
  PetscCall(EngdOptionsReal("-max_time", "Training budget: finish normally once this many seconds of optimizer time are spent (0: none)", "TrainerConvergedDefault", t->max_time, &t->max_time, NULL));
  PetscCall(EngdOptionsInt("-max_failures", "Stop (exit code 3) after this many consecutive non-finite steps", "TrainerTrain", t->max_failures, &t->max_failures, NULL));
  PetscOptionsEnd();
  PetscCheck(t->max_it >= 0, t->comm, PETSC_ERR_ARG_OUTOFRANGE, "-max_it must be non-negative, got %" PetscInt_FMT, t->max_it);
  PetscCheck(t->eval_every >= 1, t->comm, PETSC_ERR_ARG_OUTOFRANGE, "-eval_every must be positive, got %" PetscInt_FMT, t->eval_every);
  PetscCheck(t->max_failures >= 1, t->comm, PETSC_ERR_ARG_OUTOFRANGE, "-max_failures must be positive, got %" PetscInt_FMT, t->max_failures);
  PetscCheck(t->stop_rel_l2 >= 0, t->comm, PETSC_ERR_ARG_OUTOFRANGE, "-stop_rel_l2 must be non-negative, got %g", (double)t->stop_rel_l2);
  PetscCheck(t->max_time >= 0, t->comm, PETSC_ERR_ARG_OUTOFRANGE, "-max_time must be non-negative, got %g", (double)t->max_time);
  PetscFunctionReturn(0);
}

PetscErrorCode TrainerSetUp(Trainer t)
{
  PetscInt  every;
  PetscReal limit;

  PetscFunctionBegin;
  if (t->setup_called) PetscFunctionReturn(0);
  PetscCall(RunControlGetCheckpointEvery(t->control, &every));
  PetscCall(RunControlGetTimeLimit(t->control, &limit));
  PetscCall(CheckpointSetUp(t->checkpoint, every > 0 || limit > 0 ? PETSC_TRUE : PETSC_FALSE));
  PetscCall(OptimizerSetUp(t->optimizer));
  /* the columns in the order of the results file's datasets: the loop's, the optimizer's, wall_s */
  PetscCall(HistoryCreate(t->comm, &t->history));
  PetscCall(HistoryAddColumn(t->history, "loss", &t->column_loss));
  PetscCall(HistoryAddColumn(t->history, "rel_l2", &t->column_rel_l2));
  PetscCall(HistoryAddColumn(t->history, "rel_h1", &t->column_rel_h1));
  PetscCall(HistoryAddColumn(t->history, "rms", &t->column_rms));
  PetscCall(OptimizerSetHistory(t->optimizer, t->history));
  PetscCall(HistoryAddColumn(t->history, "wall_s", &t->column_wall_s));
  PetscCall(HistoryAddColumn(t->history, "comm_bytes", &t->column_comm_bytes));
  t->setup_called = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode TrainerDestroy(Trainer *trainer)
{
  Trainer t = *trainer;

  PetscFunctionBegin;
  if (!t) PetscFunctionReturn(0);
  PetscCall(CheckpointStateDestroy(&t->restored));
  PetscCall(CheckpointStateDestroy(&t->before_step));
  PetscCall(CheckpointStateDestroy(&t->last_good));
  PetscCall(HistoryDestroy(&t->history));
  PetscCall(PetscFree(t));
  *trainer = NULL;
  PetscFunctionReturn(0);
}

PetscErrorCode TrainerMonitorSet(Trainer t, TrainerMonitorFn monitor, void *ctx)
{
  PetscFunctionBegin;
  t->monitor     = monitor;
  t->monitor_ctx = ctx;
  PetscFunctionReturn(0);
}

PetscErrorCode TrainerSetConvergenceTest(Trainer t, TrainerConvergenceTestFn converged, void *ctx)
{
  PetscFunctionBegin;
  t->converged     = converged;
  t->converged_ctx = ctx;
  PetscFunctionReturn(0);
}

PetscErrorCode TrainerConvergedDefault(Trainer t, const TrainerProgress *progress, TrainerReason *reason, void *ctx)
{
  PetscFunctionBegin;
  if (progress->evaluated && t->stop_rel_l2 > 0 && progress->errors.rel_l2 <= t->stop_rel_l2) *reason = TRAINER_CONVERGED_ERROR_TARGET;
  if (t->max_time > 0) { /* rank 0's clock decides, so that all ranks stop together */
    PetscMPIInt over = progress->step_time >= t->max_time;
    PetscCallMPI(MPI_Bcast(&over, 1, MPI_INT, 0, t->comm));
    if (over) *reason = TRAINER_CONVERGED_BUDGET;
  }
  PetscFunctionReturn(0);
}

/* The loop's values in the current row; errors NULL: not evaluated (NaN). */
static PetscErrorCode Record(Trainer t, PetscReal loss, const ObjectiveErrors *errors)
{
  PetscFunctionBegin;
  PetscCall(HistorySetValue(t->history, t->column_loss, loss));
  if (errors) {
    PetscCall(HistorySetValue(t->history, t->column_rel_l2, errors->rel_l2));
    PetscCall(HistorySetValue(t->history, t->column_rel_h1, errors->rel_h1));
    PetscCall(HistorySetValue(t->history, t->column_rms, errors->rms));
  }
  PetscCall(HistorySetValue(t->history, t->column_wall_s, t->step_time));
  PetscCall(HistorySetValue(t->history, t->column_comm_bytes, t->step_comm_bytes));
  PetscFunctionReturn(0);
}

static void SwapStates(CheckpointState *a, CheckpointState *b)
{
  CheckpointState s = *a;
  *a                = *b;
  *b                = s;
}

/* Restart, or the start's row of a fresh run; the progress of the start. */
static PetscErrorCode Start(Trainer t, const PetscReal *theta, TrainerProgress *progress)
{
  char path[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  PetscCall(PetscMemzero(progress, sizeof(*progress)));
  progress->start = PETSC_TRUE;
  PetscCall(CheckpointRestart(t->checkpoint, t->objective, t->optimizer, t->history, &t->restored, &progress->restarted, path, sizeof(path)));
  PetscCall(CheckpointClaimDirectory(t->checkpoint));
  if (progress->restarted) {
    const PetscReal *losses;
    PetscInt         n_rows;
    t->done         = t->restored.iteration;
    t->failures     = t->restored.failures;
    t->step_time    = t->restored.step_time;
    PetscCall(HistoryGetColumn(t->history, "loss", &n_rows, &losses));
    progress->loss = losses[n_rows - 1];
  } else {
    PetscCall(ObjectiveLoss(t->objective, theta, &progress->loss));
    PetscCheck(!PetscIsInfOrNanReal(progress->loss), t->comm, PETSC_ERR_ARG_WRONG, "the initial loss is %g: check the term weights and the problem's options (a term too large for double precision?)", (double)progress->loss);
    PetscCall(ObjectiveComputeErrors(t->objective, theta, &progress->errors));
    progress->evaluated = PETSC_TRUE;
    PetscCall(HistoryBeginRow(t->history, 0));
    PetscCall(Record(t, progress->loss, &progress->errors));
    PetscCall(OptimizerRecordStart(t->optimizer));
  }
  progress->iteration = t->done;
  progress->step_time = t->step_time;
  progress->last      = t->done >= t->max_it ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

/* One iteration; a reason when the run stops after it. */
static PetscErrorCode Iterate(Trainer t, PetscInt it, PetscReal *theta, TrainerProgress *progress)
{
  PetscLogDouble t0 = EngdTime(), t_step;
  const PetscInt failures_before = t->failures;
  PetscBool      interrupted;
  EngdCommCounts comm_before, comm_after;

  PetscFunctionBegin;
  PetscCall(PetscMemzero(progress, sizeof(*progress)));
  progress->iteration = it;
  if (failures_before == 0) PetscCall(CheckpointStateCapture(&t->before_step, t->objective, t->optimizer, it - 1, t->failures, t->step_time, t->history));
  PetscCall(ObjectiveResample(t->objective, it - 1));
  PetscCall(HistoryBeginRow(t->history, it)); /* the optimizer records its columns in it */
  t_step = EngdTime();
  EngdCommGetCounts(&comm_before);
  PetscCall(OptimizerStep(t->optimizer, &progress->step));
  t->step_time += EngdTime() - t_step;
  EngdCommGetCounts(&comm_after);
  EngdCommAccumulate(&t->comm_counts, &comm_after, &comm_before);
  t->comm_steps++;
  t->step_comm_bytes = EngdCommSent(&comm_after) - EngdCommSent(&comm_before);
  progress->step_time = t->step_time;
  /* The last good state, checkpointed if steps keep failing: the latest state from which a step
     computed a finite loss, before the current run of failures (so not one from which Adam
     stepped to parameters whose loss is not finite). Until a step confirms one, the start. */
  if (failures_before == 0 && !PetscIsInfOrNanReal(progress->step.loss)) {
    SwapStates(&t->before_step, &t->last_good);
    t->good_verified = PETSC_TRUE;
  }
  progress->loss = progress->step.loss_new;
  if (progress->step.nonfinite) {
    t->failures++;
    PetscCall(PetscPrintf(t->comm, "iteration %" PetscInt_FMT ": non-finite loss or direction, step rejected (%" PetscInt_FMT " of at most %" PetscInt_FMT " in a row)\n", it, t->failures, t->max_failures));
    if (t->failures >= t->max_failures) {
      t->reason      = TRAINER_DIVERGED;
      t->last_failed = it;
      PetscCall(HistoryTruncate(t->history, it)); /* the history ends with the last iteration done */
      PetscFunctionReturn(0);
    }
  } else t->failures = 0;

  progress->evaluated = (it % t->eval_every == 0 || it == t->max_it) ? PETSC_TRUE : PETSC_FALSE;
  if (progress->evaluated) PetscCall(ObjectiveComputeErrors(t->objective, theta, &progress->errors));
  PetscCall(Record(t, progress->loss, progress->evaluated ? &progress->errors : NULL));
  t->done = it;
  progress->reason = TRAINER_ITERATING;
  if (t->converged) PetscCall((*t->converged)(t, progress, &progress->reason, t->converged_ctx));
  progress->last = (it == t->max_it || progress->reason != TRAINER_ITERATING) ? PETSC_TRUE : PETSC_FALSE;
  if (t->monitor) PetscCall((*t->monitor)(t, progress, t->monitor_ctx));

  /* One reduction: periodic checkpoint, signal, time limit. A run that has just finished
     ignores a stop request (it has nothing left to do); a periodic write still happens. */
  PetscCall(RunControlDecide(t->control, it, EngdTime() - t0, &t->decision));
  interrupted = (!progress->last && t->decision.stop != RUN_CONTINUE) ? PETSC_TRUE : PETSC_FALSE;
  if (t->decision.periodic || interrupted) {
    PetscLogDouble t_write = EngdTime();
    PetscCall(CheckpointStateCapture(&t->before_step, t->objective, t->optimizer, it, t->failures, t->step_time, t->history));
    PetscCall(CheckpointWrite(t->checkpoint, t->objective, t->optimizer, &t->before_step, t->history, t->checkpoint_path, sizeof(t->checkpoint_path)));
    PetscCall(RunControlRecordWrite(t->control, EngdTime() - t_write));
  }
  if (interrupted) progress->reason = TRAINER_INTERRUPTED;
  t->reason = progress->reason;
  PetscFunctionReturn(0);
}

PetscErrorCode TrainerTrain(Trainer t)
{
  TrainerProgress progress;
  PetscReal      *theta;
  PetscBool       requested;

  PetscFunctionBegin;
  PetscCall(TrainerSetUp(t));
  PetscCall(ModelGetParameters(t->model, &theta));
  t->reason = TRAINER_ITERATING;
  PetscCall(Start(t, theta, &progress));
  if (t->monitor) PetscCall((*t->monitor)(t, &progress, t->monitor_ctx));
  PetscCall(CheckpointStateCapture(&t->last_good, t->objective, t->optimizer, t->done, t->failures, t->step_time, t->history));

  t->t_start = EngdTime();
  PetscCall(PetscLogStagePush(t->stage));
  for (PetscInt it = t->done + 1; it <= t->max_it && t->reason == TRAINER_ITERATING; it++) PetscCall(Iterate(t, it, theta, &progress));
  PetscCall(PetscLogStagePop());
  if (t->reason == TRAINER_ITERATING) t->reason = TRAINER_CONVERGED_ITERATIONS;

  PetscCall(CheckpointIsRequested(t->checkpoint, &requested));
  if (t->reason == TRAINER_DIVERGED && requested) PetscCall(CheckpointWrite(t->checkpoint, t->objective, t->optimizer, &t->last_good, t->history, t->checkpoint_path, sizeof(t->checkpoint_path)));
  PetscFunctionReturn(0);
}

PetscErrorCode TrainerWriteCheckpoint(Trainer t, const char **path)
{
  PetscFunctionBegin;
  PetscCall(CheckpointStateCapture(&t->before_step, t->objective, t->optimizer, t->done, t->failures, t->step_time, t->history));
  PetscCall(CheckpointWrite(t->checkpoint, t->objective, t->optimizer, &t->before_step, t->history, t->checkpoint_path, sizeof(t->checkpoint_path)));
  *path = t->checkpoint_path;
  PetscFunctionReturn(0);
}

PetscErrorCode TrainerGetReason(Trainer t, TrainerReason *reason)
{
  PetscFunctionBegin;
  *reason = t->reason;
  PetscFunctionReturn(0);
}

PetscErrorCode TrainerGetHistory(Trainer t, History *history)
{
  PetscFunctionBegin;
  *history = t->history;
  PetscFunctionReturn(0);
}

PetscErrorCode TrainerGetOptimizer(Trainer t, Optimizer *optimizer)
{
  PetscFunctionBegin;
  *optimizer = t->optimizer;
  PetscFunctionReturn(0);
}

PetscErrorCode TrainerGetMaxIterations(Trainer t, PetscInt *max_it)
{
  PetscFunctionBegin;
  *max_it = t->max_it;
  PetscFunctionReturn(0);
}

PetscErrorCode TrainerGetIterations(Trainer t, PetscInt *iterations, PetscReal *step_time, PetscLogDouble *wall_time)
{
  PetscFunctionBegin;
  if (iterations) *iterations = t->done;
  if (step_time) *step_time = t->step_time;
  if (wall_time) *wall_time = EngdTime() - t->t_start;
  PetscFunctionReturn(0);
}

PetscErrorCode TrainerGetCommunication(Trainer t, PetscInt *steps, EngdCommCounts *counts)
{
  PetscFunctionBegin;
  *steps  = t->comm_steps;
  *counts = t->comm_counts;
  PetscFunctionReturn(0);
}

PetscErrorCode TrainerGetCheckpoint(Trainer t, const char **path, RunDecision *decision)
{
  PetscFunctionBegin;
  if (path) *path = t->checkpoint_path;
  if (decision) *decision = t->decision;
  PetscFunctionReturn(0);
}

PetscErrorCode TrainerGetDivergence(Trainer t, PetscInt *first, PetscInt *last, PetscInt *good_iteration, PetscBool *good_verified)
{
  PetscFunctionBegin;
  PetscCheck(t->reason == TRAINER_DIVERGED, t->comm, PETSC_ERR_ORDER, "The run did not diverge");
  if (first) *first = t->last_failed - t->max_failures + 1;
  if (last) *last = t->last_failed;
  if (good_iteration) *good_iteration = t->last_good.iteration;
  if (good_verified) *good_verified = t->good_verified;
  PetscFunctionReturn(0);
}
