/* test_process.c — the exec activity (activities/process.c) against real children on a
 * real loop: output, stdin, env, exit codes, bad output, logs, kills of whole process
 * groups, concurrency.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "job_harness.h"

static void start(tjob *t) {
  t->t_start = now_s();
  wfa_exec.start(NULL, &t->job);
}

/* One job on its own loop, running `shell`. */
static void run_shell_at(tjob *t, const char *key, const char *shell, size_t max_output,
                         uint32_t attempt) {
  uv_loop_t *loop = malloc(sizeof *loop);
  uint8_t *in;
  size_t n;

  in = make_input(&n, shell, NULL, NULL, NULL, NULL);
  uv_loop_init(loop);
  tjob_init(t, loop, in, n, key);
  if (max_output)
    t->job.max_output = max_output;
  t->job.attempt = attempt;
  start(t);
  drain_loop(loop);
  free(loop);
  assert_int_equal(t->ndone, 1);
}

static void run_shell(tjob *t, const char *key, const char *shell, size_t max_output) {
  run_shell_at(t, key, shell, max_output, 1);
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf;
  long n;

  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc((size_t)n + 1);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = 0;
  fclose(f);
  if (len)
    *len = (size_t)n;
  return buf;
}

static void test_json_output(void **state) {
  tjob t;

  (void)state;
  run_shell(&t, "echo", "cat >/dev/null; echo '{\"a\":1}'", 0);
  assert_true(t.res.ok);
  assert_int_equal(t.res.exit_code, 0);
  assert_null(t.res.error);
  assert_int_equal(t.res.output_len, 4);
  assert_memory_equal(t.res.output, "\x81\xa1" "a\x01", 4);
  /* nothing on stderr: no log file is created */
  struct stat st;
  assert_int_not_equal(stat(t.log, &st), 0);
  tjob_free(&t);
}

static void test_stdin_reaches_child(void **state) {
  char path[600], *got;
  uv_loop_t loop;
  uint8_t *in;
  size_t n;
  tjob t;

  (void)state;
  snprintf(path, sizeof path, "cat > %s/stdin.json", dir);
  in = make_input(&n, path, NULL, NULL, "{\"date\":\"2024-01-02\",\"n\":3}", "{\"id\":7}");
  uv_loop_init(&loop);
  tjob_init(&t, &loop, in, n, "stage/item 1");
  snprintf(t.log, sizeof t.log, "%s/item.log", dir); /* the key holds a '/' */
  t.job.attempt = 2;
  start(&t);
  drain_loop(&loop);
  assert_null(t.res.error);
  assert_true(t.res.ok);
  assert_null(t.res.output);
  snprintf(path, sizeof path, "%s/stdin.json", dir);
  got = slurp(path, NULL);
  assert_string_equal(got, "{\"run_id\":\"run1\",\"step_key\":\"stage/item 1\",\"attempt\":2,"
                           "\"params\":{\"date\":\"2024-01-02\",\"n\":3},\"inputs\":{},"
                           "\"item\":{\"id\":7}}\n");
  free(got);
  tjob_free(&t);
}

static void test_env(void **state) {
  char want[600];
  tjob t;

  (void)state;
  setenv("WF_RUN_ID", "stale-from-parent", 1);
  run_shell(&t, "envkey",
            "printf '[\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\"]' \"$WF_RUN_ID\" "
            "\"$WF_STEP_KEY\" \"$WF_ATTEMPT\" \"$WF_IDEMPOTENCY_KEY\" \"$WF_RUN_DIR\" \"$HOME\"",
            0);
  unsetenv("WF_RUN_ID");
  assert_true(t.res.ok);
  snprintf(want, sizeof want, "[\"run1\",\"envkey\",\"1\",\"run1/envkey\",\"%s\",\"%s\"]", dir,
           getenv("HOME") ? getenv("HOME") : "");
  assert_output(&t, want);
  tjob_free(&t);
}

static void test_exit_code_and_signal(void **state) {
  tjob t;

  (void)state;
  run_shell(&t, "exit3", "echo oops >&2; exit 3", 0);
  assert_false(t.res.ok);
  assert_true(t.res.retryable);
  assert_int_equal(t.res.exit_code, 3);
  assert_string_equal(t.res.error, "exited with code 3");
  assert_string_equal(t.res.stderr_tail, "oops\n");
  tjob_free(&t);

  run_shell(&t, "usr1", "kill -USR1 $$; sleep 5", 0);
  assert_false(t.res.ok);
  assert_true(t.res.retryable);
  assert_int_equal(t.res.exit_code, 128 + SIGUSR1);
  assert_string_equal(t.res.error, "killed by signal SIGUSR1");
  tjob_free(&t);
}

