/* test_errors.c — the message of every WF_E* code (engine/errors.c), and the text the unit
 * tests' assertions on codes (assert_wf.h) fail with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "assert_wf.h"

static void test_strerror(void **state) {
  (void)state;
  assert_string_equal(wf_strerror(WF_EBUSY), "run is owned by another live process");
  assert_string_equal(wf_strerror(0), "success");
  assert_string_equal(wf_strerror(-99), "unknown error");
  assert_string_equal(wf_strerror(1), "unknown error");
#define WFT_CHECK_MSG(code, value, msg)                  \
  assert_int_equal(code, value);                         \
  assert_string_equal(wf_strerror(code), msg);           \
  assert_string_not_equal(wf_strerror(code), "unknown error");
  WF_ERRORS(WFT_CHECK_MSG)
#undef WFT_CHECK_MSG
}

/* A failed assertion names what came back and what was expected, by name and message. */
static void test_rc_text(void **state) {
  (void)state;
  char buf[160];
  assert_string_equal(wft_rc_text(0, buf, sizeof buf), "0 (success)");
  assert_string_equal(wft_rc_text(WF_EIO, buf, sizeof buf),
                      "WF_EIO (input/output error (is the disk failing?))");
  assert_string_equal(wft_rc_text(WF_EFENCED, buf, sizeof buf),
                      "WF_EFENCED (run was taken over by another process)");
  assert_string_equal(wft_rc_text(-99, buf, sizeof buf), "-99, not a wf code");
  assert_wf_ok(0);
  assert_wf_err(WF_ENOTFOUND, WF_ENOTFOUND);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_strerror),
      cmocka_unit_test(test_rc_text),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
