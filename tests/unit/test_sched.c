/* test_sched.c — the scheduler (engine/sched.c, with step.c, commit.c and the progress
 * report of report.c) through wfi_run_execute with an in-test activity that completes on
 * a timer: window, stage and class limits, rate, retries, timeouts, dependencies,
 * memoization on a second execution, bounded memory for large fan-outs, what the report
 * tells other processes while the run executes and after. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "api_int.h"
#include "assert_wf.h"
#include "wfengine.h"
#include "wfmp.h"

/* ---- a timer-driven activity -------------------------------------------------------- */

struct fake {
  uint32_t inflight, max_inflight;
  uint32_t class_inflight[4], class_max[4];
  uint32_t started, killed, finished;
  uint32_t fail_first;     /* the first N attempts of every step fail */
  uint32_t delay_ms;
  int hang;                /* never complete on its own */
  uint32_t capacity;       /* > 0: a start beyond this many in flight lacks a resource */
  int no_capacity;         /* every start lacks a resource */
  uint32_t deferred;       /* starts reported as lacking a resource */
  uint64_t first_start_ms, last_start_ms;
  int64_t starts_ms[4096];
};

struct fjob {
  uv_timer_t t;
  wfi_job *job;
  struct fake *f;
  int cls;
};

static int class_of(wfi_job *job) {
  /* items are ints; class = item % 4 is encoded by the test's items_next as key suffix */
  const char *k = strrchr(job->step_key, '/');
  return k ? atoi(k + 1) % 4 : 0;
}

static void fjob_closed(uv_handle_t *h) { free(h->data); }

static void fjob_finish(struct fjob *fj, int ok) {
  struct fake *f = fj->f;
  f->inflight--;
  f->finished++;
  f->class_inflight[fj->cls]--;
  wfi_result res = {0};
  res.exit_code = ok ? 0 : 1;
  res.ok = ok;
  res.retryable = 1;
  if (ok) {
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_uint32(&pk, fj->job->attempt);
    res.output = (uint8_t *)sb.data;
    res.output_len = sb.size;
  } else {
    res.error = strdup("planned failure");
  }
  wfi_job *job = fj->job;
  fj->t.data = fj;
  uv_close((uv_handle_t *)&fj->t, fjob_closed);
  wfi_job_done(job, &res);
}

static void fjob_timer(uv_timer_t *t) {
  struct fjob *fj = t->data;
  fjob_finish(fj, fj->job->attempt > fj->f->fail_first);
}

static void fake_start(void *ctx, wfi_job *job) {
  struct fake *f = ctx;
  if (f->no_capacity || (f->capacity && f->inflight >= f->capacity)) {
    /* As an exec step out of descriptors: nothing started, reported at once. */
    wfi_result res = {0};
    res.exit_code = -1;
    res.retryable = 1;
    res.deferred = 1;
    res.error = strdup("cannot create pipes: Too many open files");
    f->deferred++;
    wfi_job_done(job, &res);
    return;
  }
  struct fjob *fj = calloc(1, sizeof *fj);
  fj->job = job;
  fj->f = f;
  fj->cls = class_of(job);
  job->act_state = fj;
  /* The real time, not the loop's cached time: the scheduler spaces starts by hrtime. */
  uint64_t now = uv_hrtime() / 1000000;
  if (!f->started) f->first_start_ms = now;
  f->last_start_ms = now;
  if (f->started < 4096) f->starts_ms[f->started] = (int64_t)now;
  f->started++;
  if (++f->inflight > f->max_inflight) f->max_inflight = f->inflight;
  if (++f->class_inflight[fj->cls] > f->class_max[fj->cls]) f->class_max[fj->cls] = f->class_inflight[fj->cls];
  uv_timer_init(job->loop, &fj->t);
  fj->t.data = fj;
  if (!f->hang) uv_timer_start(&fj->t, fjob_timer, f->delay_ms, 0);
}

static void fake_kill(void *ctx, wfi_job *job, int reason) {
  (void)reason;
  struct fake *f = ctx;
  struct fjob *fj = job->act_state;
  f->killed++;
  uv_timer_stop(&fj->t);
  fjob_finish(fj, 0);
}

