/* progress.c — what start and resume print while a run executes: a line per finished
 * stage (✓/✗ and its duration on a terminal, plain words otherwise), failures and
 * retries as they happen, and a live counter for fan-out stages on a terminal. */
#include <string.h>

#include "cli.h"

#define GREEN "\033[32m"
#define RED "\033[31m"
#define YELLOW "\033[33m"
#define DIM "\033[2m"
#define RESET "\033[0m"

static const char *c(const cli_progress_ctx *p, const char *code) {
  return p->cli->color ? code : "";
}

static void clear_live(cli_progress_ctx *p) {
  if (!p->live) return;
  fputs("\r\033[K", p->out);
  p->live = 0;
}

static void stage_line(cli_progress_ctx *p, const wfw_progress *e) {
  char dur[32];
  cli_duration(e->duration_s, dur, sizeof dur);
  uint64_t n = e->done + e->failed;
  char steps[64] = "";
  if (n != 1 || e->total > 1) snprintf(steps, sizeof steps, " (%llu steps)", (unsigned long long)n);
  else snprintf(steps, sizeof steps, " (1 step)");
  const char *word = e->status == WF_STEP_PENDING ? "stopped" : wf_step_status_name(e->status);
  if (e->status == WF_STEP_UPSTREAM_FAILED) {
    /* It did not run: say why instead of a duration. */
    fprintf(p->out, "%s%s%s %s not run (upstream_failed): %s\n", c(p, RED),
            p->cli->tty ? "✗" : "stage", c(p, RESET), e->stage_id, e->error ? e->error : "");
    return;
  }
  if (p->cli->tty) {
    const char *mark = e->status == WF_STEP_SUCCEEDED ? "✓"
                       : e->status == WF_STEP_SKIPPED ? "-"
                                                       : "✗";
    const char *col = e->status == WF_STEP_SUCCEEDED ? GREEN
                      : e->status == WF_STEP_SKIPPED ? DIM
                                                      : RED;
    fprintf(p->out, "%s%s%s %s %s%s%s%s\n", c(p, col), mark, c(p, RESET), e->stage_id,
            c(p, DIM), dur, steps, c(p, RESET));
  } else {
    fprintf(p->out, "stage %s %s in %s%s\n", e->stage_id, word, dur, steps);
  }
}

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
  case WFW_P_STAGE_FINISHED:
    clear_live(p);
    stage_line(p, e);
    break;
  case WFW_P_STEP_FINISHED:
    if (e->status == WF_STEP_FAILED) {
      clear_live(p);
      fprintf(p->out, "%sstep %s failed%s (attempt %u): %s\n", c(p, RED), e->step_key,
              c(p, RESET), e->attempt, e->error ? e->error : "");
      failure_tail(p, e);
    }
    if (p->cli->tty && e->fanout) {
      int64_t now = cli_now_ms();
      if (now - p->last_draw >= 100) {
        p->last_draw = now;
        if (e->total)
          fprintf(p->out, "\r\033[K%s… %s %llu/%llu%s", c(p, YELLOW), e->stage_id,
                  (unsigned long long)(e->done + e->failed), (unsigned long long)e->total,
                  c(p, RESET));
        else
          fprintf(p->out, "\r\033[K%s… %s %llu%s", c(p, YELLOW), e->stage_id,
                  (unsigned long long)(e->done + e->failed), c(p, RESET));
        fflush(p->out);
        p->live = 1;
      }
    }
    break;
  case WFW_P_STEP_RETRY: {
    clear_live(p);
    char d[32];
    cli_duration(e->delay_s, d, sizeof d);
    fprintf(p->out, "%sstep %s attempt %u failed%s: %s; retrying in %s\n", c(p, YELLOW),
            e->step_key, e->attempt, c(p, RESET), e->error ? e->error : "", d);
    break;
  }
  default:
    break;
  }
  fflush(p->out);
}
