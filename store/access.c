/* access.c — reading and writing runs, steps and events by key, with the run indexes
 * kept in step with the run records; key encoding and key checks. */
#include <stdlib.h>
#include <string.h>

#include "wfs_internal.h"

/* Longest key: run id, NUL, step key. */
#define KEY_CAP (WFS_MAX_ID + 1 + WFS_MAX_STEP_KEY)

void wfs__be64_put(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}

uint64_t wfs__be64_get(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
  return v;
}

/* ---- key checks ----------------------------------------------------------------- */

int wfs_check_run_id(const char *id) {
  if (!id || !*id || *id == '.' || *id == '-') return WF_EINVAL;
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)id; *p; p++, n++)
    if (n >= WFS_MAX_ID || *p < 0x21 || *p > 0x7e || *p == '/' || *p == '\\') return WF_EINVAL;
  return 0;
}

int wfs_check_step_key(const char *key) {
  if (!key || !*key) return WF_EINVAL;
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)key; *p; p++, n++)
    if (n >= WFS_MAX_STEP_KEY || *p < 0x20 || *p == 0x7f) return WF_EINVAL;
  return 0;
}

/* ---- keys ------------------------------------------------------------------------ */

typedef struct key {
  uint8_t b[KEY_CAP];
  size_t n;
} key;

/* LMDB does not write through a key it is given, but MDB_val is not const: keys are built
 * in a key the caller may lend. */
static MDB_val val_of(key *k) { return (MDB_val){k->n, k->b}; }

static void key_add(key *k, const void *p, size_t n) {
  memcpy(k->b + k->n, p, n);
  k->n += n;
}

static void key_add_be64(key *k, uint64_t v) {
  wfs__be64_put(k->b + k->n, v);
  k->n += 8;
}

/* run id . '\0': the prefix of all of a run's steps and events. */
static void key_run_prefix(key *k, const char *id) {
  k->n = 0;
  key_add(k, id, strlen(id) + 1);
}

static void key_by_status(key *k, const char *id, uint8_t status, int64_t created_at) {
  k->n = 0;
  key_add(k, &status, 1);
  key_add_be64(k, (uint64_t)created_at);
  key_add(k, id, strlen(id));
}

static void key_by_time(key *k, const char *id, int64_t created_at) {
  k->n = 0;
  key_add_be64(k, (uint64_t)created_at);
  key_add(k, id, strlen(id));
}

static int has_prefix(const MDB_val *v, const key *prefix) {
  return v->mv_size >= prefix->n && memcmp(v->mv_data, prefix->b, prefix->n) == 0;
}

/* ---- small LMDB wrappers -------------------------------------------------------- */

static int put(wfs_txn *t, MDB_dbi db, key *k, void *p, size_t n, unsigned flags) {
  MDB_val kv = val_of(k), d = {n, p};
  return wfs__mdb_err(t->env, mdb_put(t->txn, db, &kv, &d, flags));
}

static int put_record(wfs_txn *t, MDB_dbi db, key *k, uint8_t *enc, size_t n,
                      unsigned flags) {
  int rc = put(t, db, k, enc, n, flags);
  free(enc);
  return rc;
}

/* Deleting what is already gone is not an error. */
static int del(wfs_txn *t, MDB_dbi db, key *k) {
  MDB_val kv = val_of(k);
  int rc = mdb_del(t->txn, db, &kv, NULL);
  return rc == MDB_NOTFOUND ? 0 : wfs__mdb_err(t->env, rc);
}

static int get(wfs_txn *t, MDB_dbi db, key *k, MDB_val *d) {
  MDB_val kv = val_of(k);
  return wfs__mdb_err(t->env, mdb_get(t->txn, db, &kv, d));
}

