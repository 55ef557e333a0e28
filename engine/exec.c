/* exec.c — the scheduler: executes a claimed run's plan on one libuv loop.
 *
 * Stages become active when the stages they need are done. Active stages offer steps
 * to a rolling window: at most `window` steps of the run in flight, at most
 * `concurrency` of a stage, at most `limit` of a class, and class starts spaced by its
 * `rate`. A finished step frees its slot at once; finished steps are committed together
 * (group commit) when the loop has nothing else to do or WFI_COMMIT_CAP are waiting,
 * and only then is anything that depends on them scheduled or reported.
 * Fan-out items are pulled from the workflow's cursor only as slots free up, so memory
 * stays bounded however many items a stage has. */
#define _DEFAULT_SOURCE /* realpath */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "exec_int.h"

static void drive(wfi_exec *x, int flush_ok);
static void fail_run(wfi_exec *x, int reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int64_t now_us(wfi_exec *x) {
  uv_update_time(&x->loop);
  return (int64_t)(uv_hrtime() / 1000);
}

static void progress(wfi_exec *x, int type, uint32_t stage, const struct rstep *s) {
  if (!x->opts.observe) return;
  struct rstage *st = &x->st[stage];
  wfi_progress p = {0};
  p.type = type;
  p.stage = stage;
  p.stage_id = x->plan->stages[stage].id;
  p.done = st->done;
  p.failed = st->failed;
  p.total = st->exhausted ? st->pulled : 0;
  if (type == WFI_P_STAGE_FINISHED) {
    p.status = st->result;
    p.duration_s = (double)(wfs_now_ms() - st->t_start) / 1000.0;
  }
  if (s) {
    p.step_key = s->key;
    p.attempt = s->attempt;
    p.status = s->outcome == OUT_SUCCEEDED ? WFS_STEP_SUCCEEDED
               : s->outcome == OUT_CANCELED ? WFS_STEP_CANCELED
                                            : WFS_STEP_FAILED;
    p.duration_s = (double)(wfs_now_ms() - s->attempt_start) / 1000.0;
    p.delay_s = s->retry_delay_s;
    p.error = s->res.error;
  }
  x->opts.observe(x->opts.observe_ud, &p);
}

static void fail_run(wfi_exec *x, int reason, const char *fmt, ...) {
  if (!x->err[0] && fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->err, sizeof x->err, fmt, ap);
    va_end(ap);
  }
  if (!x->stop_reason || reason == STOP_STORE) x->stop_reason = reason;
}

void wfi_exec_error(wfi_exec *x, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(x->hook_err, sizeof x->hook_err, fmt, ap);
  va_end(ap);
}

const char *wfi_exec_run_id(const wfi_exec *x) { return x->run.id; }

/* ---- steps ------------------------------------------------------------------------ */

static void on_wake(uv_timer_t *t) { drive(t->data, 0); }
static void on_idle(uv_idle_t *h) { drive(h->data, 1); }

static void list_add(struct rstep **head, struct rstep *s) {
  s->rprev = NULL;
  s->rnext = *head;
  if (*head) (*head)->rprev = s;
  *head = s;
}

static void list_del(struct rstep **head, struct rstep *s) {
  if (s->rprev) s->rprev->rnext = s->rnext;
  else *head = s->rnext;
  if (s->rnext) s->rnext->rprev = s->rprev;
  s->rprev = s->rnext = NULL;
}


static void timer_free_cb(uv_handle_t *h) { free(h); }

static void step_timer_stop(struct rstep *s) {
  if (!s->timer) return;
  uv_timer_stop(s->timer);
  uv_close((uv_handle_t *)s->timer, timer_free_cb);
  s->timer = NULL;
}

void wfi_step_free(struct rstep *s) {
  if (!s) return;
  step_timer_stop(s);
  free(s->key);
  free(s->input);
  free(s->res.output);
  free(s->res.error);
  free(s->res.stderr_tail);
  free(s->log_path);
  free(s);
}

static struct rclass *class_for(wfi_exec *x, uint32_t stage, const char *name) {
  const wfi_stage *sd = &x->plan->stages[stage];
  struct rstage *st = &x->st[stage];
  if (!name[0] || !sd->nclasses) return NULL;
  for (struct rclass *c = st->classes; c; c = c->next)
    if (strcmp(c->name, name) == 0) return c;
  const wfi_class_limit *lim = NULL;
  for (uint32_t i = 0; i < sd->nclasses; i++) {
    if (strcmp(sd->classes[i].cls, name) == 0) { lim = &sd->classes[i]; break; }
    if (strcmp(sd->classes[i].cls, "*") == 0) lim = &sd->classes[i];
  }
  if (!lim) return NULL;
  struct rclass *c = calloc(1, sizeof *c);
  if (!c || !(c->name = wfs_strdup(name))) {
    free(c);
    return NULL;
  }
  c->limit = lim->limit;
  c->rate = lim->rate;
  c->next = st->classes;
  st->classes = c;
  return c;
}

