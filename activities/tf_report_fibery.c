/* tf_report_fibery.c — toggl-fibery person and team reports joined with Fibery data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tf_report.h"
#include "tf_report_int.h"
#include "wf/wf.h"

#define TOP_ACTIVITIES 20
#define DESC_MAX 300

/* One reference as reported: team-wide rows merge the people's references by key. */
typedef struct row {
  const cJSON *ref, *rec;
  const char *key, *type;
  int status;
  int64_t sec, entries;
  char people[512];
} row;

typedef struct rows {
  row *v;
  size_t n, cap;
} rows;

static int cmp_row(const void *a, const void *b) {
  const row *x = a, *y = b;

  if (x->sec != y->sec)
    return x->sec > y->sec ? -1 : 1;
  return strcmp(x->key, y->key);
}

static void add_person(row *r, const char *person) {
  size_t l = strlen(r->people);

  if (l + strlen(person) + 3 < sizeof r->people)
    snprintf(r->people + l, sizeof r->people - l, "%s%s", l ? ", " : "", person);
}

/* A new zeroed row for `key` (first seen in `ref`) at the end of rs; NULL without memory. */
static row *row_add(rows *rs, const cJSON *ref, const char *key) {
  if (tf_grow((void **)&rs->v, &rs->cap, rs->n, sizeof *rs->v))
    return NULL;
  row *r = &rs->v[rs->n++];
  memset(r, 0, sizeof *r);
  r->ref = ref;
  r->key = key;
  return r;
}

/* Add the references of user u (person label `who`, or NULL for one person). */
static int collect(rows *rs, const cJSON *u, const cJSON *enriched, const char *who) {
  const cJSON *ref;

  cJSON_ArrayForEach(ref, cJSON_GetObjectItemCaseSensitive(u, "matched_entities")) {
    const char *key = tf_jstr(ref, "entity_key");
    row *r = NULL;
    size_t i;

    if (!key)
      continue;
    for (i = 0; who && i < rs->n && !r; i++)
      if (!strcmp(rs->v[i].key, key))
        r = &rs->v[i];
    if (!r) {
      if (!(r = row_add(rs, ref, key)))
        return WF_ENOMEM;
      r->type = tf_jstr(ref, "fibery_type") ? tf_jstr(ref, "fibery_type") : "(no type)";
      r->status = tf_rep_status(ref, enriched, &r->rec);
    }
    r->sec += tf_jint(ref, "duration_seconds");
    r->entries += tf_jint(ref, "entries_count");
    if (who)
      add_person(r, who);
  }
  if (rs->n > 1)
    qsort(rs->v, rs->n, sizeof *rs->v, cmp_row);
  return 0;
}

static int64_t seconds_of(const rows *rs, int (*pick)(int), size_t *count) {
  int64_t s = 0;
  size_t i;

  *count = 0;
  for (i = 0; i < rs->n; i++)
    if (pick(rs->v[i].status)) {
      s += rs->v[i].sec;
      (*count)++;
    }
  return s;
}

static int is_ok(int st) { return st == TF_ST_OK; }
static int is_missing(int st) { return st == TF_ST_TYPE_MISSING; }
static int is_not_found(int st) { return st != TF_ST_OK && st != TF_ST_TYPE_MISSING; }

/* The figures both reports open with: from the statistics st, the hours in total, on
 * Fibery entities and otherwise, with their shares; the rows rs counted by status. */
typedef struct figures {
  char total[32], matched[32], other[32], matched_share[32], other_share[32];
  size_t ok, not_found, missing;
} figures;

static void figures_of(figures *f, const cJSON *st, const rows *rs) {
  int64_t tot = tf_jint(st, "total_duration_seconds");
  int64_t mat = tf_jint(st, "matched_duration_seconds");
  int64_t unm = tf_jint(st, "unmatched_duration_seconds");

  tf_hours(f->total, tot);
  tf_hours(f->matched, mat);
  tf_hours(f->other, unm);
  tf_share(f->matched_share, mat, tot);
  tf_share(f->other_share, unm, tot);
  seconds_of(rs, is_ok, &f->ok);
  seconds_of(rs, is_not_found, &f->not_found);
  seconds_of(rs, is_missing, &f->missing);
}

