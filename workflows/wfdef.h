/* wfdef.h — workflow definitions: loading, validation, parameters, stage selection,
 * `${...}` interpolation, and turning a definition into an engine plan.
 *
 * Format (JSON):
 *   { "name": str, "version": int, "description": str, "env": [str],
 *     "params": { name: {"type": "string|int|date|bool", "required": bool,
 *                        "default": value, "description": str} },
 *     "defaults": { "retry": {...}, "timeout_s": num },
 *     "stages": [ { "id": str, "needs": [str], "description": str,
 *                   "run": [str] | "shell": str | "uses": str,
 *                   "foreach": "${...}", "key": str, "class": str,
 *                   "retry": {"max_attempts", "initial_interval_s", "backoff",
 *                             "max_interval_s", "non_retryable_exit_codes"},
 *                   "timeout_s": num, "concurrency": int, "by_class": {cls: int},
 *                   "rate": num | {cls: num}, "cwd": str, "with": {...},
 *                   "check": [str], "expect": {"min_items": int, "required": [str]},
 *                   "cache": bool } ],
 *     "on_success": [str], "on_failure": [str], "on_finish": [str] }
 * Interpolation: ${params.x}, ${stages.s.output...}, ${item...}, ${run.id},
 * ${run.dir}, ${workflow.dir} (the folder of the definition file); paths go on with
 * .field, [index] or ["key"]. A string that is exactly one ${...} stands for the value
 * itself (in "with" and "foreach"); inside a longer string, strings are inserted as they
 * are (no shell quoting in "shell") and other values as compact JSON. $${ is a literal ${.
 */
#ifndef WF_DEF_H
#define WF_DEF_H

#include <stddef.h>
#include <stdint.h>

#include "wfact.h"
#include "wfengine.h"

/* A user-facing error: where (file, stage) and what was expected. */
typedef struct wfw_err {
  char msg[1024];
} wfw_err;

typedef struct wfw_def wfw_def;

/* Find a definition by name or path: an existing file path as given; else
 * ./workflows/<name>.json; else the bundled <name>.json next to the executable
 * (<bindir>/../share/wf/workflows). WF_ENOTFOUND with the places tried in err. */
int wfw_resolve(const char *name_or_path, char *path, size_t cap, wfw_err *err);
/* Visit bundled and ./workflows definitions: name, path, description. */
int wfw_list(void (*cb)(void *ud, const char *name, const char *path, const char *desc),
             void *ud);

/* Load and validate (unknown fields, cycles, unknown needs, bad interpolations, bad
 * types). WF_ENOTFOUND (file missing), WF_EINVAL (invalid; err says where and why). */
int wfw_load(const char *path, wfw_def **out, wfw_err *err);
/* Same from text; `path` is used in messages and for ${workflow.dir}. */
int wfw_parse(const char *text, size_t len, const char *path, wfw_def **out, wfw_err *err);
void wfw_def_free(wfw_def *d);

const char *wfw_def_name(const wfw_def *d);
const char *wfw_def_description(const wfw_def *d);   /* "" when none */
const char *wfw_def_text(const wfw_def *d);          /* the JSON as loaded */
const char *wfw_def_path(const wfw_def *d);

/* The environment variables a run of d needs (the top-level "env": names), checked by
 * `wf start` and `wf doctor` before a run: the first one unset or empty, or NULL. */
uint32_t wfw_def_nenv(const wfw_def *d);
const char *wfw_def_env(const wfw_def *d, uint32_t i);
const char *wfw_def_env_missing(const wfw_def *d);
/* The program stage i starts, for `wf doctor`: a "run" stage's run[0] with
 * ${workflow.dir} filled in, "sh" for a "shell" stage (malloc'd); NULL for a "uses"
 * stage, or a program that depends on what only a run knows (params, items, outputs).
 * *has_cwd: the stage gives a "cwd" (a relative program is found from there). */
