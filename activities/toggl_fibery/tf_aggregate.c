/* tf_aggregate.c — toggl-fibery aggregation per person / reference / day (DOMAIN §4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tf_aggregate.h"
#include "tf_aggregate_int.h"
#include "tf_util.h"
#include "wf/wf.h"

static char *lower_dup(const char *s) {
  char *d = strdup(s), *q;

  for (q = d; q && *q; q++)
    if (*q >= 'A' && *q <= 'Z')
      *q = (char)(*q + 32);
  return d;
}

static int days_add(tf_agg_days *ds, const char *date, int64_t s, int matched) {
  size_t i = ds->n;

  /* Entries arrive mostly in date order: the match is usually the last one. */
  while (i > 0 && strcmp(ds->v[i - 1].date, date))
    i--;
  if (i == 0) {
    if (tf_grow((void **)&ds->v, &ds->cap, ds->n, sizeof *ds->v))
      return WF_ENOMEM;
    i = ++ds->n;
    snprintf(ds->v[i - 1].date, sizeof ds->v[i - 1].date, "%s", date);
  }
  ds->v[i - 1].total += s;
  if (matched)
    ds->v[i - 1].matched += s;
  else
    ds->v[i - 1].unmatched += s;
  return 0;
}

static void person_free(tf_agg_person *p) {
  size_t i;

  for (i = 0; i < p->refs.n; i++) {
    free(p->refs.v[i].key);
    free(p->refs.v[i].by_day.v);
    cJSON_Delete(p->refs.v[i].obj);
  }
  for (i = 0; i < p->acts.n; i++) {
    free(p->acts.v[i].key);
    free(p->acts.v[i].by_day.v);
    cJSON_Delete(p->acts.v[i].obj);
  }
  free(p->refs.v);
  free(p->acts.v);
  free(p->by_day.v);
  free(p->key);
  free(p->email);
  free(p->name);
}

static tf_agg_person *person_get(tf_agg *g, const char *key, int create) {
  tf_agg_person *p;
  size_t i;

  for (i = 0; i < g->np; i++)
    if (!strcmp(g->p[i].key, key))
      return &g->p[i];
  if (!create || tf_grow((void **)&g->p, &g->capp, g->np, sizeof *g->p) ||
      !(g->p[g->np].key = strdup(key))) {
    g->err = create ? WF_ENOMEM : 0;
    return NULL;
  }
  p = &g->p[g->np++];
  p->user_id = -1;
  return p;
}

static const cJSON *user_by(const tf_agg *g, int64_t id, const char *email) {
  const cJSON *u;

  cJSON_ArrayForEach(u, g->users) {
    const char *e = tf_jstr(u, "email");

    if (email ? (e && !strcasecmp(e, email)) : tf_jint(u, "user_id") == id)
      return u;
  }
  return NULL;
}

/* The person an entry belongs to, or NULL (out of scope or out of memory). */
static tf_agg_person *entry_person(tf_agg *g, const cJSON *e) {
  int64_t uid = tf_jint(e, "user_id");
  const cJSON *u = user_by(g, uid, NULL);
  const char *email =
      u ? tf_jstr(u, "email") : (g->users ? NULL : tf_jstr(e, "user_email"));
  const char *name = u ? tf_jstr(u, "name") : NULL;
  char key[64], *k = key;
  tf_agg_person *p;

  if (email && *email)
    k = lower_dup(email);
  else
    snprintf(key, sizeof key, "toggl-user-%lld", (long long)uid);
  if (!k) {
    g->err = WF_ENOMEM;
    return NULL;
  }
  p = person_get(g, k, !g->filtered);
  if (!p) {
    g->out_of_scope += !g->err;
  } else if (!p->known && !p->name) {
    p->known = k != key;
    p->user_id = uid;
    p->email = p->known ? strdup(k) : NULL;
    p->name = strdup(name && *name            ? name
                     : tf_jstr(e, "username") ? tf_jstr(e, "username")
                                              : k);
    if (!p->known) {
      cJSON *w = cJSON_CreateObject();

      cJSON_AddNumberToObject(w, "user_id", (double)uid);
      cJSON_AddStringToObject(w, "username",
                              tf_jstr(e, "username") ? tf_jstr(e, "username") : "");
      cJSON_AddStringToObject(w, "person_key", k);
      cJSON_AddItemToArray(g->unknown, w);
    }
  }
  if (k != key)
    free(k);
  return p;
}

