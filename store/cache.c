/* cache.c — the cross-run cache index: which succeeded step produced an output from a
 * given input, found by one key lookup however many runs the store holds.
 *
 * Two kinds of keys in the `cache` database:
 *   'h' . workflow . '\0' . activity . '\0' . input hash (8, big-endian) -> [run id, step key]
 *   'r' . run id . '\0' . step key -> the 'h' key that step wrote
 * The 'r' keys let a run's entries be dropped with its records (a prefix range of the run)
 * without scanning the index. An 'h' entry is replaced when a newer step indexes the same
 * input; the older step's 'r' key then names an entry that is no longer its own, and
 * dropping that run leaves the entry alone.
 */
#include <stdlib.h>
#include <string.h>

#include "wfs_internal.h"

#define CKEY_CAP WFS_MAX_KEY

typedef struct ckey {
  uint8_t b[CKEY_CAP];
  size_t n;
} ckey;

static int add(ckey *k, const void *p, size_t n) {
  if (k->n + n > CKEY_CAP) return WF_EINVAL;
  memcpy(k->b + k->n, p, n);
  k->n += n;
  return 0;
}

static int hash_key(ckey *k, const char *workflow, const char *activity, uint64_t hash) {
  uint8_t be[8];
  wfs__be64_put(be, hash);
  k->n = 0;
  int rc = add(k, "h", 1);
  if (!rc) rc = add(k, workflow, strlen(workflow) + 1);
  if (!rc) rc = add(k, activity, strlen(activity) + 1);
  return rc ? rc : add(k, be, 8);
}

/* 'r' . run id . '\0' (. step key when key is not NULL). */
static int run_key(ckey *k, const char *run_id, const char *key) {
  k->n = 0;
  int rc = add(k, "r", 1);
  if (!rc) rc = add(k, run_id, strlen(run_id) + 1);
  return rc || !key ? rc : add(k, key, strlen(key));
}

static int mdb(wfs_txn *t, int rc) {
  return rc == MDB_NOTFOUND ? WF_ENOTFOUND : wfs__mdb_err(t->env, rc);
}

/* The [run, step] value of an 'h' entry, checked. */
static int decode_source(const MDB_val *d, char **run_id, char **key) {
  wfm_reader r;
  uint32_t n;
  *run_id = *key = NULL;
  wfm_reader_init(&r, d->mv_data, d->mv_size);
  int rc = wfm_read_array(&r, &n);
  if (!rc && n != 2) rc = WF_ECORRUPT;
  if (!rc) rc = wfm_read_str_opt(&r, run_id);
  if (!rc) rc = wfm_read_str_opt(&r, key);
  if (!rc && (!*run_id || !*key || r.p != r.end)) rc = WF_ECORRUPT;
  if (rc) {
    free(*run_id);
    free(*key);
    *run_id = *key = NULL;
  }
  return rc;
}

int wfs_cache_put(wfs_txn *t, const char *workflow, const char *activity, uint64_t input_hash,
                  const char *run_id, const char *key) {
  ckey h, r;
  if (!t->env->has_cache) return 0;
  int rc = hash_key(&h, workflow, activity, input_hash);
  if (!rc) rc = run_key(&r, run_id, key);
  if (rc) return rc;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 2);
  wfm_pack_str(&pk, run_id);
  wfm_pack_str(&pk, key);
  MDB_val hk = {h.n, h.b}, hv = {sb.size, sb.data}, rk = {r.n, r.b}, rv = {h.n, h.b};
  rc = mdb_put(t->txn, t->env->cache, &hk, &hv, 0);
  if (!rc) rc = mdb_put(t->txn, t->env->cache, &rk, &rv, 0);
  msgpack_sbuffer_destroy(&sb);
  return rc ? wfs__mdb_err(t->env, rc) : 0;
}