/* Read what is recorded of s->key: its status (-1 none) and, when it is not a success,
 * its attempt number so numbering continues. */
static void load_prev(wfi_exec *x, struct rstep *s, uint64_t *hash, uint32_t *gen) {
  wfs_txn t;
  int status = -1;
  s->prev_status = -1;
  if (x->fresh) return;
  if (wfs_read_begin(x->env, &t) != 0) return;
  if (wfs_step_peek(&t, x->run.id, s->key, &status, hash, gen) != 0) status = -1;
  if (status >= 0 && status != WFS_STEP_SUCCEEDED) {
    wfs_step old = {0};
    if (wfs_step_get(&t, x->run.id, s->key, &old) == 0) s->attempt = old.attempt;
    wfs_step_clear(&old);
  }
  wfs_read_end(&t);
  s->prev_status = status;
}

/* Whether the recorded result of s can be reused instead of executing it. */
static int memoized(wfi_exec *x, uint32_t stage, struct rstep *s) {
  uint64_t hash = 0;
  uint32_t gen = 0;
  load_prev(x, s, &hash, &gen);
  if (s->prev_status != WFS_STEP_SUCCEEDED) return 0;
  if (x->plan->stages[stage].rerun && gen < x->run.generation) {
    wfi_exec_add_event(x, s->key, WFS_EV_STEP_SUPERSEDED, "executing again (--start-from)");
    return 0;
  }
  if (hash != s->input_hash) {
    wfi_exec_add_event(x, s->key, WFS_EV_STEP_INPUT_CHANGED,
                       "recorded input differs: executing again");
    return 0;
  }
  return 1;
}

/* Make the step for a single stage (item NULL) or one item; NULL when memoized or on
 * error (then the stage or run is failed). */
static struct rstep *make_step(wfi_exec *x, uint32_t stage, const char *key,
                               const uint8_t *item, size_t item_len, const char *cls) {
  struct rstage *st = &x->st[stage];
  struct rstep *s = calloc(1, sizeof *s);
  if (!s || !(s->key = wfs_strdup(key))) {
    free(s);
    fail_run(x, STOP_STORE, "out of memory");
    return NULL;
  }
  s->x = x;
  s->stage = stage;
  s->res.exit_code = -1;
  x->hook_err[0] = '\0';
  int rc = x->plan->ops->build_input(x->plan->ud, x, stage, item, item_len, &s->input,
                                     &s->input_len);
  if (rc == 0) {
    s->input_hash = wfs_hash(s->input, s->input_len);
    if (memoized(x, stage, s)) {
      st->done++;
      st->memo++;
      wfi_step_free(s);
      return NULL;
    }
  } else {
    /* The input cannot be built: the step fails now, without retries. */
    uint64_t hash;
    uint32_t gen;
    s->outcome = OUT_FAILED;
    load_prev(x, s, &hash, &gen);
    s->res.error = wfs_strdup(x->hook_err[0] ? x->hook_err : wf_strerror(rc));
  }
  s->cls = class_for(x, stage, cls ? cls : "");
  st->outstanding++;
  return s;
}

static void park(struct rstage *st, struct rstep *s) {
  s->next = NULL;
  if (st->parked_tail) st->parked_tail->next = s;
  else st->parked_head = s;
  st->parked_tail = s;
  st->nparked++;
}

static void arm_wake(wfi_exec *x, int64_t at_us) {
  int64_t now = now_us(x);
  uint64_t ms = at_us > now ? (uint64_t)((at_us - now + 999) / 1000) : 0;
  if (!uv_is_active((uv_handle_t *)&x->wake) || uv_timer_get_due_in(&x->wake) > ms)
    uv_timer_start(&x->wake, on_wake, ms, 0);
}

static int class_ok(wfi_exec *x, struct rclass *c) {
  if (!c) return 1;
  if (c->limit && c->inflight >= c->limit) return 0;
  if (c->rate > 0) {
    int64_t now = now_us(x);
    if (now < c->next_at_us) {
      arm_wake(x, c->next_at_us);
      return 0;
    }
  }
  return 1;
}

