/* test_tf_aggregate.c — toggl-fibery aggregation and extraction against the hand-computed
 * totals of tests/data/tf/raw_small.json, the users filter, and raw assembly from days.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../assert_wf.h"
#include "tf_aggregate.h"
#include "tf_util.h"
#include "wf/wf.h"

static cJSON *load(const char *name) {
  cJSON *j;

  assert_wf_ok(tf_read_json(WF_TEST_DATA "/tf", name, &j));
  return j;
}

static cJSON *aggregate_file(const char *name, cJSON **raw_out) {
  cJSON *raw = load(name), *agg;

  assert_wf_ok(tf_aggregate(raw, NULL, "2025-03-05T10:01:00Z", &agg));
  if (raw_out)
    *raw_out = raw;
  else
    cJSON_Delete(raw);
  return agg;
}

/* Value at a ">"-separated path of object keys. */
static const cJSON *at(const cJSON *o, const char *path) {
  char buf[256], *save = NULL, *tok;

  snprintf(buf, sizeof buf, "%s", path);
  for (tok = strtok_r(buf, ">", &save); tok && o; tok = strtok_r(NULL, ">", &save))
    o = cJSON_GetObjectItemCaseSensitive(o, tok);
  return o;
}

static int64_t num(const cJSON *o, const char *path) {
  const cJSON *v = at(o, path);

  if (!cJSON_IsNumber(v))
    fail_msg("%s is not a number", path);
  return (int64_t)v->valuedouble;
}

/* The matched entity or activity with field == value in arr. */
static const cJSON *find(const cJSON *arr, const char *field, const char *value) {
  const cJSON *x;

  cJSON_ArrayForEach(x, arr) if (tf_jstr(x, field) &&
                                 !strcmp(tf_jstr(x, field), value)) return x;
  fail_msg("no %s = %s", field, value);
  return NULL;
}

static void test_person_totals(void **state) {
  cJSON *agg = aggregate_file("raw_small.json", NULL);
  const cJSON *users = at(agg, "users"), *ana, *bo, *ghost;

  (void)state;
  assert_int_equal(cJSON_GetArraySize(users), 3);
  /* keys sorted; e-mail lower-cased; unknown id -> toggl-user-<id> */
  assert_string_equal(users->child->string, "ana@example.com");
  ana = at(users, "ana@example.com");
  bo = at(users, "bo@example.com");
  ghost = at(users, "toggl-user-3");
  assert_non_null(ghost);
  assert_string_equal(tf_jstr(ana, "name"), "Ana Silva");
  assert_true(tf_jbool(ana, "known_user"));
  assert_false(tf_jbool(ghost, "known_user"));
  assert_true(cJSON_IsNull(at(ghost, "user_email")));
  assert_string_equal(tf_jstr(ghost, "name"), "Ghost");

  assert_int_equal(num(ana, "statistics>total_duration_seconds"), 7200);
  assert_int_equal(num(ana, "statistics>matched_duration_seconds"), 5400);
  assert_int_equal(num(ana, "statistics>unmatched_duration_seconds"), 1800);
  assert_int_equal(num(ana, "statistics>unresolved_duration_seconds"), 0);
  assert_int_equal(num(ana, "statistics>total_entries"), 5);
  assert_int_equal(num(ana, "statistics>entities_count"), 1);
  assert_int_equal(num(ana, "statistics>activities_count"), 2);
  assert_int_equal(num(ana, "by_day>2025-03-03>total_duration_seconds"), 4500);
  assert_int_equal(num(ana, "by_day>2025-03-04>unmatched_duration_seconds"), 900);

  assert_int_equal(num(bo, "statistics>total_duration_seconds"), 13200);
  assert_int_equal(num(bo, "statistics>matched_duration_seconds"), 13200);
  assert_int_equal(num(bo, "statistics>unresolved_duration_seconds"), 8400);
  assert_int_equal(num(bo, "statistics>total_entries"), 5);
  assert_int_equal(num(bo, "statistics>entities_count"), 4);
  assert_int_equal(num(bo, "statistics>activities_count"), 0);
  /* the entry crossing midnight counts wholly on its start day */
  assert_int_equal(num(bo, "by_day>2025-03-03>total_duration_seconds"), 10800);
  assert_int_equal(num(bo, "by_day>2025-03-04>total_duration_seconds"), 2400);
  assert_int_equal(num(ghost, "statistics>unmatched_duration_seconds"), 450);
  cJSON_Delete(agg);
}

