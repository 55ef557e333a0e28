/* query.c — reading runs through the public API (wf/wf.h): one run's description, runs
 * listed with filters and paging, a run's steps and events, and the names of statuses.
 * A listing holds one read snapshot while its callback runs; the handle refuses other
 * calls meanwhile (see wf_runs_list). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

/* ---- names and checks --------------------------------------------------------------- */

const char *wf_run_status_name(int status) { return wfs_run_status_name(status); }

const char *wf_step_status_name(int status) { return wfs_step_status_name(status); }

const char *wf_event_type_name(int type) { return wfs_event_type_name(type); }

int wf_run_status_parse(const char *name, int *status) {
  int s = wfs_run_status_parse(name);
  if (s < 0 || !status) return WF_EINVAL;
  *status = s;
  return 0;
}

int wf_run_id_check(const char *id) { return wfs_check_run_id(id); }

int wf_step_key_check(const char *key) { return wfs_check_step_key(key); }

int wf_log_path(const wf_store *st, const char *run_id, const char *key, char *buf,
                size_t cap) {
  if (!st || !buf || wfs_check_run_id(run_id) || (key && wfs_check_step_key(key)))
    return WF_EINVAL;
  const char *home = wfs_home(st->env);
  return key ? wfi_log_path(home, run_id, key, buf, cap) : wfi_run_log_path(home, run_id, buf, cap);
}

/* ---- runs ----------------------------------------------------------------------------- */

#define RUN_DIR_CAP (PATH_MAX + WFS_MAX_ID + 8)

/* Fill *out from record r; its pointers point into r and run_dir[RUN_DIR_CAP]. The owner's
 * liveness is looked at now (its lock file, or its heartbeat). */
static void describe_run(const char *home, const wfs_run *r, char *run_dir, wf_run_info *out) {
  memset(out, 0, sizeof *out);
  int running = r->status == WFS_RUN_RUNNING || r->status == WFS_RUN_PENDING;
  int alive = running && wfi_run_owner_alive(home, r);
  if (r->run_dir)
    snprintf(run_dir, RUN_DIR_CAP, "%s", r->run_dir);
  else
    snprintf(run_dir, RUN_DIR_CAP, "%s/runs/%s", home, r->id);
  out->id = r->id;
  out->workflow = r->workflow ? r->workflow : "";
  out->recorded_status = r->status;
  out->status = running && !alive ? WFS_RUN_INTERRUPTED : r->status;
  out->created_at = r->created_at;
  out->started_at = r->started_at;
  out->updated_at = r->updated_at;
  out->finished_at = r->finished_at;
  out->generation = r->generation;
  memcpy(out->counts, r->counts, sizeof out->counts);
  out->error = r->error;
  out->forked_from = r->forked_from;
  wfi_owner_describe(&r->owner, r->heartbeat, alive, &out->owner);
  out->cancel_requested = r->cancel_requested;
  out->params = r->params;
  out->params_len = r->params_len;
  out->only = r->only;
  out->skip = r->skip;
  out->start_from = r->start_from;
  out->to = r->to;
  out->window = r->window;
  out->continue_on_error = r->continue_on_error;
  out->def_path = r->def_path ? r->def_path : "";
  out->def_text = r->def_text ? r->def_text : "";
  out->def_hash = r->def_hash ? r->def_hash : "";
  out->next_event_seq = r->event_seq;
  out->run_dir = run_dir;
  out->steps_done = r->counts[WFS_STEP_SUCCEEDED];
  out->run_dir_given = r->run_dir != NULL;
}

/* Whether the owner of run r may still be executing it. */
static int owner_alive(const char *home, const wfs_run *r) {
  return (r->status == WFS_RUN_RUNNING || r->status == WFS_RUN_PENDING) &&
         wfi_run_owner_alive(home, r);
}

/* What wf_run_info_get hands out: the description first, then what it points into. */
typedef struct run_info_box {
  wf_run_info pub;
  wfs_run rec;
  char run_dir[RUN_DIR_CAP];
} run_info_box;

