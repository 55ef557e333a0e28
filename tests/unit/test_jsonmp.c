/* test_jsonmp.c — JSON <-> msgpack conversion (activities/jsonmp.c): round trips,
 * numbers, unicode, depth, and refusal of malformed msgpack.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "assert_wf.h"
#include "wf/wf.h"
#include "wfact.h"
#include "wfmp.h"

typedef struct mpbuf {
  msgpack_sbuffer sb;
  msgpack_packer pk;
} mpbuf;

static void mp_init(mpbuf *b) {
  msgpack_sbuffer_init(&b->sb);
  msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
}

/* JSON text -> msgpack -> JSON text, compact. */
static char *round_trip(const char *json, uint8_t **mp, size_t *mplen) {
  cJSON *j = cJSON_Parse(json), *back = NULL;
  char *txt;

  assert_non_null(j);
  assert_wf_ok(wfa_json_to_mp_buf(j, mp, mplen));
  cJSON_Delete(j);
  assert_wf_ok(wfm_validate(*mp, *mplen));
  assert_wf_ok(wfa_mp_to_json(*mp, *mplen, &back));
  txt = cJSON_PrintUnformatted(back);
  cJSON_Delete(back);
  return txt;
}

static void assert_round_trip(const char *json) {
  uint8_t *mp;
  size_t n;
  char *txt = round_trip(json, &mp, &n);

  assert_string_equal(txt, json);
  cJSON_free(txt);
  free(mp);
}

static void test_nested_round_trip(void **state) {
  (void)state;
  assert_round_trip("{\"a\":[1,2.5,-3,true,false,null,\"x\"],\"b\":{\"c\":{\"d\":[]}},\"e\":{}}");
  assert_round_trip("[[[[{\"k\":[0,-1,1e+300]}]]]]");
  assert_round_trip("\"just a string\"");
  assert_round_trip("null");
  assert_round_trip("-0.5");
}

static void test_unicode(void **state) {
  uint8_t *mp;
  size_t n;
  char *txt;
  wfm_reader r;
  wfm_obj o;

  (void)state;
  /* escapes are decoded to UTF-8 in msgpack and printed back as UTF-8 */
  txt = round_trip("{\"k\\u00e9y\":\"h\\u00e9llo \\u2603 \\ud83d\\ude00\"}", &mp, &n);
  assert_string_equal(txt, "{\"k\xc3\xa9y\":\"h\xc3\xa9llo \xe2\x98\x83 \xf0\x9f\x98\x80\"}");
  cJSON_free(txt);
  wfm_reader_init(&r, mp, n);
  assert_wf_ok(wfm_next(&r, &o));
  assert_int_equal(o.type, WFM_MAP);
  assert_wf_ok(wfm_next(&r, &o));
  assert_int_equal(o.type, WFM_STR);
  assert_int_equal(o.v.s.n, 4);
  assert_memory_equal(o.v.s.p, "k\xc3\xa9y", 4);
  free(mp);
}

static void test_json_numbers(void **state) {
  static const struct {
    const char *json;
    uint8_t mp[9];
    size_t n;
  } cases[] = {
      {"1.0", {0x01}, 1},
      {"-1", {0xff}, 1},
      {"300", {0xcd, 0x01, 0x2c}, 3},
      {"-200", {0xd1, 0xff, 0x38}, 3},
      {"9007199254740992", {0xcf, 0, 0x20, 0, 0, 0, 0, 0, 0}, 9},
      {"9223372036854775808", {0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0}, 9},
      {"-9223372036854775808", {0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}, 9},
      {"2.5", {0xcb, 0x40, 0x04, 0, 0, 0, 0, 0, 0}, 9},
      {"1e20", {0xcb, 0x44, 0x15, 0xaf, 0x1d, 0x78, 0xb5, 0x8c, 0x40}, 9},
  };
  size_t i;

  (void)state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cJSON *j = cJSON_Parse(cases[i].json);
    uint8_t *mp;
    size_t n;
    assert_non_null(j);
    assert_wf_ok(wfa_json_to_mp_buf(j, &mp, &n));
    cJSON_Delete(j);
    assert_int_equal(n, cases[i].n);
    assert_memory_equal(mp, cases[i].mp, n);
    free(mp);
  }
}

/* One msgpack integer converted to JSON: a number or a decimal string. */
static cJSON *int_to_json(int neg, uint64_t u, int64_t i) {
  mpbuf b;
  cJSON *j = NULL;

  mp_init(&b);
  if (neg)
    msgpack_pack_int64(&b.pk, i);
  else
    msgpack_pack_uint64(&b.pk, u);
  assert_wf_ok(wfa_mp_to_json((uint8_t *)b.sb.data, b.sb.size, &j));
  msgpack_sbuffer_destroy(&b.sb);
  return j;
}

