/* env.c — the store's LMDB environment: opening it (folders, databases, schema), the
 * reusable read transaction, and write transactions that grow the map when it is full. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "wfs_internal.h"

#define MIB ((size_t)1 << 20)
#define INITIAL_MAP (16 * MIB)

/* ---- errors ------------------------------------------------------------------------ */

static _Thread_local wfs_failure last_failure;

const wfs_failure *wfs_last_failure(void) { return &last_failure; }

static void failure_clear(void) {
  last_failure.path[0] = '\0';
  last_failure.sys_errno = 0;
  last_failure.readers = 0;
}

/* Remember what failed: `path` followed by `tail` (may be NULL). */
static void failure_note(const char *path, const char *tail, int sys_errno) {
  snprintf(last_failure.path, sizeof last_failure.path, "%s%s", path, tail ? tail : "");
  last_failure.sys_errno = sys_errno;
}

int wfs__fs_err(const char *path, const char *tail, int e) {
  failure_note(path, tail, e);
  switch (e) {
  case ENOSPC: case EDQUOT: return WF_ENOSPC;
  case EROFS: return WF_EROFS;
  case EACCES: case EPERM: return WF_EACCES;
  case ENOMEM: return WF_ENOMEM;
  default: return WF_EIO;
  }
}

int wfs_fs_err(const char *path, int e) { return wfs__fs_err(path, NULL, e); }

/* LMDB reports a short write as EIO, and a full disk makes short writes: when the disk
 * holding the store has (almost) no room left, that is the cause to report. */
static int disk_full(const wfs_env *env) {
  char dir[4096];
  struct statvfs vs;
  snprintf(dir, sizeof dir, "%s/store", env->home);
  return statvfs(dir, &vs) == 0 && (uint64_t)vs.f_bavail * vs.f_frsize < ((uint64_t)1 << 20);
}

int wfs__mdb_err(wfs_env *env, int rc) {
  switch (rc) {
  case 0: return 0;
  case MDB_NOTFOUND: return WF_ENOTFOUND;
  case MDB_KEYEXIST: return WF_EEXIST;
  case MDB_MAP_FULL:
    if (env) env->mapfull = 1;
    return WF_EMAPFULL;
  case MDB_BAD_TXN: /* what every operation after a MDB_MAP_FULL in the txn returns */
    return env && env->mapfull ? WF_EMAPFULL : WF_ESTORE;
  case MDB_READERS_FULL:
    if (env) {
      unsigned n = 0;
      mdb_env_get_maxreaders(env->env, &n);
      failure_note(env->home, "/store/lock.mdb", 0);
      last_failure.readers = n;
    }
    return WF_EREADERS;
  case ENOMEM: return WF_ENOMEM;
  /* The disk, not the store's logic: writing data.mdb (a commit) is what fails so. */
  case ENOSPC: case EDQUOT: case EIO: case EROFS: case EACCES: case EPERM:
    if (!env) return wfs__fs_err("", NULL, rc);
    if (rc == EIO && disk_full(env)) rc = ENOSPC;
    return wfs__fs_err(env->home, "/store/data.mdb", rc);
  default: return WF_ESTORE;
  }
}

/* ---- folders ---------------------------------------------------------------------- */

static char *join(const char *a, const char *b) {
  size_t na = strlen(a), nb = strlen(b);
  char *s = malloc(na + nb + 1);
  if (!s) return NULL;
  memcpy(s, a, na);
  memcpy(s + na, b, nb + 1);
  return s;
}

static int mkdir_one(const char *path, mode_t mode) {
  struct stat st;
  if (mkdir(path, mode) == 0) return 0;
  int e = errno;
  if (e == ENAMETOOLONG) return WF_EINVAL;
  if (e == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
  return wfs__fs_err(path, NULL, e == EEXIST ? ENOTDIR : e);
}

/* mkdir -p; the last component private to its owner. */
static int mkdir_p(char *path) {
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    int rc = mkdir_one(path, 0755);
    *p = '/';
    if (rc) return rc;
  }
  return mkdir_one(path, 0700);
}

static int make_folders(char *home) {
  static const char *const subs[] = {"/store", "/logs", "/runs"};
  int rc = mkdir_p(home);
  for (size_t i = 0; !rc && i < sizeof subs / sizeof subs[0]; i++) {
    char *p = join(home, subs[i]);
    rc = p ? mkdir_one(p, 0700) : WF_ENOMEM;
    free(p);
  }
  return rc;
}

