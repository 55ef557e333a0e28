/* cmd_start.c — `wf start` and `wf resume`: bind a workflow to a run, take ownership of
 * it and execute it with progress, leaving it resumable if anything stops it. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

int cli_parse_window(const char *v, uint32_t *out) {
  *out = 0;
  if (!v) return 0;
  char *end;
  long n = strtol(v, &end, 10);
  if (*end || n < 1 || n > 100000)
    return cli_fail(EXIT_USAGE, "--window must be a number from 1 to 100000, not \"%s\"", v);
  *out = (uint32_t)n;
  return 0;
}

/* Why a claim was refused: who owns the run and what to do. Returns EXIT_FAILED. */
static int busy(const char *run_id, const wf_owner *owner) {
  int64_t age = (cli_now_ms() - owner->heartbeat) / 1000;
  const char *host = owner->host[0] ? owner->host : "?";
  if (!owner->same_machine)
    return cli_fail(EXIT_FAILED,
                    "run %s is owned by pid %d on %s, another machine (or a copy of this store "
                    "made while it ran); its last heartbeat was %llds ago and it counts as gone "
                    "%llds after that. If that process is gone, take it over now with: "
                    "wf resume --force %s",
                    run_id, (int)owner->pid, host, (long long)age,
                    (long long)(WF_OWNER_LEASE_MS / 1000), run_id);
  return cli_fail(EXIT_FAILED,
                  "run %s is owned by pid %d on %s%s, which holds its lock and is still running "
                  "it (last heartbeat %llds ago); wait for it, stop it with: wf cancel-run %s, "
                  "or if it is stuck: wf resume --force %s",
                  run_id, (int)owner->pid, host,
                  owner->pid_visible ? "" : " (another PID namespace)",
                  (long long)age, run_id, run_id);
}

static int exit_for_status(int status) {
  switch (status) {
  case WF_RUN_SUCCEEDED: return EXIT_OK;
  case WF_RUN_DEGRADED: return EXIT_DEGRADED;
  case WF_RUN_INTERRUPTED: return EXIT_SIGNAL;
  default: return EXIT_FAILED;
  }
}

/* This process lost the run to another owner: say who (or, when that owner is done with
 * it already, where the run stands), and that nothing more was recorded. */
static int fenced(wf_store *st, const char *run_id, const wf_owner *by) {
  char who[160] = "another process";
  wf_run_info *r = NULL;
  if (by->pid) {
    snprintf(who, sizeof who, "pid %d on %s", (int)by->pid, by->host);
  } else if (wf_run_info_get(st, run_id, &r) == 0) {
    snprintf(who, sizeof who, "another process (the run is %s now)",
             wf_run_status_name(r->status));
  }
  wf_run_info_free(r);
  return cli_fail(EXIT_FENCED,
                  "run %s was taken from this process by %s (wf resume --force, or wf resume or "
                  "cancel-run after its heartbeat lease ran out while it was stopped); this "
                  "process killed its steps in flight and recorded nothing more. See: "
                  "wf show-run %s",
                  run_id, who, run_id);
}

/* The run's warnings (from its definition's metadata_stage), a line each, at most 20. */
static void print_warnings(const cJSON *warnings, const char *run_id) {
  int n = cJSON_GetArraySize(warnings), i = 0;
  const cJSON *w;
  cJSON_ArrayForEach(w, warnings) {
    if (i++ == 20) {
      fprintf(stderr, "wf: warning: %d more in the run's run_metadata.json (wf show-run %s "
                      "prints its folder)\n", n - 20, run_id);
      break;
    }
    if (cJSON_IsString(w)) fprintf(stderr, "wf: warning: %s\n", w->valuestring);
  }
}

int cli_run_dir_refused(wf_store *st, const char *run_id, const char *dir, int rc) {
  char owner[4200] = "", why[8192];
  if (rc == WF_EBUSY)
    wf_run_dir_check(st, run_id, dir, NULL, 0, owner, sizeof owner);
  switch (rc) {
  case WF_EBUSY:
    return cli_fail(EXIT_USAGE,
                    "--run-dir %s: the folder belongs to %s; choose another folder (or delete "
                    "that run first)%s",
                    dir, owner[0] ? owner : "another run",
                    strstr(owner, " of the store at ")
                        ? "; if that store is gone, remove the folder's .wf-run file"
                        : "");
  case WF_EEXIST:
    return cli_fail(EXIT_USAGE,
                    "--run-dir %s: the folder holds files and is no run's folder; give a new or "
                    "empty folder, so that deleting the run never removes files it did not make",
                    dir);
  case WF_EINVAL:
    return cli_fail(EXIT_USAGE,
                    "--run-dir %s: not a folder a run can have (empty, too long, or inside the "
                    "store %s, which keeps its own files there); give a folder outside the store",
                    dir, wf_store_home(st));
  default:
    return cli_fail(cli_exit_for(rc), "--run-dir %s: cannot look at the folder: %s", dir,
                    cli_store_why(rc, why, sizeof why));
  }
}

