/* test_store.c — the LMDB store through wfstore.h (store/env.c, access.c): opening,
 * schema, runs with their indexes, steps, events, deletion, map growth and its cap, and
 * another process growing the map. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "assert_wf.h"
#include "wfs_internal.h"

/* ---- fixtures ---------------------------------------------------------------------- */

typedef struct fx {
  char dir[256];
  char home[300];
  wfs_env *env;
  wfs_opts opts;           /* how open_store opens it */
} fx;

static void rm_rf(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      char sub[1024];
      snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
      rm_rf(sub);
    }
    if (d) closedir(d);
    rmdir(path);
  } else {
    unlink(path);
  }
}

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  const char *tmp = getenv("TMPDIR");
  snprintf(f->dir, sizeof f->dir, "%s/wfstore-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(f->dir)) return -1;
  snprintf(f->home, sizeof f->home, "%s/home/", f->dir); /* trailing slash on purpose */
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  wfs_close(f->env);
  rm_rf(f->dir);
  free(f);
  return 0;
}

static wfs_env *open_store(fx *f) {
  assert_wf_ok(wfs_open_with(f->home, &f->opts, &f->env));
  return f->env;
}

static void reopen(fx *f) {
  wfs_close(f->env);
  f->env = NULL;
  open_store(f);
}

/* ---- helpers --------------------------------------------------------------------- */

static void make_run(wfs_run *r, const char *id, int status, int64_t created_at) {
  memset(r, 0, sizeof *r);
  r->id = wfs_strdup(id);
  r->workflow = wfs_strdup("demo");
  r->status = (uint8_t)status;
  r->created_at = created_at;
}

typedef struct run_op {
  const wfs_run *r, *old;
} run_op;

static int put_run_fn(wfs_txn *t, void *ud) {
  run_op *op = ud;
  return wfs_run_put(t, op->r, op->old);
}

static int put_run(wfs_env *env, const wfs_run *r, const wfs_run *old) {
  run_op op = {r, old};
  return wfs_write(env, put_run_fn, &op);
}

static int del_run_fn(wfs_txn *t, void *ud) { return wfs_run_del(t, ud); }

typedef struct step_op {
  const char *run_id;
  const wfs_step *s;
  size_t n;       /* how many: keys get a numeric suffix when > 1 */
  size_t outlen;  /* size of each incompressible output when n > 1 */
} step_op;

static int put_step_fn(wfs_txn *t, void *ud) {
  step_op *op = ud;
  if (op->n <= 1) return wfs_step_put(t, op->run_id, op->s);
  wfs_step s = *op->s;
  char key[32];
  uint8_t *out = malloc(op->outlen);
  uint64_t x = 0x9e3779b97f4a7c15ull;
  int rc = 0;
  out[0] = 0xc6; /* bin32 */
  out[1] = (uint8_t)((op->outlen - 5) >> 24);
  out[2] = (uint8_t)((op->outlen - 5) >> 16);
  out[3] = (uint8_t)((op->outlen - 5) >> 8);
  out[4] = (uint8_t)(op->outlen - 5);
  for (size_t i = 0; i < op->n && !rc; i++) {
    for (size_t j = 5; j < op->outlen; j++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      out[j] = (uint8_t)x;
    }
    snprintf(key, sizeof key, "big/%06zu", i);
    s.key = key;
    s.output = out;
    s.output_len = op->outlen;
    rc = wfs_step_put(t, op->run_id, &s);
  }
  free(out);
  return rc;
}

static int put_step(wfs_env *env, const char *run_id, const wfs_step *s) {
  step_op op = {run_id, s, 1, 0};
  return wfs_write(env, put_step_fn, &op);
}

static int put_event_fn(wfs_txn *t, void *ud) { return wfs_event_put(t, ud); }

static int fail_fn(wfs_txn *t, void *ud) {
  int rc = wfs_run_put(t, ud, NULL);
  return rc ? rc : WF_ESTATE;
}

/* Collects what a scan visits. */
typedef struct seen {
  char ids[64][32];
  int64_t times[64];
  int n;
  int stop_at;
} seen;

static int collect_id(void *ud, const char *id, int64_t created_at) {
  seen *s = ud;
  assert_true(s->n < 64);
  snprintf(s->ids[s->n], sizeof s->ids[0], "%s", id);
  s->times[s->n++] = created_at;
  return s->stop_at && s->n == s->stop_at ? 1234 : 0;
}

static int collect_step(void *ud, const wfs_step *st) {
  seen *s = ud;
  snprintf(s->ids[s->n++], sizeof s->ids[0], "%s", st->key);
  return 0;
}

static int collect_event(void *ud, const wfs_event *e) {
  seen *s = ud;
  s->times[s->n++] = (int64_t)e->seq;
  return 0;
}

