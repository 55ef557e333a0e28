/* gc.c — the store `wf gc` is measured on: N finished runs of 10 steps each, 40 days old,
 * with their events, a run folder and two step logs each, and M recent runs gc keeps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"
#include "wfstore.h"

#define GC_STEPS 10
#define GC_RUNS_PER_TXN 2000
#define DAY_MS 86400000LL

static char gc_def[] =
    "{\"name\": \"bench-gc\", \"version\": 1, \"stages\": [{\"id\": \"s\", \"foreach\": "
    "\"${params.items}\", \"key\": \"${item}\", \"run\": [\"./bin/work\", \"${item}\"]}]}\n";

struct gc_ctx {
  size_t from, to, old_n;
  int64_t old_ms, new_ms;
  const char *home;
};

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f) die("cannot write %s", path);
  fputs(text, f);
  fclose(f);
}

/* Run i: old (gc deletes it) below old_n, recent above; 10 steps, 12 events. */
static int gc_put_run(wfs_txn *t, const struct gc_ctx *c, size_t i) {
  char id[32], key[16];
  int old = i < c->old_n;
  snprintf(id, sizeof id, "%s-%07zu", old ? "old" : "new", i);
  int64_t created = (old ? c->old_ms : c->new_ms) + (int64_t)i;
  wfs_run r = {0};
  r.id = id;
  r.workflow = "bench-gc";
  r.def_path = "workflows/bench-gc.json";
  r.def_text = gc_def;
  r.def_hash = "0123456789abcdef";
  r.status = i % 10 == 0 ? WFS_RUN_FAILED : WFS_RUN_SUCCEEDED;
  r.created_at = r.started_at = created;
  r.finished_at = r.updated_at = r.heartbeat = created + 900;
  r.counts[WFS_STEP_SUCCEEDED] = GC_STEPS;
  r.event_seq = GC_STEPS + 2;
  r.window = 8;
  int rc = wfs_run_put(t, &r, NULL);
  for (int k = 0; k < GC_STEPS && !rc; k++) {
    wfs_step s = {0};
    snprintf(key, sizeof key, "s/%d", k);
    s.stage = "s";
    s.key = key;
    s.status = WFS_STEP_SUCCEEDED;
    s.attempt = 1;
    s.input_hash = (uint64_t)i * 31 + (uint64_t)k;
    s.output = (uint8_t *)"\x82\xa1i\x01\xa2ok\xc3";
    s.output_len = 8;
    s.exit_code = 0;
    s.started_at = created + 80 * k;
    s.finished_at = created + 80 * k + 70;
    rc = wfs_step_put(t, id, &s);
  }
  for (uint64_t seq = 0; seq < GC_STEPS + 2 && !rc; seq++) {
    wfs_event e = {0};
    e.run_id = id;
    e.seq = seq;
    e.type = seq == 0 ? WFS_EV_RUN_STARTED : seq == GC_STEPS + 1 ? WFS_EV_RUN_FINISHED
             : WFS_EV_STEP_SUCCEEDED;
    e.time = created + 80 * (int64_t)seq;
    e.detail = seq == GC_STEPS + 1 ? "succeeded" : NULL;
    rc = wfs_event_put(t, &e);
  }
  return rc;
}

static int gc_txn(wfs_txn *t, void *ud) {
  struct gc_ctx *c = ud;
  int rc = 0;
  for (size_t i = c->from; i < c->to && !rc; i++) rc = gc_put_run(t, c, i);
  return rc;
}

/* The files `wf start` leaves: the run folder with its metadata, a log per failing step. */
static void gc_files(const char *home, size_t i, size_t old_n) {
  char path[4400];
  const char *kind = i < old_n ? "old" : "new";
  snprintf(path, sizeof path, "%s/runs/%s-%07zu", home, kind, i);
  make_dir(path);
  snprintf(path, sizeof path, "%s/runs/%s-%07zu/run_metadata.json", home, kind, i);
  write_file(path, "{\"workflow\": \"bench-gc\", \"status\": \"succeeded\"}\n");
  snprintf(path, sizeof path, "%s/logs/%s-%07zu", home, kind, i);
  make_dir(path);
  for (int k = 0; k < 2; k++) {
    snprintf(path, sizeof path, "%s/logs/%s-%07zu/s%%2F%d.log", home, kind, i, k);
    write_file(path, "warning: something worth a line in the log\n");
  }
}

/* --n old runs (default 10000) and --c recent ones (default 100). */
int cmd_gc_build(bench_opts *o) {
  size_t n = o->n ? o->n : 10000, keep = o->c ? o->c : 100;
  char home[4096];
  if (!o->dir) die("--dir is required");
  snprintf(home, sizeof home, "%s/home", o->dir);
  rm_rf(home);
  make_dir(o->dir);
  wfs_env *env;
  check(wfs_open(home, &env), "open store");
  int64_t now = wfs_now_ms();
  struct gc_ctx c = {0, 0, n, now - 40 * DAY_MS, now - DAY_MS, home};
  double t0 = now_s();
  for (c.from = 0; c.from < n + keep; c.from = c.to) {
    c.to = c.from + GC_RUNS_PER_TXN < n + keep ? c.from + GC_RUNS_PER_TXN : n + keep;
    check(wfs_write(env, gc_txn, &c), "write runs");
  }
  wfs_close(env);
  for (size_t i = 0; i < n + keep; i++) gc_files(home, i, n);
  double wall = now_s() - t0;
  printf("n=%zu wall_s=%.4f steps_per_s=%.1f keep=%zu\n", n, wall,
         (double)(n * GC_STEPS) / wall, keep);
  return 0;
}
