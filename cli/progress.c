/* progress.c — what start and resume print while a run executes (and show-run --watch
 * of a run another process executes): a line per finished stage (✓/✗ and its duration on
 * a terminal, plain words otherwise), failures and retries as they happen, and on a
 * terminal one live line redrawn every quarter second from the run's progress report: the
 * time since the execution began, each running stage with its steps finished out of its
 * total, those in flight and an estimate of the time left, and the longest-running steps
 * once they are slow. */
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"

#define GREEN "\033[32m"
#define RED "\033[31m"
#define YELLOW "\033[33m"
#define DIM "\033[2m"
#define RESET "\033[0m"

/* A step of a fan-out is slow once it has run this long and twice as long as the steps
 * of its stage took on average: the live line names it. */
#define SLOW_MS 3000
#define SLOW_SHOWN 3

static const char *c(const cli_progress_ctx *p, const char *code) {
  return p->cli->color ? code : "";
}

void cli_progress_clear(cli_progress_ctx *p) {
  if (!p->live) return;
  fputs("\r\033[K", p->out);
  p->live = 0;
}

void cli_progress_stage(cli_progress_ctx *p, const cli_stage_end *e) {
  char dur[32];
  cli_duration(e->duration_s, dur, sizeof dur);
  char steps[96];
  int n = snprintf(steps, sizeof steps, " (%llu step%s", (unsigned long long)e->steps,
                   e->steps == 1 ? "" : "s");
  if (e->reused && e->reused == e->steps)
    snprintf(steps + n, sizeof steps - (size_t)n, e->steps == 1 ? ", reused)" : ", all reused)");
  else if (e->reused)
    snprintf(steps + n, sizeof steps - (size_t)n, ", %llu reused)", (unsigned long long)e->reused);
  else
    snprintf(steps + n, sizeof steps - (size_t)n, ")");
  const char *word = e->status == WF_STEP_PENDING ? "stopped" : wf_step_status_name(e->status);
  cli_progress_clear(p);
  if (p->cli->tty) {
    const char *mark = e->status == WF_STEP_SUCCEEDED ? "✓"
                       : e->status == WF_STEP_SKIPPED ? "-"
                                                       : "✗";
    const char *col = e->status == WF_STEP_SUCCEEDED ? GREEN
                      : e->status == WF_STEP_SKIPPED ? DIM
                                                      : RED;
    fprintf(p->out, "%s%s%s %s %s%s%s%s\n", c(p, col), mark, c(p, RESET), e->id, c(p, DIM),
            dur, steps, c(p, RESET));
  } else {
    fprintf(p->out, "stage %s %s in %s%s\n", e->id, word, dur, steps);
  }
}

/* ---- the live line ---------------------------------------------------------------------- */

struct text {
  char *buf;
  size_t cap, n;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...) {
  if (t->n >= t->cap) return;
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(t->buf + t->n, t->cap - t->n, fmt, ap);
  va_end(ap);
  if (k > 0) t->n = t->n + (size_t)k < t->cap ? t->n + (size_t)k : t->cap - 1;
}

/* The mean ms a step of s took to succeed, or 0 when none was executed yet. */
static double mean_ms(const wf_stage_progress *s) {
  uint64_t n = s->done - s->reused;
  return s->done > s->reused && s->exec_ms > 0 ? (double)s->exec_ms / (double)n : 0;
}

/* 1 when a step of stage i in flight has run longer than twice the mean of its stage:
 * the mean no longer tells how long the rest takes. */
static int overrun(const wf_run_progress *r, size_t i, int64_t now) {
  double mean = mean_ms(&r->stages[i]);
  for (size_t k = 0; k < r->nsteps; k++)
    if (r->steps[k].stage == i && (double)(now - r->steps[k].started_at) > 2 * mean) return 1;
  return 0;
}

/* "process 14/26 (1 failed, 4 running, ~8s left)": finished out of total, and the time
 * the rest would take at the mean so far with as many at once as run now (none while a
 * step overruns it: the longest-running steps are named instead). */
static void fanout_text(struct text *t, const wf_run_progress *r, size_t i, int64_t now) {
  const wf_stage_progress *s = &r->stages[i];
  char dt[64], eta[32];
  uint64_t finished = s->done + s->failed;
  cli_done_total(finished, s->total, s->total_known, dt, sizeof dt);
  put(t, "%s %s", s->id, dt);
  const char *sep = " (";
  if (s->failed) put(t, "%s%llu failed", sep, (unsigned long long)s->failed), sep = ", ";
  if (s->running) put(t, "%s%llu running", sep, (unsigned long long)s->running), sep = ", ";
  double mean = mean_ms(s);
  if (s->total_known && mean > 0 && s->total > finished && !overrun(r, i, now)) {
    double par = s->running ? (double)s->running : 1;
    cli_duration(mean * (double)(s->total - finished) / par / 1000.0, eta, sizeof eta);
    put(t, "%s~%s left", sep, eta), sep = ", ";
  }
  if (sep[0] == ',') put(t, ")");
}