static void test_references_and_activities(void **state) {
  cJSON *agg = aggregate_file("raw_small.json", NULL);
  const cJSON *ana = at(agg, "users>ana@example.com"),
              *bo = at(agg, "users>bo@example.com");
  const cJSON *ref, *act, *refs = at(bo, "matched_entities");

  (void)state;
  ref = find(at(ana, "matched_entities"), "entity_key", "Scrum/Task#7658");
  assert_int_equal(num(ref, "duration_seconds"), 5400);
  assert_int_equal(num(ref, "entries_count"), 2);
  assert_int_equal(num(ref, "by_day>2025-03-04"), 1800);
  assert_string_equal(tf_jstr(ref, "project"), "Acme");
  assert_int_equal(cJSON_GetArraySize(at(ref, "names")), 2);
  assert_int_equal(cJSON_GetArraySize(at(ref, "entries")), 2);
  assert_string_equal(tf_jstr(ref, "first_start"), "2025-03-03T09:00:00+02:00");
  assert_string_equal(tf_jstr(ref, "last_stop"), "2025-03-04T10:00:00+02:00");
  assert_true(cJSON_IsNull(at(ref, "reason")));

  act = find(at(ana, "unmatched_activities"), "description_clean", "Team meeting");
  assert_int_equal(num(act, "duration_seconds"), 1500);
  assert_int_equal(num(act, "entries_count"), 2);
  act = find(at(ana, "unmatched_activities"), "description_clean", TF_NO_DESCRIPTION);
  assert_int_equal(num(act, "duration_seconds"), 300);

  /* order: seconds descending, then key */
  assert_string_equal(tf_jstr(cJSON_GetArrayItem(refs, 0), "entity_key"),
                      "Backend/Bug#1234");
  assert_string_equal(tf_jstr(cJSON_GetArrayItem(refs, 1), "entity_key"),
                      "Scrum/Build#312");
  assert_string_equal(tf_jstr(cJSON_GetArrayItem(refs, 2), "entity_key"),
                      "Scrum/Task#7658");
  assert_string_equal(tf_jstr(cJSON_GetArrayItem(refs, 3), "entity_key"), "#5678");
  assert_string_equal(tf_jstr(cJSON_GetArrayItem(refs, 0), "reason"), "unknown_type");
  assert_string_equal(tf_jstr(cJSON_GetArrayItem(refs, 3), "reason"), "type_missing");
  /* the zero-second entry counts as an entry */
  ref = find(refs, "entity_key", "Scrum/Build#312");
  assert_int_equal(num(ref, "entries_count"), 2);
  assert_int_equal(num(ref, "duration_seconds"), 2400);
  assert_string_equal(tf_jstr(ref, "entity_database"), "Scrum");
  assert_string_equal(tf_jstr(ref, "entity_type"), "Build");
  cJSON_Delete(agg);
}

