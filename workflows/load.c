/* load.c — reading a workflow definition: JSON syntax, the top level and the declared
 * params; the stages are checked by stage.c and graph.c. Also the definition accessors.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wfw_int.h"

int wfw_fail(wfw_err *err, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return WF_EINVAL;
}

int wfw_lfail(wfw_lctx *c, int stage, const char *fmt, ...) {
  if (!c->err) return WF_EINVAL;
  char *m = c->err->msg;
  size_t cap = sizeof c->err->msg;
  int n;
  if (stage >= 0 && c->d->stages && c->d->stages[stage].id)
    n = snprintf(m, cap, "%s: stage \"%s\": ", c->d->path, c->d->stages[stage].id);
  else if (stage >= 0)
    n = snprintf(m, cap, "%s: stage #%d: ", c->d->path, stage + 1);
  else
    n = snprintf(m, cap, "%s: ", c->d->path);
  if (n >= 0 && (size_t)n < cap) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m + n, cap - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return WF_EINVAL;
}

/* Edit distance, to suggest the field a misspelling meant. */
static size_t distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b), row[64];
  if (la >= 63 || lb >= 63) return 99;
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t prev = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t cur = row[j], best = prev + (a[i - 1] != b[j - 1]);
      if (row[j] + 1 < best) best = row[j] + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      prev = cur;
    }
  }
  return row[lb];
}

int wfw_check_fields(wfw_lctx *c, int stage, const char *what, const cJSON *o,
                     const char *const *known) {
  for (const cJSON *f = o->child; f; f = f->next) {
    for (const cJSON *g = o->child; g != f; g = g->next)
      if (strcmp(g->string, f->string) == 0)
        return wfw_lfail(c, stage, "%sfield \"%s\" appears twice", what, f->string);
    size_t i, best = 0, bestd = 99;
    for (i = 0; known[i]; i++) {
      if (strcmp(known[i], f->string) == 0) break;
      size_t d = distance(known[i], f->string);
      if (d < bestd) bestd = d, best = i;
    }
    if (known[i]) continue;
    char list[512];
    size_t n = 0;
    list[0] = '\0';
    for (i = 0; known[i] && n < sizeof list; i++)
      n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", known[i]);
    char hint[96] = "";
    if (bestd <= 2) snprintf(hint, sizeof hint, "; did you mean \"%s\"?", known[best]);
    return wfw_lfail(c, stage, "%sunknown field \"%s\" (expected one of: %s%s)", what,
                     f->string, list, hint);
  }
  return 0;
}

int wfw_json_int(const cJSON *v, double lo, double hi) {
  if (!cJSON_IsNumber(v)) return 0;
  double x = v->valuedouble;
  return x >= lo && x <= hi && x == (double)(long long)x;
}

static int valid_name(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
      return 0;
  return 1;
}

static int load_param(wfw_lctx *c, const cJSON *spec, wfw_param *p) {
  static const char *const fields[] = {"type", "required", "default", "description", "min",
                                       "max", "not_before", "max_days_from", NULL};
  char what[128];
  p->name = spec->string;
  if (!valid_name(p->name) || strlen(p->name) > WFW_MAX_ID)
    return wfw_lfail(c, -1, "param \"%s\": names are 1-%d characters of a-z, 0-9, _ and -",
                     p->name, WFW_MAX_ID);
  snprintf(what, sizeof what, "param \"%s\": ", p->name);
  if (!cJSON_IsObject(spec))
    return wfw_lfail(c, -1, "%sexpected an object like {\"type\": \"string\"}", what);
  int rc = wfw_check_fields(c, -1, what, spec, fields);
  if (rc) return rc;
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(spec, "type");
  const cJSON *req = cJSON_GetObjectItemCaseSensitive(spec, "required");
  const cJSON *desc = cJSON_GetObjectItemCaseSensitive(spec, "description");
  p->type = WFW_P_STRING;
  if (t && (!cJSON_IsString(t) || !(p->type = wfw_param_type(t->valuestring))))
    return wfw_lfail(c, -1, "%s\"type\" must be one of: string, int, number, date, bool", what);
  if (req && !cJSON_IsBool(req)) return wfw_lfail(c, -1, "%s\"required\" must be true or false", what);
  p->required = cJSON_IsTrue(req);
  if (desc && !cJSON_IsString(desc)) return wfw_lfail(c, -1, "%s\"description\" must be a string", what);
  p->description = desc ? desc->valuestring : "";
  p->def = cJSON_GetObjectItemCaseSensitive(spec, "default");
  if (p->def) {
    char why[256];
    if (p->required)
      return wfw_lfail(c, -1, "%sa required param has no \"default\" (drop one of the two)", what);
    if (wfw_param_default_ok(p->type, p->def, why, sizeof why) != 0)
      return wfw_lfail(c, -1, "%s\"default\" %s", what, why);
    if (!(p->default_json = cJSON_PrintUnformatted(p->def))) return WF_ENOMEM;
  }
  return 0;
}

