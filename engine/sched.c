/* sched.c — the scheduler: executes a claimed run's plan on one libuv loop.
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
#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "sched_int.h"

static void on_idle(uv_idle_t *h) { wfi_exec_drive(h->data, 1); }

void wfi_exec_progress(wfi_exec *x, int type, uint32_t stage, const struct wfi_rstep *s) {
  if (!x->opts.observe) return;
  struct wfi_rstage *st = &x->st[stage];
  wfi_progress p = {0};
  p.type = type;
  p.stage = stage;
  p.stage_id = x->plan->stages[stage].id;
  p.fanout = x->plan->stages[stage].fanout;
  p.done = st->done;
  p.failed = st->failed;
  p.reused = st->memo;
  p.total = st->nitems_known ? st->nitems : st->exhausted ? st->pulled : 0;
  if (type == WFI_P_STAGE_FINISHED) {
    p.status = st->result;
    p.duration_s = (double)(wfs_now_ms() - st->t_start) / 1000.0;
    p.error = st->error;
  }
  if (s) {
    p.step_key = s->key;
    p.attempt = s->attempt;
    p.status = s->outcome == WFI_OUT_SUCCEEDED ? WFS_STEP_SUCCEEDED
               : s->outcome == WFI_OUT_CANCELED ? WFS_STEP_CANCELED
                                            : WFS_STEP_FAILED;
    p.duration_s = (double)(wfs_now_ms() - s->attempt_start) / 1000.0;
    p.delay_s = s->retry_delay_s;
    p.error = s->res.error;
    p.stderr_tail = s->res.stderr_tail;
  }
  x->opts.observe(x->opts.observe_ud, &p);
}

void wfi_exec_fail(wfi_exec *x, int reason, const char *fmt, ...) {
  if (!x->err[0] && fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->err, sizeof x->err, fmt, ap);
    va_end(ap);
  }
  if (x->stop_reason == WFI_STOP_FENCED) return;
  if (!x->stop_reason || reason == WFI_STOP_STORE) x->stop_reason = reason;
}

void wfi_exec_fail_stage(wfi_exec *x, uint32_t stage, int rc) {
  struct wfi_rstage *st = &x->st[stage];
  const char *id = x->plan->stages[stage].id;
  int keep_going = x->opts.continue_on_error || x->run.continue_on_error;
  st->failed++;
  st->exhausted = 1;
  st->items_failed = 1;
  x->any_failed = 1;
  /* The hooks' messages name the stage already. */
  char msg[sizeof x->hook_err + 64];
  if (x->hook_err[0]) snprintf(msg, sizeof msg, "%s", x->hook_err);
  else snprintf(msg, sizeof msg, "stage %s: %s", id, wf_strerror(rc));
  free(st->error);
  st->error = wfs_strdup(msg);
  wfi_exec_fail(x, keep_going ? WFI_STOP_NONE : WFI_STOP_FAILED, "%s", msg);
}

void wfi_exec_error(wfi_exec *x, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(x->hook_err, sizeof x->hook_err, fmt, ap);
  va_end(ap);
}

const char *wfi_exec_run_id(const wfi_exec *x) { return x->run.id; }

const char *wfi_exec_run_dir(const wfi_exec *x) { return x->run_dir; }

void wfi_exec_want_commit(wfi_exec *x) {
  if (!uv_is_active((uv_handle_t *)&x->idle)) uv_idle_start(&x->idle, on_idle);
}

/* ---- stages ------------------------------------------------------------------------ */

static void stage_done(wfi_exec *x, uint32_t i, int result) {
  struct wfi_rstage *st = &x->st[i];
  st->state = WFI_STAGE_DONE;
  st->result = result;
  st->t_end = wfs_now_ms();
  x->again = 1; /* stages that need this one may start now */
  wfi_exec_progress(x, WFI_P_STAGE_FINISHED, i, NULL);
}

