/* check.c — a stage's checks on what it produced: "expect" (built-in: at least N items,
 * fields every item has) and "check" (a command given the output on stdin that exits
 * non-zero to refuse it). They are part of each attempt: the stage's activity is wrapped
 * so that an attempt whose output is refused ends failed, with the reason as its error,
 * and the stage's retry policy decides what comes next, as for any failed attempt.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wfw_int.h"

typedef struct attempt {
  const wfw_checker *ck;
  wfi_job *outer;          /* the engine's job */
  wfi_job inner;           /* the step, as the stage's activity runs it */
  wfi_job check;           /* the check command, run through the exec activity */
  uint8_t *check_input;
  wfi_result res;          /* the step's result while its check runs */
  int checking;
  int killed;
} attempt;

/* Hand the attempt's result to the engine; the attempt is freed first (the engine may
 * start the next attempt before this returns). */
static void finish(attempt *a, wfi_result *res) {
  wfi_job *outer = a->outer;
  wfi_result r = *res;
  memset(res, 0, sizeof *res);
  outer->act_state = NULL;
  free(a->check_input);
  free(a);
  wfi_job_done(outer, &r);
}

/* Turn a successful result into a failed attempt with `msg` (malloc'd) as its error:
 * retryable, as a flaky source that gives a short list once may give all of it next. */
static void refuse(wfi_result *res, char *msg, int retryable) {
  free(res->output);
  res->output = NULL;
  res->output_len = 0;
  free(res->error);
  res->error = msg;
  res->ok = 0;
  res->retryable = retryable;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, f);
  vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return strdup(buf);
}

/* The fields of expect.required that object o lacks, as "a", "b" (NULL when none). */
static char *missing_fields(const cJSON *required, const cJSON *o) {
  char buf[512] = "";
  size_t n = 0;
  for (const cJSON *f = required->child; f; f = f->next)
    if (!cJSON_HasObjectItem(o, f->valuestring) && n < sizeof buf)
      n += (size_t)snprintf(buf + n, sizeof buf - n, "%s\"%s\"", n ? ", " : "", f->valuestring);
  return n ? strdup(buf) : NULL;
}

/* "expect" on the output: NULL when it holds, else why not (malloc'd). */
static char *expect_fails(const wfw_stage *s, const wfi_result *res) {
  cJSON *j = NULL;
  char *why = NULL;
  if (res->output && wfa_mp_to_json(res->output, res->output_len, &j) != 0)
    return fmt("expect: the output cannot be read back");
  int is_list = cJSON_IsArray(j) || cJSON_IsObject(j);
  int n = is_list ? cJSON_GetArraySize(j) : 0;
  if (s->has_min_items && !is_list)
    why = fmt("expect: min_items %llu: the output is %s, not an array or object",
              (unsigned long long)s->min_items, j ? wfw_json_type(j) : "null");
  else if (s->has_min_items && (uint64_t)n < s->min_items)
    why = fmt("expect: min_items %llu: the output has %d item%s", (unsigned long long)s->min_items,
              n, n == 1 ? "" : "s");
  if (!why && s->required) {
    char *m = NULL;
    if (cJSON_IsObject(j)) {
      if ((m = missing_fields(s->required, j)))
        why = fmt("expect: required: the output has no field %s", m);
    } else if (cJSON_IsArray(j)) {
      int k = 0;
      for (const cJSON *e = j->child; e && !why; e = e->next, k++) {
        if (!cJSON_IsObject(e))
          why = fmt("expect: required: item %d of the output is %s, not an object", k,
                    wfw_json_type(e));
        else if ((m = missing_fields(s->required, e)))
          why = fmt("expect: required: item %d of the output has no field %s", k, m);
      }
    } else {
      why = fmt("expect: required: the output is %s, not an object or an array of objects",
                j ? wfw_json_type(j) : "null");
    }
    free(m);
  }
  cJSON_Delete(j);
  return why;
}

