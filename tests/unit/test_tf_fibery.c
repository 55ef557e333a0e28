/* test_tf_fibery.c — the Fibery client: config loading and checks, batched query bodies,
 * result and document readers offline; then fibery.enrich against wf-stub-http (batches
 * with a missing entity, descriptions, an unknown type, 429, a bad token).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tf_api.h"
#include "tf_fibery.h"
#include "wf/wf.h"
#include "wfact.h"

#define TOKEN "fib-secret-5678"
#define BUNDLED WF_TEST_DATA "/../../workflows/bundled/toggl-fibery/enrichment.json"
#define OVERRIDE WF_TEST_DATA "/tf_api/enrichment_override.json"

static char dir[] = "/tmp/wf-test-tffibery-XXXXXX";
static pid_t stub_pid;
static char stub_log[600];

/* ---- stub server and jobs ------------------------------------------------------------ */

static double now_s(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Start wf-stub-http (beside this test: <build>/tests/stubs) with a script of
 * tests/data/tf_api; point FIBERY_API_BASE at it. */
static void stub_start(const char *script) {
  char exe[512], bin[600], spath[600], pfile[600];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  char *slash;
  FILE *f;
  int port = 0, i;

  assert_true(n > 0);
  exe[n] = 0;
  assert_non_null(slash = strrchr(exe, '/'));
  *slash = 0;
  snprintf(bin, sizeof bin, "%s/stubs/wf-stub-http", exe);
  snprintf(spath, sizeof spath, "%s/tf_api/%s", WF_TEST_DATA, script);
  snprintf(pfile, sizeof pfile, "%s/port", dir);
  snprintf(stub_log, sizeof stub_log, "%s/requests.jsonl", dir);
  unlink(pfile);
  stub_pid = fork();
  assert_true(stub_pid >= 0);
  if (!stub_pid) {
    execl(bin, bin, "--script", spath, "--port-file", pfile, "--log", stub_log,
          "--max-seconds", "60", (char *)NULL);
    _exit(127);
  }
  for (i = 0; i < 500 && !port; i++) {
    if ((f = fopen(pfile, "r"))) {
      if (fscanf(f, "%d", &port) != 1)
        port = 0;
      fclose(f);
    }
    if (!port)
      nanosleep(&(struct timespec){0, 10000000}, NULL);
  }
  assert_true(port > 0);
  snprintf(bin, sizeof bin, "http://127.0.0.1:%d/", port);
  setenv("FIBERY_API_BASE", bin, 1);
}

static void stub_stop(void) {
  int st;

  if (stub_pid > 0) {
    kill(stub_pid, SIGTERM);
    waitpid(stub_pid, &st, 0);
    stub_pid = 0;
  }
}

/* The stub's request log, one JSON object per request. */
static cJSON *stub_requests(void) {
  FILE *f = fopen(stub_log, "r");
  char line[1 << 16];
  cJSON *arr = cJSON_CreateArray();

  assert_non_null(f);
  while (fgets(line, sizeof line, f))
    cJSON_AddItemToArray(arr, cJSON_Parse(line));
  fclose(f);
  return arr;
}

static const char *req_field(const cJSON *reqs, int i, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(reqs, i), k);
  return cJSON_IsString(v) ? v->valuestring : "";
}

typedef struct tjob {
  wfi_job job;
  int ndone;
  wfi_result res;
  cJSON *out;
  uint8_t *in;
  uv_timer_t killer;
} tjob;

static void on_done(wfi_job *job, wfi_result *res) {
  tjob *t = (tjob *)job;

  t->ndone++;
  t->res = *res;
  if (res->ok && res->output)
    assert_int_equal(wfa_mp_to_json(res->output, res->output_len, &t->out), 0);
}

static void kill_cb(uv_timer_t *h) {
  tjob *t = h->data;

  if (!t->ndone)
    wfa_fibery_enrich.kill(NULL, &t->job, WFI_KILL_CANCEL);
  uv_close((uv_handle_t *)h, NULL);
}

