/* RunControl: when a run writes a checkpoint and when it stops before -max_it. Three triggers
     periodic    every -checkpoint_every iterations (write, go on),
     signal      SIGUSR1 or SIGTERM (Slurm's warning and time-limit/preemption signals),
     time limit  -time_limit s of this process's wall time would be exceeded by the next
                 iteration: elapsed + 2 x (longest iteration so far) + (longest checkpoint
                 write so far; before the first write, the longest iteration) > limit
                 (write, stop)
   are combined into one decision that every rank takes alike, with one MPI reduction per
   iteration: a signal may reach only some ranks, and each rank reads its own clock. The
   signal handlers only set a flag (volatile sig_atomic_t). main blocks the two signals in its
   first line and installs the handlers right after PetscInitialize (replacing PETSc's), so a
   signal during start-up is kept pending and stops the run after its first iteration. A rank
   whose parent (the launcher) has gone stops in the same way (RUN_LAUNCHER_GONE). */
#ifndef ENGD_RUNCONTROL_H
#define ENGD_RUNCONTROL_H

#include <engd/sys.h>

typedef struct _p_RunControl *RunControl;

typedef enum { RUN_CONTINUE, RUN_STOP_SIGNAL, RUN_STOP_TIME_LIMIT } RunStopReason;

/* The "signal" of a rank whose launcher has gone (SIGHUP's number: no handler involved). */
#define RUN_LAUNCHER_GONE 1

typedef struct {
  PetscBool     periodic; /* a periodic checkpoint is due after this iteration */
  RunStopReason stop;     /* stop (after writing a checkpoint) or go on */
  int           signal;   /* the signal received, for RUN_STOP_SIGNAL */
} RunDecision;

/* Record the process's start (call first thing in main); -time_limit counts from there. */
void RunControlMarkProcessStart(void);
/* Block SIGUSR1 and SIGTERM (first thing in main: before PETSc's handlers, before exec) and
   note the launcher's pid. */
void RunControlBlockSignals(void);
/* Install the SIGUSR1/SIGTERM flag handlers and unblock the signals (after PetscInitialize). */
PetscErrorCode RunControlInstallHandlers(void);

PetscErrorCode RunControlCreate(MPI_Comm, RunControl *);
/* Options: -checkpoint_every k (0: never)  -time_limit s (0: none) */
PetscErrorCode RunControlSetFromOptions(RunControl);
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