static seen scan_runs(wfs_env *env, int status, int64_t since, int newest) {
  seen s = {.n = 0};
  wfs_txn t;
  assert_wf_ok(wfs_read_begin(env, &t));
  assert_wf_ok(wfs_runs_scan(&t, status, since, newest, collect_id, &s));
  wfs_read_end(&t);
  return s;
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_open_layout(void **state) {
  fx *f = *state;
  char p[400];
  struct stat st;
  wfs_txn t;
  uint64_t v;
  open_store(f);
  snprintf(p, sizeof p, "%s/home", f->dir);
  assert_string_equal(wfs_home(f->env), p);
  for (int i = 0; i < 3; i++) {
    snprintf(p, sizeof p, "%s%s", f->home, (const char *[]){"store", "logs", "runs"}[i]);
    assert_int_equal(stat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
  }
  assert_wf_ok(wfs_read_begin(f->env, &t));
  assert_wf_err(wfs_read_begin(f->env, &(wfs_txn){0}), WF_EINVAL); /* one at a time */
  assert_wf_ok(wfs_meta_get_u64(&t, "schema", &v));
  assert_int_equal(v, WFS_SCHEMA_VERSION);
  assert_wf_err(wfs_meta_get_u64(&t, "nope", &v), WF_ENOTFOUND);
  wfs_read_end(&t);
  wfs_read_end(&t); /* harmless */
  for (int i = 0; i < 1000; i++) {
    assert_wf_ok(wfs_read_begin(f->env, &t));
    wfs_read_end(&t);
  }
  reopen(f);
}

static void test_open_existing(void **state) {
  fx *f = *state;
  char p[400];
  struct stat st;
  wfs_env *env = (wfs_env *)1;
  assert_wf_err(wfs_open_existing(f->home, &env), WF_ENOTFOUND);
  assert_null(env);
  assert_int_equal(stat(f->home, &st), -1); /* nothing created */
  assert_int_equal(mkdir(f->home, 0700), 0);
  assert_wf_err(wfs_open_existing(f->home, &env), WF_ENOTFOUND);
  snprintf(p, sizeof p, "%sstore", f->home);
  assert_int_equal(stat(p, &st), -1);
  open_store(f);
  wfs_close(f->env);
  f->env = NULL;
  assert_wf_ok(wfs_open_existing(f->home, &env));
  wfs_close(env);
}

/* Put `len` bytes as meta's schema value of the closed store of f. */
static void put_schema(fx *f, const char *bytes, size_t len) {
  char p[400], value[8];
  MDB_env *menv;
  MDB_txn *txn;
  MDB_dbi dbi;
  snprintf(p, sizeof p, "%sstore", f->home);
  assert_int_equal(mdb_env_create(&menv), 0);
  assert_int_equal(mdb_env_set_maxdbs(menv, 8), 0);
  assert_int_equal(mdb_env_open(menv, p, 0, 0600), 0);
  assert_int_equal(mdb_txn_begin(menv, NULL, 0, &txn), 0);
  assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
  assert_true(len <= sizeof value);
  memcpy(value, bytes, len);
  MDB_val k = {6, "schema"}, v = {len, value};
  assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
  assert_int_equal(mdb_txn_commit(txn), 0);
  mdb_env_close(menv);
}

static void test_schema_newer(void **state) {
  fx *f = *state;
  open_store(f);
  wfs_close(f->env);
  f->env = NULL;
  put_schema(f, "\x63", 1);
  wfs_env *env = NULL;
  assert_wf_err(wfs_open(f->home, &env), WF_ESCHEMA);
  assert_null(env);
  assert_wf_err(wfs_open_existing(f->home, &env), WF_ESCHEMA);
}

/* A schema value wf never writes (0, not a number) is not a wf store; the failure names
 * the store's folder. */
static void test_schema_not_wf(void **state) {
  fx *f = *state;
  static const struct { const char *bytes; size_t len; } bad[] = {
      {"\x00", 1}, {"\xa3" "abc", 4}, {"\xc0", 1}, {"\xff", 1}, {"\x01\x01", 2}, {"", 0}};
  char want[400];
  open_store(f);
  wfs_close(f->env);
  f->env = NULL;
  snprintf(want, sizeof want, "%sstore", f->home);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    wfs_env *env = NULL;
    put_schema(f, bad[i].bytes, bad[i].len);
    assert_wf_err(wfs_open(f->home, &env), WF_ENOTSTORE);
    assert_null(env);
    assert_string_equal(wfs_last_failure()->path, want);
    assert_wf_err(wfs_open_existing(f->home, &env), WF_ENOTSTORE);
  }
  put_schema(f, "\x01", 1);
  assert_wf_ok(wfs_open_existing(f->home, &f->env));
  assert_string_equal(wfs_last_failure()->path, "");
}

static void test_run_put_get(void **state) {
  fx *f = *state;
  wfs_run r, back;
  wfs_txn t;
  open_store(f);
  make_run(&r, "run-1", WFS_RUN_RUNNING, 1000);
  r.params = (uint8_t *)wfs_strdup("\x81\xa1k\x01");
  r.params_len = 4;
  assert_wf_ok(put_run(f->env, &r, NULL));
  assert_wf_err(put_run(f->env, &r, NULL), WF_EEXIST);
  reopen(f);
  assert_wf_ok(wfs_read_begin(f->env, &t));
  assert_wf_ok(wfs_run_get(&t, "run-1", &back));
  assert_string_equal(back.id, "run-1");
  assert_string_equal(back.workflow, "demo");
  assert_int_equal(back.status, WFS_RUN_RUNNING);
  assert_int_equal(back.params_len, 4);
  assert_memory_equal(back.params, r.params, 4);
  wfs_run_clear(&back);
  assert_wf_err(wfs_run_get(&t, "run-2", &back), WF_ENOTFOUND);
  assert_wf_err(wfs_run_get(&t, "bad/id", &back), WF_EINVAL);
  wfs_read_end(&t);
  /* A failing transaction leaves nothing behind. */
  wfs_run other;
  make_run(&other, "run-2", WFS_RUN_PENDING, 2000);
  assert_wf_err(wfs_write(f->env, fail_fn, &other), WF_ESTATE);
  assert_wf_ok(wfs_read_begin(f->env, &t));
  assert_wf_err(wfs_run_get(&t, "run-2", &back), WF_ENOTFOUND);
  wfs_read_end(&t);
  assert_int_equal(scan_runs(f->env, -1, 0, 0).n, 1);
  /* Statuses that are never stored. */
  other.status = WFS_RUN_INTERRUPTED;
  assert_wf_err(put_run(f->env, &other, NULL), WF_EINVAL);
  wfs_run_clear(&other);
  wfs_run_clear(&r);
}

/* Every run appears in exactly one runs_by_status entry, the one of its status. */
static void assert_indexes(wfs_env *env, wfs_run *runs, int n) {
  int found[64] = {0};
  for (int st = 0; st < WFS_RUN_NSTATUS; st++) {
    seen s = scan_runs(env, st, 0, 0);
    for (int i = 0; i < s.n; i++) {
      int j = atoi(s.ids[i] + 2);
      assert_true(j >= 0 && j < n);
      assert_int_equal(runs[j].status, st);
      assert_true(s.times[i] == runs[j].created_at);
      found[j]++;
    }
  }
  for (int j = 0; j < n; j++) assert_int_equal(found[j], 1);
  assert_int_equal(scan_runs(env, -1, 0, 0).n, n);
}

static void test_indexes(void **state) {
  fx *f = *state;
  enum { N = 40 };
  wfs_run runs[N], old;
  char id[16];
  open_store(f);
  for (int i = 0; i < N; i++) {
    snprintf(id, sizeof id, "r-%d", i);
    make_run(&runs[i], id, WFS_RUN_PENDING, 1000 + (i * 7919) % N);
    assert_wf_ok(put_run(f->env, &runs[i], NULL));
  }
  assert_indexes(f->env, runs, N);
  static const int path[] = {WFS_RUN_RUNNING, WFS_RUN_FAILED, WFS_RUN_RUNNING,
                             WFS_RUN_SUCCEEDED, WFS_RUN_DEGRADED, WFS_RUN_CANCELED};
  for (int step = 0; step < 6; step++) {
    for (int i = 0; i < N; i++) {
      if ((i + step) % 3 == 0) continue;
      old = runs[i];
      wfs_run now = old;
      now.status = (uint8_t)path[(step + i) % 6];
      if (i % 5 == 0) now.created_at += 100; /* the time index moves too */
      assert_wf_ok(put_run(f->env, &now, &old));
      runs[i].status = now.status;
      runs[i].created_at = now.created_at;
    }
    assert_indexes(f->env, runs, N);
  }
  /* An old record that is not this run's. */
  assert_wf_err(put_run(f->env, &runs[1], &runs[2]), WF_EINVAL);
  for (int i = 0; i < N; i++) wfs_run_clear(&runs[i]);
}

/* Six runs for the scans; oldest first: a c aa b d e (aa and b at the same time). */
static void put_scan_runs(fx *f) {
  wfs_run r;
  static const struct { const char *id; int st; int64_t at; } rs[] = {
    {"b", WFS_RUN_FAILED, 300}, {"a", WFS_RUN_SUCCEEDED, 100}, {"c", WFS_RUN_FAILED, 200},
    {"d", WFS_RUN_CANCELED, 400}, {"e", WFS_RUN_PENDING, 0x7fffffffffffffffLL},
    {"aa", WFS_RUN_FAILED, 300}};
  for (size_t i = 0; i < sizeof rs / sizeof rs[0]; i++) {
    make_run(&r, rs[i].id, rs[i].st, rs[i].at);
    assert_wf_ok(put_run(f->env, &r, NULL));
    wfs_run_clear(&r);
  }
}

static void test_runs_scan(void **state) {
  fx *f = *state;
  open_store(f);
  put_scan_runs(f);
  seen s = scan_runs(f->env, -1, 0, 0);
  assert_int_equal(s.n, 6);
  const char *oldest[] = {"a", "c", "aa", "b", "d", "e"};
  for (int i = 0; i < 6; i++) assert_string_equal(s.ids[i], oldest[i]);
  s = scan_runs(f->env, -1, 0, 1);
  assert_int_equal(s.n, 6);
  for (int i = 0; i < 6; i++) assert_string_equal(s.ids[i], oldest[5 - i]);
  assert_true(s.times[0] == 0x7fffffffffffffffLL);

  s = scan_runs(f->env, WFS_RUN_FAILED, 0, 1);
  assert_int_equal(s.n, 3);
  assert_string_equal(s.ids[0], "b");
  assert_string_equal(s.ids[1], "aa");
  assert_string_equal(s.ids[2], "c");
  s = scan_runs(f->env, WFS_RUN_FAILED, 250, 0);
  assert_int_equal(s.n, 2);
  assert_string_equal(s.ids[0], "aa");
  s = scan_runs(f->env, WFS_RUN_FAILED, 250, 1);
  assert_int_equal(s.n, 2);
  assert_string_equal(s.ids[1], "aa");
  s = scan_runs(f->env, -1, 300, 1);
  assert_int_equal(s.n, 4);
  s = scan_runs(f->env, -1, 301, 0);
  assert_int_equal(s.n, 2);
  s = scan_runs(f->env, WFS_RUN_CANCELED, 0, 1);
  assert_int_equal(s.n, 1);
  assert_string_equal(s.ids[0], "d");
  assert_int_equal(scan_runs(f->env, WFS_RUN_RUNNING, 0, 1).n, 0);
  assert_int_equal(scan_runs(f->env, WFS_RUN_RUNNING, 0, 0).n, 0);

  /* A callback's non-zero return stops the scan and is returned. */
  wfs_txn t;
  seen stop = {.stop_at = 2};
  assert_wf_ok(wfs_read_begin(f->env, &t));
  assert_int_equal(wfs_runs_scan(&t, -1, 0, 1, collect_id, &stop), 1234);
  assert_int_equal(stop.n, 2);
  assert_wf_err(wfs_runs_scan(&t, WFS_RUN_NSTATUS, 0, 1, collect_id, &stop), WF_EINVAL);
  wfs_read_end(&t);
}

static seen scan_range(wfs_env *env, const wfs_runs_range *r) {
  seen s = {.n = 0};
  wfs_txn t;
  assert_wf_ok(wfs_read_begin(env, &t));
  assert_wf_ok(wfs_runs_scan_range(&t, r, collect_id, &s));
  wfs_read_end(&t);
  return s;
}

static void assert_ids(const seen *s, const char *want) {
  char got[512] = "";
  for (int i = 0; i < s->n; i++)
    snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? " " : "", s->ids[i]);
  assert_string_equal(got, want);
}

