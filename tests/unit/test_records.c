/* test_records.c — record codecs (store/records.c) and the envelope (envelope.c): round
 * trips, and rejection of truncated, garbled, trailing and lying input; the store's small
 * helpers (util.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "assert_wf.h"
#include "wfs_internal.h"

static void assert_str_eq(const char *a, const char *b) {
  if (!a || !b)
    assert_ptr_equal(a, b);
  else
    assert_string_equal(a, b);
}

static void assert_raw_eq(const uint8_t *a, size_t na, const uint8_t *b, size_t nb) {
  assert_int_equal(na, nb);
  if (na) assert_memory_equal(a, b, na);
}

/* A msgpack map {"k": [1, "v"], "n": -7} in a malloc'd buffer. */
static uint8_t *sample_params(size_t *n) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 2);
  wfm_pack_str(&pk, "k");
  msgpack_pack_array(&pk, 2);
  msgpack_pack_int(&pk, 1);
  wfm_pack_str(&pk, "v");
  wfm_pack_str(&pk, "n");
  msgpack_pack_int(&pk, -7);
  *n = sb.size;
  return (uint8_t *)msgpack_sbuffer_release(&sb);
}

/* A msgpack string of n bytes, compressible. */
static uint8_t *big_value(size_t n, size_t *len) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  char *text = malloc(n);
  for (size_t i = 0; i < n; i++) text[i] = "abcdefgh"[i % 8];
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  wfm_pack_strn(&pk, text, n);
  free(text);
  *len = sb.size;
  return (uint8_t *)msgpack_sbuffer_release(&sb);
}

