/* test_owner.c — who owns a run (engine/owner.c) and taking it over (run.c): liveness
 * from the owner's lock whatever its pid says, a takeover fencing the old owner out, and
 * the lock of a run deleted while another process opens it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "assert_wf.h"
#include "api_fixture.h"
#include "wfengine.h"

static void read_run(wfs_env *env, const char *id, wfs_run *r) {
  wfs_txn t;
  assert_wf_ok(wfs_read_begin(env, &t));
  assert_wf_ok(wfs_run_get(&t, id, r));
  wfs_read_end(&t);
}

/* Liveness is the owner's lock on its epoch's byte (same kernel), whatever its pid says;
 * the heartbeat lease only for another kernel; pid and start time only for old records. */
static void test_owner_liveness(void **state) {
  (void)state;
  wfs_env *env;
  assert_wf_ok(wfs_open(dir, &env));
  wfi_run_spec spec = {0};
  spec.run_id = "live";
  spec.workflow = "t";
  wfi_lease lease = WFI_LEASE_INIT;
  assert_wf_ok(wfi_run_create(env, &spec, NULL, &lease));
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
  int ws = 0;
  assert_int_equal(waitpid(pid, &ws, 0), pid);
  assert_true(WIFEXITED(ws));
  return WEXITSTATUS(ws);
}

/* A takeover bumps the epoch; the owner taken over from records nothing more, and no
 * event of either is overwritten. */
static void test_takeover_fences_old_owner(void **state) {
  (void)state;
  wf_run *run;
  const void *out;
  size_t outlen;
  assert_wf_ok(wf_store_open(dir, &st));
  assert_wf_ok(wf_run_begin(st, "api", "fence", &run));
  assert_wf_ok(wf_step_run(run, "a", "\x01", 1, echo_fn, NULL, &out, &outlen, NULL));
  assert_int_equal(claim_elsewhere("fence", 0), 1);                       /* busy */
  assert_int_equal(claim_elsewhere("fence", WFI_CLAIM_TAKEOVER), 10 + 2); /* epoch 2 */
  assert_wf_err(wf_step_run(run, "b", "\x02", 1, echo_fn, NULL, &out, &outlen, NULL),
                WF_EFENCED);
  assert_wf_err(wf_run_end(run, WF_RUN_SUCCEEDED), WF_EFENCED);
  wf_store_close(st);
  st = NULL;

  wfs_env *env;
  assert_wf_ok(wfs_open(dir, &env));
  wfs_txn t;
  wfs_step s;
  assert_wf_ok(wfs_read_begin(env, &t));
  assert_wf_ok(wfs_step_get(&t, "fence", "a", &s));
  wfs_step_clear(&s);
  assert_wf_err(wfs_step_get(&t, "fence", "b", &s), WF_ENOTFOUND);
  struct seq_check c = {0, 0, 1};
  assert_wf_ok(wfs_events_scan(&t, "fence", 0, seq_cb, &c));
  wfs_read_end(&t);
  assert_true(c.ordered);
  /* run started, step a started and succeeded, resumed (taken over): nothing of the old
   * owner after that */
  assert_true(c.n == 4);
  wfs_run r = {0};
  read_run(env, "fence", &r);
  assert_int_equal(r.status, WFS_RUN_RUNNING); /* the old owner's "succeeded" was refused */
  assert_true(r.epoch == 2);
  assert_true(r.event_seq == c.last + 1);
  assert_false(wfi_run_owner_alive(dir, &r)); /* the process that took it over is gone */
  wfs_run_clear(&r);
  wfs_close(env);
}

/* A run deleted while another process opens its lock file to create a run of the same
 * id: the creator's lock must be where others look for it, not on the removed file. */
static void test_lock_of_a_deleted_run(void **state) {
  (void)state;
  make_run("again", "api", WF_RUN_SUCCEEDED, NULL);
  wfi_lease stale = WFI_LEASE_INIT;
  assert_wf_ok(wfi_lease_open(dir, "again", &stale)); /* before the deletion */
  assert_wf_ok(wf_run_delete(st, "again"));
  assert_wf_ok(wfi_lease_lock(&stale, 1));
  wfs_run r = {.id = "again", .status = WFS_RUN_RUNNING, .epoch = 1};
  wfi_owner_self(&r.owner);
  assert_false(wfi_run_owner_alive(dir, &r)); /* locked where nobody looks */
  assert_wf_ok(wfi_lease_recheck(&stale, dir, "again"));
  assert_true(wfi_run_owner_alive(dir, &r));
  assert_wf_ok(wfi_lease_recheck(&stale, dir, "again")); /* in place: kept */
  assert_true(wfi_run_owner_alive(dir, &r));
  wfi_lease_release(&stale);
  assert_false(wfi_run_owner_alive(dir, &r));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_owner_liveness, setup_dir, teardown),
      cmocka_unit_test_setup_teardown(test_takeover_fences_old_owner, setup_dir, teardown),
      cmocka_unit_test_setup_teardown(test_lock_of_a_deleted_run, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
