/* reuse.c — what an existing run has recorded, stage by stage: for start --dry-run, and
 * for the line a resume or a restart (--start-from) prints before it executes: how many
 * recorded steps it reuses and how many it runs. */
#include <string.h>

#include "cli.h"

int cli_count_recorded(void *ud, const wf_step_info *s) {
  if (s->status != WF_STEP_SUCCEEDED || !s->stage[0]) return 0;
  cJSON *c = cJSON_GetObjectItemCaseSensitive(ud, s->stage);
  if (!c) {
    c = cJSON_AddArrayToObject(ud, s->stage);
    cJSON_AddItemToArray(c, cJSON_CreateNumber(0));
    cJSON_AddItemToArray(c, cJSON_CreateNumber(0));
  }
  if (!c) return 0;
  cJSON *n = cJSON_GetArrayItem(c, strcmp(s->key, s->stage) == 0 ? 0 : 1);
  if (n) cJSON_SetNumberValue(n, n->valuedouble + 1);
  return 0;
}

/* The number of steps of stage `id` in report p, when it knows it. */
static int total_of(const wf_run_progress *p, const char *id, double *total) {
  for (size_t i = 0; p && i < p->nstages; i++)
    if (strcmp(p->stages[i].id, id) == 0 && p->stages[i].total_known) {
      *total = (double)p->stages[i].total;
      return 1;
    }
  return 0;
}

void cli_print_reuse(FILE *out, wf_store *st, const char *run_id, const wfw_plan *plan) {
  cJSON *recorded = cJSON_CreateObject();
  wf_run_progress *last = NULL; /* of the execution before this one */
  if (!recorded || wf_steps_list(st, run_id, "", cli_count_recorded, recorded) != 0) {
    cJSON_Delete(recorded);
    return;
  }
  cli_progress_get(st, run_id, &last);
  double reused = 0, to_run = 0;
  const char *unknown = NULL;
  for (uint32_t i = 0; i < wfw_plan_nstages(plan); i++) {
    wfw_plan_stage_info s;
    wfw_plan_stage(plan, i, &s);
    if (!s.selected) continue;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(recorded, s.id);
    double own = c ? cJSON_GetArrayItem(c, 0)->valuedouble : 0;
    double items = c ? cJSON_GetArrayItem(c, 1)->valuedouble : 0;
    double total = 1, reuse = s.rerun ? 0 : s.fanout ? items : own;
    if (s.fanout && !total_of(last, s.id, &total)) {
      if (!own || s.rerun) {
        unknown = unknown ? unknown : s.id;
        reused += reuse;
        continue;
      }
      total = items; /* the stage succeeded whole: every item is recorded */
    }
    reused += reuse;
    to_run += total > reuse ? total - reuse : 0;
  }
  if (unknown)
    fprintf(out, "reusing %.0f recorded step%s; at least %.0f to run (the list of %s is not "
                 "known yet)\n", reused, reused == 1 ? "" : "s", to_run, unknown);
  else
    fprintf(out, "reusing %.0f recorded step%s; %.0f to run\n", reused, reused == 1 ? "" : "s",
            to_run);
  wf_run_progress_free(last);
  cJSON_Delete(recorded);
}
