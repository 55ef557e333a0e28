/* cmd_runs.c — `wf show-run` and `wf list-runs`: reading runs without changing them. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct table_ctx {
  int any;
  int unreadable;
  char names[256];        /* the first unreadable step keys, for the message */
  int color;
  const cli_ctx *cli;
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
    printf("\n%-40s %-15s %7s %9s  %s\n", "STEP", "STATUS", "ATTEMPT", "DURATION", "ERROR");
    c->any = 1;
  }
  char dur[32] = "-";
  if (s->started_at && s->finished_at)
    cli_duration((double)(s->finished_at - s->started_at) / 1000.0, dur, sizeof dur);
  else if (s->status == WF_STEP_RUNNING && s->started_at) /* so far */
    cli_duration((double)(cli_now_ms() - s->started_at) / 1000.0, dur, sizeof dur);
  char err[1024] = "";
  const char *status = wf_step_status_name(s->status);
  if (s->cached_run) { /* no error to show: it succeeded */
    status = "cached";
    snprintf(err, sizeof err, "from run %s, step %s", s->cached_run, s->cached_step);
  } else if (s->error) {
    snprintf(err, sizeof err, "%s", s->error);
    for (char *p = err; *p; p++)
      if (*p == '\n') *p = ' ';
  }
  const char *word = status, *on = cli_status_color(c->cli, word);
  cli_cell(stdout, s->key, 41, 40, NULL, NULL);
  cli_cell(stdout, word, 15, 0, on, cli_color_off(c->cli, on));
  printf(" %7u %9s  ", s->attempt, dur);
  cli_cell(stdout, err, 0, 120, NULL, NULL);
  printf("\n");
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
  printf("%-6llu %-23s %-16s ", (unsigned long long)e->seq, tm, wf_event_type_name(e->type));
  cli_cell(stdout, e->step_key ? e->step_key : "-", 31, 30, NULL, NULL);
  printf("%s%s\n", att, e->detail ? e->detail : "");
  return 0;
}

/* How far the run got, then its step records by status. */
static void print_steps_line(const wf_run_info *r, const wf_run_progress *p) {
  char dt[64];
  cli_done_total(r->steps_done, r->steps_total, r->steps_total_known, dt, sizeof dt);
  printf("steps     %s done", dt);
  if (p && p->running) printf(", %llu running", (unsigned long long)p->running);
  uint64_t recorded = 0;
  for (int i = 0; i < WF_STEP_NSTATUS; i++) recorded += r->counts[i];
  printf("; %llu recorded", (unsigned long long)recorded);
  for (int i = 0; i < WF_STEP_NSTATUS; i++)
    if (r->counts[i]) printf(", %s %llu", wf_step_status_name(i), (unsigned long long)r->counts[i]);
  printf("\n");
}

/* How far it got, its error, its stages, and its steps in stage order with those in
 * flight among them. */
static void print_stages_and_steps(wf_store *st, const wf_run_info *r, struct table_ctx *c) {
  wf_run_progress *p = NULL;
  cli_progress_get(st, r->id, &p);
  print_steps_line(r, p);
  if (r->error) printf("error     %s\n", r->error);
  if (p) cli_print_stages(stdout, p);
  cli_steps_in_order(st, r, p, print_step_row, c);
  if (p && p->running > p->nsteps)
    printf("... and %llu more steps in flight\n", (unsigned long long)(p->running - p->nsteps));
  wf_run_progress_free(p);
}

