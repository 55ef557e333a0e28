/* test_load.c — loading and validating definitions, binding params, selecting stages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wfw_int.h"

#define DEFS WF_TEST_DATA "/defs"
#define DEMO WF_TEST_DATA "/../../workflows/bundled/demo.json"

/* JSON written with ' for " to keep the cases readable. */
static char *q(const char *s) {
  char *r = strdup(s);
  for (char *p = r; *p; p++)
    if (*p == '\'') *p = '"';
  return r;
}

static void expect_invalid(const char *json, const char *n1, const char *n2, const char *n3) {
  char *text = q(json);
  wfw_def *d = (wfw_def *)1;
  wfw_err err;
  int rc = wfw_parse(text, strlen(text), "t.json", &d, &err);
  if (rc != WF_EINVAL) fail_msg("expected WF_EINVAL for %s, got %d", text, rc);
  assert_null(d);
  const char *needles[] = {"t.json: ", n1, n2, n3};
  for (int i = 0; i < 4; i++)
    if (needles[i] && !strstr(err.msg, needles[i]))
      fail_msg("message for %s\n  is: %s\n  lacks: %s", text, err.msg, needles[i]);
  free(text);
}

#define ONE_STAGE "'stages':[{'id':'a','run':['true']}]"

static void test_demo_loads(void **state) {
  (void)state;
  wfw_def *d;
  wfw_err err;
  int rc = wfw_load(DEMO, &d, &err);
  if (rc) fail_msg("demo: %s", err.msg);
  assert_string_equal(wfw_def_name(d), "demo");
  assert_true(strlen(wfw_def_description(d)) > 10);
  assert_string_equal(wfw_def_path(d), DEMO);
  assert_non_null(strstr(wfw_def_text(d), "\"stages\""));
  assert_int_equal(wfw_def_nstages(d), 4);
  assert_int_equal(wfw_def_nparams(d), 1);
  wfw_param_info pi;
  wfw_def_param(d, 0, &pi);
  assert_string_equal(pi.name, "greeting");
  assert_string_equal(pi.type, "string");
  assert_false(pi.required);
  assert_string_equal(pi.default_json, "\"Hello from wf\"");
  wfw_stage_info si;
  wfw_def_stage(d, 1, &si);
  assert_string_equal(si.id, "process");
  assert_string_equal(si.kind, "run");
  assert_string_equal(si.foreach, "${stages.fetch.output.items}");
  assert_int_equal(si.nneeds, 1);
  assert_string_equal(si.needs[0], "fetch");
  assert_int_equal(wfw_def_stage_index(d, "summarize"), 2);
  assert_int_equal(wfw_def_stage_index(d, "nope"), -1);
  wfw_def_free(d);
}

static void test_full_loads(void **state) {
  (void)state;
  wfw_def *d;
  wfw_err err;
  int rc = wfw_load(DEFS "/full.json", &d, &err);
  if (rc) fail_msg("full.json: %s", err.msg);
  assert_int_equal(wfw_def_nparams(d), 5);
  wfw_param_info pi;
  wfw_def_param(d, 0, &pi);
  assert_string_equal(pi.type, "date");
  assert_true(pi.required);
  assert_null(pi.default_json);
  assert_string_equal(pi.description, "Day to process");
  wfw_def_param(d, 1, &pi);
  assert_string_equal(pi.default_json, "10");
  wfw_stage_info si;
  wfw_def_stage(d, 1, &si);
  assert_string_equal(si.kind, "uses:core.echo");
  wfw_def_stage(d, 2, &si);
  assert_string_equal(si.kind, "shell");
  assert_null(si.foreach);
  assert_string_equal(si.description, "");
  /* ${workflow.dir} is the definition's folder, made absolute. */
  assert_string_equal(d->dir, DEFS);
  wfw_def_free(d);
  wfw_def_free(NULL);
}

static void test_missing_file(void **state) {
  (void)state;
  wfw_def *d;
  wfw_err err;
  assert_int_equal(wfw_load(DEFS "/nope.json", &d, &err), WF_ENOTFOUND);
  assert_null(d);
  assert_non_null(strstr(err.msg, "nope.json"));
}

