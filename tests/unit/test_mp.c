/* test_mp.c — the validating msgpack reader (store/mp.c): every type, truncation, hostile
 * lengths, trailing bytes, nesting depth, typed reads and the packing helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "assert_wf.h"
#include "wfmp.h"
#include "wfstore.h"

static msgpack_sbuffer sb;
static msgpack_packer pk;

static int setup(void **state) {
  (void)state;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  msgpack_sbuffer_destroy(&sb);
  return 0;
}

/* Payload bytes for strings, binaries and extensions. */
static const char blob[70000] = {1, 2, 3};

/* nil, both booleans, every width of integer and float, strings of 2, 40 and 300 bytes. */
static void pack_scalars(void) {
  msgpack_pack_nil(&pk);
  msgpack_pack_true(&pk);
  msgpack_pack_false(&pk);
  msgpack_pack_uint8(&pk, 7);
  msgpack_pack_uint8(&pk, 200);
  msgpack_pack_uint16(&pk, 60000);
  msgpack_pack_uint32(&pk, 4000000000u);
  msgpack_pack_uint64(&pk, UINT64_MAX);
  msgpack_pack_int8(&pk, -5);
  msgpack_pack_int8(&pk, -100);
  msgpack_pack_int16(&pk, -30000);
  msgpack_pack_int32(&pk, -2000000000);
  msgpack_pack_int64(&pk, INT64_MIN);
  msgpack_pack_float(&pk, 1.5f);
  msgpack_pack_double(&pk, -2.25);
  wfm_pack_str(&pk, "hi");
  msgpack_pack_str(&pk, 40);
  msgpack_pack_str_body(&pk, blob, 40);
  msgpack_pack_str(&pk, 300);
  msgpack_pack_str_body(&pk, blob, 300);
}

/* Binaries of 3 and `big` bytes, extensions of 1, 16 and 20 bytes (types 5, -3, 9). */
static void pack_blobs(size_t big) {
  msgpack_pack_bin(&pk, 3);
  msgpack_pack_bin_body(&pk, blob, 3);
  msgpack_pack_bin(&pk, big);
  msgpack_pack_bin_body(&pk, blob, big);
  msgpack_pack_ext(&pk, 1, 5);
  msgpack_pack_ext_body(&pk, blob, 1);
  msgpack_pack_ext(&pk, 16, -3);
  msgpack_pack_ext_body(&pk, blob, 16);
  msgpack_pack_ext(&pk, 20, 9);
  msgpack_pack_ext_body(&pk, blob, 20);
}

/* A value of every kind and width, in one array. */
static void pack_everything(void) {
  msgpack_pack_array(&pk, 28);
  pack_scalars();
  msgpack_pack_str(&pk, 70000);
  msgpack_pack_str_body(&pk, blob, 70000);
  pack_blobs(70000);
  msgpack_pack_array(&pk, 20);
  for (int i = 0; i < 20; i++) msgpack_pack_int(&pk, i);
  msgpack_pack_map(&pk, 1);
  wfm_pack_str(&pk, "k");
  msgpack_pack_nil(&pk);
  msgpack_pack_map(&pk, 16);
  for (int i = 0; i < 16; i++) {
    msgpack_pack_int(&pk, i);
    msgpack_pack_array(&pk, 0);
  }
  msgpack_pack_array(&pk, 70000);
  for (int i = 0; i < 70000; i++) msgpack_pack_nil(&pk);
}

static void expect(wfm_reader *r, wfm_type type, wfm_obj *o) {
  assert_wf_ok(wfm_next(r, o));
  assert_int_equal(o->type, type);
}

