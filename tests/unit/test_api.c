/* test_api.c — the embedding API of engine/api.c (wf/wf.h): opening a store and its
 * options, memoized steps, fan-out through the scheduler, owned and resumed runs,
 * outcomes, and the values wf refuses to keep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "assert_wf.h"
#include "api_fixture.h"
#include "wfmp.h"

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

static int counted_failing_fn(void *ud, const void *in, size_t inlen, void **out, size_t *outlen) {
  (void)ud, (void)in, (void)inlen, (void)out, (void)outlen;
  calls++;
  return -1;
}

static void test_store_open_ex(void **state) {
  (void)state;
  char home[128];
  struct stat sb;
  wf_store *s = (wf_store *)1;
  snprintf(home, sizeof home, "%s/none", dir);
  wf_store_opts o = {.flags = WF_STORE_NOCREATE};
  assert_wf_err(wf_store_open_ex(home, &o, &s), WF_ENOTFOUND);
  assert_null(s);
  assert_int_not_equal(stat(home, &sb), 0); /* nothing was made */
  wf_store_opts bad[] = {{.flags = 8}, {.max_readers = (1u << 20) + 1},
                         {.kill_grace_s = -1}, {.kill_grace_s = NAN}, {.kill_grace_s = INFINITY},
                         {.map_cap_mb = UINT64_MAX}, {.max_output_mb = UINT64_MAX}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_wf_err(wf_store_open_ex(home, &bad[i], &s), WF_EINVAL);
  assert_int_not_equal(stat(home, &sb), 0);
  o = (wf_store_opts){.map_cap_mb = 64, .max_readers = 16, .kill_grace_s = 0.5};
  assert_wf_ok(wf_store_open_ex(home, &o, &s));
  assert_string_equal(wf_store_home(s), home);
  assert_string_equal(wf_last_failure()->path, "");
  wf_store_close(s);
  o.flags = WF_STORE_NOCREATE;
  assert_wf_ok(wf_store_open_ex(home, &o, &s)); /* it exists now */
  wf_store_close(s);
  wf_store_close(NULL);
}

/* The store's place is its caller's: NULL is ./.wf whatever $WF_HOME says. */
static void test_store_home_not_from_env(void **state) {
  (void)state;
  char elsewhere[128], cwd[2048];
  struct stat sb;
  wf_store *s;
  snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", dir);
  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_int_equal(chdir(dir), 0);
  assert_int_equal(setenv("WF_HOME", elsewhere, 1), 0);
  int rc = wf_store_open(NULL, &s);
  assert_int_equal(unsetenv("WF_HOME"), 0);
  assert_wf_ok(rc);
  assert_string_equal(wf_store_home(s), ".wf");
  wf_store_close(s);
  assert_int_equal(stat(".wf/store", &sb), 0);
  assert_int_not_equal(stat(elsewhere, &sb), 0);
  assert_int_equal(chdir(cwd), 0);
}

static void test_step_run_memoizes(void **state) {
  (void)state;
  wf_run *run;
  assert_wf_ok(wf_store_open(dir, &st));
  assert_wf_ok(wf_run_begin(st, "api", "r1", &run));
  assert_string_equal(wf_run_id(run), "r1");
  const uint8_t in[] = {0x2a}; /* 42 */
  const void *out;
  size_t outlen;
  int memo = -1;
  calls = 0;
  assert_wf_ok(wf_step_run(run, "a", in, 1, step_fn, NULL, &out, &outlen, &memo));
  assert_int_equal(memo, 0);
  assert_int_equal(outlen, 3);
  assert_int_equal(((const uint8_t *)out)[1], 0x2a);
  assert_wf_ok(wf_step_run(run, "a", in, 1, step_fn, NULL, &out, &outlen, &memo));
  assert_int_equal(memo, 1);
  assert_int_equal(calls, 1);
  assert_int_equal(((const uint8_t *)out)[1], 0x2a);
  /* a different input executes again */
  const uint8_t in2[] = {0x2b};
  assert_wf_ok(wf_step_run(run, "a", in2, 1, step_fn, NULL, &out, &outlen, &memo));
  assert_int_equal(memo, 0);
  assert_int_equal(calls, 2);
  assert_wf_err(wf_step_run(run, "bad\nkey", in, 1, step_fn, NULL, &out, &outlen, NULL), WF_EINVAL);
  assert_wf_err(wf_step_run(run, "f", in, 1, counted_failing_fn, NULL, &out, &outlen, NULL),
                WF_ESTEP);
  assert_wf_ok(wf_run_end(run, WF_RUN_FAILED));

  /* resuming the failed run: recorded steps are reused, the failed one runs again */
  assert_wf_ok(wf_run_begin(st, "api", "r1", &run));
  calls = 0;
  assert_wf_ok(wf_step_run(run, "a", in2, 1, step_fn, NULL, &out, &outlen, &memo));
  assert_int_equal(memo, 1);
  assert_wf_ok(wf_step_run(run, "f", in, 1, step_fn, NULL, &out, &outlen, &memo));
  assert_int_equal(memo, 0);
  assert_int_equal(calls, 1);
  assert_wf_ok(wf_run_end(run, WF_RUN_SUCCEEDED));
  /* a succeeded run is not begun again */
  assert_wf_err(wf_run_begin(st, "api", "r1", &run), WF_ESTATE);
}