static const char *edata(const row *r, const char *k) {
  return tf_jstr(cJSON_GetObjectItemCaseSensitive(r->rec, "enriched_data"), k);
}

static void entity_cell(tf_sb *b, const row *r) {
  const char *url = tf_jstr(r->rec, "url"), *id = tf_jstr(r->ref, "entity_id");

  if (url && *url)
    tf_sb_printf(b, "[#%s](%s)", id ? id : "?", url);
  else
    tf_sb_printf(b, "#%s", id ? id : "?");
}

/* Types of ok rows by hours descending, then name; one table per type. */
static void entities_by_type(tf_sb *b, const rows *rs, int team) {
  char done[64][128];
  size_t ndone = 0, i, j;
  char h[32];

  for (;;) {
    const char *best = NULL;
    int64_t best_s = -1;

    for (i = 0; i < rs->n; i++) {
      int64_t s = 0;
      int seen = 0;

      if (!is_ok(rs->v[i].status))
        continue;
      for (j = 0; j < ndone && !seen; j++)
        seen = !strcmp(done[j], rs->v[i].type);
      if (seen || (best && !strcmp(best, rs->v[i].type)))
        continue;
      for (j = 0; j < rs->n; j++)
        if (is_ok(rs->v[j].status) && !strcmp(rs->v[j].type, rs->v[i].type))
          s += rs->v[j].sec;
      if (s > best_s || (s == best_s && strcmp(rs->v[i].type, best) < 0)) {
        best = rs->v[i].type;
        best_s = s;
      }
    }
    if (!best)
      break;
    if (ndone == sizeof done / sizeof done[0]) {
      tf_sb_puts(b, "More types not shown.\n\n");
      break;
    }
    snprintf(done[ndone++], sizeof done[0], "%s", best);
    tf_hours(h, best_s);
    tf_sb_printf(b, "### %s (%s h)\n\n", best, h);
    tf_sb_puts(b,
               team ? "| Entity | Name | State | Hours | People |\n|---|---|---|---:|---|\n"
                    : "| Entity | Name | State | Hours | Entries | Days |\n"
                      "|---|---|---|---:|---:|---:|\n");
    for (i = 0; i < rs->n; i++) {
      const row *r = &rs->v[i];

      if (!is_ok(r->status) || strcmp(r->type, best))
        continue;
      tf_hours(h, r->sec);
      tf_sb_puts(b, "| ");
      entity_cell(b, r);
      tf_sb_puts(b, " | ");
      tf_sb_cell(b, tf_jstr(r->rec, "name"));
      tf_sb_puts(b, " | ");
      tf_sb_cell(b, tf_jstr(r->rec, "state"));
      if (team) {
        tf_sb_printf(b, " | %s | ", h);
        tf_sb_cell(b, r->people);
        tf_sb_puts(b, " |\n");
      } else {
        tf_sb_printf(
            b, " | %s | %lld | %d |\n", h, (long long)r->entries,
            cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r->ref, "by_day")));
      }
    }
    tf_sb_puts(b, "\n");
  }
}

static int is_done_state(const char *s) {
  return s && (!strcasecmp(s, "done") || !strcasecmp(s, "completed") ||
               !strcasecmp(s, "closed"));
}

/* Dates, overdue flag (planned end before the period end), parent, description line. */
static void entity_details(tf_sb *b, const rows *rs, const char *period_end) {
  size_t i;
  int any = 0;

  for (i = 0; i < rs->n; i++) {
    const row *r = &rs->v[i];
    const char *started = edata(r, "started"), *completed = edata(r, "completed");
    const char *planned = edata(r, "planned_end"), *desc = edata(r, "description_md");
    const cJSON *parent = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(r->rec, "enriched_data"), "parent");
    int done = (completed && *completed) || is_done_state(tf_jstr(r->rec, "state"));

    if (!is_ok(r->status) ||
        !(started || completed || planned || desc || tf_jstr(parent, "name")))
      continue;
    if (!any++)
      tf_sb_puts(b, "#### Details\n\n");
    tf_sb_puts(b, "- ");
    entity_cell(b, r);
    if (started)
      tf_sb_printf(b, "; started %.10s", started);
    if (completed && *completed)
      tf_sb_printf(b, "; completed %.10s", completed);
    else if (planned) {
      tf_sb_printf(b, "; ETA %.10s", planned);
      if (!done && period_end && strncmp(planned, period_end, 10) < 0)
        tf_sb_puts(b, " (overdue)");
    }
    if (tf_jstr(parent, "name")) {
      tf_sb_puts(b, "; parent: ");
      tf_sb_cell(b, tf_jstr(parent, "name"));
    }
    if (desc && *desc) {
      size_t n = strcspn(desc, "\r\n");
      char line[DESC_MAX + 1];

      snprintf(line, sizeof line, "%.*s", (int)(n < DESC_MAX ? n : DESC_MAX), desc);
      tf_sb_puts(b, "; ");
      tf_sb_cell(b, line);
    }
    tf_sb_puts(b, "\n");
  }
  if (any)
    tf_sb_puts(b, "\n");
}

