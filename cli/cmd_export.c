/* cmd_export.c — `wf export ID > run.wfx` and `wf import run.wfx [--as NEW]`: one run
 * as one self-contained file (docs/export-format.md), and back into a store, where
 * show-run shows it as it was and resume continues it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int write_stdout(void *ud, const void *buf, size_t len) {
  (void)ud;
  return fwrite(buf, 1, len, stdout) == len ? 0 : WF_EIO;
}

int cmd_export(cli_ctx *cli, int argc, char **argv) {
  cli_args a;
  wf_store *st = NULL;
  char why[8192];
  int code = cli_parse(cli, "export", argc, argv, cli_no_opts, &a);
  if (code) return code;
  if (a.help) return cli_help_command(stdout, "export");
  if (a.npos != 1)
    return cli_fail(EXIT_USAGE, "export needs exactly one run id (see 'wf export --help')");
  const char *id = a.pos[0];
  char full[WF_MAX_RUN_ID + 1];
  if (wf_run_id_check(id) != 0) return cli_bad_id("run id", id);
  if (isatty(STDOUT_FILENO))
    return cli_fail(EXIT_USAGE, "export writes a binary file to stdout: redirect it, e.g. "
                               "wf export %s > %s.wfx",
                    id, id);
  if ((code = cli_open_existing(cli, &st)) != 0) return code;
  if ((code = cli_run_ref(cli, st, id, full, sizeof full)) != 0) {
    wf_store_close(st);
    return code;
  }
  id = full;
  int rc = wf_run_export(st, id, write_stdout, NULL);
  if (rc == 0 && fflush(stdout) != 0) rc = WF_EIO;
  if (rc == WF_ENOTFOUND)
    code = cli_fail(EXIT_NOTFOUND, "no run %s in %s (see 'wf list-runs')", id, cli->home);
  else if (rc == WF_EBUSY)
    code = cli_fail(EXIT_FAILED, "run %s is running, owned by a live process: export it once it "
                                "has stopped (or cancel it: wf cancel-run %s); nothing usable "
                                "was written",
                    id, id);
  else if (rc == WF_EIO && errno && !wf_last_failure()->path[0])
    code = cli_fail(EXIT_FAILED, "cannot write the export of run %s to stdout: %s; what was "
                                "written is not a whole export file",
                    id, strerror(errno));
  else if (rc)
    code = cli_fail(cli_exit_for(rc), "cannot export run %s: %s; what was written is not a "
                                     "whole export file",
                    id, cli_store_why(rc, why, sizeof why));
  wf_store_close(st);
  return code;
}

int cmd_import(cli_ctx *cli, int argc, char **argv) {
  cli_args a;
  wf_store *st = NULL;
  char why[8192], bad[1024] = "", id[WF_MAX_RUN_ID + 1] = "";
  int code = cli_parse(cli, "import", argc, argv, cli_import_opts, &a);
  if (code) return code;
  if (a.help) return cli_help_command(stdout, "import");
  if (a.npos != 1)
    return cli_fail(EXIT_USAGE, "import needs exactly one export file (see 'wf import --help')");
  const char *file = a.pos[0];
  wf_import_opts o = {0};
  o.as = a.val[O_AS];
  o.run_dir = a.val[O_RUN_DIR];
  if (o.as && wf_run_id_check(o.as) != 0) return cli_bad_id("run id", o.as);
  if (access(file, R_OK) != 0)
    return cli_fail(EXIT_USAGE, "cannot import %s: %s; nothing was written", file,
                    strerror(errno));
  /* The file is checked before the store is opened: a bad file makes no store either. */
  int rc = wf_run_import_check(file, id, sizeof id, bad, sizeof bad);
  if (rc == WF_ECORRUPT && bad[0])
    return cli_fail(EXIT_USAGE, "cannot import %s: %s; nothing was written", file, bad);
  if (rc)
    return cli_fail(cli_exit_for(rc), "cannot import %s: %s; nothing was written", file,
                    cli_store_why(rc, why, sizeof why));
  if ((code = cli_open_store(cli, &st)) != 0) return code;
  rc = wf_run_import(st, file, &o, id, sizeof id, bad, sizeof bad);
  if (rc == 0) {
    if (cli->format == FMT_IDS) printf("%s\n", id);
    else printf("run %s imported from %s (see: wf show-run %s)\n", id, file, id);
  } else if (rc == WF_ECORRUPT && bad[0]) {
    code = cli_fail(EXIT_USAGE, "cannot import %s: %s; nothing was written", file, bad);
  } else if (rc == WF_EEXIST && !(o.run_dir && wf_run_dir_check(st, id, o.run_dir, NULL, 0,
                                                                NULL, 0) == WF_EEXIST)) {
    code = cli_fail(EXIT_USAGE, "cannot import %s: a run %s exists in %s already; import it "
                               "under another id with --as NEW; nothing was written",
                    file, id, cli->home);
  } else if (o.run_dir && (rc == WF_EBUSY || rc == WF_EEXIST || rc == WF_EINVAL)) {
    code = cli_run_dir_refused(st, id[0] ? id : NULL, o.run_dir, rc);
  } else {
    code = cli_fail(cli_exit_for(rc), "cannot import %s: %s; nothing was written", file,
                    cli_store_why(rc, why, sizeof why));
  }
  wf_store_close(st);
  return code;
}
