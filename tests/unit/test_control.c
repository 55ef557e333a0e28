/* test_control.c — changing a run from outside its owner (engine/control.c): cancel, at
 * once or by asking its owner, and delete, refused while a live process owns the run and
 * leaving nothing of it behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "assert_wf.h"
#include "api_fixture.h"

static void test_cancel(void **state) {
  (void)state;
  wf_run *run;
  wf_run_info *r;
  assert_wf_err(wf_run_cancel(st, "nope"), WF_ENOTFOUND);
  assert_wf_err(wf_run_cancel(st, "no pe"), WF_EINVAL);
  make_run("live", "api", -2, &run);
  assert_wf_ok(wf_run_cancel(st, "live")); /* its owner is asked */
  assert_wf_ok(wf_run_info_get(st, "live", &r));
  assert_int_equal(r->status, WF_RUN_RUNNING);
  assert_true(r->cancel_requested);
  wf_run_info_free(r);
  wf_run_close(run);
  assert_wf_ok(wf_run_cancel(st, "live")); /* nobody owns it now: at once */
  assert_wf_ok(wf_run_info_get(st, "live", &r));
  assert_int_equal(r->status, WF_RUN_CANCELED);
  wf_run_info_free(r);
  assert_wf_err(wf_run_cancel(st, "live"), WF_ESTATE);
}

static void touch(const char *path) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fclose(f);
}

/* Whether `rel` exists under the store's home. */
static int exists(const char *rel) {
  char p[256];
  struct stat sb;
  snprintf(p, sizeof p, "%s/%s", dir, rel);
  return stat(p, &sb) == 0;
}

static void test_delete(void **state) {
  (void)state;
  wf_run *run;
  char p[256];
  assert_wf_err(wf_run_delete(st, "nope"), WF_ENOTFOUND);
  assert_wf_err(wf_run_delete(st, "../x"), WF_EINVAL);
  make_run("gone", "api", -2, &run);
  make_run("kept", "api", WF_RUN_SUCCEEDED, NULL);
  snprintf(p, sizeof p, "%s/runs/gone", dir);
  assert_int_equal(mkdir(p, 0755), 0);
  snprintf(p, sizeof p, "%s/runs/gone/out.csv", dir);
  touch(p);
  snprintf(p, sizeof p, "%s/logs/gone", dir);
  assert_int_equal(mkdir(p, 0755), 0);
  assert_wf_ok(wf_log_path(st, "gone", "a", p, sizeof p));
  touch(p);
  /* Owned by a live process (this one): refused, nothing touched. */
  assert_wf_err(wf_run_delete(st, "gone"), WF_EBUSY);
  assert_true(exists("runs/gone/out.csv") && exists("locks/gone"));
  assert_wf_ok(wf_run_end(run, WF_RUN_FAILED));
  assert_wf_ok(wf_run_delete(st, "gone"));
  wf_run_info *r;
  assert_wf_err(wf_run_info_get(st, "gone", &r), WF_ENOTFOUND);
  seen s = {0};
  assert_wf_err(wf_steps_list(st, "gone", "", collect_step, &s), WF_ENOTFOUND);
  assert_string_equal(list(NULL), "kept");
  assert_false(exists("runs/gone"));
  assert_false(exists("logs/gone"));
  assert_false(exists("locks/gone"));
  assert_true(exists("locks/kept"));
  snprintf(p, sizeof p, "rmdir %s/runs %s/logs", dir, dir); /* nothing left beside them */
  assert_wf_ok(wf_run_delete(st, "kept"));
  assert_int_equal(system(p), 0);
  assert_wf_err(wf_run_delete(st, "gone"), WF_ENOTFOUND);
  /* The id can be used again. */
  make_run("gone", "api", WF_RUN_SUCCEEDED, NULL);
  assert_wf_ok(wf_run_info_get(st, "gone", &r));
  assert_int_equal(r->counts[WF_STEP_SUCCEEDED], 1);
  wf_run_info_free(r);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_cancel),
      T(test_delete),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
