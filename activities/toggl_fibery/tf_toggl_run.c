/* tf_toggl_run.c — the built-ins toggl.users and toggl.fetch_day: one attempt drives the
 * Toggl API over wfhttp, with the per-status waits and attempt bounds of the Toggl
 * contract done inside the step (the engine's retry policy only sees what is left).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tf_api.h"
#include "tf_sample.h"
#include "tf_toggl.h"
#include "wf/wf.h"
#include "wfact.h"

#define TG_402_ATTEMPTS 5
#define TG_429_ATTEMPTS 6
#define TG_5XX_ATTEMPTS 5

typedef struct tg_op {
  tf_op op;
  tf_creds creds;
  cJSON *input;
  const cJSON *with;
  char *url, *userpwd, *body;
  size_t body_len;
  const char *hdrs[2];
  char endpoint[200];      /* "POST /reports/..." for messages; no host, no token */
  int n402, n429, n5xx;
  /* toggl.users */
  const cJSON *want_users;
  /* toggl.fetch_day */
  cJSON *user_map;         /* owned copy */
  tf_toggl_query q;
  int64_t *uids;
  tf_toggl_cursor cur;
  tf_toggl_day day;
  uint32_t pages, max_pages;
  size_t prev_rows;
  int empty_retried;
} tg_op;

static void tg_release(tf_op *op) {
  tg_op *t = (tg_op *)op;

  tf_creds_clear(&t->creds);
  cJSON_Delete(t->input);
  cJSON_Delete(t->user_map);
  free(t->url);
  if (t->userpwd)
    memset(t->userpwd, 0, strlen(t->userpwd));
  free(t->userpwd);
  free(t->body);
  free(t->uids);
  tf_toggl_day_clear(&t->day);
  free(t);
}

static double header_num(const wfa_http_resp *r, const char *name, double def) {
  char buf[64], *end;
  double v;

  if (!wfa_http_header(r, name, buf, sizeof buf))
    return def;
  v = strtod(buf, &end);
  return end != buf && isfinite(v) && v >= 0 ? v : def;
}

/* A used-up hourly quota holds every Toggl request of the token until it resets, rather
 * than spending requests that can only be refused (DOMAIN §2.6). */
static void tg_quota(tg_op *t, const wfa_http_resp *r) {
  double resets;

  if (header_num(r, "X-Toggl-Quota-Remaining", -1) != 0)
    return;
  resets = header_num(r, "X-Toggl-Quota-Resets-In", 60);
  tf_op_pause(&t->op, resets + 1,
              "X-Toggl-Quota-Remaining: 0, the Toggl plan's hourly request limit is used up");
}

/* The waits and attempt bounds for 402/429/5xx/transport errors. 402 and 429 hold every
 * request of the token (the limiter's pause); a server error or a lost connection waits
 * only for this request. Returns 1 when the same request was scheduled again, 0 when
 * the attempt was failed. */
static int tg_retry(tg_op *t, wfa_http_resp *r) {
  char msg[512], why[700];
  double d;

  tf_api_message(r->body, r->body_len, msg, sizeof msg);
  if (r->status == 402) {
    /* the hourly quota: waiting for its reset is the only thing that helps */
    d = header_num(r, "X-Toggl-Quota-Resets-In", -1);
    d = d >= 0 ? d + 1 : 60.0 * pow(2, t->n402);
    if (++t->n402 >= TG_402_ATTEMPTS) {
      tf_op_fail(&t->op, 1,
                 "%s: HTTP 402, the Toggl plan's hourly request limit is used up (%s); "
                 "quota resets in %.0f s, attempts %d: resume the run later",
                 t->endpoint, msg, d, t->n402);
      return 0;
    }
    snprintf(why, sizeof why, "HTTP 402, the Toggl plan's hourly request limit is used up: %s",
             msg);
    tf_op_pause(&t->op, d, why);
    d = 0;
  } else if (r->status == 429) {
    d = r->retry_after_s >= 0 ? r->retry_after_s : fmin(60.0, pow(2, t->n429));
    if (++t->n429 >= TG_429_ATTEMPTS) {
      tf_op_fail(&t->op, 1, "%s: HTTP 429 (throttled) after %d attempts: %s", t->endpoint,
                 t->n429, msg);
      return 0;
    }
    snprintf(why, sizeof why, "HTTP 429 from Toggl: %s", msg);
    tf_op_pause(&t->op, d, why);
    d = 0;
  } else {
    d = pow(2, t->n5xx) * (0.75 + 0.5 * tf_op_rand(&t->op));
    if (++t->n5xx >= TG_5XX_ATTEMPTS) {
      if (r->status)
        tf_op_fail(&t->op, 1, "%s: HTTP %ld after %d attempts: %s", t->endpoint, r->status,
                   t->n5xx, msg);
      else
        tf_op_fail(&t->op, 1, "%s: %s (after %d attempts)", t->endpoint, r->error, t->n5xx);
      return 0;
    }
  }
  tf_op_resend(&t->op, d);
  return 1;
}

