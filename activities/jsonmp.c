/* jsonmp.c — JSON (cJSON) <-> msgpack conversion for step inputs and outputs.
 *
 * Numbers: JSON has only doubles (cJSON), so a JSON number that is an integer exactly
 * representable in a double becomes a msgpack int, anything else a float; integers
 * above 2^53 written in JSON have already lost precision when parsed (carry such ids as
 * strings). The other way, a msgpack integer becomes a JSON number when the double
 * holds it exactly, else (beyond 2^53 and not a multiple of a power of two that fits)
 * its decimal text as a JSON string, so no digit is ever silently changed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wf/wf.h"
#include "wfact.h"
#include "wfmp.h"

/* ---- JSON -> msgpack ------------------------------------------------------------- */

static int pack_number(msgpack_packer *pk, double d) {
  /* 2^63 and 2^64 are exact doubles: the range checks below decide before any cast */
  if (d == floor(d) && isfinite(d)) {
    if (d >= 0 && d < 18446744073709551616.0)
      return msgpack_pack_uint64(pk, (uint64_t)d);
    if (d < 0 && d >= -9223372036854775808.0)
      return msgpack_pack_int64(pk, (int64_t)d);
  }
  return msgpack_pack_double(pk, d);
}

static int pack_strn(msgpack_packer *pk, const char *s, size_t n) {
  if (n > UINT32_MAX)
    return WF_EINVAL;
  if (msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n))
    return WF_ENOMEM;
  return 0;
}

static int json_to_mp(const cJSON *j, msgpack_packer *pk, int depth) {
  const cJSON *c;
  size_t n;
  int rc;

  switch (j->type & 0xff) {
  case cJSON_NULL:
    return msgpack_pack_nil(pk) ? WF_ENOMEM : 0;
  case cJSON_False:
    return msgpack_pack_false(pk) ? WF_ENOMEM : 0;
  case cJSON_True:
    return msgpack_pack_true(pk) ? WF_ENOMEM : 0;
  case cJSON_Number:
    return pack_number(pk, j->valuedouble) ? WF_ENOMEM : 0;
  case cJSON_String:
  case cJSON_Raw: /* raw JSON text only exists in trees built by code: keep it as text */
    if (!j->valuestring)
      return WF_EINVAL;
    return pack_strn(pk, j->valuestring, strlen(j->valuestring));
  case cJSON_Array:
  case cJSON_Object:
    if (depth > WFM_MAX_VALUE_DEPTH) /* counted as wfm_check_value does: containers only */
      return WF_EINVAL;
    n = 0;
    for (c = j->child; c; c = c->next)
      n++;
    if (n > UINT32_MAX)
      return WF_EINVAL;
    if ((j->type & 0xff) == cJSON_Array) {
      if (msgpack_pack_array(pk, n))
        return WF_ENOMEM;
    } else if (msgpack_pack_map(pk, n)) {
      return WF_ENOMEM;
    }
    for (c = j->child; c; c = c->next) {
      if ((j->type & 0xff) == cJSON_Object) {
        const char *k = c->string ? c->string : "";
        if ((rc = pack_strn(pk, k, strlen(k))))
          return rc;
      }
      if ((rc = json_to_mp(c, pk, depth + 1)))
        return rc;
    }
    return 0;
  default:
    return WF_EINVAL;
  }
}

int wfa_json_to_mp(const cJSON *j, msgpack_packer *pk) {
  if (!j || !pk)
    return WF_EINVAL;
  return json_to_mp(j, pk, 1);
}

int wfa_json_to_mp_buf(const cJSON *j, uint8_t **out, size_t *len) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  int rc;

  *out = NULL;
  *len = 0;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  if ((rc = wfa_json_to_mp(j, &pk))) {
    msgpack_sbuffer_destroy(&sb);
    return rc;
  }
  *out = (uint8_t *)sb.data; /* sbuffer memory comes from malloc/realloc */
  *len = sb.size;
  return 0;
}

/* ---- msgpack -> JSON ------------------------------------------------------------- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static cJSON *base64_string(const uint8_t *p, uint32_t n) {
  size_t olen = ((size_t)n + 2) / 3 * 4, i, o = 0;
  char *s = malloc(olen + 1);
  cJSON *j;

  if (!s)
    return NULL;
  for (i = 0; i + 2 < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    s[o++] = b64[v >> 18];
    s[o++] = b64[(v >> 12) & 63];
    s[o++] = b64[(v >> 6) & 63];
    s[o++] = b64[v & 63];
  }
  if (i < n) {
    uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
    s[o++] = b64[v >> 18];
    s[o++] = b64[(v >> 12) & 63];
    s[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
    s[o++] = '=';
  }
  s[o] = 0;
  j = cJSON_CreateString(s);
  free(s);
  return j;
}

/* cJSON copies strings from NUL-terminated text; msgpack strings are not terminated. */
static cJSON *string_n(const char *p, uint32_t n) {
  char stackbuf[256], *s = n < sizeof stackbuf ? stackbuf : malloc((size_t)n + 1);
  cJSON *j;

  if (!s)
    return NULL;
  memcpy(s, p, n);
  s[n] = 0;
  j = cJSON_CreateString(s);
  if (s != stackbuf)
    free(s);
  return j;
}

static cJSON *uint_json(uint64_t u) {
  char buf[24];
  double d = (double)u;

  if (d < 18446744073709551616.0 && (uint64_t)d == u)
    return cJSON_CreateNumber(d);
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)u);
  return cJSON_CreateString(buf);
}

static cJSON *int_json(int64_t i) {
  char buf[24];
  double d = (double)i;

  if (d < 9223372036854775808.0 && (int64_t)d == i)
    return cJSON_CreateNumber(d);
  snprintf(buf, sizeof buf, "%lld", (long long)i);
  return cJSON_CreateString(buf);
}

