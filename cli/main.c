/* main.c — the wf command: global options, dispatch to the subcommands of commands.c. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"

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
  const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
  cli.color = cli.tty && !(nc && nc[0]) && !(term && strcmp(term, "dumb") == 0);

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
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return cli_help_main(stdout);
    if (strcmp(a, "--man") == 0) return cli_man_page(stdout);
    if (a[0] == '-') {
      fprintf(stderr, "wf: unknown option %s before the command (see 'wf --help')\n", a);
      return EXIT_USAGE;
    }
    cmd_at = i;
    break;
  }
  if (cmd_at < 0) {
    cli_help_main(stderr);
    return EXIT_USAGE;
  }
  const cli_command *c = cli_command_find(argv[cmd_at]);
  if (!c) {
    const cli_command *s = cli_command_suggest(argv[cmd_at]);
    if (s)
      fprintf(stderr, "wf: unknown command \"%s\": did you mean %s? (run 'wf help' for the "
                      "commands)\n", argv[cmd_at], s->name);
    else
      fprintf(stderr, "wf: unknown command \"%s\" (run 'wf help' for the commands)\n",
              argv[cmd_at]);
    return EXIT_USAGE;
  }
  /* Hand the command every argument but its name; globals are parsed there. */
  char **rest = calloc((size_t)argc, sizeof *rest);
  if (!rest) return EXIT_STORE;
  int n = 0;
  for (int i = 1; i < argc; i++)
    if (i != cmd_at) rest[n++] = argv[i];
  int code = c->fn(&cli, n, rest);
  free(rest);
  return code;
}
