/* fuzz_tf_parse.c — the time-entry description parser (tf_parse) and its alias table.
 *
 * The whole input is parsed as a description with the default table. When it holds a NUL
 * and what follows is a JSON object, that object is also read as an enrichment config
 * (tf_aliases_from_config) and the part before the NUL parsed with the table it gives.
 * Checked: the shape rules of tf_parse.h (id digits found as "#id" in the text, clean
 * and tags collapsed and trimmed, tags without brackets, type = database/type, the
 * kind, reason and key agree) on text without NUL bytes.
 */
#include "fuzz_util.h"
#include "tf_parse.h"

static int is_ws(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int is_alnum(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Collapsed: only ' ' as whitespace, never two in a row, none at either end. */
static void check_collapsed(const char *s) {
  size_t n = strlen(s);
  if (n == 0) return;
  FZ_CHECK(s[0] != ' ' && s[n - 1] != ' ');
  for (size_t i = 0; i < n; i++) {
    FZ_CHECK(!is_ws((unsigned char)s[i]) || s[i] == ' ');
    if (i > 0) FZ_CHECK(!(s[i] == ' ' && s[i - 1] == ' '));
  }
}

/* "#<id>" occurs in desc[len] with no letter or digit before the '#' and no letter,
 * digit or '_' after the digits. */
static int id_in_text(const char *desc, size_t len, const char *id) {
  size_t nd = strlen(id);
  for (size_t i = 0; i + nd < len; i++) {
    if (desc[i] != '#' || memcmp(desc + i + 1, id, nd) != 0) continue;
    if (i > 0 && is_alnum((unsigned char)desc[i - 1])) continue;
    size_t j = i + 1 + nd;
    if (j < len && (is_alnum((unsigned char)desc[j]) || desc[j] == '_')) continue;
    return 1;
  }
  return 0;
}

static void check_ref(const char *desc, size_t len, const tf_ref *r) {
  FZ_CHECK(r->clean != NULL);
  check_collapsed(r->clean);
  FZ_CHECK(r->matched == (r->id != NULL));
  if (r->id) {
    size_t nd = strlen(r->id);
    FZ_CHECK(nd >= 1 && nd <= TF_ID_MAX_DIGITS && strspn(r->id, "0123456789") == nd);
    FZ_CHECK(id_in_text(desc, len, r->id));
  } else {
    FZ_CHECK(r->ntags == 0 && !r->database && !r->type && !r->fibery_type && !r->project);
  }
  for (size_t i = 0; i < r->ntags; i++) {
    FZ_CHECK(r->tags[i] && r->tags[i][0]);
    check_collapsed(r->tags[i]);
    FZ_CHECK(!strchr(r->tags[i], '[') && !strchr(r->tags[i], ']'));
  }
  FZ_CHECK(!r->resolved || r->fibery_type);
  if (r->fibery_type) {
    FZ_CHECK(r->database && r->type);
    size_t ld = strlen(r->database);
    FZ_CHECK(strncmp(r->fibery_type, r->database, ld) == 0 && r->fibery_type[ld] == '/' &&
             strcmp(r->fibery_type + ld + 1, r->type) == 0);
  }
  if (!r->resolved && r->ntags >= 2) {
    FZ_CHECK(strcmp(r->database, r->tags[0]) == 0 && strcmp(r->type, r->tags[1]) == 0);
    FZ_CHECK(r->ntags > 2 ? r->project && strcmp(r->project, r->tags[2]) == 0 : !r->project);
  }
  if (!r->resolved && r->ntags == 1) FZ_CHECK(r->project && strcmp(r->project, r->tags[0]) == 0);

  int kind = tf_ref_kind(r);
  const char *reason = tf_ref_reason(r);
  FZ_CHECK(kind >= TF_UNMATCHED && kind <= TF_TYPE_MISSING);
  if (kind == TF_UNKNOWN_TYPE) FZ_CHECK(reason && strcmp(reason, "unknown_type") == 0);
  else if (kind == TF_TYPE_MISSING) FZ_CHECK(reason && strcmp(reason, "type_missing") == 0);
  else FZ_CHECK(reason == NULL);
  char *key = NULL;
  FZ_CHECK(tf_ref_key(r, &key) == 0);
  if (!r->matched) {
    FZ_CHECK(key == NULL);
  } else {
    const char *hash = strrchr(key, '#');
    FZ_CHECK(hash && strcmp(hash + 1, r->id) == 0);
    if (r->fibery_type)
      FZ_CHECK((size_t)(hash - key) == strlen(r->fibery_type) &&
               strncmp(key, r->fibery_type, strlen(r->fibery_type)) == 0);
    else
      FZ_CHECK(hash == key);
  }
  free(key);
}

/* Descriptions reach tf_parse as C strings (from JSON), so the shape is only checked on
 * NUL-free text; with a NUL inside, the parse must still be memory-safe. */
static void parse_with(const tf_aliases *a, const char *desc, size_t len) {
  tf_ref r;
  FZ_CHECK(tf_parse(a, desc, len, &r) == 0);
  if (!memchr(desc, 0, len)) check_ref(desc, len, &r);
  tf_ref_free(&r);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fz_init_report();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *desc = (const char *)data;
  parse_with(NULL, desc, size);

  char *c = tf_collapse_ws(desc, size);
  FZ_CHECK(c != NULL);
  if (!memchr(desc, 0, size)) check_collapsed(c);
  free(c);

  const uint8_t *nul = memchr(data, 0, size);
  if (nul) {
    size_t dlen = (size_t)(nul - data);
    cJSON *cfg = cJSON_ParseWithLength((const char *)nul + 1, size - dlen - 1);
    if (cJSON_IsObject(cfg)) {
      tf_aliases *a = NULL;
      if (tf_aliases_from_config(cfg, &a) == 0) {
        FZ_CHECK(a != NULL);
        parse_with(a, desc, dlen);
        tf_aliases_free(a);
      } else {
        FZ_CHECK(a == NULL);
      }
    }
    cJSON_Delete(cfg);
  }
  return 0;
}
