/* test_tf_parse.c — the toggl-fibery description parser: every case of
 * tests/data/tf/parser_cases.json, the alias table, and hostile inputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../assert_wf.h"
#include "tf_parse.h"
#include "wf/wf.h"

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  char *buf;
  long n;

  assert_non_null(f);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  n = ftell(f);
  assert_true(n > 0);
  rewind(f);
  buf = malloc((size_t)n + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = 0;
  fclose(f);
  return buf;
}

/* Expected string-or-null field against the parsed value; prints the case on mismatch. */
static int check_str(const char *desc, const char *field, const cJSON *exp,
                     const char *got) {
  if (cJSON_IsNull(exp) ? got == NULL : (got && !strcmp(exp->valuestring, got)))
    return 1;
  print_error("case %s: %s expected %s, got %s\n", desc ? desc : "(null)", field,
              cJSON_IsNull(exp) ? "null" : exp->valuestring, got ? got : "null");
  return 0;
}

static int check_bool(const char *desc, const char *field, const cJSON *exp, int got) {
  if (cJSON_IsTrue(exp) == !!got)
    return 1;
  print_error("case %s: %s expected %d, got %d\n", desc ? desc : "(null)", field,
              cJSON_IsTrue(exp), got);
  return 0;
}

static void test_reference_cases(void **state) {
  char *text = slurp(WF_TEST_DATA "/tf/parser_cases.json");
  cJSON *cases = cJSON_Parse(text), *c;
  tf_aliases *al;
  int bad = 0, n = 0;

  (void)state;
  assert_non_null(cases);
  assert_wf_ok(tf_aliases_default(&al));
  cJSON_ArrayForEach(c, cases) {
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(c, "description");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(c, "expect");
    const char *desc = cJSON_IsString(d) ? d->valuestring : NULL;
    tf_ref r;
    int ok = 1;

    assert_non_null(e);
    assert_wf_ok(tf_parse(al, desc, desc ? strlen(desc) : 0, &r));
    ok &= check_str(desc, "id", cJSON_GetObjectItem(e, "id"), r.id);
    ok &= check_str(desc, "database", cJSON_GetObjectItem(e, "database"), r.database);
    ok &= check_str(desc, "type", cJSON_GetObjectItem(e, "type"), r.type);
    ok &= check_str(desc, "project", cJSON_GetObjectItem(e, "project"), r.project);
    ok &= check_str(desc, "fibery_type", cJSON_GetObjectItem(e, "fibery_type"),
                    r.fibery_type);
    ok &= check_str(desc, "clean", cJSON_GetObjectItem(e, "clean"), r.clean);
    ok &= check_bool(desc, "matched", cJSON_GetObjectItem(e, "matched"), r.matched);
    ok &= check_bool(desc, "resolved", cJSON_GetObjectItem(e, "resolved"), r.resolved);
    bad += !ok;
    n++;
    tf_ref_free(&r);
  }
  assert_int_equal(n, 48);
  assert_int_equal(bad, 0);
  tf_aliases_free(al);
  cJSON_Delete(cases);
  free(text);
}

/* Parse with the default table and return the result (caller frees). */
static tf_ref parse_s(const char *s) {
  tf_ref r;

  assert_wf_ok(tf_parse(NULL, s, strlen(s), &r));
  assert_non_null(r.clean);
  return r;
}

