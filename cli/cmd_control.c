/* cmd_control.c — `wf cancel-run`: stop a run from another shell. */
#include <time.h>

#include "cli.h"

/* Read run id into *r, freeing what *r held; *r is NULL when it cannot be read. */
static int reread(wf_store *st, const char *id, wf_run_info **r) {
  wf_run_info_free(*r);
  *r = NULL;
  return wf_run_info_get(st, id, r);
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

int cmd_cancel_run(cli_ctx *cli, int argc, char **argv) {
  cli_args a;
  int code = cli_parse(cli, "cancel-run", argc, argv, cli_cancel_opts, &a);
  if (code) return code;
  if (a.help) return cli_help_command(stdout, "cancel-run");
  if ((code = cli_check_format(cli, "cancel-run", CLI_TAKES(FMT_TABLE)))) return code;
  if (a.npos != 1) return cli_fail(EXIT_USAGE, "cancel-run needs one run id");
  if (wf_run_id_check(a.pos[0]) != 0)
    return cli_bad_id("run id", a.pos[0]);
  wf_store *st = NULL;
  if ((code = cli_open_existing(cli, &st)) != 0) return code;
  char id[WF_MAX_RUN_ID + 1];
  if ((code = cli_run_ref(cli, st, a.pos[0], id, sizeof id)) != 0) {
    wf_store_close(st);
    return code;
  }
  int rc = wf_run_cancel(st, id);
  wf_run_info *r = NULL;
  if (rc == WF_ENOTFOUND) {
    code = cli_fail(EXIT_NOTFOUND, "no run %s in %s (see 'wf list-runs')", id, cli->home);
  } else if (rc == WF_ESTATE) {
    reread(st, id, &r);
    code = cli_fail(EXIT_USAGE, "run %s already finished (%s); nothing to cancel", id,
                    wf_run_status_name(r ? r->recorded_status : -1));
  } else if (rc) {
    char why[8192];
    code = cli_fail(EXIT_STORE, "cannot cancel run %s: %s", id, cli_store_why(rc, why, sizeof why));
  } else if (reread(st, id, &r) == 0 && r->recorded_status == WF_RUN_CANCELED) {
    cli_write_run_metadata(st, id);
    printf("run %s canceled\n", id);
  } else if (a.val[O_NOWAIT]) {
    printf("cancel requested for run %s (pid %d)\n", id, r ? r->owner.pid : 0);
  } else {
    int32_t pid = r ? r->owner.pid : 0;
    /* Wait for the owner to stop its steps and record the outcome. */
    for (int i = 0; i < 200; i++) {
      sleep_ms(50);
      if (reread(st, id, &r) != 0) break;
      if (r->recorded_status != WF_RUN_RUNNING || !r->owner.alive) break;
    }
    if (r && r->recorded_status == WF_RUN_CANCELED)
      printf("run %s canceled (pid %d stopped it)\n", id, pid);
    else
      printf("cancel requested for run %s; pid %d has not stopped yet (now %s)\n", id, pid,
             wf_run_status_name(r ? r->status : WF_RUN_PENDING));
  }
  wf_run_info_free(r);
  wf_store_close(st);
  return code;
}
