/* test_plan.c — plans built from definitions (workflows/plan.c, hooks.c): stage settings,
 * selection (--only, --skip, --start-from, --to), and the hooks (step inputs, fan-out
 * items) driven with recorded outputs given by the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assert_wf.h"
#include "wfw_int.h"

#define DEFS WF_TEST_DATA "/defs"

/* Recorded outputs by stage index (JSON text, NULL: none recorded), and what the hooks
 * reported. */
static const char *outputs[8];
static int fetches[8];
static char last_error[1024];

static int fake_output(wfi_exec *x, uint32_t stage, uint8_t **out, size_t *len) {
  (void)x;
  fetches[stage]++;
  if (!outputs[stage]) return WF_ENOTFOUND;
  cJSON *j = cJSON_Parse(outputs[stage]);
  assert_non_null(j);
  int rc = wfa_json_to_mp_buf(j, out, len);
  cJSON_Delete(j);
  return rc;
}

static void fake_error(wfi_exec *x, const char *msg) {
  (void)x;
  snprintf(last_error, sizeof last_error, "%s", msg);
}

static const char *fake_run_id(const wfi_exec *x) {
  (void)x;
  return "run_1";
}

static const wfw_plan_io fake_io = {fake_output, fake_error, fake_run_id, NULL};

static wfi_exec *exec_a = (wfi_exec *)0x1000, *exec_b = (wfi_exec *)0x2000;

static wfw_def *load(const char *path) {
  wfw_def *d;
  wfw_err err;
  int rc = wfw_load(path, &d, &err);
  if (rc) fail_msg("%s: %s", path, err.msg);
  return d;
}

static wfi_plan *plan_for(wfw_def *d, const char *const *kv, size_t n) {
  uint8_t *params;
  size_t len;
  wfi_plan *p;
  wfw_err err;
  assert_wf_ok(wfw_bind_params(d, kv, n, &params, &len, &err));
  int rc = wfw_plan_new(d, params, len, NULL, NULL, NULL, NULL, &p, &err);
  if (rc) fail_msg("plan: %s", err.msg);
  free(params);
  wfw_plan_set_io(p, &fake_io);
  assert_wf_ok(wfw_plan_set_home(p, "/h"));
  memset(outputs, 0, sizeof outputs);
  memset(fetches, 0, sizeof fetches);
  last_error[0] = '\0';
  return p;
}

/* Build a step input and return it as compact JSON (malloc'd). */
static char *input_json(wfi_plan *p, wfi_exec *x, uint32_t stage, const char *item) {
  uint8_t *in, *imp = NULL;
  size_t inlen, ilen = 0;
  if (item) {
    cJSON *j = cJSON_Parse(item);
    assert_wf_ok(wfa_json_to_mp_buf(j, &imp, &ilen));
    cJSON_Delete(j);
  }
  int rc = p->ops->build_input(p->ud, x, stage, imp, ilen, &in, &inlen);
  free(imp);
  if (rc) return NULL;
  cJSON *j;
  assert_wf_ok(wfa_mp_to_json(in, inlen, &j));
  char *s = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  free(in);
  return s;
}