static int mp_to_json(wfm_reader *r, int depth, int in_key, cJSON **out);

/* A map key: strings stay keys, anything else becomes its compact JSON text. Inside such
 * a key (in_key), a key that is an array or a map is refused: each level of keys nested
 * that way would double the escapes of the text (64 levels, 2^64 bytes). */
static int map_key(wfm_reader *r, int depth, int in_key, char **key) {
  wfm_reader save = *r;
  wfm_obj o;
  cJSON *kj = NULL;
  char *txt;
  int rc;

  if ((rc = wfm_next(r, &o)))
    return rc;
  if (o.type == WFM_STR) {
    if (!(*key = malloc((size_t)o.v.s.n + 1)))
      return WF_ENOMEM;
    memcpy(*key, o.v.s.p, o.v.s.n);
    (*key)[o.v.s.n] = 0;
    return 0;
  }
  if (in_key && (o.type == WFM_ARRAY || o.type == WFM_MAP))
    return WF_ECORRUPT;
  *r = save;
  if ((rc = mp_to_json(r, depth, 1, &kj)))
    return rc;
  txt = cJSON_PrintUnformatted(kj);
  cJSON_Delete(kj);
  if (!txt)
    return WF_ENOMEM;
  /* cJSON prints through its own allocator hooks; the caller frees with free() */
  *key = strdup(txt);
  cJSON_free(txt);
  return *key ? 0 : WF_ENOMEM;
}

static int container(wfm_reader *r, const wfm_obj *o, int depth, int in_key, cJSON *j) {
  uint32_t i;
  int rc;

  for (i = 0; i < o->v.n; i++) {
    char *key = NULL;
    cJSON *v = NULL;
    if (o->type == WFM_MAP && (rc = map_key(r, depth + 1, in_key, &key)))
      return rc;
    if ((rc = mp_to_json(r, depth + 1, in_key, &v))) {
      free(key);
      return rc;
    }
    if (o->type == WFM_MAP) {
      /* duplicate keys are kept as cJSON keeps them; printers emit both */
      rc = cJSON_AddItemToObject(j, key, v) ? 0 : WF_ENOMEM;
      free(key);
    } else {
      rc = cJSON_AddItemToArray(j, v) ? 0 : WF_ENOMEM;
    }
    if (rc) {
      cJSON_Delete(v);
      return rc;
    }
  }
  return 0;
}

static int mp_to_json(wfm_reader *r, int depth, int in_key, cJSON **out) {
  wfm_obj o;
  cJSON *j = NULL;
  int rc;

  *out = NULL;
  if ((rc = wfm_next(r, &o)))
    return rc;
  if ((o.type == WFM_ARRAY || o.type == WFM_MAP) && depth > WFM_MAX_DEPTH)
    return WF_ECORRUPT;
  switch (o.type) {
  case WFM_NIL:
  case WFM_EXT:
    j = cJSON_CreateNull();
    break;
  case WFM_BOOL:
    j = cJSON_CreateBool(o.v.b);
    break;
  case WFM_INT:
    j = int_json(o.v.i);
    break;
  case WFM_UINT:
    j = uint_json(o.v.u);
    break;
  case WFM_FLOAT:
    j = cJSON_CreateNumber(o.v.f);
    break;
  case WFM_STR:
    j = string_n(o.v.s.p, o.v.s.n);
    break;
  case WFM_BIN:
    j = base64_string((const uint8_t *)o.v.s.p, o.v.s.n);
    break;
  case WFM_ARRAY:
  case WFM_MAP:
    if (!(j = o.type == WFM_MAP ? cJSON_CreateObject() : cJSON_CreateArray()))
      return WF_ENOMEM;
    if ((rc = container(r, &o, depth, in_key, j))) {
      cJSON_Delete(j);
      return rc;
    }
    break;
  default:
    return WF_ECORRUPT;
  }
  if (!j)
    return WF_ENOMEM;
  *out = j;
  return 0;
}

int wfa_mp_to_json(const uint8_t *p, size_t n, cJSON **out) {
  wfm_reader r;
  cJSON *j;
  int rc;

  if (!out)
    return WF_EINVAL;
  *out = NULL;
  if (!p && n)
    return WF_EINVAL;
  wfm_reader_init(&r, p, n);
  if ((rc = mp_to_json(&r, 1, 0, &j)))
    return rc;
  if (r.p != r.end) {
    cJSON_Delete(j);
    return WF_ECORRUPT;
  }
  *out = j;
  return 0;
}

/* ---- lookups --------------------------------------------------------------------- */

int wfa_mp_map_get(const uint8_t *p, size_t n, const char *key, const uint8_t **val,
                   size_t *vlen) {
  wfm_reader r;
  wfm_obj o;
  size_t klen = strlen(key);
  uint32_t i, pairs;
  int rc;

  *val = NULL;
  *vlen = 0;
  wfm_reader_init(&r, p, n);
  if ((rc = wfm_next(&r, &o)))
    return rc;
  if (o.type != WFM_MAP)
    return WF_ECORRUPT;
  pairs = o.v.n;
  for (i = 0; i < pairs; i++) {
    wfm_reader save = r;
    const uint8_t *start;
    if ((rc = wfm_next(&r, &o)))
      return rc;
    if (o.type != WFM_STR) {
      r = save;
      if ((rc = wfm_skip(&r)))
        return rc;
    }
    start = r.p;
    if ((rc = wfm_skip(&r)))
      return rc;
    if (o.type == WFM_STR && o.v.s.n == klen && !memcmp(o.v.s.p, key, klen)) {
      *val = start;
      *vlen = (size_t)(r.p - start);
      return 0;
    }
  }
  return WF_ENOTFOUND;
}
