/* params.c — declared parameter types and binding "-p key=value" pairs into the
 * msgpack map a run records.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wfmp.h"
#include "wfw_int.h"

/* Integers travel through JSON numbers (doubles): beyond 2^53 they would change. */
#define MAX_EXACT 9007199254740992.0

static const char *const type_names[] = {NULL, "string", "int", "date", "bool", "number"};

int wfw_param_type(const char *name) {
  for (int t = WFW_P_STRING; t <= WFW_P_NUMBER; t++)
    if (strcmp(name, type_names[t]) == 0) return t;
  return 0;
}

const char *wfw_param_type_name(int type) {
  return type >= WFW_P_STRING && type <= WFW_P_NUMBER ? type_names[type] : "?";
}

int wfw_date_valid(const char *s) {
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (strlen(s) != 10 || s[4] != '-' || s[7] != '-') return 0;
  for (int i = 0; i < 10; i++)
    if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return 0;
  int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
  if (y < 1 || m < 1 || m > 12 || d < 1) return 0;
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= mdays[m - 1] + (m == 2 && leap);
}

int wfw_param_default_ok(int type, const cJSON *v, char *why, size_t cap) {
  switch (type) {
  case WFW_P_STRING:
    if (cJSON_IsString(v)) return 0;
    snprintf(why, cap, "must be a string");
    break;
  case WFW_P_INT:
    if (wfw_json_int(v, -MAX_EXACT, MAX_EXACT)) return 0;
    snprintf(why, cap, "must be an integer (at most 2^53 in size)");
    break;
  case WFW_P_DATE:
    if (cJSON_IsString(v) && wfw_date_valid(v->valuestring)) return 0;
    snprintf(why, cap, "must be a date string \"YYYY-MM-DD\" that exists");
    break;
  case WFW_P_NUMBER:
    if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) return 0;
    snprintf(why, cap, "must be a number");
    break;
  default:
    if (cJSON_IsBool(v)) return 0;
    snprintf(why, cap, "must be true or false");
    break;
  }
  return WF_EINVAL;
}

static const char *placeholder(int type) {
  switch (type) {
  case WFW_P_INT: return "N";
  case WFW_P_NUMBER: return "1.5";
  case WFW_P_DATE: return "YYYY-MM-DD";
  case WFW_P_BOOL: return "true";
  default: return "VALUE";
  }
}

static int parse_bool(const char *s, int *b) {
  static const char *const yes[] = {"true", "1", "yes"}, *const no[] = {"false", "0", "no"};
  for (int i = 0; i < 3; i++) {
    if (strcasecmp(s, yes[i]) == 0) return *b = 1, 0;
    if (strcasecmp(s, no[i]) == 0) return *b = 0, 0;
  }
  return WF_EINVAL;
}

/* One "-p" value into a typed JSON value. */
static int convert(const wfw_param *p, const char *s, cJSON **out, wfw_err *err) {
  size_t n = strlen(s), ok = wfm_utf8_check(s, n);
  *out = NULL;
  if (ok < n)
    return wfw_fail(err, "param \"%s\": not valid UTF-8 (byte 0x%02x at offset %zu): wf records "
                    "and prints values as UTF-8 text", p->name, (unsigned)(unsigned char)s[ok], ok);
  if (p->type == WFW_P_INT) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || (double)v > MAX_EXACT || (double)v < -MAX_EXACT)
      return wfw_fail(err, "param \"%s\": expected an int, got \"%s\"", p->name, s);
    *out = cJSON_CreateNumber((double)v);
  } else if (p->type == WFW_P_NUMBER) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v))
      return wfw_fail(err, "param \"%s\": expected a number, got \"%s\"", p->name, s);
    *out = cJSON_CreateNumber(v);
  } else if (p->type == WFW_P_DATE) {
    if (!wfw_date_valid(s))
      return wfw_fail(err, "param \"%s\": \"%s\" is not a date (expected YYYY-MM-DD, a day that "
                      "exists)", p->name, s);
    *out = cJSON_CreateString(s);
  } else if (p->type == WFW_P_BOOL) {
    int b;
    if (parse_bool(s, &b) != 0)
      return wfw_fail(err, "param \"%s\": expected a bool (true/false, yes/no, 1/0), got \"%s\"",
                      p->name, s);
    *out = cJSON_CreateBool(b);
  } else {
    *out = cJSON_CreateString(s);
  }
  return *out ? 0 : WF_ENOMEM;
}

