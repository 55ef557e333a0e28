/* test_tf_toggl.c — the Toggl client: search bodies, paging headers, users and rows
 * offline; then toggl.users and toggl.fetch_day against wf-stub-http (paging, 429 with
 * Retry-After, 402 over the wait ceiling, bad token, user_ids, malformed headers, kill).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../assert_wf.h"
#include "tf_api.h"
#include "tf_toggl.h"
#include "wf/wf.h"
#include "wfact.h"

#define TOKEN "tok-secret-1234"

#define TFH_NAME "tftoggl"
#define TFH_BASE_ENV "TOGGL_API_BASE"
#define TFH_TOKEN_ENV "TOGGL_API_TOKEN"
#define TFH_WORKSPACE_ENV "TOGGL_WORKSPACE_ID"
#define TFH_WORKSPACE "4242"
#define TFH_ACTIVITY wfa_toggl_fetch_day
#define TFH_STAGE "fetch"
#define TFH_STEP_KEY "fetch/2025-03-03"
#include "tf_harness.h"

static void test_search_body(void **state) {
  int64_t ids[] = {101, 202};
  tf_toggl_query q = {"2025-03-03", 50, NULL, 0};
  tf_toggl_cursor c;
  const char *bad;
  char *b1, *b2;
  size_t n1, n2;

  (void)state;
  assert_wf_ok(tf_toggl_search_body(&q, NULL, &b1, &n1));
  assert_string_equal(b1, "{\"start_date\":\"2025-03-03\",\"end_date\":\"2025-03-03\",\"page_size\":50}");
  assert_int_equal(n1, strlen(b1));
  free(b1);
  q.user_ids = ids;
  q.nuser_ids = 2;
  assert_int_equal(tf_toggl_next_cursor("77", "51", NULL, &c, &bad), 1);
  assert_wf_ok(tf_toggl_search_body(&q, &c, &b1, &n1));
  assert_wf_ok(tf_toggl_search_body(&q, &c, &b2, &n2));
  assert_string_equal(b1, "{\"start_date\":\"2025-03-03\",\"end_date\":\"2025-03-03\","
                          "\"user_ids\":[101,202],\"page_size\":50,\"first_id\":77,"
                          "\"first_row_number\":51}");
  assert_int_equal(n1, n2);
  assert_memory_equal(b1, b2, n1);
  free(b1);
  free(b2);
  strcpy(q.date, "2025-02-29");
  assert_wf_err(tf_toggl_search_body(&q, NULL, &b1, &n1), WF_EINVAL);
  assert_null(b1);
}

static void test_next_cursor(void **state) {
  tf_toggl_cursor c;
  const char *bad;

  (void)state;
  assert_int_equal(tf_toggl_next_cursor(NULL, NULL, NULL, &c, &bad), 0);
  /* X-Next-ID alone does not continue: the row number drives paging */
  assert_int_equal(tf_toggl_next_cursor("5", NULL, NULL, &c, &bad), 0);
  assert_int_equal(tf_toggl_next_cursor(NULL, "101", "1740999600", &c, &bad), 1);
  assert_false(c.has_id);
  assert_true(c.has_ts);
  assert_int_equal(c.first_row_number, 101);
  assert_int_equal(c.first_timestamp, 1740999600);
  assert_wf_err(tf_toggl_next_cursor("12a", "3", NULL, &c, &bad), WF_EINVAL);
  assert_string_equal(bad, "X-Next-ID");
  assert_wf_err(tf_toggl_next_cursor(NULL, "-3", NULL, &c, &bad), WF_EINVAL);
  assert_string_equal(bad, "X-Next-Row-Number");
  assert_wf_err(tf_toggl_next_cursor(NULL, "99999999999999999999", NULL, &c, &bad), WF_EINVAL);
  assert_wf_err(tf_toggl_next_cursor(NULL, "3", "", &c, &bad), WF_EINVAL);
  assert_string_equal(bad, "X-Next-Timestamp");
}

