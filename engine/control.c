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

/* ---- deleting runs ------------------------------------------------------------------
 * Runs are deleted in batches, one write transaction each. Inside it each run's lock
 * file is removed and its folders under runs/ and logs/ are moved aside (to names
 * beginning with '.', which no run id does), so that nothing of the old run is where a
 * new run of the same id would look once it commits; a creator that opened the old lock
 * file before locks a new one inside its own transaction, which comes after
 * (wfi_lease_recheck). Once committed, the folders moved aside are removed. */

#define DELETE_BATCH 1000

static const char *const run_subdirs[2] = {"runs", "logs"};

/* One run of a batch: its outcome, and which of its folders are moved aside. */
struct del_run {
  const char *id;
  int invalid;             /* not a run id: reported so, never looked up */
  int result;
  int moved[2];
  char *given;             /* its folder given with start --run-dir, which replaces
                              runs/<id> (malloc'd; NULL for runs/<id>) */
  wfs_purge_stats stats;
  uint64_t files, file_bytes;
};

struct del_batch {
  struct del_run *runs;
  size_t n;
  const char *home;
  long pid;                /* with stamp: what makes the aside names unique */
  long long stamp;
};

/* The path of run r's lock (which < 0), folder `which` or (aside) that folder's name
 * while it is moved aside. WF_EINVAL when it does not fit. */
static int del_path(const struct del_batch *b, const struct del_run *r, int which, int aside,
                    char *buf, size_t cap) {
  if (which == 0 && r->given) {
    /* Moved aside beside itself: a rename stays on its file system. */
    const char *slash = strrchr(r->given, '/');
    int n = !aside ? snprintf(buf, cap, "%s", r->given)
            : snprintf(buf, cap, "%.*s/.deleted-%s-%ld-%lld", (int)(slash ? slash - r->given : 0),
                       r->given, slash ? slash + 1 : r->given, b->pid, b->stamp);
    return n < 0 || (size_t)n >= cap ? WF_EINVAL : 0;
  }
  int n = which < 0 ? snprintf(buf, cap, "%s/locks/%s", b->home, r->id)
          : aside ? snprintf(buf, cap, "%s/%s/.deleted-%s-%ld-%lld", b->home,
                             run_subdirs[which], r->id, b->pid, b->stamp)
                  : snprintf(buf, cap, "%s/%s/%s", b->home, run_subdirs[which], r->id);
  return n < 0 || (size_t)n >= cap ? WF_EINVAL : 0;
}

/* Move run r's folders back from aside (its deletion did not happen). */
static void del_restore(const struct del_batch *b, struct del_run *r) {
  char dir[PATH_MAX], aside[PATH_MAX];
  for (int i = 0; i < 2; i++) {
    if (!r->moved[i] || del_path(b, r, i, 0, dir, sizeof dir) ||
        del_path(b, r, i, 1, aside, sizeof aside))
      continue;
    if (rename(aside, dir) == 0) r->moved[i] = 0;
  }
}

/* Remove run r's lock and move its folders aside; on failure move back what moved. */
static int del_files(const struct del_batch *b, struct del_run *r) {
  char path[PATH_MAX], aside[PATH_MAX];
  int rc = del_path(b, r, -1, 0, path, sizeof path);
  if (rc) return rc;
  if (unlink(path) != 0 && errno != ENOENT) return wfs_fs_err(path, errno);
  for (int i = 0; i < 2; i++) {
    if (r->moved[i]) continue;
    if ((rc = del_path(b, r, i, 0, path, sizeof path)) ||
        (rc = del_path(b, r, i, 1, aside, sizeof aside)))
      break;
    if (rename(path, aside) == 0) r->moved[i] = 1;
    else if (errno != ENOENT) {
      rc = wfs_fs_err(path, errno);
      break;
    }
  }
  if (rc) del_restore(b, r);
  return rc;
}

/* One run inside the batch's transaction: 0 with r->result set (deleted, or why not),
 * or an error of the store that aborts the transaction. */
