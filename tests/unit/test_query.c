/* test_query.c — reading runs through the public API (engine/query.c): names of
 * statuses and checks of ids, log paths, one run's description, listings of runs
 * (filters, order, paging, unreadable records), steps and events; with their refusals. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "assert_wf.h"
#include "api_fixture.h"
#include "wfengine.h"
#include "wfs_internal.h"

static int64_t created_at(const char *id) {
  wf_run_info *r;
  assert_wf_ok(wf_run_info_get(st, id, &r));
  int64_t t = r->created_at;
  wf_run_info_free(r);
  return t;
}

/* ---- stores and names ------------------------------------------------------------------ */

static void test_names_and_checks(void **state) {
  (void)state;
  static const char *const runs[] = {"pending", "running", "succeeded", "failed",
                                     "degraded", "canceled", "interrupted"};
  for (int i = 0; i < WF_RUN_NSTATUS; i++) {
    int s = -1;
    assert_string_equal(wf_run_status_name(i), runs[i]);
    assert_wf_ok(wf_run_status_parse(runs[i], &s));
    assert_int_equal(s, i);
  }
  int s = 42;
  assert_wf_err(wf_run_status_parse("paused", &s), WF_EINVAL);
  assert_wf_err(wf_run_status_parse(NULL, &s), WF_EINVAL);
  assert_int_equal(s, 42);
  assert_string_equal(wf_run_status_name(WF_RUN_NSTATUS), "?");
  assert_string_equal(wf_run_status_name(-1), "?");
  assert_string_equal(wf_step_status_name(WF_STEP_SKIPPED), "skipped");
  assert_string_equal(wf_step_status_name(WF_STEP_UNREADABLE), "unreadable");
  assert_string_equal(wf_step_status_name(WF_STEP_NSTATUS), "?");
  assert_string_equal(wf_event_type_name(WF_EV_RUN_STARTED), "run_started");
  assert_string_equal(wf_event_type_name(WF_EV_STEP_SUPERSEDED), "step_superseded");
  assert_string_equal(wf_event_type_name(0), "?");
  assert_wf_ok(wf_run_id_check("run_2026-01-01"));
  const char *bad_ids[] = {"", ".hidden", "-x", "a/b", "a b", "a\\b", "\x7f"};
  for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++)
    assert_wf_err(wf_run_id_check(bad_ids[i]), WF_EINVAL);
  char longid[WF_MAX_RUN_ID + 2];
  memset(longid, 'a', sizeof longid - 1);
  longid[WF_MAX_RUN_ID + 1] = '\0';
  assert_wf_err(wf_run_id_check(longid), WF_EINVAL);
  longid[WF_MAX_RUN_ID] = '\0';
  assert_wf_ok(wf_run_id_check(longid));
  assert_wf_ok(wf_step_key_check("fetch/Bug:1 two"));
  assert_wf_err(wf_step_key_check("a\nb"), WF_EINVAL);
  assert_wf_err(wf_step_key_check(""), WF_EINVAL);
}

static void test_log_path(void **state) {
  (void)state;
  char buf[512], want[512];
  assert_wf_ok(wf_log_path(st, "r1", "fetch/a b", buf, sizeof buf));
  snprintf(want, sizeof want, "%s/logs/r1/fetch%%2Fa%%20b.log", dir);
  assert_string_equal(buf, want);
  assert_wf_ok(wf_log_path(st, "r1", NULL, buf, sizeof buf));
  snprintf(want, sizeof want, "%s/logs/r1/.wf.log", dir);
  assert_string_equal(buf, want);
  assert_wf_err(wf_log_path(st, "r/1", NULL, buf, sizeof buf), WF_EINVAL);
  assert_wf_err(wf_log_path(st, "r1", "a\tb", buf, sizeof buf), WF_EINVAL);
  assert_wf_err(wf_log_path(st, "r1", "k", buf, 10), WF_EINVAL);
}

/* ---- one run ---------------------------------------------------------------------------- */