static void test_every_type(void **state) {
  (void)state;
  wfm_reader r;
  wfm_obj o;
  pack_everything();
  assert_wf_ok(wfm_validate(sb.data, sb.size));
  wfm_reader_init(&r, sb.data, sb.size);
  expect(&r, WFM_ARRAY, &o);
  assert_int_equal(o.v.n, 28);
  expect(&r, WFM_NIL, &o);
  expect(&r, WFM_BOOL, &o);
  assert_true(o.v.b);
  expect(&r, WFM_BOOL, &o);
  assert_false(o.v.b);
  uint64_t uints[] = {7, 200, 60000, 4000000000u, UINT64_MAX};
  for (int i = 0; i < 5; i++) {
    expect(&r, WFM_UINT, &o);
    assert_true(o.v.u == uints[i]);
  }
  int64_t ints[] = {-5, -100, -30000, -2000000000, INT64_MIN};
  for (int i = 0; i < 5; i++) {
    expect(&r, WFM_INT, &o);
    assert_true(o.v.i == ints[i]);
  }
  expect(&r, WFM_FLOAT, &o);
  assert_true(o.v.f == 1.5);
  expect(&r, WFM_FLOAT, &o);
  assert_true(o.v.f == -2.25);
  expect(&r, WFM_STR, &o);
  assert_int_equal(o.v.s.n, 2);
  assert_memory_equal(o.v.s.p, "hi", 2);
  uint32_t strs[] = {40, 300, 70000};
  for (int i = 0; i < 3; i++) {
    expect(&r, WFM_STR, &o);
    assert_int_equal(o.v.s.n, strs[i]);
  }
  expect(&r, WFM_BIN, &o);
  assert_int_equal(o.v.s.n, 3);
  assert_int_equal(o.v.s.p[2], 3);
  expect(&r, WFM_BIN, &o);
  assert_int_equal(o.v.s.n, 70000);
  expect(&r, WFM_EXT, &o);
  assert_int_equal(o.ext, 5);
  assert_int_equal(o.v.s.n, 1);
  expect(&r, WFM_EXT, &o);
  assert_int_equal(o.ext, -3);
  assert_int_equal(o.v.s.n, 16);
  expect(&r, WFM_EXT, &o);
  assert_int_equal(o.ext, 9);
  assert_int_equal(o.v.s.n, 20);
  expect(&r, WFM_ARRAY, &o);
  assert_int_equal(o.v.n, 20);
  for (int i = 0; i < 20; i++) assert_wf_ok(wfm_skip(&r));
  expect(&r, WFM_MAP, &o);
  assert_int_equal(o.v.n, 1);
  assert_wf_ok(wfm_skip(&r));
  assert_wf_ok(wfm_skip(&r));
  expect(&r, WFM_MAP, &o);
  assert_int_equal(o.v.n, 16);
  for (int i = 0; i < 32; i++) assert_wf_ok(wfm_skip(&r));
  expect(&r, WFM_ARRAY, &o);
  assert_int_equal(o.v.n, 70000);
  for (int i = 0; i < 70000; i++) expect(&r, WFM_NIL, &o);
  assert_ptr_equal(r.p, r.end);
  assert_wf_err(wfm_next(&r, &o), WF_ECORRUPT);
}

/* Signed encodings of non-negative numbers read as unsigned. */
static void test_signed_positive(void **state) {
  (void)state;
  static const uint8_t b[] = {0xd0, 0x05, 0xd3, 0, 0, 0, 0, 0, 0, 1, 0};
  wfm_reader r;
  wfm_obj o;
  wfm_reader_init(&r, b, sizeof b);
  expect(&r, WFM_UINT, &o);
  assert_int_equal(o.v.u, 5);
  expect(&r, WFM_UINT, &o);
  assert_int_equal(o.v.u, 256);
}

/* Every kind again, small enough to cut at every length: 32-bit length headers are
 * written by hand around short payloads (valid, if not minimal, msgpack). */
