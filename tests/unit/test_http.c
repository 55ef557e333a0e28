/* test_http.c — the libcurl-on-libuv HTTP client (activities/http.c) against wf-stub-http:
 * round trips, auth, Retry-After, bursts, timeouts, cancel, size caps, refused
 * connections, and a loop left with no handles once requests are done.
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "assert_wf.h"
#include "wf/wf.h"
#include "wfhttp.h"

extern char **environ;

static char dir[] = "/tmp/wf-test-http-XXXXXX";
static char log_path[512];
static pid_t stub_pid = -1;
static int port;
static int inside_caller; /* set around calls whose callback must not run inside them */

#define AUTH_OK "Basic dG9rOmFwaV90b2tlbg==" /* tok:api_token */
#define TOGGL_PATH "/reports/api/v3/workspace/42/search/time_entries"

static const char *script =
    "{\"routes\": ["
    " {\"method\": \"GET\", \"path\": \"/hello\", \"responses\": [{\"status\": 200,"
    "   \"headers\": {\"X-Next-Row-Number\": \"51\", \"X-Next-ID\": 777},"
    "   \"body_file\": \"page1.json\"}]},"
    " {\"method\": \"POST\", \"path\": \"" TOGGL_PATH "\","
    "   \"match_body\": \"\\\"first_row_number\\\":51\","
    "   \"responses\": [{\"status\": 200, \"body\": []}]},"
    " {\"method\": \"POST\", \"path\": \"" TOGGL_PATH "\", \"responses\": [{\"status\": 200,"
    "   \"headers\": {\"X-Next-Row-Number\": \"51\"}, \"body\": [{\"row_number\": 1}]}]},"
    " {\"path\": \"/auth\", \"require_auth\": \"" AUTH_OK "\","
    "   \"responses\": [{\"body\": {\"ok\": true}}]},"
    " {\"path\": \"/limited\", \"responses\": ["
    "   {\"status\": 429, \"headers\": {\"Retry-After\": \"1\"}, \"body\": \"slow down\"},"
    "   {\"status\": 429, \"headers\": {\"Retry-After\": \"Wed, 21 Oct 2099 07:28:00 GMT\"}},"
    "   {\"status\": 503, \"headers\": {\"Retry-After\": \"Thu, 01 Jan 1998 00:00:00 GMT\"}},"
    "   {\"status\": 402, \"headers\": {\"X-Toggl-Quota-Resets-In\": \"120\"}},"
    "   {\"status\": 200, \"body\": \"fine\"}]},"
    " {\"path\": \"/burst\", \"responses\": [{\"body\": \"burst\"}]},"
    " {\"path\": \"/seq\", \"responses\": [{\"body\": \"first\"}, {\"body\": \"second\"}],"
    "   \"repeat_last\": false},"
    " {\"path\": \"/slow\", \"responses\": [{\"delay_ms\": 4000, \"body\": \"late\"}]},"
    " {\"path\": \"/big\", \"responses\": [{\"body_file\": \"big.txt\"}]},"
    " {\"path\": \"/bigchunked\", \"responses\": [{\"body_file\": \"big.txt\", \"chunked\": true}]},"
    " {\"path\": \"/chunked\", \"responses\": [{\"body\": \"0123456789\", \"chunked\": true}]}"
    "]}";

static const char *page1 = "[{\"row_number\": 1, \"user_id\": 5}]";

static double now_s(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

  nanosleep(&ts, NULL);
}

static int write_file(const char *name, const char *text, size_t len) {
  char path[512];
  FILE *f;

  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (!(f = fopen(path, "w")))
    return -1;
  fwrite(text, 1, len, f);
  return fclose(f);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  char *buf;
  long n;

  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  if ((buf = malloc((size_t)n + 1))) {
    buf[fread(buf, 1, (size_t)n, f)] = 0;
  }
  fclose(f);
  return buf;
}

/* The stub is built next to this test: <build>/tests/stubs/wf-stub-http. */
static int stub_path(char *out, size_t cap) {
  const char *env = getenv("WF_STUB_HTTP");
  char exe[512], *slash;
  ssize_t n;

  if (env && *env)
    return snprintf(out, cap, "%s", env) < (int)cap ? 0 : -1;
  if ((n = readlink("/proc/self/exe", exe, sizeof exe - 1)) <= 0)
    return -1;
  exe[n] = 0;
  if (!(slash = strrchr(exe, '/')))
    return -1;
  *slash = 0;
  return snprintf(out, cap, "%s/stubs/wf-stub-http", exe) < (int)cap ? 0 : -1;
}

