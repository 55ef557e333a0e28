/* records.c — run, step and event records: msgpack arrays whose first element is the
 * record format version, encoded into an envelope and decoded with full validation. */
#include <stdlib.h>
#include <string.h>

#include "wfs_internal.h"

/* Version 2 added the run's owner epoch and the step's retry-budget count at the end of
 * their arrays; version 1 records are still read (epoch 0, tries = attempt). Version 3
 * added the run's folder (start --run-dir) at the end of the run's, and the run and step a
 * cached step's output came from at the end of the step's; older records read as having
 * the default folder and not cached. */
#define RECORD_VERSION 3

/* Element counts of each version, the version element included. */
enum { RUN_FIELDS = 31, STEP_FIELDS = 17, EVENT_FIELDS = 8 };
enum { RUN_FIELDS_V1 = 29, STEP_FIELDS_V1 = 14 };
enum { RUN_FIELDS_V2 = 30, STEP_FIELDS_V2 = 15 };
/* Step statuses a run record counted before upstream_failed (schema 2); the one added
 * reads as 0 from those. */
enum { RUN_COUNTS_V2 = 6 };

/* A step record starts with what wfs_step_peek needs; this many bytes always hold
 * the array header, version, status, input hash and generation. */
#define STEP_PEEK_BYTES 32

#define TRY(x)                                                                         \
  do {                                                                                 \
    if ((rc = (x)) != 0) goto fail;                                                    \
  } while (0)

/* ---- encoding -------------------------------------------------------------------- */

static void pack_fixed_str(msgpack_packer *pk, const char *s, size_t cap) {
  wfm_pack_strn(pk, s, strnlen(s, cap - 1));
}

static void pack_flag(msgpack_packer *pk, uint8_t v) {
  if (v)
    msgpack_pack_true(pk);
  else
    msgpack_pack_false(pk);
}

int wfs_run_encode(const wfs_run *r, uint8_t **buf, size_t *len) {
  wfs__buf b;
  msgpack_packer pk;
  wfs__buf_init(&b, &pk);
  msgpack_pack_array(&pk, RUN_FIELDS);
  msgpack_pack_uint8(&pk, RECORD_VERSION);
  wfm_pack_str(&pk, r->id);
  wfm_pack_str(&pk, r->workflow);
  wfm_pack_str(&pk, r->def_path);
  wfm_pack_str(&pk, r->def_text);
  wfm_pack_str(&pk, r->def_hash);
  wfm_pack_raw(&pk, r->params, r->params_len);
  msgpack_pack_uint8(&pk, r->status);
  msgpack_pack_int64(&pk, r->created_at);
  msgpack_pack_int64(&pk, r->updated_at);
  msgpack_pack_int64(&pk, r->started_at);
  msgpack_pack_int64(&pk, r->finished_at);
  msgpack_pack_int64(&pk, r->heartbeat);
  msgpack_pack_int32(&pk, r->owner.pid);
  msgpack_pack_uint64(&pk, r->owner.start_time);
  pack_fixed_str(&pk, r->owner.host, sizeof r->owner.host);
  pack_fixed_str(&pk, r->owner.boot_id, sizeof r->owner.boot_id);
  msgpack_pack_uint32(&pk, r->generation);
  msgpack_pack_array(&pk, WFS_STEP_NSTATUS);
  for (int i = 0; i < WFS_STEP_NSTATUS; i++) msgpack_pack_uint64(&pk, r->counts[i]);
  msgpack_pack_uint64(&pk, r->event_seq);
  wfm_pack_str(&pk, r->error);
  wfm_pack_str(&pk, r->forked_from);
  msgpack_pack_uint32(&pk, r->window);
  pack_flag(&pk, r->continue_on_error);
  pack_flag(&pk, r->cancel_requested);
  wfm_pack_str(&pk, r->only);
  wfm_pack_str(&pk, r->skip);
  wfm_pack_str(&pk, r->start_from);
  wfm_pack_str(&pk, r->to);
  msgpack_pack_uint64(&pk, r->epoch);
  wfm_pack_str(&pk, r->run_dir);
  return wfs__buf_seal(&b, buf, len);
}

