/* hooks.c — the plan's hooks: building a step's msgpack input by interpolating the
 * stage's templates, and the lazy cursor over a fan-out stage's items; both read
 * recorded stage outputs through a cache kept per execution.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys.h"
#include "wfmp.h"
#include "wfw_int.h"

struct wfi_items {
  wfw_plan_state *p;
  wfi_exec *x;
  uint32_t stage;
  const cJSON *cur;        /* next item; borrowed from the cached output */
  uint64_t index;
  cJSON *owned;            /* the array when it is not borrowed */
  uint8_t *mp;             /* the last item returned */
  size_t len;
  int checked;             /* the keys were compared (before the first item) */
  uint64_t count;          /* items in all */
};

void wfw_plan_clear_cache(wfw_plan_state *p) {
  for (uint32_t i = 0; i < p->plan.nstages; i++) {
    free(p->outs[i].mp);
    cJSON_Delete(p->outs[i].json);
    memset(&p->outs[i], 0, sizeof p->outs[i]);
  }
  free(p->run_dir);
  p->run_dir = NULL;
  p->x = NULL;
}

/* $home/runs/<run id>, absolute so that a step with another cwd can use it. */
static char *run_dir_of(const wfw_plan_state *p, const char *run_id) {
  const char *home = p->home && *p->home ? p->home : ".wf";
  char cwd[PATH_MAX] = "";
  if (home[0] != '/' && !getcwd(cwd, sizeof cwd)) cwd[0] = '\0';
  size_t n = strlen(cwd) + strlen(home) + strlen(run_id) + 16;
  char *s = malloc(n);
  if (s) snprintf(s, n, "%s%s%s/runs/%s", cwd, cwd[0] ? "/" : "", home, run_id);
  return s;
}

int wfw_plan_bind_exec(wfw_plan_state *p, wfi_exec *x) {
  if (p->x == x && p->run_dir) return 0;
  wfw_plan_clear_cache(p);
  const char *id = p->io.run_id ? p->io.run_id(x) : NULL;
  const char *dir = p->io.run_dir ? p->io.run_dir(x) : NULL;
  p->run_dir = dir ? strdup(dir) : run_dir_of(p, id ? id : "");
  if (!p->run_dir) return WF_ENOMEM;
  p->x = x;
  return 0;
}

void wfw_plan_error(wfw_plan_state *p, uint32_t stage, const char *fmt, ...) {
  char msg[1024];
  int n = snprintf(msg, sizeof msg, "stage \"%s\": ", p->d->stages[stage].id);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
  va_end(ap);
  if (p->io.error) p->io.error(p->x, msg);
}

int wfw_plan_output(wfw_plan_state *p, uint32_t stage, int json, const wfw_out **out) {
  wfw_out *o = &p->outs[stage];
  int rc;
  if (!o->fetched) {
    if ((rc = p->io.stage_output(p->x, stage, &o->mp, &o->len)) != 0) {
      o->mp = NULL;
      o->len = 0;
      return rc;
    }
    o->fetched = 1;
  }
  if (json && !o->json) {
    rc = o->mp ? wfa_mp_to_json(o->mp, o->len, &o->json) : 0;
    if (rc) return rc;
    if (!o->json && !(o->json = cJSON_CreateNull())) return WF_ENOMEM;
  }
  *out = o;
  return 0;
}

static int ctx_output(void *ud, int stage, const char *id, const cJSON **out) {
  wfw_plan_state *p = ud;
  int i = stage >= 0 ? stage : wfw_def_stage_index(p->d, id);
  const wfw_out *o;
  if (i < 0) return WF_ENOTFOUND;
  int rc = wfw_plan_output(p, (uint32_t)i, 1, &o);
  if (rc) return rc;
  *out = o->json;
  return 0;
}

static void ctx_init(wfw_plan_state *p, wfw_ictx *c, const cJSON *item) {
  memset(c, 0, sizeof *c);
  c->params = p->params_json;
  c->item = item;
  c->run_id = p->io.run_id ? p->io.run_id(p->x) : NULL;
  c->run_dir = p->run_dir;
  c->workflow_dir = p->d->dir;
  c->stage_output = ctx_output;
  c->ud = p;
}