static void hook_log(void *ud, const char *msg) {
  (void)ud;
  fprintf(stderr, "wf: warning: %s\n", msg);
}

/* The definition's notification hooks for a run that ended, given the run as show-run
 * -o json prints it. What they do is theirs: only a failure to run one is reported. */
static void notify(wf_store *st, const wf_run_info *r, const wfw_plan *plan, int status) {
  cJSON *j = cli_run_json(st, r, 1, 0);
  char *text = NULL;
  if (j) {
    cli_json_make_utf8(j);
    text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
  }
  if (!text) {
    fprintf(stderr, "wf: warning: run %s: out of memory for its notification hooks\n", r->id);
    return;
  }
  wfw_notify_info in = {r->id, r->run_dir, wf_run_status_name(status), text, strlen(text), 0};
  fflush(NULL);
  wfw_notify(plan, status, &in, hook_log, NULL);
  cJSON_free(text);
}

int cli_execute(cli_ctx *cli, wf_store *st, wf_run *run, const wfw_plan *plan,
                   uint32_t window, int continue_on_error, const char *verb,
                   const char *workflow) {
  const char *run_id = wf_run_id(run);
  FILE *out = cli->format == FMT_JSON || cli->format == FMT_IDS ? stderr : stdout;
  cli_progress_ctx pc = {cli, out, 0, 0, run_id, 0};
  if (cli->format == FMT_IDS) printf("%s\n", run_id);
  fprintf(out, "run %s %s (workflow %s)\n", run_id, verb, workflow);
  if (strcmp(verb, "started") != 0) cli_print_reuse(out, st, run_id, plan);
  fflush(out);
  wfw_exec_opts opts = {0};
  opts.window = window;
  opts.continue_on_error = continue_on_error;
  opts.observe = cli_progress;
  opts.observe_ud = &pc;
  opts.handle_signals = 1;
  wf_owner taken_by = {0};
  int64_t t0 = cli_now_ms();
  int status = WF_RUN_FAILED;
  cli_write_run_metadata(st, run_id);
  int rc = wfw_run_execute(run, plan, &opts, &status, &taken_by);
  if (rc == WF_EFENCED) return fenced(st, run_id, &taken_by);
  cli_write_run_metadata(st, run_id);
  char dur[32];
  cli_duration((double)(cli_now_ms() - t0) / 1000.0, dur, sizeof dur);
  if (rc == WF_EMAPFULL) {
    const char *cap = getenv("WF_MAP_CAP_MB");
    long mb = cap && atol(cap) > 0 ? atol(cap) : 65536;
    fprintf(stderr, "wf: run %s stopped: the store reached its size cap (WF_MAP_CAP_MB=%ld); "
                    "raise it and run: WF_MAP_CAP_MB=%ld wf resume %s\n",
            run_id, mb, mb * 2, run_id);
    return EXIT_STORE;
  }
  if (rc && rc != WF_ESTEP) {
    char why[8192];
    fprintf(stderr, "wf: run %s stopped: could not write to the store at %s: %s; once that is "
                    "fixed it can be resumed with: wf resume %s\n",
            run_id, cli->home, cli_store_why(rc, why, sizeof why), run_id);
    return EXIT_STORE;
  }
  wf_run_info *r = NULL;
  cJSON *warnings = NULL;
  if (wf_run_info_get(st, run_id, &r) == 0) {
    if (cli->format == FMT_JSON) cli_print_json(cli_run_json(st, r, 1, 0));
    warnings = cli_run_warnings(st, r);
    notify(st, r, plan, status);
  }
  /* What went wrong and what to look at go to stderr before the outcome; what to do
   * next comes after it, last. */
  print_warnings(warnings, run_id);
  int nwarn = cJSON_GetArraySize(warnings);
  cJSON_Delete(warnings);
  if (r && r->error && status != WF_RUN_SUCCEEDED) fprintf(stderr, "wf: %s\n", r->error);
  fflush(stderr);
  if (nwarn)
    fprintf(out, "run %s %s in %s, with %d warning%s (above)\n", run_id,
            wf_run_status_name(status), dur, nwarn, nwarn == 1 ? "" : "s");
  else
    fprintf(out, "run %s %s in %s\n", run_id, wf_run_status_name(status), dur);
  fflush(out);
  cli_resume_hint(status, run_id);
  wf_run_info_free(r);
  return exit_for_status(status);
}

