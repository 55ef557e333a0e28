/* test_tf_report.c — toggl-fibery Markdown reports from the fixtures under tests/data/tf:
 * totals checked against sums computed here from the raw entries, the join with Fibery
 * outcomes, zero-matched and all-not-found teams, determinism and file names.
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
#include "tf_report.h"
#include "tf_util.h"
#include "wf/wf.h"

static cJSON *load(const char *name) {
  cJSON *j;

  assert_wf_ok(tf_read_json(WF_TEST_DATA "/tf", name, &j));
  return j;
}

static cJSON *aggregate(const cJSON *raw) {
  cJSON *agg;

  assert_wf_ok(tf_aggregate(raw, NULL, "2025-03-05T10:01:00Z", &agg));
  return agg;
}

static int count(const char *hay, const char *needle) {
  int n = 0;

  for (hay = strstr(hay, needle); hay; hay = strstr(hay + 1, needle))
    n++;
  return n;
}

static void assert_has(const char *md, const char *needle) {
  if (!strstr(md, needle))
    fail_msg("missing \"%s\" in:\n%s", needle, md);
}

/* Seconds of the raw entries a user should be credited with, summed here directly:
 * first occurrence of each id, stopped timers only; uid < 0 sums everyone. */
static int64_t raw_seconds(const cJSON *raw, int64_t uid) {
  const cJSON *e, *f;
  int64_t s = 0;

  cJSON_ArrayForEach(e, cJSON_GetObjectItem(raw, "time_entries")) {
    int dup = 0;

    cJSON_ArrayForEach(f, cJSON_GetObjectItem(raw, "time_entries")) {
      if (f == e)
        break;
      dup |= tf_jint(f, "id") == tf_jint(e, "id");
    }
    if (dup || !tf_jstr(e, "stop") || tf_jint(e, "duration") < 0)
      continue;
    if (uid < 0 || tf_jint(e, "user_id") == uid)
      s += tf_jint(e, "duration");
  }
  return s;
}

static void test_toggl_summary(void **state) {
  cJSON *raw = load("raw_small.json"), *agg = aggregate(raw);
  char *md, *again, want[128], h[32];

  (void)state;
  assert_wf_ok(tf_report_toggl(agg, NULL, &md));
  assert_has(md, "# Toggl Activity Report");
  assert_has(md, "- Period: 2025-03-03 to 2025-03-04 (timezone: +02:00)");
  assert_has(md, "- Run: run_2025-03-05-10-00-00");
  assert_has(md, "- Generated: 2025-03-05T10:01:00Z");
  tf_hours(h, raw_seconds(raw, -1));
  snprintf(want, sizeof want, "| Total hours | %s |", h);
  assert_has(md, want);
  assert_has(md, "| Persons | 3 |");
  assert_has(md, "| Distinct references | 4 |");
  assert_has(md, "| Unresolved references | 2 |");
  /* people by total descending: Bo, Ana, then the unknown user */
  tf_hours(h, raw_seconds(raw, 2));
  snprintf(want, sizeof want, "| Bo Chen | bo@example.com | %s |", h);
  assert_has(md, want);
  assert_true(strstr(md, "| Bo Chen |") < strstr(md, "| Ana Silva |"));
  assert_true(strstr(md, "| Ana Silva |") < strstr(md, "| Ghost | — |"));
  assert_has(md, "| 2025-03-03 |");
  assert_has(md, "| Team meeting | 0.42 | 2 |");
  assert_has(md, "| (no description) | 0.08 | 1 |");
  /* a '|' in a description cannot break the table */
  assert_has(md, "Design \\| review");
  assert_has(md, "1 running timer(s) skipped");
  assert_wf_ok(tf_report_toggl(agg, NULL, &again));
  assert_string_equal(md, again);
  free(again);
  free(md);
  cJSON_Delete(agg);
  cJSON_Delete(raw);
}

