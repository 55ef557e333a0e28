/* test_tf_limit.c — the process-wide request limiters of the Toggl and Fibery clients:
 * slot arithmetic and pauses offline; then steps sharing one token against wf-stub-http
 * counting exactly (rate_limits): no request too soon, a Retry-After holding every step,
 * X-Toggl-Quota-Remaining: 0 waiting for the reset or failing past the wait ceiling.
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

#include "tf_api.h"
#include "tf_limit.h"
#include "tf_toggl.h"
#include "wf/wf.h"
#include "wfact.h"

#define TOKEN "tok-secret-1234"

#define TFH_NAME "tflimit"
#define TFH_BASE_ENV "TOGGL_API_BASE"
#define TFH_TOKEN_ENV "TOGGL_API_TOKEN"
#define TFH_WORKSPACE_ENV "TOGGL_WORKSPACE_ID"
#define TFH_WORKSPACE "4242"
#define TFH_ACTIVITY wfa_toggl_fetch_day
#define TFH_STAGE "fetch"
#define TFH_STEP_KEY "fetch/2025-03-03"
#include "tf_harness.h"

static void test_slots(void **state) {
  tf_limiter *a = tf_limiter_get("toggl", "http://x", "tok-a");
  tf_limiter *b = tf_limiter_get("toggl", "http://x", "tok-b");
  tf_slot s1, s2, s3;
  const char *why;

  (void)state;
  assert_non_null(a);
  assert_ptr_equal(a, tf_limiter_get("toggl", "http://x", "tok-a"));
  assert_ptr_not_equal(a, b);
  assert_ptr_not_equal(a, tf_limiter_get("fibery", "http://x", "tok-a"));
  /* one per second: 1000 ms plus the 10 % margin */
  s1 = tf_limiter_reserve(a, 1.0, 5000);
  s2 = tf_limiter_reserve(a, 1.0, 5000);
  s3 = tf_limiter_reserve(a, 1.0, 5010);
  assert_int_equal(s1.at_ms, 5000);
  assert_int_equal(s2.at_ms, 6100);
  assert_int_equal(s3.at_ms, 7200);
  /* another token is not held by these */
  assert_int_equal(tf_limiter_reserve(b, 1.0, 5000).at_ms, 5000);
  /* small intervals get at least 20 ms of margin; without an interval no spacing, but
   * no overtaking a slot reserved before either */
  assert_int_equal(tf_limiter_reserve(b, 0.1, 5000).at_ms, 5120);
  assert_int_equal(tf_limiter_reserve(b, 0, 5000).at_ms, 5120);
  assert_int_equal(tf_limiter_reserve(b, 0, 5200).at_ms, 5200);
  /* a pause voids the slots reserved before it, and holds everyone until it ends */
  assert_true(tf_limiter_valid(a, &s3));
  tf_limiter_pause(a, 2.5, "HTTP 429", 5100);
  assert_false(tf_limiter_valid(a, &s2));
  assert_false(tf_limiter_valid(a, &s3));
  assert_true(tf_limiter_paused_s(a, 5100, &why) > 2.49);
  assert_string_equal(why, "HTTP 429");
  assert_int_equal(tf_limiter_reserve(a, 1.0, 5200).at_ms, 7600);
  /* a shorter pause does not cut a longer one short */
  tf_limiter_pause(a, 0.5, "shorter", 5200);
  assert_string_equal((tf_limiter_paused_s(a, 5200, &why), why), "HTTP 429");
  assert_int_equal(tf_limiter_reserve(a, 0, 5300).at_ms, 7600);
  assert_true(tf_limiter_paused_s(a, 8000, NULL) == 0);
  /* a request that went out counts even when its slot was voided */
  tf_limiter_sent(a, 9000);
  tf_limiter_pause(a, 0, NULL, 9000);
  assert_int_equal(tf_limiter_reserve(a, 1.0, 9001).at_ms, 10100);
  /* a request that reached the wire late (its connection took 300 ms) pushes back the
   * slot reserved after it, so the server never sees the two closer than the interval */
  s1 = tf_limiter_reserve(a, 1.0, 10100);
  assert_int_equal(tf_limiter_due(a, &s1, 1.0), 11200);
  tf_limiter_sent(a, 10400);
  assert_int_equal(tf_limiter_due(a, &s1, 1.0), 11500);
  tf_limiter_reset_all();
}

/* Start `n` fetch_day attempts on one loop and run them to their end. */
static void run_together(tjob *t, const char *const *inputs, size_t n) {
  uv_loop_t loop;
  size_t i;

  uv_loop_init(&loop);
  for (i = 0; i < n; i++) {
    tjob_prepare(&t[i], &loop, inputs[i]);
    wfa_toggl_fetch_day.start(NULL, &t[i].job);
  }
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&loop), 0);
  for (i = 0; i < n; i++)
    assert_int_equal(t[i].ndone, 1);
}

static double t_ms(const cJSON *reqs, int i) {
  return cJSON_GetObjectItem(cJSON_GetArrayItem(reqs, i), "t_ms")->valuedouble;
}

static int throttled(const cJSON *reqs) {
  const cJSON *r;
  int n = 0;

  cJSON_ArrayForEach(r, reqs) n += cJSON_IsTrue(cJSON_GetObjectItem(r, "throttled"));
  return n;
}