static int load_top(wfw_lctx *c) {
  static const char *const fields[] = {"name",     "version", "description",    "params",
                                       "defaults", "stages",  "metadata_stage", NULL};
  wfw_def *d = c->d;
  const cJSON *r = d->root;
  if (!cJSON_IsObject(r)) return wfw_lfail(c, -1, "expected a JSON object at the top level");
  int rc = wfw_check_fields(c, -1, "", r, fields);
  if (rc) return rc;
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(r, "name");
  const cJSON *ver = cJSON_GetObjectItemCaseSensitive(r, "version");
  const cJSON *desc = cJSON_GetObjectItemCaseSensitive(r, "description");
  const cJSON *params = cJSON_GetObjectItemCaseSensitive(r, "params");
  const cJSON *defaults = cJSON_GetObjectItemCaseSensitive(r, "defaults");
  const cJSON *stages = cJSON_GetObjectItemCaseSensitive(r, "stages");
  if (!name) return wfw_lfail(c, -1, "missing field \"name\" (a workflow name of a-z, 0-9, _ and -)");
  if (!cJSON_IsString(name) || !valid_name(name->valuestring) || strlen(name->valuestring) > 128)
    return wfw_lfail(c, -1, "\"name\" must be 1-128 characters of a-z, 0-9, _ and -");
  d->name = name->valuestring;
  if (ver && !wfw_json_int(ver, 1, INT32_MAX))
    return wfw_lfail(c, -1, "\"version\" must be an integer >= 1");
  if (desc && !cJSON_IsString(desc)) return wfw_lfail(c, -1, "\"description\" must be a string");
  d->description = desc ? desc->valuestring : "";
  if (params && !cJSON_IsObject(params))
    return wfw_lfail(c, -1, "\"params\" must be an object of name: {\"type\": ...}");
  if (params) {
    d->nparams = (uint32_t)cJSON_GetArraySize(params);
    if (d->nparams && !(d->params = calloc(d->nparams, sizeof *d->params))) return WF_ENOMEM;
    uint32_t i = 0;
    for (const cJSON *p = params->child; p; p = p->next, i++)
      if ((rc = load_param(c, p, &d->params[i])) != 0) return rc;
    /* constraints may name params declared after theirs */
    i = 0;
    for (const cJSON *p = params->child; p; p = p->next, i++)
      if ((rc = wfw_param_constraints(c, p, &d->params[i])) != 0) return rc;
  }
  if (defaults && !cJSON_IsObject(defaults))
    return wfw_lfail(c, -1, "\"defaults\" must be an object with \"retry\" and \"timeout_s\"");
  if (!stages)
    return wfw_lfail(c, -1, "missing field \"stages\" (an array of stages, e.g. "
                            "[{\"id\": \"hello\", \"run\": [\"echo\", \"{}\"]}])");
  if (!cJSON_IsArray(stages) || cJSON_GetArraySize(stages) == 0)
    return wfw_lfail(c, -1, "\"stages\" must be a non-empty array of stages");
  if ((rc = wfw_stages_load(c, stages, defaults)) != 0) return rc;
  /* The stage whose output (an object) run_metadata.json takes its extra fields from. */
  const cJSON *ms = cJSON_GetObjectItemCaseSensitive(r, "metadata_stage");
  if (ms) {
    int i = cJSON_IsString(ms) ? wfw_def_stage_index(d, ms->valuestring) : -1;
    if (i < 0) return wfw_lfail(c, -1, "\"metadata_stage\" must name a stage of the workflow");
    if (d->stages[i].fanout)
      return wfw_lfail(c, -1, "\"metadata_stage\": \"%s\" is a fan-out stage; name a stage of "
                              "one step", d->stages[i].id);
  }
  return 0;
}

