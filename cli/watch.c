/* watch.c — show-run --watch: follow a run another process executes as `wf start` shows
 * its own, from the run's progress report and history: a line per stage as it ends, its
 * steps' failures and retries, on a terminal the live line; when the run ends, its outcome
 * and how to resume it. Ctrl-C stops watching (exit 0); the run goes on. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define POLL_MS 250 /* the owner rewrites its report every quarter second */

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
  (void)sig;
  interrupted = 1;
}

/* An event of the run's history, copied out of the listing (whose callback may not read
 * the store) to be told after it. */
struct event {
  int type;
  uint32_t attempt;
  char *key, *detail;
};

struct watch {
  cli_progress_ctx pc;
  wf_store *st;
  const char *id;
  char *said;              /* per stage of the report: its end was printed */
  size_t nsaid;
  uint64_t next_seq;       /* the first event not looked at yet */
  struct event *ev;        /* the events of this look */
  size_t nev, capev;
};

/* Print the lines of the stages that ended since the last look, in definition order;
 * with `over` (the run no longer runs) also of those it stopped in. */
static void stage_ends(struct watch *w, const wf_run_progress *p, int over) {
  if (p->nstages > w->nsaid) {
    char *s = realloc(w->said, p->nstages);
    if (!s) return;
    memset(s + w->nsaid, 0, p->nstages - w->nsaid);
    w->said = s;
    w->nsaid = p->nstages;
  }
  for (size_t i = 0; i < p->nstages; i++) {
    const wf_stage_progress *s = &p->stages[i];
    int ended = s->status != WF_STEP_PENDING && s->status != WF_STEP_RUNNING;
    if (w->said[i] || !(ended || (over && s->status == WF_STEP_PENDING && s->started_at)))
      continue;
    w->said[i] = 1;
    cli_stage_end e = {s->id, s->status, cli_stage_seconds(s, p->reported_at),
                       s->done + s->failed, s->reused};
    cli_progress_stage(&w->pc, &e);
  }
}

/* Under a step's failure for good, the last lines it wrote to stderr, as start shows them
 * (for the first CLI_TAIL_STEPS such steps). */
static void failure_tail(struct watch *w, const char *key) {
  cli_progress_ctx *p = &w->pc;
  wf_step_info *s = NULL;
  if (p->tails > CLI_TAIL_STEPS || wf_step_info_get(w->st, w->id, key, &s) != 0) return;
  const char *dim = p->cli->color ? "\033[2m" : "", *reset = p->cli->color ? "\033[0m" : "";
  if (p->tails < CLI_TAIL_STEPS) {
    if (cli_print_stderr_tail(p->out, s->stderr_tail, "    ", dim, reset) > 0) p->tails++;
  } else if (s->stderr_tail && s->stderr_tail[0]) {
    fprintf(p->out, "    (what more failed steps wrote to stderr: wf logs %s --step KEY)\n",
            w->id);
    p->tails++;
  }
  wf_step_info_free(s);
}

/* A step's failure, as start prints it: retried (the event after it says so) or not. */
static void say_failure(struct watch *w, const struct event *e, const struct event *next) {
  const char *red = w->pc.cli->color ? "\033[31m" : "", *yellow = w->pc.cli->color ? "\033[33m" : "";
  const char *reset = w->pc.cli->color ? "\033[0m" : "";
  const char *detail = e->detail ? e->detail : "";
  cli_progress_clear(&w->pc);
  unsigned next_attempt;
  double delay;
  if (next && next->type == WF_EV_STEP_RETRY && next->key && strcmp(next->key, e->key) == 0 &&
      next->detail && sscanf(next->detail, "attempt %u in %lfs", &next_attempt, &delay) == 2) {
    char d[32];
    cli_duration(delay, d, sizeof d);
    fprintf(w->pc.out, "%sstep %s attempt %u failed%s: %s; retrying in %s\n", yellow, e->key,
            e->attempt, reset, detail, d);
  } else {
    fprintf(w->pc.out, "%sstep %s failed%s (attempt %u): %s\n", red, e->key, reset, e->attempt,
            detail);
    failure_tail(w, e->key);
  }
}