static void full_run(wfs_run *r) {
  memset(r, 0, sizeof *r);
  r->id = wfs_strdup("run_20240101-000000-abcd");
  r->workflow = wfs_strdup("demo");
  r->def_path = wfs_strdup("");
  r->def_text = wfs_strdup("{\"stages\": []}");
  r->def_hash = wfs_strdup("0123abcd");
  r->params = sample_params(&r->params_len);
  r->status = WFS_RUN_DEGRADED;
  r->created_at = 1700000000123;
  r->updated_at = 1700000000456;
  r->started_at = 1700000000200;
  r->finished_at = -1;
  r->heartbeat = INT64_MAX;
  r->owner.pid = 4242;
  r->owner.start_time = UINT64_MAX;
  strcpy(r->owner.host, "host.example");
  strcpy(r->owner.boot_id, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
  r->generation = UINT32_MAX;
  for (int i = 0; i < WFS_STEP_NSTATUS; i++) r->counts[i] = (uint64_t)i * 1000003;
  r->event_seq = 77;
  r->error = wfs_strdup("stage fetch failed");
  r->forked_from = wfs_strdup("run_old");
  r->window = 16;
  r->continue_on_error = 1;
  r->cancel_requested = 1;
  r->epoch = 0x0102030405060708ull;
  r->only = wfs_strdup("a,b");
  r->skip = wfs_strdup("c");
  r->start_from = wfs_strdup("b");
  r->to = wfs_strdup("d");
  r->run_dir = wfs_strdup("/srv/out"); /* packed in 9 bytes */
}

static void assert_run_eq(const wfs_run *a, const wfs_run *b) {
  assert_str_eq(a->id, b->id);
  assert_str_eq(a->workflow, b->workflow);
  assert_str_eq(a->def_path, b->def_path);
  assert_str_eq(a->def_text, b->def_text);
  assert_str_eq(a->def_hash, b->def_hash);
  assert_raw_eq(a->params, a->params_len, b->params, b->params_len);
  assert_int_equal(a->status, b->status);
  assert_true(a->created_at == b->created_at && a->updated_at == b->updated_at);
  assert_true(a->started_at == b->started_at && a->finished_at == b->finished_at);
  assert_true(a->heartbeat == b->heartbeat);
  assert_int_equal(a->owner.pid, b->owner.pid);
  assert_true(a->owner.start_time == b->owner.start_time);
  assert_string_equal(a->owner.host, b->owner.host);
  assert_string_equal(a->owner.boot_id, b->owner.boot_id);
  assert_int_equal(a->generation, b->generation);
  assert_memory_equal(a->counts, b->counts, sizeof a->counts);
  assert_true(a->event_seq == b->event_seq);
  assert_str_eq(a->error, b->error);
  assert_str_eq(a->forked_from, b->forked_from);
  assert_int_equal(a->window, b->window);
  assert_int_equal(a->continue_on_error, b->continue_on_error);
  assert_int_equal(a->cancel_requested, b->cancel_requested);
  assert_true(a->epoch == b->epoch);
  assert_str_eq(a->run_dir, b->run_dir);
  assert_str_eq(a->only, b->only);
  assert_str_eq(a->skip, b->skip);
  assert_str_eq(a->start_from, b->start_from);
  assert_str_eq(a->to, b->to);
}

static void full_step(wfs_step *s, size_t outlen) {
  memset(s, 0, sizeof *s);
  s->stage = "fetch";
  s->key = "fetch/2024-01-01 ü";
  s->status = WFS_STEP_SUCCEEDED;
  s->attempt = 3;
  s->tries = 2;
  s->input_hash = 0xfedcba9876543210ull;
  uint8_t *in = sample_params(&s->input_len);
  s->input = in;
  s->mem = (char *)in; /* owned as a decoded record's: wfs_step_clear frees it */
  s->output = big_value(outlen, &s->output_len);
  s->error = "retried";
  s->stderr_tail = "warning: x\n";
  s->exit_code = -1;
  s->started_at = 1700000000000;
  s->finished_at = 1700000000999;
  s->generation = 2;
  s->cached_run = "run_2024-01-01";
  s->cached_step = "fetch/2024-01-01 ü";
}

static void assert_step_eq(const wfs_step *a, const wfs_step *b) {
  assert_str_eq(a->stage, b->stage);
  assert_str_eq(a->key, b->key);
  assert_int_equal(a->status, b->status);
  assert_int_equal(a->attempt, b->attempt);
  assert_int_equal(a->tries, b->tries);
  assert_true(a->input_hash == b->input_hash);
  assert_raw_eq(a->input, a->input_len, b->input, b->input_len);
  assert_raw_eq(a->output, a->output_len, b->output, b->output_len);
  assert_str_eq(a->error, b->error);
  assert_str_eq(a->stderr_tail, b->stderr_tail);
  assert_int_equal(a->exit_code, b->exit_code);
  assert_true(a->started_at == b->started_at && a->finished_at == b->finished_at);
  assert_int_equal(a->generation, b->generation);
  assert_str_eq(a->cached_run, b->cached_run);
  assert_str_eq(a->cached_step, b->cached_step);
}

/* Every strict prefix of an encoding is refused, each in a buffer of its own size. */
static void assert_prefixes_refused(const uint8_t *buf, size_t len,
                                    int (*decode)(const uint8_t *, size_t, void *), void *out) {
  for (size_t n = 0; n < len; n++) {
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, buf, n);
    assert_wf_err(decode(copy, n, out), WF_ECORRUPT);
    free(copy);
  }
}

static int run_dec(const uint8_t *b, size_t n, void *o) { return wfs_run_decode(b, n, o); }
static int head_dec(const uint8_t *b, size_t n, void *o) { return wfs_run_head_decode(b, n, o); }
static int step_dec(const uint8_t *b, size_t n, void *o) { return wfs_step_decode(b, n, o); }
static int event_dec(const uint8_t *b, size_t n, void *o) { return wfs_event_decode(b, n, o); }