/* line:column (1-based, bytes) of offset `off` in text. */
static void line_col(const char *text, size_t off, int *line, int *col) {
  *line = 1;
  *col = 1;
  for (size_t i = 0; i < off; i++) {
    if (text[i] == '\n') ++*line, *col = 1;
    else ++*col;
  }
}

/* Nesting depth of arrays and objects reached before `end` (strings skipped). */
static int depth_at(const char *text, const char *end) {
  int depth = 0, max = 0, in_str = 0;
  for (const char *p = text; p < end; p++) {
    if (in_str) {
      if (*p == '\\' && p + 1 < end) p++;
      else if (*p == '"') in_str = 0;
    } else if (*p == '"') {
      in_str = 1;
    } else if (*p == '[' || *p == '{') {
      if (++depth > max) max = depth;
    } else if (*p == ']' || *p == '}') {
      depth--;
    }
  }
  return max;
}

static int parse_json(wfw_lctx *c) {
  wfw_def *d = c->d;
  size_t len = strlen(d->text);
  const char *end = NULL;
  int line, col;
  /* The length includes the NUL: cJSON's require_null_terminated wants to see it. */
  d->root = cJSON_ParseWithLengthOpts(d->text, len + 1, &end, 1);
  if (d->root) return 0;
  if (!end || end < d->text || end > d->text + len) end = d->text + len;
  line_col(d->text, (size_t)(end - d->text), &line, &col);
  cJSON *lax = cJSON_ParseWithLengthOpts(d->text, len + 1, NULL, 0);
  const char *why = lax ? "unexpected text after the JSON value"
                    : depth_at(d->text, end) >= CJSON_NESTING_LIMIT
                        ? "nested deeper than the JSON reader allows"
                        : (end == d->text + len ? "unexpected end of input" : "invalid JSON");
  cJSON_Delete(lax);
  return wfw_lfail(c, -1, "%d:%d: %s", line, col, why);
}

/* The folder of `path`, absolute so that steps with another cwd can use it. */
static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  size_t n = slash ? (slash == path ? 1 : (size_t)(slash - path)) : 0;
  char cwd[PATH_MAX] = "";
  if (path[0] != '/' && !getcwd(cwd, sizeof cwd)) cwd[0] = '\0';
  size_t cap = strlen(cwd) + n + 2;
  char *dir = malloc(cap);
  if (!dir) return NULL;
  if (!cwd[0]) snprintf(dir, cap, "%.*s", (int)(n ? n : 1), n ? path : ".");
  else if (n == 0 || (n == 1 && path[0] == '.')) snprintf(dir, cap, "%s", cwd);
  else snprintf(dir, cap, "%s/%.*s", cwd, (int)n, path);
  return dir;
}

int wfw_parse(const char *text, size_t len, const char *path, wfw_def **out, wfw_err *err) {
  *out = NULL;
  if (err) err->msg[0] = '\0';
  if (!path) path = "<definition>";
  if (memchr(text, '\0', len)) {
    int line, col;
    line_col(text, (size_t)((const char *)memchr(text, '\0', len) - text), &line, &col);
    return wfw_fail(err, "%s:%d:%d: a NUL byte in the definition", path, line, col);
  }
  /* cJSON ends a string at an escaped NUL, which would silently cut an argument short,
   * and takes bytes that are not UTF-8 into strings (and so into step keys and JSON that
   * wf prints). */
  wfa_text_fault f;
  if (wfa_json_text_check(text, len, 0, &f) != 0) {
    int line, col;
    line_col(text, f.offset, &line, &col);
    if (f.kind == WFM_FAULT_NUL)
      return wfw_fail(err, "%s:%d:%d: \\u0000 (a NUL character) cannot be part of a string "
                           "passed to a program", path, line, col);
    return wfw_fail(err, "%s:%d:%d: not valid UTF-8 (byte 0x%02x at offset %zu): a definition "
                         "must be UTF-8 text", path, line, col,
                    (unsigned)(unsigned char)text[f.offset], f.offset);
  }
  wfw_def *d = calloc(1, sizeof *d);
  if (!d) return WF_ENOMEM;
  d->path = strdup(path);
  d->dir = dir_of(path);
  d->text = strndup(text, len);
  if (!d->path || !d->dir || !d->text) {
    wfw_def_free(d);
    return WF_ENOMEM;
  }
  wfw_lctx c = {d, err};
  int rc = parse_json(&c);
  if (rc == 0) rc = load_top(&c);
  if (rc == 0) rc = wfw_graph_check(&c);
  if (rc == 0) rc = wfw_templates_check(&c);
  if (rc == WF_ENOMEM && err) snprintf(err->msg, sizeof err->msg, "%s: out of memory", path);
  if (rc) {
    wfw_def_free(d);
    return rc;
  }
  *out = d;
  return 0;
}