int wfs_step_encode(const wfs_step *s, uint8_t **buf, size_t *len) {
  wfs__buf b;
  msgpack_packer pk;
  wfs__buf_init(&b, &pk);
  msgpack_pack_array(&pk, STEP_FIELDS);
  msgpack_pack_uint8(&pk, RECORD_VERSION);
  msgpack_pack_uint8(&pk, s->status);
  msgpack_pack_uint64(&pk, s->input_hash);
  msgpack_pack_uint32(&pk, s->generation);
  msgpack_pack_uint32(&pk, s->attempt);
  msgpack_pack_int32(&pk, s->exit_code);
  msgpack_pack_int64(&pk, s->started_at);
  msgpack_pack_int64(&pk, s->finished_at);
  wfm_pack_str(&pk, s->stage);
  wfm_pack_str(&pk, s->key);
  wfm_pack_str(&pk, s->error);
  wfm_pack_str(&pk, s->stderr_tail);
  wfm_pack_raw(&pk, s->input, s->input_len);
  wfm_pack_raw(&pk, s->output, s->output_len);
  msgpack_pack_uint32(&pk, s->tries);
  wfm_pack_str(&pk, s->cached_run);
  wfm_pack_str(&pk, s->cached_step);
  return wfs__buf_seal(&b, buf, len);
}

int wfs_event_encode(const wfs_event *e, uint8_t **buf, size_t *len) {
  wfs__buf b;
  msgpack_packer pk;
  wfs__buf_init(&b, &pk);
  msgpack_pack_array(&pk, EVENT_FIELDS);
  msgpack_pack_uint8(&pk, RECORD_VERSION);
  wfm_pack_str(&pk, e->run_id);
  msgpack_pack_uint64(&pk, e->seq);
  msgpack_pack_uint8(&pk, e->type);
  msgpack_pack_int64(&pk, e->time);
  wfm_pack_str(&pk, e->step_key);
  msgpack_pack_uint32(&pk, e->attempt);
  wfm_pack_str(&pk, e->detail);
  return wfs__buf_seal(&b, buf, len);
}

/* ---- decoding -------------------------------------------------------------------- */

static int rd_u32(wfm_reader *r, uint32_t *v) {
  uint64_t u;
  int rc = wfm_read_uint(r, &u);
  if (rc) return rc;
  if (u > UINT32_MAX) return WF_ECORRUPT;
  *v = (uint32_t)u;
  return 0;
}

static int rd_i32(wfm_reader *r, int32_t *v) {
  int64_t i;
  int rc = wfm_read_int(r, &i);
  if (rc) return rc;
  if (i < INT32_MIN || i > INT32_MAX) return WF_ECORRUPT;
  *v = (int32_t)i;
  return 0;
}

static int rd_u8_below(wfm_reader *r, unsigned limit, uint8_t *v) {
  uint64_t u;
  int rc = wfm_read_uint(r, &u);
  if (rc) return rc;
  if (u >= limit) return WF_ECORRUPT;
  *v = (uint8_t)u;
  return 0;
}

static int rd_flag(wfm_reader *r, uint8_t *v) {
  int b;
  int rc = wfm_read_bool(r, &b);
  if (rc) return rc;
  *v = (uint8_t)b;
  return 0;
}

/* A string (or nil) into a fixed NUL-terminated buffer of cap bytes. */
static int rd_fixed_str(wfm_reader *r, char *dst, size_t cap) {
  wfm_obj o;
  int rc = wfm_next(r, &o);
  if (rc) return rc;
  if (o.type == WFM_NIL) {
    dst[0] = 0;
    return 0;
  }
  if (o.type != WFM_STR || o.v.s.n >= cap || memchr(o.v.s.p, 0, o.v.s.n)) return WF_ECORRUPT;
  memcpy(dst, o.v.s.p, o.v.s.n);
  dst[o.v.s.n] = 0;
  return 0;
}

static int rd_required_str(wfm_reader *r, char **s) {
  int rc = wfm_read_str_opt(r, s);
  if (rc) return rc;
  return *s ? 0 : WF_ECORRUPT;
}

/* Where a string or raw value of a step or event record lies in its msgpack, until the
 * record is decoded whole and own_spans copies them out. */
