/* runner.c — runs of a definition: creating one (or taking one over to execute stages
 * again) as a public run handle, and executing it with its plan and a progress observer.
 * What the CLI's start and resume do with a run. */
#include <stdio.h>
#include <string.h>

#include "wfw_int.h"

/* The engine's spec of a run of d with options o. */
static wfi_run_spec spec_of(const wfw_def *d, const wfw_run_opts *o) {
  wfi_run_spec spec = {0};
  spec.run_id = o->run_id;
  spec.workflow = wfw_def_name(d);
  spec.def_path = wfw_def_path(d);
  spec.def_text = wfw_def_text(d);
  spec.params = o->params;
  spec.params_len = o->params_len;
  spec.window = o->window;
  spec.continue_on_error = o->continue_on_error;
  spec.only = o->only;
  spec.skip = o->skip;
  spec.start_from = o->start_from;
  spec.to = o->to;
  spec.run_dir = o->run_dir;
  return spec;
}

int wfw_run_create(wf_store *st, const wfw_def *d, const wfw_run_opts *o, wf_run **out) {
  wfi_run_spec spec = spec_of(d, o);
  wfi_lease lease = WFI_LEASE_INIT;
  char id[WFS_MAX_ID + 1];
  int rc = wfi_run_create(wfi_store_env(st), &spec, id, &lease);
  return rc ? rc : wfi_run_adopt(st, id, &lease, out);
}

int wfw_run_restart(wf_store *st, const wfw_def *d, const wfw_run_opts *o, wf_run **out,
                    wf_owner *owner) {
  if (!o->run_id) return WF_EINVAL;
  wfi_run_spec spec = spec_of(d, o);
  wfi_lease lease = WFI_LEASE_INIT;
  wfi_claim_info info;
  int rc = wfi_run_claim(wfi_store_env(st), o->run_id, &spec, WFI_CLAIM_CANCELED, &lease, &info);
  if (owner) wfi_owner_describe(&info.owner, info.heartbeat, info.alive, owner);
  return rc ? rc : wfi_run_adopt(st, o->run_id, &lease, out);
}

int wfw_run_reload(wf_store *st, const wfw_def *d, const char *run_id, const uint8_t *params,
                   size_t params_len, unsigned flags, wf_run **out, wf_owner *owner) {
  if (!run_id || (flags & ~(unsigned)(WF_RESUME_CANCELED | WF_RESUME_FORCE))) return WF_EINVAL;
  wfi_run_spec spec = {0};
  spec.workflow = wfw_def_name(d);
  spec.def_path = wfw_def_path(d);
  spec.def_text = wfw_def_text(d);
  spec.params = params;
  spec.params_len = params_len;
  int cf = WFI_CLAIM_RELOAD | (flags & WF_RESUME_CANCELED ? WFI_CLAIM_CANCELED : 0) |
           (flags & WF_RESUME_FORCE ? WFI_CLAIM_TAKEOVER : 0);
  wfi_lease lease = WFI_LEASE_INIT;
  wfi_claim_info info;
  int rc = wfi_run_claim(wfi_store_env(st), run_id, &spec, cf, &lease, &info);
  if (owner) wfi_owner_describe(&info.owner, info.heartbeat, info.alive, owner);
  return rc ? rc : wfi_run_adopt(st, run_id, &lease, out);
}

int wfw_run_execute(wf_run *run, const wfw_plan *p, const wfw_exec_opts *o, int *final_status,
                    wf_owner *taken_by) {
  wfi_exec_opts opts = {0};
  wfs_owner by = {0};
  opts.window = o->window;
  opts.continue_on_error = o->continue_on_error;
  opts.observe = o->observe;
  opts.observe_ud = o->observe_ud;
  opts.handle_signals = o->handle_signals;
  opts.taken_by = &by;
  int rc = wfi_run_execute_owned(run, p, &opts, final_status);
  if (rc == WF_EFENCED && taken_by) wfi_owner_describe(&by, 0, by.pid > 0, taken_by);
  return rc;
}