static int del_prefix(wfs_txn *t, MDB_dbi db, key *prefix) {
  MDB_cursor *c;
  MDB_val k = val_of(prefix), d;
  int rc = mdb_cursor_open(t->txn, db, &c);
  if (rc) return wfs__mdb_err(t->env, rc);
  /* After mdb_cursor_del the cursor already sits on the next entry; MDB_NEXT knows. */
  for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); !rc && has_prefix(&k, prefix);
       rc = mdb_cursor_get(c, &k, &d, MDB_NEXT))
    if ((rc = mdb_cursor_del(c, 0))) break;
  mdb_cursor_close(c);
  return rc == MDB_NOTFOUND ? 0 : wfs__mdb_err(t->env, rc);
}

static int scan_end(wfs_txn *t, int mrc);

/* ---- runs ------------------------------------------------------------------------- */

int wfs_run_get(wfs_txn *t, const char *id, wfs_run *out) {
  key k;
  MDB_val d;
  memset(out, 0, sizeof *out);
  int rc = wfs_check_run_id(id);
  if (rc) return rc;
  k.n = 0;
  key_add(&k, id, strlen(id));
  if ((rc = get(t, t->env->runs, &k, &d))) return rc;
  return wfs_run_decode(d.mv_data, d.mv_size, out);
}

int wfs_run_peek(wfs_txn *t, const char *id, wfs_run_head *out) {
  key k;
  MDB_val d;
  memset(out, 0, sizeof *out);
  int rc = wfs_check_run_id(id);
  if (rc) return rc;
  k.n = 0;
  key_add(&k, id, strlen(id));
  if ((rc = get(t, t->env->runs, &k, &d))) return rc;
  return wfs_run_head_decode(d.mv_data, d.mv_size, out);
}

static int index_del(wfs_txn *t, const char *id, uint8_t status, int64_t created_at) {
  key k;
  key_by_status(&k, id, status, created_at);
  int rc = del(t, t->env->by_status, &k);
  if (rc) return rc;
  key_by_time(&k, id, created_at);
  return del(t, t->env->by_time, &k);
}

static int index_put(wfs_txn *t, const char *id, uint8_t status, int64_t created_at) {
  key k;
  key_by_status(&k, id, status, created_at);
  int rc = put(t, t->env->by_status, &k, "", 0, 0);
  if (rc) return rc;
  key_by_time(&k, id, created_at);
  return put(t, t->env->by_time, &k, "", 0, 0);
}

int wfs_run_put(wfs_txn *t, const wfs_run *r, const wfs_run *old) {
  key k;
  uint8_t *enc;
  size_t n;
  int rc = wfs_check_run_id(r->id);
  if (rc) return rc;
  if (r->status >= WFS_RUN_NSTATUS || r->status == WFS_RUN_INTERRUPTED) return WF_EINVAL;
  if (old && (!old->id || strcmp(old->id, r->id) != 0)) return WF_EINVAL;
  if ((rc = wfs_run_encode(r, &enc, &n))) return rc;
  k.n = 0;
  key_add(&k, r->id, strlen(r->id));
  /* A "new" run that exists would leave the old index keys behind. */
  if ((rc = put_record(t, t->env->runs, &k, enc, n, old ? 0 : MDB_NOOVERWRITE))) return rc;
  if (old && old->status == r->status && old->created_at == r->created_at) return 0;
  if (old && (rc = index_del(t, r->id, old->status, old->created_at))) return rc;
  return index_put(t, r->id, r->status, r->created_at);
}

int wfs_run_del(wfs_txn *t, const wfs_run *r) {
  key k;
  wfs_run stored;
  int rc = wfs_check_run_id(r->id);
  if (rc) return rc;
  /* The index keys come from the record as stored, in case r is out of date. */
  if (wfs_run_get(t, r->id, &stored) == 0) {
    rc = index_del(t, r->id, stored.status, stored.created_at);
    wfs_run_clear(&stored);
    if (rc) return rc;
  }
  if ((rc = index_del(t, r->id, r->status, r->created_at))) return rc;
  k.n = 0;
  key_add(&k, r->id, strlen(r->id));
  if ((rc = del(t, t->env->runs, &k))) return rc;
  key_run_prefix(&k, r->id);
  if ((rc = del_prefix(t, t->env->steps, &k))) return rc;
  if ((rc = wfs_cache_drop_run(t, r->id))) return rc;
  return del_prefix(t, t->env->events, &k);
}

