#include <engd/sys.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/* OpenBLAS's name for the kernels it chose at load (DYNAMIC_ARCH builds), or NULL for another BLAS. */
static const char *OpenBLASCoreName(void)
{
  const char *(*corename)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "openblas_get_corename");
  return corename ? corename() : NULL;
}

/* The kernels to ask OpenBLAS for when it fell back to pre-AVX2 ones on a CPU that has AVX2 or
   AVX-512, else NULL. OpenBLAS 0.3.21 (Debian 12's) does not know the Intel family 6 model 207
   of these machines and runs its SSE3 "Prescott" kernels there: dgemm 6x, the default job 1.8x
   slower. */
static const char *BetterOpenBLASCore(const char *chosen)
{
#if defined(__x86_64__) && defined(__GNUC__)
  static const char *const pre_avx2[] = {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Sandybridge", "Katmai", "Coppermine", "Northwood", "Banias"};
  PetscBool           fell_back = PETSC_FALSE;

  if (!chosen) return NULL;
  for (size_t k = 0; k < sizeof(pre_avx2) / sizeof(pre_avx2[0]); k++)
    if (!strcasecmp(chosen, pre_avx2[k])) fell_back = PETSC_TRUE;
  if (!fell_back) return NULL;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#else
  (void)chosen;
#endif
  return NULL;
}

void EngdEnsureBlasSettings(char **argv)
{
  PetscBool   restart = PETSC_FALSE;
  const char *chosen, *core;

  if (getenv("ENGD_BLAS_REEXEC")) return;
  if (!getenv("OPENBLAS_NUM_THREADS")) {
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    if (!getenv("OMP_NUM_THREADS")) setenv("OMP_NUM_THREADS", "1", 1);
    restart = PETSC_TRUE;
  }
  chosen = OpenBLASCoreName();
  if (!getenv("OPENBLAS_CORETYPE") && (core = BetterOpenBLASCore(chosen))) {
    setenv("OPENBLAS_CORETYPE", core, 1);
    setenv("ENGD_BLAS_CORE_CHOSEN", chosen, 1); /* what OpenBLAS would have run, for EngdBlasDescribe */
    restart = PETSC_TRUE;
  }
  if (!restart) return;
  setenv("ENGD_BLAS_REEXEC", "1", 1);
  execv("/proc/self/exe", argv); /* on failure, go on with what the library chose */
}

void EngdBlasDescribe(char *text, size_t len)
{
  const char *core = OpenBLASCoreName(), *fallback = getenv("ENGD_BLAS_CORE_CHOSEN");

  if (!core) snprintf(text, len, "not OpenBLAS");
  else if (fallback) snprintf(text, len, "OpenBLAS, %s kernels (engd set OPENBLAS_CORETYPE: the library does not know this CPU and chose %s)", core, fallback);
  else snprintf(text, len, "OpenBLAS, %s kernels%s", core, getenv("OPENBLAS_CORETYPE") ? " (OPENBLAS_CORETYPE)" : "");
}