static const wfi_activity fake_act = {"fake", fake_start, fake_kill};

/* ---- a plan over integer items -------------------------------------------------------- */

struct plan_ud {
  uint32_t nitems;
  struct fake *f;
  uint32_t max_ahead;      /* items pulled but not finished, at most */
};

struct wfi_items {
  uint32_t n, i;
  struct plan_ud *pu;
  uint8_t buf[16];
};

static int pack_u32(uint32_t v, uint8_t **out, size_t *len) {
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_uint32(&pk, v);
  *out = (uint8_t *)sb.data;
  *len = sb.size;
  return 0;
}

static int build_input(void *ud, wfi_exec *x, uint32_t stage, const uint8_t *item,
                       size_t item_len, uint8_t **in, size_t *in_len) {
  (void)ud, (void)x;
  if (!item) return pack_u32(stage, in, in_len);
  *in = malloc(item_len);
  memcpy(*in, item, item_len);
  *in_len = item_len;
  return 0;
}

static int items_open(void *ud, wfi_exec *x, uint32_t stage, wfi_items **it, uint64_t *h) {
  (void)x, (void)stage;
  struct plan_ud *p = ud;
  *it = calloc(1, sizeof **it);
  (*it)->n = p->nitems;
  (*it)->pu = p;
  *h = p->nitems;
  return 0;
}

static int items_next(wfi_items *it, const uint8_t **item, size_t *len, char *key, size_t kc,
                      char *cls, size_t cc) {
  if (it->i >= it->n) return 0;
  uint32_t v = it->i++;
  uint32_t ahead = it->i - it->pu->f->finished;
  if (ahead > it->pu->max_ahead) it->pu->max_ahead = ahead;
  uint8_t *p = NULL;
  size_t n = 0;
  pack_u32(v, &p, &n);
  memcpy(it->buf, p, n);
  free(p);
  *item = it->buf;
  *len = n;
  snprintf(key, kc, "%u", v);
  snprintf(cls, cc, "c%u", v % 4);
  return 1;
}

static void items_close(wfi_items *it) { free(it); }

static const wfi_plan_ops ops = {build_input, items_open, items_next, items_close, NULL};

/* The same items, their number told when the cursor opens. */
static int items_count(wfi_items *it, uint64_t *n) {
  *n = it->n;
  return 1;
}
static const wfi_plan_ops counted_ops = {build_input, items_open, items_next, items_close,
                                         items_count};

/* ---- fixture ---------------------------------------------------------------------------- */

struct fx {
  char dir[64];
  wfs_env *env;
  struct fake f;
  struct plan_ud pu;
  wfi_stage st[3];
  uint32_t needs1[1], needs2[1];
  wfi_class_limit classes[2];
  wfi_plan plan;
};

static int setup(void **state) {
  struct fx *x = calloc(1, sizeof *x);
  strcpy(x->dir, "/tmp/wf-sched-XXXXXX");
  assert_non_null(mkdtemp(x->dir));
  assert_wf_ok(wfs_open(x->dir, &x->env));
  for (int i = 0; i < 3; i++) {
    x->st[i].retry.max_attempts = 1;
    x->st[i].retry.backoff = 2;
    x->st[i].retry.initial_interval_s = 0.01;
    x->st[i].act = &fake_act;
    x->st[i].act_ctx = &x->f;
    x->st[i].selected = 1;
  }
  x->st[0].id = "first";
  x->st[1].id = "fan";
  x->st[1].fanout = 1;
  x->needs1[0] = 0;
  x->st[1].needs = x->needs1;
  x->st[1].nneeds = 1;
  x->st[2].id = "last";
  x->needs2[0] = 1;
  x->st[2].needs = x->needs2;
  x->st[2].nneeds = 1;
  x->plan.stages = x->st;
  x->plan.nstages = 3;
  x->plan.ops = &ops;
  x->plan.ud = &x->pu;
  x->pu.nitems = 40;
  x->pu.f = &x->f;
  x->f.delay_ms = 2;
  *state = x;
  return 0;
}

static int teardown(void **state) {
  struct fx *x = *state;
  wfs_close(x->env);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", x->dir);
  assert_int_equal(system(cmd), 0);
  free(x);
  return 0;
}

