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

#include "tf_builtins.h"
#include "tf_llm.h"
#include "tf_report.h"
#include "tf_util.h"
#include "wf/wf.h"
#include "wfact.h"

#define KEY "sk-test-secret-0123456789"

static char dir[] = "/tmp/wf-test-tf-llm-XXXXXX";
static char stub_log[600];
static pid_t stub_pid;
static wfi_result last;
static int done_calls;
static char *baseline_team, *baseline_person;

static void on_done(wfi_job *job, wfi_result *res) {
  (void)job;
  last = *res;
  done_calls++;
}

typedef struct killer {
  uv_timer_t timer;
  wfi_job *job;
  const wfi_activity *act;
} killer;

static void kill_cb(uv_timer_t *h) {
  killer *k = h->data;

  if (!done_calls)
    k->act->kill(NULL, k->job, WFI_KILL_CANCEL);
  uv_close((uv_handle_t *)h, NULL);
}

/* One attempt on its own loop; kill_after_ms > 0 kills it then. Output JSON or NULL. */
static cJSON *run_k(const wfi_activity *act, const char *input_json, int kill_after_ms) {
  cJSON *in = cJSON_Parse(input_json), *out = NULL;
  uv_loop_t loop;
  wfi_job job;
  killer k;

  assert_non_null(in);
  memset(&job, 0, sizeof job);
  uv_loop_init(&loop);
  job.loop = &loop;
  job.run_id = "run_test";
  job.step_key = act->name;
  job.run_dir = dir;
  job.attempt = 1;
  job.max_output = 1 << 20;
  job.on_done = on_done;
  assert_int_equal(wfa_json_to_mp_buf(in, (uint8_t **)&job.input, &job.input_len), 0);
  cJSON_Delete(in);
  done_calls = 0;
  memset(&last, 0, sizeof last);
  if (kill_after_ms > 0) {
    k.job = &job;
    k.act = act;
    uv_timer_init(&loop, &k.timer);
    k.timer.data = &k;
    uv_timer_start(&k.timer, kill_cb, (uint64_t)kill_after_ms, 0);
  }
  act->start(NULL, &job);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&loop), 0);
  assert_int_equal(done_calls, 1);
  free((void *)job.input);
  if (last.ok)
    assert_int_equal(wfa_mp_to_json(last.output, last.output_len, &out), 0);
  free(last.output);
  last.output = NULL;
  return out;
}

static cJSON *run(const wfi_activity *act, const char *input_json) {
  return run_k(act, input_json, 0);
}

static char *slurp_path(const char *path) {
  char *buf;
  FILE *f;
  long n;

  if (!(f = fopen(path, "rb")))
    return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  rewind(f);
  buf = calloc((size_t)n + 1, 1);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  return buf;
}

static char *slurp(const char *rel) {
  char path[1024], *s;

  snprintf(path, sizeof path, "%s/%s", dir, rel);
  if (!(s = slurp_path(path)))
    fail_msg("%s was not written", rel);
  return s;
}

static void stub_start(const char *script) {
  char exe[512], bin[600], spath[600], pfile[600];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  char *slash;
  FILE *f;
  int port = 0, i;

  assert_true(n > 0);
  exe[n] = 0;
  assert_non_null(slash = strrchr(exe, '/'));
  *slash = 0;
  snprintf(bin, sizeof bin, "%s/stubs/wf-stub-http", exe);
  snprintf(spath, sizeof spath, "%s/tf_llm/%s", WF_TEST_DATA, script);
  snprintf(pfile, sizeof pfile, "%s/port", dir);
  snprintf(stub_log, sizeof stub_log, "%s/requests.jsonl", dir);
  unlink(pfile);
  unlink(stub_log);
  stub_pid = fork();
  assert_true(stub_pid >= 0);
  if (!stub_pid) {
    execl(bin, bin, "--script", spath, "--port-file", pfile, "--log", stub_log,
          "--max-seconds", "60", (char *)NULL);
    _exit(127);
  }
  for (i = 0; i < 500 && !port; i++) {
    if ((f = fopen(pfile, "r"))) {
      if (fscanf(f, "%d", &port) != 1)
        port = 0;
      fclose(f);
    }
    if (!port)
      nanosleep(&(struct timespec){0, 10000000}, NULL);
  }
  assert_true(port > 0);
  snprintf(bin, sizeof bin, "http://127.0.0.1:%d/v1", port);
  setenv("WF_LLM_BASE", bin, 1);
  setenv("WF_LLM_API_KEY", KEY, 1);
  setenv("WF_LLM_MODEL", "test-model", 1);
}

static void stub_stop(void) {
  int st;

  if (stub_pid > 0) {
    kill(stub_pid, SIGTERM);
    waitpid(stub_pid, &st, 0);
    stub_pid = 0;
  }
  unsetenv("WF_LLM_BASE");
  unsetenv("WF_LLM_API_KEY");
  unsetenv("WF_LLM_MODEL");
}

static cJSON *stub_requests(void) {
  FILE *f = fopen(stub_log, "r");
  char line[1 << 16];
  cJSON *arr = cJSON_CreateArray();

  if (!f)
    return arr;
  while (fgets(line, sizeof line, f))
    cJSON_AddItemToArray(arr, cJSON_Parse(line));
  fclose(f);
  return arr;
}

