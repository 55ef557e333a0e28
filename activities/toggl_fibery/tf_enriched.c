/* tf_enriched.c — toggl-fibery: enriched_data.json assembled from the fibery.enrich batch
 * outputs and the extract file (DOMAIN §6.4, §7).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tf_report.h"
#include "tf_util.h"
#include "wf/wf.h"

static void count(cJSON *stats, const char *status) {
  cJSON *c = cJSON_GetObjectItemCaseSensitive(stats, status ? status : "error");

  if (!c)
    c = cJSON_GetObjectItemCaseSensitive(stats, "error");
  if (c)
    cJSON_SetNumberValue(c, c->valuedouble + 1);
}

/* {"entity_key", "name"} from a relation value such as {"fibery/public-id": "100",
 * "Scrum/name": "Staging"}; NULL when it does not look like one. */
static cJSON *parent_of(const cJSON *fields, const char *type) {
  static const char *const keys[] = {"parent", "feature"};
  const char *slash = strchr(type, '/');
  size_t i;

  for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(fields, keys[i]), *f;
    const char *id = tf_jstr(v, "fibery/public-id"), *name = NULL;
    char key[256];
    cJSON *p;

    if (!cJSON_IsObject(v))
      continue;
    cJSON_ArrayForEach(f, v) {
      size_t l = f->string ? strlen(f->string) : 0;

      if (cJSON_IsString(f) && l >= 4 && !strcasecmp(f->string + l - 4, "name"))
        name = f->valuestring;
    }
    if (!name && !id)
      continue;
    if (!(p = cJSON_CreateObject()))
      return NULL;
    /* The relation's own type is not in the value; the feature lives in the same space. */
    if (id && slash && !strcmp(keys[i], "feature")) {
      snprintf(key, sizeof key, "%.*s/Feature#%s", (int)(slash - type), type, id);
      cJSON_AddStringToObject(p, "entity_key", key);
    } else {
      cJSON_AddItemToObject(p, "entity_key", cJSON_CreateNull());
    }
    cJSON_AddItemToObject(p, "name", tf_jnull_str(name));
    return p;
  }
  return NULL;
}

static cJSON *record(const char *key, const cJSON *r, const char *at) {
  const char *hash = strrchr(key, '#'), *slash = strchr(key, '/');
  const cJSON *fields = cJSON_GetObjectItemCaseSensitive(r, "fields"), *f;
  cJSON *o = cJSON_CreateObject(), *ed, *p;
  char type[256], db[256];

  snprintf(type, sizeof type, "%.*s", hash ? (int)(hash - key) : 0, key);
  snprintf(db, sizeof db, "%.*s", slash && slash < hash ? (int)(slash - key) : 0, key);
  cJSON_AddStringToObject(o, "entity_key", key);
  cJSON_AddItemToObject(o, "entity_id", tf_jnull_str(hash ? hash + 1 : NULL));
  cJSON_AddStringToObject(o, "entity_type", type);
  cJSON_AddStringToObject(o, "database", db);
  cJSON_AddItemToObject(o, "public_id", tf_jnull_str(hash ? hash + 1 : NULL));
  cJSON_AddStringToObject(o, "status",
                          tf_jstr(r, "status") ? tf_jstr(r, "status") : "error");
  cJSON_AddItemToObject(o, "error", tf_jnull_str(tf_jstr(r, "error")));
  cJSON_AddItemToObject(o, "fibery_id", tf_jnull_str(tf_jstr(r, "fibery_id")));
  cJSON_AddItemToObject(o, "name", tf_jnull_str(tf_jstr(r, "name")));
  cJSON_AddItemToObject(o, "state", tf_jnull_str(tf_jstr(r, "state")));
  cJSON_AddItemToObject(o, "url", tf_jnull_str(tf_jstr(r, "url")));
  ed = cJSON_AddObjectToObject(o, "enriched_data");
  cJSON_ArrayForEach(f, fields) cJSON_AddItemToObject(ed, f->string, cJSON_Duplicate(f, 1));
  if (tf_jstr(r, "description_md") &&
      !cJSON_GetObjectItemCaseSensitive(ed, "description_md"))
    cJSON_AddStringToObject(ed, "description_md", tf_jstr(r, "description_md"));
  if (!cJSON_GetObjectItemCaseSensitive(ed, "parent") && (p = parent_of(fields, type)))
    cJSON_AddItemToObject(ed, "parent", p);
  cJSON_AddItemToObject(o, "enriched_at", tf_jnull_str(at));
  return o;
}