static void test_json_syntax(void **state) {
  (void)state;
  wfw_def *d;
  wfw_err err;
  assert_int_equal(wfw_load(DEFS "/bad_syntax.json", &d, &err), WF_EINVAL);
  assert_non_null(strstr(err.msg, "bad_syntax.json: 4:16: invalid JSON"));
  assert_int_equal(wfw_load(DEFS "/trailing.json", &d, &err), WF_EINVAL);
  assert_non_null(strstr(err.msg, "trailing.json: 3:3: unexpected text after the JSON value"));
  expect_invalid("{'name': 'x', 'stages': [", "1:26", "unexpected end of input", NULL);
  expect_invalid("", "1:1", NULL, NULL);
  assert_int_equal(wfw_parse("{\"a\":\0}", 7, "n.json", &d, &err), WF_EINVAL);
  assert_non_null(strstr(err.msg, "n.json:1:6: a NUL byte"));
}

static void test_top_level(void **state) {
  (void)state;
  expect_invalid("[1]", "expected a JSON object at the top level", NULL, NULL);
  expect_invalid("{'name':'t'," ONE_STAGE ",'stagse':1}", "unknown field \"stagse\"",
                 "expected one of: name, version, description, params, defaults, stages, "
                 "metadata_stage",
                 "did you mean \"stages\"?");
  expect_invalid("{'name':'t','metadata_stage':'b'," ONE_STAGE "}",
                 "\"metadata_stage\" must name a stage of the workflow", NULL, NULL);
  expect_invalid("{'name':'t','metadata_stage':1," ONE_STAGE "}",
                 "\"metadata_stage\" must name a stage of the workflow", NULL, NULL);
  expect_invalid("{'name':'t','metadata_stage':'b','stages':[{'id':'a','run':['true']},"
                 "{'id':'b','needs':['a'],'foreach':'${stages.a.output}','key':'${item}',"
                 "'run':['true']}]}",
                 "\"metadata_stage\": \"b\" is a fan-out stage", NULL, NULL);
  {
    char *text = q("{'name':'t','metadata_stage':'a'," ONE_STAGE "}");
    wfw_def *d = NULL;
    wfw_err err;
    if (wfw_parse(text, strlen(text), "t.json", &d, &err)) fail_msg("%s", err.msg);
    wfw_def_free(d);
    free(text);
  }
  expect_invalid("{'name':'t','name':'u'," ONE_STAGE "}", "field \"name\" appears twice", NULL, NULL);
  expect_invalid("{" ONE_STAGE "}", "missing field \"name\"", NULL, NULL);
  expect_invalid("{'name':'Demo X'," ONE_STAGE "}", "\"name\" must be", "a-z, 0-9", NULL);
  expect_invalid("{'name':'t','version':0," ONE_STAGE "}", "\"version\" must be an integer >= 1", NULL, NULL);
  expect_invalid("{'name':'t','description':3," ONE_STAGE "}", "\"description\" must be a string", NULL, NULL);
  expect_invalid("{'name':'t'}", "missing field \"stages\"", NULL, NULL);
  expect_invalid("{'name':'t','stages':[]}", "\"stages\" must be a non-empty array", NULL, NULL);
  expect_invalid("{'name':'t','stages':{}}", "\"stages\" must be a non-empty array", NULL, NULL);
  expect_invalid("{'name':'t','defaults':{'timeout':3}," ONE_STAGE "}", "defaults: unknown field \"timeout\"",
                 "expected one of: retry, timeout_s", NULL);
  expect_invalid("{'name':'t','defaults':{'timeout_s':0}," ONE_STAGE "}", "defaults: \"timeout_s\" must be seconds > 0", NULL, NULL);
  expect_invalid("{'name':'t','defaults':{'retry':{'backoff':0.5}}," ONE_STAGE "}",
                 "defaults.retry: \"backoff\" must be a multiplier from 1", NULL, NULL);
}