static void test_users_and_matching(void **state) {
  const char *body = "[{\"id\":101,\"email\":\"Ana@Example.COM\",\"fullname\":\"Ana Lima\"},"
                     "{\"id\":202,\"email\":\"bo@example.com\"},"
                     "{\"id\":3},{\"id\":1.5,\"email\":\"x@y\"},\"junk\"]";
  cJSON *map, *emails;
  int64_t *ids;
  size_t n;
  char *unknown, *txt;

  (void)state;
  assert_wf_ok(tf_toggl_users_parse(body, strlen(body), &map));
  txt = cJSON_PrintUnformatted(map);
  assert_string_equal(txt, "{\"101\":{\"email\":\"ana@example.com\",\"name\":\"Ana Lima\"},"
                           "\"202\":{\"email\":\"bo@example.com\",\"name\":null}}");
  free(txt);
  assert_string_equal(tf_toggl_user_name(cJSON_GetObjectItem(map, "101")), "Ana Lima");
  assert_null(tf_toggl_user_name(cJSON_GetObjectItem(map, "202")));
  assert_string_equal(tf_toggl_user_email(cJSON_GetObjectItem(map, "202")), "bo@example.com");
  assert_wf_err(tf_toggl_users_parse("{}", 2, &emails), WF_EINVAL);
  assert_wf_err(tf_toggl_users_parse("[1,", 3, &emails), WF_EINVAL);

  emails = cJSON_CreateString(" BO@example.com, ana@EXAMPLE.com ,bo@example.com");
  assert_wf_ok(tf_toggl_match_users(emails, map, &ids, &n, &unknown));
  assert_int_equal(n, 2);
  assert_int_equal(ids[0], 101);
  assert_int_equal(ids[1], 202);
  assert_null(unknown);
  free(ids);
  cJSON_Delete(emails);
  emails = cJSON_Parse("[\"ana@example.com\", \"Zed@Example.com\", \"q@x\"]");
  assert_wf_ok(tf_toggl_match_users(emails, map, &ids, &n, &unknown));
  assert_int_equal(n, 1);
  assert_string_equal(unknown, "zed@example.com, q@x");
  free(ids);
  free(unknown);
  cJSON_Delete(emails);
  emails = cJSON_Parse("[1]");
  assert_wf_err(tf_toggl_match_users(emails, map, &ids, &n, &unknown), WF_EINVAL);
  cJSON_Delete(emails);
  cJSON_Delete(map);
}

