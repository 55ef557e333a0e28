/* cmd_gc.c — `wf gc` and `wf delete-run`: deleting runs with everything they left in the
 * store and on disk, by age and filters or by id, saying what that freed; and giving the
 * space back to the file system (--compact). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define FINISHED                                                                         \
  (1u << WF_RUN_SUCCEEDED | 1u << WF_RUN_FAILED | 1u << WF_RUN_DEGRADED |                \
   1u << WF_RUN_CANCELED)

/* "12.3 MiB" */
static const char *bytes_text(uint64_t n, char *buf, size_t cap) {
  static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = (double)n;
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, u++;
  if (u == 0) snprintf(buf, cap, "%" PRIu64 " B", n);
  else snprintf(buf, cap, "%.1f %s", v, unit[u]);
  return buf;
}

/* ---- what was deleted ---------------------------------------------------------------- */

struct totals {
  cli_ctx *cli;
  int dry;
  int per_run;             /* print a line per run (delete-run) */
  uint64_t runs, steps, events, record_bytes, files, file_bytes;
  uint64_t busy, missing, failed;
  cJSON *json;             /* -o json: the runs */
  cJSON *skipped;
};

static void count_run(struct totals *t, const char *id, uint64_t steps, uint64_t events) {
  t->runs++;
  t->steps += steps;
  t->events += events;
  if (t->cli->format == FMT_IDS) printf("%s\n", id);
}

static void skip_run(struct totals *t, const char *id, int result) {
  const char *why = result == WF_EBUSY ? "a live process owns it (cancel it first)"
                    : result == WF_ENOTFOUND ? "no such run"
                    : wf_strerror(result);
  if (result == WF_EBUSY) t->busy++;
  else if (result == WF_ENOTFOUND) t->missing++;
  else t->failed++;
  if (t->skipped) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "reason", why);
    cJSON_AddItemToArray(t->skipped, o);
  } else {
    fprintf(stderr, "wf: run %s not deleted: %s\n", id, why);
  }
}

static int on_deleted(void *ud, const wf_delete_info *d) {
  struct totals *t = ud;
  if (d->result) {
    skip_run(t, d->id, d->result);
    return 0;
  }
  count_run(t, d->id, d->steps, d->events);
  t->record_bytes += d->record_bytes;
  t->files += d->files;
  t->file_bytes += d->file_bytes;
  if (t->json) cJSON_AddItemToArray(t->json, cJSON_CreateString(d->id));
  if (t->per_run && t->cli->format == FMT_TABLE) {
    char a[32], b[32];
    printf("deleted run %s (%" PRIu64 " steps, %" PRIu64 " events, %s of records; %" PRIu64
           " file%s, %s)\n", d->id, d->steps, d->events, bytes_text(d->record_bytes, a, sizeof a),
           d->files, d->files == 1 ? "" : "s", bytes_text(d->file_bytes, b, sizeof b));
  }
  return 0;
}

static void print_summary(struct totals *t) {
  char a[32], b[32];
  if (t->cli->format == FMT_JSON) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "dry_run", t->dry);
    cJSON_AddNumberToObject(o, "deleted", (double)t->runs);
    cJSON_AddNumberToObject(o, "steps", (double)t->steps);
    cJSON_AddNumberToObject(o, "events", (double)t->events);
    if (!t->dry) {
      cJSON_AddNumberToObject(o, "record_bytes", (double)t->record_bytes);
      cJSON_AddNumberToObject(o, "files", (double)t->files);
      cJSON_AddNumberToObject(o, "file_bytes", (double)t->file_bytes);
    }
    cJSON_AddItemToObject(o, "runs", t->json);
    cJSON_AddItemToObject(o, "skipped", t->skipped);
    t->json = t->skipped = NULL;
    cli_print_json(o);
    return;
  }
  if (t->cli->format == FMT_IDS) return;
  if (t->dry) {
    printf("would delete %" PRIu64 " run%s (%" PRIu64 " steps, %" PRIu64 " events)\n", t->runs,
           t->runs == 1 ? "" : "s", t->steps, t->events);
    return;
  }
  if (t->runs == 0 && !t->busy && !t->missing && !t->failed)
    printf("no runs match: nothing deleted\n");
  else
    printf("deleted %" PRIu64 " run%s (%" PRIu64 " steps, %" PRIu64 " events): %s of records "
           "freed in the store (reused for new runs), %" PRIu64 " file%s (%s) removed\n",
           t->runs, t->runs == 1 ? "" : "s", t->steps, t->events,
           bytes_text(t->record_bytes, a, sizeof a), t->files, t->files == 1 ? "" : "s",
           bytes_text(t->file_bytes, b, sizeof b));
  if (t->busy)
    printf("kept %" PRIu64 " run%s that a live process owns\n", t->busy, t->busy == 1 ? "" : "s");
}

