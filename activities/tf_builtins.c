/* tf_builtins.c — toggl-fibery built-ins: aggregate, extract and the three reports. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tf_aggregate.h"
#include "tf_builtins.h"
#include "tf_fibery.h"
#include "tf_report.h"
#include "tf_util.h"
#include "wf/wf.h"
#include "wfact.h"

typedef struct tfb {
  wfi_job *job;
  const char *name;
  cJSON *in;
  const cJSON *with, *params, *inputs;
} tfb;

static void fail(tfb *t, int retryable, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(tfb *t, int retryable, const char *fmt, ...) {
  wfi_result res;
  char msg[1024];
  int n = snprintf(msg, sizeof msg, "%s: ", t->name);
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
  va_end(ap);
  memset(&res, 0, sizeof res);
  res.exit_code = -1;
  res.retryable = retryable;
  res.error = strdup(msg);
  cJSON_Delete(t->in);
  wfi_job_done(t->job, &res);
}

/* Report success with `out` as the output (consumed). */
static void succeed(tfb *t, cJSON *out) {
  wfi_result res;
  int rc;

  memset(&res, 0, sizeof res);
  res.exit_code = 0;
  if (!out || (rc = wfa_json_to_mp_buf(out, &res.output, &res.output_len))) {
    cJSON_Delete(out);
    fail(t, 1, "cannot encode the output");
    return;
  }
  cJSON_Delete(out);
  cJSON_Delete(t->in);
  res.ok = 1;
  wfi_job_done(t->job, &res);
}

static int begin(tfb *t, wfi_job *job, const char *name) {
  memset(t, 0, sizeof *t);
  t->job = job;
  t->name = name;
  if (!job->input || wfa_mp_to_json(job->input, job->input_len, &t->in) ||
      !cJSON_IsObject(t->in)) {
    fail(t, 0, "step input is not a map");
    return -1;
  }
  t->with = cJSON_GetObjectItemCaseSensitive(t->in, "with");
  t->params = cJSON_GetObjectItemCaseSensitive(t->in, "params");
  t->inputs = cJSON_GetObjectItemCaseSensitive(t->in, "inputs");
  return 0;
}

/* with.<key>, else params.<key>. */
static const cJSON *opt(const tfb *t, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(t->with, key);

  return v && !cJSON_IsNull(v) ? v : cJSON_GetObjectItemCaseSensitive(t->params, key);
}

static const char *opt_str(const tfb *t, const char *key, const char *def) {
  const cJSON *v = opt(t, key);

  return cJSON_IsString(v) && *v->valuestring ? v->valuestring : def;
}

/* The output of stage with.<key> (default def) among the inputs, if it is an object. */
static const cJSON *stage_output(const tfb *t, const char *key, const char *def) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(t->inputs, opt_str(t, key, def));

  return cJSON_IsObject(v) ? v : NULL;
}

/* Requested e-mails as an array (a list, or one comma-separated string); NULL = all. */
static cJSON *users_filter(const cJSON *v) {
  cJSON *arr;

  if (cJSON_IsArray(v) && cJSON_GetArraySize(v))
    return cJSON_Duplicate(v, 1);
  if (!cJSON_IsString(v) || !*v->valuestring || !(arr = cJSON_CreateArray()))
    return NULL;
  for (const char *p = v->valuestring; *p;) {
    size_t n = strcspn(p, ",");
    char *s = tf_collapse_ws(p, n);

    if (s && *s)
      cJSON_AddItemToArray(arr, cJSON_CreateString(s));
    free(s);
    p += n + (p[n] == ',');
  }
  if (!arr->child) {
    cJSON_Delete(arr);
    return NULL;
  }
  return arr;
}

/* Read a run file; fails the step (and returns nonzero) unless it was read. */
static int need(tfb *t, const char *rel, cJSON **out) {
  int rc = tf_read_json(t->job->run_dir, rel, out);

  if (rc == WF_ENOTFOUND)
    fail(t, 0, "%s is missing from the run directory (run the earlier stage first)", rel);
  else if (rc == WF_ECORRUPT)
    fail(t, 0, "%s is not valid JSON", rel);
  else if (rc)
    fail(t, 1, "cannot read %s: %s", rel, wf_strerror(rc));
  return rc;
}

static int put(tfb *t, const char *rel, const cJSON *j, const char *md) {
  int rc = md ? tf_write_file(t->job->run_dir, rel, md, strlen(md))
              : tf_write_json(t->job->run_dir, rel, j);

  if (rc)
    fail(t, rc != WF_EINVAL, "cannot write %s: %s", rel, wf_strerror(rc));
  return rc;
}

