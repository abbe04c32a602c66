/* The /history group of results and checkpoint files: the iterations and a dataset per
   History column. */
#include <engd/private/h5io.h>
#include <engd/private/historyimpl.h>
#include <stdio.h>

int EngdH5WriteHistory(hid_t file, History history, PetscInt n_rows)
{
  hid_t group = -1;
  if (n_rows < 0 || n_rows > history->n_rows) return -1;
  ENGD_H5(group = H5Gcreate2(file, "history", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  ENGD_H5(EngdH5WriteInts(group, "iteration", (hsize_t)n_rows, history->iteration));
  for (PetscInt k = 0; k < history->n_columns; k++) ENGD_H5(EngdH5WriteDoubles(group, history->name[k], (hsize_t)n_rows, history->values[k]));
  H5Gclose(group);
  return 0;
fail:
  if (group >= 0) H5Gclose(group);
  return -1;
}

/* A checkpoint's history: rows of iterations 0, 1, ..., iteration. */
PetscErrorCode EngdH5ReadHistory(hid_t file, PetscInt iteration, History *history, char reason[], size_t reason_size)
{
  hid_t      group = -1;
  hsize_t    n;
  H5G_info_t info;
  PetscInt  *its = NULL, n_columns = 0, column;
  PetscReal *values = NULL;
  PetscBool  ok;

  PetscFunctionBegin;
  reason[0] = '\0';
  PetscCall(HistoryCreate(PETSC_COMM_SELF, history));
  if ((group = H5Gopen2(file, "history", H5P_DEFAULT)) < 0) ENGD_H5_REFUSE("no /history group");
  if (EngdH5DatasetLength(group, "iteration", &n) < 0 || (PetscInt)n != iteration + 1) ENGD_H5_REFUSE("/history/iteration does not have iteration + 1 = %" PetscInt_FMT " rows", iteration + 1);
  PetscCall(PetscMalloc1(n, &its));
  ok = (EngdH5ReadInts(group, "iteration", n, its) == 0 && H5Gget_info(group, &info) >= 0) ? PETSC_TRUE : PETSC_FALSE;
  for (hsize_t i = 0; ok && i < n; i++)
    if (its[i] != (PetscInt)i) ok = PETSC_FALSE;
  if (ok) PetscCall(PetscMalloc1(n * info.nlinks + 1, &values));
  for (hsize_t k = 0; ok && k < info.nlinks; k++) {
    char          name[256];
    const ssize_t length = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, k, name, sizeof(name), H5P_DEFAULT);
    if (length < 0 || length >= (ssize_t)sizeof(name)) ok = PETSC_FALSE;
    else if (strcmp(name, "iteration")) {
      if (EngdH5ReadDoubles(group, name, n, values + n_columns * n) < 0) ok = PETSC_FALSE;
      else {
        PetscCall(HistoryAddColumn(*history, name, &column));
        n_columns++;
      }
    }
  }
  if (!ok) ENGD_H5_REFUSE("unreadable or inconsistent /history (damaged: a checksum does not match, or the iterations are not 0, 1, ...)");
  for (hsize_t i = 0; i < n; i++) {
    PetscCall(HistoryBeginRow(*history, its[i]));
    for (PetscInt c = 0; c < n_columns; c++) PetscCall(HistorySetValue(*history, c, values[c * n + i]));
  }
done:
  PetscCall(PetscFree(its));
  PetscCall(PetscFree(values));
  if (group >= 0) H5Gclose(group);
  PetscFunctionReturn(0);
}