static int cmp_rec(const void *a, const void *b) {
  return strcmp(tf_jstr(*(const cJSON *const *)a, "entity_key"),
                tf_jstr(*(const cJSON *const *)b, "entity_key"));
}

/* Append the strings of `from` to `to` that it does not hold yet. */
static void add_warnings(cJSON *to, const cJSON *from) {
  const cJSON *w, *x;

  cJSON_ArrayForEach(w, from) {
    int seen = 0;
    if (!cJSON_IsString(w))
      continue;
    cJSON_ArrayForEach(x, to) seen |= !strcmp(x->valuestring, w->valuestring);
    if (!seen)
      cJSON_AddItemToArray(to, cJSON_CreateString(w->valuestring));
  }
}

int tf_enriched_assemble(const cJSON *batches, const cJSON *extract, const cJSON *schema,
                         const char *run_id, const char *enriched_at, cJSON **out) {
  static const char *const names[] = {"requested",      "ok",           "not_found",
                                      "unknown_type",   "type_missing", "error",
                                      "fibery_requests", "fibery_retried"};
  const cJSON *b, *r;
  cJSON *o, *arr, *st, *warnings, **v = NULL;
  size_t n = 0, cap = 0, i;
  int64_t requests = tf_jint(schema, "requests"), retried = tf_jint(schema, "retried");

  *out = NULL;
  if (!(o = cJSON_CreateObject()))
    return WF_ENOMEM;
  cJSON_AddItemToObject(o, "run_id", tf_jnull_str(run_id));
  cJSON_AddItemToObject(o, "enriched_at", tf_jnull_str(enriched_at));
  arr = cJSON_AddArrayToObject(o, "enriched_entities");
  warnings = cJSON_CreateArray();
  st = cJSON_CreateObject();
  for (i = 0; st && i < sizeof names / sizeof names[0]; i++)
    cJSON_AddNumberToObject(st, names[i], 0);
  cJSON_ArrayForEach(b, batches) {
    requests += tf_jint(b, "requests");
    retried += tf_jint(b, "retried");
    add_warnings(warnings, cJSON_GetObjectItemCaseSensitive(b, "warnings"));
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(b, "entities")) {
      if (!r->string)
        continue;
      if (tf_grow((void **)&v, &cap, n, sizeof *v)) {
        free(v);
        cJSON_Delete(st);
        cJSON_Delete(warnings);
        cJSON_Delete(o);
        return WF_ENOMEM;
      }
      v[n++] = record(r->string, r, enriched_at);
      count(st, "requested");
      count(st, tf_jstr(r, "status"));
    }
  }
  /* Batches finish in any order; the file must not depend on it. */
  if (n > 1)
    qsort(v, n, sizeof *v, cmp_rec);
  for (i = 0; i < n; i++)
    cJSON_AddItemToArray(arr, v[i]);
  free(v);
  for (i = 0; i < 2; i++) {
    const char *k = i ? "type_missing" : "unknown_type";
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(extract, k), *x;

    cJSON_AddItemToObject(o, k, l ? cJSON_Duplicate(l, 1) : cJSON_CreateArray());
    cJSON_ArrayForEach(x, l) count(st, k);
  }
  cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(st, "fibery_requests"),
                       (double)requests);
  cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(st, "fibery_retried"), (double)retried);
  cJSON_AddItemToObject(o, "statistics", st);
  cJSON_AddItemToObject(o, "warnings", warnings);
  *out = o;
  return 0;
}