/* When > 0, the next run_act kills its attempt after that many seconds. */
static double next_kill_after_s;

/* Run one attempt of `act` on its own loop with the input {with, params, inputs, item}. */
static void run_act(tjob *t, const wfi_activity *act, const char *input_json) {
  uv_loop_t loop;
  cJSON *in = cJSON_Parse(input_json);
  size_t n;
  double kill_after = next_kill_after_s;

  assert_non_null(in);
  memset(t, 0, sizeof *t);
  assert_int_equal(wfa_json_to_mp_buf(in, &t->in, &n), 0);
  cJSON_Delete(in);
  uv_loop_init(&loop);
  t->job.loop = &loop;
  t->job.home = dir;
  t->job.run_id = "run1";
  t->job.stage = "enrich";
  t->job.step_key = "enrich/Scrum/Task/1";
  t->job.run_dir = dir;
  t->job.log_path = "/dev/null";
  t->job.attempt = 1;
  t->job.input = t->in;
  t->job.input_len = n;
  t->job.max_output = 1 << 20;
  t->job.on_done = on_done;
  if (kill_after > 0) {
    uv_timer_init(&loop, &t->killer);
    t->killer.data = t;
    uv_timer_start(&t->killer, kill_cb, (uint64_t)(kill_after * 1000), 0);
  }
  next_kill_after_s = 0;
  act->start(NULL, &t->job);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&loop), 0);
  assert_int_equal(t->ndone, 1);
}

static void tjob_free(tjob *t) {
  free(t->res.output);
  free(t->res.error);
  free(t->res.stderr_tail);
  free(t->in);
  cJSON_Delete(t->out);
}

static void write_file(const char *path, const char *text, mode_t mode) {
  FILE *f = fopen(path, "w");

  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  chmod(path, mode);
}

static int setup(void **state) {
  char cfg[600];

  (void)state;
  if (!mkdtemp(dir))
    return -1;
  snprintf(cfg, sizeof cfg, "%s/empty.json", dir);
  write_file(cfg, "{}", 0600);
  setenv("WF_TF_CONFIG", cfg, 1);
  setenv("FIBERY_API_TOKEN", TOKEN, 1);
  setenv("FIBERY_WORKSPACE", "acme", 1);
  return 0;
}

static int teardown(void **state) {
  char cmd[700];

  (void)state;
  stub_stop();
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* ---- offline ----------------------------------------------------------------------- */

static void test_config(void **state) {
  char err[512], path[600];
  cJSON *cfg, *bad;
  const cJSON *task;

  (void)state;
  /* the bundled default passes its own checks; the override merges per key */
  assert_int_equal(tf_fibery_config_load(BUNDLED, NULL, &cfg, err, sizeof err), 0);
  assert_int_equal(tf_fibery_batch_size(cfg), 50);
  assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "types"), "Scrum/Chore") != NULL);
  assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "types"), "Scrum/Epic") != NULL);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cfg, "aliases")), 14);
  cJSON_Delete(cfg);
  assert_int_equal(tf_fibery_config_load(BUNDLED, OVERRIDE, &cfg, err, sizeof err), 0);
  assert_int_equal(tf_fibery_batch_size(cfg), 2);
  task = cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "types"), "Scrum/Task");
  assert_string_equal(cJSON_GetObjectItem(task, "title")->valuestring, "Scrum/Name");
  assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(task, "select"), "feature"));
  assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(task, "select"), "sprint"));
  cJSON_Delete(cfg);
  /* unknown keys are named */
  bad = cJSON_Parse("{\"types\":{\"Scrum/Task\":{\"titel\":\"Scrum/Name\"}}}");
  assert_int_equal(tf_fibery_config_check(bad, err, sizeof err), WF_EINVAL);
  assert_non_null(strstr(err, "\"titel\""));
  cJSON_Delete(bad);
  bad = cJSON_Parse("{\"batch_size\":0}");
  assert_int_equal(tf_fibery_config_check(bad, err, sizeof err), WF_EINVAL);
  cJSON_Delete(bad);
  bad = cJSON_Parse("{\"types\":{\"Task\":{}}}");
  assert_int_equal(tf_fibery_config_check(bad, err, sizeof err), WF_EINVAL);
  cJSON_Delete(bad);
  snprintf(path, sizeof path, "%s/missing.json", dir);
  assert_int_equal(tf_fibery_config_load(path, NULL, &cfg, err, sizeof err), WF_EINVAL);
  assert_null(cfg);
}