static void test_day_rows(void **state) {
  cJSON *map = cJSON_Parse("{\"101\":\"ana@example.com\"}"), *out, *e;
  tf_toggl_day d;
  char err[200];
  size_t nrows;
  const char *p1 = "{\"data\":[{\"user_id\":101,\"username\":\"Ana\",\"description\":\"x #1 [A] [B]\","
                   "\"tag_ids\":[1],\"project_id\":7,\"billable\":true,\"time_entries\":["
                   "{\"id\":1,\"seconds\":60,\"start\":\"2025-03-03T09:00:00-05:00\",\"stop\":\"2025-03-03T09:01:00-05:00\"},"
                   "{\"id\":2,\"seconds\":-5,\"start\":\"2025-03-03T10:00:00-05:00\",\"stop\":null},"
                   "{\"seconds\":5},\"junk\"]},7,"
                   "{\"user_id\":999,\"username\":\"Gone\",\"time_entries\":["
                   "{\"id\":1,\"seconds\":60,\"start\":\"2025-03-03T09:00:00-05:00\",\"stop\":\"x\"},"
                   "{\"id\":3,\"seconds\":0,\"start\":\"2025-03-03T11:00:00-05:00\",\"stop\":\"2025-03-03T11:00:00-05:00\"}]}]}";

  (void)state;
  assert_wf_ok(tf_toggl_day_init(&d, "2025-03-03", map));
  d.workspace_id = 4242;
  assert_wf_ok(tf_toggl_day_add_page(&d, p1, strlen(p1), &nrows, err, sizeof err));
  assert_int_equal(nrows, 3);
  assert_wf_err(tf_toggl_day_add_page(&d, "{\"x\":1}", 7, &nrows, err, sizeof err), WF_EINVAL);
  assert_wf_ok(tf_toggl_day_add_page(&d, "[]", 2, &nrows, err, sizeof err));
  assert_int_equal(nrows, 0);
  out = tf_toggl_day_output(&d, 4, 1, 2);
  tf_toggl_day_clear(&d);
  assert_string_equal(cJSON_GetObjectItem(out, "report_timezone")->valuestring, "-05:00");
  assert_int_equal(cJSON_GetObjectItem(out, "requests")->valueint, 4);
  assert_int_equal(cJSON_GetObjectItem(out, "retried")->valueint, 1);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(out, "entries")), 2);
  assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(out, "skipped"), "running")->valueint, 1);
  assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(out, "skipped"), "duplicates")->valueint, 1);
  e = cJSON_GetArrayItem(cJSON_GetObjectItem(out, "entries"), 0);
  assert_string_equal(cJSON_GetObjectItem(e, "user_email")->valuestring, "ana@example.com");
  assert_int_equal(cJSON_GetObjectItem(e, "workspace_id")->valueint, 4242);
  assert_int_equal(cJSON_GetObjectItem(e, "duration")->valueint, 60);
  assert_string_equal(cJSON_GetObjectItem(e, "day")->valuestring, "2025-03-03");
  assert_true(cJSON_IsArray(cJSON_GetObjectItem(e, "tag_ids")));
  e = cJSON_GetArrayItem(cJSON_GetObjectItem(out, "entries"), 1);
  assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "user_email")));
  assert_int_equal(cJSON_GetObjectItem(e, "duration")->valueint, 0);
  assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "description")));
  cJSON_Delete(out);
  cJSON_Delete(map);
}

static void test_messages(void **state) {
  char m[64];
  const char *b1 = "\"Incorrect username\\nand/or password\"";
  const char *b2 = "{\"error\":{\"message\":\"bad query\"}}";
  const char *b3 = "<html>\r\n  Bad   Gateway</html>";

  (void)state;
  tf_api_message(b1, strlen(b1), m, sizeof m);
  assert_string_equal(m, "Incorrect username and/or password");
  tf_api_message(b2, strlen(b2), m, sizeof m);
  assert_string_equal(m, "bad query");
  tf_api_message(b3, strlen(b3), m, sizeof m);
  assert_string_equal(m, "<html> Bad Gateway</html>");
  tf_api_message("", 0, m, sizeof m);
  assert_string_equal(m, "(empty response)");
  strcpy(m, "x " TOKEN " y " TOKEN);
  tf_redact(m, TOKEN);
  assert_string_equal(m, "x *** y ***");
}

/* ---- against the stub ----------------------------------------------------------------- */

/* How many requests the stub has logged so far. */
static int out_requests(void) {
  cJSON *reqs = stub_requests();
  int n = cJSON_GetArraySize(reqs);

  cJSON_Delete(reqs);
  return n;
}

static const cJSON *out_get(const tjob *t, const char *k) {
  return cJSON_GetObjectItemCaseSensitive(t->out, k);
}

