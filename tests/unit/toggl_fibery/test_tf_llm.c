/* test_tf_llm.c — optional LLM summaries in tf.report_team / tf.report_people (DOMAIN
 * §8.3) against wf-stub-http: the summary section, the request, a failing endpoint, a
 * kill while waiting, and the default (WF_LLM_BASE unset) output unchanged. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "../assert_wf.h"
#include "tf_builtins.h"
#include "tf_llm.h"
#include "tf_report.h"
#include "tf_util.h"
#include "wf/wf.h"
#include "wfact.h"

#define KEY "sk-test-secret-0123456789"

#define TFH_NAME "tf-llm"
#include "tf_harness.h"
#include "tf_fixtures.h"

static char *baseline_team, *baseline_person;

/* Serve a script of tests/data/tf_llm as the language model API. */
static void llm_start(const char *script) {
  stub_serve("tf_llm", script, "WF_LLM_BASE", "v1");
  setenv("WF_LLM_API_KEY", KEY, 1);
  setenv("WF_LLM_MODEL", "test-model", 1);
}

/* Stop the stub, if any, and unset the language model API. */
static void llm_stop(void) {
  stub_stop();
  unsetenv("WF_LLM_BASE");
  unsetenv("WF_LLM_API_KEY");
  unsetenv("WF_LLM_MODEL");
}

static int setup(void **state) {
  cJSON *out;

  (void)state;
  llm_stop(); /* the caller's language model settings do not count */
  if (!mkdtemp(dir))
    return -1;
  act_dir = dir;
  out = run(&wfa_tf_aggregate, fetch_inputs);
  if (!out)
    return -1;
  cJSON_Delete(out);
  if (!(out = run(&wfa_tf_extract, "{}")))
    return -1;
  cJSON_Delete(out);
  if (!(out = run(&wfa_tf_report_people, enrich_inputs)))
    return -1;
  cJSON_Delete(out);
  if (!(out = run(&wfa_tf_report_team, "{}")))
    return -1;
  cJSON_Delete(out);
  baseline_person = slurp(PERSON_MD);
  baseline_team = slurp(TEAM_MD);
  return 0;
}

static int teardown(void **state) {
  char cmd[700];

  (void)state;
  llm_stop();
  free(baseline_person);
  free(baseline_team);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* Unset: the files are exactly what the report generator gives, and no request. */
static void test_unset_unchanged(void **state) {
  cJSON *agg, *enr, *out;
  char *md, *direct;

  (void)state;
  assert_false(tf_llm_enabled());
  assert_wf_ok(tf_read_json(dir, TF_AGG_FILE, &agg));
  assert_wf_ok(tf_read_json(dir, TF_ENRICHED_FILE, &enr));
  assert_wf_ok(tf_report_team(agg, enr, NULL, &direct));
  assert_string_equal(direct, baseline_team);
  free(direct);
  assert_wf_ok(tf_report_person(agg, enr, "ana@example.com", NULL, &direct));
  assert_string_equal(direct, baseline_person);
  free(direct);
  cJSON_Delete(agg);
  cJSON_Delete(enr);
  out = run(&wfa_tf_report_team, "{}");
  assert_non_null(out);
  assert_null(cJSON_GetObjectItem(out, "summaries_unavailable"));
  cJSON_Delete(out);
  md = slurp(TEAM_MD);
  assert_string_equal(md, baseline_team);
  assert_null(strstr(md, "Summary"));
  free(md);
}

static void assert_no_secret(const char *rel) {
  char *md = slurp(rel);

  assert_null(strstr(md, KEY));
  assert_null(strstr(md, "Bearer"));
  free(md);
}

static void test_summary(void **state) {
  cJSON *out, *reqs, *r, *body;
  const cJSON *msgs;
  char *md, *sec, *log;

  (void)state;
  llm_start("ok.routes.json");
  out = run(&wfa_tf_report_team, "{}");
  assert_non_null(out);
  assert_string_equal(tf_jstr(out, "path"), TEAM_MD);
  assert_null(cJSON_GetObjectItem(out, "summaries_unavailable"));
  cJSON_Delete(out);
  md = slurp(TEAM_MD);
  assert_non_null(sec = strstr(md, "## Summary (generated)\n"));
  assert_non_null(strstr(sec, "language model (test-model)"));
  assert_non_null(
      strstr(sec, "\n\nAna spent most of the day fixing the checkout task.\n\n"));
  /* every computed line is still there */
  assert_non_null(strstr(md, "[Ana](individual/ana@example.com.md)"));
  assert_non_null(strstr(md, "| Sync | 0.50 | 1 | Ana |"));
  free(md);
  assert_no_secret(TEAM_MD);

  reqs = stub_requests();
  assert_int_equal(cJSON_GetArraySize(reqs), 1);
  r = cJSON_GetArrayItem(reqs, 0);
  assert_string_equal(tf_jstr(r, "method"), "POST");
  assert_string_equal(tf_jstr(r, "path"), "/v1/chat/completions");
  assert_string_equal(tf_jstr(cJSON_GetObjectItem(r, "headers"), "authorization"),
                      "Bearer " KEY);
  body = cJSON_Parse(tf_jstr(r, "body"));
  assert_non_null(body);
  assert_string_equal(tf_jstr(body, "model"), "test-model");
  assert_true(cJSON_GetObjectItem(body, "temperature")->valuedouble == 0.2);
  msgs = cJSON_GetObjectItem(body, "messages");
  assert_int_equal(cJSON_GetArraySize(msgs), 2);
  assert_string_equal(tf_jstr(cJSON_GetArrayItem(msgs, 0), "role"), "system");
  assert_string_equal(tf_jstr(cJSON_GetArrayItem(msgs, 1), "role"), "user");
  /* the facts, without e-mail addresses */
  assert_non_null(strstr(tf_jstr(cJSON_GetArrayItem(msgs, 1), "content"), "Sync"));
  assert_null(strstr(tf_jstr(cJSON_GetArrayItem(msgs, 1), "content"), "@example.com"));
  cJSON_Delete(body);
  cJSON_Delete(reqs);

  out = run(&wfa_tf_report_people, "{}");
  assert_non_null(out);
  assert_int_equal(tf_jint(out, "persons"), 1);
  assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(out, "files"), 0)->valuestring,
                      PERSON_MD);
  cJSON_Delete(out);
  md = slurp(PERSON_MD);
  assert_non_null(strstr(md, "## Summary (generated)\n"));
  assert_non_null(strstr(md, "Ana spent most of the day"));
  assert_non_null(
      strstr(md, "| [#7](https://acme.fibery.io/Scrum/Task/7) | Fix the thing | Done |"));
  free(md);
  assert_no_secret(PERSON_MD);
  /* nothing else in the run directory carries the key either */
  log = slurp(TF_AGG_FILE);
  assert_null(strstr(log, KEY));
  free(log);
  llm_stop();
}