char *wfw_def_stage_program(const wfw_def *d, uint32_t i, int *has_cwd);

/* Introspection for `wf describe` / `--dry-run`. */
uint32_t wfw_def_nparams(const wfw_def *d);
typedef struct wfw_param_info {
  const char *name, *type, *description;
  int required;
  const char *default_json;    /* NULL when none */
} wfw_param_info;
void wfw_def_param(const wfw_def *d, uint32_t i, wfw_param_info *out);
uint32_t wfw_def_nstages(const wfw_def *d);
typedef struct wfw_stage_info {
  const char *id, *description;
  const char *kind;            /* "run", "shell" or "uses:<name>" */
  const char *foreach;         /* NULL when not a fan-out */
  const char *const *needs;
  uint32_t nneeds;
  int validate;                /* checked before the run exists (wfw_validate) */
  const char *check;           /* "check" as compact JSON, or NULL */
  const char *expect;          /* "expect" as compact JSON, or NULL */
} wfw_stage_info;
void wfw_def_stage(const wfw_def *d, uint32_t i, wfw_stage_info *out);
int wfw_def_stage_index(const wfw_def *d, const char *id);   /* -1 when unknown */

/* Bind "-p key=value" pairs against the declared params: types checked (int, date
 * YYYY-MM-DD that exists, bool true/false), defaults applied, required ones present,
 * unknown keys refused. Result: msgpack map (malloc'd). WF_EINVAL with err. */
int wfw_bind_params(const wfw_def *d, const char *const *kv, size_t n, uint8_t **params,
                    size_t *params_len, wfw_err *err);

/* Stage selection from comma-separated stage lists (each NULL when not given):
 * selected[i] = stage i runs; rerun[i] = stage i ignores recorded results (it is at or
 * after start_from). --only and --skip naming one stage conflict; unknown stage names
 * are errors. WF_EINVAL with err. Arrays have wfw_def_nstages entries. */
int wfw_select(const wfw_def *d, const char *only, const char *skip, const char *start_from,
               const char *to, int *selected, int *rerun, wfw_err *err);

/* The plan of a run: the engine's (wfi_plan), as the workflows layer hands it out. */
typedef struct wfi_plan wfw_plan;

/* Build the engine plan for a run: activities bound, selection applied, hooks that build
 * inputs and iterate items by interpolating against params and recorded outputs.
 * The plan borrows d and must be freed before it. */
int wfw_plan_new(const wfw_def *d, const uint8_t *params, size_t params_len,
                 const char *only, const char *skip, const char *start_from, const char *to,
                 wfw_plan **out, wfw_err *err);
void wfw_plan_free(wfw_plan *p);
/* Run the checks of a start before the run exists: every selected stage marked
 * "validate" (on a restart, `restart` = 1: those that run again, or whose every
 * selected dependent does), each as one attempt on a loop of its own, in a scratch
 * folder, its input built from the params and the checks before it. A check that passes
 * is pinned: the run records its output as the stage's without running it again. One
 * that could not tell (a retryable failure) leaves the stage to the run and says why in
 * note. Any other failure refuses the start: WF_EINVAL with the stage's message in err,
 * nothing recorded. run_id may be NULL. WF_ENOMEM. */
int wfw_validate(wfw_plan *plan, const char *run_id, int restart, wfw_err *err,
                 wfw_err *note);

/* The store home the run lives under, for ${run.dir} ($home/runs/<run id>); copied.
 * Without it, ./.wf is assumed, as wf_store_open does with NULL. */
int wfw_plan_set_home(wfw_plan *p, const char *home);

/* Whether every stage the plan runs has the inputs it needs: a stage it leaves out
 * (--only, --skip) that a stage it runs needs must have a recorded output to reuse, in
 * run `run_id` of st (both NULL for a new run). WF_EINVAL with err naming both stages and
 * what to do; the store's errors otherwise. */
int wfw_plan_check_inputs(const wfw_plan *p, wf_store *st, const char *run_id, wfw_err *err);

