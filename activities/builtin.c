/* builtin.c — the table of built-in activities named by a stage's "uses", and the
 * core ones (core.echo, core.fail) that need no process and finish inside start.
 */
#include <stdlib.h>
#include <string.h>

#include "wf/wf.h"
#include "wfact.h"
#include "wfmp.h"

static void result_init(wfi_result *res) {
  memset(res, 0, sizeof *res);
  res->exit_code = -1;
}

static void fail_now(wfi_job *job, int retryable, const char *msg) {
  wfi_result res;

  result_init(&res);
  res.retryable = retryable;
  res.error = strdup(msg);
  wfi_job_done(job, &res);
}

/* The step input's "with" value (a slice of job->input), or NULL/0 when absent. */
static int with_value(const wfi_job *job, const uint8_t **p, size_t *n) {
  int rc = wfa_mp_map_get(job->input, job->input_len, "with", p, n);

  if (rc == WF_ENOTFOUND)
    rc = 0;
  if (!rc && *p && *n == 1 && **p == 0xc0) { /* nil */
    *p = NULL;
    *n = 0;
  }
  return rc;
}

/* core.echo: the output is the input's "with" value, unchanged. */
static void echo_start(void *ctx, wfi_job *job) {
  const uint8_t *p;
  size_t n;
  wfi_result res;

  (void)ctx;
  if (with_value(job, &p, &n)) {
    fail_now(job, 0, "core.echo: step input is not a msgpack map");
    return;
  }
  result_init(&res);
  res.ok = 1;
  res.exit_code = 0;
  if (p) {
    if (!(res.output = malloc(n))) {
      fail_now(job, 1, "core.echo: out of memory");
      return;
    }
    memcpy(res.output, p, n);
    res.output_len = n;
  }
  wfi_job_done(job, &res);
}

/* core.fail: fails at once, never retried, with with.message as the error. */
static void fail_start(void *ctx, wfi_job *job) {
  const uint8_t *with, *m;
  size_t wn, mn;
  char *msg = NULL;
  wfm_reader r;
  wfm_obj o;
  wfi_result res;

  (void)ctx;
  if (with_value(job, &with, &wn)) {
    fail_now(job, 0, "core.fail: step input is not a msgpack map");
    return;
  }
  if (with && !wfa_mp_map_get(with, wn, "message", &m, &mn)) {
    wfm_reader_init(&r, m, mn);
    if (!wfm_next(&r, &o) && o.type == WFM_STR && (msg = malloc((size_t)o.v.s.n + 1))) {
      memcpy(msg, o.v.s.p, o.v.s.n);
      msg[o.v.s.n] = 0;
    }
  }
  if (!msg) {
    fail_now(job, 0, "core.fail: failed as asked (no with.message given)");
    return;
  }
  result_init(&res);
  res.error = msg;
  wfi_job_done(job, &res);
}

/* Built-ins finish inside start: there is never an attempt in flight to stop. */
static void kill_nothing(void *ctx, wfi_job *job, int reason) {
  (void)ctx;
  (void)job;
  (void)reason;
}

static const wfi_activity core_echo = {"core.echo", echo_start, kill_nothing};
static const wfi_activity core_fail = {"core.fail", fail_start, kill_nothing};

static const wfi_activity *const builtins[] = {&core_echo, &core_fail};

const wfi_activity *wfa_builtin(const char *uses) {
  size_t i;

  if (!uses)
    return NULL;
  for (i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
    if (!strcmp(builtins[i]->name, uses))
      return builtins[i];
  return NULL;
}

void wfa_builtin_names(void (*cb)(void *ud, const char *name), void *ud) {
  size_t i;

  for (i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
    cb(ud, builtins[i]->name);
}
