/* tf_builtins.c — toggl-fibery built-ins: aggregate, extract and the three reports. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tf_aggregate.h"
#include "tf_builtins.h"
#include "tf_fibery.h"
#include "tf_llm.h"
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
  char msg[1024];
  int n = snprintf(msg, sizeof msg, "%s: ", t->name);
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
  va_end(ap);
  cJSON_Delete(t->in);
  wfa_job_fail(t->job, retryable, msg);
}

/* Report success with `out` as the output (consumed). */
static void succeed(tfb *t, cJSON *out) {
  wfi_result res;
  int rc;

  wfa_result_init(&res);
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

/* The enrichment config: with.config (object), or with.enrichment (object, or the path
 * of the config file, with enrichment_override merged over it as fibery.enrich does),
 * else NULL (the defaults). *owned gets what was loaded (the caller deletes it). Fails
 * the step when the file does not load. */
static int config_of(tfb *t, cJSON **owned, const cJSON **cfg) {
  const cJSON *path = cJSON_GetObjectItemCaseSensitive(t->with, "enrichment");
  char err[512];
  int rc;

  *owned = NULL;
  *cfg = cJSON_GetObjectItemCaseSensitive(t->with, "config");
  if (!cJSON_IsObject(*cfg))
    *cfg = cJSON_IsObject(path) ? path : NULL;
  if (*cfg || !cJSON_IsString(path) || !*path->valuestring)
    return 0;
  if ((rc = tf_fibery_config_load(path->valuestring, opt_str(t, "enrichment_override", NULL),
                                  owned, err, sizeof err))) {
    fail(t, rc == WF_ENOMEM || rc == WF_EIO, "enrichment config: %s", err);
    return rc;
  }
  *cfg = *owned;
  return 0;
}

/* The parser's alias table from the enrichment config (config_of), else the default
 * table. Fails the step. */
static int aliases(tfb *t, tf_aliases **al) {
  const cJSON *cfg;
  cJSON *loaded;
  int rc;

  if ((rc = config_of(t, &loaded, &cfg)))
    return rc;
  rc = tf_aliases_from_config(cfg, al);
  cJSON_Delete(loaded);
  if (rc)
    fail(t, rc == WF_ENOMEM,
         "enrichment config: malformed \"aliases\" (each needs \"tags\" "
         "with one or two strings and a \"type\" Space/Type)");
  return rc;
}

/* statistics.toggl_requests and toggl_retried of agg: the time-entry requests the fetched
 * days of raw needed, and those they sent again, for the run's figures (add_run_counts). */
static void add_requests(cJSON *agg, const cJSON *raw) {
  cJSON *st = cJSON_GetObjectItemCaseSensitive(agg, "statistics");
  const cJSON *d;
  int64_t n = 0, again = 0;

  cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(raw, "days")) {
    n += tf_jint(d, "requests");
    again += tf_jint(d, "retried");
  }
  cJSON_AddNumberToObject(st, "toggl_requests", (double)n);
  cJSON_AddNumberToObject(st, "toggl_retried", (double)again);
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
  if (rc == 0)
    add_requests(agg, raw);
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

/* Ids per enrichment query: with.batch_size when it is given and > 0, else the enrichment
 * config's batch_size (config_of), else 50. Fails the step (and returns 0) when the
 * config does not load. */
static int batch_size(tfb *t) {
  const cJSON *bs = opt(t, "batch_size"), *cfg;
  cJSON *loaded;
  int size;

  if (cJSON_IsNumber(bs) && bs->valuedouble >= 1)
    return bs->valuedouble < TF_FIBERY_MAX_BATCH ? (int)bs->valuedouble : TF_FIBERY_MAX_BATCH;
  if (config_of(t, &loaded, &cfg))
    return 0;
  size = tf_fibery_batch_size(cfg);
  cJSON_Delete(loaded);
  return size;
}

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
  /* The enrichment fan-out's items: each type's ids in chunks of batch_size, keyed by
   * type and first id, so a resume re-queries only the chunks not recorded. */
  int size = batch_size(&t);
  cJSON *batches = size > 0 ? cJSON_AddArrayToObject(out, "batches") : NULL;
  if (size <= 0) {
    cJSON_Delete(out);
    cJSON_Delete(ex);
    return;
  }
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
  rc = tf_enriched_assemble(batches, ex, stage_output(t, "schema_stage", "schema"),
                            t->job->run_id, now, enr);
  cJSON_Delete(ex);
  if (rc)
    fail(t, 1, "cannot assemble %s: %s", TF_ENRICHED_FILE, wf_strerror(rc));
  else if (write && (rc = put(t, TF_ENRICHED_FILE, *enr, NULL))) {
    cJSON_Delete(*enr);
    *enr = NULL;
  }
  return rc;
}