static void finish_step(wfi_exec *x, struct rstep *s);

/* Pull items from the stage's cursor until one can start now (returned), the cursor
 * ends, or too many wait for their class. */
static struct rstep *pull(wfi_exec *x, uint32_t stage) {
  struct rstage *st = &x->st[stage];
  const wfi_stage *sd = &x->plan->stages[stage];
  char ikey[WFS_MAX_STEP_KEY + 1], cls[256], key[WFS_MAX_STEP_KEY + 2];
  while (!st->exhausted && st->nparked < WFI_PARK_CAP && !x->stop_reason) {
    const uint8_t *item = NULL;
    size_t item_len = 0;
    cls[0] = '\0';
    x->hook_err[0] = '\0';
    int r = x->plan->ops->items_next(st->it, &item, &item_len, ikey, sizeof ikey, cls, sizeof cls);
    if (r < 0) {
      fail_run(x, STOP_FAILED, "stage %s: %s", sd->id, x->hook_err[0] ? x->hook_err : wf_strerror(r));
      st->failed++;
      x->any_failed = 1;
      st->exhausted = 1;
      break;
    }
    if (r == 0) {
      st->exhausted = 1;
      progress(x, WFI_P_ITEMS_KNOWN, stage, NULL);
      break;
    }
    st->pulled++;
    int n = sd->id[0] ? snprintf(key, sizeof key, "%s/%s", sd->id, ikey)
                      : snprintf(key, sizeof key, "%s", ikey);
    if (n < 0 || (size_t)n >= sizeof key || wfs_check_step_key(key) != 0) {
      fail_run(x, STOP_FAILED, "stage %s: item %llu has an unusable key \"%.60s\"", sd->id,
               (unsigned long long)st->pulled - 1, ikey);
      st->failed++;
      x->any_failed = 1;
      st->exhausted = 1;
      break;
    }
    struct rstep *s = make_step(x, stage, key, item, item_len, cls);
    if (!s) continue;
    if (s->outcome == OUT_FAILED) {
      finish_step(x, s);
      continue;
    }
    if (class_ok(x, s->cls)) return s;
    park(st, s);
  }
  if (st->exhausted && st->it) {
    x->plan->ops->items_close(st->it);
    st->it = NULL;
  }
  return NULL;
}

static struct rstep *next_startable(wfi_exec *x, uint32_t stage) {
  struct rstage *st = &x->st[stage];
  struct rstep *prev = NULL;
  for (struct rstep *s = st->parked_head; s; prev = s, s = s->next) {
    if (!class_ok(x, s->cls)) continue;
    if (prev) prev->next = s->next;
    else st->parked_head = s->next;
    if (st->parked_tail == s) st->parked_tail = prev;
    st->nparked--;
    s->next = NULL;
    return s;
  }
  return pull(x, stage);
}

static void on_timeout(uv_timer_t *t) {
  struct rstep *s = t->data;
  const wfi_stage *sd = &s->x->plan->stages[s->stage];
  s->kill_reason = WFI_KILL_TIMEOUT;
  sd->act->kill(sd->act_ctx, &s->job, WFI_KILL_TIMEOUT);
}

static void on_job_done(wfi_job *job, wfi_result *res);

static void start_step(wfi_exec *x, struct rstep *s) {
  struct rstage *st = &x->st[s->stage];
  const wfi_stage *sd = &x->plan->stages[s->stage];
  s->attempt++;
  s->tries++;
  s->attempt_start = wfs_now_ms();
  s->outcome = OUT_NONE;
  s->kill_reason = 0;
  free(s->res.output);
  free(s->res.error);
  free(s->res.stderr_tail);
  memset(&s->res, 0, sizeof s->res);
  s->res.exit_code = -1;
  x->inflight++;
  st->inflight++;
  if (x->inflight > x->max_inflight) x->max_inflight = x->inflight;
  if (s->cls) {
    s->cls->inflight++;
    if (s->cls->rate > 0) s->cls->next_at_us = now_us(x) + (int64_t)(1e6 / s->cls->rate);
  }
  list_add(&x->running, s);

  wfi_job *j = &s->job;
  memset(j, 0, sizeof *j);
  j->loop = &x->loop;
  j->home = x->home;
  j->run_id = x->run.id;
  j->stage = sd->id;
  j->step_key = s->key;
  j->run_dir = x->run_dir;
  if (!s->log_path) {
    char path[PATH_MAX];
    if (wfi_log_path(x->home, x->run.id, s->key, path, sizeof path) != 0)
      snprintf(path, sizeof path, "/dev/null");
    s->log_path = wfs_strdup(path);
  }
  j->log_path = s->log_path;
  j->attempt = s->attempt;
  j->input = s->input;
  j->input_len = s->input_len;
  j->max_output = x->max_output;
  j->kill_grace_s = x->kill_grace_s;
  j->act_ctx = sd->act_ctx;
  j->on_done = on_job_done;
  if (sd->timeout_s > 0) {
    s->timer = malloc(sizeof *s->timer);
    if (s->timer) {
      uv_timer_init(&x->loop, s->timer);
      s->timer->data = s;
      uv_timer_start(s->timer, on_timeout, (uint64_t)(sd->timeout_s * 1000.0), 0);
    }
  }
  sd->act->start(sd->act_ctx, j);
}

