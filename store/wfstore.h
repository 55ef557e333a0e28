/* wfstore.h — the LMDB store of wf: environment, named databases, records and indexes.
 *
 * Layout ($home/store/, one LMDB environment):
 *   meta            name -> value (schema version, creating wf version)
 *   runs            run id -> run record
 *   runs_by_status  status(1) . created_at(8, big-endian) . run id -> empty
 *   runs_by_time    created_at(8, big-endian) . run id -> empty
 *   steps           run id . '\0' . step key -> step record
 *   events          run id . '\0' . seq(8, big-endian) -> event record
 *   cache           'h' . workflow . '\0' . activity . '\0' . input hash(8) -> [run, step]
 *                   'r' . run id . '\0' . step key -> the 'h' key it wrote (cache.c)
 * Events are keyed per run (not by one global sequence) so that a run's history is one
 * prefix range: `show-run --history` costs that run's events, not the whole store's.
 *
 * Records are msgpack arrays inside an envelope: a tag byte 0 followed by the msgpack
 * value, or tag 1, the original length (u32 big-endian) and zlib data for values over
 * WFS_COMPRESS_MIN bytes. Decoding validates everything and never trusts a length.
 *
 * All functions return 0 or a negative WF_E* code (wf/wf.h).
 */
#ifndef WF_STORE_H
#define WF_STORE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "wf/wf.h"

#define WFS_SCHEMA_VERSION 3     /* 2: run records carry the owner epoch; 3: steps may be
                                    upstream_failed, and run records count them; the run's
                                    folder; step records name a cached output's source, and
                                    the cache index (records.c, cache.c) */
#define WFS_COMPRESS_MIN 1024
#define WFS_MAX_KEY 511         /* LMDB's key limit */
#define WFS_MAX_ID WF_MAX_RUN_ID       /* run ids */
#define WFS_MAX_STEP_KEY WF_MAX_STEP_KEY /* step keys */
#define WFS_MAX_VALUE (64u << 20) /* default cap of one step output */

/* Stored run statuses: the public ones (wf/wf.h). WFS_RUN_INTERRUPTED is never stored: it
 * is what a RUNNING run whose owner is gone reads as (wfi_run_effective_status). */
enum wfs_run_status {
  WFS_RUN_PENDING = WF_RUN_PENDING,
  WFS_RUN_RUNNING = WF_RUN_RUNNING,
  WFS_RUN_SUCCEEDED = WF_RUN_SUCCEEDED,
  WFS_RUN_FAILED = WF_RUN_FAILED,
  WFS_RUN_DEGRADED = WF_RUN_DEGRADED,
  WFS_RUN_CANCELED = WF_RUN_CANCELED,
  WFS_RUN_INTERRUPTED = WF_RUN_INTERRUPTED,
  WFS_RUN_NSTATUS = WF_RUN_NSTATUS
};

enum wfs_step_status {
  WFS_STEP_PENDING = WF_STEP_PENDING,
  WFS_STEP_RUNNING = WF_STEP_RUNNING,
  WFS_STEP_SUCCEEDED = WF_STEP_SUCCEEDED,
  WFS_STEP_FAILED = WF_STEP_FAILED,
  WFS_STEP_SKIPPED = WF_STEP_SKIPPED,
  WFS_STEP_CANCELED = WF_STEP_CANCELED,
  WFS_STEP_UPSTREAM_FAILED = WF_STEP_UPSTREAM_FAILED,
  WFS_STEP_NSTATUS = WF_STEP_NSTATUS,
  WFS_STEP_UNREADABLE = WF_STEP_UNREADABLE /* never stored: a record wfs_steps_scan could
                                               not decode */
};

const char *wfs_run_status_name(int status);   /* "running", ...; "?" if unknown */
int wfs_run_status_parse(const char *name);    /* status or -1 */
const char *wfs_step_status_name(int status);

/* ---- environment ---------------------------------------------------------------- */

typedef struct wfs_env wfs_env;

#define WFS_MAX_READERS 4096    /* default reader slots of a store */
#define WFS_MAP_CAP_MB 65536    /* default cap of the map, MiB */

/* How a store is opened; zero-initialized fields take their defaults. */
typedef struct wfs_opts {
  int existing;            /* open only a store that exists (see wfs_open_existing) */
  uint64_t map_cap_mb;     /* the map grows on demand up to this; 0: WFS_MAP_CAP_MB */
  unsigned max_readers;    /* reader slots, 1 .. 1 << 20; 0: WFS_MAX_READERS */
  int no_open_lock;        /* do not take the open lock (wfs_compact holds it) */
} wfs_opts;

