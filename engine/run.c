/* run.c — a run's life outside execution: creating it, taking ownership to continue
 * it, and asking it to stop. Each is one write transaction, so the check of the current
 * owner and the change are atomic across processes (LMDB serializes writers); the new
 * owner's lock is taken inside it too, so no second claimer can slip in between. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sched_int.h"

#define WFI_DEFAULT_WINDOW 8

static int put_event(wfs_txn *t, wfs_run *r, int type, const char *detail) {
  return wfi_event_put(t, r, NULL, type, 0, wfs_now_ms(), detail);
}

/* Replace *dst with a copy of src (NULL stays NULL). */
static int set_str(char **dst, const char *src) {
  char *c = NULL;
  if (src && !(c = wfs_strdup(src))) return WF_ENOMEM;
  free(*dst);
  *dst = c;
  return 0;
}

/* The spec's definition and params (when given) in place of the recorded ones. */
static int apply_def(wfs_run *r, const wfi_run_spec *s) {
  int rc;
  if (s->params) {
    uint8_t *p = malloc(s->params_len ? s->params_len : 1);
    if (!p) return WF_ENOMEM;
    memcpy(p, s->params, s->params_len);
    free(r->params);
    r->params = p;
    r->params_len = s->params_len;
  }
  if (s->def_text) {
    char hash[17];
    snprintf(hash, sizeof hash, "%016llx",
             (unsigned long long)wfs_hash(s->def_text, strlen(s->def_text)));
    if ((rc = set_str(&r->def_text, s->def_text)) != 0 ||
        (rc = set_str(&r->def_path, s->def_path ? s->def_path : "")) != 0 ||
        (rc = set_str(&r->def_hash, hash)) != 0)
      return rc;
  }
  return 0;
}

static int apply_spec(wfs_run *r, const wfi_run_spec *s) {
  int rc = 0;
  rc = rc ? rc : set_str(&r->only, s->only);
  rc = rc ? rc : set_str(&r->skip, s->skip);
  rc = rc ? rc : set_str(&r->start_from, s->start_from);
  rc = rc ? rc : set_str(&r->to, s->to);
  if (rc || (rc = apply_def(r, s)) != 0) return rc;
  if (s->window) r->window = s->window;
  r->continue_on_error = (uint8_t)(s->continue_on_error != 0);
  return 0;
}

struct create_ctx {
  const wfi_run_spec *spec;
  const char *id;
  wfi_lease *lease;
  char run_dir[PATH_MAX];
};

static int create_txn(wfs_txn *t, void *ud) {
  struct create_ctx *c = ud;
  wfi_run_spec spec = *c->spec;
  wfs_run r = {0}, old = {0};
  int rc = wfs_run_get(t, c->id, &old);
  wfs_run_clear(&old);
  if (rc == 0) return WF_EEXIST;
  if (rc != WF_ENOTFOUND) return rc;
  /* The record owns copies of the spec's strings, as one read from the store does. */
  if (!spec.def_text) spec.def_text = "";
  if ((rc = set_str(&r.id, c->id)) != 0 || (rc = set_str(&r.workflow, spec.workflow)) != 0 ||
      (rc = apply_spec(&r, &spec)) != 0)
    goto out;
  if (spec.run_dir &&
      ((rc = wfi_run_dir_take(t, c->id, spec.run_dir, c->run_dir, sizeof c->run_dir)) != 0 ||
       (rc = set_str(&r.run_dir, c->run_dir)) != 0))
    goto out;
  int64_t now = wfs_now_ms();
  r.status = WFS_RUN_RUNNING;
  r.created_at = r.updated_at = r.started_at = r.heartbeat = now;
  wfi_owner_self(&r.owner);
  if (!r.window) r.window = WFI_DEFAULT_WINDOW;
  r.epoch = 1;
  if ((rc = wfi_lease_lock(c->lease, r.epoch)) != 0 ||
      (rc = wfi_lease_recheck(c->lease, wfs_home(t->env), c->id)) != 0 ||
      (rc = put_event(t, &r, WFS_EV_RUN_STARTED, r.workflow)) != 0)
    goto out;
  rc = wfs_run_put(t, &r, NULL);
out:
  wfs_run_clear(&r);
  return rc;
}

