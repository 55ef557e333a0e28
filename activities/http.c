/* http.c — HTTP requests through one libcurl multi handle per libuv loop (uv_poll per
 * socket, one uv_timer for curl's timeout), torn down when the loop has none in flight.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "loopreg.h"
#include "wf/wf.h"
#include "wfhttp.h"

#define HTTP_DEFAULT_TIMEOUT_S 60.0
#define HTTP_CONNECT_TIMEOUT_MS 10000L
#define HTTP_DEFAULT_MAX_BODY ((size_t)64 << 20)
#define HTTP_MAX_HEADERS ((size_t)64 << 10)
#define HTTP_MAXCONNECTS 16L
/* Requests to one host beyond this wait for a connection and reuse it, so a burst
 * does not open one connection per request (and stays polite to rate-limited APIs). */
#define HTTP_MAX_HOST_CONNS 6L
#define HTTP_WHERE 160

typedef struct http_loop http_loop;
typedef struct http_sock http_sock;

/* Everything one loop needs. It lives while a request is in flight or being delivered;
 * the uv handles keep it allocated until their close callbacks have run. */
struct http_loop {
  wfa_loop_entry link;  /* first: the registry's entry is the http_loop */
  CURLM *multi;
  uv_timer_t timer;     /* curl's timeout */
  uv_timer_t defer;     /* delivers canceled calls outside the caller */
  http_sock *socks;
  wfa_http_call *deferred;
  int ncalls;           /* in the multi or waiting in deferred */
  int nhandles;         /* open uv handles: timer, defer, polls */
  int closing;
};

struct http_sock {
  uv_poll_t poll;
  http_loop *hl;
  http_sock *next;
  curl_socket_t fd;
};

struct wfa_http_call {
  http_loop *hl;
  CURL *easy;
  struct curl_slist *hdrs;
  wfa_http_cb cb;
  void *ud;
  wfa_http_call *next; /* deferred list */
  size_t max_body;
  int oversize, hdr_oversize, canceled;
  char *body;
  size_t body_len, body_cap;
  char *hdr;
  size_t hdr_len, hdr_cap;
  char method[16];
  char where[HTTP_WHERE];
  char errbuf[CURL_ERROR_SIZE];
  void (*on_wire)(void *ud);
  void *on_wire_ud;
};
_Static_assert(offsetof(http_loop, link) == 0, "an http_loop is its registry entry");

