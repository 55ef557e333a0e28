/* report.c — the progress report of an execution: each stage's status, how many steps it
 * has and has done, and which steps are in flight.
 *
 * Steps are recorded when they end (a synced commit each), so what is in flight is known
 * only to the process executing the run. It writes this report for the others: when the
 * execution begins, every quarter second while it runs, and when it ends, to
 * logs/<run id>/.progress (an encoded step log name never begins with '.'). The file is
 * replaced by a rename, so a reader sees a whole report or the one before; it is never
 * synced (it is a view, not a record: a crash of the machine may lose it). A reader
 * decides whether it is live from the run record and its owner's lock, as a run's status
 * is decided, so a report left by an owner that is gone never shows anything running. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_int.h"
#include "sched_int.h"
#include "wfmp.h"

#define REPORT_VERSION 1
#define REPORT_STEPS 100             /* steps in flight listed at most */
#define REPORT_MAX_BYTES (8u << 20)  /* a larger file is not a report wf wrote */

struct wfi_report {
  wf_run_progress pub;               /* first: what wf_run_progress_get hands out */
  wf_stage_progress *stages;
  wf_step_running *steps;
  uint32_t cap_stages, cap_steps;
  const char *run_id;                /* read: the run it is about (in strs) */
  uint64_t epoch;                    /* the owner epoch of the execution that wrote it */
  int ended;                         /* written when the execution ended */
  uint64_t succeeded;                /* the run's steps recorded succeeded then */
  char **strs;                       /* read: the strings the description points to */
  size_t nstrs;
};

static void report_clear(struct wfi_report *r) {
  for (size_t i = 0; i < r->nstrs; i++) free(r->strs[i]);
  free(r->strs);
  free(r->stages);
  free(r->steps);
}

/* ---- the owner's side ---------------------------------------------------------------- */

static int stage_status(const struct wfi_rstage *st) {
  switch (st->state) {
  case WFI_STAGE_WAIT: return WFS_STEP_PENDING;
  case WFI_STAGE_DONE: return st->result;
  default: return WFS_STEP_RUNNING;
  }
}

static void describe_stage(const wfi_exec *x, uint32_t i, wf_stage_progress *o) {
  const struct wfi_rstage *st = &x->st[i];
  const wfi_stage *sd = &x->plan->stages[i];
  memset(o, 0, sizeof *o);
  o->id = sd->id;
  o->status = stage_status(st);
  o->fanout = sd->fanout;
  o->selected = sd->selected;
  if (!sd->fanout) {
    o->total_known = 1;
    o->total = 1;
  } else if (st->nitems_known) {
    o->total_known = 1;
    o->total = st->nitems;
  } else if (st->exhausted && !st->items_failed && st->state != WFI_STAGE_WAIT &&
             !st->unselected && !st->truncated) {
    o->total_known = 1;
    o->total = st->pulled;
  }
  o->done = st->done;
  o->reused = st->memo;
  o->failed = st->failed;
  o->running = st->inflight;
  o->started_at = st->state != WFI_STAGE_WAIT ? st->t_start : 0;
  o->finished_at = st->state == WFI_STAGE_DONE ? st->t_end : 0;
  o->exec_ms = st->exec_ms;
}

/* The steps in flight, longest-running first. The running list is newest first (a step
 * joins it at its head when it starts), so the oldest are its last ones. */
static uint32_t describe_steps(const wfi_exec *x, wf_step_running *out, uint32_t cap) {
  uint32_t n = 0, skip, k = 0;
  for (const struct wfi_rstep *s = x->running; s; s = s->rnext) n++;
  skip = n > cap ? n - cap : 0;
  for (const struct wfi_rstep *s = x->running; s; s = s->rnext) {
    if (skip) {
      skip--;
      continue;
    }
    out[k].key = s->key;
    out[k].stage = s->stage;
    out[k].attempt = s->attempt;
    out[k].started_at = s->attempt_start;
    k++;
  }
  for (uint32_t a = 0, b = k ? k - 1 : 0; a < b; a++, b--) {
    wf_step_running t = out[a];
    out[a] = out[b];
    out[b] = t;
  }
  return k;
}

