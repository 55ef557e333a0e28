/* wfact.h — activity kinds: exec (a child process speaking JSON) and the built-ins,
 * the helpers every activity uses to end an attempt, and the JSON <-> msgpack
 * conversion every activity and the CLI use.
 */
#ifndef WF_ACT_H
#define WF_ACT_H

#include <cjson/cJSON.h>
#include <msgpack.h>

#include "wfengine.h"
#include "wfmp.h"

/* exec: the step input is a msgpack map built by the workflow layer:
 *   "run":    array of strings (argv; argv[0] searched in PATH)   } exactly one
 *   "shell":  string, run as /bin/sh -c <string>                  }
 *   "params": map, "inputs": map, "item": any  (passed on to the child)
 *   "cwd":    string or nil (working directory; nil = wf's)
 *   "stdin":  string: what the child reads on stdin instead of the JSON below (a stage's
 *             check gets the output it checks)
 * The child gets on stdin the JSON {run_id, step_key, attempt, params, inputs, item},
 * its stdout must be one JSON value (the output; empty = null; at most job->max_output
 * bytes), its stderr goes to job->log_path and its last 4 KiB into the step record.
 * Env adds WF_RUN_ID, WF_STEP_KEY, WF_ATTEMPT, WF_IDEMPOTENCY_KEY (<run>/<step>) and
 * WF_RUN_DIR. It runs through posix_spawn in a process group of its own. Exit 0 is
 * success; any other code fails the attempt (retryable); a missing program, non-JSON
 * stdout or oversize output fail it non-retryably with a message saying which.
 * JSON numbers are doubles: an integer id above 2^53 printed as a number on stdout has
 * lost digits before wf sees it; children should print such ids as strings (on stdin,
 * wf itself writes integers a double cannot hold as decimal strings). */
extern const wfi_activity wfa_exec;

/* An empty result: not ok, not retryable, no output, no error, exit code -1 (no process
 * exit). */
void wfa_result_init(wfi_result *res);
/* End the attempt now as failed, with a copy of msg as its error (none when there is no
 * memory for it: the step then says only that it failed). For an attempt that stops
 * before anything of it is in flight; free the activity's own state first, the job is
 * not to be touched after. retryable 0 fails the step whatever its retry policy. */
void wfa_job_fail(wfi_job *job, int retryable, const char *msg);

/* Built-in activity named by a stage's "uses", or NULL when there is none. */
const wfi_activity *wfa_builtin(const char *uses);
/* Visit the names of the built-ins (for `wf describe` and validation messages). */
void wfa_builtin_names(void (*cb)(void *ud, const char *name), void *ud);

/* Where JSON text holds what wf cannot take as a value (wfa_json_text_check). */
typedef struct wfa_text_fault {
  wfm_fault kind;        /* WFM_FAULT_UTF8, WFM_FAULT_NUL (a NUL byte or a \u0000 escape)
                            or WFM_FAULT_DEPTH (the bracket that opens one level too many) */
  size_t offset;         /* of the offending byte, from 0 */
  size_t line, column;   /* of the same byte, from 1 (columns count bytes) */
  int in_key;            /* the byte is inside a member name of the object at `path` */
  char path[128];        /* the JSON path of the value around it: $, $.a[3]["b c"]... */
} wfa_text_fault;

/* Check JSON text for what cJSON lets through: bytes that are not UTF-8, NUL characters
 * (raw, or \u0000 escapes at which cJSON would silently end a string) and arrays and
 * objects nested deeper than max_depth (0: no limit). The JSON syntax is not checked
 * (cJSON does that). 0, or WF_EINVAL with the first fault in *f. */
int wfa_json_text_check(const char *s, size_t n, int max_depth, wfa_text_fault *f);
/* "byte 7 (line 1, column 8, at $.k)" for a message (without the path for a depth). */
void wfa_text_fault_where(const wfa_text_fault *f, char *buf, size_t cap);

/* JSON -> msgpack. Integers that are exact in a double become msgpack ints, other
 * numbers floats. Returns 0 or WF_EINVAL (nesting deeper than WFM_MAX_VALUE_DEPTH:
 * wf takes no deeper value, so that the records holding it can be read back). */
int wfa_json_to_mp(const cJSON *j, msgpack_packer *pk);
/* Same into a malloc'd buffer. */
int wfa_json_to_mp_buf(const cJSON *j, uint8_t **out, size_t *len);
/* msgpack -> JSON (validating; bin becomes a base64 string, ext null, non-string map
 * keys their JSON text, integers a double cannot hold exactly (beyond 2^53) a string of
 * their decimal digits). WF_ECORRUPT on bad input or trailing bytes, WF_ENOMEM. */
int wfa_mp_to_json(const uint8_t *p, size_t n, cJSON **out);
/* The value under string key `key` of the msgpack map p[n]: *val points into p, *vlen
 * bytes (one whole value). WF_ENOTFOUND when absent, WF_ECORRUPT when p is not a
 * well-formed map. */
int wfa_mp_map_get(const uint8_t *p, size_t n, const char *key, const uint8_t **val,
                   size_t *vlen);

#endif
