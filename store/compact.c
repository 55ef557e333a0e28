/* compact.c — giving the space of deleted records back to the file system: LMDB reuses
 * free pages but never shortens its data file, so the store is copied without them
 * (mdb_env_copyfd2 with MDB_CP_COMPACT) and the copy renamed over the data file, while
 * no process has the store open. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wfs_internal.h"

/* The store's files under `home`. */
struct compact_paths {
  char dir[4096], data[4096], copy[4096], lmdb_lock[4096], open_lock[4096];
};

static int make_paths(const char *home, struct compact_paths *p) {
  int n[5] = {snprintf(p->dir, sizeof p->dir, "%s/store", home),
              snprintf(p->data, sizeof p->data, "%s/store/data.mdb", home),
              snprintf(p->copy, sizeof p->copy, "%s/store/data.mdb.compact", home),
              snprintf(p->lmdb_lock, sizeof p->lmdb_lock, "%s/store/lock.mdb", home),
              snprintf(p->open_lock, sizeof p->open_lock, "%s" WFS_OPEN_LOCK, home)};
  for (int i = 0; i < 5; i++)
    if (n[i] < 0 || (size_t)n[i] >= sizeof p->dir) return WF_EINVAL;
  return 0;
}

/* Whether a process holds a lock on LMDB's lock file: every process with the environment
 * open holds a shared one on its first byte. This process has it closed, so closing the
 * descriptor here releases none of its own locks. */
static int lmdb_in_use(const char *path) {
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return 0; /* no lock file: nobody has the store open */
  struct flock fl = {0};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 1;
  int busy = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
  close(fd);
  return busy;
}

static int sync_path(const char *path, int flags) {
  int fd = open(path, flags | O_CLOEXEC);
  if (fd < 0) return wfs_fs_err(path, errno);
  int rc = fsync(fd) == 0 ? 0 : wfs_fs_err(path, errno);
  close(fd);
  return rc;
}

/* Copy the open store into p->copy without its free pages, synced. */
static int write_copy(wfs_env *env, const struct compact_paths *p) {
  int fd = open(p->copy, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return wfs_fs_err(p->copy, errno);
  int rc = mdb_env_copyfd2(env->env, fd, MDB_CP_COMPACT);
  if (rc) rc = rc > 0 ? wfs_fs_err(p->copy, rc) : WF_ESTORE;
  else if (fsync(fd) != 0) rc = wfs_fs_err(p->copy, errno);
  close(fd);
  return rc;
}

/* With the open lock held exclusively: copy, then swap the copy in. */
static int compact_locked(const char *home, const struct compact_paths *p, uint64_t *after) {
  wfs_env *env;
  wfs_opts o = {.existing = 1, .no_open_lock = 1};
  int rc = wfs_open_with(home, &o, &env);
  if (rc) return rc;
  rc = write_copy(env, p);
  wfs_close(env);
  struct stat st;
  if (rc == 0 && stat(p->copy, &st) == 0) *after = (uint64_t)st.st_size;
  /* LMDB's lock file keeps the old file's last transaction id; the next process to open
   * the store is alone and sets it afresh from the new file's meta pages. */
  if (rc == 0 && rename(p->copy, p->data) != 0) rc = wfs_fs_err(p->data, errno);
  if (rc == 0) rc = sync_path(p->dir, O_RDONLY | O_DIRECTORY);
  if (rc) unlink(p->copy);
  return rc;
}

int wfs_compact(const char *home, uint64_t *before, uint64_t *after) {
  struct stat st;
  uint64_t b, a;
  if (!home || !*home) return WF_EINVAL;
  struct compact_paths *p = malloc(sizeof *p); /* large: not on the stack */
  if (!p) return WF_ENOMEM;
  int rc = make_paths(home, p), fd = -1;
  if (rc == 0 && stat(p->data, &st) != 0)
    rc = errno == ENOENT || errno == ENOTDIR ? WF_ENOTFOUND : wfs_fs_err(p->data, errno);
  b = a = rc ? 0 : (uint64_t)st.st_size;
  if (rc == 0 && (fd = open(p->open_lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
    rc = wfs_fs_err(p->open_lock, errno);
  while (rc == 0 && flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    rc = errno == EWOULDBLOCK ? WF_EBUSY : wfs_fs_err(p->open_lock, errno);
  }
  if (rc == 0 && lmdb_in_use(p->lmdb_lock)) rc = WF_EBUSY;
  if (rc == 0) rc = compact_locked(home, p, &a);
  if (fd >= 0) close(fd); /* releases the lock: waiting openers go on, with the new file */
  free(p);
  if (rc) return rc;
  if (before) *before = b;
  if (after) *after = a;
  return 0;
}
