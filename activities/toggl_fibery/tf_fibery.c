/* tf_fibery.c — Fibery enrichment without I/O: the config (load, per-key merge, check),
 * batched entity queries by public id, and readers for query and document answers.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tf_fibery.h"
#include "tf_schema.h"
#include "wf/wf.h"

#define DOC_SECRET "Collaboration~Documents/secret"

static int str_ok(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

  return cJSON_IsString(v) && v->valuestring[0];
}

/* ---- config -------------------------------------------------------------------------- */

int tf_fibery_config_merge(cJSON *base, const cJSON *over) {
  const cJSON *o;

  cJSON_ArrayForEach(o, over) {
    cJSON *b = cJSON_GetObjectItemCaseSensitive(base, o->string), *copy;
    if (cJSON_IsObject(b) && cJSON_IsObject(o)) {
      if (tf_fibery_config_merge(b, o))
        return WF_ENOMEM;
      continue;
    }
    if (!(copy = cJSON_Duplicate(o, 1)))
      return WF_ENOMEM;
    if (b)
      cJSON_ReplaceItemInObjectCaseSensitive(base, o->string, copy);
    else
      cJSON_AddItemToObject(base, o->string, copy);
  }
  return 0;
}

static int key_in(const char *k, const char *const *keys) {
  for (; *keys; keys++)
    if (!strcmp(k, *keys))
      return 1;
  return 0;
}

static int check_keys(const cJSON *o, const char *const *keys, const char *where, char *err,
                      size_t cap) {
  const cJSON *it;

  if (!cJSON_IsObject(o)) {
    snprintf(err, cap, "enrichment config: %s must be an object", where);
    return WF_EINVAL;
  }
  cJSON_ArrayForEach(it, o) if (!key_in(it->string, keys)) {
    snprintf(err, cap, "enrichment config: unknown key \"%.80s\" in %s", it->string, where);
    return WF_EINVAL;
  }
  return 0;
}

static int check_count(const cJSON *o, const char *k, double lo, double hi, const char *where,
                       char *err, size_t cap) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

  if (!v)
    return 0;
  if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi) {
    snprintf(err, cap, "enrichment config: %s.%s must be a number in %g..%g", where, k, lo, hi);
    return WF_EINVAL;
  }
  return 0;
}

/* A select entry is a field name or a one-key object (relation, collection, count). */
static int check_select(const cJSON *sel, const char *where, char *err, size_t cap) {
  const cJSON *it;

  if (!sel)
    return 0;
  if (!cJSON_IsObject(sel)) {
    snprintf(err, cap, "enrichment config: %s.select must be an object alias -> field", where);
    return WF_EINVAL;
  }
  cJSON_ArrayForEach(it, sel) {
    if (cJSON_IsString(it) && it->valuestring[0])
      continue;
    if (cJSON_IsObject(it) && cJSON_GetArraySize(it) == 1)
      continue;
    snprintf(err, cap, "enrichment config: %s.select.%.80s must be a field name or a "
             "one-key object", where, it->string);
    return WF_EINVAL;
  }
  return 0;
}

