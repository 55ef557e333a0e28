/* stub_http.c — wf-stub-http: a scripted HTTP/1.1 server on 127.0.0.1 that stands in for
 * remote APIs in tests and logs every request it gets as one JSON line.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <uv.h>

#define MAX_HEAD ((size_t)64 << 10)
#define MAX_BODY ((size_t)8 << 20)
#define MAX_FILE ((size_t)64 << 20)
#define MAX_CONNS 256

typedef struct resp {
  int status;
  const cJSON *headers; /* object of name -> string or number, owned by the script */
  char *body;
  size_t body_len;
  long delay_ms;
  int chunked, close;
} resp;

typedef struct route {
  const char *method, *path, *match_query, *require_auth;
  const cJSON *match_body; /* a string, or an array of strings; owned by the script */
  resp *resps;
  int nresps, next, repeat_last;
} route;

typedef struct conn conn;
struct conn {
  uv_tcp_t tcp;
  uv_timer_t delay;
  uv_write_t wr;
  conn *next;
  int id, nhandles, closing, busy, close_after, sent_continue;
  char *in;
  size_t in_len, in_cap;
  char *out;
  size_t out_len;
};

static uv_loop_t *loop;
static uv_tcp_t server;
static uv_signal_t sigterm, sigint;
static uv_timer_t deadline;
static cJSON *script;
static route *routes;
static int nroutes;
static FILE *log_file;
static conn *conns;
static int nconns, next_conn_id;

static void try_requests(conn *c);

/* ---- rate limits (optional): a server that counts exactly ----------------------------
 * The script's top-level "rate_limits": [{"name", "paths": [prefix...], "rps"}] make the
 * stub answer 429 (Retry-After: 1) to a request whose path starts with one of a limit's
 * prefixes when it arrives sooner than 1/rps after the previous accepted request of that
 * limit with the same Authorization value; such a request is logged with "throttled":
 * true and consumes no route response. Every log line carries "t_ms", the arrival time
 * in milliseconds since the stub started. */

#define MAX_LIMIT_KEYS 64

typedef struct rate_limit {
  const char *name;
  const cJSON *paths;
  double rps;
  char *auth[MAX_LIMIT_KEYS]; /* Authorization values seen, and when each last got in */
  uint64_t last_ms[MAX_LIMIT_KEYS];
  int nkeys;
} rate_limit;

static rate_limit *limits;
static int nlimits, log_throttled;
static cJSON *throttle_headers; /* {"Retry-After": "1"} */
static uint64_t start_ms;

static uint64_t now_ms(void) { return uv_hrtime() / 1000000u; }

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void load_limits(const cJSON *script_root) {
  const cJSON *ls = cJSON_GetObjectItemCaseSensitive(script_root, "rate_limits"), *l;
  int i = 0;

  if (!ls)
    return;
  if (!cJSON_IsArray(ls))
    die("%s", "\"rate_limits\" must be an array");
  nlimits = cJSON_GetArraySize(ls);
  if (!(limits = calloc((size_t)nlimits + 1, sizeof *limits)) ||
      !(throttle_headers = cJSON_CreateObject()) ||
      !cJSON_AddStringToObject(throttle_headers, "Retry-After", "1"))
    die("%s", "out of memory");
  cJSON_ArrayForEach(l, ls) {
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(l, "name");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(l, "rps");
    rate_limit *rl = &limits[i++];
    rl->name = cJSON_IsString(n) ? n->valuestring : "limit";
    rl->paths = cJSON_GetObjectItemCaseSensitive(l, "paths");
    if (!cJSON_IsArray(rl->paths) || !cJSON_IsNumber(r) || r->valuedouble <= 0)
      die("%s", "each rate limit needs \"paths\" (prefixes) and \"rps\" > 0");
    rl->rps = r->valuedouble;
  }
}

static int limit_applies(const rate_limit *rl, const char *path) {
  const cJSON *p;

  cJSON_ArrayForEach(p, rl->paths) if (cJSON_IsString(p) &&
                                       !strncmp(path, p->valuestring, strlen(p->valuestring)))
      return 1;
  return 0;
}

