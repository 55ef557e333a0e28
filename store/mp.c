/* mp.c — a msgpack reader that checks every length against the bytes left, and the
 * packing helpers the record encoders share. */
#include <stdlib.h>
#include <string.h>

#include "wfmp.h"
#include "wfstore.h"

void wfm_reader_init(wfm_reader *r, const void *buf, size_t len) {
  r->p = buf;
  r->end = buf ? r->p + len : r->p; /* NULL + 0 is undefined too */
}

static uint64_t be_load(const uint8_t *p, unsigned n) {
  uint64_t v = 0;
  for (unsigned i = 0; i < n; i++) v = (v << 8) | p[i];
  return v;
}

static size_t left(const wfm_reader *r) { return (size_t)(r->end - r->p); }

/* Reads an n-byte big-endian field that follows the type byte. */
static int take_be(wfm_reader *r, unsigned n, uint64_t *v) {
  if (left(r) < n) return WF_ECORRUPT;
  *v = be_load(r->p, n);
  r->p += n;
  return 0;
}

/* A payload of n bytes (str, bin, ext data): it must be entirely inside the buffer. */
static int take_payload(wfm_reader *r, uint64_t n, wfm_obj *o) {
  if (n > left(r)) return WF_ECORRUPT;
  o->v.s.p = (const char *)r->p;
  o->v.s.n = (uint32_t)n;
  r->p += n;
  return 0;
}

/* Every element takes at least one byte, so a count above the bytes left is a lie
 * (and would otherwise let a 5-byte input announce four billion elements). */
static int take_count(wfm_reader *r, uint64_t n, int pairs, wfm_obj *o) {
  if ((pairs ? 2 * n : n) > left(r)) return WF_ECORRUPT;
  o->v.n = (uint32_t)n;
  return 0;
}

static void set_int(wfm_obj *o, int64_t i) {
  if (i >= 0) {
    o->type = WFM_UINT;
    o->v.u = (uint64_t)i;
  } else {
    o->type = WFM_INT;
    o->v.i = i;
  }
}

static int read_ext(wfm_reader *r, uint64_t n, wfm_obj *o) {
  if (left(r) < 1) return WF_ECORRUPT;
  o->type = WFM_EXT;
  o->ext = (int8_t)*r->p++;
  return take_payload(r, n, o);
}

static int read_float(wfm_reader *r, unsigned n, wfm_obj *o) {
  uint64_t bits;
  int rc = take_be(r, n, &bits);
  if (rc) return rc;
  o->type = WFM_FLOAT;
  if (n == 4) {
    uint32_t b32 = (uint32_t)bits;
    float f;
    memcpy(&f, &b32, sizeof f);
    o->v.f = f;
  } else {
    memcpy(&o->v.f, &bits, sizeof o->v.f);
  }
  return 0;
}

int wfm_next(wfm_reader *r, wfm_obj *o) {
  uint64_t n;
  int rc;
  if (left(r) < 1) return WF_ECORRUPT;
  uint8_t c = *r->p++;
  o->ext = 0;
  if (c <= 0x7f) {
    o->type = WFM_UINT;
    o->v.u = c;
    return 0;
  }
  if (c >= 0xe0) {
    set_int(o, (int8_t)c);
    return 0;
  }
  if ((c & 0xf0) == 0x80) {
    o->type = WFM_MAP;
    return take_count(r, c & 0x0f, 1, o);
  }
  if ((c & 0xf0) == 0x90) {
    o->type = WFM_ARRAY;
    return take_count(r, c & 0x0f, 0, o);
  }
  if ((c & 0xe0) == 0xa0) {
    o->type = WFM_STR;
    return take_payload(r, c & 0x1f, o);
  }
  switch (c) {
  case 0xc0: o->type = WFM_NIL; return 0;
  case 0xc2: case 0xc3: o->type = WFM_BOOL; o->v.b = c == 0xc3; return 0;
  case 0xc4: case 0xc5: case 0xc6:
    if ((rc = take_be(r, 1u << (c - 0xc4), &n))) return rc;
    o->type = WFM_BIN;
    return take_payload(r, n, o);
  case 0xc7: case 0xc8: case 0xc9:
    if ((rc = take_be(r, 1u << (c - 0xc7), &n))) return rc;
    return read_ext(r, n, o);
  case 0xca: return read_float(r, 4, o);
  case 0xcb: return read_float(r, 8, o);
  case 0xcc: case 0xcd: case 0xce: case 0xcf:
    if ((rc = take_be(r, 1u << (c - 0xcc), &n))) return rc;
    o->type = WFM_UINT;
    o->v.u = n;
    return 0;
  case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
    unsigned w = 1u << (c - 0xd0);
    if ((rc = take_be(r, w, &n))) return rc;
    if (w < 8 && (n >> (8 * w - 1)) & 1) n |= ~(uint64_t)0 << (8 * w); /* sign-extend */
    set_int(o, (int64_t)n);
    return 0;
  }
  case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
    return read_ext(r, 1u << (c - 0xd4), o);
  case 0xd9: case 0xda: case 0xdb:
    if ((rc = take_be(r, 1u << (c - 0xd9), &n))) return rc;
    o->type = WFM_STR;
    return take_payload(r, n, o);
  case 0xdc: case 0xdd:
    if ((rc = take_be(r, c == 0xdc ? 2 : 4, &n))) return rc;
    o->type = WFM_ARRAY;
    return take_count(r, n, 0, o);
  case 0xde: case 0xdf:
    if ((rc = take_be(r, c == 0xde ? 2 : 4, &n))) return rc;
    o->type = WFM_MAP;
    return take_count(r, n, 1, o);
  default: /* 0xc1 is never used */
    return WF_ECORRUPT;
  }
}