/* Whether a finished stage lets the stages that need it run: it succeeded, or it was not
 * selected and has a recorded output to use. A fan-out with some failed items does not,
 * even under --continue-on-error: a stage that adds up 3 of 5 items would report a result
 * that looks whole. */
static int need_ok(const wfi_exec *x, uint32_t i) {
  const struct wfi_rstage *st = &x->st[i];
  if (st->state != WFI_STAGE_DONE) return 0;
  return st->unselected ? st->has_output : st->result == WFS_STEP_SUCCEEDED;
}

/* The recorded status of stage i's own record (-1 when none). */
static int stage_record_status(wfi_exec *x, uint32_t i) {
  const char *id = x->plan->stages[i].id;
  wfs_txn t;
  int status = -1;
  if (x->fresh || !id[0] || wfs_read_begin(x->env, &t) != 0) return -1;
  if (wfs_step_peek(&t, x->run.id, id, &status, NULL, NULL) != 0) status = -1;
  wfs_read_end(&t);
  return status;
}

/* Stage i does not run: its need n failed, did not run, or was not selected and has no
 * output. It is recorded upstream_failed (with the next group commit) and the stages that
 * need it do not run either. Without --continue-on-error the run stops. */
static void upstream_failed(wfi_exec *x, uint32_t i, uint32_t n) {
  struct wfi_rstage *st = &x->st[i], *need = &x->st[n];
  const char *id = x->plan->stages[i].id, *nid = x->plan->stages[n].id;
  char why[512];
  if (need->unselected)
    snprintf(why, sizeof why, "needs stage %s, which is not selected (--only, --skip, --to) "
             "and has no recorded output", nid);
  else if (need->result == WFS_STEP_UPSTREAM_FAILED)
    snprintf(why, sizeof why, "needs stage %s, which did not run: a stage it needs failed", nid);
  else if (need->result == WFS_STEP_FAILED && need->error)
    snprintf(why, sizeof why, "needs stage %s, which failed (%s)", nid, need->error);
  else if (need->result == WFS_STEP_FAILED && x->plan->stages[n].fanout)
    snprintf(why, sizeof why, "needs stage %s, which failed: %llu of its %llu steps failed",
             nid, (unsigned long long)need->failed,
             (unsigned long long)(need->failed + need->done));
  else
    snprintf(why, sizeof why, "needs stage %s, which %s", nid,
             need->result == WFS_STEP_FAILED ? "failed" : "did not finish");
  free(st->error);
  st->error = wfs_strdup(why);
  st->t_start = wfs_now_ms();
  st->record_prev = stage_record_status(x, i);
  x->any_failed = 1;
  wfi_exec_fail(x, x->opts.continue_on_error || x->run.continue_on_error ? WFI_STOP_NONE
                                                                          : WFI_STOP_FAILED,
                "stage %s did not run: %s", id, why);
  st->state = WFI_STAGE_FINISHING;
  st->result = WFS_STEP_UPSTREAM_FAILED;
  x->finishing[x->nfinishing++] = i;
}

static void activate_fanout(wfi_exec *x, uint32_t i) {
  struct wfi_rstage *st = &x->st[i];
  const wfi_stage *sd = &x->plan->stages[i];
  x->hook_err[0] = '\0';
  int rc = x->plan->ops->items_open(x->plan->ud, x, i, &st->it, &st->source_hash);
  if (rc) {
    st->it = NULL;
    wfi_exec_fail_stage(x, i, rc);
    stage_done(x, i, WFS_STEP_FAILED);
    return;
  }
  uint64_t n;
  if (x->plan->ops->items_count && x->plan->ops->items_count(st->it, &n)) {
    st->nitems = n;
    st->nitems_known = 1;
    wfi_exec_progress(x, WFI_P_ITEMS_KNOWN, i, NULL);
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
    /* Its items are all recorded: reused, as they would be one by one. */
    if (st->nitems_known) st->done = st->memo = st->nitems;
    stage_done(x, i, WFS_STEP_SUCCEEDED);
  }
}