/* The ids range r visits, in order, are `want` (space-separated). */
static void expect_range(wfs_env *env, const wfs_runs_range *r, const char *want) {
  seen s = scan_range(env, r);
  assert_ids(&s, want);
}

/* Several statuses merged into one order, bounds on both sides, and paging after a run
 * (existing or not) in either direction. */
static void test_runs_scan_range(void **state) {
  fx *f = *state;
  open_store(f);
  put_scan_runs(f);
  const unsigned fc = 1u << WFS_RUN_FAILED | 1u << WFS_RUN_CANCELED;
  wfs_runs_range q = {.statuses = fc, .newest_first = 1};
  expect_range(f->env, &q, "d b aa c");
  q.newest_first = 0;
  seen s = scan_range(f->env, &q);
  assert_ids(&s, "c aa b d");
  assert_true(s.times[3] == 400);
  /* Every stored status merged is the time order. */
  q.statuses = (1u << WFS_RUN_INTERRUPTED) - 1;
  expect_range(f->env, &q, "a c aa b d e");
  q = (wfs_runs_range){.statuses = 1u << WFS_RUN_FAILED | 1u << WFS_RUN_SUCCEEDED |
                                   1u << WFS_RUN_PENDING, .since = 150, .until = 400};
  expect_range(f->env, &q, "c aa b");
  q.newest_first = 1;
  expect_range(f->env, &q, "b aa c");

  /* Paging: strictly after the given run, whether it exists or not. */
  q = (wfs_runs_range){.newest_first = 1, .after_id = "b", .after_created_at = 300};
  expect_range(f->env, &q, "aa c a");
  q.statuses = fc;
  expect_range(f->env, &q, "aa c");
  q = (wfs_runs_range){.statuses = fc, .after_id = "aa", .after_created_at = 300};
  expect_range(f->env, &q, "b d");
  q = (wfs_runs_range){.newest_first = 1, .after_id = "zz", .after_created_at = 250};
  expect_range(f->env, &q, "c a");
  q.newest_first = 0;
  expect_range(f->env, &q, "aa b d e");
  q.since = 350; /* the later of the two lower edges counts */
  expect_range(f->env, &q, "d e");
  q = (wfs_runs_range){.newest_first = 1, .until = 300, .after_id = "d", .after_created_at = 400};
  expect_range(f->env, &q, "c a");

  /* Refused, and stopped by the callback. */
  wfs_txn t;
  assert_wf_ok(wfs_read_begin(f->env, &t));
  q = (wfs_runs_range){.statuses = 1u << WFS_RUN_NSTATUS};
  assert_wf_err(wfs_runs_scan_range(&t, &q, collect_id, &s), WF_EINVAL);
  q = (wfs_runs_range){.since = -1};
  assert_wf_err(wfs_runs_scan_range(&t, &q, collect_id, &s), WF_EINVAL);
  q = (wfs_runs_range){.after_id = "no/slash", .after_created_at = 1};
  assert_wf_err(wfs_runs_scan_range(&t, &q, collect_id, &s), WF_EINVAL);
  seen stop = {.stop_at = 3};
  q = (wfs_runs_range){.statuses = fc, .newest_first = 1};
  assert_int_equal(wfs_runs_scan_range(&t, &q, collect_id, &stop), 1234);
  assert_ids(&stop, "d b aa");
  wfs_read_end(&t);
}