/* Recorded params that -p does not override, as KEY=VALUE strings appended to kv. */
static int merge_recorded_params(const wf_run_info *r, const char **kv, int *n, char **owned,
                                 int *nowned) {
  cJSON *j = NULL;
  if (!r->params || wfa_mp_to_json(r->params, r->params_len, &j) != 0) return 0;
  int given = *n;
  for (cJSON *e = j ? j->child : NULL; e && *n < CLI_MAX_ARGS; e = e->next) {
    size_t klen = strlen(e->string);
    int dup = 0;
    for (int i = 0; i < given; i++)
      if (strncmp(kv[i], e->string, klen) == 0 && kv[i][klen] == '=') dup = 1;
    if (dup || cJSON_IsNull(e)) continue;
    char *v = cJSON_IsString(e) ? NULL : cJSON_PrintUnformatted(e);
    const char *val = v ? v : e->valuestring;
    char *s = malloc(klen + strlen(val) + 2);
    if (s) {
      sprintf(s, "%s=%s", e->string, val);
      kv[(*n)++] = s;
      owned[(*nowned)++] = s;
    }
    free(v);
  }
  cJSON_Delete(j);
  return 0;
}

/* Run the start in a background process: the child reports the run id (or fails) over
 * a pipe; the parent prints it and returns. */
static int detach(int *report_fd) {
  int fds[2];
  if (pipe(fds) != 0) return cli_fail(EXIT_STORE, "--detach: cannot create a pipe");
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return cli_fail(EXIT_STORE, "--detach: cannot fork");
  if (pid == 0) {
    close(fds[0]);
    setsid();
    int dn = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (dn >= 0) dup2(dn, STDIN_FILENO), dup2(dn, STDOUT_FILENO);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    *report_fd = fds[1];
    return -1; /* continue as the worker */
  }
  close(fds[1]);
  char id[WF_MAX_RUN_ID + 2];
  ssize_t n = 0, k;
  while ((size_t)n < sizeof id - 1 && (k = read(fds[0], id + n, sizeof id - 1 - (size_t)n)) > 0)
    n += k;
  close(fds[0]);
  if (n > 0) {
    id[n] = '\0';
    printf("%s\n", id);
    return EXIT_OK;
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_FAILED;
}

static void report_started(int *fd, const wf_store *st, const char *id) {
  if (*fd < 0) return;
  /* From here on the detached worker writes to the run's log, not the terminal. */
  char path[4096];
  snprintf(path, sizeof path, "%s/logs/%s", wf_store_home(st), id);
  mkdir(path, 0755);
  int lf = wf_log_path(st, id, NULL, path, sizeof path) == 0
               ? open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)
               : -1;
  if (lf >= 0) {
    dup2(lf, STDOUT_FILENO);
    dup2(lf, STDERR_FILENO);
    close(lf);
  }
  ssize_t w = write(*fd, id, strlen(id));
  (void)w;
  close(*fd);
  *fd = -1;
}

/* What a start would do, stage by stage; for an existing run (run not NULL) with what it
 * has recorded. */
static void print_dry_run(const wfw_def *def, const wfw_plan *plan, const wf_run_info *run,
                          const cJSON *recorded) {
  printf("workflow %s (%s): valid\n", wfw_def_name(def), wfw_def_path(def));
  if (run)
    printf("run %s (%s): the steps it recorded are reused, except in stages that run again\n",
           run->id, wf_run_status_name(run->status));
  for (uint32_t i = 0; i < wfw_plan_nstages(plan); i++) {
    wfw_plan_stage_info stage, *s = &stage;
    wfw_plan_stage(plan, i, s);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(recorded, s->id);
    double n = c ? cJSON_GetArrayItem(c, s->fanout ? 1 : 0)->valuedouble : 0;
    char what[96];
    if (!s->selected)
      snprintf(what, sizeof what, "not run (--only/--skip/--to)");
    else if (!run)
      snprintf(what, sizeof what, "runs");
    else if (s->rerun)
      snprintf(what, sizeof what, "runs again (--start-from): %.0f recorded step%s executed again",
               n, n == 1 ? "" : "s");
    else if (s->fanout)
      snprintf(what, sizeof what, "%.0f step%s recorded, reused; the others run", n,
               n == 1 ? "" : "s");
    else
      snprintf(what, sizeof what, "%s", n ? "recorded, reused" : "runs");
    wfw_stage_info si;
    wfw_def_stage(def, i, &si);
    printf("  %-24s %s%s%s\n", s->id, what, s->fanout ? " (fan-out)" : "",
           si.validate && s->selected ? " (a check made before the run; not in a dry run)" : "");
    if (s->cache && s->selected)
      printf("  %-24s cache: %s\n", "",
             s->cache == WFW_CACHE_USE ? "steps whose command and input an earlier run's succeeded step "
                             "had reuse its output"
                           : "ignored (--force): every step executes");
    if (si.check)
      printf("  %-24s check: %s (given %s output on stdin)\n", "", si.check,
             s->fanout ? "each item's" : "the stage's");
    if (si.expect)
      printf("  %-24s expect: %s (on %s output)\n", "", si.expect,
             s->fanout ? "each item's" : "the stage's");
  }
}