/* A step reached an outcome: queue it for the next group commit. */
static void finish_step(wfi_exec *x, struct rstep *s) {
  s->next = NULL;
  if (x->done_tail) x->done_tail->next = s;
  else x->done_head = s;
  x->done_tail = s;
  x->ndone++;
  if (!uv_is_active((uv_handle_t *)&x->idle)) uv_idle_start(&x->idle, on_idle);
}

static void on_job_done(wfi_job *job, wfi_result *res) {
  struct rstep *s = (struct rstep *)((char *)job - offsetof(struct rstep, job));
  wfi_exec *x = s->x;
  struct rstage *st = &x->st[s->stage];
  const wfi_stage *sd = &x->plan->stages[s->stage];
  step_timer_stop(s);
  s->res = *res;
  memset(res, 0, sizeof *res);
  x->inflight--;
  st->inflight--;
  if (s->cls) s->cls->inflight--;
  list_del(&x->running, s);

  if (s->res.ok && s->res.output_len > x->max_output) {
    s->res.ok = 0;
    s->res.retryable = 0;
    free(s->res.error);
    char msg[128];
    snprintf(msg, sizeof msg, "output of %zu bytes exceeds the cap of %zu bytes",
             s->res.output_len, x->max_output);
    s->res.error = wfs_strdup(msg);
  }
  if (s->kill_reason == WFI_KILL_TIMEOUT) {
    char msg[160];
    snprintf(msg, sizeof msg, "timed out after %gs (timeout_s); its process group was killed",
             sd->timeout_s);
    free(s->res.error);
    s->res.error = wfs_strdup(msg);
    s->res.ok = 0;
    s->res.retryable = 1;
  }
  if (s->kill_reason == WFI_KILL_CANCEL) s->outcome = OUT_CANCELED;
  else if (s->kill_reason == WFI_KILL_SHUTDOWN) s->outcome = OUT_DROPPED;
  else if (s->res.ok) s->outcome = OUT_SUCCEEDED;
  else if (!x->stop_reason && wfi_retry_allowed(&sd->retry, s->tries, &s->res)) {
    s->outcome = OUT_RETRY;
    s->retry_delay_s = wfi_retry_delay(&sd->retry, s->tries);
  } else
    s->outcome = OUT_FAILED;
  if (!s->res.ok && !s->res.error) s->res.error = wfs_strdup("step failed");
  finish_step(x, s);
  drive(x, 0);
}

static void on_retry(uv_timer_t *t) {
  struct rstep *s = t->data;
  wfi_exec *x = s->x;
  step_timer_stop(s);
  list_del(&x->retrying, s);
  x->waiting--;
  if (x->stop_reason) {
    /* Stopping: the step stays recorded as pending with its last error. */
    x->st[s->stage].outstanding--;
    x->st[s->stage].truncated = 1;
    wfi_step_free(s);
  } else {
    /* Back to the front of its stage: it was ready before the items behind it. */
    struct rstage *st = &x->st[s->stage];
    s->next = st->parked_head;
    st->parked_head = s;
    if (!st->parked_tail) st->parked_tail = s;
    st->nparked++;
  }
  drive(x, 0);
}

/* ---- stages ------------------------------------------------------------------------ */

static void stage_done(wfi_exec *x, uint32_t i, int result) {
  struct rstage *st = &x->st[i];
  st->state = S_DONE;
  st->result = result;
  x->again = 1; /* stages that need this one may start now */
  progress(x, WFI_P_STAGE_FINISHED, i, NULL);
}

