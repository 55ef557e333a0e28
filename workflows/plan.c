/* plan.c — turning a loaded definition into the engine's plan: which stages run and
 * which ignore recorded results (--only, --skip, --to, --start-from), and one wfi_stage
 * per stage with its activity, limits and retry policy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wfw_int.h"

/* A comma list of stage ids into flags[nstages]. */
static int stage_list(const wfw_def *d, const char *list, const char *opt, uint8_t *flags,
                      wfw_err *err) {
  const char *p = list;
  while (1) {
    const char *end = strchr(p, ',');
    if (!end) end = p + strlen(p);
    const char *b = p, *e = end;
    while (b < e && (*b == ' ' || *b == '\t')) b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t')) e--;
    if (b == e) return wfw_fail(err, "%s \"%s\": empty stage name", opt, list);
    uint32_t i = 0;
    while (i < d->nstages &&
           !(strlen(d->stages[i].id) == (size_t)(e - b) && memcmp(d->stages[i].id, b, (size_t)(e - b)) == 0))
      i++;
    if (i == d->nstages) {
      char ids[512];
      size_t n = 0;
      ids[0] = '\0';
      for (uint32_t k = 0; k < d->nstages && n < sizeof ids; k++)
        n += (size_t)snprintf(ids + n, sizeof ids - n, "%s%s", k ? ", " : "", d->stages[k].id);
      return wfw_fail(err, "%s: unknown stage \"%.*s\" (stages of %s: %s)", opt, (int)(e - b), b,
                      d->name, ids);
    }
    flags[i] = 1;
    if (!*end) return 0;
    p = end + 1;
  }
}

static int is_anc(const wfw_def *d, uint32_t of, uint32_t j) {
  return d->anc[(size_t)of * d->nstages + j];
}

static int select_into(const wfw_def *d, const char *only, const char *skip,
                       const char *start_from, const char *to, uint8_t *f, int *selected,
                       int *rerun, wfw_err *err) {
  uint32_t n = d->nstages;
  uint8_t *fo = f, *fs = f + n, *ff = f + 2 * n, *ft = f + 3 * n;
  int rc;
  if ((only && (rc = stage_list(d, only, "--only", fo, err)) != 0) ||
      (skip && (rc = stage_list(d, skip, "--skip", fs, err)) != 0) ||
      (start_from && (rc = stage_list(d, start_from, "--start-from", ff, err)) != 0) ||
      (to && (rc = stage_list(d, to, "--to", ft, err)) != 0))
    return rc;
  for (uint32_t i = 0; i < n; i++)
    if (fo[i] && fs[i])
      return wfw_fail(err, "stage %s is both in --only and --skip", d->stages[i].id);
  for (uint32_t i = 0; i < n; i++) {
    int sel = (!only || fo[i]) && !fs[i], before_to = !to, after_from = 0;
    for (uint32_t j = 0; j < n; j++) {
      if (ft[j] && (j == i || is_anc(d, j, i))) before_to = 1;
      if (ff[j] && (j == i || is_anc(d, i, j))) after_from = 1;
    }
    selected[i] = sel && before_to;
    rerun[i] = selected[i] && after_from;
  }
  return 0;
}

int wfw_select(const wfw_def *d, const char *only, const char *skip, const char *start_from,
               const char *to, int *selected, int *rerun, wfw_err *err) {
  if (err) err->msg[0] = '\0';
  uint8_t *flags = calloc((size_t)d->nstages * 4, 1);
  if (!flags) return WF_ENOMEM;
  int rc = select_into(d, only, skip, start_from, to, flags, selected, rerun, err);
  free(flags);
  return rc;
}

static void io_error(wfi_exec *x, const char *msg) { wfi_exec_error(x, "%s", msg); }

static const wfw_plan_io engine_io = {wfi_exec_stage_output, io_error, wfi_exec_run_id,
                                      wfi_exec_run_dir};

void wfw_plan_set_io(wfi_plan *p, const wfw_plan_io *io) { ((wfw_plan_state *)p)->io = *io; }

int wfw_plan_set_home(wfw_plan *p, const char *home) {
  wfw_plan_state *pl = (wfw_plan_state *)p;
  char *h = home ? strdup(home) : NULL;
  if (home && !h) return WF_ENOMEM;
  free(pl->home);
  pl->home = h;
  return 0;
}

static void fill_stage(const wfw_stage *s, wfi_stage *w) {
  w->id = s->id;
  w->needs = s->needs;
  w->nneeds = s->nneeds;
  w->fanout = s->fanout;
  w->concurrency = s->concurrency;
  w->classes = s->classes;
  w->nclasses = s->nclasses;
  w->rate = s->rate;
  w->retry = s->retry;
  w->timeout_s = s->timeout_s;
  w->act = s->act;
  w->act_ctx = NULL;
  w->cache = s->cache ? WFI_CACHE_USE : WFI_CACHE_OFF;
  w->activity = s->kind;
}