/* The definition's "validate" stages, before anything is recorded: a start they refuse
 * exits 2 with their message; one they could not check goes on, saying so. */
static int check_first(wfw_plan *plan, const char *run_id, int restart) {
  wfw_err err = {{0}}, note = {{0}};
  int rc = wfw_validate(plan, run_id, restart, &err, &note);
  if (note.msg[0]) fprintf(stderr, "wf: note: %s\n", note.msg);
  if (rc == WF_EINVAL)
    return cli_fail(EXIT_USAGE, "%s; nothing was recorded", err.msg);
  if (rc)
    return cli_fail(EXIT_FAILED, "cannot make the checks before the run: %s", wf_strerror(rc));
  return 0;
}

/* A start as its command line asks for it, with what it found of an existing run and
 * the plan made for it; start_clear frees what it holds. */
struct start {
  cli_args a;
  uint32_t window;
  const char *run_id;          /* --run-id, or NULL */
  wfw_def *def;
  wf_run_info *existing;       /* the run --run-id names, when it exists */
  cJSON *recorded;             /* with --dry-run: what that run recorded, per stage */
  const char *kv[CLI_MAX_ARGS]; /* params: -p, then the existing run's others */
  char *owned[CLI_MAX_ARGS];   /* those of kv this start allocated */
  int nkv, nowned;
  uint8_t *params;             /* bound, msgpack */
  size_t params_len;
  wfw_plan *plan;
};

static void start_clear(struct start *s) {
  for (int i = 0; i < s->nowned; i++) free(s->owned[i]);
  wf_run_info_free(s->existing);
  cJSON_Delete(s->recorded);
  wfw_plan_free(s->plan);
  free(s->params);
  wfw_def_free(s->def);
}

/* The options that do not go together, and the workflow it names, loaded. */
static int start_args(struct start *s) {
  const cli_args *a = &s->a;
  if (a->npos != 1)
    return cli_fail(EXIT_USAGE, "start needs exactly one workflow (see 'wf start --help')");
  if (cli_parse_window(a->val[O_WINDOW], &s->window)) return EXIT_USAGE;
  s->run_id = a->val[O_RUN_ID];
  if (s->run_id && wf_run_id_check(s->run_id) != 0) return cli_bad_id("run id", s->run_id);
  if (a->val[O_START_FROM] && !s->run_id)
    return cli_fail(EXIT_USAGE,
                    "--start-from reuses the recorded results of an existing run: add --run-id "
                    "ID (see 'wf list-runs')");
  if (a->val[O_DETACH] && a->val[O_DRY])
    return cli_fail(EXIT_USAGE, "--detach and --dry-run do not go together");
  wfw_err err = {{0}};
  char path[4096];
  int rc = wfw_resolve(a->pos[0], path, sizeof path, &err);
  if (rc == 0) rc = wfw_load(path, &s->def, &err);
  if (rc) return cli_fail(rc == WF_ENOTFOUND ? EXIT_NOTFOUND : EXIT_USAGE, "%s", err.msg);
  memcpy(s->kv, a->multi, sizeof(char *) * (size_t)a->nmulti);
  s->nkv = a->nmulti;
  return 0;
}

/* The environment variables the definition declares ("env") are set: else exit 2, naming
 * each that is not, before anything is recorded. */
static int start_env(const struct start *s) {
  if (!wfw_def_env_missing(s->def)) return 0;
  char names[1024] = "";
  size_t n = 0;
  int count = 0;
  for (uint32_t i = 0; i < wfw_def_nenv(s->def); i++) {
    const char *v = getenv(wfw_def_env(s->def, i));
    if (v && v[0]) continue;
    int k = snprintf(names + n, sizeof names - n, "%s%s", count ? ", " : "", wfw_def_env(s->def, i));
    if (k > 0 && (size_t)k < sizeof names - n) n += (size_t)k;
    count++;
  }
  return cli_fail(EXIT_USAGE,
                  "workflow %s needs the environment variable%s %s, which %s not set (or "
                  "empty): set %s (export NAME=...) and start again; nothing was recorded",
                  wfw_def_name(s->def), count == 1 ? "" : "s", names, count == 1 ? "is" : "are",
                  count == 1 ? "it" : "them");
}

/* The run --run-id names, looked at (read-only) before anything is written: whether
 * this start may use it, and its params that -p does not give again; a dry run also
 * counts what it has recorded, stage by stage. */
