/* logtail.h — printing a run's logs to stdout as `tail -F` prints files: each log followed
 * by its identity (its name and inode; a new file under a name is read from its start), its
 * lines printed once and whole, under a "==> KEY <==" line. The logs are read from the
 * folder wf_log_path names: step logs, and the run's own (key NULL there). */
#ifndef WF_CLI_LOGTAIL_H
#define WF_CLI_LOGTAIL_H

#include "wf/wf.h"

typedef struct cli_logtail cli_logtail;

/* What to print of run `id`'s logs: the run's own and every step's, or with step (not
 * NULL) the step of that key and, when it is a stage id (no '/'), each of the stage's
 * steps (<step>/<item>). tail >= 0: of each log there at the first pass, only its last
 * `tail` lines (-1: all). *out is the caller's, freed with cli_logtail_free. The strings
 * must outlive it.
 * Errors: WF_EINVAL (a bad id or step; the folder's path is too long), WF_ENOMEM. */
int cli_logtail_open(const wf_store *st, const char *id, const char *step, long tail,
                     cli_logtail **out);
void cli_logtail_free(cli_logtail *t);

/* Print what the logs hold beyond what earlier passes printed, finding logs that appeared
 * since; a line not ended yet is left for a later pass. first: the first pass (tail
 * applies). last: nothing more will be written (the run stopped): print everything, a
 * last line without newline ended with one. Returns 0, or -1 when writing to stdout
 * failed (then cli_logtail_write_error says why, and nothing more is printed). */
int cli_logtail_pass(cli_logtail *t, int first, int last);

/* The errno of the write to stdout that failed, or 0. */
int cli_logtail_write_error(const cli_logtail *t);
/* 1 when a selected step's log holds something (printed or not, as with --tail 0). */
int cli_logtail_step_text(const cli_logtail *t);
/* 1 when the run has a log of its own (a detached run's output). */
int cli_logtail_has_run_log(const cli_logtail *t);
/* The path of the run's own log, whether or not it exists. */
const char *cli_logtail_run_log_path(const cli_logtail *t);

#endif
