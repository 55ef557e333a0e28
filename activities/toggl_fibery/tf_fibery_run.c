/* tf_fibery_run.c — the built-ins fibery.schema and fibery.enrich. fibery.schema reads the
 * workspace schema once (one command) and checks the enrichment config against it;
 * fibery.enrich queries one type's public ids in batches through POST /api/commands,
 * leaving out what the schema lacks, then fetches the batch's descriptions in one
 * document call. The Fibery contract's waits for 429 and 5xx are done inside the step.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tf_api.h"
#include "tf_fibery.h"
#include "tf_sample.h"
#include "tf_schema.h"
#include "wf/wf.h"
#include "wfact.h"

#define FB_429_ATTEMPTS 5
#define FB_5XX_ATTEMPTS 5

typedef struct fb_op {
  tf_op op;
  tf_creds creds;
  cJSON *input, *cfg, *entities, *secrets, *warnings;
  const cJSON *with;
  const cJSON *schema;     /* the checked schema (tf_schema.h), or NULL */
  const char *type;
  const char *sample_dir;  /* with.sample_dir: answers read from files, no HTTP */
  const char **ids;
  size_t nids, next, cur_n;
  int docs_phase, want_docs;
  int n429, n5xx;
  char *url, *docs_url, *auth, *link_base, *body;
  size_t body_len;
  const char *hdrs[3];
} fb_op;

static void fb_release(tf_op *op) {
  fb_op *f = (fb_op *)op;

  tf_creds_clear(&f->creds);
  cJSON_Delete(f->input);
  cJSON_Delete(f->cfg);
  cJSON_Delete(f->entities);
  cJSON_Delete(f->secrets);
  cJSON_Delete(f->warnings);
  free(f->ids);
  free(f->url);
  free(f->docs_url);
  if (f->auth)
    memset(f->auth, 0, strlen(f->auth));
  free(f->auth);
  free(f->link_base);
  free(f->body);
  free(f);
}

static void fb_done(fb_op *f) {
  cJSON *out = cJSON_CreateObject();

  if (!out) {
    tf_op_fail(&f->op, 1, "out of memory");
    return;
  }
  cJSON_AddStringToObject(out, "type", f->type);
  cJSON_AddNumberToObject(out, "requests", f->op.requests);
  cJSON_AddNumberToObject(out, "retried", f->op.retried);
  cJSON_AddItemToObject(out, "entities", f->entities);
  f->entities = NULL;
  if (cJSON_GetArraySize(f->warnings)) {
    cJSON_AddItemToObject(out, "warnings", f->warnings);
    f->warnings = NULL;
  }
  tf_op_ok(&f->op, out);
}

static void fb_send(fb_op *f, const char *url, const char *label) {
  f->op.req.url = url;
  f->op.label = label;
  f->op.req.body = f->body;
  f->op.req.body_len = f->body_len;
  f->n429 = f->n5xx = 0;
  tf_op_send(&f->op, 0);
}

/* Start the next batch of ids, or finish. */
static void fb_next_batch(fb_op *f) {
  double wbs = tf_num(f->with, "batch_size", 0);
  size_t bs = wbs >= 1 && wbs <= TF_FIBERY_MAX_BATCH ? (size_t)wbs
                                                     : (size_t)tf_fibery_batch_size(f->cfg);
  int rc;

  if (f->next >= f->nids) {
    fb_done(f);
    return;
  }
  f->cur_n = f->nids - f->next < bs ? f->nids - f->next : bs;
  free(f->body);
  f->body = NULL;
  cJSON_Delete(f->secrets);
  if (!(f->secrets = cJSON_CreateObject()) ||
      (rc = tf_fibery_query_body(f->cfg, f->type, f->ids + f->next, f->cur_n, f->schema,
                                 f->warnings, &f->body, &f->body_len))) {
    tf_op_fail(&f->op, 1, "out of memory");
    return;
  }
  f->docs_phase = 0;
  fb_send(f, f->url, "POST /api/commands");
}

static void fb_batch_done(fb_op *f) {
  f->next += f->cur_n;
  fb_next_batch(f);
}

