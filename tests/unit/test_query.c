/* test_query.c — reading and controlling runs through the public API (wf/wf.h): store
 * options, names, one run's description, listings of runs (filters, order, paging),
 * steps and events, cancel, resume, delete, log paths; with their refusals. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "wf/wf.h"
#include "wfengine.h"
#include "wfs_internal.h"

static char dir[64];
static wf_store *st;

static int setup(void **state) {
  (void)state;
  strcpy(dir, "/tmp/wf-query-XXXXXX");
  assert_non_null(mkdtemp(dir));
  assert_int_equal(wf_store_open(dir, &st), 0);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  wf_store_close(st);
  st = NULL;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
  return 0;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Output: the input as it is. */
static int echo_fn(void *ud, const void *in, size_t inlen, void **out, size_t *outlen) {
  (void)ud;
  *out = malloc(inlen ? inlen : 1);
  memcpy(*out, in, inlen);
  *outlen = inlen;
  return 0;
}

static int failing_fn(void *ud, const void *in, size_t inlen, void **out, size_t *outlen) {
  (void)ud, (void)in, (void)inlen, (void)out, (void)outlen;
  return -1;
}

/* Run `id` of workflow `wf` with one step "a", then: WF_RUN_SUCCEEDED or WF_RUN_FAILED
 * recorded; -1 given up (interrupted); -2 kept owned (*keep). */
static void make_run(const char *id, const char *wf, int outcome, wf_run **keep) {
  wf_run *run;
  const uint8_t in[] = {0x2a};
  assert_int_equal(wf_run_begin(st, wf, id, &run), 0);
  assert_int_equal(wf_step_run(run, "a", in, 1, echo_fn, NULL, NULL, NULL, NULL), 0);
  if (outcome >= 0) assert_int_equal(wf_run_end(run, outcome), 0);
  else if (outcome == -1) wf_run_close(run);
  else *keep = run;
  sleep_ms(3); /* distinct creation times */
}

static int64_t created_at(const char *id) {
  wf_run_info *r;
  assert_int_equal(wf_run_info_get(st, id, &r), 0);
  int64_t t = r->created_at;
  wf_run_info_free(r);
  return t;
}

/* ---- stores and names ------------------------------------------------------------------ */

