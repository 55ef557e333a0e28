/* process_input.c — what the exec activity hands a child: its argv from the step input
 * ("run" or "shell"), the JSON it reads on stdin, and its environment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "process_int.h"
#include "wfmp.h"

extern char **environ;


int wfa_exec_input_split(const uint8_t *p, size_t n, wfa_exec_input *in) {
  static const char *const names[] = {"run", "shell", "params", "inputs", "item", "cwd",
                                      "stdin"};
  const uint8_t **slot[] = {&in->run, &in->shell, &in->params, &in->inputs, &in->item,
                            &in->cwd, &in->stdin_text};
  size_t *len[] = {&in->run_n, &in->shell_n, &in->params_n, &in->inputs_n, &in->item_n,
                   &in->cwd_n, &in->stdin_text_n};
  wfm_reader r;
  wfm_obj o, k;
  uint32_t i;
  size_t j;

  memset(in, 0, sizeof *in);
  wfm_reader_init(&r, p, n);
  if (wfm_next(&r, &o) || o.type != WFM_MAP)
    return WF_ECORRUPT;
  for (i = 0; i < o.v.n; i++) {
    wfm_reader save = r;
    const uint8_t *v;
    if (wfm_next(&r, &k))
      return WF_ECORRUPT;
    if (k.type != WFM_STR && (r = save, wfm_skip(&r)))
      return WF_ECORRUPT;
    v = r.p;
    if (wfm_skip(&r))
      return WF_ECORRUPT;
    for (j = 0; k.type == WFM_STR && j < sizeof names / sizeof names[0]; j++)
      if (strlen(names[j]) == k.v.s.n && !memcmp(names[j], k.v.s.p, k.v.s.n)) {
        *slot[j] = v;
        *len[j] = (size_t)(r.p - v);
      }
  }
  return 0;
}

/* A msgpack string as a NUL-terminated copy; NULL when not a string or holding a NUL. */
char *wfa_exec_str_dup(const uint8_t *p, size_t n) {
  wfm_reader r;
  wfm_obj o;
  char *s;

  wfm_reader_init(&r, p, n);
  if (wfm_next(&r, &o) || o.type != WFM_STR || memchr(o.v.s.p, 0, o.v.s.n))
    return NULL;
  if ((s = malloc((size_t)o.v.s.n + 1))) {
    memcpy(s, o.v.s.p, o.v.s.n);
    s[o.v.s.n] = 0;
  }
  return s;
}

void wfa_exec_argv_free(char **argv) {
  char **a;

  for (a = argv; a && *a; a++)
    free(*a);
  free(argv);
}

int wfa_exec_build_argv(const wfa_exec_input *in, char ***out, char *err, size_t cap) {
  wfm_reader r;
  uint32_t n, i;
  char **argv;

  *out = NULL;
  if (!in->run == !in->shell) {
    snprintf(err, cap, "exec input needs exactly one of \"run\" and \"shell\"");
    return WF_EINVAL;
  }
  if (in->shell) {
    if (!(argv = calloc(4, sizeof *argv)))
      return WF_ENOMEM;
    argv[0] = strdup("/bin/sh");
    argv[1] = strdup("-c");
    if (!(argv[2] = wfa_exec_str_dup(in->shell, in->shell_n))) {
      wfa_exec_argv_free(argv);
      snprintf(err, cap, "\"shell\" must be a string without NUL bytes");
      return WF_EINVAL;
    }
    *out = argv;
    return argv[0] && argv[1] ? 0 : (wfa_exec_argv_free(argv), *out = NULL, WF_ENOMEM);
  }
  wfm_reader_init(&r, in->run, in->run_n);
  if (wfm_read_array(&r, &n) || n == 0) {
    snprintf(err, cap, "\"run\" must be a non-empty array of strings");
    return WF_EINVAL;
  }
  if (!(argv = calloc((size_t)n + 1, sizeof *argv)))
    return WF_ENOMEM;
  for (i = 0; i < n; i++) {
    const uint8_t *v = r.p;
    if (wfm_skip(&r) || !(argv[i] = wfa_exec_str_dup(v, (size_t)(r.p - v)))) {
      wfa_exec_argv_free(argv);
      snprintf(err, cap, "\"run\" argument %u is not a string without NUL bytes", i);
      return WF_EINVAL;
    }
  }
  *out = argv;
  return 0;
}