static void test_paging_three_pages(void **state) {
  tjob t;
  cJSON *reqs;
  const cJSON *entries;
  char *txt;

  (void)state;
  stub_start("toggl_paging.routes.json");
  run_act(&t, &wfa_toggl_fetch_day,
          "{\"with\":{\"page_size\":2,\"min_interval_s\":0},\"params\":{},"
          "\"inputs\":{\"users\":{\"101\":\"ana@example.com\",\"202\":\"bo@example.com\"}},"
          "\"item\":\"2025-03-03\"}");
  stub_stop();
  assert_true(t.res.ok);
  assert_int_equal(out_get(&t, "pages")->valueint, 3);
  assert_int_equal(out_get(&t, "requests")->valueint, 3);
  assert_string_equal(out_get(&t, "date")->valuestring, "2025-03-03");
  assert_string_equal(out_get(&t, "report_timezone")->valuestring, "+02:00");
  entries = out_get(&t, "entries");
  assert_int_equal(cJSON_GetArraySize(entries), 6); /* 9002 twice, 9007 running */
  assert_int_equal(cJSON_GetObjectItem(out_get(&t, "skipped"), "duplicates")->valueint, 1);
  assert_int_equal(cJSON_GetObjectItem(out_get(&t, "skipped"), "running")->valueint, 1);
  assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(entries, 0), "user_email")->valuestring,
                      "ana@example.com");
  assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(entries, 4), "user_email")));
  txt = cJSON_PrintUnformatted(t.out);
  assert_null(strstr(txt, TOKEN));
  free(txt);
  reqs = stub_requests();
  assert_int_equal(cJSON_GetArraySize(reqs), 3);
  assert_string_equal(req_field(reqs, 0, "body"),
                      "{\"start_date\":\"2025-03-03\",\"end_date\":\"2025-03-03\",\"page_size\":2}");
  assert_string_equal(req_field(reqs, 1, "body"),
                      "{\"start_date\":\"2025-03-03\",\"end_date\":\"2025-03-03\",\"page_size\":2,"
                      "\"first_id\":9004,\"first_row_number\":3}");
  assert_string_equal(req_field(reqs, 2, "body"),
                      "{\"start_date\":\"2025-03-03\",\"end_date\":\"2025-03-03\",\"page_size\":2,"
                      "\"first_id\":9006,\"first_row_number\":5,\"first_timestamp\":1740999600}");
  assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(reqs, 0), "headers"),
                                          "content-type")->valuestring, "application/json");
  cJSON_Delete(reqs);
  tjob_free(&t);
}

/* An empty follow-up page after a full one is asked again once without first_id. */
static void test_suspicious_empty_page(void **state) {
  tjob t;
  cJSON *reqs;

  (void)state;
  stub_start("toggl_emptypage.routes.json");
  run_act(&t, &wfa_toggl_fetch_day,
          "{\"with\":{\"page_size\":2,\"min_interval_s\":0},\"inputs\":{},\"item\":\"2025-03-03\"}");
  stub_stop();
  assert_true(t.res.ok);
  assert_int_equal(out_get(&t, "requests")->valueint, 2);
  assert_int_equal(out_get(&t, "retried")->valueint, 1); /* the empty page, asked again */
  assert_int_equal(out_get(&t, "pages")->valueint, 2);
  assert_int_equal(cJSON_GetArraySize(out_get(&t, "entries")), 4);
  reqs = stub_requests();
  assert_int_equal(cJSON_GetArraySize(reqs), 3);
  assert_string_equal(req_field(reqs, 2, "body"),
                      "{\"start_date\":\"2025-03-03\",\"end_date\":\"2025-03-03\",\"page_size\":2,"
                      "\"first_row_number\":3}");
  cJSON_Delete(reqs);
  tjob_free(&t);
}

static void test_throttle_retry_after(void **state) {
  tjob t;
  cJSON *reqs;
  double t0;

  (void)state;
  stub_start("toggl_throttle.routes.json");
  t0 = now_s();
  run_act(&t, &wfa_toggl_fetch_day,
          "{\"with\":{\"min_interval_s\":0},\"params\":{},\"inputs\":{},\"item\":\"2025-03-03\"}");
  stub_stop();
  assert_true(t.res.ok);
  assert_true(now_s() - t0 >= 0.95); /* waited the Retry-After second */
  assert_int_equal(out_get(&t, "requests")->valueint, 1); /* needed */
  assert_int_equal(out_get(&t, "retried")->valueint, 1);  /* sent again after the 429 */
  assert_int_equal(cJSON_GetArraySize(out_get(&t, "entries")), 1);
  reqs = stub_requests();
  assert_int_equal(cJSON_GetArraySize(reqs), 2);
  assert_string_equal(req_field(reqs, 0, "body"), req_field(reqs, 1, "body"));
  cJSON_Delete(reqs);
  tjob_free(&t);
}

/* A description holding \u0000 would be cut short by the JSON parser: the day is refused,
 * naming where, not recorded as "ab". */