/* 1 when the response is a 200 to use; otherwise it was retried or the attempt failed. */
static int tg_status(tg_op *t, wfa_http_resp *r) {
  char msg[512];

  tg_quota(t, r);
  if (r->status == 200)
    return 1;
  if (r->status == 402 || r->status == 429 || r->status == 0 || r->status >= 500) {
    tg_retry(t, r);
    return 0;
  }
  tf_api_message(r->body, r->body_len, msg, sizeof msg);
  if (r->status == 401 || r->status == 403)
    tf_op_fail(&t->op, 0, "Toggl rejected the token (HTTP %ld): %s (%s)", r->status, msg,
               t->endpoint);
  else
    tf_op_fail(&t->op, 0, "%s: HTTP %ld: %s", t->endpoint, r->status, msg);
  return 0;
}

/* ---- toggl.users --------------------------------------------------------------------- */

static void users_resp(tf_op *op, wfa_http_resp *r) {
  tg_op *t = (tg_op *)op;
  cJSON *map;
  int64_t *ids;
  size_t n;
  char *unknown;
  int rc;

  if (!tg_status(t, r))
    return;
  if ((rc = tf_toggl_users_parse(r->body, r->body_len, &map))) {
    tf_op_fail(op, rc == WF_ENOMEM, "%s: the response is not a JSON array of users",
               t->endpoint);
    return;
  }
  if (t->want_users) {
    if ((rc = tf_toggl_match_users(t->want_users, map, &ids, &n, &unknown))) {
      cJSON_Delete(map);
      tf_op_fail(op, 0, "with.users must be e-mails (a list or a comma-separated string)");
      return;
    }
    free(ids);
    if (unknown) {
      tf_op_fail(op, 0, "unknown Toggl users (not in workspace %s): %s",
                 t->creds.toggl_workspace ? t->creds.toggl_workspace : "of the sample data",
                 unknown);
      free(unknown);
      cJSON_Delete(map);
      return;
    }
  }
  tf_op_ok(op, map);
}

/* ---- toggl.fetch_day --------------------------------------------------------------------- */

static int day_body(tg_op *t) {
  free(t->body);
  return tf_toggl_search_body(&t->q, t->pages ? &t->cur : NULL, &t->body, &t->body_len);
}

/* Ask for the next page (again: `again`, the suspicious empty page asked once more). */
static void day_next(tg_op *t, int again) {
  int rc = day_body(t);

  if (rc) {
    tf_op_fail(&t->op, 0, "cannot build the search body (%s)", wf_strerror(rc));
    return;
  }
  t->op.req.body = t->body;
  t->op.req.body_len = t->body_len;
  t->n402 = t->n429 = t->n5xx = 0;
  if (again)
    tf_op_resend(&t->op, 0);
  else
    tf_op_send(&t->op, 0);
}

static void day_done(tg_op *t) {
  cJSON *out = tf_toggl_day_output(&t->day, t->op.requests, t->op.retried, t->pages);

  if (!out)
    tf_op_fail(&t->op, 1, "out of memory");
  else
    tf_op_ok(&t->op, out);
}

