/* test_interp.c — `${...}` templates (workflows/interp.c): parsing, raw and embedded
 * evaluation, indexes, escapes, and the messages of missing paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "assert_wf.h"
#include "wfw_int.h"

static cJSON *params, *fetch_out, *item;

static int outputs(void *ud, int stage, const char *id, const cJSON **out) {
  (void)ud;
  (void)stage;
  if (strcmp(id, "fetch") != 0) return WF_ENOTFOUND;
  *out = fetch_out;
  return 0;
}

static int setup(void **state) {
  (void)state;
  params = cJSON_Parse("{\"date\":\"2026-01-31\",\"n\":42,\"verbose\":true}");
  fetch_out = cJSON_Parse("{\"items\":[{\"id\":7,\"type\":\"Bug\",\"tags\":[\"a\",\"b\"]},"
                          "{\"id\":8,\"type\":\"Task\",\"tags\":[]}],\"odd key\":{\"x\":1}}");
  item = cJSON_Parse("{\"id\":7,\"type\":\"Scrum/Bug\",\"name\":\"Fix it\",\"score\":2.5}");
  return params && fetch_out && item ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  cJSON_Delete(params);
  cJSON_Delete(fetch_out);
  cJSON_Delete(item);
  return 0;
}

static void ctx(wfw_ictx *c) {
  memset(c, 0, sizeof *c);
  c->params = params;
  c->item = item;
  c->run_id = "run_1";
  c->run_dir = "/h/runs/run_1";
  c->workflow_dir = "/defs";
  c->stage_output = outputs;
}

/* Evaluate `src` as a string; returns a malloc'd result or NULL (then c->err says why). */
static char *eval_str(const char *src, wfw_ictx *c, int *rc) {
  wfw_tmpl t;
  char err[512];
  char *out = NULL;
  *rc = wfw_tmpl_parse(src, &t, err, sizeof err);
  assert_int_equal(*rc, 0);
  *rc = wfw_tmpl_eval_str(&t, c, &out);
  wfw_tmpl_clear(&t);
  return out;
}

static void assert_str_eval(const char *src, const char *want) {
  wfw_ictx c;
  int rc;
  ctx(&c);
  char *got = eval_str(src, &c, &rc);
  assert_wf_ok(rc);
  assert_string_equal(got, want);
  free(got);
}

static void assert_json_eval(const char *src, const char *want_json) {
  wfw_ictx c;
  wfw_tmpl t;
  char err[512];
  cJSON *v;
  ctx(&c);
  assert_wf_ok(wfw_tmpl_parse(src, &t, err, sizeof err));
  assert_wf_ok(wfw_tmpl_eval_json(&t, &c, &v));
  char *js = cJSON_PrintUnformatted(v);
  assert_string_equal(js, want_json);
  free(js);
  cJSON_Delete(v);
  wfw_tmpl_clear(&t);
}

static void assert_parse_error(const char *src, const char *needle) {
  wfw_tmpl t;
  char err[512] = "";
  assert_wf_err(wfw_tmpl_parse(src, &t, err, sizeof err), WF_EINVAL);
  if (!strstr(err, needle)) fail_msg("parse error for \"%s\" is \"%s\", wanted \"%s\"", src, err, needle);
  assert_int_equal(t.nparts, 0);
}

static void assert_missing(const char *src, const char *needle) {
  wfw_ictx c;
  int rc;
  ctx(&c);
  char *got = eval_str(src, &c, &rc);
  assert_wf_err(rc, WF_ENOTFOUND);
  assert_null(got);
  if (!strstr(c.err, needle)) fail_msg("error for \"%s\" is \"%s\", wanted \"%s\"", src, c.err, needle);
}

