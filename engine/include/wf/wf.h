/* wf.h — public embedding API of wf, an embedded durable workflow engine.
 *
 * A store is a directory holding an LMDB environment. A run is one execution of a
 * workflow; it is made of steps identified by key. A step whose key is recorded as
 * succeeded (with the same input) is never executed again: its recorded output is
 * returned instead. A step reported done is on disk.
 *
 * Every function returns 0 or a negative WF_E* code; results come back through
 * out-parameters. Handles are opaque. Functions that free accept NULL.
 * A store handle and the runs begun on it belong to one thread.
 *
 * Each function's comment lists every error it returns ("Errors:"). Besides its own, a
 * function that reads the store may fail as the store does (WF_EREADERS, WF_ESTORE,
 * WF_ENOMEM), and one that writes as the disk under it does (WF_EMAPFULL, WF_ENOSPC,
 * WF_EIO, WF_EROFS, WF_ESTORE, WF_ENOMEM): those are listed too. The reference pages in
 * docs/api/ (man 3 wf) say the same, with an example each.
 */
#ifndef WF_WF_H
#define WF_WF_H

#include <stddef.h>
#include <stdint.h>

#include <wf/version.h> /* WF_VERSION_MAJOR, _MINOR, _PATCH and WF_VERSION_STRING */