int tf_fibery_config_check(const cJSON *cfg, char *err, size_t cap) {
  static const char *const top[] = {"batch_size", "rate_limit_per_s", "description_max_chars",
                                    "aliases", "default", "types", NULL};
  static const char *const tkeys[] = {"max_concurrent", "title", "description", "prompt",
                                      "select", NULL};
  static const char *const dkeys[] = {"max_concurrent", "select", NULL};
  const cJSON *t, *a, *types = cJSON_GetObjectItemCaseSensitive(cfg, "types");
  const cJSON *def = cJSON_GetObjectItemCaseSensitive(cfg, "default");
  char where[160];
  int rc;

  if ((rc = check_keys(cfg, top, "the top level", err, cap)) ||
      (rc = check_count(cfg, "batch_size", 1, TF_FIBERY_MAX_BATCH, "", err, cap)) ||
      (rc = check_count(cfg, "rate_limit_per_s", 0.01, 100, "", err, cap)) ||
      (rc = check_count(cfg, "description_max_chars", 1, 1e6, "", err, cap)))
    return rc;
  if (def && ((rc = check_keys(def, dkeys, "default", err, cap)) ||
              (rc = check_count(def, "max_concurrent", 1, 1000, "default", err, cap)) ||
              (rc = check_select(cJSON_GetObjectItemCaseSensitive(def, "select"), "default",
                                 err, cap))))
    return rc;
  cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(cfg, "aliases")) {
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(a, "tags");
    if (!cJSON_IsArray(tags) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(a, "type"))) {
      snprintf(err, cap, "enrichment config: each alias needs \"tags\" (list) and \"type\"");
      return WF_EINVAL;
    }
  }
  if (types && !cJSON_IsObject(types)) {
    snprintf(err, cap, "enrichment config: types must be an object");
    return WF_EINVAL;
  }
  cJSON_ArrayForEach(t, types) {
    const char *slash = strchr(t->string, '/');
    snprintf(where, sizeof where, "types.%.80s", t->string);
    if (!slash || slash == t->string || !slash[1]) {
      snprintf(err, cap, "enrichment config: type \"%.80s\" is not <Space>/<Type>", t->string);
      return WF_EINVAL;
    }
    if ((rc = check_keys(t, tkeys, where, err, cap)) ||
        (rc = check_count(t, "max_concurrent", 1, 1000, where, err, cap)) ||
        (rc = check_select(cJSON_GetObjectItemCaseSensitive(t, "select"), where, err, cap)))
      return rc;
    if ((cJSON_GetObjectItemCaseSensitive(t, "title") && !str_ok(t, "title")) ||
        (cJSON_GetObjectItemCaseSensitive(t, "description") && !str_ok(t, "description"))) {
      snprintf(err, cap, "enrichment config: %s.title/description must be field names", where);
      return WF_EINVAL;
    }
  }
  return 0;
}

static cJSON *load_json(const char *path, char *err, size_t cap) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t n = 0, got;
  cJSON *j = NULL;

  if (!f) {
    snprintf(err, cap, "enrichment config %s cannot be read", path);
    return NULL;
  }
  if ((buf = malloc((1 << 20) + 1)) && (got = fread(buf, 1, (1 << 20) + 1, f)) <= 1 << 20) {
    n = got;
    if (!(j = cJSON_ParseWithLength(buf, n)))
      snprintf(err, cap, "enrichment config %s is not valid JSON", path);
  } else {
    snprintf(err, cap, "enrichment config %s is larger than 1 MiB or unreadable", path);
  }
  free(buf);
  fclose(f);
  return j;
}

int tf_fibery_config_load(const char *path, const char *override_path, cJSON **cfg,
                          char *err, size_t cap) {
  cJSON *base, *over = NULL;
  int rc;

  *cfg = NULL;
  if (!(base = load_json(path, err, cap)))
    return WF_EINVAL;
  if (override_path && !(over = load_json(override_path, err, cap))) {
    cJSON_Delete(base);
    return WF_EINVAL;
  }
  /* an override is checked on its own first, so a typo is named in its file */
  if (over && (rc = tf_fibery_config_check(over, err, cap)) == 0)
    rc = tf_fibery_config_merge(base, over);
  else if (!over)
    rc = 0;
  if (!rc)
    rc = tf_fibery_config_check(base, err, cap);
  cJSON_Delete(over);
  if (rc) {
    cJSON_Delete(base);
    return rc;
  }
  *cfg = base;
  return 0;
}

int tf_fibery_batch_size(const cJSON *cfg) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, "batch_size");

  return cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble <= TF_FIBERY_MAX_BATCH
             ? (int)v->valuedouble
             : 50;
}

double tf_fibery_rate(const cJSON *cfg) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, "rate_limit_per_s");

  return cJSON_IsNumber(v) && v->valuedouble > 0 ? v->valuedouble : 3;
}

/* ---- ids ---------------------------------------------------------------------------- */

static int all_digits(const char *s) {
  return *s && strspn(s, "0123456789") == strlen(s);
}

static int cmp_id(const void *a, const void *b) {
  const char *x0 = *(const char *const *)a, *y0 = *(const char *const *)b, *x = x0, *y = y0;
  int dx = all_digits(x), dy = all_digits(y), c;
  size_t lx, ly;

  if (dx != dy)
    return dy - dx;
  if (dx) {
    while (*x == '0' && x[1])
      x++;
    while (*y == '0' && y[1])
      y++;
    lx = strlen(x);
    ly = strlen(y);
    if (lx != ly)
      return lx < ly ? -1 : 1;
    if ((c = strcmp(x, y)))
      return c;
  }
  /* "0312" and "312" are distinct public ids: kept verbatim, ordered by their text */
  return strcmp(x0, y0);
}