static void test_run_round_trip(void **state) {
  (void)state;
  wfs_run r, back, empty;
  uint8_t *buf;
  size_t len;
  full_run(&r);
  assert_wf_ok(wfs_run_encode(&r, &buf, &len));
  assert_wf_ok(wfs_run_decode(buf, len, &back));
  assert_run_eq(&r, &back);
  wfs_run_clear(&back);
  assert_prefixes_refused(buf, len, run_dec, &back);
  /* The head an owner's commit reads, without decoding the rest. */
  wfs_run_head h;
  assert_wf_ok(wfs_run_head_decode(buf, len, &h));
  assert_int_equal(h.status, r.status);
  assert_int_equal(h.cancel_requested, r.cancel_requested);
  assert_true(h.created_at == r.created_at && h.event_seq == r.event_seq && h.epoch == r.epoch);
  assert_prefixes_refused(buf, len, head_dec, &h);
  /* A version 2 record (no run folder, 30 elements) is still read, with the default
   * folder (NULL); a version 1 record (no epoch either, 29 elements) with epoch 0. */
  uint8_t *mp, *v1;
  size_t mplen, v1len;
  assert_wf_ok(wfs_envelope_unwrap(buf, len, &mp, &mplen));
  assert_true(mp[0] == 0xdc && mp[2] == 31 && mp[3] == 3 && mp[mplen - 18] == 0xcf);
  mp[2] = 30;
  mp[3] = 2;
  assert_wf_ok(wfs_envelope_wrap(mp, mplen - 9, &v1, &v1len));
  assert_wf_ok(wfs_run_decode(v1, v1len, &back));
  assert_true(back.epoch == r.epoch && back.event_seq == r.event_seq && !back.run_dir);
  wfs_run_clear(&back);
  assert_wf_ok(wfs_run_head_decode(v1, v1len, &h));
  assert_true(h.epoch == r.epoch && h.event_seq == r.event_seq);
  free(v1);
  mp[2] = 29;
  mp[3] = 1;
  assert_wf_ok(wfs_envelope_wrap(mp, mplen - 18, &v1, &v1len));
  assert_wf_ok(wfs_run_decode(v1, v1len, &back));
  assert_true(back.epoch == 0 && back.event_seq == r.event_seq && !back.run_dir);
  wfs_run_clear(&back);
  assert_wf_ok(wfs_run_head_decode(v1, v1len, &h));
  assert_true(h.epoch == 0 && h.event_seq == r.event_seq);
  free(v1);
  free(mp);
  free(buf);
  wfs_run_clear(&r);
  assert_null(r.id);

  /* Every optional field empty. */
  memset(&empty, 0, sizeof empty);
  empty.id = wfs_strdup("r1");
  assert_wf_ok(wfs_run_encode(&empty, &buf, &len));
  assert_wf_ok(wfs_run_decode(buf, len, &back));
  assert_run_eq(&empty, &back);
  assert_null(back.params);
  assert_null(back.workflow);
  wfs_run_clear(&back);
  wfs_run_clear(&empty);
  free(buf);
  wfs_run_clear(NULL);
}

/* A run record of schema 2 counts six step statuses (no upstream_failed): still read, the
 * seventh count 0. */
static void test_run_counts_v2(void **state) {
  (void)state;
  wfs_run r, back;
  uint8_t *buf, *mp, *old;
  size_t len, mplen, oldlen;
  full_run(&r);
  for (int i = 0; i < WFS_STEP_NSTATUS; i++) r.counts[i] = (uint64_t)i + 1;
  r.counts[WFS_STEP_UPSTREAM_FAILED] = 0;
  assert_wf_ok(wfs_run_encode(&r, &buf, &len));
  assert_wf_ok(wfs_envelope_unwrap(buf, len, &mp, &mplen));
  static const uint8_t seven[] = {0x97, 1, 2, 3, 4, 5, 6, 0};
  uint8_t *at = NULL;
  for (size_t i = 0; !at && i + sizeof seven <= mplen; i++)
    if (memcmp(mp + i, seven, sizeof seven) == 0) at = mp + i;
  assert_non_null(at);
  at[0] = 0x96;
  memmove(at + 7, at + 8, mplen - (size_t)(at + 8 - mp));
  assert_wf_ok(wfs_envelope_wrap(mp, mplen - 1, &old, &oldlen));
  assert_wf_ok(wfs_run_decode(old, oldlen, &back));
  assert_run_eq(&r, &back);
  wfs_run_clear(&back);
  /* Five counts, or eight, are neither version's. */
  at[0] = 0x95;
  free(old);
  assert_wf_ok(wfs_envelope_wrap(mp, mplen - 1, &old, &oldlen));
  assert_wf_err(wfs_run_decode(old, oldlen, &back), WF_ECORRUPT);
  free(old);
  free(mp);
  free(buf);
  wfs_run_clear(&r);
}