static void fb_warn(fb_op *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fb_warn(fb_op *f, const char *fmt, ...) {
  char w[600];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(w, sizeof w, fmt, ap);
  va_end(ap);
  tf_redact(w, f->creds.fibery_token);
  cJSON_AddItemToArray(f->warnings, cJSON_CreateString(w));
}

/* A batch the API refused for good: its entities are errors, the step goes on. */
static void fb_batch_error(fb_op *f, long status, const char *msg) {
  char e[600], key[256];
  size_t i;
  cJSON *rec;

  snprintf(e, sizeof e, "POST /api/commands: HTTP %ld: %s", status, msg);
  tf_redact(e, f->creds.fibery_token);
  for (i = f->next; i < f->next + f->cur_n; i++) {
    snprintf(key, sizeof key, "%s#%s", f->type, f->ids[i]);
    if ((rec = cJSON_CreateObject())) {
      cJSON_AddStringToObject(rec, "status", "error");
      cJSON_AddStringToObject(rec, "error", e);
      cJSON_DeleteItemFromObjectCaseSensitive(f->entities, key);
      cJSON_AddItemToObject(f->entities, key, rec);
    }
  }
}

/* What every Fibery answer gets first: 401/403 fail the attempt for good; 429 holds
 * every request of the token (Retry-After, else 1 s doubling) and sends this one again;
 * 5xx and lost connections back off for this request alone. 1 when the answer is left
 * to the caller (msg then holds its message when it is not a 200). */
static int fb_status(fb_op *f, wfa_http_resp *r, const char *what, char *msg, size_t cap) {
  double d;

  if (r->status != 200)
    tf_api_message(r->body, r->body_len, msg, cap);
  if (r->status == 401 || r->status == 403) {
    tf_op_fail(&f->op, 0, "Fibery rejected the token (HTTP %ld): %s (%s)", r->status, msg,
               what);
    return 0;
  }
  if (r->status == 429) {
    char why[600];

    d = r->retry_after_s >= 0 ? r->retry_after_s : fmin(30.0, pow(2, f->n429));
    if (++f->n429 >= FB_429_ATTEMPTS) {
      tf_op_fail(&f->op, 1, "%s: HTTP 429 (throttled) after %d attempts: %s", what, f->n429,
                 msg);
      return 0;
    }
    snprintf(why, sizeof why, "HTTP 429 from Fibery: %s", msg);
    tf_op_pause(&f->op, d, why);
    tf_op_resend(&f->op, 0);
    return 0;
  }
  if (r->status == 0 || r->status >= 500) {
    d = pow(2, f->n5xx) * (0.75 + 0.5 * tf_op_rand(&f->op));
    if (++f->n5xx >= FB_5XX_ATTEMPTS) {
      if (r->status)
        tf_op_fail(&f->op, 1, "%s: HTTP %ld after %d attempts: %s", what, r->status, f->n5xx,
                   msg);
      else
        tf_op_fail(&f->op, 1, "%s: %s (after %d attempts)", what, r->error, f->n5xx);
      return 0;
    }
    tf_op_resend(&f->op, d);
    return 0;
  }
  return 1;
}

static void fb_resp(tf_op *op, wfa_http_resp *r) {
  fb_op *f = (fb_op *)op;
  const char *what = f->docs_phase ? "POST /api/documents/commands" : "POST /api/commands";
  char msg[512] = "", err[300];
  int rc;

  if (!fb_status(f, r, what, msg, sizeof msg))
    return;
  if (f->docs_phase) {
    if (r->status != 200)
      fb_warn(f, "%s: HTTP %ld: %s; descriptions left empty", what, r->status, msg);
    else if (tf_fibery_read_docs(r->body, r->body_len, f->secrets, f->entities))
      fb_warn(f, "%s: HTTP %ld: %s", what, r->status, "the answer is not a list of documents");
    fb_batch_done(f);
    return;
  }
  if (r->status != 200) {
    fb_batch_error(f, r->status, msg);
    fb_batch_done(f);
    return;
  }
  if ((rc = tf_fibery_read_result(r->body, r->body_len, f->cfg, f->type, f->ids + f->next,
                                  f->cur_n, f->link_base, f->entities, f->secrets, err,
                                  sizeof err))) {
    tf_op_fail(op, 1, "%s: %s", what, rc == WF_ENOMEM ? "out of memory" : err);
    return;
  }
  if (f->want_docs && cJSON_GetArraySize(f->secrets)) {
    free(f->body);
    f->body = NULL;
    if (tf_fibery_docs_body(f->secrets, &f->body, &f->body_len)) {
      tf_op_fail(op, 1, "out of memory");
      return;
    }
    f->docs_phase = 1;
    fb_send(f, f->docs_url, "POST /api/documents/commands");
    return;
  }
  fb_batch_done(f);
}

/* The config: with.config as given, else the files with.enrichment (+ override). */
static int fb_config(fb_op *f, const cJSON *with, char *err, size_t cap) {
  const cJSON *c = cJSON_GetObjectItemCaseSensitive(with, "config");
  const char *path = tf_str(with, "enrichment"), *over = tf_str(with, "enrichment_override");
  int rc;

  if (cJSON_IsObject(c)) {
    if (!(f->cfg = cJSON_Duplicate(c, 1)))
      return WF_ENOMEM;
    return tf_fibery_config_check(f->cfg, err, cap);
  }
  if (!path || !*path) {
    snprintf(err, cap, "no enrichment config: give with.enrichment (a file) or with.config");
    return WF_EINVAL;
  }
  rc = tf_fibery_config_load(path, over && *over ? over : NULL, &f->cfg, err, cap);
  return rc;
}

/* Every Fibery request of the process with this token goes through one limiter, at
 * with.rps requests per second when given and > 0, else the config's rate_limit_per_s
 * (3); with.min_interval_s (seconds between requests) is the same setting the other way
 * round. */
static int fb_limit(fb_op *f, const cJSON *with) {
  const cJSON *mi = cJSON_GetObjectItemCaseSensitive(with, "min_interval_s");
  double rps = tf_num(with, "rps", 0);

  if (rps <= 0)
    rps = tf_fibery_rate(f->cfg);
  if (cJSON_IsNumber(mi))
    rps = mi->valuedouble > 0 ? 1.0 / mi->valuedouble : 0;
  return tf_op_limit(&f->op, "fibery", f->creds.fibery_base, f->creds.fibery_token, rps);
}

/* What both built-ins need to talk to Fibery: the config, the limiter, the URLs and the
 * Authorization header (none of it in sample mode). */
static int fb_setup(fb_op *f, char *err, size_t cap) {
  const char *ws = f->creds.fibery_workspace;
  size_t n;
  int rc;

  if ((rc = fb_config(f, f->with, err, cap)))
    return rc;
  if (!(f->entities = cJSON_CreateObject()) || !(f->warnings = cJSON_CreateArray()))
    return WF_ENOMEM;
  if (f->sample_dir) {
    const char *lb = tf_str(f->with, "link_base");
    return (f->link_base = strdup(lb && *lb ? lb : "https://demo.fibery.io")) ? 0 : WF_ENOMEM;
  }
  if ((rc = fb_limit(f, f->with)))
    return rc;
  f->op.req.timeout_s = tf_num(f->with, "timeout_s", 30);
  n = strlen(f->creds.fibery_base) + strlen(f->creds.fibery_token) + 64;
  if (!(f->url = malloc(n)) || !(f->docs_url = malloc(n)) || !(f->auth = malloc(n)) ||
      !(f->link_base = malloc(n + (ws ? strlen(ws) : 0))))
    return WF_ENOMEM;
  snprintf(f->url, n, "%s/api/commands", f->creds.fibery_base);
  snprintf(f->docs_url, n, "%s/api/documents/commands?format=md", f->creds.fibery_base);
  snprintf(f->auth, n, "Authorization: Token %s", f->creds.fibery_token);
  if (ws && *ws)
    snprintf(f->link_base, n + strlen(ws), "https://%s.fibery.io", ws);
  else
    snprintf(f->link_base, n, "%s", f->creds.fibery_base);
  f->hdrs[0] = "Content-Type: application/json";
  f->hdrs[1] = "Accept: application/json";
  f->hdrs[2] = f->auth;
  f->op.req.method = "POST";
  f->op.req.headers = f->hdrs;
  f->op.req.nheaders = 3;
  return 0;
}

/* ---- fibery.enrich --------------------------------------------------------------------- */

/* The item's type and ids; the checked schema from with.schema, else the output of the
 * schema stage among the inputs (with.schema_stage, default "schema"), if any. */
static int enrich_item(fb_op *f, char *err, size_t cap) {
  cJSON *item = cJSON_GetObjectItemCaseSensitive(f->input, "item"), *ids;
  const cJSON *sc = cJSON_GetObjectItemCaseSensitive(f->with, "schema");
  const char *stage = tf_str(f->with, "schema_stage");
  int rc;

  if (!cJSON_IsObject(sc))
    sc = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(f->input, "inputs"),
                                          stage ? stage : "schema");
  f->schema = cJSON_IsObject(sc) ? sc : NULL;
  if (!(f->type = tf_str(item, "type")))
    f->type = tf_str(f->with, "type");
  if (!(ids = cJSON_GetObjectItemCaseSensitive(item, "ids")))
    ids = cJSON_GetObjectItemCaseSensitive(f->with, "ids");
  if (!f->type || !strchr(f->type, '/') || strlen(f->type) > 160) {
    snprintf(err, cap, "the item must be {\"type\": \"<Space>/<Type>\", \"ids\": [...]}");
    return WF_EINVAL;
  }
  if ((rc = tf_fibery_ids(ids, &f->ids, &f->nids))) {
    snprintf(err, cap, "the item's ids must be a list of public ids (strings)");
    return rc;
  }
  f->want_docs = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(f->with, "documents")) &&
                 !f->sample_dir;
  return 0;
}

