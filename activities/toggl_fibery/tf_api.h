/* tf_api.h — what the Toggl and Fibery clients share: credentials and base URLs, step
 * input access, error message extraction, and one attempt's asynchronous HTTP operation.
 */
#ifndef WF_TF_API_H
#define WF_TF_API_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "tf_limit.h"
#include "wfengine.h"
#include "wfhttp.h"

#define TF_TOGGL_BASE "https://api.track.toggl.com"

/* Credentials and endpoints. Tokens live only here: never in step inputs, outputs,
 * errors or logs. Every string is malloc'd or NULL. */
typedef struct tf_creds {
  char *toggl_token;
  char *toggl_workspace;   /* decimal workspace id */
  char *toggl_base;        /* no trailing '/' */
  char *fibery_token;
  char *fibery_workspace;  /* e.g. "acme" for https://acme.fibery.io */
  char *fibery_base;       /* no trailing '/' */
} tf_creds;

/* Load from the environment (TOGGL_API_TOKEN, TOGGL_WORKSPACE_ID, TOGGL_API_BASE,
 * FIBERY_API_TOKEN, FIBERY_WORKSPACE, FIBERY_API_BASE), falling back per key to the
 * config file (WF_TF_CONFIG, else $XDG_CONFIG_HOME/wf/toggl-fibery.json, else
 * ~/.config/wf/toggl-fibery.json; keys are the variable names in lower case). The file
 * must not be readable or writable by group or others. Nothing is validated here beyond
 * the file; see tf_creds_need_*. On error *err holds a message (no secret in it). */
int tf_creds_load(tf_creds *c, char *err, size_t cap);
/* What a Toggl / Fibery call needs, with a message naming the missing setting. */
int tf_creds_need_toggl(const tf_creds *c, char *err, size_t cap);
int tf_creds_need_fibery(const tf_creds *c, char *err, size_t cap);
/* Free, wiping the tokens first. NULL-safe. */
void tf_creds_clear(tf_creds *c);
/* The config file that would be read (not necessarily existing). */
int tf_creds_path(char *buf, size_t cap);

/* The human message of an API error body: a JSON string, an object's "message" /
 * "error" / "errors"[0].message, or the trimmed start of the text; printable ASCII
 * and UTF-8 kept, control bytes replaced. Always NUL-terminates out. */
void tf_api_message(const char *body, size_t len, char *out, size_t cap);
/* Replace every occurrence of `secret` (when at least 4 bytes) in s by "***". */
void tf_redact(char *s, const char *secret);

/* The job's msgpack input as JSON (WF_ECORRUPT when it is not a map). */
int tf_input_json(const wfi_job *job, cJSON **out);
/* Number under key of object o, or def when absent or not a number. */
double tf_num(const cJSON *o, const char *key, double def);
/* String under key of object o, or NULL. */
const char *tf_str(const cJSON *o, const char *key);

/* ---- one attempt's operation ----------------------------------------------------- */

typedef struct tf_op tf_op;

struct tf_op {
  wfi_job *job;
  uv_timer_t timer;
  wfa_http_call *call;
  int killed;              /* wfi_kill_reason */
  int finishing;
  int timer_busy;
  tf_limiter *lim;         /* the API's limiter for the token (tf_limit.h); NULL: none */
  double interval_s;       /* 1 / requests per second allowed for the API and token */
  double max_wait_s;       /* a pause of the limiter longer than this fails the attempt;
                              0: no ceiling */
  tf_slot slot;            /* the slot waited for */
  const char *label;       /* names the request in messages ("POST /api/commands");
                              NULL: its URL */
  int resend;              /* the request being scheduled was sent before */
  uint32_t requests;       /* requests this attempt needed */
  uint32_t retried;        /* requests it sent again (429, 402, 5xx, network) */
  uint64_t rng;
  wfa_http_req req;        /* the next request; its strings belong to the owner */
  const char *secret;      /* redacted from error messages */
  const char *secret2;
  /* set by the owner */
  void (*on_resp)(tf_op *op, wfa_http_resp *resp);  /* owns nothing: resp cleared after */
  void (*release)(tf_op *op);                       /* free the owner's state */
  wfi_result res;
};

/* Bind op to job (job->act_state = op) and open its timer. */
int tf_op_init(tf_op *op, wfi_job *job);
/* Pace op's requests with the limiter of `api` for `token` at `base`, at `rps`
 * requests per second (0: spaced only by pauses). Nonzero when out of memory. */
int tf_op_limit(tf_op *op, const char *api, const char *base, const char *token, double rps);
/* Send op->req, a new request, after `delay_s` and once the limiter gives it a slot. */
void tf_op_send(tf_op *op, double delay_s);
/* Send the same request again (counted as retried), likewise. */
void tf_op_resend(tf_op *op, double delay_s);
/* Hold every request of op's API and token for `seconds` (Retry-After, a used-up quota). */
void tf_op_pause(tf_op *op, double seconds, const char *why);
/* End the attempt: success with JSON output (consumed), or a failure. The job is
 * completed once the timer handle is closed; op->release runs before that. */
void tf_op_ok(tf_op *op, cJSON *out);
void tf_op_fail(tf_op *op, int retryable, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The activity's kill: cancel the request or the wait, then fail the attempt. */
void tf_op_kill(tf_op *op, int reason);
/* Uniform random in [0, 1) for jitter. */
double tf_op_rand(tf_op *op);

#endif
