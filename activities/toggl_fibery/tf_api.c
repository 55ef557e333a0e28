/* tf_api.c — shared parts of the Toggl and Fibery clients: credentials, input access,
 * API error messages, and the per-attempt HTTP operation (pacing through the shared
 * limiters of tf_limit.h, waits, kill).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tf_api.h"
#include "wf/wf.h"
#include "wfact.h"

/* ---- credentials ----------------------------------------------------------------- */

static const char *const cred_keys[] = {"TOGGL_API_TOKEN",  "TOGGL_WORKSPACE_ID",
                                        "TOGGL_API_BASE",   "FIBERY_API_TOKEN",
                                        "FIBERY_WORKSPACE", "FIBERY_API_BASE"};

/* Case-insensitive ASCII compare: strcasecmp depends on the locale. */
static int strcasecmp_ascii(const char *a, const char *b) {
  unsigned char x, y;

  if (!a)
    return 1;
  do {
    x = (unsigned char)*a++;
    y = (unsigned char)*b++;
    if (x >= 'A' && x <= 'Z')
      x = (unsigned char)(x + 32);
    if (y >= 'A' && y <= 'Z')
      y = (unsigned char)(y + 32);
  } while (x && x == y);
  return x != y;
}

static char **cred_slot(tf_creds *c, size_t i) {
  char **slots[] = {&c->toggl_token,  &c->toggl_workspace,  &c->toggl_base,
                    &c->fibery_token, &c->fibery_workspace, &c->fibery_base};
  return slots[i];
}

int tf_creds_path(char *buf, size_t cap) {
  const char *p = getenv("WF_TF_CONFIG"), *x = getenv("XDG_CONFIG_HOME"), *h = getenv("HOME");
  int n;

  if (p && *p)
    n = snprintf(buf, cap, "%s", p);
  else if (x && *x)
    n = snprintf(buf, cap, "%s/wf/toggl-fibery.json", x);
  else if (h && *h)
    n = snprintf(buf, cap, "%s/.config/wf/toggl-fibery.json", h);
  else
    return WF_ENOTFOUND;
  return n < 0 || (size_t)n >= cap ? WF_EINVAL : 0;
}

static char *read_small_file(const char *path, size_t max, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf;
  size_t n;

  if (!f)
    return NULL;
  if (!(buf = malloc(max + 1))) {
    fclose(f);
    return NULL;
  }
  n = fread(buf, 1, max + 1, f);
  fclose(f);
  if (n > max) {
    free(buf);
    return NULL;
  }
  buf[n] = 0;
  *len = n;
  return buf;
}

static void wipe_free(char *s) {
  if (s) {
    volatile char *v = s;
    while (*v)
      *v++ = 0;
    free(s);
  }
}

/* Values missing from the environment come from the file; a token in a file others can
 * read is a leaked token, so such a file is refused rather than used. */
static int creds_from_file(tf_creds *c, char *err, size_t cap) {
  char path[4096];
  struct stat st;
  const char *explicit = getenv("WF_TF_CONFIG");
  char *text;
  size_t len, i;
  cJSON *j, *it;
  int rc = 0;

  if (tf_creds_path(path, sizeof path))
    return 0;
  if (stat(path, &st)) {
    if (explicit && *explicit) {
      snprintf(err, cap, "WF_TF_CONFIG names %s, which cannot be read (%s)", path,
               strerror(errno));
      return WF_EINVAL;
    }
    return 0;
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    snprintf(err, cap, "config file %s is accessible by group or others; run: chmod 600 %s",
             path, path);
    return WF_EINVAL;
  }
  if (!(text = read_small_file(path, 1 << 20, &len))) {
    snprintf(err, cap, "cannot read config file %s", path);
    return WF_EIO;
  }
  j = cJSON_ParseWithLength(text, len);
  wipe_free(text);
  if (!cJSON_IsObject(j)) {
    snprintf(err, cap, "config file %s is not a JSON object", path);
    cJSON_Delete(j);
    return WF_EINVAL;
  }
  cJSON_ArrayForEach(it, j) {
    for (i = 0; i < 6; i++)
      if (!strcasecmp_ascii(it->string, cred_keys[i]))
        break;
    if (i == 6 || !cJSON_IsString(it)) {
      snprintf(err, cap, "config file %s: unknown or non-string key \"%.64s\"", path,
               it->string ? it->string : "");
      rc = WF_EINVAL;
      break;
    }
    if (!*cred_slot(c, i) && !(*cred_slot(c, i) = strdup(it->valuestring))) {
      rc = WF_ENOMEM;
      break;
    }
  }
  /* the parsed tree held the tokens too */
  cJSON_ArrayForEach(it, j) if (cJSON_IsString(it)) memset(it->valuestring, 0,
                                                          strlen(it->valuestring));
  cJSON_Delete(j);
  return rc;
}

