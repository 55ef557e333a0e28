/* tf_aggregate_json.c — toggl-fibery: the aggregation state as toggl_aggregated.json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tf_aggregate.h"
#include "tf_aggregate_int.h"
#include "tf_util.h"

static int cmp_day(const void *a, const void *b) {
  return strcmp(((const tf_agg_day *)a)->date, ((const tf_agg_day *)b)->date);
}

/* {date -> seconds} (flat) or {date -> {total, matched, unmatched}}. */
static cJSON *days_json(tf_agg_days *ds, int flat) {
  cJSON *o = cJSON_CreateObject();
  size_t i;

  if (ds->n > 1)
    qsort(ds->v, ds->n, sizeof *ds->v, cmp_day);
  for (i = 0; o && i < ds->n; i++) {
    cJSON *d = flat ? cJSON_CreateNumber((double)ds->v[i].total) : cJSON_CreateObject();

    if (!flat) {
      cJSON_AddNumberToObject(d, "total_duration_seconds", (double)ds->v[i].total);
      cJSON_AddNumberToObject(d, "matched_duration_seconds", (double)ds->v[i].matched);
      cJSON_AddNumberToObject(d, "unmatched_duration_seconds", (double)ds->v[i].unmatched);
    }
    cJSON_AddItemToObject(o, ds->v[i].date, d);
  }
  return o;
}

static int cmp_item(const void *a, const void *b) {
  const tf_agg_item *x = a, *y = b;

  if (x->sec != y->sec)
    return x->sec > y->sec ? -1 : 1;
  return strcmp(x->key, y->key);
}

/* Finish the items' objects (sorted) into an array; the objects move out. */
static cJSON *items_json(tf_agg_items *it) {
  cJSON *arr = cJSON_CreateArray();
  size_t i;

  if (it->n > 1)
    qsort(it->v, it->n, sizeof *it->v, cmp_item);
  for (i = 0; i < it->n; i++) {
    cJSON *o = it->v[i].obj;

    cJSON_AddNumberToObject(o, "duration_seconds", (double)it->v[i].sec);
    cJSON_AddNumberToObject(o, "entries_count", (double)it->v[i].count);
    cJSON_AddItemToObject(o, "by_day", days_json(&it->v[i].by_day, 1));
    cJSON_AddItemToArray(arr, o);
    it->v[i].obj = NULL;
  }
  return arr;
}

