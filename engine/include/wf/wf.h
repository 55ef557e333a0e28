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
 */
#ifndef WF_WF_H
#define WF_WF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WF_VERSION_MAJOR 0
#define WF_VERSION_MINOR 1
#define WF_VERSION_PATCH 0

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
  X(WF_EFENCED, -21, "run was taken over by another process")

enum wf_error {
#define WF_X_ENUM(name, value, msg) name = value,
  WF_ERRORS(WF_X_ENUM)
#undef WF_X_ENUM
};

/* Message for an error code (0 gives "success"); never NULL. */
const char *wf_strerror(int err);

typedef struct wf_store wf_store;
typedef struct wf_run wf_run;

/* Open (creating if needed) the store under `home`; NULL means $WF_HOME, else "./.wf".
 * Errors: WF_EINVAL (path too long); a folder or file of the store cannot be created or
 * opened: WF_EACCES (permission), WF_EROFS (read-only file system), WF_ENOSPC (disk or
 * quota full), WF_EIO (other system errors); WF_ESCHEMA (written by a newer wf),
 * WF_ENOTSTORE (an LMDB environment that is not a wf store), WF_ECORRUPT (the data file
 * is shorter than its pages), WF_EREADERS (every reader slot of the store is taken by
 * live processes), WF_ESTORE (LMDB refused), WF_ENOMEM. */
int wf_store_open(const char *home, wf_store **out);

/* Close a store; all runs begun on it must have ended. */
void wf_store_close(wf_store *st);

/* Begin run `run_id` of `workflow`, or take over the existing run of that id when its
 * owner is gone (then its recorded steps are reused). The caller owns the run.
 * run_id NULL generates "run_<date>-<time>-<random>". Ids are at most 200 bytes of
 * printable ASCII other than '/' and space.
 * The run is owned until wf_run_end: its lock (a file under `home`/locks/) is held by this
 * process, and its record's owner epoch is checked by every write made through the handle.
 * Errors: WF_EINVAL (bad id), WF_EBUSY (a live process owns it), WF_ESTATE (the run
 * already finished), WF_ENOMEM, WF_ESTORE, WF_EIO (the lock file cannot be made). */
int wf_run_begin(wf_store *st, const char *workflow, const char *run_id, wf_run **out);

/* The run's id; valid until wf_run_end. */
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

/* Execute step `key` (at most 300 bytes) of the run with msgpack input `in`, unless it
 * is recorded as succeeded with the same input. Either way *out and *outlen receive the
 * output, valid until the next call on this run; *memoized (may be NULL) tells which.
 * Returns after the record is durable.
 * Errors: WF_EINVAL (also: `in` is not one well-formed msgpack value at most
 * WF_MAX_VALUE_DEPTH deep), WF_ESTEP (fn failed, or gave an output wf does not take;
 * recorded as failed), WF_ESTORE, WF_ENOMEM, WF_EFENCED (another process took the run
 * over; nothing was recorded: stop and wf_run_end the handle). */
int wf_step_run(wf_run *run, const char *key, const void *in, size_t inlen, wf_step_fn fn,
                void *ud, const void **out, size_t *outlen, int *memoized);

/* Builds the msgpack input of item i of a fan-out (malloc'd into *in, *inlen: one value
 * at most WF_MAX_VALUE_DEPTH deep) and its step key (a NUL-terminated string of at most
 * 300 bytes written into key[keycap]). */
typedef int (*wf_item_fn)(void *ud, size_t i, char *key, size_t keycap, void **in, size_t *inlen);

/* Execute n steps of a fan-out with at most `window` of them in flight, through the
 * scheduler and group commit: finished steps are committed together, so many steps
 * cost one fsync. Already-recorded items are skipped. Returns when all are durable.
 * *max_inflight (may be NULL) receives the largest number seen in flight.
 * Errors: as wf_step_run; WF_ESTEP if any step failed. */
int wf_step_map(wf_run *run, size_t n, unsigned window, wf_item_fn item, wf_step_fn fn,
                void *ud, unsigned *max_inflight);

/* Final status given to wf_run_end. */
enum wf_run_outcome { WF_RUN_SUCCEEDED = 2, WF_RUN_FAILED = 3 };

/* Record the run's outcome (WF_RUN_SUCCEEDED or WF_RUN_FAILED), give up ownership and
 * free the handle. Errors: WF_EINVAL, WF_ESTORE, WF_EFENCED (another process owns the
 * run now; nothing was recorded); the handle is freed anyway. */
int wf_run_end(wf_run *run, int outcome);

#ifdef __cplusplus
}
#endif
#endif