/* del_prefix, counting the entries removed and their bytes (keys and values). */
static int del_prefix_counted(wfs_txn *t, MDB_dbi db, key *prefix, uint64_t *n,
                              uint64_t *bytes) {
  MDB_cursor *c;
  MDB_val k = val_of(prefix), d;
  int rc = mdb_cursor_open(t->txn, db, &c);
  if (rc) return wfs__mdb_err(t->env, rc);
  for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); !rc && has_prefix(&k, prefix);
       rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
    ++*n;
    *bytes += k.mv_size + d.mv_size;
    if ((rc = mdb_cursor_del(c, 0))) break;
  }
  mdb_cursor_close(c);
  return rc == MDB_NOTFOUND ? 0 : wfs__mdb_err(t->env, rc);
}

int wfs_run_purge(wfs_txn *t, const wfs_run *stored, wfs_purge_stats *st) {
  key k;
  MDB_val d;
  memset(st, 0, sizeof *st);
  int rc = wfs_check_run_id(stored->id);
  if (rc) return rc;
  k.n = 0;
  key_add(&k, stored->id, strlen(stored->id));
  if ((rc = get(t, t->env->runs, &k, &d))) return rc;
  st->bytes = k.n + d.mv_size;
  if ((rc = del(t, t->env->runs, &k)) ||
      (rc = index_del(t, stored->id, stored->status, stored->created_at)))
    return rc;
  st->bytes += 2 * (8 + k.n) + 1;
  key_run_prefix(&k, stored->id);
  if ((rc = del_prefix_counted(t, t->env->steps, &k, &st->steps, &st->bytes))) return rc;
  if ((rc = wfs_cache_drop_run(t, stored->id))) return rc;
  return del_prefix_counted(t, t->env->events, &k, &st->events, &st->bytes);
}

int wfs_run_ids_prefixed(wfs_txn *t, const char *prefix, wfs_id_cb cb, void *ud) {
  MDB_cursor *c;
  MDB_val k, d;
  key pre;
  char id[WFS_MAX_ID + 1];
  size_t plen = prefix ? strlen(prefix) : 0;
  if (plen > WFS_MAX_ID) return WF_EINVAL;
  pre.n = 0;
  if (plen) key_add(&pre, prefix, plen);
  int rc = 0, mrc = mdb_cursor_open(t->txn, t->env->runs, &c);
  if (mrc) return wfs__mdb_err(t->env, mrc);
  k = val_of(&pre);
  for (mrc = plen ? mdb_cursor_get(c, &k, &d, MDB_SET_RANGE) : mdb_cursor_get(c, &k, &d, MDB_FIRST);
       !mrc && has_prefix(&k, &pre); mrc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
    if (k.mv_size > WFS_MAX_ID) {
      rc = WF_ECORRUPT;
      break;
    }
    memcpy(id, k.mv_data, k.mv_size);
    id[k.mv_size] = '\0';
    if ((rc = cb(ud, id))) break;
  }
  mdb_cursor_close(c);
  return rc ? rc : scan_end(t, mrc);
}

/* The LMDB code a scan loop stopped with: running off the end is no error. */
static int scan_end(wfs_txn *t, int mrc) {
  return mrc == MDB_NOTFOUND ? 0 : wfs__mdb_err(t->env, mrc);
}

/* ---- listing runs ------------------------------------------------------------------
 * An index key is [status byte] . created_at (8, big-endian) . run id, so in one index the
 * key order is the order by (created_at, id). A range over several statuses reads one
 * cursor per status and merges them, so the runs still come in that one order. */

/* One index cursor of a range scan: its prefix (the status byte, or nothing) and the
 * entry it is on (ok) or that it is done (!ok). */
typedef struct run_cursor {
  MDB_cursor *c;
  key prefix;
  MDB_val k, d;
  int ok;
} run_cursor;