/* Options out of range are refused before anything is made. */
static void test_open_opts(void **state) {
  fx *f = *state;
  struct stat st;
  f->opts.max_readers = (1u << 20) + 1;
  assert_wf_err(wfs_open_with(f->home, &f->opts, &f->env), WF_EINVAL);
  f->opts = (wfs_opts){.map_cap_mb = UINT64_MAX};
  assert_wf_err(wfs_open_with(f->home, &f->opts, &f->env), WF_EINVAL);
  assert_int_not_equal(stat(f->home, &st), 0);
  f->opts = (wfs_opts){.existing = 1};
  assert_wf_err(wfs_open_with(f->home, &f->opts, &f->env), WF_ENOTFOUND);
  f->opts = (wfs_opts){.max_readers = 8};
  open_store(f);
  unsigned n = 0;
  assert_int_equal(mdb_env_get_maxreaders(f->env->env, &n), 0);
  assert_true(n >= 8 && n < 64);
}

static void test_steps(void **state) {
  fx *f = *state;
  wfs_step s = {0}, back;
  wfs_txn t;
  int status;
  uint64_t hash;
  uint32_t gen;
  static const char *const keys[] = {"fetch/1", "fetch/2", "fetchall", "parse/1", "ünï"};
  open_store(f);
  for (int run = 0; run < 2; run++) {
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
      s.key = keys[i];
      s.stage = "stage";
      s.status = (uint8_t)(i % WFS_STEP_NSTATUS);
      s.input_hash = 1000 + i;
      s.generation = (uint32_t)run;
      s.output = (uint8_t *)"\xa2ok";
      s.output_len = 3;
      assert_wf_ok(put_step(f->env, run ? "r1" : "r", &s));
    }
  }
  s.key = "";
  assert_wf_err(put_step(f->env, "r", &s), WF_EINVAL);
  assert_wf_ok(wfs_read_begin(f->env, &t));
  assert_wf_ok(wfs_step_get(&t, "r", "parse/1", &back));
  assert_string_equal(back.key, "parse/1");
  assert_string_equal(back.stage, "stage");
  assert_int_equal(back.status, 3);
  assert_int_equal(back.output_len, 3);
  wfs_step_clear(&back);
  assert_wf_ok(wfs_step_peek(&t, "r1", "fetch/2", &status, &hash, &gen));
  assert_int_equal(status, 1);
  assert_true(hash == 1001);
  assert_int_equal(gen, 1);
  assert_wf_err(wfs_step_peek(&t, "r1", "nope", &status, &hash, &gen), WF_ENOTFOUND);
  assert_wf_err(wfs_step_get(&t, "r2", "fetch/1", &back), WF_ENOTFOUND);
  assert_wf_err(wfs_step_get(&t, "r", "bad\nkey", &back), WF_EINVAL);

  seen sc = {.n = 0};
  assert_wf_ok(wfs_steps_scan(&t, "r", "fetch", collect_step, &sc));
  assert_int_equal(sc.n, 3);
  assert_string_equal(sc.ids[0], "fetch/1");
  assert_string_equal(sc.ids[2], "fetchall");
  sc.n = 0;
  assert_wf_ok(wfs_steps_scan(&t, "r", "fetch/", collect_step, &sc));
  assert_int_equal(sc.n, 2);
  sc.n = 0;
  assert_wf_ok(wfs_steps_scan(&t, "r", "", collect_step, &sc));
  assert_int_equal(sc.n, 5); /* not r1's */
  sc.n = 0;
  assert_wf_ok(wfs_steps_scan(&t, "r", "zzz", collect_step, &sc));
  assert_int_equal(sc.n, 0);
  wfs_read_end(&t);
}