static int start_inspect(const cli_ctx *cli, struct start *s) {
  const char *run_id = s->run_id, *start_from = s->a.val[O_START_FROM];
  wf_store_opts peek;
  wf_store *st;
  cli_store_opts(WF_STORE_NOCREATE, &peek);
  const char *run_dir = s->a.val[O_RUN_DIR];
  int code = 0;
  if ((run_id || run_dir) && wf_store_open_ex(cli->home, &peek, &st) == 0) {
    if (run_id && wf_run_info_get(st, run_id, &s->existing) != 0) s->existing = NULL;
    if (s->existing && s->a.val[O_DRY] && (s->recorded = cJSON_CreateObject()))
      wf_steps_list(st, run_id, "", cli_count_recorded, s->recorded);
    int rc = run_dir && !s->existing ? wf_run_dir_check(st, run_id, run_dir, NULL, 0, NULL, 0)
                                     : 0;
    if (rc) code = cli_run_dir_refused(st, run_id, run_dir, rc);
    wf_store_close(st);
  }
  if (code) return code;
  const wf_run_info *r = s->existing;
  if (r && run_dir)
    return cli_fail(EXIT_USAGE,
                    "run %s exists already, with its folder %s: --run-dir is given when a run is "
                    "created (to put a run's results elsewhere: wf fork %s --from STAGE "
                    "--run-dir DIR)",
                    run_id, r->run_dir, run_id);
  if (!r && start_from)
    return cli_fail(EXIT_NOTFOUND,
                    "no run %s in %s: --start-from executes stages of a run that exists again "
                    "(see 'wf list-runs'); to start a new run, leave out --start-from",
                    run_id, cli->home);
  if (!r) return 0;
  if (strcmp(r->workflow, wfw_def_name(s->def)) != 0)
    return cli_fail(EXIT_USAGE, "run %s is a run of workflow \"%s\", not \"%s\"", run_id,
                    r->workflow, wfw_def_name(s->def));
  if (!start_from)
    return cli_fail(EXIT_USAGE,
                    "run %s already exists (%s). To continue it: wf resume %s; to execute "
                    "stages again: wf start %s --run-id %s --start-from STAGE",
                    run_id, wf_run_status_name(r->status), run_id, s->a.pos[0], run_id);
  merge_recorded_params(r, s->kv, &s->nkv, s->owned, &s->nowned);
  return 0;
}

/* A stage the plan leaves out that a stage it runs needs has a recorded output in the
 * run --run-id names: a stage never runs with its input missing. */
static int start_check_inputs(const cli_ctx *cli, const struct start *s) {
  wf_store_opts peek;
  wf_store *st = NULL;
  wfw_err err = {{0}};
  cli_store_opts(WF_STORE_NOCREATE, &peek);
  if (s->existing && wf_store_open_ex(cli->home, &peek, &st) != 0) st = NULL;
  int rc = wfw_plan_check_inputs(s->plan, st, st ? s->run_id : NULL, &err);
  wf_store_close(st);
  if (rc == WF_EINVAL) return cli_fail(EXIT_USAGE, "%s; nothing was recorded", err.msg);
  char why[8192];
  if (rc) return cli_fail(EXIT_STORE, "cannot read run %s: %s", s->run_id,
                          cli_store_why(rc, why, sizeof why));
  return 0;
}

/* The params bound and the plan made, with at least one stage selected, and the inputs
 * of what it runs there. */
static int start_plan(const cli_ctx *cli, struct start *s) {
  const cli_args *a = &s->a;
  wfw_err err = {{0}};
  int rc = wfw_bind_params(s->def, s->kv, (size_t)s->nkv, &s->params, &s->params_len, &err);
  if (rc == 0)
    rc = wfw_plan_new(s->def, s->params, s->params_len, a->val[O_ONLY], a->val[O_SKIP],
                      a->val[O_START_FROM], a->val[O_TO], &s->plan, &err);
  if (rc == 0) rc = wfw_plan_set_home(s->plan, cli->home);
  if (rc == 0) rc = wfw_plan_set_force(s->plan, a->val[O_FORCE], &err);
  if (rc) return cli_fail(EXIT_USAGE, "%s", err.msg[0] ? err.msg : wf_strerror(rc));
  wfw_plan_stage_info info;
  for (uint32_t i = 0; i < wfw_plan_nstages(s->plan); i++) {
    wfw_plan_stage(s->plan, i, &info);
    if (info.selected) return start_check_inputs(cli, s);
  }
  return cli_fail(EXIT_USAGE, "nothing to run: --only/--skip/--to leave no stage selected");
}

/* Record the run, new or existing (then for its stages to execute again), as this
 * process's: *run, and the verb the progress says. */
