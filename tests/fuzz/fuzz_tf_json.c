/* fuzz_tf_json.c — the pure readers and builders of the Toggl and Fibery clients on
 * hostile responses (tf_toggl.h, tf_fibery.h). No network: bodies come from the input.
 *
 * Input: one mode byte, then NUL-separated pieces:
 *   0  users body, e-mails JSON, users map JSON
 *                                   tf_toggl_users_parse, tf_toggl_match_users
 *   1  page, page, ...              tf_toggl_day_add_page (one day, several pages)
 *   2  next-id, next-row, next-ts, date
 *                                   tf_toggl_next_cursor ("-" alone: header absent),
 *                                   tf_toggl_valid_date, tf_toggl_search_body
 *   3  result body, documents body, config JSON, ids JSON
 *                                   tf_fibery_ids, tf_fibery_query_body,
 *                                   tf_fibery_read_result, tf_fibery_docs_body,
 *                                   tf_fibery_read_docs (a config that does not parse or
 *                                   pass tf_fibery_config_check gives a fixed one)
 *   4  JSON                         tf_fibery_config_check/merge, tf_fibery_batches
 */
#include <math.h>

#include "fuzz_util.h"
#include "tf_fibery.h"
#include "tf_toggl.h"
#include "wf/wf.h"

#define MAX_PIECES 8

static const char fibery_cfg_json[] =
    "{\"batch_size\":3,\"rate_limit_per_s\":3,\"description_max_chars\":300,"
    "\"aliases\":[{\"tags\":[\"Scrum\",\"Task\"],\"type\":\"Scrum/Task\"}],"
    "\"default\":{\"max_concurrent\":2,\"select\":{\"created\":\"fibery/creation-date\"}},"
    "\"types\":{\"Scrum/Task\":{\"max_concurrent\":2,\"title\":\"Scrum/Name\","
    "\"description\":\"Scrum/Description\",\"prompt\":\"task\",\"select\":{"
    "\"created\":\"fibery/creation-date\",\"project\":{\"Scrum/Project\":[\"Project/name\"]},"
    "\"assignees\":{\"assignments/assignees\":{\"q/select\":[\"user/name\",\"user/email\"]}},"
    "\"estimate\":\"Scrum/Estimate\"}}}}";

static const char user_map_json[] =
    "{\"101\":\"ana@example.com\",\"202\":\"bo@example.com\",\"0\":\"zero@example.com\"}";

static cJSON *fibery_cfg, *user_map;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fz_init_report();
  char err[256];
  fibery_cfg = cJSON_Parse(fibery_cfg_json);
  user_map = cJSON_Parse(user_map_json);
  if (!fibery_cfg || !user_map || tf_fibery_config_check(fibery_cfg, err, sizeof err) != 0)
    abort();
  return 0;
}

static void check_json_text(const char *s, size_t len) {
  FZ_CHECK(s && strlen(s) == len);
  cJSON *j = cJSON_ParseWithLength(s, len);
  FZ_CHECK(j != NULL);
  cJSON_Delete(j);
}

/* ---- Toggl ------------------------------------------------------------------------- */

static void toggl_users(char **p, size_t *lens, size_t n) {
  cJSON *map = NULL;
  int rc = tf_toggl_users_parse(p[0], lens[0], &map);
  if (rc) {
    FZ_CHECK(map == NULL);
    return;
  }
  const cJSON *it;
  cJSON_ArrayForEach(it, map) {
    char *end;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
    const char *email = tf_toggl_user_email(it);
    FZ_CHECK(cJSON_IsObject(it) && email && email[0]);
    FZ_CHECK(cJSON_IsNull(name) || (cJSON_IsString(name) && name->valuestring[0]));
    for (const char *c = email; *c; c++) FZ_CHECK(!(*c >= 'A' && *c <= 'Z'));
    (void)strtoll(it->string, &end, 10);
    FZ_CHECK(*end == '\0');
  }
  cJSON *emails = n > 1 ? cJSON_ParseWithLength(p[1], lens[1]) : cJSON_CreateString("ANA@example.com, x@y,,");
  int64_t *ids = NULL;
  size_t nids = 0;
  char *unknown = NULL;
  /* against the parsed map, and against an object given as is (with.user_map; the
   * callers only ever pass objects) */
  cJSON *given = n > 2 ? cJSON_ParseWithLength(p[2], lens[2]) : NULL;
  for (int round = 0; round < 2; round++) {
    const cJSON *m = round == 0 ? map : given;
    if (!cJSON_IsObject(m)) continue;
    if (tf_toggl_match_users(emails, m, &ids, &nids, &unknown) == 0) {
      FZ_CHECK(nids <= TF_TOGGL_MAX_USERS);
      for (size_t i = 1; i < nids; i++) FZ_CHECK(ids[i - 1] < ids[i]);
      if (nids > 0) {
        /* the ids as the search body sends them */
        tf_toggl_query q = {"2026-01-31", 50, ids, nids};
        char *body;
        size_t blen;
        FZ_CHECK(tf_toggl_search_body(&q, NULL, &body, &blen) == 0);
        check_json_text(body, blen);
        free(body);
      }
      free(ids);
      free(unknown);
    } else {
      FZ_CHECK(ids == NULL && unknown == NULL);
    }
  }
  cJSON_Delete(given);
  cJSON_Delete(emails);
  cJSON_Delete(map);
}

