/* cmd_doctor.c — `wf doctor [WORKFLOW]`: what a run needs and what can go wrong before it
 * does, each finding with what to do. The store's facts come from wf_store_health_get;
 * the workflow's from the workflows layer. Exit 0 when nothing is wrong, 1 otherwise. */
#define _DEFAULT_SOURCE /* realpath */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define OPEN_FILES_MIN 256                    /* below this, steps wait for descriptors */
#define DISK_FREE_MIN ((uint64_t)64 << 20)    /* room for the store to grow at all */
#define LIST_MAX 10                           /* names listed in one finding */

enum level { L_OK, L_NOTE, L_PROBLEM };
static const char *const level_names[] = {"ok", "note", "problem"};

struct doctor {
  cli_ctx *cli;
  cJSON *findings;       /* -o json: collected, printed at the end */
  int problems;
};

/* One finding: printed at once in a table, or kept for the JSON. `fix` may be NULL. */
static void report(struct doctor *d, int level, const char *check, const char *fix,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void report(struct doctor *d, int level, const char *check, const char *fix,
                   const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (level == L_PROBLEM) d->problems++;
  if (d->findings) {
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "check", check);
    cJSON_AddStringToObject(f, "level", level_names[level]);
    cJSON_AddStringToObject(f, "message", msg);
    if (fix) cJSON_AddStringToObject(f, "fix", fix);
    cJSON_AddItemToArray(d->findings, f);
    return;
  }
  printf("%-8s %-10s %s\n", level == L_PROBLEM ? "PROBLEM" : level_names[level], check, msg);
  if (fix) printf("%-8s %-10s what to do: %s\n", "", "", fix);
}

static void human_bytes(uint64_t n, char *buf, size_t cap) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = (double)n;
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, u++;
  snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

/* ---- the store ---------------------------------------------------------------------- */

/* What to do when the store cannot be opened, by why. */
static const char *open_fix(int rc) {
  switch (rc) {
  case WF_EACCES: return "run wf as the user who owns the store, or give that user access "
                         "to it (ls -l shows the owner), or use another store (--home)";
  case WF_EROFS: return "remount its file system read-write, or use another store (--home)";
  case WF_ESCHEMA: return "use the newer wf that wrote it";
  case WF_ENOTSTORE: return "point --home (or WF_HOME) at a wf store, or move this folder away";
  case WF_ECORRUPT: return "restore the store from a backup, or move it away and start anew";
  case WF_EREADERS: return "stop some of the processes that have the store open, or raise "
                           "WF_MAX_READERS (it takes effect once no process has it open)";
  case WF_ENOSPC: return "free space on the disk that holds it";
  default: return "see the message; check the disk (dmesg) and the store's folder";
  }
}

static void check_health(struct doctor *d, wf_store *st) {
  wf_store_health h;
  char why[8192], a[32], b[32];
  int rc = wf_store_health_get(st, &h);
  if (rc) {
    report(d, L_PROBLEM, "store", open_fix(rc), "cannot read the store's facts: %s",
           cli_store_why(rc, why, sizeof why));
    return;
  }
  if (h.writable) {
    report(d, L_OK, "store", NULL, "readable and writable");
  } else {
    char fix[4400];
    snprintf(fix, sizeof fix, "%s", h.unwritable_errno == EROFS ? open_fix(WF_EROFS)
                                                                 : open_fix(WF_EACCES));
    report(d, L_PROBLEM, "store", fix, "readable, but %s cannot be written: %s", h.unwritable,
           strerror(h.unwritable_errno));
  }
  if (h.schema < h.schema_current)
    report(d, L_NOTE, "schema", "open it once with this wf where it can be written",
           "schema %u, older than this wf's %u (it reads it)", h.schema, h.schema_current);
  else
    report(d, L_OK, "schema", NULL, "schema %u%s%s", h.schema,
           h.created_by[0] ? ", created by wf " : "", h.created_by);
  human_bytes(h.disk_free_bytes, a, sizeof a);
  human_bytes(h.data_bytes, b, sizeof b);
  if (h.disk_free_bytes < h.data_bytes || h.disk_free_bytes < DISK_FREE_MIN)
    report(d, L_PROBLEM, "disk",
           "free space on that disk, or delete runs that are no longer needed",
           "%s free on the disk holding the store, which takes %s: a run may stop for want "
           "of room", a, b);
  else
    report(d, L_OK, "disk", NULL, "%s free, the store takes %s", a, b);
  human_bytes(h.map_cap_bytes, a, sizeof a);
  if (h.used_bytes > h.map_cap_bytes / 10 * 9)
    report(d, L_PROBLEM, "size", "raise WF_MAP_CAP_MB, or delete runs that are no longer "
                                 "needed", "the store uses %.0f%% of its size cap (%s)",
           100.0 * (double)h.used_bytes / (double)h.map_cap_bytes, a);
  if (h.readers_used >= h.readers_max / 10 * 9)
    report(d, L_PROBLEM, "readers", open_fix(WF_EREADERS),
           "%u of %u reader slots are taken: more processes opening the store will fail",
           h.readers_used, h.readers_max);
  else
    report(d, L_OK, "readers", NULL, "%u of %u reader slots in use", h.readers_used,
           h.readers_max);
  if (h.readers_stale)
    report(d, L_NOTE, "readers", "nothing: they were cleared; if it happens often, look for "
                                 "wf processes being killed",
           "%u reader slot%s of processes that died without closing the store %s cleared",
           h.readers_stale, h.readers_stale == 1 ? "" : "s",
           h.readers_stale == 1 ? "was" : "were");
}