static int start_claim(const struct start *s, wf_store *st, wf_run **run, const char **verb) {
  const cli_args *a = &s->a;
  wfw_run_opts spec = {0};
  spec.run_id = s->run_id;
  spec.params = s->params;
  spec.params_len = s->params_len;
  spec.window = s->window;
  spec.continue_on_error = a->val[O_COE] != NULL;
  spec.only = a->val[O_ONLY];
  spec.skip = a->val[O_SKIP];
  spec.start_from = a->val[O_START_FROM];
  spec.to = a->val[O_TO];
  int rc;
  if (s->existing) {
    wf_owner owner;
    *verb = "restarted";
    rc = wfw_run_restart(st, s->def, &spec, run, &owner);
    if (rc == WF_EBUSY) return busy(s->run_id, &owner);
  } else {
    *verb = "started";
    spec.run_dir = a->val[O_RUN_DIR];
    rc = wfw_run_create(st, s->def, &spec, run);
    if (spec.run_dir && (rc == WF_EBUSY || rc == WF_EEXIST || rc == WF_EINVAL) &&
        (rc = wf_run_dir_check(st, s->run_id, spec.run_dir, NULL, 0, NULL, 0)) != 0)
      return cli_run_dir_refused(st, s->run_id, spec.run_dir, rc);
    if (rc == WF_EEXIST)
      return cli_fail(EXIT_USAGE, "run %s was created meanwhile by another process", s->run_id);
  }
  char why[8192];
  if (rc)
    return cli_fail(cli_exit_for(rc), "cannot record run: %s",
                    cli_store_why(rc, why, sizeof why));
  return 0;
}

/* The checks made before the run, then (in the background with --detach) the run
 * recorded and executed. */
static int start_run(cli_ctx *cli, const struct start *s) {
  int report_fd = -1;
  wf_store *st = NULL;
  wf_run *run = NULL;
  const char *verb;
  int code = check_first(s->plan, s->run_id, s->existing != NULL);
  if (code) return code;
  if (s->a.val[O_DETACH] && (code = detach(&report_fd)) >= 0) return code; /* the parent */
  code = cli_open_store(cli, &st);
  if (code == 0) code = start_claim(s, st, &run, &verb);
  if (code == 0) {
    report_started(&report_fd, st, wf_run_id(run));
    code = cli_execute(cli, st, run, s->plan, s->window, s->a.val[O_COE] != NULL, verb,
                   wfw_def_name(s->def));
  }
  wf_run_close(run);
  if (report_fd >= 0) close(report_fd);
  wf_store_close(st);
  return code;
}

int cmd_start(cli_ctx *cli, int argc, char **argv) {
  struct start s = {0};
  int code = cli_parse(cli, "start", argc, argv, cli_start_opts, &s.a);
  if (code) return code;
  if (s.a.help) return cli_help_command(stdout, "start");
  if ((code = start_args(&s)) == 0 && (code = start_env(&s)) == 0 &&
      (code = start_inspect(cli, &s)) == 0 &&
      (code = start_plan(cli, &s)) == 0) {
    if (s.a.val[O_DRY])
      print_dry_run(s.def, s.plan, s.existing, s.recorded);
    else
      code = start_run(cli, &s);
  }
  start_clear(&s);
  return code;
}

/* Where the definition of run r is read from now: its recorded path, or for a run
 * recorded without one its workflow's name, resolved as `wf start` does. */
static int def_file(const wf_run_info *r, char *path, size_t cap, wfw_err *err) {
  if (r->def_path[0]) {
    snprintf(path, cap, "%s", r->def_path);
    return 0;
  }
  return wfw_resolve(r->workflow, path, cap, err);
}

/* Whether the file at path holds other text than `text`: 1, or 0 when it is the same or
 * cannot be read (then there is nothing to compare). */
static int file_differs(const char *path, const char *text) {
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  size_t n = strlen(text), got = 0;
  char buf[8192];
  int differs = 0;
  for (size_t k; !differs && (k = fread(buf, 1, sizeof buf, f)) > 0; got += k)
    differs = got + k > n || memcmp(buf, text + got, k) != 0;
  int err = ferror(f);
  fclose(f);
  return !err && (differs || got != n);
}

/* The definition of run r as its file holds it now (resume --reload), its recorded
 * params bound against it, and the plan of its recorded selection. */