static wfa_loop_registry loops = WFA_LOOP_REGISTRY_INIT;
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void) { global_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

/* ---- response helpers ------------------------------------------------------------ */

void wfa_http_resp_clear(wfa_http_resp *r) {
  if (!r)
    return;
  free(r->body);
  free(r->headers);
  r->body = r->headers = NULL;
  r->body_len = 0;
}

const char *wfa_http_header(const wfa_http_resp *r, const char *name, char *buf,
                            size_t cap) {
  const char *p, *eol, *v, *e;
  size_t nlen, n;

  if (!r || !r->headers || !name || !buf || !cap)
    return NULL;
  nlen = strlen(name);
  for (p = r->headers; *p; p = *eol ? eol + 1 : eol) {
    eol = strchr(p, '\n');
    if (!eol)
      eol = p + strlen(p);
    if ((size_t)(eol - p) <= nlen || p[nlen] != ':' || strncasecmp(p, name, nlen))
      continue;
    for (v = p + nlen + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
      ;
    for (e = eol; e > v && isspace((unsigned char)e[-1]); e--)
      ;
    n = (size_t)(e - v) < cap - 1 ? (size_t)(e - v) : cap - 1;
    memcpy(buf, v, n);
    buf[n] = 0;
    return buf;
  }
  return NULL;
}

/* Retry-After as seconds from now: delta-seconds or an HTTP date; -1 when absent or
 * unreadable. */
static double retry_after(const wfa_http_resp *r) {
  char buf[128], *end;
  unsigned long long secs;
  time_t t;

  if (!wfa_http_header(r, "Retry-After", buf, sizeof buf) || !buf[0])
    return -1;
  if (isdigit((unsigned char)buf[0])) {
    secs = strtoull(buf, &end, 10);
    return *end ? -1 : (double)secs;
  }
  if ((t = curl_getdate(buf, NULL)) == (time_t)-1)
    return -1;
  t -= time(NULL);
  return t > 0 ? (double)t : 0.0;
}

/* "host[:port]/path" of a URL for messages: no user info, no query, no fragment. */
static void url_where(const char *url, char *out, size_t cap) {
  CURLU *u = curl_url();
  char *host = NULL, *port = NULL, *path = NULL;

  snprintf(out, cap, "(invalid URL)");
  if (u && !curl_url_set(u, CURLUPART_URL, url, CURLU_GUESS_SCHEME) &&
      !curl_url_get(u, CURLUPART_HOST, &host, 0)) {
    curl_url_get(u, CURLUPART_PORT, &port, 0);
    curl_url_get(u, CURLUPART_PATH, &path, 0);
    snprintf(out, cap, "%s%s%s%s", host, port ? ":" : "", port ? port : "",
             path ? path : "/");
  }
  curl_free(host);
  curl_free(port);
  curl_free(path);
  curl_url_cleanup(u);
}

/* ---- per-call buffers -------------------------------------------------------------- */

static int buf_append(char **buf, size_t *len, size_t *cap, const char *p, size_t n) {
  if (*len + n + 1 > *cap) {
    size_t nc = *cap ? *cap : 1024;
    char *nb;
    while (nc < *len + n + 1)
      nc *= 2;
    if (!(nb = realloc(*buf, nc)))
      return -1;
    *buf = nb;
    *cap = nc;
  }
  memcpy(*buf + *len, p, n);
  *len += n;
  (*buf)[*len] = 0;
  return 0;
}

/* curl calls this once the connection is there, right before it sends the request (and
 * from inside curl_multi_socket_action, so on the loop thread). */
static int on_prereq(void *ud, char *conn_ip, char *local_ip, int conn_port, int local_port) {
  wfa_http_call *c = ud;
  (void)conn_ip, (void)local_ip, (void)conn_port, (void)local_port;
  c->on_wire(c->on_wire_ud);
  return CURL_PREREQFUNC_OK;
}

static size_t on_write(char *p, size_t size, size_t n, void *ud) {
  wfa_http_call *c = ud;

  n *= size;
  if (c->body_len + n > c->max_body) {
    c->oversize = 1;
    return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
  }
  return buf_append(&c->body, &c->body_len, &c->body_cap, p, n) ? 0 : n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  wfa_http_call *c = ud;

  n *= size;
  /* Only the final response's block is kept: a 1xx block comes first otherwise. */
  if (n >= 5 && !memcmp(p, "HTTP/", 5))
    c->hdr_len = 0;
  if (c->hdr_len + n > HTTP_MAX_HEADERS) {
    c->hdr_oversize = 1;
    return 0;
  }
  return buf_append(&c->hdr, &c->hdr_len, &c->hdr_cap, p, n) ? 0 : n;
}

static void call_free(wfa_http_call *c) {
  if (!c)
    return;
  if (c->easy)
    curl_easy_cleanup(c->easy);
  curl_slist_free_all(c->hdrs);
  free(c->body);
  free(c->hdr);
  free(c);
}

/* Long URLs and curl messages are cut to fit the fixed buffer. */
static void set_error(wfa_http_resp *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(wfa_http_resp *r, const char *fmt, ...) {
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(r->error, sizeof r->error, fmt, ap);
  va_end(ap);
}

/* Hands the outcome to the caller (who then owns the buffers) and frees the call. */
static void call_deliver(wfa_http_call *c, CURLcode rc) {
  wfa_http_resp r;
  long status = 0;

  memset(&r, 0, sizeof r);
  r.retry_after_s = -1;
  if (c->canceled) {
    set_error(&r, "canceled");
  } else if (rc == CURLE_OK) {
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    r.status = status;
  } else if (c->oversize || rc == CURLE_FILESIZE_EXCEEDED) {
    set_error(&r, "%s %s: response larger than %zu bytes", c->method,
             c->where, c->max_body);
  } else if (c->hdr_oversize) {
    set_error(&r, "%s %s: response headers larger than %zu bytes",
             c->method, c->where, HTTP_MAX_HEADERS);
  } else {
    set_error(&r, "%s %s: %s", c->method, c->where,
             c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
  }
  if (r.status) {
    r.body = c->body;
    r.body_len = c->body_len;
    r.headers = c->hdr;
    c->body = c->hdr = NULL;
  }
  if (!r.body && (r.body = malloc(1)))
    r.body[0] = 0;
  if (!r.headers && (r.headers = malloc(1)))
    r.headers[0] = 0;
  if (r.status)
    r.retry_after_s = retry_after(&r);
  c->cb(c->ud, &r);
  call_free(c);
}

/* ---- per-loop multi ------------------------------------------------------------------ */

static void hl_handle_closed(uv_handle_t *h) {
  http_loop *hl = h->data;

  if (h != (uv_handle_t *)&hl->timer && h != (uv_handle_t *)&hl->defer)
    free(h); /* an http_sock: its poll is its first member */
  if (--hl->nhandles == 0)
    free(hl);
}

static void sock_close(http_loop *hl, http_sock *s) {
  http_sock **pp;

  for (pp = &hl->socks; *pp; pp = &(*pp)->next)
    if (*pp == s) {
      *pp = s->next;
      break;
    }
  uv_close((uv_handle_t *)&s->poll, hl_handle_closed);
}

/* No call left: close every uv handle so the loop can finish, and drop the multi. */
static void hl_close(http_loop *hl) {
  if (hl->closing)
    return;
  hl->closing = 1;
  wfa_loop_remove(&loops, &hl->link);
  /* Polls are stopped before curl closes the sockets they watch. */
  while (hl->socks) {
    if (hl->multi)
      curl_multi_assign(hl->multi, hl->socks->fd, NULL);
    sock_close(hl, hl->socks);
  }
  if (hl->multi)
    curl_multi_cleanup(hl->multi);
  hl->multi = NULL;
  uv_close((uv_handle_t *)&hl->timer, hl_handle_closed);
  uv_close((uv_handle_t *)&hl->defer, hl_handle_closed);
}

static void hl_maybe_close(http_loop *hl) {
  if (hl->ncalls == 0)
    hl_close(hl);
}

static void hl_check_done(http_loop *hl) {
  CURLMsg *m;
  int left;

  while (hl->multi && (m = curl_multi_info_read(hl->multi, &left))) {
    CURLcode rc;
    char *priv = NULL;
    if (m->msg != CURLMSG_DONE)
      continue;
    rc = m->data.result;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
    wfa_http_call *c = (wfa_http_call *)priv;
    curl_multi_remove_handle(hl->multi, m->easy_handle);
    /* The count drops after the callback so a request it starts reuses this multi. */
    call_deliver(c, rc);
    hl->ncalls--;
  }
  hl_maybe_close(hl);
}

static void hl_action(http_loop *hl, curl_socket_t fd, int flags) {
  int running;

  if (hl->closing)
    return;
  curl_multi_socket_action(hl->multi, fd, flags, &running);
  hl_check_done(hl);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  http_sock *s = (http_sock *)h;
  int flags = 0;

  if (status < 0)
    flags = CURL_CSELECT_ERR;
  else {
    if (events & UV_READABLE)
      flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
      flags |= CURL_CSELECT_OUT;
  }
  hl_action(s->hl, s->fd, flags);
}

static void on_timeout(uv_timer_t *h) { hl_action(h->data, CURL_SOCKET_TIMEOUT, 0); }

static int on_curl_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *sockp) {
  http_loop *hl = userp;
  http_sock *s = sockp;
  int events = 0;

  (void)e;
  if (what == CURL_POLL_REMOVE) {
    if (s) {
      curl_multi_assign(hl->multi, fd, NULL);
      sock_close(hl, s);
    }
    return 0;
  }
  if (hl->closing)
    return -1;
  if (!s) {
    if (!(s = calloc(1, sizeof *s)))
      return -1;
    if (uv_poll_init_socket(hl->link.loop, &s->poll, fd)) {
      free(s);
      return -1;
    }
    s->poll.data = hl;
    s->hl = hl;
    s->fd = fd;
    s->next = hl->socks;
    hl->socks = s;
    hl->nhandles++;
    curl_multi_assign(hl->multi, fd, s);
  }
  if (what & CURL_POLL_IN)
    events |= UV_READABLE;
  if (what & CURL_POLL_OUT)
    events |= UV_WRITABLE;
  return uv_poll_start(&s->poll, events, on_poll) ? -1 : 0;
}

static int on_curl_timer(CURLM *m, long ms, void *userp) {
  http_loop *hl = userp;

  (void)m;
  if (hl->closing)
    return 0;
  if (ms < 0)
    uv_timer_stop(&hl->timer);
  else
    uv_timer_start(&hl->timer, on_timeout, (uint64_t)ms, 0);
  return 0;
}

static void on_defer(uv_timer_t *h) {
  http_loop *hl = h->data;
  wfa_http_call *c;

  while ((c = hl->deferred)) {
    hl->deferred = c->next;
    call_deliver(c, CURLE_ABORTED_BY_CALLBACK);
    hl->ncalls--;
  }
  hl_maybe_close(hl);
}

static int hl_get(uv_loop_t *loop, http_loop **out) {
  http_loop *hl;

  if ((*out = (http_loop *)wfa_loop_find(&loops, loop)))
    return 0;
  if (!(hl = calloc(1, sizeof *hl)))
    return WF_ENOMEM;
  if (!(hl->multi = curl_multi_init())) {
    free(hl);
    return WF_ENOMEM;
  }
  uv_timer_init(loop, &hl->timer);
  uv_timer_init(loop, &hl->defer);
  hl->timer.data = hl->defer.data = hl;
  hl->nhandles = 2;
  curl_multi_setopt(hl->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
  curl_multi_setopt(hl->multi, CURLMOPT_SOCKETDATA, hl);
  curl_multi_setopt(hl->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
  curl_multi_setopt(hl->multi, CURLMOPT_TIMERDATA, hl);
  curl_multi_setopt(hl->multi, CURLMOPT_MAXCONNECTS, HTTP_MAXCONNECTS);
  curl_multi_setopt(hl->multi, CURLMOPT_MAX_HOST_CONNECTIONS, HTTP_MAX_HOST_CONNS);
  wfa_loop_add(&loops, &hl->link, loop);
  *out = hl;
  return 0;
}

/* ---- requests ------------------------------------------------------------------------ */

static int has_header(const wfa_http_req *req, const char *name) {
  size_t i, n = strlen(name);

  for (i = 0; i < req->nheaders; i++)
    if (req->headers[i] && !strncasecmp(req->headers[i], name, n) &&
        req->headers[i][n] == ':')
      return 1;
  return 0;
}

static int call_setup(wfa_http_call *c, const wfa_http_req *req) {
  CURL *e = c->easy;
  double tmo = req->timeout_s > 0 ? req->timeout_s : HTTP_DEFAULT_TIMEOUT_S;
  long tmo_ms = tmo * 1000 < 1 ? 1 : tmo * 1000 > 86400000.0 ? 86400000L : (long)(tmo * 1000);
  size_t i;
  int ok = 1;

  for (i = 0; i < req->nheaders; i++) {
    struct curl_slist *l;
    if (!req->headers[i])
      return WF_EINVAL;
    if (!(l = curl_slist_append(c->hdrs, req->headers[i])))
      return WF_ENOMEM;
    c->hdrs = l;
  }
  /* An empty Expect stops curl from waiting on 100-continue before large bodies. */
  if (!has_header(req, "Expect")) {
    struct curl_slist *l = curl_slist_append(c->hdrs, "Expect:");
    if (!l)
      return WF_ENOMEM;
    c->hdrs = l;
  }
  ok &= !curl_easy_setopt(e, CURLOPT_URL, req->url);
  ok &= !curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)c);
  ok &= !curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  ok &= !curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, tmo_ms);
  ok &= !curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                          tmo_ms < HTTP_CONNECT_TIMEOUT_MS ? tmo_ms : HTTP_CONNECT_TIMEOUT_MS);
  ok &= !curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  if (req->on_wire) {
    c->on_wire = req->on_wire;
    c->on_wire_ud = req->on_wire_ud;
    ok &= !curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
    ok &= !curl_easy_setopt(e, CURLOPT_PREREQDATA, c);
  }
  ok &= !curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
  ok &= !curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  ok &= !curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  ok &= !curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
  ok &= !curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
  ok &= !curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
  ok &= !curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  ok &= !curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
  ok &= !curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_body);
  if (c->hdrs)
    ok &= !curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->hdrs);
  if (req->userpwd) {
    ok &= !curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    ok &= !curl_easy_setopt(e, CURLOPT_USERPWD, req->userpwd);
  }
  if (!strcmp(c->method, "GET")) {
    ok &= !curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else if (!strcmp(c->method, "HEAD")) {
    ok &= !curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else {
    if (strcmp(c->method, "POST"))
      ok &= !curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, c->method);
    ok &= !curl_easy_setopt(e, CURLOPT_POST, 1L);
    ok &= !curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                            (curl_off_t)(req->body ? req->body_len : 0));
    ok &= !curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body ? req->body : "");
  }
  return ok ? 0 : WF_ENOMEM;
}