/* The entry's key after the prefix: created_at . id. */
static MDB_val cursor_pos(const run_cursor *rc) {
  return (MDB_val){rc->k.mv_size - rc->prefix.n, (uint8_t *)rc->k.mv_data + rc->prefix.n};
}

/* LMDB's own key order: bytes, then length. */
static int pos_cmp(MDB_val a, MDB_val b) {
  size_t n = a.mv_size < b.mv_size ? a.mv_size : b.mv_size;
  int c = memcmp(a.mv_data, b.mv_data, n);
  if (c) return c;
  return a.mv_size < b.mv_size ? -1 : a.mv_size > b.mv_size;
}

/* Whether the cursor's entry is inside the range (ok), or the cursor is done: the LMDB
 * code mrc of its last move, the prefix, the created_at bounds. */
static int cursor_settle(wfs_txn *t, run_cursor *rc, const wfs_runs_range *r, int mrc) {
  rc->ok = 0;
  if (mrc) return scan_end(t, mrc);
  if (!has_prefix(&rc->k, &rc->prefix)) return 0;
  MDB_val pos = cursor_pos(rc);
  if (pos.mv_size <= 8 || pos.mv_size - 8 > WFS_MAX_ID) return WF_ECORRUPT;
  int64_t created = (int64_t)wfs__be64_get(pos.mv_data);
  if (r->newest_first ? created < r->since : (r->until && created >= r->until)) return 0;
  rc->ok = 1;
  return 0;
}

/* Put the cursor on the first entry of the range in its order. The range's edges as
 * keys: lo (inclusive, oldest first) from since; hi (exclusive, newest first) from until;
 * and the paging key, exclusive either way. */
static int cursor_seek(wfs_txn *t, run_cursor *rc, const wfs_runs_range *r) {
  key edge = rc->prefix, after = rc->prefix;
  key_add_be64(&edge, (uint64_t)(r->newest_first ? r->until : r->since));
  if (r->after_id) {
    key_add_be64(&after, (uint64_t)r->after_created_at);
    key_add(&after, r->after_id, strlen(r->after_id));
  }
  int mrc;
  if (r->newest_first) {
    /* The last entry before the nearer of the two exclusive upper edges. */
    key *hi = r->until ? &edge : NULL;
    if (r->after_id && (!hi || pos_cmp(val_of(&after), val_of(hi)) < 0)) hi = &after;
    if (!hi) {
      key upper = rc->prefix;
      size_t i = upper.n;
      while (i > 0 && upper.b[i - 1] == 0xff) i--;
      if (i == 0) {
        mrc = mdb_cursor_get(rc->c, &rc->k, &rc->d, MDB_LAST);
        return cursor_settle(t, rc, r, mrc);
      }
      upper.b[i - 1]++;
      upper.n = i;
      edge = upper;
      hi = &edge;
    }
    rc->k = val_of(hi);
    mrc = mdb_cursor_get(rc->c, &rc->k, &rc->d, MDB_SET_RANGE);
    mrc = mrc == MDB_NOTFOUND ? mdb_cursor_get(rc->c, &rc->k, &rc->d, MDB_LAST)
          : mrc ? mrc : mdb_cursor_get(rc->c, &rc->k, &rc->d, MDB_PREV);
    return cursor_settle(t, rc, r, mrc);
  }
  int past_after = r->after_id && pos_cmp(val_of(&after), val_of(&edge)) >= 0;
  rc->k = val_of(past_after ? &after : &edge);
  mrc = mdb_cursor_get(rc->c, &rc->k, &rc->d, MDB_SET_RANGE);
  if (!mrc && past_after && pos_cmp(rc->k, val_of(&after)) == 0)
    mrc = mdb_cursor_get(rc->c, &rc->k, &rc->d, MDB_NEXT);
  return cursor_settle(t, rc, r, mrc);
}