static int fail_ctx(wfw_plan_state *p, uint32_t stage, wfw_ictx *c, int rc) {
  if (rc == WF_ENOMEM) wfw_plan_error(p, stage, "out of memory");
  else wfw_plan_error(p, stage, "%s", c->err[0] ? c->err : wf_strerror(rc));
  return rc;
}

static int pack_str(msgpack_packer *pk, const wfw_tmpl *t, wfw_ictx *c) {
  char *s;
  int rc = wfw_tmpl_eval_str(t, c, &s);
  if (rc) return rc;
  wfm_pack_str(pk, s);
  free(s);
  return 0;
}

/* "inputs": the outputs of the stages this one needs, less the one a fan-out iterates
 * (each item gets its element instead: a big source is not copied into every step). */
static int pack_inputs(wfw_plan_state *p, uint32_t stage, msgpack_packer *pk) {
  const wfw_stage *s = &p->d->stages[stage];
  uint32_t n = 0;
  for (uint32_t k = 0; k < s->nneeds; k++) n += (int)s->needs[k] != s->foreach_stage;
  msgpack_pack_map(pk, n);
  for (uint32_t k = 0; k < s->nneeds; k++) {
    const wfw_out *o;
    if ((int)s->needs[k] == s->foreach_stage) continue;
    int rc = wfw_plan_output(p, s->needs[k], 0, &o);
    if (rc) {
      wfw_plan_error(p, stage, "no recorded output of needed stage \"%s\" (%s)",
                     s->need_ids[k], wf_strerror(rc));
      return rc;
    }
    wfm_pack_str(pk, s->need_ids[k]);
    wfm_pack_raw(pk, o->mp, o->len);
  }
  return 0;
}

/* "check": {"run": argv, "cwd": the stage's or nil}, for the checked activity (check.c).
 * In the input, so that a changed check is a changed step. */
static int pack_check(msgpack_packer *pk, const wfw_stage *s, wfw_ictx *c) {
  int rc = 0;
  wfm_pack_str(pk, "check");
  msgpack_pack_map(pk, 2);
  wfm_pack_str(pk, "run");
  msgpack_pack_array(pk, s->ncheck);
  for (uint32_t k = 0; k < s->ncheck && rc == 0; k++) rc = pack_str(pk, &s->check[k], c);
  if (rc) return rc;
  wfm_pack_str(pk, "cwd");
  if (s->has_cwd) return pack_str(pk, &s->cwd, c);
  msgpack_pack_nil(pk);
  return 0;
}

static int pack_body(wfw_plan_state *p, uint32_t stage, wfw_ictx *c, msgpack_packer *pk) {
  const wfw_stage *s = &p->d->stages[stage];
  int rc = 0;
  msgpack_pack_map(pk, (s->mode == WFW_USES ? 4 : 5) + (s->ncheck ? 1 : 0));
  if (s->mode == WFW_RUN) {
    wfm_pack_str(pk, "run");
    msgpack_pack_array(pk, s->argc);
    for (uint32_t k = 0; k < s->argc && rc == 0; k++) rc = pack_str(pk, &s->argv[k], c);
  } else if (s->mode == WFW_SHELL) {
    wfm_pack_str(pk, "shell");
    rc = pack_str(pk, &s->shell, c);
  } else {
    cJSON *with = NULL;
    wfm_pack_str(pk, "with");
    rc = s->with ? wfw_json_interp(s->with, c, &with) : 0;
    if (rc == 0 && with && (rc = wfa_json_to_mp(with, pk)) == WF_EINVAL)
      snprintf(c->err, sizeof c->err, "\"with\" nests deeper than %d levels once interpolated: "
               "wf takes values at most %d levels deep", WFM_MAX_VALUE_DEPTH, WFM_MAX_VALUE_DEPTH);
    else if (rc == 0 && !with) msgpack_pack_map(pk, 0);
    cJSON_Delete(with);
  }
  if (rc) return fail_ctx(p, stage, c, rc);
  if (s->mode != WFW_USES) {
    wfm_pack_str(pk, "cwd");
    if (s->has_cwd && (rc = pack_str(pk, &s->cwd, c)) != 0) return fail_ctx(p, stage, c, rc);
    if (!s->has_cwd) msgpack_pack_nil(pk);
  }
  if (s->ncheck && (rc = pack_check(pk, s, c)) != 0) return fail_ctx(p, stage, c, rc);
  wfm_pack_str(pk, "params");
  if (p->params) wfm_pack_raw(pk, p->params, p->params_len);
  else msgpack_pack_map(pk, 0);
  wfm_pack_str(pk, "inputs");
  return pack_inputs(p, stage, pk);
}