static void test_endpoint_fails(void **state) {
  cJSON *out;
  char *md;

  (void)state;
  llm_start("fail.routes.json");
  out = run(&wfa_tf_report_team, "{}");
  assert_non_null(out); /* the step succeeds */
  assert_int_equal(tf_jint(out, "summaries_unavailable"), 1);
  cJSON_Delete(out);
  md = slurp(TEAM_MD);
  assert_null(strstr(md, "## Summary (generated)"));
  assert_non_null(strstr(md, "_Summary unavailable: HTTP 500._"));
  assert_null(strstr(md, "overloaded"));
  assert_non_null(strstr(md, "| Sync | 0.50 | 1 | Ana |"));
  free(md);
  assert_no_secret(TEAM_MD);

  out = run(&wfa_tf_report_people, "{}");
  assert_non_null(out);
  cJSON_Delete(out);
  md = slurp(PERSON_MD);
  assert_null(strstr(md, "## Summary (generated)"));
  assert_non_null(strstr(md, "_Summary unavailable: HTTP 500._"));
  free(md);
  llm_stop();

  /* nothing listening: the same */
  setenv("WF_LLM_BASE", "http://127.0.0.1:1/v1", 1);
  out = run(&wfa_tf_report_team, "{}");
  assert_non_null(out);
  cJSON_Delete(out);
  md = slurp(TEAM_MD);
  assert_non_null(strstr(md, "_Summary unavailable: "));
  free(md);
  unsetenv("WF_LLM_BASE");
}

/* A kill while the call is in flight cancels it and still completes the job. */
static void test_kill(void **state) {
  struct timespec a, b;
  cJSON *out;

  (void)state;
  llm_start("slow.routes.json");
  clock_gettime(CLOCK_MONOTONIC, &a);
  out = run_k(&wfa_tf_report_team, "{}", 200);
  clock_gettime(CLOCK_MONOTONIC, &b);
  assert_null(out);
  assert_false(last.ok);
  assert_non_null(strstr(last.error, "killed"));
  free(last.error);
  assert_true(b.tv_sec - a.tv_sec < 10);
  llm_stop();
}

static void test_helpers(void **state) {
  char *s;

  (void)state;
  s = tf_llm_facts("# T\n\n| a  b | c@d.io |\n|---|---|\nmail x.y+z@ex-ample.org.\n");
  assert_string_equal(s, "# T\n| a b | [email] |\nmail [email]\n");
  free(s);
  assert_null(tf_llm_parse("{\"choices\": []}"));
  assert_null(tf_llm_parse("not json"));
  s = tf_llm_insert("# T\n\nbody\n", "Hi.", "m", NULL);
  assert_string_equal(s, "# T\n\nbody\n\n## Summary (generated)\n\n_Generated by a "
                         "language model (m) from the figures below; the tables are "
                         "computed from the data._\n\nHi.\n\n");
  free(s);
  s = tf_llm_insert("# T\n\n## A\nx\n", NULL, "m", "HTTP 500");
  assert_string_equal(s, "# T\n\n_Summary unavailable: HTTP 500._\n\n## A\nx\n");
  free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_helpers),
      cmocka_unit_test(test_unset_unchanged),
      cmocka_unit_test(test_summary),
      cmocka_unit_test(test_endpoint_fails),
      cmocka_unit_test(test_kill),
      cmocka_unit_test(test_unset_unchanged),
  };

  return cmocka_run_group_tests(tests, setup, teardown);
}