static void activate(wfi_exec *x, uint32_t i) {
  struct wfi_rstage *st = &x->st[i];
  const wfi_stage *sd = &x->plan->stages[i];
  st->state = WFI_STAGE_ACTIVE;
  st->t_start = wfs_now_ms();
  if (!sd->selected) {
    st->unselected = 1;
    st->has_output = stage_record_status(x, i) == WFS_STEP_SUCCEEDED;
    if (sd->id[0])
      wfi_exec_add_event(x, sd->id, WFS_EV_STEP_SKIPPED,
                         st->has_output ? "not selected (--only, --skip, --to): the stages "
                                          "that need it use its recorded output"
                                        : "not selected (--only, --skip, --to), and no "
                                          "output of it is recorded");
    stage_done(x, i, WFS_STEP_SKIPPED);
    return;
  }
  wfi_exec_progress(x, WFI_P_STAGE_STARTED, i, NULL);
  if (sd->fanout) {
    activate_fanout(x, i);
    return;
  }
  st->exhausted = 1;
  st->pulled = 1;
  struct wfi_rstep *s = wfi_step_make(x, i, sd->id, NULL, 0, NULL);
  if (!s) return; /* memoized: finishes in check_stages */
  if (s->outcome != WFI_OUT_NONE) wfi_step_finish(x, s); /* failed to build, or cached */
  else wfi_step_park(st, s);
}

static void activate_ready(wfi_exec *x) {
  for (uint32_t i = 0; i < x->plan->nstages; i++) {
    struct wfi_rstage *st = &x->st[i];
    if (st->state != WFI_STAGE_WAIT) continue;
    const wfi_stage *sd = &x->plan->stages[i];
    int ready = 1;
    uint32_t blocked = UINT32_MAX;
    for (uint32_t k = 0; k < sd->nneeds; k++) {
      uint32_t n = sd->needs[k];
      if (x->st[n].state != WFI_STAGE_DONE) ready = 0;
      else if (blocked == UINT32_MAX && !need_ok(x, n)) blocked = n;
    }
    if (!ready) continue;
    /* A stage not selected does not run anyway: what it needs does not matter. */
    if (blocked != UINT32_MAX && sd->selected) upstream_failed(x, i, blocked);
    else activate(x, i);
  }
}

/* Active stages with nothing left move on: single stages are done (their step record
 * is the stage's record); fan-outs first commit their stage record. A stage cut short
 * by a stop gets no record, so a later execution iterates it again. */
static void check_stages(wfi_exec *x) {
  for (uint32_t i = 0; i < x->plan->nstages; i++) {
    struct wfi_rstage *st = &x->st[i];
    if (st->state != WFI_STAGE_ACTIVE || !st->exhausted || st->nparked || st->outstanding) continue;
    int result = st->failed ? WFS_STEP_FAILED : WFS_STEP_SUCCEEDED;
    if (st->truncated) {
      /* Cut short: canceled by request, else stopped (a signal, a store error) and
       * left pending for a resume. */
      stage_done(x, i, st->failed ? WFS_STEP_FAILED
                       : x->stop_reason == WFI_STOP_CANCEL ? WFS_STEP_CANCELED
                                                       : WFS_STEP_PENDING);
      continue;
    }
    if (!x->plan->stages[i].fanout || !x->plan->stages[i].id[0]) {
      stage_done(x, i, result);
      continue;
    }
    st->state = WFI_STAGE_FINISHING;
    st->result = result;
    x->finishing[x->nfinishing++] = i;
  }
}