static void test_bad_stdout(void **state) {
  tjob t;

  (void)state;
  run_shell(&t, "hello", "echo hello", 0);
  assert_false(t.res.ok);
  assert_false(t.res.retryable);
  assert_int_equal(t.res.exit_code, 0);
  assert_string_equal(t.res.error, "stdout is not JSON (line 1, column 1): hello");
  tjob_free(&t);

  run_shell(&t, "two", "printf '{\"a\":1}\\n  {\"b\":2}'", 0);
  assert_false(t.res.ok);
  assert_false(t.res.retryable);
  assert_string_equal(t.res.error, "stdout is not JSON (line 2, column 3): {\"a\":1}   {\"b\":2}");
  tjob_free(&t);

  run_shell(&t, "nul", "printf '1\\0002'", 0);
  assert_false(t.res.ok);
  assert_non_null(strstr(t.res.error, "(line 1, column 2)"));
  tjob_free(&t);
}

static void test_empty_stdout_is_nil(void **state) {
  tjob t;

  (void)state;
  run_shell(&t, "empty", "true", 0);
  assert_true(t.res.ok);
  assert_null(t.res.output);
  assert_null(t.res.stderr_tail);
  tjob_free(&t);
  run_shell(&t, "blank", "printf ' \\n\\t\\r\\n'", 0);
  assert_true(t.res.ok);
  assert_null(t.res.output);
  tjob_free(&t);
}

static void test_missing_program(void **state) {
  static const char *const missing[] = {"wf-no-such-program-zz9", NULL};
  const char *noexec[] = {NULL, NULL};
  char path[600], want[700];
  uv_loop_t loop;
  uint8_t *in;
  size_t n;
  tjob t;
  FILE *f;

  (void)state;
  uv_loop_init(&loop);
  in = make_input(&n, NULL, missing, NULL, NULL, NULL);
  tjob_init(&t, &loop, in, n, "missing");
  start(&t);
  assert_int_equal(t.ndone, 1); /* reported inside start */
  assert_false(t.res.ok);
  assert_false(t.res.retryable);
  assert_string_equal(t.res.error, "program not found: wf-no-such-program-zz9");
  tjob_free(&t);

  snprintf(path, sizeof path, "%s/noexec.sh", dir);
  assert_non_null(f = fopen(path, "w"));
  fputs("#!/bin/sh\necho 1\n", f);
  fclose(f);
  noexec[0] = path;
  in = make_input(&n, NULL, noexec, NULL, NULL, NULL);
  tjob_init(&t, &loop, in, n, "noexec");
  start(&t);
  assert_int_equal(t.ndone, 1);
  assert_false(t.res.retryable);
  snprintf(want, sizeof want, "cannot execute %s: %s", path, strerror(EACCES));
  assert_string_equal(t.res.error, want);
  tjob_free(&t);

  in = make_input(&n, "true", NULL, "/nonexistent-wf-dir", NULL, NULL);
  tjob_init(&t, &loop, in, n, "badcwd");
  start(&t);
  assert_int_equal(t.ndone, 1);
  assert_false(t.res.retryable);
  assert_string_equal(t.res.error,
                      "cannot change directory to /nonexistent-wf-dir: No such file or directory");
  tjob_free(&t);
  drain_loop(&loop);
}

static void test_bad_input(void **state) {
  static const char *const run[] = {"true", NULL};
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uv_loop_t loop;
  tjob t;

  (void)state;
  uv_loop_init(&loop);
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 2);
  wfm_pack_str(&pk, "shell");
  wfm_pack_str(&pk, "true");
  wfm_pack_str(&pk, "run");
  msgpack_pack_array(&pk, 1);
  wfm_pack_str(&pk, run[0]);
  tjob_init(&t, &loop, (uint8_t *)sb.data, sb.size, "both");
  start(&t);
  assert_int_equal(t.ndone, 1);
  assert_false(t.res.retryable);
  assert_string_equal(t.res.error, "exec input needs exactly one of \"run\" and \"shell\"");
  tjob_free(&t);

  tjob_init(&t, &loop, (uint8_t *)strdup("\x93\x01"), 2, "corrupt");
  start(&t);
  assert_int_equal(t.ndone, 1);
  assert_false(t.res.retryable);
  assert_string_equal(t.res.error, "exec input is not a msgpack map");
  tjob_free(&t);
  drain_loop(&loop);
}

