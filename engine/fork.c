/* fork.c — a new run made from another (wf fork ID --from STAGE): the recorded steps of
 * the stages before STAGE are recorded for the new run, which then executes the rest, as
 * `start --start-from` does on the same run; the run it comes from stays untouched. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api_int.h"
#include "runfiles.h"
#include "sched_int.h"

struct fork_ctx {
  const char *src;
  const char *id;
  const wf_fork_opts *o;
  char run_dir[PATH_MAX];  /* the new run's folder, when o->run_dir */
  wfi_lease lease;
  wfi_staging stg;
  /* in the transaction */
  wfs_txn *t;
  wfs_run *r;
  uint64_t reused;
};

static int kept(const wf_fork_opts *o, const char *stage) {
  for (size_t i = 0; i < o->nkeep; i++)
    if (stage && strcmp(o->keep[i], stage) == 0) return 1;
  return 0;
}

static int copy_step(void *ud, const wfs_step *s) {
  struct fork_ctx *c = ud;
  if (s->status != WFS_STEP_SUCCEEDED || !kept(c->o, s->stage)) return 0;
  wfs_step copy = *s;
  copy.mem = NULL;
  copy.generation = 0;
  int rc = wfs_step_put(c->t, c->id, &copy);
  if (rc == 0) c->r->counts[WFS_STEP_SUCCEEDED]++, c->reused++;
  return rc;
}

/* Replace *dst with a copy of src (NULL stays NULL). */
static int dup_str(char **dst, const char *src) {
  if (src && !(*dst = wfs_strdup(src))) return WF_ENOMEM;
  return 0;
}

/* The new run's record from the source's: what it runs, not how far it got. */
static int new_record(const wfs_run *src, struct fork_ctx *c, wfs_run *r) {
  int rc = 0;
  rc = rc ? rc : dup_str(&r->id, c->id);
  rc = rc ? rc : dup_str(&r->workflow, src->workflow);
  rc = rc ? rc : dup_str(&r->def_path, src->def_path);
  rc = rc ? rc : dup_str(&r->def_text, src->def_text);
  rc = rc ? rc : dup_str(&r->def_hash, src->def_hash);
  rc = rc ? rc : dup_str(&r->forked_from, src->id);
  rc = rc ? rc : dup_str(&r->only, src->only);
  rc = rc ? rc : dup_str(&r->skip, src->skip);
  rc = rc ? rc : dup_str(&r->to, src->to);
  rc = rc ? rc : dup_str(&r->run_dir, c->o->run_dir ? c->run_dir : NULL);
  if (rc) return rc;
  if (src->params) {
    if (!(r->params = malloc(src->params_len ? src->params_len : 1))) return WF_ENOMEM;
    memcpy(r->params, src->params, src->params_len);
    r->params_len = src->params_len;
  }
  r->window = src->window;
  r->continue_on_error = src->continue_on_error;
  r->status = WFS_RUN_RUNNING;
  r->created_at = r->updated_at = r->started_at = r->heartbeat = wfs_now_ms();
  wfi_owner_self(&r->owner);
  r->epoch = 1;
  return 0;
}

static int fork_txn(wfs_txn *t, void *ud) {
  struct fork_ctx *c = ud;
  wfs_run src = {0}, r = {0};
  wfs_run_head h;
  char detail[WFS_MAX_ID + 512];
  int rc = wfs_run_peek(t, c->id, &h);
  if (rc != WF_ENOTFOUND) return rc ? rc : WF_EEXIST;
  if ((rc = wfs_run_get(t, c->src, &src)) != 0) return rc;
  if ((src.status == WFS_RUN_RUNNING || src.status == WFS_RUN_PENDING) &&
      wfi_run_owner_alive(wfs_home(t->env), &src)) {
    rc = WF_EBUSY;
    goto out;
  }
  c->t = t;
  c->r = &r;
  c->reused = 0;
  if ((rc = new_record(&src, c, &r)) != 0 || (rc = wfi_lease_lock(&c->lease, r.epoch)) != 0 ||
      (rc = wfi_lease_recheck(&c->lease, wfs_home(t->env), c->id)) != 0)
    goto out;
  if (c->o->run_dir &&
      (rc = wfi_run_dir_take(t, c->id, c->o->run_dir, c->run_dir, sizeof c->run_dir)) != 0)
    goto out;
  if ((rc = wfs_steps_scan(t, c->src, "", copy_step, c)) != 0) goto out;
  snprintf(detail, sizeof detail, "%s, forked from run %s%s%s: %llu recorded step%s reused",
           r.workflow ? r.workflow : "", c->src, c->o->from ? " at stage " : "",
           c->o->from ? c->o->from : "", (unsigned long long)c->reused,
           c->reused == 1 ? "" : "s");
  if ((rc = wfi_event_put(t, &r, NULL, WFS_EV_RUN_STARTED, 0, r.created_at, detail)) != 0 ||
      (rc = wfs_run_put(t, &r, NULL)) != 0)
    goto out;
  rc = wfi_staging_commit(&c->stg);
out:
  wfs_run_clear(&src);
  wfs_run_clear(&r);
  return rc;
}