/* 1 when the request must be refused: too soon after the previous accepted one. */
static int rate_throttled(const char *path, const char *auth) {
  uint64_t now = now_ms();
  int i, k, hit = 0;

  for (i = 0; i < nlimits; i++) {
    rate_limit *rl = &limits[i];
    if (!limit_applies(rl, path))
      continue;
    for (k = 0; k < rl->nkeys && strcmp(rl->auth[k], auth ? auth : ""); k++)
      ;
    if (k == rl->nkeys) {
      if (k == MAX_LIMIT_KEYS)
        continue;
      if (!(rl->auth[k] = strdup(auth ? auth : "")))
        die("%s", "out of memory");
      rl->nkeys++;
    } else if ((double)(now - rl->last_ms[k]) < 1000.0 / rl->rps) {
      hit = 1;
      continue;
    }
    rl->last_ms[k] = now;
  }
  return hit;
}

static void free_limits(void) {
  int i, k;

  for (i = 0; i < nlimits; i++)
    for (k = 0; k < limits[i].nkeys; k++)
      free(limits[i].auth[k]);
  free(limits);
  cJSON_Delete(throttle_headers);
}

static void die(const char *fmt, ...) {
  va_list ap;

  va_start(ap, fmt);
  fprintf(stderr, "wf-stub-http: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(2);
}

/* ---- script ------------------------------------------------------------------------ */

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t cap = 0, n;

  *len = 0;
  if (!f)
    return NULL;
  for (;;) {
    if (*len + 4096 + 1 > cap) {
      char *nb;
      cap = cap ? cap * 2 : 8192;
      if (cap > MAX_FILE + 1 || !(nb = realloc(buf, cap))) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = nb;
    }
    n = fread(buf + *len, 1, 4096, f);
    *len += n;
    if (n < 4096)
      break;
  }
  buf[*len] = 0;
  if (ferror(f)) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  return buf;
}

static const char *opt_str(const cJSON *o, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

  if (v && !cJSON_IsString(v))
    die("\"%s\" must be a string", name);
  return v ? v->valuestring : NULL;
}

/* "match_body": one substring, or an array of substrings the body must all contain. */
static const cJSON *opt_match(const cJSON *o, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name), *s;

  if (!v || cJSON_IsString(v))
    return v;
  if (!cJSON_IsArray(v) || !cJSON_GetArraySize(v))
    die("\"%s\" must be a string or a non-empty array of strings", name);
  cJSON_ArrayForEach(s, v) if (!cJSON_IsString(s))
    die("\"%s\" must be a string or a non-empty array of strings", name);
  return v;
}

static int body_matches(const cJSON *m, const char *body) {
  const cJSON *s;

  if (!m)
    return 1;
  if (cJSON_IsString(m))
    return strstr(body, m->valuestring) != NULL;
  cJSON_ArrayForEach(s, m) if (!strstr(body, s->valuestring))
    return 0;
  return 1;
}

static void load_resp(resp *r, const cJSON *j, const char *dir) {
  const cJSON *v;
  char path[PATH_MAX];

  if (!cJSON_IsObject(j))
    die("%s", "each response must be an object");
  v = cJSON_GetObjectItemCaseSensitive(j, "status");
  r->status = cJSON_IsNumber(v) ? v->valueint : 200;
  if (r->status < 100 || r->status > 999)
    die("%s", "bad status");
  r->headers = cJSON_GetObjectItemCaseSensitive(j, "headers");
  if (r->headers && !cJSON_IsObject(r->headers))
    die("%s", "\"headers\" must be an object");
  v = cJSON_GetObjectItemCaseSensitive(j, "delay_ms");
  r->delay_ms = cJSON_IsNumber(v) && v->valuedouble > 0 ? (long)v->valuedouble : 0;
  r->chunked = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "chunked"));
  r->close = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "close"));
  if ((v = cJSON_GetObjectItemCaseSensitive(j, "body_file"))) {
    if (!cJSON_IsString(v))
      die("%s", "\"body_file\" must be a string");
    if (v->valuestring[0] == '/')
      snprintf(path, sizeof path, "%s", v->valuestring);
    else if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, v->valuestring) >= sizeof path)
      die("path too long: %s", v->valuestring);
    if (!(r->body = read_file(path, &r->body_len)))
      die("cannot read %s", path);
  } else if ((v = cJSON_GetObjectItemCaseSensitive(j, "body"))) {
    r->body = cJSON_IsString(v) ? strdup(v->valuestring) : cJSON_PrintUnformatted(v);
    if (!r->body)
      die("%s", "out of memory");
    r->body_len = strlen(r->body);
  }
}