static void test_stages(void **state) {
  (void)state;
  wfw_def *d = load(DEFS "/full.json");
  const char *kv[] = {"date=2026-01-31"};
  wfi_plan *p = plan_for(d, kv, 1);
  assert_int_equal(p->nstages, 4);
  const wfi_stage *s = p->stages;
  assert_string_equal(s[0].id, "fetch");
  assert_int_equal(s[0].nneeds, 0);
  assert_false(s[0].fanout);
  assert_int_equal(s[0].concurrency, 0);
  assert_int_equal(s[0].retry.max_attempts, 3);          /* defaults */
  assert_true(s[0].retry.initial_interval_s == 0.5);     /* defaults */
  assert_true(s[0].retry.backoff == 3);                  /* stage */
  assert_true(s[0].retry.max_interval_s == 60);          /* built-in */
  assert_int_equal(s[0].retry.n_nonretry, 2);
  assert_int_equal(s[0].retry.nonretry_codes[1], 64);
  assert_true(s[0].timeout_s == 120);
  assert_ptr_equal(s[0].act, &wfa_exec);
  assert_true(s[0].selected);
  assert_false(s[0].rerun);

  assert_true(s[1].fanout);
  assert_int_equal(s[1].concurrency, 8);
  assert_ptr_equal(s[1].act, wfa_builtin("core.echo"));
  assert_true(s[1].timeout_s == 30);
  assert_int_equal(s[1].retry.n_nonretry, 0);
  assert_int_equal(s[1].nneeds, 1);
  assert_int_equal(s[1].needs[0], 0);
  assert_int_equal(s[1].nclasses, 3);
  assert_string_equal(s[1].classes[0].cls, "Scrum/Bug");
  assert_int_equal(s[1].classes[0].limit, 2);
  assert_true(s[1].classes[0].rate == 0);
  assert_string_equal(s[1].classes[1].cls, "Task");
  assert_int_equal(s[1].classes[1].limit, 3);
  assert_true(s[1].classes[1].rate == 5);
  assert_string_equal(s[1].classes[2].cls, "Epic");
  assert_int_equal(s[1].classes[2].limit, 0);
  assert_true(s[1].classes[2].rate == 0.5);

  assert_int_equal(s[2].retry.max_attempts, 1);
  assert_ptr_equal(s[2].act, &wfa_exec);
  assert_int_equal(s[3].nneeds, 2);
  assert_int_equal(s[3].needs[0], 2);
  assert_int_equal(s[3].needs[1], 0);
  /* a numeric rate bounds the whole stage, not each class */
  assert_int_equal(s[3].nclasses, 0);
  assert_true(s[3].rate == 2);
  assert_true(s[1].rate == 0);
  wfw_plan_free(p);

  wfw_err err;
  assert_wf_ok(wfw_plan_new(d, NULL, 0, NULL, NULL, "count", NULL, &p, &err));
  assert_true(p->stages[0].selected && !p->stages[0].rerun);
  assert_true(p->stages[2].selected && p->stages[2].rerun);
  assert_true(p->stages[3].rerun);
  wfw_plan_free(p);
  assert_wf_err(wfw_plan_new(d, NULL, 0, "fetch", "fetch", NULL, NULL, &p, &err), WF_EINVAL);
  assert_null(p);
  assert_non_null(strstr(err.msg, "both in --only and --skip"));
  const uint8_t not_map[] = {0x01};
  assert_wf_err(wfw_plan_new(d, not_map, 1, NULL, NULL, NULL, NULL, &p, &err), WF_EINVAL);
  assert_non_null(strstr(err.msg, "not a map"));
  wfw_plan_free(NULL);
  wfw_def_free(d);
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
  assert_wf_err(wfw_select(d, only, skip, from, to, sel, rerun, &err), WF_EINVAL);
  if (!strstr(err.msg, needle)) fail_msg("select error is \"%s\", wanted \"%s\"", err.msg, needle);
}