static void test_ids_and_batches(void **state) {
  cJSON *ids = cJSON_Parse("[\"312\", 7658, \"0312\", \"abc\", \"45\", \"312\"]"), *by, *items;
  const char **v;
  size_t n;
  char *txt;

  (void)state;
  assert_int_equal(tf_fibery_ids(ids, &v, &n), 0);
  assert_int_equal(n, 5);
  assert_string_equal(v[0], "45");
  assert_string_equal(v[1], "0312");
  assert_string_equal(v[2], "312");
  assert_string_equal(v[3], "7658");
  assert_string_equal(v[4], "abc");
  free(v);
  cJSON_Delete(ids);
  ids = cJSON_Parse("[true]");
  assert_int_equal(tf_fibery_ids(ids, &v, &n), WF_EINVAL);
  cJSON_Delete(ids);
  by = cJSON_Parse("{\"Scrum/Task\":[\"3\",\"1\",\"2\"],\"Scrum/Bug\":[\"9\"]}");
  assert_int_equal(tf_fibery_batches(by, 2, &items), 0);
  txt = cJSON_PrintUnformatted(items);
  assert_string_equal(txt, "[{\"key\":\"Scrum/Task/1\",\"type\":\"Scrum/Task\",\"ids\":[\"1\",\"2\"]},"
                           "{\"key\":\"Scrum/Task/2\",\"type\":\"Scrum/Task\",\"ids\":[\"3\"]},"
                           "{\"key\":\"Scrum/Bug/1\",\"type\":\"Scrum/Bug\",\"ids\":[\"9\"]}]");
  free(txt);
  cJSON_Delete(items);
  cJSON_Delete(by);
}

static void test_query_body(void **state) {
  cJSON *cfg = cJSON_Parse("{\"types\":{\"Scrum/Task\":{\"title\":\"Scrum/Name\","
                           "\"description\":\"Scrum/Description\",\"select\":{"
                           "\"feature\":{\"Scrum/Feature\":[\"fibery/public-id\",\"Scrum/name\"]},"
                           "\"again\":\"Scrum/Name\"}}},\"default\":{\"select\":{\"c\":\"fibery/creation-date\"}}}");
  const char *ids[] = {"7658", "7701"};
  char *body;
  size_t len;

  (void)state;
  assert_int_equal(tf_fibery_query_body(cfg, "Scrum/Task", ids, 2, &body, &len), 0);
  assert_string_equal(body,
      "[{\"command\":\"fibery.entity/query\",\"args\":{\"query\":{\"q/from\":\"Scrum/Task\","
      "\"q/select\":[\"fibery/id\",\"fibery/public-id\",\"Scrum/Name\",{\"workflow/state\":[\"enum/name\"]},"
      "{\"Scrum/Description\":[\"Collaboration~Documents/secret\"]},"
      "{\"Scrum/Feature\":[\"fibery/public-id\",\"Scrum/name\"]}],"
      "\"q/where\":[\"q/in\",[\"fibery/public-id\"],\"$ids\"],\"q/limit\":2},"
      "\"params\":{\"$ids\":[\"7658\",\"7701\"]}}}]");
  assert_int_equal(len, strlen(body));
  free(body);
  /* an unconfigured type gets the default's common fields only */
  assert_int_equal(tf_fibery_query_body(cfg, "Kanban/Story", ids, 1, &body, &len), 0);
  assert_non_null(strstr(body, "\"q/select\":[\"fibery/id\",\"fibery/public-id\","
                               "{\"workflow/state\":[\"enum/name\"]},\"fibery/creation-date\"]"));
  free(body);
  assert_int_equal(tf_fibery_query_body(cfg, "Scrum/Task", ids, 0, &body, &len), WF_EINVAL);
  cJSON_Delete(cfg);
}