static void test_oversize_output(void **state) {
  tjob t;

  (void)state;
  /* exactly at the cap is fine; one byte more is not */
  run_shell(&t, "cap", "printf '\"'; head -c 998 /dev/zero | tr '\\000' a; printf '\"'", 1000);
  assert_true(t.res.ok);
  tjob_free(&t);
  run_shell(&t, "over", "printf '\"'; head -c 998 /dev/zero | tr '\\000' a; printf '\"'", 999);
  assert_false(t.res.ok);
  assert_false(t.res.retryable);
  assert_string_equal(t.res.error, "output exceeds 999 bytes");
  tjob_free(&t);
  /* an endless writer is stopped, group and all */
  run_shell(&t, "yes", "yes | cat", 4096);
  assert_false(t.res.retryable);
  assert_string_equal(t.res.error, "output exceeds 4096 bytes");
  tjob_free(&t);
}

static void test_stderr_log_and_tail(void **state) {
  static const char script[] = "echo first >&2; i=0; while [ $i -lt 2000 ]; do "
                               "echo \"line $i\" >&2; i=$((i+1)); done; echo last >&2";
  char *log;
  size_t len;
  tjob t;

  (void)state;
  run_shell(&t, "log", script, 0);
  assert_true(t.res.ok);
  assert_non_null(t.res.stderr_tail);
  assert_int_equal(strlen(t.res.stderr_tail), 4096);
  assert_null(strstr(t.res.stderr_tail, "first"));
  len = strlen(t.res.stderr_tail);
  assert_string_equal(t.res.stderr_tail + len - 15, "line 1999\nlast\n");
  tjob_free(&t);
  log = slurp(t.log, &len);
  assert_memory_equal(log, "--- attempt 1 ", 14);
  assert_non_null(strstr(log, "Z\nfirst\nline 0\n"));
  assert_string_equal(log + len - 15, "line 1999\nlast\n");
  free(log);

  /* a second attempt appends under its own header */
  run_shell_at(&t, "log", "echo again >&2", 0, 2);
  tjob_free(&t);
  log = slurp(t.log, &len);
  assert_non_null(strstr(log, "last\n--- attempt 2 "));
  assert_string_equal(log + len - 6, "again\n");
  free(log);
}

static void test_log_cap(void **state) {
  struct stat st;
  char *log;
  size_t len;
  tjob t;

  (void)state;
  run_shell(&t, "flood", "yes 0123456789abcdef | head -c 70000000 >&2; echo done >&2", 0);
  assert_true(t.res.ok);
  assert_string_equal(t.res.stderr_tail + strlen(t.res.stderr_tail) - 5, "done\n");
  tjob_free(&t);
  assert_int_equal(stat(t.log, &st), 0);
  assert_true(st.st_size > (64 << 20) && st.st_size < (64 << 20) + 200);
  log = slurp(t.log, &len);
  assert_string_equal(log + len - 34, "\n[wf: log truncated after 64 MiB]\n");
  free(log);
}

/* The grandchild pid a script wrote is gone (or a zombie awaiting its new parent). */
static int pid_dead(pid_t pid) {
  char path[64], buf[256], *p;
  FILE *f;

  if (kill(pid, 0) && errno == ESRCH)
    return 1;
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  if (!(f = fopen(path, "r")))
    return 1;
  p = fgets(buf, sizeof buf, f) ? strrchr(buf, ')') : NULL;
  fclose(f);
  return p && p[1] == ' ' && p[2] == 'Z';
}

static pid_t read_pid(const char *name) {
  char path[600];
  FILE *f;
  int pid = 0;

  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (!(f = fopen(path, "r")))
    return 0;
  if (fscanf(f, "%d", &pid) != 1)
    pid = 0;
  fclose(f);
  return pid;
}

static const char *kill_pidfile;

static void kill_when_ready(uv_timer_t *timer) {
  tjob *t = timer->data;

  if (!read_pid(kill_pidfile))
    return;
  t->t_kill = now_s();
  wfa_exec.kill(NULL, &t->job, WFI_KILL_TIMEOUT);
  wfa_exec.kill(NULL, &t->job, WFI_KILL_TIMEOUT); /* idempotent */
  uv_close((uv_handle_t *)timer, NULL);
}

