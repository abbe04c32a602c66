/* Results file (HDF5, written by rank 0 with the serial API): built in memory, then put in
   place atomically (atomicfile.h); its writer holds <path>.lock for the whole run. */
#include <engd/results.h>
#include <engd/private/h5io.h>
#include <engd/private/atomicfile.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  Model                 model;
  const PetscReal      *theta;
  History               history;
  const ResultsSummary *summary;
  const char           *options;
  PetscInt              n_rows, n_params, n_layers;
  const PetscInt       *widths;
  ModelActivation       activation;
  PetscInt              seed;
} ResultsContent;

static int BuildFile(hid_t file, const void *ctx)
{
  const ResultsContent *c     = (const ResultsContent *)ctx;
  hid_t                 group = -1;

  ENGD_H5(EngdH5WriteAttrString(file, "format", "engd-results"));
  ENGD_H5(EngdH5WriteAttrInt(file, "format_version", 1));

  ENGD_H5(EngdH5WriteHistory(file, c->history, c->n_rows));

  ENGD_H5(EngdH5WriteModel(file, c->n_params, c->theta, c->n_layers, c->widths, ModelActivations[c->activation], c->seed));

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
  return 0;
fail:
  if (group >= 0) H5Gclose(group);
  return -1;
}

PetscErrorCode ResultsReserve(MPI_Comm comm, const char path[])
{
  PetscMPIInt rank;
  char        reason[1024] = "";

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0 && EngdCheckTarget(path, reason, sizeof(reason)) == 0) {
    char lock[PETSC_MAX_PATH_LEN + 8], holder[512];
    EngdHolderText(holder, sizeof(holder));
    if (snprintf(lock, sizeof(lock), "%s.lock", path) >= (int)sizeof(lock)) snprintf(reason, sizeof(reason), "the path is too long");
    else (void)EngdLockAcquire(lock, holder, 1, reason, sizeof(reason));
  }
  PetscCallMPI(MPI_Bcast(reason, sizeof(reason), MPI_CHAR, 0, comm));
  PetscCheck(!reason[0], comm, PETSC_ERR_FILE_OPEN, "-output: cannot write '%s': %s", path, reason);
  PetscFunctionReturn(0);
}

PetscErrorCode ResultsWrite(MPI_Comm comm, const char path[], Model model, const PetscReal *theta, History history, const ResultsSummary *summary)
{
  char reason[1024];

  PetscFunctionBegin;
  PetscCall(ResultsTryWrite(comm, path, model, theta, history, summary, reason, sizeof(reason)));
  PetscCheck(!reason[0], comm, PETSC_ERR_FILE_WRITE, "could not write the results file '%s': %s", path, reason);
  PetscFunctionReturn(0);
}

PetscErrorCode ResultsTryWrite(MPI_Comm comm, const char path[], Model model, const PetscReal *theta, History history, const ResultsSummary *summary, char reason[], size_t reason_size)
{
  PetscMPIInt    rank;
  ResultsContent c;

  PetscFunctionBegin;
  PetscCall(EngdOutputInitializePackage());
  PetscCall(PetscLogEventBegin(ENGD_Output, 0, 0, 0, 0));
  reason[0] = '\0';
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    char *options;
    c.model   = model;
    c.theta   = theta;
    c.history = history;
    c.summary = summary;
    PetscCall(HistoryGetNumRows(history, &c.n_rows));
    PetscCall(ModelGetNumParameters(model, &c.n_params));
    PetscCall(ModelGetWidths(model, &c.n_layers, &c.widths));
    PetscCall(ModelGetActivation(model, &c.activation));
    PetscCall(ModelGetSeed(model, &c.seed));
    PetscCall(EngdOptionsText(&options));
    c.options = options;
    (void)EngdH5WriteAtomic(path, "", 0, BuildFile, &c, reason, reason_size);
    PetscCall(PetscFree(options));
  }
  PetscCallMPI(MPI_Bcast(reason, (PetscMPIInt)reason_size, MPI_CHAR, 0, comm));
  PetscCall(PetscLogEventEnd(ENGD_Output, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}
