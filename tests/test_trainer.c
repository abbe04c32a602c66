/* Trainer: the loop's hooks and reasons, on a small 2-D Poisson problem with ENGD. Checks:
     - -max_it 4: reason "iterations", exit code 0, the monitor called at the start and after
       each of the 4 iterations (the last flagged last), 5 History rows with iterations 0..4,
       the optimizer's eta column set and the solve's columns recorded;
     - a convergence test of our own that stops after iteration 2: reason as it set, 2 done;
     - -stop_rel_l2 1e3 (met at once): reason "error target" after iteration 1;
     - -max_time 1e-12: reason "budget" after iteration 1;
     - the same 4 iterations in two Trainers give the same History bit for bit;
     - TrainerReasonExitCode: diverged 3, interrupted 75, the others 0. */
/* ranks: 1 2 */
#include "stack.h"
#include <string.h>

typedef struct {
  PetscInt calls, starts, lasts, last_iteration;
} Seen;

static PetscErrorCode CountingMonitor(Trainer t, const TrainerProgress *p, void *ctx)
{
  Seen *s = (Seen *)ctx;

  PetscFunctionBeginUser;
  s->calls++;
  if (p->start) s->starts++;
  if (p->last) s->lasts++;
  s->last_iteration = p->iteration;
  PetscFunctionReturn(0);
}

static PetscErrorCode StopAfterTwo(Trainer t, const TrainerProgress *p, TrainerReason *reason, void *ctx)
{
  PetscFunctionBeginUser;
  if (p->iteration >= 2) *reason = TRAINER_CONVERGED_BUDGET;
  PetscFunctionReturn(0);
}