static int run(struct fx *x, const char *id, uint32_t window, int *status) {
  wfi_run_spec spec = {0};
  spec.run_id = id;
  spec.workflow = "t";
  spec.window = window;
  wfi_lease lease = WFI_LEASE_INIT;
  int rc = wfi_run_create(x->env, &spec, NULL, &lease);
  if (rc == WF_EEXIST) rc = wfi_run_claim(x->env, id, NULL, WFI_CLAIM_CANCELED, &lease, NULL);
  assert_wf_ok(rc);
  wfi_exec_opts o = {0};
  o.lease = &lease;
  rc = wfi_run_execute(x->env, id, &x->plan, &o, status);
  wfi_lease_release(&lease);
  return rc;
}

/* Claim an existing run again (restart: --start-from) and execute it. */
static int rerun(struct fx *x, const char *id, const wfi_run_spec *restart, int *status) {
  wfi_lease lease = WFI_LEASE_INIT;
  int rc = wfi_run_claim(x->env, id, restart, WFI_CLAIM_CANCELED, &lease, NULL);
  if (rc) return rc;
  wfi_exec_opts o = {0};
  o.lease = &lease;
  rc = wfi_run_execute(x->env, id, &x->plan, &o, status);
  wfi_lease_release(&lease);
  return rc;
}

static void get_run(struct fx *x, const char *id, wfs_run *r) {
  wfs_txn t;
  assert_wf_ok(wfs_read_begin(x->env, &t));
  assert_wf_ok(wfs_run_get(&t, id, r));
  wfs_read_end(&t);
}

