/* api.c — the public embedding API (wf/wf.h): a C program opens a store, begins or
 * resumes a run and executes memoized in-process steps through the same records, group
 * commit and scheduler as the CLI. Reading runs is query.c's; cancel and delete are
 * control.c's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "sched_int.h"
#include "wfmp.h"

#define MIB ((uint64_t)1 << 20)

int wfi_store_check(const wf_store *st) { return !st || st->listing ? WF_EINVAL : 0; }

/* WF_EINVAL when an option is out of range; 0 ones are the lower layers' defaults. */
static int check_opts(const wf_store_opts *o) {
  if ((o->flags & ~(unsigned)WF_STORE_NOCREATE) || o->map_cap_mb > SIZE_MAX / MIB ||
      o->max_readers > (1u << 20) || o->max_output_mb > SIZE_MAX / MIB ||
      !(o->kill_grace_s >= 0) || isinf(o->kill_grace_s))
    return WF_EINVAL;
  return 0;
}

int wf_store_open_ex(const char *home, const wf_store_opts *opts, wf_store **out) {
  if (!out) return WF_EINVAL;
  *out = NULL;
  wf_store *st = calloc(1, sizeof *st);
  if (!st) return WF_ENOMEM;
  if (!home || !home[0]) home = ".wf";
  if (opts) st->opts = *opts;
  int rc = check_opts(&st->opts);
  if (rc == 0) {
    wfs_opts so = {0};
    so.existing = (st->opts.flags & WF_STORE_NOCREATE) != 0;
    so.map_cap_mb = st->opts.map_cap_mb;
    so.max_readers = st->opts.max_readers;
    rc = wfs_open_with(home, &so, &st->env);
  }
  if (rc) {
    free(st);
    return rc;
  }
  *out = st;
  return 0;
}

int wf_store_open(const char *home, wf_store **out) { return wf_store_open_ex(home, NULL, out); }

void wf_store_close(wf_store *st) {
  if (!st) return;
  wfs_close(st->env);
  free(st);
}

const char *wf_store_home(const wf_store *st) { return wfs_home(st->env); }

wfs_env *wfi_store_env(wf_store *st) { return st->env; }

int wf_store_health_get(wf_store *st, wf_store_health *out) {
  if (!out) return WF_EINVAL;
  int rc = wfi_store_check(st);
  if (rc) return rc;
  uint64_t cap_mb = st->opts.map_cap_mb ? st->opts.map_cap_mb : WFS_MAP_CAP_MB;
  return wfs_health_get(st->env, cap_mb << 20, out);
}

const wf_failure *wf_last_failure(void) { return wfs_last_failure(); }

/* (Re)read the run record. */
static int load_run(wf_run *r) {
  wfs_txn t;
  wfs_run fresh = {0};
  int rc = wfs_read_begin(r->st->env, &t);
  if (rc) return rc;
  rc = wfs_run_get(&t, r->id, &fresh);
  wfs_read_end(&t);
  if (rc) return rc;
  wfs_run_clear(&r->rec);
  r->rec = fresh;
  return 0;
}

int wfi_run_adopt(wf_store *st, const char *run_id, wfi_lease *lease, wf_run **out) {
  wf_run *r = calloc(1, sizeof *r);
  if (!r) {
    wfi_lease_release(lease);
    return WF_ENOMEM;
  }
  r->st = st;
  r->lease = *lease;
  *lease = (wfi_lease)WFI_LEASE_INIT;
  snprintf(r->id, sizeof r->id, "%s", run_id);
  int rc = load_run(r);
  if (rc == 0 && r->rec.epoch != r->lease.epoch) rc = WF_EFENCED;
  if (rc) {
    wf_run_close(r);
    return rc;
  }
  *out = r;
  return 0;
}

int wf_run_begin(wf_store *st, const char *workflow, const char *run_id, wf_run **out) {
  if (wfi_store_check(st) || !workflow || !out) return WF_EINVAL;
  wfi_lease lease = WFI_LEASE_INIT;
  wfi_run_spec spec = {0};
  spec.run_id = run_id;
  spec.workflow = workflow;
  char id[WFS_MAX_ID + 1];
  int rc = wfi_run_create(st->env, &spec, id, &lease);
  if (rc == WF_EEXIST && run_id) {
    rc = wfi_run_claim(st->env, run_id, NULL, 0, &lease, NULL);
    snprintf(id, sizeof id, "%s", run_id);
  }
  return rc ? rc : wfi_run_adopt(st, id, &lease, out);
}