void cli_live_text(const wf_run_progress *r, int64_t now, char *buf, size_t cap) {
  struct text t = {buf, cap, 0};
  char d[32];
  buf[0] = '\0';
  cli_duration((double)(now - r->started_at) / 1000.0, d, sizeof d);
  put(&t, "%s", d);
  for (size_t i = 0; i < r->nstages; i++) {
    const wf_stage_progress *s = &r->stages[i];
    if (s->status != WF_STEP_RUNNING) continue;
    put(&t, " · ");
    if (s->fanout) {
      fanout_text(&t, r, i, now);
    } else {
      cli_duration(cli_stage_seconds(s, now), d, sizeof d);
      put(&t, "%s %s", s->id, d);
    }
  }
  int shown = 0;
  for (size_t i = 0; i < r->nsteps && shown < SLOW_SHOWN; i++) {
    const wf_step_running *s = &r->steps[i];
    const wf_stage_progress *sp = s->stage < r->nstages ? &r->stages[s->stage] : NULL;
    int64_t ran = now - s->started_at;
    if (!sp || !sp->fanout || ran < SLOW_MS || (double)ran < 2 * mean_ms(sp)) continue;
    cli_duration((double)ran / 1000.0, d, sizeof d);
    put(&t, "%s%s %s", shown++ ? ", " : " · longest: ", s->key, d);
  }
}

/* The columns of the terminal p writes to (80 when it cannot tell). */
static int columns(const cli_progress_ctx *p) {
  struct winsize ws;
  if (ioctl(fileno(p->out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10) return ws.ws_col;
  return 80;
}

/* Cut s to at most cols display columns, ending in "…" when cut. */
static void fit(char *s, int cols) {
  int w = 0;
  for (char *q = s; *q; q++) {
    if (((unsigned char)*q & 0xc0) == 0x80) continue;
    if (++w == cols) {
      strcpy(q, "…");
      return;
    }
  }
}

void cli_progress_live(cli_progress_ctx *p, const wf_run_progress *r) {
  if (!p->cli->tty) return;
  int running = 0;
  for (size_t i = 0; i < r->nstages; i++) running |= r->stages[i].status == WF_STEP_RUNNING;
  if (!running) return;
  char line[1024];
  cli_live_text(r, cli_now_ms(), line, sizeof line - 4);
  fit(line, columns(p) - 3); /* "… " before it, and room before the last column */
  fprintf(p->out, "\r\033[K%s… %s%s", c(p, YELLOW), line, c(p, RESET));
  fflush(p->out);
  p->live = 1;
}

void cli_resume_hint(int status, const char *run_id) {
  if (status == WF_RUN_FAILED || status == WF_RUN_INTERRUPTED || status == WF_RUN_DEGRADED ||
      status == WF_RUN_CANCELED)
    fprintf(stderr, "wf: resume it with: wf resume %s  (details: wf show-run %s)\n", run_id,
            run_id);
  fflush(stderr);
}

/* ---- the observer of start and resume ------------------------------------------------ */

/* Under a step's failure, the last lines it wrote to stderr; past CLI_TAIL_STEPS such
 * failures, once, where the others' are. */
static void failure_tail(cli_progress_ctx *p, const wfw_progress *e) {
  if (p->tails < CLI_TAIL_STEPS) {
    if (cli_print_stderr_tail(p->out, e->stderr_tail, "    ", c(p, DIM), c(p, RESET)) > 0)
      p->tails++;
  } else if (p->tails == CLI_TAIL_STEPS && e->stderr_tail && e->stderr_tail[0]) {
    fprintf(p->out, "    (what more failed steps wrote to stderr: wf logs %s --step KEY)\n",
            p->run_id);
    p->tails++;
  }
}

void cli_progress(void *ud, const wfw_progress *e) {
  cli_progress_ctx *p = ud;
  switch (e->type) {
  case WFW_P_STAGE_FINISHED: {
    cli_stage_end end = {e->stage_id, e->status, e->duration_s, e->done + e->failed, e->reused};
    cli_progress_stage(p, &end);
    break;
  }
  case WFW_P_STEP_FINISHED:
    if (e->status == WF_STEP_FAILED) {
      cli_progress_clear(p);
      fprintf(p->out, "%sstep %s failed%s (attempt %u): %s\n", c(p, RED), e->step_key,
              c(p, RESET), e->attempt, e->error ? e->error : "");
      failure_tail(p, e);
    }
    break;
  case WFW_P_STEP_RETRY: {
    cli_progress_clear(p);
    char d[32];
    cli_duration(e->delay_s, d, sizeof d);
    fprintf(p->out, "%sstep %s attempt %u failed%s: %s; retrying in %s\n", c(p, YELLOW),
            e->step_key, e->attempt, c(p, RESET), e->error ? e->error : "", d);
    break;
  }
  case WFW_P_TICK:
    cli_progress_live(p, e->report);
    break;
  default:
    break;
  }
  fflush(p->out);
}