int tf_fibery_ids(cJSON *ids, const char ***out, size_t *n) {
  const char **v;
  cJSON *it;
  size_t k = 0, i, m;
  char num[32];

  *out = NULL;
  *n = 0;
  if (!cJSON_IsArray(ids))
    return WF_EINVAL;
  if (!(v = malloc(sizeof *v * ((size_t)cJSON_GetArraySize(ids) + 1))))
    return WF_ENOMEM;
  cJSON_ArrayForEach(it, ids) {
    if (cJSON_IsNumber(it) && it->valuedouble >= 0 && it->valuedouble < 1e15 &&
        it->valuedouble == floor(it->valuedouble)) {
      cJSON *s;
      snprintf(num, sizeof num, "%.0f", it->valuedouble);
      if (!(s = cJSON_CreateString(num))) {
        free(v);
        return WF_ENOMEM;
      }
      cJSON_ReplaceItemViaPointer(ids, it, s);
      it = s;
    }
    if (!cJSON_IsString(it) || !it->valuestring[0] || strlen(it->valuestring) > 64) {
      free(v);
      return WF_EINVAL;
    }
    v[k++] = it->valuestring;
  }
  qsort(v, k, sizeof *v, cmp_id);
  for (i = m = 0; i < k; i++)
    if (!m || strcmp(v[m - 1], v[i]))
      v[m++] = v[i];
  *out = v;
  *n = m;
  return 0;
}

/* ---- queries ------------------------------------------------------------------------ */

/* The key a select entry has in result rows: the name, or the object's only key. */
static const char *row_key(const cJSON *sel) {
  if (cJSON_IsString(sel))
    return sel->valuestring;
  return sel && sel->child ? sel->child->string : NULL;
}

static int select_add(cJSON *arr, cJSON *item) {
  const char *k = row_key(item);
  const cJSON *it;

  if (!item)
    return WF_ENOMEM;
  cJSON_ArrayForEach(it, arr) if (k && row_key(it) && !strcmp(row_key(it), k)) {
    cJSON_Delete(item);
    return 0;
  }
  cJSON_AddItemToArray(arr, item);
  return 0;
}

static const cJSON *type_cfg(const cJSON *cfg, const char *type) {
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cfg, "types"), type);

  return t ? t : cJSON_GetObjectItemCaseSensitive(cfg, "default");
}

cJSON *tf_fibery_select(const cJSON *cfg, const char *type) {
  const cJSON *tc = type_cfg(cfg, type), *it;
  const char *title = str_ok(tc, "title") ? cJSON_GetObjectItem(tc, "title")->valuestring : NULL;
  const char *desc = str_ok(tc, "description") ? cJSON_GetObjectItem(tc, "description")->valuestring : NULL;
  cJSON *sel = cJSON_CreateArray(), *o;
  int rc = 0;

  if (!sel)
    return NULL;
  rc |= select_add(sel, cJSON_CreateString("fibery/id"));
  rc |= select_add(sel, cJSON_CreateString("fibery/public-id"));
  if (title)
    rc |= select_add(sel, cJSON_CreateString(title));
  if ((o = cJSON_CreateObject()))
    cJSON_AddItemToObject(o, "workflow/state", cJSON_CreateStringArray((const char *[]){"enum/name"}, 1));
  rc |= select_add(sel, o);
  if (desc) {
    if ((o = cJSON_CreateObject()))
      cJSON_AddItemToObject(o, desc, cJSON_CreateStringArray((const char *[]){DOC_SECRET}, 1));
    rc |= select_add(sel, o);
  }
  cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(tc, "select"))
      rc |= select_add(sel, cJSON_Duplicate(it, 1));
  if (rc) {
    cJSON_Delete(sel);
    return NULL;
  }
  return sel;
}

/* Append `w` to `warnings` unless it is there already. */
static void warn_once(cJSON *warnings, const char *w) {
  const cJSON *x;

  cJSON_ArrayForEach(x, warnings) if (cJSON_IsString(x) && !strcmp(x->valuestring, w)) return;
  cJSON_AddItemToArray(warnings, cJSON_CreateString(w));
}

