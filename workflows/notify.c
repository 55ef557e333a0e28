/* notify.c — a definition's notification hooks: "on_success", "on_failure" and
 * "on_finish", argv arrays run when a run ends, each given the run's show-run JSON on
 * stdin. A hook is told, never asked: whatever it does, the run's result stands.
 */
#define _DEFAULT_SOURCE /* setenv in the child */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wfw_int.h"

static const char *const hook_names[WFW_NHOOKS] = {"on_success", "on_failure", "on_finish"};

const char *wfw_hook_name(int hook) {
  return hook >= 0 && hook < WFW_NHOOKS ? hook_names[hook] : "?";
}

/* ---- loading ------------------------------------------------------------------------ */

/* Hooks run after the run: they see its params, id and folders, and no stage output or
 * item (the JSON on stdin has those). */
static int check_hook_expr(wfw_lctx *c, const char *field, const wfw_expr *e) {
  const wfw_def *d = c->d;
  if (e->root == WFW_R_PARAMS) {
    uint32_t k = 0;
    while (k < d->nparams && strcmp(d->params[k].name, e->name) != 0) k++;
    if (k == d->nparams)
      return wfw_lfail(c, -1, "\"%s\": %s: unknown param \"%s\"", field, e->text, e->name);
    if (e->nsegs)
      return wfw_lfail(c, -1, "\"%s\": %s: params are single values, with no fields or "
                       "indexes", field, e->text);
    return 0;
  }
  if (e->root == WFW_R_STAGES || e->root == WFW_R_ITEM)
    return wfw_lfail(c, -1, "\"%s\": %s: a notification hook may use ${params...}, ${run.id}, "
                     "${run.dir} and ${workflow.dir}; it reads the run's outputs from the "
                     "show-run JSON on its stdin", field, e->text);
  return 0;
}

static int load_hook(wfw_lctx *c, int h, const cJSON *v) {
  wfw_hook_cmd *cmd = &c->d->hooks[h];
  const char *name = hook_names[h];
  int argc = cJSON_GetArraySize(v);
  if (!cJSON_IsArray(v) || argc == 0)
    return wfw_lfail(c, -1, "\"%s\" must be a non-empty array of strings (a program and its "
                     "arguments, like a stage's \"run\"), e.g. [\"mail\", \"-s\", \"wf run "
                     "${run.id}\", \"ops@example.com\"]", name);
  if (argc > 1024) return wfw_lfail(c, -1, "\"%s\": at most 1024 arguments", name);
  if (!(cmd->argv = calloc((size_t)argc, sizeof *cmd->argv))) return WF_ENOMEM;
  for (const cJSON *a = v->child; a; a = a->next) {
    char field[48], why[512];
    snprintf(field, sizeof field, "%s[%u]", name, cmd->argc);
    if (!cJSON_IsString(a)) return wfw_lfail(c, -1, "\"%s\" must be a string", field);
    int rc = wfw_tmpl_parse(a->valuestring, &cmd->argv[cmd->argc], why, sizeof why);
    if (rc == WF_EINVAL) return wfw_lfail(c, -1, "\"%s\": %s", field, why);
    if (rc) return rc;
    cmd->argc++;
    const wfw_tmpl *t = &cmd->argv[cmd->argc - 1];
    for (uint32_t k = 0; k < t->nparts; k++)
      if (!t->parts[k].lit && (rc = check_hook_expr(c, field, &t->parts[k].expr)) != 0)
        return rc;
  }
  if (!cmd->argv[0].nparts) return wfw_lfail(c, -1, "\"%s[0]\" (the program) is empty", name);
  return 0;
}

int wfw_hooks_load(wfw_lctx *c) {
  for (int h = 0; h < WFW_NHOOKS; h++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->d->root, hook_names[h]);
    int rc = v ? load_hook(c, h, v) : 0;
    if (rc) return rc;
  }
  return 0;
}

void wfw_hooks_clear(wfw_def *d) {
  for (int h = 0; h < WFW_NHOOKS; h++) {
    for (uint32_t i = 0; i < d->hooks[h].argc; i++) wfw_tmpl_clear(&d->hooks[h].argv[i]);
    free(d->hooks[h].argv);
    memset(&d->hooks[h], 0, sizeof d->hooks[h]);
  }
}

/* ---- running ------------------------------------------------------------------------ */

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void child(char **argv, int in, const char *hook, const char *run_id,
                  const char *status, const char *run_dir) {
  setpgid(0, 0);
  dup2(in, STDIN_FILENO);
  dup2(STDERR_FILENO, STDOUT_FILENO); /* wf's stdout may be JSON for a script */
  if (in != STDIN_FILENO) close(in);
  signal(SIGPIPE, SIG_DFL);
  setenv("WF_HOOK", hook, 1);
  setenv("WF_RUN_ID", run_id, 1);
  setenv("WF_RUN_STATUS", status, 1);
  setenv("WF_RUN_DIR", run_dir ? run_dir : "", 1);
  execvp(argv[0], argv);
  fprintf(stderr, "wf: %s hook: cannot run %s: %s\n", hook, argv[0], strerror(errno));
  _exit(127);
}

/* Feed the JSON to the hook while waiting for it, at most timeout_s. 0 with *wstatus,
 * or 1 when it was killed for taking too long. */
