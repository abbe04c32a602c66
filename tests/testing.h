/* A minimal harness for engd's C tests: CHECK records a failure with a message instead of
   stopping, and TestFinish turns the count into the exit code (0 pass, 1 fail) on all ranks. */
#ifndef ENGD_TESTING_H
#define ENGD_TESTING_H

#include <engd.h>

static int test_failures = 0;

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

static inline int TestFinish(void)
{
  int any = 0;
  MPI_Allreduce(&test_failures, &any, 1, MPI_INT, MPI_SUM, PETSC_COMM_WORLD);
  PetscPrintf(PETSC_COMM_WORLD, "%s: %d failed checks\n", any ? "FAIL" : "PASS", any);
  PetscFinalize();
  return any ? 1 : 0;
}

#endif
