/* stage.c — checking each stage of a definition on its own: fields, kind (run, shell,
 * uses), fan-out fields, retry policy, timeout and concurrency limits.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wfw_int.h"

static const char *const stage_fields[] = {
    "id", "needs", "description", "run", "shell", "uses", "foreach", "key", "class", "retry",
    "timeout_s", "concurrency", "by_class", "rate", "cwd", "with", "validate", "check", "expect",
    "cache", NULL};

static const wfi_retry default_retry = {.max_attempts = 1, .initial_interval_s = 1.0,
                                        .backoff = 2.0, .max_interval_s = 60.0};

static int is_num(const cJSON *v, double lo, double hi) {
  return cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble >= lo &&
         v->valuedouble <= hi;
}

/* Apply the fields present in `o` on top of *r. */
static int load_retry(wfw_lctx *c, int stage, const char *what, const cJSON *o, wfi_retry *r) {
  static const char *const fields[] = {"max_attempts", "initial_interval_s", "backoff",
                                       "max_interval_s", "non_retryable_exit_codes", NULL};
  if (!cJSON_IsObject(o))
    return wfw_lfail(c, stage, "%sexpected an object like {\"max_attempts\": 3}", what);
  int rc = wfw_check_fields(c, stage, what, o, fields);
  if (rc) return rc;
  const cJSON *v;
  if ((v = cJSON_GetObjectItemCaseSensitive(o, "max_attempts"))) {
    if (!wfw_json_int(v, 1, 1000))
      return wfw_lfail(c, stage, "%s\"max_attempts\" must be an integer from 1 to 1000", what);
    r->max_attempts = (uint32_t)v->valuedouble;
  }
  if ((v = cJSON_GetObjectItemCaseSensitive(o, "initial_interval_s"))) {
    if (!is_num(v, 0, 86400))
      return wfw_lfail(c, stage, "%s\"initial_interval_s\" must be seconds from 0 to 86400", what);
    r->initial_interval_s = v->valuedouble;
  }
  if ((v = cJSON_GetObjectItemCaseSensitive(o, "backoff"))) {
    if (!is_num(v, 1, 100))
      return wfw_lfail(c, stage, "%s\"backoff\" must be a multiplier from 1 to 100", what);
    r->backoff = v->valuedouble;
  }
  if ((v = cJSON_GetObjectItemCaseSensitive(o, "max_interval_s"))) {
    if (!is_num(v, 0, 86400))
      return wfw_lfail(c, stage, "%s\"max_interval_s\" must be seconds from 0 (no cap) to 86400",
                       what);
    r->max_interval_s = v->valuedouble;
  }
  if ((v = cJSON_GetObjectItemCaseSensitive(o, "non_retryable_exit_codes"))) {
    int n = cJSON_GetArraySize(v);
    if (!cJSON_IsArray(v) || n > WFW_MAX_NONRETRY)
      return wfw_lfail(c, stage, "%s\"non_retryable_exit_codes\" must be an array of at most %d "
                       "exit codes", what, WFW_MAX_NONRETRY);
    r->n_nonretry = 0;
    for (const cJSON *e = v->child; e; e = e->next) {
      if (!wfw_json_int(e, 0, 255))
        return wfw_lfail(c, stage, "%s\"non_retryable_exit_codes\" must hold integers from 0 to "
                         "255", what);
      r->nonretry_codes[r->n_nonretry++] = (int32_t)e->valuedouble;
    }
  }
  return 0;
}

static int load_timeout(wfw_lctx *c, int stage, const char *what, const cJSON *v, double *t) {
  if (!is_num(v, 0, 30 * 86400) || v->valuedouble <= 0)
    return wfw_lfail(c, stage, "%s\"timeout_s\" must be seconds > 0 (at most 30 days)", what);
  *t = v->valuedouble;
  return 0;
}

