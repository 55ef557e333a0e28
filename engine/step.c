/* step.c — one step's life in the scheduler: made from an item (or memoized away),
 * parked while its class is saturated, started through its activity with its timeout,
 * finished into the next group commit, and retried after its backoff. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_int.h"
#include "wfmp.h"

static int64_t now_us(void) { return (int64_t)(uv_hrtime() / 1000); }


static void on_wake(uv_timer_t *t) { wfi_exec_drive(t->data, 0); }

static void list_add(struct wfi_rstep **head, struct wfi_rstep *s) {
  s->rprev = NULL;
  s->rnext = *head;
  if (*head) (*head)->rprev = s;
  *head = s;
}

void wfi_step_list_del(struct wfi_rstep **head, struct wfi_rstep *s) {
  if (s->rprev) s->rprev->rnext = s->rnext;
  else *head = s->rnext;
  if (s->rnext) s->rnext->rprev = s->rprev;
  s->rprev = s->rnext = NULL;
}


static void timer_free_cb(uv_handle_t *h) { free(h); }

static void step_timer_stop(struct wfi_rstep *s) {
  if (!s->timer) return;
  uv_timer_stop(s->timer);
  uv_close((uv_handle_t *)s->timer, timer_free_cb);
  s->timer = NULL;
}

void wfi_step_free(struct wfi_rstep *s) {
  if (!s) return;
  step_timer_stop(s);
  free(s->key);
  free(s->input);
  free(s->res.output);
  free(s->res.error);
  free(s->res.stderr_tail);
  free(s->log_path);
  free(s->cached_run);
  free(s->cached_step);
  free(s);
}

static struct wfi_rclass *class_for(wfi_exec *x, uint32_t stage, const char *name) {
  const wfi_stage *sd = &x->plan->stages[stage];
  struct wfi_rstage *st = &x->st[stage];
  if (!name[0] || !sd->nclasses) return NULL;
  for (struct wfi_rclass *c = st->classes; c; c = c->next)
    if (strcmp(c->name, name) == 0) return c;
  const wfi_class_limit *lim = NULL;
  for (uint32_t i = 0; i < sd->nclasses; i++) {
    if (strcmp(sd->classes[i].cls, name) == 0) { lim = &sd->classes[i]; break; }
    if (strcmp(sd->classes[i].cls, "*") == 0) lim = &sd->classes[i];
  }
  if (!lim) return NULL;
  struct wfi_rclass *c = calloc(1, sizeof *c);
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

/* The retry budget already spent by a recorded step: a step waiting for its next attempt
 * (pending) or stopped in one (canceled) continues its budget across crashes and
 * resumes; a step that failed for good starts a new one when its run is resumed. */
static uint32_t tries_spent(const wfs_step *old) {
  if (old->status == WFS_STEP_PENDING) return old->tries;
  if (old->status == WFS_STEP_CANCELED) return old->tries ? old->tries - 1 : 0;
  return 0;
}

/* Read what is recorded of s->key: its status (-1 none) and, when it is not a success,
 * its attempt number so numbering continues, and the retry budget it spent. */
static void load_prev(wfi_exec *x, struct wfi_rstep *s, uint64_t *hash, uint32_t *gen) {
  wfs_txn t;
  int status = -1;
  s->prev_status = -1;
  if (x->fresh) return;
  if (wfs_read_begin(x->env, &t) != 0) return;
  if (wfs_step_peek(&t, x->run.id, s->key, &status, hash, gen) != 0) status = -1;
  if (status >= 0 && status != WFS_STEP_SUCCEEDED) {
    wfs_step old = {0};
    if (wfs_step_get(&t, x->run.id, s->key, &old) == 0) {
      s->attempt = old.attempt;
      /* A new generation (--start-from) executes its stages afresh. */
      s->tries = old.generation < x->run.generation ? 0 : tries_spent(&old);
    }
    wfs_step_clear(&old);
  }
  wfs_read_end(&t);
  s->prev_status = status;
}