int wfm_skip(wfm_reader *r) {
  /* pending[d]: elements still to read at nesting level d. */
  uint64_t pending[WFM_MAX_DEPTH + 1];
  int d = 0;
  wfm_obj o;
  pending[0] = 1;
  while (d >= 0) {
    if (pending[d] == 0) {
      d--;
      continue;
    }
    pending[d]--;
    int rc = wfm_next(r, &o);
    if (rc) return rc;
    if (o.type != WFM_ARRAY && o.type != WFM_MAP) continue;
    if (d + 1 > WFM_MAX_DEPTH) return WF_ECORRUPT;
    pending[++d] = o.type == WFM_MAP ? 2 * (uint64_t)o.v.n : o.v.n;
  }
  return 0;
}

int wfm_validate(const void *buf, size_t len) {
  wfm_reader r;
  wfm_reader_init(&r, buf, len);
  int rc = wfm_skip(&r);
  if (rc) return rc;
  return r.p == r.end ? 0 : WF_ECORRUPT;
}

int wfm_read_uint(wfm_reader *r, uint64_t *v) {
  wfm_obj o;
  int rc = wfm_next(r, &o);
  if (rc) return rc;
  if (o.type != WFM_UINT) return WF_ECORRUPT;
  *v = o.v.u;
  return 0;
}

int wfm_read_int(wfm_reader *r, int64_t *v) {
  wfm_obj o;
  int rc = wfm_next(r, &o);
  if (rc) return rc;
  if (o.type == WFM_INT) {
    *v = o.v.i;
  } else if (o.type == WFM_UINT && o.v.u <= INT64_MAX) {
    *v = (int64_t)o.v.u;
  } else {
    return WF_ECORRUPT;
  }
  return 0;
}

int wfm_read_bool(wfm_reader *r, int *v) {
  wfm_obj o;
  int rc = wfm_next(r, &o);
  if (rc) return rc;
  if (o.type != WFM_BOOL) return WF_ECORRUPT;
  *v = o.v.b;
  return 0;
}

int wfm_read_str_view(wfm_reader *r, const char **s, size_t *n) {
  wfm_obj o;
  *s = NULL;
  *n = 0;
  int rc = wfm_next(r, &o);
  if (rc) return rc;
  if (o.type == WFM_NIL) return 0;
  if (o.type != WFM_STR || memchr(o.v.s.p, 0, o.v.s.n)) return WF_ECORRUPT;
  *s = o.v.s.p;
  *n = o.v.s.n;
  return 0;
}

int wfm_read_str_opt(wfm_reader *r, char **s) {
  const char *v;
  size_t n;
  *s = NULL;
  int rc = wfm_read_str_view(r, &v, &n);
  if (rc || !v) return rc;
  char *c = malloc(n + 1);
  if (!c) return WF_ENOMEM;
  memcpy(c, v, n);
  c[n] = 0;
  *s = c;
  return 0;
}

int wfm_read_array(wfm_reader *r, uint32_t *n) {
  wfm_obj o;
  int rc = wfm_next(r, &o);
  if (rc) return rc;
  if (o.type != WFM_ARRAY) return WF_ECORRUPT;
  *n = o.v.n;
  return 0;
}

int wfm_read_raw_view(wfm_reader *r, const uint8_t **p, size_t *n) {
  *p = NULL;
  *n = 0;
  if (r->p < r->end && *r->p == 0xc0) {
    r->p++;
    return 0;
  }
  const uint8_t *start = r->p;
  int rc = wfm_skip(r);
  if (rc) return rc;
  *p = start;
  *n = (size_t)(r->p - start);
  return 0;
}

int wfm_read_raw_opt(wfm_reader *r, uint8_t **p, size_t *n) {
  const uint8_t *v;
  size_t len;
  *p = NULL;
  *n = 0;
  int rc = wfm_read_raw_view(r, &v, &len);
  if (rc || !v) return rc;
  uint8_t *c = malloc(len);
  if (!c) return WF_ENOMEM;
  memcpy(c, v, len);
  *p = c;
  *n = len;
  return 0;
}

void wfm_pack_str(msgpack_packer *pk, const char *s) {
  if (!s) {
    msgpack_pack_nil(pk);
    return;
  }
  wfm_pack_strn(pk, s, strlen(s));
}

void wfm_pack_strn(msgpack_packer *pk, const char *s, size_t n) {
  msgpack_pack_str(pk, n);
  msgpack_pack_str_body(pk, s, n);
}

void wfm_pack_raw(msgpack_packer *pk, const uint8_t *p, size_t n) {
  if (!p || !n) {
    msgpack_pack_nil(pk);
    return;
  }
  pk->callback(pk->data, (const char *)p, n);
}
