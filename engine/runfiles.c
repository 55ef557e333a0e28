/* runfiles.c — a new run's files put in place with its records: a run made from another
 * (fork) or from an export file (import) gets its folder's files and its logs first in
 * staging folders beside where they go, whose names begin with '.' (no run id does);
 * the transaction that records the run moves them into place, and moves them back when it
 * does not commit, so that a run never exists without its files, nor its files without
 * the run. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runfiles.h"

int wfi_staging_open(const char *home, const char *run_dir, const char *run_id,
                     wfi_staging *s) {
  memset(s, 0, sizeof *s);
  long pid = (long)getpid();
  long long now = (long long)wfs_now_ms();
  int n;
  if (run_dir) {
    n = snprintf(s->dir_final, sizeof s->dir_final, "%s", run_dir);
    const char *slash = strrchr(run_dir, '/');
    int plen = slash ? (int)(slash - run_dir) : 0;
    if (n >= 0 && (size_t)n < sizeof s->dir_final)
      n = snprintf(s->dir, sizeof s->dir, "%.*s/.staging-%s-%ld-%lld", plen, run_dir, run_id,
                   pid, now);
  } else {
    n = snprintf(s->dir_final, sizeof s->dir_final, "%s/runs/%s", home, run_id);
    if (n >= 0 && (size_t)n < sizeof s->dir_final)
      n = snprintf(s->dir, sizeof s->dir, "%s/runs/.staging-%s-%ld-%lld", home, run_id, pid,
                   now);
  }
  if (n >= 0 && (size_t)n < PATH_MAX)
    n = snprintf(s->logs_final, sizeof s->logs_final, "%s/logs/%s", home, run_id);
  if (n >= 0 && (size_t)n < PATH_MAX)
    n = snprintf(s->logs, sizeof s->logs, "%s/logs/.staging-%s-%ld-%lld", home, run_id, pid,
                 now);
  if (n < 0 || (size_t)n >= PATH_MAX) return WF_EINVAL;
  char parent[PATH_MAX];
  for (int i = 0; i < 2; i++) {
    const char *d = i ? s->logs : s->dir;
    snprintf(parent, sizeof parent, "%s", d);
    *strrchr(parent, '/') = '\0';
    if (wfi_mkdir_p(parent) != 0) return wfs_fs_err(parent, errno);
    if (mkdir(d, 0755) != 0) return wfs_fs_err(d, errno);
  }
  s->made = 1;
  return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *f) {
  (void)sb, (void)flag, (void)f;
  remove(path);
  return 0; /* best effort: go on with the others */
}

void wfi_remove_tree(const char *path) { nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

void wfi_staging_close(wfi_staging *s) {
  if (!s->made) return;
  wfi_remove_tree(s->dir);
  wfi_remove_tree(s->logs);
  s->made = 0;
}

/* Move every entry of folder `from` but a run's mark into folder `to`. An entry that is
 * there already is an error (EEXIST): nothing is overwritten. */
static int move_entries(const char *from, const char *to) {
  DIR *d = opendir(from);
  if (!d) return wfs_fs_err(from, errno);
  char a[PATH_MAX], b[PATH_MAX];
  int rc = 0;
  struct dirent *e;
  while (rc == 0 && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (strcmp(e->d_name, WFI_RUN_MARK) == 0) continue;
    if (snprintf(a, sizeof a, "%s/%s", from, e->d_name) >= (int)sizeof a ||
        snprintf(b, sizeof b, "%s/%s", to, e->d_name) >= (int)sizeof b) {
      rc = WF_EINVAL;
      break;
    }
    struct stat st;
    if (lstat(b, &st) == 0) rc = wfs_fs_err(b, EEXIST);
    else if (rename(a, b) != 0) rc = wfs_fs_err(b, errno);
  }
  closedir(d);
  return rc;
}

int wfi_staging_commit(wfi_staging *s) {
  if (s->moved) return 0; /* the transaction runs again (the map grew) */
  int rc = wfi_mkdir_p(s->dir_final) ? wfs_fs_err(s->dir_final, errno) : 0;
  if (rc == 0) rc = wfi_mkdir_p(s->logs_final) ? wfs_fs_err(s->logs_final, errno) : 0;
  if (rc == 0) rc = move_entries(s->dir, s->dir_final);
  if (rc == 0) rc = move_entries(s->logs, s->logs_final);
  s->moved = 1;
  if (rc) wfi_staging_rollback(s);
  return rc;
}

/* What was moved goes back (everything in the final folders but a run's mark came from
 * staging: they were empty or new). */
void wfi_staging_rollback(wfi_staging *s) {
  if (!s->moved) return;
  move_entries(s->dir_final, s->dir);
  move_entries(s->logs_final, s->logs);
  rmdir(s->dir_final);
  rmdir(s->logs_final);
  s->moved = 0;
}

/* ---- copying -------------------------------------------------------------------------- */

int wfi_copy_file(const char *from, const char *to) {
  int in = open(from, O_RDONLY | O_CLOEXEC);
  if (in < 0) return wfs_fs_err(from, errno);
  struct stat st;
  int rc = fstat(in, &st) == 0 ? 0 : wfs_fs_err(from, errno);
  int out = rc ? -1 : open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
  if (!rc && out < 0) rc = wfs_fs_err(to, errno);
  char buf[65536];
  ssize_t n;
  while (rc == 0 && (n = read(in, buf, sizeof buf)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      rc = wfs_fs_err(from, errno);
      break;
    }
    for (ssize_t off = 0; off < n && rc == 0;) {
      ssize_t w = write(out, buf + off, (size_t)(n - off));
      if (w < 0 && errno != EINTR) rc = wfs_fs_err(to, errno);
      if (w > 0) off += w;
    }
  }
  if (rc == 0 && fsync(out) != 0) rc = wfs_fs_err(to, errno);
  if (out >= 0 && close(out) != 0 && rc == 0) rc = wfs_fs_err(to, errno);
  close(in);
  return rc;
}

/* Copy folder `from` into existing folder `to`: folders, regular files and symbolic
 * links; a run's mark is left out (the copy belongs to another run). */
int wfi_copy_tree(const char *from, const char *to) {
  DIR *d = opendir(from);
  if (!d) return errno == ENOENT ? 0 : wfs_fs_err(from, errno);
  char a[PATH_MAX], b[PATH_MAX];
  int rc = 0;
  struct dirent *e;
  while (rc == 0 && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
        strcmp(e->d_name, WFI_RUN_MARK) == 0)
      continue;
    if (snprintf(a, sizeof a, "%s/%s", from, e->d_name) >= (int)sizeof a ||
        snprintf(b, sizeof b, "%s/%s", to, e->d_name) >= (int)sizeof b) {
      rc = WF_EINVAL;
      break;
    }
    struct stat st;
    if (lstat(a, &st) != 0) {
      rc = wfs_fs_err(a, errno);
    } else if (S_ISDIR(st.st_mode)) {
      rc = mkdir(b, st.st_mode & 07777) == 0 ? wfi_copy_tree(a, b) : wfs_fs_err(b, errno);
    } else if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t n = readlink(a, target, sizeof target - 1);
      if (n < 0) rc = wfs_fs_err(a, errno);
      else if (target[n] = '\0', symlink(target, b) != 0) rc = wfs_fs_err(b, errno);
    } else if (S_ISREG(st.st_mode)) {
      rc = wfi_copy_file(a, b);
    } /* sockets, fifos, devices: not a run's results */
  }
  closedir(d);
  return rc;
}