static int del_one(wfs_txn *t, const struct del_batch *b, struct del_run *r) {
  wfs_run rec;
  int rc = wfs_run_get(t, r->id, &rec);
  if (rc == WF_ENOTFOUND || rc == WF_ECORRUPT || rc == WF_EINVAL) {
    r->result = rc;
    return 0;
  }
  if (rc) return rc;
  if ((rec.status == WFS_RUN_RUNNING || rec.status == WFS_RUN_PENDING) &&
      wfi_run_owner_alive(b->home, &rec)) {
    r->result = WF_EBUSY;
  } else if (!r->given && rec.run_dir && !(r->given = strdup(rec.run_dir))) {
    rc = WF_ENOMEM;
  } else if ((r->result = del_files(b, r)) == 0) {
    rc = wfs_run_purge(t, &rec, &r->stats);
  }
  wfs_run_clear(&rec);
  return rc;
}

/* May run more than once (a full map): every outcome is decided again. */
static int delete_txn(wfs_txn *t, void *ud) {
  struct del_batch *b = ud;
  for (size_t i = 0; i < b->n; i++) {
    struct del_run *r = &b->runs[i];
    memset(&r->stats, 0, sizeof r->stats);
    r->result = r->invalid ? WF_EINVAL : 0;
    if (r->invalid) continue;
    int rc = del_one(t, b, r);
    if (rc) return rc;
  }
  return 0;
}

/* What remove_entry counts: nftw passes no argument through. */
static _Thread_local uint64_t removed_files, removed_bytes;

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *f) {
  (void)f;
  /* Folders by rmdir, the rest by unlink: remove() would try unlink on folders first. */
  if (flag == FTW_DP || flag == FTW_D) rmdir(path);
  else if (unlink(path) == 0 && flag == FTW_F) {
    removed_files++;
    removed_bytes += (uint64_t)sb->st_size;
  }
  return 0; /* best effort: go on with the others */
}

/* After the commit: remove the folders moved aside, counting their files. */
static void del_finish(const struct del_batch *b, struct del_run *r) {
  char aside[PATH_MAX];
  removed_files = removed_bytes = 0;
  for (int i = 0; i < 2; i++)
    if (r->moved[i] && del_path(b, r, i, 1, aside, sizeof aside) == 0)
      nftw(aside, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  r->files = removed_files;
  r->file_bytes = removed_bytes;
}

static int report(const struct del_run *r, wf_delete_cb cb, void *ud) {
  if (!cb) return 0;
  wf_delete_info d = {r->id, r->result, r->stats.steps, r->stats.events, r->stats.bytes,
                      r->files, r->file_bytes};
  return cb(ud, &d);
}

int wf_runs_delete(wf_store *st, const char *const *ids, size_t n, wf_delete_cb cb, void *ud) {
  int rc = wfi_store_check(st), crc = 0;
  if (rc || (!ids && n)) return WF_EINVAL;
  struct del_run *all = n ? calloc(n, sizeof *all) : NULL;
  if (n && !all) return WF_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    all[i].id = ids[i];
    all[i].invalid = wfs_check_run_id(ids[i]) != 0;
  }
  struct del_batch b = {NULL, 0, wfs_home(st->env), (long)getpid(), (long long)wfs_now_ms()};
  size_t done = 0;
  for (; done < n; done += b.n) {
    b.runs = all + done;
    b.n = n - done < DELETE_BATCH ? n - done : DELETE_BATCH;
    if ((rc = wfs_write(st->env, delete_txn, &b)) != 0) {
      for (size_t i = 0; i < b.n; i++) del_restore(&b, &b.runs[i]);
      break;
    }
  }
  /* The folders go once every transaction has committed: removing them between the
   * commits would make each commit's sync wait for those removals too. */
  for (size_t i = 0; i < done; i++) {
    if (all[i].result) del_restore(&b, &all[i]);
    else del_finish(&b, &all[i]);
  }
  for (size_t i = 0; i < done && !crc; i++) crc = report(&all[i], cb, ud);
  for (size_t i = 0; i < n; i++) free(all[i].given);
  free(all);
  return rc ? rc : crc;
}

/* wf_run_delete: a batch of one, whose outcome is the result. */
static int delete_result(void *ud, const wf_delete_info *d) {
  *(int *)ud = d->result;
  return 0;
}

int wf_run_delete(wf_store *st, const char *run_id) {
  int rc = wfi_store_check(st);
  if (rc || (rc = wfs_check_run_id(run_id)) != 0) return rc;
  int result = 0;
  rc = wf_runs_delete(st, &run_id, 1, delete_result, &result);
  return rc ? rc : result;
}