int wfw_load(const char *path, wfw_def **out, wfw_err *err) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) {
    int e = errno;
    if (err) snprintf(err->msg, sizeof err->msg, "%s: %s", path, strerror(e));
    return e == ENOENT || e == ENOTDIR ? WF_ENOTFOUND : WF_EIO;
  }
  char *buf = NULL;
  size_t len = 0, cap = 0, n;
  int rc = 0;
  do {
    if (len + 4096 > cap) {
      cap = cap ? cap * 2 : 8192;
      char *g = cap > (16u << 20) ? NULL : realloc(buf, cap);
      if (!g) {
        rc = cap > (16u << 20) ? wfw_fail(err, "%s: larger than 16 MiB", path) : WF_ENOMEM;
        break;
      }
      buf = g;
    }
    n = fread(buf + len, 1, cap - len, f);
    len += n;
  } while (n > 0);
  if (rc == 0 && ferror(f)) {
    if (err) snprintf(err->msg, sizeof err->msg, "%s: read error", path);
    rc = WF_EIO;
  }
  fclose(f);
  if (rc == 0) rc = wfw_parse(buf, len, path, out, err);
  free(buf);
  return rc;
}

static void stage_clear(wfw_stage *s) {
  free(s->kind);
  for (uint32_t i = 0; i < s->argc; i++) wfw_tmpl_clear(&s->argv[i]);
  free(s->argv);
  wfw_tmpl_clear(&s->shell);
  wfw_tmpl_clear(&s->cwd);
  wfw_tmpl_clear(&s->foreach);
  wfw_tmpl_clear(&s->key);
  wfw_tmpl_clear(&s->cls);
  free(s->need_ids);
  free(s->needs);
  free(s->classes);
}

void wfw_def_free(wfw_def *d) {
  if (!d) return;
  for (uint32_t i = 0; i < d->nparams; i++) free(d->params[i].default_json);
  free(d->params);
  for (uint32_t i = 0; d->stages && i < d->nstages; i++) stage_clear(&d->stages[i]);
  free(d->stages);
  free(d->anc);
  cJSON_Delete(d->root);
  free(d->path);
  free(d->dir);
  free(d->text);
  free(d);
}

const char *wfw_def_name(const wfw_def *d) { return d->name; }
const char *wfw_def_description(const wfw_def *d) { return d->description; }
const char *wfw_def_text(const wfw_def *d) { return d->text; }
const char *wfw_def_path(const wfw_def *d) { return d->path; }
uint32_t wfw_def_nparams(const wfw_def *d) { return d->nparams; }
uint32_t wfw_def_nstages(const wfw_def *d) { return d->nstages; }

void wfw_def_param(const wfw_def *d, uint32_t i, wfw_param_info *out) {
  const wfw_param *p = &d->params[i];
  out->name = p->name;
  out->type = wfw_param_type_name(p->type);
  out->description = p->description;
  out->required = p->required;
  out->default_json = p->default_json;
}

void wfw_def_stage(const wfw_def *d, uint32_t i, wfw_stage_info *out) {
  const wfw_stage *s = &d->stages[i];
  out->id = s->id;
  out->description = s->description;
  out->kind = s->kind;
  out->foreach = s->foreach_src;
  out->needs = s->need_ids;
  out->nneeds = s->nneeds;
  out->validate = s->validate;
}

int wfw_def_stage_index(const wfw_def *d, const char *id) {
  for (uint32_t i = 0; i < d->nstages; i++)
    if (strcmp(d->stages[i].id, id) == 0) return (int)i;
  return -1;
}
