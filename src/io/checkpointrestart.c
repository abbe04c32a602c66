/* -restart: a checkpoint read by rank 0 and broadcast, parsed on every rank (checkpointfile.c),
   verified against this run and restored: parameters, optimizer state, point set, history. */
#include <engd/private/checkpointimpl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The file's bytes, read by rank 0 and broadcast (*size < 0: unreadable, reason says why). */
static PetscErrorCode ReadImage(Checkpoint c, const char *path, long long *size, char **image, char *reason, size_t reason_size)
{
  const long long chunk = 1 << 30;

  PetscFunctionBegin;
  *image = NULL;
  *size  = -1;
  if (c->rank == 0) {
    struct stat st;
    FILE       *fp = NULL;
    int         fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* a FIFO must not block */
    if (fd < 0) snprintf(reason, reason_size, "%s", strerror(errno));
    else if (fstat(fd, &st) != 0) snprintf(reason, reason_size, "%s", strerror(errno));
    else if (!S_ISREG(st.st_mode)) snprintf(reason, reason_size, "it is %s, not a regular file", S_ISDIR(st.st_mode) ? "a directory" : (S_ISFIFO(st.st_mode) ? "a FIFO" : (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device" : "not a file")));
    else if (!(fp = fdopen(fd, "rb"))) snprintf(reason, reason_size, "%s", strerror(errno));
    else {
      fd = -1; /* fclose closes it */
      *size = (long long)st.st_size;
      PetscCall(PetscMalloc1(*size + 1, image));
      if (*size > 0 && fread(*image, 1, (size_t)*size, fp) != (size_t)*size) {
        snprintf(reason, reason_size, "read error");
        *size = -1;
      }
    }
    if (fp) fclose(fp);
    if (fd >= 0) close(fd);
  }
  PetscCallMPI(MPI_Bcast(size, 1, MPI_LONG_LONG, 0, c->comm));
  if (*size < 0) {
    PetscCallMPI(MPI_Bcast(reason, (PetscMPIInt)reason_size, MPI_CHAR, 0, c->comm));
    PetscCall(PetscFree(*image));
    PetscFunctionReturn(0);
  }
  if (c->rank != 0) PetscCall(PetscMalloc1(*size + 1, image));
  for (long long offset = 0; offset < *size; offset += chunk) {
    const long long n = PetscMin(chunk, *size - offset);
    PetscCallMPI(MPI_Bcast(*image + offset, (PetscMPIInt)n, MPI_CHAR, 0, c->comm));
  }
  PetscFunctionReturn(0);
}

static void NetworkText(PetscInt n_layers, const PetscInt *widths, const char *activation, char *text, size_t size)
{
  size_t used = 0;
  text[0]     = '\0';
  for (PetscInt l = 0; l <= n_layers && used < size; l++) used += (size_t)snprintf(text + used, size - used, "%s%lld", l ? "-" : "", (long long)widths[l]);
  if (used < size) snprintf(text + used, size - used, " %s", activation);
}

/* The first line in which two texts differ, into line_a and line_b. */
static void FirstDifferentLine(const char *a, const char *b, char *line_a, char *line_b, size_t size)
{
  while (*a || *b) {
    const size_t na = strcspn(a, "\n"), nb = strcspn(b, "\n");
    if (na != nb || strncmp(a, b, na)) {
      snprintf(line_a, size, "%.*s", (int)na, a);
      snprintf(line_b, size, "%.*s", (int)nb, b);
      return;
    }
    a += na + (a[na] == '\n');
    b += nb + (b[nb] == '\n');
  }
  line_a[0] = line_b[0] = '\0';
}

static void TrimIndentation(char *line)
{
  const size_t n = strspn(line, " ");
  memmove(line, line + n, strlen(line + n) + 1);
}

/* The options that decide the trajectory beyond the network: the problem (as ProblemView
   shows it: solution, coefficients, points and weight of each term) and the point sets
   (sampler, seed, resampling). reason stays empty when they agree. */
static PetscErrorCode VerifyTrajectory(Objective objective, const CheckpointLoaded *l, char *reason, size_t reason_size)
{
  Model       model;
  Problem     problem;
  SamplerType sampler;
  PetscInt    seed, resample_every;
  char       *description, in_file[512], in_run[512];

  PetscFunctionBegin;
  reason[0] = '\0';
  PetscCall(ObjectiveGetModel(objective, &model));
  PetscCall(ObjectiveGetProblem(objective, &problem));
  PetscCall(ModelGetSeed(model, &seed));
  PetscCall(ObjectiveGetSampling(objective, &sampler, &resample_every, NULL));
  PetscCall(EngdProblemDescription(problem, &description));
  FirstDifferentLine(l->description, description, in_file, in_run, sizeof(in_file));
  PetscCall(PetscFree(description));
  TrimIndentation(in_file);
  TrimIndentation(in_run);
  if (in_file[0] || in_run[0]) snprintf(reason, reason_size, "another problem: '%s' in the file, '%s' in this run (-solution, -n_<term>, -<term>_weight or the problem's own options)", in_file, in_run);
  else if (strcmp(l->sampler, SamplerTypes[sampler])) snprintf(reason, reason_size, "sampler '%s' in the file, '%s' in this run (-sampler)", l->sampler, SamplerTypes[sampler]);
  else if (l->seed != seed) snprintf(reason, reason_size, "seed %lld in the file, %lld in this run (-seed)", (long long)l->seed, (long long)seed);
  else if (l->resample_every != resample_every) snprintf(reason, reason_size, "resampling every %lld iterations in the file, %lld in this run (-resample_every)", (long long)l->resample_every, (long long)resample_every);
  PetscFunctionReturn(0);
}

/* Does the parsed checkpoint belong to this run? */
static PetscErrorCode Verify(Objective objective, Optimizer opt, History history, CheckpointLoaded *l, CheckpointLoadStatus *status, char *reason, size_t reason_size)
{
  Model           model;
  Problem         problem;
  const char     *problem_type, *optimizer_type;
  const PetscInt *widths;
  PetscInt        n_layers, n_params, dim;
  ModelActivation activation;
  PetscBool       same_net;
  OptimizerState  mine = {0};
  PetscInt        n_columns;

  PetscFunctionBegin;
  PetscCall(ObjectiveGetModel(objective, &model));
  PetscCall(ObjectiveGetProblem(objective, &problem));
  PetscCall(ProblemGetType(problem, &problem_type));
  PetscCall(ProblemGetDimension(problem, &dim));
  PetscCall(ModelGetWidths(model, &n_layers, &widths));
  PetscCall(ModelGetActivation(model, &activation));
  PetscCall(ModelGetNumParameters(model, &n_params));
  PetscCall(OptimizerGetType(opt, &optimizer_type));
  *status  = LOAD_MISMATCH;
  same_net = (l->n_layers == n_layers && !strcmp(l->activation, ModelActivations[activation])) ? PETSC_TRUE : PETSC_FALSE;
  for (PetscInt k = 0; same_net && k <= n_layers; k++)
    if (l->widths[k] != widths[k]) same_net = PETSC_FALSE;
  if (strcmp(l->problem, problem_type)) {
    snprintf(reason, reason_size, "problem '%s' in the file, '%s' in this run (-problem)", l->problem, problem_type);
    PetscFunctionReturn(0);
  }
  if (l->dim != dim) {
    snprintf(reason, reason_size, "dimension %lld in the file, %lld in this run (-dim)", (long long)l->dim, (long long)dim);
    PetscFunctionReturn(0);
  }
  if (!same_net) {
    char file_net[256], run_net[256];
    NetworkText(l->n_layers, l->widths, l->activation, file_net, sizeof(file_net));
    NetworkText(n_layers, widths, ModelActivations[activation], run_net, sizeof(run_net));
    snprintf(reason, reason_size, "network %s in the file, %s in this run (-net_hidden, -net_activation)", file_net, run_net);
    PetscFunctionReturn(0);
  }
  if (l->n_params != n_params) {
    snprintf(reason, reason_size, "%lld parameters in the file, %lld in this run", (long long)l->n_params, (long long)n_params);
    PetscFunctionReturn(0);
  }
  if (strcmp(l->optimizer_type, optimizer_type)) {
    snprintf(reason, reason_size, "optimizer '%s' in the file, '%s' in this run (-optimizer)", l->optimizer_type, optimizer_type);
    PetscFunctionReturn(0);
  }
  PetscCall(VerifyTrajectory(objective, l, reason, reason_size));
  if (reason[0]) PetscFunctionReturn(0);
  /* The entries this optimizer's own state has must all be there, with the same lengths. */
  *status = LOAD_CORRUPT;
  PetscCall(OptimizerGetState(opt, &mine));
  for (PetscInt k = 0; k < mine.n; k++) {
    const PetscReal *values;
    PetscInt         length;
    PetscCall(OptimizerStateFind(&l->optimizer, mine.entry[k].name, &length, &values));
    if (!values || length != mine.entry[k].length) {
      snprintf(reason, reason_size, "/optimizer/%s is missing or has %lld values instead of %lld", mine.entry[k].name, (long long)length, (long long)mine.entry[k].length);
      PetscCall(OptimizerStateDestroy(&mine));
      PetscFunctionReturn(0);
    }
  }
  PetscCall(OptimizerStateDestroy(&mine));
  /* So must the History columns every checkpoint of this format has, if this run records them;
     a column added since (say a solver's diagnostics) is NaN in the rows before the restart, and
     a column of the file this run does not record is left out. */
  PetscCall(HistoryGetNumColumns(history, &n_columns));
  for (PetscInt k = 0; k < n_columns; k++) {
    static const char *const required[] = {"loss", "rel_l2", "rel_h1", "rms", "eta", "damping", "wall_s"};
    const char              *name;
    PetscInt                 column;
    PetscBool                needed = PETSC_FALSE;
    PetscCall(HistoryGetColumnName(history, k, &name));
    for (size_t r = 0; r < sizeof(required) / sizeof(required[0]); r++)
      if (!strcmp(name, required[r])) needed = PETSC_TRUE;
    PetscCall(HistoryFindColumn(l->history, name, &column));
    if (column < 0 && needed) {
      snprintf(reason, reason_size, "no /history/%s, a column this run records", name);
      PetscFunctionReturn(0);
    }
  }
  *status = LOAD_OK;
  PetscFunctionReturn(0);
}

/* Read, parse and verify one file (collective). */
static PetscErrorCode Load(Checkpoint c, const char *path, Objective objective, Optimizer opt, History history, CheckpointLoaded *l, CheckpointLoadStatus *status, char *reason, size_t reason_size)
{
  long long size;
  char     *image;

  PetscFunctionBegin;
  PetscCall(PetscMemzero(l, sizeof(*l)));
  reason[0] = '\0';
  PetscCall(ReadImage(c, path, &size, &image, reason, reason_size));
  if (size < 0) {
    *status = LOAD_CORRUPT;
    PetscFunctionReturn(0);
  }
  PetscCall(CheckpointFileParse(image, size, l, status, reason, reason_size));
  PetscCall(PetscFree(image));
  if (*status == LOAD_OK) PetscCall(Verify(objective, opt, history, l, status, reason, reason_size));
  PetscFunctionReturn(0);
}

/* The file's rows into the run's History, in each of the run's columns the file has (NaN in
   the others). */
static PetscErrorCode RestoreHistory(History from, History to)
{
  const PetscInt   *iterations;
  const PetscReal **values;
  PetscInt          n_rows, n_columns;

  PetscFunctionBegin;
  PetscCall(HistoryGetIterations(from, &n_rows, &iterations));
  PetscCall(HistoryGetNumColumns(to, &n_columns));
  PetscCall(PetscMalloc1(n_columns + 1, &values));
  for (PetscInt k = 0; k < n_columns; k++) {
    const char *name;
    PetscInt    column;
    PetscCall(HistoryGetColumnName(to, k, &name));
    PetscCall(HistoryFindColumn(from, name, &column));
    values[k] = NULL;
    if (column >= 0) PetscCall(HistoryGetColumn(from, name, &n_rows, &values[k]));
  }
  for (PetscInt i = 0; i < n_rows; i++) {
    PetscCall(HistoryBeginRow(to, iterations[i]));
    for (PetscInt k = 0; k < n_columns; k++)
      if (values[k]) PetscCall(HistorySetValue(to, k, values[k][i]));
  }
  PetscCall(PetscFree(values));
  PetscFunctionReturn(0);
}

PetscErrorCode CheckpointRestart(Checkpoint c, Objective objective, Optimizer opt, History history, CheckpointState *state, PetscBool *restarted, char path[], size_t path_size)
{
  CheckpointLoaded     l;
  CheckpointLoadStatus status = LOAD_CORRUPT;
  char                 reason[512];
  Model                model;
  PetscReal           *theta;

  PetscFunctionBegin;
  *restarted = PETSC_FALSE;
  path[0]    = '\0';
  if (!c->restart_set) PetscFunctionReturn(0);
  if (strcmp(c->restart, "latest")) {
    PetscCall(PetscStrncpy(path, c->restart, path_size));
    PetscCall(Load(c, path, objective, opt, history, &l, &status, reason, sizeof(reason)));
    PetscCheck(status != LOAD_CORRUPT, c->comm, PETSC_ERR_FILE_READ, "-restart: cannot use the checkpoint '%s': %s", path, reason);
    PetscCheck(status != LOAD_MISMATCH, c->comm, PETSC_ERR_FILE_UNEXPECTED, "-restart: the checkpoint '%s' does not fit this run: %s", path, reason);
  } else {
    PetscInt *its = NULL, n = 0, skipped = 0;
    if (c->rank == 0) PetscCall(CheckpointList(c->dir, &n, &its));
    PetscCallMPI(MPI_Bcast(&n, 1, MPIU_INT, 0, c->comm));
    if (c->rank != 0) PetscCall(PetscMalloc1(n + 1, &its));
    if (n) PetscCallMPI(MPI_Bcast(its, (PetscMPIInt)n, MPIU_INT, 0, c->comm));
    for (PetscInt k = 0; k < n; k++) {
      CheckpointFileName(c->dir, its[k], "", path, path_size);
      PetscCall(Load(c, path, objective, opt, history, &l, &status, reason, sizeof(reason)));
      if (status == LOAD_OK) break;
      if (status == LOAD_MISMATCH) break;
      PetscCall(PetscFPrintf(c->comm, PETSC_STDERR, "engd: warning: -restart latest: skipping the unreadable checkpoint '%s': %s\n", path, reason));
      PetscCall(CheckpointLoadedDestroy(&l));
      skipped++;
    }
    PetscCall(PetscFree(its));
    if (n == 0) {
      PetscCall(PetscPrintf(c->comm, "Restart: no checkpoint in '%s', starting from iteration 0\n", c->dir));
      PetscFunctionReturn(0);
    }
    PetscCheck(status != LOAD_MISMATCH, c->comm, PETSC_ERR_FILE_UNEXPECTED, "-restart latest: the checkpoint '%s' does not fit this run: %s", path, reason);
    PetscCheck(status == LOAD_OK, c->comm, PETSC_ERR_FILE_READ, "-restart latest: none of the %" PetscInt_FMT " checkpoints in '%s' is readable (see the warnings above)", skipped, c->dir);
  }

  PetscCall(PetscStrncpy(c->run_id, l.run_id, sizeof(c->run_id))); /* the same run, continued */
  PetscCall(ObjectiveGetModel(objective, &model));
  PetscCall(ModelGetParameters(model, &theta));
  PetscCall(PetscArraycpy(theta, l.theta, l.n_params));
  PetscCall(OptimizerSetState(opt, &l.optimizer));
  PetscCall(RestoreHistory(l.history, history));
  if (l.iteration > 0) PetscCall(ObjectiveResample(objective, l.iteration - 1)); /* the point set of the last iteration done */
  PetscCall(CheckpointStateCapture(state, objective, opt, l.iteration, l.failures, l.step_time, history));
  PetscCall(PetscPrintf(c->comm, "Restart: continuing from '%s' at iteration %" PetscInt_FMT " (written on %" PetscInt_FMT " rank%s)\n", path, l.iteration, l.ranks, l.ranks == 1 ? "" : "s"));
  PetscCall(CheckpointLoadedDestroy(&l));
  *restarted = PETSC_TRUE;
  PetscFunctionReturn(0);
}

