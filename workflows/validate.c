/* validate.c — stages marked "validate" run before the run exists: a start whose
 * parameters, credentials or remote setup cannot work is refused with nothing recorded,
 * and a check that passed is not repeated: the run records its output as the stage's.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wfw_int.h"

/* The output of a check that passed, handed to the run as the stage's output. */
typedef struct wfw_pin {
  uint8_t *out;            /* msgpack, NULL for nil */
  size_t len;
} wfw_pin;

static void pinned_start(void *ctx, wfi_job *job) {
  const wfw_pin *pin = ctx;
  wfi_result res;
  memset(&res, 0, sizeof res);
  res.exit_code = 0;
  if (pin->out && !(res.output = malloc(pin->len))) {
    res.exit_code = -1;
    res.retryable = 1;
    res.error = strdup("out of memory");
    wfi_job_done(job, &res);
    return;
  }
  if (pin->out) memcpy(res.output, pin->out, pin->len);
  res.output_len = pin->len;
  res.ok = 1;
  wfi_job_done(job, &res);
}

static void pinned_kill(void *ctx, wfi_job *job, int reason) {
  (void)ctx;
  (void)job;
  (void)reason;
}

static const wfi_activity pinned = {"checked before the run", pinned_start, pinned_kill};

void wfw_plan_free_pins(wfw_plan_state *p) {
  for (uint32_t i = 0; p->pins && i < p->plan.nstages; i++) free(p->pins[i].out);
  free(p->pins);
  p->pins = NULL;
}

/* ---- one check --------------------------------------------------------------------- */

/* What the hooks see while a check runs: no execution, only the checks before it. */
typedef struct vctx {
  wfw_plan_state *p;
  const char *run_id;
  char error[1024];
} vctx;

static int v_output(wfi_exec *x, uint32_t stage, uint8_t **out, size_t *len) {
  const wfw_pin *pin = &((vctx *)x)->p->pins[stage];
  *out = NULL;
  *len = 0;
  if (((vctx *)x)->p->plan.stages[stage].act != &pinned) return WF_ENOTFOUND;
  if (pin->out && !(*out = malloc(pin->len))) return WF_ENOMEM;
  if (pin->out) memcpy(*out, pin->out, pin->len);
  *len = pin->len;
  return 0;
}

static void v_error(wfi_exec *x, const char *msg) {
  snprintf(((vctx *)x)->error, sizeof ((vctx *)x)->error, "%s", msg);
}

static const char *v_run_id(const wfi_exec *x) { return ((const vctx *)x)->run_id; }

typedef struct vjob {
  wfi_job job;
  const wfi_activity *act;
  uv_timer_t timeout;
  int done;
  wfi_result res;
} vjob;

static void vjob_done(wfi_job *job, wfi_result *res) {
  vjob *v = (vjob *)job;
  v->done = 1;
  v->res = *res;
  uv_timer_stop(&v->timeout);
}

/* The stage's timeout_s: kill the attempt; its end still comes through vjob_done. */
static void vjob_timeout(uv_timer_t *t) {
  vjob *v = t->data;
  if (!v->done) v->act->kill(v->job.act_ctx, &v->job, WFI_KILL_TIMEOUT);
}

/* One attempt of stage i on a loop of its own, in a scratch folder that is removed
 * after; *v gets the result. */
