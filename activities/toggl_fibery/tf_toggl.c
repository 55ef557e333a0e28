/* tf_toggl.c — Toggl request bodies, paging headers and response readers, without I/O;
 * the activities that drive them over HTTP are in tf_toggl_run.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tf_toggl.h"
#include "wf/wf.h"

/* ---- requests ---------------------------------------------------------------------- */

int tf_toggl_valid_date(const char *s) {
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int y, m, d, i;

  if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
    return 0;
  for (i = 0; i < 10; i++)
    if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
      return 0;
  y = atoi(s);
  m = atoi(s + 5);
  d = atoi(s + 8);
  if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
    return 0;
  return !(m == 2 && d == 29 && (y % 4 || (y % 100 == 0 && y % 400)));
}

/* Built by hand rather than printed from a tree: the byte layout is part of the
 * contract (a retried page must be byte-identical) and must not depend on a library. */
int tf_toggl_search_body(const tf_toggl_query *q, const tf_toggl_cursor *cur, char **body,
                         size_t *len) {
  size_t cap = 256 + q->nuser_ids * 21, n;
  char *b;
  size_t i;

  *body = NULL;
  *len = 0;
  if (!tf_toggl_valid_date(q->date) || !q->page_size)
    return WF_EINVAL;
  if (!(b = malloc(cap)))
    return WF_ENOMEM;
  n = (size_t)snprintf(b, cap, "{\"start_date\":\"%s\",\"end_date\":\"%s\"", q->date, q->date);
  if (q->nuser_ids) {
    n += (size_t)snprintf(b + n, cap - n, ",\"user_ids\":[");
    for (i = 0; i < q->nuser_ids; i++)
      n += (size_t)snprintf(b + n, cap - n, "%s%lld", i ? "," : "", (long long)q->user_ids[i]);
    n += (size_t)snprintf(b + n, cap - n, "]");
  }
  n += (size_t)snprintf(b + n, cap - n, ",\"page_size\":%u", (unsigned)q->page_size);
  if (cur && cur->has_row) {
    if (cur->has_id)
      n += (size_t)snprintf(b + n, cap - n, ",\"first_id\":%lld", (long long)cur->first_id);
    n += (size_t)snprintf(b + n, cap - n, ",\"first_row_number\":%lld",
                          (long long)cur->first_row_number);
    if (cur->has_ts)
      n += (size_t)snprintf(b + n, cap - n, ",\"first_timestamp\":%lld",
                            (long long)cur->first_timestamp);
  }
  n += (size_t)snprintf(b + n, cap - n, "}");
  *body = b;
  *len = n;
  return 0;
}

static int parse_header_int(const char *s, int64_t *v) {
  size_t i = 0;
  uint64_t x = 0;

  while (s[i] == ' ' || s[i] == '\t')
    i++;
  if (s[i] < '0' || s[i] > '9')
    return WF_EINVAL;
  for (; s[i] >= '0' && s[i] <= '9'; i++) {
    if (x > (UINT64_C(9223372036854775807) - (uint64_t)(s[i] - '0')) / 10)
      return WF_EINVAL;
    x = x * 10 + (uint64_t)(s[i] - '0');
  }
  while (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')
    i++;
  if (s[i])
    return WF_EINVAL;
  *v = (int64_t)x;
  return 0;
}

int tf_toggl_next_cursor(const char *next_id, const char *next_row, const char *next_ts,
                         tf_toggl_cursor *cur, const char **bad) {
  tf_toggl_cursor c;

  memset(&c, 0, sizeof c);
  *bad = NULL;
  if (next_id && parse_header_int(next_id, &c.first_id)) {
    *bad = "X-Next-ID";
    return WF_EINVAL;
  }
  if (next_row && parse_header_int(next_row, &c.first_row_number)) {
    *bad = "X-Next-Row-Number";
    return WF_EINVAL;
  }
  if (next_ts && parse_header_int(next_ts, &c.first_timestamp)) {
    *bad = "X-Next-Timestamp";
    return WF_EINVAL;
  }
  if (!next_row)
    return 0;
  c.has_id = !!next_id;
  c.has_row = 1;
  c.has_ts = !!next_ts;
  *cur = c;
  return 1;
}

/* ---- users --------------------------------------------------------------------------- */

/* Exact integers only: an id that is not one is not an id. */
static int json_int(const cJSON *v, int64_t *out) {
  if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
      fabs(v->valuedouble) > 9007199254740992.0)
    return 0;
  *out = (int64_t)v->valuedouble;
  return 1;
}

