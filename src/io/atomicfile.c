/* Files written whole or not at all, and the locks of their writers (atomicfile.h). */
#define _GNU_SOURCE /* mkostemps */
#include <engd/private/atomicfile.h>
#include <petscsys.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int building_checksummed = 0;

int EngdH5Checksummed(void) { return building_checksummed; }

static const char *KindOf(mode_t mode)
{
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a regular file";
}

/* The directory part of path ("." when there is none). */
static void DirectoryOf(const char *path, char *dir, size_t size)
{
  const char *slash = strrchr(path, '/');
  if (!slash) snprintf(dir, size, ".");
  else if (slash == path) snprintf(dir, size, "/");
  else snprintf(dir, size, "%.*s", (int)(slash - path), path);
}

int EngdCheckTarget(const char *path, char *reason, size_t reason_size)
{
  struct stat st;
  char        dir[4096];

  if (!path[0]) return snprintf(reason, reason_size, "no file name"), -1;
  if (lstat(path, &st) == 0) {
    if (S_ISLNK(st.st_mode)) {
      char target[4096];
      ssize_t n = readlink(path, target, sizeof(target) - 1);
      target[n > 0 ? n : 0] = '\0';
      snprintf(reason, reason_size, "it is a symbolic link (to '%s'); engd replaces its files whole and does not replace links: name the target itself", target);
      return -1;
    }
    if (!S_ISREG(st.st_mode)) return snprintf(reason, reason_size, "it is %s, not a regular file", KindOf(st.st_mode)), -1;
  } else if (errno != ENOENT) return snprintf(reason, reason_size, "%s", strerror(errno)), -1;
  DirectoryOf(path, dir, sizeof(dir));
  if (stat(dir, &st) != 0) return snprintf(reason, reason_size, "directory '%s': %s", dir, strerror(errno)), -1;
  if (!S_ISDIR(st.st_mode)) return snprintf(reason, reason_size, "'%s' is not a directory", dir), -1;
  if (access(dir, W_OK | X_OK) != 0) return snprintf(reason, reason_size, "directory '%s': %s", dir, strerror(errno)), -1;
  return 0;
}

/* The file's bytes from HDF5's core driver (malloc'ed), or NULL. */
static void *BuildImage(int checksums, EngdH5Builder build, const void *ctx, size_t *size)
{
  hid_t   fapl = -1, file = -1;
  ssize_t n;
  void   *image = NULL;

  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  building_checksummed = checksums;
  if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 || H5Pset_fapl_core(fapl, 1 << 16, 0) < 0) goto done;
  if ((file = H5Fcreate("engd-image", H5F_ACC_TRUNC, H5P_DEFAULT, fapl)) < 0) goto done;
  if (build(file, ctx) < 0 || H5Fflush(file, H5F_SCOPE_GLOBAL) < 0) goto done;
  if ((n = H5Fget_file_image(file, NULL, 0)) <= 0 || !(image = malloc((size_t)n))) goto done;
  if (H5Fget_file_image(file, image, (size_t)n) != n) {
    free(image);
    image = NULL;
    goto done;
  }
  *size = (size_t)n;
done:
  building_checksummed = 0;
  if (file >= 0) H5Fclose(file); /* in memory: nothing left that can fail */
  if (fapl >= 0) H5Pclose(fapl);
  return image;
}

static int WriteAll(int fd, const char *data, size_t size)
{
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) return errno = ENOSPC, -1;
    data += n;
    size -= (size_t)n;
  }
  return 0;
}