static void fill(wfi_exec *x) {
  uint32_t n = x->plan->nstages;
  while (x->inflight < x->window && x->inflight < x->fd_steps && !x->held && !x->stop_reason) {
    int started = 0;
    for (uint32_t k = 0; k < n && !started; k++) {
      uint32_t i = (x->rr + k) % n;
      struct wfi_rstage *st = &x->st[i];
      const wfi_stage *sd = &x->plan->stages[i];
      if (st->state != WFI_STAGE_ACTIVE) continue;
      if (sd->concurrency && st->inflight >= sd->concurrency) continue;
      struct wfi_rstep *s = wfi_step_next(x, i);
      if (!s) continue;
      x->rr = i + 1;
      started = 1;
      wfi_step_start(x, s);
      if (x->ndone >= WFI_COMMIT_CAP) return; /* let drive commit before going on */
    }
    if (!started) break;
  }
}

/* ---- commit and the loop ---------------------------------------------------------- */

static void fence(wfi_exec *x);

static void flush(wfi_exec *x) {
  if (!x->done_head && !x->nfinishing && !x->npev) return;
  int rc = wfi_commit(x);
  if (rc == WF_EFENCED) {
    fence(x);
  } else if (rc) {
    x->store_rc = rc;
    wfi_exec_fail(x, WFI_STOP_STORE, "could not record finished steps: %s", wf_strerror(rc));
  }
  struct wfi_rstep *s = x->done_head;
  x->done_head = x->done_tail = NULL;
  x->ndone = 0;
  while (s) {
    struct wfi_rstep *next = s->next;
    struct wfi_rstage *st = &x->st[s->stage];
    if (rc) s->outcome = WFI_OUT_DROPPED;
    switch (s->outcome) {
    case WFI_OUT_SUCCEEDED:
      st->done++;
      st->exec_ms += wfs_now_ms() - s->attempt_start;
      break;
    case WFI_OUT_CANCELED: case WFI_OUT_DROPPED: st->truncated = 1; break;
    case WFI_OUT_FAILED:
      st->failed++;
      x->any_failed = 1;
      if (!x->opts.continue_on_error && !x->run.continue_on_error)
        wfi_exec_fail(x, WFI_STOP_FAILED, "step %s failed: %s", s->key,
                 s->res.error ? s->res.error : "unknown error");
      break;
    default: break;
    }
    if (s->outcome == WFI_OUT_RETRY && !rc) {
      wfi_exec_progress(x, WFI_P_STEP_RETRY, s->stage, s);
      wfi_step_retry_later(x, s);
    } else {
      if (s->outcome != WFI_OUT_DROPPED) wfi_exec_progress(x, WFI_P_STEP_FINISHED, s->stage, s);
      st->outstanding--;
      wfi_step_free(s);
    }
    s = next;
  }
  for (uint32_t i = 0; i < x->nfinishing; i++) {
    uint32_t k = x->finishing[i];
    /* A stage whose record did not reach the disk is not done. */
    stage_done(x, k, rc ? WFS_STEP_PENDING : x->st[k].result);
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
    uv_close((uv_handle_t *)&x->sighup, close_cb);
  }
}

static void kill_running(wfi_exec *x, int reason) {
  struct wfi_rstep *next;
  for (struct wfi_rstep *s = x->running; s; s = next) {
    next = s->rnext; /* an activity may end the attempt inside kill */
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
    struct wfi_rstage *st = &x->st[i];
    int dropped = st->parked_head != NULL;
    while (st->parked_head) {
      struct wfi_rstep *s = st->parked_head;
      st->parked_head = s->next;
      st->outstanding--;
      wfi_step_free(s);
    }
    st->parked_tail = NULL;
    st->nparked = 0;
    if (st->state == WFI_STAGE_ACTIVE && (!st->exhausted || dropped)) st->truncated = 1;
    if (st->state == WFI_STAGE_ACTIVE) st->exhausted = 1;
    if (st->it) {
      x->plan->ops->items_close(st->it);
      st->it = NULL;
    }
  }
}

static int all_done(wfi_exec *x) {
  for (uint32_t i = 0; i < x->plan->nstages; i++)
    if (x->st[i].state != WFI_STAGE_DONE) return 0;
  return 1;
}