static char *slurp(const char *name, size_t *len) {
  char path[600];
  FILE *f;
  char *buf = malloc(1 << 16);

  snprintf(path, sizeof path, "%s/tf_api/%s", WF_TEST_DATA, name);
  assert_non_null(f = fopen(path, "rb"));
  *len = fread(buf, 1, (1 << 16) - 1, f);
  buf[*len] = 0;
  fclose(f);
  return buf;
}

static void test_read_result(void **state) {
  cJSON *cfg, *ents = cJSON_CreateObject(), *secrets = cJSON_CreateObject();
  const char *ids[] = {"7658", "7701"};
  const cJSON *r;
  char err[300], *body;
  size_t len;
  const char *docs = "[{\"secret\":\"sec-7658\",\"content\":\"# Title\\nText\"},{\"secret\":\"zzz\",\"content\":\"x\"}]";
  const char *rejected = "[{\"success\":false,\"result\":{\"message\":\"no such type\"}}]";

  (void)state;
  assert_int_equal(tf_fibery_config_load(BUNDLED, NULL, &cfg, err, sizeof err), 0);
  body = slurp("fibery_batch1.json", &len);
  assert_int_equal(tf_fibery_read_result(body, len, cfg, "Scrum/Task", ids, 2,
                                         "https://acme.fibery.io", ents, secrets, err, sizeof err), 0);
  free(body);
  r = cJSON_GetObjectItem(ents, "Scrum/Task#7701");
  assert_string_equal(cJSON_GetObjectItem(r, "status")->valuestring, "not_found");
  r = cJSON_GetObjectItem(ents, "Scrum/Task#7658");
  assert_string_equal(cJSON_GetObjectItem(r, "status")->valuestring, "ok");
  assert_string_equal(cJSON_GetObjectItem(r, "name")->valuestring, "Provision staging cluster for Acme");
  assert_string_equal(cJSON_GetObjectItem(r, "state")->valuestring, "In progress");
  assert_string_equal(cJSON_GetObjectItem(r, "database")->valuestring, "Scrum");
  assert_string_equal(cJSON_GetObjectItem(r, "url")->valuestring, "https://acme.fibery.io/Scrum/Task/7658");
  assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "fields"), "feature"),
                                          "Scrum/name")->valuestring, "Staging environments");
  assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "fields"), "comments")->valueint, 3);
  assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "fields"), "completed")));
  assert_string_equal(cJSON_GetObjectItem(secrets, "sec-7658")->valuestring, "Scrum/Task#7658");
  assert_int_equal(tf_fibery_docs_body(secrets, &body, &len), 0);
  assert_string_equal(body, "{\"command\":\"get-documents\",\"args\":[{\"secret\":\"sec-7658\"}]}");
  free(body);
  assert_int_equal(tf_fibery_read_docs(docs, strlen(docs), secrets, ents), 0);
  assert_string_equal(cJSON_GetObjectItem(r, "description_md")->valuestring, "# Title\nText");
  assert_int_equal(tf_fibery_read_docs("{}", 2, secrets, ents), WF_EINVAL);
  /* a rejected query: every id unknown_type, with Fibery's message */
  assert_int_equal(tf_fibery_read_result(rejected, strlen(rejected), cfg, "Kanban/Story", ids, 1,
                                         NULL, ents, NULL, err, sizeof err), 0);
  r = cJSON_GetObjectItem(ents, "Kanban/Story#7658");
  assert_string_equal(cJSON_GetObjectItem(r, "status")->valuestring, "unknown_type");
  assert_non_null(strstr(cJSON_GetObjectItem(r, "error")->valuestring, "no such type"));
  assert_int_equal(tf_fibery_read_result("<html>", 6, cfg, "Scrum/Task", ids, 1, NULL, ents,
                                         NULL, err, sizeof err), WF_EINVAL);
  cJSON_Delete(secrets);
  cJSON_Delete(ents);
  cJSON_Delete(cfg);
}