/* ---- tf.aggregate ------------------------------------------------------------------- */

/* The parser's alias table from the enrichment config: with.config (object), or
 * with.enrichment (object, or the path of the config file, with enrichment_override
 * merged over it as fibery.enrich does), else the default table. Fails the step. */
static int aliases(tfb *t, tf_aliases **al) {
  const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(t->with, "config");
  const cJSON *path = cJSON_GetObjectItemCaseSensitive(t->with, "enrichment");
  cJSON *loaded = NULL;
  char err[512];
  int rc;

  if (!cJSON_IsObject(cfg))
    cfg = cJSON_IsObject(path) ? path : NULL;
  if (!cfg && cJSON_IsString(path) && *path->valuestring) {
    if ((rc = tf_fibery_config_load(path->valuestring,
                                    opt_str(t, "enrichment_override", NULL), &loaded, err,
                                    sizeof err))) {
      fail(t, rc == WF_ENOMEM || rc == WF_EIO, "enrichment config: %s", err);
      return rc;
    }
    cfg = loaded;
  }
  rc = tf_aliases_from_config(cfg, al);
  cJSON_Delete(loaded);
  if (rc)
    fail(t, rc == WF_ENOMEM,
         "enrichment config: malformed \"aliases\" (each needs \"tags\" "
         "with one or two strings and a \"type\" Space/Type)");
  return rc;
}

static void aggregate_start(void *ctx, wfi_job *job) {
  const cJSON *days, *st;
  cJSON *raw = NULL, *agg = NULL, *filter, *out;
  tf_aliases *al = NULL;
  char now[32];
  tfb t;
  int rc;

  (void)ctx;
  if (begin(&t, job, "tf.aggregate"))
    return;
  if ((days = stage_output(&t, "days_stage", "fetch"))) {
    filter = users_filter(opt(&t, "users"));
    tf_utc_now(now);
    rc = tf_raw_assemble(days, stage_output(&t, "users_stage", "users"), job->run_id,
                         opt_str(&t, "start_date", NULL), opt_str(&t, "end_date", NULL),
                         filter, now, &raw);
    cJSON_Delete(filter);
    if (rc) {
      fail(&t, 1, "cannot assemble %s: %s", TF_RAW_FILE, wf_strerror(rc));
      return;
    }
    if (put(&t, TF_RAW_FILE, raw, NULL)) {
      cJSON_Delete(raw);
      return;
    }
  } else if (need(&t, TF_RAW_FILE, &raw)) {
    return;
  }
  if ((rc = aliases(&t, &al))) {
    cJSON_Delete(raw);
    return;
  }
  rc = tf_aggregate(raw, al, NULL, &agg);
  tf_aliases_free(al);
  cJSON_Delete(raw);
  if (rc) {
    fail(&t, rc == WF_ENOMEM, "%s: %s", TF_RAW_FILE,
         rc == WF_EINVAL ? "no \"time_entries\" array" : wf_strerror(rc));
    return;
  }
  if (put(&t, TF_AGG_FILE, agg, NULL)) {
    cJSON_Delete(agg);
    return;
  }
  st = cJSON_GetObjectItemCaseSensitive(agg, "statistics");
  out = cJSON_CreateObject();
  cJSON_AddStringToObject(out, "raw", TF_RAW_FILE);
  cJSON_AddStringToObject(out, "aggregated", TF_AGG_FILE);
  cJSON_AddNumberToObject(out, "persons", (double)tf_jint(st, "total_users"));
  cJSON_AddNumberToObject(out, "entries", (double)tf_jint(st, "total_entries"));
  cJSON_AddNumberToObject(out, "references", (double)tf_jint(st, "unique_entities"));
  cJSON_AddNumberToObject(out, "unresolved", (double)tf_jint(st, "unresolved_references"));
  cJSON_AddNumberToObject(out, "total_seconds",
                          (double)tf_jint(st, "total_duration_seconds"));
  cJSON_AddNumberToObject(
      out, "warnings",
      cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(agg, "warnings")));
  cJSON_Delete(agg);
  succeed(&t, out);
}

/* ---- tf.extract -----------------------------------------------------------------------
 */

