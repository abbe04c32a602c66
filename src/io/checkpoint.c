/* The Checkpoint object and its directory: options, this run's id and the ownership of files,
   the directory's lock, file names, listing, rotation, and CheckpointWrite (the file itself:
   checkpointfile.c; -restart: checkpointrestart.c). */
#include <engd/private/checkpointimpl.h>
#include <engd/private/atomicfile.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOCK_NAME ".engd-lock"

PetscErrorCode CheckpointCreate(MPI_Comm comm, Checkpoint *ck)
{
  Checkpoint c;

  PetscFunctionBegin;
  PetscCall(EngdOutputInitializePackage());
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

void CheckpointFileName(const char *dir, PetscInt iteration, const char *suffix, char *path, size_t size)
{
  if (snprintf(path, size, "%s/ckpt-%08lld.h5%s", dir, (long long)iteration, suffix) >= (int)size) path[size - 1] = '\0';
}

static int CompareDescending(const void *a, const void *b)
{
  const PetscInt x = *(const PetscInt *)a, y = *(const PetscInt *)b;
  return x < y ? 1 : (x > y ? -1 : 0);
}

PetscErrorCode CheckpointList(const char *dir, PetscInt *n, PetscInt **iterations)
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
    PetscCall(CheckpointList(c->dir, &n, &its));
    for (PetscInt k = 0; k < n; k++) {
      CheckpointFileName(c->dir, its[k], "", path, sizeof(path));
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
  PetscCall(CheckpointList(c->dir, &n, &its));
  for (PetscInt k = 0; k < n; k++) {
    CheckpointFileName(c->dir, its[k], "", path, sizeof(path));
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
  char reason[PETSC_MAX_PATH_LEN + 768] = "";

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(ENGD_Output, 0, 0, 0, 0));
  CheckpointFileName(c->dir, state->iteration, "", path, path_size);
  if (c->rank == 0) {
    char id[64];
    TakeDirectory(c, reason, sizeof(reason));
    if (!reason[0] && OwnerOf(c, path, id, sizeof(id)) == OWNER_OTHER_RUN) snprintf(reason, sizeof(reason), "the file exists and belongs to another run (run %s); it is left as it is", id[0] ? id : "without a run id");
    if (!reason[0]) PetscCall(CheckpointFileWrite(c, objective, opt, state, history, path, reason, sizeof(reason)));
    if (!reason[0]) PetscCall(Rotate(c, state->iteration));
  }
  PetscCallMPI(MPI_Bcast(reason, sizeof(reason), MPI_CHAR, 0, c->comm));
  PetscCheck(!reason[0], c->comm, PETSC_ERR_FILE_WRITE, "could not write the checkpoint '%s': %s (earlier checkpoints are kept)", path, reason);
  PetscCall(PetscLogEventEnd(ENGD_Output, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode CheckpointIsRequested(Checkpoint c, PetscBool *requested)
{
  PetscFunctionBegin;
  *requested = c->requested;
  PetscFunctionReturn(0);
}
