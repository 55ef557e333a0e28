/* test_load.c — loading and validating definitions (workflows/load.c, with stage.c and
 * graph.c): JSON syntax, the top level, declared params, stage fields, limits, the graph,
 * interpolations, fan-out and checking stages. */
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

#define DEMO WF_TEST_DATA "/../../workflows/bundled/demo.json"

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
  assert_wf_err(wfw_load(DEFS "/nope.json", &d, &err), WF_ENOTFOUND);
  assert_null(d);
  assert_non_null(strstr(err.msg, "nope.json"));
}

static void test_json_syntax(void **state) {
  (void)state;
  wfw_def *d;
  wfw_err err;
  assert_wf_err(wfw_load(DEFS "/bad_syntax.json", &d, &err), WF_EINVAL);
  assert_non_null(strstr(err.msg, "bad_syntax.json: 4:16: invalid JSON"));
  assert_wf_err(wfw_load(DEFS "/trailing.json", &d, &err), WF_EINVAL);
  assert_non_null(strstr(err.msg, "trailing.json: 3:3: unexpected text after the JSON value"));
  expect_invalid("{'name': 'x', 'stages': [", "1:26", "unexpected end of input", NULL);
  expect_invalid("", "1:1", NULL, NULL);
  assert_wf_err(wfw_parse("{\"a\":\0}", 7, "n.json", &d, &err), WF_EINVAL);
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
  assert_wf_ok(wfw_parse(ok, strlen(ok), "t.json", &d, &err));
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_demo_loads),     cmocka_unit_test(test_full_loads),
      cmocka_unit_test(test_missing_file),   cmocka_unit_test(test_json_syntax),
      cmocka_unit_test(test_top_level),      cmocka_unit_test(test_params_decl),
      cmocka_unit_test(test_stage_fields),   cmocka_unit_test(test_limits_and_retry),
      cmocka_unit_test(test_graph),          cmocka_unit_test(test_interpolations),
      cmocka_unit_test(test_fanout_fields),  cmocka_unit_test(test_validate_stages),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
