/* runjson.c — a run, its steps and events as JSON (show-run -o json, list-runs -o json,
 * start -o json). One shape everywhere so scripts can rely on it. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_owner_note(const wf_run_info *r, char *buf, size_t cap) {
  buf[0] = '\0';
  if (!r->owner.alive) return 0;
  int64_t age = (cli_now_ms() - r->owner.heartbeat) / 1000;
  const char *where = !r->owner.same_machine ? ", another machine"
                      : !r->owner.pid_visible ? ", another PID namespace"
                                              : "";
  int n = snprintf(buf, cap, "pid %d on %s%s", (int)r->owner.pid, r->owner.host, where);
  /* Owners heartbeat every 5 s: a silent one is stopped (SIGSTOP, a paused container). */
  if (age >= 15 && n >= 0 && (size_t)n < cap)
    snprintf(buf + n, cap - (size_t)n, ", no heartbeat for %llds", (long long)age);
  return 1;
}

static void add_time(cJSON *o, const char *name, int64_t ms) {
  char buf[40];
  cli_time_iso(ms, buf, sizeof buf);
  if (buf[0]) cJSON_AddStringToObject(o, name, buf);
  else cJSON_AddNullToObject(o, name);
}

static void add_str(cJSON *o, const char *name, const char *s) {
  if (s) cJSON_AddStringToObject(o, name, s);
  else cJSON_AddNullToObject(o, name);
}

static cJSON *mp_json(const uint8_t *p, size_t n) {
  cJSON *j = NULL;
  if (!p || !n || wfa_mp_to_json(p, n, &j) != 0) return cJSON_CreateNull();
  return j;
}

static int step_cb(void *ud, const wf_step_info *s) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "key", s->key);
  cJSON_AddStringToObject(o, "stage", s->stage);
  cJSON_AddStringToObject(o, "status", wf_step_status_name(s->status));
  cJSON_AddNumberToObject(o, "attempt", s->attempt);
  add_time(o, "started_at", s->started_at);
  add_time(o, "finished_at", s->finished_at);
  if (s->started_at && s->finished_at)
    cJSON_AddNumberToObject(o, "duration_s", (double)(s->finished_at - s->started_at) / 1000.0);
  else if (s->status == WF_STEP_RUNNING && s->started_at) /* so far */
    cJSON_AddNumberToObject(o, "duration_s", (double)(cli_now_ms() - s->started_at) / 1000.0);
  else
    cJSON_AddNullToObject(o, "duration_s");
  if (s->exit_code >= 0) cJSON_AddNumberToObject(o, "exit_code", s->exit_code);
  else cJSON_AddNullToObject(o, "exit_code");
  add_str(o, "error", s->error);
  add_str(o, "stderr_tail", s->stderr_tail);
  cJSON_AddNumberToObject(o, "generation", s->generation);
  if (s->cached_run) {
    cJSON *c = cJSON_AddObjectToObject(o, "cached_from");
    cJSON_AddStringToObject(c, "run", s->cached_run);
    cJSON_AddStringToObject(c, "step", s->cached_step);
  } else {
    cJSON_AddNullToObject(o, "cached_from");
  }
  cJSON_AddItemToObject(o, "output", mp_json(s->output, s->output_len));
  cJSON_AddItemToArray((cJSON *)ud, o);
  return 0;
}

/* "kind": "stage" for a fan-out stage's own record (its key is the stage id; its items'
 * keys are "<stage>/<item>"), "step" for every step that executes. Which stages fan out
 * is read from the run's recorded definition, so a fan-out with no items is told too. */
static void mark_kinds(cJSON *steps, const char *def_text) {
  cJSON *def = def_text ? cJSON_Parse(def_text) : NULL, *s;
  const cJSON *st, *stages = cJSON_GetObjectItemCaseSensitive(def, "stages");
  cJSON_ArrayForEach(s, steps) {
    const char *key = cJSON_GetObjectItemCaseSensitive(s, "key")->valuestring;
    int is_stage = 0;
    if (strcmp(key, cJSON_GetObjectItemCaseSensitive(s, "stage")->valuestring) == 0) {
      cJSON_ArrayForEach(st, stages) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(st, "id");
        if (cJSON_IsString(id) && strcmp(id->valuestring, key) == 0) {
          is_stage = cJSON_HasObjectItem(st, "foreach");
          break;
        }
      }
    }
    cJSON_AddStringToObject(s, "kind", is_stage ? "stage" : "step");
  }
  cJSON_Delete(def);
}