/* Three steps of one token, three pages each: the stub allows 4 per second and refuses
 * none, because they share one limiter (each pacing itself alone would collide). */
static void test_steps_share_the_token(void **state) {
  static const char *const in[] = {
      "{\"with\":{\"page_size\":2,\"rps\":4},\"inputs\":{},\"item\":\"2025-03-05\"}",
      "{\"with\":{\"page_size\":2,\"rps\":4},\"inputs\":{},\"item\":\"2025-03-06\"}",
      "{\"with\":{\"page_size\":2,\"rps\":4},\"inputs\":{},\"item\":\"2025-03-07\"}"};
  tjob t[3];
  cJSON *reqs;
  double t0;
  int i, n;

  (void)state;
  stub_start("toggl_rate.routes.json");
  t0 = now_s();
  run_together(t, in, 3);
  assert_true(now_s() - t0 >= 8 * 0.25);
  stub_stop();
  reqs = stub_requests();
  n = cJSON_GetArraySize(reqs);
  assert_int_equal(n, 9);
  assert_int_equal(throttled(reqs), 0);
  for (i = 1; i < n; i++)
    assert_true(t_ms(reqs, i) - t_ms(reqs, i - 1) >= 250);
  for (i = 0; i < 3; i++) {
    assert_true(t[i].res.ok);
    assert_int_equal(cJSON_GetObjectItem(t[i].out, "requests")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItem(t[i].out, "retried")->valueint, 0);
    tjob_free(&t[i]);
  }
  cJSON_Delete(reqs);
}

/* A 429 with Retry-After answered to one step holds the other step too. */
static void test_retry_after_holds_every_step(void **state) {
  static const char *const in[] = {
      "{\"with\":{\"page_size\":2,\"rps\":4},\"inputs\":{},\"item\":\"2025-03-03\"}",
      "{\"with\":{\"page_size\":2,\"rps\":4},\"inputs\":{},\"item\":\"2025-03-04\"}"};
  tjob t[2];
  cJSON *reqs;
  double t429 = -1;
  int i, n;

  (void)state;
  stub_start("toggl_rate.routes.json");
  run_together(t, in, 2);
  stub_stop();
  reqs = stub_requests();
  n = cJSON_GetArraySize(reqs);
  assert_int_equal(throttled(reqs), 0);
  assert_int_equal(n, 5); /* 03: 429 then 200; 04: three pages */
  for (i = 0; i < n; i++) {
    const cJSON *st = cJSON_GetObjectItem(cJSON_GetArrayItem(reqs, i), "status");
    if (st->valueint == 429)
      t429 = t_ms(reqs, i);
    else if (t429 >= 0)
      assert_true(t_ms(reqs, i) >= t429 + 950);
  }
  assert_true(t429 >= 0);
  assert_true(t[0].res.ok && t[1].res.ok);
  assert_int_equal(cJSON_GetObjectItem(t[0].out, "retried")->valueint, 1);
  assert_int_equal(cJSON_GetObjectItem(t[1].out, "retried")->valueint, 0);
  tjob_free(&t[0]);
  tjob_free(&t[1]);
  cJSON_Delete(reqs);
}

/* X-Toggl-Quota-Remaining: 0 waits X-Toggl-Quota-Resets-In + 1 s before the next request,
 * and fails without spending one when that is past the wait ceiling. */
static void test_quota_used_up(void **state) {
  tjob t;
  cJSON *reqs;

  (void)state;
  stub_start("toggl_rate.routes.json");
  run_act(&t, &wfa_toggl_fetch_day,
          "{\"with\":{\"page_size\":2,\"rps\":4},\"inputs\":{},\"item\":\"2025-03-09\"}");
  stub_stop();
  assert_true(t.res.ok);
  reqs = stub_requests();
  assert_int_equal(cJSON_GetArraySize(reqs), 3);
  assert_true(t_ms(reqs, 1) - t_ms(reqs, 0) >= 1900);
  cJSON_Delete(reqs);
  tjob_free(&t);

  stub_start("toggl_rate.routes.json");
  run_act(&t, &wfa_toggl_fetch_day,
          "{\"with\":{\"page_size\":2,\"rps\":4,\"quota_wait_max_s\":1},\"inputs\":{},"
          "\"item\":\"2025-03-09\"}");
  stub_stop();
  assert_false(t.res.ok);
  assert_true(t.res.retryable);
  assert_non_null(strstr(t.res.error, "X-Toggl-Quota-Remaining: 0"));
  assert_non_null(strstr(t.res.error, "resume the run later"));
  reqs = stub_requests();
  assert_int_equal(cJSON_GetArraySize(reqs), 1);
  assert_string_equal(req_field(reqs, 0, "path"),
                      "/reports/api/v3/workspace/4242/search/time_entries");
  cJSON_Delete(reqs);
  tjob_free(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_slots),
      cmocka_unit_test(test_steps_share_the_token),
      cmocka_unit_test(test_retry_after_holds_every_step),
      cmocka_unit_test(test_quota_used_up),
  };

  signal(SIGPIPE, SIG_IGN);
  return cmocka_run_group_tests(tests, setup, teardown);
}