static void load_script(const char *path) {
  char dir[PATH_MAX], *slash, *txt;
  const cJSON *rs, *rj;
  size_t len;
  int i, k;

  snprintf(dir, sizeof dir, "%s", path);
  if ((slash = strrchr(dir, '/')))
    *slash = 0;
  else
    snprintf(dir, sizeof dir, ".");
  if (!(txt = read_file(path, &len)))
    die("cannot read %s", path);
  script = cJSON_ParseWithLength(txt, len);
  free(txt);
  if (!script)
    die("%s is not JSON", path);
  rs = cJSON_GetObjectItemCaseSensitive(script, "routes");
  if (!cJSON_IsArray(rs))
    die("%s", "the script needs a \"routes\" array");
  nroutes = cJSON_GetArraySize(rs);
  if (!(routes = calloc((size_t)nroutes + 1, sizeof *routes)))
    die("%s", "out of memory");
  i = 0;
  cJSON_ArrayForEach(rj, rs) {
    route *r = &routes[i++];
    const cJSON *resps, *x;
    if (!cJSON_IsObject(rj))
      die("%s", "each route must be an object");
    r->method = opt_str(rj, "method");
    if (!(r->path = opt_str(rj, "path")))
      die("%s", "each route needs a \"path\"");
    r->match_body = opt_match(rj, "match_body");
    r->match_query = opt_str(rj, "match_query");
    r->require_auth = opt_str(rj, "require_auth");
    x = cJSON_GetObjectItemCaseSensitive(rj, "repeat_last");
    r->repeat_last = !cJSON_IsFalse(x);
    resps = cJSON_GetObjectItemCaseSensitive(rj, "responses");
    if (!cJSON_IsArray(resps) || !(r->nresps = cJSON_GetArraySize(resps)))
      die("route %s needs a non-empty \"responses\" array", r->path);
    if (!(r->resps = calloc((size_t)r->nresps, sizeof *r->resps)))
      die("%s", "out of memory");
    k = 0;
    cJSON_ArrayForEach(x, resps) load_resp(&r->resps[k++], x, dir);
  }
}

static void free_script(void) {
  int i, k;

  for (i = 0; i < nroutes; i++) {
    for (k = 0; k < routes[i].nresps; k++)
      free(routes[i].resps[k].body);
    free(routes[i].resps);
  }
  free(routes);
  cJSON_Delete(script);
}

/* ---- connections --------------------------------------------------------------------- */

static void conn_handle_closed(uv_handle_t *h) {
  conn *c = h->data;

  if (--c->nhandles == 0) {
    free(c->in);
    free(c->out);
    free(c);
  }
}

static void conn_close(conn *c) {
  conn **pp;

  if (c->closing)
    return;
  c->closing = 1;
  for (pp = &conns; *pp; pp = &(*pp)->next)
    if (*pp == c) {
      *pp = c->next;
      break;
    }
  nconns--;
  uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
  uv_close((uv_handle_t *)&c->delay, conn_handle_closed);
}

static const char *reason(int status) {
  switch (status) {
  case 100: return "Continue";
  case 200: return "OK";
  case 201: return "Created";
  case 204: return "No Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 402: return "Payment Required";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 408: return "Request Timeout";
  case 413: return "Content Too Large";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  default: return "Status";
  }
}

