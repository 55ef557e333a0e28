/* cmd_runs.c — `wf show-run` and `wf list-runs`: reading runs without changing them. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char show_usage[] =
    "usage: wf show-run <run-id> [--history] [-o table|json]\n"
    "\n"
    "A run's status, parameters, where its files are, and each step: status, attempts,\n"
    "duration and error. -o json adds step outputs.\n"
    "\n"
    "options:\n"
    "  --history             also every recorded event (attempts, retries, timeouts)\n";

static const char list_usage[] =
    "usage: wf list-runs [--status S,..] [--workflow W] [--since T] [--until T] [--limit N]\n"
    "                    [-o table|json|ids]\n"
    "\n"
    "Runs, newest first.\n"
    "\n"
    "options:\n"
    "  --status S,..         runs in any of these statuses: pending, running, succeeded,\n"
    "                        failed, degraded, canceled, interrupted (running, but its\n"
    "                        process is gone); e.g. --status failed,canceled\n"
    "  --workflow W          runs of workflow W only\n"
    "  --since T             created at or after T\n"
    "  --until T             created before T\n"
    "  --limit N             at most N runs (default 100; 0 for all)\n"
    "\n"
    "T is today or yesterday (from 00:00 UTC), now, an age such as 30m, 12h, 3d or 1w\n"
    "(that long ago), or an ISO date or time: 2026-05-01, 2026-05-01T14:30[:00] (UTC),\n"
    "2026-05-01T14:30+02:00. A run id prefix is taken wherever a run id is.\n";

struct table_ctx {
  int any;
  int unreadable;
  char names[256];        /* the first unreadable step keys, for the message */
  int color;
  unsigned tails, more_tails; /* failed steps whose stderr tail was shown, and not */
};

static void note_unreadable(int *count, char *names, size_t cap, const char *key) {
  size_t n = strlen(names);
  if (n + strlen(key) + 3 < cap) snprintf(names + n, cap - n, "%s%s", n ? ", " : "", key);
  ++*count;
}

/* Under a failed step's row, the last lines it wrote to stderr: for the first
 * CLI_TAIL_STEPS such steps; tail_note says where the others' are. */
static void print_failed_tail(struct table_ctx *c, const wf_step_info *s) {
  if (s->status != WF_STEP_FAILED || !s->stderr_tail || !s->stderr_tail[0]) return;
  if (c->tails >= CLI_TAIL_STEPS) {
    c->more_tails++;
    return;
  }
  if (cli_print_stderr_tail(stdout, s->stderr_tail, "    ", c->color ? "\033[2m" : "",
                            c->color ? "\033[0m" : "") > 0)
    c->tails++;
}

static void print_tail_note(const struct table_ctx *c, const char *run_id) {
  if (c->more_tails)
    printf("    (%u more failed step%s wrote to stderr: wf logs %s --step KEY)\n",
           c->more_tails, c->more_tails == 1 ? "" : "s", run_id);
}

static int print_step_row(void *ud, const wf_step_info *s) {
  struct table_ctx *c = ud;
  if (s->status == WF_STEP_UNREADABLE)
    note_unreadable(&c->unreadable, c->names, sizeof c->names, s->key);
  if (!c->any) {
    printf("\n%-40s %-10s %7s %9s  %s\n", "STEP", "STATUS", "ATTEMPT", "DURATION", "ERROR");
    c->any = 1;
  }
  char dur[32] = "-";
  if (s->started_at && s->finished_at)
    cli_duration((double)(s->finished_at - s->started_at) / 1000.0, dur, sizeof dur);
  char err[121] = "";
  if (s->error) {
    snprintf(err, sizeof err, "%s", s->error);
    for (char *p = err; *p; p++)
      if (*p == '\n') *p = ' ';
  }
  printf("%-40s %-10s %7u %9s  %s\n", s->key, wf_step_status_name(s->status), s->attempt, dur, err);
  print_failed_tail(c, s);
  return 0;
}

static int print_event_row(void *ud, const wf_event_info *e) {
  struct table_ctx *c = ud;
  if (!c->any) {
    printf("\n%-6s %-23s %-16s %-30s %s\n", "SEQ", "TIME", "EVENT", "STEP", "DETAIL");
    c->any = 1;
  }
  char tm[40];
  cli_time_iso(e->time, tm, sizeof tm);
  char att[16] = "";
  if (e->attempt) snprintf(att, sizeof att, "#%u ", e->attempt);
  printf("%-6llu %-23s %-16s %-30s %s%s\n", (unsigned long long)e->seq, tm,
         wf_event_type_name(e->type), e->step_key ? e->step_key : "-", att,
         e->detail ? e->detail : "");
  return 0;
}