/* Every handle holds a shared lock (flock) on $home/store/open.lock while it is open,
 * and opening waits while another process holds it exclusively: wfs_compact does, to
 * know that no wf process has the store open and none opens it during the swap. */
#define WFS_OPEN_LOCK "/store/open.lock"

/* Open or create the store under `home` (created with its store/, logs/ and runs/
 * folders). Checks the schema (WF_ESCHEMA if newer, WF_ENOTSTORE if not
 * 1..WFS_SCHEMA_VERSION), clears stale readers, marks the LMDB file descriptor
 * close-on-exec. The map starts small and grows on demand up to o->map_cap_mb. The reader
 * table (one slot per process with the store open) has o->max_readers slots, fixed by the
 * first process to open the store while no other has it open. o NULL: defaults.
 * Errors: as wf_store_open_ex (wf/wf.h); WF_EINVAL for an option out of range;
 * wfs_last_failure says on what. */
int wfs_open_with(const char *home, const wfs_opts *o, wfs_env **out);
/* wfs_open_with with the defaults. */
int wfs_open(const char *home, wfs_env **out);
void wfs_close(wfs_env *env);

/* Rewrite the store under `home` without free pages: see wf_store_compact (wf/wf.h), whose
 * errors these are. *before and *after may be NULL. */
int wfs_compact(const char *home, uint64_t *before, uint64_t *after);
const char *wfs_home(const wfs_env *env);  /* as given, without trailing slash */

/* What a health check needs to know of the store (wf_store_health_get, wf/wf.h): its
 * schema, sizes, free disk, reader slots, and whether it and its folders can be written.
 * Clears the reader slots of dead processes it finds (counted in readers_stale). Errors:
 * WF_EINVAL (a read transaction of env is open), WF_ECORRUPT (a meta record cannot be
 * decoded), WF_ESTORE, WF_EREADERS, WF_ENOMEM. */
typedef wf_store_health wfs_health;
int wfs_health_get(wfs_env *env, uint64_t map_cap_bytes, wfs_health *out);

/* Open the store when it exists, as wfs_open does (the handle can write); WF_ENOTFOUND,
 * creating nothing, when $home/store/data.mdb does not exist (so read-only commands
 * never create a store). */
int wfs_open_existing(const char *home, wfs_env **out);

/* What the last store error of this thread was about, for messages. Set by the store
 * functions that fail on a file or the store itself (WF_EIO, WF_ENOSPC, WF_EROFS,
 * WF_EACCES, WF_EREADERS, WF_ENOTSTORE, WF_ECORRUPT of the data file) when they fail;
 * cleared when wfs_open or wfs_open_existing begins. */
typedef wf_failure wfs_failure;
const wfs_failure *wfs_last_failure(void);
/* Map errno value e, met on `path` (a file of the store's home that LMDB does not manage,
 * such as a run's lock file), to WF_ENOSPC, WF_EROFS, WF_EACCES, WF_ENOMEM or WF_EIO, and
 * note it for wfs_last_failure. */
int wfs_fs_err(const char *path, int e);

typedef struct wfs_txn {
  wfs_env *env;
  MDB_txn *txn;
} wfs_txn;

/* Read transactions. A store handle keeps one reusable read transaction; begin/end
 * renew and reset it, so they are cheap. One read transaction at a time per env
 * (WF_EINVAL for a second). Records read through it are copies: they outlive it. */
int wfs_read_begin(wfs_env *env, wfs_txn *t);
void wfs_read_end(wfs_txn *t);

/* Run fn inside one write transaction and commit it (fully synced). fn may be run
 * more than once: when the map is full the transaction is aborted, the map grown and
 * fn run again, so fn must not have effects outside the transaction. A non-zero return
 * of fn aborts and is returned. Growing remaps the store, so it fails with WF_ESTORE
 * while a read transaction of this env is open: end reads before writing. Not nested
 * (WF_EINVAL). Errors: fn's, WF_EMAPFULL (cap reached), WF_ENOSPC, WF_EIO (the commit
 * could not be written), WF_ESTORE. */
typedef int (*wfs_write_fn)(wfs_txn *t, void *ud);
int wfs_write(wfs_env *env, wfs_write_fn fn, void *ud);

