/* api.c — W1 (sequential wf_step_run), W2 (wf_step_map fan-out) and W3 (SIGKILL inside
 * a run, then a new process resumes it) through the public embedding API. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

/* The store of a measurement: <dir>/home, created empty. */
static void fresh_home(const bench_opts *o, char *home, size_t cap) {
  if (!o->dir) die("--dir is required");
  snprintf(home, cap, "%s/home", o->dir);
  rm_rf(home);
  make_dir(o->dir);
}

int cmd_w1(bench_opts *o) {
  size_t n = o->n ? o->n : 1000;
  char home[4096];
  fresh_home(o, home, sizeof home);
  wf_store *st;
  wf_run *run;
  check(wf_store_open(home, &st), "open store");
  check(wf_run_begin(st, "bench-w1", "w1", &run), "begin run");
  double *lat = malloc(n * sizeof *lat);
  if (!lat) die("out of memory");
  uint8_t in[PAYLOAD_LEN + 32];
  char key[32];
  double t0 = now_s();
  for (size_t i = 0; i < n; i++) {
    size_t inlen = mp_input(in, (uint32_t)i);
    snprintf(key, sizeof key, "%07zu", i);
    const void *out;
    size_t outlen;
    int memo;
    uint32_t got;
    double t = now_s();
    check(wf_step_run(run, key, in, inlen, step_ok, NULL, &out, &outlen, &memo), "step");
    lat[i] = now_s() - t;
    if (memo || mp_read_i(out, outlen, &got) || got != i) die("step %zu: wrong output", i);
  }
  double wall = now_s() - t0;
  check(wf_run_end(run, WF_RUN_SUCCEEDED), "end run");
  wf_store_close(st);
  printf("n=%zu wall_s=%.4f steps_per_s=%.1f p50_step_ms=%.3f p99_step_ms=%.3f\n", n, wall,
         (double)n / wall, quantile(lat, n, 0.50) * 1e3, quantile(lat, n, 0.99) * 1e3);
  free(lat);
  return 0;
}

int cmd_w2(bench_opts *o) {
  size_t n = o->n ? o->n : 1000;
  unsigned c = o->c ? (unsigned)o->c : 32;
  char home[4096];
  fresh_home(o, home, sizeof home);
  wf_store *st;
  wf_run *run;
  unsigned max_inflight = 0;
  check(wf_store_open(home, &st), "open store");
  check(wf_run_begin(st, "bench-w2", "w2", &run), "begin run");
  double t0 = now_s();
  check(wf_step_map(run, n, c, item_std, step_ok, NULL, &max_inflight), "step map");
  double wall = now_s() - t0;
  check(wf_run_end(run, WF_RUN_SUCCEEDED), "end run");
  wf_store_close(st);
  if (max_inflight > c) die("max_inflight %u above the window %u", max_inflight, c);
  printf("n=%zu wall_s=%.4f steps_per_s=%.1f max_inflight=%u c=%u\n", n, wall, (double)n / wall,
         max_inflight, c);
  return 0;
}

/* ---- W3 -------------------------------------------------------------------------- */

struct w3_ctx {
  int fd;
  size_t k;
  int kill_in_step, kill_next_step;
  int64_t first_us;
};

/* Appends "<i> <epoch_ms>" to the side file; the first process kills itself at K. */
static int w3_step(void *ud, const void *in, size_t inlen, void **out, size_t *outlen) {
  struct w3_ctx *c = ud;
  uint32_t i;
  if (mp_read_i(in, inlen, &i)) return -1;
  if (c->kill_next_step && i == c->k + 1) raise(SIGKILL);
  if (!c->first_us) c->first_us = epoch_us();
  char line[64];
  int len = snprintf(line, sizeof line, "%u %lld\n", i, (long long)(epoch_us() / 1000));
  if (write(c->fd, line, (size_t)len) != len) return -1;
  if (c->kill_in_step && i == c->k) raise(SIGKILL);
  return mp_output(i, out, outlen);
}

