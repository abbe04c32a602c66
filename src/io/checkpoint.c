/* Checkpoint files: atomic writes by rank 0, rotation, and verified restarts (layout in
   include/engd/checkpoint.h). */
#include <engd/checkpoint.h>
#include <engd/private/h5io.h>
#include <engd/private/atomicfile.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHECKPOINT_FORMAT "engd-checkpoint"
#define LOCK_NAME         ".engd-lock"
#define RUN_ID_LENGTH     16 /* hex digits */

struct _p_Checkpoint {
  MPI_Comm    comm;
  PetscMPIInt rank, size;
  char        dir[PETSC_MAX_PATH_LEN];
  char        restart[PETSC_MAX_PATH_LEN];
  PetscInt    keep;
  PetscBool   restart_set, dir_set, requested, overwrite;
  char        run_id[RUN_ID_LENGTH + 1]; /* this run's identity; a restart takes the file's */
  char      (*adopted)[RUN_ID_LENGTH + 1]; /* other runs' ids, treated as ours (-checkpoint_overwrite) */
  PetscInt    n_adopted;
  int         lock_fd; /* rank 0: the directory's lock, once taken */
};

PetscErrorCode CheckpointStateCapture(CheckpointState *s, Model model, Optimizer opt, PetscInt iteration, PetscInt failures, PetscReal step_time, History history)
{
  PetscReal *theta;
  PetscInt   P;

  PetscFunctionBegin;
  PetscCall(ModelGetNumParameters(model, &P));
  PetscCall(ModelGetParameters(model, &theta));
  if (s->n_params != P || !s->theta) {
    PetscCall(PetscFree(s->theta));
    PetscCall(PetscMalloc1(PetscMax(P, 1), &s->theta));
    s->n_params = P;
  }
  PetscCall(PetscArraycpy(s->theta, theta, P));
  PetscCall(OptimizerGetState(opt, &s->optimizer));
  PetscCall(HistoryGetNumRows(history, &s->n_history));
  s->iteration = iteration;
  s->failures  = failures;
  s->step_time = step_time;
  PetscFunctionReturn(0);
}

PetscErrorCode CheckpointStateDestroy(CheckpointState *s)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(s->theta));
  PetscCall(OptimizerStateDestroy(&s->optimizer));
  PetscCall(PetscMemzero(s, sizeof(*s)));
  PetscFunctionReturn(0);
}

PetscErrorCode CheckpointCreate(MPI_Comm comm, Checkpoint *ck)
{
  Checkpoint c;

  PetscFunctionBegin;
  PetscCall(PetscNew(&c));
  c->comm = comm;
  c->keep    = 2;
  c->lock_fd = -1;
  PetscCall(PetscStrncpy(c->dir, "checkpoints", sizeof(c->dir)));
  PetscCallMPI(MPI_Comm_rank(comm, &c->rank));
  PetscCallMPI(MPI_Comm_size(comm, &c->size));
  *ck = c;
  PetscFunctionReturn(0);
}

PetscErrorCode CheckpointSetFromOptions(Checkpoint c)
{
  PetscBool dir_set;

  PetscFunctionBegin;
  c->overwrite = PETSC_FALSE;
  PetscOptionsBegin(c->comm, NULL, "Checkpoint files and restart", "Checkpoint");
  PetscCall(EngdOptionsString("-checkpoint_dir", "Directory of the checkpoint files ckpt-<iteration>.h5 (created when first needed)", "CheckpointWrite", c->dir, c->dir, sizeof(c->dir), &dir_set));
  PetscCall(EngdOptionsInt("-checkpoint_keep", "Keep this many newest checkpoints", "CheckpointWrite", c->keep, &c->keep, NULL));
  PetscCall(EngdOptionsString("-restart", "Continue from this checkpoint file, or (latest) from the newest readable one in -checkpoint_dir", "CheckpointRestart", c->restart, c->restart, sizeof(c->restart), &c->restart_set));
  PetscCall(EngdOptionsBool("-checkpoint_overwrite", "Let a fresh run take over a -checkpoint_dir that holds another run's checkpoints (they are then replaced and rotated as this run's)", "CheckpointClaimDirectory", c->overwrite, &c->overwrite, NULL));
  PetscOptionsEnd();
  c->dir_set = dir_set;
  PetscCheck(!dir_set || c->dir[0], c->comm, PETSC_ERR_ARG_WRONG, "-checkpoint_dir needs a directory name");
  PetscCheck(strlen(c->dir) + 40 < sizeof(c->dir), c->comm, PETSC_ERR_ARG_OUTOFRANGE, "-checkpoint_dir: the path is too long");
  PetscCheck(c->keep >= 1, c->comm, PETSC_ERR_ARG_OUTOFRANGE, "-checkpoint_keep must be at least 1, got %" PetscInt_FMT, c->keep);
  PetscCheck(!c->restart_set || c->restart[0], c->comm, PETSC_ERR_ARG_WRONG, "-restart needs a checkpoint file or 'latest'");
  PetscFunctionReturn(0);
}