/* ---- records -------------------------------------------------------------------- */

typedef struct wfs_owner {
  int32_t pid;             /* 0: no owner */
  uint64_t start_time;     /* process start time, clock ticks since boot (/proc stat) */
  char host[64];
  char boot_id[40];
} wfs_owner;

typedef struct wfs_run {
  char *id;
  char *workflow;          /* name */
  char *def_path;          /* where the definition was loaded from ("" if bundled) */
  char *def_text;          /* the definition as run, so resume needs nothing else */
  char *def_hash;          /* hex digest of def_text */
  uint8_t *params;         /* msgpack map of bound params */
  size_t params_len;
  uint8_t status;          /* wfs_run_status, never INTERRUPTED */
  int64_t created_at, updated_at, started_at, finished_at, heartbeat; /* ms since epoch */
  wfs_owner owner;
  uint32_t generation;     /* bumped by --start-from on an existing run */
  uint64_t counts[WFS_STEP_NSTATUS]; /* steps per status */
  uint64_t event_seq;      /* next event sequence number of this run */
  char *error;             /* last run-level error or NULL */
  char *forked_from;       /* or NULL */
  uint32_t window;
  uint8_t continue_on_error;
  uint8_t cancel_requested;
  char *only, *skip, *start_from, *to;  /* stage selection as given, or NULL */
  uint64_t epoch;          /* owner epoch: bumped whenever the run changes hands; every write
                              of an owner checks it is still the one it claimed (fencing) */
  char *run_dir;           /* absolute path of the run's folder (start --run-dir), or NULL:
                              $home/runs/<id> */
} wfs_run;

/* A step or event record built to be written points its const fields at the caller's
 * data; a decoded one owns their copies in one allocation, mem (and a step its output,
 * which a reader may take: set the field to NULL before wfs_step_clear). */
typedef struct wfs_step {
  const char *stage;
  const char *key;
  uint8_t status;          /* wfs_step_status */
  uint32_t attempt;
  uint64_t input_hash;
  const uint8_t *input; size_t input_len;  /* msgpack or NULL */
  uint8_t *output; size_t output_len;      /* msgpack or NULL */
  const char *error;       /* or NULL */
  const char *stderr_tail; /* or NULL */
  int32_t exit_code;       /* -1 when not a process */
  int64_t started_at, finished_at;
  uint32_t generation;
  uint32_t tries;          /* failed attempts counted against the retry budget so far */
  const char *cached_run;  /* the output was reused from this run's step (the cross-run */
  const char *cached_step; /* cache), without executing; both NULL otherwise */
  char *mem;               /* decoded: what the const fields point into; else NULL */
} wfs_step;

/* Event types: the public ones (wf/wf.h). */
enum wfs_event_type {
  WFS_EV_RUN_STARTED = WF_EV_RUN_STARTED,
  WFS_EV_RUN_RESUMED = WF_EV_RUN_RESUMED,
  WFS_EV_RUN_FINISHED = WF_EV_RUN_FINISHED,
  WFS_EV_RUN_CANCEL_REQUESTED = WF_EV_RUN_CANCEL_REQUESTED,
  WFS_EV_RUN_INTERRUPTED = WF_EV_RUN_INTERRUPTED,
  WFS_EV_GENERATION = WF_EV_GENERATION,
  WFS_EV_STEP_STARTED = WF_EV_STEP_STARTED,
  WFS_EV_STEP_SUCCEEDED = WF_EV_STEP_SUCCEEDED,
  WFS_EV_STEP_FAILED = WF_EV_STEP_FAILED,
  WFS_EV_STEP_RETRY = WF_EV_STEP_RETRY,
  WFS_EV_STEP_TIMED_OUT = WF_EV_STEP_TIMED_OUT,
  WFS_EV_STEP_CANCELED = WF_EV_STEP_CANCELED,
  WFS_EV_STEP_SKIPPED = WF_EV_STEP_SKIPPED,
  WFS_EV_STEP_INPUT_CHANGED = WF_EV_STEP_INPUT_CHANGED,
  WFS_EV_STEP_SUPERSEDED = WF_EV_STEP_SUPERSEDED,
  WFS_EV_STEP_INTERRUPTED = WF_EV_STEP_INTERRUPTED,
  WFS_EV_STEP_UPSTREAM_FAILED = WF_EV_STEP_UPSTREAM_FAILED,
  WFS_EV_STEP_CACHED = WF_EV_STEP_CACHED
};
const char *wfs_event_type_name(int type);

