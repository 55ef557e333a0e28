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

#include "../assert_wf.h"
#include "tf_api.h"
#include "tf_fibery.h"
#include "wf/wf.h"
#include "wfact.h"

#define TOKEN "fib-secret-5678"
#define BUNDLED WF_TEST_DATA "/../../workflows/bundled/toggl-fibery/enrichment.json"
#define OVERRIDE WF_TEST_DATA "/tf_api/enrichment_override.json"

#define TFH_NAME "tffibery"
#define TFH_BASE_ENV "FIBERY_API_BASE"
#define TFH_TOKEN_ENV "FIBERY_API_TOKEN"
#define TFH_WORKSPACE_ENV "FIBERY_WORKSPACE"
#define TFH_WORKSPACE "acme"
#define TFH_ACTIVITY wfa_fibery_enrich
#define TFH_STAGE "enrich"
#define TFH_STEP_KEY "enrich/Scrum/Task/1"
#include "tf_harness.h"

static void test_config(void **state) {
  char err[512], path[600];
  cJSON *cfg, *bad;
  const cJSON *task;

  (void)state;
  /* the bundled default passes its own checks; the override merges per key */
  assert_wf_ok(tf_fibery_config_load(BUNDLED, NULL, &cfg, err, sizeof err));
  assert_int_equal(tf_fibery_batch_size(cfg), 50);
  assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "types"), "Scrum/Chore") != NULL);
  assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "types"), "Scrum/Epic") != NULL);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cfg, "aliases")), 14);
  cJSON_Delete(cfg);
  assert_wf_ok(tf_fibery_config_load(BUNDLED, OVERRIDE, &cfg, err, sizeof err));
  assert_int_equal(tf_fibery_batch_size(cfg), 2);
  task = cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "types"), "Scrum/Task");
  assert_string_equal(cJSON_GetObjectItem(task, "title")->valuestring, "Scrum/Name");
  assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(task, "select"), "feature"));
  assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(task, "select"), "sprint"));
  cJSON_Delete(cfg);
  /* unknown keys are named */
  bad = cJSON_Parse("{\"types\":{\"Scrum/Task\":{\"titel\":\"Scrum/Name\"}}}");
  assert_wf_err(tf_fibery_config_check(bad, err, sizeof err), WF_EINVAL);
  assert_non_null(strstr(err, "\"titel\""));
  cJSON_Delete(bad);
  bad = cJSON_Parse("{\"batch_size\":0}");
  assert_wf_err(tf_fibery_config_check(bad, err, sizeof err), WF_EINVAL);
  cJSON_Delete(bad);
  bad = cJSON_Parse("{\"types\":{\"Task\":{}}}");
  assert_wf_err(tf_fibery_config_check(bad, err, sizeof err), WF_EINVAL);
  cJSON_Delete(bad);
  snprintf(path, sizeof path, "%s/missing.json", dir);
  assert_wf_err(tf_fibery_config_load(path, NULL, &cfg, err, sizeof err), WF_EINVAL);
  assert_null(cfg);
}

