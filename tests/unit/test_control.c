/* test_control.c — changing a run from outside its owner (engine/control.c): cancel, at
 * once or by asking its owner, and delete, refused while a live process owns the run and
 * leaving nothing of it behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "assert_wf.h"
#include "api_fixture.h"

static void test_cancel(void **state) {
  (void)state;
  wf_run *run;
  wf_run_info *r;
  assert_wf_err(wf_run_cancel(st, "nope"), WF_ENOTFOUND);
  assert_wf_err(wf_run_cancel(st, "no pe"), WF_EINVAL);
  make_run("live", "api", -2, &run);
  assert_wf_ok(wf_run_cancel(st, "live")); /* its owner is asked */
  assert_wf_ok(wf_run_info_get(st, "live", &r));
  assert_int_equal(r->status, WF_RUN_RUNNING);
  assert_true(r->cancel_requested);
  wf_run_info_free(r);
  wf_run_close(run);
  assert_wf_ok(wf_run_cancel(st, "live")); /* nobody owns it now: at once */
  assert_wf_ok(wf_run_info_get(st, "live", &r));
  assert_int_equal(r->status, WF_RUN_CANCELED);
  wf_run_info_free(r);
  assert_wf_err(wf_run_cancel(st, "live"), WF_ESTATE);
}

static void touch(const char *path) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fclose(f);
}

/* Whether `rel` exists under the store's home. */
static int exists(const char *rel) {
  char p[256];
  struct stat sb;
  snprintf(p, sizeof p, "%s/%s", dir, rel);
  return stat(p, &sb) == 0;
}

static void test_delete(void **state) {
  (void)state;
  wf_run *run;
  char p[256];
  assert_wf_err(wf_run_delete(st, "nope"), WF_ENOTFOUND);
  assert_wf_err(wf_run_delete(st, "../x"), WF_EINVAL);
  make_run("gone", "api", -2, &run);
  make_run("kept", "api", WF_RUN_SUCCEEDED, NULL);
  snprintf(p, sizeof p, "%s/runs/gone", dir);
  assert_int_equal(mkdir(p, 0755), 0);
  snprintf(p, sizeof p, "%s/runs/gone/out.csv", dir);
  touch(p);
  snprintf(p, sizeof p, "%s/logs/gone", dir);
  assert_int_equal(mkdir(p, 0755), 0);
  assert_wf_ok(wf_log_path(st, "gone", "a", p, sizeof p));
  touch(p);
  /* Owned by a live process (this one): refused, nothing touched. */
  assert_wf_err(wf_run_delete(st, "gone"), WF_EBUSY);
  assert_true(exists("runs/gone/out.csv") && exists("locks/gone"));
  assert_wf_ok(wf_run_end(run, WF_RUN_FAILED));
  assert_wf_ok(wf_run_delete(st, "gone"));
  wf_run_info *r;
  assert_wf_err(wf_run_info_get(st, "gone", &r), WF_ENOTFOUND);
  seen s = {0};
  assert_wf_err(wf_steps_list(st, "gone", "", collect_step, &s), WF_ENOTFOUND);
  assert_string_equal(list(NULL), "kept");
  assert_false(exists("runs/gone"));
  assert_false(exists("logs/gone"));
  assert_false(exists("locks/gone"));
  assert_true(exists("locks/kept"));
  snprintf(p, sizeof p, "rmdir %s/runs %s/logs", dir, dir); /* nothing left beside them */
  assert_wf_ok(wf_run_delete(st, "kept"));
  assert_int_equal(system(p), 0);
  assert_wf_err(wf_run_delete(st, "gone"), WF_ENOTFOUND);
  /* The id can be used again. */
  make_run("gone", "api", WF_RUN_SUCCEEDED, NULL);
  assert_wf_ok(wf_run_info_get(st, "gone", &r));
  assert_int_equal(r->counts[WF_STEP_SUCCEEDED], 1);
  wf_run_info_free(r);
}

/* What wf_runs_delete reported, as "id:result:steps:events:files" words. */
struct deleted {
  char text[512];
  uint64_t bytes;
};

static int note_deleted(void *ud, const wf_delete_info *d) {
  struct deleted *c = ud;
  size_t n = strlen(c->text);
  snprintf(c->text + n, sizeof c->text - n, "%s%s:%d:%llu:%llu:%llu", n ? " " : "", d->id,
           d->result, (unsigned long long)d->steps, (unsigned long long)d->events,
           (unsigned long long)d->files);
  c->bytes += d->record_bytes;
  if (d->result == 0) assert_true(d->record_bytes > 0);
  return 0;
}

