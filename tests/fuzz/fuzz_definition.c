/* fuzz_definition.c — workflow definitions from hostile bytes: wfw_parse; when the text
 * parses, its introspection, parameter binding with a few fixed -p sets, stage selection,
 * a plan, and the plan's hooks (step inputs, fan-out items) driven with fixed recorded
 * outputs instead of an engine. Everything is freed; sanitizers watch the rest.
 */
#include "fuzz_util.h"
#include "wfact.h"
#include "wfmp.h"
#include "wfstore.h"
#include "wfw_int.h"

#define MAX_HOOK_STAGES 32
#define MAX_ITEMS 16

/* Recorded outputs the hooks see, by stage index modulo the count (NULL: not recorded). */
static const char *const output_json[] = {
    "{\"items\":[{\"id\":1,\"name\":\"a\",\"type\":\"Scrum/Task\"},{\"id\":2,\"name\":\"b\"}],"
    "\"count\":2,\"path\":\"/tmp/x\",\"nested\":{\"list\":[[1,2],[3]],\"s\":\"${x}\"}}",
    "[\"2026-01-01\",\"2026-01-02\",3,{\"k\":\"v\",\"id\":\"k1\"},null,true,\"\"]",
    NULL,
    "\"just a string\"",
};
#define NOUT (sizeof output_json / sizeof output_json[0])
static uint8_t *output_mp[NOUT];
static size_t output_len[NOUT];

static wfi_exec *const exec_a = (wfi_exec *)0x1000;

static int fake_output(wfi_exec *x, uint32_t stage, uint8_t **out, size_t *len) {
  (void)x;
  size_t k = stage % NOUT;
  if (!output_mp[k]) return WF_ENOTFOUND;
  if (!(*out = malloc(output_len[k]))) return WF_ENOMEM;
  memcpy(*out, output_mp[k], output_len[k]);
  *len = output_len[k];
  return 0;
}

static void fake_error(wfi_exec *x, const char *msg) {
  (void)x;
  FZ_CHECK(msg != NULL);
  (void)strlen(msg);
}

static const char *fake_run_id(const wfi_exec *x) {
  (void)x;
  return "run_fuzz";
}

static const wfw_plan_io fake_io = {fake_output, fake_error, fake_run_id, NULL};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fz_init_report();
  for (size_t i = 0; i < NOUT; i++) {
    if (!output_json[i]) continue;
    cJSON *j = cJSON_Parse(output_json[i]);
    if (!j || wfa_json_to_mp_buf(j, &output_mp[i], &output_len[i]) != 0) abort();
    cJSON_Delete(j);
  }
  return 0;
}

static void check_err(int rc, const wfw_err *err) {
  FZ_CHECK(memchr(err->msg, '\0', sizeof err->msg) != NULL);
  if (rc == WF_EINVAL) FZ_CHECK(err->msg[0] != '\0');
}

static void drive_hooks(wfi_plan *p) {
  wfw_plan_set_io(p, &fake_io);
  FZ_CHECK(wfw_plan_set_home(p, "/nonexistent/wf-fuzz-home") == 0);
  for (uint32_t i = 0; i < p->nstages && i < MAX_HOOK_STAGES; i++) {
    uint8_t *in;
    size_t inlen;
    if (!p->stages[i].fanout) {
      if (p->ops->build_input(p->ud, exec_a, i, NULL, 0, &in, &inlen) == 0) {
        FZ_CHECK(wfm_validate(in, inlen) == 0);
        free(in);
      }
      continue;
    }
    wfi_items *it;
    uint64_t hash;
    if (p->ops->items_open(p->ud, exec_a, i, &it, &hash) != 0) continue;
    for (int n = 0; n < MAX_ITEMS; n++) {
      const uint8_t *item;
      size_t ilen;
      char key[WFS_MAX_STEP_KEY + 1], cls[256];
      int r = p->ops->items_next(it, &item, &ilen, key, sizeof key, cls, sizeof cls);
      if (r <= 0) break;
      FZ_CHECK(wfm_validate(item, ilen) == 0);
      FZ_CHECK(key[0] != '\0' && strlen(key) < sizeof key && strlen(cls) < sizeof cls);
      if (p->ops->build_input(p->ud, exec_a, i, item, ilen, &in, &inlen) == 0) {
        FZ_CHECK(wfm_validate(in, inlen) == 0);
        free(in);
      }
    }
    p->ops->items_close(it);
  }
}

static void plan_and_drive(const wfw_def *d, const uint8_t *params, size_t len,
                           const char *only, const char *skip, const char *start_from,
                           const char *to) {
  wfi_plan *p;
  wfw_err err;
  int rc = wfw_plan_new(d, params, len, only, skip, start_from, to, &p, &err);
  check_err(rc, &err);
  if (rc) return;
  FZ_CHECK(p->nstages == wfw_def_nstages(d));
  drive_hooks(p);
  wfw_plan_free(p);
}

