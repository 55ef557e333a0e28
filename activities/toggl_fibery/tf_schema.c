/* tf_schema.c — the Fibery schema read once per run and checked against the enrichment
 * config: which configured types and fields the workspace has.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tf_fibery.h"
#include "tf_schema.h"
#include "wf/wf.h"

static const cJSON *get(const cJSON *o, const char *k) {
  return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* Our key fields: every type has them, and a query is pointless without them. */
static int always_there(const char *field) {
  return !strcmp(field, "fibery/id") || !strcmp(field, "fibery/public-id");
}

/* The field a select entry reads, and the names it selects of the field's type (a
 * relation or collection), or NULL. An aggregate {"alias": ["q/count", [field, ...]]}
 * reads `field` and selects nothing by name. */
static const char *entry_field(const cJSON *sel, const cJSON **subs) {
  const cJSON *v = sel && cJSON_IsObject(sel) ? sel->child : NULL, *first;

  *subs = NULL;
  if (cJSON_IsString(sel))
    return sel->valuestring;
  if (!v || !v->string)
    return NULL;
  first = cJSON_IsArray(v) ? v->child : NULL;
  if (cJSON_IsString(first) && !strncmp(first->valuestring, "q/", 2)) {
    const cJSON *inner = first->next;
    return cJSON_IsArray(inner) && cJSON_IsString(inner->child) ? inner->child->valuestring
                                                                : NULL;
  }
  *subs = cJSON_IsArray(v) ? v : get(v, "q/select");
  return v->string;
}

int tf_schema_type_missing(const cJSON *schema, const char *type) {
  const cJSON *m;

  cJSON_ArrayForEach(m, get(schema, "missing_types")) if (cJSON_IsString(m) &&
                                                           !strcmp(m->valuestring, type))
      return 1;
  return 0;
}

int tf_schema_has(const cJSON *schema, const char *type, const cJSON *sel,
                  const char **missing, const char **in_type) {
  const cJSON *types = get(schema, "types"), *t = get(types, type), *subs, *tt, *s;
  const char *field = entry_field(sel, &subs), *target;

  if (!t || !field)
    return 1;
  if (!always_there(field) && !get(t, field)) {
    *missing = field;
    *in_type = type;
    return 0;
  }
  target = cJSON_IsString(get(t, field)) ? get(t, field)->valuestring : NULL;
  tt = target ? get(types, target) : NULL;
  if (!tt)
    return 1;
  cJSON_ArrayForEach(s, subs) {
    if (cJSON_IsString(s) && !always_there(s->valuestring) && !get(tt, s->valuestring)) {
      *missing = s->valuestring;
      *in_type = target;
      return 0;
    }
  }
  return 1;
}

/* The answer's type `name`, or NULL. */
static const cJSON *answer_type(const cJSON *types, const char *name) {
  const cJSON *t, *n;

  cJSON_ArrayForEach(t, types) {
    n = get(t, "fibery/name");
    if (cJSON_IsString(n) && !strcmp(n->valuestring, name))
      return t;
  }
  return NULL;
}

/* {field name: field type} of an answer's type. */
static cJSON *fields_of(const cJSON *t) {
  cJSON *o = cJSON_CreateObject();
  const cJSON *f;

  cJSON_ArrayForEach(f, get(t, "fibery/fields")) {
    const cJSON *n = get(f, "fibery/name"), *ty = get(f, "fibery/type");
    if (o && cJSON_IsString(n) && !get(o, n->valuestring))
      cJSON_AddItemToObject(o, n->valuestring, cJSON_IsString(ty)
                                                   ? cJSON_CreateString(ty->valuestring)
                                                   : cJSON_CreateNull());
  }
  return o;
}

static void want(cJSON *wanted, const char *type) {
  const cJSON *w;

  if (!type || !*type)
    return;
  cJSON_ArrayForEach(w, wanted) if (!strcmp(w->valuestring, type)) return;
  cJSON_AddItemToArray(wanted, cJSON_CreateString(type));
}

/* Check `type` (wanted) against the answer: into out.types, or out.missing_types; the
 * types its relations select from are wanted too. */
static int check_type(const cJSON *cfg, const cJSON *answer, const char *type, cJSON *wanted,
                      cJSON *out) {
  const cJSON *t = answer_type(answer, type), *sel, *subs;
  cJSON *fields, *query;

  if (!t) {
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(out, "missing_types"),
                         cJSON_CreateString(type));
    return 0;
  }
  if (!(fields = fields_of(t)))
    return WF_ENOMEM;
  cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(out, "types"), type, fields);
  if (!(query = tf_fibery_select(cfg, type)))
    return WF_ENOMEM;
  cJSON_ArrayForEach(sel, query) {
    const char *f = entry_field(sel, &subs);
    const cJSON *target = f && subs ? get(fields, f) : NULL;
    if (cJSON_IsString(target))
      want(wanted, target->valuestring);
  }
  cJSON_Delete(query);
  return 0;
}

int tf_schema_read(const char *buf, size_t len, const cJSON *cfg, cJSON **out, char *err,
                   size_t cap) {
  cJSON *j = cJSON_ParseWithLength(buf, len), *wanted = cJSON_CreateArray(), *o;
  const cJSON *ans = cJSON_IsArray(j) ? cJSON_GetArrayItem(j, 0) : j, *types, *x;
  int rc = 0, i;

  *out = NULL;
  types = get(get(ans, "result"), "fibery/types");
  if (!cJSON_IsTrue(get(ans, "success")) || !cJSON_IsArray(types)) {
    const cJSON *m = get(get(ans, "result"), "message");
    snprintf(err, cap, "the answer is not a Fibery schema (%s)",
             cJSON_IsString(m) ? m->valuestring : j ? "no \"fibery/types\"" : "not JSON");
    cJSON_Delete(j);
    cJSON_Delete(wanted);
    return WF_EINVAL;
  }
  o = cJSON_CreateObject();
  if (!o || !wanted || !cJSON_AddObjectToObject(o, "types") ||
      !cJSON_AddArrayToObject(o, "missing_types")) {
    rc = WF_ENOMEM;
    goto done;
  }
  cJSON_ArrayForEach(x, get(cfg, "types")) want(wanted, x->string);
  cJSON_ArrayForEach(x, get(cfg, "aliases")) {
    const cJSON *t = get(x, "type");
    want(wanted, cJSON_IsString(t) ? t->valuestring : NULL);
  }
  /* the list grows while it is walked: relation targets are checked in turn */
  for (i = 0; !rc && i < cJSON_GetArraySize(wanted); i++)
    rc = check_type(cfg, types, cJSON_GetArrayItem(wanted, i)->valuestring, wanted, o);
done:
  cJSON_Delete(j);
  cJSON_Delete(wanted);
  if (rc) {
    cJSON_Delete(o);
    snprintf(err, cap, "out of memory");
    return rc;
  }
  *out = o;
  return 0;
}