int wf_run_resume(wf_store *st, const char *run_id, unsigned flags, wf_run **out,
                  wf_owner *owner) {
  if (wfi_store_check(st) || !run_id || !out ||
      (flags & ~(unsigned)(WF_RESUME_CANCELED | WF_RESUME_FORCE)))
    return WF_EINVAL;
  wfi_lease lease = WFI_LEASE_INIT;
  wfi_claim_info info;
  int cf = (flags & WF_RESUME_CANCELED ? WFI_CLAIM_CANCELED : 0) |
           (flags & WF_RESUME_FORCE ? WFI_CLAIM_TAKEOVER : 0);
  int rc = wfi_run_claim(st->env, run_id, NULL, cf, &lease, &info);
  if (owner) wfi_owner_describe(&info.owner, info.heartbeat, info.alive, owner);
  return rc ? rc : wfi_run_adopt(st, run_id, &lease, out);
}

int wfi_run_execute_owned(wf_run *run, const wfi_plan *plan, wfi_exec_opts *opts,
                          int *final_status) {
  opts->lease = &run->lease;
  opts->max_output = (size_t)(run->st->opts.max_output_mb * MIB);
  opts->kill_grace_s = run->st->opts.kill_grace_s;
  int rc = wfi_run_execute(run->st->env, run->id, plan, opts, final_status);
  int lrc = load_run(run);
  return rc ? rc : lrc;
}

const char *wf_run_id(const wf_run *run) { return run->id; }

struct step_ctx {
  wf_run *r;
  const char *key;
  const void *in;
  size_t inlen;
  uint64_t hash;
  int prev;
  int ok;
  void *out;
  size_t outlen;
  char *error;
  int64_t started;
  wfs_run upd;
};

static const char *stage_of(const char *key, char *buf, size_t cap) {
  size_t n = strcspn(key, "/");
  if (n >= cap) n = cap - 1;
  memcpy(buf, key, n);
  buf[n] = '\0';
  return buf;
}

static int step_txn(wfs_txn *t, void *ud) {
  struct step_ctx *c = ud;
  int64_t now = wfs_now_ms();
  char stage[128];
  wfs_step rec = {0};
  rec.stage = stage_of(c->key, stage, sizeof stage);
  rec.key = c->key;
  rec.status = c->ok ? WFS_STEP_SUCCEEDED : WFS_STEP_FAILED;
  rec.attempt = 1;
  rec.input_hash = c->hash;
  rec.input = c->in;
  rec.input_len = c->inlen;
  rec.output = c->ok ? c->out : NULL;
  rec.output_len = c->ok ? c->outlen : 0;
  rec.error = c->error;
  rec.exit_code = -1;
  rec.started_at = c->started;
  rec.finished_at = now;
  rec.generation = c->r->rec.generation;
  wfs_run_head disk;
  int rc = wfs_run_peek(t, c->r->id, &disk);
  if (rc == 0 && disk.epoch != c->r->lease.epoch) rc = WF_EFENCED;
  c->upd = c->r->rec;
  c->upd.event_seq = disk.event_seq;
  c->upd.cancel_requested = disk.cancel_requested;
  if (rc == 0) rc = wfs_step_put(t, c->upd.id, &rec);
  if (rc) return rc;
  if (c->prev >= 0 && c->upd.counts[c->prev] > 0) c->upd.counts[c->prev]--;
  c->upd.counts[rec.status]++;
  rc = wfi_event_put(t, &c->upd, c->key, WFS_EV_STEP_STARTED, 1, c->started, NULL);
  if (rc == 0)
    rc = wfi_event_put(t, &c->upd, c->key, c->ok ? WFS_EV_STEP_SUCCEEDED : WFS_EV_STEP_FAILED,
                       1, now, c->error);
  c->upd.updated_at = c->upd.heartbeat = now;
  /* Only this process writes the run while it owns it: no index key changes here. */
  return rc ? rc : wfs_run_put(t, &c->upd, &c->r->rec);
}

/* What a step's input (or an item) must be for its record to be readable. */
static int input_ok(const void *in, size_t inlen) {
  return !inlen || wfm_check_value(in, inlen, WF_MAX_VALUE_DEPTH, 0, NULL, NULL) == 0;
}

/* What a step's output must be to be recorded and shown as it is; why[] says otherwise. */
static int output_ok(const void *out, size_t len, char *why, size_t cap) {
  wfm_fault f;
  size_t at;
  if (wfm_check_value(out, len, WF_MAX_VALUE_DEPTH, WFM_CHECK_TEXT, &f, &at) == 0) return 1;
  if (f == WFM_FAULT_DEPTH)
    snprintf(why, cap, "the output nests deeper than %d levels (byte %zu)", WF_MAX_VALUE_DEPTH, at);
  else
    snprintf(why, cap, "the output %s (byte %zu)", wfm_fault_text(f), at);
  return 0;
}

