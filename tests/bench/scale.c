/* scale.c — the scale figures: resuming a run of 100k recorded steps, a store of 100k
 * runs for show-run/list-runs, and the peak RSS of a 1M-item fan-out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "bench.h"
#include "wfstore.h"

static void home_of(const bench_opts *o, char *home, size_t cap) {
  if (!o->dir) die("--dir is required");
  snprintf(home, cap, "%s/home", o->dir);
}

/* ---- resume_100k ------------------------------------------------------------------- */

/* Records n steps through wf_step_map, then ends the run failed: resumable, with one
 * more item (n) that the resuming process will find unrecorded. */
int cmd_resume_build(bench_opts *o) {
  size_t n = o->n ? o->n : 100000;
  char home[4096];
  home_of(o, home, sizeof home);
  rm_rf(home);
  make_dir(o->dir);
  wf_store *st;
  wf_run *run;
  check(wf_store_open(home, &st), "open store");
  check(wf_run_begin(st, "bench-resume", "resume", &run), "begin run");
  double t0 = now_s();
  check(wf_step_map(run, n, 32, item_std, step_ok, NULL, NULL), "step map");
  double wall = now_s() - t0;
  check(wf_run_end(run, WF_RUN_FAILED), "end run");
  wf_store_close(st);
  printf("n=%zu wall_s=%.4f steps_per_s=%.1f\n", n, wall, (double)n / wall);
  return 0;
}

struct resume_ctx {
  int64_t first_us;
  size_t executed;
};

static int resume_step(void *ud, const void *in, size_t inlen, void **out, size_t *outlen) {
  struct resume_ctx *c = ud;
  if (!c->first_us) c->first_us = epoch_us();
  c->executed++;
  return step_ok(NULL, in, inlen, out, outlen);
}

/* The resuming process: the same fan-out with one more item. */
int cmd_resume_child(bench_opts *o) {
  int64_t main_us = epoch_us();
  char home[4096];
  home_of(o, home, sizeof home);
  struct resume_ctx c = {0};
  wf_store *st;
  wf_run *run;
  check(wf_store_open(home, &st), "open store");
  check(wf_run_begin(st, "bench-resume", "resume", &run), "resume run");
  int64_t begun_us = epoch_us();
  check(wf_step_map(run, o->n + 1, 32, item_std, resume_step, &c, NULL), "step map");
  check(wf_run_end(run, WF_RUN_SUCCEEDED), "end run");
  int64_t end_us = epoch_us();
  wf_store_close(st);
  if (c.executed != 1) die("resume executed %zu steps, not 1", c.executed);
  printf("main_us=%lld begun_us=%lld first_us=%lld end_us=%lld\n", (long long)main_us,
         (long long)begun_us, (long long)c.first_us, (long long)end_us);
  return 0;
}

int cmd_resume_time(bench_opts *o, char *self) {
  size_t n = o->n ? o->n : 100000;
  char ns[32];
  snprintf(ns, sizeof ns, "%zu", n);
  char *argv[] = {self, "resume-child", "--dir", o->dir, "--n", ns, NULL};
  int64_t t0 = epoch_us();
  int fd;
  int pid = spawn_cmd(argv, &fd, 0);
  char report[512];
  read_all(fd, report, sizeof report);
  int st = wait_status(pid);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) die("the resuming process failed");
  double first = (kv_num(report, "first_us") - (double)t0) / 1e6;
  double scan = (kv_num(report, "first_us") - kv_num(report, "begun_us")) / 1e6;
  double claim = (kv_num(report, "begun_us") - kv_num(report, "main_us")) / 1e6;
  double done = (kv_num(report, "end_us") - (double)t0) / 1e6;
  printf("n=%zu wall_s=%.4f steps_per_s=%.1f resume_s=%.4f claim_s=%.4f skip_s=%.4f "
         "finish_s=%.4f\n",
         n, first, (double)n / first, first, claim, scan, done);
  return 0;
}

/* ---- a store of many runs ------------------------------------------------------------ */

#define RUNS_PER_TXN 5000
#define STEPS_PER_RUN 3

/* Not const: it is put in a run record, whose strings are not. */
static char def_text[] =
    "{\"name\": \"bench-runs\", \"version\": 1, \"stages\": [\n"
    "  {\"id\": \"fetch\", \"run\": [\"./bin/fetch\", \"--date\", \"${params.date}\"]},\n"
    "  {\"id\": \"process\", \"needs\": [\"fetch\"], \"run\": [\"./bin/process\"]},\n"
    "  {\"id\": \"report\", \"needs\": [\"process\"], \"run\": [\"./bin/report\"]}]}\n";
static const char *const step_keys[STEPS_PER_RUN] = {"fetch", "process", "report"};

struct runs_ctx {
  size_t from, to;
  int64_t base_ms;
};