static void test_big_ints(void **state) {
  cJSON *j;

  (void)state;
  j = int_to_json(0, UINT64_MAX, 0);
  assert_true(cJSON_IsString(j));
  assert_string_equal(j->valuestring, "18446744073709551615");
  cJSON_Delete(j);
  j = int_to_json(0, (1ull << 53) + 1, 0);
  assert_true(cJSON_IsString(j));
  assert_string_equal(j->valuestring, "9007199254740993");
  cJSON_Delete(j);
  j = int_to_json(0, 1ull << 53, 0);
  assert_true(cJSON_IsNumber(j));
  assert_true(j->valuedouble == 9007199254740992.0);
  cJSON_Delete(j);
  j = int_to_json(1, 0, INT64_MIN);
  assert_true(cJSON_IsNumber(j));
  assert_true(j->valuedouble == -9223372036854775808.0);
  cJSON_Delete(j);
  j = int_to_json(1, 0, INT64_MIN + 1);
  assert_true(cJSON_IsString(j));
  assert_string_equal(j->valuestring, "-9223372036854775807");
  cJSON_Delete(j);
  j = int_to_json(1, 0, -5);
  assert_true(cJSON_IsNumber(j));
  assert_true(j->valuedouble == -5.0);
  cJSON_Delete(j);
}

