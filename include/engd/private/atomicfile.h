/* Files that are written whole or not at all, and locks that keep two runs from writing the
   same files. Used by rank 0 for the results and checkpoint files.

   An HDF5 file is built in memory (HDF5's core driver without a backing store, so no disk
   error can reach HDF5's own failure paths), then written with write(2) to a temporary file of
   a unique name in the target's directory, fsynced, checked again, renamed over the target and
   the directory fsynced. Every failure leaves the target as it was, removes the temporary and
   returns -1 with the reason (errno's text, captured before anything else can change it). */
#ifndef ENGD_ATOMICFILE_H
#define ENGD_ATOMICFILE_H

#include <hdf5.h>
#include <stddef.h>

/* Fills the in-memory file; returns 0, or -1 (an HDF5 call failed). */
typedef int (*EngdH5Builder)(hid_t file, const void *ctx);

/* Whether path may be (re)placed by a file engd writes: it must not exist or be a regular
   file (not a directory, device, FIFO, socket or symbolic link), and its directory must exist
   and be writable. Creates nothing. Returns 0, or -1 with the reason. */
int EngdCheckTarget(const char *path, char *reason, size_t reason_size);

/* Build the file with build(ctx) and put it at path atomically. The temporary is
   <path><tag>-XXXXXX.tmp (tag may be ""). checksums: HDF5's newest object-header format,
   whose metadata carry checksums, and Fletcher-32 on every non-empty dataset
   (EngdH5Checksummed tells the dataset writers). Returns 0, or -1 with the reason. */
int EngdH5WriteAtomic(const char *path, const char *tag, int checksums, EngdH5Builder build, const void *ctx, char *reason, size_t reason_size);
/* While EngdH5WriteAtomic builds a file with checksums: 1 (datasets get Fletcher-32). */
int EngdH5Checksummed(void);

/* An exclusive advisory lock (flock) on the file lock_path, created if needed, which records
   its holder (the text holder, written into it). Returns the open descriptor, or -1 with the
   reason; when another process holds the lock, the reason quotes what that holder wrote. The
   lock lasts until EngdLockRelease, EngdLockReleaseAll or the process's end; with
   remove_at_release the file is removed (while still held) when it is released. */
int EngdLockAcquire(const char *lock_path, const char *holder, int remove_at_release, char *reason, size_t reason_size);
void EngdLockRelease(int fd);
/* Every lock this process holds (main calls it on every exit path). */
void EngdLockReleaseAll(void);

/* "host <name> pid <pid>": who this process is, for lock files and messages. */
void EngdHolderText(char *text, size_t size);

#endif
