/* tf_report_fibery.c — toggl-fibery person and team reports joined with Fibery data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tf_report.h"
#include "tf_report_int.h"
#include "wf/wf.h"

#define TOP_ACTIVITIES 20
#define TOP_PEOPLE 3
#define DESC_MAX 300

/* A person's share of a team-wide row. */
typedef struct who {
  const char *name;
  int64_t sec;
} who;

/* One reference as reported: team-wide rows merge the people's references by key. */
typedef struct row {
  const cJSON *ref, *rec;
  const char *key, *type;
  int status;
  int64_t sec, entries;
  who *people;
  size_t npeople, cap_people;
} row;

typedef struct rows {
  row *v;
  size_t n, cap;
} rows;

static void rows_free(rows *rs) {
  for (size_t i = 0; i < rs->n; i++)
    free(rs->v[i].people);
  free(rs->v);
}

static int cmp_row(const void *a, const void *b) {
  const row *x = a, *y = b;

  if (x->sec != y->sec)
    return x->sec > y->sec ? -1 : 1;
  return strcmp(x->key, y->key);
}

/* Credit `sec` of row r to the person named `name` (borrowed). WF_ENOMEM. */
static int add_person(row *r, const char *name, int64_t sec) {
  size_t i;

  for (i = 0; i < r->npeople; i++)
    if (!strcmp(r->people[i].name, name)) {
      r->people[i].sec += sec;
      return 0;
    }
  if (tf_grow((void **)&r->people, &r->cap_people, r->npeople, sizeof *r->people))
    return WF_ENOMEM;
  r->people[r->npeople].name = name;
  r->people[r->npeople++].sec = sec;
  return 0;
}

static int cmp_who(const void *a, const void *b) {
  const who *x = a, *y = b;

  if (x->sec != y->sec)
    return x->sec > y->sec ? -1 : 1;
  return strcmp(x->name, y->name);
}

/* The people of a row as a manager reads them: the few with most time, then "+N". */
static void people_cell(tf_sb *b, row *r) {
  size_t i;

  if (r->npeople > 1)
    qsort(r->people, r->npeople, sizeof *r->people, cmp_who);
  for (i = 0; i < r->npeople && i < TOP_PEOPLE; i++) {
    if (i)
      tf_sb_puts(b, ", ");
    tf_sb_cell(b, r->people[i].name);
  }
  if (r->npeople > TOP_PEOPLE)
    tf_sb_printf(b, " +%zu", r->npeople - TOP_PEOPLE);
  if (!r->npeople)
    tf_sb_puts(b, "—");
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
static int collect(rows *rs, const cJSON *u, const cJSON *enriched, const char *person) {
  const cJSON *ref;

  cJSON_ArrayForEach(ref, cJSON_GetObjectItemCaseSensitive(u, "matched_entities")) {
    const char *key = tf_jstr(ref, "entity_key");
    row *r = NULL;
    size_t i;

    if (!key)
      continue;
    for (i = 0; person && i < rs->n && !r; i++)
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
    if (person && add_person(r, person, tf_jint(ref, "duration_seconds")))
      return WF_ENOMEM;
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

/* The types of the rows passing `pick`, with their count and hours, by hours descending,
 * then name; `first` is the type's largest row (rows are sorted by hours). */
typedef struct type_hours {
  const char *type;
  const row *first;
  size_t n;
  int64_t sec;
} type_hours;

static int cmp_type_hours(const void *a, const void *b) {
  const type_hours *x = a, *y = b;

  if (x->sec != y->sec)
    return x->sec > y->sec ? -1 : 1;
  return strcmp(x->type, y->type);
}

static int types_by_hours(const rows *rs, int (*pick)(int), type_hours **out, size_t *n) {
  size_t cap = 0, i, k;

  *out = NULL;
  *n = 0;
  for (i = 0; i < rs->n; i++) {
    if (!pick(rs->v[i].status))
      continue;
    for (k = 0; k < *n && strcmp((*out)[k].type, rs->v[i].type); k++)
      ;
    if (k == *n) {
      if (tf_grow((void **)out, &cap, *n, sizeof **out))
        return WF_ENOMEM;
      (*out)[k].type = rs->v[i].type;
      (*out)[k].first = &rs->v[i];
      (*n)++;
    }
    (*out)[k].n++;
    (*out)[k].sec += rs->v[i].sec;
  }
  if (*n > 1)
    qsort(*out, *n, sizeof **out, cmp_type_hours);
  return 0;
}

static int any_status(int st) {
  (void)st;
  return 1;
}

/* One table per type of the ok rows, types by hours descending, then name. */
static int entities_by_type(tf_sb *b, rows *rs, int team) {
  type_hours *th;
  size_t nt, t, i;
  char h[32];

  if (types_by_hours(rs, is_ok, &th, &nt))
    return WF_ENOMEM;
  for (t = 0; t < nt; t++) {
    tf_hours(h, th[t].sec);
    tf_sb_printf(b, "### %s (%s h)\n\n", th[t].type, h);
    tf_sb_puts(b,
               team ? "| Entity | Name | State | Hours | People |\n|---|---|---|---:|---|\n"
                    : "| Entity | Name | State | Hours | Entries | Days |\n"
                      "|---|---|---|---:|---:|---:|\n");
    for (i = 0; i < rs->n; i++) {
      row *r = &rs->v[i];

      if (!is_ok(r->status) || strcmp(r->type, th[t].type))
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
        people_cell(b, r);
        tf_sb_puts(b, " |\n");
      } else {
        tf_sb_printf(
            b, " | %s | %lld | %d |\n", h, (long long)r->entries,
            cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r->ref, "by_day")));
      }
    }
    tf_sb_puts(b, "\n");
  }
  free(th);
  return 0;
}

