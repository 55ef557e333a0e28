/* opts.c — the option table of every subcommand, in one place so the commands and the
 * command-line fuzz target parse with the same tables. Ids: cli.h. */
#include "cli.h"

const cli_opt cli_start_opts[] = {
    {"param", 'p', 1, O_PARAM}, {"run-id", 0, 1, O_RUN_ID}, {"start-from", 0, 1, O_START_FROM},
    {"only", 0, 1, O_ONLY},     {"skip", 0, 1, O_SKIP},     {"to", 0, 1, O_TO},
    {"dry-run", 0, 0, O_DRY},   {"window", 0, 1, O_WINDOW}, {"continue-on-error", 0, 0, O_COE},
    {"detach", 0, 0, O_DETACH}, {NULL, 0, 0, 0}};
const cli_opt cli_resume_opts[] = {{"all", 0, 0, O_ALL}, {"window", 0, 1, O_WINDOW},
                                   {"force", 0, 0, O_FORCE}, {NULL, 0, 0, 0}};
const cli_opt cli_show_opts[] = {{"history", 0, 0, O_HISTORY}, {NULL, 0, 0, 0}};
const cli_opt cli_list_opts[] = {{"status", 0, 1, O_STATUS}, {"workflow", 0, 1, O_WORKFLOW},
                                 {"since", 0, 1, O_SINCE},   {"until", 0, 1, O_UNTIL},
                                 {"limit", 0, 1, O_LIMIT},   {NULL, 0, 0, 0}};
const cli_opt cli_cancel_opts[] = {{"no-wait", 0, 0, O_NOWAIT}, {NULL, 0, 0, 0}};
const cli_opt cli_logs_opts[] = {{"step", 0, 1, O_STEP}, {"follow", 'f', 0, O_FOLLOW},
                                 {"tail", 0, 1, O_TAIL}, {NULL, 0, 0, 0}};
const cli_opt cli_no_opts[] = {{NULL, 0, 0, 0}};
const cli_opt cli_gc_opts[] = {{"older-than", 0, 1, O_OLDER_THAN}, {"status", 0, 1, O_STATUS},
                               {"workflow", 0, 1, O_WORKFLOW},     {"since", 0, 1, O_SINCE},
                               {"until", 0, 1, O_UNTIL},           {"dry-run", 'n', 0, O_DRY},
                               {"compact", 0, 0, O_COMPACT},       {NULL, 0, 0, 0}};
const cli_opt cli_delete_opts[] = {{"dry-run", 'n', 0, O_DRY}, {NULL, 0, 0, 0}};