static void pack_small(void) {
  static const uint8_t wide[] = {
    0xdb, 0, 0, 0, 2, 'a', 'b',       /* str32 */
    0xc6, 0, 0, 0, 1, 'x',            /* bin32 */
    0xdd, 0, 0, 0, 1, 0xc0,           /* array32 */
    0xdf, 0, 0, 0, 1, 0xc0, 0xc0,     /* map32 */
    0xc9, 0, 0, 0, 1, 7, 'z',         /* ext32 */
    0xc8, 0, 1, 7, 'z',               /* ext16 */
    0xc7, 1, 7, 'z',                  /* ext8 */
  };
  msgpack_pack_array(&pk, 32);
  pack_scalars();
  pack_blobs(300);
  msgpack_pack_array(&pk, 3);
  for (int i = 0; i < 3; i++) msgpack_pack_int(&pk, i);
  msgpack_pack_map(&pk, 16);
  for (int i = 0; i < 16; i++) {
    msgpack_pack_int(&pk, i);
    msgpack_pack_array(&pk, 0);
  }
  msgpack_sbuffer_write(&sb, (const char *)wide, sizeof wide);
}

static void test_truncation(void **state) {
  (void)state;
  wfm_reader r;
  wfm_obj o;
  pack_small();
  assert_wf_ok(wfm_validate(sb.data, sb.size));
  /* Each prefix in a buffer of its own size, so a read past it is caught by ASan. */
  for (size_t n = 0; n < sb.size; n++) {
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, sb.data, n);
    assert_wf_err(wfm_validate(copy, n), WF_ECORRUPT);
    wfm_reader_init(&r, copy, n);
    assert_wf_err(wfm_skip(&r), WF_ECORRUPT);
    free(copy);
  }
  /* The hand-written wide headers read as what they are. */
  wfm_reader_init(&r, sb.data + sb.size - 42, 42);
  expect(&r, WFM_STR, &o);
  assert_int_equal(o.v.s.n, 2);
  expect(&r, WFM_BIN, &o);
  assert_int_equal(o.v.s.n, 1);
  expect(&r, WFM_ARRAY, &o);
  assert_int_equal(o.v.n, 1);
  expect(&r, WFM_NIL, &o);
  expect(&r, WFM_MAP, &o);
  assert_int_equal(o.v.n, 1);
  expect(&r, WFM_NIL, &o);
  expect(&r, WFM_NIL, &o);
  for (int i = 0; i < 3; i++) {
    expect(&r, WFM_EXT, &o);
    assert_int_equal(o.ext, 7);
    assert_int_equal(o.v.s.n, 1);
    assert_int_equal(o.v.s.p[0], 'z');
  }
  assert_ptr_equal(r.p, r.end);
}

static void test_hostile_lengths(void **state) {
  (void)state;
  static const uint8_t hostile[][6] = {
    {0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0}, /* array32 of 4G */
    {0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0}, /* map32 of 4G */
    {0xdb, 0xff, 0xff, 0xff, 0xff, 0x41}, /* str32 of 4G */
    {0xc6, 0xff, 0xff, 0xff, 0xff, 0x41}, /* bin32 of 4G */
    {0xc9, 0xff, 0xff, 0xff, 0xff, 0x01}, /* ext32 of 4G */
    {0xdc, 0x00, 0x05, 0xc0, 0xc0, 0xc0}, /* array16 of 5, 3 bytes left */
    {0x83, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0}, /* fixmap of 3 pairs, 5 bytes left */
    {0xc1, 0, 0, 0, 0, 0},                /* never used */
  };
  wfm_reader r;
  wfm_obj o;
  for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
    wfm_reader_init(&r, hostile[i], sizeof hostile[i]);
    assert_wf_err(wfm_next(&r, &o), WF_ECORRUPT);
    assert_wf_err(wfm_validate(hostile[i], sizeof hostile[i]), WF_ECORRUPT);
  }
}

static void test_trailing(void **state) {
  (void)state;
  static const uint8_t two[] = {0x01, 0x02};
  static const uint8_t one[] = {0x92, 0x01, 0x02};
  assert_wf_err(wfm_validate(two, sizeof two), WF_ECORRUPT);
  assert_wf_ok(wfm_validate(one, sizeof one));
  assert_wf_err(wfm_validate(one, 0), WF_ECORRUPT);
  assert_wf_err(wfm_validate(NULL, 0), WF_ECORRUPT);
}