int wfs_cache_get(wfs_txn *t, const char *workflow, const char *activity, uint64_t input_hash,
                  char **run_id, char **key) {
  ckey h;
  MDB_val d;
  *run_id = *key = NULL;
  if (!t->env->has_cache) return WF_ENOTFOUND;
  int rc = hash_key(&h, workflow, activity, input_hash);
  if (rc) return rc == WF_EINVAL ? WF_ENOTFOUND : rc;
  MDB_val hk = {h.n, h.b};
  if ((rc = mdb_get(t->txn, t->env->cache, &hk, &d))) return mdb(t, rc);
  return decode_source(&d, run_id, key);
}

/* The 'h' entry `hk` when it still names (run_id, step): deleted. */
static int drop_own(wfs_txn *t, MDB_val *hk, const char *run_id, const char *step,
                    size_t step_n) {
  MDB_val d;
  char *r = NULL, *k = NULL;
  int rc = mdb_get(t->txn, t->env->cache, hk, &d);
  if (rc) return rc == MDB_NOTFOUND ? 0 : wfs__mdb_err(t->env, rc);
  int own = decode_source(&d, &r, &k) == 0 && strcmp(r, run_id) == 0 &&
            strlen(k) == step_n && memcmp(k, step, step_n) == 0;
  free(r);
  free(k);
  /* A damaged entry is dropped too: no reader can use it. */
  if (!own && r) return 0;
  rc = mdb_del(t->txn, t->env->cache, hk, NULL);
  return rc == MDB_NOTFOUND ? 0 : wfs__mdb_err(t->env, rc);
}

/* One 'r' entry of a run being dropped: its key and the 'h' key it names. */
typedef struct owned_entry {
  ckey r, h;
} owned_entry;

/* prefix is not const: MDB_val is not, though LMDB does not write through a key. */
static int collect(wfs_txn *t, ckey *prefix, owned_entry **out, size_t *n) {
  MDB_cursor *c;
  MDB_val k = {prefix->n, prefix->b}, d;
  size_t cap = 0;
  *out = NULL;
  *n = 0;
  int rc = mdb_cursor_open(t->txn, t->env->cache, &c);
  if (rc) return wfs__mdb_err(t->env, rc);
  for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
       !rc && k.mv_size >= prefix->n && memcmp(k.mv_data, prefix->b, prefix->n) == 0;
       rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
    if (*n == cap) {
      cap = cap ? cap * 2 : 16;
      owned_entry *g = realloc(*out, cap * sizeof *g);
      if (!g) {
        mdb_cursor_close(c);
        return WF_ENOMEM;
      }
      *out = g;
    }
    owned_entry *e = &(*out)[(*n)++];
    e->r.n = e->h.n = 0;
    add(&e->r, k.mv_data, k.mv_size);
    if (d.mv_size <= CKEY_CAP) add(&e->h, d.mv_data, d.mv_size);
  }
  mdb_cursor_close(c);
  return rc == MDB_NOTFOUND ? 0 : wfs__mdb_err(t->env, rc);
}

int wfs_cache_drop_run(wfs_txn *t, const char *run_id) {
  ckey prefix;
  owned_entry *list;
  size_t n;
  if (!t->env->has_cache) return 0;
  int rc = run_key(&prefix, run_id, NULL);
  if (!rc) rc = collect(t, &prefix, &list, &n);
  if (rc) return rc;
  for (size_t i = 0; i < n && rc == 0; i++) {
    owned_entry *e = &list[i];
    MDB_val hk = {e->h.n, e->h.b}, rk = {e->r.n, e->r.b};
    const char *step = (const char *)e->r.b + prefix.n;
    if (e->h.n) rc = drop_own(t, &hk, run_id, step, e->r.n - prefix.n);
    if (rc == 0) {
      int mrc = mdb_del(t->txn, t->env->cache, &rk, NULL);
      if (mrc && mrc != MDB_NOTFOUND) rc = wfs__mdb_err(t->env, mrc);
    }
  }
  free(list);
  return rc;
}