static int group_setup(void **state) {
  char stub[512], script_path[512], port_path[512], *txt;
  char big[1001];
  double t0;
  int st;

  (void)state;
  if (!mkdtemp(dir) || stub_path(stub, sizeof stub))
    return -1;
  memset(big, 'x', 1000);
  big[1000] = 0;
  if (write_file("routes.json", script, strlen(script)) ||
      write_file("page1.json", page1, strlen(page1)) || write_file("big.txt", big, 1000))
    return -1;
  snprintf(script_path, sizeof script_path, "%s/routes.json", dir);
  snprintf(port_path, sizeof port_path, "%s/port", dir);
  snprintf(log_path, sizeof log_path, "%s/requests.jsonl", dir);
  {
    char *argv[] = {stub, "--script", script_path, "--port-file", port_path,
                    "--log", log_path, "--max-seconds", "100", NULL};
    if (posix_spawn(&stub_pid, stub, NULL, NULL, argv, environ)) {
      fprintf(stderr, "cannot start %s\n", stub);
      stub_pid = -1;
      return -1;
    }
  }
  for (t0 = now_s(); now_s() - t0 < 10; sleep_ms(20)) {
    if ((txt = slurp(port_path))) {
      port = atoi(txt);
      free(txt);
      if (port > 0)
        return 0;
    }
    if (waitpid(stub_pid, &st, WNOHANG) == stub_pid) {
      stub_pid = -1;
      return -1;
    }
  }
  return -1;
}

static int group_teardown(void **state) {
  char cmd[600];
  double t0;
  int st = -1, clean = 1;

  (void)state;
  if (stub_pid > 0) {
    kill(stub_pid, SIGTERM);
    for (t0 = now_s(); waitpid(stub_pid, &st, WNOHANG) == 0; sleep_ms(20))
      if (now_s() - t0 > 5) {
        kill(stub_pid, SIGKILL);
        waitpid(stub_pid, &st, 0);
        break;
      }
    stub_pid = -1;
    /* A stub that shut down uncleanly (or leaked, under the sanitizers) fails the run. */
    if (!WIFEXITED(st) || WEXITSTATUS(st)) {
      fprintf(stderr, "wf-stub-http ended with status %d\n", st);
      clean = 0;
    }
  }
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 && clean ? 0 : -1;
}

/* ---- helpers ---------------------------------------------------------------------- */

typedef struct res {
  int ndone;
  wfa_http_resp r;
  double t_done;
  /* optional follow-up request started from the callback */
  uv_loop_t *loop;
  const wfa_http_req *next_req;
  struct res *next_res;
} res;

static void on_resp(void *ud, wfa_http_resp *r) {
  res *x = ud;

  assert_int_equal(inside_caller, 0);
  x->ndone++;
  x->r = *r;
  x->t_done = now_s();
  if (x->next_req)
    assert_wf_ok(wfa_http_start(x->loop, x->next_req, on_resp, x->next_res, NULL));
}

static void url(char *buf, size_t cap, const char *path) {
  snprintf(buf, cap, "http://127.0.0.1:%d%s", port, path);
}