/* The cache of a plan's stage (wfw_plan_stage_info.cache). */
enum wfw_cache {
  WFW_CACHE_OFF = WFI_CACHE_OFF,
  WFW_CACHE_USE = WFI_CACHE_USE,         /* reuses earlier runs' outputs */
  WFW_CACHE_REFRESH = WFI_CACHE_REFRESH  /* executes anyway (--force) and indexes */
};

/* `start --force`: the cached stages among `stages` (a comma list of stage ids; "" for
 * every stage; NULL: none) execute every step instead of reusing earlier runs' outputs,
 * and index what they produce. WF_EINVAL (an unknown stage, err says which), WF_ENOMEM. */
int wfw_plan_set_force(wfw_plan *p, const char *stages, wfw_err *err);

/* A stage of a plan, for `start --dry-run` and progress. */
typedef struct wfw_plan_stage_info {
  const char *id;              /* valid while the plan is */
  int fanout;                  /* one step per item */
  int selected;                /* runs (else --only/--skip/--to leave it out) */
  int rerun;                   /* ignores recorded results (--start-from) */
  int cache;                   /* wfi_cache: reuses earlier runs' outputs, or (REFRESH)
                                  executes anyway (--force) */
} wfw_plan_stage_info;
uint32_t wfw_plan_nstages(const wfw_plan *p);
void wfw_plan_stage(const wfw_plan *p, uint32_t i, wfw_plan_stage_info *out);

/* ---- runs of a definition (runner.c) ---------------------------------------------- */

/* What a run of a definition records besides the definition itself. */
typedef struct wfw_run_opts {
  const char *run_id;          /* NULL: generated (create only) */
  const uint8_t *params;       /* bound by wfw_bind_params: a msgpack map */
  size_t params_len;
  uint32_t window;             /* steps in flight; 0: 8, or on a restart the recorded one */
  int continue_on_error;
  const char *only, *skip, *start_from, *to;  /* stage selection, NULL when not given */
  const char *run_dir;         /* the run's folder (create only; see wf_run_dir_check), or
                                  NULL: the store's runs/<run id> */
} wfw_run_opts;

/* Create a run of d owned by this process (*out, as from wf_run_begin: the caller
 * executes it with wfw_run_execute and gives it up with wf_run_close); it records d's
 * name, path and text, so that a resume needs nothing but the store.
 * Errors: WF_EINVAL (bad id; o->run_dir is in the store), WF_EEXIST (the id is taken, or
 * o->run_dir holds files of no run), WF_EBUSY (o->run_dir is another run's folder),
 * WF_EIO (the lock file or the folder cannot be made), WF_ENOMEM, WF_ESTORE, WF_EMAPFULL,
 * WF_ENOSPC. */
int wfw_run_create(wf_store *st, const wfw_def *d, const wfw_run_opts *o, wf_run **out);
/* Take over existing run o->run_id to execute stages again (start --start-from): its
 * generation is bumped, and d and o replace its definition, params, selection and window
 * (a finished or canceled run too). owner (may be NULL): on WF_EBUSY the live owner.
 * Errors: as wf_run_resume (but WF_ESTATE). */
int wfw_run_restart(wf_store *st, const wfw_def *d, const wfw_run_opts *o, wf_run **out,
                    wf_owner *owner);

/* Resume run `run_id` as wf_run_resume does (flags: WF_RESUME_*), recording d and params
 * (bound against d) as its definition instead of the recorded ones (resume --reload): no
 * new generation; a recorded step whose input under d is not the recorded one runs
 * again, the others are reused. The caller checks that d is a definition of the run's
 * workflow. Errors: as wf_run_resume. */
int wfw_run_reload(wf_store *st, const wfw_def *d, const char *run_id, const uint8_t *params,
                   size_t params_len, unsigned flags, wf_run **out, wf_owner *owner);

