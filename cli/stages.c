/* stages.c — a run stage by stage, as show-run prints it: each stage's status word and
 * done/total from the run's progress report (wf_run_progress_get), and the run's steps in
 * the order of its stages with the steps in flight among them. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_progress_get(wf_store *st, const char *run_id, wf_run_progress **p) {
  *p = NULL;
  int rc = wf_run_progress_get(st, run_id, p);
  return rc == WF_ENOTFOUND ? 0 : rc;
}

const char *cli_stage_word(const wf_stage_progress *s) {
  if (s->status == WF_STEP_PENDING && s->started_at) return "stopped";
  return wf_step_status_name(s->status);
}

void cli_done_total(uint64_t done, uint64_t total, int known, char *buf, size_t cap) {
  if (known) snprintf(buf, cap, "%llu/%llu", (unsigned long long)done, (unsigned long long)total);
  else if (total) snprintf(buf, cap, "%llu/≥%llu", (unsigned long long)done, (unsigned long long)total);
  else snprintf(buf, cap, "%llu/?", (unsigned long long)done);
}

void cli_stage_done_total(const wf_stage_progress *s, char *buf, size_t cap) {
  cli_done_total(s->done, s->total, s->total_known, buf, cap);
}

int cli_display_width(const char *s) {
  int n = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if ((*p & 0xc0) != 0x80) n++;
  return n;
}

/* How long stage s has taken (until now while it runs), or -1 when it has not begun. */
double cli_stage_seconds(const wf_stage_progress *s, int64_t now) {
  if (!s->started_at) return -1;
  int64_t end = s->finished_at ? s->finished_at : now;
  return end > s->started_at ? (double)(end - s->started_at) / 1000.0 : 0;
}

/* Until when a stage that has not finished counts: now while the report is live, else
 * when its execution last reported. */
static int64_t report_now(const wf_run_progress *p) {
  return p->live ? cli_now_ms() : p->reported_at;
}

void cli_print_stages(FILE *out, const wf_run_progress *p) {
  int64_t now = report_now(p);
  fprintf(out, "\n%-24s %-10s %12s %9s  %s\n", "STAGE", "STATUS", "STEPS", "DURATION", "NOTE");
  for (size_t i = 0; i < p->nstages; i++) {
    const wf_stage_progress *s = &p->stages[i];
    char steps[64], dur[32] = "-", note[160] = "";
    size_t n = 0;
    cli_stage_done_total(s, steps, sizeof steps);
    double sec = cli_stage_seconds(s, now);
    if (sec >= 0) cli_duration(sec, dur, sizeof dur);
    if (s->running)
      n += (size_t)snprintf(note + n, sizeof note - n, "%llu running, ",
                            (unsigned long long)s->running);
    if (s->failed && n < sizeof note)
      n += (size_t)snprintf(note + n, sizeof note - n, "%llu failed, ",
                            (unsigned long long)s->failed);
    if (s->reused && n < sizeof note)
      n += (size_t)snprintf(note + n, sizeof note - n, "%llu reused, ",
                            (unsigned long long)s->reused);
    if (!s->selected && n < sizeof note)
      n += (size_t)snprintf(note + n, sizeof note - n, "not selected, ");
    if (n >= 2 && n < sizeof note) note[n - 2] = '\0';
    fprintf(out, "%-24s %-10s %*s %9s%s%s\n", s->id, cli_stage_word(s),
            12 + (int)strlen(steps) - cli_display_width(steps), steps, dur, n ? "  " : "", note);
  }
}

