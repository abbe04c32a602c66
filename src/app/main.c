static const char help[] = "engd: trains PINNs with energy natural gradient descent (ENGD) over MPI.\n\n"
                           "  mpirun -n 2 bin/engd -options_file configs/poisson2d.opts -output run.h5\n\n"
                           "Every option is listed below under its object; the last line printed is a SUMMARY.\n"
                           "Exit codes: 0 finished, 1 error, 3 diverged, 75 stopped at a signal or -time_limit with a\n"
                           "checkpoint written (requeue with -restart latest).\n\n";

#include "train.h"
#include "optionsfile.h"
#include <engd/private/atomicfile.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <errno.h>

/* PETSc 3.18's allocator reports a failure garbled (PetscMallocAlign passes its arguments to
   PetscCheck in the wrong order: the message is the caller's name, the error code its line):
   wrap it, keep its report quiet and raise PETSC_ERR_MEM with the size requested. */
static PetscErrorCode (*PreviousMalloc)(size_t, PetscBool, int, const char[], const char[], void **);
static PetscBool in_malloc = PETSC_FALSE;
static PetscErrorCode MallocReportingSize(size_t mem, PetscBool clear, int line, const char func[], const char file[], void **result)
{
  PetscErrorCode ierr;

  in_malloc = PETSC_TRUE;
  ierr      = (*PreviousMalloc)(mem, clear, line, func, file, result);
  in_malloc = PETSC_FALSE;
  if (ierr) return PetscError(PETSC_COMM_SELF, line, func, file, PETSC_ERR_MEM, PETSC_ERROR_INITIAL, "out of memory (%.0f MB requested in %s)", (double)mem / 1048576.0, func);
  return 0;
}

/* Errors print as one line, "engd: error: <message>", from the first rank that raised them. */
static PetscBool error_was_local = PETSC_FALSE;
/* While options are read every rank sees the same input and raises the same error, even when
   PETSc raises it on PETSC_COMM_SELF: print it once and return, never abort. */
static PetscBool reading_options = PETSC_TRUE;
static PetscErrorCode OneLineErrorHandler(MPI_Comm comm, int line, const char *func, const char *file, PetscErrorCode n, PetscErrorType p, const char *mess, void *ctx)
{
  PetscMPIInt rank = 0, size = 1, world_size = 1;

  if (p != PETSC_ERROR_INITIAL || in_malloc) return n;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  MPI_Comm_size(PETSC_COMM_WORLD, &world_size);
  error_was_local = (size < world_size && !reading_options) ? PETSC_TRUE : PETSC_FALSE;
  if (reading_options) MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  if (rank == 0) {
    if (n == PETSC_ERR_MEM && (!mess || strncmp(mess, "out of memory", 13))) fprintf(stderr, "engd: error: out of memory (%s%sin %s)\n", mess ? mess : "", mess && mess[0] ? ", " : "", func);
    else if (mess && mess[0]) fprintf(stderr, "engd: error: %s\n", mess);
    else {
      const char *text;
      PetscErrorMessage(n, &text, NULL);
      fprintf(stderr, "engd: error: %s (in %s, %s:%d)\n", text ? text : "unknown error", func, file, line);
    }
    fflush(stderr);
  }
  return n;
}

int main(int argc, char **argv)
{
  PetscErrorCode ierr;
  int            exit_code = EXIT_FINISHED;

  RunControlBlockSignals();     /* SIGUSR1/SIGTERM wait until the handlers are in place */
  RunControlMarkProcessStart(); /* -time_limit counts from here */
  EngdEnsureBlasSettings(argv);
  { /* PETSc reads the options files before any handler of ours is in place */
    char message[1024];
    if (EngdOptionsFilesCheck(argc, argv, message, sizeof(message))) {
      const char *rank = getenv("OMPI_COMM_WORLD_RANK") ? getenv("OMPI_COMM_WORLD_RANK") : getenv("PMI_RANK");
      if (!rank || !strcmp(rank, "0")) fprintf(stderr, "engd: error: %s\n", message);
      return EXIT_BAD_INPUT;
    }
  }
  PetscCall(PetscInitialize(&argc, &argv, NULL, help));
  PetscCall(PetscPushErrorHandler(OneLineErrorHandler, NULL));
  PetscCall(RunControlInstallHandlers()); /* after PetscInitialize: replaces PETSc's handlers */
  PreviousMalloc = PetscTrMalloc; /* not PetscMallocSet(): -malloc_debug has called it already */
  PetscTrMalloc  = MallocReportingSize;
  ierr = Train(&reading_options, &exit_code);
  EngdLockReleaseAll();
  if (ierr) {
    PetscOptionsClearValue(NULL, "-log_view"); /* a failed run writes no log (its target may be the error) */
    if (error_was_local) MPI_Abort(PETSC_COMM_WORLD, ierr == PETSC_ERR_NOT_CONVERGED ? EXIT_DIVERGED : EXIT_BAD_INPUT);
    PetscFinalize();
    return ierr == PETSC_ERR_NOT_CONVERGED ? EXIT_DIVERGED : EXIT_BAD_INPUT;
  }
  PetscCall(PetscFinalize());
  return exit_code;
}
