/* builtin.c — the table of built-in activities named by a stage's "uses": the core ones
 * (core.echo, core.fail, core.dates), which need no process and finish inside start, then
 * each integration's, reached through the one entry of its folder (toggl_fibery/).
 */
#define _DEFAULT_SOURCE /* timegm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "toggl_fibery/tf_activities.h"
#include "wf/wf.h"
#include "wfact.h"
#include "wfmp.h"

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
    wfa_job_fail(job, 0, "core.echo: step input is not a msgpack map");
    return;
  }
  wfa_result_init(&res);
  res.ok = 1;
  res.exit_code = 0;
  if (p) {
    if (!(res.output = malloc(n))) {
      wfa_job_fail(job, 1, "core.echo: out of memory");
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

  (void)ctx;
  if (with_value(job, &with, &wn)) {
    wfa_job_fail(job, 0, "core.fail: step input is not a msgpack map");
    return;
  }
  if (with && !wfa_mp_map_get(with, wn, "message", &m, &mn)) {
    wfm_reader_init(&r, m, mn);
    if (!wfm_next(&r, &o) && o.type == WFM_STR && (msg = malloc((size_t)o.v.s.n + 1))) {
      memcpy(msg, o.v.s.p, o.v.s.n);
      msg[o.v.s.n] = 0;
    }
  }
  wfa_job_fail(job, 0, msg ? msg : "core.fail: failed as asked (no with.message given)");
  free(msg);
}

/* A YYYY-MM-DD that exists, as seconds at 00:00 UTC; -1 otherwise. */
static long long day_of(const cJSON *j) {
  int y, m, d;
  char tail;
  if (!cJSON_IsString(j) || sscanf(j->valuestring, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 ||
      strlen(j->valuestring) != 10)
    return -1;
  struct tm tm = {0};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  time_t t = timegm(&tm);
  struct tm back;
  gmtime_r(&t, &back);
  if (back.tm_year != y - 1900 || back.tm_mon != m - 1 || back.tm_mday != d) return -1;
  return (long long)t;
}

/* core.dates: the days from with.start to with.end, both included, as YYYY-MM-DD
 * strings: the items of a per-day fan-out. At most 366 days. */
static void dates_start(void *ctx, wfi_job *job) {
  const uint8_t *with;
  size_t wn;
  cJSON *w = NULL;
  (void)ctx;
  if (with_value(job, &with, &wn) || !with || wfa_mp_to_json(with, wn, &w) != 0) {
    wfa_job_fail(job, 0, "core.dates: needs \"with\": {\"start\": \"YYYY-MM-DD\", \"end\": \"YYYY-MM-DD\"}");
    return;
  }
  long long a = day_of(cJSON_GetObjectItemCaseSensitive(w, "start"));
  long long b = day_of(cJSON_GetObjectItemCaseSensitive(w, "end"));
  cJSON_Delete(w);
  if (a < 0 || b < 0) {
    wfa_job_fail(job, 0, "core.dates: with.start and with.end must be dates (YYYY-MM-DD) that exist");
    return;
  }
  if (b < a || (b - a) / 86400 >= 366) {
    wfa_job_fail(job, 0, "core.dates: the end must not be before the start, and the range at most "
                     "366 days");
    return;
  }
  cJSON *days = cJSON_CreateArray();
  for (long long t = a; t <= b && days; t += 86400) {
    time_t tt = (time_t)t;
    struct tm tm;
    char buf[16];
    gmtime_r(&tt, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    cJSON_AddItemToArray(days, cJSON_CreateString(buf));
  }
  wfi_result res;
  wfa_result_init(&res);
  if (!days || wfa_json_to_mp_buf(days, &res.output, &res.output_len) != 0) {
    cJSON_Delete(days);
    wfa_job_fail(job, 1, "core.dates: out of memory");
    return;
  }
  cJSON_Delete(days);
  res.ok = 1;
  res.exit_code = 0;
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
static const wfi_activity core_dates = {"core.dates", dates_start, kill_nothing};

static const wfi_activity *const core[] = {&core_echo, &core_fail, &core_dates, NULL};

static const wfi_activity *const *core_activities(void) { return core; }

/* One NULL-terminated table per entry: the core built-ins first, then each integration. */
typedef const wfi_activity *const *activity_table(void);
static activity_table *const tables[] = {core_activities, wfa_tf_activities};
#define NTABLES (sizeof tables / sizeof tables[0])

const wfi_activity *wfa_builtin(const char *uses) {
  const wfi_activity *const *a;
  size_t i;

  if (!uses)
    return NULL;
  for (i = 0; i < NTABLES; i++)
    for (a = tables[i](); *a; a++)
      if (!strcmp((*a)->name, uses))
        return *a;
  return NULL;
}

void wfa_builtin_names(void (*cb)(void *ud, const char *name), void *ud) {
  const wfi_activity *const *a;
  size_t i;

  for (i = 0; i < NTABLES; i++)
    for (a = tables[i](); *a; a++)
      cb(ud, (*a)->name);
}