/* ---- optional LLM summaries (DOMAIN §8.3, tf_llm.h) -----------------------------------
 * A report step builds its Markdown files as docs, then finish_docs writes them. With
 * WF_LLM_BASE set (and a loop), each doc first gets its summary from one call at a time
 * on job->loop; the last callback writes the files and completes the step. */

typedef struct tf_doc {
  char *rel, *md;
} tf_doc;

typedef struct tf_docs {
  tfb t;
  cJSON *out;   /* the output; "files" (when present) lists what was written */
  tf_doc *v;
  size_t n, cap, next;
  int unavailable, killed, kill_reason;
  tf_llm_call *call;
} tf_docs;

static const char llm_system[] =
    "You are an expert in time-tracking and project data. Summarize the report you are "
    "given in 3 to 6 sentences of plain prose: the main focus areas, how the time was "
    "distributed and any gaps or risks. Do not repeat tables, do not invent figures, do "
    "not use headings.";

static void docs_free(tf_docs *d) {
  for (size_t i = 0; i < d->n; i++) {
    free(d->v[i].rel);
    free(d->v[i].md);
  }
  free(d->v);
  free(d);
}

/* Takes md. Nonzero when out of memory (md freed). */
static int docs_add(tf_docs *d, const char *rel, char *md) {
  char *r = strdup(rel);

  if (!r || tf_grow((void **)&d->v, &d->cap, d->n, sizeof *d->v)) {
    free(r);
    free(md);
    return WF_ENOMEM;
  }
  d->v[d->n].rel = r;
  d->v[d->n++].md = md;
  return 0;
}

/* Write every doc and complete the step; frees d. */
static void docs_write(tf_docs *d) {
  cJSON *files = cJSON_GetObjectItemCaseSensitive(d->out, "files");
  tfb t = d->t;
  int rc = 0;

  t.job->act_state = NULL;
  for (size_t i = 0; i < d->n && !rc; i++) {
    rc = put(&t, d->v[i].rel, NULL, d->v[i].md); /* fails the step on error */
    if (!rc && files)
      cJSON_AddItemToArray(files, cJSON_CreateString(d->v[i].rel));
  }
  if (!rc && d->unavailable)
    cJSON_AddNumberToObject(d->out, "summaries_unavailable", d->unavailable);
  if (rc)
    cJSON_Delete(d->out);
  else
    succeed(&t, d->out);
  docs_free(d);
}

static void docs_next(tf_docs *d);

static void on_summary(void *ud, char *text, const char *why) {
  tf_docs *d = ud;
  tf_doc *doc = &d->v[d->next++];
  char *md;

  d->call = NULL;
  if (d->killed) {
    tfb t = d->t;
    int retry = d->kill_reason != WFI_KILL_CANCEL;

    free(text);
    t.job->act_state = NULL;
    cJSON_Delete(d->out);
    docs_free(d);
    fail(&t, retry, "killed while waiting for the summary");
    return;
  }
  if (!text)
    d->unavailable++;
  if ((md = tf_llm_insert(doc->md, text, tf_llm_model(), why))) {
    free(doc->md);
    doc->md = md;
  }
  free(text);
  docs_next(d);
}

