/* sched_int.h — the state of one execution of a run, shared by the scheduler (sched.c),
 * its commit path (commit.c) and the embedding API (api.c). */
#ifndef WF_SCHED_INT_H
#define WF_SCHED_INT_H

#include <limits.h>

#include "wfengine.h"

#define WFI_COMMIT_CAP 256   /* finished steps per group commit at most */
#define WFI_PARK_CAP 1024    /* items pulled ahead while their class is saturated */
#define WFI_STEP_FDS 4       /* descriptors a running step may hold: an exec step's stdin,
                              * stdout and stderr pipes and its log */
#define WFI_FD_RESERVE 32    /* descriptors kept for the loop, the store, curl, files */

enum wfi_step_outcome {
  WFI_OUT_NONE, WFI_OUT_SUCCEEDED, WFI_OUT_FAILED, WFI_OUT_RETRY, WFI_OUT_CANCELED,
  WFI_OUT_DROPPED
};
enum wfi_stage_state { WFI_STAGE_WAIT, WFI_STAGE_ACTIVE, WFI_STAGE_FINISHING, WFI_STAGE_DONE };
enum wfi_stop_reason {
  WFI_STOP_NONE, WFI_STOP_FAILED, WFI_STOP_CANCEL, WFI_STOP_SIGNAL, WFI_STOP_STORE,
  WFI_STOP_FENCED
};

struct wfi_rclass {
  struct wfi_rclass *next;
  char *name;
  uint32_t limit;
  double rate;
  uint32_t inflight;
  int64_t next_at_us;     /* rate: earliest next start */
};

struct wfi_rstep {
  struct wfi_rstep *next;     /* parked list, done list */
  struct wfi_rstep *rprev, *rnext; /* running or retrying list */
  wfi_exec *x;
  wfi_job job;
  uint32_t stage;
  char *key;
  struct wfi_rclass *cls;
  uint8_t *input;
  size_t input_len;
  uint64_t input_hash;
  uint32_t attempt;       /* attempt number, continuing across executions */
  uint32_t tries;         /* attempts in this execution (retry budget) */
  int prev_status;        /* recorded status before this execution's record; -1 none */
  int64_t attempt_start;  /* ms */
  int start_logged;       /* this attempt's step_started event is recorded */
  uv_timer_t *timer;      /* timeout or retry delay; NULL when unused */
  int kill_reason;
  int outcome;            /* enum wfi_step_outcome */
  double retry_delay_s;
  wfi_result res;
  char *log_path;         /* malloc'd when the step starts */
  char *cached_run, *cached_step; /* the output came from this earlier run's step */
};

struct wfi_rstage {
  int state;
  int result;             /* wfs_step_status once finished */
  int unselected;         /* not selected (--only, --skip, --to) */
  int has_output;         /* unselected: its record is succeeded, so its output is there */
  wfi_items *it;
  int exhausted;
  uint64_t source_hash;
  struct wfi_rstep *parked_head, *parked_tail;
  uint32_t nparked;
  uint32_t inflight;
  uint64_t outstanding;   /* steps made and not yet finally recorded */
  uint64_t done, failed, memo, pulled;
  struct wfi_rclass *classes;
  int64_t t_start;
  int record_prev;        /* previous status of the stage record, -1 none */
  int truncated;          /* stopped before all its items ran */
  int items_failed;       /* its items could not all be read or were refused */
  char *error;            /* why it failed or did not run (malloc'd), for its record */
  int64_t next_at_us;     /* the stage's rate: earliest next start */
  uint64_t nitems;        /* a fan-out's items in all, when nitems_known */
  int nitems_known;
  int64_t t_end;          /* when it was done (ms) */
  int64_t exec_ms;        /* durations of its steps executed to success, added up */
};

struct wfi_pending_event {
  char *key;
  int type;
  char *detail;
};

