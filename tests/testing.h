/* A minimal harness for engd's C tests: CHECK records a failure with a message instead of
   stopping, and TestFinish turns the count into the exit code (0 pass, 1 fail) on all ranks. */
#ifndef ENGD_TESTING_H
#define ENGD_TESTING_H

#include <engd.h>
#include <signal.h>
#include <unistd.h>

static int test_failures = 0;

/* The tests run with the BLAS settings engd itself runs with (one thread per rank; OpenBLAS's
   AVX-512/AVX2 kernels where the library fell back to its Prescott ones): like engd's main,
   re-exec before main (glibc passes constructors argc and argv). */
__attribute__((constructor)) static void TestBlasSettings(int argc, char **argv)
{
  (void)argc;
  EngdEnsureBlasSettings(argv);
}

#define CHECK(cond, ...) \
  do { \
    if (!(cond)) { \
      test_failures++; \
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "CHECK failed at %s:%d: ", __FILE__, __LINE__)); \
      PetscCall(PetscPrintf(PETSC_COMM_SELF, __VA_ARGS__)); \
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "\n")); \
    } \
  } while (0)

/* Relative difference |a - b| / max(|a|, |b|, floor). */
static inline PetscReal RelDiff(PetscReal a, PetscReal b, PetscReal floor)
{
  return PetscAbsReal(a - b) / PetscMax(PetscMax(PetscAbsReal(a), PetscAbsReal(b)), floor);
}

/* Euclidean norm, and |a - b| / |b| (b = 0: / 1e-300). */
static inline PetscReal TestNorm(PetscInt n, const PetscReal *v)
{
  PetscReal s = 0;
  for (PetscInt i = 0; i < n; i++) s += v[i] * v[i];
  return PetscSqrtReal(s);
}

static inline PetscReal TestRelDist(PetscInt n, const PetscReal *a, const PetscReal *b)
{
  PetscReal s = 0;
  for (PetscInt i = 0; i < n; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
  return PetscSqrtReal(s) / PetscMax(TestNorm(n, b), 1e-300);
}

/* Turn a hang (e.g. ranks stuck in a collective after a library error on some of them) into a
   failure: after `seconds`, print a line and exit this rank with status 2, which makes mpirun
   stop the others. */
static inline void TestWatchdogHandler(int sig)
{
  static const char msg[] = "FAIL: watchdog: the test did not finish in time (hang?)\n";
  (void)sig;
  if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) _exit(2);
  _exit(2);
}

static inline void TestSetWatchdog(unsigned seconds)
{
  signal(SIGALRM, TestWatchdogHandler);
  alarm(seconds);
}

static inline int TestFinish(void)
{
  int any = 0;
  MPI_Allreduce(&test_failures, &any, 1, MPI_INT, MPI_SUM, PETSC_COMM_WORLD);
  PetscPrintf(PETSC_COMM_WORLD, "%s: %d failed checks\n", any ? "FAIL" : "PASS", any);
  PetscFinalize();
  return any ? 1 : 0;
}

#endif