int EngdH5WriteAtomic(const char *path, const char *tag, int checksums, EngdH5Builder build, const void *ctx, char *reason, size_t reason_size)
{
  char   tmp[4096], dir[4096];
  size_t size  = 0;
  void  *image = BuildImage(checksums, build, ctx, &size);
  int    fd, dfd;
  mode_t mask;

  if (!image) return snprintf(reason, reason_size, "HDF5 could not build the file in memory (out of memory?)"), -1;
  if (snprintf(tmp, sizeof(tmp), "%s%s-XXXXXX.tmp", path, tag) >= (int)sizeof(tmp)) {
    free(image);
    return snprintf(reason, reason_size, "the path is too long"), -1;
  }
  if ((fd = mkostemps(tmp, 4, O_CLOEXEC)) < 0) {
    snprintf(reason, reason_size, "cannot create a temporary file next to it: %s", strerror(errno));
    free(image);
    return -1;
  }
  mask = umask(0);
  umask(mask);
  if (fchmod(fd, 0666 & ~mask) != 0 || WriteAll(fd, (const char *)image, size) != 0) snprintf(reason, reason_size, "writing %zu bytes to '%s': %s", size, tmp, strerror(errno));
  else if (fsync(fd) != 0) snprintf(reason, reason_size, "fsync of '%s': %s", tmp, strerror(errno));
  else reason[0] = '\0';
  free(image);
  if (close(fd) != 0 && !reason[0]) snprintf(reason, reason_size, "closing '%s': %s", tmp, strerror(errno));
  if (!reason[0]) { /* the target may have changed since start-up */
    char why[512];
    if (EngdCheckTarget(path, why, sizeof(why)) != 0) snprintf(reason, reason_size, "%s", why);
    else if (rename(tmp, path) != 0) snprintf(reason, reason_size, "rename of '%s': %s", tmp, strerror(errno));
  }
  if (reason[0]) {
    unlink(tmp);
    return -1;
  }
  DirectoryOf(path, dir, sizeof(dir));
  if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) { /* make the rename durable */
    (void)fsync(dfd); /* some file systems cannot sync directories; the data are synced */
    close(dfd);
  }
  return 0;
}

void EngdHolderText(char *text, size_t size)
{
  char host[256] = "?";
  gethostname(host, sizeof(host) - 1);
  host[sizeof(host) - 1] = '\0';
  snprintf(text, size, "host %s pid %ld", host, (long)getpid());
}

/* The locks this process holds, so that every exit path can release them. */
#define MAX_LOCKS 8
static struct {
  int  fd;
  char unlink_path[4096];
} held[MAX_LOCKS];
static int n_held = 0;

int EngdLockAcquire(const char *lock_path, const char *holder, int remove_at_release, char *reason, size_t reason_size)
{
  struct stat st;
  mode_t      mask = umask(0);
  int         fd;

  umask(mask);
  fd = open(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0666 & ~mask);
  if (fd < 0) return snprintf(reason, reason_size, "cannot open the lock file '%s': %s", lock_path, strerror(errno)), -1;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    snprintf(reason, reason_size, "the lock file '%s' is %s", lock_path, KindOf(st.st_mode));
    close(fd);
    return -1;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char      text[512] = "";
    ssize_t   n         = pread(fd, text, sizeof(text) - 1, 0);
    text[n > 0 ? n : 0] = '\0';
    text[strcspn(text, "\n")] = '\0';
    if (err == EWOULDBLOCK) snprintf(reason, reason_size, "another engd run is writing it (%s; lock file '%s')", text[0] ? text : "holder unknown", lock_path);
    else snprintf(reason, reason_size, "cannot lock '%s': %s", lock_path, strerror(err));
    close(fd);
    return -1;
  }
  { /* the holder's text only serves messages: the lock holds without it */
    char text[600];
    int  n = snprintf(text, sizeof(text), "%s\n", holder);
    if (ftruncate(fd, 0) == 0) (void)!pwrite(fd, text, (size_t)PetscMin(n, (int)sizeof(text) - 1), 0);
  }
  if (n_held < MAX_LOCKS) {
    held[n_held].fd = fd;
    snprintf(held[n_held].unlink_path, sizeof(held[n_held].unlink_path), "%s", remove_at_release ? lock_path : "");
    n_held++;
  }
  return fd;
}

void EngdLockRelease(int fd)
{
  for (int k = 0; k < n_held; k++) {
    if (held[k].fd != fd) continue;
    if (held[k].unlink_path[0]) unlink(held[k].unlink_path); /* while still held */
    close(fd);
    held[k] = held[--n_held];
    return;
  }
}

void EngdLockReleaseAll(void)
{
  while (n_held > 0) EngdLockRelease(held[0].fd);
}