static int build_input(void *ud, wfi_exec *x, uint32_t stage, const uint8_t *item,
                       size_t item_len, uint8_t **in, size_t *in_len) {
  wfw_plan_state *p = ud;
  cJSON *ijson = NULL;
  wfw_ictx c;
  *in = NULL;
  *in_len = 0;
  int rc = wfw_plan_bind_exec(p, x);
  if (rc) return rc;
  if (item && (rc = wfa_mp_to_json(item, item_len, &ijson)) != 0) {
    wfw_plan_error(p, stage, "the item is not valid msgpack (%s)", wf_strerror(rc));
    return rc;
  }
  ctx_init(p, &c, ijson);
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  rc = pack_body(p, stage, &c, &pk);
  if (rc == 0) {
    wfm_pack_str(&pk, "item");
    wfm_pack_raw(&pk, item, item ? item_len : 0);
  }
  cJSON_Delete(ijson);
  if (rc) {
    msgpack_sbuffer_destroy(&sb);
    return rc;
  }
  *in = (uint8_t *)sb.data;
  *in_len = sb.size;
  return 0;
}

/* What every item's input is made of besides the item: the items, the stage as written,
 * the params, the outputs of the stages it needs (the iterated one too: a template may read
 * more of it than the items) and the run's places. A recorded stage with the same
 * fingerprint has every item recorded with the input it would get now; without the params
 * and the stage's text, a rerun with another -p or an edited command would reuse every
 * item's old result. */