/* ---- map size ------------------------------------------------------------------- */

/* 16 MiB, or the power-of-two multiple of it that holds the existing data file; never
 * above the cap unless the file itself already is. */
static size_t initial_map(size_t filesize, size_t cap) {
  size_t size = INITIAL_MAP;
  while (size < filesize && size < cap) size *= 2;
  if (size > cap) size = cap;
  if (size < filesize) size = (filesize + MIB - 1) / MIB * MIB;
  return size;
}

/* Another process grew the map: adopt its size. The mapping moves, so nothing of this
 * process may be reading it. */
static int adopt_mapsize(wfs_env *env) {
  if (env->ractive || env->wactive) return WF_ESTORE;
  return mdb_env_set_mapsize(env->env, 0) ? WF_ESTORE : 0;
}

static int grow_map(wfs_env *env) {
  MDB_envinfo info;
  if (env->ractive) return WF_ESTORE;
  if (mdb_env_info(env->env, &info)) return WF_ESTORE;
  size_t cur = info.me_mapsize;
  if (cur >= env->mapcap) return WF_EMAPFULL;
  size_t next = cur > env->mapcap / 2 ? env->mapcap : cur * 2;
  return mdb_env_set_mapsize(env->env, next) ? WF_ESTORE : 0;
}

/* ---- transactions --------------------------------------------------------------- */

/* A new read transaction takes a slot of the reader table (MDB_NOTLS: one per
 * transaction, kept across reset and renew). When all are taken, the slots of dead
 * processes are cleared and the begin tried once more. */
static int begin_read(wfs_env *env, MDB_txn **txn) {
  int rc = mdb_txn_begin(env->env, NULL, MDB_RDONLY, txn);
  if (rc == MDB_READERS_FULL) {
    int dead = 0;
    mdb_reader_check(env->env, &dead);
    rc = mdb_txn_begin(env->env, NULL, MDB_RDONLY, txn);
  }
  return rc;
}

int wfs_read_begin(wfs_env *env, wfs_txn *t) {
  t->env = env;
  t->txn = NULL;
  if (env->ractive) return WF_EINVAL;
  for (int tries = 0;; tries++) {
    int rc = env->rtxn ? mdb_txn_renew(env->rtxn) : begin_read(env, &env->rtxn);
    if (rc == 0) break;
    if (env->rtxn) {
      mdb_txn_abort(env->rtxn);
      env->rtxn = NULL;
    }
    if (rc != MDB_MAP_RESIZED || tries > 0) return wfs__mdb_err(env, rc);
    if ((rc = adopt_mapsize(env))) return rc;
  }
  env->ractive = 1;
  t->txn = env->rtxn;
  return 0;
}

void wfs_read_end(wfs_txn *t) {
  if (!t || !t->txn) return;
  mdb_txn_reset(t->txn);
  t->env->ractive = 0;
  t->txn = NULL;
}

static int begin_write(wfs_env *env, MDB_txn **txn) {
  int rc = mdb_txn_begin(env->env, NULL, 0, txn);
  if (rc == MDB_MAP_RESIZED) {
    if ((rc = adopt_mapsize(env))) return rc;
    rc = mdb_txn_begin(env->env, NULL, 0, txn);
  }
  return wfs__mdb_err(env, rc);
}

/* LMDB does not write the pages a transaction allocated and freed again (a large
 * deletion frees many): when they are the last ones, the data file ends before the last
 * page its meta page counts, which check_length takes for a cut file. Extend the file to
 * that page (posix_fallocate never shortens it, so a commit of another process meanwhile
 * is safe), and sync the new length. Best effort: on failure the next commit tries again. */
static void cover_last_page(wfs_env *env) {
  MDB_envinfo info;
  MDB_stat st;
  struct stat fs;
  int fd;
  if (mdb_env_get_fd(env->env, &fd) || mdb_env_info(env->env, &info) ||
      mdb_env_stat(env->env, &st) || fstat(fd, &fs) != 0)
    return;
  off_t need = (off_t)(info.me_last_pgno + 1) * (off_t)st.ms_psize;
  if (fs.st_size >= need) return;
  if (posix_fallocate(fd, fs.st_size, need - fs.st_size) == 0) fdatasync(fd);
}

