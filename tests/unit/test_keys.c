/* test_keys.c — the fan-out key comparison (workflows/keys.c): exact whatever the number
 * of items, including when its filter and table are far too small for them (the keys are
 * then split into parts) and when different keys share a hash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert_wf.h"
#include "keys.h"
#include "wf/wf.h"

/* Items are strings; the key is the string. "BAD" is refused when checked. */
static uint64_t checked, computed;

static int str_key(void *ud, const cJSON *item, uint64_t index, int check, char **key) {
  (void)ud, (void)index;
  computed++;
  if (check) checked++;
  if (check && strcmp(item->valuestring, "BAD") == 0) return WF_EINVAL;
  *key = strdup(item->valuestring);
  return *key ? 0 : WF_ENOMEM;
}

/* A hash with 16 values: different keys share hashes all the time. */
static uint64_t weak_hash(const char *s, size_t n) {
  uint64_t h = 0;
  for (size_t i = 0; i < n; i++) h = h * 31 + (unsigned char)s[i];
  return (h & 15) * 0x9e3779b97f4a7c15ull;
}

static cJSON *items_of(uint64_t n, uint64_t distinct, uint64_t dup_at, uint64_t dup_of) {
  cJSON *a = cJSON_CreateArray();
  char buf[32];
  for (uint64_t i = 0; i < n; i++) {
    snprintf(buf, sizeof buf, "k%llu", (unsigned long long)(i == dup_at ? dup_of : i % distinct));
    cJSON_AddItemToArray(a, cJSON_CreateString(buf));
  }
  return a;
}

static int check(const cJSON *a, const wfw_keys_tuning *t, wfw_keys_dup *dup) {
  wfw_keys_src src = {a->child, str_key, NULL};
  checked = computed = 0;
  memset(dup, 0, sizeof *dup);
  return wfw_keys_unique(&src, t, dup);
}

static const wfw_keys_tuning tunings[] = {
    {0, 0, NULL},             /* the defaults */
    {1024, 4, NULL},          /* a tiny filter and table: parts */
    {0, 0, weak_hash},        /* 16 hash values: collisions */
};
#define NTUNINGS (sizeof tunings / sizeof tunings[0])

static void test_unique(void **state) {
  (void)state;
  wfw_keys_dup dup;
  for (size_t t = 0; t < NTUNINGS; t++) {
    cJSON *a = items_of(5000, 5000, UINT64_MAX, 0);
    assert_wf_ok(check(a, &tunings[t], &dup));
    assert_int_equal(checked, 5000); /* every item checked once */
    cJSON_Delete(a);
  }
  cJSON *a = cJSON_CreateArray();
  assert_wf_ok(check(a, NULL, &dup));
  cJSON_AddItemToArray(a, cJSON_CreateString("BAD"));
  assert_wf_err(check(a, NULL, &dup), WF_EINVAL);
  cJSON_Delete(a);
}

static void test_duplicates(void **state) {
  (void)state;
  wfw_keys_dup dup;
  for (size_t t = 0; t < NTUNINGS; t++) {
    /* One duplicate, far from its first. */
    cJSON *a = items_of(4000, 4000, 3999, 17);
    assert_int_equal(check(a, &tunings[t], &dup), WFW_KEYS_DUP);
    assert_int_equal(dup.first, 17);
    assert_int_equal(dup.second, 3999);
    assert_string_equal(dup.item->valuestring, "k17");
    cJSON_Delete(a);
    /* Many: the first repeated item is reported. */
    a = items_of(20000, 1000, UINT64_MAX, 0);
    assert_int_equal(check(a, &tunings[t], &dup), WFW_KEYS_DUP);
    assert_int_equal(dup.first, 0);
    assert_int_equal(dup.second, 1000);
    cJSON_Delete(a);
    /* Neighbours. */
    a = items_of(3, 3, 1, 0);
    assert_int_equal(check(a, &tunings[t], &dup), WFW_KEYS_DUP);
    assert_int_equal(dup.first, 0);
    assert_int_equal(dup.second, 1);
    cJSON_Delete(a);
  }
}

/* A bad key anywhere is reported, even after the first duplicate. */
static void test_bad_after_duplicate(void **state) {
  (void)state;
  wfw_keys_dup dup;
  for (size_t t = 0; t < NTUNINGS; t++) {
    cJSON *a = items_of(3000, 3000, 10, 0);
    cJSON_AddItemToArray(a, cJSON_CreateString("BAD"));
    assert_wf_err(check(a, &tunings[t], &dup), WF_EINVAL);
    cJSON_Delete(a);
  }
}

/* With the defaults, keys are computed at most about twice per item when a few hashes
 * repeat (false positives), once when none do. */
static void test_cost(void **state) {
  (void)state;
  wfw_keys_dup dup;
  cJSON *a = items_of(100000, 100000, UINT64_MAX, 0);
  assert_wf_ok(check(a, NULL, &dup));
  assert_true(computed <= 2 * 100000 + 1000);
  cJSON_Delete(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unique),
      cmocka_unit_test(test_duplicates),
      cmocka_unit_test(test_bad_after_duplicate),
      cmocka_unit_test(test_cost),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