/* Runs the loop to completion; every handle the client opened must be closed by then. */
static void run_and_close(uv_loop_t *loop) {
  assert_int_equal(uv_run(loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(loop), 0);
}

/* One request on a fresh loop. */
static void fetch(const wfa_http_req *req, res *x) {
  uv_loop_t loop;

  memset(x, 0, sizeof *x);
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_wf_ok(wfa_http_start(&loop, req, on_resp, x, NULL));
  run_and_close(&loop);
  assert_int_equal(x->ndone, 1);
}

/* Log lines for `path`, oldest first, as a cJSON array (caller deletes). */
static cJSON *logged(const char *path) {
  char *txt = slurp(log_path), *line, *save = NULL;
  cJSON *out = cJSON_CreateArray();

  assert_non_null(txt);
  for (line = strtok_r(txt, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    cJSON *j = cJSON_Parse(line);
    const cJSON *p;
    assert_non_null(j);
    p = cJSON_GetObjectItemCaseSensitive(j, "path");
    if (cJSON_IsString(p) && !strcmp(p->valuestring, path))
      cJSON_AddItemToArray(out, j);
    else
      cJSON_Delete(j);
  }
  free(txt);
  return out;
}

static const char *jstr(const cJSON *o, const char *a, const char *b) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

  if (b)
    v = cJSON_GetObjectItemCaseSensitive(v, b);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- tests -------------------------------------------------------------------------- */

static void count_wire(void *ud) { (*(int *)ud)++; }

static void test_get_round_trip(void **state) {
  const char *hdrs[] = {"X-Test: abc", "Accept: application/json"};
  wfa_http_req req = {0};
  char u[256], buf[64];
  cJSON *l;
  res x;
  int wired = 0;

  (void)state;
  url(u, sizeof u, "/hello?page=2&token=s3cret");
  req.method = "GET";
  req.url = u;
  req.headers = hdrs;
  req.nheaders = 2;
  req.on_wire = count_wire;
  req.on_wire_ud = &wired;
  fetch(&req, &x);
  assert_int_equal(wired, 1); /* told once, when the request went out */
  assert_int_equal(x.r.status, 200);
  assert_string_equal(x.r.body, page1);
  assert_int_equal(x.r.body_len, strlen(page1));
  assert_string_equal(x.r.error, "");
  assert_true(x.r.retry_after_s == -1);
  assert_non_null(wfa_http_header(&x.r, "x-next-row-number", buf, sizeof buf));
  assert_string_equal(buf, "51");
  assert_non_null(wfa_http_header(&x.r, "X-NEXT-ID", buf, sizeof buf));
  assert_string_equal(buf, "777");
  assert_non_null(wfa_http_header(&x.r, "Content-Type", buf, sizeof buf));
  assert_string_equal(buf, "application/json");
  assert_null(wfa_http_header(&x.r, "X-Next-Timestamp", buf, sizeof buf));
  assert_non_null(strstr(x.r.headers, "HTTP/1.1 200"));
  wfa_http_resp_clear(&x.r);
  assert_null(x.r.body);

  l = logged("/hello");
  assert_int_equal(cJSON_GetArraySize(l), 1);
  assert_string_equal(jstr(cJSON_GetArrayItem(l, 0), "method", NULL), "GET");
  assert_string_equal(jstr(cJSON_GetArrayItem(l, 0), "query", NULL), "page=2&token=s3cret");
  assert_string_equal(jstr(cJSON_GetArrayItem(l, 0), "headers", "x-test"), "abc");
  assert_string_equal(jstr(cJSON_GetArrayItem(l, 0), "headers", "accept"),
                      "application/json");
  assert_null(jstr(cJSON_GetArrayItem(l, 0), "headers", "expect"));
  cJSON_Delete(l);
}

static void test_post_round_trip(void **state) {
  const char *hdrs[] = {"Content-Type: application/json"};
  const char *b1 = "{\"start_date\":\"2025-01-02\",\"end_date\":\"2025-01-02\",\"page_size\":50}";
  const char *b2 = "{\"start_date\":\"2025-01-02\",\"end_date\":\"2025-01-02\","
                   "\"page_size\":50,\"first_row_number\":51}";
  wfa_http_req req = {0};
  char u[256], buf[32];
  cJSON *l;
  res x;

  (void)state;
  url(u, sizeof u, TOGGL_PATH);
  req.method = "POST";
  req.url = u;
  req.headers = hdrs;
  req.nheaders = 1;
  req.body = b1;
  req.body_len = strlen(b1);
  fetch(&req, &x);
  assert_int_equal(x.r.status, 200);
  assert_string_equal(x.r.body, "[{\"row_number\":1}]");
  assert_string_equal(wfa_http_header(&x.r, "X-Next-Row-Number", buf, sizeof buf), "51");
  wfa_http_resp_clear(&x.r);

  req.body = b2;
  req.body_len = strlen(b2);
  fetch(&req, &x);
  assert_int_equal(x.r.status, 200);
  assert_string_equal(x.r.body, "[]");
  assert_null(wfa_http_header(&x.r, "X-Next-Row-Number", buf, sizeof buf));
  wfa_http_resp_clear(&x.r);

  l = logged(TOGGL_PATH);
  assert_int_equal(cJSON_GetArraySize(l), 2);
  assert_string_equal(jstr(cJSON_GetArrayItem(l, 0), "method", NULL), "POST");
  assert_string_equal(jstr(cJSON_GetArrayItem(l, 0), "body", NULL), b1);
  assert_string_equal(jstr(cJSON_GetArrayItem(l, 1), "body", NULL), b2);
  assert_string_equal(jstr(cJSON_GetArrayItem(l, 0), "headers", "content-type"),
                      "application/json");
  snprintf(buf, sizeof buf, "%zu", strlen(b1));
  assert_string_equal(jstr(cJSON_GetArrayItem(l, 0), "headers", "content-length"), buf);
  cJSON_Delete(l);
}

static void test_basic_auth(void **state) {
  wfa_http_req req = {0};
  char u[256];
  cJSON *l;
  res x;

  (void)state;
  url(u, sizeof u, "/auth");
  req.url = u;
  req.userpwd = "tok:api_token";
  fetch(&req, &x);
  assert_int_equal(x.r.status, 200);
  assert_string_equal(x.r.body, "{\"ok\":true}");
  wfa_http_resp_clear(&x.r);

  req.userpwd = "bad:api_token";
  fetch(&req, &x);
  assert_int_equal(x.r.status, 403);
  wfa_http_resp_clear(&x.r);

  req.userpwd = NULL;
  fetch(&req, &x);
  assert_int_equal(x.r.status, 401);
  assert_non_null(strstr(x.r.body, "unauthorized"));
  wfa_http_resp_clear(&x.r);

  l = logged("/auth");
  assert_int_equal(cJSON_GetArraySize(l), 3);
  assert_string_equal(jstr(cJSON_GetArrayItem(l, 0), "headers", "authorization"), AUTH_OK);
  assert_null(jstr(cJSON_GetArrayItem(l, 2), "headers", "authorization"));
  cJSON_Delete(l);
}

static void test_retry_after(void **state) {
  wfa_http_req req = {0};
  char u[256], buf[32];
  res x;

  (void)state;
  url(u, sizeof u, "/limited");
  req.url = u;
  fetch(&req, &x);
  assert_int_equal(x.r.status, 429);
  assert_true(x.r.retry_after_s == 1);
  assert_string_equal(x.r.body, "slow down");
  wfa_http_resp_clear(&x.r);

  fetch(&req, &x); /* an HTTP date far ahead */
  assert_int_equal(x.r.status, 429);
  assert_true(x.r.retry_after_s > 365.0 * 86400 * 50);
  assert_string_equal(x.r.body, "");
  wfa_http_resp_clear(&x.r);

  fetch(&req, &x); /* a date in the past waits nothing */
  assert_int_equal(x.r.status, 503);
  assert_true(x.r.retry_after_s == 0);
  wfa_http_resp_clear(&x.r);

  fetch(&req, &x);
  assert_int_equal(x.r.status, 402);
  assert_true(x.r.retry_after_s == -1);
  assert_string_equal(wfa_http_header(&x.r, "X-Toggl-Quota-Resets-In", buf, sizeof buf),
                      "120");
  wfa_http_resp_clear(&x.r);

  fetch(&req, &x);
  assert_int_equal(x.r.status, 200);
  assert_true(x.r.retry_after_s == -1);
  wfa_http_resp_clear(&x.r);
}

#define BURST 20

static void test_burst(void **state) {
  wfa_http_req req = {0};
  res xs[BURST];
  uv_loop_t loop;
  char u[256];
  cJSON *l, *e;
  int i, conns[BURST], nconns = 0, j;

  (void)state;
  url(u, sizeof u, "/burst");
  req.url = u;
  memset(xs, 0, sizeof xs);
  assert_int_equal(uv_loop_init(&loop), 0);
  for (i = 0; i < BURST; i++)
    assert_wf_ok(wfa_http_start(&loop, &req, on_resp, &xs[i], NULL));
  run_and_close(&loop);
  for (i = 0; i < BURST; i++) {
    assert_int_equal(xs[i].ndone, 1);
    assert_int_equal(xs[i].r.status, 200);
    assert_string_equal(xs[i].r.body, "burst");
    wfa_http_resp_clear(&xs[i].r);
  }
  l = logged("/burst");
  assert_int_equal(cJSON_GetArraySize(l), BURST);
  cJSON_ArrayForEach(e, l) {
    int id = cJSON_GetObjectItemCaseSensitive(e, "conn")->valueint;
    for (j = 0; j < nconns && conns[j] != id; j++)
      ;
    if (j == nconns)
      conns[nconns++] = id;
  }
  cJSON_Delete(l);
  /* Connections are reused within the burst. */
  assert_true(nconns < BURST);
  assert_true(nconns <= 6);
}

/* A request started from a callback reuses the connection of the one that finished. */
static void test_sequential_reuse(void **state) {
  wfa_http_req req = {0};
  res a, b;
  uv_loop_t loop;
  char u[256];
  cJSON *l;

  (void)state;
  url(u, sizeof u, "/seq");
  req.url = u;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  a.loop = &loop;
  a.next_req = &req;
  a.next_res = &b;
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_wf_ok(wfa_http_start(&loop, &req, on_resp, &a, NULL));
  run_and_close(&loop);
  assert_int_equal(a.ndone, 1);
  assert_int_equal(b.ndone, 1);
  assert_string_equal(a.r.body, "first");
  assert_string_equal(b.r.body, "second");
  wfa_http_resp_clear(&a.r);
  wfa_http_resp_clear(&b.r);
  l = logged("/seq");
  assert_int_equal(cJSON_GetArraySize(l), 2);
  assert_int_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(l, 0), "conn")->valueint,
                   cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(l, 1), "conn")->valueint);
  cJSON_Delete(l);

  fetch(&req, &a); /* the script is exhausted and does not repeat */
  assert_int_equal(a.r.status, 404);
  wfa_http_resp_clear(&a.r);
}