static void test_keys_and_kinds(void **state) {
  static const struct {
    const char *desc, *key, *reason;
    int kind;
  } cases[] = {
      {"A #7658 [Scrum] [Task] [X]", "Scrum/Task#7658", NULL, TF_TYPED},
      {"A #312 [Scrum] [Release]", "Scrum/Build#312", NULL, TF_TYPED},
      {"A #1234 [Backend] [Bug]", "Backend/Bug#1234", "unknown_type", TF_UNKNOWN_TYPE},
      {"Research #5678", "#5678", "type_missing", TF_TYPE_MISSING},
      {"Refactor #7702 [Atlas]", "#7702", "type_missing", TF_TYPE_MISSING},
      {"Team meeting", NULL, NULL, TF_UNMATCHED},
  };
  size_t i;

  (void)state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    tf_ref r = parse_s(cases[i].desc);
    char *key;

    assert_wf_ok(tf_ref_key(&r, &key));
    if (cases[i].key)
      assert_string_equal(key, cases[i].key);
    else
      assert_null(key);
    assert_int_equal(tf_ref_kind(&r), cases[i].kind);
    if (cases[i].reason)
      assert_string_equal(tf_ref_reason(&r), cases[i].reason);
    else
      assert_null(tf_ref_reason(&r));
    free(key);
    tf_ref_free(&r);
  }
}

static void test_edge_cases(void **state) {
  tf_ref r;

  (void)state;
  r = parse_s("");
  assert_false(r.matched);
  assert_string_equal(r.clean, "");
  tf_ref_free(&r);

  r = parse_s(" \t\n  \r ");
  assert_false(r.matched);
  assert_string_equal(r.clean, "");
  tf_ref_free(&r);

  /* several '#': the rightmost eligible one */
  r = parse_s("#1 #2 ## #3# #4 [S] [T]");
  assert_true(r.matched);
  assert_string_equal(r.id, "4");
  assert_string_equal(r.clean, "#1 #2 ## #3#");
  assert_string_equal(r.fibery_type, "S/T");
  assert_false(r.resolved);
  tf_ref_free(&r);

  /* '#' glued to non-ASCII bytes is an id; to '_'-suffixed digits it is not */
  r = parse_s("Задача#77 [Scrum] [Task]");
  assert_string_equal(r.id, "77");
  assert_string_equal(r.clean, "Задача");
  tf_ref_free(&r);
  r = parse_s("ticket #77_a");
  assert_false(r.matched);
  tf_ref_free(&r);

  /* exactly 12 digits is an id, 13 is not */
  r = parse_s("x #123456789012");
  assert_string_equal(r.id, "123456789012");
  tf_ref_free(&r);

  /* brackets without id; unclosed and stray brackets are plain text */
  r = parse_s("[Scrum] [Task] []");
  assert_false(r.matched);
  assert_string_equal(r.clean, "[Scrum] [Task] []");
  tf_ref_free(&r);
  r = parse_s("x [ #12 y");
  assert_string_equal(r.id, "12");
  assert_string_equal(r.clean, "x [");
  tf_ref_free(&r);
  r = parse_s("x [[#12] y");
  assert_false(r.matched);
  tf_ref_free(&r);
  r = parse_s("#9 ] [Scrum] ] [ [Task] [ [");
  assert_string_equal(r.fibery_type, "Scrum/Task");
  assert_true(r.resolved);
  assert_null(r.project);
  tf_ref_free(&r);

  /* one-tag alias in the middle; inner whitespace of a tag collapses */
  r = parse_s("x #5 [Misc] [To Do] [ Acme \t Internal ]");
  assert_string_equal(r.fibery_type, "To-dos/To-do");
  assert_string_equal(r.project, "Acme Internal");
  assert_int_equal(r.ntags, 3);
  tf_ref_free(&r);
}

static void test_null_and_bytes(void **state) {
  static const char bad_utf8[] = "\xff\xfe caf\xc3 #42 [Scrum] [Task] [\xc0\xaf]";
  static const char with_nul[] = "a\0b #7 [Scrum] [Bug]";
  tf_ref r;

  (void)state;
  assert_wf_ok(tf_parse(NULL, NULL, 99, &r));
  assert_false(r.matched);
  assert_string_equal(r.clean, "");
  tf_ref_free(&r);

  assert_wf_ok(tf_parse(NULL, bad_utf8, sizeof bad_utf8 - 1, &r));
  assert_string_equal(r.id, "42");
  assert_string_equal(r.clean, "\xff\xfe caf\xc3");
  assert_string_equal(r.project, "\xc0\xaf");
  tf_ref_free(&r);

  assert_wf_ok(tf_parse(NULL, with_nul, sizeof with_nul - 1, &r));
  assert_string_equal(r.id, "7");
  assert_string_equal(r.fibery_type, "Scrum/Bug");
  tf_ref_free(&r);

  tf_ref_free(NULL);
}

