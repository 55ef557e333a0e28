/* rundir.c — a run's folder where the user wants it (start --run-dir): whether a folder
 * may be given to a run, and marking it as that run's. A run's folder holds a small file,
 * WFI_RUN_MARK, naming the run and the store it belongs to: a folder another run of any
 * store has taken is refused, as is one holding files of no run (so that deleting a run
 * never removes files wf did not put there under a run's name). */
#define _DEFAULT_SOURCE /* realpath */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wfengine.h"

/* `dir` as an absolute path: resolved when it exists, else the current folder joined
 * with it. */
static int absolute(const char *dir, char *abs, size_t cap) {
  char real[PATH_MAX], cwd[PATH_MAX];
  int n;
  if (!dir[0]) return WF_EINVAL;
  if (realpath(dir, real))
    n = snprintf(abs, cap, "%s", real);
  else if (errno != ENOENT && errno != ENOTDIR)
    return wfs_fs_err(dir, errno);
  else if (dir[0] == '/')
    n = snprintf(abs, cap, "%s", dir);
  else if (getcwd(cwd, sizeof cwd))
    n = snprintf(abs, cap, "%s/%s", cwd, dir);
  else
    return wfs_fs_err(".", errno);
  if (n < 0 || (size_t)n >= cap) return WF_EINVAL;
  while (n > 1 && abs[n - 1] == '/') abs[--n] = '\0';
  return 0;
}

/* Whether abs is the store's home or inside it (where the store keeps its own files). */
static int inside_home(const char *home, const char *abs) {
  char real[PATH_MAX];
  if (!realpath(home, real)) return 0;
  size_t n = strlen(real);
  return strncmp(abs, real, n) == 0 && (abs[n] == '\0' || abs[n] == '/' || n == 1);
}

/* The run and store a mark names: "run <id>\nstore <home>\n". 0, or WF_ECORRUPT. */
static int read_mark(const char *path, char *id, size_t idcap, char *store, size_t scap) {
  char buf[WFS_MAX_ID + PATH_MAX + 32];
  FILE *f = fopen(path, "r");
  if (!f) return WF_ECORRUPT;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *nl = strchr(buf, '\n');
  if (strncmp(buf, "run ", 4) != 0 || !nl || strncmp(nl + 1, "store ", 6) != 0)
    return WF_ECORRUPT;
  *nl = '\0';
  char *end = strchr(nl + 7, '\n');
  if (end) *end = '\0';
  if (snprintf(id, idcap, "%s", buf + 4) >= (int)idcap ||
      snprintf(store, scap, "%s", nl + 7) >= (int)scap)
    return WF_ECORRUPT;
  return 0;
}

/* What folder abs holds: *mark 1 when a run's mark, *other 1 when anything else. ENOENT
 * gives 0 with neither. */
static int look_inside(const char *abs, int *mark, int *other) {
  *mark = *other = 0;
  DIR *d = opendir(abs);
  if (!d) return errno == ENOENT ? 0 : wfs_fs_err(abs, errno);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (strcmp(e->d_name, WFI_RUN_MARK) == 0) *mark = 1;
    else *other = 1;
  }
  closedir(d);
  return 0;
}

int wfi_run_dir_check(wfs_txn *t, const char *run_id, const char *dir, char *abs, size_t cap,
                      char *owner, size_t ocap) {
  const char *home = wfs_home(t->env);
  int mark, other;
  if (owner && ocap) owner[0] = '\0';
  int rc = absolute(dir, abs, cap);
  if (rc) return rc;
  if (inside_home(home, abs)) return WF_EINVAL;
  if ((rc = look_inside(abs, &mark, &other)) != 0) return rc;
  if (!mark) return other ? WF_EEXIST : 0;
  char path[PATH_MAX + 16], id[WFS_MAX_ID + 1], store[PATH_MAX], real[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", abs, WFI_RUN_MARK);
  if (read_mark(path, id, sizeof id, store, sizeof store) != 0) return WF_EEXIST;
  int same_store = realpath(home, real) && strcmp(real, store) == 0;
  if (same_store && run_id && strcmp(id, run_id) == 0) return 0;
  if (same_store) {
    /* The mark of a run deleted since: the folder is free again. */
    wfs_run_head h;
    rc = wfs_run_peek(t, id, &h);
    if (rc == WF_ENOTFOUND || wfs_check_run_id(id) != 0) return 0;
    if (rc && rc != WF_ECORRUPT) return rc;
  }
  if (owner && ocap)
    snprintf(owner, ocap, same_store ? "run %s" : "run %s of the store at %s", id, store);
  return WF_EBUSY;
}

int wfi_run_dir_take(wfs_txn *t, const char *run_id, const char *dir, char *abs, size_t cap) {
  char real[PATH_MAX], path[PATH_MAX + 16], tmp[PATH_MAX + 32];
  int rc = wfi_run_dir_check(t, run_id, dir, abs, cap, NULL, 0);
  if (rc) return rc;
  if ((rc = wfi_mkdir_p(abs)) != 0) return wfs_fs_err(abs, errno);
  if (!realpath(abs, real)) return wfs_fs_err(abs, errno);
  if (snprintf(abs, cap, "%s", real) >= (int)cap) return WF_EINVAL;
  const char *home = wfs_home(t->env);
  if (!realpath(home, real)) return wfs_fs_err(home, errno);
  snprintf(path, sizeof path, "%s/%s", abs, WFI_RUN_MARK);
  snprintf(tmp, sizeof tmp, "%s.%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "w");
  if (!f) return wfs_fs_err(tmp, errno);
  int ok = fprintf(f, "run %s\nstore %s\n", run_id, real) > 0;
  ok = (fflush(f) == 0 && fsync(fileno(f)) == 0) && ok;
  int e = errno;
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) {
    e = ok ? errno : e;
    unlink(tmp);
    return wfs_fs_err(path, e ? e : EIO);
  }
  return 0;
}
