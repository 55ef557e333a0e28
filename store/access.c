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

static MDB_val val_of(const key *k) { return (MDB_val){k->n, (void *)k->b}; }

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

static int put(wfs_txn *t, MDB_dbi db, const key *k, const void *p, size_t n, unsigned flags) {
  MDB_val kv = val_of(k), d = {n, (void *)p};
  return wfs__mdb_err(t->env, mdb_put(t->txn, db, &kv, &d, flags));
}

static int put_record(wfs_txn *t, MDB_dbi db, const key *k, uint8_t *enc, size_t n,
                      unsigned flags) {
  int rc = put(t, db, k, enc, n, flags);
  free(enc);
  return rc;
}

/* Deleting what is already gone is not an error. */
static int del(wfs_txn *t, MDB_dbi db, const key *k) {
  MDB_val kv = val_of(k);
  int rc = mdb_del(t->txn, db, &kv, NULL);
  return rc == MDB_NOTFOUND ? 0 : wfs__mdb_err(t->env, rc);
}

static int get(wfs_txn *t, MDB_dbi db, const key *k, MDB_val *d) {
  MDB_val kv = val_of(k);
  return wfs__mdb_err(t->env, mdb_get(t->txn, db, &kv, d));
}

static int del_prefix(wfs_txn *t, MDB_dbi db, const key *prefix) {
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
  return del_prefix(t, t->env->events, &k);
}

/* The LMDB code a scan loop stopped with: running off the end is no error. */
static int scan_end(wfs_txn *t, int mrc) {
  return mrc == MDB_NOTFOUND ? 0 : wfs__mdb_err(t->env, mrc);
}

/* Positions c on the last entry with the prefix (or anything before it). */
static int seek_last(MDB_cursor *c, const key *prefix, MDB_val *k, MDB_val *d) {
  key upper = *prefix;
  size_t i = upper.n;
  while (i > 0 && upper.b[i - 1] == 0xff) i--;
  if (i == 0) return mdb_cursor_get(c, k, d, MDB_LAST);
  upper.b[i - 1]++;
  upper.n = i;
  *k = val_of(&upper);
  int rc = mdb_cursor_get(c, k, d, MDB_SET_RANGE);
  if (rc == MDB_NOTFOUND) return mdb_cursor_get(c, k, d, MDB_LAST);
  return rc ? rc : mdb_cursor_get(c, k, d, MDB_PREV);
}

int wfs_runs_scan(wfs_txn *t, int status, int64_t since, int newest_first, wfs_run_id_cb cb,
                  void *ud) {
  MDB_cursor *c;
  MDB_val k, d;
  key prefix = {.n = 0};
  char id[WFS_MAX_ID + 1];
  if (status >= WFS_RUN_NSTATUS) return WF_EINVAL;
  MDB_dbi db = status < 0 ? t->env->by_time : t->env->by_status;
  if (status >= 0) prefix.b[prefix.n++] = (uint8_t)status;
  if (since < 0) since = 0;
  int rc = 0, mrc = mdb_cursor_open(t->txn, db, &c);
  if (mrc) return wfs__mdb_err(t->env, mrc);
  if (newest_first) {
    mrc = seek_last(c, &prefix, &k, &d);
  } else {
    key start = prefix;
    key_add_be64(&start, (uint64_t)since);
    k = val_of(&start);
    mrc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
  }
  for (; !mrc && has_prefix(&k, &prefix);
       mrc = mdb_cursor_get(c, &k, &d, newest_first ? MDB_PREV : MDB_NEXT)) {
    if (k.mv_size <= prefix.n + 8 || k.mv_size - prefix.n - 8 > WFS_MAX_ID) {
      rc = WF_ECORRUPT;
      break;
    }
    const uint8_t *p = (const uint8_t *)k.mv_data + prefix.n;
    size_t idlen = k.mv_size - prefix.n - 8;
    int64_t created = (int64_t)wfs__be64_get(p);
    if (created < since) {
      if (newest_first) break;
      continue;
    }
    memcpy(id, p + 8, idlen);
    id[idlen] = 0;
    if ((rc = cb(ud, id, created))) break;
  }
  mdb_cursor_close(c);
  return rc ? rc : scan_end(t, mrc);
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
      s.key = malloc(klen + 1);
      if (!s.key) {
        rc = WF_ENOMEM;
        break;
      }
      memcpy(s.key, (const char *)k.mv_data + strlen(run_id) + 1, klen);
      s.key[klen] = '\0';
      s.status = WFS_STEP_UNREADABLE;
      s.exit_code = -1;
      s.error = wfs_strdup("this step's record cannot be decoded (damaged store)");
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
   * (see the owner epoch), and history must not be overwritten even then. */
  rc = put_record(t, t->env->events, &k, enc, n, MDB_NOOVERWRITE);
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
