/* graph.c — checks across stages: needs resolved, no cycles, ancestors, and every
 * `${...}` referring to something the stage can see.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wfw_int.h"

static void id_list(const wfw_def *d, char *buf, size_t cap) {
  size_t n = 0;
  buf[0] = '\0';
  for (uint32_t i = 0; i < d->nstages && n < cap; i++)
    n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", d->stages[i].id);
}

static int resolve_needs(wfw_lctx *c) {
  wfw_def *d = c->d;
  for (uint32_t i = 0; i < d->nstages; i++) {
    wfw_stage *s = &d->stages[i];
    for (uint32_t k = 0; k < s->nneeds; k++) {
      int j = wfw_def_stage_index(d, s->need_ids[k]);
      if (j < 0) {
        char ids[512];
        id_list(d, ids, sizeof ids);
        return wfw_lfail(c, (int)i, "\"needs\": unknown stage \"%s\" (stages: %s)",
                         s->need_ids[k], ids);
      }
      if ((uint32_t)j == i) return wfw_lfail(c, (int)i, "\"needs\": a stage cannot need itself");
      for (uint32_t m = 0; m < k; m++)
        if (s->needs[m] == (uint32_t)j)
          return wfw_lfail(c, (int)i, "\"needs\": \"%s\" is listed twice", s->need_ids[k]);
      s->needs[k] = (uint32_t)j;
    }
  }
  return 0;
}

/* Depth-first over needs; a need still on the path closes a cycle, which is named. The
 * post-order (needs first) fills the ancestor sets. */
static int walk(wfw_lctx *c, uint8_t *color, uint32_t *path, uint32_t *pos) {
  wfw_def *d = c->d;
  uint32_t n = d->nstages;
  for (uint32_t root = 0; root < n; root++) {
    if (color[root]) continue;
    uint32_t depth = 0;
    path[0] = root;
    pos[0] = 0;
    color[root] = 1;
    while (1) {
      uint32_t u = path[depth];
      wfw_stage *s = &d->stages[u];
      if (pos[depth] < s->nneeds) {
        uint32_t v = s->needs[pos[depth]++];
        if (color[v] == 2) continue;
        if (color[v] == 1) {
          char cyc[768];
          size_t len = 0;
          uint32_t k = 0;
          while (path[k] != v) k++;
          for (; k <= depth && len < sizeof cyc; k++)
            len += (size_t)snprintf(cyc + len, sizeof cyc - len, "%s -> ", d->stages[path[k]].id);
          if (len < sizeof cyc) snprintf(cyc + len, sizeof cyc - len, "%s", d->stages[v].id);
          return wfw_lfail(c, -1, "\"needs\" form a cycle: %s (each stage needs the next)", cyc);
        }
        color[v] = 1;
        path[++depth] = v;
        pos[depth] = 0;
        continue;
      }
      color[u] = 2;
      uint8_t *a = d->anc + (size_t)u * n;
      for (uint32_t k = 0; k < s->nneeds; k++) {
        uint32_t v = s->needs[k];
        a[v] = 1;
        for (uint32_t m = 0; m < n; m++) a[m] |= d->anc[(size_t)v * n + m];
      }
      if (depth == 0) break;
      depth--;
    }
  }
  return 0;
}

/* A stage that validates a start runs before the run exists: it can use only what exists
 * then, the outputs of other such stages. */
static int check_validate_needs(wfw_lctx *c) {
  const wfw_def *d = c->d;
  for (uint32_t i = 0; i < d->nstages; i++)
    for (uint32_t k = 0; d->stages[i].validate && k < d->stages[i].nneeds; k++)
      if (!d->stages[d->stages[i].needs[k]].validate)
        return wfw_lfail(c, (int)i, "\"validate\": it runs before the run exists, so it can "
                         "need only stages that validate too, not \"%s\"",
                         d->stages[i].need_ids[k]);
  return 0;
}

int wfw_graph_check(wfw_lctx *c) {
  wfw_def *d = c->d;
  uint32_t n = d->nstages;
  int rc = resolve_needs(c);
  if (rc == 0) rc = check_validate_needs(c);
  if (rc) return rc;
  uint8_t *color = calloc(n, 1);
  uint32_t *path = calloc(n, sizeof *path), *pos = calloc(n, sizeof *pos);
  d->anc = calloc((size_t)n * n, 1);
  if (!color || !path || !pos || !d->anc) rc = WF_ENOMEM;
  else rc = walk(c, color, path, pos);
  free(color);
  free(path);
  free(pos);
  return rc;
}

static void param_list(const wfw_def *d, char *buf, size_t cap) {
  size_t n = 0;
  buf[0] = '\0';
  for (uint32_t i = 0; i < d->nparams && n < cap; i++)
    n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", d->params[i].name);
}