static int print_run_table(const cli_ctx *cli, wf_store *st, const wf_run_info *r,
                           int history, char *names, size_t cap) {
  char tm[40], why[4400];
  int color = cli->color;
  printf("run       %s\n", r->id);
  printf("workflow  %s\n", r->workflow);
  char note[256];
  printf("status    %s", wf_run_status_name(r->status));
  if (cli_owner_note(r, note, sizeof note)) printf(" (%s)", note);
  printf("\n");
  cli_time_human(r->created_at, tm, sizeof tm);
  printf("created   %s UTC\n", tm);
  if (r->finished_at) {
    char dur[32];
    cli_duration((double)(r->finished_at - r->started_at) / 1000.0, dur, sizeof dur);
    cli_time_human(r->finished_at, tm, sizeof tm);
    printf("finished  %s UTC (last execution took %s)\n", tm, dur);
  }
  if (r->generation) printf("generation %u\n", r->generation);
  printf("dir       %s\n", r->run_dir);
  printf("store     %s (%s)\n", wf_store_home(st), cli_home_reason(cli, why, sizeof why));
  cJSON *p = NULL;
  if (r->params && wfa_mp_to_json(r->params, r->params_len, &p) == 0 && p && p->child) {
    printf("params   ");
    for (cJSON *e = p->child; e; e = e->next) {
      char *v = cJSON_IsString(e) ? NULL : cJSON_PrintUnformatted(e);
      printf(" %s=%s", e->string, v ? v : e->valuestring);
      free(v);
    }
    printf("\n");
  }
  cJSON_Delete(p);
  if (r->start_from || r->only || r->skip || r->to)
    printf("selection%s%s%s%s%s%s%s%s\n", r->start_from ? " --start-from " : "",
           r->start_from ? r->start_from : "", r->only ? " --only " : "", r->only ? r->only : "",
           r->skip ? " --skip " : "", r->skip ? r->skip : "", r->to ? " --to " : "",
           r->to ? r->to : "");
  printf("steps    ");
  uint64_t total = 0;
  for (int i = 0; i < WF_STEP_NSTATUS; i++) total += r->counts[i];
  printf(" %llu", (unsigned long long)total);
  for (int i = 0; i < WF_STEP_NSTATUS; i++)
    if (r->counts[i]) printf(", %s %llu", wf_step_status_name(i), (unsigned long long)r->counts[i]);
  printf("\n");
  if (r->error) printf("error     %s\n", r->error);
  struct table_ctx c = {0};
  c.color = color;
  wf_steps_list(st, r->id, "", print_step_row, &c);
  print_tail_note(&c, r->id);
  int unreadable = c.unreadable;
  snprintf(names, cap, "%s", c.names);
  if (history) {
    c.any = 0;
    wf_events_list(st, r->id, 0, print_event_row, &c);
  }
  return unreadable;
}

static int count_unreadable(const cJSON *run, char *names, size_t cap) {
  int n = 0;
  const cJSON *s;
  cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(run, "steps")) {
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(s, "status");
    const cJSON *key = cJSON_GetObjectItemCaseSensitive(s, "key");
    if (cJSON_IsString(st) && strcmp(st->valuestring, "unreadable") == 0 && cJSON_IsString(key))
      note_unreadable(&n, names, cap, key->valuestring);
  }
  return n;
}

int cmd_show_run(cli_ctx *cli, int argc, char **argv) {
  cli_args a;
  int code = cli_parse(cli, "show-run", argc, argv, cli_show_opts, &a);
  if (code) return code;
  if (a.help) return fputs(show_usage, stdout), EXIT_OK;
  if (a.npos != 1) return cli_fail(EXIT_USAGE, "show-run needs one run id (see 'wf list-runs')");
  if (wf_run_id_check(a.pos[0]) != 0)
    return cli_bad_id("run id", a.pos[0]);
  if (cli->format == FMT_IDS) return cli_fail(EXIT_USAGE, "show-run prints table or json");
  wf_store *st = NULL;
  if ((code = cli_open_existing(cli, &st)) != 0) return code;
  char id[WF_MAX_RUN_ID + 1];
  if ((code = cli_run_ref(cli, st, a.pos[0], id, sizeof id)) != 0) {
    wf_store_close(st);
    return code;
  }
  wf_run_info *r = NULL;
  int rc = wf_run_info_get(st, id, &r);
  if (rc == WF_ENOTFOUND) {
    code = cli_fail(EXIT_NOTFOUND, "no run %s in %s (see 'wf list-runs')", id, cli->home);
  } else if (rc == WF_ECORRUPT || rc == WF_EINVAL) {
    code = cli_fail(EXIT_STORE, "run %s cannot be read: %s", id, wf_strerror(rc));
  } else if (rc) {
    char why[8192];
    code = cli_fail(EXIT_STORE, "cannot read the store: %s", cli_store_why(rc, why, sizeof why));
  } else {
    int unreadable;
    char names[256] = "";
    if (cli->format == FMT_JSON) {
      cJSON *j = cli_run_json(st, r, 1, a.val[O_HISTORY] != NULL);
      unreadable = count_unreadable(j, names, sizeof names);
      cli_print_json(j);
    } else {
      unreadable = print_run_table(cli, st, r, a.val[O_HISTORY] != NULL, names,
                                   sizeof names);
    }
    if (unreadable)
      code = cli_fail(EXIT_STORE, "run %s: %d step record%s cannot be decoded (%s%s); the store "
                                 "is damaged", id, unreadable, unreadable == 1 ? "" : "s",
                      names, unreadable > 1 && strlen(names) > 200 ? ", ..." : "");
  }
  wf_run_info_free(r);
  wf_store_close(st);
  return code;
}