static void test_run_info(void **state) {
  (void)state;
  wf_run *run;
  wf_run_info *r = (wf_run_info *)1;
  assert_wf_err(wf_run_info_get(st, "nope", &r), WF_ENOTFOUND);
  assert_null(r);
  assert_wf_err(wf_run_info_get(st, "no/pe", &r), WF_EINVAL);
  make_run("r1", "api", -2, &run);
  const uint8_t in[] = {1};
  assert_wf_err(wf_step_run(run, "b", in, 1, failing_fn, NULL, NULL, NULL, NULL), WF_ESTEP);
  assert_wf_ok(wf_run_info_get(st, "r1", &r));
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
  assert_wf_ok(wf_run_end(run, WF_RUN_FAILED));
  assert_wf_ok(wf_run_info_get(st, "r1", &r));
  assert_int_equal(r->status, WF_RUN_FAILED);
  assert_true(r->finished_at >= r->started_at);
  assert_int_equal(r->owner.pid, 0);
  assert_false(r->owner.alive);
  assert_int_equal(r->next_event_seq, events + 1);
  wf_run_info_free(r);
  wf_run_info_free(NULL);
}

/* ---- listing runs ------------------------------------------------------------------------ */

/* Runs in every status, oldest first: s1 f1 i1 c1 s2 o1 (o1 owned, i1 interrupted). */
static wf_run *make_runs(void) {
  wf_run *owned;
  make_run("s1", "alpha", WF_RUN_SUCCEEDED, NULL);
  make_run("f1", "alpha", WF_RUN_FAILED, NULL);
  make_run("i1", "beta", -1, NULL);
  make_run("c1", "beta", -1, NULL);
  assert_wf_ok(wf_run_cancel(st, "c1")); /* nobody owns it: canceled at once */
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
  assert_wf_ok(wf_run_end(owned, WF_RUN_SUCCEEDED));
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
  assert_wf_ok(wf_run_delete(st, "i1"));
  assert_string_equal(list(&f), "c1 s2");
  seen s = {0};
  f.after_created_at = 0;
  assert_wf_err(wf_runs_list(st, &f, collect, &s), WF_ENOTFOUND);
  f.after_id = "bad id";
  assert_wf_err(wf_runs_list(st, &f, collect, &s), WF_EINVAL);
  f = (wf_run_filter){.statuses = 1u << WF_RUN_NSTATUS};
  assert_wf_err(wf_runs_list(st, &f, collect, &s), WF_EINVAL);
  f = (wf_run_filter){.since = -5};
  assert_wf_err(wf_runs_list(st, &f, collect, &s), WF_EINVAL);
  assert_wf_err(wf_runs_list(st, NULL, NULL, &s), WF_EINVAL);
  /* The callback's own value stops the listing and is returned. */
  s = (seen){.stop_at = 2};
  assert_int_equal(wf_runs_list(st, NULL, collect, &s), 77);
  assert_string_equal(s.ids, "o1 s2");
  assert_wf_ok(wf_run_end(owned, WF_RUN_SUCCEEDED));
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
  assert_wf_ok(wfs_write(wfi_store_env(st), put_garbage, "bad"));
  seen s = {0};
  wf_run_filter f = {.limit = 2, .workflow = "api"};
  assert_wf_ok(wf_runs_list(st, &f, collect, &s));
  assert_string_equal(s.ids, "good2 good1");
  assert_int_equal(s.unreadable, 1);
  wf_run_info *r;
  assert_wf_err(wf_run_info_get(st, "bad", &r), WF_ECORRUPT);
}