static int method_ok(const char *m) {
  size_t n = strlen(m);

  if (!n || n >= sizeof ((wfa_http_call *)0)->method)
    return 0;
  for (; *m; m++)
    if (!isupper((unsigned char)*m))
      return 0;
  return 1;
}

int wfa_http_start(uv_loop_t *loop, const wfa_http_req *req, wfa_http_cb cb, void *ud,
                   wfa_http_call **call) {
  wfa_http_call *c;
  http_loop *hl;
  const char *method;
  int rc;

  if (call)
    *call = NULL;
  if (!loop || !req || !req->url || !cb || (req->nheaders && !req->headers) ||
      (req->body_len && !req->body))
    return WF_EINVAL;
  method = req->method ? req->method : "GET";
  if (!method_ok(method))
    return WF_EINVAL;
  pthread_once(&global_once, global_init);
  if (global_rc != CURLE_OK)
    return WF_ENOMEM;
  if (!(c = calloc(1, sizeof *c)) || !(c->easy = curl_easy_init())) {
    free(c);
    return WF_ENOMEM;
  }
  c->cb = cb;
  c->ud = ud;
  c->max_body = req->max_body ? req->max_body : HTTP_DEFAULT_MAX_BODY;
  snprintf(c->method, sizeof c->method, "%s", method);
  url_where(req->url, c->where, sizeof c->where);
  if ((rc = call_setup(c, req)) || (rc = hl_get(loop, &hl))) {
    call_free(c);
    return rc;
  }
  c->hl = hl;
  if (curl_multi_add_handle(hl->multi, c->easy)) {
    call_free(c);
    hl_maybe_close(hl);
    return WF_ENOMEM;
  }
  hl->ncalls++;
  if (call)
    *call = c;
  return 0;
}

void wfa_http_cancel(wfa_http_call *c) {
  wfa_http_call **pp;
  http_loop *hl;

  if (!c || c->canceled)
    return;
  hl = c->hl;
  c->canceled = 1;
  curl_multi_remove_handle(hl->multi, c->easy);
  curl_easy_cleanup(c->easy);
  c->easy = NULL;
  for (pp = &hl->deferred; *pp; pp = &(*pp)->next)
    ;
  *pp = c;
  uv_timer_start(&hl->defer, on_defer, 0, 0);
}