/* The select of `type`, less what the checked schema says the workspace lacks (each
 * left out with a warning naming the type and the field). */
static cJSON *build_select(const cJSON *cfg, const char *type, const cJSON *schema,
                          cJSON *warnings) {
  cJSON *sel = tf_fibery_select(cfg, type), *it, *next;
  const char *missing, *in;
  char w[600];

  for (it = sel ? sel->child : NULL; it; it = next) {
    next = it->next;
    if (tf_schema_has(schema, type, it, &missing, &in))
      continue;
    snprintf(w, sizeof w, "Fibery workspace: type \"%.150s\" has no field \"%.150s\"; the "
             "queries of %.150s leave it out (check the enrichment config)", in, missing, type);
    if (warnings)
      warn_once(warnings, w);
    cJSON_Delete(cJSON_DetachItemViaPointer(sel, it));
  }
  return sel;
}

int tf_fibery_query_body(const cJSON *cfg, const char *type, const char *const *ids,
                         size_t n, const cJSON *schema, cJSON *warnings, char **body,
                         size_t *len) {
  cJSON *cmds, *cmd, *args, *q, *where, *params, *sel;
  int rc = WF_ENOMEM;

  *body = NULL;
  *len = 0;
  if (!n || n > TF_FIBERY_MAX_BATCH || !type)
    return WF_EINVAL;
  cmds = cJSON_CreateArray();
  if (cmds && (cmd = cJSON_CreateObject()) && (sel = build_select(cfg, type, schema, warnings))) {
    cJSON_AddItemToArray(cmds, cmd);
    cJSON_AddStringToObject(cmd, "command", "fibery.entity/query");
    args = cJSON_AddObjectToObject(cmd, "args");
    q = cJSON_AddObjectToObject(args, "query");
    cJSON_AddStringToObject(q, "q/from", type);
    cJSON_AddItemToObject(q, "q/select", sel);
    where = cJSON_AddArrayToObject(q, "q/where");
    cJSON_AddItemToArray(where, cJSON_CreateString("q/in"));
    cJSON_AddItemToArray(where, cJSON_CreateStringArray((const char *[]){"fibery/public-id"}, 1));
    cJSON_AddItemToArray(where, cJSON_CreateString("$ids"));
    cJSON_AddNumberToObject(q, "q/limit", (double)n);
    params = cJSON_AddObjectToObject(args, "params");
    cJSON_AddItemToObject(params, "$ids", cJSON_CreateStringArray(ids, (int)n));
    if ((*body = cJSON_PrintUnformatted(cmds))) {
      *len = strlen(*body);
      rc = 0;
    }
  }
  cJSON_Delete(cmds);
  return rc;
}

/* ---- answers ------------------------------------------------------------------------ */

/* Fibery's links use the names with spaces as underscores. */
static void add_url(cJSON *rec, const char *base, const char *type, const char *id) {
  size_t n = strlen(base) + strlen(type) + strlen(id) + 4, i;
  char *u = malloc(n);

  if (!u)
    return;
  snprintf(u, n, "%s/%s/%s", base, type, id);
  for (i = strlen(base); u[i]; i++)
    if (u[i] == ' ')
      u[i] = '_';
  cJSON_AddStringToObject(rec, "url", u);
  free(u);
}

/* Users as the run files hold them: [{name, email}]. */
static cJSON *people(const cJSON *users) {
  cJSON *arr = cJSON_CreateArray(), *p;
  const cJSON *u;

  cJSON_ArrayForEach(u, users) if ((p = cJSON_CreateObject())) {
    cJSON_AddStringToObject(p, "name", str_ok(u, "user/name") ? cJSON_GetObjectItem(u, "user/name")->valuestring : "");
    cJSON_AddStringToObject(p, "email", str_ok(u, "user/email") ? cJSON_GetObjectItem(u, "user/email")->valuestring : "");
    cJSON_AddItemToArray(arr, p);
  }
  return arr;
}