static int on_event(void *ud, const wf_event_info *e) {
  struct watch *w = ud;
  w->next_seq = e->seq + 1;
  if (w->nev == w->capev) {
    size_t cap = w->capev ? 2 * w->capev : 16;
    struct event *ev = realloc(w->ev, cap * sizeof *ev);
    if (!ev) return WF_ENOMEM;
    w->ev = ev;
    w->capev = cap;
  }
  struct event *c = &w->ev[w->nev++];
  c->type = e->type;
  c->attempt = e->attempt;
  c->key = e->step_key ? strdup(e->step_key) : NULL;
  c->detail = e->detail ? strdup(e->detail) : NULL;
  return 0;
}

/* Tell the failures among the events of this look, and forget them. */
static void tell_events(struct watch *w) {
  for (size_t i = 0; i < w->nev; i++) {
    const struct event *e = &w->ev[i];
    if ((e->type == WF_EV_STEP_FAILED || e->type == WF_EV_STEP_TIMED_OUT) && e->key)
      say_failure(w, e, i + 1 < w->nev ? &w->ev[i + 1] : NULL);
  }
  for (size_t i = 0; i < w->nev; i++) {
    free(w->ev[i].key);
    free(w->ev[i].detail);
  }
  w->nev = 0;
}

/* One look at the run: new stage ends and failures, and the live line. *r is read again;
 * 1 when the run no longer runs. */
static int look(struct watch *w, wf_run_info **r) {
  wf_run_info *now = NULL;
  if (wf_run_info_get(w->st, w->id, &now) == 0) {
    wf_run_info_free(*r);
    *r = now;
  }
  int over = (*r)->status != WF_RUN_RUNNING && (*r)->status != WF_RUN_PENDING;
  wf_run_progress *p = NULL;
  cli_progress_get(w->st, w->id, &p);
  wf_events_list(w->st, w->id, w->next_seq, on_event, w);
  tell_events(w);
  if (p) stage_ends(w, p, over);
  if (p && !over) cli_progress_live(&w->pc, p);
  wf_run_progress_free(p);
  return over;
}

static void pause_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (!interrupted && nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

int cli_watch(cli_ctx *cli, wf_store *st, const wf_run_info *first) {
  struct watch w;
  memset(&w, 0, sizeof w);
  w.pc.cli = cli;
  w.pc.out = stdout;
  w.pc.run_id = first->id;
  w.st = st;
  w.id = first->id;
  w.next_seq = first->next_event_seq;
  wf_run_info *r = NULL;
  if (wf_run_info_get(st, first->id, &r) != 0) return cli_fail(EXIT_STORE, "run %s cannot be read", first->id);
  char note[256] = "";
  if (cli_owner_note(r, note, sizeof note))
    printf("watching run %s (workflow %s), executed by %s\n", r->id, r->workflow, note);
  fflush(stdout);
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigaction(SIGINT, &sa, &old);
  int over = 0;
  while (!interrupted && !(over = look(&w, &r))) pause_ms(POLL_MS);
  sigaction(SIGINT, &old, NULL);
  cli_progress_clear(&w.pc);
  if (over) {
    char dur[32];
    if (r->finished_at && r->started_at) {
      cli_duration((double)(r->finished_at - r->started_at) / 1000.0, dur, sizeof dur);
      printf("run %s %s in %s\n", r->id, wf_run_status_name(r->status), dur);
    } else {
      printf("run %s %s\n", r->id, wf_run_status_name(r->status));
    }
    fflush(stdout);
    cli_resume_hint(r->status, r->id);
  }
  fflush(stdout);
  wf_run_info_free(r);
  free(w.said);
  free(w.ev);
  return EXIT_OK;
}