#ifdef __cplusplus
extern "C" {
#endif

/* Every error code, its value and its message. */
#define WF_ERRORS(X)                                                          \
  X(WF_ENOTFOUND, -1, "not found")                                            \
  X(WF_EINVAL, -2, "invalid argument")                                        \
  X(WF_ENOMEM, -3, "out of memory")                                           \
  X(WF_ESTORE, -4, "store error")                                             \
  X(WF_ECORRUPT, -5, "record is corrupt")                                     \
  X(WF_ESCHEMA, -6, "store was written by a newer wf")                        \
  X(WF_EBUSY, -7, "run is owned by another live process")                     \
  X(WF_ETOOBIG, -8, "value too large")                                        \
  X(WF_EMAPFULL, -9, "store reached its size cap")                            \
  X(WF_ECANCELED, -10, "run was canceled")                                    \
  X(WF_EINTR, -11, "interrupted by a signal")                                 \
  X(WF_ESTEP, -12, "step failed")                                             \
  X(WF_EEXIST, -13, "already exists")                                         \
  X(WF_EIO, -14, "input/output error (is the disk failing?)")                 \
  X(WF_ESTATE, -15, "run is not in a state that allows this")                 \
  X(WF_ENOSPC, -16, "no space left on the device")                            \
  X(WF_EROFS, -17, "read-only file system")                                   \
  X(WF_EACCES, -18, "permission denied")                                      \
  X(WF_EREADERS, -19, "too many processes have the store open")               \
  X(WF_ENOTSTORE, -20, "not a wf store")                                     \
  X(WF_EFENCED, -21, "run was taken over by another process")                \
  X(WF_EAMBIGUOUS, -22, "several runs begin with that id")

enum wf_error {
#define WF_X_ENUM(name, value, msg) name = value,
  WF_ERRORS(WF_X_ENUM)
#undef WF_X_ENUM
};

/* Message for an error code (0 gives "success"); never NULL. */
const char *wf_strerror(int err);

/* What the last failing call of this thread failed on, when it failed on a file or folder
 * of the store, or on the store itself: WF_EIO, WF_ENOSPC, WF_EROFS, WF_EACCES,
 * WF_EREADERS, WF_ENOTSTORE, and WF_ECORRUPT of the data file. Cleared when a store is
 * opened; left as it was by calls that fail otherwise. Never NULL; the struct belongs to
 * the library and is overwritten by the thread's next failure. */
typedef struct wf_failure {
  char path[4096];         /* the file or folder, or "" */
  int sys_errno;           /* the system's error code behind it, or 0 */
  unsigned readers;        /* with WF_EREADERS: the reader slots the store has */
} wf_failure;
const wf_failure *wf_last_failure(void);

/* ---- names and limits ------------------------------------------------------------- */

#define WF_MAX_RUN_ID 200   /* bytes of a run id */
#define WF_MAX_STEP_KEY 300 /* bytes of a step key */

/* Statuses of a run. WF_RUN_INTERRUPTED is never recorded: a run recorded as running
 * whose owner is gone (crashed, killed, stopped by a signal) reads as interrupted. */
enum wf_run_status {
  WF_RUN_PENDING = 0,
  WF_RUN_RUNNING = 1,
  WF_RUN_SUCCEEDED = 2,
  WF_RUN_FAILED = 3,
  WF_RUN_DEGRADED = 4,     /* finished with failed steps under continue-on-error */
  WF_RUN_CANCELED = 5,
  WF_RUN_INTERRUPTED = 6
};
#define WF_RUN_NSTATUS 7

/* Statuses of a step. WF_STEP_UNREADABLE is never recorded (it lies above every recorded
 * status): it marks a step whose record cannot be decoded (a damaged store) in a listing. */
enum wf_step_status {
  WF_STEP_PENDING = 0,
  WF_STEP_RUNNING = 1,
  WF_STEP_SUCCEEDED = 2,
  WF_STEP_FAILED = 3,
  WF_STEP_SKIPPED = 4,
  WF_STEP_CANCELED = 5,
  WF_STEP_UPSTREAM_FAILED = 6, /* not run: a stage it needs failed, or has no output */
  WF_STEP_UNREADABLE = 15
};
#define WF_STEP_NSTATUS 7 /* recorded statuses: 0 .. WF_STEP_NSTATUS-1 */

/* What the events of a run's history record. Run events have no step key and attempt 0;
 * step events name the step, and those of an attempt its number. */
enum wf_event_type {
  WF_EV_RUN_STARTED = 1,   /* detail: the workflow */
  WF_EV_RUN_RESUMED,       /* detail: by whom, what the run was, how it was taken over */
  WF_EV_RUN_FINISHED,      /* detail: the final status, or the run's error */
  WF_EV_RUN_CANCEL_REQUESTED,
  WF_EV_RUN_INTERRUPTED,   /* detail: why (the signal, the store error) */
  WF_EV_GENERATION,        /* stages are executed again (start --start-from); detail:
                              "generation N" */
  WF_EV_STEP_STARTED,      /* an attempt began (its time); recorded with the first group
                              commit after it, at the latest with its end */
  WF_EV_STEP_SUCCEEDED,
  WF_EV_STEP_FAILED,       /* detail: the error */
  WF_EV_STEP_RETRY,        /* detail: the next attempt and its delay */
  WF_EV_STEP_TIMED_OUT,    /* detail: the error */
  WF_EV_STEP_CANCELED,     /* detail: who or what stopped it */
  WF_EV_STEP_SKIPPED,      /* a stage not selected (--only, --skip, --to); detail: what
                              its dependants use */
  WF_EV_STEP_INPUT_CHANGED, /* a recorded step runs again: its input is not the recorded one */
  WF_EV_STEP_SUPERSEDED,   /* a recorded step runs again: its stage runs again in a newer
                              generation */
  WF_EV_STEP_INTERRUPTED,  /* an attempt was killed when its run stopped (a signal): not
                              recorded, it runs again on resume; detail: why */
  WF_EV_STEP_UPSTREAM_FAILED, /* a stage was not run: a stage it needs failed or has no
                              output; detail: which */
  WF_EV_STEP_CACHED          /* a step's output was reused from an earlier run (the stage's
                                "cache"); detail: that run and step */
};

/* Names: "running", "succeeded", ...; "step_failed", ...; "?" for a value out of range.
 * Static strings. */
const char *wf_run_status_name(int status);
const char *wf_step_status_name(int status);  /* WF_STEP_UNREADABLE: "unreadable" */
const char *wf_event_type_name(int type);
/* The run status named `name` (as wf_run_status_name gives it) into *status.
 * Errors: WF_EINVAL (no such status; *status untouched). */
int wf_run_status_parse(const char *name, int *status);

/* Whether `id` can be a run id: 1 to WF_MAX_RUN_ID bytes of printable ASCII other than
 * space, '/' and '\', not beginning with '.' or '-'. Errors: WF_EINVAL (it cannot). */
int wf_run_id_check(const char *id);
/* Whether `key` can be a step key: 1 to WF_MAX_STEP_KEY bytes, no control characters.
 * Errors: WF_EINVAL (it cannot). */
int wf_step_key_check(const char *key);

/* ---- stores ----------------------------------------------------------------------- */

typedef struct wf_store wf_store;
typedef struct wf_run wf_run;
typedef struct wf_owner wf_owner; /* below, with the reading of runs */

enum wf_store_flags {
  WF_STORE_NOCREATE = 1    /* open only a store that exists: never create one */
};

/* How a store handle behaves. Zero-initialize it; a field left 0 takes its default. */
typedef struct wf_store_opts {
  unsigned flags;          /* WF_STORE_* */
  uint64_t map_cap_mb;     /* the store's file grows on demand up to this many MiB; 0: 65536.
                              A write that would go beyond fails with WF_EMAPFULL */
  unsigned max_readers;    /* processes that may have the store open at once, 1 .. 1048576;
                              0: 4096. Fixed by the first process to open the store while
                              no other has it open */
  uint64_t max_output_mb;  /* a step output above this many MiB fails the step without
                              retry; 0: 64 */
  double kill_grace_s;     /* a step stopped (timeout, cancel) gets SIGTERM, then SIGKILL
                              this many seconds later; 0: 5 */
} wf_store_opts;

/* Open the store under `home` (NULL or "" means "./.wf": the place comes from the caller,
 * never from the environment; wf's CLI passes --home, else $WF_HOME), creating it unless
 * WF_STORE_NOCREATE; opts NULL takes every default. The handle is the caller's until
 * wf_store_close; it and everything begun or listed through it belong to one thread.
 * Errors: WF_EINVAL (path too long; an option out of range); WF_ENOTFOUND (with
 * WF_STORE_NOCREATE: there is no store there; nothing was created); a folder or file of
 * the store cannot be created or opened: WF_EACCES (permission), WF_EROFS (read-only file
 * system), WF_ENOSPC (disk or quota full), WF_EIO (other system errors); WF_ESCHEMA
 * (written by a newer wf), WF_ENOTSTORE (an LMDB environment that is not a wf store),
 * WF_ECORRUPT (the data file is shorter than its pages), WF_EREADERS (every reader slot
 * of the store is taken by live processes), WF_ESTORE (LMDB refused), WF_ENOMEM.
 * wf_last_failure says on what file. */
int wf_store_open_ex(const char *home, const wf_store_opts *opts, wf_store **out);

/* wf_store_open_ex with every default (opts NULL), with the same errors. */
int wf_store_open(const char *home, wf_store **out);

/* Close a store; every run handle of it must have been ended or closed. NULL is fine. */
void wf_store_close(wf_store *st);

/* The store's home folder as opened (without a trailing '/'); valid until
 * wf_store_close. Runs keep their files under it: runs/<id>/, logs/<id>/, locks/<id>. */
const char *wf_store_home(const wf_store *st);

/* What wf_store_health_get finds of a store: what a health check (wf doctor) weighs. */
typedef struct wf_store_health {
  uint32_t schema;          /* the schema version recorded in the store */
  uint32_t schema_current;  /* the version this library writes (it reads 1 up to it) */
  char created_by[32];      /* the version of wf that created the store, or "" */
  uint64_t data_bytes;      /* the size of its data file, store/data.mdb */
  uint64_t used_bytes;      /* of which pages in use */
  uint64_t map_cap_bytes;   /* the size the data file may grow to (map_cap_mb) */
  uint64_t disk_free_bytes; /* free to unprivileged users on the file system holding it */
  unsigned readers_max;     /* reader slots: processes that may have the store open at once */
  unsigned readers_used;    /* slots taken now, this handle's among them */
  unsigned readers_stale;   /* slots of processes that died holding them, which this handle
                               cleared (when it opened the store, and now) */
  int writable;             /* 1: a write transaction can be begun, the store's files can
                               be written and files made in its folders; 0: see below */
  char unwritable[4096];    /* what cannot be written (the first found), or "" */
  int unwritable_errno;     /* why, as an errno value, or 0 */
} wf_store_health;

/* Read into *out what a health check needs to know of store st: its schema, sizes, the
 * free disk space, its reader slots, and whether it can be written (a file is made and
 * removed in each of its folders; nothing is recorded). Clears the reader slots of dead
 * processes, as opening a store does.
 * Errors: WF_EINVAL (a NULL argument; or called from a listing callback), WF_ECORRUPT (a
 * meta record of the store cannot be decoded), WF_ESTORE, WF_EREADERS, WF_ENOMEM. */
int wf_store_health_get(wf_store *st, wf_store_health *out);

/* ---- owning a run and executing its steps ------------------------------------------ */

/* Begin run `run_id` of `workflow`, or take over the existing run of that id when its
 * owner is gone (then its recorded steps are reused). The caller owns the run.
 * run_id NULL generates one, "run_YYYY-MM-DD-HH-MM-SS" (UTC; "-xxxx", four random hex
 * digits, appended when that is taken): wf_run_id gives it. See wf_run_id_check.
 * The run is owned until wf_run_end or wf_run_close: its lock (a file under
 * `home`/locks/) is held by this process, and its record's owner epoch is checked by
 * every write made through the handle.
 * Errors: WF_EINVAL (bad id; or called from a listing callback, see wf_runs_list),
 * WF_EBUSY (a live process owns it), WF_ESTATE (the run succeeded, or was canceled: see
 * wf_run_resume), WF_ECORRUPT (the existing run's record cannot be decoded), WF_EFENCED
 * (another process took the run over as soon as it was claimed); the lock file cannot
 * be made: WF_EIO, WF_EACCES, WF_EROFS, WF_ENOSPC; the store: WF_EMAPFULL, WF_ENOSPC,
 * WF_EIO, WF_EROFS, WF_EREADERS, WF_ESTORE, WF_ENOMEM. */
int wf_run_begin(wf_store *st, const char *workflow, const char *run_id, wf_run **out);

enum wf_resume_flags {
  WF_RESUME_CANCELED = 1,  /* a canceled run may be continued too */
  WF_RESUME_FORCE = 2      /* take the run even from a live owner (a stuck one): its
                              writes fail from then on, it records nothing more */
};

/* Take ownership of existing run `run_id` to continue it: *out is owned as from
 * wf_run_begin, and steps recorded as succeeded are reused. Runs recorded as running
 * whose owner is gone (interrupted) and failed runs are resumed; canceled ones with
 * WF_RESUME_CANCELED. owner (may be NULL) receives the owner found: on WF_EBUSY the live
 * one; on success the one taken over from (owner->alive is 1 only when WF_RESUME_FORCE
 * took the run from a live owner).
 * Errors: WF_EINVAL (bad id, unknown flags; or called from a listing callback),
 * WF_ENOTFOUND, WF_EBUSY (a live process owns it), WF_ESTATE (it succeeded; or it was
 * canceled and WF_RESUME_CANCELED is not given), WF_ECORRUPT (its record cannot be
 * decoded), WF_EFENCED (another process took the run over as soon as it was claimed);
 * the lock file cannot be made: WF_EIO, WF_EACCES, WF_EROFS, WF_ENOSPC; the store:
 * WF_EMAPFULL, WF_ENOSPC, WF_EIO, WF_EROFS, WF_EREADERS, WF_ESTORE, WF_ENOMEM. */
int wf_run_resume(wf_store *st, const char *run_id, unsigned flags, wf_run **out,
                  wf_owner *owner);

/* The run's id; the same pointer until wf_run_end or wf_run_close. */
const char *wf_run_id(const wf_run *run);

/* The deepest nesting of arrays and maps (the outermost counting 1) that wf takes in a
 * value: a step's input, item or output. Its records wrap values in a few levels of their
 * own and must stay readable. */
#define WF_MAX_VALUE_DEPTH 56

/* An in-process step body. `in` is the msgpack input given to the step call. On success
 * it returns 0 and sets *out to a malloc'd msgpack value of *outlen bytes (the engine
 * frees it); any other return fails the step. An output that is not one well-formed
 * value, nests deeper than WF_MAX_VALUE_DEPTH or has a string (or map key) that is not
 * UTF-8 or holds a NUL also fails the step, with a message saying so: it could not be
 * recorded, or shown as JSON, as it is. */
typedef int (*wf_step_fn)(void *ud, const void *in, size_t inlen, void **out, size_t *outlen);

/* Execute step `key` (see wf_step_key_check) of the run with msgpack input `in`, unless it
 * is recorded as succeeded with the same input. Either way *out and *outlen receive the
 * output, valid until the next call on this run; *memoized (may be NULL) tells which.
 * Returns after the record is durable.
 * Errors: WF_EINVAL (a bad key, a NULL run or fn; `in` is not one well-formed msgpack
 * value at most WF_MAX_VALUE_DEPTH deep; or called from a listing callback), WF_ESTEP (fn
 * failed, or gave an output wf does not take; recorded as failed), WF_EFENCED (another
 * process took the run over; nothing was recorded: stop and wf_run_end the handle),
 * WF_ECORRUPT (the step's or the run's record cannot be decoded); the store: WF_EMAPFULL,
 * WF_ENOSPC, WF_EIO, WF_EROFS, WF_EREADERS, WF_ESTORE, WF_ENOMEM. */
int wf_step_run(wf_run *run, const char *key, const void *in, size_t inlen, wf_step_fn fn,
                void *ud, const void **out, size_t *outlen, int *memoized);

/* Builds the msgpack input of item i of a fan-out (malloc'd into *in, *inlen: one value
 * at most WF_MAX_VALUE_DEPTH deep) and its step key (a NUL-terminated string of at most
 * WF_MAX_STEP_KEY bytes written into key[keycap]). */
typedef int (*wf_item_fn)(void *ud, size_t i, char *key, size_t keycap, void **in, size_t *inlen);

/* Execute n steps of a fan-out with at most `window` (0: 8) of them in flight, through the
 * scheduler and group commit: finished steps are committed together, so many steps
 * cost one fsync. Already-recorded items are skipped. Returns when all are durable.
 * *max_inflight (may be NULL) receives the largest number seen in flight.
 * Errors: WF_EINVAL (a NULL run, item or fn; or called from a listing callback), WF_ESTEP
 * (a step failed, an item could not be made or is not one well-formed msgpack value at
 * most WF_MAX_VALUE_DEPTH deep, or the run was canceled), WF_EFENCED (as wf_step_run),
 * WF_ECORRUPT (a record cannot be decoded); the store: WF_EMAPFULL, WF_ENOSPC, WF_EIO,
 * WF_EROFS, WF_EREADERS, WF_ESTORE, WF_ENOMEM. */
int wf_step_map(wf_run *run, size_t n, unsigned window, wf_item_fn item, wf_step_fn fn,
                void *ud, unsigned *max_inflight);

/* Record the run's outcome (WF_RUN_SUCCEEDED or WF_RUN_FAILED), give up ownership and
 * free the handle; the handle is freed whatever the outcome.
 * Errors: WF_EINVAL (another outcome, a NULL run; or called from a listing callback),
 * WF_EFENCED (another process owns the run now; nothing was recorded), WF_ECORRUPT (the
 * run's record cannot be decoded); the store: WF_EMAPFULL, WF_ENOSPC, WF_EIO, WF_EROFS,
 * WF_ESTORE, WF_ENOMEM. */
int wf_run_end(wf_run *run, int outcome);

/* Give up ownership without recording an outcome and free the handle (NULL is fine). A
 * run left running reads as interrupted from then on and can be resumed. */
void wf_run_close(wf_run *run);

/* How wf_run_fork makes the new run. Zero-initialize it. */
typedef struct wf_fork_opts {
  const char *run_id;      /* the new run's id; NULL: generated as by wf_run_begin */
  const char *run_dir;     /* its folder (see wf_run_dir_check); NULL: `home`/runs/<id> */
  const char *from;        /* the stage it begins at, named in its history; may be NULL */
  const char *const *keep; /* the stages whose succeeded steps it reuses */
  size_t nkeep;
} wf_fork_opts;

/* Create a new run, owned by the caller as from wf_run_begin, as a fork of run `src_id`
 * (which stays as it is): it records src's workflow, definition, params, stage selection
 * (but --start-from), window and continue-on-error, and src as forked_from; the steps of
 * src recorded as succeeded in a stage of o->keep are recorded for it (generation 0),
 * with their logs; the files of src's folder are copied into its folder. All of that is
 * in place when the run's record is committed, or none of it is. Executing it (through
 * the plan of its definition) reuses those steps and executes the rest. wf_run_id gives
 * its id.
 * Errors: WF_EINVAL (bad id of either run, o NULL, a keep entry NULL, a bad o->run_dir;
 * or called from a listing callback), WF_ENOTFOUND (no run src_id), WF_EEXIST (a run
 * o->run_id exists; o->run_dir holds files of no run), WF_EBUSY (a live process owns run
 * src_id; or o->run_dir is another run's folder), WF_ECORRUPT (src's record cannot be
 * decoded); files cannot be read, copied or moved: WF_EACCES, WF_EROFS, WF_ENOSPC, WF_EIO
 * (wf_last_failure names the file); the store: WF_EMAPFULL, WF_ENOSPC, WF_EIO, WF_EROFS,
 * WF_EREADERS, WF_ESTORE, WF_ENOMEM. After an error nothing of the new run exists. */
int wf_run_fork(wf_store *st, const char *src_id, const wf_fork_opts *o, wf_run **out);

/* ---- moving runs between stores ----------------------------------------------------- */

/* Where wf_run_export writes: called with each piece of the file in order; returns 0, or
 * anything else to stop the export (a negative WF_E* code is returned as it is, another
 * value as WF_EIO). */
typedef int (*wf_write_fn)(void *ud, const void *buf, size_t len);

/* Write run `run_id` as one self-contained export file (docs/export-format.md): its
 * record (definition, params, selection), steps, events, and the files of its folder and
 * of its logs, streamed piece by piece through write, each section with its length and a
 * crc32. A run a live process owns is not exported. After an error the pieces written
 * are not a whole file (an import refuses them).
 * Errors: WF_EINVAL (bad id, write NULL; or called from a listing callback),
 * WF_ENOTFOUND, WF_EBUSY (a live process owns it: export it once it has stopped),
 * WF_ECORRUPT (a record cannot be decoded); a file cannot be read (or changed size while
 * read): WF_EACCES, WF_EIO (wf_last_failure names it); the store: WF_EREADERS,
 * WF_ESTORE, WF_ENOMEM; or what write returned. */
int wf_run_export(wf_store *st, const char *run_id, wf_write_fn write, void *ud);

/* How wf_run_import recreates a run. Zero-initialize it. */
typedef struct wf_import_opts {
  const char *as;          /* the run's id in this store; NULL: the id it had */
  const char *run_dir;     /* its folder (see wf_run_dir_check); NULL: `home`/runs/<id> */
} wf_import_opts;

/* Recreate the run of export file `path` in this store: its records as they were (with
 * no owner: a run that was running reads as interrupted, and can be resumed), its folder's
 * files and its logs. The file is checked whole first (magic, version, every length and
 * checksum, every record, the end section's counts); then its files are staged and its
 * records written in one transaction that moves them into place: after any error nothing
 * of the run exists. id (may be NULL) receives the run's id in id[idcap]; with
 * WF_ECORRUPT, why (may be NULL) says what is wrong with the file in why[whycap].
 * Errors: WF_EINVAL (path or st NULL, bad o->as or o->run_dir, the id does not fit in
 * idcap; or called from a listing callback), WF_ECORRUPT (the file is not a whole, valid
 * export file: truncated, damaged, of another version), WF_EEXIST (a run of that id
 * exists: give o->as; or o->run_dir holds files of no run), WF_EBUSY (o->run_dir is
 * another run's folder); the file cannot be read, or files not written or moved:
 * WF_EACCES, WF_EROFS, WF_ENOSPC, WF_EIO (wf_last_failure names it); the store:
 * WF_EMAPFULL, WF_ENOSPC, WF_EIO, WF_EROFS, WF_EREADERS, WF_ESTORE, WF_ENOMEM. */
int wf_run_import(wf_store *st, const char *path, const wf_import_opts *o, char *id,
                  size_t idcap, char *why, size_t whycap);
/* Check export file `path` whole as wf_run_import does first, with no store: before a
 * store is made to import into. id (may be NULL) receives the id of its run in id[idcap];
 * with WF_ECORRUPT, why (may be NULL) says what is wrong in why[whycap].
 * Errors: WF_EINVAL (path NULL, or the id does not fit in idcap), WF_ECORRUPT, WF_EACCES,
 * WF_EIO (the file cannot be read), WF_ENOMEM. */
int wf_run_import_check(const char *path, char *id, size_t idcap, char *why, size_t whycap);

/* ---- reading runs ------------------------------------------------------------------ */

/* Who owns a run, as recorded, and whether it still does. */
struct wf_owner {
  int32_t pid;             /* 0: no owner recorded (a finished run) */
  char host[64];           /* its host name */
  int64_t heartbeat;       /* its last heartbeat, ms since the epoch; owners beat every 5 s */
  int alive;               /* 1: the run is running and this owner may still be executing
                              it (on this machine it holds the run's lock; on another its
                              heartbeat is younger than WF_OWNER_LEASE_MS); 0: gone */
  int same_machine;        /* 1: it ran on this machine's kernel (same boot id) */
  int pid_visible;         /* 1: its pid is a live process of this PID namespace (with the
                              start time recorded) */
};

/* An owner on another machine counts as gone this long after its last heartbeat. */
#define WF_OWNER_LEASE_MS 30000

/* One run, as read from the store. Strings are NUL-terminated; times are ms since the
 * epoch, 0 when not reached. */
typedef struct wf_run_info {
  const char *id;
  int read_error;          /* in wf_runs_list only: 0, or why the run's record could not be
                              read (WF_ECORRUPT, WF_ENOTFOUND for an index entry without a
                              record, ...): then only id and created_at are set */
  const char *workflow;    /* its name */
  int status;              /* wf_run_status as it reads now: WF_RUN_INTERRUPTED when
                              recorded as running and its owner is gone */
  int recorded_status;     /* as recorded: never WF_RUN_INTERRUPTED */
  int64_t created_at;      /* when the run was begun */
  int64_t started_at;      /* when its last execution began (it is resumed, restarted) */
  int64_t updated_at;      /* its record's last change */
  int64_t finished_at;     /* when its last execution ended; 0 while it runs */
  uint32_t generation;     /* how many times its stages were set to run again */
  uint64_t counts[WF_STEP_NSTATUS]; /* recorded steps per wf_step_status */
  const char *error;       /* why the run failed or stopped, or NULL */
  const char *forked_from; /* the run it was forked from, or NULL */
  wf_owner owner;          /* pid 0 when none is recorded */
  int cancel_requested;    /* a cancel was asked of its live owner */
  const void *params;      /* its parameters: a msgpack map, or NULL */
  size_t params_len;
  const char *only, *skip, *start_from, *to; /* stage selection as given, or NULL */
  uint32_t window;         /* steps in flight at once */
  int continue_on_error;
  const char *def_path;    /* where its definition was loaded from; "" when bundled or
                              none */
  const char *def_text;    /* its definition as it runs; "" for runs of wf_run_begin */
  const char *def_hash;    /* a digest of def_text */
  uint64_t next_event_seq; /* its events have sequence numbers below this one */
  const char *run_dir;     /* the folder of the files its steps write (it may not exist):
                              the absolute path it was given (wf start --run-dir), else
                              `home`/runs/<id> */
  int run_dir_given;       /* 1: run_dir was given when the run was created */
  uint64_t steps_done;     /* steps of its last execution that succeeded, executed or
                              reused, as its progress report says (wf_run_progress_get);
                              without one, counts[WF_STEP_SUCCEEDED] */
  uint64_t steps_total;    /* the steps of its last execution as far as known: of its
                              selected stages, those whose item lists are known, plus what
                              the others did; 0 when nothing is known (no report) */
  int steps_total_known;   /* 1: steps_total is exact; 0: a lower bound, or unknown */
} wf_run_info;

/* Read run `run_id` into *out, a malloc'd description the caller frees with
 * wf_run_info_free; its pointers stay valid until then.
 * Errors: WF_EINVAL (bad id; or called from a listing callback of the same store),
 * WF_ENOTFOUND, WF_ECORRUPT (the record cannot be decoded), WF_ENOMEM, WF_ESTORE,
 * WF_EREADERS. */
int wf_run_info_get(wf_store *st, const char *run_id, wf_run_info **out);
void wf_run_info_free(wf_run_info *info);

/* Which runs wf_runs_list passes, in what order. Zero-initialize it: a field left 0 does
 * not filter. */
typedef struct wf_run_filter {
  unsigned statuses;       /* bit (1u << s) for each wf_run_status s wanted, as the run
                              reads now (so WF_RUN_INTERRUPTED can be asked for); 0: all */
  const char *workflow;    /* only runs of this workflow */
  int64_t since;           /* only runs created at or after this time (ms) */
  int64_t until;           /* only runs created before this time (ms) */
  int oldest_first;        /* runs are passed by creation time, newest first unless set;
                              runs created in the same ms by id */
  size_t limit;            /* pass at most this many readable runs */
  const char *after_id;    /* paging: begin after this run, the last one of the previous
                              page (it need not exist any more if after_created_at is
                              given) */
  int64_t after_created_at; /* that run's created_at; 0: read from its record */
} wf_run_filter;

/* Called for each run listed; `run` and everything it points to are valid until it
 * returns. Return 0 to go on; any other value stops the listing and is returned by it. */
typedef int (*wf_run_cb)(void *ud, const wf_run_info *run);

/* Pass the runs that match f (NULL: every run, newest first) to cb. The runs are read
 * in one read snapshot of the store, held while cb runs: cb must not call functions
 * of the same store handle (they fail with WF_EINVAL); collect what it needs and act
 * after. A run whose record cannot be read is passed with read_error set, whatever the
 * workflow filter (it cannot be applied), and does not count against the limit.
 * Errors: WF_EINVAL (a status bit out of range, since/until/after_created_at negative, a
 * bad after_id; or called from a listing callback of the same store), WF_ENOTFOUND
 * (after_id without after_created_at names no run), WF_ECORRUPT (an index entry is
 * damaged), WF_ESTORE, WF_EREADERS, WF_ENOMEM; or what cb returned. */
int wf_runs_list(wf_store *st, const wf_run_filter *f, wf_run_cb cb, void *ud);

/* One step of a run, as recorded. */
typedef struct wf_step_info {
  const char *key;         /* "<stage>" or "<stage>/<item key>" for an item of a fan-out;
                              a fan-out stage's own record has the stage id as key */
  const char *stage;       /* the stage it belongs to; "" when unknown */
  int status;              /* wf_step_status; WF_STEP_UNREADABLE: the record cannot be
                              decoded, and only key and error are set */
  uint32_t attempt;        /* its last attempt, from 1 */
  int64_t started_at, finished_at; /* its last attempt's, ms since the epoch */
  int32_t exit_code;       /* of its process; -1 when it was not a process exit */
  const char *error;       /* why it failed, or NULL */
  const char *stderr_tail; /* the end of what its process wrote to stderr, or NULL */
  uint32_t generation;     /* the run's generation it was recorded in */
  const void *input;       /* msgpack, or NULL */
  size_t input_len;
  const void *output;      /* msgpack, or NULL when it gave none */
  size_t output_len;
  const char *cached_run;  /* its output was reused, without executing it, from step */
  const char *cached_step; /* cached_step of run cached_run; both NULL otherwise */
} wf_step_info;

/* As wf_run_cb, for steps. */
typedef int (*wf_step_cb)(void *ud, const wf_step_info *step);

/* Pass the recorded steps of run `run_id` whose key begins with `prefix` (NULL or "": all;
 * "stage/" the items of a fan-out stage) to cb, in key order, from one read snapshot held
 * while cb runs (cb must not call functions of the same store handle). A step whose record
 * cannot be decoded is passed with status WF_STEP_UNREADABLE, so one damaged record does
 * not hide the others.
 * Errors: WF_EINVAL (bad run id, prefix longer than WF_MAX_STEP_KEY; or called from a
 * listing callback), WF_ENOTFOUND (no such run), WF_ECORRUPT (the run's record cannot be
 * decoded), WF_ESTORE, WF_EREADERS, WF_ENOMEM; or what cb returned. */
int wf_steps_list(wf_store *st, const char *run_id, const char *prefix, wf_step_cb cb,
                  void *ud);

/* Read step `key` of run `run_id` into *out, malloc'd; the caller frees it with
 * wf_step_info_free and its pointers stay valid until then.
 * Errors: WF_EINVAL (bad run id or key; or called from a listing callback), WF_ENOTFOUND
 * (no such run or step), WF_ECORRUPT (the record cannot be decoded), WF_ENOMEM,
 * WF_ESTORE, WF_EREADERS. */
int wf_step_info_get(wf_store *st, const char *run_id, const char *key, wf_step_info **out);
void wf_step_info_free(wf_step_info *step);

/* One event of a run's history. */
typedef struct wf_event_info {
  uint64_t seq;            /* its place in the run's history, from 0 */
  int type;                /* wf_event_type */
  int64_t time;            /* ms since the epoch */
  const char *step_key;    /* the step it is about, or NULL for the run */
  uint32_t attempt;        /* the step's attempt, or 0 */
  const char *detail;      /* or NULL */
} wf_event_info;

/* As wf_run_cb, for events. */
typedef int (*wf_event_cb)(void *ud, const wf_event_info *event);

/* Pass the events of run `run_id` with sequence numbers from `from_seq` on to cb, in
 * order, from one read snapshot held while cb runs (cb must not call functions of the
 * same store handle). For live updates, pass the seq after the last one seen, or the
 * run's next_event_seq, and call again later.
 * Errors: WF_EINVAL (bad run id; or called from a listing callback), WF_ENOTFOUND (no
 * such run), WF_ECORRUPT (a record cannot be decoded: the events before it were passed),
 * WF_ESTORE, WF_EREADERS, WF_ENOMEM; or what cb returned. */
int wf_events_list(wf_store *st, const char *run_id, uint64_t from_seq, wf_event_cb cb,
                   void *ud);

/* The path of the log holding what step `key` of run `run_id` wrote to stderr (every
 * attempt), or with key NULL of the log a detached run writes its own messages to;
 * written to buf[cap]. The file exists only once something was written.
 * Errors: WF_EINVAL (bad id or key, or the path does not fit in cap). */
int wf_log_path(const wf_store *st, const char *run_id, const char *key, char *buf,
                size_t cap);

/* ---- progress ---------------------------------------------------------------------- */

/* Steps are recorded when they end, not when they start (a synced commit each), so what
 * is in flight is not in the store: the process executing a run writes a progress report
 * of it instead, a few times a second and once more when it ends (a file under the run's
 * logs folder, replaced at once, not synced: it may be lost in a crash of the machine). */

/* One stage of a run as its progress report has it. */
typedef struct wf_stage_progress {
  const char *id;
  int status;              /* wf_step_status: pending (not begun; or, with started_at set,
                              begun and stopped before its end: a resume goes on with it),
                              running, succeeded, failed, skipped (not selected, or a stage
                              it needs did not succeed), canceled */
  int fanout;              /* 1: one step per item of a list */
  int selected;            /* 0: left out by --only/--skip/--to; its recorded results are
                              used and it runs nothing */
  int total_known;         /* 1: total is its number of steps */
  uint64_t total;          /* its steps: 1, or a fan-out's items once its list is known */
  uint64_t done;           /* succeeded, executed or reused */
  uint64_t reused;         /* of done, the recorded results reused without executing */
  uint64_t failed;         /* failed for good */
  uint64_t running;        /* in flight now; 0 unless the report is live */
  int64_t started_at, finished_at; /* ms since the epoch; 0 when not reached */
  int64_t exec_ms;         /* the durations of its done - reused executed steps, added
                              up: their mean, for an estimate of what is left */
} wf_stage_progress;

/* A step in flight. */
typedef struct wf_step_running {
  const char *key;
  uint32_t stage;          /* its stage: an index into the report's stages */
  uint32_t attempt;        /* from 1 */
  int64_t started_at;      /* when this attempt began, ms since the epoch */
} wf_step_running;

/* The progress report of a run's last execution. */
typedef struct wf_run_progress {
  int live;                /* 1: written by the live owner executing the run now, within
                              the last second or so (unless it is stopped): running counts
                              and steps are current. 0: left by an execution that ended or
                              whose owner is gone: nothing is running, no step listed */
  int64_t reported_at;     /* when it was written, ms since the epoch */
  int64_t started_at;      /* when the execution it reports on began */
  uint32_t generation;     /* the run's generation it executed */
  size_t nstages;
  const wf_stage_progress *stages; /* every stage of the run, in definition order */
  uint64_t running;        /* steps in flight */
  size_t nsteps;
  const wf_step_running *steps; /* steps in flight, longest-running first: at most 100 */
} wf_run_progress;

/* Read the progress report of run `run_id` into *out, a malloc'd description the caller
 * frees with wf_run_progress_free; its pointers stay valid until then. Whether it is live
 * is decided as wf_run_info's status is: a report left by an owner that is gone never
 * shows anything running.
 * Errors: WF_EINVAL (bad id; or called from a listing callback), WF_ENOTFOUND (no such
 * run, or it has no readable report: it was never executed by a workflow (runs of
 * wf_run_begin have none), or by an older wf, or the report was lost or damaged),
 * WF_ECORRUPT (the run's record cannot be decoded), WF_ESTORE, WF_EREADERS, WF_ENOMEM. */
int wf_run_progress_get(wf_store *st, const char *run_id, wf_run_progress **out);
void wf_run_progress_free(wf_run_progress *p);

/* Whether folder `dir` (absolute, or relative to the current folder) may be the folder of
 * a new run `run_id` (NULL: an id not chosen yet) of this store, as wf start --run-dir
 * gives it: a folder that does not exist, an empty one, or the folder of a run of this
 * store that was deleted since. Nothing is created. abs (may be NULL) receives its
 * absolute path in abs[abscap]; with WF_EBUSY, owner (may be NULL) names the run that has
 * it in owner[ownercap] ("run X", or "run X of the store at PATH").
 * Errors: WF_EINVAL (bad id; dir empty, too long, or the store's home or inside it; or
 * called from a listing callback), WF_EBUSY (it is the folder of another run, of this
 * store or another), WF_EEXIST (it holds files and is no run's folder); it cannot be
 * read: WF_EACCES, WF_EIO; the store: WF_EREADERS, WF_ESTORE. */
int wf_run_dir_check(wf_store *st, const char *run_id, const char *dir, char *abs,
                     size_t abscap, char *owner, size_t ownercap);

/* Called with a run id; return 0 to go on, any other value to stop. */
typedef int (*wf_run_id_cb)(void *ud, const char *id);

/* The run `prefix` names: a run whose id is `prefix`, else the one run whose id begins
 * with it (as git takes a unique prefix of a commit). Its id is written to id[cap] (cap
 * WF_MAX_RUN_ID + 1 always suffices). When several runs begin with `prefix` and none is
 * named by it exactly, cb (may be NULL) is passed each of their ids, in id order, until
 * it returns non-zero, and WF_EAMBIGUOUS is returned.
 * Errors: WF_EINVAL (`prefix` is not a valid run id, id NULL or cap too small for the
 * id; or called from a listing callback), WF_ENOTFOUND (no run begins with `prefix`),
 * WF_EAMBIGUOUS (several do), WF_ECORRUPT (a damaged key), WF_ESTORE, WF_EREADERS,
 * WF_ENOMEM. */
int wf_run_id_resolve(wf_store *st, const char *prefix, char *id, size_t cap,
                      wf_run_id_cb cb, void *ud);

/* ---- controlling runs -------------------------------------------------------------- */

/* Ask run `run_id` to stop. A live owner notices within a second, stops its steps and
 * records the run canceled (wf_run_info: status running and cancel_requested until
 * then); a run that no live process owns is recorded canceled at once.
 * Errors: WF_EINVAL (bad id; or called from a listing callback), WF_ENOTFOUND,
 * WF_ESTATE (the run has finished already), WF_ECORRUPT (its record cannot be decoded);
 * the store: WF_EMAPFULL, WF_ENOSPC, WF_EIO, WF_EROFS, WF_ESTORE, WF_ENOMEM. */
int wf_run_cancel(wf_store *st, const char *run_id);

/* Delete run `run_id` and everything of it: its record, steps, events and index entries
 * in one transaction, then its lock file and its folders runs/<id>/ and logs/<id>/.
 * Files of those folders that cannot be removed are left in a folder whose name begins
 * with '.' (no run id does) beside them; the run is gone either way.
 * Errors: WF_EINVAL (bad id; or called from a listing callback), WF_ENOTFOUND, WF_EBUSY
 * (a live process owns the run: cancel it first), WF_ECORRUPT (its record cannot be
 * decoded); its lock file or a folder cannot be removed or moved: WF_EACCES, WF_EROFS,
 * WF_EIO; the store: WF_EMAPFULL, WF_ENOSPC, WF_EIO, WF_EROFS, WF_ESTORE, WF_ENOMEM.
 * After an error the run is as it was (but for its lock file, which only a live owner
 * needs). */
int wf_run_delete(wf_store *st, const char *run_id);

/* What wf_runs_delete did with one run, and what that freed. */
typedef struct wf_delete_info {
  const char *id;
  int result;              /* 0: deleted; WF_ENOTFOUND (no such run), WF_EBUSY (a live
                              process owns it), WF_ECORRUPT (its record cannot be
                              decoded) or WF_EINVAL (not a run id): left as it was */
  uint64_t steps;          /* step records removed */
  uint64_t events;         /* event records removed */
  uint64_t record_bytes;   /* bytes of the keys and values removed from the store (space
                              the store reuses; wf_store_compact gives it back) */
  uint64_t files;          /* files removed from its folders runs/<id>/ and logs/<id>/ */
  uint64_t file_bytes;     /* their bytes */
} wf_delete_info;

/* Called once for each run given to wf_runs_delete, in the order given; `d` is valid
 * until it returns. Return 0 to go on; any other value stops the deletion (the runs not
 * yet reported may or may not be deleted) and is returned by it. */
typedef int (*wf_delete_cb)(void *ud, const wf_delete_info *d);

/* Delete the n runs ids[0..n-1] as wf_run_delete does each, many in one transaction (so
 * that deleting thousands of runs costs a few commits): each run's records go in one
 * transaction, then its lock file and folders. A run that cannot be deleted (see
 * wf_delete_info.result) is left as it was and the others are deleted. cb (may be NULL)
 * is told of each run once its transaction has committed and its files are removed.
 * Errors: WF_EINVAL (st NULL, ids NULL with n > 0; or called from a listing callback);
 * a transaction could not be committed (its runs are as they were; the runs reported
 * before it are deleted): WF_EMAPFULL, WF_ENOSPC, WF_EIO, WF_EROFS, WF_ESTORE,
 * WF_ENOMEM; a lock file or folder cannot be removed or moved: WF_EACCES, WF_EROFS,
 * WF_EIO; or what cb returned. */
int wf_runs_delete(wf_store *st, const char *const *ids, size_t n, wf_delete_cb cb, void *ud);

/* Rewrite the store under `home` without its free pages (mdb_env_copy2 with
 * MDB_CP_COMPACT into a new file beside it, synced, then renamed over the data file), so
 * that the space of deleted runs goes back to the file system. Only while no process has
 * the store open: the check and the swap hold a lock that wf_store_open waits for, so no
 * wf process opens the store meanwhile. *before and *after (may be NULL) receive the data
 * file's size in bytes before and after. The caller must not have the store open.
 * Errors: WF_EINVAL (home NULL or too long), WF_ENOTFOUND (no store there), WF_EBUSY
 * (another process has the store open: nothing was changed), WF_ESCHEMA, WF_ENOTSTORE,
 * WF_ECORRUPT (as wf_store_open); the copy cannot be written: WF_ENOSPC, WF_EIO,
 * WF_EACCES, WF_EROFS (the store is as it was); WF_ESTORE, WF_ENOMEM. */
int wf_store_compact(const char *home, uint64_t *before, uint64_t *after);

#ifdef __cplusplus
}
#endif
#endif