/* Credentials (shared with the Toggl client): file mode, unknown keys, validation. */
static void test_config_file_mode(void **state) {
  char path[600], err[1024];
  tf_creds c;

  (void)state;
  unsetenv("FIBERY_WORKSPACE"); /* comes from the file below */
  unsetenv("FIBERY_API_BASE");
  snprintf(path, sizeof path, "%s/loose.json", dir);
  write_file(path, "{\"toggl_api_token\":\"from-file-token\",\"fibery_workspace\":\"acme\"}", 0644);
  setenv("WF_TF_CONFIG", path, 1);
  assert_int_equal(tf_creds_load(&c, err, sizeof err), WF_EINVAL);
  assert_non_null(strstr(err, "chmod 600"));
  assert_null(strstr(err, "from-file-token"));
  chmod(path, 0600);
  assert_int_equal(tf_creds_load(&c, err, sizeof err), 0);
  assert_string_equal(c.toggl_token, "from-file-token");
  assert_string_equal(c.fibery_base, "https://acme.fibery.io");
  assert_string_equal(c.toggl_base, TF_TOGGL_BASE);
  assert_int_equal(tf_creds_need_fibery(&c, err, sizeof err), 0);
  assert_int_equal(tf_creds_need_toggl(&c, err, sizeof err), WF_EINVAL); /* no workspace id */
  assert_null(strstr(err, "from-file-token"));
  tf_creds_clear(&c);
  write_file(path, "{\"toggl_api_tokn\":\"x\"}", 0600);
  assert_int_equal(tf_creds_load(&c, err, sizeof err), WF_EINVAL);
  assert_non_null(strstr(err, "toggl_api_tokn"));
  snprintf(path, sizeof path, "%s/empty.json", dir);
  setenv("WF_TF_CONFIG", path, 1);
  setenv("TOGGL_API_TOKEN", "tok-secret-1234", 1);
  setenv("TOGGL_WORKSPACE_ID", "42x", 1);
  assert_int_equal(tf_creds_load(&c, err, sizeof err), 0);
  assert_int_equal(tf_creds_need_toggl(&c, err, sizeof err), WF_EINVAL);
  assert_non_null(strstr(err, "TOGGL_WORKSPACE_ID"));
  tf_creds_clear(&c);
  unsetenv("TOGGL_WORKSPACE_ID");
  unsetenv("TOGGL_API_TOKEN");
  setenv("FIBERY_WORKSPACE", "acme", 1);
}

/* ---- against the stub ----------------------------------------------------------------- */

#define WITH_FILES "\"enrichment\":\"" BUNDLED "\",\"enrichment_override\":\"" OVERRIDE "\""

static const cJSON *entity(const tjob *t, const char *key) {
  return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(t->out, "entities"), key);
}

static const char *status_of(const tjob *t, const char *key) {
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(entity(t, key), "status");
  return cJSON_IsString(s) ? s->valuestring : "(none)";
}

