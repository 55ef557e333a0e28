/* cmd_explain.c — `wf explain RUN STEP`: why a step ran again or was reused, read from
 * the run's history. The history is cut into executions (the start, then each resume or
 * restart); in each, the step ran (its events), or it did not; why it ran again follows
 * from how the execution before left it. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* How an execution left the step, and so why the next one ran it again. */
enum left {
  LEFT_NONE,          /* no event of it: it had not run (or its start was lost) */
  LEFT_STARTED,       /* an attempt started, no end recorded: in flight when the owner died */
  LEFT_SUCCEEDED,
  LEFT_FAILED,        /* failed for good (no retry followed) */
  LEFT_TIMED_OUT,
  LEFT_CANCELED,
  LEFT_INTERRUPTED,   /* killed as the run stopped by a signal */
  LEFT_NOT_RUN,       /* skipped or upstream_failed */
  LEFT_CACHED         /* its output was taken from an earlier run (the stage's "cache") */
};

struct ev {
  int type;
  int64_t time;
  uint32_t attempt;
  char *step, *detail;
};

struct history {
  struct ev *e;
  size_t n, cap;
  const char *key, *stage;
};

/* Whether event e is about the step: its own, or its stage's skipped/upstream_failed
 * (which stand for every item of a fan-out). */
static int about_step(const struct history *h, const char *step, int type) {
  if (!step) return 0;
  if (strcmp(step, h->key) == 0) return 1;
  return h->stage && strcmp(step, h->stage) == 0 &&
         (type == WF_EV_STEP_SKIPPED || type == WF_EV_STEP_UPSTREAM_FAILED);
}

static int collect(void *ud, const wf_event_info *e) {
  struct history *h = ud;
  int run_level = !e->step_key && (e->type == WF_EV_RUN_STARTED || e->type == WF_EV_RUN_RESUMED ||
                                   e->type == WF_EV_GENERATION || e->type == WF_EV_RUN_FINISHED ||
                                   e->type == WF_EV_RUN_INTERRUPTED);
  if (!run_level && !about_step(h, e->step_key, e->type)) return 0;
  if (h->n == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 64;
    struct ev *p = realloc(h->e, cap * sizeof *p);
    if (!p) return WF_ENOMEM;
    h->e = p;
    h->cap = cap;
  }
  struct ev *v = &h->e[h->n++];
  v->type = e->type;
  v->time = e->time;
  v->attempt = e->attempt;
  v->step = e->step_key ? strdup(e->step_key) : NULL;
  v->detail = e->detail ? strdup(e->detail) : NULL;
  return 0;
}

static void history_free(struct history *h) {
  for (size_t i = 0; i < h->n; i++) free(h->e[i].step), free(h->e[i].detail);
  free(h->e);
}

/* Why an execution ran the step, given how the one before left it and what it recorded
 * first: a code for -o json and a sentence. */
struct why {
  const char *code;
  char text[1200];
};

static void why_ran(enum left prev, const struct ev *last, const struct ev *first, int earlier,
                    struct why *w) {
  const char *d = last && last->detail ? last->detail : "";
  if (first && first->type == WF_EV_STEP_INPUT_CHANGED) {
    w->code = "input_changed";
    snprintf(w->text, sizeof w->text, "its input changed: the input it got differs from the "
                                      "one recorded with its result");
  } else if (first && first->type == WF_EV_STEP_SUPERSEDED) {
    w->code = "later_generation";
    snprintf(w->text, sizeof w->text, "a later generation: its stage runs again "
                                      "(wf start --start-from), its recorded result is kept in "
                                      "the history");
  } else if (prev == LEFT_STARTED) {
    w->code = "in_flight_at_crash";
    snprintf(w->text, sizeof w->text, "it was in flight when the run's owner died (attempt %u "
                                      "started, no end recorded)", last->attempt);
  } else if (prev == LEFT_INTERRUPTED) {
    w->code = "interrupted";
    snprintf(w->text, sizeof w->text, "it was in flight when the run was interrupted (attempt "
                                      "%u killed: %s)", last->attempt, d);
  } else if (prev == LEFT_FAILED || prev == LEFT_TIMED_OUT) {
    w->code = "failed_before";
    snprintf(w->text, sizeof w->text, "it failed before (attempt %u %s: %s)", last->attempt,
             prev == LEFT_TIMED_OUT ? "timed out" : "failed", d);
  } else if (prev == LEFT_CANCELED) {
    w->code = "canceled_before";
    snprintf(w->text, sizeof w->text, "it was canceled before (attempt %u: %s)", last->attempt,
             d);
  } else if (prev == LEFT_NOT_RUN) {
    w->code = "not_run_before";
    snprintf(w->text, sizeof w->text, "it was not run before (%s: %s)",
             wf_event_type_name(last->type), d);
  } else if (earlier) {
    w->code = "not_recorded_before";
    snprintf(w->text, sizeof w->text, "no earlier attempt of it is recorded: it had not been "
                                      "reached, or was in flight when its owner died before "
                                      "its start was recorded");
  } else {
    w->code = "first_run";
    snprintf(w->text, sizeof w->text, "its first run");
  }
}

