/* Results file (HDF5, written by rank 0 with the serial API): temporary file, then rename. */
#include <engd/results.h>
#include <engd/private/h5io.h>
#include <errno.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  Model                 model;
  const PetscReal      *theta;
  History              *history;
  const ResultsSummary *summary;
  const char           *options;
  PetscInt              n_params, n_layers;
  const PetscInt       *widths;
  ModelActivation       activation;
  PetscInt              seed;
} ResultsContent;

static int WriteFile(const char *path, const ResultsContent *c)
{
  hid_t file = -1, group = -1;

  ENGD_H5(file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  ENGD_H5(EngdH5WriteAttrString(file, "format", "engd-results"));
  ENGD_H5(EngdH5WriteAttrInt(file, "format_version", 1));

  ENGD_H5(EngdH5WriteHistory(file, c->history, c->history->n));

  ENGD_H5(group = H5Gcreate2(file, "model", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  ENGD_H5(EngdH5WriteDoubles(group, "parameters", (hsize_t)c->n_params, c->theta));
  ENGD_H5(EngdH5WriteInts(group, "widths", (hsize_t)(c->n_layers + 1), c->widths));
  ENGD_H5(EngdH5WriteAttrString(group, "activation", ModelActivations[c->activation]));
  ENGD_H5(EngdH5WriteAttrInt(group, "seed", c->seed));
  H5Gclose(group);
  group = -1;

  ENGD_H5(group = H5Gcreate2(file, "summary", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  ENGD_H5(EngdH5WriteAttrInt(group, "iterations", c->summary->iterations));
  ENGD_H5(EngdH5WriteAttrDouble(group, "loss", c->summary->loss));
  ENGD_H5(EngdH5WriteAttrDouble(group, "rel_l2", c->summary->rel_l2));
  ENGD_H5(EngdH5WriteAttrDouble(group, "rel_h1", c->summary->rel_h1));
  ENGD_H5(EngdH5WriteAttrDouble(group, "rms", c->summary->rms));
  ENGD_H5(EngdH5WriteAttrDouble(group, "wall_s", c->summary->wall_s));
  ENGD_H5(EngdH5WriteAttrDouble(group, "s_per_it", c->summary->s_per_it));
  ENGD_H5(EngdH5WriteAttrInt(group, "params", c->summary->params));
  ENGD_H5(EngdH5WriteAttrInt(group, "points", c->summary->points));
  ENGD_H5(EngdH5WriteAttrInt(group, "ranks", c->summary->ranks));
  H5Gclose(group);
  group = -1;

  ENGD_H5(EngdH5WriteOptions(file, c->options));
  ENGD_H5(H5Fclose(file));
  return 0;
fail:
  if (group >= 0) H5Gclose(group);
  if (file >= 0) H5Fclose(file);
  return -1;
}

PetscErrorCode ResultsCheckWritable(MPI_Comm comm, const char path[])
{
  PetscMPIInt rank;
  char        reason[256] = "";

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    char  tmp[PETSC_MAX_PATH_LEN];
    FILE *fp;
    PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp", path));
    struct stat st;
    fp = (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) ? NULL : fopen(tmp, "w");
    if (!fp && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) PetscCall(PetscStrncpy(reason, "it is a directory", sizeof(reason)));
    else if (!fp) PetscCall(PetscStrncpy(reason, strerror(errno), sizeof(reason)));
    else {
      fclose(fp);
      remove(tmp);
    }
  }
  PetscCallMPI(MPI_Bcast(reason, sizeof(reason), MPI_CHAR, 0, comm));
  PetscCheck(!reason[0], comm, PETSC_ERR_FILE_OPEN, "-output: cannot write '%s': %s", path, reason);
  PetscFunctionReturn(0);
}

PetscErrorCode ResultsWrite(MPI_Comm comm, const char path[], Model model, const PetscReal *theta, History *history, const ResultsSummary *summary)
{
  PetscMPIInt    rank;
  int            status = 0;
  ResultsContent c;

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(ENGD_Output, 0, 0, 0, 0));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    char  tmp[PETSC_MAX_PATH_LEN];
    char *options;
    c.model   = model;
    c.theta   = theta;
    c.history = history;
    c.summary = summary;
    PetscCall(ModelGetNumParameters(model, &c.n_params));
    PetscCall(ModelGetWidths(model, &c.n_layers, &c.widths));
    PetscCall(ModelGetActivation(model, &c.activation));
    PetscCall(ModelGetSeed(model, &c.seed));
    PetscCall(EngdOptionsText(&options));
    c.options = options;
    PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp", path));
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    status = WriteFile(tmp, &c);
    if (status == 0 && rename(tmp, path) != 0) status = -1;
    if (status != 0) remove(tmp);
    PetscCall(PetscFree(options));
  }
  PetscCallMPI(MPI_Bcast(&status, 1, MPI_INT, 0, comm));
  PetscCheck(status == 0, comm, PETSC_ERR_FILE_WRITE, "could not write the results file '%s'", path);
  PetscCall(PetscLogEventEnd(ENGD_Output, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}
