/* envelope.c — the envelope around every stored record: a tag byte, then either the
 * msgpack value as is, or its length and its zlib-compressed bytes. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define ZLIB_CONST
#include <zlib.h>

#include "wfs_internal.h"

enum { TAG_RAW = 0, TAG_ZLIB = 1, ZHDR = 5 };

/* Deflate never expands better than 1032:1, so a claimed length above that ratio is a
 * lie we can refuse before allocating for it. */
#define ZLIB_MAX_RATIO 1032u

static void be32_put(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static uint32_t be32_get(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* 0 and *out set when compression pays, 1 when the value should stay raw. */
static int deflate_env(const uint8_t *mp, size_t len, uint8_t **out, size_t *outlen) {
  if (len > UINT32_MAX) return 1;
  uLongf clen = compressBound((uLong)len);
  uint8_t *buf = malloc(ZHDR + clen);
  if (!buf) return WF_ENOMEM;
  int zrc = compress2(buf + ZHDR, &clen, mp, (uLong)len, Z_BEST_SPEED);
  if (zrc != Z_OK || ZHDR + clen >= 1 + len) {
    free(buf);
    return zrc == Z_MEM_ERROR ? WF_ENOMEM : 1;
  }
  buf[0] = TAG_ZLIB;
  be32_put(buf + 1, (uint32_t)len);
  uint8_t *shrunk = realloc(buf, ZHDR + clen);
  *out = shrunk ? shrunk : buf;
  *outlen = ZHDR + clen;
  return 0;
}

int wfs_envelope_wrap(const uint8_t *mp, size_t len, uint8_t **out, size_t *outlen) {
  *out = NULL;
  *outlen = 0;
  if (!mp || !len) return WF_EINVAL;
  if (len > WFS_COMPRESS_MIN) {
    int rc = deflate_env(mp, len, out, outlen);
    if (rc <= 0) return rc;
  }
  uint8_t *buf = malloc(1 + len);
  if (!buf) return WF_ENOMEM;
  buf[0] = TAG_RAW;
  memcpy(buf + 1, mp, len);
  *out = buf;
  *outlen = 1 + len;
  return 0;
}

/* Checks a compressed envelope's header; *orig is the announced msgpack length. */
static int zlib_header(const uint8_t *buf, size_t len, uint32_t *orig) {
  if (len <= ZHDR) return WF_ECORRUPT;
  *orig = be32_get(buf + 1);
  if (*orig == 0 || *orig > 2 * (uint64_t)WFS_MAX_VALUE ||
      *orig / ZLIB_MAX_RATIO > len - ZHDR)
    return WF_ECORRUPT;
  return 0;
}

int wfs__envelope_view(const uint8_t *buf, size_t len, const uint8_t **mp, size_t *mplen,
                       uint8_t **owned) {
  uint32_t orig;
  *mp = NULL;
  *mplen = 0;
  *owned = NULL;
  if (!buf || len < 2) return WF_ECORRUPT;
  if (buf[0] == TAG_RAW) {
    *mp = buf + 1;
    *mplen = len - 1;
    return 0;
  }
  if (buf[0] != TAG_ZLIB || zlib_header(buf, len, &orig)) return WF_ECORRUPT;
  uint8_t *dst = malloc(orig);
  if (!dst) return WF_ENOMEM;
  uLongf dlen = orig;
  uLong slen = (uLong)(len - ZHDR);
  int zrc = uncompress2(dst, &dlen, buf + ZHDR, &slen);
  if (zrc != Z_OK || dlen != orig || slen != len - ZHDR) {
    free(dst);
    return zrc == Z_MEM_ERROR ? WF_ENOMEM : WF_ECORRUPT;
  }
  *mp = *owned = dst;
  *mplen = orig;
  return 0;
}

int wfs_envelope_unwrap(const uint8_t *buf, size_t len, uint8_t **out, size_t *outlen) {
  const uint8_t *mp;
  uint8_t *owned;
  size_t n;
  *out = NULL;
  *outlen = 0;
  int rc = wfs__envelope_view(buf, len, &mp, &n, &owned);
  if (rc) return rc;
  if (!owned) {
    if (!(owned = malloc(n))) return WF_ENOMEM;
    memcpy(owned, mp, n);
  }
  *out = owned;
  *outlen = n;
  return 0;
}

int wfs__envelope_peek(const uint8_t *buf, size_t len, uint8_t *scratch, size_t cap,
                       const uint8_t **mp, size_t *mplen, int *whole) {
  uint32_t orig;
  *mp = NULL;
  *mplen = 0;
  *whole = 0;
  if (!buf || len < 2) return WF_ECORRUPT;
  if (buf[0] == TAG_RAW) {
    *mp = buf + 1;
    *mplen = len - 1;
    *whole = 1;
    return 0;
  }
  if (buf[0] != TAG_ZLIB || zlib_header(buf, len, &orig)) return WF_ECORRUPT;
  size_t want = orig < cap ? orig : cap;
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (inflateInit(&zs) != Z_OK) return WF_ENOMEM;
  zs.next_in = buf + ZHDR;
  zs.avail_in = len - ZHDR > UINT_MAX ? UINT_MAX : (uInt)(len - ZHDR);
  zs.next_out = scratch;
  zs.avail_out = (uInt)want;
  int zrc = inflate(&zs, Z_SYNC_FLUSH);
  size_t got = want - zs.avail_out;
  inflateEnd(&zs);
  if ((zrc != Z_OK && zrc != Z_STREAM_END) || got != want) return WF_ECORRUPT;
  *mp = scratch;
  *mplen = got;
  return 0;
}

/* ---- the encode buffer ----------------------------------------------------------- */

static int buf_write(void *data, const char *p, size_t n) {
  wfs__buf *b = data;
  int rc = msgpack_sbuffer_write(&b->sb, p, n);
  if (rc) b->err = 1;
  return rc;
}

void wfs__buf_init(wfs__buf *b, msgpack_packer *pk) {
  static const char tag = TAG_RAW;
  msgpack_sbuffer_init(&b->sb);
  b->err = 0;
  msgpack_packer_init(pk, b, buf_write);
  buf_write(b, &tag, 1);
}

void wfs__buf_destroy(wfs__buf *b) {
  msgpack_sbuffer_destroy(&b->sb);
  b->sb.data = NULL;
}

int wfs__buf_seal(wfs__buf *b, uint8_t **out, size_t *outlen) {
  *out = NULL;
  *outlen = 0;
  if (b->err || b->sb.size < 2) {
    wfs__buf_destroy(b);
    return WF_ENOMEM;
  }
  const uint8_t *mp = (const uint8_t *)b->sb.data + 1;
  size_t len = b->sb.size - 1;
  if (len > WFS_COMPRESS_MIN) {
    int rc = deflate_env(mp, len, out, outlen);
    if (rc <= 0) {
      wfs__buf_destroy(b);
      return rc;
    }
  }
  *outlen = b->sb.size;
  *out = (uint8_t *)msgpack_sbuffer_release(&b->sb);
  return 0;
}