/* Whether a finished stage lets the stages that need it run. */
static int need_ok(wfi_exec *x, uint32_t i) {
  struct rstage *st = &x->st[i];
  if (st->state != S_DONE) return 0;
  if (st->result == WFS_STEP_SUCCEEDED || st->unselected) return 1;
  /* Under --continue-on-error a fan-out goes on with the items that succeeded. */
  return st->result == WFS_STEP_FAILED && x->plan->stages[i].fanout &&
         (x->opts.continue_on_error || x->run.continue_on_error) && st->done > 0;
}

static void activate_fanout(wfi_exec *x, uint32_t i) {
  struct rstage *st = &x->st[i];
  const wfi_stage *sd = &x->plan->stages[i];
  x->hook_err[0] = '\0';
  int rc = x->plan->ops->items_open(x->plan->ud, x, i, &st->it, &st->source_hash);
  if (rc) {
    st->it = NULL;
    st->failed++;
    x->any_failed = 1;
    fail_run(x, STOP_FAILED, "stage %s: %s", sd->id, x->hook_err[0] ? x->hook_err : wf_strerror(rc));
    stage_done(x, i, WFS_STEP_FAILED);
    return;
  }
  st->record_prev = -1;
  if (!sd->id[0]) return;  /* embedding API: no stage record */
  wfs_txn t;
  int status = -1;
  uint64_t hash = 0;
  uint32_t gen = 0;
  if (wfs_read_begin(x->env, &t) == 0) {
    if (wfs_step_peek(&t, x->run.id, sd->id, &status, &hash, &gen) != 0) status = -1;
    wfs_read_end(&t);
  }
  st->record_prev = status;
  if (status == WFS_STEP_SUCCEEDED && hash == st->source_hash &&
      !(sd->rerun && gen < x->run.generation)) {
    x->plan->ops->items_close(st->it);
    st->it = NULL;
    st->exhausted = 1;
    stage_done(x, i, WFS_STEP_SUCCEEDED);
  }
}

static void activate(wfi_exec *x, uint32_t i) {
  struct rstage *st = &x->st[i];
  const wfi_stage *sd = &x->plan->stages[i];
  st->state = S_ACTIVE;
  st->t_start = wfs_now_ms();
  if (!sd->selected) {
    st->unselected = 1;
    stage_done(x, i, WFS_STEP_SKIPPED);
    return;
  }
  progress(x, WFI_P_STAGE_STARTED, i, NULL);
  if (sd->fanout) {
    activate_fanout(x, i);
    return;
  }
  st->exhausted = 1;
  st->pulled = 1;
  struct rstep *s = make_step(x, i, sd->id, NULL, 0, NULL);
  if (!s) return; /* memoized: finishes in check_stages */
  if (s->outcome == OUT_FAILED) finish_step(x, s);
  else park(st, s);
}

static void activate_ready(wfi_exec *x) {
  for (uint32_t i = 0; i < x->plan->nstages; i++) {
    struct rstage *st = &x->st[i];
    if (st->state != S_WAIT) continue;
    const wfi_stage *sd = &x->plan->stages[i];
    int ready = 1, blocked = 0;
    for (uint32_t k = 0; k < sd->nneeds; k++) {
      uint32_t n = sd->needs[k];
      if (x->st[n].state != S_DONE) ready = 0;
      else if (!need_ok(x, n)) blocked = 1;
    }
    if (!ready) continue;
    if (blocked) {
      st->t_start = wfs_now_ms();
      stage_done(x, i, WFS_STEP_SKIPPED);
      continue;
    }
    activate(x, i);
  }
}

/* Active stages with nothing left move on: single stages are done (their step record
 * is the stage's record); fan-outs first commit their stage record. A stage cut short
 * by a stop gets no record, so a later execution iterates it again. */
static void check_stages(wfi_exec *x) {
  for (uint32_t i = 0; i < x->plan->nstages; i++) {
    struct rstage *st = &x->st[i];
    if (st->state != S_ACTIVE || !st->exhausted || st->nparked || st->outstanding) continue;
    int result = st->failed ? WFS_STEP_FAILED : WFS_STEP_SUCCEEDED;
    if (st->truncated) {
      stage_done(x, i, st->failed ? WFS_STEP_FAILED : WFS_STEP_CANCELED);
      continue;
    }
    if (!x->plan->stages[i].fanout || !x->plan->stages[i].id[0]) {
      stage_done(x, i, result);
      continue;
    }
    st->state = S_FINISHING;
    st->result = result;
    x->finishing[x->nfinishing++] = i;
  }
}