/* The cursor whose entry comes first in the range's order, or NULL when all are done. */
static run_cursor *cursor_next(run_cursor *cs, int n, int newest_first) {
  run_cursor *best = NULL;
  for (int i = 0; i < n; i++) {
    if (!cs[i].ok) continue;
    int c = best ? pos_cmp(cursor_pos(&cs[i]), cursor_pos(best)) : 0;
    if (!best || (newest_first ? c > 0 : c < 0)) best = &cs[i];
  }
  return best;
}

int wfs_runs_scan_range(wfs_txn *t, const wfs_runs_range *r, wfs_run_id_cb cb, void *ud) {
  run_cursor cs[WFS_RUN_NSTATUS];
  char id[WFS_MAX_ID + 1];
  int n = 0, rc = 0;
  if (r->statuses >> WFS_RUN_NSTATUS || r->since < 0 || r->until < 0 ||
      (r->after_id && (wfs_check_run_id(r->after_id) || r->after_created_at < 0)))
    return WF_EINVAL;
  for (int s = -1; s < WFS_RUN_NSTATUS && !rc; s++) {
    if (s < 0 ? r->statuses != 0 : !(r->statuses & (1u << s))) continue;
    run_cursor *c = &cs[n];
    memset(c, 0, sizeof *c);
    if (s >= 0) c->prefix.b[c->prefix.n++] = (uint8_t)s;
    int mrc = mdb_cursor_open(t->txn, s < 0 ? t->env->by_time : t->env->by_status, &c->c);
    if (mrc) {
      rc = wfs__mdb_err(t->env, mrc);
      break;
    }
    n++;
    rc = cursor_seek(t, c, r);
  }
  for (run_cursor *c; !rc && (c = cursor_next(cs, n, r->newest_first));) {
    MDB_val pos = cursor_pos(c);
    memcpy(id, (const uint8_t *)pos.mv_data + 8, pos.mv_size - 8);
    id[pos.mv_size - 8] = '\0';
    if ((rc = cb(ud, id, (int64_t)wfs__be64_get(pos.mv_data)))) break;
    int mrc = mdb_cursor_get(c->c, &c->k, &c->d, r->newest_first ? MDB_PREV : MDB_NEXT);
    rc = cursor_settle(t, c, r, mrc);
  }
  for (int i = 0; i < n; i++) mdb_cursor_close(cs[i].c);
  return rc;
}

int wfs_runs_scan(wfs_txn *t, int status, int64_t since, int newest_first, wfs_run_id_cb cb,
                  void *ud) {
  if (status >= WFS_RUN_NSTATUS) return WF_EINVAL;
  wfs_runs_range r = {0};
  r.statuses = status < 0 ? 0 : 1u << status;
  r.since = since < 0 ? 0 : since;
  r.newest_first = newest_first;
  return wfs_runs_scan_range(t, &r, cb, ud);
}

/* ---- steps ------------------------------------------------------------------------ */

static int step_key(key *k, const char *run_id, const char *step) {
  int rc = wfs_check_run_id(run_id);
  if (rc || (rc = wfs_check_step_key(step))) return rc;
  key_run_prefix(k, run_id);
  key_add(k, step, strlen(step));
  return 0;
}

int wfs_step_get(wfs_txn *t, const char *run_id, const char *skey, wfs_step *out) {
  key k;
  MDB_val d;
  memset(out, 0, sizeof *out);
  int rc = step_key(&k, run_id, skey);
  if (rc || (rc = get(t, t->env->steps, &k, &d))) return rc;
  return wfs_step_decode(d.mv_data, d.mv_size, out);
}

int wfs_step_put(wfs_txn *t, const char *run_id, const wfs_step *s) {
  key k;
  uint8_t *enc;
  size_t n;
  int rc = step_key(&k, run_id, s->key);
  if (rc) return rc;
  if (s->status >= WFS_STEP_NSTATUS) return WF_EINVAL;
  if ((rc = wfs_step_encode(s, &enc, &n))) return rc;
  return put_record(t, t->env->steps, &k, enc, n, 0);
}

