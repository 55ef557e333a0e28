/* commit.c — group commit: every finished step, stage record and event gathered since
 * the last commit goes to disk in one fully synced transaction, together with the run
 * record's counts. Nothing that depends on them runs before this returns.
 *
 * The transaction function may run more than once (the store grows its map and reruns
 * it), so it works on copies of the run's counters and applies them after success.
 *
 * Every write of the owner starts from the run record as stored and first checks that its
 * epoch is still the one this execution claimed: a process that was taken over from (it
 * was frozen, or its lease ran out) writes nothing more (WF_EFENCED). Event sequence
 * numbers come from the stored record too, so an event another process appended (a
 * cancel request) is never overwritten. */
#include <stdlib.h>
#include <string.h>

#include "sched_int.h"

struct commit_ctx {
  wfi_exec *x;
  wfs_run run;            /* shallow copy of x->run with updated counters */
};

static int step_status_of(int outcome) {
  switch (outcome) {
  case WFI_OUT_SUCCEEDED: return WFS_STEP_SUCCEEDED;
  case WFI_OUT_FAILED: return WFS_STEP_FAILED;
  case WFI_OUT_RETRY: return WFS_STEP_PENDING;
  case WFI_OUT_CANCELED: return WFS_STEP_CANCELED;
  default: return -1;
  }
}

static void count_move(wfs_run *r, int from, int to) {
  if (from >= 0 && from < WFS_STEP_NSTATUS && r->counts[from] > 0) r->counts[from]--;
  if (to >= 0 && to < WFS_STEP_NSTATUS) r->counts[to]++;
}

int wfi_exec_check_owner(wfi_exec *x, wfs_txn *t, wfs_run_head *h) {
  int rc = wfs_run_peek(t, x->run.id, h);
  if (rc || h->epoch == x->epoch) return rc;
  wfs_run disk = {0};
  if (wfs_run_get(t, x->run.id, &disk) == 0) x->fenced_by = disk.owner;
  wfs_run_clear(&disk);
  return WF_EFENCED;
}

/* What wfs_run_put needs of the stored record to keep the indexes in step. */
static wfs_run stored(const wfi_exec *x, const wfs_run_head *h) {
  wfs_run old = {0};
  old.id = x->run.id;
  old.status = h->status;
  old.created_at = h->created_at;
  return old;
}

int wfi_event_put(wfs_txn *t, wfs_run *r, const char *key, int type, uint32_t attempt,
                  int64_t time, const char *detail) {
  wfs_event ev = {0};
  ev.run_id = r->id;
  ev.seq = r->event_seq++;
  ev.type = (uint8_t)type;
  ev.time = time;
  ev.step_key = key;
  ev.attempt = attempt;
  ev.detail = detail;
  return wfs_event_put(t, &ev);
}

/* The step_started event of s's attempt, at the time it began, unless it is recorded. */
static int put_start(wfs_txn *t, struct commit_ctx *c, const struct wfi_rstep *s) {
  if (s->start_logged) return 0;
  return wfi_event_put(t, &c->run, s->key, WFS_EV_STEP_STARTED, s->attempt, s->attempt_start,
                       NULL);
}

/* Why a step in flight was stopped, for its event: the run's error says what stopped it. */
static void stop_detail(const wfi_exec *x, const char *what, char *buf, size_t cap) {
  snprintf(buf, cap, "%s: %s", what, x->err[0] ? x->err : "the run stopped");
}