static void test_nul_in_response_refused(void **state) {
  tjob t;

  (void)state;
  stub_start("toggl_nul.routes.json");
  run_act(&t, &wfa_toggl_fetch_day,
          "{\"with\":{\"min_interval_s\":0},\"inputs\":{},\"item\":\"2025-03-03\"}");
  stub_stop();
  assert_false(t.res.ok);
  assert_false(t.res.retryable);
  assert_non_null(strstr(t.res.error, "a NUL character (\\u0000) at byte"));
  assert_non_null(strstr(t.res.error, "$[0].description"));
  tjob_free(&t);
}

static void test_bad_token(void **state) {
  tjob t;
  cJSON *reqs;

  (void)state;
  stub_start("toggl_paging.routes.json");
  run_with_bad_token(&t, &wfa_toggl_fetch_day,
                     "{\"with\":{},\"params\":{},\"inputs\":{},\"item\":\"2025-03-03\"}",
                     "wrong-token-99", "Toggl rejected the token (HTTP 403): forbidden");
  stub_stop();
  reqs = stub_requests();
  assert_int_equal(cJSON_GetArraySize(reqs), 1); /* never retried */
  cJSON_Delete(reqs);
  tjob_free(&t);
}

static void test_users_map(void **state) {
  tjob t;
  char *txt;

  (void)state;
  stub_start("toggl_paging.routes.json");
  run_act(&t, &wfa_toggl_users, "{\"with\":{},\"params\":{},\"inputs\":{},\"item\":null}");
  assert_true(t.res.ok);
  txt = cJSON_PrintUnformatted(t.out);
  assert_string_equal(txt, "{\"101\":{\"email\":\"ana@example.com\",\"name\":\"Ana Lima\"},"
                           "\"202\":{\"email\":\"bo@example.com\",\"name\":\"Bo Berg\"}}");
  free(txt);
  tjob_free(&t);
  /* an e-mail not in the workspace is refused, naming it */
  run_act(&t, &wfa_toggl_users,
          "{\"with\":{\"users\":\"ANA@example.com,zed@example.com\"},\"params\":{},\"inputs\":{}}");
  stub_stop();
  assert_false(t.res.ok);
  assert_false(t.res.retryable);
  assert_non_null(strstr(t.res.error, "zed@example.com"));
  assert_null(strstr(t.res.error, "ana@"));
  tjob_free(&t);
}

static void test_user_ids_sent(void **state) {
  tjob t;
  cJSON *reqs;

  (void)state;
  stub_start("toggl_paging.routes.json");
  run_act(&t, &wfa_toggl_fetch_day,
          "{\"with\":{\"users\":[\"Bo@Example.com\",\"ana@example.com\"],\"page_size\":100,"
          "\"min_interval_s\":0,\"user_map\":{\"101\":\"ana@example.com\",\"202\":\"bo@example.com\"}},"
          "\"params\":{},\"inputs\":{},\"item\":\"2025-03-03\"}");
  assert_true(t.res.ok);
  reqs = stub_requests();
  assert_string_equal(req_field(reqs, 0, "body"),
                      "{\"start_date\":\"2025-03-03\",\"end_date\":\"2025-03-03\","
                      "\"user_ids\":[101,202],\"page_size\":100}");
  cJSON_Delete(reqs);
  tjob_free(&t);
  /* unknown e-mail: fails before any request */
  run_act(&t, &wfa_toggl_fetch_day,
          "{\"with\":{\"users\":[\"zed@example.com\"]},\"params\":{},"
          "\"inputs\":{\"users\":{\"101\":\"ana@example.com\"}},\"item\":\"2025-03-04\"}");
  stub_stop();
  assert_false(t.res.ok);
  assert_false(t.res.retryable);
  assert_non_null(strstr(t.res.error, "unknown Toggl users: zed@example.com"));
  reqs = stub_requests();
  assert_int_equal(cJSON_GetArraySize(reqs), 3); /* the three pages of the first run */
  cJSON_Delete(reqs);
  tjob_free(&t);
}