static int stage_id(wfw_lctx *c, int i, const cJSON *o) {
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
  wfw_stage *s = &c->d->stages[i];
  if (!id) return wfw_lfail(c, i, "missing field \"id\"");
  if (!cJSON_IsString(id)) return wfw_lfail(c, i, "\"id\" must be a string");
  size_t n = strlen(id->valuestring);
  int ok = n > 0 && n <= WFW_MAX_ID;
  for (const char *p = id->valuestring; ok && *p; p++)
    ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
         *p == '_' || *p == '-';
  if (!ok)
    return wfw_lfail(c, i, "id \"%s\": expected 1-%d characters of A-Z, a-z, 0-9, _ and -",
                     id->valuestring, WFW_MAX_ID);
  s->id = id->valuestring;
  for (int j = 0; j < i; j++)
    if (strcmp(c->d->stages[j].id, s->id) == 0)
      return wfw_lfail(c, i, "id is used twice (stages #%d and #%d); ids must be unique",
                       j + 1, i + 1);
  return 0;
}

static int tmpl(wfw_lctx *c, int i, const char *field, const cJSON *v, wfw_tmpl *t) {
  char why[512];
  int rc = wfw_tmpl_parse(v->valuestring, t, why, sizeof why);
  if (rc == WF_EINVAL) return wfw_lfail(c, i, "field \"%s\": %s", field, why);
  return rc;
}

static void builtin_name(void *ud, const char *name) {
  char *list = ud;
  size_t n = strlen(list);
  if (n + strlen(name) + 3 < 512) snprintf(list + n, 512 - n, "%s%s", n ? ", " : "", name);
}

static int load_kind(wfw_lctx *c, int i, const cJSON *o) {
  wfw_stage *s = &c->d->stages[i];
  const cJSON *run = cJSON_GetObjectItemCaseSensitive(o, "run");
  const cJSON *sh = cJSON_GetObjectItemCaseSensitive(o, "shell");
  const cJSON *uses = cJSON_GetObjectItemCaseSensitive(o, "uses");
  const cJSON *with = cJSON_GetObjectItemCaseSensitive(o, "with");
  const cJSON *cwd = cJSON_GetObjectItemCaseSensitive(o, "cwd");
  int rc, n = !!run + !!sh + !!uses;
  if (n != 1)
    return wfw_lfail(c, i, "needs exactly one of \"run\" (an argv array), \"shell\" (a command "
                     "string) or \"uses\" (a built-in); found %s",
                     n == 0 ? "none" : run && sh ? "\"run\" and \"shell\"" : run ? "\"run\" and \"uses\""
                     : "\"shell\" and \"uses\"");
  if (run) {
    int argc = cJSON_GetArraySize(run);
    if (!cJSON_IsArray(run) || argc == 0)
      return wfw_lfail(c, i, "\"run\" must be a non-empty array of strings (program and arguments)");
    s->mode = WFW_RUN;
    if (!(s->argv = calloc((size_t)argc, sizeof *s->argv))) return WF_ENOMEM;
    for (const cJSON *a = run->child; a; a = a->next) {
      char field[32];
      snprintf(field, sizeof field, "run[%u]", s->argc);
      if (!cJSON_IsString(a)) return wfw_lfail(c, i, "\"%s\" must be a string", field);
      if ((rc = tmpl(c, i, field, a, &s->argv[s->argc])) != 0) return rc;
      s->argc++;
    }
    if (!s->argv[0].nparts) return wfw_lfail(c, i, "\"run[0]\" (the program) is empty");
  } else if (sh) {
    if (!cJSON_IsString(sh) || !sh->valuestring[0])
      return wfw_lfail(c, i, "\"shell\" must be a non-empty command string");
    s->mode = WFW_SHELL;
    if ((rc = tmpl(c, i, "shell", sh, &s->shell)) != 0) return rc;
  } else {
    char list[512] = "";
    if (!cJSON_IsString(uses)) return wfw_lfail(c, i, "\"uses\" must be the name of a built-in");
    s->mode = WFW_USES;
    s->uses = uses->valuestring;
    if (!(s->act = wfa_builtin(s->uses))) {
      wfa_builtin_names(builtin_name, list);
      return wfw_lfail(c, i, "\"uses\": unknown built-in \"%s\" (available: %s)", s->uses,
                       list[0] ? list : "none");
    }
  }
  if (with && !uses) return wfw_lfail(c, i, "\"with\" goes with \"uses\" (arguments of a built-in)");
  if (with && !cJSON_IsObject(with)) return wfw_lfail(c, i, "\"with\" must be an object");
  s->with = with;
  if (cwd && uses) return wfw_lfail(c, i, "\"cwd\" goes with \"run\" or \"shell\"");
  if (cwd && (!cJSON_IsString(cwd) || !cwd->valuestring[0]))
    return wfw_lfail(c, i, "\"cwd\" must be a non-empty directory path");
  if (cwd && (rc = tmpl(c, i, "cwd", cwd, &s->cwd)) != 0) return rc;
  s->has_cwd = !!cwd;
  if (s->mode != WFW_USES) s->act = &wfa_exec;
  size_t klen = strlen(s->mode == WFW_USES ? s->uses : "shell") + 6;
  if (!(s->kind = malloc(klen))) return WF_ENOMEM;
  if (s->mode == WFW_USES) snprintf(s->kind, klen, "uses:%s", s->uses);
  else snprintf(s->kind, klen, "%s", s->mode == WFW_RUN ? "run" : "shell");
  return 0;
}