static void test_params_decl(void **state) {
  (void)state;
  expect_invalid("{'name':'t','params':{'d':{'type':'float'}}," ONE_STAGE "}", "param \"d\"",
                 "\"type\" must be one of: string, int, number, date, bool", NULL);
  expect_invalid("{'name':'t','params':{'d':{'type':'int','default':'x'}}," ONE_STAGE "}",
                 "param \"d\"", "\"default\" must be an integer", NULL);
  expect_invalid("{'name':'t','params':{'d':{'type':'int','default':1.5}}," ONE_STAGE "}",
                 "\"default\" must be an integer", NULL, NULL);
  expect_invalid("{'name':'t','params':{'d':{'type':'date','default':'2026-02-30'}}," ONE_STAGE "}",
                 "param \"d\"", "\"default\" must be a date", NULL);
  expect_invalid("{'name':'t','params':{'d':{'type':'bool','default':'yes'}}," ONE_STAGE "}",
                 "\"default\" must be true or false", NULL, NULL);
  expect_invalid("{'name':'t','params':{'d':{'type':'string','default':1}}," ONE_STAGE "}",
                 "\"default\" must be a string", NULL, NULL);
  expect_invalid("{'name':'t','params':{'d':{'type':'string','requird':true}}," ONE_STAGE "}",
                 "param \"d\": unknown field \"requird\"", "did you mean \"required\"?", NULL);
  expect_invalid("{'name':'t','params':{'d':{'required':true,'default':'x'}}," ONE_STAGE "}",
                 "a required param has no \"default\"", NULL, NULL);
  expect_invalid("{'name':'t','params':{'d':{'required':1}}," ONE_STAGE "}",
                 "\"required\" must be true or false", NULL, NULL);
  expect_invalid("{'name':'t','params':{'a b':{}}," ONE_STAGE "}", "param \"a b\": names are", NULL, NULL);
  expect_invalid("{'name':'t','params':{'d':'string'}," ONE_STAGE "}", "param \"d\": expected an object", NULL, NULL);
}

static void test_stage_fields(void **state) {
  (void)state;
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x'],'concurency':2}]}", "stage \"a\": ",
                 "unknown field \"concurency\" (expected one of: id, needs, description, run",
                 "did you mean \"concurrency\"?");
  expect_invalid("{'name':'t','stages':[{'run':['x']}]}", "stage #1: missing field \"id\"", NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a b','run':['x']}]}", "stage #1: id \"a b\"", "A-Z, a-z, 0-9", NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a123456789a123456789a123456789a123456789a123456789a123456789abcde','run':['x']}]}",
                 "1-64 characters", NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x']},{'id':'a','run':['y']}]}",
                 "stage \"a\": id is used twice (stages #1 and #2)", NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a'}]}", "stage \"a\": needs exactly one of \"run\"",
                 "found none", NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x'],'shell':'x'}]}", "stage \"a\"",
                 "found \"run\" and \"shell\"", NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','shell':'x','uses':'core.echo'}]}",
                 "found \"shell\" and \"uses\"", NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':[]}]}", "stage \"a\": \"run\" must be a non-empty array", NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':'ls -l'}]}", "\"run\" must be a non-empty array of strings", NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x',1]}]}", "stage \"a\": \"run[1]\" must be a string", NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','shell':''}]}", "\"shell\" must be a non-empty command", NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','uses':'core.nope'}]}", "stage \"a\"",
                 "unknown built-in \"core.nope\" (available: ", "core.echo");
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x'],'with':{}}]}", "\"with\" goes with \"uses\"", NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','uses':'core.echo','with':[]}]}", "\"with\" must be an object", NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','uses':'core.echo','cwd':'/'}]}", "\"cwd\" goes with \"run\"", NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x'],'needs':'b'}]}", "\"needs\" must be an array", NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x'],'description':['d']}]}", "\"description\" must be a string", NULL, NULL);
}

static void test_limits_and_retry(void **state) {
  (void)state;
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x'],'concurrency':0}]}", "stage \"a\"",
                 "\"concurrency\" must be an integer >= 1", NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x'],'concurrency':2.5}]}", "\"concurrency\" must be", NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x'],'timeout_s':-1}]}", "stage \"a\"",
                 "\"timeout_s\" must be seconds > 0", NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x'],'timeout_s':'5'}]}", "\"timeout_s\" must be", NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x'],'retry':{'max_attempts':'3'}}]}",
                 "stage \"a\": retry: \"max_attempts\" must be an integer from 1", NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x'],'retry':{'max_attempts':0}}]}", "\"max_attempts\"", NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x'],'retry':{'max_attempt':3}}]}",
                 "retry: unknown field \"max_attempt\"", "did you mean \"max_attempts\"?", NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x'],'retry':{'initial_interval_s':-1}}]}",
                 "\"initial_interval_s\" must be seconds", NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x'],'retry':{'non_retryable_exit_codes':[1,256]}}]}",
                 "\"non_retryable_exit_codes\" must hold integers from 0 to 255", NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x'],'retry':3}]}", "retry: expected an object", NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x']},{'id':'b','needs':['a'],'run':['x'],"
                 "'foreach':'${stages.a.output}','key':'${item}','class':'${item}','by_class':{'x':0}}]}",
                 "stage \"b\"", "\"by_class\": \"x\" must be an integer limit >= 1", NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x'],'rate':0}]}", "stage \"a\"",
                 "\"rate\" must be starts per second > 0", NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x'],'by_class':{'x':1}}]}", "stage \"a\"",
                 "\"by_class\" per class needs \"class\"", NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x']},{'id':'b','needs':['a'],'run':['x'],"
                 "'foreach':'${stages.a.output}','key':'${item}','class':'${item}','rate':{'x':-2}}]}",
                 "\"rate\": \"x\" must be starts per second > 0", NULL, NULL);
}

