/* The History's storage, for its writer (src/io/h5history.c): a growable array per column. */
#ifndef ENGD_HISTORYIMPL_H
#define ENGD_HISTORYIMPL_H

#include <engd/history.h>

struct _p_History {
  MPI_Comm    comm;
  PetscInt    n_rows, capacity; /* rows held, and allocated in each array */
  PetscInt    n_columns;
  PetscInt   *iteration; /* capacity entries */
  char      **name;      /* n_columns names */
  PetscReal **values;    /* n_columns arrays of capacity entries */
};

#endif