static void test_depth(void **state) {
  (void)state;
  enum { BOMB = 10000 };
  uint8_t *b = malloc(BOMB + 1);
  memset(b, 0x91, BOMB);
  b[BOMB] = 0xc0;
  assert_wf_err(wfm_validate(b, BOMB + 1), WF_ECORRUPT);
  /* The limit itself: WFM_MAX_DEPTH nested arrays pass, one more does not. */
  uint8_t *ok = b + BOMB - WFM_MAX_DEPTH;
  assert_wf_ok(wfm_validate(ok, WFM_MAX_DEPTH + 1));
  assert_wf_err(wfm_validate(ok - 1, WFM_MAX_DEPTH + 2), WF_ECORRUPT);
  /* Maps count as nesting too. */
  memset(b, 0x81, BOMB);
  for (int i = 0; i < BOMB; i += 2) b[i + 1] = 0x81;
  assert_wf_err(wfm_validate(b, BOMB + 1), WF_ECORRUPT);
  free(b);
}

/* UTF-8: shortest forms only, no surrogates, nothing above U+10FFFF. */
static void test_utf8(void **state) {
  (void)state;
  static const struct { const char *s; size_t ok; } cases[] = {
      {"plain", 5},          {"caf\xc3\xa9", 5},     {"\xe2\x98\x95", 3},
      {"\xf0\x9d\x84\x9e", 4}, {"\xf4\x8f\xbf\xbf", 4}, /* U+10FFFF */
      {"ab\xff", 2},         {"\xc0\xaf", 0},        /* overlong '/' */
      {"\xe0\x80\xaf", 0},   {"\xf0\x80\x80\xaf", 0}, {"\xed\xa0\x80", 0}, /* a surrogate */
      {"\xf4\x90\x80\x80", 0}, {"x\xc3", 1},         {"\xe2\x98", 0},
      {"\x80", 0},           {"a\xc3(", 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    assert_int_equal(wfm_utf8_check(cases[i].s, strlen(cases[i].s)), cases[i].ok);
}

/* What a value must be to be recorded: one value, the depth, and (with WFM_CHECK_TEXT)
 * strings and keys fit for JSON. */
static void test_check_value(void **state) {
  (void)state;
  wfm_fault f;
  size_t at;
  uint8_t deep[WFM_MAX_DEPTH + 2];
  memset(deep, 0x91, sizeof deep - 1);
  deep[sizeof deep - 1] = 0xc0;
  /* WFM_MAX_VALUE_DEPTH levels pass, one more fails at the bracket too many */
  const uint8_t *v = deep + sizeof deep - 1 - WFM_MAX_VALUE_DEPTH;
  assert_wf_ok(wfm_check_value(v, WFM_MAX_VALUE_DEPTH + 1, WFM_MAX_VALUE_DEPTH, 0, &f, &at));
  assert_wf_err(wfm_check_value(v - 1, WFM_MAX_VALUE_DEPTH + 2, WFM_MAX_VALUE_DEPTH, 0, &f, &at),
                WF_EINVAL);
  assert_int_equal(f, WFM_FAULT_DEPTH);
  assert_int_equal(at, WFM_MAX_VALUE_DEPTH);
  /* never deeper than the decoders, whatever is asked */
  assert_wf_err(wfm_check_value(deep, sizeof deep, 1000, 0, &f, &at), WF_EINVAL);
  assert_int_equal(f, WFM_FAULT_DEPTH);
  /* {"k": "ab\xff"}: bad only with the text checks; the offset is the byte's */
  const uint8_t bad[] = {0x81, 0xa1, 'k', 0xa3, 'a', 'b', 0xff};
  assert_wf_ok(wfm_check_value(bad, sizeof bad, 8, 0, &f, &at));
  assert_wf_err(wfm_check_value(bad, sizeof bad, 8, WFM_CHECK_TEXT, &f, &at), WF_EINVAL);
  assert_int_equal(f, WFM_FAULT_UTF8);
  assert_int_equal(at, 6);
  /* a NUL in a key */
  const uint8_t nul[] = {0x81, 0xa2, 'k', 0, 0xc0};
  assert_wf_err(wfm_check_value(nul, sizeof nul, 8, WFM_CHECK_TEXT, &f, &at), WF_EINVAL);
  assert_int_equal(f, WFM_FAULT_NUL);
  assert_int_equal(at, 3);
  /* {[1]: 2} and {[{"k": [1]}]: 2} are shown with their keys as text; {{[1]: 2}: 3} has a
   * key inside a key (each such level would double the text's escapes) */
  const uint8_t akey[] = {0x81, 0x91, 0x01, 0x02};
  const uint8_t deepkey[] = {0x81, 0x91, 0x81, 0xa1, 'k', 0x91, 0x01, 0x02};
  const uint8_t keykey[] = {0x81, 0x81, 0x91, 0x01, 0x02, 0x03};
  assert_wf_ok(wfm_check_value(akey, sizeof akey, 8, WFM_CHECK_TEXT, &f, &at));
  assert_wf_ok(wfm_check_value(deepkey, sizeof deepkey, 8, WFM_CHECK_TEXT, &f, &at));
  assert_wf_err(wfm_check_value(keykey, sizeof keykey, 8, WFM_CHECK_TEXT, &f, &at), WF_EINVAL);
  assert_int_equal(f, WFM_FAULT_KEY);
  assert_int_equal(at, 2);
  assert_wf_ok(wfm_check_value(keykey, sizeof keykey, 8, 0, &f, &at));
  /* not one value: cut short, trailing bytes, nothing */
  assert_wf_err(wfm_check_value(bad, 5, 8, 0, &f, &at), WF_EINVAL);
  assert_int_equal(f, WFM_FAULT_MALFORMED);
  const uint8_t two[] = {0x01, 0x02};
  assert_wf_err(wfm_check_value(two, 2, 8, 0, &f, &at), WF_EINVAL);
  assert_int_equal(at, 1);
  assert_wf_err(wfm_check_value(two, 0, 8, 0, &f, &at), WF_EINVAL);
}

static void test_skip(void **state) {
  (void)state;
  wfm_reader r;
  wfm_obj o;
  msgpack_pack_array(&pk, 2);
  msgpack_pack_map(&pk, 1);
  wfm_pack_str(&pk, "a");
  msgpack_pack_array(&pk, 2);
  msgpack_pack_int(&pk, 1);
  msgpack_pack_int(&pk, -1);
  wfm_pack_str(&pk, "after");
  msgpack_pack_int(&pk, 42);
  wfm_reader_init(&r, sb.data, sb.size);
  assert_wf_ok(wfm_skip(&r));
  expect(&r, WFM_UINT, &o);
  assert_int_equal(o.v.u, 42);
  /* Skipping the inner map only lands on "after". */
  wfm_reader_init(&r, sb.data, sb.size);
  expect(&r, WFM_ARRAY, &o);
  assert_wf_ok(wfm_skip(&r));
  expect(&r, WFM_STR, &o);
  assert_memory_equal(o.v.s.p, "after", 5);
}

static void test_typed_reads(void **state) {
  (void)state;
  wfm_reader r;
  uint64_t u;
  int64_t i;
  int b;
  char *s;
  uint32_t n;
  static const uint8_t neg[] = {0xff};
  wfm_reader_init(&r, neg, 1);
  assert_wf_err(wfm_read_uint(&r, &u), WF_ECORRUPT);
  wfm_reader_init(&r, neg, 1);
  assert_wf_ok(wfm_read_int(&r, &i));
  assert_int_equal(i, -1);
  static const uint8_t big[] = {0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0};
  wfm_reader_init(&r, big, sizeof big);
  assert_wf_err(wfm_read_int(&r, &i), WF_ECORRUPT);
  wfm_reader_init(&r, big, sizeof big);
  assert_wf_ok(wfm_read_uint(&r, &u));
  assert_true(u == 1ull << 63);
  static const uint8_t t[] = {0xc3, 0x01};
  wfm_reader_init(&r, t, 2);
  assert_wf_ok(wfm_read_bool(&r, &b));
  assert_true(b);
  assert_wf_err(wfm_read_bool(&r, &b), WF_ECORRUPT);
  static const uint8_t strs[] = {0xc0, 0xa2, 'o', 'k', 0xa3, 'a', 0, 'b', 0xc4, 1, 'x'};
  wfm_reader_init(&r, strs, sizeof strs);
  assert_wf_ok(wfm_read_str_opt(&r, &s));
  assert_null(s);
  assert_wf_ok(wfm_read_str_opt(&r, &s));
  assert_string_equal(s, "ok");
  free(s);
  assert_wf_err(wfm_read_str_opt(&r, &s), WF_ECORRUPT); /* embedded NUL */
  assert_null(s);
  assert_wf_err(wfm_read_str_opt(&r, &s), WF_ECORRUPT); /* bin is not a string */
  static const uint8_t arr[] = {0x92, 0xc0, 0xc0, 0xa0};
  wfm_reader_init(&r, arr, sizeof arr);
  assert_wf_ok(wfm_read_array(&r, &n));
  assert_int_equal(n, 2);
  wfm_reader_init(&r, arr + 3, 1);
  assert_wf_err(wfm_read_array(&r, &n), WF_ECORRUPT);
}

static void test_read_raw(void **state) {
  (void)state;
  static const uint8_t b[] = {0x81, 0xa1, 'k', 0x92, 0x01, 0x02, 0xc0, 0x05, 0x92, 0x01};
  wfm_reader r;
  uint8_t *p;
  size_t n;
  wfm_reader_init(&r, b, sizeof b);
  assert_wf_ok(wfm_read_raw_opt(&r, &p, &n));
  assert_int_equal(n, 6);
  assert_memory_equal(p, b, 6);
  free(p);
  assert_wf_ok(wfm_read_raw_opt(&r, &p, &n));
  assert_null(p);
  assert_int_equal(n, 0);
  assert_wf_ok(wfm_read_raw_opt(&r, &p, &n));
  assert_int_equal(n, 1);
  assert_int_equal(p[0], 5);
  free(p);
  assert_wf_err(wfm_read_raw_opt(&r, &p, &n), WF_ECORRUPT); /* truncated array */
  assert_null(p);
}

static void test_pack_helpers(void **state) {
  (void)state;
  static const uint8_t raw[] = {0x92, 0x01, 0x02};
  static const uint8_t want[] = {0xc0, 0xa2, 'h', 'i', 0xa1, 'a', 0x92, 0x01, 0x02, 0xc0};
  wfm_pack_str(&pk, NULL);
  wfm_pack_str(&pk, "hi");
  wfm_pack_strn(&pk, "abc", 1);
  wfm_pack_raw(&pk, raw, sizeof raw);
  wfm_pack_raw(&pk, NULL, 0);
  assert_int_equal(sb.size, sizeof want);
  assert_memory_equal(sb.data, want, sizeof want);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_every_type, setup, teardown),
    cmocka_unit_test_setup_teardown(test_signed_positive, setup, teardown),
    cmocka_unit_test_setup_teardown(test_truncation, setup, teardown),
    cmocka_unit_test_setup_teardown(test_hostile_lengths, setup, teardown),
    cmocka_unit_test_setup_teardown(test_trailing, setup, teardown),
    cmocka_unit_test_setup_teardown(test_depth, setup, teardown),
    cmocka_unit_test_setup_teardown(test_utf8, setup, teardown),
    cmocka_unit_test_setup_teardown(test_check_value, setup, teardown),
    cmocka_unit_test_setup_teardown(test_skip, setup, teardown),
    cmocka_unit_test_setup_teardown(test_typed_reads, setup, teardown),
    cmocka_unit_test_setup_teardown(test_read_raw, setup, teardown),
    cmocka_unit_test_setup_teardown(test_pack_helpers, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