static void test_timeout(void **state) {
  wfa_http_req req = {0};
  char u[256], where[128];
  double t0 = now_s();
  res x;

  (void)state;
  url(u, sizeof u, "/slow?key=secret");
  req.url = u;
  req.timeout_s = 0.5;
  fetch(&req, &x);
  assert_int_equal(x.r.status, 0);
  assert_true(x.t_done - t0 >= 0.45);
  assert_true(x.t_done - t0 < 3);
  snprintf(where, sizeof where, "GET 127.0.0.1:%d/slow: ", port);
  assert_non_null(strstr(x.r.error, where));
  assert_non_null(strstr(x.r.error, "timed out"));
  assert_null(strstr(x.r.error, "secret"));
  assert_string_equal(x.r.body, "");
  wfa_http_resp_clear(&x.r);
}

static void cancel_cb(uv_timer_t *t) {
  inside_caller = 1;
  wfa_http_cancel(t->data);
  inside_caller = 0;
  uv_close((uv_handle_t *)t, NULL);
}

static void test_cancel(void **state) {
  wfa_http_req req = {0}, req2 = {0};
  wfa_http_call *call = NULL;
  res x, y;
  uv_loop_t loop;
  uv_timer_t t;
  char u[256], u2[256];
  double t0;

  (void)state;
  url(u, sizeof u, "/slow");
  url(u2, sizeof u2, "/burst");
  req.url = u;
  req2.url = u2;

  /* In flight on the loop, next to a request that completes. */
  memset(&x, 0, sizeof x);
  memset(&y, 0, sizeof y);
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_wf_ok(wfa_http_start(&loop, &req, on_resp, &x, &call));
  assert_non_null(call);
  assert_wf_ok(wfa_http_start(&loop, &req2, on_resp, &y, NULL));
  uv_timer_init(&loop, &t);
  t.data = call;
  uv_timer_start(&t, cancel_cb, 200, 0);
  t0 = now_s();
  run_and_close(&loop);
  assert_int_equal(x.ndone, 1);
  assert_int_equal(x.r.status, 0);
  assert_string_equal(x.r.error, "canceled");
  assert_true(x.t_done - t0 < 2);
  assert_int_equal(y.ndone, 1);
  assert_int_equal(y.r.status, 200);
  wfa_http_resp_clear(&x.r);
  wfa_http_resp_clear(&y.r);

  /* Before the loop ever ran: the callback still comes from the loop. */
  memset(&x, 0, sizeof x);
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_wf_ok(wfa_http_start(&loop, &req, on_resp, &x, &call));
  inside_caller = 1;
  wfa_http_cancel(call);
  inside_caller = 0;
  assert_int_equal(x.ndone, 0);
  run_and_close(&loop);
  assert_int_equal(x.ndone, 1);
  assert_string_equal(x.r.error, "canceled");
  wfa_http_resp_clear(&x.r);
}