static void add_distinct(cJSON *arr, const char *s) {
  const cJSON *x;

  if (!s || !*s)
    return;
  cJSON_ArrayForEach(x, arr) if (cJSON_IsString(x) && !strcmp(x->valuestring, s)) return;
  cJSON_AddItemToArray(arr, cJSON_CreateString(s));
}

static tf_agg_item *item_get(tf_agg_items *it, const char *key, int *fresh) {
  size_t i;

  for (i = 0; i < it->n; i++)
    if (!strcmp(it->v[i].key, key))
      return &it->v[i];
  if (tf_grow((void **)&it->v, &it->cap, it->n, sizeof *it->v) ||
      !(it->v[it->n].key = strdup(key)))
    return NULL;
  *fresh = 1;
  return &it->v[it->n++];
}

static cJSON *new_ref_obj(const tf_ref *r, const char *key) {
  cJSON *o = cJSON_CreateObject();

  cJSON_AddStringToObject(o, "entity_key", key);
  cJSON_AddStringToObject(o, "entity_id", r->id);
  cJSON_AddItemToObject(o, "entity_database", tf_jnull_str(r->database));
  cJSON_AddItemToObject(o, "entity_type", tf_jnull_str(r->type));
  cJSON_AddItemToObject(o, "fibery_type", tf_jnull_str(r->fibery_type));
  cJSON_AddBoolToObject(o, "resolved", r->resolved);
  cJSON_AddItemToObject(o, "reason", tf_jnull_str(tf_ref_reason(r)));
  cJSON_AddItemToObject(o, "project", cJSON_CreateNull());
  cJSON_AddItemToObject(o, "projects", cJSON_CreateArray());
  cJSON_AddItemToObject(o, "names", cJSON_CreateArray());
  cJSON_AddItemToObject(o, "first_start", cJSON_CreateNull());
  cJSON_AddItemToObject(o, "last_stop", cJSON_CreateNull());
  cJSON_AddItemToObject(o, "entries", cJSON_CreateArray());
  return o;
}

/* Keep the earliest start / latest stop; RFC 3339 in one offset compares as text. */
static void keep_extreme(cJSON *o, const char *field, const char *v, int latest) {
  const char *cur = tf_jstr(o, field);

  if (v && (!cur || (latest ? strcmp(v, cur) > 0 : strcmp(v, cur) < 0)))
    cJSON_ReplaceItemInObjectCaseSensitive(o, field, cJSON_CreateString(v));
}

static void add_to_ref(tf_agg_item *it, const tf_ref *r, const cJSON *e, const char *day,
                       int64_t s) {
  cJSON *o = it->obj, *ent = cJSON_CreateObject();
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
  const char *start = tf_jstr(e, "start"), *stop = tf_jstr(e, "stop");

  if (r->project && cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "project")))
    cJSON_ReplaceItemInObjectCaseSensitive(o, "project", cJSON_CreateString(r->project));
  add_distinct(cJSON_GetObjectItemCaseSensitive(o, "projects"), r->project);
  add_distinct(cJSON_GetObjectItemCaseSensitive(o, "names"), r->clean);
  keep_extreme(o, "first_start", start, 0);
  keep_extreme(o, "last_stop", stop, 1);
  cJSON_AddItemToObject(ent, "id", id ? cJSON_Duplicate(id, 1) : cJSON_CreateNull());
  cJSON_AddStringToObject(ent, "description_clean", r->clean);
  cJSON_AddItemToObject(ent, "start", tf_jnull_str(start));
  cJSON_AddItemToObject(ent, "stop", tf_jnull_str(stop));
  cJSON_AddNumberToObject(ent, "duration", (double)s);
  cJSON_AddStringToObject(ent, "day", day);
  cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(o, "entries"), ent);
}

