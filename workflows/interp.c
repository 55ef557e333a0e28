/* interp.c — `${...}` templates: parsing strings into literal text and path
 * expressions, and evaluating them against params, stage outputs and fan-out items.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wfw_int.h"

static int is_name_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         ch == '_' || ch == '-';
}

static char *dup_n(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (p) {
    memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
}

static void expr_clear(wfw_expr *e) {
  for (uint32_t i = 0; i < e->nsegs; i++) free(e->segs[i].field);
  free(e->segs);
  free(e->name);
  free(e->text);
  memset(e, 0, sizeof *e);
}

void wfw_tmpl_clear(wfw_tmpl *t) {
  if (!t) return;
  for (uint32_t i = 0; i < t->nparts; i++) {
    free(t->parts[i].lit);
    expr_clear(&t->parts[i].expr);
  }
  free(t->parts);
  t->parts = NULL;
  t->nparts = 0;
}

static int push_seg(wfw_expr *e, char *field, uint32_t index) {
  wfw_seg *s = realloc(e->segs, (e->nsegs + 1) * sizeof *s);
  if (!s) {
    free(field);
    return WF_ENOMEM;
  }
  e->segs = s;
  s[e->nsegs].field = field;
  s[e->nsegs].index = index;
  e->nsegs++;
  return 0;
}

/* A quoted field name inside brackets: ["a b"], with \" and \\ escapes. */
static int parse_quoted(const char **pp, const char *end, char **out) {
  const char *p = *pp;
  size_t cap = (size_t)(end - p) + 1, n = 0;
  char *buf = malloc(cap);
  if (!buf) return WF_ENOMEM;
  for (; p < end && *p != '"'; p++) {
    if (*p == '\\' && p + 1 < end && (p[1] == '"' || p[1] == '\\')) p++;
    buf[n++] = *p;
  }
  if (p >= end) {
    free(buf);
    return WF_EINVAL;
  }
  buf[n] = '\0';
  *pp = p + 1;
  *out = buf;
  return 0;
}

/* The path between "${" and "}": name(.name | [N] | ["key"])*, spaces around allowed. */
static int parse_path(const char *s, size_t n, wfw_expr *e, char *err, size_t cap) {
  const char *p = s, *end = s + n;
  while (p < end && *p == ' ') p++;
  while (end > p && end[-1] == ' ') end--;
  if (p == end) return snprintf(err, cap, "empty expression"), WF_EINVAL;
  int first = 1, rc;
  while (p < end) {
    if (*p == '.' || first) {
      if (!first) p++;
      const char *b = p;
      while (p < end && is_name_char(*p)) p++;
      if (p == b) {
        snprintf(err, cap, "expected a name %s, found \"%.*s\"", first ? "at the start" : "after \".\"",
                 (int)(end - b), b);
        return WF_EINVAL;
      }
      char *f = dup_n(b, (size_t)(p - b));
      if (!f || (rc = push_seg(e, f, 0)) != 0) return WF_ENOMEM;
      first = 0;
    } else if (*p == '[') {
      p++;
      if (p < end && *p == '"') {
        char *f;
        p++;
        rc = parse_quoted(&p, end, &f);
        if (rc == WF_ENOMEM) return rc;
        if (rc || p >= end || *p != ']') {
          if (rc == 0) free(f);
          return snprintf(err, cap, "unterminated [\"...\"]"), WF_EINVAL;
        }
        p++;
        if ((rc = push_seg(e, f, 0)) != 0) return rc;
        continue;
      }
      uint64_t v = 0;
      const char *b = p;
      while (p < end && *p >= '0' && *p <= '9' && v <= UINT32_MAX) v = v * 10 + (uint64_t)(*p++ - '0');
      if (p == b || p >= end || *p != ']' || v > UINT32_MAX)
        return snprintf(err, cap, "expected [index] with a number or [\"key\"]"), WF_EINVAL;
      p++;
      if ((rc = push_seg(e, NULL, (uint32_t)v)) != 0) return rc;
    } else {
      snprintf(err, cap, "unexpected \"%c\" (paths are name.field[index])", *p);
      return WF_EINVAL;
    }
  }
  return 0;
}

