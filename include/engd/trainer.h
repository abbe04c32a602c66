/* Trainer: the training loop. Given an Optimizer (with its Objective and Model), a Checkpoint
   and a RunControl, it restarts from a checkpoint if asked, records every iteration in a
   History, evaluates the errors, stops for a reason, and writes checkpoints: periodically, at a
   signal, before the time limit, and of the last good state when steps keep failing. The
   iterations run in the log stage "Training" (-log_view), so the events of the set-up and of
   the final evaluation stay apart.

   Each iteration: draw the epoch's points (ObjectiveResample), OptimizerStep, the errors every
   -eval_every iterations, the row of the History (loss, rel_l2, rel_h1, rms, the optimizer's
   columns, wall_s = optimizer seconds so far), the convergence test, the monitor, then one
   collective decision about checkpoints and stopping (RunControlDecide).

   Hooks: a monitor (progress lines; bin/engd prints its table with one) and a convergence test
   (TrainerConvergedDefault: -stop_rel_l2 and -max_time). A reason says why the run stopped; a
   driver turns it into an exit code with TrainerReasonExitCode. */
#ifndef ENGD_TRAINER_H
#define ENGD_TRAINER_H

#include <engd/optimizer.h>
#include <engd/checkpoint.h>
#include <engd/runcontrol.h>
#include <engd/commcount.h>

typedef struct _p_Trainer *Trainer;

typedef enum {
  TRAINER_ITERATING = 0,          /* not stopped (yet) */
  TRAINER_CONVERGED_ITERATIONS,   /* -max_it iterations done */
  TRAINER_CONVERGED_ERROR_TARGET, /* relative L2 error at most -stop_rel_l2 */
  TRAINER_CONVERGED_BUDGET,       /* -max_time seconds of optimizer time spent */
  TRAINER_DIVERGED,               /* -max_failures non-finite steps in a row */
  TRAINER_INTERRUPTED             /* a signal, the time limit or the launcher's end: checkpoint written */
} TrainerReason;
extern const char *const TrainerReasons[];

/* Exit codes a job script can act on (README, "Exit codes"). */
#define TRAINER_EXIT_FINISHED    0  /* -max_it, -stop_rel_l2 or -max_time reached */
#define TRAINER_EXIT_BAD_INPUT   1  /* bad input or another error */
#define TRAINER_EXIT_DIVERGED    3  /* -max_failures non-finite steps in a row; last good state checkpointed */
#define TRAINER_EXIT_INTERRUPTED 75 /* stopped at a signal or -time_limit, checkpoint written: requeue (EX_TEMPFAIL) */
int TrainerReasonExitCode(TrainerReason);

/* What the monitor and the convergence test see. */
typedef struct {
  PetscInt          iteration;  /* the iteration just done (it_start at the start) */
  PetscBool         start;      /* the call before the first iteration */
  PetscBool         restarted;  /* the run continues a checkpoint */
  PetscBool         last;       /* no further iteration follows (-max_it, or the test stopped it) */
  PetscReal         loss;       /* L after the iteration */
  PetscBool         evaluated;  /* errors were evaluated after this iteration */
  ObjectiveErrors   errors;     /* valid when evaluated */
  OptimizerStepInfo step;       /* the iteration's step (zero at the start) */
  PetscReal         step_time;  /* optimizer seconds over all iterations so far */
  TrainerReason     reason;     /* TRAINER_ITERATING, or why the run stops after this iteration */
} TrainerProgress;

typedef PetscErrorCode (*TrainerMonitorFn)(Trainer, const TrainerProgress *, void *ctx);
typedef PetscErrorCode (*TrainerConvergenceTestFn)(Trainer, const TrainerProgress *, TrainerReason *, void *ctx);

PetscErrorCode TrainerCreate(Optimizer, Checkpoint, RunControl, Trainer *);
/* Options: -max_it n (100) -eval_every k (1) -stop_rel_l2 e (0: never) -max_time s (0: none)
   -max_failures n (5) */
PetscErrorCode TrainerSetFromOptions(Trainer);
/* The checkpoint directory (asked for when RunControl schedules checkpoints), the optimizer,
   the History and its columns. Collective. */
PetscErrorCode TrainerSetUp(Trainer);
/* Restart (Checkpoint's -restart), then iterate until a reason to stop. Collective. A run that
   diverges or is interrupted returns normally: see TrainerGetReason. */
PetscErrorCode TrainerTrain(Trainer);
PetscErrorCode TrainerDestroy(Trainer *);

/* Called at the start and after every iteration. */
PetscErrorCode TrainerMonitorSet(Trainer, TrainerMonitorFn, void *ctx);
/* Replaces TrainerConvergedDefault (which sets *reason to TRAINER_CONVERGED_ERROR_TARGET or
   TRAINER_CONVERGED_BUDGET; rank 0's clock decides the budget, so all ranks stop together). */
PetscErrorCode TrainerSetConvergenceTest(Trainer, TrainerConvergenceTestFn, void *ctx);
PetscErrorCode TrainerConvergedDefault(Trainer, const TrainerProgress *, TrainerReason *, void *ctx);

PetscErrorCode TrainerGetReason(Trainer, TrainerReason *);
PetscErrorCode TrainerGetHistory(Trainer, History *);
PetscErrorCode TrainerGetOptimizer(Trainer, Optimizer *);
PetscErrorCode TrainerGetMaxIterations(Trainer, PetscInt *);
/* Iterations done, optimizer seconds over them, and wall seconds since the iterations began. */
PetscErrorCode TrainerGetIterations(Trainer, PetscInt *iterations, PetscReal *step_time, PetscLogDouble *wall_time);
/* The communication of the steps this process ran (commcount.h: this rank's bytes sent, calls,
   latency steps, summed over `steps` steps; evaluations and checkpoints excluded). The history's
   column comm_bytes holds each step's bytes sent by the rank that writes it (rank 0). */
PetscErrorCode TrainerGetCommunication(Trainer, PetscInt *steps, EngdCommCounts *);
/* The checkpoint written last ("" if none) and, when interrupted, the decision that stopped. */
PetscErrorCode TrainerGetCheckpoint(Trainer, const char **path, RunDecision *);
/* After TRAINER_DIVERGED: the rejected iterations [first, last], the iteration the checkpoint of
   the last good state holds and whether a step from it had a finite loss (else it is where
   the run started). */
PetscErrorCode TrainerGetDivergence(Trainer, PetscInt *first, PetscInt *last, PetscInt *good_iteration, PetscBool *good_verified);
/* Checkpoint the current state (after TrainerTrain: a driver keeps a run's end this way when
   its results file cannot be written). Collective. */
PetscErrorCode TrainerWriteCheckpoint(Trainer, const char **path);

#endif