/* Selections named from the definition's own stages. */
static void selections(const wfw_def *d, const uint8_t *params, size_t len) {
  uint32_t n = wfw_def_nstages(d);
  if (n == 0) return;
  wfw_stage_info first, mid, last;
  wfw_def_stage(d, 0, &first);
  wfw_def_stage(d, n / 2, &mid);
  wfw_def_stage(d, n - 1, &last);
  int *sel = calloc(n, sizeof *sel), *rerun = calloc(n, sizeof *rerun);
  if (sel && rerun) {
    wfw_err err;
    const char *lists[][4] = {
        {first.id, NULL, NULL, NULL},   {NULL, last.id, NULL, NULL},
        {NULL, NULL, mid.id, NULL},     {NULL, NULL, NULL, mid.id},
        {first.id, first.id, NULL, NULL}, {"nope,", ",", "", "x,,y"},
    };
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
      int rc = wfw_select(d, lists[i][0], lists[i][1], lists[i][2], lists[i][3], sel, rerun,
                          &err);
      check_err(rc, &err);
    }
    plan_and_drive(d, params, len, NULL, NULL, mid.id, NULL);
    plan_and_drive(d, params, len, NULL, NULL, NULL, mid.id);
  }
  free(sel);
  free(rerun);
}

static void introspect(const wfw_def *d) {
  (void)strlen(wfw_def_name(d));
  (void)strlen(wfw_def_description(d));
  (void)strlen(wfw_def_text(d));
  (void)strlen(wfw_def_path(d));
  for (uint32_t i = 0; i < wfw_def_nparams(d); i++) {
    wfw_param_info pi;
    wfw_def_param(d, i, &pi);
    FZ_CHECK(pi.name && pi.type);
    (void)strlen(pi.name);
    if (pi.default_json) (void)strlen(pi.default_json);
  }
  for (uint32_t i = 0; i < wfw_def_nstages(d); i++) {
    wfw_stage_info si;
    wfw_def_stage(d, i, &si);
    FZ_CHECK(si.id && si.kind);
    FZ_CHECK(wfw_def_stage_index(d, si.id) == (int)i);
    for (uint32_t k = 0; k < si.nneeds; k++) FZ_CHECK(wfw_def_stage_index(d, si.needs[k]) >= 0);
  }
  FZ_CHECK(wfw_def_stage_index(d, "") == -1);
}

/* Bind one -p set; on success plan it (and, the first time, the selections too). */
static void bind_and_plan(const wfw_def *d, const char *const *kv, size_t n, int *planned) {
  uint8_t *params;
  size_t len;
  wfw_err err;
  int rc = wfw_bind_params(d, kv, n, &params, &len, &err);
  check_err(rc, &err);
  if (rc) return;
  FZ_CHECK(wfm_validate(params, len) == 0);
  plan_and_drive(d, params, len, NULL, NULL, NULL, NULL);
  if (!*planned) selections(d, params, len);
  *planned = 1;
  free(params);
}

static void bind_sets(const wfw_def *d) {
  uint32_t np = wfw_def_nparams(d);
  int planned = 0;
  if (np > 16) np = 16;
  char typed[16][96], empty[16][96];
  const char *kv[16];
  for (uint32_t i = 0; i < np; i++) {
    wfw_param_info pi;
    wfw_def_param(d, i, &pi);
    const char *v = strcmp(pi.type, "int") == 0    ? "42"
                    : strcmp(pi.type, "date") == 0 ? "2026-01-31"
                    : strcmp(pi.type, "bool") == 0 ? "true"
                                                   : "fuzz value ${params.x} $${y}";
    snprintf(typed[i], sizeof typed[i], "%.60s=%s", pi.name, v);
    snprintf(empty[i], sizeof empty[i], "%.60s=", pi.name);
  }
  bind_and_plan(d, NULL, 0, &planned);
  for (uint32_t i = 0; i < np; i++) kv[i] = typed[i];
  bind_and_plan(d, kv, np, &planned);
  for (uint32_t i = 0; i < np; i++) kv[i] = empty[i];
  bind_and_plan(d, kv, np, &planned);
  static const char *const odd[] = {"date=2026-02-30", "n=99999999999999999999", "=x", "x",
                                    "verbose=maybe", "date=2026-1-1", "n=-0", "flag=TRUE"};
  bind_and_plan(d, odd, sizeof odd / sizeof odd[0], &planned);
  if (np > 0) {
    /* a repeated key */
    const char *twice[] = {typed[0], typed[0]};
    bind_and_plan(d, twice, 2, &planned);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  wfw_def *d = NULL;
  wfw_err err;
  int rc = wfw_parse((const char *)data, size, "fuzz/def.json", &d, &err);
  check_err(rc, &err);
  if (rc) {
    FZ_CHECK(d == NULL);
    return 0;
  }
  introspect(d);
  bind_sets(d);
  wfw_def_free(d);
  return 0;
}