/* A type the workspace does not have: no query can succeed, so none is sent; its
 * entities are unknown_type, saying so, and the step warns once. */
static void enrich_type_missing(fb_op *f) {
  char e[400], key[256];
  size_t i;

  snprintf(e, sizeof e, "the Fibery workspace has no type \"%.160s\"", f->type);
  for (i = 0; i < f->nids; i++) {
    cJSON *rec = cJSON_CreateObject();
    snprintf(key, sizeof key, "%s#%s", f->type, f->ids[i]);
    cJSON_AddStringToObject(rec, "status", "unknown_type");
    cJSON_AddStringToObject(rec, "error", e);
    cJSON_AddItemToObject(f->entities, key, rec);
  }
  snprintf(e, sizeof e, "Fibery workspace: no type \"%.160s\", which the enrichment config "
           "names; its references are reported as unknown type", f->type);
  cJSON_AddItemToArray(f->warnings, cJSON_CreateString(e));
  fb_done(f);
}

/* Sample-data mode: the type's answer file through the same reader as the HTTP answer;
 * no file means no rows, so every id is not_found. Descriptions are not fetched. */
static void enrich_sample(fb_op *f) {
  char rel[400], err[300];
  char *buf = NULL;
  size_t len = 0;
  int rc;

  if (tf_sample_fibery_rel(f->type, rel, sizeof rel)) {
    tf_op_fail(&f->op, 0, "fibery.enrich: sample path too long for %s", f->type);
    return;
  }
  rc = tf_sample_read(f->sample_dir, rel, &buf, &len);
  if (rc == WF_ENOTFOUND) {
    static const char none[] = "[{\"success\": true, \"result\": []}]";
    if (!(buf = strdup(none))) {
      tf_op_fail(&f->op, 1, "out of memory");
      return;
    }
    len = sizeof none - 1;
  } else if (rc) {
    tf_op_fail(&f->op, rc == WF_ENOMEM, "fibery.enrich: cannot read %s/%s (%s)", f->sample_dir,
               rel, wf_strerror(rc));
    return;
  }
  rc = tf_fibery_read_result(buf, len, f->cfg, f->type, f->ids, f->nids, f->link_base,
                             f->entities, NULL, err, sizeof err);
  free(buf);
  if (rc) {
    tf_op_fail(&f->op, rc == WF_ENOMEM, "fibery.enrich: sample %s: %s", rel,
               rc == WF_ENOMEM ? "out of memory" : err);
    return;
  }
  fb_done(f);
}