static void test_run_owned_is_busy(void **state) {
  (void)state;
  wf_run *run, *other;
  assert_wf_ok(wf_store_open(dir, &st));
  assert_wf_ok(wf_run_begin(st, "api", "owned", &run));
  /* this process is alive and owns it: a second begin is refused */
  assert_wf_err(wf_run_begin(st, "api", "owned", &other), WF_EBUSY);
  assert_wf_err(wf_run_begin(st, "api", "bad id", &other), WF_EINVAL);
  assert_wf_ok(wf_run_end(run, WF_RUN_SUCCEEDED));
  assert_wf_ok(wf_run_begin(st, "api", NULL, &other));
  assert_memory_equal(wf_run_id(other), "run_", 4);
  assert_wf_err(wf_run_end(other, 99), WF_EINVAL);
}

static int byte_item_fn(void *ud, size_t i, char *key, size_t keycap, void **in, size_t *inlen) {
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
  wf_run *run;
  assert_wf_ok(wf_store_open(dir, &st));
  assert_wf_ok(wf_run_begin(st, "api", "map", &run));
  unsigned maxin = 0;
  calls = 0;
  assert_wf_ok(wf_step_map(run, 500, 32, byte_item_fn, step_fn, NULL, &maxin));
  assert_int_equal(calls, 500);
  assert_true(maxin >= 1 && maxin <= 32);
  calls = 0;
  assert_wf_ok(wf_step_map(run, 600, 32, byte_item_fn, step_fn, NULL, &maxin));
  assert_int_equal(calls, 100); /* the first 500 are recorded */
  const void *out;
  size_t outlen;
  int memo = 0;
  const uint8_t in[] = {7};
  assert_wf_ok(wf_step_run(run, "item/7", in, 1, step_fn, NULL, &out, &outlen, &memo));
  assert_int_equal(memo, 1);
  assert_wf_ok(wf_run_end(run, WF_RUN_SUCCEEDED));
}

/* Outputs wf would write but could not read back, or not show as they are. */
static int bad_kind;

static int bad_fn(void *ud, const void *in, size_t inlen, void **out, size_t *outlen) {
  (void)ud, (void)in, (void)inlen;
  calls++;
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  if (bad_kind <= 2) { /* nested arrays: at the limit, one more, the decoders' limit */
    int depth = WF_MAX_VALUE_DEPTH + bad_kind + (bad_kind == 2 ? 6 : 0);
    for (int i = 0; i < depth; i++) msgpack_pack_array(&pk, 1);
    msgpack_pack_true(&pk);
  } else if (bad_kind == 3) {
    wfm_pack_strn(&pk, "ab\xff", 3);   /* not UTF-8 */
  } else if (bad_kind == 4) {
    wfm_pack_strn(&pk, "ab\0cd", 5);   /* a NUL */
  } else {
    msgpack_pack_array(&pk, 2);       /* truncated */
    msgpack_pack_true(&pk);
  }
  *out = sb.data;
  *outlen = sb.size;
  return 0;
}