static void docs_next(tf_docs *d) {
  while (d->next < d->n) {
    tf_doc *doc = &d->v[d->next];
    char *facts = tf_llm_facts(doc->md), *md;
    int rc = facts ? tf_llm_start(d->t.job->loop, llm_system, facts, on_summary, d,
                                  &d->call)
                   : WF_ENOMEM;

    free(facts);
    if (!rc)
      return;
    d->unavailable++;
    d->next++;
    if ((md = tf_llm_insert(doc->md, NULL, tf_llm_model(), "the call could not start"))) {
      free(doc->md);
      doc->md = md;
    }
  }
  docs_write(d);
}

/* Summaries (when configured) then files; d is consumed. */
static void finish_docs(tf_docs *d) {
  if (!tf_llm_enabled() || !d->t.job->loop || !d->n) {
    docs_write(d);
    return;
  }
  d->t.job->act_state = d;
  docs_next(d);
}

static tf_docs *docs_new(const tfb *t) {
  tf_docs *d = calloc(1, sizeof *d);

  if (d)
    d->t = *t;
  return d;
}

static void report_people_start(void *ctx, wfi_job *job) {
  static const char *const counts[] = {"ok", "not_found", "unknown_type", "type_missing",
                                       "error"};
  cJSON *agg, *enr, *out;
  const cJSON *u, *st;
  char rel[512], stem[400], *md;
  int rc = 0;
  size_t i;
  tf_docs *d;
  tfb t;

  (void)ctx;
  if (begin(&t, job, "tf.report_people") || need(&t, TF_AGG_FILE, &agg))
    return;
  if (enriched(&t, 1, &enr)) {
    cJSON_Delete(agg);
    return;
  }
  if (!(d = docs_new(&t))) {
    cJSON_Delete(agg);
    cJSON_Delete(enr);
    fail(&t, 1, "%s", wf_strerror(WF_ENOMEM));
    return;
  }
  out = cJSON_CreateObject();
  cJSON_AddBoolToObject(out, "enriched", enr != NULL);
  cJSON_AddArrayToObject(out, "files");
  cJSON_ArrayForEach(u, cJSON_GetObjectItemCaseSensitive(agg, "users")) {
    if ((rc = tf_report_person(agg, enr, u->string, NULL, &md))) {
      fail(&t, rc == WF_ENOMEM, "report for %s: %s", u->string, wf_strerror(rc));
      break;
    }
    tf_person_stem(u->string, stem, sizeof stem);
    snprintf(rel, sizeof rel, "%s/%s.md", TF_PEOPLE_DIR, stem);
    if ((rc = docs_add(d, rel, md))) {
      fail(&t, 1, "%s", wf_strerror(rc));
      break;
    }
  }
  cJSON_AddNumberToObject(out, "persons", (double)d->n);
  st = cJSON_GetObjectItemCaseSensitive(enr, "statistics");
  for (i = 0; i < sizeof counts / sizeof counts[0]; i++)
    cJSON_AddNumberToObject(out, counts[i], (double)tf_jint(st, counts[i]));
  cJSON_Delete(agg);
  cJSON_Delete(enr);
  if (rc) {
    cJSON_Delete(out);
    docs_free(d);
    return;
  }
  d->out = out;
  finish_docs(d);
}

/* Every string of the "warnings" arrays of a and b, in that order. */
static cJSON *all_warnings(const cJSON *a, const cJSON *b) {
  cJSON *arr = cJSON_CreateArray();
  const cJSON *srcs[] = {a, b}, *w;

  for (size_t i = 0; arr && i < 2; i++)
    cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(srcs[i], "warnings"))
        if (cJSON_IsString(w)) cJSON_AddItemToArray(arr, cJSON_CreateString(w->valuestring));
  return arr;
}

/* out.metadata, the run's figures for run_metadata.json (DOMAIN §7; the workflow names
 * this stage as its metadata_stage): from the aggregation the counts of entries and
 * persons, references (distinct entity keys, typed or not: unique_entities already holds
 * the unresolved ones) and time-entry requests (needed, and sent again); the
 * enrichment's outcomes and Fibery requests; and every warning of both (their number as
 * `warnings`, the messages as `warning_messages`). */