static void toggl_day(char **p, size_t *lens, size_t n) {
  tf_toggl_day d;
  char err[256];
  if (tf_toggl_day_init(&d, "2025-03-03", user_map) != 0) return;
  d.workspace_id = 77;
  for (size_t i = 0; i < n; i++) {
    size_t rows;
    err[0] = '\0';
    int rc = tf_toggl_day_add_page(&d, p[i], lens[i], &rows, err, sizeof err);
    if (rc) FZ_CHECK(err[0] && memchr(err, '\0', sizeof err));
  }
  cJSON *out = tf_toggl_day_output(&d, (uint32_t)n, 0, (uint32_t)n);
  FZ_CHECK(out != NULL);
  /* entries are de-duplicated by id */
  const cJSON *entries = cJSON_GetObjectItemCaseSensitive(out, "entries"), *a, *b;
  FZ_CHECK(cJSON_IsArray(entries));
  int k = 0;
  cJSON_ArrayForEach(a, entries) {
    const cJSON *ida = cJSON_GetObjectItemCaseSensitive(a, "id");
    FZ_CHECK(cJSON_IsNumber(ida));
    if (++k > 200) continue; /* quadratic check: the first entries only */
    for (b = a->next; b; b = b->next)
      FZ_CHECK(cJSON_GetObjectItemCaseSensitive(b, "id")->valuedouble != ida->valuedouble);
  }
  char *s = cJSON_PrintUnformatted(out);
  FZ_CHECK(s != NULL);
  check_json_text(s, strlen(s));
  free(s);
  cJSON_Delete(out);
  tf_toggl_day_clear(&d);
}

static const char *header(const char *piece) { return strcmp(piece, "-") == 0 ? NULL : piece; }

static void toggl_paging(char **p, size_t n) {
  const char *h[3] = {NULL, NULL, NULL};
  for (size_t i = 0; i < 3 && i < n; i++) h[i] = header(p[i]);
  tf_toggl_cursor cur;
  const char *bad = NULL;
  memset(&cur, 0, sizeof cur);
  int rc = tf_toggl_next_cursor(h[0], h[1], h[2], &cur, &bad);
  FZ_CHECK(rc == 0 || rc == 1 || rc == WF_EINVAL);
  FZ_CHECK((rc == WF_EINVAL) == (bad != NULL));
  if (rc == 1) {
    FZ_CHECK(cur.has_row && h[1]);
    FZ_CHECK(cur.first_id >= 0 && cur.first_row_number >= 0 && cur.first_timestamp >= 0);
  }
  const char *date = n > 3 ? p[3] : "2026-01-31";
  int valid = tf_toggl_valid_date(date);
  if (valid) FZ_CHECK(strlen(date) == 10 && date[4] == '-' && date[7] == '-');
  static const int64_t uids[] = {INT64_MIN, -1, 0, 101, INT64_MAX};
  tf_toggl_query q;
  memset(&q, 0, sizeof q);
  snprintf(q.date, sizeof q.date, "%s", date);
  q.page_size = 50;
  q.user_ids = uids;
  q.nuser_ids = sizeof uids / sizeof uids[0];
  char *b1, *b2;
  size_t l1, l2;
  rc = tf_toggl_search_body(&q, rc == 1 ? &cur : NULL, &b1, &l1);
  if (rc == 0) {
    check_json_text(b1, l1);
    FZ_CHECK(tf_toggl_search_body(&q, &cur, &b2, &l2) == 0);
    free(b2);
    /* a retried page is byte-identical */
    FZ_CHECK(tf_toggl_search_body(&q, NULL, &b2, &l2) == 0);
    char *b3;
    size_t l3;
    FZ_CHECK(tf_toggl_search_body(&q, NULL, &b3, &l3) == 0);
    FZ_CHECK(l2 == l3 && memcmp(b2, b3, l2) == 0);
    free(b2);
    free(b3);
    free(b1);
  } else {
    FZ_CHECK(!tf_toggl_valid_date(q.date));
  }
}

/* ---- Fibery ------------------------------------------------------------------------ */