static void test_parse_structure(void **state) {
  (void)state;
  wfw_tmpl t;
  char err[256];
  assert_wf_ok(wfw_tmpl_parse("a ${params.date} b ${item.tags[1]}", &t, err, sizeof err));
  assert_int_equal(t.nparts, 4);
  assert_string_equal(t.parts[0].lit, "a ");
  assert_int_equal(t.parts[1].expr.root, WFW_R_PARAMS);
  assert_string_equal(t.parts[1].expr.name, "date");
  assert_int_equal(t.parts[1].expr.nsegs, 0);
  assert_string_equal(t.parts[1].expr.text, "${params.date}");
  assert_int_equal(t.parts[3].expr.root, WFW_R_ITEM);
  assert_int_equal(t.parts[3].expr.nsegs, 2);
  assert_string_equal(t.parts[3].expr.segs[0].field, "tags");
  assert_null(t.parts[3].expr.segs[1].field);
  assert_int_equal(t.parts[3].expr.segs[1].index, 1);
  assert_false(wfw_tmpl_is_expr(&t));
  assert_false(wfw_tmpl_is_literal(&t));
  wfw_tmpl_clear(&t);

  assert_wf_ok(wfw_tmpl_parse("${stages.fetch.output.items}", &t, err, sizeof err));
  assert_true(wfw_tmpl_is_expr(&t));
  assert_int_equal(t.parts[0].expr.root, WFW_R_STAGES);
  assert_string_equal(t.parts[0].expr.name, "fetch");
  assert_int_equal(t.parts[0].expr.nsegs, 1);
  assert_int_equal(t.parts[0].expr.stage, -1);
  wfw_tmpl_clear(&t);

  assert_wf_ok(wfw_tmpl_parse("plain text", &t, err, sizeof err));
  assert_true(wfw_tmpl_is_literal(&t));
  wfw_tmpl_clear(&t);
  assert_wf_ok(wfw_tmpl_parse("", &t, err, sizeof err));
  assert_int_equal(t.nparts, 0);
  wfw_tmpl_clear(&t);

  assert_wf_ok(wfw_tmpl_parse("${ run.id }/${run.dir}/${workflow.dir}", &t, err, sizeof err));
  assert_int_equal(t.parts[0].expr.root, WFW_R_RUN_ID);
  assert_int_equal(t.parts[2].expr.root, WFW_R_RUN_DIR);
  assert_int_equal(t.parts[4].expr.root, WFW_R_WORKFLOW_DIR);
  wfw_tmpl_clear(&t);
}

static void test_parse_errors(void **state) {
  (void)state;
  assert_parse_error("x ${params.date", "unterminated \"${\"");
  assert_parse_error("${}", "empty expression");
  assert_parse_error("${HOME}", "unknown root \"HOME\"");
  assert_parse_error("${HOME}", "$${");
  assert_parse_error("${params}", "expected params.<name>");
  assert_parse_error("${params.}", "expected a name after \".\"");
  assert_parse_error("${stages.fetch}", "expected stages.<stage id>.output");
  assert_parse_error("${stages.fetch.result}", "expected stages.<stage id>.output");
  assert_parse_error("${run.name}", "expected run.id, run.dir or workflow.dir");
  assert_parse_error("${run.id.x}", "expected run.id, run.dir or workflow.dir");
  assert_parse_error("${item[x]}", "[index]");
  assert_parse_error("${item[\"a]}", "unterminated");
  assert_parse_error("${item name}", "unexpected \" \"");
  assert_parse_error("${.item}", "expected a name at the start");
}

static void test_embedded(void **state) {
  (void)state;
  assert_str_eval("--date=${params.date}", "--date=2026-01-31");
  assert_str_eval("n=${params.n} v=${params.verbose}", "n=42 v=true");
  assert_str_eval("${item.type}:${item.id}", "Scrum/Bug:7");
  assert_str_eval("score ${item.score}", "score 2.5");
  assert_str_eval("tags=${stages.fetch.output.items[0].tags}", "tags=[\"a\",\"b\"]");
  assert_str_eval("${stages.fetch.output.items[1].type}", "Task");
  assert_str_eval("x${stages.fetch.output[\"odd key\"].x}y", "x1y");
  assert_str_eval("${run.id} ${run.dir} ${workflow.dir}/a.sh", "run_1 /h/runs/run_1 /defs/a.sh");
  assert_str_eval("no expressions", "no expressions");
}