static void test_store_open_ex(void **state) {
  (void)state;
  char home[128];
  struct stat sb;
  wf_store *s = (wf_store *)1;
  snprintf(home, sizeof home, "%s/none", dir);
  wf_store_opts o = {.flags = WF_STORE_NOCREATE};
  assert_int_equal(wf_store_open_ex(home, &o, &s), WF_ENOTFOUND);
  assert_null(s);
  assert_int_not_equal(stat(home, &sb), 0); /* nothing was made */
  wf_store_opts bad[] = {{.flags = 8}, {.max_readers = (1u << 20) + 1},
                         {.kill_grace_s = -1}, {.kill_grace_s = NAN}, {.kill_grace_s = INFINITY},
                         {.map_cap_mb = UINT64_MAX}, {.max_output_mb = UINT64_MAX}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(wf_store_open_ex(home, &bad[i], &s), WF_EINVAL);
  assert_int_not_equal(stat(home, &sb), 0);
  o = (wf_store_opts){.map_cap_mb = 64, .max_readers = 16, .kill_grace_s = 0.5};
  assert_int_equal(wf_store_open_ex(home, &o, &s), 0);
  assert_string_equal(wf_store_home(s), home);
  assert_string_equal(wf_last_failure()->path, "");
  wf_store_close(s);
  o.flags = WF_STORE_NOCREATE;
  assert_int_equal(wf_store_open_ex(home, &o, &s), 0); /* it exists now */
  wf_store_close(s);
  wf_store_close(NULL);
}

/* The store's place is its caller's: NULL is ./.wf whatever $WF_HOME says. */
static void test_store_home_not_from_env(void **state) {
  (void)state;
  char elsewhere[128], cwd[2048];
  struct stat sb;
  wf_store *s;
  snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", dir);
  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_int_equal(chdir(dir), 0);
  assert_int_equal(setenv("WF_HOME", elsewhere, 1), 0);
  int rc = wf_store_open(NULL, &s);
  assert_int_equal(unsetenv("WF_HOME"), 0);
  assert_int_equal(rc, 0);
  assert_string_equal(wf_store_home(s), ".wf");
  wf_store_close(s);
  assert_int_equal(stat(".wf/store", &sb), 0);
  assert_int_not_equal(stat(elsewhere, &sb), 0);
  assert_int_equal(chdir(cwd), 0);
}

static void test_names_and_checks(void **state) {
  (void)state;
  static const char *const runs[] = {"pending", "running", "succeeded", "failed",
                                     "degraded", "canceled", "interrupted"};
  for (int i = 0; i < WF_RUN_NSTATUS; i++) {
    int s = -1;
    assert_string_equal(wf_run_status_name(i), runs[i]);
    assert_int_equal(wf_run_status_parse(runs[i], &s), 0);
    assert_int_equal(s, i);
  }
  int s = 42;
  assert_int_equal(wf_run_status_parse("paused", &s), WF_EINVAL);
  assert_int_equal(wf_run_status_parse(NULL, &s), WF_EINVAL);
  assert_int_equal(s, 42);
  assert_string_equal(wf_run_status_name(WF_RUN_NSTATUS), "?");
  assert_string_equal(wf_run_status_name(-1), "?");
  assert_string_equal(wf_step_status_name(WF_STEP_SKIPPED), "skipped");
  assert_string_equal(wf_step_status_name(WF_STEP_UNREADABLE), "unreadable");
  assert_string_equal(wf_step_status_name(WF_STEP_NSTATUS), "?");
  assert_string_equal(wf_event_type_name(WF_EV_RUN_STARTED), "run_started");
  assert_string_equal(wf_event_type_name(WF_EV_STEP_SUPERSEDED), "step_superseded");
  assert_string_equal(wf_event_type_name(0), "?");
  assert_int_equal(wf_run_id_check("run_2026-01-01"), 0);
  const char *bad_ids[] = {"", ".hidden", "-x", "a/b", "a b", "a\\b", "\x7f"};
  for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++)
    assert_int_equal(wf_run_id_check(bad_ids[i]), WF_EINVAL);
  char longid[WF_MAX_RUN_ID + 2];
  memset(longid, 'a', sizeof longid - 1);
  longid[WF_MAX_RUN_ID + 1] = '\0';
  assert_int_equal(wf_run_id_check(longid), WF_EINVAL);
  longid[WF_MAX_RUN_ID] = '\0';
  assert_int_equal(wf_run_id_check(longid), 0);
  assert_int_equal(wf_step_key_check("fetch/Bug:1 two"), 0);
  assert_int_equal(wf_step_key_check("a\nb"), WF_EINVAL);
  assert_int_equal(wf_step_key_check(""), WF_EINVAL);
}

static void test_log_path(void **state) {
  (void)state;
  char buf[512], want[512];
  assert_int_equal(wf_log_path(st, "r1", "fetch/a b", buf, sizeof buf), 0);
  snprintf(want, sizeof want, "%s/logs/r1/fetch%%2Fa%%20b.log", dir);
  assert_string_equal(buf, want);
  assert_int_equal(wf_log_path(st, "r1", NULL, buf, sizeof buf), 0);
  snprintf(want, sizeof want, "%s/logs/r1/.wf.log", dir);
  assert_string_equal(buf, want);
  assert_int_equal(wf_log_path(st, "r/1", NULL, buf, sizeof buf), WF_EINVAL);
  assert_int_equal(wf_log_path(st, "r1", "a\tb", buf, sizeof buf), WF_EINVAL);
  assert_int_equal(wf_log_path(st, "r1", "k", buf, 10), WF_EINVAL);
}

/* ---- one run ---------------------------------------------------------------------------- */