static int deep_item_fn(void *ud, size_t i, char *key, size_t keycap, void **in, size_t *inlen) {
  (void)ud;
  snprintf(key, keycap, "deep/%zu", i);
  uint8_t *p = malloc(WF_MAX_VALUE_DEPTH + 2);
  memset(p, 0x91, WF_MAX_VALUE_DEPTH + 1); /* one level too many */
  p[WF_MAX_VALUE_DEPTH + 1] = 0xc3;
  *in = p;
  *inlen = WF_MAX_VALUE_DEPTH + 2;
  return 0;
}

static void test_values_wf_cannot_keep(void **state) {
  (void)state;
  wf_run *run;
  const void *out;
  size_t outlen;
  int memo;
  char key[16];
  assert_wf_ok(wf_store_open(dir, &st));
  assert_wf_ok(wf_run_begin(st, "api", "bad", &run));
  for (bad_kind = 0; bad_kind <= 5; bad_kind++) {
    snprintf(key, sizeof key, "k%d", bad_kind);
    const uint8_t in[] = {(uint8_t)bad_kind};
    int rc = wf_step_run(run, key, in, 1, bad_fn, NULL, &out, &outlen, &memo);
    assert_wf_err(rc, bad_kind == 0 ? 0 : WF_ESTEP);
    /* Whatever happened was recorded readably: the step is read back (memoized at the
     * limit; executed again when it failed). */
    calls = 0;
    rc = wf_step_run(run, key, in, 1, bad_fn, NULL, &out, &outlen, &memo);
    assert_wf_err(rc, bad_kind == 0 ? 0 : WF_ESTEP);
    assert_int_equal(calls, bad_kind == 0 ? 0 : 1);
  }
  /* An input one level too deep is refused before anything runs. */
  uint8_t deep[WF_MAX_VALUE_DEPTH + 2];
  memset(deep, 0x91, WF_MAX_VALUE_DEPTH + 1);
  deep[WF_MAX_VALUE_DEPTH + 1] = 0xc3;
  calls = 0;
  assert_wf_err(wf_step_run(run, "deepin", deep, sizeof deep, step_fn, NULL, &out, &outlen,
                            &memo), WF_EINVAL);
  assert_int_equal(calls, 0);
  /* So are such items of a fan-out. */
  assert_wf_err(wf_step_map(run, 3, 2, deep_item_fn, step_fn, NULL, NULL), WF_ESTEP);
  assert_int_equal(calls, 0);
  assert_wf_ok(wf_run_end(run, WF_RUN_FAILED));
}

/* A run nobody owns reads as interrupted and can be resumed; resuming says from whom. */
static void test_resume(void **state) {
  (void)state;
  wf_run *run = (wf_run *)1;
  wf_owner prev;
  wf_run_info *r;
  assert_wf_err(wf_run_resume(st, "nope", 0, &run, &prev), WF_ENOTFOUND);
  assert_wf_err(wf_run_resume(st, "a b", 0, &run, NULL), WF_EINVAL);
  make_run("x", "api", -1, NULL);
  assert_wf_ok(wf_run_info_get(st, "x", &r));
  assert_int_equal(r->status, WF_RUN_INTERRUPTED);
  assert_int_equal(r->recorded_status, WF_RUN_RUNNING);
  assert_int_equal(r->owner.pid, getpid()); /* recorded, but its lock is gone */
  assert_false(r->owner.alive);
  wf_run_info_free(r);
  assert_wf_err(wf_run_resume(st, "x", 4, &run, NULL), WF_EINVAL);
  assert_wf_ok(wf_run_resume(st, "x", 0, &run, &prev));
  assert_int_equal(prev.pid, getpid());
  assert_false(prev.alive);
  assert_string_equal(wf_run_id(run), "x");
  /* Owned again: a second resume is refused and names the owner. */
  wf_run *other;
  memset(&prev, 0, sizeof prev);
  assert_wf_err(wf_run_resume(st, "x", 0, &other, &prev), WF_EBUSY);
  assert_int_equal(prev.pid, getpid());
  assert_true(prev.alive && prev.same_machine);
  const void *out;
  int memo = 0;
  const uint8_t in[] = {0x2a};
  assert_wf_ok(wf_step_run(run, "a", in, 1, echo_fn, NULL, &out, NULL, &memo));
  assert_int_equal(memo, 1); /* recorded before the interruption */
  assert_wf_ok(wf_run_end(run, WF_RUN_SUCCEEDED));
  assert_wf_err(wf_run_resume(st, "x", 0, &run, NULL), WF_ESTATE);
  /* Canceled runs only when asked. */
  make_run("c", "api", -1, NULL);
  assert_wf_ok(wf_run_cancel(st, "c"));
  assert_wf_err(wf_run_resume(st, "c", 0, &run, NULL), WF_ESTATE);
  assert_wf_ok(wf_run_resume(st, "c", WF_RESUME_CANCELED, &run, NULL));
  wf_run_close(run);
  wf_run_close(NULL);
}