static void day_resp(tf_op *op, wfa_http_resp *r) {
  tg_op *t = (tg_op *)op;
  char err[256], nid[64], nrow[64], nts[64];
  const char *hid, *hrow, *hts, *bad;
  int was_follow_up = t->pages > 0, more;
  size_t nrows;

  if (!tg_status(t, r))
    return;
  if (tf_toggl_day_add_page(&t->day, r->body, r->body_len, &nrows, err, sizeof err)) {
    tf_op_fail(op, 1, "%s: %s", t->endpoint, err);
    return;
  }
  t->pages++;
  /* A public client saw empty pages when first_id was echoed: one retry without it. */
  if (!nrows && was_follow_up && !t->empty_retried && t->prev_rows >= t->q.page_size &&
      (t->cur.has_id || t->cur.has_ts)) {
    t->empty_retried = 1;
    t->cur.has_id = t->cur.has_ts = 0;
    t->pages--;
    day_next(t, 1);
    return;
  }
  if (!nrows) {
    day_done(t);
    return;
  }
  hid = wfa_http_header(r, "X-Next-ID", nid, sizeof nid);
  hrow = wfa_http_header(r, "X-Next-Row-Number", nrow, sizeof nrow);
  hts = wfa_http_header(r, "X-Next-Timestamp", nts, sizeof nts);
  more = tf_toggl_next_cursor(hid, hrow, hts, &t->cur, &bad);
  if (more < 0) {
    tf_op_fail(op, 0, "%s: malformed paging header %s on page %u of %s", t->endpoint, bad,
               t->pages, t->q.date);
    return;
  }
  if (!more) {
    day_done(t);
    return;
  }
  if (t->pages >= t->max_pages) {
    tf_op_fail(op, 0, "%s: more than %u pages for %s (with.max_pages)", t->endpoint,
               t->max_pages, t->q.date);
    return;
  }
  t->prev_rows = nrows;
  t->empty_retried = 0;
  day_next(t, 0);
}

/* The users map: with.user_map, else the output of the users stage among the inputs. */
static const cJSON *day_user_map(const cJSON *in, const cJSON *with) {
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(with, "user_map");
  const char *stage = tf_str(with, "users_stage");

  if (cJSON_IsObject(m))
    return m;
  m = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(in, "inputs"),
                                       stage ? stage : "users");
  return cJSON_IsObject(m) ? m : NULL;
}

static int day_setup(tg_op *t, char *err, size_t cap) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(t->input, "item");
  const char *date = tf_str(t->with, "date");
  const cJSON *users = cJSON_GetObjectItemCaseSensitive(t->with, "users");
  const cJSON *map = day_user_map(t->input, t->with);
  double ps = tf_num(t->with, "page_size", 50), mp = tf_num(t->with, "max_pages", 1000);
  char *unknown = NULL;
  size_t n = 0;
  int rc;

  if (!date && cJSON_IsString(item))
    date = item->valuestring;
  if (!tf_toggl_valid_date(date)) {
    snprintf(err, cap, "the item (or with.date) must be a date YYYY-MM-DD");
    return WF_EINVAL;
  }
  if (ps < 1 || ps > 10000 || ps != floor(ps) || mp < 1 || mp > 1e6 || mp != floor(mp)) {
    snprintf(err, cap, "with.page_size must be an integer in 1..10000, with.max_pages in 1..1000000");
    return WF_EINVAL;
  }
  snprintf(t->q.date, sizeof t->q.date, "%s", date);
  t->q.page_size = (uint32_t)ps;
  t->max_pages = (uint32_t)mp;
  if (map && !(t->user_map = cJSON_Duplicate(map, 1)))
    return WF_ENOMEM;
  if (users && !cJSON_IsNull(users) && !(cJSON_IsString(users) && !users->valuestring[0]) &&
      !(cJSON_IsArray(users) && !cJSON_GetArraySize(users))) {
    if (!t->user_map) {
      snprintf(err, cap, "with.users is given but there is no users map (with.user_map or "
                         "the output of the users stage in inputs)");
      return WF_EINVAL;
    }
    if ((rc = tf_toggl_match_users(users, t->user_map, &t->uids, &n, &unknown))) {
      snprintf(err, cap, "with.users must be e-mails (a list or a comma-separated string)");
      return rc;
    }
    if (unknown) {
      snprintf(err, cap, "unknown Toggl users: %.400s", unknown);
      free(unknown);
      return WF_EINVAL;
    }
    t->q.user_ids = t->uids;
    t->q.nuser_ids = n;
  }
  if ((rc = tf_toggl_day_init(&t->day, t->q.date, t->user_map)))
    return rc;
  if (t->creds.toggl_workspace)
    t->day.workspace_id = strtoll(t->creds.toggl_workspace, NULL, 10);
  return 0;
}