static int grow(void **p, uint32_t *cap, uint32_t want, size_t size) {
  if (want <= *cap) return 0;
  void *q = realloc(*p, (size_t)want * size);
  if (!q) return WF_ENOMEM;
  *p = q;
  *cap = want;
  return 0;
}

static int build(wfi_exec *x, int ended) {
  if (!x->report && !(x->report = calloc(1, sizeof *x->report))) return WF_ENOMEM;
  struct wfi_report *r = x->report;
  uint32_t nsteps = x->inflight < REPORT_STEPS ? x->inflight : REPORT_STEPS;
  if (grow((void **)&r->stages, &r->cap_stages, x->plan->nstages, sizeof *r->stages) ||
      grow((void **)&r->steps, &r->cap_steps, nsteps, sizeof *r->steps))
    return WF_ENOMEM;
  for (uint32_t i = 0; i < x->plan->nstages; i++) describe_stage(x, i, &r->stages[i]);
  r->pub.live = !ended;
  r->pub.reported_at = wfs_now_ms();
  r->pub.started_at = x->run.started_at;
  r->pub.generation = x->run.generation;
  r->pub.nstages = x->plan->nstages;
  r->pub.stages = r->stages;
  r->pub.running = x->inflight;
  r->pub.nsteps = ended ? 0 : describe_steps(x, r->steps, r->cap_steps);
  r->pub.steps = r->steps;
  r->epoch = x->epoch;
  r->ended = ended;
  r->succeeded = x->run.counts[WFS_STEP_SUCCEEDED];
  return 0;
}

static void encode(const struct wfi_report *r, const char *run_id, msgpack_packer *pk) {
  const wf_run_progress *p = &r->pub;
  msgpack_pack_array(pk, 12);
  msgpack_pack_uint32(pk, REPORT_VERSION);
  wfm_pack_str(pk, run_id);
  msgpack_pack_uint64(pk, r->epoch);
  msgpack_pack_uint32(pk, p->generation);
  msgpack_pack_int64(pk, p->reported_at);
  msgpack_pack_int64(pk, p->started_at);
  if (r->ended) msgpack_pack_true(pk);
  else msgpack_pack_false(pk);
  msgpack_pack_uint64(pk, p->running);
  msgpack_pack_int32(pk, (int32_t)getpid());
  msgpack_pack_uint64(pk, r->succeeded);
  msgpack_pack_array(pk, (uint32_t)p->nstages);
  for (size_t i = 0; i < p->nstages; i++) {
    const wf_stage_progress *s = &p->stages[i];
    msgpack_pack_array(pk, 13);
    wfm_pack_str(pk, s->id);
    msgpack_pack_uint32(pk, (uint32_t)s->status);
    msgpack_pack_uint32(pk, (uint32_t)s->fanout);
    msgpack_pack_uint32(pk, (uint32_t)s->selected);
    msgpack_pack_uint32(pk, (uint32_t)s->total_known);
    msgpack_pack_uint64(pk, s->total);
    msgpack_pack_uint64(pk, s->done);
    msgpack_pack_uint64(pk, s->reused);
    msgpack_pack_uint64(pk, s->failed);
    msgpack_pack_uint64(pk, s->running);
    msgpack_pack_int64(pk, s->started_at);
    msgpack_pack_int64(pk, s->finished_at);
    msgpack_pack_int64(pk, s->exec_ms);
  }
  msgpack_pack_array(pk, (uint32_t)p->nsteps);
  for (size_t i = 0; i < p->nsteps; i++) {
    const wf_step_running *s = &p->steps[i];
    msgpack_pack_array(pk, 4);
    wfm_pack_str(pk, s->key);
    msgpack_pack_uint32(pk, s->stage);
    msgpack_pack_uint32(pk, s->attempt);
    msgpack_pack_int64(pk, s->started_at);
  }
}

static int report_path(const char *home, const char *run_id, char *buf, size_t cap) {
  int n = snprintf(buf, cap, "%s/logs/%s/.progress", home, run_id);
  return n < 0 || (size_t)n >= cap ? WF_EINVAL : 0;
}

