/* wfs_internal.h — what the files of the store module share and nothing outside uses:
 * the environment's layout, LMDB error mapping, the encode buffer and envelope views. */
#ifndef WF_STORE_INTERNAL_H
#define WF_STORE_INTERNAL_H

#include <msgpack.h>

#include "wfmp.h"
#include "wfstore.h"

struct wfs_env {
  MDB_env *env;
  MDB_dbi meta, runs, by_status, by_time, steps, events;
  MDB_dbi cache;     /* the cross-run cache index (cache.c), when has_cache */
  int has_cache;     /* an older store that could not be given one has none */
  MDB_txn *rtxn;     /* the reusable read transaction; reset while not in use */
  int ractive;       /* rtxn is live (between wfs_read_begin and wfs_read_end) */
  int wactive;       /* inside wfs_write */
  int mapfull;       /* an operation of the current write txn hit MDB_MAP_FULL */
  size_t mapcap;     /* bytes */
  int fault;         /* WFS__FAULT_* named by $WF_FAULT (test-only, fault.c); 0 = none */
  char *home;
  unsigned stale_readers; /* reader slots of dead processes cleared when it was opened */
  int open_lock;     /* fd holding the shared open lock (WFS_OPEN_LOCK), or -1 */
};

/* Test-only fault injection in wfs_write, driven by $WF_FAULT (fault.c). */
enum { WFS__FAULT_NONE, WFS__FAULT_AFTER_PUT, WFS__FAULT_AFTER_COMMIT, WFS__FAULT_ENOSPC,
       WFS__FAULT_EIO };
/* The point $WF_FAULT names (read once per process), or WFS__FAULT_NONE. */
int wfs__fault_init(void);
/* Count one wfs_write call: `point` when this is the call it hits, else WFS__FAULT_NONE. */
int wfs__fault_next(int point);
/* Between a successful fn and the commit: after-put kills the process, enospc and eio
 * return ENOSPC and EIO (errno values: the caller maps them as a failed commit's and
 * aborts the transaction); 0 otherwise. */
int wfs__fault_before_commit(int point);
/* After a successful commit, before wfs_write returns: after-commit kills the process. */
void wfs__fault_after_commit(int point);

/* Map an LMDB (or errno) code to a WF_E* code; MDB_MAP_FULL also marks env->mapfull so
 * that wfs_write grows the map even if a callback rewrote the error. File system errors
 * (a commit's) and MDB_READERS_FULL are noted for wfs_last_failure. */
int wfs__mdb_err(wfs_env *env, int rc);
/* Map errno value e, met on file or folder path+tail (tail may be NULL), to WF_ENOSPC,
 * WF_EROFS, WF_EACCES, WF_ENOMEM or WF_EIO, and note it for wfs_last_failure. */
int wfs__fs_err(const char *path, const char *tail, int e);

/* A msgpack_sbuffer whose write failures are remembered (msgpack-c drops them). */
typedef struct wfs__buf {
  msgpack_sbuffer sb;
  int err;
} wfs__buf;

/* Start a record: the buffer's first byte is reserved for the envelope tag, so a
 * record that stays uncompressed needs no copy. */
void wfs__buf_init(wfs__buf *b, msgpack_packer *pk);
void wfs__buf_destroy(wfs__buf *b);
/* Turn the buffer into an envelope (*out malloc'd, the buffer's memory taken over or
 * freed). WF_ENOMEM if any write failed. */
int wfs__buf_seal(wfs__buf *b, uint8_t **out, size_t *outlen);

/* View the msgpack inside an envelope: for a raw one *mp points into buf and *owned is
 * NULL; for a compressed one *mp == *owned, a malloc'd buffer the caller frees. */
int wfs__envelope_view(const uint8_t *buf, size_t len, const uint8_t **mp, size_t *mplen,
                       uint8_t **owned);
/* View the start of an envelope's msgpack without inflating all of it: a raw envelope
 * is viewed whole in place (*whole = 1); of a compressed one only the first cap bytes
 * (or fewer if that is all) are inflated into scratch (*whole = 0). */
int wfs__envelope_peek(const uint8_t *buf, size_t len, uint8_t *scratch, size_t cap,
                       const uint8_t **mp, size_t *mplen, int *whole);

/* The fields wfs_step_peek reports, read from an encoded step record. */
int wfs__step_peek_decode(const uint8_t *buf, size_t len, int *status, uint64_t *input_hash,
                          uint32_t *generation);

/* Big-endian u64 into 8 bytes / out of 8 bytes. */
void wfs__be64_put(uint8_t *p, uint64_t v);
uint64_t wfs__be64_get(const uint8_t *p);

#endif
