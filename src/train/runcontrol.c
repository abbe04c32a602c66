/* RunControl: the checkpoint schedule, Slurm's signals and the wall-time limit, agreed by all
   ranks with one reduction per iteration. */
#include <engd/runcontrol.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t signal_received = 0;
static double                process_start   = -1.0;
static pid_t                 launcher_pid    = 0; /* a rank's parent at start: mpirun, srun's step */
static PetscBool             handlers_installed = PETSC_FALSE;

static void OnSignal(int signum) { signal_received = signum; }

static void StopSignals(sigset_t *set)
{
  sigemptyset(set);
  sigaddset(set, SIGUSR1);
  sigaddset(set, SIGTERM);
}

/* Only a rank that a launcher started watches its parent (a process started from a shell under
   nohup outlives the shell on purpose). */
static void NoteLauncher(void)
{
  if (!launcher_pid && (getenv("OMPI_COMM_WORLD_RANK") || getenv("PMIX_RANK") || getenv("PMI_RANK"))) launcher_pid = getppid();
}

void RunControlBlockSignals(void)
{
  sigset_t set;
  StopSignals(&set);
  sigprocmask(SIG_BLOCK, &set, NULL); /* kept across exec; a signal now waits, pending */
  NoteLauncher();
}

PetscErrorCode RunControlInstallHandlers(void)
{
  struct sigaction action;
  sigset_t         set;

  PetscFunctionBegin;
  if (handlers_installed) PetscFunctionReturn(0);
  memset(&action, 0, sizeof(action));
  action.sa_handler = OnSignal;
  action.sa_flags   = SA_RESTART; /* MPI and file I/O go on; the loop polls the flag */
  sigemptyset(&action.sa_mask);
  PetscCheck(sigaction(SIGUSR1, &action, NULL) == 0 && sigaction(SIGTERM, &action, NULL) == 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "cannot install the SIGUSR1/SIGTERM handlers");
  StopSignals(&set);
  sigprocmask(SIG_UNBLOCK, &set, NULL); /* a signal that came during start-up is taken now */
  NoteLauncher();
  handlers_installed = PETSC_TRUE;
  PetscFunctionReturn(0);
}

static double MonotonicSeconds(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void RunControlMarkProcessStart(void)
{
  if (process_start < 0) process_start = MonotonicSeconds();
}

PetscLogDouble RunControlElapsed(void)
{
  RunControlMarkProcessStart();
  return MonotonicSeconds() - process_start;
}

const char *RunControlSignalName(int signal)
{
  static char name[32];
  if (signal == SIGUSR1) return "SIGUSR1";
  if (signal == SIGTERM) return "SIGTERM";
  if (signal == RUN_LAUNCHER_GONE) return "the end of its launcher (parent process)";
  snprintf(name, sizeof(name), "signal %d", signal);
  return name;
}

struct _p_RunControl {
  MPI_Comm         comm;
  PetscInt         checkpoint_every;
  PetscReal        time_limit;
  PetscLogDouble   longest_iteration, longest_write;
  PetscInt         n_writes;
};

PetscErrorCode RunControlCreate(MPI_Comm comm, RunControl *rc)
{
  PetscFunctionBegin;
  RunControlMarkProcessStart();
  PetscCall(PetscNew(rc));
  (*rc)->comm = comm;
  PetscFunctionReturn(0);
}

PetscErrorCode RunControlSetFromOptions(RunControl rc)
{
  PetscFunctionBegin;
  PetscOptionsBegin(rc->comm, NULL, "Checkpoint schedule and early stop (exit code 75: checkpoint written, requeue)", "RunControl");
  PetscCall(EngdOptionsInt("-checkpoint_every", "Write a checkpoint every k iterations (0: never; SIGUSR1, SIGTERM and -time_limit always write one)", "RunControlDecide", rc->checkpoint_every, &rc->checkpoint_every, NULL));
  PetscCall(EngdOptionsReal("-time_limit", "Wall-time budget of this process in seconds: checkpoint and stop before it runs out (0: none)", "RunControlDecide", rc->time_limit, &rc->time_limit, NULL));
  PetscOptionsEnd();
  PetscCheck(rc->checkpoint_every >= 0, rc->comm, PETSC_ERR_ARG_OUTOFRANGE, "-checkpoint_every must be non-negative (0: never), got %" PetscInt_FMT, rc->checkpoint_every);
  PetscCheck(rc->time_limit >= 0 && !PetscIsInfOrNanReal(rc->time_limit), rc->comm, PETSC_ERR_ARG_OUTOFRANGE, "-time_limit must be a non-negative number of seconds (0: none), got %g", (double)rc->time_limit);
  PetscFunctionReturn(0);
}

PetscErrorCode RunControlDestroy(RunControl *rc)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(*rc));
  PetscFunctionReturn(0);
}

PetscErrorCode RunControlGetCheckpointEvery(RunControl rc, PetscInt *every)
{
  PetscFunctionBegin;
  *every = rc->checkpoint_every;
  PetscFunctionReturn(0);
}

PetscErrorCode RunControlGetTimeLimit(RunControl rc, PetscReal *limit)
{
  PetscFunctionBegin;
  *limit = rc->time_limit;
  PetscFunctionReturn(0);
}

PetscErrorCode RunControlRecordWrite(RunControl rc, PetscLogDouble write_time)
{
  PetscFunctionBegin;
  rc->longest_write = PetscMax(rc->longest_write, write_time);
  rc->n_writes++;
  PetscFunctionReturn(0);
}

PetscErrorCode RunControlDecide(RunControl rc, PetscInt iteration, PetscLogDouble iteration_time, RunDecision *decision)
{
  int            local[3], global[3];
  PetscLogDouble write_estimate;

  PetscFunctionBegin;
  rc->longest_iteration = PetscMax(rc->longest_iteration, iteration_time);
  /* before the first write its time is unknown: assume it takes as long as an iteration */
  write_estimate = rc->n_writes ? rc->longest_write : rc->longest_iteration;
  /* a launcher killed outright (kill -9 of mpirun) signals nobody: the ranks are re-parented */
  local[0]       = signal_received ? (int)signal_received : (launcher_pid && getppid() != launcher_pid ? RUN_LAUNCHER_GONE : 0);
  local[1]       = rc->time_limit > 0 && RunControlElapsed() + 2.0 * rc->longest_iteration + write_estimate > rc->time_limit;
  local[2]       = rc->checkpoint_every > 0 && iteration % rc->checkpoint_every == 0;
  PetscCallMPI(MPI_Allreduce(local, global, 3, MPI_INT, MPI_MAX, rc->comm));
  decision->signal   = global[0];
  decision->stop     = global[0] ? RUN_STOP_SIGNAL : (global[1] ? RUN_STOP_TIME_LIMIT : RUN_CONTINUE);
  decision->periodic = global[2] ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}