/* Reference | Description text | Hours | Reason (| People) for rows passing pick. */
static void problem_table(tf_sb *b, const rows *rs, int (*pick)(int), int team,
                          const char *none) {
  size_t i, n = 0;
  char h[32];

  for (i = 0; i < rs->n; i++) {
    const row *r = &rs->v[i];

    if (!pick(r->status))
      continue;
    if (!n++)
      tf_sb_puts(
          b,
          team ? "| Reference | Description text | Hours | Reason | People |\n"
                 "|---|---|---:|---|---|\n"
               : "| Reference | Description text | Hours | Reason |\n|---|---|---:|---|\n");
    tf_hours(h, r->sec);
    tf_sb_puts(b, "| ");
    tf_sb_cell(b, r->key);
    tf_sb_puts(b, " | ");
    tf_rep_names_cell(b, r->ref);
    tf_sb_printf(b, " | %s | ", h);
    tf_rep_reason_cell(b, r->status, r->rec);
    if (team) {
      tf_sb_puts(b, " | ");
      tf_sb_cell(b, r->people);
    }
    tf_sb_puts(b, " |\n");
  }
  tf_sb_puts(b, n ? "\n" : none);
}

static const char *missing_note(const cJSON *enriched) {
  return enriched ? NULL : "- enriched_data.json is missing: Fibery data is not shown\n";
}

int tf_report_person(const cJSON *agg, const cJSON *enriched, const char *person,
                     const char *generated_at, char **md) {
  const cJSON *u = cJSON_GetObjectItemCaseSensitive(
      cJSON_GetObjectItemCaseSensitive(agg, "users"), person ? person : "");
  const cJSON *a;
  rows rs = {0};
  tf_sb b = {0};
  figures f;
  char h[32], title[512];

  *md = NULL;
  if (!cJSON_IsObject(u))
    return WF_EINVAL;
  if (collect(&rs, u, enriched, NULL)) {
    free(rs.v);
    return WF_ENOMEM;
  }
  snprintf(title, sizeof title, "Individual Activity Report: %s%s%s%s", tf_rep_name(u),
           tf_jstr(u, "user_email") ? " <" : "",
           tf_jstr(u, "user_email") ? tf_jstr(u, "user_email") : "",
           tf_jstr(u, "user_email") ? ">" : "");
  tf_rep_header(&b, title, agg,
                generated_at ? generated_at : tf_jstr(enriched, "enriched_at"));
  figures_of(&f, cJSON_GetObjectItemCaseSensitive(u, "statistics"), &rs);
  tf_sb_printf(&b,
               "## Summary\n\n| Metric | Value |\n|---|---:|\n| Total hours | %s |\n"
               "| On Fibery entities | %s (%s) |\n| Other activities | %s (%s) |\n"
               "| Entities worked on | %zu (ok %zu, not found %zu, unresolved %zu) |\n\n",
               f.total, f.matched, f.matched_share, f.other, f.other_share, rs.n, f.ok,
               f.not_found, f.missing);
  tf_sb_puts(&b, "## Work on Fibery entities\n\n");
  if (f.ok) {
    entities_by_type(&b, &rs, 0);
    entity_details(&b, &rs, tf_jstr(agg, "end_date"));
  } else {
    tf_sb_puts(&b, "No time on Fibery entities found in Fibery.\n\n");
  }
  tf_sb_puts(&b, "## Not found in Fibery\n\n");
  problem_table(&b, &rs, is_not_found, 0, "None.\n\n");
  tf_sb_puts(&b, "## Unresolved references\n\n");
  problem_table(&b, &rs, is_missing, 0, "None.\n\n");
  tf_sb_puts(&b, "## Other activities\n\n");
  if (!cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(u, "unmatched_activities")))
    tf_sb_puts(&b, "None.\n\n");
  else
    tf_sb_puts(&b, "| Activity | Hours | Entries |\n|---|---:|---:|\n");
  cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(u, "unmatched_activities")) {
    tf_hours(h, tf_jint(a, "duration_seconds"));
    tf_sb_puts(&b, "| ");
    tf_sb_cell(&b, tf_jstr(a, "description_clean"));
    tf_sb_printf(&b, " | %s | %lld |\n", h, (long long)tf_jint(a, "entries_count"));
  }
  if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(u, "unmatched_activities")))
    tf_sb_puts(&b, "\n");
  tf_sb_puts(&b, "## Daily\n\n");
  tf_rep_days_table(&b, cJSON_GetObjectItemCaseSensitive(u, "by_day"));
  if (!tf_jbool(u, "known_user") || !enriched) {
    tf_sb_puts(&b, "## Warnings\n\n");
    if (!tf_jbool(u, "known_user"))
      tf_sb_puts(&b, "- This Toggl user is not in the workspace user list\n");
    if (!enriched)
      tf_sb_puts(&b, missing_note(enriched));
    tf_sb_puts(&b, "\n");
  }
  free(rs.v);
  return tf_rep_finish(&b, md);
}