static int find_param(const wfw_def *d, const char *key, size_t n) {
  for (uint32_t i = 0; i < d->nparams; i++)
    if (strlen(d->params[i].name) == n && memcmp(d->params[i].name, key, n) == 0) return (int)i;
  return -1;
}

static int unknown(const wfw_def *d, const char *key, size_t n, wfw_err *err) {
  char list[512];
  size_t len = 0;
  list[0] = '\0';
  for (uint32_t i = 0; i < d->nparams && len < sizeof list; i++)
    len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", d->params[i].name);
  if (!d->nparams)
    return wfw_fail(err, "unknown param \"%.*s\" (workflow \"%s\" declares no params)", (int)n,
                    key, d->name);
  return wfw_fail(err, "unknown param \"%.*s\" (declared: %s)", (int)n, key, list);
}

/* ---- constraints ------------------------------------------------------------------------ */

/* Days since 1970-01-01 of a valid YYYY-MM-DD (proleptic Gregorian). */
static long day_number(const char *s) {
  long y = atol(s), m = atol(s + 5), d = atol(s + 8);
  y -= m <= 2;
  long era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400;
  long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

/* The index of the date param named by string v, other than `self`, or -1. */
static int date_param(const wfw_def *d, const cJSON *v, uint32_t self) {
  if (!cJSON_IsString(v)) return -1;
  int i = find_param(d, v->valuestring, strlen(v->valuestring));
  return i >= 0 && (uint32_t)i != self && d->params[i].type == WFW_P_DATE ? i : -1;
}

int wfw_param_constraints(wfw_lctx *c, const cJSON *spec, wfw_param *p) {
  const cJSON *nb = cJSON_GetObjectItemCaseSensitive(spec, "not_before");
  const cJSON *mdf = cJSON_GetObjectItemCaseSensitive(spec, "max_days_from");
  const cJSON *days = cJSON_GetObjectItemCaseSensitive(mdf, "days");
  uint32_t self = (uint32_t)(p - c->d->params);
  char what[128];
  snprintf(what, sizeof what, "param \"%s\": ", p->name);
  p->min = cJSON_GetObjectItemCaseSensitive(spec, "min");
  p->max = cJSON_GetObjectItemCaseSensitive(spec, "max");
  p->not_before = p->days_from = -1;
  if ((p->min || p->max) && p->type != WFW_P_INT && p->type != WFW_P_NUMBER)
    return wfw_lfail(c, -1, "%s\"min\" and \"max\" apply to int and number params", what);
  if ((p->min && (!cJSON_IsNumber(p->min) || !isfinite(p->min->valuedouble))) ||
      (p->max && (!cJSON_IsNumber(p->max) || !isfinite(p->max->valuedouble))) ||
      (p->min && p->max && p->min->valuedouble > p->max->valuedouble))
    return wfw_lfail(c, -1, "%s\"min\" and \"max\" must be numbers, min <= max", what);
  if (p->def && ((p->min && p->def->valuedouble < p->min->valuedouble) ||
                 (p->max && p->def->valuedouble > p->max->valuedouble)))
    return wfw_lfail(c, -1, "%s\"default\" is outside its \"min\"..\"max\"", what);
  if ((nb || mdf) && p->type != WFW_P_DATE)
    return wfw_lfail(c, -1, "%s\"not_before\" and \"max_days_from\" apply to date params", what);
  if (nb && (p->not_before = date_param(c->d, nb, self)) < 0)
    return wfw_lfail(c, -1, "%s\"not_before\" must name another date param", what);
  if (mdf) {
    static const char *const fields[] = {"param", "days", NULL};
    int rc = cJSON_IsObject(mdf) ? wfw_check_fields(c, -1, what, mdf, fields) : 0;
    if (rc) return rc;
    p->days_from = date_param(c->d, cJSON_GetObjectItemCaseSensitive(mdf, "param"), self);
    if (p->days_from < 0 || !wfw_json_int(days, 1, 100000))
      return wfw_lfail(c, -1, "%s\"max_days_from\" must be {\"param\": <another date param>, "
                       "\"days\": <1..100000>}", what);
    p->max_days = (int)days->valuedouble;
  }
  return 0;
}

/* The declared constraints on the bound values (a value checked against another param
 * only when both are bound). */
static int check_constraints(const wfw_def *d, const cJSON *obj, wfw_err *err) {
  for (uint32_t i = 0; i < d->nparams; i++) {
    const wfw_param *p = &d->params[i];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, p->name), *o;
    if (!v) continue;
    if (p->min && v->valuedouble < p->min->valuedouble)
      return wfw_fail(err, "param \"%s\" is %g, below its minimum %g", p->name, v->valuedouble,
                      p->min->valuedouble);
    if (p->max && v->valuedouble > p->max->valuedouble)
      return wfw_fail(err, "param \"%s\" is %g, above its maximum %g", p->name, v->valuedouble,
                      p->max->valuedouble);
    if (p->not_before >= 0 &&
        (o = cJSON_GetObjectItemCaseSensitive(obj, d->params[p->not_before].name)) &&
        strcmp(v->valuestring, o->valuestring) < 0)
      return wfw_fail(err, "param \"%s\" is %s, before param \"%s\" (%s); it must be the same "
                      "day or later", p->name, v->valuestring, d->params[p->not_before].name,
                      o->valuestring);
    if (p->days_from >= 0 &&
        (o = cJSON_GetObjectItemCaseSensitive(obj, d->params[p->days_from].name))) {
      long n = day_number(v->valuestring) - day_number(o->valuestring) + 1;
      if (n > p->max_days)
        return wfw_fail(err, "param \"%s\" is %s, %ld days from param \"%s\" (%s) counting "
                        "both; at most %d are allowed", p->name, v->valuestring, n,
                        d->params[p->days_from].name, o->valuestring, p->max_days);
    }
  }
  return 0;
}