/* wf_run_id stays valid while the handle lives, whatever the calls made through it. */
static void test_run_id_stays(void **state) {
  (void)state;
  wf_run *run;
  assert_wf_ok(wf_run_begin(st, "api", "stays", &run));
  const char *id = wf_run_id(run);
  assert_wf_ok(wf_step_map(run, 3, 2, item_fn, echo_fn, NULL, NULL));
  assert_string_equal(id, "stays");
  assert_ptr_equal(id, wf_run_id(run));
  assert_wf_ok(wf_run_end(run, WF_RUN_SUCCEEDED));
}

/* ---- options reach the scheduler --------------------------------------------------------- */

static int big_fn(void *ud, const void *in, size_t inlen, void **out, size_t *outlen) {
  (void)ud, (void)in, (void)inlen;
  size_t n = (size_t)3 << 19; /* 1.5 MiB of bin */
  uint8_t *p = calloc(1, n + 5);
  p[0] = 0xc6;
  p[1] = (uint8_t)(n >> 24), p[2] = (uint8_t)(n >> 16), p[3] = (uint8_t)(n >> 8), p[4] = (uint8_t)n;
  *out = p;
  *outlen = n + 5;
  return 0;
}

static void test_max_output_option(void **state) {
  (void)state;
  wf_store *capped;
  wf_run *run;
  wf_store_close(st);
  wf_store_opts o = {.max_output_mb = 1};
  assert_wf_ok(wf_store_open_ex(dir, &o, &capped));
  assert_wf_ok(wf_run_begin(capped, "api", "big", &run));
  assert_wf_err(wf_step_map(run, 1, 1, item_fn, big_fn, NULL, NULL), WF_ESTEP);
  wf_step_info *s;
  assert_wf_ok(wf_step_info_get(capped, "big", "m/0", &s));
  assert_int_equal(s->status, WF_STEP_FAILED);
  assert_non_null(strstr(s->error, "exceeds"));
  wf_step_info_free(s);
  assert_wf_ok(wf_run_end(run, WF_RUN_FAILED));
  wf_store_close(capped);
  /* The default, 64 MiB, whatever the environment says: mapping it to options is the
   * CLI's business, not the library's. */
  setenv("WF_MAX_OUTPUT_MB", "1", 1);
  assert_wf_ok(wf_store_open(dir, &st));
  assert_wf_ok(wf_run_begin(st, "api", "big2", &run));
  int rc = wf_step_map(run, 1, 1, item_fn, big_fn, NULL, NULL);
  unsetenv("WF_MAX_OUTPUT_MB");
  assert_wf_ok(rc);
  assert_wf_ok(wf_run_end(run, WF_RUN_SUCCEEDED));
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define T_DIR(fn) cmocka_unit_test_setup_teardown(fn, setup_dir, teardown)
  const struct CMUnitTest tests[] = {
      T(test_store_open_ex),
      T(test_store_home_not_from_env),
      T_DIR(test_step_run_memoizes),
      T_DIR(test_run_owned_is_busy),
      T_DIR(test_step_map_window_and_memo),
      T_DIR(test_values_wf_cannot_keep),
      T(test_resume),
      T(test_run_id_stays),
      T(test_max_output_option),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