/* One execution of the run: [from, to) of the history, and what the step did in it. */
struct exec {
  size_t from, to;
  int ran;                 /* the step has events in it */
  struct why why;          /* when it ran */
  enum left left;          /* how it left the step */
  const struct ev *last;   /* the event that says so */
};

/* How the step's events [from, to) leave it, and the event saying so. */
static enum left leave(const struct history *h, size_t from, size_t to, enum left prev,
                       const struct ev **last) {
  enum left l = prev;
  for (size_t i = from; i < to; i++) {
    const struct ev *e = &h->e[i];
    if (!e->step) continue;
    switch (e->type) {
    case WF_EV_STEP_STARTED: l = LEFT_STARTED; break;
    case WF_EV_STEP_SUCCEEDED: l = LEFT_SUCCEEDED; break;
    case WF_EV_STEP_FAILED: l = LEFT_FAILED; break;
    case WF_EV_STEP_TIMED_OUT: l = LEFT_TIMED_OUT; break;
    case WF_EV_STEP_RETRY: continue; /* the failure before it stays the last word */
    case WF_EV_STEP_CANCELED: l = LEFT_CANCELED; break;
    case WF_EV_STEP_INTERRUPTED: l = LEFT_INTERRUPTED; break;
    case WF_EV_STEP_SKIPPED:
    case WF_EV_STEP_UPSTREAM_FAILED: l = LEFT_NOT_RUN; break;
    case WF_EV_STEP_CACHED: l = LEFT_CACHED; break;
    default: continue;
    }
    *last = e;
  }
  return l;
}

/* Cut the history into executions and say, for each, what the step did and why. */
static size_t executions(const struct history *h, struct exec **out) {
  size_t n = 0;
  for (size_t i = 0; i < h->n; i++)
    if (!h->e[i].step && (h->e[i].type == WF_EV_RUN_STARTED || h->e[i].type == WF_EV_RUN_RESUMED))
      n++;
  struct exec *x = calloc(n ? n : 1, sizeof *x);
  if (!x) return 0;
  size_t k = 0;
  for (size_t i = 0; i < h->n; i++) {
    const struct ev *e = &h->e[i];
    if (e->step || (e->type != WF_EV_RUN_STARTED && e->type != WF_EV_RUN_RESUMED)) continue;
    if (k) x[k - 1].to = i;
    x[k++].from = i;
  }
  if (k) x[k - 1].to = h->n;
  enum left prev = LEFT_NONE;
  const struct ev *last = NULL;
  int earlier = 0;
  for (size_t j = 0; j < k; j++) {
    const struct ev *first = NULL;
    for (size_t i = x[j].from; i < x[j].to && !first; i++)
      if (h->e[i].step) first = &h->e[i];
    x[j].ran = first && first->type != WF_EV_STEP_SKIPPED &&
               first->type != WF_EV_STEP_UPSTREAM_FAILED && first->type != WF_EV_STEP_CACHED;
    if (x[j].ran) why_ran(prev, last, first, earlier, &x[j].why);
    prev = leave(h, x[j].from, x[j].to, prev, &last);
    x[j].left = prev;
    x[j].last = last;
    earlier = 1;
  }
  *out = x;
  return k;
}

/* What the step did in execution x, in a few words. */
static void outcome(const struct exec *x, const struct exec *before, int live, char *buf,
                    size_t cap) {
  const struct ev *e = x->last;
  const char *d = e && e->detail ? e->detail : "";
  if (!x->ran && x->left == LEFT_NOT_RUN && e && e->step && (!before || before->last != e)) {
    snprintf(buf, cap, "not run (%s): %s",
             e->type == WF_EV_STEP_SKIPPED ? "skipped" : "upstream_failed", d);
    return;
  }
  if (!x->ran && x->left == LEFT_CACHED && e && (!before || before->last != e)) {
    snprintf(buf, cap, "not executed: %s", d);
    return;
  }
  if (!x->ran) {
    snprintf(buf, cap, "%s", x->left == LEFT_SUCCEEDED ? "not executed: its recorded result was kept (reused)"
                             : x->left == LEFT_NONE    ? "no event of it"
                                                       : "not executed");
    return;
  }
  switch (x->left) {
  case LEFT_SUCCEEDED: snprintf(buf, cap, "attempt %u succeeded", e->attempt); break;
  case LEFT_FAILED: snprintf(buf, cap, "attempt %u failed: %s", e->attempt, d); break;
  case LEFT_TIMED_OUT: snprintf(buf, cap, "attempt %u timed out: %s", e->attempt, d); break;
  case LEFT_CANCELED: snprintf(buf, cap, "attempt %u canceled: %s", e->attempt, d); break;
  case LEFT_INTERRUPTED: snprintf(buf, cap, "attempt %u interrupted: %s", e->attempt, d); break;
  case LEFT_STARTED:
    snprintf(buf, cap, "attempt %u started, no end recorded %s", e->attempt,
             live ? "yet (the run is running)" : "(its owner died)");
    break;
  default: snprintf(buf, cap, "%s", d); break;
  }
}