static void test_team_totals(void **state) {
  cJSON *agg = aggregate_file("raw_small.json", NULL);

  (void)state;
  assert_string_equal(tf_jstr(agg, "run_id"), "run_2025-03-05-10-00-00");
  assert_string_equal(tf_jstr(agg, "report_timezone"), "+02:00");
  assert_string_equal(tf_jstr(agg, "aggregated_at"), "2025-03-05T10:01:00Z");
  assert_int_equal(num(agg, "statistics>total_users"), 3);
  assert_int_equal(num(agg, "statistics>total_entries"), 11);
  assert_int_equal(num(agg, "statistics>total_duration_seconds"), 20850);
  assert_int_equal(num(agg, "statistics>matched_duration_seconds"), 18600);
  assert_int_equal(num(agg, "statistics>unmatched_duration_seconds"), 2250);
  assert_int_equal(num(agg, "statistics>unresolved_duration_seconds"), 8400);
  /* distinct keys, not a sum of per-person counts (which would be 5) */
  assert_int_equal(num(agg, "statistics>unique_entities"), 4);
  assert_int_equal(num(agg, "statistics>total_matched_entities"), 4);
  assert_int_equal(num(agg, "statistics>unresolved_references"), 2);
  assert_int_equal(num(agg, "statistics>total_unmatched_activities"), 3);
  assert_int_equal(num(agg, "by_day>2025-03-03>total_duration_seconds"), 15750);
  assert_int_equal(num(agg, "by_day>2025-03-04>total_duration_seconds"), 5100);
  assert_int_equal(num(agg, "skipped>running"), 1);
  assert_int_equal(num(agg, "skipped>duplicates"), 1);
  assert_int_equal(cJSON_GetArraySize(at(agg, "unknown_users")), 1);
  assert_int_equal(cJSON_GetArraySize(at(agg, "warnings")), 3);
  cJSON_Delete(agg);
}

static void test_users_filter(void **state) {
  cJSON *raw = load("raw_small.json"), *agg, *f = cJSON_CreateArray();
  const cJSON *cy;

  (void)state;
  cJSON_AddItemToArray(f, cJSON_CreateString("ANA@example.com"));
  cJSON_AddItemToArray(f, cJSON_CreateString("Cy@Example.com"));
  cJSON_ReplaceItemInObjectCaseSensitive(raw, "user_emails_filter", f);
  assert_wf_ok(tf_aggregate(raw, NULL, NULL, &agg));
  assert_int_equal(cJSON_GetArraySize(at(agg, "users")), 2);
  assert_int_equal(num(agg, "users>ana@example.com>statistics>total_duration_seconds"),
                   7200);
  cy = at(agg, "users>cy@example.com");
  assert_non_null(cy);
  assert_int_equal(num(cy, "statistics>total_duration_seconds"), 0);
  assert_int_equal(cJSON_GetArraySize(at(cy, "matched_entities")), 0);
  assert_int_equal(num(agg, "skipped>out_of_scope"), 6);
  assert_int_equal(num(agg, "statistics>total_duration_seconds"), 7200);
  cJSON_Delete(agg);
  cJSON_Delete(raw);
}

static void test_extract(void **state) {
  cJSON *agg = aggregate_file("raw_small.json", NULL), *ex;
  const cJSON *u;

  (void)state;
  assert_wf_ok(tf_extract(agg, &ex));
  assert_int_equal(cJSON_GetArraySize(at(ex, "by_type")), 2);
  assert_string_equal(at(ex, "by_type")->child->string, "Scrum/Build");
  assert_string_equal(cJSON_GetArrayItem(at(ex, "by_type>Scrum/Task"), 0)->valuestring,
                      "7658");
  assert_int_equal(cJSON_GetArraySize(at(ex, "by_type>Scrum/Task")), 1);
  u = cJSON_GetArrayItem(at(ex, "unknown_type"), 0);
  assert_string_equal(tf_jstr(u, "key"), "Backend/Bug#1234");
  assert_int_equal(tf_jint(u, "seconds"), 7200);
  assert_string_equal(cJSON_GetArrayItem(at(u, "people"), 0)->valuestring,
                      "bo@example.com");
  u = cJSON_GetArrayItem(at(ex, "type_missing"), 0);
  assert_string_equal(tf_jstr(u, "key"), "#5678");
  cJSON_Delete(ex);
  cJSON_Delete(agg);
}