static int check_expr(wfw_lctx *c, int i, const char *field, wfw_expr *e, int item_ok) {
  wfw_def *d = c->d;
  char list[512];
  if (e->root == WFW_R_PARAMS) {
    uint32_t k = 0;
    while (k < d->nparams && strcmp(d->params[k].name, e->name) != 0) k++;
    if (k == d->nparams) {
      param_list(d, list, sizeof list);
      return wfw_lfail(c, i, "field \"%s\": %s: unknown param \"%s\" (%s%s)", field, e->text,
                       e->name, d->nparams ? "declared: " : "the workflow declares no params",
                       list);
    }
    if (e->nsegs)
      return wfw_lfail(c, i, "field \"%s\": %s: params are single values, with no fields or "
                       "indexes", field, e->text);
  } else if (e->root == WFW_R_STAGES) {
    int j = wfw_def_stage_index(d, e->name);
    if (j < 0) {
      id_list(d, list, sizeof list);
      return wfw_lfail(c, i, "field \"%s\": %s: unknown stage \"%s\" (stages: %s)", field,
                       e->text, e->name, list);
    }
    if (!d->anc[(size_t)i * d->nstages + (size_t)j])
      return wfw_lfail(c, i, "field \"%s\": %s: stage \"%s\" is not in \"needs\" (directly or "
                       "through another stage); add it to \"needs\"", field, e->text, e->name);
    e->stage = j;
  } else if ((e->root == WFW_R_RUN_DIR || e->root == WFW_R_RUN_ID) && d->stages[i].validate) {
    return wfw_lfail(c, i, "field \"%s\": %s: a \"validate\" stage runs before the run "
                     "exists; it has no run id or folder yet", field, e->text);
  } else if (e->root == WFW_R_ITEM && !item_ok) {
    return wfw_lfail(c, i, "field \"%s\": %s: ${item} is only defined in stages with \"foreach\"%s",
                     field, e->text, d->stages[i].fanout ? " (and not in \"foreach\" itself)" : "");
  }
  return 0;
}

static int check_tmpl(wfw_lctx *c, int i, const char *field, wfw_tmpl *t, int item_ok) {
  for (uint32_t k = 0; k < t->nparts; k++) {
    if (t->parts[k].lit) continue;
    int rc = check_expr(c, i, field, &t->parts[k].expr, item_ok);
    if (rc) return rc;
  }
  return 0;
}

/* Strings inside "with": parsed and checked here, parsed again when evaluated. */
static int check_with(wfw_lctx *c, int i, const cJSON *v, char *field, size_t cap, int item_ok) {
  size_t n = strlen(field);
  int rc = 0;
  if (cJSON_IsString(v)) {
    wfw_tmpl t;
    char why[512];
    if ((rc = wfw_tmpl_parse(v->valuestring, &t, why, sizeof why)) == WF_EINVAL)
      return wfw_lfail(c, i, "field \"%s\": %s", field, why);
    if (rc == 0) rc = check_tmpl(c, i, field, &t, item_ok);
    wfw_tmpl_clear(&t);
    return rc;
  }
  int k = 0;
  for (const cJSON *e = v->child; e && rc == 0 && (cJSON_IsArray(v) || cJSON_IsObject(v));
       e = e->next, k++) {
    if (cJSON_IsArray(v)) snprintf(field + n, cap - n, "[%d]", k);
    else snprintf(field + n, cap - n, ".%s", e->string);
    rc = check_with(c, i, e, field, cap, item_ok);
    field[n] = '\0';
  }
  return rc;
}

static int check_foreach(wfw_lctx *c, int i) {
  wfw_stage *s = &c->d->stages[i];
  const wfw_expr *e = wfw_tmpl_is_expr(&s->foreach) ? &s->foreach.parts[0].expr : NULL;
  int rc;
  if (!e || e->root != WFW_R_STAGES)
    return wfw_lfail(c, i, "\"foreach\" must be exactly one ${stages.<id>.output...} expression "
                     "(found \"%s\")", s->foreach_src);
  if ((rc = check_tmpl(c, i, "foreach", &s->foreach, 0)) != 0) return rc;
  for (uint32_t k = 0; k < s->nneeds; k++)
    if ((int)s->needs[k] == e->stage) {
      s->foreach_stage = e->stage;
      break;
    }
  if (s->foreach_stage < 0)
    return wfw_lfail(c, i, "\"foreach\": %s iterates stage \"%s\", which must be listed in "
                     "\"needs\"", e->text, e->name);
  for (uint32_t k = 0; k < s->key.nparts; k++)
    if (!s->key.parts[k].lit && s->key.parts[k].expr.root == WFW_R_ITEM) return 0;
  return wfw_lfail(c, i, "\"key\" must use ${item...} (e.g. \"${item.id}\"), or every item "
                   "would have the same key");
}

int wfw_templates_check(wfw_lctx *c) {
  wfw_def *d = c->d;
  int rc = 0;
  for (uint32_t u = 0; u < d->nstages && rc == 0; u++) {
    int i = (int)u, fan = d->stages[u].fanout;
    wfw_stage *s = &d->stages[u];
    char field[256];
    for (uint32_t k = 0; k < s->argc && rc == 0; k++) {
      snprintf(field, sizeof field, "run[%u]", k);
      rc = check_tmpl(c, i, field, &s->argv[k], fan);
    }
    for (uint32_t k = 0; k < s->ncheck && rc == 0; k++) {
      snprintf(field, sizeof field, "check[%u]", k);
      rc = check_tmpl(c, i, field, &s->check[k], fan);
    }
    if (rc == 0) rc = check_tmpl(c, i, "shell", &s->shell, fan);
    if (rc == 0) rc = check_tmpl(c, i, "cwd", &s->cwd, fan);
    if (rc == 0 && fan) rc = check_foreach(c, i);
    if (rc == 0) rc = check_tmpl(c, i, "key", &s->key, fan);
    if (rc == 0) rc = check_tmpl(c, i, "class", &s->cls, fan);
    if (rc == 0 && s->with) {
      snprintf(field, sizeof field, "with");
      rc = check_with(c, i, s->with, field, sizeof field, fan);
    }
  }
  return rc;
}