typedef struct wfs_event {
  const char *run_id;
  uint64_t seq;
  uint8_t type;            /* wfs_event_type */
  int64_t time;            /* ms since epoch */
  const char *step_key;    /* or NULL */
  uint32_t attempt;
  const char *detail;      /* or NULL */
  char *mem;               /* decoded: what the strings point into; else NULL (wfs_step) */
} wfs_event;

/* What an owner's write transaction needs of the stored run record, read without copying
 * its strings and params (wfs_run_peek): a few hundred instructions where a whole decode
 * costs thousands, on every commit. */
typedef struct wfs_run_head {
  uint8_t status;
  uint8_t cancel_requested;
  int64_t created_at;
  uint64_t event_seq;
  uint64_t epoch;
} wfs_run_head;

/* Free what a record owns (a run its strings and params; a step or event its mem, and a
 * step its output) and zero it; NULL-safe. */
void wfs_run_clear(wfs_run *r);
void wfs_step_clear(wfs_step *s);
void wfs_event_clear(wfs_event *e);

/* Encode a record into a malloc'd enveloped buffer; decode one back (validating).
 * Decode errors: WF_ECORRUPT (truncated, oversized, trailing bytes, bad types). */
int wfs_run_encode(const wfs_run *r, uint8_t **buf, size_t *len);
int wfs_run_decode(const uint8_t *buf, size_t len, wfs_run *r);
/* The head fields of an encoded run record, validating what it reads (WF_ECORRUPT). */
int wfs_run_head_decode(const uint8_t *buf, size_t len, wfs_run_head *h);
int wfs_step_encode(const wfs_step *s, uint8_t **buf, size_t *len);
int wfs_step_decode(const uint8_t *buf, size_t len, wfs_step *s);
int wfs_event_encode(const wfs_event *e, uint8_t **buf, size_t *len);
int wfs_event_decode(const uint8_t *buf, size_t len, wfs_event *e);

/* Envelope: wrap msgpack bytes (compressing above WFS_COMPRESS_MIN) / unwrap into a
 * malloc'd buffer. Unwrap refuses an original length above WFS_MAX_VALUE*2 or one
 * that does not match after inflating. */
int wfs_envelope_wrap(const uint8_t *mp, size_t len, uint8_t **out, size_t *outlen);
int wfs_envelope_unwrap(const uint8_t *buf, size_t len, uint8_t **out, size_t *outlen);

/* ---- record access ----------------------------------------------------------------- */

/* Check a run id / step key: length and characters. WF_EINVAL with no side effect. */
int wfs_check_run_id(const char *id);
int wfs_check_step_key(const char *key);

/* Runs. put keeps both indexes in step with the record in the same transaction:
 * `old` is the record as it was (NULL for a new run), used to delete stale index keys.
 * put errors: WF_EEXIST (old NULL but the run exists), WF_EINVAL (bad id, status
 * INTERRUPTED or out of range, old of another id). del takes the index keys from the
 * stored record, so a stale r is fine. */
int wfs_run_get(wfs_txn *t, const char *id, wfs_run *out);           /* WF_ENOTFOUND */
int wfs_run_peek(wfs_txn *t, const char *id, wfs_run_head *out);     /* WF_ENOTFOUND */
int wfs_run_put(wfs_txn *t, const wfs_run *r, const wfs_run *old);
int wfs_run_del(wfs_txn *t, const wfs_run *r);  /* with its steps, events, cache entries */
/* What wfs_run_purge removed: step and event records, and the bytes of every key and
 * value it deleted (the run record and its index entries included). */
typedef struct wfs_purge_stats {
  uint64_t steps, events, bytes;
} wfs_purge_stats;
/* Delete the run `stored` (its record as read in this transaction: the index keys come
 * from it) with its steps, events and cache entries, counting them into *st. WF_ENOTFOUND when the run
 * has no record. */
int wfs_run_purge(wfs_txn *t, const wfs_run *stored, wfs_purge_stats *st);
/* Visit the ids of the runs whose id begins with `prefix` ("" or NULL: all), in id order.
 * cb returns non-zero to stop (returned). WF_EINVAL for a prefix longer than an id,
 * WF_ECORRUPT for a damaged key. */
typedef int (*wfs_id_cb)(void *ud, const char *id);
int wfs_run_ids_prefixed(wfs_txn *t, const char *prefix, wfs_id_cb cb, void *ud);