int wf_step_run(wf_run *run, const char *key, const void *in, size_t inlen, wf_step_fn fn,
                void *ud, const void **out, size_t *outlen, int *memo) {
  if (!run || !key || !fn || (!in && inlen) || wfi_store_check(run->st)) return WF_EINVAL;
  int rc = wfs_check_step_key(key);
  if (rc) return rc;
  if (!input_ok(in, inlen)) return WF_EINVAL;
  struct step_ctx c = {0};
  c.r = run;
  c.key = key;
  c.in = in;
  c.inlen = inlen;
  c.hash = wfs_hash(in, inlen);
  c.prev = -1;
  free(run->out);
  run->out = NULL;
  run->out_len = 0;
  if (memo) *memo = 0;

  wfs_txn t;
  if ((rc = wfs_read_begin(run->st->env, &t)) != 0) return rc;
  uint64_t hash = 0;
  uint32_t gen = 0;
  int status = -1;
  if (wfs_step_peek(&t, run->id, key, &status, &hash, &gen) != 0) status = -1;
  c.prev = status;
  if (status == WFS_STEP_SUCCEEDED && hash == c.hash) {
    wfs_step s = {0};
    rc = wfs_step_get(&t, run->id, key, &s);
    wfs_read_end(&t);
    if (rc) return rc;
    run->out = s.output;
    run->out_len = s.output_len;
    s.output = NULL;
    wfs_step_clear(&s);
    if (out) *out = run->out;
    if (outlen) *outlen = run->out_len;
    if (memo) *memo = 1;
    return 0;
  }
  wfs_read_end(&t);

  c.started = wfs_now_ms();
  c.ok = fn(ud, in, inlen, &c.out, &c.outlen) == 0;
  char why[200];
  if (!c.ok) {
    c.error = "step function returned an error";
  } else if (c.out && !output_ok(c.out, c.outlen, why, sizeof why)) {
    c.ok = 0;
    c.error = why;
  }
  if (!c.ok) {
    free(c.out);
    c.out = NULL;
    c.outlen = 0;
  }
  rc = wfs_write(run->st->env, step_txn, &c);
  if (rc) {
    free(c.out);
    return rc;
  }
  memcpy(run->rec.counts, c.upd.counts, sizeof run->rec.counts);
  run->rec.event_seq = c.upd.event_seq;
  run->rec.updated_at = run->rec.heartbeat = c.upd.updated_at;
  run->out = c.out;
  run->out_len = c.outlen;
  if (out) *out = run->out;
  if (outlen) *outlen = run->out_len;
  return c.ok ? 0 : WF_ESTEP;
}

/* ---- wf_step_map: a one-stage plan whose items come from the caller ---------------- */

struct map_ctx {
  size_t n;
  wf_item_fn item;
  wf_step_fn fn;
  void *ud;
};

struct wfi_items {
  struct map_ctx *m;
  wfi_exec *x;
  size_t i;
  void *cur;
};

static int map_build_input(void *ud, wfi_exec *x, uint32_t stage, const uint8_t *item,
                           size_t item_len, uint8_t **in, size_t *in_len) {
  (void)ud, (void)x, (void)stage;
  *in = malloc(item_len ? item_len : 1);
  if (!*in) return WF_ENOMEM;
  memcpy(*in, item, item_len);
  *in_len = item_len;
  return 0;
}

static int map_items_open(void *ud, wfi_exec *x, uint32_t stage, wfi_items **it,
                          uint64_t *source_hash) {
  (void)stage;
  *it = calloc(1, sizeof **it);
  if (!*it) return WF_ENOMEM;
  (*it)->m = ud;
  (*it)->x = x;
  *source_hash = 0;
  return 0;
}

static int map_items_next(wfi_items *it, const uint8_t **item, size_t *item_len, char *key,
                          size_t keycap, char *cls, size_t clscap) {
  (void)clscap;
  free(it->cur);
  it->cur = NULL;
  if (it->i >= it->m->n) return 0;
  key[0] = cls[0] = '\0';
  size_t len = 0;
  int rc = it->m->item(it->m->ud, it->i, key, keycap, &it->cur, &len);
  if (rc) return WF_EINVAL;
  if (!input_ok(it->cur, len)) {
    wfi_exec_error(it->x, "item %zu is not one well-formed msgpack value at most %d levels "
                   "deep", it->i, WF_MAX_VALUE_DEPTH);
    return WF_EINVAL;
  }
  it->i++;
  *item = it->cur;
  *item_len = len;
  return 1;
}