static int stage_fingerprint(wfw_plan_state *p, uint32_t stage, uint64_t items_hash,
                             const wfw_ictx *c, uint64_t *out) {
  const wfw_stage *s = &p->d->stages[stage];
  const cJSON *node = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(p->d->root, "stages"),
                                         (int)stage);
  char *text = node ? cJSON_PrintUnformatted(node) : NULL;
  if (!text) return WF_ENOMEM;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 6 + s->nneeds);
  msgpack_pack_uint64(&pk, items_hash);
  wfm_pack_str(&pk, text);
  cJSON_free(text);
  if (p->params) wfm_pack_raw(&pk, p->params, p->params_len);
  else msgpack_pack_nil(&pk);
  wfm_pack_str(&pk, c->run_id);
  wfm_pack_str(&pk, c->run_dir);
  wfm_pack_str(&pk, c->workflow_dir);
  int rc = 0;
  for (uint32_t k = 0; k < s->nneeds && rc == 0; k++) {
    const wfw_out *o;
    if ((rc = wfw_plan_output(p, s->needs[k], 0, &o)) == 0)
      msgpack_pack_uint64(&pk, o->mp ? wfs_hash(o->mp, o->len) : 0);
  }
  if (rc == 0) *out = wfs_hash(sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

static int items_open(void *ud, wfi_exec *x, uint32_t stage, wfi_items **it,
                      uint64_t *source_hash) {
  wfw_plan_state *p = ud;
  const wfw_stage *s = &p->d->stages[stage];
  const cJSON *arr;
  cJSON *tmp = NULL;
  wfw_ictx c;
  uint8_t *mp = NULL;
  size_t len = 0;
  *it = NULL;
  int rc = wfw_plan_bind_exec(p, x);
  if (rc) return rc;
  ctx_init(p, &c, NULL);
  if ((rc = wfw_expr_resolve(&s->foreach.parts[0].expr, &c, &arr, &tmp)) != 0)
    return fail_ctx(p, stage, &c, rc);
  if (!cJSON_IsArray(arr)) {
    wfw_plan_error(p, stage, "foreach of stage %s is not an array: %s (%s)", s->id,
                   wfw_json_type(arr), s->foreach_src);
    cJSON_Delete(tmp);
    return WF_EINVAL;
  }
  struct wfi_items *cur = calloc(1, sizeof *cur);
  if (!cur || (rc = wfa_json_to_mp_buf(arr, &mp, &len)) != 0) {
    free(cur);
    cJSON_Delete(tmp);
    wfw_plan_error(p, stage, "cannot encode the items of %s", s->foreach_src);
    return cur ? rc : WF_ENOMEM;
  }
  rc = stage_fingerprint(p, stage, wfs_hash(mp, len), &c, source_hash);
  free(mp);
  if (rc) {
    free(cur);
    cJSON_Delete(tmp);
    wfw_plan_error(p, stage, "cannot read the outputs it needs (%s)", wf_strerror(rc));
    return rc;
  }
  cur->p = p;
  cur->x = x;
  cur->stage = stage;
  cur->owned = tmp;
  cur->cur = arr->child;
  for (const cJSON *e = arr->child; e; e = e->next) cur->count++;
  *it = cur;
  return 0;
}

/* The list is whole in memory from the start: progress can show it all. */
static int items_count(wfi_items *it, uint64_t *n) {
  *n = it->count;
  return 1;
}

/* A key for a message: quotes, backslashes and control characters escaped (a newline
 * shows as \n), cut at about 60 bytes on a character boundary. */
static void shown(const char *k, char *buf, size_t cap) {
  size_t o = 0, n = strlen(k), i;
  for (i = 0; i < n && o + 8 < cap && i < 60; i++) {
    unsigned char c = (unsigned char)k[i];
    if (c == '"' || c == '\\') o += (size_t)snprintf(buf + o, cap - o, "\\%c", c);
    else if (c == '\n') o += (size_t)snprintf(buf + o, cap - o, "\\n");
    else if (c == '\t') o += (size_t)snprintf(buf + o, cap - o, "\\t");
    else if (c == '\r') o += (size_t)snprintf(buf + o, cap - o, "\\r");
    else if (c < 0x20 || c == 0x7f) o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
    else buf[o++] = (char)c;
  }
  while (i < n && o > 0 && ((unsigned char)k[i] & 0xc0) == 0x80) { /* a cut character */
    o--;
    i--;
  }
  snprintf(buf + o, cap - o, "%s", i < n ? "..." : "");
}

static const char *key_problem(const char *key) {
  size_t n = strlen(key);
  if (n == 0) return "is empty";
  if (n > WFW_MAX_ITEM_KEY) return "is longer than 200 bytes";
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)key[i] < 0x20 || key[i] == 0x7f) return "contains a control character";
  return NULL;
}

/* The key (and, with cls, the class) of item `index`, checked: a key must be usable in a
 * step key, a class short enough. Errors are reported. */