static void test_run_info(void **state) {
  (void)state;
  wf_run *run;
  wf_run_info *r = (wf_run_info *)1;
  assert_int_equal(wf_run_info_get(st, "nope", &r), WF_ENOTFOUND);
  assert_null(r);
  assert_int_equal(wf_run_info_get(st, "no/pe", &r), WF_EINVAL);
  make_run("r1", "api", -2, &run);
  const uint8_t in[] = {1};
  assert_int_equal(wf_step_run(run, "b", in, 1, failing_fn, NULL, NULL, NULL, NULL), WF_ESTEP);
  assert_int_equal(wf_run_info_get(st, "r1", &r), 0);
  assert_string_equal(r->id, "r1");
  assert_int_equal(r->read_error, 0);
  assert_string_equal(r->workflow, "api");
  assert_int_equal(r->status, WF_RUN_RUNNING);
  assert_int_equal(r->recorded_status, WF_RUN_RUNNING);
  assert_true(r->created_at > 0 && r->started_at >= r->created_at && r->finished_at == 0);
  assert_int_equal(r->counts[WF_STEP_SUCCEEDED], 1);
  assert_int_equal(r->counts[WF_STEP_FAILED], 1);
  assert_int_equal(r->owner.pid, getpid());
  assert_true(r->owner.alive && r->owner.same_machine && r->owner.pid_visible);
  assert_true(r->owner.heartbeat > 0);
  assert_string_equal(r->def_text, "");
  assert_null(r->params);
  assert_null(r->only);
  assert_int_equal(r->window, 8);
  char want[128];
  snprintf(want, sizeof want, "%s/runs/r1", dir);
  assert_string_equal(r->run_dir, want);
  uint64_t events = r->next_event_seq;
  assert_true(events >= 3); /* started, a succeeded, b failed */
  wf_run_info_free(r);
  assert_int_equal(wf_run_end(run, WF_RUN_FAILED), 0);
  assert_int_equal(wf_run_info_get(st, "r1", &r), 0);
  assert_int_equal(r->status, WF_RUN_FAILED);
  assert_true(r->finished_at >= r->started_at);
  assert_int_equal(r->owner.pid, 0);
  assert_false(r->owner.alive);
  assert_int_equal(r->next_event_seq, events + 1);
  wf_run_info_free(r);
  wf_run_info_free(NULL);
}

/* A run nobody owns reads as interrupted and can be resumed; resuming says from whom. */
static void test_resume(void **state) {
  (void)state;
  wf_run *run = (wf_run *)1;
  wf_owner prev;
  wf_run_info *r;
  assert_int_equal(wf_run_resume(st, "nope", 0, &run, &prev), WF_ENOTFOUND);
  assert_int_equal(wf_run_resume(st, "a b", 0, &run, NULL), WF_EINVAL);
  make_run("x", "api", -1, NULL);
  assert_int_equal(wf_run_info_get(st, "x", &r), 0);
  assert_int_equal(r->status, WF_RUN_INTERRUPTED);
  assert_int_equal(r->recorded_status, WF_RUN_RUNNING);
  assert_int_equal(r->owner.pid, getpid()); /* recorded, but its lock is gone */
  assert_false(r->owner.alive);
  wf_run_info_free(r);
  assert_int_equal(wf_run_resume(st, "x", 4, &run, NULL), WF_EINVAL);
  assert_int_equal(wf_run_resume(st, "x", 0, &run, &prev), 0);
  assert_int_equal(prev.pid, getpid());
  assert_false(prev.alive);
  assert_string_equal(wf_run_id(run), "x");
  /* Owned again: a second resume is refused and names the owner. */
  wf_run *other;
  memset(&prev, 0, sizeof prev);
  assert_int_equal(wf_run_resume(st, "x", 0, &other, &prev), WF_EBUSY);
  assert_int_equal(prev.pid, getpid());
  assert_true(prev.alive && prev.same_machine);
  const void *out;
  int memo = 0;
  const uint8_t in[] = {0x2a};
  assert_int_equal(wf_step_run(run, "a", in, 1, echo_fn, NULL, &out, NULL, &memo), 0);
  assert_int_equal(memo, 1); /* recorded before the interruption */
  assert_int_equal(wf_run_end(run, WF_RUN_SUCCEEDED), 0);
  assert_int_equal(wf_run_resume(st, "x", 0, &run, NULL), WF_ESTATE);
  /* Canceled runs only when asked. */
  make_run("c", "api", -1, NULL);
  assert_int_equal(wf_run_cancel(st, "c"), 0);
  assert_int_equal(wf_run_resume(st, "c", 0, &run, NULL), WF_ESTATE);
  assert_int_equal(wf_run_resume(st, "c", WF_RESUME_CANCELED, &run, NULL), 0);
  wf_run_close(run);
  wf_run_close(NULL);
}