/* Activities merged over people by text: row.ref is the first activity object seen. */
static int collect_acts(rows *rs, const cJSON *users) {
  const cJSON *u, *a;

  cJSON_ArrayForEach(u, users) {
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(u, "unmatched_activities")) {
      const char *key = tf_jstr(a, "description_clean");
      row *r = NULL;
      size_t i;

      for (i = 0; key && i < rs->n && !r; i++)
        if (!strcmp(rs->v[i].key, key))
          r = &rs->v[i];
      if (!key)
        continue;
      if (!r && !(r = row_add(rs, a, key)))
        return WF_ENOMEM;
      r->sec += tf_jint(a, "duration_seconds");
      r->entries += tf_jint(a, "entries_count");
      add_person(r, u->string ? u->string : "?");
    }
  }
  if (rs->n > 1)
    qsort(rs->v, rs->n, sizeof *rs->v, cmp_row);
  return 0;
}

static void top_activities(tf_sb *b, const rows *acts) {
  size_t i;
  char h[32];

  if (!acts->n) {
    tf_sb_puts(b, "None.\n\n");
    return;
  }
  tf_sb_puts(b, "| Activity | Hours | Entries | People |\n|---|---:|---:|---|\n");
  for (i = 0; i < acts->n && i < TOP_ACTIVITIES; i++) {
    tf_hours(h, acts->v[i].sec);
    tf_sb_puts(b, "| ");
    tf_sb_cell(b, acts->v[i].key);
    tf_sb_printf(b, " | %s | %lld | ", h, (long long)acts->v[i].entries);
    tf_sb_cell(b, acts->v[i].people);
    tf_sb_puts(b, " |\n");
  }
  if (acts->n > TOP_ACTIVITIES)
    tf_sb_printf(b, "\n%zu more activit(y/ies) not shown.\n", acts->n - TOP_ACTIVITIES);
  tf_sb_puts(b, "\n");
}