static int reload_def(const cli_ctx *cli, const wf_run_info *r, wfw_def **def,
                      uint8_t **params, size_t *params_len, wfw_plan **plan) {
  wfw_err err = {{0}};
  char path[4096];
  int rc = def_file(r, path, sizeof path, &err);
  if (rc == 0) rc = wfw_load(path, def, &err);
  if (rc)
    return cli_fail(rc == WF_ENOTFOUND ? EXIT_NOTFOUND : EXIT_USAGE,
                    "run %s: --reload cannot load its definition: %s; nothing was recorded "
                    "(without --reload, wf resume %s runs the definition it recorded)",
                    r->id, err.msg, r->id);
  if (strcmp(wfw_def_name(*def), r->workflow) != 0)
    return cli_fail(EXIT_USAGE,
                    "run %s: %s now defines workflow \"%s\", not \"%s\"; --reload takes only a "
                    "definition of the run's own workflow (nothing was recorded)",
                    r->id, path, wfw_def_name(*def), r->workflow);
  const char *kv[CLI_MAX_ARGS];
  char *owned[CLI_MAX_ARGS];
  int nkv = 0, nowned = 0;
  merge_recorded_params(r, kv, &nkv, owned, &nowned);
  rc = wfw_bind_params(*def, kv, (size_t)nkv, params, params_len, &err);
  for (int i = 0; i < nowned; i++) free(owned[i]);
  if (rc == 0)
    rc = wfw_plan_new(*def, *params, *params_len, r->only, r->skip, r->start_from, r->to, plan,
                      &err);
  if (rc == 0) rc = wfw_plan_set_home(*plan, cli->home);
  if (rc)
    return cli_fail(EXIT_USAGE, "run %s: --reload: its recorded params or stage selection do "
                               "not fit the definition %s: %s; nothing was recorded",
                    r->id, path, err.msg);
  return 0;
}

/* The recorded definition of run r, and the plan of its recorded params and selection.
 * Warns when its file has changed since. */
static int recorded_def(const cli_ctx *cli, const wf_run_info *r, wfw_def **def,
                        wfw_plan **plan) {
  wfw_err err = {{0}};
  char path[4096];
  if (def_file(r, path, sizeof path, &err) == 0 && file_differs(path, r->def_text))
    fprintf(stderr, "wf: warning: %s has changed since run %s recorded its definition; this "
                    "resume runs the recorded one. To run the file as it is now: wf resume %s "
                    "--reload (steps whose input changed run again, the others are reused)\n",
            path, r->id, r->id);
  int rc = wfw_parse(r->def_text, strlen(r->def_text), r->def_path[0] ? r->def_path : r->workflow,
                     def, &err);
  if (rc == 0)
    rc = wfw_plan_new(*def, r->params, r->params_len, r->only, r->skip, r->start_from, r->to,
                      plan, &err);
  if (rc == 0) rc = wfw_plan_set_home(*plan, cli->home);
  if (rc)
    return cli_fail(EXIT_USAGE, "run %s: its recorded definition no longer loads: %s", r->id,
                    err.msg);
  return 0;
}

/* Resume one run: its recorded definition, params and selection, or with `reload` its
 * definition file as it is now. flags: WF_RESUME_*. */
static int resume_one(cli_ctx *cli, wf_store *st, const char *run_id, uint32_t window,
                      unsigned flags, int skip_busy, int reload) {
  wf_run_info *r = NULL;
  char why[8192];
  int rc = wf_run_info_get(st, run_id, &r);
  if (rc == WF_ENOTFOUND)
    return cli_fail(EXIT_NOTFOUND, "no run %s in %s (see 'wf list-runs')", run_id, cli->home);
  if (rc == WF_ECORRUPT)
    return cli_fail(EXIT_STORE, "cannot read run %s: %s", run_id, wf_strerror(rc));
  if (rc)
    return cli_fail(EXIT_STORE, "cannot read the store: %s", cli_store_why(rc, why, sizeof why));
  int code = EXIT_OK;
  wfw_def *def = NULL;
  wfw_plan *plan = NULL;
  uint8_t *params = NULL;
  size_t params_len = 0;
  wf_run *run = NULL;
  if (r->recorded_status == WF_RUN_SUCCEEDED) {
    code = cli_fail(EXIT_USAGE, "run %s already succeeded; nothing to resume (to execute stages "
                               "again: wf start %s --run-id %s --start-from STAGE)",
                    run_id, r->workflow, run_id);
    goto out;
  }
  if (!r->def_text[0]) {
    code = cli_fail(EXIT_USAGE, "run %s was recorded through the C API (wf_run_begin) without a "
                               "workflow definition; continue it from the program that made it",
                    run_id);
    goto out;
  }
  code = reload ? reload_def(cli, r, &def, &params, &params_len, &plan)
                : recorded_def(cli, r, &def, &plan);
  if (code) goto out;
  wf_owner owner;
  rc = reload ? wfw_run_reload(st, def, run_id, params, params_len, flags, &run, &owner)
              : wf_run_resume(st, run_id, flags, &run, &owner);
  if (rc == WF_EBUSY && skip_busy) {
    /* --all: another process took it since the list was read; it is in good hands. */
    fprintf(stderr, "wf: run %s is being resumed by pid %d on %s; skipped\n", run_id,
            (int)owner.pid, owner.host);
    code = EXIT_OK;
    goto out;
  }
  if (rc == WF_EBUSY) {
    code = busy(run_id, &owner);
    goto out;
  }
  if (rc == WF_ESTATE) {
    code = cli_fail(EXIT_USAGE, "run %s is %s and cannot be resumed", run_id,
                    wf_run_status_name(r->recorded_status));
    goto out;
  }
  if (rc) {
    code = cli_fail(cli_exit_for(rc), "cannot take over run %s: %s", run_id,
                    cli_store_why(rc, why, sizeof why));
    goto out;
  }
  if (owner.alive)
    fprintf(stderr, "wf: warning: run %s was owned by pid %d on %s (last heartbeat %llds ago); "
                    "taken over. Steps it had in flight may still finish; when it runs again it "
                    "kills them, records nothing more and exits\n",
            run_id, (int)owner.pid, owner.host,
            (long long)((cli_now_ms() - owner.heartbeat) / 1000));
  code = cli_execute(cli, st, run, plan, window, 0, "resumed", r->workflow);
out:
  wf_run_close(run);
  wfw_plan_free(plan);
  wfw_def_free(def);
  free(params);
  wf_run_info_free(r);
  return code;
}