static void test_graph(void **state) {
  (void)state;
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x']},{'id':'b','needs':['x'],'run':['x']}]}",
                 "stage \"b\": \"needs\": unknown stage \"x\" (stages: a, b)", NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','needs':['c'],'run':['x']},{'id':'b','needs':['a'],"
                 "'run':['x']},{'id':'c','needs':['b'],'run':['x']}]}",
                 "\"needs\" form a cycle: a -> c -> b -> a", NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','needs':['a'],'run':['x']}]}",
                 "stage \"a\": \"needs\": a stage cannot need itself", NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x']},{'id':'b','needs':['a','a'],'run':['x']}]}",
                 "\"a\" is listed twice", NULL, NULL);
}

static void test_interpolations(void **state) {
  (void)state;
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['echo','${foo.bar}']}]}", "stage \"a\": ",
                 "field \"run[1]\": bad interpolation \"${foo.bar}\"", "unknown root \"foo\"");
  expect_invalid("{'name':'t','params':{'date':{}},'stages':[{'id':'a','run':['x','${params.dat}']}]}",
                 "stage \"a\": field \"run[1]\": ${params.dat}: unknown param \"dat\" (declared: date)",
                 NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','shell':'x ${params.p}'}]}",
                 "unknown param \"p\" (the workflow declares no params)", NULL, NULL);
  expect_invalid("{'name':'t','params':{'date':{}},'stages':[{'id':'a','run':['x','${params.date.y}']}]}",
                 "params are single values", NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x','${item.id}']}]}", "stage \"a\"",
                 "${item} is only defined in stages with \"foreach\"", NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x']},{'id':'b','run':['x','${stages.a.output}']}]}",
                 "stage \"b\": field \"run[1]\"", "stage \"a\" is not in \"needs\"", NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x','${stages.z.output}']}]}",
                 "unknown stage \"z\"", NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x'],'cwd':'${item.dir}'}]}",
                 "field \"cwd\"", NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x']},{'id':'b','needs':['a'],'uses':'core.echo',"
                 "'with':{'x':[1,{'y':'${params.q}'}]}}]}", "stage \"b\": field \"with.x[1].y\"",
                 "unknown param \"q\"", NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','uses':'core.echo','with':{'x':'${item'}}]}",
                 "field \"with.x\": unterminated", NULL, NULL);
  /* Transitive ancestors may be referred to. */
  char *ok = q("{'name':'t','stages':[{'id':'a','run':['x']},{'id':'b','needs':['a'],'run':['x']},"
               "{'id':'c','needs':['b'],'run':['x','${stages.a.output.v}']}]}");
  wfw_def *d;
  wfw_err err;
  assert_int_equal(wfw_parse(ok, strlen(ok), "t.json", &d, &err), 0);
  assert_int_equal(d->stages[2].argv[1].parts[0].expr.stage, 0);
  wfw_def_free(d);
  free(ok);
}

