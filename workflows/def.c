/* def.c — a loaded definition: what wfdef.h lets its users read of it, and freeing it. */
#include <stdlib.h>
#include <string.h>

#include "wfw_int.h"

static void stage_clear(wfw_stage *s) {
  free(s->kind);
  for (uint32_t i = 0; i < s->argc; i++) wfw_tmpl_clear(&s->argv[i]);
  free(s->argv);
  wfw_tmpl_clear(&s->shell);
  wfw_tmpl_clear(&s->cwd);
  wfw_tmpl_clear(&s->foreach);
  wfw_tmpl_clear(&s->key);
  wfw_tmpl_clear(&s->cls);
  for (uint32_t i = 0; i < s->ncheck; i++) wfw_tmpl_clear(&s->check[i]);
  free(s->check);
  cJSON_free(s->check_text);
  cJSON_free(s->expect_text);
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
  free(d->env);
  wfw_hooks_clear(d);
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
  out->check = s->check_text;
  out->expect = s->expect_text;
}

int wfw_def_stage_index(const wfw_def *d, const char *id) {
  for (uint32_t i = 0; i < d->nstages; i++)
    if (strcmp(d->stages[i].id, id) == 0) return (int)i;
  return -1;
}

uint32_t wfw_def_nenv(const wfw_def *d) { return d->nenv; }
const char *wfw_def_env(const wfw_def *d, uint32_t i) { return d->env[i]; }

const char *wfw_def_env_missing(const wfw_def *d) {
  for (uint32_t i = 0; i < d->nenv; i++) {
    const char *v = getenv(d->env[i]);
    if (!v || !v[0]) return d->env[i];
  }
  return NULL;
}

char *wfw_def_stage_program(const wfw_def *d, uint32_t i, int *has_cwd) {
  const wfw_stage *s = &d->stages[i];
  *has_cwd = s->has_cwd;
  if (s->mode == WFW_SHELL) return strdup("sh");
  if (s->mode != WFW_RUN || !s->argc) return NULL;
  /* Only ${workflow.dir} is known before a run: a program made of anything else is not. */
  wfw_ictx c;
  memset(&c, 0, sizeof c);
  c.workflow_dir = d->dir;
  char *prog = NULL;
  if (wfw_tmpl_eval_str(&s->argv[0], &c, &prog) != 0) return NULL;
  return prog;
}