PetscErrorCode CheckpointGetDirectory(Checkpoint c, const char **dir)
{
  PetscFunctionBegin;
  *dir = c->dir;
  PetscFunctionReturn(0);
}

PetscErrorCode CheckpointDestroy(Checkpoint *ck)
{
  PetscFunctionBegin;
  if (!*ck) PetscFunctionReturn(0);
  if ((*ck)->lock_fd >= 0) EngdLockRelease((*ck)->lock_fd);
  PetscCall(PetscFree((*ck)->adopted));
  PetscCall(PetscFree(*ck));
  PetscFunctionReturn(0);
}

/* "ckpt-<digits>.h5": a checkpoint's name (temporaries end in .tmp and never match). */
static PetscBool ParseName(const char *name, PetscInt *iteration)
{
  const char *c = name + 5;
  long long   value = 0;
  int         digits = 0;

  if (strncmp(name, "ckpt-", 5)) return PETSC_FALSE;
  for (; *c >= '0' && *c <= '9' && digits < 18; c++, digits++) value = 10 * value + (*c - '0');
  if (digits < 8 || strcmp(c, ".h5") || value > PETSC_MAX_INT) return PETSC_FALSE;
  *iteration = (PetscInt)value;
  return PETSC_TRUE;
}

/* <dir>/ckpt-<iteration>.h5<suffix>; the directory's length is checked by SetFromOptions. */
static void FileName(const char *dir, PetscInt iteration, const char *suffix, char *path, size_t size)
{
  if (snprintf(path, size, "%s/ckpt-%08lld.h5%s", dir, (long long)iteration, suffix) >= (int)size) path[size - 1] = '\0';
}

static int CompareDescending(const void *a, const void *b)
{
  const PetscInt x = *(const PetscInt *)a, y = *(const PetscInt *)b;
  return x < y ? 1 : (x > y ? -1 : 0);
}

/* Iterations of the checkpoint files in dir, newest first (rank 0; none if dir is missing). */
static PetscErrorCode ListCheckpoints(const char *dir, PetscInt *n, PetscInt **iterations)
{
  DIR           *d;
  struct dirent *entry;
  PetscInt       capacity = 16, iteration;

  PetscFunctionBegin;
  *n = 0;
  PetscCall(PetscMalloc1(capacity, iterations));
  if (!(d = opendir(dir))) PetscFunctionReturn(0);
  while ((entry = readdir(d))) {
    if (!ParseName(entry->d_name, &iteration)) continue;
    if (*n == capacity) {
      PetscInt *bigger;
      PetscCall(PetscMalloc1(2 * capacity, &bigger));
      PetscCall(PetscArraycpy(bigger, *iterations, *n));
      PetscCall(PetscFree(*iterations));
      *iterations = bigger;
      capacity *= 2;
    }
    (*iterations)[(*n)++] = iteration;
  }
  closedir(d);
  qsort(*iterations, (size_t)*n, sizeof(PetscInt), CompareDescending);
  PetscFunctionReturn(0);
}