cJSON *cli_stages_json(const wf_run_progress *p) {
  cJSON *a = cJSON_CreateArray();
  for (size_t i = 0; p && i < p->nstages; i++) {
    const wf_stage_progress *s = &p->stages[i];
    cJSON *o = cJSON_CreateObject();
    char tm[40];
    cJSON_AddStringToObject(o, "id", s->id);
    cJSON_AddStringToObject(o, "status", cli_stage_word(s));
    cJSON_AddBoolToObject(o, "fanout", s->fanout);
    cJSON_AddBoolToObject(o, "selected", s->selected);
    if (s->total_known) cJSON_AddNumberToObject(o, "total", (double)s->total);
    else cJSON_AddNullToObject(o, "total");
    cJSON_AddNumberToObject(o, "done", (double)s->done);
    cJSON_AddNumberToObject(o, "reused", (double)s->reused);
    cJSON_AddNumberToObject(o, "failed", (double)s->failed);
    cJSON_AddNumberToObject(o, "running", (double)s->running);
    cli_time_iso(s->started_at, tm, sizeof tm);
    if (tm[0]) cJSON_AddStringToObject(o, "started_at", tm);
    else cJSON_AddNullToObject(o, "started_at");
    cli_time_iso(s->finished_at, tm, sizeof tm);
    if (tm[0]) cJSON_AddStringToObject(o, "finished_at", tm);
    else cJSON_AddNullToObject(o, "finished_at");
    double sec = cli_stage_seconds(s, report_now(p));
    if (sec >= 0) cJSON_AddNumberToObject(o, "duration_s", sec);
    else cJSON_AddNullToObject(o, "duration_s");
    cJSON_AddItemToArray(a, o);
  }
  return a;
}

/* ---- steps in the order of their stages ---------------------------------------------- */

struct stage_ref {
  const char *id;
  int fanout;
};

struct order {
  wf_step_cb cb;
  void *ud;
  const char *stage;               /* the stage being listed */
  const wf_step_running **run;     /* its steps in flight, by key */
  size_t nrun, next;
  uint64_t counted;                /* records passed that the run's counts count */
  const struct stage_ref *stages;
  size_t nstages;
};

static int by_key(const void *a, const void *b) {
  return strcmp((*(const wf_step_running *const *)a)->key,
                (*(const wf_step_running *const *)b)->key);
}

static int pass_running(struct order *o, const wf_step_running *r) {
  wf_step_info s;
  memset(&s, 0, sizeof s);
  s.key = r->key;
  s.stage = o->stage;
  s.status = WF_STEP_RUNNING;
  s.attempt = r->attempt;
  s.started_at = r->started_at;
  s.exit_code = -1;
  return o->cb(o->ud, &s);
}

/* Pass the steps in flight whose keys sort before key (all of them for NULL); *same: one
 * has key itself, whose record is of an earlier attempt. */
static int pass_running_before(struct order *o, const char *key, int *same) {
  *same = 0;
  while (o->next < o->nrun) {
    int c = key ? strcmp(o->run[o->next]->key, key) : -1;
    if (c > 0) break;
    int rc = pass_running(o, o->run[o->next++]);
    if (rc) return rc;
    if (c == 0) *same = 1;
  }
  return 0;
}

static int in_stage_order(void *ud, const wf_step_info *s) {
  struct order *o = ud;
  int same, rc = pass_running_before(o, s->key, &same);
  if (rc) return rc;
  o->counted++;
  return same ? 0 : o->cb(o->ud, s);
}

/* Steps of no stage listed (a stage the definition no longer has, after a restart with
 * another definition): key neither a stage id nor below one. */
static int leftover(void *ud, const wf_step_info *s) {
  struct order *o = ud;
  for (size_t i = 0; i < o->nstages; i++) {
    size_t n = strlen(o->stages[i].id);
    if (strncmp(s->key, o->stages[i].id, n) == 0 && (s->key[n] == '\0' || s->key[n] == '/'))
      return 0;
  }
  return o->cb(o->ud, s);
}

