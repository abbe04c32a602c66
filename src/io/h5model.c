/* The /model group of results and checkpoint files: the network's parameters and shape. */
#include <engd/private/h5io.h>

int EngdH5WriteModel(hid_t file, PetscInt n_params, const double *theta, PetscInt n_layers, const PetscInt *widths, const char *activation, PetscInt seed)
{
  hid_t group = -1;
  ENGD_H5(group = H5Gcreate2(file, "model", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  ENGD_H5(EngdH5WriteDoubles(group, "parameters", (hsize_t)n_params, theta));
  ENGD_H5(EngdH5WriteInts(group, "widths", (hsize_t)(n_layers + 1), widths));
  ENGD_H5(EngdH5WriteAttrString(group, "activation", activation));
  ENGD_H5(EngdH5WriteAttrInt(group, "seed", seed));
  H5Gclose(group);
  return 0;
fail:
  if (group >= 0) H5Gclose(group);
  return -1;
}

PetscErrorCode EngdH5ReadModel(hid_t file, PetscInt *n_params, PetscReal **theta, PetscInt *n_layers, PetscInt **widths, char activation[], size_t activation_size, char reason[], size_t reason_size)
{
  hid_t   group = -1;
  hsize_t n;

  PetscFunctionBegin;
  reason[0] = '\0';
  if ((group = H5Gopen2(file, "model", H5P_DEFAULT)) < 0) ENGD_H5_REFUSE("no /model group");
  if (EngdH5ReadAttrString(group, "activation", activation, activation_size) < 0) ENGD_H5_REFUSE("/model lacks the activation");
  if (EngdH5DatasetLength(group, "widths", &n) < 0 || n < 2 || n > 1000) ENGD_H5_REFUSE("no valid /model/widths");
  *n_layers = (PetscInt)n - 1;
  PetscCall(PetscMalloc1(n, widths));
  if (EngdH5ReadInts(group, "widths", n, *widths) < 0) ENGD_H5_REFUSE("cannot read /model/widths");
  if (EngdH5DatasetLength(group, "parameters", &n) < 0) ENGD_H5_REFUSE("no /model/parameters");
  *n_params = (PetscInt)n;
  PetscCall(PetscMalloc1(PetscMax(*n_params, 1), theta));
  if (EngdH5ReadDoubles(group, "parameters", n, *theta) < 0) ENGD_H5_REFUSE("cannot read /model/parameters (damaged: its checksum does not match)");
  for (hsize_t i = 0; i < n; i++)
    if (PetscIsInfOrNanReal((*theta)[i])) ENGD_H5_REFUSE("/model/parameters[%lld] is not finite", (long long)i);
done:
  if (group >= 0) H5Gclose(group);
  PetscFunctionReturn(0);
}