static void test_extract_id_order(void **state) {
  cJSON *agg = cJSON_Parse(
      "{\"users\": {\"a\": {\"matched_entities\": ["
      "{\"entity_key\": \"S/T#10\", \"entity_id\": \"10\", \"fibery_type\": \"S/T\"},"
      "{\"entity_key\": \"S/T#9\", \"entity_id\": \"9\", \"fibery_type\": \"S/T\"},"
      "{\"entity_key\": \"S/T#007\", \"entity_id\": \"007\", \"fibery_type\": \"S/T\"},"
      "{\"entity_key\": \"S/T#7\", \"entity_id\": \"7\", \"fibery_type\": \"S/T\"}]}}}");
  cJSON *ex;
  const cJSON *ids;

  (void)state;
  assert_wf_ok(tf_extract(agg, &ex));
  ids = at(ex, "by_type>S/T");
  assert_string_equal(cJSON_GetArrayItem(ids, 0)->valuestring, "007");
  assert_string_equal(cJSON_GetArrayItem(ids, 1)->valuestring, "7");
  assert_string_equal(cJSON_GetArrayItem(ids, 2)->valuestring, "9");
  assert_string_equal(cJSON_GetArrayItem(ids, 3)->valuestring, "10");
  cJSON_Delete(ex);
  cJSON_Delete(agg);
}

static void test_empty_and_invalid(void **state) {
  cJSON *raw = cJSON_Parse("{\"time_entries\": [], \"users\": []}"), *agg;

  (void)state;
  assert_wf_ok(tf_aggregate(raw, NULL, NULL, &agg));
  assert_int_equal(num(agg, "statistics>total_users"), 0);
  assert_int_equal(num(agg, "statistics>total_duration_seconds"), 0);
  cJSON_Delete(agg);
  cJSON_Delete(raw);
  raw = cJSON_Parse("{\"entries\": []}");
  assert_wf_err(tf_aggregate(raw, NULL, NULL, &agg), WF_EINVAL);
  assert_null(agg);
  cJSON_Delete(raw);
  /* malformed entries are skipped or defaulted, never fatal */
  raw = cJSON_Parse("{\"time_entries\": [1, \"x\", {}, {\"id\": \"a\", \"stop\": \"s\","
                    " \"duration\": 5, \"description\": 7}]}");
  assert_wf_ok(tf_aggregate(raw, NULL, NULL, &agg));
  assert_int_equal(num(agg, "statistics>total_duration_seconds"), 5);
  assert_int_equal(num(agg, "skipped>running"), 3);
  assert_non_null(at(agg, "users>toggl-user-0"));
  cJSON_Delete(agg);
  cJSON_Delete(raw);
}