/* The fixtures of test_tf_builtins.c. */
static const char *const fetch_inputs =
    "{\"params\": {\"start_date\": \"2025-03-03\", \"end_date\": \"2025-03-03\"},"
    " \"with\": {},"
    " \"inputs\": {\"users\": {\"1\": \"ana@example.com\"},"
    "  \"fetch\": {\"2025-03-03\": {\"date\": \"2025-03-03\", \"report_timezone\": \"Z\","
    "   \"requests\": 1, \"pages\": 1, \"skipped\": {\"running\": 0, \"duplicates\": 0},"
    "   \"entries\": ["
    "    {\"id\": 1, \"user_id\": 1, \"username\": \"Ana\", \"description\": \"Fix #7 "
    "[Scrum] [Task]\","
    "     \"start\": \"2025-03-03T09:00:00Z\", \"stop\": \"2025-03-03T11:00:00Z\", "
    "\"duration\": 7200},"
    "    {\"id\": 2, \"user_id\": 1, \"username\": \"Ana\", \"description\": \"Sync\","
    "     \"start\": \"2025-03-03T12:00:00Z\", \"stop\": \"2025-03-03T12:30:00Z\", "
    "\"duration\": 1800},"
    "    {\"id\": 3, \"user_id\": 1, \"username\": \"Ana\", \"description\": \"Old #8 "
    "[Scrum] [Bug]\","
    "     \"start\": \"2025-03-03T13:00:00Z\", \"stop\": \"2025-03-03T13:30:00Z\", "
    "\"duration\": 1800}"
    "   ]}}}}";

static const char *const enrich_inputs =
    "{\"inputs\": {\"enrich\": {"
    " \"Scrum/Task/1\": {\"type\": \"Scrum/Task\", \"requests\": 1, \"entities\": "
    "{\"Scrum/Task#7\":"
    "  {\"status\": \"ok\", \"name\": \"Fix the thing\", \"state\": \"Done\","
    "   \"url\": \"https://acme.fibery.io/Scrum/Task/7\", \"description_md\": \"Line one\","
    "   \"fields\": {\"planned_end\": \"2025-03-01\","
    "    \"feature\": {\"fibery/public-id\": \"9\", \"Scrum/name\": \"Checkout\"}}}}},"
    " \"Scrum/Bug/1\": {\"type\": \"Scrum/Bug\", \"requests\": 1, \"entities\": "
    "{\"Scrum/Bug#8\":"
    "  {\"status\": \"not_found\"}}}}}}";

#define PERSON_MD "reports/individual/ana@example.com.md"
#define TEAM_MD "reports/team_summary.md"

static int setup(void **state) {
  cJSON *out;

  (void)state;
  unsetenv("WF_LLM_BASE");
  unsetenv("WF_LLM_API_KEY");
  unsetenv("WF_LLM_MODEL");
  if (!mkdtemp(dir))
    return -1;
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
  stub_stop();
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
  assert_int_equal(tf_read_json(dir, TF_AGG_FILE, &agg), 0);
  assert_int_equal(tf_read_json(dir, TF_ENRICHED_FILE, &enr), 0);
  assert_int_equal(tf_report_team(agg, enr, NULL, &direct), 0);
  assert_string_equal(direct, baseline_team);
  free(direct);
  assert_int_equal(tf_report_person(agg, enr, "ana@example.com", NULL, &direct), 0);
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
  stub_start("ok.routes.json");
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
  assert_non_null(strstr(md, "| Sync | 0.50 | 1 | ana@example.com |"));
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
  stub_stop();
}

static void test_endpoint_fails(void **state) {
  cJSON *out;
  char *md;

  (void)state;
  stub_start("fail.routes.json");
  out = run(&wfa_tf_report_team, "{}");
  assert_non_null(out); /* the step succeeds */
  assert_int_equal(tf_jint(out, "summaries_unavailable"), 1);
  cJSON_Delete(out);
  md = slurp(TEAM_MD);
  assert_null(strstr(md, "## Summary (generated)"));
  assert_non_null(strstr(md, "_Summary unavailable: HTTP 500._"));
  assert_null(strstr(md, "overloaded"));
  assert_non_null(strstr(md, "| Sync | 0.50 | 1 | ana@example.com |"));
  free(md);
  assert_no_secret(TEAM_MD);

  out = run(&wfa_tf_report_people, "{}");
  assert_non_null(out);
  cJSON_Delete(out);
  md = slurp(PERSON_MD);
  assert_null(strstr(md, "## Summary (generated)"));
  assert_non_null(strstr(md, "_Summary unavailable: HTTP 500._"));
  free(md);
  stub_stop();

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
  stub_start("slow.routes.json");
  clock_gettime(CLOCK_MONOTONIC, &a);
  out = run_k(&wfa_tf_report_team, "{}", 200);
  clock_gettime(CLOCK_MONOTONIC, &b);
  assert_null(out);
  assert_false(last.ok);
  assert_non_null(strstr(last.error, "killed"));
  free(last.error);
  assert_true(b.tv_sec - a.tv_sec < 10);
  stub_stop();
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