typedef struct span {
  const void *p;           /* NULL: nil */
  size_t n;
} span;

static int rd_str_span(wfm_reader *r, span *s) {
  const char *p;
  int rc = wfm_read_str_view(r, &p, &s->n);
  s->p = p;
  return rc;
}

static int rd_raw_span(wfm_reader *r, span *s) {
  const uint8_t *p;
  int rc = wfm_read_raw_view(r, &p, &s->n);
  s->p = p;
  return rc;
}

/* Copy n spans into one allocation, *mem (NULL when all are nil), each followed by a NUL,
 * and point out[i] at the copy of span i (NULL for a nil one). */
static int own_spans(const span *s, int n, const void **out, char **mem) {
  size_t total = 0;
  for (int i = 0; i < n; i++)
    if (s[i].p) total += s[i].n + 1;
  char *w = total ? malloc(total) : NULL;
  if (total && !w) return WF_ENOMEM;
  *mem = w;
  for (int i = 0; i < n; i++) {
    out[i] = NULL;
    if (!s[i].p) continue;
    memcpy(w, s[i].p, s[i].n);
    w[s[i].n] = '\0';
    out[i] = w;
    w += s[i].n + 1;
  }
  return 0;
}

/* Whether `count` elements are what a record of `version` has: fields[v - 1] for
 * version v. */
static int count_ok(uint64_t version, uint32_t count, const uint32_t fields[RECORD_VERSION]) {
  return version >= 1 && version <= RECORD_VERSION && count == fields[version - 1];
}

/* Unwraps the envelope and reads the array header and version (*version). */
static int open_record(const uint8_t *buf, size_t len, const uint32_t fields[RECORD_VERSION],
                       wfm_reader *r,
                       uint8_t **owned, uint64_t *version) {
  const uint8_t *mp;
  size_t n;
  uint32_t count;
  int rc = wfs__envelope_view(buf, len, &mp, &n, owned);
  if (rc) return rc;
  wfm_reader_init(r, mp, n);
  if ((rc = wfm_read_array(r, &count)) || (rc = wfm_read_uint(r, version))) return rc;
  return count_ok(*version, count, fields) ? 0 : WF_ECORRUPT;
}

static const uint32_t run_fields[RECORD_VERSION] = {RUN_FIELDS_V1, RUN_FIELDS_V2, RUN_FIELDS};
static const uint32_t step_fields[RECORD_VERSION] = {STEP_FIELDS_V1, STEP_FIELDS_V2,
                                                     STEP_FIELDS};
static const uint32_t event_fields[RECORD_VERSION] = {EVENT_FIELDS, EVENT_FIELDS, EVENT_FIELDS};

int wfs_run_decode(const uint8_t *buf, size_t len, wfs_run *out) {
  wfm_reader r;
  uint8_t *owned = NULL;
  uint32_t counts;
  uint64_t version;
  int rc;
  memset(out, 0, sizeof *out);
  TRY(open_record(buf, len, run_fields, &r, &owned, &version));
  TRY(rd_required_str(&r, &out->id));
  TRY(wfm_read_str_opt(&r, &out->workflow));
  TRY(wfm_read_str_opt(&r, &out->def_path));
  TRY(wfm_read_str_opt(&r, &out->def_text));
  TRY(wfm_read_str_opt(&r, &out->def_hash));
  TRY(wfm_read_raw_opt(&r, &out->params, &out->params_len));
  TRY(rd_u8_below(&r, WFS_RUN_NSTATUS, &out->status));
  TRY(wfm_read_int(&r, &out->created_at));
  TRY(wfm_read_int(&r, &out->updated_at));
  TRY(wfm_read_int(&r, &out->started_at));
  TRY(wfm_read_int(&r, &out->finished_at));
  TRY(wfm_read_int(&r, &out->heartbeat));
  TRY(rd_i32(&r, &out->owner.pid));
  TRY(wfm_read_uint(&r, &out->owner.start_time));
  TRY(rd_fixed_str(&r, out->owner.host, sizeof out->owner.host));
  TRY(rd_fixed_str(&r, out->owner.boot_id, sizeof out->owner.boot_id));
  TRY(rd_u32(&r, &out->generation));
  TRY(wfm_read_array(&r, &counts));
  if (counts != WFS_STEP_NSTATUS && counts != RUN_COUNTS_V2) TRY(WF_ECORRUPT);
  for (uint32_t i = 0; i < counts; i++) TRY(wfm_read_uint(&r, &out->counts[i]));
  TRY(wfm_read_uint(&r, &out->event_seq));
  TRY(wfm_read_str_opt(&r, &out->error));
  TRY(wfm_read_str_opt(&r, &out->forked_from));
  TRY(rd_u32(&r, &out->window));
  TRY(rd_flag(&r, &out->continue_on_error));
  TRY(rd_flag(&r, &out->cancel_requested));
  TRY(wfm_read_str_opt(&r, &out->only));
  TRY(wfm_read_str_opt(&r, &out->skip));
  TRY(wfm_read_str_opt(&r, &out->start_from));
  TRY(wfm_read_str_opt(&r, &out->to));
  if (version > 1) TRY(wfm_read_uint(&r, &out->epoch));
  if (version > 2) TRY(wfm_read_str_opt(&r, &out->run_dir));
  if (r.p != r.end) TRY(WF_ECORRUPT);
  free(owned);
  return 0;
fail:
  free(owned);
  wfs_run_clear(out);
  return rc;
}

