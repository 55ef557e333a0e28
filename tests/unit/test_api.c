/* test_api.c — the public embedding API (wf/wf.h): memoized steps, fan-out through the
 * scheduler, ownership, outcomes; and the engine's small pure pieces (retry timing,
 * owner liveness, log paths). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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
  wf_store *st;
  wf_run *run;
  const void *out;
  size_t outlen;
  int memo;
  char key[16];
  assert_int_equal(wf_store_open(dir, &st), 0);
  assert_int_equal(wf_run_begin(st, "api", "bad", &run), 0);
  for (bad_kind = 0; bad_kind <= 5; bad_kind++) {
    snprintf(key, sizeof key, "k%d", bad_kind);
    const uint8_t in[] = {(uint8_t)bad_kind};
    int rc = wf_step_run(run, key, in, 1, bad_fn, NULL, &out, &outlen, &memo);
    assert_int_equal(rc, bad_kind == 0 ? 0 : WF_ESTEP);
    /* Whatever happened was recorded readably: the step is read back (memoized at the
     * limit; executed again when it failed). */
    calls = 0;
    rc = wf_step_run(run, key, in, 1, bad_fn, NULL, &out, &outlen, &memo);
    assert_int_equal(rc, bad_kind == 0 ? 0 : WF_ESTEP);
    assert_int_equal(calls, bad_kind == 0 ? 0 : 1);
  }
  /* An input one level too deep is refused before anything runs. */
  uint8_t deep[WF_MAX_VALUE_DEPTH + 2];
  memset(deep, 0x91, WF_MAX_VALUE_DEPTH + 1);
  deep[WF_MAX_VALUE_DEPTH + 1] = 0xc3;
  calls = 0;
  assert_int_equal(wf_step_run(run, "deepin", deep, sizeof deep, step_fn, NULL, &out, &outlen,
                               &memo), WF_EINVAL);
  assert_int_equal(calls, 0);
  /* So are such items of a fan-out. */
  assert_int_equal(wf_step_map(run, 3, 2, deep_item_fn, step_fn, NULL, NULL), WF_ESTEP);
  assert_int_equal(calls, 0);
  assert_int_equal(wf_run_end(run, WF_RUN_FAILED), 0);
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

static void read_run(wfs_env *env, const char *id, wfs_run *r) {
  wfs_txn t;
  assert_int_equal(wfs_read_begin(env, &t), 0);
  assert_int_equal(wfs_run_get(&t, id, r), 0);
  wfs_read_end(&t);
}

/* Liveness is the owner's lock on its epoch's byte (same kernel), whatever its pid says;
 * the heartbeat lease only for another kernel; pid and start time only for old records. */
static void test_owner_liveness(void **state) {
  (void)state;
  wfs_env *env;
  assert_int_equal(wfs_open(dir, &env), 0);
  wfi_run_spec spec = {0};
  spec.run_id = "live";
  spec.workflow = "t";
  wfi_lease lease = WFI_LEASE_INIT;
  assert_int_equal(wfi_run_create(env, &spec, NULL, &lease), 0);
  wfs_run r = {0};
  read_run(env, "live", &r);
  assert_true(r.epoch == 1 && lease.epoch == 1);
  wfs_owner me;
  wfi_owner_self(&me);
  assert_int_equal(r.owner.pid, getpid());
  assert_true(wfi_run_owner_alive(dir, &r));
  r.owner.pid = 0x7ffffff0; /* a pid this namespace does not have: the lock still tells */
  assert_true(wfi_run_owner_alive(dir, &r));
  assert_int_equal(wfi_run_effective_status(dir, &r), WFS_RUN_RUNNING);
  r.owner = me;
  wfi_lease_release(&lease); /* the lock is gone though this process lives */
  assert_false(wfi_run_owner_alive(dir, &r));
  assert_int_equal(wfi_run_effective_status(dir, &r), WFS_RUN_INTERRUPTED);
  r.epoch = 0; /* a record from before owner locks: pid and start time */
  assert_true(wfi_run_owner_alive(dir, &r));
  r.owner.start_time++;
  assert_false(wfi_run_owner_alive(dir, &r));
  r.epoch = 1;
  r.owner = me;
  strcpy(r.owner.boot_id, "another-kernel");
  r.heartbeat = wfs_now_ms();
  assert_true(wfi_run_owner_alive(dir, &r)); /* fresh heartbeat */
  r.heartbeat -= WFI_LEASE_MS + 1000;
  assert_false(wfi_run_owner_alive(dir, &r)); /* lease expired */
  memset(&r.owner, 0, sizeof r.owner);
  assert_false(wfi_run_owner_alive(dir, &r));
  wfs_run_clear(&r);
  wfs_close(env);
}

