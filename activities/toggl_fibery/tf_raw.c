/* tf_raw.c — toggl-fibery: raw_toggl_data.json assembled from the per-day fetch outputs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tf_aggregate.h"
#include "tf_toggl.h"
#include "tf_util.h"
#include "wf/wf.h"

static int cmp_day(const void *a, const void *b) {
  const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

  return strcmp(x->string ? x->string : "", y->string ? y->string : "");
}

static int cmp_user(const void *a, const void *b) {
  int64_t x = tf_jint(*(const cJSON *const *)a, "user_id");
  int64_t y = tf_jint(*(const cJSON *const *)b, "user_id");

  return x < y ? -1 : x > y;
}

/* First "username" seen for user id uid among the entries, or NULL. */
static const char *username_of(const cJSON *entries, int64_t uid) {
  const cJSON *e;

  cJSON_ArrayForEach(e, entries) if (tf_jint(e, "user_id") == uid &&
                                     tf_jstr(e, "username")) return tf_jstr(e, "username");
  return NULL;
}

static cJSON *users_list(const cJSON *user_map, const cJSON *entries) {
  cJSON *arr = cJSON_CreateArray(), **v;
  const cJSON *u;
  int n = cJSON_GetArraySize(user_map), i = 0;

  if (!arr || n == 0 || !(v = malloc((size_t)n * sizeof *v)))
    return arr;
  cJSON_ArrayForEach(u, user_map) {
    char *end;
    long long id = u->string ? strtoll(u->string, &end, 10) : 0;
    cJSON *o;

    const char *email = tf_toggl_user_email(u), *name = tf_toggl_user_name(u);

    if (!u->string || *end || !email || !(o = cJSON_CreateObject()))
      continue;
    cJSON_AddNumberToObject(o, "user_id", (double)id);
    cJSON_AddStringToObject(o, "email", email);
    cJSON_AddItemToObject(o, "name", tf_jnull_str(name ? name : username_of(entries, id)));
    v[i++] = o;
  }
  qsort(v, (size_t)i, sizeof *v, cmp_user);
  for (n = 0; n < i; n++)
    cJSON_AddItemToArray(arr, v[n]);
  free(v);
  return arr;
}

int tf_raw_assemble(const cJSON *days, const cJSON *user_map, const char *run_id,
                    const char *start_date, const char *end_date, const cJSON *users_filter,
                    const char *fetched_at, cJSON **out) {
  int n = cJSON_GetArraySize(days), i;
  int64_t running = 0, dups = 0, secs = 0, count = 0;
  const char *tz = NULL;
  const cJSON **v, *d, *e;
  cJSON *entries, *dlist, *o, *st;

  *out = NULL;
  if (!cJSON_IsObject(days))
    return WF_EINVAL;
  if (!(v = malloc(((size_t)n + 1) * sizeof *v)) || !(o = cJSON_CreateObject())) {
    free(v);
    return WF_ENOMEM;
  }
  i = 0;
  cJSON_ArrayForEach(d, days) v[i++] = d;
  qsort(v, (size_t)n, sizeof *v, cmp_day);
  entries = cJSON_CreateArray();
  dlist = cJSON_CreateArray();
  for (i = 0; i < n; i++) {
    const cJSON *skipped = cJSON_GetObjectItemCaseSensitive(v[i], "skipped");
    const char *date = tf_jstr(v[i], "date") ? tf_jstr(v[i], "date") : v[i]->string;
    cJSON *dd = cJSON_CreateObject();
    int64_t ne = 0;

    if (!tz)
      tz = tf_jstr(v[i], "report_timezone");
    running += tf_jint(skipped, "running");
    dups += tf_jint(skipped, "duplicates");
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(v[i], "entries")) {
      cJSON *c = cJSON_Duplicate(e, 1);

      if (c && !tf_jstr(c, "day") && date)
        cJSON_AddStringToObject(c, "day", date);
      secs += tf_jint(e, "duration");
      ne++;
      cJSON_AddItemToArray(entries, c);
    }
    count += ne;
    cJSON_AddItemToObject(dd, "date", tf_jnull_str(date));
    cJSON_AddNumberToObject(dd, "requests", (double)tf_jint(v[i], "requests"));
    cJSON_AddNumberToObject(dd, "retried", (double)tf_jint(v[i], "retried"));
    cJSON_AddNumberToObject(dd, "pages", (double)tf_jint(v[i], "pages"));
    cJSON_AddNumberToObject(dd, "entries", (double)ne);
    cJSON_AddItemToArray(dlist, dd);
  }
  free(v);
  cJSON_AddItemToObject(o, "run_id", tf_jnull_str(run_id));
  cJSON_AddItemToObject(o, "start_date", tf_jnull_str(start_date));
  cJSON_AddItemToObject(o, "end_date", tf_jnull_str(end_date));
  cJSON_AddItemToObject(o, "user_emails_filter",
                        cJSON_IsArray(users_filter) ? cJSON_Duplicate(users_filter, 1)
                                                    : cJSON_CreateNull());
  cJSON_AddItemToObject(o, "fetched_at", tf_jnull_str(fetched_at));
  cJSON_AddItemToObject(o, "report_timezone", tf_jnull_str(tz));
  /* null, not [], without a map: aggregation then trusts the entries' user_email */
  cJSON_AddItemToObject(o, "users",
                        cJSON_IsObject(user_map) ? users_list(user_map, entries)
                                                 : cJSON_CreateNull());
  cJSON_AddItemToObject(o, "days", dlist);
  st = cJSON_AddObjectToObject(o, "skipped");
  cJSON_AddNumberToObject(st, "running", (double)running);
  cJSON_AddNumberToObject(st, "duplicates", (double)dups);
  cJSON_AddItemToObject(o, "time_entries", entries);
  st = cJSON_AddObjectToObject(o, "statistics");
  cJSON_AddNumberToObject(st, "total_entries", (double)count);
  cJSON_AddNumberToObject(st, "total_duration_seconds", (double)secs);
  *out = o;
  return 0;
}