int tf_creds_load(tf_creds *c, char *err, size_t cap) {
  size_t i;
  int rc;

  memset(c, 0, sizeof *c);
  err[0] = 0;
  for (i = 0; i < 6; i++) {
    const char *v = getenv(cred_keys[i]);
    if (v && *v && !(*cred_slot(c, i) = strdup(v))) {
      tf_creds_clear(c);
      snprintf(err, cap, "out of memory");
      return WF_ENOMEM;
    }
  }
  if ((rc = creds_from_file(c, err, cap))) {
    tf_creds_clear(c);
    return rc;
  }
  if (!c->toggl_base && !(c->toggl_base = strdup(TF_TOGGL_BASE)))
    rc = WF_ENOMEM;
  if (!rc && !c->fibery_base && c->fibery_workspace) {
    size_t n = strlen(c->fibery_workspace) + 32;
    if ((c->fibery_base = malloc(n)))
      snprintf(c->fibery_base, n, "https://%s.fibery.io", c->fibery_workspace);
    else
      rc = WF_ENOMEM;
  }
  for (i = 0; !rc && i < 6; i++) {
    char *s = *cred_slot(c, i);
    size_t n = s ? strlen(s) : 0;
    while (n && (s[n - 1] == '/' || s[n - 1] == '\n' || s[n - 1] == ' '))
      s[--n] = 0; /* "https://host/" and tokens pasted with a newline */
  }
  if (rc) {
    tf_creds_clear(c);
    snprintf(err, cap, "out of memory");
  }
  return rc;
}

int tf_creds_need_toggl(const tf_creds *c, char *err, size_t cap) {
  const char *w = c->toggl_workspace;

  if (!c->toggl_token || !*c->toggl_token) {
    snprintf(err, cap, "no Toggl API token: set TOGGL_API_TOKEN or toggl_api_token in the config file");
    return WF_EINVAL;
  }
  if (!w || !*w || strspn(w, "0123456789") != strlen(w) || strlen(w) > 18) {
    snprintf(err, cap, "TOGGL_WORKSPACE_ID %s: set it to the numeric Toggl workspace id",
             w && *w ? "is not a number" : "is not set");
    return WF_EINVAL;
  }
  return 0;
}

int tf_creds_need_fibery(const tf_creds *c, char *err, size_t cap) {
  if (!c->fibery_token || !*c->fibery_token) {
    snprintf(err, cap, "no Fibery API token: set FIBERY_API_TOKEN or fibery_api_token in the config file");
    return WF_EINVAL;
  }
  if (!c->fibery_base) {
    snprintf(err, cap, "no Fibery workspace: set FIBERY_WORKSPACE (or FIBERY_API_BASE)");
    return WF_EINVAL;
  }
  return 0;
}

void tf_creds_clear(tf_creds *c) {
  size_t i;

  if (!c)
    return;
  for (i = 0; i < 6; i++) {
    wipe_free(*cred_slot(c, i));
    *cred_slot(c, i) = NULL;
  }
}

/* ---- messages -------------------------------------------------------------------- */

static void copy_clean(const char *s, size_t n, char *out, size_t cap) {
  size_t i, o = 0;
  int space = 1;

  if (!cap)
    return;
  for (i = 0; i < n && o + 1 < cap; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch < 0x20 || ch == 0x7f) {
      if (!space)
        out[o++] = ' ';
      space = 1;
      continue;
    }
    if (ch == ' ' && space)
      continue;
    out[o++] = (char)ch;
    space = ch == ' ';
  }
  /* never end inside a UTF-8 sequence */
  if (i < n)
    while (o && ((unsigned char)out[o - 1] & 0xc0) == 0x80)
      o--;
  if (i < n && o && ((unsigned char)out[o - 1] & 0xc0) == 0xc0)
    o--;
  while (o && out[o - 1] == ' ')
    o--;
  out[o] = 0;
}

static const char *msg_of(const cJSON *j) {
  const cJSON *e;

  if (cJSON_IsString(j))
    return j->valuestring;
  if (!cJSON_IsObject(j))
    return NULL;
  if (cJSON_IsString(e = cJSON_GetObjectItemCaseSensitive(j, "message")))
    return e->valuestring;
  if ((e = cJSON_GetObjectItemCaseSensitive(j, "error")) && msg_of(e))
    return msg_of(e);
  if (cJSON_IsArray(e = cJSON_GetObjectItemCaseSensitive(j, "errors")))
    return msg_of(cJSON_GetArrayItem(e, 0));
  return NULL;
}

