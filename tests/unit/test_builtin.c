/* test_builtin.c — the table of built-in activities (activities/builtin.c): the core
 * ones (core.echo, core.fail) run as a step would, and every listed name resolves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "assert_wf.h"
#include "job_harness.h"

static void test_builtins(void **state) {
  const wfi_activity *echo = wfa_builtin("core.echo"), *fail = wfa_builtin("core.fail");
  cJSON *j = cJSON_Parse("{\"with\":{\"message\":\"no luck\",\"x\":[1,2]}}");
  uv_loop_t loop;
  uint8_t *in;
  size_t n;
  tjob t;

  (void)state;
  assert_non_null(echo);
  assert_non_null(fail);
  assert_null(wfa_builtin("core.nope"));
  assert_null(wfa_builtin(NULL));
  assert_wf_ok(wfa_json_to_mp_buf(j, &in, &n));
  cJSON_Delete(j);
  uv_loop_init(&loop);
  tjob_init(&t, &loop, in, n, "echo");
  echo->start(NULL, &t.job);
  assert_int_equal(t.ndone, 1);
  assert_true(t.res.ok);
  assert_output(&t, "{\"message\":\"no luck\",\"x\":[1,2]}");
  free(t.res.output);
  t.res.output = NULL;
  t.ndone = 0;
  fail->start(NULL, &t.job);
  assert_int_equal(t.ndone, 1);
  assert_false(t.res.ok);
  assert_false(t.res.retryable);
  assert_string_equal(t.res.error, "no luck");
  tjob_free(&t);

  in = make_input(&n, "x", NULL, NULL, NULL, NULL);
  tjob_init(&t, &loop, in, n, "echo-nil");
  echo->start(NULL, &t.job);
  assert_true(t.res.ok);
  assert_null(t.res.output);
  tjob_free(&t);
  drain_loop(&loop);
}

/* Every name listed resolves to the activity of that name. */
static void count_name(void *ud, const char *name) {
  const wfi_activity *a = wfa_builtin(name);
  assert_non_null(a);
  assert_string_equal(a->name, name);
  ++*(int *)ud;
}

static void test_builtin_names(void **state) {
  int n = 0;

  (void)state;
  wfa_builtin_names(count_name, &n);
  assert_true(n >= 3);
  assert_non_null(wfa_builtin("core.echo"));
  assert_non_null(wfa_builtin("core.fail"));
  assert_non_null(wfa_builtin("core.dates"));
  assert_null(wfa_builtin("core.nope"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_builtins),
      cmocka_unit_test(test_builtin_names),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