static cJSON *person_json(tf_agg_person *p) {
  cJSON *o = cJSON_CreateObject(), *st;

  cJSON_AddStringToObject(o, "person_key", p->key);
  cJSON_AddItemToObject(o, "user_email", tf_jnull_str(p->email));
  if (p->user_id >= 0)
    cJSON_AddNumberToObject(o, "user_id", (double)p->user_id);
  else
    cJSON_AddNullToObject(o, "user_id");
  cJSON_AddStringToObject(o, "name", p->name ? p->name : p->key);
  cJSON_AddBoolToObject(o, "known_user", p->known);
  cJSON_AddItemToObject(o, "matched_entities", items_json(&p->refs));
  cJSON_AddItemToObject(o, "unmatched_activities", items_json(&p->acts));
  cJSON_AddItemToObject(o, "by_day", days_json(&p->by_day, 0));
  st = cJSON_AddObjectToObject(o, "statistics");
  cJSON_AddNumberToObject(st, "total_duration_seconds", (double)p->total);
  cJSON_AddNumberToObject(st, "matched_duration_seconds", (double)p->matched);
  cJSON_AddNumberToObject(st, "unmatched_duration_seconds", (double)p->unmatched);
  cJSON_AddNumberToObject(st, "unresolved_duration_seconds", (double)p->unresolved);
  cJSON_AddNumberToObject(st, "total_entries", (double)p->n_entries);
  cJSON_AddNumberToObject(st, "matched_entries", (double)p->n_matched);
  cJSON_AddNumberToObject(st, "unmatched_entries", (double)p->n_unmatched);
  cJSON_AddNumberToObject(st, "entities_count", (double)p->refs.n);
  cJSON_AddNumberToObject(st, "activities_count", (double)p->acts.n);
  return o;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_person(const void *a, const void *b) {
  return strcmp(((const tf_agg_person *)a)->key, ((const tf_agg_person *)b)->key);
}

/* Distinct keys among refs (unresolved_only: those with a reason) or activities. */
static int64_t distinct(const tf_agg *g, int acts, int unresolved_only) {
  size_t i, j, n = 0, total = 0;
  const char **v;
  int64_t c = 0;

  for (i = 0; i < g->np; i++)
    total += acts ? g->p[i].acts.n : g->p[i].refs.n;
  if (!(v = malloc((total + 1) * sizeof *v)))
    return -1;
  for (i = 0; i < g->np; i++) {
    const tf_agg_items *it = acts ? &g->p[i].acts : &g->p[i].refs;

    for (j = 0; j < it->n; j++)
      if (!unresolved_only || it->v[j].unresolved)
        v[n++] = it->v[j].key;
  }
  qsort(v, n, sizeof *v, cmp_str);
  for (i = 0; i < n; i++)
    c += i == 0 || strcmp(v[i], v[i - 1]);
  free(v);
  return c;
}

static void add_stats(tf_agg *g, cJSON *out) {
  cJSON *st = cJSON_AddObjectToObject(out, "statistics");
  int64_t tot = 0, mat = 0, unm = 0, unr = 0, uniq = distinct(g, 0, 0);
  size_t i;

  for (i = 0; i < g->np; i++) {
    tot += g->p[i].total;
    mat += g->p[i].matched;
    unm += g->p[i].unmatched;
    unr += g->p[i].unresolved;
  }
  cJSON_AddNumberToObject(st, "total_users", (double)g->np);
  cJSON_AddNumberToObject(st, "total_entries", (double)g->entries);
  cJSON_AddNumberToObject(st, "total_matched_entities", (double)uniq);
  cJSON_AddNumberToObject(st, "total_unmatched_activities", (double)distinct(g, 1, 0));
  cJSON_AddNumberToObject(st, "total_duration_seconds", (double)tot);
  cJSON_AddNumberToObject(st, "matched_duration_seconds", (double)mat);
  cJSON_AddNumberToObject(st, "unmatched_duration_seconds", (double)unm);
  cJSON_AddNumberToObject(st, "unresolved_duration_seconds", (double)unr);
  cJSON_AddNumberToObject(st, "unique_entities", (double)uniq);
  cJSON_AddNumberToObject(st, "unresolved_references", (double)distinct(g, 0, 1));
}

static void add_warnings(tf_agg *g) {
  const cJSON *u;
  char buf[512];

  cJSON_ArrayForEach(u, g->unknown) {
    snprintf(buf, sizeof buf,
             "Toggl user %lld (%s) is not in the workspace user list; reported as %s",
             (long long)tf_jint(u, "user_id"), tf_jstr(u, "username"),
             tf_jstr(u, "person_key"));
    cJSON_AddItemToArray(g->warnings, cJSON_CreateString(buf));
  }
  if (g->running) {
    snprintf(buf, sizeof buf, "%lld running timer(s) skipped", (long long)g->running);
    cJSON_AddItemToArray(g->warnings, cJSON_CreateString(buf));
  }
  if (g->duplicates) {
    snprintf(buf, sizeof buf, "%lld duplicate entr(y/ies) ignored",
             (long long)g->duplicates);
    cJSON_AddItemToArray(g->warnings, cJSON_CreateString(buf));
  }
}

static void copy_field(cJSON *out, const cJSON *raw, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(raw, k);

  cJSON_AddItemToObject(out, k, v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
}

void tf_agg_build(tf_agg *g, const cJSON *raw, const char *at, cJSON *out) {
  cJSON *users, *sk;
  size_t i;

  copy_field(out, raw, "run_id");
  cJSON_AddStringToObject(out, "aggregated_at", at);
  copy_field(out, raw, "start_date");
  copy_field(out, raw, "end_date");
  copy_field(out, raw, "report_timezone");
  if (g->np > 1)
    qsort(g->p, g->np, sizeof *g->p, cmp_person);
  users = cJSON_AddObjectToObject(out, "users");
  for (i = 0; i < g->np; i++)
    cJSON_AddItemToObject(users, g->p[i].key, person_json(&g->p[i]));
  cJSON_AddItemToObject(out, "by_day", days_json(&g->by_day, 0));
  sk = cJSON_AddObjectToObject(out, "skipped");
  cJSON_AddNumberToObject(sk, "running", (double)g->running);
  cJSON_AddNumberToObject(sk, "duplicates", (double)g->duplicates);
  cJSON_AddNumberToObject(sk, "out_of_scope", (double)g->out_of_scope);
  add_warnings(g);
  cJSON_AddItemToObject(out, "unknown_users", g->unknown);
  cJSON_AddItemToObject(out, "warnings", g->warnings);
  g->unknown = g->warnings = NULL;
  add_stats(g, out);
}