/* One process of W3: executes (or resumes) the run; the resumed one reports when it
 * executed its first step and when the run was finished. */
int cmd_w3_child(bench_opts *o) {
  char home[4096];
  snprintf(home, sizeof home, "%s/home", o->dir);
  struct w3_ctx c = {0};
  c.k = o->k;
  c.kill_in_step = !o->resume && strcmp(o->crash_point, "in-step") == 0;
  c.kill_next_step = !o->resume && strcmp(o->crash_point, "next-step") == 0;
  c.fd = open(o->side, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (c.fd < 0) die("cannot open %s", o->side);
  wf_store *st;
  wf_run *run;
  check(wf_store_open(home, &st), "open store");
  check(wf_run_begin(st, "bench-w3", "w3", &run), "begin run");
  uint8_t in[PAYLOAD_LEN + 32];
  char key[32];
  for (size_t i = 0; i < o->n; i++) {
    size_t inlen = mp_input(in, (uint32_t)i);
    snprintf(key, sizeof key, "%07zu", i);
    check(wf_step_run(run, key, in, inlen, w3_step, &c, NULL, NULL, NULL), "step");
  }
  check(wf_run_end(run, WF_RUN_SUCCEEDED), "end run");
  int64_t end_us = epoch_us();
  wf_store_close(st);
  close(c.fd);
  printf("first_us=%lld end_us=%lld\n", (long long)c.first_us, (long long)end_us);
  return 0;
}

/* Executions beyond the first of each key in the side file; dies when a key is missing. */
static size_t count_dups(const char *side, size_t n) {
  FILE *f = fopen(side, "r");
  if (!f) die("cannot read %s", side);
  unsigned *seen = calloc(n, sizeof *seen);
  if (!seen) die("out of memory");
  unsigned i;
  long long ms;
  size_t lines = 0;
  while (fscanf(f, "%u %lld", &i, &ms) == 2) {
    if (i >= n) die("side file has key %u, beyond n", i);
    seen[i]++;
    lines++;
  }
  fclose(f);
  for (size_t k = 0; k < n; k++)
    if (!seen[k]) die("step %zu was never executed", k);
  free(seen);
  return lines - n;
}

int cmd_w3(bench_opts *o, char *self) {
  size_t n = o->n ? o->n : 200;
  size_t k = o->k ? o->k : 100;
  if (k + 2 > n) die("W3 needs k + 2 <= n (k=%zu, n=%zu)", k, n);
  char home[4096], side[4096], ns[32], ks[32];
  fresh_home(o, home, sizeof home);
  snprintf(side, sizeof side, "%s/side.txt", o->dir);
  remove(side);
  snprintf(ns, sizeof ns, "%zu", n);
  snprintf(ks, sizeof ks, "%zu", k);
  char *argv[] = {self, "w3-child", "--dir", o->dir, "--side", side, "--n", ns,
                  "--k", ks, "--crash-point", o->crash_point, NULL, NULL};

  double t0 = now_s();
  int st = wait_status(spawn_cmd(argv, NULL, 1));
  if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL) die("the first process was not killed at step %zu", k);
  int64_t restart_us = epoch_us();
  argv[12] = "--resume";
  int fd;
  int pid = spawn_cmd(argv, &fd, 0);
  char report[256];
  read_all(fd, report, sizeof report);
  st = wait_status(pid);
  double wall = now_s() - t0;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) die("the resumed process failed");
  double resume_s = (kv_num(report, "first_us") - (double)restart_us) / 1e6;
  double recovery_s = (kv_num(report, "end_us") - (double)restart_us) / 1e6;
  size_t dups = count_dups(side, n);
  printf("n=%zu wall_s=%.4f steps_per_s=%.1f dups=%zu recovery_s=%.4f resume_s=%.4f "
         "crash_point=%s k=%zu\n",
         n, wall, (double)n / wall, dups, recovery_s, resume_s, o->crash_point, k);
  return 0;
}