/* Types seen, in the order of their largest reference; configured = resolved. */
static void coverage(tf_sb *b, const rows *rs) {
  size_t i, j;
  char h[32];

  if (!rs->n) {
    tf_sb_puts(b, "No references.\n\n");
    return;
  }
  tf_sb_puts(b, "| Type | References | Hours | Configured |\n|---|---:|---:|---|\n");
  for (i = 0; i < rs->n; i++) {
    int64_t s = 0;
    size_t n = 0;
    int seen = 0;

    for (j = 0; j < i && !seen; j++)
      seen = !strcmp(rs->v[j].type, rs->v[i].type);
    if (seen)
      continue;
    for (j = i; j < rs->n; j++)
      if (!strcmp(rs->v[j].type, rs->v[i].type)) {
        s += rs->v[j].sec;
        n++;
      }
    tf_hours(h, s);
    tf_sb_puts(b, "| ");
    tf_sb_cell(b, rs->v[i].type);
    tf_sb_printf(b, " | %zu | %s | %s |\n", n, h,
                 rs->v[i].status == TF_ST_TYPE_MISSING ? "—"
                 : tf_jbool(rs->v[i].ref, "resolved") &&
                         rs->v[i].status != TF_ST_UNKNOWN_TYPE
                     ? "yes"
                     : "no");
  }
  tf_sb_puts(b, "\n");
}

int tf_report_team(const cJSON *agg, const cJSON *enriched, const char *generated_at,
                   char **md) {
  const cJSON *users = cJSON_GetObjectItemCaseSensitive(agg, "users"), *u;
  const cJSON *st = cJSON_GetObjectItemCaseSensitive(agg, "statistics");
  rows rs = {0}, acts = {0};
  const cJSON **people = NULL;
  tf_sb b = {0}, warn = {0};
  size_t n = 0, nerr, i;
  figures f;
  int rc = 0;

  *md = NULL;
  if (!cJSON_IsObject(agg) || !cJSON_IsObject(users))
    return WF_EINVAL;
  cJSON_ArrayForEach(u, users) if (!rc) rc =
      collect(&rs, u, enriched, u->string ? u->string : "?");
  if (rc || (rc = collect_acts(&acts, users)) || (rc = tf_rep_people(agg, &people, &n)))
    goto done;
  tf_rep_header(&b, "Team Activity Report", agg,
                generated_at ? generated_at : tf_jstr(enriched, "enriched_at"));
  figures_of(&f, st, &rs);
  tf_sb_printf(&b,
               "## Team statistics\n\n| Metric | Value |\n|---|---:|\n| Persons | %zu |\n"
               "| Total hours | %s |\n| On Fibery entities | %s (%s) |\n"
               "| Other activities | %s (%s) |\n| Entities worked on | %zu |\n"
               "| Found in Fibery | %zu |\n| Not found in Fibery | %zu |\n"
               "| Unresolved references | %zu |\n| Entries | %lld |\n\n",
               n, f.total, f.matched, f.matched_share, f.other, f.other_share, rs.n, f.ok,
               f.not_found, f.missing, (long long)tf_jint(st, "total_entries"));
  tf_sb_puts(&b, "## People\n\n");
  tf_rep_people_table(&b, people, n, "individual");
  tf_sb_puts(&b, "## Fibery entities by type\n\n");
  if (f.ok)
    entities_by_type(&b, &rs, 1);
  else
    tf_sb_puts(&b, rs.n ? "No referenced entity was found in Fibery.\n\n"
                        : "No time entry referenced a Fibery entity.\n\n");
  tf_sb_puts(&b, "## Top activities\n\n");
  top_activities(&b, &acts);
  tf_sb_puts(&b, "## Not found in Fibery\n\n");
  problem_table(&b, &rs, is_not_found, 1, "None.\n\n");
  tf_sb_puts(&b, "## Unresolved references\n\n");
  problem_table(&b, &rs, is_missing, 1, "None.\n\n");
  tf_sb_puts(&b, "## Coverage\n\n");
  coverage(&b, &rs);
  if (!enriched)
    tf_sb_puts(&warn, missing_note(enriched));
  cJSON_ArrayForEach(u, cJSON_GetObjectItemCaseSensitive(enriched, "warnings"))
      if (cJSON_IsString(u)) tf_sb_printf(&warn, "- %s\n", u->valuestring);
  for (i = 0, nerr = 0; i < rs.n; i++)
    nerr += rs.v[i].status == TF_ST_ERROR;
  if (nerr)
    tf_sb_printf(&warn, "- %zu entit(y/ies) could not be enriched because of errors\n",
                 nerr);
  tf_rep_warnings(&b, agg, warn.p);
done:
  tf_sb_free(&warn);
  free(people);
  free(rs.v);
  free(acts.v);
  if (rc) {
    tf_sb_free(&b);
    return rc;
  }
  return tf_rep_finish(&b, md);
}