static void test_enrich_batches(void **state) {
  tjob t;
  cJSON *reqs;
  char *txt;
  const cJSON *hdrs, *e;
  int i;

  (void)state;
  stub_start("fibery.routes.json");
  run_act(&t, &wfa_fibery_enrich,
          "{\"with\":{" WITH_FILES ",\"documents\":false,\"min_interval_s\":0},\"params\":{},"
          "\"inputs\":{},\"item\":{\"type\":\"Scrum/Task\",\"ids\":[\"7999\",\"7658\",7701]}}");
  stub_stop();
  assert_true(t.res.ok);
  assert_string_equal(status_of(&t, "Scrum/Task#7658"), "ok");
  assert_string_equal(status_of(&t, "Scrum/Task#7701"), "not_found");
  assert_string_equal(status_of(&t, "Scrum/Task#7999"), "ok");
  assert_string_equal(cJSON_GetObjectItem(entity(&t, "Scrum/Task#7999"), "state")->valuestring, "Done");
  /* keys come out in id order whatever the input order */
  e = cJSON_GetObjectItem(t.out, "entities")->child;
  assert_string_equal(e->string, "Scrum/Task#7658");
  assert_string_equal(e->next->string, "Scrum/Task#7701");
  assert_int_equal(cJSON_GetObjectItem(t.out, "requests")->valueint, 2);
  txt = cJSON_PrintUnformatted(t.out);
  assert_null(strstr(txt, TOKEN));
  free(txt);
  reqs = stub_requests();
  assert_int_equal(cJSON_GetArraySize(reqs), 2); /* one request per batch of 2 */
  for (i = 0; i < 2; i++) {
    assert_string_equal(req_field(reqs, i, "path"), "/api/commands");
    hdrs = cJSON_GetObjectItem(cJSON_GetArrayItem(reqs, i), "headers");
    assert_string_equal(cJSON_GetObjectItem(hdrs, "authorization")->valuestring, "Token " TOKEN);
    assert_string_equal(cJSON_GetObjectItem(hdrs, "content-type")->valuestring, "application/json");
  }
  assert_non_null(strstr(req_field(reqs, 0, "body"), "\"params\":{\"$ids\":[\"7658\",\"7701\"]}"));
  assert_non_null(strstr(req_field(reqs, 1, "body"), "\"params\":{\"$ids\":[\"7999\"]}"));
  cJSON_Delete(reqs);
  tjob_free(&t);
}

static void test_enrich_documents(void **state) {
  tjob t;
  cJSON *reqs;

  (void)state;
  stub_start("fibery.routes.json");
  run_act(&t, &wfa_fibery_enrich,
          "{\"with\":{" WITH_FILES ",\"min_interval_s\":0},\"params\":{},"
          "\"inputs\":{},\"item\":{\"type\":\"Scrum/Task\",\"ids\":[\"7658\",\"7701\",\"7999\"]}}");
  stub_stop();
  assert_true(t.res.ok);
  assert_string_equal(cJSON_GetObjectItem(entity(&t, "Scrum/Task#7658"), "description_md")->valuestring,
                      "Spin up the staging cluster.\n\nDetails follow.");
  assert_true(cJSON_IsNull(cJSON_GetObjectItem(entity(&t, "Scrum/Task#7999"), "description_md")));
  /* two queries, plus one document call for the batch that had a description */
  assert_int_equal(cJSON_GetObjectItem(t.out, "requests")->valueint, 3);
  reqs = stub_requests();
  assert_int_equal(cJSON_GetArraySize(reqs), 3);
  assert_string_equal(req_field(reqs, 1, "path"), "/api/documents/commands");
  assert_string_equal(req_field(reqs, 1, "query"), "format=md");
  assert_string_equal(req_field(reqs, 1, "body"),
                      "{\"command\":\"get-documents\",\"args\":[{\"secret\":\"sec-7658\"}]}");
  cJSON_Delete(reqs);
  tjob_free(&t);
}

