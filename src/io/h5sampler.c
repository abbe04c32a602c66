/* The /sampler group of checkpoint files: how the point sets are drawn. */
#include <engd/private/h5io.h>
#include <stdio.h>

int EngdH5WriteSampler(hid_t file, const char *type, PetscInt seed, PetscInt resample_every, PetscInt epoch)
{
  hid_t group = -1;
  ENGD_H5(group = H5Gcreate2(file, "sampler", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  ENGD_H5(EngdH5WriteAttrString(group, "type", type));
  ENGD_H5(EngdH5WriteAttrInt(group, "seed", seed));
  ENGD_H5(EngdH5WriteAttrInt(group, "resample_every", resample_every));
  ENGD_H5(EngdH5WriteAttrInt(group, "epoch", epoch));
  H5Gclose(group);
  return 0;
fail:
  if (group >= 0) H5Gclose(group);
  return -1;
}

PetscErrorCode EngdH5ReadSampler(hid_t file, char type[], size_t type_size, PetscInt *seed, PetscInt *resample_every, char reason[], size_t reason_size)
{
  hid_t group = -1;

  PetscFunctionBegin;
  reason[0] = '\0';
  if ((group = H5Gopen2(file, "sampler", H5P_DEFAULT)) < 0) ENGD_H5_REFUSE("no /sampler group");
  if (EngdH5ReadAttrString(group, "type", type, type_size) < 0 || EngdH5ReadAttrInt(group, "seed", seed) < 0 || EngdH5ReadAttrInt(group, "resample_every", resample_every) < 0) ENGD_H5_REFUSE("/sampler lacks its type, seed or resample_every");
done:
  if (group >= 0) H5Gclose(group);
  PetscFunctionReturn(0);
}