/* ---- binding ------------------------------------------------------------------------------ */

static int bind_values(const wfw_def *d, const char *const *kv, size_t n, const char **given,
                cJSON *obj, wfw_err *err) {
  for (size_t k = 0; k < n; k++) {
    const char *eq = strchr(kv[k], '=');
    if (!eq || eq == kv[k]) return wfw_fail(err, "-p \"%s\": expected key=value", kv[k]);
    int i = find_param(d, kv[k], (size_t)(eq - kv[k]));
    if (i < 0) return unknown(d, kv[k], (size_t)(eq - kv[k]), err);
    given[i] = eq + 1;   /* the last -p of a key wins */
  }
  for (uint32_t i = 0; i < d->nparams; i++) {
    const wfw_param *p = &d->params[i];
    cJSON *v = NULL;
    int rc;
    if (given[i]) {
      if ((rc = convert(p, given[i], &v, err)) != 0) return rc;
    } else if (p->def) {
      if (!(v = cJSON_Duplicate(p->def, 1))) return WF_ENOMEM;
    } else if (p->required) {
      return wfw_fail(err, "missing required param \"%s\" (use -p %s=%s)", p->name, p->name,
                      placeholder(p->type));
    } else {
      continue;
    }
    cJSON_AddItemToObject(obj, p->name, v);
  }
  return check_constraints(d, obj, err);
}

int wfw_bind_params(const wfw_def *d, const char *const *kv, size_t n, uint8_t **params,
                    size_t *params_len, wfw_err *err) {
  *params = NULL;
  *params_len = 0;
  if (err) err->msg[0] = '\0';
  const char **given = calloc(d->nparams + 1, sizeof *given);
  cJSON *obj = cJSON_CreateObject();
  int rc = given && obj ? bind_values(d, kv, n, given, obj, err) : WF_ENOMEM;
  if (rc == 0) rc = wfa_json_to_mp_buf(obj, params, params_len);
  if (rc == WF_ENOMEM && err) snprintf(err->msg, sizeof err->msg, "out of memory");
  cJSON_Delete(obj);
  free(given);
  return rc;
}