struct list_ctx {
  cli_ctx *cli;
  long shown;
  cJSON *json;
  int bad;
};

static int list_one(void *ud, const wf_run_info *r) {
  struct list_ctx *c = ud;
  if (r->read_error) {
    fprintf(stderr, "wf: run %s cannot be read: %s\n", r->id, wf_strerror(r->read_error));
    c->bad = 1;
    return 0;
  }
  uint64_t total = 0;
  for (int i = 0; i < WF_STEP_NSTATUS; i++) total += r->counts[i];
  if (c->cli->format == FMT_JSON) {
    cJSON_AddItemToArray(c->json, cli_run_json(NULL, r, 0, 0));
  } else if (c->cli->format == FMT_IDS) {
    printf("%s\n", r->id);
  } else {
    if (c->shown == 0)
      printf("%-32s %-16s %-11s %-19s %11s %9s\n", "RUN", "WORKFLOW", "STATUS", "CREATED (UTC)",
             "STEPS OK", "DURATION");
    char tm[40], dur[32] = "-", steps[32];
    cli_time_human(r->created_at, tm, sizeof tm);
    if (r->finished_at && r->started_at)
      cli_duration((double)(r->finished_at - r->started_at) / 1000.0, dur, sizeof dur);
    snprintf(steps, sizeof steps, "%llu/%llu", (unsigned long long)r->counts[WF_STEP_SUCCEEDED],
             (unsigned long long)total);
    printf("%-32s %-16s %-11s %-19s %11s %9s\n", r->id, r->workflow,
           wf_run_status_name(r->status), tm, steps, dur);
  }
  c->shown++;
  return 0;
}

int cmd_list_runs(cli_ctx *cli, int argc, char **argv) {
  cli_args a;
  int code = cli_parse(cli, "list-runs", argc, argv, cli_list_opts, &a);
  if (code) return code;
  if (a.help) return fputs(list_usage, stdout), EXIT_OK;
  if (a.npos) return cli_fail(EXIT_USAGE, "list-runs takes no arguments (did you mean --status?)");
  struct list_ctx c = {cli, 0, NULL, 0};
  wf_run_filter f = {0};
  f.workflow = a.val[O_WORKFLOW];
  f.limit = 100;
  if (a.val[O_STATUS] && cli_parse_statuses("--status", a.val[O_STATUS], &f.statuses))
    return EXIT_USAGE;
  if (cli_parse_window(a.val[O_SINCE], a.val[O_UNTIL], &f.since, &f.until)) return EXIT_USAGE;
  if (a.val[O_LIMIT]) {
    char *end;
    long limit = strtol(a.val[O_LIMIT], &end, 10);
    if (*end || limit < 0)
      return cli_fail(EXIT_USAGE, "--limit needs a number (0 for all), not \"%s\"", a.val[O_LIMIT]);
    f.limit = (size_t)limit;
  }
  wf_store *st = NULL;
  if (cli_check_home(cli)) return EXIT_STORE;
  wf_store_opts o;
  cli_store_opts(WF_STORE_NOCREATE, &o);
  int rc = wf_store_open_ex(cli->home, &o, &st);
  if (rc == WF_ENOTFOUND) {
    /* No store yet: no runs. Nothing is created by a read. */
    if (cli->format == FMT_JSON) printf("[]\n");
    else if (cli->format != FMT_IDS) printf("no runs in %s\n", cli->home);
    return EXIT_OK;
  }
  if (rc) return cli_open_existing(cli, &st);
  if (cli->format == FMT_JSON) c.json = cJSON_CreateArray();
  rc = wf_runs_list(st, &f, list_one, &c);
  if (rc && rc != WF_ECORRUPT && !c.shown && !c.bad) {
    /* Nothing could be read at all: say why instead of listing nothing. */
    char why[8192];
    cJSON_Delete(c.json);
    wf_store_close(st);
    return cli_fail(EXIT_STORE, "cannot read the store: %s", cli_store_why(rc, why, sizeof why));
  }
  if (c.json) cli_print_json(c.json);
  else if (c.shown == 0 && cli->format != FMT_IDS) printf("no runs match\n");
  wf_store_close(st);
  return rc < 0 ? EXIT_STORE : (c.bad ? EXIT_STORE : EXIT_OK);
}