static void test_step_round_trip(void **state) {
  (void)state;
  wfs_step s, back;
  uint8_t *buf;
  size_t len;
  int status;
  uint64_t hash;
  uint32_t gen;

  full_step(&s, 5000);
  assert_wf_ok(wfs_step_encode(&s, &buf, &len));
  assert_int_equal(buf[0], 1);        /* compressed */
  assert_true(len < s.output_len);    /* and smaller */
  assert_wf_ok(wfs_step_decode(buf, len, &back));
  assert_step_eq(&s, &back);
  wfs_step_clear(&back);
  assert_wf_ok(wfs__step_peek_decode(buf, len, &status, &hash, &gen));
  assert_int_equal(status, WFS_STEP_SUCCEEDED);
  assert_true(hash == s.input_hash);
  assert_int_equal(gen, 2);
  assert_prefixes_refused(buf, len, step_dec, &back);
  for (size_t i = 0; i < len; i++) {
    buf[i] ^= 0x21;
    int rc = wfs_step_decode(buf, len, &back);
    assert_true(rc == 0 || rc == WF_ECORRUPT);
    wfs_step_clear(&back);
    buf[i] ^= 0x21;
  }
  free(buf);
  wfs_step_clear(&s);

  /* A version 2 record (no cached source, 15 elements) is still read, as not cached. */
  full_step(&s, 10);
  s.cached_run = s.cached_step = NULL;
  assert_wf_ok(wfs_step_encode(&s, &buf, &len));
  assert_true(buf[0] == 0 && buf[1] == 0xdc && buf[3] == 17 && buf[4] == 3);
  assert_true(buf[len - 2] == 0xc0 && buf[len - 1] == 0xc0);
  buf[3] = 15;
  buf[4] = 2;
  assert_wf_ok(wfs_step_decode(buf, len - 2, &back));
  assert_step_eq(&s, &back);
  assert_null(back.cached_run);
  wfs_step_clear(&back);
  assert_wf_ok(wfs__step_peek_decode(buf, len - 2, &status, &hash, &gen));
  assert_int_equal(gen, 2);
  /* Version 3 with only one of the two source fields is refused. */
  buf[3] = 17;
  buf[4] = 3;
  buf[len - 2] = 0xa1;
  buf[len - 1] = 'r';
  assert_wf_err(wfs_step_decode(buf, len, &back), WF_ECORRUPT);
  free(buf);
  wfs_step_clear(&s);

  full_step(&s, 10);
  s.input = NULL;
  s.input_len = 0;
  s.error = NULL;
  s.status = WFS_STEP_FAILED;
  assert_wf_ok(wfs_step_encode(&s, &buf, &len));
  assert_int_equal(buf[0], 0);        /* small: raw */
  assert_wf_ok(wfs_step_decode(buf, len, &back));
  assert_step_eq(&s, &back);
  wfs_step_clear(&back);
  assert_wf_ok(wfs__step_peek_decode(buf, len, &status, &hash, &gen));
  assert_int_equal(status, WFS_STEP_FAILED);
  assert_prefixes_refused(buf, len, step_dec, &back);
  for (size_t n = 0; n < len; n++)
    assert_wf_err(wfs__step_peek_decode(buf, n, &status, &hash, &gen), WF_ECORRUPT);
  free(buf);
  wfs_step_clear(&s);
}

static void test_event_round_trip(void **state) {
  (void)state;
  wfs_event e = {0}, back;
  uint8_t *buf;
  size_t len;
  e.run_id = "r1";
  e.seq = 1ull << 40;
  e.type = WFS_EV_STEP_RETRY;
  e.time = 1700000000000;
  e.step_key = "k";
  e.attempt = 2;
  e.detail = "exit 3";
  for (int pass = 0; pass < 2; pass++) {
    assert_wf_ok(wfs_event_encode(&e, &buf, &len));
    assert_wf_ok(wfs_event_decode(buf, len, &back));
    assert_string_equal(back.run_id, e.run_id);
    assert_true(back.seq == e.seq && back.time == e.time);
    assert_int_equal(back.type, e.type);
    assert_int_equal(back.attempt, e.attempt);
    assert_str_eq(back.step_key, e.step_key);
    assert_str_eq(back.detail, e.detail);
    wfs_event_clear(&back);
    assert_prefixes_refused(buf, len, event_dec, &back);
    free(buf);
    e.step_key = e.detail = NULL;
  }
  wfs_event_clear(&e);
  assert_string_equal(wfs_event_type_name(WFS_EV_STEP_RETRY), "step_retry");
}

/* Wraps hand-made msgpack as a record would be. */
static void wrap(msgpack_sbuffer *sb, uint8_t **buf, size_t *len) {
  assert_wf_ok(wfs_envelope_wrap((const uint8_t *)sb->data, sb->size, buf, len));
}

