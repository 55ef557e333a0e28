/* fuzz_values.c — what wf takes as a value: the JSON text checks made before cJSON parses
 * a step's stdout (wfa_json_text_check), the JSON <-> msgpack conversion, and the check
 * every output passes before it is recorded (wfm_check_value).
 *
 * Input: one mode byte, then the bytes to check.
 *   0  JSON text, as a step prints it. Whatever the text check and cJSON accept must
 *      convert to msgpack that wfm_check_value accepts (at most WFM_MAX_VALUE_DEPTH deep,
 *      strings UTF-8 without NUL), print back as valid UTF-8 JSON, and convert again to
 *      the same msgpack bytes. A fault must point inside the text.
 *   1  msgpack, as an activity returns it. wfm_check_value without its text checks must
 *      agree with wfm_validate at the decoders' depth; a value it accepts with them must
 *      convert to JSON and print as valid UTF-8.
 */
#include "fuzz_util.h"
#include "wf/wf.h"
#include "wfact.h"
#include "wfmp.h"

static void check_text(const char *s, size_t n) {
  wfa_text_fault f;
  char where[256];
  if (wfa_json_text_check(s, n, WFM_MAX_VALUE_DEPTH, &f) != 0) {
    FZ_CHECK(f.offset < n);
    FZ_CHECK(memchr(f.path, 0, sizeof f.path) != NULL && f.path[0] == '$');
    FZ_CHECK(f.line >= 1 && f.column >= 1);
    wfa_text_fault_where(&f, where, sizeof where);
    return;
  }
  FZ_CHECK(wfm_utf8_check(s, n) == n);
  if (memchr(s, 0, n)) return; /* the scan stops short of no NUL: this cannot happen */
  char *z = malloc(n + 1);
  if (!z) return;
  memcpy(z, s, n);
  z[n] = 0;
  cJSON *j = cJSON_ParseWithLengthOpts(z, n + 1, NULL, 1);
  free(z);
  if (!j) return;
  uint8_t *mp = NULL, *mp2 = NULL;
  size_t len = 0, len2 = 0;
  FZ_CHECK(wfa_json_to_mp_buf(j, &mp, &len) == 0);
  cJSON_Delete(j);
  FZ_CHECK(wfm_check_value(mp, len, WFM_MAX_VALUE_DEPTH, WFM_CHECK_TEXT, NULL, NULL) == 0);
  cJSON *back = NULL;
  FZ_CHECK(wfa_mp_to_json(mp, len, &back) == 0);
  char *txt = cJSON_PrintUnformatted(back);
  FZ_CHECK(txt != NULL);
  FZ_CHECK(wfm_utf8_check(txt, strlen(txt)) == strlen(txt));
  FZ_CHECK(wfa_json_to_mp_buf(back, &mp2, &len2) == 0);
  FZ_CHECK(len == len2 && memcmp(mp, mp2, len) == 0);
  cJSON_free(txt);
  cJSON_Delete(back);
  free(mp);
  free(mp2);
}

static void check_mp(const uint8_t *p, size_t n) {
  wfm_fault f;
  size_t at;
  int plain = wfm_check_value(p, n, WFM_MAX_DEPTH, 0, &f, &at);
  FZ_CHECK((plain == 0) == (wfm_validate(p, n) == 0));
  if (plain)
    FZ_CHECK(at <= n && (f == WFM_FAULT_MALFORMED || f == WFM_FAULT_DEPTH));
  if (wfm_check_value(p, n, WFM_MAX_VALUE_DEPTH, WFM_CHECK_TEXT, &f, &at) != 0) {
    FZ_CHECK(at <= n && f != WFM_FAULT_NONE);
    return;
  }
  cJSON *j = NULL;
  FZ_CHECK(wfa_mp_to_json(p, n, &j) == 0);
  char *txt = cJSON_PrintUnformatted(j);
  /* Binary and ext values print as base64 or null, non-string keys as their JSON: the
   * text is valid UTF-8 in every case. */
  if (txt) FZ_CHECK(wfm_utf8_check(txt, strlen(txt)) == strlen(txt));
  cJSON_free(txt);
  cJSON_Delete(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_init_report();
  if (size < 1) return 0;
  if (data[0] % 2 == 0) check_text((const char *)data + 1, size - 1);
  else check_mp(data + 1, size - 1);
  return 0;
}