static void test_fanout_fields(void **state) {
  (void)state;
#define A "{'id':'a','run':['x']},"
  expect_invalid("{'name':'t','stages':[" A "{'id':'b','needs':['a'],'run':['x'],'foreach':'${stages.a.output}'}]}",
                 "stage \"b\": \"foreach\" needs \"key\"", "identity", NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x'],'key':'${item.id}'}]}",
                 "stage \"a\": \"key\" goes with \"foreach\"", NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x'],'class':'c'}]}",
                 "\"class\" goes with \"foreach\"", NULL, NULL);
  expect_invalid("{'name':'t','stages':[" A "{'id':'b','needs':['a'],'run':['x'],'foreach':'x${stages.a.output}','key':'${item}'}]}",
                 "\"foreach\" must be exactly one ${stages.<id>.output...} expression", NULL, NULL);
  expect_invalid("{'name':'t','params':{'p':{}},'stages':[{'id':'b','run':['x'],'foreach':'${params.p}','key':'${item}'}]}",
                 "\"foreach\" must be exactly one", NULL, NULL);
  expect_invalid("{'name':'t','stages':[" A "{'id':'b','needs':['a'],'run':['x']},{'id':'c','needs':['b'],"
                 "'run':['x'],'foreach':'${stages.a.output}','key':'${item}'}]}",
                 "stage \"c\": \"foreach\": ${stages.a.output} iterates stage \"a\", which must be listed in \"needs\"",
                 NULL, NULL);
  expect_invalid("{'name':'t','stages':[" A "{'id':'b','needs':['a'],'run':['x'],'foreach':'${stages.a.output}','key':'k'}]}",
                 "\"key\" must use ${item...}", NULL, NULL);
  expect_invalid("{'name':'t','stages':[" A "{'id':'b','needs':['a'],'run':['x'],'foreach':'${stages.a.output}','key':''}]}",
                 "\"key\" must be a non-empty string", NULL, NULL);
  expect_invalid("{'name':'t','stages':[" A "{'id':'b','needs':['a'],'run':['x'],'foreach':'${stages.a.output.x[${item}]}','key':'${item}'}]}",
                 "stage \"b\": field \"foreach\"", NULL, NULL);
#undef A
}

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
  assert_int_equal(wfa_mp_to_json(mp, len, &j), 0);
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
  assert_int_equal(wfw_bind_params(d, kv, n, &mp, &len, &err), WF_EINVAL);
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
  assert_int_equal(wfw_parse(none, strlen(none), "t.json", &d, NULL), 0);
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

/* A stage that checks a start runs before the run exists: one step, needing only other
 * such stages, with no run id or folder to use. */
static void test_validate_stages(void **state) {
  (void)state;
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x'],'validate':1}]}",
                 "\"validate\" must be true or false", NULL, NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x']},"
                 "{'id':'b','needs':['a'],'run':['x'],'validate':true}]}",
                 "stage \"b\": \"validate\": it runs before the run exists", "not \"a\"", NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','run':['x','${run.dir}'],'validate':true}]}",
                 "stage \"a\": field \"run[1]\": ${run.dir}", "no run id or folder", NULL);
  expect_invalid("{'name':'t','stages':[{'id':'a','uses':'core.echo','with':{'l':[1]}},"
                 "{'id':'b','needs':['a'],'foreach':'${stages.a.output.l}','key':'${item}',"
                 "'run':['x'],'validate':true}]}",
                 "cannot have \"foreach\"", NULL, NULL);
  char *text = q("{'name':'t','stages':[{'id':'a','run':['x'],'validate':true},"
                 "{'id':'b','needs':['a'],'run':['x'],'validate':true},{'id':'c','needs':['b'],'run':['x']}]}");
  wfw_def *d;
  wfw_err err;
  if (wfw_parse(text, strlen(text), "t.json", &d, &err)) fail_msg("%s", err.msg);
  wfw_stage_info si;
  wfw_def_stage(d, 1, &si);
  assert_true(si.validate);
  wfw_def_stage(d, 2, &si);
  assert_false(si.validate);
  wfw_def_free(d);
  free(text);
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

static void expect_select(wfw_def *d, const char *only, const char *skip, const char *from,
                          const char *to, const char *want_sel, const char *want_rerun) {
  int sel[4], rerun[4];
  char gs[5] = "", gr[5] = "";
  wfw_err err;
  int rc = wfw_select(d, only, skip, from, to, sel, rerun, &err);
  if (rc) fail_msg("select: %s", err.msg);
  for (int i = 0; i < 4; i++) {
    gs[i] = (char)('0' + sel[i]);
    gr[i] = (char)('0' + rerun[i]);
  }
  assert_string_equal(gs, want_sel);
  assert_string_equal(gr, want_rerun);
}

static void expect_select_error(wfw_def *d, const char *only, const char *skip, const char *from,
                                const char *to, const char *needle) {
  int sel[4], rerun[4];
  wfw_err err;
  assert_int_equal(wfw_select(d, only, skip, from, to, sel, rerun, &err), WF_EINVAL);
  if (!strstr(err.msg, needle)) fail_msg("select error is \"%s\", wanted \"%s\"", err.msg, needle);
}