static void test_delete_many(void **state) {
  (void)state;
  wf_run *live;
  char p[256];
  make_run("r1", "api", WF_RUN_SUCCEEDED, NULL);
  make_run("r2", "api", WF_RUN_FAILED, NULL);
  make_run("r3", "api", -1, NULL);            /* interrupted: no live owner */
  make_run("busy", "api", -2, &live);
  make_run("keep", "api", WF_RUN_SUCCEEDED, NULL);
  snprintf(p, sizeof p, "%s/runs/r2", dir);
  assert_int_equal(mkdir(p, 0755), 0);
  snprintf(p, sizeof p, "%s/runs/r2/a.txt", dir);
  touch(p);
  snprintf(p, sizeof p, "%s/runs/r2/b.txt", dir);
  touch(p);
  const char *ids[] = {"r1", "nope", "busy", "../bad", "r2", "r3", "r1"};
  struct deleted c = {"", 0};
  assert_wf_ok(wf_runs_delete(st, ids, 7, note_deleted, &c));
  /* Each run's step "a" and its events (run_started, the step's step_started and
   * step_succeeded, and run_finished where it ended); in the order given; the others left
   * alone. */
  assert_string_equal(c.text, "r1:0:1:4:0 nope:-1:0:0:0 busy:-7:0:0:0 ../bad:-2:0:0:0 "
                              "r2:0:1:4:2 r3:0:1:3:0 r1:-1:0:0:0");
  assert_string_equal(list(NULL), "keep busy");
  assert_false(exists("runs/r2"));
  assert_true(exists("locks/busy"));
  assert_wf_ok(wf_runs_delete(st, NULL, 0, NULL, NULL));
  assert_wf_err(wf_runs_delete(st, NULL, 1, NULL, NULL), WF_EINVAL);
  wf_run_close(live);
}

/* More runs than one transaction takes, the store compacted after: the file shrinks,
 * what is left reads as before. */
static void test_delete_batches_and_compact(void **state) {
  (void)state;
  enum { N = 1100 };
  static char names[N][16];
  const char *ids[N];
  for (int i = 0; i < N; i++) {
    snprintf(names[i], sizeof names[i], "b%04d", i);
    ids[i] = names[i];
    wf_run *run;
    assert_wf_ok(wf_run_begin(st, "api", names[i], &run));
    assert_wf_ok(wf_step_map(run, 20, 4, item_fn, echo_fn, NULL, NULL));
    assert_wf_ok(wf_run_end(run, WF_RUN_SUCCEEDED));
  }
  make_run("zz", "api", WF_RUN_SUCCEEDED, NULL);
  uint64_t before, after;
  assert_wf_err(wf_store_compact(dir, &before, &after), WF_EBUSY); /* open here */
  struct deleted c = {"", 0};
  assert_wf_ok(wf_runs_delete(st, ids, N, note_deleted, &c));
  assert_string_equal(list(NULL), "zz");
  wf_store_close(st);
  st = NULL;
  assert_wf_ok(wf_store_compact(dir, &before, &after));
  assert_true(after < before / 2);
  assert_wf_ok(wf_store_open(dir, &st));
  assert_string_equal(list(NULL), "zz");
  wf_run_info *r;
  assert_wf_ok(wf_run_info_get(st, "zz", &r));
  assert_int_equal(r->counts[WF_STEP_SUCCEEDED], 1);
  wf_run_info_free(r);
  make_run("new", "api", WF_RUN_SUCCEEDED, NULL); /* and it takes writes */
  assert_string_equal(list(NULL), "new zz");
  wf_store_close(st);
  st = NULL;
  char none[128];
  snprintf(none, sizeof none, "%s/none", dir);
  assert_wf_err(wf_store_compact(none, NULL, NULL), WF_ENOTFOUND);
  assert_wf_err(wf_store_compact(NULL, NULL, NULL), WF_EINVAL);
}

static int note_candidate(void *ud, const char *id) {
  size_t n = strlen(ud);
  snprintf((char *)ud + n, 256 - n, "%s%s", n ? " " : "", id);
  return 0;
}

static void test_resolve(void **state) {
  (void)state;
  char id[WF_MAX_RUN_ID + 1], seen_ids[256] = "";
  make_run("run_2026-01-01", "api", WF_RUN_SUCCEEDED, NULL);
  make_run("run_2026-01-02", "api", WF_RUN_SUCCEEDED, NULL);
  make_run("run", "api", WF_RUN_SUCCEEDED, NULL);
  make_run("other", "api", WF_RUN_SUCCEEDED, NULL);
  assert_wf_ok(wf_run_id_resolve(st, "run_2026-01-01", id, sizeof id, NULL, NULL));
  assert_string_equal(id, "run_2026-01-01");
  assert_wf_ok(wf_run_id_resolve(st, "run_2026-01-02", id, sizeof id, NULL, NULL));
  assert_wf_ok(wf_run_id_resolve(st, "o", id, sizeof id, NULL, NULL));
  assert_string_equal(id, "other");
  /* An exact id wins over the longer ones it begins. */
  assert_wf_ok(wf_run_id_resolve(st, "run", id, sizeof id, NULL, NULL));
  assert_string_equal(id, "run");
  assert_wf_err(wf_run_id_resolve(st, "run_", id, sizeof id, note_candidate, seen_ids),
                WF_EAMBIGUOUS);
  assert_string_equal(seen_ids, "run_2026-01-01 run_2026-01-02");
  assert_wf_err(wf_run_id_resolve(st, "ru", id, sizeof id, NULL, NULL), WF_EAMBIGUOUS);
  assert_wf_err(wf_run_id_resolve(st, "x", id, sizeof id, NULL, NULL), WF_ENOTFOUND);
  assert_wf_err(wf_run_id_resolve(st, "", id, sizeof id, NULL, NULL), WF_EINVAL);
  assert_wf_err(wf_run_id_resolve(st, "a b", id, sizeof id, NULL, NULL), WF_EINVAL);
  assert_wf_err(wf_run_id_resolve(st, "oth", id, 5, NULL, NULL), WF_EINVAL);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_cancel),
      T(test_delete),
      T(test_delete_many),
      T(test_delete_batches_and_compact),
      T(test_resolve),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
