/* cmd_logs.c — `wf logs`: what a run's steps wrote to stderr and what a detached run
 * printed itself, whole or their last lines, and with --follow as they grow until the run
 * stops. The printing of the logs is logtail.c's; this is the command around it. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "logtail.h"

#define POLL_MS 200
#define OWNER_EXIT_MS 5000 /* the longest wait for a detached owner's last lines */

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Whether process pid (of this PID namespace) still exists. */
static int pid_exists(pid_t pid) {
  return kill(pid, 0) == 0 || errno == EPERM;
}

/* A detached run's owner writes its last lines ("run ... succeeded in ...") to the run's
 * own log after recording the outcome: give it until it exits to write them. */
static void await_owner(const cli_logtail *t, pid_t owner) {
  if (!cli_logtail_has_run_log(t)) return;
  if (owner <= 0) {
    sleep_ms(3 * POLL_MS / 2);
    return;
  }
  for (int waited = 0; waited < OWNER_EXIT_MS && pid_exists(owner); waited += 50) sleep_ms(50);
}

static int stopped(const wf_run_info *r) {
  return !r || (r->status != WF_RUN_RUNNING && r->status != WF_RUN_PENDING);
}

/* Wait ms; 1 at once when stdout is a pipe or socket that nothing reads any more (so a
 * follower whose reader went away stops even while nothing is written). */
static int reader_gone(int ms) {
  struct stat sb;
  if (fstat(STDOUT_FILENO, &sb) != 0 || !(S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode))) {
    sleep_ms(ms);
    return 0;
  }
  struct pollfd p = {STDOUT_FILENO, 0, 0};
  return poll(&p, 1, ms) > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL));
}

/* Print the logs as they grow until the run stops (or can no longer be read), then what
 * they hold past that, last lines included. Returns 1 when what reads stdout went away
 * first. */
static int follow(cli_logtail *t, wf_store *st, const char *id, wf_run_info **r) {
  pid_t owner = 0;
  for (int first = 1;; first = 0) {
    int last = stopped(*r);
    if (last && !first) await_owner(t, owner);
    if (cli_logtail_pass(t, first, last) != 0 || last) return 0;
    if (reader_gone(POLL_MS)) return 1;
    if ((*r)->owner.pid && (*r)->owner.pid_visible) owner = (*r)->owner.pid;
    wf_run_info_free(*r);
    *r = NULL;
    if (wf_run_info_get(st, id, r) != 0) *r = NULL;
  }
}

static int any_step(void *ud, const wf_step_info *s) {
  (void)ud;
  (void)s;
  return 1;
}

/* What --step named wrote nothing, or it names no step: say which. */
static int say_step_silent(wf_store *st, const char *id, const char *step) {
  char prefix[WF_MAX_STEP_KEY + 2];
  snprintf(prefix, sizeof prefix, "%s/", step);
  if (!strchr(step, '/') && wf_steps_list(st, id, prefix, any_step, NULL) == 1) {
    fprintf(stderr, "wf: no step of stage %s of run %s wrote to stderr\n", step, id);
    return EXIT_OK;
  }
  wf_step_info *s = NULL;
  int found = wf_step_info_get(st, id, step, &s) == 0;
  wf_step_info_free(s);
  if (found) {
    fprintf(stderr, "wf: step %s of run %s wrote nothing to stderr\n", step, id);
    return EXIT_OK;
  }
  return cli_fail(EXIT_NOTFOUND, "run %s has no step %s, nor a stage of that name with steps "
                                "(its steps: wf show-run %s)", id, step, id);
}

/* No step wrote anything: say so, and where the run's own output is. */
static void say_run_silent(const cli_logtail *t, const char *id, const wf_run_info *r) {
  const char *path = cli_logtail_run_log_path(t);
  const char *wrote = stopped(r) ? "wrote" : "has written";
  if (cli_logtail_has_run_log(t))
    fprintf(stderr, "wf: no step of run %s %s to stderr; above is the run's own output (%s)\n",
            id, wrote, path);
  else
    fprintf(stderr, "wf: no step of run %s %s to stderr, and the run has no log of its own (a "
                    "run started with --detach writes its output to %s); its steps and error: "
                    "wf show-run %s\n", id, wrote, path, id);
}

static int parse_tail(const char *v, long *n) {
  *n = -1;
  if (!v) return 0;
  if (*v && strspn(v, "0123456789") == strlen(v)) {
    errno = 0;
    *n = strtol(v, NULL, 10);
    if (!errno) return 0;
  }
  return cli_fail(EXIT_USAGE, "--tail needs a number of lines (0 or more), not \"%s\"", v);
}

int cmd_logs(cli_ctx *cli, int argc, char **argv) {
  cli_args a;
  int code = cli_parse(cli, "logs", argc, argv, cli_logs_opts, &a);
  if (code) return code;
  if (a.help) return cli_help_command(stdout, "logs");
  if ((code = cli_check_format(cli, "logs", CLI_TAKES(FMT_TABLE)))) return code;
  if (a.npos != 1) return cli_fail(EXIT_USAGE, "logs needs one run id");
  const char *step = a.val[O_STEP];
  char id[WF_MAX_RUN_ID + 1];
  if (wf_run_id_check(a.pos[0]) != 0) return cli_bad_id("run id", a.pos[0]);
  if (step && wf_step_key_check(step) != 0) return cli_bad_id("step key", step);
  long tail;
  if (parse_tail(a.val[O_TAIL], &tail)) return EXIT_USAGE;
  wf_store *st = NULL;
  if ((code = cli_open_existing(cli, &st)) != 0) return code;
  if ((code = cli_run_ref(cli, st, a.pos[0], id, sizeof id)) != 0) {
    wf_store_close(st);
    return code;
  }
  wf_run_info *r = NULL;
  int rc = wf_run_info_get(st, id, &r);
  if (rc) {
    wf_store_close(st);
    if (rc == WF_ENOTFOUND) return cli_fail(EXIT_NOTFOUND, "no run %s in %s", id, cli->home);
    return cli_fail(EXIT_STORE, "run %s cannot be read: %s", id, wf_strerror(rc));
  }
  cli_logtail *t = NULL;
  rc = cli_logtail_open(st, id, step, tail, &t);
  if (rc) {
    code = cli_fail(EXIT_STORE, "cannot read the logs of run %s: %s", id, wf_strerror(rc));
  } else {
    int gone = a.val[O_FOLLOW] ? follow(t, st, id, &r) : (cli_logtail_pass(t, 1, 1), 0);
    int werr = cli_logtail_write_error(t);
    if (gone || werr == EPIPE) code = EXIT_OK; /* what read the output is done with it */
    else if (werr)
      code = cli_fail(EXIT_FAILED, "cannot write the logs of run %s to stdout: %s", id,
                      strerror(werr));
    else if (step && !cli_logtail_step_text(t)) code = say_step_silent(st, id, step);
    else if (!cli_logtail_step_text(t)) say_run_silent(t, id, r);
  }
  cli_logtail_free(t);
  wf_run_info_free(r);
  wf_store_close(st);
  return code;
}