/* The stages in order: from the report, else from the recorded definition. */
static size_t stage_refs(const wf_run_info *r, const wf_run_progress *p, cJSON **def,
                         struct stage_ref **out) {
  *out = NULL;
  *def = NULL;
  if (p) {
    if (!p->nstages || !(*out = calloc(p->nstages, sizeof **out))) return 0;
    for (size_t i = 0; i < p->nstages; i++) {
      (*out)[i].id = p->stages[i].id;
      (*out)[i].fanout = p->stages[i].fanout;
    }
    return p->nstages;
  }
  *def = r->def_text[0] ? cJSON_Parse(r->def_text) : NULL;
  const cJSON *stages = cJSON_GetObjectItemCaseSensitive(*def, "stages"), *s;
  size_t n = 0, cap = (size_t)cJSON_GetArraySize(stages);
  if (!cap || !(*out = calloc(cap, sizeof **out))) return 0;
  cJSON_ArrayForEach(s, stages) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(s, "id");
    if (!cJSON_IsString(id) || strlen(id->valuestring) >= WF_MAX_STEP_KEY) continue;
    (*out)[n].id = id->valuestring;
    (*out)[n].fanout = cJSON_HasObjectItem(s, "foreach");
    n++;
  }
  return n;
}

/* One stage: its own record (a single stage's step, or a fan-out's record of itself),
 * then its items, with its steps in flight among them. */
static int list_stage(wf_store *st, const wf_run_info *r, const wf_run_progress *p,
                      uint32_t i, struct order *o) {
  const struct stage_ref *ref = &o->stages[i];
  o->stage = ref->id;
  o->nrun = o->next = 0;
  for (size_t k = 0; p && k < p->nsteps; k++)
    if (p->steps[k].stage == i) o->run[o->nrun++] = &p->steps[k];
  qsort(o->run, o->nrun, sizeof *o->run, by_key);
  wf_step_info *own = NULL;
  int same, rc = wf_step_info_get(st, r->id, ref->id, &own);
  if (rc == 0 || rc == WF_ECORRUPT) {
    wf_step_info bad;
    memset(&bad, 0, sizeof bad);
    bad.key = ref->id;
    bad.stage = "";
    bad.status = WF_STEP_UNREADABLE;
    bad.exit_code = -1;
    bad.error = "the record cannot be decoded";
    rc = pass_running_before(o, ref->id, &same);
    if (!ref->fanout) o->counted++;
    if (rc == 0 && !same) rc = o->cb(o->ud, own ? own : &bad);
  } else if (rc == WF_ENOTFOUND) {
    rc = 0;
  }
  wf_step_info_free(own);
  char prefix[WF_MAX_STEP_KEY + 2];
  snprintf(prefix, sizeof prefix, "%s/", ref->id);
  if (rc == 0) rc = wf_steps_list(st, r->id, prefix, in_stage_order, o);
  if (rc == 0) rc = pass_running_before(o, NULL, &same);
  return rc;
}

int cli_steps_in_order(wf_store *st, const wf_run_info *r, const wf_run_progress *p,
                       wf_step_cb cb, void *ud) {
  cJSON *def;
  struct order o;
  memset(&o, 0, sizeof o);
  o.cb = cb;
  o.ud = ud;
  struct stage_ref *refs;
  o.nstages = stage_refs(r, p, &def, &refs);
  o.stages = refs;
  o.run = calloc(p && p->nsteps ? p->nsteps : 1, sizeof *o.run);
  int rc = 0;
  if (!o.nstages || !o.run) {
    rc = wf_steps_list(st, r->id, "", cb, ud); /* no stages known: key order */
  } else {
    for (uint32_t i = 0; i < o.nstages && rc == 0; i++) rc = list_stage(st, r, p, i, &o);
    uint64_t recorded = 0;
    for (int i = 0; i < WF_STEP_NSTATUS; i++) recorded += r->counts[i];
    if (rc == 0 && o.counted < recorded) rc = wf_steps_list(st, r->id, "", leftover, &o);
  }
  free(o.run);
  free(refs);
  cJSON_Delete(def);
  return rc;
}