/* Retry delays end when the run stops: the step keeps its recorded pending state. */
static void cancel_retries(wfi_exec *x) {
  while (x->retrying) {
    struct wfi_rstep *s = x->retrying;
    wfi_step_list_del(&x->retrying, s);
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
void wfi_exec_drive(wfi_exec *x, int flush_ok) {
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
      /* Fail fast: once a step failed for good (without --continue-on-error) the run's
       * outcome is known; steps in flight are killed and recorded canceled rather than
       * waited for (a timeout can be long), and a resume runs them again. */
      if (x->stop_reason == WFI_STOP_FAILED) kill_running(x, WFI_KILL_CANCEL);
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
    active |= x->st[i].state == WFI_STAGE_ACTIVE || x->st[i].state == WFI_STAGE_FINISHING;
  }
  if (!x->stop_reason && (parked || active)) return; /* e.g. waiting for a class's rate */
  x->ended = 1;
  stop_handles(x);
}

static void stop_for(wfi_exec *x, int reason, int kill_reason) {
  if (x->ended) return;
  wfi_exec_fail(x, reason, NULL);
  if (reason == WFI_STOP_CANCEL && !x->err[0]) snprintf(x->err, sizeof x->err, "canceled");
  kill_running(x, kill_reason);
  wfi_exec_drive(x, 0);
}

/* SIGHUP (the terminal closed, the ssh session dropped) is a stop like SIGTERM: steps
 * left running would be orphans that a resume runs a second time beside. */
static void on_signal(uv_signal_t *h, int signum) {
  wfi_exec *x = h->data;
  if (x->stop_reason == WFI_STOP_FENCED) return;
  snprintf(x->err, sizeof x->err, "interrupted by %s",
           signum == SIGINT ? "SIGINT" : signum == SIGHUP ? "SIGHUP" : "SIGTERM");
  x->stop_reason = WFI_STOP_SIGNAL;
  stop_for(x, WFI_STOP_SIGNAL, WFI_KILL_SHUTDOWN);
}

/* Another process took the run over (this one was frozen, or thought gone): stop
 * scheduling, end the steps' process groups, and record nothing more. */
static void fence(wfi_exec *x) {
  if (x->stop_reason == WFI_STOP_FENCED) return;
  x->stop_reason = WFI_STOP_FENCED;
  snprintf(x->err, sizeof x->err, "taken over by pid %d on %s", (int)x->fenced_by.pid,
           x->fenced_by.host[0] ? x->fenced_by.host : "?");
  kill_running(x, WFI_KILL_SHUTDOWN);
  wfi_exec_drive(x, 0);
}

static void on_tick(uv_timer_t *t) {
  wfi_exec *x = t->data;
  int cancel = 0;
  if (x->ended || x->stop_reason == WFI_STOP_FENCED) return;
  int rc = wfi_exec_heartbeat(x, &cancel);
  if (rc == WF_EFENCED) {
    fence(x);
    return;
  }
  if (rc == 0 && cancel && x->stop_reason != WFI_STOP_CANCEL && x->stop_reason != WFI_STOP_SIGNAL) {
    x->stop_reason = WFI_STOP_CANCEL;
    snprintf(x->err, sizeof x->err, "canceled by wf cancel-run");
    stop_for(x, WFI_STOP_CANCEL, WFI_KILL_CANCEL);
  }
  if (!x->ended) wfi_report_tick(x);
}

static void walk_close(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, close_cb);
}

/* Descriptors this process has open (/proc/self/fd); a guess where that cannot be read. */
static uint64_t fds_open(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return 64;
  uint64_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n ? n - 1 : 0; /* less the directory's own */
}

/* How many steps may run at once before their descriptors exceed the open-file limit
 * (RLIMIT_NOFILE), with room kept for everything else: at least one. Starting more
 * would fail steps for good with "Too many open files"; a wide window waits instead. */