static void fill(wfi_exec *x) {
  uint32_t n = x->plan->nstages;
  while (x->inflight < x->window && !x->stop_reason) {
    int started = 0;
    for (uint32_t k = 0; k < n && !started; k++) {
      uint32_t i = (x->rr + k) % n;
      struct rstage *st = &x->st[i];
      const wfi_stage *sd = &x->plan->stages[i];
      if (st->state != S_ACTIVE) continue;
      if (sd->concurrency && st->inflight >= sd->concurrency) continue;
      struct rstep *s = next_startable(x, i);
      if (!s) continue;
      x->rr = i + 1;
      started = 1;
      start_step(x, s);
      if (x->ndone >= WFI_COMMIT_CAP) return; /* let drive commit before going on */
    }
    if (!started) break;
  }
}

/* ---- commit and the loop ---------------------------------------------------------- */

static void flush(wfi_exec *x) {
  if (!x->done_head && !x->nfinishing && !x->npev) return;
  int rc = wfi_commit(x);
  if (rc) {
    x->store_rc = rc;
    fail_run(x, STOP_STORE, "could not record finished steps: %s", wf_strerror(rc));
  }
  struct rstep *s = x->done_head;
  x->done_head = x->done_tail = NULL;
  x->ndone = 0;
  while (s) {
    struct rstep *next = s->next;
    struct rstage *st = &x->st[s->stage];
    if (rc) s->outcome = OUT_DROPPED;
    switch (s->outcome) {
    case OUT_SUCCEEDED: st->done++; break;
    case OUT_CANCELED: case OUT_DROPPED: st->truncated = 1; break;
    case OUT_FAILED:
      st->failed++;
      x->any_failed = 1;
      if (!x->opts.continue_on_error && !x->run.continue_on_error)
        fail_run(x, STOP_FAILED, "step %s failed: %s", s->key,
                 s->res.error ? s->res.error : "unknown error");
      break;
    default: break;
    }
    if (s->outcome == OUT_RETRY && !rc) {
      progress(x, WFI_P_STEP_RETRY, s->stage, s);
      s->prev_status = WFS_STEP_PENDING;
      s->timer = malloc(sizeof *s->timer);
      if (s->timer) {
        uv_timer_init(&x->loop, s->timer);
        s->timer->data = s;
        uv_timer_start(s->timer, on_retry, (uint64_t)(s->retry_delay_s * 1000.0), 0);
        list_add(&x->retrying, s);
        x->waiting++;
      } else {
        st->outstanding--;
        wfi_step_free(s);
      }
    } else {
      if (s->outcome != OUT_DROPPED) progress(x, WFI_P_STEP_FINISHED, s->stage, s);
      st->outstanding--;
      wfi_step_free(s);
    }
    s = next;
  }
  for (uint32_t i = 0; i < x->nfinishing; i++) {
    uint32_t k = x->finishing[i];
    stage_done(x, k, x->st[k].result);
  }
  x->nfinishing = 0;
}

static void close_cb(uv_handle_t *h) { (void)h; }

static void stop_handles(wfi_exec *x) {
  if (!x->handles_open) return;
  x->handles_open = 0;
  uv_close((uv_handle_t *)&x->idle, close_cb);
  uv_close((uv_handle_t *)&x->tick, close_cb);
  uv_close((uv_handle_t *)&x->wake, close_cb);
  if (x->opts.handle_signals) {
    uv_close((uv_handle_t *)&x->sigint, close_cb);
    uv_close((uv_handle_t *)&x->sigterm, close_cb);
  }
}

static void kill_running(wfi_exec *x, int reason) {
  for (struct rstep *s = x->running; s; s = s->rnext) {
    if (s->kill_reason) continue;
    s->kill_reason = reason;
    s->job.kill_grace_s = 0.5; /* a stop must be quick even for steps that ignore TERM */
    const wfi_stage *sd = &x->plan->stages[s->stage];
    sd->act->kill(sd->act_ctx, &s->job, reason);
  }
}

/* Parked steps never started: drop them so the stages can settle. */
static void drop_parked(wfi_exec *x) {
  for (uint32_t i = 0; i < x->plan->nstages; i++) {
    struct rstage *st = &x->st[i];
    int dropped = st->parked_head != NULL;
    while (st->parked_head) {
      struct rstep *s = st->parked_head;
      st->parked_head = s->next;
      st->outstanding--;
      wfi_step_free(s);
    }
    st->parked_tail = NULL;
    st->nparked = 0;
    if (st->state == S_ACTIVE && (!st->exhausted || dropped)) st->truncated = 1;
    if (st->state == S_ACTIVE) st->exhausted = 1;
    if (st->it) {
      x->plan->ops->items_close(st->it);
      st->it = NULL;
    }
  }
}