/* wf_run_id stays valid while the handle lives, whatever the calls made through it. */
static int item_fn(void *ud, size_t i, char *key, size_t keycap, void **in, size_t *inlen) {
  (void)ud;
  snprintf(key, keycap, "m/%zu", i);
  uint8_t *p = malloc(1);
  p[0] = (uint8_t)i;
  *in = p;
  *inlen = 1;
  return 0;
}

static void test_run_id_stays(void **state) {
  (void)state;
  wf_run *run;
  assert_int_equal(wf_run_begin(st, "api", "stays", &run), 0);
  const char *id = wf_run_id(run);
  assert_int_equal(wf_step_map(run, 3, 2, item_fn, echo_fn, NULL, NULL), 0);
  assert_string_equal(id, "stays");
  assert_ptr_equal(id, wf_run_id(run));
  assert_int_equal(wf_run_end(run, WF_RUN_SUCCEEDED), 0);
}

/* ---- listing runs ------------------------------------------------------------------------ */

typedef struct seen {
  char ids[256];           /* "id id ..." */
  int n;
  int unreadable;
  int stop_at;             /* return 77 at this many */
  int nested_rc;           /* what a call on the store from inside gave */
} seen;

static int collect(void *ud, const wf_run_info *r) {
  seen *s = ud;
  if (r->read_error) {
    s->unreadable++;
    return 0;
  }
  size_t n = strlen(s->ids);
  snprintf(s->ids + n, sizeof s->ids - n, "%s%s", n ? " " : "", r->id);
  wf_run_info *nested = NULL;
  s->nested_rc = wf_run_info_get(st, r->id, &nested);
  wf_run_info_free(nested);
  return s->stop_at && ++s->n == s->stop_at ? 77 : 0;
}

static const char *list(const wf_run_filter *f) {
  static seen s;
  memset(&s, 0, sizeof s);
  assert_int_equal(wf_runs_list(st, f, collect, &s), 0);
  assert_int_equal(s.nested_rc, s.ids[0] ? WF_EINVAL : 0);
  return s.ids;
}

/* Runs in every status, oldest first: s1 f1 i1 c1 s2 o1 (o1 owned, i1 interrupted). */
static wf_run *make_runs(void) {
  wf_run *owned;
  make_run("s1", "alpha", WF_RUN_SUCCEEDED, NULL);
  make_run("f1", "alpha", WF_RUN_FAILED, NULL);
  make_run("i1", "beta", -1, NULL);
  make_run("c1", "beta", -1, NULL);
  assert_int_equal(wf_run_cancel(st, "c1"), 0); /* nobody owns it: canceled at once */
  make_run("s2", "beta", WF_RUN_SUCCEEDED, NULL);
  make_run("o1", "alpha", -2, &owned);
  return owned;
}

static void test_runs_list_filters(void **state) {
  (void)state;
  wf_run *owned = make_runs();
  wf_run_filter f = {0};
  assert_string_equal(list(NULL), "o1 s2 c1 i1 f1 s1");
  f.oldest_first = 1;
  assert_string_equal(list(&f), "s1 f1 i1 c1 s2 o1");
  f = (wf_run_filter){.statuses = 1u << WF_RUN_SUCCEEDED};
  assert_string_equal(list(&f), "s2 s1");
  f.statuses = 1u << WF_RUN_INTERRUPTED;
  assert_string_equal(list(&f), "i1");
  f.statuses = 1u << WF_RUN_RUNNING;
  assert_string_equal(list(&f), "o1");
  f.statuses = 1u << WF_RUN_INTERRUPTED | 1u << WF_RUN_FAILED | 1u << WF_RUN_CANCELED;
  assert_string_equal(list(&f), "c1 i1 f1");
  f.workflow = "beta";
  assert_string_equal(list(&f), "c1 i1");
  f = (wf_run_filter){.workflow = "alpha", .limit = 2};
  assert_string_equal(list(&f), "o1 f1");
  f = (wf_run_filter){.since = created_at("i1"), .until = created_at("o1")};
  assert_string_equal(list(&f), "s2 c1 i1");
  f.workflow = "gamma";
  assert_string_equal(list(&f), "");
  assert_int_equal(wf_run_end(owned, WF_RUN_SUCCEEDED), 0);
}