/* mkdir -p; returns 0 or an errno value. */
static int MakeDirectories(const char *dir)
{
  char        path[PETSC_MAX_PATH_LEN];
  struct stat st;
  size_t      n = strlen(dir);

  if (n == 0 || n >= sizeof(path)) return ENAMETOOLONG;
  strcpy(path, dir);
  for (size_t i = 1; i <= n; i++) {
    if (path[i] != '/' && path[i] != '\0') continue;
    const char saved = path[i];
    path[i]          = '\0';
    if (mkdir(path, 0777) != 0 && errno != EEXIST) return errno;
    if (stat(path, &st) != 0) return errno;
    if (!S_ISDIR(st.st_mode)) return ENOTDIR;
    path[i] = saved;
  }
  return 0;
}

/* Whether dir can take checkpoints, without creating it: a writable directory, or a missing
   one under a writable directory. Tested by making (and removing) a temporary entry. */
static void CheckDirectory(const char *dir, char *reason, size_t size)
{
  char        probe[PETSC_MAX_PATH_LEN], ancestor[PETSC_MAX_PATH_LEN];
  struct stat st;
  PetscBool   exists;

  reason[0] = '\0';
  if (strlen(dir) + 32 >= sizeof(ancestor)) {
    snprintf(reason, size, "the path is too long");
    return;
  }
  strcpy(ancestor, dir);
  exists = stat(dir, &st) == 0 ? PETSC_TRUE : PETSC_FALSE;
  if (exists && !S_ISDIR(st.st_mode)) {
    snprintf(reason, size, "it is not a directory");
    return;
  }
  while (!exists) { /* the nearest existing ancestor must be a writable directory */
    char *slash = strrchr(ancestor, '/');
    if (!slash) strcpy(ancestor, ".");
    else if (slash == ancestor) ancestor[1] = '\0';
    else *slash = '\0';
    if (stat(ancestor, &st) == 0) {
      if (!S_ISDIR(st.st_mode)) {
        snprintf(reason, size, "'%s' is not a directory", ancestor);
        return;
      }
      break;
    }
    if (errno != ENOENT) {
      snprintf(reason, size, "%s", strerror(errno));
      return;
    }
  }
  snprintf(probe, sizeof(probe), "%s/.engd-write-test-XXXXXX", ancestor);
  if (exists) {
    int fd = mkstemp(probe);
    if (fd < 0) {
      snprintf(reason, size, "%s", strerror(errno));
      return;
    }
    close(fd);
    unlink(probe);
  } else {
    if (!mkdtemp(probe)) {
      snprintf(reason, size, "cannot create it in '%s': %s", ancestor, strerror(errno));
      return;
    }
    rmdir(probe);
  }
}

/* Rank 0: create the directory and take its lock; reason says why not. */
static void TakeDirectory(Checkpoint c, char *reason, size_t size)
{
  char lock[PETSC_MAX_PATH_LEN + 16], holder[512], host[400];
  int  err;

  reason[0] = '\0';
  if (c->lock_fd >= 0) return;
  if ((err = MakeDirectories(c->dir))) {
    snprintf(reason, size, "cannot create the directory: %s", strerror(err));
    return;
  }
  EngdHolderText(host, sizeof(host));
  snprintf(holder, sizeof(holder), "%s run %s", host, c->run_id);
  snprintf(lock, sizeof(lock), "%s/%s", c->dir, LOCK_NAME);
  c->lock_fd = EngdLockAcquire(lock, holder, 0, reason, size);
}

/* Collective: the directory exists and this process holds its lock. */
static PetscErrorCode LockDirectory(Checkpoint c)
{
  char reason[PETSC_MAX_PATH_LEN + 768] = "";

  PetscFunctionBegin;
  if (c->rank == 0) TakeDirectory(c, reason, sizeof(reason));
  PetscCallMPI(MPI_Bcast(reason, sizeof(reason), MPI_CHAR, 0, c->comm));
  PetscCheck(!reason[0], c->comm, PETSC_ERR_FILE_OPEN, "-checkpoint_dir '%s': %s", c->dir, reason);
  PetscFunctionReturn(0);
}