/* Run i: every 10th failed at its last step, the others succeeded. */
static int put_run(wfs_txn *t, size_t i, int64_t created) {
  char id[32];
  snprintf(id, sizeof id, "run-%07zu", i);
  int failed = i % 10 == 0;
  wfs_run r = {0};
  r.id = id;
  r.workflow = "bench-runs";
  r.def_path = "workflows/bench-runs.json";
  r.def_text = def_text;
  r.def_hash = "0123456789abcdef";
  r.status = failed ? WFS_RUN_FAILED : WFS_RUN_SUCCEEDED;
  r.created_at = r.started_at = created;
  r.finished_at = r.updated_at = r.heartbeat = created + 900;
  r.counts[WFS_STEP_SUCCEEDED] = STEPS_PER_RUN - (uint64_t)failed;
  r.counts[WFS_STEP_FAILED] = (uint64_t)failed;
  r.event_seq = 2;
  r.window = 8;
  r.error = failed ? "step report failed: exit code 1" : NULL;
  int rc = wfs_run_put(t, &r, NULL);
  for (int k = 0; k < STEPS_PER_RUN && !rc; k++) {
    wfs_step s = {0};
    s.stage = s.key = step_keys[k];
    int bad = failed && k == STEPS_PER_RUN - 1;
    s.status = bad ? WFS_STEP_FAILED : WFS_STEP_SUCCEEDED;
    s.attempt = 1;
    s.input_hash = (uint64_t)i * 31 + (uint64_t)k;
    s.output = (uint8_t *)"\x81\xa2ok\xc3";
    s.output_len = bad ? 0 : 5;
    s.error = bad ? "exit code 1" : NULL;
    s.exit_code = bad ? 1 : 0;
    s.started_at = created + 300 * k;
    s.finished_at = created + 300 * k + 250;
    rc = wfs_step_put(t, id, &s);
  }
  for (uint64_t seq = 0; seq < 2 && !rc; seq++) {
    wfs_event e = {0};
    e.run_id = id;
    e.seq = seq;
    e.type = seq ? WFS_EV_RUN_FINISHED : WFS_EV_RUN_STARTED;
    e.time = seq ? created + 900 : created;
    e.detail = seq ? (failed ? "failed" : "succeeded") : "bench-runs";
    rc = wfs_event_put(t, &e);
  }
  return rc;
}

static int runs_txn(wfs_txn *t, void *ud) {
  struct runs_ctx *c = ud;
  int rc = 0;
  for (size_t i = c->from; i < c->to && !rc; i++) rc = put_run(t, i, c->base_ms + (int64_t)i);
  return rc;
}

/* Writes n finished runs (as `wf start` records them) straight through the store API,
 * RUNS_PER_TXN per transaction: one commit per run would take minutes. */
int cmd_runs_build(bench_opts *o) {
  size_t n = o->n ? o->n : 100000;
  char home[4096];
  home_of(o, home, sizeof home);
  rm_rf(home);
  make_dir(o->dir);
  wfs_env *env;
  check(wfs_open(home, &env), "open store");
  struct runs_ctx c = {0, 0, wfs_now_ms() - (int64_t)n};
  double t0 = now_s();
  for (c.from = 0; c.from < n; c.from = c.to) {
    c.to = c.from + RUNS_PER_TXN < n ? c.from + RUNS_PER_TXN : n;
    check(wfs_write(env, runs_txn, &c), "write runs");
  }
  double wall = now_s() - t0;
  wfs_close(env);
  /* The run shown: a failed one in the middle of the store. */
  printf("n=%zu wall_s=%.4f steps_per_s=%.1f show_id=run-%07zu\n", n, wall, (double)n / wall,
         n / 20 * 10);
  return 0;
}

/* ---- rss_1m ------------------------------------------------------------------------- */

static int item_tiny(void *ud, size_t i, char *key, size_t keycap, void **in, size_t *inlen) {
  (void)ud;
  snprintf(key, keycap, "%07zu", i);
  uint8_t *p = malloc(5);
  if (!p) return -1;
  p[0] = 0xce, p[1] = (uint8_t)(i >> 24), p[2] = (uint8_t)(i >> 16), p[3] = (uint8_t)(i >> 8);
  p[4] = (uint8_t)i;
  *in = p;
  *inlen = 5;
  return 0;
}

static int step_true(void *ud, const void *in, size_t inlen, void **out, size_t *outlen) {
  (void)ud, (void)in, (void)inlen;
  uint8_t *p = malloc(1);
  if (!p) return -1;
  *p = 0xc3;
  *out = p;
  *outlen = 1;
  return 0;
}

/* A "Name:   123 kB" field of /proc/self/status, in MiB (0 when absent). */
static double status_mb(const char *name) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  double mb = 0;
  size_t n = strlen(name);
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, name, n) == 0 && line[n] == ':') mb = atof(line + n + 1) / 1024.0;
  if (f) fclose(f);
  return mb;
}

int cmd_rss(bench_opts *o) {
  size_t n = o->n ? o->n : 1000000;
  unsigned c = o->c ? (unsigned)o->c : 32;
  char home[4096], data[4200];
  home_of(o, home, sizeof home);
  rm_rf(home);
  make_dir(o->dir);
  wf_store *st;
  wf_run *run;
  check(wf_store_open(home, &st), "open store");
  check(wf_run_begin(st, "bench-rss", "rss", &run), "begin run");
  double t0 = now_s();
  check(wf_step_map(run, n, c, item_tiny, step_true, NULL, NULL), "step map");
  double wall = now_s() - t0;
  double anon = status_mb("RssAnon"), file = status_mb("RssFile");
  check(wf_run_end(run, WF_RUN_SUCCEEDED), "end run");
  wf_store_close(st);
  snprintf(data, sizeof data, "%s/store/data.mdb", home);
  struct stat sb;
  double store_mb = stat(data, &sb) == 0 ? (double)sb.st_size / 1048576.0 : 0;
  printf("n=%zu wall_s=%.4f steps_per_s=%.1f rss_mb=%.1f rss_anon_mb=%.1f rss_file_mb=%.1f "
         "store_mb=%.1f\n",
         n, wall, (double)n / wall, peak_rss_mb(), anon, file, store_mb);
  return 0;
}
