/* History: named real columns, registered before the first row, and growable rows. */
#include <engd/private/historyimpl.h>

PetscErrorCode HistoryCreate(MPI_Comm comm, History *history)
{
  History h;

  PetscFunctionBegin;
  PetscCall(PetscNew(&h));
  h->comm  = comm;
  *history = h;
  PetscFunctionReturn(0);
}

PetscErrorCode HistoryDestroy(History *history)
{
  History h = *history;

  PetscFunctionBegin;
  if (!h) PetscFunctionReturn(0);
  for (PetscInt k = 0; k < h->n_columns; k++) {
    PetscCall(PetscFree(h->name[k]));
    PetscCall(PetscFree(h->values[k]));
  }
  PetscCall(PetscFree(h->name));
  PetscCall(PetscFree(h->values));
  PetscCall(PetscFree(h->iteration));
  PetscCall(PetscFree(h));
  *history = NULL;
  PetscFunctionReturn(0);
}

PetscErrorCode HistoryFindColumn(History h, const char name[], PetscInt *column)
{
  PetscFunctionBegin;
  *column = -1;
  for (PetscInt k = 0; k < h->n_columns; k++)
    if (!strcmp(h->name[k], name)) *column = k;
  PetscFunctionReturn(0);
}

PetscErrorCode HistoryAddColumn(History h, const char name[], PetscInt *column)
{
  char      **names;
  PetscReal **values;
  PetscInt    existing;

  PetscFunctionBegin;
  PetscCheck(name[0] && !strchr(name, '/') && strcmp(name, "iteration"), h->comm, PETSC_ERR_ARG_WRONG, "History column '%s': a name must be non-empty, without '/', and not 'iteration'", name);
  PetscCall(HistoryFindColumn(h, name, &existing));
  PetscCheck(existing < 0, h->comm, PETSC_ERR_ARG_WRONG, "History column '%s' is already registered", name);
  PetscCheck(h->n_rows == 0, h->comm, PETSC_ERR_ORDER, "History column '%s': columns are registered before the first row (the History has %" PetscInt_FMT ")", name, h->n_rows);
  PetscCall(PetscMalloc1(h->n_columns + 1, &names));
  PetscCall(PetscMalloc1(h->n_columns + 1, &values));
  if (h->n_columns) {
    PetscCall(PetscArraycpy(names, h->name, h->n_columns));
    PetscCall(PetscArraycpy(values, h->values, h->n_columns));
  }
  PetscCall(PetscFree(h->name));
  PetscCall(PetscFree(h->values));
  h->name   = names;
  h->values = values;
  PetscCall(PetscStrallocpy(name, &h->name[h->n_columns]));
  PetscCall(PetscMalloc1(PetscMax(h->capacity, 1), &h->values[h->n_columns]));
  *column = h->n_columns++;
  PetscFunctionReturn(0);
}

PetscErrorCode HistoryGetNumColumns(History h, PetscInt *n_columns)
{
  PetscFunctionBegin;
  *n_columns = h->n_columns;
  PetscFunctionReturn(0);
}

PetscErrorCode HistoryGetColumnName(History h, PetscInt column, const char **name)
{
  PetscFunctionBegin;
  PetscCheck(column >= 0 && column < h->n_columns, h->comm, PETSC_ERR_ARG_OUTOFRANGE, "History column %" PetscInt_FMT " does not exist (%" PetscInt_FMT " columns)", column, h->n_columns);
  *name = h->name[column];
  PetscFunctionReturn(0);
}

static PetscErrorCode Grow(PetscInt n, PetscInt capacity, size_t size, void **array)
{
  void *bigger;

  PetscFunctionBegin;
  PetscCall(PetscMalloc(capacity * size, &bigger));
  if (n) PetscCall(PetscMemcpy(bigger, *array, n * size));
  PetscCall(PetscFree(*array));
  *array = bigger;
  PetscFunctionReturn(0);
}

PetscErrorCode HistoryBeginRow(History h, PetscInt iteration)
{
  PetscFunctionBegin;
  if (h->n_rows == h->capacity) {
    const PetscInt capacity = PetscMax(64, 2 * h->capacity);
    PetscCall(Grow(h->n_rows, capacity, sizeof(PetscInt), (void **)&h->iteration));
    for (PetscInt k = 0; k < h->n_columns; k++) PetscCall(Grow(h->n_rows, capacity, sizeof(PetscReal), (void **)&h->values[k]));
    h->capacity = capacity;
  }
  h->iteration[h->n_rows] = iteration;
  for (PetscInt k = 0; k < h->n_columns; k++) h->values[k][h->n_rows] = NAN;
  h->n_rows++;
  PetscFunctionReturn(0);
}

PetscErrorCode HistorySetValue(History h, PetscInt column, PetscReal value)
{
  PetscFunctionBegin;
  PetscCheck(h->n_rows > 0, h->comm, PETSC_ERR_ORDER, "HistorySetValue: no row (call HistoryBeginRow first)");
  PetscCheck(column >= 0 && column < h->n_columns, h->comm, PETSC_ERR_ARG_OUTOFRANGE, "History column %" PetscInt_FMT " does not exist (%" PetscInt_FMT " columns)", column, h->n_columns);
  h->values[column][h->n_rows - 1] = value;
  PetscFunctionReturn(0);
}

PetscErrorCode HistoryGetNumRows(History h, PetscInt *n_rows)
{
  PetscFunctionBegin;
  *n_rows = h->n_rows;
  PetscFunctionReturn(0);
}

PetscErrorCode HistoryGetIterations(History h, PetscInt *n_rows, const PetscInt **iterations)
{
  PetscFunctionBegin;
  *n_rows     = h->n_rows;
  *iterations = h->iteration;
  PetscFunctionReturn(0);
}

PetscErrorCode HistoryGetColumn(History h, const char name[], PetscInt *n_rows, const PetscReal **values)
{
  PetscInt column;

  PetscFunctionBegin;
  PetscCall(HistoryFindColumn(h, name, &column));
  PetscCheck(column >= 0, h->comm, PETSC_ERR_ARG_WRONG, "History has no column '%s'", name);
  *n_rows = h->n_rows;
  *values = h->values[column];
  PetscFunctionReturn(0);
}

PetscErrorCode HistoryTruncate(History h, PetscInt n_rows)
{
  PetscFunctionBegin;
  PetscCheck(n_rows >= 0 && n_rows <= h->n_rows, h->comm, PETSC_ERR_ARG_OUTOFRANGE, "HistoryTruncate: %" PetscInt_FMT " rows asked for, the History has %" PetscInt_FMT, n_rows, h->n_rows);
  h->n_rows = n_rows;
  PetscFunctionReturn(0);
}
