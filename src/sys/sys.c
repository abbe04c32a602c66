#include <engd/sys.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static PetscBool engd_package_initialized = PETSC_FALSE;

/* The package's own class, once; every Create calls it (the classes register their events). */
PetscErrorCode EngdInitializePackage(void)
{
  PetscClassId classid;

  PetscFunctionBegin;
  if (engd_package_initialized) PetscFunctionReturn(0);
  engd_package_initialized = PETSC_TRUE;
  PetscCall(PetscClassIdRegister("ENGD", &classid));
  PetscFunctionReturn(0);
}

PetscErrorCode EngdParseIntList(MPI_Comm comm, const char *option, const char *text, PetscInt *n, PetscInt **values)
{
  PetscInt    count = 1, k = 0;
  const char *c;
  char       *end;

  PetscFunctionBegin;
  for (c = text; *c; c++)
    if (*c == ',') count++;
  PetscCall(PetscMalloc1(count, values));
  c = text;
  while (k < count) {
    long long v;
    errno = 0;
    v     = strtoll(c, &end, 10);
    PetscCheck(end != c && (*end == ',' || *end == '\0'), comm, PETSC_ERR_ARG_WRONG, "%s: cannot read '%s' as a comma-separated list of integers", option, text);
    PetscCheck(errno != ERANGE && v <= PETSC_MAX_INT, comm, PETSC_ERR_ARG_OUTOFRANGE, "%s: %.*s is out of range (at most %" PetscInt_FMT ")", option, (int)(end - c), c, (PetscInt)PETSC_MAX_INT);
    PetscCheck(v > 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "%s: every entry must be positive, got %lld", option, v);
    (*values)[k++] = (PetscInt)v;
    c = end + (*end == ',');
  }
  *n = count;
  PetscFunctionReturn(0);
}

void EngdEnsureOneBlasThread(char **argv)
{
  if (getenv("OPENBLAS_NUM_THREADS") || getenv("ENGD_BLAS_REEXEC")) return;
  setenv("OPENBLAS_NUM_THREADS", "1", 1);
  if (!getenv("OMP_NUM_THREADS")) setenv("OMP_NUM_THREADS", "1", 1);
  setenv("ENGD_BLAS_REEXEC", "1", 1);
  execv("/proc/self/exe", argv); /* on failure, go on with whatever threads we have */
}