/* The record of step `key` of run `id` (cleared by the caller). */
static void get_step(struct fx *x, const char *id, const char *key, wfs_step *s) {
  wfs_txn t;
  assert_wf_ok(wfs_read_begin(x->env, &t));
  assert_wf_ok(wfs_step_get(&t, id, key, s));
  wfs_read_end(&t);
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_window_bounds_inflight(void **state) {
  struct fx *x = *state;
  int status;
  assert_wf_ok(run(x, "w3", 3, &status));
  assert_int_equal(status, WFS_RUN_SUCCEEDED);
  assert_int_equal(x->f.started, 42);
  assert_int_equal(x->f.max_inflight, 3);
  wfs_run r = {0};
  get_run(x, "w3", &r);
  assert_int_equal(r.counts[WFS_STEP_SUCCEEDED], 42);
  assert_int_equal(r.status, WFS_RUN_SUCCEEDED);
  assert_int_equal(r.owner.pid, 0);
  wfs_run_clear(&r);
}

static void test_stage_concurrency(void **state) {
  struct fx *x = *state;
  x->st[1].concurrency = 2;
  int status;
  assert_wf_ok(run(x, "c2", 16, &status));
  assert_int_equal(status, WFS_RUN_SUCCEEDED);
  assert_int_equal(x->f.max_inflight, 2);
}

static void test_class_limit(void **state) {
  struct fx *x = *state;
  x->classes[0] = (wfi_class_limit){"c1", 1, 0};
  x->classes[1] = (wfi_class_limit){"*", 3, 0};
  x->st[1].classes = x->classes;
  x->st[1].nclasses = 2;
  int status;
  assert_wf_ok(run(x, "cls", 32, &status));
  assert_int_equal(status, WFS_RUN_SUCCEEDED);
  assert_int_equal(x->f.class_max[1], 1);
  assert_true(x->f.class_max[0] <= 3 && x->f.class_max[2] <= 3 && x->f.class_max[3] <= 3);
  assert_true(x->f.max_inflight >= 4); /* the limits are per class, not global */
}

static void test_rate_spaces_starts(void **state) {
  struct fx *x = *state;
  x->pu.nitems = 6;
  x->classes[0] = (wfi_class_limit){"*", 0, 50.0}; /* 50/s per class: 20 ms apart */
  x->st[1].classes = x->classes;
  x->st[1].nclasses = 1;
  x->pu.nitems = 8; /* classes c0..c3, two items each */
  int status;
  assert_wf_ok(run(x, "rate", 16, &status));
  assert_int_equal(status, WFS_RUN_SUCCEEDED);
  /* items i and i+4 share a class: their starts are at least ~20 ms apart */
  for (int i = 0; i < 4; i++) {
    int64_t a = x->f.starts_ms[1 + i], b = x->f.starts_ms[1 + i + 4];
    assert_true(b - a >= 18);
  }
}

static void test_stage_rate_spaces_all_starts(void **state) {
  struct fx *x = *state;
  x->pu.nitems = 6;
  x->st[1].rate = 40.0; /* the whole stage: 25 ms apart, whatever the class */
  int status;
  assert_wf_ok(run(x, "srate", 16, &status));
  assert_int_equal(status, WFS_RUN_SUCCEEDED);
  for (int i = 2; i <= 6; i++) assert_true(x->f.starts_ms[i] - x->f.starts_ms[i - 1] >= 23);
}

static void test_retry_then_success(void **state) {
  struct fx *x = *state;
  x->f.fail_first = 2;
  for (int i = 0; i < 3; i++) x->st[i].retry.max_attempts = 3;
  x->pu.nitems = 5;
  int status;
  assert_wf_ok(run(x, "retry", 8, &status));
  assert_int_equal(status, WFS_RUN_SUCCEEDED);
  assert_int_equal(x->f.started, 7 * 3);
  wfs_step s = {0};
  get_step(x, "retry", "fan/3", &s);
  assert_int_equal(s.attempt, 3);
  assert_int_equal(s.status, WFS_STEP_SUCCEEDED);
  wfs_step_clear(&s);
}

static void test_failure_fails_run_and_resume_reexecutes_only_failed(void **state) {
  struct fx *x = *state;
  x->f.fail_first = 1;
  x->pu.nitems = 5;
  int status;
  assert_wf_ok(run(x, "fail", 8, &status));
  assert_int_equal(status, WFS_RUN_FAILED);
  assert_int_equal(x->f.started, 1); /* the first stage failed: nothing after it ran */
  wfs_run r = {0};
  get_run(x, "fail", &r);
  assert_int_equal(r.status, WFS_RUN_FAILED);
  assert_non_null(r.error);
  assert_non_null(strstr(r.error, "planned failure"));
  wfs_run_clear(&r);
  /* resume with the fault gone: "first" runs again (attempt 2), everything after once */
  x->f.fail_first = 0;
  x->f.started = 0;
  assert_wf_ok(run(x, "fail", 8, &status));
  assert_int_equal(status, WFS_RUN_SUCCEEDED);
  assert_int_equal(x->f.started, 7);
  wfs_step s = {0};
  get_step(x, "fail", "first", &s);
  assert_int_equal(s.attempt, 2); /* attempt numbers continue across executions */
  wfs_step_clear(&s);
}

static void test_second_execution_is_memoized(void **state) {
  struct fx *x = *state;
  int status;
  assert_wf_ok(run(x, "memo", 8, &status));
  assert_int_equal(x->f.started, 42);
  /* a finished run is refused; a failed-then-resumed path is covered above. Mark it
   * failed by hand to resume it: nothing executes again. */
  wfs_run r = {0};
  get_run(x, "memo", &r);
  assert_wf_err(rerun(x, "memo", NULL, &status), WF_ESTATE);
  wfs_run_clear(&r);
  wfi_run_spec restart = {0};
  x->f.started = 0;
  assert_wf_ok(rerun(x, "memo", &restart, &status));
  assert_int_equal(status, WFS_RUN_SUCCEEDED);
  assert_int_equal(x->f.started, 0);
}

static void test_rerun_stage_executes_again(void **state) {
  struct fx *x = *state;
  int status;
  assert_wf_ok(run(x, "rerun", 8, &status));
  x->st[1].rerun = x->st[2].rerun = 1; /* --start-from fan */
  wfi_run_spec restart = {0};
  x->f.started = 0;
  assert_wf_ok(rerun(x, "rerun", &restart, &status));
  assert_int_equal(status, WFS_RUN_SUCCEEDED);
  assert_int_equal(x->f.started, 41); /* fan (40) + last, not first */
}

static void test_timeout_kills_and_fails(void **state) {
  struct fx *x = *state;
  x->f.hang = 1;
  x->st[0].timeout_s = 0.05;
  int status;
  assert_wf_ok(run(x, "timeout", 8, &status));
  assert_int_equal(status, WFS_RUN_FAILED);
  assert_int_equal(x->f.killed, 1);
  wfs_step s = {0};
  get_step(x, "timeout", "first", &s);
  assert_int_equal(s.status, WFS_STEP_FAILED);
  assert_non_null(strstr(s.error, "timed out"));
  wfs_step_clear(&s);
}

static void test_continue_on_error_degrades(void **state) {
  struct fx *x = *state;
  x->f.fail_first = 1;
  x->st[0].retry.max_attempts = 2; /* the first stage recovers, items fail once */
  x->pu.nitems = 6;
  wfi_run_spec spec = {0};
  spec.run_id = "coe";
  spec.workflow = "t";
  spec.continue_on_error = 1;
  wfi_lease lease = WFI_LEASE_INIT;
  assert_wf_ok(wfi_run_create(x->env, &spec, NULL, &lease));
  wfi_exec_opts o = {0};
  o.lease = &lease;
  int status;
  assert_wf_ok(wfi_run_execute(x->env, "coe", &x->plan, &o, &status));
  wfi_lease_release(&lease);
  assert_int_equal(status, WFS_RUN_DEGRADED);
  assert_int_equal(x->f.started, 2 + 6); /* "last" is skipped: no fan item succeeded */
}

/* Starts that lack a resource while others run wait for one of them to end: every step
 * succeeds at its first attempt, never more than the capacity in flight. */
static void test_lacking_resource_waits(void **state) {
  struct fx *x = *state;
  x->f.capacity = 3;
  int status;
  assert_wf_ok(run(x, "lack", 16, &status));
  assert_int_equal(status, WFS_RUN_SUCCEEDED);
  assert_int_equal(x->f.started, 42);
  assert_int_equal(x->f.max_inflight, 3);
  assert_true(x->f.deferred > 0);
  wfs_step s = {0};
  for (uint32_t i = 0; i < 40; i++) {
    char key[16];
    snprintf(key, sizeof key, "fan/%u", i);
    get_step(x, "lack", key, &s);
    assert_int_equal(s.status, WFS_STEP_SUCCEEDED);
    assert_int_equal(s.attempt, 1);
    wfs_step_clear(&s);
  }
}

/* With nothing else in flight there is nothing to wait for: the step fails (after its
 * retries) with the activity's message, and the run ends. */
static void test_lacking_resource_alone_fails(void **state) {
  struct fx *x = *state;
  x->f.no_capacity = 1;
  for (int i = 0; i < 3; i++) x->st[i].retry.max_attempts = 2;
  int status;
  assert_wf_ok(run(x, "alone", 16, &status));
  assert_int_equal(status, WFS_RUN_FAILED);
  assert_int_equal(x->f.deferred, 2);
  wfs_step s = {0};
  get_step(x, "alone", "first", &s);
  assert_int_equal(s.status, WFS_STEP_FAILED);
  assert_int_equal(s.attempt, 2);
  assert_string_equal(s.error, "cannot create pipes: Too many open files");
  wfs_step_clear(&s);
}

static void test_large_fanout_memory_is_bounded(void **state) {
  struct fx *x = *state;
  x->pu.nitems = 20000;
  x->f.delay_ms = 0;
  x->classes[0] = (wfi_class_limit){"c0", 1, 0}; /* one slow class fills the park */
  x->st[1].classes = x->classes;
  x->st[1].nclasses = 1;
  int status;
  assert_wf_ok(run(x, "big", 16, &status));
  assert_int_equal(status, WFS_RUN_SUCCEEDED);
  assert_int_equal(x->f.started, 20002);
  wfs_run r = {0};
  get_run(x, "big", &r);
  assert_int_equal(r.counts[WFS_STEP_SUCCEEDED], 20002);
  wfs_run_clear(&r);
  /* the cursor never ran further ahead than the window plus the park */
  assert_true(x->pu.max_ahead <= 16 + 1024 + 2);
  assert_true(x->pu.max_ahead > 16); /* and the park was used: c0 is limited to 1 */
}

/* ---- the progress report ---------------------------------------------------------------- */

struct tick {
  char path[128];
  uint8_t bytes[4096];     /* the report file as the first tick with 3 steps in flight left it */
  size_t len;
  int seen;
};

static void on_progress(void *ud, const wfi_progress *p) {
  struct tick *t = ud;
  if (p->type != WFI_P_TICK || t->seen || p->report->running != 3) return;
  const wf_run_progress *r = p->report;
  t->seen = 1;
  assert_true(r->live);
  assert_int_equal(r->nstages, 3);
  assert_string_equal(r->stages[0].id, "first");
  assert_int_equal(r->stages[0].status, WFS_STEP_SUCCEEDED);
  assert_int_equal(r->stages[1].status, WFS_STEP_RUNNING);
  assert_true(r->stages[1].total_known);
  assert_int_equal(r->stages[1].total, 6);
  assert_int_equal(r->stages[1].running, 3);
  assert_int_equal(r->stages[2].status, WFS_STEP_PENDING);
  assert_int_equal(r->stages[2].started_at, 0);
  assert_int_equal(r->nsteps, 3);
  for (size_t i = 0; i < r->nsteps; i++) {
    assert_int_equal(r->steps[i].stage, 1);
    assert_int_equal(r->steps[i].attempt, 1);
    if (i) assert_true(r->steps[i - 1].started_at <= r->steps[i].started_at);
  }
  FILE *f = fopen(t->path, "rb");
  assert_non_null(f);
  t->len = fread(t->bytes, 1, sizeof t->bytes, f);
  fclose(f);
}

static void put_file(const char *path, const void *buf, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(buf, 1, len, f), len);
  fclose(f);
}

