/* RunControl: when a run writes a checkpoint and when it stops before -max_it. Three triggers
     periodic    every -checkpoint_every iterations (write, go on),
     signal      SIGUSR1 or SIGTERM (Slurm's warning and time-limit/preemption signals),
     time limit  -time_limit s of this process's wall time would be exceeded by the next
                 iteration: elapsed + 2 x (longest iteration so far) + (longest checkpoint
                 write so far) > limit  (write, stop)
   are combined into one decision that every rank takes alike, with one MPI reduction per
   iteration: a signal may reach only some ranks, and each rank reads its own clock. The
   signal handlers only set a flag (volatile sig_atomic_t). */
#ifndef ENGD_RUNCONTROL_H
#define ENGD_RUNCONTROL_H

#include <engd/sys.h>

typedef struct _p_RunControl *RunControl;

typedef enum { RUN_CONTINUE, RUN_STOP_SIGNAL, RUN_STOP_TIME_LIMIT } RunStopReason;

typedef struct {
  PetscBool     periodic; /* a periodic checkpoint is due after this iteration */
  RunStopReason stop;     /* stop (after writing a checkpoint) or go on */
  int           signal;   /* the signal received, for RUN_STOP_SIGNAL */
} RunDecision;

/* Record the process's start (call first thing in main); -time_limit counts from there. */
void RunControlMarkProcessStart(void);

PetscErrorCode RunControlCreate(MPI_Comm, RunControl *);
/* Options: -checkpoint_every k (0: never)  -time_limit s (0: none) */
PetscErrorCode RunControlSetFromOptions(RunControl);
/* Install the SIGUSR1 and SIGTERM handlers (RunControlDestroy restores the previous ones). */
PetscErrorCode RunControlSetUp(RunControl);
PetscErrorCode RunControlDestroy(RunControl *);
PetscErrorCode RunControlGetCheckpointEvery(RunControl, PetscInt *);
PetscErrorCode RunControlGetTimeLimit(RunControl, PetscReal *);

/* After iteration `iteration`, which took iteration_time seconds: the agreed decision
   (collective, one MPI_Allreduce). */
PetscErrorCode RunControlDecide(RunControl, PetscInt iteration, PetscLogDouble iteration_time, RunDecision *);
/* A checkpoint write took this long (feeds the time-limit estimate). */
PetscErrorCode RunControlRecordWrite(RunControl, PetscLogDouble write_time);
/* Seconds since RunControlMarkProcessStart. */
PetscLogDouble RunControlElapsed(void);
/* "SIGUSR1", "SIGTERM", or "signal <n>". */
const char *RunControlSignalName(int signal);

#endif