void tf_api_message(const char *body, size_t len, char *out, size_t cap) {
  cJSON *j = body && len ? cJSON_ParseWithLength(body, len) : NULL;
  const char *m = NULL;

  if (!cap)
    return;
  if (cJSON_IsArray(j))
    m = msg_of(cJSON_GetArrayItem(j, 0));
  else
    m = msg_of(j);
  if (m)
    copy_clean(m, strlen(m), out, cap);
  else
    copy_clean(body ? body : "", body ? len : 0, out, cap > 201 ? 201 : cap);
  if (!out[0])
    snprintf(out, cap, "(empty response)");
  cJSON_Delete(j);
}

void tf_redact(char *s, const char *secret) {
  size_t n = secret ? strlen(secret) : 0;
  char *p;

  if (!s || n < 4)
    return;
  while ((p = strstr(s, secret))) {
    memcpy(p, "***", 3);
    memmove(p + 3, p + n, strlen(p + n) + 1);
  }
}

/* ---- input ------------------------------------------------------------------------- */

int tf_input_json(const wfi_job *job, cJSON **out) {
  int rc;

  *out = NULL;
  if (!job->input || !job->input_len)
    return WF_ECORRUPT;
  if ((rc = wfa_mp_to_json(job->input, job->input_len, out)))
    return rc;
  if (!cJSON_IsObject(*out)) {
    cJSON_Delete(*out);
    *out = NULL;
    return WF_ECORRUPT;
  }
  return 0;
}

double tf_num(const cJSON *o, const char *key, double def) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

  return cJSON_IsNumber(v) ? v->valuedouble : def;
}