/* The owner reports its stages and steps in flight while it runs, and what it did when it
 * ends; a reader takes a report as live only from the live owner that wrote it. */
static void test_progress_report(void **state) {
  struct fx *x = *state;
  x->plan.ops = &counted_ops;
  x->pu.nitems = 6;
  x->f.delay_ms = 700;
  struct tick t = {0};
  snprintf(t.path, sizeof t.path, "%s/logs/pr/.progress", x->dir);
  wfi_run_spec spec = {0};
  spec.run_id = "pr";
  spec.workflow = "t";
  spec.window = 3;
  wfi_lease lease = WFI_LEASE_INIT;
  assert_wf_ok(wfi_run_create(x->env, &spec, NULL, &lease));
  wfi_exec_opts o = {0};
  o.lease = &lease;
  o.observe = on_progress;
  o.observe_ud = &t;
  int status;
  assert_wf_ok(wfi_run_execute(x->env, "pr", &x->plan, &o, &status));
  wfi_lease_release(&lease);
  assert_int_equal(status, WFS_RUN_SUCCEEDED);
  assert_true(t.seen && t.len > 0);

  wfs_run rec = {0};
  get_run(x, "pr", &rec);
  wf_run_progress *p;
  /* The last report: the execution ended, nothing runs, every count is final. */
  assert_wf_ok(wfi_report_read(x->dir, &rec, 1, &p));
  assert_false(p->live);
  assert_int_equal(p->running, 0);
  assert_int_equal(p->nsteps, 0);
  assert_int_equal(p->stages[1].status, WFS_STEP_SUCCEEDED);
  assert_int_equal(p->stages[1].done, 6);
  assert_int_equal(p->stages[1].total, 6);
  assert_int_equal(p->stages[1].reused, 0);
  /* Each step waits 700 ms on a libuv timer, which counts from the loop's cached time:
   * a step stamped later than that (a loaded machine) measures a little less. */
  assert_true(p->stages[1].exec_ms >= 6 * 600);
  assert_true(p->stages[2].started_at && p->stages[2].finished_at >= p->stages[2].started_at);
  wf_run_progress_free(p);

  /* The report of the tick, as a live owner leaves it for others. */
  put_file(t.path, t.bytes, t.len);
  assert_wf_ok(wfi_report_read(x->dir, &rec, 1, &p));
  assert_true(p->live);
  assert_int_equal(p->running, 3);
  assert_int_equal(p->nsteps, 3);
  assert_string_equal(p->steps[0].key, "fan/0");
  assert_int_equal(p->stages[1].status, WFS_STEP_RUNNING);
  wf_run_progress_free(p);
  /* Its owner gone, nothing in it runs: the stage stopped where it was, with the steps
   * recorded after the report counted (here all of its six: the run ended after). */
  assert_wf_ok(wfi_report_read(x->dir, &rec, 0, &p));
  assert_false(p->live);
  assert_int_equal(p->running, 0);
  assert_int_equal(p->nsteps, 0);
  assert_int_equal(p->stages[1].running, 0);
  assert_int_equal(p->stages[1].status, WFS_STEP_PENDING);
  assert_true(p->stages[1].started_at > 0);
  assert_int_equal(p->stages[1].total, 6);
  assert_int_equal(p->stages[1].done, 6);
  assert_int_equal(p->stages[2].done, 0);
  wf_run_progress_free(p);
  /* Written by an owner the run has since been taken from: not live either. */
  rec.epoch++;
  assert_wf_ok(wfi_report_read(x->dir, &rec, 1, &p));
  assert_false(p->live);
  wf_run_progress_free(p);
  rec.epoch--;

  /* Cut anywhere, or with a byte changed, it is no report or a report, never a crash. */
  for (size_t n = 0; n < t.len; n++) {
    put_file(t.path, t.bytes, n);
    assert_wf_err(wfi_report_read(x->dir, &rec, 1, &p), WF_ENOTFOUND);
    assert_null(p);
  }
  for (size_t i = 0; i < t.len; i++) {
    uint8_t b[sizeof t.bytes];
    memcpy(b, t.bytes, t.len);
    b[i] ^= 0x5a;
    put_file(t.path, b, t.len);
    int rc = wfi_report_read(x->dir, &rec, 1, &p);
    assert_true(rc == 0 || rc == WF_ENOTFOUND);
    wf_run_progress_free(p);
  }
  remove(t.path);
  assert_wf_err(wfi_report_read(x->dir, &rec, 1, &p), WF_ENOTFOUND);
  wfs_run_clear(&rec);
}

