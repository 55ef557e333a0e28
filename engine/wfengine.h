/* wfengine.h — the engine as seen by activities, workflows and the CLI (not public).
 *
 * A run executes a plan: stages with dependencies, each a single step or a fan-out of
 * item steps. Activities execute one attempt of a step on the engine's libuv loop and
 * report through wfi_job_done. Workflows supply the plan and the hooks that build step
 * inputs and iterate fan-out items. Everything runs on one thread.
 */
#ifndef WF_ENGINE_H
#define WF_ENGINE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "wfstore.h"

/* ---- activities ------------------------------------------------------------------ */

typedef struct wfi_job wfi_job;

typedef struct wfi_result {
  int ok;                  /* 1: the attempt succeeded */
  int retryable;           /* when !ok: 0 fails the step now, whatever the retry policy */
  int32_t exit_code;       /* -1 when not a process exit; 128+n for signal n */
  uint8_t *output;         /* msgpack, malloc'd; NULL means nil */
  size_t output_len;
  char *error;             /* malloc'd message or NULL */
  char *stderr_tail;       /* malloc'd or NULL */
  int deferred;            /* when !ok: the attempt never started for lack of a resource
                            * (descriptors, processes). While other steps run, the engine
                            * starts it again after one of them ends, and it does not count
                            * as an attempt; else it fails as the other fields say. */
} wfi_result;

enum wfi_kill_reason { WFI_KILL_TIMEOUT = 1, WFI_KILL_CANCEL = 2, WFI_KILL_SHUTDOWN = 3 };

typedef struct wfi_activity {
  const char *name;
  /* Start one attempt. wfi_job_done must follow exactly once, possibly before start
   * returns (a failure to start is reported through it too). */
  void (*start)(void *ctx, wfi_job *job);
  /* Stop an attempt in flight: the whole process group gets SIGTERM, then SIGKILL
   * after job->kill_grace_s. wfi_job_done still follows. */
  void (*kill)(void *ctx, wfi_job *job, int reason);
} wfi_activity;

struct wfi_job {
  /* set by the engine; read-only for the activity */
  uv_loop_t *loop;
  const char *home;        /* store home */
  const char *run_id;
  const char *stage;
  const char *step_key;
  const char *run_dir;     /* $home/runs/<run id>, exists */
  const char *log_path;    /* stderr log of this step; its folder exists */
  uint32_t attempt;        /* 1-based */
  const uint8_t *input;    /* msgpack, valid until done */
  size_t input_len;
  size_t max_output;       /* bytes; more fails the step non-retryably */
  double kill_grace_s;     /* SIGTERM -> SIGKILL delay */
  void *act_ctx;
  /* called by wfi_job_done; the engine's, or a test's */
  void (*on_done)(wfi_job *job, wfi_result *res);
  /* free for the activity */
  void *act_state;
};

/* Report the end of an attempt (calls job->on_done). Takes ownership of the buffers in
 * *res (res itself may live on the caller's stack). The job must not be touched after. */
void wfi_job_done(wfi_job *job, wfi_result *res);

/* Path of the stderr log of step `key` of run `run_id` under `home`: $home/logs/<run>/
 * followed by the key with every byte outside [A-Za-z0-9._-] percent-encoded, ".log".
 * WF_EINVAL when it does not fit. */
int wfi_log_path(const char *home, const char *run_id, const char *key, char *buf,
                 size_t cap);

/* Path of the log of a detached run's own output (its progress and messages) under
 * `home`: $home/logs/<run>/.wf.log. No step's log has that name: an encoded key never
 * begins with '.'. WF_EINVAL when it does not fit. */
int wfi_run_log_path(const char *home, const char *run_id, char *buf, size_t cap);

/* ---- plans --------------------------------------------------------------------------- */

typedef struct wfi_retry {
  uint32_t max_attempts;   /* >= 1 */
  double initial_interval_s;
  double backoff;          /* multiplier, >= 1 */
  double max_interval_s;   /* 0 = no cap */
  int32_t nonretry_codes[16];
  uint32_t n_nonretry;
} wfi_retry;

