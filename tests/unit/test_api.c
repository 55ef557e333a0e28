/* test_api.c — the public embedding API (wf/wf.h): memoized steps, fan-out through the
 * scheduler, ownership, outcomes; and the engine's small pure pieces (retry timing,
 * owner liveness, log paths). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "wf/wf.h"
#include "wfengine.h"
#include "wfmp.h"

static char dir[64];

static int setup(void **state) {
  (void)state;
  strcpy(dir, "/tmp/wf-api-XXXXXX");
  assert_non_null(mkdtemp(dir));
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
  return 0;
}

static int calls;

/* Output: the input with one more byte so tests can tell outputs apart. */
static int step_fn(void *ud, const void *in, size_t inlen, void **out, size_t *outlen) {
  (void)ud;
  calls++;
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 2);
  wfm_pack_raw(&pk, in, inlen);
  msgpack_pack_true(&pk);
  *out = sb.data;
  *outlen = sb.size;
  return 0;
}

static int failing_fn(void *ud, const void *in, size_t inlen, void **out, size_t *outlen) {
  (void)ud, (void)in, (void)inlen, (void)out, (void)outlen;
  calls++;
  return -1;
}

static void test_step_run_memoizes(void **state) {
  (void)state;
  wf_store *st;
  wf_run *run;
  assert_int_equal(wf_store_open(dir, &st), 0);
  assert_int_equal(wf_run_begin(st, "api", "r1", &run), 0);
  assert_string_equal(wf_run_id(run), "r1");
  const uint8_t in[] = {0x2a}; /* 42 */
  const void *out;
  size_t outlen;
  int memo = -1;
  calls = 0;
  assert_int_equal(wf_step_run(run, "a", in, 1, step_fn, NULL, &out, &outlen, &memo), 0);
  assert_int_equal(memo, 0);
  assert_int_equal(outlen, 3);
  assert_int_equal(((const uint8_t *)out)[1], 0x2a);
  assert_int_equal(wf_step_run(run, "a", in, 1, step_fn, NULL, &out, &outlen, &memo), 0);
  assert_int_equal(memo, 1);
  assert_int_equal(calls, 1);
  assert_int_equal(((const uint8_t *)out)[1], 0x2a);
  /* a different input executes again */
  const uint8_t in2[] = {0x2b};
  assert_int_equal(wf_step_run(run, "a", in2, 1, step_fn, NULL, &out, &outlen, &memo), 0);
  assert_int_equal(memo, 0);
  assert_int_equal(calls, 2);
  assert_int_equal(wf_step_run(run, "bad\nkey", in, 1, step_fn, NULL, &out, &outlen, NULL), WF_EINVAL);
  assert_int_equal(wf_step_run(run, "f", in, 1, failing_fn, NULL, &out, &outlen, NULL), WF_ESTEP);
  assert_int_equal(wf_run_end(run, WF_RUN_FAILED), 0);

  /* resuming the failed run: recorded steps are reused, the failed one runs again */
  assert_int_equal(wf_run_begin(st, "api", "r1", &run), 0);
  calls = 0;
  assert_int_equal(wf_step_run(run, "a", in2, 1, step_fn, NULL, &out, &outlen, &memo), 0);
  assert_int_equal(memo, 1);
  assert_int_equal(wf_step_run(run, "f", in, 1, step_fn, NULL, &out, &outlen, &memo), 0);
  assert_int_equal(memo, 0);
  assert_int_equal(calls, 1);
  assert_int_equal(wf_run_end(run, WF_RUN_SUCCEEDED), 0);
  /* a succeeded run is not begun again */
  assert_int_equal(wf_run_begin(st, "api", "r1", &run), WF_ESTATE);
  wf_store_close(st);
}

static void test_run_owned_is_busy(void **state) {
  (void)state;
  wf_store *st;
  wf_run *run, *other;
  assert_int_equal(wf_store_open(dir, &st), 0);
  assert_int_equal(wf_run_begin(st, "api", "owned", &run), 0);
  /* this process is alive and owns it: a second begin is refused */
  assert_int_equal(wf_run_begin(st, "api", "owned", &other), WF_EBUSY);
  assert_int_equal(wf_run_begin(st, "api", "bad id", &other), WF_EINVAL);
  assert_int_equal(wf_run_end(run, WF_RUN_SUCCEEDED), 0);
  assert_int_equal(wf_run_begin(st, "api", NULL, &other), 0);
  assert_memory_equal(wf_run_id(other), "run_", 4);
  assert_int_equal(wf_run_end(other, 99), WF_EINVAL);
  wf_store_close(st);
}

static int item_fn(void *ud, size_t i, char *key, size_t keycap, void **in, size_t *inlen) {
  (void)ud;
  snprintf(key, keycap, "item/%zu", i);
  uint8_t *p = malloc(1);
  p[0] = (uint8_t)(i & 0x7f);
  *in = p;
  *inlen = 1;
  return 0;
}