static void extract_start(void *ctx, wfi_job *job) {
  cJSON *agg, *ex, *out;
  const cJSON *ty;
  int rc, ids = 0;
  tfb t;

  (void)ctx;
  if (begin(&t, job, "tf.extract") || need(&t, TF_AGG_FILE, &agg))
    return;
  rc = tf_extract(agg, &ex);
  cJSON_Delete(agg);
  if (rc) {
    fail(&t, 1, "%s", wf_strerror(rc));
    return;
  }
  if (put(&t, TF_EXTRACT_FILE, ex, NULL)) {
    cJSON_Delete(ex);
    return;
  }
  out = cJSON_CreateObject();
  cJSON_ArrayForEach(ty, cJSON_GetObjectItemCaseSensitive(ex, "by_type")) ids +=
      cJSON_GetArraySize(ty);
  cJSON_AddStringToObject(out, "path", TF_EXTRACT_FILE);
  cJSON_AddNumberToObject(
      out, "types", cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ex, "by_type")));
  cJSON_AddNumberToObject(out, "ids", ids);
  cJSON_AddNumberToObject(
      out, "unknown_type",
      cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ex, "unknown_type")));
  cJSON_AddNumberToObject(
      out, "type_missing",
      cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ex, "type_missing")));
  /* The enrichment fan-out's items: each type's ids in chunks of with.batch_size, keyed
   * by type and first id, so a resume re-queries only the chunks not recorded. */
  const cJSON *bs = opt(&t, "batch_size");
  int size = cJSON_IsNumber(bs) && bs->valuedouble >= 1 ? (int)bs->valuedouble : 25;
  cJSON *batches = cJSON_AddArrayToObject(out, "batches");
  cJSON_ArrayForEach(ty, cJSON_GetObjectItemCaseSensitive(ex, "by_type")) {
    int n = cJSON_GetArraySize(ty);
    for (int i = 0; i < n && batches; i += size) {
      cJSON *b = cJSON_CreateObject(), *bids = cJSON_AddArrayToObject(b, "ids");
      const cJSON *first = cJSON_GetArrayItem(ty, i);
      char key[512];
      snprintf(key, sizeof key, "%s#%s", ty->string,
               cJSON_IsString(first) ? first->valuestring : "?");
      cJSON_AddStringToObject(b, "key", key);
      cJSON_AddStringToObject(b, "type", ty->string);
      for (int k = i; k < n && k < i + size; k++)
        cJSON_AddItemToArray(bids, cJSON_Duplicate(cJSON_GetArrayItem(ty, k), 1));
      cJSON_AddItemToArray(batches, b);
    }
  }
  cJSON_AddItemToObject(out, "by_type",
                        cJSON_DetachItemFromObjectCaseSensitive(ex, "by_type"));
  cJSON_Delete(ex);
  succeed(&t, out);
}

/* ---- reports --------------------------------------------------------------------------
 */

static void report_toggl_start(void *ctx, wfi_job *job) {
  cJSON *agg, *out;
  char *md;
  int rc;
  tfb t;

  (void)ctx;
  if (begin(&t, job, "tf.report_toggl") || need(&t, TF_AGG_FILE, &agg))
    return;
  rc = tf_report_toggl(agg, NULL, &md);
  if (rc) {
    cJSON_Delete(agg);
    fail(&t, rc == WF_ENOMEM, "%s: %s", TF_AGG_FILE, wf_strerror(rc));
    return;
  }
  out = cJSON_CreateObject();
  cJSON_AddStringToObject(out, "path", TF_TOGGL_REPORT);
  cJSON_AddNumberToObject(
      out, "persons", cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(agg, "users")));
  cJSON_Delete(agg);
  rc = put(&t, TF_TOGGL_REPORT, NULL, md);
  free(md);
  if (rc)
    cJSON_Delete(out);
  else
    succeed(&t, out);
}

/* The enrichment: from the file, or assembled from the enrich stage outputs (written
 * to the run directory when `write`). *enr NULL when there is neither. */
static int enriched(tfb *t, int write, cJSON **enr) {
  const cJSON *batches = stage_output(t, "enrich_stage", "enrich");
  cJSON *ex = NULL;
  char now[32];
  int rc;

  *enr = NULL;
  if (!batches || !write) {
    rc = tf_read_json(t->job->run_dir, TF_ENRICHED_FILE, enr);
    if (rc != WF_ENOTFOUND || !batches) {
      if (rc && rc != WF_ENOTFOUND)
        fail(t, rc != WF_ECORRUPT, "cannot read %s: %s", TF_ENRICHED_FILE, wf_strerror(rc));
      return rc == WF_ENOTFOUND ? 0 : rc;
    }
  }
  tf_read_json(t->job->run_dir, TF_EXTRACT_FILE, &ex); /* optional */
  tf_utc_now(now);
  rc = tf_enriched_assemble(batches, ex, t->job->run_id, now, enr);
  cJSON_Delete(ex);
  if (rc)
    fail(t, 1, "cannot assemble %s: %s", TF_ENRICHED_FILE, wf_strerror(rc));
  else if (write && (rc = put(t, TF_ENRICHED_FILE, *enr, NULL))) {
    cJSON_Delete(*enr);
    *enr = NULL;
  }
  return rc;
}