static int load_fanout(wfw_lctx *c, int i, const cJSON *o) {
  wfw_stage *s = &c->d->stages[i];
  const cJSON *fe = cJSON_GetObjectItemCaseSensitive(o, "foreach");
  const cJSON *key = cJSON_GetObjectItemCaseSensitive(o, "key");
  const cJSON *cls = cJSON_GetObjectItemCaseSensitive(o, "class");
  int rc;
  s->foreach_stage = -1;
  if (!fe) {
    if (key || cls)
      return wfw_lfail(c, i, "\"%s\" goes with \"foreach\" (it names or classes each item)",
                       key ? "key" : "class");
    return 0;
  }
  if (!cJSON_IsString(fe))
    return wfw_lfail(c, i, "\"foreach\" must be a string like \"${stages.<id>.output.items}\"");
  if (!key)
    return wfw_lfail(c, i, "\"foreach\" needs \"key\", e.g. \"${item.id}\": an item's key is its "
                     "identity across resumes, so it must be given explicitly");
  if (!cJSON_IsString(key) || !key->valuestring[0])
    return wfw_lfail(c, i, "\"key\" must be a non-empty string like \"${item.id}\"");
  if (cls && (!cJSON_IsString(cls) || !cls->valuestring[0]))
    return wfw_lfail(c, i, "\"class\" must be a non-empty string like \"${item.type}\"");
  s->fanout = 1;
  s->foreach_src = fe->valuestring;
  if ((rc = tmpl(c, i, "foreach", fe, &s->foreach)) != 0) return rc;
  if ((rc = tmpl(c, i, "key", key, &s->key)) != 0) return rc;
  if (cls && (rc = tmpl(c, i, "class", cls, &s->cls)) != 0) return rc;
  s->has_cls = !!cls;
  return 0;
}

/* by_class and rate into the stage's limits. A numeric rate bounds the starts of the
 * whole stage (one API token behind every class, say); an object of class: rate bounds
 * each class ("*": every class not listed). */
static int load_classes(wfw_lctx *c, int i, const cJSON *o) {
  wfw_stage *s = &c->d->stages[i];
  const cJSON *bc = cJSON_GetObjectItemCaseSensitive(o, "by_class");
  const cJSON *rate = cJSON_GetObjectItemCaseSensitive(o, "rate");
  const cJSON *v;
  if (bc && !cJSON_IsObject(bc))
    return wfw_lfail(c, i, "\"by_class\" must be an object of class: limit");
  if (rate && !cJSON_IsObject(rate) && !(is_num(rate, 0, 1e6) && rate->valuedouble > 0))
    return wfw_lfail(c, i, "\"rate\" must be starts per second > 0, or an object of class: rate");
  if ((bc || cJSON_IsObject(rate)) && !s->has_cls)
    return wfw_lfail(c, i, "\"%s\" per class needs \"class\" (with \"foreach\") to class the items",
                     bc ? "by_class" : "rate");
  size_t cap = (size_t)cJSON_GetArraySize(bc) + (size_t)cJSON_GetArraySize(rate) + 1;
  if (!(s->classes = calloc(cap, sizeof *s->classes))) return WF_ENOMEM;
  for (v = bc ? bc->child : NULL; v; v = v->next) {
    if (!wfw_json_int(v, 1, 1e6))
      return wfw_lfail(c, i, "\"by_class\": \"%s\" must be an integer limit >= 1", v->string);
    s->classes[s->nclasses].cls = v->string;
    s->classes[s->nclasses++].limit = (uint32_t)v->valuedouble;
  }
  if (cJSON_IsNumber(rate)) {
    s->rate = rate->valuedouble;
    return 0;
  }
  for (v = rate ? rate->child : NULL; v; v = v->next) {
    if (!is_num(v, 0, 1e6) || v->valuedouble <= 0)
      return wfw_lfail(c, i, "\"rate\": \"%s\" must be starts per second > 0", v->string);
    uint32_t k = 0;
    while (k < s->nclasses && strcmp(s->classes[k].cls, v->string) != 0) k++;
    if (k == s->nclasses) s->classes[s->nclasses++].cls = v->string;
    s->classes[k].rate = v->valuedouble;
  }
  return 0;
}

