/* wfmp.h — msgpack reading that never trusts its input, and writing helpers.
 *
 * Writing goes through msgpack-c (msgpack_sbuffer + msgpack_packer). Reading does not:
 * msgpack-c 4.0 allocates from hostile lengths and ignores trailing bytes, so wfm_*
 * reads one header at a time, checks every length against the bytes left, bounds the
 * nesting depth, and never allocates. Strings point into the input buffer.
 */
#ifndef WF_MP_H
#define WF_MP_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

/* The deepest nesting (arrays and maps, the outermost one counting 1) that the decoders
 * accept in a record. */
#define WFM_MAX_DEPTH 64
/* The deepest nesting wf accepts in a value given to it (a step's output, an item, a
 * parameter): records wrap such values in a few levels of their own (a step record holds
 * its input, which holds the outputs of the stages it needs, a fan-out stage's output
 * holds its items' outputs: at most 4 levels today), and this leaves 8 for them, so that
 * every record written can be read back. */
#define WFM_MAX_VALUE_DEPTH (WFM_MAX_DEPTH - 8)

typedef enum wfm_type {
  WFM_NIL, WFM_BOOL, WFM_INT, WFM_UINT, WFM_FLOAT, WFM_STR, WFM_BIN, WFM_ARRAY, WFM_MAP, WFM_EXT
} wfm_type;

typedef struct wfm_obj {
  wfm_type type;
  union {
    int b;
    int64_t i;     /* WFM_INT (negative values) */
    uint64_t u;    /* WFM_UINT */
    double f;
    struct { const char *p; uint32_t n; } s;   /* STR, BIN, EXT (ext type in ext) */
    uint32_t n;    /* ARRAY elements, MAP pairs */
  } v;
  int8_t ext;
} wfm_obj;

typedef struct wfm_reader {
  const uint8_t *p, *end;
} wfm_reader;

void wfm_reader_init(wfm_reader *r, const void *buf, size_t len);
/* Read one header (a scalar, or the count of an array/map whose elements follow).
 * WF_ECORRUPT when truncated, or when a length or count exceeds the bytes left. */
int wfm_next(wfm_reader *r, wfm_obj *o);
/* Skip one whole value (iteratively, depth-bounded). */
int wfm_skip(wfm_reader *r);
/* 0 if buf holds exactly one well-formed value of depth <= WFM_MAX_DEPTH. */
int wfm_validate(const void *buf, size_t len);

/* Why a value cannot be recorded (wfm_check_value). */
typedef enum wfm_fault {
  WFM_FAULT_NONE,
  WFM_FAULT_MALFORMED,  /* not exactly one well-formed msgpack value */
  WFM_FAULT_DEPTH,      /* nested deeper than allowed */
  WFM_FAULT_UTF8,       /* a string (or map key) that is not valid UTF-8 */
  WFM_FAULT_NUL,        /* a string (or map key) holding a NUL character */
  WFM_FAULT_KEY         /* an array or map key inside an array or map key */
} wfm_fault;

/* wfm_check_value flags: also check what showing the value as JSON needs: strings UTF-8
 * without NUL, no array or map key inside an array or map key (JSON shows such keys as
 * their text, escaped once more at each level). */
#define WFM_CHECK_TEXT 1u

/* 0 if buf holds exactly one well-formed value nested at most max_depth levels (itself
 * capped at WFM_MAX_DEPTH) and, with WFM_CHECK_TEXT, whose strings and map keys are valid
 * UTF-8 without NUL characters (and no array or map key inside another). Else WF_EINVAL
 * with *fault (may be NULL) saying why and
 * *at (may be NULL) the offset in buf of the first offending byte. */
int wfm_check_value(const void *buf, size_t len, int max_depth, unsigned flags,
                    wfm_fault *fault, size_t *at);
/* What a fault means, as the end of a sentence about the value ("... has a string that is
 * not valid UTF-8"). */
const char *wfm_fault_text(wfm_fault fault);
/* The length of the longest valid UTF-8 prefix of buf: n when all n bytes are valid
 * (shortest forms only; no UTF-16 surrogates; nothing above U+10FFFF). */
size_t wfm_utf8_check(const void *buf, size_t n);

/* Typed reads for record decoders: WF_ECORRUPT on any other type. nil is accepted by
 * the *_opt forms (giving NULL / 0). Strings are returned as malloc'd NUL-terminated
 * copies; embedded NULs are refused. */
int wfm_read_uint(wfm_reader *r, uint64_t *v);
int wfm_read_int(wfm_reader *r, int64_t *v);
int wfm_read_bool(wfm_reader *r, int *v);
int wfm_read_str_opt(wfm_reader *r, char **s);
int wfm_read_array(wfm_reader *r, uint32_t *n);
/* One whole value copied out as raw msgpack (malloc'd); nil gives NULL/0. */
int wfm_read_raw_opt(wfm_reader *r, uint8_t **p, size_t *n);
/* The same two without copying: *s or *p points into the input (NULL for nil), *n bytes
 * of it (a string is not NUL-terminated there). */
int wfm_read_str_view(wfm_reader *r, const char **s, size_t *n);
int wfm_read_raw_view(wfm_reader *r, const uint8_t **p, size_t *n);

/* Writing helpers over msgpack-c. */
void wfm_pack_str(msgpack_packer *pk, const char *s);   /* NULL packs nil */
void wfm_pack_strn(msgpack_packer *pk, const char *s, size_t n);
/* Append an already-encoded value (NULL/0 packs nil). */
void wfm_pack_raw(msgpack_packer *pk, const uint8_t *p, size_t n);

#endif