/* Split the generic path into root, name and the rest. */
static int classify(wfw_expr *e, char *err, size_t cap) {
  const char *r = e->segs[0].field;
  uint32_t skip;
  e->stage = -1;
  if (strcmp(r, "params") == 0) {
    if (e->nsegs < 2 || !e->segs[1].field)
      return snprintf(err, cap, "expected params.<name>"), WF_EINVAL;
    e->root = WFW_R_PARAMS;
    skip = 2;
  } else if (strcmp(r, "stages") == 0) {
    if (e->nsegs < 3 || !e->segs[1].field || !e->segs[2].field ||
        strcmp(e->segs[2].field, "output") != 0)
      return snprintf(err, cap, "expected stages.<stage id>.output..."), WF_EINVAL;
    e->root = WFW_R_STAGES;
    skip = 3;
  } else if (strcmp(r, "item") == 0) {
    e->root = WFW_R_ITEM;
    skip = 1;
  } else if (strcmp(r, "run") == 0 || strcmp(r, "workflow") == 0) {
    const char *f = e->nsegs == 2 ? e->segs[1].field : NULL;
    if (f && r[0] == 'r' && strcmp(f, "id") == 0) e->root = WFW_R_RUN_ID;
    else if (f && r[0] == 'r' && strcmp(f, "dir") == 0) e->root = WFW_R_RUN_DIR;
    else if (f && r[0] == 'w' && strcmp(f, "dir") == 0) e->root = WFW_R_WORKFLOW_DIR;
    else return snprintf(err, cap, "expected run.id, run.dir or workflow.dir"), WF_EINVAL;
    skip = 2;
  } else {
    snprintf(err, cap,
             "unknown root \"%s\" (expected params, stages, item, run or workflow; "
             "write $${ for a literal ${, e.g. a shell variable)",
             r);
    return WF_EINVAL;
  }
  if (skip == 2 || skip == 3) {
    e->name = e->segs[1].field;
    e->segs[1].field = NULL;
  }
  for (uint32_t i = 0; i < skip; i++) free(e->segs[i].field);
  memmove(e->segs, e->segs + skip, (e->nsegs - skip) * sizeof *e->segs);
  e->nsegs -= skip;
  return 0;
}

static int push_part(wfw_tmpl *t, wfw_part **out) {
  wfw_part *p = realloc(t->parts, (t->nparts + 1) * sizeof *p);
  if (!p) return WF_ENOMEM;
  t->parts = p;
  *out = &p[t->nparts++];
  memset(*out, 0, sizeof **out);
  return 0;
}

static int add_lit(wfw_tmpl *t, const char *s, size_t n) {
  if (n == 0) return 0;
  wfw_part *last = t->nparts ? &t->parts[t->nparts - 1] : NULL;
  if (last && last->lit) {
    char *g = realloc(last->lit, last->litlen + n + 1);
    if (!g) return WF_ENOMEM;
    memcpy(g + last->litlen, s, n);
    last->litlen += n;
    g[last->litlen] = '\0';
    last->lit = g;
    return 0;
  }
  wfw_part *p;
  if (push_part(t, &p) != 0 || !(p->lit = dup_n(s, n))) return WF_ENOMEM;
  p->litlen = n;
  return 0;
}

int wfw_tmpl_parse(const char *s, wfw_tmpl *t, char *err, size_t errcap) {
  memset(t, 0, sizeof *t);
  const char *p = s, *lit = s;
  int rc = 0;
  while (*p && rc == 0) {
    if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
      if ((rc = add_lit(t, lit, (size_t)(p - lit))) == 0) rc = add_lit(t, "${", 2);
      p += 3;
      lit = p;
    } else if (p[0] == '$' && p[1] == '{') {
      const char *close = strchr(p + 2, '}');
      if (!close) {
        snprintf(err, errcap, "unterminated \"${\" in \"%s\"", s);
        rc = WF_EINVAL;
        break;
      }
      wfw_part *part;
      if ((rc = add_lit(t, lit, (size_t)(p - lit))) != 0 || (rc = push_part(t, &part)) != 0) break;
      part->expr.text = dup_n(p, (size_t)(close - p) + 1);
      if (!part->expr.text) {
        rc = WF_ENOMEM;
        break;
      }
      char why[384];
      rc = parse_path(p + 2, (size_t)(close - p - 2), &part->expr, why, sizeof why);
      if (rc == 0) rc = classify(&part->expr, why, sizeof why);
      if (rc == WF_EINVAL) snprintf(err, errcap, "bad interpolation \"%s\": %s", part->expr.text, why);
      p = close + 1;
      lit = p;
    } else {
      p++;
    }
  }
  if (rc == 0) rc = add_lit(t, lit, (size_t)(p - lit));
  if (rc == WF_ENOMEM) snprintf(err, errcap, "out of memory");
  if (rc) wfw_tmpl_clear(t);
  return rc;
}