/* ---- the shared start ------------------------------------------------------------------ */

/* A new attempt with its step input read, or NULL when it has already been failed. */
static tg_op *tg_new(wfi_job *job, const char *what) {
  tg_op *t = calloc(1, sizeof *t);

  if (!t) {
    wfa_job_fail(job, 1, "out of memory");
    return NULL;
  }
  if (tf_op_init(&t->op, job)) {
    free(t);
    wfa_job_fail(job, 1, "cannot start a timer on the loop");
    return NULL;
  }
  t->op.release = tg_release;
  if (tf_input_json(job, &t->input)) {
    tf_op_fail(&t->op, 0, "%s: the step input is not a map", what);
    return NULL;
  }
  t->with = cJSON_GetObjectItemCaseSensitive(t->input, "with");
  return t;
}

/* Every Toggl request of the process with this token goes through one limiter, at
 * with.rps requests per second (1 unless given; with.min_interval_s, seconds between
 * requests, is the same setting the other way round). */
static int tg_limit(tg_op *t) {
  const cJSON *mi = cJSON_GetObjectItemCaseSensitive(t->with, "min_interval_s");
  double rps = tf_num(t->with, "rps", 1.0);

  if (cJSON_IsNumber(mi))
    rps = mi->valuedouble > 0 ? 1.0 / mi->valuedouble : 0;
  return tf_op_limit(&t->op, "toggl", t->creds.toggl_base, t->creds.toggl_token, rps);
}

/* The credentials, the token's limiter and the request: `method` on the workspace's
 * path (path_head, the workspace id, path_tail) of the Toggl base URL. 0, or -1 when
 * the attempt has been failed. */
static int tg_connect(tg_op *t, const char *what, const char *method, const char *path_head,
                      const char *path_tail) {
  char err[1024];
  size_t n;

  if (tf_creds_load(&t->creds, err, sizeof err) ||
      tf_creds_need_toggl(&t->creds, err, sizeof err)) {
    tf_op_fail(&t->op, 0, "%s: %s", what, err);
    return -1;
  }
  t->op.secret = t->creds.toggl_token;
  t->op.max_wait_s = tf_num(t->with, "quota_wait_max_s", 3600.0);
  if (tg_limit(t)) {
    tf_op_fail(&t->op, 1, "out of memory");
    return -1;
  }
  n = strlen(t->creds.toggl_base) + strlen(t->creds.toggl_workspace) + 80;
  n += strlen(t->creds.toggl_token);
  if (!(t->url = malloc(n)) || !(t->userpwd = malloc(n))) {
    tf_op_fail(&t->op, 1, "out of memory");
    return -1;
  }
  /* Basic auth: the token is the user name, the password the literal "api_token" */
  snprintf(t->userpwd, n, "%s:api_token", t->creds.toggl_token);
  snprintf(t->endpoint, sizeof t->endpoint, "%s %s%s%s", method, path_head,
           t->creds.toggl_workspace, path_tail);
  snprintf(t->url, n, "%s%s", t->creds.toggl_base, t->endpoint + strlen(method) + 1);
  t->hdrs[0] = "Content-Type: application/json";
  t->hdrs[1] = "Accept: application/json";
  t->op.req.method = method;
  t->op.req.url = t->url;
  t->op.req.headers = t->hdrs;
  t->op.req.nheaders = 2;
  t->op.req.userpwd = t->userpwd;
  t->op.req.timeout_s = tf_num(t->with, "timeout_s", 30);
  t->op.label = t->endpoint;
  return 0;
}

/* ---- toggl.users: start ---------------------------------------------------------------- */

/* with.users, or NULL when none is asked for. */
static const cJSON *users_wanted(const cJSON *with) {
  const cJSON *u = cJSON_GetObjectItemCaseSensitive(with, "users");

  if (cJSON_IsNull(u) || (cJSON_IsString(u) && !u->valuestring[0]))
    return NULL;
  return u;
}

