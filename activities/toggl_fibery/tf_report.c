/* tf_report.c — toggl-fibery report building blocks and the Toggl-only summary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tf_report.h"
#include "tf_report_int.h"
#include "wf/wf.h"

#define TOP_N 10

static const char *or_dash(const char *s) { return s && *s ? s : "—"; }

void tf_rep_header(tf_sb *b, const char *title, const cJSON *agg,
                   const char *generated_at) {
  const char *tz = tf_jstr(agg, "report_timezone");

  tf_sb_printf(b, "# %s\n\n", title);
  /* the offset is read from the entries' timestamps: without one, say what is known */
  if (tz && *tz)
    tf_sb_printf(b, "- Period: %s to %s (timezone: %s)\n", or_dash(tf_jstr(agg, "start_date")),
                 or_dash(tf_jstr(agg, "end_date")), tz);
  else
    tf_sb_printf(b, "- Period: %s to %s (in the timezone of the Toggl profile; no entry in the "
                 "period showed its offset)\n", or_dash(tf_jstr(agg, "start_date")),
                 or_dash(tf_jstr(agg, "end_date")));
  tf_sb_printf(b, "- Run: %s\n", or_dash(tf_jstr(agg, "run_id")));
  tf_sb_printf(b, "- Generated: %s\n\n",
               or_dash(generated_at ? generated_at : tf_jstr(agg, "aggregated_at")));
}

static int64_t total_of(const cJSON *u, const char *what) {
  return tf_jint(cJSON_GetObjectItemCaseSensitive(u, "statistics"), what);
}

static int cmp_people(const void *a, const void *b) {
  const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
  int64_t tx = total_of(x, "total_duration_seconds"),
          ty = total_of(y, "total_duration_seconds");

  if (tx != ty)
    return tx > ty ? -1 : 1;
  return strcmp(x->string ? x->string : "", y->string ? y->string : "");
}

int tf_rep_people(const cJSON *agg, const cJSON ***out, size_t *n) {
  const cJSON *users = cJSON_GetObjectItemCaseSensitive(agg, "users"), *u;
  size_t i = 0;

  *n = (size_t)cJSON_GetArraySize(users);
  if (!(*out = malloc((*n + 1) * sizeof **out)))
    return WF_ENOMEM;
  cJSON_ArrayForEach(u, users)(*out)[i++] = u;
  if (*n > 1)
    qsort(*out, *n, sizeof **out, cmp_people);
  return 0;
}

const char *tf_rep_name(const cJSON *user) {
  const char *n = tf_jstr(user, "name");

  return n && *n ? n : user->string ? user->string : "?";
}

void tf_rep_person_title(tf_sb *b, const cJSON *user) {
  const char *name = tf_rep_name(user), *email = tf_jstr(user, "user_email");

  tf_sb_puts(b, name);
  if (email && strcmp(email, name))
    tf_sb_printf(b, " <%s>", email);
}

static void day_row(tf_sb *b, const char *date, const cJSON *d) {
  char t[32], m[32], o[32];

  tf_hours(t, tf_jint(d, "total_duration_seconds"));
  tf_hours(m, tf_jint(d, "matched_duration_seconds"));
  tf_hours(o, tf_jint(d, "unmatched_duration_seconds"));
  tf_sb_printf(b, "| %s | %s | %s | %s |\n", date, t, m, o);
}

void tf_rep_days_table(tf_sb *b, const cJSON *by_day, const cJSON *agg) {
  const char *start = tf_jstr(agg, "start_date"), *end = tf_jstr(agg, "end_date");
  const cJSON *d;
  char day[11];
  int n = 0;

  if (!cJSON_GetArraySize(by_day)) {
    tf_sb_puts(b, "No time tracked in the period.\n\n");
    return;
  }
  tf_sb_puts(b, "| Date | Total h | Entities h | Other h |\n|---|---:|---:|---:|\n");
  /* every day of the period, a day without time as 0.00; days outside it (entries
   * crossing an edge) keep their own rows */
  if (start && end && tf_valid_day(start) && tf_valid_day(end)) {
    snprintf(day, sizeof day, "%s", start);
    cJSON_ArrayForEach(d, by_day) if (d->string && strcmp(d->string, start) < 0)
        day_row(b, d->string, d);
    for (; strcmp(day, end) <= 0 && n++ <= 366; tf_next_day(day))
      day_row(b, day, cJSON_GetObjectItemCaseSensitive(by_day, day));
    cJSON_ArrayForEach(d, by_day) if (d->string && strcmp(d->string, end) > 0)
        day_row(b, d->string, d);
  } else {
    cJSON_ArrayForEach(d, by_day) day_row(b, d->string ? d->string : "?", d);
  }
  tf_sb_puts(b, "\n");
}