static int attempt(wfw_plan_state *p, uint32_t i, const uint8_t *in, size_t in_len,
                   const char *run_id, vjob *v) {
  const wfi_stage *st = &p->plan.stages[i];
  const char *tmpdir = getenv("TMPDIR");
  char dir[PATH_MAX], log[PATH_MAX + 64];
  uv_loop_t loop;
  int rc = 0;

  snprintf(dir, sizeof dir, "%s/wf-check-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
  if (!mkdtemp(dir)) return WF_EIO;
  snprintf(log, sizeof log, "%s/%s.log", dir, st->id);
  memset(v, 0, sizeof *v);
  if (uv_loop_init(&loop) != 0) {
    rmdir(dir);
    return WF_EIO;
  }
  v->job.loop = &loop;
  v->job.home = p->home;
  v->job.run_id = run_id;
  v->job.stage = st->id;
  v->job.step_key = st->id;
  v->job.run_dir = dir;
  v->job.log_path = log;
  v->job.attempt = 1;
  v->job.input = in;
  v->job.input_len = in_len;
  v->job.max_output = (size_t)64 << 20;
  v->job.kill_grace_s = 5;
  v->job.act_ctx = st->act_ctx;
  v->job.on_done = vjob_done;
  v->act = st->act;
  uv_timer_init(&loop, &v->timeout);
  v->timeout.data = v;
  if (st->timeout_s > 0)
    uv_timer_start(&v->timeout, vjob_timeout, (uint64_t)(st->timeout_s * 1000), 0);
  st->act->start(st->act_ctx, &v->job);
  uv_run(&loop, UV_RUN_DEFAULT);
  if (!v->done) rc = WF_EIO;
  uv_close((uv_handle_t *)&v->timeout, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) rc = rc ? rc : WF_EIO;
  unlink(log);
  rmdir(dir);
  return rc;
}

/* Build stage i's input as the run would, against the params and the checks before it. */
static int input_of(wfw_plan_state *p, uint32_t i, vctx *c, uint8_t **in, size_t *in_len) {
  wfw_plan_io saved = p->io, io = {v_output, v_error, v_run_id, NULL};
  p->io = io;
  int rc = p->plan.ops->build_input(p, (wfi_exec *)c, i, NULL, 0, in, in_len);
  wfw_plan_clear_cache(p);
  p->io = saved;
  return rc;
}

/* Whether a check of stage i is part of this start: on a new run when the stage is
 * selected; on a restart also when it runs again, or when every selected stage that
 * needs it does (re-checking cannot then change a result the restart keeps). */
static int will_run(const wfw_plan_state *p, uint32_t i, int restart) {
  const wfw_def *d = p->d;
  const wfi_stage *st = p->plan.stages;
  int again = 0;
  if (!d->stages[i].validate || !st[i].selected) return 0;
  if (!restart || st[i].rerun) return 1;
  for (uint32_t j = 0; j < d->nstages; j++)
    for (uint32_t k = 0; k < d->stages[j].nneeds; k++) {
      if (d->stages[j].needs[k] != i || !st[j].selected) continue;
      if (!st[j].rerun) return 0;
      again = 1;
    }
  return again;
}

enum { UNDECIDED, PINNED, TO_THE_RUN };

/* Check stage i: PINNED (its output the run's), TO_THE_RUN with a note when the check
 * could not tell (a failure the stage's retry policy would retry: the run tries the
 * stage again), or -1 with the stage's message in err. */
static int check(wfw_plan_state *p, uint32_t i, int restart, vctx *c, wfw_err *err, wfw_err *note) {
  const char *id = p->plan.stages[i].id;
  uint8_t *in = NULL;
  size_t in_len = 0;
  vjob v;
  int rc = input_of(p, i, c, &in, &in_len), got = -1;
  if (rc) {
    free(in);
    wfw_fail(err, "%s", c->error[0] ? c->error : wf_strerror(rc));
    return -1;
  }
  rc = attempt(p, i, in, in_len, c->run_id, &v);
  free(in);
  if (rc) {
    wfw_fail(err, "stage \"%s\": the check before the run could not be made (%s)", id,
             wf_strerror(rc));
    return -1;
  }
  if (v.res.ok) {
    p->pins[i].out = v.res.output;
    p->pins[i].len = v.res.output_len;
    p->plan.stages[i].act = &pinned;
    p->plan.stages[i].act_ctx = &p->pins[i];
    if (restart) p->plan.stages[i].rerun = 1;
    got = PINNED;
  } else if (wfi_retry_allowed(&p->plan.stages[i].retry, 0, &v.res)) {
    size_t n = strlen(note->msg);
    snprintf(note->msg + n, sizeof note->msg - n, "%sstage \"%s\" could not be checked before "
             "the run (%s); the run tries it again", n ? "; " : "", id,
             v.res.error ? v.res.error : "no message");
    free(v.res.output);
    got = TO_THE_RUN;
  } else {
    wfw_fail(err, "stage \"%s\" (checked before the run is created): %s%s%s", id,
             v.res.error ? v.res.error : "failed",
             v.res.stderr_tail ? "; its stderr ends: " : "",
             v.res.stderr_tail ? v.res.stderr_tail : "");
    free(v.res.output);
  }
  free(v.res.error);
  free(v.res.stderr_tail);
  return got;
}

int wfw_validate(wfw_plan *plan, const char *run_id, int restart, wfw_err *err,
                 wfw_err *note) {
  wfw_plan_state *p = (wfw_plan_state *)plan;
  vctx c = {p, run_id ? run_id : "", ""};
  uint32_t n = plan->nstages;
  int *state = calloc(n ? n : 1, sizeof *state), rc = 0;
  if (err) err->msg[0] = '\0';
  note->msg[0] = '\0';
  if (!state || (!p->pins && !(p->pins = calloc(n, sizeof *p->pins)))) {
    free(state);
    return WF_ENOMEM;
  }
  for (uint32_t i = 0; i < n; i++)
    if (!will_run(p, i, restart)) state[i] = TO_THE_RUN;
  /* a check runs once the checks it needs are decided: n passes order any acyclic graph */
  for (uint32_t pass = 0; pass < n && rc == 0; pass++)
    for (uint32_t i = 0; i < n && rc == 0; i++) {
      const wfw_stage *s = &p->d->stages[i];
      int ready = state[i] == UNDECIDED, all_pinned = 1;
      for (uint32_t k = 0; ready && k < s->nneeds; k++) {
        int sk = state[s->needs[k]];
        ready = sk != UNDECIDED;
        all_pinned &= sk == PINNED || !will_run(p, s->needs[k], restart);
      }
      if (!ready) continue;
      if (!all_pinned) {
        state[i] = TO_THE_RUN; /* its input is not known before the run */
        continue;
      }
      if ((state[i] = check(p, i, restart, &c, err, note)) < 0) rc = WF_EINVAL;
    }
  free(state);
  return rc;
}