static void report_people_start(void *ctx, wfi_job *job) {
  static const char *const counts[] = {"ok", "not_found", "unknown_type", "type_missing",
                                       "error"};
  cJSON *agg, *enr, *out, *files;
  const cJSON *u, *st;
  char rel[512], stem[400], *md;
  int rc = 0;
  size_t i;
  tfb t;

  (void)ctx;
  if (begin(&t, job, "tf.report_people") || need(&t, TF_AGG_FILE, &agg))
    return;
  if (enriched(&t, 1, &enr)) {
    cJSON_Delete(agg);
    return;
  }
  out = cJSON_CreateObject();
  cJSON_AddBoolToObject(out, "enriched", enr != NULL);
  files = cJSON_AddArrayToObject(out, "files");
  cJSON_ArrayForEach(u, cJSON_GetObjectItemCaseSensitive(agg, "users")) {
    if ((rc = tf_report_person(agg, enr, u->string, NULL, &md))) {
      fail(&t, rc == WF_ENOMEM, "report for %s: %s", u->string, wf_strerror(rc));
      break;
    }
    tf_person_stem(u->string, stem, sizeof stem);
    snprintf(rel, sizeof rel, "%s/%s.md", TF_PEOPLE_DIR, stem);
    rc = put(&t, rel, NULL, md);
    free(md);
    if (rc)
      break;
    cJSON_AddItemToArray(files, cJSON_CreateString(rel));
  }
  cJSON_AddNumberToObject(out, "persons", cJSON_GetArraySize(files));
  st = cJSON_GetObjectItemCaseSensitive(enr, "statistics");
  for (i = 0; i < sizeof counts / sizeof counts[0]; i++)
    cJSON_AddNumberToObject(out, counts[i], (double)tf_jint(st, counts[i]));
  cJSON_Delete(agg);
  cJSON_Delete(enr);
  if (rc)
    cJSON_Delete(out);
  else
    succeed(&t, out);
}

static void report_team_start(void *ctx, wfi_job *job) {
  cJSON *agg, *enr, *out;
  char *md;
  int rc;
  tfb t;

  (void)ctx;
  if (begin(&t, job, "tf.report_team") || need(&t, TF_AGG_FILE, &agg))
    return;
  if (enriched(&t, 0, &enr)) {
    cJSON_Delete(agg);
    return;
  }
  rc = tf_report_team(agg, enr, NULL, &md);
  out = cJSON_CreateObject();
  cJSON_AddStringToObject(out, "path", TF_TEAM_REPORT);
  cJSON_AddNumberToObject(
      out, "persons", cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(agg, "users")));
  cJSON_AddBoolToObject(out, "enriched", enr != NULL);
  cJSON_Delete(agg);
  cJSON_Delete(enr);
  if (rc) {
    cJSON_Delete(out);
    fail(&t, rc == WF_ENOMEM, "%s: %s", TF_AGG_FILE, wf_strerror(rc));
    return;
  }
  rc = put(&t, TF_TEAM_REPORT, NULL, md);
  free(md);
  if (rc)
    cJSON_Delete(out);
  else
    succeed(&t, out);
}

/* Everything finishes inside start: there is never an attempt in flight to stop. */
static void kill_nothing(void *ctx, wfi_job *job, int reason) {
  (void)ctx;
  (void)job;
  (void)reason;
}

const wfi_activity wfa_tf_aggregate = {"tf.aggregate", aggregate_start, kill_nothing};
const wfi_activity wfa_tf_extract = {"tf.extract", extract_start, kill_nothing};
const wfi_activity wfa_tf_report_toggl = {"tf.report_toggl", report_toggl_start,
                                          kill_nothing};
const wfi_activity wfa_tf_report_people = {"tf.report_people", report_people_start,
                                           kill_nothing};
const wfi_activity wfa_tf_report_team = {"tf.report_team", report_team_start, kill_nothing};