/* The answer: why the step's current state came about. */
struct verdict {
  const char *code;
  char text[sizeof(struct why){0}.text + 300];
};

static void verdict(const struct exec *x, size_t n, struct verdict *w) {
  size_t ran = n;
  for (size_t j = n; j-- > 0;)
    if (x[j].ran) {
      ran = j;
      break;
    }
  if (ran == n && n && x[n - 1].left == LEFT_CACHED && x[n - 1].last) {
    w->code = "cached";
    snprintf(w->text, sizeof w->text, "not executed in this run: %s",
             x[n - 1].last->detail ? x[n - 1].last->detail : "its output came from the cache");
    return;
  }
  if (ran == n) {
    w->code = "not_run";
    snprintf(w->text, sizeof w->text, "it never ran in this run");
    return;
  }
  size_t after = n - 1 - ran;
  if (x[ran].left == LEFT_SUCCEEDED && after > 0) {
    w->code = "reused";
    snprintf(w->text, sizeof w->text, "recorded and reused: attempt %u succeeded in execution "
                                      "%zu (which ran it: %s); the %zu later execution%s did "
                                      "not run it again, its recorded result stands",
             x[ran].last->attempt, ran + 1, x[ran].why.text, after, after == 1 ? "" : "s");
    return;
  }
  w->code = x[ran].why.code;
  snprintf(w->text, sizeof w->text, "execution %zu ran it: %s", ran + 1, x[ran].why.text);
}

static cJSON *exec_json(const struct history *h, const struct exec *x, const struct exec *before,
                        int live, size_t number) {
  const struct ev *s = &h->e[x->from];
  char t[40], what[1400];
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "execution", (double)number);
  cJSON_AddStringToObject(o, "type", wf_event_type_name(s->type));
  cli_time_iso(s->time, t, sizeof t);
  cJSON_AddStringToObject(o, "time", t);
  if (s->detail) cJSON_AddStringToObject(o, "detail", s->detail);
  else cJSON_AddNullToObject(o, "detail");
  cJSON_AddBoolToObject(o, "ran", x->ran);
  if (x->ran) {
    cJSON_AddStringToObject(o, "why", x->why.code);
    cJSON_AddStringToObject(o, "reason", x->why.text);
  } else {
    cJSON_AddNullToObject(o, "why");
    cJSON_AddNullToObject(o, "reason");
  }
  outcome(x, before, live, what, sizeof what);
  cJSON_AddStringToObject(o, "outcome", what);
  cJSON *evs = cJSON_AddArrayToObject(o, "events");
  for (size_t i = x->from; i < x->to; i++) {
    const struct ev *e = &h->e[i];
    if (!e->step) continue;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "type", wf_event_type_name(e->type));
    cli_time_iso(e->time, t, sizeof t);
    cJSON_AddStringToObject(j, "time", t);
    if (e->attempt) cJSON_AddNumberToObject(j, "attempt", e->attempt);
    else cJSON_AddNullToObject(j, "attempt");
    if (e->detail) cJSON_AddStringToObject(j, "detail", e->detail);
    else cJSON_AddNullToObject(j, "detail");
    cJSON_AddItemToArray(evs, j);
  }
  return o;
}

static void print_table(const struct history *h, const struct exec *x, size_t n,
                        const wf_step_info *s, const wf_run_info *r, const struct verdict *w) {
  const char *run_id = r->id;
  if (s)
    printf("step %s of run %s: %s (attempt %u, generation %u)\n", h->key, run_id,
           wf_step_status_name(s->status), s->attempt, s->generation);
  else
    printf("step %s of run %s: not recorded\n", h->key, run_id);
  printf("why: %s\n\n", w->text);
  for (size_t j = 0; j < n; j++) {
    const struct ev *e = &h->e[x[j].from];
    char t[40], what[1400];
    cli_time_human(e->time, t, sizeof t);
    outcome(&x[j], j ? &x[j - 1] : NULL, j + 1 == n && r->owner.alive, what, sizeof what);
    if (e->type == WF_EV_RUN_RESUMED && e->detail)
      printf("execution %zu  %s  resumed %s\n", j + 1, t, e->detail);
    else
      printf("execution %zu  %s  %s\n", j + 1, t,
             e->type == WF_EV_RUN_STARTED ? "started" : "resumed");
    if (x[j].ran) printf("  ran: %s\n", x[j].why.text);
    printf("  %s\n", what);
  }
}

