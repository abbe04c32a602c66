/* Package set-up, log events and small helpers shared by every module. */
#ifndef ENGD_SYS_H
#define ENGD_SYS_H

#include <petscsys.h>
#include <petscviewer.h>
#include <engd/options.h>

/* Every class registers its own log events (-log_view) with its first object: objective.h,
   curvature.h, linesearch.h, and the files' EngdOutput (results and checkpoint writes). */
PetscErrorCode EngdInitializePackage(void);

/* Parse a comma-separated list of positive integers ("64,64,48") into a new array. */
PetscErrorCode EngdParseIntList(MPI_Comm, const char *option, const char *text, PetscInt *n, PetscInt **values);

/* OpenBLAS reads its thread count and chooses its kernels when the library loads, before main
   can call anything: if the user did not choose (OPENBLAS_NUM_THREADS), set one thread per rank
   (two threads per rank on two cores made a 257 x 257 eigensolve 20x slower), and if OpenBLAS
   fell back to pre-AVX2 kernels on a CPU it does not know, ask for the AVX-512 or AVX2 ones
   (OPENBLAS_CORETYPE, unless the user set it); then restart the program image. Call first thing
   in main; returns only when nothing is to be done or exec failed. */
void EngdEnsureBlasSettings(char **argv);

/* One line for the run's header: the BLAS and, for OpenBLAS, its kernels and who chose them. */
void EngdBlasDescribe(char *text, size_t len);

/* Wall-clock seconds (MPI_Wtime). */
static inline PetscLogDouble EngdTime(void) { return MPI_Wtime(); }

#endif