struct listed {
  char *ids[LIST_MAX];
  int n, total, unreadable;
};

static int collect(void *ud, const wf_run_info *r) {
  struct listed *l = ud;
  if (r->read_error) {
    l->unreadable++;
    return 0;
  }
  if (l->n < LIST_MAX) l->ids[l->n++] = strdup(r->id);
  l->total++;
  return 0;
}

static void join(char *buf, size_t cap, char *const *names, int n, int total) {
  size_t at = 0;
  buf[0] = '\0';
  for (int i = 0; i < n && at < cap; i++) {
    int k = snprintf(buf + at, cap - at, "%s%s", i ? ", " : "", names[i]);
    if (k > 0) at += (size_t)k;
  }
  if (total > n && at < cap) snprintf(buf + at, cap - at, " and %d more", total - n);
}

static void check_interrupted(struct doctor *d, wf_store *st) {
  struct listed l = {{0}, 0, 0, 0};
  wf_run_filter f = {0};
  char why[8192], names[2048];
  f.statuses = 1u << WF_RUN_INTERRUPTED;
  int rc = wf_runs_list(st, &f, collect, &l);
  join(names, sizeof names, l.ids, l.n, l.total);
  for (int i = 0; i < l.n; i++) free(l.ids[i]);
  if (rc)
    report(d, L_PROBLEM, "runs", open_fix(rc), "cannot list the runs: %s",
           cli_store_why(rc, why, sizeof why));
  else if (l.total)
    report(d, L_PROBLEM, "runs", "wf resume --all (or wf cancel-run ID for those not wanted)",
           "%d interrupted run%s (%s process is gone) wait%s to be resumed: %s", l.total,
           l.total == 1 ? "" : "s", l.total == 1 ? "its" : "their", l.total == 1 ? "s" : "",
           names);
  else
    report(d, L_OK, "runs", NULL, "no interrupted run");
  if (l.unreadable)
    report(d, L_PROBLEM, "runs", "wf list-runs names them; restore the store from a backup",
           "%d run record%s cannot be read", l.unreadable, l.unreadable == 1 ? "" : "s");
}

/* Folders of runs/ and logs/ whose run has no record (a crash between deleting a run's
 * records and its files, or files copied in by hand). */
static void check_orphans(struct doctor *d, wf_store *st) {
  static const char *const dirs[] = {"runs", "logs"};
  char *found[LIST_MAX];
  int n = 0, total = 0;
  for (size_t k = 0; k < sizeof dirs / sizeof dirs[0]; k++) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", wf_store_home(st), dirs[k]);
    DIR *dir = opendir(path);
    if (!dir) continue;
    struct dirent *e;
    while ((e = readdir(dir))) {
      wf_run_info *r = NULL;
      if (e->d_name[0] == '.' || wf_run_id_check(e->d_name) != 0) continue;
      if (wf_run_info_get(st, e->d_name, &r) != WF_ENOTFOUND) {
        wf_run_info_free(r);
        continue;
      }
      char rel[PATH_MAX];
      snprintf(rel, sizeof rel, "%s/%s/%s", wf_store_home(st), dirs[k], e->d_name);
      if (n < LIST_MAX) found[n++] = strdup(rel);
      total++;
    }
    closedir(dir);
  }
  if (!total) {
    report(d, L_OK, "orphans", NULL, "every run folder and log belongs to a run");
    return;
  }
  char names[8192], fix[8400];
  join(names, sizeof names, found, n, total);
  snprintf(fix, sizeof fix, "look at them, and remove those not wanted: rm -r %s%s",
           found[0], total > 1 ? " ..." : "");
  for (int i = 0; i < n; i++) free(found[i]);
  report(d, L_PROBLEM, "orphans", fix, "%d folder%s without a run record: %s", total,
         total == 1 ? "" : "s", names);
}