static int skip_n(wfm_reader *r, int n) {
  int rc = 0;
  while (n-- > 0 && !(rc = wfm_skip(r))) {}
  return rc;
}

/* The layout of wfs_run_encode, skipping what the head does not hold. */
int wfs_run_head_decode(const uint8_t *buf, size_t len, wfs_run_head *h) {
  wfm_reader r;
  uint8_t *owned = NULL;
  uint64_t version;
  int rc;
  memset(h, 0, sizeof *h);
  TRY(open_record(buf, len, run_fields, &r, &owned, &version));
  TRY(skip_n(&r, 6));                       /* id .. params */
  TRY(rd_u8_below(&r, WFS_RUN_NSTATUS, &h->status));
  TRY(wfm_read_int(&r, &h->created_at));
  TRY(skip_n(&r, 4 + 4 + 1 + 1));           /* times, owner, generation, counts */
  TRY(wfm_read_uint(&r, &h->event_seq));
  TRY(skip_n(&r, 4));                       /* error, forked_from, window, continue */
  TRY(rd_flag(&r, &h->cancel_requested));
  TRY(skip_n(&r, 4));                       /* selection */
  if (version > 1) TRY(wfm_read_uint(&r, &h->epoch));
  if (version > 2) TRY(skip_n(&r, 1));      /* run_dir */
  if (r.p != r.end) TRY(WF_ECORRUPT);
  free(owned);
  return 0;
fail:
  free(owned);
  return rc;
}

int wfs_step_decode(const uint8_t *buf, size_t len, wfs_step *out) {
  wfm_reader r;
  uint8_t *owned = NULL;
  uint64_t version;
  span sp[7];              /* stage, key, error, stderr_tail, input, cached_run, cached_step */
  const void *own[7];
  int rc;
  memset(out, 0, sizeof *out);
  TRY(open_record(buf, len, step_fields, &r, &owned, &version));
  TRY(rd_u8_below(&r, WFS_STEP_NSTATUS, &out->status));
  TRY(wfm_read_uint(&r, &out->input_hash));
  TRY(rd_u32(&r, &out->generation));
  TRY(rd_u32(&r, &out->attempt));
  TRY(rd_i32(&r, &out->exit_code));
  TRY(wfm_read_int(&r, &out->started_at));
  TRY(wfm_read_int(&r, &out->finished_at));
  for (int i = 0; i < 4; i++) TRY(rd_str_span(&r, &sp[i]));
  if (!sp[1].p) TRY(WF_ECORRUPT);
  TRY(rd_raw_span(&r, &sp[4]));
  TRY(wfm_read_raw_opt(&r, &out->output, &out->output_len));
  if (version > 1) TRY(rd_u32(&r, &out->tries));
  else out->tries = out->attempt;
  sp[5].p = sp[6].p = NULL;
  if (version > 2) {
    TRY(rd_str_span(&r, &sp[5]));
    TRY(rd_str_span(&r, &sp[6]));
    if (!sp[5].p != !sp[6].p) TRY(WF_ECORRUPT);
  }
  if (r.p != r.end) TRY(WF_ECORRUPT);
  TRY(own_spans(sp, 7, own, &out->mem));
  out->stage = own[0];
  out->key = own[1];
  out->error = own[2];
  out->stderr_tail = own[3];
  out->input = own[4];
  out->input_len = sp[4].n;
  out->cached_run = own[5];
  out->cached_step = own[6];
  free(owned);
  return 0;
fail:
  free(owned);
  wfs_step_clear(out);
  return rc;
}