int wfs_step_peek(wfs_txn *t, const char *run_id, const char *skey, int *status,
                  uint64_t *input_hash, uint32_t *generation) {
  key k;
  MDB_val d;
  int rc = step_key(&k, run_id, skey);
  if (rc || (rc = get(t, t->env->steps, &k, &d))) return rc;
  return wfs__step_peek_decode(d.mv_data, d.mv_size, status, input_hash, generation);
}

int wfs_steps_scan(wfs_txn *t, const char *run_id, const char *prefix, wfs_step_cb cb,
                   void *ud) {
  MDB_cursor *c;
  MDB_val k, d;
  key pre;
  wfs_step s;
  int rc = wfs_check_run_id(run_id);
  if (rc) return rc;
  if (!prefix) prefix = "";
  size_t plen = strlen(prefix);
  if (plen > WFS_MAX_STEP_KEY) return WF_EINVAL;
  key_run_prefix(&pre, run_id);
  key_add(&pre, prefix, plen);
  int mrc = mdb_cursor_open(t->txn, t->env->steps, &c);
  if (mrc) return wfs__mdb_err(t->env, mrc);
  k = val_of(&pre);
  for (mrc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); !mrc && has_prefix(&k, &pre);
       mrc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
    if (wfs_step_decode(d.mv_data, d.mv_size, &s) != 0) {
      /* One damaged record must not hide the others: pass it on, named by its key. */
      memset(&s, 0, sizeof s);
      size_t klen = k.mv_size - (strlen(run_id) + 1);
      if (!(s.mem = malloc(klen + 1))) {
        rc = WF_ENOMEM;
        break;
      }
      memcpy(s.mem, (const char *)k.mv_data + strlen(run_id) + 1, klen);
      s.mem[klen] = '\0';
      s.key = s.mem;
      s.status = WFS_STEP_UNREADABLE;
      s.exit_code = -1;
      s.error = "this step's record cannot be decoded (damaged store)";
    }
    rc = cb(ud, &s);
    wfs_step_clear(&s);
    if (rc) break;
  }
  mdb_cursor_close(c);
  return rc ? rc : scan_end(t, mrc);
}

/* ---- events ----------------------------------------------------------------------- */

int wfs_event_put(wfs_txn *t, const wfs_event *e) {
  key k;
  uint8_t *enc;
  size_t n;
  int rc = wfs_check_run_id(e->run_id);
  if (rc) return rc;
  if ((rc = wfs_event_encode(e, &enc, &n))) return rc;
  key_run_prefix(&k, e->run_id);
  key_add_be64(&k, e->seq);
  /* A sequence number is never reused: two writers of one run's history would be a bug
   * (see the owner epoch), and history must not be overwritten even then. The events of
   * the newest run go at the end of the database: appending them skips the search (about
   * a third of an event's cost); LMDB refuses an append of a key that is not above every
   * other, and then the event is put where it belongs, never over another. */
  rc = put(t, t->env->events, &k, enc, n, MDB_APPEND);
  if (rc == WF_EEXIST) rc = put(t, t->env->events, &k, enc, n, MDB_NOOVERWRITE);
  free(enc);
  return rc == WF_EEXIST ? WF_ESTATE : rc;
}

int wfs_events_scan(wfs_txn *t, const char *run_id, uint64_t from_seq, wfs_event_cb cb,
                    void *ud) {
  MDB_cursor *c;
  MDB_val k, d;
  key pre, start;
  wfs_event e;
  int rc = wfs_check_run_id(run_id);
  if (rc) return rc;
  key_run_prefix(&pre, run_id);
  start = pre;
  key_add_be64(&start, from_seq);
  int mrc = mdb_cursor_open(t->txn, t->env->events, &c);
  if (mrc) return wfs__mdb_err(t->env, mrc);
  k = val_of(&start);
  for (mrc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); !mrc && has_prefix(&k, &pre);
       mrc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
    if ((rc = wfs_event_decode(d.mv_data, d.mv_size, &e))) break;
    rc = cb(ud, &e);
    wfs_event_clear(&e);
    if (rc) break;
  }
  mdb_cursor_close(c);
  return rc ? rc : scan_end(t, mrc);
}