static int event_cb(void *ud, const wf_event_info *e) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "seq", (double)e->seq);
  add_time(o, "time", e->time);
  cJSON_AddStringToObject(o, "type", wf_event_type_name(e->type));
  add_str(o, "step", e->step_key);
  if (e->attempt) cJSON_AddNumberToObject(o, "attempt", e->attempt);
  else cJSON_AddNullToObject(o, "attempt");
  add_str(o, "detail", e->detail);
  cJSON_AddItemToArray((cJSON *)ud, o);
  return 0;
}

cJSON *cli_run_json(wf_store *st, const wf_run_info *r, int with_steps, int with_events) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "id", r->id);
  cJSON_AddStringToObject(o, "workflow", r->workflow);
  cJSON_AddStringToObject(o, "status", wf_run_status_name(r->status));
  if (st) {
    char meta[32];
    add_str(o, "run_metadata_status",
            cli_run_metadata_status(r, meta, sizeof meta) ? meta : NULL);
  }
  add_time(o, "created_at", r->created_at);
  add_time(o, "started_at", r->started_at);
  add_time(o, "finished_at", r->finished_at);
  if (r->finished_at && r->started_at)
    cJSON_AddNumberToObject(o, "duration_s", (double)(r->finished_at - r->started_at) / 1000.0);
  else
    cJSON_AddNullToObject(o, "duration_s");
  cJSON_AddNumberToObject(o, "generation", r->generation);
  cJSON_AddStringToObject(o, "run_dir", r->run_dir);
  add_str(o, "definition_path", r->def_path[0] ? r->def_path : NULL);
  add_str(o, "definition_hash", r->def_hash[0] ? r->def_hash : NULL);
  add_str(o, "forked_from", r->forked_from);
  cJSON_AddItemToObject(o, "params", mp_json(r->params, r->params_len));
  cJSON *counts = cJSON_AddObjectToObject(o, "counts");
  for (int i = 0; i < WF_STEP_NSTATUS; i++)
    cJSON_AddNumberToObject(counts, wf_step_status_name(i), (double)r->counts[i]);
  cJSON_AddNumberToObject(o, "steps_done", (double)r->steps_done);
  if (r->steps_total || r->steps_total_known)
    cJSON_AddNumberToObject(o, "steps_total", (double)r->steps_total);
  else
    cJSON_AddNullToObject(o, "steps_total");
  cJSON_AddBoolToObject(o, "steps_total_known", r->steps_total_known);
  add_str(o, "error", r->error);
  if (r->owner.alive) {
    cJSON *ow = cJSON_AddObjectToObject(o, "owner");
    cJSON_AddNumberToObject(ow, "pid", r->owner.pid);
    cJSON_AddStringToObject(ow, "host", r->owner.host);
    cJSON_AddNumberToObject(ow, "heartbeat_age_s",
                            (double)(cli_now_ms() - r->owner.heartbeat) / 1000.0);
  } else {
    cJSON_AddNullToObject(o, "owner");
  }
  add_str(o, "only", r->only);
  add_str(o, "skip", r->skip);
  add_str(o, "start_from", r->start_from);
  add_str(o, "to", r->to);
  if (with_steps) {
    wf_run_progress *p = NULL;
    cli_progress_get(st, r->id, &p);
    if (p) cJSON_AddItemToObject(o, "stages", cli_stages_json(p));
    else cJSON_AddNullToObject(o, "stages");
    cJSON *steps = cJSON_AddArrayToObject(o, "steps");
    cli_steps_in_order(st, r, p, step_cb, steps);
    mark_kinds(steps, r->def_text);
    wf_run_progress_free(p);
  }
  if (with_events) {
    cJSON *events = cJSON_AddArrayToObject(o, "events");
    wf_events_list(st, r->id, 0, event_cb, events);
  }
  return o;
}