static int feed_and_wait(pid_t pid, int fd, const char *json, size_t len, double timeout_s,
                         int *wstatus) {
  size_t off = 0;
  double deadline = mono_s() + timeout_s;
  for (;;) {
    pid_t w = waitpid(pid, wstatus, WNOHANG);
    if (w == pid || (w < 0 && errno != EINTR)) break;
    if (mono_s() > deadline) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      while (waitpid(pid, wstatus, 0) < 0 && errno == EINTR) {}
      if (fd >= 0) close(fd);
      return 1;
    }
    if (fd >= 0 && off < len) {
      struct pollfd p = {fd, POLLOUT, 0};
      if (poll(&p, 1, 50) > 0) {
        ssize_t n = write(fd, json + off, len - off);
        if (n > 0) off += (size_t)n;
        else if (n < 0 && errno != EAGAIN && errno != EINTR) off = len; /* it stopped reading */
      }
      if (off >= len) close(fd), fd = -1;
    } else {
      poll(NULL, 0, 20);
    }
  }
  if (fd >= 0) close(fd);
  return 0;
}

static int eval_argv(const wfw_plan_state *p, const wfw_hook_cmd *cmd, const char *run_id,
                     const char *run_dir, char ***out, char *why, size_t cap) {
  wfw_ictx c;
  memset(&c, 0, sizeof c);
  c.params = p->params_json;
  c.run_id = run_id;
  c.run_dir = run_dir;
  c.workflow_dir = p->d->dir;
  char **argv = calloc(cmd->argc + 1, sizeof *argv);
  if (!argv) return WF_ENOMEM;
  int rc = 0;
  for (uint32_t i = 0; i < cmd->argc && rc == 0; i++)
    if ((rc = wfw_tmpl_eval_str(&cmd->argv[i], &c, &argv[i])) != 0)
      snprintf(why, cap, "%s", c.err[0] ? c.err : wf_strerror(rc));
  if (rc) {
    for (uint32_t i = 0; i < cmd->argc; i++) free(argv[i]);
    free(argv);
    return rc;
  }
  *out = argv;
  return 0;
}

static void run_hook(const wfw_plan_state *p, int h, const wfw_notify_info *in,
                     wfw_notify_log log, void *ud) {
  const char *name = hook_names[h];
  char **argv = NULL, why[768] = "", msg[1200];
  if (eval_argv(p, &p->d->hooks[h], in->run_id, in->run_dir, &argv, why, sizeof why) != 0) {
    snprintf(msg, sizeof msg, "%s hook of run %s was not run: %s", name, in->run_id,
             why[0] ? why : "out of memory");
    log(ud, msg);
    return;
  }
  int fds[2] = {-1, -1}, wstatus = 0;
  pid_t pid = -1;
  fflush(NULL);
  if (pipe(fds) == 0 && (pid = fork()) == 0) {
    close(fds[1]);
    child(argv, fds[0], name, in->run_id, in->status, in->run_dir);
  }
  if (fds[0] >= 0) close(fds[0]);
  if (pid < 0) {
    snprintf(msg, sizeof msg, "%s hook of run %s was not run: cannot start %s: %s", name,
             in->run_id, argv[0], strerror(errno));
    if (fds[1] >= 0) close(fds[1]);
    log(ud, msg);
  } else {
    fcntl(fds[1], F_SETFL, O_NONBLOCK);
    double limit = in->timeout_s > 0 ? in->timeout_s : WFW_HOOK_TIMEOUT_S;
    int late = feed_and_wait(pid, fds[1], in->json, in->json_len, limit, &wstatus);
    if (late)
      snprintf(msg, sizeof msg, "%s hook %s of run %s was killed after %gs; the run stays %s",
               name, argv[0], in->run_id, limit, in->status);
    else if (WIFSIGNALED(wstatus))
      snprintf(msg, sizeof msg, "%s hook %s of run %s was killed by signal %d; the run stays %s",
               name, argv[0], in->run_id, WTERMSIG(wstatus), in->status);
    else if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0)
      snprintf(msg, sizeof msg, "%s hook %s of run %s exited with code %d; the run stays %s",
               name, argv[0], in->run_id, WEXITSTATUS(wstatus), in->status);
    else
      msg[0] = '\0';
    if (msg[0]) log(ud, msg);
  }
  for (uint32_t i = 0; i < p->d->hooks[h].argc; i++) free(argv[i]);
  free(argv);
}

int wfw_notify(const wfw_plan *plan, int status, const wfw_notify_info *in,
               wfw_notify_log log, void *ud) {
  const wfw_plan_state *p = (const wfw_plan_state *)plan;
  int which = status == WF_RUN_SUCCEEDED ? WFW_ON_SUCCESS
              : status == WF_RUN_FAILED || status == WF_RUN_DEGRADED ? WFW_ON_FAILURE
                                                                       : -1;
  int ran = 0;
  if (status == WF_RUN_INTERRUPTED || status == WF_RUN_RUNNING || status == WF_RUN_PENDING)
    return 0; /* not ended: it is resumable */
  if (which >= 0 && p->d->hooks[which].argc) run_hook(p, which, in, log, ud), ran++;
  if (p->d->hooks[WFW_ON_FINISH].argc) run_hook(p, WFW_ON_FINISH, in, log, ud), ran++;
  return ran;
}

int wfw_def_has_hooks(const wfw_def *d) {
  for (int h = 0; h < WFW_NHOOKS; h++)
    if (d->hooks[h].argc) return 1;
  return 0;
}