/* Write buf to path through a file of this process beside it, renamed over path. */
static void replace_file(const char *path, const void *buf, size_t len) {
  char tmp[PATH_MAX + 32];
  snprintf(tmp, sizeof tmp, "%s.%ld", path, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  const char *p = buf;
  size_t left = len;
  while (left) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    p += w;
    left -= (size_t)w;
  }
  if (close(fd) != 0 || left || rename(tmp, path) != 0) unlink(tmp);
}

void wfi_report_write(wfi_exec *x, int ended) {
  /* wf_step_map's executions are one anonymous stage of a run the caller drives. */
  if (x->keep_open || x->stop_reason == WFI_STOP_FENCED) return;
  char path[PATH_MAX];
  if (build(x, ended) || report_path(x->home, x->run.id, path, sizeof path)) return;
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  encode(x->report, x->run.id, &pk);
  if (sb.data) replace_file(path, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
}

void wfi_report_tick(wfi_exec *x) {
  wfi_report_write(x, 0);
  if (!x->opts.observe || !x->report || x->keep_open) return;
  wfi_progress p = {0};
  p.type = WFI_P_TICK;
  p.report = &x->report->pub;
  x->opts.observe(x->opts.observe_ud, &p);
}

void wfi_report_free(wfi_exec *x) {
  if (!x->report) return;
  report_clear(x->report);
  free(x->report);
  x->report = NULL;
}

/* ---- the readers' side ---------------------------------------------------------------- */

static int read_str(wfm_reader *rd, struct wfi_report *r, const char **out) {
  char *s = NULL;
  int rc = wfm_read_str_opt(rd, &s);
  if (rc || !s) return rc ? rc : WF_ECORRUPT;
  char **strs = realloc(r->strs, (r->nstrs + 1) * sizeof *strs);
  if (!strs) {
    free(s);
    return WF_ENOMEM;
  }
  r->strs = strs;
  r->strs[r->nstrs++] = s;
  *out = s;
  return 0;
}

static int read_u32(wfm_reader *rd, uint32_t *v) {
  uint64_t u;
  int rc = wfm_read_uint(rd, &u);
  if (rc == 0 && u > UINT32_MAX) rc = WF_ECORRUPT;
  if (rc == 0) *v = (uint32_t)u;
  return rc;
}

/* A stage: [id, status, fanout, selected, total_known, total, done, reused, failed,
 * running, started_at, finished_at, exec_ms]. */
static int decode_stage(wfm_reader *rd, struct wfi_report *r, wf_stage_progress *s) {
  uint32_t n;
  uint64_t u[9];
  int64_t t[3];
  int rc = wfm_read_array(rd, &n);
  if (rc == 0 && n != 13) rc = WF_ECORRUPT;
  if (rc == 0) rc = read_str(rd, r, &s->id);
  for (int k = 0; k < 9 && rc == 0; k++) rc = wfm_read_uint(rd, &u[k]);
  for (int k = 0; k < 3 && rc == 0; k++) rc = wfm_read_int(rd, &t[k]);
  if (rc) return rc;
  if (u[0] >= WFS_STEP_NSTATUS || u[1] > 1 || u[2] > 1 || u[3] > 1) return WF_ECORRUPT;
  s->status = (int)u[0];
  s->fanout = (int)u[1];
  s->selected = (int)u[2];
  s->total_known = (int)u[3];
  s->total = u[4];
  s->done = u[5];
  s->reused = u[6];
  s->failed = u[7];
  s->running = u[8];
  s->started_at = t[0];
  s->finished_at = t[1];
  s->exec_ms = t[2];
  return 0;
}

/* A step in flight: [key, stage index, attempt, started_at]. */
static int decode_step(wfm_reader *rd, struct wfi_report *r, wf_step_running *s) {
  uint32_t n;
  uint64_t stage, attempt;
  int rc = wfm_read_array(rd, &n);
  if (rc == 0 && n != 4) rc = WF_ECORRUPT;
  if (rc == 0) rc = read_str(rd, r, &s->key);
  if (rc == 0) rc = wfm_read_uint(rd, &stage);
  if (rc == 0) rc = wfm_read_uint(rd, &attempt);
  if (rc == 0) rc = wfm_read_int(rd, &s->started_at);
  if (rc == 0 && (stage >= r->cap_stages || attempt > UINT32_MAX)) rc = WF_ECORRUPT;
  if (rc) return rc;
  s->stage = (uint32_t)stage;
  s->attempt = (uint32_t)attempt;
  return 0;
}

/* [version, run id, epoch, generation, reported_at, started_at, ended, running, pid of
 * its writer (for a person reading the file), succeeded, [stage...], [step...]] */
static int decode(const uint8_t *buf, size_t len, struct wfi_report *r) {
  wfm_reader rd;
  wfm_reader_init(&rd, buf, len);
  uint32_t n, version, gen, nstages = 0, nsteps = 0;
  const char *run_id;
  int64_t pid;
  int rc = wfm_read_array(&rd, &n);
  if (rc == 0 && n != 12) rc = WF_ECORRUPT;
  if (rc == 0) rc = read_u32(&rd, &version);
  if (rc == 0 && version != REPORT_VERSION) rc = WF_ECORRUPT;
  if (rc == 0) rc = read_str(&rd, r, &run_id);
  if (rc == 0) rc = wfm_read_uint(&rd, &r->epoch);
  if (rc == 0) rc = read_u32(&rd, &gen);
  if (rc == 0) rc = wfm_read_int(&rd, &r->pub.reported_at);
  if (rc == 0) rc = wfm_read_int(&rd, &r->pub.started_at);
  if (rc == 0) rc = wfm_read_bool(&rd, &r->ended);
  if (rc == 0) rc = wfm_read_uint(&rd, &r->pub.running);
  if (rc == 0) rc = wfm_read_int(&rd, &pid);
  if (rc == 0) rc = wfm_read_uint(&rd, &r->succeeded);
  if (rc == 0) rc = wfm_read_array(&rd, &nstages);
  if (rc) return rc;
  r->run_id = run_id;
  r->pub.generation = gen;
  /* Counts were checked against the bytes left: these allocations are bounded. */
  if (nstages && !(r->stages = calloc(nstages, sizeof *r->stages))) return WF_ENOMEM;
  r->cap_stages = nstages;
  for (uint32_t i = 0; i < nstages && rc == 0; i++) rc = decode_stage(&rd, r, &r->stages[i]);
  if (rc == 0) rc = wfm_read_array(&rd, &nsteps);
  if (rc == 0 && nsteps && !(r->steps = calloc(nsteps, sizeof *r->steps))) rc = WF_ENOMEM;
  if (rc) return rc;
  r->cap_steps = nsteps;
  for (uint32_t i = 0; i < nsteps && rc == 0; i++) rc = decode_step(&rd, r, &r->steps[i]);
  if (rc == 0 && rd.p != rd.end) rc = WF_ECORRUPT;
  r->pub.nstages = nstages;
  r->pub.stages = r->stages;
  r->pub.nsteps = nsteps;
  r->pub.steps = r->steps;
  return rc;
}

/* The whole file at path, malloc'd into *buf; WF_ENOTFOUND when it cannot be read. */
static int slurp(const char *path, uint8_t **buf, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOMEM ? WF_ENOMEM : WF_ENOTFOUND;
  struct stat sb;
  int rc = fstat(fd, &sb) != 0 || sb.st_size <= 0 || (uint64_t)sb.st_size > REPORT_MAX_BYTES
               ? WF_ENOTFOUND
               : 0;
  size_t n = rc ? 0 : (size_t)sb.st_size, got = 0;
  if (rc == 0 && !(*buf = malloc(n))) rc = WF_ENOMEM;
  while (rc == 0 && got < n) {
    ssize_t k = read(fd, *buf + got, n - got);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) rc = WF_ENOTFOUND;
    else got += (size_t)k;
  }
  close(fd);
  if (rc) {
    free(*buf);
    *buf = NULL;
  }
  *len = got;
  return rc;
}