static int is_done_state(const char *s) {
  return s && (!strcasecmp(s, "done") || !strcasecmp(s, "completed") ||
               !strcasecmp(s, "closed"));
}

/* Skip the markers a Markdown line opens with (quotes, list bullets, "1."). */
static const char *prose_start(const char *p, const char *end) {
  for (;;) {
    while (p < end && (*p == ' ' || *p == '\t'))
      p++;
    if (p < end && *p == '>') {
      p++;
      continue;
    }
    if (p + 1 < end && (*p == '-' || *p == '*' || *p == '+') && p[1] == ' ') {
      p += 2;
      continue;
    }
    const char *d = p;
    while (d < end && *d >= '0' && *d <= '9')
      d++;
    if (d > p && d + 1 < end && (*d == '.' || *d == ')') && d[1] == ' ') {
      p = d + 2;
      continue;
    }
    return p;
  }
}

/* The first line of prose of a Markdown text into out (at most DESC_MAX bytes, cut on a
 * character boundary, "…" when cut): headings, rules, tables, images, HTML and fenced
 * code are not prose. "" when there is none. */
static void first_prose(const char *md, char *out, size_t cap) {
  int fenced = 0;

  out[0] = 0;
  for (const char *line = md; line && *line;) {
    const char *eol = line + strcspn(line, "\r\n"), *p = prose_start(line, eol), *q;
    const char *next = *eol ? eol + 1 : NULL;
    size_t n;

    if (p + 3 <= eol && (!strncmp(p, "```", 3) || !strncmp(p, "~~~", 3))) {
      fenced = !fenced;
      line = next;
      continue;
    }
    for (q = p; q < eol && (*q == '-' || *q == '*' || *q == '_' || *q == ' ' || *q == '='); q++)
      ;
    if (fenced || p == eol || q == eol || *p == '#' || *p == '|' || *p == '<' ||
        !strncmp(p, "![", 2)) {
      line = next;
      continue;
    }
    while (eol > p && (eol[-1] == ' ' || eol[-1] == '\t'))
      eol--;
    n = (size_t)(eol - p);
    if (n > DESC_MAX) {
      n = DESC_MAX;
      while (n && ((unsigned char)p[n] & 0xc0) == 0x80)
        n--;
    }
    snprintf(out, cap, "%.*s%s", (int)n, p, n < (size_t)(eol - p) ? "…" : "");
    return;
  }
}

/* Per ok entity: its name, dates, overdue flag (planned end before the period end),
 * parent, and the first line of prose of its description. */