static void test_max_body(void **state) {
  static const char *const paths[] = {"/big", "/bigchunked"};
  wfa_http_req req = {0};
  char u[256], where[128];
  size_t i;
  res x;

  (void)state;
  for (i = 0; i < 2; i++) {
    url(u, sizeof u, paths[i]);
    req.url = u;
    req.max_body = 100;
    fetch(&req, &x);
    assert_int_equal(x.r.status, 0);
    snprintf(where, sizeof where, "GET 127.0.0.1:%d%s: response larger than 100 bytes", port,
             paths[i]);
    assert_string_equal(x.r.error, where);
    wfa_http_resp_clear(&x.r);

    req.max_body = 1000; /* exactly the size fits */
    fetch(&req, &x);
    assert_int_equal(x.r.status, 200);
    assert_int_equal(x.r.body_len, 1000);
    wfa_http_resp_clear(&x.r);
  }
  url(u, sizeof u, "/chunked");
  req.url = u;
  req.max_body = 0;
  fetch(&req, &x);
  assert_int_equal(x.r.status, 200);
  assert_string_equal(x.r.body, "0123456789");
  wfa_http_resp_clear(&x.r);
}

static void test_refused(void **state) {
  struct sockaddr_in a;
  socklen_t alen = sizeof a;
  wfa_http_req req = {0};
  char u[256], where[128];
  int fd, closed_port;
  res x;

  (void)state;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
  closed_port = ntohs(a.sin_port);
  close(fd);
  snprintf(u, sizeof u, "http://user:pw@127.0.0.1:%d/api/v9/workspaces/42/users?token=secret",
           closed_port);
  req.url = u;
  fetch(&req, &x);
  assert_int_equal(x.r.status, 0);
  assert_true(x.r.retry_after_s == -1);
  snprintf(where, sizeof where, "GET 127.0.0.1:%d/api/v9/workspaces/42/users: ", closed_port);
  assert_non_null(strstr(x.r.error, where));
  assert_true(strlen(x.r.error) > strlen(where));
  assert_null(strstr(x.r.error, "secret"));
  assert_null(strstr(x.r.error, "pw@"));
  wfa_http_resp_clear(&x.r);
}