/* A report no live owner stands behind: what it had running stopped there. Its owner
 * wrote it at most a quarter second before it died, and may have recorded steps after:
 * those (the run's record counts them) are added to the stages it had running, in order,
 * each up to its total, so that the report agrees with the store. */
static void settle(struct wfi_report *r, const wfs_run *rec) {
  uint64_t now = rec->counts[WFS_STEP_SUCCEEDED];
  uint64_t late = !r->ended && now > r->succeeded ? now - r->succeeded : 0;
  r->pub.live = 0;
  r->pub.running = 0;
  r->pub.nsteps = 0;
  for (size_t i = 0; i < r->pub.nstages; i++) {
    wf_stage_progress *s = &r->stages[i];
    if (s->status == WFS_STEP_RUNNING) {
      uint64_t room = !s->total_known ? late
                      : s->total > s->done + s->failed ? s->total - s->done - s->failed
                                                       : 0;
      uint64_t add = late < room ? late : room;
      s->done += add;
      late -= add;
      s->status = WFS_STEP_PENDING;
    }
    s->running = 0;
  }
}

/* The report at path decoded into *out (malloc'd); on an error (WF_ENOTFOUND: no
 * readable file, WF_ECORRUPT: it does not decode, WF_ENOMEM) *out stays NULL. */