/* The record's msgpack with one nil more after it, re-enveloped. */
static void append_nil(uint8_t **buf, size_t *len) {
  uint8_t *mp, *longer;
  size_t n;
  assert_wf_ok(wfs_envelope_unwrap(*buf, *len, &mp, &n));
  longer = malloc(n + 1);
  memcpy(longer, mp, n);
  longer[n] = 0xc0;
  free(*buf);
  assert_wf_ok(wfs_envelope_wrap(longer, n + 1, buf, len));
  free(longer);
  free(mp);
}

static void test_trailing_value(void **state) {
  (void)state;
  wfs_run r, rb;
  wfs_step s, sb;
  uint8_t *buf;
  size_t len;
  full_run(&r);
  assert_wf_ok(wfs_run_encode(&r, &buf, &len));
  append_nil(&buf, &len);
  assert_wf_err(wfs_run_decode(buf, len, &rb), WF_ECORRUPT);
  assert_null(rb.id);
  free(buf);
  for (size_t out = 10; out <= 5000; out += 4990) {
    full_step(&s, out);
    assert_wf_ok(wfs_step_encode(&s, &buf, &len));
    append_nil(&buf, &len);
    assert_int_equal(buf[0], out > 1000);
    assert_wf_err(wfs_step_decode(buf, len, &sb), WF_ECORRUPT);
    assert_null(sb.key);
    free(buf);
    wfs_step_clear(&s);
  }
  wfs_run_clear(&r);
}

static void test_bad_shapes(void **state) {
  (void)state;
  wfs_event e = {0}, back;
  uint8_t *buf, *mp;
  size_t len, mplen;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  e.run_id = "r1";
  assert_wf_ok(wfs_event_encode(&e, &buf, &len));
  assert_wf_ok(wfs_envelope_unwrap(buf, len, &mp, &mplen));
  free(buf);
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);

  /* Trailing bytes after the record, inside the envelope and after it. */
  msgpack_sbuffer_write(&sb, (const char *)mp, mplen);
  msgpack_pack_nil(&pk);
  wrap(&sb, &buf, &len);
  assert_wf_err(wfs_event_decode(buf, len, &back), WF_ECORRUPT);
  free(buf);
  assert_wf_ok(wfs_envelope_wrap(mp, mplen, &buf, &len));
  uint8_t *longer = malloc(len + 1);
  memcpy(longer, buf, len);
  longer[len] = 0xc0;
  assert_wf_err(wfs_event_decode(longer, len + 1, &back), WF_ECORRUPT);
  assert_wf_ok(wfs_event_decode(buf, len, &back));
  wfs_event_clear(&back);
  free(longer);
  free(buf);

  /* A newer record version, a wrong element count, a wrong type. */
  uint8_t *v2 = malloc(mplen);
  memcpy(v2, mp, mplen);
  v2[1] = 4;
  assert_int_equal(v2[0], 0x98);
  assert_wf_ok(wfs_envelope_wrap(v2, mplen, &buf, &len));
  assert_wf_err(wfs_event_decode(buf, len, &back), WF_ECORRUPT);
  free(buf);
  v2[1] = 1;
  v2[0] = 0x97;
  assert_wf_ok(wfs_envelope_wrap(v2, mplen - 1, &buf, &len));
  assert_wf_err(wfs_event_decode(buf, len, &back), WF_ECORRUPT);
  free(buf);
  v2[0] = 0x98;
  v2[2] = 0x01; /* run id as a number */
  assert_wf_ok(wfs_envelope_wrap(v2, mplen, &buf, &len));
  assert_wf_err(wfs_event_decode(buf, len, &back), WF_ECORRUPT);
  assert_null(back.run_id);
  free(buf);
  free(v2);

  /* Another record's bytes. */
  assert_wf_ok(wfs_envelope_wrap(mp, mplen, &buf, &len));
  wfs_run r;
  wfs_step s;
  assert_wf_err(wfs_run_decode(buf, len, &r), WF_ECORRUPT);
  assert_wf_err(wfs_step_decode(buf, len, &s), WF_ECORRUPT);
  free(buf);

  /* Every single-byte garbling decodes or is refused, never crashes or leaks. */
  wfs_run full;
  full_run(&full);
  assert_wf_ok(wfs_run_encode(&full, &buf, &len));
  for (size_t i = 0; i < len; i++) {
    uint8_t keep = buf[i];
    for (int x = 1; x < 256; x <<= 1) {
      buf[i] = keep ^ (uint8_t)x;
      int rc = wfs_run_decode(buf, len, &r);
      assert_true(rc == 0 || rc == WF_ECORRUPT);
      wfs_run_clear(&r);
    }
    buf[i] = keep;
  }
  free(buf);
  wfs_run_clear(&full);
  msgpack_sbuffer_destroy(&sb);
  free(mp);
  wfs_event_clear(&e);
}