static void test_limits_and_errors(void **state) {
  tjob t;
  double t0;

  (void)state;
  stub_start("toggl_limits.routes.json");
  /* 402 whose reset is past the ceiling: no wait, retryable, names the plan limit */
  run_act(&t, &wfa_toggl_fetch_day,
          "{\"with\":{\"quota_wait_max_s\":60},\"inputs\":{},\"item\":\"2025-03-04\"}");
  assert_false(t.res.ok);
  assert_true(t.res.retryable);
  assert_non_null(strstr(t.res.error, "HTTP 402"));
  assert_non_null(strstr(t.res.error, "hourly request limit"));
  assert_non_null(strstr(t.res.error, "You have hit your hourly limit"));
  tjob_free(&t);
  /* the used-up quota holds every request of the token: the next would fail likewise */
  run_act(&t, &wfa_toggl_fetch_day,
          "{\"with\":{\"quota_wait_max_s\":60},\"inputs\":{},\"item\":\"2025-03-05\"}");
  assert_false(t.res.ok);
  assert_non_null(strstr(t.res.error, "requests are held for"));
  assert_int_equal(out_requests(), 1);
  tjob_free(&t);
  tf_limiter_reset_all();
  /* a malformed paging header is an error of the day, not a silent stop */
  run_act(&t, &wfa_toggl_fetch_day, "{\"with\":{},\"inputs\":{},\"item\":\"2025-03-06\"}");
  assert_false(t.res.ok);
  assert_non_null(strstr(t.res.error, "malformed paging header X-Next-Row-Number"));
  tjob_free(&t);
  /* an empty first page ends the day even with a header */
  run_act(&t, &wfa_toggl_fetch_day, "{\"with\":{},\"inputs\":{},\"item\":\"2025-03-05\"}");
  assert_true(t.res.ok);
  assert_int_equal(cJSON_GetArraySize(out_get(&t, "entries")), 0);
  tjob_free(&t);
  /* 400: no retry, endpoint, status and message */
  run_act(&t, &wfa_toggl_fetch_day, "{\"with\":{},\"inputs\":{},\"item\":\"2025-03-08\"}");
  assert_false(t.res.ok);
  assert_false(t.res.retryable);
  assert_string_equal(t.res.error, "POST /reports/api/v3/workspace/4242/search/time_entries: "
                                   "HTTP 400: start_date must not be after end_date");
  tjob_free(&t);
  /* kill while the request is in flight: done at once, retryable */
  next_kill_after_s = 0.2;
  t0 = now_s();
  run_act(&t, &wfa_toggl_fetch_day, "{\"with\":{},\"inputs\":{},\"item\":\"2025-03-07\"}");
  assert_true(now_s() - t0 < 3);
  assert_false(t.res.ok);
  assert_true(t.res.retryable);
  assert_non_null(strstr(t.res.error, "canceled"));
  tjob_free(&t);
  /* a bad item */
  run_act(&t, &wfa_toggl_fetch_day, "{\"with\":{},\"inputs\":{},\"item\":\"2025-13-01\"}");
  stub_stop();
  assert_false(t.res.ok);
  assert_false(t.res.retryable);
  assert_non_null(strstr(t.res.error, "YYYY-MM-DD"));
  tjob_free(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_search_body),       cmocka_unit_test(test_next_cursor),
      cmocka_unit_test(test_users_and_matching), cmocka_unit_test(test_day_rows),
      cmocka_unit_test(test_messages),
      cmocka_unit_test(test_paging_three_pages), cmocka_unit_test(test_suspicious_empty_page),
      cmocka_unit_test(test_throttle_retry_after), cmocka_unit_test(test_nul_in_response_refused),
      cmocka_unit_test(test_bad_token),         cmocka_unit_test(test_users_map),
      cmocka_unit_test(test_user_ids_sent),     cmocka_unit_test(test_limits_and_errors),
  };

  signal(SIGPIPE, SIG_IGN);
  return cmocka_run_group_tests(tests, setup, teardown);
}