static void test_bin_ext_and_keys(void **state) {
  static const char *const b64[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                    "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  mpbuf b;
  cJSON *j;
  char *txt;
  size_t i;

  (void)state;
  for (i = 0; i < 7; i++) {
    mp_init(&b);
    msgpack_pack_bin(&b.pk, i);
    msgpack_pack_bin_body(&b.pk, "foobar", i);
    assert_wf_ok(wfa_mp_to_json((uint8_t *)b.sb.data, b.sb.size, &j));
    assert_true(cJSON_IsString(j));
    assert_string_equal(j->valuestring, b64[i]);
    cJSON_Delete(j);
    msgpack_sbuffer_destroy(&b.sb);
  }
  /* {1: "a", [1, 2]: ext, "s": true} */
  mp_init(&b);
  msgpack_pack_map(&b.pk, 3);
  msgpack_pack_int(&b.pk, 1);
  msgpack_pack_str_with_body(&b.pk, "a", 1);
  msgpack_pack_array(&b.pk, 2);
  msgpack_pack_int(&b.pk, 1);
  msgpack_pack_int(&b.pk, 2);
  msgpack_pack_ext_with_body(&b.pk, "xyz", 3, 7);
  msgpack_pack_str_with_body(&b.pk, "s", 1);
  msgpack_pack_true(&b.pk);
  assert_wf_ok(wfa_mp_to_json((uint8_t *)b.sb.data, b.sb.size, &j));
  txt = cJSON_PrintUnformatted(j);
  assert_string_equal(txt, "{\"1\":\"a\",\"[1,2]\":null,\"s\":true}");
  cJSON_free(txt);
  cJSON_Delete(j);
  msgpack_sbuffer_destroy(&b.sb);
}

static void test_rejects_bad_msgpack(void **state) {
  static const uint8_t hostile[][6] = {
      {0xdd, 0xff, 0xff, 0xff, 0xff},  /* array of 4 G elements, none present */
      {0xdb, 0x7f, 0xff, 0xff, 0xff},  /* 2 GiB string */
      {0xc6, 0xff, 0xff, 0xff, 0xf0},  /* huge bin */
      {0xc1},                          /* never used */
      {0x92, 0x01},                    /* array of 2 holding 1 */
  };
  static const size_t hostile_n[] = {5, 5, 5, 1, 2};
  uint8_t *mp, *copy;
  size_t n, cut, i;
  cJSON *j = (cJSON *)&j;
  char *txt;

  (void)state;
  txt = round_trip("{\"a\":[1,\"two\",{\"b\":null,\"c\":[1.5,true]}],\"long\":\"xxxxxxxxxxxxxxxxxxxxxx"
                   "xxxxxxxxxxxxxxxxxxxxxxxx\"}",
                   &mp, &n);
  cJSON_free(txt);
  for (cut = 0; cut < n; cut++) {
    /* an exact-size copy, so ASan catches any read past the cut */
    copy = malloc(cut ? cut : 1);
    memcpy(copy, mp, cut);
    assert_wf_err(wfa_mp_to_json(copy, cut, &j), WF_ECORRUPT);
    assert_null(j);
    free(copy);
  }
  copy = malloc(n + 1);
  memcpy(copy, mp, n);
  copy[n] = 0xc0; /* trailing byte */
  assert_wf_err(wfa_mp_to_json(copy, n + 1, &j), WF_ECORRUPT);
  assert_null(j);
  free(copy);
  free(mp);
  for (i = 0; i < sizeof hostile_n / sizeof hostile_n[0]; i++) {
    copy = malloc(hostile_n[i]);
    memcpy(copy, hostile[i], hostile_n[i]);
    assert_wf_err(wfa_mp_to_json(copy, hostile_n[i], &j), WF_ECORRUPT);
    free(copy);
  }
}

/* JSON -> msgpack takes values at most WFM_MAX_VALUE_DEPTH deep (what wf accepts from a
 * step); msgpack -> JSON reads up to WFM_MAX_DEPTH (what records may hold, values with
 * wf's own levels around them). */
static void test_depth(void **state) {
  char json[2 * 70 + 2];
  uint8_t mp[70];
  cJSON *j;
  uint8_t *out;
  size_t n, d;

  (void)state;
  for (d = WFM_MAX_VALUE_DEPTH; d <= WFM_MAX_VALUE_DEPTH + 1; d++) {
    memset(json, '[', d);
    memset(json + d, ']', d);
    json[2 * d] = 0;
    assert_non_null(j = cJSON_Parse(json));
    assert_wf_err(wfa_json_to_mp_buf(j, &out, &n), d == WFM_MAX_VALUE_DEPTH ? 0 : WF_EINVAL);
    if (d == WFM_MAX_VALUE_DEPTH) {
      assert_int_equal(n, d);
      free(out);
    } else {
      assert_null(out);
    }
    cJSON_Delete(j);
  }
  for (d = WFM_MAX_DEPTH; d <= WFM_MAX_DEPTH + 1; d++) {
    memset(mp, 0x91, d); /* arrays of one element, innermost holds 0 */
    mp[d] = 0x00;
    assert_wf_err(wfa_mp_to_json(mp, d + 1, &j), d == WFM_MAX_DEPTH ? 0 : WF_ECORRUPT);
    cJSON_Delete(j);
  }
}

/* A map key that is an array or a map becomes its JSON text; one inside such a key is
 * refused (the text doubled its escapes at each level of that nesting). */
static void test_container_keys(void **state) {
  const uint8_t akey[] = {0x81, 0x91, 0x01, 0x02};                        /* {[1]: 2} */
  const uint8_t nested[] = {0x81, 0x81, 0x81, 0xa1, 'k', 0x01, 0x02, 0x03}; /* {{{"k":1}:2}:3} */
  cJSON *j;
  (void)state;
  assert_wf_ok(wfa_mp_to_json(akey, sizeof akey, &j));
  assert_non_null(cJSON_GetObjectItem(j, "[1]"));
  cJSON_Delete(j);
  assert_wf_err(wfa_mp_to_json(nested, sizeof nested, &j), WF_ECORRUPT);
}

static void test_map_get(void **state) {
  uint8_t *mp;
  const uint8_t *v;
  size_t n, vn;
  char *txt = round_trip("{\"run\":[\"a\"],\"with\":{\"x\":1},\"item\":null}", &mp, &n);

  (void)state;
  cJSON_free(txt);
  assert_wf_ok(wfa_mp_map_get(mp, n, "with", &v, &vn));
  assert_int_equal(vn, 4);
  assert_memory_equal(v, "\x81\xa1x\x01", 4);
  assert_wf_ok(wfa_mp_map_get(mp, n, "item", &v, &vn));
  assert_int_equal(vn, 1);
  assert_int_equal(v[0], 0xc0);
  assert_wf_err(wfa_mp_map_get(mp, n, "wit", &v, &vn), WF_ENOTFOUND);
  assert_null(v);
  assert_wf_err(wfa_mp_map_get((const uint8_t *)"\x93", 1, "x", &v, &vn), WF_ECORRUPT);
  assert_wf_err(wfa_mp_map_get(mp, n - 2, "zzz", &v, &vn), WF_ECORRUPT);
  free(mp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nested_round_trip), cmocka_unit_test(test_unicode),
      cmocka_unit_test(test_json_numbers),      cmocka_unit_test(test_big_ints),
      cmocka_unit_test(test_bin_ext_and_keys),  cmocka_unit_test(test_rejects_bad_msgpack),
      cmocka_unit_test(test_depth),
      cmocka_unit_test(test_container_keys),             cmocka_unit_test(test_map_get),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