static void test_runs_list_paging(void **state) {
  (void)state;
  wf_run *owned = make_runs();
  wf_run_filter f = {.limit = 2};
  assert_string_equal(list(&f), "o1 s2");
  f.after_id = "s2";
  assert_string_equal(list(&f), "c1 i1");
  f.after_id = "i1";
  f.after_created_at = created_at("i1");
  assert_string_equal(list(&f), "f1 s1");
  f.after_id = "s1";
  f.after_created_at = 0;
  assert_string_equal(list(&f), "");
  /* A page after a run deleted meanwhile goes on from where it was. */
  f = (wf_run_filter){.oldest_first = 1, .limit = 2, .after_id = "i1",
                      .after_created_at = created_at("i1")};
  assert_int_equal(wf_run_delete(st, "i1"), 0);
  assert_string_equal(list(&f), "c1 s2");
  seen s = {0};
  f.after_created_at = 0;
  assert_int_equal(wf_runs_list(st, &f, collect, &s), WF_ENOTFOUND);
  f.after_id = "bad id";
  assert_int_equal(wf_runs_list(st, &f, collect, &s), WF_EINVAL);
  f = (wf_run_filter){.statuses = 1u << WF_RUN_NSTATUS};
  assert_int_equal(wf_runs_list(st, &f, collect, &s), WF_EINVAL);
  f = (wf_run_filter){.since = -5};
  assert_int_equal(wf_runs_list(st, &f, collect, &s), WF_EINVAL);
  assert_int_equal(wf_runs_list(st, NULL, NULL, &s), WF_EINVAL);
  /* The callback's own value stops the listing and is returned. */
  s = (seen){.stop_at = 2};
  assert_int_equal(wf_runs_list(st, NULL, collect, &s), 77);
  assert_string_equal(s.ids, "o1 s2");
  assert_int_equal(wf_run_end(owned, WF_RUN_SUCCEEDED), 0);
}

static int put_garbage(wfs_txn *t, void *ud) {
  MDB_val k = {strlen(ud), ud}, d = {3, "\x00\xc1\xc1"};
  return mdb_put(t->txn, t->env->runs, &k, &d, 0) ? WF_ESTORE : 0;
}

/* A run whose record cannot be decoded is passed as such, and does not count. */
static void test_runs_list_unreadable(void **state) {
  (void)state;
  make_run("good1", "api", WF_RUN_SUCCEEDED, NULL);
  make_run("bad", "api", WF_RUN_SUCCEEDED, NULL);
  make_run("good2", "api", WF_RUN_SUCCEEDED, NULL);
  assert_int_equal(wfs_write(wfi_store_env(st), put_garbage, "bad"), 0);
  seen s = {0};
  wf_run_filter f = {.limit = 2, .workflow = "api"};
  assert_int_equal(wf_runs_list(st, &f, collect, &s), 0);
  assert_string_equal(s.ids, "good2 good1");
  assert_int_equal(s.unreadable, 1);
  wf_run_info *r;
  assert_int_equal(wf_run_info_get(st, "bad", &r), WF_ECORRUPT);
}

/* ---- steps and events -------------------------------------------------------------------- */

static int collect_step(void *ud, const wf_step_info *s) {
  seen *c = ud;
  size_t n = strlen(c->ids);
  snprintf(c->ids + n, sizeof c->ids - n, "%s%s:%s", n ? " " : "", s->key,
           wf_step_status_name(s->status));
  c->nested_rc = wf_run_cancel(st, "steps");
  return c->stop_at && ++c->n == c->stop_at ? 78 : 0;
}

