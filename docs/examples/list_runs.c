/* list_runs.c — the runs of a wf store, read through the installed library (wf/wf.h):
 * what `wf list-runs` shows, from a program of your own.
 *
 *   cc list_runs.c $(pkg-config --cflags --libs wf) -o list_runs
 *   ./list_runs [HOME [STATUS...]]
 *
 * HOME is the store (default $WF_HOME, else ./.wf); it is never created. Each STATUS
 * (running, failed, interrupted, ...) keeps the runs that read so now. Runs come newest
 * first, read a page of 50 at a time as a web page would. Exit status: 0, 1 when the store
 * cannot be read, 2 for a bad argument.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wf/wf.h>

#define PAGE 50

/* Where a page ended: the next one begins after this run. */
struct page {
  size_t n;
  char last_id[WF_MAX_RUN_ID + 1];
  int64_t last_created_at;
};

static int print_run(void *ud, const wf_run_info *r) {
  struct page *p = ud;
  if (r->read_error) {
    fprintf(stderr, "list_runs: run %s cannot be read: %s\n", r->id, wf_strerror(r->read_error));
    return 0;
  }
  uint64_t steps = 0;
  for (int i = 0; i < WF_STEP_NSTATUS; i++) steps += r->counts[i];
  time_t created = (time_t)(r->created_at / 1000);
  char when[32] = "-";
  strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", gmtime(&created));
  printf("%-32s %-16s %-11s %s UTC  %llu/%llu steps succeeded\n", r->id, r->workflow,
         wf_run_status_name(r->status), when,
         (unsigned long long)r->counts[WF_STEP_SUCCEEDED], (unsigned long long)steps);
  if (r->owner.alive)
    printf("  executed by pid %d on %s\n", (int)r->owner.pid, r->owner.host);
  if (r->error && r->status != WF_RUN_SUCCEEDED) printf("  error: %s\n", r->error);
  /* r lives only during this call: keep what the next page needs. */
  snprintf(p->last_id, sizeof p->last_id, "%s", r->id);
  p->last_created_at = r->created_at;
  p->n++;
  return 0;
}

int main(int argc, char **argv) {
  wf_run_filter f = {0};
  for (int i = 2; i < argc; i++) {
    int status;
    if (wf_run_status_parse(argv[i], &status) != 0) {
      fprintf(stderr, "list_runs: unknown status \"%s\"\n", argv[i]);
      return 2;
    }
    f.statuses |= 1u << status;
  }
  wf_store_opts opts = {0};
  opts.flags = WF_STORE_NOCREATE;
  wf_store *st;
  /* The library reads no $WF_HOME: a program passes it, as wf does. */
  int rc = wf_store_open_ex(argc > 1 ? argv[1] : getenv("WF_HOME"), &opts, &st);
  if (rc == WF_ENOTFOUND) {
    printf("no store there, so no runs\n");
    return 0;
  }
  if (rc) {
    const wf_failure *why = wf_last_failure();
    fprintf(stderr, "list_runs: cannot open the store: %s%s%s\n", wf_strerror(rc),
            why->path[0] ? " on " : "", why->path);
    return 1;
  }
  struct page p = {0};
  char after[WF_MAX_RUN_ID + 1];
  size_t total = 0;
  f.limit = PAGE;
  do {
    p.n = 0;
    rc = wf_runs_list(st, &f, print_run, &p);
    total += p.n;
    /* The next page begins after the last run of this one, even if it is deleted
     * meanwhile. */
    memcpy(after, p.last_id, sizeof after);
    f.after_id = after;
    f.after_created_at = p.last_created_at;
  } while (rc == 0 && p.n == PAGE);
  if (rc) fprintf(stderr, "list_runs: cannot list the runs: %s\n", wf_strerror(rc));
  else if (!total) printf("no runs\n");
  wf_store_close(st);
  return rc ? 1 : 0;
}