static int all_done(wfi_exec *x) {
  for (uint32_t i = 0; i < x->plan->nstages; i++)
    if (x->st[i].state != S_DONE) return 0;
  return 1;
}

/* Retry delays end when the run stops: the step keeps its recorded pending state. */
static void cancel_retries(wfi_exec *x) {
  while (x->retrying) {
    struct rstep *s = x->retrying;
    list_del(&x->retrying, s);
    x->waiting--;
    x->st[s->stage].outstanding--;
    x->st[s->stage].truncated = 1;
    wfi_step_free(s);
  }
}

/* Move the run forward: commit what finished (when allowed: from the idle handle, so
 * that completions arriving together share one commit), start stages whose needs are
 * done, fill the window, and end the loop when nothing is left. Re-entrant calls (a
 * step that completes inside its start) only ask the running call to go round again. */
static void drive(wfi_exec *x, int flush_ok) {
  if (x->ended) return;
  if (flush_ok) x->flush_req = 1;
  if (x->driving) {
    x->again = 1;
    return;
  }
  x->driving = 1;
  uv_idle_stop(&x->idle);
  do {
    x->again = 0;
    if (x->flush_req || x->ndone >= WFI_COMMIT_CAP || (!x->inflight && !x->stop_reason)) {
      x->flush_req = 0;
      flush(x);
    }
    if (!x->stop_reason) {
      activate_ready(x);
      fill(x);
    } else {
      drop_parked(x);
      cancel_retries(x);
    }
    check_stages(x);
    if (x->ndone >= WFI_COMMIT_CAP) x->again = 1;
    /* Nothing in flight to wait for: commit now rather than a loop turn later. */
    if ((x->done_head || x->nfinishing || x->npev) && !x->inflight) x->again = x->flush_req = 1;
  } while (x->again);
  x->driving = 0;
  if (x->done_head || x->nfinishing || x->npev) {
    uv_idle_start(&x->idle, on_idle);
    return;
  }
  if (x->inflight || x->waiting) return;
  int parked = 0, active = 0;
  for (uint32_t i = 0; i < x->plan->nstages; i++) {
    parked |= x->st[i].nparked != 0;
    active |= x->st[i].state == S_ACTIVE || x->st[i].state == S_FINISHING;
  }
  if (!x->stop_reason && (parked || active)) return; /* e.g. waiting for a class's rate */
  x->ended = 1;
  stop_handles(x);
}

static void stop_for(wfi_exec *x, int reason, int kill_reason) {
  if (x->ended) return;
  fail_run(x, reason, NULL);
  if (reason == STOP_CANCEL && !x->err[0]) snprintf(x->err, sizeof x->err, "canceled");
  kill_running(x, kill_reason);
  drive(x, 0);
}

static void on_signal(uv_signal_t *h, int signum) {
  wfi_exec *x = h->data;
  snprintf(x->err, sizeof x->err, "interrupted by %s", signum == SIGINT ? "SIGINT" : "SIGTERM");
  x->stop_reason = STOP_SIGNAL;
  stop_for(x, STOP_SIGNAL, WFI_KILL_SHUTDOWN);
}

static void on_tick(uv_timer_t *t) {
  wfi_exec *x = t->data;
  int cancel = 0;
  if (x->ended) return;
  int rc = wfi_exec_heartbeat(x, &cancel);
  if (rc == 0 && cancel && x->stop_reason != STOP_CANCEL && x->stop_reason != STOP_SIGNAL) {
    x->stop_reason = STOP_CANCEL;
    snprintf(x->err, sizeof x->err, "canceled by wf cancel-run");
    stop_for(x, STOP_CANCEL, WFI_KILL_CANCEL);
  }
}

static void walk_close(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, close_cb);
}

