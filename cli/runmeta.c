/* runmeta.c — run_metadata.json in a run's folder: what the run is and where it stands,
 * for people and tools that look at the folder rather than the store. Rewritten whenever
 * the CLI changes a run's status (start, resume, the end of an execution, cancel). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char *meta_status(const wf_run_info *r) {
  switch (r->status) {
  case WF_RUN_SUCCEEDED: return "completed";
  case WF_RUN_FAILED: return "failed";
  case WF_RUN_DEGRADED: return "degraded";
  case WF_RUN_CANCELED: return "cancelled";
  case WF_RUN_INTERRUPTED: return "interrupted";
  default: return "in_progress";
  }
}

struct stages_ctx {
  cJSON *done, *failed;
};

/* A stage's own record has the stage id as its key. */
static int stage_cb(void *ud, const wf_step_info *s) {
  struct stages_ctx *c = ud;
  if (strcmp(s->stage, s->key) != 0) return 0;
  if (s->status == WF_STEP_SUCCEEDED) cJSON_AddItemToArray(c->done, cJSON_CreateString(s->key));
  if (s->status == WF_STEP_FAILED) cJSON_AddItemToArray(c->failed, cJSON_CreateString(s->key));
  return 0;
}

/* The "metadata" object of the output of the definition's metadata_stage (a stage of one
 * step) once that step has succeeded, else NULL; *out holds the decoded output (the
 * caller deletes it). */
static cJSON *stage_metadata(wf_store *st, const wf_run_info *r, const cJSON *def,
                             cJSON **out) {
  const cJSON *stage = cJSON_GetObjectItemCaseSensitive(def, "metadata_stage");
  wf_step_info *s = NULL;
  cJSON *m = NULL;

  *out = NULL;
  if (!cJSON_IsString(stage) || wf_step_info_get(st, r->id, stage->valuestring, &s) != 0)
    return NULL;
  if (s->status == WF_STEP_SUCCEEDED && s->output &&
      wfa_mp_to_json(s->output, s->output_len, out) == 0)
    m = cJSON_GetObjectItemCaseSensitive(*out, "metadata");
  wf_step_info_free(s);
  return cJSON_IsObject(m) ? m : NULL;
}

/* The fields of the metadata_stage's "metadata"; a field the file already has keeps its
 * value. */
static void add_stage_fields(wf_store *st, const wf_run_info *r, const cJSON *def, cJSON *o) {
  cJSON *out, *m = stage_metadata(st, r, def, &out), *f;
  while (m && (f = m->child)) {
    cJSON_DetachItemViaPointer(m, f);
    if (cJSON_HasObjectItem(o, f->string)) cJSON_Delete(f);
    else cJSON_AddItemToObject(o, f->string, f);
  }
  cJSON_Delete(out);
}

cJSON *cli_run_warnings(wf_store *st, const wf_run_info *r) {
  cJSON *def = cJSON_Parse(r->def_text), *out;
  cJSON *m = stage_metadata(st, r, def, &out);
  cJSON *w = cJSON_DetachItemFromObjectCaseSensitive(m, "warning_messages");
  cJSON_Delete(out);
  cJSON_Delete(def);
  if (cJSON_IsArray(w)) return w;
  cJSON_Delete(w);
  return NULL;
}