struct wfi_exec {
  wfs_env *env;
  const wfi_plan *plan;
  wfi_exec_opts opts;
  wfs_run run;
  const char *home;
  char run_dir[PATH_MAX];
  uv_loop_t loop;
  uv_idle_t idle;
  uv_timer_t tick, wake;
  uv_signal_t sigint, sigterm, sighup;
  int handles_open;
  struct wfi_rstage *st;
  uint32_t window, inflight, max_inflight;
  uint32_t fd_steps;      /* steps the open-file limit lets run at once */
  int held;               /* a start lacked a resource: none until a running step ends */
  struct wfi_rstep *running;   /* steps in flight */
  struct wfi_rstep *retrying;  /* steps in a retry delay */
  struct wfi_rstep *done_head, *done_tail;
  uint32_t ndone;
  uint32_t *finishing;
  uint32_t nfinishing;
  struct wfi_pending_event *pev;
  uint32_t npev, capev;
  uint64_t waiting;       /* steps in a retry delay */
  int stop_reason;
  int any_failed;
  int driving, again, ended;
  int store_rc;
  int keep_open;          /* embedding API: do not finish the run at the end */
  int fresh;              /* the run had no recorded steps: skip memo lookups */
  uint32_t rr;
  int64_t last_heartbeat;
  uint64_t epoch;         /* the owner epoch this execution claimed */
  wfs_owner fenced_by;    /* the owner found instead, once fenced */
  size_t max_output;
  double kill_grace_s;
  int flush_req;          /* a nested drive() asked for a commit */
  char err[1024];         /* the run's error */
  char hook_err[1024];    /* the last hook's error (wfi_exec_error) */
  struct wfi_report *report; /* the progress report, once written (report.c) */
};

/* Append event `type` of r (step key and detail may be NULL) with the run's next
 * sequence number, which it advances. */
int wfi_event_put(wfs_txn *t, wfs_run *r, const char *key, int type, uint32_t attempt,
                  int64_t time, const char *detail);
/* Read the head of x's stored run record into *h: WF_EFENCED (remembering who owns it
 * now) unless it still has x's epoch. */
int wfi_exec_check_owner(wfi_exec *x, wfs_txn *t, wfs_run_head *h);
int wfi_commit(wfi_exec *x);                 /* commit.c: group commit of finished work */
int wfi_exec_finish_run(wfi_exec *x, int status); /* commit.c: final run record */
int wfi_exec_heartbeat(wfi_exec *x, int *cancel_requested);
void wfi_step_free(struct wfi_rstep *s);
int wfi_exec_add_event(wfi_exec *x, const char *key, int type, const char *detail);

/* report.c: the progress report other processes read (wf_run_progress_get). Best
 * effort: a report that cannot be written is left as it was. */
void wfi_report_write(wfi_exec *x, int ended);
/* Write the report and pass it to the observer (WFI_P_TICK). */
void wfi_report_tick(wfi_exec *x);
void wfi_report_free(wfi_exec *x);

/* sched.c: the scheduler's loop, used by step.c */
void wfi_exec_drive(wfi_exec *x, int flush_ok);
void wfi_exec_want_commit(wfi_exec *x);
void wfi_exec_progress(wfi_exec *x, int type, uint32_t stage, const struct wfi_rstep *s);
void wfi_exec_fail(wfi_exec *x, int reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A fan-out stage cannot go on with its items (they cannot be read, or one is refused:
 * the hook's message, else rc, says why): the stage fails and no later stage uses it;
 * without --continue-on-error the run stops, with it the other stages go on. */
void wfi_exec_fail_stage(wfi_exec *x, uint32_t stage, int rc);

/* step.c: a step's life, used by sched.c */
struct wfi_rstep *wfi_step_make(wfi_exec *x, uint32_t stage, const char *key, const uint8_t *item,
                            size_t item_len, const char *cls);
void wfi_step_park(struct wfi_rstage *st, struct wfi_rstep *s);
struct wfi_rstep *wfi_step_next(wfi_exec *x, uint32_t stage);
void wfi_step_start(wfi_exec *x, struct wfi_rstep *s);
void wfi_step_finish(wfi_exec *x, struct wfi_rstep *s);
void wfi_step_retry_later(wfi_exec *x, struct wfi_rstep *s);
void wfi_step_list_del(struct wfi_rstep **head, struct wfi_rstep *s);

/* sched.c entry points used by api.c */
int wfi_exec_init(wfi_exec *x, wfs_env *env, const char *run_id, const wfi_plan *plan,
                  const wfi_exec_opts *opts);
int wfi_exec_loop(wfi_exec *x, int *final_status);
void wfi_exec_destroy(wfi_exec *x);

#endif
