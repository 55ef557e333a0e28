/* tf_fixtures.h — what the tests of the toggl-fibery built-in activities share: one day
 * of fetch output and the enrich output for it (Ana, three entries), running one attempt
 * of an activity on a uv loop, and reading what it wrote. Included by one test file each,
 * after cmocka; the includer points act_dir at the run directory. */
#ifndef WF_TF_FIXTURES_H
#define WF_TF_FIXTURES_H

#include <uv.h>

#include "tf_llm.h"
#include "wfact.h"

#define PERSON_MD "reports/individual/ana@example.com.md"
#define TEAM_MD "reports/team_summary.md"

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

/* The run directory the activities run in and slurp reads. */
static const char *act_dir;
/* The last attempt's result and how often on_done was called for it. */
static wfi_result last;
static int done_calls;

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

/* Run one attempt of act on its own loop with the step input given as JSON; with
 * kill_after_ms > 0 kill it then. Returns the output as JSON (NULL when the step failed;
 * the message is then in last.error). */
static cJSON *run_k(const wfi_activity *act, const char *input_json, int kill_after_ms) {
  cJSON *in = cJSON_Parse(input_json), *out = NULL;
  uint8_t *input;
  uv_loop_t loop;
  wfi_job job;
  killer k;

  assert_non_null(in);
  memset(&job, 0, sizeof job);
  uv_loop_init(&loop);
  job.loop = &loop;
  job.run_id = "run_test";
  job.step_key = act->name;
  job.run_dir = act_dir;
  job.attempt = 1;
  job.max_output = 1 << 20;
  job.on_done = on_done;
  assert_int_equal(wfa_json_to_mp_buf(in, &input, &job.input_len), 0);
  job.input = input;
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
  if (!tf_llm_enabled()) /* no summary to wait for: done within start */
    assert_int_equal(done_calls, 1);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&loop), 0);
  assert_int_equal(done_calls, 1);
  free(input);
  if (last.ok)
    assert_int_equal(wfa_mp_to_json(last.output, last.output_len, &out), 0);
  free(last.output);
  last.output = NULL;
  return out;
}

static cJSON *run(const wfi_activity *act, const char *input_json) {
  return run_k(act, input_json, 0);
}

/* The file rel of the run directory, malloc'd; fails the test when it is not there. */
static char *slurp(const char *rel) {
  char path[1024], *buf;
  FILE *f;
  long n;

  snprintf(path, sizeof path, "%s/%s", act_dir, rel);
  if (!(f = fopen(path, "rb")))
    fail_msg("%s was not written", rel);
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  rewind(f);
  buf = calloc((size_t)n + 1, 1);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  return buf;
}

#endif