/* ---- steps and events -------------------------------------------------------------------- */

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
  assert_wf_err(wf_step_run(run, "b", in, 1, failing_fn, NULL, NULL, NULL, NULL), WF_ESTEP);
  assert_wf_ok(wf_step_map(run, 3, 2, item_fn, echo_fn, NULL, NULL));
  seen s = {0};
  assert_wf_ok(wf_steps_list(st, "steps", NULL, collect_step, &s));
  assert_string_equal(s.ids, "a:succeeded b:failed m/0:succeeded m/1:succeeded m/2:succeeded");
  assert_wf_err(s.nested_rc, WF_EINVAL);
  s = (seen){0};
  assert_wf_ok(wf_steps_list(st, "steps", "m/", collect_step, &s));
  assert_string_equal(s.ids, "m/0:succeeded m/1:succeeded m/2:succeeded");
  s = (seen){.stop_at = 1};
  assert_int_equal(wf_steps_list(st, "steps", "", collect_step, &s), 78);
  assert_wf_err(wf_steps_list(st, "nope", "", collect_step, &s), WF_ENOTFOUND);
  assert_wf_err(wf_steps_list(st, "no pe", "", collect_step, &s), WF_EINVAL);
  char longp[WF_MAX_STEP_KEY + 2];
  memset(longp, 'k', sizeof longp - 1);
  longp[sizeof longp - 1] = '\0';
  assert_wf_err(wf_steps_list(st, "steps", longp, collect_step, &s), WF_EINVAL);

  wf_step_info *step = (wf_step_info *)1;
  assert_wf_err(wf_step_info_get(st, "steps", "zz", &step), WF_ENOTFOUND);
  assert_null(step);
  assert_wf_err(wf_step_info_get(st, "steps", "a\nb", &step), WF_EINVAL);
  assert_wf_ok(wf_step_info_get(st, "steps", "m/1", &step));
  assert_string_equal(step->key, "m/1");
  assert_int_equal(step->status, WF_STEP_SUCCEEDED);
  assert_int_equal(step->attempt, 1);
  assert_int_equal(step->input_len, 1);
  assert_int_equal(((const uint8_t *)step->input)[0], 1);
  assert_int_equal(step->output_len, 1);
  assert_int_equal(((const uint8_t *)step->output)[0], 1);
  assert_true(step->finished_at >= step->started_at && step->started_at > 0);
  wf_step_info_free(step);
  assert_wf_ok(wf_step_info_get(st, "steps", "b", &step));
  assert_int_equal(step->status, WF_STEP_FAILED);
  assert_string_equal(step->error, "step function returned an error");
  assert_int_equal(step->exit_code, -1);
  assert_null(step->output);
  wf_step_info_free(step);
  wf_step_info_free(NULL);

  wf_run_info *r;
  assert_wf_ok(wf_run_info_get(st, "steps", &r));
  uint64_t next = r->next_event_seq;
  wf_run_info_free(r);
  s = (seen){0};
  assert_wf_ok(wf_events_list(st, "steps", 0, collect_event, &s));
  /* Every attempt has its start and its end. */
  const char *hist = "0:run_started:- 1:step_started:a 2:step_succeeded:a 3:step_started:b "
                     "4:step_failed:b 5:step_started:m/0 6:step_succeeded:m/0";
  assert_memory_equal(s.ids, hist, strlen(hist));
  s = (seen){0};
  assert_wf_ok(wf_events_list(st, "steps", 4, collect_event, &s));
  assert_memory_equal(s.ids, "4:step_failed:b 5:", 18);
  s = (seen){0};
  assert_wf_ok(wf_events_list(st, "steps", next, collect_event, &s));
  assert_string_equal(s.ids, ""); /* nothing new yet */
  assert_wf_ok(wf_run_end(run, WF_RUN_SUCCEEDED));
  s = (seen){0};
  assert_wf_ok(wf_events_list(st, "steps", next, collect_event, &s));
  char want[64];
  snprintf(want, sizeof want, "%llu:run_finished:-", (unsigned long long)next);
  assert_string_equal(s.ids, want);
  assert_wf_err(wf_events_list(st, "nope", 0, collect_event, &s), WF_ENOTFOUND);
  assert_wf_err(wf_events_list(st, "steps", 0, NULL, &s), WF_EINVAL);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
    T(test_names_and_checks),    T(test_log_path),           T(test_run_info),
    T(test_runs_list_filters),   T(test_runs_list_paging),   T(test_runs_list_unreadable),
    T(test_steps_and_events),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
