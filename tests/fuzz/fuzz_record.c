/* fuzz_record.c — stored records from hostile bytes: the envelope, the msgpack reader and
 * the run, step and event decoders. Whatever decodes must encode again, and decoding that
 * encoding must give the same record and the same bytes (decode -> encode -> decode).
 *
 * Input: an envelope (tag 0 raw msgpack, tag 1 zlib). A first byte of 2 instead means
 * "the rest is msgpack: wrap it with wfs_envelope_wrap first", so the decoders also see
 * well-formed compressed envelopes of mutated records.
 */
#include "fuzz_util.h"
#include "wfs_internal.h"

static int str_eq(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int bytes_eq(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* wfm_validate accepts exactly one value; the reader must agree and walk it all. */
static void check_mp(const uint8_t *mp, size_t n) {
  wfm_reader r;
  wfm_obj o;
  int valid = wfm_validate(mp, n) == 0;
  wfm_reader_init(&r, mp, n);
  if (valid) {
    FZ_CHECK(wfm_skip(&r) == 0);
    FZ_CHECK(r.p == r.end);
  }
  /* Headers one by one: every read stays inside the buffer and makes progress. */
  wfm_reader_init(&r, mp, n);
  while (r.p < r.end) {
    const uint8_t *before = r.p;
    if (wfm_next(&r, &o) != 0) break;
    FZ_CHECK(r.p > before && r.p <= r.end);
    if (o.type == WFM_STR || o.type == WFM_BIN || o.type == WFM_EXT)
      FZ_CHECK(o.v.s.p >= (const char *)mp && o.v.s.p + o.v.s.n <= (const char *)r.end);
  }
}

static void check_envelope(const uint8_t *buf, size_t len) {
  uint8_t *mp, *env, *back;
  size_t n, envlen, backlen;
  if (wfs_envelope_unwrap(buf, len, &mp, &n) != 0) return;
  check_mp(mp, n);
  if (n > 0 && wfs_envelope_wrap(mp, n, &env, &envlen) == 0) {
    FZ_CHECK(wfs_envelope_unwrap(env, envlen, &back, &backlen) == 0);
    FZ_CHECK(bytes_eq(mp, n, back, backlen));
    free(back);
    free(env);
  }
  free(mp);
}

static void run_same(const wfs_run *a, const wfs_run *b) {
  FZ_CHECK(str_eq(a->id, b->id) && str_eq(a->workflow, b->workflow) &&
           str_eq(a->def_path, b->def_path) && str_eq(a->def_text, b->def_text) &&
           str_eq(a->def_hash, b->def_hash));
  FZ_CHECK(bytes_eq(a->params, a->params_len, b->params, b->params_len));
  FZ_CHECK(a->status == b->status && a->created_at == b->created_at &&
           a->updated_at == b->updated_at && a->started_at == b->started_at &&
           a->finished_at == b->finished_at && a->heartbeat == b->heartbeat);
  FZ_CHECK(a->owner.pid == b->owner.pid && a->owner.start_time == b->owner.start_time &&
           strcmp(a->owner.host, b->owner.host) == 0 &&
           strcmp(a->owner.boot_id, b->owner.boot_id) == 0);
  FZ_CHECK(a->generation == b->generation && a->event_seq == b->event_seq);
  FZ_CHECK(memcmp(a->counts, b->counts, sizeof a->counts) == 0);
  FZ_CHECK(str_eq(a->error, b->error) && str_eq(a->forked_from, b->forked_from));
  FZ_CHECK(a->window == b->window && a->continue_on_error == b->continue_on_error &&
           a->cancel_requested == b->cancel_requested);
  FZ_CHECK(str_eq(a->only, b->only) && str_eq(a->skip, b->skip) &&
           str_eq(a->start_from, b->start_from) && str_eq(a->to, b->to));
}

static void check_run(const uint8_t *buf, size_t len) {
  wfs_run a, b;
  uint8_t *e1, *e2;
  size_t n1, n2;
  if (wfs_run_decode(buf, len, &a) != 0) return;
  FZ_CHECK(a.id && a.status < WFS_RUN_NSTATUS);
  FZ_CHECK(wfs_run_encode(&a, &e1, &n1) == 0);
  FZ_CHECK(wfs_run_decode(e1, n1, &b) == 0);
  run_same(&a, &b);
  FZ_CHECK(wfs_run_encode(&b, &e2, &n2) == 0);
  FZ_CHECK(bytes_eq(e1, n1, e2, n2));
  free(e1);
  free(e2);
  wfs_run_clear(&a);
  wfs_run_clear(&b);
}

static void step_same(const wfs_step *a, const wfs_step *b) {
  FZ_CHECK(str_eq(a->stage, b->stage) && str_eq(a->key, b->key));
  FZ_CHECK(a->status == b->status && a->attempt == b->attempt &&
           a->input_hash == b->input_hash && a->exit_code == b->exit_code &&
           a->started_at == b->started_at && a->finished_at == b->finished_at &&
           a->generation == b->generation);
  FZ_CHECK(bytes_eq(a->input, a->input_len, b->input, b->input_len));
  FZ_CHECK(bytes_eq(a->output, a->output_len, b->output, b->output_len));
  FZ_CHECK(str_eq(a->error, b->error) && str_eq(a->stderr_tail, b->stderr_tail));
}

/* What wfs_step_peek reads must agree with the full decode of the same bytes. */
static void check_peek(const uint8_t *buf, size_t len, const wfs_step *s) {
  int status = -1;
  uint64_t hash = 0;
  uint32_t gen = 0;
  FZ_CHECK(wfs__step_peek_decode(buf, len, &status, &hash, &gen) == 0);
  FZ_CHECK(status == s->status && hash == s->input_hash && gen == s->generation);
}

static void check_step(const uint8_t *buf, size_t len) {
  wfs_step a, b;
  uint8_t *e1, *e2;
  size_t n1, n2;
  int status;
  uint64_t hash;
  uint32_t gen;
  int peeked = wfs__step_peek_decode(buf, len, &status, &hash, &gen) == 0;
  if (wfs_step_decode(buf, len, &a) != 0) return;
  FZ_CHECK(peeked);
  FZ_CHECK(a.key && a.status < WFS_STEP_NSTATUS);
  check_peek(buf, len, &a);
  FZ_CHECK(wfs_step_encode(&a, &e1, &n1) == 0);
  FZ_CHECK(wfs_step_decode(e1, n1, &b) == 0);
  step_same(&a, &b);
  check_peek(e1, n1, &b);
  FZ_CHECK(wfs_step_encode(&b, &e2, &n2) == 0);
  FZ_CHECK(bytes_eq(e1, n1, e2, n2));
  free(e1);
  free(e2);
  wfs_step_clear(&a);
  wfs_step_clear(&b);
}

static void check_event(const uint8_t *buf, size_t len) {
  wfs_event a, b;
  uint8_t *e1, *e2;
  size_t n1, n2;
  if (wfs_event_decode(buf, len, &a) != 0) return;
  FZ_CHECK(a.run_id != NULL);
  FZ_CHECK(wfs_event_encode(&a, &e1, &n1) == 0);
  FZ_CHECK(wfs_event_decode(e1, n1, &b) == 0);
  FZ_CHECK(str_eq(a.run_id, b.run_id) && a.seq == b.seq && a.type == b.type &&
           a.time == b.time && str_eq(a.step_key, b.step_key) && a.attempt == b.attempt &&
           str_eq(a.detail, b.detail));
  FZ_CHECK(wfs_event_encode(&b, &e2, &n2) == 0);
  FZ_CHECK(bytes_eq(e1, n1, e2, n2));
  free(e1);
  free(e2);
  wfs_event_clear(&a);
  wfs_event_clear(&b);
}

static void check_all(const uint8_t *buf, size_t len) {
  check_envelope(buf, len);
  check_run(buf, len);
  check_step(buf, len);
  check_event(buf, len);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fz_init_report();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 0 && data[0] == 2) {
    uint8_t *env;
    size_t envlen;
    /* wrap refuses an empty value; anything else becomes a valid envelope */
    if (wfs_envelope_wrap(data + 1, size - 1, &env, &envlen) == 0) {
      check_all(env, envlen);
      free(env);
    }
    return 0;
  }
  check_all(data, size);
  return 0;
}