PetscErrorCode CheckpointSetUp(Checkpoint c, PetscBool requested)
{
  char reason[PETSC_MAX_PATH_LEN + 128] = "";

  PetscFunctionBegin;
  c->requested = requested || c->dir_set || c->restart_set;
  if (c->rank == 0) {
    unsigned char bytes[RUN_ID_LENGTH / 2];
    CheckDirectory(c->dir, reason, sizeof(reason));
    if (getrandom(bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes)) { /* no entropy: time and pid */
      const unsigned long long t = (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 32);
      PetscCall(PetscMemcpy(bytes, &t, sizeof(bytes)));
    }
    for (size_t k = 0; k < sizeof(bytes); k++) snprintf(c->run_id + 2 * k, 3, "%02x", bytes[k]);
  }
  PetscCallMPI(MPI_Bcast(reason, sizeof(reason), MPI_CHAR, 0, c->comm));
  PetscCheck(!reason[0], c->comm, PETSC_ERR_FILE_OPEN, "-checkpoint_dir: cannot write checkpoints to '%s': %s", c->dir, reason);
  PetscCallMPI(MPI_Bcast(c->run_id, sizeof(c->run_id), MPI_CHAR, 0, c->comm));
  if (c->requested) { /* an existing directory is locked now, a new one once the restart is read */
    PetscMPIInt exists = 0;
    struct stat st;
    if (c->rank == 0) exists = stat(c->dir, &st) == 0 && S_ISDIR(st.st_mode);
    PetscCallMPI(MPI_Bcast(&exists, 1, MPI_INT, 0, c->comm));
    if (exists) PetscCall(LockDirectory(c));
  }
  PetscFunctionReturn(0);
}

typedef enum { OWNER_NONE, OWNER_THIS_RUN, OWNER_OTHER_RUN, OWNER_UNREADABLE } Owner;

/* Whose checkpoint is the file at path (rank 0)? A file that HDF5 cannot open belongs to no
   run (OWNER_UNREADABLE); one without a run id (written by another program or an older engd)
   to another run. id receives the file's run id ("" if none). Never blocks: only regular
   files are opened. */