static void test_unmatched_and_bad_args(void **state) {
  wfa_http_req req = {0};
  wfa_http_call *call = (wfa_http_call *)&req;
  uv_loop_t loop;
  char u[256];
  res x;

  (void)state;
  url(u, sizeof u, "/nothing/here");
  req.url = u;
  fetch(&req, &x);
  assert_int_equal(x.r.status, 404);
  assert_non_null(strstr(x.r.body, "\"no route\""));
  wfa_http_resp_clear(&x.r);

  assert_int_equal(uv_loop_init(&loop), 0);
  req.url = NULL;
  assert_wf_err(wfa_http_start(&loop, &req, on_resp, &x, &call), WF_EINVAL);
  assert_null(call);
  req.url = u;
  req.method = "get";
  assert_wf_err(wfa_http_start(&loop, &req, on_resp, &x, NULL), WF_EINVAL);
  req.method = NULL;
  assert_wf_err(wfa_http_start(&loop, &req, NULL, &x, NULL), WF_EINVAL);
  req.nheaders = 1;
  assert_wf_err(wfa_http_start(&loop, &req, on_resp, &x, NULL), WF_EINVAL);
  run_and_close(&loop);
  wfa_http_resp_clear(NULL);
  wfa_http_cancel(NULL);
}

static void test_header_lookup(void **state) {
  wfa_http_resp r;
  char buf[8];

  (void)state;
  memset(&r, 0, sizeof r);
  r.headers = "HTTP/1.1 200 OK\r\nX-A:1\r\nx-long:  0123456789  \r\nX-Empty:\r\n\r\n";
  assert_string_equal(wfa_http_header(&r, "x-a", buf, sizeof buf), "1");
  assert_string_equal(wfa_http_header(&r, "X-Long", buf, sizeof buf), "0123456");
  assert_string_equal(wfa_http_header(&r, "X-Empty", buf, sizeof buf), "");
  assert_null(wfa_http_header(&r, "X", buf, sizeof buf));
  assert_null(wfa_http_header(&r, "HTTP/1.1 200 OK", buf, sizeof buf));
  assert_null(wfa_http_header(NULL, "X-A", buf, sizeof buf));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_header_lookup),
      cmocka_unit_test(test_get_round_trip),
      cmocka_unit_test(test_post_round_trip),
      cmocka_unit_test(test_basic_auth),
      cmocka_unit_test(test_retry_after),
      cmocka_unit_test(test_burst),
      cmocka_unit_test(test_sequential_reuse),
      cmocka_unit_test(test_timeout),
      cmocka_unit_test(test_cancel),
      cmocka_unit_test(test_max_body),
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_unmatched_and_bad_args),
  };

  signal(SIGPIPE, SIG_IGN);
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