static int put_step(wfs_txn *t, struct commit_ctx *c, struct wfi_rstep *s, int64_t now) {
  wfi_exec *x = c->x;
  int status = step_status_of(s->outcome);
  char d[1200];
  int rc = s->cached_run ? 0 : put_start(t, c, s); /* a cached step did not start */
  if (rc) return rc;
  if (status < 0) {
    /* Killed because the run stopped (a signal): its record stays as it was, and a resume
     * runs it again. */
    stop_detail(x, "killed as the run stopped, not recorded; it runs again on resume", d,
                sizeof d);
    return wfi_event_put(t, &c->run, s->key, WFS_EV_STEP_INTERRUPTED, s->attempt, now, d);
  }
  wfs_step rec = {0};
  rec.stage = x->plan->stages[s->stage].id;
  rec.key = s->key;
  rec.status = (uint8_t)status;
  rec.attempt = s->attempt;
  rec.tries = s->tries;
  rec.input_hash = s->input_hash;
  rec.input = s->input;
  rec.input_len = s->input_len;
  if (status == WFS_STEP_SUCCEEDED) {
    rec.output = s->res.output;
    rec.output_len = s->res.output_len;
  }
  rec.error = s->res.error;
  rec.stderr_tail = s->res.stderr_tail;
  rec.exit_code = s->res.exit_code;
  rec.started_at = s->attempt_start;
  rec.finished_at = now;
  rec.generation = x->run.generation;
  rec.cached_run = s->cached_run;
  rec.cached_step = s->cached_step;
  rc = wfs_step_put(t, x->run.id, &rec);
  if (rc) return rc;
  count_move(&c->run, s->prev_status, status);
  const wfi_stage *sd = &x->plan->stages[s->stage];
  if (status == WFS_STEP_SUCCEEDED && sd->cache && sd->activity && x->run.workflow) {
    /* Too long a key is no reason to fail the step: it is just not indexed. */
    rc = wfs_cache_put(t, x->run.workflow, sd->activity, s->input_hash, x->run.id, s->key);
    if (rc && rc != WF_EINVAL) return rc;
  }
  if (s->cached_run) {
    snprintf(d, sizeof d, "output reused from run %s, step %s (cache)", s->cached_run,
             s->cached_step);
    return wfi_event_put(t, &c->run, s->key, WFS_EV_STEP_CACHED, s->attempt, now, d);
  }
  switch (s->outcome) {
  case WFI_OUT_SUCCEEDED:
    return wfi_event_put(t, &c->run, s->key, WFS_EV_STEP_SUCCEEDED, s->attempt, now, NULL);
  case WFI_OUT_FAILED:
    return wfi_event_put(t, &c->run, s->key,
                 s->kill_reason == WFI_KILL_TIMEOUT ? WFS_EV_STEP_TIMED_OUT : WFS_EV_STEP_FAILED,
                 s->attempt, now, s->res.error);
  case WFI_OUT_RETRY: {
    rc = wfi_event_put(t, &c->run, s->key,
               s->kill_reason == WFI_KILL_TIMEOUT ? WFS_EV_STEP_TIMED_OUT : WFS_EV_STEP_FAILED,
               s->attempt, now, s->res.error);
    snprintf(d, sizeof d, "attempt %u in %.3gs", s->attempt + 1, s->retry_delay_s);
    return rc ? rc : wfi_event_put(t, &c->run, s->key, WFS_EV_STEP_RETRY, s->attempt, now, d);
  }
  default:
    stop_detail(x, "killed as the run stopped", d, sizeof d);
    return wfi_event_put(t, &c->run, s->key, WFS_EV_STEP_CANCELED, s->attempt, now, d);
  }
}

/* A fan-out stage's own record: its result and the hash of what it iterated, so a
 * later execution can skip the whole stage without reading its items. Or the record of a
 * stage that did not run because a stage it needs failed (upstream_failed): for a stage
 * of one step that record is its step's, and counts as one. */
static int put_stage(wfs_txn *t, struct commit_ctx *c, uint32_t i, int64_t now) {
  wfi_exec *x = c->x;
  struct wfi_rstage *st = &x->st[i];
  int blocked = st->result == WFS_STEP_UPSTREAM_FAILED;
  wfs_step rec = {0};
  rec.stage = rec.key = x->plan->stages[i].id;
  rec.status = (uint8_t)st->result;
  rec.attempt = blocked ? 0 : 1;
  rec.input_hash = st->source_hash;
  rec.error = st->error;
  rec.exit_code = -1;
  rec.started_at = st->t_start;
  rec.finished_at = now;
  rec.generation = x->run.generation;
  int rc = wfs_step_put(t, x->run.id, &rec);
  if (rc || !blocked) return rc;
  if (!x->plan->stages[i].fanout) count_move(&c->run, st->record_prev, WFS_STEP_UPSTREAM_FAILED);
  return wfi_event_put(t, &c->run, rec.key, WFS_EV_STEP_UPSTREAM_FAILED, 0, now, st->error);
}

static int commit_txn(wfs_txn *t, void *ud) {
  struct commit_ctx *c = ud;
  wfi_exec *x = c->x;
  int64_t now = wfs_now_ms();
  c->run = x->run;
  wfs_run_head disk;
  int rc = wfi_exec_check_owner(x, t, &disk);
  if (rc) return rc;
  /* Another process may only have asked us to stop: keep its flag and its event. */
  c->run.cancel_requested = disk.cancel_requested;
  c->run.event_seq = disk.event_seq;
  /* In the order they happened: what was found before steps started (input changed,
   * superseded, skipped), the starts of steps still in flight, then finished steps. */
  for (uint32_t i = 0; i < x->npev && rc == 0; i++)
    rc = wfi_event_put(t, &c->run, x->pev[i].key, x->pev[i].type, 0, now, x->pev[i].detail);
  for (struct wfi_rstep *s = x->running; s && rc == 0; s = s->rnext) rc = put_start(t, c, s);
  for (struct wfi_rstep *s = x->done_head; s && rc == 0; s = s->next) rc = put_step(t, c, s, now);
  for (uint32_t i = 0; i < x->nfinishing && rc == 0; i++) rc = put_stage(t, c, x->finishing[i], now);
  if (rc == 0) {
    c->run.updated_at = c->run.heartbeat = now;
    wfs_run old = stored(x, &disk);
    rc = wfs_run_put(t, &c->run, &old);
  }
  return rc;
}