int wfs_event_decode(const uint8_t *buf, size_t len, wfs_event *out) {
  wfm_reader r;
  uint8_t *owned = NULL;
  uint64_t version;
  span sp[3];              /* run_id, step_key, detail */
  const void *own[3];
  int rc;
  memset(out, 0, sizeof *out);
  TRY(open_record(buf, len, event_fields, &r, &owned, &version));
  TRY(rd_str_span(&r, &sp[0]));
  if (!sp[0].p) TRY(WF_ECORRUPT);
  TRY(wfm_read_uint(&r, &out->seq));
  TRY(rd_u8_below(&r, 256, &out->type));
  TRY(wfm_read_int(&r, &out->time));
  TRY(rd_str_span(&r, &sp[1]));
  TRY(rd_u32(&r, &out->attempt));
  TRY(rd_str_span(&r, &sp[2]));
  if (r.p != r.end) TRY(WF_ECORRUPT);
  TRY(own_spans(sp, 3, own, &out->mem));
  out->run_id = own[0];
  out->step_key = own[1];
  out->detail = own[2];
  free(owned);
  return 0;
fail:
  free(owned);
  wfs_event_clear(out);
  return rc;
}

/* Reads the leading fields only. A raw record is still checked whole (it is at most
 * WFS_COMPRESS_MIN bytes); of a compressed one only the inflated prefix is checked, so
 * resuming a run does not inflate every recorded output. */
int wfs__step_peek_decode(const uint8_t *buf, size_t len, int *status, uint64_t *input_hash,
                          uint32_t *generation) {
  uint8_t scratch[STEP_PEEK_BYTES];
  const uint8_t *mp;
  size_t n;
  int whole;
  uint32_t count;
  uint64_t version, hash;
  uint8_t st;
  uint32_t gen;
  wfm_reader r;
  int rc = wfs__envelope_peek(buf, len, scratch, sizeof scratch, &mp, &n, &whole);
  if (rc) return rc;
  wfm_reader_init(&r, mp, n);
  if ((rc = wfm_read_array(&r, &count)) || (rc = wfm_read_uint(&r, &version)) ||
      (rc = rd_u8_below(&r, WFS_STEP_NSTATUS, &st)) || (rc = wfm_read_uint(&r, &hash)) ||
      (rc = rd_u32(&r, &gen)))
    return rc;
  if (!count_ok(version, count, step_fields)) return WF_ECORRUPT;
  if (whole) {
    for (uint32_t i = 4; i < count; i++)
      if ((rc = wfm_skip(&r))) return rc;
    if (r.p != r.end) return WF_ECORRUPT;
  }
  if (status) *status = st;
  if (input_hash) *input_hash = hash;
  if (generation) *generation = gen;
  return 0;
}

/* ---- freeing --------------------------------------------------------------------- */

void wfs_run_clear(wfs_run *r) {
  if (!r) return;
  free(r->id);
  free(r->workflow);
  free(r->def_path);
  free(r->def_text);
  free(r->def_hash);
  free(r->params);
  free(r->error);
  free(r->forked_from);
  free(r->only);
  free(r->skip);
  free(r->start_from);
  free(r->to);
  free(r->run_dir);
  memset(r, 0, sizeof *r);
}

void wfs_step_clear(wfs_step *s) {
  if (!s) return;
  free(s->mem);
  free(s->output);
  memset(s, 0, sizeof *s);
}

void wfs_event_clear(wfs_event *e) {
  if (!e) return;
  free(e->mem);
  memset(e, 0, sizeof *e);
}
