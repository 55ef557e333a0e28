/* output.c — a stage's recorded output as the hooks building later inputs see it: the
 * step's output for a single stage, a map item key -> output for a fan-out. */
#include <stdlib.h>
#include <string.h>

#include "sched_int.h"
#include "wfmp.h"

struct collect {
  msgpack_packer pk;
  size_t prefix_len;
  uint32_t n;
};

static int collect_item(void *ud, const wfs_step *s) {
  struct collect *c = ud;
  if (s->status != WFS_STEP_SUCCEEDED) return 0;
  wfm_pack_str(&c->pk, s->key + c->prefix_len);
  wfm_pack_raw(&c->pk, s->output, s->output_len);
  c->n++;
  return 0;
}

static int copy_out(const uint8_t *p, size_t n, uint8_t **out, size_t *len) {
  static const uint8_t nil = 0xc0;
  if (!p || !n) {
    p = &nil;
    n = 1;
  }
  *out = malloc(n);
  if (!*out) return WF_ENOMEM;
  memcpy(*out, p, n);
  *len = n;
  return 0;
}

int wfi_exec_stage_output(wfi_exec *x, uint32_t stage, uint8_t **out, size_t *len) {
  if (stage >= x->plan->nstages) return WF_EINVAL;
  const wfi_stage *sd = &x->plan->stages[stage];
  wfs_txn t;
  int rc = wfs_read_begin(x->env, &t);
  if (rc) return rc;
  if (!sd->fanout) {
    wfs_step s = {0};
    rc = wfs_step_get(&t, x->run.id, sd->id, &s);
    wfs_read_end(&t);
    if (rc == WF_ENOTFOUND || (rc == 0 && s.status != WFS_STEP_SUCCEEDED)) {
      wfs_step_clear(&s);
      return copy_out(NULL, 0, out, len);
    }
    if (rc == 0) rc = copy_out(s.output, s.output_len, out, len);
    wfs_step_clear(&s);
    return rc;
  }
  char prefix[WFS_MAX_STEP_KEY + 2];
  snprintf(prefix, sizeof prefix, "%s/", sd->id);
  msgpack_sbuffer items;
  msgpack_sbuffer_init(&items);
  struct collect c;
  msgpack_packer_init(&c.pk, &items, msgpack_sbuffer_write);
  c.prefix_len = strlen(prefix);
  c.n = 0;
  rc = wfs_steps_scan(&t, x->run.id, prefix, collect_item, &c);
  wfs_read_end(&t);
  if (rc == 0) {
    msgpack_sbuffer whole;
    msgpack_sbuffer_init(&whole);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &whole, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, c.n);
    msgpack_sbuffer_write(&whole, items.data, items.size);
    *out = (uint8_t *)whole.data;
    *len = whole.size;
    if (!*out) rc = copy_out(NULL, 0, out, len);
  }
  msgpack_sbuffer_destroy(&items);
  return rc;
}
