/* fuzz_interp.c — `${...}` templates: parsing and evaluation against a JSON context.
 *
 * Input: template NUL context. The context is a JSON object whose "params", "item" and
 * "stages" (stage id -> recorded output) are what expressions resolve against, and whose
 * "with" value (when present) is interpolated as a whole with wfw_json_interp. A context
 * that is missing or does not parse gives a fixed one.
 * Checked: a literal template evaluates to its text with "$${" turned into "${"; a
 * template that is one expression evaluates (as a string) to the string it resolves to.
 */
#include "fuzz_util.h"
#include "wfw_int.h"

static const char default_ctx[] =
    "{\"params\":{\"date\":\"2026-01-31\",\"n\":42,\"verbose\":true,\"s\":\"${params.n}\"},"
    "\"item\":{\"id\":7,\"type\":\"Scrum/Bug\",\"tags\":[\"a\",\"b\"],\"odd key\":{\"x\":1}},"
    "\"stages\":{\"fetch\":{\"items\":[{\"id\":1},{\"id\":2}],\"total\":2},\"list\":[1,[2,3]],"
    "\"none\":null},"
    "\"with\":{\"a\":\"${params.date}\",\"b\":[\"x${item.id}y\",\"$${lit}\"]}}";

static int stage_output(void *ud, int stage, const char *id, const cJSON **out) {
  const cJSON *ctx = ud;
  (void)stage;
  FZ_CHECK(id != NULL);
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(
      cJSON_GetObjectItemCaseSensitive(ctx, "stages"), id);
  if (!v) return WF_ENOTFOUND;
  *out = v;
  return 0;
}

/* The text a literal template stands for: "$${" is "${", everything else as is. */
static char *unescape(const char *s) {
  size_t n = strlen(s), k = 0;
  char *o = malloc(n + 1);
  if (!o) return NULL;
  for (size_t i = 0; i < n;) {
    if (s[i] == '$' && s[i + 1] == '$' && s[i + 2] == '{') {
      o[k++] = '$';
      o[k++] = '{';
      i += 3;
    } else {
      o[k++] = s[i++];
    }
  }
  o[k] = '\0';
  return o;
}

static void ctx_init(wfw_ictx *c, cJSON *ctx) {
  memset(c, 0, sizeof *c);
  c->params = cJSON_GetObjectItemCaseSensitive(ctx, "params");
  c->item = cJSON_GetObjectItemCaseSensitive(ctx, "item");
  c->run_id = "run_fuzz";
  c->run_dir = "/h/runs/run_fuzz";
  c->workflow_dir = "/defs";
  c->stage_output = stage_output;
  c->ud = ctx;
}

static void check_tmpl(const char *src, cJSON *ctx) {
  wfw_tmpl t;
  wfw_ictx c;
  char err[512];
  char *s = NULL;
  cJSON *j = NULL;
  err[0] = '\0';
  int rc = wfw_tmpl_parse(src, &t, err, sizeof err);
  if (rc) {
    FZ_CHECK(rc == WF_EINVAL || rc == WF_ENOMEM);
    FZ_CHECK(memchr(err, '\0', sizeof err) && err[0]);
    return;
  }
  int is_expr = wfw_tmpl_is_expr(&t), is_lit = wfw_tmpl_is_literal(&t);
  FZ_CHECK(!(is_expr && is_lit));
  for (uint32_t i = 0; i < t.nparts; i++) {
    const wfw_part *p = &t.parts[i];
    if (p->lit) continue;
    const cJSON *v;
    cJSON *tmp = NULL;
    ctx_init(&c, ctx);
    FZ_CHECK(p->expr.text && p->expr.root >= WFW_R_PARAMS && p->expr.root <= WFW_R_WORKFLOW_DIR);
    if (wfw_expr_resolve(&p->expr, &c, &v, &tmp) == 0) FZ_CHECK(v != NULL);
    else FZ_CHECK(memchr(c.err, '\0', sizeof c.err) != NULL);
    cJSON_Delete(tmp);
  }
  ctx_init(&c, ctx);
  int rs = wfw_tmpl_eval_str(&t, &c, &s);
  if (rs == 0) {
    FZ_CHECK(s != NULL);
    if (is_lit) {
      char *want = unescape(src);
      FZ_CHECK(want && strcmp(want, s) == 0);
      free(want);
    }
  }
  ctx_init(&c, ctx);
  int rj = wfw_tmpl_eval_json(&t, &c, &j);
  FZ_CHECK((rs == 0) == (rj == 0) || rs == WF_ENOMEM || rj == WF_ENOMEM);
  if (rj == 0) {
    FZ_CHECK(j != NULL);
    if (is_expr && cJSON_IsString(j) && rs == 0) FZ_CHECK(strcmp(j->valuestring, s) == 0);
    if (!is_expr && rs == 0) FZ_CHECK(cJSON_IsString(j) && strcmp(j->valuestring, s) == 0);
  }
  free(s);
  cJSON_Delete(j);
  wfw_tmpl_clear(&t);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fz_init_report();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *piece[2] = {NULL, NULL};
  size_t lens[2];
  size_t n = fz_split(data, size, piece, 2, lens);
  if (n == 0) return 0;
  cJSON *ctx = n > 1 ? cJSON_ParseWithLength(piece[1], strlen(piece[1])) : NULL;
  if (!cJSON_IsObject(ctx)) {
    cJSON_Delete(ctx);
    ctx = cJSON_Parse(default_ctx);
    if (!ctx) abort();
  }
  check_tmpl(piece[0], ctx);
  const cJSON *with = cJSON_GetObjectItemCaseSensitive(ctx, "with");
  if (with) {
    wfw_ictx c;
    cJSON *out = NULL;
    ctx_init(&c, ctx);
    if (wfw_json_interp(with, &c, &out) == 0) {
      FZ_CHECK(out != NULL);
      cJSON_Delete(out);
    }
  }
  cJSON_Delete(ctx);
  fz_free_pieces(piece, n);
  return 0;
}
