/* test_tf_schema.c — the Fibery schema check: reading a fibery.schema/query answer against
 * the enrichment config, which select entries a type can have, queries that leave out
 * what the workspace lacks (with a warning naming type and field) offline; then
 * fibery.schema and fibery.enrich against wf-stub-http, whose Fibery rejects a query
 * naming a field it lacks as the real one does.
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
#include "tf_schema.h"
#include "wf/wf.h"
#include "wfact.h"

#define TOKEN "fib-secret-5678"
#define BUNDLED WF_TEST_DATA "/../../workflows/bundled/toggl-fibery/enrichment.json"
#define SCHEMA WF_TEST_DATA "/tf_api/fibery_schema.json"

#define TFH_NAME "tfschema"
#define TFH_BASE_ENV "FIBERY_API_BASE"
#define TFH_TOKEN_ENV "FIBERY_API_TOKEN"
#define TFH_WORKSPACE_ENV "FIBERY_WORKSPACE"
#define TFH_WORKSPACE "acme"
#define TFH_ACTIVITY wfa_fibery_enrich
#define TFH_STAGE "fibery"
#define TFH_STEP_KEY "fibery/Scrum/Task#7658"
#include "tf_harness.h"

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = malloc(1 << 20);

  assert_non_null(f);
  assert_non_null(buf);
  *len = fread(buf, 1, (1 << 20) - 1, f);
  buf[*len] = 0;
  fclose(f);
  return buf;
}

/* The checked schema of tests/data/tf_api/fibery_schema.json for the bundled config:
 * Scrum/Task lacks "Scrum/Estimate (D)", Scrum/Feature lacks "Scrum/name", and there is
 * no Scrum/Chore. */
static cJSON *checked_schema(cJSON **cfg) {
  char err[300], *buf;
  size_t len;
  cJSON *sc;

  assert_wf_ok(tf_fibery_config_load(BUNDLED, NULL, cfg, err, sizeof err));
  buf = slurp(SCHEMA, &len);
  assert_wf_ok(tf_schema_read(buf, len, *cfg, &sc, err, sizeof err));
  free(buf);
  return sc;
}

static int has_string(const cJSON *arr, const char *s) {
  const cJSON *x;

  cJSON_ArrayForEach(x, arr) if (cJSON_IsString(x) && !strcmp(x->valuestring, s)) return 1;
  return 0;
}

static void test_read(void **state) {
  cJSON *cfg, *sc = checked_schema(&cfg);
  const cJSON *task = cJSON_GetObjectItem(cJSON_GetObjectItem(sc, "types"), "Scrum/Task");
  char err[300];
  cJSON *bad;

  (void)state;
  assert_non_null(task);
  assert_non_null(cJSON_GetObjectItem(task, "Scrum/Name"));
  assert_null(cJSON_GetObjectItem(task, "Scrum/Estimate (D)"));
  /* relation targets are checked too: the feature, the users, the state's enum */
  assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(sc, "types"), "Scrum/Feature"));
  assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(sc, "types"), "fibery/user"));
  assert_true(tf_schema_type_missing(sc, "Scrum/Chore"));
  assert_false(tf_schema_type_missing(sc, "Scrum/Task"));
  assert_false(tf_schema_type_missing(sc, "Kanban/Story")); /* not configured: not checked */
  assert_false(tf_schema_type_missing(NULL, "Scrum/Chore"));
  /* not a schema: named */
  const char *refused = "[{\"success\":false,\"result\":{\"message\":\"nope\"}}]";
  assert_wf_err(tf_schema_read(refused, strlen(refused), cfg, &bad, err, sizeof err),
                WF_EINVAL);
  assert_non_null(strstr(err, "nope"));
  assert_wf_err(tf_schema_read("<html>", 6, cfg, &bad, err, sizeof err), WF_EINVAL);
  cJSON_Delete(sc);
  cJSON_Delete(cfg);
}