/* ---- compaction -------------------------------------------------------------------- */

static int compact(cli_ctx *cli) {
  uint64_t before, after;
  char a[32], b[32], why[8192];
  int rc = wf_store_compact(cli->home, &before, &after);
  if (rc == WF_EBUSY)
    return cli_fail(EXIT_FAILED, "cannot compact the store at %s: another process has it open "
                                "(a run executing, a detached run, 'wf logs --follow'...); "
                                "compaction needs the store to itself: try again when they "
                                "have finished", cli->home);
  if (rc == WF_ENOTFOUND)
    return cli_fail(EXIT_NOTFOUND, "no store at %s to compact", cli->home);
  if (rc)
    return cli_fail(EXIT_STORE, "cannot compact the store at %s: %s (the store is as it was)",
                    cli->home, cli_store_why(rc, why, sizeof why));
  if (cli->format == FMT_TABLE)
    printf("compacted the store: %s -> %s\n", bytes_text(before, a, sizeof a),
           bytes_text(after, b, sizeof b));
  return 0;
}

/* ---- wf gc --------------------------------------------------------------------------- */

struct selection {
  int64_t cutoff;          /* last change before this (ms); 0: any */
  char **ids;
  size_t n, cap;
  struct totals *t;
  int unreadable;
};

static int select_run(void *ud, const wf_run_info *r) {
  struct selection *s = ud;
  if (r->read_error) {
    fprintf(stderr, "wf: run %s cannot be read (%s): left alone\n", r->id,
            wf_strerror(r->read_error));
    s->unreadable++;
    return 0;
  }
  if (s->cutoff && r->updated_at >= s->cutoff) return 0;
  if (r->status == WF_RUN_RUNNING || r->status == WF_RUN_PENDING) return 0;
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 256;
    char **ids = realloc(s->ids, cap * sizeof *ids);
    if (!ids) return WF_ENOMEM;
    s->ids = ids;
    s->cap = cap;
  }
  if (!(s->ids[s->n] = strdup(r->id))) return WF_ENOMEM;
  s->n++;
  struct totals *t = s->t;
  if (t->dry) {
    uint64_t steps = 0;
    for (int i = 0; i < WF_STEP_NSTATUS; i++) steps += r->counts[i];
    count_run(t, r->id, steps, r->next_event_seq);
    if (t->json) cJSON_AddItemToArray(t->json, cJSON_CreateString(r->id));
    if (t->cli->format == FMT_TABLE) {
      char tm[40];
      if (t->runs == 1)
        printf("%-32s %-16s %-11s %-19s %6s\n", "RUN", "WORKFLOW", "STATUS", "CHANGED (UTC)",
               "STEPS");
      cli_time_human(r->updated_at, tm, sizeof tm);
      /* As list-runs prints them: by terminal columns, long ids cut with "…". */
      const char *word = wf_run_status_name(r->status), *on = cli_status_color(t->cli, word);
      cli_cell(stdout, r->id, 33, 32, NULL, NULL);
      cli_cell(stdout, r->workflow, 17, 16, NULL, NULL);
      cli_cell(stdout, word, 12, 0, on, cli_color_off(t->cli, on));
      printf("%-19s %6" PRIu64 "\n", tm, steps);
    }
  }
  return 0;
}