static void entity_details(tf_sb *b, const rows *rs, const char *period_end) {
  size_t i;
  int any = 0;

  for (i = 0; i < rs->n; i++) {
    const row *r = &rs->v[i];
    const char *started = edata(r, "started"), *completed = edata(r, "completed");
    const char *planned = edata(r, "planned_end"), *desc = edata(r, "description_md");
    const char *name = tf_jstr(r->rec, "name"), *sep = " — ";
    const cJSON *parent = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(r->rec, "enriched_data"), "parent");
    int done = (completed && *completed) || is_done_state(tf_jstr(r->rec, "state"));
    char line[DESC_MAX + 8];

    first_prose(desc ? desc : "", line, sizeof line);
    if (!is_ok(r->status) ||
        !(started || completed || planned || line[0] || tf_jstr(parent, "name")))
      continue;
    if (!any++)
      tf_sb_puts(b, "#### Details\n\n");
    tf_sb_puts(b, "- ");
    entity_cell(b, r);
    if (name && *name) {
      tf_sb_puts(b, " ");
      tf_sb_cell(b, name);
    }
    if (started) {
      tf_sb_printf(b, "%sstarted %.10s", sep, started);
      sep = "; ";
    }
    if (completed && *completed) {
      tf_sb_printf(b, "%scompleted %.10s", sep, completed);
      sep = "; ";
    } else if (planned) {
      tf_sb_printf(b, "%sETA %.10s", sep, planned);
      if (!done && period_end && strncmp(planned, period_end, 10) < 0)
        tf_sb_puts(b, " (overdue)");
      sep = "; ";
    }
    if (tf_jstr(parent, "name")) {
      tf_sb_printf(b, "%sparent: ", sep);
      tf_sb_cell(b, tf_jstr(parent, "name"));
      sep = "; ";
    }
    if (line[0]) {
      tf_sb_puts(b, sep);
      tf_sb_cell(b, line);
    }
    tf_sb_puts(b, "\n");
  }
  if (any)
    tf_sb_puts(b, "\n");
}

/* For an untyped reference (#7741): the typed ones with the same public id in the
 * aggregation (Scrum/Task#7741), which it may well be. */
static void same_id_hint(tf_sb *b, const cJSON *agg, const row *r) {
  const char *id = tf_jstr(r->ref, "entity_id"), *seen[3];
  const cJSON *u, *ref;
  size_t n = 0, i;

  if (!id || r->status != TF_ST_TYPE_MISSING)
    return;
  cJSON_ArrayForEach(u, cJSON_GetObjectItemCaseSensitive(agg, "users"))
      cJSON_ArrayForEach(ref, cJSON_GetObjectItemCaseSensitive(u, "matched_entities")) {
    const char *k = tf_jstr(ref, "entity_key"), *rid = tf_jstr(ref, "entity_id");
    int dup = 0;

    if (!k || !rid || strcmp(rid, id) || !strcmp(tf_jstr(ref, "reason") ? tf_jstr(ref, "reason") : "",
                                                  "type_missing"))
      continue;
    for (i = 0; i < n; i++)
      dup |= !strcmp(seen[i], k);
    if (!dup && n < sizeof seen / sizeof seen[0])
      seen[n++] = k;
  }
  for (i = 0; i < n; i++) {
    tf_sb_puts(b, i ? " or " : "; may be the same as ");
    tf_sb_cell(b, seen[i]);
  }
}