static void test_has(void **state) {
  cJSON *cfg, *sc = checked_schema(&cfg);
  const char *missing = NULL, *in = NULL;
  cJSON *e;

  (void)state;
  e = cJSON_CreateString("Scrum/Estimate (D)");
  assert_false(tf_schema_has(sc, "Scrum/Task", e, &missing, &in));
  assert_string_equal(missing, "Scrum/Estimate (D)");
  assert_string_equal(in, "Scrum/Task");
  assert_true(tf_schema_has(sc, "Kanban/Story", e, &missing, &in)); /* unchecked type */
  assert_true(tf_schema_has(NULL, "Scrum/Task", e, &missing, &in));
  cJSON_Delete(e);
  e = cJSON_Parse("{\"Scrum/Feature\": [\"fibery/public-id\", \"Scrum/name\"]}");
  assert_false(tf_schema_has(sc, "Scrum/Task", e, &missing, &in));
  assert_string_equal(missing, "Scrum/name");
  assert_string_equal(in, "Scrum/Feature");
  cJSON_Delete(e);
  e = cJSON_Parse("{\"comments\": [\"q/count\", [\"comments/comments\", \"fibery/id\"]]}");
  assert_true(tf_schema_has(sc, "Scrum/Task", e, &missing, &in));
  cJSON_Delete(e);
  e = cJSON_Parse("{\"assignments/assignees\": {\"q/select\": [\"user/name\", \"user/phone\"]}}");
  assert_false(tf_schema_has(sc, "Scrum/Task", e, &missing, &in));
  assert_string_equal(missing, "user/phone");
  cJSON_Delete(e);
  cJSON_Delete(sc);
  cJSON_Delete(cfg);
}

static void test_query_leaves_out(void **state) {
  cJSON *cfg, *sc = checked_schema(&cfg), *warnings = cJSON_CreateArray();
  const char *ids[] = {"7658"};
  char *body;
  size_t len;

  (void)state;
  assert_wf_ok(tf_fibery_query_body(cfg, "Scrum/Task", ids, 1, sc, warnings, &body, &len));
  assert_null(strstr(body, "Scrum/Estimate (D)"));
  assert_null(strstr(body, "Scrum/name"));
  assert_non_null(strstr(body, "\"Scrum/Time spent (H)\""));
  free(body);
  /* again: the same warnings, once each */
  assert_wf_ok(tf_fibery_query_body(cfg, "Scrum/Task", ids, 1, sc, warnings, &body, &len));
  free(body);
  assert_int_equal(cJSON_GetArraySize(warnings), 2);
  assert_true(has_string(warnings,
                         "Fibery workspace: type \"Scrum/Task\" has no field \"Scrum/Estimate (D)\"; "
                         "the queries of Scrum/Task leave it out (check the enrichment config)"));
  assert_true(has_string(warnings,
                         "Fibery workspace: type \"Scrum/Feature\" has no field \"Scrum/name\"; "
                         "the queries of Scrum/Task leave it out (check the enrichment config)"));
  cJSON_Delete(warnings);
  cJSON_Delete(sc);
  cJSON_Delete(cfg);
}

/* ---- against the stub ----------------------------------------------------------------- */

#define WITH_CFG "\"enrichment\":\"" BUNDLED "\",\"documents\":false,\"min_interval_s\":0"

static void test_schema_step(void **state) {
  tjob t;
  cJSON *reqs;
  double t0;

  (void)state;
  stub_start("fibery_schema.routes.json");
  t0 = now_s();
  run_act(&t, &wfa_fibery_schema, "{\"with\":{" WITH_CFG "},\"inputs\":{}}");
  assert_true(now_s() - t0 < 5);
  assert_true(t.res.ok);
  assert_int_equal(cJSON_GetObjectItem(t.out, "requests")->valueint, 1);
  assert_true(tf_schema_type_missing(t.out, "Scrum/Chore"));
  assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(t.out, "types"), "Scrum/Bug"));
  tjob_free(&t);
  /* a wrong token is found here, for good */
  run_with_bad_token(&t, &wfa_fibery_schema, "{\"with\":{" WITH_CFG "},\"inputs\":{}}",
                     "wrong-fibery-token", "Fibery rejected the token (HTTP 403)");
  tjob_free(&t);
  stub_stop();
  reqs = stub_requests();
  assert_int_equal(cJSON_GetArraySize(reqs), 2);
  assert_string_equal(req_field(reqs, 0, "body"), TF_SCHEMA_BODY);
  cJSON_Delete(reqs);
}