int wfi_exec_init(wfi_exec *x, wfs_env *env, const char *run_id, const wfi_plan *plan,
                  const wfi_exec_opts *opts) {
  memset(x, 0, sizeof *x);
  x->env = env;
  x->plan = plan;
  x->opts = *opts;
  x->home = wfs_home(env);
  wfs_txn t;
  int rc = wfs_read_begin(env, &t);
  if (rc) return rc;
  rc = wfs_run_get(&t, run_id, &x->run);
  wfs_read_end(&t);
  if (rc) return rc;
  x->window = opts->window ? opts->window : (x->run.window ? x->run.window : 8);
  x->fresh = 1;
  for (int i = 0; i < WFS_STEP_NSTATUS; i++)
    if (x->run.counts[i]) x->fresh = 0;
  x->last_heartbeat = x->run.heartbeat;
  const char *e = getenv("WF_MAX_OUTPUT_MB");
  x->max_output = e && atol(e) > 0 ? (size_t)atol(e) << 20 : WFS_MAX_VALUE;
  e = getenv("WF_KILL_GRACE_S");
  x->kill_grace_s = e && atof(e) > 0 ? atof(e) : 5.0;
  if ((rc = wfi_run_dir(x->home, run_id, x->run_dir, sizeof x->run_dir)) != 0) return rc;
  /* Absolute, so that a step running in another directory finds it ($WF_RUN_DIR). */
  char abs[PATH_MAX];
  if (realpath(x->run_dir, abs)) snprintf(x->run_dir, sizeof x->run_dir, "%s", abs);
  char logdir[PATH_MAX];
  snprintf(logdir, sizeof logdir, "%s/logs/%s", x->home, run_id);
  mkdir(logdir, 0755);
  x->st = calloc(plan->nstages ? plan->nstages : 1, sizeof *x->st);
  x->finishing = calloc(plan->nstages ? plan->nstages : 1, sizeof *x->finishing);
  if (!x->st || !x->finishing) return WF_ENOMEM;
  if (uv_loop_init(&x->loop) != 0) return WF_ENOMEM;
  uv_idle_init(&x->loop, &x->idle);
  uv_timer_init(&x->loop, &x->tick);
  uv_timer_init(&x->loop, &x->wake);
  x->idle.data = x->tick.data = x->wake.data = x;
  if (opts->handle_signals) {
    uv_signal_init(&x->loop, &x->sigint);
    uv_signal_init(&x->loop, &x->sigterm);
    x->sigint.data = x->sigterm.data = x;
    uv_signal_start(&x->sigint, on_signal, SIGINT);
    uv_signal_start(&x->sigterm, on_signal, SIGTERM);
  }
  x->handles_open = 1;
  return 0;
}

void wfi_exec_destroy(wfi_exec *x) {
  if (!x->st) {
    wfs_run_clear(&x->run);
    return;
  }
  for (uint32_t i = 0; i < x->plan->nstages; i++) {
    struct rclass *c = x->st[i].classes;
    while (c) {
      struct rclass *n = c->next;
      free(c->name);
      free(c);
      c = n;
    }
  }
  free(x->st);
  free(x->finishing);
  free(x->pev);
  wfs_run_clear(&x->run);
}

int wfi_exec_loop(wfi_exec *x, int *final_status) {
  x->ended = 0;
  x->stop_reason = STOP_NONE;
  uv_timer_start(&x->tick, on_tick, 250, 250);
  drive(x, 1);
  uv_run(&x->loop, UV_RUN_DEFAULT);
  /* The loop ends when the scheduler closed its handles; activities close theirs. */
  cancel_retries(x);
  uv_walk(&x->loop, walk_close, NULL);
  uv_run(&x->loop, UV_RUN_DEFAULT);
  int status;
  switch (x->stop_reason) {
  case STOP_SIGNAL: case STOP_STORE: status = WFS_RUN_INTERRUPTED; break;
  case STOP_CANCEL: status = WFS_RUN_CANCELED; break;
  default:
    status = !x->any_failed ? WFS_RUN_SUCCEEDED
             : (x->opts.continue_on_error || x->run.continue_on_error) ? WFS_RUN_DEGRADED
                                                                        : WFS_RUN_FAILED;
  }
  if (status == WFS_RUN_SUCCEEDED && !all_done(x)) status = WFS_RUN_FAILED;
  *final_status = status;
  int rc = x->keep_open ? 0 : wfi_exec_finish_run(x, status);
  int crc = uv_loop_close(&x->loop);
  (void)crc;
  return x->store_rc ? x->store_rc : rc;
}

int wfi_run_execute(wfs_env *env, const char *run_id, const wfi_plan *plan,
                    const wfi_exec_opts *opts, int *final_status) {
  wfi_exec *x = malloc(sizeof *x);
  if (!x) return WF_ENOMEM;
  int rc = wfi_exec_init(x, env, run_id, plan, opts);
  if (rc == 0) rc = wfi_exec_loop(x, final_status);
  wfi_exec_destroy(x);
  free(x);
  return rc;
}
