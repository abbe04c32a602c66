/* The /problem group of checkpoint files: what a restart must find unchanged in the problem. */
#include <engd/private/h5io.h>
#include <stdio.h>
#include <stdlib.h>

PetscErrorCode EngdProblemDescription(Problem problem, char **text)
{
  char       *buffer = NULL;
  size_t      size   = 0;
  FILE       *fp     = open_memstream(&buffer, &size);
  PetscViewer viewer;

  PetscFunctionBegin;
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory (open_memstream)");
  PetscCall(PetscViewerASCIIOpenWithFILE(PETSC_COMM_SELF, fp, &viewer));
  PetscCall(ProblemView(problem, viewer));
  PetscCall(PetscViewerDestroy(&viewer));
  fclose(fp);
  PetscCall(PetscStrallocpy(buffer ? buffer : "", text));
  free(buffer);
  PetscFunctionReturn(0);
}

int EngdH5WriteProblem(hid_t file, const char *type, PetscInt dim, const char *description)
{
  hid_t group = -1;
  ENGD_H5(group = H5Gcreate2(file, "problem", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  ENGD_H5(EngdH5WriteAttrString(group, "type", type));
  ENGD_H5(EngdH5WriteAttrInt(group, "dim", dim));
  ENGD_H5(EngdH5WriteAttrString(group, "description", description));
  H5Gclose(group);
  return 0;
fail:
  if (group >= 0) H5Gclose(group);
  return -1;
}

PetscErrorCode EngdH5ReadProblem(hid_t file, char type[], size_t type_size, PetscInt *dim, char description[], size_t description_size, char reason[], size_t reason_size)
{
  hid_t group = -1;

  PetscFunctionBegin;
  reason[0] = '\0';
  if ((group = H5Gopen2(file, "problem", H5P_DEFAULT)) < 0) ENGD_H5_REFUSE("no /problem group");
  if (EngdH5ReadAttrString(group, "type", type, type_size) < 0 || EngdH5ReadAttrInt(group, "dim", dim) < 0) ENGD_H5_REFUSE("/problem lacks its type or dim");
  if (EngdH5ReadAttrString(group, "description", description, description_size) < 0) ENGD_H5_REFUSE("/problem lacks its description");
done:
  if (group >= 0) H5Gclose(group);
  PetscFunctionReturn(0);
}