/* "check": an argv like "run", given each step's output on stdin; "expect": the built-in
 * expectations {"min_items": N, "required": [field, ..]} on that output. */
static int load_checks(wfw_lctx *c, int i, const cJSON *o) {
  wfw_stage *s = &c->d->stages[i];
  const cJSON *chk = cJSON_GetObjectItemCaseSensitive(o, "check");
  const cJSON *exp = cJSON_GetObjectItemCaseSensitive(o, "expect");
  int rc;
  if (chk) {
    int argc = cJSON_GetArraySize(chk);
    if (!cJSON_IsArray(chk) || argc == 0)
      return wfw_lfail(c, i, "\"check\" must be a non-empty array of strings (a program and its "
                       "arguments, like \"run\"); it gets the stage's output on stdin and fails "
                       "the stage by exiting non-zero");
    if (!(s->check = calloc((size_t)argc, sizeof *s->check))) return WF_ENOMEM;
    for (const cJSON *a = chk->child; a; a = a->next) {
      char field[32];
      snprintf(field, sizeof field, "check[%u]", s->ncheck);
      if (!cJSON_IsString(a)) return wfw_lfail(c, i, "\"%s\" must be a string", field);
      if ((rc = tmpl(c, i, field, a, &s->check[s->ncheck])) != 0) return rc;
      s->ncheck++;
    }
    if (!s->check[0].nparts) return wfw_lfail(c, i, "\"check[0]\" (the program) is empty");
    if (!(s->check_text = cJSON_PrintUnformatted(chk))) return WF_ENOMEM;
    s->check_prog = chk->child->valuestring;
  }
  if (!exp) return 0;
  static const char *const efields[] = {"min_items", "required", NULL};
  if (!cJSON_IsObject(exp))
    return wfw_lfail(c, i, "\"expect\" must be an object like {\"min_items\": 1, \"required\": "
                     "[\"id\"]}");
  if ((rc = wfw_check_fields(c, i, "expect: ", exp, efields)) != 0) return rc;
  const cJSON *mi = cJSON_GetObjectItemCaseSensitive(exp, "min_items");
  const cJSON *req = cJSON_GetObjectItemCaseSensitive(exp, "required");
  if (mi && !wfw_json_int(mi, 0, 1e12))
    return wfw_lfail(c, i, "expect: \"min_items\" must be an integer >= 0");
  if (req && (!cJSON_IsArray(req) || cJSON_GetArraySize(req) == 0))
    return wfw_lfail(c, i, "expect: \"required\" must be a non-empty array of field names");
  for (const cJSON *f = req ? req->child : NULL; f; f = f->next)
    if (!cJSON_IsString(f) || !f->valuestring[0])
      return wfw_lfail(c, i, "expect: \"required\" must hold field names (non-empty strings)");
  s->expect = exp;
  s->has_min_items = !!mi;
  s->min_items = mi ? (uint64_t)mi->valuedouble : 0;
  s->required = req;
  if (!(s->expect_text = cJSON_PrintUnformatted(exp))) return WF_ENOMEM;
  return 0;
}