static void map_items_close(wfi_items *it) {
  if (!it) return;
  free(it->cur);
  free(it);
}

static int map_items_count(wfi_items *it, uint64_t *n) {
  *n = it->m->n;
  return 1;
}

static const wfi_plan_ops map_ops = {map_build_input, map_items_open, map_items_next,
                                     map_items_close, map_items_count};

static void inproc_start(void *ctx, wfi_job *job) {
  struct map_ctx *m = ctx;
  wfi_result res = {0};
  void *out = NULL;
  size_t len = 0;
  res.exit_code = -1;
  res.ok = m->fn(m->ud, job->input, job->input_len, &out, &len) == 0;
  if (res.ok) {
    res.output = out;
    res.output_len = len;
  } else {
    free(out);
    res.error = wfs_strdup("step function returned an error");
  }
  wfi_job_done(job, &res);
}

static void inproc_kill(void *ctx, wfi_job *job, int reason) { (void)ctx, (void)job, (void)reason; }

static const wfi_activity inproc = {"inproc", inproc_start, inproc_kill};

int wf_step_map(wf_run *run, size_t n, unsigned window, wf_item_fn item, wf_step_fn fn,
                void *ud, unsigned *max_inflight) {
  if (!run || !item || !fn || wfi_store_check(run->st)) return WF_EINVAL;
  struct map_ctx m = {n, item, fn, ud};
  wfi_stage stage = {0};
  stage.id = "";
  stage.fanout = 1;
  stage.retry.max_attempts = 1;
  stage.retry.backoff = 1;
  stage.act = &inproc;
  stage.act_ctx = &m;
  stage.selected = 1;
  wfi_plan plan = {&stage, 1, &map_ops, &m};
  wfi_exec_opts opts = {0};
  opts.window = window ? window : 8;
  opts.lease = &run->lease;
  opts.max_output = (size_t)(run->st->opts.max_output_mb * MIB);
  opts.kill_grace_s = run->st->opts.kill_grace_s;
  wfi_exec *x = malloc(sizeof *x);
  if (!x) return WF_ENOMEM;
  int status = 0;
  int rc = wfi_exec_init(x, run->st->env, run->id, &plan, &opts);
  if (rc == 0) {
    x->keep_open = 1;
    rc = wfi_exec_loop(x, &status);
  }
  if (max_inflight) *max_inflight = x->max_inflight;
  wfi_exec_destroy(x);
  free(x);
  int lrc = load_run(run);
  if (rc == 0) rc = lrc;
  if (rc == 0 && status != WFS_RUN_SUCCEEDED) rc = WF_ESTEP;
  return rc;
}

struct end_ctx {
  wf_run *r;
  int outcome;
};

static int end_txn(wfs_txn *t, void *ud) {
  struct end_ctx *e = ud;
  wfs_run disk = {0};
  int rc = wfs_run_get(t, e->r->id, &disk);
  if (rc == 0 && disk.epoch != e->r->lease.epoch) rc = WF_EFENCED;
  if (rc) {
    wfs_run_clear(&disk);
    return rc;
  }
  wfs_run r = disk;
  int64_t now = wfs_now_ms();
  r.status = (uint8_t)e->outcome;
  r.finished_at = r.updated_at = now;
  memset(&r.owner, 0, sizeof r.owner);
  rc = wfi_event_put(t, &r, NULL, WFS_EV_RUN_FINISHED, 0, now, wfs_run_status_name(e->outcome));
  if (rc == 0) rc = wfs_run_put(t, &r, &disk);
  disk.event_seq = r.event_seq;
  wfs_run_clear(&disk);
  return rc;
}

int wf_run_end(wf_run *run, int outcome) {
  if (!run) return WF_EINVAL;
  int rc = WF_EINVAL;
  if ((outcome == WF_RUN_SUCCEEDED || outcome == WF_RUN_FAILED) && !wfi_store_check(run->st)) {
    struct end_ctx e = {run, outcome};
    rc = wfs_write(run->st->env, end_txn, &e);
  }
  wf_run_close(run);
  return rc;
}

void wf_run_close(wf_run *run) {
  if (!run) return;
  free(run->out);
  wfi_lease_release(&run->lease);
  wfs_run_clear(&run->rec);
  free(run);
}

int wf_store_compact(const char *home, uint64_t *before, uint64_t *after) {
  return wfs_compact(home, before, after);
}