static cJSON *ok_record(const cJSON *row, const cJSON *tc, const char *type, const char *id,
                        const char *key, const char *link_base) {
  const cJSON *v, *sel;
  const char *title = str_ok(tc, "title") ? cJSON_GetObjectItem(tc, "title")->valuestring : NULL;
  const char *slash = strchr(type, '/');
  cJSON *rec = cJSON_CreateObject(), *fields;

  if (!rec)
    return NULL;
  cJSON_AddStringToObject(rec, "status", "ok");
  cJSON_AddStringToObject(rec, "entity_key", key);
  cJSON_AddStringToObject(rec, "entity_type", type);
  if (slash) {
    cJSON *db = cJSON_CreateString(type);
    if (db)
      db->valuestring[slash - type] = 0;
    cJSON_AddItemToObject(rec, "database", db);
  }
  cJSON_AddStringToObject(rec, "public_id", id);
  v = cJSON_GetObjectItemCaseSensitive(row, "fibery/id");
  cJSON_AddItemToObject(rec, "fibery_id", cJSON_IsString(v) ? cJSON_CreateString(v->valuestring)
                                                           : cJSON_CreateNull());
  v = title ? cJSON_GetObjectItemCaseSensitive(row, title) : NULL;
  cJSON_AddItemToObject(rec, "name", cJSON_IsString(v) ? cJSON_CreateString(v->valuestring)
                                                      : cJSON_CreateNull());
  v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(row, "workflow/state"),
                                       "enum/name");
  cJSON_AddItemToObject(rec, "state", cJSON_IsString(v) ? cJSON_CreateString(v->valuestring)
                                                       : cJSON_CreateNull());
  if (link_base)
    add_url(rec, link_base, type, id);
  else
    cJSON_AddNullToObject(rec, "url");
  fields = cJSON_AddObjectToObject(rec, "fields");
  cJSON_ArrayForEach(sel, cJSON_GetObjectItemCaseSensitive(tc, "select")) {
    const char *k = row_key(sel);
    v = k ? cJSON_GetObjectItemCaseSensitive(row, k) : NULL;
    cJSON_AddItemToObject(fields, sel->string, !strcmp(sel->string, "assignees") && cJSON_IsArray(v)
                                                   ? people(v)
                                                   : v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
  }
  cJSON_AddNullToObject(rec, "description_md");
  return rec;
}

static void put(cJSON *entities, const char *key, cJSON *rec) {
  if (cJSON_GetObjectItemCaseSensitive(entities, key))
    cJSON_ReplaceItemInObjectCaseSensitive(entities, key, rec);
  else
    cJSON_AddItemToObject(entities, key, rec);
}

static cJSON *status_record(const char *status, const char *error) {
  cJSON *rec = cJSON_CreateObject();

  cJSON_AddStringToObject(rec, "status", status);
  if (error)
    cJSON_AddStringToObject(rec, "error", error);
  return rec;
}

int tf_fibery_read_result(const char *buf, size_t len, const cJSON *cfg, const char *type,
                          const char *const *ids, size_t n, const char *link_base,
                          cJSON *entities, cJSON *secrets, char *err, size_t cap) {
  cJSON *j = cJSON_ParseWithLength(buf, len);
  const cJSON *ans = cJSON_IsArray(j) ? cJSON_GetArrayItem(j, 0) : j, *res, *row, *v;
  const cJSON *tc = type_cfg(cfg, type);
  const char *desc = str_ok(tc, "description") ? cJSON_GetObjectItem(tc, "description")->valuestring : NULL;
  char key[256], msg[300];
  size_t i;

  if (!cJSON_IsObject(ans) || !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(ans, "success"))) {
    snprintf(err, cap, "the answer is not a Fibery command result (%zu bytes)", len);
    cJSON_Delete(j);
    return WF_EINVAL;
  }
  res = cJSON_GetObjectItemCaseSensitive(ans, "result");
  if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(ans, "success")) || !cJSON_IsArray(res)) {
    v = cJSON_GetObjectItemCaseSensitive(res, "message");
    snprintf(msg, sizeof msg, "Fibery rejected the query on %.80s: %.160s", type,
             cJSON_IsString(v) ? v->valuestring : "no message");
    for (i = 0; i < n; i++) {
      snprintf(key, sizeof key, "%s#%s", type, ids[i]);
      put(entities, key, status_record("unknown_type", msg));
    }
    cJSON_Delete(j);
    return 0;
  }
  for (i = 0; i < n; i++) {
    cJSON *rec = NULL;
    snprintf(key, sizeof key, "%s#%s", type, ids[i]);
    cJSON_ArrayForEach(row, res) {
      v = cJSON_GetObjectItemCaseSensitive(row, "fibery/public-id");
      if (cJSON_IsString(v) && !strcmp(v->valuestring, ids[i]))
        break;
    }
    if (!row) {
      put(entities, key, status_record("not_found", NULL));
      continue;
    }
    if (!(rec = ok_record(row, tc, type, ids[i], key, link_base))) {
      cJSON_Delete(j);
      return WF_ENOMEM;
    }
    put(entities, key, rec);
    v = desc ? cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(row, desc),
                                                 DOC_SECRET)
             : NULL;
    if (secrets && cJSON_IsString(v) && v->valuestring[0] &&
        !cJSON_GetObjectItemCaseSensitive(secrets, v->valuestring))
      cJSON_AddStringToObject(secrets, v->valuestring, key);
  }
  cJSON_Delete(j);
  return 0;
}