static int plan_build(wfw_plan_state *p, const uint8_t *params, size_t params_len, const char *only,
                      const char *skip, const char *start_from, const char *to, wfw_err *err) {
  const wfw_def *d = p->d;
  uint32_t n = d->nstages;
  int *sel = calloc(n, sizeof *sel), *rerun = calloc(n, sizeof *rerun), rc;
  p->stages = calloc(n, sizeof *p->stages);
  p->outs = calloc(n, sizeof *p->outs);
  p->checkers = calloc(n, sizeof *p->checkers);
  if (!sel || !rerun || !p->stages || !p->outs || !p->checkers) rc = WF_ENOMEM;
  else rc = wfw_select(d, only, skip, start_from, to, sel, rerun, err);
  for (uint32_t i = 0; rc == 0 && i < n; i++) {
    fill_stage(&d->stages[i], &p->stages[i]);
    p->stages[i].selected = sel[i];
    p->stages[i].rerun = rerun[i];
    const wfw_stage *ds = &d->stages[i];
    if (ds->ncheck || ds->expect) {
      p->checkers[i] = (wfw_checker){p->stages[i].act, p->stages[i].act_ctx, ds};
      p->stages[i].act = &wfw_checked;
      p->stages[i].act_ctx = &p->checkers[i];
    }
  }
  free(sel);
  free(rerun);
  if (rc) return rc;
  if (params && params_len) {
    if (!(p->params = malloc(params_len))) return WF_ENOMEM;
    memcpy(p->params, params, params_len);
    p->params_len = params_len;
    if ((rc = wfa_mp_to_json(params, params_len, &p->params_json)) != 0 ||
        !cJSON_IsObject(p->params_json))
      return wfw_fail(err, "the recorded params of the run are not a map");
  } else if (!(p->params_json = cJSON_CreateObject())) {
    return WF_ENOMEM;
  }
  p->plan.stages = p->stages;
  p->plan.nstages = n;
  p->plan.ops = &wfw_hooks;
  p->plan.ud = p;
  p->io = engine_io;
  return 0;
}

int wfw_plan_new(const wfw_def *d, const uint8_t *params, size_t params_len, const char *only,
                 const char *skip, const char *start_from, const char *to, wfw_plan **out,
                 wfw_err *err) {
  *out = NULL;
  if (err) err->msg[0] = '\0';
  wfw_plan_state *p = calloc(1, sizeof *p);
  if (!p) return WF_ENOMEM;
  p->d = d;
  int rc = plan_build(p, params, params_len, only, skip, start_from, to, err);
  if (rc) {
    if (rc == WF_ENOMEM && err) snprintf(err->msg, sizeof err->msg, "out of memory");
    p->plan.nstages = p->outs ? d->nstages : 0;
    wfw_plan_free(&p->plan);
    return rc;
  }
  *out = &p->plan;
  return 0;
}

void wfw_plan_free(wfw_plan *plan) {
  if (!plan) return;
  wfw_plan_state *p = (wfw_plan_state *)plan;
  if (p->outs) wfw_plan_clear_cache(p);
  wfw_plan_free_pins(p);
  free(p->outs);
  free(p->checkers);
  free(p->stages);
  free(p->params);
  cJSON_Delete(p->params_json);
  free(p->home);
  free(p);
}

/* Whether stage `id` of run `run_id` is recorded as succeeded: 1, 0, or an error. */
static int recorded_ok(wf_store *st, const char *run_id, const char *id) {
  wf_step_info *s = NULL;
  if (!st || !run_id) return 0;
  int rc = wf_step_info_get(st, run_id, id, &s);
  int ok = rc == 0 && s->status == WF_STEP_SUCCEEDED;
  wf_step_info_free(s);
  return rc == 0 || rc == WF_ENOTFOUND ? ok : rc;
}

int wfw_plan_check_inputs(const wfw_plan *p, wf_store *st, const char *run_id, wfw_err *err) {
  if (err) err->msg[0] = '\0';
  for (uint32_t i = 0; i < p->nstages; i++) {
    const wfi_stage *s = &p->stages[i];
    for (uint32_t k = 0; s->selected && k < s->nneeds; k++) {
      const wfi_stage *n = &p->stages[s->needs[k]];
      if (n->selected) continue;
      int ok = recorded_ok(st, run_id, n->id);
      if (ok < 0) return ok;
      if (ok) continue;
      if (!run_id)
        return wfw_fail(err, "stage %s needs stage %s, which --only/--skip leaves out, and a new "
                        "run has no output of %s to use: run %s too, or reuse the output an "
                        "earlier run recorded (--run-id RUN --start-from %s)",
                        s->id, n->id, n->id, n->id, s->id);
      return wfw_fail(err, "stage %s needs stage %s, which --only/--skip leaves out, and run %s "
                      "has no succeeded output of %s to reuse: run %s too (leave it out of "
                      "--skip, or add it to --only)", s->id, n->id, run_id, n->id, n->id);
    }
  }
  return 0;
}

int wfw_plan_set_force(wfw_plan *p, const char *stages, wfw_err *err) {
  wfw_plan_state *pl = (wfw_plan_state *)p;
  const wfw_def *d = pl->d;
  if (err) err->msg[0] = '\0';
  if (!stages) return 0;
  uint8_t *f = calloc(d->nstages ? d->nstages : 1, 1);
  if (!f) return WF_ENOMEM;
  int rc = stages[0] ? stage_list(d, stages, "--force", f, err) : 0;
  for (uint32_t i = 0; rc == 0 && i < d->nstages; i++)
    if ((!stages[0] || f[i]) && pl->stages[i].cache == WFI_CACHE_USE)
      pl->stages[i].cache = WFI_CACHE_REFRESH;
  free(f);
  return rc;
}

uint32_t wfw_plan_nstages(const wfw_plan *p) { return p->nstages; }

void wfw_plan_stage(const wfw_plan *p, uint32_t i, wfw_plan_stage_info *out) {
  const wfi_stage *s = &p->stages[i];
  out->id = s->id;
  out->fanout = s->fanout;
  out->selected = s->selected;
  out->rerun = s->rerun;
  out->cache = s->cache;
}