/* Which run ids wfs_runs_scan_range visits, in what order. */
typedef struct wfs_runs_range {
  unsigned statuses;       /* bit (1u << s) per stored status s (runs_by_status); 0: every
                              run (runs_by_time) */
  int64_t since;           /* created_at >= since (ms); 0: no bound */
  int64_t until;           /* created_at < until; 0: no bound */
  int newest_first;        /* else oldest first; ties in created_at ordered by id bytes */
  const char *after_id;    /* begin strictly after (after_created_at, after_id) in this
                              order; NULL: at the beginning */
  int64_t after_created_at;
} wfs_runs_range;

/* Visit the ids of the runs in range r in one order across every index it reads. The
 * callback returns non-zero to stop (returned). Errors: WF_EINVAL (a status out of range,
 * a bad after_id), WF_ECORRUPT (a damaged index key), WF_ESTORE. */
typedef int (*wfs_run_id_cb)(void *ud, const char *id, int64_t created_at);
int wfs_runs_scan_range(wfs_txn *t, const wfs_runs_range *r, wfs_run_id_cb cb, void *ud);
/* The same for one stored status (status < 0: all runs), created at or after `since`. */
int wfs_runs_scan(wfs_txn *t, int status, int64_t since, int newest_first,
                  wfs_run_id_cb cb, void *ud);

/* Steps. */
int wfs_step_get(wfs_txn *t, const char *run_id, const char *key, wfs_step *out);
int wfs_step_put(wfs_txn *t, const char *run_id, const wfs_step *s);
/* Only the status of a recorded step and its input hash, without decoding outputs.
 * A compressed record is inflated only as far as those fields (so a damaged tail is
 * reported by wfs_step_get, not here). Out-params may be NULL. WF_ENOTFOUND when
 * absent. */
int wfs_step_peek(wfs_txn *t, const char *run_id, const char *key, int *status,
                  uint64_t *input_hash, uint32_t *generation);
/* Visit the run's steps whose key starts with `prefix` ("" = all) in key order. The
 * step passed to cb is cleared after cb returns. cb returns non-zero to stop. A record
 * that does not decode is passed with status WFS_STEP_UNREADABLE, its key and an error
 * only, so one damaged record does not hide the rest. */
typedef int (*wfs_step_cb)(void *ud, const wfs_step *s);
int wfs_steps_scan(wfs_txn *t, const char *run_id, const char *prefix, wfs_step_cb cb,
                   void *ud);

/* Events: put writes e (e->seq chosen by the caller: the run record's event_seq as read in
 * the same transaction). WF_ESTATE if that sequence number of the run is taken. */
int wfs_event_put(wfs_txn *t, const wfs_event *e);
typedef int (*wfs_event_cb)(void *ud, const wfs_event *e);
int wfs_events_scan(wfs_txn *t, const char *run_id, uint64_t from_seq, wfs_event_cb cb,
                    void *ud);

/* The cross-run cache (cache.c): which succeeded step of which run produced an output
 * from an input, by workflow, activity (the stage's kind: run, shell, uses:<name>) and
 * input hash, so that a lookup costs one key, not a scan. Entries are hints: a reader
 * checks the step they name (its status and whole input) before using it.
 * put: index the succeeded step `key` of run `run_id` (a newer step replaces an older
 * one's entry); WF_EINVAL when the key would be too long (nothing indexed: the caller
 * may go on). get: the run and step (malloc'd) of the entry, WF_ENOTFOUND when none.
 * drop_run: remove every entry the run's steps wrote, as a run's records are deleted
 * (wfs_run_del calls it). */
int wfs_cache_put(wfs_txn *t, const char *workflow, const char *activity, uint64_t input_hash,
                  const char *run_id, const char *key);
int wfs_cache_get(wfs_txn *t, const char *workflow, const char *activity, uint64_t input_hash,
                  char **run_id, char **key);
int wfs_cache_drop_run(wfs_txn *t, const char *run_id);

/* Meta. */
int wfs_meta_get_u64(wfs_txn *t, const char *name, uint64_t *v);

/* ---- small shared helpers ---------------------------------------------------------- */

int64_t wfs_now_ms(void);
uint64_t wfs_hash(const void *p, size_t n);   /* 64-bit FNV-1a based; stable on disk */
/* Malloc'd copy; NULL in -> NULL out. */
char *wfs_strdup(const char *s);

#endif