static int collect_event(void *ud, const wf_event_info *e) {
  seen *c = ud;
  size_t n = strlen(c->ids);
  snprintf(c->ids + n, sizeof c->ids - n, "%s%llu:%s:%s", n ? " " : "",
           (unsigned long long)e->seq, wf_event_type_name(e->type),
           e->step_key ? e->step_key : "-");
  return 0;
}

static void test_steps_and_events(void **state) {
  (void)state;
  wf_run *run;
  make_run("steps", "api", -2, &run);
  const uint8_t in[] = {9};
  assert_int_equal(wf_step_run(run, "b", in, 1, failing_fn, NULL, NULL, NULL, NULL), WF_ESTEP);
  assert_int_equal(wf_step_map(run, 3, 2, item_fn, echo_fn, NULL, NULL), 0);
  seen s = {0};
  assert_int_equal(wf_steps_list(st, "steps", NULL, collect_step, &s), 0);
  assert_string_equal(s.ids, "a:succeeded b:failed m/0:succeeded m/1:succeeded m/2:succeeded");
  assert_int_equal(s.nested_rc, WF_EINVAL);
  s = (seen){0};
  assert_int_equal(wf_steps_list(st, "steps", "m/", collect_step, &s), 0);
  assert_string_equal(s.ids, "m/0:succeeded m/1:succeeded m/2:succeeded");
  s = (seen){.stop_at = 1};
  assert_int_equal(wf_steps_list(st, "steps", "", collect_step, &s), 78);
  assert_int_equal(wf_steps_list(st, "nope", "", collect_step, &s), WF_ENOTFOUND);
  assert_int_equal(wf_steps_list(st, "no pe", "", collect_step, &s), WF_EINVAL);
  char longp[WF_MAX_STEP_KEY + 2];
  memset(longp, 'k', sizeof longp - 1);
  longp[sizeof longp - 1] = '\0';
  assert_int_equal(wf_steps_list(st, "steps", longp, collect_step, &s), WF_EINVAL);

  wf_step_info *step = (wf_step_info *)1;
  assert_int_equal(wf_step_info_get(st, "steps", "zz", &step), WF_ENOTFOUND);
  assert_null(step);
  assert_int_equal(wf_step_info_get(st, "steps", "a\nb", &step), WF_EINVAL);
  assert_int_equal(wf_step_info_get(st, "steps", "m/1", &step), 0);
  assert_string_equal(step->key, "m/1");
  assert_int_equal(step->status, WF_STEP_SUCCEEDED);
  assert_int_equal(step->attempt, 1);
  assert_int_equal(step->input_len, 1);
  assert_int_equal(((const uint8_t *)step->input)[0], 1);
  assert_int_equal(step->output_len, 1);
  assert_int_equal(((const uint8_t *)step->output)[0], 1);
  assert_true(step->finished_at >= step->started_at && step->started_at > 0);
  wf_step_info_free(step);
  assert_int_equal(wf_step_info_get(st, "steps", "b", &step), 0);
  assert_int_equal(step->status, WF_STEP_FAILED);
  assert_string_equal(step->error, "step function returned an error");
  assert_int_equal(step->exit_code, -1);
  assert_null(step->output);
  wf_step_info_free(step);
  wf_step_info_free(NULL);

  wf_run_info *r;
  assert_int_equal(wf_run_info_get(st, "steps", &r), 0);
  uint64_t next = r->next_event_seq;
  wf_run_info_free(r);
  s = (seen){0};
  assert_int_equal(wf_events_list(st, "steps", 0, collect_event, &s), 0);
  assert_memory_equal(s.ids, "0:run_started:- 1:step_succeeded:a 2:step_failed:b", 50);
  s = (seen){0};
  assert_int_equal(wf_events_list(st, "steps", 2, collect_event, &s), 0);
  assert_memory_equal(s.ids, "2:step_failed:b 3:", 18);
  s = (seen){0};
  assert_int_equal(wf_events_list(st, "steps", next, collect_event, &s), 0);
  assert_string_equal(s.ids, ""); /* nothing new yet */
  assert_int_equal(wf_run_end(run, WF_RUN_SUCCEEDED), 0);
  s = (seen){0};
  assert_int_equal(wf_events_list(st, "steps", next, collect_event, &s), 0);
  char want[64];
  snprintf(want, sizeof want, "%llu:run_finished:-", (unsigned long long)next);
  assert_string_equal(s.ids, want);
  assert_int_equal(wf_events_list(st, "nope", 0, collect_event, &s), WF_ENOTFOUND);
  assert_int_equal(wf_events_list(st, "steps", 0, NULL, &s), WF_EINVAL);
}