static int load_stage(wfw_lctx *c, int i, const cJSON *o, const wfi_retry *dretry,
                      double dtimeout) {
  wfw_stage *s = &c->d->stages[i];
  const cJSON *v;
  int rc;
  if (!cJSON_IsObject(o)) return wfw_lfail(c, i, "expected an object with \"id\" and \"run\"");
  if ((rc = stage_id(c, i, o)) != 0 || (rc = wfw_check_fields(c, i, "", o, stage_fields)) != 0)
    return rc;
  v = cJSON_GetObjectItemCaseSensitive(o, "description");
  if (v && !cJSON_IsString(v)) return wfw_lfail(c, i, "\"description\" must be a string");
  s->description = v ? v->valuestring : "";
  v = cJSON_GetObjectItemCaseSensitive(o, "needs");
  if (v) {
    int n = cJSON_GetArraySize(v);
    if (!cJSON_IsArray(v)) return wfw_lfail(c, i, "\"needs\" must be an array of stage ids");
    if (n && (!(s->need_ids = calloc((size_t)n, sizeof *s->need_ids)) ||
              !(s->needs = calloc((size_t)n, sizeof *s->needs))))
      return WF_ENOMEM;
    for (const cJSON *e = v->child; e; e = e->next) {
      if (!cJSON_IsString(e)) return wfw_lfail(c, i, "\"needs\" must hold stage ids (strings)");
      s->need_ids[s->nneeds++] = e->valuestring;
    }
  }
  if ((rc = load_kind(c, i, o)) != 0 || (rc = load_fanout(c, i, o)) != 0 ||
      (rc = load_classes(c, i, o)) != 0 || (rc = load_checks(c, i, o)) != 0)
    return rc;
  s->retry = *dretry;
  if ((v = cJSON_GetObjectItemCaseSensitive(o, "retry")) &&
      (rc = load_retry(c, i, "retry: ", v, &s->retry)) != 0)
    return rc;
  s->timeout_s = dtimeout;
  if ((v = cJSON_GetObjectItemCaseSensitive(o, "timeout_s")) &&
      (rc = load_timeout(c, i, "", v, &s->timeout_s)) != 0)
    return rc;
  if ((v = cJSON_GetObjectItemCaseSensitive(o, "concurrency"))) {
    if (!wfw_json_int(v, 1, 1e6))
      return wfw_lfail(c, i, "\"concurrency\" must be an integer >= 1 (steps in flight)");
    s->concurrency = (uint32_t)v->valuedouble;
  }
  if ((v = cJSON_GetObjectItemCaseSensitive(o, "cache"))) {
    if (!cJSON_IsBool(v))
      return wfw_lfail(c, i, "\"cache\" must be true or false (true: reuse the output of an "
                       "earlier run's step with the same command and input)");
    s->cache = cJSON_IsTrue(v);
  }
  if ((v = cJSON_GetObjectItemCaseSensitive(o, "validate"))) {
    if (!cJSON_IsBool(v)) return wfw_lfail(c, i, "\"validate\" must be true or false");
    s->validate = cJSON_IsTrue(v);
    if (s->validate && s->fanout)
      return wfw_lfail(c, i, "\"validate\": a stage that checks a start before the run exists "
                       "is one step; it cannot have \"foreach\"");
  }
  return 0;
}

int wfw_stages_load(wfw_lctx *c, const cJSON *stages, const cJSON *defaults) {
  static const char *const dfields[] = {"retry", "timeout_s", NULL};
  wfi_retry dretry = default_retry;
  double dtimeout = 0;
  const cJSON *v;
  int rc;
  if (defaults) {
    if ((rc = wfw_check_fields(c, -1, "defaults: ", defaults, dfields)) != 0) return rc;
    if ((v = cJSON_GetObjectItemCaseSensitive(defaults, "retry")) &&
        (rc = load_retry(c, -1, "defaults.retry: ", v, &dretry)) != 0)
      return rc;
    if ((v = cJSON_GetObjectItemCaseSensitive(defaults, "timeout_s")) &&
        (rc = load_timeout(c, -1, "defaults: ", v, &dtimeout)) != 0)
      return rc;
  }
  wfw_def *d = c->d;
  int n = cJSON_GetArraySize(stages);
  if (n > 1000) return wfw_lfail(c, -1, "\"stages\": at most 1000 stages (found %d)", n);
  if (!(d->stages = calloc((size_t)n, sizeof *d->stages))) return WF_ENOMEM;
  d->nstages = (uint32_t)n;
  int i = 0;
  for (const cJSON *o = stages->child; o; o = o->next, i++)
    if ((rc = load_stage(c, i, o, &dretry, dtimeout)) != 0) return rc;
  return 0;
}
