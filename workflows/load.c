/* load.c — reading a workflow definition: JSON syntax, the top level and the declared
 * params; the stages are checked by stage.c and graph.c, with the messages of diag.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wfw_int.h"

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

/* "env": ["TOGGL_API_TOKEN", ...], the environment variables a run needs. */
static int load_env(wfw_lctx *c, const cJSON *env) {
  static const char want[] = "\"env\" must be an array of environment variable names, "
                             "e.g. [\"API_TOKEN\"]";
  wfw_def *d = c->d;
  if (!env) return 0;
  if (!cJSON_IsArray(env)) return wfw_lfail(c, -1, "%s", want);
  int n = cJSON_GetArraySize(env);
  if (n && !(d->env = calloc((size_t)n, sizeof *d->env))) return WF_ENOMEM;
  for (const cJSON *e = env->child; e; e = e->next) {
    const char *v = cJSON_IsString(e) ? e->valuestring : NULL;
    size_t len = v ? strlen(v) : 0;
    if (!v || !len || len > 128 || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                             "0123456789_") != len || (v[0] >= '0' && v[0] <= '9'))
      return wfw_lfail(c, -1, "%s; \"%.64s\" is not one (letters, digits and _, not first a "
                              "digit)", want, v ? v : wfw_json_type(e));
    for (uint32_t i = 0; i < d->nenv; i++)
      if (strcmp(d->env[i], v) == 0) return wfw_lfail(c, -1, "\"env\" names %s twice", v);
    d->env[d->nenv++] = v;
  }
  return 0;
}

static int load_top(wfw_lctx *c) {
  static const char *const fields[] = {"name",     "version", "description",    "params",
                                       "defaults", "stages",  "metadata_stage", "env",
                                       "on_success", "on_failure", "on_finish", NULL};
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
  if ((rc = load_env(c, cJSON_GetObjectItemCaseSensitive(r, "env"))) != 0) return rc;
  if (defaults && !cJSON_IsObject(defaults))
    return wfw_lfail(c, -1, "\"defaults\" must be an object with \"retry\" and \"timeout_s\"");
  if (!stages)
    return wfw_lfail(c, -1, "missing field \"stages\" (an array of stages, e.g. "
                            "[{\"id\": \"hello\", \"run\": [\"echo\", \"{}\"]}])");
  if (!cJSON_IsArray(stages) || cJSON_GetArraySize(stages) == 0)
    return wfw_lfail(c, -1, "\"stages\" must be a non-empty array of stages");
  if ((rc = wfw_stages_load(c, stages, defaults)) != 0 || (rc = wfw_hooks_load(c)) != 0)
    return rc;
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