static int print_run_table(wf_store *st, const wf_run_info *r, int history, const cli_ctx *cli,
                           char *names, size_t cap) {
  char tm[40], why[4400];
  printf("run       %s\n", r->id);
  printf("workflow  %s\n", r->workflow);
  char note[256];
  const char *on = cli_status_color(cli, wf_run_status_name(r->status));
  printf("status    %s%s%s", on, wf_run_status_name(r->status), cli_color_off(cli, on));
  if (cli_owner_note(r, note, sizeof note)) printf(" (%s)", note);
  /* The run folder's file keeps the reference pipeline's words: give both. */
  char meta[32];
  if (cli_run_metadata_status(r, meta, sizeof meta) &&
      strcmp(meta, wf_run_status_name(r->status)) != 0)
    printf("  (run_metadata.json: %s)", meta);
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
  if (r->forked_from) printf("forked    from run %s\n", r->forked_from);
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
  struct table_ctx c = {0};
  c.color = cli->color;
  c.cli = cli;
  print_stages_and_steps(st, r, &c);
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
  if (a.help) return cli_help_command(stdout, "show-run");
  if (a.npos != 1) return cli_fail(EXIT_USAGE, "show-run needs one run id (see 'wf list-runs')");
  if (wf_run_id_check(a.pos[0]) != 0)
    return cli_bad_id("run id", a.pos[0]);
  if ((code = cli_check_format(cli, "show-run", CLI_TAKES(FMT_TABLE) | CLI_TAKES(FMT_JSON))))
    return code;
  if (a.val[O_WATCH] && (cli->format == FMT_JSON || a.val[O_HISTORY]))
    return cli_fail(EXIT_USAGE, "--watch prints progress lines as 'wf start' does, alone: for "
                               "JSON, run 'wf show-run %s -o json' again (its stages say how "
                               "far the run is)", a.pos[0]);
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
    int unreadable = 0;
    char names[256] = "";
    if (a.val[O_WATCH]) {
      code = cli_watch(cli, st, r);
    } else if (cli->format == FMT_JSON) {
      cJSON *j = cli_run_json(st, r, 1, a.val[O_HISTORY] != NULL);
      unreadable = count_unreadable(j, names, sizeof names);
      cli_print_json(j);
    } else {
      unreadable = print_run_table(st, r, a.val[O_HISTORY] != NULL, cli, names, sizeof names);
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
  if (c->cli->format == FMT_JSON) {
    cJSON_AddItemToArray(c->json, cli_run_json(NULL, r, 0, 0));
  } else if (c->cli->format == FMT_IDS) {
    printf("%s\n", r->id);
  } else {
    if (c->shown == 0)
      printf("%-32s %-16s %-11s %-19s %11s %9s\n", "RUN", "WORKFLOW", "STATUS", "CREATED (UTC)",
             "STEPS", "DURATION");
    char tm[40], dur[32] = "-", steps[64];
    cli_time_human(r->created_at, tm, sizeof tm);
    if (r->finished_at && r->started_at)
      cli_duration((double)(r->finished_at - r->started_at) / 1000.0, dur, sizeof dur);
    cli_done_total(r->steps_done, r->steps_total, r->steps_total_known, steps, sizeof steps);
    const char *word = wf_run_status_name(r->status), *on = cli_status_color(c->cli, word);
    cli_cell(stdout, r->id, 33, 32, NULL, NULL);
    cli_cell(stdout, r->workflow, 17, 16, NULL, NULL);
    cli_cell(stdout, word, 12, 0, on, cli_color_off(c->cli, on));
    printf("%-19s %*s %9s\n", tm, 11 + (int)(strlen(steps) - cli_width(steps)), steps, dur);
  }
  c->shown++;
  return 0;
}

int cmd_list_runs(cli_ctx *cli, int argc, char **argv) {
  cli_args a;
  int code = cli_parse(cli, "list-runs", argc, argv, cli_list_opts, &a);
  if (code) return code;
  if (a.help) return cli_help_command(stdout, "list-runs");
  if (a.npos) return cli_fail(EXIT_USAGE, "list-runs takes no arguments (did you mean --status?)");
  struct list_ctx c = {cli, 0, NULL, 0};
  wf_run_filter f = {0};
  f.workflow = a.val[O_WORKFLOW];
  f.limit = 100;
  if (a.val[O_STATUS] && cli_parse_statuses("--status", a.val[O_STATUS], &f.statuses))
    return EXIT_USAGE;
  if (cli_parse_time_range(a.val[O_SINCE], a.val[O_UNTIL], &f.since, &f.until)) return EXIT_USAGE;
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
