/* runref.c — a run named on the command line: its id or a unique prefix of it, as git
 * takes a commit's (wf_run_id_resolve). */
#include <string.h>

#include "cli.h"

#define SHOWN_CANDIDATES 10

struct candidates {
  size_t n;
};

static int print_candidate(void *ud, const char *id) {
  struct candidates *c = ud;
  if (c->n++ < SHOWN_CANDIDATES) fprintf(stderr, "  %s\n", id);
  return 0;
}

int cli_run_ref(cli_ctx *cli, wf_store *st, const char *arg, char *id, size_t cap) {
  snprintf(id, cap, "%s", arg);
  if (wf_run_id_check(arg) != 0) return cli_bad_id("run id", arg);
  struct candidates c = {0};
  int rc = wf_run_id_resolve(st, arg, id, cap, NULL, NULL);
  if (rc == WF_EAMBIGUOUS) {
    fprintf(stderr, "wf: run id prefix \"%s\" is ambiguous in %s; it begins these runs:\n", arg,
            cli->home);
    wf_run_id_resolve(st, arg, id, cap, print_candidate, &c);
    if (c.n > SHOWN_CANDIDATES)
      fprintf(stderr, "  ... and %zu more\n", c.n - SHOWN_CANDIDATES);
    fprintf(stderr, "wf: give more of the id\n");
    snprintf(id, cap, "%s", arg);
    return EXIT_USAGE;
  }
  /* Not found, or the store could not say: the command reports it for the id as given. */
  if (rc) snprintf(id, cap, "%s", arg);
  return 0;
}