static void test_kill_group_ignoring_term(void **state) {
  char cmd[600];
  uv_loop_t loop;
  uv_timer_t timer;
  uint8_t *in;
  size_t n;
  pid_t gc;
  double until;
  tjob t;

  (void)state;
  snprintf(cmd, sizeof cmd, "trap '' TERM; sleep 30 & echo $! > %s/gc.pid; sleep 30", dir);
  in = make_input(&n, cmd, NULL, NULL, NULL, NULL);
  uv_loop_init(&loop);
  tjob_init(&t, &loop, in, n, "trapper");
  start(&t);
  uv_timer_init(&loop, &timer);
  timer.data = &t;
  kill_pidfile = "gc.pid";
  uv_timer_start(&timer, kill_when_ready, 10, 10);
  drain_loop(&loop);
  assert_int_equal(t.ndone, 1);
  assert_true(t.t_kill > 0);
  /* SIGTERM is ignored, so only the SIGKILL after the 0.2 s grace ends it */
  assert_true(t.t_done - t.t_kill >= 0.19);
  assert_true(t.t_done - t.t_kill < 1.0);
  assert_false(t.res.ok);
  assert_int_equal(t.res.exit_code, 128 + SIGKILL);
  assert_string_equal(t.res.error, "killed by signal SIGKILL");
  gc = read_pid("gc.pid");
  assert_true(gc > 0);
  for (until = now_s() + 2; !pid_dead(gc) && now_s() < until;)
    nanosleep(&(struct timespec){0, 10000000}, NULL);
  assert_true(pid_dead(gc));
  tjob_free(&t);
}

/* The leader dies of SIGTERM at once; an orphan ignoring it must not wait for the grace
 * period (nor hold the pipes for the drain timeout): the group is killed at the exit. */
static void test_kill_orphan_after_leader_exit(void **state) {
  char cmd[600];
  uv_loop_t loop;
  uv_timer_t timer;
  uint8_t *in;
  size_t n;
  pid_t orphan;
  double until;
  tjob t;

  (void)state;
  snprintf(cmd, sizeof cmd, "(trap '' TERM; exec sleep 30) & echo $! > %s/orphan.pid; sleep 30",
           dir);
  in = make_input(&n, cmd, NULL, NULL, NULL, NULL);
  uv_loop_init(&loop);
  tjob_init(&t, &loop, in, n, "orphan");
  t.job.kill_grace_s = 5;
  start(&t);
  uv_timer_init(&loop, &timer);
  timer.data = &t;
  kill_pidfile = "orphan.pid";
  uv_timer_start(&timer, kill_when_ready, 10, 10);
  drain_loop(&loop);
  assert_int_equal(t.ndone, 1);
  assert_true(t.t_done - t.t_kill < 1.0);
  assert_int_equal(t.res.exit_code, 128 + SIGTERM);
  assert_string_equal(t.res.error, "killed by signal SIGTERM");
  orphan = read_pid("orphan.pid");
  assert_true(orphan > 0);
  for (until = now_s() + 2; !pid_dead(orphan) && now_s() < until;)
    nanosleep(&(struct timespec){0, 10000000}, NULL);
  assert_true(pid_dead(orphan));
  tjob_free(&t);
}

static void test_early_stdout_close(void **state) {
  tjob t;

  (void)state;
  run_shell(&t, "early", "echo 42; exec >&-; sleep 0.3; echo bye >&2", 0);
  assert_true(t.res.ok);
  assert_output(&t, "42");
  assert_string_equal(t.res.stderr_tail, "bye\n");
  assert_true(t.t_done - t.t_start >= 0.29);
  tjob_free(&t);
}

static void test_child_ignores_big_stdin(void **state) {
  char *params = malloc(3 << 20);
  uv_loop_t loop;
  uint8_t *in;
  size_t n;
  tjob t;

  (void)state;
  strcpy(params, "{\"big\":\"");
  memset(params + 8, 'x', 2 << 20);
  strcpy(params + 8 + (2 << 20), "\"}");
  in = make_input(&n, "exec 0<&-; echo 5", NULL, NULL, params, NULL);
  free(params);
  uv_loop_init(&loop);
  tjob_init(&t, &loop, in, n, "nostdin");
  start(&t);
  drain_loop(&loop);
  assert_true(t.res.ok);
  assert_output(&t, "5");
  tjob_free(&t);
}

static void test_drain_timeout(void **state) {
  tjob t;
  pid_t bg;

  (void)state;
  char shell[512];
  snprintf(shell, sizeof shell, "sleep 4 & echo $! > %s/bg.pid; echo 1", dir);
  run_shell(&t, "drain", shell, 0);
  assert_true(t.res.ok);
  assert_output(&t, "1");
  assert_true(t.t_done - t.t_start >= 1.9 && t.t_done - t.t_start < 3.5);
  bg = read_pid("bg.pid");
  assert_true(bg > 0);
  kill(bg, SIGKILL);
  tjob_free(&t);
}