/* The selection's defaults from the configuration file, when none is given. */
static int retention(const char **older, const char **statuses, char *where, size_t cap) {
  char swhere[4200];
  int code = cli_config_get("retention", older, where, cap);
  if (code == 0 && *older) code = cli_config_get("retention_status", statuses, swhere,
                                                  sizeof swhere);
  return code;
}

int cmd_gc(cli_ctx *cli, int argc, char **argv) {
  cli_args a;
  int code = cli_parse(cli, "gc", argc, argv, cli_gc_opts, &a);
  if (code) return code;
  if (a.help) return cli_help_command(stdout, "gc");
  if (a.npos)
    return cli_fail(EXIT_USAGE, "gc takes no run ids (use 'wf delete-run ID..'), only options");
  if (cli->format == FMT_DEFAULT) cli->format = FMT_TABLE;
  const char *older = a.val[O_OLDER_THAN], *statuses = a.val[O_STATUS];
  char where[4200] = "";
  int chosen = older || statuses || a.val[O_WORKFLOW] || a.val[O_SINCE] || a.val[O_UNTIL];
  if (!chosen && (code = retention(&older, &statuses, where, sizeof where))) return code;
  if (!chosen && !older && !a.val[O_COMPACT])
    return cli_fail(EXIT_USAGE, "gc needs a selection, e.g. --older-than 30d, or a default: "
                               "retention = 30d in $XDG_CONFIG_HOME/wf/config (see 'wf gc "
                               "--help')");
  wf_run_filter f = {0};
  f.workflow = a.val[O_WORKFLOW];
  f.oldest_first = 1;
  f.statuses = FINISHED;
  if (statuses) {
    char opt[4300];
    snprintf(opt, sizeof opt, "%s%s", where[0] ? "retention_status in " : "--status",
             where[0] ? where : "");
    if (cli_parse_statuses(opt, statuses, &f.statuses)) return EXIT_USAGE;
    if (f.statuses & (1u << WF_RUN_RUNNING | 1u << WF_RUN_PENDING))
      return cli_fail(EXIT_USAGE, "gc never deletes pending or running runs: cancel them "
                                 "first ('wf cancel-run ID'), then delete them");
  }
  if (cli_parse_time_range(a.val[O_SINCE], a.val[O_UNTIL], &f.since, &f.until)) return EXIT_USAGE;
  struct selection s = {0};
  if (older && (s.cutoff = cli_parse_since(older)) < 0) {
    if (where[0])
      return cli_fail(EXIT_USAGE, "%s: retention \"%s\": use %s", where, older, CLI_TIME_FORMS);
    return cli_fail(EXIT_USAGE, "--older-than \"%s\": use %s", older, CLI_TIME_FORMS);
  }
  if (older && s.cutoff == 0) s.cutoff = 1; /* before the epoch: nothing is that old */
  /* A run's last change comes after its creation: the creation index narrows the scan. */
  if (s.cutoff && (!f.until || s.cutoff < f.until)) f.until = s.cutoff;
  wf_store *st = NULL;
  if (cli_check_home(cli)) return EXIT_STORE;
  wf_store_opts o;
  cli_store_opts(WF_STORE_NOCREATE, &o);
  int rc = wf_store_open_ex(cli->home, &o, &st);
  if (rc == WF_ENOTFOUND) {
    if (cli->format == FMT_TABLE) printf("no store at %s: nothing to delete\n", cli->home);
    else if (cli->format == FMT_JSON) printf("{\"deleted\": 0, \"runs\": [], \"skipped\": []}\n");
    return EXIT_OK;
  }
  if (rc) return cli_open_existing(cli, &st);
  struct totals t = {cli, a.val[O_DRY] != NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL};
  if (cli->format == FMT_JSON) {
    t.json = cJSON_CreateArray();
    t.skipped = cJSON_CreateArray();
  }
  s.t = &t;
  if (chosen || older) rc = wf_runs_list(st, &f, select_run, &s);
  if (rc == 0 && !t.dry && s.n)
    rc = wf_runs_delete(st, (const char *const *)s.ids, s.n, on_deleted, &t);
  wf_store_close(st);
  for (size_t i = 0; i < s.n; i++) free(s.ids[i]);
  free(s.ids);
  if (rc) {
    char why[8192];
    cJSON_Delete(t.json);
    cJSON_Delete(t.skipped);
    if (t.runs) print_summary(&t);
    return cli_fail(EXIT_STORE, "gc stopped: %s", cli_store_why(rc, why, sizeof why));
  }
  if (chosen || older) print_summary(&t);
  else {
    cJSON_Delete(t.json);
    cJSON_Delete(t.skipped);
  }
  if (a.val[O_COMPACT] && !t.dry) code = compact(cli);
  else if (a.val[O_COMPACT] && cli->format == FMT_TABLE)
    printf("would compact the store at %s\n", cli->home);
  return code ? code : s.unreadable ? EXIT_STORE : EXIT_OK;
}