static void test_raw_assemble(void **state) {
  cJSON *days = cJSON_Parse(
      "{\"2025-03-04\": {\"date\": \"2025-03-04\", \"report_timezone\": \"+02:00\","
      "  \"requests\": 2, \"pages\": 2, \"skipped\": {\"running\": 1, \"duplicates\": 0},"
      "  \"entries\": [{\"id\": 2, \"user_id\": 1, \"username\": \"Ana\", \"description\": "
      "  \"Team meeting\", \"start\": \"2025-03-04T09:00:00+02:00\", \"stop\": "
      "  \"2025-03-04T10:00:00+02:00\", \"duration\": 3600}]},"
      " \"2025-03-03\": {\"date\": \"2025-03-03\", \"requests\": 1, \"pages\": 1,"
      "  \"entries\": [{\"id\": 1, \"user_id\": 1, \"username\": \"Ana\", \"description\": "
      "  \"#7 [Scrum] [Task]\", \"start\": \"2025-03-03T09:00:00+02:00\", \"stop\": "
      "  \"2025-03-03T09:30:00+02:00\", \"duration\": 1800, \"day\": \"2025-03-03\"}]}}");
  cJSON *map = cJSON_Parse("{\"1\": \"ana@example.com\", \"2\": \"bo@example.com\"}");
  cJSON *raw, *agg;

  (void)state;
  assert_wf_ok(tf_raw_assemble(days, map, "r1", "2025-03-03", "2025-03-04", NULL,
                               "2025-03-05T00:00:00Z", &raw));
  assert_string_equal(tf_jstr(raw, "report_timezone"), "+02:00");
  assert_int_equal(cJSON_GetArraySize(at(raw, "time_entries")), 2);
  assert_string_equal(tf_jstr(cJSON_GetArrayItem(at(raw, "time_entries"), 0), "day"),
                      "2025-03-03");
  assert_string_equal(tf_jstr(cJSON_GetArrayItem(at(raw, "time_entries"), 1), "day"),
                      "2025-03-04");
  assert_int_equal(num(raw, "statistics>total_duration_seconds"), 5400);
  assert_int_equal(num(raw, "skipped>running"), 1);
  assert_int_equal(cJSON_GetArraySize(at(raw, "users")), 2);
  assert_string_equal(tf_jstr(cJSON_GetArrayItem(at(raw, "users"), 0), "name"), "Ana");
  assert_true(cJSON_IsNull(at(cJSON_GetArrayItem(at(raw, "users"), 1), "name")));
  assert_wf_ok(tf_aggregate(raw, NULL, NULL, &agg));
  assert_int_equal(num(agg, "users>ana@example.com>statistics>matched_duration_seconds"),
                   1800);
  assert_int_equal(num(agg, "users>ana@example.com>statistics>total_duration_seconds"),
                   5400);
  cJSON_Delete(agg);
  cJSON_Delete(raw);
  /* the users map as toggl.users writes it now: names from the workspace list, also for a
   * requested person without time (the report's title is not the e-mail twice) */
  cJSON_Delete(map);
  map = cJSON_Parse("{\"1\": {\"email\": \"ana@example.com\", \"name\": \"Ana Lima\"},"
                    " \"2\": {\"email\": \"bo@example.com\", \"name\": \"Bo Berg\"}}");
  cJSON *filter = cJSON_Parse("[\"bo@example.com\"]");
  assert_wf_ok(tf_raw_assemble(days, map, "r1", "2025-03-03", "2025-03-04", filter,
                               "2025-03-05T00:00:00Z", &raw));
  cJSON_Delete(filter);
  assert_string_equal(tf_jstr(cJSON_GetArrayItem(at(raw, "users"), 0), "name"), "Ana Lima");
  assert_string_equal(tf_jstr(cJSON_GetArrayItem(at(raw, "users"), 1), "name"), "Bo Berg");
  assert_wf_ok(tf_aggregate(raw, NULL, NULL, &agg));
  assert_string_equal(tf_jstr(at(agg, "users>bo@example.com"), "name"), "Bo Berg");
  assert_int_equal(num(agg, "users>bo@example.com>statistics>total_duration_seconds"), 0);
  cJSON_Delete(agg);
  cJSON_Delete(raw);
  assert_wf_ok(tf_raw_assemble(map, NULL, NULL, NULL, NULL, NULL, NULL, &raw));
  cJSON_Delete(raw);
  assert_wf_err(tf_raw_assemble(NULL, NULL, NULL, NULL, NULL, NULL, NULL, &raw),
                WF_EINVAL);
  cJSON_Delete(map);
  cJSON_Delete(days);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_person_totals),
      cmocka_unit_test(test_references_and_activities),
      cmocka_unit_test(test_team_totals),
      cmocka_unit_test(test_users_filter),
      cmocka_unit_test(test_extract),
      cmocka_unit_test(test_extract_id_order),
      cmocka_unit_test(test_empty_and_invalid),
      cmocka_unit_test(test_raw_assemble),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