/* Big hostile inputs finish quickly: a rescan per '#' or per bracket would not. */
static void test_huge_inputs(void **state) {
  static const char *const units[] = {"#",    "#1",  "[", "]",
                                      "[#1]", "[a]", " ", "#123456789012x"};
  size_t n = 4u << 20, u;
  char *buf = malloc(n + 1);
  clock_t t0 = clock();

  (void)state;
  assert_non_null(buf);
  for (u = 0; u < sizeof units / sizeof units[0]; u++) {
    size_t l = strlen(units[u]), i;
    tf_ref r;

    for (i = 0; i < n; i++)
      buf[i] = units[u][i % l];
    assert_wf_ok(tf_parse(NULL, buf, n, &r));
    assert_non_null(r.clean);
    tf_ref_free(&r);
  }
  /* id followed by a million tags */
  memcpy(buf, "x #1 ", 5);
  for (u = 5; u + 3 <= n; u += 3)
    memcpy(buf + u, "[a]", 3);
  {
    tf_ref r;

    assert_wf_ok(tf_parse(NULL, buf, u, &r));
    assert_string_equal(r.id, "1");
    assert_int_equal(r.ntags, (u - 5) / 3);
    assert_string_equal(r.fibery_type, "a/a");
    tf_ref_free(&r);
  }
  assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 30.0);
  free(buf);
}

static void test_alias_config(void **state) {
  cJSON *cfg = cJSON_Parse(
      "{\"aliases\": [{\"tags\": [\"K\", \"Story\"], \"type\": \"Kanban/Story\"},"
      " {\"tags\": [\"Ops\"], \"type\": \"Ops/Ticket\"}],"
      " \"types\": {\"Scrum/Chore\": {}, \"default\": {}}}");
  tf_aliases *al;
  tf_ref r;

  (void)state;
  assert_wf_ok(tf_aliases_from_config(cfg, &al));
  assert_wf_ok(tf_parse(al, "a #1 [K] [Story] [P]", 20, &r));
  assert_string_equal(r.fibery_type, "Kanban/Story");
  assert_string_equal(r.project, "P");
  tf_ref_free(&r);
  assert_wf_ok(tf_parse(al, "a #2 [ops]", 10, &r));
  assert_string_equal(r.fibery_type, "Ops/Ticket");
  tf_ref_free(&r);
  assert_wf_ok(tf_parse(al, "a #3 [Scrum] [Chore]", 20, &r));
  assert_true(r.resolved);
  tf_ref_free(&r);
  /* an explicit alias list replaces the default pairs */
  assert_wf_ok(tf_parse(al, "a #4 [Scrum] [Release]", 22, &r));
  assert_false(r.resolved);
  assert_string_equal(r.fibery_type, "Scrum/Release");
  tf_ref_free(&r);
  tf_aliases_free(al);
  cJSON_Delete(cfg);

  cfg = cJSON_Parse("{\"aliases\": [{\"tags\": [], \"type\": \"A/B\"}]}");
  assert_wf_err(tf_aliases_from_config(cfg, &al), WF_EINVAL);
  assert_null(al);
  cJSON_Delete(cfg);
  cfg = cJSON_Parse("{\"aliases\": [{\"tags\": [\"A\"], \"type\": \"no-slash\"}]}");
  assert_wf_err(tf_aliases_from_config(cfg, &al), WF_EINVAL);
  cJSON_Delete(cfg);
  tf_aliases_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reference_cases), cmocka_unit_test(test_keys_and_kinds),
      cmocka_unit_test(test_edge_cases),      cmocka_unit_test(test_null_and_bytes),
      cmocka_unit_test(test_huge_inputs),     cmocka_unit_test(test_alias_config),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