static void test_cwd(void **state) {
  char want[600];
  uv_loop_t loop;
  uint8_t *in;
  size_t n;
  tjob t;

  (void)state;
  in = make_input(&n, "printf '\"%s\"' \"$(pwd -P)\"", NULL, dir, NULL, NULL);
  uv_loop_init(&loop);
  tjob_init(&t, &loop, in, n, "cwd");
  start(&t);
  drain_loop(&loop);
  assert_true(t.res.ok);
  snprintf(want, sizeof want, "\"%s\"", dir);
  assert_output(&t, want);
  tjob_free(&t);
}

static void test_concurrent(void **state) {
  enum { N = 20 };
  tjob *t = calloc(N, sizeof *t);
  uv_loop_t loop;
  char cmd[128], key[16], want[32];
  uint8_t *in;
  size_t n, i;

  (void)state;
  uv_loop_init(&loop);
  for (i = 0; i < N; i++) {
    snprintf(cmd, sizeof cmd, "cat >/dev/null; sleep 0.0%zu; echo '{\"n\":%zu}'; exit %d",
             i % 10, i, i % 7 == 6 ? 1 : 0);
    snprintf(key, sizeof key, "c%zu", i);
    in = make_input(&n, cmd, NULL, NULL, NULL, NULL);
    tjob_init(&t[i], &loop, in, n, key);
    start(&t[i]);
  }
  drain_loop(&loop);
  for (i = 0; i < N; i++) {
    assert_int_equal(t[i].ndone, 1);
    if (i % 7 == 6) {
      assert_false(t[i].res.ok);
      assert_int_equal(t[i].res.exit_code, 1);
    } else {
      assert_true(t[i].res.ok);
      snprintf(want, sizeof want, "{\"n\":%zu}", i);
      assert_output(&t[i], want);
    }
    tjob_free(&t[i]);
  }
  free(t);
}

/* 200 × /bin/true, 8 in flight, each finished job starting the next from on_done. */
typedef struct rolling {
  tjob t[8];
  uint8_t *in;
  size_t n, started, done, failed;
} rolling;

static void rolling_done(wfi_job *job, wfi_result *res) {
  rolling *r = job->act_ctx;
  tjob *t = (tjob *)job;

  r->done++;
  r->failed += !res->ok;
  free(res->output);
  free(res->error);
  free(res->stderr_tail);
  if (r->started < 200) {
    r->started++;
    wfa_exec.start(NULL, &t->job);
  }
}

static void test_throughput(void **state) {
  static const char *const run[] = {"true", NULL};
  rolling *r = calloc(1, sizeof *r);
  uv_loop_t loop;
  double t0, dt;
  size_t i;

  (void)state;
  uv_loop_init(&loop);
  r->in = make_input(&r->n, NULL, run, NULL, NULL, NULL);
  t0 = now_s();
  for (i = 0; i < 8; i++) {
    tjob_init(&r->t[i], &loop, NULL, 0, "true");
    r->t[i].job.input = r->in;
    r->t[i].job.input_len = r->n;
    r->t[i].job.log_path = NULL;
    r->t[i].job.act_ctx = r;
    r->t[i].job.on_done = rolling_done;
    r->started++;
    wfa_exec.start(NULL, &r->t[i].job);
  }
  drain_loop(&loop);
  dt = now_s() - t0;
  print_message("200 x true, 8 in flight: %.3f s (%.0f/s)\n", dt, 200 / dt);
  assert_int_equal(r->done, 200);
  assert_int_equal(r->failed, 0);
  /* a missed SIGCHLD would cost the 200 ms safety poll per job: 5 s in all */
  assert_true(dt < 3.0);
  free(r->in);
  free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_json_output),
      cmocka_unit_test(test_stdin_reaches_child),
      cmocka_unit_test(test_env),
      cmocka_unit_test(test_exit_code_and_signal),
      cmocka_unit_test(test_bad_stdout),
      cmocka_unit_test(test_empty_stdout_is_nil),
      cmocka_unit_test(test_missing_program),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_oversize_output),
      cmocka_unit_test(test_stderr_log_and_tail),
      cmocka_unit_test(test_log_cap),
      cmocka_unit_test(test_kill_group_ignoring_term),
      cmocka_unit_test(test_kill_orphan_after_leader_exit),
      cmocka_unit_test(test_early_stdout_close),
      cmocka_unit_test(test_child_ignores_big_stdin),
      cmocka_unit_test(test_drain_timeout),
      cmocka_unit_test(test_cwd),
      cmocka_unit_test(test_concurrent),
      cmocka_unit_test(test_throughput),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