static void test_person_report(void **state) {
  cJSON *raw = load("raw_small.json"), *agg = aggregate(raw),
        *enr = load("enriched_small.json");
  char *md;

  (void)state;
  assert_wf_ok(tf_report_person(agg, enr, "bo@example.com", NULL, &md));
  assert_has(md, "# Individual Activity Report: Bo Chen <bo@example.com>");
  assert_has(md, "- Generated: 2025-03-05T10:02:00Z");
  assert_has(md, "| Total hours | 3.67 |");
  assert_has(md, "| Entities worked on | 4 (ok 1, not found 2, unresolved 1) |");
  assert_has(md, "### Scrum/Task (0.67 h)");
  assert_has(
      md, "| [#7658](https://acme.fibery.io/Scrum/Task/7658) | Provision staging cluster "
          "| In progress | 0.67 | 1 | 1 |");
  /* planned end 2025-03-01 is before the period end and the task is not done */
  assert_has(md, "ETA 2025-03-01 (overdue)");
  assert_has(md, "parent: Staging environment");
  assert_has(md, "Set up the staging cluster \\| with Terraform.");
  assert_null(strstr(md, "Second line"));
  assert_has(md, "| Scrum/Build#312 | Mobile app; Design \\| review | 0.67 | not found |");
  assert_has(md, "| Backend/Bug#1234 | Fix login | 2.00 | unknown type |");
  assert_has(md, "| #5678 | Research | 0.33 | type missing |");
  /* every reference in exactly one table */
  assert_int_equal(count(md, "Scrum/Build#312"), 1);
  assert_int_equal(count(md, "Backend/Bug#1234"), 1);
  assert_int_equal(count(md, "| #5678 |"), 1);
  assert_has(md, "## Other activities\n\nNone.");
  free(md);

  assert_wf_ok(tf_report_person(agg, enr, "toggl-user-3", NULL, &md));
  assert_has(md, "not in the workspace user list");
  assert_has(md, "| Standup | ");
  free(md);
  assert_wf_err(tf_report_person(agg, enr, "nobody@example.com", NULL, &md), WF_EINVAL);
  assert_null(md);
  cJSON_Delete(enr);
  cJSON_Delete(agg);
  cJSON_Delete(raw);
}

static void test_team_report(void **state) {
  cJSON *raw = load("raw_small.json"), *agg = aggregate(raw),
        *enr = load("enriched_small.json");
  char *md;

  (void)state;
  assert_wf_ok(tf_report_team(agg, enr, NULL, &md));
  assert_has(md, "# Team Activity Report");
  assert_has(md, "| Entities worked on | 4 |");
  assert_has(md, "| Found in Fibery | 1 |");
  assert_has(md, "| Not found in Fibery | 2 |");
  assert_has(md, "[Ana Silva](individual/ana@example.com.md)");
  assert_has(md, "[Ghost](individual/toggl-user-3.md)");
  /* the entity both people worked on: hours summed, both named, most hours first */
  assert_has(md, "| 2.17 | Ana Silva, Bo Chen |");
  assert_has(md, "| Backend/Bug#1234 | Fix login | 2.00 | unknown type | Bo Chen |");
  assert_has(md, "| Team meeting | 0.42 | 2 | Ana Silva |");
  assert_has(md, "## Coverage");
  assert_has(md, "| Backend/Bug | 1 | 2.00 | no |");
  assert_has(md, "not in the workspace user list");
  free(md);
  cJSON_Delete(enr);
  cJSON_Delete(agg);
  cJSON_Delete(raw);
}

static void test_zero_matched(void **state) {
  cJSON *raw = cJSON_Parse(
      "{\"run_id\": \"r0\", \"start_date\": \"2025-03-03\", \"end_date\": \"2025-03-03\","
      " \"report_timezone\": null, \"users\": [{\"user_id\": 1, \"email\": \"a@x.io\","
      " \"name\": \"A\"}], \"time_entries\": [{\"id\": 1, \"user_id\": 1, \"description\":"
      " \"Team meeting\", \"start\": \"2025-03-03T09:00:00Z\", \"stop\":"
      " \"2025-03-03T10:00:00Z\", \"duration\": 3600}]}");
  cJSON *agg = aggregate(raw), *enr = cJSON_Parse("{\"enriched_entities\": []}");
  char *md;

  (void)state;
  assert_wf_ok(tf_report_team(agg, enr, NULL, &md));
  assert_has(md, "No time entry referenced a Fibery entity.");
  /* no entry showed an offset: say what is known, not "unknown" */
  assert_has(md, "- Period: 2025-03-03 to 2025-03-03 (in the timezone of the Toggl profile; no "
                 "entry in the period showed its offset)");
  assert_null(strstr(md, "unknown"));
  assert_has(md, "| 1.00 | 0.00 | 1.00 | 0.0% |");
  free(md);
  assert_wf_ok(tf_report_person(agg, enr, "a@x.io", NULL, &md));
  assert_has(md, "No time on Fibery entities");
  assert_has(md, "| Team meeting | 1.00 | 1 |");
  free(md);
  assert_wf_ok(tf_report_toggl(agg, NULL, &md));
  assert_has(md, "| On references | 0.00 (0.0%) |");
  free(md);
  cJSON_Delete(enr);
  cJSON_Delete(agg);
  cJSON_Delete(raw);

  /* nobody tracked anything */
  raw = cJSON_Parse("{\"time_entries\": []}");
  agg = aggregate(raw);
  assert_wf_ok(tf_report_team(agg, NULL, NULL, &md));
  assert_has(md, "No people in scope.");
  free(md);
  assert_wf_ok(tf_report_toggl(agg, NULL, &md));
  assert_has(md, "| Total hours | 0.00 |");
  free(md);
  cJSON_Delete(agg);
  cJSON_Delete(raw);
}