static void enrich_begin(fb_op *f) {
  char err[1024];
  int rc = enrich_item(f, err, sizeof err);

  if (rc) {
    tf_op_fail(&f->op, rc == WF_ENOMEM, "fibery.enrich: %s",
               rc == WF_ENOMEM ? "out of memory" : err);
    return;
  }
  if (tf_schema_type_missing(f->schema, f->type))
    enrich_type_missing(f);
  else if (f->sample_dir)
    enrich_sample(f);
  else
    fb_next_batch(f);
}

/* ---- fibery.schema -------------------------------------------------------------------- */

static void schema_answer(fb_op *f, const char *buf, size_t len, const char *what) {
  char err[300];
  cJSON *out;
  int rc = tf_schema_read(buf, len, f->cfg, &out, err, sizeof err);

  if (rc) {
    tf_op_fail(&f->op, rc == WF_ENOMEM, "%s: %s", what, err);
    return;
  }
  cJSON_AddNumberToObject(out, "requests", f->op.requests);
  cJSON_AddNumberToObject(out, "retried", f->op.retried);
  tf_op_ok(&f->op, out);
}

static void schema_resp(tf_op *op, wfa_http_resp *r) {
  fb_op *f = (fb_op *)op;
  static const char what[] = "POST /api/commands (fibery.schema/query)";
  char msg[512] = "";

  if (!fb_status(f, r, what, msg, sizeof msg))
    return;
  if (r->status != 200) {
    tf_op_fail(op, 0, "%s: HTTP %ld: %s (check FIBERY_WORKSPACE / FIBERY_API_BASE)", what,
               r->status, msg);
    return;
  }
  schema_answer(f, r->body, r->body_len, what);
}