static Owner OwnerOf(Checkpoint c, const char *path, char *id, size_t id_size)
{
  struct stat st;
  hid_t       file;
  Owner       owner;

  id[0] = '\0';
  if (lstat(path, &st) != 0) return OWNER_NONE;
  if (!S_ISREG(st.st_mode)) return OWNER_OTHER_RUN;
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  if ((file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) return OWNER_UNREADABLE;
  if (EngdH5ReadAttrString(file, "run_id", id, id_size) < 0) id[0] = '\0';
  H5Fclose(file);
  owner = (id[0] && !strcmp(id, c->run_id)) ? OWNER_THIS_RUN : OWNER_OTHER_RUN;
  for (PetscInt k = 0; owner == OWNER_OTHER_RUN && id[0] && k < c->n_adopted; k++)
    if (!strcmp(id, c->adopted[k])) owner = OWNER_THIS_RUN;
  return owner;
}

PetscErrorCode CheckpointClaimDirectory(Checkpoint c)
{
  char reason[2 * PETSC_MAX_PATH_LEN + 512] = "";

  PetscFunctionBegin;
  if (!c->requested) PetscFunctionReturn(0); /* a signal's checkpoint never replaces another run's file */
  PetscCall(LockDirectory(c));
  if (c->rank == 0) {
    PetscInt *its, n, n_other = 0, first = 0, last = 0;
    char      path[PETSC_MAX_PATH_LEN], id[64], other[64] = "";
    PetscCall(ListCheckpoints(c->dir, &n, &its));
    for (PetscInt k = 0; k < n; k++) {
      FileName(c->dir, its[k], "", path, sizeof(path));
      if (OwnerOf(c, path, id, sizeof(id)) != OWNER_OTHER_RUN) continue;
      if (!n_other++) last = its[k];
      first = its[k];
      if (!other[0]) PetscCall(PetscStrncpy(other, id[0] ? id : "without a run id", sizeof(other)));
      if (c->overwrite && id[0]) { /* adopt: its files are rotated as ours from now on */
        PetscBool known = PETSC_FALSE;
        for (PetscInt a = 0; a < c->n_adopted; a++)
          if (!strcmp(c->adopted[a], id)) known = PETSC_TRUE;
        if (!known) {
          char(*bigger)[RUN_ID_LENGTH + 1];
          PetscCall(PetscMalloc1(c->n_adopted + 1, &bigger));
          if (c->n_adopted) PetscCall(PetscArraycpy(bigger, c->adopted, c->n_adopted));
          PetscCall(PetscStrncpy(bigger[c->n_adopted++], id, RUN_ID_LENGTH + 1));
          PetscCall(PetscFree(c->adopted));
          c->adopted = bigger;
        }
      }
    }
    PetscCall(PetscFree(its));
    if (n_other && !c->overwrite)
      snprintf(reason, sizeof(reason), "-checkpoint_dir '%s' holds %lld checkpoint%s of another run (run %s, iterations %lld to %lld); continue that run with -restart latest, choose another -checkpoint_dir, or pass -checkpoint_overwrite to let this run replace them", c->dir, (long long)n_other, n_other > 1 ? "s" : "", other, (long long)first, (long long)last);
  }
  PetscCallMPI(MPI_Bcast(reason, sizeof(reason), MPI_CHAR, 0, c->comm));
  PetscCheck(!reason[0], c->comm, PETSC_ERR_FILE_OPEN, "%s", reason);
  PetscFunctionReturn(0);
}

typedef struct {
  const CheckpointState *state;
  History                history;
  PetscInt               n_layers, seed, dim, resample_every, epoch, ranks;
  const PetscInt        *widths;
  const char            *activation, *problem, *description, *optimizer, *sampler, *options, *run_id;
} Content;

static int BuildFile(hid_t file, const void *ctx)
{
  const Content         *c = (const Content *)ctx;
  const CheckpointState *s = c->state;

  ENGD_H5(EngdH5WriteAttrString(file, "format", CHECKPOINT_FORMAT));
  ENGD_H5(EngdH5WriteAttrInt(file, "format_version", CHECKPOINT_FORMAT_VERSION));
  ENGD_H5(EngdH5WriteAttrString(file, "run_id", c->run_id));
  ENGD_H5(EngdH5WriteAttrInt(file, "iteration", s->iteration));
  ENGD_H5(EngdH5WriteAttrInt(file, "failures", s->failures));
  ENGD_H5(EngdH5WriteAttrDouble(file, "step_time", s->step_time));
  ENGD_H5(EngdH5WriteAttrInt(file, "ranks", c->ranks));
  ENGD_H5(EngdH5WriteModel(file, s->n_params, s->theta, c->n_layers, c->widths, c->activation, c->seed));
  ENGD_H5(EngdH5WriteProblem(file, c->problem, c->dim, c->description));
  ENGD_H5(EngdH5WriteOptimizer(file, c->optimizer, &s->optimizer));
  ENGD_H5(EngdH5WriteSampler(file, c->sampler, c->seed, c->resample_every, c->epoch));
  ENGD_H5(EngdH5WriteHistory(file, c->history, s->n_history));
  ENGD_H5(EngdH5WriteOptions(file, c->options));
  return 0;
fail:
  return -1;
}

/* Rank 0, after ckpt-<iteration>.h5 is in place: remove this run's files of later iterations
   (superseded: left before a restart from an earlier checkpoint), all but its newest `keep`,
   and its stale temporaries. Files of other runs and unreadable files are left alone. */
static PetscErrorCode Rotate(Checkpoint c, PetscInt iteration)
{
  PetscInt      *its, n, kept = 0;
  char           path[PETSC_MAX_PATH_LEN], id[64], mine[RUN_ID_LENGTH + 8];
  DIR           *d;
  struct dirent *entry;

  PetscFunctionBegin;
  PetscCall(ListCheckpoints(c->dir, &n, &its));
  for (PetscInt k = 0; k < n; k++) {
    FileName(c->dir, its[k], "", path, sizeof(path));
    if (OwnerOf(c, path, id, sizeof(id)) != OWNER_THIS_RUN) continue;
    if (its[k] <= iteration && kept < c->keep) {
      kept++;
      continue;
    }
    (void)unlink(path);
  }
  PetscCall(PetscFree(its));
  snprintf(mine, sizeof(mine), ".%s-", c->run_id); /* ckpt-<it>.h5.<run id>-XXXXXX.tmp */
  if ((d = opendir(c->dir))) {
    while ((entry = readdir(d))) {
      const size_t len = strlen(entry->d_name);
      if (strncmp(entry->d_name, "ckpt-", 5) || len < 4 || strcmp(entry->d_name + len - 4, ".tmp") || !strstr(entry->d_name, mine)) continue;
      if (snprintf(path, sizeof(path), "%s/%s", c->dir, entry->d_name) < (int)sizeof(path)) (void)unlink(path);
    }
    closedir(d);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode CheckpointWrite(Checkpoint c, Objective objective, Optimizer opt, const CheckpointState *state, History history, char path[], size_t path_size)
{
  char  reason[PETSC_MAX_PATH_LEN + 768] = "";
  char *description;

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(ENGD_Output, 0, 0, 0, 0));
  FileName(c->dir, state->iteration, "", path, path_size);
  if (c->rank == 0) {
    char            tag[RUN_ID_LENGTH + 2], id[64];
    Content         content;
    Model           model;
    Problem         problem;
    SamplerType     sampler;
    ModelActivation activation;

    PetscCall(ObjectiveGetModel(objective, &model));
    PetscCall(ObjectiveGetProblem(objective, &problem));
    PetscCall(ModelGetWidths(model, &content.n_layers, &content.widths));
    PetscCall(ModelGetActivation(model, &activation));
    PetscCall(ModelGetSeed(model, &content.seed));
    PetscCall(ProblemGetType(problem, &content.problem));
    PetscCall(ProblemGetDimension(problem, &content.dim));
    PetscCall(EngdProblemDescription(problem, &description));
    PetscCall(OptimizerGetType(opt, &content.optimizer));
    PetscCall(ObjectiveGetSampling(objective, &sampler, &content.resample_every, NULL));
    content.epoch       = (content.resample_every > 0 && state->iteration > 0) ? (state->iteration - 1) / content.resample_every : 0;
    content.activation  = ModelActivations[activation];
    content.sampler     = SamplerTypes[sampler];
    content.description = description;
    content.state       = state;
    content.history     = history;
    content.ranks       = c->size;
    content.run_id      = c->run_id;
    PetscCall(EngdOptionsText((char **)&content.options));
    snprintf(tag, sizeof(tag), ".%s", c->run_id);
    TakeDirectory(c, reason, sizeof(reason));
    if (!reason[0] && OwnerOf(c, path, id, sizeof(id)) == OWNER_OTHER_RUN) snprintf(reason, sizeof(reason), "the file exists and belongs to another run (run %s); it is left as it is", id[0] ? id : "without a run id");
    if (!reason[0] && EngdH5WriteAtomic(path, tag, 1, BuildFile, &content, reason, sizeof(reason)) == 0) PetscCall(Rotate(c, state->iteration));
    PetscCall(PetscFree(content.options));
    PetscCall(PetscFree(description));
  }
  PetscCallMPI(MPI_Bcast(reason, sizeof(reason), MPI_CHAR, 0, c->comm));
  PetscCheck(!reason[0], c->comm, PETSC_ERR_FILE_WRITE, "could not write the checkpoint '%s': %s (earlier checkpoints are kept)", path, reason);
  PetscCall(PetscLogEventEnd(ENGD_Output, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

/* What a checkpoint file holds, parsed. */
typedef struct {
  PetscInt       version, iteration, failures, n_layers, n_params, dim, ranks;
  PetscReal      step_time;
  PetscInt      *widths;
  PetscReal     *theta;
  OptimizerState optimizer;
  History        history; /* a column per dataset of /history */
  char           activation[32], problem[64], optimizer_type[64], sampler[32], run_id[64];
  PetscInt       seed, resample_every;
  char           description[4096];
} Loaded;

typedef enum { LOAD_OK, LOAD_CORRUPT, LOAD_MISMATCH } LoadStatus;

static PetscErrorCode LoadedDestroy(Loaded *l)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(l->widths));
  PetscCall(PetscFree(l->theta));
  PetscCall(OptimizerStateDestroy(&l->optimizer));
  PetscCall(HistoryDestroy(&l->history));
  PetscCall(PetscMemzero(l, sizeof(*l)));
  PetscFunctionReturn(0);
}

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

/* A group reader's verdict: on to `done:` when it refused the group. */
#define READ_GROUP(call) \
  do { \
    PetscCall(call); \
    if (reason[0]) goto done; \
  } while (0)

/* Parse the image (every rank, identically). */
static PetscErrorCode Parse(char *image, long long size, Loaded *l, LoadStatus *status, char *reason, size_t reason_size)
{
  hid_t fapl = -1, file = -1;
  char  format[64];

  PetscFunctionBegin;
  *status   = LOAD_OK;
  reason[0] = '\0';
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  if (size == 0) ENGD_H5_REFUSE("the file is empty");
  if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 || H5Pset_fapl_core(fapl, 1 << 20, 0) < 0 || H5Pset_file_image(fapl, image, (size_t)size) < 0) ENGD_H5_REFUSE("HDF5 cannot take the file image");
  if ((file = H5Fopen("checkpoint", H5F_ACC_RDONLY, fapl)) < 0) ENGD_H5_REFUSE("not an HDF5 file, or truncated");
  if (EngdH5ReadAttrString(file, "format", format, sizeof(format)) < 0) {
    *status = LOAD_MISMATCH;
    ENGD_H5_REFUSE("an HDF5 file without the 'format' attribute of an engd checkpoint");
  }
  if (strcmp(format, CHECKPOINT_FORMAT)) {
    *status = LOAD_MISMATCH;
    ENGD_H5_REFUSE("not an engd checkpoint (format '%s')", format);
  }
  if (EngdH5ReadAttrInt(file, "format_version", &l->version) < 0) ENGD_H5_REFUSE("no format_version attribute");
  if (l->version != CHECKPOINT_FORMAT_VERSION) {
    *status = LOAD_MISMATCH;
    ENGD_H5_REFUSE("format version %" PetscInt_FMT ", this engd reads version %d", l->version, CHECKPOINT_FORMAT_VERSION);
  }
  if (EngdH5ReadAttrString(file, "run_id", l->run_id, sizeof(l->run_id)) < 0 || strlen(l->run_id) != RUN_ID_LENGTH) ENGD_H5_REFUSE("no valid run_id attribute");
  if (EngdH5ReadAttrInt(file, "iteration", &l->iteration) < 0 || l->iteration < 0) ENGD_H5_REFUSE("no valid iteration attribute (missing, negative or beyond %d)", PETSC_MAX_INT);
  if (EngdH5ReadAttrInt(file, "failures", &l->failures) < 0 || l->failures < 0) ENGD_H5_REFUSE("no valid failures attribute");
  if (EngdH5ReadAttrDouble(file, "step_time", &l->step_time) < 0 || !(l->step_time >= 0) || PetscIsInfReal(l->step_time)) ENGD_H5_REFUSE("no valid step_time attribute (finite, non-negative)");
  if (EngdH5ReadAttrInt(file, "ranks", &l->ranks) < 0) l->ranks = 0;

  READ_GROUP(EngdH5ReadProblem(file, l->problem, sizeof(l->problem), &l->dim, l->description, sizeof(l->description), reason, reason_size));
  READ_GROUP(EngdH5ReadSampler(file, l->sampler, sizeof(l->sampler), &l->seed, &l->resample_every, reason, reason_size));
  READ_GROUP(EngdH5ReadModel(file, &l->n_params, &l->theta, &l->n_layers, &l->widths, l->activation, sizeof(l->activation), reason, reason_size));
  READ_GROUP(EngdH5ReadOptimizer(file, l->optimizer_type, sizeof(l->optimizer_type), &l->optimizer, reason, reason_size));
  READ_GROUP(EngdH5ReadHistory(file, l->iteration, &l->history, reason, reason_size));

done:
  if (reason[0] && *status == LOAD_OK) *status = LOAD_CORRUPT;
  if (file >= 0) H5Fclose(file);
  if (fapl >= 0) H5Pclose(fapl);
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
static PetscErrorCode VerifyTrajectory(Objective objective, const Loaded *l, char *reason, size_t reason_size)
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
static PetscErrorCode Verify(Objective objective, Optimizer opt, History history, Loaded *l, LoadStatus *status, char *reason, size_t reason_size)
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
  /* So must every History column this run records (a column of the file it does not record is
     left out). */
  PetscCall(HistoryGetNumColumns(history, &n_columns));
  for (PetscInt k = 0; k < n_columns; k++) {
    const char *name;
    PetscInt    column;
    PetscCall(HistoryGetColumnName(history, k, &name));
    PetscCall(HistoryFindColumn(l->history, name, &column));
    if (column < 0) {
      snprintf(reason, reason_size, "no /history/%s, a column this run records", name);
      PetscFunctionReturn(0);
    }
  }
  *status = LOAD_OK;
  PetscFunctionReturn(0);
}

/* Read, parse and verify one file (collective). */
static PetscErrorCode Load(Checkpoint c, const char *path, Objective objective, Optimizer opt, History history, Loaded *l, LoadStatus *status, char *reason, size_t reason_size)
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
  PetscCall(Parse(image, size, l, status, reason, reason_size));
  PetscCall(PetscFree(image));
  if (*status == LOAD_OK) PetscCall(Verify(objective, opt, history, l, status, reason, reason_size));
  PetscFunctionReturn(0);
}

/* The file's rows into the run's History, in each of the run's columns (Verify found them). */
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
    PetscCall(HistoryGetColumnName(to, k, &name));
    PetscCall(HistoryGetColumn(from, name, &n_rows, &values[k]));
  }
  for (PetscInt i = 0; i < n_rows; i++) {
    PetscCall(HistoryBeginRow(to, iterations[i]));
    for (PetscInt k = 0; k < n_columns; k++) PetscCall(HistorySetValue(to, k, values[k][i]));
  }
  PetscCall(PetscFree(values));
  PetscFunctionReturn(0);
}