typedef struct sbuf {
  char *p;
  size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *p, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t nc = b->cap ? b->cap : 1024;
    char *np;
    while (nc < b->len + n + 1)
      nc *= 2;
    if (!(np = realloc(b->p, nc)))
      die("%s", "out of memory");
    b->p = np;
    b->cap = nc;
  }
  memcpy(b->p + b->len, p, n);
  b->len += n;
  b->p[b->len] = 0;
}

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
  char tmp[1024];
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  sb_add(b, tmp, n < 0 ? 0 : (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void on_written(uv_write_t *w, int status) {
  conn *c = w->data;

  free(c->out);
  c->out = NULL;
  c->busy = 0;
  if (status < 0 || c->close_after)
    conn_close(c);
  else
    try_requests(c);
}

static void send_out(conn *c) {
  uv_buf_t b = uv_buf_init(c->out, (unsigned)c->out_len);

  c->wr.data = c;
  if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0)
    conn_close(c);
}

static void on_delay(uv_timer_t *t) { send_out(t->data); }

/* Builds the response bytes into c->out; the body is split in two chunks when chunked. */
static void build_response(conn *c, int status, const cJSON *headers, const char *body,
                           size_t body_len, int chunked) {
  sbuf b = {0};
  const cJSON *h;
  int has_ct = 0;

  sb_printf(&b, "HTTP/1.1 %d %s\r\n", status, reason(status));
  cJSON_ArrayForEach(h, headers) {
    if (!strcasecmp(h->string, "content-type"))
      has_ct = 1;
    if (cJSON_IsString(h))
      sb_printf(&b, "%s: %s\r\n", h->string, h->valuestring);
    else if (cJSON_IsNumber(h))
      sb_printf(&b, "%s: %.17g\r\n", h->string, h->valuedouble);
  }
  if (!has_ct && body_len)
    sb_printf(&b, "Content-Type: application/json\r\n");
  if (c->close_after)
    sb_printf(&b, "Connection: close\r\n");
  if (chunked) {
    size_t half = body_len / 2;
    sb_printf(&b, "Transfer-Encoding: chunked\r\n\r\n");
    if (half) {
      sb_printf(&b, "%zx\r\n", half);
      sb_add(&b, body, half);
      sb_add(&b, "\r\n", 2);
    }
    if (body_len - half) {
      sb_printf(&b, "%zx\r\n", body_len - half);
      sb_add(&b, body + half, body_len - half);
      sb_add(&b, "\r\n", 2);
    }
    sb_printf(&b, "0\r\n\r\n");
  } else {
    sb_printf(&b, "Content-Length: %zu\r\n\r\n", body_len);
    sb_add(&b, body, body_len);
  }
  free(c->out);
  c->out = b.p;
  c->out_len = b.len;
}

static void send_simple(conn *c, int status, const char *json) {
  c->busy = 1;
  build_response(c, status, NULL, json, strlen(json), 0);
  send_out(c);
}

/* Chunked body at p[0..n): 1 complete (decoded into *out, *used bytes), 0 need more,
 * -1 malformed or too large. */
static int dechunk(const char *p, size_t n, sbuf *out, size_t *used) {
  size_t pos = 0;

  out->len = 0;
  for (;;) {
    const char *eol = memchr(p + pos, '\n', n - pos);
    unsigned long long sz;
    char *end;
    if (!eol)
      return n - pos > 64 ? -1 : 0;
    errno = 0;
    sz = strtoull(p + pos, &end, 16);
    if (end == p + pos || errno || sz > MAX_BODY || out->len + sz > MAX_BODY)
      return -1;
    pos = (size_t)(eol - p) + 1;
    if (sz == 0) {
      for (;;) { /* trailers up to an empty line */
        const char *e = memchr(p + pos, '\n', n - pos);
        size_t l;
        if (!e)
          return n - pos > MAX_HEAD ? -1 : 0;
        l = (size_t)(e - (p + pos));
        pos = (size_t)(e - p) + 1;
        if (l == 0 || (l == 1 && p[pos - 2] == '\r')) {
          *used = pos;
          return 1;
        }
      }
    }
    if (n - pos < sz + 2)
      return 0;
    sb_add(out, p + pos, (size_t)sz);
    pos += (size_t)sz;
    if (p[pos] == '\r')
      pos++;
    if (p[pos] != '\n')
      return -1;
    pos++;
  }
}

static int route_matches(const route *r, const char *method, const char *path,
                         const char *query, const char *body) {
  return (!r->method || !strcmp(r->method, method)) && !strcmp(r->path, path) &&
         body_matches(r->match_body, body) &&
         (!r->match_query || strstr(query, r->match_query));
}

static void log_request(conn *c, const char *method, const char *path, const char *query,
                        cJSON *headers, const char *body, int route_idx, int status) {
  cJSON *o;
  char *line;

  if (!log_file)
    return;
  if (!(o = cJSON_CreateObject()))
    die("%s", "out of memory");
  cJSON_AddNumberToObject(o, "conn", c->id);
  cJSON_AddStringToObject(o, "method", method);
  cJSON_AddStringToObject(o, "path", path);
  cJSON_AddStringToObject(o, "query", query);
  cJSON_AddItemReferenceToObject(o, "headers", headers);
  cJSON_AddStringToObject(o, "body", body);
  cJSON_AddNumberToObject(o, "route", route_idx);
  cJSON_AddNumberToObject(o, "status", status);
  cJSON_AddNumberToObject(o, "t_ms", (double)(now_ms() - start_ms));
  if (log_throttled)
    cJSON_AddTrueToObject(o, "throttled");
  if (!(line = cJSON_PrintUnformatted(o)))
    die("%s", "out of memory");
  fprintf(log_file, "%s\n", line);
  fflush(log_file); /* tests count lines while the stub runs */
  free(line);
  cJSON_Delete(o);
}

/* Serves one complete request: method, target, headers (lower-case names), body. */
static void serve(conn *c, const char *method, char *target, cJSON *headers,
                  const char *body) {
  const char *query = "", *auth;
  const cJSON *a;
  char *q;
  int i, status;

  if ((q = strchr(target, '?'))) {
    *q = 0;
    query = q + 1;
  }
  a = cJSON_GetObjectItemCaseSensitive(headers, "authorization");
  auth = cJSON_IsString(a) ? a->valuestring : NULL;
  if (rate_throttled(target, auth)) {
    static const char msg[] = "{\"error\":\"rate limit exceeded\"}";
    log_throttled = 1;
    log_request(c, method, target, query, headers, body, -1, 429);
    log_throttled = 0;
    c->busy = 1;
    build_response(c, 429, throttle_headers, msg, sizeof msg - 1, 0);
    send_out(c);
    return;
  }
  for (i = 0; i < nroutes && !route_matches(&routes[i], method, target, query, body); i++)
    ;
  c->busy = 1;
  if (i == nroutes) {
    cJSON *e = cJSON_CreateObject();
    char *txt;
    cJSON_AddStringToObject(e, "error", "no route");
    cJSON_AddStringToObject(e, "method", method);
    cJSON_AddStringToObject(e, "path", target);
    txt = cJSON_PrintUnformatted(e);
    cJSON_Delete(e);
    if (!txt)
      die("%s", "out of memory");
    log_request(c, method, target, query, headers, body, -1, 404);
    build_response(c, 404, NULL, txt, strlen(txt), 0);
    free(txt);
    send_out(c);
    return;
  }
  route *r = &routes[i];
  if (r->require_auth && (!auth || strcmp(auth, r->require_auth))) {
    status = auth ? 403 : 401;
    log_request(c, method, target, query, headers, body, i, status);
    send_simple(c, status, auth ? "{\"error\":\"forbidden\"}" : "{\"error\":\"unauthorized\"}");
    return;
  }
  if (r->next >= r->nresps && !r->repeat_last) {
    log_request(c, method, target, query, headers, body, i, 404);
    send_simple(c, 404, "{\"error\":\"no more responses\"}");
    return;
  }
  resp *rs = &r->resps[r->next < r->nresps ? r->next : r->nresps - 1];
  r->next++;
  if (rs->close)
    c->close_after = 1;
  log_request(c, method, target, query, headers, body, i, rs->status);
  build_response(c, rs->status, rs->headers, rs->body ? rs->body : "", rs->body_len,
                 rs->chunked);
  if (rs->delay_ms)
    uv_timer_start(&c->delay, on_delay, (uint64_t)rs->delay_ms, 0);
  else
    send_out(c);
}

/* Parses as many complete requests as the buffer holds, one at a time: the next waits
 * until the previous response is written. */
static void try_requests(conn *c) {
  while (!c->busy && !c->closing && c->in_len) {
    char *head_end = NULL, *head, *line, *eol, *sp1, *sp2;
    size_t head_len, body_len = 0, used;
    long long clen = -1;
    int chunked = 0, expect = 0, keep;
    cJSON *headers;
    sbuf body = {0};
    size_t i;

    for (i = 3; i < c->in_len; i++)
      if (!memcmp(c->in + i - 3, "\r\n\r\n", 4)) {
        head_end = c->in + i + 1;
        break;
      }
    if (!head_end) {
      if (c->in_len > MAX_HEAD) {
        c->close_after = 1;
        send_simple(c, 431, "{\"error\":\"request header too large\"}");
      }
      return;
    }
    head_len = (size_t)(head_end - c->in);
    if (memchr(c->in, 0, head_len)) {
      c->close_after = 1;
      send_simple(c, 400, "{\"error\":\"NUL in request header\"}");
      return;
    }
    /* Parsed in a copy: the block stays intact while the body is still arriving. */
    if (!(head = malloc(head_len + 1)))
      die("%s", "out of memory");
    memcpy(head, c->in, head_len);
    head[head_len] = 0;
    line = head;
    eol = strstr(line, "\r\n");
    *eol = 0;
    sp1 = strchr(line, ' ');
    sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || strncmp(sp2 + 1, "HTTP/1.", 7)) {
      free(head);
      c->close_after = 1;
      send_simple(c, 400, "{\"error\":\"bad request line\"}");
      return;
    }
    *sp1 = *sp2 = 0;
    keep = !strcmp(sp2 + 1, "HTTP/1.1");
    if (!(headers = cJSON_CreateObject()))
      die("%s", "out of memory");
    for (line = eol + 2; *line; line = eol + 2) {
      char *colon, *v, *e, *k;
      if (!(eol = strstr(line, "\r\n")))
        break;
      *eol = 0;
      if (!(colon = strchr(line, ':')))
        continue;
      *colon = 0;
      for (k = line; *k; k++)
        *k = (char)tolower((unsigned char)*k);
      for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
        ;
      for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'); e--)
        ;
      *e = 0;
      if (!strcmp(line, "content-length"))
        clen = strtoll(v, NULL, 10);
      else if (!strcmp(line, "transfer-encoding") && strstr(v, "chunked"))
        chunked = 1;
      else if (!strcmp(line, "expect") && !strcasecmp(v, "100-continue"))
        expect = 1;
      else if (!strcmp(line, "connection"))
        keep = strcasecmp(v, "close") && (keep || !strcasecmp(v, "keep-alive"));
      if (cJSON_GetObjectItemCaseSensitive(headers, line))
        cJSON_DeleteItemFromObjectCaseSensitive(headers, line);
      cJSON_AddStringToObject(headers, line, v);
    }
    if (clen > (long long)MAX_BODY) {
      free(head);
      cJSON_Delete(headers);
      c->close_after = 1;
      send_simple(c, 413, "{\"error\":\"request body too large\"}");
      return;
    }
    if (chunked) {
      int rc = dechunk(c->in + head_len, c->in_len - head_len, &body, &used);
      if (rc < 0) {
        free(head);
        cJSON_Delete(headers);
        free(body.p);
        c->close_after = 1;
        send_simple(c, 413, "{\"error\":\"bad or too large chunked body\"}");
        return;
      }
      body_len = rc ? used : SIZE_MAX;
    } else {
      body_len = clen > 0 ? (size_t)clen : 0;
      if (c->in_len - head_len >= body_len)
        sb_add(&body, c->in + head_len, body_len);
      else
        body_len = SIZE_MAX;
    }
    if (body_len == SIZE_MAX) { /* incomplete: restore the block and wait for more */
      free(head);
      cJSON_Delete(headers);
      free(body.p);
      if (expect && !c->sent_continue) {
        static char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        uv_buf_t b = uv_buf_init(cont, sizeof cont - 1);
        c->sent_continue = 1;
        uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
      }
      return;
    }
    if (!body.p)
      sb_add(&body, "", 0);
    if (!keep)
      c->close_after = 1;
    c->sent_continue = 0;
    serve(c, head, sp1 + 1, headers, body.p);
    free(head);
    cJSON_Delete(headers);
    free(body.p);
    used = head_len + body_len;
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
  }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  conn *c = h->data;

  (void)hint;
  if (c->in_cap - c->in_len < 65536) {
    size_t nc = c->in_cap ? c->in_cap * 2 : 131072;
    char *np = realloc(c->in, nc);
    if (!np) {
      *buf = uv_buf_init(NULL, 0);
      return;
    }
    c->in = np;
    c->in_cap = nc;
  }
  *buf = uv_buf_init(c->in + c->in_len, (unsigned)(c->in_cap - c->in_len - 1));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  conn *c = s->data;

  (void)buf;
  if (n < 0) {
    conn_close(c);
    return;
  }
  c->in_len += (size_t)n;
  if (c->in_len > MAX_HEAD + MAX_BODY + 65536) {
    conn_close(c);
    return;
  }
  try_requests(c);
}