static void apply(wfi_exec *x, const wfs_run *r) {
  memcpy(x->run.counts, r->counts, sizeof r->counts);
  x->run.event_seq = r->event_seq;
  x->run.updated_at = x->run.heartbeat = r->heartbeat;
  x->run.cancel_requested = r->cancel_requested;
  x->last_heartbeat = r->heartbeat;
}

int wfi_commit(wfi_exec *x) {
  if (!x->done_head && !x->nfinishing && !x->npev) return 0;
  if (x->stop_reason == WFI_STOP_FENCED) return WF_EFENCED;
  struct commit_ctx c = {x, {0}};
  int rc = wfs_write(x->env, commit_txn, &c);
  if (rc == 0) {
    apply(x, &c.run);
    for (struct wfi_rstep *s = x->running; s; s = s->rnext) s->start_logged = 1;
  }
  for (uint32_t i = 0; i < x->npev; i++) {
    free(x->pev[i].key);
    free(x->pev[i].detail);
  }
  x->npev = 0;
  return rc;
}

int wfi_exec_add_event(wfi_exec *x, const char *key, int type, const char *detail) {
  if (x->npev == x->capev) {
    uint32_t cap = x->capev ? x->capev * 2 : 16;
    struct wfi_pending_event *p = realloc(x->pev, cap * sizeof *p);
    if (!p) return WF_ENOMEM;
    x->pev = p;
    x->capev = cap;
  }
  struct wfi_pending_event *e = &x->pev[x->npev++];
  e->key = wfs_strdup(key);
  e->type = type;
  e->detail = wfs_strdup(detail);
  return 0;
}

struct finish_ctx {
  wfi_exec *x;
  int status;
  wfs_run run;
};

static int finish_txn(wfs_txn *t, void *ud) {
  struct finish_ctx *f = ud;
  wfi_exec *x = f->x;
  int64_t now = wfs_now_ms();
  wfs_run_head disk;
  int rc = wfi_exec_check_owner(x, t, &disk);
  if (rc) return rc;
  f->run = x->run;
  f->run.event_seq = disk.event_seq;
  f->run.updated_at = now;
  f->run.cancel_requested = 0;
  memset(&f->run.owner, 0, sizeof f->run.owner);
  const char *what;
  int type = WFS_EV_RUN_FINISHED;
  if (f->status == WFS_RUN_INTERRUPTED) {
    f->run.status = WFS_RUN_RUNNING;  /* no owner: reads as interrupted, resumable */
    what = "interrupted";
    type = WFS_EV_RUN_INTERRUPTED;
  } else {
    f->run.status = (uint8_t)f->status;
    f->run.finished_at = now;
    what = wfs_run_status_name(f->status);
  }
  f->run.error = x->err[0] ? x->err : NULL;
  rc = wfi_event_put(t, &f->run, NULL, type, 0, now, x->err[0] ? x->err : what);
  wfs_run old = stored(x, &disk);
  return rc ? rc : wfs_run_put(t, &f->run, &old);
}

int wfi_exec_finish_run(wfi_exec *x, int status) {
  struct finish_ctx f = {x, status, {0}};
  if (x->stop_reason == WFI_STOP_FENCED) return WF_EFENCED;
  int rc = wfs_write(x->env, finish_txn, &f);
  if (rc == 0) {
    x->run.status = f.run.status;
    x->run.event_seq = f.run.event_seq;
    x->run.finished_at = f.run.finished_at;
    memset(&x->run.owner, 0, sizeof x->run.owner);
  }
  return rc;
}

struct hb_ctx {
  wfi_exec *x;
  int64_t now;
  int cancel;
};

static int heartbeat_txn(wfs_txn *t, void *ud) {
  struct hb_ctx *h = ud;
  wfs_run_head head;
  wfs_run disk = {0};
  int rc = wfi_exec_check_owner(h->x, t, &head);
  if (rc == 0) rc = wfs_run_get(t, h->x->run.id, &disk);
  if (rc) return rc;
  h->cancel = disk.cancel_requested;
  wfs_run r = disk;
  r.heartbeat = h->now;
  rc = wfs_run_put(t, &r, &disk);
  wfs_run_clear(&disk);
  return rc;
}

int wfi_exec_heartbeat(wfi_exec *x, int *cancel_requested) {
  int64_t now = wfs_now_ms();
  if (now - x->last_heartbeat >= 5000) {
    struct hb_ctx h = {x, now, 0};
    int rc = wfs_write(x->env, heartbeat_txn, &h);
    if (rc) return rc;
    x->last_heartbeat = x->run.heartbeat = now;
    *cancel_requested = h.cancel;
    return 0;
  }
  /* Between heartbeats only read: cancellation must be seen within a second. */
  wfs_txn t;
  int rc = wfs_read_begin(x->env, &t);
  if (rc) return rc;
  wfs_run_head head;
  rc = wfi_exec_check_owner(x, &t, &head);
  wfs_read_end(&t);
  if (rc == 0) *cancel_requested = head.cancel_requested;
  return rc;
}
