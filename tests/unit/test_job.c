/* test_job.c — what every execution path shares (engine/job.c): retry timing and which
 * failures may be retried, and where a run keeps its step logs and its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "assert_wf.h"
#include "wfengine.h"

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

static void test_log_path_encoding(void **state) {
  (void)state;
  char p[256];
  assert_wf_ok(wfi_log_path("h", "r1", "fibery/Scrum/Task#12", p, sizeof p));
  assert_string_equal(p, "h/logs/r1/fibery%2FScrum%2FTask%2312.log");
  assert_wf_ok(wfi_log_path("h", "r1", "..", p, sizeof p));
  assert_string_equal(p, "h/logs/r1/%2E..log");
  assert_wf_err(wfi_log_path("h", "r1", "x", p, 12), WF_EINVAL);
  /* A detached run's own log is no step's: not of a stage named wf, nor of ".wf". */
  char own[256];
  assert_wf_ok(wfi_run_log_path("h", "r1", own, sizeof own));
  assert_string_equal(own, "h/logs/r1/.wf.log");
  static const char *const keys[] = {"wf", ".wf", "%2Ewf", ".wf.log", "wf/.wf"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    assert_wf_ok(wfi_log_path("h", "r1", keys[i], p, sizeof p));
    assert_string_not_equal(p, own);
  }
  assert_wf_err(wfi_run_log_path("h", "r1", own, 17), WF_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_retry_delay_math),
      cmocka_unit_test(test_log_path_encoding),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