/* With the schema among the inputs, a field the workspace lacks is left out, so the
 * entity stays ok (the stub rejects any query naming it), and a missing type costs no
 * request. Without it, the whole batch would be lost as unknown_type. */
static void test_enrich_with_schema(void **state) {
  cJSON *cfg, *sc = checked_schema(&cfg), *reqs;
  char *schema_json = cJSON_PrintUnformatted(sc), *in;
  const cJSON *e, *w;
  size_t n = strlen(schema_json) + 512;
  tjob t;

  (void)state;
  in = malloc(n);
  stub_start("fibery_schema.routes.json");
  snprintf(in, n, "{\"with\":{" WITH_CFG "},\"inputs\":{\"schema\":%s},"
           "\"item\":{\"type\":\"Scrum/Task\",\"ids\":[\"7658\"]}}", schema_json);
  run_act(&t, &wfa_fibery_enrich, in);
  assert_true(t.res.ok);
  e = cJSON_GetObjectItem(cJSON_GetObjectItem(t.out, "entities"), "Scrum/Task#7658");
  assert_string_equal(cJSON_GetObjectItem(e, "status")->valuestring, "ok");
  assert_string_equal(cJSON_GetObjectItem(e, "name")->valuestring, "Provision staging cluster for Acme");
  w = cJSON_GetObjectItem(t.out, "warnings");
  assert_int_equal(cJSON_GetArraySize(w), 2);
  assert_true(has_string(w, "Fibery workspace: type \"Scrum/Task\" has no field "
                            "\"Scrum/Estimate (D)\"; the queries of Scrum/Task leave it out "
                            "(check the enrichment config)"));
  tjob_free(&t);
  snprintf(in, n, "{\"with\":{" WITH_CFG "},\"inputs\":{\"schema\":%s},"
           "\"item\":{\"type\":\"Scrum/Chore\",\"ids\":[\"12\",\"13\"]}}", schema_json);
  run_act(&t, &wfa_fibery_enrich, in);
  assert_true(t.res.ok);
  assert_int_equal(cJSON_GetObjectItem(t.out, "requests")->valueint, 0);
  e = cJSON_GetObjectItem(cJSON_GetObjectItem(t.out, "entities"), "Scrum/Chore#13");
  assert_string_equal(cJSON_GetObjectItem(e, "status")->valuestring, "unknown_type");
  assert_non_null(strstr(cJSON_GetObjectItem(e, "error")->valuestring,
                         "the Fibery workspace has no type \"Scrum/Chore\""));
  assert_non_null(strstr(cJSON_GetArrayItem(cJSON_GetObjectItem(t.out, "warnings"), 0)->valuestring,
                         "no type \"Scrum/Chore\""));
  tjob_free(&t);
  /* the same query without the schema: Fibery rejects it and the entity is lost */
  run_act(&t, &wfa_fibery_enrich,
          "{\"with\":{" WITH_CFG "},\"inputs\":{},\"item\":{\"type\":\"Scrum/Task\",\"ids\":[\"7658\"]}}");
  stub_stop();
  e = cJSON_GetObjectItem(cJSON_GetObjectItem(t.out, "entities"), "Scrum/Task#7658");
  assert_string_equal(cJSON_GetObjectItem(e, "status")->valuestring, "unknown_type");
  tjob_free(&t);
  reqs = stub_requests();
  assert_int_equal(cJSON_GetArraySize(reqs), 2); /* Scrum/Chore asked nothing */
  assert_null(strstr(req_field(reqs, 0, "body"), "Scrum/Estimate (D)"));
  cJSON_Delete(reqs);
  free(in);
  free(schema_json);
  cJSON_Delete(sc);
  cJSON_Delete(cfg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_read),
      cmocka_unit_test(test_has),
      cmocka_unit_test(test_query_leaves_out),
      cmocka_unit_test(test_schema_step),
      cmocka_unit_test(test_enrich_with_schema),
  };

  signal(SIGPIPE, SIG_IGN);
  return cmocka_run_group_tests(tests, setup, teardown);
}
