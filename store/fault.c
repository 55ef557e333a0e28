/* fault.c — test-only fault injection in the store's commit path, driven by $WF_FAULT.
 *
 * WF_FAULT=<point>[:<n>] acts on the n-th call of wfs_write in this process (1-based,
 * default 1; the map-full retries of one call are that one call):
 *   after-put     the transaction's writes are done, the commit has not started: the
 *                 process kills itself with SIGKILL (a crash before the commit)
 *   after-commit  the commit is on disk, wfs_write has not returned, so nothing was
 *                 acknowledged: the process kills itself with SIGKILL
 *   enospc, eio   the commit fails as if the disk were full or failing: the transaction
 *                 is aborted (the store stays as it was) and wfs_write returns WF_ENOSPC
 *                 or WF_EIO, naming the data file
 * The variable is read once per process, at the first wfs_open. Without it wfs_write
 * pays one branch. It exists for the crash tests (tests/crash/) and nothing else. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wfs_internal.h"

static int parsed;
static int fault_point;         /* WFS__FAULT_* */
static unsigned long fault_at;  /* the wfs_write call it hits, 1-based */
static unsigned long writes;    /* wfs_write calls counted so far */

static const char *const point_names[] = {NULL, "after-put", "after-commit", "enospc", "eio"};

static int parse(const char *s) {
  const char *colon = strchr(s, ':');
  size_t len = colon ? (size_t)(colon - s) : strlen(s);
  int point = WFS__FAULT_NONE;
  for (int i = 1; i < (int)(sizeof point_names / sizeof point_names[0]); i++)
    if (strlen(point_names[i]) == len && memcmp(point_names[i], s, len) == 0) point = i;
  if (point == WFS__FAULT_NONE) return WFS__FAULT_NONE;
  fault_at = 1;
  if (colon) {
    char *end;
    errno = 0;
    unsigned long n = strtoul(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || n == 0 || colon[1] == '-') return WFS__FAULT_NONE;
    fault_at = n;
  }
  return point;
}

int wfs__fault_init(void) {
  if (parsed) return fault_point;
  parsed = 1;
  const char *s = getenv("WF_FAULT");
  if (!s || !*s) return WFS__FAULT_NONE;
  fault_point = parse(s);
  if (fault_point == WFS__FAULT_NONE)
    fprintf(stderr, "wf: ignoring WF_FAULT=%s: expected after-put, after-commit, enospc or eio, "
                    "optionally followed by :N (N >= 1)\n", s);
  return fault_point;
}

int wfs__fault_next(int point) {
  return ++writes == fault_at ? point : WFS__FAULT_NONE;
}

static void die(void) {
  kill(getpid(), SIGKILL);
  abort();  /* not reached */
}

int wfs__fault_before_commit(int point) {
  switch (point) {
  case WFS__FAULT_AFTER_PUT: die(); return 0;
  case WFS__FAULT_ENOSPC: return ENOSPC;
  case WFS__FAULT_EIO: return EIO;
  default: return 0;
  }
}

void wfs__fault_after_commit(int point) {
  if (point == WFS__FAULT_AFTER_COMMIT) die();
}