/* Create one id under the run's lock file; the lease is released unless it succeeds. */
static int create_one(wfs_env *env, struct create_ctx *c) {
  int rc = wfi_lease_open(wfs_home(env), c->id, c->lease);
  if (rc == 0) rc = wfs_write(env, create_txn, c);
  if (rc) wfi_lease_release(c->lease);
  return rc;
}

void wfi_run_id_generate(char *out, int attempt) {
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  int n = (int)strftime(out, WFS_MAX_ID + 1, "run_%Y-%m-%d-%H-%M-%S", &tm);
  if (attempt > 0) {
    unsigned r = (unsigned)(getpid() * 2654435761u) ^ (unsigned)clock() ^ (unsigned)attempt * 40503u;
    snprintf(out + n, (size_t)(WFS_MAX_ID + 1 - n), "-%04x", r & 0xffff);
  }
}

int wfi_run_create(wfs_env *env, const wfi_run_spec *spec, char *id_out, wfi_lease *lease) {
  struct create_ctx c = {spec, NULL, lease, ""};
  if (spec->run_id) {
    int rc = wfs_check_run_id(spec->run_id);
    if (rc) return rc;
    c.id = spec->run_id;
    rc = create_one(env, &c);
    if (rc == 0 && id_out) snprintf(id_out, WFS_MAX_ID + 1, "%s", spec->run_id);
    return rc;
  }
  char id[WFS_MAX_ID + 1];
  for (int attempt = 0; attempt < 16; attempt++) {
    wfi_run_id_generate(id, attempt);
    c.id = id;
    int rc = create_one(env, &c);
    if (rc == WF_EEXIST) continue;
    if (rc == 0 && id_out) memcpy(id_out, id, strlen(id) + 1);
    return rc;
  }
  return WF_EEXIST;
}

struct claim_ctx {
  const char *id;
  const wfi_run_spec *restart;
  int flags;
  wfi_lease *lease;
  wfi_claim_info info;
};

/* What the run_resumed event says: who took the run (this process), for what, and where
 * the run stood, e.g. "by pid 12 on host1 (resume); it was interrupted: its owner, pid 9
 * on host1, is gone". */
static void resumed_detail(const struct claim_ctx *c, const wfs_run *old, const wfs_run *r,
                           char *buf, size_t cap) {
  const char *why = !c->restart                  ? "resume"
                    : c->flags & WFI_CLAIM_RELOAD ? "resume --reload"
                                                  : "start --start-from";
  int n = snprintf(buf, cap, "by pid %d on %s (%s); it was ", (int)r->owner.pid,
                   r->owner.host, why);
  if (n < 0 || (size_t)n >= cap) return;
  buf += n, cap -= (size_t)n;
  int running = old->status == WFS_RUN_RUNNING || old->status == WFS_RUN_PENDING;
  if (c->info.alive)
    n = snprintf(buf, cap, "running, taken over (--force) from pid %d on %s",
                 (int)old->owner.pid, old->owner.host);
  else if (running && old->owner.pid)
    n = snprintf(buf, cap, "interrupted: its owner, pid %d on %s, is gone",
                 (int)old->owner.pid, old->owner.host);
  else
    n = snprintf(buf, cap, "%s", running ? "interrupted" : wfs_run_status_name(old->status));
  if (old->error && n >= 0 && (size_t)n < cap)
    snprintf(buf + n, cap - (size_t)n, " (%s)", old->error);
}

