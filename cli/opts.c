/* opts.c — the option table of every subcommand, in one place so that the commands, the
 * command-line fuzz target, `--help`, `wf help`, the completion scripts and the manual
 * page wf(1) all read the same tables (the commands themselves: commands.c). Ids: cli.h.
 *
 * An option: its long name, short letter (or 0), whether it takes a value, its id, the
 * name of its value in help ("ID", "N"), its help (lines as --help prints them, '\n'
 * between them, at most 56 columns each) and what completes its value (CLI_C_* of cli.h,
 * or words separated by spaces; NULL: nothing). */
#include "cli.h"

#define END {NULL, 0, 0, 0, NULL, NULL, NULL}

const cli_opt cli_start_opts[] = {
    {"run-id", 0, 1, O_RUN_ID, "ID",
     "id of the run (default run_<date>-<time>); an existing run is\n"
     "refused unless --start-from is given", CLI_C_RUNS},
    {"param", 'p', 1, O_PARAM, "KEY=VALUE", "a workflow parameter (repeatable)", NULL},
    {"start-from", 0, 1, O_START_FROM, "STAGE",
     "with --run-id of an existing run: keep its recorded results\n"
     "before STAGE, execute STAGE and everything after it again", NULL},
    {"only", 0, 1, O_ONLY, "S1,S2",
     "run only these stages; those they need and leave out must\n"
     "have recorded outputs (--run-id), else the start is refused", NULL},
    {"skip", 0, 1, O_SKIP, "S1,S2", "do not run these stages (the same rule)", NULL},
    {"to", 0, 1, O_TO, "STAGE", "run STAGE and the stages it needs, nothing after", NULL},
    {"dry-run", 0, 0, O_DRY, NULL,
     "validate and print what would run, with --run-id of an\n"
     "existing run what it recorded and would reuse; write nothing", NULL},
    {"window", 0, 1, O_WINDOW, "N", "steps in flight at once for the run (default 8)", NULL},
    {"continue-on-error", 0, 0, O_COE, NULL,
     "keep going past failed steps: other steps keep their retries,\n"
     "stages that need a failed one are not run (upstream_failed);\n"
     "the run ends degraded (exit 4). Without it the first step that\n"
     "fails for good stops the run: steps in flight are killed and\n"
     "recorded canceled", NULL},
    {"detach", 0, 0, O_DETACH, NULL, "run in the background; print the run id and exit", NULL},
    {"force", 0, CLI_ARG_OPTIONAL, O_FORCE, "S1,S2",
     "execute the steps of stages with \"cache\": true (all, or\n"
     "these) instead of reusing earlier runs' outputs", NULL},
    {"run-dir", 0, 1, O_RUN_DIR, "DIR",
     "the run's folder (${run.dir}, $WF_RUN_DIR: its reports and\n"
     "run_metadata.json) instead of <home>/runs/<run id>: a new or\n"
     "empty folder, outside the store; recorded with the run, so\n"
     "resume, show-run, export and deleting the run use it. A\n"
     "folder another run has is refused", CLI_C_DIRS},
    END};

const cli_opt cli_resume_opts[] = {
    {"all", 0, 0, O_ALL, NULL, "resume every interrupted run, one after another", NULL},
    {"window", 0, 1, O_WINDOW, "N", "steps in flight at once (default: the run's)", NULL},
    {"force", 0, 0, O_FORCE, NULL,
     "take the run over even from a live owner that is stuck\n"
     "(stopped, a paused container); steps it had in flight may\n"
     "still finish, then it stops and records nothing more", NULL},
    {"reload", 0, 0, O_RELOAD, NULL,
     "run the definition file as it is now instead of the one the\n"
     "run recorded (a resume warns when they differ): steps whose\n"
     "input changed run again, the others are reused", NULL},
    END};

const cli_opt cli_show_opts[] = {
    {"history", 0, 0, O_HISTORY, NULL,
     "also every recorded event (attempts, retries, timeouts)", NULL},
    {"watch", 'w', 0, O_WATCH, NULL,
     "follow the run until it ends, as 'wf start' shows it: a line\n"
     "per stage as it ends, failures and retries, and on a terminal\n"
     "a live line (elapsed time, steps done/total, time left, the\n"
     "longest-running steps); then its outcome. Without a terminal\n"
     "only the plain lines. Ctrl-C stops watching (exit 0); the run\n"
     "goes on", NULL},
    END};

