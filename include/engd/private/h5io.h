/* HDF5 helpers shared by the results and checkpoint files. They run on one rank (the serial
   API), so they report failure as -1 instead of raising a PETSc error on that rank while the
   others wait: the caller makes the outcome collective. Readers fail (-1) when the object is
   missing, has another size, or cannot be converted to the requested type. */
#ifndef ENGD_H5IO_H
#define ENGD_H5IO_H

#include <engd/history.h>
#include <hdf5.h>

/* Turn a negative HDF5 return into a jump to the function's `fail:` clean-up. */
#define ENGD_H5(expr) \
  do { \
    if ((expr) < 0) goto fail; \
  } while (0)

/* In a reader (or a parser built on them): say what is wrong and jump to `done:`. */
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
/* Group /history of `file`: iteration and one dataset per column (in the order of
   registration), rows [0, n_rows). */
int EngdH5WriteHistory(hid_t file, History, PetscInt n_rows);
/* Group /model: parameters (n_params), widths n_0..n_L (n_layers + 1), attributes activation, seed. */
int EngdH5WriteModel(hid_t file, PetscInt n_params, const double *theta, PetscInt n_layers, const PetscInt *widths, const char *activation, PetscInt seed);
/* /options with the attribute text (every option of the run, one per line). */
int EngdH5WriteOptions(hid_t file, const char *text);

int EngdH5ReadAttrInt(hid_t loc, const char *name, PetscInt *value);
int EngdH5ReadAttrDouble(hid_t loc, const char *name, double *value);
/* Fixed-length or variable-length string attribute; fails if it does not fit in size bytes. */
int EngdH5ReadAttrString(hid_t loc, const char *name, char *text, size_t size);
/* Number of entries of a one-dimensional dataset. */
int EngdH5DatasetLength(hid_t loc, const char *name, hsize_t *n);
int EngdH5ReadDoubles(hid_t loc, const char *name, hsize_t n, double *data);
int EngdH5ReadInts(hid_t loc, const char *name, hsize_t n, PetscInt *data);
/* A checkpoint's /history, rows of iterations 0, 1, ..., iteration, into a new History (on
   PETSC_COMM_SELF) with a column per dataset of the group; runs on every rank alike and says
   what is wrong with the group in reason (empty: read back; destroy the History either way). */
PetscErrorCode EngdH5ReadHistory(hid_t file, PetscInt iteration, History *, char reason[], size_t reason_size);

/* Every option of the run as text, one per line (PetscFree it). */
PetscErrorCode EngdOptionsText(char **text);

#endif