void tf_rep_people_table(tf_sb *b, const cJSON *const *people, size_t n,
                         const char *link_dir) {
  size_t i;

  if (!n) {
    tf_sb_puts(b, "No people in scope.\n\n");
    return;
  }
  tf_sb_puts(b,
             "| Person | Email | Total h | Entities h | Other h | Entities % | References "
             "| Activities |\n|---|---|---:|---:|---:|---:|---:|---:|\n");
  for (i = 0; i < n; i++) {
    const cJSON *u = people[i];
    int64_t tot = total_of(u, "total_duration_seconds");
    int64_t mat = total_of(u, "matched_duration_seconds");
    char t[32], m[32], o[32], sh[32], stem[256];

    tf_hours(t, tot);
    tf_hours(m, mat);
    tf_hours(o, total_of(u, "unmatched_duration_seconds"));
    tf_share(sh, mat, tot);
    tf_sb_puts(b, "| ");
    if (link_dir) {
      tf_person_stem(u->string ? u->string : "", stem, sizeof stem);
      tf_sb_puts(b, "[");
      tf_sb_cell(b, tf_rep_name(u));
      tf_sb_printf(b, "](%s/%s.md)", link_dir, stem);
    } else {
      tf_sb_cell(b, tf_rep_name(u));
    }
    tf_sb_puts(b, " | ");
    tf_sb_cell(b, tf_jstr(u, "user_email"));
    tf_sb_printf(b, " | %s | %s | %s | %s | %lld | %lld |\n", t, m, o, sh,
                 (long long)total_of(u, "entities_count"),
                 (long long)total_of(u, "activities_count"));
  }
  tf_sb_puts(b, "\n");
}

void tf_rep_names_cell(tf_sb *b, const cJSON *ref) {
  const cJSON *n;
  int first = 1;

  cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(ref, "names")) {
    if (!cJSON_IsString(n))
      continue;
    if (!first)
      tf_sb_puts(b, "; ");
    tf_sb_cell(b, n->valuestring);
    first = 0;
  }
  if (first)
    tf_sb_puts(b, "—");
}

static int in_list(const cJSON *arr, const char *key) {
  const cJSON *x;

  cJSON_ArrayForEach(x, arr) {
    const char *k = cJSON_IsString(x) ? x->valuestring : tf_jstr(x, "key");

    if (k && !strcmp(k, key))
      return 1;
  }
  return 0;
}

int tf_rep_status(const cJSON *ref, const cJSON *enriched, const cJSON **rec) {
  const char *reason = tf_jstr(ref, "reason"), *key = tf_jstr(ref, "entity_key"), *st;
  const cJSON *e;

  *rec = NULL;
  if (reason && !strcmp(reason, "type_missing"))
    return TF_ST_TYPE_MISSING;
  if (reason || !key)
    return TF_ST_UNKNOWN_TYPE;
  cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(enriched, "enriched_entities")) {
    const char *k = tf_jstr(e, "entity_key");

    if (k && !strcmp(k, key)) {
      *rec = e;
      break;
    }
  }
  if (!*rec) {
    if (in_list(cJSON_GetObjectItemCaseSensitive(enriched, "unknown_type"), key))
      return TF_ST_UNKNOWN_TYPE;
    if (in_list(cJSON_GetObjectItemCaseSensitive(enriched, "type_missing"), key))
      return TF_ST_TYPE_MISSING;
    return TF_ST_NOT_ENRICHED;
  }
  st = tf_jstr(*rec, "status");
  if (!st || !strcmp(st, "ok"))
    return TF_ST_OK;
  if (!strcmp(st, "not_found"))
    return TF_ST_NOT_FOUND;
  if (!strcmp(st, "unknown_type"))
    return TF_ST_UNKNOWN_TYPE;
  if (!strcmp(st, "type_missing"))
    return TF_ST_TYPE_MISSING;
  return TF_ST_ERROR;
}

void tf_rep_reason_cell(tf_sb *b, int status, const cJSON *rec) {
  switch (status) {
  case TF_ST_NOT_FOUND:
    tf_sb_puts(b, "not found");
    break;
  case TF_ST_UNKNOWN_TYPE:
    tf_sb_puts(b, "unknown type");
    if (tf_jstr(rec, "error")) {
      tf_sb_puts(b, ": ");
      tf_sb_cell(b, tf_jstr(rec, "error"));
    }
    break;
  case TF_ST_TYPE_MISSING:
    tf_sb_puts(b, "type missing");
    break;
  case TF_ST_NOT_ENRICHED:
    tf_sb_puts(b, "not enriched");
    break;
  case TF_ST_ERROR:
    tf_sb_puts(b, "error");
    if (tf_jstr(rec, "error")) {
      tf_sb_puts(b, ": ");
      tf_sb_cell(b, tf_jstr(rec, "error"));
    }
    break;
  default:
    tf_sb_puts(b, "—");
  }
}

void tf_rep_warnings(tf_sb *b, const cJSON *agg, const char *extra) {
  const cJSON *w, *ws = cJSON_GetObjectItemCaseSensitive(agg, "warnings");

  if (!cJSON_GetArraySize(ws) && !extra)
    return;
  tf_sb_puts(b, "## Warnings\n\n");
  cJSON_ArrayForEach(w, ws) if (cJSON_IsString(w))
      tf_sb_printf(b, "- %s\n", w->valuestring);
  if (extra)
    tf_sb_puts(b, extra);
  tf_sb_puts(b, "\n");
}

