/* health.c — what `wf doctor` needs to know of a store: schema, sizes, free disk, reader
 * slots in use and of dead processes, and whether the store and its folders can be
 * written. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "wfmp.h"
#include "wfs_internal.h"

/* mdb_reader_list prints a header line, then a line per slot in use, or a line saying
 * there is none. */
static int count_reader(const char *msg, void *ctx) {
  if (strncmp(msg, "(no active", 10) != 0 && !strstr(msg, "pid")) ++*(unsigned *)ctx;
  return 0;
}

/* The "created_by" meta record: the version of wf that made the store. */
static int read_meta(wfs_env *env, wfs_health *h) {
  wfs_txn t;
  uint64_t v = 0;
  int rc = wfs_read_begin(env, &t);
  if (rc) return rc;
  rc = wfs_meta_get_u64(&t, "schema", &v);
  if (rc == 0) {
    MDB_val k = {10, (void *)"created_by"}, d;
    if (mdb_get(t.txn, env->meta, &k, &d) == 0) {
      wfm_reader r;
      const char *s;
      size_t n;
      wfm_reader_init(&r, d.mv_data, d.mv_size);
      if (wfm_read_str_view(&r, &s, &n) == 0 && n < sizeof h->created_by) {
        memcpy(h->created_by, s, n);
        h->created_by[n] = '\0';
      }
    }
  }
  wfs_read_end(&t);
  h->schema = (uint32_t)v;
  return rc;
}

/* Whether a file can be made in folder `dir` (a folder that does not exist is fine:
 * what needs it makes it): 0, or the errno. */
static int folder_writable(const char *dir) {
  char path[4200];
  int n = snprintf(path, sizeof path, "%s/.wf-check-%ld", dir, (long)getpid());
  if (n < 0 || (size_t)n >= sizeof path) return ENAMETOOLONG;
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return errno == ENOENT ? 0 : errno;
  close(fd);
  unlink(path);
  return 0;
}

static void not_writable(wfs_health *h, const char *home, const char *tail, int e) {
  if (!h->writable) return; /* the first found is named */
  h->writable = 0;
  snprintf(h->unwritable, sizeof h->unwritable, "%s%s", home, tail);
  h->unwritable_errno = e;
}

/* The store can take a write transaction, its files can be written and a file can be
 * made in each of its folders. */
static void check_writable(wfs_env *env, wfs_health *h) {
  static const char *const files[] = {"/store/data.mdb", "/store/lock.mdb"};
  static const char *const dirs[] = {"/store", "/logs", "/runs", "/locks"};
  char path[4200];
  struct statvfs vs;
  h->writable = 1;
  snprintf(path, sizeof path, "%s/store", env->home);
  if (statvfs(path, &vs) == 0 && (vs.f_flag & ST_RDONLY)) not_writable(h, env->home, "/store", EROFS);
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(path, sizeof path, "%s%s", env->home, files[i]);
    if (access(path, W_OK) != 0) not_writable(h, env->home, files[i], errno);
  }
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
    snprintf(path, sizeof path, "%s%s", env->home, dirs[i]);
    int e = folder_writable(path);
    if (e) not_writable(h, env->home, dirs[i], e);
  }
  MDB_txn *txn;
  int rc = mdb_txn_begin(env->env, NULL, 0, &txn);
  if (rc == 0) mdb_txn_abort(txn);
  else if (rc != MDB_MAP_RESIZED) /* another process grew the map: no matter here */
    not_writable(h, env->home, "/store", rc > 0 ? rc : EIO);
}

int wfs_health_get(wfs_env *env, uint64_t map_cap_bytes, wfs_health *h) {
  memset(h, 0, sizeof *h);
  h->schema_current = WFS_SCHEMA_VERSION;
  h->map_cap_bytes = map_cap_bytes;
  int rc = read_meta(env, h);
  if (rc) return rc;
  MDB_envinfo info;
  MDB_stat st;
  if (mdb_env_info(env->env, &info) || mdb_env_stat(env->env, &st)) return WF_ESTORE;
  h->used_bytes = (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
  char path[4200];
  struct stat fs;
  snprintf(path, sizeof path, "%s/store/data.mdb", env->home);
  if (stat(path, &fs) == 0) h->data_bytes = (uint64_t)fs.st_size;
  struct statvfs vs;
  snprintf(path, sizeof path, "%s/store", env->home);
  if (statvfs(path, &vs) == 0) h->disk_free_bytes = (uint64_t)vs.f_bavail * vs.f_frsize;
  unsigned max = 0;
  int dead = 0;
  mdb_env_get_maxreaders(env->env, &max);
  h->readers_max = max;
  if (mdb_reader_check(env->env, &dead) == 0 && dead > 0) env->stale_readers += (unsigned)dead;
  h->readers_stale = env->stale_readers;
  mdb_reader_list(env->env, count_reader, &h->readers_used);
  check_writable(env, h);
  return 0;
}
