/* commands.c — the table of wf's subcommands: one entry per command drives the dispatch
 * of main.c, `wf --help`, `wf help CMD` and `wf CMD --help` (help.c), the completion
 * scripts of `wf completion` (complete.c) and the manual page wf(1) (`wf --man`, built
 * and installed by cmake), so that none of them can drift from another.
 *
 * To add a command, this entry is all the help, completion and manual need:
 *   1. its function, int cmd_<name>(cli_ctx *, int, char **), declared in cli.h and
 *      written in cli/cmd_<name>.c (named in cli/CMakeLists.txt); it parses with
 *      cli_parse(..., cli_<name>_opts, &a) and answers a.help with
 *      `return cli_help_command(stdout, "<name>");`
 *   2. its options, cli_<name>_opts in opts.c (with the value's name, help and what
 *      completes the value), their ids in cli.h's enum (before O_NOPTS);
 *   3. its entry below, where it belongs in the list `wf --help` prints.
 * tests/integration/t_help.sh and t_manpage.sh then check it like every other. */
#include <string.h>

#include "cli.h"

const cli_command cli_commands[] = {
    {"start", cmd_start, cli_start_opts, "<workflow>", "<workflow> [options]",
     "start a run of a workflow (bundled name or JSON file)",
     "Start a run of <workflow>: a bundled name (see 'wf list'), a name under ./workflows/,\n"
     "or a path to a JSON definition. Prints progress; exits with the run's outcome.\n"
     "Parameters are checked against their constraints, the environment variables the\n"
     "definition declares (\"env\") must be set, and the definition's \"validate\" stages\n"
     "run, before the run is created: a start they refuse exits 2, recording nothing.",
     CLI_C_WORKFLOWS},
    {"resume", cmd_resume, cli_resume_opts, "<run-id>|--all", "<run-id> | --all [options]",
     "continue an interrupted or failed run",
     "Continue a run that was interrupted (its process died or was stopped), failed or\n"
     "canceled. Recorded steps are not executed again; failed and unfinished ones are.\n"
     "It runs the definition recorded when the run started, with its params and stages.\n"
     "A run still owned by a live process is refused, unless --force is given.",
     CLI_C_RUNS},
    {"show-run", cmd_show_run, cli_show_opts, "<run-id>",
     "<run-id> [--history | --watch] [-o table|json]",
     "a run's status, stages, steps and (--history) events",
     "A run's status, parameters and where its files are; its stages in definition order,\n"
     "each with its status and steps done/total; then its steps in the same order: status,\n"
     "attempts, duration and error, those in flight as running with how long they have run\n"
     "so far. -o json adds step outputs.",
     CLI_C_RUNS},
    {"list-runs", cmd_list_runs, cli_list_opts, "",
     "[--status S,..] [--workflow W] [--since T] [--until T] [--limit N] [-o table|json|ids]",
     "runs, newest first (--status, --workflow, --since, --until)",
     "Runs, newest first. STEPS is how far each got: its steps done out of its total,\n"
     "\"5/29\"; \"5/≥9\" while a fan-out's list is not known yet (at least 9); \"5/?\" when\n"
     "the run has no progress report (made by an older wf or through the C API).",
     NULL},
    {"cancel-run", cmd_cancel_run, cli_cancel_opts, "<run-id>", "<run-id> [--no-wait]",
     "stop a run; its owner stops within a second",
     "Stop a run. The process executing it notices within a second, kills the process\n"
     "groups of steps in flight and records the run as canceled. A run no process is\n"
     "executing is marked canceled at once. 'wf resume <run-id>' continues it later.",
     CLI_C_RUNS},
    {"logs", cmd_logs, cli_logs_opts, "<run-id>",
     "<run-id> [--step KEY|STAGE] [--tail N] [--follow]",
     "what its steps wrote to stderr (--step, --tail, --follow)",
     "Print what the run's steps wrote to stderr (one log per step, every attempt), each\n"
     "under a line '==> KEY <=='. A run started with --detach also has a log of its own\n"
     "(its progress and messages, logs/<run-id>/.wf.log in the store's home): it comes\n"
     "first, under '==> run <run-id> <=='. When no step wrote anything, it says so on stderr.",
     CLI_C_RUNS},
    {"delete-run", cmd_delete_run, cli_delete_opts, "<run-id>...",
     "<run-id>... [--dry-run] [-o table|json|ids]",
     "delete runs with their steps, events, logs and folders",
     "Delete runs by id (or unique id prefix): each run's record, steps, events and index\n"
     "entries in one transaction, then its lock file, logs and run folder. A run a live\n"
     "process owns is not deleted: cancel it first. Ids are checked before anything is\n"
     "deleted.",
     CLI_C_RUNS},
    {"gc", cmd_gc, cli_gc_opts, "",
     "[--older-than T] [--status S,..] [--workflow W] [--since T] [--until T] [--dry-run] "
     "[--compact] [-o table|json|ids]",
     "delete old finished runs (--older-than 30d, --compact)",
     "Delete finished runs: each run's record, steps, events and index entries in one\n"
     "transaction, then its lock file, logs and run folder. A run a live process owns is\n"
     "never deleted. Says what was freed. T is as for list-runs --since.\n"
     "With no selection, the retention of the configuration file applies:\n"
     "  retention = 30d                      (runs whose last change is older than that)\n"
     "  retention_status = failed,canceled   (optional: only these statuses)\n"
     "in $XDG_CONFIG_HOME/wf/config (default ~/.config/wf/config).",
     NULL},
    {"list", cmd_list, cli_no_opts, "", "[-o table|json|ids]",
     "workflows that can be started by name",
     "Workflows that 'wf start <name>' finds: those in ./workflows/ and the bundled ones.",
     NULL},
    {"describe", cmd_describe, cli_no_opts, "<workflow>", "<workflow> [-o table|json]",
     "a workflow's parameters and stages",
     "A workflow's parameters (type, default, whether required), the environment variables\n"
     "it needs and its stages.",
     CLI_C_WORKFLOWS},
    {"explain", cmd_explain, cli_no_opts, "<run-id> <step-key>",
     "<run-id> <step-key> [-o table|json]",
     "why a step ran again or was reused, from the history",
     "Why a step ran again or was reused, from the run's recorded history: its input\n"
     "changed, a later generation (--start-from), it was in flight when its owner died,\n"
     "it was killed when the run stopped, it failed or was canceled before, or it was\n"
     "recorded and reused. Prints each execution of the run and what the step did in it.\n"
     "The step key is as 'wf show-run' lists it: <stage> or <stage>/<item key>.",
     CLI_C_RUNS},
    {"fork", cmd_fork, cli_fork_opts, "<run-id>", "<run-id> --from STAGE [options]",
     "a new run reusing a run's steps before a stage",
     "Start a new run as a branch of <run-id>: same workflow definition (as that run\n"
     "recorded it), parameters and stage selection; the steps it recorded as succeeded\n"
     "in the stages before STAGE are reused (with their logs, and the files of its\n"
     "folder are copied), STAGE and every stage after it execute. <run-id> is not\n"
     "changed. Exits with the new run's outcome, as start does.",
     CLI_C_RUNS},
    {"export", cmd_export, cli_no_opts, "<run-id>", "<run-id> > FILE",
     "write a run as one file on stdout (> run.wfx)",
     "Write the run as one self-contained file on stdout: its definition, parameters,\n"
     "steps, events, logs and the files of its folder (format: docs/export-format.md).\n"
     "'wf import FILE' recreates it in another store. A run a live process owns is\n"
     "exported once it has stopped.",
     CLI_C_RUNS},
    {"import", cmd_import, cli_import_opts, "FILE", "FILE [options]",
     "recreate an exported run in this store (--as NEW)",
     "Recreate the run of an export file ('wf export') in this store, as it was: show-run\n"
     "shows it the same, and a run that was interrupted, failed or canceled can be resumed.\n"
     "The file is checked whole before anything is written: a truncated or damaged file\n"
     "is refused (exit 2) and nothing is written.",
     CLI_C_FILES},
    {"doctor", cmd_doctor, cli_doctor_opts, "[<workflow>]",
     "[<workflow> [-p KEY=VALUE]...] [-o table|json]",
     "check the store, or what a workflow needs, before a run",
     "Check what a run needs and what can go wrong before it does, and say what to do about\n"
     "each problem: the store in use is readable and writable, its schema, the free disk\n"
     "space beside its size, its reader slots (and those of dead processes), the limit of\n"
     "open files, interrupted runs waiting for 'wf resume --all', and run folders or logs\n"
     "left without a run. With <workflow>, also: the programs its stages run are found\n"
     "(on PATH), the environment variables it declares are set, and its parameters.\n"
     "Exit 0 when nothing is wrong, 1 when a problem was found.",
     CLI_C_WORKFLOWS},
    {"help", cmd_help, cli_no_opts, "[<command>]", "[<command>]",
     "help for wf or for a command", "Print the help of wf, or of <command>.", CLI_C_COMMANDS},
    {"completion", cmd_completion, cli_no_opts, "bash|zsh", "bash | zsh",
     "print a shell completion script",
     "Print a script that completes wf's commands, options, workflow names and run ids in\n"
     "bash or zsh. Load it in the current shell with: source <(wf completion bash)\n"
     "For every new shell: wf completion bash > ~/.local/share/bash-completion/completions/wf\n"
     "(bash), or wf completion zsh > _wf in a folder of $fpath (zsh).",
     "bash zsh"},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}};

const cli_command *cli_command_find(const char *name) {
  for (const cli_command *c = cli_commands; c->name; c++)
    if (strcmp(c->name, name) == 0) return c;
  return NULL;
}

/* Close enough to be a typo: at most 2 edits, and fewer than half the word's letters (so
 * that "ls" does not suggest "logs"); or the start of exactly one command. */
const cli_command *cli_command_suggest(const char *name) {
  const cli_command *best = NULL, *prefixed = NULL;
  int best_d = 3, nprefixed = 0;
  size_t n = strlen(name);
  for (const cli_command *c = cli_commands; c->name; c++) {
    int d = cli_edit_distance(name, c->name);
    if (d < best_d && (size_t)d * 2 < (n > strlen(c->name) ? n : strlen(c->name))) {
      best = c;
      best_d = d;
    }
    if (n >= 2 && strncmp(c->name, name, n) == 0) {
      prefixed = c;
      nprefixed++;
    }
  }
  if (best) return best;
  return nprefixed == 1 ? prefixed : NULL;
}