static void test_ids_and_batches(void **state) {
  cJSON *ids = cJSON_Parse("[\"312\", 7658, \"0312\", \"abc\", \"45\", \"312\"]"), *by, *items;
  const char **v;
  size_t n;
  char *txt;

  (void)state;
  assert_wf_ok(tf_fibery_ids(ids, &v, &n));
  assert_int_equal(n, 5);
  assert_string_equal(v[0], "45");
  assert_string_equal(v[1], "0312");
  assert_string_equal(v[2], "312");
  assert_string_equal(v[3], "7658");
  assert_string_equal(v[4], "abc");
  free(v);
  cJSON_Delete(ids);
  ids = cJSON_Parse("[true]");
  assert_wf_err(tf_fibery_ids(ids, &v, &n), WF_EINVAL);
  cJSON_Delete(ids);
  by = cJSON_Parse("{\"Scrum/Task\":[\"3\",\"1\",\"2\"],\"Scrum/Bug\":[\"9\"]}");
  assert_wf_ok(tf_fibery_batches(by, 2, &items));
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
  assert_wf_ok(tf_fibery_query_body(cfg, "Scrum/Task", ids, 2, NULL, NULL, &body, &len));
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
  assert_wf_ok(tf_fibery_query_body(cfg, "Kanban/Story", ids, 1, NULL, NULL, &body, &len));
  assert_non_null(strstr(body, "\"q/select\":[\"fibery/id\",\"fibery/public-id\","
                               "{\"workflow/state\":[\"enum/name\"]},\"fibery/creation-date\"]"));
  free(body);
  assert_wf_err(tf_fibery_query_body(cfg, "Scrum/Task", ids, 0, NULL, NULL, &body, &len),
                WF_EINVAL);
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
  assert_wf_ok(tf_fibery_config_load(BUNDLED, NULL, &cfg, err, sizeof err));
  body = slurp("fibery_batch1.json", &len);
  assert_wf_ok(tf_fibery_read_result(body, len, cfg, "Scrum/Task", ids, 2,
                                     "https://acme.fibery.io", ents, secrets, err, sizeof err));
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
  assert_wf_ok(tf_fibery_docs_body(secrets, &body, &len));
  assert_string_equal(body, "{\"command\":\"get-documents\",\"args\":[{\"secret\":\"sec-7658\"}]}");
  free(body);
  assert_wf_ok(tf_fibery_read_docs(docs, strlen(docs), secrets, ents));
  assert_string_equal(cJSON_GetObjectItem(r, "description_md")->valuestring, "# Title\nText");
  assert_wf_err(tf_fibery_read_docs("{}", 2, secrets, ents), WF_EINVAL);
  /* a rejected query: every id unknown_type, with Fibery's message */
  assert_wf_ok(tf_fibery_read_result(rejected, strlen(rejected), cfg, "Kanban/Story", ids, 1,
                                     NULL, ents, NULL, err, sizeof err));
  r = cJSON_GetObjectItem(ents, "Kanban/Story#7658");
  assert_string_equal(cJSON_GetObjectItem(r, "status")->valuestring, "unknown_type");
  assert_non_null(strstr(cJSON_GetObjectItem(r, "error")->valuestring, "no such type"));
  assert_wf_err(tf_fibery_read_result("<html>", 6, cfg, "Scrum/Task", ids, 1, NULL, ents,
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
  assert_wf_err(tf_creds_load(&c, err, sizeof err), WF_EINVAL);
  assert_non_null(strstr(err, "chmod 600"));
  assert_null(strstr(err, "from-file-token"));
  chmod(path, 0600);
  assert_wf_ok(tf_creds_load(&c, err, sizeof err));
  assert_string_equal(c.toggl_token, "from-file-token");
  assert_string_equal(c.fibery_base, "https://acme.fibery.io");
  assert_string_equal(c.toggl_base, TF_TOGGL_BASE);
  assert_wf_ok(tf_creds_need_fibery(&c, err, sizeof err));
  assert_wf_err(tf_creds_need_toggl(&c, err, sizeof err), WF_EINVAL); /* no workspace id */
  assert_null(strstr(err, "from-file-token"));
  tf_creds_clear(&c);
  write_file(path, "{\"toggl_api_tokn\":\"x\"}", 0600);
  assert_wf_err(tf_creds_load(&c, err, sizeof err), WF_EINVAL);
  assert_non_null(strstr(err, "toggl_api_tokn"));
  snprintf(path, sizeof path, "%s/empty.json", dir);
  setenv("WF_TF_CONFIG", path, 1);
  setenv("TOGGL_API_TOKEN", "tok-secret-1234", 1);
  setenv("TOGGL_WORKSPACE_ID", "42x", 1);
  assert_wf_ok(tf_creds_load(&c, err, sizeof err));
  assert_wf_err(tf_creds_need_toggl(&c, err, sizeof err), WF_EINVAL);
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
  assert_int_equal(cJSON_GetObjectItem(t.out, "requests")->valueint, 1);
  assert_int_equal(cJSON_GetObjectItem(t.out, "retried")->valueint, 1);
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
  run_with_bad_token(&t, &wfa_fibery_enrich,
                     "{\"with\":{" WITH_FILES "},\"inputs\":{},"
                     "\"item\":{\"type\":\"Scrum/Task\",\"ids\":[\"7658\"]}}",
                     "wrong-fibery-token", "Fibery rejected the token (HTTP 403)");
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
  /* killed while waiting between requests: after the first request is answered (the stub
   * answers at once, but a loaded machine may take a good part of a second to send it)
   * and long before the 30 s interval ends */
  next_kill_after_s = 1.5;
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