/* Seconds to wait after failed attempt `attempt` (1-based) before the next one:
 * initial * backoff^(attempt-1), capped at max_interval_s. */
double wfi_retry_delay(const wfi_retry *r, uint32_t attempt);
/* Whether a failed attempt may be retried: attempts left, retryable, exit code not listed. */
int wfi_retry_allowed(const wfi_retry *r, uint32_t attempt, const wfi_result *res);

typedef struct wfi_class_limit {
  const char *cls;         /* class name; "*" applies to every class not listed */
  uint32_t limit;          /* steps of this class in flight; 0 = no limit */
  double rate;             /* starts per second (token bucket, burst 1); 0 = no limit */
} wfi_class_limit;

/* The cross-run cache of a stage: a step whose input (and so command) is the one a
 * succeeded step of an earlier run of the same workflow had, by the same activity, is
 * recorded with that step's output instead of executing (USE); REFRESH executes every
 * step (--force) and only indexes what succeeds. */
enum wfi_cache { WFI_CACHE_OFF = 0, WFI_CACHE_USE, WFI_CACHE_REFRESH };

typedef struct wfi_stage {
  const char *id;
  const uint32_t *needs;   /* indices of stages this one needs */
  uint32_t nneeds;
  int fanout;              /* 1: one step per item, keys "<id>/<item key>" */
  uint32_t concurrency;    /* steps of this stage in flight; 0 = no stage limit */
  const wfi_class_limit *classes;
  uint32_t nclasses;
  double rate;             /* starts per second of the whole stage; 0 = no limit */
  wfi_retry retry;
  double timeout_s;        /* start-to-close per attempt; 0 = none */
  const wfi_activity *act;
  void *act_ctx;
  int cache;               /* wfi_cache: reuse the outputs of earlier runs' steps */
  const char *activity;    /* what the cache keys name the activity by ("run", "shell",
                              "uses:<name>"); NULL: the stage is not cached */
  int selected;            /* 0: not run (--only/--skip/--to); recorded results are used */
  int rerun;               /* 1: recorded results of an older generation are not reused */
} wfi_stage;

typedef struct wfi_exec wfi_exec;   /* one execution of a run; passed to the hooks */
typedef struct wfi_items wfi_items; /* a fan-out cursor, defined by the workflow layer */

typedef struct wfi_plan_ops {
  /* The msgpack input (malloc'd) of a single-step stage (item NULL) or of one item of a
   * fan-out stage. Errors fail the step non-retryably with wfi_exec_error's message. */
  int (*build_input)(void *ud, wfi_exec *x, uint32_t stage, const uint8_t *item,
                     size_t item_len, uint8_t **in, size_t *in_len);
  /* Open the item cursor of a fan-out stage. *source_hash identifies every item's input
   * but the item itself (what is iterated, the stage, params and needed outputs), so a
   * recorded stage whose items would get another input is iterated again. */
  int (*items_open)(void *ud, wfi_exec *x, uint32_t stage, wfi_items **it,
                    uint64_t *source_hash);
  /* Next item: 1 with the item (msgpack, valid until the next call), its key and class
   * written as NUL-terminated strings; 0 at the end; < 0 on error (wfi_exec_error). */
  int (*items_next)(wfi_items *it, const uint8_t **item, size_t *item_len, char *key,
                    size_t keycap, char *cls, size_t clscap);
  void (*items_close)(wfi_items *it);
  /* May be NULL. How many items an open cursor has in all, when the workflow knows it
   * before they are read: 1 and *n set; 0 when it cannot tell. Progress shows it. */
  int (*items_count)(wfi_items *it, uint64_t *n);
} wfi_plan_ops;

typedef struct wfi_plan {
  wfi_stage *stages;
  uint32_t nstages;
  const wfi_plan_ops *ops;
  void *ud;
} wfi_plan;