static void test_all_not_found_or_missing(void **state) {
  cJSON *raw = load("raw_small.json"), *agg = aggregate(raw);
  cJSON *enr =
      cJSON_Parse("{\"enriched_at\": \"t1\", \"enriched_entities\": ["
                  "{\"entity_key\": \"Scrum/Task#7658\", \"status\": \"not_found\"},"
                  "{\"entity_key\": \"Scrum/Build#312\", \"status\": \"error\","
                  " \"error\": \"HTTP 500\"}]}");
  char *md;

  (void)state;
  assert_wf_ok(tf_report_team(agg, enr, NULL, &md));
  assert_has(md, "No referenced entity was found in Fibery.");
  assert_has(md, "| error: HTTP 500 |");
  assert_has(md, "could not be enriched because of errors");
  free(md);
  /* without enriched_data.json at all: references are "not enriched", never an error */
  assert_wf_ok(tf_report_person(agg, NULL, "ana@example.com", "t2", &md));
  assert_has(md, "| Scrum/Task#7658 |");
  assert_has(md, "| not enriched |");
  assert_has(md, "enriched_data.json is missing");
  assert_has(md, "- Generated: t2");
  free(md);
  cJSON_Delete(enr);
  cJSON_Delete(agg);
  cJSON_Delete(raw);
}

/* The reports as a team lead reads them (issue: names in the details, prose rather
 * than a heading, coverage by hours, a few people and "+N", untyped ids that may be typed
 * ones, every day of the period, a requested person with no time titled by name). */