static void on_connection(uv_stream_t *srv, int status) {
  conn *c;

  if (status < 0)
    return;
  if (!(c = calloc(1, sizeof *c)))
    die("%s", "out of memory");
  uv_tcp_init(loop, &c->tcp);
  uv_timer_init(loop, &c->delay);
  c->tcp.data = c->delay.data = c;
  c->nhandles = 2;
  c->id = ++next_conn_id;
  c->next = conns;
  conns = c;
  nconns++;
  if (uv_accept(srv, (uv_stream_t *)&c->tcp) || nconns > MAX_CONNS ||
      uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read))
    conn_close(c);
}

/* ---- main ------------------------------------------------------------------------------- */

static void noop_close(uv_handle_t *h) { (void)h; }

static void shutdown_all(void) {
  uv_close((uv_handle_t *)&server, noop_close);
  uv_close((uv_handle_t *)&sigterm, noop_close);
  uv_close((uv_handle_t *)&sigint, noop_close);
  uv_close((uv_handle_t *)&deadline, noop_close);
  while (conns)
    conn_close(conns);
}

static void on_signal(uv_signal_t *h, int sig) {
  (void)h;
  (void)sig;
  shutdown_all();
}

static void on_deadline(uv_timer_t *t) {
  (void)t;
  fprintf(stderr, "wf-stub-http: --max-seconds reached\n");
  shutdown_all();
}