const cli_opt cli_list_opts[] = {
    {"status", 0, 1, O_STATUS, "S,..",
     "runs in any of these statuses: pending, running, succeeded,\n"
     "failed, degraded, canceled, interrupted (running, but its\n"
     "process is gone); e.g. --status failed,canceled",
     "pending running succeeded failed degraded canceled interrupted"},
    {"workflow", 0, 1, O_WORKFLOW, "W", "runs of workflow W only", CLI_C_WORKFLOWS},
    {"since", 0, 1, O_SINCE, "T",
     "created at or after T: today, yesterday (from 00:00 UTC), now,\n"
     "an age (30m, 12h, 3d, 1w ago) or an ISO date or time\n"
     "(2026-05-01, 2026-05-01T14:30[:00], UTC unless +02:00 is given)", NULL},
    {"until", 0, 1, O_UNTIL, "T", "created before T (as --since)", NULL},
    {"limit", 0, 1, O_LIMIT, "N", "at most N runs (default 100; 0 for all)", NULL},
    END};

const cli_opt cli_cancel_opts[] = {
    {"no-wait", 0, 0, O_NOWAIT, NULL, "return once the request is recorded", NULL},
    END};

const cli_opt cli_logs_opts[] = {
    {"step", 0, 1, O_STEP, "KEY|STAGE",
     "only this step (a key as 'wf show-run' lists it), or the\n"
     "steps of this stage: STAGE and every STAGE/<item>", NULL},
    {"tail", 0, 1, O_TAIL, "N",
     "only the last N lines of each log (with --follow: then what\n"
     "is added)", NULL},
    {"follow", 'f', 0, O_FOLLOW, NULL,
     "keep printing as the logs grow, until the run stops; each\n"
     "line is printed once, whole. Stops (exit 0) when what reads\n"
     "the output goes away, e.g. | head", NULL},
    END};

const cli_opt cli_doctor_opts[] = {
    {"param", 'p', 1, O_PARAM, "KEY=VALUE",
     "with WORKFLOW: a parameter as 'wf start' would be given it\n"
     "(repeatable); the parameters are checked as a start checks them", NULL},
    END};

const cli_opt cli_fork_opts[] = {
    {"from", 0, 1, O_FROM, "STAGE", "the first stage to execute again (required)", NULL},
    {"run-id", 0, 1, O_RUN_ID, "NEW", "id of the new run (default run_<date>-<time>)", NULL},
    {"run-dir", 0, 1, O_RUN_DIR, "DIR", "the new run's folder (see 'wf start --help')",
     CLI_C_DIRS},
    {"window", 0, 1, O_WINDOW, "N", "steps in flight at once (default: the run's)", NULL},
    END};

const cli_opt cli_import_opts[] = {
    {"as", 0, 1, O_AS, "NEW", "the run's id here (a run of the file's id exists already)", NULL},
    {"run-dir", 0, 1, O_RUN_DIR, "DIR",
     "the run's folder (see 'wf start --help'); default\n"
     "<home>/runs/<run id>", CLI_C_DIRS},
    END};

const cli_opt cli_gc_opts[] = {
    {"older-than", 0, 1, O_OLDER_THAN, "T",
     "runs whose last change is before T, e.g. 30d (30 days ago)", NULL},
    {"status", 0, 1, O_STATUS, "S,..",
     "runs in these statuses (default succeeded,failed,degraded,\n"
     "canceled; interrupted may be given, pending and running not)",
     "succeeded failed degraded canceled interrupted"},
    {"workflow", 0, 1, O_WORKFLOW, "W", "runs of workflow W only", CLI_C_WORKFLOWS},
    {"since", 0, 1, O_SINCE, "T", "runs created at or after T", NULL},
    {"until", 0, 1, O_UNTIL, "T", "runs created before T", NULL},
    {"dry-run", 'n', 0, O_DRY, NULL, "list what would be deleted; delete nothing", NULL},
    {"compact", 0, 0, O_COMPACT, NULL,
     "then shrink the store's file (only while no other process\n"
     "has the store open: copies it without free pages, then swaps)", NULL},
    END};

const cli_opt cli_delete_opts[] = {
    {"dry-run", 'n', 0, O_DRY, NULL, "say what would be deleted; delete nothing", NULL},
    END};

const cli_opt cli_no_opts[] = {END};

/* The options of wf itself (parsed by main.c and cli_parse, not through this table; it is
 * for help, completion and the manual). Id CLI_BEFORE: only before the command. */
const cli_opt cli_global_opts[] = {
    {"home", 0, 1, -1, "DIR",
     "the store (default: $WF_HOME, else home in ~/.config/wf/config,\n"
     "else the nearest .wf here or in a folder above, else ./.wf)", CLI_C_DIRS},
    {"output", 'o', 1, -1, "FORMAT", "table, json or ids", "table json ids"},
    {"help", 'h', 0, -1, NULL, "help for wf or for a command", NULL},
    {"version", 0, 0, CLI_BEFORE, NULL, "print the version", NULL},
    {"man", 0, 0, CLI_BEFORE, NULL, "print the manual page wf(1) (roff)", NULL},
    END};