/* Read the run record `id` in one read transaction. */
static int read_run(wf_store *st, const char *id, wfs_run *r) {
  wfs_txn t;
  int rc = wfs_read_begin(st->env, &t);
  if (rc) return rc;
  rc = wfs_run_get(&t, id, r);
  wfs_read_end(&t);
  return rc;
}

int wf_run_info_get(wf_store *st, const char *run_id, wf_run_info **out) {
  if (wfi_store_check(st) || !out) return WF_EINVAL;
  *out = NULL;
  int rc = wfs_check_run_id(run_id);
  if (rc) return rc;
  run_info_box *b = calloc(1, sizeof *b);
  if (!b) return WF_ENOMEM;
  if ((rc = read_run(st, run_id, &b->rec)) != 0) {
    wfs_run_clear(&b->rec);
    free(b);
    return rc;
  }
  const char *home = wfs_home(st->env);
  describe_run(home, &b->rec, b->run_dir, &b->pub);
  wfi_report_summary(home, &b->rec, b->pub.status == WFS_RUN_RUNNING, &b->pub);
  *out = &b->pub;
  return 0;
}

int wf_run_progress_get(wf_store *st, const char *run_id, wf_run_progress **out) {
  if (wfi_store_check(st) || !out) return WF_EINVAL;
  *out = NULL;
  int rc = wfs_check_run_id(run_id);
  if (rc) return rc;
  wfs_run r = {0};
  if ((rc = read_run(st, run_id, &r)) == 0) {
    const char *home = wfs_home(st->env);
    rc = wfi_report_read(home, &r, owner_alive(home, &r), out);
  }
  wfs_run_clear(&r);
  return rc;
}

int wf_run_dir_check(wf_store *st, const char *run_id, const char *dir, char *abs,
                     size_t abscap, char *owner, size_t ownercap) {
  char path[PATH_MAX];
  wfs_txn t;
  if (wfi_store_check(st) || !dir || (run_id && wfs_check_run_id(run_id))) return WF_EINVAL;
  int rc = wfs_read_begin(st->env, &t);
  if (rc) return rc;
  rc = wfi_run_dir_check(&t, run_id, dir, path, sizeof path, owner, ownercap);
  wfs_read_end(&t);
  if (rc == 0 && abs && snprintf(abs, abscap, "%s", path) >= (int)abscap) rc = WF_EINVAL;
  return rc;
}

void wf_run_info_free(wf_run_info *info) {
  if (!info) return;
  run_info_box *b = (run_info_box *)info;
  wfs_run_clear(&b->rec);
  free(b);
}

/* The stored statuses whose indexes hold the runs that read as one of `want`: interrupted
 * runs are recorded as running (or pending). 0 (every run: the time index) when that is
 * all of them. */
static unsigned stored_statuses(unsigned want) {
  unsigned s = want & ~(1u << WFS_RUN_INTERRUPTED);
  if (want & (1u << WFS_RUN_INTERRUPTED)) s |= 1u << WFS_RUN_RUNNING | 1u << WFS_RUN_PENDING;
  return s == (1u << WFS_RUN_INTERRUPTED) - 1 ? 0 : s;
}

struct list_ctx {
  wfs_txn *t;
  const wf_run_filter *f;
  wf_run_cb cb;
  void *ud;
  size_t passed;
  int full;                /* stopped at the limit */
  char run_dir[RUN_DIR_CAP];
};

