/* test_tf_builtins.c — the toggl-fibery built-in activities end to end over a scratch run
 * directory: fetch outputs -> aggregate -> extract -> reports, and missing inputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../assert_wf.h"
#include "tf_builtins.h"
#include "tf_util.h"
#include "wf/wf.h"
#include "wfact.h"

#include "tf_fixtures.h"

static char run_dir[512], empty_dir[512];

static int setup(void **state) {
  const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

  (void)state;
  unsetenv("WF_LLM_BASE"); /* the reports without summaries */
  act_dir = run_dir;
  snprintf(run_dir, sizeof run_dir, "%.400s/wf-tf-XXXXXX", tmp);
  snprintf(empty_dir, sizeof empty_dir, "%.400s/wf-tf-XXXXXX", tmp);
  return mkdtemp(run_dir) && mkdtemp(empty_dir) ? 0 : -1;
}

static int teardown(void **state) {
  char cmd[1100];

  (void)state;
  snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", run_dir, empty_dir);
  return system(cmd);
}

static void test_pipeline(void **state) {
  cJSON *out, *enr;
  char *md;

  (void)state;
  out = run(&wfa_tf_aggregate, fetch_inputs);
  assert_non_null(out);
  assert_int_equal(tf_jint(out, "persons"), 1);
  assert_int_equal(tf_jint(out, "entries"), 3);
  assert_int_equal(tf_jint(out, "references"), 2);
  assert_int_equal(tf_jint(out, "total_seconds"), 10800);
  assert_string_equal(tf_jstr(out, "aggregated"), "toggl_aggregated.json");
  cJSON_Delete(out);
  free(slurp("raw_toggl_data.json"));

  out = run(&wfa_tf_extract, "{}");
  assert_non_null(out);
  assert_int_equal(tf_jint(out, "types"), 2);
  assert_int_equal(tf_jint(out, "ids"), 2);
  assert_string_equal(cJSON_GetObjectItem(out, "by_type")->child->string, "Scrum/Bug");
  cJSON_Delete(out);

  out = run(&wfa_tf_report_toggl, "{}");
  assert_non_null(out);
  cJSON_Delete(out);
  md = slurp("reports/toggl_summary.md");
  assert_non_null(strstr(md, "| Total hours | 3.00 |"));
  free(md);

  out = run(&wfa_tf_report_people, enrich_inputs);
  assert_non_null(out);
  assert_true(tf_jbool(out, "enriched"));
  assert_int_equal(tf_jint(out, "ok"), 1);
  assert_int_equal(tf_jint(out, "not_found"), 1);
  assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(out, "files"), 0)->valuestring,
                      PERSON_MD);
  cJSON_Delete(out);
  assert_wf_ok(tf_read_json(run_dir, "enriched_data.json", &enr));
  assert_string_equal(
      tf_jstr(cJSON_GetArrayItem(cJSON_GetObjectItem(enr, "enriched_entities"), 0),
              "entity_key"),
      "Scrum/Bug#8");
  cJSON_Delete(enr);
  md = slurp(PERSON_MD);
  assert_non_null(
      strstr(md, "| [#7](https://acme.fibery.io/Scrum/Task/7) | Fix the thing | Done |"));
  assert_non_null(strstr(md, "parent: Checkout"));
  /* done, so not overdue although the planned end is before the period end */
  assert_null(strstr(md, "overdue"));
  assert_non_null(strstr(md, "| Scrum/Bug#8 | Old | 0.50 | not found |"));
  free(md);

  out = run(&wfa_tf_report_team, "{}");
  assert_non_null(out);
  assert_true(tf_jbool(out, "enriched"));
  cJSON_Delete(out);
  md = slurp(TEAM_MD);
  assert_non_null(strstr(md, "[Ana](individual/ana@example.com.md)"));
  assert_non_null(strstr(md, "| Sync | 0.50 | 1 | Ana |"));
  free(md);
}

/* Runs after test_pipeline: raw_toggl_data.json is in the run directory. */
static void test_aliases_from_config(void **state) {
  cJSON *out, *agg;

  (void)state;
  out = run(&wfa_tf_aggregate, "{\"with\": {\"config\": {\"aliases\": [{\"tags\": "
                               "[\"Scrum\", \"Bug\"], \"type\": \"Scrum/Defect\"}]}}}");
  assert_non_null(out);
  /* Scrum/Task is no longer an alias: unresolved; the bug pair maps to Scrum/Defect */
  assert_int_equal(tf_jint(out, "unresolved"), 1);
  cJSON_Delete(out);
  assert_wf_ok(tf_read_json(run_dir, "toggl_aggregated.json", &agg));
  {
    const cJSON *refs = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(agg, "users"), "ana@example.com"),
        "matched_entities");
    const cJSON *r;
    int defect = 0;

    cJSON_ArrayForEach(r, refs) defect |=
        !strcmp(tf_jstr(r, "entity_key"), "Scrum/Defect#8");
    assert_true(defect);
  }
  cJSON_Delete(agg);
  /* run_metadata.json's references: the distinct keys, an unresolved one counted once */
  out = run(&wfa_tf_report_team, "{}");
  assert_non_null(out);
  assert_int_equal(tf_jint(cJSON_GetObjectItem(cJSON_GetObjectItem(out, "metadata"), "counts"),
                           "references"),
                   2);
  const cJSON *meta = cJSON_GetObjectItem(out, "metadata");
  const cJSON *msgs = cJSON_GetObjectItem(meta, "warning_messages");
  assert_true(cJSON_IsArray(msgs));
  assert_int_equal(tf_jint(meta, "warnings"), cJSON_GetArraySize(msgs));
  cJSON_Delete(out);
  out = run(&wfa_tf_aggregate, "{\"with\": {\"config\": {\"aliases\": [{\"tags\": []}]}}}");
  assert_null(out);
  assert_false(last.retryable);
  assert_non_null(strstr(last.error, "aliases"));
  free(last.error);
}

static void test_missing_inputs(void **state) {
  cJSON *out;

  (void)state;
  act_dir = empty_dir;
  out = run(&wfa_tf_report_toggl, "{}");
  assert_null(out);
  assert_false(last.ok);
  assert_false(last.retryable);
  assert_non_null(strstr(last.error, "toggl_aggregated.json is missing"));
  free(last.error);
  out = run(&wfa_tf_aggregate, "{\"with\": {}}");
  assert_null(out);
  assert_non_null(strstr(last.error, "raw_toggl_data.json is missing"));
  free(last.error);
  out = run(&wfa_tf_extract, "[1]");
  assert_null(out);
  free(last.error);
  act_dir = run_dir;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pipeline),
      cmocka_unit_test(test_aliases_from_config),
      cmocka_unit_test(test_missing_inputs),
  };

  return cmocka_run_group_tests(tests, setup, teardown);
}