static int claim_txn(wfs_txn *t, void *ud) {
  struct claim_ctx *c = ud;
  wfs_run r = {0}, old = {0};
  int rc = wfs_run_get(t, c->id, &r);
  if (rc) return rc;
  rc = wfs_run_get(t, c->id, &old);
  if (rc) goto out;
  c->info.owner = r.owner;
  c->info.heartbeat = r.heartbeat;
  c->info.alive = (r.status == WFS_RUN_RUNNING || r.status == WFS_RUN_PENDING) &&
                  wfi_run_owner_alive(wfs_home(t->env), &r);
  if (c->info.alive && !(c->flags & WFI_CLAIM_TAKEOVER)) {
    rc = WF_EBUSY;
    goto out;
  }
  if (c->restart && (c->flags & WFI_CLAIM_RELOAD)) {
    if (r.status == WFS_RUN_SUCCEEDED ||
        (r.status == WFS_RUN_CANCELED && !(c->flags & WFI_CLAIM_CANCELED))) {
      rc = WF_ESTATE;
      goto out;
    }
    if ((rc = apply_def(&r, c->restart)) != 0) goto out;
  } else if (c->restart) {
    r.generation++;
    if ((rc = apply_spec(&r, c->restart)) != 0) goto out;
    char detail[64];
    snprintf(detail, sizeof detail, "generation %u", r.generation);
    if ((rc = put_event(t, &r, WFS_EV_GENERATION, detail)) != 0) goto out;
  } else if (r.status == WFS_RUN_SUCCEEDED ||
             (r.status == WFS_RUN_CANCELED && !(c->flags & WFI_CLAIM_CANCELED))) {
    rc = WF_ESTATE;
    goto out;
  }
  /* The new epoch's byte: taken by nobody else, since every claimer of this epoch would
   * be inside this same (serialized) transaction. Re-locking on a rerun is a no-op. */
  r.epoch++;
  if ((rc = wfi_lease_lock(c->lease, r.epoch)) != 0) goto out;
  int64_t now = wfs_now_ms();
  r.status = WFS_RUN_RUNNING;
  r.cancel_requested = 0;
  r.finished_at = 0;
  free(r.error);
  r.error = NULL;
  r.started_at = r.updated_at = r.heartbeat = now;
  wfi_owner_self(&r.owner);
  char detail[512];
  resumed_detail(c, &old, &r, detail, sizeof detail);
  if ((rc = put_event(t, &r, WFS_EV_RUN_RESUMED, detail)) != 0) goto out;
  rc = wfs_run_put(t, &r, &old);
out:
  wfs_run_clear(&r);
  wfs_run_clear(&old);
  return rc;
}

int wfi_run_claim(wfs_env *env, const char *run_id, const wfi_run_spec *restart, int flags,
                  wfi_lease *lease, wfi_claim_info *info) {
  struct claim_ctx c = {run_id, restart, flags, lease, {{0}, 0, 0}};
  int rc = wfs_check_run_id(run_id);
  if (rc == 0) rc = wfi_lease_open(wfs_home(env), run_id, lease);
  if (rc == 0) rc = wfs_write(env, claim_txn, &c);
  if (rc) wfi_lease_release(lease);
  if (info) *info = c.info;
  return rc;
}

struct cancel_ctx {
  const char *id;
};

static int cancel_txn(wfs_txn *t, void *ud) {
  const char *id = ((const struct cancel_ctx *)ud)->id;
  wfs_run r = {0}, old = {0};
  int rc = wfs_run_get(t, id, &r);
  if (rc) return rc;
  if ((rc = wfs_run_get(t, id, &old)) != 0) goto out;
  if (r.status != WFS_RUN_RUNNING && r.status != WFS_RUN_PENDING) {
    rc = WF_ESTATE;
    goto out;
  }
  if (wfi_run_owner_alive(wfs_home(t->env), &r)) {
    r.cancel_requested = 1;
    rc = put_event(t, &r, WFS_EV_RUN_CANCEL_REQUESTED, NULL);
  } else {
    /* Nobody is executing it: the cancellation is complete now. An owner only thought
     * gone (another kernel, lease expired) is fenced off by the new epoch. */
    r.epoch++;
    r.status = WFS_RUN_CANCELED;
    r.finished_at = r.updated_at = wfs_now_ms();
    memset(&r.owner, 0, sizeof r.owner);
    rc = put_event(t, &r, WFS_EV_RUN_FINISHED, "canceled");
  }
  if (rc == 0) rc = wfs_run_put(t, &r, &old);
out:
  wfs_run_clear(&r);
  wfs_run_clear(&old);
  return rc;
}

int wfi_run_cancel(wfs_env *env, const char *run_id) {
  struct cancel_ctx c = {run_id};
  int rc = wfs_check_run_id(run_id);
  return rc ? rc : wfs_write(env, cancel_txn, &c);
}