static int list_one(void *ud, const char *id, int64_t created_at) {
  struct list_ctx *c = ud;
  wf_run_info info;
  wfs_run r;
  int rc = wfs_run_get(c->t, id, &r);
  if (rc) {
    memset(&info, 0, sizeof info);
    info.id = id;
    info.read_error = rc;
    info.created_at = created_at;
    return c->cb(c->ud, &info);
  }
  describe_run(wfs_home(c->t->env), &r, c->run_dir, &info);
  if ((!c->f->statuses || (c->f->statuses & (1u << info.status))) &&
      (!c->f->workflow || strcmp(info.workflow, c->f->workflow) == 0)) {
    wfi_report_summary(wfs_home(c->t->env), &r, info.status == WFS_RUN_RUNNING, &info);
    rc = c->cb(c->ud, &info);
    c->passed++;
  }
  wfs_run_clear(&r);
  if (rc == 0 && c->f->limit && c->passed >= c->f->limit) c->full = rc = 1;
  return rc;
}

int wf_runs_list(wf_store *st, const wf_run_filter *f, wf_run_cb cb, void *ud) {
  static const wf_run_filter all;
  if (!f) f = &all;
  if (wfi_store_check(st) || !cb || f->statuses >> WF_RUN_NSTATUS) return WF_EINVAL;
  wfs_runs_range range = {0};
  range.statuses = stored_statuses(f->statuses);
  range.since = f->since;
  range.until = f->until;
  range.newest_first = !f->oldest_first;
  range.after_id = f->after_id;
  range.after_created_at = f->after_created_at;
  wfs_txn t;
  int rc = wfs_read_begin(st->env, &t);
  if (rc) return rc;
  if (f->after_id && !f->after_created_at) {
    wfs_run after;
    rc = wfs_run_get(&t, f->after_id, &after);
    range.after_created_at = after.created_at;
    wfs_run_clear(&after);
  }
  struct list_ctx c = {&t, f, cb, ud, 0, 0, ""};
  st->listing = 1;
  if (rc == 0) rc = wfs_runs_scan_range(&t, &range, list_one, &c);
  st->listing = 0;
  wfs_read_end(&t);
  return c.full ? 0 : rc;
}

/* ---- steps ---------------------------------------------------------------------------- */

/* Fill *out from record s; its pointers point into s. */
static void describe_step(const wfs_step *s, wf_step_info *out) {
  memset(out, 0, sizeof *out);
  out->key = s->key;
  out->stage = s->stage ? s->stage : "";
  out->status = s->status;
  out->attempt = s->attempt;
  out->started_at = s->started_at;
  out->finished_at = s->finished_at;
  out->exit_code = s->exit_code;
  out->error = s->error;
  out->stderr_tail = s->stderr_tail;
  out->generation = s->generation;
  out->input = s->input;
  out->input_len = s->input_len;
  out->output = s->output;
  out->output_len = s->output_len;
  out->cached_run = s->cached_run;
  out->cached_step = s->cached_step;
}

/* A listing's callback (one of the two) and its argument. */
struct pass_ctx {
  wf_step_cb step;
  wf_event_cb event;
  void *ud;
};

static int pass_step(void *ud, const wfs_step *s) {
  struct pass_ctx *c = ud;
  wf_step_info info;
  describe_step(s, &info);
  return c->step(c->ud, &info);
}

static int pass_event(void *ud, const wfs_event *e) {
  struct pass_ctx *c = ud;
  wf_event_info info = {e->seq, e->type, e->time, e->step_key, e->attempt, e->detail};
  return c->event(c->ud, &info);
}

/* One read snapshot for a listing of a run's steps or events: the run must exist. */
static int list_of_run(wf_store *st, const char *run_id, const char *prefix,
                       uint64_t from_seq, struct pass_ctx *pc) {
  int rc = wfi_store_check(st);
  if (rc || !(pc->step || pc->event)) return WF_EINVAL;
  if ((rc = wfs_check_run_id(run_id)) != 0) return rc;
  wfs_txn t;
  wfs_run r;
  if ((rc = wfs_read_begin(st->env, &t)) != 0) return rc;
  rc = wfs_run_get(&t, run_id, &r);
  wfs_run_clear(&r);
  st->listing = 1;
  if (rc == 0)
    rc = pc->step ? wfs_steps_scan(&t, run_id, prefix, pass_step, pc)
                            : wfs_events_scan(&t, run_id, from_seq, pass_event, pc);
  st->listing = 0;
  wfs_read_end(&t);
  return rc;
}