int wfw_tmpl_is_expr(const wfw_tmpl *t) { return t->nparts == 1 && !t->parts[0].lit; }

int wfw_tmpl_is_literal(const wfw_tmpl *t) {
  for (uint32_t i = 0; i < t->nparts; i++)
    if (!t->parts[i].lit) return 0;
  return 1;
}

const char *wfw_json_type(const cJSON *v) {
  if (!v) return "missing";
  if (cJSON_IsObject(v)) return "object";
  if (cJSON_IsArray(v)) return "array";
  if (cJSON_IsString(v)) return "string";
  if (cJSON_IsNumber(v)) return "number";
  if (cJSON_IsBool(v)) return "bool";
  if (cJSON_IsNull(v)) return "null";
  return "invalid";
}

/* The text of the path up to segment `upto` (exclusive), for messages. */
static void path_prefix(const wfw_expr *e, uint32_t upto, char *buf, size_t cap) {
  static const char *roots[] = {"", "params", "stages", "item", "run.id", "run.dir", "workflow.dir"};
  int n;
  if (e->root == WFW_R_PARAMS) n = snprintf(buf, cap, "params.%s", e->name);
  else if (e->root == WFW_R_STAGES) n = snprintf(buf, cap, "stages.%s.output", e->name);
  else n = snprintf(buf, cap, "%s", roots[e->root]);
  for (uint32_t i = 0; i < upto && n >= 0 && (size_t)n < cap; i++) {
    if (e->segs[i].field) n += snprintf(buf + n, cap - (size_t)n, ".%s", e->segs[i].field);
    else n += snprintf(buf + n, cap - (size_t)n, "[%u]", e->segs[i].index);
  }
}

static int set_str(cJSON **tmp, const cJSON **val, const char *s, wfw_ictx *c,
                   const wfw_expr *e) {
  if (!s) {
    snprintf(c->err, sizeof c->err, "%s: not known here", e->text);
    return WF_ENOTFOUND;
  }
  if (!(*tmp = cJSON_CreateString(s))) return WF_ENOMEM;
  *val = *tmp;
  return 0;
}

int wfw_expr_resolve(const wfw_expr *e, wfw_ictx *c, const cJSON **val, cJSON **tmp) {
  const cJSON *v = NULL;
  int rc;
  *tmp = NULL;
  switch (e->root) {
  case WFW_R_RUN_ID: return set_str(tmp, val, c->run_id, c, e);
  case WFW_R_RUN_DIR: return set_str(tmp, val, c->run_dir, c, e);
  case WFW_R_WORKFLOW_DIR: return set_str(tmp, val, c->workflow_dir, c, e);
  case WFW_R_PARAMS:
    v = c->params ? cJSON_GetObjectItemCaseSensitive(c->params, e->name) : NULL;
    if (!v) {
      snprintf(c->err, sizeof c->err, "%s: param \"%s\" has no value (give it with -p %s=...)",
               e->text, e->name, e->name);
      return WF_ENOTFOUND;
    }
    break;
  case WFW_R_ITEM:
    if (!(v = c->item)) {
      snprintf(c->err, sizeof c->err, "%s: there is no item outside a foreach stage", e->text);
      return WF_ENOTFOUND;
    }
    break;
  case WFW_R_STAGES:
    if (!c->stage_output) {
      snprintf(c->err, sizeof c->err, "%s: stage outputs are not available here", e->text);
      return WF_ENOTFOUND;
    }
    c->err[0] = '\0';
    if ((rc = c->stage_output(c->ud, e->stage, e->name, &v)) != 0) {
      if (!c->err[0])
        snprintf(c->err, sizeof c->err, "%s: no recorded output of stage \"%s\"", e->text, e->name);
      return rc;
    }
    break;
  default: return WF_EINVAL;
  }
  for (uint32_t i = 0; i < e->nsegs; i++) {
    const wfw_seg *s = &e->segs[i];
    const cJSON *next = NULL;
    char at[512];
    if (s->field && cJSON_IsObject(v)) next = cJSON_GetObjectItemCaseSensitive(v, s->field);
    else if (!s->field && cJSON_IsArray(v) && s->index < (uint32_t)cJSON_GetArraySize(v))
      next = cJSON_GetArrayItem(v, (int)s->index);
    if (next) {
      v = next;
      continue;
    }
    path_prefix(e, i, at, sizeof at);
    if (s->field && cJSON_IsObject(v))
      snprintf(c->err, sizeof c->err, "%s: no field \"%s\" in %s", e->text, s->field, at);
    else if (!s->field && cJSON_IsArray(v))
      snprintf(c->err, sizeof c->err, "%s: index %u is out of range: %s has %d elements", e->text,
               s->index, at, cJSON_GetArraySize(v));
    else
      snprintf(c->err, sizeof c->err, "%s: %s is %s %s, not %s", e->text, at,
               cJSON_IsArray(v) || cJSON_IsObject(v) ? "an" : "a", wfw_json_type(v),
               s->field ? "an object" : "an array");
    return WF_ENOTFOUND;
  }
  *val = v;
  return 0;
}

