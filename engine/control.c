/* control.c — changing a run from outside its owner through the public API (wf/wf.h):
 * asking it to stop, and deleting it with everything it left in the store and on disk. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_int.h"

int wf_run_cancel(wf_store *st, const char *run_id) {
  int rc = wfi_store_check(st);
  return rc ? rc : wfi_run_cancel(st->env, run_id);
}

/* The run's files: its lock, and its folders under runs/ and logs/ with the names they
 * are moved aside to (beginning with '.', which no run id does) before they are removed. */
struct delete_ctx {
  const char *id;
  char lock[PATH_MAX];
  char dir[2][PATH_MAX];
  char aside[2][PATH_MAX];
  int moved[2];
};

static int delete_paths(const char *home, const char *id, struct delete_ctx *c) {
  static const char *const sub[2] = {"runs", "logs"};
  long pid = (long)getpid();
  long long now = (long long)wfs_now_ms();
  int n = snprintf(c->lock, sizeof c->lock, "%s/locks/%s", home, id);
  for (int i = 0; i < 2 && n >= 0 && (size_t)n < sizeof c->lock; i++) {
    n = snprintf(c->dir[i], sizeof c->dir[i], "%s/%s/%s", home, sub[i], id);
    if (n >= 0 && (size_t)n < sizeof c->dir[i])
      n = snprintf(c->aside[i], sizeof c->aside[i], "%s/%s/.deleted-%s-%ld-%lld", home, sub[i],
                   id, pid, now);
  }
  return n < 0 || (size_t)n >= PATH_MAX ? WF_EINVAL : 0;
}

/* A run's folder given with start --run-dir replaces runs/<id>: moved aside beside it. */
static int given_run_dir(wf_store *st, const char *id, struct delete_ctx *c) {
  wf_run_info *r = NULL;
  int rc = wf_run_info_get(st, id, &r);
  if (rc == 0 && r->run_dir_given) {
    const char *slash = strrchr(r->run_dir, '/');
    int n = snprintf(c->dir[0], sizeof c->dir[0], "%s", r->run_dir);
    int m = snprintf(c->aside[0], sizeof c->aside[0], "%.*s/.deleted-%s-%ld-%lld",
                     (int)(slash ? slash - r->run_dir : 0), r->run_dir, slash ? slash + 1 : "",
                     (long)getpid(), (long long)wfs_now_ms());
    if (n < 0 || m < 0 || (size_t)n >= sizeof c->dir[0] || (size_t)m >= sizeof c->aside[0])
      rc = WF_EINVAL;
  }
  wf_run_info_free(r);
  return rc;
}

/* The records go, and with them (inside the transaction, so that nothing of the old run
 * is where a new run of the same id would look once this commits) the lock file and the
 * folders. A creator that opened the old lock file before locks a new one inside its own
 * transaction, which comes after this one (wfi_lease_recheck). May run more than once. */
static int delete_txn(wfs_txn *t, void *ud) {
  struct delete_ctx *c = ud;
  wfs_run r;
  int rc = wfs_run_get(t, c->id, &r);
  if (rc == 0 && (r.status == WFS_RUN_RUNNING || r.status == WFS_RUN_PENDING) &&
      wfi_run_owner_alive(wfs_home(t->env), &r))
    rc = WF_EBUSY;
  if (rc == 0) rc = wfs_run_del(t, &r);
  wfs_run_clear(&r);
  if (rc) return rc;
  if (unlink(c->lock) != 0 && errno != ENOENT) return wfs_fs_err(c->lock, errno);
  for (int i = 0; i < 2; i++) {
    if (c->moved[i]) continue;
    if (rename(c->dir[i], c->aside[i]) == 0) c->moved[i] = 1;
    else if (errno != ENOENT) return wfs_fs_err(c->dir[i], errno);
  }
  return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *f) {
  (void)sb, (void)flag, (void)f;
  remove(path);
  return 0; /* best effort: go on with the others */
}

int wf_run_delete(wf_store *st, const char *run_id) {
  int rc = wfi_store_check(st);
  if (rc || (rc = wfs_check_run_id(run_id)) != 0) return rc;
  struct delete_ctx *c = calloc(1, sizeof *c);
  if (!c) return WF_ENOMEM;
  c->id = run_id;
  if ((rc = delete_paths(wfs_home(st->env), run_id, c)) == 0)
    rc = given_run_dir(st, run_id, c);
  if (rc == 0) rc = wfs_write(st->env, delete_txn, c);
  for (int i = 0; i < 2; i++) {
    if (!c->moved[i]) continue;
    /* Not deleted after all: the folders go back where they were. */
    if (rc) rename(c->aside[i], c->dir[i]);
    else nftw(c->aside[i], remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  }
  free(c);
  return rc;
}