static void usage(void) {
  fprintf(stderr, "usage: wf-stub-http --script routes.json --port-file F "
                  "[--log requests.jsonl] [--max-seconds 120]\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *script_path = NULL, *port_file = NULL, *log_path = NULL;
  double max_s = 120;
  struct sockaddr_in addr;
  struct sockaddr_storage bound;
  int i, blen = sizeof bound, rc;
  char tmp[PATH_MAX];
  FILE *pf = NULL;

  for (i = 1; i < argc; i++) {
    if (i + 1 >= argc)
      usage();
    if (!strcmp(argv[i], "--script"))
      script_path = argv[++i];
    else if (!strcmp(argv[i], "--port-file"))
      port_file = argv[++i];
    else if (!strcmp(argv[i], "--log"))
      log_path = argv[++i];
    else if (!strcmp(argv[i], "--max-seconds"))
      max_s = atof(argv[++i]);
    else
      usage();
  }
  if (!script_path || !port_file || max_s <= 0)
    usage();
  start_ms = now_ms();
  load_script(script_path);
  load_limits(script);
  if (log_path && !(log_file = fopen(log_path, "w")))
    die("cannot open %s", log_path);
  loop = uv_default_loop();
  uv_tcp_init(loop, &server);
  uv_ip4_addr("127.0.0.1", 0, &addr);
  if ((rc = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0)) ||
      (rc = uv_listen((uv_stream_t *)&server, 128, on_connection)) ||
      (rc = uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &blen)))
    die("cannot listen: %s", uv_strerror(rc));
  uv_signal_init(loop, &sigterm);
  uv_signal_init(loop, &sigint);
  uv_signal_start(&sigterm, on_signal, SIGTERM);
  uv_signal_start(&sigint, on_signal, SIGINT);
  uv_timer_init(loop, &deadline);
  uv_timer_start(&deadline, on_deadline, (uint64_t)(max_s * 1000), 0);
  /* Written then renamed so a waiting test never reads a half-written number. */
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", port_file) >= sizeof tmp ||
      !(pf = fopen(tmp, "w")))
    die("cannot write %s", port_file);
  fprintf(pf, "%d\n", ntohs(((struct sockaddr_in *)&bound)->sin_port));
  if (fclose(pf) || rename(tmp, port_file))
    die("cannot write %s", port_file);
  uv_run(loop, UV_RUN_DEFAULT);
  rc = uv_loop_close(loop);
  if (log_file)
    fclose(log_file);
  free_script();
  free_limits();
  return rc ? 1 : 0;
}