static void add_entry(tf_agg *g, const cJSON *e) {
  const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "description");
  const cJSON *dur = cJSON_GetObjectItemCaseSensitive(e, "duration");
  const char *start = tf_jstr(e, "start"), *day = tf_jstr(e, "day");
  char dbuf[16], *key = NULL;
  int64_t s;
  tf_agg_person *p;
  tf_agg_item *it;
  tf_ref r;
  int fresh = 0, m;

  if (!cJSON_IsNumber(dur))
    dur = cJSON_GetObjectItemCaseSensitive(e, "seconds");
  s = cJSON_IsNumber(dur) ? (int64_t)dur->valuedouble : -1;
  if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "stop")) || s < 0) {
    g->running++;
    return;
  }
  if (!day || !*day) {
    if (start && strlen(start) >= 10)
      snprintf(dbuf, sizeof dbuf, "%.10s", start);
    else
      snprintf(dbuf, sizeof dbuf, "unknown");
    day = dbuf;
  }
  if (!(p = entry_person(g, e)))
    return;
  if (tf_parse(g->al, cJSON_IsString(d) ? d->valuestring : NULL,
               cJSON_IsString(d) ? strlen(d->valuestring) : 0, &r) ||
      tf_ref_key(&r, &key)) {
    tf_ref_free(&r);
    g->err = WF_ENOMEM;
    return;
  }
  m = r.matched;
  it = m ? item_get(&p->refs, key, &fresh)
         : item_get(&p->acts, *r.clean ? r.clean : TF_NO_DESCRIPTION, &fresh);
  if (!it) {
    g->err = WF_ENOMEM;
  } else {
    if (fresh) {
      it->obj = m ? new_ref_obj(&r, key) : cJSON_CreateObject();
      it->unresolved = tf_ref_reason(&r) != NULL;
      if (!m) {
        cJSON_AddStringToObject(it->obj, "description_clean", it->key);
        cJSON_AddItemToObject(it->obj, "entry_ids", cJSON_CreateArray());
      }
    }
    if (m)
      add_to_ref(it, &r, e, day, s);
    else if (cJSON_GetObjectItemCaseSensitive(e, "id"))
      cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(it->obj, "entry_ids"),
                           cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(e, "id"), 1));
    it->sec += s;
    it->count++;
    p->total += s;
    p->n_entries++;
    g->entries++;
    if (m) {
      p->matched += s;
      p->n_matched++;
      p->unresolved += it->unresolved ? s : 0;
    } else {
      p->unmatched += s;
      p->n_unmatched++;
    }
    if (days_add(&it->by_day, day, s, m) || days_add(&p->by_day, day, s, m) ||
        days_add(&g->by_day, day, s, m))
      g->err = WF_ENOMEM;
  }
  free(key);
  tf_ref_free(&r);
}

typedef struct src {
  const cJSON *e;
  char *id; /* id as text, or NULL */
} src;

static int cmp_src(const void *a, const void *b) {
  const src *x = *(const src *const *)a, *y = *(const src *const *)b;
  int c = strcmp(x->id, y->id);

  return c ? c : (x < y ? -1 : x > y);
}