/* Reference | Description text | Hours | Reason (| People) for rows passing pick. */
static void problem_table(tf_sb *b, rows *rs, int (*pick)(int), const cJSON *agg, int team,
                          const char *none) {
  size_t i, n = 0;
  char h[32];

  for (i = 0; i < rs->n; i++) {
    row *r = &rs->v[i];

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
    same_id_hint(b, agg, r);
    if (team) {
      tf_sb_puts(b, " | ");
      people_cell(b, r);
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
  tf_sb b = {0}, title = {0};
  figures f;
  char h[32];
  int rc;

  *md = NULL;
  if (!cJSON_IsObject(u))
    return WF_EINVAL;
  if (collect(&rs, u, enriched, NULL)) {
    rows_free(&rs);
    return WF_ENOMEM;
  }
  tf_sb_puts(&title, "Individual Activity Report: ");
  tf_rep_person_title(&title, u);
  tf_rep_header(&b, title.p ? title.p : "Individual Activity Report", agg,
                generated_at ? generated_at : tf_jstr(enriched, "enriched_at"));
  tf_sb_free(&title);
  figures_of(&f, cJSON_GetObjectItemCaseSensitive(u, "statistics"), &rs);
  tf_sb_printf(&b,
               "## Summary\n\n| Metric | Value |\n|---|---:|\n| Total hours | %s |\n"
               "| On Fibery entities | %s (%s) |\n| Other activities | %s (%s) |\n"
               "| Entities worked on | %zu (ok %zu, not found %zu, unresolved %zu) |\n\n",
               f.total, f.matched, f.matched_share, f.other, f.other_share, rs.n, f.ok,
               f.not_found, f.missing);
  tf_sb_puts(&b, "## Work on Fibery entities\n\n");
  if (f.ok) {
    if ((rc = entities_by_type(&b, &rs, 0))) {
      rows_free(&rs);
      tf_sb_free(&b);
      return rc;
    }
    entity_details(&b, &rs, tf_jstr(agg, "end_date"));
  } else {
    tf_sb_puts(&b, "No time on Fibery entities found in Fibery.\n\n");
  }
  tf_sb_puts(&b, "## Not found in Fibery\n\n");
  problem_table(&b, &rs, is_not_found, agg, 0, "None.\n\n");
  tf_sb_puts(&b, "## Unresolved references\n\n");
  problem_table(&b, &rs, is_missing, agg, 0, "None.\n\n");
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
  tf_rep_days_table(&b, cJSON_GetObjectItemCaseSensitive(u, "by_day"), agg);
  if (!tf_jbool(u, "known_user") || !enriched) {
    tf_sb_puts(&b, "## Warnings\n\n");
    if (!tf_jbool(u, "known_user"))
      tf_sb_puts(&b, "- This Toggl user is not in the workspace user list\n");
    if (!enriched)
      tf_sb_puts(&b, missing_note(enriched));
    tf_sb_puts(&b, "\n");
  }
  rows_free(&rs);
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
      if (add_person(r, tf_rep_name(u), tf_jint(a, "duration_seconds")))
        return WF_ENOMEM;
    }
  }
  if (rs->n > 1)
    qsort(rs->v, rs->n, sizeof *rs->v, cmp_row);
  return 0;
}

static void top_activities(tf_sb *b, rows *acts) {
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
    people_cell(b, &acts->v[i]);
    tf_sb_puts(b, " |\n");
  }
  if (acts->n > TOP_ACTIVITIES)
    tf_sb_printf(b, "\n%zu more activit(y/ies) not shown.\n", acts->n - TOP_ACTIVITIES);
  tf_sb_puts(b, "\n");
}

/* Types seen, by hours descending; configured = resolved (as its largest reference), and
 * whether Fibery knew it. */
static int coverage(tf_sb *b, const rows *rs) {
  type_hours *th;
  size_t nt, t;
  char h[32];

  if (!rs->n) {
    tf_sb_puts(b, "No references.\n\n");
    return 0;
  }
  if (types_by_hours(rs, any_status, &th, &nt))
    return WF_ENOMEM;
  tf_sb_puts(b, "| Type | References | Hours | Configured |\n|---|---:|---:|---|\n");
  for (t = 0; t < nt; t++) {
    const row *r = th[t].first;

    tf_hours(h, th[t].sec);
    tf_sb_puts(b, "| ");
    tf_sb_cell(b, th[t].type);
    tf_sb_printf(b, " | %zu | %s | %s |\n", th[t].n, h,
                 r->status == TF_ST_TYPE_MISSING       ? "—"
                 : !tf_jbool(r->ref, "resolved")       ? "no"
                 : r->status == TF_ST_UNKNOWN_TYPE     ? "yes, unknown to Fibery"
                                                       : "yes");
  }
  tf_sb_puts(b, "\n");
  free(th);
  return 0;
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
  cJSON_ArrayForEach(u, users) if (!rc) rc = collect(&rs, u, enriched, tf_rep_name(u));
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
    rc = entities_by_type(&b, &rs, 1);
  else
    tf_sb_puts(&b, rs.n ? "No referenced entity was found in Fibery.\n\n"
                        : "No time entry referenced a Fibery entity.\n\n");
  tf_sb_puts(&b, "## Top activities\n\n");
  top_activities(&b, &acts);
  tf_sb_puts(&b, "## Not found in Fibery\n\n");
  problem_table(&b, &rs, is_not_found, agg, 1, "None.\n\n");
  tf_sb_puts(&b, "## Unresolved references\n\n");
  problem_table(&b, &rs, is_missing, agg, 1, "None.\n\n");
  tf_sb_puts(&b, "## Coverage\n\n");
  if (!rc)
    rc = coverage(&b, &rs);
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
  rows_free(&rs);
  rows_free(&acts);
  if (rc) {
    tf_sb_free(&b);
    return rc;
  }
  return tf_rep_finish(&b, md);
}
