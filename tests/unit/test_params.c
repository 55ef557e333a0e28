/* test_params.c — a definition's params (workflows/params.c): binding -p values to their
 * types, declared constraints refused at load when they cannot apply and checked at bind,
 * and dates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert_wf.h"
#include "def_fixture.h"
#include "wfw_int.h"

static wfw_def *load_full(void) {
  wfw_def *d;
  wfw_err err;
  int rc = wfw_load(DEFS "/full.json", &d, &err);
  if (rc) fail_msg("full.json: %s", err.msg);
  return d;
}

static void expect_bind(wfw_def *d, const char *const *kv, size_t n, const char *want_json) {
  uint8_t *mp;
  size_t len;
  wfw_err err;
  int rc = wfw_bind_params(d, kv, n, &mp, &len, &err);
  if (rc) fail_msg("bind: %s", err.msg);
  cJSON *j;
  assert_wf_ok(wfa_mp_to_json(mp, len, &j));
  char *s = cJSON_PrintUnformatted(j);
  assert_string_equal(s, want_json);
  free(s);
  cJSON_Delete(j);
  free(mp);
}

static void expect_bind_error(wfw_def *d, const char *const *kv, size_t n, const char *needle) {
  uint8_t *mp = (uint8_t *)1;
  size_t len = 1;
  wfw_err err;
  assert_wf_err(wfw_bind_params(d, kv, n, &mp, &len, &err), WF_EINVAL);
  assert_null(mp);
  assert_int_equal(len, 0);
  if (!strstr(err.msg, needle)) fail_msg("bind error is \"%s\", wanted \"%s\"", err.msg, needle);
}

static void test_bind_params(void **state) {
  (void)state;
  wfw_def *d = load_full();
  const char *a[] = {"date=2026-01-31"};
  expect_bind(d, a, 1, "{\"date\":\"2026-01-31\",\"limit\":10,\"dry\":false,\"label\":\"nightly\"}");
  const char *b[] = {"limit=-5", "date=2024-02-29", "dry=YES", "note=a=b c", "label="};
  expect_bind(d, b, 5, "{\"date\":\"2024-02-29\",\"limit\":-5,\"dry\":true,\"label\":\"\",\"note\":\"a=b c\"}");
  const char *c[] = {"date=2026-01-01", "date=2026-01-02", "dry=0"};
  expect_bind(d, c, 3, "{\"date\":\"2026-01-02\",\"limit\":10,\"dry\":false,\"label\":\"nightly\"}");

  expect_bind_error(d, NULL, 0, "missing required param \"date\" (use -p date=YYYY-MM-DD)");
  const char *e1[] = {"date=2026-02-30"};
  expect_bind_error(d, e1, 1, "param \"date\": \"2026-02-30\" is not a date (expected YYYY-MM-DD");
  const char *e2[] = {"date=2023-02-29"};
  expect_bind_error(d, e2, 1, "is not a date");
  const char *e3[] = {"date=2026-1-01"};
  expect_bind_error(d, e3, 1, "is not a date");
  const char *e4[] = {"date=2026-13-01"};
  expect_bind_error(d, e4, 1, "is not a date");
  const char *e5[] = {"date=2026-01-01", "limit=12x"};
  expect_bind_error(d, e5, 2, "param \"limit\": expected an int, got \"12x\"");
  const char *e6[] = {"date=2026-01-01", "limit="};
  expect_bind_error(d, e6, 2, "expected an int");
  const char *e7[] = {"date=2026-01-01", "limit=99999999999999999999"};
  expect_bind_error(d, e7, 2, "expected an int");
  const char *e8[] = {"date=2026-01-01", "dry=maybe"};
  expect_bind_error(d, e8, 2, "param \"dry\": expected a bool");
  const char *e9[] = {"date=2026-01-01", "foo=1"};
  expect_bind_error(d, e9, 2, "unknown param \"foo\" (declared: date, limit, dry, label, note)");
  const char *e10[] = {"date"};
  expect_bind_error(d, e10, 1, "-p \"date\": expected key=value");
  const char *e11[] = {"=x"};
  expect_bind_error(d, e11, 1, "expected key=value");
  wfw_def_free(d);

  char *none = q("{'name':'t','stages':[{'id':'a','run':['x']}]}");
  assert_wf_ok(wfw_parse(none, strlen(none), "t.json", &d, NULL));
  expect_bind(d, NULL, 0, "{}");
  const char *e12[] = {"x=1"};
  expect_bind_error(d, e12, 1, "unknown param \"x\" (workflow \"t\" declares no params)");
  wfw_def_free(d);
  free(none);
}

#define PERIOD "'start':{'type':'date','required':true},"

/* Declared constraints: refused at load when they cannot apply, checked at bind. */
static void test_param_constraints(void **state) {
  (void)state;
  expect_invalid("{'name':'t','params':{" PERIOD "'end':{'type':'date','not_before':'nope'}}," ONE_STAGE "}",
                 "param \"end\": \"not_before\" must name another date param", NULL, NULL);
  expect_invalid("{'name':'t','params':{" PERIOD "'end':{'type':'date','not_before':'end'}}," ONE_STAGE "}",
                 "must name another date param", NULL, NULL);
  expect_invalid("{'name':'t','params':{" PERIOD "'end':{'type':'string','not_before':'start'}}," ONE_STAGE "}",
                 "apply to date params", NULL, NULL);
  expect_invalid("{'name':'t','params':{" PERIOD "'end':{'type':'date','max_days_from':{'param':'start'}}}," ONE_STAGE "}",
                 "\"max_days_from\" must be {\"param\"", NULL, NULL);
  expect_invalid("{'name':'t','params':{" PERIOD "'end':{'type':'date','max_days_from':{'param':'start','days':3,'x':1}}}," ONE_STAGE "}",
                 "unknown field \"x\"", NULL, NULL);
  expect_invalid("{'name':'t','params':{'n':{'type':'string','min':1}}," ONE_STAGE "}",
                 "apply to int and number params", NULL, NULL);
  expect_invalid("{'name':'t','params':{'n':{'type':'number','min':2,'max':1}}," ONE_STAGE "}",
                 "min <= max", NULL, NULL);
  expect_invalid("{'name':'t','params':{'n':{'type':'number','default':0,'min':0.5}}," ONE_STAGE "}",
                 "\"default\" is outside", NULL, NULL);
  expect_invalid("{'name':'t','params':{'n':{'type':'number','default':'1'}}," ONE_STAGE "}",
                 "\"default\" must be a number", NULL, NULL);

  /* the end may be declared before the param it is checked against */
  char *text = q("{'name':'t','params':{'end':{'type':'date','required':true,'not_before':'start',"
                 "'max_days_from':{'param':'start','days':366}}," PERIOD
                 "'rps':{'type':'number','default':1,'min':0.001,'max':100}}," ONE_STAGE "}");
  wfw_def *d;
  wfw_err err;
  if (wfw_parse(text, strlen(text), "t.json", &d, &err)) fail_msg("%s", err.msg);
  free(text);
  const char *ok1[] = {"start=2025-01-01", "end=2026-01-01", "rps=0.5"};
  expect_bind(d, ok1, 3, "{\"end\":\"2026-01-01\",\"start\":\"2025-01-01\",\"rps\":0.5}");
  const char *ok2[] = {"start=2025-03-04", "end=2025-03-04"};
  expect_bind(d, ok2, 2, "{\"end\":\"2025-03-04\",\"start\":\"2025-03-04\",\"rps\":1}");
  const char *e1[] = {"start=2025-03-04", "end=2025-03-03"};
  expect_bind_error(d, e1, 2, "param \"end\" is 2025-03-03, before param \"start\" (2025-03-04); "
                              "it must be the same day or later");
  const char *e2[] = {"start=2025-01-01", "end=2026-01-02"};
  expect_bind_error(d, e2, 2, "param \"end\" is 2026-01-02, 367 days from param \"start\" "
                              "(2025-01-01) counting both; at most 366 are allowed");
  const char *e3[] = {"start=2024-01-01", "end=2024-12-31", "rps=0"};
  expect_bind_error(d, e3, 3, "param \"rps\" is 0, below its minimum 0.001");
  const char *e4[] = {"start=2024-01-01", "end=2024-12-31", "rps=fast"};
  expect_bind_error(d, e4, 3, "param \"rps\": expected a number, got \"fast\"");
  const char *e5[] = {"start=2024-01-01", "end=2024-12-31", "rps=nan"};
  expect_bind_error(d, e5, 3, "expected a number");
  wfw_def_free(d);
}

static void test_dates(void **state) {
  (void)state;
  assert_true(wfw_date_valid("2026-01-31"));
  assert_true(wfw_date_valid("2000-02-29"));
  assert_false(wfw_date_valid("1900-02-29"));
  assert_false(wfw_date_valid("2026-04-31"));
  assert_false(wfw_date_valid("2026-00-10"));
  assert_false(wfw_date_valid("2026-01-00"));
  assert_false(wfw_date_valid("0000-01-01"));
  assert_false(wfw_date_valid("2026-01-31T00"));
  assert_false(wfw_date_valid("2026/01/31"));
  assert_false(wfw_date_valid("+026-01-31"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bind_params),
      cmocka_unit_test(test_param_constraints),
      cmocka_unit_test(test_dates),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