static void test_events(void **state) {
  fx *f = *state;
  wfs_event e = {0};
  wfs_txn t;
  open_store(f);
  /* Interleaved: the events of r1 go at the end of the database (appended), those of r
   * before them (put where they belong). */
  for (uint64_t seq = 0; seq < 300; seq++) {
    for (int run = 1; run >= 0; run--) {
      e.run_id = run ? "r1" : "r";
      e.seq = seq;
      e.type = WFS_EV_STEP_STARTED;
      e.detail = "d";
      assert_wf_ok(wfs_write(f->env, put_event_fn, &e));
    }
  }
  /* Never over another event: not at the end, nor in the middle. */
  e.run_id = "r1";
  e.seq = 299;
  assert_wf_err(wfs_write(f->env, put_event_fn, &e), WF_ESTATE);
  e.run_id = "r";
  e.seq = 7;
  assert_wf_err(wfs_write(f->env, put_event_fn, &e), WF_ESTATE);
  assert_wf_ok(wfs_read_begin(f->env, &t));
  seen s = {.n = 0};
  assert_wf_ok(wfs_events_scan(&t, "r", 250, collect_event, &s));
  assert_int_equal(s.n, 50);
  /* Big-endian sequence numbers keep their order across byte boundaries (255, 256). */
  for (int i = 0; i < 50; i++) assert_true(s.times[i] == 250 + i);
  s.n = 0;
  assert_wf_ok(wfs_events_scan(&t, "r1", 299, collect_event, &s));
  assert_int_equal(s.n, 1);
  s.n = 0;
  assert_wf_ok(wfs_events_scan(&t, "r", 300, collect_event, &s));
  assert_int_equal(s.n, 0);
  wfs_read_end(&t);
}

