/* Results file (HDF5, written by rank 0 with the serial API): temporary file, then rename. */
#include <engd/results.h>
#include <hdf5.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>

#define ENGD_H5(expr) \
  do { \
    if ((expr) < 0) goto fail; \
  } while (0)

/* Runs on rank 0 only, so it reports failure in *message instead of raising a PETSc error on
   one rank while the others wait; the caller makes the outcome collective. */
static int WriteDoubles(hid_t loc, const char *name, hsize_t n, const double *data)
{
  hid_t space = -1, set = -1;
  ENGD_H5(space = H5Screate_simple(1, &n, NULL));
  ENGD_H5(set = H5Dcreate2(loc, name, H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (n) ENGD_H5(H5Dwrite(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
  H5Dclose(set);
  H5Sclose(space);
  return 0;
fail:
  if (set >= 0) H5Dclose(set);
  if (space >= 0) H5Sclose(space);
  return -1;
}

static int WriteInts(hid_t loc, const char *name, hsize_t n, const PetscInt *data)
{
  long long *buf = (long long *)malloc(sizeof(long long) * (n ? n : 1));
  hid_t      space = -1, set = -1;
  if (!buf) return -1;
  for (hsize_t i = 0; i < n; i++) buf[i] = (long long)data[i];
  ENGD_H5(space = H5Screate_simple(1, &n, NULL));
  ENGD_H5(set = H5Dcreate2(loc, name, H5T_NATIVE_LLONG, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (n) ENGD_H5(H5Dwrite(set, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf));
  H5Dclose(set);
  H5Sclose(space);
  free(buf);
  return 0;
fail:
  if (set >= 0) H5Dclose(set);
  if (space >= 0) H5Sclose(space);
  free(buf);
  return -1;
}

static int WriteAttrDouble(hid_t loc, const char *name, double value)
{
  hid_t space = -1, attr = -1;
  ENGD_H5(space = H5Screate(H5S_SCALAR));
  ENGD_H5(attr = H5Acreate2(loc, name, H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT));
  ENGD_H5(H5Awrite(attr, H5T_NATIVE_DOUBLE, &value));
  H5Aclose(attr);
  H5Sclose(space);
  return 0;
fail:
  if (attr >= 0) H5Aclose(attr);
  if (space >= 0) H5Sclose(space);
  return -1;
}

static int WriteAttrInt(hid_t loc, const char *name, PetscInt value)
{
  long long v     = (long long)value;
  hid_t     space = -1, attr = -1;
  ENGD_H5(space = H5Screate(H5S_SCALAR));
  ENGD_H5(attr = H5Acreate2(loc, name, H5T_NATIVE_LLONG, space, H5P_DEFAULT, H5P_DEFAULT));
  ENGD_H5(H5Awrite(attr, H5T_NATIVE_LLONG, &v));
  H5Aclose(attr);
  H5Sclose(space);
  return 0;
fail:
  if (attr >= 0) H5Aclose(attr);
  if (space >= 0) H5Sclose(space);
  return -1;
}

static int WriteAttrString(hid_t loc, const char *name, const char *text)
{
  hid_t space = -1, type = -1, attr = -1;
  ENGD_H5(space = H5Screate(H5S_SCALAR));
  ENGD_H5(type = H5Tcopy(H5T_C_S1));
  ENGD_H5(H5Tset_size(type, strlen(text) + 1));
  ENGD_H5(attr = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT));
  ENGD_H5(H5Awrite(attr, type, text));
  H5Aclose(attr);
  H5Tclose(type);
  H5Sclose(space);
  return 0;
fail:
  if (attr >= 0) H5Aclose(attr);
  if (type >= 0) H5Tclose(type);
  if (space >= 0) H5Sclose(space);
  return -1;
}

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
  ENGD_H5(WriteAttrString(file, "format", "engd-results"));
  ENGD_H5(WriteAttrInt(file, "format_version", 1));

  ENGD_H5(group = H5Gcreate2(file, "history", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  ENGD_H5(WriteInts(group, "iteration", (hsize_t)c->history->n, c->history->iteration));
  for (PetscInt k = 0; k < HISTORY_N_FIELDS; k++) ENGD_H5(WriteDoubles(group, HistoryFieldNames[k], (hsize_t)c->history->n, HistoryField(c->history, k)));
  H5Gclose(group);

  ENGD_H5(group = H5Gcreate2(file, "model", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  ENGD_H5(WriteDoubles(group, "parameters", (hsize_t)c->n_params, c->theta));
  ENGD_H5(WriteInts(group, "widths", (hsize_t)(c->n_layers + 1), c->widths));
  ENGD_H5(WriteAttrString(group, "activation", ModelActivations[c->activation]));
  ENGD_H5(WriteAttrInt(group, "seed", c->seed));
  H5Gclose(group);

  ENGD_H5(group = H5Gcreate2(file, "summary", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  ENGD_H5(WriteAttrInt(group, "iterations", c->summary->iterations));
  ENGD_H5(WriteAttrDouble(group, "loss", c->summary->loss));
  ENGD_H5(WriteAttrDouble(group, "rel_l2", c->summary->rel_l2));
  ENGD_H5(WriteAttrDouble(group, "rel_h1", c->summary->rel_h1));
  ENGD_H5(WriteAttrDouble(group, "rms", c->summary->rms));
  ENGD_H5(WriteAttrDouble(group, "wall_s", c->summary->wall_s));
  ENGD_H5(WriteAttrDouble(group, "s_per_it", c->summary->s_per_it));
  ENGD_H5(WriteAttrInt(group, "params", c->summary->params));
  ENGD_H5(WriteAttrInt(group, "points", c->summary->points));
  ENGD_H5(WriteAttrInt(group, "ranks", c->summary->ranks));
  H5Gclose(group);

  ENGD_H5(group = H5Gcreate2(file, "options", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  ENGD_H5(WriteAttrString(group, "text", c->options));
  H5Gclose(group);
  group = -1;
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
    PetscCall(PetscOptionsGetAll(NULL, &options));
    for (char *o = options; *o; o++) /* one option per line: split at " -<letter>" */
      if (o[0] == ' ' && o[1] == '-' && ((o[2] >= 'a' && o[2] <= 'z') || (o[2] >= 'A' && o[2] <= 'Z'))) o[0] = '\n';
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