/* ---- wf delete-run --------------------------------------------------------------------- */

int cmd_delete_run(cli_ctx *cli, int argc, char **argv) {
  cli_args a;
  int code = cli_parse(cli, "delete-run", argc, argv, cli_delete_opts, &a);
  if (code) return code;
  if (a.help) return cli_help_command(stdout, "delete-run");
  if (a.npos == 0) return cli_fail(EXIT_USAGE, "delete-run needs one or more run ids");
  for (int i = 0; i < a.npos; i++)
    if (wf_run_id_check(a.pos[i]) != 0) return cli_bad_id("run id", a.pos[i]);
  if (cli->format == FMT_DEFAULT) cli->format = FMT_TABLE;
  wf_store *st = NULL;
  if ((code = cli_open_existing(cli, &st)) != 0) return code;
  /* Every id resolved before anything is deleted: an ambiguous one deletes nothing. */
  static char ids[CLI_MAX_ARGS][WF_MAX_RUN_ID + 1];
  const char *list[CLI_MAX_ARGS];
  for (int i = 0; i < a.npos && !code; i++) {
    code = cli_run_ref(cli, st, a.pos[i], ids[i], sizeof ids[i]);
    list[i] = ids[i];
  }
  if (code) {
    wf_store_close(st);
    return code;
  }
  struct totals t = {cli, a.val[O_DRY] != NULL, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL};
  if (cli->format == FMT_JSON) {
    t.json = cJSON_CreateArray();
    t.skipped = cJSON_CreateArray();
  }
  int rc = 0;
  if (t.dry) {
    for (int i = 0; i < a.npos; i++) {
      wf_run_info *r = NULL;
      int got = wf_run_info_get(st, list[i], &r);
      if (got == 0 && (r->status == WF_RUN_RUNNING || r->status == WF_RUN_PENDING))
        got = WF_EBUSY;
      if (got) {
        skip_run(&t, list[i], got);
      } else {
        uint64_t steps = 0;
        for (int k = 0; k < WF_STEP_NSTATUS; k++) steps += r->counts[k];
        count_run(&t, r->id, steps, r->next_event_seq);
        if (t.json) cJSON_AddItemToArray(t.json, cJSON_CreateString(r->id));
        if (cli->format == FMT_TABLE)
          printf("would delete run %s (%s, %s, %" PRIu64 " steps)\n", r->id, r->workflow,
                 wf_run_status_name(r->status), steps);
      }
      wf_run_info_free(r);
    }
  } else {
    rc = wf_runs_delete(st, list, (size_t)a.npos, on_deleted, &t);
  }
  wf_store_close(st);
  if (rc) {
    char why[8192];
    cJSON_Delete(t.json);
    cJSON_Delete(t.skipped);
    return cli_fail(EXIT_STORE, "delete-run stopped: %s", cli_store_why(rc, why, sizeof why));
  }
  if (cli->format == FMT_JSON || t.runs > 1 || t.dry) print_summary(&t);
  else {
    cJSON_Delete(t.json);
    cJSON_Delete(t.skipped);
  }
  return t.failed ? EXIT_STORE : t.missing ? EXIT_NOTFOUND : t.busy ? EXIT_FAILED : EXIT_OK;
}