/* The last non-blank line of a stderr tail, for the error (the whole tail is kept). */
static void last_line(const char *tail, char *buf, size_t cap) {
  buf[0] = '\0';
  if (!tail) return;
  const char *end = tail + strlen(tail);
  while (end > tail && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ')) end--;
  const char *b = end;
  while (b > tail && b[-1] != '\n') b--;
  snprintf(buf, cap, "%.*s", (int)(end - b > 400 ? 400 : end - b), b);
}

static void check_done(wfi_job *job, wfi_result *cres) {
  attempt *a = (attempt *)((char *)job - offsetof(attempt, check));
  wfi_result res = a->res;
  memset(&a->res, 0, sizeof a->res);
  if (cres->exit_code != 0 && !a->killed) {
    char line[512];
    const char *prog = a->ck->stage->check_prog;
    last_line(cres->stderr_tail, line, sizeof line);
    char *msg;
    if (cres->exit_code < 0) /* it never ran */
      msg = fmt("check \"%s\" could not run: %s", prog, cres->error ? cres->error : "unknown error");
    else
      msg = fmt("check \"%s\" refused the output: %s%s%s", prog,
                cres->error ? cres->error : "failed", line[0] ? ": " : "", line);
    refuse(&res, msg, cres->exit_code < 0 ? cres->retryable : 1);
    free(res.stderr_tail);
    res.stderr_tail = cres->stderr_tail;
    cres->stderr_tail = NULL;
  }
  free(cres->output);
  free(cres->error);
  free(cres->stderr_tail);
  finish(a, &res);
}

/* The check's job: the step's, with an input that runs the check command on the output. */
static int start_check(attempt *a, wfi_result *res) {
  const uint8_t *chk, *run, *cwd;
  size_t chk_n, run_n, cwd_n;
  cJSON *j = NULL;
  char *text;
  if (wfa_mp_map_get(a->outer->input, a->outer->input_len, "check", &chk, &chk_n) != 0 ||
      wfa_mp_map_get(chk, chk_n, "run", &run, &run_n) != 0 ||
      wfa_mp_map_get(chk, chk_n, "cwd", &cwd, &cwd_n) != 0)
    return WF_ECORRUPT;
  if (res->output && wfa_mp_to_json(res->output, res->output_len, &j) != 0) return WF_ECORRUPT;
  text = j ? cJSON_PrintUnformatted(j) : strdup("null");
  cJSON_Delete(j);
  if (!text) return WF_ENOMEM;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 3);
  wfm_pack_str(&pk, "run");
  wfm_pack_raw(&pk, run, run_n);
  wfm_pack_str(&pk, "cwd");
  wfm_pack_raw(&pk, cwd, cwd_n);
  wfm_pack_str(&pk, "stdin");
  wfm_pack_str(&pk, text);
  free(text);
  a->check_input = (uint8_t *)sb.data;
  a->res = *res;
  memset(res, 0, sizeof *res);
  a->check = *a->outer;
  a->check.input = a->check_input;
  a->check.input_len = sb.size;
  a->check.act_ctx = NULL;
  a->check.act_state = NULL;
  a->check.on_done = check_done;
  a->checking = 1;
  wfa_exec.start(NULL, &a->check);
  return 0;
}

static void inner_done(wfi_job *job, wfi_result *res) {
  attempt *a = (attempt *)((char *)job - offsetof(attempt, inner));
  const wfw_stage *s = a->ck->stage;
  if (!res->ok || a->killed) {
    finish(a, res);
    return;
  }
  char *why = s->expect ? expect_fails(s, res) : NULL;
  if (why) {
    refuse(res, why, 1);
    finish(a, res);
    return;
  }
  if (!s->ncheck) {
    finish(a, res);
    return;
  }
  int rc = start_check(a, res);
  if (rc) {
    refuse(res, fmt("check: cannot give it the output (%s)", wf_strerror(rc)),
           rc == WF_ENOMEM);
    finish(a, res);
  }
}

static void checked_start(void *ctx, wfi_job *job) {
  const wfw_checker *ck = ctx;
  attempt *a = calloc(1, sizeof *a);
  if (!a) {
    wfa_job_fail(job, 1, "out of memory");
    return;
  }
  a->ck = ck;
  a->outer = job;
  a->inner = *job;
  a->inner.act_ctx = ck->inner_ctx;
  a->inner.act_state = NULL;
  a->inner.on_done = inner_done;
  job->act_state = a;
  ck->inner->start(ck->inner_ctx, &a->inner);
}

static void checked_kill(void *ctx, wfi_job *job, int reason) {
  const wfw_checker *ck = ctx;
  attempt *a = job->act_state;
  if (!a) return;
  a->killed = 1;
  if (a->checking) wfa_exec.kill(NULL, &a->check, reason);
  else ck->inner->kill(ck->inner_ctx, &a->inner, reason);
}

const wfi_activity wfw_checked = {"checked", checked_start, checked_kill};