/* The store in use: open it when it exists, and look at it. */
static void check_store(struct doctor *d) {
  const char *home = d->cli->home;
  char data[PATH_MAX], why[8192];
  struct stat sb;
  if (cli_check_home(d->cli)) {
    report(d, L_PROBLEM, "store", "point --home (or WF_HOME) at a folder",
           "%s is not a folder", home);
    return;
  }
  snprintf(data, sizeof data, "%s/store/data.mdb", home);
  if (stat(data, &sb) != 0) {
    report(d, L_NOTE, "store", NULL, "no store at %s yet: the first 'wf start' makes it", home);
    return;
  }
  wf_store_opts o;
  wf_store *st = NULL;
  cli_store_opts(WF_STORE_NOCREATE, &o);
  int rc = wf_store_open_ex(home, &o, &st);
  if (rc) {
    report(d, L_PROBLEM, "store", open_fix(rc), "cannot open the store: %s",
           cli_store_why(rc, why, sizeof why));
    return;
  }
  check_health(d, st);
  check_interrupted(d, st);
  check_orphans(d, st);
  wf_store_close(st);
}

static void check_open_files(struct doctor *d) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < OPEN_FILES_MIN)
    report(d, L_PROBLEM, "files", "raise it: ulimit -n 4096 (LimitNOFILE= in a systemd unit)",
           "a process may open %llu files (hard limit %llu): steps wait for descriptors",
           (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
  else
    report(d, L_OK, "files", NULL, "a process may open %llu files",
           (unsigned long long)rl.rlim_cur);
}

/* ---- a workflow -------------------------------------------------------------------- */

/* Where `prog` is found, as a start would find it: a path as given (from the current
 * folder), a name on PATH. 0 and the place in `at`, or -1. */
static int find_program(const char *prog, char *at, size_t cap) {
  struct stat sb;
  if (strchr(prog, '/')) {
    snprintf(at, cap, "%s", prog);
    return access(prog, X_OK) == 0 && stat(prog, &sb) == 0 && S_ISREG(sb.st_mode) ? 0 : -1;
  }
  const char *path = getenv("PATH");
  for (const char *p = path ? path : ""; *p || p == path;) {
    const char *colon = strchr(p, ':');
    size_t n = colon ? (size_t)(colon - p) : strlen(p);
    snprintf(at, cap, "%.*s%s%s", (int)n, p, n ? "/" : "", prog);
    if (access(at, X_OK) == 0 && stat(at, &sb) == 0 && S_ISREG(sb.st_mode)) return 0;
    if (!colon) break;
    p = colon + 1;
  }
  return -1;
}

static void check_programs(struct doctor *d, const wfw_def *def) {
  for (uint32_t i = 0; i < wfw_def_nstages(def); i++) {
    wfw_stage_info s;
    int has_cwd = 0, seen = 0;
    wfw_def_stage(def, i, &s);
    char *prog = wfw_def_stage_program(def, i, &has_cwd);
    if (!prog) {
      if (strcmp(s.kind, "run") == 0)
        report(d, L_NOTE, "program", NULL, "stage %s: its program is known only when it runs "
                                           "(it depends on params, items or outputs)", s.id);
      continue;
    }
    for (uint32_t k = 0; k < i && !seen; k++) { /* each program once */
      int c;
      char *other = wfw_def_stage_program(def, k, &c);
      seen = other && strcmp(other, prog) == 0 && !c && !has_cwd;
      free(other);
    }
    char at[PATH_MAX];
    if (seen) {
      free(prog);
      continue;
    }
    if (has_cwd && prog[0] != '/' && strchr(prog, '/')) {
      report(d, L_NOTE, "program", NULL, "stage %s runs %s from its \"cwd\": checked when it "
                                         "runs", s.id, prog);
    } else if (find_program(prog, at, sizeof at) == 0) {
      report(d, L_OK, "program", NULL, "stage %s runs %s (%s)", s.id, prog, at);
    } else if (strchr(prog, '/')) {
      report(d, L_PROBLEM, "program", "install it there, or fix the stage's \"run\"",
             "stage %s runs %s, which is not an executable file", s.id, prog);
    } else {
      report(d, L_PROBLEM, "program", "install it, or add its folder to PATH",
             "stage %s runs %s, which is not found on PATH", s.id, prog);
    }
    free(prog);
  }
}

static void check_env(struct doctor *d, const wfw_def *def) {
  for (uint32_t i = 0; i < wfw_def_nenv(def); i++) {
    const char *name = wfw_def_env(def, i), *v = getenv(name);
    char fix[256];
    snprintf(fix, sizeof fix, "export %s=... before 'wf start'", name);
    if (v && v[0]) report(d, L_OK, "env", NULL, "%s is set", name);
    else report(d, L_PROBLEM, "env", fix, "%s is not set (or empty): a start is refused", name);
  }
}

static void check_params(struct doctor *d, const wfw_def *def, const cli_args *a) {
  if (a->nmulti == 0) {
    for (uint32_t i = 0; i < wfw_def_nparams(def); i++) {
      wfw_param_info p;
      wfw_def_param(def, i, &p);
      if (p.required)
        report(d, L_NOTE, "params", NULL, "%s (%s) is required: give it as -p %s=...", p.name,
               p.type, p.name);
    }
    return;
  }
  wfw_err err = {{0}};
  uint8_t *params = NULL;
  size_t len = 0;
  if (wfw_bind_params(def, a->multi, (size_t)a->nmulti, &params, &len, &err) == 0)
    report(d, L_OK, "params", NULL, "the parameters given are valid");
  else
    report(d, L_PROBLEM, "params", "give the parameters as 'wf describe' lists them", "%s",
           err.msg);
  free(params);
}

/* The workflow: EXIT_OK after reporting, or the exit code when it cannot be found. */
static int check_workflow(struct doctor *d, const cli_args *a) {
  wfw_err err = {{0}};
  char path[4096];
  wfw_def *def = NULL;
  int rc = wfw_resolve(a->pos[0], path, sizeof path, &err);
  if (rc) return cli_fail(rc == WF_ENOTFOUND ? EXIT_NOTFOUND : EXIT_USAGE, "%s", err.msg);
  if ((rc = wfw_load(path, &def, &err)) != 0) {
    report(d, L_PROBLEM, "workflow", "fix the definition (see docs/workflows.md)", "%s",
           err.msg);
    return EXIT_OK;
  }
  report(d, L_OK, "workflow", NULL, "%s (%s) is valid", wfw_def_name(def), path);
  check_programs(d, def);
  check_env(d, def);
  check_params(d, def, a);
  wfw_def_free(def);
  return EXIT_OK;
}

int cmd_doctor(cli_ctx *cli, int argc, char **argv) {
  cli_args a;
  int code = cli_parse(cli, "doctor", argc, argv, cli_doctor_opts, &a);
  if (code) return code;
  if (a.help) return cli_help_command(stdout, "doctor");
  if (a.npos > 1) return cli_fail(EXIT_USAGE, "doctor takes at most one workflow");
  if (a.nmulti && !a.npos) return cli_fail(EXIT_USAGE, "doctor: -p goes with a workflow");
  if ((code = cli_check_format(cli, "doctor", CLI_TAKES(FMT_TABLE) | CLI_TAKES(FMT_JSON))))
    return code;
  struct doctor d = {cli, cli->format == FMT_JSON ? cJSON_CreateArray() : NULL, 0};
  char abs[PATH_MAX];
  const char *store = realpath(cli->home, abs) ? abs : cli->home;
  char why[4400];
  cli_home_reason(cli, why, sizeof why);
  if (!d.findings) printf("store: %s (%s)\n", store, why);
  check_store(&d);
  check_open_files(&d);
  if (a.npos && (code = check_workflow(&d, &a)) != EXIT_OK) {
    cJSON_Delete(d.findings);
    return code;
  }
  if (d.findings) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "store", store);
    cJSON_AddStringToObject(o, "store_reason", why);
    cJSON_AddBoolToObject(o, "ok", d.problems == 0);
    cJSON_AddNumberToObject(o, "problems", d.problems);
    cJSON_AddItemToObject(o, "findings", d.findings);
    cli_print_json(o);
  } else {
    if (d.problems) printf("%d problem%s found\n", d.problems, d.problems == 1 ? "" : "s");
    else printf("no problem found\n");
  }
  return d.problems ? EXIT_FAILED : EXIT_OK;
}