int wfs_write(wfs_env *env, wfs_write_fn fn, void *ud) {
  if (env->wactive) return WF_EINVAL;
  int fault = env->fault ? wfs__fault_next(env->fault) : 0;  /* test-only, fault.c */
  for (;;) {
    wfs_txn t = {env, NULL};
    int rc = begin_write(env, &t.txn);
    if (rc) return rc;
    env->mapfull = 0;
    env->wactive = 1;
    rc = fn(&t, ud);
    if (rc == 0 && fault) rc = wfs__mdb_err(env, wfs__fault_before_commit(fault));
    if (rc == 0) {
      rc = mdb_txn_commit(t.txn); /* frees the txn, also on failure */
      env->wactive = 0;
      if (rc == 0 && fault) wfs__fault_after_commit(fault);
      if (rc == 0) cover_last_page(env);
      if (rc == 0) return 0;
      if (rc != MDB_MAP_FULL) return wfs__mdb_err(env, rc);
    } else {
      mdb_txn_abort(t.txn);
      env->wactive = 0;
      if (rc != WF_EMAPFULL && !env->mapfull) return rc;
    }
    if ((rc = grow_map(env))) return rc;
  }
}

/* ---- meta and databases ------------------------------------------------------------ */

#define META_NAME_CAP 32

/* The key of meta record `name`, a copy in buf: LMDB does not write through a key, but
 * MDB_val is not const. WF_EINVAL for a name longer than any meta record has. */
static int meta_key(const char *name, char buf[META_NAME_CAP], MDB_val *k) {
  size_t n = strlen(name);
  if (n >= META_NAME_CAP) return WF_EINVAL;
  memcpy(buf, name, n);
  *k = (MDB_val){n, buf};
  return 0;
}

static int meta_u64(wfs_env *env, MDB_txn *txn, const char *name, uint64_t *v) {
  char kb[META_NAME_CAP];
  MDB_val k, d;
  wfm_reader r;
  int rc = meta_key(name, kb, &k);
  if (rc) return rc;
  if ((rc = mdb_get(txn, env->meta, &k, &d))) return wfs__mdb_err(env, rc);
  wfm_reader_init(&r, d.mv_data, d.mv_size);
  if (wfm_read_uint(&r, v) || r.p != r.end) return WF_ECORRUPT;
  return 0;
}

int wfs_meta_get_u64(wfs_txn *t, const char *name, uint64_t *v) {
  return meta_u64(t->env, t->txn, name, v);
}

/* wf writes schema versions 1..WFS_SCHEMA_VERSION; anything else (not a number, 0) is
 * an LMDB environment of some other program, or not one wf can trust. */
static int check_schema(wfs_env *env, MDB_txn *txn, uint64_t *version) {
  uint64_t v;
  int rc = meta_u64(env, txn, "schema", &v);
  if (rc == WF_ECORRUPT || (rc == 0 && v == 0)) {
    failure_note(env->home, "/store", 0);
    return WF_ENOTSTORE;
  }
  if (rc) return rc;
  if (version) *version = v;
  return v > WFS_SCHEMA_VERSION ? WF_ESCHEMA : 0;
}

static MDB_dbi *db_slot(wfs_env *env, int i) {
  MDB_dbi *slots[] = {&env->meta, &env->runs, &env->by_status,
                      &env->by_time, &env->steps, &env->events};
  return slots[i];
}

static const char *const db_names[] = {"meta", "runs", "runs_by_status",
                                       "runs_by_time", "steps", "events"};
#define NDBS ((int)(sizeof db_names / sizeof db_names[0]))

static int meta_put(wfs_env *env, MDB_txn *txn, const char *name, const msgpack_sbuffer *v) {
  char kb[META_NAME_CAP];
  MDB_val k, d = {v->size, v->data};
  int rc = meta_key(name, kb, &k);
  return rc ? rc : wfs__mdb_err(env, mdb_put(txn, env->meta, &k, &d, 0));
}