/* Sample mode: <dir>/fibery/schema.json, else nothing is checked. */
static void schema_sample(fb_op *f) {
  char *buf = NULL;
  size_t len = 0;
  int rc = tf_sample_read(f->sample_dir, "fibery/schema.json", &buf, &len);
  cJSON *out;

  if (rc == WF_ENOTFOUND) {
    if (!(out = cJSON_Parse("{\"types\": {}, \"missing_types\": [], \"requests\": 0, "
                            "\"retried\": 0}")))
      tf_op_fail(&f->op, 1, "out of memory");
    else
      tf_op_ok(&f->op, out);
    return;
  }
  if (rc) {
    tf_op_fail(&f->op, rc == WF_ENOMEM, "fibery.schema: cannot read %s/fibery/schema.json (%s)",
               f->sample_dir, wf_strerror(rc));
    return;
  }
  schema_answer(f, buf, len, "sample fibery/schema.json");
  free(buf);
}

static void schema_begin(fb_op *f) {
  if (f->sample_dir) {
    schema_sample(f);
    return;
  }
  f->op.on_resp = schema_resp;
  if (!(f->body = strdup(TF_SCHEMA_BODY))) {
    tf_op_fail(&f->op, 1, "out of memory");
    return;
  }
  f->body_len = strlen(f->body);
  fb_send(f, f->url, "POST /api/commands (fibery.schema/query)");
}

/* ---- both ------------------------------------------------------------------------------ */

static void fb_start_as(wfi_job *job, const char *name, void (*begin)(fb_op *f)) {
  fb_op *f = calloc(1, sizeof *f);
  char err[1024];
  int rc;

  if (!f) {
    wfa_job_fail(job, 1, "out of memory");
    return;
  }
  if (tf_op_init(&f->op, job)) {
    free(f);
    wfa_job_fail(job, 1, "cannot start a timer on the loop");
    return;
  }
  f->op.release = fb_release;
  f->op.on_resp = fb_resp;
  if (tf_input_json(job, &f->input)) {
    tf_op_fail(&f->op, 0, "%s: the step input is not a map", name);
    return;
  }
  f->with = cJSON_GetObjectItemCaseSensitive(f->input, "with");
  f->sample_dir = tf_sample_dir(f->with);
  if (!f->sample_dir && ((rc = tf_creds_load(&f->creds, err, sizeof err)) ||
                         (rc = tf_creds_need_fibery(&f->creds, err, sizeof err)))) {
    tf_op_fail(&f->op, 0, "%s: %s", name, err);
    return;
  }
  f->op.secret = f->creds.fibery_token;
  if ((rc = fb_setup(f, err, sizeof err))) {
    tf_op_fail(&f->op, rc == WF_ENOMEM, "%s: %s", name, rc == WF_ENOMEM ? "out of memory" : err);
    return;
  }
  begin(f);
}

static void enrich_start(void *ctx, wfi_job *job) {
  (void)ctx;
  fb_start_as(job, "fibery.enrich", enrich_begin);
}

static void schema_start(void *ctx, wfi_job *job) {
  (void)ctx;
  fb_start_as(job, "fibery.schema", schema_begin);
}

static void fb_kill(void *ctx, wfi_job *job, int reason) {
  (void)ctx;
  tf_op_kill(job->act_state, reason);
}

const wfi_activity wfa_fibery_enrich = {"fibery.enrich", enrich_start, fb_kill};
const wfi_activity wfa_fibery_schema = {"fibery.schema", schema_start, fb_kill};
