/* value.c — what a value must be for wf to record it and show it again: one well-formed
 * msgpack value, nested no deeper than a given limit, whose strings (values and map keys)
 * are UTF-8 without NUL characters, and without a map key that is an array or a map inside
 * a map key (JSON shows such keys as text, escaped once more at each of those levels). A value that passes can be written into a record that
 * decodes, and printed as valid JSON without losing a character. */
#include <string.h>

#include "wfmp.h"
#include "wfstore.h"

size_t wfm_utf8_check(const void *buf, size_t n) {
  const uint8_t *s = buf;
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    /* Lead byte: the sequence length and the range of its second byte, which rules out
     * overlong forms (E0 80..9F, F0 80..8F), UTF-16 surrogates (ED A0..BF) and code
     * points above U+10FFFF (F4 90.., F5..FF). */
    size_t len;
    uint8_t lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) len = 2;
    else if (c >= 0xe0 && c <= 0xef) len = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    else if (c >= 0xf0 && c <= 0xf4) len = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    else return i;
    if (n - i < len || s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k < len; k++)
      if ((s[i + k] & 0xc0) != 0x80) return i;
    i += len;
  }
  return n;
}

const char *wfm_fault_text(wfm_fault f) {
  switch (f) {
  case WFM_FAULT_NONE: return "no fault";
  case WFM_FAULT_MALFORMED: return "is not one well-formed msgpack value";
  case WFM_FAULT_DEPTH: return "nests arrays and objects too deeply";
  case WFM_FAULT_UTF8: return "has a string that is not valid UTF-8";
  case WFM_FAULT_NUL: return "has a string with a NUL character (\\u0000)";
  case WFM_FAULT_KEY: return "has an array or map key inside an array or map key";
  }
  return "is not recordable";
}

static int fault(wfm_fault *out, size_t *at, wfm_fault f, size_t off) {
  if (out) *out = f;
  if (at) *at = off;
  return WF_EINVAL;
}

int wfm_check_value(const void *buf, size_t len, int max_depth, unsigned flags, wfm_fault *f,
                    size_t *at) {
  /* pending[d]: elements still to read at nesting level d, as in wfm_skip; in a map an
   * even count left means the next element is a key. in_key[d]: level d is inside a key. */
  uint64_t pending[WFM_MAX_DEPTH + 1];
  uint8_t map[WFM_MAX_DEPTH + 1], in_key[WFM_MAX_DEPTH + 1];
  const uint8_t *base = buf;
  wfm_reader r;
  wfm_obj o;
  int d = 0;
  if (f) *f = WFM_FAULT_NONE;
  if (at) *at = 0;
  if (max_depth > WFM_MAX_DEPTH) max_depth = WFM_MAX_DEPTH;
  wfm_reader_init(&r, buf, len);
  pending[0] = 1;
  map[0] = in_key[0] = 0;
  while (d >= 0) {
    if (pending[d] == 0) {
      d--;
      continue;
    }
    int is_key = map[d] && pending[d] % 2 == 0;
    pending[d]--;
    const uint8_t *start = r.p;
    if (wfm_next(&r, &o) != 0) return fault(f, at, WFM_FAULT_MALFORMED, (size_t)(start - base));
    int nest = o.type == WFM_ARRAY || o.type == WFM_MAP;
    if (nest && is_key && in_key[d] && (flags & WFM_CHECK_TEXT))
      return fault(f, at, WFM_FAULT_KEY, (size_t)(start - base));
    if (o.type == WFM_STR && (flags & WFM_CHECK_TEXT)) {
      size_t off = (size_t)((const uint8_t *)o.v.s.p - base);
      size_t ok = wfm_utf8_check(o.v.s.p, o.v.s.n);
      const char *nul = memchr(o.v.s.p, 0, ok);
      if (nul) return fault(f, at, WFM_FAULT_NUL, off + (size_t)(nul - o.v.s.p));
      if (ok < o.v.s.n) return fault(f, at, WFM_FAULT_UTF8, off + ok);
    }
    if (o.type != WFM_ARRAY && o.type != WFM_MAP) continue;
    if (d + 1 > max_depth) return fault(f, at, WFM_FAULT_DEPTH, (size_t)(start - base));
    pending[++d] = o.type == WFM_MAP ? 2 * (uint64_t)o.v.n : o.v.n;
    map[d] = o.type == WFM_MAP;
    in_key[d] = in_key[d - 1] || is_key;
  }
  if (r.p != r.end) return fault(f, at, WFM_FAULT_MALFORMED, (size_t)(r.p - base));
  return 0;
}

_Static_assert(WFM_MAX_VALUE_DEPTH == WF_MAX_VALUE_DEPTH, "wf.h and wfmp.h disagree on the depth");