static void test_step_map_window_and_memo(void **state) {
  (void)state;
  wf_store *st;
  wf_run *run;
  assert_int_equal(wf_store_open(dir, &st), 0);
  assert_int_equal(wf_run_begin(st, "api", "map", &run), 0);
  unsigned maxin = 0;
  calls = 0;
  assert_int_equal(wf_step_map(run, 500, 32, item_fn, step_fn, NULL, &maxin), 0);
  assert_int_equal(calls, 500);
  assert_true(maxin >= 1 && maxin <= 32);
  calls = 0;
  assert_int_equal(wf_step_map(run, 600, 32, item_fn, step_fn, NULL, &maxin), 0);
  assert_int_equal(calls, 100); /* the first 500 are recorded */
  const void *out;
  size_t outlen;
  int memo = 0;
  const uint8_t in[] = {7};
  assert_int_equal(wf_step_run(run, "item/7", in, 1, step_fn, NULL, &out, &outlen, &memo), 0);
  assert_int_equal(memo, 1);
  assert_int_equal(wf_run_end(run, WF_RUN_SUCCEEDED), 0);
  wf_store_close(st);
}

static void test_retry_delay_math(void **state) {
  (void)state;
  wfi_retry r = {5, 1.0, 2.0, 5.0, {3}, 1};
  assert_true(wfi_retry_delay(&r, 1) == 1.0);
  assert_true(wfi_retry_delay(&r, 2) == 2.0);
  assert_true(wfi_retry_delay(&r, 3) == 4.0);
  assert_true(wfi_retry_delay(&r, 4) == 5.0); /* capped */
  wfi_result res = {0};
  res.retryable = 1;
  res.exit_code = 1;
  assert_true(wfi_retry_allowed(&r, 1, &res));
  assert_false(wfi_retry_allowed(&r, 5, &res)); /* attempts used up */
  res.exit_code = 3;
  assert_false(wfi_retry_allowed(&r, 1, &res)); /* non-retryable exit code */
  res.exit_code = 1;
  res.retryable = 0;
  assert_false(wfi_retry_allowed(&r, 1, &res));
}

static void test_owner_liveness(void **state) {
  (void)state;
  wfs_owner me;
  wfi_owner_self(&me);
  assert_int_equal(me.pid, getpid());
  assert_true(me.start_time > 0);
  assert_true(wfi_owner_alive(&me, 0));
  wfs_owner reused = me;
  reused.start_time++; /* same pid, another process */
  assert_false(wfi_owner_alive(&reused, wfs_now_ms()));
  wfs_owner gone = me;
  gone.pid = 0x7ffffff0;
  assert_false(wfi_owner_alive(&gone, wfs_now_ms()));
  wfs_owner remote = me;
  strcpy(remote.host, "elsewhere");
  assert_true(wfi_owner_alive(&remote, wfs_now_ms()));        /* fresh heartbeat */
  assert_false(wfi_owner_alive(&remote, wfs_now_ms() - 60000)); /* lease expired */
  wfs_owner none = {0};
  assert_false(wfi_owner_alive(&none, wfs_now_ms()));
}

static void test_log_path_encoding(void **state) {
  (void)state;
  char p[256];
  assert_int_equal(wfi_log_path("h", "r1", "fibery/Scrum/Task#12", p, sizeof p), 0);
  assert_string_equal(p, "h/logs/r1/fibery%2FScrum%2FTask%2312.log");
  assert_int_equal(wfi_log_path("h", "r1", "..", p, sizeof p), 0);
  assert_string_equal(p, "h/logs/r1/%2E..log");
  assert_int_equal(wfi_log_path("h", "r1", "x", p, 12), WF_EINVAL);
  /* A detached run's own log is no step's: not of a stage named wf, nor of ".wf". */
  char own[256];
  assert_int_equal(wfi_run_log_path("h", "r1", own, sizeof own), 0);
  assert_string_equal(own, "h/logs/r1/.wf.log");
  static const char *const keys[] = {"wf", ".wf", "%2Ewf", ".wf.log", "wf/.wf"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    assert_int_equal(wfi_log_path("h", "r1", keys[i], p, sizeof p), 0);
    assert_string_not_equal(p, own);
  }
  assert_int_equal(wfi_run_log_path("h", "r1", own, 17), WF_EINVAL);
  assert_string_equal(wf_strerror(WF_EBUSY), "run is owned by another live process");
  assert_string_equal(wf_strerror(0), "success");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_step_run_memoizes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_run_owned_is_busy, setup, teardown),
      cmocka_unit_test_setup_teardown(test_step_map_window_and_memo, setup, teardown),
      cmocka_unit_test(test_retry_delay_math),
      cmocka_unit_test(test_owner_liveness),
      cmocka_unit_test(test_log_path_encoding),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