struct id_list {
  char **ids;
  size_t n, cap;
};

static int collect_id(void *ud, const wf_run_info *r) {
  struct id_list *l = ud;
  if (r->read_error) return 0;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    char **p = realloc(l->ids, cap * sizeof *p);
    if (!p) return WF_ENOMEM;
    l->ids = p;
    l->cap = cap;
  }
  l->ids[l->n++] = strdup(r->id);
  return 0;
}

int cmd_resume(cli_ctx *cli, int argc, char **argv) {
  cli_args a;
  int code = cli_parse(cli, "resume", argc, argv, cli_resume_opts, &a);
  if (code) return code;
  if (a.help) return cli_help_command(stdout, "resume");
  uint32_t window;
  if (cli_parse_window(a.val[O_WINDOW], &window)) return EXIT_USAGE;
  if ((a.npos == 1) == (a.val[O_ALL] != NULL))
    return cli_fail(EXIT_USAGE, "resume needs one run id or --all (see 'wf resume --help')");
  if (a.val[O_FORCE] && a.npos != 1)
    return cli_fail(EXIT_USAGE, "--force takes one run id, not --all: take stuck runs over one "
                               "at a time");
  if (a.val[O_RELOAD] && a.npos != 1)
    return cli_fail(EXIT_USAGE, "--reload takes one run id, not --all: reload definitions one "
                               "run at a time");
  if (a.npos == 1 && wf_run_id_check(a.pos[0]) != 0)
    return cli_bad_id("run id", a.pos[0]);
  wf_store *st = NULL;
  if ((code = cli_open_existing(cli, &st)) != 0) return code;
  if (a.npos == 1) {
    unsigned flags = WF_RESUME_CANCELED | (a.val[O_FORCE] ? WF_RESUME_FORCE : 0);
    char id[WF_MAX_RUN_ID + 1];
    code = cli_run_ref(cli, st, a.pos[0], id, sizeof id);
    if (code == 0) code = resume_one(cli, st, id, window, flags, 0, a.val[O_RELOAD] != NULL);
    wf_store_close(st);
    return code;
  }
  /* --all: runs recorded as running whose owner is gone, when their turn comes. */
  struct id_list l = {0};
  wf_run_filter running = {0};
  running.statuses = 1u << WF_RUN_RUNNING | 1u << WF_RUN_INTERRUPTED;
  running.oldest_first = 1;
  wf_runs_list(st, &running, collect_id, &l);
  int resumed = 0;
  for (size_t i = 0; i < l.n; i++) {
    wf_run_info *r = NULL;
    int interrupted = l.ids[i] && wf_run_info_get(st, l.ids[i], &r) == 0 &&
                      r->status == WF_RUN_INTERRUPTED;
    wf_run_info_free(r);
    if (interrupted) {
      int c = resume_one(cli, st, l.ids[i], window, 0, 1, 0);
      resumed++;
      if (c > code && c != EXIT_DEGRADED) code = c;
      else if (c == EXIT_DEGRADED && code == EXIT_OK) code = c;
      if (c == EXIT_SIGNAL) break;
    }
  }
  for (size_t i = 0; i < l.n; i++) free(l.ids[i]);
  free(l.ids);
  if (!resumed && cli->format != FMT_JSON) printf("no interrupted runs to resume\n");
  wf_store_close(st);
  return code;
}