static void test_manager_reading(void **state) {
  static const char *const names[] = {"Ana", "Bo", "Cy", "Di", "Ed"};
  cJSON *raw = cJSON_Parse(
      "{\"run_id\": \"r1\", \"start_date\": \"2025-03-03\", \"end_date\": \"2025-03-05\","
      " \"report_timezone\": \"+01:00\", \"user_emails_filter\": null, \"users\": []}");
  cJSON *entries = cJSON_AddArrayToObject(raw, "time_entries"), *users = cJSON_GetObjectItem(raw, "users");
  cJSON *agg, *enr;
  char *md, buf[400];
  int id = 1;

  (void)state;
  for (int u = 0; u < 5; u++) {
    snprintf(buf, sizeof buf, "{\"user_id\": %d, \"email\": \"%c@x.io\", \"name\": \"%s\"}", u + 1,
             names[u][0] + 32, names[u]);
    cJSON_AddItemToArray(users, cJSON_Parse(buf));
    /* everyone at the standup, for 5, 4, 3, 2, 1 quarters of an hour */
    snprintf(buf, sizeof buf, "{\"id\": %d, \"user_id\": %d, \"description\": \"Standup\","
             " \"start\": \"2025-03-03T09:00:00+01:00\", \"stop\": \"x\", \"duration\": %d,"
             " \"day\": \"2025-03-03\"}", id++, u + 1, (5 - u) * 900);
    cJSON_AddItemToArray(entries, cJSON_Parse(buf));
  }
  /* Scrum/Task: three references of an hour each; Scrum/Bug: one of two hours; an untyped
   * #7741 beside Scrum/Task#7741; nothing on 2025-03-04 */
  static const char *const refs[][2] = {
      {"Login page #7741 [Scrum] [Task]", "3600"}, {"Signup #7742 [Scrum] [Task]", "3600"},
      {"Logout #7743 [Scrum] [Task]", "3600"},     {"Crash #901 [Scrum] [Bug]", "7200"},
      {"Login page #7741", "1800"}};
  for (size_t r = 0; r < sizeof refs / sizeof refs[0]; r++) {
    snprintf(buf, sizeof buf, "{\"id\": %d, \"user_id\": 1, \"description\": \"%s\","
             " \"start\": \"2025-03-05T09:00:00+01:00\", \"stop\": \"x\", \"duration\": %s,"
             " \"day\": \"2025-03-05\"}", id++, refs[r][0], refs[r][1]);
    cJSON_AddItemToArray(entries, cJSON_Parse(buf));
  }
  agg = aggregate(raw);
  enr = cJSON_Parse(
      "{\"enriched_at\": \"t\", \"enriched_entities\": ["
      "{\"entity_key\": \"Scrum/Task#7741\", \"entity_id\": \"7741\", \"status\": \"ok\","
      " \"name\": \"Redesign the login page\", \"state\": \"Open\", \"url\": \"https://a/7741\","
      " \"enriched_data\": {\"started\": \"2025-03-01\", \"description_md\":"
      " \"## Context\\n\\n> The login page | needs a redesign.\\n\\nMore.\"}},"
      "{\"entity_key\": \"Scrum/Task#7742\", \"status\": \"ok\", \"name\": \"Signup\"},"
      "{\"entity_key\": \"Scrum/Task#7743\", \"status\": \"ok\", \"name\": \"Logout\"},"
      "{\"entity_key\": \"Scrum/Bug#901\", \"status\": \"ok\", \"name\": \"Crash\"}]}");
  assert_wf_ok(tf_report_team(agg, enr, NULL, &md));
  assert_has(md, "| Standup | 3.75 | 5 | Ana, Bo, Cy +2 |");
  assert_has(md, "| #7741 | Login page | 0.50 | type missing; may be the same as Scrum/Task#7741 | Ana |");
  /* coverage by hours: Scrum/Task (3 h) before Scrum/Bug (2 h, the largest reference) */
  assert_has(md, "| Scrum/Task | 3 | 3.00 | yes |\n| Scrum/Bug | 1 | 2.00 | yes |");
  free(md);
  assert_wf_ok(tf_report_toggl(agg, NULL, &md));
  assert_has(md, "| 2025-03-03 | 3.75 | 0.00 | 3.75 |\n| 2025-03-04 | 0.00 | 0.00 | 0.00 |\n"
                 "| 2025-03-05 | 5.50 | 5.50 | 0.00 |\n");
  free(md);
  assert_wf_ok(tf_report_person(agg, enr, "a@x.io", NULL, &md));
  assert_has(md, "- [#7741](https://a/7741) Redesign the login page — started 2025-03-01; "
                 "The login page \\| needs a redesign.\n");
  assert_null(strstr(md, "## Context"));
  assert_has(md, "| 2025-03-04 | 0.00 | 0.00 | 0.00 |");
  assert_has(md, "type missing; may be the same as Scrum/Task#7741");
  free(md);
  cJSON_Delete(agg);

  /* a requested person with no time: titled with the name from the users list */
  cJSON_ReplaceItemInObject(raw, "user_emails_filter", cJSON_Parse("[\"e@x.io\", \"zed@x.io\"]"));
  cJSON_ReplaceItemInObject(raw, "time_entries", cJSON_CreateArray());
  agg = aggregate(raw);
  assert_wf_ok(tf_report_person(agg, enr, "e@x.io", NULL, &md));
  assert_has(md, "# Individual Activity Report: Ed <e@x.io>\n");
  assert_has(md, "No time tracked in the period.");
  free(md);
  assert_wf_ok(tf_report_person(agg, enr, "zed@x.io", NULL, &md));
  assert_has(md, "# Individual Activity Report: zed@x.io\n");
  free(md);
  cJSON_Delete(agg);
  cJSON_Delete(enr);
  cJSON_Delete(raw);
}

static void test_person_stem(void **state) {
  char buf[64];

  (void)state;
  tf_person_stem("ana@example.com", buf, sizeof buf);
  assert_string_equal(buf, "ana@example.com");
  tf_person_stem("toggl-user-4242", buf, sizeof buf);
  assert_string_equal(buf, "toggl-user-4242");
  tf_person_stem("o'brien+x/y z@Ex.com", buf, sizeof buf);
  assert_string_equal(buf, "o_brien+x_y_z@_x.com");
  tf_person_stem("../../etc", buf, sizeof buf);
  assert_null(strchr(buf, '/'));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_toggl_summary),
      cmocka_unit_test(test_person_report),
      cmocka_unit_test(test_team_report),
      cmocka_unit_test(test_zero_matched),
      cmocka_unit_test(test_all_not_found_or_missing),
      cmocka_unit_test(test_manager_reading),
      cmocka_unit_test(test_person_stem),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