static void test_raw(void **state) {
  (void)state;
  assert_json_eval("${stages.fetch.output.items[0].tags}", "[\"a\",\"b\"]");
  assert_json_eval("${params.n}", "42");
  assert_json_eval("${params.verbose}", "true");
  assert_json_eval("${item}", "{\"id\":7,\"type\":\"Scrum/Bug\",\"name\":\"Fix it\",\"score\":2.5}");
  assert_json_eval("${ item.id }", "7");
  assert_json_eval("id ${item.id}", "\"id 7\"");
  assert_json_eval("${run.id}", "\"run_1\"");
}

static void test_escapes(void **state) {
  (void)state;
  assert_str_eval("echo $${HOME} ${item.id}", "echo ${HOME} 7");
  assert_str_eval("pid $$, ${item.id}", "pid $$, 7");
  assert_str_eval("cost $5 and $$ and $", "cost $5 and $$ and $");
  assert_json_eval("$${item}", "\"${item}\"");
}

static void test_missing(void **state) {
  (void)state;
  assert_missing("${item.nme}", "no field \"nme\" in item");
  assert_missing("${item.nme}", "${item.nme}");
  assert_missing("a ${stages.fetch.output.items[5].id}", "index 5 is out of range: stages.fetch.output.items has 2 elements");
  assert_missing("${stages.fetch.output.items[0].tags.x}", "stages.fetch.output.items[0].tags is an array, not an object");
  assert_missing("${item.id[0]}", "item.id is a number, not an array");
  assert_missing("${params.other}", "param \"other\" has no value");
  assert_missing("${stages.other.output}", "no recorded output of stage \"other\"");

  wfw_ictx c;
  int rc;
  ctx(&c);
  c.item = NULL;
  char *got = eval_str("${item.id}", &c, &rc);
  assert_wf_err(rc, WF_ENOTFOUND);
  assert_null(got);
  assert_non_null(strstr(c.err, "outside a foreach stage"));
  ctx(&c);
  c.run_dir = NULL;
  got = eval_str("${run.dir}", &c, &rc);
  assert_wf_err(rc, WF_ENOTFOUND);
  assert_non_null(strstr(c.err, "${run.dir}"));
}

static void test_json_interp(void **state) {
  (void)state;
  wfw_ictx c;
  cJSON *with = cJSON_Parse("{\"date\":\"${params.date}\",\"ids\":[\"${item.id}\",\"x-${item.id}\"],"
                            "\"n\":3,\"deep\":{\"all\":\"${stages.fetch.output.items[1]}\"},\"lit\":\"$${x}\"}");
  cJSON *out;
  ctx(&c);
  assert_wf_ok(wfw_json_interp(with, &c, &out));
  char *js = cJSON_PrintUnformatted(out);
  assert_string_equal(js, "{\"date\":\"2026-01-31\",\"ids\":[7,\"x-7\"],\"n\":3,"
                          "\"deep\":{\"all\":{\"id\":8,\"type\":\"Task\",\"tags\":[]}},\"lit\":\"${x}\"}");
  free(js);
  cJSON_Delete(out);
  cJSON_Delete(with);

  with = cJSON_Parse("{\"a\":[\"${item.missing}\"]}");
  assert_wf_err(wfw_json_interp(with, &c, &out), WF_ENOTFOUND);
  assert_null(out);
  assert_non_null(strstr(c.err, "no field \"missing\""));
  cJSON_Delete(with);
  with = cJSON_Parse("[\"${nope}\"]");
  assert_wf_err(wfw_json_interp(with, &c, &out), WF_EINVAL);
  assert_non_null(strstr(c.err, "unknown root \"nope\""));
  cJSON_Delete(with);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_structure), cmocka_unit_test(test_parse_errors),
      cmocka_unit_test(test_embedded),        cmocka_unit_test(test_raw),
      cmocka_unit_test(test_escapes),         cmocka_unit_test(test_missing),
      cmocka_unit_test(test_json_interp),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