static int item_key(wfw_plan_state *p, uint32_t stage, const cJSON *item, uint64_t index,
                    char **key, char **cls) {
  const wfw_stage *s = &p->d->stages[stage];
  char *k = NULL, *cl = NULL, sk[256];
  wfw_ictx c;
  const char *why;
  int rc = 0;
  *key = NULL;
  if (cls) *cls = NULL;
  ctx_init(p, &c, item);
  if ((rc = wfw_tmpl_eval_str(&s->key, &c, &k)) != 0 ||
      (cls && s->has_cls && (rc = wfw_tmpl_eval_str(&s->cls, &c, &cl)) != 0)) {
    wfw_plan_error(p, stage, "item %llu: %s", (unsigned long long)index,
                   rc == WF_ENOMEM ? "out of memory" : c.err);
  } else if ((why = key_problem(k)) != NULL) {
    shown(k, sk, sizeof sk);
    wfw_plan_error(p, stage, "item %llu: key \"%s\" %s (from \"key\" of the stage); no step of "
                   "the stage was started", (unsigned long long)index, sk, why);
    rc = WF_EINVAL;
  } else if (cl && strlen(cl) >= WFW_MAX_CLASS) {
    shown(cl, sk, sizeof sk);
    wfw_plan_error(p, stage, "item %llu: class \"%s\" is longer than %d bytes",
                   (unsigned long long)index, sk, WFW_MAX_CLASS - 1);
    rc = WF_EINVAL;
  }
  if (rc) {
    free(k);
    free(cl);
    return rc;
  }
  *key = k;
  if (cls) *cls = cl;
  else free(cl);
  return 0;
}

static int keys_src_key(void *ud, const cJSON *item, uint64_t index, int check, char **key) {
  struct wfi_items *it = ud;
  char *cl = NULL;
  int rc = item_key(it->p, it->stage, item, index, key, check ? &cl : NULL);
  free(cl);
  return rc;
}

/* Before the first step of the stage: every key usable, no two the same. */
static int check_keys(struct wfi_items *it) {
  wfw_keys_src src = {it->cur, keys_src_key, it};
  wfw_keys_dup dup;
  int rc = wfw_keys_unique(&src, NULL, &dup);
  if (rc == WF_ENOMEM) wfw_plan_error(it->p, it->stage, "out of memory comparing item keys");
  if (rc != WFW_KEYS_DUP) return rc;
  char *k = NULL, sk[256];
  if ((rc = item_key(it->p, it->stage, dup.item, dup.second, &k, NULL)) != 0) return rc;
  shown(k, sk, sizeof sk);
  free(k);
  wfw_plan_error(it->p, it->stage, "item %llu has the same key \"%s\" as item %llu (items "
                 "count from 0): each item needs a key of its own, or one would overwrite the "
                 "other's result; make \"key\" of the stage tell them apart. No step of the "
                 "stage was started", (unsigned long long)dup.second, sk,
                 (unsigned long long)dup.first);
  return WF_EINVAL;
}

static int items_next(wfi_items *it, const uint8_t **item, size_t *item_len, char *key,
                      size_t keycap, char *cls, size_t clscap) {
  wfw_plan_state *p = it->p;
  char *k = NULL, *cl = NULL;
  free(it->mp);
  it->mp = NULL;
  if (!it->cur) return 0;
  int rc = wfw_plan_bind_exec(p, it->x);
  if (rc) return rc;
  if (!it->checked) {
    if ((rc = check_keys(it)) != 0) return rc;
    it->checked = 1;
  }
  if ((rc = item_key(p, it->stage, it->cur, it->index, &k, &cl)) == 0) {
    if (strlen(k) >= keycap || (cl && strlen(cl) >= clscap)) {
      wfw_plan_error(p, it->stage, "item %llu: its key or class is too long",
                     (unsigned long long)it->index);
      rc = WF_EINVAL;
    } else if ((rc = wfa_json_to_mp_buf(it->cur, &it->mp, &it->len)) != 0) {
      wfw_plan_error(p, it->stage, "item %llu: cannot encode it (%s)",
                     (unsigned long long)it->index, wf_strerror(rc));
    } else {
      snprintf(key, keycap, "%s", k);
      snprintf(cls, clscap, "%s", cl ? cl : "");
      *item = it->mp;
      *item_len = it->len;
      it->cur = it->cur->next;
      it->index++;
    }
  }
  free(k);
  free(cl);
  return rc ? rc : 1;
}

static void items_close(wfi_items *it) {
  if (!it) return;
  free(it->mp);
  cJSON_Delete(it->owned);
  free(it);
}

const wfi_plan_ops wfw_hooks = {build_input, items_open, items_next, items_close, items_count};