static void add_run_counts(cJSON *out, const cJSON *agg, const cJSON *enr) {
  const cJSON *ast = cJSON_GetObjectItemCaseSensitive(agg, "statistics");
  const cJSON *est = cJSON_GetObjectItemCaseSensitive(enr, "statistics");
  static const char *const outcomes[] = {"ok", "not_found", "unknown_type", "type_missing",
                                         "error"};
  cJSON *m = cJSON_AddObjectToObject(out, "metadata");
  cJSON *c = cJSON_AddObjectToObject(m, "counts");

  cJSON_AddNumberToObject(c, "entries", (double)tf_jint(ast, "total_entries"));
  cJSON_AddNumberToObject(c, "persons", (double)tf_jint(ast, "total_users"));
  cJSON_AddNumberToObject(c, "references", (double)tf_jint(ast, "unique_entities"));
  for (size_t i = 0; i < sizeof outcomes / sizeof outcomes[0]; i++)
    cJSON_AddNumberToObject(c, outcomes[i], (double)tf_jint(est, outcomes[i]));
  cJSON_AddNumberToObject(c, "toggl_requests", (double)tf_jint(ast, "toggl_requests"));
  cJSON_AddNumberToObject(c, "toggl_retried", (double)tf_jint(ast, "toggl_retried"));
  cJSON_AddNumberToObject(c, "fibery_requests", (double)tf_jint(est, "fibery_requests"));
  cJSON_AddNumberToObject(c, "fibery_retried", (double)tf_jint(est, "fibery_retried"));
  /* DOMAIN §7 makes `warnings` a count; the messages themselves go beside it. */
  cJSON *all = all_warnings(agg, enr);
  cJSON_AddNumberToObject(m, "warnings", all ? cJSON_GetArraySize(all) : 0);
  cJSON_AddItemToObject(m, "warning_messages", all);
}

static void report_team_start(void *ctx, wfi_job *job) {
  cJSON *agg, *enr, *out;
  char *md;
  int rc;
  tf_docs *d;
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
  add_run_counts(out, agg, enr);
  cJSON_Delete(agg);
  cJSON_Delete(enr);
  if (rc) {
    cJSON_Delete(out);
    fail(&t, rc == WF_ENOMEM, "%s: %s", TF_AGG_FILE, wf_strerror(rc));
    return;
  }
  if (!(d = docs_new(&t)) || docs_add(d, TF_TEAM_REPORT, md)) {
    if (!d)
      free(md);
    free(d);
    cJSON_Delete(out);
    fail(&t, 1, "%s", wf_strerror(WF_ENOMEM));
    return;
  }
  d->out = out;
  finish_docs(d);
}

/* Everything finishes inside start: there is never an attempt in flight to stop. */
static void kill_nothing(void *ctx, wfi_job *job, int reason) {
  (void)ctx;
  (void)job;
  (void)reason;
}

/* A report waiting for an LLM summary: cancel the call; its callback fails the step. */
static void kill_report(void *ctx, wfi_job *job, int reason) {
  tf_docs *d = job->act_state;

  (void)ctx;
  if (!d || d->killed)
    return;
  d->killed = 1;
  d->kill_reason = reason;
  tf_llm_cancel(d->call);
}

const wfi_activity wfa_tf_aggregate = {"tf.aggregate", aggregate_start, kill_nothing};
const wfi_activity wfa_tf_extract = {"tf.extract", extract_start, kill_nothing};
const wfi_activity wfa_tf_report_toggl = {"tf.report_toggl", report_toggl_start,
                                          kill_nothing};
const wfi_activity wfa_tf_report_people = {"tf.report_people", report_people_start,
                                           kill_report};
const wfi_activity wfa_tf_report_team = {"tf.report_team", report_team_start, kill_report};
