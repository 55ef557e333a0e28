/* api_int.h — the public handles of wf/wf.h as the files implementing them share them:
 * api.c (stores, owned runs, steps), query.c (reading runs) and control.c (cancel,
 * delete). */
#ifndef WF_API_INT_H
#define WF_API_INT_H

#include "wfengine.h"

struct wf_store {
  wfs_env *env;
  wf_store_opts opts;      /* as opened (0: the default) */
  int listing;             /* a listing's callback is running: the handle is refused */
};

struct wf_run {
  wf_store *st;
  char id[WF_MAX_RUN_ID + 1]; /* stays put while the record below is replaced */
  wfi_lease lease;         /* held from begin to end: the run's owner lock and epoch */
  wfs_run rec;             /* as last written by this handle */
  uint8_t *out;            /* output handed back by wf_step_run */
  size_t out_len;
};

/* report.c: the progress report of run rec (its record as read now) into *out, live only
 * when `alive` (its owner may still be executing it) and the report is that owner's;
 * WF_ENOTFOUND when there is none that can be read, WF_ENOMEM. */
int wfi_report_read(const char *home, const wfs_run *rec, int alive, wf_run_progress **out);
/* Fill steps_done, steps_total and steps_total_known of info for run rec. */
void wfi_report_summary(const char *home, const wfs_run *rec, int alive, wf_run_info *info);

/* 0 when the store handle can be used now; WF_EINVAL when it is NULL or one of its
 * listings is in its callback (a read snapshot is open: see wf_runs_list). */
int wfi_store_check(const wf_store *st);

#endif