/* What an execution reports as it goes: the engine's progress reports (wfi_progress:
 * type, stage and stage_id, fanout, step_key, status as a wf_step_status, memoized,
 * attempt, done/failed/total/reused of the stage, duration_s, delay_s, error; report, the
 * whole run's progress as wf_run_progress_get gives it, with WFW_P_TICK). */
typedef struct wfi_progress wfw_progress;
enum wfw_progress_type {
  WFW_P_STAGE_STARTED = WFI_P_STAGE_STARTED,
  WFW_P_STAGE_FINISHED = WFI_P_STAGE_FINISHED, /* status pending: the run stopped first */
  WFW_P_STEP_FINISHED = WFI_P_STEP_FINISHED,
  WFW_P_STEP_RETRY = WFI_P_STEP_RETRY,
  WFW_P_ITEMS_KNOWN = WFI_P_ITEMS_KNOWN,
  WFW_P_TICK = WFI_P_TICK      /* every quarter second: report, the run's progress */
};
typedef void (*wfw_observer_fn)(void *ud, const wfw_progress *p);

typedef struct wfw_exec_opts {
  uint32_t window;             /* steps in flight; 0: the run's recorded window */
  int continue_on_error;
  wfw_observer_fn observe;     /* may be NULL */
  void *observe_ud;
  int handle_signals;          /* SIGINT/SIGTERM/SIGHUP stop the run, leaving it resumable */
} wfw_exec_opts;

/* Execute owned run `run` with plan p (built from the run's definition) to its end.
 * *final_status gets the run's wf_run_status afterwards: succeeded, failed, degraded,
 * canceled, or WF_RUN_INTERRUPTED when stopped by a signal (the run is left resumable).
 * The run's ownership is released in its record; the caller still closes the handle.
 * Errors: WF_ESTORE, WF_ENOMEM, WF_EMAPFULL, WF_ENOSPC, WF_EIO (the run is left
 * resumable); WF_EFENCED when another process took the run over: its steps in flight
 * were killed, nothing more was recorded, and *taken_by (may be NULL) has that owner
 * (pid 0 when it is done with the run already). */
int wfw_run_execute(wf_run *run, const wfw_plan *p, const wfw_exec_opts *o, int *final_status,
                    wf_owner *taken_by);

/* ---- notifications (notify.c) --------------------------------------------------------- */

#define WFW_HOOK_TIMEOUT_S 300.0 /* a hook still running this long is killed */

/* What a hook is told of the run that ended. */
typedef struct wfw_notify_info {
  const char *run_id;
  const char *run_dir;
  const char *status;          /* the run's status name: WF_RUN_STATUS of the hook */
  const char *json;            /* the run as show-run -o json prints it: the hook's stdin */
  size_t json_len;
  double timeout_s;            /* 0: WFW_HOOK_TIMEOUT_S */
} wfw_notify_info;
/* Receives what went wrong with a hook, one message at a time. */
typedef void (*wfw_notify_log)(void *ud, const char *msg);

/* Run the definition's hooks for a run that ended with `status` (a wf_run_status):
 * "on_success" when it succeeded, "on_failure" when it failed or ended degraded, then
 * "on_finish" when it ended at all (canceled too); none for a run that is not over
 * (interrupted). Each runs to its end (at most the timeout, then its process group is
 * killed) with the JSON on stdin, its stdout and stderr on wf's stderr, and WF_HOOK,
 * WF_RUN_ID, WF_RUN_STATUS and WF_RUN_DIR in its environment. A hook that cannot start,
 * exits non-zero, is killed or times out is reported through log; nothing it does
 * changes the run. Returns how many hooks ran. */
int wfw_notify(const wfw_plan *p, int status, const wfw_notify_info *in, wfw_notify_log log,
               void *ud);
/* 1 when the definition names any hook. */
int wfw_def_has_hooks(const wfw_def *d);
/* "on_success", "on_failure", "on_finish" by enum wfw_hook index. */
const char *wfw_hook_name(int hook);

#endif
