/* tf_extract.c — toggl-fibery: distinct references of an aggregation, grouped for
 * enrichment (entities_to_enrich.json, DOMAIN §7).
 */
#include <stdlib.h>
#include <string.h>

#include "tf_aggregate.h"
#include "tf_util.h"
#include "wf/wf.h"

/* Public ids are 1..12 digits: numeric order fits 64 bits; "007" and "7" tie and then
 * sort as text. */
static int cmp_id(const void *a, const void *b) {
  const char *x = *(const char *const *)a, *y = *(const char *const *)b;
  unsigned long long nx = strtoull(x, NULL, 10), ny = strtoull(y, NULL, 10);

  if (nx != ny)
    return nx < ny ? -1 : 1;
  return strcmp(x, y);
}

static int cmp_str_item(const void *a, const void *b) {
  return cmp_id(&(*(const cJSON *const *)a)->valuestring,
                &(*(const cJSON *const *)b)->valuestring);
}

static int cmp_key(const void *a, const void *b) {
  const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

  return strcmp(tf_jstr(x, "key"), tf_jstr(y, "key"));
}

/* Sort arr in place: id strings (strings) or {"key"} objects. */
static int sort_array(cJSON *arr, int strings) {
  int n = cJSON_GetArraySize(arr), i;
  cJSON **v;

  if (n < 2)
    return 0;
  if (!(v = malloc((size_t)n * sizeof *v)))
    return WF_ENOMEM;
  for (i = 0; i < n; i++)
    v[i] = cJSON_DetachItemFromArray(arr, 0);
  qsort(v, (size_t)n, sizeof *v, strings ? cmp_str_item : cmp_key);
  for (i = 0; i < n; i++)
    cJSON_AddItemToArray(arr, v[i]);
  free(v);
  return 0;
}

static cJSON *find_key(cJSON *arr, const char *key) {
  cJSON *x;

  cJSON_ArrayForEach(x, arr) if (!strcmp(tf_jstr(x, "key"), key)) return x;
  return NULL;
}

static void add_unresolved(cJSON *arr, const cJSON *ent, const char *person) {
  const char *key = tf_jstr(ent, "entity_key");
  cJSON *x = find_key(arr, key), *people, *p;
  int64_t s = tf_jint(ent, "duration_seconds");

  if (!x) {
    x = cJSON_CreateObject();
    cJSON_AddStringToObject(x, "key", key);
    cJSON_AddNumberToObject(x, "seconds", 0);
    cJSON_AddItemToObject(x, "people", cJSON_CreateArray());
    cJSON_AddItemToArray(arr, x);
  }
  cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(x, "seconds"),
                       (double)(tf_jint(x, "seconds") + s));
  people = cJSON_GetObjectItemCaseSensitive(x, "people");
  cJSON_ArrayForEach(p, people) if (!strcmp(p->valuestring, person)) return;
  cJSON_AddItemToArray(people, cJSON_CreateString(person));
}

static void add_typed(cJSON *by_type, const cJSON *ent) {
  const char *type = tf_jstr(ent, "fibery_type"), *id = tf_jstr(ent, "entity_id");
  cJSON *ids = cJSON_GetObjectItemCaseSensitive(by_type, type), *x;

  if (!ids)
    cJSON_AddItemToObject(by_type, type, ids = cJSON_CreateArray());
  cJSON_ArrayForEach(x, ids) if (!strcmp(x->valuestring, id)) return;
  cJSON_AddItemToArray(ids, cJSON_CreateString(id));
}

int tf_extract(const cJSON *aggregated, cJSON **out) {
  cJSON *by_type, *unknown, *missing, *t;
  const cJSON *u, *e;
  int rc = 0;

  if (!(*out = cJSON_CreateObject()))
    return WF_ENOMEM;
  by_type = cJSON_AddObjectToObject(*out, "by_type");
  unknown = cJSON_AddArrayToObject(*out, "unknown_type");
  missing = cJSON_AddArrayToObject(*out, "type_missing");
  if (!by_type || !unknown || !missing) {
    cJSON_Delete(*out);
    *out = NULL;
    return WF_ENOMEM;
  }
  cJSON_ArrayForEach(u, cJSON_GetObjectItemCaseSensitive(aggregated, "users")) {
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(u, "matched_entities")) {
      const char *reason = tf_jstr(e, "reason");

      if (!tf_jstr(e, "entity_key") || !tf_jstr(e, "entity_id"))
        continue;
      if (reason && !strcmp(reason, "type_missing"))
        add_unresolved(missing, e, u->string);
      else if (reason || !tf_jstr(e, "fibery_type"))
        add_unresolved(unknown, e, u->string);
      else
        add_typed(by_type, e);
    }
  }
  cJSON_ArrayForEach(t, by_type) if (!rc) rc = sort_array(t, 1);
  if (!rc)
    rc = sort_array(unknown, 0);
  if (!rc)
    rc = sort_array(missing, 0);
  /* Types in name order, so the file does not depend on who worked on what first. */
  if (!rc) {
    cJSON *sorted = cJSON_CreateObject();
    int n = cJSON_GetArraySize(by_type);

    while (sorted && n-- > 0) {
      cJSON *min = NULL;

      cJSON_ArrayForEach(t, by_type) if (!min || strcmp(t->string, min->string) < 0) min =
          t;
      cJSON_AddItemToObject(sorted, min->string, cJSON_DetachItemViaPointer(by_type, min));
    }
    if (!sorted)
      rc = WF_ENOMEM;
    else
      cJSON_ReplaceItemInObjectCaseSensitive(*out, "by_type", sorted);
  }
  if (rc) {
    cJSON_Delete(*out);
    *out = NULL;
  }
  return rc;
}