int tf_fibery_docs_body(const cJSON *secrets, char **body, size_t *len) {
  cJSON *b = cJSON_CreateObject(), *args, *o;
  const cJSON *s;

  *body = NULL;
  *len = 0;
  if (!b)
    return WF_ENOMEM;
  cJSON_AddStringToObject(b, "command", "get-documents");
  args = cJSON_AddArrayToObject(b, "args");
  cJSON_ArrayForEach(s, secrets) {
    if ((o = cJSON_CreateObject())) {
      cJSON_AddStringToObject(o, "secret", s->string);
      cJSON_AddItemToArray(args, o);
    }
  }
  *body = cJSON_PrintUnformatted(b);
  cJSON_Delete(b);
  if (!*body)
    return WF_ENOMEM;
  *len = strlen(*body);
  return 0;
}

int tf_fibery_read_docs(const char *buf, size_t len, const cJSON *secrets, cJSON *entities) {
  cJSON *j = cJSON_ParseWithLength(buf, len);
  const cJSON *d;

  if (!cJSON_IsArray(j)) {
    cJSON_Delete(j);
    return WF_EINVAL;
  }
  cJSON_ArrayForEach(d, j) {
    const char *s = cJSON_IsString(cJSON_GetObjectItem(d, "secret")) ? cJSON_GetObjectItem(d, "secret")->valuestring : NULL;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(d, "content");
    const cJSON *k = s ? cJSON_GetObjectItemCaseSensitive(secrets, s) : NULL;
    cJSON *rec = cJSON_IsString(k) ? cJSON_GetObjectItemCaseSensitive(entities, k->valuestring) : NULL;
    if (!cJSON_IsObject(rec) || !cJSON_IsString(c))
      continue;
    cJSON *md = cJSON_CreateString(c->valuestring);
    /* Replace the field, or add it when the record has none yet; never drop the copy. */
    if (md && !cJSON_ReplaceItemInObjectCaseSensitive(rec, "description_md", md) &&
        !cJSON_AddItemToObject(rec, "description_md", md))
      cJSON_Delete(md);
  }
  cJSON_Delete(j);
  return 0;
}

int tf_fibery_batches(const cJSON *by_type, int batch_size, cJSON **items) {
  const cJSON *t;
  cJSON *out = cJSON_CreateArray();
  char key[300];

  *items = NULL;
  if (!out || !cJSON_IsObject(by_type) || batch_size < 1) {
    cJSON_Delete(out);
    return out ? WF_EINVAL : WF_ENOMEM;
  }
  cJSON_ArrayForEach(t, by_type) {
    cJSON *copy = cJSON_Duplicate(t, 1);
    const char **ids;
    size_t n, i;
    int rc = copy ? tf_fibery_ids(copy, &ids, &n) : WF_ENOMEM;
    if (rc) {
      cJSON_Delete(copy);
      cJSON_Delete(out);
      return rc;
    }
    for (i = 0; i < n; i += (size_t)batch_size) {
      size_t m = n - i < (size_t)batch_size ? n - i : (size_t)batch_size;
      cJSON *it = cJSON_CreateObject();
      snprintf(key, sizeof key, "%.250s/%zu", t->string, i / (size_t)batch_size + 1);
      cJSON_AddStringToObject(it, "key", key);
      cJSON_AddStringToObject(it, "type", t->string);
      cJSON_AddItemToObject(it, "ids", cJSON_CreateStringArray(ids + i, (int)m));
      cJSON_AddItemToArray(out, it);
    }
    free(ids);
    cJSON_Delete(copy);
  }
  *items = out;
  return 0;
}