/* ---- control ------------------------------------------------------------------------------ */

static void test_cancel(void **state) {
  (void)state;
  wf_run *run;
  wf_run_info *r;
  assert_int_equal(wf_run_cancel(st, "nope"), WF_ENOTFOUND);
  assert_int_equal(wf_run_cancel(st, "no pe"), WF_EINVAL);
  make_run("live", "api", -2, &run);
  assert_int_equal(wf_run_cancel(st, "live"), 0); /* its owner is asked */
  assert_int_equal(wf_run_info_get(st, "live", &r), 0);
  assert_int_equal(r->status, WF_RUN_RUNNING);
  assert_true(r->cancel_requested);
  wf_run_info_free(r);
  wf_run_close(run);
  assert_int_equal(wf_run_cancel(st, "live"), 0); /* nobody owns it now: at once */
  assert_int_equal(wf_run_info_get(st, "live", &r), 0);
  assert_int_equal(r->status, WF_RUN_CANCELED);
  wf_run_info_free(r);
  assert_int_equal(wf_run_cancel(st, "live"), WF_ESTATE);
}

static void touch(const char *path) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fclose(f);
}

static int exists(const char *fmt, const char *id) {
  char p[256];
  struct stat sb;
  snprintf(p, sizeof p, fmt, dir, id);
  return stat(p, &sb) == 0;
}

static void test_delete(void **state) {
  (void)state;
  wf_run *run;
  char p[256];
  assert_int_equal(wf_run_delete(st, "nope"), WF_ENOTFOUND);
  assert_int_equal(wf_run_delete(st, "../x"), WF_EINVAL);
  make_run("gone", "api", -2, &run);
  make_run("kept", "api", WF_RUN_SUCCEEDED, NULL);
  snprintf(p, sizeof p, "%s/runs/gone", dir);
  assert_int_equal(mkdir(p, 0755), 0);
  snprintf(p, sizeof p, "%s/runs/gone/out.csv", dir);
  touch(p);
  snprintf(p, sizeof p, "%s/logs/gone", dir);
  assert_int_equal(mkdir(p, 0755), 0);
  assert_int_equal(wf_log_path(st, "gone", "a", p, sizeof p), 0);
  touch(p);
  /* Owned by a live process (this one): refused, nothing touched. */
  assert_int_equal(wf_run_delete(st, "gone"), WF_EBUSY);
  assert_true(exists("%s/runs/%s/out.csv", "gone") && exists("%s/locks/%s", "gone"));
  assert_int_equal(wf_run_end(run, WF_RUN_FAILED), 0);
  assert_int_equal(wf_run_delete(st, "gone"), 0);
  wf_run_info *r;
  assert_int_equal(wf_run_info_get(st, "gone", &r), WF_ENOTFOUND);
  seen s = {0};
  assert_int_equal(wf_steps_list(st, "gone", "", collect_step, &s), WF_ENOTFOUND);
  assert_string_equal(list(NULL), "kept");
  assert_false(exists("%s/runs/%s", "gone"));
  assert_false(exists("%s/logs/%s", "gone"));
  assert_false(exists("%s/locks/%s", "gone"));
  assert_true(exists("%s/locks/%s", "kept"));
  snprintf(p, sizeof p, "rmdir %s/runs %s/logs", dir, dir); /* nothing left beside them */
  assert_int_equal(wf_run_delete(st, "kept"), 0);
  assert_int_equal(system(p), 0);
  assert_int_equal(wf_run_delete(st, "gone"), WF_ENOTFOUND);
  /* The id can be used again. */
  make_run("gone", "api", WF_RUN_SUCCEEDED, NULL);
  assert_int_equal(wf_run_info_get(st, "gone", &r), 0);
  assert_int_equal(r->counts[WF_STEP_SUCCEEDED], 1);
  wf_run_info_free(r);
}