/* Whether the recorded result of s can be reused instead of executing it. */
static int memoized(wfi_exec *x, uint32_t stage, struct wfi_rstep *s) {
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

/* Whether the source step an index entry names still holds: succeeded, with the very
 * input s has (the index is by hash). Its output is copied into s's result. */
static int cached_source_ok(wfs_txn *t, const char *run_id, const char *key,
                            struct wfi_rstep *s) {
  wfs_step src = {0};
  int ok = wfs_step_get(t, run_id, key, &src) == 0 && src.status == WFS_STEP_SUCCEEDED &&
           src.input_hash == s->input_hash && src.input_len == s->input_len &&
           (!s->input_len || memcmp(src.input, s->input, s->input_len) == 0);
  if (ok) {
    s->res.output = src.output; /* taken: the record lets a reader take it */
    s->res.output_len = src.output_len;
    s->res.exit_code = src.exit_code;
    src.output = NULL;
  }
  wfs_step_clear(&src);
  return ok;
}

/* A stage with "cache": when an earlier run of the workflow has a succeeded step with
 * this input by this activity, s takes its output and is done without executing. */
static void from_cache(wfi_exec *x, uint32_t stage, struct wfi_rstep *s) {
  const char *act = x->plan->stages[stage].activity;
  char *run = NULL, *key = NULL;
  wfs_txn t;
  if (!act || !x->run.workflow || wfs_read_begin(x->env, &t) != 0) return;
  int hit = wfs_cache_get(&t, x->run.workflow, act, s->input_hash, &run, &key) == 0 &&
            strcmp(run, x->run.id) != 0 && cached_source_ok(&t, run, key, s);
  wfs_read_end(&t);
  if (hit) {
    x->st[stage].memo++; /* reused, as progress counts it; done when committed */
    s->outcome = WFI_OUT_SUCCEEDED;
    s->res.ok = 1;
    s->attempt_start = wfs_now_ms();
    s->cached_run = run;
    s->cached_step = key;
    return;
  }
  free(run);
  free(key);
}

/* Make the step for a single stage (item NULL) or one item; NULL when memoized or on
 * error (then the stage or run is failed). */
struct wfi_rstep *wfi_step_make(wfi_exec *x, uint32_t stage, const char *key,
                               const uint8_t *item, size_t item_len, const char *cls) {
  struct wfi_rstage *st = &x->st[stage];
  struct wfi_rstep *s = calloc(1, sizeof *s);
  if (!s || !(s->key = wfs_strdup(key))) {
    free(s);
    wfi_exec_fail(x, WFI_STOP_STORE, "out of memory");
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
    if (x->plan->stages[stage].cache == WFI_CACHE_USE) from_cache(x, stage, s);
  } else {
    /* The input cannot be built: the step fails now, without retries. */
    uint64_t hash;
    uint32_t gen;
    s->outcome = WFI_OUT_FAILED;
    load_prev(x, s, &hash, &gen);
    s->res.error = wfs_strdup(x->hook_err[0] ? x->hook_err : wf_strerror(rc));
  }
  s->cls = class_for(x, stage, cls ? cls : "");
  st->outstanding++;
  return s;
}

void wfi_step_park(struct wfi_rstage *st, struct wfi_rstep *s) {
  s->next = NULL;
  if (st->parked_tail) st->parked_tail->next = s;
  else st->parked_head = s;
  st->parked_tail = s;
  st->nparked++;
}

static void arm_wake(wfi_exec *x, int64_t at_us) {
  int64_t now = now_us();
  uint64_t ms = at_us > now ? (uint64_t)((at_us - now + 999) / 1000) : 0;
  if (!uv_is_active((uv_handle_t *)&x->wake) || uv_timer_get_due_in(&x->wake) > ms)
    uv_timer_start(&x->wake, on_wake, ms, 0);
}

static int class_ok(wfi_exec *x, struct wfi_rclass *c) {
  if (!c) return 1;
  if (c->limit && c->inflight >= c->limit) return 0;
  if (c->rate > 0) {
    int64_t now = now_us();
    if (now < c->next_at_us) {
      arm_wake(x, c->next_at_us);
      return 0;
    }
  }
  return 1;
}

void wfi_step_finish(wfi_exec *x, struct wfi_rstep *s);

/* Pull items from the stage's cursor until one can start now (returned), the cursor
 * ends, or too many wait for their class. */
static struct wfi_rstep *pull(wfi_exec *x, uint32_t stage) {
  struct wfi_rstage *st = &x->st[stage];
  const wfi_stage *sd = &x->plan->stages[stage];
  char ikey[WFS_MAX_STEP_KEY + 1], cls[256], key[WFS_MAX_STEP_KEY + 2];
  while (!st->exhausted && st->nparked < WFI_PARK_CAP && !x->stop_reason) {
    const uint8_t *item = NULL;
    size_t item_len = 0;
    cls[0] = '\0';
    x->hook_err[0] = '\0';
    int r = x->plan->ops->items_next(st->it, &item, &item_len, ikey, sizeof ikey, cls, sizeof cls);
    if (r < 0) {
      wfi_exec_fail_stage(x, stage, r);
      break;
    }
    if (r == 0) {
      st->exhausted = 1;
      wfi_exec_progress(x, WFI_P_ITEMS_KNOWN, stage, NULL);
      break;
    }
    st->pulled++;
    int n = sd->id[0] ? snprintf(key, sizeof key, "%s/%s", sd->id, ikey)
                      : snprintf(key, sizeof key, "%s", ikey);
    if (n < 0 || (size_t)n >= sizeof key || wfs_check_step_key(key) != 0) {
      wfi_exec_error(x, "stage %s: item %llu: the step key \"%s/...\" is too long or holds a "
                     "control character", sd->id, (unsigned long long)st->pulled - 1, sd->id);
      wfi_exec_fail_stage(x, stage, WF_EINVAL);
      break;
    }
    struct wfi_rstep *s = wfi_step_make(x, stage, key, item, item_len, cls);
    if (!s) continue;
    if (s->outcome != WFI_OUT_NONE) { /* failed to build, or taken from the cache */
      wfi_step_finish(x, s);
      continue;
    }
    if (class_ok(x, s->cls)) return s;
    wfi_step_park(st, s);
  }
  if (st->exhausted && st->it) {
    x->plan->ops->items_close(st->it);
    st->it = NULL;
  }
  return NULL;
}

struct wfi_rstep *wfi_step_next(wfi_exec *x, uint32_t stage) {
  struct wfi_rstage *st = &x->st[stage];
  if (x->plan->stages[stage].rate > 0 && now_us() < st->next_at_us) {
    arm_wake(x, st->next_at_us);
    return NULL;
  }
  struct wfi_rstep *prev = NULL;
  for (struct wfi_rstep *s = st->parked_head; s; prev = s, s = s->next) {
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
  struct wfi_rstep *s = t->data;
  const wfi_stage *sd = &s->x->plan->stages[s->stage];
  s->kill_reason = WFI_KILL_TIMEOUT;
  sd->act->kill(sd->act_ctx, &s->job, WFI_KILL_TIMEOUT);
}

static void on_job_done(wfi_job *job, wfi_result *res);

void wfi_step_start(wfi_exec *x, struct wfi_rstep *s) {
  struct wfi_rstage *st = &x->st[s->stage];
  const wfi_stage *sd = &x->plan->stages[s->stage];
  s->attempt++;
  s->tries++;
  s->attempt_start = wfs_now_ms();
  s->start_logged = 0;
  s->outcome = WFI_OUT_NONE;
  s->kill_reason = 0;
  free(s->res.output);
  free(s->res.error);
  free(s->res.stderr_tail);
  memset(&s->res, 0, sizeof s->res);
  s->res.exit_code = -1;
  x->inflight++;
  st->inflight++;
  if (x->inflight > x->max_inflight) x->max_inflight = x->inflight;
  if (sd->rate > 0) st->next_at_us = now_us() + (int64_t)(1e6 / sd->rate);
  if (s->cls) {
    s->cls->inflight++;
    if (s->cls->rate > 0) s->cls->next_at_us = now_us() + (int64_t)(1e6 / s->cls->rate);
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
void wfi_step_finish(wfi_exec *x, struct wfi_rstep *s) {
  s->next = NULL;
  if (x->done_tail) x->done_tail->next = s;
  else x->done_head = s;
  x->done_tail = s;
  x->ndone++;
  wfi_exec_want_commit(x);
}

/* Put s back at the front of its stage, as if never started, and start nothing more
 * until a running step ends: the attempt lacked a resource the running steps hold. */
static void defer(wfi_exec *x, struct wfi_rstep *s) {
  struct wfi_rstage *st = &x->st[s->stage];
  s->attempt--;
  s->tries--;
  free(s->res.output);
  free(s->res.error);
  free(s->res.stderr_tail);
  memset(&s->res, 0, sizeof s->res);
  s->res.exit_code = -1;
  s->next = st->parked_head;
  st->parked_head = s;
  if (!st->parked_tail) st->parked_tail = s;
  st->nparked++;
  x->held = 1;
  wfi_exec_drive(x, 0);
}

/* Every output is checked before it is recorded, whichever activity made it: a value
 * nested too deeply would make records that cannot be read back, and strings that are
 * not UTF-8 or hold a NUL could not be shown (as JSON) as they are. */
static void check_output(struct wfi_rstep *s) {
  wfm_fault f;
  size_t at;
  if (wfm_check_value(s->res.output, s->res.output_len, WFM_MAX_VALUE_DEPTH, WFM_CHECK_TEXT,
                      &f, &at) == 0)
    return;
  char msg[256];
  if (f == WFM_FAULT_DEPTH)
    snprintf(msg, sizeof msg, "the output nests deeper than %d levels (byte %zu of its msgpack "
             "encoding): wf takes values at most %d levels deep, so that every record holding "
             "one can be read back", WFM_MAX_VALUE_DEPTH, at, WFM_MAX_VALUE_DEPTH);
  else
    snprintf(msg, sizeof msg, "the output %s (byte %zu of its msgpack encoding); it is not "
             "recorded", wfm_fault_text(f), at);
  s->res.ok = 0;
  s->res.retryable = 0;
  free(s->res.error);
  s->res.error = wfs_strdup(msg);
}

static void on_job_done(wfi_job *job, wfi_result *res) {
  struct wfi_rstep *s = (struct wfi_rstep *)((char *)job - offsetof(struct wfi_rstep, job));
  wfi_exec *x = s->x;
  struct wfi_rstage *st = &x->st[s->stage];
  const wfi_stage *sd = &x->plan->stages[s->stage];
  step_timer_stop(s);
  s->res = *res;
  memset(res, 0, sizeof *res);
  x->inflight--;
  st->inflight--;
  if (s->cls) s->cls->inflight--;
  wfi_step_list_del(&x->running, s);
  if (!s->res.ok && s->res.deferred && !s->kill_reason && !x->stop_reason && x->inflight) {
    defer(x, s);
    return;
  }
  x->held = 0;

  if (s->res.ok && s->res.output_len > x->max_output) {
    s->res.ok = 0;
    s->res.retryable = 0;
    free(s->res.error);
    char msg[128];
    snprintf(msg, sizeof msg, "output of %zu bytes exceeds the cap of %zu bytes",
             s->res.output_len, x->max_output);
    s->res.error = wfs_strdup(msg);
  }
  if (s->res.ok && s->res.output) check_output(s);
  if (s->kill_reason == WFI_KILL_TIMEOUT) {
    char msg[160];
    snprintf(msg, sizeof msg, "timed out after %gs (timeout_s); its process group was killed",
             sd->timeout_s);
    free(s->res.error);
    s->res.error = wfs_strdup(msg);
    s->res.ok = 0;
    s->res.retryable = 1;
  }
  if (s->kill_reason == WFI_KILL_CANCEL) {
    /* Whatever the process said as it was killed, what stopped it is the run's error. */
    char msg[sizeof x->err + 32];
    snprintf(msg, sizeof msg, "killed as the run stopped: %s", x->err[0] ? x->err : "canceled");
    free(s->res.error);
    s->res.error = wfs_strdup(msg);
    s->res.ok = 0;
    s->outcome = WFI_OUT_CANCELED;
  }
  else if (s->kill_reason == WFI_KILL_SHUTDOWN) s->outcome = WFI_OUT_DROPPED;
  else if (s->res.ok) s->outcome = WFI_OUT_SUCCEEDED;
  else if (!x->stop_reason && wfi_retry_allowed(&sd->retry, s->tries, &s->res)) {
    s->outcome = WFI_OUT_RETRY;
    s->retry_delay_s = wfi_retry_delay(&sd->retry, s->tries);
  } else
    s->outcome = WFI_OUT_FAILED;
  if (!s->res.ok && !s->res.error) s->res.error = wfs_strdup("step failed");
  wfi_step_finish(x, s);
  wfi_exec_drive(x, 0);
}

static void on_retry(uv_timer_t *t) {
  struct wfi_rstep *s = t->data;
  wfi_exec *x = s->x;
  step_timer_stop(s);
  wfi_step_list_del(&x->retrying, s);
  x->waiting--;
  if (x->stop_reason) {
    /* Stopping: the step stays recorded as pending with its last error. */
    x->st[s->stage].outstanding--;
    x->st[s->stage].truncated = 1;
    wfi_step_free(s);
  } else {
    /* Back to the front of its stage: it was ready before the items behind it. */
    struct wfi_rstage *st = &x->st[s->stage];
    s->next = st->parked_head;
    st->parked_head = s;
    if (!st->parked_tail) st->parked_tail = s;
    st->nparked++;
  }
  wfi_exec_drive(x, 0);
}

/* A failed attempt that may be retried waits its backoff delay on a timer. */
void wfi_step_retry_later(wfi_exec *x, struct wfi_rstep *s) {
  s->prev_status = WFS_STEP_PENDING;
  s->timer = malloc(sizeof *s->timer);
  if (!s->timer) {
    x->st[s->stage].outstanding--;
    x->st[s->stage].truncated = 1;
    wfi_step_free(s);
    return;
  }
  uv_timer_init(&x->loop, s->timer);
  s->timer->data = s;
  uv_timer_start(s->timer, on_retry, (uint64_t)(s->retry_delay_s * 1000.0), 0);
  list_add(&x->retrying, s);
  x->waiting++;
}