int wfw_tmpl_eval_json(const wfw_tmpl *t, wfw_ictx *c, cJSON **out) {
  *out = NULL;
  if (wfw_tmpl_is_expr(t)) {
    const cJSON *v;
    cJSON *tmp;
    int rc = wfw_expr_resolve(&t->parts[0].expr, c, &v, &tmp);
    if (rc) return rc;
    *out = tmp ? tmp : cJSON_Duplicate(v, 1);
    return *out ? 0 : WF_ENOMEM;
  }
  char *s;
  int rc = wfw_tmpl_eval_str(t, c, &s);
  if (rc) return rc;
  *out = cJSON_CreateString(s);
  free(s);
  return *out ? 0 : WF_ENOMEM;
}

static int append(char **buf, size_t *len, size_t *cap, const char *s, size_t n) {
  if (*len + n + 1 > *cap) {
    size_t nc = *cap ? *cap : 64;
    while (nc < *len + n + 1) nc *= 2;
    char *g = realloc(*buf, nc);
    if (!g) return WF_ENOMEM;
    *buf = g;
    *cap = nc;
  }
  memcpy(*buf + *len, s, n);
  *len += n;
  (*buf)[*len] = '\0';
  return 0;
}

int wfw_tmpl_eval_str(const wfw_tmpl *t, wfw_ictx *c, char **out) {
  char *buf = NULL;
  size_t len = 0, cap = 0;
  int rc = append(&buf, &len, &cap, "", 0);
  for (uint32_t i = 0; i < t->nparts && rc == 0; i++) {
    const wfw_part *p = &t->parts[i];
    if (p->lit) {
      rc = append(&buf, &len, &cap, p->lit, p->litlen);
      continue;
    }
    const cJSON *v;
    cJSON *tmp;
    if ((rc = wfw_expr_resolve(&p->expr, c, &v, &tmp)) != 0) break;
    if (cJSON_IsString(v)) {
      rc = append(&buf, &len, &cap, v->valuestring, strlen(v->valuestring));
    } else {
      char *js = cJSON_PrintUnformatted(v);
      rc = js ? append(&buf, &len, &cap, js, strlen(js)) : WF_ENOMEM;
      free(js);
    }
    cJSON_Delete(tmp);
  }
  if (rc) {
    free(buf);
    buf = NULL;
  }
  *out = buf;
  return rc;
}

int wfw_json_interp(const cJSON *v, wfw_ictx *c, cJSON **out) {
  int rc = 0;
  *out = NULL;
  if (cJSON_IsString(v)) {
    wfw_tmpl t;
    char why[512];
    if ((rc = wfw_tmpl_parse(v->valuestring, &t, why, sizeof why)) != 0) {
      snprintf(c->err, sizeof c->err, "%s", why);
      return rc;
    }
    rc = wfw_tmpl_eval_json(&t, c, out);
    wfw_tmpl_clear(&t);
    return rc;
  }
  if (!cJSON_IsArray(v) && !cJSON_IsObject(v)) {
    *out = cJSON_Duplicate(v, 0);
    return *out ? 0 : WF_ENOMEM;
  }
  cJSON *r = cJSON_IsArray(v) ? cJSON_CreateArray() : cJSON_CreateObject();
  if (!r) return WF_ENOMEM;
  for (const cJSON *e = v->child; e && rc == 0; e = e->next) {
    cJSON *ce;
    if ((rc = wfw_json_interp(e, c, &ce)) != 0) break;
    if (cJSON_IsArray(r)) cJSON_AddItemToArray(r, ce);
    else cJSON_AddItemToObject(r, e->string, ce);
  }
  if (rc) cJSON_Delete(r);
  else *out = r;
  return rc;
}