struct seq_check {
  uint64_t n, last;
  int ordered;
};

static int seq_cb(void *ud, const wfs_event *e) {
  struct seq_check *c = ud;
  if (c->n && e->seq != c->last + 1) c->ordered = 0;
  c->last = e->seq;
  c->n++;
  return 0;
}

/* Another process claims run `id`: 0 on success, 1 busy, 2 other errors; 10 + epoch when
 * `takeover` found a live owner. (LMDB allows one environment per process, so the other
 * owner has to be another process.) */
static int claim_elsewhere(const char *id, int flags) {
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    wfs_env *env;
    if (wfs_open(dir, &env)) _exit(2);
    wfi_lease lease = WFI_LEASE_INIT;
    wfi_claim_info info;
    int rc = wfi_run_claim(env, id, NULL, flags, &lease, &info);
    wfs_close(env);
    _exit(rc == WF_EBUSY ? 1 : rc ? 2 : info.alive ? 10 + (int)lease.epoch : 0);
  }
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  return WEXITSTATUS(st);
}

/* A takeover bumps the epoch; the owner taken over from records nothing more, and no
 * event of either is overwritten. */
static void test_takeover_fences_old_owner(void **state) {
  (void)state;
  wf_store *st;
  wf_run *run;
  const void *out;
  size_t outlen;
  assert_int_equal(wf_store_open(dir, &st), 0);
  assert_int_equal(wf_run_begin(st, "api", "fence", &run), 0);
  assert_int_equal(wf_step_run(run, "a", "\x01", 1, step_fn, NULL, &out, &outlen, NULL), 0);
  assert_int_equal(claim_elsewhere("fence", 0), 1);                       /* busy */
  assert_int_equal(claim_elsewhere("fence", WFI_CLAIM_TAKEOVER), 10 + 2); /* epoch 2 */
  assert_int_equal(wf_step_run(run, "b", "\x02", 1, step_fn, NULL, &out, &outlen, NULL),
                   WF_EFENCED);
  assert_int_equal(wf_run_end(run, WF_RUN_SUCCEEDED), WF_EFENCED);
  wf_store_close(st);

  wfs_env *env;
  assert_int_equal(wfs_open(dir, &env), 0);
  wfs_txn t;
  wfs_step s;
  assert_int_equal(wfs_read_begin(env, &t), 0);
  assert_int_equal(wfs_step_get(&t, "fence", "a", &s), 0);
  wfs_step_clear(&s);
  assert_int_equal(wfs_step_get(&t, "fence", "b", &s), WF_ENOTFOUND);
  struct seq_check c = {0, 0, 1};
  assert_int_equal(wfs_events_scan(&t, "fence", 0, seq_cb, &c), 0);
  wfs_read_end(&t);
  assert_true(c.ordered);
  assert_true(c.n == 3); /* started, step a, resumed (taken over): nothing of the old owner */
  wfs_run r = {0};
  read_run(env, "fence", &r);
  assert_int_equal(r.status, WFS_RUN_RUNNING); /* the old owner's "succeeded" was refused */
  assert_true(r.epoch == 2);
  assert_true(r.event_seq == c.last + 1);
  assert_false(wfi_run_owner_alive(dir, &r)); /* the process that took it over is gone */
  wfs_run_clear(&r);
  wfs_close(env);
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
      cmocka_unit_test_setup_teardown(test_values_wf_cannot_keep, setup, teardown),
      cmocka_unit_test(test_retry_delay_math),
      cmocka_unit_test_setup_teardown(test_owner_liveness, setup, teardown),
      cmocka_unit_test_setup_teardown(test_takeover_fences_old_owner, setup, teardown),
      cmocka_unit_test(test_log_path_encoding),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
