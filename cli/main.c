/* main.c — the wf command: global options, dispatch to subcommands, exit codes. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
    "usage: wf [--home DIR] [-o table|json|ids] <command> [options]\n"
    "\n"
    "Durable workflow runs: every step's result is recorded the moment it completes,\n"
    "so a run that crashed, was killed or was canceled continues where it stopped.\n"
    "\n"
    "commands:\n"
    "  start <workflow>        start a run of a workflow (bundled name or JSON file)\n"
    "  resume <run-id>|--all   continue an interrupted or failed run\n"
    "  show-run <run-id>       a run's status, steps and (--history) events\n"
    "  list-runs               runs, newest first (--status S,.., --workflow, --since,\n"
    "                          --until, --limit)\n"
    "  cancel-run <run-id>     stop a run; its owner stops within a second\n"
    "  logs <run-id>           what its steps wrote to stderr (--step, --tail, --follow)\n"
    "  delete-run <run-id>..   delete runs with their steps, events, logs and folders\n"
    "  gc                      delete old finished runs (--older-than 30d, --status,\n"
    "                          --workflow, --dry-run; --compact shrinks the store file)\n"
    "  list                    workflows that can be started by name\n"
    "  describe <workflow>     a workflow's parameters and stages\n"
    "\n"
    "global options (before or after the command):\n"
    "  --home DIR              the store (default: $WF_HOME, else home in ~/.config/wf/config,\n"
    "                          else the nearest .wf here or in a folder above, else ./.wf)\n"
    "  -o, --output FORMAT     table, json or ids\n"
    "  -h, --help              help for wf or for a command\n"
    "  --version               print the version\n"
    "\n"
    "exit codes: 0 succeeded, 1 run failed or canceled, 2 usage or definition error,\n"
    "3 not found, 4 degraded (--continue-on-error with failures), 5 store error,\n"
    "6 the run was taken over by another process, 130 interrupted by a signal (the run\n"
    "stays resumable).\n"
    "A run id may be shortened to a unique prefix wherever one is taken.\n"
    "Run 'wf <command> --help' for a command's options.\n";

struct command {
  const char *name;
  int (*fn)(cli_ctx *, int, char **);
};

static const struct command commands[] = {
    {"start", cmd_start},         {"resume", cmd_resume},       {"show-run", cmd_show_run},
    {"list-runs", cmd_list_runs}, {"cancel-run", cmd_cancel_run}, {"logs", cmd_logs},
    {"list", cmd_list},           {"describe", cmd_describe},   {"gc", cmd_gc},
    {"delete-run", cmd_delete_run},
};

/* Steps hold descriptors (pipes, logs) while they run: take every open file the hard
 * limit allows rather than the soft one, often 1024 or less. The engine still holds
 * starts back when the limit is near. Steps inherit the raised limit. */
static void raise_open_files(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) return;
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl); /* best effort: the engine budgets what it got */
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  raise_open_files();
  static cli_ctx cli; /* the store is named by cli_parse (cli_home_resolve) */
  cli.tty = isatty(STDOUT_FILENO);
  const char *nc = getenv("NO_COLOR");
  cli.color = cli.tty && !(nc && nc[0]);

  /* Find the command: the first argument that is not a global option or its value. */
  int cmd_at = -1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--home") == 0 || strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
      if (++i >= argc) {
        fprintf(stderr, "wf: option %s needs a value\n", a);
        return EXIT_USAGE;
      }
      continue;
    }
    if (strncmp(a, "--home=", 7) == 0 || strncmp(a, "--output=", 9) == 0 ||
        (strncmp(a, "-o", 2) == 0 && a[2]))
      continue;
    if (strcmp(a, "--version") == 0) {
      printf("wf %s\n", WF_VERSION_STRING);
      return EXIT_OK;
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(usage, stdout);
      return EXIT_OK;
    }
    if (a[0] == '-') {
      fprintf(stderr, "wf: unknown option %s before the command (see 'wf --help')\n", a);
      return EXIT_USAGE;
    }
    cmd_at = i;
    break;
  }
  if (cmd_at < 0) {
    fputs(usage, stderr);
    return EXIT_USAGE;
  }
  for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
    if (strcmp(argv[cmd_at], commands[k].name) != 0) continue;
    /* Hand the command every argument but its name; globals are parsed there. */
    char **rest = calloc((size_t)argc, sizeof *rest);
    if (!rest) return EXIT_STORE;
    int n = 0;
    for (int i = 1; i < argc; i++)
      if (i != cmd_at) rest[n++] = argv[i];
    int code = commands[k].fn(&cli, n, rest);
    free(rest);
    return code;
  }
  fprintf(stderr, "wf: unknown command \"%s\" (run 'wf --help' for the commands)\n",
          argv[cmd_at]);
  return EXIT_USAGE;
}