/* Sample-data mode (tf_sample.h): the users file, as if the API had answered it. */
static void users_sample(tg_op *t, const char *dir) {
  wfa_http_resp r;
  char *buf;
  size_t len;
  int rc;

  snprintf(t->endpoint, sizeof t->endpoint, "sample toggl/users.json");
  if ((rc = tf_sample_read(dir, "toggl/users.json", &buf, &len))) {
    tf_op_fail(&t->op, rc == WF_ENOMEM, "toggl.users: cannot read %s/toggl/users.json (%s)",
               dir, wf_strerror(rc));
    return;
  }
  memset(&r, 0, sizeof r);
  r.status = 200;
  r.body = buf;
  r.body_len = len;
  r.retry_after_s = -1;
  users_resp(&t->op, &r);
  free(buf);
}

static void users_start(void *ctx, wfi_job *job) {
  tg_op *t = tg_new(job, "toggl.users");

  (void)ctx;
  if (!t)
    return;
  t->want_users = users_wanted(t->with);
  if (tf_sample_dir(t->with)) {
    users_sample(t, tf_sample_dir(t->with));
    return;
  }
  if (tg_connect(t, "toggl.users", "GET", "/api/v9/workspaces/", "/users"))
    return;
  t->op.on_resp = users_resp;
  tf_op_send(&t->op, 0);
}

/* ---- toggl.fetch_day: start ------------------------------------------------------------ */

/* day_setup, failing the attempt on an error: 0, or -1 when it has been failed. */
static int day_begin(tg_op *t) {
  char err[1024];
  int rc = day_setup(t, err, sizeof err);

  if (rc)
    tf_op_fail(&t->op, rc == WF_ENOMEM, "toggl.fetch_day: %s",
               rc == WF_ENOMEM ? "out of memory" : err);
  return rc ? -1 : 0;
}

/* Sample-data mode (tf_sample.h): the day's page files, read as the answers are, up
 * to the first that does not exist. */
static void day_sample(tg_op *t, const char *dir) {
  char rel[300], err[256];
  char *buf;
  size_t len, nrows;
  int rc;

  if (day_begin(t))
    return;
  for (;;) {
    if (tf_sample_toggl_page(t->q.date, t->pages + 1, rel, sizeof rel)) {
      tf_op_fail(&t->op, 0, "toggl.fetch_day: sample path too long");
      return;
    }
    rc = tf_sample_read(dir, rel, &buf, &len);
    if (rc == WF_ENOTFOUND)
      break;
    if (rc) {
      tf_op_fail(&t->op, rc == WF_ENOMEM, "toggl.fetch_day: cannot read %s/%s (%s)", dir, rel,
                 wf_strerror(rc));
      return;
    }
    if (t->pages >= t->max_pages) {
      free(buf);
      tf_op_fail(&t->op, 0, "toggl.fetch_day: more than %u sample pages for %s (with.max_pages)",
                 t->max_pages, t->q.date);
      return;
    }
    rc = tf_toggl_day_add_page(&t->day, buf, len, &nrows, err, sizeof err);
    free(buf);
    if (rc) {
      tf_op_fail(&t->op, rc == WF_ENOMEM, "toggl.fetch_day: sample %s: %s", rel, err);
      return;
    }
    t->pages++;
  }
  day_done(t);
}

static void day_start(void *ctx, wfi_job *job) {
  tg_op *t = tg_new(job, "toggl.fetch_day");

  (void)ctx;
  if (!t)
    return;
  if (tf_sample_dir(t->with)) {
    day_sample(t, tf_sample_dir(t->with));
    return;
  }
  if (tg_connect(t, "toggl.fetch_day", "POST", "/reports/api/v3/workspace/",
                 "/search/time_entries") ||
      day_begin(t))
    return;
  t->op.on_resp = day_resp;
  day_next(t, 0);
}

static void tg_kill(void *ctx, wfi_job *job, int reason) {
  (void)ctx;
  tf_op_kill(job->act_state, reason);
}

const wfi_activity wfa_toggl_users = {"toggl.users", users_start, tg_kill};
const wfi_activity wfa_toggl_fetch_day = {"toggl.fetch_day", day_start, tg_kill};