/* full.json: fetch <- enrich <- count <- report, and report also needs fetch. */
static void test_select(void **state) {
  (void)state;
  wfw_def *d = load_full();
  expect_select(d, NULL, NULL, NULL, NULL, "1111", "0000");
  expect_select(d, "enrich,count", NULL, NULL, NULL, "0110", "0000");
  expect_select(d, " count , enrich", NULL, NULL, NULL, "0110", "0000");
  expect_select(d, NULL, "count", NULL, NULL, "1101", "0000");
  expect_select(d, NULL, "fetch,report", NULL, NULL, "0110", "0000");
  expect_select(d, NULL, NULL, NULL, "count", "1110", "0000");
  expect_select(d, NULL, NULL, NULL, "fetch", "1000", "0000");
  expect_select(d, NULL, NULL, "enrich", NULL, "1111", "0111");
  expect_select(d, NULL, NULL, "report", NULL, "1111", "0001");
  expect_select(d, NULL, NULL, "fetch", NULL, "1111", "1111");
  expect_select(d, NULL, NULL, "count", "count", "1110", "0010");
  expect_select(d, "enrich,report", NULL, "enrich", NULL, "0101", "0101");
  expect_select(d, NULL, "count", "enrich", NULL, "1101", "0101");

  expect_select_error(d, "count,enrich", "count", NULL, NULL, "stage count is both in --only and --skip");
  expect_select_error(d, "nope", NULL, NULL, NULL,
                      "--only: unknown stage \"nope\" (stages of full: fetch, enrich, count, report)");
  expect_select_error(d, NULL, "fetch,nope", NULL, NULL, "--skip: unknown stage \"nope\"");
  expect_select_error(d, NULL, NULL, "Fetch", NULL, "--start-from: unknown stage \"Fetch\"");
  expect_select_error(d, NULL, NULL, NULL, "x", "--to: unknown stage \"x\"");
  expect_select_error(d, "fetch,,count", NULL, NULL, NULL, "--only \"fetch,,count\": empty stage name");
  expect_select_error(d, "", NULL, NULL, NULL, "empty stage name");
  wfw_def_free(d);
}

static void test_resolve(void **state) {
  (void)state;
  char path[4096];
  wfw_err err;
  assert_int_equal(wfw_resolve(DEFS "/full.json", path, sizeof path, &err), 0);
  assert_string_equal(path, DEFS "/full.json");
  /* The test binaries live in <build>/tests, beside <build>/share/wf/workflows. */
  assert_int_equal(wfw_resolve("demo", path, sizeof path, &err), 0);
  assert_non_null(strstr(path, "/share/wf/workflows/demo.json"));
  wfw_def *d;
  assert_int_equal(wfw_load(path, &d, &err), 0);
  wfw_def_free(d);
  assert_int_equal(wfw_resolve("no-such-flow", path, sizeof path, &err), WF_ENOTFOUND);
  assert_non_null(strstr(err.msg, "workflow \"no-such-flow\" not found (tried: no-such-flow, "
                                  "./workflows/no-such-flow.json, "));
  assert_non_null(strstr(err.msg, "/share/wf/workflows/no-such-flow.json); `wf list`"));
  assert_int_equal(wfw_resolve("dir/none.json", path, sizeof path, &err), WF_ENOTFOUND);
  assert_non_null(strstr(err.msg, "(tried: dir/none.json)"));
  assert_int_equal(wfw_resolve(DEFS "/full.json", path, 8, &err), WF_EINVAL);
}

static void on_list(void *ud, const char *name, const char *path, const char *desc) {
  int *found = ud;
  if (strcmp(name, "demo") == 0 && strstr(path, "demo.json") && strstr(desc, "fan-out")) ++*found;
}

static void test_list(void **state) {
  (void)state;
  int found = 0;
  assert_int_equal(wfw_list(on_list, &found), 0);
  assert_int_equal(found, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_demo_loads),     cmocka_unit_test(test_full_loads),
      cmocka_unit_test(test_missing_file),   cmocka_unit_test(test_json_syntax),
      cmocka_unit_test(test_top_level),      cmocka_unit_test(test_params_decl),
      cmocka_unit_test(test_stage_fields),   cmocka_unit_test(test_limits_and_retry),
      cmocka_unit_test(test_graph),          cmocka_unit_test(test_interpolations),
      cmocka_unit_test(test_fanout_fields),  cmocka_unit_test(test_bind_params),
      cmocka_unit_test(test_param_constraints), cmocka_unit_test(test_validate_stages),
      cmocka_unit_test(test_dates),          cmocka_unit_test(test_select),
      cmocka_unit_test(test_resolve),        cmocka_unit_test(test_list),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