static void lower_ascii(char *s) {
  for (; *s; s++)
    if (*s >= 'A' && *s <= 'Z')
      *s = (char)(*s + 32);
}

const char *tf_toggl_user_email(const cJSON *v) {
  const cJSON *e = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, "email") : v;

  return cJSON_IsString(e) ? e->valuestring : NULL;
}

const char *tf_toggl_user_name(const cJSON *v) {
  const cJSON *n = cJSON_GetObjectItemCaseSensitive(v, "name");

  return cJSON_IsObject(v) && cJSON_IsString(n) && n->valuestring[0] ? n->valuestring : NULL;
}

int tf_toggl_users_parse(const char *buf, size_t len, cJSON **map) {
  cJSON *j = cJSON_ParseWithLength(buf, len), *row, *m;
  char key[24];
  int64_t id;

  *map = NULL;
  if (!cJSON_IsArray(j)) {
    cJSON_Delete(j);
    return WF_EINVAL;
  }
  if (!(m = cJSON_CreateObject())) {
    cJSON_Delete(j);
    return WF_ENOMEM;
  }
  cJSON_ArrayForEach(row, j) {
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(row, "email");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(row, "fullname");
    cJSON *u, *s;
    if (!json_int(cJSON_GetObjectItemCaseSensitive(row, "id"), &id) || !cJSON_IsString(e) ||
        !e->valuestring[0])
      continue;
    snprintf(key, sizeof key, "%lld", (long long)id);
    if (cJSON_GetObjectItemCaseSensitive(m, key))
      continue;
    if (!(u = cJSON_CreateObject()) || !(s = cJSON_AddStringToObject(u, "email", e->valuestring)) ||
        !(cJSON_IsString(name) && name->valuestring[0]
              ? cJSON_AddStringToObject(u, "name", name->valuestring)
              : cJSON_AddNullToObject(u, "name"))) {
      cJSON_Delete(u);
      cJSON_Delete(j);
      cJSON_Delete(m);
      return WF_ENOMEM;
    }
    lower_ascii(s->valuestring);
    cJSON_AddItemToObject(m, key, u);
  }
  cJSON_Delete(j);
  *map = m;
  return 0;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* One wanted e-mail: trimmed, lower-cased, looked up; unknown ones appended. */
static int match_one(const char *s, size_t n, const cJSON *map, int64_t *ids, size_t *nids,
                     char **unknown, size_t *ulen) {
  char mail[320];
  const cJSON *it;

  while (n && (*s == ' ' || *s == '\t'))
    s++, n--;
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    n--;
  if (!n)
    return 0;
  if (n >= sizeof mail)
    n = sizeof mail - 1;
  memcpy(mail, s, n);
  mail[n] = 0;
  lower_ascii(mail);
  cJSON_ArrayForEach(it, map) {
    int64_t id;
    char *end;
    const char *e = tf_toggl_user_email(it);
    if (it->string && e && !strcmp(e, mail)) {
      id = strtoll(it->string, &end, 10);
      if (!*end && *nids < TF_TOGGL_MAX_USERS)
        ids[(*nids)++] = id;
      return 0;
    }
  }
  {
    char *u = realloc(*unknown, *ulen + n + 3);
    if (!u)
      return WF_ENOMEM;
    *ulen += (size_t)sprintf(u + *ulen, "%s%s", *ulen ? ", " : "", mail);
    *unknown = u;
  }
  return 0;
}

int tf_toggl_match_users(const cJSON *emails, const cJSON *map, int64_t **ids, size_t *nids,
                         char **unknown) {
  int64_t *v;
  size_t n = 0, ulen = 0, i, k;
  const cJSON *it;
  int rc = 0;

  if (!cJSON_IsObject(map))
    return WF_EINVAL;

  *ids = NULL;
  *nids = 0;
  *unknown = NULL;
  if ((!cJSON_IsArray(emails) && !cJSON_IsString(emails)) || (map && !cJSON_IsObject(map)))
    return WF_EINVAL;
  if (cJSON_IsArray(emails) && cJSON_GetArraySize(emails) > TF_TOGGL_MAX_USERS)
    return WF_EINVAL;
  if (!(v = malloc(sizeof *v * TF_TOGGL_MAX_USERS)))
    return WF_ENOMEM;
  if (cJSON_IsString(emails)) {
    const char *s = emails->valuestring, *c;
    size_t parts = 0;
    for (; !rc; s = c + 1) {
      c = strchr(s, ',');
      if (++parts > TF_TOGGL_MAX_USERS)
        rc = WF_EINVAL;
      else
        rc = match_one(s, c ? (size_t)(c - s) : strlen(s), map, v, &n, unknown, &ulen);
      if (!c)
        break;
    }
  } else {
    cJSON_ArrayForEach(it, emails) {
      if (!cJSON_IsString(it)) {
        rc = WF_EINVAL;
        break;
      }
      if ((rc = match_one(it->valuestring, strlen(it->valuestring), map, v, &n, unknown,
                          &ulen)))
        break;
    }
  }
  if (rc) {
    free(v);
    free(*unknown);
    *unknown = NULL;
    return rc;
  }
  qsort(v, n, sizeof *v, cmp_i64);
  for (i = k = 0; i < n; i++)
    if (!k || v[k - 1] != v[i])
      v[k++] = v[i];
  *ids = v;
  *nids = k;
  return 0;
}

/* ---- a day's entries -------------------------------------------------------------------- */

int tf_toggl_day_init(tf_toggl_day *d, const char *date, const cJSON *user_map) {
  memset(d, 0, sizeof *d);
  snprintf(d->date, sizeof d->date, "%s", date);
  d->user_map = user_map;
  d->seen_cap = 256;
  if (!(d->seen = calloc(d->seen_cap, sizeof *d->seen)) ||
      !(d->entries = cJSON_CreateArray())) {
    tf_toggl_day_clear(d);
    return WF_ENOMEM;
  }
  return 0;
}

void tf_toggl_day_clear(tf_toggl_day *d) {
  if (!d)
    return;
  free(d->seen);
  cJSON_Delete(d->entries);
  d->seen = NULL;
  d->entries = NULL;
}

static size_t hash_i64(int64_t v, size_t cap) {
  uint64_t x = (uint64_t)v * UINT64_C(0x9E3779B97F4A7C15);
  return (size_t)(x >> 17) & (cap - 1);
}

/* 1 if id was already seen, 0 after adding it, WF_ENOMEM. */
static int seen_add(tf_toggl_day *d, int64_t id) {
  size_t i;

  if (!id) {
    if (d->seen_zero)
      return 1;
    d->seen_zero = 1;
    return 0;
  }
  if ((d->seen_n + 1) * 2 > d->seen_cap) {
    size_t cap = d->seen_cap * 2, k;
    int64_t *s = calloc(cap, sizeof *s);
    if (!s)
      return WF_ENOMEM;
    for (k = 0; k < d->seen_cap; k++)
      if (d->seen[k]) {
        for (i = hash_i64(d->seen[k], cap); s[i]; i = (i + 1) & (cap - 1))
          ;
        s[i] = d->seen[k];
      }
    free(d->seen);
    d->seen = s;
    d->seen_cap = cap;
  }
  for (i = hash_i64(id, d->seen_cap); d->seen[i]; i = (i + 1) & (d->seen_cap - 1))
    if (d->seen[i] == id)
      return 1;
  d->seen[i] = id;
  d->seen_n++;
  return 0;
}

/* The report timezone is the offset Toggl rendered the first start in. */
static void note_tz(tf_toggl_day *d, const char *start) {
  size_t n = strlen(start);
  const char *p;

  if (d->tz[0] || n < 20)
    return;
  if (start[n - 1] == 'Z') {
    snprintf(d->tz, sizeof d->tz, "Z");
    return;
  }
  p = start + n - 6;
  if ((p[0] == '+' || p[0] == '-') && p[3] == ':')
    snprintf(d->tz, sizeof d->tz, "%.6s", p);
}

static cJSON *copy_or_null(const cJSON *v) {
  return v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
}

static int add_entry(tf_toggl_day *d, const cJSON *row, const cJSON *te) {
  const cJSON *start = cJSON_GetObjectItemCaseSensitive(te, "start");
  const cJSON *stop = cJSON_GetObjectItemCaseSensitive(te, "stop");
  const char *email = NULL;
  int64_t id, uid = 0, secs;
  char key[24];
  cJSON *e;
  int rc;

  if (!json_int(cJSON_GetObjectItemCaseSensitive(te, "id"), &id) || !cJSON_IsString(start))
    return 0;
  if (!json_int(cJSON_GetObjectItemCaseSensitive(te, "seconds"), &secs))
    secs = -1;
  if ((rc = seen_add(d, id)))
    return rc < 0 ? rc : (d->duplicates++, 0);
  if (secs < 0 || !cJSON_IsString(stop)) {
    d->running++;
    return 0;
  }
  if (json_int(cJSON_GetObjectItemCaseSensitive(row, "user_id"), &uid)) {
    snprintf(key, sizeof key, "%lld", (long long)uid);
    email = tf_toggl_user_email(cJSON_GetObjectItemCaseSensitive(d->user_map, key));
  }
  note_tz(d, start->valuestring);
  if (!(e = cJSON_CreateObject()))
    return WF_ENOMEM;
  cJSON_AddNumberToObject(e, "id", (double)id);
  if (d->workspace_id)
    cJSON_AddNumberToObject(e, "workspace_id", (double)d->workspace_id);
  else
    cJSON_AddNullToObject(e, "workspace_id");
  cJSON_AddItemToObject(e, "user_id", copy_or_null(cJSON_GetObjectItemCaseSensitive(row, "user_id")));
  cJSON_AddItemToObject(e, "username", copy_or_null(cJSON_GetObjectItemCaseSensitive(row, "username")));
  cJSON_AddItemToObject(e, "user_email", email ? cJSON_CreateString(email) : cJSON_CreateNull());
  cJSON_AddItemToObject(e, "description", copy_or_null(cJSON_GetObjectItemCaseSensitive(row, "description")));
  cJSON_AddStringToObject(e, "start", start->valuestring);
  cJSON_AddStringToObject(e, "stop", stop->valuestring);
  cJSON_AddNumberToObject(e, "duration", (double)secs);
  cJSON_AddItemToObject(e, "tag_ids", copy_or_null(cJSON_GetObjectItemCaseSensitive(row, "tag_ids")));
  cJSON_AddItemToObject(e, "project_id", copy_or_null(cJSON_GetObjectItemCaseSensitive(row, "project_id")));
  cJSON_AddItemToObject(e, "task_id", copy_or_null(cJSON_GetObjectItemCaseSensitive(row, "task_id")));
  cJSON_AddItemToObject(e, "billable", copy_or_null(cJSON_GetObjectItemCaseSensitive(row, "billable")));
  cJSON_AddStringToObject(e, "day", d->date);
  cJSON_AddItemToArray(d->entries, e);
  return 0;
}

int tf_toggl_day_add_page(tf_toggl_day *d, const char *buf, size_t len, size_t *nrows,
                          char *err, size_t errcap) {
  cJSON *j = cJSON_ParseWithLength(buf, len), *rows = j, *row, *te;
  int rc = 0;

  *nrows = 0;
  if (cJSON_IsObject(j))
    rows = cJSON_GetObjectItemCaseSensitive(j, "data");
  if (!cJSON_IsArray(rows)) {
    snprintf(err, errcap, "the response is not a JSON array of rows (%zu bytes)", len);
    cJSON_Delete(j);
    return WF_EINVAL;
  }
  cJSON_ArrayForEach(row, rows) {
    (*nrows)++;
    if (!cJSON_IsObject(row))
      continue;
    cJSON_ArrayForEach(te, cJSON_GetObjectItemCaseSensitive(row, "time_entries")) {
      if ((rc = add_entry(d, row, te)))
        break;
    }
    if (rc)
      break;
  }
  cJSON_Delete(j);
  if (rc)
    snprintf(err, errcap, "out of memory");
  return rc;
}

cJSON *tf_toggl_day_output(tf_toggl_day *d, uint32_t requests, uint32_t retried,
                           uint32_t pages) {
  cJSON *o = cJSON_CreateObject(), *sk;

  if (!o)
    return NULL;
  cJSON_AddStringToObject(o, "date", d->date);
  if (d->tz[0])
    cJSON_AddStringToObject(o, "report_timezone", d->tz);
  else
    cJSON_AddNullToObject(o, "report_timezone");
  cJSON_AddNumberToObject(o, "requests", requests);
  cJSON_AddNumberToObject(o, "retried", retried);
  cJSON_AddNumberToObject(o, "pages", pages);
  cJSON_AddItemToObject(o, "entries", d->entries);
  d->entries = NULL;
  sk = cJSON_AddObjectToObject(o, "skipped");
  cJSON_AddNumberToObject(sk, "running", (double)d->running);
  cJSON_AddNumberToObject(sk, "duplicates", (double)d->duplicates);
  return o;
}