PetscErrorCode CheckpointRestart(Checkpoint c, Objective objective, Optimizer opt, History history, CheckpointState *state, PetscBool *restarted, char path[], size_t path_size)
{
  Loaded     l;
  LoadStatus status = LOAD_CORRUPT;
  char       reason[512];
  Model      model;
  PetscReal *theta;

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
    if (c->rank == 0) PetscCall(ListCheckpoints(c->dir, &n, &its));
    PetscCallMPI(MPI_Bcast(&n, 1, MPIU_INT, 0, c->comm));
    if (c->rank != 0) PetscCall(PetscMalloc1(n + 1, &its));
    if (n) PetscCallMPI(MPI_Bcast(its, (PetscMPIInt)n, MPIU_INT, 0, c->comm));
    for (PetscInt k = 0; k < n; k++) {
      FileName(c->dir, its[k], "", path, path_size);
      PetscCall(Load(c, path, objective, opt, history, &l, &status, reason, sizeof(reason)));
      if (status == LOAD_OK) break;
      if (status == LOAD_MISMATCH) break;
      PetscCall(PetscFPrintf(c->comm, PETSC_STDERR, "engd: warning: -restart latest: skipping the unreadable checkpoint '%s': %s\n", path, reason));
      PetscCall(LoadedDestroy(&l));
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
  PetscCall(CheckpointStateCapture(state, model, opt, l.iteration, l.failures, l.step_time, history));
  PetscCall(PetscPrintf(c->comm, "Restart: continuing from '%s' at iteration %" PetscInt_FMT " (written on %" PetscInt_FMT " rank%s)\n", path, l.iteration, l.ranks, l.ranks == 1 ? "" : "s"));
  PetscCall(LoadedDestroy(&l));
  *restarted = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode CheckpointIsRequested(Checkpoint c, PetscBool *requested)
{
  PetscFunctionBegin;
  *requested = c->requested;
  PetscFunctionReturn(0);
}