struct log_ctx {
  const char *home, *src;
  const wf_fork_opts *o;
  const char *to;
  int rc;
};

/* The log of a reused step, into the staging folder of the new run's logs. */
static int copy_log(void *ud, const wfs_step *s) {
  struct log_ctx *c = ud;
  char from[PATH_MAX], to[PATH_MAX];
  if (s->status != WFS_STEP_SUCCEEDED || !kept(c->o, s->stage)) return 0;
  if (wfi_log_path(c->home, c->src, s->key, from, sizeof from) != 0) return 0;
  if (snprintf(to, sizeof to, "%s/%s", c->to, strrchr(from, '/') + 1) >= (int)sizeof to)
    return WF_EINVAL;
  struct stat sb;
  if (lstat(from, &sb) != 0 && errno == ENOENT) return 0; /* it wrote nothing */
  return wfi_copy_file(from, to);
}

/* The source's folder and the logs of the steps reused, into staging, before the
 * transaction (which only moves them). */
static int stage_files(wfs_env *env, struct fork_ctx *c) {
  wfs_txn t;
  wfs_run src = {0};
  char dir[PATH_MAX];
  const char *home = wfs_home(env);
  int rc = wfs_read_begin(env, &t);
  if (rc) return rc;
  rc = wfs_run_get(&t, c->src, &src);
  if (rc == 0 && c->o->run_dir)
    rc = wfi_run_dir_check(&t, c->id, c->o->run_dir, c->run_dir, sizeof c->run_dir, NULL, 0);
  struct log_ctx lc = {home, c->src, c->o, c->stg.logs, 0};
  if (rc == 0 && (rc = wfi_staging_open(home, c->o->run_dir ? c->run_dir : NULL, c->id,
                                        &c->stg)) == 0) {
    lc.to = c->stg.logs;
    rc = wfs_steps_scan(&t, c->src, "", copy_log, &lc);
  }
  wfs_read_end(&t);
  if (rc == 0) {
    if (src.run_dir) snprintf(dir, sizeof dir, "%s", src.run_dir);
    else snprintf(dir, sizeof dir, "%s/runs/%s", home, c->src);
    rc = wfi_copy_tree(dir, c->stg.dir);
  }
  wfs_run_clear(&src);
  return rc;
}

/* A free generated id (checked again when the run is recorded). */
static int free_id(wfs_env *env, char *id) {
  wfs_txn t;
  wfs_run_head h;
  int rc = wfs_read_begin(env, &t);
  if (rc) return rc;
  for (int attempt = 0; attempt < 16; attempt++) {
    wfi_run_id_generate(id, attempt);
    if ((rc = wfs_run_peek(&t, id, &h)) != 0) break;
  }
  wfs_read_end(&t);
  return rc == WF_ENOTFOUND ? 0 : rc ? rc : WF_EEXIST;
}

int wf_run_fork(wf_store *st, const char *src_id, const wf_fork_opts *o, wf_run **out) {
  char id[WFS_MAX_ID + 1];
  if (wfi_store_check(st) || !o || !out || wfs_check_run_id(src_id) ||
      (o->run_id && wfs_check_run_id(o->run_id)))
    return WF_EINVAL;
  for (size_t i = 0; i < o->nkeep; i++)
    if (!o->keep[i]) return WF_EINVAL;
  *out = NULL;
  struct fork_ctx *c = calloc(1, sizeof *c);
  if (!c) return WF_ENOMEM;
  c->src = src_id;
  c->o = o;
  c->lease = (wfi_lease)WFI_LEASE_INIT;
  int rc = 0;
  if (o->run_id) snprintf(id, sizeof id, "%s", o->run_id);
  else rc = free_id(st->env, id);
  c->id = id;
  if (rc == 0) rc = stage_files(st->env, c);
  if (rc == 0) rc = wfi_lease_open(wfs_home(st->env), id, &c->lease);
  if (rc == 0) rc = wfs_write(st->env, fork_txn, c);
  if (rc) wfi_staging_rollback(&c->stg);
  wfi_staging_close(&c->stg);
  if (rc) wfi_lease_release(&c->lease);
  else rc = wfi_run_adopt(st, id, &c->lease, out);
  free(c);
  return rc;
}