static void fibery_result(char **p, size_t *lens, size_t n) {
  char err[512];
  cJSON *own_cfg = n > 2 ? cJSON_ParseWithLength(p[2], lens[2]) : NULL;
  const cJSON *cfg = fibery_cfg;
  if (own_cfg && tf_fibery_config_check(own_cfg, err, sizeof err) == 0) cfg = own_cfg;

  cJSON *ids_json = n > 3 ? cJSON_ParseWithLength(p[3], lens[3]) : NULL;
  const char **ids = NULL;
  size_t nids = 0;
  if (!ids_json || tf_fibery_ids(ids_json, &ids, &nids) != 0 || nids == 0) {
    free(ids);
    cJSON_Delete(ids_json);
    ids_json = cJSON_Parse("[\"7658\", 12, \"0312\", \"312\", \"x y\"]");
    FZ_CHECK(ids_json && tf_fibery_ids(ids_json, &ids, &nids) == 0 && nids == 5);
  }
  for (size_t i = 1; i < nids; i++) FZ_CHECK(strcmp(ids[i - 1], ids[i]) != 0);

  /* the type: the config's first type when it has one */
  const cJSON *types = cJSON_GetObjectItemCaseSensitive(cfg, "types");
  const char *type = types && types->child ? types->child->string : "Scrum/Task";
  char *body;
  size_t blen;
  if (nids <= TF_FIBERY_MAX_BATCH && tf_fibery_query_body(cfg, type, ids, nids, NULL, NULL, &body, &blen) == 0) {
    check_json_text(body, blen);
    free(body);
  }

  cJSON *entities = cJSON_CreateObject(), *secrets = cJSON_CreateObject();
  FZ_CHECK(entities && secrets);
  err[0] = '\0';
  int rc = tf_fibery_read_result(p[0], lens[0], cfg, type, ids, nids, "https://acme.fibery.io",
                                 entities, secrets, err, sizeof err);
  if (rc == 0) {
    /* every id gets a record under "<type>#<id>" (ids are at most 64 bytes) */
    for (size_t i = 0; i < nids; i++) {
      char key[300];
      snprintf(key, sizeof key, "%s#%s", type, ids[i]);
      if (strlen(type) + strlen(ids[i]) + 1 < 255) {
        const cJSON *rec = cJSON_GetObjectItemCaseSensitive(entities, key);
        FZ_CHECK(cJSON_IsObject(rec) &&
                 cJSON_IsString(cJSON_GetObjectItemCaseSensitive(rec, "status")));
      }
    }
    if (tf_fibery_docs_body(secrets, &body, &blen) == 0) {
      check_json_text(body, blen);
      free(body);
    }
    (void)tf_fibery_read_docs(n > 1 ? p[1] : "[]", n > 1 ? lens[1] : 2, secrets, entities);
    char *s = cJSON_PrintUnformatted(entities);
    FZ_CHECK(s != NULL);
    free(s);
  } else {
    FZ_CHECK(rc == WF_EINVAL && err[0]);
  }
  cJSON_Delete(entities);
  cJSON_Delete(secrets);
  free(ids);
  cJSON_Delete(ids_json);
  cJSON_Delete(own_cfg);
}

static void fibery_config_batches(const char *p, size_t len, int batch) {
  char err[512];
  cJSON *j = cJSON_ParseWithLength(p, len);
  if (!j) return;
  err[0] = '\0';
  if (tf_fibery_config_check(j, err, sizeof err) != 0) FZ_CHECK(err[0]);
  (void)tf_fibery_batch_size(j);
  double rate = tf_fibery_rate(j);
  FZ_CHECK(rate > 0 && !isnan(rate));
  /* an override merged over the fixed config */
  cJSON *base = cJSON_Duplicate(fibery_cfg, 1);
  FZ_CHECK(base != NULL);
  if (cJSON_IsObject(j) && tf_fibery_config_merge(base, j) == 0)
    (void)tf_fibery_config_check(base, err, sizeof err);
  cJSON_Delete(base);

  cJSON *items = NULL;
  if (tf_fibery_batches(j, batch, &items) == 0) {
    const cJSON *it;
    FZ_CHECK(cJSON_IsArray(items));
    cJSON_ArrayForEach(it, items) {
      int k = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(it, "ids"));
      FZ_CHECK(k >= 1 && k <= batch);
      FZ_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "key")));
    }
    cJSON_Delete(items);
  } else {
    FZ_CHECK(items == NULL);
  }
  cJSON_Delete(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int mode = data[0] % 5;
  char *p[MAX_PIECES];
  size_t lens[MAX_PIECES];
  size_t n;
  if (mode == 4) {
    int batch = size > 1 ? 1 + data[1] % 8 : 3;
    if (size > 2) fibery_config_batches((const char *)data + 2, size - 2, batch);
    return 0;
  }
  n = fz_split(data + 1, size - 1, p, mode == 1 ? 4 : MAX_PIECES, lens);
  if (n == 0) return 0;
  switch (mode) {
  case 0: toggl_users(p, lens, n); break;
  case 1: toggl_day(p, lens, n); break;
  case 2: toggl_paging(p, n); break;
  case 3: fibery_result(p, lens, n); break;
  }
  fz_free_pieces(p, n);
  return 0;
}