static uint32_t fd_steps(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return UINT32_MAX;
  uint64_t keep = fds_open() + WFI_FD_RESERVE;
  uint64_t n = rl.rlim_cur > keep ? (rl.rlim_cur - keep) / WFI_STEP_FDS : 0;
  return n < 1 ? 1 : n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
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
  x->fd_steps = fd_steps();
  x->fresh = 1;
  for (int i = 0; i < WFS_STEP_NSTATUS; i++)
    if (x->run.counts[i]) x->fresh = 0;
  x->last_heartbeat = x->run.heartbeat;
  x->epoch = opts->lease ? opts->lease->epoch : x->run.epoch;
  if (x->run.epoch != x->epoch) return WF_EFENCED; /* taken over before it began */
  x->max_output = opts->max_output ? opts->max_output : WFS_MAX_VALUE;
  x->kill_grace_s = opts->kill_grace_s > 0 ? opts->kill_grace_s : WFI_KILL_GRACE_S;
  if (x->run.run_dir) {
    /* Where start --run-dir put it; made again if it was removed since. */
    if (snprintf(x->run_dir, sizeof x->run_dir, "%s", x->run.run_dir) >= (int)sizeof x->run_dir)
      return WF_EINVAL;
    if ((rc = wfi_mkdir_p(x->run_dir)) != 0) return rc;
  } else if ((rc = wfi_run_dir(x->home, run_id, x->run_dir, sizeof x->run_dir)) != 0) {
    return rc;
  }
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
    uv_signal_init(&x->loop, &x->sighup);
    x->sigint.data = x->sigterm.data = x->sighup.data = x;
    uv_signal_start(&x->sigint, on_signal, SIGINT);
    uv_signal_start(&x->sigterm, on_signal, SIGTERM);
    /* Under nohup SIGHUP is ignored on purpose: leave it so. */
    struct sigaction hup;
    if (sigaction(SIGHUP, NULL, &hup) != 0 || hup.sa_handler != SIG_IGN)
      uv_signal_start(&x->sighup, on_signal, SIGHUP);
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
    free(x->st[i].error);
    struct wfi_rclass *c = x->st[i].classes;
    while (c) {
      struct wfi_rclass *n = c->next;
      free(c->name);
      free(c);
      c = n;
    }
  }
  free(x->st);
  free(x->finishing);
  free(x->pev);
  wfi_report_free(x);
  wfs_run_clear(&x->run);
}

int wfi_exec_loop(wfi_exec *x, int *final_status) {
  x->ended = 0;
  x->stop_reason = WFI_STOP_NONE;
  uv_timer_start(&x->tick, on_tick, 250, 250);
  wfi_exec_drive(x, 1);
  wfi_report_write(x, 0);
  uv_run(&x->loop, UV_RUN_DEFAULT);
  /* The loop ends when the scheduler closed its handles; activities close theirs. */
  cancel_retries(x);
  uv_walk(&x->loop, walk_close, NULL);
  uv_run(&x->loop, UV_RUN_DEFAULT);
  int status;
  switch (x->stop_reason) {
  case WFI_STOP_SIGNAL:
  case WFI_STOP_STORE:
  case WFI_STOP_FENCED: status = WFS_RUN_INTERRUPTED; break;
  case WFI_STOP_CANCEL: status = WFS_RUN_CANCELED; break;
  default:
    status = !x->any_failed ? WFS_RUN_SUCCEEDED
             : (x->opts.continue_on_error || x->run.continue_on_error) ? WFS_RUN_DEGRADED
                                                                        : WFS_RUN_FAILED;
  }
  if (status == WFS_RUN_SUCCEEDED && !all_done(x)) status = WFS_RUN_FAILED;
  *final_status = status;
  int rc = x->keep_open ? 0 : wfi_exec_finish_run(x, status);
  wfi_report_write(x, 1);
  int crc = uv_loop_close(&x->loop);
  (void)crc;
  if (x->stop_reason == WFI_STOP_FENCED) {
    if (x->opts.taken_by) *x->opts.taken_by = x->fenced_by;
    return WF_EFENCED;
  }
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