/* Creates what is missing; run through wfs_write, so only the first open writes. */
static int create_dbs(wfs_txn *t, void *ud) {
  wfs_env *env = t->env;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  int rc;
  (void)ud;
  for (int i = 0; i < NDBS; i++)
    if ((rc = mdb_dbi_open(t->txn, db_names[i], MDB_CREATE, db_slot(env, i))))
      return wfs__mdb_err(env, rc);
  if ((rc = mdb_dbi_open(t->txn, "cache", MDB_CREATE, &env->cache)))
    return wfs__mdb_err(env, rc);
  env->has_cache = 1;
  rc = check_schema(env, t->txn, NULL);
  if (rc != WF_ENOTFOUND) return rc;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_uint64(&pk, WFS_SCHEMA_VERSION);
  rc = meta_put(env, t->txn, "schema", &sb);
  msgpack_sbuffer_clear(&sb);
  wfm_pack_str(&pk, WF_VERSION_STRING);
  if (!rc) rc = meta_put(env, t->txn, "created_by", &sb);
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

/* A store of an older schema is stamped with this one, so that an older wf refuses it
 * instead of misreading the newer records written from now on. */
static int stamp_schema(wfs_txn *t, void *ud) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  (void)ud;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_uint64(&pk, WFS_SCHEMA_VERSION);
  int rc = meta_put(t->env, t->txn, "schema", &sb);
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

static int create_cache(wfs_txn *t, void *ud) {
  (void)ud;
  int rc = mdb_dbi_open(t->txn, "cache", MDB_CREATE, &t->env->cache);
  if (rc) return wfs__mdb_err(t->env, rc);
  t->env->has_cache = 1;
  return 0;
}

/* Opening the databases of an existing store needs no write lock: a read transaction
 * whose commit keeps the handles. Only a new store takes the write path. */
static int open_dbs(wfs_env *env) {
  MDB_txn *txn;
  uint64_t version = WFS_SCHEMA_VERSION;
  int rc = begin_read(env, &txn);
  if (rc) return wfs__mdb_err(env, rc);
  for (int i = 0; !rc && i < NDBS; i++) rc = mdb_dbi_open(txn, db_names[i], 0, db_slot(env, i));
  rc = rc ? wfs__mdb_err(env, rc) : check_schema(env, txn, &version);
  /* The cache index came with schema 3: an older store gets it below. */
  env->has_cache = !rc && mdb_dbi_open(txn, "cache", 0, &env->cache) == 0;
  if (rc) {
    mdb_txn_abort(txn);
    return rc == WF_ENOTFOUND ? wfs_write(env, create_dbs, NULL) : rc;
  }
  if (mdb_txn_commit(txn)) return WF_ESTORE;
  /* A store that cannot be written (read-only media) is still read. */
  if (!env->has_cache && wfs_write(env, create_cache, NULL) != 0) env->has_cache = 0;
  if (version < WFS_SCHEMA_VERSION) wfs_write(env, stamp_schema, NULL);
  return 0;
}

/* ---- open and close ------------------------------------------------------------- */

/* An error of mdb_env_open: a system one is about the store's folder (its lock or data
 * file could not be created or opened). */
static int env_err(wfs_env *env, int rc) {
  if (rc == ENOMEM) return WF_ENOMEM;
  if (rc > 0) return wfs__fs_err(env->home, "/store", rc); /* errno values are positive */
  if (rc != MDB_INVALID) return WF_ESTORE;
  failure_note(env->home, "/store/data.mdb", 0); /* not an LMDB file at all */
  return WF_ENOTSTORE;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* A data file shorter than the pages its meta page says are used would fault (SIGBUS)
 * on the first read of a missing page: refuse it. Other processes may be committing
 * meanwhile, and a damage report must never come from that: the file's length is read
 * after the meta page, from the open file (LMDB writes a transaction's pages before the
 * meta page that names them, and never shortens the file, so a commit in between can
 * only make the file longer than needed), and a short length counts only when it is
 * the same on a second look a moment later. */
static int check_length(wfs_env *env) {
  size_t seen_need = 0, seen_have = 0;
  int fd;
  if (mdb_env_get_fd(env->env, &fd)) return WF_ESTORE;
  for (int look = 0;; look++) {
    MDB_envinfo info;
    MDB_stat st;
    struct stat fs;
    if (mdb_env_info(env->env, &info) || mdb_env_stat(env->env, &st)) return WF_ESTORE;
    if (fstat(fd, &fs) != 0) return wfs__fs_err(env->home, "/store/data.mdb", errno);
    size_t need = (size_t)(info.me_last_pgno + 1) * st.ms_psize, have = (size_t)fs.st_size;
    if (need <= have) return 0;
    if ((look > 0 && need == seen_need && have == seen_have) || look == 10) {
      failure_note(env->home, "/store/data.mdb", 0);
      return WF_ECORRUPT;
    }
    seen_need = need;
    seen_have = have;
    sleep_ms(20);
  }
}

static int open_lmdb(wfs_env *env, const char *dir, size_t filesize, unsigned readers) {
  int fd, rc, dead;
  if ((rc = mdb_env_create(&env->env))) return env_err(env, rc);
  if ((rc = mdb_env_set_maxdbs(env->env, 8)) ||
      (rc = mdb_env_set_maxreaders(env->env, readers)) ||
      (rc = mdb_env_set_mapsize(env->env, initial_map(filesize, env->mapcap))))
    return env_err(env, rc);
  if ((rc = mdb_env_open(env->env, dir, MDB_NORDAHEAD | MDB_NOTLS, 0600))) return env_err(env, rc);
  if ((rc = check_length(env))) return rc;
  /* Reader slots of crashed processes pin old pages until cleared. */
  if (mdb_reader_check(env->env, &dead) == 0 && dead > 0) env->stale_readers = (unsigned)dead;
  if (mdb_env_get_fd(env->env, &fd) == 0) {
    int fl = fcntl(fd, F_GETFD);
    if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0) return wfs__fs_err(dir, NULL, errno);
  }
  return 0;
}

/* Hold the store's open lock shared until wfs_close, waiting while a compaction holds it.
 * Best effort: a store whose folder cannot take the file is opened without it (LMDB's
 * own lock file, which wfs_compact checks too, still tells that the store is open). */
static void take_open_lock(wfs_env *env) {
  char path[4096];
  if (snprintf(path, sizeof path, "%s" WFS_OPEN_LOCK, env->home) >= (int)sizeof path) return;
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;
  while (flock(fd, LOCK_SH) != 0)
    if (errno != EINTR) {
      close(fd);
      return;
    }
  env->open_lock = fd;
}

/* The options with their defaults filled in; WF_EINVAL when one is out of range. */
static int resolve_opts(const wfs_opts *o, wfs_opts *r) {
  static const wfs_opts none;
  *r = o ? *o : none;
  if (!r->map_cap_mb) r->map_cap_mb = WFS_MAP_CAP_MB;
  if (!r->max_readers) r->max_readers = WFS_MAX_READERS;
  if (r->map_cap_mb > SIZE_MAX / MIB || r->max_readers > (1u << 20)) return WF_EINVAL;
  return 0;
}

int wfs_open_with(const char *home, const wfs_opts *o, wfs_env **out) {
  struct stat st;
  char *dir = NULL, *data = NULL;
  wfs_opts opts;
  int rc;
  *out = NULL;
  failure_clear();
  if (!home || !*home || resolve_opts(o, &opts)) return WF_EINVAL;
  wfs_env *env = calloc(1, sizeof *env);
  if (!env || !(env->home = wfs_strdup(home))) {
    free(env);
    return WF_ENOMEM;
  }
  for (size_t n = strlen(env->home); n > 1 && env->home[n - 1] == '/'; n--) env->home[n - 1] = 0;
  env->open_lock = -1;
  env->mapcap = (size_t)opts.map_cap_mb * MIB;
  env->fault = wfs__fault_init();
  if (!(dir = join(env->home, "/store")) || !(data = join(dir, "/data.mdb"))) {
    rc = WF_ENOMEM;
    goto fail;
  }
  if (stat(data, &st) != 0) {
    if (errno == ENAMETOOLONG) rc = WF_EINVAL;
    else if (opts.existing)
      rc = errno == ENOENT || errno == ENOTDIR ? WF_ENOTFOUND : wfs__fs_err(data, NULL, errno);
    else rc = 0;
    if (rc) goto fail;
    st.st_size = 0;
  }
  if (!opts.existing && (rc = make_folders(env->home))) goto fail;
  if (!opts.no_open_lock) take_open_lock(env);
  if ((rc = open_lmdb(env, dir, (size_t)st.st_size, opts.max_readers)) ||
      (rc = open_dbs(env)))
    goto fail;
  free(dir);
  free(data);
  *out = env;
  return 0;
fail:
  free(dir);
  free(data);
  wfs_close(env);
  return rc;
}

int wfs_open(const char *home, wfs_env **out) { return wfs_open_with(home, NULL, out); }

int wfs_open_existing(const char *home, wfs_env **out) {
  wfs_opts o = {.existing = 1};
  return wfs_open_with(home, &o, out);
}

void wfs_close(wfs_env *env) {
  if (!env) return;
  if (env->rtxn) mdb_txn_abort(env->rtxn);
  if (env->env) mdb_env_close(env->env);
  if (env->open_lock >= 0) close(env->open_lock);
  free(env->home);
  free(env);
}

const char *wfs_home(const wfs_env *env) { return env->home; }