static void test_enrich_unknown_type_and_429(void **state) {
  tjob t;
  cJSON *reqs;

  (void)state;
  stub_start("fibery.routes.json");
  run_act(&t, &wfa_fibery_enrich,
          "{\"with\":{" WITH_FILES ",\"min_interval_s\":0},\"inputs\":{},"
          "\"item\":{\"type\":\"Kanban/Story\",\"ids\":[\"77\"]}}");
  assert_true(t.res.ok);
  assert_string_equal(status_of(&t, "Kanban/Story#77"), "unknown_type");
  assert_non_null(strstr(cJSON_GetObjectItem(entity(&t, "Kanban/Story#77"), "error")->valuestring,
                         "Type Kanban/Story not found"));
  tjob_free(&t);
  run_act(&t, &wfa_fibery_enrich,
          "{\"with\":{" WITH_FILES ",\"min_interval_s\":0},\"inputs\":{},"
          "\"item\":{\"type\":\"Scrum/Bug\",\"ids\":[\"5\"]}}");
  stub_stop();
  assert_true(t.res.ok);
  assert_string_equal(status_of(&t, "Scrum/Bug#5"), "not_found");
  assert_int_equal(cJSON_GetObjectItem(t.out, "requests")->valueint, 2);
  reqs = stub_requests();
  assert_int_equal(cJSON_GetArraySize(reqs), 3);
  assert_string_equal(req_field(reqs, 1, "body"), req_field(reqs, 2, "body"));
  cJSON_Delete(reqs);
  tjob_free(&t);
}

static void test_enrich_failures(void **state) {
  tjob t;
  double t0;

  (void)state;
  stub_start("fibery.routes.json");
  setenv("FIBERY_API_TOKEN", "wrong-fibery-token", 1);
  run_act(&t, &wfa_fibery_enrich,
          "{\"with\":{" WITH_FILES "},\"inputs\":{},\"item\":{\"type\":\"Scrum/Task\",\"ids\":[\"7658\"]}}");
  setenv("FIBERY_API_TOKEN", TOKEN, 1);
  assert_false(t.res.ok);
  assert_false(t.res.retryable);
  assert_non_null(strstr(t.res.error, "Fibery rejected the token (HTTP 403)"));
  assert_null(strstr(t.res.error, "wrong-fibery-token"));
  tjob_free(&t);
  /* no config: refused before any request */
  run_act(&t, &wfa_fibery_enrich,
          "{\"with\":{},\"inputs\":{},\"item\":{\"type\":\"Scrum/Task\",\"ids\":[\"7658\"]}}");
  assert_false(t.res.ok);
  assert_false(t.res.retryable);
  assert_non_null(strstr(t.res.error, "no enrichment config"));
  tjob_free(&t);
  /* a bad item */
  run_act(&t, &wfa_fibery_enrich,
          "{\"with\":{" WITH_FILES "},\"inputs\":{},\"item\":\"Scrum/Task#7658\"}");
  assert_false(t.res.ok);
  assert_non_null(strstr(t.res.error, "the item must be"));
  tjob_free(&t);
  /* killed while waiting between requests */
  next_kill_after_s = 0.2;
  t0 = now_s();
  run_act(&t, &wfa_fibery_enrich,
          "{\"with\":{" WITH_FILES ",\"min_interval_s\":30,\"documents\":false},\"inputs\":{},"
          "\"item\":{\"type\":\"Scrum/Task\",\"ids\":[\"7658\",\"7701\",\"7999\"]}}");
  stub_stop();
  assert_true(now_s() - t0 < 5);
  assert_false(t.res.ok);
  assert_true(t.res.retryable);
  assert_non_null(strstr(t.res.error, "canceled after 1 request"));
  tjob_free(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_config),         cmocka_unit_test(test_ids_and_batches),
      cmocka_unit_test(test_query_body),     cmocka_unit_test(test_read_result),
      cmocka_unit_test(test_config_file_mode),
      cmocka_unit_test(test_enrich_batches), cmocka_unit_test(test_enrich_documents),
      cmocka_unit_test(test_enrich_unknown_type_and_429), cmocka_unit_test(test_enrich_failures),
  };

  signal(SIGPIPE, SIG_IGN);
  return cmocka_run_group_tests(tests, setup, teardown);
}