/* full.json: fetch <- enrich <- count <- report, and report also needs fetch. */
static void test_select(void **state) {
  (void)state;
  wfw_def *d = load(DEFS "/full.json");
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

static void test_build_input(void **state) {
  (void)state;
  wfw_def *d = load(DEFS "/full.json");
  const char *kv[] = {"date=2026-01-31", "note=n"};
  wfi_plan *p = plan_for(d, kv, 2);
  const char *params = "{\"date\":\"2026-01-31\",\"limit\":10,\"dry\":false,\"label\":\"nightly\",\"note\":\"n\"}";
  char want[2048];
  outputs[0] = "{\"items\":[{\"type\":\"Task\",\"id\":1},{\"type\":\"Scrum/Bug\",\"id\":2}]}";
  outputs[1] = "{\"Task:1\":{\"ok\":1},\"Scrum/Bug:2\":{\"ok\":2}}";
  outputs[2] = "{\"n\":5}";

  char *got = input_json(p, exec_a, 0, NULL);
  snprintf(want, sizeof want, "{\"run\":[\"./bin/fetch\",\"--date\",\"2026-01-31\",\"--limit=10\"],"
           "\"cwd\":\"%s\",\"params\":%s,\"inputs\":{},\"item\":null}", DEFS, params);
  assert_string_equal(got, want);
  free(got);

  /* The iterated stage is not among a fan-out item's inputs: the item stands for it. */
  got = input_json(p, exec_a, 1, "{\"type\":\"Task\",\"id\":1}");
  snprintf(want, sizeof want, "{\"with\":{\"id\":1,\"day\":\"2026-01-31\",\"literal\":\"${not.this}\","
           "\"all\":[{\"type\":\"Task\",\"id\":1},1,true]},\"params\":%s,\"inputs\":{},"
           "\"item\":{\"type\":\"Task\",\"id\":1}}", params);
  assert_string_equal(got, want);
  free(got);

  got = input_json(p, exec_a, 2, NULL);
  snprintf(want, sizeof want, "{\"shell\":\"echo '{\\\"n\\\": 1}' # run_1 ${HOME}\",\"cwd\":null,"
           "\"params\":%s,\"inputs\":{\"enrich\":%s},\"item\":null}", params, outputs[1]);
  assert_string_equal(got, want);
  free(got);

  got = input_json(p, exec_a, 3, NULL);
  snprintf(want, sizeof want, "{\"run\":[\"report\",\"5\",\"%s\",\"/h/runs/run_1/r.md\"],\"cwd\":null,"
           "\"params\":%s,\"inputs\":{\"count\":{\"n\":5},\"fetch\":%s},\"item\":null}",
           "{\\\"Task:1\\\":{\\\"ok\\\":1},\\\"Scrum/Bug:2\\\":{\\\"ok\\\":2}}", params, outputs[0]);
  assert_string_equal(got, want);
  free(got);
  /* Outputs are fetched once per execution. */
  assert_int_equal(fetches[0], 1);
  assert_int_equal(fetches[1], 1);

  /* Another execution starts from a clean cache. */
  outputs[2] = "{\"m\":5}";
  assert_null(input_json(p, exec_b, 3, NULL));
  assert_non_null(strstr(last_error, "stage \"report\": ${stages.count.output.n}: no field \"n\" "
                                     "in stages.count.output"));
  assert_int_equal(fetches[0], 1);
  assert_int_equal(fetches[2], 2);

  outputs[2] = NULL;
  assert_null(input_json(p, exec_a, 3, NULL));
  assert_non_null(strstr(last_error, "stage \"report\": ${stages.count.output.n}: no recorded output of stage \"count\""));
  wfw_plan_free(p);
  wfw_def_free(d);
}

/* ${run.dir} of a plan given no home is under ./.wf, whatever $WF_HOME says: the library
 * takes its settings from its caller, not from the environment. */
static void test_run_dir_without_home(void **state) {
  (void)state;
  wfw_def *d = load(DEFS "/full.json");
  const char *kv[] = {"date=2026-01-31", "note=n"};
  wfi_plan *p = plan_for(d, kv, 2);
  assert_wf_ok(wfw_plan_set_home(p, NULL));
  outputs[0] = "{\"items\":[{\"type\":\"Task\",\"id\":1}]}";
  outputs[1] = "{\"Task:1\":{\"ok\":1}}";
  outputs[2] = "{\"n\":5}";
  assert_int_equal(setenv("WF_HOME", "/elsewhere", 1), 0);
  char *got = input_json(p, exec_a, 3, NULL);
  assert_int_equal(unsetenv("WF_HOME"), 0);
  char cwd[2048], want[2200];
  assert_non_null(getcwd(cwd, sizeof cwd));
  snprintf(want, sizeof want, "\"%s/.wf/runs/run_1/r.md\"", cwd);
  if (!got) fail_msg("no input: %s", last_error);
  if (!strstr(got, want)) fail_msg("%s does not hold %s", got, want);
  free(got);
  wfw_plan_free(p);
  wfw_def_free(d);
}

/* Iterate every item; returns the "key|class" lines, or NULL when the cursor failed. */
static char *iterate(wfi_plan *p, wfi_exec *x, uint32_t stage, uint64_t *hash) {
  wfi_items *it;
  if (p->ops->items_open(p->ud, x, stage, &it, hash) != 0) return NULL;
  static char buf[4096];
  size_t n = 0;
  const uint8_t *item;
  size_t len;
  char key[301], cls[128];
  int rc;
  buf[0] = '\0';
  while ((rc = p->ops->items_next(it, &item, &len, key, sizeof key, cls, sizeof cls)) == 1) {
    cJSON *j;
    assert_wf_ok(wfa_mp_to_json(item, len, &j));
    assert_non_null(cJSON_GetObjectItem(j, "id"));
    cJSON_Delete(j);
    n += (size_t)snprintf(buf + n, sizeof buf - n, "%s|%s\n", key, cls);
  }
  p->ops->items_close(it);
  return rc == 0 ? buf : NULL;
}

/* Iterating stage `stage` over upstream output `output` fails with a message holding msg. */
static void refused(wfi_plan *p, wfi_exec *x, uint32_t stage, const char *output,
                    const char *msg) {
  uint64_t h;
  outputs[0] = output;
  assert_null(iterate(p, x, stage, &h));
  if (!strstr(last_error, msg)) fail_msg("\"%s\" does not hold \"%s\"", last_error, msg);
}

static void test_items(void **state) {
  (void)state;
  wfw_def *d = load(DEFS "/full.json");
  const char *kv[] = {"date=2026-01-31"};
  wfi_plan *p = plan_for(d, kv, 1);
  uint64_t h1, h2, h3;
  outputs[0] = "{\"items\":[{\"type\":\"Task\",\"id\":1},{\"type\":\"Scrum/Bug\",\"id\":\"x y\"}]}";
  assert_string_equal(iterate(p, exec_a, 1, &h1), "Task:1|Task\nScrum/Bug:x y|Scrum/Bug\n");
  assert_string_equal(iterate(p, exec_a, 1, &h2), "Task:1|Task\nScrum/Bug:x y|Scrum/Bug\n");
  assert_true(h1 == h2);
  assert_int_equal(fetches[0], 1);
  outputs[0] = "{\"items\":[{\"type\":\"Task\",\"id\":1}]}";
  assert_string_equal(iterate(p, exec_b, 1, &h3), "Task:1|Task\n");
  assert_true(h1 != h3);
  outputs[0] = "{\"items\":[]}";
  assert_string_equal(iterate(p, exec_a, 1, &h3), "");

  refused(p, exec_b, 1, "{\"items\":5}",
          "stage \"enrich\": foreach of stage enrich is not an array: number");
  refused(p, exec_a, 1, "{\"itemz\":[]}",
          "stage \"enrich\": ${stages.fetch.output.items}: no field \"items\"");
  refused(p, exec_b, 1, "{\"items\":[{\"type\":\"Task\",\"id\":1},{\"type\":\"Task\"}]}",
          "stage \"enrich\": item 1: ${item.id}: no field \"id\" in item");
  wfw_plan_free(p);
  wfw_def_free(d);
}

static void test_item_keys(void **state) {
  (void)state;
  const char *json = "{\"name\":\"k\",\"stages\":[{\"id\":\"a\",\"run\":[\"x\"]},{\"id\":\"b\","
                     "\"needs\":[\"a\"],\"run\":[\"x\"],\"foreach\":\"${stages.a.output}\","
                     "\"key\":\"${item.id}\"}]}";
  wfw_def *d;
  wfw_err err;
  assert_wf_ok(wfw_parse(json, strlen(json), "k.json", &d, &err));
  wfi_plan *p = plan_for(d, NULL, 0);
  uint64_t h;
  char long_key[400];
  refused(p, exec_a, 1, "[{\"id\":\"ok\"},{\"id\":\"\"}]",
          "stage \"b\": item 1: key \"\" is empty");
  refused(p, exec_b, 1, "[{\"id\":\"a\\nb\"}]",
          "item 0: key \"a\\nb\" contains a control character");
  memset(long_key, 'k', 201);
  snprintf(long_key + 201, sizeof long_key - 201, "\"}]");
  char src[512];
  snprintf(src, sizeof src, "[{\"id\":\"%s", long_key);
  refused(p, exec_a, 1, src,
          "is longer than 200 bytes");
  outputs[0] = "[{\"id\":12},{\"id\":{\"a\":1}}]";
  assert_string_equal(iterate(p, exec_b, 1, &h), "12|\n{\"a\":1}|\n");
  /* Two items with one key: refused before the first item is handed out. */
  refused(p, exec_a, 1, "[{\"id\":\"a\",\"v\":1},{\"id\":\"b\"},{\"id\":\"a\",\"v\":3}]",
          "stage \"b\": item 2 has the same key \"a\" as item 0");
  refused(p, exec_b, 1, "[{\"id\":1},{\"id\":\"1\"}]",
          "item 1 has the same key \"1\" as item 0"); /* 1 and "1" both give the key 1 */
  /* The key shown is escaped. */
  refused(p, exec_a, 1, "[{\"id\":\"x\"},{\"id\":\"q\\\"\\\\\"},{\"id\":\"q\\\"\\\\\"}]",
          "item 2 has the same key \"q\\\"\\\\\" as item 1");
  /* Every key is checked before a duplicate is reported. */
  refused(p, exec_b, 1, "[{\"id\":\"x\"},{\"id\":\"x\"},{\"id\":\"\\t\"}]",
          "item 2: key \"\\t\" contains a control character");
  wfw_plan_free(p);
  wfw_def_free(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stages),
      cmocka_unit_test(test_select),
      cmocka_unit_test(test_build_input),
      cmocka_unit_test(test_run_dir_without_home),
      cmocka_unit_test(test_items),
      cmocka_unit_test(test_item_keys),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