static cJSON *build(wf_store *st, const wf_run_info *r) {
  cJSON *o = cJSON_CreateObject();
  char buf[WF_MAX_RUN_ID * 2 + 64], tm[40];
  cJSON_AddStringToObject(o, "run_id", r->id);
  snprintf(buf, sizeof buf, "%s-%s", r->workflow, r->id);
  cJSON_AddStringToObject(o, "workflow_id", buf);
  cJSON_AddStringToObject(o, "workflow", r->workflow);
  cli_time_iso(r->created_at, tm, sizeof tm);
  cJSON_AddStringToObject(o, "created_at", tm);
  cJSON_AddStringToObject(o, "status", meta_status(r));
  cJSON *def = cJSON_Parse(r->def_text);
  cJSON *ver = cJSON_GetObjectItemCaseSensitive(def, "version");
  if (cJSON_IsNumber(ver)) snprintf(buf, sizeof buf, "%d", ver->valueint);
  cJSON_AddStringToObject(o, "pipeline_version", cJSON_IsNumber(ver) ? buf : "");
  cJSON *params = NULL;
  if (!r->params || wfa_mp_to_json(r->params, r->params_len, &params) != 0 || !params)
    params = cJSON_CreateObject();
  cJSON_AddItemToObject(params, "start_from",
                        r->start_from ? cJSON_CreateString(r->start_from) : cJSON_CreateNull());
  cJSON_AddItemToObject(o, "parameters", params);
  cJSON *eng = cJSON_AddObjectToObject(o, "engine");
  cJSON_AddStringToObject(eng, "name", "wf");
  cJSON_AddStringToObject(eng, "version", WF_VERSION_STRING);
  cJSON_AddNumberToObject(eng, "generation", r->generation);
  cJSON_AddStringToObject(eng, "store", wf_store_home(st));
  if (r->owner.pid && r->status == WF_RUN_RUNNING) {
    cJSON_AddNumberToObject(eng, "owner_pid", r->owner.pid);
    cJSON_AddStringToObject(eng, "owner_host", r->owner.host);
  }
  struct stages_ctx sc = {cJSON_AddArrayToObject(o, "stages_completed"),
                          cJSON_AddArrayToObject(o, "stages_failed")};
  wf_steps_list(st, r->id, "", stage_cb, &sc);
  cli_time_iso(r->finished_at, tm, sizeof tm);
  if (tm[0]) cJSON_AddStringToObject(o, "completed_at", tm);
  else cJSON_AddNullToObject(o, "completed_at");
  if (r->error) cJSON_AddStringToObject(o, "error_message", r->error);
  else cJSON_AddNullToObject(o, "error_message");
  cJSON *counts = cJSON_AddObjectToObject(o, "step_counts");
  for (int i = 0; i < WF_STEP_NSTATUS; i++)
    cJSON_AddNumberToObject(counts, wf_step_status_name(i), (double)r->counts[i]);
  add_stage_fields(st, r, def, o);
  cJSON_Delete(def);
  return o;
}

int cli_run_metadata_status(const wf_run_info *r, char *buf, size_t cap) {
  char path[8192];
  snprintf(path, sizeof path, "%s/run_metadata.json", r->run_dir);
  buf[0] = '\0';
  FILE *f = fopen(path, "re");
  if (!f) return 0;
  char *text = NULL;
  size_t len = 0, n;
  char chunk[8192];
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    char *p = realloc(text, len + n + 1);
    if (!p) break;
    text = p;
    memcpy(text + len, chunk, n);
    len += n;
  }
  fclose(f);
  cJSON *j = text ? cJSON_ParseWithLength(text, len) : NULL;
  const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
  if (cJSON_IsString(st)) snprintf(buf, cap, "%s", st->valuestring);
  cJSON_Delete(j);
  free(text);
  return buf[0] != '\0';
}

void cli_write_run_metadata(wf_store *st, const char *run_id) {
  wf_run_info *r = NULL;
  cJSON *o = wf_run_info_get(st, run_id, &r) == 0 ? build(st, r) : NULL;
  char path[8192], tmp[8300];
  if (o) cli_json_make_utf8(o);
  char *text = o ? cJSON_Print(o) : NULL;
  if (text && (mkdir(r->run_dir, 0755) == 0 || errno == EEXIST)) {
    snprintf(path, sizeof path, "%s/run_metadata.json", r->run_dir);
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    FILE *f = fopen(tmp, "we");
    /* Written aside and renamed: a reader never sees half a file. */
    if (f) {
      int ok = fputs(text, f) >= 0 && fputc('\n', f) != EOF;
      ok = fclose(f) == 0 && ok;
      if (ok) rename(tmp, path);
      else unlink(tmp);
    }
  }
  free(text);
  cJSON_Delete(o);
  wf_run_info_free(r);
}