/* A fan-out whose items are all recorded with the same inputs is reused whole: its items
 * count as reused, without being read one by one. */
static void test_reused_stage_counts_its_items(void **state) {
  struct fx *x = *state;
  x->plan.ops = &counted_ops;
  x->pu.nitems = 5;
  int status;
  assert_wf_ok(run(x, "ru", 4, &status));
  wfi_run_spec restart = {0};
  x->f.started = 0;
  assert_wf_ok(rerun(x, "ru", &restart, &status));
  assert_int_equal(status, WFS_RUN_SUCCEEDED);
  assert_int_equal(x->f.started, 0);
  wfs_run rec = {0};
  get_run(x, "ru", &rec);
  wf_run_progress *p;
  assert_wf_ok(wfi_report_read(x->dir, &rec, 0, &p));
  assert_int_equal(p->stages[1].done, 5);
  assert_int_equal(p->stages[1].reused, 5);
  assert_int_equal(p->stages[0].reused, 1);
  assert_int_equal(p->stages[2].reused, 1);
  wf_run_progress_free(p);
  wfs_run_clear(&rec);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_window_bounds_inflight, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stage_concurrency, setup, teardown),
      cmocka_unit_test_setup_teardown(test_class_limit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rate_spaces_starts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stage_rate_spaces_all_starts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_retry_then_success, setup, teardown),
      cmocka_unit_test_setup_teardown(test_failure_fails_run_and_resume_reexecutes_only_failed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_second_execution_is_memoized, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rerun_stage_executes_again, setup, teardown),
      cmocka_unit_test_setup_teardown(test_timeout_kills_and_fails, setup, teardown),
      cmocka_unit_test_setup_teardown(test_continue_on_error_degrades, setup, teardown),
      cmocka_unit_test_setup_teardown(test_lacking_resource_waits, setup, teardown),
      cmocka_unit_test_setup_teardown(test_lacking_resource_alone_fails, setup, teardown),
      cmocka_unit_test_setup_teardown(test_large_fanout_memory_is_bounded, setup, teardown),
      cmocka_unit_test_setup_teardown(test_progress_report, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reused_stage_counts_its_items, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
