/* test_find.c — finding a workflow by name or path (workflows/find.c), and listing the
 * ones there are. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "assert_wf.h"
#include "wfw_int.h"

#define DEFS WF_TEST_DATA "/defs"

static void test_resolve(void **state) {
  (void)state;
  char path[4096];
  wfw_err err;
  assert_wf_ok(wfw_resolve(DEFS "/full.json", path, sizeof path, &err));
  assert_string_equal(path, DEFS "/full.json");
  /* The test binaries live in <build>/tests, beside <build>/share/wf/workflows. */
  assert_wf_ok(wfw_resolve("demo", path, sizeof path, &err));
  assert_non_null(strstr(path, "/share/wf/workflows/demo.json"));
  wfw_def *d;
  assert_wf_ok(wfw_load(path, &d, &err));
  wfw_def_free(d);
  assert_wf_err(wfw_resolve("no-such-flow", path, sizeof path, &err), WF_ENOTFOUND);
  assert_non_null(strstr(err.msg, "workflow \"no-such-flow\" not found (tried: no-such-flow, "
                                  "./workflows/no-such-flow.json, "));
  assert_non_null(strstr(err.msg, "/share/wf/workflows/no-such-flow.json); `wf list`"));
  assert_wf_err(wfw_resolve("dir/none.json", path, sizeof path, &err), WF_ENOTFOUND);
  assert_non_null(strstr(err.msg, "(tried: dir/none.json)"));
  assert_wf_err(wfw_resolve(DEFS "/full.json", path, 8, &err), WF_EINVAL);
}

static void on_list(void *ud, const char *name, const char *path, const char *desc) {
  int *found = ud;
  if (strcmp(name, "demo") == 0 && strstr(path, "demo.json") && strstr(desc, "fan-out")) ++*found;
}

static void test_list(void **state) {
  (void)state;
  int found = 0;
  assert_wf_ok(wfw_list(on_list, &found));
  assert_int_equal(found, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_resolve),
      cmocka_unit_test(test_list),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