static int load(const char *path, struct wfi_report **out) {
  uint8_t *buf = NULL;
  size_t len = 0;
  *out = NULL;
  int rc = slurp(path, &buf, &len);
  if (rc) return rc;
  struct wfi_report *r = calloc(1, sizeof *r);
  if (!r) {
    free(buf);
    return WF_ENOMEM;
  }
  rc = decode(buf, len, r);
  free(buf);
  if (rc) {
    report_clear(r);
    free(r);
  } else {
    *out = r;
  }
  return rc;
}

int wfi_report_read(const char *home, const wfs_run *rec, int alive, wf_run_progress **out) {
  char path[PATH_MAX];
  *out = NULL;
  int rc = report_path(home, rec->id, path, sizeof path);
  if (rc) return WF_ENOTFOUND;
  struct wfi_report *r = NULL;
  /* A damaged report, or one about another run of that id (deleted and made again
   * while its owner wrote), is no report. */
  if ((rc = load(path, &r)) != 0) return rc == WF_ECORRUPT ? WF_ENOTFOUND : rc;
  if (strcmp(r->run_id, rec->id) != 0) {
    report_clear(r);
    free(r);
    return WF_ENOTFOUND;
  }
  r->pub.live = alive && r->epoch == rec->epoch && !r->ended;
  if (!r->pub.live) settle(r, rec);
  *out = &r->pub;
  return 0;
}

int wfi_report_rename(const char *path, const char *run_id) {
  struct wfi_report *r = NULL;
  int rc = load(path, &r);
  if (rc == WF_ENOTFOUND) return 0; /* no report to carry over */
  if (rc == WF_ECORRUPT) {
    unlink(path); /* a damaged report is no report, under any id */
    return 0;
  }
  if (rc) return rc;
  r->ended = 1; /* it describes no execution of the run under its new id */
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  encode(r, run_id, &pk);
  if (sb.data) replace_file(path, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  report_clear(r);
  free(r);
  return 0;
}

void wf_run_progress_free(wf_run_progress *p) {
  if (!p) return;
  struct wfi_report *r = (struct wfi_report *)p;
  report_clear(r);
  free(r);
}

void wfi_report_summary(const char *home, const wfs_run *rec, int alive, wf_run_info *info) {
  info->steps_done = rec->counts[WFS_STEP_SUCCEEDED];
  info->steps_total = 0;
  info->steps_total_known = 0;
  if (rec->status == WFS_RUN_SUCCEEDED) {
    /* Every step it has succeeded: no need to read the report. */
    info->steps_total = info->steps_done;
    info->steps_total_known = 1;
    return;
  }
  wf_run_progress *p;
  if (wfi_report_read(home, rec, alive, &p) != 0) return;
  uint64_t done = 0, total = 0;
  int known = 1;
  for (size_t i = 0; i < p->nstages; i++) {
    const wf_stage_progress *s = &p->stages[i];
    if (!s->selected) continue;
    done += s->done;
    if (s->total_known) {
      total += s->total;
    } else {
      known = 0;
      total += s->done + s->failed + s->running;
    }
  }
  info->steps_done = done;
  info->steps_total = total;
  info->steps_total_known = known;
  wf_run_progress_free(p);
}
