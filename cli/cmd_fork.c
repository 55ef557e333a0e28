/* cmd_fork.c — `wf fork ID --from STAGE`: a new run of ID's workflow and params that
 * reuses ID's recorded steps of the stages before STAGE and executes STAGE and everything
 * after it; ID stays as it is. The stages reused are those `start --start-from STAGE`
 * would keep on ID itself. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct fork {
  cli_args a;
  const char *src, *from, *new_id, *run_dir;
  char src_id[WF_MAX_RUN_ID + 1]; /* src resolved (it may be a prefix) */
  uint32_t window;
  wf_run_info *r;
  wfw_def *def;
  wfw_plan *plan;
  const char **keep;
  size_t nkeep;
};

static void fork_clear(struct fork *f) {
  free(f->keep);
  wfw_plan_free(f->plan);
  wfw_def_free(f->def);
  wf_run_info_free(f->r);
}

static int fork_args(struct fork *f) {
  const cli_args *a = &f->a;
  if (a->npos != 1)
    return cli_fail(EXIT_USAGE, "fork needs exactly one run id (see 'wf fork --help')");
  f->src = a->pos[0];
  f->from = a->val[O_FROM];
  f->new_id = a->val[O_RUN_ID];
  f->run_dir = a->val[O_RUN_DIR];
  if (wf_run_id_check(f->src) != 0) return cli_bad_id("run id", f->src);
  if (!f->from)
    return cli_fail(EXIT_USAGE, "fork needs --from STAGE: the first stage the new run executes "
                               "(see 'wf describe' for the stages)");
  if (f->new_id && wf_run_id_check(f->new_id) != 0) return cli_bad_id("run id", f->new_id);
  return cli_parse_window(a->val[O_WINDOW], &f->window) ? EXIT_USAGE : 0;
}

/* The source run, its definition, the stages kept and the new run's plan. */
static int fork_plan(cli_ctx *cli, wf_store *st, struct fork *f) {
  char why[8192];
  int code = cli_run_ref(cli, st, f->src, f->src_id, sizeof f->src_id);
  if (code) return code;
  f->src = f->src_id;
  int rc = wf_run_info_get(st, f->src, &f->r);
  if (rc == WF_ENOTFOUND)
    return cli_fail(EXIT_NOTFOUND, "no run %s in %s (see 'wf list-runs')", f->src, cli->home);
  if (rc)
    return cli_fail(cli_exit_for(rc), "cannot read run %s: %s", f->src,
                    cli_store_why(rc, why, sizeof why));
  const wf_run_info *r = f->r;
  if (!r->def_text[0])
    return cli_fail(EXIT_USAGE, "run %s was recorded through the C API (wf_run_begin) without a "
                               "workflow definition: it has no stages to fork from",
                    f->src);
  wfw_err err = {{0}};
  rc = wfw_parse(r->def_text, strlen(r->def_text), r->def_path[0] ? r->def_path : r->workflow,
                 &f->def, &err);
  if (rc)
    return cli_fail(EXIT_USAGE, "run %s: its recorded definition no longer loads: %s", f->src,
                    err.msg);
  uint32_t n = wfw_def_nstages(f->def);
  if (wfw_def_stage_index(f->def, f->from) < 0) {
    char names[2048] = "";
    size_t len = 0;
    for (uint32_t i = 0; i < n && len < sizeof names - 64; i++) {
      wfw_stage_info si;
      wfw_def_stage(f->def, i, &si);
      len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "", si.id);
    }
    return cli_fail(EXIT_USAGE, "--from %s: workflow %s of run %s has no such stage (its stages: "
                               "%s)",
                    f->from, r->workflow, f->src, names);
  }
  int *sel = calloc(n ? n : 1, sizeof *sel), *rerun = calloc(n ? n : 1, sizeof *rerun);
  f->keep = calloc(n ? n : 1, sizeof *f->keep);
  if (!sel || !rerun || !f->keep) rc = WF_ENOMEM;
  if (rc == 0) rc = wfw_select(f->def, r->only, r->skip, f->from, r->to, sel, rerun, &err);
  for (uint32_t i = 0; rc == 0 && i < n; i++) {
    wfw_stage_info si;
    wfw_def_stage(f->def, i, &si);
    if (!rerun[i]) f->keep[f->nkeep++] = si.id;
  }
  free(sel);
  free(rerun);
  if (rc == 0)
    rc = wfw_plan_new(f->def, r->params, r->params_len, r->only, r->skip, NULL, r->to,
                      &f->plan, &err);
  if (rc == 0) rc = wfw_plan_set_home(f->plan, cli->home);
  if (rc == WF_ENOMEM) return cli_fail(EXIT_STORE, "out of memory");
  if (rc) return cli_fail(EXIT_USAGE, "run %s: %s", f->src, err.msg);
  return 0;
}

/* Before anything is written: the new id is free, the folder can be had. */
static int fork_check(cli_ctx *cli, wf_store *st, struct fork *f) {
  wf_run_info *other = NULL;
  if (f->new_id && wf_run_info_get(st, f->new_id, &other) == 0) {
    wf_run_info_free(other);
    return cli_fail(EXIT_USAGE, "run %s already exists in %s; choose another --run-id",
                    f->new_id, cli->home);
  }
  int rc = f->run_dir ? wf_run_dir_check(st, f->new_id, f->run_dir, NULL, 0, NULL, 0) : 0;
  return rc ? cli_run_dir_refused(st, f->new_id, f->run_dir, rc) : 0;
}

static int fork_run(cli_ctx *cli, wf_store *st, struct fork *f) {
  wf_fork_opts o = {0};
  wf_run *run = NULL;
  char why[8192];
  o.run_id = f->new_id;
  o.run_dir = f->run_dir;
  o.from = f->from;
  o.keep = f->keep;
  o.nkeep = f->nkeep;
  int rc = wf_run_fork(st, f->src, &o, &run);
  if (rc == WF_EBUSY && f->run_dir &&
      (rc = wf_run_dir_check(st, f->new_id, f->run_dir, NULL, 0, NULL, 0)) != 0)
    return cli_run_dir_refused(st, f->new_id, f->run_dir, rc);
  if (rc == WF_EBUSY)
    return cli_fail(EXIT_FAILED, "run %s is running, owned by a live process: fork it once it "
                                "has stopped (or cancel it: wf cancel-run %s)",
                    f->src, f->src);
  if (rc == WF_EEXIST)
    return cli_fail(EXIT_USAGE, "run %s was created meanwhile by another process", f->new_id);
  if (rc)
    return cli_fail(cli_exit_for(rc), "cannot fork run %s: %s; nothing was recorded", f->src,
                    cli_store_why(rc, why, sizeof why));
  int code = cli_execute(cli, st, run, f->plan, f->window, f->r->continue_on_error, "started",
                         f->r->workflow);
  wf_run_close(run);
  return code;
}

int cmd_fork(cli_ctx *cli, int argc, char **argv) {
  struct fork f = {0};
  wf_store *st = NULL;
  int code = cli_parse(cli, "fork", argc, argv, cli_fork_opts, &f.a);
  if (code) return code;
  if (f.a.help) return cli_help_command(stdout, "fork");
  if ((code = fork_args(&f)) == 0 && (code = cli_open_existing(cli, &st)) == 0 &&
      (code = fork_plan(cli, st, &f)) == 0 && (code = fork_check(cli, st, &f)) == 0)
    code = fork_run(cli, st, &f);
  fork_clear(&f);
  wf_store_close(st);
  return code;
}