const char *tf_str(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- the operation ------------------------------------------------------------------ */

int tf_op_init(tf_op *op, wfi_job *job) {
  int rc;

  op->job = job;
  wfa_result_init(&op->res);
  if ((rc = uv_timer_init(job->loop, &op->timer)))
    return WF_EIO;
  op->timer.data = op;
  op->rng = (uv_hrtime() ^ (uint64_t)(uintptr_t)op) | 1;
  job->act_state = op;
  return 0;
}

static void op_closed(uv_handle_t *h) {
  tf_op *op = h->data;
  wfi_job *job = op->job;
  wfi_result res = op->res;

  job->act_state = NULL;
  if (op->release)
    op->release(op);
  wfi_job_done(job, &res);
}

static void op_finish(tf_op *op) {
  if (op->finishing)
    return;
  op->finishing = 1;
  uv_timer_stop(&op->timer);
  uv_close((uv_handle_t *)&op->timer, op_closed);
}

void tf_op_ok(tf_op *op, cJSON *out) {
  int rc = out ? wfa_json_to_mp_buf(out, &op->res.output, &op->res.output_len) : 0;

  cJSON_Delete(out);
  if (rc) {
    tf_op_fail(op, 0, "the output cannot be encoded (%s)", wf_strerror(rc));
    return;
  }
  op->res.ok = 1;
  op->res.exit_code = 0;
  op_finish(op);
}

void tf_op_fail(tf_op *op, int retryable, const char *fmt, ...) {
  char msg[2048];
  va_list ap;

  if (op->finishing)
    return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  tf_redact(msg, op->secret);
  tf_redact(msg, op->secret2);
  free(op->res.output);
  op->res.output = NULL;
  op->res.output_len = 0;
  op->res.ok = 0;
  op->res.retryable = retryable;
  free(op->res.error);
  op->res.error = strdup(msg);
  op_finish(op);
}

static void fail_killed(tf_op *op) {
  const char *why = op->killed == WFI_KILL_TIMEOUT  ? "timed out"
                    : op->killed == WFI_KILL_CANCEL ? "canceled"
                                                    : "stopped for shutdown";

  tf_op_fail(op, 1, "%s after %u request(s) (%u sent again)", why, op->requests + op->retried,
             op->retried);
}

/* A body cJSON would take other than it was sent: a NUL (cJSON ends the string there) or
 * bytes that are not UTF-8. Such text is refused, never recorded cut short. 1 if so. */
static int body_unfit(tf_op *op, const wfa_http_resp *resp) {
  wfa_text_fault f;
  char where[200];

  if (resp->status < 200 || resp->status > 299 || !resp->body_len ||
      wfa_json_text_check(resp->body, resp->body_len, 0, &f) == 0)
    return 0;
  wfa_text_fault_where(&f, where, sizeof where);
  tf_op_fail(op, 0,
             "the response of %s has %s at %s: wf records text whole or not at all; correct "
             "that text at its source (e.g. the time entry's description), then resume",
             op->req.url,
             f.kind == WFM_FAULT_NUL ? "a NUL character (\\u0000)" : "bytes that are not UTF-8",
             where);
  return 1;
}

static void http_cb(void *ud, wfa_http_resp *resp) {
  tf_op *op = ud;

  op->call = NULL;
  if (op->killed || op->finishing)
    fail_killed(op);
  else if (!body_unfit(op, resp))
    op->on_resp(op, resp);
  wfa_http_resp_clear(resp);
}

/* The request goes on the wire now: the next one of its token is spaced from here. */
static void on_wire(void *ud) {
  tf_op *op = ud;

  tf_limiter_sent(op->lim, tf_limit_now_ms());
}

static void send_now(tf_op *op) {
  int rc;

  if (op->lim) {
    tf_limiter_sent(op->lim, tf_limit_now_ms());
    op->req.on_wire = on_wire;
    op->req.on_wire_ud = op;
  }
  if (op->resend)
    op->retried++;
  else
    op->requests++;
  if ((rc = wfa_http_start(op->job->loop, &op->req, http_cb, op, &op->call)))
    tf_op_fail(op, 1, "cannot start the HTTP request to %s (%s)", op->req.url,
               wf_strerror(rc));
}

static void wait_ms(tf_op *op, uint64_t ms, uv_timer_cb cb) {
  op->timer_busy = 1;
  uv_update_time(op->job->loop);
  uv_timer_start(&op->timer, cb, ms, 0);
}

static void acquire(tf_op *op);

/* The slot's time has come on the loop's clock: check it on the limiters' clock (the
 * loop's may lag), and that no pause voided it meanwhile. */
static void slot_cb(uv_timer_t *t) {
  tf_op *op = t->data;
  uint64_t now = tf_limit_now_ms();

  op->timer_busy = 0;
  if (op->killed || op->finishing)
    return;
  if (!tf_limiter_valid(op->lim, &op->slot))
    acquire(op);
  else if (now < tf_limiter_due(op->lim, &op->slot, op->interval_s))
    wait_ms(op, tf_limiter_due(op->lim, &op->slot, op->interval_s) - now, slot_cb);
  else
    send_now(op);
}

/* Reserve a slot and wait for it; a pause longer than the ceiling fails the attempt
 * instead, so that a run waiting for a quota reset hours away is resumed later. */
static void acquire(tf_op *op) {
  uint64_t now = tf_limit_now_ms();
  const char *why;
  double paused;

  if (!op->lim) {
    send_now(op);
    return;
  }
  paused = tf_limiter_paused_s(op->lim, now, &why);
  if (op->max_wait_s > 0 && paused > op->max_wait_s) {
    tf_op_fail(op, 1, "%s: requests are held for %.0f s more (%s), longer than the wait "
               "ceiling of %.0f s: resume the run later", op->label ? op->label : op->req.url,
               paused,
               why && *why ? why : "the server asked to wait", op->max_wait_s);
    return;
  }
  op->slot = tf_limiter_reserve(op->lim, op->interval_s, now);
  if (op->slot.at_ms <= now)
    send_now(op);
  else
    wait_ms(op, op->slot.at_ms - now, slot_cb);
}

static void delay_cb(uv_timer_t *t) {
  tf_op *op = t->data;

  op->timer_busy = 0;
  if (!op->killed && !op->finishing)
    acquire(op);
}

static void schedule(tf_op *op, double delay_s, int resend) {
  op->resend = resend;
  if (delay_s * 1000.0 >= 1)
    wait_ms(op, (uint64_t)(delay_s * 1000.0 + 0.5), delay_cb);
  else
    acquire(op);
}

int tf_op_limit(tf_op *op, const char *api, const char *base, const char *token, double rps) {
  if (!(op->lim = tf_limiter_get(api, base, token)))
    return WF_ENOMEM;
  op->interval_s = rps > 0 ? 1.0 / rps : 0;
  return 0;
}

void tf_op_send(tf_op *op, double delay_s) { schedule(op, delay_s, 0); }

void tf_op_resend(tf_op *op, double delay_s) { schedule(op, delay_s, 1); }

void tf_op_pause(tf_op *op, double seconds, const char *why) {
  if (op->lim)
    tf_limiter_pause(op->lim, seconds, why, tf_limit_now_ms());
}

void tf_op_kill(tf_op *op, int reason) {
  if (!op || op->finishing || op->killed)
    return;
  op->killed = reason ? reason : WFI_KILL_CANCEL;
  if (op->call) {
    wfa_http_cancel(op->call); /* its callback fails the attempt */
    return;
  }
  fail_killed(op);
}

double tf_op_rand(tf_op *op) {
  uint64_t x = op->rng;

  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  op->rng = x;
  return (double)(x >> 11) / 9007199254740992.0;
}