static int add_sources(src **v, size_t *n, size_t *cap, const cJSON *arr) {
  const cJSON *e;

  cJSON_ArrayForEach(e, arr) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
    char buf[64];

    if (tf_grow((void **)v, cap, *n, sizeof **v))
      return WF_ENOMEM;
    (*v)[*n].e = e;
    (*v)[*n].id = NULL;
    if (cJSON_IsNumber(id))
      snprintf(buf, sizeof buf, "%.0f", id->valuedouble);
    if ((cJSON_IsNumber(id) || cJSON_IsString(id)) &&
        !((*v)[*n].id = strdup(cJSON_IsNumber(id) ? buf : id->valuestring)))
      return WF_ENOMEM;
    (*n)++;
  }
  return 0;
}

/* Mark duplicate ids (all but the first), then add each entry. */
static int run_entries(tf_agg *g, const cJSON *raw) {
  src *v = NULL, **byid = NULL;
  size_t n = 0, cap = 0, i, nid = 0;
  int rc = add_sources(&v, &n, &cap, cJSON_GetObjectItemCaseSensitive(raw, "time_entries"));

  if (!rc && n && !(byid = malloc(n * sizeof *byid)))
    rc = WF_ENOMEM;
  for (i = 0; !rc && i < n; i++)
    if (v[i].id)
      byid[nid++] = &v[i];
  if (!rc && nid > 1)
    qsort(byid, nid, sizeof *byid, cmp_src);
  for (i = 1; !rc && i < nid; i++)
    if (!strcmp(byid[i]->id, byid[i - 1]->id)) {
      byid[i]->e = NULL;
      g->duplicates++;
    }
  for (i = 0; !rc && i < n && !g->err; i++)
    if (v[i].e)
      add_entry(g, v[i].e);
  for (i = 0; i < n; i++)
    free(v[i].id);
  free(v);
  free(byid);
  return rc ? rc : g->err;
}

static int setup_filter(tf_agg *g, const cJSON *raw) {
  const cJSON *f = cJSON_GetObjectItemCaseSensitive(raw, "user_emails_filter"), *e;

  if (!cJSON_IsArray(f))
    return 0;
  cJSON_ArrayForEach(e, f) {
    const cJSON *u;
    tf_agg_person *p;
    char *k;

    if (!cJSON_IsString(e) || !*e->valuestring)
      continue;
    if (!(k = lower_dup(e->valuestring)))
      return WF_ENOMEM;
    p = person_get(g, k, 1);
    free(k);
    if (!p)
      return WF_ENOMEM;
    u = user_by(g, 0, p->key);
    p->known = 1;
    p->email = strdup(p->key);
    p->name = strdup(u && tf_jstr(u, "name") ? tf_jstr(u, "name") : p->key);
    p->user_id = u ? tf_jint(u, "user_id") : -1;
    g->filtered = 1;
  }
  return 0;
}

int tf_aggregate(const cJSON *raw, const tf_aliases *al, const char *aggregated_at,
                 cJSON **out) {
  tf_agg g;
  char now[32];
  size_t i;
  int rc;

  *out = NULL;
  if (!cJSON_IsObject(raw) ||
      !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(raw, "time_entries")))
    return WF_EINVAL;
  memset(&g, 0, sizeof g);
  g.al = al;
  g.unknown = cJSON_CreateArray();
  g.warnings = cJSON_CreateArray();
  if (!aggregated_at) {
    tf_utc_now(now);
    aggregated_at = now;
  }
  if (!g.unknown || !g.warnings)
    rc = WF_ENOMEM;
  else {
    g.users = cJSON_GetObjectItemCaseSensitive(raw, "users");
    if (!cJSON_IsArray(g.users))
      g.users = NULL;
    if (!(rc = setup_filter(&g, raw)) && !(rc = run_entries(&g, raw)) &&
        !(*out = cJSON_CreateObject()))
      rc = WF_ENOMEM;
  }
  if (!rc)
    tf_agg_build(&g, raw, aggregated_at, *out);
  for (i = 0; i < g.np; i++)
    person_free(&g.p[i]);
  free(g.p);
  free(g.by_day.v);
  cJSON_Delete(g.unknown);
  cJSON_Delete(g.warnings);
  return rc;
}