static int count_steps(void *ud, const wfs_step *s) {
  (void)s;
  (*(int *)ud)++;
  return 0;
}

static int count_events(void *ud, const wfs_event *e) {
  (void)e;
  (*(int *)ud)++;
  return 0;
}

static void test_run_del(void **state) {
  fx *f = *state;
  wfs_run r[2];
  wfs_step s = {.key = "k", .status = WFS_STEP_SUCCEEDED};
  wfs_event e = {.type = WFS_EV_RUN_STARTED};
  wfs_txn t;
  int n;
  open_store(f);
  const char *ids[] = {"r", "r1"};
  for (int i = 0; i < 2; i++) {
    make_run(&r[i], ids[i], WFS_RUN_SUCCEEDED, 500);
    assert_wf_ok(put_run(f->env, &r[i], NULL));
    for (int j = 0; j < 3; j++) {
      char key[8];
      snprintf(key, sizeof key, "k%d", j);
      s.key = key;
      assert_wf_ok(put_step(f->env, ids[i], &s));
      e.run_id = ids[i];
      e.seq = (uint64_t)j;
      assert_wf_ok(wfs_write(f->env, put_event_fn, &e));
    }
  }
  /* The caller's copy is stale: the stored status decides which index key goes. */
  wfs_run stale = r[0];
  stale.status = WFS_RUN_RUNNING;
  assert_wf_ok(wfs_write(f->env, del_run_fn, &stale));
  assert_wf_ok(wfs_read_begin(f->env, &t));
  wfs_run back;
  assert_wf_err(wfs_run_get(&t, "r", &back), WF_ENOTFOUND);
  n = 0;
  assert_wf_ok(wfs_steps_scan(&t, "r", "", count_steps, &n));
  assert_int_equal(n, 0);
  assert_wf_ok(wfs_events_scan(&t, "r", 0, count_events, &n));
  assert_int_equal(n, 0);
  assert_wf_ok(wfs_steps_scan(&t, "r1", "", count_steps, &n));
  assert_int_equal(n, 3);
  assert_wf_ok(wfs_events_scan(&t, "r1", 0, count_events, &n));
  assert_int_equal(n, 6);
  assert_wf_ok(wfs_run_get(&t, "r1", &back));
  wfs_run_clear(&back);
  wfs_read_end(&t);
  seen all = scan_runs(f->env, -1, 0, 0);
  assert_int_equal(all.n, 1);
  assert_string_equal(all.ids[0], "r1");
  for (int st = 0; st < WFS_RUN_NSTATUS; st++)
    assert_int_equal(scan_runs(f->env, st, 0, 0).n, st == WFS_RUN_SUCCEEDED);
  wfs_run_clear(&r[0]);
  wfs_run_clear(&r[1]);
}

static int cache_put_fn(wfs_txn *t, void *ud) {
  const char *const *a = ud; /* workflow, activity, run, key, hash as text */
  return wfs_cache_put(t, a[0], a[1], strtoull(a[4], NULL, 16), a[2], a[3]);
}

/* The entry of (workflow, activity, hash): "run step", or "" when there is none. */
static const char *cache_entry(wfs_env *env, const char *wf, const char *act, uint64_t h) {
  static char buf[256];
  char *run = NULL, *key = NULL;
  wfs_txn t;
  assert_wf_ok(wfs_read_begin(env, &t));
  int rc = wfs_cache_get(&t, wf, act, h, &run, &key);
  wfs_read_end(&t);
  assert_true(rc == 0 || rc == WF_ENOTFOUND);
  snprintf(buf, sizeof buf, "%s%s%s", rc ? "" : run, rc ? "" : " ", rc ? "" : key);
  free(run);
  free(key);
  return buf;
}

/* The cache index: one key per (workflow, activity, input hash); a newer step replaces
 * an entry; deleting a run drops the entries its steps own and only those. */
