/* HDF5 helpers shared by the results and checkpoint files, and each object's group in them.

   Writers run on rank 0 (the serial API, inside the builder of EngdH5WriteAtomic), so they
   report failure as -1 instead of raising a PETSc error on that rank while the others wait:
   the caller makes the outcome collective. Readers of single values fail (-1) when the object
   is missing, has another size, or cannot be converted to the requested type.

   Group readers run on every rank alike (on a file image opened from memory, so that all ranks
   reach the same verdict): they raise PETSc errors only for the library's own failures (out of
   memory) and say what is wrong with the file in reason (left empty when the group reads
   back). A group is written and read in one file only:
     /model      h5model.c       /problem    h5problem.c      /sampler   h5sampler.c
     /optimizer  h5optimizer.c   /history    h5history.c      /options   h5io.c */
#ifndef ENGD_H5IO_H
#define ENGD_H5IO_H

#include <engd/history.h>
#include <engd/optimizer.h>
#include <hdf5.h>

/* The log event of the results and checkpoint writes, "EngdOutput" of the class "Output". */
extern PetscLogEvent ENGD_Output;
PetscErrorCode EngdOutputInitializePackage(void);

/* Turn a negative HDF5 return into a jump to the function's `fail:` clean-up. */
#define ENGD_H5(expr) \
  do { \
    if ((expr) < 0) goto fail; \
  } while (0)

/* In a group reader (or a parser built on them): say what is wrong and jump to `done:`. */
#define ENGD_H5_REFUSE(...) \
  do { \
    snprintf(reason, reason_size, __VA_ARGS__); \
    goto done; \
  } while (0)

int EngdH5WriteDoubles(hid_t loc, const char *name, hsize_t n, const double *data);
int EngdH5WriteInts(hid_t loc, const char *name, hsize_t n, const PetscInt *data);
int EngdH5WriteAttrDouble(hid_t loc, const char *name, double value);
int EngdH5WriteAttrInt(hid_t loc, const char *name, PetscInt value);
int EngdH5WriteAttrString(hid_t loc, const char *name, const char *text);

int EngdH5ReadAttrInt(hid_t loc, const char *name, PetscInt *value);
int EngdH5ReadAttrDouble(hid_t loc, const char *name, double *value);
/* Fixed-length or variable-length string attribute; fails if it does not fit in size bytes. */
int EngdH5ReadAttrString(hid_t loc, const char *name, char *text, size_t size);
/* Number of entries of a one-dimensional dataset. */
int EngdH5DatasetLength(hid_t loc, const char *name, hsize_t *n);
int EngdH5ReadDoubles(hid_t loc, const char *name, hsize_t n, double *data);
int EngdH5ReadInts(hid_t loc, const char *name, hsize_t n, PetscInt *data);

/* /model: parameters (n_params), widths n_0..n_L (n_layers + 1), attributes activation, seed.
   The reader allocates theta and widths (PetscFree them) and refuses parameters that are not
   finite. */
int            EngdH5WriteModel(hid_t file, PetscInt n_params, const double *theta, PetscInt n_layers, const PetscInt *widths, const char *activation, PetscInt seed);
PetscErrorCode EngdH5ReadModel(hid_t file, PetscInt *n_params, PetscReal **theta, PetscInt *n_layers, PetscInt **widths, char activation[], size_t activation_size, char reason[], size_t reason_size);

/* /problem: attributes type, dim and description, the problem as ProblemView prints it (what a
   restart must find unchanged: type, dimension, solution and coefficients, each term's points
   and weight). EngdProblemDescription gives that text (every rank alike; PetscFree it). */
PetscErrorCode EngdProblemDescription(Problem, char **text);
int            EngdH5WriteProblem(hid_t file, const char *type, PetscInt dim, const char *description);
PetscErrorCode EngdH5ReadProblem(hid_t file, char type[], size_t type_size, PetscInt *dim, char description[], size_t description_size, char reason[], size_t reason_size);

/* /sampler: attributes type, seed, resample_every and epoch (of the point set; the reader does
   not need it: a restart regenerates the points of its iteration). */
int            EngdH5WriteSampler(hid_t file, const char *type, PetscInt seed, PetscInt resample_every, PetscInt epoch);
PetscErrorCode EngdH5ReadSampler(hid_t file, char type[], size_t type_size, PetscInt *seed, PetscInt *resample_every, char reason[], size_t reason_size);

/* /optimizer: attribute type and one dataset per OptimizerState entry. The reader adds every
   entry to state and refuses values that are not finite. */
int            EngdH5WriteOptimizer(hid_t file, const char *type, const OptimizerState *);
PetscErrorCode EngdH5ReadOptimizer(hid_t file, char type[], size_t type_size, OptimizerState *, char reason[], size_t reason_size);

/* /history: iteration and one dataset per column (in the order of registration), rows
   [0, n_rows). The reader (of a checkpoint's history: rows of iterations 0, 1, ..., iteration)
   makes a History on PETSC_COMM_SELF with a column per dataset of the group (destroy it even
   when reason is set). */
int            EngdH5WriteHistory(hid_t file, History, PetscInt n_rows);
PetscErrorCode EngdH5ReadHistory(hid_t file, PetscInt iteration, History *, char reason[], size_t reason_size);

/* /options with the attribute text (every option of the run, one per line). */
int EngdH5WriteOptions(hid_t file, const char *text);
/* Every option of the run as text, one per line (PetscFree it). */
PetscErrorCode EngdOptionsText(char **text);

#endif