int wf_steps_list(wf_store *st, const char *run_id, const char *prefix, wf_step_cb cb,
                  void *ud) {
  struct pass_ctx pc = {cb, NULL, ud};
  return list_of_run(st, run_id, prefix, 0, &pc);
}

int wf_events_list(wf_store *st, const char *run_id, uint64_t from_seq, wf_event_cb cb,
                   void *ud) {
  struct pass_ctx pc = {NULL, cb, ud};
  return list_of_run(st, run_id, NULL, from_seq, &pc);
}

/* What wf_step_info_get hands out: the description first, then the record. */
typedef struct step_info_box {
  wf_step_info pub;
  wfs_step rec;
} step_info_box;

int wf_step_info_get(wf_store *st, const char *run_id, const char *key, wf_step_info **out) {
  if (wfi_store_check(st) || !out) return WF_EINVAL;
  *out = NULL;
  step_info_box *b = calloc(1, sizeof *b);
  if (!b) return WF_ENOMEM;
  wfs_txn t;
  int rc = wfs_read_begin(st->env, &t);
  if (rc == 0) {
    rc = wfs_step_get(&t, run_id, key, &b->rec);
    wfs_read_end(&t);
  }
  if (rc) {
    wfs_step_clear(&b->rec);
    free(b);
    return rc;
  }
  describe_step(&b->rec, &b->pub);
  *out = &b->pub;
  return 0;
}

void wf_step_info_free(wf_step_info *step) {
  if (!step) return;
  step_info_box *b = (step_info_box *)step;
  wfs_step_clear(&b->rec);
  free(b);
}

/* ---- run ids by prefix ------------------------------------------------------------------ */

struct resolve_ctx {
  const char *prefix;
  char first[WF_MAX_RUN_ID + 1]; /* the first id found */
  size_t found;
  int exact;               /* first is prefix itself */
};

static int resolve_count(void *ud, const char *id) {
  struct resolve_ctx *c = ud;
  if (c->found++ == 0) {
    snprintf(c->first, sizeof c->first, "%s", id);
    c->exact = strcmp(id, c->prefix) == 0;
  }
  /* Ids in key order: prefix itself, when it is an id, comes first. Two are enough. */
  return c->exact || c->found > 1;
}

struct candidates_ctx {
  wf_run_id_cb cb;
  void *ud;
};

static int pass_candidate(void *ud, const char *id) {
  struct candidates_ctx *c = ud;
  return c->cb(c->ud, id);
}

int wf_run_id_resolve(wf_store *st, const char *prefix, char *id, size_t cap,
                      wf_run_id_cb cb, void *ud) {
  if (wfi_store_check(st) || !id || wfs_check_run_id(prefix)) return WF_EINVAL;
  struct resolve_ctx c = {prefix, "", 0, 0};
  wfs_txn t;
  int rc = wfs_read_begin(st->env, &t);
  if (rc) return rc;
  rc = wfs_run_ids_prefixed(&t, prefix, resolve_count, &c);
  if (rc == 1) rc = 0;
  if (rc == 0 && c.found == 0) rc = WF_ENOTFOUND;
  if (rc == 0 && c.found > 1 && !c.exact) {
    rc = WF_EAMBIGUOUS;
    if (cb) {
      struct candidates_ctx cc = {cb, ud};
      st->listing = 1;
      int crc = wfs_run_ids_prefixed(&t, prefix, pass_candidate, &cc);
      st->listing = 0;
      if (crc < 0) rc = crc;
    }
  }
  wfs_read_end(&t);
  if (rc) return rc;
  if (strlen(c.first) >= cap) return WF_EINVAL;
  memcpy(id, c.first, strlen(c.first) + 1);
  return 0;
}