static void test_envelope(void **state) {
  (void)state;
  uint8_t *buf, *out;
  size_t len, outlen, mplen;
  uint8_t *mp = big_value(4000, &mplen);

  assert_wf_ok(wfs_envelope_wrap(mp, mplen, &buf, &len));
  assert_int_equal(buf[0], 1);
  assert_wf_ok(wfs_envelope_unwrap(buf, len, &out, &outlen));
  assert_raw_eq(out, outlen, mp, mplen);
  free(out);

  /* The recorded length lies: one more, one less, absurdly large. */
  uint8_t saved[4];
  memcpy(saved, buf + 1, 4);
  uint32_t lies[] = {(uint32_t)mplen + 1, (uint32_t)mplen - 1, 0xffffffffu, 0, 200u << 20};
  for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
    buf[1] = (uint8_t)(lies[i] >> 24);
    buf[2] = (uint8_t)(lies[i] >> 16);
    buf[3] = (uint8_t)(lies[i] >> 8);
    buf[4] = (uint8_t)lies[i];
    assert_wf_err(wfs_envelope_unwrap(buf, len, &out, &outlen), WF_ECORRUPT);
    assert_null(out);
  }
  memcpy(buf + 1, saved, 4);

  /* Garbled zlib data and a truncated stream. */
  buf[len / 2] ^= 0x55;
  assert_wf_err(wfs_envelope_unwrap(buf, len, &out, &outlen), WF_ECORRUPT);
  buf[len / 2] ^= 0x55;
  assert_wf_err(wfs_envelope_unwrap(buf, len - 1, &out, &outlen), WF_ECORRUPT);
  assert_wf_err(wfs_envelope_unwrap(buf, 5, &out, &outlen), WF_ECORRUPT);
  free(buf);

  /* Incompressible data above the threshold stays raw. */
  uint8_t *noise = malloc(3000);
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 3000; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    noise[i] = (uint8_t)x;
  }
  assert_wf_ok(wfs_envelope_wrap(noise, 3000, &buf, &len));
  assert_int_equal(buf[0], 0);
  assert_int_equal(len, 3001);
  free(buf);
  free(noise);

  /* Unknown tag, empty input. */
  static const uint8_t tag9[] = {9, 0xc0};
  assert_wf_err(wfs_envelope_unwrap(tag9, sizeof tag9, &out, &outlen), WF_ECORRUPT);
  assert_wf_err(wfs_envelope_unwrap(tag9, 0, &out, &outlen), WF_ECORRUPT);
  assert_wf_err(wfs_envelope_unwrap(NULL, 0, &out, &outlen), WF_ECORRUPT);
  free(mp);
}

static void test_helpers(void **state) {
  (void)state;
  assert_true(wfs_hash("", 0) == 0xcbf29ce484222325ull);
  assert_true(wfs_hash("a", 1) == 0xaf63dc4c8601ec8cull);
  assert_true(wfs_hash("foobar", 6) == 0x85944171f73967e8ull);
  assert_null(wfs_strdup(NULL));
  assert_string_equal(wfs_run_status_name(WFS_RUN_INTERRUPTED), "interrupted");
  assert_string_equal(wfs_run_status_name(99), "?");
  assert_int_equal(wfs_run_status_parse("failed"), WFS_RUN_FAILED);
  assert_int_equal(wfs_run_status_parse("nope"), -1);
  assert_string_equal(wfs_step_status_name(WFS_STEP_SKIPPED), "skipped");
  assert_true(wfs_now_ms() > 1600000000000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_run_round_trip),   cmocka_unit_test(test_run_counts_v2),
    cmocka_unit_test(test_step_round_trip),
    cmocka_unit_test(test_event_round_trip), cmocka_unit_test(test_bad_shapes),
    cmocka_unit_test(test_envelope),         cmocka_unit_test(test_helpers),
    cmocka_unit_test(test_trailing_value),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