/* A run deleted while another process opens its lock file to create a run of the same
 * id: the creator's lock must be where others look for it, not on the removed file. */
static void test_lock_of_a_deleted_run(void **state) {
  (void)state;
  make_run("again", "api", WF_RUN_SUCCEEDED, NULL);
  wfi_lease stale = WFI_LEASE_INIT;
  assert_int_equal(wfi_lease_open(dir, "again", &stale), 0); /* before the deletion */
  assert_int_equal(wf_run_delete(st, "again"), 0);
  assert_int_equal(wfi_lease_lock(&stale, 1), 0);
  wfs_run r = {.id = "again", .status = WFS_RUN_RUNNING, .epoch = 1};
  wfi_owner_self(&r.owner);
  assert_false(wfi_run_owner_alive(dir, &r)); /* locked where nobody looks */
  assert_int_equal(wfi_lease_recheck(&stale, dir, "again"), 0);
  assert_true(wfi_run_owner_alive(dir, &r));
  assert_int_equal(wfi_lease_recheck(&stale, dir, "again"), 0); /* in place: kept */
  assert_true(wfi_run_owner_alive(dir, &r));
  wfi_lease_release(&stale);
  assert_false(wfi_run_owner_alive(dir, &r));
}

/* ---- options reach the scheduler --------------------------------------------------------- */

static int big_fn(void *ud, const void *in, size_t inlen, void **out, size_t *outlen) {
  (void)ud, (void)in, (void)inlen;
  size_t n = (size_t)3 << 19; /* 1.5 MiB of bin */
  uint8_t *p = calloc(1, n + 5);
  p[0] = 0xc6;
  p[1] = (uint8_t)(n >> 24), p[2] = (uint8_t)(n >> 16), p[3] = (uint8_t)(n >> 8), p[4] = (uint8_t)n;
  *out = p;
  *outlen = n + 5;
  return 0;
}

static void test_max_output_option(void **state) {
  (void)state;
  wf_store *capped;
  wf_run *run;
  wf_store_close(st);
  wf_store_opts o = {.max_output_mb = 1};
  assert_int_equal(wf_store_open_ex(dir, &o, &capped), 0);
  assert_int_equal(wf_run_begin(capped, "api", "big", &run), 0);
  assert_int_equal(wf_step_map(run, 1, 1, item_fn, big_fn, NULL, NULL), WF_ESTEP);
  wf_step_info *s;
  assert_int_equal(wf_step_info_get(capped, "big", "m/0", &s), 0);
  assert_int_equal(s->status, WF_STEP_FAILED);
  assert_non_null(strstr(s->error, "exceeds"));
  wf_step_info_free(s);
  assert_int_equal(wf_run_end(run, WF_RUN_FAILED), 0);
  wf_store_close(capped);
  /* The default, 64 MiB, whatever the environment says: mapping it to options is the
   * CLI's business, not the library's. */
  setenv("WF_MAX_OUTPUT_MB", "1", 1);
  assert_int_equal(wf_store_open(dir, &st), 0);
  assert_int_equal(wf_run_begin(st, "api", "big2", &run), 0);
  int rc = wf_step_map(run, 1, 1, item_fn, big_fn, NULL, NULL);
  unsetenv("WF_MAX_OUTPUT_MB");
  assert_int_equal(rc, 0);
  assert_int_equal(wf_run_end(run, WF_RUN_SUCCEEDED), 0);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
    T(test_store_open_ex),       T(test_names_and_checks),   T(test_log_path),
    T(test_run_info),            T(test_resume),             T(test_run_id_stays),
    T(test_runs_list_filters),   T(test_runs_list_paging),   T(test_runs_list_unreadable),
    T(test_steps_and_events),    T(test_cancel),             T(test_delete),
    T(test_lock_of_a_deleted_run), T(test_max_output_option), T(test_store_home_not_from_env),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