/* A run of the Trainer from fresh parameters with the options, and what it recorded. */
static PetscErrorCode Run(const char *const *options, TrainerConvergenceTestFn test, TrainerReason *reason, PetscInt *done, Seen *seen, PetscInt *n_rows, PetscReal **loss, PetscBool *solve_recorded)
{
  const char *const common[] = {"-dim", "2", "-net_hidden", "8", "-n_interior", "64", "-n_boundary", "32", "-n_eval", "200", "-seed", "1", NULL};
  Problem           problem;
  Model             model;
  Objective         objective;
  Optimizer         optimizer;
  Checkpoint        checkpoint;
  RunControl        control;
  Trainer           trainer;
  History           history;
  const PetscReal  *values;
  const PetscInt   *its;

  PetscFunctionBeginUser;
  PetscCall(TestSetOptions(common, PETSC_TRUE));
  PetscCall(TestSetOptions(options, PETSC_TRUE));
  PetscCall(BuildStack(PETSC_COMM_WORLD, &problem, &model, &objective));
  PetscCall(OptimizerCreate(objective, &optimizer));
  PetscCall(OptimizerSetFromOptions(optimizer));
  PetscCall(CheckpointCreate(PETSC_COMM_WORLD, &checkpoint));
  PetscCall(CheckpointSetFromOptions(checkpoint));
  PetscCall(RunControlCreate(PETSC_COMM_WORLD, &control));
  PetscCall(RunControlSetFromOptions(control));
  PetscCall(TrainerCreate(optimizer, checkpoint, control, &trainer));
  PetscCall(TrainerSetFromOptions(trainer));
  PetscCall(TestSetOptions(options, PETSC_FALSE));
  PetscCall(TestSetOptions(common, PETSC_FALSE));
  PetscCall(PetscMemzero(seen, sizeof(*seen)));
  PetscCall(TrainerMonitorSet(trainer, CountingMonitor, seen));
  if (test) PetscCall(TrainerSetConvergenceTest(trainer, test, NULL));
  PetscCall(TrainerTrain(trainer));
  PetscCall(TrainerGetReason(trainer, reason));
  PetscCall(TrainerGetIterations(trainer, done, NULL, NULL));
  PetscCall(TrainerGetHistory(trainer, &history));
  PetscCall(HistoryGetIterations(history, n_rows, &its));
  for (PetscInt i = 0; i < *n_rows; i++) CHECK(its[i] == i, "history row %" PetscInt_FMT " holds iteration %" PetscInt_FMT, i, its[i]);
  PetscCall(HistoryGetColumn(history, "loss", n_rows, &values));
  PetscCall(PetscMalloc1(*n_rows, loss));
  PetscCall(PetscArraycpy(*loss, values, *n_rows));
  PetscCall(HistoryGetColumn(history, "solve_kept", n_rows, &values));
  *solve_recorded = (*n_rows > 1 && values[*n_rows - 1] >= 1) ? PETSC_TRUE : PETSC_FALSE;
  PetscCall(TrainerDestroy(&trainer));
  PetscCall(RunControlDestroy(&control));
  PetscCall(CheckpointDestroy(&checkpoint));
  PetscCall(OptimizerDestroy(&optimizer));
  PetscCall(DestroyStack(&problem, &model, &objective));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  const char *const four[]   = {"-max_it", "4", NULL};
  const char *const many[]   = {"-max_it", "50", NULL};
  const char *const target[] = {"-max_it", "50", "-stop_rel_l2", "1e3", NULL};
  const char *const budget[] = {"-max_it", "50", "-max_time", "1e-12", NULL};
  TrainerReason     reason;
  PetscInt          done, n_rows, n_rows2;
  Seen              seen;
  PetscReal        *loss, *loss2;
  PetscBool         solved;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  TestSetWatchdog(300);

  PetscCall(Run(four, NULL, &reason, &done, &seen, &n_rows, &loss, &solved));
  CHECK(reason == TRAINER_CONVERGED_ITERATIONS && done == 4 && n_rows == 5, "-max_it 4: reason %s, %" PetscInt_FMT " done, %" PetscInt_FMT " rows", TrainerReasons[reason], done, n_rows);
  CHECK(seen.calls == 5 && seen.starts == 1 && seen.lasts == 1 && seen.last_iteration == 4, "monitor: %" PetscInt_FMT " calls, %" PetscInt_FMT " starts, %" PetscInt_FMT " last, last at %" PetscInt_FMT, seen.calls, seen.starts, seen.lasts, seen.last_iteration);
  CHECK(solved, "the solve's columns were not recorded");
  CHECK(loss[4] < loss[0], "the loss did not decrease: %g -> %g", (double)loss[0], (double)loss[4]);
  PetscCall(Run(four, NULL, &reason, &done, &seen, &n_rows2, &loss2, &solved));
  CHECK(n_rows2 == n_rows && !memcmp(loss, loss2, (size_t)n_rows * sizeof(PetscReal)), "two Trainers of the same run recorded different losses");
  PetscCall(PetscFree(loss));
  PetscCall(PetscFree(loss2));

  PetscCall(Run(many, StopAfterTwo, &reason, &done, &seen, &n_rows, &loss, &solved));
  CHECK(reason == TRAINER_CONVERGED_BUDGET && done == 2 && n_rows == 3 && seen.lasts == 1, "own convergence test: reason %s, %" PetscInt_FMT " done", TrainerReasons[reason], done);
  PetscCall(PetscFree(loss));
  PetscCall(Run(target, NULL, &reason, &done, &seen, &n_rows, &loss, &solved));
  CHECK(reason == TRAINER_CONVERGED_ERROR_TARGET && done == 1, "-stop_rel_l2 1e3: reason %s, %" PetscInt_FMT " done", TrainerReasons[reason], done);
  PetscCall(PetscFree(loss));
  PetscCall(Run(budget, NULL, &reason, &done, &seen, &n_rows, &loss, &solved));
  CHECK(reason == TRAINER_CONVERGED_BUDGET && done == 1, "-max_time 1e-12: reason %s, %" PetscInt_FMT " done", TrainerReasons[reason], done);
  PetscCall(PetscFree(loss));

  CHECK(TrainerReasonExitCode(TRAINER_DIVERGED) == 3 && TrainerReasonExitCode(TRAINER_INTERRUPTED) == 75 && TrainerReasonExitCode(TRAINER_CONVERGED_ITERATIONS) == 0 && TrainerReasonExitCode(TRAINER_CONVERGED_ERROR_TARGET) == 0 && TrainerReasonExitCode(TRAINER_CONVERGED_BUDGET) == 0, "exit codes of the reasons");
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  reasons: iterations, own test, error target, budget; monitor and History rows as expected\n"));
  return TestFinish();
}
