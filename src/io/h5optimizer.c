/* The /optimizer group of checkpoint files: the optimizer's type and state (OptimizerState). */
#include <engd/private/h5io.h>
#include <stdio.h>

int EngdH5WriteOptimizer(hid_t file, const char *type, const OptimizerState *state)
{
  hid_t group = -1;
  ENGD_H5(group = H5Gcreate2(file, "optimizer", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  ENGD_H5(EngdH5WriteAttrString(group, "type", type));
  for (PetscInt k = 0; k < state->n; k++) ENGD_H5(EngdH5WriteDoubles(group, state->entry[k].name, (hsize_t)state->entry[k].length, state->entry[k].values));
  H5Gclose(group);
  return 0;
fail:
  if (group >= 0) H5Gclose(group);
  return -1;
}

PetscErrorCode EngdH5ReadOptimizer(hid_t file, char type[], size_t type_size, OptimizerState *state, char reason[], size_t reason_size)
{
  hid_t      group  = -1;
  PetscReal *values = NULL;
  H5G_info_t info;
  hsize_t    n;

  PetscFunctionBegin;
  reason[0] = '\0';
  if ((group = H5Gopen2(file, "optimizer", H5P_DEFAULT)) < 0) ENGD_H5_REFUSE("no /optimizer group");
  if (EngdH5ReadAttrString(group, "type", type, type_size) < 0) ENGD_H5_REFUSE("/optimizer lacks its type");
  if (H5Gget_info(group, &info) < 0) ENGD_H5_REFUSE("cannot list /optimizer");
  for (hsize_t k = 0; k < info.nlinks; k++) {
    char name[32];
    if (H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, k, name, sizeof(name), H5P_DEFAULT) < 0 || EngdH5DatasetLength(group, name, &n) < 0) ENGD_H5_REFUSE("unreadable /optimizer entry");
    PetscCall(PetscMalloc1(n + 1, &values));
    if (EngdH5ReadDoubles(group, name, n, values) < 0) ENGD_H5_REFUSE("cannot read /optimizer/%s (damaged: its checksum does not match)", name);
    for (hsize_t i = 0; i < n; i++)
      if (PetscIsInfOrNanReal(values[i])) ENGD_H5_REFUSE("/optimizer/%s[%lld] is not finite", name, (long long)i);
    PetscCall(OptimizerStateSet(state, name, (PetscInt)n, values));
    PetscCall(PetscFree(values));
  }
done:
  PetscCall(PetscFree(values));
  if (group >= 0) H5Gclose(group);
  PetscFunctionReturn(0);
}