static void test_cache(void **state) {
  fx *f = *state;
  open_store(f);
  const char *puts[][5] = {
      {"wf", "run", "r1", "a", "1"},      {"wf", "run", "r1", "b/x", "2"},
      {"wf", "shell", "r1", "c", "1"},    {"other", "run", "r2", "a", "1"},
      {"wf", "run", "r2", "b/x", "2"}, /* replaces r1's entry for hash 2 */
  };
  for (size_t i = 0; i < sizeof puts / sizeof puts[0]; i++)
    assert_wf_ok(wfs_write(f->env, cache_put_fn, (void *)puts[i]));
  assert_string_equal(cache_entry(f->env, "wf", "run", 1), "r1 a");
  assert_string_equal(cache_entry(f->env, "wf", "run", 2), "r2 b/x");
  assert_string_equal(cache_entry(f->env, "wf", "shell", 1), "r1 c");
  assert_string_equal(cache_entry(f->env, "other", "run", 1), "r2 a");
  assert_string_equal(cache_entry(f->env, "wf", "run", 3), "");
  assert_string_equal(cache_entry(f->env, "wf", "uses:x", 1), "");
  /* Deleting r1 drops its own entries, not the one r2 took over. */
  wfs_run r;
  make_run(&r, "r1", WFS_RUN_SUCCEEDED, 500);
  assert_wf_ok(put_run(f->env, &r, NULL));
  assert_wf_ok(wfs_write(f->env, del_run_fn, &r));
  assert_string_equal(cache_entry(f->env, "wf", "run", 1), "");
  assert_string_equal(cache_entry(f->env, "wf", "shell", 1), "");
  assert_string_equal(cache_entry(f->env, "wf", "run", 2), "r2 b/x");
  assert_string_equal(cache_entry(f->env, "other", "run", 1), "r2 a");
  /* And the index survives a reopen; r2's entries go with r2. */
  reopen(f);
  wfs_run_clear(&r);
  make_run(&r, "r2", WFS_RUN_SUCCEEDED, 600);
  assert_wf_ok(put_run(f->env, &r, NULL));
  assert_wf_ok(wfs_write(f->env, del_run_fn, &r));
  assert_string_equal(cache_entry(f->env, "wf", "run", 2), "");
  assert_string_equal(cache_entry(f->env, "other", "run", 1), "");
  wfs_run_clear(&r);
  /* A key longer than LMDB takes is refused, not truncated. */
  char longwf[600];
  memset(longwf, 'w', sizeof longwf - 1);
  longwf[sizeof longwf - 1] = '\0';
  const char *too_long[5] = {longwf, "run", "r3", "a", "1"};
  assert_wf_err(wfs_write(f->env, cache_put_fn, (void *)too_long), WF_EINVAL);
}

static void test_key_checks(void **state) {
  (void)state;
  char longid[WFS_MAX_ID + 2], longkey[WFS_MAX_STEP_KEY + 2];
  assert_wf_ok(wfs_check_run_id("run_2024-01-01.x~!"));
  const char *bad_ids[] = {"", ".hidden", "-x", "a/b", "a\\b", "a b", "tab\t", "é", NULL};
  for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++)
    assert_wf_err(wfs_check_run_id(bad_ids[i]), WF_EINVAL);
  memset(longid, 'a', sizeof longid);
  longid[WFS_MAX_ID] = 0;
  assert_wf_ok(wfs_check_run_id(longid));
  longid[WFS_MAX_ID] = 'a';
  longid[WFS_MAX_ID + 1] = 0;
  assert_wf_err(wfs_check_run_id(longid), WF_EINVAL);
  assert_wf_ok(wfs_check_step_key("fetch/2024 ü \"q\""));
  const char *bad_keys[] = {"", "a\nb", "\x7f", "\x1b[31m", NULL};
  for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++)
    assert_wf_err(wfs_check_step_key(bad_keys[i]), WF_EINVAL);
  memset(longkey, 'k', sizeof longkey);
  longkey[WFS_MAX_STEP_KEY] = 0;
  assert_wf_ok(wfs_check_step_key(longkey));
  longkey[WFS_MAX_STEP_KEY] = 'k';
  longkey[WFS_MAX_STEP_KEY + 1] = 0;
  assert_wf_err(wfs_check_step_key(longkey), WF_EINVAL);
}

static void test_map_growth(void **state) {
  fx *f = *state;
  wfs_step s = {.stage = "big", .status = WFS_STEP_SUCCEEDED};
  step_op op = {"grow", &s, 300, 64 << 10}; /* ~19 MiB, incompressible */
  MDB_envinfo info;
  wfs_txn t;
  int n = 0;
  f->opts.map_cap_mb = 1024;
  open_store(f);
  assert_wf_ok(wfs_write(f->env, put_step_fn, &op));
  assert_int_equal(mdb_env_info(f->env->env, &info), 0);
  assert_true(info.me_mapsize > (size_t)16 << 20);
  reopen(f);
  assert_wf_ok(wfs_read_begin(f->env, &t));
  assert_wf_ok(wfs_steps_scan(&t, "grow", "big/", count_steps, &n));
  assert_int_equal(n, 300);
  wfs_read_end(&t);
}

