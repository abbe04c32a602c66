/* History: the per-iteration record of a run, kept on every rank (identical everywhere). A
   row per recorded iteration: its iteration number and a value in each of a set of named real
   columns. The objects of a run register their columns before the first row (the training
   loop: loss, rel_l2, rel_h1, rms, wall_s; the optimizer: eta, damping; a method or solver
   may add its own); every row starts with NaN in each column and each object sets the values
   it knows. The results and checkpoint files hold /history/iteration and one dataset
   /history/<name> per column, in the order of registration.

   Typical use:
     HistoryCreate(comm, &history);
     HistoryAddColumn(history, "loss", &column_loss);             before the first row
     ...
     HistoryBeginRow(history, iteration);                          each iteration
     HistorySetValue(history, column_loss, loss);                  on the current row */
#ifndef ENGD_HISTORY_H
#define ENGD_HISTORY_H

#include <engd/sys.h>

typedef struct _p_History *History;

/* An empty History (no columns, no rows); comm is that of the errors it raises. */
PetscErrorCode HistoryCreate(MPI_Comm, History *);
PetscErrorCode HistoryDestroy(History *);

/* Register a column; column receives its index (0, 1, ... in the order of registration). An
   error if a column of that name exists, if rows were already added, or if the name is empty,
   holds '/' or is "iteration" (the iteration numbers, which every History has). */
PetscErrorCode HistoryAddColumn(History, const char name[], PetscInt *column);
/* The index of the column of that name, -1 if there is none. */
PetscErrorCode HistoryFindColumn(History, const char name[], PetscInt *column);
PetscErrorCode HistoryGetNumColumns(History, PetscInt *n_columns);
/* The name of column k (borrowed). */
PetscErrorCode HistoryGetColumnName(History, PetscInt column, const char **name);

/* Start a row for the iteration: every column NaN until set. It becomes the current row. */
PetscErrorCode HistoryBeginRow(History, PetscInt iteration);
/* Set a column of the current row (an error if there is no row or no such column). */
PetscErrorCode HistorySetValue(History, PetscInt column, PetscReal value);

PetscErrorCode HistoryGetNumRows(History, PetscInt *n_rows);
/* The iteration numbers of the rows (n_rows entries, borrowed: valid until the next row). */
PetscErrorCode HistoryGetIterations(History, PetscInt *n_rows, const PetscInt **iterations);
/* The values of the column of that name (an error if there is none), one per row (borrowed:
   valid until the next row). */
PetscErrorCode HistoryGetColumn(History, const char name[], PetscInt *n_rows, const PetscReal **values);
/* Keep the first n_rows rows (n_rows at most the number of rows); the last one kept becomes
   the current row. */
PetscErrorCode HistoryTruncate(History, PetscInt n_rows);

#endif