int tf_rep_finish(tf_sb *b, char **md) {
  if (b->err || !b->p) {
    tf_sb_free(b);
    *md = NULL;
    return WF_ENOMEM;
  }
  *md = b->p;
  return 0;
}

/* ---- toggl_summary.md --------------------------------------------------------------- */

static void top_refs(tf_sb *b, const cJSON *u) {
  const cJSON *r, *refs = cJSON_GetObjectItemCaseSensitive(u, "matched_entities");
  int i = 0;
  char h[32];

  if (!cJSON_GetArraySize(refs)) {
    tf_sb_puts(b, "No references.\n\n");
    return;
  }
  tf_sb_puts(b, "| Reference | Description text | Hours |\n|---|---|---:|\n");
  cJSON_ArrayForEach(r, refs) {
    if (i++ == TOP_N)
      break;
    tf_hours(h, tf_jint(r, "duration_seconds"));
    tf_sb_puts(b, "| ");
    tf_sb_cell(b, tf_jstr(r, "entity_key"));
    tf_sb_puts(b, " | ");
    tf_rep_names_cell(b, r);
    tf_sb_printf(b, " | %s |\n", h);
  }
  if (cJSON_GetArraySize(refs) > TOP_N)
    tf_sb_printf(b, "\n%d more reference(s) not shown.\n",
                 cJSON_GetArraySize(refs) - TOP_N);
  tf_sb_puts(b, "\n");
}

static void top_acts(tf_sb *b, const cJSON *u) {
  const cJSON *a, *acts = cJSON_GetObjectItemCaseSensitive(u, "unmatched_activities");
  int i = 0;
  char h[32];

  if (!cJSON_GetArraySize(acts)) {
    tf_sb_puts(b, "No other activities.\n\n");
    return;
  }
  tf_sb_puts(b, "| Activity | Hours | Entries |\n|---|---:|---:|\n");
  cJSON_ArrayForEach(a, acts) {
    if (i++ == TOP_N)
      break;
    tf_hours(h, tf_jint(a, "duration_seconds"));
    tf_sb_puts(b, "| ");
    tf_sb_cell(b, tf_jstr(a, "description_clean"));
    tf_sb_printf(b, " | %s | %lld |\n", h, (long long)tf_jint(a, "entries_count"));
  }
  if (cJSON_GetArraySize(acts) > TOP_N)
    tf_sb_printf(b, "\n%d more activit(y/ies) not shown.\n",
                 cJSON_GetArraySize(acts) - TOP_N);
  tf_sb_puts(b, "\n");
}

int tf_report_toggl(const cJSON *agg, const char *generated_at, char **md) {
  const cJSON *st = cJSON_GetObjectItemCaseSensitive(agg, "statistics");
  int64_t tot = tf_jint(st, "total_duration_seconds");
  int64_t mat = tf_jint(st, "matched_duration_seconds");
  int64_t unm = tf_jint(st, "unmatched_duration_seconds");
  const cJSON **people;
  tf_sb b = {0};
  char t[32], m[32], o[32], ms[32], os[32];
  size_t n, i;

  *md = NULL;
  if (!cJSON_IsObject(agg) ||
      !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(agg, "users")))
    return WF_EINVAL;
  if (tf_rep_people(agg, &people, &n))
    return WF_ENOMEM;
  tf_rep_header(&b, "Toggl Activity Report", agg, generated_at);
  tf_hours(t, tot);
  tf_hours(m, mat);
  tf_hours(o, unm);
  tf_share(ms, mat, tot);
  tf_share(os, unm, tot);
  tf_sb_puts(&b, "## Team totals\n\n| Metric | Value |\n|---|---:|\n");
  tf_sb_printf(&b,
               "| Total hours | %s |\n| On references | %s (%s) |\n| Other activities "
               "| %s (%s) |\n",
               t, m, ms, o, os);
  tf_sb_printf(&b,
               "| Persons | %zu |\n| Distinct references | %lld |\n| Unresolved "
               "references | %lld |\n| Entries | %lld |\n\n",
               n, (long long)tf_jint(st, "unique_entities"),
               (long long)tf_jint(st, "unresolved_references"),
               (long long)tf_jint(st, "total_entries"));
  tf_sb_puts(&b, "## People\n\n");
  tf_rep_people_table(&b, people, n, NULL);
  tf_sb_puts(&b, "## Per day\n\n");
  tf_rep_days_table(&b, cJSON_GetObjectItemCaseSensitive(agg, "by_day"), agg);
  for (i = 0; i < n; i++) {
    tf_sb_puts(&b, "## ");
    tf_rep_person_title(&b, people[i]);
    tf_sb_puts(&b, "\n\n### Top references\n\n");
    top_refs(&b, people[i]);
    tf_sb_puts(&b, "### Top activities\n\n");
    top_acts(&b, people[i]);
  }
  tf_rep_warnings(&b, agg, NULL);
  free(people);
  return tf_rep_finish(&b, md);
}
