/* wfhttp.h — HTTP requests on the engine's libuv loop, through libcurl's multi interface
 * (one multi handle per loop, its sockets watched with uv_poll and its timeout with a
 * uv_timer: no thread per request). Connections are reused across requests of a loop.
 * Built-in activities (Toggl, Fibery) use it; the scheduler's class `rate` bounds how
 * often they start. */
#ifndef WF_HTTP_H
#define WF_HTTP_H

#include <stddef.h>
#include <uv.h>

typedef struct wfa_http_req {
  const char *method;          /* "GET" or "POST" (NULL means GET; any other upper-case
                                  method is sent as is, with the body if given) */
  const char *url;
  const char *const *headers;  /* "Name: value" lines */
  size_t nheaders;
  const char *body;            /* request body or NULL */
  size_t body_len;
  const char *userpwd;         /* HTTP basic auth "user:password", or NULL */
  double timeout_s;            /* whole request; 0 means 60 */
  size_t max_body;             /* response bytes kept at most (after decoding); 0 means
                                  64 MiB; a larger response fails with status 0 */
  /* Called on the loop thread when the request is about to go on the wire (its connection
   * made or reused, after any queueing for one), or NULL. A rate limiter counts from
   * here: the time it was handed to curl can be a connection setup earlier. */
  void (*on_wire)(void *ud);
  void *on_wire_ud;
} wfa_http_req;

typedef struct wfa_http_resp {
  long status;                 /* HTTP status; 0 when there was no response */
  char *body;                  /* malloc'd, NUL-terminated (may be ""), owned by the callee */
  size_t body_len;
  char *headers;               /* raw response header block, malloc'd, NUL-terminated */
  double retry_after_s;        /* Retry-After in seconds (delta or HTTP date), -1 if absent */
  char error[256];             /* when status == 0: "<METHOD> <host[:port]/path>: <why>"
                                  (never user info or query), or "canceled" */
} wfa_http_resp;

typedef struct wfa_http_call wfa_http_call;

/* Called once on the loop thread with the outcome. The callee owns resp's buffers and
 * frees them with wfa_http_resp_clear. */
typedef void (*wfa_http_cb)(void *ud, wfa_http_resp *resp);

/* Start a request on `loop`. *call (may be NULL) identifies it for cancellation until
 * the callback runs. On an error the callback never runs. Requests to one host share
 * at most 6 connections, so a burst queues and reuses them; a request started from a
 * callback reuses the connection that request left. When none is left in flight every
 * uv handle the client opened on `loop` is closed. Errors: WF_EINVAL, WF_ENOMEM. */
int wfa_http_start(uv_loop_t *loop, const wfa_http_req *req, wfa_http_cb cb, void *ud,
                   wfa_http_call **call);
/* Abort a request in flight: its callback runs with status 0 and error "canceled", from
 * the loop, never inside wfa_http_cancel. NULL or an already canceled call: nothing. */
void wfa_http_cancel(wfa_http_call *call);
void wfa_http_resp_clear(wfa_http_resp *r);
/* Value of response header `name` (case-insensitive; the first occurrence, trimmed,
 * truncated to cap - 1 bytes) copied into buf, or NULL. */
const char *wfa_http_header(const wfa_http_resp *r, const char *name, char *buf, size_t cap);

#endif