static int add_json(cJSON *obj, const char *name, const uint8_t *p, size_t n,
                    cJSON *(*absent)(void)) {
  cJSON *v = NULL;
  int rc = p ? wfa_mp_to_json(p, n, &v) : ((v = absent()) ? 0 : WF_ENOMEM);

  if (rc)
    return rc;
  return cJSON_AddItemToObject(obj, name, v) ? 0 : (cJSON_Delete(v), WF_ENOMEM);
}

/* stdin: {run_id, step_key, attempt, params, inputs, item} and a newline. */
int wfa_exec_build_stdin(const wfi_job *job, const wfa_exec_input *in, char **out, size_t *len) {
  if (in->stdin_text) {
    if (!(*out = wfa_exec_str_dup(in->stdin_text, in->stdin_text_n))) return WF_ECORRUPT;
    *len = strlen(*out);
    return 0;
  }
  cJSON *o = cJSON_CreateObject();
  char *txt = NULL;
  int rc = o ? 0 : WF_ENOMEM;

  if (!rc && (!cJSON_AddStringToObject(o, "run_id", job->run_id ? job->run_id : "") ||
              !cJSON_AddStringToObject(o, "step_key", job->step_key ? job->step_key : "") ||
              !cJSON_AddNumberToObject(o, "attempt", job->attempt)))
    rc = WF_ENOMEM;
  if (!rc)
    rc = add_json(o, "params", in->params, in->params_n, cJSON_CreateObject);
  if (!rc)
    rc = add_json(o, "inputs", in->inputs, in->inputs_n, cJSON_CreateObject);
  if (!rc)
    rc = add_json(o, "item", in->item, in->item_n, cJSON_CreateNull);
  if (!rc && !(txt = cJSON_PrintUnformatted(o)))
    rc = WF_ENOMEM;
  cJSON_Delete(o);
  if (rc)
    return rc;
  *len = strlen(txt) + 1;
  if ((*out = malloc(*len + 1))) {
    memcpy(*out, txt, *len - 1);
    (*out)[*len - 1] = '\n';
    (*out)[*len] = 0;
  }
  cJSON_free(txt);
  return *out ? 0 : WF_ENOMEM;
}

char **wfa_exec_build_env(const wfi_job *job) {
  static const char *const ours[] = {"WF_RUN_ID=", "WF_STEP_KEY=", "WF_ATTEMPT=",
                                     "WF_IDEMPOTENCY_KEY=", "WF_RUN_DIR="};
  const char *run = job->run_id ? job->run_id : "", *key = job->step_key ? job->step_key : "";
  size_t n = 0, k = 0, i, j, sz;
  char **env, *s;

  while (environ && environ[n])
    n++;
  sz = strlen(run) * 2 + strlen(key) * 2 + (job->run_dir ? strlen(job->run_dir) : 0) + 128;
  if (!(env = malloc((n + 6) * sizeof *env + sz)))
    return NULL;
  for (i = 0; i < n; i++) {
    for (j = 0; j < 5 && strncmp(environ[i], ours[j], strlen(ours[j])); j++)
      ;
    if (j == 5)
      env[k++] = environ[i];
  }
  s = (char *)(env + n + 6); /* the five strings live after the pointer array */
  env[k++] = s;
  s += sprintf(s, "WF_RUN_ID=%s", run) + 1;
  env[k++] = s;
  s += sprintf(s, "WF_STEP_KEY=%s", key) + 1;
  env[k++] = s;
  s += sprintf(s, "WF_ATTEMPT=%u", (unsigned)job->attempt) + 1;
  env[k++] = s;
  s += sprintf(s, "WF_IDEMPOTENCY_KEY=%s/%s", run, key) + 1;
  env[k++] = s;
  sprintf(s, "WF_RUN_DIR=%s", job->run_dir ? job->run_dir : "");
  env[k] = NULL;
  return env;
}