static void test_map_cap(void **state) {
  fx *f = *state;
  wfs_run r, back;
  wfs_step s = {.stage = "big", .status = WFS_STEP_SUCCEEDED};
  step_op op = {"cap", &s, 640, 64 << 10}; /* 40 MiB */
  wfs_txn t;
  int n = 0;
  f->opts.map_cap_mb = 16;
  open_store(f);
  make_run(&r, "early", WFS_RUN_SUCCEEDED, 1);
  assert_wf_ok(put_run(f->env, &r, NULL));
  assert_wf_err(wfs_write(f->env, put_step_fn, &op), WF_EMAPFULL);
  /* Still usable, and a small write still fits. */
  make_run(&back, "later", WFS_RUN_PENDING, 2);
  assert_wf_ok(put_run(f->env, &back, NULL));
  wfs_run_clear(&back);
  f->opts.map_cap_mb = 0;
  reopen(f);
  assert_wf_ok(wfs_read_begin(f->env, &t));
  assert_wf_ok(wfs_run_get(&t, "early", &back));
  assert_int_equal(back.status, WFS_RUN_SUCCEEDED);
  wfs_run_clear(&back);
  assert_wf_ok(wfs_steps_scan(&t, "cap", "", count_steps, &n));
  assert_int_equal(n, 0);
  wfs_read_end(&t);
  wfs_run_clear(&r);
}

/* Another process grows the map while this one has the store open. */
static void test_map_resized_elsewhere(void **state) {
  fx *f = *state;
  int go[2];
  char c = 0;
  wfs_run r, back;
  wfs_txn t;
  int n = 0;
  f->opts.map_cap_mb = 1024;
  assert_int_equal(pipe(go), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) { /* opens the store only after the parent did */
    wfs_env *env;
    wfs_step s = {.stage = "big", .status = WFS_STEP_SUCCEEDED};
    step_op op = {"other", &s, 640, 64 << 10};
    int ok = read(go[0], &c, 1) == 1 && wfs_open_with(f->home, &f->opts, &env) == 0 &&
             wfs_write(env, put_step_fn, &op) == 0;
    if (ok) wfs_close(env);
    _exit(ok ? 0 : 1);
  }
  open_store(f);
  make_run(&r, "mine", WFS_RUN_RUNNING, 5);
  assert_wf_ok(put_run(f->env, &r, NULL));
  assert_wf_ok(wfs_read_begin(f->env, &t));
  wfs_read_end(&t);
  assert_int_equal(write(go[1], &c, 1), 1);
  int wstatus;
  assert_int_equal(waitpid(pid, &wstatus, 0), pid);
  assert_true(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
  assert_wf_ok(wfs_read_begin(f->env, &t));
  assert_wf_ok(wfs_steps_scan(&t, "other", "", count_steps, &n));
  assert_int_equal(n, 640);
  wfs_read_end(&t);
  wfs_run now = r;
  now.status = WFS_RUN_SUCCEEDED;
  assert_wf_ok(put_run(f->env, &now, &r));
  assert_wf_ok(wfs_read_begin(f->env, &t));
  assert_wf_ok(wfs_run_get(&t, "mine", &back));
  assert_int_equal(back.status, WFS_RUN_SUCCEEDED);
  wfs_run_clear(&back);
  wfs_read_end(&t);
  wfs_run_clear(&r);
  close(go[0]);
  close(go[1]);
}

/* A step reported done must be on disk: no flag that trades that for speed (NOSYNC and
 * MAPASYNC skip the data sync, NOMETASYNC the meta page's, WRITEMAP writes through the map
 * and syncs with msync) may be set, whichever way the store is opened and after writes.
 * Process kills cannot see a missing sync (the page cache survives them); this can. */
static void assert_durable(wfs_env *env, const char *when) {
  static const struct { unsigned flag; const char *name; } unsafe[] = {
    {MDB_NOSYNC, "MDB_NOSYNC"}, {MDB_NOMETASYNC, "MDB_NOMETASYNC"},
    {MDB_WRITEMAP, "MDB_WRITEMAP"}, {MDB_MAPASYNC, "MDB_MAPASYNC"}, {MDB_RDONLY, "MDB_RDONLY"}};
  unsigned flags = 0;
  assert_int_equal(mdb_env_get_flags(env->env, &flags), 0);
  for (size_t i = 0; i < sizeof unsafe / sizeof unsafe[0]; i++)
    if (flags & unsafe[i].flag)
      fail_msg("store %s has %s set (environment flags 0x%x)", when, unsafe[i].name, flags);
}

static void test_durable_flags(void **state) {
  fx *f = *state;
  wfs_env *env = NULL;
  wfs_run r;
  open_store(f);
  assert_durable(f->env, "created by wfs_open");
  make_run(&r, "r1", WFS_RUN_RUNNING, 1000);
  assert_wf_ok(put_run(f->env, &r, NULL));
  assert_durable(f->env, "after a write");
  reopen(f);
  assert_durable(f->env, "reopened by wfs_open");
  assert_wf_ok(wfs_open_existing(f->home, &env));
  assert_durable(env, "opened by wfs_open_existing");
  assert_wf_err(put_run(env, &r, NULL), WF_EEXIST);
  assert_durable(env, "after a refused write");
  wfs_close(env);
  wfs_run_clear(&r);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
    T(test_open_layout), T(test_open_existing), T(test_schema_newer), T(test_schema_not_wf),
    T(test_run_put_get),
    T(test_indexes),     T(test_runs_scan),     T(test_runs_scan_range), T(test_open_opts),
    T(test_steps),       T(test_events),
    T(test_run_del),     T(test_cache),         T(test_key_checks),    T(test_map_growth),   T(test_map_cap),
    T(test_map_resized_elsewhere), T(test_durable_flags),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