int cmd_explain(cli_ctx *cli, int argc, char **argv) {
  cli_args a;
  int code = cli_parse(cli, "explain", argc, argv, cli_no_opts, &a);
  if (code) return code;
  if (a.help) return cli_help_command(stdout, "explain");
  if (a.npos != 2) return cli_fail(EXIT_USAGE, "explain needs a run id and a step key (see "
                                               "'wf explain --help')");
  if ((code = cli_check_format(cli, "explain", CLI_TAKES(FMT_TABLE) | CLI_TAKES(FMT_JSON))))
    return code;
  const char *run_id = a.pos[0], *key = a.pos[1];
  if (wf_run_id_check(run_id) != 0) return cli_bad_id("run id", run_id);
  wf_store *st = NULL;
  if ((code = cli_open_existing(cli, &st)) != 0) return code;
  char full[WF_MAX_RUN_ID + 1];
  if ((code = cli_run_ref(cli, st, run_id, full, sizeof full)) != 0) {
    wf_store_close(st);
    return code;
  }
  run_id = full;
  wf_run_info *r = NULL;
  wf_step_info *s = NULL;
  struct history h = {0};
  struct exec *x = NULL;
  char why[8192];
  int rc = wf_run_info_get(st, run_id, &r);
  if (rc) {
    code = rc == WF_ENOTFOUND
               ? cli_fail(EXIT_NOTFOUND, "no run %s in %s (see 'wf list-runs')", run_id, cli->home)
               : cli_fail(EXIT_STORE, "cannot read run %s: %s", run_id,
                          cli_store_why(rc, why, sizeof why));
    goto out;
  }
  rc = wf_step_info_get(st, run_id, key, &s);
  if (rc && rc != WF_ENOTFOUND) {
    code = cli_fail(cli_exit_for(rc), "cannot read step %s of run %s: %s", key, run_id,
                    cli_store_why(rc, why, sizeof why));
    goto out;
  }
  h.key = key;
  /* The stage an item belongs to: from its record, else the key up to its '/'. */
  char stage[256] = "";
  if (s && s->stage[0]) snprintf(stage, sizeof stage, "%s", s->stage);
  else if (strchr(key, '/')) snprintf(stage, sizeof stage, "%.*s", (int)(strchr(key, '/') - key), key);
  h.stage = stage[0] ? stage : NULL;
  if ((rc = wf_events_list(st, run_id, 0, collect, &h)) != 0) {
    code = cli_fail(cli_exit_for(rc), "cannot read the history of run %s: %s", run_id,
                    cli_store_why(rc, why, sizeof why));
    goto out;
  }
  int mentioned = 0;
  for (size_t i = 0; i < h.n; i++) mentioned |= h.e[i].step != NULL;
  if (!s && !mentioned) {
    code = cli_fail(EXIT_NOTFOUND, "run %s has no step %s: none is recorded and its history "
                                   "does not mention it (the keys: wf show-run %s)",
                    run_id, key, run_id);
    goto out;
  }
  size_t n = executions(&h, &x);
  struct verdict w;
  verdict(x, n, &w);
  if (cli->format == FMT_JSON) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "run", run_id);
    cJSON_AddStringToObject(o, "step", key);
    if (s) {
      cJSON_AddStringToObject(o, "status", wf_step_status_name(s->status));
      cJSON_AddNumberToObject(o, "attempt", s->attempt);
      cJSON_AddNumberToObject(o, "generation", s->generation);
    } else {
      cJSON_AddNullToObject(o, "status");
      cJSON_AddNullToObject(o, "attempt");
      cJSON_AddNullToObject(o, "generation");
    }
    cJSON_AddStringToObject(o, "why", w.code);
    cJSON_AddStringToObject(o, "reason", w.text);
    cJSON *arr = cJSON_AddArrayToObject(o, "executions");
    for (size_t j = 0; j < n; j++)
      cJSON_AddItemToArray(arr, exec_json(&h, &x[j], j ? &x[j - 1] : NULL,
                                          j + 1 == n && r->owner.alive, j + 1));
    cli_print_json(o);
  } else {
    print_table(&h, x, n, s, r, &w);
  }
out:
  free(x);
  history_free(&h);
  wf_step_info_free(s);
  wf_run_info_free(r);
  wf_store_close(st);
  return code;
}