/* For hooks: the recorded output of a stage (malloc'd msgpack; nil when it produced
 * none). A fan-out stage's output is a map item key -> item output, in key order. */
int wfi_exec_stage_output(wfi_exec *x, uint32_t stage, uint8_t **out, size_t *len);
/* For hooks: set the message explaining a hook's error (printf-style). */
void wfi_exec_error(wfi_exec *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *wfi_exec_run_id(const wfi_exec *x);

/* ---- progress ---------------------------------------------------------------------- */

enum wfi_progress_type {
  WFI_P_STAGE_STARTED = 1, /* stage: first step scheduled (or memoized) */
  WFI_P_STAGE_FINISHED,    /* stage: status = its result (succeeded/failed/skipped/canceled) */
  WFI_P_STEP_FINISHED,     /* a step committed: status, memoized */
  WFI_P_STEP_RETRY,        /* an attempt failed and another is scheduled in delay_s */
  WFI_P_ITEMS_KNOWN,       /* a fan-out stage's item count is now known: total */
  WFI_P_TICK               /* every quarter second while the run executes: report */
};

typedef struct wfi_progress {
  int type;
  uint32_t stage;
  const char *stage_id;
  int fanout;              /* the stage is a fan-out */
  const char *step_key;    /* steps only */
  int status;              /* wfs_step_status */
  int memoized;
  uint32_t attempt;
  uint64_t done, failed, total;  /* per stage; total 0 until known */
  uint64_t reused;         /* per stage: of done, recorded results reused */
  double duration_s;       /* stage or step wall time */
  double delay_s;
  const char *error;       /* failures: the message */
  const wf_run_progress *report; /* WFI_P_TICK: the progress report just written (live);
                                    valid during the call */
  const char *stderr_tail; /* failures: the end of what the step wrote to stderr, or NULL */
} wfi_progress;

typedef void (*wfi_observer_fn)(void *ud, const wfi_progress *p);

/* ---- runs -------------------------------------------------------------------------- */

/* Ownership (owner.c). An owner holds an OFD lock on byte `epoch` of $home/locks/<run id>
 * for its whole life; the epoch in the run record is bumped whenever the run changes hands,
 * and every write an owner makes checks it is still the recorded one (else WF_EFENCED). */
#define WFI_LEASE_MS WF_OWNER_LEASE_MS /* owners on another kernel: gone this long after
                                          their last heartbeat */

typedef struct wfi_lease {
  int fd;                  /* the run's lock file, or -1 */
  uint64_t epoch;          /* the epoch whose byte is locked; 0 when none */
} wfi_lease;
#define WFI_LEASE_INIT {-1, 0}

/* Open (creating $home/locks/ and the file) the lock file of a run; no lock is taken.
 * Errors: WF_EINVAL (path too long), WF_EIO. */
int wfi_lease_open(const char *home, const char *run_id, wfi_lease *l);
/* Lock byte `epoch`; WF_EBUSY if another open file description holds it. */
int wfi_lease_lock(wfi_lease *l, uint64_t epoch);
/* Close the lock file, dropping the lock (NULL and a closed lease are fine). */
void wfi_lease_release(wfi_lease *l);
/* After wfi_lease_lock, in the transaction that creates the run: when the lock file was
 * removed since it was opened (a run of that id was deleted meanwhile, wf_run_delete),
 * open it again and lock the same byte there, where others look. Errors: as
 * wfi_lease_open and wfi_lease_lock. */
int wfi_lease_recheck(wfi_lease *l, const char *home, const char *run_id);

/* This process as an owner. */
void wfi_owner_self(wfs_owner *o);
/* 1 if the owner ran on this kernel (same boot id): its lock can be seen from here. */
int wfi_owner_same_kernel(const wfs_owner *o);
/* 1 if the owner's pid is a live process of this PID namespace with its start time. */
int wfi_owner_pid_visible(const wfs_owner *o);
/* 1 if a heartbeat at heartbeat_ms is younger than the lease. */
int wfi_lease_fresh(int64_t heartbeat_ms);
/* 1 if the run's recorded owner may still be alive, 0 if provably gone: on this kernel
 * its lock is free; on another, its heartbeat is older than the lease. */
int wfi_run_owner_alive(const char *home, const wfs_run *r);
/* Stored status, or WFS_RUN_INTERRUPTED for a running/pending run with no live owner. */
int wfi_run_effective_status(const char *home, const wfs_run *r);

typedef struct wfi_run_spec {
  const char *run_id;      /* NULL: generate */
  const char *workflow;
  const char *def_path;
  const char *def_text;
  const uint8_t *params;   /* msgpack map */
  size_t params_len;
  uint32_t window;         /* 0: default 8 */
  int continue_on_error;
  const char *only, *skip, *start_from, *to;  /* NULL when not given */
  const char *run_dir;     /* the run's folder (start --run-dir), or NULL: $home/runs/<id>;
                              only when a run is created */
} wfi_run_spec;

/* Create run spec->run_id (or a generated id, written to id_out[WFS_MAX_ID+1]) owned by
 * this process, status running, epoch 1. On success *lease holds the run's lock until
 * wfi_lease_release. WF_EEXIST if the id is taken, WF_EINVAL for a bad id. */
int wfi_run_create(wfs_env *env, const wfi_run_spec *spec, char *id_out, wfi_lease *lease);
/* A run id for attempt 0, 1, ... of finding a free one, into out[WFS_MAX_ID + 1]:
 * "run_<UTC date and time>", with four random hex digits from attempt 1 on. */
void wfi_run_id_generate(char *out, int attempt);

enum wfi_claim_flags {
  WFI_CLAIM_CANCELED = 1,  /* a canceled run may be continued */
  WFI_CLAIM_TAKEOVER = 2,  /* take the run even from a live owner (resume --force) */
  WFI_CLAIM_RELOAD = 4     /* with `restart`: only its definition and params replace the
                              recorded ones, as a resume (resume --reload) */
};

/* The owner a claim found: on WF_EBUSY the live one; on success the one taken over from. */
typedef struct wfi_claim_info {
  wfs_owner owner;
  int64_t heartbeat;       /* its last heartbeat, ms */
  int alive;               /* it was live (only with WFI_CLAIM_TAKEOVER on success) */
} wfi_claim_info;

/* Take ownership of an existing run to continue it: the epoch is bumped and *lease locks
 * the new epoch's byte until wfi_lease_release. With `restart` (start --start-from on an
 * existing run) the generation is bumped and the spec's definition (when given),
 * selection, window and params replace the recorded ones; a finished run may then be
 * restarted. With WFI_CLAIM_RELOAD the claim is a resume (no new generation, a succeeded
 * run refused) that records the spec's definition and params instead of the old ones:
 * memoization then decides, step by step, what runs again. info may be NULL.
 * Errors: WF_ENOTFOUND; WF_EBUSY (live owner, see info); WF_ESTATE (finished and not
 * restart; or canceled without WFI_CLAIM_CANCELED). */
int wfi_run_claim(wfs_env *env, const char *run_id, const wfi_run_spec *restart, int flags,
                  wfi_lease *lease, wfi_claim_info *info);

/* Ask a run to stop. A live owner notices within a second; a run with no live owner is
 * marked canceled at once (and its epoch bumped, fencing an owner that was only thought
 * gone). WF_ENOTFOUND; WF_ESTATE when already finished. */
int wfi_run_cancel(wfs_env *env, const char *run_id);

typedef struct wfi_exec_opts {
  uint32_t window;         /* steps in flight for the run; 0: the run's recorded window */
  int continue_on_error;
  wfi_observer_fn observe;
  void *observe_ud;
  int handle_signals;      /* SIGINT/SIGTERM/SIGHUP stop the run, leaving it resumable */
  const wfi_lease *lease;  /* the claim's: its epoch is checked by every write */
  wfs_owner *taken_by;     /* may be NULL; on WF_EFENCED: the owner found instead */
  size_t max_output;       /* bytes of one step output at most; 0: WFS_MAX_VALUE */
  double kill_grace_s;     /* SIGTERM -> SIGKILL delay of a stopped step; 0: WFI_KILL_GRACE_S */
} wfi_exec_opts;

#define WFI_KILL_GRACE_S 5.0

/* Execute a claimed run to its end. *final_status gets the run's status afterwards:
 * succeeded, failed, degraded, canceled, or WFS_RUN_INTERRUPTED when stopped by a
 * signal (the run is left resumable). The run's ownership is released in its record (the
 * caller releases the lease).
 * Errors: WF_ESTORE, WF_ENOMEM, WF_EMAPFULL (the run is left resumable); WF_EFENCED when
 * another process took the run over: its steps in flight were killed and nothing more was
 * recorded. */
int wfi_run_execute(wfs_env *env, const char *run_id, const wfi_plan *plan,
                    const wfi_exec_opts *opts, int *final_status);

/* The run directory $home/runs/<run id> (created). */
int wfi_run_dir(const char *home, const char *run_id, char *buf, size_t cap);
/* Create folder `path` and its parents (path is written to, and restored). WF_EIO. */
int wfi_mkdir_p(char *path);

/* A run's folder given by the user (start --run-dir; rundir.c). The folder of a run is
 * marked by a file WFI_RUN_MARK in it naming the run and its store, so that no other run
 * (of this store or another) takes it. */
#define WFI_RUN_MARK ".wf-run"
/* Whether folder `dir` (as given: relative to the current folder, or absolute) may
 * become the folder of run `run_id` (NULL: a run not named yet) of the store of t:
 * *abs[cap] gets its absolute path. Errors: WF_EINVAL (inside the store's home; path
 * too long), WF_EBUSY (it is the folder of another run: owner[ocap] names it), WF_EEXIST
 * (it holds files and is no run's folder), WF_EACCES, WF_EIO (it cannot be read). */
int wfi_run_dir_check(wfs_txn *t, const char *run_id, const char *dir, char *abs, size_t cap,
                      char *owner, size_t ocap);
/* Check as wfi_run_dir_check, then create the folder and mark it as run_id's; *abs gets
 * its absolute path (symbolic links resolved). Inside the write transaction creating the
 * run, so that two creators cannot both take one folder. */
int wfi_run_dir_take(wfs_txn *t, const char *run_id, const char *dir, char *abs, size_t cap);
/* The folder of the run an execution executes ($WF_RUN_DIR, ${run.dir}): absolute. */
const char *wfi_exec_run_dir(const wfi_exec *x);

/* ---- the public handles (wf/wf.h), for the workflows layer ---------------------------- */

/* The store behind a public handle. */
wfs_env *wfi_store_env(wf_store *st);
/* Make a public handle of run `run_id`, which this process has just created or claimed
 * with *lease: the handle takes the lease over (*lease is reset) and gives it up when it
 * ends or closes. Errors: WF_ENOMEM, WF_EFENCED (the run changed hands already), store
 * errors; the lease is released on error. */
int wfi_run_adopt(wf_store *st, const char *run_id, wfi_lease *lease, wf_run **out);
/* Execute an owned run's plan to its end: wfi_run_execute with the handle's lease and the
 * store's step limits (this sets opts->lease, max_output and kill_grace_s). */
int wfi_run_execute_owned(wf_run *run, const wfi_plan *plan, wfi_exec_opts *opts,
                          int *final_status);
/* The public description of recorded owner o with its last heartbeat; `alive` as the
 * caller found it (wfi_run_owner_alive, only for a running run). */
void wfi_owner_describe(const wfs_owner *o, int64_t heartbeat, int alive, wf_owner *out);

#endif
